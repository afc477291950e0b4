/**
 * Bounds-checked little/big endian reads over a Uint8Array without copying. All
 * untrusted sizes and offsets go through `checkedRange`, so a truncated or corrupt
 * input becomes a typed error naming the offset instead of a RangeError from DataView.
 */
import type { ErrorContext, ModbtfError } from './errors.js';

export type ErrorFactory = (code: string, message: string, context: ErrorContext) => ModbtfError;

export function dataViewOf(bytes: Uint8Array): DataView {
  // byteOffset and byteLength both matter: Node Buffers are slices of a shared pool.
  return new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/** Throws unless [offset, offset+length) lies inside a buffer of `size` bytes. */
export function checkedRange(size: number, offset: number, length: number, what: string, fail: ErrorFactory, context: ErrorContext = {}): void {
  if (!Number.isSafeInteger(offset) || !Number.isSafeInteger(length) || offset < 0 || length < 0 || offset + length > size) {
    throw fail('OUT_OF_BOUNDS', `${what} at offset ${offset} (length ${length}) is outside the ${size}-byte buffer`, { ...context, offset });
  }
}

export function toSafeNumber(v: bigint, what: string, fail: ErrorFactory, context: ErrorContext = {}): number {
  if (v > BigInt(Number.MAX_SAFE_INTEGER)) {
    throw fail('VALUE_TOO_LARGE', `${what} 0x${v.toString(16)} is too large`, context);
  }
  return Number(v);
}

/** Reads a NUL-terminated string starting at `offset`; returns undefined if no NUL before `end`. */
export function readCString(bytes: Uint8Array, offset: number, end: number = bytes.length): string | undefined {
  const nul = bytes.indexOf(0, offset);
  if (nul < 0 || nul >= end) return undefined;
  return decodeString(bytes, offset, nul);
}

const utf8 = new TextDecoder('utf-8');

/**
 * Strings in BTF/ELF/DWARF are bytes. Very short ASCII names skip TextDecoder's overhead;
 * from 13 characters on, V8 builds `s += c` as a chain of cons strings (slower, and about
 * 30 bytes of heap per character until flattened), so those go through TextDecoder.
 */
export function decodeString(bytes: Uint8Array, start: number, end: number): string {
  if (end - start <= 12) {
    let s = '';
    for (let i = start; i < end; i++) {
      const c = bytes[i] as number;
      if (c >= 0x80) return utf8.decode(bytes.subarray(start, end));
      s += String.fromCharCode(c);
    }
    return s;
  }
  return utf8.decode(bytes.subarray(start, end));
}

/** Byte equality without copying (Buffer.from(uint8array) would copy both sides). */
export function bytesEqual(a: Uint8Array | undefined, b: Uint8Array | undefined): boolean {
  if (a === undefined || b === undefined) return a === b;
  if (a.length !== b.length) return false;
  return Buffer.compare(Buffer.from(a.buffer, a.byteOffset, a.length), Buffer.from(b.buffer, b.byteOffset, b.length)) === 0;
}
