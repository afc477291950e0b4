#!/usr/bin/env node
// The batch's encoder lanes (lib/module/encode-lanes.ts: this thread, plus worker threads when
// the modules to come are worth their start-up) on many real modules: the first N modules of
// Debian's 7.2.13 cloud -dbg package (the corpus-encode.mjs unpack) over that kernel's vmlinux,
// with a 7.2.13 build's pahole flags, all queued at once as the kbuild batch queues them;
// `--lanes 1` (this thread only) against `--lanes 2`, rounds alternating, medians of the wall
// time; every output compared with the one-lane run's bytes.
//
//   node scripts/bench-encode-lanes.mjs [--count 200] [--rounds 3]      (after npm run build)
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { pathToFileURL } from 'node:url';
import { repo } from './lib/corpus.mjs';
import { CLOUD72_TREE, CLOUD72_VMLINUX, cloud72Missing, kbuild72PaholeFlags } from './lib/cloud72.mjs';
import { SID_ROOT } from './e2e-lib/sid.mjs';

const { values } = parseArgs({ options: { count: { type: 'string', default: '200' }, rounds: { type: 'string', default: '3' } } });
const missing = cloud72Missing();
if (missing !== undefined) throw new Error(missing);
const tree = join(SID_ROOT, CLOUD72_TREE);
const vmlinux = join(SID_ROOT, CLOUD72_VMLINUX);
const kos = execFileSync('find', [tree, '-name', '*.ko'], { encoding: 'utf8' }).trim().split('\n').sort().slice(0, Number(values.count));
const flags = kbuild72PaholeFlags();
const dist = (p) => import(pathToFileURL(join(repo, 'dist/lib', p)).href);
const { EncodeLanes } = await dist('module/encode-lanes.js');
const { encodeModuleWithFlags } = await dist('encode/index.js');
const { loadBaseBtf } = await dist('module/btf-file.js');
const worker = pathToFileURL(join(repo, 'dist/lib/module/encode-worker.js'));

/** One batch as kbuild/batch.ts runs it: a fresh vmlinux parse, four modules in flight per two lanes. */
async function batch(lanesN) {
  const t0 = performance.now();
  let base;
  const local = async (job) => encodeModuleWithFlags(job.module, await (base ??= loadBaseBtf(job.basePath)), job.flags);
  let next = 0;
  const lanes = new EncodeLanes(lanesN, local, worker, () => kos.length - next);
  const out = new Array(kos.length);
  const flow = async () => { while (next < kos.length) { const i = next++; out[i] = await lanes.encode({ module: kos[i], basePath: vmlinux, flags }); } };
  try { await Promise.all(Array.from({ length: 2 * lanesN }, flow)); } finally { await lanes.close(); }
  return { ms: performance.now() - t0, out };
}
const median = (a) => { const s = [...a].sort((x, y) => x - y); return s[s.length >> 1]; };
const times = { 1: [], 2: [] };
let ref;
let same = true;
for (let r = 0; r < Number(values.rounds); r++) {
  for (const n of r % 2 ? [2, 1] : [1, 2]) {
    const { ms, out } = await batch(n);
    times[n].push(ms);
    ref ??= out;
    same &&= out.every((b, i) => Buffer.compare(Buffer.from(b), Buffer.from(ref[i])) === 0);
  }
}
const load = readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
console.log(`${kos.length} modules of the 7.2.13 cloud -dbg package, median of ${values.rounds}, load ${load}`);
for (const n of [1, 2]) console.log(`  --lanes ${n}: ${(median(times[n]) / 1000).toFixed(2)} s  [${times[n].map((x) => (x / 1000).toFixed(2)).join(' ')}]  ${(median(times[n]) / median(times[1])).toFixed(2)}x`);
console.log(`  outputs ${same ? 'identical across runs and lane counts' : 'DIFFER'}`);
process.exitCode = same ? 0 : 1;
