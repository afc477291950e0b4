/**
 * String section builder with libbpf's rules: strings are deduplicated, appended in
 * the order they are first added, and offset 0 is the empty string. For split BTF a
 * string already present in the base resolves to the base's offset (btf__add_str
 * looks in the base first), and own offsets continue after the base's section.
 */
import type { Btf } from './btf.js';

const encoder = new TextEncoder();

export class StringTableBuilder {
  private readonly chunks: Uint8Array[] = [];
  private length = 0;
  private readonly offsets = new Map<string, number>();
  private baseIndex: BaseStringIndex | undefined;
  readonly startStrOff: number;

  constructor(private readonly base?: Btf, existing?: Uint8Array) {
    this.startStrOff = base ? base.totalStrLen : 0;
    if (existing !== undefined) {
      this.adopt(existing);
      return;
    }
    // A standalone table starts with the empty string; split tables do too (pahole
    // and libbpf both emit a leading NUL), so '' maps to the own offset 0 only when
    // there is no base — with a base, '' is the base's offset 0.
    if (!base) this.append('');
  }

  /**
   * A table that continues an existing string section, as libbpf's strset__new() does
   * when a parsed BTF becomes modifiable: the bytes stay as they are, and the strings
   * found walking them from offset 0 (the first of equal ones) are known for dedup.
   */
  static continuing(existing: Uint8Array, base?: Btf): StringTableBuilder {
    return new StringTableBuilder(base, existing);
  }

  private adopt(existing: Uint8Array): void {
    this.chunks.push(new Uint8Array(existing));
    this.length = existing.length;
    for (let start = 0; start < existing.length;) {
      let end = existing.indexOf(0, start);
      if (end < 0) end = existing.length;
      const str = Buffer.from(existing.buffer, existing.byteOffset + start, end - start).toString('utf8');
      if (!this.offsets.has(str)) this.offsets.set(str, this.startStrOff + start);
      start = end + 1;
    }
  }

  /** Offset of `s`, adding it if needed. */
  add(s: string): number {
    if (this.base) {
      if (s === '') return 0;
      const inBase = this.findInBase(s);
      if (inBase !== undefined) return inBase;
    }
    const known = this.offsets.get(s);
    if (known !== undefined) return known;
    return this.append(s);
  }

  /** Own section bytes. */
  bytes(): Uint8Array {
    const out = new Uint8Array(this.length);
    let p = 0;
    for (const c of this.chunks) { out.set(c, p); p += c.length; }
    return out;
  }

  get size(): number { return this.length; }

  /** The string at an offset of this table (split-aware: offsets start at startStrOff), or undefined. */
  at(off: number): string | undefined {
    let rel = off - this.startStrOff;
    if (rel < 0 || rel >= this.length) return undefined;
    for (const c of this.chunks) {
      if (rel < c.length) {
        const end = c.indexOf(0, rel);
        return Buffer.from(c.buffer, c.byteOffset + rel, (end < 0 ? c.length : end) - rel).toString('utf8');
      }
      rel -= c.length;
    }
    return undefined;
  }

  private append(s: string): number {
    const enc = encoder.encode(s);
    const chunk = new Uint8Array(enc.length + 1);
    chunk.set(enc);
    const off = this.startStrOff + this.length;
    this.chunks.push(chunk);
    this.length += chunk.length;
    this.offsets.set(s, off);
    return off;
  }

  /** First offset of `s` in the base's string sections (libbpf btf__find_str). */
  private findInBase(s: string): number | undefined {
    if (!this.base) return undefined;
    this.baseIndex ??= BaseStringIndex.of(this.base);
    return this.baseIndex.find(encoder.encode(s));
  }
}

/**
 * The base's strings by their bytes, first offset wins (as the strcmp of libbpf's
 * strset, and btf__find_str's walk down a chain of bases): an open-addressing table of offsets keyed by an FNV-1a hash, built in one
 * pass over the string sections. A Map from decoded strings cost vmlinux's ~100k string
 * objects, ~190 ms and as much again in garbage collection, in every run that adds a
 * string over vmlinux (kernel 7.x's resolve_btfids pipeline), for the few hundred a
 * module looks up.
 */
export class BaseStringIndex {
  private static readonly cache = new WeakMap<Btf, BaseStringIndex>();

  /** The index of a base, built once per parsed base (a batch deduplicates or encodes many modules over one vmlinux). */
  static of(base: Btf): BaseStringIndex {
    let idx = BaseStringIndex.cache.get(base);
    if (idx === undefined) {
      idx = new BaseStringIndex(base);
      BaseStringIndex.cache.set(base, idx);
    }
    return idx;
  }

  /** Per slot: 1 + the index into `layers`'s flattened offsets, 0 when empty. */
  private readonly slots: Int32Array;
  private readonly hashes: Int32Array;
  private readonly mask: number;
  private readonly layers: { tab: Uint8Array; startStrOff: number }[] = [];
  /** Each entry's layer and offset within that layer's table (at most half the slots are used). */
  private readonly entryLayer: Int32Array;
  private readonly entryStart: Int32Array;
  private entries = 0;

  constructor(base: Btf) {
    const chain: Btf[] = [];
    for (let b: Btf | undefined = base; b; b = b.base) chain.unshift(b);
    // Strings counted first (NULs found natively): the table is at most half full.
    let count = 0;
    for (const b of chain) {
      const tab = b.strings;
      for (let at = tab.indexOf(0); at >= 0; at = tab.indexOf(0, at + 1)) count++;
      count++;
    }
    let size = 1024;
    while (size < count * 2) size <<= 1;
    this.slots = new Int32Array(size);
    this.hashes = new Int32Array(size);
    this.entryLayer = new Int32Array(size);
    this.entryStart = new Int32Array(size);
    this.mask = size - 1;
    for (const [li, b] of chain.entries()) {
      const tab = b.strings;
      this.layers.push({ tab, startStrOff: b.startStrOff });
      // NULs found natively (memchr); each string hashed from a few of its bytes, so a single
      // run does not push every byte of vmlinux's strings through the interpreter (~110 ms).
      for (let start = 0; start < tab.length;) {
        let end = tab.indexOf(0, start);
        if (end < 0) end = tab.length;
        this.insert(sampleHash(tab, start, end - start), li, start, end - start);
        start = end + 1;
      }
    }
  }

  private equal(li: number, start: number, bytes: Uint8Array, from: number, len: number): boolean {
    const tab = (this.layers[li] as { tab: Uint8Array }).tab;
    if (start + len >= tab.length || tab[start + len] !== 0) return false;
    for (let k = 0; k < len; k++) if (tab[start + k] !== bytes[from + k]) return false;
    return true;
  }

  private insert(h: number, li: number, start: number, len: number): void {
    const tab = (this.layers[li] as { tab: Uint8Array }).tab;
    for (let at = h & this.mask; ; at = (at + 1) & this.mask) {
      const e = this.slots[at] as number;
      if (e === 0) {
        this.entryLayer[this.entries] = li;
        this.entryStart[this.entries] = start;
        this.slots[at] = ++this.entries;
        this.hashes[at] = h;
        return;
      }
      // An equal string seen before (an earlier offset or layer) keeps its place.
      if (this.hashes[at] === h && this.equal(this.entryLayer[e - 1] as number, this.entryStart[e - 1] as number, tab, start, len)) return;
    }
  }

  find(bytes: Uint8Array): number | undefined {
    const h = sampleHash(bytes, 0, bytes.length);
    for (let at = h & this.mask; ; at = (at + 1) & this.mask) {
      const e = this.slots[at] as number;
      if (e === 0) return undefined;
      const li = this.entryLayer[e - 1] as number;
      const start = this.entryStart[e - 1] as number;
      if (this.hashes[at] === h && this.equal(li, start, bytes, 0, bytes.length)) return (this.layers[li] as { startStrOff: number }).startStrOff + start;
    }
  }
}

/**
 * A string's hash from its length and up to 8 bytes at each end and 4 in the middle
 * (FNV-1a over those): cheap for every string of a base, and the table compares the full
 * bytes of every candidate anyway. Kernel names that share their ends differ in length or
 * middle often enough to keep the chains short.
 */
function sampleHash(tab: Uint8Array, start: number, len: number): number {
  let h = Math.imul(0x811c9dc5 ^ len, 0x01000193);
  const head = Math.min(len, 8);
  for (let k = 0; k < head; k++) h = Math.imul(h ^ (tab[start + k] as number), 0x01000193);
  if (len > 8) {
    const tail = Math.min(len - 8, 8);
    for (let k = len - tail; k < len; k++) h = Math.imul(h ^ (tab[start + k] as number), 0x01000193);
    if (len > 20) {
      const mid = start + (len >> 1) - 2;
      for (let k = 0; k < 4; k++) h = Math.imul(h ^ (tab[mid + k] as number), 0x01000193);
    }
  }
  return h;
}
