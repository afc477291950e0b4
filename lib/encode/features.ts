/**
 * pahole 1.32's BTF encoding switches (struct conf_load) and how its command line sets them:
 * the --btf_features table of pahole.c (feature name, the conf_load field, its value when the
 * feature is off, whether "default" turns it on, and the libbpf check that must pass) and the
 * single-feature flags older trees pass. With the libbpf pahole loads (Debian: 1.7.0) every
 * check passes except `layout`'s (btf__new_empty_opts arrived after 1.7.0), so `layout` is
 * accepted and does nothing, as there. Unknown names are ignored, as pahole ignores them.
 */

export interface EncodeFeatures {
  force: boolean;
  skipVars: boolean;
  genFloats: boolean;
  skipDeclTag: boolean;
  skipTypeTag: boolean;
  skipEnum64: boolean;
  /** btf_gen_optimized: read by nothing in pahole 1.32's encoder. */
  genOptimized: boolean;
  skipInconsistentProto: boolean;
  tagKfuncs: boolean;
  /** reproducible_build: read by nothing in pahole 1.32 (CUs are always encoded in file order). */
  reproducibleBuild: boolean;
  distilledBase: boolean;
  globalVar: boolean;
  attributes: boolean;
  trueSignature: boolean;
  /** layout: only for base BTF, and only with a libbpf that has btf__new_empty_opts. */
  layout: boolean;
  /** force_cu_merging: load all CUs as one (the LTO path, cus__merge_and_process_cu). */
  forceCuMerging: boolean;
}

type Key = keyof EncodeFeatures;

interface FeatureRow {
  name: string;
  key: Key;
  /** The field's value while the feature is off. */
  initial: boolean;
  inDefault: boolean;
  /** The libbpf check passes with libbpf 1.7.0. */
  available: boolean;
}

/** btf_features[] of pahole.c, in its order (the order --supported_btf_features prints). */
export const BTF_FEATURES: readonly FeatureRow[] = [
  { name: 'encode_force', key: 'force', initial: false, inDefault: true, available: true },
  { name: 'var', key: 'skipVars', initial: true, inDefault: true, available: true },
  { name: 'float', key: 'genFloats', initial: false, inDefault: true, available: true },
  { name: 'decl_tag', key: 'skipDeclTag', initial: true, inDefault: true, available: true },
  { name: 'type_tag', key: 'skipTypeTag', initial: true, inDefault: true, available: true },
  { name: 'enum64', key: 'skipEnum64', initial: true, inDefault: true, available: true },
  { name: 'optimized_func', key: 'genOptimized', initial: false, inDefault: true, available: true },
  { name: 'consistent_func', key: 'skipInconsistentProto', initial: false, inDefault: true, available: true },
  { name: 'decl_tag_kfuncs', key: 'tagKfuncs', initial: false, inDefault: true, available: true },
  { name: 'reproducible_build', key: 'reproducibleBuild', initial: false, inDefault: false, available: true },
  { name: 'distilled_base', key: 'distilledBase', initial: false, inDefault: false, available: true },
  { name: 'global_var', key: 'globalVar', initial: false, inDefault: false, available: true },
  { name: 'attributes', key: 'attributes', initial: false, inDefault: false, available: true },
  { name: 'true_signature', key: 'trueSignature', initial: false, inDefault: false, available: true },
  { name: 'force_cu_merging', key: 'forceCuMerging', initial: false, inDefault: false, available: true },
  { name: 'layout', key: 'layout', initial: false, inDefault: false, available: false },
];

/** conf_load as pahole starts (all zero). */
export function defaultFeatures(): EncodeFeatures {
  return {
    force: false, skipVars: false, genFloats: false, skipDeclTag: false, skipTypeTag: false, skipEnum64: false,
    genOptimized: false, skipInconsistentProto: false, tagKfuncs: false, reproducibleBuild: false,
    distilledBase: false, globalVar: false, attributes: false, trueSignature: false, layout: false, forceCuMerging: false,
  };
}

/** Applies pahole's command-line switches in order (parse_btf_features and the single flags). */
export class FeatureParser {
  readonly features = defaultFeatures();
  /** Names pahole ignored (printed with -V). */
  readonly ignored: string[] = [];
  private initialised = false;

  private init(): void {
    if (this.initialised) return;
    for (const r of BTF_FEATURES) this.features[r.key] = r.initial;
    this.initialised = true;
  }

  private enable(r: FeatureRow): void {
    if (r.available) this.features[r.key] = !r.initial;
  }

  private enableDefault(): void {
    for (const r of BTF_FEATURES) if (r.inDefault) this.enable(r);
  }

  /**
   * --btf_features=LIST (strict: --btf_features_strict, which returns the unknown name so the
   * caller can fail as pahole does). The list is cut at 1024 bytes, as pahole's buffer.
   */
  btfFeatures(list: string, strict = false): string | undefined {
    this.init();
    if (list === 'default') {
      this.enableDefault();
      return undefined;
    }
    // "all" (what --btf_gen_all passes): every feature but force_cu_merging (measured: pahole
    // 1.32's --btf_gen_all output equals --btf_features=default,global_var, and differs from
    // it with force_cu_merging added).
    if (list === 'all') {
      for (const r of BTF_FEATURES) if (r.key !== 'forceCuMerging') this.enable(r);
      return undefined;
    }
    let s = list;
    if (s.startsWith('+')) {
      this.enableDefault();
      s = s.slice(1);
    }
    s = Buffer.from(s, 'utf8').subarray(0, 1024).toString('utf8');
    for (const name of s.split(',')) {
      if (name === '') continue;
      const r = BTF_FEATURES.find((x) => x.name === name);
      if (r !== undefined) {
        this.enable(r);
        continue;
      }
      if (name === 'default') this.enableDefault();
      else if (strict) return name;
      this.ignored.push(name);
    }
    return undefined;
  }

  /** The flags that set one field (pahole's ARGP_* cases). */
  flag(name: string): boolean {
    const f = this.features;
    switch (name) {
      case 'skip_encoding_btf_vars': f.skipVars = true; return true;
      case 'btf_encode_force': f.force = true; return true;
      case 'btf_gen_floats': f.genFloats = true; return true;
      case 'btf_gen_all': this.btfFeatures('all'); return true;
      case 'skip_encoding_btf_decl_tag': f.skipDeclTag = true; return true;
      case 'skip_encoding_btf_type_tag': f.skipTypeTag = true; return true;
      case 'skip_encoding_btf_enum64': f.skipEnum64 = true; return true;
      case 'btf_gen_optimized': f.genOptimized = true; return true;
      case 'skip_encoding_btf_inconsistent_proto': f.skipInconsistentProto = true; return true;
      case 'reproducible_build': f.reproducibleBuild = true; return true;
      case 'btf_attributes': f.attributes = true; return true;
      default: return false;
    }
  }
}

/** --supported_btf_features with libbpf 1.7.0. */
export function supportedFeatures(): string {
  return BTF_FEATURES.filter((r) => r.available).map((r) => r.name).join(',');
}
