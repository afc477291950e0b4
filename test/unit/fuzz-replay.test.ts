/**
 * Fuzz → replay. Every input the fuzzer saved (test/fixtures/fuzz/*.bin, see
 * scripts/fuzz.mjs) must now go through the whole read path as a success or as a
 * ModbtfError with an offset; and a small seeded campaign runs here on every `npm test`
 * through the same mutation and check code (scripts/fuzz-core.mjs), against lib/ sources.
 */
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { Btf } from '../../lib/btf/btf.js';
import { dumpRaw } from '../../lib/btf/dump-raw.js';
import { readElfBtf } from '../../lib/btf/source.js';
import { validateBtf } from '../../lib/btf/validate.js';
import { rewriteBtf, writeBtf } from '../../lib/btf/write.js';
import { parseElf } from '../../lib/elf/index.js';
import { BtfFormatError, BtfValidationError, ElfFormatError, isModbtfError } from '../../lib/errors.js';
import { stripSignature } from '../../lib/module/signature.js';
import { openDwarf } from '../../lib/dwarf/dwarf.js';
import { openDwarfFile } from '../../lib/dwarf/file.js';
import { readelfDebugDump } from '../../lib/dwarf/readelf.js';
import { encodeModule, encodeSettingsFromArgs } from '../../lib/encode/index.js';
import {
  classifyThrown, inputFor, loadSeeds, makeInput, runOne, type FuzzInput, type FuzzLib, type Seed,
} from '../../scripts/fuzz-core.mjs';

const FIXTURES = join(dirname(fileURLToPath(import.meta.url)), '..', 'fixtures');
const SAVED_DIR = join(FIXTURES, 'fuzz');

/** openDwarfFile reads from disk: each DWARF input is written here first (removed after the file's tests). */
let scratch: string | undefined;
afterAll(() => { if (scratch !== undefined) rmSync(scratch, { recursive: true, force: true }); });
function tempFile(bytes: Uint8Array): string {
  scratch ??= mkdtempSync(join(tmpdir(), 'modbtf-fuzz-replay-'));
  const path = join(scratch, 'input.o');
  writeFileSync(path, bytes);
  return path;
}

const lib: FuzzLib = {
  parseElf, Btf, readElfBtf, validateBtf, dumpRaw, rewriteBtf, writeBtf, stripSignature, isModbtfError, openDwarf, readelfDebugDump,
  openDwarfFile, tempFile, encodeModule, encodeSettingsFromArgs,
};

/** Seeds (with the 5 MB vmlinux base) load once per file and are never mutated. */
let loaded: ReturnType<typeof loadSeeds> | undefined;
function seeds(): ReturnType<typeof loadSeeds> {
  loaded ??= loadSeeds(lib, FIXTURES);
  return loaded;
}

interface Sidecar { seed?: number; run?: number; seedName?: string; kind?: 'elf' | 'btf' | 'dwarf'; ops?: string[] }

function savedInputs(): string[] {
  if (!existsSync(SAVED_DIR)) return [];
  return readdirSync(SAVED_DIR).filter((f) => f.endsWith('.bin')).sort();
}

function replayInput(file: string): FuzzInput {
  const bytes = new Uint8Array(readFileSync(join(SAVED_DIR, file)));
  const sidecarPath = join(SAVED_DIR, file.replace(/\.bin$/, '.json'));
  const meta = (existsSync(sidecarPath) ? JSON.parse(readFileSync(sidecarPath, 'utf8')) : {}) as Sidecar;
  const { vmlinux, seeds: all } = seeds();
  const seed = all.find((s: Seed) => s.name === meta.seedName);
  if (seed) return inputFor(seed, bytes, vmlinux);
  // No sidecar: an ELF is a module over vmlinux, anything else raw BTF, tried both ways.
  const isElf = bytes[0] === 0x7f && bytes[1] === 0x45 && bytes[2] === 0x4c && bytes[3] === 0x46;
  return isElf ? { kind: 'elf', bytes, base: vmlinux } : { kind: 'btf', bytes, altBase: vmlinux };
}

describe('saved fuzz inputs replay', () => {
  const files = savedInputs();
  if (files.length === 0) {
    it.skip('no saved inputs in test/fixtures/fuzz', () => {});
    return;
  }
  it.each(files)('%s: success or a typed error with an offset', (file) => {
    const r = runOne(lib, replayInput(file), { hangMs: 10_000 });
    expect({ outcome: r.outcome, step: r.step, problem: r.problem }).toMatchObject({ outcome: expect.stringMatching(/^(ok|typed)$/) });
  });
});

describe('seeded fuzz campaign (small)', () => {
  /**
   * `runs` inputs mutated from `pool` under `seedNo`: each run's result, the count of each
   * outcome, and every run that broke the contract (neither ok nor a typed error).
   */
  function campaign(pool: Seed[], seedNo: number, runs: number) {
    const { vmlinux } = seeds();
    const results: ReturnType<typeof runOne>[] = [];
    const counts: Record<string, number> = {};
    const failures: string[] = [];
    for (let run = 0; run < runs; run++) {
      const { seed, bytes, ops } = makeInput(pool, seedNo, run);
      const r = runOne(lib, inputFor(seed, bytes, vmlinux), { hangMs: 10_000 });
      results.push(r);
      counts[r.outcome] = (counts[r.outcome] ?? 0) + 1;
      if (r.outcome !== 'ok' && r.outcome !== 'typed') {
        failures.push(`run ${run} (${seed.name}: ${ops.join('; ')}): ${r.outcome}${r.variant !== undefined ? ` ${r.variant}` : ''} at ${r.step}: ${r.problem ?? ''}`);
      }
    }
    return { results, counts, failures };
  }

  it('300 mutations of small BTF, the tcp_bbr module and a synthetic ELF break no contract', () => {
    const { seeds: all } = seeds();
    const pool = all.filter((s: Seed) => ['tcp_bbr', 'tcp_bbr.dbase', 'tcp_bbr.dsplit', 'tcp_bbr.dbase.be', 'tcp_bbr.ko', 'synthetic-distilled64le.ko'].includes(s.name));
    expect(pool).toHaveLength(6);
    const { counts, failures } = campaign(pool, 0x5eed, 300);
    // Both kinds of outcome occur, so the campaign reaches past the parsers.
    expect(counts['ok'] ?? 0).toBeGreaterThan(30);
    expect(counts['typed'] ?? 0).toBeGreaterThan(30);
    expect(failures.slice(0, 10)).toEqual([]);
  }, 60_000);

  it('300 mutations of objects with DWARF break no contract (lib/dwarf: relocation, DIEs, values, lists, dump)', () => {
    const { seeds: all } = seeds();
    const pool = all.filter((s: Seed) => s.kind === 'dwarf' && s.encodeBase === undefined);
    expect(pool.length).toBeGreaterThanOrEqual(5);
    const { counts, failures } = campaign(pool, 0xd3a7f, 300);
    expect(counts['ok'] ?? 0).toBeGreaterThan(30);
    expect(counts['typed'] ?? 0).toBeGreaterThan(30);
    expect(failures.slice(0, 10)).toEqual([]);
  }, 120_000);

  it('200 mutations of modules with DWARF break no contract in lib/dwarf nor in lib/encode (what modbtf pahole runs)', () => {
    const { seeds: all } = seeds();
    const pool = all.filter((s: Seed) => s.encodeBase !== undefined);
    expect(pool.length).toBeGreaterThanOrEqual(5);
    const { results, failures } = campaign(pool, 0xe4c0de, 200);
    // The encoder's own outcome of each run ("encode ok", "encode typed").
    const encode: Record<string, number> = {};
    for (const r of results) {
      const v = (r.variants ?? []).find((x) => x.startsWith('encode '));
      if (v !== undefined) encode[v.slice(7)] = (encode[v.slice(7)] ?? 0) + 1;
    }
    // Every run went through the encoder; some encoded, some failed with a typed error.
    expect((encode['ok'] ?? 0) + (encode['typed'] ?? 0)).toBe(200 - failures.length);
    expect(encode['ok'] ?? 0).toBeGreaterThan(20);
    expect(encode['typed'] ?? 0).toBeGreaterThan(20);
    expect(failures.slice(0, 10)).toEqual([]);
  }, 120_000);

  it('is reproducible: an input depends only on (seed, run)', () => {
    const { seeds: all } = seeds();
    const a = makeInput(all, 7, 4711);
    const b = makeInput(all, 7, 4711);
    const c = makeInput(all, 7, 4712);
    expect(a.seed.name).toBe(b.seed.name);
    expect(a.ops).toEqual(b.ops);
    expect(Buffer.from(a.bytes).equals(Buffer.from(b.bytes))).toBe(true);
    expect(`${c.seed.name} ${c.ops.join(';')}`).not.toBe(`${a.seed.name} ${a.ops.join(';')}`);
  });
});

describe('the contract check', () => {
  it('an exception that is not a ModbtfError is a crash', () => {
    expect(classifyThrown(lib, new TypeError('x is undefined')).outcome).toBe('crash');
    expect(classifyThrown(lib, new RangeError('offset is out of bounds')).outcome).toBe('crash');
    expect(classifyThrown(lib, 'a string').outcome).toBe('crash');
  });

  it('a typed error must say where', () => {
    expect(classifyThrown(lib, new ElfFormatError('ELF_TRUNCATED', 'short', { offset: 64 })).outcome).toBe('typed');
    expect(classifyThrown(lib, new BtfFormatError('BTF_BAD_STRING', 'bad', { typeId: 3 })).outcome).toBe('offsetless');
    // Absence has no offset.
    expect(classifyThrown(lib, new BtfFormatError('BTF_MISSING', 'no .BTF')).outcome).toBe('typed');
  });

  it('a validation problem needs a typeId or an offset; a non-typed throw from the read path is a crash', () => {
    const { vmlinux } = seeds();
    const base = { ...lib, validateBtf: () => [new BtfValidationError('BTF_LOOP', 'Loop detected')] };
    const bytes = rewriteBtf(Btf.parse(writeBtf({ littleEndian: true, types: [], strings: new Uint8Array([0]) })));
    expect(runOne(base, { kind: 'btf', bytes, altBase: vmlinux }).outcome).toBe('offsetless');
    const broken = { ...lib, dumpRaw: (): string => { throw new TypeError('boom'); } };
    expect(runOne(broken, { kind: 'btf', bytes, altBase: vmlinux }).outcome).toBe('crash');
  });
});
