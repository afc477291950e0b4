/**
 * openDwarfFile: the DWARF of an uncompressed ELF file without holding the file in memory.
 * pahole maps a module and touches only what it reads; here the ELF lives in a buffer of
 * the file's size whose pages stay unallocated until read: the headers, the section table,
 * every section that is not DWARF (code, data, .symtab...: an encoder reads those) are read
 * at once; a debug section is read into its place when lib/dwarf first needs it and
 * relocated there (no second copy); relocation records for debug sections are read a chunk
 * at a time and not kept. On the largest cloud module (xfs.ko, 95 MB) this keeps about
 * 40 MB of the file resident instead of 95 MB plus a relocated copy.
 *
 * Through the ElfFile returned here, debug sections and their relocation sections read as
 * zeros until lib/dwarf loaded them: read DWARF through the Dwarf, not through elf.sectionData.
 */
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { SHT_NOBITS, SHT_REL, SHT_RELA } from '../elf/constants.js';
import { parseElf, type ElfFile, type ElfSection } from '../elf/index.js';
import { isElf } from '../elf/file.js';
import { Dwarf, type DwarfOptions } from './dwarf.js';
import { dwarfError } from './errors.js';
import { canonicalDebugName, type ElfByteSource } from './sections.js';

/** Reads byte ranges of a file on demand into one sparse, file-sized buffer. */
class FileSource implements ElfByteSource {
  readonly path: string;
  readonly bytes: Uint8Array;
  /** Ranges already read, by start offset (their lengths). */
  private readonly done = new Map<number, number>();

  constructor(path: string, size: number) {
    this.path = path;
    // Untouched pages of a large zero-filled allocation are not resident.
    this.bytes = new Uint8Array(size);
  }

  private readInto(into: Uint8Array, at: number, offset: number, length: number): void {
    if (offset < 0 || length < 0 || offset + length > this.bytes.length) {
      throw dwarfError('DWARF_TRUNCATED', `bytes ${offset}..${offset + length} are outside the ${this.bytes.length}-byte file`, { file: this.path, offset });
    }
    const fd = openSync(this.path, 'r');
    try {
      let got = 0;
      while (got < length) {
        const n = readSync(fd, into, at + got, length - got, offset + got);
        if (n === 0) throw dwarfError('DWARF_TRUNCATED', `the file ended at ${offset + got} while reading ${length} bytes at ${offset} (it changed after it was opened?)`, { file: this.path, offset: offset + got });
        got += n;
      }
    } finally {
      closeSync(fd);
    }
  }

  load(offset: number, length: number): Uint8Array {
    if (length > 0 && (this.done.get(offset) ?? -1) < length) {
      this.readInto(this.bytes, offset, offset, length);
      this.done.set(offset, length);
    }
    return this.bytes.subarray(offset, offset + length);
  }

  read(offset: number, length: number, into: Uint8Array): Uint8Array {
    this.readInto(into, 0, offset, length);
    return into.subarray(0, length);
  }
}

function isDebugOrItsRelocations(elf: ElfFile, i: number): boolean {
  const s = elf.sections[i];
  if (s === undefined) return false;
  if (canonicalDebugName(s.name) !== undefined || s.name.startsWith('.debug') || s.name.startsWith('.zdebug')) return true;
  if (s.type === SHT_REL || s.type === SHT_RELA) {
    const t = elf.sections[s.info];
    return t !== undefined && t.index !== 0 && (t.name.startsWith('.debug') || t.name.startsWith('.zdebug'));
  }
  return false;
}

export interface OpenDwarfFileOptions extends DwarfOptions {
  /**
   * Which sections other than DWARF and its relocations are read at once (default: all). The
   * others read as zeros through the ElfFile: for a caller that knows what it reads (an
   * encoder needs the symbol table and .BTF_ids, not a module's code and its relocations).
   */
  readNow?: (elf: ElfFile, section: ElfSection) => boolean;
}

/**
 * The DWARF of the ELF file at `path` (uncompressed: kbuild's .ko before compression, a .o),
 * read lazily from disk. `elf` is the file's ElfFile (see the module comment for what it holds).
 */
export function openDwarfFile(path: string, opts: OpenDwarfFileOptions = {}): Dwarf {
  const fd = openSync(path, 'r');
  let size: number;
  try {
    size = fstatSync(fd).size;
  } finally {
    closeSync(fd);
  }
  const src = new FileSource(path, size);
  const file = opts.file ?? path;
  // The headers first, then the section table; parse twice: names need .shstrtab's bytes.
  src.load(0, Math.min(size, 64));
  if (!isElf(src.bytes)) {
    throw dwarfError('DWARF_NOT_ELF', 'not an uncompressed ELF file (decompress it first: lib/module loadModuleFile, then openDwarf)', { file, offset: 0 });
  }
  const headerOnly = parseElfHeaderTable(src, file);
  const shstr = headerOnly.sections[headerOnly.header.shstrndx];
  if (shstr !== undefined && shstr.type !== SHT_NOBITS) src.load(shstr.offset, shstr.size);
  const named = parseElf(src.bytes, { file });
  // Everything but DWARF and its relocations now; those when lib/dwarf asks.
  for (let i = 1; i < named.sections.length; i++) {
    const s = named.sections[i];
    if (s === undefined || s.type === SHT_NOBITS || isDebugOrItsRelocations(named, i)) continue;
    if (opts.readNow !== undefined && !opts.readNow(named, s)) continue;
    src.load(s.offset, s.size);
  }
  const elf = parseElf(src.bytes, { file });
  return new Dwarf(elf, { ...opts, file, source: src });
}

/** parseElf over a buffer holding only the ELF header: reads the section header table in first. */
function parseElfHeaderTable(src: FileSource, file: string): ElfFile {
  const b = src.bytes;
  const is64 = b[4] === 2;
  const le = b[5] === 1;
  // Too short for its header: parseElf says so (a typed error).
  if (b.length < (is64 ? 64 : 52)) return parseElf(b, { file });
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const shoff = is64 ? Number(dv.getBigUint64(40, le)) : dv.getUint32(32, le);
  const shentsize = dv.getUint16(is64 ? 58 : 46, le);
  let shnum = dv.getUint16(is64 ? 60 : 48, le);
  if (shoff > 0 && shoff < b.length && shentsize > 0) {
    if (shnum === 0 && shoff + (is64 ? 40 : 24) <= b.length) {
      // Extended numbering: the count is section 0's sh_size.
      src.load(shoff, Math.min(shentsize, b.length - shoff));
      shnum = is64 ? Number(dv.getBigUint64(shoff + 32, le)) : dv.getUint32(shoff + 20, le);
    }
    src.load(shoff, Math.max(0, Math.min(shnum * shentsize, b.length - shoff)));
  }
  return parseElf(b, { file });
}
