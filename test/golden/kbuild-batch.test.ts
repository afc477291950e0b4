/**
 * The batch form of the kbuild step (kbuild/batch.ts): the make recipe ran the tree's
 * pahole call and left a record; one finalize-batch process finishes every recorded
 * module exactly as the per-module `kbuild modfinal` would, with the same fallbacks.
 * The trees are the stand-ins of kbuild7.test.ts: a 6.x tree (vmlinux 6.12.107, a pahole
 * that adds Debian's tcp_bbr .BTF) and a 7.x tree (k7fix, pahole 1.32's detached BTF).
 */
import { spawnSync } from 'node:child_process';
import { chmodSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { recordPath, runFinalizeBatch, type BatchOptions, type RecordedStep } from '../../kbuild/batch.js';
import { runModfinal, type ModfinalOptions } from '../../kbuild/modfinal.js';
import { fixtureBytes } from '../helpers/fixtures.js';
import { writeKernelRelease } from '../helpers/kbuild-tree.js';

const dirs: string[] = [];
afterAll(() => { for (const d of dirs) rmSync(d, { recursive: true, force: true }); });

interface Tree { root: string; ko: string; calls: string; opts: (ko: string, over?: Partial<ModfinalOptions>) => ModfinalOptions; recipePahole: (ko: string) => void }

function tree6(): Tree {
  const root = mkdtempSync(join(tmpdir(), 'modbtf-batch6-'));
  dirs.push(root);
  const tree = join(root, 'tree');
  mkdirSync(join(tree, 'scripts'), { recursive: true });
  writeKernelRelease(tree, '6.12.107+deb12-amd64');
  writeFileSync(join(tree, 'vmlinux'), fixtureBytes('btfids/vmlinux-6.12.107.elf.gz'));
  const calls = join(root, 'calls');
  const btf = join(root, 'bbr.btf');
  writeFileSync(btf, fixtureBytes('btf/tcp_bbr.btf.gz'));
  const withBtf = join(root, 'with-btf.ko');
  writeFileSync(withBtf, fixtureBytes('btfids/tcp_bbr.pristine.ko.gz'));
  const ko = join(root, 'tcp_bbr.ko');
  const r = spawnSync('objcopy', ['--remove-section', '.BTF', withBtf, ko]);
  if (r.status !== 0) throw new Error(`objcopy: ${String(r.stderr)}`);
  const pahole = join(root, 'pahole');
  writeFileSync(pahole, `#!/bin/sh\necho "pahole $*" >> ${calls}\nfor m; do :; done\n\${LLVM_OBJCOPY:-objcopy} --add-section .BTF=${btf} "$m"\n`);
  const rb = join(root, 'resolve_btfids');
  writeFileSync(rb, `#!/bin/sh\necho "resolve_btfids $*" >> ${calls}\n`);
  chmodSync(pahole, 0o755);
  chmodSync(rb, 0o755);
  const opts = (m: string, over: Partial<ModfinalOptions> = {}): ModfinalOptions => ({
    module: m, objtree: tree, srctree: tree, pahole, paholeFlags: '-j --btf_gen_floats', modulePaholeFlags: '', paholeVersion: '124',
    resolveBtfids: rb, resolveBtfidsFlags: '', objcopy: 'objcopy', shell: 'sh', extmod: root, btfBaseRef: '', strict: false,
    env: { PATH: process.env['PATH'] ?? '/usr/bin:/bin' }, verbose: false, log: () => {}, ...over,
  });
  // The recipe's part in the batch form: the tree's pahole -J into the module.
  const recipePahole = (m: string): void => {
    const p = spawnSync(pahole, ['-J', '--btf_base', join(tree, 'vmlinux'), m], { env: { ...process.env, LLVM_OBJCOPY: 'objcopy' } });
    if (p.status !== 0) throw new Error('pahole stand-in failed');
  };
  return { root, ko, calls, opts, recipePahole };
}

function tree7(): Tree {
  const k7 = (name: string): Uint8Array => fixtureBytes(`kernel7/${name}.gz`);
  const root = mkdtempSync(join(tmpdir(), 'modbtf-batch7-'));
  dirs.push(root);
  const tree = join(root, 'tree');
  mkdirSync(join(tree, 'scripts'), { recursive: true });
  writeKernelRelease(tree, '7.2.13+deb14-amd64');
  writeFileSync(join(tree, 'vmlinux'), k7('vmlinux-7.2.13.btf'));
  const calls = join(root, 'calls');
  writeFileSync(join(tree, 'scripts', 'gen-btf.sh'), `echo "gen-btf.sh $@" >> ${calls}\n`);
  const btf = join(root, 'k7fix.pahole.btf');
  writeFileSync(btf, k7('k7fix.pahole.btf'));
  const pahole = join(root, 'pahole');
  writeFileSync(pahole, `#!/bin/sh\necho "pahole $*" >> ${calls}\nfor a; do case "$a" in --btf_encode_detached=*) cp ${btf} "\${a#--btf_encode_detached=}";; esac; done\n`);
  chmodSync(pahole, 0o755);
  const ko = join(root, 'k7fix.ko');
  writeFileSync(ko, k7('k7fix.linked.ko'));
  const opts = (m: string, over: Partial<ModfinalOptions> = {}): ModfinalOptions => ({
    module: m, objtree: tree, srctree: tree, pahole, paholeFlags: '-j', modulePaholeFlags: '', paholeVersion: '132',
    resolveBtfids: '/nonexistent/resolve_btfids', resolveBtfidsFlags: '--distill_base', objcopy: 'objcopy', shell: 'sh', extmod: root,
    btfBaseRef: '', strict: false, env: { PATH: process.env['PATH'] ?? '/usr/bin:/bin' }, verbose: false, log: () => {}, ...over,
  });
  const recipePahole = (m: string): void => {
    const p = spawnSync(pahole, ['-J', '--btf_base', join(tree, 'vmlinux'), `--btf_encode_detached=${m}.BTF.1`, m]);
    if (p.status !== 0) throw new Error('pahole stand-in failed');
  };
  return { root, ko, calls, opts, recipePahole };
}

/** What Makefile.snippet's recipe writes after pahole. */
function writeRecord(ko: string, o: ModfinalOptions, tmp = ''): void {
  const lines = [`--objtree=${o.objtree}`, `--srctree=${o.srctree}`, `--pahole=${o.pahole}`, `--pahole-flags=${o.paholeFlags}`,
    `--module-pahole-flags=${o.modulePaholeFlags}`, `--pahole-version=${o.paholeVersion}`, `--resolve-btfids=${o.resolveBtfids}`,
    `--resolve-btfids-flags=${o.resolveBtfidsFlags}`, `--objcopy=${o.objcopy}`, `--shell=${o.shell}`, `--extmod=${o.extmod}`,
    `--btf-base-ref=${o.btfBaseRef}`, `--strict=${o.strict ? '1' : ''}`, '--vmlinux=', `TMPDIR=${tmp}`];
  writeFileSync(recordPath(ko), `${lines.join('\n')}\n`);
}

const FLAG: Record<string, keyof ModfinalOptions> = {
  '--objtree': 'objtree', '--srctree': 'srctree', '--pahole': 'pahole', '--pahole-flags': 'paholeFlags', '--module-pahole-flags': 'modulePaholeFlags',
  '--pahole-version': 'paholeVersion', '--resolve-btfids': 'resolveBtfids', '--resolve-btfids-flags': 'resolveBtfidsFlags', '--objcopy': 'objcopy',
  '--shell': 'shell', '--extmod': 'extmod', '--btf-base-ref': 'btfBaseRef',
};

function batchOptions(logs: string[], errors: string[]): BatchOptions {
  return {
    env: { PATH: process.env['PATH'] ?? '/usr/bin:/bin' }, verbose: false, log: (l) => logs.push(l),
    parse: (args, module) => {
      const step: Record<string, unknown> = { module, env: { PATH: process.env['PATH'] ?? '/usr/bin:/bin' }, strict: false };
      for (const a of args) {
        const eq = a.indexOf('=');
        const k = FLAG[a.slice(0, eq)];
        if (k !== undefined) step[k] = a.slice(eq + 1);
        else if (a.startsWith('--strict=')) step['strict'] = a.endsWith('=1');
      }
      return step as unknown as RecordedStep;
    },
    onDone: () => {},
    onError: (_m, err) => { errors.push(String(err)); return 2; },
  };
}

describe.each([['6.x', tree6], ['7.x', tree7]])('kbuild finalize-batch on a %s tree', (_label, make) => {
  it('finishes each recorded module byte for byte as the per-module step, and removes the records', async () => {
    const t = make();
    const perModule = join(t.root, 'per-module.ko');
    copyFileSync(t.ko, perModule);
    expect(await runModfinal(t.opts(perModule))).toMatchObject({ kind: 'done' });
    t.recipePahole(t.ko);
    writeRecord(t.ko, t.opts(t.ko));
    const logs: string[] = [];
    const errors: string[] = [];
    const out = await runFinalizeBatch([t.ko, join(t.root, 'not-recorded.ko')], batchOptions(logs, errors));
    expect(errors).toEqual([]);
    expect(out).toEqual({ finished: 1, failed: [], exitCode: 0 });
    expect(Buffer.compare(readFileSync(t.ko), readFileSync(perModule))).toBe(0);
    expect(existsSync(recordPath(t.ko))).toBe(false);
    expect(existsSync(`${t.ko}.BTF.1`)).toBe(false);
    // A second batch over the same list has nothing to do.
    expect(await runFinalizeBatch([t.ko], batchOptions(logs, errors))).toEqual({ finished: 0, failed: [], exitCode: 0 });
  });

  it('modbtf\'s part fails (the recorded TMPDIR is unwritable): the tree\'s own rest after the recipe\'s pahole, one warning', async () => {
    const t = make();
    t.recipePahole(t.ko);
    writeRecord(t.ko, t.opts(t.ko), '/nonexistent/modbtf-tmp');
    const logs: string[] = [];
    const errors: string[] = [];
    const out = await runFinalizeBatch([t.ko], batchOptions(logs, errors));
    expect(out).toEqual({ finished: 1, failed: [], exitCode: 0 });
    expect(logs.filter((l) => l.startsWith('modbtf: warning:'))).toHaveLength(1);
    const calls = readFileSync(t.calls, 'utf8').trim().split('\n').map((c) => c.split(' ')[0]);
    // 6.x: pahole's output is the tree's own, only resolve_btfids is left; 7.x: gen-btf.sh from the linked module.
    expect(calls).toEqual(t.ko.endsWith('k7fix.ko') ? ['pahole', 'gen-btf.sh'] : ['pahole', 'resolve_btfids']);
    expect(existsSync(recordPath(t.ko))).toBe(false);
    expect(existsSync(`${t.ko}.BTF.1`)).toBe(false);
  });

  it('MODBTF_STRICT=1: the failing module is deleted with its record (make relinks it next time), the batch fails', async () => {
    const t = make();
    t.recipePahole(t.ko);
    writeRecord(t.ko, t.opts(t.ko, { strict: true }), '/nonexistent/modbtf-tmp');
    const logs: string[] = [];
    const errors: string[] = [];
    const out = await runFinalizeBatch([t.ko], batchOptions(logs, errors));
    expect(out).toEqual({ finished: 0, failed: [t.ko], exitCode: 2 });
    expect(errors.join('\n')).toMatch(/MODBTF_STRICT=1: not falling back/);
    expect(existsSync(t.ko)).toBe(false);
    expect(existsSync(recordPath(t.ko))).toBe(false);
    expect(existsSync(`${t.ko}.BTF.1`)).toBe(false);
  });
});
