/**
 * Loading BTF from whatever a user points at: a module (`.ko`, compressed or
 * signed), a vmlinux ELF, a raw BTF blob (/sys/kernel/btf/vmlinux, `*.btf`) or a
 * gzip-compressed raw blob. The kind is decided by content, never by file name.
 */
import { readFile } from 'node:fs/promises';
import { BtfFormatError, ModuleError, isModbtfError } from '../errors.js';
import { Btf } from '../btf/btf.js';
import { BTF_SECTION, isRawBtf, readElfBtf } from '../btf/source.js';
import { isElf } from '../elf/index.js';
import { compressionBySuffix, decompress, detectCompression } from './compress.js';
import { loadModuleBytes, type LoadedModule } from './load.js';

export interface LoadedBtf {
  path: string;
  btf: Btf;
  /** `.BTF.base` of the object, when it has one. */
  distilledBase: Btf | undefined;
  /** Set when the file was an ELF object. */
  module: LoadedModule | undefined;
  /** For a retargeted module: its `.BTF` (split over the kernel it was retargeted to). */
  retargetedBtf?: Uint8Array;
}

export async function readInputFile(path: string): Promise<Uint8Array> {
  try {
    return await readFile(path);
  } catch (err: unknown) {
    const code = typeof err === 'object' && err !== null && 'code' in err ? err.code : undefined;
    if (code === 'ENOENT' || code === 'ENOTDIR') throw new ModuleError('IO_NOT_FOUND', 'no such file', { file: path }, { cause: err });
    const reason = err instanceof Error ? err.message : String(err);
    throw new ModuleError('IO_ERROR', `cannot read: ${reason}`, { file: path }, { cause: err });
  }
}

/** Load BTF from `path`; `base` is used for split BTF without its own `.BTF.base`. */
export async function loadBtfFile(path: string, opts: { base?: Btf; predecompressed?: Uint8Array } = {}): Promise<LoadedBtf> {
  const raw = await readInputFile(path);
  try {
    const kind = detectCompression(raw);
    const usePre = opts.predecompressed !== undefined && kind !== 'none' && kind === compressionBySuffix(path);
    const plain = usePre ? (opts.predecompressed as Uint8Array) : await decompress(raw, kind, { file: path });
    if (isRawBtf(plain)) {
      const btf = Btf.parse(plain, { file: path, ...(opts.base ? { base: opts.base } : {}) });
      return { path, btf, distilledBase: undefined, module: undefined };
    }
    if (isElf(plain)) {
      const module = await loadModuleBytes(raw, path, usePre ? plain : undefined);
      const { btf, distilledBase } = readElfBtf(module.elf, { file: path, ...(opts.base ? { base: opts.base } : {}) });
      return { path, btf, distilledBase, module };
    }
    throw new BtfFormatError('BTF_UNKNOWN_INPUT', `neither an ELF object with ${BTF_SECTION} nor raw BTF (magic 0xeb9f)`, { file: path, offset: 0 });
  } catch (err: unknown) {
    if (isModbtfError(err)) throw err.withContext({ file: path });
    throw err;
  }
}

/** Base BTF (vmlinux): ELF with `.BTF`, raw BTF, or their gzip. Never split itself. */
export async function loadBaseBtf(path: string): Promise<Btf> {
  let loaded: LoadedBtf;
  try {
    loaded = await loadBtfFile(path);
  } catch (err: unknown) {
    if (isModbtfError(err) && err.code === 'BTF_MISSING') {
      throw new BtfFormatError('BTF_MISSING', `no ${BTF_SECTION} section: this vmlinux has no BTF (its kernel was built without CONFIG_DEBUG_INFO_BTF); give a vmlinux with BTF, that kernel's /sys/kernel/btf/vmlinux, or a release whose headers carry one`, { file: path });
    }
    if (isModbtfError(err) && err.code === 'BTF_NEEDS_BASE') {
      throw new BtfFormatError('BTF_NOT_A_BASE', 'this is split BTF (a module\'s), not a vmlinux: give the vmlinux ELF, its raw BTF (/sys/kernel/btf/vmlinux) or a kernel release', { ...err.context, file: path });
    }
    throw err;
  }
  if (loaded.distilledBase) {
    throw new BtfFormatError('BTF_BAD_BASE', 'this object carries split BTF over a distilled base (.BTF.base); a base must be a vmlinux BTF', { file: path, section: '.BTF.base' });
  }
  return loaded.btf;
}
