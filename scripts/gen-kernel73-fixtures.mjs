#!/usr/bin/env zx
// Golden fixtures for the kernel 7.3 profile (test/fixtures/kernel73), made with Debian
// experimental's own 7.3-rc7 pipeline — never with modbtf:
//
//   npx zx scripts/gen-kernel73-fixtures.mjs [--out DIR]
//
// In the sid chroot (scripts/e2e-lib/sid.mjs), with linux-headers-7.3-amd64 and
// linux-kbuild-7.3 installed (kernel7.mjs ensureKernel73Tree):
//  1. builds test/fixtures/kernel73/src with plain 7.3 kbuild (KBUILD_EXTMOD, so gen-btf.sh
//     distills), keeping a copy of every module as linked before the BTF step: k73fix and
//     k73warn go through the tree's own step; k73bad_flags and k73bad_arena cannot (the
//     tree's resolve_btfids fails on them), so kbuild is told to skip their BTF step;
//  2. runs the tree's own pahole command (from V=1) on each linked copy, then the tree's
//     resolve_btfids: with --distill_base (the M= profile) and without (in-tree), -v,
//     recording the raw files it writes, its stderr and exit status; for k73fix and k73warn
//     then gen-btf.sh's embedding (objcopy --add-section; resolve_btfids --patch_btfids),
//     which must give the module kbuild wrote;
//  3. the same resolve_btfids over shipped modules of linux-modules-7.3-amd64, with their
//     .BTF as --btf, on the module with .BTF_ids back in the pristine layout (modbtf's
//     recoverPristine, accepted only when the tool without distilling gives the shipped
//     .BTF_ids byte for byte and a .BTF that bpftool dumps exactly as the shipped one: 7.3's
//     resolve_btfids deduplicates again, which reorders the strings of an already sorted BTF);
//  4. resolve_btfids' usage and failure texts for a set of command lines (cases.tsv),
//     including btf__dedup failing on a --btf input whose last type is a PTR to itself;
//  5. the raw .BTF of the headers' vmlinux.
// Everything is written gzip -n -9 (names without .gz are text). PROVENANCE.md in the
// output directory is rewritten with package versions and sha256 of every input.
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { gzipSync } from 'node:zlib';
import { $, argv } from 'zx';
import { CHECKOUT_ID, copyIn, sidPath, sidSh } from './e2e-lib/sid.mjs';
import { KVER73, VERSION73, ensureKernel73Tree, experimentalDownload } from './e2e-lib/kernel7.mjs';

$.verbose = false;
const REPO = resolve(new URL('..', import.meta.url).pathname);
const OUT = resolve(argv.out ?? join(REPO, 'test/fixtures/kernel73'));
const SHIPPED = [
  'kernel/net/ipv4/tcp_bbr.ko.xz',
  'kernel/net/netfilter/nf_conntrack.ko.xz',
  'kernel/net/ipv4/fou.ko.xz',
  'kernel/net/sched/sch_fq.ko.xz',
];
const MODULES = ['k73fix', 'k73warn', 'k73bad_flags', 'k73bad_arena'];
/** Modules the tree's step is run for (the others make resolve_btfids fail). */
const BUILT = ['k73fix', 'k73warn'];
const log = (m) => console.log(`[gen-kernel73] ${m}`);
const sha = (b) => createHash('sha256').update(b).digest('hex');
const files = [];

function put(name, bytes, { text = false } = {}) {
  const path = join(OUT, text ? name : `${name}.gz`);
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, text ? bytes : gzipSync(bytes, { level: 9 }));
  files.push({ name, size: bytes.length, sha: sha(bytes) });
}
const get = (p) => readFileSync(sidPath(p));

const { kdir: KDIR, resolveBtfids: RB, vmlinux: VMLINUX } = await ensureKernel73Tree(log);
mkdirSync(OUT, { recursive: true });
for (const f of readdirSync(OUT)) if (f !== 'src') rmSync(join(OUT, f), { recursive: true, force: true });

// 1. plain 7.3 kbuild, keeping every module as linked.
const W = `/build/gen-k73-${CHECKOUT_ID}`;
copyIn(join(REPO, 'test/fixtures/kernel73/src'), W);
writeFileSync(sidPath(`${W}/keep.mk`), 'override cmd_btf_ko = cp $@ $@.linked; $(if $(findstring k73bad,$(notdir $@)),:,$(CONFIG_SHELL) $(srctree)/scripts/gen-btf.sh --btf_base $(objtree)/vmlinux $@)\n');
log(`build ${MODULES.join(', ')} with ${KDIR} (M=)`);
const mk = await sidSh(`make -C ${KDIR} M=${W} MAKEFILES=${W}/keep.mk modules V=1 2>&1`, { nothrow: true });
if (mk.exitCode !== 0) throw new Error(`kbuild failed:\n${mk.stdout}`);
const paholeLine = mk.stdout.split('\n').find((l) => /^\+ pahole -J .*k73fix\.ko$/.test(l));
if (!paholeLine) throw new Error(`no pahole line for k73fix in the V=1 output:\n${mk.stdout}`);
// gen-btf.sh's own pahole command (the same flags for every module), run again by hand.
const paholeFor = (m) => paholeLine.slice(2).replace(/--btf_encode_detached=\S+/, `--btf_encode_detached=${m}.ko.BTF.1`).replace(/\S*k73fix\.ko$/, `${m}.ko`);
writeFileSync(join(OUT, 'pahole.cmd'), `${paholeFor('MODULE')}\n`);
for (const m of MODULES) {
  put(`${m}.linked.ko`, get(`${W}/${m}.ko.linked`));
  if (BUILT.includes(m)) put(`${m}.kbuild.ko`, get(`${W}/${m}.ko`));
}

// 2. the pipeline by hand, as gen-btf.sh runs it.
const D = `${W}/steps`;
await sidSh(`rm -rf ${D} && mkdir -p ${D}`);
for (const m of MODULES) {
  await sidSh(`cp ${W}/${m}.ko.linked ${m}.ko && ${paholeFor(m)}`, { cwd: D });
  put(`${m}.pahole.btf`, get(`${D}/${m}.ko.BTF.1`));
  for (const variant of ['distill', 'nodistill']) {
    const V = `${D}/${m}-${variant}`;
    const flags = variant === 'distill' ? '--distill_base --verbose' : '--verbose';
    await sidSh(`rm -rf ${V} && mkdir -p ${V}`);
    const r = await sidSh(`cp ../${m}.ko ../${m}.ko.BTF.1 . && ${RB} ${flags} --btf_base ${VMLINUX} --btf ${m}.ko.BTF.1 ${m}.ko; echo "exit=$?" >&2`, { cwd: V, nothrow: true });
    put(`${m}.${variant}.stderr`, Buffer.from(r.stderr), { text: true });
    for (const s of ['BTF', 'BTF.base', 'BTF_ids']) if (existsSync(sidPath(`${V}/${m}.ko.${s}`))) put(`${m}.${variant}.${s}`, get(`${V}/${m}.ko.${s}`));
    if (!BUILT.includes(m)) continue;
    // gen-btf.sh's embed_btf_data.
    await sidSh(`x86_64-linux-gnu-objcopy --add-section .BTF=${m}.ko.BTF ${m}.ko && if [ -f ${m}.ko.BTF.base ]; then x86_64-linux-gnu-objcopy --add-section .BTF.base=${m}.ko.BTF.base ${m}.ko; fi && if [ -f ${m}.ko.BTF_ids ]; then ${RB} --patch_btfids ${m}.ko.BTF_ids ${m}.ko; fi`, { cwd: V });
    put(`${m}.${variant}.ko`, get(`${V}/${m}.ko`));
  }
  if (BUILT.includes(m)) {
    const same = Buffer.compare(get(`${D}/${m}-distill/${m}.ko`), get(`${W}/${m}.ko`)) === 0;
    log(`${m}: hand-run pipeline ${same ? 'equals' : 'DIFFERS FROM'} the kbuild module`);
    if (!same) throw new Error(`${m}: pahole/resolve_btfids run by hand do not reproduce kbuild: pahole output not reproducible?`);
  }
}

// 3. shipped Debian 7.3 modules (see the file comment for the pristine layout).
const { parseElf } = await import(join(REPO, 'dist/lib/elf/index.js'));
const { Btf } = await import(join(REPO, 'dist/lib/btf/btf.js'));
const { scanBtfIds, resolveNames, recoverPristine } = await import(join(REPO, 'dist/lib/btfids/index.js'));
const modulesDeb = await experimentalDownload(`linux-modules-${KVER73}=${VERSION73}`, log);
const M = `${W}/shipped`;
await sidSh(`rm -rf ${M} && mkdir -p ${M}/root && dpkg-deb -x /${modulesDeb.slice(sidPath('').length).replace(/^\/+/, '')} ${M}/root`);
await sidSh(`x86_64-linux-gnu-objcopy --dump-section .BTF=${W}/vmlinux73.btf ${VMLINUX} /dev/null`);
const vmBtf = Btf.parse(new Uint8Array(get(`${W}/vmlinux73.btf`)));
const shipped = [];
for (const rel of SHIPPED) {
  const name = rel.split('/').pop().replace(/\.ko\.xz$/, '');
  const S = `${M}/${name}`;
  await sidSh(`mkdir -p ${S}`);
  await sidSh(`xz -dc ${M}/root/usr/lib/modules/${KVER73}/${rel} > ${S}/${name}.ko && x86_64-linux-gnu-objcopy --dump-section .BTF=${S}/${name}.btf ${S}/${name}.ko /dev/null`);
  const ko = new Uint8Array(get(`${S}/${name}.ko`));
  put(`${name}.shipped.ko`, ko);
  const elf = parseElf(ko);
  const layout = scanBtfIds(elf, { abi: 7 }).layout;
  const ids = elf.sectionByName('.BTF_ids');
  const pristine = new Uint8Array(ko);
  if (layout !== undefined && ids !== undefined) {
    const own = Btf.parse(new Uint8Array(get(`${S}/${name}.btf`)), { base: vmBtf });
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
    if (variant !== 'nodistill') continue;
    if (ids !== undefined && Buffer.compare(get(`${V}/${name}.ko.BTF_ids`), Buffer.from(elf.sectionData(ids))) !== 0) {
      throw new Error(`${name}: resolve_btfids on the recovered pristine layout does not give the shipped .BTF_ids`);
    }
    const dump = async (f) => (await sidSh(`bpftool -B ${VMLINUX} btf dump file ${f}`, { cwd: V })).stdout;
    if ((await dump(`${name}.ko.BTF`)) !== (await dump(`${name}.btf`))) throw new Error(`${name}: resolve_btfids without distilling gives other types than the shipped .BTF (bpftool dumps differ)`);
  }
  shipped.push(rel);
}

// 4. usage and failure texts, in a directory with k73fix.ko (linked) and its pahole BTF.
const { BtfBuilder } = await import(join(REPO, 'dist/lib/btf/builder.js'));
{
  // The loop input: k73fix's pahole BTF plus a PTR to itself (an input, made with modbtf's builder).
  const b = BtfBuilder.continuing(Btf.parse(new Uint8Array(get(`${D}/k73fix.ko.BTF.1`)), { base: vmBtf }));
  b.addPtr(b.nextId);
  writeFileSync(sidPath(`${D}/loop.btf`), b.toBytes());
  put('cases/loop.btf', readFileSync(sidPath(`${D}/loop.btf`)));
}
const CASES = {
  'no-args': '',
  'unknown-long': '--frobnicate k73fix.ko',
  'help': '--help',
  'missing-object': `--btf_base ${VMLINUX} --btf k73fix.ko.BTF.1 missing.ko`,
  'missing-base': '--btf_base missing.vmlinux --btf k73fix.ko.BTF.1 k73fix.ko',
  'btf-without-base': '--btf k73fix.ko.BTF.1 k73fix.ko',
  'patch-size-mismatch': '--patch_btfids k73fix.ko.BTF.1 k73fix.ko',
  'fatal-warnings': `--fatal_warnings --btf_base ${VMLINUX} --btf k73fix.ko.BTF.1 k73fix.ko`,
  'dedup-loop': `--btf_base ${VMLINUX} --btf loop.btf k73fix.ko`,
  'dedup-loop-distill': `--distill_base --btf_base ${VMLINUX} --btf loop.btf k73fix.ko`,
};
const E = `${D}/cases`;
const caseLines = [];
for (const [id, args] of Object.entries(CASES)) {
  await sidSh(`rm -rf ${E} && mkdir -p ${E}`);
  const r = await sidSh(`cp ../k73fix.ko ../k73fix.ko.BTF.1 ../loop.btf . && ${RB} ${args}; echo "exit=$?" >&2`, { cwd: E, nothrow: true });
  const outs = ['BTF', 'BTF.base', 'BTF_ids'].filter((s) => existsSync(sidPath(`${E}/k73fix.ko.${s}`)));
  caseLines.push(`${id}\t${args}\t${outs.join(',') || '-'}`);
  put(`cases/${id}.stderr`, Buffer.from(r.stderr), { text: true });
  put(`cases/${id}.stdout`, Buffer.from(r.stdout), { text: true });
}
writeFileSync(join(OUT, 'cases.tsv'), `${caseLines.join('\n')}\n`);

// 5. vmlinux BTF.
put('vmlinux-7.3.btf', get(`${W}/vmlinux73.btf`));

// Provenance.
const versions = (await sidSh(`dpkg-query -W -f='\${Package} \${Version}\\n' linux-headers-${KVER73} linux-headers-7.3-common linux-kbuild-7.3 dwarves binutils gcc-16 bpftool 2>/dev/null; dpkg-deb -f /${modulesDeb.slice(sidPath('').length).replace(/^\/+/, '')} Package Version`)).stdout.trim();
const debSha = sha(readFileSync(modulesDeb));
const rbSha = sha(get(RB));
writeFileSync(join(OUT, 'PROVENANCE.md'), `# kernel73/ — Debian 7.3-rc7 pipeline outputs (scripts/gen-kernel73-fixtures.mjs)

Made in a Debian sid chroot by \`scripts/gen-kernel73-fixtures.mjs\`, with the tree's own tools
(never modbtf). Packages (the 7.3 ones from experimental):

\`\`\`
${versions}
\`\`\`
linux-modules .deb sha256 ${debSha}; \`${RB}\` sha256 ${rbSha}.

- \`src/\`: the modules (ours): k73fix (k7fix plus KF_FASTCALL, KF_ARENA_* and \`__arena\` kfuncs and a
  second kfunc set), k73warn (a kfunc set pair without a symbol, a kfunc without BTF),
  k73bad_flags (one kfunc with different flags in two sets), k73bad_arena (KF_ARENA_ARG1 on an
  int). \`<m>.linked.ko\`: each as linked by kbuild, before the BTF step; \`<m>.kbuild.ko\`: the
  module plain \`make -C ${KDIR} M=...\` wrote (k73fix, k73warn; the k73bad ones cannot get
  through the tree's BTF step, which was skipped for them).
- \`pahole.cmd\`: gen-btf.sh's pahole command (from V=1; MODULE for the module's name), run again
  on each linked copy: \`<m>.pahole.btf\` (its --btf_encode_detached output).
- \`<m>.{distill,nodistill}.*\`: \`resolve_btfids [--distill_base] --verbose --btf_base vmlinux
  --btf <m>.ko.BTF.1 <m>.ko\`: the raw \`.BTF\`, \`.BTF.base\`, \`.BTF_ids\` it wrote, its stderr (with
  \`exit=N\` appended), and \`.ko\` (k73fix, k73warn): the module after gen-btf.sh's objcopy
  --add-section calls and \`resolve_btfids --patch_btfids\`. \`<m>.distill.ko\` equals
  \`<m>.kbuild.ko\` (checked when generated).
- \`<module>.shipped.ko\`: ${shipped.join(', ')} of linux-modules-${KVER73}, decompressed;
  \`<module>.pristine.ko\`: the same with \`.BTF_ids\` back in the pristine layout;
  \`<module>.{distill,nodistill}.*\`: resolve_btfids run on the pristine module with the shipped
  \`.BTF\` as --btf (nodistill: \`.BTF_ids\` equal to the shipped one, \`.BTF\` dumped by bpftool
  exactly as the shipped one; checked when generated).
- \`cases.tsv\` + \`cases/<id>.{stderr,stdout}\`: resolve_btfids run with the listed arguments in a
  directory holding k73fix.ko (linked), k73fix.ko.BTF.1 and \`cases/loop.btf\` (k73fix's pahole BTF
  with one more type, a PTR to itself, made with modbtf's BtfBuilder: an input); column 3 lists
  the raw files written.
- \`vmlinux-7.3.btf\`: the \`.BTF\` section of the headers' vmlinux.

Files (sha256 of the uncompressed bytes; \`.gz\` files are \`gzip -n -9\`):

| file | size | sha256 |
| --- | --- | --- |
${files.map((f) => `| \`${f.name}\` | ${f.size} | \`${f.sha}\` |`).join('\n')}
`);
await sidSh(`rm -rf ${W}`);
log(`wrote ${files.length} files to ${OUT}`);
