/** Worker thread for checkFiles: vmlinux BTF is parsed once per worker. */
import { batchLane } from './file-pool.js';
import { serveWorker } from './serve-worker.js';
import { checkLane } from './check-report.js';

await serveWorker(batchLane(checkLane));
