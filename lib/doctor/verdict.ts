/**
 * What one kernel does with one module's BTF, decided the way that kernel decides it at
 * load (kernel/bpf/btf.c btf_module_notify → btf_parse_module):
 *
 *   no .BTF                       the module loads without BTF ("Skipping BTF generation")
 *   the kernel's own checks       header, strings, every type's check_meta, modifier chains
 *                                 (lib/btf/kernel-checks.ts), of .BTF.base and of .BTF over
 *                                 it — or over this kernel's vmlinux when the module has no
 *                                 .BTF.base or the kernel predates 6.11
 *   relocation (6.11+)            .BTF over .BTF.base onto this vmlinux (lib/relocate, via
 *                                 lib/module/check.ts: the kernel runs libbpf's btf_relocate)
 *   a refusal                     with CONFIG_MODULE_ALLOW_BTF_MISMATCH the module loads
 *                                 without BTF; without it the module does not load at all
 *   accepted split BTF            right only when it was made over this very vmlinux; over
 *                                 another it is accepted whenever the checks pass, and
 *                                 describes the wrong types
 */
import { bytesEqual } from '../bytes.js';
import type { Btf } from '../btf/btf.js';
import { BTF_BASE_SECTION, BTF_SECTION } from '../btf/source.js';
import { checkModuleBtfAsKernel, namesStartStrings, type KernelBtfProblem, type KernelBtfView, type KernelCheckRules } from '../btf/kernel-checks.js';
import { isModbtfError } from '../errors.js';
import { checkModule, loadModuleBtf } from '../module/check.js';
import { toCheckReport, type CheckFailureReport } from '../module/check-report.js';
import type { RelocationTarget } from '../relocate/index.js';
import type { KernelConfig, KernelVersion } from './kernel.js';
import type { ModuleFacts } from './modules.js';

export interface KernelVmlinux {
  /** System path it was read from. */
  file: string;
  btf: Btf;
  view: KernelBtfView;
  target: RelocationTarget;
}

/** One kernel of the machine, as the verdicts need it. */
export interface KernelUnderTest {
  release: string;
  version: KernelVersion | undefined;
  running: boolean;
  config: KernelConfig;
  /** Relocates .BTF over .BTF.base at load (6.11+). */
  relocates: boolean | undefined;
  rules: KernelCheckRules;
  vmlinux: KernelVmlinux | undefined;
  /** Where its vmlinux was looked for, when it was not found. */
  vmlinuxTried: string[];
}

export type Outcome = 'keeps' | 'no-btf' | 'wrong-btf' | 'loses-btf' | 'fails-to-load' | 'loses-btf-or-fails-to-load' | 'unknown';

export type Cause =
  | 'ok'
  | 'no-btf-section'
  | 'kernel-without-module-btf'
  | 'no-vmlinux'
  | 'unreadable'
  | 'split-for-other-vmlinux'
  | 'retargeted-for-other-kernel'
  | 'btf-base-ignored'
  | 'relocation-failed'
  | 'rejected-by-kernel-checks';

export interface Verdict {
  outcome: Outcome;
  cause: Cause;
  /** One phrase: how the BTF fares (or why it cannot be told). */
  summary: string;
  /** For split BTF without .BTF.base: made over this kernel's vmlinux or another's. */
  splitFor?: 'this-kernel' | 'other-kernel';
  /** The kernel's own checks refused it: the first failure, in its words. */
  kernelCheck?: KernelBtfProblem;
  /** Relocation onto this kernel failed: every reason, the kernel's (libbpf's) line first. */
  relocationFailures?: CheckFailureReport[];
  /** What the kernel logs for the refusal (after `BPF: ` for a check; libbpf's line for a relocation). */
  kernelLog?: string;
  /** The error the module's load fails with when mismatches are not allowed. */
  errno?: number;
  /** .BTF_ids entries the kernel does not relocate (BTF_ID_LIST, BTF_SET): wrong here unless retargeted. */
  idsNotRelocated?: string[];
  /**
   * For split BTF made over another vmlinux, when that vmlinux is here: what the module
   * would get with a .BTF.base distilled from it (`modbtf finalize -b <it>`).
   */
  withBtfBase?: { builtWith: string; keeps: boolean; failures: CheckFailureReport[] };
}

export interface VerdictContext {
  /** The vmlinux BTF of another installed kernel (the one a module was built for), when it is here. */
  vmlinuxOf(release: string): Promise<{ file: string; btf: Btf } | undefined>;
}

const EINVAL = -22;

function refusal(allow: boolean | undefined): Outcome {
  return allow === true ? 'loses-btf' : allow === false ? 'fails-to-load' : 'loses-btf-or-fails-to-load';
}

function sectionBytes(m: ModuleFacts, name: string): Uint8Array | undefined {
  const elf = m.loaded?.elf;
  const sec = elf?.sectionByName(name);
  return elf && sec ? elf.sectionData(sec) : undefined;
}

async function loadBtf(m: ModuleFacts, builtWith: Btf | undefined): Promise<Awaited<ReturnType<typeof loadModuleBtf>>> {
  // The bytes already decompressed are handed over, so a .ko.xz is not decompressed again.
  const pre = m.loaded && m.loaded.compression !== 'none' ? m.loaded.elfBytes : undefined;
  return loadModuleBtf(m.hostFile, builtWith, pre);
}

const describeErr = (err: unknown): string => (isModbtfError(err) ? err.describe() : err instanceof Error ? err.message : String(err));

/** How split BTF for another vmlinux is said: from its vermagic, or from its names when the vermagic names this kernel. */
function otherVmlinux(m: ModuleFacts, k: KernelUnderTest): string {
  if (m.builtFor === undefined) return 'its .BTF is split BTF over another kernel\'s vmlinux';
  if (m.builtFor !== k.release) return `its .BTF is split BTF over another kernel's vmlinux (built for ${m.builtFor})`;
  return `its .BTF is split BTF over another vmlinux than this kernel's, though its vermagic names ${k.release} (its names do not start at this vmlinux's strings: BTF from another build)`;
}

export async function judgeModule(m: ModuleFacts, k: KernelUnderTest, ctx: VerdictContext): Promise<Verdict> {
  if (m.error !== undefined || m.loaded === undefined) return { outcome: 'unknown', cause: 'unreadable', summary: `cannot be read as a module: ${m.error ?? 'unreadable'}` };
  if (!m.hasBtf) return { outcome: 'no-btf', cause: 'no-btf-section', summary: 'has no .BTF (or an empty one): it was built without BTF (a kernel tree without vmlinux: kbuild\'s "Skipping BTF generation")' };
  if (k.config.btfModules === false) return { outcome: 'no-btf', cause: 'kernel-without-module-btf', summary: 'this kernel keeps no module BTF (CONFIG_DEBUG_INFO_BTF_MODULES is off)' };
  const vm = k.vmlinux;
  if (vm === undefined) return { outcome: 'unknown', cause: 'no-vmlinux', summary: `cannot be checked: no vmlinux BTF of ${k.release} here (looked at ${k.vmlinuxTried.join(', ')})` };

  const btf = sectionBytes(m, BTF_SECTION) as Uint8Array;
  const base = sectionBytes(m, BTF_BASE_SECTION);
  const useBase = base !== undefined && k.relocates !== false;
  const allow = k.config.allowBtfMismatch;

  // Split BTF the kernel takes over its own vmlinux: made over this vmlinux, or another's?
  let splitFor: 'this-kernel' | 'other-kernel' | undefined;
  let ignoredBase = false;
  if (!useBase) {
    if (base !== undefined) { splitFor = 'other-kernel'; ignoredBase = true; } else splitFor = await madeOverThisVmlinux(m, k, vm, ctx);
  }

  const checked = checkModuleBtfAsKernel(btf, useBase ? base : undefined, vm.view, k.rules, allow);
  // Made for this kernel by its vermagic, but its names do not fit this vmlinux: the BTF was
  // made over another one (copied from another build, or the vermagic was rewritten).
  if (splitFor === 'this-kernel' && !m.retargeted && namesStartStrings(btf, vm.view, k.rules) === false) splitFor = 'other-kernel';
  const cause = (fallback: Cause): Cause => (ignoredBase ? 'btf-base-ignored' : splitFor === 'other-kernel' ? (m.retargeted ? 'retargeted-for-other-kernel' : 'split-for-other-vmlinux') : fallback);
  const verdict: Verdict = { outcome: 'keeps', cause: 'ok', summary: '' };
  if (splitFor !== undefined) verdict.splitFor = splitFor;
  if (checked.problem) {
    const c = cause('rejected-by-kernel-checks');
    const why = c === 'split-for-other-vmlinux' ? `${otherVmlinux(m, k)} and it has no .BTF.base: `
      : c === 'retargeted-for-other-kernel' ? 'it was retargeted to another kernel (split BTF over that vmlinux, no .BTF.base): '
        : c === 'btf-base-ignored' ? 'this kernel (before 6.11) ignores .BTF.base and reads .BTF over its own vmlinux: ' : '';
    Object.assign(verdict, {
      outcome: refusal(allow), cause: c, kernelCheck: checked.problem,
      errno: checked.problem.errno, summary: `${why}this kernel's BTF checks refuse it (${checked.problem.message})`,
    });
    if (checked.problem.logLine !== '') verdict.kernelLog = checked.problem.logLine;
  } else if (useBase) {
    try {
      const loaded = await loadBtf(m, undefined);
      const r = toCheckReport(checkModule(loaded, vm.target));
      if (r.status === 'ok') {
        Object.assign(verdict, { outcome: 'keeps', cause: 'ok', summary: `keeps its BTF: relocated over its .BTF.base (${r.distilledTypes ?? 0} distilled types match)` });
        if (r.idsNotRelocated) verdict.idsNotRelocated = r.idsNotRelocated;
      } else {
        Object.assign(verdict, {
          outcome: refusal(allow), cause: 'relocation-failed', relocationFailures: r.failures, errno: EINVAL,
          summary: `relocation of its .BTF.base onto this kernel fails: ${r.failures[0]?.message ?? 'unknown reason'}`,
        });
        if (r.kernelMessage !== undefined) verdict.kernelLog = r.kernelMessage;
      }
    } catch (err: unknown) {
      return { outcome: 'unknown', cause: 'unreadable', summary: `its BTF cannot be read: ${describeErr(err)}` };
    }
  } else if (splitFor === 'this-kernel') {
    Object.assign(verdict, { outcome: 'keeps', cause: 'ok', summary: m.retargeted ? 'keeps its BTF: retargeted to exactly this kernel' : 'keeps its BTF: split BTF over this kernel\'s vmlinux (built for it)' });
  } else {
    Object.assign(verdict, {
      outcome: 'wrong-btf', cause: cause('split-for-other-vmlinux'),
      summary: ignoredBase
        ? 'this kernel (before 6.11) ignores .BTF.base and takes its .BTF as split BTF over its own vmlinux: the checks pass, but the BTF names the wrong types'
        : m.retargeted
          ? 'it was retargeted to another kernel (split BTF over that vmlinux, no .BTF.base): the checks pass, but the BTF names the wrong types'
          : `${otherVmlinux(m, k)} and it has no .BTF.base: the checks pass, but the BTF names the wrong types`,
    });
  }
  if (verdict.outcome !== 'keeps' && splitFor === 'other-kernel' && !ignoredBase && !m.retargeted) {
    const fin = await whatFinalizeGives(m, k, vm, ctx);
    if (fin) verdict.withBtfBase = fin;
  }
  return verdict;
}

/**
 * Split BTF without .BTF.base: the kernel it was made for is known from modbtf retarget's
 * kept pair (relocated onto this kernel, are the bytes the same?) or from vermagic (the
 * same release, or another whose vmlinux BTF is byte-identical to this one's).
 */
async function madeOverThisVmlinux(m: ModuleFacts, k: KernelUnderTest, vm: KernelVmlinux, ctx: VerdictContext): Promise<'this-kernel' | 'other-kernel'> {
  if (m.retargeted) {
    try {
      const r = checkModule(await loadBtf(m, undefined), vm.target);
      return r.retargeted === 'this-kernel' ? 'this-kernel' : 'other-kernel';
    } catch { return 'other-kernel'; }
  }
  if (m.builtFor === undefined || m.builtFor === k.release) return 'this-kernel';
  const other = await ctx.vmlinuxOf(m.builtFor);
  return other !== undefined && bytesEqual(other.btf.bytes, vm.btf.bytes) ? 'this-kernel' : 'other-kernel';
}

/** Distilled from the vmlinux it was built against and relocated onto this kernel: what `modbtf finalize` would give. */
async function whatFinalizeGives(m: ModuleFacts, k: KernelUnderTest, vm: KernelVmlinux, ctx: VerdictContext): Promise<Verdict['withBtfBase']> {
  if (m.builtFor === undefined || m.builtFor === k.release || k.relocates === false) return undefined;
  const built = await ctx.vmlinuxOf(m.builtFor);
  if (built === undefined) return undefined;
  try {
    const loaded = await loadBtf(m, built.btf);
    const r = toCheckReport(checkModule(loaded, vm.target, { builtWith: built.btf }));
    return { builtWith: built.file, keeps: r.status === 'ok', failures: r.failures };
  } catch {
    return undefined;
  }
}
