/**
 * In-process parse benchmarks on vmlinux 6.12.107 BTF (112,519 types, 4.9 MB).
 *
 *   npm run build && npx vitest bench --run --project unit test/bench
 *
 * `vitest bench` has its own include pattern (**\/*.bench.ts), so the projects' *.test.ts
 * includes do not hide this file and vitest.config.ts needs no change; --project unit
 * keeps it from running once per project (unit, golden, e2e).
 *
 * Two copies of the code are measured. dist/ is loaded with Node's own loader
 * (createRequire; Node >= 20.19 can require ESM): that is what users run. lib/ sources go
 * through vitest's module transform, which turns every imported binding into a property
 * read on a module object; in hot loops calling small imported helpers (Btf.parse calls
 * infoKind/infoVlen/extraSize per type) that costs ~6x (measured: Btf.parse 1.2 ms from
 * dist/, 7-8 ms from lib/ under vitest), so only the dist/ numbers compare with libbpf.
 * The side-by-side with libbpf itself is scripts/bench.mjs (`npm run bench`).
 */
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { gunzipSync } from 'node:zlib';
import { bench, describe } from 'vitest';
import { Btf as SrcBtf } from '../../lib/btf/btf.js';
import { validateBtf as srcValidateBtf } from '../../lib/btf/validate.js';

type BtfModule = typeof import('../../lib/btf/btf.js');
type ValidateModule = typeof import('../../lib/btf/validate.js');

const bytes = new Uint8Array(gunzipSync(readFileSync(new URL('../fixtures/btf/vmlinux-6.12.107.btf.gz', import.meta.url))));

const require = createRequire(import.meta.url);
const distBtfPath = fileURLToPath(new URL('../../dist/lib/btf/btf.js', import.meta.url));
const distValidatePath = fileURLToPath(new URL('../../dist/lib/btf/validate.js', import.meta.url));
const dist = existsSync(distBtfPath) && existsSync(distValidatePath)
  ? { btf: require(distBtfPath) as BtfModule, validate: require(distValidatePath) as ValidateModule }
  : undefined;

describe.skipIf(dist === undefined)('vmlinux 6.12.107 BTF, dist/ (native loader; run `npm run build` first)', () => {
  if (dist === undefined) return;
  const { Btf } = dist.btf;
  const { validateBtf } = dist.validate;
  const parsed = Btf.parse(bytes);

  bench('Btf.parse (header, strings, type index)', () => {
    Btf.parse(bytes);
  }, { time: 2000, warmupIterations: 100 });

  bench('Btf.parse + type(id) of every type', () => {
    const btf = Btf.parse(bytes);
    for (let id = 1; id < btf.typeCount; id++) btf.type(id);
  }, { time: 2000 });

  bench('validateBtf (kernel checks of every type, parsed once)', () => {
    validateBtf(parsed);
  }, { time: 3000 });
});

describe('vmlinux 6.12.107 BTF, lib/ sources (vitest transform: not comparable with libbpf)', () => {
  const parsed = SrcBtf.parse(bytes);

  bench('Btf.parse (header, strings, type index)', () => {
    SrcBtf.parse(bytes);
  }, { time: 2000, warmupIterations: 100 });

  bench('validateBtf (parsed once)', () => {
    srcValidateBtf(parsed);
  }, { time: 3000 });
});
