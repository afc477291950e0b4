import { describe, expect, it } from 'vitest';
import { ElfFormatError } from '../../../lib/errors.js';
import {
  SHN_ABS,
  SHN_UNDEF,
  SHT_PROGBITS,
  STB_GLOBAL,
  STB_LOCAL,
  STB_WEAK,
  STT_FILE,
  STT_FUNC,
  STT_NOTYPE,
  STT_OBJECT,
  STT_SECTION,
  STV_DEFAULT,
  STV_HIDDEN,
} from '../../../lib/elf/constants.js';
import { parseElf } from '../../../lib/elf/index.js';
import { buildElfImage, sampleImage } from '../../helpers/elf-image.js';

const combos = [
  { is64: true, littleEndian: true, label: 'ELF64 LE' },
  { is64: true, littleEndian: false, label: 'ELF64 BE' },
  { is64: false, littleEndian: true, label: 'ELF32 LE' },
  { is64: false, littleEndian: false, label: 'ELF32 BE' },
];

describe.each(combos)('$label symbols', ({ is64, littleEndian }) => {
  const img = sampleImage(is64, littleEndian);
  const elf = parseElf(img.bytes);
  const idx = (n: string): number => img.index.get(n)!;

  it('decodes every entry, null symbol first', () => {
    const syms = elf.symbols();
    expect(syms.length).toBe(8);
    expect(syms[0]).toEqual({ index: 0, name: '', nameOff: 0, value: 0n, size: 0, shndx: SHN_UNDEF, bind: STB_LOCAL, type: STT_NOTYPE, visibility: STV_DEFAULT, info: 0, other: 0 });
    expect(syms.map((s) => s.name)).toEqual(['', 'sample.c', '.text', '__BTF_ID__func__foo__1', '__BTF_ID__struct__bar__2', 'init_module', 'counter', 'printk']);
    syms.forEach((s, i) => expect(s.index).toBe(i));
  });

  it('decodes value, size, section, bind, type and visibility', () => {
    const by = new Map(elf.symbols().map((s) => [s.name, s]));
    expect(by.get('sample.c')).toMatchObject({ type: STT_FILE, shndx: SHN_ABS, bind: STB_LOCAL });
    expect(by.get('.text')).toMatchObject({ type: STT_SECTION, shndx: idx('.text') });
    expect(by.get('__BTF_ID__func__foo__1')).toMatchObject({ type: STT_OBJECT, shndx: idx('.BTF_ids'), value: 0n, size: 4 });
    expect(by.get('__BTF_ID__struct__bar__2')).toMatchObject({ value: 4n, size: 4, visibility: STV_HIDDEN, other: STV_HIDDEN });
    expect(by.get('init_module')).toMatchObject({ bind: STB_GLOBAL, type: STT_FUNC, shndx: idx('.text'), size: 3, info: (STB_GLOBAL << 4) | STT_FUNC });
    expect(by.get('counter')).toMatchObject({ bind: STB_WEAK, type: STT_OBJECT, shndx: idx('.bss'), value: 16n, size: 8 });
    expect(by.get('printk')).toMatchObject({ bind: STB_GLOBAL, shndx: SHN_UNDEF });
    elf.symbols().forEach((s, i) => { if (i > 0) expect(s.nameOff).toBe(img.symbolNameOffsets[i - 1]); });
  });

  it('is lazy and cached', () => {
    const fresh = parseElf(img.bytes);
    const a = fresh.symbols();
    expect(fresh.symbols()).toBe(a);
  });

  it('resolves SHN_XINDEX through SHT_SYMTAB_SHNDX', () => {
    const x = buildElfImage({
      is64,
      littleEndian,
      sections: [{ name: '.text', type: SHT_PROGBITS, data: Uint8Array.of(0xc3) }],
      symbols: [{ name: 'a', section: '.text', forceXindex: true }, { name: 'b', section: '.text' }],
    });
    const e = parseElf(x.bytes);
    expect(e.sectionByName('.symtab_shndx')).toBeDefined();
    expect(e.symbols().map((s) => s.shndx)).toEqual([0, x.index.get('.text'), x.index.get('.text')]);
  });

  it('no symtab means no symbols', () => {
    const e = parseElf(buildElfImage({ is64, littleEndian, sections: [{ name: '.BTF', type: SHT_PROGBITS, data: new Uint8Array(4) }] }).bytes);
    expect(e.symtab()).toBeUndefined();
    expect(e.symbols()).toEqual([]);
  });
});

it('keeps 64-bit symbol values exact', () => {
  const img = buildElfImage({
    is64: true,
    littleEndian: true,
    sections: [{ name: '.BTF_ids', type: SHT_PROGBITS, addr: 0xffffffff82b6e118n, data: new Uint8Array(8) }],
    symbols: [{ name: '__BTF_ID__struct__kallsym_iter__1', section: '.BTF_ids', value: 0xffffffff82b6e11cn, size: 4 }],
  });
  expect(parseElf(img.bytes).symbols()[1]?.value).toBe(0xffffffff82b6e11cn);
});

it('a broken symtab fails symbols(), not parseElf, and is retried on the next call', () => {
  const img = sampleImage(true, true);
  const bytes = img.bytes.slice();
  new DataView(bytes.buffer).setBigUint64(img.headerOffset.get('.symtab')! + 56, 7n, true); // sh_entsize
  const elf = parseElf(bytes);
  expect(() => elf.symbols()).toThrow(ElfFormatError);
  expect(() => elf.symbols()).toThrow(ElfFormatError);
});
