/**
 * Reordering a BTF's own types, as libbpf's btf__permute() does, and the order kernel
 * 7.x's resolve_btfids gives module and vmlinux BTF (sort_btf_by_name): ascending
 * strcmp() of the names, anonymous types ("") first, ties kept in id order.
 *
 * Only the type records move; every type-id field pointing at an own type is rewritten
 * through the permutation (ids of the base, and void, stay). Header and string section
 * are kept byte for byte: btf__permute() changes neither (the raw data libbpf writes
 * afterwards has the parsed header and the original strings).
 */
import { dataViewOf } from '../bytes.js';
import type { Btf } from './btf.js';
import { forEachIdField } from './fields.js';
import { infoKind, infoVlen } from './wire.js';

export interface PermutedBtf {
  /** The whole BTF blob with its types in the new order. */
  readonly bytes: Uint8Array;
  /** newIds[i] is the new id of own type startId+i (what libbpf's id_map holds). */
  readonly newIds: Uint32Array;
}

/**
 * The BTF with its own types reordered: `order[k]` is the index (0-based, among own
 * types) of the type that goes to position k. Throws RangeError unless `order` is a
 * permutation of 0..n-1.
 */
export function permuteBtf(btf: Btf, order: ArrayLike<number>): PermutedBtf {
  const n = btf.ownTypeCount;
  if (order.length !== n) throw new RangeError(`permuteBtf: ${order.length} positions for ${n} types`);
  const startId = btf.startId;
  const newIds = new Uint32Array(n);
  const seen = new Uint8Array(n);
  for (let k = 0; k < n; k++) {
    const i = order[k] as number;
    if (!(i >= 0 && i < n) || seen[i] === 1) throw new RangeError(`permuteBtf: position ${k} takes type index ${i} twice or out of range`);
    seen[i] = 1;
    newIds[i] = startId + k;
  }
  const src = btf.bytes;
  const le = btf.littleEndian;
  const sv = dataViewOf(src);
  const out = new Uint8Array(src);
  const ov = dataViewOf(out);
  const typesStart = btf.header.hdrLen + btf.header.typeOff;
  const end = startId + n;
  let p = typesStart;
  for (let k = 0; k < n; k++) {
    const rec = btf.typeOffsets[order[k] as number] as number;
    const info = sv.getUint32(rec + 4, le);
    const kind = infoKind(info);
    const vlen = infoVlen(info);
    // As parsed: kinds modbtf does not know are sized by the layout section (and moved
    // whole, their fields untouched).
    const size = btf.recordSize(startId + (order[k] as number));
    out.set(src.subarray(rec, rec + size), p);
    const at = p;
    forEachIdField(kind, vlen, (pos) => {
      const id = ov.getUint32(at + pos, le);
      if (id >= startId && id < end) ov.setUint32(at + pos, newIds[id - startId] as number, le);
    });
    p += size;
  }
  return { bytes: out, newIds };
}

/** The name of each own type as a latin1 string (byte i = char i), so `<` compares like strcmp(). */
function latin1Names(btf: Btf): string[] {
  const names = new Array<string>(btf.ownTypeCount);
  const cache = new Map<number, string>();
  for (let i = 0; i < names.length; i++) {
    const off = btf.nameOff(btf.startId + i);
    let s = cache.get(off);
    if (s === undefined) {
      s = off === 0 ? '' : btf.latin1Str(off);
      cache.set(off, s);
    }
    names[i] = s;
  }
  return names;
}

/** resolve_btfids 7.x's order: by name (strcmp), anonymous first, ties by id. */
export function nameSortOrder(btf: Btf): Uint32Array {
  const names = latin1Names(btf);
  const order = Array.from({ length: names.length }, (_, i) => i);
  order.sort((a, b) => {
    const x = names[a] as string;
    const y = names[b] as string;
    return x < y ? -1 : x > y ? 1 : a - b;
  });
  return Uint32Array.from(order);
}

/** True when the own types already are in name order (sorting would change nothing). */
export function isNameSorted(btf: Btf): boolean {
  const order = nameSortOrder(btf);
  for (let i = 0; i < order.length; i++) if (order[i] !== i) return false;
  return true;
}

/** sort_btf_by_name(): the BTF with its own types in name order. */
export function sortByName(btf: Btf): PermutedBtf {
  return permuteBtf(btf, nameSortOrder(btf));
}
