/**
 * The kbuild step's pahole call done by modbtf itself (lib/encode: pahole 1.32's bytes), for
 * trees whose pahole is missing or older than the one the tree was configured with
 * (CONFIG_PAHOLE_VERSION: the flags kbuild passes are that version's), or on request
 * (MODBTF_PAHOLE=modbtf). Makefile.snippet tells which with --pahole-native=:
 *   modbtf       requested; the tree's pahole works, so a failure here falls back to it
 *   missing      `$(PAHOLE) --version` could not run
 *   old:<ver>    it reports <ver>, below CONFIG_PAHOLE_VERSION
 *
 * 7.x: the BTF gen-btf.sh's pahole would write to <module>.BTF.1 is kept in memory.
 * 6.x: it is added to the module as pahole -J does it: <module>.btf, then
 * `$LLVM_OBJCOPY --add-section .BTF=<module>.btf <module>` with kbuild's $(OBJCOPY).
 */
import { spawn } from 'node:child_process';
import { rm, writeFile } from 'node:fs/promises';
import type { Btf } from '../lib/btf/btf.js';
import { encodeModuleWithFlags } from '../lib/encode/index.js';
import { ToolError } from '../lib/errors.js';
import { splitWords } from './env.js';
import type { KbuildVars, KernelTree } from './tree.js';

export type NativeReason = { kind: 'requested' } | { kind: 'missing' } | { kind: 'old'; version: string };

/** --pahole-native's value (and MODBTF_PAHOLE=modbtf), or undefined: run the tree's pahole. */
export function nativeReason(v: KbuildVars, env: Readonly<Record<string, string | undefined>>): NativeReason | undefined {
  const s = (v.paholeNative ?? '').trim();
  if (s === 'missing') return { kind: 'missing' };
  if (s.startsWith('old:')) return { kind: 'old', version: s.slice(4) };
  if (s === 'modbtf' || s === '1' || env['MODBTF_PAHOLE'] === 'modbtf') return { kind: 'requested' };
  return undefined;
}

/** Why there is no usable pahole, in words (for the warning when encoding fails too). */
export function describeReason(r: NativeReason, v: KbuildVars): string {
  const pahole = splitWords(v.pahole)[0] ?? 'pahole';
  if (r.kind === 'missing') return `${pahole} cannot be run`;
  if (r.kind === 'old') return `${pahole} is ${r.version}, older than the tree's CONFIG_PAHOLE_VERSION=${v.paholeVersion.trim()}`;
  return 'MODBTF_PAHOLE=modbtf';
}

/** The tree's pahole flags as words: $(PAHOLE_FLAGS), and $(MODULE_PAHOLE_FLAGS) on 6.x trees. */
export function treePaholeFlags(v: KbuildVars, tree: KernelTree): string[] {
  return [...splitWords(v.paholeFlags), ...(tree.abi === 6 ? splitWords(v.modulePaholeFlags) : [])];
}

/** The module's split BTF over `base`, encoded in this thread with the tree's pahole flags. */
export function encodeForTree(v: KbuildVars, tree: KernelTree, base: Btf): Uint8Array {
  // Read lazily: only the sections the encoder reaches are read, debug sections relocated in place.
  return encodeModuleWithFlags(v.module, base, treePaholeFlags(v, tree));
}

/** pahole -J's btf_encoder__write_elf for a module without .BTF: <module>.btf and objcopy --add-section. */
export async function addBtfLikePahole(v: KbuildVars, btf: Uint8Array, env: Readonly<Record<string, string | undefined>>): Promise<void> {
  const tmp = `${v.module}.btf`;
  await writeFile(tmp, btf, { mode: 0o600 });
  const objcopy = v.objcopy.trim() !== '' ? v.objcopy.trim() : (env['LLVM_OBJCOPY'] ?? 'llvm-objcopy');
  const cmd = `${objcopy} --add-section .BTF=${tmp} ${v.module}`;
  try {
    const { code, output } = await new Promise<{ code: number; output: string }>((resolve) => {
      const child = spawn('/bin/sh', ['-c', cmd], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...env } });
      const chunks: Buffer[] = [];
      child.stdout.on('data', (c: Buffer) => chunks.push(c));
      child.stderr.on('data', (c: Buffer) => chunks.push(c));
      child.on('error', (err) => resolve({ code: 127, output: err.message }));
      child.on('close', (c, signal) => resolve({ code: c ?? (signal ? 128 : 1), output: Buffer.concat(chunks).toString('utf8') }));
    });
    if (code !== 0) {
      throw new ToolError(code === 127 ? 'TOOL_NOT_FOUND' : 'TOOL_FAILED', `${cmd}: exit status ${code}: ${output.trim()}`, { tool: objcopy, argv: ['/bin/sh', '-c', cmd], exitCode: code, stderr: output }, { file: v.module });
    }
  } finally {
    await rm(tmp, { force: true });
  }
}
