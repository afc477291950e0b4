/**
 * A kernel tree newer than every pipeline modbtf knows (its include/config/kernel.release
 * says 7.4.0; a copy of a 7.x tree otherwise: gen-btf.sh, vmlinux): its modules get exactly
 * what the tree's own BTF step writes, nothing of modbtf's, with one `modbtf: warning:`
 * naming the tree's version — per module in the per-module form, once per build in the
 * batch form. MODBTF_STRICT=1 makes it an error and nothing is written. The same for a
 * tree whose release modbtf cannot read, and for one whose scripts contradict its release.
 * (The real 7.3 tree relabelled 7.4.0 is built in the e2e.)
 */
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runModfinal, type ModfinalOptions } from '../../kbuild/modfinal.js';
import { recordPath, runFinalizeBatch, type BatchOptions, type RecordedStep } from '../../kbuild/batch.js';
import { describeHookedTree, inspectTree } from '../../kbuild/tree.js';
import { fixtureBytes, fixturePath, firstDiff } from '../helpers/fixtures.js';
import { parseElf } from '../../lib/elf/index.js';
import { writeKernelRelease } from '../helpers/kbuild-tree.js';

const k7 = (name: string): Uint8Array => fixtureBytes(`kernel7/${name}.gz`);
const dirs: string[] = [];
afterAll(() => { for (const d of dirs) rmSync(d, { recursive: true, force: true }); });

interface Tree { root: string; tree: string; calls: string; kos: string[]; opts: (ko: string, over?: Partial<ModfinalOptions>) => ModfinalOptions; logs: string[] }

/** A 7.x-shaped tree with `release`; pahole and gen-btf.sh stand-ins that record their calls. */
function makeTree(release: string | undefined, genBtf = true): Tree {
  const root = mkdtempSync(join(tmpdir(), 'modbtf-newer-'));
  dirs.push(root);
  const tree = join(root, 'tree');
  mkdirSync(join(tree, 'scripts'), { recursive: true });
  if (release !== undefined) writeKernelRelease(tree, release);
  writeFileSync(join(tree, 'vmlinux'), k7('vmlinux-7.2.13.btf'));
  const calls = join(root, 'calls');
  if (genBtf) writeFileSync(join(tree, 'scripts', 'gen-btf.sh'), `echo "gen-btf.sh $@" >> ${calls}\n`);
  const pahole = join(root, 'pahole');
  writeFileSync(pahole, `#!/bin/sh\necho "pahole $*" >> ${calls}\nfor a; do case "$a" in --btf_encode_detached=*) : > "\${a#--btf_encode_detached=}";; esac; done\n`);
  chmodSync(pahole, 0o755);
  const rb = join(root, 'resolve_btfids');
  writeFileSync(rb, `#!/bin/sh\necho "resolve_btfids $*" >> ${calls}\n`);
  chmodSync(rb, 0o755);
  const kos = ['a.ko', 'b.ko'].map((n) => join(root, n));
  for (const ko of kos) writeFileSync(ko, k7('k7fix.linked.ko'));
  const logs: string[] = [];
  const opts = (ko: string, over: Partial<ModfinalOptions> = {}): ModfinalOptions => ({
    module: ko, objtree: tree, srctree: tree, pahole, paholeFlags: '-j', modulePaholeFlags: '', paholeVersion: '132',
    resolveBtfids: rb, resolveBtfidsFlags: '--distill_base', objcopy: 'objcopy', shell: 'sh', extmod: root,
    btfBaseRef: '', strict: false, env: { PATH: process.env['PATH'] ?? '/usr/bin:/bin' }, verbose: false, log: (l) => logs.push(l), ...over,
  });
  return { root, tree, calls, kos, opts, logs };
}

const calls = (t: Tree): string[] => (existsSync(t.calls) ? readFileSync(t.calls, 'utf8').trim().split('\n') : []);
const warnings = (t: Tree): string[] => t.logs.filter((l) => l.startsWith('modbtf: warning:'));
const linked = (ko: string): boolean => firstDiff(new Uint8Array(readFileSync(ko)), k7('k7fix.linked.ko')) === undefined;

describe('a tree newer than every pipeline (kernel.release 7.4.0)', () => {
  it('per module: only the tree\'s own step (gen-btf.sh, no pahole of modbtf\'s), one warning naming 7.4.0', async () => {
    const t = makeTree('7.4.0');
    for (const ko of t.kos) expect(await runModfinal(t.opts(ko))).toMatchObject({ kind: 'tree-step', abi: 7, exitCode: 0 });
    expect(calls(t)).toEqual(t.kos.map((ko) => `gen-btf.sh --btf_base ${join(t.tree, 'vmlinux')} ${ko}`));
    expect(warnings(t)).toEqual(t.kos.map((ko) => `modbtf: warning: ${ko}: the kernel tree is 7.4.0, newer than every kernel pipeline modbtf knows (6.x, 7.2, 7.3): modbtf does not know what its BTF step writes; the module gets what the kernel's own BTF step writes`));
    for (const ko of t.kos) expect(linked(ko)).toBe(true);
  });

  it('batch form: the recipes\' pahole output is dropped, gen-btf.sh runs per module, one warning for the build', async () => {
    const t = makeTree('7.4.0');
    for (const ko of t.kos) {
      writeFileSync(`${ko}.BTF.1`, '');
      const o = t.opts(ko);
      const lines = [`--objtree=${o.objtree}`, `--srctree=${o.srctree}`, `--pahole=${o.pahole}`, `--pahole-flags=${o.paholeFlags}`, `--pahole-version=${o.paholeVersion}`,
        `--resolve-btfids=${o.resolveBtfids}`, `--objcopy=${o.objcopy}`, `--shell=${o.shell}`, `--extmod=${o.extmod}`, 'TMPDIR='];
      writeFileSync(recordPath(ko), `${lines.join('\n')}\n`);
    }
    const errors: string[] = [];
    const opts: BatchOptions = {
      env: { PATH: process.env['PATH'] ?? '/usr/bin:/bin' }, verbose: false, log: (l) => t.logs.push(l), jobs: 1,
      parse: (_args, module) => ({ ...t.opts(module), env: { PATH: process.env['PATH'] ?? '/usr/bin:/bin' } }) as unknown as RecordedStep,
      onDone: () => {}, onError: (_m, e) => { errors.push(String(e)); return 2; },
    };
    const out = await runFinalizeBatch(t.kos, opts);
    expect(errors).toEqual([]);
    expect(out).toEqual({ finished: 2, failed: [], exitCode: 0 });
    expect(calls(t)).toEqual(t.kos.map((ko) => `gen-btf.sh --btf_base ${join(t.tree, 'vmlinux')} ${ko}`));
    expect(warnings(t)).toEqual(['modbtf: warning: the kernel tree is 7.4.0, newer than every kernel pipeline modbtf knows (6.x, 7.2, 7.3): modbtf does not know what its BTF step writes; its modules get what the kernel\'s own BTF step writes']);
    for (const ko of t.kos) {
      expect(existsSync(`${ko}.BTF.1`)).toBe(false);
      expect(existsSync(recordPath(ko))).toBe(false);
      expect(linked(ko)).toBe(true);
    }
  });

  it('MODBTF_STRICT=1: an error naming 7.4.0, and nothing is run or written', async () => {
    const t = makeTree('7.4.0');
    const ko = t.kos[0] as string;
    await expect(runModfinal(t.opts(ko, { strict: true }))).rejects.toMatchObject({ code: 'KBUILD_STRICT', message: expect.stringMatching(/kernel tree is 7\.4\.0, newer than every kernel pipeline modbtf knows .*MODBTF_STRICT=1/) });
    expect(calls(t)).toEqual([]);
    expect(linked(ko)).toBe(true);
    expect(existsSync(`${ko}.BTF.1`)).toBe(false);
  });

  it('`modbtf kbuild install` says so', async () => {
    const t = makeTree('7.4.0');
    expect(describeHookedTree(await inspectTree(t.tree))).toMatch(/^The kernel tree is 7\.4\.0, newer than every kernel pipeline modbtf knows .*: its modules get exactly what the tree's own BTF step writes, with a warning/);
  });
});

describe('trees modbtf will not guess about', () => {
  for (const [what, release, genBtf, reason] of [
    ['no include/config/kernel.release', undefined, true, /has no include\/config\/kernel\.release/],
    ['a release without a version', 'custom', true, /release "custom" names no kernel version/],
    ['a 7.3 release without scripts/gen-btf.sh', '7.3-amd64', false, /release 7\.3-amd64 has the kernel 7\.3 .* pipeline, but the tree has no scripts\/gen-btf\.sh/],
  ] as const) {
    it(`${what}: the tree's own step, one warning`, async () => {
      const t = makeTree(release, genBtf);
      const ko = t.kos[0] as string;
      expect(await runModfinal(t.opts(ko))).toMatchObject({ kind: 'tree-step', exitCode: 0 });
      expect(warnings(t)).toHaveLength(1);
      expect(warnings(t)[0]).toMatch(reason);
      expect(calls(t).map((c) => c.split(' ')[0])).toEqual(genBtf ? ['gen-btf.sh'] : ['pahole', 'resolve_btfids']);
    });
  }
});

describe('a module built for a kernel newer than every pipeline (vermagic 7.4.0)', () => {
  const CLI = join(fixturePath('..'), '..', 'dist', 'bundle', 'main.js');
  /** The shipped 7.2.13 module with its vermagic relabelled (same length: .modinfo keeps its size). */
  const relabelled = (): Uint8Array => {
    const ko = Buffer.from(k7('nf_conntrack.shipped.ko'));
    const from = Buffer.from('vermagic=7.2.13+deb14-amd64 ');
    const at = ko.indexOf(from);
    expect(at).toBeGreaterThan(0);
    Buffer.from('vermagic=7.4.0+modbtftest64 ').copy(ko, at);
    return new Uint8Array(ko);
  };
  const setup = (): { dir: string; ko: string; vm: string; bytes: Uint8Array } => {
    const dir = mkdtempSync(join(tmpdir(), 'modbtf-newer-ko-'));
    dirs.push(dir);
    const vm = join(dir, 'vmlinux');
    writeFileSync(vm, k7('vmlinux-7.2.13.btf'));
    const ko = join(dir, 'nf_conntrack.ko');
    const bytes = relabelled();
    writeFileSync(ko, bytes);
    return { dir, ko, vm, bytes };
  };
  const modbtf = (...args: string[]): { status: number | null; stderr: string } => {
    const r = spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', env: { ...process.env, OBJCOPY: 'objcopy', LLVM_OBJCOPY: '' } });
    return { status: r.status, stderr: r.stderr };
  };
  const names = /built for kernel 7\.4\.0\+modbtftest64, newer than every kernel pipeline modbtf knows \(6\.x, 7\.2, 7\.3; the newest is 7\.3, resolve_btfids 7\.3-rc7\)/;

  it('finalize: exit 2 naming both versions, the module untouched; --kernel-abi forces a pipeline', () => {
    const s = setup();
    const r = modbtf('finalize', '--strip-signature', '-b', s.vm, s.ko);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(names);
    expect(firstDiff(new Uint8Array(readFileSync(s.ko)), s.bytes)).toBeUndefined();
    const forced = modbtf('finalize', '--kernel-abi', '7.2', '--strip-signature', '-b', s.vm, s.ko);
    expect(forced.status, forced.stderr).toBe(0);
  });

  it('distill: exit 2 naming both versions, nothing written', () => {
    const s = setup();
    const out = join(s.dir, 'out');
    const r = modbtf('distill', '-b', s.vm, '-o', out, s.ko);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(names);
    expect(existsSync(out)).toBe(false);
  });

  it('resolve-btfids: the tree\'s own resolve_btfids runs (with a warning), else refused (exit 255) naming both versions, no file written; MODBTF_KERNEL_ABI=7.3 forces 7.3', async () => {
    const { runResolveBtfids } = await import('../../cli/commands/resolve-btfids.js');
    const s = setup();
    const elfBtf = parseElf(s.bytes).sectionByName('.BTF');
    writeFileSync(join(s.dir, 'm.btf'), parseElf(s.bytes).sectionData(elfBtf as NonNullable<typeof elfBtf>));
    let stderr = '';
    const io = { stderr: (t: string) => { stderr += t; }, stdout: () => {} };
    const argv = ['--btf_base', s.vm, '--btf', join(s.dir, 'm.btf'), s.ko];
    expect(await runResolveBtfids(argv, io, {})).toBe(255);
    expect(stderr).toBe(`FAILED modbtf: ${s.ko} was built for kernel 7.4.0+modbtftest64, newer than every resolve_btfids modbtf knows (6.x, 7.2, 7.3; the newest: 7.3-rc7). Run that kernel's own tools/bpf/resolve_btfids, or set MODBTF_KERNEL_ABI=7.3 to force the newest\n`);
    expect(['.BTF', '.BTF.base', '.BTF_ids'].filter((x) => existsSync(`${s.ko}${x}`))).toEqual([]);
    // The tree's own resolve_btfids, where kbuild's $objtree has one: it runs, with the same arguments.
    const tree = join(s.dir, 'tree');
    mkdirSync(join(tree, 'tools', 'bpf', 'resolve_btfids'), { recursive: true });
    const own = join(tree, 'tools', 'bpf', 'resolve_btfids', 'resolve_btfids');
    writeFileSync(own, `#!/bin/sh\necho "tree's resolve_btfids $*" >&2\nexit 3\n`);
    chmodSync(own, 0o755);
    stderr = '';
    expect(await runResolveBtfids(argv, io, { objtree: tree })).toBe(3);
    expect(stderr).toBe(`modbtf: warning: ${s.ko} was built for kernel 7.4.0+modbtftest64, newer than every resolve_btfids modbtf knows (6.x, 7.2, 7.3; the newest: 7.3-rc7): running the tree's own ${own}\ntree's resolve_btfids ${argv.join(' ')}\n`);
    stderr = '';
    expect(await runResolveBtfids(['--patch_btfids', 'x', s.ko], io, { objtree: tree })).toBe(3);
    expect(stderr).toMatch(/running the tree's own .*\ntree's resolve_btfids --patch_btfids x /);
    // MODBTF_STRICT=1: refused even so.
    stderr = '';
    expect(await runResolveBtfids(argv, io, { objtree: tree, MODBTF_STRICT: '1' })).toBe(255);
    expect(stderr).toMatch(/^FAILED modbtf: .* newer than every resolve_btfids modbtf knows/);
    stderr = '';
    expect(await runResolveBtfids(argv, io, { MODBTF_KERNEL_ABI: '7.3' })).toBe(0);
    expect(existsSync(`${s.ko}.BTF`)).toBe(true);
    expect(await runResolveBtfids(argv, io, { MODBTF_KERNEL_ABI: '7.4' })).toBe(255);
    expect(stderr).toBe('FAILED modbtf: MODBTF_KERNEL_ABI=7.4 names no kernel pipeline modbtf knows (6, 7.2, 7.3; 7 means 7.2)\n');
  });
});
