import { describe, expect, it } from 'vitest';
import { cmpId, msortPermutation } from '../../../lib/btfids/sort.js';

describe('glibc qsort (merge sort) as resolve_btfids uses it', () => {
  it('is stable: equal ids keep their order', () => {
    expect(msortPermutation([5, 0, 3, 0, 5, 0])).toEqual([1, 3, 5, 2, 0, 4]);
  });

  it('equals a stable sort by signed id when no subtraction overflows', () => {
    let seed = 12345;
    const rnd = (): number => (seed = (seed * 1103515245 + 12345) & 0x7fffffff);
    for (let n = 0; n < 200; n++) {
      const keys = Array.from({ length: rnd() % 40 }, () => (rnd() % 7) * 1000);
      const want = keys.map((k, i) => [k, i] as const).sort((a, b) => a[0] - b[0] || a[1] - b[1]).map((x) => x[1]);
      expect(msortPermutation(keys)).toEqual(want);
    }
  });

  it('compares like `*a - *b` on C ints (wrapping)', () => {
    expect(cmpId(1, 2)).toBeLessThan(0);
    // 0x7fffffff - (-1) wraps to INT_MIN: "less than".
    expect(cmpId(0x7fffffff, -1)).toBeLessThan(0);
    expect(msortPermutation([0x7fffffff, -1])).toEqual([0, 1]);
    expect(msortPermutation([-1, 0x7fffffff])).toEqual([0, 1]);
  });
});
