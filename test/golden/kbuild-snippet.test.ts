/**
 * Makefile.snippet's one-process-per-build hook with real GNU make, on a stand-in tree
 * shaped like kbuild's: a top Makefile whose `modules: modpost` recipe runs
 * Makefile.modfinal in a sub-make, a Makefile.modpost with its own default goal, and a
 * Makefile.modfinal whose %.ko rule links (a copy, when the .o is newer) and runs cmd_btf_ko. pahole and
 * resolve_btfids are stand-ins that log their calls (pahole adds Debian's tcp_bbr .BTF);
 * MODBTF is a wrapper that logs each modbtf process. The real trees (6.12.107, 7.2.13)
 * and real DKMS packages are the e2e's and scripts/bench-modfinal.mjs's.
 */
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parseElf } from '../../lib/elf/index.js';
import { fixtureBytes } from '../helpers/fixtures.js';
import { writeKernelRelease } from '../helpers/kbuild-tree.js';

const ROOT = resolve(__dirname, '..', '..');
const SNIPPET = join(ROOT, 'Makefile.snippet');
const CLI = join(ROOT, 'dist', 'bundle', 'main.js');
const dirs: string[] = [];
afterAll(() => { for (const d of dirs) rmSync(d, { recursive: true, force: true }); });

interface Tree { kdir: string; mod: string; log: string; make: (vars?: Record<string, string>, env?: Record<string, string>) => { status: number | null; out: string }; calls: () => string[] }

function tree(): Tree {
  const root = mkdtempSync(join(tmpdir(), 'modbtf-snippet-'));
  dirs.push(root);
  const kdir = join(root, 'kdir');
  const mod = join(root, 'mod');
  mkdirSync(join(kdir, 'scripts'), { recursive: true });
  writeKernelRelease(kdir, '6.12.107+deb12-amd64');
  mkdirSync(mod);
  const log = join(root, 'calls');
  writeFileSync(join(kdir, 'vmlinux'), fixtureBytes('btfids/vmlinux-6.12.107.elf.gz'));
  const btf = join(root, 'bbr.btf');
  writeFileSync(btf, fixtureBytes('btf/tcp_bbr.btf.gz'));
  const withBtf = join(root, 'with-btf.ko');
  writeFileSync(withBtf, fixtureBytes('btfids/tcp_bbr.pristine.ko.gz'));
  for (const m of ['a', 'b']) {
    const r = spawnSync('objcopy', ['--remove-section', '.BTF', withBtf, join(mod, `${m}.o`)]);
    if (r.status !== 0) throw new Error(`objcopy: ${String(r.stderr)}`);
  }
  writeFileSync(join(mod, 'modules.order'), `${mod}/a.o\n${mod}/b.o\n`);
  const script = (name: string, body: string): string => { const p = join(root, name); writeFileSync(p, `#!/bin/sh\n${body}\n`); chmodSync(p, 0o755); return p; };
  const pahole = script('pahole', `echo "pahole $*" >> ${log}\nfor m; do :; done\n\${LLVM_OBJCOPY:-objcopy} --add-section .BTF=${btf} "$m"`);
  const rb = script('resolve_btfids', `echo "resolve_btfids $*" >> ${log}`);
  script('modbtf', `echo "modbtf $*" >> ${log}\nexec ${process.execPath} ${CLI} "$@"`);
  writeFileSync(join(kdir, 'Makefile'), [
    'this-makefile := $(lastword $(MAKEFILE_LIST))',
    'export srctree := $(CURDIR)',
    'export objtree := .',
    `export MODORDER := $(M)/modules.order`,
    `export PAHOLE := ${pahole}`,
    `export RESOLVE_BTFIDS := ${rb}`,
    'export OBJCOPY := objcopy',
    'export PAHOLE_FLAGS := -j',
    'export KBUILD_EXTMOD := $(M)',
    'modules: modpost',
    '\t@$(MAKE) -f $(srctree)/scripts/Makefile.modfinal',
    'modpost:',
    '\t@$(MAKE) -f $(srctree)/scripts/Makefile.modpost',
    '',
  ].join('\n'));
  writeFileSync(join(kdir, 'scripts', 'Makefile.modpost'), '__modpost:\n\t@echo "modpost: its own default goal"\n');
  writeFileSync(join(kdir, 'scripts', 'Makefile.modfinal'), [
    'PHONY := __modfinal',
    '__modfinal:',
    'modules := $(shell cat $(MODORDER))',
    '__modfinal: $(modules:%.o=%.ko)',
    '\t@:',
    'cmd_btf_ko = LLVM_OBJCOPY="$(OBJCOPY)" $(PAHOLE) -J $(PAHOLE_FLAGS) --btf_base vmlinux $@; $(RESOLVE_BTFIDS) -b vmlinux $@;',
    '%.ko: %.o',
    '\t@cp $< $@',
    '\t@echo "  BTF [M] $@"',
    '\t@set -e; $(cmd_btf_ko)',
    'PHONY += FORCE',
    'FORCE:',
    '.PHONY: $(PHONY)',
    '',
  ].join('\n'));
  const make = (vars: Record<string, string> = {}, env: Record<string, string> = {}): { status: number | null; out: string } => {
    const r = spawnSync('make', ['-j2', '-C', kdir, `M=${mod}`, `MODBTF=${join(root, 'modbtf')}`, ...Object.entries(vars).map(([k, v]) => `${k}=${v}`), 'modules'], {
      encoding: 'utf8', env: { PATH: process.env['PATH'] ?? '/usr/bin:/bin', MAKEFILES: SNIPPET, ...env },
    });
    return { status: r.status, out: `${r.stdout}${r.stderr}` };
  };
  const calls = (): string[] => (existsSync(log) ? readFileSync(log, 'utf8').trim().split('\n') : []);
  return { kdir, mod, log, make, calls };
}

const sections = (p: string): string[] => parseElf(new Uint8Array(readFileSync(p))).sections.map((s) => s.name);
const word = (c: string): string => c.split(' ').slice(0, 3).join(' ');

describe('Makefile.snippet: one modbtf process per kbuild run', () => {
  it('pahole per module in its recipe, then one finalize-batch over both; modpost keeps its own goal; a second make starts no modbtf', () => {
    const t = tree();
    const r = t.make();
    expect(r.status, r.out).toBe(0);
    expect(r.out).toMatch(/modpost: its own default goal/);
    expect(r.out.match(/ {2}BTF \[M\] /g)).toHaveLength(2);
    const calls = t.calls();
    expect(calls.filter((c) => c.startsWith('pahole'))).toHaveLength(2);
    // No CONFIG_PAHOLE_VERSION (as for pahole < 1.27) on a 6.x tree: pahole without the tree's -j.
    expect(calls.filter((c) => c.startsWith('pahole')).map((c) => c.split(' ').slice(0, 3).join(' '))).toEqual(['pahole -J --btf_base', 'pahole -J --btf_base']);
    expect(calls.filter((c) => c.startsWith('resolve_btfids'))).toHaveLength(0);
    const modbtf = calls.filter((c) => c.startsWith('modbtf'));
    expect(modbtf).toEqual([`modbtf kbuild finalize-batch ${t.mod}/a.ko ${t.mod}/b.ko`]);
    for (const m of ['a', 'b']) {
      expect(sections(join(t.mod, `${m}.ko`))).toContain('.BTF.base');
      expect(existsSync(join(t.mod, `.${m}.ko.modbtf`))).toBe(false);
    }
    // Nothing to relink: no BTF step ran, nothing is recorded, no modbtf starts.
    rmSync(t.log);
    const again = t.make();
    expect(again.status, again.out).toBe(0);
    expect(t.calls().filter((c) => c.startsWith('modbtf'))).toEqual([]);
  });

  it('pahole -j: dropped for CONFIG_PAHOLE_VERSION 124 (not reproducible before 1.27), kept for 132, as the per-module form does', () => {
    for (const [version, want] of [['124', 'pahole -J'], ['132', 'pahole -J -j']] as const) {
      const t = tree();
      const r = t.make({ CONFIG_PAHOLE_VERSION: version });
      expect(r.status, r.out).toBe(0);
      expect(t.calls().filter((c) => c.startsWith('pahole')).map((c) => c.split(' --btf_base ')[0])).toEqual([want, want]);
      const per = tree();
      expect(per.make({ CONFIG_PAHOLE_VERSION: version, MODBTF_BATCH: '0' }).status).toBe(0);
      expect(per.calls().filter((c) => c.startsWith('pahole')).map((c) => c.split(' --btf_base ')[0])).toEqual([want, want]);
    }
  });

  it('MODBTF_BATCH=0: the per-module form, one modbtf kbuild modfinal per module, the same bytes', () => {
    const a = tree();
    expect(a.make().status).toBe(0);
    const b = tree();
    const r = b.make({ MODBTF_BATCH: '0' });
    expect(r.status, r.out).toBe(0);
    expect(b.calls().filter((c) => c.startsWith('modbtf')).map(word)).toEqual(['modbtf kbuild modfinal', 'modbtf kbuild modfinal']);
    for (const m of ['a', 'b']) expect(readFileSync(join(b.mod, `${m}.ko`)).equals(readFileSync(join(a.mod, `${m}.ko`)))).toBe(true);
  });

  it('modbtf cannot be started: each module gets the tree\'s rest (resolve_btfids) and one warning', () => {
    const t = tree();
    const r = spawnSync('make', ['-j2', '-C', t.kdir, `M=${t.mod}`, 'MODBTF=/nonexistent/modbtf', 'modules'], { encoding: 'utf8', env: { PATH: process.env['PATH'] ?? '/usr/bin:/bin', MAKEFILES: SNIPPET } });
    const out = `${r.stdout}${r.stderr}`;
    expect(r.status, out).toBe(0);
    expect(out.match(/^modbtf: warning: \S+: cannot run "\/nonexistent\/modbtf" \(exit status 127\); the module gets what the kernel's own BTF step writes$/gm)).toHaveLength(2);
    expect(t.calls().map((c) => c.split(' ')[0])).toEqual(['pahole', 'pahole', 'resolve_btfids', 'resolve_btfids']);
    for (const m of ['a', 'b']) expect(sections(join(t.mod, `${m}.ko`))).not.toContain('.BTF.base');
  });

  it('MODBTF_STRICT=1 and a rewrite that fails (the recipes\' TMPDIR unwritable): the build fails, the modules are deleted', () => {
    const t = tree();
    const r = t.make({ MODBTF_STRICT: '1' }, { TMPDIR: '/nonexistent/modbtf-tmp' });
    expect(r.status, r.out).not.toBe(0);
    expect(r.out).toMatch(/MODBTF_STRICT=1: not falling back to the kernel's own BTF step/);
    for (const m of ['a', 'b']) {
      expect(existsSync(join(t.mod, `${m}.ko`))).toBe(false);
      expect(existsSync(join(t.mod, `.${m}.ko.modbtf`))).toBe(false);
    }
  });
});
