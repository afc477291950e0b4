/**
 * One objcopy call for a list of section operations (update, add, remove), run the
 * way rewriteBtfSections runs it: the object and the blobs go through a private
 * temporary directory that is always removed. Added sections get objcopy's defaults
 * for --add-section (SHT_PROGBITS, no flags, alignment 1), as pahole's sections do.
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runTool } from '../tool.js';
import type { ObjcopyTool } from './locate.js';

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

export async function rewriteSections(tool: ObjcopyTool, elfBytes: Uint8Array, ops: readonly SectionOp[], opts: { file?: string } = {}): Promise<Uint8Array> {
  const dir = await mkdtemp(join(tmpdir(), 'modbtf-'));
  try {
    const input = join(dir, 'in.ko');
    const output = join(dir, 'out.ko');
    const blobPath = (i: number): string => join(dir, `section-${i}`);
    await writeFile(input, elfBytes);
    for (const [i, o] of ops.entries()) if (o.op !== 'remove') await writeFile(blobPath(i), o.contents);
    const args = [...sectionOpsArgs(ops, blobPath), input, output];
    await runTool(tool.command, args, { tool: tool.flavor === 'llvm' ? 'llvm-objcopy' : 'objcopy', context: opts.file !== undefined ? { file: opts.file } : {} });
    return new Uint8Array(await readFile(output));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
