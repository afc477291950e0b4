/**
 * The kernel tree a BTF step runs in, told by kbuild's own variables (Makefile.snippet
 * passes them), never by the working directory: since 6.13 M= builds run in the
 * module's directory, and the tree is `$(objtree)`.
 *
 *  - pipeline: the tree's release (`$(objtree)/include/config/kernel.release`,
 *    VERSION.PATCHLEVEL) picks the profile (lib/pipeline/profile.ts); a release newer than
 *    every profile, or none, or one the tree's scripts contradict (a 7.x profile needs
 *    `$(srctree)/scripts/gen-btf.sh`, a 6.x one its absence) is not guessed at: the tree's
 *    own step runs;
 *  - the tree's own step: gen-btf.sh when the tree has it (Makefile.modfinal then runs it),
 *    else pahole -J then resolve_btfids -b; its exact commands, for when modbtf cannot do
 *    its part (it then leaves the module as the kernel would);
 *  - the tree's vmlinux: `$(objtree)/vmlinux`, the file Makefile.modfinal tests.
 */
import { access, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { knownPipelines, profileForRelease, type KernelAbi, type PipelineProfile } from '../lib/pipeline/profile.js';
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
}

/** Which pipeline's bytes a tree's modules get. */
export type TreePipeline =
  /** A pipeline modbtf reproduces. */
  | { readonly kind: 'profile'; readonly profile: PipelineProfile }
  /** Nothing of modbtf's: the tree's own step, with a warning (`reason`, naming the release). */
  | { readonly kind: 'tree-only'; readonly newer: boolean; readonly reason: string };

export interface KernelTree {
  /** The tree's own step: 7 (scripts/gen-btf.sh) or 6 (pahole -J, then resolve_btfids -b). */
  readonly abi: KernelAbi;
  readonly pipeline: TreePipeline;
  /** include/config/kernel.release, when the tree has one. */
  readonly release: string | undefined;
  /** `$(objtree)/vmlinux`. */
  readonly vmlinux: string;
  readonly hasVmlinux: boolean;
  /** CONFIG_PAHOLE_VERSION as a number (132 for 1.32), undefined when not given. */
  readonly paholeVersion: number | undefined;
}

async function exists(p: string): Promise<boolean> {
  try { await access(p); return true; } catch { return false; }
}

async function readRelease(objtree: string): Promise<string | undefined> {
  const text = await readFile(join(objtree, 'include', 'config', 'kernel.release'), 'utf8').catch(() => undefined);
  return text?.trim() || undefined;
}

/** The pipeline of a tree with this release and (or without) gen-btf.sh: see the file comment. */
export function treePipeline(release: string | undefined, genBtf: boolean): TreePipeline {
  if (release === undefined) return { kind: 'tree-only', newer: false, reason: 'the kernel tree has no include/config/kernel.release, so modbtf cannot tell which kernel pipeline it has' };
  const choice = profileForRelease(release);
  if (choice.kind === 'unknown') return { kind: 'tree-only', newer: false, reason: `the kernel tree's release "${release}" names no kernel version, so modbtf cannot tell which kernel pipeline it has` };
  if (choice.kind === 'newer') {
    return { kind: 'tree-only', newer: true, reason: `the kernel tree is ${release}, newer than every kernel pipeline modbtf knows (${knownPipelines()}): modbtf does not know what its BTF step writes` };
  }
  const p = choice.profile;
  if ((p.embedding === 'gen-btf') !== genBtf) {
    return { kind: 'tree-only', newer: false, reason: `the kernel tree's release ${release} has the ${p.label} pipeline, but the tree ${genBtf ? 'has' : 'has no'} scripts/gen-btf.sh` };
  }
  return { kind: 'profile', profile: p };
}

export async function kernelTree(v: KbuildVars): Promise<KernelTree> {
  const objtree = v.objtree.trim() === '' ? '.' : v.objtree.trim();
  const srctree = v.srctree.trim() === '' ? objtree : v.srctree.trim();
  const vmlinux = join(objtree, 'vmlinux');
  const [genBtf, hasVmlinux, release] = await Promise.all([exists(join(srctree, 'scripts', 'gen-btf.sh')), exists(vmlinux), readRelease(objtree)]);
  const pv = Number.parseInt(v.paholeVersion.trim(), 10);
  return { abi: genBtf ? 7 : 6, pipeline: treePipeline(release, genBtf), release, vmlinux, hasVmlinux, paholeVersion: Number.isFinite(pv) ? pv : undefined };
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
  /** The tree's own step (see KernelTree.abi). */
  readonly abi: KernelAbi;
  readonly pipeline: TreePipeline;
  readonly hasVmlinux: boolean;
  /** include/config/kernel.release, when the tree is configured. */
  readonly release: string | undefined;
  /** CONFIG_PAHOLE_VERSION of include/config/auto.conf. */
  readonly paholeVersion: number | undefined;
}

/** Looks at a tree given as `make -C <kdir>` (its scripts/ and include/config/). */
export async function inspectTree(kdir: string): Promise<TreeReport> {
  const text = (p: string): Promise<string | undefined> => readFile(join(kdir, p), 'utf8').catch(() => undefined);
  const [genBtf, hasVmlinux, release, conf] = await Promise.all([exists(join(kdir, 'scripts', 'gen-btf.sh')), exists(join(kdir, 'vmlinux')), readRelease(kdir), text('include/config/auto.conf')]);
  const pv = conf !== undefined ? /^CONFIG_PAHOLE_VERSION=(\d+)$/m.exec(conf)?.[1] : undefined;
  return { abi: genBtf ? 7 : 6, pipeline: treePipeline(release, genBtf), hasVmlinux, release, paholeVersion: pv !== undefined ? Number(pv) : undefined };
}

/** What an M= build in that tree gets once the snippet is hooked in, in a sentence or two. */
export function describeHookedTree(t: TreeReport): string {
  const lines: string[] = [];
  const name = t.release !== undefined ? `kernel ${t.release}` : 'this tree';
  if (t.pipeline.kind === 'tree-only') {
    lines.push(`${t.pipeline.reason[0]?.toUpperCase() ?? ''}${t.pipeline.reason.slice(1)}: its modules get exactly what the tree's own BTF step writes, with a warning (MODBTF_STRICT=1: an error).`);
  } else if (t.abi === 7) {
    lines.push(`${name} has the ${t.pipeline.profile.name} BTF pipeline (scripts/gen-btf.sh, resolve_btfids ${t.pipeline.profile.tool}): its own step already gives M= builds .BTF.base; modbtf writes the same bytes, and adds .BTF.base for in-tree builds with BTF_BASE_REF=1.`);
  } else {
    const pahole = t.paholeVersion !== undefined ? ` (pahole ${Math.floor(t.paholeVersion / 100)}.${String(t.paholeVersion % 100).padStart(2, '0')})` : '';
    const own = t.paholeVersion !== undefined && t.paholeVersion >= 128 ? ', which pahole >= 1.28 writes there too' : ', which this tree\'s own step cannot write';
    lines.push(`${name} has the 6.x BTF pipeline${pahole}: M= builds now get .BTF.base${own} (BTF_BASE_REF=0 to opt out; BTF_BASE_REF=1 for in-tree builds).`);
  }
  if (!t.hasVmlinux) lines.push('It has no vmlinux: modbtf uses MODBTF_VMLINUX=<file>, or /sys/kernel/btf/vmlinux when the tree is the running kernel\'s; otherwise modules get no BTF, as without modbtf.');
  return lines.join('\n');
}
