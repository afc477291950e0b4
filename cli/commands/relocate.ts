import type { Argv, CommandModule } from 'yargs';
import { runCommand, EXIT_OK, EXIT_FOUND_PROBLEMS } from '../exit.js';
import { writeOut } from '../output.js';
import { baseOption, kernelOption, once } from '../vocabulary.js';

interface RelocateArgs {
  module: string;
  base: string | undefined;
  kernel: string;
  output: string | undefined;
  idMap: string | undefined;
  dump: boolean;
  verbose: boolean;
}

/**
 * relocate -b used to name the target kernel; -b is now the built-against kernel, as in
 * every command. A line that could be the old form (no -k) is refused with the new
 * spelling, never read in the new meaning: -b with -k could not be written before.
 */
export const RELOCATE_OLD_B = '-b/--base used to name the kernel to relocate onto; that is -k/--kernel now, and -b/--base is the kernel the module was built against, as in every command: modbtf relocate -k TARGET [-b BUILT] MODULE';

export const relocateCommand: CommandModule<object, RelocateArgs> = {
  command: 'relocate <module>',
  describe: 'Relocate a module\'s BTF (.BTF over .BTF.base) onto another kernel\'s vmlinux, as the kernel does at load',
  builder: (y: Argv) =>
    kernelOption(baseOption(y.positional('module', { type: 'string', demandOption: true, describe: 'module (.ko[.xz|.zst|.gz]) with .BTF.base, or raw split BTF' }),
      { more: 'needed for a module without .BTF.base (distilled first)' }), { more: 'what it is relocated onto' })
      .option('output', { alias: 'o', type: 'string', describe: 'write the relocated split BTF (raw) here' })
      .option('id-map', { type: 'string', describe: 'write the id map (`old new` lines, libbpf base_id_map) here' })
      .option('dump', { type: 'boolean', default: false, describe: 'print the relocated BTF like bpftool (default when no --output)' })
      .check((a) => (a['kernel'] === undefined ? (a['base'] !== undefined ? RELOCATE_OLD_B : 'missing -k/--kernel K: the kernel to relocate the module onto') : once(a, 'base', 'kernel', 'output', 'id-map')))
      .example('$0 relocate -k /sys/kernel/btf/vmlinux mymod.ko | head', 'what the running kernel will make of the module\'s BTF')
      .example('$0 relocate -b 6.12.107+deb12-amd64 -k 6.12.117+deb12-amd64 -o out.btf mymod.ko', 'a module without .BTF.base, built for 6.12.107, on 6.12.117')
      .epilog('Exit status: 0 relocated; 1 relocation fails (every reason is listed); 2 usage or input errors.') as unknown as Argv<RelocateArgs>,
  handler: (argv) =>
    runCommand(argv.verbose, async () => {
      const [{ loadKernelBtf }, { distilledPair, loadModuleBtf }, { tryRelocate, formatIdMap }, { writeFileAtomic }, { Btf }, { vermagicMismatch }] = await Promise.all([
        import('../../lib/module/kernel.js'),
        import('../../lib/module/check.js'),
        import('../../lib/relocate/index.js'),
        import('../../lib/objcopy/atomic.js'),
        import('../../lib/btf/btf.js'),
        import('../../lib/module/built-against.js'),
      ]);
      const target = await loadKernelBtf(argv.kernel);
      const builtWith = argv.base !== undefined ? await loadKernelBtf(argv.base) : undefined;
      const loaded = await loadModuleBtf(argv.module, builtWith);
      const { base, split, hadDistilledBase } = distilledPair(loaded, builtWith);
      const mismatch = !hadDistilledBase && builtWith ? vermagicMismatch(loaded.module?.elf, builtWith) : undefined;
      if (mismatch !== undefined) process.stderr.write(`modbtf: warning: ${argv.module}: ${mismatch}\n`);
      const r = tryRelocate(base, split, target);
      if (!r.ok) {
        process.stderr.write(`modbtf: ${argv.module}: relocation onto ${argv.kernel} fails (the kernel would load the module without BTF):\n`);
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
