/**
 * `modbtf kbuild modfinal`, shared by the yargs command and the fast path in
 * main.ts: kbuild starts one process per module, so this path avoids loading yargs.
 */
import { EXIT_OK } from './exit.js';
import { printDiagnostics } from './diagnostics.js';

export interface ModfinalArgs {
  module: string;
  pahole: string;
  paholeFlags: string;
  objcopy: string;
  extmod: string;
  btfBaseRef: string;
  verbose: boolean;
}

export async function modfinalStep(a: ModfinalArgs): Promise<number> {
  const { runModfinal } = await import('../kbuild/modfinal.js');
  const out = await runModfinal({
    ...a,
    objtree: process.cwd(),
    env: process.env,
    verbose: a.verbose || (process.env['KBUILD_VERBOSE'] ?? '').includes('1'),
    log: (l) => process.stderr.write(`${l}\n`),
  });
  if (out.kind === 'skipped') {
    process.stderr.write(`modbtf: skipping BTF for ${a.module}: ${out.reason}\n`);
    return EXIT_OK;
  }
  printDiagnostics(out.result.diagnostics, undefined);
  return EXIT_OK;
}

/** Strict parser for the exact argv Makefile.snippet passes (`--opt=value` ... MODULE). */
export function parseModfinalArgv(argv: readonly string[]): ModfinalArgs | undefined {
  const a: ModfinalArgs = { module: '', pahole: 'pahole', paholeFlags: '', objcopy: '', extmod: process.env['KBUILD_EXTMOD'] ?? '', btfBaseRef: process.env['BTF_BASE_REF'] ?? '', verbose: false };
  const keys: Record<string, keyof ModfinalArgs> = { '--pahole': 'pahole', '--pahole-flags': 'paholeFlags', '--objcopy': 'objcopy', '--extmod': 'extmod', '--btf-base-ref': 'btfBaseRef' };
  for (const arg of argv) {
    const eq = arg.indexOf('=');
    const key = arg.startsWith('--') && eq > 0 ? keys[arg.slice(0, eq)] : undefined;
    if (key !== undefined && key !== 'verbose') (a as unknown as Record<string, string>)[key] = arg.slice(eq + 1);
    else if (arg === '-v' || arg === '--verbose') a.verbose = true;
    else if (!arg.startsWith('-') && a.module === '') a.module = arg;
    else return undefined;
  }
  return a.module === '' ? undefined : a;
}
