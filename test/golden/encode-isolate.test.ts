/**
 * `modbtf pahole`'s encoding in a worker thread of its own (lib/module/encode-isolate.ts,
 * running the built dist/lib/module/encode-isolate-worker.js): the types built there and
 * deduplicated here are pahole 1.32's --btf_encode_detached bytes (test/fixtures/kernel7: k7fix
 * over the 7.2.13 vmlinux with a 7.2.13 build's flags), as in this thread; failures come back
 * at the stage pahole reports them, as the errors this thread would have caught; a worker
 * that cannot finish (here: a heap too small to start in) is reported, not an error.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { errnoOf, isModbtfError } from '../../lib/errors.js';
import { dedupEncodedTypes, encodeSettingsFromArgs } from '../../lib/encode/index.js';
import { loadBaseBtf } from '../../lib/module/btf-file.js';
import { encodeTypesInIsolate, encodeTypesStage, type TypesJob, type TypesStage } from '../../lib/module/encode-isolate.js';
import { FLAG_SETS } from '../../scripts/lib/encode-flag-sets.mjs';
import { FIXTURES, fixtureBytes, firstDiff } from '../helpers/fixtures.js';

// A 7.2.13 build's pahole flags (the fixture's pahole.cmd).
const FLAGS = FLAG_SETS.kbuild72.split(' ');
// The built worker (npm test builds first): vitest's TypeScript transform does not reach worker threads.
const workerUrl = pathToFileURL(join(FIXTURES, '..', '..', 'dist/lib/module/encode-isolate-worker.js'));

describe('encodeTypesInIsolate', () => {
  const dir = mkdtempSync(join(tmpdir(), 'modbtf-isolate-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const ko = join(dir, 'k7fix.ko');
  const basePath = join(dir, 'vmlinux.btf');
  writeFileSync(ko, fixtureBytes('kernel7/k7fix.linked.ko.gz'));
  writeFileSync(basePath, fixtureBytes('kernel7/vmlinux-7.2.13.btf.gz'));
  const want = fixtureBytes('kernel7/k7fix.pahole.btf.gz');
  const settings = encodeSettingsFromArgs(FLAGS);
  if ('refused' in settings) throw new Error(settings.refused);
  const job: TypesJob = { module: ko, basePath, features: settings.features, ...(settings.languages !== undefined ? { languages: settings.languages } : {}) };

  const deduped = async (s: TypesStage): Promise<Uint8Array | undefined> => {
    if (s.stage !== 'encoded') throw new Error(`stage ${s.stage}`);
    return dedupEncodedTypes(s.types, s.base ?? await loadBaseBtf(basePath), { features: job.features }, ko).bytes;
  };

  it('types built in the worker, deduplicated here: pahole 1.32\'s bytes, as in this thread', async () => {
    const there = await encodeTypesInIsolate(job, { workerUrl });
    if ('lost' in there) throw new Error(there.lost);
    expect(there.stage).toBe('encoded');
    expect(there.stage === 'encoded' && there.base).toBeUndefined();
    expect(there.stage === 'encoded' && there.hasBtf).toBe(false);
    const a = await deduped(there);
    expect(a && firstDiff(a, want)).toBeUndefined();
    expect(a?.length).toBe(want.length);
    const here = await encodeTypesStage(job);
    const b = await deduped(here);
    expect(b && firstDiff(b, want)).toBeUndefined();
  });

  it('a vmlinux that is not there: base-failed, with the errno pahole prints', async () => {
    const s = await encodeTypesInIsolate({ ...job, basePath: join(dir, 'nope') }, { workerUrl });
    if ('lost' in s) throw new Error(s.lost);
    expect(s.stage).toBe('base-failed');
    if (s.stage === 'base-failed') expect(errnoOf(s.error)).toBe('ENOENT');
  });

  it('a module that is not ELF: open-failed, the same ModbtfError as in this thread', async () => {
    const junk = join(dir, 'junk.ko');
    writeFileSync(junk, Buffer.from('not an ELF file at all, just text'));
    const there = await encodeTypesInIsolate({ ...job, module: junk }, { workerUrl });
    const here = await encodeTypesStage({ ...job, module: junk });
    if ('lost' in there) throw new Error(there.lost);
    expect(there.stage).toBe('open-failed');
    expect(here.stage).toBe('open-failed');
    if (there.stage !== 'open-failed' || here.stage !== 'open-failed') return;
    expect(isModbtfError(there.error)).toBe(true);
    expect(isModbtfError(here.error)).toBe(true);
    if (!isModbtfError(there.error) || !isModbtfError(here.error)) return;
    expect(there.error.code).toBe(here.error.code);
    expect(there.error.describe()).toBe(here.error.describe());
  });

  it('a worker whose heap is too small to finish: reported as lost, not as the module\'s failure', async () => {
    const s = await encodeTypesInIsolate(job, { workerUrl, limits: { maxOldGenerationSizeMb: 1, maxYoungGenerationSizeMb: 1 } });
    expect('lost' in s).toBe(true);
  });
});
