// A Debian sid chroot for the kernel 7.x checks: sid has the 7.2 kbuild pipeline
// (gen-btf.sh, resolve_btfids --distill_base), pahole 1.32, libbpf 1.7.0 and bpftool 7.8,
// whose binaries need sid's glibc (shared/spec/KERNEL7.md).
//
//   $MODBTF_CACHE/sid/            the chroot (debootstrap --variant=minbase sid), kept between runs
//   $MODBTF_CACHE/sid/.modbtf-*   stamps: bootstrapped, packages installed
//
// Nothing of the host is bind-mounted into it (a stray `rm -rf` of the cache must never reach
// the host): files go in by copy (copyIn), only /proc is mounted, and it stays mounted: the
// chroot is shared by concurrent runs, and a build whose /proc vanishes fails (objtool). The
// host's own node binary runs inside as it is (sid's glibc is newer), copied to /usr/local/bin/node.
import { copyFileSync, cpSync, existsSync, mkdirSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { $ } from 'zx';

export const CACHE = process.env.MODBTF_CACHE ?? '/var/cache/modbtf';
export const SID_ROOT = join(CACHE, 'sid');
const MIRROR = process.env.MODBTF_SID_MIRROR ?? 'http://deb.debian.org/debian';
export const KVER7 = '7.2.13+deb14-amd64';
/** The 7.2 kbuild tree inside the chroot (headers package; its Makefile includes the -common tree). */
export const KDIR7 = `/usr/src/linux-headers-${KVER7}`;

/**
 * The tools every 7.x check needs inside the chroot, without a kernel tree: the trees are
 * installed per kernel from their pinned .debs (kernels.mjs ensureTree7), so that a check of
 * one kernel never needs another kernel's packages from the archive.
 */
export const SID_TOOLS = [
  'dwarves', 'libbpf-dev', 'bpftool', 'gcc', 'make', 'libc6-dev', 'libelf-dev',
  'zlib1g-dev', 'xz-utils', 'zstd', 'binutils', 'kmod', 'ca-certificates',
];
/** SID_TOOLS and the 7.2.13 tree by name (scripts run by hand; the e2e uses SID_TOOLS + ensureTree7). */
export const SID_BASE_PACKAGES = [`linux-headers-${KVER7}`, ...SID_TOOLS];

const CLEAN_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

function stamp(name) { return join(SID_ROOT, `.modbtf-${name}`); }

/**
 * The chroot's /proc, mounted if it is not (safe to call before every build): the chroot is
 * shared, and another user's releaseSid() unmounts it (objtool then fails:
 * "read_stack_limit: fopen failed").
 */
export async function ensureProc() {
  const proc = join(SID_ROOT, 'proc');
  mkdirSync(proc, { recursive: true });
  if (existsSync(join(proc, 'self'))) return;
  await $`mount -t proc proc ${proc}`;
}

/** The host path of a path inside the chroot. */
export function sidPath(p) { return join(SID_ROOT, p); }

/**
 * Runs a shell command inside the chroot with a clean environment (env -i: variables such as
 * MODBTF or NODE_EXTRA_CA_CERTS must not leak in). `env` adds variables; `cwd` is a chroot path.
 */
export function sidSh(script, { cwd = '/', env = {}, nothrow = false, quiet = true } = {}) {
  const vars = { PATH: CLEAN_PATH, HOME: '/root', LANG: 'C.UTF-8', ...env };
  const assigns = Object.entries(vars).map(([k, v]) => `${k}=${v}`);
  const body = `cd ${shq(cwd)} && ${script}`;
  return $({ nothrow, quiet })`chroot ${SID_ROOT} env -i ${assigns} sh -c ${body}`;
}

/** Single-quotes a word for sh. */
export function shq(s) { return `'${String(s).replace(/'/g, `'\\''`)}'`; }

/** apt-get inside the chroot. */
function apt(args) {
  return sidSh(`apt-get ${args}`, { env: { DEBIAN_FRONTEND: 'noninteractive' } });
}

async function missingPackages(pkgs) {
  const r = await sidSh(`dpkg-query -W -f='\${Package} \${Status}\\n' ${pkgs.join(' ')} 2>/dev/null || true`);
  const ok = new Set(r.stdout.split('\n').filter((l) => l.endsWith(' install ok installed')).map((l) => l.split(' ')[0]));
  return pkgs.filter((p) => !ok.has(p));
}

/**
 * The chroot, bootstrapped on first use (about a minute) and with `packages` installed
 * (those missing only; apt-get update only then). Returns SID_ROOT.
 */
export async function ensureSid(packages = SID_BASE_PACKAGES, log = console.log) {
  if (process.getuid?.() !== 0) throw new Error('the sid chroot needs root (debootstrap, chroot, mount)');
  if (!existsSync(stamp('bootstrapped'))) {
    if (!existsSync('/usr/sbin/debootstrap')) {
      log('apt-get install debootstrap');
      await $({ env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } })`apt-get install -y -qq --no-install-recommends debootstrap`;
    }
    // A half-made chroot from an interrupted run may still have /proc mounted.
    if (existsSync(join(SID_ROOT, 'proc/self'))) await $`umount ${join(SID_ROOT, 'proc')}`;
    rmSync(SID_ROOT, { recursive: true, force: true });
    mkdirSync(SID_ROOT, { recursive: true });
    log(`debootstrap --variant=minbase sid ${SID_ROOT}`);
    await $`debootstrap --variant=minbase sid ${SID_ROOT} ${MIRROR}`;
    writeFileSync(stamp('bootstrapped'), `${new Date().toISOString()}\n`);
  }
  // The mirror is a snapshot whose Release files have expired (KERNEL7.md).
  writeFileSync(sidPath('etc/apt/apt.conf.d/99modbtf'), 'Acquire::Check-Valid-Until "false";\nAPT::Install-Recommends "false";\n');
  await ensureProc();
  const missing = await missingPackages(packages);
  if (missing.length > 0) {
    log(`sid: apt-get install ${missing.join(' ')}`);
    await apt('update -qq');
    await apt(`install -y -qq ${missing.join(' ')}`);
  }
  copyNode();
  return SID_ROOT;
}

/** The host's node binary inside the chroot (as /usr/local/bin/node), refreshed when it changed. */
function copyNode() {
  const dest = sidPath('usr/local/bin/node');
  const src = process.execPath;
  const s = statSync(src);
  if (existsSync(dest)) {
    const d = statSync(dest);
    if (d.size === s.size && d.mtimeMs >= s.mtimeMs) return;
  }
  mkdirSync(dirname(dest), { recursive: true });
  copyFileSync(src, dest);
}

/**
 * Copies a host file or directory into the chroot at `inside` (replacing what was there).
 * Returns the chroot path.
 */
export function copyIn(hostPath, inside) {
  const dest = sidPath(inside);
  rmSync(dest, { recursive: true, force: true });
  mkdirSync(dirname(dest), { recursive: true });
  cpSync(hostPath, dest, { recursive: true });
  return inside;
}

/**
 * Where this checkout's modbtf lives inside the chroot: /opt/modbtf-<hash of the checkout's
 * path>, so that two checkouts (git worktrees) sharing the chroot never run each other's.
 * Work directories inside the chroot take CHECKOUT_ID too, for the same reason.
 */
export const CHECKOUT_ID = createHash('sha256').update(fileURLToPath(new URL('../..', import.meta.url))).digest('hex').slice(0, 10);
export const MODBTF_IN_SID = `/opt/modbtf-${CHECKOUT_ID}`;

/**
 * modbtf's runnable parts (dist/, Makefile.snippet, kbuild/) copied to MODBTF_IN_SID in the chroot,
 * unless the copy there already has these bytes (stamp MODBTF_IN_SID/.content): a build of this
 * checkout running at the same time keeps the files it is loading.
 */
export function copyModbtfIn(repo, root = SID_ROOT) {
  const parts = ['dist', 'Makefile.snippet', 'kbuild', 'package.json'];
  const h = createHash('sha256');
  const walk = (p) => {
    const st = statSync(p);
    if (st.isDirectory()) for (const e of readdirSync(p).sort()) walk(join(p, e));
    else { h.update(`${p.slice(repo.length)}\0`); h.update(readFileSync(p)); }
  };
  for (const part of parts) walk(join(repo, part));
  const key = `${h.digest('hex')}\n`;
  const stampFile = join(root, MODBTF_IN_SID, '.content');
  if (existsSync(stampFile) && readFileSync(stampFile, 'utf8') === key) return MODBTF_IN_SID;
  for (const part of parts) {
    const dest = join(root, MODBTF_IN_SID, part);
    rmSync(dest, { recursive: true, force: true });
    mkdirSync(dirname(dest), { recursive: true });
    cpSync(join(repo, part), dest, { recursive: true });
  }
  writeFileSync(stampFile, key);
  return MODBTF_IN_SID;
}

/** `apt-get download` inside the chroot into /var/cache/modbtf-debs there; returns the host path of the .deb. */
export async function sidDownload(pkg) {
  const dir = '/var/cache/modbtf-debs';
  mkdirSync(sidPath(dir), { recursive: true });
  const find = () => (existsSync(sidPath(dir)) ? readdirSync(sidPath(dir)).find((f) => f.startsWith(`${pkg}_`) && f.endsWith('.deb')) : undefined);
  if (!find()) await sidSh(`apt-get download -q -o APT::Sandbox::User=root ${shq(pkg)}`, { cwd: dir });
  const f = find();
  if (!f) throw new Error(`apt-get download ${pkg} gave no .deb`);
  return join(sidPath(dir), f);
}


/** The three packages of the 7.2 kbuild tree (KDIR7 and the -common tree it includes). */
export const KBUILD7_DEBS = [`linux-headers-${KVER7}`, 'linux-headers-7.2.13+deb14-common', 'linux-kbuild-7.2.13+deb14'];

/** The 7.x kernel a helper below works on when the caller names none: the pinned 7.2.13. */
const default7 = async () => (await import('./kernels.mjs')).PINNED7['7.2.13'];

/**
 * A tree a control is built in must be Debian's as installed: a `modbtf kbuild install`
 * there (by someone, by hand) would turn the control into a modbtf build. `k`: the 7.x kernel
 * (kernels.mjs) whose packages the tree is, default 7.2.13.
 */
export async function assertPristineTree(kdir, k) {
  k ??= await default7();
  const names = k.tree().map((p) => p.name);
  const r = await sidSh(`common=$(sed -n 's/^include //p' Makefile); ! grep -qi modbtf Makefile $common && [ ! -e scripts/Makefile.modbtf ]`, { cwd: kdir, nothrow: true });
  if (r.exitCode !== 0) throw new Error(`${kdir} has a modbtf hook installed (Makefile or scripts/Makefile.modbtf): not a plain ${k.short} tree`);
  // Every file of the three packages as Debian shipped it (md5sums; about 2 s).
  const v = await sidSh(`dpkg -V ${names.join(' ')} 2>&1`, { nothrow: true });
  if (v.exitCode !== 0 || v.stdout.trim()) throw new Error(`dpkg -V ${names.join(' ')}: the tree differs from Debian's packages:\n${v.stdout.trim()}`);
}

/**
 * A copy of a 7.x kbuild tree: Debian's three packages of kernel `k` (kernels.mjs, default
 * 7.2.13; pinned versions, from the cache or the archive) unpacked fresh into `dest` (a chroot
 * path), the arch tree's Makefile pointed there. Form c's tree (`modbtf kbuild install` must not
 * touch the installed tree, where the controls are built). Returns the copy's kdir.
 */
export async function kbuildTreeCopy(dest, k) {
  k ??= await default7();
  const { fetchDeb } = await import('./kernels.mjs');
  await sidSh(`rm -rf ${shq(dest)} && mkdir -p ${shq(dest)}`);
  for (const p of k.tree()) await $`dpkg-deb -x ${await fetchDeb(p)} ${sidPath(dest)}`;
  const kdir = `${dest}${k.kdir()}`;
  // The arch tree names itself (KBUILD_OUTPUT) and the common tree by absolute /usr/src paths.
  await sidSh(`grep -q '^include /usr/src/' Makefile && sed -i 's#/usr/src/#${dest}/usr/src/#g' Makefile && ! grep -q ' /usr/src/' Makefile`, { cwd: kdir });
  return kdir;
}
