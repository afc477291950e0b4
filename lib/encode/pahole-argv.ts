/**
 * pahole 1.32's command line as GNU argp parses it (getopt_long with argument permutation):
 * every option pahole has (so abbreviations are unambiguous exactly where pahole's are, and
 * messages about unknown or ambiguous options are pahole's, exit status 64), long options as
 * `--name=value` or `--name value`, unique prefixes, short options grouped (`-Jj`), `-j[N]`'s
 * optional argument only when attached, operands anywhere, `--` ending options.
 *
 * Only the BTF encoding options are implemented by `modbtf pahole`; the others are known so
 * that they parse as pahole parses them, and refused afterwards with a clear message.
 */
import { FeatureParser } from './features.js';
import { parseLanguages } from './languages.js';

export type ArgKind = 'none' | 'required' | 'optional';

export interface PaholeOption {
  name: string;
  short?: string;
  arg: ArgKind;
  /** modbtf pahole implements it. */
  supported: boolean;
}

const o = (name: string, arg: ArgKind, supported: boolean, short?: string): PaholeOption => (short === undefined ? { name, arg, supported } : { name, arg, supported, short });

/** pahole__options[] of pahole 1.32, plus argp's --help, --usage and --version. */
export const PAHOLE_OPTIONS: readonly PaholeOption[] = [
  o('bit_holes', 'required', false, 'B'), o('cacheline_size', 'required', false, 'c'), o('class_name', 'required', false, 'C'),
  o('count', 'required', false), o('skip', 'required', false), o('seek_bytes', 'required', false),
  o('size_bytes', 'required', false), o('range', 'required', false), o('header_type', 'required', false),
  o('find_pointers_to', 'required', false, 'f'), o('format_path', 'required', true, 'F'), o('contains', 'required', false, 'i'),
  o('contains_enumerator', 'required', false), o('show_decl_info', 'none', false, 'I'), o('holes', 'required', false, 'H'),
  o('padding_ge', 'required', false), o('padding', 'required', false), o('hole_size_ge', 'required', false, 'z'),
  o('packable', 'none', false, 'P'), o('with_flexible_array', 'none', false), o('with_embedded_flexible_array', 'none', false),
  o('expand_types', 'none', false, 'E'), o('nr_members', 'none', false, 'n'), o('rel_offset', 'none', false, 'r'),
  o('recursive', 'none', false, 'd'), o('reorganize', 'none', false, 'R'), o('show_reorg_steps', 'none', false, 'S'),
  o('class_name_len', 'none', false, 'N'), o('show_first_biggest_size_base_type_member', 'none', false, 'l'),
  o('nr_methods', 'none', false, 'm'), o('show_only_data_members', 'none', false, 'M'), o('expand_pointers', 'none', false, 'p'),
  o('sizes', 'none', false, 's'), o('separator', 'required', false, 't'), o('nr_definitions', 'none', false, 'T'),
  o('decl_exclude', 'required', false, 'D'), o('exclude', 'required', false, 'x'), o('prefix_filter', 'required', false, 'y'),
  o('cu_exclude', 'required', false, 'X'), o('anon_include', 'none', false, 'a'), o('nested_anon_include', 'none', false, 'A'),
  o('quiet', 'none', true, 'q'), o('defined_in', 'none', false, 'u'), o('verbose', 'none', true, 'V'),
  o('word_size', 'required', false, 'w'), o('ctf_encode', 'none', false, 'Z'), o('flat_arrays', 'none', false),
  o('suppress_aligned_attribute', 'none', false), o('suppress_force_paddings', 'none', false), o('suppress_packed', 'none', false),
  o('show_private_classes', 'none', false), o('fixup_silly_bitfields', 'none', false), o('first_obj_only', 'none', false),
  o('classes_as_structs', 'none', false), o('hex', 'none', false), o('btf_base', 'required', true),
  o('kabi_prefix', 'required', false), o('jobs', 'optional', true, 'j'), o('btf_encode', 'none', true, 'J'),
  o('btf_encode_detached', 'required', true), o('skip_encoding_btf_vars', 'none', true), o('btf_encode_force', 'none', true),
  o('btf_gen_floats', 'none', true), o('btf_gen_all', 'none', true), o('compile', 'none', false), o('structs', 'none', false),
  o('unions', 'none', false), o('packed', 'none', false), o('numeric_version', 'none', true), o('sort', 'none', false),
  o('prettify', 'required', false), o('hashbits', 'required', true), o('ptr_table_stats', 'none', false),
  o('skip_encoding_btf_decl_tag', 'none', true), o('skip_missing', 'none', false), o('skip_encoding_btf_type_tag', 'none', true),
  o('lang', 'required', true), o('lang_exclude', 'required', true), o('skip_encoding_btf_enum64', 'none', true),
  o('skip_emitting_atomic_typedefs', 'none', false), o('btf_gen_optimized', 'none', true),
  o('skip_encoding_btf_inconsistent_proto', 'none', true), o('btf_features', 'required', true),
  o('supported_btf_features', 'none', true), o('btf_features_strict', 'required', true), o('reproducible_build', 'none', true),
  o('running_kernel_vmlinux', 'none', false), o('btf_attributes', 'none', true),
  o('help', 'none', true, '?'), o('usage', 'none', true), o('version', 'none', true),
];

export interface ParsedOption { option: PaholeOption; value: string | undefined; spelled: string }

export type PaholeArgs =
  | { ok: true; options: ParsedOption[]; operands: string[] }
  | { ok: false; message: string };

const TRY = "Try `pahole --help' or `pahole --usage' for more information.";

function usageError(text: string): PaholeArgs {
  return { ok: false, message: `pahole: ${text}\n${TRY}\n` };
}

/** Long option lookup: exact name, else the only option the prefix starts. */
function findLong(name: string): PaholeOption | PaholeOption[] | undefined {
  const exact = PAHOLE_OPTIONS.find((x) => x.name === name);
  if (exact !== undefined) return exact;
  const matches = PAHOLE_OPTIONS.filter((x) => x.name.startsWith(name));
  if (matches.length === 1) return matches[0];
  return matches.length === 0 ? undefined : matches;
}

/** Parses argv (without "pahole") as argp does. */
export function parsePaholeArgs(argv: readonly string[]): PaholeArgs {
  const options: ParsedOption[] = [];
  const operands: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i] as string;
    if (a === '--') {
      operands.push(...argv.slice(i + 1));
      break;
    }
    if (a.startsWith('--')) {
      const eq = a.indexOf('=');
      const name = eq < 0 ? a.slice(2) : a.slice(2, eq);
      const found = findLong(name);
      if (found === undefined) return usageError(`unrecognized option '${eq < 0 ? a : a.slice(0, eq)}'`);
      if (Array.isArray(found)) {
        return usageError(`option '--${name}' is ambiguous; possibilities:${found.map((x) => ` '--${x.name}'`).join('')}`);
      }
      let value: string | undefined;
      if (found.arg === 'none') {
        if (eq >= 0) return usageError(`option '--${found.name}' doesn't allow an argument`);
      } else if (eq >= 0) {
        value = a.slice(eq + 1);
      } else if (found.arg === 'required') {
        if (i + 1 >= argv.length) return usageError(`option '--${found.name}' requires an argument`);
        value = argv[++i] as string;
      }
      options.push({ option: found, value, spelled: a });
      continue;
    }
    if (a.startsWith('-') && a.length > 1) {
      for (let k = 1; k < a.length; k++) {
        const c = a[k] as string;
        const found = PAHOLE_OPTIONS.find((x) => x.short === c);
        if (found === undefined) return usageError(`invalid option -- '${c}'`);
        if (found.arg === 'none') {
          options.push({ option: found, value: undefined, spelled: `-${c}` });
          continue;
        }
        const rest = a.slice(k + 1);
        if (rest !== '') {
          options.push({ option: found, value: rest, spelled: `-${c}` });
        } else if (found.arg === 'required') {
          if (i + 1 >= argv.length) return usageError(`option requires an argument -- '${c}'`);
          options.push({ option: found, value: argv[++i] as string, spelled: `-${c}` });
        } else {
          options.push({ option: found, value: undefined, spelled: `-${c}` });
        }
        break;
      }
      continue;
    }
    operands.push(a);
  }
  return { ok: true, options, operands };
}

/**
 * The encoder settings a pahole command line asks for (features in argv order, languages),
 * for callers that run lib/encode where kbuild would run pahole with these flags. Returns the
 * first option this encoder cannot honour instead (an option pahole has for something else).
 */
export function encodeSettingsFromArgs(words: readonly string[]): { features: import('./features.js').EncodeFeatures; languages: { ids: ReadonlySet<number>; exclude: boolean } | undefined } | { refused: string } {
  const parsed = parsePaholeArgs(words);
  if (!parsed.ok) return { refused: parsed.message.split('\n')[0] ?? parsed.message };
  const fp = new FeatureParser();
  let languages: { ids: ReadonlySet<number>; exclude: boolean } | undefined;
  for (const { option, value, spelled } of parsed.options) {
    if (!option.supported) return { refused: `${spelled} (pahole's --${option.name})` };
    switch (option.name) {
      case 'btf_features': fp.btfFeatures(value ?? ''); break;
      case 'btf_features_strict': {
        const bad = fp.btfFeatures(value ?? '', true);
        if (bad !== undefined) return { refused: `--btf_features_strict: unknown feature '${bad}'` };
        break;
      }
      case 'lang': case 'lang_exclude': {
        const l = parseLanguages(value ?? '');
        if ('unknown' in l) return { refused: `unknown language "${l.unknown}"` };
        languages = { ids: l.ids, exclude: option.name === 'lang_exclude' };
        break;
      }
      default:
        fp.flag(option.name);
    }
  }
  return { features: fp.features, languages };
}
