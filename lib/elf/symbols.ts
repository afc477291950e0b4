/**
 * Symbol table (.symtab, Elf32_Sym / Elf64_Sym) with its linked string table and the
 * SHT_SYMTAB_SHNDX extension for section indexes that do not fit st_shndx.
 */
import {
  SHN_XINDEX,
  SHT_STRTAB,
  SHT_SYMTAB,
  SHT_SYMTAB_SHNDX,
  SYM32_SIZE,
  SYM64_SIZE,
} from './constants.js';
import type { ElfReader } from './header.js';
import { StringTable, type ElfSection } from './sections.js';

export interface ElfSymbol {
  /** Position in the symbol table; index 0 is the reserved null symbol. */
  readonly index: number;
  readonly name: string;
  readonly nameOff: number;
  /** st_value; bigint because vmlinux symbols are kernel addresses above 2^53. */
  readonly value: bigint;
  readonly size: number;
  /**
   * The section index with SHN_XINDEX already resolved through SHT_SYMTAB_SHNDX; other
   * reserved values (SHN_ABS, SHN_COMMON, SHN_UNDEF) are kept as they are.
   */
  readonly shndx: number;
  /** STB_* (st_info >> 4). */
  readonly bind: number;
  /** STT_* (st_info & 0xf). */
  readonly type: number;
  /** STV_* (st_other & 3). */
  readonly visibility: number;
  readonly info: number;
  readonly other: number;
}

interface SymLayout {
  readonly size: number;
  readonly name: number;
  readonly value: number;
  readonly symSize: number;
  readonly info: number;
  readonly other: number;
  readonly shndx: number;
}

const SYM32: SymLayout = { size: SYM32_SIZE, name: 0, value: 4, symSize: 8, info: 12, other: 13, shndx: 14 };
const SYM64: SymLayout = { size: SYM64_SIZE, name: 0, info: 4, other: 5, shndx: 6, value: 8, symSize: 16 };

/** The (first) SHT_SYMTAB section, if any. Relocatable objects have exactly one. */
export function findSymtab(sections: readonly ElfSection[]): ElfSection | undefined {
  return sections.find((s) => s.type === SHT_SYMTAB);
}

export function parseSymbols(r: ElfReader, sections: readonly ElfSection[]): ElfSymbol[] {
  const symtab = findSymtab(sections);
  if (symtab === undefined) return [];
  const l = r.is64 ? SYM64 : SYM32;
  const label = `symbol table [${symtab.index}] '${symtab.name}'`;
  const headerCtx = { offset: symtab.headerOffset };

  if (symtab.entsize !== l.size) {
    throw r.error('ELF_BAD_SYMTAB', `${label} has sh_entsize ${symtab.entsize}, expected ${l.size}`, headerCtx);
  }
  if (symtab.size % l.size !== 0) {
    throw r.error('ELF_BAD_SYMTAB', `${label} size ${symtab.size} is not a multiple of ${l.size}`, headerCtx);
  }
  const strSec = sections[symtab.link];
  if (strSec === undefined || strSec.type !== SHT_STRTAB) {
    throw r.error('ELF_BAD_SYMTAB', `${label} links to section ${symtab.link}, which is not a string table`, headerCtx);
  }
  const strtab = new StringTable(r, strSec);

  const count = symtab.size / l.size;
  const base = symtab.offset;
  const symbols = new Array<ElfSymbol>(count);
  let xindex: Uint32View | undefined;
  for (let i = 0; i < count; i++) {
    const at = base + i * l.size;
    const nameOff = r.u32(at + l.name);
    const info = r.u8(at + l.info);
    const other = r.u8(at + l.other);
    let shndx = r.u16(at + l.shndx);
    if (shndx === SHN_XINDEX) {
      xindex ??= xindexTable(r, sections, symtab, count, label);
      shndx = xindex.get(i);
    }
    const name = strtab.get(nameOff, `name of symbol ${i}`);
    symbols[i] = {
      index: i,
      name,
      nameOff,
      value: r.addr(at + l.value),
      size: r.word(at + l.symSize, `st_size of symbol ${i} (${name})`, 'ELF_BAD_SYMTAB', fieldContext(symtab, i * l.size + l.symSize)),
      shndx,
      bind: info >> 4,
      type: info & 0xf,
      visibility: other & 3,
      info,
      other,
    };
  }
  return symbols;
}

interface Uint32View { get(i: number): number }

/** Section-relative when the section has a name to be relative to, else a file offset. */
function fieldContext(sec: ElfSection, sectionOffset: number): { section?: string; offset: number } {
  return sec.name !== '' ? { section: sec.name, offset: sectionOffset } : { offset: sec.offset + sectionOffset };
}

/** The SHT_SYMTAB_SHNDX section that extends `symtab` (its sh_link names the symtab). */
function xindexTable(r: ElfReader, sections: readonly ElfSection[], symtab: ElfSection, count: number, label: string): Uint32View {
  const sec = sections.find((s) => s.type === SHT_SYMTAB_SHNDX && s.link === symtab.index);
  if (sec === undefined) {
    throw r.error('ELF_BAD_SYMTAB', `${label} uses SHN_XINDEX but has no SHT_SYMTAB_SHNDX section`, { offset: symtab.headerOffset });
  }
  if (sec.size < count * 4) {
    throw r.error('ELF_BAD_SYMTAB', `SHT_SYMTAB_SHNDX section [${sec.index}] has ${sec.size} bytes, ${count * 4} needed for ${count} symbols`, { offset: sec.headerOffset });
  }
  return { get: (i: number) => r.u32(sec.offset + i * 4) };
}
