// Kernel 7.x material for the 7.x corpus checks and the 7.2.13 boot, from Debian's own
// packages (shared/spec/KERNEL7.md), fetched with apt-get inside the sid chroot (sid.mjs)
// and unpacked on the host with dpkg-deb -x:
//
//   $MODBTF_CACHE/root7/                    the packages below unpacked (stamps .<deb>.unpacked)
//     usr/lib/modules/7.2.13+deb14-amd64/   kernel/**.ko.xz (linux-modules-...), vmlinuz (linux-binary-...)
//     usr/src/linux-headers-7.3-amd64/      vmlinux of 7.3-rc7 (experimental's linux-headers-7.3-amd64)
//   chroot /var/cache/modbtf-debs/          sid .debs (sid.mjs sidDownload)
//   chroot /var/cache/modbtf-debs-experimental/     experimental .debs
//   chroot /etc/apt/modbtf-experimental/sources.list, /var/lib/apt/lists-experimental/
//                                           apt state for experimental, kept apart from the
//                                           chroot's own (its sources, lists and package cache
//                                           never see experimental)
//   chroot /var/lib/modbtf-host/<name>/     host trees made visible to the chroot's tools
//                                           (sidView: hard links, or a copy across filesystems)
//
// The 7.2.13 vmlinux is the installed headers package's (sid.mjs KDIR7) inside the chroot.
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { basename, join, relative, sep } from 'node:path';
import { $ } from 'zx';
import { CACHE, KDIR7, KVER7, SID_BASE_PACKAGES, SID_ROOT, ensureSid, shq, sidDownload, sidPath, sidSh } from './sid.mjs';

export { KVER7 };
export const ROOT7 = join(CACHE, 'root7');
/** experimental's 7.3-rc7 build: the package names carry no rc, so the version is pinned. */
export const KVER73 = '7.3-amd64';
export const VERSION73 = '7.3~rc7-1~exp1';

const modulesDir72 = join(ROOT7, 'usr/lib/modules', KVER7);

/** Debian 7.2.13 (sid): modules tree, kernel image, vmlinux (host paths; `*InSid`: chroot paths). */
export const kernel72 = {
  kver: KVER7,
  short: '7.2.13',
  /** /lib/modules/<ver> of the image: kernel/ holds the 4216 .ko.xz. */
  modules: modulesDir72,
  /** linux-binary-7.2.13+deb14-amd64's bzImage (usr/lib/modules/<ver>/vmlinuz; boot/vmlinuz-<ver> in older layouts: see ensureKernel7's result). */
  vmlinuz: join(modulesDir72, 'vmlinuz'),
  vmlinux: sidPath(`${KDIR7}/vmlinux`),
  vmlinuxInSid: `${KDIR7}/vmlinux`,
  kdirInSid: KDIR7,
};

/** Debian 7.3-rc7 (experimental): its vmlinux only (the relocation target). */
export const kernel73 = {
  kver: KVER73,
  short: '7.3-rc7',
  version: VERSION73,
  vmlinux: join(ROOT7, 'usr/src', `linux-headers-${KVER73}`, 'vmlinux'),
};

/** sid packages unpacked into ROOT7. */
const SID_DEBS = [`linux-modules-${KVER7}`, `linux-binary-${KVER7}`];
/** experimental packages (name=version) unpacked into ROOT7. */
const EXPERIMENTAL_DEBS = [`linux-headers-${KVER73}=${VERSION73}`];

const EXP_DIR = '/etc/apt/modbtf-experimental';
const EXP_LISTS = '/var/lib/apt/lists-experimental';
const EXP_DEBS = '/var/cache/modbtf-debs-experimental';
const EXP_MIRROR = process.env.MODBTF_SID_MIRROR ?? 'http://deb.debian.org/debian';
// apt with experimental as its only source, and no binary package cache (the chroot's own
// /var/cache/apt/*.bin must keep describing sid alone).
const EXP_APT = [
  `-o Dir::Etc::SourceList=${EXP_DIR}/sources.list`, `-o Dir::Etc::SourceParts=${EXP_DIR}/parts.d`,
  `-o Dir::State::Lists=${EXP_LISTS}`, '-o Dir::Cache::pkgcache=', '-o Dir::Cache::srcpkgcache=',
].join(' ');

/** apt-get inside the chroot with experimental as the only source. */
function experimentalApt(args, { cwd = '/', nothrow = false } = {}) {
  return sidSh(`apt-get ${EXP_APT} ${args}`, { cwd, nothrow, env: { DEBIAN_FRONTEND: 'noninteractive' } });
}

/** `apt-get download name=version` from experimental (apt-get update of experimental's lists first, once). */
export async function experimentalDownload(spec, log = console.log) {
  const [pkg, version] = spec.split('=');
  // amd64 packages and arch: all ones (linux-source-7.3) alike.
  const prefix = `${pkg}_${version.replace(/^\d+:/, '')}_`;
  const find = () => (existsSync(sidPath(EXP_DEBS)) ? readdirSync(sidPath(EXP_DEBS)).find((f) => f.startsWith(prefix) && /_(amd64|all)\.deb$/.test(f)) : undefined);
  const found = find();
  if (found) return sidPath(join(EXP_DEBS, found));
  mkdirSync(sidPath(join(EXP_DIR, 'parts.d')), { recursive: true });
  mkdirSync(sidPath(join(EXP_LISTS, 'partial')), { recursive: true });
  mkdirSync(sidPath(EXP_DEBS), { recursive: true });
  writeFileSync(sidPath(join(EXP_DIR, 'sources.list')), `deb ${EXP_MIRROR} experimental main\n`);
  log(`experimental: apt-get download ${spec}`);
  const download = (nothrow = false) => experimentalApt(`download -q -o APT::Sandbox::User=root ${shq(spec)}`, { cwd: EXP_DEBS, nothrow });
  if (!readdirSync(sidPath(EXP_LISTS)).some((f) => f.endsWith('_Packages'))) await experimentalApt('update -qq');
  // Lists from an earlier run may predate the pinned version: update once and retry.
  else if ((await download(true)).exitCode !== 0) await experimentalApt('update -qq');
  if (!find()) await download();
  const got = find();
  if (!got) throw new Error(`apt-get download ${spec} gave no ${prefix}{amd64,all}.deb in ${EXP_DEBS}`);
  return sidPath(join(EXP_DEBS, got));
}

/** dpkg-deb -x of a host .deb into ROOT7, once (stamp ROOT7/.<deb>.unpacked). */
async function unpack(deb, log) {
  const stamp = join(ROOT7, `.${basename(deb)}.unpacked`);
  if (existsSync(stamp)) return;
  log(`unpack ${basename(deb)} into ${ROOT7}`);
  await $`dpkg-deb -x ${deb} ${ROOT7}`;
  writeFileSync(stamp, `${new Date().toISOString()}\n`);
}

/** The .deb files unpacked into ROOT7 (host paths), for provenance notes and cache keys. */
export function kernel7Debs() {
  return readdirSync(ROOT7).filter((f) => f.startsWith('.') && f.endsWith('.deb.unpacked')).map((f) => f.slice(1, -'.unpacked'.length)).sort();
}

/**
 * Everything the 7.x checks need: the sid chroot with SID_BASE_PACKAGES (+ `packages`),
 * linux-modules and linux-binary 7.2.13 and experimental's 7.3-rc7 headers unpacked into
 * ROOT7. Returns { kernel72, kernel73 } with the vmlinuz path as found.
 */
export async function ensureKernel7({ packages = [], log = console.log } = {}) {
  await ensureSid([...new Set([...SID_BASE_PACKAGES, ...packages])], log);
  mkdirSync(ROOT7, { recursive: true });
  for (const pkg of SID_DEBS) {
    if (!sidHasDeb(pkg)) log(`sid: apt-get download ${pkg}`);
    await unpack(await sidDownload(pkg), log);
  }
  for (const spec of EXPERIMENTAL_DEBS) await unpack(await experimentalDownload(spec, log), log);
  const k72 = { ...kernel72, vmlinuz: findVmlinuz72() };
  for (const f of [k72.vmlinux, kernel73.vmlinux, join(k72.modules, 'kernel')]) if (!existsSync(f)) throw new Error(`missing ${f}`);
  return { kernel72: k72, kernel73 };
}

/** experimental's 7.3-rc7 kbuild tree, installed in the chroot (ensureKernel73Tree). */
export const KDIR73 = `/usr/src/linux-headers-${KVER73}`;
/** What installing it takes from experimental; the rest (gcc-16-for-host, pahole...) comes from sid. */
const KBUILD73_DEBS = [`linux-headers-${KVER73}`, 'linux-headers-7.3-common', 'linux-kbuild-7.3', `linux-base-${KVER73}`];

/**
 * Debian experimental's 7.3-rc7 kbuild tree installed in the sid chroot as Debian installs
 * it (/usr/src/linux-headers-7.3-amd64 with its -common tree, /usr/lib/linux-kbuild-7.3 with
 * the tree's resolve_btfids): the pinned .debs downloaded from experimental, then
 * `apt-get install` of them inside the chroot (their other dependencies from sid).
 * Idempotent: nothing is done when the pinned versions are installed. Shared by the 7.3
 * fixtures, corpus and e2e scripts (run apt under /var/lock/modbtf-apt.lock when others may
 * use the chroot). Returns { kdir, resolveBtfids, vmlinux } (chroot paths).
 */
export async function ensureKernel73Tree(log = console.log) {
  await ensureSid(SID_BASE_PACKAGES, log);
  const r = await sidSh(`dpkg-query -W -f='\${Package} \${Version} \${Status}\\n' ${KBUILD73_DEBS.join(' ')} 2>/dev/null || true`);
  const ok = new Set(r.stdout.split('\n').filter((l) => l.endsWith(' install ok installed') && l.split(' ')[1] === VERSION73).map((l) => l.split(' ')[0]));
  const missing = KBUILD73_DEBS.filter((p) => !ok.has(p));
  if (missing.length > 0) {
    const debs = [];
    for (const pkg of KBUILD73_DEBS) debs.push(await experimentalDownload(`${pkg}=${VERSION73}`, log));
    log(`sid: apt-get install ${debs.map((d) => basename(d)).join(' ')}`);
    const inside = debs.map((d) => `/${relative(SID_ROOT, d)}`);
    await sidSh(`apt-get install -y -qq ${inside.map(shq).join(' ')}`, { env: { DEBIAN_FRONTEND: 'noninteractive' } });
  }
  const kdir = KDIR73;
  const resolveBtfids = '/usr/lib/linux-kbuild-7.3/tools/bpf/resolve_btfids/resolve_btfids';
  for (const f of [`${kdir}/vmlinux`, `${kdir}/include/config/kernel.release`, resolveBtfids]) if (!existsSync(sidPath(f))) throw new Error(`7.3 tree: missing ${f} in the chroot`);
  return { kdir, resolveBtfids, vmlinux: `${kdir}/vmlinux` };
}

function findVmlinuz72() {
  const vmlinuz = [kernel72.vmlinuz, join(ROOT7, 'boot', `vmlinuz-${KVER7}`)].find((f) => existsSync(f));
  if (!vmlinuz) throw new Error(`linux-binary-${KVER7} has no vmlinuz under usr/lib/modules/${KVER7}/ or boot/`);
  return vmlinuz;
}

/** Only Debian's 7.2.13 kernel image (for the boot), unpacked into ROOT7; returns its vmlinuz. */
export async function ensureKernel72Image(log = console.log) {
  mkdirSync(ROOT7, { recursive: true });
  await unpack(await sidDownload(`linux-binary-${KVER7}`), log);
  return findVmlinuz72();
}

function sidHasDeb(pkg) {
  const dir = sidPath('/var/cache/modbtf-debs');
  return existsSync(dir) && readdirSync(dir).some((f) => f.startsWith(`${pkg}_`) && f.endsWith('.deb'));
}

/**
 * The chroot path at which a host file or directory can be read by the chroot's tools.
 * Paths already inside the chroot are translated; others are hard-linked (or copied, across
 * filesystems) to /var/lib/modbtf-host/<name>, refreshed when `key` changes. Nothing of the
 * host is mounted: removing the view inside the chroot leaves the host files alone.
 */
export function sidView(hostPath, name, key = '') {
  const inside = insideSid(hostPath);
  if (inside) return inside;
  const dest = join('/var/lib/modbtf-host', name);
  const stamp = sidPath(`${dest}.stamp`);
  const want = `${realpathSync(hostPath)}\n${key}\n`;
  if (existsSync(stamp) && existsSync(sidPath(dest)) && readFileSync(stamp, 'utf8') === want) return dest;
  rmSync(sidPath(dest), { recursive: true, force: true });
  mkdirSync(sidPath('/var/lib/modbtf-host'), { recursive: true });
  try {
    linkTree(hostPath, sidPath(dest));
  } catch (err) {
    if (err?.code !== 'EXDEV' && err?.code !== 'EPERM') throw err;
    rmSync(sidPath(dest), { recursive: true, force: true });
    cpSync(hostPath, sidPath(dest), { recursive: true });
  }
  writeFileSync(stamp, want);
  return dest;
}

/** The chroot path of a host path that lies inside the chroot, else undefined. */
export function insideSid(hostPath) {
  const real = realpathSync(hostPath);
  const root = realpathSync(SID_ROOT);
  if (real === root) return '/';
  return real.startsWith(root + sep) ? `/${relative(root, real)}` : undefined;
}

function linkTree(src, dest) {
  // cp -al: directories made, files hard-linked (same filesystem), symlinks kept.
  const r = spawnSync('cp', ['-al', src, dest], { encoding: 'utf8' });
  if (r.status !== 0) {
    const err = new Error(`cp -al ${src} ${dest}: ${r.stderr.trim()}`);
    err.code = /Invalid cross-device link/.test(r.stderr) ? 'EXDEV' : /Operation not permitted/.test(r.stderr) ? 'EPERM' : 'CP';
    throw err;
  }
}

/** sha256 of a file's bytes (hex), for cache keys. */
export function fileSha(file) {
  return createHash('sha256').update(readFileSync(file)).digest('hex');
}
