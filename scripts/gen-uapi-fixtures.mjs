#!/usr/bin/env zx
// Golden fixtures for the 2026 BTF UAPI (issue 17, item 4: 7-bit kind, 24-bit vlen, the
// 32-byte header and its layout section), test/fixtures/uapi:
//
//   npm run build && flock /var/lock/modbtf-heavy.lock npx zx scripts/gen-uapi-fixtures.mjs [--out DIR]
//   npx zx scripts/gen-uapi-fixtures.mjs --blobs-only DIR      (the input blobs only, no chroot)
//
// No Debian vmlinux or module has such BTF yet, so the inputs are blobs built here with
// modbtf's BtfBuilder (dist/lib): they are inputs only. What is expected of them is what
// Debian sid's bpftool 7.8 (package bpftool 7.8.0+7.2.13-1, built from linux 7.2.13 with
// that tree's libbpf 1.8) prints for each in the sid chroot (scripts/e2e-lib/sid.mjs):
// `bpftool [-B BASE] btf dump file X format raw` and the same with `-j`, stdout kept
// byte for byte, exit status and stderr in cases.json. A case bpftool cannot read keeps
// its failure there: the test then checks modbtf against what bpftool did print.
// Files: <case>.btf.gz (and the base's), <case>.bpftool.txt.gz, <case>.bpftool.json.gz
// (gzip -9, no name or time), cases.json, PROVENANCE.md (sha256 of every uncompressed file).
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { gzipSync } from 'node:zlib';
import { $, argv } from 'zx';
import { CHECKOUT_ID, copyIn, ensureSid, sidPath, sidSh } from './e2e-lib/sid.mjs';

$.verbose = false;
const REPO = resolve(new URL('..', import.meta.url).pathname);
const OUT = resolve(argv.out ?? join(REPO, 'test/fixtures/uapi'));
const log = (m) => console.log(`[gen-uapi] ${m}`);
const sha = (b) => createHash('sha256').update(b).digest('hex');

const { BtfBuilder } = await import(join(REPO, 'dist/lib/btf/builder.js'));
const { kindLayoutSection } = await import(join(REPO, 'dist/lib/btf/fields.js'));
const { BtfKind, BTF_INT_SIGNED, BTF_INT_CHAR, BTF_INT_BOOL } = await import(join(REPO, 'dist/lib/btf/kinds.js'));
const { makeInfo } = await import(join(REPO, 'dist/lib/btf/wire.js'));

/** One of every kind bpftool prints, with the details each line has (kflag bitfields, signed values...). */
function everyKind(b) {
  const int = b.addInt('int', 4, BTF_INT_SIGNED); // [1]
  b.addInt('char', 1, BTF_INT_CHAR); // [2]
  b.addInt('_Bool', 1, BTF_INT_BOOL); // [3]
  const ptr = b.addPtr(int); // [4]
  const arr = b.addArray(int, 2, 16); // [5] char[16]
  const s = b.addStruct('s', 32); // [6]
  b.addField('a', int, 0);
  b.addField('bits', int, 32, 3);
  b.addField('p', ptr, 64);
  b.addField('name', arr, 128);
  b.addUnion('u', 4); // [7]
  b.addField('i', int, 0);
  b.addField('c', 2, 0);
  b.addEnum('e', 4); // [8]
  b.addEnumValue('NEG', -1);
  b.addEnumValue('BIG', 0x7fffffff);
  b.addEnum64('e64', 8, false); // [9]
  b.addEnum64Value('HUGE', 0xffffffffffffffffn);
  b.addEnum64Value('ONE', 1n);
  b.addFwd('fwd_s', 'struct'); // [10]
  b.addFwd('fwd_u', 'union'); // [11]
  const td = b.addTypedef('s_t', s); // [12]
  b.addVolatile(td); // [13]
  const c = b.addConst(int); // [14]
  b.addRestrict(ptr); // [15]
  const proto = b.addFuncProto(int); // [16]
  b.addFuncParam('x', c);
  b.addFuncParam('', 0);
  const fn = b.addFunc('f', 1, proto); // [17]
  const v = b.addVar('counter', 1, int); // [18]
  b.addDatasec('.data', 8); // [19]
  b.addDatasecVarInfo(v, 0, 4);
  b.addFloat('double', 8); // [20]
  b.addDeclTag('tag', fn, -1); // [21]
  b.addDeclTag('arg_tag', fn, 0); // [22]
  b.addTypeTag('user', int); // [23]
}

const N = 70_000;
/** Kind 20 as a newer encoder might describe it: 4 singular bytes, 8 per vlen entry. */
const KIND20 = { infoSz: 4, elemSz: 8 };

/** A kind-20 record (modbtf cannot build one through the btf__add_* calls, nor can libbpf). */
function addKind20(b, name, vlen, sizeOrType) {
  const rest = new Uint8Array(KIND20.infoSz + vlen * KIND20.elemSz);
  const dv = new DataView(rest.buffer);
  for (let i = 0; i < rest.length; i += 4) dv.setUint32(i, 0x01020304 + i, b.littleEndian);
  return b.addRaw({ kind: BtfKind.Unkn, id: 0, nameOff: b.addStr(name), info: makeInfo(20, vlen, false), unknown: { sizeOrType, rest, littleEndian: b.littleEndian } });
}

/** name -> { covers, build(): { bytes, base? (a case name) } } */
const CASES = [
  ['enum64-70000', 'ENUM64 with 70,000 values (vlen 0x11170 > 65535, 24-byte header), an INT after it', () => {
    const b = new BtfBuilder();
    b.addEnum64('big', 8, false);
    for (let i = 0; i < N; i++) b.addEnum64Value(`V${i}`, BigInt(i) * 0x100000001n);
    b.addInt('int', 4, BTF_INT_SIGNED);
    return b.toBytes();
  }],
  ['struct-70000', 'STRUCT with 70,000 members (vlen > 65535), a PTR to it after', () => {
    const b = new BtfBuilder();
    const ch = b.addInt('char', 1, BTF_INT_CHAR);
    const s = b.addStruct('wide', N);
    for (let i = 0; i < N; i++) b.addField(`m${i}`, ch, i * 8);
    b.addPtr(s);
    return b.toBytes();
  }],
  ['layout', 'every kind, 32-byte header with libbpf\'s layout section (add_layout), little-endian', () => {
    const b = new BtfBuilder({ layout: true });
    everyKind(b);
    return b.toBytes();
  }],
  ['layout.be', 'the same, big-endian', () => {
    const b = new BtfBuilder({ layout: true, littleEndian: false });
    everyKind(b);
    return b.toBytes();
  }],
  ['hdr32-zero', 'every kind, 32-byte header with layout_off = layout_len = 0 (as 7.2 resolve_btfids writes)', () => {
    const b = new BtfBuilder({ headerLen: 32 });
    everyKind(b);
    return b.toBytes();
  }],
  ['unknown-kind', 'layout section describing kinds 0..20; two kind-20 records (vlen 0 and 3) sized by it, referenced by a PTR and a DATASEC entry', () => {
    const b = new BtfBuilder({ layout: kindLayoutSection(true, [KIND20]) });
    const int = b.addInt('int', 4, BTF_INT_SIGNED);
    const k = addKind20(b, 'loc', 3, int);
    addKind20(b, '', 0, 0);
    b.addPtr(k);
    b.addDatasec('.data', 8);
    b.addDatasecVarInfo(k, 0, 8);
    b.addTypedef('after', int);
    return b.toBytes();
  }],
  ['split-base', 'base BTF with a layout section describing kind 20 (the base of split-unknown)', () => {
    const b = new BtfBuilder({ layout: kindLayoutSection(true, [KIND20]) });
    b.addInt('int', 4, BTF_INT_SIGNED);
    b.addStruct('base_s', 4);
    b.addField('x', 1, 0);
    return b.toBytes();
  }],
];

// split-unknown: split BTF without a layout section over split-base; its kind-20 record is
// sized by the base's layout (libbpf's btf_type_size_unknown falls back to the base).
const { Btf } = await import(join(REPO, 'dist/lib/btf/btf.js'));
const SPLIT = ['split-unknown', 'split BTF over split-base, no layout of its own: a kind-20 record sized by the base\'s layout', (built) => {
  const b = new BtfBuilder({ base: Btf.parse(built.get('split-base')) });
  const k = addKind20(b, 'loc', 2, 1);
  b.addPtr(k);
  b.addTypedef('base_t', 2);
  return b.toBytes();
}, 'split-base'];

const built = new Map();
for (const [name, , build] of CASES) built.set(name, build());
built.set(SPLIT[0], SPLIT[2](built));
if (argv['blobs-only']) {
  // Just the inputs (no chroot, no bpftool), e.g. to look at them: --blobs-only DIR.
  mkdirSync(argv['blobs-only'], { recursive: true });
  for (const [name, bytes] of built) writeFileSync(join(argv['blobs-only'], `${name}.btf`), bytes);
  log(`wrote ${built.size} blobs to ${argv['blobs-only']}`);
  process.exit(0);
}

await ensureSid();
const version = (await sidSh('bpftool version')).stdout.split('\n')[0];
const pkg = (await sidSh("dpkg-query -W -f='${Package} ${Version}' bpftool")).stdout.trim();
if (!/^bpftool v7\.8\./.test(version)) throw new Error(`expected sid's bpftool 7.8, got "${version}" (${pkg})`);
log(`${version} (${pkg})`);

rmSync(OUT, { recursive: true, force: true });
mkdirSync(OUT, { recursive: true });
const W = `/build/gen-uapi-${CHECKOUT_ID}`;
const host = join('/tmp', `gen-uapi-${CHECKOUT_ID}`);
rmSync(host, { recursive: true, force: true });
mkdirSync(host, { recursive: true });
const files = [];
const put = (name, bytes) => {
  writeFileSync(join(OUT, `${name}.gz`), gzipSync(bytes, { level: 9 }));
  files.push({ name, size: bytes.length, sha: sha(bytes) });
};

for (const [name, bytes] of built) writeFileSync(join(host, `${name}.btf`), bytes);
copyIn(host, W);
rmSync(host, { recursive: true, force: true });

const all = [...CASES.map(([name, covers]) => ({ name, covers })), { name: SPLIT[0], covers: SPLIT[1], base: SPLIT[3] }];
const cases = [];
for (const c of all) {
  const bytes = built.get(c.name);
  put(`${c.name}.btf`, bytes);
  const b = c.base ? `-B ${W}/${c.base}.btf ` : '';
  const run = async (json) => {
    const out = `${W}/${c.name}.${json ? 'json' : 'txt'}`;
    const r = await sidSh(`bpftool ${json ? '-j ' : ''}${b}btf dump file ${W}/${c.name}.btf format raw > ${out}`, { nothrow: true });
    const stdout = readFileSync(sidPath(out));
    put(`${c.name}.bpftool.${json ? 'json' : 'txt'}`, stdout);
    return { rc: r.exitCode, stderr: r.stderr, stdoutBytes: stdout.length };
  };
  const raw = await run(false);
  const json = await run(true);
  log(`${c.name}: ${bytes.length} bytes; raw rc ${raw.rc} (${raw.stdoutBytes} bytes), -j rc ${json.rc} (${json.stdoutBytes} bytes)${raw.stderr ? `; stderr: ${raw.stderr.trim().split('\n')[0]}` : ''}`);
  cases.push({ ...c, raw, json });
}
await sidSh(`rm -rf ${W}`);

writeFileSync(join(OUT, 'cases.json'), `${JSON.stringify({ bpftool: version, package: pkg, cases }, null, 2)}\n`);
const prov = [
  '# test/fixtures/uapi — the 2026 BTF UAPI against bpftool 7.8',
  '',
  `Made by \`scripts/gen-uapi-fixtures.mjs\` on ${new Date().toISOString().slice(0, 10)}. Inputs (\`*.btf\`): blobs built`,
  'with modbtf\'s BtfBuilder (inputs only, never expected values). Expected: what Debian sid\'s',
  `\`${pkg}\` (\`${version}\`) printed in the sid chroot for \`bpftool [-B BASE] btf dump file X format raw\``,
  'and with `-j` (stdout as written; exit status and stderr in `cases.json`).',
  '',
  '| case | covers |',
  '| --- | --- |',
  ...all.map((c) => `| ${c.name} | ${c.covers}${c.base ? ` (over ${c.base})` : ''} |`),
  '',
  '| file (uncompressed; stored .gz, gzip -9 without name or time) | size | sha256 |',
  '| --- | --- | --- |',
  ...files.map((f) => `| \`${f.name}\` | ${f.size} | \`${f.sha}\` |`),
  '',
];
writeFileSync(join(OUT, 'PROVENANCE.md'), prov.join('\n'));
log(`wrote ${files.length + 2} files to ${OUT}`);
