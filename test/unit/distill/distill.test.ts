/**
 * distill() on hand-built BTF. Expected outputs were worked out by hand from the rules
 * in DISTILL_RELOCATE.md and libbpf's btf__distill_base(): which base types are needed,
 * which go to the distilled base and which are copied into the new split, in what
 * order, how ids are renumbered, and in what order strings are added.
 */
import { describe, expect, it } from 'vitest';
import { Btf } from '../../../lib/btf/btf.js';
import { BTF_INT_SIGNED, BtfKind } from '../../../lib/btf/kinds.js';
import type { BtfType } from '../../../lib/btf/types.js';
import { makeInfo, makeIntData } from '../../../lib/btf/wire.js';
import { distill, DistillError } from '../../../lib/distill/index.js';
import { isModbtfError } from '../../../lib/errors.js';
import { Enc, rawBtf, strtab } from '../../helpers/btf-encode.js';

/**
 * Base ("vmlinux"):
 *  [1] INT 'int'              [13] VAR 'v' -> 1
 *  [2] PTR -> 3               [14] FUNC_PROTO ret 1 (a: 1)
 *  [3] STRUCT 'foo' {a, next} [15] FUNC 'f' -> 14
 *  [4] ENUM64 'big' signed    [16] DATASEC '.data' {13}
 *  [5] FWD union 'fwdy'       [17] DECL_TAG 'tag' -> 3
 *  [6] TYPEDEF 'foo_t' -> 3   [18] CONST -> 1
 *  [7] STRUCT (anon) {x: 1, y: 8}   [19] ARRAY 1[4] (index 1)
 *  [8] PTR -> 9               [20] TYPE_TAG 'user' -> 8
 *  [9] STRUCT 'bar' {m: 10}   [21] VOLATILE -> 19
 *  [10] UNION 'unused' {u: 1} [22] RESTRICT -> 2
 *  [11] ENUM (anon) {A, B}    [23] PTR -> 15 (FUNC)
 *  [12] FLOAT 'double'        [24] ENUM 'odd' size 3
 */
function makeBase(le: boolean): Btf {
  const e = new Enc();
  e.int('int', 4, BTF_INT_SIGNED);
  e.ptr(3);
  e.struct('foo', 16, [['a', 1, 0], ['next', 2, 64]]);
  e.enum64('big', 8, [['X', -1n]], true);
  e.fwd('fwdy', true);
  e.typedef('foo_t', 3);
  e.struct('', 16, [['x', 1, 0], ['y', 8, 64]]);
  e.ptr(9);
  e.struct('bar', 4, [['m', 10, 0]]);
  e.union('unused', 4, [['u', 1, 0]]);
  e.enum('', 4, [['A', 0], ['B', 1]]);
  e.float('double', 8);
  e.var('v', 1);
  e.funcProto(1, [['a', 1]]);
  e.func('f', 14);
  e.datasec('.data', [[13, 0, 4]]);
  e.declTag('tag', 3);
  e.const(1);
  e.array(1, 1, 4);
  e.typeTag('user', 8);
  e.volatile(19);
  e.restrict(2);
  e.ptr(15);
  e.enum('odd', 3);
  return e.parse(le);
}

/**
 * Split ("module"), ids from 25:
 *  [25] STRUCT 'mine' {p: 2, t: 6, s: 7, e: 4, w: 5, foo: 12, q: 26}
 *  [26] PTR -> 11
 *  [27] FUNC_PROTO ret void (x: 18, arr: 21)
 *  [28] FUNC 'myfunc' -> 27
 *  [29] PTR -> 25
 * 'x' and 'foo' are vmlinux strings, so their offsets point into the base.
 */
function makeSplit(base: Btf): Btf {
  const e = new Enc(base, { leadingNul: true });
  e.struct('mine', 64, [['p', 2, 0], ['t', 6, 64], ['s', 7, 128], ['e', 4, 256], ['w', 5, 320], ['foo', 12, 384], ['q', 26, 448]]);
  e.ptr(11);
  e.funcProto(0, [['x', 18], ['arr', 21]]);
  e.func('myfunc', 27);
  e.ptr(25);
  return e.parse(base.littleEndian);
}

const info = (kind: BtfKind, vlen = 0, kflag = false): number => makeInfo(kind, vlen, kflag);

/** Distilled base, by hand: needed INT/FLOAT/FWD and named composites/enums, id order. */
function expectedBase(le: boolean): Uint8Array {
  // "" int foo big fwdy bar double
  //  0 1   5   9   13   18  22      (29 bytes)
  const types: BtfType[] = [
    { kind: BtfKind.Int, id: 1, nameOff: 1, info: info(BtfKind.Int), size: 4, intData: makeIntData(BTF_INT_SIGNED, 0, 32) },
    { kind: BtfKind.Struct, id: 2, nameOff: 5, info: info(BtfKind.Struct), size: 16, members: [] },
    // ENUM64 becomes a plain ENUM of the same size; signedness (kflag) is dropped.
    { kind: BtfKind.Enum, id: 3, nameOff: 9, info: info(BtfKind.Enum), size: 8, values: [] },
    // FWD copied as is, union flavour (kflag) kept.
    { kind: BtfKind.Fwd, id: 4, nameOff: 13, info: info(BtfKind.Fwd, 0, true), size: 0 },
    { kind: BtfKind.Struct, id: 5, nameOff: 18, info: info(BtfKind.Struct), size: 4, members: [] },
    { kind: BtfKind.Float, id: 6, nameOff: 22, info: info(BtfKind.Float), size: 8 },
  ];
  return rawBtf(le, types, strtab('', 'int', 'foo', 'big', 'fwdy', 'bar', 'double'));
}

/** New split, by hand: own types (ids 7..11) then base copies (12..19). */
function expectedSplit(le: boolean): Uint8Array {
  // Own strings start at 29 (after the distilled base's); 'foo' resolves to the base's 5.
  // mine p t s e w q x arr myfunc foo_t y A B
  // 29  34 36 38 40 42 44 46 48 52 59 65 67 69
  const types: BtfType[] = [
    {
      kind: BtfKind.Struct, id: 7, nameOff: 29, info: info(BtfKind.Struct, 7), size: 64,
      members: [
        { nameOff: 34, type: 12, offset: 0 }, //   p: PTR copy of [2]
        { nameOff: 36, type: 13, offset: 64 }, //  t: TYPEDEF copy of [6]
        { nameOff: 38, type: 14, offset: 128 }, // s: anon struct copy of [7]
        { nameOff: 40, type: 3, offset: 256 }, //  e: distilled 'big'
        { nameOff: 42, type: 4, offset: 320 }, //  w: distilled FWD
        { nameOff: 5, type: 6, offset: 384 }, //   foo: distilled 'double'
        { nameOff: 44, type: 8, offset: 448 }, //  q: own [26]
      ],
    },
    { kind: BtfKind.Ptr, id: 8, nameOff: 0, info: info(BtfKind.Ptr), type: 16 },
    {
      kind: BtfKind.FuncProto, id: 9, nameOff: 0, info: info(BtfKind.FuncProto, 2), type: 0,
      params: [{ nameOff: 46, type: 17 }, { nameOff: 48, type: 19 }],
    },
    { kind: BtfKind.Func, id: 10, nameOff: 52, info: info(BtfKind.Func, 1), type: 9 },
    { kind: BtfKind.Ptr, id: 11, nameOff: 0, info: info(BtfKind.Ptr), type: 7 },
    // Copies of needed base types, ascending original id: 2, 6, 7, 8, 11, 18, 19, 21.
    { kind: BtfKind.Ptr, id: 12, nameOff: 0, info: info(BtfKind.Ptr), type: 2 },
    { kind: BtfKind.Typedef, id: 13, nameOff: 59, info: info(BtfKind.Typedef), type: 2 },
    {
      kind: BtfKind.Struct, id: 14, nameOff: 0, info: info(BtfKind.Struct, 2), size: 16,
      members: [{ nameOff: 46, type: 1, offset: 0 }, { nameOff: 65, type: 15, offset: 64 }],
    },
    { kind: BtfKind.Ptr, id: 15, nameOff: 0, info: info(BtfKind.Ptr), type: 5 },
    {
      kind: BtfKind.Enum, id: 16, nameOff: 0, info: info(BtfKind.Enum, 2), size: 4,
      values: [{ nameOff: 67, val: 0 }, { nameOff: 69, val: 1 }],
    },
    { kind: BtfKind.Const, id: 17, nameOff: 0, info: info(BtfKind.Const), type: 1 },
    { kind: BtfKind.Array, id: 18, nameOff: 0, info: info(BtfKind.Array), size: 0, elemType: 1, indexType: 1, nelems: 4 },
    { kind: BtfKind.Volatile, id: 19, nameOff: 0, info: info(BtfKind.Volatile), type: 18 },
  ];
  return rawBtf(le, types, strtab('mine', 'p', 't', 's', 'e', 'w', 'q', 'x', 'arr', 'myfunc', 'foo_t', 'y', 'A', 'B'));
}

function catchDistill(base: Btf, split: Btf): DistillError {
  try {
    distill(base, split);
  } catch (err) {
    if (err instanceof DistillError) return err;
    throw err;
  }
  throw new Error('distill did not fail');
}

for (const le of [true, false]) {
  describe(`distill (${le ? 'little' : 'big'} endian)`, () => {
    const base = makeBase(le);
    const split = makeSplit(base);

    it('builds the distilled base by hand-derived rules', () => {
      const r = distill(base, split);
      expect(Buffer.from(r.base).toString('hex')).toBe(Buffer.from(expectedBase(le)).toString('hex'));
      expect(r.baseTypeCount).toBe(7);
    });

    it('builds the new split: own types, then base copies, ids and strings rewritten', () => {
      const r = distill(base, split);
      expect(Buffer.from(r.split).toString('hex')).toBe(Buffer.from(expectedSplit(le)).toString('hex'));
      expect(r.splitTypeCount).toBe(20);
      // The outputs parse as a split pair.
      const d = Btf.parse(r.base);
      const s = Btf.parse(r.split, { base: d });
      expect(s.startId).toBe(7);
      expect(s.name(7)).toBe('mine');
      expect(s.kind(13)).toBe(BtfKind.Typedef);
      expect(s.name(13)).toBe('foo_t');
      expect(d.littleEndian).toBe(le);
    });

    it('maps old ids to new ids', () => {
      const r = distill(base, split);
      const want = new Uint32Array(30);
      // distilled base
      want[1] = 1; want[3] = 2; want[4] = 3; want[5] = 4; want[9] = 5; want[12] = 6;
      // copied into the split
      want[2] = 12; want[6] = 13; want[7] = 14; want[8] = 15; want[11] = 16; want[18] = 17; want[19] = 18; want[21] = 19;
      // own split types shift by 25 - 7
      for (let id = 25; id < 30; id++) want[id] = id - 18;
      // [10] (only a member of named 'bar'), [13]-[17], [20], [22]-[24]: not needed
      expect(Array.from(r.idMap)).toEqual(Array.from(want));
      expect(r.idMap).toBe(r.idMap); // built once
      for (let id = 0; id < 30; id++) expect(r.mapId(id)).toBe(want[id]);
      expect([r.mapId(30), r.mapId(-1), r.mapId(1.5)]).toEqual([0, 0, 0]);
      expect(Array.from(r.neededBaseIds)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 11, 12, 18, 19, 21]);
    });

    it('needs nothing when the split refers to no base type', () => {
      const e = new Enc(base, { leadingNul: true });
      e.int('my_int', 4);
      e.struct('s', 4, [['i', 25, 0]]);
      const r = distill(base, e.parse(le));
      expect(Buffer.from(r.base).toString('hex')).toBe(Buffer.from(rawBtf(le, [], strtab(''))).toString('hex'));
      const types: BtfType[] = [
        { kind: BtfKind.Int, id: 1, nameOff: 1, info: info(BtfKind.Int), size: 4, intData: makeIntData(0, 0, 32) },
        { kind: BtfKind.Struct, id: 2, nameOff: 8, info: info(BtfKind.Struct, 1), size: 4, members: [{ nameOff: 10, type: 1, offset: 0 }] },
      ];
      // String offsets continue after the distilled base's single NUL.
      expect(Buffer.from(r.split).toString('hex')).toBe(Buffer.from(rawBtf(le, types, strtab('my_int', 's', 'i'))).toString('hex'));
      expect(Array.from(r.idMap.subarray(25))).toEqual([1, 2]);
      expect(r.idMap.subarray(0, 25).every((v) => v === 0)).toBe(true);
    });

    it('walks through reference types but stops at named structs', () => {
      const e = new Enc(base);
      // PTR -> TYPE_TAG -> PTR -> 'bar': bar's member union 'unused' stays out.
      e.struct('t', 8, [['r', 20, 0], ['z', 22, 0]]);
      const r = distill(base, e.parse(le));
      const d = Btf.parse(r.base);
      const names = [];
      for (let id = 1; id < d.typeCount; id++) names.push(`${d.kind(id)}:${d.name(id)}`);
      // [3] foo (via RESTRICT -> PTR [2]) and [9] bar (via TYPE_TAG [20] -> PTR [8])
      expect(names).toEqual([`${BtfKind.Struct}:foo`, `${BtfKind.Struct}:bar`]);
      const s = Btf.parse(r.split, { base: d });
      const kinds = [];
      for (let id = s.startId; id < s.typeCount; id++) kinds.push(s.kind(id));
      // own struct, then copies of [2] PTR, [8] PTR, [20] TYPE_TAG, [22] RESTRICT
      expect(kinds).toEqual([BtfKind.Struct, BtfKind.Ptr, BtfKind.Ptr, BtfKind.TypeTag, BtfKind.Restrict]);
      expect(r.idMap[10]).toBe(0);
      expect(s.name(6)).toBe('user');
    });

    for (const [what, id, kind] of [
      ['VAR', 13, BtfKind.Var],
      ['FUNC', 15, BtfKind.Func],
      ['DATASEC', 16, BtfKind.Datasec],
      ['DECL_TAG', 17, BtfKind.DeclTag],
    ] as const) {
      it(`fails when the split refers to a base ${what}`, () => {
        const e = new Enc(base);
        e.ptr(id);
        const err = catchDistill(base, e.parse(le));
        expect(err.code).toBe('DISTILL_ILLEGAL_BASE_REF');
        expect(err.name).toBe('DistillError');
        expect(err.typeId).toBe(id);
        expect(err.kind).toBe(kind);
        expect(isModbtfError(err)).toBe(true);
        expect(err.message).toContain(what);
      });
    }

    it('reports the first illegal type in depth-first order', () => {
      const e = new Enc(base);
      // member 1 reaches FUNC [15] through PTR [23] before member 2's VAR [13]
      e.struct('t', 8, [['a', 23, 0], ['b', 13, 0]]);
      const err = catchDistill(base, e.parse(le));
      expect(err.typeId).toBe(15);
      expect(err.kind).toBe(BtfKind.Func);
    });

    it('leaves no state behind after a failure', () => {
      const e = new Enc(base);
      // marks [6], [3], [2], [18], [1] before failing on VAR [13]
      e.struct('t', 8, [['a', 6, 0], ['b', 2, 0], ['c', 18, 0], ['d', 13, 0]]);
      expect(catchDistill(base, e.parse(le)).typeId).toBe(13);
      const r = distill(base, split);
      expect(Buffer.from(r.base).toString('hex')).toBe(Buffer.from(expectedBase(le)).toString('hex'));
      expect(Buffer.from(r.split).toString('hex')).toBe(Buffer.from(expectedSplit(le)).toString('hex'));
    });

    it('allows split VAR/FUNC/DATASEC/DECL_TAG of its own', () => {
      const e = new Enc(base);
      const v = e.var('mv', 1);
      const p = e.funcProto(1, [['a', 1]]);
      const f = e.func('mf', p);
      e.datasec('.bss', [[v, 0, 4]]);
      e.declTag('mt', f);
      const r = distill(base, e.parse(le));
      const d = Btf.parse(r.base);
      const s = Btf.parse(r.split, { base: d });
      expect(d.typeCount).toBe(2); // just 'int'
      expect(s.kind(2)).toBe(BtfKind.Var);
      expect(s.type(4)).toMatchObject({ kind: BtfKind.Func, type: 3 });
      expect(s.type(5)).toMatchObject({ kind: BtfKind.Datasec, vars: [{ type: 2, offset: 0, size: 4 }] });
      expect(s.type(6)).toMatchObject({ kind: BtfKind.DeclTag, type: 4, componentIdx: -1 });
    });

    it("treats FWD's size/type slot as a type id, as libbpf's field iterator does", () => {
      const e = new Enc(base);
      e.fwd('odd_fwd');
      const t = e.types[0];
      if (t?.kind !== BtfKind.Fwd) throw new Error('expected a FWD');
      t.size = 12; // FLOAT 'double' (0 in valid BTF)
      const r = distill(base, e.parse(le));
      const d = Btf.parse(r.base);
      expect(d.typeCount).toBe(2);
      expect(d.name(1)).toBe('double');
      expect(Btf.parse(r.split, { base: d }).sizeOrType(2)).toBe(1);
    });

    it('rejects a named base enum of a size btf__add_enum refuses', () => {
      const e = new Enc(base);
      e.ptr(24);
      const err = catchDistill(base, e.parse(le));
      expect(err.code).toBe('DISTILL_BAD_ENUM_SIZE');
      expect(err.typeId).toBe(24);
    });

    it('rejects split BTF parsed over another base', () => {
      const other = makeBase(le);
      const err = catchDistill(other, split);
      expect(err.code).toBe('DISTILL_NOT_SPLIT');
    });

    it('rejects type ids past the last type', () => {
      const e = new Enc(base);
      e.ptr(4242);
      const err = catchDistill(base, e.parse(le));
      expect(err.code).toBe('DISTILL_BAD_TYPE_ID');
      expect(err.typeId).toBe(25);
    });
  });
}

describe('distill strings', () => {
  const base = makeBase(true);

  it('deduplicates split strings by content and maps empty names to 0', () => {
    // Two copies of "dup" in the module's table, and a member whose name offset points
    // at the module's leading NUL (an empty name at a non-zero offset).
    const e = new Enc(base, { leadingNul: true, noDedup: true });
    const emptyAt = { off: base.totalStrLen };
    e.struct('dup', 8, [['dup', 1, 0], [emptyAt, 1, 32]]);
    const split = e.parse(true);
    const own = split.type(25);
    if (own.kind !== BtfKind.Struct) throw new Error('expected a struct');
    expect(own.members[0]?.nameOff).not.toBe(own.nameOff); // really two copies in the input
    const r = distill(base, split);
    const d = Btf.parse(r.base);
    const s = Btf.parse(r.split, { base: d });
    const t = s.type(2);
    if (t.kind !== BtfKind.Struct) throw new Error('expected a struct');
    expect(d.typeCount).toBe(2); // 'int'
    expect(t.nameOff).toBe(5); // right after the distilled base's "\0int\0"
    expect(t.members.map((m) => m.nameOff)).toEqual([5, 0]);
    expect(Buffer.from(s.strings).toString('latin1')).toBe('dup\0');
  });

  it('copies non-UTF-8 names byte for byte', () => {
    const e = new Enc(base);
    e.struct('n\xe9\xff', 4, [['a', 1, 0]]);
    const r = distill(base, e.parse(true));
    const s = Btf.parse(r.split, { base: Btf.parse(r.base) });
    expect(Buffer.from(s.strings).toString('latin1')).toBe('n\xe9\xff\0a\0');
  });
});
