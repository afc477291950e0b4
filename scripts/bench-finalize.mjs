#!/usr/bin/env node
// Side-by-side timing of the kbuild step, in one run on this machine:
//  (a) batch: one `modbtf finalize` process over N modules, vs Debian's resolve_btfids
//      run once per module the way kbuild runs it (`resolve_btfids -b vmlinux M.ko`);
//  (b) one module, whole process: `modbtf finalize` vs one resolve_btfids, medians,
//      with modbtf's own breakdown (MODBTF_TIMING=1).
// Inputs: the first N modules (sorted) of the unpacked Debian 6.12.107 image, made
// uncompressed and unsigned (as they are in a build tree before modules_install).
//
//   node scripts/bench-finalize.mjs [--count N] [--runs R]
import { execFileSync, spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { fileURLToPath } from 'node:url';

const root = join(fileURLToPath(import.meta.url), '..', '..');
const cache = process.env.MODBTF_CACHE ?? '/var/cache/modbtf';
const { values } = parseArgs({ options: { count: { type: 'string', default: '200' }, runs: { type: 'string', default: '15' } } });
const RB = ['/usr/lib/linux-kbuild-6.12.107+deb12/tools/bpf/resolve_btfids/resolve_btfids'].find((p) => existsSync(p));
if (!RB) { console.error('resolve_btfids not found: apt-get install linux-kbuild-6.12.107+deb12'); process.exit(2); }
const tree = join(cache, 'root/lib/modules/6.12.107+deb12-amd64/kernel');
const vmlinux = join(cache, 'root/usr/src/linux-headers-6.12.107+deb12-amd64/vmlinux');
const cli = join(root, 'dist/bundle/main.js');

const files = [];
(function walk(d) { for (const e of readdirSync(d, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : 1))) { const p = join(d, e.name); if (e.isDirectory()) walk(p); else if (p.endsWith('.ko.xz')) files.push(p); } })(tree);
// tcp_bbr has a .BTF_ids section (kfuncs): the single-module run uses it.
const bbr = files.find((f) => f.endsWith('/tcp_bbr.ko.xz'));
const pick = [...files.filter((f) => f !== bbr).slice(0, Number(values.count) - 1), bbr];
const work = mkdtempSync(join(tmpdir(), 'modbtf-bench-'));
const pristine = join(work, 'pristine');
mkdirSync(pristine);
// Uncompressed, signature removed (the build-tree state kbuild's BTF step sees).
const strip = (buf) => { const m = buf.lastIndexOf('~Module signature appended~\n'); if (m < 0) return buf; const sigLen = buf.readUInt32BE(m - 4); return buf.subarray(0, m - 12 - sigLen - buf[m - 12 + 3] - buf[m - 12 + 4]); };
pick.forEach((f, i) => writeFileSync(join(pristine, `${String(i).padStart(4, '0')}-${f.split('/').pop().replace(/\.xz$/, '')}`), strip(execFileSync('xz', ['-dc', f], { maxBuffer: 1 << 28 }))));
const names = readdirSync(pristine);
const fresh = (tag) => { const d = join(work, tag); rmSync(d, { recursive: true, force: true }); mkdirSync(d); for (const n of names) copyFileSync(join(pristine, n), join(d, n)); return d; };
const ms = (t0) => Number(process.hrtime.bigint() - t0) / 1e6;
const median = (a) => { const s = [...a].sort((x, y) => x - y); return s[Math.floor(s.length / 2)]; };

// (a) batch
let d = fresh('rb');
let t0 = process.hrtime.bigint();
for (const n of names) spawnSync(RB, ['-b', vmlinux, join(d, n)], { stdio: 'ignore' });
const rbBatch = ms(t0);
const resolvedDir = d;
d = fresh('mb');
t0 = process.hrtime.bigint();
const r1 = spawnSync(process.execPath, [cli, 'finalize', '--no-distill', '-b', vmlinux, d], { encoding: 'utf8' });
const mbBatch = ms(t0);
if (r1.status !== 0) { console.error(r1.stderr); process.exit(1); }
let same = 0;
for (const n of names) if (spawnSync('cmp', ['-s', join(d, n), join(resolvedDir, n)]).status === 0) same++;
d = fresh('md');
t0 = process.hrtime.bigint();
const r2 = spawnSync(process.execPath, [cli, 'finalize', '--distill', '--objcopy', 'objcopy', '-b', vmlinux, d], { encoding: 'utf8' });
const mdBatch = ms(t0);
if (r2.status !== 0) { console.error(r2.stderr); process.exit(1); }

// (b) single module, whole process (tcp_bbr: it has .BTF_ids)
const one = names.find((n) => n.includes('tcp_bbr')) ?? names[0];
const rbOne = [], mOne = [], mdOne = [];
let breakdown = '';
for (let i = 0; i < Number(values.runs); i++) {
  const a = join(work, 'one-a.ko'); copyFileSync(join(pristine, one), a);
  t0 = process.hrtime.bigint(); spawnSync(RB, ['-b', vmlinux, a], { stdio: 'ignore' }); rbOne.push(ms(t0));
  const b = join(work, 'one-b.ko'); copyFileSync(join(pristine, one), b);
  t0 = process.hrtime.bigint(); const rr = spawnSync(process.execPath, [cli, 'finalize', '--no-distill', '-b', vmlinux, b], { encoding: 'utf8', env: { ...process.env, MODBTF_TIMING: '1' } }); mOne.push(ms(t0));
  if (i === Number(values.runs) - 1) breakdown = rr.stderr.trim();
  const c = join(work, 'one-c.ko'); copyFileSync(join(pristine, one), c);
  t0 = process.hrtime.bigint(); spawnSync(process.execPath, [cli, 'finalize', '--distill', '--objcopy', 'objcopy', '-b', vmlinux, c], { stdio: 'ignore' }); mdOne.push(ms(t0));
}
// (c) the whole kbuild BTF step on a freshly linked module with DWARF (the e2e fixture,
// built with PAHOLE=true RESOLVE_BTFIDS=true so the .ko has no BTF yet): Makefile.modfinal's
// `pahole -J ... --btf_base vmlinux; resolve_btfids -b vmlinux` vs Makefile.snippet's
// `modbtf kbuild modfinal` (same pahole, then finalize with distill).
const KDIR = '/usr/src/linux-headers-6.12.107+deb12-amd64';
let stepRows = [];
if (existsSync(join(KDIR, 'Makefile'))) {
  const fx = join(work, 'fixture');
  mkdirSync(fx);
  for (const f of ['modbtf_e2e.c', 'Kbuild']) copyFileSync(join(root, 'test/e2e/fixture', f), join(fx, f));
  const mk = spawnSync('make', ['-C', KDIR, `M=${fx}`, 'PAHOLE=true', 'RESOLVE_BTFIDS=true', 'modules'], { encoding: 'utf8' });
  if (mk.status === 0) {
    const linked = join(fx, 'modbtf_e2e.ko');
    const flags = ['-J', '--btf_gen_floats', '-j', '--lang_exclude=rust'];
    const kb = [], mb = [];
    for (let i = 0; i < Number(values.runs); i++) {
      const a = join(work, 'step-a.ko'); copyFileSync(linked, a);
      t0 = process.hrtime.bigint();
      spawnSync('pahole', [...flags, '--btf_base', vmlinux, a], { stdio: 'ignore', env: { ...process.env, LLVM_OBJCOPY: 'objcopy' } });
      spawnSync(RB, ['-b', vmlinux, a], { stdio: 'ignore' });
      kb.push(ms(t0));
      const b = join(work, 'step-b.ko'); copyFileSync(linked, b);
      t0 = process.hrtime.bigint();
      const r = spawnSync(process.execPath, [cli, 'kbuild', 'modfinal', '--pahole=pahole', `--pahole-flags=${flags.slice(1).join(' ')}`, '--objcopy=objcopy', `--extmod=${fx}`, '--btf-base-ref=', b], { encoding: 'utf8', cwd: join(vmlinux, '..') });
      mb.push(ms(t0));
      if (r.status !== 0) { console.error(r.stderr); break; }
    }
    stepRows = [
      `(c) the kbuild BTF step on a freshly linked module (test/e2e/fixture), median of ${values.runs}:`,
      `    pahole + resolve_btfids (Makefile.modfinal) ${median(kb).toFixed(1)} ms`,
      `    pahole + modbtf finalize --distill         ${median(mb).toFixed(1)} ms  ratio ${(median(mb) / median(kb)).toFixed(2)}x`,
    ];
  } else stepRows = [`(c) skipped: building the fixture failed: ${mk.stderr.trim().split('\n').pop()}`];
} else stepRows = [`(c) skipped: ${KDIR} not installed`];
const bare = []; for (let i = 0; i < 10; i++) { t0 = process.hrtime.bigint(); spawnSync(process.execPath, ['-e', '0']); bare.push(ms(t0)); }
rmSync(work, { recursive: true, force: true });

console.log(`(a) batch of ${names.length} modules (uncompressed, unsigned), one run each:`);
console.log(`    resolve_btfids once per module          ${rbBatch.toFixed(0)} ms  (${(rbBatch / names.length).toFixed(1)} ms/module)`);
console.log(`    modbtf finalize --no-distill, 1 process ${mbBatch.toFixed(0)} ms  ratio ${(mbBatch / rbBatch).toFixed(2)}x  (${same}/${names.length} files byte-identical to resolve_btfids')`);
console.log(`    modbtf finalize --distill, 1 process    ${mdBatch.toFixed(0)} ms  ratio ${(mdBatch / rbBatch).toFixed(2)}x  (the real job: + .BTF.base, objcopy)`);
console.log(`(b) one module (${one}), whole process, median of ${values.runs}:`);
console.log(`    resolve_btfids                          ${median(rbOne).toFixed(1)} ms`);
console.log(`    modbtf finalize --no-distill            ${median(mOne).toFixed(1)} ms  ratio ${(median(mOne) / median(rbOne)).toFixed(1)}x`);
console.log(`    modbtf finalize --distill               ${median(mdOne).toFixed(1)} ms  ratio ${(median(mdOne) / median(rbOne)).toFixed(1)}x`);
console.log(`    node -e 0 (floor for any Node tool)     ${median(bare).toFixed(1)} ms`);
for (const l of stepRows) console.log(l);
console.log(`    breakdown of the last --no-distill run:\n      ${breakdown.split('\n').join('\n      ')}`);
