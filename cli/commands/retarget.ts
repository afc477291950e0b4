import type { Argv, CommandModule } from 'yargs';
import { KERNEL_ABI_CHOICES } from '../../lib/pipeline/profile.js';
import { runCommand, EXIT_OK, EXIT_FOUND_PROBLEMS, EXIT_INPUT, EXIT_TOOL, formatError } from '../exit.js';
import { writeOut } from '../output.js';
import { printDiagnostics } from '../diagnostics.js';
import { baseOption, kernelOption, once } from '../vocabulary.js';
import { plural } from '../plural.js';

interface RetargetArgs {
  modules: string[];
  kernel: string;
  base: string | undefined;
  objcopy: string | undefined;
  stripSignature: boolean;
  dryRun: boolean;
  kernelAbi: string | undefined;
  json: boolean;
  verbose: boolean;
}

export const retargetCommand: CommandModule<object, RetargetArgs> = {
  command: 'retarget <modules..>',
  describe: 'Rewrite modules\' BTF as plain split BTF over one kernel\'s vmlinux (for kernels before 6.11), .BTF_ids resolved against it',
  builder: (y: Argv) =>
    kernelOption(baseOption(y.positional('modules', { type: 'string', array: true, demandOption: true, describe: 'modules (.ko[.xz|.zst|.gz]) or directories' }),
      { more: 'needed for modules without .BTF.base (distilled first)' }), { demand: true, more: 'the one the modules\' BTF is rewritten for' })
      .option('objcopy', { type: 'string', describe: 'objcopy to run (default: $LLVM_OBJCOPY, $OBJCOPY, llvm-objcopy, objcopy)' })
      .option('strip-signature', { type: 'boolean', default: false, describe: 'retarget signed modules, dropping the signature (sign again afterwards)' })
      .option('dry-run', { alias: 'n', type: 'boolean', default: false, describe: 'compute and verify everything, write nothing' })
      .option('kernel-abi', { type: 'string', choices: KERNEL_ABI_CHOICES, describe: 'for modules without .BTF.base: distill as this kernel pipeline does (6: libbpf btf__distill_base; 7.2 or 7: resolve_btfids 7.0-7.2 --distill_base, name-sorted; 7.3: resolve_btfids 7.3, with its kfunc tags and btf__dedup); default: from each module\'s vermagic (a kernel newer than 7.3: refused)' })
      .option('json', { type: 'boolean', default: false, describe: 'per-module report as JSON' })
      .check((a) => once(a, 'base', 'kernel'))
      .example('$0 retarget -k 6.12.117+deb12-amd64 mymod.ko', 'make a finalized module\'s BTF final for that kernel')
      .epilog('.BTF becomes the module\'s BTF relocated onto the kernel (as the kernel would relocate it at load), .BTF.base is removed, and the distilled base, split and .BTF_ids are kept in .BTF.base.modbtf, .BTF.modbtf and .BTF_ids.modbtf, which the kernel ignores, so the module can be retargeted again. A module whose BTF does not relocate is left untouched.\nExit status: 0 done; 1 relocation fails for some module (every reason listed, nothing written for it); 2 input errors; 3 objcopy/xz/zstd missing or failed.') as unknown as Argv<RetargetArgs>,
  handler: (argv) =>
    runCommand(argv.verbose, async () => {
      const [{ retargetLoaded }, { vermagicMismatch }, { expandModulePaths }, { loadKernelBtf, resolveKernelBtfPath }, { objcopyChooser }, { loadModuleFile }, { relocationTarget }, { isModbtfError }] = await Promise.all([
        import('../../lib/module/retarget.js'),
        import('../../lib/module/built-against.js'),
        import('../../lib/module/walk.js'),
        import('../../lib/module/kernel.js'),
        import('../../lib/objcopy/locate.js'),
        import('../../lib/module/load.js'),
        import('../../lib/relocate/index.js'),
        import('../../lib/errors.js'),
      ]);
      const kernelPath = await resolveKernelBtfPath(argv.kernel);
      const target = relocationTarget(await loadKernelBtf(kernelPath));
      const builtWith = argv.base !== undefined ? await loadKernelBtf(argv.base) : undefined;
      const files = await expandModulePaths(argv.modules);
      const { pipelineProfile, parseKernelAbi } = await import('../../lib/pipeline/profile.js');
      const forced = argv.kernelAbi !== undefined ? parseKernelAbi(argv.kernelAbi) : undefined;
      const profile = forced !== undefined ? pipelineProfile(forced) : undefined;
      const objcopy = objcopyChooser(argv.objcopy !== undefined ? { command: argv.objcopy } : {});
      let errors = 0, toolErrors = 0, refused = 0, written = 0;
      const reports: unknown[] = [];
      for (const file of files) {
        try {
          const mod = await loadModuleFile(file);
          const r = await retargetLoaded(mod, { target, ...(builtWith ? { builtWith } : {}), objcopy, stripSignature: argv.stripSignature, dryRun: argv.dryRun, ...(profile ? { profile } : {}) });
          if (r.action === 'refused') refused++;
          else if (r.action !== 'unchanged') written++;
          if (argv.json) {
            reports.push({ ...r, failure: r.failure?.toJSON(), diagnostics: r.diagnostics.filter((d) => d.level !== 'debug') });
            continue;
          }
          if (r.failure) {
            process.stderr.write(`modbtf: ${file}: relocation onto ${kernelPath} fails, module left untouched:\n`);
            for (const f of r.failure.failures) process.stderr.write(`  - ${f.message}\n`);
            process.stderr.write(`  kernel log: ${r.failure.first?.libbpfMessage.replace(/^libbpf: /, '') ?? ''}\n`);
            continue;
          }
          const mismatch = r.source === 'distilled' && builtWith ? vermagicMismatch(mod.elf, builtWith) : undefined;
          if (mismatch !== undefined) process.stderr.write(`modbtf: warning: ${file}: ${mismatch}\n`);
          printDiagnostics(r.diagnostics, file);
          for (const c of r.correctedIds) {
            process.stderr.write(`${file}: ${c.kind} ${c.name} in .BTF_ids is now ${c.id}; with .BTF.base alone the kernel would keep ${c.distilledId} (not relocated at load)\n`);
          }
          const what = r.action === 'unchanged' ? 'already retargeted' : r.action === 'would-write' ? 'would be retargeted' : 'retargeted';
          const from = r.source === 'kept' ? 'from the kept distilled BTF' : r.source === 'distilled' ? 'distilled first' : 'from .BTF.base';
          await writeOut(`${file}: ${what} onto ${kernelPath} (${from}; ${r.sizeBefore} -> ${r.sizeAfter} bytes)\n`);
        } catch (err: unknown) {
          errors++;
          if (isModbtfError(err) && err.name === 'ToolError') toolErrors++;
          // Said once, here; the exit status says which kind of failure it was.
          if (argv.json) reports.push({ file, error: isModbtfError(err) ? err.toJSON() : String(err) });
          else process.stderr.write(`${formatError(err, argv.verbose)}\n`);
        }
      }
      if (argv.json) await writeOut(`${JSON.stringify({ summary: { modules: files.length, rewritten: written, refused, errors }, modules: reports }, null, 2)}\n`);
      else if (files.length > 1) await writeOut(`${files.length} modules: ${written} ${argv.dryRun ? 'would be retargeted' : 'retargeted'}, ${files.length - written - refused - errors} already retargeted, ${refused} do not relocate, ${plural(errors, 'error')}\n`);
      if (toolErrors > 0) return EXIT_TOOL;
      if (errors > 0) return EXIT_INPUT;
      return refused > 0 ? EXIT_FOUND_PROBLEMS : EXIT_OK;
    }),
};
