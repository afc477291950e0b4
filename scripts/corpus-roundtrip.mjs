#!/usr/bin/env node
// Round trip every module of a /lib/modules tree: load (decompress, strip signature,
// parse ELF), parse .BTF over vmlinux, validate with the kernel's rules, re-encode
// from the decoded records and compare with the section bytes.
//
//   node scripts/corpus-roundtrip.mjs [--vmlinux FILE] [--jobs N] [TREE]
//
// TREE defaults to the Debian 6.12.107 image unpacked by scripts/e2e.mjs (Debian 7.2.13:
// `--vmlinux` and TREE from scripts/e2e-lib/kernel7.mjs, as scripts/e2e.mjs passes them). Prints one
// line per failure and a closing `checked N: X identical, Y differing, Z errors`;
// exit status 1 when anything differs or fails.
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { loadModuleFile } from '../dist/lib/module/load.js';
import { loadBaseBtf } from '../dist/lib/module/btf-file.js';
import { readElfBtf } from '../dist/lib/btf/source.js';
import { rewriteBtf } from '../dist/lib/btf/write.js';
import { validateBtf } from '../dist/lib/btf/validate.js';
import { eachConcurrently, walkModules } from './lib/corpus.mjs';

const CACHE = process.env.MODBTF_CACHE ?? '/var/cache/modbtf';
const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    vmlinux: { type: 'string', default: `${CACHE}/root/usr/src/linux-headers-6.12.107+deb12-amd64/vmlinux` },
    jobs: { type: 'string', default: '4' },
  },
});
const tree = positionals[0] ?? `${CACHE}/root/lib/modules/6.12.107+deb12-amd64`;

const t0 = performance.now();
const base = await loadBaseBtf(values.vmlinux);
const files = [...walkModules(tree, /\.ko(\.xz|\.zst|\.gz)?$/)];
let identical = 0, differing = 0, errors = 0, noBtf = 0, types = 0;
await eachConcurrently(files, Number(values.jobs), async (file) => {
  try {
    const mod = await loadModuleFile(file);
    if (!mod.elf.sectionByName('.BTF')) { noBtf++; return; }
    const { btf } = readElfBtf(mod.elf, { base, file });
    types += btf.ownTypeCount;
    const problems = validateBtf(btf, { limit: 1 });
    if (problems.length > 0) { errors++; console.log(`INVALID ${file}: ${problems[0].describe()}`); return; }
    const out = rewriteBtf(btf);
    if (Buffer.compare(Buffer.from(out), Buffer.from(btf.bytes)) === 0) identical++;
    else { differing++; console.log(`DIFFERENT ${file}`); }
  } catch (err) {
    errors++;
    console.log(`ERROR ${file}: ${err?.describe ? err.describe() : err}`);
  }
});
const secs = ((performance.now() - t0) / 1000).toFixed(1);
console.log(`tree ${tree}: ${files.length} module files, ${types} split types, ${noBtf} without .BTF, ${secs} s`);
console.log(`checked ${files.length - noBtf}: ${identical} identical, ${differing} differing, ${errors} errors`);
process.exitCode = differing + errors > 0 ? 1 : 0;
