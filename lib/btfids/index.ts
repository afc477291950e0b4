/**
 * `.BTF_ids`: find the `__BTF_ID__*` symbols, resolve them against the module's final
 * BTF exactly as Debian's 6.12 resolve_btfids does, remap ids already written for the
 * old numbering after distillation, and compute the object resolve_btfids writes.
 * Pure: bytes in, bytes and diagnostics out; nothing is printed or written.
 */
export { BtfIdsError, type BtfIdsErrorCode } from './errors.js';
export { msg as btfIdsMessages, displayName, strerror, type Diagnostic, type DiagnosticCode, type DiagnosticLevel } from './messages.js';
export {
  BTF_ID_PREFIX, ID_KINDS, isBtfIdSymbol, parseBtfIdSymbol, readSymbols,
  type IdKind, type SetKind, type ParsedBtfIdSymbol, type RawSymbol,
} from './symbols.js';
export {
  ADDR_CNT, BTF_SET8_KFUNCS, scanBtfIds, slotOffset, entriesInPatchOrder, setsInOrder,
  type AlignmentFix, type BtfIdsLayout, type BtfIdsScan, type IdEntry, type SetEntry, type ScanOptions,
} from './layout.js';
export { cmpId, msortPermutation } from './sort.js';
export {
  resolveBtfIds, resolveScanned, resolveNames, patchSection, recoverPristine, isUnresolved,
  type NameResolution, type ResolveOptions, type ResolveResult, type ResolvedEntry, type SimulateOptions,
} from './resolve.js';
export { remapBtfIds, type RemapOptions } from './remap.js';
export { elfUpdateImage, alignmentFixImage, type SectionContents } from './write.js';
export { libbpfBtfNew, libbpfParseFile, isLibelfElf, LIBBPF_ERRNO_FORMAT, type LibbpfLoad } from './btf-load.js';
export { libelfOutcome, type LibelfOutcome } from './elf-check.js';
