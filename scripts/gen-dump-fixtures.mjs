#!/usr/bin/env zx
/**
 * Writes the bpftool dump fixtures of test/golden/dump.test.ts that are not part of
 * the team's golden set: for each module below, its raw .BTF section and what the
 * REAL bpftool prints for it over vmlinux 6.12.107 (format raw and -j). Expected
 * data never comes from modbtf itself.
 *
 *   zx scripts/gen-dump-fixtures.mjs [--modules DIR] [--vmlinux-path FILE] [--bpftool PATH]
 *
 * Files go to test/fixtures/btf/<name>.{btf,bpftool.txt,bpftool.json}.gz, compressed
 * with `gzip -n -9` like the golden set (no name or timestamp, so reruns give the
 * same bytes). A file that already holds the same content is left alone; one with
 * different content is an error (golden-set files are never touched). At the end it
 * prints the provenance lines (sha256 of the uncompressed bytes) for
 * test/fixtures/PROVENANCE.md; appending them is left to the person running it,
 * since other fixture sets share that file.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gunzipSync } from 'node:zlib';
import { $, parseArgv } from 'zx';

const ROOT = resolve(fileURLToPath(new URL('..', import.meta.url)));
const OUT = join(ROOT, 'test/fixtures/btf');
const DEFAULT_MODULES = '/var/cache/modbtf/root/lib/modules/6.12.107+deb12-amd64/kernel';
const DEFAULT_VMLINUX = '/var/cache/modbtf/root/usr/src/linux-headers-6.12.107+deb12-amd64/vmlinux';
const EXPECTED_BPFTOOL = 'bpftool v7.1.0';

/**
 * Small modules (by split type count) chosen from a scan of all 6.12.107 modules
 * for the features named; every one also has static FUNCs.
 */
const MODULES = [
  ['speedstep-centrino', 'drivers/cpufreq/speedstep-centrino.ko.xz', 'DATASEC with two VARs'],
  ['libie', 'drivers/net/ethernet/intel/libie/libie.ko.xz', 'bitfields (kflag struct members)'],
  ['surface_aggregator_registry', 'drivers/platform/surface/surface_aggregator_registry.ko.xz', 'FWD'],
  ['ebtable_broute', 'net/bridge/netfilter/ebtable_broute.ko.xz', 'signed ENUM with negative values'],
  ['raid0', 'drivers/md/raid0.ko.xz', 'RESTRICT, UNION, FWD, bitfields'],
  // 0xffffffff in an unsigned ENUM: text says 4294967295, JSON 18446744073709551615.
  ['via-rng', 'drivers/char/hw_random/via-rng.ko.xz', 'unsigned ENUM value with bit 31 set'],
];

const self = fileURLToPath(import.meta.url);
const argv = parseArgv(process.argv.slice(process.argv.findIndex((a) => resolve(a) === self) + 1), {
  string: ['modules', 'vmlinux-path', 'bpftool'],
});
const modulesDir = argv.modules ?? DEFAULT_MODULES;
const vmlinuxPath = argv['vmlinux-path'] ?? DEFAULT_VMLINUX;
const bpftool = argv.bpftool ?? 'bpftool';

$.quiet = true;
$.maxBuffer = 1 << 30;

const version = (await $`${bpftool} version`).stdout.split('\n')[0];
if (version !== EXPECTED_BPFTOOL) {
  console.error(`expected "${EXPECTED_BPFTOOL}" (Debian bpftool 7.1.0+6.1.192-2), got "${version}"`);
  process.exit(2);
}

const sha256 = (b) => createHash('sha256').update(b).digest('hex');
const work = mkdtempSync(join(tmpdir(), 'modbtf-dumpfix-'));
process.on('exit', () => rmSync(work, { recursive: true, force: true }));

/** gzip -n -9 of `content` into `file`, unless it already holds exactly that content. */
async function store(file, content) {
  const path = join(OUT, file);
  if (existsSync(path)) {
    if (gunzipSync(readFileSync(path)).equals(content)) return 'kept';
    throw new Error(`${path} exists with different content; remove it first if the change is intended`);
  }
  const raw = join(work, 'raw');
  writeFileSync(raw, content);
  await $`gzip -n -9 -c ${raw} > ${path}`;
  return 'written';
}

const fileRows = [];
const moduleRows = [];
for (const [name, rel, covers] of MODULES) {
  const src = join(modulesDir, rel);
  const ko = join(work, `${name}.ko`);
  await $`xz -dc ${src} > ${ko}`;
  const btfPath = join(work, `${name}.btf`);
  await $`llvm-objcopy --dump-section .BTF=${btfPath} ${ko} /dev/null`;
  const files = [
    [`${name}.btf.gz`, readFileSync(btfPath)],
    [`${name}.bpftool.txt.gz`, (await $`${bpftool} -B ${vmlinuxPath} btf dump file ${ko}`).buffer()],
    [`${name}.bpftool.json.gz`, (await $`${bpftool} -B ${vmlinuxPath} -j btf dump file ${ko}`).buffer()],
  ];
  moduleRows.push(`| ${name} | \`kernel/${rel}\` | ${covers} | \`${sha256(readFileSync(src))}\` |`);
  for (const [file, content] of files) {
    const what = await store(file, content);
    console.error(`${what.padEnd(7)} ${file}`);
    fileRows.push(`| \`${file}\` | ${content.length} | \`${sha256(content)}\` |`);
  }
}

console.log('| module | source (.ko.xz in the image package) | covers | .ko.xz sha256 |');
console.log('| --- | --- | --- | --- |');
for (const row of moduleRows) console.log(row);
console.log('');
console.log('| file | size | sha256 (uncompressed) |');
console.log('| --- | --- | --- |');
for (const row of fileRows) console.log(row);
