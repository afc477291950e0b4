// Expressions, location lists and range lists with libdw's semantics (DWARF 4 and 5),
// on hand-assembled sections; expected values from the DWARF 5 standard's encodings.
import { describe, expect, it } from 'vitest';
import * as C from '../../../lib/dwarf/constants.js';
import { openDwarf } from '../../../lib/dwarf/dwarf.js';
import { decodeBlock } from '../../../lib/dwarf/expr.js';
import { exprContext } from '../../../lib/dwarf/lists.js';
import { READELF_OFFLINE_BASE } from '../../../lib/dwarf/layout.js';
import { buildDwarf, byteWriter, expr, type DieSpec } from '../../helpers/dwarf-builder.js';
import { dwarfElf } from '../../helpers/dwarf-elf.js';

const MAX = (1n << 64n) - 1n;
const op = (atom: number, number = 0n, number2 = 0n, offset = 0) => ({ atom, number, number2, offset });

/** A DWARF 5 list table: header, offset array, then the lists (each a callback writing entries). */
function listTable(lists: ((w: ReturnType<typeof byteWriter>) => void)[]): { bytes: Uint8Array; offsets: number[] } {
  const w = byteWriter(true);
  w.uint(0, 4);
  w.uint(5, 2);
  w.u8(8);
  w.u8(0);
  w.uint(lists.length, 4);
  const arrayAt = w.len;
  for (let i = 0; i < lists.length; i++) w.uint(0, 4);
  const offsets: number[] = [];
  lists.forEach((f, i) => {
    offsets.push(w.len);
    w.patch(arrayAt + 4 * i, w.len - arrayAt, 4);
    f(w);
  });
  w.patch(0, w.len - 4, 4);
  return { bytes: w.bytes(), offsets };
}

function withExpr(w: ReturnType<typeof byteWriter>, e: Uint8Array): void {
  w.uleb(e.length);
  w.raw(e);
}

describe('DWARF 5 location and range lists', () => {
  const loc = listTable([
    (w) => {
      w.u8(C.DW_LLE_base_address); w.uint(0x1000, 8);
      w.u8(C.DW_LLE_offset_pair); w.uleb(0x10); w.uleb(0x20); withExpr(w, expr(C.DW_OP_reg0 + 5));
      w.u8(C.DW_LLE_startx_length); w.uleb(0); w.uleb(8); withExpr(w, expr(C.DW_OP_breg0 + 4, 0x78, C.DW_OP_stack_value));
      w.u8(C.DW_LLE_base_addressx); w.uleb(1);
      w.u8(C.DW_LLE_offset_pair); w.uleb(0); w.uleb(2); withExpr(w, expr());
      w.u8(C.DW_LLE_end_of_list);
    },
    (w) => {
      w.u8(C.DW_LLE_default_location); withExpr(w, expr(C.DW_OP_lit0 + 3, C.DW_OP_stack_value));
      w.u8(C.DW_LLE_start_end); w.uint(0x2000, 8); w.uint(0x2010, 8); withExpr(w, expr(C.DW_OP_entry_value, 1, C.DW_OP_reg0 + 1, C.DW_OP_stack_value));
      w.u8(C.DW_LLE_startx_endx); w.uleb(0); w.uleb(1); withExpr(w, expr(C.DW_OP_fbreg, 0x7c));
      w.u8(C.DW_LLE_start_length); w.uint(0x4000, 8); w.uleb(4); withExpr(w, expr(C.DW_OP_reg0));
      w.u8(C.DW_LLE_end_of_list);
    },
  ]);
  const rng = listTable([
    (w) => {
      w.u8(C.DW_RLE_offset_pair); w.uleb(4); w.uleb(8);
      w.u8(C.DW_RLE_base_addressx); w.uleb(1);
      w.u8(C.DW_RLE_offset_pair); w.uleb(1); w.uleb(2);
      w.u8(C.DW_RLE_startx_endx); w.uleb(0); w.uleb(1);
      w.u8(C.DW_RLE_startx_length); w.uleb(0); w.uleb(3);
      w.u8(C.DW_RLE_base_address); w.uint(0x9000, 8);
      w.u8(C.DW_RLE_offset_pair); w.uleb(0); w.uleb(1);
      w.u8(C.DW_RLE_start_end); w.uint(0x7000, 8); w.uint(0x7008, 8);
      w.u8(C.DW_RLE_start_length); w.uint(0x8000, 8); w.uleb(0x10);
      w.u8(C.DW_RLE_end_of_list);
    },
  ]);
  const dies: DieSpec[] = [
    { tag: C.DW_TAG_formal_parameter, label: 'p1', attrs: [{ at: C.DW_AT_location, form: C.DW_FORM_loclistx, value: 0n }] },
    { tag: C.DW_TAG_formal_parameter, label: 'p2', attrs: [{ at: C.DW_AT_location, form: C.DW_FORM_sec_offset, value: loc.offsets[1] }] },
    { tag: C.DW_TAG_formal_parameter, label: 'p3', attrs: [{ at: C.DW_AT_location, form: C.DW_FORM_exprloc, value: expr(C.DW_OP_reg0 + 2) }] },
    { tag: C.DW_TAG_member, label: 'm', attrs: [{ at: C.DW_AT_data_member_location, form: C.DW_FORM_data1, value: 24 }] },
    { tag: C.DW_TAG_lexical_block, label: 'b', attrs: [{ at: C.DW_AT_ranges, form: C.DW_FORM_rnglistx, value: 0n }] },
    { tag: C.DW_TAG_lexical_block, label: 'none' },
  ];
  const built = buildDwarf({
    littleEndian: true,
    addrs: [0x3000n, 0x5000n],
    units: [{
      version: 5,
      root: {
        tag: C.DW_TAG_compile_unit,
        attrs: [
          { at: C.DW_AT_low_pc, form: C.DW_FORM_addr, value: 0x100n },
          { at: C.DW_AT_addr_base, form: C.DW_FORM_sec_offset, value: 8 },
          { at: C.DW_AT_loclists_base, form: C.DW_FORM_sec_offset, value: 12 },
          { at: C.DW_AT_rnglists_base, form: C.DW_FORM_sec_offset, value: 12 },
        ],
        children: dies,
      },
    }],
  });
  built.sections.set('.debug_loclists', loc.bytes);
  built.sections.set('.debug_rnglists', rng.bytes);
  const { elf } = dwarfElf({ debug: built.sections });
  const d = openDwarf(elf, { base: READELF_OFFLINE_BASE });
  const at = (l: string): number => built.dies.get(l)!;

  it('iterates a loclistx list: base address entries, offset pairs, indexed starts, empty expressions', () => {
    expect(d.locations(at('p1'), C.DW_AT_location)).toEqual([
      { start: 0x1010n, end: 0x1020n, ops: [op(C.DW_OP_reg0 + 5)] },
      { start: 0x3000n, end: 0x3008n, ops: [op(C.DW_OP_breg0 + 4, MAX - 7n), op(C.DW_OP_stack_value, 0n, 0n, 2)] },
      { start: 0x5000n, end: 0x5002n, ops: [] },
    ]);
    // A location list is not a single expression (dwarf_getlocation fails).
    expect(d.location(at('p1'), C.DW_AT_location)).toBeUndefined();
  });

  it('iterates a sec_offset list: default location, start_end, entry_value, startx_endx, start_length', () => {
    const l = d.locations(at('p2'), C.DW_AT_location)!;
    expect(l.map((e) => [e.start, e.end])).toEqual([[0n, MAX], [0x2000n, 0x2010n], [0x3000n, 0x5000n], [0x4000n, 0x4004n]]);
    const ev = l[1]!.ops[0]!;
    expect(ev.atom).toBe(C.DW_OP_entry_value);
    expect(ev.number).toBe(1n);
    expect(decodeBlock(ev.block!, exprContext(d.unitOf(at('p2'))))).toEqual([op(C.DW_OP_reg0 + 1)]);
    expect(l[2]!.ops).toEqual([op(C.DW_OP_fbreg, MAX - 3n)]);
  });

  it('a single expression is one entry covering everything; a constant member offset is DW_OP_plus_uconst', () => {
    expect(d.locations(at('p3'), C.DW_AT_location)).toEqual([{ start: 0n, end: MAX, ops: [op(C.DW_OP_reg0 + 2)] }]);
    expect(d.location(at('p3'), C.DW_AT_location)).toEqual([op(C.DW_OP_reg0 + 2)]);
    expect(d.location(at('m'), C.DW_AT_data_member_location)).toEqual([op(C.DW_OP_plus_uconst, 24n)]);
    expect(d.locations(at('none'), C.DW_AT_location)).toBeUndefined();
  });

  it('reads a rnglistx range list with every entry kind', () => {
    expect(d.ranges(at('b'))).toEqual([
      { start: 0x104n, end: 0x108n },
      { start: 0x5001n, end: 0x5002n },
      { start: 0x3000n, end: 0x5000n },
      { start: 0x3000n, end: 0x3003n },
      { start: 0x9000n, end: 0x9001n },
      { start: 0x7000n, end: 0x7008n },
      { start: 0x8000n, end: 0x8010n },
    ]);
    expect(d.ranges(at('none'))).toEqual([]);
  });
});

describe('DWARF 4 .debug_loc and .debug_ranges', () => {
  const w = byteWriter(true);
  // List at 0: base selection 0x500, then one range; list at 0x2a: relative to the CU base.
  w.uint(MAX, 8); w.uint(0x500, 8);
  w.uint(0x10, 8); w.uint(0x20, 8); w.uint(1, 2); w.u8(C.DW_OP_reg0);
  w.uint(0, 8); w.uint(0, 8);
  const second = w.len;
  w.uint(0x10, 8); w.uint(0x18, 8); w.uint(2, 2); w.u8(C.DW_OP_fbreg); w.u8(0x70);
  w.uint(0, 8); w.uint(0, 8);
  const r = byteWriter(true);
  r.uint(1, 8); r.uint(3, 8); r.uint(MAX, 8); r.uint(0x8000, 8); r.uint(2, 8); r.uint(4, 8); r.uint(0, 8); r.uint(0, 8);
  const built = buildDwarf({
    littleEndian: true,
    units: [{
      version: 4,
      root: {
        tag: C.DW_TAG_compile_unit,
        attrs: [{ at: C.DW_AT_low_pc, form: C.DW_FORM_addr, value: 0x100n }],
        children: [
          { tag: C.DW_TAG_variable, label: 'a', attrs: [{ at: C.DW_AT_location, form: C.DW_FORM_sec_offset, value: 0 }] },
          { tag: C.DW_TAG_variable, label: 'b', attrs: [{ at: C.DW_AT_location, form: C.DW_FORM_sec_offset, value: second }] },
          { tag: C.DW_TAG_variable, label: 'blk', attrs: [{ at: C.DW_AT_location, form: C.DW_FORM_block1, value: expr(C.DW_OP_reg0) }] },
          { tag: C.DW_TAG_lexical_block, label: 'r', attrs: [{ at: C.DW_AT_ranges, form: C.DW_FORM_sec_offset, value: 0 }] },
        ],
      },
    }],
  });
  built.sections.set('.debug_loc', w.bytes());
  built.sections.set('.debug_ranges', r.bytes());
  const d = openDwarf(dwarfElf({ debug: built.sections }).elf);
  const at = (l: string): number => built.dies.get(l)!;

  it('applies base address selection entries and the CU base', () => {
    expect(d.locations(at('a'), C.DW_AT_location)).toEqual([{ start: 0x510n, end: 0x520n, ops: [op(C.DW_OP_reg0)] }]);
    expect(d.locations(at('b'), C.DW_AT_location)).toEqual([{ start: 0x110n, end: 0x118n, ops: [op(C.DW_OP_fbreg, MAX - 15n)] }]);
    expect(d.ranges(at('r'))).toEqual([{ start: 0x101n, end: 0x103n }, { start: 0x8002n, end: 0x8004n }]);
  });

  it('refuses block forms as locations from DWARF 4 on, as libdw does', () => {
    expect(d.location(at('blk'), C.DW_AT_location)).toBeUndefined();
  });
});

describe('expression operations', () => {
  it('decodes operands as libdw: sizes, signedness, blocks, references', () => {
    const ctx = { addressSize: 8, refSize: 4, littleEndian: true, file: undefined };
    const ops = decodeBlock(expr(
      C.DW_OP_const1s, 0xff, C.DW_OP_const2u, 0x34, 0x12, C.DW_OP_const4s, 0xfe, 0xff, 0xff, 0xff,
      C.DW_OP_const8u, 1, 0, 0, 0, 0, 0, 0, 0x80, C.DW_OP_constu, 0x80, 0x01, C.DW_OP_consts, 0x7f,
      C.DW_OP_bregx, 3, 0x7e, C.DW_OP_piece, 8, C.DW_OP_bit_piece, 3, 5, C.DW_OP_implicit_value, 2, 0xaa, 0xbb,
      C.DW_OP_implicit_pointer, 0x10, 0, 0, 0, 4, C.DW_OP_call_ref, 0x20, 0, 0, 0, C.DW_OP_skip, 0xfd, 0xff,
      C.DW_OP_deref_type, 4, 0x2a, C.DW_OP_const_type, 0x2b, 2, 1, 2, C.DW_OP_convert, 0x2c, C.DW_OP_GNU_parameter_ref, 9, 0, 0, 0,
      C.DW_OP_addrx, 1, C.DW_OP_stack_value,
    ), ctx);
    expect(ops.map((o) => [o.atom, o.number, o.number2, o.offset])).toEqual([
      [C.DW_OP_const1s, MAX, 0n, 0], [C.DW_OP_const2u, 0x1234n, 0n, 2], [C.DW_OP_const4s, MAX - 1n, 0n, 5],
      [C.DW_OP_const8u, 0x8000000000000001n, 0n, 10], [C.DW_OP_constu, 128n, 0n, 19], [C.DW_OP_consts, MAX, 0n, 22],
      [C.DW_OP_bregx, 3n, MAX - 1n, 24], [C.DW_OP_piece, 8n, 0n, 27], [C.DW_OP_bit_piece, 3n, 5n, 29],
      [C.DW_OP_implicit_value, 2n, 0n, 32], [C.DW_OP_implicit_pointer, 0x10n, 4n, 36], [C.DW_OP_call_ref, 0x20n, 0n, 42],
      [C.DW_OP_skip, MAX - 2n, 0n, 47], [C.DW_OP_deref_type, 4n, 0x2an, 50], [C.DW_OP_const_type, 0x2bn, 0n, 53],
      [C.DW_OP_convert, 0x2cn, 0n, 58], [C.DW_OP_GNU_parameter_ref, 9n, 0n, 60], [C.DW_OP_addrx, 1n, 0n, 65],
      [C.DW_OP_stack_value, 0n, 0n, 67],
    ]);
    expect(Array.from(ops[9]!.block!)).toEqual([0xaa, 0xbb]);
    expect(Array.from(ops[14]!.block!)).toEqual([1, 2]);
  });

  it('an unknown operation or a truncated operand is a DwarfFormatError', () => {
    const ctx = { addressSize: 8, refSize: 4, littleEndian: true, file: 'x.ko' };
    expect(() => decodeBlock(expr(C.DW_OP_reg0, 0xff), ctx, 0x40)).toThrow(/unknown DWARF expression operation 0xff/);
    expect(() => decodeBlock(expr(C.DW_OP_addr, 1, 2, 3), ctx)).toThrow(/DW_OP_addr operand needs 8 bytes/);
    expect(() => decodeBlock(expr(C.DW_OP_implicit_value, 5, 1), ctx)).toThrow(/block operand needs 5 bytes/);
  });
});
