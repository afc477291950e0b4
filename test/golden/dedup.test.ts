/**
 * lib/dedup against libbpf's btf__dedup(): every case of test/fixtures/dedup (made by
 * scripts/gen-dedup-fixtures.mjs with scripts/oracle/dedup-oracle.c linked with Debian's
 * libbpf 1.7.0 and with the kernel 7.3 tree's libbpf; PROVENANCE.md there) in both
 * behaviours: the raw bytes equal the libbpf's, or both fail with the same errno.
 */
import { existsSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { Btf } from '../../lib/btf/btf.js';
import { dedupBtf, DEDUP_BEHAVIOURS, DedupError } from '../../lib/dedup/index.js';
import { fixtureBytes, fixturePath, firstDiff } from '../helpers/fixtures.js';

const D = 'dedup';
const cases = readFileSync(fixturePath(`${D}/cases.tsv`), 'utf8').trim().split('\n').map((l) => l.split('\t') as [string, string, string]);
const bases = new Map<string, Btf>();
function baseOf(path: string): Btf | undefined {
  if (path === '-') return undefined;
  let b = bases.get(path);
  if (b === undefined) {
    b = Btf.parse(path === 'base.btf' ? fixtureBytes(`${D}/base.btf.gz`) : fixtureBytes(path.replace(/^test\/fixtures\//, '')), { file: path });
    bases.set(path, b);
  }
  return b;
}

describe('dedupBtf equals libbpf btf__dedup', () => {
  it('covers every kind of case the fixtures promise', () => {
    expect(cases.map((c) => c[0])).toEqual(expect.arrayContaining(['typedef-over-base', 'chain-order', 'loop', 'standalone', 'strings', 'k7fix-pahole', 'fou+tcp_bbr', 'k7fix-s390x-pahole']));
  });
  for (const [name, basePath, description] of cases) {
    for (const behaviour of DEDUP_BEHAVIOURS) {
      it(`${name} (${behaviour}): ${description}`, () => {
        const base = baseOf(basePath);
        const input = Btf.parse(fixtureBytes(`${D}/${name}.in.btf.gz`), { file: `${name}.in.btf`, ...(base ? { base } : {}) });
        const errFile = fixturePath(`${D}/${name}.${behaviour}.err`);
        if (existsSync(errFile)) {
          const errno = readFileSync(errFile, 'utf8').trim();
          let err: unknown;
          try { dedupBtf(input, { behaviour }); } catch (e) { err = e; }
          expect(err).toBeInstanceOf(DedupError);
          expect((err as DedupError).errno).toBe(errno);
          return;
        }
        const want = fixtureBytes(`${D}/${name}.${behaviour}.btf.gz`);
        const got = dedupBtf(input, { behaviour }).bytes;
        expect(firstDiff(got, want)).toBeUndefined();
      });
    }
  }
});
