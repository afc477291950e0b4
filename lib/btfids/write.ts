/**
 * The object resolve_btfids leaves behind, computed in memory. resolve_btfids 6.12
 * opens the object with libelf (elfutils 0.188) as ELF_C_RDWR_MMAP + ELF_F_LAYOUT and
 * calls elf_update(ELF_C_WRITE) after patching, which (besides the new `.BTF_ids`
 * bytes):
 *  - refuses to write when a section's sh_addralign is not a power of two ("invalid
 *    section alignment"), when sh_size is not a multiple of a non-zero sh_entsize
 *    ("invalid section entry size"), or when e_version is neither 0 nor 1 ("unknown
 *    version");
 *  - normalises: e_version 0 -> 1, e_ehsize, e_phoff -> 0 without program headers,
 *    sh_entsize of SYMTAB/DYNSYM/RELA/REL/DYNAMIC/HASH/SYMTAB_SHNDX/GROUP sections,
 *    sh_addralign of SHF_COMPRESSED sections (8 for ELF64, 4 for ELF32; resolve_btfids
 *    itself does the same while scanning);
 *  - zero-fills the gaps before each section (sections in file order, from the end of
 *    the ELF and program headers, only the part before the section header table);
 *    bytes after the last section are kept;
 *  - truncates the file to the ELF extent, dropping a module signature or any other
 *    trailing bytes.
 * Nothing is written to disk here.
 */
import type { ElfFile, ElfSection } from '../elf/index.js';
import { SHT_NOBITS } from '../elf/constants.js';
import { dataViewOf } from '../bytes.js';
import { BtfIdsError } from './errors.js';
import { msg } from './messages.js';
import type { AlignmentFix } from './layout.js';

const SHT_SYMTAB = 2;
const SHT_RELA = 4;
const SHT_HASH = 5;
const SHT_DYNAMIC = 6;
const SHT_REL = 9;
const SHT_DYNSYM = 11;
const SHT_GROUP = 17;
const SHT_SYMTAB_SHNDX = 18;
const SHF_COMPRESSED = 0x800;
const EM_S390 = 22;
const EM_ALPHA = 0x9026;

export interface SectionContents {
  readonly section: ElfSection;
  /** New contents, exactly section.size bytes. */
  readonly bytes: Uint8Array;
}

interface Layout {
  readonly ehsize: number;
  readonly phentsize: number;
  readonly shentsize: number;
  readonly version: number;
  readonly phoff: number;
  readonly ehsizeOff: number;
  readonly shAddralign: number;
  readonly shEntsize: number;
}

const L64: Layout = { ehsize: 64, phentsize: 56, shentsize: 64, version: 20, phoff: 32, ehsizeOff: 52, shAddralign: 48, shEntsize: 56 };
const L32: Layout = { ehsize: 52, phentsize: 32, shentsize: 40, version: 20, phoff: 28, ehsizeOff: 40, shAddralign: 32, shEntsize: 36 };

function isPow2(v: number): boolean {
  return v > 0 && Number.isInteger(Math.log2(v)) && 2 ** Math.log2(v) === v;
}

/** The sh_entsize libelf insists on for this section type (undefined: left alone). */
function knownEntsize(elf: ElfFile, type: number): number | undefined {
  const is64 = elf.is64;
  switch (type) {
    case SHT_SYMTAB:
    case SHT_DYNSYM: return is64 ? 24 : 16;
    case SHT_RELA: return is64 ? 24 : 12;
    case SHT_REL: return is64 ? 16 : 8;
    case SHT_DYNAMIC: return is64 ? 16 : 8;
    case SHT_HASH: return elf.machine === EM_ALPHA || (elf.machine === EM_S390 && is64) ? 8 : 4;
    case SHT_GROUP:
    case SHT_SYMTAB_SHNDX: return 4;
    default: return undefined;
  }
}

function elfUpdateError(text: string, detail: string, context: { section?: string; offset?: number } = {}, file?: string): BtfIdsError {
  return new BtfIdsError('BTFIDS_ELF_UPDATE', `libelf refuses to write the object: ${detail}`, msg.elfUpdate(text), { ...context, ...(file !== undefined ? { file } : {}) });
}

class Writer {
  readonly dv: DataView;
  constructor(readonly out: Uint8Array, readonly elf: ElfFile) { this.dv = dataViewOf(out); }
  word(at: number, v: number): void {
    if (this.elf.is64) this.dv.setBigUint64(at, BigInt(v), this.elf.littleEndian);
    else this.dv.setUint32(at, v, this.elf.littleEndian);
  }
  u16(at: number, v: number): void { this.dv.setUint16(at, v, this.elf.littleEndian); }
  u32(at: number, v: number): void { this.dv.setUint32(at, v, this.elf.littleEndian); }
}

/**
 * The whole file as resolve_btfids' elf_update() leaves it, with `changes` (the new
 * `.BTF_ids`) applied. Throws BtfIdsError BTFIDS_ELF_UPDATE where libelf refuses.
 */
export function elfUpdateImage(elf: ElfFile, changes: readonly SectionContents[], alignmentFixes: readonly AlignmentFix[] = []): Uint8Array {
  const l = elf.is64 ? L64 : L32;
  const h = elf.header;
  const out = new Uint8Array(elf.bytes);
  const w = new Writer(out, elf);
  const file = elf.file;

  // Header (libelf default_ehdr).
  if (out[6] !== 1) out[6] = 1;
  if (h.version === 0) w.u32(l.version, 1);
  else if (h.version !== 1) throw elfUpdateError('unknown version', `e_version is ${h.version}`, { offset: l.version }, file);
  if (h.ehsize !== l.ehsize) w.u16(l.ehsizeOff, l.ehsize);
  let phoff = h.phoff;
  if (h.phnum === 0 && h.phoff !== 0) {
    w.word(l.phoff, 0);
    phoff = 0;
  }

  // Section headers (updatenull): alignment, entry sizes.
  const fixes = new Map(alignmentFixes.map((f) => [f.section.index, f.addralign]));
  for (let i = 1; i < elf.sections.length; i++) {
    const s = elf.sections[i] as ElfSection;
    if (!isPow2(s.addralign === 0 ? 1 : s.addralign)) {
      throw elfUpdateError('invalid section alignment', `section [${i}] '${s.name}' has sh_addralign ${s.addralign}, not a power of two`, { offset: s.headerOffset }, file);
    }
    let entsize = s.entsize;
    const want = knownEntsize(elf, s.type);
    if (want !== undefined && want !== entsize) {
      w.word(s.headerOffset + l.shEntsize, want);
      entsize = want;
    }
    const align = fixes.get(i) ?? ((s.flags & SHF_COMPRESSED) !== 0 ? (elf.is64 ? 8 : 4) : undefined);
    if (align !== undefined && align !== s.addralign) w.word(s.headerOffset + l.shAddralign, align);
    if (entsize !== 0 && s.size % entsize !== 0) {
      throw elfUpdateError('invalid section entry size', `section [${i}] '${s.name}': sh_size ${s.size} is not a multiple of sh_entsize ${entsize}`, { offset: s.headerOffset }, file);
    }
  }

  for (const c of changes) {
    if (c.bytes.length !== c.section.size) throw new RangeError(`elfUpdateImage: ${c.bytes.length} bytes for the ${c.section.size}-byte section '${c.section.name}'`);
    out.set(c.bytes, c.section.offset);
  }

  // Gap filling (updatemmap), sections in file order.
  const shnum = elf.sections.length;
  const shdrStart = h.shoff;
  let last = Math.max(l.ehsize, phoff) + h.phnum * l.phentsize;
  const order = elf.sections.slice(1).sort((a, b) => a.offset - b.offset || a.size - b.size || a.index - b.index);
  for (const s of order) {
    if (s.type === SHT_NOBITS) continue;
    if (s.offset > last && last < shdrStart) out.fill(0, last, Math.min(s.offset, shdrStart));
    last = s.offset + s.size;
  }

  // File size = the extent libelf computes with ELF_F_LAYOUT.
  let size = l.ehsize;
  if (h.phnum > 0) size = Math.max(size, phoff + h.phnum * l.phentsize);
  for (let i = 1; i < shnum; i++) {
    const s = elf.sections[i] as ElfSection;
    if (s.type !== SHT_NOBITS) size = Math.max(size, s.offset + s.size);
  }
  if (shnum > 0) size = Math.max(size, h.shoff + shnum * l.shentsize);
  return out.slice(0, size);
}

/**
 * What resolve_btfids leaves when it finds nothing to do (or fails after scanning):
 * the compressed-section alignment fix reaches the file through libelf's shared
 * mapping of the section headers, for objects in the host's (little-endian) byte
 * order only; nothing else changes and the file is not truncated.
 * Returns undefined when the file stays as it is.
 */
export function alignmentFixImage(elf: ElfFile, alignmentFixes: readonly AlignmentFix[]): Uint8Array | undefined {
  if (!elf.littleEndian) return undefined;
  const todo = alignmentFixes.filter((f) => f.section.addralign !== f.addralign);
  if (todo.length === 0) return undefined;
  const out = new Uint8Array(elf.bytes);
  const w = new Writer(out, elf);
  const l = elf.is64 ? L64 : L32;
  for (const f of todo) w.word(f.section.headerOffset + l.shAddralign, f.addralign);
  return out;
}
