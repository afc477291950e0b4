/** libbpf's btf__dedup() for split BTF over a base (and standalone BTF), in both behaviours found in kernel builds. */
export { dedupBtf, type DedupOptions, type DedupResult } from './dedup.js';
export { DEDUP_BEHAVIOURS, dedupRules, parseDedupBehaviour, type DedupBehaviour, type DedupRules } from './behaviour.js';
export { DedupError, type DedupErrorCode } from './errors.js';
export { inPlaceRoomWords } from './words.js';
