/**
 * One objcopy call for a list of section operations (update, add, remove): objcopy
 * needs files, so the object and the blobs go through a private temporary directory
 * that is always removed. Added sections get objcopy's defaults for --add-section
 * (SHT_PROGBITS, no flags, alignment 1), as pahole's sections do. The temporary files
 * are small and written with synchronous calls: a dozen trips through libuv's thread
 * pool per module cost more than the writes themselves.
 */
import { mkdtempSync, readFileSync, rmdirSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ModuleError, isModbtfError } from '../errors.js';
import type { ObjcopyTool } from './locate.js';
import { STDERR_FILE, runObjcopy } from './run.js';

export type SectionOp =
  | { op: 'update' | 'add'; name: string; contents: Uint8Array }
  | { op: 'remove'; name: string };

/** objcopy arguments for the operations (without input/output paths); blob i is at blobPath(i). */
export function sectionOpsArgs(ops: readonly SectionOp[], blobPath: (i: number) => string): string[] {
  const args: string[] = [];
  ops.forEach((o, i) => {
    if (o.op === 'remove') args.push('--remove-section', o.name);
    else args.push(o.op === 'update' ? '--update-section' : '--add-section', `${o.name}=${blobPath(i)}`);
  });
  return args;
}

/**
 * `opts.tmpDir`: where the work directory goes (default: os.tmpdir(), i.e. $TMPDIR). A kbuild
 * batch finalizes many modules in one process, each with the TMPDIR its own make recipe had.
 */
export async function rewriteSections(tool: ObjcopyTool, elfBytes: Uint8Array, ops: readonly SectionOp[], opts: { file?: string; tmpDir?: string } = {}): Promise<Uint8Array> {
  return rewriteSectionsChain(tool, elfBytes, [ops], opts);
}

/**
 * Several objcopy calls in a row (kernel 7.x adds .BTF and .BTF.base in two calls, as
 * gen-btf.sh does), in one work directory: each call reads the previous call's output
 * file, and only the last output is read back. `opts.inputPath` names a file whose bytes
 * are `elfBytes` (the module itself, uncompressed and unsigned): the first call reads it
 * instead of a copy. The work files are removed one by one (a recursive rm costs more).
 */
export async function rewriteSectionsChain(tool: ObjcopyTool, elfBytes: Uint8Array, calls: readonly (readonly SectionOp[])[], opts: { file?: string; tmpDir?: string; inputPath?: string } = {}): Promise<Uint8Array> {
  let dir: string;
  try {
    dir = mkdtempSync(join(opts.tmpDir ?? tmpdir(), 'modbtf-'));
  } catch (err: unknown) {
    const why = err instanceof Error ? err.message : String(err);
    throw new ModuleError('IO_ERROR', `cannot make a temporary directory for objcopy's work files (set TMPDIR to a writable directory): ${why}`, opts.file !== undefined ? { file: opts.file } : {}, { cause: err });
  }
  const made: string[] = [];
  const write = (path: string, bytes: Uint8Array): void => { made.push(path); writeFileSync(path, bytes); };
  try {
    let input = opts.inputPath;
    if (input === undefined) {
      input = join(dir, 'in.ko');
      write(input, elfBytes);
    }
    let output = input;
    for (const [c, ops] of calls.entries()) {
      const blobPath = (i: number): string => join(dir, `section-${c}-${i}`);
      for (const [i, o] of ops.entries()) if (o.op !== 'remove') write(blobPath(i), o.contents);
      output = join(dir, `out-${c}.ko`);
      made.push(output);
      await runObjcopy(tool, [...sectionOpsArgs(ops, blobPath), input, output], dir, opts.file !== undefined ? { file: opts.file } : {});
      input = output;
    }
    const out = readFileSync(output);
    return new Uint8Array(out.buffer, out.byteOffset, out.byteLength);
  } catch (err: unknown) {
    if (isModbtfError(err)) throw err;
    const why = err instanceof Error ? err.message : String(err);
    throw new ModuleError('IO_ERROR', `objcopy's work files in ${dir}: ${why}`, opts.file !== undefined ? { file: opts.file } : {}, { cause: err });
  } finally {
    for (const f of [...made, join(dir, STDERR_FILE)]) { try { unlinkSync(f); } catch { /* not made */ } }
    try { rmdirSync(dir); } catch { rmSync(dir, { recursive: true, force: true }); }
  }
}
