#!/usr/bin/env zx
// Golden fixtures for lib/dwarf (test/fixtures/dwarf), made with Debian sid's compilers and
// eu-readelf from sid's elfutils (libdw/libdwfl 0.196, what pahole 1.32 loads there) — never
// with modbtf:
//
//   npx zx scripts/gen-dwarf-fixtures.mjs [--out DIR]
//
// In the sid chroot (scripts/e2e-lib/sid.mjs):
//  1. compiles test/fixtures/dwarf/src/*.c with -O2 -g -gdwarf-4 and -gdwarf-5, -c (relocatable)
//     for Debian's five BTF architectures with sid's gcc 16 (x86_64 native; aarch64, s390x,
//     powerpc64le, riscv64 cross), plus i386 (-m32: ELF32, REL relocations), x86_64 with
//     -ffunction-sections, with -gz=zlib (SHF_COMPRESSED), clang (x86_64 and aarch64), and
//     one `ld -r` of two objects;
//  2. copies two small modules of linux-image-7.2.13+deb14-cloud-amd64-dbg (scripts/e2e-lib/dbg7.mjs);
//  3. runs `eu-readelf -N --debug-dump=info --debug-dump=loc --debug-dump=ranges` on each
//     object: <name>.readelf.txt (what test/golden/dwarf.test.ts compares lib/dwarf with).
// Objects and dumps are written gzip -n -9. PROVENANCE.md in the output directory is
// rewritten with package versions, commands and sha256 of every file.
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { gzipSync } from 'node:zlib';
import { $, argv } from 'zx';
import { CHECKOUT_ID, copyIn, ensureSid, SID_BASE_PACKAGES, sidPath, sidSh, shq } from './e2e-lib/sid.mjs';
import { DBG_PACKAGE, ensureCloudDbg, listModules } from './e2e-lib/dbg7.mjs';

$.verbose = false;
const REPO = resolve(new URL('..', import.meta.url).pathname);
const OUT = resolve(argv.out ?? join(REPO, 'test/fixtures/dwarf'));
const log = (m) => console.log(`[gen-dwarf] ${m}`);
const sha = (b) => createHash('sha256').update(b).digest('hex');

const CROSS = [
  { arch: 'aarch64', cc: 'aarch64-linux-gnu-gcc-16', pkg: 'gcc-16-aarch64-linux-gnu', ld: 'aarch64-linux-gnu-ld' },
  { arch: 's390x', cc: 's390x-linux-gnu-gcc-16', pkg: 'gcc-16-s390x-linux-gnu', ld: 's390x-linux-gnu-ld' },
  { arch: 'ppc64le', cc: 'powerpc64le-linux-gnu-gcc-16', pkg: 'gcc-16-powerpc64le-linux-gnu', ld: 'powerpc64le-linux-gnu-ld' },
  { arch: 'riscv64', cc: 'riscv64-linux-gnu-gcc-16', pkg: 'gcc-16-riscv64-linux-gnu', ld: 'riscv64-linux-gnu-ld' },
];
const PACKAGES = [...SID_BASE_PACKAGES, 'elfutils', 'libdw-dev', 'clang', ...CROSS.map((c) => c.pkg)];
/** The two -dbg modules kept as fixtures: small, with location and range lists. */
const MODULES = ['kernel/drivers/firmware/efi/efibc.ko', 'kernel/lib/math/cordic.ko'];

await ensureSid(PACKAGES, log);
const dbg = await ensureCloudDbg({ log });
mkdirSync(OUT, { recursive: true });
for (const f of readdirSync(OUT)) if (f !== 'src') rmSync(join(OUT, f), { recursive: true, force: true });

const W = `/build/gen-dwarf-${CHECKOUT_ID}`;
await sidSh(`rm -rf ${W} && mkdir -p ${W}/out`);
copyIn(join(REPO, 'test/fixtures/dwarf/src'), `${W}/src`);
const sources = readdirSync(join(REPO, 'test/fixtures/dwarf/src')).filter((f) => f.endsWith('.c')).map((f) => basename(f, '.c')).sort();

/** Every object made: name -> the command that made it. */
const objects = new Map();
async function compile(name, cmd) {
  await sidSh(`${cmd} -o out/${name}.o`, { cwd: W });
  objects.set(name, `${cmd} -o ${name}.o`);
}

for (const src of sources) {
  for (const v of [4, 5]) {
    const flags = `-O2 -g -gdwarf-${v} -c src/${src}.c`;
    await compile(`${src}.x86_64.dwarf${v}`, `gcc-16 ${flags}`);
    for (const c of CROSS) await compile(`${src}.${c.arch}.dwarf${v}`, `${c.cc} ${flags}`);
    await compile(`${src}.i386.dwarf${v}`, `gcc-16 -m32 ${flags}`);
    await compile(`${src}.clang-x86_64.dwarf${v}`, `clang -O2 -g -gdwarf-${v} -c src/${src}.c`);
  }
  await compile(`${src}.clang-aarch64.dwarf5`, `clang --target=aarch64-linux-gnu -O2 -g -gdwarf-5 -c src/${src}.c`);
  await compile(`${src}.x86_64.fsections`, `gcc-16 -O2 -g -ffunction-sections -fdata-sections -c src/${src}.c`);
  await compile(`${src}.x86_64.gz`, `gcc-16 -O2 -g -gz=zlib -c src/${src}.c`);
}
await sidSh(`ld -r out/code.x86_64.dwarf5.o out/types.x86_64.dwarf5.o -o out/ld-r.x86_64.o`, { cwd: W });
objects.set('ld-r.x86_64', 'ld -r code.x86_64.dwarf5.o types.x86_64.dwarf5.o -o ld-r.x86_64.o');

// 2. Two small real modules.
const modulesInSid = `${dbg.rootInSid}/usr/lib/debug/lib/modules/7.2.13+deb14-cloud-amd64`;
for (const m of MODULES) {
  const name = `module.${basename(m, '.ko')}`;
  await sidSh(`cp ${shq(`${modulesInSid}/${m}`)} out/${name}.o`, { cwd: W });
  objects.set(name, `${DBG_PACKAGE} ${dbg.version}: /usr/lib/debug/lib/modules/7.2.13+deb14-cloud-amd64/${m}`);
}
void listModules;

// 3. eu-readelf.
const files = [];
function put(name, bytes) {
  writeFileSync(join(OUT, `${name}.gz`), gzipSync(bytes, { level: 9 }));
  files.push({ name, size: bytes.length, sha: sha(bytes) });
}
for (const name of [...objects.keys()].sort()) {
  const r = await sidSh(`eu-readelf -N --debug-dump=info --debug-dump=loc --debug-dump=ranges out/${name}.o`, { cwd: W, nothrow: true });
  if (r.exitCode !== 0 || r.stderr.trim() !== '') throw new Error(`eu-readelf ${name}.o: exit ${r.exitCode}: ${r.stderr}`);
  put(`${name}.o`, readFileSync(sidPath(`${W}/out/${name}.o`)));
  put(`${name}.readelf.txt`, Buffer.from(r.stdout));
}

// Provenance.
const pkgs = ['elfutils', 'libdw1t64', 'gcc-16', 'clang', 'binutils', ...CROSS.map((c) => c.pkg)];
const versions = (await sidSh(`dpkg-query -W -f='\${Package} \${Version}\\n' ${pkgs.join(' ')} 2>/dev/null; clang --version | head -1`, { nothrow: true })).stdout.trim();
const debSha = sha(readFileSync(dbg.deb));
writeFileSync(join(OUT, 'MANIFEST.tsv'), `file\tsize\tsha256\n${files.map((f) => `${f.name}\t${f.size}\t${f.sha}`).join('\n')}\n`);
writeFileSync(join(OUT, 'PROVENANCE.md'), `# dwarf/ — relocatable objects and eu-readelf 0.196 dumps (scripts/gen-dwarf-fixtures.mjs)

Made in a Debian sid chroot by \`scripts/gen-dwarf-fixtures.mjs\` with sid's compilers and
eu-readelf (elfutils: libdwfl relocates the ET_REL objects, libdw reads them — what pahole 1.32
uses there); never with modbtf. Packages:

\`\`\`
${versions}
\`\`\`

- \`src/\`: the C sources (ours, no #include so cross compilers need no libc headers).
- \`<src>.<arch>.dwarf{4,5}.o\`: \`<cc> -O2 -g -gdwarf-N -c src/<src>.c\` (x86_64: gcc-16, aarch64/s390x/
  ppc64le/riscv64: the gcc-16 cross compilers, i386: gcc-16 -m32, clang-*: clang [--target=...]);
  \`.x86_64.fsections.o\`: -ffunction-sections -fdata-sections; \`.x86_64.gz.o\`: -gz=zlib;
  \`ld-r.x86_64.o\`: \`ld -r\` of code and types (x86_64, DWARF 5).
- \`module.<name>.o\`: modules of ${DBG_PACKAGE} ${dbg.version} (.deb sha256 ${debSha}), unchanged.
- \`<object>.readelf.txt\`: \`eu-readelf -N --debug-dump=info --debug-dump=loc --debug-dump=ranges <object>\`.

Commands:

| object | made by |
| --- | --- |
${[...objects].sort((a, b) => (a[0] < b[0] ? -1 : 1)).map(([n, c]) => `| \`${n}.o\` | \`${c}\` |`).join('\n')}

Files (sha256 of the uncompressed bytes; every file is \`gzip -n -9\`; also in MANIFEST.tsv):

| file | size | sha256 |
| --- | --- | --- |
${files.map((f) => `| \`${f.name}\` | ${f.size} | \`${f.sha}\` |`).join('\n')}
`);
await sidSh(`rm -rf ${W}`);
const total = files.reduce((a, f) => a + statSync(join(OUT, `${f.name}.gz`)).size, 0);
log(`wrote ${files.length} files (${Math.round(total / 1024)} KB compressed) to ${OUT}`);
void dirname;
