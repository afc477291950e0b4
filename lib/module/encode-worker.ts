/**
 * Worker thread of encode-lanes.ts: encodes the modules it is sent, one at a time, each
 * vmlinux BTF parsed once per thread. Answers never throw: a failure is sent back as data.
 */
import { parentPort } from 'node:worker_threads';
import type { Btf } from '../btf/btf.js';
import { encodeModuleWithFlags } from '../encode/index.js';
import { ModuleError } from '../errors.js';
import { loadBaseBtf } from './btf-file.js';
import type { EncodeAnswer, EncodeJob } from './encode-lanes.js';
import { threadErrorData } from './thread-error.js';

const port = parentPort;
if (!port) throw new ModuleError('WORKER_FAILED', 'encode-worker must run in a worker thread');
const bases = new Map<string, Promise<Btf>>();

async function answer(job: EncodeJob): Promise<{ a: EncodeAnswer; transfer: ArrayBuffer[] }> {
  try {
    let base = bases.get(job.basePath);
    if (base === undefined) { base = loadBaseBtf(job.basePath); bases.set(job.basePath, base); }
    const bytes = encodeModuleWithFlags(job.module, await base, job.flags);
    // Handed over, not copied, when the bytes are a buffer of their own.
    const own = bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength && bytes.buffer instanceof ArrayBuffer;
    const out = own ? bytes : bytes.slice();
    return { a: { bytes: out }, transfer: [out.buffer as ArrayBuffer] };
  } catch (err: unknown) {
    return { a: { error: threadErrorData(err) }, transfer: [] };
  }
}

port.on('message', (job: EncodeJob) => {
  void answer(job).then(({ a, transfer }) => port.postMessage(a, transfer));
});
