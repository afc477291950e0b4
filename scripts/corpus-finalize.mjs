#!/usr/bin/env node
// Runs `modbtf finalize --distill --strip-signature` (the CLI, worker threads,
// decompression and xz recompression included) over a copy of a whole /lib/modules
// tree, then checks what it wrote:
//   - every module reads back with our parser: it has .BTF.base, its .BTF parses over
//     it, validateBtf finds nothing, the signature is gone;
//   - a second run reports every module unchanged and leaves every file
//     byte-identical (sha256 of each file before and after).
// Prints wall time and peak RSS of each finalize process, where the time went
// (MODBTF_TIMING phases summed over all modules), counts, and `N identical, M different`.
// Exits 1 on any problem. The copy is removed afterwards unless --keep.
//
//   node scripts/corpus-finalize.mjs [--base V107] [--jobs N] [--keep] [TREE]
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { cpSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { fileURLToPath } from 'node:url';

const root = resolve(fileURLToPath(new URL('..', import.meta.url)));
const cache = process.env.MODBTF_CACHE ?? '/var/cache/modbtf';
// MODBTF_CLI: another build of the CLI (a copy of dist/bundle that a concurrent build cannot replace mid-run).
const cli = process.env.MODBTF_CLI ?? join(root, 'dist/bundle/main.js');
const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    base: { type: 'string', default: `${cache}/root/usr/src/linux-headers-6.12.107+deb12-amd64/vmlinux` },
    jobs: { type: 'string', default: '2' },
    keep: { type: 'boolean', default: false },
  },
});
const tree = positionals[0] ?? `${cache}/root/lib/modules/6.12.107+deb12-amd64/kernel`;
const { expandModulePaths, loadBtfFile, validateBtf } = await import(join(root, 'dist/lib/index.js'));
const { decompressBatch } = await import(join(root, 'dist/lib/module/compress.js'));

const work = mkdtempSync(join(tmpdir(), 'modbtf-corpus-finalize-'));
const copy = join(work, 'kernel');
let t0 = Date.now();
cpSync(tree, copy, { recursive: true });
console.log(`copied ${tree} to ${copy} in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
const files = await expandModulePaths([copy]);
const problems = [];
const problem = (text) => { problems.push(text); if (problems.length <= 50) console.log(`PROBLEM ${text}`); };

const PHASES = ['load', 'vmlinux', 'btf', 'distill', 'btfIds', 'rewrite', 'compress', 'write'];
function finalize(label) {
  const t = Date.now();
  const r = spawnSync('/usr/bin/time', ['-f', '%M', process.execPath, cli, 'finalize', '--distill', '--strip-signature',
    '-b', values.base, '-j', values.jobs, '--json', copy], { encoding: 'utf8', maxBuffer: 1 << 30, env: { ...process.env, MODBTF_TIMING: '1' } });
  const secs = (Date.now() - t) / 1000;
  const lines = r.stderr.trim().split('\n');
  const rssKb = Number(lines.pop());
  const sums = Object.fromEntries(PHASES.map((p) => [p, 0]));
  for (const l of lines) {
    const m = /^timing: .*?: (load [\d.]+, .* ms)$/.exec(l);
    if (!m) { if (!l.startsWith('timing: startup')) process.stderr.write(`${l}\n`); continue; }
    for (const part of m[1].replace(/ ms$/, '').split(', ')) {
      const [k, v] = part.split(' ');
      if (k in sums) sums[k] += Number(v);
    }
  }
  let doc;
  try { doc = JSON.parse(r.stdout); } catch { problem(`${label}: no JSON report (exit status ${r.status})`); return undefined; }
  const s = doc.summary;
  const total = PHASES.reduce((n, p) => n + sums[p], 0);
  console.log(`${label}: modbtf finalize -j ${values.jobs}: ${s.modules} modules in ${secs.toFixed(1)} s wall, peak RSS ${(rssKb / 1024).toFixed(0)} MB, exit ${r.status}; ${s.written} written, ${s.unchanged} unchanged, ${s.errors} errors, ${s.warnings} warnings; ${(s.sizeBefore / 2 ** 20).toFixed(1)} -> ${(s.sizeAfter / 2 ** 20).toFixed(1)} MiB`);
  console.log(`  thread time ${(total / 1000).toFixed(1)} s: ${PHASES.map((p) => `${p} ${(sums[p] / 1000).toFixed(1)} s (${total ? ((100 * sums[p]) / total).toFixed(0) : 0}%)`).join(', ')}`);
  if (r.status !== 0) problem(`${label}: exit status ${r.status}`);
  for (const m of doc.modules) if (m.status === 'error') problem(`${label}: ${m.error?.text ?? m.file}`);
  if (s.modules !== files.length) problem(`${label}: ${s.modules} modules reported, ${files.length} in the tree`);
  return doc;
}

function hashes() {
  return new Map(files.map((f) => [f, createHash('sha256').update(readFileSync(f)).digest('hex')]));
}

// 1. Finalize the copy.
const first = finalize('run 1');
if (first && first.summary.written !== files.length) problem(`run 1: ${first.summary.written} of ${files.length} modules written (all are signed: each must change)`);

// 2. Every module reads back with our parser.
t0 = Date.now();
let parsed = 0, baseTypes = 0;
for (let i = 0; i < files.length; i += 64) {
  const batch = files.slice(i, i + 64);
  const plain = await decompressBatch(batch);
  for (let k = 0; k < batch.length; k++) {
    const f = batch[k];
    const name = relative(copy, f);
    try {
      const loaded = await loadBtfFile(f, plain[k] ? { predecompressed: plain[k] } : {});
      if (!loaded.distilledBase) { problem(`${name}: no .BTF.base`); continue; }
      if (loaded.module?.signature) problem(`${name}: still signed`);
      const bad = validateBtf(loaded.btf, { limit: 1 });
      if (bad.length > 0) { problem(`${name}: .BTF over .BTF.base does not validate: ${bad[0].describe()}`); continue; }
      baseTypes += loaded.distilledBase.ownTypeCount;
      parsed++;
    } catch (err) {
      problem(`${name}: does not parse: ${err?.describe?.() ?? err}`);
    }
  }
}
console.log(`parse check: ${parsed}/${files.length} modules have .BTF.base and a .BTF that parses and validates over it, ${(baseTypes / Math.max(parsed, 1)).toFixed(0)} distilled base types on average (${((Date.now() - t0) / 1000).toFixed(1)} s)`);

// 3. A second run changes nothing.
const before = hashes();
const second = finalize('run 2');
if (second && second.summary.unchanged !== files.length) problem(`run 2: ${second.summary.unchanged} of ${files.length} modules unchanged`);
const after = hashes();
let same = 0, diff = 0;
for (const [f, h] of before) {
  if (after.get(f) === h) same++;
  else { diff++; problem(`${relative(copy, f)}: changed by the second run`); }
}
console.log(`${same} identical, ${diff} different`);
if (problems.length > 50) console.log(`... ${problems.length - 50} more problems`);
console.log(problems.length === 0 ? 'corpus-finalize: OK' : `corpus-finalize: ${problems.length} problems`);
if (!values.keep) rmSync(work, { recursive: true, force: true });
else console.log(`kept ${work}`);
process.exitCode = problems.length === 0 && diff === 0 ? 0 : 1;
