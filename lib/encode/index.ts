/**
 * DWARF -> split BTF with pahole 1.32's semantics (what `pahole -J --btf_base vmlinux` writes
 * for a module), then libbpf's btf__dedup in the behaviour of the libbpf pahole loads.
 */
import { Btf } from '../btf/btf.js';
import { dedupBtf, type DedupBehaviour } from '../dedup/index.js';
import { hasDwarf, openDwarf, type Dwarf } from '../dwarf/dwarf.js';
import { openDwarfFile } from '../dwarf/file.js';
import { isModbtfError } from '../errors.js';
import { SHT_SYMTAB, SHT_SYMTAB_SHNDX } from '../elf/constants.js';
import type { ElfFile } from '../elf/file.js';
import type { ElfSection } from '../elf/sections.js';
import { ModuleEncoder } from './encoder.js';
import type { EncodeFeatures } from './features.js';
import { CuLoader } from './loader.js';
import { EncodeError } from './errors.js';
import { encodeSettingsFromArgs } from './pahole-argv.js';

export { EncodeError, type EncodeErrorCode } from './errors.js';
export { BTF_FEATURES, FeatureParser, defaultFeatures, supportedFeatures, type EncodeFeatures } from './features.js';
export { parseLanguages } from './languages.js';
export { PAHOLE_OPTIONS, encodeSettingsFromArgs, parsePaholeArgs, type PaholeArgs, type PaholeOption, type ParsedOption } from './pahole-argv.js';

export interface EncodeOptions {
  features: EncodeFeatures;
  /** --lang / --lang_exclude: DW_LANG codes; exclude drops those CUs, else only those are kept. */
  languages?: { ids: ReadonlySet<number>; exclude: boolean };
  /** The libbpf btf__dedup behaviour (pahole 1.32 on Debian loads libbpf 1.7.0). */
  dedup?: DedupBehaviour;
}

export interface EncodeResult {
  /** btf__raw_data() after btf__dedup; undefined when pahole writes nothing (no DWARF, every CU filtered). */
  bytes: Uint8Array | undefined;
  /** What pahole would print and go on from (types not found, tags not supported...). */
  warnings: string[];
  /** "skipping BTF encoding of function" lines (pahole -V). */
  skipped: string[];
}

function cuFiltered(lang: number, l: EncodeOptions['languages']): boolean {
  if (l === undefined || l.ids.size === 0) return false;
  const inList = l.ids.has(lang);
  return (!inList && !l.exclude) || (inList && l.exclude);
}

/** Encodes the module `elf` (ET_REL with DWARF) as split BTF over `base`. */
export function encodeModule(elf: ElfFile, base: Btf, opts: EncodeOptions): EncodeResult {
  if (!hasDwarf(elf)) return { bytes: undefined, warnings: [], skipped: [] };
  checkSupported(opts, elf.file);
  // One unit at a time: keep only the current unit's DIE index.
  return dedupEncodedTypes(encodeTypes(openDwarf(elf, { indexCache: 2 }), base, opts), base, opts, elf.file);
}

/**
 * How much of .debug_info the encoder holds at a time (lib/dwarf windowInfo): it reads the
 * units in order, one at a time. xfs.ko's largest unit is 1.1 MB of its 24 MB.
 */
const INFO_WINDOW = 4 << 20;

/**
 * The DWARF of the uncompressed ELF file at `path` through lib/dwarf's openDwarfFile: debug
 * sections are read and relocated in place when first needed, never the whole file plus a
 * relocated copy (xfs.ko: 95 MB, of which the encoder reads about 45). Undefined when the file
 * has no .debug_info (hasDwarf); a file that is not ELF or whose headers are corrupt throws
 * lib/dwarf's or lib/elf's typed error before anything is encoded.
 */
export function openModuleDwarf(path: string, file?: string): Dwarf | undefined {
  try {
    // One unit at a time: keep only the current unit's DIE index.
    return openDwarfFile(path, { indexCache: 2, windowInfo: INFO_WINDOW, readNow: encoderReads, ...(file !== undefined ? { file } : {}) });
  } catch (err: unknown) {
    if (isModbtfError(err) && err.code === 'DWARF_MISSING') return undefined;
    throw err;
  }
}

/**
 * The sections the encoder reads besides DWARF: the symbol table with its names and extended
 * section indexes (lib/dwarf relocates with it too) and .BTF_ids (kfuncs). A module's code,
 * data and their relocations are not read (xfs.ko: ~8 MB never made resident).
 */
function encoderReads(elf: ElfFile, s: ElfSection): boolean {
  if (s.type === SHT_SYMTAB || s.type === SHT_SYMTAB_SHNDX || s.name === '.BTF_ids') return true;
  return elf.sections.some((t) => t.type === SHT_SYMTAB && t.link === s.index);
}

/**
 * encodeModule over an opened module (openModuleDwarf's Dwarf), taking it out of `m`: it is
 * dropped once the types are encoded, so that the module's sections (the lazily read file:
 * xfs.ko keeps ~45 MB of it) can be freed before deduplication, the peak of the run.
 */
export function encodeOpenedModule(m: { dwarf: Dwarf | undefined }, base: Btf, opts: EncodeOptions): EncodeResult {
  const file = m.dwarf?.file;
  return dedupEncodedTypes(encodeOpenedTypes(m, base, opts), base, opts, file);
}

/**
 * encodeTypes on the Dwarf taken out of `m`, in a frame of its own: a local of the caller's
 * frame would keep the module's sections reachable while it deduplicates.
 */
function encodeTaken(m: { dwarf: Dwarf | undefined }, base: Btf, opts: EncodeOptions): EncodedTypes {
  const d = m.dwarf as Dwarf;
  m.dwarf = undefined;
  return encodeTypes(d, base, opts);
}

/** encodeModule on the module file at `path`, read lazily (openModuleDwarf). */
export function encodeModuleFile(path: string, base: Btf, opts: EncodeOptions): EncodeResult {
  return encodeOpenedModule({ dwarf: openModuleDwarf(path) }, base, opts);
}

/**
 * The module at `path` encoded as a kbuild step's pahole call would encode it: `flags` are
 * the tree's pahole flags as words ($(PAHOLE_FLAGS), and $(MODULE_PAHOLE_FLAGS) on 6.x).
 * Flags asking for what the encoder does not do, and a module without DWARF (pahole would
 * write nothing and the module would go without BTF), are EncodeErrors.
 */
export function encodeModuleWithFlags(path: string, base: Btf, flags: readonly string[]): Uint8Array {
  const settings = encodeSettingsFromArgs(flags);
  if ('refused' in settings) {
    throw new EncodeError('ENCODE_UNSUPPORTED', `the tree's pahole flags ask for what modbtf's encoder does not do: ${settings.refused}`, { file: path });
  }
  const r = encodeModuleFile(path, base, { features: settings.features, ...(settings.languages !== undefined ? { languages: settings.languages } : {}) });
  if (r.bytes === undefined) {
    throw new EncodeError('ENCODE_UNSUPPORTED', 'the module has no DWARF to encode (built without CONFIG_DEBUG_INFO?)', { file: path });
  }
  return r.bytes;
}

function checkSupported(opts: EncodeOptions, file: string | undefined): void {
  if (opts.features.forceCuMerging) {
    throw new EncodeError('ENCODE_UNSUPPORTED', 'the force_cu_merging BTF feature (all CUs loaded as one, pahole\'s LTO path) is not implemented by modbtf\'s encoder', { ...(file !== undefined ? { file } : {}) });
  }
}

/**
 * The two halves of encodeOpenedModule, for a caller that runs them apart (in two threads:
 * lib/module encode-isolate.ts). encodeOpenedTypes is what pahole's encoder does before
 * btf__dedup; dedupEncodedTypes is btf__dedup over it. Together they give encodeOpenedModule's
 * result.
 */
export function encodeOpenedTypes(m: { dwarf: Dwarf | undefined }, base: Btf, opts: EncodeOptions): EncodedTypes {
  if (m.dwarf === undefined) return { raw: undefined, warnings: [], skipped: [] };
  checkSupported(opts, m.dwarf.file);
  return encodeTaken(m, base, opts);
}


/** The BTF before deduplication; raw undefined when every CU was filtered out. */
export interface EncodedTypes { raw: Uint8Array | undefined; warnings: string[]; skipped: string[] }

/** What pahole's encoder does before btf__dedup. Holds nothing of `d` once it returns. */
function encodeTypes(d: Dwarf, base: Btf, opts: EncodeOptions): EncodedTypes {
  const f = opts.features;
  const loader = new CuLoader(d, {
    skipDeclTag: f.skipDeclTag,
    skipTypeTag: f.skipTypeTag,
    trueSignature: f.trueSignature,
    filtered: (lang) => opts.languages?.exclude === true && cuFiltered(lang, opts.languages),
  });
  let enc: ModuleEncoder | undefined;
  for (const { cu, filtered } of loader.cus()) {
    if (filtered || cuFiltered(cu.language, opts.languages)) continue;
    enc ??= new ModuleEncoder(d.elf, d, base, f);
    enc.encodeCu(cu);
  }
  if (enc === undefined) return { raw: undefined, warnings: loader.warnings, skipped: [] };
  enc.finish();
  return { raw: enc.btf.takeBytes(), warnings: [...loader.warnings, ...enc.warnings], skipped: enc.verbose };
}

/** btf__dedup over encodeOpenedTypes' output (`raw` is worked in, not copied). */
export function dedupEncodedTypes(e: EncodedTypes, base: Btf, opts: EncodeOptions, file?: string): EncodeResult {
  const { raw, warnings, skipped } = e;
  if (raw === undefined) return { bytes: undefined, warnings, skipped: [] };
  const parsed = Btf.parse(raw, { base, inMemoryLimit: true, ...(file !== undefined ? { file } : {}), section: '.BTF' });
  // The raw BTF is BtfOut's buffer, ours alone: dedup works in it rather than in a copy.
  const out = dedupBtf(parsed, { behaviour: opts.dedup ?? '1.7.0', stringsDeduped: true, inPlace: true });
  return { bytes: out.bytes, warnings, skipped };
}
