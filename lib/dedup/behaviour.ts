/**
 * The two btf__dedup() behaviours found in kernel builds, as data. Which one applies is
 * decided where the real tool decides it (lib/pipeline): a pahole step runs the host's
 * libbpf1 (Debian: 1.7.0), kernel 7.3's resolve_btfids the libbpf of its own tree.
 *
 *  - '1.7.0': libbpf v1.7.0. Its split dedup hashes base TYPEDEFs with btf_hash_common
 *    (name, info, referenced id) in btf_dedup_prep but looks split TYPEDEFs up with
 *    btf_hash_typedef (name, info), so a module's typedefs never find the base's and are
 *    kept, with what they reach. It copies the input header verbatim (extra bytes too),
 *    sets str_off to type_len, and swaps foreign-endian BTF only with a 24-byte header.
 *  - 'fixed': libbpf after commit 5b0f3729 ("Fix deduplication of typedef with base
 *    definitions", April 2026), as in kernel 7.3's tools/lib/bpf: base TYPEDEFs hashed
 *    with btf_hash_typedef too. Its struct btf_header has layout_off/layout_len (32
 *    bytes): a longer header with non-zero bytes past those is refused, a layout section
 *    is kept between types and strings, and offsets follow type_off.
 */
export type DedupBehaviour = '1.7.0' | 'fixed';

export const DEDUP_BEHAVIOURS: readonly DedupBehaviour[] = ['1.7.0', 'fixed'];

export interface DedupRules {
  /** How btf_dedup_prep hashes base TYPEDEFs. */
  readonly baseTypedefHash: 'common' | 'typedef';
  /** The header libbpf writes back: the input's bytes, or its own 32-byte struct. */
  readonly header: 'verbatim' | 'layout';
}

const RULES: Readonly<Record<DedupBehaviour, DedupRules>> = {
  '1.7.0': { baseTypedefHash: 'common', header: 'verbatim' },
  fixed: { baseTypedefHash: 'typedef', header: 'layout' },
};

export function dedupRules(b: DedupBehaviour): DedupRules {
  return RULES[b];
}

export function parseDedupBehaviour(s: string): DedupBehaviour | undefined {
  const v = s.trim();
  return (DEDUP_BEHAVIOURS as readonly string[]).includes(v) ? (v as DedupBehaviour) : undefined;
}
