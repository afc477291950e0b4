// Environment of the boot test: Debian packages, the two kernels, paths, logging.
// Everything downloaded or built is kept under $MODBTF_CACHE (default /var/cache/modbtf):
//   debs/            .deb files fetched with apt-get download
//   root/            those packages unpacked with dpkg-deb -x (stamp: root/.<deb>.unpacked)
//   e2e/             loader binary, initramfs base, pristine kbuild trees, per-run work
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { $ } from 'zx';

export const CACHE = process.env.MODBTF_CACHE ?? '/var/cache/modbtf';
export const DEBS = join(CACHE, 'debs');
export const UNPACKED = join(CACHE, 'root');
export const E2E_CACHE = join(CACHE, 'e2e');

export const KVER_OLD = '6.12.107+deb12-amd64';
export const KVER_NEW = '6.12.117+deb12-amd64';

/**
 * Installed for real: the 6.12.107 headers (for their dependencies: gcc-12, pahole...; apt also
 * pulls linux-image-6.12.107+deb12-amd64), compilers, qemu. Modules are not built in the
 * installed /usr/src tree but in a pristine unpacked copy (pristineKbuildTree).
 */
const APT_PACKAGES = [
  `linux-headers-${KVER_OLD}`, 'linux-kbuild-6.12.107+deb12', 'gcc-12', 'gcc', 'libc6-dev', 'make',
  'binutils', 'dwarves', 'xz-utils', 'qemu-system-x86', 'busybox-static', 'cpio', 'bpftool', 'llvm',
];
/** Unpacked into UNPACKED: the bootable kernels (with their modules) and both vmlinux BTFs. */
const UNPACKED_DEBS = [
  `linux-image-${KVER_OLD}-unsigned`, `linux-image-${KVER_NEW}-unsigned`,
  `linux-headers-${KVER_OLD}`, `linux-headers-${KVER_NEW}`,
];
/** Unpacked fresh for every build tree (pristineKbuildTree). */
const KBUILD_DEBS = [`linux-headers-${KVER_OLD}`, 'linux-headers-6.12.107+deb12-common', 'linux-kbuild-6.12.107+deb12'];
export const kernels = {
  old: {
    kver: KVER_OLD,
    short: '6.12.107',
    vmlinuz: join(UNPACKED, 'boot', `vmlinuz-${KVER_OLD}`),
    vmlinux: join(UNPACKED, 'usr/src', `linux-headers-${KVER_OLD}`, 'vmlinux'),
    modules: join(UNPACKED, 'lib/modules', KVER_OLD),
  },
  new: {
    kver: KVER_NEW,
    short: '6.12.117',
    vmlinuz: join(UNPACKED, 'boot', `vmlinuz-${KVER_NEW}`),
    vmlinux: join(UNPACKED, 'usr/src', `linux-headers-${KVER_NEW}`, 'vmlinux'),
    modules: join(UNPACKED, 'lib/modules', KVER_NEW),
  },
};

const t0 = Date.now();
export function log(msg) {
  const s = ((Date.now() - t0) / 1000).toFixed(1).padStart(6);
  console.log(`[e2e-boot ${s}s] ${msg}`);
}
export function elapsed() { return (Date.now() - t0) / 1000; }

async function missingPackages(pkgs) {
  const r = await $({ nothrow: true })`dpkg-query -W -f=${'${Package} ${Status}\n'} ${pkgs}`;
  const ok = new Set(r.stdout.split('\n').filter((l) => l.endsWith(' install ok installed')).map((l) => l.split(' ')[0]));
  return pkgs.filter((p) => !ok.has(p));
}

const findDeb = (pkg) => readdirSync(DEBS).find((f) => f.startsWith(`${pkg}_`) && f.endsWith('.deb'));
async function download(pkg) {
  if (findDeb(pkg)) return;
  log(`apt-get download ${pkg}`);
  // apt's sandbox user cannot write into root's cache directory: download as root.
  await $({ cwd: DEBS })`apt-get download -q -o APT::Sandbox::User=root ${pkg}`;
}

/** Installs what is missing (apt-get update only when an install is needed), downloads and unpacks the kernels. */
export async function ensureEnvironment() {
  if (process.getuid?.() !== 0) throw new Error('e2e-boot needs root (apt-get, mknod for the initramfs)');
  const missing = await missingPackages(APT_PACKAGES);
  if (missing.length) {
    const apt = $({ env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } });
    log(`apt-get install ${missing.join(' ')}`);
    await apt`apt-get update -qq`;
    await apt`apt-get install -y -qq --no-install-recommends ${missing}`;
  }
  mkdirSync(DEBS, { recursive: true });
  mkdirSync(UNPACKED, { recursive: true });
  for (const pkg of new Set([...UNPACKED_DEBS, ...KBUILD_DEBS])) await download(pkg);
  for (const pkg of UNPACKED_DEBS) {
    const deb = findDeb(pkg);
    const stamp = join(UNPACKED, `.${deb}.unpacked`);
    if (!existsSync(stamp)) {
      log(`unpack ${deb}`);
      await $`dpkg-deb -x ${join(DEBS, deb)} ${UNPACKED}`;
      await $`touch ${stamp}`;
    }
  }
  for (const k of Object.values(kernels)) {
    for (const f of [k.vmlinuz, k.vmlinux]) if (!existsSync(f)) throw new Error(`missing ${f}`);
  }
  mkdirSync(E2E_CACHE, { recursive: true });
}

/**
 * A 6.12.107 kbuild tree unpacked fresh from Debian's packages into `dest` (about 2 s).
 * Builds never use /usr/src: a `modbtf kbuild install` there (by a developer, or by form c)
 * would silently turn the plain-kbuild controls into modbtf builds. Returns
 * { kdir, resolveBtfids }.
 */
export async function pristineKbuildTree(dest) {
  rmSync(dest, { recursive: true, force: true });
  mkdirSync(dest, { recursive: true });
  for (const pkg of KBUILD_DEBS) await $`dpkg-deb -x ${join(DEBS, findDeb(pkg))} ${dest}`;
  const kdir = join(dest, 'usr/src', `linux-headers-${KVER_OLD}`);
  // The arch tree includes the common tree by absolute path; point it into dest.
  const makefile = join(kdir, 'Makefile');
  const text = readFileSync(makefile, 'utf8');
  const fixed = text.replace(/^include \/usr\/src\//m, `include ${join(dest, 'usr/src')}/`);
  if (fixed === text) throw new Error(`${makefile}: no "include /usr/src/..." line to redirect`);
  writeFileSync(makefile, fixed);
  return { kdir, resolveBtfids: join(kdir, 'tools/bpf/resolve_btfids/resolve_btfids') };
}
