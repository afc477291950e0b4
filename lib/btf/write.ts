/**
 * Encodes BTF from records. The header keeps the input's extra bytes (hdr_len > 24);
 * types come first, then the layout section if there is one, then the strings, as
 * libbpf's btf_get_raw_data() writes them (pahole and the kernel write the same without
 * a layout), so a parse → write round trip of real BTF gives the same bytes.
 */
import { BtfFormatError } from '../errors.js';
import { dataViewOf } from '../bytes.js';
import { BtfKind, kindName } from './kinds.js';
import { recordSize as layoutSize } from './fields.js';
import { BTF_HEADER_LAYOUT, BTF_HEADER_MIN, BTF_LAYOUT_ENTRY, BTF_MAGIC, BTF_TYPE_COMMON, BTF_VERSION, infoKind, infoVlen } from './wire.js';
import type { BtfType } from './types.js';
import type { Btf } from './btf.js';

export interface BtfDraft {
  littleEndian: boolean;
  /** Own types only, in id order (for split BTF, starting at the base's type count). */
  types: readonly BtfType[];
  /** Own string section bytes. */
  strings: Uint8Array;
  /**
   * Header bytes past the first 24 (kept from a parsed input), default none. With 8 or
   * more, bytes 24..31 are layout_off/layout_len: written to describe `layout` when there
   * is one; without, layout_off is kept and layout_len is 0. Bytes past 32 are kept as they are.
   */
  headerExtra?: Uint8Array;
  /**
   * The layout section (4-byte `struct btf_layout` entries, in the draft's byte order),
   * written between types and strings; the header grows to 32 bytes if it is shorter.
   */
  layout?: Uint8Array;
}

function recordSize(t: BtfType): number {
  if (t.kind === BtfKind.Unkn) {
    if (t.unknown !== undefined) return BTF_TYPE_COMMON + t.unknown.rest.length;
    throw new BtfFormatError('BTF_BAD_KIND', 'void (kind 0) cannot be written as a type', { typeId: t.id });
  }
  return layoutSize(t.kind, infoVlen(t.info));
}

function itemCount(t: BtfType): number | undefined {
  switch (t.kind) {
    case BtfKind.Struct:
    case BtfKind.Union: return t.members.length;
    case BtfKind.Enum:
    case BtfKind.Enum64: return t.values.length;
    case BtfKind.FuncProto: return t.params.length;
    case BtfKind.Datasec: return t.vars.length;
    default: return undefined;
  }
}

export function writeBtf(draft: BtfDraft): Uint8Array {
  const layout = draft.layout !== undefined && draft.layout.length > 0 ? draft.layout : undefined;
  if (layout !== undefined && layout.length % BTF_LAYOUT_ENTRY !== 0) {
    throw new BtfFormatError('BTF_BAD_HEADER', `a layout section of ${layout.length} bytes is not a whole number of ${BTF_LAYOUT_ENTRY}-byte entries`, {});
  }
  let extra = draft.headerExtra ?? new Uint8Array(0);
  if (layout !== undefined && BTF_HEADER_MIN + extra.length < BTF_HEADER_LAYOUT) {
    const grown = new Uint8Array(BTF_HEADER_LAYOUT - BTF_HEADER_MIN);
    grown.set(extra);
    extra = grown;
  }
  const hdrLen = BTF_HEADER_MIN + extra.length;
  const le = draft.littleEndian;
  let typeLen = 0;
  for (const t of draft.types) {
    if (t.kind === BtfKind.Unkn && t.unknown !== undefined) {
      // Its fields are not known, so they cannot be put into another byte order.
      if (t.unknown.littleEndian !== le) {
        throw new BtfFormatError('BTF_BAD_KIND', `kind ${infoKind(t.info)} is not known to modbtf: its record cannot be written in the other byte order`, { typeId: t.id });
      }
      typeLen += recordSize(t);
      continue;
    }
    if (infoKind(t.info) !== t.kind) {
      throw new BtfFormatError('BTF_BAD_KIND', `info word says ${kindName(infoKind(t.info))} but the record is ${kindName(t.kind)}`, { typeId: t.id });
    }
    const n = itemCount(t);
    if (n !== undefined && n !== infoVlen(t.info)) {
      throw new BtfFormatError('BTF_BAD_VLEN', `vlen ${infoVlen(t.info)} in info does not match ${n} entries`, { typeId: t.id });
    }
    typeLen += recordSize(t);
  }
  const strLen = draft.strings.length;
  const layoutLen = layout?.length ?? 0;
  const out = new Uint8Array(hdrLen + typeLen + layoutLen + strLen);
  const dv = dataViewOf(out);
  dv.setUint16(0, BTF_MAGIC, le);
  dv.setUint8(2, BTF_VERSION);
  dv.setUint8(3, 0);
  dv.setUint32(4, hdrLen, le);
  dv.setUint32(8, 0, le);
  dv.setUint32(12, typeLen, le);
  dv.setUint32(16, typeLen + layoutLen, le);
  dv.setUint32(20, strLen, le);
  out.set(extra, BTF_HEADER_MIN);
  if (hdrLen >= BTF_HEADER_LAYOUT) {
    // As libbpf keeps them: layout_off follows the types when there is a layout (else it
    // stays what it was), layout_len is the layout's length.
    if (layout !== undefined) dv.setUint32(24, typeLen, le);
    dv.setUint32(28, layoutLen, le);
  }
  if (layout !== undefined) out.set(layout, hdrLen + typeLen);
  let p = hdrLen;
  const u32 = (v: number): void => { dv.setUint32(p, v >>> 0, le); p += 4; };
  for (const t of draft.types) {
    u32(t.nameOff);
    u32(t.info);
    switch (t.kind) {
      case BtfKind.Int: u32(t.size); u32(t.intData); break;
      case BtfKind.Ptr:
      case BtfKind.Typedef:
      case BtfKind.Volatile:
      case BtfKind.Const:
      case BtfKind.Restrict:
      case BtfKind.Func:
      case BtfKind.TypeTag: u32(t.type); break;
      case BtfKind.Array: u32(t.size); u32(t.elemType); u32(t.indexType); u32(t.nelems); break;
      case BtfKind.Struct:
      case BtfKind.Union:
        u32(t.size);
        for (const m of t.members) { u32(m.nameOff); u32(m.type); u32(m.offset); }
        break;
      case BtfKind.Enum:
        u32(t.size);
        for (const v of t.values) { u32(v.nameOff); u32(v.val); }
        break;
      case BtfKind.Fwd:
      case BtfKind.Float: u32(t.size); break;
      case BtfKind.FuncProto:
        u32(t.type);
        for (const a of t.params) { u32(a.nameOff); u32(a.type); }
        break;
      case BtfKind.Var: u32(t.type); u32(t.linkage); break;
      case BtfKind.Datasec:
        u32(t.size);
        for (const v of t.vars) { u32(v.type); u32(v.offset); u32(v.size); }
        break;
      case BtfKind.DeclTag: u32(t.type); dv.setInt32(p, t.componentIdx, le); p += 4; break;
      case BtfKind.Enum64:
        u32(t.size);
        for (const v of t.values) { u32(v.nameOff); u32(v.valLo32); u32(v.valHi32); }
        break;
      case BtfKind.Unkn:
        if (t.unknown !== undefined) { u32(t.unknown.sizeOrType); out.set(t.unknown.rest, p); p += t.unknown.rest.length; }
        break;
    }
  }
  out.set(draft.strings, p + layoutLen);
  return out;
}

/** Re-encode a parsed Btf from its decoded records (round trip). */
export function rewriteBtf(btf: Btf): Uint8Array {
  return writeBtf({
    littleEndian: btf.littleEndian,
    types: Array.from(btf.ownTypes()),
    strings: btf.strings,
    headerExtra: btf.header.extra,
    ...(btf.layout !== undefined ? { layout: btf.layout } : {}),
  });
}
