import type { Argv, CommandModule } from 'yargs';
import { runCommand, EXIT_OK } from '../exit.js';
import { writeOut } from '../output.js';
import { baseOption, once } from '../vocabulary.js';

interface DedupArgs {
  input: string;
  base: string | undefined;
  output: string;
  libbpf: string;
  verbose: boolean;
}

export const dedupCommand: CommandModule<object, DedupArgs> = {
  command: 'dedup <input>',
  describe: "Deduplicate BTF as libbpf's btf__dedup does (split BTF over -b, or standalone), byte for byte, in the behaviour of libbpf 1.7.0 or of the fixed libbpf kernel 7.3 builds with",
  builder: (y: Argv) =>
    baseOption(y.positional('input', { type: 'string', demandOption: true, describe: 'raw BTF (e.g. pahole --btf_encode_detached output), or an object whose .BTF to take' }), { more: 'without it the input is standalone BTF' })
      .option('output', { alias: 'o', type: 'string', demandOption: true, describe: 'the file for the deduplicated raw BTF (btf__raw_data: header, types, strings)' })
      .option('libbpf', {
        type: 'string',
        choices: ['1.7.0', 'fixed'],
        default: 'fixed',
        describe: "whose dedup: 1.7.0 (Debian's libbpf1, what pahole 1.32 runs; keeps a module's copies of base typedefs) or fixed (libbpf with the April 2026 typedef fix, as kernel 7.3's resolve_btfids has it)",
      })
      .check((a) => once(a, 'base', 'output'))
      .example('$0 dedup -b /usr/src/linux-headers-$(uname -r)/vmlinux --libbpf 1.7.0 -o mod.dedup.btf mod.BTF.1', "what pahole 1.32's own dedup step makes of that detached output") as unknown as Argv<DedupArgs>,
  handler: (argv) =>
    runCommand(argv.verbose, async () => {
      const [{ loadKernelBtf }, { loadBtfFile }, { dedupBtf, parseDedupBehaviour }, { writeFileAtomic }] = await Promise.all([
        import('../../lib/module/kernel.js'),
        import('../../lib/module/btf-file.js'),
        import('../../lib/dedup/index.js'),
        import('../../lib/objcopy/atomic.js'),
      ]);
      const behaviour = parseDedupBehaviour(argv.libbpf) ?? 'fixed';
      const base = argv.base !== undefined ? await loadKernelBtf(argv.base) : undefined;
      const loaded = await loadBtfFile(argv.input, base ? { base } : {});
      if (loaded.distilledBase) {
        const { ModuleError } = await import('../../lib/errors.js');
        throw new ModuleError('MODULE_HAS_BTF_BASE', 'its .BTF is split over a distilled base (.BTF.base); dedup it over the vmlinux it was built against before distilling, or give raw BTF', { file: argv.input, section: '.BTF.base' });
      }
      // A module's .BTF must be valid over -b (the kernel's checks); raw BTF is taken as libbpf takes it.
      if (base && loaded.module) {
        const { assertBuiltAgainst } = await import('../../lib/module/built-against.js');
        assertBuiltAgainst(argv.input, loaded.btf, base, loaded.module.elf);
      }
      const r = dedupBtf(loaded.btf, { behaviour });
      await writeFileAtomic(argv.output, r.bytes);
      const before = loaded.btf.ownTypeCount;
      await writeOut(`${argv.output}: ${r.bytes.length} bytes, ${r.typeCount} types (${before - r.typeCount} of ${before} merged, libbpf ${behaviour})\n`);
      return EXIT_OK;
    }),
};
