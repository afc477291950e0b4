/**
 * Split BTF relocation onto a new base (libbpf v1.7.0 btf_relocate(), as the kernel
 * runs it at module load). See relocate.ts for the algorithm and its subtleties.
 */
export { relocate, relocateBtf, tryRelocate, formatIdMap } from './relocate.js';
export type { RelocateResult, RelocateOutcome, RelocatedBtf } from './relocate.js';
export { RelocationTarget, relocationTarget } from './target.js';
export {
  RelocateError, RelocateFailure, formatLibbpfFailure, isRelocateFailure,
} from './errors.js';
export type {
  RelocateErrorCode, RelocateCandidate, EmbeddingPath, RelocateErrorDetail,
} from './errors.js';
