// .BTF_ids resolution, remapping and the written object, on small synthetic objects
// (test/helpers/elf-image.ts + BtfBuilder), independent of the golden files.
import { describe, expect, it } from 'vitest';
import { Btf } from '../../../lib/btf/btf.js';
import { BtfBuilder } from '../../../lib/btf/builder.js';
import { BTF_INT_SIGNED } from '../../../lib/btf/kinds.js';
import { distill } from '../../../lib/distill/index.js';
import { parseElf, type ElfFile } from '../../../lib/elf/index.js';
import { EM_PPC64, SHT_PROGBITS } from '../../../lib/elf/constants.js';
import {
  BtfIdsError, alignmentFixImage, elfUpdateImage, libbpfParseFile, libelfOutcome, remapBtfIds,
  resolveBtfIds, scanBtfIds, type ResolveResult,
} from '../../../lib/btfids/index.js';
import { buildElfImage, type ImageSection, type ImageSymbol } from '../../helpers/elf-image.js';

interface Obj {
  le?: boolean;
  is64?: boolean;
  btf?: Uint8Array;
  ids: number[];
  symbols: { name: string; at: number; size?: number }[];
  sections?: ImageSection[];
  trailer?: Uint8Array;
  idsAlign?: number;
}

function words(values: readonly number[], le: boolean): Uint8Array {
  const out = new Uint8Array(values.length * 4);
  const dv = new DataView(out.buffer);
  values.forEach((v, i) => dv.setUint32(i * 4, v >>> 0, le));
  return out;
}

function object(o: Obj): Uint8Array {
  const le = o.le ?? true;
  const is64 = o.is64 ?? true;
  const sections: ImageSection[] = [
    { name: '.text', type: SHT_PROGBITS, flags: 6, data: new Uint8Array([0xc3]), addralign: 16 },
    { name: '.BTF_ids', type: SHT_PROGBITS, flags: 2, data: words(o.ids, le), addralign: o.idsAlign ?? 4 },
    ...(o.btf ? [{ name: '.BTF', type: SHT_PROGBITS, data: o.btf, addralign: 1 }] : []),
    ...(o.sections ?? []),
  ];
  const symbols: ImageSymbol[] = o.symbols.map((s) => ({ name: s.name, value: BigInt(s.at), size: s.size ?? 4, section: '.BTF_ids', type: 1 }));
  const spec = { is64, littleEndian: le, sections, symbols, ...(le ? {} : { machine: EM_PPC64 }), ...(o.trailer ? { trailer: o.trailer } : {}) };
  return buildElfImage(spec).bytes;
}

function sectionWords(r: ResolveResult, le = true): number[] {
  const dv = new DataView(r.sectionBytes.buffer, r.sectionBytes.byteOffset, r.sectionBytes.byteLength);
  return Array.from({ length: r.sectionBytes.length / 4 }, (_, i) => dv.getUint32(i * 4, le));
}

/** int, then functions f1, f2, f3 (ids 3, 4, 5), struct s (6). */
function funcsBtf(le = true): { bytes: Uint8Array; ids: Record<string, number> } {
  const b = new BtfBuilder({ littleEndian: le });
  const int = b.addInt('int', 4, BTF_INT_SIGNED);
  const proto = b.addFuncProto(int);
  const f1 = b.addFunc('f1', 1, proto);
  const f2 = b.addFunc('f2', 1, proto);
  const f3 = b.addFunc('f3', 1, proto);
  const s = b.addStruct('s', 4);
  return { bytes: b.toBytes(), ids: { f1, f2, f3, s } };
}

/** A BTF_KFUNCS set8 "ks" at 0 with pairs f3 (0x10), f1 (0x20), f2 (0x40), then a list slot for struct s. */
function kfuncObject(le = true, extra: number[] = []): { bytes: Uint8Array; ids: Record<string, number> } {
  const btf = funcsBtf(le);
  const bytes = object({
    le,
    btf: btf.bytes,
    ids: [0, 1, 0, 0x10, 0, 0x20, 0, 0x40, 0, ...extra],
    symbols: [
      { name: '__BTF_ID__set8__ks', at: 0, size: 32 },
      { name: '__BTF_ID__func__f3__1', at: 8 },
      { name: '__BTF_ID__func__f1__2', at: 16 },
      { name: '__BTF_ID__func__f2__3', at: 24 },
      { name: '__BTF_ID__struct__s__4', at: 32 },
    ],
  });
  return { bytes, ids: btf.ids };
}

function resolveFile(bytes: Uint8Array, opts: Parameters<typeof resolveBtfIds>[2] = {}): { elf: ElfFile; r: ResolveResult; written: Uint8Array } {
  const elf = parseElf(bytes, { file: 'obj.o' });
  const sec = elf.sectionByName('.BTF')!;
  const btf = Btf.parse(elf.sectionData(sec));
  const r = resolveBtfIds(elf, btf, opts);
  const written = elfUpdateImage(elf, r.section ? [{ section: r.section, bytes: r.sectionBytes }] : [], r.alignmentFixes);
  return { elf, r, written };
}

describe('set8: flags travel with their ids', () => {
  it('sorts pairs by id, keeps the header flags and each function\'s own KF_ flags', () => {
    const { bytes, ids } = kfuncObject();
    const { r } = resolveFile(bytes);
    expect(sectionWords(r)).toEqual([3, 1, ids.f1, 0x20, ids.f2, 0x40, ids.f3, 0x10, ids.s]);
    expect(r.diagnostics).toEqual([]);
  });

  it('running twice changes nothing (the first output is recognised); resolve_btfids\' behaviour scrambles the flags', () => {
    const { bytes, ids } = kfuncObject();
    const once = resolveFile(bytes).written;
    const again = resolveFile(once);
    expect(again.r.recovered).toBe(true);
    expect(again.r.changed).toBe(false);
    expect(again.written).toEqual(once);
    const tool = resolveFile(once, { recoverResolved: false });
    expect(sectionWords(tool.r)).toEqual([3, 1, ids.f1, 0x40, ids.f2, 0x10, ids.f3, 0x20, ids.s]);
  });

  it('resolved before against other BTF: the flags cannot be matched again, and a warning says so', () => {
    const { bytes } = kfuncObject();
    const once = parseElf(resolveFile(bytes).written);
    const b = new BtfBuilder();
    const int = b.addInt('int', 4, BTF_INT_SIGNED);
    b.addStruct('pad', 4); // shifts every id by one
    const proto = b.addFuncProto(int);
    for (const f of ['f1', 'f2', 'f3']) b.addFunc(f, 1, proto);
    const r = resolveBtfIds(once, b.build());
    expect(r.recovered).toBe(false);
    expect(r.diagnostics.filter((d) => d.code === 'BTFIDS_SET8_FLAGS_LOST').map((d) => d.symbol)).toEqual(['ks']);
  });

  it('equal ids keep their order (unresolved pairs with different flags)', () => {
    const btf = funcsBtf();
    const bytes = object({
      btf: btf.bytes,
      ids: [0, 1, 0, 0xa1, 0, 0xa2, 0, 0xa3],
      symbols: [
        { name: '__BTF_ID__set8__k', at: 0, size: 32 },
        { name: '__BTF_ID__func__gone1__1', at: 8 },
        { name: '__BTF_ID__func__f2__2', at: 16 },
        { name: '__BTF_ID__func__gone2__3', at: 24 },
      ],
    });
    const { r } = resolveFile(bytes);
    expect(sectionWords(r)).toEqual([3, 1, 0, 0xa1, 0, 0xa3, btf.ids.f2, 0xa2]);
    expect(r.diagnostics.map((d) => d.message)).toEqual(['WARN: resolve_btfids: unresolved symbol gone2', 'WARN: resolve_btfids: unresolved symbol gone1']);
  });

  it('big-endian ELF64: ids and counts big-endian, set8 flags kept, a stray word comes out byte-swapped (as libelf leaves it)', () => {
    const { bytes, ids } = kfuncObject(false, [0x11223344]);
    const { r } = resolveFile(bytes);
    expect(sectionWords(r, false)).toEqual([3, 1, ids.f1, 0x20, ids.f2, 0x40, ids.f3, 0x10, ids.s, 0x44332211]);
    // The recovery works in the object's byte order too.
    const again = resolveFile(resolveFile(bytes).written);
    expect(again.r.recovered).toBe(true);
    expect(sectionWords(again.r, false).slice(0, 9)).toEqual([3, 1, ids.f1, 0x20, ids.f2, 0x40, ids.f3, 0x10, ids.s]);
  });
});

describe('name resolution choices', () => {
  const dupBtf = (): Uint8Array => {
    const b = new BtfBuilder();
    b.addInt('int', 4, BTF_INT_SIGNED);
    b.addStruct('dup', 4); // 2
    b.addStruct('dup', 8); // 3
    return b.toBytes();
  };
  it('lowest id wins; later copies are warned about only while the kind\'s counter is non-zero', () => {
    const quiet = resolveFile(object({ btf: dupBtf(), ids: [0], symbols: [{ name: '__BTF_ID__struct__dup__1', at: 0 }] }));
    expect(sectionWords(quiet.r)).toEqual([2]);
    expect(quiet.r.diagnostics).toEqual([]);
    const loud = resolveFile(object({ btf: dupBtf(), ids: [0, 0], symbols: [{ name: '__BTF_ID__struct__dup__1', at: 0 }, { name: '__BTF_ID__struct__missing__2', at: 4 }] }));
    expect(sectionWords(loud.r)).toEqual([2, 0]);
    expect(loud.r.diagnostics.map((d) => d.message)).toEqual([
      "WARN: multiple IDs found for 'dup': 2, 3 - using 2",
      'WARN: resolve_btfids: unresolved symbol missing',
    ]);
  });

  it('kinds must match exactly (a struct symbol does not take a FUNC of that name)', () => {
    const { r } = resolveFile(object({ btf: funcsBtf().bytes, ids: [0], symbols: [{ name: '__BTF_ID__struct__f1__1', at: 0 }] }));
    expect(sectionWords(r)).toEqual([0]);
  });
});

describe('name lookup over base and split BTF', () => {
  // Names are compared whole: the walk only pre-filters on the first two bytes and the
  // length, so names that share those with a wanted one, one-letter names and split
  // types named with the base's strings must all come out as resolve_btfids has them.
  it('finds one-letter names, look-alikes and split types named from base strings, lowest id first', () => {
    const base = new BtfBuilder();
    const int = base.addInt('int', 4, BTF_INT_SIGNED); // 1
    const proto = base.addFuncProto(int); // 2
    base.addFunc('bb_x', 1, proto); // 3
    base.addFunc('bb_y', 1, proto); // 4: same first bytes and length as bb_x
    base.addFunc('b', 1, proto); // 5
    base.addStruct('bb_x', 4); // 6: a struct, not a FUNC
    base.addFunc('bb_xx', 1, proto); // 7: bb_x is its prefix
    const baseBtf = Btf.parse(base.toBytes());
    const split = new BtfBuilder({ base: baseBtf });
    split.addFunc('bb_x', 1, proto); // 8: its name is the base's string
    split.addFunc('q', 1, proto); // 9
    split.addFunc('bb_z', 1, proto); // 10: a string of the split BTF
    const splitBtf = Btf.parse(split.toBytes(), { base: baseBtf });
    const nameOff = (id: number): number => new DataView(splitBtf.bytes.buffer, splitBtf.bytes.byteOffset).getUint32(splitBtf.typeOffsets[id - splitBtf.startId] as number, true);
    expect(nameOff(8)).toBeLessThan(splitBtf.startStrOff);
    expect(nameOff(10)).toBeGreaterThanOrEqual(splitBtf.startStrOff);
    const bytes = object({
      btf: splitBtf.bytes,
      ids: [0, 0, 0, 0, 0],
      symbols: [
        { name: '__BTF_ID__func__bb_x__1', at: 0 },
        { name: '__BTF_ID__func__b__2', at: 4 },
        { name: '__BTF_ID__func__q__3', at: 8 },
        { name: '__BTF_ID__func__bb_z__4', at: 12 },
        { name: '__BTF_ID__struct__bb_x__5', at: 16 },
      ],
    });
    const elf = parseElf(bytes);
    const r = resolveBtfIds(elf, splitBtf);
    expect(sectionWords(r)).toEqual([3, 5, 9, 10, 6]);
    // The split copy of bb_x (8) is met while the FUNC counter is still non-zero.
    expect(r.diagnostics.map((d) => d.message)).toEqual(["WARN: multiple IDs found for 'bb_x': 3, 8 - using 3"]);
  });
});

describe('failures', () => {
  it('a symbol outside .BTF_ids: resolve_btfids\' text, with the warnings printed before it', () => {
    const bytes = object({ btf: funcsBtf().bytes, ids: [0, 0], symbols: [{ name: '__BTF_ID__struct__nope__1', at: 0 }, { name: '__BTF_ID__func__f1__2', at: 64 }] });
    const elf = parseElf(bytes);
    try {
      resolveBtfIds(elf, Btf.parse(elf.sectionData(elf.sectionByName('.BTF')!)));
      expect.fail('no error');
    } catch (e: unknown) {
      expect(e).toBeInstanceOf(BtfIdsError);
      const err = e as BtfIdsError;
      expect(err.code).toBe('BTFIDS_PATCH_OUT_OF_BOUNDS');
      expect(err.stderrText).toBe('FAILED patching index 64 out of bounds 8');
      expect(err.diagnostics.map((d) => d.message)).toEqual(['WARN: resolve_btfids: unresolved symbol nope']);
    }
  });

  it('a set symbol of size 0 (count -1) is refused instead of sorted out of bounds', () => {
    const bytes = object({ btf: funcsBtf().bytes, ids: [0, 0], symbols: [{ name: '__BTF_ID__set__z', at: 0, size: 0 }] });
    expect(() => resolveFile(bytes)).toThrow(expect.objectContaining({ code: 'BTFIDS_SET_OUT_OF_BOUNDS' }));
  });

  it('symbol errors come in symbol-table order; a duplicate set name fails silently', () => {
    const scan = (names: string[]): unknown => {
      try {
        scanBtfIds(parseElf(object({ ids: [0, 0], symbols: names.map((name, i) => ({ name, at: 0, size: i === 0 ? 8 : 4 })) })));
        return undefined;
      } catch (e: unknown) {
        return e instanceof BtfIdsError ? [e.code, e.stderrText] : e;
      }
    };
    expect(scan(['__BTF_ID__set__dup', '__BTF_ID__set8__dup'])).toEqual(['BTFIDS_DUP_SET', '']);
    expect(scan(['__BTF_ID__enum__e__1', '__BTF_ID__func__x'])).toEqual(['BTFIDS_UNSUPPORTED_PREFIX', 'FAILED unsupported prefix enum__e__1']);
    expect(scan(Array.from({ length: 101 }, (_, i) => `__BTF_ID__struct__s1__${i}`))).toEqual(['BTFIDS_TOO_MANY_SYMBOLS', 'FAILED symbol s1 crossed the number of allowed lists']);
    expect(scan(Array.from({ length: 100 }, (_, i) => `__BTF_ID__struct__s1__${i}`))).toBeUndefined();
  });
});

describe('remap after distillation', () => {
  /**
   * "vmlinux": int, struct kobj, struct dupname, func vfunc. Module split: struct mod_s
   * (member kobj *), struct dupname of its own, functions m1, m2, m3.
   */
  function build(): { base: Btf; split: Btf; bytes: Uint8Array } {
    const b = new BtfBuilder();
    const int = b.addInt('int', 4, BTF_INT_SIGNED);
    const kobj = b.addStruct('kobj', 8);
    b.addStruct('dupname', 16);
    const vproto = b.addFuncProto(int);
    b.addFunc('vfunc', 1, vproto);
    const base = b.build();
    const s = new BtfBuilder({ base });
    const ptr = s.addPtr(kobj);
    s.addStruct('mod_s', 8);
    s.addField('k', ptr, 0);
    s.addStruct('dupname', 4);
    const proto = s.addFuncProto(int);
    s.addFunc('m1', 1, proto);
    s.addFunc('m2', 1, proto);
    s.addFunc('m3', 1, proto);
    const splitBytes = s.toBytes();
    const split = Btf.parse(splitBytes, { base });
    const bytes = object({
      btf: splitBytes,
      ids: [0, 0, 0, 0, 1, 0, 1, 0, 2, 0, 4],
      symbols: [
        { name: '__BTF_ID__struct__kobj__1', at: 0 },
        { name: '__BTF_ID__struct__dupname__2', at: 4 },
        { name: '__BTF_ID__func__vfunc__3', at: 8 },
        { name: '__BTF_ID__set8__ks', at: 12, size: 32 },
        { name: '__BTF_ID__func__m3__4', at: 20 },
        { name: '__BTF_ID__func__m1__5', at: 28 },
        { name: '__BTF_ID__func__m2__6', at: 36 },
      ],
    });
    return { base, split, bytes };
  }

  it('equals resolving the pristine object against the distilled BTF, flags kept, changes of meaning reported', () => {
    const { base, split, bytes } = build();
    const pristine = parseElf(bytes);
    const resolved = parseElf(elfUpdateImage(pristine, [{ section: pristine.sectionByName('.BTF_ids')!, bytes: resolveBtfIds(pristine, split).sectionBytes }]));
    const d = distill(base, split);
    const newBtf = Btf.parse(d.split, { base: Btf.parse(d.base) });
    const r = remapBtfIds(resolved, d.idMap, newBtf, { oldBtf: split });
    const scratch = resolveBtfIds(pristine, newBtf, { recoverResolved: false });
    expect(r.sectionBytes).toEqual(scratch.sectionBytes);
    expect(r.recovered).toBe(true);
    const id = (name: string): number => r.entries.find((e) => e.name === name)?.id ?? -1;
    expect(id('vfunc')).toBe(0);
    expect(id('kobj')).toBe(d.mapId(base.findByName('kobj')[0] as number));
    expect(id('dupname')).toBeGreaterThanOrEqual(d.baseTypeCount);
    const w = sectionWords(r);
    // set8 at 12: cnt 3, flags 0; pairs sorted by the new ids with their own flags.
    const pairs = [[w[5], w[6]], [w[7], w[8]], [w[9], w[10]]];
    expect(pairs).toEqual([[id('m1'), 2], [id('m2'), 4], [id('m3'), 1]]);
    const codes = r.diagnostics.map((x) => `${x.code}:${x.symbol ?? ''}`);
    expect(codes).toContain('BTFIDS_UNRESOLVED:vfunc');
    expect(codes).toContain('BTFIDS_REMAP_CHANGED:dupname');
    // List slots are not relocated by the kernel; BTF_KFUNCS pairs (header flag 1) are.
    expect(codes).toContain('BTFIDS_NOT_RELOCATED:kobj');
    expect(codes).not.toContain('BTFIDS_NOT_RELOCATED:m1');
  });

  it('refuses a section that holds ids the old BTF does not give', () => {
    const { base, split, bytes } = build();
    const elf = parseElf(bytes);
    const sec = elf.sectionByName('.BTF_ids')!;
    const bad = new Uint8Array(bytes);
    new DataView(bad.buffer).setUint32(sec.offset, 999, true);
    const d = distill(base, split);
    const newBtf = Btf.parse(d.split, { base: Btf.parse(d.base) });
    expect(() => remapBtfIds(parseElf(bad), d.idMap, newBtf, { oldBtf: split })).toThrow(expect.objectContaining({ code: 'BTFIDS_REMAP_MISMATCH' }));
    expect(() => remapBtfIds(elf, d.idMap.subarray(1), newBtf, { oldBtf: split })).toThrow(expect.objectContaining({ code: 'BTFIDS_REMAP_INPUT' }));
  });
});

describe('the written object (libelf elf_update emulation)', () => {
  it('zero-fills gaps before sections, keeps the bytes after the last one, truncates trailing data', () => {
    const bytes = object({ btf: funcsBtf().bytes, ids: [0], symbols: [{ name: '__BTF_ID__func__f1__1', at: 0 }], trailer: new Uint8Array(300).fill(0x55) });
    const elf = parseElf(bytes);
    const text = elf.sectionByName('.text')!;
    const ids = elf.sectionByName('.BTF_ids')!;
    const dirty = new Uint8Array(bytes);
    dirty.fill(0xaa, text.offset + text.size, ids.offset); // alignment gap before .BTF_ids
    const d = parseElf(dirty);
    const out = elfUpdateImage(d, [{ section: ids, bytes: new Uint8Array([3, 0, 0, 0]) }]);
    expect(out.length).toBe(bytes.length - 300);
    expect(Array.from(out.subarray(text.offset + text.size, ids.offset)).every((x) => x === 0)).toBe(true);
    expect(Array.from(out.subarray(ids.offset, ids.offset + 4))).toEqual([3, 0, 0, 0]);
  });

  it('refuses what libelf refuses: non-power-of-two alignment, size not a multiple of sh_entsize', () => {
    const bytes = object({ ids: [0], symbols: [], idsAlign: 3 });
    expect(() => elfUpdateImage(parseElf(bytes), [])).toThrow(expect.objectContaining({ stderrText: 'FAILED elf_update(WRITE): invalid section alignment' }));
    const es = object({ ids: [0], symbols: [], sections: [{ name: '.odd', type: SHT_PROGBITS, data: new Uint8Array(3), entsize: 2 }] });
    expect(() => elfUpdateImage(parseElf(es), [])).toThrow(expect.objectContaining({ stderrText: 'FAILED elf_update(WRITE): invalid section entry size' }));
  });

  it('compressed sections get sh_addralign 8 (written even when there is nothing to do, for little-endian objects)', () => {
    const withZ = (le: boolean): ElfFile => parseElf(object({ le, ids: [], symbols: [], sections: [{ name: '.debug_str', type: SHT_PROGBITS, flags: 0x830, data: new Uint8Array(24), addralign: 1, entsize: 1 }] }));
    const scan = scanBtfIds(withZ(true));
    expect(scan.alignmentFixes.map((f) => [f.section.name, f.addralign])).toEqual([['.debug_str', 8]]);
    const fixed = parseElf(alignmentFixImage(withZ(true), scan.alignmentFixes)!);
    expect(fixed.sectionByName('.debug_str')?.addralign).toBe(8);
    expect(alignmentFixImage(withZ(false), scanBtfIds(withZ(false)).alignmentFixes)).toBeUndefined();
  });
});

describe('what libelf and libbpf make of odd inputs', () => {
  it('libelfOutcome', () => {
    expect(libelfOutcome(new TextEncoder().encode('hello\n'))).toMatchObject({ kind: 'error', stderrText: 'FAILED cannot get shdr str ndx' });
    const bytes = object({ ids: [0], symbols: [] });
    expect(libelfOutcome(bytes.subarray(0, 40))).toMatchObject({ kind: 'error', stderrText: 'FAILED cannot create ELF descriptor: invalid ELF file data' });
    expect(libelfOutcome(bytes.subarray(0, bytes.length - 8))).toMatchObject({ kind: 'nothing-to-do' });
    const v0 = new Uint8Array(bytes);
    v0[6] = 0;
    expect(libelfOutcome(v0)).toMatchObject({ kind: 'error', stderrText: 'FAILED cannot get shdr str ndx' });
    expect(libelfOutcome(bytes)).toEqual({ kind: 'ok' });
  });

  it('libbpfParseFile', () => {
    const raw = funcsBtf().bytes;
    expect(libbpfParseFile(raw, 'x.btf', undefined).ok).toBe(true);
    expect(libbpfParseFile(new Uint8Array(0), 'e', undefined)).toEqual({ ok: false, lines: [], errno: 'EIO' });
    expect(libbpfParseFile(new TextEncoder().encode('hello\n'), 'txt', undefined)).toEqual({ ok: false, lines: ['libbpf: failed to get EHDR from txt'], errno: 4001 });
    expect(libbpfParseFile(object({ ids: [0], symbols: [] }), 'o.o', undefined)).toEqual({ ok: false, lines: ["libbpf: failed to find '.BTF' ELF section in o.o"], errno: 'ENODATA' });
    const base = new BtfBuilder();
    base.addInt('int', 4, BTF_INT_SIGNED);
    const split = new BtfBuilder({ base: base.build() });
    split.addStruct('a_rather_long_name', 4);
    const r = libbpfParseFile(split.toBytes(), 'split.btf', undefined);
    expect(r.ok).toBe(false);
  });
});
