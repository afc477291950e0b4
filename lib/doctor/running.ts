/**
 * The running kernel as /sys and the kernel log show it: which modules are loaded, which
 * of them are out-of-tree (taint O), which file each was loaded from (matched by the
 * build id the kernel keeps in /sys/module/<m>/notes, else by srcversion, else by name
 * alone), and whether the kernel registered its BTF (/sys/kernel/btf/<m>).
 */
import { bytesEqual } from '../bytes.js';
import type { ModuleFacts } from './modules.js';
import type { SystemRoot } from './root.js';

export interface LoadedModuleFacts {
  name: string;
  /** /sys/module/<m>/taint has O: built out of the kernel tree. */
  outOfTree: boolean;
  srcversion: string | undefined;
  version: string | undefined;
  buildIdNote: Uint8Array | undefined;
  /** /sys/kernel/btf/<m>: the kernel registered the module's BTF. */
  btfRegistered: boolean;
  /** Its size, when registered. */
  btfSize: number | undefined;
}

/** The kernel release as the running kernel reports it. */
export async function runningRelease(root: SystemRoot): Promise<string | undefined> {
  return (await root.readText('/proc/sys/kernel/osrelease'))?.trim() || undefined;
}

/** Loadable modules that are loaded now (built-in ones have no initstate). */
export async function loadedModules(root: SystemRoot): Promise<LoadedModuleFacts[]> {
  const out: LoadedModuleFacts[] = [];
  for (const name of await root.list('/sys/module')) {
    const dir = `/sys/module/${name}`;
    if (!(await root.exists(`${dir}/initstate`))) continue;
    const text = async (f: string): Promise<string | undefined> => (await root.readText(`${dir}/${f}`))?.trim() || undefined;
    const btfSize = await root.size(`/sys/kernel/btf/${name}`);
    out.push({
      name,
      outOfTree: ((await text('taint')) ?? '').includes('O'),
      srcversion: await text('srcversion'),
      version: await text('version'),
      buildIdNote: await root.readBytes(`${dir}/notes/.note.gnu.build-id`),
      btfRegistered: btfSize !== undefined,
      btfSize,
    });
  }
  return out;
}

export type MatchedBy = 'build-id' | 'srcversion' | 'name';

/**
 * The file a loaded module came from, among the files of the running kernel's tree with
 * its name. `changed`: a file of that name is there, but its build id or srcversion is
 * not the loaded module's (replaced or rebuilt since the load).
 */
export function matchLoaded(l: LoadedModuleFacts, files: readonly ModuleFacts[]): { file: ModuleFacts; by: MatchedBy } | { changed: ModuleFacts } | undefined {
  const named = files.filter((f) => f.name === l.name);
  if (named.length === 0) return undefined;
  if (l.buildIdNote !== undefined && named.some((f) => f.buildIdNote !== undefined)) {
    const hit = named.find((f) => f.buildIdNote !== undefined && bytesEqual(f.buildIdNote, l.buildIdNote as Uint8Array));
    return hit ? { file: hit, by: 'build-id' } : { changed: named[0] as ModuleFacts };
  }
  if (l.srcversion !== undefined && named.some((f) => f.srcversion !== undefined)) {
    const hit = named.find((f) => f.srcversion === l.srcversion);
    return hit ? { file: hit, by: 'srcversion' } : { changed: named[0] as ModuleFacts };
  }
  // depmod's order: updates/ before extra/, the first file found wins.
  return { file: named[0] as ModuleFacts, by: 'name' };
}

/** The kernel log, when it can be had: a snapshot's dmesg.txt, or `dmesg` on this machine. */
export async function kernelLog(root: SystemRoot, runDmesg: () => Promise<string | undefined>): Promise<{ lines: string[]; source: string } | undefined> {
  if (!root.live) {
    const text = await root.readText('/dmesg.txt');
    return text === undefined ? undefined : { lines: text.split('\n'), source: `${root.dir}/dmesg.txt` };
  }
  const text = await runDmesg();
  return text === undefined ? undefined : { lines: text.split('\n'), source: 'dmesg' };
}

/** Lines of the kernel log about module BTF that name this module, or carry what its verdict predicts. */
export function logLinesFor(lines: readonly string[], module: string, predicted: readonly string[]): string[] {
  const out: string[] = [];
  const named = new RegExp(`module \\[${module.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\] BTF|\\b${module}: .*BTF`);
  for (const raw of lines) {
    const line = raw.replace(/^\[\s*[\d.]+\]\s*/, '');
    if (named.test(line) || predicted.some((p) => p.length > 0 && line.includes(p.trim()))) out.push(line);
  }
  return [...new Set(out)];
}
