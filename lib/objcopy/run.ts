/**
 * Running objcopy for many modules in one process (finalize or retarget over a tree,
 * one call per module). Each thread keeps one `sh` that starts objcopy for it: a spawn
 * from node forks the whole process — hundreds of MB mapped, several threads — which
 * cost the calling thread ~5 ms per module and held up the other threads, while sh
 * forks objcopy in well under a millisecond. The shell reads a request (work
 * directory, argument count, one argument per line), runs objcopy with stderr into a
 * file of that directory and answers with the exit status. It holds no reference that
 * keeps node alive, and ends when node closes its stdin (at exit, also after a kill).
 * Arguments with a newline, or no usable sh, fall back to a spawn per call.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Readable, Writable } from 'node:stream';
import type { ChildProcess } from 'node:child_process';
import { ToolError, type ErrorContext } from '../errors.js';
import { runTool, toolExited, toolNotFound } from '../tool.js';
import type { ObjcopyTool } from './locate.js';

/** The file in the work directory that gets objcopy's stderr. */
export const STDERR_FILE = 'objcopy.stderr';

const SCRIPT = `cmd=$1
while IFS= read -r dir && IFS= read -r n; do
  set --
  while [ "$n" -gt 0 ]; do IFS= read -r a || exit 1; set -- "$@" "$a"; n=$((n - 1)); done
  "$cmd" "$@" </dev/null >/dev/null 2>"$dir/${STDERR_FILE}"
  echo "$?"
done`;

/** Never seen by callers: runObjcopy falls back to a spawn per call on it. */
const shellFailed = (why: string): ToolError => new ToolError('TOOL_FAILED', `objcopy shell: ${why}`, { tool: 'sh', argv: ['sh', '-c', SCRIPT] });

type Refable = { ref(): void; unref(): void };
const refable = (x: unknown): x is Refable => typeof (x as Partial<Refable>).ref === 'function' && typeof (x as Partial<Refable>).unref === 'function';

class ObjcopyShell {
  private readonly waiting: ((status: number | ToolError) => void)[] = [];
  private out = '';
  dead = false;

  static async start(command: string): Promise<ObjcopyShell> {
    // Loaded on first use, as in runTool.
    const { spawn } = await import('node:child_process');
    // The outcome of the shell itself is seen through 'error' and 'close' below.
    const sub = spawn('sh', ['-c', SCRIPT, 'sh', command], { stdio: ['pipe', 'pipe', 'ignore'] });
    return new ObjcopyShell(sub, sub.stdin, sub.stdout);
  }

  private constructor(private readonly child: ChildProcess, private readonly stdin: Writable, private readonly stdout: Readable) {
    this.stdout.setEncoding('latin1');
    this.stdout.on('data', (chunk: string) => {
      this.out += chunk;
      for (let nl = this.out.indexOf('\n'); nl >= 0; nl = this.out.indexOf('\n')) {
        const line = this.out.slice(0, nl);
        this.out = this.out.slice(nl + 1);
        this.waiting.shift()?.(/^\d+$/.test(line) ? Number(line) : shellFailed(`unexpected answer ${JSON.stringify(line)}`));
      }
      this.hold(this.waiting.length > 0);
    });
    const die = (why: ToolError): void => {
      this.dead = true;
      for (const w of this.waiting.splice(0)) w(why);
    };
    this.child.on('error', (err) => die(shellFailed(err.message)));
    this.child.on('close', () => die(shellFailed('exited')));
    // A write after the shell died fails with EPIPE; 'close' has answered the callers.
    this.stdin.on('error', () => undefined);
    this.hold(false);
  }

  run(dir: string, args: readonly string[]): Promise<number> {
    return new Promise((resolve, reject) => {
      if (this.dead) return reject(shellFailed('exited'));
      this.waiting.push((r) => (typeof r === 'number' ? resolve(r) : reject(r)));
      this.hold(true);
      this.stdin.write(`${dir}\n${args.length}\n${args.map((a) => `${a}\n`).join('')}`);
    });
  }

  /** Keeps node alive only while a call is waiting for its answer. */
  private hold(busy: boolean): void {
    for (const h of [this.child, this.stdin, this.stdout]) {
      if (!refable(h)) continue;
      if (busy) h.ref();
      else h.unref();
    }
  }
}

const shells = new Map<string, Promise<ObjcopyShell>>();
let shellUnusable = false;

/**
 * Runs `tool args...` with `dir` (a private directory of the caller) for its stderr;
 * resolves when objcopy exited 0, rejects with a ToolError like runTool's.
 */
export async function runObjcopy(tool: ObjcopyTool, args: readonly string[], dir: string, ctx: ErrorContext): Promise<void> {
  const name = tool.flavor === 'llvm' ? 'llvm-objcopy' : 'objcopy';
  const argv = [tool.command, ...args];
  if (!shellUnusable && !argv.some((a) => a.includes('\n')) && !dir.includes('\n')) {
    let status: number | undefined;
    try {
      // The map holds the starting shell, so concurrent first calls share it.
      const startShell = (): Promise<ObjcopyShell> => {
        const starting = ObjcopyShell.start(tool.command);
        shells.set(tool.command, starting);
        return starting;
      };
      let sh = await (shells.get(tool.command) ?? startShell());
      if (sh.dead) sh = await startShell();
      status = await sh.run(dir, args);
    } catch {
      // No sh, or it died under us: this and later calls spawn objcopy themselves.
      shellUnusable = true;
    }
    if (status === 0) return;
    if (status !== undefined) {
      let stderr = '';
      try {
        stderr = readFileSync(join(dir, STDERR_FILE), 'latin1').trimEnd();
      } catch { /* no stderr file: the shell could not even redirect */ }
      // sh's own verdicts: 127 command not found, 126 found but not executable.
      if (status === 127) throw toolNotFound(name, argv, ctx);
      throw toolExited(name, argv, status, stderr, ctx);
    }
  }
  await runTool(tool.command, args, { tool: name, context: ctx });
}
