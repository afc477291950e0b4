/**
 * On-disk layout of BTF: `struct btf_header` and the packed `info` word of
 * `struct btf_type`. The header is read through `hdr_len`, not assumed to be 24
 * bytes: newer kernels append fields, and those bytes are kept so a rewrite can
 * reproduce them.
 */
export const BTF_MAGIC = 0xeb9f;
export const BTF_VERSION = 1;
/** Size of the header fields modbtf understands (magic..str_len). */
export const BTF_HEADER_MIN = 24;
export const BTF_TYPE_COMMON = 12;

/** libbpf/kernel limits (include/linux/btf.h, include/uapi/linux/btf.h). */
export const BTF_MAX_TYPE = 0x000fffff;
export const BTF_MAX_NAME_OFFSET = 0x00ffffff;
export const BTF_MAX_VLEN = 0xffff;
/** Bits of `info` the 6.x kernels define: kflag (31), kind (24..28), vlen (0..15). */
export const BTF_INFO_MASK = 0x9f00ffff;

export interface BtfHeader {
  magic: number;
  version: number;
  flags: number;
  hdrLen: number;
  typeOff: number;
  typeLen: number;
  strOff: number;
  strLen: number;
  /** Header bytes past the 24 modbtf understands (e.g. layout_off/layout_len), verbatim. */
  extra: Uint8Array;
}

export function infoKind(info: number): number { return (info >>> 24) & 0x1f; }
export function infoVlen(info: number): number { return info & 0xffff; }
export function infoKflag(info: number): boolean { return (info >>> 31) === 1; }
export function makeInfo(kind: number, vlen: number, kflag: boolean): number {
  return ((kflag ? 0x80000000 : 0) | ((kind & 0x1f) << 24) | (vlen & 0xffff)) >>> 0;
}

/** INT's extra u32: encoding (24..27), offset (16..23), bits (0..7). */
export function intEncoding(v: number): number { return (v >>> 24) & 0x0f; }
export function intOffset(v: number): number { return (v >>> 16) & 0xff; }
export function intBits(v: number): number { return v & 0xff; }
export function makeIntData(encoding: number, offset: number, bits: number): number {
  return (((encoding & 0x0f) << 24) | ((offset & 0xff) << 16) | (bits & 0xff)) >>> 0;
}

/** Member offset with kflag set: bitfield size (24..31), bit offset (0..23). */
export function memberBitfieldSize(offset: number, kflag: boolean): number { return kflag ? offset >>> 24 : 0; }
export function memberBitOffset(offset: number, kflag: boolean): number { return kflag ? offset & 0xffffff : offset; }

/**
 * The blob as host-order 32-bit words (type records are 4-byte aligned within it): a view
 * when the blob is 4-byte aligned in its buffer, else an aligned copy. The copy is made
 * explicitly: a section of a module read from disk is a Node Buffer, whose slice() is a
 * view into the whole file, not a copy.
 */
export function blobWords(bytes: Uint8Array): Uint32Array {
  if (bytes.byteOffset % 4 === 0) return new Uint32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength >>> 2);
  const copy = new Uint8Array(bytes.byteLength & ~3);
  copy.set(bytes.subarray(0, copy.length));
  return new Uint32Array(copy.buffer);
}
