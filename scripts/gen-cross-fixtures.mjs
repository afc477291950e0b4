#!/usr/bin/env zx
// Golden fixtures for other architectures (test/fixtures/cross; issue 12), made with Debian's
// own tools — never with modbtf's output:
//
//   npx zx scripts/gen-cross-fixtures.mjs [--out DIR]
//
// For arm64 and s390x (big-endian), in the sid chroot with Debian's cross toolchains and the
// arch's 7.2.13 headers (scripts/e2e-lib/cross.mjs):
//  1. test/fixtures/kernel7/src (k7fix) cross-built by plain 7.2 kbuild (M=, so gen-btf.sh
//     distills), keeping the module as linked, before the BTF step;
//  2. gen-btf.sh's pahole command (from V=1) run again on the linked copy (detached BTF), then
//     the tree's resolve_btfids with --distill_base and without, --verbose, stderr and exit
//     status kept; then gen-btf.sh's embedding with the cross objcopy (--add-section .BTF,
//     .BTF.base) and resolve_btfids --patch_btfids (the distill result must equal kbuild's);
//  3. the .BTF of the arch's 7.2.13 vmlinux.
// For s390x also two shipped modules, tcp_bbr of 7.2.13 (sid: linux-modules-7.2.13+deb14-s390x)
// and of 6.12.107 (trixie: linux-image-6.12.107+deb13-s390x):
//  4. the module as shipped (decompressed); libbpf 1.7.0's distill (scripts/oracle/libbpf-oracle.c:
//     btf__distill_base, raw data of base and split) and relocation (btf_relocate onto 7.3-rc7's
//     s390x vmlinux for 7.2.13, onto 7.2.13's for 6.12.107: trixie's 6.12.117 s390x headers are
//     gone from the mirror), with its TSV row; bpftool 7.8's dumps of the module over vmlinux
//     (raw and -j) and of the distilled split over the distilled base;
//  5. for 7.2.13 also resolve_btfids 7.2 on the module's pristine .BTF_ids layout (as
//     gen-kernel7-fixtures.mjs: accepted only when the tool without distilling gives the
//     shipped .BTF and .BTF_ids), with and without --distill_base;
//  6. the .BTF of the 6.12.107 s390x vmlinux.
// Binary files are written gzip -n -9 (names without .gz are text). PROVENANCE.md in the output
// directory lists package versions, .deb sha256 and the sha256 of every file.
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { gzipSync } from 'node:zlib';
import { $, argv } from 'zx';
import { ARCHES, crossMake, ensure73, ensureCrossSid, ensureCrossTrixie, ensureShipped6, ensureShipped72, k6, k72, trixie } from './e2e-lib/cross.mjs';
import { ensureOracle } from './e2e-lib/oracle.mjs';
import { copyIn, sidPath, sidSh } from './e2e-lib/sid.mjs';

$.verbose = false;
const REPO = resolve(new URL('..', import.meta.url).pathname);
const OUT = resolve(argv.out ?? join(REPO, 'test/fixtures/cross'));
const log = (m) => console.log(`[gen-cross] ${m}`);
const sha = (b) => createHash('sha256').update(b).digest('hex');
const files = [];
const debs = new Map(); // .deb file name -> sha256

function put(name, bytes, { text = false } = {}) {
  const path = join(OUT, text ? name : `${name}.gz`);
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, text ? bytes : gzipSync(bytes, { level: 9 }));
  files.push({ name, size: bytes.length, sha: sha(bytes) });
}
const get = (p) => readFileSync(sidPath(p));
const noteDeb = (hostPath) => debs.set(hostPath.split('/').pop(), sha(readFileSync(hostPath)));

await ensureCrossSid({ log });
await ensureCrossTrixie({ arches: ['s390x'], log });
const ORACLE = await ensureOracle(log);
const { parseElf } = await import(join(REPO, 'dist/lib/elf/index.js'));
const { Btf } = await import(join(REPO, 'dist/lib/btf/btf.js'));
const { scanBtfIds, resolveNames, recoverPristine } = await import(join(REPO, 'dist/lib/btfids/index.js'));

rmSync(OUT, { recursive: true, force: true });
mkdirSync(OUT, { recursive: true });
const W = '/build/gen-cross';
await sidSh(`rm -rf ${W} && mkdir -p ${W}`);
const checks = [];

/** .BTF of an ELF (chroot path) with the arch's objcopy, into a chroot file; returns the bytes. */
async function dumpBtf(arch, elf, out, section = '.BTF') {
  await sidSh(`${ARCHES[arch].triple}-objcopy --dump-section ${section}=${out} ${elf} /dev/null`);
  return get(out);
}

// ---- 1-3: k7fix cross-built, per arch ----------------------------------------------------
for (const arch of ['arm64', 's390x']) {
  const k = k72(arch);
  const A = `${W}/${arch}`;
  const objcopy = `${ARCHES[arch].triple}-objcopy`;
  const RB = `${k.kdir}/tools/bpf/resolve_btfids/resolve_btfids`;
  copyIn(join(REPO, 'test/fixtures/kernel7/src'), `${A}/k7fix`);
  const M = `${A}/k7fix`;
  writeFileSync(sidPath(`${A}/keep.mk`), 'override cmd_btf_ko = cp $@ $@.linked; $(CONFIG_SHELL) $(srctree)/scripts/gen-btf.sh --btf_base $(objtree)/vmlinux $@\n');
  log(`${arch}: build k7fix with ${k.kdir} (${crossMake(arch)}, M=)`);
  const mk = await sidSh(`make ${crossMake(arch)} -C ${k.kdir} M=${M} MAKEFILES=${A}/keep.mk modules V=1 2>&1`, { nothrow: true });
  if (mk.exitCode !== 0) throw new Error(`${arch}: kbuild failed:\n${mk.stdout}`);
  const paholeLine = mk.stdout.split('\n').find((l) => /^\+ pahole -J /.test(l));
  if (!paholeLine) throw new Error(`${arch}: no pahole line in the V=1 output`);
  const paholeArgs = paholeLine.slice(2).replace(/--btf_encode_detached=\S+/, '--btf_encode_detached=k7fix.ko.BTF.1');
  put(`${arch}/k7fix.linked.ko`, get(`${M}/k7fix.ko.linked`));
  put(`${arch}/k7fix.kbuild.ko`, get(`${M}/k7fix.ko`));
  writeFileSync(join(OUT, arch, 'pahole.cmd'), `${paholeArgs}\n`);
  const objcopyLines = mk.stdout.split('\n').filter((l) => /^\+ \S*objcopy /.test(l)).map((l) => l.slice(2));
  writeFileSync(join(OUT, arch, 'gen-btf.objcopy.cmd'), `${objcopyLines.join('\n')}\n`);

  const D = `${A}/steps`;
  await sidSh(`rm -rf ${D} && mkdir -p ${D}`);
  await sidSh(`cp ${M}/k7fix.ko.linked k7fix.ko && ${paholeArgs}`, { cwd: D });
  put(`${arch}/k7fix.pahole.btf`, get(`${D}/k7fix.ko.BTF.1`));
  for (const variant of ['distill', 'nodistill']) {
    const V = `${D}/${variant}`;
    const flags = variant === 'distill' ? '--distill_base --verbose' : '--verbose';
    await sidSh(`rm -rf ${V} && mkdir -p ${V}`);
    const r = await sidSh(`cp ../k7fix.ko ../k7fix.ko.BTF.1 . && ${RB} ${flags} --btf_base ${k.vmlinuxInSid} --btf k7fix.ko.BTF.1 k7fix.ko; echo "exit=$?" >&2`, { cwd: V, nothrow: true });
    put(`${arch}/k7fix.${variant}.stderr`, Buffer.from(r.stderr), { text: true });
    for (const s of ['BTF', 'BTF.base', 'BTF_ids']) if (existsSync(sidPath(`${V}/k7fix.ko.${s}`))) put(`${arch}/k7fix.${variant}.${s}`, get(`${V}/k7fix.ko.${s}`));
    await sidSh(`${objcopy} --add-section .BTF=k7fix.ko.BTF k7fix.ko && if [ -f k7fix.ko.BTF.base ]; then ${objcopy} --add-section .BTF.base=k7fix.ko.BTF.base k7fix.ko; fi && ${RB} --patch_btfids k7fix.ko.BTF_ids k7fix.ko`, { cwd: V });
    // The distill result equals k7fix.kbuild.ko (checked below): kept once.
    if (variant === 'nodistill') put(`${arch}/k7fix.${variant}.ko`, get(`${V}/k7fix.ko`));
  }
  const same = Buffer.compare(get(`${D}/distill/k7fix.ko`), get(`${M}/k7fix.ko`)) === 0;
  if (!same) throw new Error(`${arch}: pahole/resolve_btfids run by hand do not reproduce kbuild's module`);
  checks.push(`${arch}: k7fix.distill.ko (the pipeline by hand) equals k7fix.kbuild.ko`);
  put(`vmlinux-7.2.13-${arch}.btf`, await dumpBtf(arch, k.vmlinuxInSid, `${A}/vmlinux.btf`));
  log(`${arch}: k7fix done`);
}

// ---- 4-6: shipped s390x tcp_bbr of 7.2.13 and 6.12.107 ----------------------------------
const S = `${W}/shipped`;
await sidSh(`mkdir -p ${S}`);
const k72s = await ensureShipped72('s390x', log);
const k73s = await ensure73('s390x', log);
const k6s = await ensureShipped6('s390x', '6.12.107', log);
const vm6 = k6('s390x', '6.12.107');
copyIn(vm6.vmlinux, `${S}/vmlinux-6.12.107`);
copyIn(k73s.vmlinux, `${S}/vmlinux-7.3-rc7`);
put('vmlinux-6.12.107-s390x.btf', await dumpBtf('s390x', `${S}/vmlinux-6.12.107`, `${S}/vmlinux-6.12.107.btf`));

const SHIPPED = [
  { tag: 'tcp_bbr-7.2.13', kver: k72s.kver, ko: join(k72s.modules, 'net/ipv4/tcp_bbr.ko.xz'), vmlinux: k72s.vmlinuxInSid, target: `${S}/vmlinux-7.3-rc7`, targetName: '7.3-rc7 s390x', abi: 7 },
  { tag: 'tcp_bbr-6.12.107', kver: vm6.kver, ko: join(k6s.modules, 'net/ipv4/tcp_bbr.ko.xz'), vmlinux: `${S}/vmlinux-6.12.107`, target: k72s.vmlinuxInSid, targetName: '7.2.13 s390x', abi: 6 },
];
const oracleRows = [];
for (const m of SHIPPED) {
  const T = `${S}/${m.tag}`;
  await sidSh(`rm -rf ${T} && mkdir -p ${T}/save ${T}/split`);
  copyIn(m.ko, `${T}/m.ko.xz`);
  await sidSh(`xz -dc m.ko.xz > m.ko`, { cwd: T });
  const ko = get(`${T}/m.ko`);
  put(`s390x/${m.tag}.shipped.ko`, ko);
  // libbpf 1.7.0: distill and relocate.
  const row = (await sidSh(`printf '%s\\t%s\\n' tcp_bbr.ko ${T}/m.ko | ${ORACLE} --save save --save-split split ${m.vmlinux} ${m.target}`, { cwd: T })).stdout.trim();
  oracleRows.push(`${m.tag}\t${row.split('\t').slice(1).join('\t')}`);
  put(`s390x/${m.tag}.libbpf.dbase.btf`, get(`${T}/save/tcp_bbr.dbase.btf`));
  put(`s390x/${m.tag}.libbpf.dsplit.btf`, get(`${T}/split/tcp_bbr.dsplit.btf`));
  if (existsSync(sidPath(`${T}/split/tcp_bbr.reloc.btf`))) put(`s390x/${m.tag}.libbpf.reloc.btf`, get(`${T}/split/tcp_bbr.reloc.btf`));
  // bpftool 7.8: the module over vmlinux; the distilled split over the distilled base.
  for (const [suffix, args] of [['bpftool.txt', `-B ${m.vmlinux} btf dump file m.ko`], ['bpftool.json', `-B ${m.vmlinux} -j btf dump file m.ko`], ['libbpf.dsplit.bpftool.txt', '-B save/tcp_bbr.dbase.btf btf dump file split/tcp_bbr.dsplit.btf']]) {
    const r = await sidSh(`bpftool ${args}`, { cwd: T });
    put(`s390x/${m.tag}.${suffix}`, Buffer.from(r.stdout));
  }
  if (m.abi === 7) {
    // resolve_btfids 7.2 on the pristine layout (see gen-kernel7-fixtures.mjs, step 3).
    const RB = `${k72s.kdir}/tools/bpf/resolve_btfids/resolve_btfids`;
    await sidSh(`s390x-linux-gnu-objcopy --dump-section .BTF=m.btf --dump-section .BTF_ids=m.ids m.ko /dev/null`, { cwd: T });
    const elf = parseElf(new Uint8Array(ko));
    const layout = scanBtfIds(elf, { abi: 7 }).layout;
    const ids = elf.sectionByName('.BTF_ids');
    const pristine = new Uint8Array(ko);
    const vm = Btf.parse(new Uint8Array(await dumpBtf('s390x', m.vmlinux, `${T}/vmlinux.btf`)));
    const p = recoverPristine(layout, resolveNames(layout, Btf.parse(new Uint8Array(get(`${T}/m.btf`)), { base: vm })), elf.sectionData(ids), 7);
    if (p === undefined) throw new Error(`${m.tag}: .BTF_ids does not invert to a pristine layout`);
    pristine.set(p, ids.offset);
    writeFileSync(sidPath(`${T}/m.pristine.ko`), pristine);
    put(`s390x/${m.tag}.pristine.ko`, pristine);
    for (const variant of ['distill', 'nodistill']) {
      const V = `${T}/${variant}`;
      await sidSh(`rm -rf ${V} && mkdir -p ${V}`);
      const r = await sidSh(`cp ../m.pristine.ko tcp_bbr.ko && ${RB} ${variant === 'distill' ? '--distill_base ' : ''}--btf_base ${m.vmlinux} --btf ../m.btf tcp_bbr.ko; echo "exit=$?" >&2`, { cwd: V, nothrow: true });
      put(`s390x/${m.tag}.${variant}.stderr`, Buffer.from(r.stderr), { text: true });
      for (const s of ['BTF', 'BTF.base', 'BTF_ids']) if (existsSync(sidPath(`${V}/tcp_bbr.ko.${s}`))) put(`s390x/${m.tag}.${variant}.${s}`, get(`${V}/tcp_bbr.ko.${s}`));
    }
    for (const [s, f] of [['BTF', 'm.btf'], ['BTF_ids', 'm.ids']]) {
      if (Buffer.compare(get(`${T}/nodistill/tcp_bbr.ko.${s}`), get(`${T}/${f}`)) !== 0) throw new Error(`${m.tag}: resolve_btfids on the recovered pristine layout does not give the shipped .${s}`);
    }
    checks.push(`${m.tag}: resolve_btfids without --distill_base on the pristine layout gives the shipped .BTF and .BTF_ids`);
  }
  log(`${m.tag}: done (${row.split('\t')[3]})`);
}
writeFileSync(join(OUT, 's390x/libbpf-oracle.tsv'), `${oracleRows.join('\n')}\n`);

// ---- provenance ----------------------------------------------------------------------------
for (const dir of ['/var/cache/modbtf-debs-foreign-sid', '/var/cache/modbtf-debs-foreign-experimental']) {
  for (const f of readdirSync(sidPath(dir))) if (/^linux-(headers|modules)-7\.(2\.13\+deb14|3)-(arm64|s390x)_/.test(f)) noteDeb(sidPath(join(dir, f)));
}
for (const f of readdirSync(trixie.path('/var/cache/modbtf-debs-foreign-trixie'))) if (/^linux-(headers|image)-6\.12\.107\+deb13-s390x_/.test(f)) noteDeb(trixie.path(join('/var/cache/modbtf-debs-foreign-trixie', f)));
const versions = (await sidSh(`dpkg-query -W -f='\${Package} \${Version}\\n' linux-kbuild-7.2.13+deb14 linux-headers-7.2.13+deb14-common dwarves libbpf-dev bpftool gcc-16-aarch64-linux-gnu gcc-16-s390x-linux-gnu binutils-aarch64-linux-gnu binutils-s390x-linux-gnu 2>/dev/null`)).stdout.trim();
writeFileSync(join(OUT, 'PROVENANCE.md'), `# cross/ — arm64 and s390x (big-endian) reference outputs (scripts/gen-cross-fixtures.mjs)

Made in a Debian sid chroot by \`scripts/gen-cross-fixtures.mjs\` with Debian's own tools (never
modbtf): the cross compilers, 7.2 kbuild (gen-btf.sh, pahole, resolve_btfids), libbpf 1.7.0
(\`scripts/oracle/libbpf-oracle.c\` against sid's static libbpf.a), bpftool 7.8. Installed in sid:

\`\`\`
${versions}
\`\`\`

Foreign packages (unpacked with dpkg-deb -x; sha256 of the .deb):

| .deb | sha256 |
| --- | --- |
${[...debs].sort().map(([f, h]) => `| \`${f}\` | \`${h}\` |`).join('\n')}

Per arch (\`arm64/\`, \`s390x/\`):
- \`k7fix.linked.ko\`: \`test/fixtures/kernel7/src\` built by \`make ARCH=<arch> CROSS_COMPILE=<triple>- -C
  /usr/src/linux-headers-7.2.13+deb14-<arch> M=...\`, copied before the BTF step;
  \`k7fix.kbuild.ko\`: the module that build wrote.
- \`pahole.cmd\`: gen-btf.sh's pahole command (V=1), run again on the linked copy:
  \`k7fix.pahole.btf\` (its --btf_encode_detached output). \`gen-btf.objcopy.cmd\`: gen-btf.sh's objcopy lines.
- \`k7fix.{distill,nodistill}.*\`: \`resolve_btfids [--distill_base] --verbose --btf_base vmlinux --btf
  k7fix.ko.BTF.1 k7fix.ko\`: the raw \`.BTF\`, \`.BTF.base\`, \`.BTF_ids\` it wrote, its stderr (\`exit=N\`
  appended); \`k7fix.nodistill.ko\`: the module after gen-btf.sh's \`<triple>-objcopy --add-section\`
  calls and \`resolve_btfids --patch_btfids\` (the in-tree profile). The same done with the
  --distill_base outputs gives \`k7fix.kbuild.ko\` byte for byte (checked; not stored twice).
- \`../vmlinux-7.2.13-<arch>.btf\`: the \`.BTF\` of the arch headers' vmlinux.

s390x shipped modules (\`s390x/tcp_bbr-7.2.13.*\`: \`kernel/net/ipv4/tcp_bbr.ko.xz\` of
linux-modules-7.2.13+deb14-s390x; \`s390x/tcp_bbr-6.12.107.*\`: the same of trixie's
linux-image-6.12.107+deb13-s390x):
- \`.shipped.ko\`: decompressed, as shipped (signed).
- \`.libbpf.dbase.btf\`, \`.libbpf.dsplit.btf\`: \`btf__distill_base()\` over the module's own vmlinux
  (\`btf__raw_data\` of each, big-endian as the input); \`.libbpf.reloc.btf\`: \`btf_relocate()\` of that
  pair onto the target (7.2.13: 7.3-rc7's s390x vmlinux; 6.12.107: 7.2.13's, as this mirror no
  longer has trixie's 6.12.117 s390x headers), when it succeeds; \`libbpf-oracle.tsv\`: the oracle's
  rows (columns as test/fixtures/corpus/GOLDEN-README.md, column 1 the tag).
- \`.bpftool.txt\` / \`.bpftool.json\`: \`bpftool -B <vmlinux> [-j] btf dump file <shipped .ko>\`;
  \`.libbpf.dsplit.bpftool.txt\`: \`bpftool -B <dbase> btf dump file <dsplit>\`.
- 7.2.13 only: \`.pristine.ko\` (\`.BTF_ids\` put back into the layout before resolve_btfids, by
  modbtf's recoverPristine, accepted only because the tool below without --distill_base gives the
  shipped \`.BTF\` and \`.BTF_ids\` byte for byte), \`.{distill,nodistill}.*\`: resolve_btfids 7.2
  [--distill_base] --btf_base vmlinux --btf <shipped .BTF> on it.
- \`../vmlinux-6.12.107-s390x.btf\`: the \`.BTF\` of linux-headers-6.12.107+deb13-s390x's vmlinux.

Checked when generated:
${checks.map((c) => `- ${c}`).join('\n')}

Files (sha256 of the uncompressed bytes; \`.gz\` files are \`gzip -n -9\`):

| file | size | sha256 |
| --- | --- | --- |
${files.map((f) => `| \`${f.name}\` | ${f.size} | \`${f.sha}\` |`).join('\n')}
`);
log(`wrote ${files.length} files to ${OUT}`);
