// Shared by the corpus scripts (corpus-distill, corpus-relocate, corpus-roundtrip):
// walking a module tree, working through it a few modules at a time, decompressing
// one module, raw .BTF of a vmlinux/module, the libbpf reference table, sha256
// prefixes as the table has them, per-module timing figures.
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { closeSync, openSync, readFileSync, readSync, readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gunzipSync } from 'node:zlib';

export const repo = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const { parseElf, isElf } = await import(join(repo, 'dist/lib/elf/index.js'));
const { Btf } = await import(join(repo, 'dist/lib/btf/btf.js'));

/** Whether the file at `path` is an uncompressed ELF (its first four bytes; lib/elf's isElf). */
export function isElfFile(path) {
  const fd = openSync(path, 'r');
  try {
    const b = Buffer.alloc(4);
    return readSync(fd, b, 0, 4, 0) === 4 && isElf(b);
  } finally {
    closeSync(fd);
  }
}

/**
 * Module files below `dir` whose names match `pattern` (default .ko and .ko.xz, what
 * decompress() reads), sorted. Dirent types do not follow symlinks, so
 * /lib/modules/<release>/build, which points outside the tree, is not walked.
 */
export function* walkModules(dir, pattern = /\.ko(\.xz)?$/) {
  for (const e of readdirSync(dir, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : 1))) {
    const p = join(dir, e.name);
    if (e.isDirectory()) yield* walkModules(p, pattern);
    else if (e.isFile() && pattern.test(e.name)) yield p;
  }
}

/** Runs `fn` on every item, at most `jobs` at once, handing items out in list order. */
export async function eachConcurrently(items, jobs, fn) {
  let next = 0;
  const lane = async () => {
    while (next < items.length) await fn(items[next++]);
  };
  await Promise.all(Array.from({ length: Math.max(1, jobs) }, lane));
}

/** `median … p90 … max … sum … s` of per-module milliseconds. */
export function msSummary(times) {
  const sorted = [...times].sort((a, b) => a - b);
  const pct = (p) => (sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))] : 0);
  const sum = times.reduce((a, b) => a + b, 0);
  return `median ${pct(0.5).toFixed(3)} p90 ${pct(0.9).toFixed(3)} max ${(sorted[sorted.length - 1] ?? 0).toFixed(2)} sum ${(sum / 1000).toFixed(2)} s`;
}

/** The raw .BTF of a vmlinux/module ELF, or a raw (optionally gzipped) BTF file as is. */
export function loadBtfBlob(file) {
  let bytes = readFileSync(file);
  if (bytes[0] === 0x1f && bytes[1] === 0x8b) bytes = gunzipSync(bytes);
  if (!isElf(bytes)) return new Uint8Array(bytes);
  const elf = parseElf(bytes, { file });
  const sec = elf.sectionByName('.BTF');
  if (!sec) throw new Error(`${file}: no .BTF section`);
  return elf.sectionData(sec);
}

/** A decompressed module's .BTF, parsed over `base`. */
export function moduleBtf(ko, file, base) {
  const elf = parseElf(ko, { file });
  const sec = elf.sectionByName('.BTF');
  if (!sec) throw new Error('no .BTF section');
  return Btf.parse(elf.sectionData(sec), { base, file, section: '.BTF' });
}

/** A module's bytes, through `xz -dc` for .xz (asynchronously, so several run at once). */
export function decompress(file) {
  if (!file.endsWith('.xz')) return Promise.resolve(readFileSync(file));
  return new Promise((resolve, reject) => {
    const child = spawn('xz', ['-dc', file], { stdio: ['ignore', 'pipe', 'pipe'] });
    const out = [];
    let err = '';
    child.stdout.on('data', (c) => out.push(c));
    child.stderr.on('data', (c) => { err += c; });
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve(Buffer.concat(out)) : reject(new Error(`xz -dc ${file}: exit ${code}: ${err.trim()}`))));
  });
}

/** First 16 hex digits of sha256, as in corpus-107-to-117.tsv. */
export const sha16 = (b) => createHash('sha256').update(b).digest('hex').slice(0, 16);

/** corpus-107-to-117.tsv rows by module path (relative to kernel/, no .xz). */
export function readCorpusTable(tsv) {
  const rows = new Map();
  for (const line of readFileSync(tsv, 'utf8').split('\n')) {
    if (!line) continue;
    const c = line.split('\t');
    rows.set(c[0], { dbase: c[1], dsplit: c[2], status: c[3], reloc: c[4], idmap: c[5], message: c[6] });
  }
  return rows;
}
