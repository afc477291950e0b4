/**
 * `modbtf resolve-btfids`: a drop-in for kbuild's $(RESOLVE_BTFIDS), as any of the tools:
 *  - Debian's 6.12 resolve_btfids, `[-v] [-b BASE] [--btf FILE] [--fatal_warnings] OBJECT`,
 *    which patches OBJECT's .BTF_ids (this file);
 *  - kernel 7.x's (7.2.13, 7.3), which writes OBJECT.BTF/.BTF.base/.BTF_ids and has
 *    `--distill_base` and `--patch_btfids` (resolve-btfids-7.ts).
 * Which one: resolve-btfids-choice.ts (options, OBJECT's vermagic, MODBTF_KERNEL_ABI; a
 * kernel newer than every pipeline is refused). Same arguments, stderr texts, exit statuses
 * (0 ok, 255 failure, 129 usage) and output bytes as the tool; see lib/btfids and lib/pipeline.
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

export { parseResolveBtfidsArgs } from './resolve-btfids-options.js';

/** What a help request prints after the tool's own usage block (which stays byte for byte): the other interface's block, then how one is chosen. */
function helpNote(abi: 6 | 7, choiceHelp: string): string {
  const other = abi === 7 ? OPTIONS_6 : OPTIONS_7;
  return `${abi === 7 ? ' (above: kernel 7.x\'s interface; kernel 6.12\'s:)\n' : ' (above: kernel 6.12\'s interface; kernel 7.x\'s:)\n'}${helpText(other)}${choiceHelp}`;
}

const processIo: ResolveBtfidsIo = {
  stderr: (t) => { process.stderr.write(t); },
  stdout: (t) => { process.stdout.write(t); },
};

export async function runResolveBtfids(argv: readonly string[], io: ResolveBtfidsIo = processIo, env: Readonly<Record<string, string | undefined>> = process.env): Promise<number> {
  const { chooseInterface, INTERFACE_CHOICE_HELP } = await import('./resolve-btfids-choice.js');
  const choice = await chooseInterface(argv, env);
  if ('refuse' in choice) {
    io.stderr(`${choice.refuse}\n`);
    return RESOLVE_BTFIDS_EXIT_FAILED;
  }
  const abi = choice.abi;
  const parsed = parseResolveBtfidsArgs(argv, abi === 7 ? OPTIONS_7 : OPTIONS_6);
  if (!parsed.ok) {
    if (parsed.stdout) io.stdout(parsed.stdout);
    if (parsed.stderr) io.stderr(parsed.stderr);
    // A help request (the usage block without an error line, exactly the tool's): then the
    // other interface and how modbtf chooses which tool to be. With MODBTF_KERNEL_ABI set,
    // exactly that tool.
    const forced = (env['MODBTF_KERNEL_ABI'] ?? '') !== '';
    const help = !forced && argv.some((a) => a === '-h' || a === '--help' || a === '--help-all');
    if (help && parsed.exitCode === RESOLVE_BTFIDS_EXIT_USAGE && !parsed.stderr.includes(' Error:')) io.stderr(helpNote(abi, INTERFACE_CHOICE_HELP));
    return parsed.exitCode;
  }
  const a = parsed.args;
  if ('abi' in choice && choice.abi === 7) {
    if (choice.forced === undefined) {
      const { newerObject, treeResolveBtfids } = await import('./resolve-btfids-choice.js');
      const newer = await newerObject(a.object);
      if (newer !== undefined) {
        const own = ['1', 'y', 'yes', 'true'].includes((env['MODBTF_STRICT'] ?? '').trim().toLowerCase()) ? undefined : await treeResolveBtfids(env, a.base);
        const what = newer.what;
        if (own === undefined) {
          io.stderr(`FAILED modbtf: ${what}. Run that kernel's own tools/bpf/resolve_btfids, or set MODBTF_KERNEL_ABI=${newer.newest.name} to force the newest\n`);
          return RESOLVE_BTFIDS_EXIT_FAILED;
        }
        io.stderr(`modbtf: warning: ${what}: running the tree's own ${own}\n`);
        return runTool(own, argv, io);
      }
    }
    const { runResolveBtfids7 } = await import('./resolve-btfids-7.js');
    return runResolveBtfids7(a, io, choice.forced);
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

/** Runs a tool with these arguments, its output passed on; its exit status (128 + signal number when killed). */
async function runTool(file: string, argv: readonly string[], io: ResolveBtfidsIo): Promise<number> {
  const [{ spawn }, { constants }] = await Promise.all([import('node:child_process'), import('node:os')]);
  return new Promise((resolve) => {
    const child = spawn(file, [...argv], { stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout.on('data', (c: Buffer) => io.stdout(c.toString('utf8')));
    child.stderr.on('data', (c: Buffer) => io.stderr(c.toString('utf8')));
    child.on('error', (err) => { io.stderr(`FAILED modbtf: cannot run ${file}: ${err.message}\n`); resolve(RESOLVE_BTFIDS_EXIT_FAILED); });
    child.on('close', (code, signal) => resolve(code ?? 128 + ((signal !== null ? constants.signals[signal] : undefined) ?? 0)));
  });
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
  describe: 'Drop-in for kbuild\'s resolve_btfids, 6.12\'s (resolve .BTF_ids in place: [-v] [-b BASE] [--btf FILE] OBJECT), 7.2\'s or 7.3\'s ([--distill_base] --btf_base B --btf F OBJECT writes OBJECT.BTF/.BTF.base/.BTF_ids; --patch_btfids BLOB OBJECT), chosen by the options and OBJECT\'s vermagic (MODBTF_KERNEL_ABI=6|7.2|7.3 forces it; a kernel newer than 7.3 is refused); `modbtf resolve-btfids --help` says more',
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
