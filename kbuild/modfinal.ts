/**
 * The per-module BTF step kbuild runs through Makefile.snippet, in place of the tree's
 * cmd_btf_ko (kbuild/tree.ts says which one):
 *
 *   6.x trees  pahole -J (as the tree runs it), then finalize in the 6.x profile
 *              (distill, .BTF_ids, one objcopy) instead of `resolve_btfids -b`;
 *   7.x trees  pahole --btf_encode_detached (as gen-btf.sh runs it), then finalize in
 *              the tree's profile (7.2, 7.3): the bytes gen-btf.sh + resolve_btfids write;
 *   others     a tree newer than every profile (or one whose release modbtf cannot read):
 *              exactly the tree's own step, nothing of modbtf's, and a warning naming the
 *              tree's release (once per build in the batch form).
 *
 * Distilled when the build is out of tree (M=) or BTF_BASE_REF=1. modbtf adds: a
 * vmlinux when the tree has none (MODBTF_VMLINUX, or the running kernel's BTF), the
 * distill for in-tree builds, and the 6.x `.BTF.base`. It never leaves a module worse
 * off than the tree's own step: whenever its part fails (or there is no vmlinux at
 * all), the module gets exactly what the tree's own step writes, and one
 * `modbtf: warning:` line says why. With MODBTF_STRICT=1 that is an error instead.
 *
 * The batch form (kbuild/batch.ts, one process per kbuild run) calls this with
 * paholeDone: the make recipe already ran the tree's pahole; the rest is the same.
 */
import { spawn } from 'node:child_process';
import { access, constants, readFile, rm } from 'node:fs/promises';
import type { Btf } from '../lib/btf/btf.js';
import { loadBaseBtf } from '../lib/module/btf-file.js';
import type { EncodeJob } from '../lib/module/encode-lanes.js';
import { finalizeModule, type FinalizeResult } from '../lib/module/finalize.js';
import { objcopyChooser } from '../lib/objcopy/locate.js';
import { writeFileAtomic } from '../lib/objcopy/atomic.js';
import type { KernelAbi } from '../lib/pipeline/profile.js';
import { ModuleError, ToolError, isModbtfError } from '../lib/errors.js';
import { shouldDistill } from './env.js';
import { genBtfCommand, kernelTree, paholeCommand, resolveBtfidsCommand, skippingLine, type KbuildVars, type KernelTree, type TreeCommand } from './tree.js';
import { findBuildVmlinux, type VmlinuxChoice } from './vmlinux.js';
import { addBtfLikePahole, describeReason, encodeForTree, nativeReason, treePaholeFlags } from './native.js';

export interface ModfinalOptions extends KbuildVars {
  /** MODBTF_STRICT=1: a failure of modbtf's part fails the build instead of falling back. */
  strict: boolean;
  env: Readonly<Record<string, string | undefined>>;
  /** kbuild's V=1: print the commands run. */
  verbose: boolean;
  /** stderr lines. */
  log: (line: string) => void;
  /**
   * The batch form (kbuild/batch.ts): the make recipe already ran the tree's pahole call
   * against the tree's vmlinux (6.x: into the module; 7.x: into `<module>.BTF.1`); only the
   * rest is left, and the tree's own rest when modbtf's part fails.
   */
  paholeDone?: boolean;
  /** Parses a vmlinux BTF (a batch parses each one once). */
  loadBase?: (path: string) => Promise<Btf>;
  /** Encodes a module natively through the batch's encoder lanes (its thread or its workers); default: here. */
  encode?: (job: EncodeJob) => Promise<Uint8Array>;
  /** objcopy's work files (the module's own recipe's TMPDIR); default $TMPDIR. */
  tmpDir?: string;
  /**
   * The batch form: warnings about the whole tree (one newer than every pipeline modbtf
   * knows) already printed in this build; each is printed once, not per module.
   */
  treeWarnings?: Set<string>;
}

export type ModfinalOutcome =
  /** modbtf's step ran. */
  | { kind: 'done'; abi: KernelAbi; vmlinux: VmlinuxChoice; distilled: boolean; result: FinalizeResult }
  /**
   * No usable pahole and modbtf's encoder failed too: the module stays as linked, without
   * BTF sections (as kbuild's "Skipping BTF generation"), after the warning `reason`.
   */
  | { kind: 'no-btf'; abi: KernelAbi; reason: string }
  /** The tree's own step ran instead (its exit status), after the warning `reason`. */
  | { kind: 'tree-step'; abi: KernelAbi; reason: string; exitCode: number };

/** The stderr line for modbtf's warnings in a kernel build. */
export function warningLine(text: string): string {
  return `modbtf: warning: ${text}`;
}

/** Runs a command with kbuild's stdio; resolves to its exit status (127 when it cannot start). */
function runInherited(cmd: TreeCommand, env: Readonly<Record<string, string | undefined>>): Promise<number> {
  return new Promise((resolve) => {
    const [file, ...args] = cmd.argv as [string, ...string[]];
    const child = spawn(file, args, { stdio: 'inherit', env: { ...env, ...cmd.env } });
    child.on('error', () => resolve(127));
    child.on('close', (code, signal) => resolve(code ?? (signal ? 128 : 1)));
  });
}

/** Runs pahole, its output collected (shown only when it fails, as kbuild would show it). */
function runCollected(cmd: TreeCommand, env: Readonly<Record<string, string | undefined>>): Promise<{ code: number; output: string; missing: boolean }> {
  return new Promise((resolve) => {
    const [file, ...args] = cmd.argv as [string, ...string[]];
    const child = spawn(file, args, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...env, ...cmd.env } });
    const chunks: Buffer[] = [];
    child.stdout.on('data', (c: Buffer) => chunks.push(c));
    child.stderr.on('data', (c: Buffer) => chunks.push(c));
    child.on('error', (err: NodeJS.ErrnoException) => resolve({ code: 127, output: err.message, missing: err.code === 'ENOENT' }));
    child.on('close', (code, signal) => resolve({ code: code ?? (signal ? 128 : 1), output: Buffer.concat(chunks).toString('utf8'), missing: false }));
  });
}

const shellWords = (argv: readonly string[]): string => argv.map((a) => (/^[\w@%+=:,./-]+$/.test(a) ? a : `'${a.replace(/'/g, `'\\''`)}'`)).join(' ');
function show(cmd: TreeCommand): string {
  const env = Object.entries(cmd.env ?? {}).map(([k, v]) => `${k}="${v}" `).join('');
  return `  ${env}${shellWords(cmd.argv)}`;
}

async function readable(p: string): Promise<boolean> {
  try { await access(p, constants.R_OK); return true; } catch { return false; }
}

export async function runModfinal(o: ModfinalOptions): Promise<ModfinalOutcome> {
  const tree = await kernelTree(o);
  const distill = shouldDistill(o);
  const done = o.paholeDone === true;
  const detached = tree.abi === 7 ? `${o.module}.BTF.1` : undefined;

  /**
   * modbtf's part could not be done: the tree's own step, or an error under MODBTF_STRICT=1.
   * `treeWide`: the reason is about the tree, not this module (printed once per batch).
   */
  const fallBack = async (reason: string, cause?: unknown, treeWide = false): Promise<ModfinalOutcome> => {
    if (o.strict) {
      throw new ModuleError('KBUILD_STRICT', `${reason} (MODBTF_STRICT=1: not falling back to the kernel's own BTF step)`, { file: o.module }, cause !== undefined ? { cause } : undefined);
    }
    if (treeWide && o.treeWarnings !== undefined) {
      const line = warningLine(`${reason}; its modules get what the kernel's own BTF step writes`);
      if (!o.treeWarnings.has(line)) {
        o.treeWarnings.add(line);
        o.log(line);
      }
    } else {
      o.log(warningLine(`${o.module}: ${reason}; the module gets what the kernel's own BTF step writes`));
    }
    if (!tree.hasVmlinux) {
      o.log(skippingLine(o.module));
      return { kind: 'tree-step', abi: tree.abi, reason, exitCode: 0 };
    }
    if (tree.abi === 7) {
      // gen-btf.sh runs pahole itself; the module is still as linked (pahole wrote aside).
      if (detached !== undefined) await rm(detached, { force: true });
      const cmd = genBtfCommand(o, tree);
      if (o.verbose) o.log(show(cmd));
      return { kind: 'tree-step', abi: 7, reason, exitCode: await runInherited(cmd, o.env) };
    }
    // 6.x: pahole -J, then resolve_btfids (the module was restored to its linked state);
    // in the batch form the recipe's pahole -J with the tree's vmlinux is the tree's own.
    for (const cmd of [...(done ? [] : [paholeCommand(o, tree, tree.vmlinux, undefined)]), resolveBtfidsCommand(o, tree)]) {
      if (o.verbose) o.log(show(cmd));
      const code = await runInherited(cmd, o.env);
      if (code !== 0) return { kind: 'tree-step', abi: 6, reason, exitCode: code };
    }
    return { kind: 'tree-step', abi: 6, reason, exitCode: 0 };
  };

  // A pipeline modbtf does not know (or cannot tell): nothing of its own, not even pahole.
  if (tree.pipeline.kind === 'tree-only') return fallBack(tree.pipeline.reason, undefined, true);
  const profile = tree.pipeline.profile;

  const vmlinux = await findBuildVmlinux(o.objtree.trim() === '' ? '.' : o.objtree.trim(), o.env);
  if (!vmlinux) {
    return fallBack(`no vmlinux BTF: ${tree.vmlinux} does not exist and the tree is not the running kernel's; set MODBTF_VMLINUX=<vmlinux or raw BTF of the kernel the module is built for> to generate BTF`);
  }
  const ownVmlinux = vmlinux.path === tree.vmlinux;
  if (done && !ownVmlinux) return fallBack(`the recipe's pahole used ${tree.vmlinux}, but modbtf would use ${vmlinux.path} (${vmlinux.reason})`);
  if (!ownVmlinux && !(await readable(vmlinux.path))) return fallBack(`${vmlinux.reason} names ${vmlinux.path}, which cannot be read`);
  if (o.verbose) o.log(`  # modbtf: ${profile.label}, vmlinux: ${vmlinux.path} (${vmlinux.reason})${tree.paholeVersion !== undefined ? `, CONFIG_PAHOLE_VERSION=${tree.paholeVersion}` : ''}${distill ? ', distilled base' : ''}`);

  // 6.x pahole rewrites the module in place: keep the linked bytes to undo it (in the
  // batch form pahole's output is the tree's own, and stays when modbtf's part fails).
  const linked = tree.abi === 6 && !done ? await readFile(o.module).catch(() => undefined) : undefined;
  const undo = async (): Promise<void> => {
    if (linked !== undefined) await writeFileAtomic(o.module, linked, { durable: false });
    if (detached !== undefined) await rm(detached, { force: true });
  };
  // The vmlinux BTF, parsed once for the encoder and finalize (the per-module form has no cache).
  let vmlinuxBtf: Promise<Btf> | undefined;
  const loadVmlinux = (): Promise<Btf> => (vmlinuxBtf ??= (o.loadBase ?? loadBaseBtf)(vmlinux.path));
  const native = done ? undefined : nativeReason(o, o.env);
  let nativeBtf: Uint8Array | undefined;
  if (native !== undefined) {
    // modbtf encodes in place of pahole: nothing is written until the BTF is whole.
    try {
      if (o.verbose) o.log(`  # modbtf: encoding ${o.module} itself (${describeReason(native, o)}): pahole 1.32's bytes with the tree's flags`);
      if (o.encode !== undefined) {
        // finalize needs the vmlinux too: parsed (once per batch) while the module waits for a lane.
        loadVmlinux().catch(() => undefined);
        nativeBtf = await o.encode({ module: o.module, basePath: vmlinux.path, flags: treePaholeFlags(o, tree) });
      } else {
        nativeBtf = encodeForTree(o, tree, await loadVmlinux());
      }
      if (tree.abi === 6) await addBtfLikePahole(o, nativeBtf, o.env);
    } catch (err: unknown) {
      if (!isModbtfError(err)) throw err;
      await undo();
      const why = `modbtf's encoder failed: ${err.describe()}`;
      if (native.kind === 'requested') return fallBack(why, err);
      if (o.strict) {
        throw new ModuleError('KBUILD_STRICT', `${why}, and ${describeReason(native, o)} (MODBTF_STRICT=1: an error, not a module without BTF)`, { file: o.module }, { cause: err });
      }
      const reason = `${why}; ${describeReason(native, o)}, so there is no pahole to fall back to: the module is built without BTF`;
      o.log(warningLine(`${o.module}: ${reason}`));
      return { kind: 'no-btf', abi: tree.abi, reason };
    }
  } else if (!done) {
    const pahole = paholeCommand(o, tree, vmlinux.path, detached);
    if (o.verbose) o.log(show(pahole));
    const p = await runCollected(pahole, o.env);
    if (p.code !== 0) {
      const why = p.missing ? `${pahole.argv[0]} not found (install the Debian package dwarves)` : `${pahole.argv[0]} failed with exit status ${p.code}: ${p.output.trim()}`;
      const err = new ToolError(p.missing ? 'TOOL_NOT_FOUND' : 'TOOL_FAILED', why, { tool: 'pahole', argv: pahole.argv, exitCode: p.code, stderr: p.output }, { file: o.module });
      await undo();
      // With the tree's own vmlinux the tree's step runs the same pahole and fails the same way.
      if (ownVmlinux) throw err;
      return fallBack(`pahole with ${vmlinux.path} (${vmlinux.reason}): ${why}`, err);
    }
    if (p.output !== '') for (const l of p.output.trimEnd().split('\n')) o.log(l);
  }

  const objcopyCmd = o.objcopy.trim();
  let result: FinalizeResult;
  try {
    const base = await loadVmlinux();
    const detachedBtf = detached === undefined ? undefined : nativeBtf ?? new Uint8Array(await readFile(detached));
    if (o.verbose) o.log(`  modbtf finalize --kernel-abi ${profile.name} ${distill ? '--distill' : '--no-distill'}${objcopyCmd ? ` --objcopy ${objcopyCmd}` : ''} -b ${vmlinux.path} ${o.module}`);
    result = await finalizeModule(o.module, {
      vmlinux: base,
      distill,
      profile,
      objcopy: objcopyChooser(objcopyCmd ? { command: objcopyCmd } : { env: o.env }),
      ...(detachedBtf !== undefined ? { detachedBtf } : {}),
      ...(o.tmpDir !== undefined ? { tmpDir: o.tmpDir } : {}),
      // Atomic, not fsynced: what kbuild's own steps (ld, pahole, resolve_btfids) give.
      durable: false,
    });
  } catch (err: unknown) {
    if (!isModbtfError(err)) throw err;
    await undo();
    return fallBack(err.message, err);
  }
  if (detached !== undefined) await rm(detached, { force: true });
  return { kind: 'done', abi: tree.abi, vmlinux, distilled: distill, result };
}
