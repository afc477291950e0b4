/**
 * Bounds-checked reads over one DWARF section: fixed-size integers in the file's byte
 * order, LEB128 as libdw decodes it, and C strings. Every read past `end` throws a
 * DwarfFormatError naming the section and offset, never a RangeError.
 *
 * LEB128 follows libdw (memory-access.h): at most 10 bytes are read and bits past the
 * 64th are dropped; a longer run of continuation bytes is malformed.
 */
import { decodeString } from '../bytes.js';
import { dwarfError } from './errors.js';
import type { DwarfSection } from './sections.js';

const TWO32 = 2 ** 32;
const MAX_SAFE_HI = 0x1fffff;

export class Cursor {
  sec: DwarfSection;
  bytes: Uint8Array;
  view: DataView;
  readonly le: boolean;
  readonly file: string | undefined;
  pos: number;
  end: number;
  /** DIE being read, for error context. */
  die: number | undefined;

  constructor(sec: DwarfSection, le: boolean, file: string | undefined, pos: number, end: number = sec.data.length) {
    this.sec = sec;
    this.bytes = sec.data;
    this.view = sec.view;
    this.le = le;
    this.file = file;
    this.pos = pos;
    this.end = Math.min(end, sec.data.length);
    this.die = undefined;
  }

  fail(code: string, message: string, at: number = this.pos): Error {
    return dwarfError(code, message, { file: this.file, section: this.sec.name, offset: at, die: this.die });
  }

  need(n: number, what: string): void {
    if (n < 0 || this.pos + n > this.end) {
      throw this.fail('DWARF_TRUNCATED', `${what} needs ${n} bytes at offset ${this.pos}, ${Math.max(0, this.end - this.pos)} left`);
    }
  }

  get left(): number { return this.end - this.pos; }

  u8(what = 'byte'): number {
    this.need(1, what);
    return this.bytes[this.pos++] as number;
  }
  u16(what = 'u16'): number {
    this.need(2, what);
    const v = this.view.getUint16(this.pos, this.le);
    this.pos += 2;
    return v;
  }
  u24(what = 'u24'): number {
    this.need(3, what);
    const b = this.bytes;
    const p = this.pos;
    this.pos += 3;
    return this.le
      ? (b[p] as number) | ((b[p + 1] as number) << 8) | ((b[p + 2] as number) << 16)
      : ((b[p] as number) << 16) | ((b[p + 1] as number) << 8) | (b[p + 2] as number);
  }
  u32(what = 'u32'): number {
    this.need(4, what);
    const v = this.view.getUint32(this.pos, this.le);
    this.pos += 4;
    return v;
  }
  i8(what = 'byte'): number {
    this.need(1, what);
    return this.view.getInt8(this.pos++);
  }
  i16(what = 'i16'): number {
    this.need(2, what);
    const v = this.view.getInt16(this.pos, this.le);
    this.pos += 2;
    return v;
  }
  i32(what = 'i32'): number {
    this.need(4, what);
    const v = this.view.getInt32(this.pos, this.le);
    this.pos += 4;
    return v;
  }
  u64(what = 'u64'): bigint {
    this.need(8, what);
    const v = this.view.getBigUint64(this.pos, this.le);
    this.pos += 8;
    return v;
  }
  i64(what = 'i64'): bigint {
    this.need(8, what);
    const v = this.view.getBigInt64(this.pos, this.le);
    this.pos += 8;
    return v;
  }
  /** A u64 that must fit a safe integer (offsets and sizes). */
  u64n(what = 'u64'): number {
    this.need(8, what);
    const lo = this.view.getUint32(this.le ? this.pos : this.pos + 4, this.le);
    const hi = this.view.getUint32(this.le ? this.pos + 4 : this.pos, this.le);
    if (hi > MAX_SAFE_HI) throw this.fail('DWARF_VALUE_TOO_LARGE', `${what} 0x${((BigInt(hi) << 32n) | BigInt(lo)).toString(16)} is too large`);
    this.pos += 8;
    return hi * TWO32 + lo;
  }
  /** An offset of the unit's offset size (4 or 8 bytes). */
  offset(size: number, what = 'offset'): number {
    return size === 8 ? this.u64n(what) : this.u32(what);
  }
  /** An unsigned value of `size` bytes (1, 2, 4 or 8), exact. */
  uint(size: number, what = 'value'): bigint {
    switch (size) {
      case 1: return BigInt(this.u8(what));
      case 2: return BigInt(this.u16(what));
      case 4: return BigInt(this.u32(what));
      case 8: return this.u64(what);
      default: throw this.fail('DWARF_BAD_SIZE', `${what} has unsupported size ${size}`);
    }
  }
  /** An address of `size` bytes (4 or 8). */
  addr(size: number, what = 'address'): bigint {
    if (size === 8) return this.u64(what);
    if (size === 4) return BigInt(this.u32(what));
    throw this.fail('DWARF_BAD_SIZE', `address size ${size} is not 4 or 8`);
  }

  /** ULEB128 as a safe integer; larger values are an error (use ulebBig for constants). */
  uleb(what = 'ULEB128'): number {
    const b = this.bytes;
    let p = this.pos;
    if (p < this.end) {
      const c = b[p] as number;
      if (c < 0x80) { this.pos = p + 1; return c; }
    }
    const start = p;
    let v = 0;
    let mul = 1;
    for (let i = 0; i < 10; i++) {
      if (p >= this.end) throw this.fail('DWARF_TRUNCATED', `${what} runs past the end of its data`, start);
      const c = b[p++] as number;
      v += (c & 0x7f) * mul;
      if (c < 0x80) {
        if (!Number.isSafeInteger(v)) { this.pos = start; return this.tooLarge(what, start); }
        this.pos = p;
        return v;
      }
      mul *= 128;
    }
    throw this.fail('DWARF_BAD_LEB128', `${what} is longer than 10 bytes`, start);
  }

  private tooLarge(what: string, start: number): never {
    const v = this.ulebBig(what);
    throw this.fail('DWARF_VALUE_TOO_LARGE', `${what} 0x${v.toString(16)} is too large`, start);
  }

  /** ULEB128 as libdw's get_uleb128: 64-bit, higher bits dropped. */
  ulebBig(what = 'ULEB128'): bigint {
    const b = this.bytes;
    let p = this.pos;
    const start = p;
    let v = 0n;
    for (let i = 0; i < 10; i++) {
      if (p >= this.end) throw this.fail('DWARF_TRUNCATED', `${what} runs past the end of its data`, start);
      const c = b[p++] as number;
      v |= BigInt(c & 0x7f) << BigInt(i * 7);
      if (c < 0x80) { this.pos = p; return BigInt.asUintN(64, v); }
    }
    throw this.fail('DWARF_BAD_LEB128', `${what} is longer than 10 bytes`, start);
  }

  /** SLEB128 as libdw's get_sleb128: a signed 64-bit value. */
  slebBig(what = 'SLEB128'): bigint {
    const b = this.bytes;
    let p = this.pos;
    const start = p;
    let v = 0n;
    for (let i = 0; i < 10; i++) {
      if (p >= this.end) throw this.fail('DWARF_TRUNCATED', `${what} runs past the end of its data`, start);
      const c = b[p++] as number;
      v |= BigInt(c & 0x7f) << BigInt(i * 7);
      if (c < 0x80) {
        this.pos = p;
        const bits = (i + 1) * 7;
        if (bits < 64 && (c & 0x40) !== 0) v -= 1n << BigInt(bits);
        return BigInt.asIntN(64, v);
      }
    }
    throw this.fail('DWARF_BAD_LEB128', `${what} is longer than 10 bytes`, start);
  }

  /** SLEB128 as a number; values outside the safe range are an error. */
  sleb(what = 'SLEB128'): number {
    const b = this.bytes;
    const p = this.pos;
    if (p < this.end) {
      const c = b[p] as number;
      if (c < 0x80) { this.pos = p + 1; return (c & 0x40) !== 0 ? c - 0x80 : c; }
    }
    const v = this.slebBig(what);
    if (v > BigInt(Number.MAX_SAFE_INTEGER) || v < BigInt(Number.MIN_SAFE_INTEGER)) {
      throw this.fail('DWARF_VALUE_TOO_LARGE', `${what} ${v} is too large`, p);
    }
    return Number(v);
  }

  /** Skips one LEB128 (either signedness). */
  skipLeb(what = 'LEB128'): void {
    const b = this.bytes;
    let p = this.pos;
    const start = p;
    for (let i = 0; i < 10; i++) {
      if (p >= this.end) throw this.fail('DWARF_TRUNCATED', `${what} runs past the end of its data`, start);
      if (((b[p++] as number) & 0x80) === 0) { this.pos = p; return; }
    }
    throw this.fail('DWARF_BAD_LEB128', `${what} is longer than 10 bytes`, start);
  }

  /** A NUL-terminated string inside [pos, end). */
  cstr(what = 'string'): string {
    const nul = this.bytes.indexOf(0, this.pos);
    if (nul < 0 || nul >= this.end) throw this.fail('DWARF_TRUNCATED', `${what} is not NUL-terminated before the end of its data`);
    const s = decodeString(this.bytes, this.pos, nul);
    this.pos = nul + 1;
    return s;
  }

  bytesOf(n: number, what = 'block'): Uint8Array {
    this.need(n, what);
    const v = this.bytes.subarray(this.pos, this.pos + n);
    this.pos += n;
    return v;
  }
}

/** A C string at `off` in a string section (libdw: only inside stringSize). */
export function sectionString(sec: DwarfSection, off: number): string | undefined {
  if (off < 0 || off >= sec.stringSize) return undefined;
  const d = sec.data;
  // A loop beats indexOf for the short names DWARF holds; stringSize guarantees a NUL ahead.
  let nul = off;
  while (d[nul] !== 0) nul++;
  return decodeString(d, off, nul);
}
