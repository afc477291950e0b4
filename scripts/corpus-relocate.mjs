#!/usr/bin/env node
// Distill every module of a /lib/modules tree over the vmlinux it was built against
// (default 6.12.107), relocate the distilled pair onto another vmlinux (default
// 6.12.117), and compare with libbpf v1.7.0 (a reference table, default
// test/fixtures/corpus/corpus-107-to-117.tsv; for Debian 7.2.13 onto 7.3-rc7,
// corpus-7.2.13-to-7.3-rc7.tsv from scripts/corpus7-oracle.mjs: columns 4 =
// ok/reloc-fail, 5 = sha256 prefix of the relocated split BTF, 6 = of the id map text,
// 7 = libbpf's message).
//
//   npx tsc -p tsconfig.json && node scripts/corpus-relocate.mjs [options] [TREE]
//
//   TREE              directory searched for *.ko / *.ko.xz (default: the Debian
//                     6.12.107 image's kernel/ directory under $MODBTF_CACHE/root)
//   --vmlinux FILE    base the modules were built against (vmlinux ELF, raw or .gz BTF;
//                     default the 6.12.107 headers' vmlinux, or its fixture BTF when
//                     that is absent)
//   --target FILE     new base to relocate onto (default vmlinux-6.12.117.btf.gz fixture)
//   --tsv FILE        reference table
//   --jobs N          parallel decompressions (default: number of CPUs)
//   --filter STR      only modules whose path contains STR
//   --show N          list at most N differing modules (default 50)
//   --repeat N        relocate each module N times and time the median run
//                     (default 1; >1 keeps GC pauses and decompressors competing
//                     for the CPU out of the per-module figures)
//
// The golden tarball of distilled bases (distilled-bases-107.tar.gz) has no new split
// BTF, so the distilled pair comes from modbtf's own distill() (dist/lib/distill);
// its hashes are checked against columns 2-3 too, so a relocation difference caused
// by a distill difference is told apart. The vmlinux 6.12.117 name index is built
// once (RelocationTarget) and timed separately; per-module times are in-process,
// around tryRelocate() alone. Prints `N identical, M different` for the relocation
// columns. Exit status 1 when anything differs.
import { existsSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join, relative } from 'node:path';
import { parseArgs } from 'node:util';

import { decompress, eachConcurrently, loadBtfBlob, moduleBtf, msSummary, readCorpusTable, repo, sha16, walkModules } from './lib/corpus.mjs';

const { Btf } = await import(join(repo, 'dist/lib/btf/btf.js'));
const { RelocationTarget, tryRelocate, formatIdMap } = await import(join(repo, 'dist/lib/relocate/index.js'));
let distill;
try {
  ({ distill } = await import(join(repo, 'dist/lib/distill/index.js')));
} catch (err) {
  console.error(`dist/lib/distill/index.js is not available (${err?.message ?? err}); build lib/distill first (npx tsc -p tsconfig.json)`);
  process.exit(2);
}

const CACHE = process.env.MODBTF_CACHE ?? '/var/cache/modbtf';
const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    vmlinux: { type: 'string' },
    target: { type: 'string', default: join(repo, 'test/fixtures/btf/vmlinux-6.12.117.btf.gz') },
    tsv: { type: 'string', default: join(repo, 'test/fixtures/corpus/corpus-107-to-117.tsv') },
    jobs: { type: 'string', default: String(Math.max(1, availableParallelism())) },
    filter: { type: 'string', default: '' },
    show: { type: 'string', default: '50' },
    repeat: { type: 'string', default: '1' },
  },
});
const tree = positionals[0] ?? `${CACHE}/root/lib/modules/6.12.107+deb12-amd64/kernel`;

// Reference: module path (relative to kernel/, no .xz) -> columns 2..7.
const expected = readCorpusTable(values.tsv);

// The fixture BTF stands in for the default vmlinux only: a given --vmlinux that is
// missing is an error, never silently replaced by 6.12.107.
const defaultVmlinux = `${CACHE}/root/usr/src/linux-headers-6.12.107+deb12-amd64/vmlinux`;
const vmlinuxPath = values.vmlinux ?? (existsSync(defaultVmlinux) ? defaultVmlinux : join(repo, 'test/fixtures/btf/vmlinux-6.12.107.btf.gz'));
const base = Btf.parse(loadBtfBlob(vmlinuxPath), { file: vmlinuxPath });
const newBase = Btf.parse(loadBtfBlob(values.target), { file: values.target });
const ti = performance.now();
const target = new RelocationTarget(newBase);
const indexMs = performance.now() - ti;

const repeat = Math.max(1, Number(values.repeat));
const files = [...walkModules(tree)].filter((f) => f.includes(values.filter));
const t0 = performance.now();
const times = [];
const timed = [];
const diffs = [];
const errors = [];
let identical = 0;
let unknown = 0;
let distillDiffer = 0;
let ok = 0;
let failed = 0;

function check(file, ko) {
  const key = relative(tree, file).replace(/\.xz$/, '');
  const want = expected.get(key);
  try {
    const split = moduleBtf(ko, file, base);
    const d = distill(base, split);
    const dbase = Btf.parse(d.base, { file: `${key}.dbase` });
    const dsplit = Btf.parse(d.split, { base: dbase, file: `${key}.dsplit` });
    const runs = [];
    let r;
    for (let i = 0; i < repeat; i++) {
      const s = performance.now();
      r = tryRelocate(dbase, dsplit, target);
      runs.push(performance.now() - s);
    }
    runs.sort((a, b) => a - b);
    const ms = runs[runs.length >> 1];
    times.push(ms);
    timed.push([ms, key]);
    const got = {
      dbase: sha16(d.base), dsplit: sha16(d.split),
      status: r.ok ? 'ok' : 'reloc-fail',
      reloc: r.ok ? sha16(r.split) : '-',
      idmap: r.ok ? sha16(formatIdMap(r.idMap)) : '-',
      message: r.ok ? '-' : `${r.failure.failures[0]?.libbpfMessage ?? ''}\n`.replace(/\n/g, ' '),
      failure: r.ok ? undefined : r.failure,
    };
    if (r.ok) ok++; else failed++;
    if (!want) { unknown++; console.log(`NOT IN TSV ${key} ${got.status} ${got.reloc} ${got.idmap}`); return; }
    const same = got.status === want.status && got.reloc === want.reloc && got.idmap === want.idmap && got.message === want.message;
    if (same) identical++;
    else {
      const distillSame = got.dbase === want.dbase && got.dsplit === want.dsplit;
      if (!distillSame) distillDiffer++;
      diffs.push({ key, got, want, distillSame });
    }
  } catch (err) {
    errors.push(`${key}: ${err?.describe ? err.describe() : err?.stack ?? err}`);
  }
}

// Decompress a few at a time; the relocate work runs on the main thread as results come in.
await eachConcurrently(files, Number(values.jobs), async (file) => {
  let ko;
  try { ko = await decompress(file); } catch (err) { errors.push(String(err)); return; }
  check(file, ko);
});
const wall = (performance.now() - t0) / 1000;

const show = Number(values.show);
for (const d of diffs.slice(0, show)) {
  const parts = [`DIFFERENT ${d.key}:`];
  if (!d.distillSame) parts.push('(distill differs too)');
  for (const col of ['status', 'reloc', 'idmap', 'message']) {
    if (d.got[col] !== d.want[col]) parts.push(`${col} ${JSON.stringify(d.got[col])} != ${JSON.stringify(d.want[col])}`);
  }
  console.log(parts.join(' '));
  if (d.got.failure) for (const f of d.got.failure.failures.slice(0, 3)) console.log(`    ${f.code}: ${f.message}`);
}
if (diffs.length > show) console.log(`... and ${diffs.length - show} more`);
for (const e of errors) console.log(`ERROR ${e}`);

const slowest = [...timed].sort((a, b) => b[0] - a[0]).slice(0, 3).map(([ms, k]) => `${k} ${ms.toFixed(2)}`).join(', ');
console.log(`${files.length} modules under ${tree}; base ${vmlinuxPath}; target ${values.target}; ${wall.toFixed(1)} s wall`);
console.log(`target index: ${indexMs.toFixed(1)} ms once (${target.nameCount} names)`);
console.log(`relocate ms${repeat > 1 ? ` (median of ${repeat} runs each)` : ''}: ${msSummary(times)}; slowest: ${slowest}`);
console.log(`relocation: ${ok} ok, ${failed} reloc-fail`);
console.log(`${identical} identical, ${diffs.length} different${distillDiffer ? ` (${distillDiffer} of them with a distill difference)` : ''}${errors.length ? `, ${errors.length} errors` : ''}${unknown ? `, ${unknown} not in TSV` : ''}`);
process.exitCode = diffs.length + errors.length + unknown > 0 ? 1 : 0;
