/** The public API of modbtf: `import { ... } from 'modbtf'`. */
export {
  ModbtfError, ElfFormatError, BtfFormatError, BtfValidationError, ModuleError, ToolError,
  isModbtfError, type ErrorContext, type ErrorFamily,
} from './errors.js';

export { parseElf, isElf, ElfFile, type ElfSection, type ElfSymbol, type ElfHeader } from './elf/index.js';

export { Btf, parseBtf, type ParseBtfOptions } from './btf/btf.js';
export { BtfKind, kindName, BTF_INT_SIGNED, BTF_INT_CHAR, BTF_INT_BOOL, BtfFuncLinkage, BtfVarLinkage } from './btf/kinds.js';
export type * from './btf/types.js';
export { enum64Value, isComposite } from './btf/types.js';
export { BtfBuilder, type BtfBuilderOptions, type FwdKind } from './btf/builder.js';
export { writeBtf, rewriteBtf, type BtfDraft } from './btf/write.js';
export { validateBtf, assertValidBtf, type ValidateOptions } from './btf/validate.js';
export { forEachTypeRef, mapTypeRefs, forEachStrRef, mapStrRefs, kindLayoutSection } from './btf/fields.js';
export { readElfBtf, isRawBtf, BTF_SECTION, BTF_BASE_SECTION, BTF_IDS_SECTION, type ElfBtf } from './btf/source.js';
export { dumpRaw, dumpRawChunks } from './btf/dump-raw.js';
export { dumpJson, dumpJsonChunks } from './btf/dump-json.js';

export { loadModuleFile, loadModuleBytes, type LoadedModule } from './module/load.js';
export { loadBtfFile, loadBaseBtf, type LoadedBtf } from './module/btf-file.js';
export { detectCompression, decompress, compress, type Compression } from './module/compress.js';
export { findModuleSignature, stripSignature, type ModuleSignature } from './module/signature.js';

export { distill, DistillError, type DistillResult, type DistillErrorCode } from './distill/index.js';
export {
  relocate, relocateBtf, tryRelocate, formatIdMap, RelocationTarget, relocationTarget,
  RelocateError, RelocateFailure, formatLibbpfFailure, isRelocateFailure,
  type RelocateResult, type RelocateOutcome, type RelocatedBtf, type RelocateErrorCode,
  type RelocateCandidate, type EmbeddingPath,
} from './relocate/index.js';
export { checkModule, distilledPair, loadModuleBtf, type ModuleCheck, type CheckStatus, type CheckOptions } from './module/check.js';
export { expandModulePaths } from './module/walk.js';
export { loadKernelBtf, resolveKernelBtfPath, kernelOrigin, type KernelOrigin } from './module/kernel.js';
export { locateObjcopy, rewriteBtfSections, writeFileAtomic, type ObjcopyTool } from './objcopy/index.js';
export { dedupBtf, DedupError, DEDUP_BEHAVIOURS, parseDedupBehaviour, type DedupBehaviour, type DedupOptions, type DedupResult, type DedupErrorCode } from './dedup/index.js';
