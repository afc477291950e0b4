/** Worker thread for finalizeFiles: each vmlinux BTF is parsed once per worker. */
import { batchLane } from './file-pool.js';
import { serveWorker } from './serve-worker.js';
import { finalizeLane } from './finalize-batch.js';

await serveWorker(batchLane(finalizeLane));
