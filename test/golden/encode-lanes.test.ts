/**
 * The kbuild batch's encoder threads (lib/module/encode-lanes.ts, running the built
 * dist/lib/module/encode-worker.js): what comes back from a worker is pahole 1.32's
 * --btf_encode_detached bytes (test/fixtures/kernel7: k7fix over the 7.2.13 vmlinux with a
 * 7.2.13 build's flags), whichever lane encodes it; an encoder error comes back as the same
 * ModbtfError (code, message, file) the batch would have caught in its own thread; this
 * thread's lane comes first, workers take what queues up behind it.
 */
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { isModbtfError } from '../../lib/errors.js';
import { encodeModuleWithFlags } from '../../lib/encode/index.js';
import { loadBaseBtf } from '../../lib/module/btf-file.js';
import { EncodeLanes } from '../../lib/module/encode-lanes.js';
import { FLAG_SETS } from '../../scripts/lib/encode-flag-sets.mjs';
import { FIXTURES, fixtureBytes, firstDiff } from '../helpers/fixtures.js';

// A 7.2.13 build's pahole flags (the fixture's pahole.cmd).
const FLAGS = FLAG_SETS.kbuild72.split(' ');
// The built worker (npm test builds first): vitest's TypeScript transform does not reach worker threads.
const worker = pathToFileURL(join(FIXTURES, '..', '..', 'dist/lib/module/encode-worker.js'));

describe('EncodeLanes (worker threads) give pahole 1.32\'s bytes', () => {
  const dir = mkdtempSync(join(tmpdir(), 'modbtf-lanes-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const ko = join(dir, 'k7fix.ko');
  const base = join(dir, 'vmlinux.btf');
  writeFileSync(ko, fixtureBytes('kernel7/k7fix.linked.ko.gz'));
  writeFileSync(base, fixtureBytes('kernel7/vmlinux-7.2.13.btf.gz'));
  const want = fixtureBytes('kernel7/k7fix.pahole.btf.gz');

  it('six requests over two lanes: every answer equals pahole\'s output', async () => {
    const lanes = new EncodeLanes(2, undefined, worker);
    try {
      const got = await Promise.all(Array.from({ length: 6 }, () => lanes.encode({ module: ko, basePath: base, flags: FLAGS })));
      for (const g of got) {
        expect(firstDiff(g, want)).toBeUndefined();
        expect(g.length).toBe(want.length);
      }
    } finally {
      await lanes.close();
    }
  });

  it('this thread\'s lane first, a worker when modules queue up behind it: the same bytes from both', async () => {
    const vmlinux = await loadBaseBtf(base);
    let local = 0;
    const lanes = new EncodeLanes(2, async (job) => { local++; return encodeModuleWithFlags(job.module, vmlinux, job.flags); }, worker);
    try {
      const one = await lanes.encode({ module: ko, basePath: base, flags: FLAGS });
      expect(local).toBe(1);
      expect(firstDiff(one, want)).toBeUndefined();
      const got = await Promise.all(Array.from({ length: 8 }, () => lanes.encode({ module: ko, basePath: base, flags: FLAGS })));
      for (const g of got) expect(firstDiff(g, want)).toBeUndefined();
      expect(local).toBeGreaterThanOrEqual(2);
      expect(local).toBeLessThan(9);
    } finally {
      await lanes.close();
    }
  });

  it('with the batch\'s count of modules to come: no worker for a few small modules, workers for many', async () => {
    const vmlinux = await loadBaseBtf(base);
    for (const [toCome, wantWorkers] of [[0, false], [100_000, true]] as const) {
      let local = 0;
      const lanes = new EncodeLanes(2, async (job) => { local++; return encodeModuleWithFlags(job.module, vmlinux, job.flags); }, worker, () => toCome);
      try {
        // Two one at a time, then six at once: the third in this thread makes its pace known.
        for (let i = 0; i < 2; i++) await lanes.encode({ module: ko, basePath: base, flags: FLAGS });
        const got = await Promise.all(Array.from({ length: 6 }, () => lanes.encode({ module: ko, basePath: base, flags: FLAGS })));
        for (const g of got) expect(firstDiff(g, want)).toBeUndefined();
        if (wantWorkers) expect(local).toBeLessThan(8);
        else expect(local).toBe(8);
      } finally {
        await lanes.close();
      }
    }
  });

  it('failures come back as ModbtfErrors naming the file; the lane goes on', async () => {
    const lanes = new EncodeLanes(1, undefined, worker);
    const notElf = join(dir, 'text.ko');
    writeFileSync(notElf, 'not an ELF file\n');
    try {
      const bad = await lanes.encode({ module: ko, basePath: base, flags: ['--btf_features=force_cu_merging'] }).catch((e: unknown) => e);
      expect(isModbtfError(bad)).toBe(true);
      expect(isModbtfError(bad) && bad.code).toBe('ENCODE_UNSUPPORTED');
      expect(String((bad as Error).message)).toMatch(/force_cu_merging/);
      const noBase = await lanes.encode({ module: ko, basePath: join(dir, 'missing-vmlinux'), flags: FLAGS }).catch((e: unknown) => e);
      expect(isModbtfError(noBase) && noBase.file).toBe(join(dir, 'missing-vmlinux'));
      const garbage = await lanes.encode({ module: notElf, basePath: base, flags: FLAGS }).catch((e: unknown) => e);
      expect(isModbtfError(garbage) && garbage.file).toBe(notElf);
      const good = await lanes.encode({ module: ko, basePath: base, flags: FLAGS });
      expect(firstDiff(good, want)).toBeUndefined();
    } finally {
      await lanes.close();
    }
  });

  it('a worker thread that dies: its module is encoded again in this thread, the same bytes', async () => {
    const vmlinux = await loadBaseBtf(base);
    const dying = join(dir, 'dying-worker.mjs');
    const took = join(dir, 'dying-worker.took');
    writeFileSync(dying, `import { appendFileSync } from 'node:fs';\nimport { parentPort } from 'node:worker_threads';\nparentPort.on('message', () => { appendFileSync(${JSON.stringify(took)}, 'x'); process.exit(3); });\n`);
    let local = 0;
    const lanes = new EncodeLanes(2, async (job) => { local++; return encodeModuleWithFlags(job.module, vmlinux, job.flags); }, pathToFileURL(dying));
    try {
      await lanes.encode({ module: ko, basePath: base, flags: FLAGS });
      const got = await Promise.all(Array.from({ length: 4 }, () => lanes.encode({ module: ko, basePath: base, flags: FLAGS })));
      for (const g of got) expect(firstDiff(g, want)).toBeUndefined();
      // The worker took a module and died with it; this thread encoded every one.
      expect(existsSync(took)).toBe(true);
      expect(local).toBe(5);
    } finally {
      await lanes.close();
    }
  });

  it('after close, requests are refused instead of waiting forever', async () => {
    const lanes = new EncodeLanes(1, undefined, worker);
    await lanes.close();
    await expect(lanes.encode({ module: ko, basePath: base, flags: FLAGS })).rejects.toThrow(/stopped/);
  });
});
