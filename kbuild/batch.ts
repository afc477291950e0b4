/**
 * `modbtf kbuild finalize-batch`: the rest of the BTF step for every module of a kbuild
 * run, in one process (Makefile.snippet's modbtf-modfinal rule, after Makefile.modfinal's
 * modules). Each module's own recipe already ran the tree's pahole call and left a record,
 * `.<module>.ko.modbtf`: the arguments its `modbtf kbuild modfinal` would have had, and
 * its TMPDIR. Each module is then finished exactly as that per-module step finishes it
 * (kbuild/modfinal.ts with paholeDone), with the same fallback to the tree's own step
 * and the same `modbtf: warning:` line (a tree newer than every pipeline modbtf knows: one
 * line for the build), and the vmlinux BTF parsed once (and with it what BTF dedup prepares
 * per base: lib/dedup keeps it per parsed base). Modules modbtf encodes itself (no usable
 * pahole, or MODBTF_PAHOLE=modbtf) are encoded in this thread and, when they queue up, on
 * worker threads too, one lane per CPU (lib/module/encode-lanes.ts).
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
import { encodeModuleWithFlags } from '../lib/encode/index.js';
import { EncodeLanes, type EncodeJob } from '../lib/module/encode-lanes.js';
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
  /** CPUs to use (MODBTF_JOBS): lanes of modbtf's encoder; default: all. */
  cpus?: number;
  /** Modules in flight at once (objcopy is a child process); default: twice the CPUs. */
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

  let next = 0;
  // By default twice as many modules in flight as CPUs, so that the encoder threads have the
  // next module while this thread finishes the last one.
  const cpus = Math.max(1, o.cpus ?? availableParallelism());
  const jobs = Math.max(1, o.jobs ?? 2 * cpus);
  // Modules modbtf encodes itself: in this thread, and on worker threads when they queue up
  // (as make runs paholes side by side).
  let lanes: EncodeLanes | undefined;
  const local = async (job: EncodeJob): Promise<Uint8Array> => encodeModuleWithFlags(job.module, await loadBase(job.basePath), job.flags);
  // Every module not yet started may need encoding too (its record says; unread yet).
  const encode = (job: EncodeJob): Promise<Uint8Array> => (lanes ??= new EncodeLanes(Math.min(jobs, cpus), local, undefined, () => modules.length - next)).encode(job);

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
      // A recipe with --pahole-native= ran no pahole: modbtf encodes the module here (vmlinux parsed once).
      const paholeDone = (step.paholeNative ?? '').trim() === '';
      const r = await runModfinal({ ...step, verbose: o.verbose, log: o.log, paholeDone, loadBase, treeWarnings, encode, ...(tmp ? { tmpDir: tmp } : {}) });
      if (r.kind === 'tree-step' && r.exitCode !== 0) { await fail(module, r.exitCode); return; }
      if (r.kind === 'done') o.onDone(r.result, module);
      await rm(record, { force: true });
      out.finished++;
    } catch (err: unknown) {
      await fail(module, o.onError(module, err));
    }
  };

  // A few modules at a time, in modules.order's order.
  const worker = async (): Promise<void> => {
    while (next < modules.length) await one(modules[next++] as string);
  };
  try {
    await Promise.all(Array.from({ length: Math.min(jobs, modules.length) }, worker));
  } finally {
    await lanes?.close();
  }
  return out;
}
