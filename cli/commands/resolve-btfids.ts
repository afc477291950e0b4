/**
 * `modbtf resolve-btfids [-v] [-b BASE] [--btf FILE] [--fatal_warnings] OBJECT`: a
 * drop-in for kbuild's $(RESOLVE_BTFIDS) (Debian's 6.12 resolve_btfids): same
 * arguments, same stderr texts, same exit statuses (0 ok, 255 failure, 129 usage),
 * same output bytes. For a pristine object the result is byte-identical to the
 * tool's; see lib/btfids for the rules.
 *
 * Command line: parsed like tools/lib/subcmd parse-options (PARSE_OPT_STOP_AT_NON_OPTION),
 * not by yargs: `-v`/`--verbose` (repeatable), `--btf <file>`, `-b`/`--btf_base <file>`
 * (`-bFILE`, `--btf_base=FILE`, unambiguous abbreviations such as `--btf_b`), `-h`,
 * `--help`; options after the object are not options; usage errors print the tool's
 * usage block and exit 129.
 *
 * Differences from resolve_btfids, on purpose:
 *  - `--fatal_warnings` (kernel 7.0's gen-btf.sh passes it under CONFIG_WERROR; 6.12's
 *    tool rejects it as an unknown option): accepted. When a warning ("multiple IDs",
 *    "unresolved symbol") is printed, the object is still written and the exit status
 *    is 255, as the resolve_btfids that introduced the option (6.14) does. (In kernel
 *    7.0's main.c the flag has no effect: the return value is overwritten by the
 *    output dumps before it is checked.) Not listed in the usage text, which stays the
 *    6.12 text byte for byte.
 *  - Running twice does not scramble set8 flags: an object whose `.BTF_ids` an earlier
 *    run already resolved with the same BTF is recognised and left as it is (the tool
 *    would write every id back to its symbol's slot but leave the flags where the sort
 *    put them, pairing kfuncs with other kfuncs' KF_ flags). When the earlier run used
 *    other BTF, the flags cannot be matched again: the tool's result is written and a
 *    `WARN: modbtf: set8 ...` line says so (it counts for --fatal_warnings).
 *  - The object is replaced atomically (temporary file in the same directory, fsync,
 *    rename, same mode) instead of being patched in place through a shared mapping;
 *    on any failure it is left untouched, where resolve_btfids leaves the patches it
 *    made before failing (out-of-bounds symbol, libelf write refusal) in the file.
 *  - Malformed input that crashes resolve_btfids (a set symbol of size 0, sh_entsize 0,
 *    SHT_NOBITS .BTF_ids) fails with exit status 255 and, where the tool prints
 *    nothing, a `FAILED ...` line of modbtf's.
 *  - `-b` may also name a gzip/xz/zstd-compressed file.
 */
import type { Argv, CommandModule } from 'yargs';

export const RESOLVE_BTFIDS_EXIT_OK = 0;
export const RESOLVE_BTFIDS_EXIT_FAILED = 255;
export const RESOLVE_BTFIDS_EXIT_USAGE = 129;

const USAGE = 'resolve_btfids [<options>] <ELF object>';
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
  readonly key: 'verbose' | 'btf' | 'base' | 'fatalWarnings';
}

/**
 * Declaration order of 6.12's main.c (parse_options_usage lists matches in this order),
 * after modbtf's `--fatal_warnings`, which comes first so that abbreviation ambiguities
 * among the tool's own options are reported as the tool reports them, and which is
 * never shown in usage texts or --list-opts (those stay the 6.12 texts).
 */
const OPTIONS: readonly OptSpec[] = [
  { long: 'fatal_warnings', type: 'boolean', help: 'turn warnings into errors (exit status 255)', hidden: true, key: 'fatalWarnings' },
  { short: 'v', long: 'verbose', type: 'incr', help: 'be more verbose (show errors, etc)', key: 'verbose' },
  { long: 'btf', type: 'string', argh: 'BTF data', help: 'BTF data', key: 'btf' },
  { short: 'b', long: 'btf_base', type: 'string', argh: 'file', help: 'path of file providing base BTF', key: 'base' },
];

export interface ResolveBtfidsArgs {
  verbose: number;
  btf: string | undefined;
  base: string | undefined;
  fatalWarnings: boolean;
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
function ordered(): OptSpec[] {
  const key = (o: OptSpec): number => (o.short !== undefined ? o.short.toLowerCase().charCodeAt(0) : 'z'.charCodeAt(0) + 1);
  return [...OPTIONS].sort((a, b) => key(a) - key(b) || (a.long < b.long ? -1 : a.long > b.long ? 1 : 0));
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
function usageText(error: string | undefined, after: readonly string[] = []): string {
  let s = error !== undefined ? `  Error: ${error}\n` : '';
  s += `\n Usage: ${USAGE}\n\n`;
  for (const o of ordered()) {
    if (o.hidden === true) continue;
    if (after.length > 0 && !optionInArgv(o, after)) continue;
    s += optionHelp(o);
  }
  return `${s}\n`;
}

/** parse_options_usage(): usage, then the options matching `optstr`. */
function shortUsage(optstr: string, isShort: boolean): string {
  let s = `\n Usage: ${USAGE}\n\n`;
  for (const o of OPTIONS) {
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
  readonly args: Omit<ResolveBtfidsArgs, 'object'> = { verbose: 0, btf: undefined, base: undefined, fatalWarnings: false };
  constructor(readonly argv: readonly string[]) {}

  private store(o: OptSpec, unset: boolean, value: string | undefined): void {
    switch (o.type) {
      case 'incr': this.args.verbose = unset ? 0 : this.args.verbose + 1; break;
      case 'boolean': this.args.fatalWarnings = !unset; break;
      case 'string':
        if (o.key === 'btf') this.args.btf = unset ? undefined : value;
        else this.args.base = unset ? undefined : value;
        break;
    }
  }

  /** opterror() followed by parse_options_usage(). */
  private optError(o: OptSpec, reason: string, isShort: boolean, unset: boolean, optstr: string): Stop {
    const head = isShort ? ` Error: switch \`${o.short ?? ''}' ${reason}` : unset ? ` Error: option \`no-${o.long}' ${reason}` : ` Error: option \`${o.long}' ${reason}`;
    return new Stop(RESOLVE_BTFIDS_EXIT_USAGE, head + shortUsage(optstr, isShort));
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
      if (c === 'h') throw new Stop(RESOLVE_BTFIDS_EXIT_USAGE, usageText(undefined, this.argv.slice(this.i + 1)));
      const o = OPTIONS.find((x) => x.short === c);
      if (o === undefined) throw new Stop(RESOLVE_BTFIDS_EXIT_USAGE, usageText(`unknown switch \`${c}'`));
      const after = rest.slice(1);
      if (o.type === 'string') {
        this.getValue(o, true, false, after.length > 0 ? after : undefined, c);
        rest = '';
      } else {
        this.getValue(o, true, false, undefined, c);
        rest = after;
      }
      // check_typos(): "-verbose" was probably meant as "--verbose".
      if (first && rest.length > 0 && typed.length >= 3 && (typed.startsWith('no-') || OPTIONS.some((x) => x.long.startsWith(typed)))) {
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
    for (const o of OPTIONS) {
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
        ` Error: Ambiguous option: ${body} (could be --${ambiguous.unset ? 'no-' : ''}${ambiguous.o.long} or --${abbrev.unset ? 'no-' : ''}${abbrev.o.long})\n${shortUsage(body, false)}`,
      );
    }
    if (abbrev !== undefined) {
      this.getValue(abbrev.o, false, abbrev.unset, abbrevInline, body);
      return;
    }
    throw new Stop(RESOLVE_BTFIDS_EXIT_USAGE, usageText(`unknown option \`${body}'`));
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
      if (body === 'help-all') throw new Stop(RESOLVE_BTFIDS_EXIT_USAGE, usageText(undefined, after));
      if (body === 'help') throw new Stop(RESOLVE_BTFIDS_EXIT_USAGE, usageText(undefined, after));
      if (body === 'list-opts') throw new Stop(130, '', `${OPTIONS.filter((o) => o.hidden !== true).map((o) => `--${o.long} `).join('')}\n`);
      if (body === 'list-cmds') throw new Stop(130, '', '\n');
      this.long(body);
    }
    return this.argv.slice(this.i);
  }
}

/**
 * tools/lib/subcmd parse_options() with PARSE_OPT_STOP_AT_NON_OPTION over resolve_btfids'
 * options, then the one-object check. `argv` excludes the program name.
 */
export function parseResolveBtfidsArgs(argv: readonly string[]): ParsedCommandLine {
  const p = new OptionParser(argv);
  let rest: string[];
  try {
    rest = p.run();
  } catch (e: unknown) {
    if (e instanceof Stop) return { ok: false, exitCode: e.exitCode, stderr: e.stderr, stdout: e.stdout };
    throw e;
  }
  if (rest.length !== 1) return { ok: false, exitCode: RESOLVE_BTFIDS_EXIT_USAGE, stderr: usageText(undefined), stdout: '' };
  return { ok: true, args: { ...p.args, object: rest[0] as string } };
}

export interface ResolveBtfidsIo {
  /** Receives everything resolve_btfids would print on stderr (each piece ends in "\n"). */
  stderr(text: string): void;
  stdout(text: string): void;
}

const processIo: ResolveBtfidsIo = {
  stderr: (t) => { process.stderr.write(t); },
  stdout: (t) => { process.stdout.write(t); },
};

function errnoName(err: unknown): string {
  return typeof err === 'object' && err !== null && 'code' in err && typeof err.code === 'string' ? err.code : 'EIO';
}

/**
 * Run resolve_btfids on `argv` (arguments after the command name). Returns the exit
 * status; all output goes through `io`.
 */
export async function runResolveBtfids(argv: readonly string[], io: ResolveBtfidsIo = processIo): Promise<number> {
  const parsed = parseResolveBtfidsArgs(argv);
  if (!parsed.ok) {
    if (parsed.stdout) io.stdout(parsed.stdout);
    if (parsed.stderr) io.stderr(parsed.stderr);
    return parsed.exitCode;
  }
  const a = parsed.args;
  const [fs, btfids, elfMod, compress, atomic] = await Promise.all([
    import('node:fs/promises'),
    import('../../lib/btfids/index.js'),
    import('../../lib/elf/index.js'),
    import('../../lib/module/compress.js'),
    import('../../lib/objcopy/atomic.js'),
  ]);
  type Diagnostic = import('../../lib/btfids/index.js').Diagnostic;
  const { msg, strerror } = { msg: btfids.btfIdsMessages, strerror: btfids.strerror };

  let out = '';
  // modbtf's own diagnostics stay quiet (stderr is resolve_btfids'), except the warning
  // that set8 flags could not be matched to their functions again.
  const shown = (d: Diagnostic): boolean => d.extension !== true || d.code === 'BTFIDS_SET8_FLAGS_LOST';
  const emit = (ds: readonly Diagnostic[]): void => {
    for (const d of ds) {
      if (!shown(d)) continue;
      if (d.level === 'debug' && (d.verbosity ?? 1) > a.verbose) continue;
      out += `${d.message}\n`;
    }
  };
  const finish = (code: number, line?: string): number => {
    if (line !== undefined && line !== '') out += `${line}\n`;
    if (out) io.stderr(out);
    return code;
  };
  const failWith = (e: unknown): number => {
    if (e instanceof btfids.BtfIdsError) {
      emit(e.diagnostics);
      return finish(RESOLVE_BTFIDS_EXIT_FAILED, e.stderrText);
    }
    throw e;
  };

  // open(O_RDWR)
  let bytes: Uint8Array;
  try {
    const fh = await fs.open(a.object, 'r+');
    try {
      bytes = new Uint8Array(await fh.readFile());
    } finally {
      await fh.close();
    }
  } catch (err: unknown) {
    return finish(RESOLVE_BTFIDS_EXIT_FAILED, msg.cannotOpen(a.object, strerror(errnoName(err))));
  }

  // elf_begin / elf_collect
  const outcome = btfids.libelfOutcome(bytes, a.verbose);
  if (outcome.kind === 'nothing-to-do') {
    emit(outcome.diagnostics);
    return finish(RESOLVE_BTFIDS_EXIT_OK);
  }
  if (outcome.kind === 'error') {
    emit(outcome.diagnostics);
    return finish(RESOLVE_BTFIDS_EXIT_FAILED, outcome.stderrText);
  }
  let elf: import('../../lib/elf/index.js').ElfFile;
  try {
    elf = elfMod.parseElf(bytes, { file: a.object });
  } catch (err: unknown) {
    const why = err instanceof Error ? err.message : String(err);
    return finish(RESOLVE_BTFIDS_EXIT_FAILED, msg.cannotCreateElf(`invalid ELF file data (${why})`));
  }

  // resolve_btfids patches the file a symlink points at; replace that file, not the link.
  const writeObject = async (image: Uint8Array): Promise<void> => {
    await atomic.writeFileAtomic(await fs.realpath(a.object), image);
  };

  let scan: import('../../lib/btfids/index.js').BtfIdsScan;
  try {
    scan = btfids.scanBtfIds(elf, { verbose: a.verbose });
  } catch (e: unknown) {
    return failWith(e);
  }
  if (scan.layout === undefined) {
    emit(scan.diagnostics);
    const image = btfids.alignmentFixImage(elf, scan.alignmentFixes);
    if (image !== undefined) {
      try {
        await writeObject(image);
      } catch (err: unknown) {
        return finish(RESOLVE_BTFIDS_EXIT_FAILED, `FAILED ${err instanceof Error ? err.message : String(err)}`);
      }
    }
    return finish(RESOLVE_BTFIDS_EXIT_OK);
  }

  // symbols_resolve: base BTF (-b, dropped when the object has .BTF.base), then the BTF.
  const readInput = async (path: string): Promise<Uint8Array | { errno: string }> => {
    try {
      const raw = new Uint8Array(await fs.readFile(path));
      const kind = compress.detectCompression(raw);
      return kind === 'none' ? raw : await compress.decompress(raw, kind, { file: path });
    } catch (err: unknown) {
      const code = errnoName(err);
      // libbpf fopen()s a directory fine and then fails to read it.
      return { errno: code === 'EISDIR' ? 'EIO' : code };
    }
  };
  let base: import('../../lib/btf/btf.js').Btf | undefined;
  if (a.base !== undefined && !scan.hasBtfBase) {
    const input = await readInput(a.base);
    const r = input instanceof Uint8Array ? btfids.libbpfParseFile(input, a.base, undefined) : { ok: false as const, lines: [], errno: input.errno };
    if (!r.ok) {
      emit(scan.diagnostics);
      for (const l of r.lines) out += `${l}\n`;
      return finish(RESOLVE_BTFIDS_EXIT_FAILED, msg.loadBaseBtf(a.base, strerror(r.errno)));
    }
    base = r.btf;
  }
  const btfPath = a.btf ?? a.object;
  let loaded: import('../../lib/btfids/index.js').LibbpfLoad;
  if (a.btf !== undefined) {
    const input = await readInput(a.btf);
    loaded = input instanceof Uint8Array ? btfids.libbpfParseFile(input, a.btf, base) : { ok: false, lines: [], errno: input.errno };
  } else {
    loaded = btfids.libbpfParseFile(bytes, a.object, base, elf);
  }
  if (!loaded.ok) {
    emit(scan.diagnostics);
    for (const l of loaded.lines) out += `${l}\n`;
    return finish(RESOLVE_BTFIDS_EXIT_FAILED, msg.loadBtf(btfPath, strerror(loaded.errno)));
  }

  let result: import('../../lib/btfids/index.js').ResolveResult;
  try {
    result = btfids.resolveScanned(elf, scan, loaded.btf, { verbose: a.verbose });
  } catch (e: unknown) {
    return failWith(e);
  }
  emit(result.diagnostics);
  const section = result.section;
  let image: Uint8Array;
  try {
    image = btfids.elfUpdateImage(elf, section === undefined ? [] : [{ section, bytes: result.sectionBytes }], result.alignmentFixes);
  } catch (e: unknown) {
    if (e instanceof btfids.BtfIdsError) {
      out += `${e.stderrText}\n`;
      if (a.verbose >= 1) out += `${msg.updateFailed(a.object)}\n`;
      return finish(RESOLVE_BTFIDS_EXIT_FAILED);
    }
    throw e;
  }
  if (!sameBytes(image, bytes)) {
    try {
      await writeObject(image);
    } catch (err: unknown) {
      return finish(RESOLVE_BTFIDS_EXIT_FAILED, `FAILED ${err instanceof Error ? err.message : String(err)}`);
    }
  }
  if (a.verbose >= 1) out += `${msg.updateOk(a.object)}\n`;
  const warned = result.diagnostics.some((d) => d.level === 'warning' && shown(d));
  return finish(a.fatalWarnings && warned ? RESOLVE_BTFIDS_EXIT_FAILED : RESOLVE_BTFIDS_EXIT_OK);
}

function sameBytes(x: Uint8Array, y: Uint8Array): boolean {
  if (x.length !== y.length) return false;
  for (let i = 0; i < x.length; i++) if (x[i] !== y[i]) return false;
  return true;
}

/**
 * The arguments after `resolve-btfids` on the real command line (yargs is bypassed:
 * the option syntax is subcmd's, not yargs').
 */
export function rawResolveBtfidsArgs(processArgv: readonly string[] = process.argv): string[] {
  const args = processArgv.slice(2);
  const at = args.indexOf('resolve-btfids');
  return at < 0 ? [] : args.slice(at + 1);
}

export const resolveBtfidsCommand: CommandModule<object, object> = {
  command: 'resolve-btfids',
  describe: 'Drop-in for kbuild\'s resolve_btfids (6.12): resolve .BTF_ids of an object in place; usage: resolve-btfids [-v] [-b BASE] [--btf FILE] [--fatal_warnings] OBJECT',
  builder: (y: Argv) =>
    y
      .help(false)
      .version(false)
      .strict(false)
      .parserConfiguration({ 'unknown-options-as-args': true, 'halt-at-non-option': true }) as unknown as Argv<object>,
  handler: async () => {
    process.exitCode = await runResolveBtfids(rawResolveBtfidsArgs());
  },
};
