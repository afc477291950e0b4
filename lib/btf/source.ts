/**
 * Finding BTF in its containers: the `.BTF` (and `.BTF.base`) sections of an ELF
 * object, or a raw blob such as /sys/kernel/btf/vmlinux. Mirrors libbpf's
 * btf_parse_elf: when `.BTF.base` is present, `.BTF` is split BTF over that
 * distilled base, whatever other base the caller has.
 */
import { BtfFormatError, isModbtfError } from '../errors.js';
import type { ElfFile } from '../elf/index.js';
import { ET_REL } from '../elf/constants.js';
import { Btf } from './btf.js';
import { BTF_MAGIC } from './wire.js';

export const BTF_SECTION = '.BTF';
export const BTF_BASE_SECTION = '.BTF.base';
export const BTF_IDS_SECTION = '.BTF_ids';
/** Distilled split BTF kept by `modbtf retarget` (the kernel ignores the section). */
export const KEPT_BTF_SECTION = '.BTF.modbtf';
/** Distilled base kept by retarget. */
export const KEPT_BTF_BASE_SECTION = '.BTF.base.modbtf';
/** `.BTF_ids` in the distilled numbering, kept by retarget. */
export const KEPT_BTF_IDS_SECTION = '.BTF_ids.modbtf';

export interface ElfBtf {
  /** `.BTF`, parsed over `distilledBase` when present, else over the caller's base. */
  btf: Btf;
  /** `.BTF.base` when the object carries one. */
  distilledBase: Btf | undefined;
}

export function isRawBtf(bytes: Uint8Array): boolean {
  return bytes.length >= 2 && ((bytes[0] === (BTF_MAGIC & 0xff) && bytes[1] === BTF_MAGIC >> 8) || (bytes[1] === (BTF_MAGIC & 0xff) && bytes[0] === BTF_MAGIC >> 8));
}

function parseSection(elf: ElfFile, name: string, base: Btf | undefined, file: string | undefined): Btf | undefined {
  const sec = elf.sectionByName(name);
  if (!sec) return undefined;
  const ctx = { section: name, ...(file !== undefined ? { file } : {}) };
  try {
    return Btf.parse(elf.sectionData(sec), { ...ctx, ...(base ? { base } : {}) });
  } catch (e: unknown) {
    if (isModbtfError(e)) {
      e.withContext(ctx);
      if (e.code === 'BTF_BAD_STRINGS' && !base && name === BTF_SECTION) {
        throw new BtfFormatError('BTF_NEEDS_BASE', `${e.message}; this looks like split (module) BTF: give the kernel it was built against, -b/--base (its vmlinux, /sys/kernel/btf/vmlinux or a release)`, e.context);
      }
    }
    throw e;
  }
}

/** Reads `.BTF` (and `.BTF.base`) of an ELF object. */
export function readElfBtf(elf: ElfFile, opts: { base?: Btf; file?: string } = {}): ElfBtf {
  const file = opts.file ?? elf.file;
  const distilledBase = parseSection(elf, BTF_BASE_SECTION, undefined, file);
  const btf = parseSection(elf, BTF_SECTION, distilledBase ?? opts.base, file);
  if (!btf) {
    // ET_REL: a module; anything else (ET_EXEC, ET_DYN) is a vmlinux or another program.
    const why = elf.type === ET_REL
      ? 'was the module built with CONFIG_DEBUG_INFO_BTF_MODULES and pahole?'
      : 'this is not a module; a vmlinux has BTF when its kernel is built with CONFIG_DEBUG_INFO_BTF';
    throw new BtfFormatError('BTF_MISSING', `no ${BTF_SECTION} section (${why})`, file !== undefined ? { file } : {});
  }
  return { btf, distilledBase };
}
