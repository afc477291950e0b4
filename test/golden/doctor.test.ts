// modbtf doctor where the verdict depends on real BTF (test/fixtures, PROVENANCE.md), and the
// CLI as users run it. What the kernel does is known from booting it (scripts/e2e-boot.mjs,
// shared/spec/E2E_FACTS.md): Debian's 6.12.117 refuses the BTF of 6.12.107's tcp_bbr as
// shipped with "BPF: \tInvalid name_offset:2053498" and registers none, loads without BTF
// (CONFIG_MODULE_ALLOW_BTF_MISMATCH=y), and registers the BTF of the same module distilled
// by modbtf finalize; each kernel registers the BTF of its own modules.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { Btf } from '../../lib/btf/btf.js';
import { KERNEL_CHECKS, checkModuleBtfAsKernel, kernelViewOf, namesStartStrings } from '../../lib/btf/kernel-checks.js';
import { runDoctor, type DoctorReport } from '../../lib/doctor/doctor.js';
import { SystemRoot } from '../../lib/doctor/root.js';
import { parseElf } from '../../lib/elf/index.js';
import { SHT_PROGBITS } from '../../lib/elf/constants.js';
import { buildElfImage } from '../helpers/elf-image.js';
import { fixtureBytes, fixturePath, goldenModules, vmlinuxBtf } from '../helpers/fixtures.js';

const CLI = join(fixturePath('..'), '..', 'dist', 'bundle', 'main.js');
const R107 = '6.12.107+deb12-amd64';
const R117 = '6.12.117+deb12-amd64';
const DEBIAN_612_CONFIG = 'CONFIG_DEBUG_INFO_BTF=y\nCONFIG_DEBUG_INFO_BTF_MODULES=y\nCONFIG_MODULE_ALLOW_BTF_MISMATCH=y\n';

function section(bytes: Uint8Array, name: string): Uint8Array {
  const elf = parseElf(bytes);
  const s = elf.sectionByName(name);
  if (!s) throw new Error(`no ${name}`);
  return elf.sectionData(s);
}

describe('the kernel\'s checks on real module BTF', () => {
  it('Debian 6.12.107 accepts the BTF of each of its own modules (6.12 rules)', () => {
    const view = kernelViewOf(vmlinuxBtf('107'));
    for (const m of goldenModules()) {
      const r = checkModuleBtfAsKernel(fixtureBytes(`btf/${m}.btf.gz`), undefined, view, KERNEL_CHECKS['6.12'], true);
      expect(r.problem, m).toBeUndefined();
    }
  });

  it('Debian 6.12.117 refuses tcp_bbr of 6.12.107 as shipped with the line its boot logged', () => {
    const btf = section(fixtureBytes('modules/tcp_bbr.signed.pristine.ko.gz'), '.BTF');
    const r = checkModuleBtfAsKernel(btf, undefined, kernelViewOf(vmlinuxBtf('117')), KERNEL_CHECKS['6.12'], true);
    expect(r.problem).toMatchObject({ logLine: '\tInvalid name_offset:2053498', errno: -22, loggedWhenMismatchAllowed: true });
  });

  it('the names of a module\'s split BTF start strings of the vmlinux it was made over, not of another', () => {
    const v107 = kernelViewOf(vmlinuxBtf('107'));
    for (const m of goldenModules()) expect(namesStartStrings(fixtureBytes(`btf/${m}.btf.gz`), v107, KERNEL_CHECKS['6.12']), m).toBe(true);
    const bbr = section(fixtureBytes('modules/tcp_bbr.signed.pristine.ko.gz'), '.BTF');
    expect(namesStartStrings(bbr, kernelViewOf(vmlinuxBtf('117')), KERNEL_CHECKS['6.12'])).toBe(false);
  });

  it('7.2 kbuild\'s own modules (.BTF.base, 32-byte headers) pass 7.2.13\'s checks, arm64 and s390x (big-endian)', () => {
    for (const arch of ['arm64', 's390x']) {
      const vm = Btf.parse(fixtureBytes(`cross/vmlinux-7.2.13-${arch}.btf.gz`));
      const ko = fixtureBytes(`cross/${arch}/k7fix.kbuild.ko.gz`);
      const r = checkModuleBtfAsKernel(section(ko, '.BTF'), section(ko, '.BTF.base'), kernelViewOf(vm), KERNEL_CHECKS['7'], false);
      expect(r.problem, arch).toBeUndefined();
      expect(vm.littleEndian).toBe(arch !== 's390x');
    }
  });
});

/** A module file carrying libbpf's distilled pair of tcp_bbr (golden dsplit/dbase), as finalize writes it. */
function distilledBbr(): Uint8Array {
  const modinfo = new TextEncoder().encode(`name=tcp_bbr\0vermagic=${R107} SMP preempt mod_unload modversions \0`);
  return buildElfImage({
    is64: true, littleEndian: true, symbols: [],
    sections: [
      { name: '.modinfo', type: SHT_PROGBITS, flags: 2, data: modinfo },
      { name: '.BTF', type: SHT_PROGBITS, data: fixtureBytes('btf/tcp_bbr.dsplit.btf.gz') },
      { name: '.BTF.base', type: SHT_PROGBITS, data: fixtureBytes('btf/tcp_bbr.dbase.btf.gz') },
    ],
  }).bytes;
}

describe('modbtf doctor over a snapshot of Debian 6.12.117 with 6.12.107 modules', () => {
  let dir: string;
  const put = (p: string, data: Uint8Array | string): void => {
    mkdirSync(dirname(join(dir, p)), { recursive: true });
    writeFileSync(join(dir, p), data);
  };
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'modbtf-doctor-golden-'));
    put('proc/sys/kernel/osrelease', `${R117}\n`);
    put('sys/kernel/btf/vmlinux', fixtureBytes('btf/vmlinux-6.12.117.btf.gz'));
    // What the booted 6.12.117 showed: tcp_bbr as shipped loaded (forced), no BTF registered.
    put('sys/module/tcp_bbr/initstate', 'live\n');
    put('sys/module/tcp_bbr/taint', 'F\n');
    for (const r of [R107, R117]) {
      put(`boot/config-${r}`, DEBIAN_612_CONFIG);
      put(`lib/modules/${r}/modules.builtin`, 'kernel/fs/ext4/ext4.ko\n');
    }
    put(`usr/src/linux-headers-${R107}/vmlinux`, fixtureBytes('btfids/vmlinux-6.12.107.elf.gz'));
    put(`lib/modules/${R117}/updates/tcp_bbr.ko.xz`, fixtureBytes('modules/tcp_bbr.ko.xz'));
    put(`lib/modules/${R117}/extra/distilled/tcp_bbr.ko`, distilledBbr());
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('names the shipped module: split BTF for 6.12.107, refused with the logged line, fixed by finalize against 6.12.107\'s vmlinux', async () => {
    const r: DoctorReport = await runDoctor({ root: new SystemRoot(dir), setupState: async () => ({ recorded: false, hooks: false, hookedTrees: {} }) });
    const k = r.kernels.find((x) => x.release === R117);
    const shipped = k?.modules.find((m) => m.file.endsWith('updates/tcp_bbr.ko.xz'));
    expect(shipped).toMatchObject({
      builtFor: R107, hasBtfBase: false,
      verdict: { outcome: 'loses-btf', cause: 'split-for-other-vmlinux', kernelLog: '\tInvalid name_offset:2053498', withBtfBase: { builtWith: `/usr/src/linux-headers-${R107}/vmlinux`, keeps: true } },
      loaded: { matchedBy: 'name', btfRegistered: false, agrees: true },
    });
    const f = r.findings.find((x) => x.file?.endsWith('updates/tcp_bbr.ko.xz'));
    expect(f?.fix).toEqual([`modbtf finalize --strip-signature -b /usr/src/linux-headers-${R107}/vmlinux /lib/modules/${R117}/updates/tcp_bbr.ko.xz`, 'modprobe -r tcp_bbr && modprobe tcp_bbr']);
    // libbpf's distilled pair relocates onto 6.12.117 (golden tcp_bbr.reloc117.btf exists for it): kept.
    const distilled = k?.modules.find((m) => m.file.endsWith('extra/distilled/tcp_bbr.ko'));
    expect(distilled?.verdict).toMatchObject({ outcome: 'keeps', cause: 'ok' });
  });

  it('the CLI: text with the fix, --json with schema modbtf-doctor/1, exit 1 for findings', () => {
    const t = spawnSync(process.execPath, [CLI, 'doctor', '--root', dir], { encoding: 'utf8' });
    expect(t.status).toBe(1);
    expect(t.stdout).toContain(`fix:\n     modbtf finalize --strip-signature -b /usr/src/linux-headers-${R107}/vmlinux /lib/modules/${R117}/updates/tcp_bbr.ko.xz`);
    expect(t.stdout).toMatch(/kernel 6\.12\.117\+deb12-amd64 \(running\): \/boot\/config-6\.12\.117\+deb12-amd64: DEBUG_INFO_BTF_MODULES=y, MODULE_ALLOW_BTF_MISMATCH=y; relocates \.BTF\.base/);
    const j = spawnSync(process.execPath, [CLI, 'doctor', '--json', '--root', dir], { encoding: 'utf8' });
    expect(j.status).toBe(1);
    const doc = JSON.parse(j.stdout) as DoctorReport;
    expect(doc.schema).toBe('modbtf-doctor/1');
    expect(doc.findings.length).toBeGreaterThan(0);
  });

  it('exit 0 with nothing found (the 6.12.107 kernel has no out-of-tree modules); exit 2 without /sys/kernel/btf or --root', () => {
    const ok = spawnSync(process.execPath, [CLI, 'doctor', '-k', R107, '--root', dir], { encoding: 'utf8' });
    expect(ok.status, ok.stderr).toBe(0);
    expect(ok.stdout).toMatch(/nothing found/);
    const empty = mkdtempSync(join(tmpdir(), 'modbtf-doctor-empty-'));
    try {
      const r = spawnSync(process.execPath, [CLI, 'doctor', '--root', empty], { encoding: 'utf8' });
      expect(r.status).toBe(2);
      expect(r.stderr).toMatch(/no \/sys\/kernel\/btf\/vmlinux: no \/sys\/kernel here \(a container/);
    } finally { rmSync(empty, { recursive: true, force: true }); }
    const none = spawnSync(process.execPath, [CLI, 'doctor', '--root', join(dir, 'nonexistent')], { encoding: 'utf8' });
    expect(none.status).toBe(2);
    expect(none.stderr).toMatch(/no such directory/);
  });
});
