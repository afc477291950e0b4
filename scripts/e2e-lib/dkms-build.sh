#!/bin/bash
# dkms's build step for one package, without dkms: what sid's dkms 3.2.2 (/usr/sbin/dkms:
# read_conf, prepare_build, actual_build) runs, in a dkms tree and against a kbuild tree of the
# caller's choosing. Used by scripts/e2e-kbuild7.mjs inside the sid chroot.
#
#   dkms-build.sh print <source dir>
#       the package's name and version, the make command dkms runs, then the modules dkms
#       expects (BUILT_MODULE_LOCATION + BUILT_MODULE_NAME), one per line
#   dkms-build.sh build <source dir> <log> [make arguments...]
#       dkms's prepare_build (the build directory $dkms_tree/<name>/<version>/build made afresh
#       from the source with cp -a) and actual_build (its make command, eval'ed in the build
#       directory, output to <log>); the make arguments go after dkms's own `-j<N>
#       KERNELRELEASE=<kver>`. With $FORM_A_FILE set, the line
#       `include $FORM_A_INCLUDE` is put first in that file of the build directory before
#       the build (form a). Exit status: the make command's; its wall, user and system
#       seconds go to <log>.time.
#
# Environment: kernelver, kernel_source_dir (dkms: /lib/modules/<kver>/build), dkms_tree.
# What dkms also does and this does not: PATCH, PRE_BUILD/POST_BUILD (none of the packages
# used has them), LLVM=1 for a clang-built kernel (Debian's is built by gcc), signing.

mode=$1
src=$2
: "${kernelver:?}" "${kernel_source_dir:?}" "${dkms_tree:?}"
arch=$(uname -m)
source_tree=/usr/src
install_tree=/lib/modules

# read_conf: dkms.conf sourced with kernelver, arch, kernel_source_dir set. dkms knows the
# name and version before it reads the file; here they come from a first read.
read_conf() {
  unset PACKAGE_NAME PACKAGE_VERSION MAKE MAKE_MATCH BUILT_MODULE_NAME BUILT_MODULE_LOCATION DEST_MODULE_NAME DEST_MODULE_LOCATION
  # shellcheck disable=SC1091
  . "$src/dkms.conf"
}
read_conf
module=$PACKAGE_NAME
module_version=$PACKAGE_VERSION
read_conf

make_command=
[[ ${MAKE_MATCH[0]} ]] || make_command="${MAKE[0]}"
for ((index = 0; index < ${#MAKE[@]}; index++)); do
  [[ ${MAKE[$index]} && ${MAKE_MATCH[$index]} && $kernelver =~ ${MAKE_MATCH[$index]} ]] && make_command="${MAKE[$index]}"
done
[[ $make_command ]] || make_command="make -C $kernel_source_dir M=$dkms_tree/$module/$module_version/build"
build_dir=$dkms_tree/$module/$module_version/build

if [[ $mode == print ]]; then
  echo "$module"
  echo "$module_version"
  echo "$make_command"
  max_index=-1
  for s in "${!BUILT_MODULE_NAME[@]}" "${!BUILT_MODULE_LOCATION[@]}" "${!DEST_MODULE_NAME[@]}" "${!DEST_MODULE_LOCATION[@]}"; do
    ((s > max_index)) && max_index=$s
  done
  for ((index = 0; index <= max_index; index++)); do
    name=${BUILT_MODULE_NAME[index]}
    ((max_index == 0)) && [[ ! $name ]] && name=$PACKAGE_NAME
    loc=${BUILT_MODULE_LOCATION[index]}
    [[ $loc && ${loc:(-1)} != / ]] && loc="$loc/"
    echo "$loc$name.ko"
  done
  exit 0
fi

[[ $mode == build ]] || { echo "usage: dkms-build.sh print|build <source dir> ..." >&2; exit 2; }
log=$3
shift 3
extra=
for a in "$@"; do extra="$extra $(printf '%q' "$a")"; done
parallel_jobs=$(nproc)

rm -rf "${build_dir:?}"
mkdir -p "$(dirname "$build_dir")"
cp -a "$src/" "$build_dir"
cd "$build_dir" || exit 15
if [[ ${FORM_A_FILE:-} ]]; then
  [[ -f $FORM_A_FILE ]] || { echo "form a: $build_dir/$FORM_A_FILE does not exist" >"$log"; exit 2; }
  sed -i "1i include ${FORM_A_INCLUDE:?}" "$FORM_A_FILE"
fi
# dkms: "${make_command/#make/make -j$parallel_jobs KERNELRELEASE=$kernelver}"; the extra
# arguments are not put into that replacement (bash 5.2 treats & and \ there specially).
the_make_command=$make_command
[[ $make_command == make* ]] && the_make_command="make -j$parallel_jobs KERNELRELEASE=$kernelver$extra${make_command#make}"
echo "# command: $the_make_command" >"$log"
# The make command's wall, user and system seconds (its children's), into <log>.time.
TIMEFORMAT='%3R %3U %3S'
{ time { ( eval "$the_make_command" ) >>"$log" 2>&1; }; } 2>"$log.time"
