/**
 * `modbtf pahole`'s encoding up to btf__dedup (lib/encode encodeOpenedTypes), in this thread
 * or, for a large module, in a worker thread of its own whose heap is sized for the job.
 *
 * Why a worker: building the types of a large module allocates hundreds of MB of short-lived
 * per-CU objects, and a CU's objects live long enough to be promoted. The main isolate's
 * heap lets that garbage grow to about four times what is live (V8's growing factor on a
 * machine with a large heap limit, here ~15 MB live, ~100 MB committed on xfs.ko) and keeps
 * it committed. A worker with resourceLimits below V8's "large heap" line grows its heap by
 * a factor of ~1.6 instead, and its young generation is smaller; and ending the worker frees
 * its whole heap and the module's debug sections at once, before deduplication, which runs
 * in this thread. scripts/bench-encode.mjs measures the result beside pahole.
 *
 * A worker that runs out of heap, or dies for any other reason, is not the module's fault:
 * the caller encodes in its own thread (`encodeTypesStage`), where nothing is limited.
 */
import type { Worker as WorkerThread, ResourceLimits } from 'node:worker_threads';
import type { Btf } from '../btf/btf.js';
import type { EncodeFeatures, EncodedTypes } from '../encode/index.js';
import { reviveThreadError, threadErrorData, type ThreadErrorData } from './thread-error.js';

/** One module as `pahole -J --btf_base VMLINUX` would encode it (before btf__dedup). */
export interface TypesJob {
  module: string;
  basePath: string;
  features: EncodeFeatures;
  languages?: { ids: ReadonlySet<number>; exclude: boolean };
}

/**
 * How far the encoding got, in the order pahole reports failures: the vmlinux BTF first
 * (pahole exits 1), then the module (pahole exits 0 on a file it cannot load, or without
 * DWARF), then the encoding (exit 1). `base` is the parsed vmlinux BTF when it was parsed in
 * this thread (the caller deduplicates over it rather than parse it again).
 */
export type TypesStage =
  | { stage: 'base-failed'; error: unknown }
  | { stage: 'open-failed'; error: unknown }
  | { stage: 'no-dwarf' }
  | { stage: 'encode-failed'; error: unknown }
  | { stage: 'encoded'; types: EncodedTypes; hasBtf: boolean; base?: Btf };

/** encodeTypesStage in this thread. */
export async function encodeTypesStage(job: TypesJob): Promise<TypesStage> {
  const [{ loadBaseBtf }, enc] = await Promise.all([import('./btf-file.js'), import('../encode/index.js')]);
  let base: Btf;
  try {
    base = await loadBaseBtf(job.basePath);
  } catch (error: unknown) {
    return { stage: 'base-failed', error };
  }
  let dwarf;
  try {
    dwarf = enc.openModuleDwarf(job.module);
  } catch (error: unknown) {
    return { stage: 'open-failed', error };
  }
  if (dwarf === undefined) return { stage: 'no-dwarf' };
  const hasBtf = dwarf.elf.sectionByName('.BTF') !== undefined;
  // Handed over, not kept: the module's sections can go once its types are built.
  const opened: { dwarf: typeof dwarf | undefined } = { dwarf };
  dwarf = undefined;
  try {
    const types = enc.encodeOpenedTypes(opened, base, { features: job.features, ...(job.languages !== undefined ? { languages: job.languages } : {}) });
    return { stage: 'encoded', types, hasBtf, base };
  } catch (error: unknown) {
    return { stage: 'encode-failed', error };
  }
}

/**
 * The worker's heap for a module file of `bytes`: old generation at most 1 GB, which V8
 * counts as a small heap and grows by ~1.6x what is live rather than 4x (xfs.ko keeps ~15-20
 * MB live); young generation 6 MB below 128 MiB, else 16 MB (V8's default here is 3 x 16 MB
 * semi-spaces). The young generation is a fixed part of the peak, large on a module like
 * xfs.ko and small on the largest ones, where a small one costs many more scavenges.
 * Measured (modbtf pahole, GNU time, 7.2.13 -dbg modules): xfs.ko (95 MB) young 12 MB
 * 166-168 MB peak, 6 MB 160-163 MB, same wall time; amdgpu.ko (800 MB) young 6 MB 29.4 s and
 * 729 MB, 16 MB 23.6 s and 742 MB; the old-generation cap (256 to 1024 MB) changed nothing.
 */
export function encoderHeap(bytes: number): ResourceLimits {
  return { maxYoungGenerationSizeMb: bytes < 128 << 20 ? 6 : 16, maxOldGenerationSizeMb: 1024 };
}

/** What the worker answers: a TypesStage with its errors as data and no base. */
export type TypesAnswer =
  | { stage: 'base-failed' | 'open-failed' | 'encode-failed'; error: ThreadErrorData }
  | { stage: 'no-dwarf' }
  | { stage: 'encoded'; types: EncodedTypes; hasBtf: boolean };

export function answerOf(s: TypesStage): { answer: TypesAnswer; transfer: ArrayBuffer[] } {
  switch (s.stage) {
    case 'no-dwarf': return { answer: s, transfer: [] };
    case 'encoded': {
      const raw = s.types.raw;
      // The pre-dedup BTF is the encoder's own buffer: moved, not copied.
      const transfer = raw !== undefined && raw.buffer instanceof ArrayBuffer ? [raw.buffer] : [];
      return { answer: { stage: 'encoded', types: s.types, hasBtf: s.hasBtf }, transfer };
    }
    default: return { answer: { stage: s.stage, error: threadErrorData(s.error) }, transfer: [] };
  }
}

function stageOf(a: TypesAnswer): TypesStage {
  if (a.stage === 'no-dwarf' || a.stage === 'encoded') return a;
  return { stage: a.stage, error: reviveThreadError(a.error) };
}

/** Why a worker could not give an answer (the caller encodes in its own thread then). */
export interface IsolateLost { lost: string }

export interface IsolateOptions {
  /** Default: encoderHeap(the module's size). */
  limits?: ResourceLimits;
  /** The module file's size in bytes (for encoderHeap). */
  moduleBytes?: number;
  /** The worker's code (tests; default encode-isolate-worker.js beside this file). */
  workerUrl?: URL;
}

/** encodeTypesStage in a worker thread of its own (see the module comment), ended before this returns. */
export async function encodeTypesInIsolate(job: TypesJob, opts: IsolateOptions = {}): Promise<TypesStage | IsolateLost> {
  const { Worker } = await import('node:worker_threads');
  const url = opts.workerUrl ?? new URL('./encode-isolate-worker.js', import.meta.url);
  let worker: WorkerThread;
  try {
    worker = new Worker(url, { workerData: job, resourceLimits: opts.limits ?? encoderHeap(opts.moduleBytes ?? 0) });
  } catch (err: unknown) {
    return { lost: `no worker thread: ${err instanceof Error ? err.message : String(err)}` };
  }
  const answer = await new Promise<TypesAnswer | IsolateLost>((resolve) => {
    worker.once('message', (a: TypesAnswer) => resolve(a));
    worker.once('error', (err: unknown) => {
      const code = (err as { code?: unknown }).code;
      resolve({ lost: code === 'ERR_WORKER_OUT_OF_MEMORY' ? 'the worker ran out of heap' : `the worker failed: ${err instanceof Error ? err.message : String(err)}` });
    });
    worker.once('exit', (status) => resolve({ lost: `the worker exited (status ${status}) without an answer` }));
  });
  // Ended, not left to finish: its heap and the module's sections go now.
  await worker.terminate();
  return 'lost' in answer ? answer : stageOf(answer);
}
