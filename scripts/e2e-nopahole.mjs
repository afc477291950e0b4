#!/usr/bin/env zx
// Module builds with no pahole at all (issue 18): modbtf's own encoder in kbuild gives the
// bytes plain kbuild gives with pahole 1.32?
//
//   npx zx scripts/e2e-nopahole.mjs [--packages DEB,DEB] [--kernels 7.2.13,7.3-rc7] [--arches arm64,s390x] [--keep]
//
//   --packages  Debian DKMS packages built on the amd64 kernels, NAME or NAME=VERSION (a pin)
//               (default xtables-addons-dkms=3.31-1,xone-dkms=0.5.8-1; "none" for the fixture only)
//   --kernels   amd64 trees (default both: sid's 7.2.13 and experimental's 7.3-rc7)
//   --arches    the fixture cross-built against sid's 7.2.13 headers of these architectures
//               (default arm64,s390x,ppc64el,riscv64; "none" for none)
//   --keep      leave the overlay mounted and the work directory in place (debugging)
//
// Two chroots, one directory layout. The reference: the shared sid chroot (scripts/e2e-lib/sid.mjs)
// as it is, pahole 1.32 installed, plain kbuild (7.2/7.3: gen-btf.sh, pahole, resolve_btfids
// --distill_base). The subject: an overlayfs mount over that chroot (upper and work directories
// under $MODBTF_CACHE/overlay-nopahole-<checkout>/; the shared chroot itself is never changed, other
// runs use its pahole at the same time) in which `dpkg -r --force-depends dwarves pahole` removed pahole (sid splits the
// package: /usr/bin/pahole is in `pahole`),
// and the same make command with MAKEFILES=Makefile.snippet (form b): the snippet finds
// `$(PAHOLE) --version` cannot run and encodes every module with modbtf's encoder in its batch.
// Both builds run in the same directory (a fresh copy of the source each time; debug info records
// the path), the reference first, so every .ko must be byte-identical. A control in the overlay
// shows pahole is gone: plain kbuild of the fixture there fails (or gives a module without .BTF).
//
// Sources: test/e2e/fixture (kfuncs, a kfunc set in .BTF_ids) built with `make -C <kdir> M=<dir>`
// (cross: ARCH= CROSS_COMPILE= as scripts/e2e-cross.mjs), and sid's DKMS packages built the way
// sid's dkms builds them (scripts/e2e-lib/dkms-build.sh, as scripts/e2e-kbuild7.mjs). A package
// the archive no longer has is SKIPPED, as is a tree that cannot be installed.
//
// Needs root, a built dist/ (npm run build). Ends with `N passed, M failed[, K skipped]`; exit 1
// on any failure. The overlay is unmounted and removed at the end (also after a failure).
import { existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { $, argv } from 'zx';
import { CACHE, CHECKOUT_ID, KDIR7, KVER7, MODBTF_IN_SID, SID_ROOT, copyIn, copyModbtfIn, ensureProc, ensureSid, shq, sidDownload, sidPath, sidSh } from './e2e-lib/sid.mjs';
import { KDIR73, KVER73, ensureKernel73Tree } from './e2e-lib/kernel7.mjs';
import { ARCHES, crossMake, ensureCrossSid, k72 } from './e2e-lib/cross.mjs';
import { foreignApt, sidChroot, unpackOnce } from './e2e-lib/chroot.mjs';

$.verbose = false;
$.quiet = true;
const REPO = new URL('..', import.meta.url).pathname.replace(/\/$/, '');
const list = (v, dflt) => (v === undefined ? dflt : String(v) === 'none' ? [] : String(v).split(',').filter(Boolean));
const PACKAGES = list(argv.packages, ['xtables-addons-dkms=3.31-1', 'xone-dkms=0.5.8-1']);
const KERNEL_NAMES = list(argv.kernels, ['7.2.13', '7.3-rc7']);
const ARCH_LIST = list(argv.arches, ['arm64', 's390x', 'ppc64el', 'riscv64']);
const KEEP = Boolean(argv.keep);

if (!existsSync(join(REPO, 'dist/bundle/main.js'))) { console.error('dist/bundle/main.js missing: run npm run build first'); process.exit(2); }
const t0 = Date.now();
const log = (msg) => console.log(`[e2e-nopahole ${((Date.now() - t0) / 1000).toFixed(1).padStart(6)}s] ${msg}`);

/** Inside both chroots. */
const W = `/build/nopahole-${CHECKOUT_ID}`;
const SRC = `${W}/src`;
const FIXTURE_DIR = `${W}/b/modbtf_e2e`; // the fixture's build directory, the same for every build
const DKMS_TREE = `${W}/dkms`;
const OUT = `${W}/out`;
const DRIVER = `${W}/dkms-build.sh`;
const TRACE_JS = `${W}/trace-node.cjs`;
const SNIPPET = `${MODBTF_IN_SID}/Makefile.snippet`;
const JOBS = 2;

/** The overlay: lower = the shared sid chroot; the subject's builds run in MERGED. */
const OVERLAY = join(CACHE, `overlay-nopahole-${CHECKOUT_ID}`);
const MERGED = join(OVERLAY, 'merged');
/** What dpkg -r takes out of the overlay: pahole's packages (sid: pahole holds the binary, dwarves the other tools). */
const PAHOLE_DEBS = ['dwarves', 'pahole'];
const CLEAN_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

/** sidSh's clean-environment shell, in the overlay chroot. */
function overlaySh(script, { cwd = '/', env = {}, nothrow = false } = {}) {
  const vars = { PATH: CLEAN_PATH, HOME: '/root', LANG: 'C.UTF-8', ...env };
  return $({ nothrow, quiet: true })`chroot ${MERGED} env -i ${Object.entries(vars).map(([k, v]) => `${k}=${v}`)} sh -c ${`cd ${shq(cwd)} && ${script}`}`;
}
const SIDES = {
  ref: { sh: sidSh, path: sidPath, label: 'reference: plain kbuild, pahole 1.32 (shared sid chroot)' },
  nopahole: { sh: overlaySh, path: (p) => join(MERGED, p), label: 'no pahole (overlay, dwarves removed), MAKEFILES=Makefile.snippet' },
};

const isMounted = async (dir) => (await $({ nothrow: true })`mountpoint -q ${dir}`).exitCode === 0;
async function unmountOverlay() {
  if (await isMounted(join(MERGED, 'proc'))) await $`umount ${join(MERGED, 'proc')}`;
  if (await isMounted(MERGED)) await $`umount ${MERGED}`;
  rmSync(OVERLAY, { recursive: true, force: true });
}
async function mountOverlay() {
  await unmountOverlay(); // a run that was killed may have left it
  for (const d of ['upper', 'work', 'merged']) mkdirSync(join(OVERLAY, d), { recursive: true });
  await $`mount -t overlay overlay -o ${`lowerdir=${SID_ROOT},upperdir=${join(OVERLAY, 'upper')},workdir=${join(OVERLAY, 'work')}`} ${MERGED}`;
  await $`mount -t proc proc ${join(MERGED, 'proc')}`;
  // sid splits dwarves: /usr/bin/pahole is in the package pahole, which dwarves depends on.
  const installed = (await overlaySh(`dpkg-query -W -f='\${Package} \${Status}\\n' ${PAHOLE_DEBS.join(' ')} 2>/dev/null || true`)).stdout
    .split('\n').filter((l) => l.endsWith(' install ok installed')).map((l) => l.split(' ')[0]);
  const r = await overlaySh(`dpkg -r --force-depends ${installed.join(' ')} 2>&1`, { env: { DEBIAN_FRONTEND: 'noninteractive' }, nothrow: true });
  if (r.exitCode !== 0) throw new Error(`dpkg -r --force-depends ${installed.join(' ')} in the overlay: exit ${r.exitCode}: ${r.stdout.trim()}`);
  const left = await overlaySh('command -v pahole || ls /usr/bin/pahole', { nothrow: true });
  if (left.exitCode === 0) throw new Error(`pahole is still there in the overlay: ${left.stdout.trim()}`);
  const still = await sidSh('pahole --version');
  log(`overlay ${MERGED}: dpkg -r --force-depends ${installed.join(' ')} (pahole gone there; the shared chroot keeps pahole ${still.stdout.trim()})`);
}

// ---- what is built ------------------------------------------------------------------------
/** amd64 trees: kernel_source_dir as dkms has it (the headers package's link). */
const KERNELS = {
  '7.2.13': { kver: KVER7, kdir: KDIR7, ksd: `/lib/modules/${KVER7}/build`, make: '', ensure: async () => {} },
  '7.3-rc7': { kver: KVER73, kdir: KDIR73, ksd: `/lib/modules/${KVER73}/build`, make: '', ensure: () => ensureKernel73Tree(log) },
};
for (const k of KERNEL_NAMES) if (!KERNELS[k]) throw new Error(`--kernels: no kernel ${k} (${Object.keys(KERNELS).join(', ')})`);
/**
 * Debian architectures the other cross checks do not cover (scripts/e2e-lib/cross.mjs has arm64 and
 * s390x): their 7.2.13 headers package is fetched with apt state of its own (chroot.mjs foreignApt:
 * no dpkg --add-architecture in the shared chroot) and unpacked next to the others with dpkg-deb -x,
 * as cross.mjs does; compilers and binutils from sid (gcc-16-<triple>, binutils-<triple>).
 */
const MORE_ARCHES = {
  ppc64el: { kbuildArch: 'powerpc', triple: 'powerpc64le-linux-gnu', flavour: 'powerpc64le' },
  riscv64: { kbuildArch: 'riscv', triple: 'riscv64-linux-gnu', flavour: 'riscv64' },
};
for (const a of ARCH_LIST) if (!ARCHES[a] && !MORE_ARCHES[a]) throw new Error(`--arches: no architecture ${a} (${[...Object.keys(ARCHES), ...Object.keys(MORE_ARCHES)].join(', ')})`);

async function ensureMoreArch(a) {
  const m = MORE_ARCHES[a];
  const kver = `7.2.13+deb14-${m.flavour}`;
  const kdir = `/usr/src/linux-headers-${kver}`;
  await ensureSid([...new Set([`gcc-16-${m.triple}`, `binutils-${m.triple}`])], log);
  const deb = await foreignApt(sidChroot, 'sid', 'sid-more', Object.keys(MORE_ARCHES)).download(`linux-headers-${kver}:${a}`, log);
  await unpackOnce(deb, SID_ROOT, log);
  if (!existsSync(sidPath(`${kdir}/vmlinux`))) throw new Error(`missing ${kdir}/vmlinux`);
  return { kver, kdir, make: `ARCH=${m.kbuildArch} CROSS_COMPILE=${m.triple}-` };
}

/** The fixture: a fresh copy in FIXTURE_DIR, then kbuild's M= build. */
const fixtureBuild = (k, extraEnv = '') => `rm -rf ${FIXTURE_DIR} && mkdir -p ${W}/b && cp -a ${SRC}/fixture ${FIXTURE_DIR} && cd ${FIXTURE_DIR} && ${extraEnv} make -j${JOBS} ${k.make} -C ${k.kdir} M=${FIXTURE_DIR} V=1 modules`;

// ---- one build, on one side ---------------------------------------------------------------
/**
 * Runs a build on `side`; its .ko files, log and node trace kept in out/<tag>/<side>/ (a chroot
 * path, read through the side's path()). Returns { code, secs, kos, dir, log, trace }.
 */
async function build(sideName, tag, { script, root, env = {} }) {
  const side = SIDES[sideName];
  const dir = `${OUT}/${tag}/${sideName}`;
  const trace = `${dir}/trace`;
  await side.sh(`rm -rf ${shq(dir)} && mkdir -p ${shq(dir)}`);
  const t = Date.now();
  const r = await side.sh(`{ ${script} ; } > ${shq(`${dir}/make.log`)} 2>&1`, {
    env: { NODE_OPTIONS: `--require=${TRACE_JS}`, MODBTF_E2E_TRACE: trace, OUT_DIR: dir, ...env }, nothrow: true,
  });
  const secs = (Date.now() - t) / 1000;
  const kos = (await side.sh(`find . -name '*.ko' -printf '%P\\n' | LC_ALL=C sort`, { cwd: root, nothrow: true })).stdout.split('\n').filter(Boolean);
  if (kos.length) await side.sh(`cp --parents ${kos.map(shq).join(' ')} ${shq(dir)}`, { cwd: root });
  // dkms-build.sh writes the make command's output to its own log (OUT_DIR/dkms.log).
  const logText = [`${dir}/make.log`, `${dir}/dkms.log`].filter((f) => existsSync(side.path(f))).map((f) => readFileSync(side.path(f), 'utf8')).join('');
  const traced = existsSync(side.path(trace)) ? readFileSync(side.path(trace), 'utf8').trimEnd().split('\n').filter(Boolean).map((l) => JSON.parse(l)) : [];
  return { side: sideName, code: r.exitCode, secs, kos, dir, log: logText, trace: traced, path: (k) => side.path(`${dir}/${k}`) };
}

async function sectionNames(file) {
  const r = await $({ nothrow: true })`readelf -S -W ${file}`;
  return new Set([...r.stdout.matchAll(/^\s*\[\s*\d+\]\s+(\S+)/gm)].map((m) => m[1]));
}

/** Where two files differ: sizes, first differing byte, which BTF sections differ. */
async function describeDiff(a, b) {
  const x = readFileSync(a), y = readFileSync(b);
  let i = 0;
  while (i < Math.min(x.length, y.length) && x[i] === y[i]) i++;
  const dump = async (f, s) => (await $({ nothrow: true })`objcopy -O binary --only-section=${s} ${f} /dev/stdout`).stdout;
  const differing = [];
  for (const s of ['.BTF', '.BTF.base', '.BTF_ids']) if ((await dump(a, s)) !== (await dump(b, s))) differing.push(s);
  return `${x.length} vs ${y.length} bytes, first difference at 0x${i.toString(16)}; BTF sections that differ: ${differing.join(' ') || 'none'}`;
}

const results = []; // { name, status: pass|fail|skip, detail, secs }
function record(name, status, detail, secs = 0) {
  results.push({ name, status, detail, secs });
  log(`${status.toUpperCase()} ${name}: ${detail}`);
}

/** A logged line that says what went wrong. */
function keyLine(text) {
  const lines = text.trimEnd().split('\n');
  return (lines.find((l) => /^\s*(error|modbtf|fatal|failed)\b|\berror:/i.test(l) && !/^make(\[\d+\])?: \*\*\*/.test(l)) ?? lines.at(-1) ?? '').trim();
}

/** The reference build of one thing (shared chroot, pahole 1.32); null when it is usable. */
async function reference(j) {
  j.ref = await build('ref', j.name, j);
  const ref = j.ref;
  if (ref.code !== 0 || ref.kos.length === 0) return `reference build failed (exit ${ref.code}, ${ref.kos.length} modules): ${keyLine(ref.log)}`;
  for (const k of ref.kos) {
    const s = await sectionNames(ref.path(k));
    if (!s.has('.BTF') || !s.has('.BTF.base')) return `reference ${k} has no .BTF + .BTF.base: nothing to compare with`;
  }
  const h = (await $`readelf -h ${ref.path(ref.kos[0])}`).stdout;
  j.machine = `${/Machine:\s+(.*)/.exec(h)?.[1].trim()}, ${/Data:\s+.*(little|big) endian/.exec(h)?.[1]} endian`;
  return null;
}

/** The no-pahole build of the same thing in the same directory; every .ko the reference's bytes. */
async function subject(j) {
  const { ref } = j;
  const np = await build('nopahole', j.name, { ...j, env: { ...j.env, MAKEFILES: SNIPPET } });
  const problems = [];
  if (np.code !== 0) problems.push(`build failed (exit ${np.code}): ${keyLine(np.log)} (log ${SIDES.nopahole.path(`${np.dir}/make.log`)})`);
  if (!np.trace.some((t) => t.argv[0] === 'kbuild' && t.argv[1] === 'finalize-batch')) {
    problems.push(`modbtf's batch (kbuild finalize-batch) did not run: ${np.trace.map((t) => t.argv.slice(0, 2).join(' ')).join(' | ') || 'no node process'}`);
  }
  // A warning means modbtf fell back or gave up (the module then has no BTF); notes are
  // information (e.g. .BTF_ids entries in distilled-base numbering), as in plain kbuild with modbtf.
  const said = np.log.split('\n').filter((l) => /^modbtf\b.*\b(warning|error)\b/i.test(l));
  if (said.length) problems.push(`modbtf said (${said.length} lines): ${said[0]}`);
  const extra = np.kos.filter((k) => !ref.kos.includes(k)), gone = ref.kos.filter((k) => !np.kos.includes(k));
  if (extra.length || gone.length) problems.push(`other modules than the reference: ${[...extra.map((k) => `+${k}`), ...gone.map((k) => `-${k}`)].join(' ')}`);
  let identical = 0;
  for (const k of ref.kos.filter((x) => np.kos.includes(x))) {
    if (readFileSync(ref.path(k)).equals(readFileSync(np.path(k)))) identical++;
    else problems.push(`${k} differs: ${await describeDiff(np.path(k), ref.path(k))}`);
  }
  const modbtfCpu = np.trace.reduce((t, x) => t + x.cpuMs, 0) / 1000;
  const detail = `${identical}/${ref.kos.length} modules byte-identical (${j.machine}); reference ${ref.secs.toFixed(1)} s, no pahole ${np.secs.toFixed(1)} s (modbtf ${np.trace.length} process${np.trace.length === 1 ? '' : 'es'}, ${modbtfCpu.toFixed(1)} s cpu)`;
  record(j.name, problems.length ? 'fail' : 'pass', problems.length ? `${detail}\n      ${problems.join('\n      ')}` : detail, ref.secs + np.secs);
}

// ---- main ---------------------------------------------------------------------------------
log('setup: sid chroot, modbtf, sources');
await ensureSid(undefined, log);
const kernels = [];
for (const name of KERNEL_NAMES) {
  try {
    await KERNELS[name].ensure();
    kernels.push([name, KERNELS[name]]);
  } catch (e) {
    record(`${name} tree`, 'skip', `cannot be installed: ${String(e?.message ?? e).split('\n')[0]}`);
  }
}
const arches = [];
const crossArches = ARCH_LIST.filter((a) => ARCHES[a]);
if (crossArches.length) {
  try {
    await ensureCrossSid({ arches: crossArches, log });
    for (const a of crossArches) arches.push([a, { kver: k72(a).kver, kdir: k72(a).kdir, make: crossMake(a) }]);
  } catch (e) {
    record(`cross ${crossArches.join(',')}`, 'skip', `the 7.2.13 cross headers or compilers cannot be installed: ${String(e?.message ?? e).split('\n')[0]}`);
  }
}
for (const a of ARCH_LIST.filter((x) => MORE_ARCHES[x])) {
  try {
    arches.push([a, await ensureMoreArch(a)]);
  } catch (e) {
    record(`cross ${a}`, 'skip', `sid's 7.2.13 ${a} headers or compilers cannot be installed: ${String(e?.message ?? e).split('\n')[0]}`);
  }
}
copyModbtfIn(REPO);
await sidSh(`rm -rf ${W} && mkdir -p ${SRC}`);
copyIn(join(REPO, 'test/e2e/fixture'), `${SRC}/fixture`);
copyIn(join(REPO, 'scripts/e2e-lib/dkms-build.sh'), DRIVER);
copyIn(join(REPO, 'scripts/e2e-lib/trace-node.cjs'), TRACE_JS);
const pkgs = [];
for (const spec of PACKAGES) {
  // name or name=version (a pin: another version in the archive or the cache is a skip, not a failure)
  const [deb, pin] = spec.split('=');
  let file;
  try { file = await sidDownload(deb); } catch (e) { record(spec, 'skip', `not in the archive any more: ${String(e?.message ?? e).split('\n')[0]}`); continue; }
  const version = (await $`dpkg-deb -f ${file} Version`).stdout.trim();
  if (pin && version !== pin) { record(spec, 'skip', `pinned ${pin}, the archive has ${version}`); continue; }
  const dest = `${SRC}/${deb}`;
  await sidSh(`mkdir -p ${shq(dest)}`);
  await $`dpkg-deb -x ${file} ${sidPath(dest)}`;
  const src = `${dest}/${(await sidSh('ls -d usr/src/*/', { cwd: dest })).stdout.trim().replace(/\/$/, '')}`;
  pkgs.push({ deb, version, src });
}
log(`tools: ${(await sidSh('pahole --version; gcc --version | head -1')).stdout.trim().replace(/\n/g, ', ')}; packages: ${pkgs.map((p) => `${p.deb} ${p.version}`).join(', ') || 'none'}`);

const jobs = [];
for (const [name, k] of kernels) {
  jobs.push({ name: `fixture on ${name}`, script: fixtureBuild(k), root: FIXTURE_DIR });
  for (const p of pkgs) {
    const env = { kernelver: k.kver, kernel_source_dir: k.ksd, dkms_tree: DKMS_TREE };
    const print = (await sidSh(`bash ${DRIVER} print ${shq(p.src)}`, { env })).stdout.trimEnd().split('\n');
    const buildDir = `${DKMS_TREE}/${print[0]}/${print[1]}/build`;
    jobs.push({ name: `${p.deb} ${p.version} on ${name}`, script: `bash ${DRIVER} build ${shq(p.src)} "$OUT_DIR/dkms.log"`, root: buildDir, env });
  }
}
for (const [a, k] of arches) jobs.push({ name: `fixture cross-built for ${a} on 7.2.13`, script: fixtureBuild(k), root: FIXTURE_DIR });

// The references first, in the shared chroot, then the overlay over it (which shows its lower
// layer as it was when mounted: nothing is built below it while it is mounted).
for (const j of jobs) {
  await ensureProc();
  const why = await reference(j);
  if (why) record(j.name, 'fail', why, j.ref.secs);
  else j.ok = true;
}
let failedSetup = false;
try {
  await mountOverlay();
  // The control: without pahole and without modbtf, kbuild cannot give the module its BTF.
  if (kernels.length) {
    const [name, k] = kernels[0];
    const c = await build('nopahole', `control-${name}`, { script: fixtureBuild(k), root: FIXTURE_DIR });
    const noBtf = c.code !== 0 || c.kos.length === 0 || !(await sectionNames(c.path(c.kos[0]))).has('.BTF');
    record(`control: plain kbuild of the fixture on ${name}, no pahole, no modbtf`, noBtf ? 'pass' : 'fail',
      noBtf ? `no module with BTF, as expected (exit ${c.code}: ${(c.log.split('\n').find((l) => /pahole/i.test(l) && /not found|No such|cannot|error/i.test(l)) ?? keyLine(c.log)).trim()})` : 'the module has .BTF: pahole is not gone', c.secs);
  }
  for (const j of jobs.filter((x) => x.ok)) await subject(j);
} catch (e) {
  failedSetup = true;
  record('setup', 'fail', String(e?.stack ?? e));
} finally {
  if (!KEEP) {
    await unmountOverlay();
    await sidSh(`rm -rf ${W}`);
  } else log(`kept: ${MERGED} (mounted), ${sidPath(W)}`);
}

console.log('\nsummary:');
for (const r of results) console.log(`  ${r.status.toUpperCase().padEnd(5)} ${r.name.padEnd(46)} ${r.secs ? `${r.secs.toFixed(1).padStart(6)} s` : '        '}  ${r.detail.split('\n')[0]}`);
const passed = results.filter((r) => r.status === 'pass').length;
const failed = results.filter((r) => r.status === 'fail').length;
const skipped = results.filter((r) => r.status === 'skip').length;
console.log(`total time ${((Date.now() - t0) / 1000).toFixed(1)} s`);
console.log(`${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ''}`);
process.exitCode = failed > 0 || failedSetup ? 1 : 0;
