/**
 * Running the external tools modbtf relies on (xz, zstd, gzip, objcopy) with execa:
 * argv arrays only, bounded output, and every failure turned into a ToolError that
 * names the command, exit status and stderr — with the Debian package to install
 * when the command is missing.
 */
import { ToolError, type ErrorContext } from './errors.js';

/** Cap on tool output: far above any real module, low enough to stop a decompression bomb. */
export const MAX_TOOL_OUTPUT = 1024 * 1024 * 1024;

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

function stderrText(x: unknown): string {
  if (x instanceof Uint8Array) return utf8.decode(x).trimEnd();
  return typeof x === 'string' ? x.trimEnd() : '';
}

/** Runs `command args...`; resolves to stdout bytes, rejects with a ToolError. */
export async function runTool(command: string, args: readonly string[], opts: RunToolOptions): Promise<Uint8Array> {
  const argv = [command, ...args];
  const ctx = opts.context ?? {};
  // Loaded on first use: most runs of the kbuild step never start a tool, and
  // compiling execa and its dependencies is a measurable part of start-up.
  const { ExecaError, execa } = await import('execa');
  try {
    const result = await execa(command, args, {
      ...(opts.input !== undefined ? { input: opts.input } : { stdin: 'ignore' as const }),
      encoding: 'buffer',
      maxBuffer: MAX_TOOL_OUTPUT,
      // execa strips a trailing "\n" from buffers too; a signed module ends in one.
      stripFinalNewline: false,
      ...(opts.timeoutMs !== undefined ? { timeout: opts.timeoutMs } : {}),
    });
    return result.stdout;
  } catch (err: unknown) {
    if (!(err instanceof ExecaError)) {
      throw new ToolError('TOOL_FAILED', `${command} failed: ${err instanceof Error ? err.message : String(err)}`, { tool: opts.tool, argv }, ctx, { cause: err });
    }
    if (err.code === 'ENOENT') throw toolNotFound(opts.tool, argv, ctx, err);
    const stderr = stderrText(err.stderr);
    if (err.exitCode !== undefined && !err.isMaxBuffer && !err.timedOut) throw toolExited(opts.tool, argv, err.exitCode, stderr, ctx, err);
    const why = err.isMaxBuffer ? `output is larger than ${MAX_TOOL_OUTPUT} bytes` : err.timedOut ? 'timed out' : err.shortMessage;
    const detail: { tool: string; argv: readonly string[]; exitCode?: number; stderr?: string } = { tool: opts.tool, argv, stderr };
    if (err.exitCode !== undefined) detail.exitCode = err.exitCode;
    throw new ToolError('TOOL_FAILED', `${argv.join(' ')} failed: ${why}`, detail, ctx, { cause: err });
  }
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
