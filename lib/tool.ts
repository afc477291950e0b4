/**
 * Running the external tools modbtf relies on (xz, zstd, gzip, objcopy) with
 * node:child_process: argv arrays only (no shell parses them), bounded output, and
 * every failure turned into a ToolError that names the command, exit status or signal
 * and stderr — with the Debian package to install when the command is missing. Nothing
 * from the npm registry: the installed package needs no dependency.
 */
import { ToolError, type ErrorContext } from './errors.js';

/** Cap on tool output: far above any real module, low enough to stop a decompression bomb. */
export const MAX_TOOL_OUTPUT = 1024 * 1024 * 1024;
/** Cap on the stderr kept for messages. */
const MAX_STDERR = 64 * 1024;

const DEBIAN_PACKAGE: Readonly<Record<string, string>> = {
  xz: 'xz-utils', zstd: 'zstd', gzip: 'gzip', 'llvm-objcopy': 'llvm', objcopy: 'binutils',
};

export interface RunToolOptions {
  /** Short tool name for messages and the package hint (`xz`, `llvm-objcopy`...). */
  tool: string;
  input?: Uint8Array;
  context?: ErrorContext;
  timeoutMs?: number;
}

const utf8 = new TextDecoder('utf-8');

/** Runs `command args...`; resolves to stdout bytes, rejects with a ToolError. */
export async function runTool(command: string, args: readonly string[], opts: RunToolOptions): Promise<Uint8Array> {
  const argv = [command, ...args];
  const ctx = opts.context ?? {};
  // Loaded on first use: most runs of the kbuild step never start a tool.
  const { spawn } = await import('node:child_process');
  return new Promise<Uint8Array>((resolve, reject) => {
    let child: import('node:child_process').ChildProcess;
    try {
      child = spawn(command, args, { stdio: [opts.input !== undefined ? 'pipe' : 'ignore', 'pipe', 'pipe'] });
    } catch (err: unknown) {
      reject(new ToolError('TOOL_FAILED', `${command} failed: ${err instanceof Error ? err.message : String(err)}`, { tool: opts.tool, argv }, ctx, { cause: err }));
      return;
    }
    const out: Buffer[] = [];
    let outLength = 0;
    const errChunks: Buffer[] = [];
    let errLength = 0;
    let why: string | undefined;
    let spawnError: NodeJS.ErrnoException | undefined;
    const stop = (reason: string): void => {
      why ??= reason;
      child.kill('SIGKILL');
    };
    const timer = opts.timeoutMs !== undefined ? setTimeout(() => stop('timed out'), opts.timeoutMs) : undefined;
    child.stdout?.on('data', (chunk: Buffer) => {
      outLength += chunk.length;
      if (outLength > MAX_TOOL_OUTPUT) stop(`output is larger than ${MAX_TOOL_OUTPUT} bytes`);
      else out.push(chunk);
    });
    child.stderr?.on('data', (chunk: Buffer) => {
      if (errLength < MAX_STDERR) errChunks.push(chunk);
      errLength += chunk.length;
    });
    child.on('error', (err: NodeJS.ErrnoException) => { spawnError ??= err; });
    if (child.stdin) {
      // A tool that exits before reading all of its input (it rejected the data) closes
      // the pipe: its exit status says what happened, not EPIPE.
      child.stdin.on('error', () => undefined);
      child.stdin.end(opts.input);
    }
    child.on('close', (code: number | null, signal: NodeJS.Signals | null) => {
      if (timer !== undefined) clearTimeout(timer);
      const stderr = utf8.decode(Buffer.concat(errChunks)).slice(0, MAX_STDERR).trimEnd();
      if (spawnError !== undefined) {
        if (spawnError.code === 'ENOENT') reject(toolNotFound(opts.tool, argv, ctx, spawnError));
        else reject(new ToolError('TOOL_FAILED', `${command} failed: ${spawnError.message}`, { tool: opts.tool, argv }, ctx, { cause: spawnError }));
        return;
      }
      if (why !== undefined) {
        reject(new ToolError('TOOL_FAILED', `${argv.join(' ')} failed: ${why}`, { tool: opts.tool, argv, stderr }, ctx));
        return;
      }
      if (signal !== null) {
        reject(toolKilled(opts.tool, argv, signal, stderr, ctx));
        return;
      }
      if (code !== 0) {
        reject(toolExited(opts.tool, argv, code ?? -1, stderr, ctx));
        return;
      }
      const bytes = out.length === 1 ? (out[0] as Buffer) : Buffer.concat(out, outLength);
      resolve(new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength));
    });
  });
}

/** `argv[0]` is not there: the error names the Debian package to install. */
export function toolNotFound(tool: string, argv: readonly string[], ctx: ErrorContext, cause?: unknown): ToolError {
  const pkg = DEBIAN_PACKAGE[tool];
  const hint = pkg !== undefined ? ` (install the Debian package ${pkg})` : '';
  return new ToolError('TOOL_NOT_FOUND', `${argv[0] ?? tool} not found${hint}`, { tool, argv }, ctx, cause !== undefined ? { cause } : undefined);
}

/** The tool ran and exited non-zero. */
export function toolExited(tool: string, argv: readonly string[], exitCode: number, stderr: string, ctx: ErrorContext, cause?: unknown): ToolError {
  const why = `exit status ${exitCode}${stderr !== '' ? `: ${stderr}` : ''}`;
  return new ToolError('TOOL_FAILED', `${argv.join(' ')} failed: ${why}`, { tool, argv, exitCode, stderr }, ctx, cause !== undefined ? { cause } : undefined);
}

/** The tool was killed by a signal (out of memory, a user's kill). */
export function toolKilled(tool: string, argv: readonly string[], signal: string, stderr: string, ctx: ErrorContext): ToolError {
  return new ToolError('TOOL_KILLED', `${argv.join(' ')} was killed by ${signal}${stderr !== '' ? `: ${stderr}` : ''}`, { tool, argv, stderr }, ctx);
}
