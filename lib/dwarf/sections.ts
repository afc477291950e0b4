/**
 * The DWARF sections of an ELF file as libdw reads them: found by name, decompressed
 * (SHF_COMPRESSED, or the older GNU .zdebug_* form) and, for relocatable files, with the
 * `.rel[a].debug_*` relocations applied the way libdwfl applies them.
 *
 * Section choice follows elfutils 0.196 libdw/dwarf_begin_elf.c `check_section`: plain
 * names (.debug_info, ...) or their .zdebug_ spelling; SHT_NOBITS, SHF_GROUP members and
 * empty sections are ignored; when a name appears twice the first one counts. (Split
 * DWARF .dwo and LTO .gnu.debuglto_ sections are not read: modules have neither.)
 *
 * A section without relocations and without compression is a view of the file's bytes;
 * the others are private copies, made when the section is first asked for.
 */
import { inflateSync } from 'node:zlib';
import * as zlib from 'node:zlib';
import { dataViewOf } from '../bytes.js';
import { SHF_ALLOC, SHF_COMPRESSED, SHF_GROUP, ET_REL, SHN_ABS, SHN_COMMON, SHN_UNDEF, SHT_NOBITS, SHT_REL, SHT_RELA } from '../elf/constants.js';
import type { ElfFile } from '../elf/file.js';
import type { ElfSection } from '../elf/sections.js';
import { dwarfError } from './errors.js';
import { isKnownRelocType, machineRelocs, type MachineRelocs } from './reloc-types.js';

/** The debug sections libdw knows by name (dwarf_begin_elf.c dwarf_scnnames). */
export const DWARF_SECTION_NAMES = [
  '.debug_info', '.debug_types', '.debug_abbrev', '.debug_addr', '.debug_aranges', '.debug_line',
  '.debug_line_str', '.debug_frame', '.debug_loc', '.debug_loclists', '.debug_pubnames', '.debug_str',
  '.debug_str_offsets', '.debug_macinfo', '.debug_macro', '.debug_ranges', '.debug_rnglists',
] as const;
export type DwarfSectionName = (typeof DWARF_SECTION_NAMES)[number];

/**
 * Section names libdwfl relocates when asked for the debug sections only
 * (libebl default_debugscn_p), with their .zdebug spellings.
 */
const RELOCATED_DEBUG_NAMES = new Set([
  '.debug', '.line', '.debug_srcinfo', '.debug_sfnames', '.debug_aranges', '.debug_pubnames', '.debug_info',
  '.debug_abbrev', '.debug_line', '.debug_frame', '.debug_str', '.debug_loc', '.debug_macinfo', '.debug_ranges',
  '.debug_pubtypes', '.debug_types', '.gdb_index', '.debug_macro', '.debug_addr', '.debug_line_str',
  '.debug_loclists', '.debug_names', '.debug_rnglists', '.debug_str_offsets', '.debug_weaknames',
  '.debug_funcnames', '.debug_typenames', '.debug_varnames',
]);

/** One DWARF section's final bytes. */
export interface DwarfSection {
  /** The canonical name (.debug_info), also for a .zdebug_info section. */
  readonly name: DwarfSectionName;
  /** The ELF section it came from. */
  readonly elf: ElfSection;
  readonly data: Uint8Array;
  readonly view: DataView;
  /** String sections: the length up to and including the last NUL (libdw string_section_size). */
  readonly stringSize: number;
}

/**
 * Where section bytes come from when the ElfFile does not hold them all (openDwarfFile):
 * `load` fills [offset, offset+length) of the ElfFile's own buffer from the file once and
 * returns that view (private: it may be relocated in place); `read` reads a range into a
 * scratch buffer that is not kept (relocation records, a chunk at a time).
 */
export interface ElfByteSource {
  load(offset: number, length: number): Uint8Array;
  read(offset: number, length: number, into: Uint8Array): Uint8Array;
}

export interface LoadSectionsOptions {
  /** Section addresses (offlineSectionAddresses) used to relocate symbol values. */
  addresses: BigUint64Array;
  /** Read section bytes through this instead of the ElfFile's buffer (see ElfByteSource). */
  source?: ElfByteSource;
  /**
   * What to do with a relocation type elfutils does not know for this machine:
   * 'error' (default) throws DwarfFormatError; 'skip' leaves it unapplied, as libdwfl does;
   * 'lenient' skips every record that cannot be applied (only to locate a bad one's DIE).
   */
  unknownRelocations?: 'error' | 'skip' | 'lenient';
  /**
   * Read .debug_info a range at a time (WindowedSection), holding at most about this many
   * bytes of it before starting a fresh buffer; only with a `source`, and only where the
   * file allows it (see WindowedSection.open). Undefined: the whole section at once.
   */
  windowInfo?: number;
}

const ELFCOMPRESS_ZLIB = 1;
const ELFCOMPRESS_ZSTD = 2;

/** Canonical debug-section name for an ELF section name, if it is one libdw reads. */
export function canonicalDebugName(name: string): DwarfSectionName | undefined {
  if ((DWARF_SECTION_NAMES as readonly string[]).includes(name)) return name as DwarfSectionName;
  if (name.startsWith('.zdebug_')) {
    const plain = `.${name.slice(2)}`;
    if ((DWARF_SECTION_NAMES as readonly string[]).includes(plain)) return plain as DwarfSectionName;
  }
  return undefined;
}

function relocTargetName(name: string): string | undefined {
  if (RELOCATED_DEBUG_NAMES.has(name)) return name;
  if (name.startsWith('.zdebug')) {
    const plain = `.${name.slice(2)}`;
    if (RELOCATED_DEBUG_NAMES.has(plain)) return plain;
  }
  if (name.startsWith('.gnu.debuglto_') && RELOCATED_DEBUG_NAMES.has(name.slice(14))) return name;
  return undefined;
}

type ZstdDecompress = (buf: Uint8Array) => Buffer;

/** node:zlib's zstd decompressor where this Node.js has one (>= 22.15 / 23.8). */
function zstdDecompressor(): ZstdDecompress | undefined {
  const fn = (zlib as unknown as { zstdDecompressSync?: ZstdDecompress }).zstdDecompressSync;
  return typeof fn === 'function' ? fn : undefined;
}

/**
 * The bytes libelf's elf_compress(scn, 0) / elf_compress_gnu give for a section; `copied`
 * when decompression made them a fresh buffer (otherwise they are the ElfFile's own bytes,
 * read in by `source` first when one is given).
 */
export function sectionBytes(elf: ElfFile, sec: ElfSection, source?: ElfByteSource): { data: Uint8Array; copied: boolean } {
  const raw = source !== undefined && sec.type !== SHT_NOBITS ? source.load(sec.offset, sec.size) : elf.sectionData(sec);
  const where = { file: elf.file, section: sec.name };
  if ((sec.flags & SHF_COMPRESSED) !== 0) {
    const hdr = elf.is64 ? 24 : 12;
    if (raw.length < hdr) throw dwarfError('DWARF_BAD_COMPRESSION', `compressed section is ${raw.length} bytes, shorter than its ${hdr}-byte Elf${elf.is64 ? 64 : 32}_Chdr`, { ...where, offset: 0 });
    const dv = dataViewOf(raw);
    const le = elf.littleEndian;
    const type = dv.getUint32(0, le);
    const size = elf.is64 ? Number(dv.getBigUint64(8, le)) : dv.getUint32(4, le);
    const body = raw.subarray(hdr);
    let out: Uint8Array;
    if (type === ELFCOMPRESS_ZLIB) {
      out = inflateOrThrow(body, size, where, hdr);
    } else if (type === ELFCOMPRESS_ZSTD) {
      const zstd = zstdDecompressor();
      if (zstd === undefined) {
        throw dwarfError('DWARF_ZSTD_UNSUPPORTED', `section is zstd-compressed (ELFCOMPRESS_ZSTD) and this Node.js ${process.version} has no zstd decompressor (Node.js >= 22.15 has one); decompress it first: objcopy --decompress-debug-sections FILE`, { ...where, offset: 0 });
      }
      try {
        out = new Uint8Array(zstd(body));
      } catch (e) {
        throw dwarfError('DWARF_BAD_COMPRESSION', `zstd data does not decompress: ${(e as Error).message}`, { ...where, offset: hdr });
      }
    } else {
      throw dwarfError('DWARF_BAD_COMPRESSION', `unknown compression type ${type} in Elf_Chdr`, { ...where, offset: 0 });
    }
    if (out.length !== size) throw dwarfError('DWARF_BAD_COMPRESSION', `section decompresses to ${out.length} bytes, its Elf_Chdr says ${size}`, { ...where, offset: 0 });
    return { data: out, copied: true };
  }
  if (sec.name.startsWith('.zdebug') && raw.length >= 12 && raw[0] === 0x5a && raw[1] === 0x4c && raw[2] === 0x49 && raw[3] === 0x42) {
    // GNU: "ZLIB", then the uncompressed size as a big-endian u64, then a zlib stream.
    const size = Number(dataViewOf(raw).getBigUint64(4, false));
    const out = inflateOrThrow(raw.subarray(12), size, where, 12);
    if (out.length !== size) throw dwarfError('DWARF_BAD_COMPRESSION', `section decompresses to ${out.length} bytes, its ZLIB header says ${size}`, { ...where, offset: 4 });
    return { data: out, copied: true };
  }
  return { data: raw, copied: false };
}

function inflateOrThrow(body: Uint8Array, size: number, where: { file: string | undefined; section: string }, at: number): Uint8Array {
  if (!Number.isSafeInteger(size) || size > 0x7fffffff) throw dwarfError('DWARF_BAD_COMPRESSION', `uncompressed size ${size} is too large`, { ...where, offset: 0 });
  try {
    // maxOutputLength: a corrupt header must not make us allocate without bound.
    const out = inflateSync(body, { maxOutputLength: Math.max(size, 1) });
    return new Uint8Array(out.buffer, out.byteOffset, out.length);
  } catch (e) {
    throw dwarfError('DWARF_BAD_COMPRESSION', `zlib data does not decompress: ${(e as Error).message}`, { ...where, offset: at });
  }
}

/** Resolved relocation symbol values, computed once per file. */
interface SymbolValues {
  /** Exact value when it is a safe integer (state 0). */
  readonly num: Float64Array;
  readonly big: (bigint | undefined)[];
  /** 0 resolved, 1 undefined (relocation left unapplied), 2 resolved but too large for num. */
  readonly state: Uint8Array;
}

/**
 * Symbol values as libdwfl's relocate_getsym computes them: st_value plus the section's
 * layout address for SHF_ALLOC sections; SHN_ABS as is; SHN_COMMON 0; SHN_UNDEF leaves
 * the relocation unapplied (resolve_symbol finds no other module to search).
 */
function symbolValues(elf: ElfFile, addresses: BigUint64Array): SymbolValues {
  const syms = elf.symbolsOnce();
  const n = syms.length;
  const num = new Float64Array(n);
  const big: (bigint | undefined)[] = new Array<bigint | undefined>(n);
  const state = new Uint8Array(n);
  const secs = elf.sections;
  for (let i = 0; i < n; i++) {
    const s = syms[i] as (typeof syms)[number];
    let v: bigint;
    if (s.shndx === SHN_UNDEF) { state[i] = 1; continue; }
    if (s.shndx === SHN_ABS) v = s.value;
    else if (s.shndx === SHN_COMMON) v = 0n;
    else {
      const sec = secs[s.shndx];
      if (sec === undefined) {
        // libdwfl: elf_getscn fails, DWFL_E_LIBELF. Only an error if a relocation uses it.
        state[i] = 3;
        continue;
      }
      v = s.value + ((sec.flags & SHF_ALLOC) !== 0 ? (addresses[s.shndx] as bigint) : 0n);
      v = BigInt.asUintN(64, v);
    }
    if (v <= BigInt(Number.MAX_SAFE_INTEGER)) num[i] = Number(v);
    else { state[i] = 2; big[i] = v; }
  }
  return { num, big, state };
}

const TWO32 = 2 ** 32;

/**
 * Applies every relocation section whose target is `target` to `data` (which must be a
 * private copy), in section header order, as elfutils 0.196 libdwfl/relocate.c
 * `relocate_section` / `relocate` do in partial mode.
 */
function applyRelocations(elf: ElfFile, target: ElfSection, data: Uint8Array, ctx: RelocContext): void {
  for (const rs of ctx.relocSections(target.index)) {
    const isRela = rs.type === SHT_RELA;
    const entsize = elf.is64 ? (isRela ? 24 : 16) : (isRela ? 12 : 8);
    // From a source, uncompressed records are read a chunk at a time and not kept.
    const chunked = ctx.source !== undefined && (rs.flags & SHF_COMPRESSED) === 0;
    const total = Math.floor((chunked ? rs.size : 0) / entsize);
    let whole: Uint8Array | undefined;
    if (!chunked) whole = sectionBytes(elf, rs, ctx.source).data;
    const count = chunked ? total : Math.floor((whole as Uint8Array).length / entsize);
    if (count === 0) continue;
    const perChunk = chunked ? Math.max(1, Math.floor(RELOC_CHUNK / entsize)) : count;
    for (let first = 0; first < count; first += perChunk) {
      const n = Math.min(perChunk, count - first);
      const rel = chunked
        ? (ctx.source as ElfByteSource).read(rs.offset + first * entsize, n * entsize, ctx.scratch(n * entsize))
        : (whole as Uint8Array);
      applyRecords(elf, target, rs, data, ctx, rel, chunked ? first : 0, n, entsize, isRela);
    }
  }
}

/** Where in its target section a relocation that could not be applied points (set on its error). */
const badTargets = new WeakMap<object, { section: string; offset: number }>();

/** The target section and offset of the relocation record a DWARF_BAD_RELOC* error is about. */
export function badRelocationTarget(err: unknown): { section: string; offset: number } | undefined {
  return typeof err === 'object' && err !== null ? badTargets.get(err) : undefined;
}

/** Applies records [base, base+n) of relocation section `rs`, held in `rel` (from its record `base`). */
function applyRecords(elf: ElfFile, target: ElfSection, rs: ElfSection, data: Uint8Array, ctx: RelocContext, rel: Uint8Array, base: number, n: number, entsize: number, isRela: boolean): void {
  const count = n;
  const table = ctx.table;
  const where = { file: elf.file, section: rs.name };
  const lenient = ctx.unknown === 'lenient';
  /** The error for record k patching `offset` of the target (which the message names too). */
  const bad = (code: string, message: string, k: number, offset: number): Error => {
    const e = dwarfError(code, `${message} (relocation ${k} of ${rs.name}, for ${target.name}+0x${offset.toString(16)})`, { ...where, offset: k * entsize });
    badTargets.set(e, { section: target.name, offset });
    return e;
  };
  const le = elf.littleEndian;
  const rv = dataViewOf(rel);
  const dv = dataViewOf(data);
  const size = data.length;
  for (let i = 0; i < count; i++) {
    const k = base + i;
    const at = i * entsize;
    const recordAt = k * entsize;
    let offset: number;
    let sym: number;
    let type: number;
    let addend = 0;
    let addendBig: bigint | undefined;
    if (elf.is64) {
      const offLo = rv.getUint32(le ? at : at + 4, le);
      const offHi = rv.getUint32(le ? at + 4 : at, le);
      offset = offHi === 0 ? offLo : Number.MAX_SAFE_INTEGER;
      type = rv.getUint32(le ? at + 8 : at + 12, le);
      sym = rv.getUint32(le ? at + 12 : at + 8, le);
      if (isRela) {
        const lo = rv.getUint32(le ? at + 16 : at + 20, le);
        const hi = rv.getInt32(le ? at + 20 : at + 16, le);
        if (hi >= -0x200000 && hi < 0x200000) addend = hi * TWO32 + lo;
        else addendBig = rv.getBigInt64(at + 16, le);
      }
    } else {
      offset = rv.getUint32(at, le);
      const info = rv.getUint32(at + 4, le);
      sym = info >>> 8;
      type = info & 0xff;
      if (isRela) addend = rv.getInt32(at + 8, le);
    }
    if (type === 0) continue; // R_*_NONE
    if (table === undefined) {
      if (lenient) continue;
      throw dwarfError('DWARF_UNKNOWN_MACHINE', `relocation type ${type} for machine ${elf.machine}, which has no relocation table (libdwfl: unknown machine)`, { ...where, offset: recordAt });
    }
    const simple = table.simple.get(type);
    if (simple === undefined) {
      if (isKnownRelocType(table, type) || ctx.unknown !== 'error') continue;
      throw bad('DWARF_BAD_RELOC_TYPE', `relocation type ${type} is not a ${table.backend} relocation type elfutils knows`, k, offset);
    }
    let value = 0;
    let valueBig: bigint | undefined;
    if (sym !== 0) {
      const st = ctx.symbols.state[sym];
      if ((st === undefined || st === 3) && lenient) continue;
      if (st === undefined) throw bad('DWARF_BAD_RELOC', `relocation ${k} names symbol ${sym}, past the end of the ${ctx.symbols.state.length}-entry symbol table`, k, offset);
      if (st === 3) throw bad('DWARF_BAD_RELOC', `relocation ${k} names symbol ${sym}, whose section index does not exist`, k, offset);
      if (st === 1) continue; // undefined symbol: libdwfl leaves it (DWFL_E_RELUNDEF, partial)
      if (st === 2) valueBig = ctx.symbols.big[sym];
      else value = ctx.symbols.num[sym] as number;
    }
    if (simple.addsub !== 0 && !isRela) continue; // libdwfl: ADD/SUB make no sense with REL
    const width = simple.size;
    if (offset > size || size - offset < width) {
      if (lenient) continue;
      const e = dwarfError('DWARF_BAD_RELOC', `relocation ${k} at offset ${offset} (${width} bytes) is outside the ${size}-byte ${target.name}`, { ...where, offset: recordAt });
      badTargets.set(e, { section: target.name, offset });
      throw e;
    }
    // The stored value: S + A (RELA), existing + S (REL), existing +/- (S + A) (ADD/SUB).
    if (valueBig === undefined && addendBig === undefined && width <= 4) {
      let v = value + addend;
      if (!isRela || simple.addsub !== 0) {
        const old = width === 1 ? dv.getUint8(offset) : width === 2 ? dv.getUint16(offset, le) : dv.getUint32(offset, le);
        v = simple.addsub === -1 ? old - v : old + v;
      }
      if (!Number.isSafeInteger(v)) {
        writeBig(dv, offset, width, le, BigInt.asUintN(64, exactSum(value, valueBig, addend, addendBig)), simple, isRela);
        continue;
      }
      const u = v >>> 0;
      if (width === 1) dv.setUint8(offset, u & 0xff);
      else if (width === 2) dv.setUint16(offset, u & 0xffff, le);
      else dv.setUint32(offset, u, le);
      continue;
    }
    if (width === 8 && isRela && simple.addsub === 0 && valueBig === undefined && addendBig === undefined) {
      // The common 64-bit store (R_X86_64_64, R_AARCH64_ABS64, ...) without BigInt.
      const v = value + addend;
      if (v >= 0 && v <= Number.MAX_SAFE_INTEGER) {
        const lo = v >>> 0;
        const hi = Math.floor(v / TWO32);
        dv.setUint32(le ? offset : offset + 4, lo, le);
        dv.setUint32(le ? offset + 4 : offset, hi, le);
        continue;
      }
    }
    writeBig(dv, offset, width, le, exactSum(value, valueBig, addend, addendBig), simple, isRela);
  }
}

function exactSum(value: number, valueBig: bigint | undefined, addend: number, addendBig: bigint | undefined): bigint {
  return (valueBig ?? BigInt(value)) + (addendBig ?? BigInt(addend));
}

function writeBig(dv: DataView, offset: number, width: 1 | 2 | 4 | 8, le: boolean, sum: bigint, simple: { addsub: number }, isRela: boolean): void {
  const bits = BigInt(width * 8);
  let v = sum;
  if (!isRela || simple.addsub !== 0) {
    const old = width === 8 ? dv.getBigUint64(offset, le) : BigInt(width === 1 ? dv.getUint8(offset) : width === 2 ? dv.getUint16(offset, le) : dv.getUint32(offset, le));
    v = simple.addsub === -1 ? old - sum : old + sum;
  }
  v = BigInt.asUintN(Number(bits), v);
  if (width === 8) dv.setBigUint64(offset, v, le);
  else if (width === 4) dv.setUint32(offset, Number(v), le);
  else if (width === 2) dv.setUint16(offset, Number(v), le);
  else dv.setUint8(offset, Number(v));
}

interface RelocContext {
  readonly table: MachineRelocs | undefined;
  readonly unknown: 'error' | 'skip' | 'lenient';
  readonly symbols: SymbolValues;
  relocSections(target: number): readonly ElfSection[];
  readonly source: ElfByteSource | undefined;
  /** A reusable buffer of at least n bytes for a chunk of relocation records. */
  scratch(n: number): Uint8Array;
}

/** Bytes of relocation records read at a time from a source. */
const RELOC_CHUNK = 1 << 20;

/**
 * Lazily loaded, decompressed and relocated DWARF sections of one ELF file.
 */
export class DwarfSections {
  readonly elf: ElfFile;
  private readonly byName = new Map<DwarfSectionName, ElfSection>();
  private readonly loaded = new Map<DwarfSectionName, DwarfSection | null>();
  private readonly opts: LoadSectionsOptions;
  private relocIndex: Map<number, ElfSection[]> | undefined;
  private symbolCache: SymbolValues | undefined;

  constructor(elf: ElfFile, opts: LoadSectionsOptions) {
    this.elf = elf;
    this.opts = opts;
    for (const s of elf.sections) {
      if (s.index === 0 || s.type === SHT_NOBITS || (s.flags & SHF_GROUP) !== 0) continue;
      const name = canonicalDebugName(s.name);
      if (name === undefined || this.byName.has(name)) continue;
      if (s.size === 0) continue;
      this.byName.set(name, s);
    }
  }

  /** True when the file has this section (not yet decompressed or relocated). */
  has(name: DwarfSectionName): boolean {
    return this.byName.has(name);
  }

  /** The bytes a section has once loaded (decompressed size), 0 when absent; without loading it. */
  elfSectionSize(name: DwarfSectionName): number {
    const sec = this.byName.get(name);
    return sec === undefined ? 0 : (this.loaded.get(name)?.data.length ?? sec.size);
  }

  /** The ELF section behind a DWARF section name, without loading it. */
  elfSection(name: DwarfSectionName): ElfSection | undefined {
    return this.byName.get(name);
  }

  /** The section's final bytes (decompressed, relocated), or undefined when absent or empty. */
  get(name: DwarfSectionName): DwarfSection | undefined {
    const hit = this.loaded.get(name);
    if (hit !== undefined) return hit ?? undefined;
    const sec = this.byName.get(name);
    if (sec === undefined) { this.loaded.set(name, null); return undefined; }
    // Windowed only where it saves much: each window is a fresh 32 MiB mapping, which V8
    // counts against its external memory and answers with garbage collections (small
    // modules, read whole, encoded 12 ms faster each: xtables-addons' 21).
    const window = this.opts.windowInfo;
    if (name === '.debug_info' && window !== undefined && sec.size > 2 * window && this.opts.source !== undefined && this.elf.type === ET_REL && !this.sharesBytes(sec)) {
      const w = WindowedSection.open(this.elf, sec, this.relocSectionsFor(sec.index), this.opts.source, () => this.relocContext(), window);
      if (w !== undefined) { this.loaded.set(name, w); return w; }
    }
    let { data, copied } = sectionBytes(this.elf, sec, this.opts.source);
    const relocs = this.elf.type === ET_REL ? this.relocSectionsFor(sec.index) : [];
    if (relocs.length > 0) {
      // A source read the section into a buffer only lib/dwarf uses: relocate it there,
      // unless its bytes are also another section's (a corrupt section table): loading that
      // one would overwrite the relocated bytes, or read them relocated.
      if (!copied && (this.opts.source === undefined || this.sharesBytes(sec))) data = data.slice();
      applyRelocations(this.elf, sec, data, this.relocContext());
    }
    if (data.length === 0) { this.loaded.set(name, null); return undefined; }
    let stringSize = data.length;
    if (name === '.debug_str' || name === '.debug_line_str') {
      while (stringSize > 0 && data[stringSize - 1] !== 0) stringSize--;
    }
    const out: DwarfSection = { name, elf: sec, data, view: dataViewOf(data), stringSize };
    this.loaded.set(name, out);
    return out;
  }

  /**
   * Any section's bytes after libdwfl's relocation of the whole file (what pahole's Elf
   * holds after dwfl_module_getelf, which relocates every section, not only debug ones).
   */
  relocatedData(sec: ElfSection): Uint8Array {
    let { data, copied } = sectionBytes(this.elf, sec, this.opts.source);
    if (this.elf.type !== ET_REL) return data;
    const relocs = this.elf.sections.filter((s) => (s.type === SHT_REL || s.type === SHT_RELA) && s.size !== 0 && s.info === sec.index);
    if (relocs.length === 0) return data;
    if (!copied) data = data.slice();
    const ctx = this.relocContext();
    // Code sections carry many types libdwfl does not apply (PC-relative, PLT, GOT...): skip, as it does.
    applyRelocations(this.elf, sec, data, { ...ctx, unknown: 'skip', relocSections: () => relocs });
    return data;
  }

  private overlapping: Set<number> | undefined;

  /** True when some other section's file bytes overlap this one's. */
  private sharesBytes(sec: ElfSection): boolean {
    if (this.overlapping === undefined) {
      this.overlapping = new Set();
      const ranges = this.elf.sections.filter((x) => x.index !== 0 && x.type !== SHT_NOBITS && x.size > 0).sort((a, b) => a.offset - b.offset);
      let reach: ElfSection | undefined; // the range seen so far that ends last
      for (const x of ranges) {
        if (reach !== undefined && x.offset < reach.offset + reach.size) {
          this.overlapping.add(x.index);
          this.overlapping.add(reach.index);
        }
        if (reach === undefined || x.offset + x.size > reach.offset + reach.size) reach = x;
      }
    }
    return this.overlapping.has(sec.index);
  }

  private scratchBuf: Uint8Array | undefined;

  private relocContext(): RelocContext {
    this.symbolCache ??= symbolValues(this.elf, this.opts.addresses);
    return {
      table: machineRelocs(this.elf.machine),
      unknown: this.opts.unknownRelocations ?? 'error',
      symbols: this.symbolCache,
      relocSections: (t) => this.relocSectionsFor(t),
      source: this.opts.source,
      scratch: (n) => {
        if (this.scratchBuf === undefined || this.scratchBuf.length < n) this.scratchBuf = new Uint8Array(n);
        return this.scratchBuf;
      },
    };
  }

  /** SHT_REL/SHT_RELA sections (non-empty) that apply to section `target`, in header order. */
  private relocSectionsFor(target: number): ElfSection[] {
    if (this.relocIndex === undefined) {
      this.relocIndex = new Map();
      for (const s of this.elf.sections) {
        if ((s.type !== SHT_REL && s.type !== SHT_RELA) || s.size === 0) continue;
        const t = this.elf.sections[s.info];
        if (t === undefined || relocTargetName(t.name) === undefined) continue;
        let list = this.relocIndex.get(s.info);
        if (list === undefined) this.relocIndex.set(s.info, (list = []));
        list.push(s);
      }
    }
    return this.relocIndex.get(target) ?? [];
  }
}

/**
 * A zero-filled buffer of `size` bytes whose untouched pages are not resident: allocated
 * larger than glibc's highest dynamic mmap threshold (32 MiB on 64-bit), so that calloc
 * always maps fresh pages for it and unmaps them when it is freed. A smaller one can come
 * from a malloc arena once an earlier buffer's free has raised the threshold, and calloc
 * zeroes (touches) every page of it: measured on xfs.ko in a worker thread, +22 MB peak RSS.
 */
function sparseBuffer(size: number): Uint8Array {
  const MMAPPED = (32 << 20) + 4096;
  return size >= MMAPPED ? new Uint8Array(size) : new Uint8Array(MMAPPED).subarray(0, size);
}

/** Relocation records between two entries of a WindowedSection's index. */
const MARK_STRIDE = 512;

/**
 * A relocated section read a range at a time into a section-sized buffer whose untouched
 * pages are never resident (lib/dwarf openDwarfFile's way of reading), for the largest
 * section a module has: .debug_info (xfs.ko: 24 MB, and 36 MB of relocation records).
 * `ensure(start, end)` reads that range from the file and applies the relocation records
 * that patch it; once the ranges held pass the budget, the next range goes into a fresh
 * buffer and the old one is left to the garbage collector, with the ranges it held.
 * Readers take `data` after ensure(): a buffer they already hold keeps its ranges intact.
 *
 * The ranges' relocations are found through an index of every MARK_STRIDE-th record's
 * offset, so the records must be in offset order (assemblers and ld -r write them so). A
 * section this cannot read exactly as DwarfSections.get would (compressed, several or REL
 * relocation sections, records out of order or outside the section) is not opened so.
 */
export class WindowedSection implements DwarfSection {
  readonly name = '.debug_info' as const;
  readonly elf: ElfSection;
  readonly stringSize: number;
  private buf: Uint8Array;
  private dv: DataView;
  /** Loaded ranges of `buf` as [start, end) pairs, and their total length. */
  private ranges: number[] = [];
  private held = 0;
  /** Called when a fresh buffer replaces `data`: let go of references to the old one. */
  onNewBuffer: (() => void) | undefined;
  /** The last range ensure() was asked for and found loaded. */
  private lastStart = 0;
  private lastEnd = 0;

  private constructor(
    private readonly file: ElfFile,
    sec: ElfSection,
    private readonly rs: ElfSection,
    private readonly source: ElfByteSource,
    private readonly context: () => RelocContext,
    private readonly budget: number,
    /** r_offset of records 0, MARK_STRIDE, 2 * MARK_STRIDE... */
    private readonly marks: Float64Array,
  ) {
    this.elf = sec;
    this.stringSize = sec.size;
    this.buf = sparseBuffer(sec.size);
    this.dv = dataViewOf(this.buf);
  }

  get data(): Uint8Array { return this.buf; }
  get view(): DataView { return this.dv; }

  /** The section windowed, or undefined when it must be read whole (see the class comment). */
  static open(elf: ElfFile, sec: ElfSection, relocs: readonly ElfSection[], source: ElfByteSource, context: () => RelocContext, budget: number): WindowedSection | undefined {
    if ((sec.flags & SHF_COMPRESSED) !== 0 || sec.name.startsWith('.zdebug') || sec.type === SHT_NOBITS || sec.size === 0) return undefined;
    if (relocs.length !== 1) return undefined;
    const rs = relocs[0] as ElfSection;
    if (rs.type !== SHT_RELA || (rs.flags & SHF_COMPRESSED) !== 0) return undefined;
    const entsize = elf.is64 ? 24 : 12;
    const count = Math.floor(rs.size / entsize);
    const marks = new Float64Array(Math.ceil(count / MARK_STRIDE));
    const le = elf.littleEndian;
    const perChunk = Math.max(MARK_STRIDE, Math.floor(RELOC_CHUNK / entsize));
    const scratch = new Uint8Array(Math.min(perChunk, count) * entsize);
    let prev = 0;
    for (let first = 0; first < count; first += perChunk) {
      const n = Math.min(perChunk, count - first);
      const rel = source.read(rs.offset + first * entsize, n * entsize, scratch);
      const dv = dataViewOf(rel);
      for (let i = 0; i < n; i++) {
        const at = i * entsize;
        const off = elf.is64 ? (dv.getUint32(le ? at + 4 : at, le) === 0 ? dv.getUint32(le ? at : at + 4, le) : Number.MAX_SAFE_INTEGER) : dv.getUint32(at, le);
        // Out of order, or outside the section: the whole-section path (and its errors).
        if (off < prev || off >= sec.size) return undefined;
        prev = off;
        if ((first + i) % MARK_STRIDE === 0) marks[(first + i) / MARK_STRIDE] = off;
      }
    }
    return new WindowedSection(elf, sec, rs, source, context, budget, marks);
  }

  /** Makes [start, end) of `data` the section's relocated bytes (a new `data` past the budget). */
  ensure(start: number, end: number): void {
    if (start >= this.lastStart && end <= this.lastEnd) return;
    const size = this.elf.size;
    const s = Math.max(0, start);
    const e = Math.min(size, end);
    if (e <= s) return;
    const r = this.ranges;
    for (let i = 0; i < r.length; i += 2) {
      if ((r[i] as number) <= s && e <= (r[i + 1] as number)) { this.lastStart = r[i] as number; this.lastEnd = r[i + 1] as number; return; }
    }
    if (this.held > 0 && this.held + (e - s) > this.budget) {
      this.buf = sparseBuffer(size);
      this.dv = dataViewOf(this.buf);
      this.ranges = [];
      this.held = 0;
      this.onNewBuffer?.();
    }
    this.source.read(this.elf.offset + s, e - s, this.buf.subarray(s, e));
    this.relocate(s, e);
    this.ranges.push(s, e);
    this.held += e - s;
    this.lastStart = s;
    this.lastEnd = e;
  }

  /** Applies the records whose r_offset is in [s, e), as applyRelocations would. */
  private relocate(s: number, e: number): void {
    const elf = this.file;
    const entsize = elf.is64 ? 24 : 12;
    const count = Math.floor(this.rs.size / entsize);
    // The last mark below s: records before it patch bytes before s.
    let lo = 0;
    let hi = this.marks.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >>> 1;
      if ((this.marks[mid] as number) < s) lo = mid;
      else hi = mid - 1;
    }
    // The first mark at or past e: records from it on patch bytes at or after e. Reading
    // only up to it keeps a unit header's 64 bytes from costing a whole chunk of records.
    let m = lo;
    let top = this.marks.length;
    while (m < top) {
      const mid = (m + top) >>> 1;
      if ((this.marks[mid] as number) < e) m = mid + 1;
      else top = mid;
    }
    const stop = Math.min(count, m * MARK_STRIDE);
    const ctx = this.context();
    const le = elf.littleEndian;
    const perChunk = Math.max(1, Math.floor(RELOC_CHUNK / entsize));
    for (let first = lo * MARK_STRIDE; first < stop;) {
      const n = Math.min(perChunk, stop - first);
      const rel = this.source.read(this.rs.offset + first * entsize, n * entsize, ctx.scratch(n * entsize));
      const dv = dataViewOf(rel);
      const offAt = (i: number): number => {
        const at = i * entsize;
        return elf.is64 ? dv.getUint32(le ? at : at + 4, le) : dv.getUint32(at, le);
      };
      let a = 0;
      while (a < n && offAt(a) < s) a++;
      let b = a;
      while (b < n && offAt(b) < e) b++;
      if (b > a) applyRecords(elf, this.elf, this.rs, this.buf, ctx, rel.subarray(a * entsize, b * entsize), first + a, b - a, entsize, true);
      if (b < n) return;
      first += n;
    }
  }
}
