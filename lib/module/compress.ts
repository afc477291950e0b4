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
import { ModuleError, ToolError, type ErrorContext } from '../errors.js';
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

export async function decompress(bytes: Uint8Array, kind: Compression, opts: CompressionOptions = {}): Promise<Uint8Array> {
  switch (kind) {
    case 'none':
      return bytes;
    case 'gzip':
      return gunzipBytes(bytes, opts);
    case 'xz':
      return decompressChecked(opts.command ?? 'xz', 'xz', bytes, opts);
    case 'zstd':
      return decompressChecked(opts.command ?? 'zstd', 'zstd', bytes, opts);
  }
}

/**
 * `-dc` through the tool; when it exits non-zero, `-t` (the tool's own integrity test)
 * tells damaged data (bad input, a ModuleError) from a tool that failed on good data
 * (a ToolError, as are a missing tool and one killed by a signal).
 */
async function decompressChecked(command: string, tool: 'xz' | 'zstd', bytes: Uint8Array, opts: CompressionOptions): Promise<Uint8Array> {
  try {
    return await runFilter(command, tool, ['-dc'], bytes, opts);
  } catch (err: unknown) {
    if (!(err instanceof ToolError) || err.code !== 'TOOL_FAILED' || err.exitCode === undefined) throw err;
    const verdict = await runFilter(command, tool, ['-t'], bytes, opts).then(() => undefined, (e: unknown) => e);
    if (!(verdict instanceof ToolError) || verdict.code !== 'TOOL_FAILED' || verdict.exitCode === undefined) throw err;
    const said = verdict.stderr !== '' ? verdict.stderr : err.stderr;
    throw new ModuleError('MODULE_BAD_COMPRESSION', `${tool} data is damaged (${tool} -t: ${said.split('\n')[0] ?? ''}): the file is not a module as kbuild compresses it; reinstall or rebuild it`, fileContext(opts), { cause: err });
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
    // node:zlib (and the streams it pulls in) is loaded only for .gz modules: it costs
    // start-up time in every process otherwise.
    const [{ gunzip }, { promisify }] = await Promise.all([import('node:zlib'), import('node:util')]);
    const out = await promisify(gunzip)(bytes, { maxOutputLength: MAX_DECOMPRESSED_BYTES });
    return new Uint8Array(out.buffer, out.byteOffset, out.byteLength);
  } catch (err: unknown) {
    const reason = err instanceof Error ? err.message : String(err);
    throw new ModuleError('MODULE_BAD_COMPRESSION', `gzip data cannot be decompressed: ${reason}`, fileContext(opts), { cause: err });
  }
}

function runFilter(command: string, tool: string, args: string[], input: Uint8Array, opts: CompressionOptions): Promise<Uint8Array> {
  return runTool(command, args, { tool, input, context: fileContext(opts) });
}

export function compressionBySuffix(path: string): Compression {
  if (path.endsWith('.xz')) return 'xz';
  if (path.endsWith('.zst')) return 'zstd';
  if (path.endsWith('.gz')) return 'gzip';
  return 'none';
}

// One shell runs the decompressors for a whole batch: forking a small shell is cheap,
// while forking this (large) process once per module costs ~10 ms of blocked event loop.
const BATCH_SCRIPT = `d=$1; shift; i=0
for f; do
  case "$f" in
    *.xz) xz -dcq -- "$f" ;;
    *.zst) zstd -dcq -- "$f" ;;
    *.gz) gzip -dc -- "$f" ;;
    *) : ;;
  esac > "$d/$i" 2>/dev/null
  echo "$i $?"
  i=$((i+1))
done`;

/**
 * Decompresses many files (by suffix) with one child process. Entry i is the
 * decompressed content of paths[i], or undefined when it was not compressed by its
 * suffix or its decompressor failed: callers then take the one-file path, which
 * also produces the proper error.
 */
export async function decompressBatch(paths: readonly string[]): Promise<(Uint8Array | undefined)[]> {
  const out: (Uint8Array | undefined)[] = new Array<Uint8Array | undefined>(paths.length).fill(undefined);
  const wanted = paths.map((p, i) => [p, i] as const).filter(([p]) => compressionBySuffix(p) !== 'none');
  if (wanted.length === 0) return out;
  const { mkdtemp, readFile, rm } = await import('node:fs/promises');
  const { tmpdir } = await import('node:os');
  const { join } = await import('node:path');
  const dir = await mkdtemp(join(tmpdir(), 'modbtf-unz-'));
  try {
    let status: Uint8Array;
    try {
      status = await runTool('sh', ['-c', BATCH_SCRIPT, 'sh', dir, ...wanted.map(([p]) => p)], { tool: 'sh' });
    } catch {
      return out;
    }
    for (const line of new TextDecoder().decode(status).split('\n')) {
      const [k, rc] = line.split(' ');
      if (rc !== '0' || k === undefined) continue;
      const entry = wanted[Number(k)];
      if (!entry) continue;
      const bytes = await readFile(join(dir, k));
      if (bytes.length <= MAX_DECOMPRESSED_BYTES) out[entry[1]] = new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    }
    return out;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
