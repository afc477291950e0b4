#!/usr/bin/env node
// Distill every module of a /lib/modules tree over vmlinux and compare the results
// with libbpf v1.7.0's (sha256 prefixes in a reference table, columns 2 = distilled
// base, 3 = new split; default test/fixtures/corpus/corpus-107-to-117.tsv, the Debian
// 6.12.107 image; for Debian 7.2.13, corpus-7.2.13-to-7.3-rc7.tsv from
// scripts/corpus7-oracle.mjs).
//
//   npx tsc -p tsconfig.json && node scripts/corpus-distill.mjs [options] [TREE]
//
//   TREE            directory searched for *.ko / *.ko.xz (default: the Debian
//                   6.12.107 image's kernel/ directory under $MODBTF_CACHE/root)
//   --vmlinux FILE  vmlinux ELF (its .BTF) or a raw/gzipped .BTF blob (default: the
//                   6.12.107 headers' vmlinux, or its fixture BTF when that is absent)
//   --tsv FILE      reference table
//   --golden FILE   tarball of the reference distilled bases (<path>.dbase.btf), to show
//                   the first differing byte (default: distilled-bases-107.tar.gz with
//                   the default table only)
//   --jobs N        parallel decompressions (default: number of CPUs)
//   --filter STR    only modules whose path contains STR
//   --show N        list at most N differing modules (default 50)
//   --top N         also list the N slowest distill() calls (default 0)
//
// Decompression (xz -dc) runs in a small pool of child processes; parsing and distill
// run on the main thread, timed around distill() alone. Prints `N identical, M
// different`, the differing modules (with the first differing byte of the distilled
// base when /work/shared/golden/corpus/distilled-bases-107.tar.gz is readable), and
// median/p90/max/sum distill milliseconds. Exit status 1 when anything differs.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join, relative } from 'node:path';
import { parseArgs } from 'node:util';

import { decompress, eachConcurrently, loadBtfBlob, moduleBtf, msSummary, readCorpusTable, repo, sha16, walkModules } from './lib/corpus.mjs';

const { Btf } = await import(join(repo, 'dist/lib/btf/btf.js'));
const { distill } = await import(join(repo, 'dist/lib/distill/index.js'));

const CACHE = process.env.MODBTF_CACHE ?? '/var/cache/modbtf';
const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    vmlinux: { type: 'string' },
    tsv: { type: 'string' },
    golden: { type: 'string' },
    jobs: { type: 'string', default: String(Math.max(1, availableParallelism())) },
    filter: { type: 'string', default: '' },
    show: { type: 'string', default: '50' },
    top: { type: 'string', default: '0' },
  },
});
const tree = positionals[0] ?? `${CACHE}/root/lib/modules/6.12.107+deb12-amd64/kernel`;
// The 6.12.107 defaults; the fixture BTF stands in for the default vmlinux only (a given
// --vmlinux that is missing is an error, never silently replaced), and the 6.12.107
// distilled bases go with the 6.12.107 table only.
const defaultVmlinux = `${CACHE}/root/usr/src/linux-headers-6.12.107+deb12-amd64/vmlinux`;
values.golden ??= values.tsv === undefined ? '/work/shared/golden/corpus/distilled-bases-107.tar.gz' : '';
values.tsv ??= join(repo, 'test/fixtures/corpus/corpus-107-to-117.tsv');

// Reference hashes: module path (relative to kernel/, no .xz) -> [dbase, dsplit].
const expected = new Map([...readCorpusTable(values.tsv)].map(([k, r]) => [k, [r.dbase, r.dsplit]]));

const vmlinuxPath = values.vmlinux ?? (existsSync(defaultVmlinux) ? defaultVmlinux : join(repo, 'test/fixtures/btf/vmlinux-6.12.107.btf.gz'));
const base = Btf.parse(loadBtfBlob(vmlinuxPath), { file: vmlinuxPath });
const files = [...walkModules(tree)].filter((f) => f.includes(values.filter));
const t0 = performance.now();

const times = [];
const timed = [];
const diffs = [];
const errors = [];
let identical = 0;
let unknown = 0;

function check(file, ko) {
  const key = relative(tree, file).replace(/\.xz$/, '');
  const want = expected.get(key);
  try {
    const split = moduleBtf(ko, file, base);
    const s = performance.now();
    const r = distill(base, split);
    const ms = performance.now() - s;
    times.push(ms);
    timed.push([ms, key, split.ownTypeCount]);
    const got = [sha16(r.base), sha16(r.split)];
    if (!want) { unknown++; console.log(`NOT IN TSV ${key} ${got.join(' ')}`); return; }
    if (got[0] === want[0] && got[1] === want[1]) identical++;
    else diffs.push({ key, got, want, dbase: r.base });
  } catch (err) {
    errors.push(`${key}: ${err?.describe ? err.describe() : err}`);
  }
}

// Decompress a few at a time; the distill work runs on the main thread as results come in.
await eachConcurrently(files, Number(values.jobs), async (file) => {
  let ko;
  try { ko = await decompress(file); } catch (err) { errors.push(String(err)); return; }
  check(file, ko);
});
const wall = (performance.now() - t0) / 1000;

function goldenBase(key) {
  if (!values.golden || !existsSync(values.golden)) return undefined;
  const member = key.replace(/\.ko$/, '.dbase.btf');
  for (const name of [`./${member}`, member]) {
    const r = spawnSync('tar', ['-xzOf', values.golden, name], { maxBuffer: 1 << 26 });
    if (r.status === 0 && r.stdout.length > 0) return r.stdout;
  }
  return undefined;
}
function firstDiff(a, b) {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return i;
  return a.length === b.length ? -1 : n;
}

const show = Number(values.show);
for (const d of diffs.slice(0, show)) {
  const parts = [`DIFFERENT ${d.key}:`];
  if (d.got[0] !== d.want[0]) {
    const g = goldenBase(d.key);
    parts.push(`dbase ${d.got[0]} != ${d.want[0]}${g ? ` (first differing byte ${firstDiff(d.dbase, g)})` : ''}`);
  }
  if (d.got[1] !== d.want[1]) parts.push(`dsplit ${d.got[1]} != ${d.want[1]}`);
  console.log(parts.join(' '));
}
if (diffs.length > show) console.log(`... and ${diffs.length - show} more`);
for (const e of errors) console.log(`ERROR ${e}`);

for (const [ms, key, n] of timed.sort((a, b) => b[0] - a[0]).slice(0, Number(values.top))) {
  console.log(`slow ${ms.toFixed(2)} ms ${key} (${n} types)`);
}
console.log(`${files.length} modules under ${tree}, vmlinux ${vmlinuxPath}, ${wall.toFixed(1)} s wall`);
console.log(`distill ms: ${msSummary(times)}`);
console.log(`${identical} identical, ${diffs.length} different${errors.length ? `, ${errors.length} errors` : ''}${unknown ? `, ${unknown} not in TSV` : ''}`);
process.exitCode = diffs.length + errors.length + unknown > 0 ? 1 : 0;
