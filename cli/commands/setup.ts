import type { Argv, CommandModule } from 'yargs';
import { runCommand, EXIT_OK, EXIT_FOUND_PROBLEMS } from '../exit.js';
import { writeOut } from '../output.js';

interface SetupArgs {
  remove: boolean;
  dryRun: boolean;
  kernel: string | undefined;
  verbose: boolean;
}

const EPILOG = `What setup changes (run it as root; --dry-run shows it first):
  /usr/src/linux-headers-<release>/Makefile (every headers tree, and each one installed
      later): a marked block at the top adds modbtf's Makefile.snippet to MAKEFILES, so every
      M= build there — dkms's included, whatever its dkms.conf says — gets .BTF.base. Nothing
      is added to the tree: removing the headers package leaves nothing behind.
  /etc/kernel/postinst.d/00-modbtf, /etc/kernel/header_postinst.d/00-modbtf: hook the headers
      of each kernel installed from now on, before dkms' own hook (dkms) builds the modules
      for it: run-parts runs a directory's hooks in name order.
  /etc/kernel/postinst.d/zz-modbtf, /etc/kernel/header_postinst.d/zz-modbtf: after dkms, say
      whether the running kernel's out-of-tree modules keep their BTF on the new kernel
      (kbuild/README.md; settings in /etc/default/modbtf).
  /var/lib/modbtf/setup.json, /var/lib/modbtf/saved/: what setup changed and any file it
      replaced, so that --remove puts every file back byte for byte.
Running it again changes nothing unless something is missing or modbtf moved. The hooks and
trees run this modbtf (this node, this path): after moving it, run setup again.

Exit status: 0 done, or nothing to do; 1 --remove left a file that changed since setup (named,
with where its original is); 2 an error (the message names the file; nothing half-written).`;

export const setupCommand: CommandModule<object, SetupArgs> = {
  command: 'setup',
  describe: 'Make every DKMS module on this machine get .BTF.base, now and after each kernel update (--remove undoes it)',
  builder: (y: Argv) =>
    y
      .option('remove', { type: 'boolean', default: false, describe: 'undo setup: every file back as it was, the hooks and the record removed' })
      .option('dry-run', { alias: 'n', type: 'boolean', default: false, describe: 'say what would change, change nothing' })
      .option('kernel', { alias: 'k', type: 'string', describe: 'hook only the headers of this kernel release (what the kernel hooks run when a kernel is installed)' })
      .check((a) => (a['remove'] === true && a['kernel'] !== undefined ? '--remove undoes the whole setup; it takes no --kernel' : true))
      .example('$0 setup --dry-run', 'what setup would change')
      .example('$0 setup', 'then: apt install v4l2loopback-dkms (or any DKMS package): its modules have .BTF.base')
      .example('$0 setup --remove', 'back to how it was')
      .epilog(EPILOG) as unknown as Argv<SetupArgs>,
  handler: (argv) =>
    runCommand(argv.verbose, async () => {
      const [{ SetupContext, installationAt, removeSetup, setup }, { packageRoot }] = await Promise.all([
        import('../../kbuild/setup.js'),
        import('../../lib/package-root.js'),
      ]);
      // For tests and unusual layouts: a directory standing for / (kbuild/README.md).
      const ctx = new SetupContext(process.env['MODBTF_SETUP_ROOT'] || '/');
      const report = argv.remove
        ? await removeSetup(ctx, { dryRun: argv.dryRun })
        : await setup(ctx, await installationAt(packageRoot(), process.execPath), { dryRun: argv.dryRun, ...(argv.kernel !== undefined ? { kernel: argv.kernel } : {}) });
      // The kernel hooks print into apt's output: name modbtf there.
      const p = argv.kernel !== undefined ? 'modbtf: ' : '';
      const lines: string[] = [];
      for (const s of report.steps) {
        lines.push(`${p}${argv.dryRun ? s.planned : s.done}`);
        if (s.detail !== undefined) for (const l of s.detail.split('\n')) lines.push(`${p}    ${l}`);
      }
      for (const n of report.notes) lines.push(`${p}${n}`);
      // The hooks' runs say what they did to the tree and nothing more.
      if (argv.kernel === undefined) {
        if (report.steps.length === 0) lines.push(`nothing ${argv.dryRun ? 'would change' : 'changed'}${argv.remove ? '' : report.manifest !== undefined ? ' (set up; `modbtf setup --remove` undoes it)' : ''}`);
        else if (argv.dryRun) lines.push('dry run: nothing written');
        else if (!argv.remove && report.manifest !== undefined) lines.push(`recorded in ${report.manifest}; \`modbtf setup --remove\` undoes all of it`);
      }
      await writeOut(`${lines.join('\n')}\n`);
      for (const w of report.warnings) process.stderr.write(`modbtf: warning: ${w}\n`);
      return report.warnings.length > 0 ? EXIT_FOUND_PROBLEMS : EXIT_OK;
    }),
};
