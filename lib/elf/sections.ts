/**
 * Section header table (Elf32_Shdr / Elf64_Shdr) and section-name decoding.
 *
 * Error context convention (lib/errors.ts): `offset` is relative to `section` when
 * `section` is set, else a file offset. Problems in the header table itself carry the
 * file offset of the bad Shdr (section name in the message); problems inside a string
 * table carry that table's name and the offset within it.
 */
import { decodeString } from '../bytes.js';
import {
  PN_XNUM,
  SHDR32_SIZE,
  SHDR64_SIZE,
  SHN_UNDEF,
  SHN_XINDEX,
  SHT_NOBITS,
  SHT_NULL,
  SHT_STRTAB,
} from './constants.js';
import type { EhdrLayout, ElfReader, RawHeader } from './header.js';

export interface ElfSection {
  /** Position in the section header table (sections[i].index === i). */
  readonly index: number;
  readonly name: string;
  /** sh_name: offset of the name in the section-name string table. */
  readonly nameOff: number;
  readonly type: number;
  readonly flags: number;
  /** sh_addr; bigint because vmlinux sections live at 0xffffffff8...... */
  readonly addr: bigint;
  /** sh_offset: file offset of the contents. */
  readonly offset: number;
  readonly size: number;
  readonly link: number;
  readonly info: number;
  readonly addralign: number;
  readonly entsize: number;
  /** File offset of this section's header entry, for in-place patching and error reports. */
  readonly headerOffset: number;
}

interface ShdrLayout {
  readonly size: number;
  readonly name: number;
  readonly type: number;
  readonly flags: number;
  readonly addr: number;
  readonly offset: number;
  readonly shSize: number;
  readonly link: number;
  readonly info: number;
  readonly addralign: number;
  readonly entsize: number;
}

const SHDR32: ShdrLayout = {
  size: SHDR32_SIZE, name: 0, type: 4, flags: 8, addr: 12, offset: 16, shSize: 20, link: 24, info: 28, addralign: 32, entsize: 36,
};
const SHDR64: ShdrLayout = {
  size: SHDR64_SIZE, name: 0, type: 4, flags: 8, addr: 16, offset: 24, shSize: 32, link: 40, info: 44, addralign: 48, entsize: 56,
};

export interface SectionTable {
  readonly sections: ElfSection[];
  readonly shnum: number;
  readonly shstrndx: number;
  readonly phnum: number;
}

type MutableSection = { -readonly [K in keyof ElfSection]: ElfSection[K] };

function readShdr(r: ElfReader, l: ShdrLayout, index: number, at: number): MutableSection {
  const ctx = { offset: at };
  return {
    index,
    name: '',
    nameOff: r.u32(at + l.name),
    type: r.u32(at + l.type),
    flags: r.word(at + l.flags, `section [${index}] sh_flags`, 'ELF_BAD_SECTION', ctx),
    addr: r.addr(at + l.addr),
    offset: r.word(at + l.offset, `section [${index}] sh_offset`, 'ELF_BAD_SECTION', ctx),
    size: r.word(at + l.shSize, `section [${index}] sh_size`, 'ELF_BAD_SECTION', ctx),
    link: r.u32(at + l.link),
    info: r.u32(at + l.info),
    addralign: r.word(at + l.addralign, `section [${index}] sh_addralign`, 'ELF_BAD_SECTION', ctx),
    entsize: r.word(at + l.entsize, `section [${index}] sh_entsize`, 'ELF_BAD_SECTION', ctx),
    headerOffset: at,
  };
}

/** True when the section occupies bytes of the file (NOBITS and NULL do not). */
export function hasFileData(sec: { readonly type: number }): boolean {
  return sec.type !== SHT_NOBITS && sec.type !== SHT_NULL;
}

export function parseSectionTable(r: ElfReader, raw: RawHeader, eh: EhdrLayout): SectionTable {
  const len = r.bytes.length;
  const l = r.is64 ? SHDR64 : SHDR32;

  if (raw.shoff === 0) {
    if (raw.rawShnum !== 0) {
      throw r.error('ELF_BAD_HEADER', `e_shnum is ${raw.rawShnum} but e_shoff is 0`, { offset: eh.shnum });
    }
    return { sections: [], shnum: 0, shstrndx: SHN_UNDEF, phnum: raw.rawPhnum };
  }
  if (raw.shentsize !== l.size) {
    throw r.error('ELF_BAD_HEADER', `e_shentsize is ${raw.shentsize}, expected ${l.size}`, { offset: eh.shentsize });
  }
  if (raw.shoff + l.size > len) {
    throw r.error('ELF_TRUNCATED', `section header table at offset ${raw.shoff} is past the end of the ${len}-byte file`, { offset: raw.shoff });
  }

  // Section 0 carries the real counts when they do not fit the 16-bit header fields.
  const s0 = readShdr(r, l, 0, raw.shoff);
  const shnum = raw.rawShnum !== 0 ? raw.rawShnum : s0.size;
  const shstrndx = raw.rawShstrndx === SHN_XINDEX ? s0.link : raw.rawShstrndx;
  const phnum = raw.rawPhnum === PN_XNUM ? s0.info : raw.rawPhnum;
  if (shnum === 0) {
    return { sections: [], shnum: 0, shstrndx: SHN_UNDEF, phnum };
  }
  const tableEnd = raw.shoff + shnum * l.size;
  if (tableEnd > len) {
    throw r.error('ELF_TRUNCATED', `section header table (${shnum} entries at offset ${raw.shoff}) extends past the end of the ${len}-byte file`, { offset: raw.shoff });
  }

  const sections: MutableSection[] = new Array<MutableSection>(shnum);
  sections[0] = s0;
  for (let i = 1; i < shnum; i++) {
    const at = raw.shoff + i * l.size;
    const s = readShdr(r, l, i, at);
    if (hasFileData(s) && s.offset + s.size > len) {
      throw r.error('ELF_BAD_SECTION', `section [${i}] contents (offset ${s.offset}, size ${s.size}) extend past the end of the ${len}-byte file`, { offset: at });
    }
    sections[i] = s;
  }

  if (shstrndx !== SHN_UNDEF) {
    const strtab = sections[shstrndx];
    const where = raw.rawShstrndx === SHN_XINDEX ? raw.shoff + l.link : eh.shstrndx;
    if (strtab === undefined) {
      throw r.error('ELF_BAD_SECTION', `section name table index ${shstrndx} is out of range (${shnum} sections)`, { offset: where });
    }
    if (strtab.type !== SHT_STRTAB) {
      throw r.error('ELF_BAD_SECTION', `section name table [${shstrndx}] has type ${strtab.type}, not SHT_STRTAB`, { offset: strtab.headerOffset });
    }
    // The table's own name first, so later failures can name the table.
    const names = new StringTable(r, strtab);
    strtab.name = names.get(strtab.nameOff, `name of section [${shstrndx}]`);
    for (const s of sections) {
      if (s !== strtab) s.name = names.get(s.nameOff, `name of section [${s.index}]`);
    }
  }
  return { sections, shnum, shstrndx, phnum };
}

/**
 * A validated string table section. Lookups search for the NUL only inside the table,
 * so an unterminated last string cannot run on into the next section.
 */
export class StringTable {
  private readonly r: ElfReader;
  readonly section: ElfSection;
  private readonly data: Uint8Array;

  constructor(r: ElfReader, section: ElfSection) {
    this.r = r;
    this.section = section;
    this.data = r.bytes.subarray(section.offset, section.offset + section.size);
  }

  /** The string at `off`; ELF_BAD_STRING when past the table or unterminated. */
  get(off: number, what: string): string {
    if (off < this.data.length) {
      const nul = this.data.indexOf(0, off);
      if (nul >= 0) return decodeString(this.data, off, nul);
    }
    const sec = this.section;
    const problem = off >= sec.size ? `offset ${off} is past the end of the ${sec.size}-byte string table` : `string at offset ${off} is not NUL-terminated`;
    // Section-relative offset when the table has a name to be relative to, else a file offset.
    const ctx = sec.name !== '' ? { section: sec.name, offset: off } : { offset: sec.offset + off };
    throw this.r.error('ELF_BAD_STRING', `${what}: ${problem}`, ctx);
  }
}
