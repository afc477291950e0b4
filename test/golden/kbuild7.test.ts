/**
 * The kbuild step (kbuild/modfinal.ts) on a kernel 7.x tree, with the k7fix fixture
 * (test/fixtures/kernel7): a tree made of what the step reads — scripts/gen-btf.sh
 * (its presence makes a 7.x tree), vmlinux (the 7.2.13 BTF) — and a pahole stand-in that
 * writes the BTF Debian's pahole 1.32 wrote for k7fix (the fixture), so the test needs no
 * 7.x toolchain. The real 7.2 kbuild runs in the e2e (scripts/e2e-boot7.mjs).
 *
 *  - modbtf's step gives the sections resolve_btfids 7.2 wrote (.BTF, .BTF.base,
 *    .BTF_ids), and removes pahole's detached file as gen-btf.sh does;
 *  - every failure of modbtf's part runs the tree's own step instead (here a
 *    gen-btf.sh stand-in that records it ran), with one `modbtf: warning:` line;
 *  - MODBTF_STRICT=1 makes each of them an error, with the module untouched;
 *  - no vmlinux anywhere: the tree's "Skipping BTF generation" line and a warning.
 */
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parseElf } from '../../lib/elf/index.js';
import { runModfinal, type ModfinalOptions } from '../../kbuild/modfinal.js';
import { kernelTree } from '../../kbuild/tree.js';
import { fixtureBytes, firstDiff } from '../helpers/fixtures.js';
import { writeKernelRelease } from '../helpers/kbuild-tree.js';

const k7 = (name: string): Uint8Array => fixtureBytes(`kernel7/${name}.gz`);
const dirs: string[] = [];
afterAll(() => { for (const d of dirs) rmSync(d, { recursive: true, force: true }); });

interface Setup { tree: string; mod: string; ko: string; marker: string; opts: (over?: Partial<ModfinalOptions>) => ModfinalOptions; logs: string[] }

function setup(withVmlinux = true): Setup {
  const root = mkdtempSync(join(tmpdir(), 'modbtf-kb7-'));
  dirs.push(root);
  const tree = join(root, 'tree');
  const mod = join(root, 'mod');
  mkdirSync(join(tree, 'scripts'), { recursive: true });
  writeKernelRelease(tree, '7.2.13+deb14-amd64');
  mkdirSync(mod);
  if (withVmlinux) writeFileSync(join(tree, 'vmlinux'), k7('vmlinux-7.2.13.btf'));
  const marker = join(root, 'tree-step-ran');
  // The tree's step: records its arguments (it would write the kernel's BTF).
  writeFileSync(join(tree, 'scripts', 'gen-btf.sh'), `echo "$@" > ${marker}\n`);
  // pahole 1.32's output for k7fix, written where --btf_encode_detached= says.
  const btf = join(root, 'k7fix.pahole.btf');
  writeFileSync(btf, k7('k7fix.pahole.btf'));
  const pahole = join(root, 'pahole');
  writeFileSync(pahole, `#!/bin/sh\nfor a; do case "$a" in --btf_encode_detached=*) cp ${btf} "\${a#--btf_encode_detached=}";; esac; done\n`);
  chmodSync(pahole, 0o755);
  const ko = join(mod, 'k7fix.ko');
  writeFileSync(ko, k7('k7fix.linked.ko'));
  const logs: string[] = [];
  const opts = (over: Partial<ModfinalOptions> = {}): ModfinalOptions => ({
    module: ko, objtree: tree, srctree: tree, pahole, paholeFlags: '-j --btf_features=encode_force', modulePaholeFlags: '',
    paholeVersion: '132', resolveBtfids: '/nonexistent/resolve_btfids', resolveBtfidsFlags: '--distill_base', objcopy: 'objcopy',
    shell: 'sh', extmod: mod, btfBaseRef: '', strict: false, env: { PATH: process.env['PATH'] ?? '/usr/bin:/bin' }, verbose: false,
    log: (l) => logs.push(l), ...over,
  });
  return { tree, mod, ko, marker, opts, logs };
}

function section(bytes: Uint8Array, name: string): Uint8Array | undefined {
  const elf = parseElf(bytes);
  const s = elf.sectionByName(name);
  return s ? new Uint8Array(elf.sectionData(s)) : undefined;
}

describe('kbuild modfinal on a 7.x tree', () => {
  it('knows the tree by scripts/gen-btf.sh under $(srctree), not by the working directory', async () => {
    const s = setup();
    expect((await kernelTree(s.opts())).abi).toBe(7);
    rmSync(join(s.tree, 'scripts', 'gen-btf.sh'));
    expect((await kernelTree(s.opts())).abi).toBe(6);
  });

  it('writes resolve_btfids 7.2\'s sections and removes pahole\'s detached file', async () => {
    const s = setup();
    const out = await runModfinal(s.opts());
    expect(out.kind).toBe('done');
    const ko = new Uint8Array(readFileSync(s.ko));
    for (const [sec, ref] of [['.BTF', 'k7fix.distill.BTF'], ['.BTF.base', 'k7fix.distill.BTF.base'], ['.BTF_ids', 'k7fix.distill.BTF_ids']] as const) {
      const got = section(ko, sec);
      expect(got, sec).toBeDefined();
      expect(firstDiff(got as Uint8Array, k7(ref)), sec).toBeUndefined();
    }
    expect(existsSync(`${s.ko}.BTF.1`)).toBe(false);
    expect(existsSync(s.marker)).toBe(false);
    expect(s.logs.filter((l) => l.startsWith('modbtf: warning:'))).toEqual([]);
  });

  /** Runs with TMPDIR set for this process (objcopy's work files go there). */
  const withTmpdir = async <T>(dir: string | undefined, fn: () => Promise<T>): Promise<T> => {
    const saved = process.env['TMPDIR'];
    if (dir !== undefined) process.env['TMPDIR'] = dir;
    try { return await fn(); } finally { if (saved === undefined) delete process.env['TMPDIR']; else process.env['TMPDIR'] = saved; }
  };
  const failures: [string, (s: Setup) => Partial<ModfinalOptions>, RegExp, string?][] = [
    // A rewrite failure: objcopy's work files need a temporary directory.
    ['the rewrite fails (TMPDIR cannot be written)', () => ({}), /modbtf: warning: .*k7fix\.ko: .*nonexistent.*the module gets what the kernel's own BTF step writes/, '/nonexistent/tmp'],
    ['MODBTF_VMLINUX names a file that is not there', () => ({ env: { PATH: process.env['PATH'] ?? '', MODBTF_VMLINUX: '/nonexistent/vmlinux' } }), /modbtf: warning: .*MODBTF_VMLINUX names \/nonexistent\/vmlinux, which cannot be read/],
    ['objcopy cannot be run', () => ({ objcopy: '/nonexistent/objcopy' }), /modbtf: warning: .*\/nonexistent\/objcopy/],
  ];
  for (const [what, over, warning, tmp] of failures) {
    it(`${what}: the tree's own step runs, with one warning; MODBTF_STRICT=1 fails, module untouched`, async () => {
      const s = setup();
      const out = await withTmpdir(tmp, () => runModfinal(s.opts(over(s))));
      expect(out).toMatchObject({ kind: 'tree-step', exitCode: 0 });
      expect(readFileSync(s.marker, 'utf8').trim()).toBe(`--btf_base ${join(s.tree, 'vmlinux')} ${s.ko}`);
      const warnings = s.logs.filter((l) => l.startsWith('modbtf: warning:'));
      expect(warnings).toHaveLength(1);
      expect(warnings[0]).toMatch(warning);
      expect(firstDiff(new Uint8Array(readFileSync(s.ko)), k7('k7fix.linked.ko'))).toBeUndefined();
      expect(existsSync(`${s.ko}.BTF.1`)).toBe(false);

      const t = setup();
      await expect(withTmpdir(tmp, () => runModfinal(t.opts({ ...over(t), strict: true })))).rejects.toMatchObject({ code: 'KBUILD_STRICT' });
      expect(existsSync(t.marker)).toBe(false);
      expect(firstDiff(new Uint8Array(readFileSync(t.ko)), k7('k7fix.linked.ko'))).toBeUndefined();
    });
  }

  it('no vmlinux at all: the tree\'s "Skipping BTF generation" line and one warning; strict: an error', async () => {
    const s = setup(false);
    const out = await runModfinal(s.opts());
    expect(out).toMatchObject({ kind: 'tree-step', exitCode: 0 });
    expect(s.logs).toContain(`Skipping BTF generation for ${s.ko} due to unavailability of vmlinux`);
    expect(s.logs.filter((l) => l.startsWith('modbtf: warning:'))).toHaveLength(1);
    expect(s.logs.find((l) => l.startsWith('modbtf: warning:'))).toMatch(/no vmlinux BTF: .*tree\/vmlinux does not exist.*set MODBTF_VMLINUX=/);
    expect(firstDiff(new Uint8Array(readFileSync(s.ko)), k7('k7fix.linked.ko'))).toBeUndefined();
    const t = setup(false);
    await expect(runModfinal(t.opts({ strict: true }))).rejects.toMatchObject({ code: 'KBUILD_STRICT' });
  });

  it('no vmlinux in the tree, MODBTF_VMLINUX given: modbtf writes the BTF the kernel would have skipped', async () => {
    const s = setup(false);
    const vm = join(s.mod, '..', 'vmlinux.btf');
    writeFileSync(vm, k7('vmlinux-7.2.13.btf'));
    const out = await runModfinal(s.opts({ env: { PATH: process.env['PATH'] ?? '', MODBTF_VMLINUX: vm } }));
    expect(out.kind).toBe('done');
    expect(firstDiff(section(new Uint8Array(readFileSync(s.ko)), '.BTF') as Uint8Array, k7('k7fix.distill.BTF'))).toBeUndefined();
  });
});

describe('kbuild modfinal on a 6.x tree (no scripts/gen-btf.sh)', () => {
  /** A 6.12 tree: vmlinux 6.12.107; pahole -J stand-in adds Debian's tcp_bbr .BTF with objcopy. */
  function setup6(): { ko: string; calls: string; opts: (over?: Partial<ModfinalOptions>) => ModfinalOptions; logs: string[]; linked: Uint8Array } {
    const root = mkdtempSync(join(tmpdir(), 'modbtf-kb6-'));
    dirs.push(root);
    const tree = join(root, 'tree');
    mkdirSync(join(tree, 'scripts'), { recursive: true });
    writeKernelRelease(tree, '6.12.107+deb12-amd64');
    writeFileSync(join(tree, 'vmlinux'), fixtureBytes('btfids/vmlinux-6.12.107.elf.gz'));
    const calls = join(root, 'calls');
    const btf = join(root, 'bbr.btf');
    writeFileSync(btf, fixtureBytes('btf/tcp_bbr.btf.gz'));
    const ko = join(root, 'tcp_bbr.ko');
    // The module as linked: the pristine golden module without its .BTF.
    const withBtf = join(root, 'with-btf.ko');
    writeFileSync(withBtf, fixtureBytes('btfids/tcp_bbr.pristine.ko.gz'));
    const rm = spawnSync('objcopy', ['--remove-section', '.BTF', withBtf, ko]);
    if (rm.status !== 0) throw new Error(`objcopy: ${String(rm.stderr)}`);
    const linked = new Uint8Array(readFileSync(ko));
    const pahole = join(root, 'pahole');
    writeFileSync(pahole, `#!/bin/sh\necho "pahole $*" >> ${calls}\nfor m; do :; done\n\${LLVM_OBJCOPY:-objcopy} --add-section .BTF=${btf} "$m"\n`);
    const rb = join(root, 'resolve_btfids');
    writeFileSync(rb, `#!/bin/sh\necho "resolve_btfids $*" >> ${calls}\n`);
    chmodSync(pahole, 0o755);
    chmodSync(rb, 0o755);
    const logs: string[] = [];
    const opts = (over: Partial<ModfinalOptions> = {}): ModfinalOptions => ({
      module: ko, objtree: tree, srctree: tree, pahole, paholeFlags: '-j --btf_gen_floats', modulePaholeFlags: '', paholeVersion: '124',
      resolveBtfids: rb, resolveBtfidsFlags: '', objcopy: 'objcopy', shell: 'sh', extmod: root, btfBaseRef: '', strict: false,
      env: { PATH: process.env['PATH'] ?? '/usr/bin:/bin' }, verbose: false, log: (l) => logs.push(l), ...over,
    });
    return { ko, calls, opts, logs, linked };
  }

  it('pahole -J (without -j: pahole 1.24 is not reproducible with it) with LLVM_OBJCOPY=$(OBJCOPY), then modbtf: .BTF.base and no resolve_btfids', async () => {
    const s = setup6();
    const out = await runModfinal(s.opts());
    expect(out).toMatchObject({ kind: 'done', abi: 6, distilled: true });
    const calls = readFileSync(s.calls, 'utf8').trim().split('\n');
    expect(calls).toHaveLength(1);
    expect(calls[0]).toMatch(/^pahole -J --btf_gen_floats --btf_base .*tree\/vmlinux .*tcp_bbr\.ko$/);
    const ko = new Uint8Array(readFileSync(s.ko));
    expect(firstDiff(section(ko, '.BTF.base') as Uint8Array, fixtureBytes('btf/tcp_bbr.dbase.btf.gz'))).toBeUndefined();
    expect(firstDiff(section(ko, '.BTF') as Uint8Array, fixtureBytes('btf/tcp_bbr.dsplit.btf.gz'))).toBeUndefined();
  });

  it('a failure after pahole: the module is put back as linked, then the tree\'s pahole -J + resolve_btfids run', async () => {
    const s = setup6();
    const saved = process.env['TMPDIR'];
    process.env['TMPDIR'] = '/nonexistent/tmp';
    let out;
    try {
      out = await runModfinal(s.opts());
    } finally {
      if (saved === undefined) delete process.env['TMPDIR']; else process.env['TMPDIR'] = saved;
    }
    expect(out).toMatchObject({ kind: 'tree-step', abi: 6, exitCode: 0 });
    const calls = readFileSync(s.calls, 'utf8').trim().split('\n');
    expect(calls.map((c) => c.split(' ')[0])).toEqual(['pahole', 'pahole', 'resolve_btfids']);
    expect(calls[2]).toMatch(/^resolve_btfids -b .*tree\/vmlinux .*tcp_bbr\.ko$/);
    expect(s.logs.filter((l) => l.startsWith('modbtf: warning:'))).toHaveLength(1);
    // The tree's step ran on the module as linked (its own pahole added .BTF once).
    const ko = parseElf(new Uint8Array(readFileSync(s.ko)));
    expect(ko.sections.filter((x) => x.name === '.BTF')).toHaveLength(1);
    expect(ko.sectionByName('.BTF.base')).toBeUndefined();
  });
});
