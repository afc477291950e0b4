/**
 * Where type ids and string offsets live in each kind of record — the one table
 * (libbpf's btf_field_iter) that validation, distill, relocation, the writer and
 * .BTF_ids remapping all walk, so no per-kind switch is copied around.
 * Order of visits follows libbpf: the common size/type slot, then ARRAY's element
 * and index types, then per-member entries.
 */
import { BtfKind } from './kinds.js';
import type { BtfType } from './types.js';

/** Calls `fn` with each referenced type id, in libbpf's field order. */
export function forEachTypeRef(t: BtfType, fn: (id: number) => void): void {
  switch (t.kind) {
    case BtfKind.Ptr:
    case BtfKind.Typedef:
    case BtfKind.Volatile:
    case BtfKind.Const:
    case BtfKind.Restrict:
    case BtfKind.Func:
    case BtfKind.TypeTag:
    case BtfKind.Var:
    case BtfKind.DeclTag:
      fn(t.type);
      return;
    case BtfKind.Array:
      fn(t.elemType);
      fn(t.indexType);
      return;
    case BtfKind.Struct:
    case BtfKind.Union:
      for (const m of t.members) fn(m.type);
      return;
    case BtfKind.FuncProto:
      fn(t.type);
      for (const p of t.params) fn(p.type);
      return;
    case BtfKind.Datasec:
      for (const v of t.vars) fn(v.type);
      return;
    default:
      return;
  }
}

/** Replaces every referenced type id in place with `fn(id)`. */
export function mapTypeRefs(t: BtfType, fn: (id: number) => number): void {
  switch (t.kind) {
    case BtfKind.Ptr:
    case BtfKind.Typedef:
    case BtfKind.Volatile:
    case BtfKind.Const:
    case BtfKind.Restrict:
    case BtfKind.Func:
    case BtfKind.TypeTag:
    case BtfKind.Var:
    case BtfKind.DeclTag:
      t.type = fn(t.type);
      return;
    case BtfKind.Array:
      t.elemType = fn(t.elemType);
      t.indexType = fn(t.indexType);
      return;
    case BtfKind.Struct:
    case BtfKind.Union:
      for (const m of t.members) m.type = fn(m.type);
      return;
    case BtfKind.FuncProto:
      t.type = fn(t.type);
      for (const p of t.params) p.type = fn(p.type);
      return;
    case BtfKind.Datasec:
      for (const v of t.vars) v.type = fn(v.type);
      return;
    default:
      return;
  }
}

/** Calls `fn` with each string offset (name first, then member/value/param names). */
export function forEachStrRef(t: BtfType, fn: (off: number) => void): void {
  if (t.kind === BtfKind.Unkn) return;
  fn(t.nameOff);
  switch (t.kind) {
    case BtfKind.Struct:
    case BtfKind.Union:
      for (const m of t.members) fn(m.nameOff);
      return;
    case BtfKind.Enum:
    case BtfKind.Enum64:
      for (const v of t.values) fn(v.nameOff);
      return;
    case BtfKind.FuncProto:
      for (const p of t.params) fn(p.nameOff);
      return;
    default:
      return;
  }
}

/** Replaces every string offset in place with `fn(off)`. */
export function mapStrRefs(t: BtfType, fn: (off: number) => number): void {
  if (t.kind === BtfKind.Unkn) return;
  t.nameOff = fn(t.nameOff);
  switch (t.kind) {
    case BtfKind.Struct:
    case BtfKind.Union:
      for (const m of t.members) m.nameOff = fn(m.nameOff);
      return;
    case BtfKind.Enum:
    case BtfKind.Enum64:
      for (const v of t.values) v.nameOff = fn(v.nameOff);
      return;
    case BtfKind.FuncProto:
      for (const p of t.params) p.nameOff = fn(p.nameOff);
      return;
    default:
      return;
  }
}
