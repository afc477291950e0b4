/**
 * Will a module's BTF survive on a given kernel? Computed the way the kernel decides
 * it at load time (6.11+): relocate `.BTF` over `.BTF.base` onto the kernel's vmlinux
 * BTF. A module without `.BTF.base` is first distilled against the vmlinux it was
 * built with, as finalize would do. Unlike the kernel (and libbpf), every problem is
 * reported, not only the first.
 */
import { bytesEqual } from '../bytes.js';
import { Btf } from '../btf/btf.js';
import { distill } from '../distill/index.js';
import { ModuleError, isModbtfError, type ModbtfError } from '../errors.js';
import { RelocationTarget, tryRelocate, type RelocateError } from '../relocate/index.js';
import { loadBtfFile, type LoadedBtf } from './btf-file.js';
import { loadModuleFile, type LoadedModule } from './load.js';
import { readKeptDistilledBtf } from './retarget.js';
import { BTF_IDS_SECTION, BTF_SECTION } from '../btf/source.js';
import { resolveBtfIds } from '../btfids/resolve.js';
import { BASE_OPTION, assertBuiltAgainst, vermagicMismatch } from './built-against.js';

export type CheckStatus = 'ok' | 'loses-btf';

export interface ModuleCheck {
  file: string;
  status: CheckStatus;
  /** Whether the module already carried `.BTF.base` (else it was distilled for the check). */
  hadDistilledBase: boolean;
  /** Types in the distilled base (matched by name on the target kernel). */
  distilledTypes: number;
  /** Every reason relocation fails, in the order libbpf meets them. */
  failures: RelocateError[];
  /** The line the kernel (libbpf) prints for the first failure, without newline. */
  kernelMessage: string | undefined;
  /**
   * For a retargeted module (plain split BTF over one kernel, distilled state kept):
   * whether its .BTF is exactly the relocation onto this kernel. Any other kernel
   * rejects it (no .BTF.base) until it is retargeted again.
   */
  retargeted: 'this-kernel' | 'other-kernel' | undefined;
  /**
   * `.BTF_ids` entries (BTF_ID_LIST, BTF_SET, unregistered set8) that the kernel does
   * not relocate at load: with `.BTF.base` alone they name other types on this kernel;
   * `modbtf retarget` rewrites them for it. Empty for retargeted modules.
   */
  idsNotRelocated: string[];
  /** Things to tell that do not change the verdict (a vermagic naming another release than the built-against vmlinux). */
  warnings: string[];
}

export interface CheckOptions {
  /** vmlinux BTF the module was built against, for modules without `.BTF.base`. */
  builtWith?: Btf;
}

const NO_BASE_HINT = `the module has no .BTF.base; give the vmlinux it was built against (${BASE_OPTION}) so it can be distilled for the check`;

/**
 * Loads a module for check/relocate: over `builtWith` when given; without it the
 * module must carry `.BTF.base`, and split BTF without one gets that advice.
 */
export async function loadModuleBtf(path: string, builtWith: Btf | undefined, predecompressed?: Uint8Array): Promise<LoadedBtf> {
  // A retargeted module's .BTF is over its target kernel; the distilled pair it kept
  // (modbtf retarget) is what relocates, whatever --built-with says.
  const fromKept = (module: LoadedModule): LoadedBtf | undefined => {
    const kept = readKeptDistilledBtf(module.elf, path);
    const current = module.elf.sectionByName(BTF_SECTION);
    return kept && current ? { path, btf: kept.split, distilledBase: kept.base, module, retargetedBtf: module.elf.sectionData(current) } : undefined;
  };
  try {
    const loaded = await loadBtfFile(path, { ...(builtWith ? { base: builtWith } : {}), ...(predecompressed ? { predecompressed } : {}) });
    return (loaded.module && !loaded.distilledBase && fromKept(loaded.module)) || loaded;
  } catch (err: unknown) {
    if (!builtWith && isModbtfError(err) && err.code === 'BTF_NEEDS_BASE') {
      const kept = fromKept(await loadModuleFile(path));
      if (kept) return kept;
      throw new ModuleError('MODULE_NO_BTF_BASE', NO_BASE_HINT, { file: path, section: '.BTF' }, { cause: err });
    }
    throw err;
  }
}

/** Distilled base and split of a module: its own `.BTF.base`, or distilled now. */
export function distilledPair(loaded: LoadedBtf, builtWith: Btf | undefined): { base: Btf; split: Btf; hadDistilledBase: boolean } {
  if (loaded.distilledBase) return { base: loaded.distilledBase, split: loaded.btf, hadDistilledBase: true };
  if (!builtWith) {
    throw new ModuleError('MODULE_NO_BTF_BASE', NO_BASE_HINT, { file: loaded.path, section: '.BTF' });
  }
  if (loaded.btf.base !== builtWith) {
    throw new ModuleError('MODULE_WRONG_BASE', 'internal: module BTF must be parsed over the built-against vmlinux', { file: loaded.path });
  }
  // Over the wrong vmlinux, distill would fail with a message about the vmlinux.
  assertBuiltAgainst(loaded.path, loaded.btf, builtWith, loaded.module?.elf);
  const d = distill(builtWith, loaded.btf);
  const base = Btf.parse(d.base, { file: loaded.path, section: '.BTF.base (distilled)' });
  const split = Btf.parse(d.split, { file: loaded.path, section: '.BTF (distilled)', base });
  return { base, split, hadDistilledBase: false };
}

const sameKernelMemo = new WeakMap<Btf, WeakMap<Btf, boolean>>();
/** Whether two vmlinux BTFs are the same bytes (remembered per pair: a tree check asks once per module). */
function sameKernel(a: Btf, b: Btf): boolean {
  if (a === b) return true;
  let m = sameKernelMemo.get(a);
  if (!m) sameKernelMemo.set(a, (m = new WeakMap()));
  let same = m.get(b);
  if (same === undefined) m.set(b, (same = bytesEqual(a.bytes, b.bytes)));
  return same;
}

export function checkModule(loaded: LoadedBtf, target: RelocationTarget, opts: CheckOptions = {}): ModuleCheck {
  try {
    const { base, split, hadDistilledBase } = distilledPair(loaded, opts.builtWith);
    const r = tryRelocate(base, split, target);
    const failures = r.ok ? [] : r.failure.failures;
    const retargeted = loaded.retargetedBtf === undefined ? undefined
      : r.ok && bytesEqual(r.split, loaded.retargetedBtf) ? 'this-kernel' : 'other-kernel';
    const elf = loaded.module?.elf;
    // A module without .BTF.base, checked on the very vmlinux it was built against, loads
    // as it is: its .BTF_ids already name the right types there.
    const asBuilt = !hadDistilledBase && opts.builtWith !== undefined && sameKernel(opts.builtWith, target.base);
    const idsNotRelocated = retargeted === undefined && !asBuilt && elf?.sectionByName(BTF_IDS_SECTION)
      ? resolveBtfIds(elf, split, { distilled: true }).diagnostics.filter((d) => d.code === 'BTFIDS_NOT_RELOCATED').map((d) => d.symbol ?? d.message)
      : [];
    const result: ModuleCheck = {
      file: loaded.path,
      status: r.ok && retargeted !== 'other-kernel' ? 'ok' : 'loses-btf',
      hadDistilledBase,
      distilledTypes: base.typeCount - 1,
      failures,
      kernelMessage: failures[0]?.libbpfMessage.replace(/^libbpf: /, ''),
      retargeted,
      idsNotRelocated,
      warnings: [],
    };
    const mismatch = !hadDistilledBase && opts.builtWith ? vermagicMismatch(loaded.module?.elf, opts.builtWith) : undefined;
    if (mismatch !== undefined) result.warnings.push(mismatch);
    return result;
  } catch (err: unknown) {
    if (isModbtfError(err)) throw (err as ModbtfError).withContext({ file: loaded.path });
    throw err;
  }
}
