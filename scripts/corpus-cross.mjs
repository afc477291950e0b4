#!/usr/bin/env node
// The corpus checks over Debian's arm64 and s390x (big-endian) module trees (issue 12), by the
// same scripts as amd64, with the trees, vmlinux files and relocation targets of those arches:
//
//   node scripts/corpus-cross.mjs [--tree NAME[,NAME]] [--count N] [--bpftool-count M] [--vmlinux-dump]
//
// Trees (scripts/e2e-lib/cross.mjs):
//   7.2.13-arm64, 7.2.13-s390x   linux-modules-7.2.13+deb14-<arch> (sid), over the arch's 7.2.13
//                                headers' vmlinux, relocated onto experimental's 7.3-rc7 <arch> vmlinux
//   6.12.107-s390x               trixie's linux-image-6.12.107+deb13-s390x over its headers' vmlinux,
//                                relocated onto 7.2.13's s390x vmlinux and onto its own (the mirror
//                                no longer has trixie's 6.12.117 s390x headers)
// --count N     every k-th module, N in all (hard links under $MODBTF_CACHE/cross/sample-*; default: all)
// Per tree:
//   round trip        scripts/corpus-roundtrip.mjs (parse, validate, re-encode == section bytes)
//   dump              scripts/compare-bpftool.mjs --sid: sid's bpftool 7.8 vs modbtf dump, raw and
//                     JSON, on M modules (--bpftool-count, default 20; --vmlinux-dump: the vmlinux too)
//   libbpf 1.7.0      scripts/corpus7-oracle.mjs --tree/--base/--target: the reference table
//   distill           scripts/corpus-distill.mjs against that table
//   relocation        scripts/corpus-relocate.mjs against that table
// Prints each script's closing counts with its wall time, a summary table, and `N passed, M failed`.
import { spawnSync } from 'node:child_process';
import { existsSync, linkSync, mkdirSync, rmSync, writeFileSync, readFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { parseArgs } from 'node:util';
import { CACHE, CROSS, ensure73, ensureCrossSid, ensureCrossTrixie, ensureShipped6, ensureShipped72, k6, k72 } from './e2e-lib/cross.mjs';
import { CHECKOUT_ID } from './e2e-lib/sid.mjs';
import { repo, walkModules } from './lib/corpus.mjs';

const { values } = parseArgs({
  options: {
    tree: { type: 'string', default: '7.2.13-arm64,7.2.13-s390x,6.12.107-s390x' },
    count: { type: 'string' },
    'bpftool-count': { type: 'string', default: '20' },
    'vmlinux-dump': { type: 'boolean', default: false },
    jobs: { type: 'string', default: '2' },
  },
});
const t0 = Date.now();
const log = (m) => console.log(`[corpus-cross ${((Date.now() - t0) / 1000).toFixed(1).padStart(6)}s] ${m}`);
let passed = 0, failed = 0;
const rows = [];

const TREES = {
  '7.2.13-arm64': { arch: 'arm64', abi: 7 },
  '7.2.13-s390x': { arch: 's390x', abi: 7 },
  '6.12.107-s390x': { arch: 's390x', abi: 6, version: '6.12.107' },
};
const wanted = values.tree.split(',');
for (const t of wanted) if (!TREES[t]) throw new Error(`--tree ${t}: one of ${Object.keys(TREES).join(', ')}`);
await ensureCrossSid({ arches: [...new Set(wanted.map((t) => TREES[t].arch))], log });
if (wanted.some((t) => TREES[t].abi === 6)) await ensureCrossTrixie({ arches: [...new Set(wanted.filter((t) => TREES[t].abi === 6).map((t) => TREES[t].arch))], log });

/** Every k-th module of `tree`, N in all, as hard links under a sample directory (kept: same N, same files). */
function sampleTree(name, tree, n) {
  const all = [...walkModules(tree)];
  const step = Math.max(1, Math.floor(all.length / n));
  const picked = all.filter((_, i) => i % step === 0).slice(0, n);
  const dir = join(CROSS, `sample-${name}-${n}`);
  const list = picked.map((f) => relative(tree, f)).join('\n');
  const stamp = join(dir, '.list');
  if (existsSync(stamp) && readFileSync(stamp, 'utf8') === list) return { dir, total: all.length };
  rmSync(dir, { recursive: true, force: true });
  for (const rel of list.split('\n')) {
    mkdirSync(dirname(join(dir, rel)), { recursive: true });
    linkSync(join(tree, rel), join(dir, rel));
  }
  writeFileSync(stamp, list);
  return { dir, total: all.length };
}

/** Runs one corpus script; returns its closing lines and wall time, and counts a pass/fail. */
function run(what, tree, script, args, summaryRe) {
  // compare-bpftool is a zx script; the others run on node.
  const t = Date.now();
  const runner = script.endsWith('compare-bpftool.mjs') ? [join(repo, 'node_modules/.bin/zx')] : [process.execPath];
  const r = spawnSync(runner[0], [join(repo, 'scripts', script), ...args], { encoding: 'utf8', maxBuffer: 1 << 30, cwd: repo });
  const secs = (Date.now() - t) / 1000;
  const out = `${r.stdout}${r.stderr}`.trimEnd().split('\n');
  const lines = out.filter((l) => summaryRe.test(l));
  const ok = r.status === 0;
  if (ok) passed++; else failed++;
  console.log(`    ${ok ? 'ok  ' : 'FAIL'} ${tree} ${what} (${secs.toFixed(1)} s): ${lines.join(' | ') || out.at(-1)}`);
  if (!ok) for (const l of out.filter((x) => /^(DIFFERENT|DIFF |ERROR|INVALID|NOT IN TSV)/.test(x)).slice(0, 10)) console.log(`         ${l}`);
  rows.push({ tree, what, ok, secs, result: lines.at(-1) ?? out.at(-1) });
  return r;
}

for (const name of wanted) {
  const { arch, abi, version } = TREES[name];
  console.log('');
  let tree, vmlinux, targets;
  if (abi === 7) {
    const k = await ensureShipped72(arch, log);
    tree = k.modules;
    vmlinux = k.vmlinux;
    targets = [{ vmlinux: (await ensure73(arch, log)).vmlinux, name: `7.3-rc7 ${arch}`, tag: '7.3-rc7' }];
  } else {
    const k = await ensureShipped6(arch, version, log);
    tree = k.modules;
    vmlinux = k6(arch, version).vmlinux;
    // The mirror no longer has trixie's 6.12.117 s390x headers: 7.2.13's vmlinux (a real,
    // mostly failing relocation) and the module's own 6.12.107 vmlinux (every type maps).
    targets = [{ vmlinux: k72(arch).vmlinux, name: `7.2.13 ${arch}`, tag: '7.2.13' }, { vmlinux, name: `${version} ${arch} (itself)`, tag: 'self' }];
  }
  let total;
  if (values.count !== undefined) ({ dir: tree, total } = sampleTree(name, tree, Number(values.count)));
  const n = [...walkModules(tree)].length;
  log(`${name}: ${n} modules${total ? ` (sample of ${total})` : ''} under ${tree}; base ${vmlinux}; targets ${targets.map((t) => `${t.name}: ${t.vmlinux}`).join(', ')}`);
  run('round trip', name, 'corpus-roundtrip.mjs', ['--vmlinux', vmlinux, '--jobs', values.jobs, tree], /^checked /);
  run(`dump vs bpftool 7.8 (${values['bpftool-count']} modules${values['vmlinux-dump'] ? ' + vmlinux' : ''})`, name, 'compare-bpftool.mjs',
    ['--sid', '--modules', tree, '--vmlinux-path', vmlinux, '--count', values['bpftool-count'], '--jobs', values.jobs, ...(values['vmlinux-dump'] ? ['--vmlinux'] : [])], /identical, \d+ different$/);
  for (const [i, t] of targets.entries()) {
    const tsv = join(CACHE, 'corpus7', `corpus-cross-${CHECKOUT_ID}-${name}-to-${t.tag}${values.count ? `-${values.count}` : ''}.tsv`);
    const o = run(`libbpf 1.7.0 oracle (target ${t.name})`, name, 'corpus7-oracle.mjs', ['--tree', tree, '--base', vmlinux, '--target', t.vmlinux, '--name', `${name}-${t.tag}-${CHECKOUT_ID}`, '--out', tsv, '--jobs', values.jobs], /^\d+ modules: \d+ ok/);
    if (o.status !== 0 && !existsSync(tsv)) continue;
    if (i === 0) run('distill vs libbpf 1.7.0', name, 'corpus-distill.mjs', ['--vmlinux', vmlinux, '--tsv', tsv, '--jobs', values.jobs, tree], /identical, \d+ different/);
    run(`relocation onto ${t.name} vs libbpf 1.7.0`, name, 'corpus-relocate.mjs', ['--vmlinux', vmlinux, '--target', t.vmlinux, '--tsv', tsv, '--jobs', values.jobs, tree], /^(relocation: |\d+ identical)/);
  }
}

console.log('\nsummary:');
for (const r of rows) console.log(`  ${r.ok ? 'PASS' : 'FAIL'}  ${r.tree.padEnd(15)} ${r.what.padEnd(56)} ${r.secs.toFixed(1).padStart(7)} s  ${r.result}`);
console.log(`total time ${((Date.now() - t0) / 1000).toFixed(1)} s`);
console.log(`${passed} passed, ${failed} failed`);
process.exitCode = failed > 0 ? 1 : 0;
