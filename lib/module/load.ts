/**
 * Reading a module file the way the kernel sees it: decompress by magic, then take
 * the appended signature off, then parse the ELF that is left. Every error names the
 * file, so batch runs over /lib/modules can report which module failed.
 */
import { readFile } from 'node:fs/promises';
import { ModuleError, isModbtfError } from '../errors.js';
import { parseElf, type ElfFile } from '../elf/index.js';
import { compressionBySuffix, decompress, detectCompression, type Compression } from './compress.js';
import { findModuleSignature, type ModuleSignature } from './signature.js';

export interface LoadedModule {
  readonly path: string;
  /** The file as read (still compressed, if it was). */
  readonly raw: Uint8Array;
  readonly compression: Compression;
  /** Decompressed, signature removed: exactly the bytes `elf` views. */
  readonly elfBytes: Uint8Array;
  /** Offsets in `signature` are relative to the decompressed bytes (before stripping). */
  readonly signature?: ModuleSignature;
  readonly elf: ElfFile;
}

export async function loadModuleFile(path: string): Promise<LoadedModule> {
  let raw: Uint8Array;
  try {
    raw = await readFile(path);
  } catch (err: unknown) {
    const code = typeof err === 'object' && err !== null && 'code' in err ? err.code : undefined;
    if (code === 'ENOENT' || code === 'ENOTDIR') {
      throw new ModuleError('IO_NOT_FOUND', `cannot open module: no such file`, { file: path }, { cause: err });
    }
    const reason = err instanceof Error ? err.message : String(err);
    throw new ModuleError('IO_ERROR', `cannot read module: ${reason}`, { file: path }, { cause: err });
  }
  return loadModuleBytes(raw, path);
}

/**
 * As loadModuleFile, for bytes already in memory; `path` is used for reporting only.
 * `predecompressed` (from decompressBatch) is used when the content is compressed the
 * way the file name says.
 */
export async function loadModuleBytes(raw: Uint8Array, path: string, predecompressed?: Uint8Array): Promise<LoadedModule> {
  try {
    const compression = detectCompression(raw);
    const plain = predecompressed !== undefined && compression === compressionBySuffix(path) && compression !== 'none'
      ? predecompressed
      : await decompress(raw, compression, { file: path });
    const signature = findModuleSignature(plain, { file: path });
    const elfBytes = signature === undefined ? plain : plain.subarray(0, signature.offset);
    const elf = parseElf(elfBytes, { file: path });
    const base = { path, raw, compression, elfBytes, elf };
    return signature === undefined ? base : { ...base, signature };
  } catch (err: unknown) {
    // Lower layers that were not told the path still get it, without re-wrapping.
    if (isModbtfError(err)) throw err.withContext({ file: path });
    throw err;
  }
}
