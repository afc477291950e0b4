/**
 * `modbtf kbuild install <kdir>`: make a kernel build tree use modbtf for every M=
 * build, with no change to modules or to the make command line. A copy of
 * Makefile.snippet (with the modbtf command filled in) goes to
 * <kdir>/scripts/Makefile.modbtf, and the tree's top Makefile — the file `make -C
 * <kdir>` reads first — gets a marked block that adds it to MAKEFILES, so every
 * sub-make, Makefile.modfinal included, reads it. Both steps are idempotent, and
 * uninstall removes exactly the block and the copy.
 */
import { readFile, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { ModuleError } from '../lib/errors.js';
import { writeFileAtomic } from '../lib/objcopy/atomic.js';

export const BEGIN = '# >>> modbtf: module BTF with .BTF.base (`modbtf kbuild uninstall` removes this block)';
export const END = '# <<< modbtf';
export const INSTALLED_SNIPPET = 'scripts/Makefile.modbtf';

export interface InstallResult { makefile: string; snippet: string; changed: boolean }

async function readText(path: string): Promise<string> {
  try {
    return await readFile(path, 'utf8');
  } catch (err: unknown) {
    throw new ModuleError('IO_NOT_FOUND', 'cannot read: is this a kernel build tree (make -C <kdir>)?', { file: path }, { cause: err });
  }
}

function stripBlock(text: string): string {
  const start = text.indexOf(BEGIN);
  if (start < 0) return text;
  const end = text.indexOf(END, start);
  if (end < 0) throw new ModuleError('KBUILD_BAD_BLOCK', `found "${BEGIN}" without "${END}"; fix the file by hand`, {});
  return text.slice(0, start) + text.slice(end + END.length).replace(/^\n/, '');
}

export async function installKbuild(kdir: string, snippetSource: string, modbtfCommand: string): Promise<InstallResult> {
  const makefile = join(kdir, 'Makefile');
  const snippet = join(kdir, INSTALLED_SNIPPET);
  const st = await stat(join(kdir, 'scripts')).catch(() => undefined);
  if (!st?.isDirectory()) throw new ModuleError('KBUILD_NOT_A_TREE', 'no scripts/ directory: not a kernel build tree', { file: kdir });
  const original = await readText(makefile);
  const snippetText = `# Installed by \`modbtf kbuild install\`; the modbtf to run:\nMODBTF ?= ${modbtfCommand}\n\n${await readText(snippetSource)}`;
  const block = `${BEGIN}\nexport MAKEFILES += ${snippet}\n${END}\n`;
  const updated = block + stripBlock(original).replace(/^\n+/, '');
  const oldSnippet = await readFile(snippet, 'utf8').catch(() => undefined);
  const changed = updated !== original || oldSnippet !== snippetText;
  if (oldSnippet !== snippetText) await writeFileAtomic(snippet, new TextEncoder().encode(snippetText));
  if (updated !== original) await writeFileAtomic(makefile, new TextEncoder().encode(updated));
  return { makefile, snippet, changed };
}

export async function uninstallKbuild(kdir: string): Promise<InstallResult> {
  const makefile = join(kdir, 'Makefile');
  const snippet = join(kdir, INSTALLED_SNIPPET);
  const original = await readText(makefile);
  const updated = stripBlock(original);
  const hadSnippet = await stat(snippet).then(() => true, () => false);
  if (updated !== original) await writeFileAtomic(makefile, new TextEncoder().encode(updated));
  if (hadSnippet) await rm(snippet);
  return { makefile, snippet, changed: updated !== original || hadSnippet };
}
