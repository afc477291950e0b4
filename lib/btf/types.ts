/**
 * One tagged union for every BTF kind. Records keep the wire fields as they are
 * (name offsets, the raw `info` word, raw member offsets): modbtf rewrites BTF byte
 * for byte and remaps ids, so it never decodes into an object graph. Names and
 * derived values (bitfield sizes, enum signedness) come from helper functions.
 */
import { BtfKind } from './kinds.js';

interface Common {
  /** Type id in the numbering of the BTF it was read from (0 for void). */
  id: number;
  nameOff: number;
  /** Raw info word: kflag (bit 31), kind (24..30), vlen (0..23); see wire.ts. */
  info: number;
}

export interface BtfMember { nameOff: number; type: number; /** raw `offset`: bits, or bitfield size<<24 | bits with kflag */ offset: number }
export interface BtfEnumValue { nameOff: number; /** raw u32; signed enums reinterpret it */ val: number }
export interface BtfEnum64Value { nameOff: number; valLo32: number; valHi32: number }
export interface BtfParam { nameOff: number; type: number }
export interface BtfVarSecinfo { type: number; offset: number; size: number }

/**
 * A record of a kind modbtf does not know, sized by the BTF's layout section
 * (libbpf's btf_type_size_unknown): its real kind is infoKind(info), printed UNKNOWN as
 * bpftool does; its fields are kept as they are and never visited (no ids, no strings
 * but the name).
 */
export interface BtfUnknownRecord {
  /** The size/type word of struct btf_type. */
  sizeOrType: number;
  /** The info_sz + vlen * elem_sz bytes after the common part, as stored. */
  rest: Uint8Array;
  /** Byte order of `rest` (the blob's); it cannot be swapped without knowing the kind. */
  littleEndian: boolean;
}

/** Void (id 0), or with `unknown` set a record of a kind modbtf does not know. */
export interface BtfVoid extends Common { kind: BtfKind.Unkn; unknown?: BtfUnknownRecord }
export interface BtfInt extends Common { kind: BtfKind.Int; size: number; /** raw u32 after the common part */ intData: number }
export interface BtfPtr extends Common { kind: BtfKind.Ptr; type: number }
/** ARRAY's size/type slot must be 0; it is kept so bad input survives a round trip. */
export interface BtfArray extends Common { kind: BtfKind.Array; size: number; elemType: number; indexType: number; nelems: number }
export interface BtfStruct extends Common { kind: BtfKind.Struct; size: number; members: BtfMember[] }
export interface BtfUnion extends Common { kind: BtfKind.Union; size: number; members: BtfMember[] }
export interface BtfEnum extends Common { kind: BtfKind.Enum; size: number; values: BtfEnumValue[] }
/** FWD's size/type slot must be 0; kflag set means `union`. */
export interface BtfFwd extends Common { kind: BtfKind.Fwd; size: number }
export interface BtfTypedef extends Common { kind: BtfKind.Typedef; type: number }
export interface BtfVolatile extends Common { kind: BtfKind.Volatile; type: number }
export interface BtfConst extends Common { kind: BtfKind.Const; type: number }
export interface BtfRestrict extends Common { kind: BtfKind.Restrict; type: number }
/** FUNC keeps its linkage in vlen. */
export interface BtfFunc extends Common { kind: BtfKind.Func; type: number }
export interface BtfFuncProto extends Common { kind: BtfKind.FuncProto; type: number; params: BtfParam[] }
export interface BtfVar extends Common { kind: BtfKind.Var; type: number; linkage: number }
export interface BtfDatasec extends Common { kind: BtfKind.Datasec; size: number; vars: BtfVarSecinfo[] }
export interface BtfFloat extends Common { kind: BtfKind.Float; size: number }
export interface BtfDeclTag extends Common { kind: BtfKind.DeclTag; type: number; componentIdx: number }
export interface BtfTypeTag extends Common { kind: BtfKind.TypeTag; type: number }
export interface BtfEnum64 extends Common { kind: BtfKind.Enum64; size: number; values: BtfEnum64Value[] }

export type BtfType =
  | BtfVoid | BtfInt | BtfPtr | BtfArray | BtfStruct | BtfUnion | BtfEnum | BtfFwd | BtfTypedef
  | BtfVolatile | BtfConst | BtfRestrict | BtfFunc | BtfFuncProto | BtfVar | BtfDatasec | BtfFloat
  | BtfDeclTag | BtfTypeTag | BtfEnum64;

export type BtfComposite = BtfStruct | BtfUnion;
export type BtfModifier = BtfVolatile | BtfConst | BtfRestrict | BtfTypeTag;

export function isComposite(t: BtfType): t is BtfComposite {
  return t.kind === BtfKind.Struct || t.kind === BtfKind.Union;
}

export function enum64Value(v: BtfEnum64Value): bigint {
  return (BigInt(v.valHi32 >>> 0) << 32n) | BigInt(v.valLo32 >>> 0);
}
