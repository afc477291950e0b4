/**
 * The job kbuild runs for every module after the link, and packagers run over trees:
 *
 *   load (decompress, signature) → parse .BTF over vmlinux → distill? → .BTF_ids
 *   (resolve against the final BTF, or remap already-resolved ids through the distill
 *   id map) → one objcopy call for .BTF/.BTF.base → patch .BTF_ids in place →
 *   verify → recompress → atomic replace.
 *
 * The input file is replaced only when the whole rewrite succeeded and the bytes
 * differ; running finalize on a finalized module changes nothing.
 */
import { bytesEqual } from '../bytes.js';
import { Btf } from '../btf/btf.js';
import { BTF_BASE_SECTION, BTF_IDS_SECTION, BTF_SECTION, KEPT_BTF_SECTION, readElfBtf } from '../btf/source.js';
import { validateBtf } from '../btf/validate.js';
import { distill } from '../distill/index.js';
import { parseElf, type ElfFile } from '../elf/index.js';
import { ModuleError, isModbtfError } from '../errors.js';
import { resolveBtfIds } from '../btfids/resolve.js';
import { remapBtfIds } from '../btfids/remap.js';
import type { Diagnostic } from '../btfids/messages.js';
import { locateObjcopy, type ObjcopyTool } from '../objcopy/locate.js';
import { rewriteBtfSections } from '../objcopy/sections.js';
import { writeFileAtomic } from '../objcopy/atomic.js';
import { compress, type Compression } from './compress.js';
import { loadModuleFile, type LoadedModule } from './load.js';
import { verifyRewrite } from './verify.js';

export interface FinalizeOptions {
  /** vmlinux BTF the module was built against (needed unless the module has .BTF.base). */
  vmlinux?: Btf;
  /** Write a distilled base (.BTF.base). */
  distill: boolean;
  /** objcopy to use; located (LLVM_OBJCOPY, OBJCOPY, llvm-objcopy, objcopy) when absent, and only when needed. */
  objcopy?: ObjcopyTool | (() => Promise<ObjcopyTool>);
  /** Drop an appended signature instead of refusing the module. */
  stripSignature?: boolean;
  /** Compute everything, write nothing. */
  dryRun?: boolean;
}

export type FinalizeAction = 'unchanged' | 'written' | 'would-write';

export interface FinalizeResult {
  file: string;
  action: FinalizeAction;
  /** What happened to the BTF: distilled now, already had .BTF.base, or kept as split over vmlinux. */
  btf: 'distilled' | 'had-base' | 'vmlinux-split';
  compression: Compression;
  sizeBefore: number;
  sizeAfter: number;
  /** Size of the .BTF.base written (or found). */
  distilledBaseSize: number | undefined;
  /** resolve_btfids' warnings (same texts) and modbtf's about ids the kernel will not relocate. */
  diagnostics: Diagnostic[];
  /** Milliseconds per phase, for benchmarks and MODBTF_TIMING. */
  timings: FinalizeTimings;
}

export interface FinalizeTimings {
  /** Parse and validate the module's BTF. */
  btf: number;
  distill: number;
  btfIds: number;
  /** objcopy, patching, verification. */
  rewrite: number;
  compress: number;
  write: number;
}

function ctx(file: string): { file: string } { return { file }; }

function patchSection(bytes: Uint8Array, elf: ElfFile, name: string, contents: Uint8Array, file: string): void {
  const sec = elf.sectionByName(name);
  if (!sec || sec.size !== contents.length) {
    throw new ModuleError('MODULE_REWRITE_MISMATCH', `${name} is missing or changed size after objcopy`, { file, section: name });
  }
  bytes.set(contents, sec.offset);
}

export async function finalizeModule(path: string, opts: FinalizeOptions): Promise<FinalizeResult> {
  return finalizeLoaded(await loadModuleFile(path), opts);
}

export async function finalizeLoaded(mod: LoadedModule, opts: FinalizeOptions): Promise<FinalizeResult> {
  try {
    return await finalizeInner(mod, opts);
  } catch (err: unknown) {
    if (isModbtfError(err)) throw err.withContext(ctx(mod.path));
    throw err;
  }
}

async function finalizeInner(mod: LoadedModule, opts: FinalizeOptions): Promise<FinalizeResult> {
  const file = mod.path;
  if (mod.signature && !opts.stripSignature) {
    throw new ModuleError('MODULE_SIGNED', 'the module is signed: rewriting it would drop the signature. Finalize before signing (kbuild signs at modules_install), or pass --strip-signature', { file });
  }
  const elf = mod.elf;
  if (!elf.sectionByName(BTF_SECTION)) {
    throw new ModuleError('MODULE_NO_BTF', 'no .BTF section: the module was linked without BTF (CONFIG_DEBUG_INFO_BTF_MODULES, pahole)', { file, section: BTF_SECTION });
  }
  if (elf.sectionByName(KEPT_BTF_SECTION)) {
    throw new ModuleError('MODULE_RETARGETED', `the module was retargeted (its .BTF is over one kernel's vmlinux, its distilled BTF kept in ${KEPT_BTF_SECTION}); move it with \`modbtf retarget --kernel ...\` instead`, { file, section: KEPT_BTF_SECTION });
  }
  const hasBase = elf.sectionByName(BTF_BASE_SECTION) !== undefined;
  if (!hasBase && !opts.vmlinux) {
    throw new ModuleError('MODULE_NO_VMLINUX', 'the vmlinux BTF the module was built against is needed (--base)', { file, section: BTF_SECTION });
  }
  const timings: FinalizeTimings = { btf: 0, distill: 0, btfIds: 0, rewrite: 0, compress: 0, write: 0 };
  let mark = performance.now();
  const lap = (phase: keyof FinalizeTimings): void => {
    const now = performance.now();
    timings[phase] += now - mark;
    mark = now;
  };
  const { btf: current, distilledBase } = readElfBtf(elf, { file, ...(opts.vmlinux ? { base: opts.vmlinux } : {}) });
  // The kernel's checks, before anything is written. Split BTF over the wrong vmlinux
  // still parses, but its ids and strings point at the wrong places.
  const [problem] = validateBtf(current, { limit: 1 });
  if (problem) {
    if (distilledBase) throw problem;
    throw new ModuleError('MODULE_WRONG_VMLINUX', `the module's .BTF is not valid over this vmlinux BTF (${problem.offset !== undefined ? `+0x${problem.offset.toString(16)}: ` : ''}${problem.message}): was the module built against another kernel? Give the vmlinux of the kernel it was built for`, { file, section: BTF_SECTION, ...(problem.typeId !== undefined ? { typeId: problem.typeId } : {}) }, { cause: problem });
  }

  lap('btf');
  let finalBtf: Btf;
  let newSections: { btf: Uint8Array; base: Uint8Array } | undefined;
  let idMap: Uint32Array | undefined;
  let mode: FinalizeResult['btf'];
  if (distilledBase) {
    // pahole >= 1.28 (or an earlier finalize) already wrote .BTF.base (validated above): keep both.
    finalBtf = current;
    mode = 'had-base';
  } else if (opts.distill) {
    const d = distill(opts.vmlinux as Btf, current);
    const base = Btf.parse(d.base, { file, section: BTF_BASE_SECTION });
    finalBtf = Btf.parse(d.split, { file, section: BTF_SECTION, base });
    newSections = { btf: d.split, base: d.base };
    idMap = d.idMap;
    mode = 'distilled';
  } else {
    finalBtf = current;
    mode = 'vmlinux-split';
  }

  lap('distill');
  // Ids already resolved against vmlinux are remapped through the distill map (set8
  // flags stay with their functions); otherwise resolved against the final BTF, which
  // recognises its own earlier output, so a second run changes nothing.
  const ids = !elf.sectionByName(BTF_IDS_SECTION)
    ? undefined
    : idMap
      ? remapBtfIds(elf, idMap, finalBtf, { oldBtf: current })
      : resolveBtfIds(elf, finalBtf, {});

  lap('btfIds');
  let out: Uint8Array;
  if (newSections) {
    const tool = typeof opts.objcopy === 'function' ? await opts.objcopy() : opts.objcopy ?? (await locateObjcopy());
    out = await rewriteBtfSections(tool, mod.elfBytes, { btf: newSections.btf, btfBase: newSections.base, inputHasBtf: true, inputHasBtfBase: false }, { file });
  } else {
    // A copy: mod.elfBytes may be a Buffer, whose slice() is a view.
    out = new Uint8Array(mod.elfBytes);
  }
  const outElf = parseElf(out, { file });
  if (ids && ids.section) patchSection(out, outElf, BTF_IDS_SECTION, ids.sectionBytes, file);
  if (newSections) {
    // .shstrtab gains the new section name; llvm-objcopy rebuilds .strtab (and so the
    // name offsets in .symtab), which verifyRewrite checks symbol by symbol instead.
    verifyRewrite(elf, outElf, new Set([BTF_SECTION, BTF_BASE_SECTION, '.shstrtab', '.strtab', '.symtab']), new Set([BTF_IDS_SECTION]), file);
    // What the kernel will read back must be what we computed.
    const check = readElfBtf(parseElf(out, { file }), { file });
    if (!check.distilledBase || !bytesEqual(check.btf.bytes, newSections.btf)) {
      throw new ModuleError('MODULE_REWRITE_MISMATCH', 'the rewritten .BTF/.BTF.base do not read back as written; nothing written', { file });
    }
  }

  lap('rewrite');
  const unchangedElf = bytesEqual(out, mod.elfBytes);
  const finalBytes = unchangedElf && !mod.signature ? mod.raw : await compress(out, mod.compression, { file });
  const unchanged = finalBytes === mod.raw || bytesEqual(finalBytes, mod.raw);
  lap('compress');
  let action: FinalizeAction = 'unchanged';
  if (!unchanged) {
    if (opts.dryRun) action = 'would-write';
    else {
      await writeFileAtomic(file, finalBytes);
      action = 'written';
    }
  }
  lap('write');
  const baseSec = outElf.sectionByName(BTF_BASE_SECTION);
  return {
    file,
    action,
    btf: mode,
    compression: mod.compression,
    sizeBefore: mod.raw.length,
    sizeAfter: finalBytes.length,
    distilledBaseSize: baseSec?.size,
    diagnostics: ids?.diagnostics ?? [],
    timings,
  };
}
