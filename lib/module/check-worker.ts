/** Worker thread for checkFiles: vmlinux BTF is parsed once per worker. */
import { serveWorker } from './serve-worker.js';
import { checkBatch, loadCheckTarget, type CheckReport } from './check-report.js';

await serveWorker<{ kernelPath: string; builtWithPath: string | undefined }, { start: number; files: string[] }, CheckReport[]>(async (init) => {
  const t = await loadCheckTarget(init.kernelPath, init.builtWithPath);
  return (batch) => checkBatch(batch.files, t);
});
