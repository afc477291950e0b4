/**
 * `modbtf resolve-btfids`: a drop-in for kbuild's $(RESOLVE_BTFIDS), as either tool:
 *  - Debian's 6.12 resolve_btfids, `[-v] [-b BASE] [--btf FILE] [--fatal_warnings] OBJECT`,
 *    which patches OBJECT's .BTF_ids (this file);
 *  - kernel 7.x's (7.2.13), which writes OBJECT.BTF/.BTF.base/.BTF_ids and has
 *    `--distill_base` and `--patch_btfids` (resolve-btfids-7.ts).
 * 7.x is chosen by a 7.x-only option, by OBJECT's vermagic (>= 7.0), or by
 * MODBTF_KERNEL_ABI=7; 6.12 otherwise. Same arguments, stderr texts, exit statuses (0 ok,
 * 255 failure, 129 usage) and output bytes as the tool; see lib/btfids and lib/pipeline.
 *
 * The rest of this comment is about the 6.12 interface.
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

import {
  OPTIONS_6, OPTIONS_7, RESOLVE_BTFIDS_EXIT_FAILED, RESOLVE_BTFIDS_EXIT_OK, RESOLVE_BTFIDS_EXIT_USAGE, helpText, parseResolveBtfidsArgs,
} from './resolve-btfids-options.js';
import { ToolStderr, readBtfInput, readObject, type ResolveBtfidsIo } from './resolve-btfids-io.js';
import { bytesEqual } from '../../lib/bytes.js';

export type { ResolveBtfidsIo } from './resolve-btfids-io.js';

/**
 * Which resolve_btfids to be: MODBTF_KERNEL_ABI=6|7 when set; 7 when the command line
 * uses an option only 7.x has; otherwise the kernel the object was built for (the first
 * word of its vermagic). An object without one (vmlinux) gets 6.12's behaviour unless
 * MODBTF_KERNEL_ABI says otherwise.
 */
async function commandLineAbi(argv: readonly string[], env: Readonly<Record<string, string | undefined>>): Promise<6 | 7> {
  const { parseKernelAbi, abiOfRelease } = await import('../../lib/pipeline/profile.js');
  const forced = env['MODBTF_KERNEL_ABI'];
  if (forced !== undefined && forced !== '') return parseKernelAbi(forced) ?? 6;
  const as7 = parseResolveBtfidsArgs(argv, OPTIONS_7);
  if (as7.ok && (as7.args.distillBase || as7.args.patchBtfids !== undefined)) return 7;
  // Also when the line is not complete (`--distill_base --help`): an option only 7.x has.
  if (sevenOnlyOption(argv)) return 7;
  const parsed = parseResolveBtfidsArgs(argv, OPTIONS_6);
  if (!parsed.ok) return 6;
  try {
    const [{ readFile }, { parseElf }, { moduleKernelRelease }] = await Promise.all([
      import('node:fs/promises'), import('../../lib/elf/index.js'), import('../../lib/module/modinfo.js'),
    ]);
    const elf = parseElf(new Uint8Array(await readFile(parsed.args.object)));
    const release = moduleKernelRelease(elf);
    return release !== undefined ? abiOfRelease(release) ?? 6 : 6;
  } catch {
    return 6;
  }
}

/** An option (or unambiguous abbreviation) that only 7.x's resolve_btfids has, before the object. */
function sevenOnlyOption(argv: readonly string[]): boolean {
  for (const a of argv) {
    if (a === '--' || !a.startsWith('-')) return false;
    const body = a.startsWith('--') ? (a.slice(2).split('=')[0] ?? '') : '';
    if (body !== '' && ['distill_base', 'patch_btfids'].some((o) => o.startsWith(body))) return true;
  }
  return false;
}

/** What a help request prints after the tool's own usage block (which stays byte for byte). */
function helpNote(abi: 6 | 7): string {
  const other = abi === 7 ? OPTIONS_6 : OPTIONS_7;
  return `${abi === 7 ? ' (above: kernel 7.x\'s interface; kernel 6.12\'s:)\n' : ' (above: kernel 6.12\'s interface; kernel 7.x\'s:)\n'}${helpText(other)}`
    + ` modbtf resolve-btfids is both tools, with their options, messages, exit statuses and output:
   6.12 (Debian 12): resolves OBJECT's .BTF_ids in place;
   7.x (7.0 and later): writes OBJECT.BTF, OBJECT.BTF.base (--distill_base) and OBJECT.BTF_ids,
        or patches a .BTF_ids blob into OBJECT (--patch_btfids).
 It is 7.x when the line has --distill_base or --patch_btfids, or OBJECT's vermagic names a
 7.x kernel; 6.12 otherwise. MODBTF_KERNEL_ABI=6 or 7 forces one.
`;
}

export { parseResolveBtfidsArgs } from './resolve-btfids-options.js';

const processIo: ResolveBtfidsIo = {
  stderr: (t) => { process.stderr.write(t); },
  stdout: (t) => { process.stdout.write(t); },
};

export async function runResolveBtfids(argv: readonly string[], io: ResolveBtfidsIo = processIo, env: Readonly<Record<string, string | undefined>> = process.env): Promise<number> {
  const abi = await commandLineAbi(argv, env);
  const parsed = parseResolveBtfidsArgs(argv, abi === 7 ? OPTIONS_7 : OPTIONS_6);
  if (!parsed.ok) {
    if (parsed.stdout) io.stdout(parsed.stdout);
    if (parsed.stderr) io.stderr(parsed.stderr);
    // A help request (usage without an error line): both interfaces and how one is chosen.
    // With MODBTF_KERNEL_ABI set it is exactly that tool, help included.
    const forced = (env['MODBTF_KERNEL_ABI'] ?? '') !== '';
    const help = !forced && argv.some((a) => a === '-h' || a === '--help' || a === '--help-all');
    if (help && parsed.exitCode === RESOLVE_BTFIDS_EXIT_USAGE && !parsed.stderr.includes(' Error:')) io.stderr(helpNote(abi));
    return parsed.exitCode;
  }
  const a = parsed.args;
  if (abi === 7) {
    const { runResolveBtfids7 } = await import('./resolve-btfids-7.js');
    return runResolveBtfids7(a, io);
  }
  const [fs, btfids, elfMod, atomic] = await Promise.all([
    import('node:fs/promises'),
    import('../../lib/btfids/index.js'),
    import('../../lib/elf/index.js'),
    import('../../lib/objcopy/atomic.js'),
  ]);
  type Diagnostic = import('../../lib/btfids/index.js').Diagnostic;
  const { msg, strerror } = { msg: btfids.btfIdsMessages, strerror: btfids.strerror };

  // modbtf's own diagnostics stay quiet (stderr is resolve_btfids'), except the warning
  // that set8 flags could not be matched to their functions again.
  const shown = (d: Diagnostic): boolean => d.extension !== true || d.code === 'BTFIDS_SET8_FLAGS_LOST';
  const out = new ToolStderr(io, a.verbose, shown);
  const emit = (ds: readonly Diagnostic[]): void => out.emit(ds);
  const finish = (code: number, line?: string): number => out.finish(code, line);
  const failWith = (e: unknown): number => {
    if (e instanceof btfids.BtfIdsError) {
      emit(e.diagnostics);
      return finish(RESOLVE_BTFIDS_EXIT_FAILED, e.stderrText);
    }
    throw e;
  };

  // open(O_RDWR)
  const opened = await readObject(a.object);
  if (!(opened instanceof Uint8Array)) return finish(RESOLVE_BTFIDS_EXIT_FAILED, msg.cannotOpen(a.object, strerror(opened.errno)));
  const bytes = opened;

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
    // resolve_btfids updates the object in place without fsync; atomic here, not durable.
    await atomic.writeFileAtomic(await fs.realpath(a.object), image, { durable: false });
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
  const readInput = readBtfInput;
  let base: import('../../lib/btf/btf.js').Btf | undefined;
  if (a.base !== undefined && !scan.hasBtfBase) {
    const input = await readInput(a.base);
    const r = input instanceof Uint8Array ? btfids.libbpfParseFile(input, a.base, undefined) : { ok: false as const, lines: [], errno: input.errno };
    if (!r.ok) {
      emit(scan.diagnostics);
      for (const l of r.lines) out.line(l);
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
    for (const l of loaded.lines) out.line(l);
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
      out.line(e.stderrText);
      if (a.verbose >= 1) out.line(msg.updateFailed(a.object));
      return finish(RESOLVE_BTFIDS_EXIT_FAILED);
    }
    throw e;
  }
  if (!bytesEqual(image, bytes)) {
    try {
      await writeObject(image);
    } catch (err: unknown) {
      return finish(RESOLVE_BTFIDS_EXIT_FAILED, `FAILED ${err instanceof Error ? err.message : String(err)}`);
    }
  }
  if (a.verbose >= 1) out.line(msg.updateOk(a.object));
  const warned = result.diagnostics.some((d) => d.level === 'warning' && shown(d));
  return finish(a.fatalWarnings && warned ? RESOLVE_BTFIDS_EXIT_FAILED : RESOLVE_BTFIDS_EXIT_OK);
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
  describe: 'Drop-in for kbuild\'s resolve_btfids, 6.12\'s (resolve .BTF_ids in place: [-v] [-b BASE] [--btf FILE] OBJECT) or 7.x\'s ([--distill_base] --btf_base B --btf F OBJECT writes OBJECT.BTF/.BTF.base/.BTF_ids; --patch_btfids BLOB OBJECT), chosen by the options and OBJECT\'s vermagic (MODBTF_KERNEL_ABI=6|7 forces it)',
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
