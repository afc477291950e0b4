// btf2btf and the profile table on small synthetic objects (test/helpers/elf-image.ts +
// BtfBuilder). The expectations are derived by hand from kernel 7.3's
// tools/bpf/resolve_btfids/main.c (collect_kfuncs, push_kfunc, btf2btf,
// process_kfunc_with_implicit_args, add_arena_tagged_proto); the bytes of real modules are
// compared with the real tool in test/golden/kernel73.test.ts.
import { describe, expect, it } from 'vitest';
import { Btf } from '../../../lib/btf/btf.js';
import { BtfBuilder } from '../../../lib/btf/builder.js';
import { BtfKind, BTF_INT_SIGNED } from '../../../lib/btf/kinds.js';
import { infoKflag } from '../../../lib/btf/wire.js';
import type { BtfType } from '../../../lib/btf/types.js';
import { BtfIdsError, scanBtfIds } from '../../../lib/btfids/index.js';
import { parseElf } from '../../../lib/elf/index.js';
import { SHT_PROGBITS } from '../../../lib/elf/constants.js';
import { btf2btf, KF_ARENA_ARG1, KF_ARENA_RET, KF_FASTCALL, KF_IMPLICIT_ARGS } from '../../../lib/pipeline/btf2btf.js';
import { kernel7Btf } from '../../../lib/pipeline/kernel7.js';
import { KERNEL_ABI_CHOICES, parseKernelAbi, pipelineProfile, profileForRelease } from '../../../lib/pipeline/profile.js';
import { buildElfImage, type ImageSymbol } from '../../helpers/elf-image.js';

const P73 = pipelineProfile('7.3');
const P72 = pipelineProfile('7.2');
const rules73 = P73.kfuncs!;

/** The base: int (1), struct bpf_prog_aux (2), struct obj (3), FUNC base_f (5) with proto (4). */
function baseBtf(): Btf {
  const b = new BtfBuilder();
  const int = b.addInt('int', 4, BTF_INT_SIGNED);
  b.addStruct('bpf_prog_aux', 8);
  b.addStruct('obj', 4);
  const proto = b.addFuncProto(int);
  b.addFunc('base_f', 1, proto);
  return b.build();
}

interface Split { btf: Btf; ids: Record<string, number> }

/** Module BTF over the base: kfuncs with prototypes that matter to each rule. */
function moduleBtf(base: Btf): Split {
  const b = new BtfBuilder({ base });
  const int = 1;
  const aux = 2;
  const obj = 3;
  const ptrObj = b.addPtr(obj);
  const ptrAux = b.addPtr(aux);
  const p1 = b.addFuncProto(int);
  b.addFuncParam('x', int);
  const kf_a = b.addFunc('kf_a', 1, p1);
  const kf_b = b.addFunc('kf_b', 1, p1);
  // KF_IMPLICIT_ARGS: (int a, struct bpf_prog_aux *aux) -> int
  const pImpl = b.addFuncProto(int);
  b.addFuncParam('a', int);
  b.addFuncParam('aux', ptrAux);
  const kf_impl = b.addFunc('kf_impl', 1, pImpl);
  // arena: struct obj *kf_arena(struct obj *p, int n, struct obj *q__arena)
  const pArena = b.addFuncProto(ptrObj);
  b.addFuncParam('p', ptrObj);
  b.addFuncParam('n', int);
  b.addFuncParam('q__arena', ptrObj);
  const kf_arena = b.addFunc('kf_arena', 1, pArena);
  const btf = b.build();
  return { btf, ids: { ptrObj, ptrAux, p1, kf_a, kf_b, pImpl, kf_impl, pArena, kf_arena } };
}

interface SetSpec { name: string; flags: number; pairs: { name: string | undefined; flags: number }[] }

/** An object whose .BTF_ids holds these set8s one after another (pristine: ids 0). */
function object(sets: SetSpec[]): Uint8Array {
  const words: number[] = [];
  const symbols: ImageSymbol[] = [];
  let n = 0;
  for (const s of sets) {
    const at = words.length * 4;
    symbols.push({ name: `__BTF_ID__set8__${s.name}`, value: BigInt(at), size: 8 + 8 * s.pairs.length, section: '.BTF_ids', type: 1 });
    words.push(0, s.flags);
    for (const p of s.pairs) {
      if (p.name !== undefined) symbols.push({ name: `__BTF_ID__func__${p.name}__${++n}`, value: BigInt(words.length * 4), size: 4, section: '.BTF_ids', type: 1 });
      words.push(0, p.flags);
    }
  }
  const data = new Uint8Array(words.length * 4);
  const dv = new DataView(data.buffer);
  words.forEach((w, i) => dv.setUint32(i * 4, w >>> 0, true));
  return buildElfImage({
    is64: true, littleEndian: true,
    sections: [{ name: '.text', type: SHT_PROGBITS, flags: 6, data: new Uint8Array([0xc3]), addralign: 16 }, { name: '.BTF_ids', type: SHT_PROGBITS, flags: 2, data, addralign: 4 }],
    symbols,
  }).bytes;
}

function run(sets: SetSpec[], rules = rules73, opts: { verbose?: number; skipRewritten?: boolean } = {}): { out: Btf | undefined; split: Split; r: ReturnType<typeof btf2btf> } {
  const base = baseBtf();
  const split = moduleBtf(base);
  const elf = parseElf(object(sets));
  const layout = scanBtfIds(elf, { abi: 7 }).layout!;
  const r = btf2btf(split.btf, layout, elf.sectionData(layout.section), rules, opts);
  return { out: r.bytes ? Btf.parse(r.bytes, { base }) : undefined, split, r };
}

/** The types btf2btf appended, decoded. */
function added(out: Btf, split: Split): BtfType[] {
  const from = split.btf.typeCount;
  return Array.from({ length: out.typeCount - from }, (_, i) => out.type(from + i));
}

const tag = (out: Btf, t: BtfType): [string, number] => {
  if (t.kind !== BtfKind.DeclTag) throw new Error(`not a decl tag: kind ${t.kind}`);
  return [out.str(t.nameOff), t.type];
};

describe('profiles: one table, picked by VERSION.PATCHLEVEL', () => {
  it('6.x, 7.0-7.2, 7.3; 7.4 and 8.0 are newer than every profile; no version: unknown', () => {
    const name = (r: string): string => { const c = profileForRelease(r); return c.kind === 'known' ? c.profile.name : c.kind; };
    expect(name('6.12.107+deb12-amd64')).toBe('6');
    expect(name('6.1.0-28-amd64')).toBe('6');
    expect(name('7.0.5')).toBe('7.2');
    expect(name('7.2.13+deb14-amd64')).toBe('7.2');
    expect(name('7.3-amd64')).toBe('7.3');
    expect(name('7.3.12+deb14-cloud-amd64')).toBe('7.3');
    expect(name('7.4.0')).toBe('newer');
    expect(name('7.10.1')).toBe('newer');
    expect(name('8.0-rc1')).toBe('newer');
    expect(name('linux')).toBe('unknown');
    const c = profileForRelease('7.4.0');
    expect(c.kind === 'newer' && c.newest.name).toBe('7.3');
  });

  it('--kernel-abi: 6, 7.2, 7.3, and 7 meaning 7.2', () => {
    expect(KERNEL_ABI_CHOICES).toEqual(['6', '7.2', '7.3', '7']);
    expect(['6', '7', '7.2', '7.3', '7.4', ''].map(parseKernelAbi)).toEqual(['6', '7.2', '7.2', '7.3', undefined, undefined]);
    expect(P73).toMatchObject({ abi: 7, dedup: 'fixed', sortByName: true, newBtfHeaderLen: 32, kfuncs: { source: 'set8', declTags: true, arena: true, implLookup: 'own' } });
    expect(P72).toMatchObject({ abi: 7, dedup: undefined, kfuncs: { source: 'decl-tags', declTags: false, arena: false, implLookup: 'all' } });
  });
});

describe('7.3 btf2btf: kfuncs from BTF_SET8_KFUNCS sets', () => {
  it('every kfunc once, in BTF id order: a bpf_kfunc decl tag, bpf_fastcall for KF_FASTCALL; a non-kfunc set8 is ignored', () => {
    const { out, split, r } = run([
      { name: 'zz_set', flags: 1, pairs: [{ name: 'kf_b', flags: KF_FASTCALL }, { name: 'kf_a', flags: 0 }] },
      { name: 'aa_set', flags: 1, pairs: [{ name: 'kf_a', flags: 0 }] },
      { name: 'mm_other', flags: 0, pairs: [{ name: 'kf_impl', flags: KF_IMPLICIT_ARGS }] },
    ], rules73, { verbose: 1 });
    expect(r.warnings).toBe(0);
    // Sets in descending name order: zz_set, then aa_set (kf_a again, same flags: counted once).
    expect(r.diagnostics.map((d) => d.message)).toEqual(['found kfunc kf_b in zz_set', 'found kfunc kf_a in zz_set', 'found kfunc kf_a in aa_set']);
    const a = added(out!, split);
    expect(a.map((t) => tag(out!, t))).toEqual([['bpf_kfunc', split.ids['kf_a']], ['bpf_kfunc', split.ids['kf_b']], ['bpf_fastcall', split.ids['kf_b']]]);
    for (const t of a) expect(t.kind === BtfKind.DeclTag && t.componentIdx).toBe(-1);
  });

  it('the same kfunc with other flags in another set: resolve_btfids\' two error lines, nothing written', () => {
    let err: unknown;
    try {
      run([{ name: 'b_set', flags: 1, pairs: [{ name: 'kf_a', flags: 0x20 }] }, { name: 'a_set', flags: 1, pairs: [{ name: 'kf_a', flags: 0x1 }] }]);
    } catch (e: unknown) { err = e; }
    expect(err).toBeInstanceOf(BtfIdsError);
    const e = err as BtfIdsError;
    expect(e.code).toBe('BTFIDS_KFUNC_FLAGS');
    expect([...e.diagnostics.map((d) => d.message), e.stderrText]).toEqual([
      'ERROR: resolve_btfids: kfunc kf_a has inconsistent flags across BTF ID sets: 0x20 != 0x1',
      'ERROR: resolve_btfids: failed to collect kfuncs from BTF',
    ]);
  });

  it('a pair without a symbol and a name that is no FUNC of the module: warnings, counted', () => {
    const { out, split, r } = run([{ name: 's', flags: 1, pairs: [{ name: 'kf_a', flags: 0 }, { name: undefined, flags: 0 }, { name: 'base_f', flags: 0 }, { name: 'nope', flags: 0 }] }]);
    expect(r.diagnostics.map((d) => d.message)).toEqual([
      'WARN: resolve_btfids: no BTF ID symbol for s entry 1',
      'WARN: resolve_btfids: no BTF func for kfunc base_f in s',
      'WARN: resolve_btfids: no BTF func for kfunc nope in s',
    ]);
    expect(r.warnings).toBe(3);
    expect(added(out!, split).map((t) => tag(out!, t))).toEqual([['bpf_kfunc', split.ids['kf_a']]]);
  });

  it('KF_IMPLICIT_ARGS: `_impl` looked for among the module\'s own types (7.3), base included (7.2)', () => {
    const base = new BtfBuilder();
    const int = base.addInt('int', 4, BTF_INT_SIGNED);
    base.addStruct('bpf_prog_aux', 8);
    const bp = base.addFuncProto(int);
    base.addFunc('kf_impl_impl', 1, bp); // in vmlinux
    const vm = base.build();
    const b = new BtfBuilder({ base: vm });
    const ptrAux = b.addPtr(2);
    const p = b.addFuncProto(int);
    b.addFuncParam('a', int);
    b.addFuncParam('aux', ptrAux);
    const kf = b.addFunc('kf_impl', 1, p);
    const split = b.build();
    const elf = parseElf(object([{ name: 's', flags: 1, pairs: [{ name: 'kf_impl', flags: KF_IMPLICIT_ARGS }] }]));
    const layout = scanBtfIds(elf, { abi: 7 }).layout!;
    const r73 = btf2btf(split, layout, elf.sectionData(layout.section), rules73, { verbose: 1 });
    const out73 = Btf.parse(r73.bytes!, { base: vm });
    const kinds73 = Array.from({ length: out73.typeCount - split.typeCount }, (_, i) => out73.type(split.typeCount + i).kind);
    // bpf_kfunc tag, then FUNC kf_impl_impl (own lookup fails: the base's does not count), new proto.
    expect(kinds73).toEqual([BtfKind.DeclTag, BtfKind.Func, BtfKind.FuncProto]);
    expect(out73.str(out73.type(split.typeCount + 1).nameOff)).toBe('kf_impl_impl');
    const f = out73.type(kf);
    expect(f.kind === BtfKind.Func && f.type).toBe(split.typeCount + 2);
    const np = out73.type(split.typeCount + 2);
    expect(np.kind === BtfKind.FuncProto && np.params.map((x) => out73.str(x.nameOff))).toEqual(['a']);
    // 7.2's rule finds the base's kf_impl_impl ("already exists") and adds only the proto.
    const tagged = new BtfBuilder({ base: vm });
    const ptrAux2 = tagged.addPtr(2);
    const p2 = tagged.addFuncProto(int);
    tagged.addFuncParam('a', int);
    tagged.addFuncParam('aux', ptrAux2);
    const kf2 = tagged.addFunc('kf_impl', 1, p2);
    tagged.addDeclTag('bpf_kfunc', kf2, -1);
    const split72 = tagged.build();
    const r72 = btf2btf(split72, layout, elf.sectionData(layout.section), P72.kfuncs!, { verbose: 1 });
    expect(r72.diagnostics.map((d) => d.message)).toContain('resolve_btfids: function kf_impl_impl already exists in BTF');
    const out72 = Btf.parse(r72.bytes!, { base: vm });
    expect(out72.typeCount - split72.typeCount).toBe(1);
  });

  it('arena: KF_ARENA_RET, KF_ARENA_ARG1 and a `__arena` parameter point through address_space(1) in a new prototype', () => {
    const { out, split, r } = run([{ name: 's', flags: 1, pairs: [{ name: 'kf_arena', flags: KF_ARENA_RET | KF_ARENA_ARG1 }] }], rules73, { verbose: 1 });
    const a = added(out!, split);
    // tag; ret: TYPE_TAG, PTR; the proto; p: TYPE_TAG, PTR; q__arena: TYPE_TAG, PTR.
    expect(a.map((t) => t.kind)).toEqual([BtfKind.DeclTag, BtfKind.TypeTag, BtfKind.Ptr, BtfKind.FuncProto, BtfKind.TypeTag, BtfKind.Ptr, BtfKind.TypeTag, BtfKind.Ptr]);
    const id = (i: number): number => split.btf.typeCount + i;
    for (const i of [1, 4, 6]) {
      const t = a[i]!;
      expect(t.kind === BtfKind.TypeTag && [out!.str(t.nameOff), infoKflag(t.info), t.type]).toEqual(['address_space(1)', true, 3]);
      const ptr = a[i + 1]!;
      expect(ptr.kind === BtfKind.Ptr && ptr.type).toBe(id(i));
    }
    const proto = a[3]!;
    if (proto.kind !== BtfKind.FuncProto) throw new Error('no proto');
    expect(proto.type).toBe(id(2));
    expect(proto.params.map((p) => [out!.str(p.nameOff), p.type])).toEqual([['p', id(5)], ['n', 1], ['q__arena', id(7)]]);
    const f = out!.type(split.ids['kf_arena']!);
    expect(f.kind === BtfKind.Func && f.type).toBe(id(3));
    expect(r.diagnostics.map((d) => d.message)).toContain(`added arena-tagged proto for kfunc kf_arena: ${id(3)}`);
  });

  it('arena type is not a pointer: the tool\'s error', () => {
    let err: unknown;
    try {
      // ARG2 would name `n` (int); KF_ARENA_ARG2 = 1 << 15.
      run([{ name: 's', flags: 1, pairs: [{ name: 'kf_arena', flags: 1 << 15 }] }]);
    } catch (e: unknown) { err = e; }
    expect(err).toBeInstanceOf(BtfIdsError);
    expect((err as BtfIdsError).code).toBe('BTFIDS_ARENA_NOT_POINTER');
    expect((err as BtfIdsError).stderrText).toBe('ERROR: resolve_btfids: kfunc kf_arena: arena type is not a pointer');
  });

  it('finalize on its own output (rerunSafe) changes nothing: arena pointers are not wrapped twice, strings stay in their order', () => {
    const base = baseBtf();
    const split = moduleBtf(base);
    const elf = parseElf(object([{ name: 's', flags: 1, pairs: [{ name: 'kf_arena', flags: KF_ARENA_RET | KF_ARENA_ARG1 }, { name: 'kf_impl', flags: KF_IMPLICIT_ARGS | KF_FASTCALL }, { name: 'kf_a', flags: 0 }] }]));
    const once = kernel7Btf(elf, scanBtfIds(elf, { abi: 7 }), split.btf, base, { profile: P73, distill: false, rerunSafe: true });
    const again = kernel7Btf(elf, scanBtfIds(elf, { abi: 7 }), Btf.parse(once.btf, { base }), base, { profile: P73, distill: false, rerunSafe: true });
    expect(Buffer.compare(Buffer.from(again.btf), Buffer.from(once.btf))).toBe(0);
    // resolve_btfids 7.3 itself (no rerunSafe) deduplicates again: (without arena kfuncs) the
    // same types, the strings in first-use order of the sorted types, so other bytes.
    const plain = parseElf(object([{ name: 's', flags: 1, pairs: [{ name: 'kf_b', flags: KF_FASTCALL }, { name: 'kf_a', flags: 0 }] }]));
    const first = kernel7Btf(plain, scanBtfIds(plain, { abi: 7 }), split.btf, base, { profile: P73, distill: false });
    const tool = kernel7Btf(plain, scanBtfIds(plain, { abi: 7 }), Btf.parse(first.btf, { base }), base, { profile: P73, distill: false });
    expect(Buffer.compare(Buffer.from(tool.btf), Buffer.from(first.btf))).not.toBe(0);
    expect(tool.btf.length).toBe(first.btf.length);
    const safe = kernel7Btf(plain, scanBtfIds(plain, { abi: 7 }), Btf.parse(first.btf, { base }), base, { profile: P73, distill: false, rerunSafe: true });
    expect(Buffer.compare(Buffer.from(safe.btf), Buffer.from(first.btf))).toBe(0);
    // Without the guard the second run nests a second address_space(1) tag.
    const nested = btf2btf(Btf.parse(once.btf, { base }), scanBtfIds(elf, { abi: 7 }).layout, elf.sectionData(elf.sectionByName('.BTF_ids')!), rules73);
    const out = Btf.parse(nested.bytes!, { base });
    let tags = 0;
    for (let i = once.final.typeCount; i < out.typeCount; i++) if (out.kind(i) === BtfKind.TypeTag) tags++;
    expect(tags).toBe(3);
  });
});
