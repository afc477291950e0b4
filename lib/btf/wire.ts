/**
 * On-disk layout of BTF: `struct btf_header` and the packed `info` word of
 * `struct btf_type`, as include/uapi/linux/btf.h of kernel 7.2 and later defines them
 * (the 7.2.13 vmlinux BTF itself says so: `struct btf_header` is 32 bytes, enum btf_max
 * has BTF_MAX_KIND 127 and BTF_MAX_VLEN 0xffffff; 6.12's header is 24 bytes):
 *
 *  - info: kind_flag (bit 31), kind (bits 24..30, 7 bits), vlen (bits 0..23, 24 bits).
 *    Kernels up to 6.x (and libbpf up to 1.7) read 5 bits of kind and 16 of vlen; no BTF
 *    those tools write has the other bits set, so one reading serves both. Validation
 *    (validate.ts) says which kernel refuses which bits.
 *  - header: magic..str_len (24 bytes), then layout_off/layout_len (32 bytes in all). The
 *    header is read through `hdr_len`, never assumed to be 24 or 32 bytes: the fields
 *    modbtf understands are decoded, and every byte past the first 24 is kept as it is
 *    (`extra`) so a rewrite reproduces the header.
 *  - the optional layout section (`struct btf_layout` per kind: info_sz, elem_sz, flags)
 *    sits between the types and the strings; libbpf sizes records of kinds it does not
 *    know with it (btf_type_size_unknown), and so does Btf.parse.
 *
 * Every reading of kind and vlen in modbtf goes through infoKind/infoVlen (and the
 * tables indexed by kind have BTF_KIND_SLOTS entries), so the bit layout lives here only.
 */
export const BTF_MAGIC = 0xeb9f;
export const BTF_VERSION = 1;
/** Size of the original header fields (magic..str_len): what kernels up to 6.x and libbpf up to 1.7 know. */
export const BTF_HEADER_MIN = 24;
/** sizeof(struct btf_header) with layout_off/layout_len (kernel 7.2 on, libbpf 1.8). */
export const BTF_HEADER_LAYOUT = 32;
export const BTF_TYPE_COMMON = 12;
/** sizeof(struct btf_layout): u8 info_sz, u8 elem_sz, u16 flags. */
export const BTF_LAYOUT_ENTRY = 4;

/** libbpf/kernel limits (include/uapi/linux/btf.h, enum btf_max). */
export const BTF_MAX_TYPE = 0x000fffff;
export const BTF_MAX_NAME_OFFSET = 0x00ffffff;
export const BTF_MAX_VLEN = 0x00ffffff;
export const BTF_MAX_KIND = 0x7f;
/** Number of kind values the info word can hold: the size of every table indexed by kind. */
export const BTF_KIND_SLOTS = BTF_MAX_KIND + 1;
/**
 * The bits of `info` kernels up to 6.x define: kflag (31), kind (24..28), vlen (0..15);
 * their btf_check_meta() refuses a type with any other bit set ("Invalid btf_info").
 * Kernels from 7.2 on use every bit.
 */
export const BTF_INFO_MASK_6X = 0x9f00ffff;

export interface BtfHeader {
  magic: number;
  version: number;
  flags: number;
  hdrLen: number;
  typeOff: number;
  typeLen: number;
  strOff: number;
  strLen: number;
  /** layout_off/layout_len; both 0 when hdr_len < 32 (the fields are then not in the header). */
  layoutOff: number;
  layoutLen: number;
  /** Header bytes past the first 24 (layout_off, layout_len, anything newer), verbatim. */
  extra: Uint8Array;
}

export function infoKind(info: number): number { return (info >>> 24) & 0x7f; }
export function infoVlen(info: number): number { return info & 0xffffff; }
export function infoKflag(info: number): boolean { return (info >>> 31) === 1; }
/** The kind from the high byte of `info` alone (kflag is its top bit). */
export function infoByteKind(highByte: number): number { return highByte & 0x7f; }
/** The info word; kind and vlen beyond their fields are a caller's bug, refused rather than truncated. */
export function makeInfo(kind: number, vlen: number, kflag: boolean): number {
  if (!(kind >= 0 && kind <= BTF_MAX_KIND && vlen >= 0 && vlen <= BTF_MAX_VLEN)) {
    throw new RangeError(`BTF info: kind ${kind} or vlen ${vlen} out of range (kind <= ${BTF_MAX_KIND}, vlen <= ${BTF_MAX_VLEN})`);
  }
  return ((kflag ? 0x80000000 : 0) | (kind << 24) | vlen) >>> 0;
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
