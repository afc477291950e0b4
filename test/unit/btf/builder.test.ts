// Builder → bytes → parse → dump. EXPECTED was written by hand from the BTF format
// (Documentation/bpf/btf.rst) and then checked against Debian's bpftool 7.1 run on the
// little-endian bytes of sample() (`bpftool btf dump file sample.btf`), which corrected
// two lines: bpftool prints VAR linkage 1 as "global" and names each DATASEC variable.
import { describe, expect, it } from 'vitest';
import { BtfBuilder } from '../../../lib/btf/builder.js';
import { Btf } from '../../../lib/btf/btf.js';
import { dumpRaw } from '../../../lib/btf/dump-raw.js';
import { rewriteBtf } from '../../../lib/btf/write.js';
import { validateBtf } from '../../../lib/btf/validate.js';
import { BTF_INT_SIGNED, BTF_INT_BOOL, BtfKind } from '../../../lib/btf/kinds.js';

function sample(littleEndian: boolean): BtfBuilder {
  const b = new BtfBuilder({ littleEndian });
  b.addInt('int', 4, BTF_INT_SIGNED); //                       [1]
  b.addPtr(1); //                                                [2]
  b.addArray(1, 1, 10); //                                       [3]
  b.addStruct('s', 48); //                                       [4]
  b.addField('a', 1, 0);
  b.addField('b', 1, 32, 3);
  b.addField('c', 3, 64);
  b.addEnum('e', 4); //                                          [5]
  b.addEnumValue('E_NEG', -1);
  b.addEnumValue('E_ONE', 1);
  b.addFwd('fw', 'union'); //                                    [6]
  b.addTypedef('int_t', 1); //                                   [7]
  b.addConst(7); //                                              [8]
  b.addFuncProto(1); //                                          [9]
  b.addFuncParam('x', 2);
  b.addFuncParam('', 0);
  b.addFunc('f', 1, 9); //                                       [10]
  b.addVar('v', 1, 1); //                                        [11]
  b.addDatasec('.data', 4); //                                   [12]
  b.addDatasecVarInfo(11, 0, 4);
  b.addFloat('double', 8); //                                    [13]
  b.addDeclTag('tag', 10, -1); //                                [14]
  b.addTypeTag('user', 2); //                                    [15]
  b.addEnum64('e64', 8, false); //                               [16]
  b.addEnum64Value('BIG', 0xfedcba9876543210n);
  b.addInt('_Bool', 1, BTF_INT_BOOL); //                         [17]
  b.addUnion('u', 4); //                                         [18]
  b.addField('i', 1, 0);
  return b;
}

const EXPECTED = [
  "[1] INT 'int' size=4 bits_offset=0 nr_bits=32 encoding=SIGNED",
  '[2] PTR \'(anon)\' type_id=1',
  "[3] ARRAY '(anon)' type_id=1 index_type_id=1 nr_elems=10",
  "[4] STRUCT 's' size=48 vlen=3",
  "\t'a' type_id=1 bits_offset=0",
  "\t'b' type_id=1 bits_offset=32 bitfield_size=3",
  "\t'c' type_id=3 bits_offset=64",
  "[5] ENUM 'e' encoding=SIGNED size=4 vlen=2",
  "\t'E_NEG' val=-1",
  "\t'E_ONE' val=1",
  "[6] FWD 'fw' fwd_kind=union",
  "[7] TYPEDEF 'int_t' type_id=1",
  "[8] CONST '(anon)' type_id=7",
  "[9] FUNC_PROTO '(anon)' ret_type_id=1 vlen=2",
  "\t'x' type_id=2",
  "\t'(anon)' type_id=0",
  "[10] FUNC 'f' type_id=9 linkage=global",
  "[11] VAR 'v' type_id=1, linkage=global",
  "[12] DATASEC '.data' size=4 vlen=1",
  "\ttype_id=11 offset=0 size=4 (VAR 'v')",
  "[13] FLOAT 'double' size=8",
  "[14] DECL_TAG 'tag' type_id=10 component_idx=-1",
  "[15] TYPE_TAG 'user' type_id=2",
  "[16] ENUM64 'e64' encoding=UNSIGNED size=8 vlen=1",
  "\t'BIG' val=18364758544493064720ULL",
  "[17] INT '_Bool' size=1 bits_offset=0 nr_bits=8 encoding=BOOL",
  "[18] UNION 'u' size=4 vlen=1",
  "\t'i' type_id=1 bits_offset=0",
];

describe.each([
  ['little endian', true],
  ['big endian', false],
])('BtfBuilder (%s)', (_name, le) => {
  it('encodes every kind as bpftool prints it', () => {
    const btf = sample(le).build();
    expect(btf.littleEndian).toBe(le);
    expect(dumpRaw(btf).trimEnd().split('\n')).toEqual(EXPECTED);
  });

  it('round-trips byte for byte through decode and re-encode', () => {
    const bytes = sample(le).toBytes();
    expect(Buffer.from(rewriteBtf(Btf.parse(bytes)))).toEqual(Buffer.from(bytes));
  });

  it('produces BTF the kernel rules accept', () => {
    expect(validateBtf(sample(le).build()).map((e) => e.describe())).toEqual([]);
  });

  it('writes the header fields in the requested byte order', () => {
    const bytes = sample(le).toBytes();
    const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    expect(dv.getUint16(0, le)).toBe(0xeb9f);
    expect(dv.getUint32(4, le)).toBe(24); // hdr_len
    expect(dv.getUint32(8, le)).toBe(0); // type_off
    expect(dv.getUint32(16, le)).toBe(dv.getUint32(12, le)); // str_off == type_len
  });
});

describe('split BTF', () => {
  it('continues ids and string offsets after the base and reuses base strings', () => {
    const base = new BtfBuilder();
    base.addInt('int', 4, BTF_INT_SIGNED); // [1]
    base.addStruct('task', 8); // [2]
    base.addField('pid', 1, 0);
    const baseBtf = base.build();
    // base strings: "\0int\0task\0pid\0" → 14 bytes
    expect(baseBtf.header.strLen).toBe(14);

    const split = new BtfBuilder({ base: baseBtf });
    const p = split.addPtr(2); // [3]
    split.addStruct('mine', 16); // [4]
    split.addField('pid', p, 0); // 'pid' exists in the base: offset 10
    split.addField('own', 1, 64);
    const s = split.build();
    expect(p).toBe(3);
    expect(s.startId).toBe(3);
    expect(s.typeCount).toBe(5);
    expect(s.startStrOff).toBe(14);
    const mine = s.type(4);
    expect(mine.kind).toBe(BtfKind.Struct);
    if (mine.kind !== BtfKind.Struct) return;
    expect(mine.nameOff).toBe(14); // first own string, no leading NUL in split tables
    expect(mine.members.map((m) => m.nameOff)).toEqual([10, 19]);
    expect(s.name(4)).toBe('mine');
    expect(s.str(19)).toBe('own');
    expect(s.name(2)).toBe('task');
    expect(s.findByName('task')).toEqual([2]);
    expect(s.findByName('mine', BtfKind.Struct)).toEqual([4]);
    expect(dumpRaw(s).trimEnd().split('\n')).toEqual([
      "[3] PTR '(anon)' type_id=2",
      "[4] STRUCT 'mine' size=16 vlen=2",
      "\t'pid' type_id=3 bits_offset=0",
      "\t'own' type_id=1 bits_offset=64",
    ]);
  });
});

describe('builder argument checks (as libbpf)', () => {
  it('rejects members without a struct and oversize bitfields', () => {
    const b = new BtfBuilder();
    b.addInt('int', 4, BTF_INT_SIGNED);
    expect(() => b.addField('x', 1, 0)).toThrow(/addField after INT/);
    b.addStruct('s', 4);
    expect(() => b.addField('x', 1, 0, 256)).toThrow(/bitfield x/);
  });
});
