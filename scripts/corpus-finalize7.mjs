#!/usr/bin/env node
// `modbtf finalize` in the kernel 7.x profile over Debian's 7.2.13 modules, against
// Debian's resolve_btfids 7.2.13 run on the same input (issue 11):
//
//   node scripts/corpus-finalize7.mjs [--count N] [--jobs J] [--show N] [TREE]
//
//   TREE        the 7.2.13 image's modules (default: $MODBTF_CACHE/root7/usr/lib/modules/7.2.13+deb14-amd64/kernel)
//   --count N   every k-th module of the sorted list, N in all (default: every module)
//
// The reference, per module: resolve_btfids, in the sid chroot, with the module's own .BTF
// as --btf, with --distill_base (what an M= build writes) and without (in-tree). A shipped
// module's .BTF_ids is that tool's output already, and the tool run on it again pairs set8
// ids with other kfuncs' flags, so it is given the module with .BTF_ids back in the pristine
// layout (modbtf's recoverPristine) — accepted only when the tool, without distilling, gives
// the shipped .BTF and .BTF_ids byte for byte ("pristine ok").
// Ours: `modbtf finalize --kernel-abi 7 --strip-signature` on copies of the shipped modules
// (decompressed), with --distill and with --no-distill; .BTF, .BTF.base and .BTF_ids of the
// result are compared with the tool's files. --no-distill must also leave the ELF as shipped.
// Prints `N identical, M different`; exit 1 when anything differs.
import { spawnSync } from 'node:child_process';
import { availableParallelism } from 'node:os';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { parseArgs } from 'node:util';
import { decompress, eachConcurrently, repo, walkModules } from './lib/corpus.mjs';
import { ensureKernel7, kernel72 } from './e2e-lib/kernel7.mjs';
import { CHECKOUT_ID, sidPath, sidSh } from './e2e-lib/sid.mjs';

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    count: { type: 'string' },
    jobs: { type: 'string', default: String(Math.max(1, availableParallelism())) },
    show: { type: 'string', default: '20' },
  },
});
const t0 = Date.now();
const log = (m) => console.log(`[corpus-finalize7 ${((Date.now() - t0) / 1000).toFixed(1).padStart(6)}s] ${m}`);
await ensureKernel7({ log });
const tree = positionals[0] ?? join(kernel72.modules, 'kernel');
const jobs = Number(values.jobs);
const { parseElf } = await import(join(repo, 'dist/lib/elf/index.js'));
const { Btf } = await import(join(repo, 'dist/lib/btf/btf.js'));
const { scanBtfIds, resolveNames, recoverPristine } = await import(join(repo, 'dist/lib/btfids/index.js'));
const { findModuleSignature } = await import(join(repo, 'dist/lib/module/signature.js'));

let files = [...walkModules(tree)];
if (values.count !== undefined) {
  const n = Number(values.count);
  const step = Math.max(1, Math.floor(files.length / n));
  files = files.filter((_, i) => i % step === 0).slice(0, n);
}
log(`${files.length} modules of ${tree}`);

// Work area inside the chroot: <i>/m.ko (pristine layout), <i>/m.btf; ours in ours-{distill,nodistill}/<i>.ko.
const W = `/build/corpus-finalize7-${CHECKOUT_ID}`;
const host = (p) => sidPath(join(W, p));
rmSync(host(''), { recursive: true, force: true });
mkdirSync(host('ours-distill'), { recursive: true });
mkdirSync(host('ours-nodistill'), { recursive: true });
const vmBtf = (() => {
  // The headers' vmlinux is an ELF holding .BTF.
  const elf = parseElf(new Uint8Array(readFileSync(kernel72.vmlinux)));
  return Btf.parse(elf.sectionData(elf.sectionByName('.BTF')));
})();

const shipped = new Array(files.length);
let noPristine = 0;
await eachConcurrently(files.map((f, i) => [f, i]), jobs, async ([file, i]) => {
  const plain = await decompress(file);
  const sig = findModuleSignature(plain);
  const elfBytes = sig === undefined ? plain : plain.subarray(0, sig.offset);
  const elf = parseElf(elfBytes, { file });
  const btfSec = elf.sectionByName('.BTF');
  const btf = elf.sectionData(btfSec);
  const pristine = new Uint8Array(elfBytes);
  const layout = scanBtfIds(elf, { abi: 7 }).layout;
  const ids = elf.sectionByName('.BTF_ids');
  if (layout !== undefined && ids !== undefined) {
    const p = recoverPristine(layout, resolveNames(layout, Btf.parse(btf, { base: vmBtf })), elf.sectionData(ids), 7);
    if (p === undefined) noPristine++;
    else pristine.set(p, ids.offset);
  }
  mkdirSync(host(String(i)), { recursive: true });
  writeFileSync(host(`${i}/m.ko`), pristine);
  writeFileSync(host(`${i}/m.btf`), btf);
  writeFileSync(host(`ours-distill/${i}.ko`), plain);
  writeFileSync(host(`ours-nodistill/${i}.ko`), plain);
  shipped[i] = { file, elfBytes: new Uint8Array(elfBytes), btf: new Uint8Array(btf), ids: ids ? new Uint8Array(elf.sectionData(ids)) : undefined };
});
log(`inputs written (${noPristine} with a .BTF_ids that does not invert)`);

// The reference: resolve_btfids in the chroot, one shell per lane over its share of modules.
const RB = `${kernel72.kdirInSid}/tools/bpf/resolve_btfids/resolve_btfids`;
const lanes = Array.from({ length: jobs }, (_, l) => files.map((_, i) => i).filter((i) => i % jobs === l));
await Promise.all(lanes.map((list) => sidSh(`for i in ${list.join(' ')}; do cd ${W}/$i && mkdir -p d n && cp m.ko d/ && cp m.ko n/ && (cd d && ${RB} --distill_base --btf_base ${kernel72.vmlinuxInSid} --btf ../m.btf m.ko; echo $? > exit) && (cd n && ${RB} --btf_base ${kernel72.vmlinuxInSid} --btf ../m.btf m.ko; echo $? > exit); done 2>/dev/null`)));
log('resolve_btfids 7.2.13 done');

// Ours: the real command over the copies.
const cli = join(repo, 'dist/bundle/main.js');
for (const mode of ['distill', 'nodistill']) {
  const r = spawnSync(process.execPath, [cli, 'finalize', '--kernel-abi', '7', mode === 'distill' ? '--distill' : '--no-distill', '--strip-signature', '-j', String(jobs), '-b', kernel72.vmlinux, host(`ours-${mode}`)], { encoding: 'utf8', env: { ...process.env, OBJCOPY: 'objcopy', LLVM_OBJCOPY: '' }, maxBuffer: 1 << 30 });
  if (r.status !== 0 && r.status !== 1) throw new Error(`modbtf finalize (${mode}) exited ${r.status}:\n${r.stderr.slice(-4000)}`);
  log(`modbtf finalize --${mode === 'distill' ? '' : 'no-'}distill done`);
}

const sections = (bytes) => {
  const elf = parseElf(bytes);
  const get = (n) => { const s = elf.sectionByName(n); return s ? new Uint8Array(elf.sectionData(s)) : undefined; };
  return { BTF: get('.BTF'), 'BTF.base': get('.BTF.base'), BTF_ids: get('.BTF_ids') };
};
const same = (a, b) => (a === undefined && b === undefined) || (a !== undefined && b !== undefined && Buffer.compare(Buffer.from(a), Buffer.from(b)) === 0);
const readOpt = (p) => (existsSync(p) ? new Uint8Array(readFileSync(p)) : undefined);
let identical = 0, different = 0, pristineOk = 0, pristineBad = 0, errors = 0;
const shown = [];
for (let i = 0; i < files.length; i++) {
  const s = shipped[i];
  const rel = relative(tree, s.file);
  const diffs = [];
  // Validation of the pristine layout: the tool without distilling gives the shipped sections.
  const nBtf = readOpt(host(`${i}/n/m.ko.BTF`));
  const nIds = readOpt(host(`${i}/n/m.ko.BTF_ids`));
  if (readFileSync(host(`${i}/n/exit`), 'utf8').trim() !== '0' || readFileSync(host(`${i}/d/exit`), 'utf8').trim() !== '0') { errors++; diffs.push('resolve_btfids failed'); }
  if (same(nBtf, s.btf) && same(nIds, s.ids)) pristineOk++;
  else { pristineBad++; diffs.push('the tool on the recovered pristine layout does not give the shipped sections'); }
  for (const mode of ['distill', 'nodistill']) {
    const ours = sections(new Uint8Array(readFileSync(host(`ours-${mode}/${i}.ko`))));
    const dir = mode === 'distill' ? 'd' : 'n';
    for (const sec of ['BTF', 'BTF.base', 'BTF_ids']) {
      const ref = readOpt(host(`${i}/${dir}/m.ko.${sec}`));
      if (!same(ours[sec], ref)) diffs.push(`${mode} .${sec}`);
    }
  }
  const nodistillElf = new Uint8Array(readFileSync(host(`ours-nodistill/${i}.ko`)));
  if (!same(nodistillElf, s.elfBytes)) diffs.push('--no-distill changed the ELF');
  if (diffs.length === 0) identical++;
  else { different++; if (shown.length < Number(values.show)) shown.push(`  ${rel}: ${diffs.join(', ')}`); }
}
rmSync(host(''), { recursive: true, force: true });
if (shown.length > 0) console.log(`different:\n${shown.join('\n')}`);
console.log(`pristine layout: ${pristineOk} ok, ${pristineBad} not (resolve_btfids without distill reproduces the shipped .BTF/.BTF_ids from it)`);
console.log(`${files.length} modules: ${identical} identical, ${different} different, ${errors} errors (finalize --kernel-abi 7 --distill / --no-distill vs resolve_btfids 7.2.13 --distill_base / in-tree) in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
process.exitCode = different > 0 ? 1 : 0;
