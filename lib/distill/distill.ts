/**
 * Distilled base BTF, byte-identical to libbpf v1.7.0 btf__distill_base() followed by
 * btf__raw_data() on both results.
 *
 * Steps (libbpf's, reimplemented over raw records):
 *  1. Walk the type-id fields of every split type in order. A base id seen for the
 *     first time is checked (VAR, DATASEC, FUNC, DECL_TAG and unknown kinds fail),
 *     marked, and then walked the same way, depth first, unless it is a named
 *     STRUCT/UNION (members of those are never needed).
 *  2. Distilled base D: the marked base types in id order that can be matched by name
 *     later: INT, FLOAT, FWD copied as they are; named STRUCT/UNION as a memberless
 *     record of the same kind, name and size; named ENUM/ENUM64 as a valueless ENUM of
 *     the same name and size (btf__add_enum: kflag 0).
 *  3. New split S': the split's own records (unchanged layout), then every other
 *     marked base type (reference kinds, FUNC_PROTO, anonymous STRUCT/UNION/ENUM/
 *     ENUM64) copied in full, in id order.
 *  4. Type ids are remapped: marked base ids to their new id in D or S', split ids
 *     shifted down by (old split start id - D's type count).
 *  Strings: each output table is built like libbpf's strset, strings appended on first
 *  use in record order (name, then member/value/param names); offset 0 / "" stays 0;
 *  S' looks a string up in D's table first and only adds it to its own section when
 *  D does not have it. The outputs keep the input's byte order.
 *
 * Only needed base types are read; nothing of the 100k+ vmlinux types is decoded.
 */
import type { Btf } from '../btf/btf.js';
import { BtfKind, kindName } from '../btf/kinds.js';
import { idFieldCount, idFieldPos, recordSize } from '../btf/fields.js';
import { BTF_HEADER_MIN, BTF_MAGIC, BTF_VERSION, infoKind, infoVlen, makeInfo } from '../btf/wire.js';
import { dataViewOf } from '../bytes.js';
import { DistillError } from './errors.js';

export interface DistillResult {
  /** Raw distilled base BTF (standalone, ids from 1). */
  readonly base: Uint8Array;
  /** Raw new split BTF over `base`. */
  readonly split: Uint8Array;
  /**
   * Old id (split-over-original-base numbering, 0 .. split.typeCount-1) to new id
   * (split-over-distilled-base numbering); 0 for void and for base types not needed.
   * Built on first access (it is as long as the whole original id space).
   */
  readonly idMap: Uint32Array;
  /** Type count of the distilled base (btf__type_cnt: types + 1). */
  readonly baseTypeCount: number;
  /** Type count of the new split over the distilled base (btf__type_cnt). */
  readonly splitTypeCount: number;
  /** The needed base ids, ascending (those with a non-zero idMap entry below the split). */
  readonly neededBaseIds: Uint32Array;
  /** One old id mapped as idMap would (0 for unneeded base ids and out-of-range ids). */
  mapId(oldId: number): number;
}

class Distilled implements DistillResult {
  private map: Uint32Array | undefined;
  constructor(
    readonly base: Uint8Array,
    readonly split: Uint8Array,
    readonly baseTypeCount: number,
    readonly splitTypeCount: number,
    readonly neededBaseIds: Uint32Array,
    private readonly neededNewIds: Uint32Array,
    private readonly splitStart: number,
    private readonly typeCount: number,
  ) {}

  get idMap(): Uint32Array {
    if (this.map) return this.map;
    const m = new Uint32Array(this.typeCount);
    const ids = this.neededBaseIds;
    for (let i = 0; i < ids.length; i++) m[ids[i] as number] = this.neededNewIds[i] as number;
    const diff = this.splitStart - this.baseTypeCount;
    for (let id = this.splitStart; id < this.typeCount; id++) m[id] = id - diff;
    this.map = m;
    return m;
  }

  mapId(oldId: number): number {
    if (!Number.isInteger(oldId) || oldId <= 0 || oldId >= this.typeCount) return 0;
    if (oldId >= this.splitStart) return oldId - (this.splitStart - this.baseTypeCount);
    const ids = this.neededBaseIds;
    let lo = 0;
    let hi = ids.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      const v = ids[mid] as number;
      if (v === oldId) return this.neededNewIds[mid] as number;
      if (v < oldId) lo = mid + 1; else hi = mid - 1;
    }
    return 0;
  }
}

/**
 * Mark/new-id scratch over the base id space, reused across calls: a fresh 100k-entry
 * array per module costs more (allocation, page faults) than a small module's whole
 * distill. Entries touched by a call are cleared before it returns.
 */
let scratch = new Uint32Array(0);
function scratchFor(n: number): Uint32Array {
  if (scratch.length < n) scratch = new Uint32Array(n + (n >>> 3));
  return scratch;
}

/** One BTF blob of the split's chain: where its records and strings live. */
interface Layer {
  btf: Btf;
  bytes: Uint8Array;
  view: DataView;
  startId: number;
  startStrOff: number;
  strStart: number;
  strLen: number;
}

function layerOf(btf: Btf): Layer {
  return {
    btf,
    // A plain Uint8Array view: Buffer's subarray/indexOf are slower on hot paths.
    bytes: new Uint8Array(btf.bytes.buffer, btf.bytes.byteOffset, btf.bytes.byteLength),
    view: dataViewOf(btf.bytes),
    startId: btf.startId,
    startStrOff: btf.startStrOff,
    strStart: btf.strStart,
    strLen: btf.header.strLen,
  };
}

/** FNV-1a over bytes [start, end). */
function hashBytes(bytes: Uint8Array, start: number, end: number): number {
  let h = 0x811c9dc5;
  for (let i = start; i < end; i++) h = Math.imul(h ^ (bytes[i] as number), 0x01000193);
  return h | 0;
}

/**
 * libbpf strset: deduplicated NUL-terminated strings appended in first-use order.
 * Keyed by the bytes themselves (open addressing; each slot holds offset+1 and the
 * hash side by side), so no JS strings are made.
 */
class StrTable {
  buf: Uint8Array;
  len = 0;
  private slots: Int32Array; // [offset + 1 (0 = empty), hash] pairs
  private mask: number; // number of pairs - 1
  private count = 0;

  constructor(cap: number, expected: number, withEmpty: boolean) {
    this.buf = new Uint8Array(Math.max(cap, 16));
    let n = 64;
    while (n < expected * 2) n *= 2;
    this.slots = new Int32Array(n * 2);
    this.mask = n - 1;
    if (withEmpty) {
      const e = new Uint8Array(0);
      this.append(e, 0, 0, hashBytes(e, 0, 0));
    }
  }

  /** Offset of the string [start, end) of `src` in this table, or -1. */
  find(src: Uint8Array, start: number, end: number, h: number): number {
    const slots = this.slots;
    const mask = this.mask;
    const b = this.buf;
    const n = end - start;
    for (let i = h & mask; ; i = (i + 1) & mask) {
      const v = slots[2 * i] as number;
      if (v === 0) return -1;
      if (slots[2 * i + 1] !== h) continue;
      const off = v - 1;
      if (off + n >= this.len || b[off + n] !== 0) continue;
      let j = 0;
      while (j < n && b[off + j] === src[start + j]) j++;
      if (j === n) return off;
    }
  }

  /** Appends [start, end) of `src` plus a NUL (caller checked it is absent). */
  append(src: Uint8Array, start: number, end: number, h: number): number {
    const n = end - start;
    if (this.len + n + 1 > this.buf.length) {
      let cap = this.buf.length * 2;
      while (cap < this.len + n + 1) cap *= 2;
      const grown = new Uint8Array(cap);
      grown.set(this.buf.subarray(0, this.len));
      this.buf = grown;
    }
    const off = this.len;
    const b = this.buf;
    for (let j = 0; j < n; j++) b[off + j] = src[start + j] as number;
    b[off + n] = 0;
    this.len = off + n + 1;
    if ((this.count + 1) * 2 > this.mask + 1) this.rehash();
    this.insert(off, h);
    this.count++;
    return off;
  }

  private insert(off: number, h: number): void {
    const slots = this.slots;
    const mask = this.mask;
    let i = h & mask;
    while (slots[2 * i] !== 0) i = (i + 1) & mask;
    slots[2 * i] = off + 1;
    slots[2 * i + 1] = h;
  }

  private rehash(): void {
    const old = this.slots;
    this.slots = new Int32Array(old.length * 2);
    this.mask = old.length - 1;
    for (let i = 0; i < old.length; i += 2) {
      const v = old[i] as number;
      if (v !== 0) this.insert(v - 1, old[i + 1] as number);
    }
  }

  bytes(): Uint8Array { return this.buf.subarray(0, this.len); }
}

/**
 * A raw BTF blob as btf__raw_data() writes a BTF that libbpf created: header, types,
 * strings. `headerLen` is the size of libbpf's struct btf_header: 24 up to libbpf 1.7,
 * 32 in the libbpf of kernel 7.x (layout_off/layout_len added, written as 0).
 */
function assemble(le: boolean, types: Uint8Array, strings: Uint8Array, headerLen: number): Uint8Array {
  const out = new Uint8Array(headerLen + types.length + strings.length);
  const dv = dataViewOf(out);
  dv.setUint16(0, BTF_MAGIC, le);
  dv.setUint8(2, BTF_VERSION);
  dv.setUint8(3, 0);
  dv.setUint32(4, headerLen, le);
  dv.setUint32(8, 0, le);
  dv.setUint32(12, types.length, le);
  dv.setUint32(16, types.length, le);
  dv.setUint32(20, strings.length, le);
  out.set(types, headerLen);
  out.set(strings, headerLen + types.length);
  return out;
}

function isPow2Size(sz: number): boolean {
  return sz !== 0 && (sz & (sz - 1)) === 0 && sz <= 8;
}

/**
 * Split `split` (parsed over `base`) into a distilled base and a new split BTF over it,
 * as libbpf's btf__distill_base() does. Throws DistillError.
 */
export interface DistillOptions {
  /**
   * hdr_len of the two new blobs: 24 (libbpf 1.7, pahole; the default) or 32 (the
   * libbpf inside kernel 7.x's resolve_btfids, whose struct btf_header has layout fields).
   */
  headerLen?: 24 | 32;
}

export function distill(base: Btf, split: Btf, opts: DistillOptions = {}): DistillResult {
  const headerLen = opts.headerLen ?? BTF_HEADER_MIN;
  if (split.base !== base) {
    throw new DistillError('DISTILL_NOT_SPLIT', 'distill needs split BTF parsed over the given base BTF', { ...split.source });
  }
  if (split.unknownKindCount > 0) {
    let id = split.startId;
    while (recordSize(split.kind(id), 0) >= 0) id++;
    throw new DistillError('DISTILL_UNKNOWN_KIND', `type [${id}] is of kind ${split.kind(id)}, which modbtf does not know (only the layout section sizes it): its type ids cannot be followed`, { ...split.source, typeId: id }, split.kind(id));
  }
  const le = split.littleEndian;
  const n = split.typeCount;
  const splitStart = split.startId;

  // Layers from the split down to the bottom base; layers[0] is the split itself.
  const layers: Layer[] = [];
  for (let b: Btf | undefined = split; b; b = b.base) layers.push(layerOf(b));
  const top = layers[0] as Layer;
  const bottom = layers[layers.length - 1] as Layer;
  const singleBase = layers.length === 2;

  /** Layer holding type `id` (id < splitStart). */
  const typeLayer = (id: number): Layer => {
    if (singleBase) return bottom;
    for (let i = 1; i < layers.length; i++) {
      const l = layers[i] as Layer;
      if (id >= l.startId) return l;
    }
    return bottom;
  };
  const recOff = (l: Layer, id: number): number => l.btf.typeOffsets[id - l.startId] as number;

  // ---- 1. mark needed base ids (map[id] = id; later map[id] = new id) ---------------
  const map = scratchFor(splitStart);
  const marked: number[] = [];
  try {
    return distillInner();
  } finally {
    for (let i = 0; i < marked.length; i++) map[marked[i] as number] = 0;
  }

  function distillInner(): Distilled {
    // Explicit DFS stack (pre-order, same visiting order as libbpf's recursion).
    const fLayer: Layer[] = [];
    const fId: number[] = [];
    const fRec: number[] = [];
    const fKind: number[] = [];
    const fCnt: number[] = [];
    const fSlot: number[] = [];
    let sp = 0;

    const badId = (id: number, from: number): DistillError =>
      new DistillError('DISTILL_BAD_TYPE_ID', `type [${from}] refers to type id ${id}, past the last type ${n - 1}`, { ...split.source, typeId: from });

    /**
     * First sight of base type `id` (0 < id < splitStart, not yet marked): check its kind,
     * mark it and, unless it is a named STRUCT/UNION, push a frame to walk its references.
     */
    const mark = (id: number): void => {
      const l = typeLayer(id);
      const off = recOff(l, id);
      const info = l.view.getUint32(off + 4, le);
      const kind = infoKind(info);
      switch (kind) {
        case BtfKind.Int:
        case BtfKind.Float:
        case BtfKind.Fwd:
        case BtfKind.Array:
        case BtfKind.Struct:
        case BtfKind.Union:
        case BtfKind.Typedef:
        case BtfKind.Enum:
        case BtfKind.Enum64:
        case BtfKind.Ptr:
        case BtfKind.Const:
        case BtfKind.Restrict:
        case BtfKind.Volatile:
        case BtfKind.FuncProto:
        case BtfKind.TypeTag:
          break;
        default:
          throw new DistillError(
            'DISTILL_ILLEGAL_BASE_REF',
            `unexpected reference to base type [${id}] of kind ${kindName(kind)} when creating distilled base BTF`,
            { ...base.source, typeId: id },
            kind,
          );
      }
      map[id] = id;
      marked.push(id);
      if ((kind === BtfKind.Struct || kind === BtfKind.Union) && l.view.getUint32(off, le) !== 0) return;
      const cnt = idFieldCount(kind, infoVlen(info));
      if (cnt === 0) return;
      fLayer[sp] = l; fId[sp] = id; fRec[sp] = off; fKind[sp] = kind; fCnt[sp] = cnt; fSlot[sp] = 0;
      sp++;
    };

    /** Run the walk until the stack is empty (pre-order, like libbpf's recursion). */
    const drain = (): void => {
      while (sp > 0) {
        const t = sp - 1;
        const slot = fSlot[t] as number;
        if (slot >= (fCnt[t] as number)) { sp--; continue; }
        fSlot[t] = slot + 1;
        const l = fLayer[t] as Layer;
        const id = l.view.getUint32((fRec[t] as number) + idFieldPos(fKind[t] as number, slot), le);
        if (id === 0) continue;
        if (id >= splitStart) {
          if (id >= n) throw badId(id, fId[t] as number);
          continue;
        }
        if (map[id] === 0) mark(id);
      }
    };

    const sv = top.view;
    const sOffs = split.typeOffsets;
    const nOwn = sOffs.length;
    for (let k = 0; k < nOwn; k++) {
      const rec = sOffs[k] as number;
      const info = sv.getUint32(rec + 4, le);
      const kind = infoKind(info);
      const cnt = idFieldCount(kind, infoVlen(info));
      for (let s = 0; s < cnt; s++) {
        const id = sv.getUint32(rec + idFieldPos(kind, s), le);
        if (id === 0) continue;
        if (id >= splitStart) {
          if (id >= n) throw badId(id, splitStart + k);
          continue;
        }
        if (map[id] !== 0) continue;
        mark(id);
        if (sp > 0) drain();
      }
    }

    // ---- 2./3. classify marked ids in id order; assign new ids -------------------------
    const ids = Uint32Array.from(marked).sort();
    const toBase: number[] = [];
    const toSplit: number[] = [];
    let baseTypeLen = 0;
    let copyTypeLen = 0;
    for (let i = 0; i < ids.length; i++) {
      const id = ids[i] as number;
      const l = typeLayer(id);
      const off = recOff(l, id);
      const info = l.view.getUint32(off + 4, le);
      const kind = infoKind(info);
      const named = l.view.getUint32(off, le) !== 0;
      switch (kind) {
        case BtfKind.Int:
        case BtfKind.Float:
        case BtfKind.Fwd:
          toBase.push(id);
          baseTypeLen += recordSize(kind, infoVlen(info));
          break;
        case BtfKind.Struct:
        case BtfKind.Union:
        case BtfKind.Enum:
        case BtfKind.Enum64:
          if (named) {
            if (kind === BtfKind.Enum || kind === BtfKind.Enum64) {
              const sz = l.view.getUint32(off + 8, le);
              if (!isPow2Size(sz)) {
                throw new DistillError('DISTILL_BAD_ENUM_SIZE', `base ${kindName(kind)} [${id}] has byte size ${sz}; a distilled ENUM needs 1, 2, 4 or 8`, { ...base.source, typeId: id }, kind);
              }
            }
            toBase.push(id);
            baseTypeLen += 12;
          } else {
            toSplit.push(id);
            copyTypeLen += recordSize(kind, infoVlen(info));
          }
          break;
        default:
          toSplit.push(id);
          copyTypeLen += recordSize(kind, infoVlen(info));
          break;
      }
    }
    const dBaseCount = toBase.length + 1; // btf__type_cnt of the distilled base
    for (let i = 0; i < toBase.length; i++) map[toBase[i] as number] = i + 1;
    const firstCopyId = dBaseCount + nOwn;
    for (let i = 0; i < toSplit.length; i++) map[toSplit[i] as number] = firstCopyId + i;
    const diff = splitStart - dBaseCount;
    /** libbpf btf_update_distilled_type_ids: mapped base ids, split ids shifted down. */
    const remap = (v: number): number => {
      if (v >= splitStart) return v - diff;
      const m = map[v] as number;
      return m !== 0 ? m : v;
    };

    // ---- string plumbing ---------------------------------------------------------------
    let strBytes: Uint8Array = bottom.bytes;
    let strStartAbs = 0;
    let strEndAbs = 0;
    /** Locate the NUL-terminated string at `off`; sets strBytes/strStartAbs/strEndAbs. */
    const locateStr = (off: number, from: number): void => {
      let l: Layer | undefined;
      for (let i = 0; i < layers.length; i++) {
        const c = layers[i] as Layer;
        if (off >= c.startStrOff) { l = c; break; }
      }
      if (l === undefined || off - l.startStrOff >= l.strLen) {
        throw new DistillError('DISTILL_BAD_STRING', `type [${from}] has invalid string offset ${off}`, { ...split.source, typeId: from });
      }
      const start = l.strStart + (off - l.startStrOff);
      const end = l.strStart + l.strLen;
      const lb = l.bytes;
      let nul = start;
      while (nul < end && lb[nul] !== 0) nul++;
      if (nul >= end) {
        throw new DistillError('DISTILL_BAD_STRING', `type [${from}] has a name at offset ${off} without a terminating NUL`, { ...split.source, typeId: from });
      }
      strBytes = l.bytes;
      strStartAbs = start;
      strEndAbs = nul;
    };

    // ---- distilled base -----------------------------------------------------------------
    const baseStrs = new StrTable(1024, 64, true);
    const baseCache = new Map<number, number>();
    const baseStr = (off: number, from: number): number => {
      if (off === 0) return 0;
      const hit = baseCache.get(off);
      if (hit !== undefined) return hit;
      locateStr(off, from);
      const h = hashBytes(strBytes, strStartAbs, strEndAbs);
      let r = baseStrs.find(strBytes, strStartAbs, strEndAbs, h);
      if (r < 0) r = baseStrs.append(strBytes, strStartAbs, strEndAbs, h);
      baseCache.set(off, r);
      return r;
    };

    const bTypes = new Uint8Array(baseTypeLen);
    const bv = dataViewOf(bTypes);
    let p = 0;
    for (let i = 0; i < toBase.length; i++) {
      const id = toBase[i] as number;
      const l = typeLayer(id);
      const off = recOff(l, id);
      const info = l.view.getUint32(off + 4, le);
      const kind = infoKind(info);
      const nameOff = l.view.getUint32(off, le);
      if (kind === BtfKind.Int || kind === BtfKind.Float || kind === BtfKind.Fwd) {
        const sz = recordSize(kind, infoVlen(info));
        bTypes.set(l.bytes.subarray(off, off + sz), p);
        bv.setUint32(p, baseStr(nameOff, id), le);
        if (kind === BtfKind.Fwd) {
          // libbpf remaps FWD's size/type slot like a type id (0 in practice).
          const v = bv.getUint32(p + 8, le);
          if (v !== 0) bv.setUint32(p + 8, remap(v), le);
        }
        p += sz;
      } else {
        const outKind = kind === BtfKind.Enum64 ? BtfKind.Enum : kind;
        bv.setUint32(p, baseStr(nameOff, id), le);
        bv.setUint32(p + 4, makeInfo(outKind, 0, false), le);
        bv.setUint32(p + 8, l.view.getUint32(off + 8, le), le);
        p += 12;
      }
    }
    const baseStrBytes = baseStrs.bytes();
    const baseOut = assemble(le, bTypes, baseStrBytes, headerLen);

    // ---- new split ----------------------------------------------------------------------
    const splitStrBase = baseStrBytes.length; // own offsets continue after D's strings
    const ownStrs = new StrTable(Math.max(1024, top.strLen), top.strLen >>> 4, false);
    // Cache by source offset (libbpf's str_off_map): own offsets exactly (a typed array
    // the size of the split's string section), base offsets in a small map.
    const ownCache = new Int32Array(top.strLen);
    const ownStart = top.startStrOff;
    const baseOffCache = new Map<number, number>();
    const splitStrLookup = (off: number, from: number): number => {
      locateStr(off, from);
      const h = hashBytes(strBytes, strStartAbs, strEndAbs);
      const r = baseStrs.find(strBytes, strStartAbs, strEndAbs, h);
      if (r >= 0) return r;
      let own = ownStrs.find(strBytes, strStartAbs, strEndAbs, h);
      if (own < 0) own = ownStrs.append(strBytes, strStartAbs, strEndAbs, h);
      return splitStrBase + own;
    };
    const splitStr = (off: number, from: number): number => {
      const rel = off - ownStart;
      if (rel >= 0) {
        const hit = ownCache[rel];
        if (hit !== undefined && hit !== 0) return hit - 1;
        const r = splitStrLookup(off, from);
        ownCache[rel] = r + 1;
        return r;
      }
      const hit = baseOffCache.get(off);
      if (hit !== undefined) return hit;
      const r = splitStrLookup(off, from);
      baseOffCache.set(off, r);
      return r;
    };

    const ownTypes = split.typesBytes;
    const sTypes = new Uint8Array(ownTypes.length + copyTypeLen);
    sTypes.set(ownTypes, 0);
    let q = ownTypes.length;
    for (let i = 0; i < toSplit.length; i++) {
      const id = toSplit[i] as number;
      const l = typeLayer(id);
      const off = recOff(l, id);
      const info = l.view.getUint32(off + 4, le);
      const sz = recordSize(infoKind(info), infoVlen(info));
      sTypes.set(l.bytes.subarray(off, off + sz), q);
      q += sz;
    }
    const ov = dataViewOf(sTypes);
    const total = nOwn + toSplit.length;
    const str = (pos: number, from: number): void => {
      const v = ov.getUint32(pos, le);
      if (v !== 0) ov.setUint32(pos, splitStr(v, from), le);
    };
    const tid = (pos: number): void => {
      const v = ov.getUint32(pos, le);
      if (v !== 0) ov.setUint32(pos, remap(v), le);
    };
    // Records in order; per record its strings first (libbpf adds them while copying),
    // ids after (remapping does not touch strings, so the order between them is free).
    for (let r = 0, rec = 0; r < total; r++) {
      const info = ov.getUint32(rec + 4, le);
      const kind = infoKind(info);
      const vlen = infoVlen(info);
      const from = r < nOwn ? splitStart + r : (toSplit[r - nOwn] as number);
      str(rec, from);
      switch (kind) {
        case BtfKind.Struct:
        case BtfKind.Union:
          for (let m = 0, e = rec + 12; m < vlen; m++, e += 12) { str(e, from); tid(e + 4); }
          break;
        case BtfKind.Enum:
          for (let m = 0, e = rec + 12; m < vlen; m++, e += 8) str(e, from);
          break;
        case BtfKind.Enum64:
          for (let m = 0, e = rec + 12; m < vlen; m++, e += 12) str(e, from);
          break;
        case BtfKind.FuncProto:
          tid(rec + 8);
          for (let m = 0, e = rec + 12; m < vlen; m++, e += 8) { str(e, from); tid(e + 4); }
          break;
        default: {
          const ic = idFieldCount(kind, vlen);
          for (let i = 0; i < ic; i++) tid(rec + idFieldPos(kind, i));
        }
      }
      rec += recordSize(kind, vlen);
    }
    const splitOut = assemble(le, sTypes, ownStrs.bytes(), headerLen);

    const newIds = new Uint32Array(ids.length);
    for (let i = 0; i < ids.length; i++) newIds[i] = map[ids[i] as number] as number;
    return new Distilled(baseOut, splitOut, dBaseCount, dBaseCount + nOwn + toSplit.length, ids, newIds, splitStart, n);
  }
}
