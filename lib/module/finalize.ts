/**
 * The job kbuild runs for every module after the link, and packagers run over trees:
 *
 *   load (decompress, signature) → the module's BTF over vmlinux → the tree's pipeline
 *   (lib/pipeline profile) computes the new .BTF/.BTF.base/.BTF_ids → objcopy as that
 *   pipeline calls it → .BTF_ids patched in place → verify → recompress → atomic replace.
 *
 * Kernel 6.x (profile 6): distill over vmlinux (libbpf btf__distill_base), `.BTF_ids`
 * remapped through the distill id map (or resolved, for a module never resolved), one
 * objcopy call updating `.BTF` and adding `.BTF.base`, as pahole >= 1.28 writes them.
 * Kernel 7.x (profiles 7.2, 7.3): what that kernel's resolve_btfids writes (btf2btf,
 * 7.3's dedup, distill with the 32-byte header, name sort, `.BTF_ids` in the final ids),
 * embedded as gen-btf.sh does. A module built for a kernel newer than every profile is
 * refused (MODULE_KERNEL_TOO_NEW) unless a profile is forced: never an older one's bytes.
 *
 * The input file is replaced only when the whole rewrite succeeded and the bytes
 * differ; running finalize on a finalized module changes nothing.
 */
import { statSync } from 'node:fs';
import { bytesEqual } from '../bytes.js';
import { Btf } from '../btf/btf.js';
import { BTF_BASE_SECTION, BTF_IDS_SECTION, BTF_SECTION, KEPT_BTF_SECTION, readElfBtf } from '../btf/source.js';
import { validateBtf } from '../btf/validate.js';
import { distill } from '../distill/index.js';
import { parseElf, type ElfFile } from '../elf/index.js';
import { ModuleError, isModbtfError } from '../errors.js';
import { resolveBtfIds } from '../btfids/resolve.js';
import { remapBtfIds } from '../btfids/remap.js';
import { scanBtfIds } from '../btfids/layout.js';
import type { Diagnostic } from '../btfids/messages.js';
import { elfTarget, locateObjcopy, type ObjcopyChooser, type ObjcopyTool } from '../objcopy/locate.js';
import { rewriteSectionsChain, type SectionOp } from '../objcopy/sections-ops.js';
import { writeFileAtomic } from '../objcopy/atomic.js';
import { kernel7Btf } from '../pipeline/kernel7.js';
import { knownPipelines, pipelineProfile, profileForRelease, type PipelineProfile } from '../pipeline/profile.js';
import { compress, type Compression } from './compress.js';
import { loadModuleFile, type LoadedModule } from './load.js';
import { moduleKernelRelease } from './modinfo.js';
import { verifyRewrite } from './verify.js';
import { builtForAnotherKernel } from './built-against.js';

export interface FinalizeOptions {
  /** vmlinux BTF the module was built against (needed unless the module has .BTF.base). */
  vmlinux?: Btf;
  /** Write a distilled base (.BTF.base). */
  distill: boolean;
  /**
   * objcopy to use, or how to choose it for the module's machine; when absent, one that
   * handles the module (LLVM_OBJCOPY, OBJCOPY, llvm-objcopy, <triple>-objcopy, objcopy) is
   * located, and only when needed.
   */
  objcopy?: ObjcopyTool | ObjcopyChooser;
  /** Drop an appended signature instead of refusing the module. */
  stripSignature?: boolean;
  /** Compute everything, write nothing. */
  dryRun?: boolean;
  /** Whose bytes to write; default: the pipeline of the kernel in the module's vermagic (6.x when it has none). */
  profile?: PipelineProfile;
  /**
   * The BTF pahole wrote with --btf_encode_detached (kernel 7.x's kbuild step): the module
   * has no `.BTF` yet, and gets `.BTF` (and `.BTF.base`) added as gen-btf.sh adds them.
   */
  detachedBtf?: Uint8Array;
  /** Directory for objcopy's work files (default: $TMPDIR). */
  tmpDir?: string;
  /** fsync the new file and its directory (default true; the kbuild step: false, as kbuild's own steps). */
  durable?: boolean;
}

export type FinalizeAction = 'unchanged' | 'written' | 'would-write';

export interface FinalizeResult {
  file: string;
  action: FinalizeAction;
  /** What happened to the BTF: distilled now, already had .BTF.base, or kept as split over vmlinux. */
  btf: 'distilled' | 'had-base' | 'vmlinux-split';
  /** The resolve_btfids generation of the pipeline whose bytes were written (6 or 7). */
  abi: PipelineProfile['abi'];
  /** That pipeline (profile name: 6, 7.2, 7.3). */
  pipeline: PipelineProfile['name'];
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

/** What the pipeline decided: the objcopy calls to make and the `.BTF_ids` bytes to patch in. */
interface RewritePlan {
  mode: FinalizeResult['btf'];
  /** objcopy calls in order, each a list of section operations (none: no objcopy). */
  calls: SectionOp[][];
  /** New `.BTF_ids` contents (same size), patched at the section's file offset. */
  btfIds: Uint8Array | undefined;
  /** What `.BTF` / `.BTF.base` must read back as after the calls. */
  expect: { btf: Uint8Array; base: Uint8Array | undefined } | undefined;
  diagnostics: Diagnostic[];
}

function ctx(file: string): { file: string } { return { file }; }

function fileSize(path: string): number | undefined {
  try { return statSync(path).size; } catch { return undefined; }
}

function patchSection(bytes: Uint8Array, elf: ElfFile, name: string, contents: Uint8Array, file: string): void {
  const sec = elf.sectionByName(name);
  if (!sec || sec.size !== contents.length) {
    throw new ModuleError('MODULE_REWRITE_MISMATCH', `${name} is missing or changed size after objcopy`, { file, section: name });
  }
  bytes.set(contents, sec.offset);
}

/**
 * The pipeline of the kernel a module was built for (its vermagic), 6.x when it names no
 * version. A kernel newer than every profile: ModuleError MODULE_KERNEL_TOO_NEW, naming
 * both versions (modbtf does not know what that kernel's tools write).
 */
export function moduleProfile(elf: ElfFile, file = elf.file): PipelineProfile {
  const release = moduleKernelRelease(elf);
  const choice = release !== undefined ? profileForRelease(release) : undefined;
  if (choice === undefined || choice.kind === 'unknown') return pipelineProfile('6');
  if (choice.kind === 'known') return choice.profile;
  throw new ModuleError(
    'MODULE_KERNEL_TOO_NEW',
    `built for kernel ${choice.release}, newer than every kernel pipeline modbtf knows (${knownPipelines()}; the newest is ${choice.newest.since.join('.')}, resolve_btfids ${choice.newest.tool}): modbtf will not write an older kernel's bytes into it. Use that kernel's own tools (its tools/bpf/resolve_btfids), or force a pipeline with --kernel-abi`,
    file !== undefined ? { file } : {},
  );
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
  const profile = opts.profile ?? moduleProfile(mod.elf, file);
  if (mod.signature && !opts.stripSignature) {
    throw new ModuleError('MODULE_SIGNED', 'the module is signed: rewriting it would drop the signature. Finalize before signing (kbuild signs at modules_install), or pass --strip-signature', { file });
  }
  const elf = mod.elf;
  const detached = opts.detachedBtf;
  if (detached !== undefined && elf.sectionByName(BTF_SECTION)) {
    throw new ModuleError('MODULE_HAS_BTF', 'pahole wrote the BTF to a separate file, but the module already has a .BTF section', { file, section: BTF_SECTION });
  }
  if (detached === undefined && !elf.sectionByName(BTF_SECTION)) {
    throw new ModuleError('MODULE_NO_BTF', 'no .BTF section: the module was linked without BTF (CONFIG_DEBUG_INFO_BTF_MODULES, pahole)', { file, section: BTF_SECTION });
  }
  if (elf.sectionByName(KEPT_BTF_SECTION)) {
    throw new ModuleError('MODULE_RETARGETED', `the module was retargeted (its .BTF is over one kernel's vmlinux, its distilled BTF kept in ${KEPT_BTF_SECTION}); move it with \`modbtf retarget --kernel ...\` instead`, { file, section: KEPT_BTF_SECTION });
  }
  const hasBase = elf.sectionByName(BTF_BASE_SECTION) !== undefined;
  if (!hasBase && !opts.vmlinux) {
    throw new ModuleError('MODULE_NO_VMLINUX', 'the vmlinux BTF the module was built against is needed (-b/--base)', { file, section: BTF_SECTION });
  }
  const timings: FinalizeTimings = { btf: 0, distill: 0, btfIds: 0, rewrite: 0, compress: 0, write: 0 };
  let mark = performance.now();
  const lap = (phase: keyof FinalizeTimings): void => {
    const now = performance.now();
    timings[phase] += now - mark;
    mark = now;
  };
  const { btf: current, distilledBase } = detached !== undefined
    ? { btf: Btf.parse(detached, { file, section: BTF_SECTION, base: opts.vmlinux as Btf }), distilledBase: undefined }
    : readElfBtf(elf, { file, ...(opts.vmlinux ? { base: opts.vmlinux } : {}) });
  // The kernel's checks, before anything is written. Split BTF over the wrong vmlinux
  // still parses, but its ids and strings point at the wrong places.
  const [problem] = validateBtf(current, { limit: 1, kernel: profile.abi >= 7 ? 7 : 6 });
  if (problem) {
    if (distilledBase) throw problem;
    throw builtForAnotherKernel(file, problem, opts.vmlinux as Btf, elf);
  }
  lap('btf');

  const plan = profile.abi === 7
    ? plan7(elf, current, distilledBase, opts, profile, detached !== undefined)
    : plan6(elf, current, distilledBase, opts, lap);
  lap('btfIds');

  let out: Uint8Array;
  if (plan.calls.length > 0) {
    const target = elfTarget(elf);
    const tool = typeof opts.objcopy === 'function' ? await opts.objcopy(target) : opts.objcopy ?? (await locateObjcopy({ target }));
    // A plain module on disk (not compressed, not signed) is objcopy's input as it is
    // (verifyRewrite below would catch a file that no longer holds these bytes).
    const asIs = mod.compression === 'none' && !mod.signature && mod.raw.length === mod.elfBytes.length && fileSize(file) === mod.raw.length;
    out = await rewriteSectionsChain(tool, mod.elfBytes, plan.calls, { file, ...(opts.tmpDir !== undefined ? { tmpDir: opts.tmpDir } : {}), ...(asIs ? { inputPath: file } : {}) });
  } else {
    // A copy: mod.elfBytes may be a Buffer, whose slice() is a view.
    out = new Uint8Array(mod.elfBytes);
  }
  const outElf = parseElf(out, { file });
  if (plan.btfIds !== undefined) patchSection(out, outElf, BTF_IDS_SECTION, plan.btfIds, file);
  if (plan.expect !== undefined) {
    // .shstrtab gains the new section names; objcopy may rebuild .strtab (and so the
    // name offsets in .symtab), which verifyRewrite checks symbol by symbol instead.
    verifyRewrite(elf, outElf, new Set([BTF_SECTION, BTF_BASE_SECTION, '.shstrtab', '.strtab', '.symtab']), new Set([BTF_IDS_SECTION]), file);
    // What the kernel will read back must be what we computed.
    const check = readElfBtf(parseElf(out, { file }), { file, ...(opts.vmlinux ? { base: opts.vmlinux } : {}) });
    const want = plan.expect;
    const baseOk = want.base === undefined ? check.distilledBase === undefined : check.distilledBase !== undefined && bytesEqual(check.distilledBase.bytes, want.base);
    if (!baseOk || !bytesEqual(check.btf.bytes, want.btf)) {
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
      await writeFileAtomic(file, finalBytes, { durable: opts.durable ?? true });
      action = 'written';
    }
  }
  lap('write');
  const baseSec = outElf.sectionByName(BTF_BASE_SECTION);
  return {
    file,
    action,
    btf: plan.mode,
    abi: profile.abi,
    pipeline: profile.name,
    compression: mod.compression,
    sizeBefore: mod.raw.length,
    sizeAfter: finalBytes.length,
    distilledBaseSize: baseSec?.size,
    diagnostics: plan.diagnostics,
    timings,
  };
}

/**
 * Kernel 6.x: pahole's `.BTF` stays in pahole's order; distilling adds `.BTF.base` in the
 * same objcopy call that updates `.BTF` (pahole >= 1.28's bytes with GNU objcopy).
 * Ids already resolved against vmlinux are remapped through the distill id map (set8
 * flags stay with their functions); otherwise resolved against the final BTF, which
 * recognises its own earlier output, so a second run changes nothing.
 */
function plan6(elf: ElfFile, current: Btf, distilledBase: Btf | undefined, opts: FinalizeOptions, lap: (phase: keyof FinalizeTimings) => void): RewritePlan {
  const file = current.source.file ?? elf.file ?? '';
  if (distilledBase || !opts.distill) {
    lap('distill');
    const ids = elf.sectionByName(BTF_IDS_SECTION) ? resolveBtfIds(elf, current, {}) : undefined;
    return { mode: distilledBase ? 'had-base' : 'vmlinux-split', calls: [], btfIds: ids?.section ? ids.sectionBytes : undefined, expect: undefined, diagnostics: ids?.diagnostics ?? [] };
  }
  const d = distill(opts.vmlinux as Btf, current);
  const base = Btf.parse(d.base, { file, section: BTF_BASE_SECTION });
  const finalBtf = Btf.parse(d.split, { file, section: BTF_SECTION, base });
  lap('distill');
  const ids = elf.sectionByName(BTF_IDS_SECTION) ? remapBtfIds(elf, d.idMap, finalBtf, { oldBtf: current }) : undefined;
  return {
    mode: 'distilled',
    calls: [[{ op: 'update', name: BTF_SECTION, contents: d.split }, { op: 'add', name: BTF_BASE_SECTION, contents: d.base }]],
    btfIds: ids?.section ? ids.sectionBytes : undefined,
    expect: { btf: d.split, base: d.base },
    diagnostics: ids?.diagnostics ?? [],
  };
}

/**
 * Kernel 7.x: resolve_btfids 7.x's result (lib/pipeline/kernel7.ts). A module that has
 * `.BTF.base` already went through it (or through 6.x's pahole): only its `.BTF_ids`
 * is checked against its own BTF. New sections are added as gen-btf.sh adds them (one
 * objcopy call per section: the section order in the file depends on it); a `.BTF` the
 * module already has is updated in the first call.
 */
function plan7(elf: ElfFile, current: Btf, distilledBase: Btf | undefined, opts: FinalizeOptions, profile: PipelineProfile, detached: boolean): RewritePlan {
  const scan = scanBtfIds(elf, { abi: 7 });
  if (distilledBase) {
    const ids = scan.layout ? resolveBtfIds(elf, current, { abi: 7, scan }) : undefined;
    return { mode: 'had-base', calls: [], btfIds: ids?.section ? ids.sectionBytes : undefined, expect: undefined, diagnostics: ids?.diagnostics ?? [] };
  }
  const r = kernel7Btf(elf, scan, current, opts.vmlinux, { profile, distill: opts.distill, rerunSafe: true });
  const btfOp: SectionOp = { op: detached ? 'add' : 'update', name: BTF_SECTION, contents: r.btf };
  const calls: SectionOp[][] = [];
  if (detached || !bytesEqual(r.btf, current.bytes)) calls.push([btfOp]);
  if (r.btfBase !== undefined) {
    const baseOp: SectionOp = { op: 'add', name: BTF_BASE_SECTION, contents: r.btfBase };
    if (detached) calls.push([baseOp]);
    else (calls[0] ??= [btfOp]).push(baseOp);
  }
  return {
    mode: r.btfBase !== undefined ? 'distilled' : 'vmlinux-split',
    calls,
    btfIds: r.btfIds,
    expect: calls.length > 0 ? { btf: r.btf, base: r.btfBase } : undefined,
    diagnostics: r.diagnostics.filter((d) => d.level !== 'debug'),
  };
}
