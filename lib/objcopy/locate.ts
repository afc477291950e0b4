/**
 * Which objcopy to run. kbuild passes its $(OBJCOPY) to pahole as LLVM_OBJCOPY (the
 * name is historical: Debian's is GNU `x86_64-linux-gnu-objcopy`), so the same
 * variables decide here: an explicit choice, then LLVM_OBJCOPY, OBJCOPY, then
 * llvm-objcopy and objcopy on PATH. GNU objcopy's --update-section/--add-section
 * output equals what pahole >= 1.28 writes byte for byte; llvm-objcopy lays the
 * file out anew (valid, but not the same bytes).
 */
import { ToolError, isModbtfError } from '../errors.js';
import { runTool } from '../tool.js';

export type ObjcopyFlavor = 'gnu' | 'llvm';

export interface ObjcopyTool {
  command: string;
  flavor: ObjcopyFlavor;
  /** First line of `--version`. */
  version: string;
}

export interface LocateObjcopyOptions {
  /** A command chosen by the caller (e.g. kbuild's $(OBJCOPY)); no fallback when set. */
  command?: string;
  env?: Readonly<Record<string, string | undefined>>;
}

const probed = new Map<string, Promise<ObjcopyTool>>();

function probe(command: string): Promise<ObjcopyTool> {
  let p = probed.get(command);
  if (!p) {
    p = runTool(command, ['--version'], { tool: command.includes('llvm') ? 'llvm-objcopy' : 'objcopy' }).then((out) => {
      const first = new TextDecoder().decode(out).split('\n')[0] ?? '';
      const flavor: ObjcopyFlavor = /llvm/i.test(first) ? 'llvm' : 'gnu';
      return { command, flavor, version: first.trim() };
    });
    probed.set(command, p);
    // A failed probe should not stick: the tool may be installed later in the same process.
    p.catch(() => probed.delete(command));
  }
  return p;
}

export async function locateObjcopy(opts: LocateObjcopyOptions = {}): Promise<ObjcopyTool> {
  // A named command is not probed (a fork per module adds up in kbuild); running it
  // reports a missing tool just as well.
  if (opts.command) return { command: opts.command, flavor: /llvm/.test(opts.command) ? 'llvm' : 'gnu', version: '' };
  const env = opts.env ?? process.env;
  const candidates = [env['LLVM_OBJCOPY'], env['OBJCOPY'], 'llvm-objcopy', 'objcopy'].filter((c): c is string => !!c);
  const tried: string[] = [];
  for (const c of candidates) {
    try {
      return await probe(c);
    } catch (err: unknown) {
      if (isModbtfError(err) && err.code === 'TOOL_NOT_FOUND') { tried.push(c); continue; }
      throw err;
    }
  }
  throw new ToolError('TOOL_NOT_FOUND', `no objcopy found (tried ${tried.join(', ')}); install the Debian package binutils or llvm, or set OBJCOPY`, { tool: 'objcopy', argv: tried });
}
