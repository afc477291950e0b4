/**
 * Writing `.BTF` and `.BTF.base` into an ELF object with one objcopy call, the way
 * pahole does it (sections SHT_PROGBITS, no flags, alignment 1). objcopy needs files,
 * so the object and the blobs go through a private temporary directory that is always
 * removed. `.BTF_ids` is not touched here: its size never changes, and callers patch
 * its bytes in place (objcopy --update-section has been seen to mangle symbol section
 * indexes).
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runTool } from '../tool.js';
import type { ObjcopyTool } from './locate.js';

export interface BtfSectionChange {
  /** New `.BTF` contents. */
  btf: Uint8Array;
  /** New `.BTF.base` contents; undefined removes an existing `.BTF.base`. */
  btfBase: Uint8Array | undefined;
  /** Whether the input already has these sections (update vs add). */
  inputHasBtf: boolean;
  inputHasBtfBase: boolean;
}

/** objcopy arguments for the change (without input/output paths). */
export function objcopyArgs(change: BtfSectionChange, btfPath: string, basePath: string): string[] {
  const args: string[] = [];
  args.push(change.inputHasBtf ? '--update-section' : '--add-section', `.BTF=${btfPath}`);
  if (change.btfBase !== undefined) {
    args.push(change.inputHasBtfBase ? '--update-section' : '--add-section', `.BTF.base=${basePath}`);
  } else if (change.inputHasBtfBase) {
    args.push('--remove-section', '.BTF.base');
  }
  return args;
}

export async function rewriteBtfSections(tool: ObjcopyTool, elfBytes: Uint8Array, change: BtfSectionChange, opts: { file?: string } = {}): Promise<Uint8Array> {
  const dir = await mkdtemp(join(tmpdir(), 'modbtf-'));
  try {
    const input = join(dir, 'in.ko');
    const output = join(dir, 'out.ko');
    const btfPath = join(dir, 'btf');
    const basePath = join(dir, 'btf.base');
    await writeFile(input, elfBytes);
    await writeFile(btfPath, change.btf);
    if (change.btfBase !== undefined) await writeFile(basePath, change.btfBase);
    const args = [...objcopyArgs(change, btfPath, basePath), input, output];
    await runTool(tool.command, args, { tool: tool.flavor === 'llvm' ? 'llvm-objcopy' : 'objcopy', context: opts.file !== undefined ? { file: opts.file } : {} });
    return new Uint8Array(await readFile(output));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
