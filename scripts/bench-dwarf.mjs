#!/usr/bin/env zx
/**
 * lib/dwarf beside elfutils on one module (default: the largest of Debian's 7.2.13
 * cloud-amd64 -dbg package), side by side in one run, wall time and peak RSS (GNU time),
 * medians of --runs (default 3), no heap flags:
 *
 *   dump   scripts/dwarf-dump.mjs --parts info,loc,ranges   vs  eu-readelf -N --debug-dump=info,loc,ranges
 *          (the same text, byte for byte: the like-for-like figure)
 *   walk   lib/dwarf: relocate, index every unit, every attribute of every DIE through its
 *          typed accessor, every location list and range list (what an encoder reads)
 *          vs  scripts/oracle/libdw-walk (libdw doing all that and printing it)
 *
 *   npx zx scripts/bench-dwarf.mjs [--module FILE] [--runs N]
 *
 * Needs the sid chroot with elfutils and libdw-dev (set up here), root.
 */
import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { fileURLToPath, pathToFileURL } from 'node:url';

const ROOT = join(fileURLToPath(new URL('.', import.meta.url)), '..');

// Child mode: the walk, in its own process so GNU time measures it alone.
if (process.argv[2] === '--child-walk') {
  const lib = await import(pathToFileURL(join(ROOT, 'dist/lib/index.js')).href);
  const m = await lib.loadModuleFile(process.argv[3]);
  const d = lib.openDwarf(m.elf);
  let dies = 0;
  let values = 0;
  let locs = 0;
  for (const u of d.units) {
    const idx = u.index();
    dies += idx.count;
    for (let i = 0; i < idx.count; i++) {
      const die = idx.offsets[i];
      for (const a of d.attrs(die)) {
        a.udata(); a.string(); a.ref(); a.addr(); a.flag(); a.block();
        if (a.name === 0x02 || a.name === 0x38) { const l = a.locations(); if (l) locs += l.length; }
        values++;
      }
      d.ranges(die);
    }
  }
  console.log(`${d.units.length} units, ${dies} DIEs, ${values} attribute values, ${locs} location entries`);
  process.exit(0);
}

const { $ } = await import('zx');
const { SID_BASE_PACKAGES, ensureSid, SID_ROOT } = await import('./e2e-lib/sid.mjs');
const { ensureCloudDbg, listModules } = await import('./e2e-lib/dbg7.mjs');
const { ensureWalkOracle } = await import('./e2e-lib/oracle.mjs');
$.verbose = false;

const { values } = parseArgs({ options: { module: { type: 'string' }, runs: { type: 'string', default: '3' } } });
const runs = Number(values.runs);
await ensureSid([...SID_BASE_PACKAGES, 'elfutils', 'libdw-dev']);
const dbg = await ensureCloudDbg();
let file = values.module;
if (file === undefined) {
  let best = 0;
  for (const f of listModules(dbg.modules)) {
    const size = statSync(f).size;
    if (size > best) { best = size; file = f; }
  }
}
if (!file || !existsSync(file) || !file.startsWith(SID_ROOT)) throw new Error(`bench-dwarf: ${file} must be a file inside ${SID_ROOT}`);
const inSid = file.slice(SID_ROOT.length);
const walkBin = await ensureWalkOracle();

async function timed(cmd) {
  const r = await $({ nothrow: true })`/usr/bin/time -f ${'%e %M'} sh -c ${`${cmd} > /dev/null`}`;
  if (r.exitCode !== 0) throw new Error(`${cmd}: ${r.stderr}`);
  const [secs, kb] = r.stderr.trim().split('\n').pop().split(' ').map(Number);
  return { secs, mb: kb / 1024 };
}
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const q = (s) => `'${s.replace(/'/g, `'\\''`)}'`;

const cases = [
  ['dump: lib/dwarf (scripts/dwarf-dump.mjs)', `node ${q(join(ROOT, 'scripts/dwarf-dump.mjs'))} --parts info,loc,ranges ${q(file)}`],
  ['dump: eu-readelf -N --debug-dump=info,loc,ranges', `chroot ${q(SID_ROOT)} eu-readelf -N --debug-dump=info --debug-dump=loc --debug-dump=ranges ${q(inSid)}`],
  ['walk: lib/dwarf, every value', `node ${q(join(ROOT, 'scripts/bench-dwarf.mjs'))} --child-walk ${q(file)}`],
  ['walk: libdw (libdw-walk oracle)', `chroot ${q(SID_ROOT)} ${q(walkBin)} ${q(inSid)}`],
];
const info = (await $`node ${join(ROOT, 'scripts/bench-dwarf.mjs')} --child-walk ${file}`).stdout.trim();
console.log(`bench-dwarf: ${file.slice(dbg.modules.length + 1)} (${(statSync(file).size / 1e6).toFixed(1)} MB; ${info}), ${runs} runs each, medians`);
const results = new Map(cases.map(([name]) => [name, []]));
for (let r = 0; r < runs; r++) {
  for (const [name, cmd] of cases) results.get(name).push(await timed(cmd));
}
const rows = cases.map(([name]) => {
  const xs = results.get(name);
  return { name, secs: median(xs.map((x) => x.secs)), mb: median(xs.map((x) => x.mb)) };
});
for (const r of rows) console.log(`  ${r.name.padEnd(52)} ${r.secs.toFixed(2).padStart(7)} s ${r.mb.toFixed(0).padStart(6)} MB`);
const ratio = (a, b) => `${(rows[a].secs / rows[b].secs).toFixed(2)}x time, ${(rows[a].mb / rows[b].mb).toFixed(2)}x peak RSS`;
console.log(`  dump: lib/dwarf / eu-readelf = ${ratio(0, 1)}`);
console.log(`  walk: lib/dwarf / libdw       = ${ratio(2, 3)}`);
