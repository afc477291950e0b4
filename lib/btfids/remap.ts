/**
 * Remapping a `.BTF_ids` section that resolve_btfids already resolved against the
 * module's original BTF (split over vmlinux) onto the BTF after distillation (split
 * over the distilled base), so that the result equals running resolve_btfids from
 * scratch on the distilled object — which is what a pahole >= 1.28 build produces.
 *
 * Mapping every word through the distill id map is not enough, for two reasons:
 *  - BTF_SET/BTF_SET8 were sorted by the old ids. The pristine layout is recovered
 *    first (recoverPristine: the sort permutation is recomputed from the old ids and
 *    inverted, and the candidate is verified by re-running the old resolution), so
 *    every set8 id keeps its own KF_ flags through the new sort. Re-running
 *    resolve_btfids on the resolved object instead pairs ids with other ids' flags.
 *  - Names resolve differently against the distilled BTF: a vmlinux type the module
 *    does not reference is not in the distilled base (id map 0, resolve_btfids:
 *    unresolved), and a name defined both in vmlinux and in the module resolved to
 *    the vmlinux copy before and to the module's copy now. The result follows
 *    resolve_btfids (names are resolved again); where it differs from the id map a
 *    BTFIDS_REMAP_CHANGED warning says so.
 * Warnings also name every id the kernel will not relocate at load (lists, sets,
 * non-kfunc set8): with a distilled base those ids are wrong on every other kernel.
 */
import type { ElfFile } from '../elf/index.js';
import type { Btf } from '../btf/btf.js';
import { BTF_IDS_SECTION } from '../btf/source.js';
import { BtfIdsError } from './errors.js';
import { scanBtfIds, entriesInPatchOrder, type BtfIdsScan } from './layout.js';
import { displayName, type Diagnostic } from './messages.js';
import { isUnresolved, recoverPristine, resolveNames, resolveScanned, type ResolveResult } from './resolve.js';
import { ID_KINDS } from './symbols.js';

export interface RemapOptions {
  /**
   * The BTF the section was resolved against (the module's split BTF over vmlinux,
   * i.e. distill()'s input). Needed to put sorted set elements back in their slots.
   */
  oldBtf: Btf;
  /** resolve_btfids -v level for debug diagnostics (default 0). */
  verbose?: number;
  /** Warn about slots the kernel does not relocate (default true: newBtf is over a distilled base). */
  distilled?: boolean;
  scan?: BtfIdsScan;
}

/**
 * Remap `.BTF_ids` of `elf` from `opts.oldBtf` numbering to `newBtf` (split over the
 * distilled base), `idMap` being distill()'s old id -> new id map. A section that
 * was never resolved (all id and count slots 0) is simply resolved against newBtf.
 * Throws BTFIDS_REMAP_MISMATCH when the section holds ids that oldBtf does not give.
 */
export function remapBtfIds(elf: ElfFile, idMap: Uint32Array, newBtf: Btf, opts: RemapOptions): ResolveResult {
  const { oldBtf } = opts;
  if (idMap.length !== oldBtf.typeCount) {
    throw new BtfIdsError('BTFIDS_REMAP_INPUT', `id map has ${idMap.length} entries but the old BTF has ${oldBtf.typeCount} type ids (0 .. ${oldBtf.typeCount - 1})`, '', elf.file !== undefined ? { file: elf.file } : {});
  }
  const scan = opts.scan ?? scanBtfIds(elf, opts.verbose === undefined ? {} : { verbose: opts.verbose });
  const layout = scan.layout;
  const resolveOpts = { scan, distilled: opts.distilled ?? true, recoverResolved: false, ...(opts.verbose === undefined ? {} : { verbose: opts.verbose }) };
  if (layout === undefined) return resolveScanned(elf, scan, newBtf, resolveOpts);

  const current = elf.sectionData(layout.section);
  const oldRes = resolveNames(layout, oldBtf);
  const wasResolved = !isUnresolved(layout, oldRes, current);
  let pristine = recoverPristine(layout, oldRes, current);
  if (pristine === undefined) {
    if (wasResolved) {
      throw new BtfIdsError('BTFIDS_REMAP_MISMATCH', `${BTF_IDS_SECTION} holds ids that resolving its symbols against the old BTF does not give (resolved against other BTF, or edited): cannot remap it`, '', { section: BTF_IDS_SECTION, ...(elf.file !== undefined ? { file: elf.file } : {}) });
    }
    pristine = current;
  }
  const result = resolveScanned(elf, scan, newBtf, { ...resolveOpts, input: pristine });

  // Ids that mean something else now than the id map says (only for a section that held ids).
  const changed: Diagnostic[] = [];
  const newRes = new Map(result.entries.map((e) => [`${e.kind}\0${e.name}`, e.id]));
  for (const k of ID_KINDS) {
    for (const entry of entriesInPatchOrder(layout.ids[k])) {
      const oldId = oldRes.ids.get(entry) ?? 0;
      if (oldId === 0 || !wasResolved) continue;
      const mapped = idMap[oldId] ?? 0;
      const now = newRes.get(`${k}\0${displayName(entry.name)}`) ?? 0;
      if (mapped === now) continue;
      const why = mapped === 0
        ? `the type it named (id ${oldId}) is not in the distilled BTF`
        : `the id map gives ${mapped}`;
      changed.push({
        level: 'warning', code: 'BTFIDS_REMAP_CHANGED', extension: true, symbol: displayName(entry.name),
        message: `WARN: modbtf: ${k} ${displayName(entry.name)} was ${oldId} and now resolves to ${now === 0 ? 'nothing (0)' : String(now)}, as resolve_btfids on the distilled object resolves it; ${why}`,
      });
    }
  }
  result.diagnostics.push(...changed);
  return { ...result, recovered: wasResolved && !same(pristine, current) };
}

function same(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

