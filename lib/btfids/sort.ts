/**
 * glibc 2.36 qsort() for the element sizes resolve_btfids sorts (4 and 8 bytes):
 * a top-down merge sort (msort_with_tmp), hence stable, with resolve_btfids'
 * comparator `*a - *b` on the first 32-bit word as C ints (the subtraction wraps,
 * so the comparison is exactly what the tool does even for ids >= 2^31).
 *
 * Works on a permutation so callers can apply it to whole elements (set8 pairs keep
 * their flags) or invert it.
 */

/** resolve_btfids' cmp_id(): *a - *b on ints, wrapping like the compiled C. */
export function cmpId(a: number, b: number): number {
  return ((a | 0) - (b | 0)) | 0;
}

/**
 * Sorting permutation of `keys` (int32 values) as glibc's merge sort produces it:
 * sorted[k] = keys[perm[k]].
 */
export function msortPermutation(keys: ArrayLike<number>): number[] {
  const n = keys.length;
  const a: number[] = Array.from({ length: n }, (_, i) => i);
  const tmp: number[] = new Array<number>(n);
  const rec = (b0: number, len: number): void => {
    if (len <= 1) return;
    const n1 = Math.floor(len / 2);
    const n2 = len - n1;
    rec(b0, n1);
    rec(b0 + n1, n2);
    let i = b0;
    let j = b0 + n1;
    let r1 = n1;
    let r2 = n2;
    let t = 0;
    while (r1 > 0 && r2 > 0) {
      if (cmpId(keys[a[i] as number] as number, keys[a[j] as number] as number) <= 0) {
        tmp[t++] = a[i++] as number;
        r1--;
      } else {
        tmp[t++] = a[j++] as number;
        r2--;
      }
    }
    while (r1 > 0) {
      tmp[t++] = a[i++] as number;
      r1--;
    }
    // The remaining n2 elements are already in place.
    for (let k = 0; k < len - r2; k++) a[b0 + k] = tmp[k] as number;
  };
  rec(0, n);
  return a;
}
