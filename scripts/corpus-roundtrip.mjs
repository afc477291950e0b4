#!/usr/bin/env node
// Round trip every module of a /lib/modules tree: load (decompress, strip signature,
// parse ELF), parse .BTF over vmlinux, validate with the kernel's rules, re-encode
// from the decoded records and compare with the section bytes.
//
//   node scripts/corpus-roundtrip.mjs [--vmlinux FILE] [--jobs N] [TREE]
//
// TREE defaults to the Debian 6.12.107 image unpacked by scripts/e2e.mjs. Prints one
// line per failure and a closing `checked N: X identical, Y differing, Z errors`;
// exit status 1 when anything differs or fails.
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { loadModuleFile } from '../dist/lib/module/load.js';
import { loadBaseBtf } from '../dist/lib/module/btf-file.js';
import { readElfBtf } from '../dist/lib/btf/source.js';
import { rewriteBtf } from '../dist/lib/btf/write.js';
import { validateBtf } from '../dist/lib/btf/validate.js';

const CACHE = process.env.MODBTF_CACHE ?? '/var/cache/modbtf';
const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    vmlinux: { type: 'string', default: `${CACHE}/root/usr/src/linux-headers-6.12.107+deb12-amd64/vmlinux` },
    jobs: { type: 'string', default: '4' },
  },
});
const tree = positionals[0] ?? `${CACHE}/root/lib/modules/6.12.107+deb12-amd64`;

function* walk(dir) {
  // Dirent types do not follow symlinks: /lib/modules/*/build points outside the tree.
  for (const e of readdirSync(dir, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : 1))) {
    const p = join(dir, e.name);
    if (e.isDirectory()) yield* walk(p);
    else if (e.isFile() && /\.ko(\.xz|\.zst|\.gz)?$/.test(e.name)) yield p;
  }
}

const t0 = performance.now();
const base = await loadBaseBtf(values.vmlinux);
const files = [...walk(tree)];
let identical = 0, differing = 0, errors = 0, noBtf = 0, types = 0;
let next = 0;
async function worker() {
  while (next < files.length) {
    const file = files[next++];
    try {
      const mod = await loadModuleFile(file);
      if (!mod.elf.sectionByName('.BTF')) { noBtf++; continue; }
      const { btf } = readElfBtf(mod.elf, { base, file });
      types += btf.ownTypeCount;
      const problems = validateBtf(btf, { limit: 1 });
      if (problems.length > 0) { errors++; console.log(`INVALID ${file}: ${problems[0].describe()}`); continue; }
      const out = rewriteBtf(btf);
      if (Buffer.compare(Buffer.from(out), Buffer.from(btf.bytes)) === 0) identical++;
      else { differing++; console.log(`DIFFERENT ${file}`); }
    } catch (err) {
      errors++;
      console.log(`ERROR ${file}: ${err?.describe ? err.describe() : err}`);
    }
  }
}
await Promise.all(Array.from({ length: Number(values.jobs) }, worker));
const secs = ((performance.now() - t0) / 1000).toFixed(1);
console.log(`tree ${tree}: ${files.length} module files, ${types} split types, ${noBtf} without .BTF, ${secs} s`);
console.log(`checked ${files.length - noBtf}: ${identical} identical, ${differing} differing, ${errors} errors`);
process.exitCode = differing + errors > 0 ? 1 : 0;
