/**
 * Raw-record field positions, libbpf's btf_field_iter in index form: distill copies
 * records byte for byte and patches type ids and name offsets in place, so it needs
 * where those u32 fields sit inside a record rather than decoded objects.
 *
 * Differences from lib/btf/fields.ts are deliberate and follow libbpf: FWD's
 * size/type slot counts as a type id (btf_field_iter lists FWD with the reference
 * kinds), and every kind (ARRAY, DATASEC, ... included) has its name offset visited.
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

/** Number of string-offset fields (name first, then member/value/param names). */
export function strSlotCount(kind: number, vlen: number): number {
  switch (kind) {
    case BtfKind.Struct:
    case BtfKind.Union:
    case BtfKind.Enum:
    case BtfKind.Enum64:
    case BtfKind.FuncProto:
      return 1 + vlen;
    default: return 1;
  }
}

/** Byte position of string-offset field `i` (0 is the type's name). */
export function strSlotPos(kind: number, i: number): number {
  if (i === 0) return 0;
  switch (kind) {
    case BtfKind.Struct:
    case BtfKind.Union:
    case BtfKind.Enum64: return 12 * i;
    default: return 4 + 8 * i; // ENUM, FUNC_PROTO: 8-byte entries after the 12-byte head
  }
}
