#!/usr/bin/env node
// `modbtf pahole` from the built bundle (dist/bundle/main.js) on the largest modules of Debian's
// 7.2.13 cloud -dbg package (the corpus-encode.mjs unpack), the way kbuild would call it: a
// module of 16 MiB or more is encoded in a worker thread (lib/module/encode-isolate.ts) and its
// .debug_info read a window at a time. Each must be byte-identical to pahole 1.32 with the same
// flags (a 7.2.13 V=1 build's) over the same vmlinux, with -V showing no fallback to this
// thread; and MODBTF_ENCODE_ISOLATE=0 (this thread) must give the same bytes.
//
//   node scripts/e2e-pahole-large.mjs [--count 3]          (root: the sid chroot)
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { repo } from './lib/corpus.mjs';
import { CLOUD72_TREE, CLOUD72_VMLINUX, cloud72Missing, kbuild72PaholeFlags, largestCloud72Modules } from './lib/cloud72.mjs';
import { SID_ROOT } from './e2e-lib/sid.mjs';

const { values } = parseArgs({ options: { count: { type: 'string', default: '3' } } });
const missing = cloud72Missing();
if (missing !== undefined) { console.error(missing); process.exit(1); }
const tree = CLOUD72_TREE;
const vmlinux = CLOUD72_VMLINUX;
const flags = kbuild72PaholeFlags();
const largest = largestCloud72Modules(Number(values.count), 16 << 20);
if (largest.length === 0) { console.error('no module of 16 MiB or more in the package'); process.exit(1); }

const tmp = mkdtempSync(join(SID_ROOT, 'tmp', 'e2e-pahole-large-'));
const inSid = tmp.slice(SID_ROOT.length);
let bad = 0;
const ok = (cond, what) => { console.log(`  ${cond ? 'ok  ' : 'FAIL'} ${what}`); if (!cond) bad++; };
try {
  for (const [size, rel] of largest) {
    const ko = `${tree}/${rel}`;
    const ref = `${inSid}/ref.btf`;
    const r = spawnSync('chroot', [SID_ROOT, 'pahole', ...flags, '--btf_base', vmlinux, `--btf_encode_detached=${ref}`, ko], { encoding: 'utf8' });
    if (r.status !== 0) { ok(false, `${rel}: pahole 1.32 exited ${r.status}: ${r.stderr}`); continue; }
    const want = readFileSync(join(SID_ROOT, ref));
    for (const [label, env] of [['worker thread (default at this size)', {}], ['this thread (MODBTF_ENCODE_ISOLATE=0)', { MODBTF_ENCODE_ISOLATE: '0' }]]) {
      const out = join(tmp, 'ours.btf');
      rmSync(out, { force: true });
      const m = spawnSync(process.execPath, [join(repo, 'dist/bundle/main.js'), 'pahole', '-V', ...flags, '--btf_base', join(SID_ROOT, vmlinux), `--btf_encode_detached=${out}`, join(SID_ROOT, ko)], { encoding: 'utf8', env: { ...process.env, ...env }, maxBuffer: 1 << 28 });
      const same = m.status === 0 && existsSync(out) && Buffer.compare(readFileSync(out), want) === 0;
      ok(same, `${rel} (${(Number(size) / 1e6).toFixed(0)} MB), ${label}: byte-identical to pahole 1.32${m.status !== 0 ? ` (exit ${m.status}: ${m.stderr.slice(-400)})` : ''}`);
      if (label.startsWith('worker')) ok(!m.stderr.includes('encoding in this thread'), `${rel}: the worker thread finished (no fallback to this thread)`);
    }
  }
} finally {
  rmSync(tmp, { recursive: true, force: true });
}
process.exitCode = bad === 0 ? 0 : 1;
