#!/usr/bin/env node
// The kernel 7.3 step over every module of Debian experimental's
// linux-image-7.3-cloud-amd64-dbg (1,018 unstripped modules), against the tree's own
// resolve_btfids 7.3 on the same input (issue 17):
//
//   node scripts/corpus-finalize73.mjs [--count N] [--jobs J] [--show N]
//
//   --count N   every k-th module of the sorted list, N in all (default: every module)
//
// Input, per module X.ko (the unstripped module: DWARF, symbols, .BTF_ids as resolved by the
// 7.3 build): pahole 1.32's --btf_encode_detached output X.BTF.1 with the 7.3 tree's flags over
// the cloud kernel's vmlinux (linux-headers-7.3-cloud-amd64; cached in
// $MODBTF_CACHE/dbg73-pahole, keyed by the flags), and X.ko with .BTF_ids back as linked (the
// pristine layout of modbtf's recoverPristine with every word but the set8 flags zeroed;
// "confirmed" when the tool, given the module's own .BTF, writes the module's .BTF_ids byte
// for byte from it).
// Reference: `resolve_btfids [--distill_base] --btf_base vmlinux --btf X.BTF.1 X.ko` (7.3, in
// the sid chroot). Ours on the same input: `modbtf resolve-btfids` with the same arguments
// (files, stderr, exit status), and `modbtf finalize --kernel-abi 7.3 --distill / --no-distill`
// on X.ko with its .BTF replaced by X.BTF.1 (.BTF, .BTF.base, .BTF_ids of the result).
// Prints `N identical, M different` per comparison; exit 1 when anything differs.
import { spawnSync } from 'node:child_process';
import { availableParallelism } from 'node:os';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { parseArgs } from 'node:util';
import { $ } from 'zx';
import { eachConcurrently, repo, walkModules } from './lib/corpus.mjs';
import { VERSION73, ensureKernel73Tree, experimentalDownload, sidView } from './e2e-lib/kernel7.mjs';
import { CHECKOUT_ID, shq, sidPath, sidSh } from './e2e-lib/sid.mjs';

const { values } = parseArgs({
  options: {
    count: { type: 'string' },
    jobs: { type: 'string', default: String(Math.max(1, availableParallelism())) },
    show: { type: 'string', default: '20' },
  },
});
$.verbose = false;
const CACHE = process.env.MODBTF_CACHE ?? '/var/cache/modbtf';
const t0 = Date.now();
const log = (m) => console.log(`[corpus-finalize73 ${((Date.now() - t0) / 1000).toFixed(1).padStart(6)}s] ${m}`);
const jobs = Number(values.jobs);
if (process.getuid?.() !== 0) throw new Error('corpus-finalize73 needs root (the sid chroot)');

// The tree's resolve_btfids; the -dbg modules and the cloud headers, unpacked once.
const { resolveBtfids: RB } = await ensureKernel73Tree(log);
const root = join(CACHE, 'dbg73');
mkdirSync(root, { recursive: true });
for (const spec of [`linux-image-7.3-cloud-amd64-dbg=${VERSION73}`, `linux-headers-7.3-cloud-amd64=${VERSION73}`]) {
  let deb;
  try {
    deb = await experimentalDownload(spec, log);
  } catch (err) {
    // Not in the local cache and no longer in the archive: nothing to compare, not a failure.
    console.log(`skipped: ${spec.split('=')[0]} is no longer in the archive (${String(err?.message ?? err).split('\n')[0]})`);
    process.exit(0);
  }
  const stamp = join(root, `.${deb.split('/').pop()}.unpacked`);
  if (existsSync(stamp)) continue;
  log(`unpack ${deb.split('/').pop()} into ${root}`);
  await $`dpkg-deb -x ${deb} ${root}`;
  writeFileSync(stamp, `${new Date().toISOString()}\n`);
}
const tree = join(root, 'usr/lib/debug/lib/modules/7.3-cloud-amd64/kernel');
const vmlinux = join(root, 'usr/src/linux-headers-7.3-cloud-amd64/vmlinux');

let files = [...walkModules(tree, /\.ko$/)];
if (values.count !== undefined) {
  const n = Number(values.count);
  const step = Math.max(1, Math.floor(files.length / n));
  files = files.filter((_, i) => i % step === 0).slice(0, n);
}
log(`${files.length} modules of ${tree}`);

const { parseElf } = await import(join(repo, 'dist/lib/elf/index.js'));
const { Btf } = await import(join(repo, 'dist/lib/btf/btf.js'));
const { scanBtfIds, resolveNames, recoverPristine } = await import(join(repo, 'dist/lib/btfids/index.js'));
const vmElf = parseElf(new Uint8Array(readFileSync(vmlinux)));
const vmBtf = Btf.parse(vmElf.sectionData(vmElf.sectionByName('.BTF')));

/**
 * `.BTF_ids` as the linker leaves it: 0 everywhere but in set8 header and pair flags (the
 * pristine layout recoverPristine gives still holds the ids in their symbols' slots).
 */
function asLinked(layout, p) {
  const out = new Uint8Array(p.length);
  const dv = new DataView(p.buffer, p.byteOffset, p.byteLength);
  const ov = new DataView(out.buffer);
  const copy = (at) => { if (at + 4 <= p.length) ov.setUint32(at, dv.getUint32(at, true), true); };
  for (const set of layout.sets.values()) {
    if (set.kind !== 'set8') continue;
    const off = Number(set.addr - layout.sectionAddr);
    copy(off + 4);
    for (let i = 0; i < set.cnt; i++) copy(off + 12 + i * 8);
  }
  return out;
}

// pahole 1.32 with what the 7.3 tree's Makefile.btf passes it (-j1: the lanes run in parallel).
const FLAGS = '-j1 --btf_features=encode_force,var,float,enum64,decl_tag,type_tag,optimized_func,consistent_func --btf_features=layout --lang_exclude=rust';
const paholeCache = join(CACHE, 'dbg73-pahole');
const flagsKey = join(paholeCache, '.flags');
if (!existsSync(flagsKey) || readFileSync(flagsKey, 'utf8') !== `${FLAGS}\n`) rmSync(paholeCache, { recursive: true, force: true });
mkdirSync(paholeCache, { recursive: true });
writeFileSync(flagsKey, `${FLAGS}\n`);
const rel = files.map((f) => relative(tree, f));
const view = sidView(tree, 'dbg73-modules');
const vmView = sidView(vmlinux, 'dbg73-vmlinux');
const todo = rel.map((r, i) => i).filter((i) => !existsSync(join(paholeCache, `${rel[i]}.BTF.1`)));
if (todo.length > 0) {
  log(`pahole 1.32 on ${todo.length} modules (${files.length - todo.length} cached)`);
  const lanes = Array.from({ length: jobs }, (_, l) => todo.filter((_, k) => k % jobs === l));
  // One script file per lane (a command line that long exceeds the kernel's argument limit).
  mkdirSync(sidPath(`/tmp/p73-${CHECKOUT_ID}`), { recursive: true });
  const failed = await Promise.all(lanes.map(async (list, l) => {
    const script = `/tmp/p73-${CHECKOUT_ID}/lane${l}.sh`;
    writeFileSync(sidPath(script), `${list.map((i) => `mkdir -p ${shq(`/tmp/p73-${CHECKOUT_ID}/${rel[i]}`.replace(/\/[^/]*$/, ''))} && pahole -J ${FLAGS} --btf_base ${vmView} --btf_encode_detached=${shq(`/tmp/p73-${CHECKOUT_ID}/${rel[i]}.BTF.1`)} ${shq(`${view}/${rel[i]}`)} >/dev/null 2>&1 || echo "pahole failed on ${rel[i]}"`).join('\n')}\n`);
    return (await sidSh(`sh ${script}`)).stdout.trim();
  }));
  const fails = failed.filter((f) => f !== '').join('\n');
  if (fails !== '') log(fails);
  // pahole writes into the chroot's /tmp; the cache is a host directory (its view may be a copy).
  for (const i of todo) {
    const out = sidPath(`/tmp/p73-${CHECKOUT_ID}/${rel[i]}.BTF.1`);
    if (!existsSync(out)) continue;
    mkdirSync(join(paholeCache, rel[i], '..'), { recursive: true });
    writeFileSync(join(paholeCache, `${rel[i]}.BTF.1`), readFileSync(out));
  }
  await sidSh(`rm -rf /tmp/p73-${CHECKOUT_ID}`);
}

// Work area in the chroot: <i>/m.ko (pristine), m.ko.BTF.1, own.btf; tool in d/ n/, ours in rd/ rn/ (resolve-btfids), fin-d/ fin-n/ (finalize).
const W = `/build/corpus-finalize73-${CHECKOUT_ID}`;
const host = (p) => sidPath(join(W, p));
rmSync(host(''), { recursive: true, force: true });
for (const d of ['fin-distill', 'fin-nodistill']) mkdirSync(host(d), { recursive: true });
const inputs = new Array(files.length);
let noPahole = 0, noPristine = 0;
await eachConcurrently(files.map((f, i) => [f, i]), jobs, async ([file, i]) => {
  const btf1 = join(paholeCache, `${rel[i]}.BTF.1`);
  if (!existsSync(btf1)) { noPahole++; return; }
  const bytes = new Uint8Array(readFileSync(file));
  const elf = parseElf(bytes, { file });
  const own = elf.sectionByName('.BTF');
  const pristine = new Uint8Array(bytes);
  const layout = scanBtfIds(elf, { abi: 7 }).layout;
  const ids = elf.sectionByName('.BTF_ids');
  if (layout !== undefined && ids !== undefined && own !== undefined) {
    const p = recoverPristine(layout, resolveNames(layout, Btf.parse(elf.sectionData(own), { base: vmBtf })), elf.sectionData(ids), 7);
    if (p === undefined) noPristine++;
    else pristine.set(asLinked(layout, p), ids.offset);
  }
  mkdirSync(host(String(i)), { recursive: true });
  writeFileSync(host(`${i}/m.ko`), pristine);
  writeFileSync(host(`${i}/m.ko.BTF.1`), readFileSync(btf1));
  if (own !== undefined) writeFileSync(host(`${i}/own.btf`), elf.sectionData(own));
  inputs[i] = { file, ids: ids !== undefined ? new Uint8Array(elf.sectionData(ids)) : undefined, hasOwn: own !== undefined };
});
log(`inputs written (${noPahole} without pahole output, ${noPristine} with a .BTF_ids that does not invert)`);
const present = files.map((_, i) => i).filter((i) => inputs[i] !== undefined);

// finalize's input: the pristine module with pahole's BTF as its .BTF (x86_64 objcopy in the chroot).
const lanes = Array.from({ length: jobs }, (_, l) => present.filter((_, k) => k % jobs === l));
await Promise.all(lanes.map((list) => sidSh(`for i in ${list.join(' ')}; do cd ${W}/$i && x86_64-linux-gnu-objcopy --remove-section .BTF m.ko fin.ko && x86_64-linux-gnu-objcopy --add-section .BTF=m.ko.BTF.1 fin.ko && cp fin.ko ../fin-distill/$i.ko && cp fin.ko ../fin-nodistill/$i.ko; done`)));

// The reference, and `modbtf resolve-btfids` with the same command lines (node in the chroot).
const VM = vmView;
const tool = (dir, cmd, flags) => `mkdir -p ${dir} && cp m.ko m.ko.BTF.1 ${dir}/ && (cd ${dir} && ${cmd} ${flags} --btf_base ${VM} --btf m.ko.BTF.1 m.ko 2>stderr; echo $? > exit)`;
let tRef = 0, tOurs = 0;
{
  const s = Date.now();
  await Promise.all(lanes.map((list) => sidSh(`for i in ${list.join(' ')}; do cd ${W}/$i && ${tool('d', RB, '--distill_base')} && ${tool('n', RB, '')} && { [ ! -f own.btf ] || { mkdir -p o && cp m.ko o/ && (cd o && ${RB} --btf_base ${VM} --btf ../own.btf m.ko 2>/dev/null; echo $? > exit); }; }; done`)));
  tRef = Date.now() - s;
}
log(`resolve_btfids 7.3 done (${(tRef / 1000).toFixed(1)} s)`);
const { copyModbtfIn } = await import('./e2e-lib/sid.mjs');
const inSid = copyModbtfIn(repo);
const MB = `node ${inSid}/dist/bundle/main.js resolve-btfids`;
{
  const s = Date.now();
  await Promise.all(lanes.map((list) => sidSh(`for i in ${list.join(' ')}; do cd ${W}/$i && ${tool('rd', MB, '--distill_base')} && ${tool('rn', MB, '')}; done`)));
  tOurs = Date.now() - s;
}
log(`modbtf resolve-btfids done (${(tOurs / 1000).toFixed(1)} s)`);

const cli = join(repo, 'dist/bundle/main.js');
const finTimes = {};
for (const mode of ['distill', 'nodistill']) {
  const s = Date.now();
  const r = spawnSync(process.execPath, [cli, 'finalize', '--kernel-abi', '7.3', mode === 'distill' ? '--distill' : '--no-distill', '--strip-signature', '-j', String(jobs), '-b', vmlinux, host(`fin-${mode}`)], { encoding: 'utf8', env: { ...process.env, OBJCOPY: 'objcopy', LLVM_OBJCOPY: '' }, maxBuffer: 1 << 30 });
  finTimes[mode] = Date.now() - s;
  if (r.status !== 0 && r.status !== 1) throw new Error(`modbtf finalize (${mode}) exited ${r.status}:\n${r.stderr.slice(-4000)}`);
  log(`modbtf finalize --kernel-abi 7.3 --${mode === 'distill' ? '' : 'no-'}distill done (${(finTimes[mode] / 1000).toFixed(1)} s)`);
}

const sections = (bytes) => {
  const elf = parseElf(bytes);
  const get = (n) => { const s = elf.sectionByName(n); return s ? new Uint8Array(elf.sectionData(s)) : undefined; };
  return { BTF: get('.BTF'), 'BTF.base': get('.BTF.base'), BTF_ids: get('.BTF_ids') };
};
const same = (a, b) => (a === undefined && b === undefined) || (a !== undefined && b !== undefined && Buffer.compare(Buffer.from(a), Buffer.from(b)) === 0);
const readOpt = (p) => (existsSync(p) ? new Uint8Array(readFileSync(p)) : undefined);
const counts = { rb: [0, 0], fin: [0, 0] };
let pristineOk = 0, pristineBad = 0, toolFailed = 0;
const shown = [];
for (const i of present) {
  const s = inputs[i];
  const name = rel[i];
  const diffs = { rb: [], fin: [] };
  if (s.ids !== undefined && s.hasOwn) {
    if (readFileSync(host(`${i}/o/exit`), 'utf8').trim() === '0' && same(readOpt(host(`${i}/o/m.ko.BTF_ids`)), s.ids)) pristineOk++;
    else { pristineBad++; diffs.rb.push('pristine layout not confirmed by the tool'); }
  }
  for (const [mode, ref, ours] of [['distill', 'd', 'rd'], ['nodistill', 'n', 'rn']]) {
    if (readFileSync(host(`${i}/${ref}/exit`), 'utf8').trim() !== '0') toolFailed++;
    for (const f of ['exit', 'stderr']) if (!same(readOpt(host(`${i}/${ours}/${f}`)), readOpt(host(`${i}/${ref}/${f}`)))) diffs.rb.push(`${mode} ${f}`);
    for (const sec of ['BTF', 'BTF.base', 'BTF_ids']) {
      const want = readOpt(host(`${i}/${ref}/m.ko.${sec}`));
      if (!same(readOpt(host(`${i}/${ours}/m.ko.${sec}`)), want)) diffs.rb.push(`${mode} .${sec}`);
      const fin = sections(new Uint8Array(readFileSync(host(`fin-${mode}/${i}.ko`))));
      // finalize writes no .BTF.base without distilling, and keeps .BTF_ids (pristine) when the tool writes none.
      const finWant = sec === 'BTF_ids' && want === undefined ? fin[sec] : want;
      if (!same(fin[sec], finWant)) diffs.fin.push(`${mode} .${sec}`);
    }
  }
  for (const k of ['rb', 'fin']) {
    counts[k][diffs[k].length === 0 ? 0 : 1]++;
    if (diffs[k].length > 0 && shown.length < Number(values.show)) shown.push(`  ${name} (${k === 'rb' ? 'resolve-btfids' : 'finalize'}): ${diffs[k].join(', ')}`);
  }
}
rmSync(host(''), { recursive: true, force: true });
if (shown.length > 0) console.log(`different:\n${shown.join('\n')}`);
if (noPahole > 0) console.log(`${noPahole} modules not compared: pahole wrote no BTF for them`);
console.log(`pristine layout: ${pristineOk} confirmed, ${pristineBad} not; resolve_btfids 7.3 failed (exit != 0) on ${toolFailed} runs`);
console.log(`wall: resolve_btfids 7.3 ${(tRef / 1000).toFixed(1)} s, modbtf resolve-btfids ${(tOurs / 1000).toFixed(1)} s (both: 2 runs per module, ${jobs} lanes, one process per run); modbtf finalize -j ${jobs}: --distill ${(finTimes.distill / 1000).toFixed(1)} s, --no-distill ${(finTimes.nodistill / 1000).toFixed(1)} s`);
console.log(`${present.length} modules: modbtf resolve-btfids ${counts.rb[0]} identical, ${counts.rb[1]} different; modbtf finalize --kernel-abi 7.3 ${counts.fin[0]} identical, ${counts.fin[1]} different (vs resolve_btfids 7.3 --distill_base / in-tree: .BTF .BTF.base .BTF_ids, and stderr and exit status for resolve-btfids) in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
process.exitCode = counts.rb[1] + counts.fin[1] + pristineBad + noPahole > 0 || present.length === 0 ? 1 : 0;
