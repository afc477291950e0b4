/**
 * The kernel 7.3 profile against Debian experimental's resolve_btfids 7.3-rc7
 * (test/fixtures/kernel73, made by scripts/gen-kernel73-fixtures.mjs in a sid chroot;
 * PROVENANCE.md there):
 *
 *  1. lib/pipeline kernel7Btf in the 7.3 profile: k73fix (kfunc sets found by address,
 *     bpf_kfunc/bpf_fastcall tags, KF_IMPLICIT_ARGS, KF_ARENA_* and __arena protos, dedup),
 *     k73warn (the kfunc set warnings) from pahole's detached BTF, with and without
 *     --distill_base, and shipped Debian 7.3 modules (pristine .BTF_ids) with their own
 *     .BTF: the raw .BTF, .BTF.base and .BTF_ids equal the tool's, and so do the printed
 *     lines; k73bad_flags and k73bad_arena fail with the tool's lines.
 *  2. The resolve-btfids command, in-process, with gen-btf.sh's command lines: stderr, exit
 *     status and the files it writes; `--patch_btfids` then gives the module kbuild wrote.
 *  3. Every usage and failure case of cases.tsv (btf__dedup failing included).
 *  4. finalize in the 7.3 profile on shipped modules: --distill gives the tool's sections
 *     and a second run changes nothing; --no-distill leaves the module as shipped.
 *  5. The kbuild step (kbuild/modfinal.ts) on a tree whose release is 7.3: the tool's
 *     sections in the module.
 */
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { Btf } from '../../lib/btf/btf.js';
import { BtfIdsError, scanBtfIds } from '../../lib/btfids/index.js';
import { parseElf, type ElfFile } from '../../lib/elf/index.js';
import { kernel7Btf } from '../../lib/pipeline/kernel7.js';
import { pipelineProfile } from '../../lib/pipeline/profile.js';
import { findModuleSignature } from '../../lib/module/signature.js';
import { runModfinal } from '../../kbuild/modfinal.js';
import { runResolveBtfids } from '../../cli/commands/resolve-btfids.js';
import { fixtureBytes, fixturePath, firstDiff } from '../helpers/fixtures.js';
import { expectSame, toolRun } from '../helpers/reference.js';
import { expectKernel7BtfAsTool } from '../helpers/kernel7.js';
import { writeKernelRelease } from '../helpers/kbuild-tree.js';

const K = 'kernel73';
const VMLINUX_IN_CHROOT = '/usr/src/linux-headers-7.3-amd64/vmlinux';
const vmlinux = Btf.parse(fixtureBytes(`${K}/vmlinux-7.3.btf.gz`), { file: 'vmlinux-7.3' });
const k73 = (name: string): Uint8Array => fixtureBytes(`${K}/${name}.gz`);
const text = (name: string): string => readFileSync(fixturePath(`${K}/${name}`), 'utf8');
const reference = (name: string): { stderr: string; exit: number } => toolRun(text(name), name);
/** The tool wrote this file (sch_fq has no .BTF_ids, so no X.BTF_ids). */
const has = (name: string): boolean => existsSync(fixturePath(`${K}/${name}.gz`));
const idsOf = (name: string): Uint8Array | undefined => (has(name) ? k73(name) : undefined);
const SHIPPED = ['tcp_bbr', 'nf_conntrack', 'fou', 'sch_fq'];
const P73 = pipelineProfile('7.3');
const btfSection = (elf: ElfFile): Uint8Array => elf.sectionData(elf.sectionByName('.BTF') as NonNullable<ReturnType<ElfFile['sectionByName']>>);

const dirs: string[] = [];
afterAll(() => { for (const d of dirs) rmSync(d, { recursive: true, force: true }); });
function scratch(): string {
  const d = mkdtempSync(join(tmpdir(), 'modbtf-k73-'));
  dirs.push(d);
  return d;
}

describe('kernel7Btf (7.3 profile) equals resolve_btfids 7.3', () => {
  const inputs: [string, string, (elf: ElfFile) => Uint8Array, number][] = [
    ['k73fix', 'k73fix.linked.ko', () => k73('k73fix.pahole.btf'), 1],
    ['k73warn', 'k73warn.linked.ko', () => k73('k73warn.pahole.btf'), 1],
    ...SHIPPED.map((m): [string, string, (elf: ElfFile) => Uint8Array, number] => [m, `${m}.pristine.ko`, btfSection, 0]),
  ];
  for (const [name, ko, btfOf, verbose] of inputs) {
    for (const variant of ['distill', 'nodistill'] as const) {
      it(`${name}, ${variant === 'distill' ? '--distill_base' : 'in-tree (no distill)'}`, () => {
        expectKernel7BtfAsTool({ name, ko: k73(ko), btfOf, vmlinux, variant, verbose, bytes: k73, text, pipeline: '7.3', wrote: has });
      });
    }
  }

  for (const m of ['k73bad_flags', 'k73bad_arena']) {
    for (const variant of ['distill', 'nodistill'] as const) {
      it(`${m}, ${variant}: fails as the tool does (its lines, exit 255, nothing written)`, () => {
        const ref = reference(`${m}.${variant}.stderr`);
        expect(ref.exit).toBe(255);
        const elf = parseElf(k73(`${m}.linked.ko`), { file: m });
        const scan = scanBtfIds(elf, { abi: 7, verbose: 1 });
        const input = Btf.parse(k73(`${m}.pahole.btf`), { base: vmlinux });
        let err: unknown;
        try {
          kernel7Btf(elf, scan, input, vmlinux, { profile: P73, distill: variant === 'distill', verbose: 1 });
        } catch (e: unknown) { err = e; }
        expect(err).toBeInstanceOf(BtfIdsError);
        const e = err as BtfIdsError;
        const printed = [...scan.diagnostics, ...e.diagnostics].filter((d) => d.extension !== true).map((d) => `${d.message}\n`).join('') + (e.stderrText ? `${e.stderrText}\n` : '');
        expect(printed).toBe(ref.stderr);
        for (const s of ['BTF', 'BTF.base', 'BTF_ids']) expect(existsSync(fixturePath(`${K}/${m}.${variant}.${s}.gz`))).toBe(false);
      });
    }
  }

  it('the header: 32 bytes for the distilled pair; the deduplicated in-tree .BTF keeps pahole\'s 24', () => {
    const hdr = (b: Uint8Array): number => new DataView(b.buffer, b.byteOffset).getUint32(4, true);
    expect(hdr(k73('k73fix.pahole.btf'))).toBe(24);
    expect(hdr(k73('k73fix.distill.BTF'))).toBe(32);
    expect(hdr(k73('k73fix.distill.BTF.base'))).toBe(32);
    expect(hdr(k73('k73fix.nodistill.BTF'))).toBe(24);
  });
});

/** The command, in-process, file arguments made absolute (`dir`/name); output given back as if run in `dir`. */
async function run(dir: string, argv: string[], env: Record<string, string> = {}): Promise<{ exit: number; stderr: string; stdout: string }> {
  let stderr = '';
  let stdout = '';
  const abs = argv.map((a) => (/^k73|^missing\.|^loop\.btf$/.test(a) ? join(dir, a) : a));
  const exit = await runResolveBtfids(abs, { stderr: (t) => { stderr += t; }, stdout: (t) => { stdout += t; } }, env);
  const local = (t: string): string => t.split(`${dir}/`).join('');
  return { exit, stderr: local(stderr), stdout: local(stdout) };
}

/** A directory as gen-btf.sh has it: the linked module, pahole's BTF, and vmlinux. */
function genBtfDir(m: string): { dir: string; vm: string } {
  const dir = scratch();
  writeFileSync(join(dir, `${m}.ko`), k73(`${m}.linked.ko`));
  writeFileSync(join(dir, `${m}.ko.BTF.1`), k73(`${m}.pahole.btf`));
  const vm = join(dir, 'vmlinux');
  writeFileSync(vm, k73('vmlinux-7.3.btf'));
  return { dir, vm };
}

describe('modbtf resolve-btfids speaks 7.3 (gen-btf.sh command lines; the 7.3 vermagic decides)', () => {
  for (const m of ['k73fix', 'k73warn', 'k73bad_flags', 'k73bad_arena']) {
    for (const variant of ['distill', 'nodistill'] as const) {
      it(`${m}: ${variant === 'distill' ? '--distill_base ' : ''}--verbose --btf_base vmlinux --btf ${m}.ko.BTF.1 ${m}.ko`, async () => {
        const { dir, vm } = genBtfDir(m);
        const argv = [...(variant === 'distill' ? ['--distill_base'] : []), '--verbose', '--btf_base', vm, '--btf', `${m}.ko.BTF.1`, `${m}.ko`];
        const r = await run(dir, argv);
        const ref = reference(`${m}.${variant}.stderr`);
        expect(r.exit).toBe(ref.exit);
        expect(r.stderr).toBe(ref.stderr.split(VMLINUX_IN_CHROOT).join(vm));
        for (const s of ['BTF', 'BTF.base', 'BTF_ids']) {
          const f = join(dir, `${m}.ko.${s}`);
          const refFile = `${K}/${m}.${variant}.${s}.gz`;
          if (!existsSync(fixturePath(refFile))) expect(existsSync(f), `${m}.ko.${s} written`).toBe(false);
          else expectSame(`${m}.ko.${s}`, new Uint8Array(readFileSync(f)), k73(`${m}.${variant}.${s}`));
        }
        expectSame(`${m}.ko (unchanged)`, new Uint8Array(readFileSync(join(dir, `${m}.ko`))), k73(`${m}.linked.ko`));
      });
    }
  }

  for (const m of ['k73fix', 'k73warn']) {
    it(`${m}: --patch_btfids X.ko.BTF_ids X.ko gives the module kbuild wrote`, async () => {
      const final = k73(`${m}.kbuild.ko`);
      const elf = parseElf(final);
      const sec = elf.sectionByName('.BTF_ids');
      if (!sec) throw new Error('no .BTF_ids');
      const linked = parseElf(k73(`${m}.linked.ko`));
      const before = new Uint8Array(final);
      before.set(linked.sectionData(linked.sectionByName('.BTF_ids') as typeof sec), sec.offset);
      const dir = scratch();
      writeFileSync(join(dir, `${m}.ko`), before);
      writeFileSync(join(dir, `${m}.ko.BTF_ids`), k73(`${m}.distill.BTF_ids`));
      const r = await run(dir, ['--patch_btfids', `${m}.ko.BTF_ids`, `${m}.ko`]);
      expect(r).toEqual({ exit: 0, stderr: '', stdout: '' });
      expectSame(`${m}.ko`, new Uint8Array(readFileSync(join(dir, `${m}.ko`))), final);
    });
  }
});

describe('resolve_btfids 7.3 usage and failure texts (cases.tsv)', () => {
  const rows = text('cases.tsv').trim().split('\n').map((l) => l.split('\t') as [string, string, string]);
  for (const [id, args, outputs] of rows) {
    it(`${id}: resolve_btfids ${args}`, async () => {
      const { dir, vm } = genBtfDir('k73fix');
      writeFileSync(join(dir, 'loop.btf'), k73('cases/loop.btf'));
      const argv = args === '' ? [] : args.split(' ').map((a) => (a === VMLINUX_IN_CHROOT ? vm : a));
      const { exit, stderr, stdout } = await run(dir, argv, { MODBTF_KERNEL_ABI: '7.3' });
      const ref = reference(`cases/${id}.stderr`);
      expect(exit).toBe(ref.exit);
      expect(stderr).toBe(ref.stderr.split(VMLINUX_IN_CHROOT).join(vm));
      expect(stdout).toBe(text(`cases/${id}.stdout`));
      const written = ['BTF', 'BTF.base', 'BTF_ids'].filter((s) => existsSync(join(dir, `k73fix.ko.${s}`)));
      expect(written.join(',') || '-').toBe(outputs);
    });
  }
});

describe('finalize in the 7.3 profile equals resolve_btfids 7.3 (sections of the module)', () => {
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
      writeFileSync(vm, k73('vmlinux-7.3.btf'));
      const ko = join(dir, `${m}.ko`);
      writeFileSync(ko, k73(`${m}.shipped.ko`));
      const r = modbtf('finalize', '--distill', '--strip-signature', '-b', vm, ko);
      expect(r.status, r.stderr).toBe(0);
      const s = sections(ko);
      expect(s['ids'] === undefined).toBe(!has(`${m}.distill.BTF_ids`));
      expectSame(`${m} .BTF`, s['btf'], k73(`${m}.distill.BTF`));
      expectSame(`${m} .BTF.base`, s['base'], k73(`${m}.distill.BTF.base`));
      expect(s['ids'] === undefined ? undefined : firstDiff(s['ids'], idsOf(`${m}.distill.BTF_ids`) ?? new Uint8Array(0))).toBeUndefined();
      const after = readFileSync(ko);
      const again = modbtf('finalize', '--distill', '-b', vm, ko);
      expect(again.status, again.stderr).toBe(0);
      expect(firstDiff(readFileSync(ko), after)).toBeUndefined();
    });

    it(`${m}: distill -o DIR (the 7.3 profile from the vermagic) writes the tool's --distill_base files`, () => {
      const dir = scratch();
      const vm = join(dir, 'vmlinux');
      writeFileSync(vm, k73('vmlinux-7.3.btf'));
      const ko = join(dir, `${m}.ko`);
      writeFileSync(ko, k73(`${m}.pristine.ko`));
      const r = modbtf('distill', '-b', vm, '-o', join(dir, 'out'), ko);
      expect(r.status, r.stderr).toBe(0);
      expectSame(`${m}.BTF`, new Uint8Array(readFileSync(join(dir, 'out', `${m}.BTF`))), k73(`${m}.distill.BTF`));
      expectSame(`${m}.BTF.base`, new Uint8Array(readFileSync(join(dir, 'out', `${m}.BTF.base`))), k73(`${m}.distill.BTF.base`));
    });

    it(`${m}: --kernel-abi 7.3 --no-distill leaves the shipped module's ELF as it is (deliberately: the tool would reorder its strings)`, () => {
      const dir = scratch();
      const vm = join(dir, 'vmlinux');
      writeFileSync(vm, k73('vmlinux-7.3.btf'));
      const ko = join(dir, `${m}.ko`);
      const shipped = k73(`${m}.shipped.ko`);
      writeFileSync(ko, shipped);
      const r = modbtf('finalize', '--kernel-abi', '7.3', '--no-distill', '--strip-signature', '-b', vm, ko);
      expect(r.status, r.stderr).toBe(0);
      const sig = findModuleSignature(shipped);
      expect(sig, 'Debian 7.3 modules are signed').toBeDefined();
      expect(firstDiff(readFileSync(ko), shipped.subarray(0, sig?.offset))).toBeUndefined();
      const ids = sections(ko)['ids'];
      expect(ids === undefined ? undefined : firstDiff(ids, idsOf(`${m}.nodistill.BTF_ids`) ?? new Uint8Array(0))).toBeUndefined();
      expect(ids === undefined).toBe(!has(`${m}.nodistill.BTF_ids`));
    });
  }
});

describe('the kbuild step on a tree whose release is 7.3', () => {
  it('k73fix (M=): resolve_btfids 7.3\'s sections, pahole\'s detached file removed, no warning', async () => {
    const root = scratch();
    const tree = join(root, 'tree');
    mkdirSync(join(tree, 'scripts'), { recursive: true });
    writeKernelRelease(tree, '7.3-amd64');
    writeFileSync(join(tree, 'vmlinux'), k73('vmlinux-7.3.btf'));
    const marker = join(root, 'tree-step-ran');
    writeFileSync(join(tree, 'scripts', 'gen-btf.sh'), `echo "$@" > ${marker}\n`);
    const btf = join(root, 'pahole.btf');
    writeFileSync(btf, k73('k73fix.pahole.btf'));
    const pahole = join(root, 'pahole');
    writeFileSync(pahole, `#!/bin/sh\nfor a; do case "$a" in --btf_encode_detached=*) cp ${btf} "\${a#--btf_encode_detached=}";; esac; done\n`);
    chmodSync(pahole, 0o755);
    const ko = join(root, 'k73fix.ko');
    writeFileSync(ko, k73('k73fix.linked.ko'));
    const logs: string[] = [];
    const out = await runModfinal({
      module: ko, objtree: tree, srctree: tree, pahole, paholeFlags: '-j', modulePaholeFlags: '', paholeVersion: '132',
      resolveBtfids: '/nonexistent/resolve_btfids', resolveBtfidsFlags: '--distill_base', objcopy: 'objcopy', shell: 'sh', extmod: root,
      btfBaseRef: '', strict: false, env: { PATH: process.env['PATH'] ?? '/usr/bin:/bin' }, verbose: false, log: (l) => logs.push(l),
    });
    expect(out).toMatchObject({ kind: 'done', abi: 7 });
    expect(out.kind === 'done' && out.result.pipeline).toBe('7.3');
    const elf = parseElf(new Uint8Array(readFileSync(ko)));
    for (const [sec, ref] of [['.BTF', 'k73fix.distill.BTF'], ['.BTF.base', 'k73fix.distill.BTF.base'], ['.BTF_ids', 'k73fix.distill.BTF_ids']] as const) {
      const s = elf.sectionByName(sec);
      expectSame(sec, s ? new Uint8Array(elf.sectionData(s)) : undefined, k73(ref));
    }
    expect(existsSync(`${ko}.BTF.1`)).toBe(false);
    expect(existsSync(marker)).toBe(false);
    expect(logs.filter((l) => l.startsWith('modbtf: warning:'))).toEqual([]);
  });
});
