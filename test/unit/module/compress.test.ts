import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ModuleError, ToolError } from '../../../lib/errors.js';
import { compress, decompress, detectCompression, type Compression } from '../../../lib/module/compress.js';
import { MODULE_SIG_STRING } from '../../../lib/module/signature.js';

/** Module-like content that ends in "\n", as a signed module does. */
function sample(): Uint8Array {
  const enc = new TextEncoder();
  const parts = [Uint8Array.of(0x7f, 0x45, 0x4c, 0x46, 2, 1, 1), new Uint8Array(5000), enc.encode('some text '.repeat(300)), enc.encode(MODULE_SIG_STRING)];
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) { out.set(p, at); at += p.length; }
  for (let i = 0; i < 5000; i++) out[7 + i] = (i * 7919) & 0xff;
  return out;
}

const kinds: Exclude<Compression, 'none'>[] = ['xz', 'zstd', 'gzip'];

/** kbuild's own commands (scripts/Makefile.modinst), run on a file as kbuild runs them. */
const KBUILD_CMD: Record<Exclude<Compression, 'none'>, { cmd: string; args: string[]; suffix: string }> = {
  gzip: { cmd: 'gzip', args: ['-n', '-f'], suffix: '.gz' },
  xz: { cmd: 'xz', args: ['--check=crc32', '--lzma2=dict=1MiB', '-f'], suffix: '.xz' },
  zstd: { cmd: 'zstd', args: ['-T0', '--rm', '-f', '-q'], suffix: '.zst' },
};

let dir: string;
beforeAll(async () => { dir = await mkdtemp(join(tmpdir(), 'modbtf-compress-')); });
afterAll(async () => { await rm(dir, { recursive: true, force: true }); });

describe('detectCompression', () => {
  it('recognises each magic', () => {
    expect(detectCompression(Uint8Array.of(0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00, 0))).toBe('xz');
    expect(detectCompression(Uint8Array.of(0x28, 0xb5, 0x2f, 0xfd, 0))).toBe('zstd');
    expect(detectCompression(Uint8Array.of(0x1f, 0x8b, 8))).toBe('gzip');
    expect(detectCompression(sample())).toBe('none');
    expect(detectCompression(new Uint8Array(0))).toBe('none');
    expect(detectCompression(Uint8Array.of(0xfd, 0x37, 0x7a))).toBe('none');
  });
});

describe.each(kinds)('%s', (kind) => {
  const input = sample();

  it('round-trips, keeping the final newline', async () => {
    const packed = await compress(input, kind);
    expect(detectCompression(packed)).toBe(kind);
    const unpacked = await decompress(packed, kind);
    expect(unpacked.length).toBe(input.length);
    expect(Buffer.compare(unpacked, input)).toBe(0);
  });

  it('is byte-identical to the kbuild modules_install command', async () => {
    const { cmd, args, suffix } = KBUILD_CMD[kind];
    const path = join(dir, `m-${kind}.ko`);
    await writeFile(path, input);
    await execa(cmd, [...args, path]);
    const expected = await readFile(path + suffix);
    const ours = await compress(input, kind);
    expect(Buffer.compare(ours, expected)).toBe(0);
  });

  it('corrupt data is bad input (ModuleError, exit status 2), not a failed tool, with the file named', async () => {
    const packed = await compress(input, kind);
    const broken = packed.slice(0, Math.floor(packed.length / 2));
    const err: unknown = await decompress(broken, kind, { file: 'broken.ko' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ModuleError);
    expect(err).toMatchObject({ code: 'MODULE_BAD_COMPRESSION', context: { file: 'broken.ko' } });
    // xz and zstd: the tool's own integrity test (-t) said so, in its words.
    if (kind !== 'gzip') expect((err as ModuleError).message).toMatch(new RegExp(`^${kind} data is damaged \\(${kind} -t: .+\\)`));
  });
});

describe('tools', () => {
  it('a missing tool is TOOL_NOT_FOUND naming the Debian package', async () => {
    const err: unknown = await decompress(Uint8Array.of(0xfd, 0x37), 'xz', { file: 'a.ko.xz', command: 'modbtf-test-no-such-xz' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ToolError);
    expect(err).toMatchObject({ code: 'TOOL_NOT_FOUND', tool: 'xz', context: { file: 'a.ko.xz' } });
    expect((err as ToolError).message).toContain('xz-utils');
    const z: unknown = await compress(Uint8Array.of(1), 'zstd', { command: 'modbtf-test-no-such-zstd' }).catch((e: unknown) => e);
    expect(z).toMatchObject({ code: 'TOOL_NOT_FOUND', tool: 'zstd' });
    expect((z as ToolError).message).toContain('Debian package zstd');
  });

  it('a decompressor killed by a signal is TOOL_KILLED (a tool failure, not bad input)', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'modbtf-kill-'));
    try {
      const xz = join(dir, 'xz');
      await writeFile(xz, '#!/bin/sh\nkill -9 $$\n', { mode: 0o755 });
      const err: unknown = await decompress(await compress(sample(), 'xz'), 'xz', { file: 'm.ko.xz', command: xz }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(ToolError);
      expect(err).toMatchObject({ code: 'TOOL_KILLED', tool: 'xz', context: { file: 'm.ko.xz' } });
      expect((err as ToolError).message).toContain('SIGKILL');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it("'none' passes bytes through", async () => {
    const b = sample();
    expect(await compress(b, 'none')).toBe(b);
    expect(await decompress(b, 'none')).toBe(b);
  });
});
