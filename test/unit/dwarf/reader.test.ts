// lib/dwarf on synthetic DWARF from the builder: unit headers, the DIE tree, every form.
import { describe, expect, it } from 'vitest';
import * as C from '../../../lib/dwarf/constants.js';
import { openDwarf } from '../../../lib/dwarf/dwarf.js';
import { READELF_OFFLINE_BASE } from '../../../lib/dwarf/layout.js';
import { buildDwarf, type DieSpec, type UnitSpec } from '../../helpers/dwarf-builder.js';
import { dwarfElf } from '../../helpers/dwarf-elf.js';

function open(units: UnitSpec[], extra: { strOffsets?: string[]; addrs?: bigint[]; le?: boolean } = {}) {
  const built = buildDwarf({ littleEndian: extra.le ?? true, units, ...(extra.strOffsets ? { strOffsets: extra.strOffsets } : {}), ...(extra.addrs ? { addrs: extra.addrs } : {}) });
  const { elf } = dwarfElf({ debug: built.sections, littleEndian: extra.le ?? true });
  return { d: openDwarf(elf, { base: READELF_OFFLINE_BASE }), built };
}

const int: DieSpec = {
  tag: C.DW_TAG_base_type, label: 'int',
  attrs: [
    { at: C.DW_AT_byte_size, form: C.DW_FORM_data1, value: 4 },
    { at: C.DW_AT_encoding, form: C.DW_FORM_data1, value: C.DW_ATE_signed },
    { at: C.DW_AT_name, form: C.DW_FORM_strp, value: 'int' },
  ],
};

describe('lib/dwarf: units and DIE tree', () => {
  it('reads DWARF 4 and 5 unit headers, 32- and 64-bit', () => {
    const { d, built } = open([
      { version: 4, root: { tag: C.DW_TAG_compile_unit, attrs: [{ at: C.DW_AT_name, form: C.DW_FORM_string, value: 'a.c' }] } },
      { version: 5, offsetSize: 8, root: { tag: C.DW_TAG_compile_unit, attrs: [{ at: C.DW_AT_name, form: C.DW_FORM_string, value: 'b.c' }] } },
      { version: 5, addressSize: 4, root: { tag: C.DW_TAG_partial_unit }, unitType: C.DW_UT_partial },
    ]);
    const us = d.units;
    expect(us.map((u) => [u.version, u.offsetSize, u.addressSize, u.unitType])).toEqual([
      [4, 4, 8, C.DW_UT_compile], [5, 8, 8, C.DW_UT_compile], [5, 4, 4, C.DW_UT_partial],
    ]);
    // Header sizes: v4 32-bit 11; v5 64-bit 4+8+2+1+1+8 = 24; v5 32-bit 12.
    expect(us.map((u) => u.headerSize)).toEqual([11, 24, 12]);
    expect(us.map((u) => u.offset)).toEqual(built.units);
    expect(d.attrString(us[0]!.dieOffset, C.DW_AT_name)).toBe('a.c');
    expect(d.attrString(us[1]!.dieOffset, C.DW_AT_name)).toBe('b.c');
    expect(d.tag(us[2]!.dieOffset)).toBe(C.DW_TAG_partial_unit);
  });

  it('indexes parents, children and siblings, with null entries and a missing final null', () => {
    const { d, built } = open([{
      version: 5,
      root: {
        tag: C.DW_TAG_compile_unit, label: 'cu', noTerminator: true,
        children: [
          int,
          { tag: C.DW_TAG_structure_type, label: 's', children: [
            { tag: C.DW_TAG_member, label: 'm1', attrs: [{ at: C.DW_AT_type, form: C.DW_FORM_ref4, value: { die: 'int' } }] },
            { tag: C.DW_TAG_member, label: 'm2', attrs: [{ at: C.DW_AT_type, form: C.DW_FORM_ref_udata, value: { die: 'int' } }] },
          ] },
          { tag: C.DW_TAG_pointer_type, label: 'p', attrs: [{ at: C.DW_AT_type, form: C.DW_FORM_ref1, value: { die: 's' } }] },
        ],
      },
    }]);
    const o = (l: string): number => built.dies.get(l)!;
    const idx = d.units[0]!.index();
    expect(idx.count).toBe(6);
    expect(Array.from(idx.offsets)).toEqual([o('cu'), o('int'), o('s'), o('m1'), o('m2'), o('p')]);
    expect(Array.from(idx.parents)).toEqual([-1, 0, 0, 2, 2, 0]);
    expect(Array.from(idx.siblings)).toEqual([-1, 2, 5, 4, -1, -1]);
    expect(d.children(o('cu'))).toEqual([o('int'), o('s'), o('p')]);
    expect(d.firstChild(o('s'))).toBe(o('m1'));
    expect(d.nextSibling(o('m1'))).toBe(o('m2'));
    expect(d.nextSibling(o('m2'))).toBe(0);
    expect(d.parent(o('m2'))).toBe(o('s'));
    expect(d.firstChild(o('int'))).toBe(0);
    expect(d.attrRef(o('m1'), C.DW_AT_type)).toBe(o('int'));
    expect(d.attrRef(o('m2'), C.DW_AT_type)).toBe(o('int'));
    expect(d.attrRef(o('p'), C.DW_AT_type)).toBe(o('s'));
  });

  it('reads every value form with libdw semantics', () => {
    const sig = 0x0123456789abcdefn;
    const { d, built } = open([
      {
        version: 5,
        root: {
          tag: C.DW_TAG_compile_unit, label: 'cu',
          attrs: [
            { at: C.DW_AT_str_offsets_base, form: C.DW_FORM_sec_offset, value: 8 },
            { at: C.DW_AT_addr_base, form: C.DW_FORM_sec_offset, value: 8 },
          ],
          children: [
            { tag: C.DW_TAG_variable, label: 'v', attrs: [
              { at: C.DW_AT_name, form: C.DW_FORM_strx1, value: 1 },
              { at: C.DW_AT_linkage_name, form: C.DW_FORM_strx2, value: 2 },
              { at: C.DW_AT_producer, form: C.DW_FORM_strx3, value: 0 },
              { at: C.DW_AT_comp_dir, form: C.DW_FORM_strx4, value: 2 },
              { at: 0x5a, form: C.DW_FORM_strx, value: 1 },
              { at: C.DW_AT_low_pc, form: C.DW_FORM_addrx1, value: 1 },
              { at: C.DW_AT_entry_pc, form: C.DW_FORM_addrx, value: 0 },
              { at: C.DW_AT_external, form: C.DW_FORM_flag_present },
              { at: C.DW_AT_declaration, form: C.DW_FORM_flag, value: 0 },
              { at: C.DW_AT_artificial, form: C.DW_FORM_flag, value: 7 },
              { at: C.DW_AT_decl_line, form: C.DW_FORM_implicit_const, value: -3n },
              { at: C.DW_AT_const_value, form: C.DW_FORM_data16, value: Uint8Array.from({ length: 16 }, (_, i) => i) },
              { at: C.DW_AT_alignment, form: C.DW_FORM_udata, value: 1n << 60n },
              { at: C.DW_AT_upper_bound, form: C.DW_FORM_sdata, value: -1n },
              { at: C.DW_AT_count, form: C.DW_FORM_data8, value: 0xfffffffffffffffen },
              { at: C.DW_AT_byte_size, form: C.DW_FORM_data2, value: 0x8001 },
              { at: C.DW_AT_bit_size, form: C.DW_FORM_data4, value: 0x80000001 },
              { at: C.DW_AT_location, form: C.DW_FORM_exprloc, value: Uint8Array.of(C.DW_OP_addr, 1, 2, 3, 4, 5, 6, 7, 8) },
              { at: C.DW_AT_type, form: C.DW_FORM_ref_sig8, value: sig },
              { at: C.DW_AT_specification, form: C.DW_FORM_ref_addr, value: { die: 't2' } },
              { at: C.DW_AT_data_member_location, form: C.DW_FORM_indirect, value: { indirect: C.DW_FORM_udata, value: 300n } },
              { at: C.DW_AT_name + 0x1000, form: C.DW_FORM_line_strp, value: 'line' },
            ] },
          ],
        },
      },
      {
        version: 5, unitType: C.DW_UT_type, signature: sig, typeLabel: 'T',
        root: { tag: C.DW_TAG_type_unit, children: [{ tag: C.DW_TAG_structure_type, label: 'T', attrs: [{ at: C.DW_AT_name, form: C.DW_FORM_string, value: 'T' }] }] },
      },
      { version: 4, root: { tag: C.DW_TAG_compile_unit, children: [{ tag: C.DW_TAG_variable, label: 't2' }] } },
    ], { strOffsets: ['zero', 'one', 'two'], addrs: [0x1000n, 0xffffffff80001234n] });
    const v = built.dies.get('v')!;
    expect(d.attrString(v, C.DW_AT_name)).toBe('one');
    expect(d.attrString(v, C.DW_AT_linkage_name)).toBe('two');
    expect(d.attrString(v, C.DW_AT_producer)).toBe('zero');
    expect(d.attrString(v, C.DW_AT_comp_dir)).toBe('two');
    expect(d.attrString(v, 0x5a)).toBe('one');
    expect(d.attrString(v, C.DW_AT_name + 0x1000)).toBe('line');
    expect(d.attrAddr(v, C.DW_AT_low_pc)).toBe(0xffffffff80001234n);
    expect(d.attr(v, C.DW_AT_low_pc)!.udata()).toBe(1n); // formudata of addrx: the index
    expect(d.entryPc(v)).toBe(0x1000n);
    expect(d.attrFlag(v, C.DW_AT_external)).toBe(true);
    expect(d.attrFlag(v, C.DW_AT_declaration)).toBe(false);
    expect(d.attrFlag(v, C.DW_AT_artificial)).toBe(true);
    expect(d.attrUdata(v, C.DW_AT_decl_line)).toBe(0xfffffffffffffffdn);
    expect(d.attrSdata(v, C.DW_AT_decl_line)).toBe(-3n);
    expect(d.attrUdata(v, C.DW_AT_const_value)).toBeUndefined(); // data16 is not a constant for libdw
    expect(Array.from(d.attrBlock(v, C.DW_AT_const_value)!)).toEqual(Array.from({ length: 16 }, (_, i) => i));
    expect(d.attrUdata(v, C.DW_AT_alignment)).toBe(1n << 60n);
    expect(d.attrNumber(v, C.DW_AT_data_member_location)).toBe(300);
    expect(d.attrNumber(v, C.DW_AT_name)).toBeUndefined();
    // Strings by .debug_str offset: strx through .debug_str_offsets, the same offset as strp would give.
    const one = d.attrStrOffset(v, C.DW_AT_name)!;
    expect(d.debugStr(one)).toBe('one');
    expect(d.attrStrOffset(v, 0x5a)).toBe(one);
    expect(d.attrStrOffset(v, C.DW_AT_byte_size)).toBeUndefined();
    expect(() => d.attrNumber(v, C.DW_AT_alignment)).toThrow(/does not fit a safe integer/);
    expect(d.attrUdata(v, C.DW_AT_upper_bound)).toBe(0xffffffffffffffffn);
    expect(d.attrSdata(v, C.DW_AT_upper_bound)).toBe(-1n);
    expect(d.attrUdata(v, C.DW_AT_count)).toBe(0xfffffffffffffffen);
    expect(d.attrSdata(v, C.DW_AT_count)).toBe(-2n);
    expect(d.attrNumber(v, C.DW_AT_byte_size)).toBe(0x8001);
    expect(d.attrNumber(v, C.DW_AT_bit_size)).toBe(0x80000001);
    expect(() => d.attrNumber(v, C.DW_AT_upper_bound)).toThrow(/does not fit a safe integer/); // sdata -1 is 2^64-1
    expect(d.attrSdata(v, C.DW_AT_byte_size)).toBe(-0x7fffn);
    expect(d.attrUdata(v, C.DW_AT_bit_size)).toBe(0x80000001n);
    expect(d.attrSdata(v, C.DW_AT_bit_size)).toBe(-0x7fffffffn);
    expect(d.location(v, C.DW_AT_location)).toEqual([{ atom: C.DW_OP_addr, number: 0x0807060504030201n, number2: 0n, offset: 0 }]);
    expect(d.attrRef(v, C.DW_AT_type)).toBe(built.dies.get('T'));
    expect(d.attrRef(v, C.DW_AT_specification)).toBe(built.dies.get('t2'));
    expect(d.attrForm(v, C.DW_AT_data_member_location)).toBe(C.DW_FORM_udata);
    expect(d.attrUdata(v, C.DW_AT_data_member_location)).toBe(300n);
    // Class mismatches are undefined, as libdw's -1 without corrupt data.
    expect(d.attrString(v, C.DW_AT_byte_size)).toBeUndefined();
    expect(d.attrAddr(v, C.DW_AT_byte_size)).toBeUndefined();
    expect(d.attrRef(v, C.DW_AT_name)).toBeUndefined();
    expect(d.attrFlag(v, C.DW_AT_name)).toBeUndefined();
    expect(d.attr(v, C.DW_AT_sibling)).toBeUndefined();
    expect(d.hasAttr(v, C.DW_AT_external)).toBe(true);
    expect(d.hasAttr(v, C.DW_AT_sibling)).toBe(false);
    // attrs() lists every attribute in abbreviation order, indirect resolved.
    const all = d.attrs(v);
    expect(all.length).toBe(22);
    expect(all[20]!.form).toBe(C.DW_FORM_udata);
    // The type unit.
    const tu = d.units[1]!;
    expect(tu.unitType).toBe(C.DW_UT_type);
    expect(tu.unitId).toBe(sig);
    expect(tu.offset + tu.typeOffset).toBe(built.dies.get('T'));
    expect(d.typeUnit(sig)).toBe(tu);
  });

  it('reads big-endian DWARF (s390x)', () => {
    const { d, built } = open([{
      version: 5,
      root: { tag: C.DW_TAG_compile_unit, children: [{ ...int, attrs: [...int.attrs!, { at: C.DW_AT_alignment, form: C.DW_FORM_data4, value: 0x01020304 }] }] },
    }], { le: false });
    const i = built.dies.get('int')!;
    expect(d.attrString(i, C.DW_AT_name)).toBe('int');
    expect(d.attrUdata(i, C.DW_AT_alignment)).toBe(0x01020304n);
    expect(d.units[0]!.headerSize).toBe(12);
  });

  it('high_pc as an offset from low_pc, and ranges from low/high', () => {
    const { d, built } = open([{
      version: 5,
      root: { tag: C.DW_TAG_compile_unit, children: [{
        tag: C.DW_TAG_subprogram, label: 'f',
        attrs: [{ at: C.DW_AT_low_pc, form: C.DW_FORM_addr, value: 0x40n }, { at: C.DW_AT_high_pc, form: C.DW_FORM_data8, value: 0x12n }],
      }, {
        tag: C.DW_TAG_subprogram, label: 'g',
        attrs: [{ at: C.DW_AT_low_pc, form: C.DW_FORM_addr, value: 0x40n }, { at: C.DW_AT_high_pc, form: C.DW_FORM_addr, value: 0x50n }],
      }] },
    }]);
    const f = built.dies.get('f')!;
    expect(d.lowPc(f)).toBe(0x40n);
    expect(d.highPc(f)).toBe(0x52n);
    expect(d.ranges(f)).toEqual([{ start: 0x40n, end: 0x52n }]);
    expect(d.highPc(built.dies.get('g')!)).toBe(0x50n);
  });
});
