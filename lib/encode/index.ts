/**
 * DWARF -> split BTF with pahole 1.32's semantics (what `pahole -J --btf_base vmlinux` writes
 * for a module), then libbpf's btf__dedup in the behaviour of the libbpf pahole loads.
 */
import { Btf } from '../btf/btf.js';
import { dedupBtf, type DedupBehaviour } from '../dedup/index.js';
import { hasDwarf, openDwarf } from '../dwarf/dwarf.js';
import type { ElfFile } from '../elf/file.js';
import { ModuleEncoder } from './encoder.js';
import type { EncodeFeatures } from './features.js';
import { CuLoader } from './loader.js';
import { EncodeError } from './errors.js';

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
  /** The BTF before deduplication (for diagnostics). */
  raw: Uint8Array | undefined;
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
  if (!hasDwarf(elf)) return { bytes: undefined, raw: undefined, warnings: [], skipped: [] };
  if (opts.features.forceCuMerging) {
    throw new EncodeError('ENCODE_UNSUPPORTED', 'the force_cu_merging BTF feature (all CUs loaded as one, pahole\'s LTO path) is not implemented by modbtf\'s encoder', { file: elf.file });
  }
  // One unit at a time: keep only the current unit's DIE index.
  const d = openDwarf(elf, { indexCache: 2 });
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
    enc ??= new ModuleEncoder(elf, d, base, f);
    enc.encodeCu(cu);
  }
  if (enc === undefined) return { bytes: undefined, raw: undefined, warnings: loader.warnings, skipped: [] };
  enc.finish();
  const raw = enc.btf.bytes();
  const parsed = Btf.parse(raw, { base, inMemoryLimit: true, ...(elf.file !== undefined ? { file: elf.file } : {}), section: '.BTF' });
  const out = dedupBtf(parsed, { behaviour: opts.dedup ?? '1.7.0', stringsDeduped: true });
  return { bytes: out.bytes, raw, warnings: [...loader.warnings, ...enc.warnings], skipped: enc.verbose };
}
