import type { Argv, CommandModule } from 'yargs';
import { runCommand, EXIT_OK, EXIT_FOUND_PROBLEMS, EXIT_INPUT } from '../exit.js';
import { writeOut } from '../output.js';
import { formatError } from '../exit.js';

interface CheckArgs {
  modules: string[];
  kernel: string;
  builtWith: string | undefined;
  json: boolean;
  verbose: boolean;
}

export const checkCommand: CommandModule<object, CheckArgs> = {
  command: 'check <modules..>',
  describe: 'Say whether each module\'s BTF will relocate onto (survive on) a kernel',
  builder: (y: Argv) =>
    y
      .positional('modules', { type: 'string', array: true, demandOption: true, describe: 'modules (.ko[.xz|.zst|.gz]) or directories to search' })
      .option('kernel', { alias: 'k', type: 'string', demandOption: true, describe: 'target kernel: vmlinux ELF, raw BTF (/sys/kernel/btf/vmlinux) or a release (6.12.117+deb12-amd64)' })
      .option('built-with', { type: 'string', describe: 'vmlinux the modules were built against; needed for modules without .BTF.base' })
      .option('json', { type: 'boolean', default: false, describe: 'one JSON document on stdout' })
      .example('$0 check --kernel 6.12.117+deb12-amd64 /lib/modules/6.12.107+deb12-amd64/updates', 'DKMS modules on the next kernel')
      .example('$0 check --built-with /usr/src/linux-headers-$(uname -r)/vmlinux --kernel /sys/kernel/btf/vmlinux mymod.ko', 'a module without .BTF.base')
      .epilog('Exit status: 0 every module keeps its BTF; 1 some lose it; 2 usage or input errors.') as unknown as Argv<CheckArgs>,
  handler: (argv) =>
    runCommand(argv.verbose, async () => {
      const [{ loadBaseBtf }, { checkModule, loadModuleBtf }, { relocationTarget }, { expandModulePaths }, { resolveKernelBtfPath }] = await Promise.all([
        import('../../lib/module/btf-file.js'),
        import('../../lib/module/check.js'),
        import('../../lib/relocate/index.js'),
        import('../../lib/module/walk.js'),
        import('../../lib/module/kernel.js'),
      ]);
      const kernelPath = await resolveKernelBtfPath(argv.kernel);
      const target = relocationTarget(await loadBaseBtf(kernelPath));
      const builtWith = argv.builtWith !== undefined ? await loadBaseBtf(argv.builtWith) : undefined;
      const files = await expandModulePaths(argv.modules);
      const results: Record<string, unknown>[] = [];
      let ok = 0, lose = 0, errors = 0;
      for (const file of files) {
        try {
          const loaded = await loadModuleBtf(file, builtWith);
          const r = checkModule(loaded, target, builtWith ? { builtWith } : {});
          if (r.status === 'ok') ok++; else lose++;
          if (argv.json) {
            results.push({ file, status: r.status, hadDistilledBase: r.hadDistilledBase, distilledTypes: r.distilledTypes, kernelMessage: r.kernelMessage ?? null, failures: r.failures.map((f) => f.toJSON()) });
          } else if (r.status === 'ok') {
            // Over a tree, only the modules that need attention are listed (all with -v).
            if (files.length === 1 || argv.verbose) await writeOut(`${file}: keeps its BTF (${r.distilledTypes} distilled base types match)\n`);
          } else {
            const lines = r.failures.map((f) => `  - ${f.message}`);
            await writeOut(`${file}: LOSES its BTF on this kernel:\n${lines.join('\n')}\n  kernel log: ${r.kernelMessage ?? ''}\n`);
          }
        } catch (err: unknown) {
          errors++;
          if (argv.json) results.push({ file, status: 'error', error: (err as { toJSON?: () => unknown }).toJSON?.() ?? String(err) });
          else process.stderr.write(`${formatError(err, argv.verbose)}\n`);
        }
      }
      if (argv.json) {
        await writeOut(`${JSON.stringify({ kernel: kernelPath, summary: { modules: files.length, ok, losesBtf: lose, errors }, modules: results }, null, 2)}\n`);
      } else {
        await writeOut(`${files.length} modules checked against ${kernelPath}: ${ok} keep BTF, ${lose} lose BTF, ${errors} errors\n`);
      }
      return errors > 0 ? EXIT_INPUT : lose > 0 ? EXIT_FOUND_PROBLEMS : EXIT_OK;
    }),
};
