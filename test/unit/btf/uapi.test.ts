// The 2026 BTF UAPI (include/uapi/linux/btf.h of kernel 7.2 on, libbpf 1.8): a 7-bit
// kind (info bits 24..30), a 24-bit vlen (bits 0..23), and a 32-byte header whose
// layout_off/layout_len point at a layout section (one struct btf_layout per kind)
// between types and strings. Expected bytes are written out by hand from that header
// file and from libbpf's btf_get_raw_data()/layouts[]; bpftool 7.8's dumps of the same
// blobs are in test/golden/uapi.test.ts.
import { describe, expect, it } from 'vitest';
import { Btf } from '../../../lib/btf/btf.js';
import { BtfBuilder } from '../../../lib/btf/builder.js';
import { dumpJson } from '../../../lib/btf/dump-json.js';
import { dumpRaw } from '../../../lib/btf/dump-raw.js';
import { dumpRawBytes } from '../../../lib/btf/dump-raw-bytes.js';
import { kindLayoutSection } from '../../../lib/btf/fields.js';
import { BTF_INT_SIGNED, BtfKind } from '../../../lib/btf/kinds.js';
import { permuteBtf } from '../../../lib/btf/permute.js';
import type { BtfType } from '../../../lib/btf/types.js';
import { validateBtf } from '../../../lib/btf/validate.js';
import { infoKind, infoVlen, makeInfo } from '../../../lib/btf/wire.js';
import { rewriteBtf } from '../../../lib/btf/write.js';
import { libbpfBtfNew } from '../../../lib/btfids/btf-load.js';
import { distill } from '../../../lib/distill/distill.js';
import { caught } from '../../helpers/errors.js';

/** A raw blob from its parts, laid out by hand: header (hdrLen bytes), types, layout, strings. */
function blob(o: { hdrLen: 24 | 28 | 32 | 40; types: number[]; layout?: number[]; strings: string; le?: boolean; extra?: number[] }): Uint8Array {
  const le = o.le ?? true;
  const types = o.types.length * 4;
  const layout = o.layout?.length ?? 0;
  const strings = Buffer.from(o.strings, 'latin1');
  const out = new Uint8Array(o.hdrLen + types + layout + strings.length);
  const dv = new DataView(out.buffer);
  dv.setUint16(0, 0xeb9f, le);
  out[2] = 1;
  dv.setUint32(4, o.hdrLen, le);
  dv.setUint32(8, 0, le);
  dv.setUint32(12, types, le);
  dv.setUint32(16, types + layout, le);
  dv.setUint32(20, strings.length, le);
  if (o.hdrLen >= 32) {
    dv.setUint32(24, layout ? types : 0, le);
    dv.setUint32(28, layout, le);
  }
  (o.extra ?? []).forEach((b, i) => { out[32 + i] = b; });
  o.types.forEach((w, i) => dv.setUint32(o.hdrLen + i * 4, w >>> 0, le));
  (o.layout ?? []).forEach((b, i) => { out[o.hdrLen + types + i] = b; });
  out.set(strings, o.hdrLen + types + layout);
  return out;
}

/** libbpf's layouts[] (btf.c, add_layout), entry by entry: info_sz, elem_sz, flags (u16, 0). */
const LIBBPF_LAYOUT = [
  [0, 0], [4, 0], [0, 0], [12, 0], [0, 12], [0, 12], [0, 8], [0, 0], [0, 0], [0, 0], // UNKN..VOLATILE
  [0, 0], [0, 0], [0, 0], [0, 8], [4, 0], [0, 12], [0, 0], [4, 0], [0, 0], [0, 12], // CONST..ENUM64
].flatMap(([i, e]) => [i as number, e as number, 0, 0]);

describe('info word: 7-bit kind, 24-bit vlen', () => {
  it('reads and makes the fields as the 7.2 UAPI lays them out', () => {
    // ENUM64 (19) with 70,000 values, kflag: 0x80000000 | 19 << 24 | 0x11170.
    expect(makeInfo(BtfKind.Enum64, 70_000, true)).toBe(0x93011170);
    expect(infoKind(0x93011170)).toBe(19);
    expect(infoVlen(0x93011170)).toBe(70_000);
    // Kind 100 (bits 24..30) and the largest vlen.
    expect(makeInfo(100, 0xffffff, false)).toBe(0x64ffffff);
    expect(infoKind(0xe4ffffff)).toBe(100);
    expect(() => makeInfo(128, 0, false)).toThrow(RangeError);
    expect(() => makeInfo(1, 0x1000000, false)).toThrow(RangeError);
  });
});

describe('vlen > 65535', () => {
  const N = 70_000;
  function enum64(le = true): Uint8Array {
    const b = new BtfBuilder({ littleEndian: le });
    b.addEnum64('big', 8, false); // [1]
    for (let i = 0; i < N; i++) b.addEnum64Value(`V${i}`, BigInt(i) * 0x100000001n);
    b.addInt('int', 4, BTF_INT_SIGNED); // [2] right after the 840,012-byte record
    return b.toBytes();
  }

  it('an ENUM64 with 70,000 values: record, parse, round trip', () => {
    const bytes = enum64();
    const dv = new DataView(bytes.buffer);
    expect(dv.getUint32(24 + 4, true)).toBe(0x13011170);
    expect(dv.getUint32(12, true)).toBe(12 + N * 12 + 16); // type_len
    // The last value's name_off, lo and hi words sit at 24 + 12 + 69,999 * 12.
    const last = 24 + 12 + (N - 1) * 12;
    expect([dv.getUint32(last + 4, true), dv.getUint32(last + 8, true)]).toEqual([N - 1, N - 1]);
    const btf = Btf.parse(bytes);
    expect(btf.vlen(1)).toBe(N);
    const t = btf.type(1);
    expect(t.kind === BtfKind.Enum64 && t.values.length).toBe(N);
    expect(btf.type(2)).toMatchObject({ kind: BtfKind.Int, size: 4 });
    expect(btf.recordSize(1)).toBe(12 + N * 12);
    expect(Buffer.from(rewriteBtf(btf)).equals(Buffer.from(bytes))).toBe(true);
    const be = Btf.parse(enum64(false));
    expect(be.vlen(1)).toBe(N);
    expect(Buffer.from(rewriteBtf(be)).equals(Buffer.from(enum64(false)))).toBe(true);
  });

  it('dumps every value (text from the records equals the text from decoded types)', () => {
    const btf = Btf.parse(enum64());
    const text = dumpRaw(btf);
    const lines = text.split('\n');
    expect(lines[0]).toBe(`[1] ENUM64 'big' encoding=UNSIGNED size=8 vlen=${N}`);
    expect(lines[N]).toBe(`\t'V${N - 1}' val=${BigInt(N - 1) * 0x100000001n}ULL`);
    expect(lines[N + 1]).toBe("[2] INT 'int' size=4 bits_offset=0 nr_bits=32 encoding=SIGNED");
    expect(Buffer.concat([...dumpRawBytes(btf)]).toString('utf8')).toBe(text);
    const json = JSON.parse(dumpJson(btf)) as { types: { vlen?: number; values?: unknown[] }[] };
    expect(json.types[0]?.vlen).toBe(N);
    expect(json.types[0]?.values).toHaveLength(N);
  });

  it('a STRUCT with 70,000 members', () => {
    const b = new BtfBuilder();
    const ch = b.addInt('char', 1, 0);
    b.addStruct('wide', N);
    for (let i = 0; i < N; i++) b.addField(`m${i}`, ch, i * 8);
    const btf = b.build();
    expect(btf.vlen(2)).toBe(N);
    expect(btf.info(2)).toBe(0x04011170);
    expect(Buffer.from(rewriteBtf(btf)).equals(Buffer.from(b.toBytes()))).toBe(true);
    expect(dumpRaw(btf).split('\n')[N + 1]).toBe(`\t'm${N - 1}' type_id=1 bits_offset=${(N - 1) * 8}`);
  });

  it('validation: 6.x kernels refuse info bits 16-23, 7.x kernels take them', () => {
    const btf = Btf.parse(enum64());
    expect(validateBtf(btf).map((e) => `[${e.typeId}] ${e.message}`)).toEqual(['[1] Invalid btf_info:13011170']);
    expect(validateBtf(btf, { kernel: 6 }).length).toBe(1);
    expect(validateBtf(btf, { kernel: 7 })).toEqual([]);
  });
});

describe('the layout section', () => {
  // [1] INT 'int' size 4; strings "\0int\0".
  const INT = [1, 0x01000000, 4, 0x01000020];

  it('the builder writes libbpf\'s layout, between types and strings, with a 32-byte header', () => {
    const b = new BtfBuilder({ layout: true });
    b.addInt('int', 4, BTF_INT_SIGNED);
    const expected = blob({ hdrLen: 32, types: INT, layout: LIBBPF_LAYOUT, strings: '\0int\0' });
    expect(Buffer.from(b.toBytes()).toString('hex')).toBe(Buffer.from(expected).toString('hex'));
    expect(Buffer.from(kindLayoutSection(true)).equals(Buffer.from(LIBBPF_LAYOUT))).toBe(true);
  });

  it('parses, dumps and writes back unchanged (both byte orders)', () => {
    for (const le of [true, false]) {
      const bytes = blob({ hdrLen: 32, types: INT, layout: LIBBPF_LAYOUT, strings: '\0int\0', le });
      const btf = Btf.parse(bytes);
      expect(btf.header).toMatchObject({ hdrLen: 32, typeOff: 0, typeLen: 16, layoutOff: 16, layoutLen: 80, strOff: 96, strLen: 5 });
      expect(Buffer.from(btf.layout ?? []).equals(Buffer.from(LIBBPF_LAYOUT))).toBe(true);
      expect(dumpRaw(btf)).toBe("[1] INT 'int' size=4 bits_offset=0 nr_bits=32 encoding=SIGNED\n");
      expect(Buffer.from(rewriteBtf(btf)).equals(Buffer.from(bytes))).toBe(true);
      // Types appended with the btf__add_* calls keep the layout; the strings move past the new types.
      const c = BtfBuilder.continuing(btf);
      c.addPtr(1);
      const grown = Btf.parse(c.toBytes());
      expect(grown.header).toMatchObject({ typeLen: 28, layoutOff: 28, layoutLen: 80, strOff: 108 });
      expect(grown.type(2)).toMatchObject({ kind: BtfKind.Ptr, type: 1 });
      expect(grown.name(1)).toBe('int');
    }
  });

  it('a 32-byte header with zero layout fields (7.2 resolve_btfids) and header bytes past 32 are kept', () => {
    const zero = blob({ hdrLen: 32, types: INT, strings: '\0int\0' });
    const btf = Btf.parse(zero);
    expect(btf.header).toMatchObject({ hdrLen: 32, layoutOff: 0, layoutLen: 0 });
    expect(btf.layout).toBeUndefined();
    expect(Buffer.from(rewriteBtf(btf)).equals(Buffer.from(zero))).toBe(true);
    const b = new BtfBuilder({ headerLen: 32 });
    b.addInt('int', 4, BTF_INT_SIGNED);
    expect(Buffer.from(b.toBytes()).equals(Buffer.from(zero))).toBe(true);
    const longer = blob({ hdrLen: 40, types: INT, layout: LIBBPF_LAYOUT, strings: '\0int\0', extra: [1, 2, 3, 4, 5, 6, 7, 8] });
    expect(Buffer.from(rewriteBtf(Btf.parse(longer))).equals(Buffer.from(longer))).toBe(true);
    // A 28-byte header has no layout_len: its 4 extra bytes are kept, not read.
    const short = blob({ hdrLen: 28, types: INT, strings: '\0int\0' });
    short.set([0xaa, 0xbb, 0xcc, 0xdd], 24);
    const s = Btf.parse(short);
    expect(s.header).toMatchObject({ hdrLen: 28, layoutOff: 0, layoutLen: 0, strOff: 16 });
    expect(Buffer.from(rewriteBtf(s)).equals(Buffer.from(short))).toBe(true);
  });

  it('refuses a layout section libbpf refuses', () => {
    const ok = blob({ hdrLen: 32, types: INT, layout: LIBBPF_LAYOUT, strings: '\0int\0' });
    const patched = (off: number, v: number): Uint8Array => { const c = ok.slice(); new DataView(c.buffer).setUint32(off, v, true); return c; };
    expect(caught(() => Btf.parse(patched(24, 18))).message).toMatch(/layout section is not aligned/);
    expect(caught(() => Btf.parse(patched(24, 12))).message).toMatch(/type data at 0 \+ 16, layout data at 12 \+ 80/);
    expect(caught(() => Btf.parse(patched(28, 84))).message).toMatch(/layout data at 16 \+ 84, strings data at 96/);
    expect(caught(() => Btf.parse(patched(28, 78))).message).toMatch(/invalid BTF kind layout section/);
  });
});

describe('kinds modbtf does not know', () => {
  // Kind 20 described by the layout: a 4-byte singular part and 8 bytes per vlen entry.
  const layout = kindLayoutSection(true, [{ infoSz: 4, elemSz: 8 }]);
  function withKind20(le = true): { bytes: Uint8Array; rest: Uint8Array } {
    const b = new BtfBuilder({ littleEndian: le, layout: le ? layout : kindLayoutSection(false, [{ infoSz: 4, elemSz: 8 }]) });
    b.addInt('int', 4, BTF_INT_SIGNED); // [1]
    const rest = Uint8Array.from({ length: 4 + 2 * 8 }, (_, i) => i + 1);
    const raw: BtfType = { kind: BtfKind.Unkn, id: 0, nameOff: b.addStr('loc'), info: makeInfo(20, 2, true), unknown: { sizeOrType: 1, rest, littleEndian: le } };
    b.addRaw(raw); // [2]
    b.addPtr(2); // [3]
    return { bytes: b.toBytes(), rest };
  }

  it('are sized by the layout, kept as they are, and dumped UNKNOWN like bpftool', () => {
    const { bytes, rest } = withKind20();
    const btf = Btf.parse(bytes);
    expect(btf.unknownKindCount).toBe(1);
    expect(btf.kind(2)).toBe(20);
    expect(btf.recordSize(2)).toBe(12 + 4 + 2 * 8);
    const t = btf.type(2);
    expect(t.kind).toBe(BtfKind.Unkn);
    expect(t.kind === BtfKind.Unkn && t.unknown && Buffer.from(t.unknown.rest).equals(Buffer.from(rest))).toBe(true);
    expect(btf.type(3)).toMatchObject({ kind: BtfKind.Ptr, type: 2 });
    const text = "[1] INT 'int' size=4 bits_offset=0 nr_bits=32 encoding=SIGNED\n[2] UNKNOWN 'loc'\n[3] PTR '(anon)' type_id=2\n";
    expect(dumpRaw(btf)).toBe(text);
    expect(Buffer.concat([...dumpRawBytes(btf)]).toString('utf8')).toBe(text);
    expect(dumpJson(btf)).toBe('{"types":[{"id":1,"kind":"INT","name":"int","size":4,"bits_offset":0,"nr_bits":32,"encoding":"SIGNED"},{"id":2,"kind":"UNKNOWN","name":"loc"},{"id":3,"kind":"PTR","name":"(anon)","type_id":2}]}\n');
    expect(Buffer.from(rewriteBtf(btf)).equals(Buffer.from(bytes))).toBe(true);
    const be = withKind20(false).bytes;
    expect(Buffer.from(rewriteBtf(Btf.parse(be))).equals(Buffer.from(be))).toBe(true);
  });

  it('cannot be put into the other byte order', () => {
    const btf = Btf.parse(withKind20().bytes);
    const b = new BtfBuilder({ littleEndian: false, layout: kindLayoutSection(false, [{ infoSz: 4, elemSz: 8 }]) });
    b.addRaw(btf.type(2));
    expect(caught(() => b.toBytes())).toMatchObject({ code: 'BTF_BAD_KIND' });
  });

  it('without a layout entry they are refused; split BTF uses its base\'s layout', () => {
    const { bytes } = withKind20();
    const noLayout = Btf.parse(bytes);
    const stripped = new BtfBuilder();
    stripped.addInt('int', 4, BTF_INT_SIGNED);
    stripped.addRaw(noLayout.type(2));
    expect(caught(() => stripped.build())).toMatchObject({ code: 'BTF_BAD_KIND', message: 'unsupported BTF_KIND 20', context: { typeId: 2, offset: 24 + 16 + 4 } });
    const short = new BtfBuilder({ layout: true }); // kinds 0..19 only
    short.addRaw(noLayout.type(2));
    expect(caught(() => short.build()).message).toBe('unsupported BTF_KIND 20 (the layout section describes kinds 0..19)');
    const odd = new BtfBuilder({ layout: kindLayoutSection(true, [{ infoSz: 2, elemSz: 8 }]) });
    odd.addRaw(noLayout.type(2));
    expect(caught(() => odd.build()).message).toBe('unsupported info_sz 2 for kind 20 in the layout section');

    const base = new BtfBuilder({ layout });
    base.addInt('int', 4, BTF_INT_SIGNED);
    const split = new BtfBuilder({ base: base.build() });
    split.addRaw(noLayout.type(2));
    split.addPtr(2);
    const s = split.build();
    expect(s.type(3)).toMatchObject({ kind: BtfKind.Ptr, type: 2 });
    expect(s.recordSize(2)).toBe(32);
  });

  it('the kernel refuses them whatever the layout says; 6.x kernels refuse kinds past 31 by their info bits', () => {
    const btf = Btf.parse(withKind20().bytes);
    expect(validateBtf(btf, { kernel: 7 }).map((e) => `[${e.typeId}] ${e.message}`)).toEqual(['[2] Invalid kind:20']);
    // 6.x: a non-zero header byte past 24 (the layout fields), the layout section an
    // unknown gap before the strings, and the same kind (the kernel stops at the first).
    expect(validateBtf(btf, { kernel: 6 }).map((e) => e.message)).toEqual([
      'Unsupported btf_header: non-zero byte at header offset 24 (the kernel\'s header is 24 bytes)',
      'Unsupported section found: 84 bytes before the string section at 144 + 9',
      'Invalid kind:20',
    ]);
    const k40 = new BtfBuilder({ layout: kindLayoutSection(true, Array.from({ length: 21 }, () => ({ infoSz: 0, elemSz: 0 }))) });
    k40.addRaw({ kind: BtfKind.Unkn, id: 0, nameOff: 0, info: makeInfo(40, 0, false), unknown: { sizeOrType: 0, rest: new Uint8Array(0), littleEndian: true } });
    const b40 = k40.build();
    expect(validateBtf(b40, { kernel: 7 }).map((e) => e.message)).toEqual(['Invalid kind:40']);
    expect(validateBtf(b40, { kernel: 6 }).map((e) => e.message)).toContain('Invalid btf_info:28000000');
  });

  it('libbpf 1.8 (7.x resolve_btfids) loads them, 6.12\'s cannot; distill refuses them; the name sort moves them whole', () => {
    const { bytes } = withKind20();
    expect(libbpfBtfNew(bytes, undefined, {}, { abi: 7 }).ok).toBe(true);
    expect(libbpfBtfNew(bytes, undefined, {}, { abi: 6 })).toEqual({ ok: false, lines: [], errno: 'EINVAL' });
    const base = new BtfBuilder({ layout });
    base.addInt('int', 4, BTF_INT_SIGNED);
    const vmlinux = base.build();
    const split = new BtfBuilder({ base: vmlinux });
    split.addRaw(Btf.parse(bytes).type(2));
    expect(caught(() => distill(vmlinux, split.build()))).toMatchObject({ code: 'DISTILL_UNKNOWN_KIND', context: { typeId: 2 } });
    const btf = Btf.parse(bytes);
    const moved = Btf.parse(permuteBtf(btf, [2, 1, 0]).bytes);
    expect(moved.type(1)).toMatchObject({ kind: BtfKind.Ptr, type: 2 });
    expect(moved.kind(2)).toBe(20);
    expect(moved.type(3)).toMatchObject({ kind: BtfKind.Int });
  });
});

describe('kernel section checks (btf_check_sec_info)', () => {
  const INT = [1, 0x01000000, 4, 0x01000020];
  it('a layout section tiles the data on 7.x; 6.x refuses the header', () => {
    const bytes = blob({ hdrLen: 32, types: INT, layout: LIBBPF_LAYOUT, strings: '\0int\0' });
    const btf = Btf.parse(bytes);
    expect(validateBtf(btf, { kernel: 7 })).toEqual([]);
    expect(validateBtf(btf, { kernel: 6 }).map((e) => e.message)).toEqual([
      'Unsupported btf_header: non-zero byte at header offset 24 (the kernel\'s header is 24 bytes)',
      'Unsupported section found: 80 bytes before the string section at 96 + 5',
    ]);
    const zero = Btf.parse(blob({ hdrLen: 32, types: INT, strings: '\0int\0' }));
    expect(validateBtf(zero, { kernel: 6 })).toEqual([]);
    expect(validateBtf(zero, { kernel: 7 })).toEqual([]);
  });

  it('strings before types: 6.x takes it, 7.x wants the strings at the end of a 24-byte-header blob', () => {
    // Header 24, strings "\0int\0" (5 bytes + 3 bytes of padding, counted as strings), then the INT.
    const out = new Uint8Array(24 + 8 + 16);
    const dv = new DataView(out.buffer);
    dv.setUint16(0, 0xeb9f, true); out[2] = 1; dv.setUint32(4, 24, true);
    dv.setUint32(8, 8, true); dv.setUint32(12, 16, true); dv.setUint32(16, 0, true); dv.setUint32(20, 8, true);
    out.set(Buffer.from('\0int\0\0\0\0', 'latin1'), 24);
    INT.forEach((w, i) => dv.setUint32(32 + i * 4, w, true));
    const btf = Btf.parse(out);
    expect(btf.name(1)).toBe('int');
    expect(validateBtf(btf, { kernel: 6 })).toEqual([]);
    expect(validateBtf(btf, { kernel: 7 }).map((e) => e.message)).toEqual(['String section is not at the end (strings at 0 + 8, data size 24)']);
  });

  it('gaps and overlaps', () => {
    // A layout section that leaves 4 bytes unaccounted before the strings: libbpf parses
    // it (the layout only has to end before the strings), the 7.x kernel does not.
    const bytes = blob({ hdrLen: 32, types: INT, layout: [...LIBBPF_LAYOUT, 0, 0, 0, 0], strings: '\0int\0' });
    new DataView(bytes.buffer).setUint32(28, 80, true);
    const btf = Btf.parse(bytes);
    expect(validateBtf(btf, { kernel: 7 }).map((e) => e.message)).toEqual(['Unsupported section found: 4 bytes before the string section at 100 + 5']);
  });
});
