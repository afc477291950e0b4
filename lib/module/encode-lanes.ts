/**
 * modbtf's encoder (lib/encode: pahole 1.32's bytes) over lanes, for kbuild's batch step:
 * make runs two paholes at once with -j2, while encoding only in the batch's own thread
 * takes the modules one after another on one core. This thread is one lane (it shares the
 * vmlinux BTF the batch parsed for the rest of each module's step); `jobs - 1` worker
 * threads are the others, each parsing each vmlinux BTF once. A worker costs its start-up
 * (code, vmlinux, lib/dedup's tables over it, a cold JIT: ~0.4 s of CPU, as much as ~15
 * small modules' encoding once this thread is warm), which a small batch never earns back:
 * xtables-addons' 23 modules took 2.69 s (make -j2, touch *.o) in this thread alone and 3.10 s
 * with a worker from the start (scripts/bench-modfinal.mjs, native-j1 vs native, 2 CPUs). So
 * workers start only once this thread's own encoding times say the modules still to come
 * are worth more than START_UP_WORTH, and then a request goes to the first free lane.
 */
import type { Worker as WorkerThread } from 'node:worker_threads';
import { ModuleError } from '../errors.js';
import { reviveThreadError, type ThreadErrorData } from './thread-error.js';

/** One module to encode: its path, the vmlinux it is encoded over, the tree's pahole flags. */
export interface EncodeJob {
  module: string;
  basePath: string;
  /** $(PAHOLE_FLAGS) (and 6.x's $(MODULE_PAHOLE_FLAGS)) as words. */
  flags: readonly string[];
}

/** What a lane answers: the split BTF, or why not. */
export type EncodeAnswer = { bytes: Uint8Array } | { error: ThreadErrorData };

/** The answer as the caller would have had it from encoding in its own thread. */
function unwrap(a: EncodeAnswer): Uint8Array {
  if ('bytes' in a) return a.bytes;
  throw reviveThreadError(a.error);
}

interface Pending { job: EncodeJob; resolve: (bytes: Uint8Array) => void; reject: (err: unknown) => void }
/** A worker and the modules sent to it, oldest first (it answers in order). */
interface Lane { worker: WorkerThread; sent: Pending[] }

/** Encodes one module in this thread (the batch's vmlinux cache); throws as lib/encode does. */
export type LocalEncode = (job: EncodeJob) => Promise<Uint8Array>;

/** Encoding work (ms, at this thread's pace) that pays for starting the workers. */
const START_UP_WORTH = 1500;
/** Modules sent to a worker ahead of its answers. */
const WORKER_DEPTH = 2;
/** This thread's encodings before its pace is judged. */
const WARM_AFTER = 3;

const stopped = (job: EncodeJob): ModuleError => new ModuleError('WORKER_FAILED', 'the encoder\'s lanes were stopped', { file: job.module });

export class EncodeLanes {
  private readonly lanes: Lane[] = [];
  private readonly queue: Pending[] = [];
  private localBusy = false;
  private workersStarted = false;
  /** This thread's encodings so far, and the time (ms) of its last two. */
  private localDone = 0;
  private lastMs: number[] = [];
  private closed = false;

  /**
   * `jobs` lanes in all: this thread's (`local`; none when undefined) and worker threads
   * running `workerUrl` (encode-worker.ts) for the rest.
   */
  constructor(
    private readonly jobs: number,
    private readonly local: LocalEncode | undefined,
    private readonly workerUrl: URL = new URL('./encode-worker.js', import.meta.url),
    /** Modules that may still be asked for after those queued (the batch's count); unknown: undefined. */
    private readonly remaining: () => number | undefined = () => undefined,
  ) {}

  encode(job: EncodeJob): Promise<Uint8Array> {
    if (this.closed) return Promise.reject(stopped(job));
    return new Promise((resolve, reject) => {
      this.queue.push({ job, resolve, reject });
      void this.pump();
    });
  }

  /** Stops every lane (in-flight worker requests and queued ones are refused). */
  async close(): Promise<void> {
    this.closed = true;
    const lanes = this.lanes.splice(0);
    for (const l of lanes) for (const p of l.sent.splice(0)) p.reject(stopped(p.job));
    for (const p of this.queue.splice(0)) p.reject(stopped(p.job));
    await Promise.all(lanes.map((l) => l.worker.terminate()));
  }

  private async pump(): Promise<void> {
    for (const lane of this.lanes) {
      // Two modules per worker: its next one is there when it finishes, even while this
      // thread (which takes its answers) is busy encoding.
      while (lane.sent.length < WORKER_DEPTH) {
        const p = this.queue.shift();
        if (p === undefined) return;
        lane.sent.push(p);
        lane.worker.ref();
        lane.worker.postMessage(p.job);
      }
    }
    if (this.local !== undefined && !this.localBusy) {
      const p = this.queue.shift();
      if (p !== undefined) void this.runLocal(this.local, p);
    }
    const workers = this.local !== undefined ? this.jobs - 1 : Math.max(1, this.jobs);
    if (this.queue.length > 0 && !this.workersStarted && workers > 0 && this.workersPay()) {
      this.workersStarted = true;
      // Loaded here: a batch that never queues modules never pays for worker_threads.
      const { Worker } = await import('node:worker_threads');
      if (this.closed) return;
      for (let i = 0; i < workers; i++) this.lanes.push(this.startLane(new Worker(this.workerUrl)));
      await this.pump();
    }
  }

  /**
   * Whether the modules queued and still to come are worth a worker's start-up: without
   * this thread's lane, always; else once this thread's pace is known.
   */
  private workersPay(): boolean {
    if (this.local === undefined) return true;
    const more = this.remaining();
    if (more === undefined) return this.localDone > 0;
    // The first encodings pay the one-off costs and a cold JIT (xtables-addons' first three:
    // ~360, 160, 70 ms, then 25-40): judge by the faster of the last two after those.
    if (this.localDone < WARM_AFTER) return false;
    return (this.queue.length + more) * Math.min(...this.lastMs) > START_UP_WORTH;
  }

  private async runLocal(local: LocalEncode, p: Pending): Promise<void> {
    this.localBusy = true;
    // Started from a later turn: the caller's other modules go on (objcopy children) first.
    await new Promise<void>((r) => setImmediate(r));
    const t0 = performance.now();
    try {
      p.resolve(await local(p.job));
    } catch (err: unknown) {
      p.reject(err);
    } finally {
      this.localDone++;
      this.lastMs = [...this.lastMs.slice(-1), performance.now() - t0];
      this.localBusy = false;
      if (!this.closed) void this.pump();
    }
  }

  private startLane(worker: WorkerThread): Lane {
    const lane: Lane = { worker, sent: [] };
    // An idle lane must not keep the batch process alive; a busy one must.
    worker.unref();
    worker.on('message', (a: EncodeAnswer) => {
      const p = lane.sent.shift();
      if (lane.sent.length === 0) worker.unref();
      if (p === undefined) return;
      try {
        p.resolve(unwrap(a));
      } catch (err: unknown) {
        p.reject(err);
      }
      void this.pump();
    });
    const dead = (err: unknown): void => {
      const i = this.lanes.indexOf(lane);
      if (i >= 0) this.lanes.splice(i, 1);
      const why = err instanceof Error ? err.message : String(err);
      const lost = lane.sent.splice(0);
      // A lost thread says nothing about its modules: this thread's lane encodes them again.
      if (this.local !== undefined && !this.closed) {
        this.queue.unshift(...lost);
        void this.pump();
      } else {
        for (const p of lost) p.reject(new ModuleError('WORKER_FAILED', `modbtf's encoder thread stopped: ${why}`, { file: p.job.module }));
      }
      // Nobody left to take the queue: refuse it rather than wait forever.
      if (this.lanes.length === 0 && this.local === undefined) for (const p of this.queue.splice(0)) p.reject(new ModuleError('WORKER_FAILED', `modbtf's encoder threads stopped: ${why}`, { file: p.job.module }));
    };
    worker.on('error', dead);
    worker.on('exit', (code) => { if (!this.closed) dead(`exit status ${code}`); });
    return lane;
  }
}
