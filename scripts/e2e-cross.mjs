#!/usr/bin/env zx
// Cross-compiled module builds for arm64 and s390x (big-endian) with modbtf, byte for byte
// against the kernel's own cross build (issue 12):
//
//   npx zx scripts/e2e-cross.mjs [--arch arm64|s390x] [--kernels K,...] [--only TEXT] [--dkms-sample N] [--no-dkms] [--no-trixie] [--jobs N]
//
//   --kernels  which trees: 7.2.13 (sid), 7.3-rc7 (experimental), trixie (6.12); default 7.2.13,trixie
//   --no-dkms  the fixture only
//
// Debian sid chroot (scripts/e2e-lib/sid.mjs) with Debian's cross compilers (gcc-16-<triple>,
// binutils-<triple>) and the arm64 / s390x header packages of 7.2.13 (sid) or 7.3-rc7
// (experimental's linux-headers-7.3-<arch>) unpacked into /usr/src next to the amd64 kbuild
// and -common tree they use, installed from the same kernel's pinned .debs (scripts/e2e-lib/cross.mjs):
//   make ARCH=arm64 CROSS_COMPILE=aarch64-linux-gnu- -C /usr/src/linux-headers-7.2.13+deb14-arm64 M=...
//   make ARCH=s390 CROSS_COMPILE=s390x-linux-gnu- -C /usr/src/linux-headers-7.2.13+deb14-s390x M=...
// Two sources: the e2e fixture (test/e2e/fixture) and a multi-module DKMS package from sid
// (xtables-addons-dkms: its /usr/src/xtables-addons-<ver>/ tree, built as its dkms.conf does;
// --dkms-sample N builds N of its modules, chosen through the package's own mconfig.* hook).
// Per arch and source, all in one directory (debug info records the build path):
//   plain        make -C <kdir> M=<dir> modules                (the control: gen-btf.sh)
//   plain-again  the same again: the build is reproducible     (control)
//   form-a       the module's Makefile includes Makefile.snippet
//   form-b       MAKEFILES=Makefile.snippet make -C <kdir> M=<dir> modules
//   form-d       make RESOLVE_BTFIDS="modbtf resolve-btfids" -C <kdir> M=<dir> modules
//   form-c       modbtf kbuild install on a fresh copy of the tree (Debian's three packages
//                unpacked again), then a plain M= build there; its reference is the plain
//                build in that copy before the install (control)
// Every .ko of a modbtf form must be byte-identical to the control's, its build log must show
// modbtf's command (V=1) and no "modbtf: warning:" (a fallback would give the control's bytes
// without modbtf having done anything).
// Debian 13 (trixie) chroot ($MODBTF_CACHE/trixie): trixie's own 6.12 kbuild and pahole 1.30
// (which writes .BTF.base itself for M= builds), gcc-14 cross compilers; s390x against
// 6.12.107 headers, arm64 against 6.12.117 (the mirror has no 6.12.107 arm64 headers any more):
// plain, plain-again, form-b, form-a, each .ko identical to the plain build. modbtf runs there
// on the host's node binary (checked first).
//
// When a form differs, the report names the module, the form, the section holding the first
// differing byte, that byte's offset and values, and the build log's modbtf lines.
// Needs root and a built dist/. Ends with `N passed, M failed`; exit 1 on any failure.
import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { $, argv } from 'zx';
import { ARCHES, ARCH_NAMES, CROSS, crossMake, crossTree, ensureCrossSid, ensureCrossTrixie, k6, trixie } from './e2e-lib/cross.mjs';
import { fetchDeb, kernelOf } from './e2e-lib/kernels.mjs';
import { sidChroot, unpackOnce } from './e2e-lib/chroot.mjs';
import { CHECKOUT_ID, MODBTF_IN_SID, SID_TOOLS, copyModbtfIn, ensureSid, sidDownload, shq } from './e2e-lib/sid.mjs';

$.verbose = false;
$.quiet = true;
const REPO = new URL('..', import.meta.url).pathname.replace(/\/$/, '');
const ONLY = argv.only ? String(argv.only) : null;
const arches = argv.arch ? String(argv.arch).split(',') : ARCH_NAMES;
for (const a of arches) if (!ARCHES[a]) throw new Error(`--arch ${a}: one of ${ARCH_NAMES.join(', ')}`);
const DKMS_SAMPLE = argv['dkms-sample'] !== undefined ? Number(argv['dkms-sample']) : 0;
const KERNELS = argv.kernels ? String(argv.kernels).split(',').filter(Boolean) : ['7.2.13', 'trixie'];
const kernels7 = KERNELS.filter((x) => x !== 'trixie').map((x) => kernelOf(x));
const TRIXIE = argv.trixie !== false && KERNELS.includes('trixie');
const DKMS = argv.dkms !== false;
const JOBS = Number(argv.jobs ?? 2);
const W = `/build/cross-${CHECKOUT_ID}`;
const MODBTF = `node ${MODBTF_IN_SID}/dist/bundle/main.js`;
const SNIPPET = `${MODBTF_IN_SID}/Makefile.snippet`;

const t0 = Date.now();
const log = (m) => console.log(`[e2e-cross ${((Date.now() - t0) / 1000).toFixed(1).padStart(6)}s] ${m}`);
let passed = 0, failed = 0;
const results = []; // { where, pkg, form, identical, total, ok }
function check(ok, what, detail = '') {
  if (ok) passed++; else failed++;
  console.log(`    ${ok ? 'ok  ' : 'FAIL'} ${what}${detail ? `\n         ${detail.split('\n').join('\n         ')}` : ''}`);
  return ok;
}

if (!existsSync(join(REPO, 'dist/bundle/main.js'))) { console.error('dist/bundle/main.js missing: run npm run build first'); process.exit(2); }

// ---- the DKMS package's source -------------------------------------------------------------
const DKMS_PKG = 'xtables-addons-dkms';
async function dkmsSource() {
  const deb = await sidDownload(DKMS_PKG);
  const dir = join(CROSS, 'src', DKMS_PKG);
  await unpackOnce(deb, dir, log);
  const top = readdirSync(join(dir, 'usr/src')).find((d) => d.startsWith('xtables-addons-'));
  if (!top) throw new Error(`${deb}: no /usr/src/xtables-addons-<version>`);
  const version = (await $`dpkg-deb -f ${deb} Version`).stdout.trim();
  const mods = readFileSync(join(dir, 'usr/src', top, 'mconfig'), 'utf8').split('\n').map((l) => /^build_(\w+)=m$/.exec(l)?.[1]).filter(Boolean);
  return { deb, version, src: join(dir, 'usr/src', top), top, mods };
}

/**
 * A source to build: { name, src (host dir), moddir (module dir under it), vars (extra make
 * variables, given the chroot source dir), formA(S, kdir, xmake) -> script, prepare(c, S) }.
 */
function fixtureSource() {
  return {
    name: 'fixture', src: join(REPO, 'test/e2e/fixture'), moddir: '', vars: () => '',
    formA: (S, kdir, xmake) => `make -C ${S} KDIR=${kdir} MODBTF_E2E_INCLUDE=${SNIPPET} ${xmake} V=1`,
    prepare: () => {},
  };
}
function xtablesSource(x) {
  // --dkms-sample N: every k-th module of mconfig, N in all, through the package's mconfig.* hook.
  let keep = x.mods;
  if (DKMS_SAMPLE > 0 && DKMS_SAMPLE < x.mods.length) {
    const step = x.mods.length / DKMS_SAMPLE;
    keep = Array.from({ length: DKMS_SAMPLE }, (_, i) => x.mods[Math.floor(i * step)]);
  }
  return {
    name: `${DKMS_PKG} ${x.version}`, short: 'xtables-addons', src: x.src, moddir: 'extensions', modules: keep,
    // dkms.conf's MAKEARGS (V=1 as there).
    vars: (S) => `XA_ABSTOPSRCDIR=${S} XA_TOPSRCDIR=${S}`,
    // Form a for a package whose dkms.conf calls kbuild directly: a Makefile of the package
    // that includes the snippet and runs dkms.conf's make command.
    formA: (S, kdir, xmake) => `make -f ${S}/Makefile.modbtf KDIR=${kdir} ${xmake} V=1`,
    prepare: (c, S) => {
      writeFileSync(c.path(`${S}/Makefile.modbtf`), `include ${SNIPPET}\nall:\n\t$(MAKE) -C $(KDIR) M=${S}/extensions XA_ABSTOPSRCDIR=${S} XA_TOPSRCDIR=${S} modules\n`);
      if (keep !== x.mods) writeFileSync(c.path(`${S}/mconfig.modbtf-sample`), x.mods.filter((m) => !keep.includes(m)).map((m) => `build_${m}=n\n`).join(''));
    },
  };
}

// ---- builds ---------------------------------------------------------------------------------
/** All .ko files under a chroot dir, relative, sorted. */
async function kos(c, dir) {
  const r = await c.sh(`find . -name '*.ko' | sort`, { cwd: dir });
  return r.stdout.split('\n').filter(Boolean).map((p) => p.replace(/^\.\//, ''));
}

/**
 * One build of `source` in <base>/src (a fresh copy), `script` run there; every .ko kept in
 * <base>/out/<id>/. Returns { id, dir, kos, log } (chroot paths); throws with the log's tail.
 */
async function build(c, base, source, id, script) {
  const S = `${base}/src`;
  await c.sh(`rm -rf ${S} ${base}/out/${id} ${base}/out/${id}.log && mkdir -p ${base}/out/${id}`);
  c.copyIn(source.src, S);
  source.prepare(c, S);
  const logFile = `${base}/out/${id}.log`;
  const r = await c.sh(`{ ${script} ; } > ${logFile} 2>&1`, { cwd: S, nothrow: true });
  const text = readFileSync(c.path(logFile), 'utf8');
  const M = source.moddir ? `${S}/${source.moddir}` : S;
  const list = existsSync(c.path(M)) ? await kos(c, M) : [];
  if (r.exitCode !== 0 || list.length === 0) {
    const lines = text.trimEnd().split('\n');
    const key = lines.find((l) => /\berror\b|modbtf/i.test(l) && !/^make(\[\d+\])?: \*\*\*/.test(l)) ?? lines.at(-1);
    throw new Error(`${r.exitCode !== 0 ? `exit ${r.exitCode}` : 'no .ko'}: ${key?.trim()}\n${c.path(logFile)}:\n${lines.slice(-12).join('\n')}`);
  }
  for (const k of list) await c.sh(`mkdir -p $(dirname ${base}/out/${id}/${k}) && cp ${M}/${k} ${base}/out/${id}/${k}`);
  return { id, dir: `${base}/out/${id}`, kos: list, log: text, logFile };
}

/** Section headers of an ELF file (chroot path): [{ name, offset, size }]. */
async function sections(c, file) {
  const r = await c.sh(`readelf -SW ${shq(file)}`);
  const out = [];
  for (const l of r.stdout.split('\n')) {
    const m = /^\s*\[\s*\d+\]\s+(\S+)\s+\S+\s+[0-9a-f]+\s+([0-9a-f]+)\s+([0-9a-f]+)/.exec(l);
    if (m) out.push({ name: m[1], offset: parseInt(m[2], 16), size: parseInt(m[3], 16) });
  }
  return out;
}

/** Where two chroot files first differ: null when equal, else a sentence (section, offset, bytes). */
async function firstDifference(c, a, b) {
  const r = await c.sh(`cmp -l ${shq(a)} ${shq(b)} 2>&1 | head -1; stat -c %s ${shq(a)} ${shq(b)}`, { nothrow: true });
  const lines = r.stdout.trim().split('\n');
  const [sa, sb] = lines.slice(-2).map(Number);
  const m = /^\s*(\d+)\s+(\d+)\s+(\d+)/.exec(lines[0]);
  if (!m && sa === sb) return null;
  const off = m ? Number(m[1]) - 1 : Math.min(sa, sb);
  const secs = await sections(c, a);
  const sec = secs.find((s) => off >= s.offset && off < s.offset + s.size);
  const where = sec ? `section ${sec.name} (+0x${(off - sec.offset).toString(16)} of 0x${sec.size.toString(16)})` : off < 64 ? 'the ELF header' : 'outside any section (headers, padding or section table)';
  const bytes = m ? `0x${parseInt(m[2], 8).toString(16).padStart(2, '0')} vs 0x${parseInt(m[3], 8).toString(16).padStart(2, '0')}` : 'one file ends there';
  const secsB = await sections(c, b);
  const sizes = ['.BTF', '.BTF.base', '.BTF_ids'].map((n) => `${n} ${secs.find((s) => s.name === n)?.size ?? '-'}/${secsB.find((s) => s.name === n)?.size ?? '-'}`).join(', ');
  return `first differing byte at file offset ${off} (0x${off.toString(16)}), in ${where}: ${bytes}; sizes ${sa}/${sb}; ${sizes}`;
}

/**
 * Checks a modbtf form's build against its reference build: same module list, every .ko
 * byte-identical, modbtf's command in the log, no fallback warning.
 */
async function compareForm(c, label, got, ref, marker) {
  const same = got.kos.join('\n') === ref.kos.join('\n');
  check(same, `${label}: the same ${ref.kos.length} module(s) as ${ref.id}`, same ? '' : `${got.id}: ${got.kos.join(' ')}; ${ref.id}: ${ref.kos.join(' ')}`);
  let identical = 0;
  const diffs = [];
  for (const k of ref.kos) {
    if (!got.kos.includes(k)) continue;
    const d = await firstDifference(c, `${got.dir}/${k}`, `${ref.dir}/${k}`);
    if (d === null) identical++;
    else diffs.push(`${k}: ${d}`);
  }
  const modbtfLines = got.log.split("\n").filter((l) => /^modbtf: (warning|error)/.test(l));
  check(diffs.length === 0, `${label}: ${identical}/${ref.kos.length} .ko byte-identical to ${ref.id}`,
    diffs.length ? `${diffs.slice(0, 8).join('\n')}${diffs.length > 8 ? `\n... and ${diffs.length - 8} more` : ''}${modbtfLines.length ? `\nbuild log (${got.logFile}):\n${modbtfLines.slice(0, 6).join('\n')}` : ''}` : '');
  if (marker) {
    // Per module (`kbuild modfinal`), or the snippet's one process per build: each module's
    // recipe records it (V=1 shows `> .../.<module>.ko.modbtf`), then one `kbuild finalize-batch`.
    const lines = got.log.split('\n');
    const n = lines.filter((l) => l.includes(marker)).length;
    const batch = marker === 'kbuild modfinal' && lines.some((l) => l.includes('kbuild finalize-batch'));
    // The record is $(dir <module>).<name>.modbtf, and make's $(dir) always ends in "/".
    const recorded = ref.kos.filter((k) => got.log.includes(`/.${k.split('/').pop()}.modbtf`)).length;
    check(n >= ref.kos.length || (batch && recorded === ref.kos.length),
      `${label}: build log shows modbtf's command for every module (${batch ? `kbuild finalize-batch over ${recorded} recorded module(s)` : `${n} ${JSON.stringify(marker)} lines`})`);
  }
  check(modbtfLines.length === 0, `${label}: no "modbtf: warning/error" line in the build log`, modbtfLines.slice(0, 4).join('\n'));
  return { identical, total: ref.kos.length };
}

/** The control must carry .BTF and .BTF.base in every module, and a second build must give the same bytes. */
async function checkControl(c, label, plain, again) {
  let withBoth = 0;
  for (const k of plain.kos) {
    const s = await sections(c, `${plain.dir}/${k}`);
    if (s.some((x) => x.name === '.BTF') && s.some((x) => x.name === '.BTF.base')) withBoth++;
  }
  check(withBoth === plain.kos.length, `${label}: control: ${withBoth}/${plain.kos.length} modules of the plain build have .BTF and .BTF.base`);
  if (again) await compareForm(c, `${label} plain-again`, again, plain, null);
}

/** A tree's Makefiles must not carry a modbtf hook (a control built in it would be a modbtf build). */
async function assertPlainTree(c, kdir) {
  const r = await c.sh(`common=$(sed -n 's/^include //p' Makefile); ! grep -qi modbtf Makefile $common && [ ! -e scripts/Makefile.modbtf ]`, { cwd: kdir, nothrow: true });
  if (r.exitCode !== 0) throw new Error(`${kdir} has a modbtf hook installed: not a plain tree`);
}

/** Form c's tree for `arch`: the arch headers, -common and kbuild packages of the 7.x kernel k7 unpacked into <kc>. */
async function formCTree(k7, arch, kc) {
  const k = crossTree(k7, arch);
  await sidChroot.sh(`rm -rf ${kc} && mkdir -p ${kc}`);
  for (const p of k7.tree(arch)) await $`dpkg-deb -x ${await fetchDeb(p, log)} ${sidChroot.path(kc)}`;
  const kdir = `${kc}${k.kdir}`;
  await sidChroot.sh(`grep -q '^include /usr/src/' Makefile && sed -i 's#/usr/src/#${kc}/usr/src/#g' Makefile && ! grep -q ' /usr/src/' Makefile && ! grep -q '=/usr/src/' Makefile`, { cwd: kdir });
  return kdir;
}

const want = (what) => !ONLY || what.includes(ONLY);
const record = (where, pkg, form, r) => results.push({ where, pkg, form, ...r });

/** Runs `fn`, counting a throw as one failed check. */
async function step(what, fn) {
  try { return await fn(); } catch (e) { check(false, what, String(e?.message ?? e)); return undefined; }
}

// ---- sid chroot: 7.2.13, 7.3-rc7 ----------------------------------------------------------
async function sid7(k7, sources) {
  for (const arch of arches) {
    const k = crossTree(k7, arch);
    const xmake = crossMake(arch);
    const where = `${k7.channel} ${k7.short} ${arch}`;
    const kc = `${W}/${arch}-${k7.short}/kc`;
    const plains = new Map();
    for (const source of sources) {
      if (!want(`${where} ${source.name}`)) continue;
      const base = `${W}/${arch}-${k7.short}/${source.short ?? source.name}`;
      const label = `${where} ${source.name}`;
      console.log('');
      log(`${label}: ${k.kdir}, ${xmake}`);
      const S = `${base}/src`;
      const M = source.moddir ? `${S}/${source.moddir}` : S;
      const kb = (kdir, extra = '') => `make -j${JOBS} ${xmake} -C ${kdir} M=${M} ${source.vars(S)} ${extra} V=1 modules`;
      const plain = await step(`${label}: plain build`, async () => { await assertPlainTree(sidChroot, k.kdir); return build(sidChroot, base, source, 'plain', kb(k.kdir)); });
      if (!plain) continue;
      plains.set(source, { base, kb });
      log(`${label}: plain: ${plain.kos.length} modules`);
      const again = await step(`${label}: plain-again build`, () => build(sidChroot, base, source, 'plain-again', kb(k.kdir)));
      await checkControl(sidChroot, label, plain, again);
      const forms = [
        ['form-a', () => `${source.formA(S, k.kdir, `${xmake} -j${JOBS}`)}`, 'kbuild modfinal'],
        ['form-b', () => `MAKEFILES=${SNIPPET} ${kb(k.kdir)}`, 'kbuild modfinal'],
        ['form-d', () => kb(k.kdir, `RESOLVE_BTFIDS=${shq(`${MODBTF} resolve-btfids`)}`), 'resolve-btfids'],
      ];
      for (const [form, script, marker] of forms) {
        const got = await step(`${label} ${form}: build`, () => build(sidChroot, base, source, form, script()));
        if (got) record(where, source.name, form, await compareForm(sidChroot, `${label} ${form}`, got, plain, marker));
        else record(where, source.name, form, { identical: 0, total: plain.kos.length });
      }
    }
    // Form c: one fresh tree copy per arch, the plain builds there first, then the install.
    if (plains.size === 0) continue;
    console.log('');
    log(`${where}: form c (modbtf kbuild install on a fresh copy of the tree, ${kc})`);
    const kdir = await step(`${where} form-c: tree copy`, () => formCTree(k7, arch, kc));
    if (!kdir) continue;
    const refs = new Map();
    for (const [source, { base, kb }] of plains) {
      const ref = await step(`${where} ${source.name} form-c: plain build in the tree copy`, () => build(sidChroot, base, source, 'form-c-plain', kb(kdir)));
      if (ref) { refs.set(source, ref); await checkControl(sidChroot, `${where} ${source.name} (tree copy)`, ref, null); }
    }
    const inst = await sidChroot.sh(`${MODBTF} kbuild install ${shq(kdir)} 2>&1`, { nothrow: true });
    if (!check(inst.exitCode === 0, `${where}: modbtf kbuild install ${kdir}`, inst.exitCode === 0 ? inst.stdout.trim().split('\n')[0] : inst.stdout.trim())) continue;
    for (const [source, ref] of refs) {
      const { base, kb } = plains.get(source);
      const got = await step(`${where} ${source.name} form-c: build`, () => build(sidChroot, base, source, 'form-c', kb(kdir)));
      if (got) record(where, source.name, 'form-c', await compareForm(sidChroot, `${where} ${source.name} form-c`, got, ref, 'kbuild modfinal'));
      else record(where, source.name, 'form-c', { identical: 0, total: ref.kos.length });
    }
  }
}

// ---- trixie: 6.12 ------------------------------------------------------------------------
async function trixie6(sources) {
  const c = trixie;
  const node = await c.sh(`node --version && ${MODBTF} --version`, { nothrow: true });
  if (!check(node.exitCode === 0, `trixie: the host's node binary runs modbtf there (${node.stdout.trim().replace(/\n/g, ', ')})`, node.stderr.trim())) return;
  const pahole = (await c.sh('pahole --version')).stdout.trim();
  for (const arch of arches) {
    const k = k6(arch);
    const xmake = crossMake(arch);
    const where = `trixie ${k.short} ${arch}`;
    for (const source of sources) {
      if (!want(`${where} ${source.name}`)) continue;
      const label = `${where} ${source.name}`;
      const base = `${W}/${arch}-${k.short}/${source.short ?? source.name}`;
      console.log('');
      log(`${label}: ${k.kdir}, ${xmake}, pahole ${pahole}`);
      const S = `${base}/src`;
      const M = source.moddir ? `${S}/${source.moddir}` : S;
      const kb = (extra = '') => `make -j${JOBS} ${xmake} -C ${k.kdir} M=${M} ${source.vars(S)} ${extra} V=1 modules`;
      const plain = await step(`${label}: plain build`, async () => { await assertPlainTree(c, k.kdir); return build(c, base, source, 'plain', kb()); });
      if (!plain) continue;
      log(`${label}: plain: ${plain.kos.length} modules`);
      const again = await step(`${label}: plain-again build`, () => build(c, base, source, 'plain-again', kb()));
      await checkControl(c, label, plain, again);
      for (const [form, script] of [['form-b', () => `MAKEFILES=${SNIPPET} ${kb()}`], ['form-a', () => source.formA(S, k.kdir, `${xmake} -j${JOBS}`)]]) {
        const got = await step(`${label} ${form}: build`, () => build(c, base, source, form, script()));
        if (got) record(where, source.name, form, await compareForm(c, `${label} ${form}`, got, plain, 'kbuild modfinal'));
        else record(where, source.name, form, { identical: 0, total: plain.kos.length });
      }
    }
  }
}

// ---- main --------------------------------------------------------------------------------
let sources = [fixtureSource()];
if (kernels7.length) {
  for (const k7 of kernels7) {
    log(`setup: sid chroot with cross toolchains and ${k7.short} headers for ${arches.join(', ')}`);
    await ensureCrossSid({ arches, log, kernel: k7 });
  }
  copyModbtfIn(REPO);
  await sidChroot.sh(`rm -rf ${W} && mkdir -p ${W}`);
}
if (DKMS) {
  if (!kernels7.length) await ensureSid(SID_TOOLS, log); // the package's source comes from sid
  const x = await dkmsSource();
  sources = [fixtureSource(), xtablesSource(x)];
  log(`sources: test/e2e/fixture; ${DKMS_PKG} ${x.version} (${x.mods.length} modules in mconfig${DKMS_SAMPLE ? `, sample of ${sources[1].modules.length}: ${sources[1].modules.join(' ')}` : ''})`);
} else log('sources: test/e2e/fixture');
if (kernels7.length) {
  const tools = (await sidChroot.sh(`for a in ${arches.map((a) => ARCHES[a].triple).join(' ')}; do $a-gcc-16 --version | head -1; $a-objcopy --version | head -1; done; pahole --version`)).stdout.trim();
  log(`sid tools: ${tools.replace(/\n/g, '; ')}`);
}
for (const k7 of kernels7) await sid7(k7, sources);

if (TRIXIE && (!ONLY || 'trixie'.includes(ONLY) || ONLY.startsWith('trixie'))) {
  console.log('');
  log(`setup: trixie chroot (${trixie.root}) with 6.12 kbuild, pahole 1.30, cross toolchains`);
  const ok = await step('trixie chroot setup', async () => {
    await ensureCrossTrixie({ arches, log });
    copyModbtfIn(REPO, trixie.root);
    await trixie.sh(`rm -rf ${W} && mkdir -p ${W}`);
    return true;
  });
  if (ok) await trixie6(sources);
}

console.log('\nsummary (modules byte-identical to the reference build / modules built):');
console.log(`  ${'where'.padEnd(20)} ${'source'.padEnd(28)} ${'form'.padEnd(8)} identical`);
for (const r of results) console.log(`  ${r.where.padEnd(20)} ${r.pkg.padEnd(28)} ${r.form.padEnd(8)} ${r.identical}/${r.total}`);
console.log(`total time ${((Date.now() - t0) / 1000).toFixed(1)} s`);
console.log(`${passed} passed, ${failed} failed`);
process.exitCode = failed > 0 ? 1 : 0;
