// Kernel 7.x material for the 7.x corpus checks and the 7.x boots, from Debian's own packages
// (shared/spec/KERNEL7.md) at the versions kernels.mjs pins, taken from the local cache or
// fetched with apt-get inside the sid chroot (sid.mjs, archive.mjs) and unpacked on the host with
// dpkg-deb -x:
//
//   $MODBTF_CACHE/root7/                    the packages below unpacked (stamps .<deb>.unpacked)
//     usr/lib/modules/7.2.13+deb14-amd64/   kernel/**.ko.xz (linux-modules-...), vmlinuz (linux-binary-...)
//     usr/lib/modules/7.3-amd64/vmlinuz     experimental's linux-binary-7.3-amd64 (the 7.3-rc7 boot)
//     usr/src/linux-headers-7.3-amd64/      vmlinux of 7.3-rc7 (experimental's linux-headers-7.3-amd64)
//   chroot /usr/src/linux-headers-<kver>/   the kbuild trees, installed from their .debs (kernels.mjs ensureTree7)
//   chroot /var/cache/modbtf-debs/          sid .debs (sid.mjs sidDownload, archive.mjs)
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
import { CACHE, KDIR7, KVER7, SID_ROOT, SID_TOOLS, ensureSid, shq, sidPath, sidSh } from './sid.mjs';

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

/** experimental's apt state in the chroot (sources.list, lists and .deb dirs), made when missing. */
export function experimentalAptSetup() {
  mkdirSync(sidPath(join(EXP_DIR, 'parts.d')), { recursive: true });
  mkdirSync(sidPath(join(EXP_LISTS, 'partial')), { recursive: true });
  mkdirSync(sidPath(EXP_DEBS), { recursive: true });
  writeFileSync(sidPath(join(EXP_DIR, 'sources.list')), `deb ${EXP_MIRROR} experimental main\n`);
}

/** apt-get or apt-cache (`tool`) with experimental's apt state; never throws (archive.mjs). */
export function experimentalAptRun(tool, args, cwd = '/') {
  return sidSh(`${tool} ${EXP_APT} ${args}`, { cwd, nothrow: true, env: { DEBIAN_FRONTEND: 'noninteractive' } });
}

/** `apt-get download name=version` from experimental (apt-get update of experimental's lists first, once). */
export async function experimentalDownload(spec, log = console.log) {
  const [pkg, version] = spec.split('=');
  // amd64 packages and arch: all ones (linux-source-7.3) alike.
  const prefix = `${pkg}_${version.replace(/^\d+:/, '')}_`;
  const find = () => (existsSync(sidPath(EXP_DEBS)) ? readdirSync(sidPath(EXP_DEBS)).find((f) => f.startsWith(prefix) && /_(amd64|all)\.deb$/.test(f)) : undefined);
  const found = find();
  if (found) return sidPath(join(EXP_DEBS, found));
  experimentalAptSetup();
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
 * What the 7.x corpus checks need: the sid chroot with SID_TOOLS (+ `packages`); for part
 * '7.2.13' its kbuild tree installed (vmlinux) and linux-modules / linux-binary unpacked into
 * ROOT7; for part '7.3-rc7' experimental's headers unpacked into ROOT7 (the relocation target's
 * vmlinux). Every package is the pinned version, from the cache or the archive (kernels.mjs).
 * Returns { kernel72, kernel73 } (kernel72 with the vmlinuz path as found, when its part was asked).
 */
export async function ensureKernel7({ packages = [], log = console.log, parts = ['7.2.13', '7.3-rc7'] } = {}) {
  const { PINNED7, ensureTree7, fetchDeb } = await import('./kernels.mjs');
  await ensureSid([...new Set([...SID_TOOLS, ...packages])], log);
  mkdirSync(ROOT7, { recursive: true });
  let k72 = kernel72;
  if (parts.includes('7.2.13')) {
    const k = PINNED7['7.2.13'];
    await ensureTree7(k, log);
    for (const p of [k.modules(), k.image()]) await unpack(await fetchDeb(p, log), log);
    k72 = { ...kernel72, vmlinuz: findVmlinuz72() };
    for (const f of [k72.vmlinux, join(k72.modules, 'kernel')]) if (!existsSync(f)) throw new Error(`missing ${f}`);
  }
  if (parts.includes('7.3-rc7')) {
    await unpack(await fetchDeb(PINNED7['7.3-rc7'].headers(), log), log);
    if (!existsSync(kernel73.vmlinux)) throw new Error(`missing ${kernel73.vmlinux}`);
  }
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
  await ensureSid(SID_TOOLS, log);
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
  return findVmlinuz(KVER7);
}

/** The vmlinuz of an unpacked linux-binary-<kver> in ROOT7 (usr/lib/modules/<kver>/vmlinuz; boot/vmlinuz-<kver> in older layouts). */
function findVmlinuz(kver) {
  const vmlinuz = [join(ROOT7, 'usr/lib/modules', kver, 'vmlinuz'), join(ROOT7, 'boot', `vmlinuz-${kver}`)].find((f) => existsSync(f));
  if (!vmlinuz) throw new Error(`linux-binary-${kver} has no vmlinuz under usr/lib/modules/${kver}/ or boot/`);
  return vmlinuz;
}

/** Debian's kernel image of a 7.x kernel `k` (kernels.mjs; pinned version) unpacked into ROOT7; returns its vmlinuz. */
export async function ensureImage7(k, log = console.log) {
  const { fetchDeb } = await import('./kernels.mjs');
  mkdirSync(ROOT7, { recursive: true });
  await unpack(await fetchDeb(k.image(), log), log);
  return findVmlinuz(k.kver());
}

/** Only Debian's 7.2.13 kernel image (for the boot), unpacked into ROOT7; returns its vmlinuz. */
export async function ensureKernel72Image(log = console.log) {
  const { PINNED7 } = await import('./kernels.mjs');
  return ensureImage7(PINNED7['7.2.13'], log);
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
