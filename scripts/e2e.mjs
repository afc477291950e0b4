#!/usr/bin/env zx
// `npm run test:e2e`: checks against real Debian kernel material and the real C tools.
// Run as root on Debian 12: installs what it needs with apt-get, unpacks the kernel
// packages into $MODBTF_CACHE (default /var/cache/modbtf), then runs each check.
// The kernel 7.x checks run their references (bpftool 7.8, libbpf 1.7.0) in a Debian sid
// chroot and use Debian's 7.2.13 (sid) and 7.3-rc7 (experimental) packages
// (scripts/e2e-lib/kernel7.mjs, kernels.mjs); when that setup fails, those checks fail and the
// others still run.
// `--only TEXT` runs the checks whose name contains TEXT (and only the setup they need); given
// more than once, the checks named like any of them.
// Closes with `N passed, M failed, K skipped`; exit status 1 when any check failed.
//
// The archive moves (issue 17): sid replaces its kernel, experimental moves to the next rc, old
// versions vanish. Every kernel package a check uses is pinned (name and version,
// scripts/e2e-lib/kernels.mjs) and taken from the local cache first (the .debs of earlier runs:
// $MODBTF_CACHE/debs, the chroots' package caches), else from the archive; a check whose
// package is in neither is reported `SKIP <check>: skipped: <package> is no longer in the
// archive ...` and does not fail the run (scripts/e2e-lib/archive.mjs). A run in which every
// 6.x or every 7.x kernel check was skipped fails: it checked nothing of that world. Newer
// kernels the archive offers than the pinned ones (sid's and experimental's
// linux-headers-amd64, kernels.mjs discover7) are checked against their own pipeline: the
// fixture in every form must equal that tree's own plain kbuild, and boots (on a tree newer
// than every profile modbtf knows, each form gives the tree's own step and one warning).
//
// To see the skip at work (a pinned package absent from the archive and the cache), e.g. for
// experimental's 7.3-rc7 headers:
//   1. in the sid chroot, an apt preference that makes the version uninstallable (apt-get
//      download ignores pins; this run asks apt-cache policy, which does not):
//        printf 'Package: linux-headers-7.3-amd64\nPin: version 7.3~rc7-1~exp1\nPin-Priority: -1\n' \
//          > /var/cache/modbtf/sid/etc/apt/preferences.d/modbtf-vanished
//   2. the .deb out of every cache (kept aside to put back):
//        mkdir -p /var/cache/modbtf/aside && mv /var/cache/modbtf/sid/var/cache/modbtf-debs-experimental/linux-headers-7.3-amd64_* /var/cache/modbtf/aside/
//   3. .ci/run (or npm run test:e2e): every check needing it says `skipped: linux-headers-7.3-amd64
//      7.3~rc7-1~exp1 is no longer in the archive (apt will not install it (pin priority -1)) nor in
//      the local cache`; the rest run, and the run passes.
//   4. undo: rm the preference file, mv the .deb back.
// A cheap run of it (2026-12-06): experimental's 7.3-rc7 image (linux-binary-7.3-amd64
// 7.3~rc7-1~exp1, cached in .../modbtf-debs-experimental) made unavailable so, then
// `--only 'boot 7.3-rc7' --only 'modbtf setup in a sid system on 7.3-rc7'`: the boot check says
// skipped, setup runs and passes, exit 0; `--only 'boot 7.3-rc7'` alone: every 7.x check of the
// run skipped, exit 1.
import { existsSync, mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ensureKernel7, kernel72, kernel73 } from './e2e-lib/kernel7.mjs';
import { MATERIAL6, MATERIAL_TRIXIE, PINNED7, discover7, fetchDeb, unavailable } from './e2e-lib/kernels.mjs';
import { pkg } from './e2e-lib/archive.mjs';

$.verbose = false;
const root = path.resolve(__dirname, '..');
const cache = process.env.MODBTF_CACHE ?? '/var/cache/modbtf';
const debs = join(cache, 'debs');
const unpacked = join(cache, 'root');
const KVER_OLD = '6.12.107+deb12-amd64';
const KVER_NEW = '6.12.117+deb12-amd64';
/** Host tools; the 6.12.107 headers (installed for their dependencies) are added when available. */
const PACKAGES = ['bpftool', 'xz-utils', 'zstd', 'llvm', 'binutils', 'libbpf-dev', 'gcc', 'libc6-dev', 'make', 'dwarves', 'dkms'];
const M107 = MATERIAL6['6.12.107'];
const M117 = MATERIAL6['6.12.117'];
/** Unpacked into $MODBTF_CACHE/root: the 6.12.107 image and the headers (vmlinux) of both. */
const KERNEL_DEBS = [M107[0], M107[1], M117[1]];

function log(msg) { console.log(`[e2e ${new Date().toISOString().slice(11, 19)}] ${msg}`); }

async function setup() {
  if (process.getuid && process.getuid() !== 0) throw new Error('e2e needs root (apt-get install)');
  log('apt-get update');
  await $`apt-get update -qq`;
  const headers = (await unavailable([M107[1]], log)) ? [] : [M107[1].name];
  log(`apt-get install ${[...PACKAGES, ...headers].join(' ')}`);
  await $({ env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } })`apt-get install -y -qq --no-install-recommends ${[...PACKAGES, ...headers]}`;
  mkdirSync(unpacked, { recursive: true });
  for (const p of KERNEL_DEBS) {
    // A package gone from the archive and the cache: its checks are skipped (below).
    if (await unavailable([p], log)) continue;
    const deb = await fetchDeb(p, log);
    const stamp = join(unpacked, `.${deb.split('/').pop()}.unpacked`);
    if (!existsSync(stamp)) {
      log(`unpack ${deb.split('/').pop()}`);
      await $`dpkg-deb -x ${deb} ${unpacked}`;
      await $`touch ${stamp}`;
    }
  }
}

const checks = [];
/**
 * A check: `argv` (a script and its arguments) run from the repository. `family`: 6 or 7, the
 * kernel world it checks (none: not a kernel check); `packages`: the pinned kernel packages it
 * needs (kernels.mjs: from the cache or the archive; one missing = the check is skipped);
 * `needs`: the shared setup it uses ('kernel7': ensureKernel7 with `parts`; 'cross': none,
 * its script sets itself up).
 */
function check(name, argv, { needs, family, packages = [], parts = [] } = {}) { checks.push({ name, argv, needs, family, packages, parts }); }

const modulesTree = join(unpacked, 'lib/modules', KVER_OLD);
const vmlinuxOld = join(unpacked, 'usr/src', `linux-headers-${KVER_OLD}`, 'vmlinux');
const vmlinuxNew = join(unpacked, 'usr/src', `linux-headers-${KVER_NEW}`, 'vmlinux');
const k6 = (packages) => ({ family: 6, packages });

check('round trip of every module BTF (issue 3)', ['scripts/corpus-roundtrip.mjs', '--vmlinux', vmlinuxOld, modulesTree], k6(M107));
check('dump equals bpftool 7.1 on 40 modules and vmlinux (issue 3)', ['scripts/compare-bpftool.mjs', '--modules', join(modulesTree, 'kernel'), '--vmlinux-path', vmlinuxOld, '--count', '40', '--vmlinux'], k6(M107));
check('distill of every module equals libbpf v1.7.0 (issue 4)', ['scripts/corpus-distill.mjs', '--vmlinux', vmlinuxOld, join(modulesTree, 'kernel')], k6(M107));
check('relocation of every module onto 6.12.117 equals libbpf v1.7.0 (issue 4)', ['scripts/corpus-relocate.mjs', '--vmlinux', vmlinuxOld, '--target', vmlinuxNew, join(modulesTree, 'kernel')], k6([...M107, M117[1]]));
check('modbtf check over the whole tree agrees with libbpf module by module (issue 6)', ['scripts/corpus-check.mjs', '--built-with', vmlinuxOld, '--kernel', vmlinuxNew, join(modulesTree, 'kernel')], k6([...M107, M117[1]]));
check('finalize --distill over a copy of the whole tree: every module parses, a second run changes nothing (issue 6)', ['scripts/corpus-finalize.mjs', '--base', vmlinuxOld, join(modulesTree, 'kernel')], k6(M107));
check('boot 6.12.107/6.12.117 in qemu: module BTF survives via modbtf, kfunc called from BPF (issue 7); the fixture built with no pahole (PAHOLE=/nonexistent/pahole, modbtf encodes) equals form b with pahole 1.32 and the tree\'s flags, and boots with BTF (issue 18)', ['scripts/e2e-boot.mjs', '--strict'], k6([...M107, ...M117]));
const K72 = PINNED7['7.2.13'];
const K73 = PINNED7['7.3-rc7'];
const k7 = (packages, extra = {}) => ({ family: 7, packages, ...extra });
check('boot 7.2.13 in qemu: 7.2 kbuild fixture has BTF, kfuncs incl. KF_IMPLICIT_ARGS called from BPF; modbtf recipes byte-identical to it (issue 11)', ['scripts/e2e-boot7.mjs', '--strict'], k7([...K72.install(), K72.image()]));
check('Debian DKMS packages xtables-addons (23 modules) and mimic (a kfunc set) built like dkms on 7.2.13: each modbtf form gives every .ko byte-identical to plain 7.2 kbuild (issue 11; all four packages, every build: scripts/e2e-kbuild7.mjs)', ['scripts/e2e-kbuild7.mjs', '--packages', 'xtables-addons-dkms,mimic-dkms', '--quick'], k7(K72.install()));
check('DKMS build with Makefile.snippet in dkms.conf (MAKE[0]="make MAKEFILES=..."; dkms keeps its -j) gives a module with .BTF.base (issues 7, 14)', ['scripts/e2e-dkms.mjs'], k6(M107));
check("modbtf setup on Debian 12 (bookworm chroot, Debian's nodejs 18, npm i -g of the package, dkms 3.0.10): unchanged DKMS packages get .BTF.base and boot with BTF on 6.12.117, new headers hooked before dkms builds for them, two builds identical, --remove byte-identical (issue 14)", ['scripts/e2e-setup.mjs'], k6([...M107, ...M117]));
check("the CLI, the hook and the library from the npm package on Debian 12's own Node.js 18 (bookworm chroot) equal Node 20 (issue 14)", ['scripts/e2e-node18.mjs']);
check('fuzz 10000 mutated inputs', ['scripts/fuzz.mjs', '--seed', '1', '--runs', '10000']);
check('fuzz 10000 mutated objects and modules with DWARF: lib/dwarf, and lib/encode with 7.2 flags on the modules; only typed errors naming file, section, offset and DIE (issue 18)', ['scripts/fuzz.mjs', '--seed', '1', '--kinds', 'dwarf', '--runs', '10000']);

// Kernel 7.x (issue 11): Debian 7.2.13 (sid) modules, distilled over the 7.2.13 vmlinux and
// relocated onto 7.3-rc7 (experimental); the reference table was made by libbpf 1.7.0
// (scripts/oracle/libbpf-oracle.c) and is checked against a fresh oracle run first.
const modules72 = kernel72.modules;
const table72 = join(root, 'test/fixtures/corpus/corpus-7.2.13-to-7.3-rc7.tsv');
const part72 = [...K72.install(), K72.modules(), K72.image()];
const c72 = k7(part72, { needs: 'kernel7', parts: ['7.2.13'] });
const c72to73 = k7([...part72, K73.headers()], { needs: 'kernel7', parts: ['7.2.13', '7.3-rc7'] });
check('round trip of every 7.2.13 module BTF (issue 11)', ['scripts/corpus-roundtrip.mjs', '--vmlinux', kernel72.vmlinux, modules72], c72);
check('dump equals sid\'s bpftool 7.8 on 40 7.2.13 modules and the 7.2.13 vmlinux (issue 11)', ['scripts/compare-bpftool.mjs', '--sid', '--modules', join(modules72, 'kernel'), '--vmlinux-path', kernel72.vmlinux, '--count', '40', '--vmlinux'], c72);
check('libbpf 1.7.0 over every 7.2.13 module (7.3-rc7 target) reproduces the committed 7.x table (issue 11)', ['scripts/corpus7-oracle.mjs', '--check', table72], c72to73);
check('distill of every 7.2.13 module equals libbpf 1.7.0 (issue 11)', ['scripts/corpus-distill.mjs', '--vmlinux', kernel72.vmlinux, '--tsv', table72, '--golden', join(cache, 'corpus7/distilled-bases-7.2.13.tar.gz'), join(modules72, 'kernel')], c72);
check('relocation of every 7.2.13 module onto 7.3-rc7 equals libbpf 1.7.0 (issue 11)', ['scripts/corpus-relocate.mjs', '--vmlinux', kernel72.vmlinux, '--target', kernel73.vmlinux, '--tsv', table72, join(modules72, 'kernel')], c72to73);
check('modbtf check over every 7.2.13 module onto 7.3-rc7 agrees with libbpf 1.7.0 module by module (issue 11)', ['scripts/corpus-check.mjs', '--built-with', kernel72.vmlinux, '--kernel', kernel73.vmlinux, '--tsv', table72, join(modules72, 'kernel')], c72to73);
check('finalize --kernel-abi 7 (--distill and --no-distill) on 400 7.2.13 modules equals resolve_btfids 7.2.13 on the same input (issue 11; whole corpus: scripts/corpus-finalize7.mjs without --count)', ['scripts/corpus-finalize7.mjs', '--count', '400'], c72);
check('kernel 7.3: 50 modules of the 7.3-rc7 cloud -dbg image through pahole 1.32: modbtf resolve-btfids and finalize --kernel-abi 7.3 equal resolve_btfids 7.3 (--distill_base and in-tree) on the same input (issue 17; whole image: scripts/corpus-finalize73.mjs without --count)', ['scripts/corpus-finalize73.mjs', '--count', '50'],
  k7([...K73.install(), pkg('experimental', 'linux-image-7.3-cloud-amd64-dbg', K73.version), pkg('experimental', 'linux-headers-7.3-cloud-amd64', K73.version)], { needs: 'kernel7' }));

// Kernel 7.3-rc7 (issue 17): experimental's tree, whose resolve_btfids writes the kfunc decl tags
// and dedups with the tree's libbpf. Lean here (the fixture's forms, one DKMS package, the
// fixture cross-built, setup); every recipe and package by hand (scripts/e2e-boot7.mjs
// --kernel 7.3-rc7 --recipes all, scripts/e2e-kbuild7.mjs --kernel 7.3-rc7).
check('boot 7.3-rc7 in qemu: the fixture in forms a-e byte-identical to plain 7.3 kbuild, its bpf_kfunc decl tags in the guest\'s module BTF, kfuncs called from BPF; a copy of the tree that says 7.4.0: every form gives that tree\'s own step with one warning, MODBTF_STRICT=1 fails and writes nothing (issue 17)', ['scripts/e2e-boot7.mjs', '--kernel', '7.3-rc7', '--strict'], k7([...K73.install(), K73.image()]));
check('Debian DKMS packages mimic (a kfunc set) and xone (9 modules) built like dkms on 7.3-rc7: each modbtf form gives every .ko byte-identical to plain 7.3 kbuild (issue 17; the other packages: scripts/e2e-kbuild7.mjs --kernel 7.3-rc7)', ['scripts/e2e-kbuild7.mjs', '--kernel', '7.3-rc7', '--packages', 'mimic-dkms,xone-dkms', '--quick'], k7(K73.install()));
check("modbtf setup in a sid system on 7.3-rc7 (overlay of the sid chroot, sid's dkms): dkms builds of the fixture and mimic-dkms after setup byte-identical to those before it, modbtf ran for every module, --remove restores the tree (issue 17)", ['scripts/e2e-setup7.mjs', '--kernel', '7.3-rc7'], k7(K73.install()));

// lib/dwarf (issue 18): Debian's unstripped 7.2.13 cloud-amd64 modules (the -dbg package, unpacked
// inside the sid chroot by the script itself) read as sid's elfutils 0.196 reads them: eu-readelf's
// text and libdw's own accessors with pahole's section layout. A sample here; all 1,018 modules by
// hand (npx zx scripts/dwarf-corpus.mjs [--oracle walk]). A vanished package is SKIPPED, not a failure.
// Needs: the -dbg package (pinned: skipped when it is gone); the script sets up the sid chroot.
const dbg72 = pkg('sid', 'linux-image-7.2.13+deb14-cloud-amd64-dbg', K72.version);
const dw = k7([dbg72], { needs: 'sid' });
check('lib/dwarf on 20 modules of the 7.2.13 cloud-amd64 -dbg package: identical to eu-readelf 0.196 -N --debug-dump=info,loc,ranges (issue 18)', ['scripts/dwarf-corpus.mjs', '--sample', '20'], dw);
check('lib/dwarf on 20 modules of the 7.2.13 cloud-amd64 -dbg package: every attribute, location and range list identical to libdw 0.196 opened as pahole opens it (issue 18)', ['scripts/dwarf-corpus.mjs', '--sample', '20', '--oracle', 'walk'], dw);

// lib/encode (issue 18): modbtf pahole against pahole 1.32 (sid: libbpf 1.7.0, libdw 0.196) on a spread
// sample of the same package, with the flags of a 7.2.13 M= build; --pipeline also puts each module
// without a kfunc set through the 7.2 pipeline against the .BTF Debian shipped. pahole's outputs are
// cached in the chroot; ours are made again each run. The whole package and amd64's 4,216 modules:
// node scripts/corpus-encode.mjs --set cloud|amd64 --pipeline.
check('modbtf pahole on 60 modules of the 7.2.13 cloud-amd64 -dbg package byte-identical to pahole 1.32 with the flags of a 7.2.13 M= build; through the 7.2 pipeline equal to the .BTF Debian shipped (issue 18)', ['scripts/corpus-encode.mjs', '--set', 'cloud', '--count', '60', '--jobs', '2', '--again', '--pipeline'],
  k7([dbg72, pkg('sid', 'linux-headers-7.2.13+deb14-cloud-amd64', K72.version), pkg('sid', 'linux-modules-7.2.13+deb14-cloud-amd64', K72.version)], { needs: 'sid' }));
// The bundled CLI on the package's three largest modules (16 MiB or more: encoded in a worker
// thread, .debug_info read a window at a time): pahole's bytes, in the worker and in this thread.
check('modbtf pahole (the bundle) on the 3 largest modules of the 7.2.13 cloud-amd64 -dbg package, in its worker thread and in this thread: byte-identical to pahole 1.32 (issue 18)', ['scripts/e2e-pahole-large.mjs', '--count', '3'],
  k7([dbg72, pkg('sid', 'linux-headers-7.2.13+deb14-cloud-amd64', K72.version)], { needs: 'sid' }));

// modbtf doctor (issue 19): its verdicts against booted kernels, 6.12.117 (the guest's snapshot
// read on the host) and 7.2.13 (predicted from the packages before the boot), three TCG boots.
// Packages: 6.12.107 headers and kbuild, the 6.12.117 image; 7.2.13's image, headers and
// kbuild (sid chroot); 7.3-rc7's headers (its vmlinux, for retarget).
check('modbtf doctor against booted kernels: on 6.12.117 it names the module built for 6.12.107 without .BTF.base (cause, fix) and passes the one with it, from the guest\'s busybox snapshot; on 7.2.13 (MODULE_ALLOW_BTF_MISMATCH off) it predicts before the boot exactly the modules the kernel refuses, and its printed fixes make them load (issue 19)', ['scripts/e2e-doctor.mjs'], k7([...M107, ...M117, ...K72.install(), K72.image(), K73.headers()], { needs: 'kernel7', parts: ['7.2.13', '7.3-rc7'] }));

// No pahole (issue 18): an overlayfs over the sid chroot with pahole removed (dpkg -r
// --force-depends dwarves pahole; the shared chroot keeps it), form b builds there against
// the same directory as plain kbuild with pahole 1.32 in the chroot. xone-dkms here (~50 s a
// kernel); xtables-addons-dkms (23 modules) too by hand: scripts/e2e-nopahole.mjs without
// --packages. A package or tree the archive no longer has is SKIPPED, not a failure.
check('no pahole (issue 18): with pahole removed (overlay over the sid chroot), the fixture and xone-dkms 0.5.8-1 (9 modules) on 7.2.13 and 7.3-rc7, and the fixture cross-built for arm64, s390x, ppc64el and riscv64 against 7.2.13, give every .ko byte-identical to plain kbuild with pahole 1.32', ['scripts/e2e-nopahole.mjs', '--packages', 'xone-dkms=0.5.8-1'], k7([...K72.install(), ...K73.install(), K72.headers('arm64'), K72.headers('s390x')], { needs: 'sid' }));

// Other architectures (issue 12): Debian's arm64 and s390x material, cross builds
// in the sid chroot (7.2.13) and a trixie chroot (6.12, pahole 1.30); each script sets up what it
// needs (scripts/e2e-lib/cross.mjs). Samples here; whole trees and the whole DKMS package by hand.
const arches = ['arm64', 's390x'];
const x72 = [...K72.install(), ...arches.map((a) => K72.headers(a))];
const xTrixie = arches.flatMap((a) => MATERIAL_TRIXIE[a].tree);
check('cross builds for arm64 and s390x on 7.2.13: the fixture and xtables-addons-dkms (4 of its modules) in forms a, b, c, d byte-identical to 7.2.13 kbuild (issue 12)', ['scripts/e2e-cross.mjs', '--kernels', '7.2.13', '--dkms-sample', '4'], k7(x72, { needs: 'cross' }));
check('cross builds for s390x and arm64 on trixie 6.12: the fixture and xtables-addons-dkms (4 of its modules) in forms a, b identical to its pahole 1.30 pipeline (issue 12)', ['scripts/e2e-cross.mjs', '--kernels', 'trixie', '--dkms-sample', '4'], { family: 6, packages: xTrixie, needs: 'cross' });
check('cross builds for arm64 and s390x on 7.3-rc7: the fixture in forms a, b, c, d byte-identical to 7.3 kbuild (issue 17)', ['scripts/e2e-cross.mjs', '--kernels', '7.3-rc7', '--no-dkms'], k7([...K73.install(), ...arches.map((a) => K73.headers(a))], { needs: 'cross' }));
check("finalize --distill on 20 shipped modules each of 7.2.13 arm64/s390x and trixie 6.12 s390x/arm64 equals resolve_btfids 7.2.13 / libbpf 1.7.0, bpftool 7.8 reads it; no capable objcopy: exit 3 naming machine and packages (issue 12)", ['scripts/cross-shipped.mjs', '--count', '20'],
  k7([...x72, ...arches.map((a) => K72.modules(a)), ...xTrixie, ...arches.flatMap((a) => MATERIAL_TRIXIE[a].image)], { needs: 'cross' }));
check('arm64/s390x trees (200 modules each of 7.2.13 arm64, s390x, 6.12.107 s390x): round trip, dump vs bpftool 7.8, distill and relocation vs libbpf 1.7.0 (issue 12; whole trees: scripts/corpus-cross.mjs without --count)', ['scripts/corpus-cross.mjs', '--count', '200', '--bpftool-count', '20'],
  k7([...x72, ...arches.map((a) => K72.modules(a)), ...arches.map((a) => K73.headers(a)), ...MATERIAL_TRIXIE.s390x.tree, ...MATERIAL_TRIXIE.s390x.image], { needs: 'cross' }));
check("boot Debian's 7.2.13 arm64 and s390x kernels in qemu (TCG): the cross-built fixture (form b) has BTF; arm64 calls its kfuncs from BPF (s390x: its kernel has no BPF JIT) (issue 12)", ['scripts/e2e-boot-cross.mjs', '--arch', 'arm64,s390x'], k7([...x72, ...arches.map((a) => K72.image(a))], { needs: 'cross' }));

// --only may be given more than once: the checks named like any of them.
const only = argv.only === undefined ? undefined : [argv.only].flat().map(String);
const named = (name) => only === undefined || only.some((t) => name.includes(t));
const selected = checks.filter((c) => named(c.name));
const discover = only === undefined || only.some((t) => 'newer tree from the archive'.includes(t));
if (selected.length === 0 && !discover) throw new Error(`no check named like ${only.map((t) => JSON.stringify(t)).join(' or ')}`);

// The archive: is every pinned package still to be had (cache, archive)? Newer trees?
const skipped = new Map(); // check -> sentence
const unknown = new Map(); // check -> why the archive could not be asked (a failure, not a skip)
for (const c of selected) {
  try {
    const u = await unavailable(c.packages, log);
    if (u) skipped.set(c, u.message);
  } catch (err) {
    unknown.set(c, `cannot tell whether its packages can be had: ${String(err?.message ?? err).split('\n')[0]}`);
  }
}
if (discover) {
  try {
    for (const { channel, kernel, pinned } of await discover7(log)) {
      log(`archive: ${channel}'s linux-headers-amd64 is ${kernel.short} (${kernel.headers().name} ${kernel.version})${pinned ? ', a pinned kernel' : ': newer than the e2e pins, checked against its own pipeline'}`);
      if (pinned) continue;
      const boots = !(await unavailable([kernel.image()], log));
      const c = { name: `newer tree from the archive: ${channel}'s ${kernel.short}: the fixture in forms a-e byte-identical to its own plain kbuild${kernel.unknownToModbtf ? ' (newer than every modbtf profile: the tree\'s own step, one warning)' : ''}${boots ? ', booted' : ''}`,
        argv: ['scripts/e2e-boot7.mjs', '--kernel', kernel.spec, '--strict', ...(boots ? [] : ['--no-boot'])], family: 7, packages: kernel.install(), parts: [] };
      checks.push(c);
      selected.push(c);
    }
  } catch (err) {
    log(`archive: looking for newer trees failed: ${err?.message ?? err}`);
  }
}
const runnable = selected.filter((c) => !skipped.has(c) && !unknown.has(c));

if (runnable.some((c) => !c.needs)) await setup();
const unavailableSetup = new Map();
const parts = [...new Set(runnable.filter((c) => c.needs === 'kernel7').flatMap((c) => c.parts))];
if (parts.length) {
  try {
    log(`kernel 7.x: sid chroot, Debian ${parts.join(' / ')} packages`);
    await ensureKernel7({ log, parts });
  } catch (err) {
    log(`kernel 7.x setup failed: ${err?.message ?? err}`);
    unavailableSetup.set('kernel7', `kernel 7.x setup failed (${String(err?.message ?? err).split('\n')[0]})`);
  }
}
let passed = 0, failed = 0;
const t0 = Date.now();
for (const c of selected) {
  if (skipped.has(c)) { log(`SKIP ${c.name}: ${skipped.get(c)}`); continue; }
  if (unknown.has(c)) { log(`FAIL ${c.name}: ${unknown.get(c)}`); failed++; continue; }
  const script = join(root, c.argv[0]);
  if (!existsSync(script)) { log(`MISSING ${c.name}: ${c.argv[0]} does not exist`); failed++; continue; }
  if (c.needs && unavailableSetup.has(c.needs)) { log(`FAIL ${c.name}: ${unavailableSetup.get(c.needs)}`); failed++; continue; }
  log(`RUN ${c.name}`);
  const t = Date.now();
  // Scripts written for zx (shebang) use its globals; plain ones run on node.
  const runner = readFileSync(script, 'utf8').startsWith('#!/usr/bin/env zx') ? ['npx', '--no-install', 'zx'] : ['node'];
  const r = await $({ cwd: root, nothrow: true, verbose: true })`${runner} ${script} ${c.argv.slice(1)}`;
  const secs = ((Date.now() - t) / 1000).toFixed(1);
  if (r.exitCode === 0) { passed++; log(`PASS ${c.name} (${secs} s)`); }
  else { failed++; log(`FAIL ${c.name} (exit ${r.exitCode}, ${secs} s)`); }
}
// A run that skipped every check of a kernel world checked nothing of it.
for (const family of [6, 7]) {
  const of = selected.filter((c) => c.family === family);
  if (of.length > 0 && of.every((c) => skipped.has(c))) {
    failed++;
    log(`FAIL every kernel ${family}.x check was skipped (${of.length}): nothing of kernel ${family}.x was checked; first: ${skipped.get(of[0])}`);
  }
}
console.log(`${passed} passed, ${failed} failed, ${skipped.size} skipped (${((Date.now() - t0) / 60000).toFixed(1)} min of checks)`);
process.exitCode = failed > 0 ? 1 : 0;
