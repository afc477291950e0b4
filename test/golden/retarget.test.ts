// modbtf retarget against libbpf v1.7.0 (golden *.reloc117.btf, dbase/dsplit) and
// Debian's resolve_btfids 6.12 (golden *.resolved.ko): the relocated .BTF byte for
// byte, .BTF.base gone, the distilled pair kept, idempotence, retargeting again from
// the kept pair, .BTF_ids resolved against the target (set8 flags kept with their
// kfuncs, plain lists right), and nothing written when relocation fails.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Btf } from '../../lib/btf/btf.js';
import { BtfKind } from '../../lib/btf/kinds.js';
import { distill } from '../../lib/distill/index.js';
import { parseElf, type ElfFile } from '../../lib/elf/index.js';
import { retargetModule, KEPT_BTF_BASE_SECTION, KEPT_BTF_IDS_SECTION, KEPT_BTF_SECTION } from '../../lib/module/retarget.js';
import { fixtureBytes, fixturePath, firstDiff, vmlinuxBtf } from '../helpers/fixtures.js';

const CLI = join(fixturePath('..'), '..', 'dist', 'bundle', 'main.js');
const V117 = fixturePath('btf/vmlinux-6.12.117.btf.gz');
let dir: string;
let vmlinux107: string;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'modbtf-retarget-'));
  vmlinux107 = join(dir, 'vmlinux-6.12.107');
  writeFileSync(vmlinux107, fixtureBytes('btfids/vmlinux-6.12.107.elf.gz'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function place(fixture: string, name: string): string {
  const p = join(dir, name);
  writeFileSync(p, fixtureBytes(fixture));
  return p;
}

function modbtf(...args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', env: { ...process.env, OBJCOPY: 'objcopy', LLVM_OBJCOPY: '' } });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

function elfOf(path: string): ElfFile {
  return parseElf(new Uint8Array(readFileSync(path)), { file: path });
}

function section(elf: ElfFile, name: string): Uint8Array | undefined {
  const s = elf.sectionByName(name);
  return s ? elf.sectionData(s) : undefined;
}

/** A finalized tcp_bbr (.BTF + .BTF.base as pahole >= 1.28 writes them). */
function finalizedBbr(name: string): string {
  const ko = place('btfids/tcp_bbr.pristine.ko.gz', name);
  const r = modbtf('finalize', '--distill', '-b', vmlinux107, ko);
  expect(r.status, r.stderr).toBe(0);
  return ko;
}

/** u32 at `symbol`'s slot in .BTF_ids. */
function slot(elf: ElfFile, value: bigint): number {
  const ids = elf.sectionByName('.BTF_ids');
  if (!ids) throw new Error('no .BTF_ids');
  const data = elf.sectionData(ids);
  return new DataView(data.buffer, data.byteOffset, data.length).getUint32(Number(value - ids.addr), true);
}

/** kfunc name -> flags over every BTF_SET8 of the module, names looked up in `btf`. */
function set8Flags(elf: ElfFile, btf: Btf): Map<string, number> {
  const out = new Map<string, number>();
  for (const sym of elf.symbols()) {
    if (!sym.name.startsWith('__BTF_ID__set8__')) continue;
    const cnt = slot(elf, sym.value);
    for (let i = 0; i < cnt; i++) {
      const id = slot(elf, sym.value + BigInt(8 + 8 * i));
      const flags = slot(elf, sym.value + BigInt(12 + 8 * i));
      out.set(`${sym.name}:${btf.name(id)}`, flags);
    }
  }
  return out;
}

describe('retarget a finalized module onto 6.12.117', () => {
  let ko: string;
  beforeAll(() => {
    ko = finalizedBbr('bbr.ko');
    const r = modbtf('retarget', '--kernel', V117, ko);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/retargeted onto/);
  });

  it('.BTF is libbpf\'s relocation, .BTF.base is gone, the distilled pair is kept', () => {
    const elf = elfOf(ko);
    expect(firstDiff(section(elf, '.BTF') as Uint8Array, fixtureBytes('btf/tcp_bbr.reloc117.btf.gz'))).toBeUndefined();
    expect(elf.sectionByName('.BTF.base')).toBeUndefined();
    expect(firstDiff(section(elf, KEPT_BTF_SECTION) as Uint8Array, fixtureBytes('btf/tcp_bbr.dsplit.btf.gz'))).toBeUndefined();
    expect(firstDiff(section(elf, KEPT_BTF_BASE_SECTION) as Uint8Array, fixtureBytes('btf/tcp_bbr.dbase.btf.gz'))).toBeUndefined();
    // the kept .BTF_ids is the finalized module's (distilled numbering)
    const golden = parseElf(fixtureBytes('btfids/tcp_bbr.distilled.resolved.ko.gz'));
    expect(firstDiff(section(elf, KEPT_BTF_IDS_SECTION) as Uint8Array, section(golden, '.BTF_ids') as Uint8Array)).toBeUndefined();
    for (const name of [KEPT_BTF_SECTION, KEPT_BTF_BASE_SECTION, KEPT_BTF_IDS_SECTION]) {
      const s = elf.sectionByName(name);
      expect([s?.type, s?.flags, s?.addralign]).toEqual([1, 0, 1]); // PROGBITS, no flags, align 1
    }
  });

  it('.BTF_ids names the same kfuncs, with the same flags, in the 6.12.117 numbering', () => {
    const elf = elfOf(ko);
    const btf = Btf.parse(section(elf, '.BTF') as Uint8Array, { base: vmlinuxBtf('117') });
    const gold = parseElf(fixtureBytes('btfids/tcp_bbr.resolved.ko.gz'));
    const goldBtf = Btf.parse(section(gold, '.BTF') as Uint8Array, { base: vmlinuxBtf('107') });
    const flags = set8Flags(elf, btf);
    expect(flags.size).toBe(8);
    expect(flags).toEqual(set8Flags(gold, goldBtf));
  });

  it('a second run onto the same kernel changes nothing', () => {
    const before = readFileSync(ko);
    const r = modbtf('retarget', '--kernel', V117, ko);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/already retargeted/);
    expect(firstDiff(readFileSync(ko), before)).toBeUndefined();
  });

  it('retargets again from the kept pair: onto 6.12.107 it is what resolve_btfids gives a normal build', () => {
    const again = join(dir, 'bbr-again.ko');
    writeFileSync(again, readFileSync(ko));
    const r = modbtf('retarget', '--kernel', vmlinux107, again);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/from the kept distilled BTF/);
    const elf = elfOf(again);
    const gold = parseElf(fixtureBytes('btfids/tcp_bbr.resolved.ko.gz'));
    expect(firstDiff(section(elf, '.BTF_ids') as Uint8Array, section(gold, '.BTF_ids') as Uint8Array)).toBeUndefined();
    expect(firstDiff(section(elf, KEPT_BTF_SECTION) as Uint8Array, fixtureBytes('btf/tcp_bbr.dsplit.btf.gz'))).toBeUndefined();
    // Relocation appends the types distill moved into the split, so .BTF is not the
    // pahole split; distilling it again gives the same pair (golden README property).
    const d = distill(vmlinuxBtf('107'), Btf.parse(section(elf, '.BTF') as Uint8Array, { base: vmlinuxBtf('107') }));
    expect(firstDiff(d.split, fixtureBytes('btf/tcp_bbr.dsplit.btf.gz'))).toBeUndefined();
    expect(firstDiff(d.base, fixtureBytes('btf/tcp_bbr.dbase.btf.gz'))).toBeUndefined();
    // and back onto 6.12.117: the first retarget's file again
    expect(modbtf('retarget', '--kernel', V117, again).status).toBe(0);
    expect(firstDiff(readFileSync(again), readFileSync(ko))).toBeUndefined();
  });

  it('takes a module built by pahole >= 1.28 + resolve_btfids (golden) the same way', () => {
    const g = place('btfids/tcp_bbr.distilled.resolved.ko.gz', 'bbr-pahole.ko');
    expect(modbtf('retarget', '--kernel', V117, g).status).toBe(0);
    const elf = elfOf(g);
    expect(firstDiff(section(elf, '.BTF') as Uint8Array, fixtureBytes('btf/tcp_bbr.reloc117.btf.gz'))).toBeUndefined();
    expect(firstDiff(section(elf, '.BTF_ids') as Uint8Array, section(elfOf(ko), '.BTF_ids') as Uint8Array)).toBeUndefined();
  });
});

describe('nf_conntrack (resolved against 6.12.107, no .BTF.base): --built-with', () => {
  it('onto 6.12.117: .BTF is libbpf\'s relocation; btf_nf_conn_ids names nf_conn and nf_conn___init there; kfunc flags kept', () => {
    const ko = place('btfids/nf_conntrack.resolved.ko.gz', 'nf.ko');
    const r = modbtf('retarget', '--built-with', vmlinux107, '--kernel', V117, ko);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/struct nf_conn in \.BTF_ids is now \d+; with \.BTF\.base alone the kernel would keep 66/);
    const elf = elfOf(ko);
    expect(firstDiff(section(elf, '.BTF') as Uint8Array, fixtureBytes('btf/nf_conntrack.reloc117.btf.gz'))).toBeUndefined();
    const v117 = vmlinuxBtf('117');
    const named: string[] = [];
    for (const sym of elf.symbols()) {
      const m = /^__BTF_ID__struct__(nf_conn(?:___init)?)__\d+$/.exec(sym.name);
      if (!m) continue;
      const id = slot(elf, sym.value);
      expect(id).toBeLessThan(v117.typeCount);
      expect(v117.kind(id)).toBe(BtfKind.Struct);
      named.push(v117.name(id));
      expect(v117.name(id)).toBe(m[1]);
    }
    expect(new Set(named)).toEqual(new Set(['nf_conn', 'nf_conn___init']));
    const btf = Btf.parse(section(elf, '.BTF') as Uint8Array, { base: v117 });
    const gold = parseElf(fixtureBytes('btfids/nf_conntrack.resolved.ko.gz'));
    const goldBtf = Btf.parse(section(gold, '.BTF') as Uint8Array, { base: vmlinuxBtf('107') });
    const flags = set8Flags(elf, btf);
    expect(new Set(flags.values()).size).toBeGreaterThan(1); // flags differ between kfuncs: pairing matters
    expect(flags).toEqual(set8Flags(gold, goldBtf));

    // and back onto 6.12.107 from the kept pair: resolve_btfids' bytes for a normal build
    expect(modbtf('retarget', '--kernel', vmlinux107, ko).status).toBe(0);
    expect(firstDiff(section(elfOf(ko), '.BTF_ids') as Uint8Array, section(gold, '.BTF_ids') as Uint8Array)).toBeUndefined();
  });

  it('without -b/--base: input error, nothing written', () => {
    const ko = place('btfids/nf_conntrack.resolved.ko.gz', 'nf-nobase.ko');
    const r = modbtf('retarget', '--kernel', V117, ko);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/-b\/--base/);
    expect(firstDiff(readFileSync(ko), fixtureBytes('btfids/nf_conntrack.resolved.ko.gz'))).toBeUndefined();
  });
});

describe('refusals', () => {
  it('relocation failure: exit 1, every reason listed, nothing written', () => {
    // A "kernel" without tcp_bbr's types: another module's distilled base.
    const target = place('btf/fou.dbase.btf.gz', 'not-a-kernel.btf');
    const ko = finalizedBbr('bbr-fail.ko');
    const before = readFileSync(ko);
    const r = modbtf('retarget', '--kernel', target, ko);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/relocation onto .* fails, module left untouched/);
    expect(r.stderr.split('\n').filter((l) => l.startsWith('  - ')).length).toBeGreaterThan(1);
    expect(r.stderr).toMatch(/kernel log: /);
    expect(firstDiff(readFileSync(ko), before)).toBeUndefined();
  });

  it('library: a refused result with RelocateFailure.failures, file untouched', async () => {
    const ko = finalizedBbr('bbr-lib.ko');
    const before = readFileSync(ko);
    const dbase = Btf.parse(fixtureBytes('btf/fou.dbase.btf.gz'));
    const r = await retargetModule(ko, { target: dbase });
    expect(r.action).toBe('refused');
    expect(r.failure?.failures.length).toBeGreaterThan(1);
    expect(r.failure?.code).toBe('RELOC_FAILED');
    expect(firstDiff(readFileSync(ko), before)).toBeUndefined();
  });

  it('signed module: refused unless --strip-signature', () => {
    const ko = place('btfids/tcp_bbr.signed.pristine.ko.gz', 'signed.ko');
    const r = modbtf('retarget', '--built-with', vmlinux107, '--kernel', V117, ko);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/signed/);
    expect(firstDiff(readFileSync(ko), fixtureBytes('btfids/tcp_bbr.signed.pristine.ko.gz'))).toBeUndefined();
    const s = modbtf('retarget', '--strip-signature', '--built-with', vmlinux107, '--kernel', V117, ko);
    expect(s.status, s.stderr).toBe(0);
    expect(firstDiff(section(elfOf(ko), '.BTF') as Uint8Array, fixtureBytes('btf/tcp_bbr.reloc117.btf.gz'))).toBeUndefined();
  });

  it('--dry-run writes nothing', () => {
    const ko = finalizedBbr('bbr-dry.ko');
    const before = readFileSync(ko);
    const r = modbtf('retarget', '--dry-run', '--kernel', V117, ko);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/would be retargeted/);
    expect(firstDiff(readFileSync(ko), before)).toBeUndefined();
  });
});

describe('a retargeted module elsewhere in modbtf', () => {
  it('check uses the kept distilled pair (no --built-with needed); finalize refuses it', () => {
    const ko = finalizedBbr('kept-check.ko');
    expect(modbtf('retarget', '--kernel', V117, ko).status).toBe(0);
    const c = modbtf('check', '--kernel', V117, ko);
    expect(c.status, c.stderr).toBe(0);
    expect(c.stdout).toMatch(/keeps its BTF \(retargeted to exactly this kernel\)/);
    // Any other kernel rejects plain split BTF over 6.12.117.
    const other = modbtf('check', '--kernel', vmlinux107, ko);
    expect(other.status).toBe(1);
    expect(other.stdout).toMatch(/LOSES its BTF on this kernel: it was retargeted to another kernel/);
    const before = readFileSync(ko);
    const f = modbtf('finalize', '-b', vmlinux107, ko);
    expect(f.status).toBe(2);
    expect(f.stderr).toMatch(/was retargeted.*modbtf retarget/);
    expect(Buffer.compare(readFileSync(ko), before)).toBe(0);
  });
});

describe('check says when .BTF_ids entries need retarget', () => {
  it('nf_conntrack: its BTF_ID_LIST names nf_conn and nf_conn___init, which the kernel does not relocate', () => {
    const ko = place('btfids/nf_conntrack.resolved.ko.gz', 'nfct-check.ko');
    const c = modbtf('check', '--built-with', vmlinux107, '--kernel', V117, ko);
    expect(c.status, c.stderr).toBe(0);
    expect(c.stdout).toMatch(/note: \.BTF_ids entries the kernel does not relocate .*nf_conn___init, nf_conn; `modbtf retarget/);
    const bbr = modbtf('check', '--built-with', vmlinux107, '--kernel', V117, place('btfids/tcp_bbr.resolved.ko.gz', 'bbr-check.ko'));
    expect(bbr.stdout).not.toMatch(/note:/); // kfunc sets only: relocated by the kernel
  });
});
