/**
 * Exit statuses, one table for every command:
 *   0  success
 *   1  the job ran and found a problem (a module will lose its BTF, warnings with
 *      --fatal-warnings)
 *   2  usage error, or input that cannot be processed (missing file, corrupt ELF/BTF)
 *   3  an external tool (objcopy, xz, zstd) is missing, was killed, or failed on good input
 *  70  a bug in modbtf (an error no check of ours anticipated)
 * Messages go to stderr as `modbtf: <file>: <section>+0x<offset>: type [<id>]: <what>`.
 * A file the system refuses (missing, unwritable, a file where a directory must be) is
 * input, exit status 2, whichever layer met it.
 */
import { isModbtfError, type ModbtfError } from '../lib/errors.js';

export const EXIT_OK = 0;
export const EXIT_FOUND_PROBLEMS = 1;
export const EXIT_INPUT = 2;
export const EXIT_TOOL = 3;
export const EXIT_BUG = 70;

/** errno codes that say something about the files named, not about modbtf. */
const FILE_ERRNOS = new Set(['ENOENT', 'EACCES', 'EPERM', 'EEXIST', 'ENOTDIR', 'EISDIR', 'EROFS', 'ENOSPC', 'EDQUOT', 'ELOOP', 'ENAMETOOLONG', 'ETXTBSY', 'EBUSY', 'EFBIG', 'EMFILE', 'ENFILE']);

function fileErrno(err: unknown): (Error & { code: string; path?: string; syscall?: string }) | undefined {
  if (!(err instanceof Error)) return undefined;
  const code = (err as { code?: unknown }).code;
  return typeof code === 'string' && FILE_ERRNOS.has(code) ? (err as Error & { code: string }) : undefined;
}

export function exitCodeFor(err: ModbtfError): number {
  return err.name === 'ToolError' ? EXIT_TOOL : EXIT_INPUT;
}

export function formatError(err: unknown, verbose: boolean): string {
  if (isModbtfError(err)) {
    let text = `modbtf: ${err.describe()}`;
    if (verbose) text += ` [${err.name} ${err.code}]`;
    const stderr = (err as { stderr?: unknown }).stderr;
    if (verbose && typeof stderr === 'string' && stderr) text += `\n${stderr.trimEnd()}`;
    return text;
  }
  const io = fileErrno(err);
  if (io) {
    const what = io.message.replace(/^[A-Z]+: /, '').replace(/, \w+ '.*'$/, '');
    return `modbtf: ${io.path !== undefined ? `${io.path}: ` : ''}${io.syscall !== undefined ? `cannot ${io.syscall}: ` : ''}${what}`;
  }
  if (err instanceof Error) return `modbtf: internal error: ${verbose && err.stack ? err.stack : err.message}`;
  return `modbtf: internal error: ${String(err)}`;
}

/** Runs a command body, printing a failure the way every command does. */
export async function runCommand(verbose: boolean, body: () => Promise<number>): Promise<void> {
  try {
    process.exitCode = await body();
  } catch (err: unknown) {
    process.stderr.write(`${formatError(err, verbose)}\n`);
    process.exitCode = isModbtfError(err) ? exitCodeFor(err) : fileErrno(err) ? EXIT_INPUT : EXIT_BUG;
  }
}
