#!/usr/bin/env node
// Runs `modbtf check` (the CLI, worker threads, decompression included) over a whole
// /lib/modules tree and compares each module's verdict with libbpf v1.7.0's
// (test/fixtures/corpus/corpus-107-to-117.tsv, column 4: ok / reloc-fail) and the
// kernel message with column 7. Prints wall time and peak RSS of the check process,
// then `N identical, M different`.
//
//   node scripts/corpus-check.mjs [--built-with V107] [--kernel V117] [--tsv TABLE] [--jobs N] [TREE]
//
// --tsv: another libbpf table of the same format (e.g. corpus-7.2.13-to-7.3-rc7.tsv, made by
// scripts/corpus7-oracle.mjs) for another pair of kernels.
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { fileURLToPath } from 'node:url';

const root = resolve(fileURLToPath(new URL('..', import.meta.url)));
const cache = process.env.MODBTF_CACHE ?? '/var/cache/modbtf';
const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    'built-with': { type: 'string', default: `${cache}/root/usr/src/linux-headers-6.12.107+deb12-amd64/vmlinux` },
    kernel: { type: 'string', default: `${cache}/root/usr/src/linux-headers-6.12.117+deb12-amd64/vmlinux` },
    jobs: { type: 'string', default: '2' },
    tsv: { type: 'string', default: join(root, 'test/fixtures/corpus/corpus-107-to-117.tsv') },
  },
});
const tree = positionals[0] ?? `${cache}/root/lib/modules/6.12.107+deb12-amd64/kernel`;
const golden = new Map(readFileSync(values.tsv, 'utf8').trim().split('\n')
  .map((l) => l.split('\t')).map((c) => [c[0], { status: c[3], message: c[6] }]));

const t0 = Date.now();
// MODBTF_CLI: another build of the CLI (as corpus-finalize.mjs takes it), e.g. for a side-by-side run.
const r = spawnSync('/usr/bin/time', ['-f', '%M', process.execPath, process.env.MODBTF_CLI ?? join(root, 'dist/bundle/main.js'), 'check', '--json', '-j', values.jobs,
  '--built-with', values['built-with'], '--kernel', values.kernel, tree], { encoding: 'utf8', maxBuffer: 1 << 30 });
const secs = ((Date.now() - t0) / 1000).toFixed(1);
if (r.status !== 0 && r.status !== 1) { process.stderr.write(r.stderr); console.log(`modbtf check failed with exit status ${r.status}`); process.exit(1); }
const rssKb = Number(r.stderr.trim().split('\n').pop());
const doc = JSON.parse(r.stdout);
let same = 0, diff = 0;
for (const m of doc.modules) {
  const key = relative(tree, m.file).replace(/\.xz$|\.zst$|\.gz$/, '');
  const g = golden.get(key);
  const ours = m.status === 'ok' ? 'ok' : m.status === 'loses-btf' ? 'reloc-fail' : 'error';
  const msgOk = ours !== 'reloc-fail' || (g && `libbpf: ${m.kernelMessage}` === g.message.trim());
  if (g && g.status === ours && msgOk) same++;
  else { diff++; console.log(`DIFFERENT ${key}: ours ${ours} ${m.kernelMessage ?? ''}, libbpf ${g ? `${g.status} ${g.message}` : 'no row'}`); }
}
const missing = [...golden.keys()].filter((k) => !doc.modules.some((m) => relative(tree, m.file).replace(/\.xz$|\.zst$|\.gz$/, '') === k)).length;
console.log(`modbtf check -j ${values.jobs}: ${doc.summary.modules} modules in ${secs} s wall, peak RSS ${(rssKb / 1024).toFixed(0)} MB; ${doc.summary.ok} keep BTF, ${doc.summary.losesBtf} lose BTF, ${doc.summary.errors} errors`);
console.log(`${same} identical, ${diff + missing} different`);
process.exitCode = diff + missing > 0 ? 1 : 0;
