/** The worker side of pool.ts: set up once, then answer items until terminated. */
import { parentPort, workerData } from 'node:worker_threads';
import { ModuleError } from '../errors.js';

export async function serveWorker<TInit, TItem, TResult>(setup: (init: TInit) => Promise<(item: TItem) => Promise<TResult>>): Promise<void> {
  const port = parentPort;
  if (!port) throw new ModuleError('WORKER_FAILED', 'serveWorker must run in a worker thread');
  let handle: (item: TItem) => Promise<TResult>;
  try {
    handle = await setup(workerData as TInit);
  } catch (err: unknown) {
    port.postMessage({ type: 'fatal', message: err instanceof Error ? (err as { describe?: () => string }).describe?.() ?? err.message : String(err) });
    return;
  }
  port.on('message', (m: { index: number; item: TItem }) => {
    void handle(m.item).then((result) => port.postMessage({ type: 'result', index: m.index, result }));
  });
  port.postMessage({ type: 'ready' });
}
