/**
 * The kernel tree a BTF step runs in, told by kbuild's own variables (Makefile.snippet
 * passes them), never by the working directory: since 6.13 M= builds run in the
 * module's directory, and the tree is `$(objtree)`.
 *
 *  - pipeline: 7.x when `$(srctree)/scripts/gen-btf.sh` exists (Makefile.modfinal then
 *    runs it), 6.x otherwise (pahole -J, then resolve_btfids -b);
 *  - the tree's vmlinux: `$(objtree)/vmlinux`, the file Makefile.modfinal tests;
 *  - the tree's own step: the exact commands of that tree's cmd_btf_ko, for when
 *    modbtf cannot do its part (it then leaves the module as the kernel would).
 */
import { access } from 'node:fs/promises';
import { join } from 'node:path';
import type { KernelAbi } from '../lib/pipeline/profile.js';
import { splitWords } from './env.js';

/** What kbuild passes to the BTF step (Makefile.snippet's command line). */
export interface KbuildVars {
  /** `$@`: the module, relative to the working directory. */
  module: string;
  /** `$(objtree)`: the kernel object tree ("." before 6.13, where kbuild ran in it). */
  objtree: string;
  /** `$(srctree)`: the kernel source tree (Debian: the -common headers tree). */
  srctree: string;
  /** `$(PAHOLE)`, `$(PAHOLE_FLAGS)`, `$(MODULE_PAHOLE_FLAGS)` (6.x only), `$(CONFIG_PAHOLE_VERSION)`. */
  pahole: string;
  paholeFlags: string;
  modulePaholeFlags: string;
  paholeVersion: string;
  /** `$(RESOLVE_BTFIDS)`, `$(RESOLVE_BTFIDS_FLAGS)` (7.x). */
  resolveBtfids: string;
  resolveBtfidsFlags: string;
  /** `$(OBJCOPY)`, `$(CONFIG_SHELL)`. */
  objcopy: string;
  shell: string;
  /** `$(KBUILD_EXTMOD)`: the M= directory, empty for in-tree builds. */
  extmod: string;
  /** `$(BTF_BASE_REF)`. */
  btfBaseRef: string;
  /**
   * '1' when the module's BTF is encoded by modbtf (lib/encode) instead of `$(PAHOLE)`:
   * Makefile.snippet says so when MODBTF_PAHOLE=modbtf, or when the tree's pahole is missing
   * or reports a version below CONFIG_PAHOLE_VERSION (the flags kbuild passes are that
   * version's).
   */
  paholeNative?: string;
}

export interface KernelTree {
  readonly abi: KernelAbi;
  /** `$(objtree)/vmlinux`. */
  readonly vmlinux: string;
  readonly hasVmlinux: boolean;
  /** CONFIG_PAHOLE_VERSION as a number (132 for 1.32), undefined when not given. */
  readonly paholeVersion: number | undefined;
}

async function exists(p: string): Promise<boolean> {
  try { await access(p); return true; } catch { return false; }
}

export async function kernelTree(v: KbuildVars): Promise<KernelTree> {
  const objtree = v.objtree.trim() === '' ? '.' : v.objtree.trim();
  const srctree = v.srctree.trim() === '' ? objtree : v.srctree.trim();
  const vmlinux = join(objtree, 'vmlinux');
  const [genBtf, hasVmlinux] = await Promise.all([exists(join(srctree, 'scripts', 'gen-btf.sh')), exists(vmlinux)]);
  const pv = Number.parseInt(v.paholeVersion.trim(), 10);
  return { abi: genBtf ? 7 : 6, vmlinux, hasVmlinux, paholeVersion: Number.isFinite(pv) ? pv : undefined };
}

/** A command of the tree's step: argv, plus environment additions. */
export interface TreeCommand {
  readonly argv: readonly string[];
  readonly env?: Readonly<Record<string, string>>;
}

const tool = (value: string, fallback: string): string[] => {
  const w = splitWords(value);
  return w.length > 0 ? w : [fallback];
};

/** pahole's `-j`, `-jN`, `--jobs`, `--jobs=N`. */
const isJobsFlag = (w: string): boolean => /^(-j\d*|--jobs(=\d*)?)$/.test(w);

/**
 * pahole as the tree runs it, against `vmlinux`; 7.x writes the BTF to `detached`.
 *
 * One difference on 6.x trees: pahole before 1.27 (Debian 12 has 1.24) runs without `-j`.
 * Its parallel encoder emits types in whatever order the threads finish, so two builds of
 * the same module differ (Makefile.btf drops `-j` itself for such pahole when
 * KBUILD_BUILD_TIMESTAMP asks for a reproducible build; 1.27 added reproducible_build).
 * A module's few compilation units make `-j` gain nothing there. 7.x trees get the tree's
 * flags as they are: their modules must equal gen-btf.sh's byte for byte.
 */
export function paholeCommand(v: KbuildVars, tree: KernelTree, vmlinux: string, detached: string | undefined): TreeCommand {
  const all = [...splitWords(v.paholeFlags), ...(tree.abi === 6 ? splitWords(v.modulePaholeFlags) : [])];
  const serial = tree.abi === 6 && (tree.paholeVersion === undefined || tree.paholeVersion < 127);
  const flags = serial ? all.filter((w) => !isJobsFlag(w)) : all;
  const argv = [...tool(v.pahole, 'pahole'), '-J', ...flags, '--btf_base', vmlinux, ...(detached !== undefined ? [`--btf_encode_detached=${detached}`] : []), v.module];
  // 6.x: pahole adds .BTF with the objcopy kbuild names (Makefile.modfinal's LLVM_OBJCOPY).
  return tree.abi === 6 && v.objcopy.trim() !== '' ? { argv, env: { LLVM_OBJCOPY: v.objcopy.trim() } } : { argv };
}

/** 6.x's second half of cmd_btf_ko: `$(RESOLVE_BTFIDS) -b vmlinux $@`. */
export function resolveBtfidsCommand(v: KbuildVars, tree: KernelTree): TreeCommand {
  return { argv: [...tool(v.resolveBtfids, 'resolve_btfids'), '-b', tree.vmlinux, v.module] };
}

/** 7.x's cmd_btf_ko: `$(CONFIG_SHELL) $(srctree)/scripts/gen-btf.sh --btf_base $(objtree)/vmlinux $@`. */
export function genBtfCommand(v: KbuildVars, tree: KernelTree): TreeCommand {
  const srctree = v.srctree.trim() === '' ? (v.objtree.trim() || '.') : v.srctree.trim();
  return { argv: [...tool(v.shell, 'sh'), join(srctree, 'scripts', 'gen-btf.sh'), '--btf_base', tree.vmlinux, v.module] };
}

/** Makefile.modfinal's line when the tree has no vmlinux (the tree then writes no BTF). */
export function skippingLine(module: string): string {
  return `Skipping BTF generation for ${module} due to unavailability of vmlinux`;
}

/** A kernel build tree as `modbtf kbuild install` reports it. */
export interface TreeReport {
  readonly abi: KernelAbi;
  readonly hasVmlinux: boolean;
  /** include/config/kernel.release, when the tree is configured. */
  readonly release: string | undefined;
  /** CONFIG_PAHOLE_VERSION of include/config/auto.conf. */
  readonly paholeVersion: number | undefined;
}

/** Looks at a tree given as `make -C <kdir>` (its scripts/ and include/config/). */
export async function inspectTree(kdir: string): Promise<TreeReport> {
  const { readFile } = await import('node:fs/promises');
  const text = (p: string): Promise<string | undefined> => readFile(join(kdir, p), 'utf8').catch(() => undefined);
  const [genBtf, hasVmlinux, rel, conf] = await Promise.all([exists(join(kdir, 'scripts', 'gen-btf.sh')), exists(join(kdir, 'vmlinux')), text('include/config/kernel.release'), text('include/config/auto.conf')]);
  const pv = conf !== undefined ? /^CONFIG_PAHOLE_VERSION=(\d+)$/m.exec(conf)?.[1] : undefined;
  return { abi: genBtf ? 7 : 6, hasVmlinux, release: rel?.trim() || undefined, paholeVersion: pv !== undefined ? Number(pv) : undefined };
}

/** What an M= build in that tree gets once the snippet is hooked in, in a sentence or two. */
export function describeHookedTree(t: TreeReport): string {
  const lines: string[] = [];
  const name = t.release !== undefined ? `kernel ${t.release}` : 'this tree';
  if (t.abi === 7) {
    lines.push(`${name} has the 7.x BTF pipeline (scripts/gen-btf.sh): its own step already gives M= builds .BTF.base; modbtf writes the same bytes, and adds .BTF.base for in-tree builds with BTF_BASE_REF=1.`);
  } else {
    const pahole = t.paholeVersion !== undefined ? ` (pahole ${Math.floor(t.paholeVersion / 100)}.${String(t.paholeVersion % 100).padStart(2, '0')})` : '';
    const own = t.paholeVersion !== undefined && t.paholeVersion >= 128 ? ', which pahole >= 1.28 writes there too' : ', which this tree\'s own step cannot write';
    lines.push(`${name} has the 6.x BTF pipeline${pahole}: M= builds now get .BTF.base${own} (BTF_BASE_REF=0 to opt out; BTF_BASE_REF=1 for in-tree builds).`);
  }
  if (!t.hasVmlinux) lines.push('It has no vmlinux: modbtf uses MODBTF_VMLINUX=<file>, or /sys/kernel/btf/vmlinux when the tree is the running kernel\'s; otherwise modules get no BTF, as without modbtf.');
  return lines.join('\n');
}
