/**
 * ELF identification and file header (Elf32_Ehdr / Elf64_Ehdr), plus the field
 * reader the section and symbol decoders share. Every read here happens only after
 * the whole record was range-checked, so DataView can never throw.
 */
import { dataViewOf } from '../bytes.js';
import { ElfFormatError, type ErrorContext } from '../errors.js';
import {
  EHDR32_SIZE,
  EHDR64_SIZE,
  EI_ABIVERSION,
  EI_CLASS,
  EI_DATA,
  EI_NIDENT,
  EI_OSABI,
  EI_VERSION,
  ELFCLASS32,
  ELFCLASS64,
  ELFDATA2LSB,
  ELFDATA2MSB,
  ELFMAG,
} from './constants.js';

/**
 * The file header with e_shnum, e_shstrndx and e_phnum already resolved through
 * section 0 when they overflow (gABI "extended numbering"); `rawShnum`,
 * `rawShstrndx` and `rawPhnum` keep what the header itself says.
 */
export interface ElfHeader {
  readonly class: number;
  readonly data: number;
  readonly identVersion: number;
  readonly osabi: number;
  readonly abiversion: number;
  readonly type: number;
  readonly machine: number;
  readonly version: number;
  /** e_entry; bigint because kernel addresses exceed 2^53. */
  readonly entry: bigint;
  readonly phoff: number;
  readonly shoff: number;
  readonly flags: number;
  readonly ehsize: number;
  readonly phentsize: number;
  readonly phnum: number;
  readonly shentsize: number;
  readonly shnum: number;
  readonly shstrndx: number;
  readonly rawPhnum: number;
  readonly rawShnum: number;
  readonly rawShstrndx: number;
}

/** Offsets of the Ehdr fields that differ between the classes. */
export interface EhdrLayout {
  readonly size: number;
  readonly type: number;
  readonly machine: number;
  readonly version: number;
  readonly entry: number;
  readonly phoff: number;
  readonly shoff: number;
  readonly flags: number;
  readonly ehsize: number;
  readonly phentsize: number;
  readonly phnum: number;
  readonly shentsize: number;
  readonly shnum: number;
  readonly shstrndx: number;
}

export const EHDR32: EhdrLayout = {
  size: EHDR32_SIZE, type: 16, machine: 18, version: 20, entry: 24, phoff: 28, shoff: 32,
  flags: 36, ehsize: 40, phentsize: 42, phnum: 44, shentsize: 46, shnum: 48, shstrndx: 50,
};

export const EHDR64: EhdrLayout = {
  size: EHDR64_SIZE, type: 16, machine: 18, version: 20, entry: 24, phoff: 32, shoff: 40,
  flags: 48, ehsize: 52, phentsize: 54, phnum: 56, shentsize: 58, shnum: 60, shstrndx: 62,
};

const TWO_32 = 2 ** 32;
/** Largest high word of a u64 that still fits a safe integer (2^53 - 1). */
const MAX_SAFE_HI = 0x1fffff;

/**
 * Typed reads at file offsets for one ELF's class and byte order. Callers range-check
 * the enclosing record first; the reader itself does not, to keep the hot loops cheap.
 */
export class ElfReader {
  readonly bytes: Uint8Array;
  readonly view: DataView;
  readonly littleEndian: boolean;
  readonly is64: boolean;
  readonly file: string | undefined;

  constructor(bytes: Uint8Array, littleEndian: boolean, is64: boolean, file: string | undefined) {
    this.bytes = bytes;
    this.view = dataViewOf(bytes);
    this.littleEndian = littleEndian;
    this.is64 = is64;
    this.file = file;
  }

  u8(off: number): number { return this.view.getUint8(off); }
  u16(off: number): number { return this.view.getUint16(off, this.littleEndian); }
  u32(off: number): number { return this.view.getUint32(off, this.littleEndian); }

  /** A u64 as a number; sizes and offsets past 2^53 cannot describe bytes we hold. */
  u64(off: number, what: string, code: string, context: ErrorContext): number {
    const hi = this.view.getUint32(this.littleEndian ? off + 4 : off, this.littleEndian);
    const lo = this.view.getUint32(this.littleEndian ? off : off + 4, this.littleEndian);
    if (hi > MAX_SAFE_HI) {
      throw this.error(code, `${what} 0x${((BigInt(hi) << 32n) | BigInt(lo)).toString(16)} is too large`, context);
    }
    return hi * TWO_32 + lo;
  }

  /** Elf32_Word/Off or Elf64_Xword/Off (class-sized) as a number. */
  word(off: number, what: string, code: string, context: ErrorContext): number {
    return this.is64 ? this.u64(off, what, code, context) : this.u32(off);
  }

  /** Elf32_Addr or Elf64_Addr, exact. */
  addr(off: number): bigint {
    return this.is64 ? this.view.getBigUint64(off, this.littleEndian) : BigInt(this.u32(off));
  }

  error(code: string, message: string, context: ErrorContext): ElfFormatError {
    return elfError(code, message, { ...context, file: this.file });
  }
}

/** Builds an ElfFormatError, dropping undefined context fields (exactOptionalPropertyTypes). */
export function elfError(code: string, message: string, context: { [K in keyof ErrorContext]?: ErrorContext[K] | undefined }): ElfFormatError {
  const clean: ErrorContext = {};
  if (context.file !== undefined) clean.file = context.file;
  if (context.section !== undefined) clean.section = context.section;
  if (context.offset !== undefined) clean.offset = context.offset;
  if (context.typeId !== undefined) clean.typeId = context.typeId;
  if (context.symbol !== undefined) clean.symbol = context.symbol;
  return new ElfFormatError(code, message, clean);
}

export interface IdentInfo {
  readonly is64: boolean;
  readonly littleEndian: boolean;
  readonly layout: EhdrLayout;
}

/** Checks e_ident and that the whole class-sized header is present. */
export function parseIdent(bytes: Uint8Array, file: string | undefined): IdentInfo {
  const n = Math.min(bytes.length, ELFMAG.length);
  for (let i = 0; i < n; i++) {
    if (bytes[i] !== ELFMAG[i]) {
      throw elfError('ELF_BAD_MAGIC', 'not an ELF file (bad magic)', { file, offset: i });
    }
  }
  if (bytes.length < EI_NIDENT) {
    throw elfError('ELF_TRUNCATED', `file of ${bytes.length} bytes is too short for e_ident (${EI_NIDENT} bytes)`, { file, offset: bytes.length });
  }
  const cls = bytes[EI_CLASS] as number;
  if (cls !== ELFCLASS32 && cls !== ELFCLASS64) {
    throw elfError('ELF_BAD_CLASS', `unknown ELF class ${cls}`, { file, offset: EI_CLASS });
  }
  const data = bytes[EI_DATA] as number;
  if (data !== ELFDATA2LSB && data !== ELFDATA2MSB) {
    throw elfError('ELF_BAD_DATA', `unknown ELF data encoding ${data}`, { file, offset: EI_DATA });
  }
  const is64 = cls === ELFCLASS64;
  const layout = is64 ? EHDR64 : EHDR32;
  if (bytes.length < layout.size) {
    throw elfError('ELF_TRUNCATED', `file of ${bytes.length} bytes is too short for the ${layout.size}-byte ELF header`, { file, offset: bytes.length });
  }
  return { is64, littleEndian: data === ELFDATA2LSB, layout };
}

/** Raw header fields, before extended numbering is resolved (that needs section 0). */
export type RawHeader = Omit<ElfHeader, 'phnum' | 'shnum' | 'shstrndx'>;

export function readRawHeader(r: ElfReader, layout: EhdrLayout): RawHeader {
  const b = r.bytes;
  return {
    class: b[EI_CLASS] as number,
    data: b[EI_DATA] as number,
    identVersion: b[EI_VERSION] as number,
    osabi: b[EI_OSABI] as number,
    abiversion: b[EI_ABIVERSION] as number,
    type: r.u16(layout.type),
    machine: r.u16(layout.machine),
    version: r.u32(layout.version),
    entry: r.addr(layout.entry),
    phoff: r.word(layout.phoff, 'e_phoff', 'ELF_BAD_HEADER', { offset: layout.phoff }),
    shoff: r.word(layout.shoff, 'e_shoff', 'ELF_BAD_HEADER', { offset: layout.shoff }),
    flags: r.u32(layout.flags),
    ehsize: r.u16(layout.ehsize),
    phentsize: r.u16(layout.phentsize),
    rawPhnum: r.u16(layout.phnum),
    shentsize: r.u16(layout.shentsize),
    rawShnum: r.u16(layout.shnum),
    rawShstrndx: r.u16(layout.shstrndx),
  };
}
