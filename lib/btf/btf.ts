/**
 * A parsed BTF blob, indexed but not decoded: the raw bytes stay shared and one
 * Uint32Array maps each type id to its record offset, so vmlinux (110k+ types)
 * parses in a single pass and types are decoded only when asked for.
 *
 * Ids and string offsets of split BTF continue from its base, as in libbpf:
 * `startId` is the base's type count (ids 0..startId-1 live in the base) and
 * `startStrOff` is the base's string section length (plus the base's own start).
 */
import { BtfFormatError, type ErrorContext } from '../errors.js';
import { dataViewOf, decodeString } from '../bytes.js';
import { BtfKind, kindName } from './kinds.js';
import { RECORD_ENTRY, RECORD_FIXED } from './fields.js';
import {
  BTF_HEADER_LAYOUT, BTF_HEADER_MIN, BTF_LAYOUT_ENTRY, BTF_MAGIC, BTF_MAX_TYPE, BTF_TYPE_COMMON, BTF_VERSION,
  infoKind, infoVlen, type BtfHeader,
} from './wire.js';
import type {
  BtfEnum64Value, BtfEnumValue, BtfMember, BtfParam, BtfType, BtfVarSecinfo,
} from './types.js';

export interface ParseBtfOptions {
  /** Base BTF for split BTF (module .BTF over vmlinux, or over a distilled base). */
  base?: Btf;
  /** Where the bytes came from, for error messages. */
  file?: string;
  section?: string;
}

const HOST_LE = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

function fail(code: string, message: string, ctx: ErrorContext): BtfFormatError {
  return new BtfFormatError(code, message, ctx);
}

export class Btf {
  readonly bytes: Uint8Array;
  readonly header: BtfHeader;
  readonly littleEndian: boolean;
  readonly base: Btf | undefined;
  readonly startId: number;
  readonly startStrOff: number;
  /** typeOffsets[i] is the byte offset (from the blob start) of type startId+i. */
  readonly typeOffsets: Uint32Array;
  readonly source: { file?: string; section?: string };
  /** Offset of the string section within `bytes`. */
  readonly strStart: number;
  /**
   * The layout section (one 4-byte `struct btf_layout` per kind: info_sz, elem_sz, flags),
   * a view into `bytes`; undefined when the header has none.
   */
  readonly layout: Uint8Array | undefined;
  /** How many own types are of kinds modbtf does not know, sized by a layout section. */
  readonly unknownKindCount: number;
  private readonly view: DataView;
  private nameIndex: { heads: Int32Array; next: Int32Array; hashes: Int32Array; mask: number } | undefined;
  private readonly strCache = new Map<number, string>();

  private constructor(bytes: Uint8Array, header: BtfHeader, le: boolean, base: Btf | undefined, typeOffsets: Uint32Array, source: { file?: string; section?: string }, unknownKindCount: number) {
    this.bytes = bytes;
    this.header = header;
    this.littleEndian = le;
    this.base = base;
    this.startId = base ? base.typeCount : 1;
    this.startStrOff = base ? base.startStrOff + base.header.strLen : 0;
    this.typeOffsets = typeOffsets;
    this.source = source;
    this.view = dataViewOf(bytes);
    this.strStart = header.hdrLen + header.strOff;
    const layoutStart = header.hdrLen + header.layoutOff;
    this.layout = header.layoutLen > 0 ? bytes.subarray(layoutStart, layoutStart + header.layoutLen) : undefined;
    this.unknownKindCount = unknownKindCount;
  }

  static parse(bytes: Uint8Array, opts: ParseBtfOptions = {}): Btf {
    const source: { file?: string; section?: string } = {};
    if (opts.file !== undefined) source.file = opts.file;
    if (opts.section !== undefined) source.section = opts.section;
    const ctx = (offset: number, typeId?: number): ErrorContext => {
      const c: ErrorContext = { ...source, offset };
      if (typeId !== undefined) c.typeId = typeId;
      return c;
    };
    if (bytes.length < BTF_HEADER_MIN) {
      throw fail('BTF_TRUNCATED', `BTF header not found: ${bytes.length} bytes is shorter than the ${BTF_HEADER_MIN}-byte header`, ctx(0));
    }
    const dv = dataViewOf(bytes);
    let le: boolean;
    if (dv.getUint16(0, true) === BTF_MAGIC) le = true;
    else if (dv.getUint16(0, false) === BTF_MAGIC) le = false;
    else throw fail('BTF_BAD_MAGIC', `invalid BTF magic 0x${dv.getUint16(0, true).toString(16)} (expected 0xeb9f)`, ctx(0));
    const version = dv.getUint8(2);
    const flags = dv.getUint8(3);
    const hdrLen = dv.getUint32(4, le);
    if (version !== BTF_VERSION) throw fail('BTF_BAD_HEADER', `unsupported BTF version ${version}`, ctx(2));
    if (flags !== 0) throw fail('BTF_BAD_HEADER', `unsupported BTF flags 0x${flags.toString(16)}`, ctx(3));
    if (hdrLen < BTF_HEADER_MIN) throw fail('BTF_BAD_HEADER', `BTF header len ${hdrLen} is shorter than ${BTF_HEADER_MIN}`, ctx(4));
    if (hdrLen > bytes.length) throw fail('BTF_BAD_HEADER', `BTF header len ${hdrLen} larger than data size ${bytes.length}`, ctx(4));
    // layout_off/layout_len exist only in a header of at least 32 bytes (the kernel reads
    // them only then; a 24..31-byte header's extra bytes are kept, not interpreted).
    const hasLayoutFields = hdrLen >= BTF_HEADER_LAYOUT;
    const header: BtfHeader = {
      magic: BTF_MAGIC,
      version,
      flags,
      hdrLen,
      typeOff: dv.getUint32(8, le),
      typeLen: dv.getUint32(12, le),
      strOff: dv.getUint32(16, le),
      strLen: dv.getUint32(20, le),
      layoutOff: hasLayoutFields ? dv.getUint32(24, le) : 0,
      layoutLen: hasLayoutFields ? dv.getUint32(28, le) : 0,
      extra: bytes.subarray(BTF_HEADER_MIN, hdrLen),
    };
    const dataLen = bytes.length - hdrLen;
    const { typeOff, typeLen, strOff, strLen, layoutOff, layoutLen } = header;
    if (typeOff % 4 !== 0) throw fail('BTF_BAD_HEADER', `unaligned type section offset ${typeOff}`, ctx(8));
    const overlap = typeLen > 0 && strLen > 0 && typeOff < strOff + strLen && strOff < typeOff + typeLen;
    if (typeOff + typeLen > dataLen || strOff + strLen > dataLen || overlap) {
      throw fail('BTF_BAD_HEADER', `invalid BTF data sections layout: type data at ${typeOff} + ${typeLen}, strings data at ${strOff} + ${strLen}, data size ${dataLen}`, ctx(8));
    }
    if (layoutLen !== 0) {
      // libbpf's btf_parse_hdr and btf_parse_layout_sec: the layout section sits, aligned,
      // between the end of the types and the start of the strings.
      if (layoutOff % 4 !== 0) throw fail('BTF_BAD_HEADER', `BTF layout section is not aligned to 4 bytes (layout_off ${layoutOff})`, ctx(24));
      if (layoutOff < typeOff + typeLen) {
        throw fail('BTF_BAD_HEADER', `invalid BTF data sections layout: type data at ${typeOff} + ${typeLen}, layout data at ${layoutOff} + ${layoutLen}`, ctx(24));
      }
      if (layoutOff + layoutLen > strOff) {
        throw fail('BTF_BAD_HEADER', `invalid BTF data sections layout: layout data at ${layoutOff} + ${layoutLen}, strings data at ${strOff}`, ctx(24));
      }
      if (layoutLen % BTF_LAYOUT_ENTRY !== 0) throw fail('BTF_BAD_HEADER', `invalid BTF kind layout section: length ${layoutLen} is not a multiple of ${BTF_LAYOUT_ENTRY}`, ctx(28));
    }
    const base = opts.base;
    if (base) {
      if (base.littleEndian !== le) throw fail('BTF_BAD_BASE', `split BTF is ${le ? 'little' : 'big'} endian but its base is not`, ctx(0));
    }
    // String section: NUL-terminated; a standalone BTF must start with the empty string.
    const strStart = hdrLen + strOff;
    if (!(base && strLen === 0)) {
      if (strLen === 0 || bytes[strStart + strLen - 1] !== 0) {
        throw fail('BTF_BAD_STRINGS', 'invalid BTF string section: it must end with a NUL byte', ctx(strStart + Math.max(strLen - 1, 0)));
      }
      if (!base && bytes[strStart] !== 0) {
        throw fail('BTF_BAD_STRINGS', 'malformed BTF string section: it does not start with an empty string (split BTF without its base?)', ctx(strStart));
      }
    }
    // One pass over the type section to index record offsets.
    const typesStart = hdrLen + typeOff;
    const typesEnd = typesStart + typeLen;
    const startId = base ? base.typeCount : 1;
    // Every record is at least 12 bytes, so the index never needs to grow.
    const offsets = new Uint32Array(((typeLen / BTF_TYPE_COMMON) | 0) + 1);
    let n = 0;
    let off = typesStart;
    // Host-order data at an aligned offset: read the info words without DataView.
    const words = le === HOST_LE && (bytes.byteOffset + typesStart) % 4 === 0 ? new Uint32Array(bytes.buffer, bytes.byteOffset + typesStart, typeLen >>> 2) : undefined;
    // Kinds modbtf does not know are sized as libbpf's btf_type_size_unknown() sizes them:
    // by this BTF's layout section, else by its base's (they share one).
    const layoutStart = hdrLen + layoutOff;
    const layoutHolder = layoutLen !== 0 ? { bytes, start: layoutStart, count: layoutLen / BTF_LAYOUT_ENTRY } : base?.layoutRef();
    let unknown = 0;
    while (off < typesEnd) {
      if (off + BTF_TYPE_COMMON > typesEnd) throw fail('BTF_TRUNCATED', `type section truncated: ${typesEnd - off} bytes left for a ${BTF_TYPE_COMMON}-byte btf_type`, ctx(off, startId + n));
      const info = words !== undefined ? (words[((off - typesStart) >>> 2) + 1] as number) : dv.getUint32(off + 4, le);
      const kind = infoKind(info);
      const fixed = RECORD_FIXED[kind] as number;
      let size: number;
      if (fixed >= 0) {
        size = BTF_TYPE_COMMON + fixed + (RECORD_ENTRY[kind] as number) * infoVlen(info);
      } else {
        size = unknownKindSize(layoutHolder, kind, infoVlen(info), (msg) => fail('BTF_BAD_KIND', msg, ctx(off + 4, startId + n)));
        unknown++;
      }
      if (off + size > typesEnd) throw fail('BTF_TRUNCATED', `type section truncated: ${kindName(kind)} needs ${size} bytes, ${typesEnd - off} left`, ctx(off, startId + n));
      offsets[n++] = off;
      off += size;
    }
    if (startId + n - 1 > BTF_MAX_TYPE) throw fail('BTF_TOO_MANY_TYPES', `${startId + n - 1} types exceed the BTF maximum of ${BTF_MAX_TYPE}`, ctx(typesStart));
    return new Btf(bytes, header, le, base, offsets.subarray(0, n), source, unknown);
  }

  /** Where the layout section libbpf would size this BTF's unknown kinds with lives (own, else the base's). */
  private layoutRef(): LayoutRef | undefined {
    if (this.header.layoutLen !== 0) return { bytes: this.bytes, start: this.header.hdrLen + this.header.layoutOff, count: this.header.layoutLen / BTF_LAYOUT_ENTRY };
    return undefined;
  }

  /** Bytes of type `id`'s record, common part included, as the parse sized it. */
  recordSize(id: number): number {
    const b = this.owner(id);
    const i = id - b.startId;
    const off = b.recordOffset(id);
    const end = i + 1 < b.typeOffsets.length ? (b.typeOffsets[i + 1] as number) : b.header.hdrLen + b.header.typeOff + b.header.typeLen;
    return end - off;
  }

  /** Types held in this blob (not counting the base). */
  get ownTypeCount(): number { return this.typeOffsets.length; }
  /** libbpf's btf__type_cnt(): valid ids are 0 .. typeCount-1. */
  get typeCount(): number { return this.startId + this.typeOffsets.length; }
  /** The own string section (for split BTF, offset 0 here is startStrOff overall). */
  get strings(): Uint8Array { return this.bytes.subarray(this.strStart, this.strStart + this.header.strLen); }
  get typesBytes(): Uint8Array {
    const s = this.header.hdrLen + this.header.typeOff;
    return this.bytes.subarray(s, s + this.header.typeLen);
  }
  /** The whole BTF including its base's string section, as libbpf counts it. */
  get totalStrLen(): number { return this.startStrOff + this.header.strLen; }

  hasType(id: number): boolean { return Number.isInteger(id) && id >= 0 && id < this.typeCount; }

  private owner(id: number): Btf {
    let b: Btf = this;
    while (id < b.startId) {
      if (!b.base) break;
      b = b.base;
    }
    return b;
  }

  /** Record offset in `owner(id).bytes`; throws for ids out of range. */
  private recordOffset(id: number): number {
    const i = id - this.startId;
    const off = this.typeOffsets[i];
    if (off === undefined || i < 0) {
      throw fail('BTF_BAD_TYPE_ID', `type id ${id} is out of range (valid: 1..${this.typeCount - 1})`, { ...this.source, typeId: id });
    }
    return off;
  }

  info(id: number): number {
    if (id === 0) return 0;
    const b = this.owner(id);
    return b.view.getUint32(b.recordOffset(id) + 4, b.littleEndian);
  }
  kind(id: number): BtfKind { return infoKind(this.info(id)) as BtfKind; }
  vlen(id: number): number { return infoVlen(this.info(id)); }
  nameOff(id: number): number {
    if (id === 0) return 0;
    const b = this.owner(id);
    return b.view.getUint32(b.recordOffset(id), b.littleEndian);
  }
  /** The size/type union of `struct btf_type`. */
  sizeOrType(id: number): number {
    if (id === 0) return 0;
    const b = this.owner(id);
    return b.view.getUint32(b.recordOffset(id) + 8, b.littleEndian);
  }
  name(id: number): string { return this.str(this.nameOff(id)); }

  /** String at a (split-aware) offset; undefined when the offset is not inside any table. */
  strOrUndefined(off: number): string | undefined {
    if (off < this.startStrOff) return this.base?.strOrUndefined(off);
    const rel = off - this.startStrOff;
    if (rel >= this.header.strLen) return undefined;
    const cached = this.strCache.get(rel);
    if (cached !== undefined) return cached;
    const start = this.strStart + rel;
    const nul = this.bytes.indexOf(0, start);
    const end = this.strStart + this.header.strLen;
    if (nul < 0 || nul >= end) return undefined;
    const s = decodeString(this.bytes, start, nul);
    this.strCache.set(rel, s);
    return s;
  }

  str(off: number): string {
    const s = this.strOrUndefined(off);
    if (s === undefined) {
      // The byte offset points where the string would be, past (or outside) the table.
      const owner = off < this.startStrOff && this.base ? this.base : this;
      const at = owner.strStart + Math.max(0, off - owner.startStrOff);
      throw fail('BTF_BAD_STRING', `invalid string offset ${off} (string section ends at ${this.totalStrLen})`, { ...this.source, offset: at });
    }
    return s;
  }

  /**
   * The string at `off` with one char per byte (latin1), for comparisons that must
   * follow strcmp() on the raw bytes; throws like str() for a bad offset.
   */
  latin1Str(off: number): string {
    if (off < this.startStrOff) {
      if (this.base) return this.base.latin1Str(off);
    } else {
      const rel = off - this.startStrOff;
      const start = this.strStart + rel;
      const end = this.strStart + this.header.strLen;
      const nul = rel < this.header.strLen ? this.bytes.indexOf(0, start) : -1;
      if (nul >= 0 && nul < end) return Buffer.from(this.bytes.buffer, this.bytes.byteOffset + start, nul - start).toString('latin1');
    }
    this.str(off);
    return '';
  }

  /** Decode one type. Id 0 is void. */
  type(id: number): BtfType {
    if (id === 0) return { kind: BtfKind.Unkn, id: 0, nameOff: 0, info: 0 };
    const b = this.owner(id);
    const off = b.recordOffset(id);
    return b.decodeAt(id, off);
  }

  private decodeAt(id: number, off: number): BtfType {
    const dv = this.view;
    const le = this.littleEndian;
    const nameOff = dv.getUint32(off, le);
    const info = dv.getUint32(off + 4, le);
    const st = dv.getUint32(off + 8, le);
    const kind = infoKind(info);
    const vlen = infoVlen(info);
    const p = off + BTF_TYPE_COMMON;
    switch (kind) {
      case BtfKind.Int: return { id, nameOff, info, kind, size: st, intData: dv.getUint32(p, le) };
      case BtfKind.Ptr:
      case BtfKind.Typedef:
      case BtfKind.Volatile:
      case BtfKind.Const:
      case BtfKind.Restrict:
      case BtfKind.Func:
      case BtfKind.TypeTag:
        return { id, nameOff, info, kind, type: st };
      case BtfKind.Array:
        return { id, nameOff, info, kind, size: st, elemType: dv.getUint32(p, le), indexType: dv.getUint32(p + 4, le), nelems: dv.getUint32(p + 8, le) };
      case BtfKind.Struct:
      case BtfKind.Union: {
        const members: BtfMember[] = new Array<BtfMember>(vlen);
        for (let i = 0; i < vlen; i++) {
          const q = p + i * 12;
          members[i] = { nameOff: dv.getUint32(q, le), type: dv.getUint32(q + 4, le), offset: dv.getUint32(q + 8, le) };
        }
        return { id, nameOff, info, kind, size: st, members };
      }
      case BtfKind.Enum: {
        const values: BtfEnumValue[] = new Array<BtfEnumValue>(vlen);
        for (let i = 0; i < vlen; i++) {
          const q = p + i * 8;
          values[i] = { nameOff: dv.getUint32(q, le), val: dv.getUint32(q + 4, le) };
        }
        return { id, nameOff, info, kind, size: st, values };
      }
      case BtfKind.Fwd:
      case BtfKind.Float:
        return { id, nameOff, info, kind, size: st };
      case BtfKind.FuncProto: {
        const params: BtfParam[] = new Array<BtfParam>(vlen);
        for (let i = 0; i < vlen; i++) {
          const q = p + i * 8;
          params[i] = { nameOff: dv.getUint32(q, le), type: dv.getUint32(q + 4, le) };
        }
        return { id, nameOff, info, kind, type: st, params };
      }
      case BtfKind.Var: return { id, nameOff, info, kind, type: st, linkage: dv.getUint32(p, le) };
      case BtfKind.Datasec: {
        const vars: BtfVarSecinfo[] = new Array<BtfVarSecinfo>(vlen);
        for (let i = 0; i < vlen; i++) {
          const q = p + i * 12;
          vars[i] = { type: dv.getUint32(q, le), offset: dv.getUint32(q + 4, le), size: dv.getUint32(q + 8, le) };
        }
        return { id, nameOff, info, kind, size: st, vars };
      }
      case BtfKind.DeclTag: return { id, nameOff, info, kind, type: st, componentIdx: dv.getInt32(p, le) };
      case BtfKind.Enum64: {
        const values: BtfEnum64Value[] = new Array<BtfEnum64Value>(vlen);
        for (let i = 0; i < vlen; i++) {
          const q = p + i * 12;
          values[i] = { nameOff: dv.getUint32(q, le), valLo32: dv.getUint32(q + 4, le), valHi32: dv.getUint32(q + 8, le) };
        }
        return { id, nameOff, info, kind, size: st, values };
      }
      default: {
        // A kind modbtf does not know: parse() sized it by the layout section.
        const end = off + this.recordSize(id);
        return { id, nameOff, info, kind: BtfKind.Unkn, unknown: { sizeOrType: st, rest: this.bytes.subarray(p, end), littleEndian: le } };
      }
    }
  }

  /** Own types in id order (does not include the base). */
  *ownTypes(): IterableIterator<BtfType> {
    for (let i = 0; i < this.typeOffsets.length; i++) {
      yield this.decodeAt(this.startId + i, this.typeOffsets[i] as number);
    }
  }

  /** Ids of all types (base included) with this name, optionally of one kind. */
  findByName(name: string, kind?: BtfKind): number[] {
    const fromBase = this.base ? this.base.findByName(name, kind) : [];
    const own = this.ownIdsNamed(utf8Encoder.encode(name));
    const ids = fromBase.concat(own);
    return kind === undefined ? ids : ids.filter((id) => this.kind(id) === kind);
  }

  /**
   * Own ids whose name has exactly these bytes, ascending. The index is a hash table of
   * name bytes (FNV-1a) with chains in typed arrays, built in one pass over the types'
   * name offsets: a Map of decoded names made ~110k strings for vmlinux (~250 ms with
   * its garbage collection) in runs that look up a handful of names.
   */
  private ownIdsNamed(want: Uint8Array): number[] {
    const idx = (this.nameIndex ??= this.buildNameIndex());
    let h = 0x811c9dc5 | 0;
    for (let i = 0; i < want.length; i++) h = Math.imul(h ^ (want[i] as number), 0x01000193);
    const out: number[] = [];
    for (let e = idx.heads[h & idx.mask] as number; e !== 0; e = idx.next[e - 1] as number) {
      if (idx.hashes[e - 1] === h && this.nameEquals(this.ownNameOffAt(e - 1), want)) out.push(this.startId + e - 1);
    }
    return out.reverse(); // chains are pushed at the head: highest id first
  }

  private ownNameOffAt(i: number): number {
    return this.view.getUint32(this.typeOffsets[i] as number, this.littleEndian);
  }

  /** The string section (own or a base's) holding offset `off`, and where the string starts in its bytes. */
  private strAtOff(off: number): { bytes: Uint8Array; start: number; end: number } | undefined {
    let b: Btf | undefined = this;
    while (b !== undefined && off < b.startStrOff) b = b.base;
    if (b === undefined || off - b.startStrOff >= b.header.strLen) return undefined;
    return { bytes: b.bytes, start: b.strStart + off - b.startStrOff, end: b.strStart + b.header.strLen };
  }

  private nameEquals(nameOff: number, want: Uint8Array): boolean {
    const at = this.strAtOff(nameOff);
    if (at === undefined || at.start + want.length >= at.end || at.bytes[at.start + want.length] !== 0) return false;
    for (let k = 0; k < want.length; k++) if (at.bytes[at.start + k] !== want[k]) return false;
    return true;
  }

  private buildNameIndex(): { heads: Int32Array; next: Int32Array; hashes: Int32Array; mask: number } {
    const n = this.typeOffsets.length;
    let size = 1024;
    while (size < n) size <<= 1;
    const heads = new Int32Array(size);
    const next = new Int32Array(n);
    const hashes = new Int32Array(n);
    for (let i = 0; i < n; i++) {
      const nameOff = this.ownNameOffAt(i);
      if (nameOff === 0) continue;
      const at = this.strAtOff(nameOff);
      // An empty name, or one without its NUL (invalid), is never found.
      if (at === undefined || at.bytes[at.start] === 0) continue;
      const { bytes, end } = at;
      let j = at.start;
      let h = 0x811c9dc5 | 0;
      while (j < end && bytes[j] !== 0) { h = Math.imul(h ^ (bytes[j] as number), 0x01000193); j++; }
      if (j >= end) continue;
      hashes[i] = h;
      next[i] = heads[h & (size - 1)] as number;
      heads[h & (size - 1)] = i + 1;
    }
    return { heads, next, hashes, mask: size - 1 };
  }
}

const utf8Encoder = new TextEncoder();

/** A layout section: `count` 4-byte entries at `start` of `bytes`. */
interface LayoutRef { bytes: Uint8Array; start: number; count: number }

/** libbpf's btf_type_size_unknown(): the record size of an unknown kind, from the layout section. */
function unknownKindSize(layout: LayoutRef | undefined, kind: number, vlen: number, fail: (msg: string) => BtfFormatError): number {
  if (layout === undefined || kind >= layout.count) {
    throw fail(`unsupported BTF_KIND ${kind}${layout === undefined ? '' : ` (the layout section describes kinds 0..${layout.count - 1})`}`);
  }
  const infoSz = layout.bytes[layout.start + kind * BTF_LAYOUT_ENTRY] as number;
  const elemSz = layout.bytes[layout.start + kind * BTF_LAYOUT_ENTRY + 1] as number;
  if (infoSz % 4 !== 0) throw fail(`unsupported info_sz ${infoSz} for kind ${kind} in the layout section`);
  if (elemSz % 4 !== 0) throw fail(`unsupported elem_sz ${elemSz} for kind ${kind} in the layout section`);
  return BTF_TYPE_COMMON + infoSz + vlen * elemSz;
}

export function parseBtf(bytes: Uint8Array, opts: ParseBtfOptions = {}): Btf {
  return Btf.parse(bytes, opts);
}
