/**
 * arm64 and big-endian s390x against the reference tools (test/fixtures/cross, made by
 * scripts/gen-cross-fixtures.mjs in a sid chroot with Debian's cross compilers, 7.2 kbuild,
 * libbpf 1.7.0 and bpftool 7.8; PROVENANCE.md there):
 *
 *  1. kernel7Btf (the 7.x profile): the cross-built k7fix and s390x's shipped tcp_bbr, with
 *     and without --distill_base: raw .BTF, .BTF.base, .BTF_ids and the -v lines equal
 *     resolve_btfids 7.2.13's (big-endian output stays big-endian).
 *  2. The resolve-btfids command with gen-btf.sh's command lines, then `--patch_btfids`
 *     on the object with the sections added (as the cross objcopy left it): the module the
 *     cross kbuild wrote, byte for byte.
 *  3. distill of s390x tcp_bbr (7.2.13 and 6.12.107) equals btf__distill_base(); relocation
 *     of the 6.12.107 pair onto 7.2.13 fails with libbpf's message.
 *  4. dump equals bpftool 7.8 (raw and -j) on the big-endian module BTF and on the distilled pair.
 *  5. finalize of a shipped s390x module: with no objcopy that handles s390x, exit 3 naming
 *     the machine and the packages, input untouched; with one (llvm-objcopy or the cross
 *     binutils), the module's sections equal resolve_btfids 7.2.13's.
 */
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, dirname, join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { Btf } from '../../lib/btf/btf.js';
import { dumpRaw } from '../../lib/btf/dump-raw.js';
import { dumpJson } from '../../lib/btf/dump-json.js';
import { parseElf, type ElfFile } from '../../lib/elf/index.js';
import { distill } from '../../lib/distill/index.js';
import { formatLibbpfFailure, relocationTarget, tryRelocate } from '../../lib/relocate/index.js';
import { runResolveBtfids } from '../../cli/commands/resolve-btfids.js';
import { fixtureBytes, fixturePath, firstDiff } from '../helpers/fixtures.js';
import { expectSame, toolRun } from '../helpers/reference.js';
import { expectKernel7BtfAsTool } from '../helpers/kernel7.js';

type Arch = 'arm64' | 's390x';
const ARCHES: Arch[] = ['arm64', 's390x'];
const bytes = (name: string): Uint8Array => fixtureBytes(`cross/${name}.gz`);
const text = (name: string): string => readFileSync(fixturePath(`cross/${name}`), 'utf8');
const textGz = (name: string): string => Buffer.from(bytes(name)).toString('utf8');
const vmlinuxCache = new Map<string, Btf>();
function vmlinux(tag: string): Btf {
  let b = vmlinuxCache.get(tag);
  if (!b) vmlinuxCache.set(tag, (b = Btf.parse(bytes(`vmlinux-${tag}.btf`), { file: `vmlinux-${tag}` })));
  return b;
}
const vmlinuxInChroot = (arch: Arch): string => `/usr/src/linux-headers-7.2.13+deb14-${arch}/vmlinux`;

function section(elf: ElfFile, name: string): Uint8Array {
  const s = elf.sectionByName(name);
  if (!s) throw new Error(`no ${name}`);
  return elf.sectionData(s);
}
const reference = (name: string): { stderr: string; exit: number } => toolRun(text(name), name);

const dirs: string[] = [];
afterAll(() => { for (const d of dirs) rmSync(d, { recursive: true, force: true }); });
function scratch(): string {
  const d = mkdtempSync(join(tmpdir(), 'modbtf-cross-'));
  dirs.push(d);
  return d;
}

describe('the elf header says what the fixtures are', () => {
  it('arm64 k7fix is little-endian AArch64, s390x k7fix and tcp_bbr big-endian S/390', () => {
    const h = (f: string): [number, boolean] => { const e = parseElf(bytes(f)); return [e.machine, e.littleEndian]; };
    expect(h('arm64/k7fix.linked.ko')).toEqual([183, true]);
    expect(h('s390x/k7fix.linked.ko')).toEqual([22, false]);
    expect(h('s390x/tcp_bbr-7.2.13.shipped.ko')).toEqual([22, false]);
    // BTF magic as the machine writes it: 0xeB9F in the module's byte order.
    expect([...bytes('s390x/k7fix.distill.BTF').subarray(0, 2)]).toEqual([0xeb, 0x9f]);
    expect([...bytes('arm64/k7fix.distill.BTF').subarray(0, 2)]).toEqual([0x9f, 0xeb]);
  });
});

describe('kernel7Btf equals resolve_btfids 7.2.13 on arm64 and s390x', () => {
  const inputs: [string, string, string, (elf: ElfFile) => Uint8Array, number][] = [
    ...ARCHES.map((a): [string, string, string, (elf: ElfFile) => Uint8Array, number] => [`${a}/k7fix`, `${a}/k7fix.linked.ko`, `7.2.13-${a}`, () => bytes(`${a}/k7fix.pahole.btf`), 1]),
    ['s390x/tcp_bbr-7.2.13', 's390x/tcp_bbr-7.2.13.pristine.ko', '7.2.13-s390x', (elf) => section(elf, '.BTF'), 0],
  ];
  for (const [name, ko, vm, btfOf, verbose] of inputs) {
    for (const variant of ['distill', 'nodistill'] as const) {
      it(`${name}, ${variant === 'distill' ? '--distill_base' : 'in-tree (no distill)'}`, () => {
        expectKernel7BtfAsTool({ name, ko: bytes(ko), btfOf, vmlinux: vmlinux(vm), variant, verbose, bytes, text });
      });
    }
  }
});

/** Runs the command with k7fix.* made absolute in `dir`; output given back relative to `dir`. */
async function run(dir: string, argv: string[]): Promise<{ exit: number; stderr: string; stdout: string }> {
  let stderr = '';
  let stdout = '';
  const abs = argv.map((a) => (a.startsWith('k7fix.') ? join(dir, a) : a));
  const exit = await runResolveBtfids(abs, { stderr: (t) => { stderr += t; }, stdout: (t) => { stdout += t; } }, {});
  const local = (t: string): string => t.split(`${dir}/`).join('');
  return { exit, stderr: local(stderr), stdout: local(stdout) };
}

describe('modbtf resolve-btfids on cross-built modules (gen-btf.sh command lines)', () => {
  for (const arch of ARCHES) {
    for (const variant of ['distill', 'nodistill'] as const) {
      it(`${arch}: ${variant === 'distill' ? '--distill_base ' : ''}--verbose --btf_base vmlinux --btf k7fix.ko.BTF.1 k7fix.ko`, async () => {
        const dir = scratch();
        writeFileSync(join(dir, 'k7fix.ko'), bytes(`${arch}/k7fix.linked.ko`));
        writeFileSync(join(dir, 'k7fix.ko.BTF.1'), bytes(`${arch}/k7fix.pahole.btf`));
        const vm = join(dir, 'vmlinux');
        writeFileSync(vm, bytes(`vmlinux-7.2.13-${arch}.btf`));
        const r = await run(dir, [...(variant === 'distill' ? ['--distill_base'] : []), '--verbose', '--btf_base', vm, '--btf', 'k7fix.ko.BTF.1', 'k7fix.ko']);
        const ref = reference(`${arch}/k7fix.${variant}.stderr`);
        expect(r.exit).toBe(ref.exit);
        expect(r.stderr).toBe(ref.stderr.split(vmlinuxInChroot(arch)).join(vm));
        expect(r.stdout).toBe('');
        for (const s of ['BTF', 'BTF.base', 'BTF_ids']) {
          const f = join(dir, `k7fix.ko.${s}`);
          if (variant === 'nodistill' && s === 'BTF.base') expect(existsSync(f)).toBe(false);
          else expectSame(`${arch} k7fix.ko.${s}`, new Uint8Array(readFileSync(f)), bytes(`${arch}/k7fix.${variant}.${s}`));
        }
        expectSame(`${arch} k7fix.ko (unchanged)`, new Uint8Array(readFileSync(join(dir, 'k7fix.ko'))), bytes(`${arch}/k7fix.linked.ko`));
      });
    }

    it(`${arch}: --patch_btfids k7fix.ko.BTF_ids k7fix.ko gives the module the cross kbuild wrote`, async () => {
      // What gen-btf.sh has after its two `<triple>-objcopy --add-section` calls: the final
      // module with .BTF_ids as linked (objcopy leaves that section's bytes alone).
      const final = bytes(`${arch}/k7fix.kbuild.ko`);
      const elf = parseElf(final);
      const ids = elf.sectionByName('.BTF_ids');
      if (!ids) throw new Error('no .BTF_ids');
      const before = new Uint8Array(final);
      before.set(section(parseElf(bytes(`${arch}/k7fix.linked.ko`)), '.BTF_ids'), ids.offset);
      const dir = scratch();
      writeFileSync(join(dir, 'k7fix.ko'), before);
      writeFileSync(join(dir, 'k7fix.ko.BTF_ids'), bytes(`${arch}/k7fix.distill.BTF_ids`));
      const r = await run(dir, ['--patch_btfids', 'k7fix.ko.BTF_ids', 'k7fix.ko']);
      expect(r).toEqual({ exit: 0, stderr: '', stdout: '' });
      expectSame(`${arch} k7fix.ko`, new Uint8Array(readFileSync(join(dir, 'k7fix.ko'))), final);
    });
  }
});

describe('s390x tcp_bbr: distill, relocation and dump against libbpf 1.7.0 and bpftool 7.8', () => {
  const cases: [string, string][] = [['7.2.13', '7.2.13-s390x'], ['6.12.107', '6.12.107-s390x']];
  const moduleBtf = (ver: string, vm: string): Btf =>
    Btf.parse(section(parseElf(bytes(`s390x/tcp_bbr-${ver}.shipped.ko`)), '.BTF'), { base: vmlinux(vm), file: `tcp_bbr-${ver}` });

  for (const [ver, vm] of cases) {
    it(`${ver}: distill equals btf__distill_base() (big-endian bytes)`, () => {
      const r = distill(vmlinux(vm), moduleBtf(ver, vm));
      expectSame(`tcp_bbr-${ver} dbase`, r.base, bytes(`s390x/tcp_bbr-${ver}.libbpf.dbase.btf`));
      expectSame(`tcp_bbr-${ver} dsplit`, r.split, bytes(`s390x/tcp_bbr-${ver}.libbpf.dsplit.btf`));
    });

    it(`${ver}: dump of the module BTF equals bpftool (raw and -j)`, () => {
      const btf = moduleBtf(ver, vm);
      expect(dumpRaw(btf)).toBe(textGz(`s390x/tcp_bbr-${ver}.bpftool.txt`));
      expect(dumpJson(btf)).toBe(textGz(`s390x/tcp_bbr-${ver}.bpftool.json`));
    });

    it(`${ver}: dump of libbpf's distilled pair equals bpftool -B dbase`, () => {
      const dbase = Btf.parse(bytes(`s390x/tcp_bbr-${ver}.libbpf.dbase.btf`));
      const dsplit = Btf.parse(bytes(`s390x/tcp_bbr-${ver}.libbpf.dsplit.btf`), { base: dbase });
      expect(dumpRaw(dsplit)).toBe(textGz(`s390x/tcp_bbr-${ver}.libbpf.dsplit.bpftool.txt`));
    });
  }

  it('6.12.107 onto 7.2.13: relocation fails with the message libbpf printed (oracle row)', () => {
    const row = text('s390x/libbpf-oracle.tsv').split('\n').find((l) => l.startsWith('tcp_bbr-6.12.107\t'))?.split('\t');
    expect(row?.[3]).toBe('reloc-fail');
    const dbase = Btf.parse(bytes('s390x/tcp_bbr-6.12.107.libbpf.dbase.btf'));
    const dsplit = Btf.parse(bytes('s390x/tcp_bbr-6.12.107.libbpf.dsplit.btf'), { base: dbase });
    const r = tryRelocate(dbase, dsplit, relocationTarget(vmlinux('7.2.13-s390x')));
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(formatLibbpfFailure(r.failure).trimEnd()).toBe(row?.[6]);
  });
});

describe('finalize of a shipped s390x module', () => {
  const CLI = join(fixturePath('..'), '..', 'dist', 'bundle', 'main.js');
  const setup = (): { dir: string; vm: string; ko: string } => {
    const dir = scratch();
    const vm = join(dir, 'vmlinux');
    writeFileSync(vm, bytes('vmlinux-7.2.13-s390x.btf'));
    const ko = join(dir, 'tcp_bbr.ko');
    writeFileSync(ko, bytes('s390x/tcp_bbr-7.2.13.shipped.ko'));
    return { dir, vm, ko };
  };

  it('with only an x86 GNU objcopy: exit 3 naming the machine and the Debian packages; the module is untouched', () => {
    const { dir, vm, ko } = setup();
    // Debian 12's binutils on amd64: its --info lists x86 BFD targets, no elf64-s390.
    const bin = join(dir, 'bin');
    spawnSync('mkdir', [bin]);
    writeFileSync(join(bin, 'objcopy'), "#!/bin/sh\ncase \"$1\" in --version) echo 'GNU objcopy (GNU Binutils for Debian) 2.40';; --info) printf 'BFD header file version (GNU Binutils for Debian) 2.40\\nelf64-x86-64\\n (header little endian, data little endian)\\n  i386\\n';; *) exit 1;; esac\n");
    chmodSync(join(bin, 'objcopy'), 0o755);
    symlinkSync(process.execPath, join(bin, 'node'));
    const r = spawnSync(process.execPath, [CLI, 'finalize', '--distill', '--strip-signature', '-b', vm, ko], {
      encoding: 'utf8', env: { PATH: bin, HOME: dir },
    });
    expect(r.status, r.stderr).toBe(3);
    expect(r.stderr).toContain('no objcopy here handles s390 (64-bit big-endian, e_machine 22) modules');
    expect(r.stderr).toMatch(/install one of the Debian packages llvm .*binutils-multiarch, binutils-s390x-linux-gnu/);
    expect(firstDiff(readFileSync(ko), bytes('s390x/tcp_bbr-7.2.13.shipped.ko'))).toBeUndefined();
  });

  // llvm-objcopy or the cross binutils: `npm test` on a machine without either (CI runs it
  // before the e2e installs llvm) skips this one; scripts/cross-shipped.mjs does it on 20
  // shipped modules per architecture with the tools installed.
  const capable = (process.env['PATH'] ?? '').split(delimiter).some((p) => ['llvm-objcopy', 's390x-linux-gnu-objcopy'].some((t) => existsSync(join(p, t))));
  it.runIf(capable)('with llvm-objcopy or s390x-linux-gnu-objcopy found on PATH: the sections equal resolve_btfids 7.2.13 --distill_base', () => {
    const { vm, ko } = setup();
    const r = spawnSync(process.execPath, [CLI, 'finalize', '--distill', '--strip-signature', '-b', vm, ko], {
      encoding: 'utf8', env: { PATH: `${dirname(process.execPath)}${delimiter}${process.env['PATH'] ?? ''}`, HOME: dirname(ko) },
    });
    expect(r.status, r.stderr).toBe(0);
    const elf = parseElf(new Uint8Array(readFileSync(ko)));
    expect(elf.littleEndian).toBe(false);
    expectSame('.BTF', section(elf, '.BTF'), bytes('s390x/tcp_bbr-7.2.13.distill.BTF'));
    expectSame('.BTF.base', section(elf, '.BTF.base'), bytes('s390x/tcp_bbr-7.2.13.distill.BTF.base'));
    expectSame('.BTF_ids', section(elf, '.BTF_ids'), bytes('s390x/tcp_bbr-7.2.13.distill.BTF_ids'));
  });
});
