/**
 * Expanding command-line inputs into module files: plain files as given,
 * directories recursively (`.ko`, `.ko.xz`, `.ko.zst`, `.ko.gz`, sorted, symlinks to
 * directories not followed — /lib/modules/<ver>/build points outside the tree).
 */
import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { ModuleError } from '../errors.js';

export const MODULE_FILE = /\.ko(\.xz|\.zst|\.gz)?$/;

async function walkDir(dir: string, out: string[]): Promise<void> {
  const entries = await readdir(dir, { withFileTypes: true });
  entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  for (const e of entries) {
    const p = join(dir, e.name);
    if (e.isDirectory()) await walkDir(p, out);
    else if (e.isFile() && MODULE_FILE.test(e.name)) out.push(p);
  }
}

export async function expandModulePaths(inputs: readonly string[]): Promise<string[]> {
  const out: string[] = [];
  for (const input of inputs) {
    let st;
    try {
      st = await stat(input);
    } catch (err: unknown) {
      throw new ModuleError('IO_NOT_FOUND', 'no such file or directory', { file: input }, { cause: err });
    }
    if (st.isDirectory()) {
      const before = out.length;
      await walkDir(input, out);
      // A directory named on purpose that holds nothing is a mistake (a wrong path, modules
      // not built yet), not a success with nothing to do.
      if (out.length === before) {
        throw new ModuleError('NO_MODULES', 'no modules here: searched this directory and every one below it for *.ko, *.ko.xz, *.ko.zst and *.ko.gz (symbolic links to directories are not followed)', { file: input });
      }
    } else out.push(input);
  }
  return out;
}

/** Paths from a stream, one per line (blank lines ignored), e.g. `find ... | modbtf check -`. */
export async function readPathList(stream: AsyncIterable<string | Uint8Array>): Promise<string[]> {
  let text = '';
  const dec = new TextDecoder();
  for await (const chunk of stream) text += typeof chunk === 'string' ? chunk : dec.decode(chunk, { stream: true });
  return text.split('\n').map((l) => l.trim()).filter((l) => l !== '');
}
