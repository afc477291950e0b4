#!/bin/sh
# modbtf doctor-snapshot: copy what `modbtf doctor` reads on this machine into a directory,
# so that `modbtf doctor --root DIR` can look at it on another one (this machine may have
# no Node.js: a rescue system, a guest, an appliance). POSIX sh with cat, cp, mkdir, ls,
# readlink, tr, sed: busybox is enough.
#
#   sh doctor-snapshot.sh DIR [RELEASE...]
#
# RELEASE...: the kernels to take (default: every /lib/modules/* and the running one).
# The layout is the machine's own paths under DIR (README "modbtf doctor"):
#   DIR/modbtf-snapshot                 what made it, and when (format 1)
#   DIR/proc/sys/kernel/osrelease       the running kernel's release
#   DIR/proc/config.gz                  its config, when the kernel has one
#   DIR/sys/kernel/btf/vmlinux          the running kernel's BTF
#   DIR/sys/kernel/btf/<m>              BTF the kernel registered, for out-of-tree modules
#   DIR/sys/module/<m>/{initstate,taint,srcversion,version,notes/.note.gnu.build-id}
#                                       every loaded module
#   DIR/dmesg.txt                       the kernel log (when readable)
#   per kernel release R:
#   DIR/lib/modules/R/{updates,extra}/  the out-of-tree modules, as they are
#   DIR/lib/modules/R/modules.builtin   marks R as installed (the kernel's own modules are not copied)
#   DIR/lib/modules/R/build             the symlink, and of the tree it leads to (or
#   DIR/usr/src/linux-headers-R/)       /usr/src/linux-headers-R): vmlinux, .config, Makefile,
#                                       include/config/kernel.release
#   DIR/boot/config-R, DIR/usr/lib/modules/R/config
#   DIR/var/lib/dkms/<pkg>/<ver>/R/<arch>/module/<file>   empty files: DKMS's record, names only
#   DIR/var/lib/modbtf/setup.json, DIR/etc/kernel/{postinst.d,header_postinst.d}/{00,zz}-modbtf
# Nothing else is read or written; the snapshot holds no secrets beyond module files and
# the kernel log.

set -u
out="${1:-}"
if [ -z "$out" ]; then
	echo "usage: $0 DIR [RELEASE...]" >&2
	exit 2
fi
shift
mkdir -p "$out" || exit 2
out=$(cd "$out" && pwd) || exit 2

# copy FILE: the file's bytes to the same path under $out (missing or unreadable: skipped).
copy() {
	[ -f "$1" ] && [ -r "$1" ] || return 0
	mkdir -p "$out$(dirname "$1")" && cat "$1" > "$out$1"
}
# link PATH: a symlink as it is (its target is copied separately).
link() {
	[ -L "$1" ] || return 0
	mkdir -p "$out$(dirname "$1")" && rm -f "$out$1" && ln -s "$(readlink "$1")" "$out$1"
}
# tree DIR: a directory with everything in it (modules, symlinks kept as symlinks).
tree() {
	[ -d "$1" ] || return 0
	mkdir -p "$out$(dirname "$1")" && cp -a "$1" "$out$(dirname "$1")/"
}

running=$(cat /proc/sys/kernel/osrelease 2>/dev/null)
{
	echo "modbtf doctor snapshot, format 1"
	echo "made by kbuild/doctor-snapshot.sh on $(cat /proc/sys/kernel/hostname 2>/dev/null) at $(date -u '+%Y-%m-%dT%H:%M:%SZ' 2>/dev/null)"
	echo "running kernel: ${running:-unknown}"
} > "$out/modbtf-snapshot"

copy /proc/sys/kernel/osrelease
copy /proc/config.gz
copy /sys/kernel/btf/vmlinux
dmesg > "$out/dmesg.txt" 2>/dev/null || rm -f "$out/dmesg.txt"

if [ $# -gt 0 ]; then
	releases="$*"
else
	releases=$( (ls /lib/modules 2>/dev/null; [ -n "$running" ] && echo "$running") | sort -u)
fi

# Names of the running kernel's out-of-tree module files (foo-bar.ko.xz -> foo_bar).
oot=""
if [ -n "$running" ]; then
	for d in updates extra; do
		[ -d "/lib/modules/$running/$d" ] || continue
		oot="$oot $(find "/lib/modules/$running/$d" -name '*.ko*' 2>/dev/null | sed 's#.*/##; s#\.ko.*##' | tr '-' '_' | tr '\n' ' ')"
	done
fi

for m in /sys/module/*; do
	[ -f "$m/initstate" ] || continue
	name=${m##*/}
	for f in initstate taint srcversion version notes/.note.gnu.build-id; do copy "$m/$f"; done
	keep=0
	case "$(cat "$m/taint" 2>/dev/null)" in *O*) keep=1 ;; esac
	case " $oot " in *" $name "*) keep=1 ;; esac
	[ "$keep" = 1 ] && copy "/sys/kernel/btf/$name"
done

for r in $releases; do
	tree "/lib/modules/$r/updates"
	tree "/lib/modules/$r/extra"
	copy "/lib/modules/$r/modules.builtin"
	copy "/boot/config-$r"
	copy "/usr/lib/modules/$r/config"
	link "/lib/modules/$r/build"
	for t in "$(readlink -f "/lib/modules/$r/build" 2>/dev/null)" "/usr/src/linux-headers-$r"; do
		[ -n "$t" ] && [ -d "$t" ] || continue
		for f in vmlinux .config Makefile include/config/kernel.release; do copy "$t/$f"; done
	done
	for f in /var/lib/dkms/*/*/"$r"/*/module/*; do
		[ -e "$f" ] || continue
		mkdir -p "$out$(dirname "$f")" && : > "$out$f"
	done
done

copy /var/lib/modbtf/setup.json
for d in postinst.d header_postinst.d; do
	for h in 00-modbtf zz-modbtf; do copy "/etc/kernel/$d/$h"; done
done
echo "modbtf: snapshot in $out; read it with: modbtf doctor --root $out"
