#!/usr/bin/env node
// Golden fixtures for lib/dedup (test/fixtures/dedup): inputs and what libbpf's btf__dedup()
// makes of them, in both behaviours — Debian's libbpf 1.7.0 and the fixed libbpf of the kernel
// 7.3 tree (scripts/oracle/dedup-oracle.c, built by scripts/e2e-lib/dedup-oracle.mjs) — never
// modbtf's output:
//
//   node scripts/gen-dedup-fixtures.mjs [--out DIR]      (root: the sid chroot)
//
// Inputs (raw BTF; `.gz` files are gzip -n -9):
//  - base.btf: a small hand-made base ("vmlinux"), synthetic split inputs over it made with
//    lib/btf's builder (typedefs over base typedefs, duplicate structs and FWDs, enum forward
//    declarations, arrays the compiler emitted twice, candidates of one key across table grows,
//    strings: duplicates, base strings, unused ones), standalone ones, and failures (ELOOP);
//  - real inputs over Debian's 7.2.13 vmlinux (test/fixtures/kernel7/vmlinux-7.2.13.btf): the
//    k7fix fixture's pahole 1.32 output, the shipped fou module's .BTF, fou + tcp_bbr appended
//    with btf__add_btf (duplicates for both libbpfs); big-endian: the s390x k7fix pahole output
//    over the s390x vmlinux (test/fixtures/cross).
// Outputs: <case>.<1.7.0|fixed>.btf, or <case>.<1.7.0|fixed>.err holding the errno name.
// cases.tsv lists `case<TAB>base<TAB>description` (base: a fixture path, or - for standalone).
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { gunzipSync, gzipSync } from 'node:zlib';
import { ensureDedupOracles } from './e2e-lib/dedup-oracle.mjs';
import { sidPath, sidSh } from './e2e-lib/sid.mjs';

const REPO = resolve(new URL('..', import.meta.url).pathname);
const { values } = parseArgs({ options: { out: { type: 'string' } } });
const OUT = resolve(values.out ?? join(REPO, 'test/fixtures/dedup'));
const lib = (p) => import(join(REPO, 'dist/lib', p));
const { Btf } = await lib('btf/btf.js');
const { BtfBuilder } = await lib('btf/builder.js');
const { BtfKind, BTF_INT_SIGNED } = await lib('btf/kinds.js');
const { makeInfo } = await lib('btf/wire.js');
const { writeBtf } = await lib('btf/write.js');
const { parseElf } = await lib('elf/index.js');
const log = (m) => console.log(`[gen-dedup] ${m}`);
const sha = (b) => createHash('sha256').update(b).digest('hex');
const gz = (p) => new Uint8Array(gunzipSync(readFileSync(join(REPO, p))));

// ---- the synthetic base ------------------------------------------------------------------
function makeBase() {
  const b = new BtfBuilder();
  const int = b.addInt('int', 4, BTF_INT_SIGNED); //           [1]
  const uint = b.addInt('unsigned int', 4, 0); //              [2]
  b.addTypedef('u32', uint); //                                [3]
  const lh = b.addStruct('list_head', 16); //                  [4]
  b.addField('next', lh + 1, 0);
  b.addField('prev', lh + 1, 64);
  b.addPtr(lh); //                                             [5]
  b.addFwd('sock', 'struct'); //                               [6]
  b.addEnum('color', 4); //                                    [7]
  b.addEnumValue('RED', 0);
  b.addEnumValue('GREEN', 1);
  const proto = b.addFuncProto(int); //                        [8]
  b.addFuncParam('a', int);
  b.addFunc('base_fn', 1, proto); //                           [9]
  b.addConst(int); //                                          [10]
  b.addArray(uint, int, 4); //                                 [11]
  const sock = b.addStruct('sock', 8); //                      [12]
  b.addField('x', int, 0);
  b.addField('y', int, 32);
  b.addTypedef('sock_t', sock); //                             [13]
  // Identical INTs at both sides of table grows (the table grows at 1, 4, 7, 13, 25 entries):
  // which one a split INT 'long' maps to depends on libbpf's chain order.
  for (let i = 0; i < 3; i++) b.addInt('long', 8, BTF_INT_SIGNED); // [14..16]
  b.addStruct('pad', 4); //                                    [17]
  b.addField('p', int, 0);
  for (let i = 0; i < 9; i++) b.addInt('long', 8, BTF_INT_SIGNED); // [18..26]
  b.addFloat('double', 8); //                                  [27]
  return b;
}

const baseBuilder = makeBase();
const baseBytes = baseBuilder.toBytes();
const base = Btf.parse(baseBytes, { file: 'base.btf' });
const id = (name, kind) => base.findByName(name, kind)[0];
const B = {
  int: id('int', BtfKind.Int), uint: id('unsigned int', BtfKind.Int), u32: id('u32', BtfKind.Typedef),
  lh: id('list_head', BtfKind.Struct), sock: id('sock', BtfKind.Struct), color: id('color', BtfKind.Enum),
};

/** Synthetic split cases over the synthetic base: name -> [description, bytes]. */
function syntheticCases() {
  const cases = [];
  const split = (name, description, fn) => {
    const b = new BtfBuilder({ base });
    fn(b);
    cases.push({ name, base: 'base.btf', description, bytes: b.toBytes() });
  };
  split('typedef-over-base', 'a module copy of the base typedef u32 (and its int): kept by 1.7.0, merged by the fixed libbpf', (b) => {
    const uint = b.addInt('unsigned int', 4, 0);
    const t = b.addTypedef('u32', uint);
    const p = b.addPtr(t);
    b.addStruct('m', 8);
    b.addField('a', p, 0);
    const int = b.addInt('int', 4, BTF_INT_SIGNED);
    const sock = b.addStruct('sock', 8);
    b.addField('x', int, 0);
    b.addField('y', int, 32);
    b.addTypedef('sock_t', sock);
  });
  split('structs-and-fwds', 'list_head defined again with its own pointer, FWD list_head, struct/FWD sock, a self-referencing struct twice', (b) => {
    const lh = b.addStruct('list_head', 16);
    b.addField('next', lh + 1, 0);
    b.addField('prev', lh + 1, 64);
    b.addPtr(lh);
    const f = b.addFwd('list_head', 'struct');
    b.addPtr(f);
    const fs = b.addFwd('sock', 'struct');
    b.addPtr(fs);
    for (let i = 0; i < 2; i++) {
      const n = b.addStruct('node', 16);
      b.addField('next', n + 1, 0);
      b.addField('val', n + 2, 64);
      b.addPtr(n);
      b.addInt('int', 4, BTF_INT_SIGNED);
    }
    const u = b.addFwd('node', 'union');
    b.addPtr(u);
  });
  split('enum-fwd', 'enum forward declarations: of a base enum, of an enum64 defined later, a full enum after its fwd', (b) => {
    const cf = b.addRaw({ kind: BtfKind.Enum, id: 0, nameOff: b.addStr('color'), info: makeInfo(BtfKind.Enum, 0, false), size: 4, values: [] });
    b.addPtr(cf);
    const wf = b.addRaw({ kind: BtfKind.Enum, id: 0, nameOff: b.addStr('wide'), info: makeInfo(BtfKind.Enum, 0, false), size: 4, values: [] });
    b.addPtr(wf);
    b.addEnum64('wide', 8, false);
    b.addEnum64Value('W0', 0n);
    b.addEnum64Value('W1', 1n << 40n);
    b.addRaw({ kind: BtfKind.Enum, id: 0, nameOff: b.addStr('late'), info: makeInfo(BtfKind.Enum, 0, false), size: 4, values: [] });
    b.addEnum('late', 4);
    b.addEnumValue('L', 7);
    b.addEnum('color', 4);
    b.addEnumValue('RED', 0);
    b.addEnumValue('GREEN', 1);
  });
  split('twin-arrays', 'a struct whose two members use distinct but identical array types (btf_dedup_identical_types), twice', (b) => {
    for (let i = 0; i < 2; i++) {
      const int = b.addInt('int', 4, BTF_INT_SIGNED);
      const a1 = b.addArray(int, int, 8);
      const a2 = b.addArray(int, int, 8);
      const s = b.addStruct('twins', 64);
      b.addField('a', a1, 0);
      b.addField('b', a2, 256);
      b.addPtr(s);
      const fp = b.addFuncProto(int);
      b.addFuncParam('p', a1);
      b.addFunc('use_twins', 1, fp);
    }
  });
  split('chain-order', "a split INT 'long' with twelve identical base candidates on both sides of table grows", (b) => {
    const l = b.addInt('long', 8, BTF_INT_SIGNED);
    b.addPtr(l);
    const int = b.addInt('int', 4, BTF_INT_SIGNED);
    const s = b.addStruct('pad', 4);
    b.addField('p', int, 0);
    b.addPtr(s);
  });
  split('kinds', 'VAR/DATASEC (never merged), DECL_TAGs, TYPE_TAGs, FLOAT, FUNC/FUNC_PROTO duplicates, a base FUNC_PROTO twin', (b) => {
    const int = b.addInt('int', 4, BTF_INT_SIGNED);
    const v1 = b.addVar('counter', 1, int);
    const v2 = b.addVar('counter', 1, int);
    const ds = b.addDatasec('.data', 8);
    b.addDatasecVarInfo(v1, 0, 4);
    b.addDatasecVarInfo(v2, 4, 4);
    void ds;
    for (let i = 0; i < 2; i++) {
      const p = b.addFuncProto(int);
      b.addFuncParam('a', int);
      const f = b.addFunc('base_fn', 1, p);
      b.addDeclTag('bpf_kfunc', f, -1);
      b.addDeclTag('arg', f, 0);
      const tt = b.addTypeTag('user', int);
      b.addPtr(tt);
      b.addFloat('double', 8);
    }
    const s = b.addStruct('tagged', 4);
    b.addField('t', int, 0);
    b.addDeclTag('member', s, 0);
  });
  split('loop', 'PTR -> CONST -> the PTR: a reference loop without a struct (ELOOP)', (b) => {
    const n = b.nextId;
    b.addPtr(n + 1);
    b.addConst(n);
  });
  // Standalone (no base): duplicates across "CUs", strings included.
  {
    const b = new BtfBuilder();
    for (let i = 0; i < 3; i++) {
      const int = b.addInt('int', 4, BTF_INT_SIGNED);
      const s = b.addStruct('s', 8);
      b.addField('a', int, 0);
      b.addField('next', s + 1, 32);
      b.addPtr(s);
      const f = b.addFwd('s', 'struct');
      b.addTypedef('s_t', f);
    }
    cases.push({ name: 'standalone', base: '-', description: 'standalone BTF: three copies of a small type graph, FWDs and typedefs', bytes: b.toBytes() });
  }
  // Strings: written by hand so the section holds what dedup must clean up.
  {
    const strs = ['', 'zz_unused', 'int', 'mine', 'list_head', 'mine', 'other', 'int'];
    const offs = [];
    let len = 0;
    for (const s of strs) { offs.push(base.totalStrLen + len); len += Buffer.byteLength(s, 'latin1') + 1; }
    const strings = Buffer.concat(strs.map((s) => Buffer.concat([Buffer.from(s, 'latin1'), Buffer.from([0])])));
    const sid = base.typeCount;
    const types = [
      { kind: BtfKind.Int, id: sid, nameOff: offs[2], info: makeInfo(BtfKind.Int, 0, false), size: 4, intData: 0x01000020 },
      { kind: BtfKind.Struct, id: sid + 1, nameOff: offs[3], info: makeInfo(BtfKind.Struct, 2, false), size: 8, members: [{ nameOff: offs[6], type: sid, offset: 0 }, { nameOff: offs[4], type: sid, offset: 32 }] },
      { kind: BtfKind.Struct, id: sid + 2, nameOff: offs[5], info: makeInfo(BtfKind.Struct, 2, false), size: 8, members: [{ nameOff: offs[6], type: sid, offset: 0 }, { nameOff: offs[4], type: sid, offset: 32 }] },
      { kind: BtfKind.Typedef, id: sid + 3, nameOff: offs[7], info: makeInfo(BtfKind.Typedef, 0, false), type: sid + 2 },
    ];
    cases.push({ name: 'strings', base: 'base.btf', description: 'a split string section with an unused string, duplicates, and strings the base has', bytes: writeBtf({ littleEndian: true, types, strings: new Uint8Array(strings) }) });
  }
  return cases;
}

function realCases() {
  const v72 = 'test/fixtures/kernel7/vmlinux-7.2.13.btf.gz';
  const s390 = 'test/fixtures/cross/vmlinux-7.2.13-s390x.btf.gz';
  const moduleBtf = (p) => {
    const elf = parseElf(gz(p), { file: p });
    return new Uint8Array(elf.sectionData(elf.sectionByName('.BTF')));
  };
  return [
    { name: 'k7fix-pahole', base: v72, description: "pahole 1.32's --btf_encode_detached output of the k7fix fixture (test/fixtures/kernel7/k7fix.pahole.btf)", bytes: gz('test/fixtures/kernel7/k7fix.pahole.btf.gz') },
    { name: 'fou-shipped', base: v72, description: "the .BTF of Debian's 7.2.13 fou.ko (test/fixtures/kernel7/fou.shipped.ko)", bytes: moduleBtf('test/fixtures/kernel7/fou.shipped.ko.gz') },
    { name: 'fou+tcp_bbr', base: v72, description: "fou's .BTF with tcp_bbr's appended by libbpf's btf__add_btf (the fixed libbpf's)", append: [moduleBtf('test/fixtures/kernel7/fou.shipped.ko.gz'), moduleBtf('test/fixtures/kernel7/tcp_bbr.shipped.ko.gz')] },
    { name: 'k7fix-s390x-pahole', base: s390, description: 'big-endian: pahole 1.32 output of the k7fix fixture cross-built for s390x (test/fixtures/cross/s390x/k7fix.pahole.btf)', bytes: gz('test/fixtures/cross/s390x/k7fix.pahole.btf.gz') },
  ];
}

// ---- run the references --------------------------------------------------------------------
if (process.getuid?.() !== 0) throw new Error('gen-dedup-fixtures needs root (the sid chroot)');
const oracles = await ensureDedupOracles(log);
const W = '/var/lib/modbtf-host/gen-dedup';
rmSync(sidPath(W), { recursive: true, force: true });
mkdirSync(sidPath(W), { recursive: true });
mkdirSync(OUT, { recursive: true });
for (const f of readdirSync(OUT)) rmSync(join(OUT, f), { recursive: true, force: true });
const files = [];
const put = (name, bytes, text = false) => {
  writeFileSync(join(OUT, text ? name : `${name}.gz`), text ? bytes : gzipSync(bytes, { level: 9 }));
  files.push({ name, size: bytes.length, sha: sha(bytes) });
};
const inSid = (name, bytes) => { writeFileSync(sidPath(`${W}/${name}`), bytes); return `${W}/${name}`; };

put('base.btf', baseBytes);
const baseIn = { 'base.btf': inSid('base.btf', baseBytes) };
const baseFor = (p) => (p === '-' ? '-' : (baseIn[p] ??= inSid(p.replaceAll('/', '_').replace(/\.gz$/, ''), p === 'base.btf' ? baseBytes : gz(p))));
const rows = [];
for (const c of [...syntheticCases(), ...realCases()]) {
  const b = baseFor(c.base);
  if (c.append) {
    const r = await sidSh(`${oracles.fixed} --append ${b} ${inSid(`${c.name}.a`, c.append[0])} ${inSid(`${c.name}.b`, c.append[1])} ${W}/${c.name}.in`, { nothrow: true });
    if (r.exitCode !== 0) throw new Error(`--append for ${c.name}: ${r.stderr}`);
    c.bytes = new Uint8Array(readFileSync(sidPath(`${W}/${c.name}.in`)));
  }
  const input = inSid(`${c.name}.in`, c.bytes);
  put(`${c.name}.in.btf`, c.bytes);
  for (const beh of ['1.7.0', 'fixed']) {
    const out = `${W}/${c.name}.${beh}.out`;
    const r = await sidSh(`${oracles[beh]} ${b} ${input} ${out}`, { nothrow: true });
    if (r.exitCode === 0) put(`${c.name}.${beh}.btf`, new Uint8Array(readFileSync(sidPath(out))));
    else if (r.exitCode === 1) put(`${c.name}.${beh}.err`, `${/btf__dedup failed: (\S+)/.exec(r.stderr)?.[1] ?? 'EOTHER'}\n`, true);
    else throw new Error(`${oracles[beh]} on ${c.name}: exit ${r.exitCode}: ${r.stderr}`);
  }
  rows.push(`${c.name}\t${c.base}\t${c.description}`);
  log(c.name);
}
put('cases.tsv', `${rows.join('\n')}\n`, true);
const pkgs = await sidSh(`dpkg-query -W -f='\${Package} \${Version}\\n' libbpf-dev libbpf1 gcc-16 libelf-dev`);
writeFileSync(join(OUT, 'PROVENANCE.md'), `# dedup/ — libbpf's btf__dedup() outputs (scripts/gen-dedup-fixtures.mjs)

Made in a Debian sid chroot by \`scripts/gen-dedup-fixtures.mjs\` with \`scripts/oracle/dedup-oracle.c\`
(btf__parse_split + btf__dedup + btf__raw_data) linked twice, never with modbtf:

- \`1.7.0\`: sid's libbpf-dev (libbpf.a); packages:
\`\`\`
${pkgs.stdout.trim()}
\`\`\`
- \`fixed\`: ${oracles.libbpf73}, built from its tools/lib/bpf (the libbpf kernel 7.3's
  resolve_btfids links).

\`cases.tsv\`: case, base (a fixture path, \`base.btf\`, or \`-\` for standalone), description.
\`<case>.in.btf\` is the input; \`<case>.<1.7.0|fixed>.btf\` what that libbpf wrote, or
\`<case>.<1.7.0|fixed>.err\` the errno its btf__dedup() returned. \`base.btf\` is a small base
made with lib/btf's builder (scripts/gen-dedup-fixtures.mjs says what is in it); the synthetic
inputs are made the same way. Files (sha256 of the uncompressed bytes; \`.gz\` files are
\`gzip -n -9\`):

| file | size | sha256 |
| --- | --- | --- |
${files.map((f) => `| \`${f.name}\` | ${f.size} | \`${f.sha}\` |`).join('\n')}
`);
rmSync(sidPath(W), { recursive: true, force: true });
log(`${rows.length} cases written to ${OUT}`);
