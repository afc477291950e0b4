/**
 * The system doctor looks at: `/`, or a directory standing for it (a snapshot made on
 * another machine, README "modbtf doctor"). Paths are system paths (`/lib/modules/...`);
 * symlinks are followed inside the root, an absolute target taken as a system path too
 * (`/lib/modules/<release>/build -> /usr/src/linux-headers-<release>` stays in the
 * snapshot), so a snapshot reads exactly as the machine it came from.
 */
import { lstat, readdir, readFile, readlink } from 'node:fs/promises';
import { join, posix } from 'node:path';

const MAX_LINKS = 40;

export class SystemRoot {
  constructor(readonly dir: string) {}

  get live(): boolean { return this.dir === '/'; }

  /** The host path of a system path, symlinks resolved inside the root; undefined when it does not exist. */
  async resolve(systemPath: string): Promise<string | undefined> {
    let pending = posix.normalize(systemPath).split('/').filter((c) => c !== '' && c !== '.');
    let done: string[] = [];
    let links = 0;
    while (pending.length > 0) {
      const comp = pending.shift() as string;
      if (comp === '..') { done.pop(); continue; }
      const host = join(this.dir, ...done, comp);
      let st;
      try { st = await lstat(host); } catch { return undefined; }
      if (st.isSymbolicLink()) {
        if (++links > MAX_LINKS) return undefined;
        const target = await readlink(host);
        const parts = target.split('/').filter((c) => c !== '' && c !== '.');
        if (target.startsWith('/')) done = [];
        pending = [...parts, ...pending];
        continue;
      }
      done.push(comp);
    }
    return join(this.dir, ...done);
  }

  async exists(p: string): Promise<boolean> { return (await this.resolve(p)) !== undefined; }

  async isDir(p: string): Promise<boolean> {
    const h = await this.resolve(p);
    return h !== undefined && (await lstat(h)).isDirectory();
  }

  async isFile(p: string): Promise<boolean> {
    const h = await this.resolve(p);
    return h !== undefined && (await lstat(h)).isFile();
  }

  /** The size of a file, or undefined when it is missing (sysfs files report 0 or their real size). */
  async size(p: string): Promise<number | undefined> {
    const h = await this.resolve(p);
    if (h === undefined) return undefined;
    try { return (await lstat(h)).size; } catch { return undefined; }
  }

  async readBytes(p: string): Promise<Uint8Array | undefined> {
    const h = await this.resolve(p);
    if (h === undefined) return undefined;
    try { return await readFile(h); } catch { return undefined; }
  }

  async readText(p: string): Promise<string | undefined> {
    const b = await this.readBytes(p);
    return b === undefined ? undefined : Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('utf8');
  }

  /** Names in a directory, sorted; [] when it is missing or not a directory. */
  async list(p: string): Promise<string[]> {
    const h = await this.resolve(p);
    if (h === undefined) return [];
    try { return (await readdir(h)).sort(); } catch { return []; }
  }

  /**
   * Every file under a directory whose name matches, recursively, as system paths, sorted.
   * Directory symlinks are not followed (a tree of links back to the kernel's own modules
   * would be walked twice).
   */
  async walk(p: string, match: RegExp): Promise<string[]> {
    const out: string[] = [];
    const visit = async (sys: string): Promise<void> => {
      const h = await this.resolve(sys);
      if (h === undefined) return;
      let entries;
      try { entries = await readdir(h, { withFileTypes: true }); } catch { return; }
      entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
      for (const e of entries) {
        const child = posix.join(sys, e.name);
        if (e.isDirectory()) await visit(child);
        else if ((e.isFile() || e.isSymbolicLink()) && match.test(e.name) && (await this.isFile(child))) out.push(child);
      }
    };
    await visit(p);
    return out;
  }
}
