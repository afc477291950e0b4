/**
 * resolve_btfids' command line, parsed like tools/lib/subcmd parse-options
 * (PARSE_OPT_STOP_AT_NON_OPTION) over the option table of the tool being replaced:
 * Debian's 6.12 resolve_btfids or kernel 7.x's (which adds --distill_base and
 * --patch_btfids, and has --fatal_warnings of its own). `-v`/`--verbose` (repeatable),
 * string options as `--opt <v>`, `--opt=v`, `-bFILE`, unambiguous abbreviations such
 * as `--btf_b`; `-h`, `--help`; options after the object are not options; usage
 * errors print the tool's usage block and exit 129.
 */

export const RESOLVE_BTFIDS_EXIT_OK = 0;
export const RESOLVE_BTFIDS_EXIT_FAILED = 255;
export const RESOLVE_BTFIDS_EXIT_USAGE = 129;

const USAGE_OPTS_WIDTH = 24;
const USAGE_GAP = 2;

type OptType = 'incr' | 'string' | 'boolean';
interface OptSpec {
  readonly short?: string;
  readonly long: string;
  readonly type: OptType;
  readonly argh?: string;
  readonly help: string;
  readonly hidden?: boolean;
  readonly key: 'verbose' | 'btf' | 'base' | 'fatalWarnings' | 'distillBase' | 'patchBtfids';
}

/** One tool's options and usage lines (usage_with_options' "Usage:" / "or:" lines). */
export interface OptionTable {
  readonly abi: 6 | 7;
  readonly usage: readonly string[];
  /** In declaration order (parse_options_usage lists matches in this order). */
  readonly options: readonly OptSpec[];
}

/**
 * Declaration order of 6.12's main.c, after modbtf's `--fatal_warnings`, which comes
 * first so that abbreviation ambiguities among the tool's own options are reported as
 * the tool reports them, and which is never shown in usage texts or --list-opts (those
 * stay the 6.12 texts).
 */
export const OPTIONS_6: OptionTable = {
  abi: 6,
  usage: ['resolve_btfids [<options>] <ELF object>'],
  options: [
    { long: 'fatal_warnings', type: 'boolean', help: 'turn warnings into errors (exit status 255)', hidden: true, key: 'fatalWarnings' },
    { short: 'v', long: 'verbose', type: 'incr', help: 'be more verbose (show errors, etc)', key: 'verbose' },
    { long: 'btf', type: 'string', argh: 'BTF data', help: 'BTF data', key: 'btf' },
    { short: 'b', long: 'btf_base', type: 'string', argh: 'file', help: 'path of file providing base BTF', key: 'base' },
  ],
};

/** Kernel 7.x's main.c (7.2.13), in its declaration order. */
export const OPTIONS_7: OptionTable = {
  abi: 7,
  usage: ['resolve_btfids [<options>] <ELF object>', 'resolve_btfids --patch_btfids <.BTF_ids file> <ELF object>'],
  options: [
    { short: 'v', long: 'verbose', type: 'incr', help: 'be more verbose (show errors, etc)', key: 'verbose' },
    { long: 'btf', type: 'string', argh: 'file', help: 'path to a file with input BTF data', key: 'btf' },
    { short: 'b', long: 'btf_base', type: 'string', argh: 'file', help: 'path of file providing base BTF', key: 'base' },
    { long: 'fatal_warnings', type: 'boolean', help: 'turn warnings into errors', key: 'fatalWarnings' },
    { long: 'distill_base', type: 'boolean', help: 'distill --btf_base and emit .BTF.base section data', key: 'distillBase' },
    { long: 'patch_btfids', type: 'string', argh: 'file', help: 'path to .BTF_ids section data blob to patch into ELF file', key: 'patchBtfids' },
  ],
};

export interface ResolveBtfidsArgs {
  verbose: number;
  btf: string | undefined;
  base: string | undefined;
  fatalWarnings: boolean;
  /** 7.x only. */
  distillBase: boolean;
  /** 7.x only: the blob of `--patch_btfids <file>`. */
  patchBtfids: string | undefined;
  object: string;
}

export type ParsedCommandLine =
  | { readonly ok: true; readonly args: ResolveBtfidsArgs }
  | { readonly ok: false; readonly exitCode: number; readonly stderr: string; readonly stdout: string };

/** print_option_help(): one option's usage lines. */
function optionHelp(o: OptSpec): string {
  let s = '    ';
  s += o.short !== undefined ? `-${o.short}` : '    ';
  if (o.short !== undefined) s += ', ';
  s += `--${o.long}`;
  if (o.type === 'string') s += ` <${o.argh ?? '...'}>`;
  let pad: number;
  if (s.length <= USAGE_OPTS_WIDTH) pad = USAGE_OPTS_WIDTH - s.length;
  else {
    s += '\n';
    pad = USAGE_OPTS_WIDTH;
  }
  return `${s}${' '.repeat(pad + USAGE_GAP)}${o.help}\n`;
}

/** options__order(): options with a short name first (by letter), then by long name. */
function ordered(table: OptionTable): OptSpec[] {
  const key = (o: OptSpec): number => (o.short !== undefined ? o.short.toLowerCase().charCodeAt(0) : 'z'.charCodeAt(0) + 1);
  return [...table.options].sort((a, b) => key(a) - key(b) || (a.long < b.long ? -1 : a.long > b.long ? 1 : 0));
}

/**
 * option__in_argv(): after `-h`, further arguments select which options to describe
 * (a short letter, a long name, a word of the help text, or `-x` / `--long`).
 */
function optionInArgv(o: OptSpec, rest: readonly string[]): boolean {
  for (const arg of rest) {
    if (arg[0] !== '-') {
      if (arg.length === 1) {
        if (arg === o.short) return true;
        continue;
      }
      if (o.long === arg) return true;
      if (arg === '' || o.help.toLowerCase().includes(arg.toLowerCase())) return true;
      continue;
    }
    // "-" alone: arg[1] is the NUL, which equals the short name of a long-only option.
    if ((arg.length > 1 ? arg[1] === o.short : o.short === undefined) || (arg[1] === '-' && o.long === arg.slice(2))) return true;
  }
  return false;
}

/**
 * usage_with_options_internal(); `after`: the arguments following the -h/--help
 * argument. (--help-all differs from --help only for hidden options; the tool has none
 * and --fatal_warnings is never listed.)
 */
function usageLines(table: OptionTable): string {
  return table.usage.map((u, i) => `${i === 0 ? ' Usage: ' : '    or: '}${u}\n`).join('');
}

/** The full usage block of one tool, as its `--help` prints it. */
export function helpText(table: OptionTable): string {
  return usageText(table, undefined);
}

function usageText(table: OptionTable, error: string | undefined, after: readonly string[] = []): string {
  let s = error !== undefined ? `  Error: ${error}\n` : '';
  s += `\n${usageLines(table)}\n`;
  for (const o of ordered(table)) {
    if (o.hidden === true) continue;
    if (after.length > 0 && !optionInArgv(o, after)) continue;
    s += optionHelp(o);
  }
  return `${s}\n`;
}

/** parse_options_usage(): usage, then the options matching `optstr`. */
function shortUsage(table: OptionTable, optstr: string, isShort: boolean): string {
  let s = `\n${usageLines(table)}\n`;
  for (const o of table.options) {
    if (o.hidden === true) continue;
    if (isShort) {
      if (o.short === optstr[0]) {
        s += optionHelp(o);
        break;
      }
      continue;
    }
    if (o.long.startsWith(optstr)) s += optionHelp(o);
    // The C code reads optstr + 3 even when optstr is "n" or "no" (past its end): no match here.
    if ('no-'.startsWith(optstr) && optstr.length >= 3 && o.long.startsWith(optstr.slice(3))) s += optionHelp(o);
  }
  return s;
}

class Stop {
  constructor(readonly exitCode: number, readonly stderr: string, readonly stdout = '') {}
}

/** parse-options state: the arguments and the current position (ctx->argv / ctx->argc). */
class OptionParser {
  i = 0;
  readonly args: Omit<ResolveBtfidsArgs, 'object'> = { verbose: 0, btf: undefined, base: undefined, fatalWarnings: false, distillBase: false, patchBtfids: undefined };
  constructor(readonly argv: readonly string[], readonly table: OptionTable) {}

  private store(o: OptSpec, unset: boolean, value: string | undefined): void {
    switch (o.type) {
      case 'incr': this.args.verbose = unset ? 0 : this.args.verbose + 1; break;
      case 'boolean':
        if (o.key === 'distillBase') this.args.distillBase = !unset;
        else this.args.fatalWarnings = !unset;
        break;
      case 'string': {
        const v = unset ? undefined : value;
        if (o.key === 'btf') this.args.btf = v;
        else if (o.key === 'patchBtfids') this.args.patchBtfids = v;
        else this.args.base = v;
        break;
      }
    }
  }

  /** opterror() followed by parse_options_usage(). */
  private optError(o: OptSpec, reason: string, isShort: boolean, unset: boolean, optstr: string): Stop {
    const head = isShort ? ` Error: switch \`${o.short ?? ''}' ${reason}` : unset ? ` Error: option \`no-${o.long}' ${reason}` : ` Error: option \`${o.long}' ${reason}`;
    return new Stop(RESOLVE_BTFIDS_EXIT_USAGE, head + shortUsage(this.table, optstr, isShort));
  }

  /** get_value() + get_arg(); `inline` is p->opt (text glued to the option). */
  private getValue(o: OptSpec, isShort: boolean, unset: boolean, inline: string | undefined, optstr: string): void {
    if (unset && inline !== undefined) throw this.optError(o, 'takes no value', isShort, unset, optstr);
    if (!isShort && inline !== undefined && o.type !== 'string') throw this.optError(o, 'takes no value', isShort, unset, optstr);
    if (o.type !== 'string' || unset) {
      this.store(o, unset, undefined);
    } else if (inline !== undefined) {
      this.store(o, false, inline);
    } else if (this.i + 1 < this.argv.length) {
      this.i++;
      this.store(o, false, this.argv[this.i]);
    } else {
      throw this.optError(o, 'requires a value', isShort, unset, optstr);
    }
  }

  /** One "-xyz" argument: grouped short options. */
  short(arg: string): void {
    const typed = arg.slice(1);
    let rest = typed;
    let first = true;
    while (rest.length > 0) {
      const c = rest[0] as string;
      if (c === 'h') throw new Stop(RESOLVE_BTFIDS_EXIT_USAGE, usageText(this.table, undefined, this.argv.slice(this.i + 1)));
      const o = this.table.options.find((x) => x.short === c);
      if (o === undefined) throw new Stop(RESOLVE_BTFIDS_EXIT_USAGE, usageText(this.table, `unknown switch \`${c}'`));
      const after = rest.slice(1);
      if (o.type === 'string') {
        this.getValue(o, true, false, after.length > 0 ? after : undefined, c);
        rest = '';
      } else {
        this.getValue(o, true, false, undefined, c);
        rest = after;
      }
      // check_typos(): "-verbose" was probably meant as "--verbose".
      if (first && rest.length > 0 && typed.length >= 3 && (typed.startsWith('no-') || this.table.options.some((x) => x.long.startsWith(typed)))) {
        throw new Stop(RESOLVE_BTFIDS_EXIT_USAGE, ` Error: did you mean \`--${typed}\` (with two dashes ?)\n`);
      }
      first = false;
    }
  }

  /** parse_long_opt() for the text after "--". */
  long(body: string): void {
    const eq = body.indexOf('=');
    const nameEnd = eq < 0 ? body.length : eq;
    let abbrev: { o: OptSpec; unset: boolean } | undefined;
    let ambiguous: { o: OptSpec; unset: boolean } | undefined;
    let abbrevInline: string | undefined;
    for (const o of this.table.options) {
      let unset = false;
      let rest = body.startsWith(o.long) ? body.slice(o.long.length) : undefined;
      if (rest === undefined) {
        let abbreviated = false;
        if (o.long.startsWith(body.slice(0, nameEnd))) {
          abbreviated = true;
        } else if ('no-'.startsWith(body)) {
          unset = true;
          abbreviated = true;
        } else if (body.startsWith('no-')) {
          unset = true;
          const neg = body.slice(3);
          rest = neg.startsWith(o.long) ? neg.slice(o.long.length) : undefined;
          if (rest === undefined) {
            if (!o.long.startsWith(neg)) continue;
            abbreviated = true;
          }
        } else {
          continue;
        }
        if (abbreviated) {
          if (abbrev !== undefined) ambiguous = abbrev;
          if (!unset && eq >= 0) abbrevInline = body.slice(eq + 1);
          abbrev = { o, unset };
          continue;
        }
      }
      let inline: string | undefined;
      if (rest !== undefined && rest.length > 0) {
        if (rest[0] !== '=') continue;
        inline = rest.slice(1);
      }
      this.getValue(o, false, unset, inline, body);
      return;
    }
    if (ambiguous !== undefined && abbrev !== undefined) {
      throw new Stop(
        RESOLVE_BTFIDS_EXIT_USAGE,
        ` Error: Ambiguous option: ${body} (could be --${ambiguous.unset ? 'no-' : ''}${ambiguous.o.long} or --${abbrev.unset ? 'no-' : ''}${abbrev.o.long})\n${shortUsage(this.table, body, false)}`,
      );
    }
    if (abbrev !== undefined) {
      this.getValue(abbrev.o, false, abbrev.unset, abbrevInline, body);
      return;
    }
    throw new Stop(RESOLVE_BTFIDS_EXIT_USAGE, usageText(this.table, `unknown option \`${body}'`));
  }

  /** parse_options_step() with PARSE_OPT_STOP_AT_NON_OPTION; returns the remaining arguments. */
  run(): string[] {
    for (; this.i < this.argv.length; this.i++) {
      const arg = this.argv[this.i] as string;
      if (arg[0] !== '-' || arg.length === 1) break;
      if (arg[1] !== '-') {
        this.short(arg);
        continue;
      }
      if (arg.length === 2) {
        this.i++;
        break;
      }
      const body = arg.slice(2);
      const after = this.argv.slice(this.i + 1);
      if (body === 'help-all') throw new Stop(RESOLVE_BTFIDS_EXIT_USAGE, usageText(this.table, undefined, after));
      if (body === 'help') throw new Stop(RESOLVE_BTFIDS_EXIT_USAGE, usageText(this.table, undefined, after));
      if (body === 'list-opts') throw new Stop(130, '', `${this.table.options.filter((o) => o.hidden !== true).map((o) => `--${o.long} `).join('')}\n`);
      if (body === 'list-cmds') throw new Stop(130, '', '\n');
      this.long(body);
    }
    return this.argv.slice(this.i);
  }
}

/**
 * tools/lib/subcmd parse_options() with PARSE_OPT_STOP_AT_NON_OPTION over one tool's
 * options, then the one-object check. `argv` excludes the program name.
 */
export function parseResolveBtfidsArgs(argv: readonly string[], table: OptionTable = OPTIONS_6): ParsedCommandLine {
  const p = new OptionParser(argv, table);
  let rest: string[];
  try {
    rest = p.run();
  } catch (e: unknown) {
    if (e instanceof Stop) return { ok: false, exitCode: e.exitCode, stderr: e.stderr, stdout: e.stdout };
    throw e;
  }
  if (rest.length !== 1) return { ok: false, exitCode: RESOLVE_BTFIDS_EXIT_USAGE, stderr: usageText(table, undefined), stdout: '' };
  return { ok: true, args: { ...p.args, object: rest[0] as string } };
}

