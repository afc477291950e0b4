/**
 * `modbtf pahole`: a drop-in for kbuild's $(PAHOLE) on modules, speaking pahole 1.32's command
 * line (parsed by hand as argp parses it: pahole-options.ts) and writing pahole's bytes
 * (lib/encode, then libbpf 1.7.0's dedup as the pahole Debian ships loads it).
 *
 *   pahole -J [-j[N]] [--btf_features=LIST]... [--lang_exclude=rust] --btf_base VMLINUX
 *          [--btf_encode_detached=FILE] MODULE
 *
 * Detached: the deduplicated split BTF goes to FILE (what gen-btf.sh of 7.x trees asks for).
 * In place (6.x Makefile.modfinal): FILE.btf is written and `$LLVM_OBJCOPY --add-section
 * .BTF=MODULE.btf MODULE` (llvm-objcopy by default) adds it, as pahole's btf_encoder__write_elf
 * does; with distilled_base, .BTF is the distilled split and .BTF.base the distilled base.
 *
 * Exit statuses are pahole's: 0 (also when the file has no DWARF, or cannot be read: pahole
 * writes nothing then), 1 encoding or output failure, 64 a usage error. What pahole does and
 * modbtf does not (anything but -J on a module: class printing, vmlinux encoding without
 * --btf_base) is refused with a `modbtf pahole:` message and status 64 (an option) or 1.
 * MODBTF_DEDUP=fixed deduplicates like the libbpf kernel 7.3 carries instead of 1.7.0.
 */
import { parsePaholeArgs, type ParsedOption } from '../../lib/encode/pahole-argv.js';
import { errnoOf } from '../../lib/errors.js';

export interface PaholeIo {
  stdout(text: string): void;
  stderr(text: string): void;
  env: Readonly<Record<string, string | undefined>>;
}

const EXIT_USAGE = 64;

const EXIT_FAILURE = 1;

const processIo: PaholeIo = {
  stdout: (t) => process.stdout.write(t),
  stderr: (t) => process.stderr.write(t),
  env: process.env,
};

const USAGE = `Usage: pahole [OPTION...] FILE
modbtf pahole: pahole 1.32's BTF encoding of kernel modules (-J, --btf_base, --btf_encode_detached,
--btf_features, --lang_exclude, -j); see modbtf's README.
`;

export async function runPahole(argv: readonly string[], io: PaholeIo = processIo): Promise<number> {
  const parsed = parsePaholeArgs(argv);
  if (!parsed.ok) {
    io.stderr(parsed.message);
    return EXIT_USAGE;
  }
  const { FeatureParser, supportedFeatures, parseLanguages } = await import('../../lib/encode/index.js');
  const fp = new FeatureParser();
  let encode = false;
  let detached: string | undefined;
  let baseFile: string | undefined;
  let languages: { ids: ReadonlySet<number>; exclude: boolean } | undefined;
  let languagesStr: { str: string; exclude: boolean } | undefined;
  let verbose = false;
  for (const { option, value, spelled } of parsed.options as ParsedOption[]) {
    if (!option.supported) {
      io.stderr(`modbtf pahole: ${spelled}: pahole's option '--${option.name}' is not implemented (modbtf pahole only encodes module BTF: -J --btf_base VMLINUX MODULE)\n`);
      return EXIT_USAGE;
    }
    switch (option.name) {
      case 'help': case 'usage':
        io.stdout(USAGE);
        return 0;
      case 'version':
        io.stdout('v1.32\n');
        return 0;
      case 'numeric_version':
        io.stdout('132\n');
        return 0;
      case 'supported_btf_features':
        io.stdout(`${supportedFeatures()}\n`);
        return 0;
      case 'btf_encode_detached':
        detached = value;
        encode = true;
        break;
      case 'btf_encode':
        encode = true;
        break;
      case 'btf_base': baseFile = value; break;
      case 'jobs': break; // threads only: pahole encodes CUs in file order whatever -j says
      case 'verbose': verbose = true; break;
      case 'quiet': break;
      case 'format_path':
        if (value !== 'dwarf') {
          io.stderr(`modbtf pahole: -F ${value ?? ''}: only DWARF is encoded (-F dwarf)\n`);
          return EXIT_USAGE;
        }
        break;
      case 'hashbits':
        if (Number.parseInt(value ?? '0', 10) > 31) {
          io.stderr(`Invalid --hashbits value (${value ?? ''}) should be less than 32\n`);
          return EXIT_FAILURE;
        }
        break;
      case 'lang': languagesStr = { str: value ?? '', exclude: false }; break;
      case 'lang_exclude': languagesStr = { str: value ?? '', exclude: true }; break;
      case 'btf_features': fp.btfFeatures(value ?? ''); break;
      case 'btf_features_strict': {
        const unknown = fp.btfFeatures(value ?? '', true);
        if (unknown !== undefined) {
          io.stderr(`Feature '${unknown}' in '${value ?? ''}' is not supported.  Supported BTF features are:\n${supportedFeatures()}\n`);
          return EXIT_FAILURE;
        }
        break;
      }
      default:
        fp.flag(option.name);
    }
  }
  if (languagesStr !== undefined) {
    const l = parseLanguages(languagesStr.str);
    if ('unknown' in l) {
      io.stderr(`pahole: unknown language "${l.unknown}"\n`);
      return EXIT_FAILURE;
    }
    languages = { ids: l.ids, exclude: languagesStr.exclude };
  }
  if (!encode) {
    io.stderr('modbtf pahole: only BTF encoding (-J or --btf_encode_detached=FILE) is implemented\n');
    return EXIT_USAGE;
  }
  if (baseFile === undefined) {
    io.stderr('modbtf pahole: encoding without --btf_base (vmlinux itself) is not implemented: modbtf encodes modules, as split BTF over the vmlinux given with --btf_base\n');
    return EXIT_FAILURE;
  }
  const file = parsed.operands[0];
  if (file === undefined) {
    io.stderr('modbtf pahole: no module given (pahole would look for the running kernel\'s vmlinux, which modbtf does not encode)\n');
    return EXIT_FAILURE;
  }
  if (parsed.operands.length > 1) {
    io.stderr(`modbtf pahole: ${parsed.operands.length} files given; one module at a time is encoded\n`);
    return EXIT_FAILURE;
  }
  return encodeOne({ file, baseFile, detached, features: fp.features, languages, verbose, io });
}

interface EncodeJob {
  file: string;
  baseFile: string;
  detached: string | undefined;
  features: import('../../lib/encode/index.js').EncodeFeatures;
  languages: { ids: ReadonlySet<number>; exclude: boolean } | undefined;
  verbose: boolean;
  io: PaholeIo;
}

/**
 * Modules at least this large (bytes of the file: unstripped, nearly all DWARF) are encoded
 * in a worker thread sized for them (lib/module encode-isolate.ts): peak RSS, not time, is
 * what a large module costs a parallel build, and a worker's start (~50 ms) is noise there.
 */
const ISOLATE_FROM = 16 << 20;

async function encodeOne(job: EncodeJob): Promise<number> {
  const { io } = job;
  const [isolate, enc, { isModbtfError }, { statSync }] = await Promise.all([
    import('../../lib/module/encode-isolate.js'), import('../../lib/encode/index.js'), import('../../lib/errors.js'), import('node:fs'),
  ]);
  const typesJob = { module: job.file, basePath: job.baseFile, features: job.features, ...(job.languages !== undefined ? { languages: job.languages } : {}) };
  let size = 0;
  try {
    size = statSync(job.file).size;
  } catch {
    // Unreadable: the stages below say so, as pahole would.
  }
  let stage: import('../../lib/module/encode-isolate.js').TypesStage | undefined;
  // MODBTF_ENCODE_ISOLATE: 1 always, 0 never, else by size.
  const mode = io.env['MODBTF_ENCODE_ISOLATE'];
  if (mode === '1' || (mode !== '0' && size >= ISOLATE_FROM)) {
    const got = await isolate.encodeTypesInIsolate(typesJob, { moduleBytes: size });
    if ('lost' in got) {
      if (job.verbose) io.stderr(`modbtf pahole: ${job.file}: ${got.lost}; encoding in this thread\n`);
    } else {
      stage = got;
    }
  }
  stage ??= await isolate.encodeTypesStage(typesJob);
  const baseFailed = (err: unknown): number => {
    // libbpf's btf__parse error (-errno), as pahole prints it; the reason itself with -V.
    const code = errnoOf(err);
    const errno = code === 'ENOENT' ? -2 : code === 'EACCES' ? -13 : code === 'EISDIR' ? -21 : -22;
    io.stderr(`Failed to parse base BTF '${job.baseFile}': ${errno}\n`);
    if (job.verbose) io.stderr(`modbtf pahole: ${isModbtfError(err) ? err.describe() : String(err)}\n`);
    return EXIT_FAILURE;
  };
  const encodeFailed = (err: unknown): number => {
    io.stderr(`${isModbtfError(err) ? `modbtf pahole: ${err.describe()}` : `modbtf pahole: internal error: ${err instanceof Error ? err.stack ?? err.message : String(err)}`}\nError while encoding BTF.\n`);
    return EXIT_FAILURE;
  };
  switch (stage.stage) {
    case 'base-failed': return baseFailed(stage.error);
    case 'open-failed': {
      // pahole -J on a file it cannot load writes nothing, says nothing and exits 0 (-V: why).
      if (job.verbose) {
        const err = stage.error;
        const why = isModbtfError(err) ? err.describe() : `${job.file}: ${(err as { code?: string }).code ?? String(err)}`;
        io.stderr(`modbtf pahole: ${why}: nothing encoded (pahole exits 0 on files it cannot load)\n`);
      }
      return 0;
    }
    case 'no-dwarf': return 0;
    case 'encode-failed': return encodeFailed(stage.error);
    case 'encoded': break;
  }
  let base = stage.base;
  if (base === undefined) {
    // Encoded in a worker: the vmlinux BTF is parsed here now that the worker's heap is gone.
    const { loadBaseBtf } = await import('../../lib/module/btf-file.js');
    try {
      base = await loadBaseBtf(job.baseFile);
    } catch (err: unknown) {
      return baseFailed(err);
    }
  }
  const dedup = job.io.env['MODBTF_DEDUP'] === 'fixed' ? 'fixed' : '1.7.0';
  let result;
  try {
    result = enc.dedupEncodedTypes(stage.types, base, { features: job.features, dedup }, job.file);
  } catch (err: unknown) {
    return encodeFailed(err);
  }
  if (job.verbose) for (const line of result.skipped) io.stdout(`${line}\n`);
  if (result.bytes === undefined) return 0;
  if (job.detached !== undefined) return writeDetached(job.detached, result.bytes, io);
  return writeInPlace(job, stage.hasBtf, base, result.bytes);
}

/** btf_encoder__write_raw_file: open(O_WRONLY|O_CREAT|O_TRUNC, 0640), here through a temp file. */
async function writeDetached(path: string, bytes: Uint8Array, io: PaholeIo): Promise<number> {
  const { writeFileAtomic } = await import('../../lib/objcopy/atomic.js');
  const { statSync } = await import('node:fs');
  let mode: number;
  try {
    mode = statSync(path).mode & 0o7777;
  } catch {
    const mask = process.umask();
    mode = 0o640 & ~mask;
  }
  try {
    await writeFileAtomic(path, bytes, { mode, durable: false });
  } catch (err: unknown) {
    const code = errnoOf(err);
    const text: Record<string, string> = { ENOENT: 'No such file or directory', EACCES: 'Permission denied', EISDIR: 'Is a directory', EROFS: 'Read-only file system', ENOSPC: 'No space left on device' };
    io.stderr(`btf_encoder__write_raw_file: Couldn't open ${path} for writing the raw BTF info: ${(code !== undefined ? text[code] : undefined) ?? (err instanceof Error ? err.message : String(err))}\nFailed to encode BTF\n`);
    return EXIT_FAILURE;
  }
  return 0;
}

/**
 * btf_encoder__write_elf without an existing .BTF: FILE.btf, then
 * `$LLVM_OBJCOPY --add-section SECTION=FILE.btf FILE` through the shell, as pahole's system().
 */
async function writeInPlace(job: EncodeJob, hasBtf: boolean, base: import('../../lib/btf/btf.js').Btf, btfBytes: Uint8Array): Promise<number> {
  const { io, file } = job;
  if (hasBtf) {
    io.stderr(`modbtf pahole: ${file} already has a .BTF section; pahole rewrites it with libelf, which modbtf does not do (remove it first, or use --btf_encode_detached)\nFailed to encode BTF\n`);
    return EXIT_FAILURE;
  }
  const sections: [string, Uint8Array][] = [];
  if (job.features.distilledBase) {
    const [{ Btf }, { distill }] = await Promise.all([import('../../lib/btf/btf.js'), import('../../lib/distill/index.js')]);
    const split = Btf.parse(btfBytes, { base, file, section: '.BTF' });
    const d = distill(base, split);
    sections.push(['.BTF', d.split], ['.BTF.base', d.base]);
  } else {
    sections.push(['.BTF', btfBytes]);
  }
  const { writeFileSync, unlinkSync } = await import('node:fs');
  const { spawnSync } = await import('node:child_process');
  const objcopy = io.env['LLVM_OBJCOPY'] ?? 'llvm-objcopy';
  for (const [name, bytes] of sections) {
    const tmp = `${file}.btf`;
    try {
      writeFileSync(tmp, bytes, { mode: 0o600 });
    } catch (err: unknown) {
      io.stderr(`btf_encoder__write_elf: open(${tmp}) failed! ${err instanceof Error ? err.message : String(err)}\nFailed to encode BTF\n`);
      return EXIT_FAILURE;
    }
    const cmd = `${objcopy} --add-section ${name}=${tmp} ${file}`;
    const r = spawnSync('/bin/sh', ['-c', cmd], { stdio: ['ignore', 'inherit', 'inherit'], env: io.env as NodeJS.ProcessEnv });
    try {
      unlinkSync(tmp);
    } catch {
      // pahole ignores unlink failures too
    }
    if (r.status !== 0) {
      io.stderr(`btf_encoder__write_elf: failed to add ${name} section to '${file}': ${r.status ?? r.signal ?? 'error'}!\nFailed to encode BTF\n`);
      return EXIT_FAILURE;
    }
  }
  return 0;
}

/** The yargs entry, for `modbtf --help` (the command itself always takes the fast path in main.ts). */
export const paholeCommand: import('yargs').CommandModule<object, object> = {
  command: 'pahole',
  describe: 'Drop-in for kbuild\'s $(PAHOLE) on modules: pahole 1.32\'s -J --btf_base VMLINUX [--btf_encode_detached=FILE] [--btf_features=...] [--lang_exclude=rust] [-j] MODULE, same bytes, same exit statuses (0, 1, 64); --version prints v1.32',
  builder: (y) => y.help(false).version(false).strict(false).parserConfiguration({ 'unknown-options-as-args': true, 'halt-at-non-option': true }),
  handler: async () => {
    const i = process.argv.indexOf('pahole');
    process.exitCode = await runPahole(i < 0 ? [] : process.argv.slice(i + 1));
  },
};
