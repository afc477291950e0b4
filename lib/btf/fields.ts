/**
 * The one per-kind table of BTF record layout: how long a record is, and where its type
 * ids and string offsets sit (libbpf's btf_field_iter in table form). Everything that
 * walks type-id or string fields reads it: the parser's record sizes, the writer,
 * validation, distill, relocation, the name sort (permute), btf2btf and `.BTF_ids`.
 *
 * Positions are byte offsets from the start of a record; entry positions are relative
 * to one vlen entry, entries starting at 12 + `fixed`. Visiting order is libbpf's:
 * fixed id fields, then each entry's; for strings the name, then each entry's name.
 * As in libbpf, FWD's size/type slot counts as a type id (it is 0 in valid BTF).
 */
import { BtfKind } from './kinds.js';
import type { BtfType } from './types.js';
import { BTF_KIND_SLOTS, BTF_LAYOUT_ENTRY } from './wire.js';

export interface KindFields {
  /** Bytes after the 12-byte common part that do not repeat (INT 4, ARRAY 12, VAR 4, DECL_TAG 4). */
  readonly fixed: number;
  /** Bytes per vlen entry (0: the kind has no entries). */
  readonly entry: number;
  /** Type-id fields of the record's fixed part. */
  readonly ids: readonly number[];
  /** Type-id fields inside each entry. */
  readonly entryIds: readonly number[];
  /** String-offset fields of the fixed part (the name, at 0). */
  readonly strs: readonly number[];
  /** String-offset fields inside each entry. */
  readonly entryStrs: readonly number[];
  /** The decoded record's properties for `ids`, and its entry array with the properties for `entryIds`/`entryStrs`. */
  readonly idKeys: readonly string[];
  readonly entries?: 'members' | 'params' | 'values' | 'vars';
  readonly entryIdKeys: readonly string[];
  readonly entryStrKeys: readonly string[];
}

const NAME = [0];
function k(fixed: number, entry: number, ids: number[], entryIds: number[], entryStrs: number[], idKeys: string[], entries?: KindFields['entries'], entryIdKeys: string[] = [], entryStrKeys: string[] = []): KindFields {
  return { fixed, entry, ids, entryIds, strs: NAME, entryStrs, idKeys, ...(entries ? { entries } : {}), entryIdKeys, entryStrKeys };
}
const ref = (): KindFields => k(0, 0, [8], [], [], ['type']);

/**
 * Indexed by BTF kind (BTF_KIND_SLOTS entries); undefined for kinds modbtf does not know
 * (0 is void: no record). Records of unknown kinds are sized by the BTF's layout section
 * (Btf.parse) and have no fields modbtf visits: their ids and strings are left alone.
 */
export const KIND_FIELDS: readonly (KindFields | undefined)[] = (() => {
  const t: (KindFields | undefined)[] = new Array<KindFields | undefined>(BTF_KIND_SLOTS).fill(undefined);
  t[BtfKind.Int] = k(4, 0, [], [], [], []);
  t[BtfKind.Ptr] = ref();
  t[BtfKind.Array] = k(12, 0, [12, 16], [], [], ['elemType', 'indexType']);
  t[BtfKind.Struct] = k(0, 12, [], [4], [0], [], 'members', ['type'], ['nameOff']);
  t[BtfKind.Union] = t[BtfKind.Struct];
  t[BtfKind.Enum] = k(0, 8, [], [], [0], [], 'values', [], ['nameOff']);
  t[BtfKind.Fwd] = k(0, 0, [8], [], [], ['size']);
  t[BtfKind.Typedef] = ref();
  t[BtfKind.Volatile] = ref();
  t[BtfKind.Const] = ref();
  t[BtfKind.Restrict] = ref();
  t[BtfKind.Func] = ref();
  t[BtfKind.FuncProto] = k(0, 8, [8], [4], [0], ['type'], 'params', ['type'], ['nameOff']);
  t[BtfKind.Var] = k(4, 0, [8], [], [], ['type']);
  t[BtfKind.Datasec] = k(0, 12, [], [0], [], [], 'vars', ['type'], []);
  t[BtfKind.Float] = k(0, 0, [], [], [], []);
  t[BtfKind.DeclTag] = k(4, 0, [8], [], [], ['type']);
  t[BtfKind.TypeTag] = ref();
  t[BtfKind.Enum64] = k(0, 12, [], [], [0], [], 'values', [], ['nameOff']);
  return t;
})();

/** Fixed bytes after the common part, per kind (-1: unknown kind, including 0). */
export const RECORD_FIXED: Int8Array = Int8Array.from(KIND_FIELDS, (f) => (f ? f.fixed : -1));
/** Bytes per vlen entry, per kind. */
export const RECORD_ENTRY: Uint8Array = Uint8Array.from(KIND_FIELDS, (f) => (f ? f.entry : 0));

/**
 * Bytes of a record of `kind` with `vlen` entries, common part included; -1 for a kind
 * modbtf does not know (its size is in the BTF's layout section: Btf.recordSize).
 */
export function recordSize(kind: number, vlen: number): number {
  const fixed = RECORD_FIXED[kind] ?? -1;
  return fixed < 0 ? -1 : 12 + fixed + (RECORD_ENTRY[kind] as number) * vlen;
}

/**
 * The layout section libbpf writes when asked for one (btf__new_empty_opts with
 * add_layout; its layouts[] table): one `struct btf_layout` per kind from 0 (UNKN) to
 * ENUM64, info_sz and elem_sz from this table, flags 0. `extra` appends entries for
 * kinds past ENUM64 (as a newer encoder would describe kinds it knows).
 */
export function kindLayoutSection(littleEndian: boolean, extra: readonly { infoSz: number; elemSz: number; flags?: number }[] = []): Uint8Array {
  const known = BtfKind.Enum64 + 1;
  const out = new Uint8Array((known + extra.length) * BTF_LAYOUT_ENTRY);
  const dv = new DataView(out.buffer);
  for (let k = 0; k < known; k++) {
    const f = KIND_FIELDS[k];
    out[k * BTF_LAYOUT_ENTRY] = f ? f.fixed : 0;
    out[k * BTF_LAYOUT_ENTRY + 1] = f ? f.entry : 0;
  }
  extra.forEach((e, i) => {
    const at = (known + i) * BTF_LAYOUT_ENTRY;
    out[at] = e.infoSz;
    out[at + 1] = e.elemSz;
    dv.setUint16(at + 2, e.flags ?? 0, littleEndian);
  });
  return out;
}

/** Number of type-id fields of a record (libbpf's BTF_FIELD_ITER_IDS count). */
export function idFieldCount(kind: number, vlen: number): number {
  const f = KIND_FIELDS[kind];
  return f === undefined ? 0 : f.ids.length + f.entryIds.length * vlen;
}

/** Byte position (from the record start) of type-id field `i`, in libbpf's order. */
export function idFieldPos(kind: number, i: number): number {
  const f = KIND_FIELDS[kind] as KindFields;
  const nFixed = f.ids.length;
  if (i < nFixed) return f.ids[i] as number;
  const j = i - nFixed;
  const per = f.entryIds.length;
  const e = (j / per) | 0;
  return 12 + f.fixed + e * f.entry + (f.entryIds[j - e * per] as number);
}

/** Calls `fn` with the byte position of every type-id field of a record, in libbpf's order. */
export function forEachIdField(kind: number, vlen: number, fn: (pos: number) => void): void {
  const f = KIND_FIELDS[kind];
  if (f === undefined) return;
  for (const p of f.ids) fn(p);
  if (f.entryIds.length === 0) return;
  for (let e = 0, at = 12 + f.fixed; e < vlen; e++, at += f.entry) for (const p of f.entryIds) fn(at + p);
}

/** Calls `fn` with the byte position of every string-offset field of a record: the name, then entry names. */
export function forEachStrField(kind: number, vlen: number, fn: (pos: number) => void): void {
  const f = KIND_FIELDS[kind];
  if (f === undefined) return;
  for (const p of f.strs) fn(p);
  if (f.entryStrs.length === 0) return;
  for (let e = 0, at = 12 + f.fixed; e < vlen; e++, at += f.entry) for (const p of f.entryStrs) fn(at + p);
}

// ---- the same walks over decoded records ---------------------------------------------
type Fields = Record<string, number>;
function fieldsOf(t: BtfType): Fields { return t as unknown as Fields; }
function entriesOf(t: BtfType, key: NonNullable<KindFields['entries']>): Fields[] {
  return (t as unknown as Record<string, Fields[]>)[key] as Fields[];
}

/** Calls `fn` with each referenced type id, in libbpf's field order. */
export function forEachTypeRef(t: BtfType, fn: (id: number) => void): void {
  const f = KIND_FIELDS[t.kind];
  if (f === undefined) return;
  const o = fieldsOf(t);
  for (const key of f.idKeys) fn(o[key] as number);
  if (f.entries === undefined || f.entryIdKeys.length === 0) return;
  for (const e of entriesOf(t, f.entries)) for (const key of f.entryIdKeys) fn(e[key] as number);
}

/** Replaces every referenced type id in place with `fn(id)`. */
export function mapTypeRefs(t: BtfType, fn: (id: number) => number): void {
  const f = KIND_FIELDS[t.kind];
  if (f === undefined) return;
  const o = fieldsOf(t);
  for (const key of f.idKeys) o[key] = fn(o[key] as number);
  if (f.entries === undefined || f.entryIdKeys.length === 0) return;
  for (const e of entriesOf(t, f.entries)) for (const key of f.entryIdKeys) e[key] = fn(e[key] as number);
}

/** Calls `fn` with each string offset (name first, then member/value/param names). */
export function forEachStrRef(t: BtfType, fn: (off: number) => void): void {
  const f = KIND_FIELDS[t.kind];
  if (f === undefined) return;
  fn(t.nameOff);
  if (f.entries === undefined || f.entryStrKeys.length === 0) return;
  for (const e of entriesOf(t, f.entries)) for (const key of f.entryStrKeys) fn(e[key] as number);
}

/** Replaces every string offset in place with `fn(off)`. */
export function mapStrRefs(t: BtfType, fn: (off: number) => number): void {
  const f = KIND_FIELDS[t.kind];
  if (f === undefined) return;
  t.nameOff = fn(t.nameOff);
  if (f.entries === undefined || f.entryStrKeys.length === 0) return;
  for (const e of entriesOf(t, f.entries)) for (const key of f.entryStrKeys) e[key] = fn(e[key] as number);
}
