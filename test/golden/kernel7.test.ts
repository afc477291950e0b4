/**
 * The kernel 7.x profile against Debian's 7.2.13 resolve_btfids (test/fixtures/kernel7,
 * made by scripts/gen-kernel7-fixtures.mjs in a sid chroot; PROVENANCE.md there):
 *
 *  1. lib/pipeline kernel7Btf: k7fix (KF_IMPLICIT_ARGS kfuncs, legacy _impl, sets,
 *     unresolved names) from pahole's detached BTF, with and without --distill_base, and
 *     three shipped Debian 7.2 modules re-run with their own .BTF: the raw .BTF,
 *     .BTF.base and .BTF_ids equal the tool's, and so do the -v lines.
 *  2. The resolve-btfids command, in-process, in a scratch directory with gen-btf.sh's
 *     command lines: stderr, exit status and the files it writes; then
 *     `--patch_btfids` on the object with the sections added gives the module kbuild wrote.
 *  3. Every usage and failure case of cases.tsv: stderr and exit status.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { Btf } from '../../lib/btf/btf.js';
import { parseElf } from '../../lib/elf/index.js';
import { scanBtfIds } from '../../lib/btfids/index.js';
import { kernel7Btf } from '../../lib/pipeline/kernel7.js';
import { runResolveBtfids } from '../../cli/commands/resolve-btfids.js';
import { fixtureBytes, fixturePath, firstDiff } from '../helpers/fixtures.js';

const K7 = 'kernel7';
const VMLINUX_IN_CHROOT = '/usr/src/linux-headers-7.2.13+deb14-amd64/vmlinux';
const vmlinux = Btf.parse(fixtureBytes(`${K7}/vmlinux-7.2.13.btf.gz`), { file: 'vmlinux-7.2.13' });
const k7 = (name: string): Uint8Array => fixtureBytes(`${K7}/${name}.gz`);
const text = (name: string): string => readFileSync(fixturePath(`${K7}/${name}`), 'utf8');
const SHIPPED = ['tcp_bbr', 'nf_conntrack', 'fou'];

function expectSame(what: string, got: Uint8Array | undefined, want: Uint8Array): void {
  expect(got, `${what}: not produced`).toBeDefined();
  const d = firstDiff(got as Uint8Array, want);
  if (d !== undefined) expect.fail(`${what}: ${d}`);
}

/** The tool's stderr file: its lines, then "exit=N". */
function reference(name: string): { stderr: string; exit: number } {
  const t = text(name);
  const m = /exit=(\d+)\n$/.exec(t);
  if (!m) throw new Error(`${name}: no exit= line`);
  return { stderr: t.slice(0, m.index), exit: Number(m[1]) };
}

describe('kernel7Btf equals resolve_btfids 7.2.13', () => {
  const inputs: [string, string, (elf: ReturnType<typeof parseElf>) => Uint8Array][] = [
    ['k7fix', 'k7fix.linked.ko', () => k7('k7fix.pahole.btf')],
    ...SHIPPED.map((m): [string, string, (elf: ReturnType<typeof parseElf>) => Uint8Array] => [m, `${m}.shipped.ko`, (elf) => elf.sectionData(elf.sectionByName('.BTF') as NonNullable<ReturnType<typeof elf.sectionByName>>)]),
  ];
  for (const [name, ko, btfOf] of inputs) {
    for (const variant of ['distill', 'nodistill'] as const) {
      it(`${name}, ${variant === 'distill' ? '--distill_base' : 'in-tree (no distill)'}`, () => {
        const elf = parseElf(k7(ko), { file: ko });
        const verbose = name === 'k7fix' ? 1 : 0;
        const scan = scanBtfIds(elf, { abi: 7, verbose });
        const input = Btf.parse(btfOf(elf), { base: vmlinux });
        const r = kernel7Btf(elf, scan, input, vmlinux, { distill: variant === 'distill', verbose });
        expectSame(`${name} .BTF`, r.btf, k7(`${name}.${variant}.BTF`));
        if (variant === 'distill') expectSame(`${name} .BTF.base`, r.btfBase, k7(`${name}.${variant}.BTF.base`));
        else expect(r.btfBase).toBeUndefined();
        expectSame(`${name} .BTF_ids`, r.btfIds, k7(`${name}.${variant}.BTF_ids`));
        // What the tool printed before its "Dumped" lines (only k7fix was run with -v).
        const printed = [...scan.diagnostics, ...r.diagnostics].filter((d) => d.extension !== true).map((d) => `${d.message}\n`).join('');
        const ref = reference(`${name}.${variant}.stderr`).stderr.split('\n').filter((l) => !l.startsWith('Dumped ')).join('\n');
        expect(printed).toBe(ref);
      });
    }
  }

  it('the header: 32 bytes (zeroed layout fields) for the distilled pair, pahole\'s 24 otherwise', () => {
    const hdr = (b: Uint8Array): number => new DataView(b.buffer, b.byteOffset).getUint32(4, true);
    expect(hdr(k7('k7fix.distill.BTF'))).toBe(32);
    expect(hdr(k7('k7fix.distill.BTF.base'))).toBe(32);
    expect(hdr(k7('k7fix.nodistill.BTF'))).toBe(24);
    expect([...k7('k7fix.distill.BTF').subarray(24, 32)]).toEqual([0, 0, 0, 0, 0, 0, 0, 0]);
  });
});

const dirs: string[] = [];
afterAll(() => { for (const d of dirs) rmSync(d, { recursive: true, force: true }); });
function scratch(): string {
  const d = mkdtempSync(join(tmpdir(), 'modbtf-k7-'));
  dirs.push(d);
  return d;
}

/**
 * Runs the command with the file arguments made absolute (`dir`/name); the output is
 * given back with `dir/` removed again, as if run inside `dir` like the tool was.
 */
async function run(dir: string, argv: string[], env: Record<string, string> = {}): Promise<{ exit: number; stderr: string; stdout: string }> {
  let stderr = '';
  let stdout = '';
  const abs = argv.map((a) => (/^k7fix\.|^missing\.|^a\.ko$|^b\.ko$/.test(a) ? join(dir, a) : a));
  const exit = await runResolveBtfids(abs, { stderr: (t) => { stderr += t; }, stdout: (t) => { stdout += t; } }, env);
  const local = (t: string): string => t.split(`${dir}/`).join('');
  return { exit, stderr: local(stderr), stdout: local(stdout) };
}

/** A directory as gen-btf.sh has it: the linked module, pahole's BTF, and vmlinux where the chroot has it. */
function genBtfDir(): { dir: string; vm: string } {
  const dir = scratch();
  writeFileSync(join(dir, 'k7fix.ko'), k7('k7fix.linked.ko'));
  writeFileSync(join(dir, 'k7fix.ko.BTF.1'), k7('k7fix.pahole.btf'));
  const vm = join(dir, 'vmlinux');
  writeFileSync(vm, k7('vmlinux-7.2.13.btf'));
  return { dir, vm };
}

describe('modbtf resolve-btfids speaks 7.x (gen-btf.sh command lines)', () => {
  for (const variant of ['distill', 'nodistill'] as const) {
    it(`${variant === 'distill' ? '--distill_base ' : ''}--verbose --btf_base vmlinux --btf k7fix.ko.BTF.1 k7fix.ko`, async () => {
      const { dir, vm } = genBtfDir();
      const argv = [...(variant === 'distill' ? ['--distill_base'] : []), '--verbose', '--btf_base', vm, '--btf', 'k7fix.ko.BTF.1', 'k7fix.ko'];
      const r = await run(dir, argv);
      const ref = reference(`k7fix.${variant}.stderr`);
      expect(r.exit).toBe(ref.exit);
      expect(r.stderr).toBe(ref.stderr.split(VMLINUX_IN_CHROOT).join(vm));
      for (const s of ['BTF', 'BTF.base', 'BTF_ids']) {
        const f = join(dir, `k7fix.ko.${s}`);
        if (variant === 'nodistill' && s === 'BTF.base') expect(existsSync(f)).toBe(false);
        else expectSame(`k7fix.ko.${s}`, new Uint8Array(readFileSync(f)), k7(`k7fix.${variant}.${s}`));
      }
      // The object itself is not written by this step.
      expectSame('k7fix.ko (unchanged)', new Uint8Array(readFileSync(join(dir, 'k7fix.ko'))), k7('k7fix.linked.ko'));
    });
  }

  it('--patch_btfids X.ko.BTF_ids X.ko gives the module kbuild wrote', async () => {
    // The final module with its .BTF_ids put back as linked: what gen-btf.sh has after
    // its two objcopy --add-section calls (objcopy leaves .BTF_ids' bytes alone).
    const final = k7('k7fix.kbuild.ko');
    const elf = parseElf(final);
    const sec = elf.sectionByName('.BTF_ids');
    if (!sec) throw new Error('no .BTF_ids');
    const linked = parseElf(k7('k7fix.linked.ko'));
    const before = new Uint8Array(final);
    before.set(linked.sectionData(linked.sectionByName('.BTF_ids') as typeof sec), sec.offset);
    const dir = scratch();
    writeFileSync(join(dir, 'k7fix.ko'), before);
    writeFileSync(join(dir, 'k7fix.ko.BTF_ids'), k7('k7fix.distill.BTF_ids'));
    const r = await run(dir, ['--patch_btfids', 'k7fix.ko.BTF_ids', 'k7fix.ko']);
    expect(r).toEqual({ exit: 0, stderr: '', stdout: '' });
    expectSame('k7fix.ko', new Uint8Array(readFileSync(join(dir, 'k7fix.ko'))), final);
  });
});

describe('resolve_btfids 7.2 usage and failure texts (cases.tsv)', () => {
  const rows = text('cases.tsv').trim().split('\n').map((l) => l.split('\t') as [string, string, string]);
  for (const [id, args, outputs] of rows) {
    it(`${id}: resolve_btfids ${args}`, async () => {
      const { dir, vm } = genBtfDir();
      const argv = args === '' ? [] : args.split(' ').map((a) => (a === VMLINUX_IN_CHROOT ? vm : a));
      // Without a 7.x-only option or a module to look at, the kernel decides: say 7.
      const { exit, stderr, stdout } = await run(dir, argv, { MODBTF_KERNEL_ABI: '7' });
      const ref = reference(`cases/${id}.stderr`);
      expect(exit).toBe(ref.exit);
      expect(stderr).toBe(ref.stderr.split(VMLINUX_IN_CHROOT).join(vm));
      expect(stdout).toBe(text(`cases/${id}.stdout`));
      const written = ['BTF', 'BTF.base', 'BTF_ids'].filter((s) => existsSync(join(dir, `k7fix.ko.${s}`)));
      expect(written.join(',') || '-').toBe(outputs);
    });
  }
});

