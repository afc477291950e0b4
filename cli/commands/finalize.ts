import type { Argv, CommandModule } from 'yargs';
import { runCommand, EXIT_OK, EXIT_FOUND_PROBLEMS, EXIT_INPUT, EXIT_TOOL } from '../exit.js';
import { writeOut } from '../output.js';
import { printDiagnostics } from '../diagnostics.js';
import { Progress, defaultJobs } from '../progress.js';
import { STDIN_ARG } from '../stdin.js';
import type { FinalizeReport } from '../../lib/module/finalize-batch.js';
import { baseOption, kernelOption, once } from '../vocabulary.js';
import { plural } from '../plural.js';
import { KERNEL_ABI_CHOICES, parseKernelAbi } from '../../lib/pipeline/profile.js';

interface FinalizeArgs {
  modules: string[];
  base: string | undefined;
  distill: boolean | undefined;
  objcopy: string | undefined;
  stripSignature: boolean;
  dryRun: boolean;
  fatalWarnings: boolean;
  kernel: string | undefined;
  kernelAbi: string | undefined;
  json: boolean;
  jobs: number;
  verbose: boolean;
}

const EXIT_INTERRUPTED = 130;

function describeResult(r: FinalizeReport): string {
  const what = r.status === 'unchanged' ? 'already final' : r.status === 'would-write' ? 'would be rewritten' : 'finalized';
  const btf = r.btf === 'distilled' ? `distilled base ${r.distilledBaseSize ?? 0} bytes` : r.btf === 'had-base' ? 'kept its .BTF.base' : 'BTF over vmlinux (not distilled)';
  let line = `${r.file}: ${what} (${btf}; ${r.sizeBefore ?? 0} -> ${r.sizeAfter ?? 0} bytes)`;
  const rel = r.relocation;
  if (rel) {
    if (rel.status === 'ok') line += `; keeps its BTF on the -k/--kernel kernel`;
    else if (rel.status === 'loses-btf') line += `\n  LOSES its BTF on the -k/--kernel kernel:\n${rel.failures.map((f) => `  - ${f.message}`).join('\n')}`;
    else line += `\n  relocation check failed: ${rel.error?.text ?? ''}`;
  }
  return line;
}

export const finalizeCommand: CommandModule<object, FinalizeArgs> = {
  command: 'finalize <modules..>',
  describe: 'Make modules\' BTF final and durable: distill .BTF.base, resolve .BTF_ids, rewrite in place',
  builder: (y: Argv) =>
    kernelOption(baseOption(y.positional('modules', { type: 'string', array: true, demandOption: true, describe: 'modules (.ko[.xz|.zst|.gz]), directories to search, or - for a list on stdin' }),
      { more: 'default: each module\'s vermagic names it' }), { aliases: ['check-kernel'], more: 'also predict whether each finalized module keeps its BTF there' })
      .option('distill', { type: 'boolean', describe: 'write a distilled base (.BTF.base); default on, off with BTF_BASE_REF=0; --no-distill only resolves .BTF_ids' })
      .option('objcopy', { type: 'string', describe: 'objcopy to run (default: $LLVM_OBJCOPY, $OBJCOPY, llvm-objcopy, objcopy)' })
      .option('strip-signature', { type: 'boolean', default: false, describe: 'finalize signed modules, dropping the signature (sign again afterwards)' })
      .option('dry-run', { alias: 'n', type: 'boolean', default: false, describe: 'compute and verify everything, write nothing' })
      .option('fatal-warnings', { alias: 'fatal_warnings', type: 'boolean', default: false, describe: 'exit 1 when there are warnings (kbuild CONFIG_WERROR)' })
      .option('kernel-abi', { type: 'string', choices: KERNEL_ABI_CHOICES, describe: 'write what this kernel pipeline writes: 6 (pahole + resolve_btfids, kernels up to 6.19), 7.2 (resolve_btfids 7.0-7.2: --distill_base, name-sorted BTF; `7` means 7.2) or 7.3 (resolve_btfids 7.3: also kfunc decl tags, arena prototypes, btf__dedup); default: from each module\'s vermagic (a kernel newer than 7.3: exit 2)' })
      .option('json', { type: 'boolean', default: false, describe: 'one JSON document on stdout: a report per module and a summary' })
      .option('jobs', { alias: 'j', type: 'number', default: defaultJobs(), describe: 'threads working at once, this one included (default: the number of cores)' })
      .check((a) => (Number.isInteger(a['jobs']) && (a['jobs'] as number) >= 1 ? once(a, 'base', 'kernel') : '-j/--jobs takes a whole number of at least 1'))
      .example('$0 finalize -b /usr/src/linux-headers-6.12.107+deb12-amd64/vmlinux mymod.ko', 'distill and resolve in place')
      .example('$0 finalize --no-distill -b vmlinux mymod.ko', 'what kbuild\'s resolve_btfids step does')
      .example('$0 finalize --strip-signature -j 8 --json pkgroot/lib/modules/6.12.107+deb12-amd64', 'a whole tree, in parallel, with a report for CI')
      .epilog('Each file is replaced atomically and only when the whole rewrite succeeded; running it again changes nothing. Ctrl-C stops handing out modules, lets those in flight finish, and exits 130: every module is either old or new.\nExit status: 0 done; 1 warnings with --fatal-warnings; 2 some module could not be finalized (nothing written for it); 3 objcopy/xz/zstd missing or failed; 130 interrupted.') as unknown as Argv<FinalizeArgs>,
  handler: (argv) =>
    runCommand(argv.verbose, async () => {
      const [{ finalizeFiles }, { expandModulePaths, readPathList }, { resolveKernelBtfPath }] = await Promise.all([
        import('../../lib/module/finalize-batch.js'),
        import('../../lib/module/walk.js'),
        import('../../lib/module/kernel.js'),
      ]);
      const distill = argv.distill ?? process.env['BTF_BASE_REF'] !== '0';
      const kernelAbi = argv.kernelAbi !== undefined ? parseKernelAbi(argv.kernelAbi) : undefined;
      const inputs = argv.modules.includes(STDIN_ARG) ? [...argv.modules.filter((m) => m !== STDIN_ARG), ...(await readPathList(process.stdin))] : argv.modules;
      if (inputs.length === 0) {
        // Only a list on stdin can be empty (the command line needs one argument).
        process.stderr.write('modbtf: note: the list on stdin names no module; nothing finalized\n');
        return EXIT_OK;
      }
      const files = await expandModulePaths(inputs);
      const checkKernelPath = argv.kernel !== undefined ? await resolveKernelBtfPath(argv.kernel) : undefined;
      // MODBTF_TIMING=1: where a run spends its time (startup = process start to here).
      const timing = process.env['MODBTF_TIMING'] === '1';
      if (timing) process.stderr.write(`timing: startup ${performance.now().toFixed(1)} ms\n`);

      const reports: (FinalizeReport | undefined)[] = new Array<FinalizeReport | undefined>(files.length);
      const progress = new Progress(files.length, 'finalizing');
      const quiet = files.length > 1 && process.stderr.isTTY === true && !argv.verbose;
      let done = 0;
      const onResult = (r: FinalizeReport, i: number): void => {
        reports[i] = r;
        if (!argv.json) {
          progress.done(); // clears the bar's line; the next tick draws it again
          if (r.status === 'error') {
            let text = `modbtf: ${r.error?.text ?? r.file}`;
            if (argv.verbose && r.error) text += ` [${r.error.name} ${r.error.code}]${r.error.stderr ? `\n${r.error.stderr.trimEnd()}` : ''}`;
            process.stderr.write(`${text}\n`);
          } else {
            printDiagnostics(r.diagnostics, r.file);
            // On a terminal with many modules, only what needs attention scrolls by.
            if (!quiet || r.warnings > 0 || r.relocation?.status === 'loses-btf') void writeOut(`${describeResult(r)}\n`);
          }
        }
        if (timing && r.timings) {
          const { load, vmlinux, ...phases } = r.timings;
          process.stderr.write(`timing: ${r.file}: load ${load.toFixed(1)}, vmlinux ${vmlinux.toFixed(1)}, ${Object.entries(phases).map(([k, v]) => `${k} ${v.toFixed(1)}`).join(', ')} ms\n`);
        }
        progress.tick(++done);
      };

      const abort = new AbortController();
      const onSigint = (): void => abort.abort();
      process.on('SIGINT', onSigint);
      try {
        await finalizeFiles(files, {
          init: {
            ...(argv.base !== undefined ? { basePath: argv.base } : {}),
            distill,
            ...(argv.objcopy !== undefined ? { objcopy: argv.objcopy } : {}),
            stripSignature: argv.stripSignature,
            dryRun: argv.dryRun,
            ...(kernelAbi !== undefined ? { kernelAbi } : {}),
            ...(checkKernelPath !== undefined ? { checkKernelPath } : {}),
          },
          jobs: argv.jobs,
          signal: abort.signal,
          onResult,
        });
      } finally {
        progress.done();
        process.off('SIGINT', onSigint);
      }

      const all = reports.filter((r): r is FinalizeReport => r !== undefined);
      const count = (s: FinalizeReport['status']): number => all.filter((r) => r.status === s).length;
      const written = count('written') + count('would-write');
      const unchanged = count('unchanged');
      const errors = count('error');
      const toolErrors = all.filter((r) => r.error?.name === 'ToolError').length;
      const warnings = all.reduce((n, r) => n + r.warnings, 0);
      const losesBtf = all.filter((r) => r.relocation?.status === 'loses-btf').length;
      const interrupted = all.length < files.length;
      if (argv.json) {
        const summary = {
          modules: files.length,
          processed: all.length,
          [argv.dryRun ? 'wouldWrite' : 'written']: written,
          unchanged,
          errors,
          warnings,
          ...(checkKernelPath !== undefined ? { checkKernel: checkKernelPath, losesBtf } : {}),
          sizeBefore: all.reduce((n, r) => n + (r.sizeBefore ?? 0), 0),
          sizeAfter: all.reduce((n, r) => n + (r.sizeAfter ?? 0), 0),
          ...(interrupted ? { interrupted: true } : {}),
        };
        await writeOut(`${JSON.stringify({ summary, modules: all.map(({ timings: _t, ...r }) => r) }, null, 2)}\n`);
      } else if (files.length > 1 || interrupted) {
        const parts = [`${written} ${argv.dryRun ? 'would be rewritten' : 'rewritten'}`, `${unchanged} already final`, plural(errors, 'error'), plural(warnings, 'warning')];
        if (checkKernelPath !== undefined) parts.push(`${losesBtf} would lose BTF on ${checkKernelPath}`);
        await writeOut(`${files.length} modules${interrupted ? ` (interrupted after ${all.length})` : ''}: ${parts.join(', ')}\n`);
      }
      if (interrupted) return EXIT_INTERRUPTED;
      if (toolErrors > 0) return EXIT_TOOL;
      if (errors > 0) return EXIT_INPUT;
      return argv.fatalWarnings && warnings > 0 ? EXIT_FOUND_PROBLEMS : EXIT_OK;
    }),
};
