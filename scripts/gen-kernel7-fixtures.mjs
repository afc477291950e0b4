#!/usr/bin/env zx
// Golden fixtures for the kernel 7.x profile (test/fixtures/kernel7), made with Debian
// sid's own 7.2.13 pipeline — never with modbtf:
//
//   npx zx scripts/gen-kernel7-fixtures.mjs [--out DIR]
//
// In the sid chroot (scripts/e2e-lib/sid.mjs), with linux-headers-7.2.13+deb14-amd64:
//  1. builds test/fixtures/kernel7/src (k7fix) with plain 7.2 kbuild (KBUILD_EXTMOD, so
//     gen-btf.sh distills), keeping a copy of the linked module before the BTF step;
//  2. runs the tree's own pahole command on that copy (--btf_encode_detached), then the
//     tree's resolve_btfids on it: with --distill_base (the M= profile) and without (the
//     in-tree profile), -v each, recording stderr and exit status; then gen-btf.sh's
//     embedding (objcopy --add-section .BTF, .BTF.base; resolve_btfids --patch_btfids);
//  3. the same resolve_btfids runs over shipped Debian 7.2.13 modules, with their .BTF as
//     the --btf input (what `finalize` is compared with);
//  4. resolve_btfids' usage and failure texts for a set of command lines;
//  5. the raw .BTF of the headers' vmlinux.
// Everything is written gzip -n -9 (names without .gz are text). PROVENANCE.md in the
// output directory is rewritten with package versions and sha256 of every input.
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { gzipSync } from 'node:zlib';
import { $, argv } from 'zx';
import { KDIR7, KVER7, ensureSid, copyIn, sidDownload, sidPath, sidSh } from './e2e-lib/sid.mjs';

$.verbose = false;
const REPO = resolve(new URL('..', import.meta.url).pathname);
const OUT = resolve(argv.out ?? join(REPO, 'test/fixtures/kernel7'));
const RB = `${KDIR7}/tools/bpf/resolve_btfids/resolve_btfids`;
const VMLINUX = `${KDIR7}/vmlinux`;
const SHIPPED = ['kernel/net/ipv4/tcp_bbr.ko.xz', 'kernel/net/netfilter/nf_conntrack.ko.xz', 'kernel/net/ipv4/fou.ko.xz'];
const log = (m) => console.log(`[gen-kernel7] ${m}`);
const sha = (b) => createHash('sha256').update(b).digest('hex');
const files = [];

function put(name, bytes, { text = false } = {}) {
  const path = join(OUT, text ? name : `${name}.gz`);
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, text ? bytes : gzipSync(bytes, { level: 9 }));
  files.push({ name, size: bytes.length, sha: sha(bytes) });
}
const get = (p) => readFileSync(sidPath(p));

await ensureSid();
mkdirSync(OUT, { recursive: true });
for (const f of readdirSync(OUT)) if (f !== 'src') rmSync(join(OUT, f), { recursive: true, force: true });

// 1. plain 7.2 kbuild, keeping the module as linked.
const W = '/build/gen-k7';
copyIn(join(REPO, 'test/fixtures/kernel7/src'), W);
writeFileSync(sidPath(`${W}/keep.mk`), 'override cmd_btf_ko = cp $@ $@.linked; $(CONFIG_SHELL) $(srctree)/scripts/gen-btf.sh --btf_base $(objtree)/vmlinux $@\n');
log(`build k7fix with ${KDIR7} (M=)`);
const mk = await sidSh(`make -C ${KDIR7} M=${W} MAKEFILES=${W}/keep.mk modules V=1 2>&1`, { nothrow: true });
if (mk.exitCode !== 0) throw new Error(`kbuild failed:\n${mk.stdout}`);
const paholeLine = mk.stdout.split('\n').find((l) => /^\+ pahole -J /.test(l));
if (!paholeLine) throw new Error('no pahole line in the V=1 output');
// gen-btf.sh's own pahole command, run again by hand on the linked copy.
const paholeArgs = paholeLine.slice(2).replace(/--btf_encode_detached=\S+/, '--btf_encode_detached=k7fix.ko.BTF.1');
put('k7fix.linked.ko', get(`${W}/k7fix.ko.linked`));
put('k7fix.kbuild.ko', get(`${W}/k7fix.ko`));
writeFileSync(join(OUT, 'pahole.cmd'), `${paholeArgs}\n`);

// 2. the pipeline by hand, as gen-btf.sh runs it.
const D = `${W}/steps`;
await sidSh(`rm -rf ${D} && mkdir -p ${D}`);
await sidSh(`cp ${W}/k7fix.ko.linked k7fix.ko && ${paholeArgs}`, { cwd: D });
put('k7fix.pahole.btf', get(`${D}/k7fix.ko.BTF.1`));
for (const variant of ['distill', 'nodistill']) {
  const V = `${D}/${variant}`;
  const flags = variant === 'distill' ? '--distill_base --verbose' : '--verbose';
  await sidSh(`rm -rf ${V} && mkdir -p ${V}`);
  const r = await sidSh(`cp ../k7fix.ko ../k7fix.ko.BTF.1 . && ${RB} ${flags} --btf_base ${VMLINUX} --btf k7fix.ko.BTF.1 k7fix.ko; echo "exit=$?" >&2`, { cwd: V, nothrow: true });
  put(`k7fix.${variant}.stderr`, Buffer.from(r.stderr), { text: true });
  for (const s of ['BTF', 'BTF.base', 'BTF_ids']) {
    if (existsSync(sidPath(`${V}/k7fix.ko.${s}`))) put(`k7fix.${variant}.${s}`, get(`${V}/k7fix.ko.${s}`));
  }
  // gen-btf.sh's embed_btf_data.
  await sidSh(`x86_64-linux-gnu-objcopy --add-section .BTF=k7fix.ko.BTF k7fix.ko && if [ -f k7fix.ko.BTF.base ]; then x86_64-linux-gnu-objcopy --add-section .BTF.base=k7fix.ko.BTF.base k7fix.ko; fi && ${RB} --patch_btfids k7fix.ko.BTF_ids k7fix.ko`, { cwd: V });
  put(`k7fix.${variant}.ko`, get(`${V}/k7fix.ko`));
}
const same = Buffer.compare(get(`${D}/distill/k7fix.ko`), get(`${W}/k7fix.ko`)) === 0;
log(`hand-run pipeline ${same ? 'equals' : 'DIFFERS FROM'} the kbuild module`);
if (!same) throw new Error('pahole/resolve_btfids run by hand do not reproduce kbuild: pahole output not reproducible?');

// 3. shipped Debian modules. Their .BTF_ids is resolve_btfids' output already; running the
// tool on it again pairs set8 ids with other kfuncs' flags (it writes ids back to their
// symbols' slots but leaves the flags where the sort put them). So the tool is run on the
// module with its .BTF_ids put back into the pristine layout (modbtf's recoverPristine),
// and that layout is accepted only if the tool, run on it without distilling, gives the
// shipped .BTF and .BTF_ids byte for byte.
const { parseElf } = await import(join(REPO, 'dist/lib/elf/index.js'));
const { Btf } = await import(join(REPO, 'dist/lib/btf/btf.js'));
const { scanBtfIds, resolveNames, recoverPristine } = await import(join(REPO, 'dist/lib/btfids/index.js'));
const modulesDeb = await sidDownload(`linux-modules-${KVER7}`);
const M = `${W}/shipped`;
await sidSh(`rm -rf ${M} && mkdir -p ${M}/root && dpkg-deb -x ${modulesDeb.slice(sidPath('').length)} ${M}/root`);
let vmCache;
async function vmlinuxBtf() {
  if (vmCache === undefined) {
    await sidSh(`x86_64-linux-gnu-objcopy --dump-section .BTF=/tmp/vmlinux72.btf ${VMLINUX} /dev/null`);
    vmCache = Btf.parse(new Uint8Array(get('/tmp/vmlinux72.btf')));
  }
  return vmCache;
}
const shipped = [];
for (const rel of SHIPPED) {
  const name = rel.split('/').pop().replace(/\.ko\.xz$/, '');
  const S = `${M}/${name}`;
  await sidSh(`mkdir -p ${S}`);
  await sidSh(`xz -dc ${M}/root/usr/lib/modules/${KVER7}/${rel} > ${S}/${name}.ko && x86_64-linux-gnu-objcopy --dump-section .BTF=${S}/${name}.btf --dump-section .BTF_ids=${S}/${name}.ids ${S}/${name}.ko /dev/null`);
  const ko = new Uint8Array(get(`${S}/${name}.ko`));
  put(`${name}.shipped.ko`, ko);
  const elf = parseElf(ko);
  const layout = scanBtfIds(elf, { abi: 7 }).layout;
  const ids = elf.sectionByName('.BTF_ids');
  const pristine = new Uint8Array(ko);
  if (layout !== undefined && ids !== undefined) {
    const vm = await vmlinuxBtf();
    const own = Btf.parse(new Uint8Array(get(`${S}/${name}.btf`)), { base: vm });
    const p = recoverPristine(layout, resolveNames(layout, own), elf.sectionData(ids), 7);
    if (p === undefined) throw new Error(`${name}: .BTF_ids does not invert to a pristine layout`);
    pristine.set(p, ids.offset);
  }
  writeFileSync(sidPath(`${S}/${name}.pristine.ko`), pristine);
  put(`${name}.pristine.ko`, pristine);
  for (const variant of ['distill', 'nodistill']) {
    const V = `${S}/${variant}`;
    const flags = variant === 'distill' ? '--distill_base' : '';
    await sidSh(`rm -rf ${V} && mkdir -p ${V}`);
    const r = await sidSh(`cp ../${name}.pristine.ko ${name}.ko && cp ../${name}.btf . && ${RB} ${flags} --btf_base ${VMLINUX} --btf ${name}.btf ${name}.ko; echo "exit=$?" >&2`, { cwd: V, nothrow: true });
    put(`${name}.${variant}.stderr`, Buffer.from(r.stderr), { text: true });
    for (const s of ['BTF', 'BTF.base', 'BTF_ids']) if (existsSync(sidPath(`${V}/${name}.ko.${s}`))) put(`${name}.${variant}.${s}`, get(`${V}/${name}.ko.${s}`));
    if (variant === 'nodistill') {
      for (const [s, f] of [['BTF', 'btf'], ['BTF_ids', 'ids']]) {
        if (existsSync(sidPath(`${S}/${name}.${f}`)) && Buffer.compare(get(`${V}/${name}.ko.${s}`), get(`${S}/${name}.${f}`)) !== 0) {
          throw new Error(`${name}: resolve_btfids on the recovered pristine layout does not give the shipped .${s}`);
        }
      }
    }
  }
  shipped.push(rel);
}

// 4. usage and failure texts.
const CASES = {
  'no-args': '',
  'two-objects': 'a.ko b.ko',
  'unknown-long': '--frobnicate k7fix.ko',
  'unknown-short': '-x k7fix.ko',
  'help': '--help',
  'missing-object': `--btf_base ${VMLINUX} --btf k7fix.ko.BTF.1 missing.ko`,
  'missing-btf': `--btf_base ${VMLINUX} --btf missing.btf k7fix.ko`,
  'missing-base': '--btf_base missing.vmlinux --btf k7fix.ko.BTF.1 k7fix.ko',
  'btf-without-base': '--btf k7fix.ko.BTF.1 k7fix.ko',
  'patch-size-mismatch': '--patch_btfids k7fix.ko.BTF.1 k7fix.ko',
  'patch-missing-blob': '--patch_btfids missing.ids k7fix.ko',
  'patch-no-section': '--patch_btfids k7fix.ko.BTF.1 k7fix.ko.BTF.1',
  'fatal-warnings': `--fatal_warnings --btf_base ${VMLINUX} --btf k7fix.ko.BTF.1 k7fix.ko`,
  'requires-value': '--btf',
};
const E = `${D}/cases`;
const caseLines = [];
for (const [id, args] of Object.entries(CASES)) {
  await sidSh(`rm -rf ${E} && mkdir -p ${E}`);
  const r = await sidSh(`cp ../k7fix.ko ../k7fix.ko.BTF.1 . && ${RB} ${args}; echo "exit=$?" >&2`, { cwd: E, nothrow: true });
  const outs = ['BTF', 'BTF.base', 'BTF_ids'].filter((s) => existsSync(sidPath(`${E}/k7fix.ko.${s}`)));
  caseLines.push(`${id}\t${args}\t${outs.join(',') || '-'}`);
  put(`cases/${id}.stderr`, Buffer.from(r.stderr), { text: true });
  put(`cases/${id}.stdout`, Buffer.from(r.stdout), { text: true });
}
writeFileSync(join(OUT, 'cases.tsv'), `${caseLines.join('\n')}\n`);

// 5. vmlinux BTF.
await sidSh(`x86_64-linux-gnu-objcopy --dump-section .BTF=/tmp/vmlinux72.btf ${VMLINUX} /dev/null`);
put('vmlinux-7.2.13.btf', get('/tmp/vmlinux72.btf'));

// Provenance.
const versions = (await sidSh(`dpkg-query -W -f='\${Package} \${Version}\\n' linux-headers-${KVER7} linux-kbuild-7.2.13+deb14 dwarves binutils gcc-16 linux-modules-${KVER7} 2>/dev/null; dpkg-deb -f ${modulesDeb.slice(sidPath('').length)} Package Version`)).stdout.trim();
const debSha = sha(readFileSync(modulesDeb));
writeFileSync(join(OUT, 'PROVENANCE.md'), `# kernel7/ — Debian 7.2.13 pipeline outputs (scripts/gen-kernel7-fixtures.mjs)

Made in a Debian sid chroot by \`scripts/gen-kernel7-fixtures.mjs\`, with the tree's own tools
(never modbtf). Packages:

\`\`\`
${versions}
\`\`\`
linux-modules .deb sha256 ${debSha}.

- \`src/\`: the k7fix module (ours). \`k7fix.linked.ko\`: it as linked by kbuild, before the BTF
  step; \`k7fix.kbuild.ko\`: the module plain \`make -C ${KDIR7} M=...\` wrote.
- \`pahole.cmd\`: gen-btf.sh's pahole command (from V=1), run again on the linked copy:
  \`k7fix.pahole.btf\` (its --btf_encode_detached output).
- \`k7fix.{distill,nodistill}.*\`: \`resolve_btfids [--distill_base] --verbose --btf_base vmlinux
  --btf k7fix.ko.BTF.1 k7fix.ko\`: the raw \`.BTF\`, \`.BTF.base\`, \`.BTF_ids\` it wrote, its stderr
  (with \`exit=N\` appended), and \`.ko\`: the module after gen-btf.sh's objcopy --add-section
  calls and \`resolve_btfids --patch_btfids\`. \`k7fix.distill.ko\` equals \`k7fix.kbuild.ko\`
  (checked when generated).
- \`<module>.shipped.ko\`: ${shipped.join(', ')} of linux-modules-${KVER7}, decompressed;
  \`<module>.{distill,nodistill}.*\`: resolve_btfids run on it with its own \`.BTF\` as --btf.
- \`cases.tsv\` + \`cases/<id>.{stderr,stdout}\`: resolve_btfids run with the listed arguments in a
  directory holding k7fix.ko (linked) and k7fix.ko.BTF.1; column 3 lists the raw files written.
- \`vmlinux-7.2.13.btf\`: the \`.BTF\` section of the headers' vmlinux.

Files (sha256 of the uncompressed bytes; \`.gz\` files are \`gzip -n -9\`):

| file | size | sha256 |
| --- | --- | --- |
${files.map((f) => `| \`${f.name}\` | ${f.size} | \`${f.sha}\` |`).join('\n')}
`);
log(`wrote ${files.length} files to ${OUT}`);
