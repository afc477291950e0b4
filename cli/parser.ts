/**
 * The full yargs command line: help, errors, every form of every option. main.ts
 * builds it only for lines quick-parse.ts leaves alone; tests build it to check that
 * the two parse alike.
 */
import yargs, { type Argv, type CommandModule } from 'yargs';
import { vocabularyText } from './vocabulary.js';

const EPILOG = `Exit status: 0 success; 1 problems found (e.g. a module will lose its BTF);
2 usage or input error (the message names the file, section, offset, type id); 3 an
external tool (objcopy, xz, zstd) missing, killed or failing on good input; 70 a bug in
modbtf. resolve-btfids exits as resolve_btfids does (0, 255, 129).

Documentation: README.md; semantics follow libbpf (btf__distill_base, btf_relocate),
resolve_btfids and bpftool.`;

export function buildParser(args: readonly string[], commands: readonly CommandModule<object, object>[], version: string, onFail: (text: string) => void): Argv {
  let y = yargs([...args])
    .scriptName('modbtf')
    .version(version)
    .usage('$0 <command> [options]\n\nMake kernel module BTF durable: distilled base BTF (.BTF.base), .BTF_ids, relocation checks.')
    .option('verbose', { alias: 'v', type: 'boolean', default: false, global: true, describe: 'more detail on errors' });
  for (const c of commands) y = y.command(c);
  return y
    .demandCommand(1, 'Name a command; see the list above.')
    .strict()
    .recommendCommands()
    .epilog(`${vocabularyText(Math.min(100, process.stdout.columns ?? 100))}\n\n${EPILOG}`)
    .wrap(Math.min(100, process.stdout.columns ?? 100))
    .fail((msg, err) => {
      // Command bodies catch their own errors (runCommand): what arrives here is argument
      // validation, reported as a usage error.
      onFail(msg || (err instanceof Error ? err.message : String(err)));
    });
}
