#!/usr/bin/env zx
// `modbtf setup` on a 7.x kernel (issue 17), in a Debian sid system: Debian's dkms builds
// unchanged DKMS packages for the kernel's headers, once before `modbtf setup` (the control:
// the tree's own BTF step) and once after it, in the same dkms build directory; every .ko of
// the second build must be byte-identical to the first, modbtf must have run for every module
// (its node processes are recorded: scripts/e2e-lib/trace-node.cjs) and said no warning. Then
// `modbtf setup --remove` must leave the tree as Debian shipped it. (scripts/e2e-setup.mjs checks
// the rest of setup — npm i -g, hook order on kernel installs, --remove of every file, a boot —
// on Debian 12.)
//
//   npx zx scripts/e2e-setup7.mjs [--kernel 7.3-rc7] [--packages mimic-dkms,...]
//
//   --kernel    a 7.x kernel of scripts/e2e-lib/kernels.mjs (default 7.3-rc7)
//   --packages  sid DKMS packages built besides the e2e fixture (default mimic-dkms: a kfunc set)
//
// Where: an overlay of the sid chroot (scripts/e2e-lib/sid.mjs; lower layer, never written:
// its tree of that kernel installed from the pinned .debs, modbtf copied to /opt/modbtf-<id>)
// at $MODBTF_CACHE/e2e-setup7/run-<checkout>, /proc mounted, removed at the end. Inside it,
// sid's dkms is installed with apt (its .debs kept in $MODBTF_CACHE/e2e-setup7/debs between
// runs), the fixture gets a dkms.conf of its own (/usr/src/modbtf-e2e-1.0), the packages' sources
// are unpacked from their .debs (dpkg-deb -x, then `dkms add`). modbtf runs on the host's node
// binary (/usr/local/bin/node in the chroot), as `modbtf setup` records it.
// Needs root and `npm run build`. Logs: $MODBTF_CACHE/e2e-setup7/log-<checkout>/. Closes with
// `N passed, M failed`; exit 1 when any check failed.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { copyFileSync, existsSync, mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { $, argv } from 'zx';
import { ensureTree7, kernelOf } from './e2e-lib/kernels.mjs';
import { CHECKOUT_ID, MODBTF_IN_SID, SID_ROOT, SID_TOOLS, copyModbtfIn, ensureSid, sidDownload } from './e2e-lib/sid.mjs';

$.verbose = false;
$.quiet = true;
const REPO = new URL('..', import.meta.url).pathname.replace(/\/$/, '');
const K = kernelOf(argv.kernel ? String(argv.kernel) : '7.3-rc7');
const PACKAGES = argv.packages !== undefined ? String(argv.packages).split(',').filter(Boolean) : ['mimic-dkms'];
const CACHE = process.env.MODBTF_CACHE ?? '/var/cache/modbtf';
const WORK = join(CACHE, 'e2e-setup7');
const DEBS = join(WORK, 'debs');
const RUN = join(WORK, `run-${CHECKOUT_ID}`);
const ROOT = join(RUN, 'root');
const LOGS = join(WORK, `log-${CHECKOUT_ID}`);
const CLEAN_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';
const MODBTF = `/usr/local/bin/node ${MODBTF_IN_SID}/dist/bundle/main.js`;
const TRACE_JS = '/root/trace-node.cjs';
const KVER = K.kver();
/** dkms's name of the machine (uname -m), in its tree's paths. */
const ARCH = 'x86_64';
const FIXTURE = { name: 'modbtf-e2e', version: '1.0' };

const t0 = Date.now();
const log = (m) => console.log(`[e2e-setup7 ${((Date.now() - t0) / 1000).toFixed(1).padStart(6)}s] ${m}`);
const sha256 = (b) => createHash('sha256').update(b).digest('hex');
let passed = 0, failed = 0;
function result(ok, what, detail = '') {
  if (ok) passed++; else failed++;
  console.log(`${ok ? 'ok  ' : 'FAIL'} ${what}${detail ? `\n       ${String(detail).replace(/\n/g, '\n       ')}` : ''}`);
  return ok;
}

const mountsUnder = (dir) => readFileSync('/proc/self/mounts', 'utf8').split('\n').map((l) => l.split(' ')[1]).filter((m) => m && (m === dir || m.startsWith(`${dir}/`)));
async function unmountAll(dir) { for (const m of mountsUnder(dir).sort().reverse()) await $`umount ${m}`; }

/** `script` in the overlay with a clean environment; stdout and stderr together; its log kept in LOGS. */
async function sh(script, { env = {}, logName } = {}) {
  const assigns = Object.entries({ PATH: CLEAN_PATH, HOME: '/root', LANG: 'C.UTF-8', DEBIAN_FRONTEND: 'noninteractive', ...env }).map(([k, v]) => `${k}=${v}`);
  const r = await $({ nothrow: true, timeout: '900s' })`chroot ${ROOT} env -i ${assigns} sh -c ${`exec 2>&1; ${script}`}`;
  if (logName) writeFileSync(join(LOGS, `${logName}.log`), `$ ${script}\n${r.stdout}\n(exit ${r.exitCode})\n`);
  return r;
}
async function must(script, opts) {
  const r = await sh(script, opts);
  if (r.exitCode !== 0) throw new Error(`${script} failed (exit ${r.exitCode}): ${r.stdout.trim().split('\n').slice(-8).join(' | ')}`);
  return r;
}

/** The overlay of the sid chroot (a copy where overlayfs is missing), /proc mounted. */
async function startRun() {
  if (mountsUnder(RUN).length) await unmountAll(RUN); // a run that was killed
  rmSync(RUN, { recursive: true, force: true });
  for (const d of ['upper', 'work', 'root']) mkdirSync(join(RUN, d), { recursive: true });
  // The lower layer's own /proc mount is not part of it; only its files are.
  const o = await $({ nothrow: true })`mount -t overlay overlay -o ${`lowerdir=${SID_ROOT},upperdir=${join(RUN, 'upper')},workdir=${join(RUN, 'work')}`} ${ROOT}`;
  if (o.exitCode !== 0) {
    log(`overlayfs not available (${o.stderr.trim()}): copying the sid chroot`);
    await $`cp -a --reflink=auto --one-file-system ${`${SID_ROOT}/.`} ${ROOT}`;
  }
  await $`mount -t proc proc ${join(ROOT, 'proc')}`;
}

/** sid's dkms in the overlay, its .debs from (and back into) DEBS. */
async function installDkms() {
  mkdirSync(DEBS, { recursive: true });
  const archives = join(ROOT, 'var/cache/apt/archives');
  mkdirSync(archives, { recursive: true });
  for (const f of readdirSync(DEBS)) copyFileSync(join(DEBS, f), join(archives, f));
  let r = await sh('apt-get install -y -q -o Dpkg::Use-Pty=0 dkms', { logName: 'apt-dkms' });
  if (r.exitCode !== 0) {
    await must('apt-get update -qq', { logName: 'apt-update' });
    r = await must('apt-get install -y -q -o Dpkg::Use-Pty=0 dkms', { logName: 'apt-dkms' });
  }
  for (const f of readdirSync(archives).filter((x) => x.endsWith('.deb'))) if (!existsSync(join(DEBS, f))) copyFileSync(join(archives, f), join(DEBS, f));
  return (await must("dpkg-query -W -f='${Version}' dkms")).stdout.trim();
}

/** The fixture as a DKMS package of its own (/usr/src/modbtf-e2e-1.0 with a dkms.conf). */
function addFixtureSource() {
  const dir = join(ROOT, 'usr/src', `${FIXTURE.name}-${FIXTURE.version}`);
  mkdirSync(dir, { recursive: true });
  for (const f of readdirSync(join(REPO, 'test/e2e/fixture'))) copyFileSync(join(REPO, 'test/e2e/fixture', f), join(dir, f));
  writeFileSync(join(dir, 'dkms.conf'), [
    `PACKAGE_NAME="${FIXTURE.name}"`, `PACKAGE_VERSION="${FIXTURE.version}"`,
    'BUILT_MODULE_NAME[0]="modbtf_e2e"', 'DEST_MODULE_LOCATION[0]="/updates/dkms"', 'AUTOINSTALL="no"', '',
  ].join('\n'));
  return { ...FIXTURE, deb: 'test/e2e/fixture' };
}

/** A sid DKMS package's source unpacked into the overlay's /usr/src (no maintainer script runs). */
async function addDebSource(deb) {
  const file = await sidDownload(deb);
  const list = (await $`dpkg-deb -c ${file}`).stdout;
  const dir = /\.\/usr\/src\/([^/]+)\/dkms\.conf$/m.exec(list)?.[1];
  if (!dir) throw new Error(`${deb}: no usr/src/*/dkms.conf`);
  await $`dpkg-deb -x ${file} ${ROOT}`;
  const conf = readFileSync(join(ROOT, 'usr/src', dir, 'dkms.conf'), 'utf8');
  const v = (k) => new RegExp(`^${k}="?([^"\\n]+)"?$`, 'm').exec(conf)?.[1];
  return { name: v('PACKAGE_NAME'), version: v('PACKAGE_VERSION'), deb: `${deb} ${(await $`dpkg-deb -f ${file} Version`).stdout.trim()}` };
}

/**
 * The modules dkms keeps after a build ($dkms_tree/<name>/<version>/<kver>/<arch>/module/: built,
 * signed with dkms's MOK key, compressed as the kernel's config says), decompressed:
 * file name -> sha256 (the bytes kept in LOGS/<tag>/<name>/). dkms cleans its build directory.
 */
function builtModules(m, tag) {
  const dir = join(ROOT, 'var/lib/dkms', m.name, m.version, KVER, ARCH, 'module');
  const out = new Map();
  if (!existsSync(dir)) return out;
  for (const f of readdirSync(dir).filter((x) => /\.ko(\.xz|\.zst|\.gz)?$/.test(x)).sort()) {
    const src = join(dir, f);
    const tool = { xz: 'xz', zst: 'zstd', gz: 'gzip' }[/\.(xz|zst|gz)$/.exec(f)?.[1]];
    const bytes = tool ? execFileSync(tool, ['-dc', src], { maxBuffer: 1 << 30 }) : readFileSync(src);
    const name = f.replace(/\.(xz|zst|gz)$/, '');
    out.set(name, sha256(bytes));
    mkdirSync(join(LOGS, tag, m.name), { recursive: true });
    writeFileSync(join(LOGS, tag, m.name, name), bytes);
  }
  return out;
}

/** `dkms build` of one package for KVER, node processes traced; { ok, out, mods, trace, makeLog }. */
async function dkmsBuild(m, tag) {
  const trace = `/root/trace-${tag}-${m.name}`;
  rmSync(join(ROOT, trace), { force: true });
  const r = await sh(`dkms build --force -m ${m.name} -v ${m.version} -k ${KVER}`, { env: { NODE_OPTIONS: `--require=${TRACE_JS}`, MODBTF_E2E_TRACE: trace }, logName: `dkms-build-${tag}-${m.name}` });
  const makeLog = join(ROOT, 'var/lib/dkms', m.name, m.version, KVER, ARCH, 'log/make.log');
  const traced = existsSync(join(ROOT, trace)) ? readFileSync(join(ROOT, trace), 'utf8').trimEnd().split('\n').filter(Boolean).map((l) => JSON.parse(l)) : [];
  return { ok: r.exitCode === 0, out: r.stdout, mods: builtModules(m, tag), trace: traced, makeLog: existsSync(makeLog) ? readFileSync(makeLog, 'utf8') : '' };
}

/** The modules modbtf finished, by the traced node processes (`kbuild finalize-batch X.ko...`, `kbuild modfinal X.ko`). */
function modbtfRan(trace) {
  const ran = new Set();
  for (const { argv: a } of trace) {
    if (a[0] === 'kbuild' && a[1] === 'finalize-batch') for (const x of a.slice(2).filter((y) => y.endsWith('.ko'))) ran.add(x.split('/').pop());
    if (a[0] === 'kbuild' && a[1] === 'modfinal') ran.add(a.at(-1).split('/').pop());
  }
  return ran;
}

try {
  if (process.getuid?.() !== 0) throw new Error('needs root (chroot, mount)');
  if (!existsSync(join(REPO, 'dist/bundle/main.js'))) throw new Error('dist/bundle/main.js missing: npm run build');
  rmSync(LOGS, { recursive: true, force: true });
  mkdirSync(LOGS, { recursive: true });
  log(`sid chroot: tools, the ${K.short} tree (${K.kdir()}), modbtf`);
  await ensureSid(SID_TOOLS, log);
  await ensureTree7(K, log);
  copyModbtfIn(REPO);
  const sources = [];
  for (const deb of PACKAGES) await sidDownload(deb); // into the lower layer's cache, before the overlay
  log(`overlay of ${SID_ROOT}: ${ROOT}`);
  await startRun();
  const dkmsVersion = await installDkms();
  copyFileSync(join(REPO, 'scripts/e2e-lib/trace-node.cjs'), join(ROOT, TRACE_JS));
  sources.push(addFixtureSource());
  for (const deb of PACKAGES) sources.push(await addDebSource(deb));
  const treeMakefile = join(ROOT, K.kdir(), 'Makefile');
  const makefileBefore = readFileSync(treeMakefile);
  log(`dkms ${dkmsVersion}; ${K.kdir()}; packages: ${sources.map((m) => `${m.name} ${m.version} (${m.deb})`).join(', ')}`);

  // 1. The controls: dkms before modbtf setup (the tree's own BTF step).
  const controls = new Map();
  for (const m of sources) {
    const add = await sh(`dkms add -m ${m.name} -v ${m.version}`, { logName: `dkms-add-${m.name}` });
    if (!result(add.exitCode === 0, `dkms add ${m.name} ${m.version}`, add.exitCode ? add.stdout.trim().split('\n').slice(-4).join('\n') : '')) continue;
    const b = await dkmsBuild(m, 'plain');
    const ok = b.ok && b.mods.size > 0 && b.trace.length === 0;
    result(ok, `control: dkms build ${m.name} for ${KVER} before modbtf setup: ${b.mods.size} module(s) (${[...b.mods.keys()].join(' ')}), no node process ran`, ok ? '' : `${b.out.trim().split('\n').slice(-6).join('\n')}${b.trace.length ? `\nnode ran: ${b.trace[0].argv.join(' ')}` : ''}`);
    if (!ok) continue;
    // The same build again: dkms's output (signed with its MOK key) is reproducible, so a
    // difference after setup is modbtf's.
    const again = await dkmsBuild(m, 'plain-again');
    const same = again.ok && [...b.mods].every(([k, v]) => again.mods.get(k) === v) && again.mods.size === b.mods.size;
    if (result(same, `control: a second dkms build of ${m.name} gives the same bytes`, same ? '' : `${again.out.trim().split('\n').slice(-4).join('\n')}`)) controls.set(m, b);
  }

  // 2. modbtf setup: the tree is hooked.
  const s = await sh(`${MODBTF} setup`, { logName: 'setup' });
  const hooked = readFileSync(treeMakefile, 'utf8');
  result(s.exitCode === 0 && hooked.includes('>>> modbtf setup') && hooked.includes(`${MODBTF_IN_SID}/Makefile.snippet`),
    `modbtf setup: ${K.kdir()}/Makefile hooked (MAKEFILES += ${MODBTF_IN_SID}/Makefile.snippet)`, s.stdout.trim().split('\n').slice(0, 12).join('\n'));

  // 3. The same dkms builds after setup: byte-identical, modbtf ran for every module, no warning.
  for (const [m, plain] of controls) {
    const b = await dkmsBuild(m, 'setup');
    if (!result(b.ok && b.mods.size === plain.mods.size, `dkms build ${m.name} for ${KVER} after modbtf setup: ${b.mods.size} module(s)`, b.ok ? '' : b.out.trim().split('\n').slice(-6).join('\n'))) continue;
    const differ = [...plain.mods].filter(([k, v]) => b.mods.get(k) !== v).map(([k]) => k);
    result(differ.length === 0, `${m.name}: ${plain.mods.size - differ.length} of ${plain.mods.size} .ko (as dkms keeps them: signed, decompressed) byte-identical to the control's (same dkms build directory, plain ${K.short} kbuild)`,
      differ.length ? `differ: ${differ.join(' ')} (bytes in ${join(LOGS, 'plain', m.name)} and ${join(LOGS, 'setup', m.name)})` : '');
    const ran = modbtfRan(b.trace);
    const names = [...plain.mods.keys()].map((k) => k.split('/').pop());
    const notRun = names.filter((n) => !ran.has(n));
    result(notRun.length === 0, `${m.name}: modbtf's kbuild step ran for every module (${names.length - notRun.length}/${names.length}; traced node processes)`, notRun.join(' '));
    const said = b.makeLog.split('\n').filter((l) => /^modbtf: (warning|error)/.test(l));
    const expectWarning = K.unknownToModbtf;
    result(expectWarning ? said.length > 0 : said.length === 0, `${m.name}: ${expectWarning ? 'one warning naming the tree\'s version' : 'no "modbtf: warning/error" line'} in dkms's make.log`, said.slice(0, 3).join('\n'));
  }

  // 4. setup --remove: the tree's Makefile as before, every file of its packages as Debian shipped it.
  const r = await sh(`${MODBTF} setup --remove`, { logName: 'setup-remove' });
  const after = readFileSync(treeMakefile);
  const v = await sh(`dpkg -V ${K.tree().map((p) => p.name).join(' ')}`, { logName: 'dpkg-verify' });
  result(r.exitCode === 0 && after.equals(makefileBefore) && v.exitCode === 0 && v.stdout.trim() === '', `modbtf setup --remove: ${K.kdir()}/Makefile byte-identical to before; dpkg -V of the tree's packages clean`,
    `${r.stdout.trim().split('\n').slice(0, 4).join('\n')}\n${v.stdout.trim()}`);
} catch (err) {
  result(false, 'e2e-setup7 ran to the end', err instanceof Error ? err.stack ?? err.message : String(err));
} finally {
  await unmountAll(RUN).catch((e) => result(false, `unmounting ${RUN}`, e.message));
  if (!mountsUnder(RUN).length) rmSync(RUN, { recursive: true, force: true });
}
console.log(`logs: ${LOGS}`);
console.log(`total ${((Date.now() - t0) / 1000).toFixed(0)} s`);
console.log(`${passed} passed, ${failed} failed`);
process.exitCode = failed > 0 ? 1 : 0;
