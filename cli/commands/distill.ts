import type { Argv, CommandModule } from 'yargs';
import { runCommand, EXIT_OK } from '../exit.js';
import { writeOut } from '../output.js';
import { baseOption, once } from '../vocabulary.js';
import { KERNEL_ABI_CHOICES } from '../../lib/pipeline/profile.js';

interface DistillArgs {
  module: string;
  base: string;
  output: string | undefined;
  inPlace: boolean;
  kernelAbi: string | undefined;
  verbose: boolean;
}

export const distillCommand: CommandModule<object, DistillArgs> = {
  command: 'distill <module>',
  describe: 'Compute the distilled base (.BTF.base) and new split .BTF of a module, as libbpf btf__distill_base (kernels 6.x) or resolve_btfids --distill_base (7.x)',
  builder: (y: Argv) =>
    baseOption(y.positional('module', { type: 'string', demandOption: true, describe: 'module with .BTF over vmlinux (.ko[.xz|.zst|.gz])' }), { demand: true })
      .option('output', { alias: 'o', type: 'string', describe: 'directory for <name>.BTF and <name>.BTF.base (raw BTF)' })
      .option('kernel-abi', { type: 'string', choices: KERNEL_ABI_CHOICES, describe: 'whose distill to reproduce: 6 (libbpf btf__distill_base), 7.2 (resolve_btfids 7.0-7.2 --distill_base: KF_IMPLICIT_ARGS rewrite, 32-byte header, name-sorted split; `7` means 7.2) or 7.3 (resolve_btfids 7.3: also kfunc decl tags, arena prototypes, btf__dedup first); default: from the module\'s vermagic (a kernel newer than 7.3: exit 2)' })
      .option('in-place', { type: 'boolean', default: false, describe: 'write .BTF/.BTF.base into the module instead (same as `modbtf finalize --distill`, which also remaps .BTF_ids)' })
      // Not .conflicts(): a boolean with a default always counts as given.
      .check((a) => (a['in-place'] && a.output !== undefined ? 'give -o DIR or --in-place, not both' : a['in-place'] || a.output !== undefined ? once(a, 'base', 'output') : 'give -o DIR or --in-place'))
      .example('$0 distill -b /usr/src/linux-headers-$(uname -r)/vmlinux -o out/ mymod.ko', 'writes out/mymod.BTF and out/mymod.BTF.base') as unknown as Argv<DistillArgs>,
  handler: (argv) =>
    runCommand(argv.verbose, async () => {
      const [{ loadKernelBtf }, { distill }, { writeFileAtomic }, { mkdir, stat }, path] = await Promise.all([
        import('../../lib/module/kernel.js'),
        import('../../lib/distill/index.js'),
        import('../../lib/objcopy/atomic.js'),
        import('node:fs/promises'),
        import('node:path'),
      ]);
      const base = await loadKernelBtf(argv.base);
      const [{ moduleProfile, finalizeLoaded }, { loadModuleFile }, { pipelineProfile, parseKernelAbi }] = await Promise.all([
        import('../../lib/module/finalize.js'), import('../../lib/module/load.js'), import('../../lib/pipeline/profile.js'),
      ]);
      const mod = await loadModuleFile(argv.module);
      const forced = argv.kernelAbi !== undefined ? parseKernelAbi(argv.kernelAbi) : undefined;
      const profile = forced !== undefined ? pipelineProfile(forced) : moduleProfile(mod.elf, argv.module);
      const { assertBuiltAgainst, vermagicMismatch } = await import('../../lib/module/built-against.js');
      const warnMismatch = (): void => {
        const mismatch = vermagicMismatch(mod.elf, base);
        if (mismatch !== undefined) process.stderr.write(`modbtf: warning: ${argv.module}: ${mismatch}\n`);
      };
      if (argv.inPlace) {
        const r = await finalizeLoaded(mod, { vmlinux: base, distill: true, profile });
        if (r.btf !== 'had-base') warnMismatch();
        await writeOut(`${argv.module}: ${r.action === 'unchanged' ? 'already distilled' : `distilled in place (.BTF.base ${r.distilledBaseSize ?? 0} bytes)`}\n`);
        return EXIT_OK;
      }
      const outDir = argv.output as string;
      const [{ readElfBtf }, { ModuleError }] = await Promise.all([import('../../lib/btf/source.js'), import('../../lib/errors.js')]);
      const outStat = await stat(outDir).catch(() => undefined);
      if (outStat !== undefined && !outStat.isDirectory()) {
        throw new ModuleError('USAGE_OUTPUT_NOT_DIR', '-o names a file that exists, not a directory: distill writes <name>.BTF and <name>.BTF.base into the directory -o names (made when missing); for the module itself, --in-place', { file: outDir });
      }
      const loaded = readElfBtf(mod.elf, { base, file: argv.module });
      if (loaded.distilledBase) {
        throw new ModuleError('MODULE_HAS_BTF_BASE', 'the module already has .BTF.base (it is distilled); nothing to do', { file: argv.module, section: '.BTF.base' });
      }
      assertBuiltAgainst(argv.module, loaded.btf, base, mod.elf, profile.abi >= 7 ? 7 : 6);
      warnMismatch();
      let d: { split: Uint8Array; base: Uint8Array; baseTypeCount: number };
      if (profile.abi === 7) {
        const [{ kernel7Btf }, { scanBtfIds }] = await Promise.all([import('../../lib/pipeline/kernel7.js'), import('../../lib/btfids/index.js')]);
        const r = kernel7Btf(mod.elf, scanBtfIds(mod.elf, { abi: 7 }), loaded.btf, base, { distill: true, rerunSafe: true, profile });
        d = { split: r.btf, base: r.btfBase as Uint8Array, baseTypeCount: (r.finalBase as { typeCount: number }).typeCount };
      } else {
        d = distill(base, loaded.btf);
      }
      const name = path.basename(argv.module).replace(/\.ko(\.xz|\.zst|\.gz)?$/, '');
      await mkdir(outDir, { recursive: true });
      const btfPath = path.join(outDir, `${name}.BTF`);
      const basePath = path.join(outDir, `${name}.BTF.base`);
      await writeFileAtomic(btfPath, d.split);
      await writeFileAtomic(basePath, d.base);
      await writeOut(`${btfPath}: ${d.split.length} bytes (split BTF over the distilled base)\n${basePath}: ${d.base.length} bytes, ${d.baseTypeCount - 1} types\n`);
      return EXIT_OK;
    }),
};
