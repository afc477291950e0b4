#!/usr/bin/env node
/**
 * Seeded, reproducible fuzzing of modbtf's read path (ELF, module signature, BTF parse,
 * validation, raw dump, rewrite; DWARF: relocation, units, DIEs, every attribute value,
 * locations, ranges, the eu-readelf dump) over mutated and truncated real inputs.
 *
 *   npm run fuzz                                   # build, then 10,000 runs, seed 1
 *   node scripts/fuzz.mjs --seed 7 --runs 50000    # against the current dist/
 *   node scripts/fuzz.mjs --seed 7 --replay 4711   # re-run one run in-process, with stack
 *   node scripts/fuzz.mjs --input test/fixtures/fuzz/crash-XXXX.bin   # replay a saved input
 *
 *   node scripts/fuzz.mjs --kinds dwarf           # only the DWARF seeds (lib/dwarf; modules through lib/encode too)
 *
 * Options: --seed N (default 1), --runs N (10000), --kinds LIST (btf, elf, dwarf, encode: only
 * those seeds; the same seed and kinds give the same inputs; --replay needs the same --kinds), --out DIR (test/fixtures/fuzz; where
 * findings are saved), --hang-ms N (2000: a run slower than this is a hang), --kill-ms N
 * (15000: the watchdog terminates a run stuck this long), --max-heap-mb N (1024: the
 * worker's V8 old-space limit, so unbounded allocation shows up as a finding instead of
 * taking the machine down), --saves N (3: inputs saved per distinct finding).
 *
 * The runs execute in a worker thread; the main thread watches a shared "current run"
 * slot, so an infinite loop is killed, recorded as a hang and the campaign continues
 * with the next run. Every run's input depends only on (seed, run) (scripts/fuzz-core.mjs),
 * hence the same seed gives the same outcomes (the printed digest) on any machine.
 *
 * Output: one summary line
 *   fuzz: N runs, K ok, E typed errors, C crashes, H hangs, O without offset, max RSS X MB
 * then each distinct finding. Exit 1 when C + H + O > 0. Findings are saved as
 * <outcome>-<hash>.bin with a .json sidecar (seed, run, seed input, mutations, error);
 * test/unit/fuzz-replay.test.ts replays every .bin in test/fixtures/fuzz.
 */
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Worker, isMainThread, parentPort, threadId, workerData } from 'node:worker_threads';
import { parseArgs } from 'node:util';
import { createHash } from 'node:crypto';
import {
  DEFAULT_HANG_MS, findingSignature, hashBytes, inputFor, loadSeeds, makeInput, runOne,
} from './fuzz-core.mjs';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const FIXTURES = join(ROOT, 'test', 'fixtures');

/** Scratch files for openDwarfFile (one per thread; the main thread removes the directory at exit). */
const SCRATCH = join(tmpdir(), `modbtf-fuzz-${process.pid}`);
if (isMainThread) process.on('exit', () => rmSync(SCRATCH, { recursive: true, force: true }));
function tempFile(bytes) {
  mkdirSync(SCRATCH, { recursive: true });
  const path = join(SCRATCH, `t${threadId}.o`);
  writeFileSync(path, bytes);
  return path;
}

/** The library under test, from the compiled dist/ (npm run fuzz builds first). */
async function loadLib() {
  const dist = join(ROOT, 'dist', 'lib');
  if (!existsSync(join(dist, 'btf', 'btf.js'))) {
    console.error('fuzz: dist/ is missing; run `npm run build` (or `npm run fuzz`)');
    process.exit(2);
  }
  const imp = (p) => import(pathToFileURL(join(dist, p)).href);
  const [elf, btf, source, validate, dump, write, sig, errors, dwarf, readelf, dwarfFile, encode] = await Promise.all([
    imp('elf/index.js'), imp('btf/btf.js'), imp('btf/source.js'), imp('btf/validate.js'),
    imp('btf/dump-raw.js'), imp('btf/write.js'), imp('module/signature.js'), imp('errors.js'),
    imp('dwarf/dwarf.js'), imp('dwarf/readelf.js'), imp('dwarf/file.js'), imp('encode/index.js'),
  ]);
  return {
    parseElf: elf.parseElf, Btf: btf.Btf, readElfBtf: source.readElfBtf, validateBtf: validate.validateBtf,
    dumpRaw: dump.dumpRaw, rewriteBtf: write.rewriteBtf, writeBtf: write.writeBtf,
    stripSignature: sig.stripSignature, isModbtfError: errors.isModbtfError,
    openDwarf: dwarf.openDwarf, readelfDebugDump: readelf.readelfDebugDump,
    openDwarfFile: dwarfFile.openDwarfFile, tempFile,
    encodeModule: encode.encodeModule, encodeSettingsFromArgs: encode.encodeSettingsFromArgs,
  };
}

function errorInfo(e) {
  if (e instanceof Error) {
    const o = { name: e.name, message: e.message, stack: e.stack };
    if (typeof e === 'object' && 'code' in e) o.code = e.code;
    if (typeof e === 'object' && 'context' in e) o.context = e.context;
    return o;
  }
  return e === undefined ? undefined : { thrown: String(e) };
}

/**
 * --kinds: only seeds of these kinds (btf, elf, dwarf; 'encode' = the modules lib/encode
 * also runs on), so a campaign can put all its runs into one reader.
 */
function pickSeeds(loaded, kinds) {
  if (kinds === undefined) return loaded;
  const want = new Set(kinds.split(','));
  const seeds = loaded.seeds.filter((s) => want.has(s.kind) || (want.has('encode') && s.encodeBase !== undefined));
  if (seeds.length === 0) { console.error(`fuzz: --kinds ${kinds}: no seed of those kinds (btf, elf, dwarf, encode)`); process.exit(2); }
  return { ...loaded, seeds };
}

// ------------------------------------------------------------------------------ worker

async function workerMain() {
  const { seed, from, to, hangMs, shared, kinds } = workerData;
  const cur = new Float64Array(shared);
  const lib = await loadLib();
  const { vmlinux, seeds } = pickSeeds(loadSeeds(lib, FIXTURES), kinds);
  parentPort.postMessage({ t: 'ready' });
  for (let run = from; run < to; run++) {
    let made;
    try {
      made = makeInput(seeds, seed, run);
    } catch (e) {
      // A bug in the harness itself, not a finding: stop loudly.
      parentPort.postMessage({ t: 'harness', run, error: errorInfo(e) });
      return;
    }
    const { seed: s, bytes, ops } = made;
    cur[0] = run;
    cur[1] = Date.now();
    const r = runOne(lib, inputFor(s, bytes, vmlinux), { hangMs });
    cur[1] = 0;
    const code = r.error && typeof r.error === 'object' && 'code' in r.error ? r.error.code : undefined;
    parentPort.postMessage({ t: 'r', run, outcome: r.outcome, ms: r.ms, where: r.outcome === 'typed' ? `${r.step} ${code}` : undefined, problems: r.problems, variants: r.variants });
    if (r.outcome !== 'ok' && r.outcome !== 'typed') {
      parentPort.postMessage({
        t: 'finding', run, outcome: r.outcome, seedName: s.name, kind: s.kind, baseName: s.baseName, ops,
        step: r.step, variant: r.variant, problem: r.problem, error: errorInfo(r.error), sig: findingSignature(r), bytes,
      });
    }
  }
  parentPort.postMessage({ t: 'end' });
}

// ------------------------------------------------------------------------------ main

function parseCli() {
  const { values } = parseArgs({
    options: {
      seed: { type: 'string', default: '1' },
      runs: { type: 'string', default: '10000' },
      out: { type: 'string', default: join(FIXTURES, 'fuzz') },
      'hang-ms': { type: 'string', default: String(DEFAULT_HANG_MS) },
      'kill-ms': { type: 'string', default: '15000' },
      'max-heap-mb': { type: 'string', default: '1024' },
      saves: { type: 'string', default: '3' },
      kinds: { type: 'string' },
      replay: { type: 'string' },
      input: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    console.log('usage: node scripts/fuzz.mjs [--seed N] [--runs N] [--out DIR] [--hang-ms N] [--kill-ms N] [--max-heap-mb N] [--saves N] [--kinds btf,elf,dwarf,encode] [--replay RUN] [--input FILE.bin]');
    process.exit(0);
  }
  const int = (k) => {
    const v = Number(values[k]);
    if (!Number.isInteger(v) || v < 0) { console.error(`fuzz: --${k} must be a non-negative integer`); process.exit(2); }
    return v;
  };
  return {
    seed: int('seed'), runs: int('runs'), out: resolve(values.out), hangMs: int('hang-ms'), killMs: int('kill-ms'),
    maxHeapMb: int('max-heap-mb'), saves: int('saves'), kinds: values.kinds,
    replay: values.replay === undefined ? undefined : int('replay'), input: values.input,
  };
}

function printRun(r, ops, label) {
  console.log(`${label}: ${ops ? ops.join('; ') : ''}`);
  console.log(`  outcome ${r.outcome} (${r.variant}, step ${r.step}, ${r.ms.toFixed(1)} ms, ${r.problems} validation problems)`);
  if (r.problem) console.log(`  ${r.problem}`);
  if (r.error instanceof Error) console.log(`  ${String(r.error.stack).split('\n').slice(0, 8).join('\n  ')}`);
  else if (r.error !== undefined) console.log(`  thrown: ${String(r.error)}`);
}

/** --replay RUN / --input FILE: one input, in this thread, with the full story. */
async function replayMain(opts) {
  const lib = await loadLib();
  const { vmlinux, seeds } = pickSeeds(loadSeeds(lib, FIXTURES), opts.kinds);
  if (opts.input !== undefined) {
    const bytes = new Uint8Array(readFileSync(opts.input));
    const sidecarPath = opts.input.replace(/\.bin$/, '.json');
    const meta = existsSync(sidecarPath) ? JSON.parse(readFileSync(sidecarPath, 'utf8')) : {};
    const seed = seeds.find((s) => s.name === meta.seedName);
    const kind = meta.kind ?? (bytes[0] === 0x7f && bytes[1] === 0x45 ? 'elf' : 'btf');
    const input = seed ? inputFor(seed, bytes, vmlinux) : { kind, bytes, base: kind === 'elf' ? vmlinux : undefined, altBase: vmlinux };
    const r = runOne(lib, input, { hangMs: opts.hangMs });
    printRun(r, meta.ops, `${opts.input} (seed input ${meta.seedName ?? '?'})`);
    process.exit(r.outcome === 'ok' || r.outcome === 'typed' ? 0 : 1);
  }
  const { seed: s, bytes, ops } = makeInput(seeds, opts.seed, opts.replay);
  const r = runOne(lib, inputFor(s, bytes, vmlinux), { hangMs: opts.hangMs });
  printRun(r, ops, `seed ${opts.seed} run ${opts.replay} (${s.name}, ${bytes.length} bytes)`);
  process.exit(r.outcome === 'ok' || r.outcome === 'typed' ? 0 : 1);
}

async function campaignMain(opts) {
  const counts = { ok: 0, typed: 0, crash: 0, hang: 0, offsetless: 0 };
  const outcomes = new Array(opts.runs);
  /** @type {Map<string, {count: number, firstRun: number, saved: string[], example: any}>} */
  const groups = new Map();
  let maxRss = process.memoryUsage.rss();
  let slowest = { ms: 0, run: -1 };
  /** "step CODE" of the typed errors (the first thrown), to see how deep the inputs get. */
  const typedBy = new Map();
  let withProblems = 0;
  /** "variant outcome" -> runs (each variant of a run: dwarf, dwarf/file, encode...). */
  const byVariant = new Map();
  const t0 = Date.now();
  let mainSeeds; // for regenerating a killed run's input
  const regen = async (run) => {
    if (!mainSeeds) mainSeeds = pickSeeds(loadSeeds(await loadLib(), FIXTURES), opts.kinds).seeds;
    return makeInput(mainSeeds, opts.seed, run);
  };

  const record = (f) => {
    let g = groups.get(f.sig);
    if (!g) { g = { count: 0, firstRun: f.run, saved: [], example: f }; groups.set(f.sig, g); }
    g.count++;
    if (g.saved.length < opts.saves) {
      mkdirSync(opts.out, { recursive: true });
      const prefix = f.outcome === 'crash' ? 'crash' : f.outcome;
      const base = `${prefix}-${hashBytes(f.bytes)}`;
      writeFileSync(join(opts.out, `${base}.bin`), f.bytes);
      const { bytes, t, ...meta } = f;
      writeFileSync(join(opts.out, `${base}.json`), `${JSON.stringify({ seed: opts.seed, ...meta, size: bytes.length }, null, 2)}\n`);
      g.saved.push(`${base}.bin`);
    }
  };

  let next = 0;
  while (next < opts.runs) {
    const shared = new SharedArrayBuffer(16);
    const cur = new Float64Array(shared);
    const worker = new Worker(fileURLToPath(import.meta.url), {
      workerData: { seed: opts.seed, from: next, to: opts.runs, hangMs: opts.hangMs, shared, kinds: opts.kinds },
      resourceLimits: { maxOldGenerationSizeMb: opts.maxHeapMb },
    });
    const stopped = await new Promise((resolveRun) => {
      let settled = false;
      const done = (v) => { if (!settled) { settled = true; clearInterval(timer); resolveRun(v); } };
      const timer = setInterval(() => {
        maxRss = Math.max(maxRss, process.memoryUsage.rss());
        const started = cur[1];
        if (started !== 0 && Date.now() - started > opts.killMs) {
          const run = cur[0];
          void worker.terminate();
          done({ kind: 'killed', run });
        }
      }, 200);
      let ready = false;
      worker.on('message', (m) => {
        if (m.t === 'ready') {
          ready = true;
        } else if (m.t === 'r') {
          counts[m.outcome]++;
          outcomes[m.run] = m.outcome;
          next = m.run + 1;
          if (m.ms > slowest.ms) slowest = { ms: m.ms, run: m.run };
          if (m.where) typedBy.set(m.where, (typedBy.get(m.where) ?? 0) + 1);
          if (m.problems > 0) withProblems++;
          for (const v of m.variants ?? []) byVariant.set(v, (byVariant.get(v) ?? 0) + 1);
          if (m.run % 1000 === 999) process.stderr.write(`fuzz: ${m.run + 1}/${opts.runs}\r`);
        } else if (m.t === 'finding') {
          record(m);
        } else if (m.t === 'harness') {
          console.error(`fuzz: harness bug while making the input of run ${m.run}:\n${m.error?.stack ?? JSON.stringify(m.error)}`);
          process.exit(2);
        } else if (m.t === 'end') {
          done({ kind: 'end' });
        }
      });
      worker.on('error', (err) => {
        if (!ready) {
          console.error(`fuzz: the worker failed while loading the library and seeds: ${err?.stack ?? err}`);
          process.exit(2);
        }
        done({ kind: 'error', run: cur[1] !== 0 ? cur[0] : next, err });
      });
      worker.on('exit', (code) => done({ kind: 'exit', run: cur[1] !== 0 ? cur[0] : next, code }));
    });
    if (stopped.kind === 'end') break;
    // The worker died on run `stopped.run`: a hang (killed) or a crash (OOM, abort).
    const run = stopped.run;
    const { seed: s, bytes, ops } = await regen(run);
    const outcome = stopped.kind === 'killed' ? 'hang' : 'crash';
    const why = stopped.kind === 'killed'
      ? `still running after ${opts.killMs} ms (killed)`
      : stopped.kind === 'error' ? `worker died: ${stopped.err?.code ?? ''} ${stopped.err?.message ?? stopped.err}` : `worker exited with code ${stopped.code}`;
    counts[outcome]++;
    outcomes[run] = outcome;
    record({ t: 'finding', run, outcome, seedName: s.name, kind: s.kind, baseName: s.baseName, ops, step: '?', variant: '?', problem: why, error: undefined, sig: `${outcome} | ${why.replace(/\d+/g, 'N')}`, bytes });
    next = run + 1;
  }
  maxRss = Math.max(maxRss, process.resourceUsage().maxRSS * 1024);

  const digest = createHash('sha256').update(outcomes.join(',')).digest('hex').slice(0, 12);
  const secs = (Date.now() - t0) / 1000;
  process.stderr.write(' '.repeat(30) + '\r');
  console.log(`fuzz: ${opts.runs} runs, ${counts.ok} ok, ${counts.typed} typed errors, ${counts.crash} crashes, ${counts.hang} hangs, ${counts.offsetless} without offset, max RSS ${Math.round(maxRss / (1 << 20))} MB`);
  console.log(`fuzz: seed ${opts.seed}${opts.kinds !== undefined ? `, kinds ${opts.kinds}` : ''}, ${secs.toFixed(1)} s, slowest run ${slowest.run} (${slowest.ms.toFixed(0)} ms), outcome digest ${digest}`);
  const top = [...typedBy].sort((a, b) => b[1] - a[1]);
  console.log(`fuzz: runs with validation problems ${withProblems}; typed errors by step: ${top.map(([k, v]) => `${k} ${v}`).join(', ')}`);
  console.log(`fuzz: outcomes by variant: ${[...byVariant].sort((a, b) => a[0].localeCompare(b[0])).map(([k, v]) => `${k} ${v}`).join(', ')}`);
  for (const [sig, g] of [...groups].sort((a, b) => b[1].count - a[1].count)) {
    console.log(`\n  ${g.count}x  ${sig}`);
    console.log(`      first: --seed ${opts.seed} --replay ${g.firstRun}   (${g.example.seedName}: ${g.example.ops.join('; ')})`);
    if (g.example.problem) console.log(`      ${g.example.problem}`);
    if (g.saved.length) console.log(`      saved: ${g.saved.map((f) => join(opts.out, f)).join(' ')}`);
  }
  process.exit(counts.crash + counts.hang + counts.offsetless > 0 ? 1 : 0);
}

if (!isMainThread) {
  await workerMain();
} else {
  const opts = parseCli();
  if (opts.replay !== undefined || opts.input !== undefined) await replayMain(opts);
  else await campaignMain(opts);
}
