#!/usr/bin/env node
/**
 * Times modbtf's BTF parse of one raw BTF file, for scripts/bench.mjs (the Node half of
 * the side-by-side with libbpf's btf__new, scripts/bench/btf_parse_bench.c).
 *
 *   node scripts/bench/parse-node.mjs FILE [ITERATIONS] [VALIDATE_ITERATIONS]
 *
 * The file is read once, then (after 3 warm-up rounds each):
 *   parse      Btf.parse(bytes): header and string checks + the type offset index, the
 *              work libbpf 1.1's btf__new does (it has no per-type sanity pass);
 *   file       readFileSync + Btf.parse, to compare with btf__parse(path) as a whole;
 *   validate   Btf.parse + validateBtf: the kernel-equivalent checks of every type
 *              (far more than libbpf's btf_sanity_check in 1.3+).
 * Prints one JSON object: median/min ms per mode and peak RSS (process.resourceUsage,
 * which for Node includes the runtime itself): rss_base_kb before the file was read,
 * rss_one_parse_kb after reading it and one parse, maxrss_parse_kb after the parse and
 * file loops (garbage of many parses not yet collected), maxrss_kb at the end (validate).
 */
import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath, pathToFileURL } from 'node:url';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const { Btf } = await import(pathToFileURL(join(ROOT, 'dist', 'lib', 'btf', 'btf.js')).href);
const { validateBtf } = await import(pathToFileURL(join(ROOT, 'dist', 'lib', 'btf', 'validate.js')).href);

const [path, itersArg = '50', vItersArg = '10'] = process.argv.slice(2);
if (!path) {
  console.error('usage: node scripts/bench/parse-node.mjs FILE [ITERATIONS] [VALIDATE_ITERATIONS]');
  process.exit(2);
}
const iters = Math.max(1, Number(itersArg));
const vIters = Math.max(0, Number(vItersArg));
const WARM = 3;

const rssBaseKb = process.resourceUsage().maxRSS;
// A Buffer is a Uint8Array; a file this size gets its own ArrayBuffer, no copy needed.
const bytes = readFileSync(path);

function time(n, fn) {
  const t = [];
  for (let i = -WARM; i < n; i++) {
    const t0 = performance.now();
    fn();
    const dt = performance.now() - t0;
    if (i >= 0) t.push(dt);
  }
  t.sort((a, b) => a - b);
  const median = t.length % 2 ? t[t.length >> 1] : (t[t.length / 2 - 1] + t[t.length / 2]) / 2;
  return { median_ms: median, min_ms: t[0] };
}

let types = Btf.parse(bytes).typeCount;
const rssOneKb = process.resourceUsage().maxRSS;
let problems = 0;
const parse = time(iters, () => { types = Btf.parse(bytes).typeCount; });
const file = time(iters, () => { Btf.parse(readFileSync(path)); });
const rssParseKb = process.resourceUsage().maxRSS;
const validate = vIters > 0 ? time(vIters, () => { problems = validateBtf(Btf.parse(bytes)).length; }) : undefined;

console.log(JSON.stringify({
  tool: 'modbtf', node: process.version, bytes: bytes.length, types, iterations: iters,
  parse, file, ...(validate ? { validate, validate_iterations: vIters, validate_problems: problems } : {}),
  maxrss_kb: process.resourceUsage().maxRSS, maxrss_parse_kb: rssParseKb, rss_one_parse_kb: rssOneKb, rss_base_kb: rssBaseKb,
}));
