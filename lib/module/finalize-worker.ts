/** Worker thread for finalizeFiles: each vmlinux BTF is parsed once per worker. */
import { serveWorker } from './serve-worker.js';
import { createFinalizer, finalizeBatch, type FinalizeBatchInit, type FinalizeReport } from './finalize-batch.js';

await serveWorker<FinalizeBatchInit, { start: number; files: string[] }, FinalizeReport[]>(async (init) => {
  const f = createFinalizer(init);
  return (batch) => finalizeBatch(batch.files, f);
});
