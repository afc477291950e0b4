/**
 * Every type record of a BTF and of its bases as host-order 32-bit words in one array,
 * with each id's word offset: dedup reads base types constantly and rewrites split ones
 * in place (libbpf's btf_dedup_ref_type stores canonical ids into the records it
 * visits), so one flat, mutable copy is simpler and faster than decoding records.
 * Id 0 points at three zero words, as libbpf's btf_type_by_id(0) gives its static void.
 * A base's words are made once per parsed base and copied under each split.
 */
import type { Btf } from '../btf/btf.js';
import { dataViewOf } from '../bytes.js';

const HOST_LE = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;
/** Words before the first record: void's name, info and size/type, and room for reads past them. */
const VOID_WORDS = 6;

export interface TypeWords {
  /** All records, host order; the split's part is a private copy and may be changed. */
  readonly w: Uint32Array;
  /** off[id]: first word of type `id`'s record (0 for void). */
  readonly off: Uint32Array;
  /** First id of the BTF being deduplicated (1 without a base). */
  readonly startId: number;
  /** btf__type_cnt(). */
  readonly count: number;
}

const baseWordsCache = new WeakMap<Btf, TypeWords>();

/** The words of `btf` and all its bases, built once per parsed BTF (never modify them). */
export function sharedTypeWords(btf: Btf): TypeWords {
  let t = baseWordsCache.get(btf);
  if (t === undefined) {
    t = buildWords(btf, btf.base ? sharedTypeWords(btf.base) : undefined);
    baseWordsCache.set(btf, t);
  }
  return t;
}

/**
 * Words the records of a split BTF over `base` are preceded by in dedup's working array (the
 * bases' records and void's): a split whose bytes leave that much room in front of its type
 * section, in host order, can be deduplicated in place (DedupOptions.inPlace).
 */
export function inPlaceRoomWords(base: Btf): number {
  let words = VOID_WORDS;
  for (let b: Btf | undefined = base; b !== undefined; b = b.base) words += b.header.typeLen >>> 2;
  return words;
}

/**
 * All records of `btf` over words of its bases: a private copy over the bases' shared words,
 * or with `inPlace` the type section itself when it is in host order with room for the bases'
 * words in front (those bytes, the header among them, are overwritten; the bases' records are
 * written there from their own bytes, so no shared copy of them is made either).
 */
export function loadTypeWords(btf: Btf, inPlace = false): TypeWords {
  const start = btf.header.hdrLen + btf.header.typeOff;
  const abs = btf.bytes.byteOffset + start;
  const at = btf.base !== undefined ? inPlaceRoomWords(btf.base) : VOID_WORDS;
  if (!inPlace || btf.littleEndian !== HOST_LE || abs % 4 !== 0 || abs < at * 4) {
    return buildWords(btf, btf.base ? sharedTypeWords(btf.base) : undefined);
  }
  const w = new Uint32Array(btf.bytes.buffer, abs - at * 4, at + (btf.header.typeLen >>> 2));
  const off = new Uint32Array(btf.typeCount);
  w.fill(0, 0, VOID_WORDS);
  const bases: Btf[] = [];
  for (let b = btf.base; b !== undefined; b = b.base) bases.unshift(b);
  let p = VOID_WORDS;
  for (const b of bases) {
    place(b, w, p, off);
    p += b.header.typeLen >>> 2;
  }
  place(btf, w, at, off);
  return { w, off, startId: btf.startId, count: btf.typeCount };
}

function buildWords(b: Btf, under: TypeWords | undefined): TypeWords {
  const at = under ? under.w.length : VOID_WORDS;
  const w = new Uint32Array(at + (b.header.typeLen >>> 2));
  const off = new Uint32Array(b.typeCount);
  if (under) {
    w.set(under.w);
    off.set(under.off);
  }
  place(b, w, at, off);
  return { w, off, startId: b.startId, count: b.typeCount };
}

/** Writes `b`'s own records, host order, at word `at` of `w` (unless they are there already) and their word offsets into `off`. */
function place(b: Btf, w: Uint32Array, at: number, off: Uint32Array): void {
  const start = b.header.hdrLen + b.header.typeOff;
  const n = b.header.typeLen >>> 2;
  const abs = b.bytes.byteOffset + start;
  if (b.bytes.buffer === w.buffer && abs === w.byteOffset + at * 4) {
    // In place: the records are where they belong.
  } else if (b.littleEndian === HOST_LE && abs % 4 === 0) {
    w.set(new Uint32Array(b.bytes.buffer, abs, n), at);
  } else {
    const dv = dataViewOf(b.bytes);
    const le = b.littleEndian;
    for (let i = 0; i < n; i++) w[at + i] = dv.getUint32(start + i * 4, le);
  }
  const offs = b.typeOffsets;
  for (let i = 0; i < offs.length; i++) off[b.startId + i] = at + (((offs[i] as number) - start) >>> 2);
}
