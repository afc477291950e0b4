/**
 * A fixed set of worker threads working through a list: each worker loads what is
 * expensive (vmlinux BTF, name indexes) once from `init`, then takes items one at a
 * time, so a tree of 4000 modules costs one vmlinux parse per worker, not per module.
 * Results come back in completion order through `onResult`; an item that throws in
 * the worker comes back as the worker's own error value (workers never die on bad
 * input). Aborting stops handing out items and lets the ones in flight finish.
 */
import type { Worker as WorkerThread } from 'node:worker_threads';
import { ModuleError } from '../errors.js';

export interface PoolOptions<TInit, TItem, TResult> {
  /** Worker module (must call `serveWorker`). */
  workerUrl: URL;
  init: TInit;
  items: readonly TItem[];
  jobs: number;
  onResult: (result: TResult, item: TItem, index: number) => void;
  signal?: AbortSignal;
}

type FromWorker<TResult> = { type: 'ready' } | { type: 'result'; index: number; result: TResult } | { type: 'fatal'; message: string };

export async function runPool<TInit, TItem, TResult>(opts: PoolOptions<TInit, TItem, TResult>): Promise<void> {
  const { items } = opts;
  let next = 0;
  const jobs = Math.max(1, Math.min(opts.jobs, items.length));
  if (items.length === 0) return;
  // Loaded here, not at the top: callers that run one module inline never pay for it.
  const { Worker } = await import('node:worker_threads');
  const runOne = (): Promise<void> => new Promise((resolve, reject) => {
    const w: WorkerThread = new Worker(opts.workerUrl, { workerData: opts.init });
    const give = (): void => {
      if (next >= items.length || opts.signal?.aborted) {
        void w.terminate().then(() => resolve());
        return;
      }
      const index = next++;
      w.postMessage({ index, item: items[index] });
    };
    w.on('message', (m: FromWorker<TResult>) => {
      if (m.type === 'ready') give();
      else if (m.type === 'result') {
        opts.onResult(m.result, items[m.index] as TItem, m.index);
        give();
      } else {
        void w.terminate();
        reject(new ModuleError('WORKER_FAILED', `worker thread could not start: ${m.message}`));
      }
    });
    w.on('error', reject);
  });
  await Promise.all(Array.from({ length: jobs }, runOne));
}
