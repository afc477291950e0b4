/**
 * What both resolve_btfids interfaces (6.12's, 7.x's) do around the library: collect
 * stderr in the tool's order and print it once, read the object the way the tool opens it
 * (open(O_RDWR)), and read BTF inputs as libbpf's fopen does (a directory opens, then
 * fails to read: EIO). Input may be gzip/xz/zstd-compressed, which the tools do not take.
 */
import type { Diagnostic } from '../../lib/btfids/index.js';

export interface ResolveBtfidsIo {
  /** Receives everything resolve_btfids would print on stderr (each piece ends in "\n"). */
  stderr(text: string): void;
  stdout(text: string): void;
}

export function errnoName(err: unknown): string {
  return typeof err === 'object' && err !== null && 'code' in err && typeof err.code === 'string' ? err.code : 'EIO';
}

/**
 * The tool's stderr, built up and written at the end: diagnostics at `verbose` (debug
 * lines above it left out), and modbtf's own (extension) ones only when `shown` says so.
 */
export class ToolStderr {
  private text = '';
  constructor(private readonly io: ResolveBtfidsIo, private readonly verbose: number, private readonly shown: (d: Diagnostic) => boolean = (d) => d.extension !== true) {}

  line(s: string): void { this.text += `${s}\n`; }

  emit(ds: readonly Diagnostic[]): void {
    for (const d of ds) {
      if (!this.shown(d)) continue;
      if (d.level === 'debug' && (d.verbosity ?? 1) > this.verbose) continue;
      this.line(d.message);
    }
  }

  /** Writes what was collected (plus `last`), returns `code`. */
  finish(code: number, last?: string): number {
    if (last !== undefined && last !== '') this.line(last);
    if (this.text) this.io.stderr(this.text);
    return code;
  }
}

/** The object as open(O_RDWR) + read sees it; the errno name on failure. */
export async function readObject(path: string): Promise<Uint8Array | { errno: string }> {
  const fs = await import('node:fs/promises');
  try {
    const fh = await fs.open(path, 'r+');
    try {
      return new Uint8Array(await fh.readFile());
    } finally {
      await fh.close();
    }
  } catch (err: unknown) {
    return { errno: errnoName(err) };
  }
}

/** A BTF input file (-b, --btf), decompressed; the errno libbpf would report on failure. */
export async function readBtfInput(path: string): Promise<Uint8Array | { errno: string }> {
  const [fs, compress] = await Promise.all([import('node:fs'), import('../../lib/module/compress.js')]);
  try {
    // Sync: one read, no round trip through libuv's thread pool (a one-shot process).
    const raw = new Uint8Array(fs.readFileSync(path));
    const kind = compress.detectCompression(raw);
    return kind === 'none' ? raw : await compress.decompress(raw, kind, { file: path });
  } catch (err: unknown) {
    const code = errnoName(err);
    return { errno: code === 'EISDIR' ? 'EIO' : code };
  }
}
