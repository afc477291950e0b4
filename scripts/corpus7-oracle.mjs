#!/usr/bin/env node
// The libbpf 1.7.0 reference table for the kernel 7.x corpus checks: every module of Debian
// 7.2.13 (linux-modules-7.2.13+deb14-amd64) distilled over the 7.2.13 vmlinux and relocated
// onto experimental's 7.3-rc7 vmlinux, by scripts/oracle/libbpf-oracle.c built in the sid
// chroot against sid's libbpf-dev (static libbpf.a) — never by modbtf.
//
//   node scripts/corpus7-oracle.mjs [--out FILE] [--check FILE] [--jobs N] [--filter STR]
//
//   --out FILE     where the TSV goes (default $MODBTF_CACHE/corpus7/corpus-7.2.13-to-7.3-rc7.tsv,
//                  corpus-filtered.tsv there with --filter);
//                  the distilled bases go next to it as distilled-bases-7.2.13.tar.gz
//                  (<path under kernel/ without .ko>.dbase.btf, for corpus-distill --golden)
//   --check FILE   compare the new table with FILE (e.g. the committed
//                  test/fixtures/corpus/corpus-7.2.13-to-7.3-rc7.tsv) row by row; exit 1 on
//                  any difference
//   --jobs N       oracle processes, each on every N-th module (default: number of CPUs)
//   --filter STR   only modules whose path contains STR (no tarball, --check compares those rows)
//   --tree DIR --base VMLINUX --target VMLINUX [--name NAME]
//                  another tree (e.g. Debian's arm64 or s390x modules; scripts/corpus-cross.mjs):
//                  the modules under DIR, distilled over BASE, relocated onto TARGET (host
//                  paths; no tarball; the table defaults to $MODBTF_CACHE/corpus7/corpus-NAME.tsv)
//
// Format: 7 columns, sorted by module (test/fixtures/corpus/GOLDEN-README.md). Needs root
// (the chroot; scripts/e2e-lib/sid.mjs, kernel7.mjs). Prints ok / reloc-fail / error counts
// and the wall time.
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { $ } from 'zx';

import { ensureKernel7, kernel7Debs, sidView } from './e2e-lib/kernel7.mjs';
import { ensureOracle } from './e2e-lib/oracle.mjs';
import { SID_BASE_PACKAGES, ensureSid, shq, sidPath, sidSh } from './e2e-lib/sid.mjs';
import { repo, walkModules } from './lib/corpus.mjs';

const CACHE = process.env.MODBTF_CACHE ?? '/var/cache/modbtf';
const { values } = parseArgs({
  options: {
    out: { type: 'string' },
    check: { type: 'string' },
    jobs: { type: 'string', default: String(Math.max(1, availableParallelism())) },
    filter: { type: 'string', default: '' },
    tree: { type: 'string' },
    base: { type: 'string' },
    target: { type: 'string' },
    name: { type: 'string' },
  },
});
// --tree/--base/--target (host paths) replace the 7.2.13 amd64 defaults, e.g. for another
// architecture's tree (scripts/corpus-cross.mjs); --name names the table (default: the tree's).
const custom = values.tree !== undefined || values.base !== undefined || values.target !== undefined;
if (custom && (values.tree === undefined || values.base === undefined || values.target === undefined)) throw new Error('--tree, --base and --target go together');
// A filtered run never overwrites the whole-corpus table.
values.out ??= join(CACHE, 'corpus7', values.filter ? 'corpus-filtered.tsv' : custom ? `corpus-${values.name ?? 'custom'}.tsv` : 'corpus-7.2.13-to-7.3-rc7.tsv');
$.verbose = false;
const log = (m) => console.log(`[corpus7-oracle] ${m}`);
const t0 = performance.now();

let kernel72, kernel73;
if (custom) {
  await ensureSid(SID_BASE_PACKAGES, log);
  kernel72 = { modules: null, vmlinux: values.base, kver: values.name ?? 'custom' };
  kernel73 = { vmlinux: values.target, short: 'target' };
} else ({ kernel72, kernel73 } = await ensureKernel7({ log }));

const ORACLE = await ensureOracle(log);
const libbpfVersion = (await sidSh(`dpkg-query -W -f='\${Version}' libbpf-dev`)).stdout.trim();

// Inputs as the chroot sees them.
const debs = custom ? [values.tree, values.base, values.target] : kernel7Debs();
const treeHost = custom ? resolve(values.tree) : join(kernel72.modules, 'kernel');
const tree = sidView(treeHost, `modules-${kernel72.kver}`, debs.join('\n'));
const target = sidView(kernel73.vmlinux, custom ? `vmlinux-target-${kernel72.kver}` : `vmlinux-${kernel73.short}`, debs.join('\n'));
// The base vmlinux as the chroot sees it (the 7.2.13 amd64 one is installed there).
const baseInSid = custom ? sidView(values.base, `vmlinux-base-${kernel72.kver}`, debs.join('\n')) : kernel72.vmlinuxInSid;
const keys = [...walkModules(treeHost)].map((f) => relative(treeHost, f)).filter((k) => k.includes(values.filter));

// N oracle processes over interleaved shards (big modules are spread out by the sort order).
const jobs = Math.max(1, Math.min(Number(values.jobs), keys.length));
mkdirSync(sidPath('/tmp'), { recursive: true });
const WORK = `/${relative(sidPath('/'), mkdtempSync(sidPath('/tmp/modbtf-oracle-')))}`;
mkdirSync(sidPath(`${WORK}/dbase`));
const shards = Array.from({ length: jobs }, (_, i) => keys.filter((_, j) => j % jobs === i));
shards.forEach((s, i) => writeFileSync(sidPath(`${WORK}/list.${i}`), s.map((k) => `${k.replace(/\.xz$/, '')}\t${tree}/${k}\n`).join('')));
log(`${keys.length} modules, ${jobs} oracle processes: libbpf-oracle --save ${WORK}/dbase ${baseInSid} ${target}`);
const to = performance.now();
await Promise.all(shards.map((_, i) => sidSh(
  `${ORACLE} --save ${WORK}/dbase ${shq(baseInSid)} ${shq(target)} < ${WORK}/list.${i} > ${WORK}/out.${i}`)));
const oracleSecs = (performance.now() - to) / 1000;

const rows = shards.flatMap((_, i) => readFileSync(sidPath(`${WORK}/out.${i}`), 'utf8').split('\n').filter(Boolean));
rows.sort((a, b) => { const x = a.split('\t')[0], y = b.split('\t')[0]; return x < y ? -1 : x > y ? 1 : 0; });
const bad = rows.filter((r) => r.split('\t').length !== 7);
if (rows.length !== keys.length || bad.length > 0) throw new Error(`oracle gave ${rows.length} rows for ${keys.length} modules${bad.length ? `, ${bad.length} without 7 columns (first: ${bad[0]})` : ''}`);
const out = resolve(values.out);
mkdirSync(dirname(out), { recursive: true });
writeFileSync(out, rows.map((r) => `${r}\n`).join(''));
if (!values.filter && !custom) {
  const tarball = join(dirname(out), 'distilled-bases-7.2.13.tar.gz');
  await $`tar -C ${sidPath(`${WORK}/dbase`)} --sort=name --owner=0 --group=0 --numeric-owner --mtime=@0 -czf ${tarball} .`;
  log(`distilled bases: ${tarball}`);
}
rmSync(sidPath(WORK), { recursive: true, force: true });

const count = (s) => rows.filter((r) => r.split('\t')[3] === s).length;
log(`libbpf-dev ${libbpfVersion}; base ${kernel72.vmlinux}; target ${kernel73.vmlinux}`);
log(`inputs: ${debs.join(', ')}`);
console.log(`${rows.length} modules: ${count('ok')} ok, ${count('reloc-fail')} reloc-fail, ${count('error')} errors; oracle ${oracleSecs.toFixed(1)} s, ${((performance.now() - t0) / 1000).toFixed(1)} s wall; table ${out}`);
for (const r of rows.filter((x) => x.split('\t')[3] === 'error')) console.log(`ERROR ${r}`);

let exit = count('error') > 0 ? 1 : 0;
if (values.check) {
  const want = new Map(readFileSync(values.check, 'utf8').split('\n').filter(Boolean).map((l) => [l.split('\t')[0], l]));
  const got = new Map(rows.map((l) => [l.split('\t')[0], l]));
  let same = 0;
  const diffs = [];
  for (const [k, row] of got) {
    if (want.get(k) === row) same++;
    else diffs.push(`DIFFERENT ${k}: now ${JSON.stringify(row)}, ${values.check} ${JSON.stringify(want.get(k) ?? 'no row')}`);
  }
  if (!values.filter) for (const k of want.keys()) if (!got.has(k)) diffs.push(`MISSING ${k}: in ${values.check}, not in this tree`);
  for (const d of diffs.slice(0, 50)) console.log(d);
  console.log(`against ${values.check}: ${same} identical, ${diffs.length} different`);
  if (diffs.length) exit = 1;
}
process.exitCode = exit;
