/**
 * `modbtf kbuild modfinal` (the per-module form) and `modbtf kbuild finalize-batch` (one
 * process per kbuild run, Makefile.snippet's modbtf-modfinal rule), shared by the yargs
 * command and the fast path in main.ts, which does not load yargs.
 */
import { EXIT_OK, exitCodeFor, formatError } from './exit.js';
import { printKbuildDiagnostics } from './diagnostics.js';
import { isModbtfError } from '../lib/errors.js';
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
  '--btf-base-ref': 'btfBaseRef', '--strict': 'strict', '--vmlinux': 'vmlinux', '--pahole-native': 'paholeNative',
};

/** Defaults for what a hand-run `modbtf kbuild modfinal` leaves out: kbuild's environment. */
export function modfinalDefaults(env: Readonly<Record<string, string | undefined>> = process.env): Omit<ModfinalArgs, 'module'> {
  const e = (k: string, d = ''): string => env[k] ?? d;
  return {
    objtree: e('objtree', '.'), srctree: e('srctree'), pahole: e('PAHOLE', 'pahole'), paholeFlags: e('PAHOLE_FLAGS'),
    modulePaholeFlags: e('MODULE_PAHOLE_FLAGS'), paholeVersion: e('CONFIG_PAHOLE_VERSION'), resolveBtfids: e('RESOLVE_BTFIDS'),
    resolveBtfidsFlags: e('RESOLVE_BTFIDS_FLAGS'), objcopy: e('OBJCOPY'), shell: e('CONFIG_SHELL', 'sh'), extmod: e('KBUILD_EXTMOD'),
    btfBaseRef: e('BTF_BASE_REF'), strict: e('MODBTF_STRICT'), vmlinux: e('MODBTF_VMLINUX'), verbose: false,
    paholeNative: e('MODBTF_PAHOLE') === 'modbtf' ? '1' : '',
  };
}

const truthy = (v: string): boolean => ['1', 'y', 'yes', 'true'].includes(v.trim().toLowerCase());

const kbuildVerbose = (): boolean => (process.env['KBUILD_VERBOSE'] ?? '').includes('1');
const stepEnv = (a: ModfinalArgs): Record<string, string | undefined> => ({ ...process.env, ...(a.vmlinux.trim() !== '' ? { MODBTF_VMLINUX: a.vmlinux.trim() } : {}) });

export async function modfinalStep(a: ModfinalArgs): Promise<number> {
  const { runModfinal } = await import('../kbuild/modfinal.js');
  const out = await runModfinal({
    ...a,
    strict: truthy(a.strict),
    env: stepEnv(a),
    verbose: a.verbose || kbuildVerbose(),
    log: (l) => process.stderr.write(`${l}\n`),
  });
  if (out.kind === 'tree-step') return out.exitCode;
  if (out.kind === 'no-btf') return EXIT_OK;
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

/** `modbtf kbuild finalize-batch [-v] MODULE...`: the recorded modules of one kbuild run. */
export async function finalizeBatchStep(argv: readonly string[]): Promise<number> {
  const verbose = argv.includes('-v') || argv.includes('--verbose') || kbuildVerbose();
  const modules = argv.filter((a) => a !== '-v' && a !== '--verbose');
  const { runFinalizeBatch } = await import('../kbuild/batch.js');
  // MODBTF_JOBS: CPUs the batch may use (its encoder's lanes); make's own -j is not visible here.
  const cpus = /^[1-9]\d{0,3}$/.test(process.env['MODBTF_JOBS'] ?? '') ? Number(process.env['MODBTF_JOBS']) : undefined;
  const out = await runFinalizeBatch(modules, {
    env: process.env,
    verbose,
    ...(cpus !== undefined ? { cpus } : {}),
    log: (l) => process.stderr.write(`${l}\n`),
    parse: (args, module) => {
      const a = parseModfinalArgv([...args, module]);
      return a === undefined || a.module !== module ? undefined : { ...a, strict: truthy(a.strict), env: stepEnv(a) };
    },
    onDone: (r, module) => printKbuildDiagnostics(r.diagnostics, module),
    onError: (_module, err) => {
      process.stderr.write(`${formatError(err, verbose)}\n`);
      return isModbtfError(err) ? exitCodeFor(err) : 70;
    },
  });
  if (out.finished === 0 && out.failed.length === 0) {
    // Makefile.snippet calls it only with recorded modules; by hand, say why nothing happened.
    process.stderr.write(`modbtf: note: kbuild finalize-batch: ${modules.length === 0 ? 'no modules named' : `no record (.<module>.ko.modbtf, written by Makefile.snippet's per-module step) for ${modules.length === 1 ? 'the module' : `any of the ${modules.length} modules`} named`}; nothing to finish\n`);
  }
  return out.exitCode;
}
