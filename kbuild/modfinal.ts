/**
 * The per-module BTF step kbuild runs through Makefile.snippet, in place of
 * Makefile.modfinal's `pahole -J ... --btf_base vmlinux $@; $(RESOLVE_BTFIDS) -b
 * vmlinux $@`: the same pahole call (DWARF → split BTF), then finalize (distill when
 * the build is out of tree or BTF_BASE_REF=1, .BTF_ids, one objcopy). Runs in the
 * kernel object tree, like Makefile.modfinal.
 */
import { execa } from 'execa';
import { loadBaseBtf } from '../lib/module/btf-file.js';
import { finalizeModule, type FinalizeResult } from '../lib/module/finalize.js';
import { locateObjcopy } from '../lib/objcopy/locate.js';
import { ToolError } from '../lib/errors.js';
import { shouldDistill, splitWords, type KbuildContext } from './env.js';
import { findBuildVmlinux, type VmlinuxChoice } from './vmlinux.js';

export interface ModfinalOptions extends KbuildContext {
  module: string;
  pahole: string;
  paholeFlags: string;
  objcopy: string;
  objtree: string;
  env: Readonly<Record<string, string | undefined>>;
  /** kbuild's V=1: print the commands run. */
  verbose: boolean;
  log: (line: string) => void;
}

export type ModfinalOutcome =
  | { kind: 'skipped'; reason: string }
  | { kind: 'done'; vmlinux: VmlinuxChoice; distilled: boolean; result: FinalizeResult };

export async function runModfinal(o: ModfinalOptions): Promise<ModfinalOutcome> {
  const vmlinux = await findBuildVmlinux(o.objtree, o.env);
  if (!vmlinux) {
    return { kind: 'skipped', reason: `no vmlinux in ${o.objtree}, and it is not the running kernel's tree: set MODBTF_VMLINUX=<vmlinux or raw BTF of the target kernel> to generate BTF for ${o.module}` };
  }
  const pahole = o.pahole.trim() === '' ? 'pahole' : o.pahole.trim();
  const args = ['-J', ...splitWords(o.paholeFlags), '--btf_base', vmlinux.path, o.module];
  const objcopyCmd = o.objcopy.trim();
  if (o.verbose) o.log(`  LLVM_OBJCOPY="${objcopyCmd}" ${pahole} ${args.join(' ')}   # vmlinux: ${vmlinux.reason}`);
  const r = await execa(pahole, args, { reject: false, env: objcopyCmd ? { LLVM_OBJCOPY: objcopyCmd } : {}, all: true });
  if (r.exitCode !== 0 || r.failed) {
    const missing = (r as { code?: string }).code === 'ENOENT';
    throw new ToolError(missing ? 'TOOL_NOT_FOUND' : 'TOOL_FAILED', missing ? `${pahole} not found (install the Debian package dwarves)` : `${pahole} failed with exit status ${r.exitCode ?? '?'}: ${String(r.all ?? '').trim()}`, { tool: 'pahole', argv: [pahole, ...args], ...(r.exitCode !== undefined ? { exitCode: r.exitCode } : {}), stderr: String(r.all ?? '') }, { file: o.module });
  }
  const distill = shouldDistill(o);
  const base = await loadBaseBtf(vmlinux.path);
  const objcopy = (): ReturnType<typeof locateObjcopy> => locateObjcopy(objcopyCmd ? { command: objcopyCmd } : { env: o.env });
  if (o.verbose) o.log(`  modbtf finalize ${distill ? '--distill' : '--no-distill'}${objcopyCmd ? ` --objcopy ${objcopyCmd}` : ''} -b ${vmlinux.path} ${o.module}`);
  const result = await finalizeModule(o.module, { vmlinux: base, distill, objcopy });
  return { kind: 'done', vmlinux, distilled: distill, result };
}
