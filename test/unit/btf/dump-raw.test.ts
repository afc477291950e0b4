/**
 * dumpRaw/dumpJson on hand-built BTF. Expected lines are written out by hand from
 * bpftool 7.1's printf formats (bpftool/src/btf.c, dump_btf_type) and json_writer,
 * so every kind and every quirk is pinned down without needing bpftool or kernel
 * files. (The same blobs were also fed to the real /usr/sbin/bpftool 7.1 once while
 * writing this test; it printed exactly these lines.)
 */
import { describe, expect, it } from 'vitest';
import { Btf } from '../../../lib/btf/btf.js';
import { BtfKind } from '../../../lib/btf/kinds.js';
import { StringTableBuilder } from '../../../lib/btf/strings.js';
import { makeInfo, makeIntData } from '../../../lib/btf/wire.js';
import { writeBtf } from '../../../lib/btf/write.js';
import type { BtfType } from '../../../lib/btf/types.js';
import { dumpRaw } from '../../../lib/btf/dump-raw.js';
import { dumpRawBytes } from '../../../lib/btf/dump-raw-bytes.js';
import { bpftoolJsonString, dumpJson } from '../../../lib/btf/dump-json.js';
import { dumpJsonBytes } from '../../../lib/btf/dump-json-bytes.js';

type Draft = (s: (name: string) => number, id: number) => BtfType;

/** Builds a blob from record factories; ids are assigned from `firstId`, names through one string table. */
function build(drafts: Draft[], opts: { littleEndian?: boolean; base?: Btf } = {}): Btf {
  const strs = new StringTableBuilder(opts.base);
  const s = (name: string): number => (name === '' ? 0 : strs.add(name));
  const firstId = opts.base ? opts.base.typeCount : 1;
  const types = drafts.map((d, i) => d(s, firstId + i));
  const littleEndian = opts.littleEndian ?? true;
  const bytes = writeBtf({ littleEndian, types, strings: strs.bytes() });
  return opts.base ? Btf.parse(bytes, { base: opts.base }) : Btf.parse(bytes);
}

const int = (name: string, size: number, enc: number, bits: number, offset = 0): Draft => (s, id) =>
  ({ kind: BtfKind.Int, id, nameOff: s(name), info: makeInfo(BtfKind.Int, 0, false), size, intData: makeIntData(enc, offset, bits) });
const ref = (kind: BtfKind.Ptr | BtfKind.Typedef | BtfKind.Volatile | BtfKind.Const | BtfKind.Restrict | BtfKind.TypeTag, name: string, type: number): Draft => (s, id) =>
  ({ kind, id, nameOff: s(name), info: makeInfo(kind, 0, false), type });
const func = (name: string, type: number, linkage: number): Draft => (s, id) =>
  ({ kind: BtfKind.Func, id, nameOff: s(name), info: makeInfo(BtfKind.Func, linkage, false), type });
const array = (elemType: number, indexType: number, nelems: number): Draft => (_s, id) =>
  ({ kind: BtfKind.Array, id, nameOff: 0, info: makeInfo(BtfKind.Array, 0, false), size: 0, elemType, indexType, nelems });
const composite = (kind: BtfKind.Struct | BtfKind.Union, name: string, size: number, kflag: boolean, members: [string, number, number][]): Draft => (s, id) =>
  ({ kind, id, nameOff: s(name), info: makeInfo(kind, members.length, kflag), size, members: members.map(([n, type, offset]) => ({ nameOff: s(n), type, offset })) });
const enum32 = (name: string, signed: boolean, values: [string, number][]): Draft => (s, id) =>
  ({ kind: BtfKind.Enum, id, nameOff: s(name), info: makeInfo(BtfKind.Enum, values.length, signed), size: 4, values: values.map(([n, val]) => ({ nameOff: s(n), val: val >>> 0 })) });
const enum64 = (name: string, signed: boolean, values: [string, bigint][]): Draft => (s, id) =>
  ({
    kind: BtfKind.Enum64, id, nameOff: s(name), info: makeInfo(BtfKind.Enum64, values.length, signed), size: 8,
    values: values.map(([n, v]) => {
      const u = BigInt.asUintN(64, v);
      return { nameOff: s(n), valLo32: Number(u & 0xffffffffn), valHi32: Number(u >> 32n) };
    }),
  });
const fwd = (name: string, union: boolean): Draft => (s, id) =>
  ({ kind: BtfKind.Fwd, id, nameOff: s(name), info: makeInfo(BtfKind.Fwd, 0, union), size: 0 });
const proto = (ret: number, params: [string, number][]): Draft => (s, id) =>
  ({ kind: BtfKind.FuncProto, id, nameOff: 0, info: makeInfo(BtfKind.FuncProto, params.length, false), type: ret, params: params.map(([n, type]) => ({ nameOff: s(n), type })) });
const variable = (name: string, type: number, linkage: number): Draft => (s, id) =>
  ({ kind: BtfKind.Var, id, nameOff: s(name), info: makeInfo(BtfKind.Var, 0, false), type, linkage });
const datasec = (name: string, size: number, vars: [number, number, number][]): Draft => (s, id) =>
  ({ kind: BtfKind.Datasec, id, nameOff: s(name), info: makeInfo(BtfKind.Datasec, vars.length, false), size, vars: vars.map(([type, offset, sz]) => ({ type, offset, size: sz })) });
const float = (name: string, size: number): Draft => (s, id) =>
  ({ kind: BtfKind.Float, id, nameOff: s(name), info: makeInfo(BtfKind.Float, 0, false), size });
const declTag = (name: string, type: number, componentIdx: number): Draft => (s, id) =>
  ({ kind: BtfKind.DeclTag, id, nameOff: s(name), info: makeInfo(BtfKind.DeclTag, 0, false), type, componentIdx });

/** One of every kind, with the edge values of each field. */
const ALL_KINDS: Draft[] = [
  /* 1 */ int('int', 4, 1, 32),
  /* 2 */ int('char', 1, 2, 8),
  /* 3 */ int('_Bool', 1, 4, 8),
  /* 4 */ int('unsigned int', 4, 0, 32),
  /* 5 */ int('odd', 4, 3, 5, 2), // two encoding flags at once: bpftool says UNKN
  /* 6 */ ref(BtfKind.Ptr, '', 1),
  /* 7 */ array(1, 4, 16),
  /* 8 */ composite(BtfKind.Struct, 's', 8, true, [['a', 1, 0], ['b', 4, (3 << 24) | 32], ['', 6, 40]]),
  /* 9 */ composite(BtfKind.Union, 'u', 4, false, [['x', 1, 0], ['', 4, 0]]),
  /* 10 */ enum32('e', false, [['A', 0], ['B', 0x80000000]]),
  /* 11 */ enum32('se', true, [['N', -1], ['P', 7]]),
  /* 12 */ enum64('e64', false, [['BIG', 0xffffffffffffffffn], ['ONE', 1n]]),
  /* 13 */ enum64('se64', true, [['NEG', -2n], ['MIN', -(2n ** 63n)]]),
  /* 14 */ fwd('fs', false),
  /* 15 */ fwd('fu', true),
  /* 16 */ ref(BtfKind.Typedef, 't', 1),
  /* 17 */ ref(BtfKind.Volatile, '', 1),
  /* 18 */ ref(BtfKind.Const, '', 17),
  /* 19 */ ref(BtfKind.Restrict, '', 6),
  /* 20 */ proto(1, [['a', 1], ['', 0]]),
  /* 21 */ func('f', 20, 0),
  /* 22 */ func('g', 20, 1),
  /* 23 */ func('h', 20, 2),
  /* 24 */ variable('v', 1, 0),
  /* 25 */ variable('w', 1, 1),
  /* 26 */ variable('x', 1, 2),
  /* 27 */ datasec('.data', 12, [[24, 0, 4], [25, 4, 4], [0, 8, 4]]),
  /* 28 */ float('double', 8),
  /* 29 */ declTag('tag', 8, 1),
  /* 30 */ declTag('kfunc', 21, -1),
  /* 31 */ ref(BtfKind.TypeTag, 'user', 1),
];

const ALL_KINDS_TEXT = [
  "[1] INT 'int' size=4 bits_offset=0 nr_bits=32 encoding=SIGNED",
  "[2] INT 'char' size=1 bits_offset=0 nr_bits=8 encoding=CHAR",
  "[3] INT '_Bool' size=1 bits_offset=0 nr_bits=8 encoding=BOOL",
  "[4] INT 'unsigned int' size=4 bits_offset=0 nr_bits=32 encoding=(none)",
  "[5] INT 'odd' size=4 bits_offset=2 nr_bits=5 encoding=UNKN",
  "[6] PTR '(anon)' type_id=1",
  "[7] ARRAY '(anon)' type_id=1 index_type_id=4 nr_elems=16",
  "[8] STRUCT 's' size=8 vlen=3",
  "\t'a' type_id=1 bits_offset=0",
  "\t'b' type_id=4 bits_offset=32 bitfield_size=3",
  "\t'(anon)' type_id=6 bits_offset=40",
  "[9] UNION 'u' size=4 vlen=2",
  "\t'x' type_id=1 bits_offset=0",
  "\t'(anon)' type_id=4 bits_offset=0",
  "[10] ENUM 'e' encoding=UNSIGNED size=4 vlen=2",
  "\t'A' val=0",
  "\t'B' val=2147483648",
  "[11] ENUM 'se' encoding=SIGNED size=4 vlen=2",
  "\t'N' val=-1",
  "\t'P' val=7",
  "[12] ENUM64 'e64' encoding=UNSIGNED size=8 vlen=2",
  "\t'BIG' val=18446744073709551615ULL",
  "\t'ONE' val=1ULL",
  "[13] ENUM64 'se64' encoding=SIGNED size=8 vlen=2",
  "\t'NEG' val=-2LL",
  "\t'MIN' val=-9223372036854775808LL",
  "[14] FWD 'fs' fwd_kind=struct",
  "[15] FWD 'fu' fwd_kind=union",
  "[16] TYPEDEF 't' type_id=1",
  "[17] VOLATILE '(anon)' type_id=1",
  "[18] CONST '(anon)' type_id=17",
  "[19] RESTRICT '(anon)' type_id=6",
  "[20] FUNC_PROTO '(anon)' ret_type_id=1 vlen=2",
  "\t'a' type_id=1",
  "\t'(anon)' type_id=0",
  "[21] FUNC 'f' type_id=20 linkage=static",
  "[22] FUNC 'g' type_id=20 linkage=global",
  "[23] FUNC 'h' type_id=20 linkage=extern",
  "[24] VAR 'v' type_id=1, linkage=static",
  "[25] VAR 'w' type_id=1, linkage=global",
  "[26] VAR 'x' type_id=1, linkage=extern",
  "[27] DATASEC '.data' size=12 vlen=3",
  "\ttype_id=24 offset=0 size=4 (VAR 'v')",
  "\ttype_id=25 offset=4 size=4 (VAR 'w')",
  "\ttype_id=0 offset=8 size=4 (UNKNOWN '(anon)')",
  "[28] FLOAT 'double' size=8",
  "[29] DECL_TAG 'tag' type_id=8 component_idx=1",
  "[30] DECL_TAG 'kfunc' type_id=21 component_idx=-1",
  "[31] TYPE_TAG 'user' type_id=1",
].map((l) => `${l}\n`).join('');

const ALL_KINDS_JSON = `{"types":[${[
  '{"id":1,"kind":"INT","name":"int","size":4,"bits_offset":0,"nr_bits":32,"encoding":"SIGNED"}',
  '{"id":2,"kind":"INT","name":"char","size":1,"bits_offset":0,"nr_bits":8,"encoding":"CHAR"}',
  '{"id":3,"kind":"INT","name":"_Bool","size":1,"bits_offset":0,"nr_bits":8,"encoding":"BOOL"}',
  '{"id":4,"kind":"INT","name":"unsigned int","size":4,"bits_offset":0,"nr_bits":32,"encoding":"(none)"}',
  '{"id":5,"kind":"INT","name":"odd","size":4,"bits_offset":2,"nr_bits":5,"encoding":"UNKN"}',
  '{"id":6,"kind":"PTR","name":"(anon)","type_id":1}',
  '{"id":7,"kind":"ARRAY","name":"(anon)","type_id":1,"index_type_id":4,"nr_elems":16}',
  '{"id":8,"kind":"STRUCT","name":"s","size":8,"vlen":3,"members":[{"name":"a","type_id":1,"bits_offset":0},{"name":"b","type_id":4,"bits_offset":32,"bitfield_size":3},{"name":"(anon)","type_id":6,"bits_offset":40}]}',
  '{"id":9,"kind":"UNION","name":"u","size":4,"vlen":2,"members":[{"name":"x","type_id":1,"bits_offset":0},{"name":"(anon)","type_id":4,"bits_offset":0}]}',
  // bpftool quirk: an unsigned ENUM value with bit 31 set is sign-extended to 64 bits in JSON.
  '{"id":10,"kind":"ENUM","name":"e","encoding":"UNSIGNED","size":4,"vlen":2,"values":[{"name":"A","val":0},{"name":"B","val":18446744071562067968}]}',
  '{"id":11,"kind":"ENUM","name":"se","encoding":"SIGNED","size":4,"vlen":2,"values":[{"name":"N","val":-1},{"name":"P","val":7}]}',
  '{"id":12,"kind":"ENUM64","name":"e64","encoding":"UNSIGNED","size":8,"vlen":2,"values":[{"name":"BIG","val":18446744073709551615},{"name":"ONE","val":1}]}',
  '{"id":13,"kind":"ENUM64","name":"se64","encoding":"SIGNED","size":8,"vlen":2,"values":[{"name":"NEG","val":-2},{"name":"MIN","val":-9223372036854775808}]}',
  '{"id":14,"kind":"FWD","name":"fs","fwd_kind":"struct"}',
  '{"id":15,"kind":"FWD","name":"fu","fwd_kind":"union"}',
  '{"id":16,"kind":"TYPEDEF","name":"t","type_id":1}',
  '{"id":17,"kind":"VOLATILE","name":"(anon)","type_id":1}',
  '{"id":18,"kind":"CONST","name":"(anon)","type_id":17}',
  '{"id":19,"kind":"RESTRICT","name":"(anon)","type_id":6}',
  '{"id":20,"kind":"FUNC_PROTO","name":"(anon)","ret_type_id":1,"vlen":2,"params":[{"name":"a","type_id":1},{"name":"(anon)","type_id":0}]}',
  '{"id":21,"kind":"FUNC","name":"f","type_id":20,"linkage":"static"}',
  '{"id":22,"kind":"FUNC","name":"g","type_id":20,"linkage":"global"}',
  '{"id":23,"kind":"FUNC","name":"h","type_id":20,"linkage":"extern"}',
  '{"id":24,"kind":"VAR","name":"v","type_id":1,"linkage":"static"}',
  '{"id":25,"kind":"VAR","name":"w","type_id":1,"linkage":"global"}',
  '{"id":26,"kind":"VAR","name":"x","type_id":1,"linkage":"extern"}',
  '{"id":27,"kind":"DATASEC","name":".data","size":12,"vlen":3,"vars":[{"type_id":24,"offset":0,"size":4},{"type_id":25,"offset":4,"size":4},{"type_id":0,"offset":8,"size":4}]}',
  '{"id":28,"kind":"FLOAT","name":"double","size":8}',
  '{"id":29,"kind":"DECL_TAG","name":"tag","type_id":8,"component_idx":1}',
  '{"id":30,"kind":"DECL_TAG","name":"kfunc","type_id":21,"component_idx":-1}',
  '{"id":31,"kind":"TYPE_TAG","name":"user","type_id":1}',
].join(',')}]}\n`;

describe('dumpRaw', () => {
  it('prints every kind as bpftool 7.1 does', () => {
    expect(dumpRaw(build(ALL_KINDS))).toBe(ALL_KINDS_TEXT);
  });

  it('dumpRawBytes (what the CLI writes) gives the same text for a blob at any offset of a larger Node Buffer, as a module section read from disk is', () => {
    const blob = build(ALL_KINDS).bytes;
    for (const pad of [0, 1, 2, 3, 5]) {
      // Filler that is not this BTF: reading words from the start of the file shows at once.
      const file = Buffer.alloc(pad + blob.length + 8, 0xa5);
      file.set(blob, pad);
      const btf = Btf.parse(file.subarray(pad, pad + blob.length));
      expect(Buffer.concat([...dumpRawBytes(btf)]).toString('utf8'), `blob at offset ${pad}`).toBe(ALL_KINDS_TEXT);
    }
  });

  it('gives the same text for a big-endian blob', () => {
    const be = build(ALL_KINDS, { littleEndian: false });
    expect(be.littleEndian).toBe(false);
    expect(dumpRaw(be)).toBe(ALL_KINDS_TEXT);
  });

  it('prints "(unknown)" for linkage values bpftool does not know', () => {
    const btf = build([int('int', 4, 1, 32), proto(1, []), func('f', 2, 7), variable('v', 1, 9)]);
    expect(dumpRaw(btf).split('\n').slice(2, 4)).toEqual([
      "[3] FUNC 'f' type_id=2 linkage=(unknown)",
      "[4] VAR 'v' type_id=1, linkage=(unknown)",
    ]);
  });

  it('dumps only the split part of split BTF, naming base types through the base', () => {
    const base = build([int('int', 4, 1, 32), composite(BtfKind.Struct, 'sk_buff', 8, false, [])]);
    const split = build([
      ref(BtfKind.Ptr, '', 2),
      composite(BtfKind.Struct, 'mod', 8, false, [['skb', 3, 0]]),
      // "int" is already in the base: the split name offset points into the base's strings.
      ref(BtfKind.Typedef, 'int', 1),
      datasec('.data', 4, [[2, 0, 4]]),
    ], { base });
    expect(split.startId).toBe(3);
    expect(dumpRaw(split)).toBe([
      "[3] PTR '(anon)' type_id=2",
      "[4] STRUCT 'mod' size=8 vlen=1",
      "\t'skb' type_id=3 bits_offset=0",
      "[5] TYPEDEF 'int' type_id=1",
      "[6] DATASEC '.data' size=4 vlen=1",
      "\ttype_id=2 offset=0 size=4 (STRUCT 'sk_buff')",
      '',
    ].join('\n'));
  });

  it('prints a DATASEC entry past the last id without the name, and a bad name offset as (invalid)', () => {
    const btf = build([int('int', 4, 1, 32), datasec('.bss', 4, [[9, 0, 4]])]);
    expect(dumpRaw(btf)).toBe("[1] INT 'int' size=4 bits_offset=0 nr_bits=32 encoding=SIGNED\n[2] DATASEC '.bss' size=4 vlen=1\n\ttype_id=9 offset=0 size=4\n");
    const bad = build([(_s, id) => ({ kind: BtfKind.Int, id, nameOff: 1000, info: makeInfo(BtfKind.Int, 0, false), size: 4, intData: makeIntData(1, 0, 32) })]);
    expect(dumpRaw(bad)).toBe("[1] INT '(invalid)' size=4 bits_offset=0 nr_bits=32 encoding=SIGNED\n");
  });

  it('dumps the ids asked for, base ids included, in the order given', () => {
    const btf = build(ALL_KINDS);
    expect(dumpRaw(btf, { ids: [16, 1] })).toBe("[16] TYPEDEF 't' type_id=1\n[1] INT 'int' size=4 bits_offset=0 nr_bits=32 encoding=SIGNED\n");
  });

  it('prints nothing for a BTF without own types', () => {
    expect(dumpRaw(build([]))).toBe('');
  });
});

describe('dumpJson', () => {
  it('prints every kind as bpftool 7.1 -j does, on one line ending in a newline', () => {
    const out = dumpJson(build(ALL_KINDS));
    expect(out).toBe(ALL_KINDS_JSON);
    // Valid JSON apart from the 64-bit numbers losing precision in JSON.parse.
    expect((JSON.parse(out) as { types: unknown[] }).types).toHaveLength(31);
  });

  it('gives the same JSON for a big-endian blob', () => {
    expect(dumpJson(build(ALL_KINDS, { littleEndian: false }))).toBe(ALL_KINDS_JSON);
  });

  it('prints an empty type list for a BTF without own types', () => {
    expect(dumpJson(build([]))).toBe('{"types":[]}\n');
  });

  it("escapes names like bpftool 7.1's json_writer, backslash quirk included", () => {
    expect(bpftoolJsonString('plain')).toBe('"plain"');
    // A backslash becomes the two characters \n (a typo in bpftool's copy of the writer).
    expect(bpftoolJsonString('a"b\\c\td\ne\rf\fg\bh')).toBe('"a\\"b\\nc\\td\\ne\\rf\\fg\\bh"');
    // Single quotes, other control characters and non-ASCII text pass through unescaped.
    expect(bpftoolJsonString("it's\u0001é")).toBe('"it\'s\u0001é"');
    const btf = build([composite(BtfKind.Struct, 'a\\b"c', 0, false, [])]);
    expect(dumpJson(btf)).toBe('{"types":[{"id":1,"kind":"STRUCT","name":"a\\nb\\"c","size":0,"vlen":0,"members":[]}]}\n');
    expect(dumpRaw(btf)).toBe("[1] STRUCT 'a\\b\"c' size=0 vlen=0\n");
  });
});

describe('dumpJsonBytes (what `dump --json` writes)', () => {
  const bytesOf = (btf: Btf): string => Buffer.concat([...dumpJsonBytes(btf)]).toString('utf8');

  it('prints every kind as dumpJson does, for a blob at any offset of a larger Node Buffer', () => {
    const blob = build(ALL_KINDS).bytes;
    for (const pad of [0, 1, 3]) {
      const file = Buffer.alloc(pad + blob.length + 8, 0xa5);
      file.set(blob, pad);
      expect(bytesOf(Btf.parse(file.subarray(pad, pad + blob.length))), `blob at offset ${pad}`).toBe(ALL_KINDS_JSON);
    }
  });

  it('big-endian, empty, split over a base, bad name offsets: as dumpJson', () => {
    expect(bytesOf(build(ALL_KINDS, { littleEndian: false }))).toBe(ALL_KINDS_JSON);
    expect(bytesOf(build([]))).toBe('{"types":[]}\n');
    const base = build([int('int', 4, 1, 32), composite(BtfKind.Struct, 'sk_buff', 8, false, [])]);
    const split = build([ref(BtfKind.Ptr, '', 2), composite(BtfKind.Struct, 'mod', 8, false, [['skb', 3, 0]]), ref(BtfKind.Typedef, 'int', 1)], { base });
    expect(bytesOf(split)).toBe(dumpJson(split));
    const bad = build([(_s, id) => ({ kind: BtfKind.Int, id, nameOff: 1000, info: makeInfo(BtfKind.Int, 0, false), size: 4, intData: makeIntData(1, 0, 32) })]);
    expect(bytesOf(bad)).toBe(dumpJson(bad));
    expect(bytesOf(bad)).toContain('"name":"(invalid)"');
  });

  it("escapes names byte by byte as bpftool's json_writer does", () => {
    const btf = build([composite(BtfKind.Struct, 'a\\b"c\td\ne\rf\fg\bh\u0001é\'', 0, false, [])]);
    expect(bytesOf(btf)).toBe(dumpJson(btf));
    expect(bytesOf(btf)).toContain('"name":"a\\nb\\"c\\td\\ne\\rf\\fg\\bh\u0001é\'"');
  });

  it('a long dump comes in chunks that join to dumpJson', () => {
    const many = Array.from({ length: 6000 }, (_, i) => composite(BtfKind.Struct, `s${i}`, 8, false, [['m', 0, 0]]));
    const btf = build(many);
    const chunks = [...dumpJsonBytes(btf)];
    expect(chunks.length).toBeGreaterThan(1);
    expect(Buffer.concat(chunks).toString('utf8')).toBe(dumpJson(btf));
  });
});
