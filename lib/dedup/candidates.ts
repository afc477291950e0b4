/**
 * The candidate table of libbpf's BTF dedup (`btf_dedup->dedup_table`), modelled closely
 * enough that candidates come back in the order libbpf visits them.
 *
 * libbpf keys the table by a type's 64-bit signature hash (a C `long` built with
 * hash_combine: h * 31 + value, wrapping) and uses the identity as the hashmap's hash
 * function, so only types with exactly the same 64-bit key are ever candidates of each
 * other. Within one key, hashmap__append puts the newest entry at the head of its bucket
 * chain, and hashmap_grow (before an insert, when the map is empty or (size + 1) * 4 / 3
 * exceeds its capacity) moves every chain to new buckets one entry at a time, each to the
 * front: every group of equal keys comes out reversed. Which equivalent type becomes
 * canonical depends on that order, so it is reproduced: each key's entries form a linked
 * list, newest first, and a grow reverses every list with more than one entry
 * (src/hashmap.c: hashmap_insert, hashmap_grow, hashmap_add_entry).
 *
 * Everything lives in typed arrays (open addressing on the key, entries as parallel
 * arrays): vmlinux puts ~150,000 base types in before a module's first one, and a table
 * built once for a base can be copied for every module deduplicated over it (`clone`).
 */

/** Computes libbpf's `hash_combine` chains as two uint32 halves (the C `long` wraps at 2^64). */
export class SignatureHash {
  hi = 0;
  lo = 0;

  /** hash_combine(0, value). */
  start(value: number): this {
    this.hi = 0;
    this.lo = value >>> 0;
    return this;
  }

  /** hash_combine(h, value): h * 31 + value, modulo 2^64. Exact in doubles: lo * 31 < 2^37. */
  add(value: number): this {
    const low = this.lo * 31 + (value >>> 0);
    const carry = Math.floor(low / 4294967296);
    this.lo = low >>> 0;
    this.hi = (this.hi * 31 + carry) >>> 0;
    return this;
  }
}

/** Mixes a key's halves into a slot index (any mix works: keys are compared in full). */
function slotHash(hi: number, lo: number): number {
  return Math.imul(lo ^ Math.imul(hi, 0x9e3779b1), 0x85ebca6b) ^ (hi >>> 7);
}

export class CandidateTable {
  // Key slots (open addressing, linear probing): the key and its list's first entry + 1 (0: empty).
  private slotHi: Uint32Array;
  private slotLo: Uint32Array;
  private slotHead: Int32Array;
  private slotMask: number;
  private usedSlots = 0;
  // Entries: type id and the next (older) entry + 1 of the same key (0: end).
  private entryId: Uint32Array;
  private entryNext: Int32Array;
  private entries = 0;
  /** Slots whose list has two or more entries: the only ones a grow changes. */
  private multi: Int32Array;
  private multiCount = 0;
  /** libbpf's hashmap size and capacity (buckets), which decide when it grows. */
  private capacity = 0;

  constructor(expected = 1024) {
    let slots = 1024;
    while (slots < expected * 2) slots <<= 1;
    this.slotHi = new Uint32Array(slots);
    this.slotLo = new Uint32Array(slots);
    this.slotHead = new Int32Array(slots);
    this.slotMask = slots - 1;
    this.entryId = new Uint32Array(Math.max(16, expected));
    this.entryNext = new Int32Array(Math.max(16, expected));
    this.multi = new Int32Array(64);
  }

  /** An independent copy (same order, same growth state). */
  clone(): CandidateTable {
    const c = Object.create(CandidateTable.prototype) as CandidateTable;
    c.slotHi = this.slotHi.slice();
    c.slotLo = this.slotLo.slice();
    c.slotHead = this.slotHead.slice();
    c.slotMask = this.slotMask;
    c.usedSlots = this.usedSlots;
    c.entryId = this.entryId.slice();
    c.entryNext = this.entryNext.slice();
    c.entries = this.entries;
    c.multi = this.multi.slice();
    c.multiCount = this.multiCount;
    c.capacity = this.capacity;
    return c;
  }

  /** hashmap__append(hash, id). */
  append(hi: number, lo: number, id: number): void {
    // hashmap_needs_to_grow: the check happens before the entry counts.
    if (this.capacity === 0 || Math.floor(((this.entries + 1) * 4) / 3) > this.capacity) this.grow();
    const slot = this.findSlot(hi, lo, true);
    if (this.entries === this.entryId.length) {
      const n = this.entries * 2;
      const ids = new Uint32Array(n); ids.set(this.entryId); this.entryId = ids;
      const next = new Int32Array(n); next.set(this.entryNext); this.entryNext = next;
    }
    const e = this.entries++;
    const head = this.slotHead[slot] as number;
    this.entryId[e] = id;
    this.entryNext[e] = head;
    this.slotHead[slot] = e + 1;
    if (head !== 0 && this.entryNext[head - 1] === 0) this.addMulti(slot);
  }

  /**
   * Calls `fn` with each id whose key is (hi, lo), in libbpf's chain order, until it
   * returns true (for_each_dedup_cand ... break).
   */
  visit(hi: number, lo: number, fn: (id: number) => boolean): void {
    const slot = this.findSlot(hi, lo, false);
    if (slot < 0) return;
    for (let e = this.slotHead[slot] as number; e !== 0; e = this.entryNext[e - 1] as number) {
      if (fn(this.entryId[e - 1] as number)) return;
    }
  }

  private grow(): void {
    this.capacity = this.capacity === 0 ? 4 : this.capacity * 2;
    const next = this.entryNext;
    for (let k = 0; k < this.multiCount; k++) {
      const slot = this.multi[k] as number;
      let prev = 0;
      let e = this.slotHead[slot] as number;
      while (e !== 0) {
        const after = next[e - 1] as number;
        next[e - 1] = prev;
        prev = e;
        e = after;
      }
      this.slotHead[slot] = prev;
    }
  }

  private addMulti(slot: number): void {
    if (this.multiCount === this.multi.length) {
      const m = new Int32Array(this.multi.length * 2);
      m.set(this.multi);
      this.multi = m;
    }
    this.multi[this.multiCount++] = slot;
  }

  /** The slot of key (hi, lo); a new one when `create`, else -1 when absent. */
  private findSlot(hi: number, lo: number, create: boolean): number {
    for (let s = slotHash(hi, lo) & this.slotMask; ; s = (s + 1) & this.slotMask) {
      if (this.slotHead[s] === 0) {
        if (!create) return -1;
        if ((this.usedSlots + 1) * 2 > this.slotMask + 1) {
          this.rehash();
          return this.findSlot(hi, lo, true);
        }
        this.slotHi[s] = hi;
        this.slotLo[s] = lo;
        this.usedSlots++;
        return s;
      }
      if (this.slotLo[s] === lo && this.slotHi[s] === hi) return s;
    }
  }

  /** Doubles the key slots (the entries and their order stay as they are). */
  private rehash(): void {
    const oldHi = this.slotHi;
    const oldLo = this.slotLo;
    const oldHead = this.slotHead;
    const n = oldHead.length * 2;
    this.slotHi = new Uint32Array(n);
    this.slotLo = new Uint32Array(n);
    this.slotHead = new Int32Array(n);
    this.slotMask = n - 1;
    const moved = new Int32Array(oldHead.length);
    for (let s = 0; s < oldHead.length; s++) {
      if (oldHead[s] === 0) continue;
      const hi = oldHi[s] as number;
      const lo = oldLo[s] as number;
      let t = slotHash(hi, lo) & this.slotMask;
      while (this.slotHead[t] !== 0) t = (t + 1) & this.slotMask;
      this.slotHi[t] = hi;
      this.slotLo[t] = lo;
      this.slotHead[t] = oldHead[s] as number;
      moved[s] = t;
    }
    for (let k = 0; k < this.multiCount; k++) this.multi[k] = moved[this.multi[k] as number] as number;
  }
}
