// Properties of distill + relocate on random, seeded BTF made with the builder:
//  - relocating a distilled pair onto the base it came from, then distilling that
//    again, gives back the same bytes (libbpf has the same property on all 4229
//    Debian modules, see the golden README);
//  - relocation output is valid BTF;
//  - a renumbered base with extra types, or with pointer-only structs resized, still
//    relocates, and every reference lands on a type of the same name and kind;
//  - resizing a struct the module embeds by value fails, naming that struct.
import { describe, expect, it } from 'vitest';
import { Btf } from '../../lib/btf/btf.js';
import { BtfBuilder } from '../../lib/btf/builder.js';
import { forEachTypeRef } from '../../lib/btf/fields.js';
import { BTF_INT_SIGNED, BtfKind } from '../../lib/btf/kinds.js';
import { validateBtf } from '../../lib/btf/validate.js';
import { distill } from '../../lib/distill/index.js';
import { tryRelocate } from '../../lib/relocate/index.js';
import { mulberry32 } from '../helpers/prng.js';

const prng = mulberry32;

/** Abstract base: named structs with int, pointer and embedded-struct members. */
interface SpecStruct { name: string; members: { name: string; ref: { int: number } | { ptrTo: number } | { embed: number } }[] }
interface Spec { structs: SpecStruct[]; typedefs: { name: string; struct: number }[]; enums: string[] }

const INTS: [string, number][] = [['int', 4], ['long int', 8], ['char', 1]];

function randomSpec(rnd: () => number, n: number): Spec {
  const structs: SpecStruct[] = [];
  for (let i = 0; i < n; i++) {
    const members: SpecStruct['members'] = [];
    const count = 1 + Math.floor(rnd() * 4);
    for (let m = 0; m < count; m++) {
      const r = rnd();
      // Embedding only earlier structs keeps the graph acyclic, as C requires.
      const ref = r < 0.4 || i === 0 ? { int: Math.floor(rnd() * INTS.length) } : r < 0.7 ? { ptrTo: Math.floor(rnd() * n) } : { embed: Math.floor(rnd() * i) };
      members.push({ name: `m${m}`, ref });
    }
    structs.push({ name: `s${i}`, members });
  }
  const typedefs = Array.from({ length: Math.floor(n / 3) }, (_, i) => ({ name: `t${i}`, struct: Math.floor(rnd() * n) }));
  return { structs, typedefs, enums: Array.from({ length: 2 }, (_, i) => `e${i}`) };
}

interface Emitted { btf: Btf; structId: number[]; typedefId: number[]; intId: number[]; enumId: number[] }

/**
 * Writes the spec into a builder. `order` shuffles struct emission, `extra` adds
 * unrelated types first (renumbering everything), `sizeDelta` grows given structs.
 */
function emitBase(spec: Spec, opts: { shuffle?: () => number; extra?: number; sizeDelta?: Map<number, number> } = {}): Emitted {
  const b = new BtfBuilder();
  for (let i = 0; i < (opts.extra ?? 0); i++) b.addStruct(`unrelated${i}`, 8 * (i + 1));
  const intId = INTS.map(([name, size]) => b.addInt(name, size, BTF_INT_SIGNED));
  const n = spec.structs.length;
  const order = Array.from({ length: n }, (_, i) => i);
  if (opts.shuffle) for (let i = n - 1; i > 0; i--) { const j = Math.floor(opts.shuffle() * (i + 1)); [order[i], order[j]] = [order[j] as number, order[i] as number]; }
  // Ids are known before emission: pointers first, then structs in `order`.
  const ptrId = order.map(() => 0);
  const structId: number[] = new Array<number>(n).fill(0);
  let next = b.nextId;
  for (let i = 0; i < n; i++) ptrId[i] = next++;
  for (const i of order) structId[i] = next++;
  for (let i = 0; i < n; i++) b.addPtr(structId[i] as number);
  const sizes: number[] = new Array<number>(n).fill(0);
  const sizeOf = (i: number): number => {
    if (sizes[i]) return sizes[i] as number;
    let s = 0;
    for (const m of spec.structs[i]!.members) {
      s += 'int' in m.ref ? 8 : 'ptrTo' in m.ref ? 8 : sizeOf(m.ref.embed);
    }
    sizes[i] = s + (opts.sizeDelta?.get(i) ?? 0);
    return sizes[i] as number;
  };
  for (const i of order) {
    const st = spec.structs[i]!;
    b.addStruct(st.name, sizeOf(i));
    let off = 0;
    for (const m of st.members) {
      const t = 'int' in m.ref ? intId[m.ref.int]! : 'ptrTo' in m.ref ? ptrId[m.ref.ptrTo]! : structId[m.ref.embed]!;
      b.addField(m.name, t, off * 8);
      off += 'embed' in m.ref ? sizeOf(m.ref.embed) : 8;
    }
  }
  const typedefId = spec.typedefs.map((t) => b.addTypedef(t.name, structId[t.struct] as number));
  const enumId = spec.enums.map((e) => { const id = b.addEnum(e, 4); b.addEnumValue(`${e.toUpperCase()}_A`, 1); return id; });
  return { btf: b.build(), structId, typedefId, intId, enumId };
}

/** A module over `base`: embeds some structs, points to others, uses typedefs and enums. */
function emitModule(rnd: () => number, spec: Spec, base: Emitted): { split: Btf; embedded: number[] } {
  const b = new BtfBuilder({ base: base.btf });
  const n = spec.structs.length;
  const embedded: number[] = [];
  const picks = Array.from({ length: 3 }, () => Math.floor(rnd() * n));
  const ptrs = picks.map((i) => b.addPtr(base.structId[i] as number));
  const tdPtr = spec.typedefs.length > 0 ? b.addPtr(base.typedefId[0] as number) : undefined;
  const emb = Math.floor(rnd() * n);
  embedded.push(emb);
  const off = base.btf.sizeOrType(base.structId[emb] as number);
  const mine = b.addStruct('module_state', off + 80);
  b.addField('inner', base.structId[emb] as number, 0);
  ptrs.forEach((p, k) => { b.addField(`p${k}`, p, (off + k * 8) * 8); });
  if (tdPtr !== undefined) b.addField('td', tdPtr, (off + 64) * 8);
  b.addField('mode', base.enumId[0] as number, (off + 72) * 8);
  const minePtr = b.addPtr(mine);
  const proto = b.addFuncProto(base.intId[0] as number);
  b.addFuncParam('st', minePtr);
  b.addFunc('module_init_fn', 1, proto);
  return { split: b.build(), embedded };
}

function reparse(d: ReturnType<typeof distill>): { base: Btf; split: Btf } {
  const base = Btf.parse(d.base);
  return { base, split: Btf.parse(d.split, { base }) };
}

/** Names/kinds each split record refers to in the base, in field order. */
function baseRefs(split: Btf): string[] {
  const out: string[] = [];
  for (const t of split.ownTypes()) {
    forEachTypeRef(t, (id) => {
      if (id > 0 && id < split.startId) out.push(`${split.kind(id) === BtfKind.Fwd ? 'fwd' : 'type'}:${split.name(id)}`);
    });
  }
  return out;
}

describe.each(Array.from({ length: 25 }, (_, i) => i + 1))('seed %i', (seed) => {
  const rnd = prng(seed);
  const spec = randomSpec(rnd, 6 + Math.floor(rnd() * 10));
  const base = emitBase(spec);
  const { split, embedded } = emitModule(rnd, spec, base);
  const d = distill(base.btf, split);
  const pair = reparse(d);

  it('relocate onto the original base, distill again: same bytes; output valid', () => {
    const r = tryRelocate(pair.base, pair.split, base.btf);
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    const relocated = Btf.parse(r.split, { base: base.btf });
    expect(validateBtf(relocated).map((e) => e.describe())).toEqual([]);
    const again = distill(base.btf, relocated);
    expect(Buffer.from(again.base)).toEqual(Buffer.from(d.base));
    expect(Buffer.from(again.split)).toEqual(Buffer.from(d.split));
  });

  it('a renumbered base with extra types relocates, references keep their names', () => {
    const moved = emitBase(spec, { shuffle: prng(seed * 7919), extra: 1 + (seed % 5) });
    const r = tryRelocate(pair.base, pair.split, moved.btf);
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    const relocated = Btf.parse(r.split, { base: moved.btf });
    expect(validateBtf(relocated).map((e) => e.describe())).toEqual([]);
    expect(baseRefs(relocated)).toEqual(baseRefs(pair.split));
  });

  it('resizing structs the module only points to does not matter', () => {
    const delta = new Map<number, number>();
    const embeddedClosure = new Set<number>();
    const close = (i: number): void => {
      if (embeddedClosure.has(i)) return;
      embeddedClosure.add(i);
      for (const m of spec.structs[i]!.members) if ('embed' in m.ref) close(m.ref.embed);
    };
    embedded.forEach(close);
    spec.structs.forEach((_, i) => { if (!embeddedClosure.has(i)) delta.set(i, 8); });
    const resized = emitBase(spec, { sizeDelta: delta });
    expect(tryRelocate(pair.base, pair.split, resized.btf).ok).toBe(true);
  });

  it('resizing the struct the module embeds fails, naming it', () => {
    const emb = embedded[0] as number;
    const resized = emitBase(spec, { sizeDelta: new Map([[emb, 8]]) });
    const r = tryRelocate(pair.base, pair.split, resized.btf);
    expect(r.ok).toBe(false);
    if (r.ok) return;
    const names = r.failure.failures.map((f) => `${f.code} ${f.typeName ?? ''}`);
    expect(names).toContain(`RELOC_SIZE_MISMATCH ${spec.structs[emb]!.name}`);
  });
});
