import { describe, expect, it } from 'vitest';
import { ElfFormatError, isModbtfError } from '../../../lib/errors.js';
import { SHT_PROGBITS } from '../../../lib/elf/constants.js';
import { parseElf, type ElfFile } from '../../../lib/elf/index.js';
import { sampleImage, type ElfImage } from '../../helpers/elf-image.js';
import { mulberry32 } from '../../helpers/prng.js';

/** Parses and touches everything lazily decoded, so lazy paths are exercised too. */
function parseAll(bytes: Uint8Array): ElfFile {
  const elf = parseElf(bytes, { file: 'bad.ko' });
  for (const s of elf.sections) elf.sectionData(s);
  elf.symbols();
  return elf;
}

function elfError(fn: () => unknown): ElfFormatError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(ElfFormatError);
    return err as ElfFormatError;
  }
  throw new Error('expected an ElfFormatError');
}

function mutate(img: ElfImage, edit: (dv: DataView, bytes: Uint8Array) => void): Uint8Array {
  const bytes = img.bytes.slice();
  edit(new DataView(bytes.buffer), bytes);
  return bytes;
}

describe('specific failures', () => {
  const img64 = sampleImage(true, true);
  const img32 = sampleImage(false, false);

  it('bad magic', () => {
    const e = elfError(() => parseElf(new TextEncoder().encode('!<arch>\nxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx'), { file: 'x.a' }));
    expect(e.code).toBe('ELF_BAD_MAGIC');
    expect(e.context).toEqual({ file: 'x.a', offset: 0 });
  });

  it('empty and short inputs', () => {
    expect(elfError(() => parseElf(new Uint8Array(0))).code).toBe('ELF_TRUNCATED');
    expect(elfError(() => parseElf(img64.bytes.subarray(0, 10))).context.offset).toBe(10);
    const e = elfError(() => parseElf(img64.bytes.subarray(0, 63), { file: 'f' }));
    expect(e.code).toBe('ELF_TRUNCATED');
    expect(e.context).toEqual({ file: 'f', offset: 63 });
    expect(elfError(() => parseElf(img32.bytes.subarray(0, 51))).code).toBe('ELF_TRUNCATED');
  });

  it('bad class and data bytes', () => {
    const c = elfError(() => parseElf(mutate(img64, (_, b) => { b[4] = 3; })));
    expect(c.code).toBe('ELF_BAD_CLASS');
    expect(c.context.offset).toBe(4);
    const d = elfError(() => parseElf(mutate(img64, (_, b) => { b[5] = 0; })));
    expect(d.code).toBe('ELF_BAD_DATA');
    expect(d.context.offset).toBe(5);
  });

  it('wrong e_shentsize', () => {
    const e = elfError(() => parseElf(mutate(img64, (dv) => dv.setUint16(58, 40, true))));
    expect(e.code).toBe('ELF_BAD_HEADER');
    expect(e.context.offset).toBe(58);
  });

  it('section header table past the end of the file', () => {
    const e = elfError(() => parseElf(img64.bytes.subarray(0, img64.bytes.length - 1), { file: 'cut.ko' }));
    expect(e.code).toBe('ELF_TRUNCATED');
    expect(e.context).toEqual({ file: 'cut.ko', offset: img64.shoff });
    const f = elfError(() => parseElf(mutate(img32, (dv) => dv.setUint32(32, 0xfffffff0, false))));
    expect(f.code).toBe('ELF_TRUNCATED');
    expect(f.context.offset).toBe(0xfffffff0);
  });

  it('e_shoff too large for a number', () => {
    const e = elfError(() => parseElf(mutate(img64, (dv) => dv.setBigUint64(40, 1n << 60n, true))));
    expect(e.code).toBe('ELF_BAD_HEADER');
    expect(e.context.offset).toBe(40);
  });

  it('section contents past the end of the file', () => {
    const hdr = img64.headerOffset.get('.data')!;
    const e = elfError(() => parseElf(mutate(img64, (dv) => dv.setBigUint64(hdr + 32, 1n << 20n, true)), { file: 'm.ko' }));
    expect(e.code).toBe('ELF_BAD_SECTION');
    expect(e.context).toEqual({ file: 'm.ko', offset: hdr });
    expect(e.message).toContain('section [2]');
  });

  it('NOBITS sections may claim any size', () => {
    const hdr = img64.headerOffset.get('.bss')!;
    const elf = parseElf(mutate(img64, (dv) => dv.setBigUint64(hdr + 32, 1n << 40n, true)));
    expect(elf.sectionByName('.bss')?.size).toBe(2 ** 40);
    expect(elf.elfExtent).toBe(img64.elfSize);
  });

  it('e_shstrndx out of range or not a string table', () => {
    const a = elfError(() => parseElf(mutate(img64, (dv) => dv.setUint16(62, 99, true))));
    expect(a.code).toBe('ELF_BAD_SECTION');
    expect(a.context.offset).toBe(62);
    const b = elfError(() => parseElf(mutate(img64, (dv) => dv.setUint16(62, 1, true))));
    expect(b.code).toBe('ELF_BAD_SECTION');
    expect(b.context.offset).toBe(img64.headerOffset.get('.text'));
  });

  it('section name offset past the string table', () => {
    const hdr = img64.headerOffset.get('.text')!;
    const e = elfError(() => parseElf(mutate(img64, (dv) => dv.setUint32(hdr, 5000, true)), { file: 'n.ko' }));
    expect(e.code).toBe('ELF_BAD_STRING');
    expect(e.context).toEqual({ file: 'n.ko', section: '.shstrtab', offset: 5000 });
  });

  it('unterminated string at the end of the table', () => {
    const shstrtab = img32.offset.get('.shstrtab')!;
    const size = new DataView(img32.bytes.buffer).getUint32(img32.headerOffset.get('.shstrtab')! + 20, false);
    const e = elfError(() => parseElf(mutate(img32, (_, b) => { b[shstrtab + size - 1] = 0x41; })));
    expect(e.code).toBe('ELF_BAD_STRING');
    expect(e.message).toContain('not NUL-terminated');
  });

  it('symtab with a bad entsize or size', () => {
    const hdr = img64.headerOffset.get('.symtab')!;
    const a = elfError(() => parseAll(mutate(img64, (dv) => dv.setBigUint64(hdr + 56, 16n, true))));
    expect(a.code).toBe('ELF_BAD_SYMTAB');
    expect(a.context).toEqual({ file: 'bad.ko', offset: hdr });
    const b = elfError(() => parseAll(mutate(img64, (dv) => dv.setBigUint64(hdr + 32, 25n, true))));
    expect(b.code).toBe('ELF_BAD_SYMTAB');
  });

  it('symtab linked to something that is not a string table', () => {
    const hdr = img32.headerOffset.get('.symtab')!;
    const a = elfError(() => parseAll(mutate(img32, (dv) => dv.setUint32(hdr + 24, img32.index.get('.text')!, false))));
    expect(a.code).toBe('ELF_BAD_SYMTAB');
    expect(a.message).toContain('not a string table');
    const b = elfError(() => parseAll(mutate(img32, (dv) => dv.setUint32(hdr + 24, 1000, false))));
    expect(b.code).toBe('ELF_BAD_SYMTAB');
  });

  it('symbol name past the string table', () => {
    const symtab = img64.offset.get('.symtab')!;
    const e = elfError(() => parseAll(mutate(img64, (dv) => dv.setUint32(symtab + 3 * 24, 0x7fffffff, true))));
    expect(e.code).toBe('ELF_BAD_STRING');
    expect(e.context).toEqual({ file: 'bad.ko', section: '.strtab', offset: 0x7fffffff });
    expect(e.message).toContain('symbol 3');
  });

  it('SHN_XINDEX without an extension table', () => {
    const symtab = img64.offset.get('.symtab')!;
    const e = elfError(() => parseAll(mutate(img64, (dv) => dv.setUint16(symtab + 2 * 24 + 6, 0xffff, true))));
    expect(e.code).toBe('ELF_BAD_SYMTAB');
    expect(e.message).toContain('SHT_SYMTAB_SHNDX');
  });

  it('sectionData refuses a section that does not fit this file', () => {
    const elf = parseElf(img64.bytes);
    const fake = { ...elf.sectionByName('.text')!, index: 1000, offset: img64.bytes.length };
    expect(elfError(() => elf.sectionData(fake)).code).toBe('ELF_BAD_SECTION');
    const other = { ...elf.sectionByName('.text')!, type: SHT_PROGBITS, index: 1000, size: 2 };
    expect(elf.sectionData(other).length).toBe(2);
  });
});

const combos = [
  { is64: true, littleEndian: true, label: 'ELF64 LE' },
  { is64: true, littleEndian: false, label: 'ELF64 BE' },
  { is64: false, littleEndian: true, label: 'ELF32 LE' },
  { is64: false, littleEndian: false, label: 'ELF32 BE' },
];

const rng = mulberry32;

/** Either parses, or fails with an ElfFormatError that names an offset. Nothing else. */
function expectOnlyElfErrors(bytes: Uint8Array, label: string): void {
  try {
    parseAll(bytes);
  } catch (err) {
    if (!(err instanceof ElfFormatError) || !isModbtfError(err) || typeof err.context.offset !== 'number') {
      throw new Error(`${label}: unexpected ${String(err)}`, { cause: err });
    }
    expect(err.context.file).toBe('bad.ko');
  }
}

describe.each(combos)('$label hostile input', ({ is64, littleEndian }) => {
  const img = sampleImage(is64, littleEndian);

  it('every truncation fails with ELF_TRUNCATED or another ElfFormatError', () => {
    for (let n = 0; n < img.bytes.length; n++) {
      const err = elfError(() => parseAll(img.bytes.subarray(0, n)));
      expect(typeof err.context.offset).toBe('number');
    }
  });

  it('random byte mutations never raise anything but ElfFormatError', () => {
    const rand = rng(is64 ? (littleEndian ? 1 : 2) : (littleEndian ? 3 : 4));
    // Bias toward the header and section table, where the interesting fields are.
    const hot = [0, is64 ? 64 : 52, img.shoff, img.bytes.length];
    for (let iter = 0; iter < 3000; iter++) {
      const bytes = img.bytes.slice();
      const edits = 1 + Math.floor(rand() * 4);
      for (let k = 0; k < edits; k++) {
        const region = Math.floor(rand() * 3);
        const lo = region === 1 ? 0 : (hot[region === 0 ? 0 : 2] as number);
        const hi = region === 0 ? (hot[1] as number) : (hot[3] as number);
        const at = lo + Math.floor(rand() * (hi - lo));
        const r = rand();
        bytes[at] = r < 0.3 ? 0xff : r < 0.5 ? 0 : Math.floor(rand() * 256);
      }
      expectOnlyElfErrors(bytes, `iteration ${iter}`);
    }
  });
});
