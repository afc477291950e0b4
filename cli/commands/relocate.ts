import type { Argv, CommandModule } from 'yargs';
import { runCommand, EXIT_OK, EXIT_FOUND_PROBLEMS } from '../exit.js';
import { writeOut } from '../output.js';

interface RelocateArgs {
  module: string;
  base: string;
  builtWith: string | undefined;
  output: string | undefined;
  idMap: string | undefined;
  dump: boolean;
  verbose: boolean;
}

export const relocateCommand: CommandModule<object, RelocateArgs> = {
  command: 'relocate <module>',
  describe: 'Relocate a module\'s BTF (.BTF over .BTF.base) onto another vmlinux, as the kernel does at load',
  builder: (y: Argv) =>
    y
      .positional('module', { type: 'string', demandOption: true, describe: 'module with .BTF.base (.ko[.xz|.zst|.gz])' })
      .option('base', { alias: ['b', 'btf-base', 'btf_base'], type: 'string', demandOption: true, describe: 'target vmlinux BTF (ELF, raw BTF, /sys/kernel/btf/vmlinux)' })
      .option('built-with', { type: 'string', describe: 'for a module without .BTF.base: the vmlinux it was built against (distilled first)' })
      .option('output', { alias: 'o', type: 'string', describe: 'write the relocated split BTF (raw) here' })
      .option('id-map', { type: 'string', describe: 'write the id map (`old new` lines, libbpf base_id_map) here' })
      .option('dump', { type: 'boolean', default: false, describe: 'print the relocated BTF like bpftool (default when no --output)' })
      .example('$0 relocate -b /sys/kernel/btf/vmlinux mymod.ko | head', 'what the running kernel will make of the module\'s BTF')
      .epilog('Exit status: 0 relocated; 1 relocation fails (every reason is listed); 2 usage or input errors.') as unknown as Argv<RelocateArgs>,
  handler: (argv) =>
    runCommand(argv.verbose, async () => {
      const [{ loadBaseBtf }, { distilledPair, loadModuleBtf }, { tryRelocate, formatIdMap }, { writeFileAtomic }, { Btf }] = await Promise.all([
        import('../../lib/module/btf-file.js'),
        import('../../lib/module/check.js'),
        import('../../lib/relocate/index.js'),
        import('../../lib/objcopy/atomic.js'),
        import('../../lib/btf/btf.js'),
      ]);
      const target = await loadBaseBtf(argv.base);
      const builtWith = argv.builtWith !== undefined ? await loadBaseBtf(argv.builtWith) : undefined;
      const loaded = await loadModuleBtf(argv.module, builtWith);
      const { base, split } = distilledPair(loaded, builtWith);
      const r = tryRelocate(base, split, target);
      if (!r.ok) {
        process.stderr.write(`modbtf: ${argv.module}: relocation onto ${argv.base} fails (the kernel would load the module without BTF):\n`);
        for (const f of r.failure.failures) process.stderr.write(`  - ${f.message}\n`);
        process.stderr.write(`  kernel log: ${r.failure.first?.libbpfMessage.replace(/^libbpf: /, '') ?? ''}\n`);
        return EXIT_FOUND_PROBLEMS;
      }
      if (argv.output !== undefined) await writeFileAtomic(argv.output, r.split);
      if (argv.idMap !== undefined) await writeFileAtomic(argv.idMap, new TextEncoder().encode(formatIdMap(r.idMap)));
      if (argv.dump || argv.output === undefined) {
        const { dumpRaw } = await import('../../lib/btf/dump-raw.js');
        await writeOut(dumpRaw(Btf.parse(r.split, { base: target, file: argv.module })));
      }
      return EXIT_OK;
    }),
};
