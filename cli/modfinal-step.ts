/**
 * `modbtf kbuild modfinal`, shared by the yargs command and the fast path in
 * main.ts: kbuild starts one process per module, so this path avoids loading yargs.
 */
import { EXIT_OK } from './exit.js';
import { printKbuildDiagnostics } from './diagnostics.js';
import type { KbuildVars } from '../kbuild/tree.js';

/** What Makefile.snippet passes: kbuild's variables (KbuildVars), each as `--name=value`, and modbtf's own. */
export interface ModfinalArgs extends KbuildVars {
  /** $(MODBTF_STRICT) (or the environment's). */
  strict: string;
  /** $(MODBTF_VMLINUX) (or the environment's). */
  vmlinux: string;
  verbose: boolean;
}

type StringKey = Exclude<keyof ModfinalArgs, 'module' | 'verbose'>;
const FLAGS: Readonly<Record<string, StringKey>> = {
  '--objtree': 'objtree', '--srctree': 'srctree', '--pahole': 'pahole', '--pahole-flags': 'paholeFlags',
  '--module-pahole-flags': 'modulePaholeFlags', '--pahole-version': 'paholeVersion', '--resolve-btfids': 'resolveBtfids',
  '--resolve-btfids-flags': 'resolveBtfidsFlags', '--objcopy': 'objcopy', '--shell': 'shell', '--extmod': 'extmod',
  '--btf-base-ref': 'btfBaseRef', '--strict': 'strict', '--vmlinux': 'vmlinux',
};

/** Defaults for what a hand-run `modbtf kbuild modfinal` leaves out: kbuild's environment. */
export function modfinalDefaults(env: Readonly<Record<string, string | undefined>> = process.env): Omit<ModfinalArgs, 'module'> {
  const e = (k: string, d = ''): string => env[k] ?? d;
  return {
    objtree: e('objtree', '.'), srctree: e('srctree'), pahole: e('PAHOLE', 'pahole'), paholeFlags: e('PAHOLE_FLAGS'),
    modulePaholeFlags: e('MODULE_PAHOLE_FLAGS'), paholeVersion: e('CONFIG_PAHOLE_VERSION'), resolveBtfids: e('RESOLVE_BTFIDS'),
    resolveBtfidsFlags: e('RESOLVE_BTFIDS_FLAGS'), objcopy: e('OBJCOPY'), shell: e('CONFIG_SHELL', 'sh'), extmod: e('KBUILD_EXTMOD'),
    btfBaseRef: e('BTF_BASE_REF'), strict: e('MODBTF_STRICT'), vmlinux: e('MODBTF_VMLINUX'), verbose: false,
  };
}

const truthy = (v: string): boolean => ['1', 'y', 'yes', 'true'].includes(v.trim().toLowerCase());

export async function modfinalStep(a: ModfinalArgs): Promise<number> {
  const { runModfinal } = await import('../kbuild/modfinal.js');
  const env = { ...process.env, ...(a.vmlinux.trim() !== '' ? { MODBTF_VMLINUX: a.vmlinux.trim() } : {}) };
  const out = await runModfinal({
    ...a,
    strict: truthy(a.strict),
    env,
    verbose: a.verbose || (process.env['KBUILD_VERBOSE'] ?? '').includes('1'),
    log: (l) => process.stderr.write(`${l}\n`),
  });
  if (out.kind === 'tree-step') return out.exitCode;
  printKbuildDiagnostics(out.result.diagnostics, a.module);
  return EXIT_OK;
}

/** Strict parser for the exact argv Makefile.snippet passes (`--opt=value` ... MODULE). */
export function parseModfinalArgv(argv: readonly string[], env: Readonly<Record<string, string | undefined>> = process.env): ModfinalArgs | undefined {
  const a: ModfinalArgs = { module: '', ...modfinalDefaults(env) };
  for (const arg of argv) {
    const eq = arg.indexOf('=');
    const key = arg.startsWith('--') && eq > 0 ? FLAGS[arg.slice(0, eq)] : undefined;
    if (key !== undefined) a[key] = arg.slice(eq + 1);
    else if (arg === '-v' || arg === '--verbose') a.verbose = true;
    else if (!arg.startsWith('-') && a.module === '') a.module = arg;
    else return undefined;
  }
  return a.module === '' ? undefined : a;
}
