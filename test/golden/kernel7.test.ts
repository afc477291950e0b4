/**
 * The kernel 7.x profile against Debian's 7.2.13 resolve_btfids (test/fixtures/kernel7,
 * made by scripts/gen-kernel7-fixtures.mjs in a sid chroot; PROVENANCE.md there):
 *
 *  1. lib/pipeline kernel7Btf: k7fix (KF_IMPLICIT_ARGS kfuncs, legacy _impl, sets,
 *     unresolved names) from pahole's detached BTF, with and without --distill_base, and
 *     three shipped Debian 7.2 modules (their .BTF_ids back in the pristine layout, see
 *     PROVENANCE.md) with their own .BTF: the raw .BTF, .BTF.base and .BTF_ids equal the
 *     tool's, and so do the -v lines.
 *  4. finalize in the 7.x profile on the shipped (signed, resolved) modules gives the
 *     tool's sections, and a second run changes nothing.
 *  2. The resolve-btfids command, in-process, in a scratch directory with gen-btf.sh's
 *     command lines: stderr, exit status and the files it writes; then
 *     `--patch_btfids` on the object with the sections added gives the module kbuild wrote.
 *  3. Every usage and failure case of cases.tsv: stderr and exit status.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { Btf } from '../../lib/btf/btf.js';
import { parseElf } from '../../lib/elf/index.js';
import { findModuleSignature } from '../../lib/module/signature.js';
import { runResolveBtfids } from '../../cli/commands/resolve-btfids.js';
import { fixtureBytes, fixturePath, firstDiff } from '../helpers/fixtures.js';
import { expectSame, toolRun } from '../helpers/reference.js';
import { expectKernel7BtfAsTool } from '../helpers/kernel7.js';

const K7 = 'kernel7';
const VMLINUX_IN_CHROOT = '/usr/src/linux-headers-7.2.13+deb14-amd64/vmlinux';
const vmlinux = Btf.parse(fixtureBytes(`${K7}/vmlinux-7.2.13.btf.gz`), { file: 'vmlinux-7.2.13' });
const k7 = (name: string): Uint8Array => fixtureBytes(`${K7}/${name}.gz`);
const text = (name: string): string => readFileSync(fixturePath(`${K7}/${name}`), 'utf8');
const SHIPPED = ['tcp_bbr', 'nf_conntrack', 'fou'];

const reference = (name: string): { stderr: string; exit: number } => toolRun(text(name), name);

describe('kernel7Btf equals resolve_btfids 7.2.13', () => {
  const inputs: [string, string, (elf: ReturnType<typeof parseElf>) => Uint8Array][] = [
    ['k7fix', 'k7fix.linked.ko', () => k7('k7fix.pahole.btf')],
    ...SHIPPED.map((m): [string, string, (elf: ReturnType<typeof parseElf>) => Uint8Array] => [m, `${m}.pristine.ko`, (elf) => elf.sectionData(elf.sectionByName('.BTF') as NonNullable<ReturnType<typeof elf.sectionByName>>)]),
  ];
  for (const [name, ko, btfOf] of inputs) {
    for (const variant of ['distill', 'nodistill'] as const) {
      // Only k7fix was run with -v.
      it(`${name}, ${variant === 'distill' ? '--distill_base' : 'in-tree (no distill)'}`, () => {
        expectKernel7BtfAsTool({ name, ko: k7(ko), btfOf, vmlinux, variant, verbose: name === 'k7fix' ? 1 : 0, bytes: k7, text });
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

  it('on an already resolved module (shipped nf_conntrack) set8 flags stay with their kfuncs (deliberate difference)', async () => {
    const dir = scratch();
    const vm = join(dir, 'vmlinux');
    writeFileSync(vm, k7('vmlinux-7.2.13.btf'));
    const elf = parseElf(k7('nf_conntrack.shipped.ko'));
    writeFileSync(join(dir, 'k7fix.ko'), k7('nf_conntrack.shipped.ko'));
    writeFileSync(join(dir, 'k7fix.btf'), elf.sectionData(elf.sectionByName('.BTF') as NonNullable<ReturnType<typeof elf.sectionByName>>));
    const r = await run(dir, ['--btf_base', vm, '--btf', 'k7fix.btf', 'k7fix.ko']);
    expect(r).toEqual({ exit: 0, stderr: '', stdout: '' });
    // resolve_btfids 7.2 itself moves flag 5 onto another kfunc here; the pristine run is right.
    expectSame('nf_conntrack .BTF_ids', new Uint8Array(readFileSync(join(dir, 'k7fix.ko.BTF_ids'))), k7('nf_conntrack.nodistill.BTF_ids'));
  });

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


describe('finalize in the 7.x profile equals resolve_btfids 7.2 (sections of the module)', () => {
  const CLI = join(fixturePath('..'), '..', 'dist', 'bundle', 'main.js');
  const sections = (ko: string): Record<string, Uint8Array | undefined> => {
    const elf = parseElf(new Uint8Array(readFileSync(ko)));
    const get = (n: string): Uint8Array | undefined => {
      const s = elf.sectionByName(n);
      return s ? new Uint8Array(elf.sectionData(s)) : undefined;
    };
    return { btf: get('.BTF'), base: get('.BTF.base'), ids: get('.BTF_ids') };
  };
  const modbtf = (...args: string[]): { status: number | null; stdout: string; stderr: string } => {
    const r = spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', env: { ...process.env, OBJCOPY: 'objcopy', LLVM_OBJCOPY: '' } });
    return { status: r.status, stdout: r.stdout, stderr: r.stderr };
  };

  for (const m of SHIPPED) {
    it(`${m}: --distill (profile from the vermagic), then a second run changes nothing`, () => {
      const dir = scratch();
      const vm = join(dir, 'vmlinux');
      writeFileSync(vm, k7('vmlinux-7.2.13.btf'));
      const ko = join(dir, `${m}.ko`);
      writeFileSync(ko, k7(`${m}.shipped.ko`));
      // Debian signs its modules; finalize would drop the signature, so it must be told to.
      const r = modbtf('finalize', '--distill', '--strip-signature', '-b', vm, ko);
      expect(r.status, r.stderr).toBe(0);
      const s = sections(ko);
      expectSame(`${m} .BTF`, s['btf'], k7(`${m}.distill.BTF`));
      expectSame(`${m} .BTF.base`, s['base'], k7(`${m}.distill.BTF.base`));
      expectSame(`${m} .BTF_ids`, s['ids'], k7(`${m}.distill.BTF_ids`));
      const after = readFileSync(ko);
      const again = modbtf('finalize', '--distill', '-b', vm, ko);
      expect(again.status, again.stderr).toBe(0);
      expect(firstDiff(readFileSync(ko), after)).toBeUndefined();
    });

    it(`${m}: --no-distill leaves the shipped module's ELF as it is (it is resolve_btfids 7.2's output)`, () => {
      const dir = scratch();
      const vm = join(dir, 'vmlinux');
      writeFileSync(vm, k7('vmlinux-7.2.13.btf'));
      const ko = join(dir, `${m}.ko`);
      const shipped = k7(`${m}.shipped.ko`);
      writeFileSync(ko, shipped);
      const r = modbtf('finalize', '--no-distill', '--strip-signature', '-b', vm, ko);
      expect(r.status, r.stderr).toBe(0);
      const sig = findModuleSignature(shipped);
      expect(sig, 'Debian 7.2 modules are signed').toBeDefined();
      expect(firstDiff(readFileSync(ko), shipped.subarray(0, sig?.offset))).toBeUndefined();
      expectSame(`${m} .BTF_ids`, sections(ko)['ids'], k7(`${m}.nodistill.BTF_ids`));
    });
  }
});
