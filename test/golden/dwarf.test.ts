// lib/dwarf against eu-readelf 0.196 (sid's elfutils: libdwfl relocates, libdw reads — what
// pahole 1.32 uses there), on the objects of test/fixtures/dwarf (scripts/gen-dwarf-fixtures.mjs):
// gcc 16 for x86_64, aarch64, s390x, ppc64le, riscv64 and i386, DWARF 4 and 5, clang, -gz=zlib,
// -ffunction-sections, ld -r, and two modules of Debian's 7.2.13 cloud-amd64 -dbg package.
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { openDwarf } from '../../lib/dwarf/dwarf.js';
import { READELF_OFFLINE_BASE } from '../../lib/dwarf/layout.js';
import { readelfDebugDump } from '../../lib/dwarf/readelf.js';
import { parseElf } from '../../lib/elf/index.js';
import { fixtureBytes, fixturePath } from '../helpers/fixtures.js';

const manifest = readFileSync(fixturePath('dwarf/MANIFEST.tsv'), 'utf8').trim().split('\n').slice(1).map((l) => l.split('\t') as [string, string, string]);
const objects = manifest.map(([f]) => f).filter((f) => f.endsWith('.o'));

function firstDifference(expected: string, actual: string): string | undefined {
  if (expected === actual) return undefined;
  const a = expected.split('\n');
  const b = actual.split('\n');
  for (let i = 0; i < Math.max(a.length, b.length); i++) {
    if (a[i] !== b[i]) return `line ${i + 1}: eu-readelf ${JSON.stringify(a[i])}, lib/dwarf ${JSON.stringify(b[i])}`;
  }
  return 'differs';
}

describe('test/fixtures/dwarf', () => {
  it('has the files its MANIFEST lists, with those bytes', () => {
    expect(objects.length).toBeGreaterThanOrEqual(37);
    for (const [file, size, sha] of manifest) {
      const bytes = fixtureBytes(`dwarf/${file}.gz`);
      expect([file, bytes.length]).toEqual([file, Number(size)]);
      expect([file, createHash('sha256').update(bytes).digest('hex')]).toEqual([file, sha]);
    }
  });
});

describe('lib/dwarf dumps exactly what eu-readelf -N --debug-dump=info,loc,ranges prints', () => {
  it.each(objects)('%s', (file) => {
    const elf = parseElf(fixtureBytes(`dwarf/${file}.gz`), { file });
    const d = openDwarf(elf, { base: READELF_OFFLINE_BASE });
    const ours = [...readelfDebugDump(d, ['info', 'loc', 'ranges'])].join('');
    const theirs = new TextDecoder().decode(fixtureBytes(`dwarf/${file.replace(/\.o$/, '')}.readelf.txt.gz`));
    expect(theirs.length).toBeGreaterThan(1000);
    expect(firstDifference(theirs, ours)).toBeUndefined();
  });
});
