import { describe, expect, it } from 'vitest';
import { SHF_ALLOC, SHF_EXECINSTR, SHF_WRITE, SHT_NOBITS, SHT_NULL, SHT_PROGBITS, SHT_STRTAB, SHT_SYMTAB } from '../../../lib/elf/constants.js';
import { parseElf } from '../../../lib/elf/index.js';
import { buildElfImage, sampleImage } from '../../helpers/elf-image.js';

const combos = [
  { is64: true, littleEndian: true, label: 'ELF64 LE' },
  { is64: true, littleEndian: false, label: 'ELF64 BE' },
  { is64: false, littleEndian: true, label: 'ELF32 LE' },
  { is64: false, littleEndian: false, label: 'ELF32 BE' },
];

describe.each(combos)('$label sections', ({ is64, littleEndian }) => {
  const img = sampleImage(is64, littleEndian);
  const elf = parseElf(img.bytes);

  it('lists every section in table order with its name', () => {
    expect(elf.sections.map((s) => s.name)).toEqual(['', '.text', '.data', '.bss', '.BTF_ids', '.BTF', '.symtab', '.strtab', '.shstrtab']);
    elf.sections.forEach((s, i) => expect(s.index).toBe(i));
    expect(elf.sections[0]?.type).toBe(SHT_NULL);
  });

  it('decodes the Shdr fields', () => {
    const text = elf.sectionByName('.text');
    expect(text).toMatchObject({ type: SHT_PROGBITS, flags: SHF_ALLOC | SHF_EXECINSTR, addr: 0n, size: 3, addralign: 16, entsize: 0, link: 0, info: 0 });
    expect(text?.offset).toBe(img.offset.get('.text'));
    expect(text?.headerOffset).toBe(img.headerOffset.get('.text'));
    expect(elf.sectionByName('.data')).toMatchObject({ flags: SHF_ALLOC | SHF_WRITE, addr: 0x40n, size: 8, addralign: 8 });
    expect(elf.sectionByName('.bss')).toMatchObject({ type: SHT_NOBITS, size: 4096 });
    const symtab = elf.sectionByName('.symtab');
    expect(symtab).toMatchObject({ type: SHT_SYMTAB, entsize: is64 ? 24 : 16, link: img.index.get('.strtab'), info: 5 });
    expect(elf.symtab()).toBe(symtab);
    expect(elf.sectionByName('.shstrtab')?.type).toBe(SHT_STRTAB);
  });

  it('sectionData is a view into the input, not a copy', () => {
    const data = elf.sectionData(elf.sectionByName('.data')!);
    expect([...data]).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    expect(data.buffer).toBe(img.bytes.buffer);
    expect(data.byteOffset).toBe(img.offset.get('.data'));
    expect([...elf.sectionData(elf.sectionByName('.BTF')!)]).toEqual([0x9f, 0xeb, 1, 0]);
  });

  it('NOBITS and NULL sections have no data', () => {
    expect(elf.sectionData(elf.sectionByName('.bss')!).length).toBe(0);
    expect(elf.sectionData(elf.sections[0]!).length).toBe(0);
  });

  it('sectionByName misses cleanly', () => {
    expect(elf.sectionByName('.BTF.base')).toBeUndefined();
  });
});

describe('section lookup details', () => {
  it('returns the first of duplicate names', () => {
    const img = buildElfImage({
      is64: true,
      littleEndian: true,
      sections: [
        { name: '.text', type: SHT_PROGBITS, data: Uint8Array.of(1) },
        { name: '.text', type: SHT_PROGBITS, data: Uint8Array.of(2) },
      ],
    });
    const elf = parseElf(img.bytes);
    expect(elf.sectionByName('.text')?.index).toBe(1);
    expect(elf.sections[2]?.name).toBe('.text');
  });

  it('keeps full 64-bit addresses exact (kernel addresses exceed 2^53)', () => {
    const img = buildElfImage({
      is64: true,
      littleEndian: true,
      sections: [{ name: '.BTF', type: SHT_PROGBITS, addr: 0xffffffff826bb978n, data: new Uint8Array(4) }],
    });
    expect(parseElf(img.bytes).sectionByName('.BTF')?.addr).toBe(0xffffffff826bb978n);
  });

  it('handles more than SHN_LORESERVE sections (e_shnum = 0)', () => {
    const img = buildElfImage({
      is64: true,
      littleEndian: true,
      sections: [{ name: '.text', type: SHT_PROGBITS, data: Uint8Array.of(0xc3) }],
      padSections: 0xff10,
      extendedNumbering: true,
      symbols: [{ name: 'far', section: '.text', value: 0n }],
    });
    const elf = parseElf(img.bytes);
    expect(elf.header.rawShnum).toBe(0);
    expect(elf.sections.length).toBe(img.shnum);
    const textIndex = img.index.get('.text')!;
    expect(textIndex).toBeGreaterThan(0xff00);
    expect(elf.sectionByName('.text')?.index).toBe(textIndex);
    // st_shndx cannot hold that index: it is SHN_XINDEX, resolved via .symtab_shndx.
    expect(elf.symbols()[1]).toMatchObject({ name: 'far', shndx: textIndex });
    expect(elf.header.shstrndx).toBeGreaterThan(0xff00);
    expect(elf.sections[elf.header.shstrndx]?.name).toBe('.shstrtab');
    expect(elf.sectionByName('.strtab')?.index).toBe(img.index.get('.strtab'));
  });
});

describe('ELF extent', () => {
  it('stops before trailing data', () => {
    const trailer = new TextEncoder().encode('trailing bytes');
    const img = sampleImage(true, true, { trailer });
    const elf = parseElf(img.bytes);
    expect(elf.elfExtent).toBe(img.elfSize);
    expect(img.bytes.length - elf.elfExtent).toBe(trailer.length);
  });

  it('reaches a section placed after the section header table', () => {
    const img = sampleImage(false, false);
    const bytes = new Uint8Array(img.bytes.length + 20);
    bytes.set(img.bytes);
    // Point .BTF_ids (16 bytes) at the 16 bytes after the table, then add 4 trailing bytes.
    const dv = new DataView(bytes.buffer);
    const hdr = img.headerOffset.get('.BTF_ids')!;
    dv.setUint32(hdr + 16, img.elfSize, false);
    const elf = parseElf(bytes);
    expect(elf.elfExtent).toBe(img.elfSize + 16);
  });
});
