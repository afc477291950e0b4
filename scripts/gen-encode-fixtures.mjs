#!/usr/bin/env node
// Golden fixtures for lib/encode: small C files (test/fixtures/encode/src) compiled in the sid
// chroot and encoded by the real pahole 1.32 (libbpf 1.7.0, libdw 0.196), so the expected bytes
// are pahole's. For each compiler variant: base.o -> base.btf (pahole -J, the "vmlinux" of the
// test), a.o + b.o -> ab.ko (ld -r, two CUs, like a module), then ab.ko encoded over base.btf
// with each flag set below (--btf_encode_detached). Writes test/fixtures/encode/<variant>/ and
// PROVENANCE.md (tool versions, command lines, sha256 of every file).
//
//   node scripts/gen-encode-fixtures.mjs        (root: the sid chroot)
import { createHash } from 'node:crypto';
import { copyFileSync, existsSync, mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { ensureSid, SID_BASE_PACKAGES, sidPath, sidSh } from './e2e-lib/sid.mjs';
import { repo } from './lib/corpus.mjs';
import { FLAG_SETS } from './lib/encode-flag-sets.mjs';

const FIX = join(repo, 'test/fixtures/encode');
const WORK = '/tmp/modbtf-encode-fixtures';
/** Compiler command and linker per variant (cross: arm64, and s390x for a big-endian module). */
const VARIANTS = {
  'gcc-dwarf5': ['gcc -g -O2', 'ld'],
  'gcc-dwarf4': ['gcc -gdwarf-4 -O2', 'ld'],
  'clang-dwarf5': ['clang -g -O2', 'ld'],
  'aarch64-gcc-dwarf5': ['aarch64-linux-gnu-gcc-16 -g -O2', 'aarch64-linux-gnu-ld'],
  's390x-gcc-dwarf5': ['s390x-linux-gnu-gcc-16 -g -O2', 's390x-linux-gnu-ld'],
};

await ensureSid(SID_BASE_PACKAGES);
const have = async (tool) => (await sidSh(`command -v ${tool}`, { nothrow: true })).exitCode === 0;
const versions = (await sidSh("pahole --version; gcc --version | head -1; (aarch64-linux-gnu-gcc-16 --version 2>/dev/null | head -1 || true); (s390x-linux-gnu-gcc-16 --version 2>/dev/null | head -1 || true); (clang --version 2>/dev/null | head -1 || true); dpkg-query -W -f='${Package} ${Version}\\n' libbpf1 libdw1t64 pahole 2>/dev/null || dpkg-query -W -f='${Package} ${Version}\\n' libbpf1 libdw1 pahole")).stdout.trim();
const lines = [
  '# test/fixtures/encode', '',
  'Made by `scripts/gen-encode-fixtures.mjs` in the Debian sid chroot (never edited by hand):', '',
  '```', versions, '```', '',
  'Per variant directory: `base.btf` (pahole -J of src/base.c), `ab.ko.gz` (src/a.c and src/b.c',
  'compiled and joined with `ld -r`: two CUs, kfunc set in .BTF_ids), `ab.<flags>.btf` (pahole -J',
  '<flags> --btf_base base.btf --btf_encode_detached=... ab.ko), `amb.ko` (src/amb1.c, src/amb2.c with',
  '-fno-toplevel-reorder: same-named static functions at different addresses) and its BTF, `canon.ko`',
  '(src/canon1.c, canon2.c, canon3.c: a static function inlined in two CUs, out of line in one) and',
  '`canon4.ko` (canon4.c, canon2.c: inconsistent prototypes) with their BTF. Flag sets:', '',
  ...Object.entries(FLAG_SETS).map(([k, v]) => `- \`${k}\`: \`${v || '(none)'}\``), '',
  '| file | bytes | sha256 |', '| --- | --- | --- |',
];
for (const [variant, [cc, ld]] of Object.entries(VARIANTS)) {
  if (!(await have(cc.split(' ')[0]))) {
    console.log(`[gen-encode-fixtures] ${variant}: ${cc.split(' ')[0]} not installed in the chroot, skipped`);
    continue;
  }
  rmSync(sidPath(WORK), { recursive: true, force: true });
  mkdirSync(sidPath(WORK), { recursive: true });
  for (const f of readdirSync(join(FIX, 'src'))) copyFileSync(join(FIX, 'src', f), sidPath(join(WORK, f)));
  const steps = [
    `${cc} -c base.c -o base.o`, 'pahole -J --btf_encode_detached=base.btf base.o',
    `${cc} -c a.c -o a.o`, `${cc} -c b.c -o b.o`, `${ld} -r a.o b.o -o ab.ko`,
    ...Object.entries(FLAG_SETS).map(([k, v]) => `pahole -J ${v} --btf_base base.btf --btf_encode_detached=ab.${k}.btf ab.ko`),
    // -fno-toplevel-reorder is gcc's: the amb case is built by the gcc variants only.
    ...(cc.startsWith('clang') ? [] : [
      `${cc} -fno-toplevel-reorder -c amb1.c -o amb1.o`, `${cc} -fno-toplevel-reorder -c amb2.c -o amb2.o`, `${ld} -r amb1.o amb2.o -o amb.ko`,
      `pahole -J ${FLAG_SETS.kbuild72} --btf_base base.btf --btf_encode_detached=amb.kbuild72.btf amb.ko`,
    ]),
    // canon.ko: a function inlined in two CUs and out of line in one; canon4.ko: inconsistent.
    ...['canon1', 'canon2', 'canon3', 'canon4'].map((c) => `${cc} -c ${c}.c -o ${c}.o`),
    `${ld} -r canon1.o canon2.o canon3.o -o canon.ko`, `${ld} -r canon4.o canon2.o -o canon4.ko`,
    `pahole -J ${FLAG_SETS.kbuild72} --btf_base base.btf --btf_encode_detached=canon.kbuild72.btf canon.ko`,
    `pahole -J ${FLAG_SETS.kbuild72} --btf_base base.btf --btf_encode_detached=canon4.kbuild72.btf canon4.ko`,
  ];
  await sidSh(steps.join(' && '), { cwd: WORK });
  const out = join(FIX, variant);
  rmSync(out, { recursive: true, force: true });
  mkdirSync(out, { recursive: true });
  const put = (name, bytes) => {
    writeFileSync(join(out, name), bytes);
    lines.push(`| \`${variant}/${name}\` | ${bytes.length} | \`${createHash('sha256').update(bytes).digest('hex')}\` |`);
  };
  put('base.btf', readFileSync(sidPath(join(WORK, 'base.btf'))));
  put('ab.ko.gz', gzipSync(readFileSync(sidPath(join(WORK, 'ab.ko'))), { level: 9 }));
  for (const k of Object.keys(FLAG_SETS)) put(`ab.${k}.btf`, readFileSync(sidPath(join(WORK, `ab.${k}.btf`))));
  if (!cc.startsWith('clang')) {
    put('amb.ko.gz', gzipSync(readFileSync(sidPath(join(WORK, 'amb.ko'))), { level: 9 }));
    put('amb.kbuild72.btf', readFileSync(sidPath(join(WORK, 'amb.kbuild72.btf'))));
  }
  for (const m of ['canon', 'canon4']) {
    put(`${m}.ko.gz`, gzipSync(readFileSync(sidPath(join(WORK, `${m}.ko`))), { level: 9 }));
    put(`${m}.kbuild72.btf`, readFileSync(sidPath(join(WORK, `${m}.kbuild72.btf`))));
  }
  console.log(`[gen-encode-fixtures] ${variant}: ${cc}`);
}
// Command-line cases: pahole's exit status, stdout and stderr, in the gcc-dwarf5 work files.
// Arguments are split on spaces; the test runs `modbtf pahole` on the same words.
const CASES = [
  '--version', '--numeric_version', '--supported_btf_features',
  '-J --foo ab.ko', '-J -k ab.ko', '-J --btf ab.ko', '-J --btf_encode_detached', '-J -C', '-J --quiet=3 ab.ko',
  '-J --lang_exclude=klingon --btf_base base.btf ab.ko',
  '-J --btf_base base.btf --btf_features_strict=foo ab.ko',
  '-J --btf_base base.btf --btf_features_strict=var,bogus --btf_encode_detached=s.btf ab.ko',
  '-J --btf_base nonexistent.btf --btf_encode_detached=n.btf ab.ko',
  '-J --btf_base base.btf --btf_encode_detached=n.btf nonexistent.ko',
  '-J --btf_base base.btf --btf_encode_detached=/nonexistent/dir/x.btf ab.ko',
];
rmSync(sidPath(WORK), { recursive: true, force: true });
mkdirSync(sidPath(WORK), { recursive: true });
for (const f of readdirSync(join(FIX, 'src'))) copyFileSync(join(FIX, 'src', f), sidPath(join(WORK, f)));
await sidSh('gcc -g -O2 -c base.c -o base.o && pahole -J --btf_encode_detached=base.btf base.o && gcc -g -O2 -c a.c -o a.o && gcc -g -O2 -c b.c -o b.o && ld -r a.o b.o -o ab.ko', { cwd: WORK });
const esc = (t) => t.replace(/\\/g, '\\\\').replace(/\t/g, '\\t').replace(/\n/g, '\\n');
const rows = ['# argv\texit\tstdout\tstderr (\\n, \\t, \\\\ escaped); made by scripts/gen-encode-fixtures.mjs with pahole 1.32'];
for (const c of CASES) {
  const r = await sidSh(`pahole ${c}`, { cwd: WORK, nothrow: true });
  rows.push([c, String(r.exitCode), esc(r.stdout), esc(r.stderr)].join('\t'));
}
writeFileSync(join(FIX, 'cli-cases.tsv'), `${rows.join('\n')}\n`);
lines.push('', '`cli-cases.tsv`: pahole\'s exit status, stdout and stderr for command lines run in the gcc-dwarf5 work directory (base.btf, ab.ko).');
writeFileSync(join(FIX, 'PROVENANCE.md'), `${lines.join('\n')}\n`);
rmSync(sidPath(WORK), { recursive: true, force: true });
