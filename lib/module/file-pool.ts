/**
 * Module files over the lanes of pool.ts, in batches: each batch is decompressed with
 * one child process (decompressBatch; forking this large process once per module used
 * to block the event loop ~10 ms each), then handled file by file. Results come back
 * per file, with the file's index in the list.
 */
import { decompressBatch } from './compress.js';
import { runPool, type LaneSetup } from './pool.js';

/** Sets a lane up; the function it returns handles one file, given its decompressed bytes if it was compressed. */
export type FileLaneSetup<TInit, TReport> = (init: TInit) => Promise<(file: string, plain: Uint8Array | undefined) => Promise<TReport>>;

export interface FileBatch {
  /** Index of files[0] in the whole list. */
  start: number;
  files: string[];
}

/** A per-file lane as the per-batch lane pool.ts runs (this thread's, and each worker's). */
export function batchLane<TInit, TReport>(setup: FileLaneSetup<TInit, TReport>): LaneSetup<TInit, FileBatch, TReport[]> {
  return async (init) => {
    const one = await setup(init);
    return async (batch) => {
      const plain = await decompressBatch(batch.files);
      const out: TReport[] = [];
      for (let i = 0; i < batch.files.length; i++) out.push(await one(batch.files[i] as string, plain[i]));
      return out;
    };
  };
}

export interface FilePoolOptions<TInit, TReport> {
  /** Worker module: `serveWorker(batchLane(lane))`. */
  workerUrl: URL;
  lane: FileLaneSetup<TInit, TReport>;
  init: TInit;
  files: readonly string[];
  /** Files per request: a lane decompresses them with one child, an interrupt waits for at most one batch per lane. */
  batchSize: number;
  /** Lanes, this thread included (pool.ts); 1 runs in this thread only. */
  jobs: number;
  onResult: (report: TReport, index: number) => void;
  signal?: AbortSignal;
}

export function runFilePool<TInit, TReport>(opts: FilePoolOptions<TInit, TReport>): Promise<void> {
  const batches: FileBatch[] = [];
  for (let i = 0; i < opts.files.length; i += opts.batchSize) batches.push({ start: i, files: opts.files.slice(i, i + opts.batchSize) });
  return runPool<TInit, FileBatch, TReport[]>({
    workerUrl: opts.workerUrl,
    local: batchLane(opts.lane),
    init: opts.init,
    items: batches,
    jobs: opts.jobs,
    onResult: (reports, batch) => reports.forEach((r, k) => opts.onResult(r, batch.start + k)),
    ...(opts.signal ? { signal: opts.signal } : {}),
  });
}
