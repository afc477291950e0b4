// Kernel material of other architectures (issue 12): Debian's arm64 and s390x (big-endian)
// kernels, headers and cross toolchains, for the cross builds (scripts/e2e-cross.mjs), the
// shipped-module and corpus checks and the arm64 boot. Everything from Debian's packages:
//
//   sid chroot ($MODBTF_CACHE/sid, sid.mjs)
//     cross compilers + binutils (SID_CROSS_PACKAGES), installed
//     /usr/src/linux-headers-7.2.13+deb14-{arm64,s390x}/    the arch header packages, unpacked
//                        (dpkg-deb -x) next to the installed amd64 kbuild and -common tree they use
//     /var/cache/modbtf-debs-foreign-sid/, -experimental/   foreign .debs (chroot.mjs foreignApt)
//   trixie chroot ($MODBTF_CACHE/trixie, chroot.mjs)
//     linux-kbuild + -common of 6.12.107 and 6.12.117, pahole 1.30, gcc-14 cross compilers
//     /usr/src/linux-headers-6.12.107+deb13-s390x/, linux-headers-6.12.117+deb13-arm64/
//                        (this mirror has no linux-headers-6.12.107+deb13-arm64 any more)
//   $MODBTF_CACHE/cross/<kver>/   packages unpacked on the host: shipped modules (linux-modules-*
//                        of 7.2.13, linux-image-* of trixie), kernel images (linux-binary-*),
//                        vmlinux of the relocation targets (7.3-rc7 from experimental; for
//                        6.12.107 s390x, whose 6.12.117 headers the mirror lacks, 7.2.13's)
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { CACHE, SID_ROOT, SID_TOOLS, ensureSid, sidDownload, sidPath } from './sid.mjs';
import { foreignApt, makeChroot, sidChroot, unpackOnce } from './chroot.mjs';

export const CROSS = join(CACHE, 'cross');

export const ARCHES = {
  arm64: {
    arch: 'arm64', kbuildArch: 'arm64', triple: 'aarch64-linux-gnu', machine: 'AArch64', bigEndian: false,
    sidPackages: ['gcc-16-aarch64-linux-gnu', 'binutils-aarch64-linux-gnu'],
    trixiePackages: ['gcc-14-aarch64-linux-gnu', 'binutils-aarch64-linux-gnu'],
  },
  s390x: {
    arch: 's390x', kbuildArch: 's390', triple: 's390x-linux-gnu', machine: 'IBM S/390', bigEndian: true,
    sidPackages: ['gcc-16-s390x-linux-gnu', 'binutils-s390x-linux-gnu'],
    trixiePackages: ['gcc-14-s390x-linux-gnu', 'binutils-s390x-linux-gnu'],
  },
};
export const ARCH_NAMES = Object.keys(ARCHES);
export const SID_CROSS_PACKAGES = ARCH_NAMES.flatMap((a) => ARCHES[a].sidPackages);

/** `make` arguments of a cross build for `arch` (Debian's header Makefile sets CROSS_COMPILE too). */
export const crossMake = (arch) => `ARCH=${ARCHES[arch].kbuildArch} CROSS_COMPILE=${ARCHES[arch].triple}-`;

// ---- sid: 7.2.13 ---------------------------------------------------------------------------
export const V72 = '7.2.13-1';
/** Debian 7.2.13 of `arch`: chroot and host paths. */
export function k72(arch) {
  const kver = `7.2.13+deb14-${arch}`;
  const kdir = `/usr/src/linux-headers-${kver}`;
  const root = join(CROSS, kver);
  return {
    arch, kver, short: '7.2.13', kdir, vmlinuxInSid: `${kdir}/vmlinux`, vmlinux: sidPath(`${kdir}/vmlinux`),
    root, modules: join(root, 'usr/lib/modules', kver, 'kernel'), vmlinuz: join(root, 'usr/lib/modules', kver, 'vmlinuz'),
    headersDeb: `linux-headers-${kver}`,
  };
}
/** experimental's 7.3-rc7 of `arch`: its vmlinux (the relocation target). */
export const VERSION73 = '7.3~rc7-1~exp1';
export function k73(arch) {
  const kver = `7.3-${arch}`;
  return { arch, kver, short: '7.3-rc7', vmlinux: join(CROSS, kver, 'usr/src', `linux-headers-${kver}`, 'vmlinux') };
}

const sidForeign = foreignApt(sidChroot, 'sid', 'sid');
const expForeign = foreignApt(sidChroot, 'experimental', 'experimental');

/**
 * The sid chroot with the cross toolchains and the arch header trees of a 7.x kernel `kernel`
 * (kernels.mjs; default 7.2.13) in /usr/src, next to its amd64 kbuild tree (installed): the
 * pinned .debs, from the cache or the archive.
 */
export async function ensureCrossSid({ arches = ARCH_NAMES, packages = [], log = console.log, kernel } = {}) {
  const { PINNED7, ensureTree7, fetchDeb } = await import('./kernels.mjs');
  const k7 = kernel ?? PINNED7['7.2.13'];
  await ensureSid([...new Set([...SID_TOOLS, ...arches.flatMap((a) => ARCHES[a].sidPackages), ...packages])], log);
  await ensureTree7(k7, log);
  for (const a of arches) {
    const x = crossTree(k7, a);
    await unpackOnce(await fetchDeb(k7.headers(a), log), SID_ROOT, log);
    if (!existsSync(x.vmlinux)) throw new Error(`missing ${x.vmlinux}`);
  }
}

/** A 7.x kernel's (kernels.mjs) tree for `arch` in the sid chroot: { arch, kver, short, kdir, vmlinuxInSid, vmlinux }. */
export function crossTree(k7, arch) {
  const kdir = k7.kdir(arch);
  return { arch, kver: k7.kver(arch), short: k7.short, kdir, vmlinuxInSid: `${kdir}/vmlinux`, vmlinux: sidPath(`${kdir}/vmlinux`) };
}

/** The .deb (host path) of a sid package of `arch` (amd64: the chroot's own apt). */
export function sidDeb(pkg, arch, log = console.log) {
  return arch === 'amd64' ? sidDownload(pkg) : sidForeign.download(`${pkg}:${arch}`, log);
}

/** Debian's shipped 7.2.13 modules of `arch` (linux-modules-*), unpacked on the host. */
export async function ensureShipped72(arch, log = console.log) {
  const k = k72(arch);
  await unpackOnce(await sidForeign.download(`linux-modules-${k.kver}:${arch}`, log), k.root, log);
  if (!existsSync(k.modules)) throw new Error(`missing ${k.modules}`);
  return k;
}
/** Debian's 7.2.13 kernel image of `arch` (linux-binary-*), unpacked on the host; its vmlinuz. */
export async function ensureImage72(arch, log = console.log) {
  const k = k72(arch);
  await unpackOnce(await sidForeign.download(`linux-binary-${k.kver}:${arch}`, log), k.root, log);
  const vmlinuz = [k.vmlinuz, join(k.root, 'boot', `vmlinuz-${k.kver}`)].find((f) => existsSync(f));
  if (!vmlinuz) throw new Error(`linux-binary-${k.kver} has no vmlinuz`);
  return { ...k, vmlinuz };
}
/** experimental's 7.3-rc7 headers of `arch` unpacked on the host; returns k73(arch). */
export async function ensure73(arch, log = console.log) {
  const k = k73(arch);
  await unpackOnce(await expForeign.download(`linux-headers-${k.kver}:${arch}=${VERSION73}`, log), join(CROSS, k.kver), log);
  if (!existsSync(k.vmlinux)) throw new Error(`missing ${k.vmlinux}`);
  return k;
}

// ---- trixie: 6.12 --------------------------------------------------------------------------
export const trixie = makeChroot('trixie', 'trixie');
const trixieForeign = foreignApt(trixie, 'trixie', 'trixie');
/** The trixie kernel used per arch: 6.12.107, except arm64, whose 6.12.107 headers this mirror no longer has. */
export const TRIXIE_KERNEL = { s390x: '6.12.107', arm64: '6.12.117' };
/** Trixie's 6.12 kernel `version` of `arch` (default TRIXIE_KERNEL[arch]). */
export function k6(arch, version = TRIXIE_KERNEL[arch]) {
  const kver = `${version}+deb13-${arch}`;
  const kdir = `/usr/src/linux-headers-${kver}`;
  const root = join(CROSS, kver);
  return {
    arch, kver, short: version, kdir, vmlinuxInTrixie: `${kdir}/vmlinux`, vmlinux: trixie.path(`${kdir}/vmlinux`),
    root, imageDeb: arch === 's390x' ? `linux-image-${kver}` : `linux-image-${kver}-unsigned`,
    get modules() { return [join(root, 'usr/lib/modules', kver, 'kernel'), join(root, 'lib/modules', kver, 'kernel')].find((d) => existsSync(d)) ?? join(root, 'usr/lib/modules', kver, 'kernel'); },
  };
}
const trixieKbuild = (version) => [`linux-kbuild-${version}+deb13`, `linux-headers-${version}+deb13-common`];
export const TRIXIE_BASE_PACKAGES = ['dwarves', 'make', 'xz-utils', 'zstd', 'kmod', 'binutils'];

/** The trixie chroot with 6.12 kbuild, pahole 1.30, the cross toolchains and the arch header trees. */
export async function ensureCrossTrixie({ arches = ARCH_NAMES, log = console.log } = {}) {
  const versions = [...new Set(arches.map((a) => TRIXIE_KERNEL[a]))];
  await trixie.ensure([...TRIXIE_BASE_PACKAGES, ...versions.flatMap(trixieKbuild), ...arches.flatMap((a) => ARCHES[a].trixiePackages)], log);
  for (const a of arches) {
    const k = k6(a);
    await unpackOnce(await trixieForeign.download(`linux-headers-${k.kver}:${a}`, log), trixie.root, log);
    if (!existsSync(k.vmlinux)) throw new Error(`missing ${k.vmlinux}`);
  }
}
/** A trixie .deb of `arch` (host path). */
export function trixieDeb(pkg, arch, log = console.log) { return trixieForeign.download(`${pkg}:${arch}`, log); }

/** Trixie's shipped modules of `arch` (linux-image-*), unpacked on the host. */
export async function ensureShipped6(arch, version = TRIXIE_KERNEL[arch], log = console.log) {
  const k = k6(arch, version);
  await unpackOnce(await trixieForeign.download(`${k.imageDeb}:${arch}`, log), k.root, log);
  if (!existsSync(k.modules)) throw new Error(`missing ${k.modules}`);
  return k;
}
/** The unpacked .debs of a host root (for provenance notes). */
export function unpackedDebs(dir) {
  const d = join(dir, '.modbtf-unpacked');
  return existsSync(d) ? readdirSync(d).sort() : [];
}
export { CACHE };

/** Host packages installed when missing (apt-get update only then). */
export async function ensureHostPackages(pkgs, log = console.log) {
  const { $ } = await import('zx');
  const r = await $({ nothrow: true, quiet: true })`dpkg-query -W -f=${'${Package} ${Status}\n'} ${pkgs}`;
  const ok = new Set(r.stdout.split('\n').filter((l) => l.endsWith(' install ok installed')).map((l) => l.split(' ')[0]));
  const missing = pkgs.filter((p) => !ok.has(p));
  if (!missing.length) return;
  log(`apt-get install ${missing.join(' ')}`);
  const apt = $({ quiet: true, env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } });
  await apt`apt-get update -qq`;
  await apt`apt-get install -y -qq --no-install-recommends ${missing}`;
}
/** What the host needs to rewrite foreign modules: binutils-<triple> (scenario B), llvm (llvm-objcopy), xz. */
export const HOST_CROSS_PACKAGES = ['binutils', 'llvm', 'xz-utils', ...ARCH_NAMES.map((a) => `binutils-${ARCHES[a].triple}`)];

/** The foreign apt channels of archive.mjs: apt runners and what must exist before they run. */
export const foreignChannels = {
  sid: { run: sidForeign.run, ready: (log) => ensureSid(SID_TOOLS, log) },
  experimental: { run: expForeign.run, ready: (log) => ensureSid(SID_TOOLS, log) },
  trixie: { run: trixieForeign.run, ready: (log) => trixie.ensure(TRIXIE_BASE_PACKAGES, log) },
};
