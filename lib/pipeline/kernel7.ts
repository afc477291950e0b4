/**
 * What kernel 7.x's resolve_btfids computes for one module, in memory: the `X.BTF`,
 * `X.BTF.base` and `X.BTF_ids` files gen-btf.sh then embeds. The steps and their order
 * are main.c's:
 *
 *   btf2btf (KF_IMPLICIT_ARGS kfuncs) -> distill (--distill_base, with a base) ->
 *   sort the split by name -> resolve `.BTF_ids` against the final ids, sort the sets
 *
 * with the diagnostics resolve_btfids prints, in its order (the caller adds the file
 * I/O lines). `rerunSafe` is for finalize on a module that went through this already:
 * kfuncs rewritten before are left alone, and a `.BTF_ids` resolved before is first put
 * back into its pristine layout (set8 flags with their own kfuncs) using the ids the
 * module's current BTF gives.
 */
import { Btf } from '../btf/btf.js';
import { sortByName } from '../btf/permute.js';
import { BTF_BASE_SECTION, BTF_IDS_SECTION, BTF_SECTION } from '../btf/source.js';
import type { ElfFile } from '../elf/index.js';
import { distill, DistillError } from '../distill/index.js';
import { BtfIdsError } from '../btfids/errors.js';
import type { BtfIdsScan } from '../btfids/layout.js';
import { msg, strerror, type Diagnostic } from '../btfids/messages.js';
import { isUnresolved, recoverPristine, resolveNames, resolveScanned, type ResolveResult } from '../btfids/resolve.js';
import { btf2btf } from './btf2btf.js';
import { pipelineProfile, type PipelineProfile } from './profile.js';

export interface Kernel7Options {
  /** Write a distilled base (resolve_btfids --distill_base; needs a base). */
  distill: boolean;
  /** Collect resolve_btfids' -v lines (default 0). */
  verbose?: number;
  /** See the file comment: finalize's idempotence on finalized modules. */
  rerunSafe?: boolean;
  /** Default: the 7.x profile. */
  profile?: PipelineProfile;
}

export interface Kernel7Result {
  /** `X.BTF`: the final split (or standalone) BTF. */
  readonly btf: Uint8Array;
  /** `X.BTF.base`: the distilled base, when distilled. */
  readonly btfBase: Uint8Array | undefined;
  /** `X.BTF_ids`: the resolved section, when the object has `.BTF_ids` and a symbol table. */
  readonly btfIds: Uint8Array | undefined;
  /** `btf` parsed (over the distilled base, or over the given base). */
  readonly final: Btf;
  readonly finalBase: Btf | undefined;
  /** The `.BTF_ids` resolution, when there was one. */
  readonly resolution: ResolveResult | undefined;
  /** Kfuncs btf2btf rewrote. */
  readonly rewrittenKfuncs: readonly string[];
  /** resolve_btfids' lines from btf2btf on, in its order; modbtf's own marked `extension`. */
  readonly diagnostics: Diagnostic[];
  /** The warnings resolve_btfids counts (multiple IDs, unresolved symbols). */
  readonly warnings: number;
}

function fileOf(btf: Btf): { file?: string } {
  return btf.source.file !== undefined ? { file: btf.source.file } : {};
}

/**
 * `input`: the BTF pahole encoded (split over `base`; standalone for vmlinux). `scan`:
 * scanBtfIds(elf, { abi: 7 }) of the object (`elf` undefined: an object libelf finds no
 * sections in, so nothing to resolve). Throws BtfIdsError with resolve_btfids'
 * text when it would fail.
 */
export function kernel7Btf(elf: ElfFile | undefined, scan: BtfIdsScan, input: Btf, base: Btf | undefined, opts: Kernel7Options): Kernel7Result {
  const profile = opts.profile ?? pipelineProfile(7);
  const verbose = opts.verbose ?? 0;
  const layout = scan.layout;
  const current = layout !== undefined && elf !== undefined ? elf.sectionData(layout.section) : undefined;
  const diagnostics: Diagnostic[] = [];
  const src = fileOf(input);

  // btf2btf.
  let btf = input;
  let rewrittenKfuncs: readonly string[] = [];
  if (profile.implicitArgs) {
    const r = btf2btf(input, layout, current, { verbose, skipRewritten: opts.rerunSafe === true });
    diagnostics.push(...r.diagnostics);
    if (r.bytes !== undefined) {
      btf = Btf.parse(r.bytes, { ...src, section: BTF_SECTION, ...(base ? { base } : {}) });
      rewrittenKfuncs = r.rewritten;
    }
  }

  // finalize_btf: distill, then sort.
  let finalBase: Btf | undefined = base;
  if (base !== undefined && opts.distill) {
    let d;
    try {
      d = distill(base, btf, { headerLen: profile.newBtfHeaderLen });
    } catch (e: unknown) {
      if (e instanceof DistillError) {
        const lines: Diagnostic[] = [];
        if (e.code === 'DISTILL_ILLEGAL_BASE_REF' && e.typeId !== undefined && e.kind !== undefined) {
          lines.push({ level: 'error', code: 'BTFIDS_KFUNC', message: `libbpf: unexpected reference to base type[${e.typeId}] of kind [${e.kind}] when creating distilled base BTF.` });
        }
        throw new BtfIdsError('BTFIDS_DISTILL', `distilling the base failed: ${e.message}`, msg.distillFailed(strerror('EINVAL')), { ...src, ...(e.typeId !== undefined ? { typeId: e.typeId } : {}) }, [...diagnostics, ...lines]);
      }
      throw e;
    }
    finalBase = Btf.parse(d.base, { ...src, section: BTF_BASE_SECTION });
    btf = Btf.parse(d.split, { ...src, section: BTF_SECTION, base: finalBase });
  }
  if (profile.sortByName) {
    btf = Btf.parse(sortByName(btf).bytes, { ...src, section: BTF_SECTION, ...(finalBase ? { base: finalBase } : {}) });
  }

  // symbols_resolve + symbols_patch, against the final ids.
  let resolution: ResolveResult | undefined;
  let warnings = 0;
  if (layout !== undefined && current !== undefined && elf !== undefined) {
    let pristine: Uint8Array | undefined;
    const extension: Diagnostic[] = [];
    if (opts.rerunSafe === true) {
      const before = resolveNames(layout, input);
      if (!isUnresolved(layout, before, current)) {
        pristine = recoverPristine(layout, before, current, 7);
        if (pristine === undefined) {
          extension.push({ level: 'warning', code: 'BTFIDS_SET8_FLAGS_LOST', extension: true, message: `WARN: modbtf: ${BTF_IDS_SECTION} was resolved against other BTF than the module's own .BTF: set8 flags cannot be matched to their kfuncs again and are kept where they are` });
        }
      }
    }
    const quietScan: BtfIdsScan = { ...scan, diagnostics: [] };
    resolution = resolveScanned(elf, quietScan, btf, { abi: 7, recoverResolved: false, distilled: opts.distill && base !== undefined, ...(verbose ? { verbose } : {}), ...(pristine ? { input: pristine } : {}) });
    diagnostics.push(...extension, ...resolution.diagnostics);
    warnings = resolution.diagnostics.filter((d) => d.level === 'warning' && d.extension !== true).length;
  }
  return {
    btf: btf.bytes,
    btfBase: opts.distill && base !== undefined && finalBase !== undefined ? finalBase.bytes : undefined,
    btfIds: resolution?.sectionBytes,
    final: btf,
    finalBase,
    resolution,
    rewrittenKfuncs,
    diagnostics,
    warnings,
  };
}
