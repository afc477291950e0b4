import type { Argv, CommandModule } from 'yargs';
import { runCommand, EXIT_OK } from '../exit.js';
import { writeChunks } from '../output.js';

interface DumpArgs {
  file: string;
  base: string | undefined;
  json: boolean;
  verbose: boolean;
}

export const dumpCommand: CommandModule<object, DumpArgs> = {
  command: 'dump <file>',
  describe: 'Print BTF types like `bpftool btf dump file` (format raw)',
  builder: (y: Argv) =>
    y
      .positional('file', { type: 'string', demandOption: true, describe: 'module (.ko, .ko.xz/.zst/.gz), vmlinux ELF, or raw BTF (/sys/kernel/btf/*)' })
      .option('base', { alias: ['B', 'btf-base', 'btf_base'], type: 'string', describe: 'base BTF for split BTF: vmlinux ELF or raw BTF (e.g. /sys/kernel/btf/vmlinux)' })
      .option('json', { alias: 'j', type: 'boolean', default: false, describe: 'JSON output, as `bpftool -j`' })
      .example('$0 dump /sys/kernel/btf/vmlinux | head', 'dump the running kernel\'s BTF')
      .example('$0 dump --base /sys/kernel/btf/vmlinux mymod.ko', 'dump a module\'s split BTF over vmlinux')
      .example('$0 dump mymod.ko', 'a module with .BTF.base is dumped over its distilled base') as unknown as Argv<DumpArgs>,
  handler: (argv) =>
    runCommand(argv.verbose, async () => {
      const { loadBaseBtf, loadBtfFile } = await import('../../lib/module/btf-file.js');
      const base = argv.base !== undefined ? await loadBaseBtf(argv.base) : undefined;
      const loaded = await loadBtfFile(argv.file, base ? { base } : {});
      let btf = loaded.btf;
      if (loaded.distilledBase && base) {
        const { relocateBtf } = await import('../../lib/relocate/index.js');
        btf = relocateBtf(loaded.distilledBase, loaded.btf, base).btf;
      }
      if (argv.json) {
        const { dumpJsonChunks } = await import('../../lib/btf/dump-json.js');
        await writeChunks(dumpJsonChunks(btf));
      } else {
        const { dumpRawBytes } = await import('../../lib/btf/dump-raw-bytes.js');
        await writeChunks(dumpRawBytes(btf));
      }
      return EXIT_OK;
    }),
};
