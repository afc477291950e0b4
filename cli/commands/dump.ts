import type { Argv, CommandModule } from 'yargs';
import { runCommand, EXIT_OK } from '../exit.js';
import { writeChunks } from '../output.js';
import { baseOption, once } from '../vocabulary.js';

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
    // -B is bpftool's spelling of -b/--base; -j is bpftool's JSON, the one exception to -j/--jobs.
    baseOption(y.positional('file', { type: 'string', demandOption: true, describe: 'module (.ko, .ko.xz/.zst/.gz), vmlinux ELF, or raw BTF (/sys/kernel/btf/*)' }),
      { bpftool: true, more: 'a module with .BTF.base is relocated onto it, as bpftool does' })
      .option('json', { alias: 'j', type: 'boolean', default: false, describe: 'JSON output, as `bpftool -j` (here -j is JSON, not --jobs)' })
      .check((a) => once(a, 'base'))
      .example('$0 dump /sys/kernel/btf/vmlinux | head', 'dump the running kernel\'s BTF')
      .example('$0 dump -b /sys/kernel/btf/vmlinux mymod.ko', 'dump a module\'s split BTF over vmlinux')
      .example('$0 dump -b 6.12.117+deb12-amd64 mymod.ko', 'the same, the vmlinux found by release')
      .example('$0 dump mymod.ko', 'a module with .BTF.base is dumped over its distilled base') as unknown as Argv<DumpArgs>,
  handler: (argv) =>
    runCommand(argv.verbose, async () => {
      // The writer is loaded while the file is read: one wave of module loading less.
      const writer = argv.json
        ? import('../../lib/btf/dump-json-bytes.js').then((m) => m.dumpJsonBytes)
        : import('../../lib/btf/dump-raw-bytes.js').then((m) => m.dumpRawBytes);
      const [{ loadBtfFile }, { loadKernelBtf }] = await Promise.all([import('../../lib/module/btf-file.js'), import('../../lib/module/kernel.js')]);
      const base = argv.base !== undefined ? await loadKernelBtf(argv.base) : undefined;
      const loaded = await loadBtfFile(argv.file, base ? { base } : {});
      let btf = loaded.btf;
      if (loaded.distilledBase && base) {
        const { relocateBtf } = await import('../../lib/relocate/index.js');
        btf = relocateBtf(loaded.distilledBase, loaded.btf, base).btf;
      } else if (base && btf.base === base) {
        // bpftool prints split BTF over the wrong vmlinux without a word, every name wrong;
        // the dump stays bpftool's, with a warning first.
        const [{ validateBtf }, { builtForAnotherKernel, checkingKernelOf, vermagicMismatch }] = await Promise.all([
          import('../../lib/btf/validate.js'), import('../../lib/module/built-against.js'),
        ]);
        const elf = loaded.module?.elf;
        const [problem] = validateBtf(btf, { limit: 1, kernel: checkingKernelOf(elf) });
        if (problem) process.stderr.write(`modbtf: warning: ${builtForAnotherKernel(argv.file, problem, base, elf).describe()}; the names printed below are wrong (bpftool prints them the same way)\n`);
        else {
          const mismatch = vermagicMismatch(elf, base);
          if (mismatch !== undefined) process.stderr.write(`modbtf: warning: ${argv.file}: ${mismatch}\n`);
        }
      }
      await writeChunks((await writer)(btf));
      return EXIT_OK;
    }),
};
