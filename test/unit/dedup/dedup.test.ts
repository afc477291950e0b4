/**
 * dedupBtf() on hand-made BTF. Each expected result was worked out by hand from libbpf's
 * btf__dedup() phases (src/btf.c): strings in first-use order, primitive types, the
 * struct/typedef graph comparison, FWD resolution, reference types, compaction. The golden
 * test (test/golden/dedup.test.ts) compares with libbpf's own bytes on the same and bigger
 * inputs.
 */
import { describe, expect, it } from 'vitest';
import { Btf } from '../../../lib/btf/btf.js';
import { BTF_INT_SIGNED, kindName } from '../../../lib/btf/kinds.js';
import { dedupBtf, DedupError } from '../../../lib/dedup/index.js';
import { splitOver, standalone, strtab } from '../../helpers/btf-encode.js';

function types(bytes: Uint8Array, base?: Btf): string[] {
  const b = Btf.parse(bytes, base ? { base } : {});
  const out: string[] = [];
  for (const t of b.ownTypes()) {
    const name = b.name(t.id);
    const ref = 'type' in t ? ` -> ${t.type}` : '';
    const members = 'members' in t ? ` {${t.members.map((m) => `${b.str(m.nameOff)}: ${m.type}`).join(', ')}}` : '';
    out.push(`[${t.id}] ${kindName(t.kind)} '${name}'${ref}${members}`);
  }
  return out;
}

describe('dedupBtf, standalone', () => {
  // [1] INT int, [2] STRUCT s {a: 1}, [3] PTR -> 2, [4] INT int, [5] STRUCT s {a: 4}, [6] PTR -> 5
  const input = standalone((e) => {
    e.int('int', 4, BTF_INT_SIGNED);
    e.struct('s', 4, [['a', 1, 0]]);
    e.ptr(2);
    e.int('int', 4, BTF_INT_SIGNED);
    e.struct('s', 4, [['a', 4, 0]]);
    e.ptr(5);
  });

  it('merges a second copy of a small graph into the first (both behaviours)', () => {
    for (const behaviour of ['1.7.0', 'fixed'] as const) {
      const r = dedupBtf(input, { behaviour });
      expect(types(r.bytes)).toEqual(["[1] INT 'int'", "[2] STRUCT 's' {a: 1}", "[3] PTR '' -> 2"]);
      // INT 4 -> 1 (primitive phase), STRUCT 5 -> 2 (graphs equal), PTR 6 -> 3 (same target after 5 -> 2).
      expect([...r.idMap]).toEqual([0, 1, 2, 3, 1, 2, 3]);
      expect(r.typeCount).toBe(3);
      // Strings in first-use order, the empty string first (standalone).
      expect(Buffer.from(Btf.parse(r.bytes).strings)).toEqual(Buffer.from(strtab('', 'int', 's', 'a')));
    }
  });

  it('resolves an unambiguous FWD to the struct of its name (btf_dedup_resolve_fwds)', () => {
    const btf = standalone((e) => {
      e.int('int', 4, BTF_INT_SIGNED);
      e.struct('foo', 4, [['x', 1, 0]]);
      e.fwd('foo');
      e.ptr(3);
    });
    const r = dedupBtf(btf, { behaviour: 'fixed' });
    expect(types(r.bytes)).toEqual(["[1] INT 'int'", "[2] STRUCT 'foo' {x: 1}", "[3] PTR '' -> 2"]);
  });

  it('keeps a FWD whose name two different structs share', () => {
    const btf = standalone((e) => {
      e.int('int', 4, BTF_INT_SIGNED);
      e.struct('foo', 4, [['x', 1, 0]]);
      e.struct('foo', 8, [['y', 1, 0]]);
      e.fwd('foo');
    });
    const r = dedupBtf(btf, { behaviour: 'fixed' });
    expect(types(r.bytes)).toEqual(["[1] INT 'int'", "[2] STRUCT 'foo' {x: 1}", "[3] STRUCT 'foo' {y: 1}", "[4] FWD 'foo'"]);
  });

  it('fails with ELOOP on a reference loop without a struct (btf_dedup_ref_type)', () => {
    const btf = standalone((e) => {
      e.ptr(2);
      e.const(1);
    });
    let err: unknown;
    try { dedupBtf(btf, { behaviour: 'fixed' }); } catch (e) { err = e; }
    expect(err).toBeInstanceOf(DedupError);
    expect((err as DedupError).code).toBe('DEDUP_LOOP');
    expect((err as DedupError).errno).toBe('ELOOP');
    expect((err as DedupError).typeId).toBe(1);
  });
});

describe('dedupBtf, split over a base', () => {
  // Base: [1] INT 'unsigned int', [2] TYPEDEF 'u32' -> 1.
  const base = standalone((e) => {
    e.int('unsigned int', 4);
    e.typedef('u32', 1);
  });
  // Split: [3] INT 'unsigned int', [4] TYPEDEF 'u32' -> 3, [5] PTR -> 4.
  const split = splitOver(base, (e) => {
    e.int('unsigned int', 4);
    e.typedef('u32', 3);
    e.ptr(4);
  });

  it('fixed libbpf: the typedef finds the base typedef (hashed alike in prep and lookup)', () => {
    const r = dedupBtf(split, { behaviour: 'fixed' });
    expect(types(r.bytes, base)).toEqual(["[3] PTR '' -> 2"]);
    expect([...r.idMap]).toEqual([0, 1, 2, 1, 2, 3]);
    // Every name is the base's: the split keeps no string of its own.
    expect(Btf.parse(r.bytes, { base }).header.strLen).toBe(0);
  });

  it('libbpf 1.7.0: the typedef stays (base typedefs hashed with their target id, split ones without)', () => {
    const r = dedupBtf(split, { behaviour: '1.7.0' });
    expect(types(r.bytes, base)).toEqual(["[3] TYPEDEF 'u32' -> 1", "[4] PTR '' -> 3"]);
    expect([...r.idMap]).toEqual([0, 1, 2, 1, 3, 4]);
  });

  it('drops unused split strings and points names the base has at the base', () => {
    // The own section holds 'junk' (unused) before 'mine'; 'unsigned int' is the base's.
    const s = splitOver(base, (e) => {
      e.str('junk');
      e.struct('mine', 4, [['unsigned int', 1, 0]]);
    });
    const r = dedupBtf(s, { behaviour: 'fixed' });
    const out = Btf.parse(r.bytes, { base });
    expect(Buffer.from(out.strings)).toEqual(Buffer.from(strtab('mine')));
    expect(types(r.bytes, base)).toEqual(["[3] STRUCT 'mine' {unsigned int: 1}"]);
  });
});
