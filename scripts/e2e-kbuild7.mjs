#!/usr/bin/env zx
// Debian DKMS packages on a 7.x kernel through modbtf (issues 11, 17): byte-identical to its plain kbuild?
//
//   npx zx scripts/e2e-kbuild7.mjs [--kernel K] [--only <text>] [--packages DEB,DEB] [--quick] [--list]
//
//   --kernel    7.2.13 (default), 7.3-rc7, or <sid|experimental>:linux-headers-<abi>-amd64=<version>
//               (scripts/e2e-lib/kernels.mjs); its tree is installed in the chroot from the pinned .debs
//
//   --packages  only these packages (the e2e, within CI's time: xtables-addons-dkms, mimic-dkms)
//   --quick     leave out the form-a builds that cannot involve modbtf (an include in a Kbuild
//               file that Makefile.modfinal never reads) and the second plain build of
//               packages other than the first
//
// In the Debian sid chroot (scripts/e2e-lib/sid.mjs), the sources of sid's DKMS packages below
// (apt-get download + dpkg-deb -x: no dkms, no install, nothing is triggered) are built against
// the kernel's headers (linux-headers-<kver>) the way sid's dkms 3.2.2 builds them: the make command of
// the package's dkms.conf, as dkms computes it and prefixes it (`make -j<ncpu>
// KERNELRELEASE=<kver> ...`), eval'ed in a build directory made afresh from the source by
// `cp -a` (scripts/e2e-lib/dkms-build.sh). Every build of a package uses the same build
// directory (debug info records it) and starts from a fresh copy, as dkms does. The builds:
//
//   plain        the tree's plain kbuild (gen-btf.sh: pahole 1.32, resolve_btfids --distill_base): the control
//   plain-again  the same once more: the build is reproducible, so a difference is modbtf's
//   form-a       `include <modbtf>/Makefile.snippet` put first in the package's Makefile that
//                dkms's make reads (its wrapper Makefile), or, for a package whose dkms MAKE
//                calls kbuild directly, in the kbuild file of the M= directory (Kbuild)
//   form-b       MAKEFILES=<modbtf>/Makefile.snippet in the environment of dkms's make command
//   form-d       dkms's make command with RESOLVE_BTFIDS="modbtf resolve-btfids" after its prefix
//   c-plain      plain kbuild in a fresh copy of the tree (the reference for form c:
//                the tree's path is in the debug info too)
//   form-c       `modbtf kbuild install <copy>`, then dkms's make command unchanged in that copy
//
// A modbtf form passes when the build succeeds, modbtf ran for every module (each node process
// is recorded by a NODE_OPTIONS=--require preload, so a module the tree's own step finalized
// cannot pass as modbtf's), the build log has no "modbtf..." line (a warning means modbtf fell
// back to the tree's own step), and every .ko is byte-identical to the control's. Form a in a
// Kbuild file cannot reach Makefile.modfinal (kbuild reads that file only in Makefile.build and
// Makefile.modpost, children of the make that runs modfinal): there it is "n/a" when the module
// is plain kbuild's with no modbtf run, and a failure otherwise. Controls fail the run too.
//
// Needs root, a built dist/ (npm run build), the sid chroot (made on first use). Work in the
// chroot's /build/kbuild7-<CHECKOUT_ID>-<kernel>: dkms/<name>/<version>/build (the build directory), out/<deb>/<build>/
// (each build's .ko files, make.log, trace). Downloads cached in the chroot's
// /var/cache/modbtf-debs (under $MODBTF_CACHE/sid). Ends with `N passed, M failed`; exit 1 on
// any failure.
import { existsSync, readFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { $, argv } from 'zx';
import { ensureTree7, kernelOf } from './e2e-lib/kernels.mjs';
import { CHECKOUT_ID, MODBTF_IN_SID, SID_TOOLS, assertPristineTree, copyIn, copyModbtfIn, ensureProc, ensureSid, kbuildTreeCopy, shq, sidDownload, sidPath, sidSh } from './e2e-lib/sid.mjs';

$.verbose = false;
$.quiet = true;
const REPO = new URL('..', import.meta.url).pathname.replace(/\/$/, '');
const ONLY = argv.only ? String(argv.only) : null;
const ONLY_PACKAGES = argv.packages ? String(argv.packages).split(',').filter(Boolean) : null;
const QUICK = Boolean(argv.quick);
const K = kernelOf(argv.kernel ? String(argv.kernel) : '7.2.13');

/** Inside the chroot. */
const W = `/build/kbuild7-${CHECKOUT_ID}-${K.short}`;
const SRC = `${W}/src`;
const DKMS_TREE = `${W}/dkms`;
const OUT = `${W}/out`;
const KC = `${W}/kc`;
const DRIVER = `${W}/dkms-build.sh`;
const TRACE_JS = `${W}/trace-node.cjs`;
/** dkms's kernel_source_dir (the headers package's link to the tree). */
const KSD = K.ksd();
const MODBTF = `node ${MODBTF_IN_SID}/dist/bundle/main.js`;
const SNIPPET = `${MODBTF_IN_SID}/Makefile.snippet`;

/**
 * The packages: sid's versions, chosen for the ways dkms.conf files drive kbuild.
 *   formA.file       the file form a puts the include into (relative to the build directory)
 *   formA.modfinal   whether that file is read by a make above kbuild's (so the snippet's
 *                    MAKEFILES export reaches Makefile.modfinal)
 *   treeArgs(kdir)   make arguments that point the package at a tree other than
 *                    /lib/modules/<kver>/build, for form c's copy, when dkms.conf's
 *                    ${kernel_source_dir} does not reach the build
 */
const PACKAGES = [
  {
    deb: 'xtables-addons-dkms',
    how: 'MAKE[0] calls kbuild directly for extensions/ (M=<build>/extensions, XA_* variables, V=1); modules in subdirectories too',
    formA: { file: 'extensions/Kbuild', modfinal: false },
  },
  {
    deb: 'xone-dkms',
    how: "no MAKE in dkms.conf: dkms's generic make -C <kdir> M=<build>",
    formA: { file: 'Kbuild', modfinal: false },
  },
  {
    deb: 'openrazer-driver-dkms',
    how: "MAKE is the package's wrapper target (make driver KERNELDIR=<kdir>), which runs kbuild for driver/",
    formA: { file: 'Makefile', modfinal: true },
  },
  {
    deb: 'mimic-dkms',
    how: 'a kfunc set (.BTF_ids); MAKE runs the wrapper Makefile, which finds the tree as /lib/modules/$(KERNEL_UNAME)/build',
    formA: { file: 'Makefile', modfinal: true },
    treeArgs: (kdir) => [`SYSTEM_BUILD_DIR=${kdir}`],
  },
];

const BUILDS = [
  { id: 'plain', control: true, label: `plain ${K.short} kbuild (the control)` },
  { id: 'plain-again', control: true, label: `plain ${K.short} kbuild again (reproducible?)` },
  { id: 'form-a', label: 'form a: include Makefile.snippet' },
  { id: 'form-b', label: 'form b: MAKEFILES=Makefile.snippet' },
  { id: 'form-d', label: 'form d: RESOLVE_BTFIDS="modbtf resolve-btfids"' },
  { id: 'c-plain', control: true, label: `plain ${K.short} kbuild in the tree copy (form c's reference)` },
  { id: 'form-c', label: 'form c: modbtf kbuild install <tree copy>' },
];

if (argv.list) {
  for (const p of PACKAGES) console.log(`${p.deb}\t${p.how}`);
  for (const b of BUILDS) console.log(`${b.id}\t${b.control ? 'control' : 'modbtf'}\t${b.label}`);
  process.exit(0);
}
if (!existsSync(join(REPO, 'dist/bundle/main.js'))) { console.error('dist/bundle/main.js missing: run npm run build first'); process.exit(2); }

const t0 = Date.now();
const log = (msg) => console.log(`[e2e-kbuild7 ${((Date.now() - t0) / 1000).toFixed(1).padStart(6)}s] ${msg}`);

// ---- ELF sections (for the report: which sections a module has, where two modules differ) ----

/** Section headers of an ELF64 little-endian file: [{ name, offset, size, nobits }]. */
function sections(buf) {
  if (buf.readUInt32BE(0) !== 0x7f454c46 || buf[4] !== 2 || buf[5] !== 1) throw new Error('not an ELF64 LE file');
  const shoff = Number(buf.readBigUInt64LE(0x28));
  const shentsize = buf.readUInt16LE(0x3a);
  const shnum = buf.readUInt16LE(0x3c);
  const shstrndx = buf.readUInt16LE(0x3e);
  const hdr = (i) => {
    const o = shoff + i * shentsize;
    return { nameOff: buf.readUInt32LE(o), type: buf.readUInt32LE(o + 4), offset: Number(buf.readBigUInt64LE(o + 0x18)), size: Number(buf.readBigUInt64LE(o + 0x20)) };
  };
  const strtab = hdr(shstrndx);
  const list = [];
  for (let i = 0; i < shnum; i++) {
    const h = hdr(i);
    const start = strtab.offset + h.nameOff;
    const name = buf.toString('latin1', start, buf.indexOf(0, start));
    list.push({ name, offset: h.offset, size: h.size, nobits: h.type === 8 });
  }
  return { list, shoff, shtableSize: shnum * shentsize };
}

const BTF_SECTIONS = ['.BTF', '.BTF.base', '.BTF_ids'];
function btfSections(buf) {
  const names = new Set(sections(buf).list.map((s) => s.name));
  return BTF_SECTIONS.filter((n) => names.has(n));
}

/** Where two modules (named na, nb) differ: the first differing byte (and the part of the file it is in), the sections that differ. */
function describeDiff(a, b, [na, nb]) {
  let i = 0;
  const n = Math.min(a.length, b.length);
  while (i < n && a[i] === b[i]) i++;
  const sa = sections(a), sb = sections(b);
  const where = (s, off) => {
    if (off < 64) return 'ELF header';
    if (off >= s.shoff && off < s.shoff + s.shtableSize) return 'section header table';
    const sec = s.list.find((x) => !x.nobits && x.size > 0 && off >= x.offset && off < x.offset + x.size);
    return sec ? `${sec.name}+0x${(off - sec.offset).toString(16)}` : 'between sections';
  };
  const hex = (buf, at) => (at < buf.length ? `0x${buf[at].toString(16).padStart(2, '0')}` : 'EOF');
  // Sections matched by name and order among those of the same name (7.2 modules have two
  // .note.GNU-stack sections), so one added section does not shift the rest.
  const keyed = (s) => {
    const seen = new Map();
    return new Map(s.list.slice(1).map((x) => {
      const k = seen.get(x.name) ?? 0;
      seen.set(x.name, k + 1);
      return [k ? `${x.name}#${k + 1}` : x.name, x];
    }));
  };
  const ka = keyed(sa), kb = keyed(sb);
  const differing = [];
  for (const [key, x] of ka) {
    const y = kb.get(key);
    if (!y) { differing.push(`${key} (only in ${na})`); continue; }
    const bx = x.nobits ? Buffer.alloc(0) : a.subarray(x.offset, x.offset + x.size);
    const by = y.nobits ? Buffer.alloc(0) : b.subarray(y.offset, y.offset + y.size);
    if (x.size !== y.size) differing.push(`${key} (${x.size} vs ${y.size} bytes)`);
    else if (!bx.equals(by)) differing.push(`${key} (same size, contents differ)`);
  }
  for (const key of kb.keys()) if (!ka.has(key)) differing.push(`${key} (only in ${nb})`);
  return `${na} vs ${nb}: ${a.length} vs ${b.length} bytes; first differing byte at file offset 0x${i.toString(16)} (${where(sa, i)}): ${hex(a, i)} vs ${hex(b, i)}; `
    + `sections that differ: ${differing.length ? differing.join(', ') : 'none (only their placement)'}`;
}

// ---- packages and builds ----------------------------------------------------------------

/** Downloads and unpacks a package's source; reads its dkms.conf the way dkms does. */
async function preparePackage(p) {
  const deb = await sidDownload(p.deb);
  const version = (await $`dpkg-deb -f ${deb} Version`).stdout.trim();
  const dest = `${SRC}/${p.deb}`;
  await sidSh(`rm -rf ${shq(dest)} && mkdir -p ${shq(dest)}`);
  await $`dpkg-deb -x ${deb} ${sidPath(dest)}`;
  const dirs = (await sidSh('ls -d usr/src/*/', { cwd: dest })).stdout.trim().split('\n').filter(Boolean);
  if (dirs.length !== 1) throw new Error(`${p.deb}: expected one source tree under /usr/src, found ${dirs.join(' ') || 'none'}`);
  const src = `${dest}/${dirs[0].replace(/\/$/, '')}`;
  const conf = (await sidSh(`bash ${DRIVER} print ${shq(src)}`, { env: driverEnv(KSD) })).stdout.trimEnd().split('\n');
  const [name, pkgVersion, make, ...expected] = conf;
  return { ...p, version, src, name, pkgVersion, make, expected, buildDir: `${DKMS_TREE}/${name}/${pkgVersion}/build` };
}

function driverEnv(kdir) {
  return { kernelver: K.kver(), kernel_source_dir: kdir, dkms_tree: DKMS_TREE };
}

/**
 * One dkms-style build of a package; its modules, log and trace kept in out/<deb>/<id>/.
 * Returns { id, code, secs, cpu, kos: [relative paths], dir, log, trace: [{ argv, code, ms, cpuMs } of each node process] }
 * (secs: the make command's wall time; cpu: its user + system time, less sensitive to other load).
 */
async function build(pkg, id, { kdir = KSD, env = {}, makeArgs = [] } = {}) {
  await ensureProc();
  const dir = `${OUT}/${pkg.deb}/${id}`;
  const trace = `${dir}/trace`;
  await sidSh(`rm -rf ${shq(dir)} && mkdir -p ${shq(dir)}`);
  const args = [...makeArgs, ...(kdir !== KSD && pkg.treeArgs ? pkg.treeArgs(kdir) : [])];
  const r = await sidSh(`bash ${DRIVER} build ${shq(pkg.src)} ${shq(`${dir}/make.log`)} ${args.map(shq).join(' ')}`, {
    env: { ...driverEnv(kdir), NODE_OPTIONS: `--require=${TRACE_JS}`, MODBTF_E2E_TRACE: trace, ...env },
    nothrow: true,
  });
  const [secs, user, sys] = existsSync(sidPath(`${dir}/make.log.time`)) ? readFileSync(sidPath(`${dir}/make.log.time`), 'utf8').trim().split(' ').map(Number) : [NaN, NaN, NaN];
  const kos = (await sidSh(`find . -name '*.ko' -printf '%P\\n' | LC_ALL=C sort`, { cwd: pkg.buildDir, nothrow: true })).stdout.split('\n').filter(Boolean);
  if (kos.length) await sidSh(`cp --parents ${kos.map(shq).join(' ')} ${shq(dir)}`, { cwd: pkg.buildDir });
  const logText = readFileSync(sidPath(`${dir}/make.log`), 'utf8');
  const traced = existsSync(sidPath(trace)) ? readFileSync(sidPath(trace), 'utf8').trimEnd().split('\n').filter(Boolean).map((l) => JSON.parse(l)) : [];
  return { id, code: r.exitCode, secs, cpu: user + sys, kos, dir, log: logText, trace: traced };
}

/** The line of a failed build's log that says what went wrong, else its last line. */
function keyLine(text) {
  const lines = text.trimEnd().split('\n');
  return (lines.find((l) => /^\s*(error|modbtf|fatal|failed)\b|\berror:/i.test(l) && !/^make(\[\d+\])?: \*\*\*/.test(l)) ?? lines.at(-1)).trim();
}

/**
 * Modules (basenames) modbtf ran for, by the node processes traced: `kbuild modfinal X.ko`
 * and `kbuild finalize-batch X.ko Y.ko...` (the snippet's one process per build, which
 * finishes each as modfinal would) count as modfinal; `resolve-btfids ... X.ko`.
 */
function modbtfRuns(trace, kind) {
  const ran = new Set();
  for (const { argv: a } of trace) {
    if (a[0] === 'kbuild' && a[1] === 'finalize-batch') {
      if (kind === 'modfinal') for (const m of a.slice(2).filter((x) => x.endsWith('.ko'))) ran.add(basename(m));
      continue;
    }
    const k = a[0] === 'kbuild' && a[1] === 'modfinal' ? 'modfinal' : a[0] === 'resolve-btfids' ? 'resolve-btfids' : a.slice(0, 2).join(' ');
    if (k === kind) ran.add(basename(a.at(-1)));
  }
  return ran;
}

/**
 * The checks of one build against its reference build (same directory, same tree).
 * expect: 'control' (no node process ran), 'modbtf:<kind>' (modbtf ran <kind> for every
 * module), 'none' (form a in a Kbuild file: modbtf cannot be reached).
 * Returns { problems: [...], identical, diffs: [{ ko, what }] }.
 */
function judge(pkg, b, ref, expect) {
  const problems = [];
  if (b.code !== 0) problems.push(`build failed (exit ${b.code}): ${keyLine(b.log)} (log: ${sidPath(`${b.dir}/make.log`)})`);
  const missing = pkg.expected.filter((m) => !b.kos.includes(m));
  if (missing.length) problems.push(`modules dkms expects are missing: ${missing.join(' ')}`);
  if (ref) {
    const extra = b.kos.filter((k) => !ref.kos.includes(k)), gone = ref.kos.filter((k) => !b.kos.includes(k));
    if (extra.length || gone.length) problems.push(`other modules than the reference: ${[...extra.map((k) => `+${k}`), ...gone.map((k) => `-${k}`)].join(' ')}`);
  }
  const said = b.log.split('\n').filter((l) => /^modbtf\b/.test(l));
  if (K.unknownToModbtf && expect.startsWith('modbtf:')) {
    // A tree newer than every profile modbtf knows: the tree's own step, and a warning naming
    // its version (once per build in the batch form), nothing else.
    const newer = new RegExp(`^modbtf: warning: .*\\b${K.release.major}\\.${K.release.minor}`);
    if (!said.some((l) => newer.test(l)) || said.some((l) => !newer.test(l))) problems.push(`modbtf must say one warning naming ${K.release.major}.${K.release.minor} and nothing else; it said (${said.length} lines): ${said.slice(0, 2).join(' | ') || 'nothing'}`);
  } else if (said.length) problems.push(`modbtf said (${said.length} line${said.length > 1 ? 's' : ''}): ${said[0]}`);
  const names = b.kos.map((k) => basename(k));
  if (expect === 'control' || expect === 'none') {
    if (b.trace.length) problems.push(`${expect === 'control' ? 'a control' : 'form a in a Kbuild file'} ran node (modbtf?): ${b.trace.map((t) => t.argv.join(' ')).slice(0, 2).join(' | ')}`);
  } else {
    const kind = expect.slice('modbtf:'.length);
    const ran = modbtfRuns(b.trace, kind);
    const not = names.filter((n) => !ran.has(n));
    if (not.length) problems.push(`modbtf ${kind} did not run for ${not.length} of ${names.length} modules: ${not.join(' ')}`);
  }
  const diffs = [];
  let identical = 0;
  if (ref) {
    for (const k of b.kos.filter((x) => ref.kos.includes(x))) {
      const x = readFileSync(sidPath(`${b.dir}/${k}`)), y = readFileSync(sidPath(`${ref.dir}/${k}`));
      if (x.equals(y)) identical++;
      else diffs.push({ ko: k, what: describeDiff(x, y, [b.id, ref.id]) });
    }
    if (diffs.length) problems.push(`${diffs.length} of ${b.kos.length} modules differ from ${ref.id}: ${diffs.map((d) => d.ko).join(' ')}`);
  }
  return { problems, identical, diffs };
}

// ---- main ---------------------------------------------------------------------------------
const selected = PACKAGES.filter((p) => (!ONLY || p.deb.includes(ONLY)) && (!ONLY_PACKAGES || ONLY_PACKAGES.includes(p.deb)));
if (ONLY_PACKAGES) for (const d of ONLY_PACKAGES) if (!PACKAGES.some((p) => p.deb === d)) throw new Error(`--packages: no package ${d} here (${PACKAGES.map((p) => p.deb).join(', ')})`);
log('setup: sid chroot, modbtf, package sources');
await ensureSid(SID_TOOLS, log);
await ensureTree7(K, log);
copyModbtfIn(REPO);
await sidSh(`rm -rf ${W} && mkdir -p ${W}`);
copyIn(join(REPO, 'scripts/e2e-lib/dkms-build.sh'), DRIVER);
copyIn(join(REPO, 'scripts/e2e-lib/trace-node.cjs'), TRACE_JS);
await assertPristineTree(K.kdir(), K);
log(`tools in the chroot: ${(await sidSh(`pahole --version; gcc --version | head -1; ld --version | head -1; make --version | head -1`)).stdout.trim().replace(/\n/g, ', ')}`);

const pkgs = [];
for (const p of selected) {
  const q = await preparePackage(p);
  log(`${q.deb} ${q.version}: ${q.how}\n    dkms MAKE: ${q.make.replace(/\s+/g, ' ')}\n    dkms expects ${q.expected.length} modules; build directory ${q.buildDir}; form a: ${q.formA.file}`);
  pkgs.push(q);
}

const results = []; // { pkg, id, control, status, modules, identical, secs, cpu, node, problems, diffs, note }
function record(pkg, id, b, ref, expect, note = '') {
  const { problems, identical, diffs } = judge(pkg, b, ref, expect);
  const def = BUILDS.find((x) => x.id === id);
  const status = problems.length ? 'fail' : expect === 'none' ? 'n/a' : 'pass';
  // modbtf's own share (its node processes, without pahole): how many, wall and CPU seconds.
  const node = { runs: b.trace.length, secs: b.trace.reduce((t, x) => t + x.ms, 0) / 1000, cpu: b.trace.reduce((t, x) => t + x.cpuMs, 0) / 1000 };
  const row = { pkg, id, control: Boolean(def.control), status, modules: b.kos.length, identical: ref ? identical : null, secs: b.secs, cpu: b.cpu, node, problems, diffs, note };
  results.push(row);
  log(`${{ pass: 'PASS', fail: 'FAIL', 'n/a': 'N/A ' }[status]} ${pkg.deb} ${id}: ${b.kos.length} modules${ref ? `, ${identical} identical to ${ref.id}` : ''}, ${b.secs.toFixed(1)} s (cpu ${b.cpu.toFixed(1)} s)${node.runs ? `; modbtf: ${node.runs} runs, ${node.secs.toFixed(1)} s wall, ${node.cpu.toFixed(1)} s cpu` : ''}${note ? ` (${note})` : ''}`);
  for (const pr of problems) console.log(`      ${pr}`);
  for (const d of diffs) console.log(`      ${d.ko}: ${d.what}`);
  return row;
}

/**
 * A plain build's modules and their BTF sections. Without .BTF + .BTF.base in a control (7.x
 * distills M= builds) there is nothing to compare modbtf's bytes with: the control fails.
 */
function controlSections(row, b) {
  const sections = new Map(b.kos.map((k) => [k, btfSections(readFileSync(sidPath(`${b.dir}/${k}`)))]));
  const noBase = [...sections].filter(([, s]) => !s.includes('.BTF') || !s.includes('.BTF.base')).map(([k]) => k);
  if (noBase.length) {
    row.status = 'fail';
    row.problems.push(`plain ${K.short} modules without .BTF + .BTF.base: ${noBase.join(' ')}`);
    console.log(`      ${row.problems.at(-1)}`);
  }
  return sections;
}

const forC = []; // the packages whose plain build succeeded
for (const pkg of pkgs) {
  const plain = await build(pkg, 'plain');
  pkg.sections = controlSections(record(pkg, 'plain', plain, null, 'control'), plain);
  if (plain.code !== 0) continue;
  forC.push(pkg);

  if (!QUICK || forC.length === 1) {
    const again = await build(pkg, 'plain-again');
    record(pkg, 'plain-again', again, plain, 'control');
  }
  if (!QUICK || pkg.formA.modfinal) {
    const a = await build(pkg, 'form-a', { env: { FORM_A_FILE: pkg.formA.file, FORM_A_INCLUDE: SNIPPET } });
    record(pkg, 'form-a', a, plain, pkg.formA.modfinal ? 'modbtf:modfinal' : 'none',
      pkg.formA.modfinal ? `include in ${pkg.formA.file}` : `include in ${pkg.formA.file}, which Makefile.modfinal never reads: modbtf cannot run`);
  }
  const b = await build(pkg, 'form-b', { env: { MAKEFILES: SNIPPET } });
  record(pkg, 'form-b', b, plain, 'modbtf:modfinal');
  const d = await build(pkg, 'form-d', { makeArgs: [`RESOLVE_BTFIDS=${MODBTF} resolve-btfids`] });
  record(pkg, 'form-d', d, plain, 'modbtf:resolve-btfids');
}

// Form c: one copy of the tree for all packages; each package's reference built in it before
// modbtf is installed there.
if (forC.length) {
  log(`form c: a fresh copy of the ${K.short} kbuild tree in ${KC}`);
  const kdir = await kbuildTreeCopy(KC, K);
  const ksd = `${KC}/usr/lib/modules/${K.kver()}/build`; // the copy's own link, as KSD in the chroot
  await sidSh(`[ "$(readlink -f ${shq(ksd)})" = ${shq(kdir)} ]`);
  const refs = new Map();
  for (const pkg of forC) {
    const ref = await build(pkg, 'c-plain', { kdir: ksd });
    controlSections(record(pkg, 'c-plain', ref, null, 'control'), ref);
    if (ref.code === 0) refs.set(pkg.deb, ref);
  }
  const inst = await sidSh(`${MODBTF} kbuild install ${shq(kdir)} 2>&1`, { nothrow: true });
  log(`${MODBTF} kbuild install ${kdir}: exit ${inst.exitCode}: ${inst.stdout.trim().split('\n')[0]}`);
  for (const pkg of forC) {
    if (!refs.has(pkg.deb)) continue;
    if (inst.exitCode !== 0) {
      results.push({ pkg, id: 'form-c', control: false, status: 'fail', modules: 0, identical: 0, node: { runs: 0, secs: 0, cpu: 0 }, problems: [`modbtf kbuild install failed (exit ${inst.exitCode}): ${inst.stdout.trim()}`], diffs: [], note: '', secs: NaN, cpu: NaN });
      continue;
    }
    const c = await build(pkg, 'form-c', { kdir: ksd });
    record(pkg, 'form-c', c, refs.get(pkg.deb), 'modbtf:modfinal');
  }
}

// ---- report -------------------------------------------------------------------------------
console.log(`\nmodules and their BTF sections (plain ${K.short} kbuild):`);
for (const pkg of pkgs) {
  if (!pkg.sections) continue;
  console.log(`  ${pkg.deb} ${pkg.version} (${pkg.sections.size} modules)`);
  for (const [k, s] of pkg.sections) console.log(`    ${k.padEnd(44)} ${BTF_SECTIONS.map((n) => (s.includes(n) ? n : '-'.padEnd(n.length))).join('  ')}`);
}
console.log('\nsummary (wall: the make command dkms runs; cpu: its user + system time; vs: against the plain build of the same tree;');
console.log('         modbtf: its node processes (runs, CPU seconds; pahole, which it starts, not included)):');
console.log(`  ${'package'.padEnd(22)} ${'version'.padEnd(14)} ${'build'.padEnd(12)} ${'status'.padEnd(6)} ${'modules'.padStart(7)} ${'identical'.padStart(9)} ${'wall'.padStart(7)} ${'cpu'.padStart(7)} ${'vs wall'.padStart(7)} ${'vs cpu'.padStart(7)} ${'modbtf'.padStart(12)}`);
const pct = (x, y) => `${x >= y ? '+' : ''}${(((x - y) / y) * 100).toFixed(0)}%`;
for (const r of results) {
  const plain = results.find((x) => x.pkg === r.pkg && x.id === (r.id === 'form-c' ? 'c-plain' : 'plain'));
  const vs = plain && !r.control ? [pct(r.secs, plain.secs), pct(r.cpu, plain.cpu)] : ['', ''];
  console.log(`  ${r.pkg.deb.padEnd(22)} ${r.pkg.version.padEnd(14)} ${r.id.padEnd(12)} ${r.status.toUpperCase().padEnd(6)} ${String(r.modules).padStart(7)} ${(r.identical === null ? '-' : `${r.identical}/${r.modules}`).padStart(9)} ${`${r.secs.toFixed(1)}s`.padStart(7)} ${`${r.cpu.toFixed(1)}s`.padStart(7)} ${vs[0].padStart(7)} ${vs[1].padStart(7)} ${(r.node.runs ? `${r.node.runs}x ${r.node.cpu.toFixed(1)}s` : '').padStart(12)}${r.problems.length ? `\n${''.padEnd(30)}first problem: ${r.problems[0]}` : ''}`);
}
const na = results.filter((r) => r.status === 'n/a');
if (na.length) console.log(`${na.length} n/a: form a included in a Kbuild file (${na.map((r) => r.pkg.deb).join(', ')}): kbuild built the module as plain ${K.short} kbuild does, modbtf never ran; such packages need form b or c (or a wrapper Makefile)`);
const passed = results.filter((r) => r.status === 'pass').length;
const failed = results.filter((r) => r.status === 'fail').length;
console.log(`total time ${((Date.now() - t0) / 1000).toFixed(1)} s`);
console.log(`${passed} passed, ${failed} failed`);
process.exitCode = failed > 0 ? 1 : 0;
