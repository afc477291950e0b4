// `modbtf finalize` over directories and stdin lists, in worker threads: each module
// ends up byte-identical to what a one-file run writes (and to the pahole >= 1.28 +
// resolve_btfids golden files where they exist), a second run changes nothing, a
// broken module fails alone (exit 2) while the others are finalized. And the kernel
// postinst hook (kbuild/postinst.d-modbtf), run over a fake /lib/modules.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { chmodSync, copyFileSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { fixtureBytes, fixturePath, firstDiff } from '../helpers/fixtures.js';

const ROOT = join(fixturePath('..'), '..');
const CLI = join(ROOT, 'dist', 'bundle', 'main.js');
const HOOK = join(ROOT, 'kbuild', 'postinst.d-modbtf');
let dir: string;
let vmlinux: string;

interface Report {
  file: string;
  status: string;
  btf?: string;
  sizeBefore?: number;
  sizeAfter?: number;
  distilledBaseSize?: number;
  warnings: number;
  relocation?: { status: string };
  error?: { code: string; text: string };
}
interface Doc { summary: Record<string, number>; modules: Report[] }

/** Fixtures as a module tree: the btfids pristine modules (uncompressed) and Debian's signed tcp_bbr.ko.xz. */
const PRISTINE = readdirSync(fixturePath('btfids')).filter((f) => f.endsWith('.pristine.ko.gz')).sort();
const GOLDEN: Record<string, string> = {
  'btfids_fixture.pristine.ko': 'btfids_fixture.distilled.resolved.ko.gz',
  'tcp_bbr.pristine.ko': 'tcp_bbr.distilled.resolved.ko.gz',
};

function makeTree(name: string): string {
  const tree = join(dir, name);
  mkdirSync(join(tree, 'net', 'ipv4'), { recursive: true });
  for (const f of PRISTINE) writeFileSync(join(tree, f.replace(/\.gz$/, '')), fixtureBytes(`btfids/${f}`));
  copyFileSync(fixturePath('modules/tcp_bbr.ko.xz'), join(tree, 'net', 'ipv4', 'tcp_bbr.ko.xz'));
  writeFileSync(join(tree, 'README'), 'not a module\n');
  return tree;
}

function modbtf(args: string[], input?: string): { status: number | null; stdout: string; stderr: string } {
  // GNU objcopy: its output equals pahole >= 1.28's (see finalize.test.ts).
  const r = spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', input, env: { ...process.env, OBJCOPY: 'objcopy', LLVM_OBJCOPY: '' } });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

function json(args: string[], input?: string): { status: number | null; doc: Doc; stderr: string } {
  const r = modbtf(['finalize', '--json', ...args], input);
  return { status: r.status, doc: JSON.parse(r.stdout) as Doc, stderr: r.stderr };
}

function byRel(doc: Doc, tree: string): Map<string, Report> {
  return new Map(doc.modules.map((m) => [relative(tree, m.file), m]));
}

const FINALIZE = ['--distill', '--strip-signature'];

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'modbtf-finalize-tree-'));
  vmlinux = join(dir, 'vmlinux');
  writeFileSync(vmlinux, fixtureBytes('btfids/vmlinux-6.12.107.elf.gz'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('finalize over a tree with -j 2', () => {
  it('writes what one-file runs write, golden bytes where they exist; a second run changes nothing', () => {
    const tree = makeTree('tree');
    const r = json([...FINALIZE, '-b', vmlinux, '-j', '2', tree]);
    expect(r.status, r.stderr).toBe(0);
    const names = [...PRISTINE.map((f) => f.replace(/\.gz$/, '')), join('net', 'ipv4', 'tcp_bbr.ko.xz')].sort();
    expect([...byRel(r.doc, tree).keys()].sort()).toEqual(names);
    expect(r.doc.summary).toMatchObject({ modules: names.length, processed: names.length, written: names.length, unchanged: 0, errors: 0 });
    const reports = byRel(r.doc, tree);
    // Every module in this set has .BTF and gets (or keeps) a distilled base.
    for (const [name, m] of reports) {
      expect(m.status, name).toBe('written');
      expect(m.distilledBaseSize, name).toBeGreaterThan(0);
      expect(m.sizeBefore, name).toBeGreaterThan(0);
    }
    // One file at a time, in this process's own way: the same bytes.
    const single = join(dir, 'single');
    mkdirSync(single);
    for (const name of names) {
      const copy = join(single, name.replace(/\//g, '_'));
      if (name.endsWith('.xz')) copyFileSync(fixturePath('modules/tcp_bbr.ko.xz'), copy);
      else writeFileSync(copy, fixtureBytes(`btfids/${name}.gz`));
      const one = json([...FINALIZE, '-b', vmlinux, copy]);
      expect(one.status, one.stderr).toBe(0);
      const mine = one.doc.modules[0] as Report;
      const theirs = reports.get(name) as Report;
      expect({ ...theirs, file: '' }).toEqual({ ...mine, file: '' });
      expect(firstDiff(readFileSync(join(tree, name)), readFileSync(copy)), name).toBeUndefined();
      const golden = GOLDEN[name];
      if (golden) expect(firstDiff(readFileSync(join(tree, name)), fixtureBytes(`btfids/${golden}`)), name).toBeUndefined();
    }
    const before = new Map(names.map((n) => [n, readFileSync(join(tree, n))]));
    const again = json([...FINALIZE, '-b', vmlinux, '-j', '2', tree]);
    expect(again.status, again.stderr).toBe(0);
    expect(again.doc.summary).toMatchObject({ modules: names.length, written: 0, unchanged: names.length, errors: 0 });
    for (const n of names) expect(firstDiff(readFileSync(join(tree, n)), before.get(n) as Uint8Array), n).toBeUndefined();
  });

  it('reads a list from stdin with -, and predicts relocation with --check-kernel', () => {
    const tree = makeTree('stdin');
    const v117 = join(dir, 'vmlinux-117.btf');
    writeFileSync(v117, fixtureBytes('btf/vmlinux-6.12.117.btf.gz'));
    const list = [join(tree, 'tcp_bbr.pristine.ko'), join(tree, 'net', 'ipv4', 'tcp_bbr.ko.xz'), ''].join('\n');
    const r = json([...FINALIZE, '-b', vmlinux, '-j', '2', '--check-kernel', v117, '-'], list);
    expect(r.status, r.stderr).toBe(0);
    expect(r.doc.modules.map((m) => relative(tree, m.file))).toEqual(['tcp_bbr.pristine.ko', join('net', 'ipv4', 'tcp_bbr.ko.xz')]);
    expect(r.doc.modules.map((m) => [m.status, m.relocation?.status])).toEqual([['written', 'ok'], ['written', 'ok']]);
    expect(r.doc.summary).toMatchObject({ written: 2, losesBtf: 0 });
    // Not on the list: untouched.
    expect(firstDiff(readFileSync(join(tree, 'fou.pristine.ko')), fixtureBytes('btfids/fou.pristine.ko.gz'))).toBeUndefined();
  });

  it('a broken module fails alone: exit 2, the others are finalized, the broken file is untouched', () => {
    const tree = makeTree('broken');
    const good = fixtureBytes('btfids/tcp_bbr.pristine.ko.gz');
    const broken = good.slice(0, 4096); // ELF header and no section table
    writeFileSync(join(tree, 'aaa_broken.ko'), broken);
    const r = json([...FINALIZE, '-b', vmlinux, '-j', '2', tree]);
    expect(r.status).toBe(2);
    const reports = byRel(r.doc, tree);
    expect(reports.get('aaa_broken.ko')?.status).toBe('error');
    expect(reports.get('aaa_broken.ko')?.error?.text).toContain('aaa_broken.ko');
    expect(r.doc.summary).toMatchObject({ errors: 1, written: reports.size - 1 });
    expect(firstDiff(readFileSync(join(tree, 'aaa_broken.ko')), broken)).toBeUndefined();
    expect(firstDiff(readFileSync(join(tree, 'tcp_bbr.pristine.ko')), fixtureBytes('btfids/tcp_bbr.distilled.resolved.ko.gz'))).toBeUndefined();
    // Text mode names the file on stderr and ends with the summary.
    const again = modbtf(['finalize', ...FINALIZE, '-b', vmlinux, '-j', '2', tree]);
    expect(again.status).toBe(2);
    expect(again.stderr).toMatch(/^modbtf: .*aaa_broken\.ko/m);
    expect(again.stdout).toMatch(new RegExp(`^${reports.size} modules: 0 rewritten, ${reports.size - 1} already final, 1 error, `, 'm'));
  });

  it('keeps -j 1 (this thread) and -j 2 reports equal, and --dry-run writes nothing', () => {
    const a = makeTree('j1');
    const b = makeTree('j2');
    const one = json([...FINALIZE, '--dry-run', '-b', vmlinux, '-j', '1', a]);
    const two = json([...FINALIZE, '--dry-run', '-b', vmlinux, '-j', '2', b]);
    expect(one.status).toBe(0);
    expect(two.status).toBe(0);
    expect(one.doc.modules.map((m) => ({ ...m, file: relative(a, m.file) }))).toEqual(two.doc.modules.map((m) => ({ ...m, file: relative(b, m.file) })));
    expect(one.doc.summary['wouldWrite']).toBe(one.doc.modules.length);
    expect(firstDiff(readFileSync(join(a, 'tcp_bbr.pristine.ko')), fixtureBytes('btfids/tcp_bbr.pristine.ko.gz'))).toBeUndefined();
  });
});

describe('kernel postinst hook (kbuild/postinst.d-modbtf)', () => {
  const OLD = '6.12.107+deb12-amd64';
  const NEW = '6.12.117+deb12-amd64';

  /** /lib/modules with the running kernel's DKMS modules and the new kernel's build/vmlinux. */
  function fakeModules(name: string): string {
    const root = join(dir, name);
    mkdirSync(join(root, OLD, 'updates', 'dkms'), { recursive: true });
    mkdirSync(join(root, OLD, 'build'), { recursive: true });
    mkdirSync(join(root, NEW, 'build'), { recursive: true });
    copyFileSync(vmlinux, join(root, OLD, 'build', 'vmlinux'));
    writeFileSync(join(root, NEW, 'build', 'vmlinux'), fixtureBytes('btf/vmlinux-6.12.117.btf.gz'));
    copyFileSync(fixturePath('modules/tcp_bbr.ko.xz'), join(root, OLD, 'updates', 'dkms', 'tcp_bbr.ko.xz'));
    return root;
  }

  function hook(root: string, env: Record<string, string>, ...args: string[]): { status: number | null; out: string } {
    const r = spawnSync('sh', [HOOK, ...args], {
      encoding: 'utf8',
      env: { PATH: process.env['PATH'] ?? '/usr/bin:/bin', MODBTF_CONFIG: join(dir, 'no-config'), MODBTF_MODULES_ROOT: root, MODBTF_RUNNING: OLD, MODBTF_HEADERS_ROOT: join(dir, 'no-headers'), MODBTF_RUNNING_BTF: join(dir, 'no-btf'), ...env },
    });
    return { status: r.status, out: r.stdout + r.stderr };
  }

  /** A stand-in modbtf: logs its arguments, answers `check` with $FAKE_RC, knows retarget when $FAKE_RETARGET=1. */
  function fakeModbtf(): { cmd: string; log: string } {
    const log = join(dir, `fake-${Math.random().toString(36).slice(2)}.log`);
    const cmd = join(dir, 'fake-modbtf');
    writeFileSync(cmd, `#!/bin/sh
echo "$*" >> "$FAKE_LOG"
case "$1" in
  check) exit "\${FAKE_RC:-0}" ;;
  retarget) if [ "$FAKE_RETARGET" = 1 ]; then [ "$2" = --help ] && echo "modbtf retarget <modules..>"; exit 0; fi; echo "modbtf <command>"; exit 0 ;;
esac
exit 0
`);
    chmodSync(cmd, 0o755);
    return { cmd, log };
  }

  it('checks the running kernel\'s updates/ against the new kernel with the real modbtf', () => {
    const root = fakeModules('lm-real');
    const r = hook(root, { MODBTF_CMD: `${process.execPath} ${CLI}` }, NEW, `/boot/vmlinuz-${NEW}`);
    expect(r.status, r.out).toBe(0);
    expect(r.out).toContain(`checking the modules in ${join(root, OLD, 'updates')} (built for ${OLD}) against kernel ${NEW}`);
    expect(r.out).toMatch(/1 module checked against .*: 1 keep BTF, 0 lose BTF, 0 errors/);
    expect(r.out).toContain(`all modules in ${join(root, OLD, 'updates')} keep their BTF on ${NEW}`);
  });

  it('passes the new vmlinux and --base, warns but exits 0 when modules lose BTF or check fails', () => {
    const root = fakeModules('lm-fake');
    const { cmd, log } = fakeModbtf();
    const ok = hook(root, { MODBTF_CMD: cmd, FAKE_LOG: log }, NEW, '/boot/x');
    expect(ok.status).toBe(0);
    expect(readFileSync(log, 'utf8').trim().split('\n')).toEqual([`check --base ${join(root, OLD, 'build', 'vmlinux')} --kernel ${join(root, NEW, 'build', 'vmlinux')} ${join(root, OLD, 'updates')}`]);
    const lose = hook(root, { MODBTF_CMD: cmd, FAKE_LOG: log, FAKE_RC: '1' }, NEW);
    expect(lose.status).toBe(0);
    expect(lose.out).toMatch(/WARNING: some modules in .* will lose their BTF on 6\.12\.117/);
    const fail = hook(root, { MODBTF_CMD: cmd, FAKE_LOG: log, FAKE_RC: '2' }, NEW);
    expect(fail.status).toBe(0);
    expect(fail.out).toMatch(/WARNING: modbtf check could not check every module .*exit status 2/);
  });

  it('retargets only when opted in and modbtf has the command; skips without headers, modules or modbtf', () => {
    const root = fakeModules('lm-retarget');
    const { cmd, log } = fakeModbtf();
    const config = join(dir, 'default-modbtf');
    writeFileSync(config, 'MODBTF_RETARGET=1\nMODBTF_JOBS=3\n');
    const without = hook(root, { MODBTF_CMD: cmd, FAKE_LOG: log, MODBTF_CONFIG: config }, NEW);
    expect(without.status).toBe(0);
    expect(without.out).toContain('has no retarget command');
    const withIt = hook(root, { MODBTF_CMD: cmd, FAKE_LOG: log, MODBTF_CONFIG: config, FAKE_RETARGET: '1' }, NEW);
    expect(withIt.status).toBe(0);
    const calls = readFileSync(log, 'utf8').trim().split('\n').filter((l) => !l.includes('--help'));
    // retarget works one module at a time: it has no -j (MODBTF_JOBS is for check).
    expect(calls.at(-1)).toBe(`retarget --kernel ${NEW} ${join(root, OLD, 'updates')}`);
    expect(calls.at(-2)).toMatch(/^check -j 3 /);

    // A broken configuration file is ignored with a warning.
    writeFileSync(config, 'if then\n');
    expect(hook(root, { MODBTF_CMD: cmd, FAKE_LOG: log, MODBTF_CONFIG: config }, NEW)).toMatchObject({ status: 0 });
    // No headers (vmlinux) for the new kernel yet.
    const early = hook(root, { MODBTF_CMD: cmd, FAKE_LOG: log }, '6.12.999-amd64');
    expect(early).toMatchObject({ status: 0 });
    expect(early.out).toContain('no vmlinux yet (install linux-headers-6.12.999-amd64)');
    // No out-of-tree modules for the running kernel.
    const none = hook(root, { MODBTF_CMD: cmd, FAKE_LOG: log, MODBTF_RUNNING: NEW }, NEW);
    expect(none).toMatchObject({ status: 0 });
    expect(none.out).toContain('no out-of-tree modules to check');
    // modbtf not installed; no version at all.
    expect(hook(root, { MODBTF_CMD: join(dir, 'no-such-modbtf') }, NEW).out).toContain('not found');
    expect(hook(root, { MODBTF_CMD: cmd, FAKE_LOG: log })).toMatchObject({ status: 0 });
  });
});
