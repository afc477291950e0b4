#!/usr/bin/env node
// `modbtf pahole` beside pahole 1.32 on the largest module of Debian's 7.2.13 cloud -dbg package
// (the corpus-encode.mjs unpack; xfs.ko, 95 MB), same flags (a 7.2.13 V=1 build's), same vmlinux:
// wall time and peak RSS of the whole process (GNU time's %e and %M; pahole runs in the sid
// chroot, modbtf on the host's node; no heap flags), rounds in alternating order, medians;
// the outputs compared byte for byte.
//
//   node scripts/bench-encode.mjs [--rounds 5] [--module fs/xfs/xfs.ko]     (root: the chroot)
import { spawnSync } from 'node:child_process';
import { readFileSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { repo } from './lib/corpus.mjs';
import { CLOUD72_TREE, CLOUD72_VMLINUX, cloud72Missing, kbuild72PaholeFlags, largestCloud72Modules } from './lib/cloud72.mjs';
import { SID_ROOT } from './e2e-lib/sid.mjs';

const { values } = parseArgs({ options: { rounds: { type: 'string', default: '5' }, module: { type: 'string' } } });
const rounds = Number(values.rounds);
const missing = cloud72Missing();
if (missing !== undefined) throw new Error(missing);
const tree = CLOUD72_TREE;
const vmlinux = CLOUD72_VMLINUX;
const module = values.module ?? largestCloud72Modules(1)[0][1];
const ko = `${tree}/${module}`;
const flags = kbuild72PaholeFlags();
const outRef = '/tmp/bench-encode.pahole.btf';
const outOurs = join(SID_ROOT, '/tmp/bench-encode.modbtf.btf');
const time = (argv) => {
  const r = spawnSync('/usr/bin/time', ['-f', '%e %M', ...argv], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`${argv.join(' ')}: exit ${r.status}: ${r.stderr}`);
  const [s, kb] = r.stderr.trim().split('\n').pop().split(' ').map(Number);
  return { s, mb: kb / 1024 };
};
const runs = {
  'pahole 1.32': () => time(['chroot', SID_ROOT, 'pahole', ...flags, '--btf_base', vmlinux, `--btf_encode_detached=${outRef}`, ko]),
  'modbtf pahole': () => time([process.execPath, join(repo, 'dist/bundle/main.js'), 'pahole', ...flags, '--btf_base', join(SID_ROOT, vmlinux), `--btf_encode_detached=${outOurs}`, join(SID_ROOT, ko)]),
};
const median = (a) => { const s = [...a].sort((x, y) => x - y); return s.length % 2 ? s[s.length >> 1] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2; };
const res = Object.fromEntries(Object.keys(runs).map((k) => [k, { s: [], mb: [] }]));
const names = Object.keys(runs);
const load = () => readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
const loads = [];
for (let r = 0; r < rounds; r++) {
  loads.push(load());
  for (let i = 0; i < names.length; i++) {
    const n = names[(i + r) % names.length];
    const m = runs[n]();
    res[n].s.push(m.s);
    res[n].mb.push(m.mb);
  }
}
const same = Buffer.compare(readFileSync(join(SID_ROOT, outRef)), readFileSync(outOurs)) === 0;
console.log(`${module} (${(statSync(join(SID_ROOT, ko)).size / 1e6).toFixed(0)} MB), ${flags.join(' ')}; median of ${rounds}; load ${loads.join(' | ')}`);
const ref = res['pahole 1.32'];
for (const n of names) {
  const x = res[n];
  console.log(`  ${n.padEnd(14)} wall ${median(x.s).toFixed(2).padStart(6)} s (${(median(x.s) / median(ref.s)).toFixed(2)}x)  peak RSS ${median(x.mb).toFixed(0).padStart(5)} MB (${(median(x.mb) / median(ref.mb)).toFixed(2)}x)  [${x.s.join(' ')}] [${x.mb.map((v) => v.toFixed(0)).join(' ')}]`);
}
console.log(`  outputs ${same ? 'byte-identical' : 'DIFFER'}`);
rmSync(join(SID_ROOT, outRef), { force: true });
rmSync(outOurs, { force: true });
process.exitCode = same ? 0 : 1;
