import type { Argv, CommandModule } from 'yargs';
import { runCommand, EXIT_OK, EXIT_FOUND_PROBLEMS, EXIT_INPUT, formatError } from '../exit.js';
import { writeOut } from '../output.js';
import { printDiagnostics } from '../diagnostics.js';

interface FinalizeArgs {
  modules: string[];
  base: string | undefined;
  distill: boolean | undefined;
  objcopy: string | undefined;
  stripSignature: boolean;
  dryRun: boolean;
  fatalWarnings: boolean;
  json: boolean;
  verbose: boolean;
}

export const finalizeCommand: CommandModule<object, FinalizeArgs> = {
  command: 'finalize <modules..>',
  describe: 'Make modules\' BTF final and durable: distill .BTF.base, resolve .BTF_ids, rewrite in place',
  builder: (y: Argv) =>
    y
      .positional('modules', { type: 'string', array: true, demandOption: true, describe: 'modules (.ko[.xz|.zst|.gz]) or directories' })
      .option('base', { alias: ['b', 'btf-base', 'btf_base'], type: 'string', describe: 'vmlinux the modules were built against (default: from the module\'s vermagic, e.g. /usr/src/linux-headers-<release>/vmlinux)' })
      .option('distill', { type: 'boolean', describe: 'write a distilled base (.BTF.base); default on, off with BTF_BASE_REF=0; --no-distill only resolves .BTF_ids' })
      .option('objcopy', { type: 'string', describe: 'objcopy to run (default: $LLVM_OBJCOPY, $OBJCOPY, llvm-objcopy, objcopy)' })
      .option('strip-signature', { type: 'boolean', default: false, describe: 'finalize signed modules, dropping the signature (sign again afterwards)' })
      .option('dry-run', { alias: 'n', type: 'boolean', default: false, describe: 'compute and verify everything, write nothing' })
      .option('fatal-warnings', { alias: 'fatal_warnings', type: 'boolean', default: false, describe: 'exit 1 when there are warnings (kbuild CONFIG_WERROR)' })
      .option('json', { type: 'boolean', default: false, describe: 'per-module report as JSON' })
      .example('$0 finalize -b /usr/src/linux-headers-6.12.107+deb12-amd64/vmlinux mymod.ko', 'distill and resolve in place')
      .example('$0 finalize --no-distill -b vmlinux mymod.ko', 'what kbuild\'s resolve_btfids step does')
      .epilog('The file is replaced atomically and only when the whole rewrite succeeded; running it again changes nothing.\nExit status: 0 done; 1 warnings with --fatal-warnings; 2 input errors (nothing written for that module); 3 objcopy/xz/zstd missing or failed.') as unknown as Argv<FinalizeArgs>,
  handler: (argv) =>
    runCommand(argv.verbose, async () => {
      const [{ finalizeLoaded }, { loadBaseBtf }, { expandModulePaths }, { resolveKernelBtfPath }, { locateObjcopy }, { loadModuleFile }, { moduleKernelRelease }, { isModbtfError }] = await Promise.all([
        import('../../lib/module/finalize.js'),
        import('../../lib/module/btf-file.js'),
        import('../../lib/module/walk.js'),
        import('../../lib/module/kernel.js'),
        import('../../lib/objcopy/locate.js'),
        import('../../lib/module/load.js'),
        import('../../lib/module/modinfo.js'),
        import('../../lib/errors.js'),
      ]);
      const distill = argv.distill ?? process.env['BTF_BASE_REF'] !== '0';
      const files = await expandModulePaths(argv.modules);
      let objcopyTool: Promise<Awaited<ReturnType<typeof locateObjcopy>>> | undefined;
      const objcopy = (): ReturnType<typeof locateObjcopy> => (objcopyTool ??= locateObjcopy(argv.objcopy !== undefined ? { command: argv.objcopy } : {}));
      const bases = new Map<string, Awaited<ReturnType<typeof loadBaseBtf>>>();
      const baseFor = async (mod: Awaited<ReturnType<typeof loadModuleFile>>): Promise<Awaited<ReturnType<typeof loadBaseBtf>>> => {
        const file = mod.path;
        let path = argv.base;
        if (path === undefined) {
          const rel = moduleKernelRelease(mod.elf);
          if (rel === undefined) throw new (await import('../../lib/errors.js')).ModuleError('MODULE_NO_VERMAGIC', 'no vermagic in .modinfo to find its kernel: pass --base VMLINUX', { file });
          path = await resolveKernelBtfPath(rel);
        }
        let b = bases.get(path);
        if (!b) { b = await loadBaseBtf(path); bases.set(path, b); }
        return b;
      };
      let errors = 0, warnings = 0, written = 0;
      const reports: unknown[] = [];
      // MODBTF_TIMING=1: where a run spends its time (startup = process start to here).
      const timing = process.env['MODBTF_TIMING'] === '1';
      if (timing) process.stderr.write(`timing: startup ${performance.now().toFixed(1)} ms\n`);
      for (const file of files) {
        try {
          let t = performance.now();
          const mod = await loadModuleFile(file);
          const tLoad = performance.now() - t;
          t = performance.now();
          const vmlinux = await baseFor(mod);
          const tBase = performance.now() - t;
          const r = await finalizeLoaded(mod, { vmlinux, distill, objcopy, stripSignature: argv.stripSignature, dryRun: argv.dryRun });
          if (timing) {
            const phases = Object.entries(r.timings).map(([k, v]) => `${k} ${v.toFixed(1)}`).join(', ');
            process.stderr.write(`timing: ${file}: load ${tLoad.toFixed(1)}, vmlinux ${tBase.toFixed(1)}, ${phases} ms\n`);
          }
          const warns = r.diagnostics.filter((d) => d.level === 'warning');
          warnings += warns.length;
          if (r.action !== 'unchanged') written++;
          if (argv.json) reports.push({ ...r, diagnostics: r.diagnostics.filter((d) => d.level !== 'debug') });
          else {
            printDiagnostics(r.diagnostics, file);
            const what = r.action === 'unchanged' ? 'already final' : r.action === 'would-write' ? 'would be rewritten' : 'finalized';
            const btf = r.btf === 'distilled' ? `distilled base ${r.distilledBaseSize ?? 0} bytes` : r.btf === 'had-base' ? 'kept its .BTF.base' : 'BTF over vmlinux (not distilled)';
            await writeOut(`${file}: ${what} (${btf}; ${r.sizeBefore} -> ${r.sizeAfter} bytes)\n`);
          }
        } catch (err: unknown) {
          errors++;
          if (argv.json) reports.push({ file, error: isModbtfError(err) ? err.toJSON() : String(err) });
          else process.stderr.write(`${formatError(err, argv.verbose)}\n`);
          if (isModbtfError(err) && err.name === 'ToolError' && files.length === 1) throw err;
        }
      }
      if (argv.json) await writeOut(`${JSON.stringify({ summary: { modules: files.length, rewritten: written, errors, warnings }, modules: reports }, null, 2)}\n`);
      else if (files.length > 1) await writeOut(`${files.length} modules: ${written} ${argv.dryRun ? 'would be rewritten' : 'rewritten'}, ${files.length - written - errors} already final, ${errors} errors, ${warnings} warnings\n`);
      if (errors > 0) return EXIT_INPUT;
      return argv.fatalWarnings && warnings > 0 ? EXIT_FOUND_PROBLEMS : EXIT_OK;
    }),
};
