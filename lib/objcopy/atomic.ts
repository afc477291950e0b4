/**
 * Replacing a file so that every reader, and every crash, sees either the old bytes
 * or the new ones: write a temporary file in the same directory (same filesystem, so
 * rename is atomic), fsync it, give it the old file's mode (or the caller's mode and
 * modification time: `modbtf setup --remove` puts files back as they were), rename it
 * over the target, fsync the directory. On any failure the temporary file is removed
 * and the target is untouched. Parallel runs (make -j) on different modules never
 * share a temp name.
 *
 * `durable: false` leaves out both fsyncs: readers still see old or new bytes, but a
 * crash may lose the new ones. That is the guarantee of a kernel build's own steps (ld,
 * pahole, objcopy and resolve_btfids write without fsync), which the kbuild step and
 * `resolve-btfids` give; an fsync per module there cost more than the module's BTF work.
 */
import { open, rename, stat, unlink, chmod, utimes } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { ModuleError } from '../errors.js';

function ioError(code: string, what: string, file: string, err: unknown): ModuleError {
  const reason = typeof err === 'object' && err !== null && 'code' in err ? `${String((err as { code: unknown }).code)}: ` : '';
  const msg = err instanceof Error ? err.message : String(err);
  return new ModuleError(code, `${what}: ${reason}${msg.replace(/^[A-Z]+: /, '')}`, { file }, { cause: err });
}

let tempCounter = 0;

/**
 * A name no other writer uses: the pid tells processes apart (make -j), the counter
 * calls within one process, and open(O_EXCL) below catches a stale file left behind
 * by a killed process whose pid came round again. (Not node:crypto: loading it costs
 * every run several milliseconds.)
 */
export function tempPathFor(target: string): string {
  tempCounter = (tempCounter + 1) >>> 0;
  return join(dirname(target), `.${basename(target)}.modbtf-${process.pid}-${Date.now().toString(36)}-${tempCounter}.tmp`);
}

/** What the new file gets instead of the old file's mode (0644 for a new file) and the current time. */
export interface AtomicWriteOptions {
  mode?: number;
  mtime?: Date;
  /**
   * fsync the file and its directory (default true). false: still atomic (temp file +
   * rename), not durable across a crash, as kbuild's own steps write their outputs.
   */
  durable?: boolean;
}

export async function writeFileAtomic(target: string, bytes: Uint8Array, options: AtomicWriteOptions = {}): Promise<void> {
  const durable = options.durable ?? true;
  let mode = 0o644;
  if (options.mode !== undefined) mode = options.mode;
  else {
    try {
      mode = (await stat(target)).mode & 0o7777;
    } catch (err: unknown) {
      if (!(typeof err === 'object' && err !== null && 'code' in err && err.code === 'ENOENT')) throw ioError('IO_ERROR', 'cannot stat', target, err);
    }
  }
  const tmp = tempPathFor(target);
  let created = false;
  try {
    const fh = await open(tmp, 'wx', mode);
    created = true;
    try {
      let off = 0;
      while (off < bytes.length) {
        const { bytesWritten } = await fh.write(bytes, off, bytes.length - off);
        off += bytesWritten;
      }
      if (durable) await fh.sync();
    } finally {
      await fh.close();
    }
    await chmod(tmp, mode);
    if (options.mtime !== undefined) await utimes(tmp, options.mtime, options.mtime);
    await rename(tmp, target);
    created = false;
  } catch (err: unknown) {
    if (created) await unlink(tmp).catch(() => undefined);
    throw ioError('IO_WRITE', `cannot write (the file is unchanged)`, target, err);
  }
  // Make the rename itself durable; not all filesystems allow fsync on a directory.
  if (!durable) return;
  try {
    const dh = await open(dirname(target), 'r');
    try { await dh.sync(); } finally { await dh.close(); }
  } catch { /* best effort */ }
}
