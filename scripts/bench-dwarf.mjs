#!/usr/bin/env zx
/**
 * lib/dwarf beside elfutils on one module (default: the largest of Debian's 7.2.13
 * cloud-amd64 -dbg package), side by side in one run, wall time and peak RSS (GNU time),
 * medians of --runs (default 3), no heap flags:
 *
 *   dump   scripts/dwarf-dump.mjs --parts info,loc,ranges   vs  eu-readelf -N --debug-dump=info,loc,ranges
 *          (the same text, byte for byte: the like-for-like figure)
 *   walk   lib/dwarf: relocate, index every unit, every attribute of every DIE through every
 *          dwarf_form*-like accessor, every location list and range list
 *          vs  scripts/oracle/libdw-walk (libdw doing all that and printing it)
 *   pahole lib/dwarf: what pahole's dwarf_loader reads of each DIE (tag, type, name, the
 *          sizes/offsets/values of its kind, pcs, locations of parameters and variables),
 *          from the file (openDwarfFile) and with the whole file in memory; and pahole 1.32
 *          itself encoding the module (-J --btf_base vmlinux), for the scale of the budget
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

// Child mode: what pahole's dwarf_loader asks of every DIE (tag, type, name, the sizes and
// offsets of its kind, flags, code addresses, locations of parameters and variables), through
// the allocation-free accessors, in its own process so GNU time measures it alone.
if (process.argv[2] === '--child-pahole') {
  const lib = await import(pathToFileURL(join(ROOT, 'dist/lib/index.js')).href);
  const DW = lib.dwarfConstants;
  const d = process.argv[4] === '--in-memory' ? lib.openDwarf((await lib.loadModuleFile(process.argv[3])).elf) : lib.openDwarfFile(process.argv[3]);
  let dies = 0;
  let names = 0;
  let locs = 0;
  for (const u of d.units) {
    const idx = u.index();
    const abbrevs = u.abbrevs.abbrevs;
    dies += idx.count;
    for (let i = 0; i < idx.count; i++) {
      const die = idx.offsets[i];
      const tag = abbrevs[idx.abbrevs[i]].tag;
      d.attrRef(die, DW.DW_AT_type);
      d.attrRef(die, DW.DW_AT_abstract_origin);
      if (d.attrString(die, DW.DW_AT_name) !== undefined) names++;
      switch (tag) {
        case DW.DW_TAG_member:
          d.attrNumber(die, DW.DW_AT_data_member_location); d.attrNumber(die, DW.DW_AT_data_bit_offset);
          d.attrNumber(die, DW.DW_AT_bit_size); d.attrNumber(die, DW.DW_AT_byte_size); break;
        case DW.DW_TAG_base_type: case DW.DW_TAG_structure_type: case DW.DW_TAG_union_type: case DW.DW_TAG_enumeration_type:
          d.attrNumber(die, DW.DW_AT_byte_size); d.attrNumber(die, DW.DW_AT_encoding); d.hasAttr(die, DW.DW_AT_declaration); break;
        case DW.DW_TAG_enumerator: d.attrUdata(die, DW.DW_AT_const_value); break;
        case DW.DW_TAG_subrange_type: d.attrUdata(die, DW.DW_AT_upper_bound); d.attrUdata(die, DW.DW_AT_count); break;
        case DW.DW_TAG_subprogram:
          d.attrString(die, DW.DW_AT_linkage_name); d.attrNumber(die, DW.DW_AT_inline); d.hasAttr(die, DW.DW_AT_external);
          d.hasAttr(die, DW.DW_AT_declaration); d.attrRef(die, DW.DW_AT_specification); d.lowPc(die); d.highPc(die);
          d.attrNumber(die, DW.DW_AT_calling_convention); break;
        case DW.DW_TAG_formal_parameter: case DW.DW_TAG_variable: {
          const l = d.hasAttr(die, DW.DW_AT_location) ? d.locations(die, DW.DW_AT_location) : undefined;
          if (l) locs += l.length;
          break;
        }
        case DW.DW_TAG_inlined_subroutine: case DW.DW_TAG_lexical_block: d.ranges(die); break;
        default:
      }
    }
  }
  console.log(`${d.units.length} units, ${dies} DIEs, ${names} names, ${locs} location entries`);
  process.exit(0);
}

// Child mode: every attribute value through every accessor.
if (process.argv[2] === '--child-walk') {
  const lib = await import(pathToFileURL(join(ROOT, 'dist/lib/index.js')).href);
  const d = lib.openDwarfFile(process.argv[3]);
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

// Under zx the script's own path is among the arguments.
const args = process.argv.slice(2).filter((a) => !a.endsWith('bench-dwarf.mjs'));
const { values } = parseArgs({ args, options: { module: { type: 'string' }, runs: { type: 'string', default: '3' } } });
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
  const r = await $({ nothrow: true, verbose: false, quiet: true })`/usr/bin/time -f ${'%e %M'} sh -c ${`${cmd} > /dev/null`}`;
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
  ['pahole-like reads: lib/dwarf (openDwarfFile)', `node ${q(join(ROOT, 'scripts/bench-dwarf.mjs'))} --child-pahole ${q(file)}`],
  ['pahole-like reads: lib/dwarf (whole file in memory)', `node ${q(join(ROOT, 'scripts/bench-dwarf.mjs'))} --child-pahole ${q(file)} --in-memory`],
  ['pahole 1.32 -J --btf_base vmlinux (for scale)', `chroot ${q(SID_ROOT)} pahole -J --btf_base ${q(`${dbg.rootInSid}/usr/lib/debug/boot/vmlinux-7.2.13+deb14-cloud-amd64`)} --btf_encode_detached=/tmp/bench-dwarf.btf ${q(inSid)}`],
  ['node -e 0 (what starting Node.js costs)', 'node -e 0'],
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
const fileMb = statSync(file).size / (1 << 20);
console.log(`  (the file itself: ${fileMb.toFixed(0)} MB)`);
const ratio = (a, b) => `${(rows[a].secs / rows[b].secs).toFixed(2)}x time, ${(rows[a].mb / rows[b].mb).toFixed(2)}x peak RSS`;
console.log(`  dump: lib/dwarf / eu-readelf = ${ratio(0, 1)}`);
console.log(`  walk: lib/dwarf / libdw       = ${ratio(2, 3)}`);
