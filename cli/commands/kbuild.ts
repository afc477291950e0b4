import type { Argv, CommandModule } from 'yargs';
import { runCommand, EXIT_OK } from '../exit.js';
import { writeOut } from '../output.js';
import { modfinalStep, type ModfinalArgs } from '../modfinal-step.js';

interface KbuildArgs extends Omit<ModfinalArgs, 'module'> {
  action: string;
  target: string | undefined;
}

export const kbuildCommand: CommandModule<object, KbuildArgs> = {
  command: 'kbuild <action> [target]',
  describe: 'Kernel build integration: install/uninstall the hook in a build tree; modfinal is the step kbuild runs',
  builder: (y: Argv) =>
    y
      .positional('action', { choices: ['install', 'uninstall', 'modfinal'], demandOption: true, describe: 'install <kdir> | uninstall <kdir> | modfinal <module.ko> (called by Makefile.snippet)' })
      .positional('target', { type: 'string', describe: 'kernel build tree (install/uninstall) or module (modfinal)' })
      .option('pahole', { type: 'string', default: 'pahole', describe: 'modfinal: $(PAHOLE)' })
      .option('pahole-flags', { type: 'string', default: '', describe: 'modfinal: $(PAHOLE_FLAGS) $(MODULE_PAHOLE_FLAGS)' })
      .option('objcopy', { type: 'string', default: '', describe: 'modfinal: $(OBJCOPY)' })
      .option('extmod', { type: 'string', default: process.env['KBUILD_EXTMOD'] ?? '', describe: 'modfinal: $(KBUILD_EXTMOD)' })
      .option('btf-base-ref', { type: 'string', default: process.env['BTF_BASE_REF'] ?? '', describe: 'modfinal: $(BTF_BASE_REF) (1 always distill, 0 never)' })
      .example('$0 kbuild install /usr/src/linux-headers-$(uname -r)', 'then: make -C /usr/src/linux-headers-$(uname -r) M=$PWD modules')
      .example('MAKEFILES=$PWD/Makefile.snippet make -C /lib/modules/$(uname -r)/build M=/path/to/module modules', 'no installation needed') as unknown as Argv<KbuildArgs>,
  handler: (argv) =>
    runCommand(argv.verbose, async () => {
      const { ModuleError } = await import('../../lib/errors.js');
      if (!argv.target) throw new ModuleError('USAGE', `kbuild ${argv.action} needs a ${argv.action === 'modfinal' ? 'module' : 'kernel build tree'}`, {});
      if (argv.action === 'modfinal') {
        return modfinalStep({ module: argv.target, pahole: argv.pahole, paholeFlags: argv.paholeFlags, objcopy: argv.objcopy, extmod: argv.extmod, btfBaseRef: argv.btfBaseRef, verbose: argv.verbose });
      }
      const { installKbuild, uninstallKbuild } = await import('../../kbuild/install.js');
      const { packageRoot } = await import('../../lib/package-root.js');
      const path = await import('node:path');
      if (argv.action === 'install') {
        const root = packageRoot();
        const cli = path.join(root, 'dist', 'bundle', 'main.js');
        const r = await installKbuild(argv.target, path.join(root, 'Makefile.snippet'), `${process.execPath} ${cli}`);
        await writeOut(r.changed ? `installed: ${r.snippet}, hooked into ${r.makefile}\nM= builds in this tree now get .BTF.base (BTF_BASE_REF=0 to opt out).\n` : `already installed in ${argv.target}\n`);
      } else {
        const r = await uninstallKbuild(argv.target);
        await writeOut(r.changed ? `removed modbtf from ${argv.target}\n` : `modbtf was not installed in ${argv.target}\n`);
      }
      return EXIT_OK;
    }),
};
