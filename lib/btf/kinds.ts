/** BTF_KIND_* numbering from include/uapi/linux/btf.h. */
export enum BtfKind {
  Unkn = 0,
  Int = 1,
  Ptr = 2,
  Array = 3,
  Struct = 4,
  Union = 5,
  Enum = 6,
  Fwd = 7,
  Typedef = 8,
  Volatile = 9,
  Const = 10,
  Restrict = 11,
  Func = 12,
  FuncProto = 13,
  Var = 14,
  Datasec = 15,
  Float = 16,
  DeclTag = 17,
  TypeTag = 18,
  Enum64 = 19,
}

export const BTF_KIND_MAX = BtfKind.Enum64;

/** Names as bpftool and libbpf print them. */
export const KIND_NAMES: readonly string[] = [
  'UNKNOWN', 'INT', 'PTR', 'ARRAY', 'STRUCT', 'UNION', 'ENUM', 'FWD', 'TYPEDEF', 'VOLATILE',
  'CONST', 'RESTRICT', 'FUNC', 'FUNC_PROTO', 'VAR', 'DATASEC', 'FLOAT', 'DECL_TAG', 'TYPE_TAG', 'ENUM64',
];

export function kindName(kind: number): string {
  return KIND_NAMES[kind] ?? 'UNKNOWN';
}

/** Bytes that follow the 12-byte common `struct btf_type` for a kind with `vlen` entries. */
export function extraSize(kind: number, vlen: number): number {
  switch (kind) {
    case BtfKind.Int: return 4;
    case BtfKind.Array: return 12;
    case BtfKind.Struct:
    case BtfKind.Union: return vlen * 12;
    case BtfKind.Enum: return vlen * 8;
    case BtfKind.FuncProto: return vlen * 8;
    case BtfKind.Var: return 4;
    case BtfKind.Datasec: return vlen * 12;
    case BtfKind.DeclTag: return 4;
    case BtfKind.Enum64: return vlen * 12;
    case BtfKind.Ptr:
    case BtfKind.Fwd:
    case BtfKind.Typedef:
    case BtfKind.Volatile:
    case BtfKind.Const:
    case BtfKind.Restrict:
    case BtfKind.Func:
    case BtfKind.Float:
    case BtfKind.TypeTag: return 0;
    default: return -1;
  }
}

/** INT encoding bits (BTF_INT_SIGNED etc.). */
export const BTF_INT_SIGNED = 1 << 0;
export const BTF_INT_CHAR = 1 << 1;
export const BTF_INT_BOOL = 1 << 2;

/** FUNC linkage (stored in vlen) and VAR linkage. */
export enum BtfFuncLinkage { Static = 0, Global = 1, Extern = 2 }
export enum BtfVarLinkage { Static = 0, GlobalAllocated = 1, GlobalExtern = 2 }
