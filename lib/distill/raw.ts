/**
 * Type-id field positions in raw records, libbpf's btf_field_iter (BTF_FIELD_ITER_IDS)
 * in index form: distill reads needed base types and patches copied records in place,
 * so it needs where those u32 fields sit rather than decoded objects.
 *
 * One difference from lib/btf/fields.ts is deliberate and follows libbpf: FWD's
 * size/type slot counts as a type id (btf_field_iter lists FWD with the reference
 * kinds), so distill walks and remaps it like libbpf does (it is 0 in valid BTF).
 */
import { BtfKind } from '../btf/kinds.js';

/** Number of type-id fields of a record, in libbpf's visiting order. */
export function idSlotCount(kind: number, vlen: number): number {
  switch (kind) {
    case BtfKind.Fwd:
    case BtfKind.Ptr:
    case BtfKind.Typedef:
    case BtfKind.Volatile:
    case BtfKind.Const:
    case BtfKind.Restrict:
    case BtfKind.Func:
    case BtfKind.Var:
    case BtfKind.DeclTag:
    case BtfKind.TypeTag:
      return 1;
    case BtfKind.Array: return 2;
    case BtfKind.Struct:
    case BtfKind.Union:
    case BtfKind.Datasec:
      return vlen;
    case BtfKind.FuncProto: return 1 + vlen;
    default: return 0;
  }
}

/** Byte position (from the record start) of type-id field `i`. */
export function idSlotPos(kind: number, i: number): number {
  switch (kind) {
    case BtfKind.Array: return 12 + 4 * i;
    case BtfKind.Struct:
    case BtfKind.Union: return 16 + 12 * i;
    case BtfKind.Datasec: return 12 + 12 * i;
    case BtfKind.FuncProto: return i === 0 ? 8 : 8 + 8 * i;
    default: return 8;
  }
}
