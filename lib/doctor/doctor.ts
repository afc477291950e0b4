/**
 * `modbtf doctor`: why a module has no BTF on this machine, and which modules will lose
 * their BTF — or fail to load — on each installed kernel, recomputed from the files
 * (modules, vmlinux BTF, kernel configs) with each kernel's own rules; /sys and the kernel
 * log only confirm. The result is plain data with a versioned schema (DOCTOR_SCHEMA,
 * documented in README "modbtf doctor"); cli/commands/doctor.ts prints it.
 */
import { loadBaseBtf } from '../module/btf-file.js';
import { vmlinuxCandidates } from '../module/kernel.js';
import { ModuleError, isModbtfError } from '../errors.js';
import { kernelViewOf } from '../btf/kernel-checks.js';
import { relocationTarget } from '../relocate/index.js';
import type { Btf } from '../btf/btf.js';
import { checksOf, compareReleases, findVmlinux, isInstalled, parseRelease, readKernelConfig, relocatesModuleBtf } from './kernel.js';
import { buildIdHex, dkmsOwners, outOfTreeModules, type ModuleFacts } from './modules.js';
import { kernelLog, loadedModules, logLinesFor, matchLoaded, runningRelease, type MatchedBy } from './running.js';
import { fixFor, setupNeeded, type SetupState } from './fixes.js';
import { judgeModule, type Cause, type KernelUnderTest, type Outcome, type Verdict, type VerdictContext } from './verdict.js';
import type { SystemRoot } from './root.js';

/** The JSON schema id; bumped when a field changes meaning or goes away (added fields keep it). */
export const DOCTOR_SCHEMA = 'modbtf-doctor/1';

export interface DoctorOptions {
  root: SystemRoot;
  /** Look at this installed kernel only (`--kernel`); it need not be running. */
  kernel?: string;
  /** What `modbtf setup` has done, for these kernel releases (kbuild/setup.ts). */
  setupState: (releases: readonly string[]) => Promise<SetupState>;
  /** The kernel log of this machine (`dmesg`), when readable. */
  runDmesg?: () => Promise<string | undefined>;
}

export interface LoadedState {
  /** The file matched to the loaded module, and how. */
  matchedBy: MatchedBy;
  /** /sys/kernel/btf/<module> is there. */
  btfRegistered: boolean;
  /** Does what the kernel did agree with the verdict for the file? */
  agrees: boolean;
}

/** Every field is always there; null where doctor does not know. */
export interface ModuleReport {
  name: string;
  file: string;
  builtFor: string | null;
  buildId: string | null;
  srcversion: string | null;
  hasBtf: boolean;
  hasBtfBase: boolean;
  retargeted: boolean;
  dkms: { package: string; version: string } | null;
  dkmsDir: boolean;
  verdict: Verdict;
  /** Running kernel only: null when the module is not loaded. */
  loaded?: LoadedState | null;
}

export interface KernelReport {
  release: string;
  running: boolean;
  config: { file: string | null; btfModules: boolean | null; allowBtfMismatch: boolean | null };
  relocatesModuleBtf: boolean | null;
  /** Whose btf.c rules the checks follow (lib/btf/kernel-checks.ts). */
  kernelChecks: string;
  vmlinux: string | null;
  /** Where the vmlinux was looked for, when it was not found. */
  vmlinuxTried?: string[];
  modules: ModuleReport[];
  /** Running kernel: loaded out-of-tree modules whose file doctor did not find. */
  loadedWithoutFile?: { name: string; btfRegistered: boolean }[];
}

export type FindingKind = 'fails-to-load' | 'loses-btf' | 'wrong-btf' | 'no-btf' | 'unexplained' | 'file-changed' | 'unknown';

export interface Finding {
  kind: FindingKind;
  kernel: string;
  module: string;
  /** The module file (null: a loaded module doctor found no file for). */
  file: string | null;
  cause: Cause | 'loaded-file-changed' | 'observed-differs';
  /** One line: what is wrong. */
  title: string;
  details: string[];
  /** Kernel log lines that concern it (running kernel). */
  kernelLog: string[];
  fix: string[];
  notes: string[];
}

export interface Note {
  kernel: string | null;
  text: string;
  fix: string[];
}

export interface DoctorReport {
  schema: typeof DOCTOR_SCHEMA;
  root: string;
  runningRelease: string | null;
  /** /sys/kernel/btf/vmlinux is there. */
  runningBtf: boolean;
  kernels: KernelReport[];
  setup: SetupState;
  kernelLog: string | null;
  findings: Finding[];
  notes: Note[];
  summary: { kernels: number; modules: number; findings: number; failsToLoad: number };
}

const KIND_OF: Partial<Record<Outcome, FindingKind>> = {
  'fails-to-load': 'fails-to-load', 'loses-btf': 'loses-btf', 'loses-btf-or-fails-to-load': 'loses-btf',
  'wrong-btf': 'wrong-btf', 'no-btf': 'no-btf',
};

async function installedReleases(root: SystemRoot): Promise<string[]> {
  const out: string[] = [];
  for (const r of await root.list('/lib/modules')) if (await isInstalled(root, r)) out.push(r);
  return out;
}

async function loadVmlinux(root: SystemRoot, file: string): Promise<Btf> {
  const host = await root.resolve(file);
  if (host === undefined) throw new ModuleError('IO_NOT_FOUND', 'no such file', { file });
  return loadBaseBtf(host);
}

/** Lines a verdict predicts for the kernel log, specific enough to find its own. */
function predictedLines(v: Verdict): string[] {
  const l = v.kernelLog;
  return l !== undefined && (/\d|'/.test(l) || l.length >= 24) ? [l] : [];
}

function titleOf(m: ModuleFacts, v: Verdict, k: KernelUnderTest): string {
  const where = k.running ? 'on the running kernel' : `on ${k.release}`;
  switch (v.outcome) {
    case 'fails-to-load': return `${m.name} WILL FAIL TO LOAD ${where} (CONFIG_MODULE_ALLOW_BTF_MISMATCH is off there): ${v.summary}`;
    case 'loses-btf-or-fails-to-load': return `${m.name} loses its BTF ${where}, or fails to load if CONFIG_MODULE_ALLOW_BTF_MISMATCH is off (its config was not found): ${v.summary}`;
    case 'loses-btf': return `${m.name} ${k.running ? 'has no BTF' : `loses its BTF on ${k.release}`}: ${v.summary}`;
    case 'wrong-btf': return `${m.name} gets wrong BTF ${where}: ${v.summary}`;
    case 'no-btf': return `${m.name} has no BTF ${where}: ${v.summary}`;
    default: return `${m.name} ${where}: ${v.summary}`;
  }
}

function detailsOf(m: ModuleFacts, v: Verdict): string[] {
  const d: string[] = [];
  if (m.builtFor !== undefined) d.push(`built for ${m.builtFor}${m.hasBtfBase ? ', with .BTF.base' : ', no .BTF.base'}${m.dkms ? `; DKMS ${m.dkms.package}/${m.dkms.version}` : m.dkmsDir ? '; in updates/dkms' : ''}`);
  if (v.kernelCheck) d.push(`refused in ${v.kernelCheck.blob} (${v.kernelCheck.phase}); a load that must not go without BTF fails with ${v.kernelCheck.errno}`);
  for (const f of v.relocationFailures ?? []) d.push(`relocation: ${f.message}`);
  if (v.kernelLog !== undefined) d.push(`what the kernel logs for it: ${v.relocationFailures ? v.kernelLog : `BPF: ${v.kernelLog}`}`);
  return d;
}

export async function runDoctor(opts: DoctorOptions): Promise<DoctorReport> {
  const { root } = opts;
  const running = await runningRelease(root);
  const runningBtf = await root.isFile('/sys/kernel/btf/vmlinux');
  if (opts.kernel === undefined && !runningBtf) {
    const where = root.live ? 'this system' : root.dir;
    const why = (await root.isDir('/sys/kernel'))
      ? 'the running kernel exposes no BTF (built without CONFIG_DEBUG_INFO_BTF?)'
      : 'no /sys/kernel here (a container, or a snapshot without /sys)';
    throw new ModuleError('DOCTOR_NO_RUNNING_BTF', `${where} has no /sys/kernel/btf/vmlinux: ${why}; run doctor on the machine itself, or name an installed kernel with --kernel RELEASE to check its modules from its files`, { file: `${root.live ? '' : root.dir}/sys/kernel/btf/vmlinux` });
  }
  if (opts.kernel === undefined && running === undefined) {
    throw new ModuleError('DOCTOR_NO_RELEASE', 'cannot tell the running kernel: /proc/sys/kernel/osrelease is missing', { file: `${root.live ? '' : root.dir}/proc/sys/kernel/osrelease` });
  }
  const installed = await installedReleases(root);
  let releases: string[];
  if (opts.kernel !== undefined) {
    const k = opts.kernel;
    if (!(k === running && runningBtf) && !installed.includes(k) && !(await root.isDir(`/lib/modules/${k}`))) {
      throw new ModuleError('DOCTOR_NO_KERNEL', `kernel ${k} is not installed here (no /lib/modules/${k}); installed: ${installed.join(', ') || 'none'}`, { file: `/lib/modules/${k}` });
    }
    releases = [k];
  } else {
    releases = [...new Set([running as string, ...installed])];
  }
  releases.sort((a, b) => (a === running ? -1 : b === running ? 1 : compareReleases(b, a)));

  const owners = await dkmsOwners(root);
  const setup = await opts.setupState(releases);
  const vmlinuxCache = new Map<string, Promise<{ file: string; btf: Btf } | undefined>>();
  const ctx: VerdictContext = {
    vmlinuxOf(release) {
      let p = vmlinuxCache.get(release);
      if (!p) {
        p = (async () => {
          const isRunning = release === running && runningBtf;
          for (const f of vmlinuxCandidates(release, isRunning ? release : '', '/')) {
            if (!(await root.isFile(f))) continue;
            try { return { file: f, btf: await loadVmlinux(root, f) }; } catch { /* the next candidate */ }
          }
          return undefined;
        })();
        vmlinuxCache.set(release, p);
      }
      return p;
    },
  };
  const log = await kernelLog(root, opts.runDmesg ?? (async () => undefined));

  const kernels: KernelReport[] = [];
  const findings: Finding[] = [];
  const notes: Note[] = [];
  let moduleCount = 0;
  for (const release of releases) {
    const isRunning = release === running && runningBtf;
    const version = parseRelease(release);
    const config = await readKernelConfig(root, release, isRunning);
    const found = await findVmlinux(root, release, isRunning);
    let vmlinux: KernelUnderTest['vmlinux'];
    let vmlinuxError: string | undefined;
    if (found.file !== undefined) {
      try {
        const btf = (await ctx.vmlinuxOf(release))?.btf ?? (await loadVmlinux(root, found.file));
        vmlinux = { file: found.file, btf, view: kernelViewOf(btf), target: relocationTarget(btf) };
      } catch (err: unknown) {
        vmlinuxError = isModbtfError(err) ? err.describe() : String(err);
      }
    }
    const k: KernelUnderTest = {
      release, version, running: isRunning, config, relocates: relocatesModuleBtf(version), rules: checksOf(version), vmlinux, vmlinuxTried: found.tried,
    };
    const modules = await outOfTreeModules(root, release, owners.get(release));
    moduleCount += modules.length;
    const kr: KernelReport = {
      release, running: isRunning,
      config: { file: config.file ?? null, btfModules: config.btfModules ?? null, allowBtfMismatch: config.allowBtfMismatch ?? null },
      relocatesModuleBtf: k.relocates ?? null, kernelChecks: k.rules.id,
      vmlinux: vmlinux?.file ?? null, modules: [],
    };
    if (!vmlinux) kr.vmlinuxTried = found.tried;
    if (!vmlinux && modules.length > 0) {
      notes.push({ kernel: release, text: vmlinuxError ?? `no vmlinux BTF of ${release} (looked at ${found.tried.join(', ')}): its ${modules.length} out-of-tree module(s) are not checked; install linux-headers-${release}`, fix: [] });
    }
    if (config.file === undefined) notes.push({ kernel: release, text: `no config of ${release} found (looked at /boot/config-${release} and its headers): whether a refused BTF stops a module from loading (CONFIG_MODULE_ALLOW_BTF_MISMATCH) is unknown`, fix: [] });
    else if (config.btfModules === false) notes.push({ kernel: release, text: `${release} keeps no module BTF (CONFIG_DEBUG_INFO_BTF_MODULES is off in ${config.file}): no module has BTF there, whatever it carries`, fix: [] });

    const loaded = isRunning ? await loadedModules(root) : [];
    const loadedOf = new Map<ModuleFacts, { by: MatchedBy; btf: boolean }>();
    const changed: { name: string; m: ModuleFacts; btf: boolean }[] = [];
    const withoutFile: { name: string; btfRegistered: boolean }[] = [];
    for (const l of loaded) {
      const hit = matchLoaded(l, modules);
      if (hit === undefined) {
        if (l.outOfTree) withoutFile.push({ name: l.name, btfRegistered: l.btfRegistered });
      } else if ('changed' in hit) {
        changed.push({ name: l.name, m: hit.changed, btf: l.btfRegistered });
      } else loadedOf.set(hit.file, { by: hit.by, btf: l.btfRegistered });
    }

    for (const m of modules) {
      const v = await judgeModule(m, k, ctx);
      const mr: ModuleReport = {
        name: m.name, file: m.file, builtFor: m.builtFor ?? null, buildId: buildIdHex(m.buildIdNote) ?? null, srcversion: m.srcversion ?? null,
        hasBtf: m.hasBtf, hasBtfBase: m.hasBtfBase, retargeted: m.retargeted, dkms: m.dkms ?? null, dkmsDir: m.dkmsDir, verdict: v,
      };
      const obs = loadedOf.get(m);
      let agrees = true;
      if (isRunning) {
        if (obs) {
          // What the kernel did: BTF registered exactly when the verdict says it keeps it, or gets wrong BTF.
          const predictedBtf = v.outcome === 'keeps' || v.outcome === 'wrong-btf';
          agrees = v.outcome === 'unknown' || predictedBtf === obs.btf;
          mr.loaded = { matchedBy: obs.by, btfRegistered: obs.btf, agrees };
        } else mr.loaded = null;
      }
      kr.modules.push(mr);
      const fix = fixFor(m, v, k, setup, isRunning && obs !== undefined);
      // A module doctor could not read is a finding; one it could not check (no vmlinux) has its note.
      const kindOf = v.cause === 'unreadable' ? 'unknown' : KIND_OF[v.outcome];
      const kernelLines = isRunning && log ? logLinesFor(log.lines, m.name, predictedLines(v)) : [];
      if (!agrees) {
        findings.push({
          kind: 'unexplained', kernel: release, module: m.name, file: m.file, cause: 'observed-differs',
          title: `${m.name}: the running kernel ${obs?.btf ? 'has' : 'has no'} BTF for it, but its file says it ${v.summary}`,
          details: [...detailsOf(m, v), `loaded module matched to the file by ${obs?.by}${obs?.by === 'name' ? ' only (no build id or srcversion to compare): the file may not be the one loaded' : ''}`],
          kernelLog: kernelLines,
          fix: [`modprobe -r ${m.name} && modprobe ${m.name}`],
          notes: ['reload it and run modbtf doctor again; if it stays, the kernel log above says what the kernel did'],
        });
      } else if (kindOf !== undefined && !(v.outcome === 'no-btf' && v.cause === 'kernel-without-module-btf')) {
        findings.push({
          kind: kindOf, kernel: release, module: m.name, file: m.file, cause: v.cause,
          title: titleOf(m, v, k), details: detailsOf(m, v), kernelLog: kernelLines, fix: fix.commands, notes: fix.notes,
        });
      }
    }
    for (const c of changed) {
      findings.push({
        kind: 'file-changed', kernel: release, module: c.name, file: c.m.file, cause: 'loaded-file-changed',
        title: `${c.name}: the loaded module is not ${c.m.file} (its build id or srcversion differs): the file changed since it was loaded`,
        details: [`/sys/kernel/btf/${c.name} is ${c.btf ? 'there' : 'missing'}; what the file gets is said above for it`],
        kernelLog: [], fix: [`modprobe -r ${c.name} && modprobe ${c.name}`], notes: [],
      });
    }
    if (withoutFile.length > 0) {
      kr.loadedWithoutFile = withoutFile;
      for (const w of withoutFile) {
        if (!w.btfRegistered) {
          findings.push({
            kind: 'unexplained', kernel: release, module: w.name, file: null, cause: 'observed-differs',
            title: `${w.name}: loaded out-of-tree module without BTF, loaded from no file under /lib/modules/${release}/{updates,extra}`,
            details: ['doctor checks module files; this one was loaded from elsewhere (insmod of another path)'],
            kernelLog: log ? logLinesFor(log.lines, w.name, []) : [], fix: [`modbtf check --kernel /sys/kernel/btf/vmlinux <the file it was loaded from>`], notes: [],
          });
        }
      }
    }
    const dkmsNoBase = modules.filter((m) => (m.dkms || m.dkmsDir) && m.hasBtf && !m.hasBtfBase);
    if (dkmsNoBase.length > 0 && setupNeeded(setup, release)) {
      notes.push({
        kernel: release,
        text: `${dkmsNoBase.length} DKMS module(s) without .BTF.base (${dkmsNoBase.map((m) => m.name).join(', ')}), and modbtf setup is not in place for ${release}: their BTF holds only on the very kernel they were built against; with modbtf setup, dkms builds get .BTF.base`,
        fix: ['modbtf setup', ...dkmsNoBase.filter((m) => m.dkms).map((m) => `dkms install -m ${m.dkms?.package} -v ${m.dkms?.version} -k ${release} --force`)],
      });
    }
    kernels.push(kr);
  }
  const failsToLoad = findings.filter((f) => f.kind === 'fails-to-load').length;
  return {
    schema: DOCTOR_SCHEMA, root: root.dir, runningRelease: running ?? null, runningBtf, kernels, setup,
    kernelLog: log?.source ?? null, findings, notes,
    summary: { kernels: kernels.length, modules: moduleCount, findings: findings.length, failsToLoad },
  };
}
