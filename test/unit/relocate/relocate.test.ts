// Relocation of hand-encoded split BTF over a hand-encoded distilled base onto a
// hand-encoded new base. Expected outputs are built independently: the same split
// types encoded directly over the new base (ids and string offsets as libbpf's
// btf_relocate() must produce them).
import { describe, expect, it } from 'vitest';
import { Btf } from '../../../lib/btf/btf.js';
import { BTF_INT_CHAR, BTF_INT_SIGNED, BtfKind } from '../../../lib/btf/kinds.js';
import {
  RelocateFailure, RelocationTarget, formatIdMap, formatLibbpfFailure, relocate, relocateBtf, relocationTarget,
  tryRelocate, type RelocateError,
} from '../../../lib/relocate/index.js';
import { Enc, splitOver, standalone } from '../../helpers/btf-encode.js';

function failureOf(d: Btf, s: Btf, n: Btf): RelocateFailure {
  const r = tryRelocate(d, s, n);
  if (r.ok) throw new Error('relocation unexpectedly succeeded');
  return r.failure;
}

function only(f: RelocateFailure): RelocateError {
  expect(f.failures).toHaveLength(1);
  return f.failures[0] as RelocateError;
}

/** Distilled base as btf__distill_base() would make it: named, memberless. */
function distilled(le: boolean): Btf {
  return standalone((e) => {
    e.int('int', 4, BTF_INT_SIGNED); //   [1]
    e.struct('foo', 8); //                 [2] embedded by the module
    e.struct('bar', 16); //                [3] pointed to only
    e.enum('mode', 4); //                  [4]
  }, le);
}

/** The module's split BTF over the distilled base (ids from 5). */
function moduleTypes(e: Enc, ids: { int: number; foo: number; bar: number; mode: number }): void {
  const pBar = e.ptr(ids.bar); //                                             [5]
  const mod = e.struct('mod', 32, [['f', ids.foo, 0], ['p', pBar, 64], ['m', ids.mode, 128], ['foo', ids.int, 160]]); // [6]
  const proto = e.funcProto(ids.int, [['arg', e.ptr(mod)]]); //                [8] (ptr is [7])
  e.func('mod_fn', proto); //                                                   [9]
  const v = e.var('mod_var', ids.int); //                                       [10]
  e.datasec('.data', [[v, 0, 4]]); //                                           [11]
  e.declTag('tagged', mod, 1); //                                               [12]
}

/** New base: renumbered (filler first), bar grew, extra types after. */
function newBase(le: boolean): Btf {
  return standalone((e) => {
    e.int('char', 1, BTF_INT_CHAR); //               [1]
    e.int('long', 8, BTF_INT_SIGNED); //             [2]
    const int = e.int('int', 4, BTF_INT_SIGNED); //  [3]
    e.struct('bar', 24, [['b1', int, 0]]); //        [4] size changed 16 -> 24 (pointer-only: fine)
    e.ptr(4); //                                     [5]
    e.enum('mode', 4, [['MODE_A', 0], ['MODE_B', 1]]); // [6]
    e.typedef('foo', int); //                        [7] not a matchable kind
    e.struct('foo', 8, [['fa', int, 0], ['fb', int, 32]]); // [8]
    e.struct('added', 4, [['x', int, 0]]); //        [9]
  }, le);
}

describe('relocate: success', () => {
  it.each([true, false])('renumbered base, added types, pointer-only struct grew (littleEndian=%s): exact bytes', (le) => {
    const d = distilled(le);
    const s = splitOver(d, (e) => moduleTypes(e, { int: 1, foo: 2, bar: 3, mode: 4 }));
    const n = newBase(le);
    const { split, idMap } = relocate(d, s, n);

    // Expected: the same split types encoded directly over the new base. Its own
    // string table comes out byte-identical (same names in the same order, none of
    // them in the new base), and 'foo' resolves to the new base's 'foo'.
    const shifted = new Enc(n);
    moduleTypes(shifted, { int: 3, foo: 8, bar: 4, mode: 6 });
    expect(shifted.types.map((t) => t.id)).toEqual([10, 11, 12, 13, 14, 15, 16, 17]);
    expect(Buffer.from(split).equals(Buffer.from(shifted.bytes(le)))).toBe(true);

    const re = Btf.parse(split, { base: n });
    expect(re.startId).toBe(10);
    expect(Buffer.from(re.strings).equals(Buffer.from(s.strings))).toBe(true);
    const names = (b: Btf, id: number): string[] => {
      const t = b.type(id);
      const out = [b.name(id)];
      if (t.kind === BtfKind.Struct) for (const m of t.members) out.push(b.str(m.nameOff));
      if (t.kind === BtfKind.FuncProto) for (const p of t.params) out.push(b.str(p.nameOff));
      return out;
    };
    for (let id = 10; id < re.typeCount; id++) expect(names(re, id)).toEqual(names(s, id - 5));
    expect(names(re, 11)).toEqual(['mod', 'f', 'p', 'm', 'foo']);
    // The member named 'foo' pointed into the distilled base's strings; it now points
    // at the name of the new base type 'foo' was matched to.
    const mod = re.type(11);
    if (mod.kind !== BtfKind.Struct) throw new Error('not a struct');
    expect(mod.members[3]?.nameOff).toBe(n.nameOff(8));
    expect(mod.members.map((m) => m.type)).toEqual([8, 10, 6, 3]);

    expect(Array.from(idMap)).toEqual([0, 3, 8, 4, 6, 10, 11, 12, 13, 14, 15, 16, 17]);
    expect(formatIdMap(idMap)).toBe('1 3\n2 8\n3 4\n4 6\n5 10\n6 11\n7 12\n8 13\n9 14\n10 15\n11 16\n12 17\n');
  });

  it('big-endian output equals the little-endian output with every word swapped', () => {
    const run = (le: boolean): Uint8Array => {
      const d = distilled(le);
      return relocate(d, splitOver(d, (e) => moduleTypes(e, { int: 1, foo: 2, bar: 3, mode: 4 })), newBase(le)).split;
    };
    const a = run(true);
    const b = run(false);
    expect(a.length).toBe(b.length);
    const la = Btf.parse(a, { base: newBase(true) });
    const typesEnd = 24 + la.header.typeLen;
    for (let i = 0; i < typesEnd; i += 4) {
      if (i === 0) continue; // magic/version/flags
      expect([b[i], b[i + 1], b[i + 2], b[i + 3]]).toEqual([a[i + 3], a[i + 2], a[i + 1], a[i]]);
    }
    expect(Buffer.from(a.subarray(typesEnd)).equals(Buffer.from(b.subarray(typesEnd)))).toBe(true);
  });

  it('a new base of the other byte order gives the same bytes (libbpf keeps the split\'s order)', () => {
    const d = distilled(true);
    const s = splitOver(d, (e) => moduleTypes(e, { int: 1, foo: 2, bar: 3, mode: 4 }));
    const a = relocate(d, s, newBase(true));
    const b = relocate(d, s, newBase(false));
    expect(Buffer.from(a.split).equals(Buffer.from(b.split))).toBe(true);
    expect(Array.from(a.idMap)).toEqual(Array.from(b.idMap));
  });

  it('does not modify its inputs (Buffer inputs included) and reuses one target', () => {
    const d = distilled(true);
    const s0 = splitOver(d, (e) => moduleTypes(e, { int: 1, foo: 2, bar: 3, mode: 4 }));
    const s = Btf.parse(Buffer.from(s0.bytes), { base: d });
    const before = Buffer.from(s.bytes);
    const n = newBase(true);
    const r1 = relocate(d, s, n);
    const r2 = relocate(d, s, new RelocationTarget(n));
    expect(Buffer.from(s.bytes).equals(before)).toBe(true);
    expect(Buffer.from(r1.split).equals(Buffer.from(r2.split))).toBe(true);
    expect(relocationTarget(n)).toBe(relocationTarget(n));
    const rb = relocateBtf(d, s, n);
    expect(rb.btf.base).toBe(n);
    expect(rb.btf.name(11)).toBe('mod');
  });

  it('INT matches on name, size and encoding only (bits may differ)', () => {
    const d = standalone((e) => { e.int('u24ish', 4, 0, 24); });
    const s = splitOver(d, (e) => { e.ptr(1); });
    const n = standalone((e) => { e.int('u24ish', 4, 0, 32); });
    expect(Array.from(relocate(d, s, n).idMap)).toEqual([0, 1, 2]);
  });

  it('FLOAT matches on name and size', () => {
    const d = standalone((e) => { e.float('double', 8); });
    const s = splitOver(d, (e) => { e.ptr(1); });
    const n = standalone((e) => { e.float('float', 4); e.float('double', 8); });
    expect(relocate(d, s, n).idMap[1]).toBe(2);
  });

  it('ENUM matches ENUM64 of the same size; ENUM stays ENUM', () => {
    const d = standalone((e) => { e.enum('big', 8); e.enum('small', 4); });
    const s = splitOver(d, (e) => { e.struct('m', 12, [['a', 1, 0], ['b', 2, 64]]); });
    const n = standalone((e) => { e.enum('small', 4, [['S', 1]]); e.enum64('big', 8, [['B', 1n << 40n]]); });
    expect(Array.from(relocate(d, s, n).idMap)).toEqual([0, 2, 1, 3]);
  });

  it('same-name structs in the new base are told apart by size, even when only pointed to', () => {
    const d = standalone((e) => { e.struct('console', 16); });
    const s = splitOver(d, (e) => { e.ptr(1); });
    const n = standalone((e) => { e.struct('console', 8); e.struct('console', 16); e.union('console', 24); });
    expect(relocate(d, s, n).idMap[1]).toBe(2);
  });

  it('embedded struct with unchanged size relocates', () => {
    const d = standalone((e) => { e.struct('foo', 8); });
    const s = splitOver(d, (e) => { e.struct('mod', 8, [['f', 1, 0]]); });
    const n = standalone((e) => { e.int('int', 4); e.struct('foo', 8); });
    expect(relocate(d, s, n).idMap[1]).toBe(2);
  });

  it('a struct reached through a pointer inside an array is not embedded', () => {
    const d = standalone((e) => { e.int('int', 4); e.struct('foo', 8); });
    const s = splitOver(d, (e) => { const p = e.ptr(2); const a = e.array(p, 1, 4); e.struct('mod', 32, [['ps', a, 0]]); });
    const n = standalone((e) => { e.int('int', 4); e.struct('foo', 64); });
    expect(relocate(d, s, n).idMap[2]).toBe(2);
  });

  // libbpf's checks are looser than "same kind": these results are what v1.7.0 does.
  it('libbpf quirks: FWD flavour is not compared with STRUCT/UNION kflag semantics; STRUCT maps to a FWD', () => {
    const d = standalone((e) => { e.fwd('ufwd', true); e.struct('only_fwd', 8); e.fwd('sfwd'); });
    const s = splitOver(d, (e) => { e.ptr(1); e.ptr(2); e.ptr(3); });
    const n = standalone((e) => {
      e.int('int', 4);
      e.struct('ufwd', 4, [['x', 1, 0]]); // [2] a struct without kflag matches even a union FWD
      e.fwd('only_fwd'); //                  [3] the new base only declares it
      e.fwd('sfwd'); //                      [4]
    });
    expect(Array.from(relocate(d, s, n).idMap).slice(1, 4)).toEqual([2, 3, 4]);
  });
});

describe('relocate: failures', () => {
  it('embedded struct changed size: size mismatch with the member chain (container is the last split type)', () => {
    const d = standalone((e) => { e.int('int', 4); e.struct('foo', 8); e.union('pad', 4); });
    const s = splitOver(d, (e) => {
      e.ptr(3); //                         [4] pointer to union pad: not embedded
      const td = e.typedef('foo_t', 2); // [5]
      const c = e.const(td); //            [6]
      const arr = e.array(c, 1, 2); //     [7]
      e.struct('mod', 24, [['n', 1, 0], ['arr', arr, 32]]); // [8] — libbpf < 1.6 never scanned it
    });
    const n = standalone((e) => { e.int('int', 4); e.union('pad', 8); e.struct('foo', 12); });
    const f = failureOf(d, s, n);
    const err = only(f);
    expect(err.code).toBe('RELOC_SIZE_MISMATCH');
    expect(err.distId).toBe(2);
    expect(err.embedded).toBe(true);
    expect(err.embeddedVia?.text).toBe('struct mod.arr → array[2] → const → typedef foo_t → struct foo');
    expect(err.embeddedVia?.containerId).toBe(8);
    expect(err.message).toContain('size changed from 8 to 12');
    expect(err.candidates).toEqual([{ id: 3, kind: BtfKind.Struct, size: 12, verdict: 'size' }]);
    expect(formatLibbpfFailure(f)).toBe("libbpf: distilled base BTF type 'foo' [2] is not mapped to base BTF id\n");
    expect(() => relocate(d, s, n)).toThrow(RelocateFailure);
  });

  it('embedded union inside an anonymous split struct', () => {
    const d = standalone((e) => { e.union('u', 8); });
    const s = splitOver(d, (e) => { e.struct('', 8, [['', 1, 0]]); });
    const n = standalone((e) => { e.union('u', 16); });
    const err = only(failureOf(d, s, n));
    expect(err.code).toBe('RELOC_SIZE_MISMATCH');
    expect(err.embeddedVia?.text).toBe('struct (anon) [2].(anon) → union u');
  });

  it('same name and size twice in the new base: ambiguous, libbpf message names both ids', () => {
    const d = standalone((e) => { e.struct('dup', 8); });
    const s = splitOver(d, (e) => { e.ptr(1); });
    const n = standalone((e) => { e.int('int', 4); e.struct('dup', 8); e.struct('dup', 4); e.union('dup', 8); });
    const f = failureOf(d, s, n);
    const err = only(f);
    expect(err.code).toBe('RELOC_AMBIGUOUS');
    expect(err.candidates.filter((c) => c.verdict === 'match').map((c) => c.id)).toEqual([2, 4]);
    expect(formatLibbpfFailure(f)).toBe(
      "libbpf: distilled base BTF type 'dup' [1], size 8 has multiple candidates of the same size (ids [4, 2]) in base BTF\n");
  });

  it('struct and FWD of the same name: the FWD is a second candidate once the struct matched', () => {
    const d = standalone((e) => { e.struct('s', 8); });
    const s = splitOver(d, (e) => { e.ptr(1); });
    const n = standalone((e) => { e.struct('s', 8); e.fwd('s'); });
    expect(only(failureOf(d, s, n)).code).toBe('RELOC_AMBIGUOUS');
    // ...but not when the FWD comes first and the struct is embedded: the FWD (size 0)
    // is skipped while the struct is unmapped.
    const s2 = splitOver(d, (e) => { e.struct('m', 8, [['x', 1, 0]]); });
    const n2 = standalone((e) => { e.fwd('s'); e.struct('s', 8); });
    expect(relocate(d, s2, n2).idMap[1]).toBe(2);
  });

  it('same-name structs, none of the distilled size: size mismatch even though only pointed to', () => {
    const d = standalone((e) => { e.struct('console', 12); });
    const s = splitOver(d, (e) => { e.ptr(1); });
    const n = standalone((e) => { e.struct('console', 8); e.struct('console', 16); });
    const err = only(failureOf(d, s, n));
    expect(err.code).toBe('RELOC_SIZE_MISMATCH');
    expect(err.embedded).toBe(false);
    expect(err.message).toContain('sizes 8, 16');
  });

  it('FWD: STRUCT with kflag, UNION without kflag, FWD of the other flavour do not match', () => {
    const d = standalone((e) => { e.fwd('a'); e.fwd('b', true); e.fwd('c'); });
    const s = splitOver(d, (e) => { e.ptr(1); e.ptr(2); e.ptr(3); });
    const n = standalone((e) => {
      e.int('int', 4);
      e.struct('a', 4, [['x', 1, 0]], true);
      e.union('b', 4, [['x', 1, 0]], false);
      e.fwd('c', true);
    });
    const f = failureOf(d, s, n);
    expect(f.failures.map((x) => [x.code, x.distId])).toEqual([
      ['RELOC_KIND_MISMATCH', 1], ['RELOC_KIND_MISMATCH', 2], ['RELOC_KIND_MISMATCH', 3],
    ]);
    expect(f.failures.every((x) => x.candidates.every((c) => c.verdict === 'flavour'))).toBe(true);
  });

  it('FWD cannot match when the new base has several structs of that name', () => {
    const d = standalone((e) => { e.fwd('multi'); });
    const s = splitOver(d, (e) => { e.ptr(1); });
    const n = standalone((e) => { e.struct('multi', 8); e.struct('multi', 16); });
    expect(only(failureOf(d, s, n)).code).toBe('RELOC_SIZE_MISMATCH');
  });

  it('ENUM of size 4 against ENUM64 of size 8: size mismatch; against an INT: kind mismatch', () => {
    const d = standalone((e) => { e.enum('e', 4); e.enum('k', 4); });
    const s = splitOver(d, (e) => { e.ptr(1); e.ptr(2); });
    const n = standalone((e) => { e.enum64('e', 8); e.int('k', 4); });
    const f = failureOf(d, s, n);
    expect(f.failures.map((x) => x.code)).toEqual(['RELOC_SIZE_MISMATCH', 'RELOC_KIND_MISMATCH']);
  });

  it('INT: other encoding, other size', () => {
    const d = standalone((e) => { e.int('char', 1, BTF_INT_SIGNED | BTF_INT_CHAR); e.int('wide', 4); });
    const s = splitOver(d, (e) => { e.ptr(1); e.ptr(2); });
    const n = standalone((e) => { e.int('char', 1, BTF_INT_CHAR); e.int('wide', 8); });
    const f = failureOf(d, s, n);
    expect(f.failures.map((x) => x.code)).toEqual(['RELOC_ENCODING_MISMATCH', 'RELOC_SIZE_MISMATCH']);
  });

  it('missing type, and a name that exists only as a typedef', () => {
    const d = standalone((e) => { e.struct('gone', 8); e.struct('tdef_only', 8); });
    const s = splitOver(d, (e) => { e.ptr(1); e.ptr(2); });
    const n = standalone((e) => { e.int('int', 4); e.typedef('tdef_only', 1); });
    const f = failureOf(d, s, n);
    expect(f.failures.map((x) => [x.code, x.typeName])).toEqual([['RELOC_NOT_FOUND', 'gone'], ['RELOC_NOT_FOUND', 'tdef_only']]);
    expect(formatLibbpfFailure(f)).toBe("libbpf: distilled base BTF type 'gone' [1] is not mapped to base BTF id\n");
  });

  it('collects every failure, in the order libbpf meets them (base-scan errors first)', () => {
    const d = standalone((e) => { e.struct('missing_a', 8); e.struct('dup', 8); e.struct('ok', 4); e.struct('missing_b', 8); });
    const s = splitOver(d, (e) => { e.ptr(1); e.ptr(2); e.ptr(3); e.ptr(4); });
    const n = standalone((e) => { e.struct('dup', 8); e.struct('ok', 4); e.struct('dup', 8); });
    const f = failureOf(d, s, n);
    expect(f.failures.map((x) => [x.code, x.distId])).toEqual([
      ['RELOC_AMBIGUOUS', 2], ['RELOC_NOT_FOUND', 1], ['RELOC_NOT_FOUND', 4],
    ]);
    expect(f.first?.libbpfMessage).toBe(
      "libbpf: distilled base BTF type 'dup' [2], size 8 has multiple candidates of the same size (ids [3, 1]) in base BTF");
    expect(f.message).toMatch(/and 2 more/);
  });

  it('a split string pointing into the distilled base but not at a mapped name', () => {
    const d = standalone((e) => { e.int('int', 4); }, true, ['stray']);
    const s = splitOver(d, (e) => { e.struct('m', 4, [['stray', 1, 0]]); });
    const n = standalone((e) => { e.int('int', 4); });
    const f = failureOf(d, s, n);
    const err = only(f);
    expect(err.code).toBe('RELOC_STRING_NOT_MAPPED');
    const off = Buffer.from(d.strings).indexOf('\0stray\0') + 1;
    expect(off).toBe(1);
    expect(err.libbpfMessage).toBe(`libbpf: string '' [offset ${off}] is not mapped to base BTF`);
  });

  it('invalid distilled bases: unexpected kind, anonymous type (every one listed)', () => {
    const d = standalone((e) => { e.int('int', 4); e.ptr(1); e.struct('', 4); });
    const s = splitOver(d, (e) => { e.ptr(1); });
    const n = standalone((e) => { e.int('int', 4); });
    let caught: unknown;
    try { relocate(d, s, n); } catch (e) { caught = e; }
    expect(caught).toBeInstanceOf(RelocateFailure);
    const f = caught as RelocateFailure;
    expect(f.failures.map((x) => x.code)).toEqual(['RELOC_BAD_DISTILLED_BASE', 'RELOC_BAD_DISTILLED_BASE']);
    expect(f.failures.map((x) => x.libbpfMessage)).toEqual([
      'libbpf: type [2] in distilled based BTF has unexpected kind [2]',
      'libbpf: type [3], kind [4] is invalid for distilled base BTF; it is anonymous',
    ]);
  });

  it('bad inputs: split not over the distilled base, split new base', () => {
    const d = distilled(true);
    const other = distilled(true);
    const s = splitOver(other, (e) => { e.ptr(1); });
    const n = newBase(true);
    expect(() => relocate(d, s, n)).toThrow(/not parsed over this distilled base/);
    const nSplit = splitOver(n, (e) => { e.ptr(1); });
    expect(() => relocate(other, s, nSplit)).toThrow(/standalone/);
  });
});

function stripNames(t: object): object {
  const walk = (v: unknown): unknown => {
    if (Array.isArray(v)) return v.map(walk);
    if (v && typeof v === 'object') {
      const o: Record<string, unknown> = {};
      for (const [k, x] of Object.entries(v as Record<string, unknown>)) if (k !== 'nameOff') o[k] = walk(x);
      return o;
    }
    return v;
  };
  return walk(t) as object;
}
