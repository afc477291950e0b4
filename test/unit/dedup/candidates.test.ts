/**
 * The candidate table's visiting order, worked out by hand from libbpf's src/hashmap.c:
 * hashmap__append puts an entry at the head of its bucket chain; hashmap_grow runs before
 * an insert when the map is empty or (size + 1) * 4 / 3 > capacity (so at the 1st, 4th,
 * 7th, 13th, 25th ... insert: capacity 4, 8, 16, 32, 64 ...) and reverses every chain of
 * equal keys.
 */
import { describe, expect, it } from 'vitest';
import { CandidateTable, SignatureHash } from '../../../lib/dedup/candidates.js';

function order(t: CandidateTable, hi: number, lo: number): number[] {
  const out: number[] = [];
  t.visit(hi, lo, (id) => { out.push(id); return false; });
  return out;
}

describe('CandidateTable', () => {
  it('visits the newest entry of a key first until a grow reverses the chain', () => {
    const t = new CandidateTable();
    t.append(0, 7, 1); // grow to 4 before it
    t.append(0, 7, 2);
    t.append(0, 7, 3);
    expect(order(t, 0, 7)).toEqual([3, 2, 1]);
    t.append(0, 7, 4); // (3+1)*4/3 = 5 > 4: grow to 8, chain 3,2,1 becomes 1,2,3; then 4 at the head
    expect(order(t, 0, 7)).toEqual([4, 1, 2, 3]);
    t.append(0, 7, 5);
    t.append(0, 7, 6);
    expect(order(t, 0, 7)).toEqual([6, 5, 4, 1, 2, 3]);
    t.append(0, 7, 7); // (6+1)*4/3 = 9 > 8: grow to 16 and reverse
    expect(order(t, 0, 7)).toEqual([7, 3, 2, 1, 4, 5, 6]);
  });

  it('keeps keys that differ in either half apart, and grows count every key', () => {
    const t = new CandidateTable();
    t.append(1, 5, 10);
    t.append(2, 5, 20);
    t.append(1, 6, 30);
    t.append(1, 5, 11); // 4th insert: grow; [10] alone is unchanged, then 11 at its head
    expect(order(t, 1, 5)).toEqual([11, 10]);
    expect(order(t, 2, 5)).toEqual([20]);
    expect(order(t, 1, 6)).toEqual([30]);
    expect(order(t, 3, 5)).toEqual([]);
    for (let i = 0; i < 3; i++) t.append(9, 9, 100 + i); // 7th insert grows: [11, 10] -> [10, 11]
    expect(order(t, 1, 5)).toEqual([10, 11]);
  });

  it('stops at the first candidate the caller accepts, and clones independently', () => {
    const t = new CandidateTable();
    for (let i = 1; i <= 3; i++) t.append(0, 1, i);
    const seen: number[] = [];
    t.visit(0, 1, (id) => { seen.push(id); return id === 2; });
    expect(seen).toEqual([3, 2]);
    const c = t.clone();
    c.append(0, 1, 4); // grows the clone only
    expect(order(c, 0, 1)).toEqual([4, 1, 2, 3]);
    expect(order(t, 0, 1)).toEqual([3, 2, 1]);
  });

  it('survives many keys (its own slot table rehashes without changing chains)', () => {
    const t = new CandidateTable(4);
    for (let i = 0; i < 5000; i++) t.append(i >>> 3, i & 7, i);
    expect(order(t, 0, 0)).toEqual([0]);
    t.append(0, 0, 99999);
    expect(order(t, 0, 0)).toEqual([99999, 0]);
  });
});

describe('SignatureHash', () => {
  it("is libbpf's hash_combine (h * 31 + value) on a 64-bit long, wrapping", () => {
    const h = new SignatureHash().start(0xffffffff);
    expect([h.hi, h.lo]).toEqual([0, 0xffffffff]);
    // 0xffffffff * 31 + 5 = 0x1e_ffff_ffe6 (hand-computed)
    h.add(5);
    expect([h.hi, h.lo]).toEqual([0x1e, 0xffffffe6]);
    // Wrap-around: start from 2^64 - 1 as (0xffffffff, 0xffffffff): * 31 + 1 = -31 + 1 = 2^64 - 30.
    h.hi = 0xffffffff;
    h.lo = 0xffffffff;
    h.add(1);
    expect([h.hi, h.lo]).toEqual([0xffffffff, 0xffffffe2]);
  });
});
