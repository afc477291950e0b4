#!/usr/bin/env node
/**
 * modbtf command line. Each command lives in cli/commands/ and loads the library
 * parts it needs lazily. kbuild's per-module step takes a fast path that does not
 * load yargs at all (modbtf starts once per module in a kernel build).
 */
import { STDIN_ARG } from './stdin.js';

const EPILOG = `Exit status: 0 success; 1 problems found (e.g. a module will lose its BTF);
2 usage or input error; 3 external tool missing or failed.

Documentation: README.md; semantics follow libbpf (btf__distill_base, btf_relocate),
resolve_btfids and bpftool.`;

const raw = process.argv.slice(2);

async function fastPath(): Promise<boolean> {
  // resolve-btfids parses its own argv like the kernel tool; kbuild may run it per module.
  if (raw[0] === 'resolve-btfids') {
    const { runResolveBtfids } = await import('./commands/resolve-btfids.js');
    process.exitCode = await runResolveBtfids(raw.slice(1));
    return true;
  }
  if (raw[0] !== 'kbuild' || raw[1] !== 'modfinal') return false;
  const { parseModfinalArgv, modfinalStep } = await import('./modfinal-step.js');
  const parsed = parseModfinalArgv(raw.slice(2));
  if (!parsed) return false;
  const { runCommand } = await import('./exit.js');
  await runCommand(parsed.verbose, () => modfinalStep(parsed));
  return true;
}

async function withYargs(): Promise<void> {
  const [{ default: yargs }, commands, { EXIT_INPUT }, { packageVersion }] = await Promise.all([
    import('yargs'),
    import('./commands/index.js'),
    import('./exit.js'),
    import('../lib/package-root.js'),
  ]);
  // yargs drops a bare '-'; commands that read a list from stdin see it as /dev/stdin.
  const args = raw.map((a) => (a === '-' ? STDIN_ARG : a));
  let y = yargs(args)
    .scriptName('modbtf')
    .version(packageVersion())
    .usage('$0 <command> [options]\n\nMake kernel module BTF durable: distilled base BTF (.BTF.base), .BTF_ids, relocation checks.')
    .option('verbose', { alias: 'v', type: 'boolean', default: false, global: true, describe: 'more detail on errors' });
  for (const c of commands.all) y = y.command(c);
  await y
    .demandCommand(1, 'Name a command; see the list above.')
    .strict()
    .recommendCommands()
    .epilog(EPILOG)
    .wrap(Math.min(100, process.stdout.columns ?? 100))
    .fail((msg, err) => {
      // Command bodies catch their own errors (runCommand): what arrives here is argument
      // validation, reported as a usage error.
      const text = msg || (err instanceof Error ? err.message : String(err));
      process.stderr.write(`modbtf: ${text}\nTry 'modbtf --help'.\n`);
      process.exit(EXIT_INPUT);
    })
    .parseAsync();
}

if (!(await fastPath())) await withYargs();
