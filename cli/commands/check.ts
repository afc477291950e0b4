import type { Argv, CommandModule } from 'yargs';
import { runCommand, EXIT_OK, EXIT_FOUND_PROBLEMS, EXIT_INPUT, EXIT_TOOL } from '../exit.js';
import { writeOut } from '../output.js';
import { Progress, defaultJobs } from '../progress.js';
import { STDIN_ARG } from '../stdin.js';
import { baseOption, kernelOption, once } from '../vocabulary.js';
import { plural } from '../plural.js';

interface CheckArgs {
  modules: string[];
  kernel: string;
  base: string | undefined;
  json: boolean;
  jobs: number;
  verbose: boolean;
}

export const checkCommand: CommandModule<object, CheckArgs> = {
  command: 'check <modules..>',
  describe: 'Say whether each module\'s BTF will relocate onto (survive on) a kernel',
  builder: (y: Argv) =>
    kernelOption(baseOption(y.positional('modules', { type: 'string', array: true, demandOption: true, describe: 'modules (.ko[.xz|.zst|.gz]), directories to search, or - for a list on stdin' }),
      { more: 'needed for modules without .BTF.base' }), { demand: true, more: 'the one to check the modules on' })
      .option('json', { type: 'boolean', default: false, describe: 'one JSON document on stdout' })
      .option('jobs', { alias: 'j', type: 'number', default: defaultJobs(), describe: 'threads working at once, this one included (default: the number of cores)' })
      .check((a) => (Number.isInteger(a.jobs) && (a.jobs as number) >= 1 ? once(a, 'base', 'kernel') : '-j/--jobs takes a whole number of at least 1'))
      .example('$0 check -k 6.12.117+deb12-amd64 /lib/modules/6.12.107+deb12-amd64/updates', 'DKMS modules on the next kernel')
      .example('$0 check -b $(uname -r) -k 6.12.117+deb12-amd64 mymod.ko', 'a module without .BTF.base, built for the running kernel')
      .epilog('Exit status: 0 every module keeps its BTF; 1 some lose it; 2 usage or input errors; 3 xz/zstd missing or killed.\nWith several modules only those that lose BTF are listed (all with -v), then a summary grouped by cause.') as unknown as Argv<CheckArgs>,
  handler: (argv) =>
    runCommand(argv.verbose, async () => {
      const [{ checkFiles, groupByCause }, { expandModulePaths, readPathList }, { resolveKernelBtfPath }] = await Promise.all([
        import('../../lib/module/check-report.js'),
        import('../../lib/module/walk.js'),
        import('../../lib/module/kernel.js'),
      ]);
      const kernelPath = await resolveKernelBtfPath(argv.kernel);
      const builtWithPath = argv.base !== undefined ? await resolveKernelBtfPath(argv.base) : undefined;
      const inputs = argv.modules.includes(STDIN_ARG) ? [...argv.modules.filter((m) => m !== STDIN_ARG), ...(await readPathList(process.stdin))] : argv.modules;
      if (inputs.length === 0) {
        // Only a list on stdin can be empty (the command line needs one argument).
        process.stderr.write('modbtf: note: the list on stdin names no module; nothing checked\n');
        return EXIT_OK;
      }
      const files = await expandModulePaths(inputs);
      const reports: Awaited<ReturnType<typeof import('../../lib/module/check-report.js').checkOne>>[] = new Array(files.length);
      const progress = new Progress(files.length, 'checking');
      let done = 0;
      const abort = new AbortController();
      const onSigint = (): void => abort.abort();
      process.once('SIGINT', onSigint);
      try {
        await checkFiles(files, {
          kernelPath,
          ...(builtWithPath !== undefined ? { builtWithPath } : {}),
          jobs: argv.jobs,
          signal: abort.signal,
          onResult: (r, i) => { reports[i] = r; progress.tick(++done); },
        });
      } finally {
        progress.done();
        process.off('SIGINT', onSigint);
      }
      const all = reports.filter((r) => r !== undefined);
      const ok = all.filter((r) => r.status === 'ok').length;
      const lose = all.filter((r) => r.status === 'loses-btf').length;
      const errors = all.filter((r) => r.status === 'error').length;
      const groups = groupByCause(all);
      if (argv.json) {
        await writeOut(`${JSON.stringify({ kernel: kernelPath, summary: { modules: files.length, checked: all.length, ok, losesBtf: lose, errors }, causes: Object.fromEntries(groups), modules: all }, null, 2)}\n`);
      } else {
        const lines: string[] = [];
        for (const r of all) {
          const ids = r.idsNotRelocated ?? [];
          for (const w of r.warnings ?? []) process.stderr.write(`modbtf: warning: ${r.file}: ${w}\n`);
          if (r.retargeted === 'other-kernel') {
            lines.push(`${r.file}: LOSES its BTF on this kernel: it was retargeted to another kernel (plain split BTF, no .BTF.base); \`modbtf retarget --kernel ...\` moves it here`);
          } else if (r.status === 'ok') {
            // Over a tree, only the modules that need attention are listed (all with -v).
            const how = r.retargeted === 'this-kernel' ? 'retargeted to exactly this kernel' : `${r.distilledTypes ?? 0} distilled base types match`;
            if (files.length === 1 || argv.verbose || ids.length > 0) lines.push(`${r.file}: keeps its BTF (${how})`);
            if (ids.length > 0) lines.push(`  note: .BTF_ids entries the kernel does not relocate (BTF_ID_LIST/BTF_SET) will name other types on this kernel: ${ids.join(', ')}; \`modbtf retarget --kernel ...\` rewrites them for it`);
          } else if (r.status === 'loses-btf') {
            lines.push(`${r.file}: LOSES its BTF on this kernel:`, ...r.failures.map((f) => `  - ${f.message}`), `  kernel log: ${r.kernelMessage ?? ''}`);
          } else {
            process.stderr.write(`modbtf: ${r.error?.text ?? r.file}\n`);
          }
        }
        if (groups.length > 0 && files.length > 1) {
          lines.push('', 'Modules that lose BTF, by cause:');
          for (const [cause, mods] of groups) lines.push(`  ${cause}: ${mods.length} module${mods.length === 1 ? '' : 's'}`, ...mods.map((m) => `      ${m}`));
        }
        const interrupted = all.length < files.length ? ` (interrupted after ${all.length})` : '';
        lines.push(`${files.length} module${files.length === 1 ? '' : 's'} checked against ${kernelPath}${interrupted}: ${ok} keep BTF, ${lose} lose BTF, ${plural(errors, 'error')}`);
        await writeOut(`${lines.join('\n')}\n`);
      }
      if (all.length < files.length) return 130;
      if (all.some((r) => r.error?.name === 'ToolError')) return EXIT_TOOL;
      return errors > 0 ? EXIT_INPUT : lose > 0 ? EXIT_FOUND_PROBLEMS : EXIT_OK;
    }),
};
