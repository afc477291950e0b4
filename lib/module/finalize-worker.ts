/** Worker thread for finalizeFiles: each vmlinux BTF is parsed once per worker. */
import { serveWorker } from './serve-worker.js';
import { finalizeLane, type FinalizeBatchInit, type FinalizeReport } from './finalize-batch.js';

await serveWorker<FinalizeBatchInit, { start: number; files: string[] }, FinalizeReport[]>(finalizeLane);
