import type { Argv, CommandModule } from 'yargs';
import { runCommand, EXIT_OK, EXIT_FOUND_PROBLEMS } from '../exit.js';
import { writeOut } from '../output.js';
import type { DoctorReport, KernelReport, ModuleReport } from '../../lib/doctor/doctor.js';

interface DoctorArgs {
  json: boolean;
  root: string | undefined;
  kernel: string | undefined;
  verbose: boolean;
}

const EPILOG = `What it looks at (under --root DIR when given): /proc/sys/kernel/osrelease, /sys/module,
/sys/kernel/btf, each installed kernel (/lib/modules/<release>, /boot), its config (/boot/config-<release>
or its headers' .config), its vmlinux (/sys/kernel/btf/vmlinux for the running one, else its headers),
the out-of-tree modules (/lib/modules/<release>/updates, .../updates/dkms, .../extra), /var/lib/dkms,
modbtf setup's record and hooks, and the kernel log (dmesg; dmesg.txt in a snapshot). A snapshot of a
machine for --root: kbuild/doctor-snapshot.sh (README "modbtf doctor").

Exit status: 0 nothing found; 1 findings (each with the command that fixes it); 2 doctor cannot look
(no /sys/kernel/btf without --kernel, a kernel that is not installed, bad input).`;

/** The kernel's log lines carry tabs ("BPF: \tInvalid name_offset:N"): shown as \t. */
const visible = (s: string): string => s.replace(/\t/g, '\\t');

function configText(k: KernelReport): string {
  const c = k.config;
  if (c.file === null) return 'config not found';
  const f = (v: boolean | null): string => (v === null ? '?' : v ? 'y' : 'n');
  return `${c.file}: DEBUG_INFO_BTF_MODULES=${f(c.btfModules)}, MODULE_ALLOW_BTF_MISMATCH=${f(c.allowBtfMismatch)}`;
}

function moduleLine(m: ModuleReport, running: boolean): string {
  const v = m.verdict;
  const state = m.loaded === undefined ? '' : m.loaded === null ? 'not loaded; ' : `loaded, ${m.loaded.btfRegistered ? 'BTF in /sys/kernel/btf' : 'no BTF in /sys/kernel/btf'}; `;
  const mark = { keeps: 'ok', 'no-btf': 'NO BTF', 'wrong-btf': 'WRONG BTF', 'loses-btf': running ? 'NO BTF' : 'LOSES BTF', 'fails-to-load': 'FAILS TO LOAD', 'loses-btf-or-fails-to-load': 'LOSES BTF (or fails to load)', unknown: 'not checked' }[v.outcome];
  return `  ${m.name} (${m.file}): ${state}${mark}: ${v.summary}`;
}

export function renderDoctor(r: DoctorReport, verbose: boolean): string {
  const lines: string[] = [];
  if (r.root !== '/') lines.push(`snapshot ${r.root}`);
  for (const k of r.kernels) {
    const reloc = k.relocatesModuleBtf === null ? 'relocation of .BTF.base unknown' : k.relocatesModuleBtf ? 'relocates .BTF.base (>= 6.11)' : 'ignores .BTF.base (< 6.11)';
    lines.push(`kernel ${k.release}${k.running ? ' (running)' : ''}: ${configText(k)}; ${reloc}; BTF checks of ${k.kernelChecks === '7' ? '7.x' : '6.12'}; vmlinux ${k.vmlinux ?? 'not found'}`);
    if (k.modules.length === 0) lines.push('  no out-of-tree modules (updates/, extra/)');
    for (const m of k.modules) if (verbose || m.verdict.outcome !== 'keeps' || k.modules.length <= 20) lines.push(moduleLine(m, k.running));
    for (const w of k.loadedWithoutFile ?? []) lines.push(`  ${w.name}: loaded out-of-tree module from no file under updates/ or extra/; ${w.btfRegistered ? 'BTF in /sys/kernel/btf' : 'no BTF'}`);
  }
  if (r.findings.length > 0) {
    lines.push('', `${r.findings.length} finding${r.findings.length === 1 ? '' : 's'}:`);
    r.findings.forEach((f, i) => {
      lines.push(`${i + 1}. [${f.kernel}] ${f.title}`);
      for (const d of f.details) lines.push(`   ${visible(d)}`);
      for (const l of f.kernelLog) lines.push(`   seen in the kernel log: ${visible(l)}`);
      if (f.fix.length > 0) {
        lines.push('   fix:');
        for (const c of f.fix) lines.push(`     ${c}`);
      }
      for (const n of f.notes) lines.push(`   (${n})`);
    });
  }
  if (r.notes.length > 0) {
    lines.push('', 'notes:');
    for (const n of r.notes) {
      lines.push(`  - ${n.kernel ? `[${n.kernel}] ` : ''}${n.text}`);
      for (const c of n.fix) lines.push(`      ${c}`);
    }
  }
  const kernels = `${r.summary.kernels} kernel${r.summary.kernels === 1 ? '' : 's'}`;
  lines.push('', r.findings.length === 0
    ? r.summary.modules === 0 ? `nothing found: no out-of-tree modules on ${kernels}` : `nothing found: the ${r.summary.modules} out-of-tree module${r.summary.modules === 1 ? '' : 's'} on ${kernels} keep${r.summary.modules === 1 ? 's' : ''} BTF${r.notes.length > 0 ? ' (see the notes)' : ''}`
    : `${r.findings.length} finding${r.findings.length === 1 ? '' : 's'} (${r.summary.failsToLoad} will fail to load) over ${r.summary.modules} out-of-tree module${r.summary.modules === 1 ? '' : 's'} on ${kernels}`);
  return `${lines.join('\n')}\n`;
}

async function dmesg(): Promise<string | undefined> {
  const { execFile } = await import('node:child_process');
  return new Promise((resolve) => {
    execFile('dmesg', { maxBuffer: 64 << 20, timeout: 10_000 }, (err, stdout) => resolve(err ? undefined : stdout));
  });
}

export const doctorCommand: CommandModule<object, DoctorArgs> = {
  command: 'doctor',
  describe: 'Why out-of-tree modules have no BTF on this machine, and which lose it (or fail to load) on each installed kernel',
  builder: (y: Argv) =>
    y
      .option('json', { type: 'boolean', default: false, describe: `one JSON document on stdout (schema modbtf-doctor/1, README "modbtf doctor")` })
      .option('root', { type: 'string', describe: 'read a snapshot of a machine in DIR instead of this one (the same paths under DIR)' })
      .option('kernel', { alias: 'k', type: 'string', describe: 'only this installed kernel (a release); it need not be running' })
      .example('$0 doctor', 'this machine: the running kernel and every installed one')
      .example('$0 doctor -k 7.2.13+deb14-amd64', 'before rebooting into an installed kernel: which modules keep BTF, which will not load')
      .example('$0 doctor --root /tmp/snap --json', 'a snapshot made by kbuild/doctor-snapshot.sh on another machine')
      .epilog(EPILOG) as unknown as Argv<DoctorArgs>,
  handler: (argv) =>
    runCommand(argv.verbose, async () => {
      const [{ runDoctor }, { SystemRoot }, { SetupContext, setupState }] = await Promise.all([
        import('../../lib/doctor/doctor.js'),
        import('../../lib/doctor/root.js'),
        import('../../kbuild/setup.js'),
      ]);
      const { resolve } = await import('node:path');
      const dir = argv.root === undefined ? '/' : resolve(argv.root);
      if (argv.root !== undefined) {
        const { stat } = await import('node:fs/promises');
        const { ModuleError } = await import('../../lib/errors.js');
        if (!(await stat(dir).then((s) => s.isDirectory(), () => false))) throw new ModuleError('IO_NOT_FOUND', 'no such directory (--root takes a snapshot directory)', { file: argv.root });
      }
      const ctx = new SetupContext(dir);
      const report = await runDoctor({
        root: new SystemRoot(dir),
        ...(argv.kernel !== undefined ? { kernel: argv.kernel } : {}),
        setupState: (releases) => setupState(ctx, releases),
        ...(dir === '/' ? { runDmesg: dmesg } : {}),
      });
      await writeOut(argv.json ? `${JSON.stringify(report, null, 2)}\n` : renderDoctor(report, argv.verbose));
      return report.findings.length > 0 ? EXIT_FOUND_PROBLEMS : EXIT_OK;
    }),
};
