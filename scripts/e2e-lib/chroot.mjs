// Debian chroots other than sid (scripts/e2e-lib/sid.mjs), made and used the same way:
// `debootstrap --variant=minbase <suite>` into $MODBTF_CACHE/<name>, kept between runs,
// nothing of the host bind-mounted (files go in by copy), /proc mounted and left mounted
// (the chroot is shared by concurrent runs), commands under `env -i`, the host's node binary
// copied to /usr/local/bin/node. Used for Debian 13 (trixie): its 6.12.107 kbuild with
// pahole 1.30, which writes `.BTF.base` itself for M= builds (issue 12).
//
// Also here: apt for packages of other architectures (arm64, s390x) and other suites, with
// its own sources, lists and status file inside the chroot, so the chroot's own apt state
// (sources, lists, package cache) never sees them; `apt-get download` only (nothing of
// another architecture is installed: header packages are unpacked with dpkg-deb -x).
import { copyFileSync, cpSync, existsSync, mkdirSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { $ } from 'zx';
import { CACHE, SID_ROOT, ensureSid, shq, sidPath, sidSh } from './sid.mjs';

const MIRROR = process.env.MODBTF_SID_MIRROR ?? 'http://deb.debian.org/debian';
const CLEAN_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

/**
 * A chroot of `suite` at $MODBTF_CACHE/<name>: { name, suite, root, path(p), sh(script, opts),
 * ensure(packages, log), copyIn(host, inside) }.
 */
export function makeChroot(name, suite) {
  const root = join(CACHE, name);
  const path = (p) => join(root, p);
  const stamp = (s) => path(`.modbtf-${s}`);
  const sh = (script, { cwd = '/', env = {}, nothrow = false, quiet = true } = {}) => {
    const vars = { PATH: CLEAN_PATH, HOME: '/root', LANG: 'C.UTF-8', ...env };
    const assigns = Object.entries(vars).map(([k, v]) => `${k}=${v}`);
    return $({ nothrow, quiet })`chroot ${root} env -i ${assigns} sh -c ${`cd ${shq(cwd)} && ${script}`}`;
  };
  async function mountProc() {
    mkdirSync(path('proc'), { recursive: true });
    if (!existsSync(path('proc/self'))) await $`mount -t proc proc ${path('proc')}`;
  }
  async function missing(pkgs) {
    const r = await sh(`dpkg-query -W -f='\${Package} \${Status}\\n' ${pkgs.join(' ')} 2>/dev/null || true`);
    const ok = new Set(r.stdout.split('\n').filter((l) => l.endsWith(' install ok installed')).map((l) => l.split(' ')[0]));
    return pkgs.filter((p) => !ok.has(p));
  }
  function copyNode() {
    const dest = path('usr/local/bin/node');
    const s = statSync(process.execPath);
    if (existsSync(dest)) {
      const d = statSync(dest);
      if (d.size === s.size && d.mtimeMs >= s.mtimeMs) return;
    }
    mkdirSync(dirname(dest), { recursive: true });
    copyFileSync(process.execPath, dest);
  }
  async function ensure(packages = [], log = console.log) {
    if (process.getuid?.() !== 0) throw new Error(`the ${suite} chroot needs root (debootstrap, chroot, mount)`);
    if (!existsSync(stamp('bootstrapped'))) {
      if (!existsSync('/usr/sbin/debootstrap')) {
        log('apt-get install debootstrap');
        await $({ env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } })`apt-get install -y -qq --no-install-recommends debootstrap`;
      }
      if (existsSync(path('proc/self'))) await $`umount ${path('proc')}`;
      rmSync(root, { recursive: true, force: true });
      mkdirSync(root, { recursive: true });
      log(`debootstrap --variant=minbase ${suite} ${root}`);
      await $`debootstrap --variant=minbase ${suite} ${root} ${MIRROR}`;
      writeFileSync(stamp('bootstrapped'), `${new Date().toISOString()}\n`);
    }
    // The mirror is a snapshot whose Release files have expired (spec/KERNEL7.md).
    writeFileSync(path('etc/apt/apt.conf.d/99modbtf'), 'Acquire::Check-Valid-Until "false";\nAPT::Install-Recommends "false";\n');
    await mountProc();
    const want = await missing(packages);
    if (want.length > 0) {
      log(`${suite}: apt-get install ${want.join(' ')}`);
      const env = { DEBIAN_FRONTEND: 'noninteractive' };
      await sh('apt-get update -qq', { env });
      await sh(`apt-get install -y -qq ${want.join(' ')}`, { env });
    }
    copyNode();
    return root;
  }
  function copyIn(hostPath, inside) {
    const dest = path(inside);
    rmSync(dest, { recursive: true, force: true });
    mkdirSync(dirname(dest), { recursive: true });
    cpSync(hostPath, dest, { recursive: true });
    return inside;
  }
  return { name, suite, root, path, sh, ensure, copyIn };
}

/** The sid chroot of sid.mjs in makeChroot's shape. */
export const sidChroot = {
  name: 'sid', suite: 'sid', root: SID_ROOT, path: sidPath, sh: sidSh,
  ensure: (packages, log) => ensureSid(packages, log),
  copyIn: (h, i) => { const dest = sidPath(i); rmSync(dest, { recursive: true, force: true }); mkdirSync(dirname(dest), { recursive: true }); cpSync(h, dest, { recursive: true }); return i; },
};

/**
 * apt-get download of packages of any architecture from `suite`, inside chroot `c`, with apt
 * state of its own (tag names it: /etc/apt/modbtf-foreign-<tag>/, /var/lib/apt/lists-foreign-<tag>/,
 * debs in /var/cache/modbtf-debs-foreign-<tag>/). `spec` is name:arch or name:arch=version.
 * Returns the host path of the .deb.
 */
export function foreignApt(c, suite, tag, arches = ['arm64', 's390x']) {
  const etc = `/etc/apt/modbtf-foreign-${tag}`;
  const lists = `/var/lib/apt/lists-foreign-${tag}`;
  const debs = `/var/cache/modbtf-debs-foreign-${tag}`;
  const opts = [
    `-o APT::Architecture=${arches[0]}`, ...arches.map((a) => `-o APT::Architectures::=${a}`),
    `-o Dir::Etc::SourceList=${etc}/sources.list`, `-o Dir::Etc::SourceParts=${etc}/parts.d`,
    `-o Dir::State::Lists=${lists}`, `-o Dir::State::status=${etc}/status`,
    '-o Dir::Cache::pkgcache=', '-o Dir::Cache::srcpkgcache=',
  ].join(' ');
  const apt = (args, { cwd = '/', nothrow = false } = {}) => c.sh(`apt-get ${opts} ${args}`, { cwd, nothrow, env: { DEBIAN_FRONTEND: 'noninteractive' } });
  function setup() {
    mkdirSync(c.path(`${etc}/parts.d`), { recursive: true });
    mkdirSync(c.path(`${lists}/partial`), { recursive: true });
    mkdirSync(c.path(debs), { recursive: true });
    writeFileSync(c.path(`${etc}/sources.list`), `deb ${MIRROR} ${suite} main\n`);
    if (!existsSync(c.path(`${etc}/status`))) writeFileSync(c.path(`${etc}/status`), '');
  }
  const find = (name, arch, version) => readdirSync(c.path(debs)).find((f) => f.startsWith(`${name}_`) && f.endsWith(`_${arch}.deb`)
    && (version === undefined || f === `${name}_${version.replace(/^\d+:/, '')}_${arch}.deb`));
  async function download(spec, log = console.log) {
    setup();
    const [pkgArch, version] = spec.split('=');
    const [name, arch] = pkgArch.split(':');
    let f = find(name, arch, version);
    if (f) return c.path(join(debs, f));
    log(`${suite} (${arch}): apt-get download ${spec}`);
    const get = (nothrow) => apt(`download -q -o APT::Sandbox::User=root ${shq(spec)}`, { cwd: debs, nothrow });
    if (!readdirSync(c.path(lists)).some((x) => x.endsWith('_Packages'))) await apt('update -qq');
    else if ((await get(true)).exitCode !== 0) await apt('update -qq');
    f = find(name, arch, version);
    if (!f) await get(false);
    f = find(name, arch, version);
    if (!f) throw new Error(`apt-get download ${spec} (${suite}) gave no .deb in ${c.path(debs)}`);
    return c.path(join(debs, f));
  }
  /** `tool` (apt-get or apt-cache) with this apt state; never throws (archive.mjs). */
  const run = (tool, args, cwd = '/') => { setup(); return c.sh(`${tool} ${opts} ${args}`, { cwd, nothrow: true, env: { DEBIAN_FRONTEND: 'noninteractive' } }); };
  return { download, run };
}

/** dpkg-deb -x of a host .deb into `dir` (a host path), once (stamp <dir>/.modbtf-unpacked/<deb>). */
export async function unpackOnce(deb, dir, log = console.log) {
  const name = deb.split('/').pop();
  const stamp = join(dir, '.modbtf-unpacked', name);
  if (existsSync(stamp)) return;
  log(`unpack ${name} into ${dir}`);
  mkdirSync(dirname(stamp), { recursive: true });
  await $`dpkg-deb -x ${deb} ${dir}`;
  writeFileSync(stamp, `${new Date().toISOString()}\n`);
}
