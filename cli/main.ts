#!/usr/bin/env node
/**
 * modbtf command line. Each command lives in cli/commands/ and loads the library
 * parts it needs lazily. kbuild's per-module step takes a fast path that does not
 * load yargs at all (modbtf starts once per module in a kernel build), and plain
 * command lines skip it too (quick-parse.ts).
 */
import { STDIN_ARG } from './stdin.js';

const raw = process.argv.slice(2);

async function fastPath(): Promise<boolean> {
  // resolve-btfids parses its own argv like the kernel tool; kbuild may run it per module.
  if (raw[0] === 'resolve-btfids') {
    const { runResolveBtfids } = await import('./commands/resolve-btfids.js');
    process.exitCode = await runResolveBtfids(raw.slice(1));
    return true;
  }
  if (raw[0] === 'kbuild' && raw[1] === 'finalize-batch' && !raw.includes('--help')) {
    const { finalizeBatchStep } = await import('./modfinal-step.js');
    const { runCommand } = await import('./exit.js');
    await runCommand(false, () => finalizeBatchStep(raw.slice(2)));
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

async function run(): Promise<void> {
  // yargs drops a bare '-'; commands that read a list from stdin see it as /dev/stdin.
  const args = raw.map((a) => (a === '-' ? STDIN_ARG : a));
  const [commands, { quickParse }] = await Promise.all([import('./commands/index.js'), import('./quick-parse.js')]);
  const quick = quickParse(commands.all, args);
  if (quick) {
    await quick.command.handler(quick.argv as never);
    return;
  }
  const [{ buildParser }, { EXIT_INPUT }, { packageVersion }, { usageError, formatUsageError }] = await Promise.all([
    import('./parser.js'),
    import('./exit.js'),
    import('../lib/package-root.js'),
    import('./usage.js'),
  ]);
  const parser = buildParser(args, commands.all, packageVersion(), (text) => {
    process.stderr.write(formatUsageError(usageError(text, args, commands.all)));
    process.exit(EXIT_INPUT);
  });
  if (args.length === 0) {
    // `modbtf` alone: the list of commands, as a usage error.
    parser.showHelp((s) => process.stderr.write(`${s}\n`));
    process.exitCode = EXIT_INPUT;
    return;
  }
  await parser.parseAsync();
}

if (!(await fastPath())) await run();
