/**
 * Work lanes over a list: this thread is one lane, and `jobs - 1` worker threads are
 * the others. Each lane loads what is expensive (vmlinux BTF, name indexes) once from
 * `init`, then takes items one at a time, so a tree of 4000 modules costs one vmlinux
 * parse per lane, not per module. This thread works from the start while the workers
 * are still starting up (~100 ms each: code and vmlinux), so small batches need no
 * worker at all and `jobs` 1 starts none. Results come back in completion order
 * through `onResult`; an item that throws comes back as the handler's own error value
 * (handlers never throw on bad input). Aborting stops handing out items and lets the
 * ones in flight finish; a lane that fails stops the others.
 */
import type { Worker as WorkerThread } from 'node:worker_threads';
import { ModuleError } from '../errors.js';

/** Sets a lane up from `init`; the handler it returns does one item. */
export type LaneSetup<TInit, TItem, TResult> = (init: TInit) => Promise<(item: TItem) => Promise<TResult>>;

export interface PoolOptions<TInit, TItem, TResult> {
  /** Worker module (must call `serveWorker` with the same setup as `local`). */
  workerUrl: URL;
  /** This thread's lane. */
  local: LaneSetup<TInit, TItem, TResult>;
  init: TInit;
  items: readonly TItem[];
  /** Lanes in all, this thread included. */
  jobs: number;
  onResult: (result: TResult, item: TItem, index: number) => void;
  signal?: AbortSignal;
}

type FromWorker<TResult> = { type: 'ready' } | { type: 'result'; index: number; result: TResult } | { type: 'fatal'; message: string };

export async function runPool<TInit, TItem, TResult>(opts: PoolOptions<TInit, TItem, TResult>): Promise<void> {
  const { items } = opts;
  if (items.length === 0) return;
  let next = 0;
  let failed = false;
  const take = (): number | undefined => (next < items.length && !failed && opts.signal?.aborted !== true ? next++ : undefined);
  const workers: WorkerThread[] = [];
  const fail = (err: unknown): never => {
    failed = true;
    for (const w of workers) void w.terminate();
    throw err;
  };

  // Workers not working on an item: stopped at once when this thread runs out of items
  // first, rather than waited for (a worker still starting up costs ~100 ms).
  const idle = new Set<() => void>();
  const runLocal = async (): Promise<void> => {
    const handle = await opts.local(opts.init);
    for (let i = take(); i !== undefined; i = take()) opts.onResult(await handle(items[i] as TItem), items[i] as TItem, i);
    for (const stop of [...idle]) stop();
  };

  const lanes = Math.max(1, Math.min(opts.jobs, items.length));
  if (lanes === 1) return runLocal();
  // Loaded here, not at the top: one-lane runs never pay for it.
  const { Worker } = await import('node:worker_threads');
  const runWorker = (): Promise<void> => new Promise((resolve, reject) => {
    const w: WorkerThread = new Worker(opts.workerUrl, { workerData: opts.init });
    workers.push(w);
    const stop = (): void => {
      idle.delete(stop);
      void w.terminate().then(() => resolve());
    };
    idle.add(stop);
    const give = (): void => {
      const index = take();
      if (index === undefined) {
        stop();
        return;
      }
      idle.delete(stop);
      w.postMessage({ index, item: items[index] });
    };
    w.on('message', (m: FromWorker<TResult>) => {
      if (m.type === 'ready') give();
      else if (m.type === 'result') {
        idle.add(stop);
        opts.onResult(m.result, items[m.index] as TItem, m.index);
        give();
      } else {
        void w.terminate();
        reject(new ModuleError('WORKER_FAILED', `worker thread could not start: ${m.message}`));
      }
    });
    w.on('error', reject);
  });
  await Promise.all([runLocal(), ...Array.from({ length: lanes - 1 }, runWorker)].map((p) => p.catch(fail)));
}
