/**
 * ElfFile: a read-only view of an ELF32/ELF64, little- or big-endian image. The header
 * and section table (with names) are decoded and range-checked up front, so every
 * later `sectionData` is a plain subarray; symbols are decoded on first use because
 * most callers (BTF loading) never need them and vmlinux has tens of thousands.
 *
 * Malformed input only ever raises ElfFormatError (never a RangeError): the fuzz
 * harness relies on that.
 */
import { ElfReader, elfError, parseIdent, readRawHeader, type ElfHeader } from './header.js';
import { hasFileData, parseSectionTable, type ElfSection } from './sections.js';
import { findSymtab, parseSymbols, type ElfSymbol } from './symbols.js';

export interface ParseElfOptions {
  /** Path used in error context; nothing is read from it. */
  file?: string;
}

export class ElfFile {
  /** The whole input, including anything after the ELF (see `elfExtent`). */
  readonly bytes: Uint8Array;
  readonly file: string | undefined;
  readonly is64: boolean;
  readonly littleEndian: boolean;
  /** e_type (ET_REL for modules). */
  readonly type: number;
  /** e_machine (EM_X86_64, ...). */
  readonly machine: number;
  readonly header: ElfHeader;
  readonly sections: readonly ElfSection[];
  /**
   * Bytes covered by the ELF: the furthest end of the file header, program and section
   * header tables and any section contents. Data past it (a module signature, padding)
   * is not part of the ELF and is lost by tools that rewrite the file.
   */
  readonly elfExtent: number;

  private readonly reader: ElfReader;
  private byName: Map<string, ElfSection> | undefined;
  private symbolCache: readonly ElfSymbol[] | undefined;

  /** @internal Use parseElf. */
  constructor(reader: ElfReader, header: ElfHeader, sections: readonly ElfSection[], elfExtent: number) {
    this.reader = reader;
    this.bytes = reader.bytes;
    this.file = reader.file;
    this.is64 = reader.is64;
    this.littleEndian = reader.littleEndian;
    this.type = header.type;
    this.machine = header.machine;
    this.header = header;
    this.sections = sections;
    this.elfExtent = elfExtent;
  }

  /** First section with this name (names are not required to be unique). */
  sectionByName(name: string): ElfSection | undefined {
    if (this.byName === undefined) {
      this.byName = new Map();
      for (const s of this.sections) {
        if (!this.byName.has(s.name)) this.byName.set(s.name, s);
      }
    }
    return this.byName.get(name);
  }

  /** The section's contents as a view into `bytes` (no copy); empty for NOBITS/NULL. */
  sectionData(sec: ElfSection): Uint8Array {
    if (!hasFileData(sec)) return new Uint8Array(0);
    // Sections of this file were range-checked at parse time; one built elsewhere was not.
    if (this.sections[sec.index] !== sec && !(sec.offset >= 0 && sec.size >= 0 && sec.offset + sec.size <= this.bytes.length)) {
      throw elfError('ELF_BAD_SECTION', `section '${sec.name}' (offset ${sec.offset}, size ${sec.size}) is outside the ${this.bytes.length}-byte file`, { file: this.file, offset: sec.offset });
    }
    return this.bytes.subarray(sec.offset, sec.offset + sec.size);
  }

  /** The SHT_SYMTAB section, if any. */
  symtab(): ElfSection | undefined {
    return findSymtab(this.sections);
  }

  /** All entries of .symtab (index 0 included), decoded once and cached. */
  symbols(): readonly ElfSymbol[] {
    this.symbolCache ??= parseSymbols(this.reader, this.sections);
    return this.symbolCache;
  }

  /**
   * The symbols, decoded without being kept when they are not already: for a caller that
   * reads them once and keeps what it needs (lib/dwarf's relocation values), so that the
   * ~24k symbol objects of a module do not stay live behind its back.
   */
  symbolsOnce(): readonly ElfSymbol[] {
    return this.symbolCache ?? parseSymbols(this.reader, this.sections);
  }

  /**
   * Forgets the decoded symbols (symbols() decodes them again if asked): for a caller that
   * took what it needs from them and goes on working with the file for long (a module's
   * ~24k symbols are ~4 MB of objects, live through all of its encoding otherwise).
   */
  releaseSymbols(): void {
    this.symbolCache = undefined;
  }
}

export function parseElf(bytes: Uint8Array, opts: ParseElfOptions = {}): ElfFile {
  const file = opts.file;
  const ident = parseIdent(bytes, file);
  const r = new ElfReader(bytes, ident.littleEndian, ident.is64, file);
  const raw = readRawHeader(r, ident.layout);
  const table = parseSectionTable(r, raw, ident.layout);
  const header: ElfHeader = { ...raw, shnum: table.shnum, shstrndx: table.shstrndx, phnum: table.phnum };

  let extent = ident.layout.size;
  if (header.phnum > 0) {
    const end = header.phoff + header.phnum * header.phentsize;
    if (end > bytes.length) {
      throw r.error('ELF_TRUNCATED', `program header table (${header.phnum} entries at offset ${header.phoff}) extends past the end of the ${bytes.length}-byte file`, { offset: header.phoff });
    }
    extent = Math.max(extent, end);
  }
  if (table.shnum > 0) extent = Math.max(extent, header.shoff + table.shnum * header.shentsize);
  // Section 0 is skipped: with extended numbering its sh_size is a count, not a size.
  for (let i = 1; i < table.sections.length; i++) {
    const s = table.sections[i] as ElfSection;
    if (hasFileData(s)) extent = Math.max(extent, s.offset + s.size);
  }
  return new ElfFile(r, header, table.sections, extent);
}

/** True when `bytes` starts with the ELF magic (no other validation). */
export function isElf(bytes: Uint8Array): boolean {
  return bytes.length >= 4 && bytes[0] === 0x7f && bytes[1] === 0x45 && bytes[2] === 0x4c && bytes[3] === 0x46;
}
