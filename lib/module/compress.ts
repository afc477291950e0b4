/**
 * Module compression as kbuild does it (scripts/Makefile.modinst, CONFIG_MODULE_COMPRESS_*):
 *
 *   cmd_gzip = $(KGZIP) -n -f $<
 *   cmd_xz   = $(XZ) --check=crc32 --lzma2=dict=1MiB -f $<
 *   cmd_zstd = $(ZSTD) -T0 --rm -f -q $<
 *
 * We run the same tools through a pipe instead of on a file. The output is byte-identical
 * for xz and gzip -n; zstd writes the content size into the frame header only when it
 * knows the input size, so the pipe variant passes --stream-size to match file mode.
 * (Checked: xz of a Debian 6.12.107 module rebuilt this way equals the shipped .ko.xz.)
 * gzip is produced with the gzip CLI, not node:zlib, whose deflate output differs.
 */
import { promisify } from 'node:util';
import { gunzip } from 'node:zlib';
import { ModuleError, type ErrorContext } from '../errors.js';
import { MAX_TOOL_OUTPUT, runTool } from '../tool.js';

export type Compression = 'xz' | 'zstd' | 'gzip' | 'none';

/** File-name suffix kbuild gives each compression. */
export const COMPRESSION_SUFFIX: Readonly<Record<Compression, string>> = { xz: '.xz', zstd: '.zst', gzip: '.gz', none: '' };

/**
 * Cap on decompressed size: far above any real module (Debian 6.12's amdgpu.ko is
 * 28 MiB uncompressed), low enough that a decompression bomb fails instead of
 * exhausting memory.
 */
export const MAX_DECOMPRESSED_BYTES = MAX_TOOL_OUTPUT;

export interface CompressionOptions {
  /** Path for error context only. */
  file?: string;
  /** Command to run instead of `xz`/`zstd`/`gzip` (kbuild's $(XZ), $(ZSTD), $(KGZIP)). */
  command?: string;
}

const XZ_MAGIC = [0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00];
const ZSTD_MAGIC = [0x28, 0xb5, 0x2f, 0xfd];
const GZIP_MAGIC = [0x1f, 0x8b];

function startsWith(bytes: Uint8Array, magic: readonly number[]): boolean {
  if (bytes.length < magic.length) return false;
  for (let i = 0; i < magic.length; i++) if (bytes[i] !== magic[i]) return false;
  return true;
}

/** By magic number, not file name: kmod and the kernel do the same. */
export function detectCompression(bytes: Uint8Array): Compression {
  if (startsWith(bytes, XZ_MAGIC)) return 'xz';
  if (startsWith(bytes, ZSTD_MAGIC)) return 'zstd';
  if (startsWith(bytes, GZIP_MAGIC)) return 'gzip';
  return 'none';
}

const gunzipAsync = promisify(gunzip);

export async function decompress(bytes: Uint8Array, kind: Compression, opts: CompressionOptions = {}): Promise<Uint8Array> {
  switch (kind) {
    case 'none':
      return bytes;
    case 'gzip':
      return gunzipBytes(bytes, opts);
    case 'xz':
      return runFilter(opts.command ?? 'xz', 'xz', ['-dc'], bytes, opts);
    case 'zstd':
      return runFilter(opts.command ?? 'zstd', 'zstd', ['-dc'], bytes, opts);
  }
}

export async function compress(bytes: Uint8Array, kind: Compression, opts: CompressionOptions = {}): Promise<Uint8Array> {
  switch (kind) {
    case 'none':
      return bytes;
    case 'gzip':
      return runFilter(opts.command ?? 'gzip', 'gzip', ['-n', '-c'], bytes, opts);
    case 'xz':
      return runFilter(opts.command ?? 'xz', 'xz', ['--check=crc32', '--lzma2=dict=1MiB', '-c'], bytes, opts);
    case 'zstd':
      return runFilter(opts.command ?? 'zstd', 'zstd', ['-T0', '-q', '-c', `--stream-size=${bytes.length}`], bytes, opts);
  }
}

function fileContext(opts: CompressionOptions): ErrorContext {
  return opts.file !== undefined ? { file: opts.file } : {};
}

async function gunzipBytes(bytes: Uint8Array, opts: CompressionOptions): Promise<Uint8Array> {
  try {
    const out = await gunzipAsync(bytes, { maxOutputLength: MAX_DECOMPRESSED_BYTES });
    return new Uint8Array(out.buffer, out.byteOffset, out.byteLength);
  } catch (err: unknown) {
    const reason = err instanceof Error ? err.message : String(err);
    throw new ModuleError('MODULE_BAD_COMPRESSION', `gzip data cannot be decompressed: ${reason}`, fileContext(opts), { cause: err });
  }
}

function runFilter(command: string, tool: string, args: string[], input: Uint8Array, opts: CompressionOptions): Promise<Uint8Array> {
  return runTool(command, args, { tool, input, context: fileContext(opts) });
}
