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
//
// Format: 7 columns, sorted by module (test/fixtures/corpus/GOLDEN-README.md). Needs root
// (the chroot; scripts/e2e-lib/sid.mjs, kernel7.mjs). Prints ok / reloc-fail / error counts
// and the wall time.
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { $ } from 'zx';

import { ensureKernel7, fileSha, kernel7Debs, sidView } from './e2e-lib/kernel7.mjs';
import { copyIn, shq, sidPath, sidSh } from './e2e-lib/sid.mjs';
import { repo, walkModules } from './lib/corpus.mjs';

const CACHE = process.env.MODBTF_CACHE ?? '/var/cache/modbtf';
const { values } = parseArgs({
  options: {
    out: { type: 'string' },
    check: { type: 'string' },
    jobs: { type: 'string', default: String(Math.max(1, availableParallelism())) },
    filter: { type: 'string', default: '' },
  },
});
// A filtered run never overwrites the whole-corpus table.
values.out ??= join(CACHE, 'corpus7', values.filter ? 'corpus-filtered.tsv' : 'corpus-7.2.13-to-7.3-rc7.tsv');
$.verbose = false;
const log = (m) => console.log(`[corpus7-oracle] ${m}`);
const t0 = performance.now();

const { kernel72, kernel73 } = await ensureKernel7({ log });

// The oracle, rebuilt when its source or libbpf.a changed.
const ORACLE_DIR = '/opt/modbtf-oracle';
const LIBBPF_A = '/usr/lib/x86_64-linux-gnu/libbpf.a';
const src = join(repo, 'scripts/oracle/libbpf-oracle.c');
const buildKey = `${fileSha(src)} ${fileSha(sidPath(LIBBPF_A))}\n`;
const keyFile = sidPath(`${ORACLE_DIR}/build.key`);
if (!existsSync(keyFile) || readFileSync(keyFile, 'utf8') !== buildKey || !existsSync(sidPath(`${ORACLE_DIR}/libbpf-oracle`))) {
  log('build libbpf-oracle against sid\'s libbpf.a');
  copyIn(src, `${ORACLE_DIR}/libbpf-oracle.c`);
  await sidSh(`gcc -O2 -Wall -Werror -o libbpf-oracle libbpf-oracle.c ${LIBBPF_A} -lelf -lz`, { cwd: ORACLE_DIR });
  writeFileSync(keyFile, buildKey);
}
const libbpfVersion = (await sidSh(`dpkg-query -W -f='\${Version}' libbpf-dev`)).stdout.trim();

// Inputs as the chroot sees them.
const debs = kernel7Debs();
const treeHost = join(kernel72.modules, 'kernel');
const tree = sidView(treeHost, `modules-${kernel72.kver}`, debs.join('\n'));
const target = sidView(kernel73.vmlinux, `vmlinux-${kernel73.short}`, debs.join('\n'));
const keys = [...walkModules(treeHost)].map((f) => relative(treeHost, f)).filter((k) => k.includes(values.filter));

// N oracle processes over interleaved shards (big modules are spread out by the sort order).
const jobs = Math.max(1, Math.min(Number(values.jobs), keys.length));
mkdirSync(sidPath('/tmp'), { recursive: true });
const WORK = `/${relative(sidPath('/'), mkdtempSync(sidPath('/tmp/modbtf-oracle-')))}`;
mkdirSync(sidPath(`${WORK}/dbase`));
const shards = Array.from({ length: jobs }, (_, i) => keys.filter((_, j) => j % jobs === i));
shards.forEach((s, i) => writeFileSync(sidPath(`${WORK}/list.${i}`), s.map((k) => `${k.replace(/\.xz$/, '')}\t${tree}/${k}\n`).join('')));
log(`${keys.length} modules, ${jobs} oracle processes: libbpf-oracle --save ${WORK}/dbase ${kernel72.vmlinuxInSid} ${target}`);
const to = performance.now();
await Promise.all(shards.map((_, i) => sidSh(
  `${ORACLE_DIR}/libbpf-oracle --save ${WORK}/dbase ${shq(kernel72.vmlinuxInSid)} ${shq(target)} < ${WORK}/list.${i} > ${WORK}/out.${i}`)));
const oracleSecs = (performance.now() - to) / 1000;

const rows = shards.flatMap((_, i) => readFileSync(sidPath(`${WORK}/out.${i}`), 'utf8').split('\n').filter(Boolean));
rows.sort((a, b) => { const x = a.split('\t')[0], y = b.split('\t')[0]; return x < y ? -1 : x > y ? 1 : 0; });
const bad = rows.filter((r) => r.split('\t').length !== 7);
if (rows.length !== keys.length || bad.length > 0) throw new Error(`oracle gave ${rows.length} rows for ${keys.length} modules${bad.length ? `, ${bad.length} without 7 columns (first: ${bad[0]})` : ''}`);
const out = resolve(values.out);
mkdirSync(dirname(out), { recursive: true });
writeFileSync(out, rows.map((r) => `${r}\n`).join(''));
if (!values.filter) {
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
