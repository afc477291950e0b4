/** Fixture access for tests: paths under test/fixtures, gunzip, load-once caches. */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { Btf } from '../../lib/btf/btf.js';

export const FIXTURES = join(dirname(fileURLToPath(import.meta.url)), '..', 'fixtures');

export function fixturePath(rel: string): string {
  return join(FIXTURES, rel);
}

/** Bytes of a fixture, gunzipped when it ends in .gz. */
export function fixtureBytes(rel: string): Uint8Array {
  const raw = readFileSync(fixturePath(rel));
  return rel.endsWith('.gz') ? new Uint8Array(gunzipSync(raw)) : new Uint8Array(raw);
}

const vmlinuxCache = new Map<string, Btf>();
/** vmlinux BTF of Debian 6.12.107 or 6.12.117, parsed once per test file. */
export function vmlinuxBtf(version: '107' | '117'): Btf {
  let b = vmlinuxCache.get(version);
  if (!b) {
    b = Btf.parse(fixtureBytes(`btf/vmlinux-6.12.${version}.btf.gz`), { file: `vmlinux-6.12.${version}` });
    vmlinuxCache.set(version, b);
  }
  return b;
}

/** Module names that have golden libbpf outputs in test/fixtures/btf. */
export function goldenModules(): string[] {
  const manifest = readFileSync(fixturePath('btf/MANIFEST.tsv'), 'utf8').trim().split('\n').slice(1);
  return manifest
    .map((l) => l.split('\t'))
    .filter((c) => c[1] === 'module-btf')
    .map((c) => (c[0] as string).replace(/\.btf\.gz$/, ''));
}

/** First differing byte, for readable failures. */
export function firstDiff(a: Uint8Array, b: Uint8Array): string | undefined {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    if (a[i] !== b[i]) {
      const hex = (x: Uint8Array): string => Buffer.from(x.subarray(Math.max(0, i - 8), i + 8)).toString('hex');
      return `first difference at byte ${i} (0x${i.toString(16)}): ours ${hex(a)} vs expected ${hex(b)}`;
    }
  }
  return a.length === b.length ? undefined : `lengths differ: ours ${a.length}, expected ${b.length}`;
}
