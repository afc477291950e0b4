/**
 * `modbtf kbuild finalize-batch`: the rest of the BTF step for every module of a kbuild
 * run, in one process (Makefile.snippet's modbtf-modfinal rule, after Makefile.modfinal's
 * modules). Each module's own recipe already ran the tree's pahole call and left a record,
 * `.<module>.ko.modbtf`: the arguments its `modbtf kbuild modfinal` would have had, and
 * its TMPDIR. Each module is then finished exactly as that per-module step finishes it
 * (kbuild/modfinal.ts with paholeDone), with the same fallback to the tree's own step
 * and the same `modbtf: warning:` line (a tree newer than every pipeline modbtf knows: one
 * line for the build), and the vmlinux BTF parsed once (and with it what BTF dedup prepares
 * per base: lib/dedup keeps it per parsed base).
 *
 * A record is removed once its module is finished. A module whose step fails (the tree's
 * own rest failed, or MODBTF_STRICT=1) is deleted with its record, as make deletes a
 * failed target, so the next build relinks it; the batch then exits non-zero.
 */
import { availableParallelism } from 'node:os';
import { access, readFile, rm } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import type { Btf } from '../lib/btf/btf.js';
import { loadBaseBtf } from '../lib/module/btf-file.js';
import type { FinalizeResult } from '../lib/module/finalize.js';
import { runModfinal, type ModfinalOptions } from './modfinal.js';

/** `.<name>.ko.modbtf` next to the module (Makefile.snippet's modbtf_record). */
export function recordPath(module: string): string {
  const dir = dirname(module);
  const name = `.${basename(module)}.modbtf`;
  return module.includes('/') ? join(dir, name) : name;
}

/** What a record says: the module's modfinal options (without the batch's own), and its TMPDIR. */
export type RecordedStep = Omit<ModfinalOptions, 'env' | 'verbose' | 'log' | 'paholeDone' | 'loadBase' | 'tmpDir'> & { env: Readonly<Record<string, string | undefined>> };

export interface BatchOptions {
  env: Readonly<Record<string, string | undefined>>;
  verbose: boolean;
  log: (line: string) => void;
  /** The recorded `--name=value` lines (and the module) as modfinal options; undefined: unreadable. */
  parse: (args: readonly string[], module: string) => RecordedStep | undefined;
  /** A module finished by modbtf: print its diagnostics. */
  onDone: (result: FinalizeResult, module: string) => void;
  /** A module's step threw (MODBTF_STRICT=1, or a failure with nothing to fall back to): print it; its exit status. */
  onError: (module: string, err: unknown) => number;
  /** Modules in flight at once (objcopy is a child process); default: the CPUs. */
  jobs?: number;
}

export interface BatchOutcome {
  /** Modules with a record that were finished (by modbtf or by the tree's own step). */
  finished: number;
  /** Modules whose step failed; they were deleted. */
  failed: string[];
  /** Exit status: 0, or the first failure's. */
  exitCode: number;
}

async function exists(p: string): Promise<boolean> {
  try { await access(p); return true; } catch { return false; }
}

export async function runFinalizeBatch(modules: readonly string[], o: BatchOptions): Promise<BatchOutcome> {
  const bases = new Map<string, Promise<Btf>>();
  const loadBase = (path: string): Promise<Btf> => {
    let b = bases.get(path);
    if (b === undefined) { b = loadBaseBtf(path); bases.set(path, b); }
    return b;
  };
  // A tree modbtf does not know is one warning for the whole build, not one per module.
  const treeWarnings = new Set<string>();
  const out: BatchOutcome = { finished: 0, failed: [], exitCode: 0 };
  const fail = async (module: string, code: number): Promise<void> => {
    await Promise.all([module, `${module}.BTF.1`, recordPath(module)].map((f) => rm(f, { force: true })));
    out.failed.push(module);
    if (out.exitCode === 0) out.exitCode = code;
  };

  const one = async (module: string): Promise<void> => {
    const record = recordPath(module);
    const text = await readFile(record, 'utf8').catch(() => undefined);
    if (text === undefined) return; // finished already (or never recorded)
    if (!(await exists(module))) { await rm(record, { force: true }); return; }
    const lines = text.split('\n').filter((l) => l !== '');
    const tmp = lines.find((l) => l.startsWith('TMPDIR='))?.slice('TMPDIR='.length);
    const step = o.parse(lines.filter((l) => l.startsWith('--')), module);
    if (step === undefined) {
      await fail(module, o.onError(module, new Error(`${record}: not a record Makefile.snippet writes`)));
      return;
    }
    try {
      const r = await runModfinal({ ...step, verbose: o.verbose, log: o.log, paholeDone: true, loadBase, treeWarnings, ...(tmp ? { tmpDir: tmp } : {}) });
      if (r.kind === 'tree-step' && r.exitCode !== 0) { await fail(module, r.exitCode); return; }
      if (r.kind === 'done') o.onDone(r.result, module);
      await rm(record, { force: true });
      out.finished++;
    } catch (err: unknown) {
      await fail(module, o.onError(module, err));
    }
  };

  // A few modules at a time, in modules.order's order.
  const jobs = Math.max(1, o.jobs ?? availableParallelism());
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < modules.length) await one(modules[next++] as string);
  };
  await Promise.all(Array.from({ length: Math.min(jobs, modules.length) }, worker));
  return out;
}
