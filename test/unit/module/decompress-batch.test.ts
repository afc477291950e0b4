import { describe, expect, it } from 'vitest';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { compress, decompressBatch } from '../../../lib/module/compress.js';

describe('decompressBatch', () => {
  it('decompresses by suffix in one child process; mismatches are left to the caller', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'modbtf-batch-'));
    try {
      const data = new TextEncoder().encode('\x7fELF module bytes\n');
      const files = {
        'a.ko.xz': await compress(data, 'xz'),
        'b.ko.zst': await compress(data, 'zstd'),
        'c.ko.gz': gzipSync(data),
        'd.ko': data,
        'e.ko.xz': gzipSync(data), // wrong suffix: xz fails, the caller decides
      };
      const paths: string[] = [];
      for (const [name, bytes] of Object.entries(files)) { await writeFile(join(dir, name), bytes); paths.push(join(dir, name)); }
      const out = await decompressBatch(paths);
      expect(out.map((b) => (b ? new TextDecoder().decode(b) : undefined))).toEqual([
        '\x7fELF module bytes\n', '\x7fELF module bytes\n', '\x7fELF module bytes\n', undefined, undefined,
      ]);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
