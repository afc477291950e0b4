// modbtf finalize against Debian's resolve_btfids 6.12 and libbpf v1.7.0 (via the
// golden btfids set): whole-file bytes, idempotence, and input left untouched on
// every failure.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fixtureBytes, fixturePath, firstDiff } from '../helpers/fixtures.js';

const CLI = join(fixturePath('..'), '..', 'dist', 'bundle', 'main.js');
let dir: string;
let vmlinux: string;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'modbtf-finalize-'));
  vmlinux = join(dir, 'vmlinux');
  writeFileSync(vmlinux, fixtureBytes('btfids/vmlinux-6.12.107.elf.gz'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function place(fixture: string, name: string): string {
  const p = join(dir, name);
  writeFileSync(p, fixtureBytes(`btfids/${fixture}`));
  return p;
}

function modbtf(...args: string[]): { status: number | null; stdout: string; stderr: string } {
  // GNU objcopy: what Debian's kbuild passes as $(OBJCOPY); its output equals pahole >= 1.28's.
  const r = spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', env: { ...process.env, OBJCOPY: 'objcopy', LLVM_OBJCOPY: '' } });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('finalize --distill equals pahole >= 1.28 + resolve_btfids (whole file)', () => {
  it.each([
    ['btfids_fixture.pristine.ko.gz', 'btfids_fixture.distilled.resolved.ko.gz'],
    ['tcp_bbr.pristine.ko.gz', 'tcp_bbr.distilled.resolved.ko.gz'],
    // already resolved against vmlinux (shipped module): ids remapped through the distill map
    ['tcp_bbr.resolved.ko.gz', 'tcp_bbr.distilled.resolved.ko.gz'],
    ['btfids_fixture.resolved.ko.gz', 'btfids_fixture.distilled.resolved.ko.gz'],
  ])('%s', (input, expected) => {
    const ko = place(input, `d-${input.replace(/\.gz$/, '')}`);
    const r = modbtf('finalize', '--distill', '-b', vmlinux, ko);
    expect(r.status, r.stderr).toBe(0);
    expect(firstDiff(readFileSync(ko), fixtureBytes(`btfids/${expected}`))).toBeUndefined();
    const again = modbtf('finalize', '--distill', '-b', vmlinux, ko);
    expect(again.status).toBe(0);
    expect(again.stdout).toMatch(/already final/);
    expect(firstDiff(readFileSync(ko), fixtureBytes(`btfids/${expected}`))).toBeUndefined();
  });

  it('prints resolve_btfids\' warnings for the distilled fixture and warns about ids the kernel will not relocate', () => {
    const ko = place('btfids_fixture.pristine.ko.gz', 'w.ko');
    const r = modbtf('finalize', '--distill', '-b', vmlinux, ko);
    expect(r.stderr).toContain('WARN: resolve_btfids: unresolved symbol sk_buff');
    expect(r.stderr).toMatch(/struct btfids_fixture_obj = 12 \(distilled-base numbering\).*not relocated by the kernel/);
    expect(modbtf('finalize', '--distill', '--fatal-warnings', '-b', vmlinux, place('btfids_fixture.pristine.ko.gz', 'w2.ko')).status).toBe(1);
  });
});

describe('distill --in-place', () => {
  it('is finalize --distill: the golden pahole >= 1.28 + resolve_btfids file', () => {
    const ko = place('tcp_bbr.pristine.ko.gz', 'inplace.ko');
    const r = modbtf('distill', '--in-place', '-b', vmlinux, ko);
    expect(r.status, r.stderr).toBe(0);
    expect(firstDiff(readFileSync(ko), fixtureBytes('btfids/tcp_bbr.distilled.resolved.ko.gz'))).toBeUndefined();
    expect(modbtf('distill', '-b', vmlinux, ko).status).toBe(2); // neither -o nor --in-place
  });
});

describe('with llvm-objcopy (lays the file out anew): the BTF sections equal the golden ones', () => {
  it.each(['btfids_fixture', 'tcp_bbr'])('%s', async (name) => {
    const { parseElf } = await import('../../lib/elf/index.js');
    const ko = place(`${name}.pristine.ko.gz`, `llvm-${name}.ko`);
    const r = modbtf('finalize', '--distill', '--objcopy', 'llvm-objcopy', '-b', vmlinux, ko);
    expect(r.status, r.stderr).toBe(0);
    const ours = parseElf(new Uint8Array(readFileSync(ko)));
    const gold = parseElf(fixtureBytes(`btfids/${name}.distilled.resolved.ko.gz`));
    for (const sec of ['.BTF', '.BTF.base', '.BTF_ids']) {
      const a = ours.sectionByName(sec);
      const b = gold.sectionByName(sec);
      expect(a && b, sec).toBeTruthy();
      if (!a || !b) continue;
      expect(firstDiff(ours.sectionData(a), gold.sectionData(b)), sec).toBeUndefined();
      expect([a.type, a.flags, a.addralign]).toEqual([b.type, b.flags, b.addralign]);
    }
    expect(modbtf('finalize', '--distill', '--objcopy', 'llvm-objcopy', '-b', vmlinux, ko).stdout).toMatch(/already final/);
  });
});

describe('finalize --no-distill equals resolve_btfids -b vmlinux (whole file)', () => {
  it.each([
    ['btfids_fixture.pristine.ko.gz', 'btfids_fixture.resolved.ko.gz'],
    ['tcp_bbr.pristine.ko.gz', 'tcp_bbr.resolved.ko.gz'],
    ['nf_conntrack.pristine.ko.gz', 'nf_conntrack.resolved.ko.gz'],
    // a second resolve_btfids run scrambles set8 flags; finalize recovers the layout instead
    ['nf_conntrack.resolved.ko.gz', 'nf_conntrack.resolved.ko.gz'],
  ])('%s', (input, expected) => {
    const ko = place(input, `n-${input.replace(/\.gz$/, '')}`);
    const r = modbtf('finalize', '--no-distill', '-b', vmlinux, ko);
    expect(r.status, r.stderr).toBe(0);
    expect(firstDiff(readFileSync(ko), fixtureBytes(`btfids/${expected}`))).toBeUndefined();
  });
});

describe('failures leave the input byte-identical', () => {
  function unchanged(fixture: string, args: (ko: string) => string[], status: number, message: RegExp, env: Record<string, string> = {}): void {
    const ko = place(fixture, `f-${Math.random().toString(36).slice(2)}.ko`);
    const before = readFileSync(ko);
    const r = spawnSync(process.execPath, [CLI, 'finalize', ...args(ko)], { encoding: 'utf8', env: { ...process.env, ...env } });
    expect(r.stderr).toMatch(message);
    expect(r.status).toBe(status);
    expect(Buffer.compare(readFileSync(ko), before)).toBe(0);
  }

  it('a signed module is refused (sign after finalizing)', () => {
    unchanged('tcp_bbr.signed.pristine.ko.gz', (ko) => ['-b', vmlinux, ko], 2, /is signed.*--strip-signature/);
  });
  it('--strip-signature finalizes it', () => {
    const ko = place('tcp_bbr.signed.pristine.ko.gz', 'signed.ko');
    expect(modbtf('finalize', '--strip-signature', '-b', vmlinux, ko).status).toBe(0);
    expect(firstDiff(readFileSync(ko), fixtureBytes('btfids/tcp_bbr.distilled.resolved.ko.gz'))).toBeUndefined();
  });
  it('missing objcopy: exit 3 naming the package', () => {
    unchanged('tcp_bbr.pristine.ko.gz', (ko) => ['--objcopy', '/nonexistent/objcopy', '-b', vmlinux, ko], 3, /objcopy not found \(install the Debian package binutils\)/);
  });
  it('missing vmlinux', () => {
    unchanged('tcp_bbr.pristine.ko.gz', (ko) => ['-b', join(dir, 'no-vmlinux'), ko], 2, /no-vmlinux: no such file/);
  });
  it('vmlinux of another kernel', () => {
    const other = join(dir, 'v117.btf');
    writeFileSync(other, fixtureBytes('btf/vmlinux-6.12.117.btf.gz'));
    unchanged('tcp_bbr.pristine.ko.gz', (ko) => ['-b', other, ko], 2, /f-[a-z0-9]+\.ko: \.BTF: type \[\d+\]: built for another kernel: .*its vermagic names 6\.12\.107\+deb12-amd64: give -b\/--base/);
  });
  it('truncated module', () => {
    const ko = join(dir, 'trunc.ko');
    writeFileSync(ko, fixtureBytes('btfids/tcp_bbr.pristine.ko.gz').subarray(0, 5000));
    const before = readFileSync(ko);
    const r = modbtf('finalize', '-b', vmlinux, ko);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/trunc\.ko: .*past the end of the 5000-byte file/);
    expect(Buffer.compare(readFileSync(ko), before)).toBe(0);
  });
  it('unwritable target directory', () => {
    const ko = join(dir, 'no-such-dir', 'x.ko');
    const r = modbtf('finalize', '-b', vmlinux, ko);
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('no-such-dir/x.ko');
  });
});

describe('compressed modules are recompressed as kbuild does', () => {
  it('a shipped .ko.xz (signature stripped) finalizes, stays xz, and a second run changes nothing', () => {
    const ko = join(dir, 'tcp_bbr.ko.xz');
    copyFileSync(fixturePath('modules/tcp_bbr.ko.xz'), ko);
    const r = modbtf('finalize', '--strip-signature', '-b', vmlinux, ko);
    expect(r.status, r.stderr).toBe(0);
    const out = readFileSync(ko);
    expect(out.subarray(0, 6).toString('hex')).toBe('fd377a585a00');
    const d = spawnSync('xz', ['-dc'], { input: out, maxBuffer: 1 << 26 });
    expect(firstDiff(d.stdout, fixtureBytes('btfids/tcp_bbr.distilled.resolved.ko.gz'))).toBeUndefined();
    expect(modbtf('finalize', '-b', vmlinux, ko).stdout).toMatch(/already final/);
    expect(Buffer.compare(readFileSync(ko), out)).toBe(0);
  });
});
