/**
 * What kernel 7.x's resolve_btfids computes for one module, in memory: the `X.BTF`,
 * `X.BTF.base` and `X.BTF_ids` files gen-btf.sh then embeds. The steps and their order
 * are main.c's, each as the profile says:
 *
 *   btf2btf (kfuncs: 7.2 KF_IMPLICIT_ARGS; 7.3 also kfunc/fastcall decl tags and arena
 *   prototypes) -> finalize_btf: btf__dedup (7.3, the tree's libbpf), distill
 *   (--distill_base, with a base), sort the split by name -> resolve `.BTF_ids` against
 *   the final ids, sort the sets
 *
 * with the diagnostics resolve_btfids prints, in its order (the caller adds the file
 * I/O lines). `rerunSafe` is for finalize on a module that went through this already:
 * a `.BTF_ids` resolved before is first put back into its pristine layout (set8 flags
 * with their own kfuncs) using the ids the module's current BTF gives, and that layout
 * is what btf2btf reads the kfunc flags from; kfuncs btf2btf rewrote before are left alone.
 * And a name-sorted BTF that, not distilled, comes out with the same types is kept as it
 * is: 7.3's resolve_btfids, run on its own output (a shipped module), deduplicates it again
 * and writes the same types with their strings in another order (first use in the sorted
 * order), where finalize promises to change nothing.
 */
import { Btf } from '../btf/btf.js';
import { bytesEqual, dataViewOf } from '../bytes.js';
import { sortByName } from '../btf/permute.js';
import { BTF_BASE_SECTION, BTF_IDS_SECTION, BTF_SECTION } from '../btf/source.js';
import type { ElfFile } from '../elf/index.js';
import { dedupBtf, DedupError } from '../dedup/index.js';
import { distill, DistillError } from '../distill/index.js';
import { isModbtfError } from '../errors.js';
import { BtfIdsError } from '../btfids/errors.js';
import type { BtfIdsScan } from '../btfids/layout.js';
import { msg, strerror, type Diagnostic } from '../btfids/messages.js';
import { isUnresolved, recoverPristine, resolveNames, resolveScanned, type NameResolution, type ResolveResult } from '../btfids/resolve.js';
import { btf2btf } from './btf2btf.js';
import { forEachStrField, recordSize } from '../btf/fields.js';
import { infoKind, infoVlen } from '../btf/wire.js';
import type { PipelineProfile } from './profile.js';

export interface Kernel7Options {
  /** Whose resolve_btfids to be (a profile with abi 7). */
  profile: PipelineProfile;
  /** Write a distilled base (resolve_btfids --distill_base; needs a base). */
  distill: boolean;
  /** Collect resolve_btfids' -v lines (default 0). */
  verbose?: number;
  /** See the file comment: finalize's idempotence on finalized modules. */
  rerunSafe?: boolean;
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

/** A resolution that names no id: where the slots are, for isUnresolved. */
const NO_IDS: NameResolution = { ids: new Map(), diagnostics: [] };

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
  const profile = opts.profile;
  const verbose = opts.verbose ?? 0;
  const layout = scan.layout;
  const current = layout !== undefined && elf !== undefined ? elf.sectionData(layout.section) : undefined;
  const diagnostics: Diagnostic[] = [];
  const src = fileOf(input);
  const over = (b: Btf | undefined): { base?: Btf } => (b !== undefined ? { base: b } : {});

  // The pristine `.BTF_ids` of an object resolved before (finalize on a shipped module),
  // recovered with the ids its own BTF gives: btf2btf reads the kfunc flags there.
  let pristine: Uint8Array | undefined;
  const extension: Diagnostic[] = [];
  // A section never resolved has 0 in every id and count slot: known without resolving any
  // name (a walk over all of vmlinux's types, and a name index on the second walk).
  if (opts.rerunSafe === true && layout !== undefined && current !== undefined && !isUnresolved(layout, NO_IDS, current)) {
    pristine = recoverPristine(layout, resolveNames(layout, input), current, 7);
    if (pristine === undefined) {
      extension.push({ level: 'warning', code: 'BTFIDS_SET8_FLAGS_LOST', extension: true, message: `WARN: modbtf: ${BTF_IDS_SECTION} was resolved against other BTF than the module's own .BTF: set8 flags cannot be matched to their kfuncs again and are kept where they are` });
    }
  }

  // btf2btf.
  let btf = input;
  let rewrittenKfuncs: readonly string[] = [];
  let warnings = 0;
  if (profile.kfuncs !== undefined) {
    const r = btf2btf(input, layout, pristine ?? current, profile.kfuncs, { verbose, skipRewritten: opts.rerunSafe === true });
    diagnostics.push(...r.diagnostics);
    warnings += r.warnings;
    if (r.bytes !== undefined) {
      btf = Btf.parse(r.bytes, { ...src, section: BTF_SECTION, ...over(base) });
      rewrittenKfuncs = r.rewritten;
    }
  }

  // finalize_btf: dedup, distill, sort.
  if (profile.dedup !== undefined) {
    try {
      btf = Btf.parse(dedupBtf(btf, { behaviour: profile.dedup }).bytes, { ...src, section: BTF_SECTION, ...over(base) });
    } catch (e: unknown) {
      if (e instanceof DedupError) {
        throw new BtfIdsError('BTFIDS_DEDUP', `btf__dedup failed: ${e.message}`, msg.dedupFailed(strerror(e.errno)), { ...src, ...e.context }, diagnostics);
      }
      throw e;
    }
  }
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
    let sorted: Uint8Array;
    try {
      sorted = sortByName(btf).bytes;
    } catch (e: unknown) {
      // btf__permute() refuses only an id map that is not a permutation, which
      // sort_btf_by_name never makes: a failure here is BTF modbtf could not read.
      if (!isModbtfError(e) && !(e instanceof RangeError)) throw e;
      const lines: Diagnostic[] = [{ level: 'error', code: 'BTFIDS_KFUNC', message: msg.permuteFailed(strerror('EINVAL')) }];
      throw new BtfIdsError('BTFIDS_SORT', `sorting the BTF by name failed: ${e.message}`, msg.sortFailed(strerror('EINVAL')), { ...src }, [...diagnostics, ...lines]);
    }
    btf = Btf.parse(sorted, { ...src, section: BTF_SECTION, ...over(finalBase) });
  }
  if (opts.rerunSafe === true && !opts.distill && profile.dedup !== undefined && !bytesEqual(btf.bytes, input.bytes) && isNameSorted(input) && sameTypes(input, btf)) btf = input;

  // symbols_resolve + symbols_patch, against the final ids.
  let resolution: ResolveResult | undefined;
  if (layout !== undefined && current !== undefined && elf !== undefined) {
    const quietScan: BtfIdsScan = { ...scan, diagnostics: [] };
    resolution = resolveScanned(elf, quietScan, btf, { abi: 7, recoverResolved: false, distilled: opts.distill && base !== undefined, ...(verbose ? { verbose } : {}), ...(pristine ? { input: pristine } : {}) });
    diagnostics.push(...extension, ...resolution.diagnostics);
    warnings += resolution.diagnostics.filter((d) => d.level === 'warning' && d.extension !== true).length;
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

function isNameSorted(btf: Btf): boolean {
  return bytesEqual(sortByName(btf).bytes, btf.bytes);
}

/** The same types, word for word, except that string offsets are compared as the strings they name. */
function sameTypes(a: Btf, b: Btf): boolean {
  if (a.typeCount !== b.typeCount || a.startId !== b.startId || a.littleEndian !== b.littleEndian) return false;
  const av = dataViewOf(a.bytes);
  const bv = dataViewOf(b.bytes);
  const le = a.littleEndian;
  for (let i = 0; i < a.ownTypeCount; i++) {
    const ra = a.typeOffsets[i] as number;
    const rb = b.typeOffsets[i] as number;
    const info = av.getUint32(ra + 4, le);
    if (info !== bv.getUint32(rb + 4, le)) return false;
    const size = recordSize(infoKind(info), infoVlen(info));
    const strs = new Set<number>();
    forEachStrField(infoKind(info), infoVlen(info), (pos) => { strs.add(pos); });
    for (let p = 0; p < size; p += 4) {
      const x = av.getUint32(ra + p, le);
      const y = bv.getUint32(rb + p, le);
      if (strs.has(p) ? a.str(x) !== b.str(y) : x !== y) return false;
    }
  }
  return true;
}
