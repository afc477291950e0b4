// pool.ts: this thread is one lane, workers the others. The worker here is a small
// .mjs speaking serveWorker's protocol, so the test needs no bundle.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { runPool } from '../../../lib/module/pool.js';

const dir = mkdtempSync(join(tmpdir(), 'modbtf-pool-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
function workerFile(name: string, body: string): URL {
  const path = join(dir, name);
  writeFileSync(path, `import { parentPort, workerData } from 'node:worker_threads';\n${body}\n`);
  return pathToFileURL(path);
}
// Answers each item n with "w:n*init" after `delay` ms; starts after `startDelay` ms.
const echo = (startDelay: number, delay: number): URL => workerFile(`echo-${startDelay}-${delay}.mjs`, `
await new Promise((r) => setTimeout(r, ${startDelay}));
parentPort.on('message', (m) => setTimeout(() => parentPort.postMessage({ type: 'result', index: m.index, result: 'w:' + m.item * workerData }), ${delay}));
parentPort.postMessage({ type: 'ready' });`);

const localEcho = (delay: number) => async (init: number) => async (n: number): Promise<string> => {
  await new Promise((r) => setTimeout(r, delay));
  return `l:${n * init}`;
};

describe('runPool', () => {
  it('with 1 job everything runs in this thread, in order', async () => {
    const seen: [string, number][] = [];
    await runPool({ workerUrl: echo(0, 0), local: localEcho(0), init: 2, items: [1, 2, 3], jobs: 1, onResult: (r, _item, i) => seen.push([r, i]) });
    expect(seen).toEqual([['l:2', 0], ['l:4', 1], ['l:6', 2]]);
  });

  it('both lanes share the items: each exactly once, computed from init', async () => {
    const items = Array.from({ length: 40 }, (_, i) => i);
    const got = new Map<number, string>();
    // The local lane is slow enough (40 x 25 ms) that a worker starting on a loaded machine still gets items.
    await runPool({ workerUrl: echo(0, 2), local: localEcho(25), init: 3, items, jobs: 3, onResult: (r, item, i) => { expect(got.has(i)).toBe(false); expect(item).toBe(i); got.set(i, r); } });
    expect([...got.keys()].sort((a, b) => a - b)).toEqual(items);
    for (const [i, r] of got) expect(r.slice(2)).toBe(String(i * 3));
    expect([...got.values()].some((r) => r.startsWith('w:'))).toBe(true);
    expect([...got.values()].some((r) => r.startsWith('l:'))).toBe(true);
  });

  it('does not wait for a worker still starting when this thread has done everything', async () => {
    const t0 = performance.now();
    const seen: string[] = [];
    await runPool({ workerUrl: echo(3000, 0), local: localEcho(1), init: 1, items: [1, 2], jobs: 2, onResult: (r) => seen.push(r) });
    expect(seen).toEqual(['l:1', 'l:2']);
    expect(performance.now() - t0).toBeLessThan(2500);
  });

  it('a lane that fails stops the others and the error comes out', async () => {
    const failing = async (): Promise<(n: number) => Promise<string>> => { throw new Error('no vmlinux'); };
    await expect(runPool({ workerUrl: echo(0, 1), local: failing, init: 1, items: [1, 2, 3, 4], jobs: 2, onResult: () => undefined })).rejects.toThrow('no vmlinux');
  });

  it('a worker that cannot start is WORKER_FAILED', async () => {
    const broken = workerFile('fatal.mjs', "parentPort.postMessage({ type: 'fatal', message: 'bad init' });");
    await expect(runPool({ workerUrl: broken, local: localEcho(50), init: 1, items: [1, 2, 3, 4, 5, 6], jobs: 2, onResult: () => undefined }))
      .rejects.toMatchObject({ code: 'WORKER_FAILED', message: expect.stringMatching(/bad init/) });
  });

  it('an abort stops handing out items; those in flight finish', async () => {
    const abort = new AbortController();
    const seen: number[] = [];
    await runPool({ workerUrl: echo(0, 0), local: localEcho(1), init: 1, items: [1, 2, 3, 4, 5], jobs: 1, signal: abort.signal, onResult: (_r, item) => { seen.push(item); if (item === 2) abort.abort(); } });
    expect(seen).toEqual([1, 2]);
  });
});
