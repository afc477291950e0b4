/**
 * Retarget: make a module's BTF plain split BTF over one given kernel's vmlinux BTF,
 * for kernels that cannot relocate `.BTF.base` themselves (before 6.11) or to settle
 * the relocation before installation:
 *
 *   load (decompress, signature) → distilled pair (.BTF.base, the kept pair of an
 *   earlier retarget, or distilled now from --built-with) → relocate onto the target
 *   (libbpf btf_relocate; refuse on failure) → .BTF_ids remapped from the distilled
 *   numbering to the target's (pristine layout recovered, so set8 flags stay with
 *   their functions; every name resolved against the real target types, so lists and
 *   sets the kernel never relocates become right too) → one objcopy call → patch
 *   .BTF_ids in place → verify → recompress → atomic replace.
 *
 * Output: `.BTF` = the relocated split (libbpf's bytes), no `.BTF.base` (a 6.11+
 * kernel would relocate the already relocated `.BTF` again), and the distilled state
 * kept in sections the kernel ignores so the module can be retargeted again:
 * `.BTF.modbtf` (distilled split), `.BTF.base.modbtf` (distilled base) and
 * `.BTF_ids.modbtf` (`.BTF_ids` in the distilled numbering: without it a second
 * retarget would have to recover set8 pair order from ids of a kernel it no longer
 * has). Retargeting onto the same kernel again changes nothing.
 */
import { bytesEqual } from '../bytes.js';
import { Btf } from '../btf/btf.js';
import { BTF_BASE_SECTION, BTF_IDS_SECTION, BTF_SECTION, KEPT_BTF_BASE_SECTION, KEPT_BTF_IDS_SECTION, KEPT_BTF_SECTION } from '../btf/source.js';
import { validateBtf } from '../btf/validate.js';
import { distill } from '../distill/index.js';
import { parseElf, type ElfFile } from '../elf/index.js';
import { ModuleError, isModbtfError } from '../errors.js';
import { resolveBtfIds, type ResolveResult } from '../btfids/resolve.js';
import { remapBtfIds } from '../btfids/remap.js';
import { scanBtfIds } from '../btfids/layout.js';
import { kernel7Btf } from '../pipeline/kernel7.js';
import type { PipelineProfile } from '../pipeline/profile.js';
import { moduleProfile } from './finalize.js';
import type { Diagnostic } from '../btfids/messages.js';
import { RelocationTarget, tryRelocate } from '../relocate/index.js';
import type { RelocateFailure } from '../relocate/index.js';
import { elfTarget, locateObjcopy, type ObjcopyChooser, type ObjcopyTool } from '../objcopy/locate.js';
import { rewriteSections, type SectionOp } from '../objcopy/sections-ops.js';
import { writeFileAtomic } from '../objcopy/atomic.js';
import { compress, type Compression } from './compress.js';
import { loadModuleFile, type LoadedModule } from './load.js';
import { verifyRewrite } from './verify.js';
import { BASE_OPTION, assertBuiltAgainst, checkingKernelOf } from './built-against.js';

export { KEPT_BTF_SECTION, KEPT_BTF_BASE_SECTION, KEPT_BTF_IDS_SECTION };

export interface RetargetOptions {
  /** vmlinux BTF of the kernel the module is retargeted onto (or its RelocationTarget, to share the index). */
  target: Btf | RelocationTarget;
  /** vmlinux BTF the module was built against: needed only for a module without a distilled base. */
  builtWith?: Btf;
  /** objcopy to use; located when absent, and only when needed. */
  objcopy?: ObjcopyTool | ObjcopyChooser;
  /** Drop an appended signature instead of refusing the module. */
  stripSignature?: boolean;
  /** Compute everything, write nothing. */
  dryRun?: boolean;
  /** Whose pipeline distills a module without .BTF.base; default: the module's vermagic. */
  profile?: PipelineProfile;
}

export type RetargetAction = 'unchanged' | 'written' | 'would-write' | 'refused';

/** Where the distilled pair came from. */
export type RetargetSource = 'btf-base' | 'kept' | 'distilled';

/** A `.BTF_ids` entry whose id .BTF.base alone would have left wrong (not relocated by the kernel). */
export interface CorrectedId {
  kind: string;
  name: string;
  /** The id in the distilled numbering (what the kernel would keep). */
  distilledId: number;
  /** The id over the target vmlinux. */
  id: number;
}

export interface RetargetResult {
  file: string;
  action: RetargetAction;
  source: RetargetSource;
  compression: Compression;
  sizeBefore: number;
  sizeAfter: number;
  /** Set when action is 'refused': every reason relocation fails. Nothing was written. */
  failure: RelocateFailure | undefined;
  /** resolve_btfids' warnings against the target BTF (same texts). */
  diagnostics: Diagnostic[];
  /** List/set entries that only retarget makes right on the target kernel. */
  correctedIds: CorrectedId[];
}

interface DistilledState {
  base: Btf;
  split: Btf;
  /** `.BTF_ids` contents in the distilled numbering; undefined without `.BTF_ids`. */
  ids: Uint8Array | undefined;
  /** Resolution of those ids (for correctedIds). */
  idsResolution: ResolveResult | undefined;
  source: RetargetSource;
}

function sectionBytes(elf: ElfFile, name: string): Uint8Array | undefined {
  const sec = elf.sectionByName(name);
  return sec ? elf.sectionData(sec) : undefined;
}

/** A copy of the object with `.BTF_ids` holding `ids` (same size), parsed. */
function withBtfIds(elfBytes: Uint8Array, elf: ElfFile, ids: Uint8Array, file: string): ElfFile {
  const copy = new Uint8Array(elfBytes);
  patchSection(copy, elf, BTF_IDS_SECTION, ids, file);
  return parseElf(copy, { file });
}

function patchSection(bytes: Uint8Array, elf: ElfFile, name: string, contents: Uint8Array, file: string): void {
  const sec = elf.sectionByName(name);
  if (!sec || sec.size !== contents.length) {
    throw new ModuleError('MODULE_REWRITE_MISMATCH', `${name} is missing or does not have the size of the kept ${KEPT_BTF_IDS_SECTION}`, { file, section: name });
  }
  bytes.set(contents, sec.offset);
}

function parseBtf(elf: ElfFile, name: string, file: string, base?: Btf): Btf {
  const data = sectionBytes(elf, name);
  if (data === undefined) throw new ModuleError('MODULE_NO_BTF', `no ${name} section`, { file, section: name });
  const btf = Btf.parse(data, { file, section: name, ...(base ? { base } : {}) });
  const [problem] = validateBtf(btf, { limit: 1, kernel: checkingKernelOf(elf) });
  if (problem) throw problem;
  return btf;
}

/**
 * The distilled pair an earlier retarget kept (`.BTF.base.modbtf`, `.BTF.modbtf`), or
 * undefined when the module has neither section. For check/relocate/finalize, which
 * must not take the retargeted `.BTF` for split BTF over the build's vmlinux.
 */
export function readKeptDistilledBtf(elf: ElfFile, file: string): { base: Btf; split: Btf } | undefined {
  if (!elf.sectionByName(KEPT_BTF_BASE_SECTION) && !elf.sectionByName(KEPT_BTF_SECTION)) return undefined;
  const base = parseBtf(elf, KEPT_BTF_BASE_SECTION, file);
  return { base, split: parseBtf(elf, KEPT_BTF_SECTION, file, base) };
}

/** The distilled pair and the `.BTF_ids` in its numbering, from whatever the module carries. */
function distilledState(mod: LoadedModule, builtWith: Btf | undefined, forced: PipelineProfile | undefined): DistilledState {
  const { elf, path: file } = mod;
  const idsNow = sectionBytes(elf, BTF_IDS_SECTION);
  if (elf.sectionByName(BTF_BASE_SECTION)) {
    // Finalized (or built by pahole >= 1.28): .BTF_ids is in the distilled numbering.
    const base = parseBtf(elf, BTF_BASE_SECTION, file);
    const split = parseBtf(elf, BTF_SECTION, file, base);
    return { base, split, ids: idsNow, idsResolution: idsNow ? resolveBtfIds(elf, split, { distilled: true }) : undefined, source: 'btf-base' };
  }
  const kept = readKeptDistilledBtf(elf, file);
  if (kept) {
    // Retargeted before: start again from the kept distilled state.
    const { base, split } = kept;
    let ids: Uint8Array | undefined;
    let idsResolution: ResolveResult | undefined;
    if (idsNow) {
      ids = sectionBytes(elf, KEPT_BTF_IDS_SECTION);
      if (ids === undefined) {
        throw new ModuleError('MODULE_NO_KEPT_IDS', `the module carries ${KEPT_BTF_SECTION} but no ${KEPT_BTF_IDS_SECTION}: its ${BTF_IDS_SECTION} cannot be put back into the distilled numbering`, { file, section: KEPT_BTF_IDS_SECTION });
      }
      idsResolution = resolveBtfIds(withBtfIds(mod.elfBytes, elf, ids, file), split, { distilled: true });
    }
    return { base, split, ids, idsResolution, source: 'kept' };
  }
  if (!elf.sectionByName(BTF_SECTION)) {
    throw new ModuleError('MODULE_NO_BTF', 'no .BTF section: the module was linked without BTF (CONFIG_DEBUG_INFO_BTF_MODULES, pahole)', { file, section: BTF_SECTION });
  }
  if (!builtWith) {
    throw new ModuleError('MODULE_NO_BTF_BASE', `the module has no .BTF.base; give the vmlinux it was built against (${BASE_OPTION}) so it can be distilled first`, { file, section: BTF_SECTION });
  }
  const current = Btf.parse(sectionBytes(elf, BTF_SECTION) as Uint8Array, { file, section: BTF_SECTION, base: builtWith });
  assertBuiltAgainst(file, current, builtWith, elf, forced !== undefined ? (forced.abi >= 7 ? 7 : 6) : checkingKernelOf(elf));
  // Only a module that still needs distilling needs its kernel's pipeline.
  const profile = forced ?? moduleProfile(elf, file);
  if (profile.abi === 7) {
    // As finalize in the 7.x profile: resolve_btfids 7.x's distilled, name-sorted pair.
    const r = kernel7Btf(elf, scanBtfIds(elf, { abi: 7 }), current, builtWith, { distill: true, rerunSafe: true, profile });
    const base = r.finalBase as Btf;
    return { base, split: r.final, ids: r.btfIds, idsResolution: r.resolution, source: 'distilled' };
  }
  const d = distill(builtWith, current);
  const base = Btf.parse(d.base, { file, section: `${BTF_BASE_SECTION} (distilled)` });
  const split = Btf.parse(d.split, { file, section: `${BTF_SECTION} (distilled)`, base });
  // As finalize: ids resolved against vmlinux are remapped through the distill map.
  const idsResolution = idsNow ? remapBtfIds(elf, d.idMap, split, { oldBtf: current }) : undefined;
  return { base, split, ids: idsResolution?.sectionBytes, idsResolution, source: 'distilled' };
}

export async function retargetModule(path: string, opts: RetargetOptions): Promise<RetargetResult> {
  return retargetLoaded(await loadModuleFile(path), opts);
}

export async function retargetLoaded(mod: LoadedModule, opts: RetargetOptions): Promise<RetargetResult> {
  try {
    return await retargetInner(mod, opts);
  } catch (err: unknown) {
    if (isModbtfError(err)) throw err.withContext({ file: mod.path });
    throw err;
  }
}

async function retargetInner(mod: LoadedModule, opts: RetargetOptions): Promise<RetargetResult> {
  const file = mod.path;
  if (mod.signature && !opts.stripSignature) {
    throw new ModuleError('MODULE_SIGNED', 'the module is signed: rewriting it would drop the signature. Retarget before signing, or pass --strip-signature', { file });
  }
  const elf = mod.elf;
  const state = distilledState(mod, opts.builtWith, opts.profile);
  const r = tryRelocate(state.base, state.split, opts.target);
  const result = {
    file, source: state.source, compression: mod.compression, sizeBefore: mod.raw.length,
  };
  if (!r.ok) {
    r.failure.withContext({ file });
    return { ...result, action: 'refused', sizeAfter: mod.raw.length, failure: r.failure, diagnostics: [], correctedIds: [] };
  }
  const targetBase = opts.target instanceof RelocationTarget ? opts.target.base : opts.target;
  const relocated = Btf.parse(r.split, { file, section: BTF_SECTION, base: targetBase });

  // .BTF_ids: from the distilled numbering to the target's. remapBtfIds puts set
  // elements back in their symbols' slots using the distilled resolution (so set8
  // flags stay with their kfuncs) and resolves every name again against the target.
  let ids: ResolveResult | undefined;
  const correctedIds: CorrectedId[] = [];
  if (state.ids !== undefined) {
    const keptElf = bytesEqual(state.ids, sectionBytes(elf, BTF_IDS_SECTION)) ? elf : withBtfIds(mod.elfBytes, elf, state.ids, file);
    ids = remapBtfIds(keptElf, r.idMap, relocated, { oldBtf: state.split, distilled: false });
    const before = new Map((state.idsResolution?.entries ?? []).map((e) => [`${e.kind}\0${e.name}`, e]));
    for (const e of ids.entries) {
      const old = before.get(`${e.kind}\0${e.name}`);
      if (!old || old.relocated.every((x) => x)) continue;
      if (old.id !== e.id) correctedIds.push({ kind: e.kind, name: e.name, distilledId: old.id, id: e.id });
    }
  }
  const diagnostics = (ids?.diagnostics ?? []).filter((d) => d.code !== 'BTFIDS_REMAP_CHANGED');

  // Sections: only what differs from the input.
  const ops: SectionOp[] = [];
  const want: [string, Uint8Array | undefined][] = [
    [BTF_SECTION, r.split],
    [KEPT_BTF_SECTION, state.split.bytes],
    [KEPT_BTF_BASE_SECTION, state.base.bytes],
    [KEPT_BTF_IDS_SECTION, state.ids],
  ];
  for (const [name, contents] of want) {
    const now = sectionBytes(elf, name);
    if (contents === undefined) {
      if (now !== undefined) ops.push({ op: 'remove', name });
    } else if (!bytesEqual(now, contents)) {
      ops.push({ op: now === undefined ? 'add' : 'update', name, contents });
    }
  }
  if (elf.sectionByName(BTF_BASE_SECTION)) ops.push({ op: 'remove', name: BTF_BASE_SECTION });

  let out: Uint8Array;
  if (ops.length > 0) {
    const target = elfTarget(mod.elf);
    const tool = typeof opts.objcopy === 'function' ? await opts.objcopy(target) : opts.objcopy ?? (await locateObjcopy({ target }));
    out = await rewriteSections(tool, mod.elfBytes, ops, { file });
  } else {
    out = new Uint8Array(mod.elfBytes);
  }
  const outElf = parseElf(out, { file });
  if (ids && ids.section) patchSection(out, outElf, BTF_IDS_SECTION, ids.sectionBytes, file);
  if (ops.length > 0) {
    verifyRewrite(elf, outElf, new Set([BTF_SECTION, BTF_BASE_SECTION, KEPT_BTF_SECTION, KEPT_BTF_BASE_SECTION, KEPT_BTF_IDS_SECTION, '.shstrtab', '.strtab', '.symtab']), new Set([BTF_IDS_SECTION]), file);
    // What the kernel and a later retarget will read back must be what we computed.
    const back = parseElf(out, { file });
    for (const [name, contents] of want) {
      if (!bytesEqual(sectionBytes(back, name), contents)) {
        throw new ModuleError('MODULE_REWRITE_MISMATCH', `the rewritten ${name} does not read back as written; nothing written`, { file, section: name });
      }
    }
    if (back.sectionByName(BTF_BASE_SECTION)) {
      throw new ModuleError('MODULE_REWRITE_MISMATCH', `${BTF_BASE_SECTION} is still there after objcopy; nothing written`, { file, section: BTF_BASE_SECTION });
    }
  }

  const unchangedElf = out.length === mod.elfBytes.length && bytesEqual(out, mod.elfBytes);
  const finalBytes = unchangedElf && !mod.signature ? mod.raw : await compress(out, mod.compression, { file });
  const unchanged = finalBytes === mod.raw || bytesEqual(finalBytes, mod.raw);
  let action: RetargetAction = 'unchanged';
  if (!unchanged) {
    if (opts.dryRun) action = 'would-write';
    else {
      await writeFileAtomic(file, finalBytes);
      action = 'written';
    }
  }
  return { ...result, action, sizeAfter: finalBytes.length, failure: undefined, diagnostics, correctedIds };
}
