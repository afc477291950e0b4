// Corrupt and unusual BTF headers and records: each must fail with a typed error
// that names the byte offset (and the type id where one is involved).
import { describe, expect, it } from 'vitest';
import { Btf } from '../../../lib/btf/btf.js';
import { BtfBuilder } from '../../../lib/btf/builder.js';
import { BTF_INT_SIGNED } from '../../../lib/btf/kinds.js';
import { rewriteBtf } from '../../../lib/btf/write.js';
import { caught } from '../../helpers/errors.js';

function small(le = true): Uint8Array {
  const b = new BtfBuilder({ littleEndian: le });
  b.addInt('int', 4, BTF_INT_SIGNED); // [1] 16 bytes
  b.addStruct('s', 4); // [2] 12 + 12 bytes
  b.addField('x', 1, 0);
  return b.toBytes();
}

function patchU32(bytes: Uint8Array, off: number, v: number): Uint8Array {
  const c = bytes.slice();
  new DataView(c.buffer).setUint32(off, v, true);
  return c;
}

describe('Btf.parse errors', () => {
  it('short input', () => {
    const e = caught(() => Btf.parse(new Uint8Array(10), { file: 'x.btf' }));
    expect(e.code).toBe('BTF_TRUNCATED');
    expect(e.context).toMatchObject({ file: 'x.btf', offset: 0 });
  });

  it('bad magic', () => {
    const b = small();
    b[0] = 0;
    expect(caught(() => Btf.parse(b)).code).toBe('BTF_BAD_MAGIC');
  });

  it('bad version and flags', () => {
    const v = small();
    v[2] = 2;
    expect(caught(() => Btf.parse(v))).toMatchObject({ code: 'BTF_BAD_HEADER', context: { offset: 2 } });
    const f = small();
    f[3] = 1;
    expect(caught(() => Btf.parse(f))).toMatchObject({ code: 'BTF_BAD_HEADER', context: { offset: 3 } });
  });

  it('hdr_len beyond the data', () => {
    expect(caught(() => Btf.parse(patchU32(small(), 4, 1000))).message).toMatch(/header len 1000 larger than data size/);
  });

  it('sections beyond the data', () => {
    const e = caught(() => Btf.parse(patchU32(small(), 20, 5000)));
    expect(e.message).toMatch(/invalid BTF data sections layout/);
  });

  it('a record cut short names the type id and offset', () => {
    const b = small();
    // type_len 16+24=40; claim 30: the STRUCT at offset 24+16=40 is cut.
    const c = patchU32(patchU32(b, 12, 30), 16, 40);
    const e = caught(() => Btf.parse(c));
    expect(e.code).toBe('BTF_TRUNCATED');
    expect(e.context).toMatchObject({ typeId: 2, offset: 40 });
  });

  it('unknown kind', () => {
    const b = small();
    // info of type [1] at 24+4: kind 31
    const c = patchU32(b, 28, 31 << 24);
    const e = caught(() => Btf.parse(c));
    expect(e).toMatchObject({ code: 'BTF_BAD_KIND', context: { typeId: 1, offset: 28 } });
  });

  it('string section must end in NUL and a base must start with the empty string', () => {
    const b = small();
    const noNul = b.slice();
    noNul[noNul.length - 1] = 0x41;
    expect(caught(() => Btf.parse(noNul)).code).toBe('BTF_BAD_STRINGS');
    const hdr = 24;
    const strStart = hdr + new DataView(b.buffer).getUint32(16, true);
    const noLead = b.slice();
    noLead[strStart] = 0x41;
    expect(caught(() => Btf.parse(noLead))).toMatchObject({ code: 'BTF_BAD_STRINGS', context: { offset: strStart } });
  });

  it('split BTF over a base of the other byte order is refused', () => {
    const base = Btf.parse(small(true));
    const split = new BtfBuilder({ base, littleEndian: false });
    split.addPtr(1);
    expect(caught(() => Btf.parse(split.toBytes(), { base })).code).toBe('BTF_BAD_BASE');
  });

  it('out-of-range ids and string offsets are typed errors', () => {
    const btf = Btf.parse(small());
    expect(caught(() => btf.type(3)).code).toBe('BTF_BAD_TYPE_ID');
    expect(caught(() => btf.str(9999)).code).toBe('BTF_BAD_STRING');
    expect(btf.strOrUndefined(9999)).toBeUndefined();
  });
});

describe('header extensions', () => {
  it('keeps extra header bytes (hdr_len > 24) on a round trip', () => {
    const b = small();
    const typeLen = new DataView(b.buffer).getUint32(12, true);
    // Insert 8 zero bytes after the 24-byte header (as a newer kernel's layout fields).
    const ext = new Uint8Array(b.length + 8);
    ext.set(b.subarray(0, 24));
    ext.set(b.subarray(24), 32);
    const dv = new DataView(ext.buffer);
    dv.setUint32(4, 32, true);
    const btf = Btf.parse(ext);
    expect(btf.header.hdrLen).toBe(32);
    expect(btf.header.extra.length).toBe(8);
    expect(btf.header.typeLen).toBe(typeLen);
    expect(btf.name(2)).toBe('s');
    expect(Buffer.from(rewriteBtf(btf))).toEqual(Buffer.from(ext));
  });
});
