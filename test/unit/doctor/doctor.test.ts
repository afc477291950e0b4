// modbtf doctor over synthetic snapshots (test/helpers/doctor-root.ts): every verdict, the
// running kernel's observations, the fixes, the errors, and the JSON schema. Each module is
// built so that the kernel's rules decide it one way (a split over a vmlinux whose string
// table is longer than the target's is refused on name offsets; one over a shorter table
// passes and names the wrong types; a distilled base with an embedded struct of another
// size does not relocate); the expected verdicts follow from that construction.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { gzipSync } from 'node:zlib';
import { runDoctor, DOCTOR_SCHEMA, type DoctorReport, type ModuleReport } from '../../../lib/doctor/doctor.js';
import type { SetupState } from '../../../lib/doctor/fixes.js';
import { SystemRoot } from '../../../lib/doctor/root.js';
import { isModbtfError } from '../../../lib/errors.js';
import { SyntheticRoot, moduleFile, vmlinuxBtf } from '../../helpers/doctor-root.js';

const R107 = '6.12.107+deb12-amd64';
const R117 = '6.12.117+deb12-amd64';
const R72 = '7.2.13+deb14-amd64';
const R66 = '6.6.90-amd64';

// 107: long string table (pad), struct big of 16 bytes. 117: types renumbered (shift), big
// grew to 24, short strings. 7.2.13: a long string table, ids moved by 3 anonymous pointers
// against 7.2.12, whose strings are the same. 6.6: like 107.
const R7212 = '7.2.12+deb14-amd64';
const V107 = vmlinuxBtf({ bigSize: 16, pad: 40 });
const V117 = vmlinuxBtf({ bigSize: 24, shift: 1 });
const V72 = vmlinuxBtf({ bigSize: 24, shift: 2, pad: 60, ptrs: 3 });
const V7212 = vmlinuxBtf({ bigSize: 24, shift: 2, pad: 60 });
const V66 = vmlinuxBtf({ bigSize: 16, pad: 40 });

const NO_SETUP: SetupState = { recorded: false, hooks: false, hookedTrees: {} };

function byName(r: DoctorReport, release: string, name: string): ModuleReport {
  const m = r.kernels.find((k) => k.release === release)?.modules.find((x) => x.name === name);
  if (!m) throw new Error(`no module ${name} on ${release}`);
  return m;
}

function finding(r: DoctorReport, release: string, name: string) {
  return r.findings.find((f) => f.kernel === release && f.module === name);
}

describe('modbtf doctor on a snapshot: running 6.12.117, installed 6.12.107, 7.2.13 and 6.6', () => {
  const root = new SyntheticRoot();
  let report: DoctorReport;

  beforeAll(async () => {
    root.running(R117, V117, [
      { name: 'plain', buildId: 1, btf: false },
      { name: 'fin', buildId: 2, btf: true },
      { name: 'embeds', buildId: 3, btf: false },
      { name: 'nobtf', buildId: 4, btf: false },
      { name: 'bad', buildId: 6, btf: false },
      { name: 'moved', buildId: 99, btf: true },
      { name: 'elsewhere', btf: false },
      { name: 'ext4', outOfTree: false, btf: true },
    ]);
    root.kernel({
      release: R117, vmlinux: V117, allowMismatch: true,
      modules: {
        'updates/dkms/plain.ko': moduleFile({ name: 'plain', builtFor: R107, over: V107, buildId: 1 }),
        'updates/dkms/fin.ko': moduleFile({ name: 'fin', builtFor: R107, over: V107, distilled: true, buildId: 2 }),
        'updates/dkms/embeds.ko': moduleFile({ name: 'embeds', builtFor: R107, over: V107, distilled: true, embedsBig: true, buildId: 3 }),
        'updates/dkms/nobtf.ko': moduleFile({ name: 'nobtf', builtFor: R117, buildId: 4 }),
        'updates/this.ko': moduleFile({ name: 'this', builtFor: R117, over: V117, buildId: 5 }),
        'extra/bad.ko': moduleFile({ name: 'bad', builtFor: R117, over: V117, badName: true, buildId: 6 }),
        'updates/moved.ko': moduleFile({ name: 'moved', builtFor: R117, over: V117, buildId: 7 }),
      },
    });
    root.dkms('plain-dkms', '1.0', R117, 'plain.ko');
    root.kernel({ release: R107, vmlinux: V107, allowMismatch: true });
    root.kernel({
      release: R72, vmlinux: V72, allowMismatch: false,
      modules: {
        'updates/fin7.ko': moduleFile({ name: 'fin7', builtFor: R72, over: V72, distilled: true }),
        'updates/other.ko': moduleFile({ name: 'other', builtFor: R107, over: V107 }),
        'updates/embeds7.ko': moduleFile({ name: 'embeds7', builtFor: R107, over: V107, distilled: true, embedsBig: true }),
        'updates/wrong.ko': moduleFile({ name: 'wrong', builtFor: R7212, over: V7212 }),
        'updates/retarget.ko': moduleFile({ name: 'retarget', builtFor: R107, over: V107, retargetedTo: V117 }),
        'updates/retarget72.ko': moduleFile({ name: 'retarget72', builtFor: R107, over: V107, retargetedTo: V72 }),
      },
    });
    root.kernel({
      release: R66, vmlinux: V66, allowMismatch: true,
      modules: { 'updates/fin66.ko': moduleFile({ name: 'fin66', builtFor: R107, over: V107, distilled: true }) },
    });
    report = await runDoctor({ root: new SystemRoot(root.dir), setupState: async () => NO_SETUP });
  });
  afterAll(() => root.remove());

  it('looks at the running kernel first, then the installed ones, newest first', () => {
    expect(report.schema).toBe(DOCTOR_SCHEMA);
    expect(report.runningRelease).toBe(R117);
    expect(report.kernels.map((k) => [k.release, k.running])).toEqual([[R117, true], [R72, false], [R107, false], [R66, false]]);
    const k117 = report.kernels[0];
    expect(k117).toMatchObject({ relocatesModuleBtf: true, kernelChecks: '6.12', vmlinux: '/sys/kernel/btf/vmlinux', config: { file: `/boot/config-${R117}`, btfModules: true, allowBtfMismatch: true } });
    expect(report.kernels[1]).toMatchObject({ kernelChecks: '7', vmlinux: `/usr/src/linux-headers-${R72}/vmlinux`, config: { allowBtfMismatch: false } });
    expect(report.kernels[3]).toMatchObject({ relocatesModuleBtf: false });
  });

  it('split BTF over another kernel\'s vmlinux, no .BTF.base: the kernel refuses it; finalize against that vmlinux fixes it', () => {
    const m = byName(report, R117, 'plain');
    expect(m.verdict).toMatchObject({ outcome: 'loses-btf', cause: 'split-for-other-vmlinux', splitFor: 'other-kernel', errno: -22 });
    expect(m.verdict.kernelLog).toMatch(/^\[\d+\] Invalid name_offset:\d+$/);
    expect(m.verdict.withBtfBase).toMatchObject({ builtWith: `/usr/src/linux-headers-${R107}/vmlinux`, keeps: true });
    expect(m.loaded).toEqual({ matchedBy: 'build-id', btfRegistered: false, agrees: true });
    expect(m.dkms).toEqual({ package: 'plain-dkms', version: '1.0' });
    const f = finding(report, R117, 'plain');
    expect(f).toMatchObject({ kind: 'loses-btf', cause: 'split-for-other-vmlinux' });
    expect(f?.fix).toEqual([
      `modbtf finalize -b /usr/src/linux-headers-${R107}/vmlinux /lib/modules/${R117}/updates/dkms/plain.ko`,
      'modprobe -r plain && modprobe plain',
    ]);
  });

  it('a module with .BTF.base keeps its BTF, and the kernel registered it: no finding', () => {
    expect(byName(report, R117, 'fin').verdict).toMatchObject({ outcome: 'keeps', cause: 'ok' });
    expect(byName(report, R117, 'fin').loaded).toMatchObject({ btfRegistered: true, agrees: true });
    expect(finding(report, R117, 'fin')).toBeUndefined();
  });

  it('a distilled struct embedded by value that changed size: relocation fails, the fix is a rebuild', () => {
    const m = byName(report, R117, 'embeds');
    expect(m.verdict).toMatchObject({ outcome: 'loses-btf', cause: 'relocation-failed' });
    expect(m.verdict.kernelLog).toMatch(/^distilled base BTF type 'big' \[\d+\] is not mapped to base BTF id$/);
    expect(finding(report, R117, 'embeds')?.fix).toEqual([
      'modbtf setup', `make -C /lib/modules/${R117}/build M=$PWD modules`, 'modprobe -r embeds && modprobe embeds',
    ]);
  });

  it('no .BTF: no BTF anywhere; a DKMS-style module is rebuilt after modbtf setup', () => {
    expect(byName(report, R117, 'nobtf').verdict).toMatchObject({ outcome: 'no-btf', cause: 'no-btf-section' });
    expect(finding(report, R117, 'nobtf')).toMatchObject({ kind: 'no-btf' });
  });

  it('split BTF over exactly this vmlinux keeps its BTF (not loaded: loaded is null)', () => {
    expect(byName(report, R117, 'this')).toMatchObject({ verdict: { outcome: 'keeps', splitFor: 'this-kernel' }, loaded: null });
  });

  it('BTF this kernel\'s checks refuse (a TYPEDEF named "bad-name")', () => {
    const m = byName(report, R117, 'bad');
    expect(m.verdict).toMatchObject({ outcome: 'loses-btf', cause: 'rejected-by-kernel-checks', kernelLog: 'Invalid name' });
    expect(m.verdict.kernelCheck).toMatchObject({ message: expect.stringMatching(/TYPEDEF 'bad-name': Invalid name$/) as unknown, loggedWhenMismatchAllowed: false });
    // Built for this very kernel: a rebuild gives the same BTF; the fix is the module without it.
    const f = finding(report, R117, 'bad');
    expect(f?.fix).toEqual([`objcopy --remove-section=.BTF --remove-section=.BTF.base /lib/modules/${R117}/extra/bad.ko`, 'modprobe -r bad && modprobe bad']);
    expect(f?.notes.join('\n')).toMatch(/a rebuild from the same source gives the same BTF/);
  });

  it('a loaded module whose file has another build id: the file changed since the load', () => {
    expect(finding(report, R117, 'moved')).toMatchObject({ kind: 'file-changed', fix: ['modprobe -r moved && modprobe moved'] });
  });

  it('a loaded out-of-tree module with no file and no BTF; in-tree modules are left alone', () => {
    expect(report.kernels[0]?.loadedWithoutFile).toEqual([{ name: 'elsewhere', btfRegistered: false }]);
    expect(finding(report, R117, 'elsewhere')).toMatchObject({ kind: 'unexplained' });
    expect(report.findings.some((f) => f.module === 'ext4')).toBe(false);
  });

  it('7.2.13 (MODULE_ALLOW_BTF_MISMATCH off): refused BTF means the module fails to load', () => {
    expect(byName(report, R72, 'fin7').verdict.outcome).toBe('keeps');
    expect(byName(report, R72, 'other').verdict).toMatchObject({ outcome: 'fails-to-load', cause: 'split-for-other-vmlinux' });
    expect(byName(report, R72, 'embeds7').verdict).toMatchObject({ outcome: 'fails-to-load', cause: 'relocation-failed' });
    const f = finding(report, R72, 'other');
    expect(f?.title).toMatch(/^other WILL FAIL TO LOAD on 7\.2\.13\+deb14-amd64 \(CONFIG_MODULE_ALLOW_BTF_MISMATCH is off there\)/);
    expect(f?.notes.some((n) => n.includes('objcopy --remove-section=.BTF --remove-section=.BTF.base'))).toBe(true);
    // retarget.ko (retargeted onto 6.12.117's vmlinux, short strings) is refused here too.
    expect(report.findings.filter((x) => x.kind === 'fails-to-load').map((x) => x.module).sort()).toEqual(['embeds7', 'other', 'retarget']);
    expect(report.summary.failsToLoad).toBe(3);
  });

  it('split BTF over another vmlinux the checks let through: wrong BTF, not a load failure', () => {
    expect(byName(report, R72, 'wrong').verdict).toMatchObject({ outcome: 'wrong-btf', cause: 'split-for-other-vmlinux' });
  });

  it('retargeted modules: right on the kernel they were retargeted to, wrong elsewhere (retarget again)', () => {
    expect(byName(report, R72, 'retarget72').verdict).toMatchObject({ outcome: 'keeps', splitFor: 'this-kernel' });
    const other = byName(report, R72, 'retarget');
    expect(other.verdict.cause).toBe('retargeted-for-other-kernel');
    expect(other.verdict.outcome).toBe('fails-to-load');
    expect(finding(report, R72, 'retarget')?.fix[0]).toBe(`modbtf retarget --kernel ${R72} /lib/modules/${R72}/updates/retarget.ko`);
  });

  it('a kernel before 6.11 ignores .BTF.base: wrong BTF, retarget fixes it', () => {
    expect(byName(report, R66, 'fin66').verdict).toMatchObject({ outcome: 'wrong-btf', cause: 'btf-base-ignored' });
    expect(finding(report, R66, 'fin66')?.fix).toEqual([`modbtf retarget --kernel ${R66} /lib/modules/${R66}/updates/fin66.ko`]);
  });

  it('DKMS modules without .BTF.base and no modbtf setup: a note, not a finding', () => {
    expect(report.notes.some((n) => n.kernel === R117 && n.text.includes('DKMS module(s) without .BTF.base') && n.fix[0] === 'modbtf setup')).toBe(true);
  });

  it('the JSON document: schema id, and every module with its verdict', () => {
    const j = JSON.parse(JSON.stringify(report)) as Record<string, unknown>;
    expect(Object.keys(j).sort()).toEqual(['findings', 'kernelLog', 'kernels', 'notes', 'root', 'runningBtf', 'runningRelease', 'schema', 'setup', 'summary']);
    expect(j['summary']).toEqual({ kernels: 4, modules: 14, findings: report.findings.length, failsToLoad: 3 });
    for (const k of report.kernels) {
      for (const m of k.modules) {
        expect(Object.keys(m).sort()).toEqual(expect.arrayContaining(['builtFor', 'buildId', 'dkms', 'dkmsDir', 'file', 'hasBtf', 'hasBtfBase', 'name', 'retargeted', 'srcversion', 'verdict']));
        expect(['keeps', 'no-btf', 'wrong-btf', 'loses-btf', 'fails-to-load', 'loses-btf-or-fails-to-load', 'unknown']).toContain(m.verdict.outcome);
      }
    }
    for (const f of report.findings) expect(Object.keys(f).sort()).toEqual(['cause', 'details', 'file', 'fix', 'kernel', 'kernelLog', 'kind', 'module', 'notes', 'title']);
  });
});

describe('modbtf doctor: when it cannot look, and --kernel', () => {
  it('no /sys/kernel/btf (a container): DOCTOR_NO_RUNNING_BTF, naming --kernel', async () => {
    const root = new SyntheticRoot();
    try {
      root.kernel({ release: R72, vmlinux: V72, allowMismatch: false });
      const err = await runDoctor({ root: new SystemRoot(root.dir), setupState: async () => NO_SETUP }).catch((e: unknown) => e);
      expect(isModbtfError(err) && err.code).toBe('DOCTOR_NO_RUNNING_BTF');
      expect(String((err as Error).message)).toMatch(/--kernel RELEASE/);
      // An installed kernel is checked from its files without a running one.
      const r = await runDoctor({ root: new SystemRoot(root.dir), kernel: R72, setupState: async () => NO_SETUP });
      expect(r.kernels.map((k) => k.release)).toEqual([R72]);
      const missing = await runDoctor({ root: new SystemRoot(root.dir), kernel: '9.9.9', setupState: async () => NO_SETUP }).catch((e: unknown) => e);
      expect(isModbtfError(missing) && missing.code).toBe('DOCTOR_NO_KERNEL');
    } finally { root.remove(); }
  });

  it('BTF the kernel refuses in a module built for it, compressed: decompress, objcopy without BTF, compress again (no rebuild)', async () => {
    const root = new SyntheticRoot();
    try {
      root.kernel({ release: R72, vmlinux: V72, allowMismatch: false, modules: { 'extra/badgz.ko.gz': gzipSync(moduleFile({ name: 'badgz', builtFor: R72, over: V72, badName: true })) } });
      const r = await runDoctor({ root: new SystemRoot(root.dir), kernel: R72, setupState: async () => NO_SETUP });
      expect(r.kernels[0]?.modules[0]?.verdict).toMatchObject({ outcome: 'fails-to-load', cause: 'rejected-by-kernel-checks', kernelLog: 'Invalid name' });
      const f = finding(r, R72, 'badgz');
      const ko = `/lib/modules/${R72}/extra/badgz.ko`;
      expect(f?.fix).toEqual([`gzip -d ${ko}.gz`, `objcopy --remove-section=.BTF --remove-section=.BTF.base ${ko}`, `gzip -n ${ko}`]);
      // The fix is already the load without BTF: not said twice.
      expect(f?.notes.filter((n) => n.includes('objcopy'))).toEqual([]);
    } finally { root.remove(); }
  });

  it('no vmlinux for an installed kernel: its modules are not checked, a note says so, and nothing is a finding', async () => {
    const root = new SyntheticRoot();
    try {
      root.kernel({ release: R72, allowMismatch: false, modules: { 'updates/a.ko': moduleFile({ name: 'a', builtFor: R72, over: V72 }) } });
      const r = await runDoctor({ root: new SystemRoot(root.dir), kernel: R72, setupState: async () => NO_SETUP });
      expect(r.kernels[0]?.modules[0]?.verdict).toMatchObject({ outcome: 'unknown', cause: 'no-vmlinux' });
      expect(r.findings).toEqual([]);
      expect(r.notes.some((n) => n.text.includes('install linux-headers-7.2.13+deb14-amd64'))).toBe(true);
    } finally { root.remove(); }
  });

  it('no config found: a refusal is "loses BTF, or fails to load"', async () => {
    const root = new SyntheticRoot();
    try {
      root.kernel({ release: R72, vmlinux: V72, modules: { 'updates/o.ko': moduleFile({ name: 'o', builtFor: R107, over: V107 }) } });
      const r = await runDoctor({ root: new SystemRoot(root.dir), kernel: R72, setupState: async () => NO_SETUP });
      expect(r.kernels[0]?.modules[0]?.verdict.outcome).toBe('loses-btf-or-fails-to-load');
      expect(r.notes.some((n) => n.text.startsWith(`no config of ${R72} found`))).toBe(true);
    } finally { root.remove(); }
  });

  it('a kernel without CONFIG_DEBUG_INFO_BTF_MODULES: no module has BTF, no finding per module', async () => {
    const root = new SyntheticRoot();
    try {
      root.kernel({ release: R72, vmlinux: V72, allowMismatch: false, btfModules: false, modules: { 'updates/o.ko': moduleFile({ name: 'o', builtFor: R107, over: V107 }) } });
      const r = await runDoctor({ root: new SystemRoot(root.dir), kernel: R72, setupState: async () => NO_SETUP });
      expect(r.kernels[0]?.modules[0]?.verdict).toMatchObject({ outcome: 'no-btf', cause: 'kernel-without-module-btf' });
      expect(r.findings).toEqual([]);
    } finally { root.remove(); }
  });

  it('an empty .BTF is no BTF (the loader skips it); BTF from another build under this kernel\'s vermagic is told by its names', async () => {
    const root = new SyntheticRoot();
    try {
      root.kernel({
        release: R72, vmlinux: V72, allowMismatch: false,
        modules: {
          'updates/empty.ko': moduleFile({ name: 'empty', builtFor: R72, emptyBtf: true }),
          // Made over 7.2.12 (same strings, ids moved by 3): its names fit, the vermagic decides.
          'updates/samestrings.ko': moduleFile({ name: 'samestrings', builtFor: R72, over: V7212 }),
          // Made over 6.12.107 (another string table) but carrying 7.2.13's vermagic.
          'updates/copied.ko': moduleFile({ name: 'copied', builtFor: R72, over: V107 }),
        },
      });
      const r = await runDoctor({ root: new SystemRoot(root.dir), kernel: R72, setupState: async () => NO_SETUP });
      expect(byName(r, R72, 'empty').verdict).toMatchObject({ outcome: 'no-btf', cause: 'no-btf-section' });
      expect(byName(r, R72, 'samestrings').verdict).toMatchObject({ outcome: 'keeps', splitFor: 'this-kernel' });
      const copied = byName(r, R72, 'copied').verdict;
      expect(copied).toMatchObject({ cause: 'split-for-other-vmlinux', splitFor: 'other-kernel' });
      expect(copied.summary).toContain('though its vermagic names 7.2.13+deb14-amd64');
      expect(finding(r, R72, 'copied')?.fix).toEqual(['modbtf setup', `make -C /lib/modules/${R72}/build M=$PWD modules`]);
    } finally { root.remove(); }
  });

  it('with modbtf setup in place for the kernel, a rebuild needs no `modbtf setup` first', async () => {
    const root = new SyntheticRoot();
    try {
      root.kernel({ release: R72, vmlinux: V72, allowMismatch: false, modules: { 'updates/dkms/e.ko': moduleFile({ name: 'e', builtFor: R107, over: V107, distilled: true, embedsBig: true }) } });
      root.dkms('e-dkms', '2.1', R72, 'e.ko');
      const r = await runDoctor({ root: new SystemRoot(root.dir), kernel: R72, setupState: async () => ({ recorded: true, hooks: true, hookedTrees: { [R72]: true } }) });
      expect(r.findings[0]?.fix).toEqual([`dkms build -m e-dkms -v 2.1 -k ${R72} --force`, `dkms install -m e-dkms -v 2.1 -k ${R72} --force`]);
    } finally { root.remove(); }
  });
});
