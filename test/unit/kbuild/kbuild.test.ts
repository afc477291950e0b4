// The kbuild layer: distill decision (Makefile.btf's rule + BTF_BASE_REF), where the
// vmlinux comes from, and install/uninstall on a build tree's Makefile.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { release, tmpdir } from 'node:os';
import { join } from 'node:path';
import { shouldDistill, splitWords } from '../../../kbuild/env.js';
import { findBuildVmlinux } from '../../../kbuild/vmlinux.js';
import { installKbuild, uninstallKbuild, BEGIN, INSTALLED_SNIPPET } from '../../../kbuild/install.js';
import { parseModfinalArgv } from '../../../cli/modfinal-step.js';
import { pipelineProfile } from '../../../lib/pipeline/profile.js';

let dir: string;
beforeEach(() => { dir = mkdtempSync(join(tmpdir(), 'modbtf-kbuild-')); });
afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe('shouldDistill', () => {
  it.each([
    ['', '', false], // in-tree build
    ['/src/mod', '', true], // M= build
    ['', '1', true], // in-tree, asked for
    ['/src/mod', '0', false], // opted out
    ['/src/mod', 'y', true],
    ['', 'n', false],
  ])('KBUILD_EXTMOD=%j BTF_BASE_REF=%j -> %s', (extmod, btfBaseRef, want) => {
    expect(shouldDistill({ extmod, btfBaseRef })).toBe(want);
  });
  it('splits make variable values into words', () => {
    expect(splitWords(' --btf_gen_floats  -j --lang_exclude=rust ')).toEqual(['--btf_gen_floats', '-j', '--lang_exclude=rust']);
  });
});

describe('findBuildVmlinux', () => {
  it('MODBTF_VMLINUX first, then the tree\'s vmlinux', async () => {
    writeFileSync(join(dir, 'vmlinux'), 'x');
    expect(await findBuildVmlinux(dir, { MODBTF_VMLINUX: '/v' })).toEqual({ path: '/v', reason: 'MODBTF_VMLINUX' });
    expect((await findBuildVmlinux(dir, {}))?.path).toBe(join(dir, 'vmlinux'));
  });
  it('a tree of the running kernel without vmlinux uses /sys/kernel/btf/vmlinux; another kernel\'s gets none', async () => {
    mkdirSync(join(dir, 'include/config'), { recursive: true });
    writeFileSync(join(dir, 'include/config/kernel.release'), `${release()}\n`);
    const running = await findBuildVmlinux(dir, {});
    expect(running?.path).toBe(existsSync('/sys/kernel/btf/vmlinux') ? '/sys/kernel/btf/vmlinux' : undefined);
    writeFileSync(join(dir, 'include/config/kernel.release'), '1.2.3-other\n');
    expect(await findBuildVmlinux(dir, {})).toBeUndefined();
  });
});

describe('kbuild install / uninstall', () => {
  it('adds one marked block and the snippet copy, idempotently, and restores the Makefile exactly', async () => {
    const original = 'include /usr/src/linux-headers-common/Makefile\n';
    mkdirSync(join(dir, 'scripts'));
    writeFileSync(join(dir, 'Makefile'), original);
    const snippet = join(dir, 'snippet.mk');
    writeFileSync(snippet, 'override cmd_btf_ko = true\n');
    const first = await installKbuild(dir, snippet, '/usr/bin/node /opt/modbtf/dist/bundle/main.js');
    expect(first.changed).toBe(true);
    const mk = readFileSync(join(dir, 'Makefile'), 'utf8');
    expect(mk.startsWith(BEGIN)).toBe(true);
    expect(mk).toContain(`export MAKEFILES += ${join(dir, INSTALLED_SNIPPET)}\n`);
    expect(mk.endsWith(original)).toBe(true);
    expect(readFileSync(join(dir, INSTALLED_SNIPPET), 'utf8')).toContain('MODBTF ?= /usr/bin/node /opt/modbtf/dist/bundle/main.js');
    expect((await installKbuild(dir, snippet, '/usr/bin/node /opt/modbtf/dist/bundle/main.js')).changed).toBe(false);
    expect(readFileSync(join(dir, 'Makefile'), 'utf8')).toBe(mk);
    expect((await uninstallKbuild(dir)).changed).toBe(true);
    expect(readFileSync(join(dir, 'Makefile'), 'utf8')).toBe(original);
    expect(existsSync(join(dir, INSTALLED_SNIPPET))).toBe(false);
    expect((await uninstallKbuild(dir)).changed).toBe(false);
  });
  it('refuses a directory that is not a build tree', async () => {
    await expect(installKbuild(dir, join(dir, 'x'), 'modbtf')).rejects.toMatchObject({ code: 'KBUILD_NOT_A_TREE' });
  });
});

describe('the modfinal fast path parses exactly what Makefile.snippet passes', () => {
  it('--opt=value words and the module', () => {
    // The command line Makefile.snippet's cmd_btf_ko expands to (empty values included).
    const argv = ['--objtree=/usr/src/linux-headers-7.2.13+deb14-amd64', '--srctree=/usr/src/linux-headers-7.2.13+deb14-common',
      '--pahole=pahole', '--pahole-flags=-j --btf_features=encode_force', '--module-pahole-flags=', '--pahole-version=132',
      '--resolve-btfids=/k/tools/bpf/resolve_btfids/resolve_btfids', '--resolve-btfids-flags=--distill_base',
      '--objcopy=x86_64-linux-gnu-objcopy', '--shell=sh', '--extmod=/m', '--btf-base-ref=', '--strict=1', '--vmlinux=', 'a.ko'];
    expect(parseModfinalArgv(argv, {})).toEqual({
      module: 'a.ko', objtree: '/usr/src/linux-headers-7.2.13+deb14-amd64', srctree: '/usr/src/linux-headers-7.2.13+deb14-common',
      pahole: 'pahole', paholeFlags: '-j --btf_features=encode_force', modulePaholeFlags: '', paholeVersion: '132',
      resolveBtfids: '/k/tools/bpf/resolve_btfids/resolve_btfids', resolveBtfidsFlags: '--distill_base', objcopy: 'x86_64-linux-gnu-objcopy',
      shell: 'sh', extmod: '/m', btfBaseRef: '', strict: '1', vmlinux: '', verbose: false,
    });
  });
  it('what the snippet leaves out comes from kbuild\'s environment', () => {
    expect(parseModfinalArgv(['a.ko'], { PAHOLE: '/opt/pahole', KBUILD_EXTMOD: '/m', MODBTF_STRICT: '1', objtree: '/k' })).toMatchObject({
      pahole: '/opt/pahole', extmod: '/m', strict: '1', objtree: '/k', shell: 'sh',
    });
  });
  it('anything else goes to the full parser', () => {
    expect(parseModfinalArgv(['--pahole', 'pahole', 'a.ko'])).toBeUndefined();
    expect(parseModfinalArgv(['a.ko', 'b.ko'])).toBeUndefined();
    expect(parseModfinalArgv([])).toBeUndefined();
  });
});

describe('kbuild install tells what the tree gets', () => {
  it('a 7.x tree (scripts/gen-btf.sh) with vmlinux, a 6.12 tree with pahole 1.24 and without', async () => {
    const { inspectTree, describeHookedTree } = await import('../../../kbuild/tree.js');
    mkdirSync(join(dir, 'scripts'), { recursive: true });
    mkdirSync(join(dir, 'include/config'), { recursive: true });
    writeFileSync(join(dir, 'include/config/kernel.release'), '7.2.13+deb14-amd64\n');
    writeFileSync(join(dir, 'include/config/auto.conf'), 'CONFIG_PAHOLE_VERSION=132\nCONFIG_DEBUG_INFO_BTF=y\n');
    writeFileSync(join(dir, 'scripts/gen-btf.sh'), '');
    writeFileSync(join(dir, 'vmlinux'), '');
    const t7 = await inspectTree(dir);
    expect(t7).toEqual({ abi: 7, pipeline: { kind: 'profile', profile: pipelineProfile('7.2') }, hasVmlinux: true, release: '7.2.13+deb14-amd64', paholeVersion: 132 });
    expect(describeHookedTree(t7)).toMatch(/^kernel 7\.2\.13\+deb14-amd64 has the 7\.2 BTF pipeline .*already gives M= builds \.BTF\.base/);
    rmSync(join(dir, 'scripts/gen-btf.sh'));
    rmSync(join(dir, 'vmlinux'));
    writeFileSync(join(dir, 'include/config/kernel.release'), '6.12.107+deb12-amd64\n');
    writeFileSync(join(dir, 'include/config/auto.conf'), 'CONFIG_PAHOLE_VERSION=124\n');
    const t6 = await inspectTree(dir);
    expect(t6).toEqual({ abi: 6, pipeline: { kind: 'profile', profile: pipelineProfile('6') }, hasVmlinux: false, release: '6.12.107+deb12-amd64', paholeVersion: 124 });
    const d6 = describeHookedTree(t6);
    expect(d6).toContain('has the 6.x BTF pipeline (pahole 1.24): M= builds now get .BTF.base, which this tree\'s own step cannot write');
    expect(d6).toContain('It has no vmlinux');
  });
});
