import { describe, expect, it } from 'vitest';
import { EM_AARCH64, EM_X86_64, ET_EXEC, ET_REL, SHN_XINDEX } from '../../../lib/elf/constants.js';
import { parseElf } from '../../../lib/elf/index.js';
import { buildElfImage, sampleImage } from '../../helpers/elf-image.js';

const combos = [
  { is64: true, littleEndian: true, label: 'ELF64 LE' },
  { is64: true, littleEndian: false, label: 'ELF64 BE' },
  { is64: false, littleEndian: true, label: 'ELF32 LE' },
  { is64: false, littleEndian: false, label: 'ELF32 BE' },
];

describe.each(combos)('$label header', ({ is64, littleEndian }) => {
  const img = sampleImage(is64, littleEndian);
  const elf = parseElf(img.bytes, { file: 'sample.ko' });

  it('decodes class, byte order, type and machine', () => {
    expect(elf.is64).toBe(is64);
    expect(elf.littleEndian).toBe(littleEndian);
    expect(elf.type).toBe(ET_REL);
    expect(elf.machine).toBe(EM_X86_64);
    expect(elf.file).toBe('sample.ko');
    expect(elf.bytes).toBe(img.bytes);
  });

  it('decodes the header fields', () => {
    const h = elf.header;
    expect(h.class).toBe(is64 ? 2 : 1);
    expect(h.data).toBe(littleEndian ? 1 : 2);
    expect(h.version).toBe(1);
    expect(h.entry).toBe(0n);
    expect(h.shoff).toBe(img.shoff);
    expect(h.shentsize).toBe(is64 ? 64 : 40);
    expect(h.shnum).toBe(img.shnum);
    expect(h.rawShnum).toBe(img.shnum);
    expect(h.shstrndx).toBe(img.shstrndx);
    expect(h.ehsize).toBe(is64 ? 64 : 52);
    expect(h.phnum).toBe(0);
  });

  it('ELF extent is the end of the section header table here', () => {
    expect(elf.elfExtent).toBe(img.elfSize);
    expect(elf.elfExtent).toBe(img.bytes.length);
  });

  it('resolves extended numbering through section 0', () => {
    const ext = sampleImage(is64, littleEndian, { extendedNumbering: true });
    const e = parseElf(ext.bytes);
    expect(e.header.rawShnum).toBe(0);
    expect(e.header.rawShstrndx).toBe(SHN_XINDEX);
    expect(e.header.shnum).toBe(ext.shnum);
    expect(e.header.shstrndx).toBe(ext.shstrndx);
    expect(e.sections.map((s) => s.name)).toEqual(elf.sections.map((s) => s.name));
    // Section 0's sh_size is a count there, not a size: it must not widen the extent.
    expect(e.elfExtent).toBe(ext.elfSize);
  });

  it('keeps type and machine of other objects', () => {
    const e = parseElf(buildElfImage({ is64, littleEndian, type: ET_EXEC, machine: EM_AARCH64 }).bytes);
    expect(e.type).toBe(ET_EXEC);
    expect(e.machine).toBe(EM_AARCH64);
  });
});

describe('files without a section table', () => {
  it('header only: no sections, extent is the header', () => {
    const img = buildElfImage({ is64: true, littleEndian: true });
    const bytes = img.bytes.slice(0, 64);
    new DataView(bytes.buffer).setBigUint64(40, 0n, true); // e_shoff = 0
    new DataView(bytes.buffer).setUint16(60, 0, true); // e_shnum = 0
    new DataView(bytes.buffer).setUint16(62, 0, true); // e_shstrndx = 0
    const e = parseElf(bytes);
    expect(e.sections).toEqual([]);
    expect(e.elfExtent).toBe(64);
    expect(e.symbols()).toEqual([]);
    expect(e.sectionByName('.BTF')).toBeUndefined();
  });
});
