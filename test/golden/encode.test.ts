/**
 * lib/encode against pahole 1.32 (Debian sid, libbpf 1.7.0): the module's DWARF encoded as
 * split BTF over vmlinux with the flags a 7.2.13 build passes must give pahole's
 * --btf_encode_detached bytes.
 *
 *  - k7fix (test/fixtures/kernel7: the fixture module built against 7.2.13, with kfunc sets,
 *    so bpf_kfunc decl tags; its linked object and pahole's output as gen-btf.sh's V=1
 *    command wrote it, see kernel7/PROVENANCE.md).
 *  - test/fixtures/encode (scripts/gen-encode-fixtures.mjs): two CUs of small C with gcc 16,
 *    DWARF 5 and DWARF 4, and cross-compiled for arm64 and s390x (big-endian), over a base
 *    pahole encoded, with three flag sets (7.2.13's, a pahole
 *    <= 1.25 tree's, none), run through `modbtf pahole` itself (its argv parsing included).
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { afterAll, describe, expect, it } from 'vitest';
import { runPahole } from '../../cli/commands/pahole.js';
import { Btf } from '../../lib/btf/btf.js';
import { parseElf } from '../../lib/elf/index.js';
import { encodeModule, FeatureParser } from '../../lib/encode/index.js';
import { parseLanguages } from '../../lib/encode/languages.js';
import { fixtureBytes, fixturePath, firstDiff } from '../helpers/fixtures.js';
// The flag sets scripts/gen-encode-fixtures.mjs made the fixtures with.
import { FLAG_SETS } from '../../scripts/lib/encode-flag-sets.mjs';

const vmlinux72 = Btf.parse(fixtureBytes('kernel7/vmlinux-7.2.13.btf.gz'), { file: 'vmlinux-7.2.13' });

/** The features of Makefile.btf for pahole 1.32 (CONFIG_PAHOLE_VERSION=132). */
function kbuild72(): FeatureParser {
  const f = new FeatureParser();
  f.btfFeatures('encode_force,var,float,enum64,decl_tag,type_tag,optimized_func,consistent_func,decl_tag_kfuncs');
  f.btfFeatures('attributes');
  f.btfFeatures('layout');
  return f;
}

const rust = parseLanguages('rust');
if (!('ids' in rust)) throw new Error('rust is a language pahole knows');

describe('encodeModule equals pahole 1.32 --btf_encode_detached', () => {
  it('k7fix (kfunc sets: bpf_kfunc decl tags) over the 7.2.13 vmlinux', () => {
    const elf = parseElf(fixtureBytes('kernel7/k7fix.linked.ko.gz'), { file: 'k7fix.ko' });
    const r = encodeModule(elf, vmlinux72, { features: kbuild72().features, languages: { ids: rust.ids, exclude: true } });
    const want = fixtureBytes('kernel7/k7fix.pahole.btf.gz');
    expect(r.bytes).toBeDefined();
    expect(firstDiff(r.bytes as Uint8Array, want)).toBeUndefined();
    expect(r.bytes?.length).toBe(want.length);
  });
});


describe('modbtf pahole equals pahole 1.32 on small gcc and clang objects (test/fixtures/encode)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'modbtf-encode-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  for (const variant of ['gcc-dwarf5', 'gcc-dwarf4', 'clang-dwarf5', 'aarch64-gcc-dwarf5', 's390x-gcc-dwarf5']) {
    for (const [set, flags] of Object.entries(FLAG_SETS)) {
      it(`${variant}, ${set} flags`, async () => {
        const ko = join(dir, `${variant}.ko`);
        writeFileSync(ko, gunzipSync(readFileSync(fixturePath(`encode/${variant}/ab.ko.gz`))));
        const out = join(dir, `${variant}.${set}.btf`);
        let stderr = '';
        const argv = ['-J', ...flags.split(' ').filter((a) => a !== ''), '--btf_base', fixturePath(`encode/${variant}/base.btf`), `--btf_encode_detached=${out}`, ko];
        const code = await runPahole(argv, { stdout: () => undefined, stderr: (t) => { stderr += t; }, env: {} });
        if (variant.startsWith('clang') && set === 'genall') {
          // --btf_gen_all turns true_signature on, which rewrites clang's DW_CC_nocall
          // functions: not implemented, refused with a message instead of other bytes.
          expect(code).toBe(1);
          expect(stderr).toMatch(/true_signature BTF feature would rewrite \w+'s signature/);
          return;
        }
        expect(stderr).toBe('');
        expect(code).toBe(0);
        const want = fixtureBytes(`encode/${variant}/ab.${set}.btf`);
        const got = new Uint8Array(readFileSync(out));
        expect(firstDiff(got, want)).toBeUndefined();
        expect(got.length).toBe(want.length);
      });
    }
  }
});

describe('same-named static functions at different addresses (pahole\'s "ambiguous address")', () => {
  it('amb.ko: amb_cb skipped, zz_last (the last name in sort order, never flagged by pahole) encoded', () => {
    for (const variant of ['gcc-dwarf5', 'gcc-dwarf4', 'aarch64-gcc-dwarf5', 's390x-gcc-dwarf5']) {
      const elf = parseElf(fixtureBytes(`encode/${variant}/amb.ko.gz`), { file: 'amb.ko' });
      const base = Btf.parse(fixtureBytes(`encode/${variant}/base.btf`), { file: 'base.btf' });
      const r = encodeModule(elf, base, { features: kbuild72().features, languages: { ids: rust.ids, exclude: true } });
      const want = fixtureBytes(`encode/${variant}/amb.kbuild72.btf`);
      expect(firstDiff(r.bytes as Uint8Array, want), variant).toBeUndefined();
      expect(r.skipped.map((l) => l.split(' ')[0])).toContain('amb_cb');
      expect(r.skipped.map((l) => l.split(' ')[0])).not.toContain('zz_last');
    }
  });
});

describe('same-named static functions inlined in some CUs, out of line in one (pahole\'s canonical state)', () => {
  for (const variant of ['gcc-dwarf5', 'gcc-dwarf4', 'clang-dwarf5', 'aarch64-gcc-dwarf5', 's390x-gcc-dwarf5']) {
    it(`${variant}: canon.ko encodes the out-of-line prototype (const), canon4.ko none (inconsistent)`, () => {
      const base = Btf.parse(fixtureBytes(`encode/${variant}/base.btf`), { file: 'base.btf' });
      for (const m of ['canon', 'canon4']) {
        const elf = parseElf(fixtureBytes(`encode/${variant}/${m}.ko.gz`), { file: `${m}.ko` });
        const r = encodeModule(elf, base, { features: kbuild72().features, languages: { ids: rust.ids, exclude: true } });
        const want = fixtureBytes(`encode/${variant}/${m}.kbuild72.btf`);
        expect(firstDiff(r.bytes as Uint8Array, want), `${variant} ${m}`).toBeUndefined();
        expect((r.bytes as Uint8Array).length).toBe(want.length);
      }
    });
  }
});

describe('modbtf pahole speaks pahole 1.32\'s command line (test/fixtures/encode/cli-cases.tsv)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'modbtf-encode-cli-'));
  const cwd = process.cwd();
  afterAll(() => {
    process.chdir(cwd);
    rmSync(dir, { recursive: true, force: true });
  });
  writeFileSync(join(dir, 'ab.ko'), gunzipSync(readFileSync(fixturePath('encode/gcc-dwarf5/ab.ko.gz'))));
  writeFileSync(join(dir, 'base.btf'), readFileSync(fixturePath('encode/gcc-dwarf5/base.btf')));
  const unescape = (t: string): string => t.replace(/\\(.)/g, (_, c: string) => (c === 'n' ? '\n' : c === 't' ? '\t' : c));
  const rows = readFileSync(fixturePath('encode/cli-cases.tsv'), 'utf8').split('\n').filter((l) => l !== '' && !l.startsWith('#'));
  for (const row of rows) {
    const [argv, exit, stdout, stderr] = row.split('\t') as [string, string, string, string];
    it(`pahole ${argv}`, async () => {
      process.chdir(dir);
      let out = '';
      let err = '';
      const code = await runPahole(argv.split(' '), { stdout: (t) => { out += t; }, stderr: (t) => { err += t; }, env: {} });
      process.chdir(cwd);
      expect({ code, out, err }).toEqual({ code: Number(exit), out: unescape(stdout), err: unescape(stderr) });
    });
  }
});

describe('modbtf pahole in place (-J --btf_base B MODULE, as 6.x Makefile.modfinal runs pahole)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'modbtf-encode-inplace-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const flags = FLAG_SETS.kbuild72;
  const base = fixturePath('encode/gcc-dwarf5/base.btf');

  it('adds .BTF as `$LLVM_OBJCOPY --add-section .BTF=<pahole 1.32 bytes>` does (measured: pahole 1.32 in place == sid objcopy --add-section of its detached output)', async () => {
    const ko = join(dir, 'ab.ko');
    const byObjcopy = join(dir, 'ab.objcopy.ko');
    const linked = gunzipSync(readFileSync(fixturePath('encode/gcc-dwarf5/ab.ko.gz')));
    writeFileSync(ko, linked);
    writeFileSync(byObjcopy, linked);
    const want = join(dir, 'ab.kbuild72.btf');
    writeFileSync(want, fixtureBytes('encode/gcc-dwarf5/ab.kbuild72.btf'));
    const r = spawnSync('objcopy', ['--add-section', `.BTF=${want}`, byObjcopy], { encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(0);
    let stderr = '';
    const code = await runPahole(['-J', ...flags.split(' '), '--btf_base', base, ko], { stdout: () => undefined, stderr: (t) => { stderr += t; }, env: { LLVM_OBJCOPY: 'objcopy', PATH: process.env.PATH ?? '' } });
    expect(stderr).toBe('');
    expect(code).toBe(0);
    expect(firstDiff(new Uint8Array(readFileSync(ko)), new Uint8Array(readFileSync(byObjcopy)))).toBeUndefined();
  });

  it('a module that already has .BTF is refused (pahole would rewrite it with libelf), and left as it was', async () => {
    const ko = join(dir, 'ab.ko');
    const before = readFileSync(ko);
    expect(parseElf(new Uint8Array(before), { file: 'ab.ko' }).sections.some((s) => s.name === '.BTF')).toBe(true);
    let stderr = '';
    const code = await runPahole(['-J', ...flags.split(' '), '--btf_base', base, ko], { stdout: () => undefined, stderr: (t) => { stderr += t; }, env: { LLVM_OBJCOPY: 'objcopy', PATH: process.env.PATH ?? '' } });
    expect(code).toBe(1);
    expect(stderr).toMatch(/ab\.ko already has a \.BTF section/);
    expect(Buffer.compare(readFileSync(ko), before)).toBe(0);
  });
});
