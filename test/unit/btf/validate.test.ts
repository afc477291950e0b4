// The kernel's load-time checks (kernel/bpf/btf.c), on BTF that parses but that a
// kernel would reject. Messages use the kernel's words.
import { describe, expect, it } from 'vitest';
import { BtfBuilder } from '../../../lib/btf/builder.js';
import { validateBtf, assertValidBtf } from '../../../lib/btf/validate.js';
import { BTF_INT_SIGNED, BtfKind } from '../../../lib/btf/kinds.js';
import { makeInfo } from '../../../lib/btf/wire.js';

function problems(build: (b: BtfBuilder) => void): string[] {
  const b = new BtfBuilder();
  build(b);
  return validateBtf(b.build()).map((e) => `[${e.typeId}] ${e.message}`);
}

describe('validateBtf', () => {
  it('accepts well-formed BTF', () => {
    expect(problems((b) => { b.addInt('int', 4, BTF_INT_SIGNED); b.addPtr(1); })).toEqual([]);
  });

  it('type ids past the end', () => {
    expect(problems((b) => { b.addPtr(7); })).toEqual(['[1] Invalid type_id 7']);
  });

  it('names where none is allowed, and missing names', () => {
    expect(problems((b) => {
      b.addInt('int', 4, BTF_INT_SIGNED); // [1]
      b.addRaw({ kind: BtfKind.Ptr, id: 0, nameOff: b.addStr('p'), info: makeInfo(BtfKind.Ptr, 0, false), type: 1 }); // [2]
      b.addTypedef('', 1); // [3]
      b.addStruct('bad name', 4); // [4]
    })).toEqual(['[2] Invalid name', '[3] Invalid name', '[4] Invalid name']);
  });

  it('a typedef loop is "Loop detected"; a pointer breaks a loop', () => {
    expect(problems((b) => {
      b.addTypedef('a', 2); // [1]
      b.addConst(1); // [2]
    })).toEqual(['[1] Loop detected']);
    expect(problems((b) => {
      b.addStruct('node', 8); // [1]
      b.addField('next', 2, 0);
      b.addPtr(1); // [2]
    })).toEqual([]);
  });

  it('a struct embedding itself loops', () => {
    expect(problems((b) => {
      b.addStruct('s', 8); // [1]
      b.addField('self', 1, 0);
    })).toEqual(['[1] Loop detected']);
  });

  it('INT sizes and bit counts', () => {
    expect(problems((b) => { b.addInt('weird', 3, 0); })).toEqual(['[1] Invalid type_size 3']);
  });

  it('FUNC must point to a FUNC_PROTO and DATASEC entries to VARs', () => {
    expect(problems((b) => {
      b.addInt('int', 4, BTF_INT_SIGNED); // [1]
      b.addFunc('f', 1, 1); // [2]
      b.addDatasec('.data', 8); // [3]
      b.addDatasecVarInfo(1, 0, 4);
    })).toEqual([
      '[2] Invalid type_id: FUNC must refer to a FUNC_PROTO, not INT',
      '[3] Not a VAR kind member',
    ]);
  });

  it('extern FUNCs and VARs are refused (btf_func_check_meta, btf_var_check_meta: static or global only)', () => {
    expect(problems((b) => {
      b.addInt('int', 4, BTF_INT_SIGNED); // [1]
      const proto = b.addFuncProto(1); // [2]
      b.addFunc('f_static', 0, proto); // [3]
      b.addFunc('f_global', 1, proto); // [4]
      b.addFunc('f_extern', 2, proto); // [5]
      b.addVar('v_static', 0, 1); // [6]
      b.addVar('v_global', 1, 1); // [7]
      b.addVar('v_extern', 2, 1); // [8]
    })).toEqual(['[5] Invalid func linkage 2', '[8] Linkage not supported 2']);
  });

  it('errors carry the record offset inside the blob', () => {
    const b = new BtfBuilder();
    b.addInt('int', 4, BTF_INT_SIGNED); // [1] at 24..40
    b.addPtr(9); // [2] at 40
    const [e] = validateBtf(b.build());
    expect(e?.context).toMatchObject({ typeId: 2, offset: 40 });
    expect(() => assertValidBtf(b.build())).toThrow(/Invalid type_id 9/);
  });
});
