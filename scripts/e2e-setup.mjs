#!/usr/bin/env zx
// Issue 14: `modbtf setup` on Debian 12, as a user installs it: Debian's nodejs 18 and npm,
// `npm i -g --offline ./modbtf-*.tgz` (no registry), Debian's dkms 3.0.10 and kernel packages, unchanged DKMS packages.
//
//  1. `npm i -g --offline ./modbtf-*.tgz && modbtf setup --dry-run` (the installed modbtf, Debian's node);
//     setup, setup again (nothing changes), setup --remove: the system's files (/etc, /usr/src,
//     /lib/modules, /boot, /var/lib/modbtf) byte-identical to before, mode and mtime too.
//  2. After `modbtf setup`: `dkms install` of sid's v4l2loopback-dkms (its source, unchanged:
//     the package wants dkms >= 3.0.11) and `apt-get install acpi-call-dkms` (bookworm) for
//     6.12.107 give modules with .BTF.base; booted in qemu on 6.12.117 (forced load) they
//     have /sys/kernel/btf/<module>, equal to `modbtf relocate` onto 6.12.117.
//  3. Two `dkms build`s of sid's xone-dkms (9 modules) give identical .ko files.
//  4. The hook order: `apt-get install linux-headers-6.12.117+deb12-amd64` runs
//     header_postinst.d/00-modbtf (hooks the new tree) before dkms' hook builds for 6.12.117,
//     whose modules have .BTF.base; zz-modbtf then checks 6.12.107's modules against it.
//     Purging the headers leaves no trace of the tree. Then the image path: headers only
//     unpacked, the image's postinst (postinst.d/00-modbtf, then dkms) builds with .BTF.base.
//  5. `modbtf setup --remove`: /etc/kernel, /etc/default, the 6.12.107 trees as before;
//     `dpkg --verify` of both headers packages clean, no file in their trees dpkg does not own.
//
// Where: a Debian 12 chroot. $MODBTF_CACHE/bookworm-dkms is the base (debootstrap --variant=
// minbase bookworm, the packages above, Debian's 6.12.107/6.12.117 kernel packages from
// $MODBTF_CACHE/debs; update-initramfs diverted to a no-op: nothing boots from it), never
// changed by a run. Each run works in an overlay of it ($MODBTF_CACHE/e2e-setup/run-<checkout>,
// a copy where overlayfs is missing), so every run starts from the same system and nothing of
// this machine's /etc or /usr/src is touched. Nothing of the host is bind-mounted: files go in
// by copy, only a fresh /proc is mounted, and everything runs under `env -i`. The DKMS .debs
// are cached in $MODBTF_CACHE/e2e-setup/debs (sid's fetched with a separate apt list directory
// inside the run, so the base knows nothing of sid). The qemu boot reuses e2e-boot's guest
// (scripts/e2e-lib/guest.mjs) and kernels (scripts/e2e-lib/env.mjs).
//
// First run: debootstrap and apt-get, about 5 minutes; later runs 3-5 minutes. Needs root,
// network (the Debian mirror; modbtf installs without the npm registry) and `npm run build`.
// Logs: $MODBTF_CACHE/e2e-setup/log-<checkout>/. Closes with `N passed, M failed`; exit 1
// when any check failed.
import { createHash } from 'node:crypto';
import { copyFileSync, existsSync, lstatSync, mkdirSync, readdirSync, readFileSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { $ } from 'zx';
import { CHECKOUT_ID } from './e2e-lib/sid.mjs';
import { DEBS, E2E_CACHE, ensureEnvironment, kernels } from './e2e-lib/env.mjs';
import { boot, chooseAccel } from './e2e-lib/guest.mjs';

$.verbose = false;
$.quiet = true;
const repo = join(dirname(fileURLToPath(import.meta.url)), '..');
const CACHE = process.env.MODBTF_CACHE ?? '/var/cache/modbtf';
const BASE = join(CACHE, 'bookworm-dkms');
const WORK = join(CACHE, 'e2e-setup');
const DKMS_DEBS = join(WORK, 'debs');
const RUN = join(WORK, `run-${CHECKOUT_ID}`);
const ROOT = join(RUN, 'root');
const LOGS = join(WORK, `log-${CHECKOUT_ID}`);
const MIRROR = process.env.MODBTF_BOOKWORM_MIRROR ?? 'http://deb.debian.org/debian';
const SECURITY_MIRROR = process.env.MODBTF_BOOKWORM_SECURITY_MIRROR ?? 'http://deb.debian.org/debian-security';
const SID_MIRROR = process.env.MODBTF_SID_MIRROR ?? 'http://deb.debian.org/debian';
const CLEAN_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';
const K107 = kernels.old.kver;
const K117 = kernels.new.kver;

/** What the base has from the Debian 12 mirror, and the kernel packages from $MODBTF_CACHE/debs. */
const BASE_PACKAGES = ['dkms', 'dwarves', 'make', 'nodejs', 'npm', 'xz-utils', 'kmod', 'binutils'];
const BASE_DEBS = [
  `linux-image-${K107}-unsigned`, `linux-headers-${K107}`, 'linux-headers-6.12.107+deb12-common', 'linux-kbuild-6.12.107+deb12',
  `linux-image-${K117}-unsigned`, 'linux-headers-6.12.117+deb12-common', 'linux-kbuild-6.12.117+deb12',
];
/** Installed by the test itself. */
const HEADERS_117 = `linux-headers-${K117}`;
/** DKMS packages: [package, suite]. */
const DKMS_PACKAGES = [['v4l2loopback-dkms', 'sid'], ['xone-dkms', 'sid'], ['acpi-call-dkms', 'bookworm']];

const t0 = Date.now();
const log = (msg) => console.log(`[e2e-setup ${((Date.now() - t0) / 1000).toFixed(1).padStart(6)}s] ${msg}`);
let passed = 0, failed = 0;
function result(ok, what, detail = '') {
  if (ok) passed++; else failed++;
  console.log(`${ok ? 'ok  ' : 'FAIL'} ${what}${detail ? `\n       ${String(detail).replace(/\n/g, '\n       ')}` : ''}`);
  return ok;
}
const sha256 = (b) => createHash('sha256').update(b).digest('hex');

// ---- chroots -------------------------------------------------------------------------------

function mountsUnder(dir) {
  return readFileSync('/proc/self/mounts', 'utf8').split('\n').map((l) => l.split(' ')[1]).filter((m) => m && (m === dir || m.startsWith(`${dir}/`)));
}
async function mountProc(root) {
  if (!mountsUnder(join(root, 'proc')).length) {
    mkdirSync(join(root, 'proc'), { recursive: true });
    await $`mount -t proc proc ${join(root, 'proc')}`;
  }
}
/** Unmounts what is mounted at or below `dir` (deepest first): only this script's own mounts live there. */
async function unmountAll(dir) {
  for (const m of mountsUnder(dir).sort().reverse()) await $`umount ${m}`;
}

/** Runs `script` with sh -c in the chroot `root`, clean environment; stdout and stderr together, in order. */
function sh(root, script, { env = {}, timeout = '900s', logName } = {}) {
  const assigns = Object.entries({ PATH: CLEAN_PATH, HOME: '/root', LANG: 'C.UTF-8', DEBIAN_FRONTEND: 'noninteractive', ...env }).map(([k, v]) => `${k}=${v}`);
  return $({ nothrow: true, timeout })`chroot ${root} env -i ${assigns} sh -c ${`exec 2>&1; ${script}`}`.then((r) => {
    if (logName) writeFileSync(join(LOGS, `${logName}.log`), `$ ${script}\n${r.stdout}\n(exit ${r.exitCode})\n`);
    return r;
  });
}
async function must(root, script, opts) {
  const r = await sh(root, script, opts);
  if (r.exitCode !== 0) throw new Error(`chroot: ${script} failed (exit ${r.exitCode}): ${r.stdout.trim().split('\n').slice(-8).join(' | ')}`);
  return r;
}

/** A lock directory: base creation by two runs at once would make one base out of two. */
async function withLock(name, body) {
  const lock = join(CACHE, `.${name}.lock`);
  for (let i = 0; ; i++) {
    try { mkdirSync(lock); writeFileSync(join(lock, 'pid'), `${process.pid}\n`); break; } catch {
      const pid = Number(readFileSync(join(lock, 'pid'), 'utf8').trim() || 0);
      let alive = false;
      try { process.kill(pid, 0); alive = true; } catch { /* gone */ }
      if (!alive) { rmSync(lock, { recursive: true, force: true }); continue; }
      if (i === 0) log(`waiting for ${lock} (pid ${pid})`);
      await new Promise((r) => setTimeout(r, 2000));
    }
  }
  try { return await body(); } finally { rmSync(lock, { recursive: true, force: true }); }
}

const findDeb = (dir, pkg) => (existsSync(dir) ? readdirSync(dir).find((f) => f.startsWith(`${pkg}_`) && f.endsWith('.deb')) : undefined);

/** The base: bootstrapped once, then the packages (a stamp names the package set). */
async function ensureBase() {
  const key = sha256(JSON.stringify([BASE_PACKAGES, BASE_DEBS.map((p) => findDeb(DEBS, p))])).slice(0, 12);
  const done = join(BASE, `.modbtf-base-${key}`);
  if (existsSync(done)) return;
  await withLock('bookworm-dkms', async () => {
    if (existsSync(done)) return;
    if (!existsSync(join(BASE, '.modbtf-bootstrapped'))) {
      if (mountsUnder(BASE).length) throw new Error(`${BASE} has mounts (${mountsUnder(BASE).join(', ')}); not removing it`);
      if (!existsSync('/usr/sbin/debootstrap')) await $({ env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } })`apt-get install -y -qq --no-install-recommends debootstrap`;
      rmSync(BASE, { recursive: true, force: true });
      mkdirSync(BASE, { recursive: true });
      log(`debootstrap --variant=minbase bookworm ${BASE} ${MIRROR}`);
      await $`debootstrap --variant=minbase bookworm ${BASE} ${MIRROR}`;
      writeFileSync(join(BASE, '.modbtf-bootstrapped'), `${new Date().toISOString()}\n`);
    }
    writeFileSync(join(BASE, 'etc/apt/sources.list'), [`deb ${MIRROR} bookworm main`, `deb ${MIRROR} bookworm-updates main`, `deb ${SECURITY_MIRROR} bookworm-security main`, ''].join('\n'));
    writeFileSync(join(BASE, 'etc/apt/apt.conf.d/99modbtf'), 'Acquire::Check-Valid-Until "false";\nAPT::Install-Recommends "false";\n');
    try {
      await mountProc(BASE);
      // Nothing boots from this chroot: the kernel packages' initramfs would only cost time.
      if (!existsSync(join(BASE, 'usr/sbin/update-initramfs.modbtf-e2e'))) {
        await must(BASE, 'dpkg-divert --local --rename --divert /usr/sbin/update-initramfs.modbtf-e2e --add /usr/sbin/update-initramfs');
        writeFileSync(join(BASE, 'usr/sbin/update-initramfs'), '#!/bin/sh\necho "update-initramfs: not run (modbtf e2e chroot: nothing boots from it)"\n', { mode: 0o755 });
      }
      mkdirSync(join(BASE, 'root/debs'), { recursive: true });
      const local = BASE_DEBS.map((p) => { const f = findDeb(DEBS, p); if (!f) throw new Error(`${p}: no .deb in ${DEBS}`); copyFileSync(join(DEBS, f), join(BASE, 'root/debs', f)); return `/root/debs/${f}`; });
      log(`base: apt-get install ${BASE_PACKAGES.join(' ')} + ${BASE_DEBS.join(' ')}`);
      await must(BASE, 'apt-get update -qq', { logName: 'base-apt-update' });
      await must(BASE, `apt-get install -y -q -o Dpkg::Use-Pty=0 ${BASE_PACKAGES.join(' ')} ${local.join(' ')}`, { logName: 'base-apt-install', timeout: '1800s' });
      rmSync(join(BASE, 'root/debs'), { recursive: true, force: true });
      await must(BASE, 'apt-get clean');
    } finally {
      await unmountAll(join(BASE, 'proc'));
    }
    for (const f of readdirSync(BASE).filter((f) => f.startsWith('.modbtf-base-'))) rmSync(join(BASE, f));
    writeFileSync(done, `${new Date().toISOString()}\n`);
  });
}

/** This run's system: an overlay of the base (a copy where overlayfs is missing), /proc mounted. */
async function startRun() {
  if (mountsUnder(RUN).length) await unmountAll(RUN); // a run that was killed
  rmSync(RUN, { recursive: true, force: true });
  for (const d of ['upper', 'work', 'root']) mkdirSync(join(RUN, d), { recursive: true });
  const o = await $({ nothrow: true })`mount -t overlay overlay -o ${`lowerdir=${BASE},upperdir=${join(RUN, 'upper')},workdir=${join(RUN, 'work')}`} ${ROOT}`;
  if (o.exitCode !== 0) {
    log(`overlayfs not available (${o.stderr.trim()}): copying the base`);
    await $`cp -a --reflink=auto ${`${BASE}/.`} ${ROOT}`;
  }
  await mountProc(ROOT);
}
async function endRun() {
  await unmountAll(RUN);
  rmSync(RUN, { recursive: true, force: true });
}

/** The DKMS packages' .debs, cached on the host; sid's through an apt list directory of their own. */
async function ensureDkmsDebs() {
  mkdirSync(DKMS_DEBS, { recursive: true });
  const missing = DKMS_PACKAGES.filter(([p]) => !findDeb(DKMS_DEBS, p));
  if (missing.length === 0) return;
  mkdirSync(join(ROOT, 'root/dl'), { recursive: true });
  writeFileSync(join(ROOT, 'etc/apt/sid-only.list'), `deb ${SID_MIRROR} sid main\n`);
  const sid = '-o Dir::Etc::SourceList=/etc/apt/sid-only.list -o Dir::Etc::SourceParts=/nonexistent -o Dir::State::Lists=/var/lib/apt/lists-sid -o Dir::Cache::pkgcache= -o Dir::Cache::srcpkgcache=';
  if (missing.some(([, s]) => s === 'sid')) {
    mkdirSync(join(ROOT, 'var/lib/apt/lists-sid/partial'), { recursive: true });
    await must(ROOT, `apt-get ${sid} update -qq`, { logName: 'sid-update' });
  }
  for (const [p, suite] of missing) {
    log(`apt-get download ${p} (${suite})`);
    await must(ROOT, `cd /root/dl && apt-get -q -o APT::Sandbox::User=root ${suite === 'sid' ? sid : ''} download ${p}`);
  }
  for (const f of readdirSync(join(ROOT, 'root/dl'))) copyFileSync(join(ROOT, 'root/dl', f), join(DKMS_DEBS, f));
  rmSync(join(ROOT, 'root/dl'), { recursive: true });
  rmSync(join(ROOT, 'var/lib/apt/lists-sid'), { recursive: true, force: true });
  rmSync(join(ROOT, 'etc/apt/sid-only.list'), { force: true });
}

// ---- what is on the system -------------------------------------------------------------

/** Every path below `dirs` (chroot paths): type, owner, mode; files with size, mtime and sha256 (links: target). */
function snapshot(dirs) {
  const out = new Map();
  const walk = (inside) => {
    const p = join(ROOT, inside);
    let st;
    try { st = lstatSync(p); } catch { return; }
    const meta = `${st.uid}:${st.gid} ${(st.mode & 0o7777).toString(8)}`;
    if (st.isSymbolicLink()) out.set(inside, `link ${meta} -> ${readlinkSync(p)}`);
    else if (st.isDirectory()) {
      out.set(inside, `dir ${meta}`);
      for (const e of readdirSync(p).sort()) walk(`${inside}/${e}`);
    } else out.set(inside, `file ${meta} ${st.size} ${st.mtimeMs} ${sha256(readFileSync(p))}`);
  };
  for (const d of dirs) walk(d);
  return out;
}
/** Differences between two snapshots, restricted to paths under `prefixes` (all when omitted). */
function differences(a, b, prefixes) {
  const under = (p) => !prefixes || prefixes.some((x) => p === x || p.startsWith(`${x}/`));
  const diffs = [];
  for (const [p, v] of a) if (under(p) && b.get(p) !== v) diffs.push(`${p}: ${v.slice(0, 60)} -> ${b.has(p) ? b.get(p).slice(0, 60) : 'gone'}`);
  for (const [p, v] of b) if (under(p) && !a.has(p)) diffs.push(`${p}: new (${v.slice(0, 60)})`);
  return diffs;
}
const SYSTEM = ['/etc', '/usr/src', '/lib/modules', '/boot', '/var/lib/modbtf'];

/** A module file of the chroot, decompressed to a host file in LOGS. */
async function moduleCopy(inside, name) {
  const out = join(LOGS, name);
  if (inside.endsWith('.xz')) await $`xz -dc ${join(ROOT, inside)} > ${out}`;
  else copyFileSync(join(ROOT, inside), out);
  return out;
}
const MODBTF_HOST = join(repo, 'dist/bundle/main.js');
const hostModbtf = (args) => $({ nothrow: true })`${process.execPath} ${MODBTF_HOST} ${args}`;

async function hasBtfBase(file) {
  const r = await $({ nothrow: true })`readelf -S -W ${file}`;
  return /\s\.BTF\.base\s/.test(r.stdout);
}

/** The source dir, name and version of a DKMS .deb (its /usr/src/<dir>/dkms.conf). */
async function dkmsSource(deb) {
  const list = (await $`dpkg-deb -c ${deb}`).stdout;
  const dir = /\.\/usr\/src\/([^/]+)\/dkms\.conf$/m.exec(list)?.[1];
  if (!dir) throw new Error(`${deb}: no usr/src/*/dkms.conf`);
  await $`dpkg-deb -x ${deb} ${ROOT}`;
  const conf = readFileSync(join(ROOT, 'usr/src', dir, 'dkms.conf'), 'utf8');
  const v = (k) => new RegExp(`^${k}="?([^"\\n]+)"?$`, 'm').exec(conf)?.[1];
  return { dir, name: v('PACKAGE_NAME'), version: v('PACKAGE_VERSION') };
}
const dkmsModuleDir = (m, kver) => `/var/lib/dkms/${m.name}/${m.version}/${kver}/x86_64/module`;
const builtModules = (m, kver) => (existsSync(join(ROOT, dkmsModuleDir(m, kver))) ? readdirSync(join(ROOT, dkmsModuleDir(m, kver))).filter((f) => /\.ko(\.xz|\.zst|\.gz)?$/.test(f)).sort() : []);

/** Every module dkms built for `kver` has .BTF.base; the make.log shows kbuild's BTF step. */
async function checkBuilt(m, kver, how) {
  const files = builtModules(m, kver);
  const bad = [];
  for (const f of files) if (!(await hasBtfBase(await moduleCopy(`${dkmsModuleDir(m, kver)}/${f}`, `${kver}-${f.replace(/\.xz$/, '')}`)))) bad.push(f);
  const mlog = join(ROOT, `/var/lib/dkms/${m.name}/${m.version}/${kver}/x86_64/log/make.log`);
  const btfStep = existsSync(mlog) && /\bBTF \[M\] /.test(readFileSync(mlog, 'utf8'));
  return result(files.length > 0 && bad.length === 0 && btfStep, `${how}: ${m.name} ${m.version} for ${kver}: ${files.length} module(s), each with .BTF.base (${files.join(' ')})`,
    files.length === 0 ? `nothing in ${dkmsModuleDir(m, kver)}` : bad.length ? `no .BTF.base: ${bad.join(' ')}` : btfStep ? '' : `${mlog} has no "BTF [M]" line`);
}

/** Lines of `out` that tell the hook order: run-parts' script names, modbtf's and dkms' lines. */
const orderLines = (out) => out.split('\n').filter((l) => /^\/etc\/kernel\/|^modbtf: |^dkms: |^Building |Building initial module|^Setting up linux-/.test(l));
function hookedBeforeDkms(out, dir, kver) {
  const lines = out.split('\n');
  const ours = lines.findIndex((l) => l === `modbtf: hooked /usr/src/linux-headers-${kver}/Makefile`);
  const name = lines.findIndex((l) => l.startsWith(`${dir}/00-modbtf`));
  const dkms = lines.findIndex((l) => l.startsWith(`dkms: running auto installation service for kernel ${kver}`));
  return { ok: name >= 0 && ours > name && dkms > ours, ours, dkms };
}

/**
 * The .ko files of 6.12.117 that `ko` needs, in load order, decompressed into LOGS: from the
 * chroot's installed image, whose postinst ran depmod (the .deb itself has no modules.dep).
 */
async function dependencies(ko) {
  const modules = join(ROOT, 'lib/modules', K117);
  const dep = readFileSync(join(modules, 'modules.dep'), 'utf8');
  const byName = new Map(dep.split('\n').filter(Boolean).map((l) => { const [m, d = ''] = l.split(':'); return [m.split('/').pop().replace(/\.ko(\.xz)?$/, '').replace(/-/g, '_'), { path: m, deps: d.trim().split(/\s+/).filter(Boolean) }]; }));
  const want = (await $`modinfo -F depends ${ko}`).stdout.trim().split(',').filter(Boolean);
  const order = [];
  const visit = (rel) => { if (order.includes(rel)) return; const e = [...byName.values()].find((x) => x.path === rel); for (const d of e?.deps ?? []) visit(d); order.push(rel); };
  for (const n of want) { const e = byName.get(n.replace(/-/g, '_')); if (!e) throw new Error(`${ko} needs ${n}, not in 6.12.117's modules.dep`); visit(e.path); }
  const files = [];
  for (const rel of order) {
    const out = join(LOGS, rel.split('/').pop().replace(/\.xz$/, ''));
    await $`xz -dc ${join(modules, rel)} > ${out}`;
    files.push(out);
  }
  return files;
}

// ---- the test -------------------------------------------------------------------------------

try {
  if (process.getuid?.() !== 0) throw new Error('needs root (debootstrap, chroot, mount, dkms)');
  if (!existsSync(MODBTF_HOST)) throw new Error(`${MODBTF_HOST} is missing: npm run build`);
  rmSync(LOGS, { recursive: true, force: true });
  mkdirSync(LOGS, { recursive: true });
  log('host: packages, kernels (scripts/e2e-lib/env.mjs)');
  await ensureEnvironment();
  for (const p of ['linux-headers-6.12.117+deb12-common', 'linux-kbuild-6.12.117+deb12']) {
    if (!findDeb(DEBS, p)) { log(`apt-get download ${p}`); await $({ cwd: DEBS })`apt-get download -q -o APT::Sandbox::User=root ${p}`; }
  }
  log(`base chroot ${BASE}`);
  await ensureBase();
  log(`run: ${ROOT}`);
  await startRun();
  await ensureDkmsDebs();
  const debIn = (dir, pkg) => { const f = findDeb(dir, pkg); mkdirSync(join(ROOT, 'root/debs'), { recursive: true }); copyFileSync(join(dir, f), join(ROOT, 'root/debs', f)); return `/root/debs/${f}`; };
  // The check hook looks at 6.12.107's modules (a chroot's `uname -r` is the host's kernel).
  writeFileSync(join(ROOT, 'etc/default/modbtf'), `MODBTF_CHECK_FROM=${K107}\n`);
  const node = (await must(ROOT, 'dpkg-query -W -f=\'${Package} ${Version}\\n\' nodejs npm dkms dwarves && node --version')).stdout.trim().replace(/\n/g, ', ');
  log(`in the chroot: ${node}`);

  // 1. npm i -g, --dry-run, setup / again / --remove byte for byte.
  const before = snapshot(SYSTEM);
  const packed = (await $({ cwd: repo })`npm pack --ignore-scripts --silent --pack-destination ${join(ROOT, 'root')}`).stdout.trim().split('\n').pop();
  // The package needs nothing from the registry: Debian's npm installs it offline, with an
  // empty cache (outside the directories compared below).
  const npm = await sh(ROOT, 'cd /root && rm -rf npm-empty-cache && npm i -g --offline --cache /root/npm-empty-cache ./modbtf-*.tgz && rm -rf npm-empty-cache && command -v modbtf && modbtf --version && modbtf setup --dry-run', { logName: 'npm-install' });
  result(npm.exitCode === 0 && npm.stdout.includes('/usr/local/bin/modbtf\n') && /would hook \/usr\/src\/linux-headers-6\.12\.107\+deb12-amd64\/Makefile/.test(npm.stdout) && npm.stdout.includes('would install /etc/kernel/header_postinst.d/00-modbtf') && npm.stdout.includes('dry run: nothing written'),
    `npm i -g --offline ./${packed} && modbtf setup --dry-run, on Debian's node and npm`, npm.exitCode === 0 ? '' : npm.stdout.trim().split('\n').slice(-6).join('\n'));
  result(differences(before, snapshot(SYSTEM)).length === 0, 'the dry run changed nothing', differences(before, snapshot(SYSTEM)).slice(0, 8).join('\n'));

  const s1 = await sh(ROOT, 'modbtf setup', { logName: 'setup-1' });
  const afterSetup = snapshot(SYSTEM);
  const changed = differences(before, afterSetup).map((d) => d.split(':')[0]);
  const expected = [`/usr/src/linux-headers-${K107}/Makefile`, '/etc/kernel/header_postinst.d/00-modbtf', '/etc/kernel/header_postinst.d/zz-modbtf', '/etc/kernel/postinst.d/00-modbtf', '/etc/kernel/postinst.d/zz-modbtf', '/var/lib/modbtf', '/var/lib/modbtf/setup.json'];
  // Directories whose entries changed count too: /etc/kernel/*.d themselves keep their metadata in this snapshot.
  result(s1.exitCode === 0 && JSON.stringify([...changed].sort()) === JSON.stringify([...expected].sort()), 'modbtf setup changed exactly the 6.12.107 tree\'s Makefile, the four hooks and its record', `${s1.stdout.trim()}\nchanged: ${changed.join(' ')}`);
  const mk = readFileSync(join(ROOT, `usr/src/linux-headers-${K107}/Makefile`), 'utf8');
  result(mk.includes('export MODBTF ?= /usr/bin/node /usr/local/lib/node_modules/modbtf/dist/bundle/main.js\n') && mk.includes('export MAKEFILES += /usr/local/lib/node_modules/modbtf/Makefile.snippet\n')
    && readFileSync(join(ROOT, 'etc/kernel/header_postinst.d/00-modbtf'), 'utf8').includes("main='/usr/local/lib/node_modules/modbtf/dist/bundle/main.js'"),
  'the tree and the hooks run the npm-installed modbtf on Debian\'s node', mk.split('\n').slice(0, 6).join('\n'));
  const s2 = await sh(ROOT, 'modbtf setup', { logName: 'setup-2' });
  result(s2.exitCode === 0 && differences(afterSetup, snapshot(SYSTEM)).length === 0 && /nothing changed/.test(s2.stdout), 'modbtf setup again: nothing changed', s2.stdout.trim());
  const r1 = await sh(ROOT, 'modbtf setup --remove', { logName: 'remove-1' });
  const d1 = differences(before, snapshot(SYSTEM));
  result(r1.exitCode === 0 && d1.length === 0, `modbtf setup --remove: ${SYSTEM.join(', ')} byte-identical to before (${before.size} paths: contents, mode, owner, mtime)`, d1.length ? d1.slice(0, 10).join('\n') : '');

  // 2. setup, then DKMS packages for 6.12.107.
  await must(ROOT, 'modbtf setup', { logName: 'setup-3' });
  const v4l2 = await dkmsSource(join(DKMS_DEBS, findDeb(DKMS_DEBS, 'v4l2loopback-dkms')));
  const v4 = await sh(ROOT, `dkms add -m ${v4l2.name} -v ${v4l2.version} && dkms install -m ${v4l2.name} -v ${v4l2.version} -k ${K107}`, { logName: 'dkms-install-v4l2loopback' });
  result(v4.exitCode === 0, `dkms install ${v4l2.name} ${v4l2.version} (sid's v4l2loopback-dkms, unchanged) -k ${K107}`, v4.exitCode ? v4.stdout.trim().split('\n').slice(-6).join('\n') : '');
  await checkBuilt(v4l2, K107, 'dkms install');
  const acpiDeb = debIn(DKMS_DEBS, 'acpi-call-dkms');
  const ac = await sh(ROOT, `apt-get install -y -q -o Dpkg::Use-Pty=0 ${acpiDeb}`, { logName: 'apt-acpi-call' });
  const acpi = { name: 'acpi-call', version: /^acpi-call-dkms_([^-_]+)/.exec(acpiDeb.split('/').pop())?.[1] };
  result(ac.exitCode === 0, `apt-get install acpi-call-dkms ${acpi.version} (bookworm): its postinst runs dkms install`, ac.exitCode ? ac.stdout.trim().split('\n').slice(-6).join('\n') : '');
  await checkBuilt(acpi, K107, 'apt-get install (dkms)');

  // 3. Reproducible: two builds of xone.
  const xone = await dkmsSource(join(DKMS_DEBS, findDeb(DKMS_DEBS, 'xone-dkms')));
  const builds = [];
  for (const i of [1, 2]) {
    const b = await sh(ROOT, `${i === 1 ? `dkms add -m ${xone.name} -v ${xone.version} && ` : ''}dkms build --force -m ${xone.name} -v ${xone.version} -k ${K107}`, { logName: `dkms-build-xone-${i}` });
    if (b.exitCode !== 0) { result(false, `dkms build ${xone.name} #${i}`, b.stdout.trim().split('\n').slice(-6).join('\n')); break; }
    builds.push(new Map(builtModules(xone, K107).map((f) => [f, sha256(readFileSync(join(ROOT, dkmsModuleDir(xone, K107), f)))])));
  }
  if (builds.length === 2) {
    const differ = [...builds[0].keys()].filter((f) => builds[1].get(f) !== builds[0].get(f));
    result(builds[0].size >= 9 && differ.length === 0 && builds[1].size === builds[0].size, `two dkms builds of ${xone.name} ${xone.version} (sid's xone-dkms) with modbtf: ${builds[0].size - differ.length} of ${builds[0].size} modules byte-identical`, differ.join(' '));
    await checkBuilt(xone, K107, 'dkms build');
  }
  await sh(ROOT, `dkms remove -m ${xone.name} -v ${xone.version} --all`);

  // 4a. New headers: header_postinst.d/00-modbtf, then dkms, then zz-modbtf.
  const h117 = debIn(DEBS, HEADERS_117);
  const hi = await sh(ROOT, `apt-get install -y -q -o Dpkg::Use-Pty=0 ${h117}`, { logName: 'apt-headers-117' });
  const order = hookedBeforeDkms(hi.stdout, '/etc/kernel/header_postinst.d', K117);
  result(hi.exitCode === 0 && order.ok, `apt-get install ${HEADERS_117}: header_postinst.d/00-modbtf hooked the new tree (line ${order.ours}) before dkms' hook built for it (line ${order.dkms})`, orderLines(hi.stdout).join('\n'));
  await checkBuilt(v4l2, K117, 'dkms (header_postinst.d)');
  await checkBuilt(acpi, K117, 'dkms (header_postinst.d)');
  result(/modbtf: all modules in \/lib\/modules\/6\.12\.107\+deb12-amd64\/updates keep their BTF on 6\.12\.117\+deb12-amd64/.test(hi.stdout)
    && hi.stdout.indexOf('/etc/kernel/header_postinst.d/zz-modbtf') > hi.stdout.indexOf('dkms: running auto installation service'),
  'then zz-modbtf (after dkms): 6.12.107\'s DKMS modules keep their BTF on 6.12.117', orderLines(hi.stdout).filter((l) => /zz-modbtf|keep|lose|checking/.test(l)).join('\n'));

  const pu = await sh(ROOT, `apt-get purge -y -q -o Dpkg::Use-Pty=0 ${HEADERS_117}`, { logName: 'apt-purge-headers-117' });
  result(pu.exitCode === 0 && !existsSync(join(ROOT, `usr/src/linux-headers-${K117}`)) && !/not empty so not removed/.test(pu.stdout),
    `apt-get purge ${HEADERS_117}: /usr/src/linux-headers-${K117} is gone, nothing of modbtf left in it`, pu.stdout.split('\n').filter((l) => /not empty|warning/i.test(l)).join('\n'));

  // 4b. The image path: headers unpacked only, the image's postinst runs postinst.d (00-modbtf, dkms, ...).
  await must(ROOT, `for m in ${v4l2.name}/${v4l2.version} ${acpi.name}/${acpi.version}; do dkms remove -m "\${m%/*}" -v "\${m#*/}" -k ${K117}; done`, { logName: 'dkms-remove-117' });
  await must(ROOT, `dpkg --unpack ${h117}`, { logName: 'dpkg-unpack-headers-117' });
  const ip = await sh(ROOT, `dpkg-reconfigure linux-image-${K117}-unsigned`, { logName: 'image-postinst-117' });
  const order2 = hookedBeforeDkms(ip.stdout, '/etc/kernel/postinst.d', K117);
  result(ip.exitCode === 0 && order2.ok, `headers unpacked, then the image's postinst: postinst.d/00-modbtf hooked the tree (line ${order2.ours}) before dkms built (line ${order2.dkms})`, orderLines(ip.stdout).join('\n'));
  await checkBuilt(v4l2, K117, 'dkms (postinst.d)');
  const cf = await sh(ROOT, 'dpkg --configure -a', { logName: 'dpkg-configure' });
  result(cf.exitCode === 0 && cf.stdout.includes(`modbtf: /usr/src/linux-headers-${K117}/Makefile: hooked already`), 'dpkg --configure -a: the headers\' postinst finds the tree hooked already', orderLines(cf.stdout).join('\n'));

  // 2b. The 6.12.107 modules boot on 6.12.117 with BTF.
  const v4ko = await moduleCopy(`${dkmsModuleDir(v4l2, K107)}/${builtModules(v4l2, K107).find((f) => f.startsWith('v4l2loopback.ko'))}`, 'v4l2loopback.ko');
  const acko = await moduleCopy(`${dkmsModuleDir(acpi, K107)}/${builtModules(acpi, K107).find((f) => f.startsWith('acpi_call.ko'))}`, 'acpi_call.ko');
  const deps = await dependencies(v4ko);
  const runDir = join(E2E_CACHE, `run-setup-${CHECKOUT_ID}`);
  mkdirSync(runDir, { recursive: true });
  const { accel, why } = await chooseAccel(kernels.old, runDir);
  log(`boot ${K117} (${accel}: ${why}) with ${[...deps, v4ko, acko].map((f) => f.split('/').pop()).join(' ')}`);
  const steps = [...deps.map((f) => `load ${f.split('/').pop()}`), 'load v4l2loopback.ko force', 'load acpi_call.ko force', 'btf v4l2loopback', 'btf acpi_call'];
  const g = await boot({ name: 'setup-117', kernel: kernels.new, steps, files: [...deps, v4ko, acko], accel, outDir: runDir, timeoutSec: accel === 'kvm' ? 60 : 240 });
  result(g.ended && g.kernelRelease === K117, `guest booted ${g.kernelRelease ?? '(no result)'} and ran every step`, g.qemuStderr);
  const klog = g.dmesg.slice(g.dmesg.findIndex((l) => l.includes('modbtf-e2e: steps begin')) + 1);
  const vmlinuxBtf = join(E2E_CACHE, 'vmlinux-6.12.117.btf');
  if (!existsSync(vmlinuxBtf)) await $`objcopy -O binary --only-section=.BTF ${kernels.new.vmlinux} ${vmlinuxBtf}`;
  for (const [mod, ko] of [['v4l2loopback', v4ko], ['acpi_call', acko]]) {
    const loaded = g.lines.some((l) => l.startsWith(`LOAD /e2e/${mod}.ko OK`));
    const present = g.lines.some((l) => l.startsWith(`BTF ${mod} present`));
    result(loaded && present, `${mod} (dkms, 6.12.107) on 6.12.117: loaded (forced), /sys/kernel/btf/${mod} present`, g.lines.filter((l) => l.includes(mod)).join('\n'));
    const rel = join(g.dir, `${mod}.modbtf-relocate.btf`);
    const r = await hostModbtf(['relocate', '-k', vmlinuxBtf, '-o', rel, ko]);
    const guestBtf = join(g.dir, `${mod}.btf`);
    result(present && r.exitCode === 0 && existsSync(guestBtf) && readFileSync(rel).equals(readFileSync(guestBtf)), `the guest's ${mod} BTF == modbtf relocate of the module onto 6.12.117`, r.stderr.trim());
  }
  const bad = klog.filter((l) => /Invalid name_offset|BTF mismatch|missing module BTF|is not mapped to base BTF id/.test(l));
  result(bad.length === 0, 'kernel log: no BTF mismatch, no relocation failure', bad.join('\n'));

  // 5. --remove: the system's files as before.
  const r2 = await sh(ROOT, 'modbtf setup --remove', { logName: 'remove-2' });
  const after = snapshot(SYSTEM);
  const kept = ['/etc/kernel', '/etc/default', `/usr/src/linux-headers-${K107}`, '/usr/src/linux-headers-6.12.107+deb12-common', '/usr/src/linux-headers-6.12.117+deb12-common', '/var/lib/modbtf'];
  const d2 = differences(before, after, kept);
  result(r2.exitCode === 0 && d2.length === 0, `modbtf setup --remove after it all: ${kept.join(', ')} byte-identical to before setup`, `${r2.stdout.trim()}\n${d2.slice(0, 10).join('\n')}`);
  const verify = await sh(ROOT, `dpkg --verify linux-headers-${K107} ${HEADERS_117}`);
  const owned = new Set((await must(ROOT, `dpkg -L ${HEADERS_117}`)).stdout.split('\n'));
  const foreign = [...after.keys()].filter((p) => p.startsWith(`/usr/src/linux-headers-${K117}/`) && !owned.has(p));
  result(verify.exitCode === 0 && verify.stdout.trim() === '' && foreign.length === 0, `dpkg --verify linux-headers-${K107} ${HEADERS_117}: every file as the packages shipped it; no other file in the ${K117} tree`, `${verify.stdout.trim()}\n${foreign.slice(0, 5).join('\n')}`);
  const hooksLeft = readdirSync(join(ROOT, 'etc/kernel'), { recursive: true }).filter((f) => String(f).includes('modbtf'));
  result(hooksLeft.length === 0 && !existsSync(join(ROOT, 'var/lib/modbtf')), 'no modbtf hook and no /var/lib/modbtf left', hooksLeft.join(' '));
} catch (err) {
  result(false, 'e2e-setup ran to the end', err instanceof Error ? err.stack ?? err.message : String(err));
} finally {
  await endRun().catch((e) => result(false, `cleaning up ${RUN}`, e.message));
}
console.log(`logs: ${LOGS}`);
console.log(`total ${((Date.now() - t0) / 1000).toFixed(0)} s`);
console.log(`${passed} passed, ${failed} failed`);
process.exitCode = failed > 0 ? 1 : 0;
