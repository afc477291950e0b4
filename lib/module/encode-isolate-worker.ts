/**
 * Worker thread of encode-isolate.ts: one module's encodeTypesStage, answered as data (its
 * pre-dedup BTF moved to the caller), after which the caller ends this thread.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { ModuleError } from '../errors.js';
import { answerOf, encodeTypesStage, type TypesJob } from './encode-isolate.js';
import { threadErrorData } from './thread-error.js';

const port = parentPort;
if (!port) throw new ModuleError('WORKER_FAILED', 'encode-isolate-worker must run in a worker thread');
encodeTypesStage(workerData as TypesJob).then(
  (stage) => {
    const { answer, transfer } = answerOf(stage);
    port.postMessage(answer, transfer);
  },
  // encodeTypesStage answers its failures itself; anything else is a bug, reported as one.
  (err: unknown) => port.postMessage({ stage: 'encode-failed', error: threadErrorData(err) }),
);
