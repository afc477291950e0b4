import type { Argv, CommandModule } from 'yargs';
import { runCommand, EXIT_OK } from '../exit.js';
import { writeOut } from '../output.js';
import { modfinalDefaults, modfinalStep, type ModfinalArgs } from '../modfinal-step.js';

interface KbuildArgs extends Omit<ModfinalArgs, 'module'> {
  action: string;
  target: string | undefined;
}

/** The ModfinalArgs string fields from parsed argv (yargs adds aliases and $0). */
function pickStrings(v: Record<string, unknown>): Partial<Omit<ModfinalArgs, 'module' | 'verbose'>> {
  const keys = Object.keys(modfinalDefaults()).filter((k) => k !== 'verbose') as (keyof Omit<ModfinalArgs, 'module' | 'verbose'>)[];
  const out: Partial<Omit<ModfinalArgs, 'module' | 'verbose'>> = {};
  for (const k of keys) if (typeof v[k] === 'string') out[k] = v[k] as string;
  return out;
}

export const kbuildCommand: CommandModule<object, KbuildArgs> = {
  command: 'kbuild <action> [target]',
  describe: 'Kernel build integration: install/uninstall the hook in a build tree; modfinal is the step kbuild runs',
  builder: (y: Argv) =>
    y
      .positional('action', { choices: ['install', 'uninstall', 'modfinal', 'finalize-batch'], demandOption: true, describe: 'install <kdir> | uninstall <kdir> | modfinal <module.ko> | finalize-batch <module.ko>... (both called by Makefile.snippet: per module, or once per build over the modules whose recipe recorded a .<module>.ko.modbtf)' })
      .positional('target', { type: 'string', describe: 'kernel build tree (install/uninstall) or module (modfinal)' })
      .option('objtree', { type: 'string', default: modfinalDefaults().objtree, describe: 'modfinal: $(objtree), the kernel object tree' })
      .option('srctree', { type: 'string', default: modfinalDefaults().srctree, describe: 'modfinal: $(srctree) (a 7.x tree has scripts/gen-btf.sh there)' })
      .option('pahole', { type: 'string', default: modfinalDefaults().pahole, describe: 'modfinal: $(PAHOLE)' })
      .option('pahole-flags', { type: 'string', default: modfinalDefaults().paholeFlags, describe: 'modfinal: $(PAHOLE_FLAGS)' })
      .option('module-pahole-flags', { type: 'string', default: modfinalDefaults().modulePaholeFlags, describe: 'modfinal: $(MODULE_PAHOLE_FLAGS) (6.x trees)' })
      .option('pahole-version', { type: 'string', default: modfinalDefaults().paholeVersion, describe: 'modfinal: $(CONFIG_PAHOLE_VERSION)' })
      .option('resolve-btfids', { type: 'string', default: modfinalDefaults().resolveBtfids, describe: 'modfinal: $(RESOLVE_BTFIDS), for the fallback to the tree\'s own step' })
      .option('resolve-btfids-flags', { type: 'string', default: modfinalDefaults().resolveBtfidsFlags, describe: 'modfinal: $(RESOLVE_BTFIDS_FLAGS) (7.x trees)' })
      .option('objcopy', { type: 'string', default: modfinalDefaults().objcopy, describe: 'modfinal: $(OBJCOPY)' })
      .option('shell', { type: 'string', default: modfinalDefaults().shell, describe: 'modfinal: $(CONFIG_SHELL), for gen-btf.sh' })
      .option('extmod', { type: 'string', default: modfinalDefaults().extmod, describe: 'modfinal: $(KBUILD_EXTMOD)' })
      .option('btf-base-ref', { type: 'string', default: modfinalDefaults().btfBaseRef, describe: 'modfinal: $(BTF_BASE_REF) (1 always distill, 0 never)' })
      .option('strict', { type: 'string', default: modfinalDefaults().strict, describe: 'modfinal: $(MODBTF_STRICT); 1: fail the build instead of falling back to the tree\'s own step' })
      .option('vmlinux', { type: 'string', default: modfinalDefaults().vmlinux, describe: 'modfinal: $(MODBTF_VMLINUX), the vmlinux BTF when the tree has none' })
      .example('$0 kbuild install /usr/src/linux-headers-$(uname -r)', 'then: make -C /usr/src/linux-headers-$(uname -r) M=$PWD modules')
      .example('MAKEFILES=$PWD/Makefile.snippet make -C /lib/modules/$(uname -r)/build M=/path/to/module modules', 'no installation needed') as unknown as Argv<KbuildArgs>,
  handler: (argv) =>
    runCommand(argv.verbose, async () => {
      const { ModuleError } = await import('../../lib/errors.js');
      if (!argv.target) throw new ModuleError('USAGE', `kbuild: ${argv.action} needs a ${argv.action === 'modfinal' ? 'module' : 'kernel build tree'}\nTry 'modbtf kbuild --help'.`, {});
      if (argv.action === 'finalize-batch') {
        const { finalizeBatchStep } = await import('../modfinal-step.js');
        return finalizeBatchStep([argv.target, ...argv._.slice(1).map(String)]);
      }
      if (argv.action === 'modfinal') {
        const { action: _action, target, ...vars } = argv;
        return modfinalStep({ ...modfinalDefaults(), ...pickStrings(vars), module: target, verbose: argv.verbose });
      }
      const { installKbuild, uninstallKbuild } = await import('../../kbuild/install.js');
      const { packageRoot } = await import('../../lib/package-root.js');
      const path = await import('node:path');
      if (argv.action === 'install') {
        const root = packageRoot();
        const cli = path.join(root, 'dist', 'bundle', 'main.js');
        const r = await installKbuild(argv.target, path.join(root, 'Makefile.snippet'), `${process.execPath} ${cli}`);
        const { inspectTree, describeHookedTree } = await import('../../kbuild/tree.js');
        const what = describeHookedTree(await inspectTree(argv.target));
        await writeOut(r.changed ? `installed: ${r.snippet}, hooked into ${r.makefile}\n${what}\n` : `already installed in ${argv.target}\n${what}\n`);
      } else {
        const r = await uninstallKbuild(argv.target);
        await writeOut(r.changed ? `removed modbtf from ${argv.target}\n` : `modbtf was not installed in ${argv.target}\n`);
      }
      return EXIT_OK;
    }),
};
