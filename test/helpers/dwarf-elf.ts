/**
 * Wraps sections from the DWARF builder into a relocatable ELF (test/helpers/elf-image),
 * with optional allocated sections, symbols and relocation sections.
 */
import { EM_X86_64, SHF_ALLOC, SHF_EXECINSTR, SHF_WRITE, SHT_PROGBITS, SHT_RELA, SHT_REL } from '../../lib/elf/constants.js';
import { parseElf, type ElfFile } from '../../lib/elf/index.js';
import { buildElfImage, type ImageSection, type ImageSymbol } from './elf-image.js';

export interface RelocSectionSpec {
  /** Section the relocations apply to. */
  target: string;
  rela: boolean;
  data: Uint8Array;
  /** Override the name (default .rela<target> / .rel<target>). */
  name?: string;
}

export interface DwarfElfSpec {
  is64?: boolean;
  littleEndian?: boolean;
  machine?: number;
  /** SHF_ALLOC sections placed first (default: one 16-byte .text). */
  alloc?: ImageSection[];
  debug: Map<string, Uint8Array>;
  /** Flags/extra fields for debug sections by name (e.g. SHF_COMPRESSED). */
  debugFlags?: Map<string, number>;
  symbols?: ImageSymbol[];
  relocs?: RelocSectionSpec[];
  file?: string;
}

export function dwarfElf(spec: DwarfElfSpec): { elf: ElfFile; bytes: Uint8Array; index: Map<string, number> } {
  const is64 = spec.is64 ?? true;
  const le = spec.littleEndian ?? true;
  const alloc = spec.alloc ?? [{ name: '.text', type: SHT_PROGBITS, flags: SHF_ALLOC | SHF_EXECINSTR, data: new Uint8Array(16), addralign: 16 }];
  const sections: ImageSection[] = [...alloc];
  for (const [name, data] of spec.debug) sections.push({ name, type: SHT_PROGBITS, flags: spec.debugFlags?.get(name) ?? 0, data, addralign: 1 });
  const indexOf = (name: string): number => sections.findIndex((s) => s.name === name) + 1;
  for (const r of spec.relocs ?? []) {
    sections.push({
      name: r.name ?? `${r.rela ? '.rela' : '.rel'}${r.target}`, type: r.rela ? SHT_RELA : SHT_REL, flags: 0x40, data: r.data,
      link: '.symtab', info: indexOf(r.target), addralign: is64 ? 8 : 4, entsize: is64 ? (r.rela ? 24 : 16) : (r.rela ? 12 : 8),
    });
  }
  const img = buildElfImage({ is64, littleEndian: le, machine: spec.machine ?? EM_X86_64, sections, symbols: spec.symbols ?? [] });
  const elf = parseElf(img.bytes, { file: spec.file ?? 'test.ko' });
  return { elf, bytes: img.bytes, index: img.index };
}

export const ALLOC_RW = SHF_ALLOC | SHF_WRITE;
