/**
 * Bad input: DWARF the encoder cannot read is a typed error naming the file, the section, the
 * offset and the DIE, never a crash (TypeError, RangeError...). Seeded mutations of the
 * .debug_info, .debug_abbrev and .debug_str bytes of a small module (the golden fixture's).
 */
import { describe, expect, it } from 'vitest';
import { Btf } from '../../../lib/btf/btf.js';
import { parseElf } from '../../../lib/elf/index.js';
import { encodeModule, FeatureParser } from '../../../lib/encode/index.js';
import { isModbtfError } from '../../../lib/errors.js';
import { fixtureBytes } from '../../helpers/fixtures.js';

describe('encodeModule on corrupt DWARF', () => {
  it('300 seeded mutations: every failure is a ModbtfError with file, section and offset', () => {
    const ko = fixtureBytes('encode/gcc-dwarf5/ab.ko.gz');
    const base = Btf.parse(fixtureBytes('encode/gcc-dwarf5/base.btf'));
    const elf0 = parseElf(ko);
    const secs = ['.debug_info', '.debug_abbrev', '.debug_str'].map((n) => elf0.sectionByName(n));
    const fp = new FeatureParser();
    fp.btfFeatures('encode_force,var,float,enum64,decl_tag,type_tag,optimized_func,consistent_func,decl_tag_kfuncs,attributes');
    let seed = 7;
    const rnd = (): number => (seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32;
    let typed = 0;
    for (let k = 0; k < 300; k++) {
      const b = new Uint8Array(ko);
      const sec = secs[k % 3];
      if (sec === undefined) throw new Error('fixture without DWARF');
      const n = 1 + Math.floor(rnd() * 4);
      for (let j = 0; j < n; j++) b[sec.offset + Math.floor(rnd() * sec.size)] = Math.floor(rnd() * 256);
      try {
        encodeModule(parseElf(b, { file: 'ab.ko' }), base, { features: fp.features });
      } catch (err: unknown) {
        expect(isModbtfError(err), String(err instanceof Error ? err.stack : err)).toBe(true);
        if (isModbtfError(err)) {
          expect(err.file).toBe('ab.ko');
          if (err.name === 'DwarfFormatError') {
            expect(err.section).toMatch(/^\.debug_/);
            expect(err.offset).toBeTypeOf('number');
          }
        }
        typed++;
      }
    }
    // Mutations do hit: a good share of them cannot be read.
    expect(typed).toBeGreaterThan(30);
  }, 60_000); // ~2.5 s alone; the default 5 s ran out on a loaded 2-core machine
});
