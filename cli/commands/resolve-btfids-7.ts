/**
 * `modbtf resolve-btfids` as kernel 7.x's resolve_btfids (7.2.13 or 7.3, the pipeline of
 * OBJECT's kernel: resolve-btfids-choice.ts), which gen-btf.sh runs twice per module:
 *
 *   resolve_btfids [--distill_base] [--verbose] [--fatal_warnings] --btf_base vmlinux --btf X.ko.BTF.1 X.ko
 *     reads X.ko's `.BTF_ids` and symbols and the BTF pahole wrote, and writes the raw
 *     files X.ko.BTF, X.ko.BTF.base (with --distill_base) and X.ko.BTF_ids (when X.ko has
 *     `.BTF_ids` and a symbol table); X.ko itself is not changed;
 *   resolve_btfids --patch_btfids X.ko.BTF_ids X.ko
 *     copies the blob into X.ko's `.BTF_ids` (same size required), through libelf.
 *
 * Same stderr texts and exit statuses (0; 255 on failure; 129 usage). As in 7.2,
 * --fatal_warnings does not change the exit status (main.c overwrites the error with the
 * result of writing the files before testing it). Different on purpose, and only for
 * input kbuild never gives it: an object whose `.BTF_ids` was resolved before (a
 * shipped module) is first put back into its pristine layout, so set8 flags stay with
 * their kfuncs (the tool pairs them with other kfuncs' flags), and a kfunc btf2btf
 * already rewrote is not given yet another prototype. Files are written atomically
 * (temporary file + rename), and --patch_btfids leaves the object untouched when it fails.
 */
import { RESOLVE_BTFIDS_EXIT_FAILED, RESOLVE_BTFIDS_EXIT_OK, type ResolveBtfidsArgs } from './resolve-btfids-options.js';
import { ToolStderr, errnoName, readBtfInput, readObject, type ResolveBtfidsIo } from './resolve-btfids-io.js';
import { bytesEqual } from '../../lib/bytes.js';
import type { ProfileName } from '../../lib/pipeline/profile.js';

export async function runResolveBtfids7(a: ResolveBtfidsArgs, io: ResolveBtfidsIo, forced?: ProfileName): Promise<number> {
  const [fs, btfids, elfMod, atomic, k7, { moduleKernelRelease }, { sevenProfile }] = await Promise.all([
    import('node:fs/promises'),
    import('../../lib/btfids/index.js'),
    import('../../lib/elf/index.js'),
    import('../../lib/objcopy/atomic.js'),
    import('../../lib/pipeline/kernel7.js'),
    import('../../lib/module/modinfo.js'),
    import('./resolve-btfids-choice.js'),
  ]);
  const { msg, strerror } = { msg: btfids.btfIdsMessages, strerror: btfids.strerror };

  const out = new ToolStderr(io, a.verbose);
  const line = (s: string): void => out.line(s);
  const emit = (ds: readonly import('../../lib/btfids/index.js').Diagnostic[]): void => out.emit(ds);
  const finish = (code: number, last?: string): number => out.finish(code, last);
  const failWith = (e: unknown): number => {
    if (e instanceof btfids.BtfIdsError) {
      emit(e.diagnostics);
      return finish(RESOLVE_BTFIDS_EXIT_FAILED, e.stderrText);
    }
    throw e;
  };

  if (a.patchBtfids !== undefined) return patchBtfids(a, a.patchBtfids);

  // elf_collect: open(O_RDWR), libelf.
  const opened = await readObject(a.object);
  if (!(opened instanceof Uint8Array)) return finish(RESOLVE_BTFIDS_EXIT_FAILED, msg.cannotOpen(a.object, strerror(opened.errno)));
  const bytes = opened;
  const outcome = btfids.libelfOutcome(bytes, a.verbose);
  if (outcome.kind === 'error') {
    emit(outcome.diagnostics);
    return finish(RESOLVE_BTFIDS_EXIT_FAILED, outcome.stderrText);
  }
  let elf: import('../../lib/elf/index.js').ElfFile | undefined;
  let scan: import('../../lib/btfids/index.js').BtfIdsScan;
  if (outcome.kind === 'nothing-to-do') {
    // No section table libelf can read: no .BTF_ids, no symbols; the BTF is still written.
    scan = { layout: undefined, hasBtfBase: false, alignmentFixes: [], diagnostics: a.verbose >= 1 ? [{ level: 'debug', code: 'BTFIDS_NOTHING_TO_DO', message: msg.skipResolution(), verbosity: 1 }] : [] };
  } else {
    try {
      elf = elfMod.parseElf(bytes, { file: a.object });
    } catch (err: unknown) {
      const why = err instanceof Error ? err.message : String(err);
      return finish(RESOLVE_BTFIDS_EXIT_FAILED, msg.cannotCreateElf(`invalid ELF file data (${why})`));
    }
    try {
      scan = btfids.scanBtfIds(elf, { verbose: a.verbose, abi: 7 });
    } catch (e: unknown) {
      return failWith(e);
    }
  }
  // Whose bytes: the pipeline of the object's kernel (nothing is written when it is none modbtf knows).
  const profile = sevenProfile(a.object, elf !== undefined ? moduleKernelRelease(elf) : undefined, forced);
  if ('refuse' in profile) return finish(RESOLVE_BTFIDS_EXIT_FAILED, profile.refuse);
  emit(scan.diagnostics);

  // load_btf: btf__parse(base), btf__parse_split(btf ?: object, base).
  const load = async (path: string, over: import('../../lib/btf/btf.js').Btf | undefined, own?: Uint8Array): Promise<import('../../lib/btfids/index.js').LibbpfLoad> => {
    const input = own ?? (await readBtfInput(path));
    if (!(input instanceof Uint8Array)) return { ok: false, lines: [], errno: input.errno };
    return btfids.libbpfParseFile(input, path, over, own !== undefined ? elf : undefined, { abi: 7 });
  };
  let base: import('../../lib/btf/btf.js').Btf | undefined;
  if (a.base !== undefined) {
    const r = await load(a.base, undefined);
    if (!r.ok) {
      for (const l of r.lines) line(l);
      return finish(RESOLVE_BTFIDS_EXIT_FAILED, msg.loadBaseBtf(a.base, strerror(r.errno)));
    }
    base = r.btf;
  }
  const btfPath = a.btf ?? a.object;
  const loaded = await load(btfPath, base, a.btf === undefined ? bytes : undefined);
  if (!loaded.ok) {
    for (const l of loaded.lines) line(l);
    return finish(RESOLVE_BTFIDS_EXIT_FAILED, msg.loadBtf(btfPath, strerror(loaded.errno)));
  }

  // btf2btf, finalize_btf, symbols_resolve, symbols_patch.
  let result: import('../../lib/pipeline/kernel7.js').Kernel7Result;
  try {
    result = k7.kernel7Btf(elf, scan, loaded.btf, base, { profile, distill: a.distillBase, verbose: a.verbose, rerunSafe: true });
  } catch (e: unknown) {
    return failWith(e);
  }
  emit(result.diagnostics);

  // dump_raw_btf_ids, dump_raw_btf (X.BTF, then X.BTF.base).
  const dump = async (suffix: string, data: Uint8Array): Promise<boolean> => {
    const path = `${a.object}${suffix}`;
    try {
      // resolve_btfids writes these with fopen/fwrite: atomic here, not fsynced.
      await atomic.writeFileAtomic(path, data, { durable: false });
    } catch {
      line(`Couldn't open ${path} for writing`);
      return false;
    }
    if (a.verbose >= 1) line(msg.dumped(data.length, path));
    return true;
  };
  if (scan.layout !== undefined) {
    if (scan.layout.size === 0 || result.btfIds === undefined) {
      // libelf hands out no buffer for an empty section.
      if (a.verbose >= 1) line(msg.noBtfIdsToDump(a.object));
    } else {
      if (!scan.layout.littleEndian && a.verbose >= 1) line(msg.bswapDump());
      if (!(await dump('.BTF_ids', result.btfIds))) return finish(RESOLVE_BTFIDS_EXIT_FAILED);
    }
  }
  if (!(await dump('.BTF', result.btf))) return finish(RESOLVE_BTFIDS_EXIT_FAILED);
  if (result.btfBase !== undefined && !(await dump('.BTF.base', result.btfBase))) return finish(RESOLVE_BTFIDS_EXIT_FAILED);
  return finish(RESOLVE_BTFIDS_EXIT_OK);

  /** patch_btfids(): the blob into the first `.BTF_ids` section, through libelf's elf_update. */
  async function patchBtfids(args: ResolveBtfidsArgs, blobPath: string): Promise<number> {
    const opened = await readObject(args.object);
    if (!(opened instanceof Uint8Array)) return finish(RESOLVE_BTFIDS_EXIT_FAILED, `FAILED to open ${args.object}: ${strerror(opened.errno)}`);
    const obj = opened;
    const o = btfids.libelfOutcome(obj, 0);
    if (o.kind === 'error') return finish(RESOLVE_BTFIDS_EXIT_FAILED, o.stderrText);
    let target: import('../../lib/elf/index.js').ElfFile | undefined;
    if (o.kind === 'ok') {
      try {
        target = elfMod.parseElf(obj, { file: args.object });
      } catch (err: unknown) {
        const why = err instanceof Error ? err.message : String(err);
        return finish(RESOLVE_BTFIDS_EXIT_FAILED, msg.cannotCreateElf(`invalid ELF file data (${why})`));
      }
    }
    const section = target?.sections.find((s) => s.index !== 0 && s.name === '.BTF_ids');
    if (target === undefined || section === undefined) return finish(RESOLVE_BTFIDS_EXIT_FAILED, `FAILED: section .BTF_ids not found in ${args.object}`);
    let blob: Uint8Array;
    try {
      const st = await fs.stat(blobPath);
      if (st.size !== section.size) {
        return finish(RESOLVE_BTFIDS_EXIT_FAILED, `FAILED: size mismatch - .BTF_ids section in ${args.object} is ${section.size} bytes, ${blobPath} is ${st.size} bytes`);
      }
    } catch (err: unknown) {
      return finish(RESOLVE_BTFIDS_EXIT_FAILED, `FAILED to stat ${blobPath}: ${strerror(errnoName(err))}`);
    }
    try {
      blob = new Uint8Array(await fs.readFile(blobPath));
    } catch (err: unknown) {
      return finish(RESOLVE_BTFIDS_EXIT_FAILED, `FAILED to open ${blobPath}: ${strerror(errnoName(err))}`);
    }
    if (blob.length !== section.size) return finish(RESOLVE_BTFIDS_EXIT_FAILED, `FAILED to read ${blobPath}`);
    if (args.verbose >= 1) line(`Copying data from ${blobPath} to .BTF_ids section of ${args.object} (${section.size} bytes)`);
    let image: Uint8Array;
    try {
      image = btfids.elfUpdateImage(target, [{ section, bytes: blob }]);
    } catch (e: unknown) {
      if (e instanceof btfids.BtfIdsError) return finish(RESOLVE_BTFIDS_EXIT_FAILED, `FAILED to update ELF file ${args.object}`);
      throw e;
    }
    try {
      if (!bytesEqual(image, obj)) await atomic.writeFileAtomic(await fs.realpath(args.object), image, { durable: false });
    } catch {
      return finish(RESOLVE_BTFIDS_EXIT_FAILED, `FAILED to update ELF file ${args.object}`);
    }
    return finish(RESOLVE_BTFIDS_EXIT_OK);
  }
}
