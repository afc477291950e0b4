#!/usr/bin/env zx
/**
 * Side-by-side parse benchmark: modbtf's Btf.parse against libbpf's btf__new/btf__parse
 * on vmlinux 6.12.107 BTF (112,519 types, 4.9 MB), in the same run, alternating.
 *
 *   npm run bench                                   # builds dist/, then this script
 *   npx zx scripts/bench.mjs [--rounds 5] [--iterations 50] [--validate-iterations 10]
 *                            [--file some.btf] [--json]
 *
 * Needs a C compiler and Debian's libbpf-dev (with libelf-dev, zlib1g-dev); without
 * them it prints the apt-get command and exits 2. The C helper
 * (scripts/bench/btf_parse_bench.c) is compiled into .cache/bench/ when its source
 * changes; nothing else is installed. Each round runs the libbpf helper and the Node
 * helper (scripts/bench/parse-node.mjs) as separate processes, one after the other, so
 * both see the same machine state; the table shows the median over rounds of each
 * process's median, the ratio ours / libbpf, and each process's peak RSS.
 *
 * Rows: "index" = btf__new (header + string checks + type offset index; libbpf 1.1 has
 * no per-type sanity pass) vs Btf.parse; "file" = btf__parse(path) vs readFileSync +
 * Btf.parse; "validate" = Btf.parse + validateBtf (kernel-equivalent checks on every
 * type), shown against btf__new for scale only: libbpf 1.1 does no such work.
 *
 * In-process numbers (tinybench via vitest), no libbpf:
 *   npx vitest bench --run --project unit test/bench
 * The vitest config's projects list only *.test.ts files for `vitest run`; `vitest
 * bench` uses its own default include (**\/*.bench.ts), so test/bench/parse.bench.ts is
 * found without a config change. Without `--project unit` it runs once per project
 * (unit, golden, e2e), i.e. three times.
 */
import { $, argv, fs, os, path } from 'zx';
import { gunzipSync } from 'node:zlib';
import { fileURLToPath } from 'node:url';

$.verbose = false;
const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const rounds = Number(argv.rounds ?? 5);
const iterations = Number(argv.iterations ?? 50);
const vIterations = Number(argv['validate-iterations'] ?? 10);

// -- prerequisites ---------------------------------------------------------------
const APT = 'sudo apt-get install -y gcc libbpf-dev libelf-dev zlib1g-dev';
const cc = process.env.CC ?? 'cc';
if (!fs.existsSync('/usr/include/bpf/btf.h') || (await $`command -v ${cc}`.nothrow()).exitCode !== 0) {
  console.error(`bench: needs a C compiler and libbpf-dev; install them with:\n  ${APT}`);
  process.exit(2);
}
if (!fs.existsSync(path.join(ROOT, 'dist', 'lib', 'btf', 'btf.js'))) {
  console.error('bench: dist/ is missing; run `npm run build` (or `npm run bench`)');
  process.exit(2);
}

// -- the C helper, compiled once per source change ----------------------------------
const src = path.join(ROOT, 'scripts', 'bench', 'btf_parse_bench.c');
const cacheDir = path.join(ROOT, '.cache', 'bench');
const helper = path.join(cacheDir, 'btf_parse_bench');
await fs.mkdirp(cacheDir);
if (!fs.existsSync(helper) || fs.statSync(helper).mtimeMs < fs.statSync(src).mtimeMs) {
  const r = await $`${cc} -O2 -Wall -o ${helper} ${src} -lbpf -lelf -lz`.nothrow();
  if (r.exitCode !== 0) {
    console.error(`bench: compiling ${path.relative(ROOT, src)} failed:\n${r.stderr}\nIs libbpf-dev installed? ${APT}`);
    process.exit(2);
  }
}

// -- input: raw vmlinux BTF in a temp file --------------------------------------------
const tmp = await fs.mkdtemp(path.join(os.tmpdir(), 'modbtf-bench-'));
let input = argv.file;
if (input === undefined) {
  input = path.join(tmp, 'vmlinux-6.12.107.btf');
  await fs.writeFile(input, gunzipSync(await fs.readFile(path.join(ROOT, 'test', 'fixtures', 'btf', 'vmlinux-6.12.107.btf.gz'))));
}

// -- rounds, alternating --------------------------------------------------------------
const c = [];
const node = [];
try {
  for (let r = 0; r < rounds; r++) {
    process.stderr.write(`bench: round ${r + 1}/${rounds}\r`);
    c.push(JSON.parse((await $`${helper} ${input} ${iterations}`).stdout));
    node.push(JSON.parse((await $`node ${path.join(ROOT, 'scripts', 'bench', 'parse-node.mjs')} ${input} ${iterations} ${vIterations}`).stdout));
  }
} finally {
  await fs.remove(tmp);
}
process.stderr.write(' '.repeat(30) + '\r');

const med = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[s.length >> 1] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
const min = (xs) => Math.min(...xs);
const mb = (kb) => `${(kb / 1024).toFixed(1)} MB`;

const libIndex = med(c.map((x) => x.median_ms));
const libFile = med(c.map((x) => x.parse_file_median_ms));
const rows = [
  ['libbpf btf__new (index)', libIndex, min(c.map((x) => x.min_ms)), 1, `${mb(Math.max(...c.map((x) => x.maxrss_kb)))} (whole run)`],
  ['modbtf Btf.parse (index)', med(node.map((x) => x.parse.median_ms)), min(node.map((x) => x.parse.min_ms)), med(node.map((x) => x.parse.median_ms)) / libIndex, `${mb(Math.max(...node.map((x) => x.rss_one_parse_kb)))} (one parse)`],
  ['libbpf btf__parse (file)', libFile, min(c.map((x) => x.parse_file_min_ms)), 1, ''],
  ['modbtf readFile+Btf.parse', med(node.map((x) => x.file.median_ms)), min(node.map((x) => x.file.min_ms)), med(node.map((x) => x.file.median_ms)) / libFile, ''],
];
if (vIterations > 0) {
  const v = med(node.map((x) => x.validate.median_ms));
  rows.push(['modbtf Btf.parse+validateBtf', v, min(node.map((x) => x.validate.min_ms)), v / libIndex, mb(Math.max(...node.map((x) => x.maxrss_kb)))]);
}
const nodeBase = Math.max(...node.map((x) => x.rss_base_kb));

if (argv.json) {
  console.log(JSON.stringify({ input: argv.file ?? 'vmlinux-6.12.107', rounds, iterations, libbpf: c, modbtf: node, rows }, null, 2));
} else {
  const first = c[0];
  console.log(`bench: ${argv.file ?? 'vmlinux-6.12.107'} BTF, ${first.bytes} bytes, ${first.types} types; libbpf ${first.libbpf_version}, node ${node[0].node}; ${rounds} rounds x ${iterations} iterations (validate ${vIterations})`);
  console.log(`${'what'.padEnd(30)} ${'median ms'.padStart(10)} ${'min ms'.padStart(9)} ${'ours/libbpf'.padStart(12)}  peak RSS`);
  for (const [what, m, lo, ratio, rss] of rows) {
    console.log(`${what.padEnd(30)} ${m.toFixed(3).padStart(10)} ${lo.toFixed(3).padStart(9)} ${`${ratio.toFixed(2)}x`.padStart(12)}  ${rss}`);
  }
  const one = Math.max(...node.map((x) => x.rss_one_parse_kb));
  console.log(`peak RSS: libbpf process ${mb(Math.max(...c.map((x) => x.maxrss_kb)))} (all iterations); node process ${mb(nodeBase)} before reading the file, ${mb(one)} after reading it and one Btf.parse (+${mb(one - nodeBase)}), ${mb(Math.max(...node.map((x) => x.maxrss_parse_kb)))} after all parse iterations, ${mb(Math.max(...node.map((x) => x.maxrss_kb)))} after validate`);
}
