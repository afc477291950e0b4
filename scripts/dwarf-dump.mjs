#!/usr/bin/env node
/**
 * Prints what lib/dwarf reads from an object file in the text of
 * `eu-readelf -N --debug-dump=<parts>` (elfutils 0.196), for comparison with the real
 * eu-readelf (scripts/dwarf-compare.mjs does that over many files).
 *
 *   node scripts/dwarf-dump.mjs [--parts info,loc,ranges] FILE.ko|FILE.o [> out.txt]
 *
 * Uses the built library (dist/lib; `npm run build`). Exit 2 with the error's description
 * (file, section, offset, DIE) when the DWARF cannot be read.
 */
import { parseArgs } from 'node:util';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { isElfFile } from './lib/corpus.mjs';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const lib = await import(pathToFileURL(join(ROOT, 'dist', 'lib', 'index.js')).href);

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: { parts: { type: 'string', default: 'info' }, help: { type: 'boolean', short: 'h' } },
});
if (values.help || positionals.length !== 1) {
  console.error('usage: node scripts/dwarf-dump.mjs [--parts info,loc,ranges] FILE');
  process.exit(values.help ? 0 : 2);
}
const parts = values.parts.split(',').filter(Boolean);
for (const p of parts) {
  if (!['info', 'loc', 'ranges'].includes(p)) { console.error(`dwarf-dump: unknown part ${p} (info, loc, ranges)`); process.exit(2); }
}

/** Writes with backpressure, so a dump of hundreds of MB streams instead of piling up. */
function write(s) {
  return process.stdout.write(s) ? undefined : new Promise((r) => process.stdout.once('drain', r));
}

try {
  // Plain ELF files are read lazily from disk (openDwarfFile); compressed modules in memory.
  const d = isElfFile(positionals[0])
    ? lib.openDwarfFile(positionals[0], { base: lib.READELF_OFFLINE_BASE })
    : lib.openDwarf((await lib.loadModuleFile(positionals[0])).elf, { base: lib.READELF_OFFLINE_BASE });
  for (const chunk of lib.readelfDebugDump(d, parts)) {
    const w = write(chunk);
    if (w) await w;
  }
} catch (e) {
  if (lib.isModbtfError(e)) {
    console.error(`dwarf-dump: ${e.describe()}`);
    process.exit(2);
  }
  throw e;
}
