#!/usr/bin/env node
/**
 * modbtf command line. Each command lives in cli/commands/ and loads the library
 * parts it needs lazily, so `modbtf --help` and kbuild's per-module calls start fast.
 */
import yargs from 'yargs';
import { hideBin } from 'yargs/helpers';
import { checkCommand } from './commands/check.js';
import { distillCommand } from './commands/distill.js';
import { dumpCommand } from './commands/dump.js';
import { finalizeCommand } from './commands/finalize.js';
import { kbuildCommand } from './commands/kbuild.js';
import { relocateCommand } from './commands/relocate.js';
import { EXIT_INPUT } from './exit.js';
import { STDIN_ARG } from './stdin.js';

const EPILOG = `Exit status: 0 success; 1 problems found (e.g. a module will lose its BTF);
2 usage or input error; 3 external tool missing or failed.

Documentation: README.md; semantics follow libbpf (btf__distill_base, btf_relocate),
resolve_btfids and bpftool.`;

// yargs drops a bare '-'; commands that read a list from stdin see it as /dev/stdin.
const args = hideBin(process.argv).map((a) => (a === '-' ? STDIN_ARG : a));

await yargs(args)
  .scriptName('modbtf')
  .usage('$0 <command> [options]\n\nMake kernel module BTF durable: distilled base BTF (.BTF.base), .BTF_ids, relocation checks.')
  .option('verbose', { alias: 'v', type: 'boolean', default: false, global: true, describe: 'more detail on errors' })
  .command(dumpCommand)
  .command(distillCommand)
  .command(relocateCommand)
  .command(checkCommand)
  .command(finalizeCommand)
  .command(kbuildCommand)
  .demandCommand(1, 'Name a command; see the list above.')
  .strict()
  .recommendCommands()
  .epilog(EPILOG)
  .wrap(Math.min(100, process.stdout.columns ?? 100))
  .fail((msg, err) => {
    if (err) throw err;
    process.stderr.write(`modbtf: ${msg}\nTry 'modbtf --help'.\n`);
    process.exit(EXIT_INPUT);
  })
  .parseAsync();
