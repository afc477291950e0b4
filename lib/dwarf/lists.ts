/**
 * Location descriptions and address ranges with libdw's semantics (elfutils 0.196
 * dwarf_getlocation.c, dwarf_ranges.c): a single expression, a DWARF 4 .debug_loc /
 * .debug_ranges list (base address selection, 0/0 end), or a DWARF 5 .debug_loclists /
 * .debug_rnglists list (DW_LLE_* / DW_RLE_*, indexed through the unit's bases).
 *
 * Addresses are those of the relocated sections (see layout.ts); nothing is adjusted
 * afterwards, as libdw adjusts nothing either.
 */
import type { DwarfAttribute } from './attribute.js';
import * as C from './constants.js';
import { Cursor } from './cursor.js';
import type { Dwarf } from './dwarf.js';
import { decodeExpression, type DwarfOp, type ExprContext } from './expr.js';
import type { DwarfSection } from './sections.js';
import type { DwarfUnit } from './unit.js';

export interface DwarfLocation {
  /** Start and end of the addresses it covers (0 and 2^64-1 for a single expression). */
  readonly start: bigint;
  readonly end: bigint;
  readonly ops: readonly DwarfOp[];
}

export interface DwarfRange {
  readonly start: bigint;
  readonly end: bigint;
}

const MAX64 = (1n << 64n) - 1n;

export function exprContext(u: DwarfUnit): ExprContext {
  return {
    addressSize: u.addressSize,
    refSize: u.version === 2 ? u.addressSize : u.offsetSize,
    littleEndian: u.dwarf.littleEndian,
    file: u.dwarf.file,
  };
}

/** libdw attr_ok: may this attribute hold a location description at all? */
function attrOk(a: DwarfAttribute): boolean {
  if (a.form === C.DW_FORM_exprloc) return true;
  if (a.unit.version >= 4 && (a.form === C.DW_FORM_block || a.form === C.DW_FORM_block1 || a.form === C.DW_FORM_block2 || a.form === C.DW_FORM_block4)) return false;
  switch (a.name) {
    case C.DW_AT_location: case C.DW_AT_byte_size: case C.DW_AT_bit_offset: case C.DW_AT_bit_size:
    case C.DW_AT_lower_bound: case C.DW_AT_bit_stride: case C.DW_AT_upper_bound: case C.DW_AT_count:
    case C.DW_AT_allocated: case C.DW_AT_associated: case C.DW_AT_data_location: case C.DW_AT_byte_stride:
    case C.DW_AT_rank: case C.DW_AT_call_value: case C.DW_AT_call_target: case C.DW_AT_call_target_clobbered:
    case C.DW_AT_call_data_location: case C.DW_AT_call_data_value: case C.DW_AT_data_member_location:
    case C.DW_AT_vtable_elem_location: case C.DW_AT_string_length: case C.DW_AT_use_location:
    case C.DW_AT_frame_base: case C.DW_AT_return_addr: case C.DW_AT_static_link: case C.DW_AT_segment:
    case C.DW_AT_GNU_call_site_value: case C.DW_AT_GNU_call_site_data_value: case C.DW_AT_GNU_call_site_target:
    case C.DW_AT_GNU_call_site_target_clobbered:
      return true;
    default:
      return false;
  }
}

/** libdw is_constant_offset: DW_AT_data_member_location as a constant becomes DW_OP_plus_uconst. */
function constantOffset(a: DwarfAttribute): DwarfOp[] | undefined {
  if (a.name !== C.DW_AT_data_member_location) return undefined;
  switch (a.form) {
    case C.DW_FORM_data1: case C.DW_FORM_data2: case C.DW_FORM_data4: case C.DW_FORM_data8:
    case C.DW_FORM_sdata: case C.DW_FORM_udata: case C.DW_FORM_implicit_const:
      return [{ atom: C.DW_OP_plus_uconst, number: a.udata() as bigint, number2: 0n, offset: 0 }];
    default:
      return undefined;
  }
}

function blockOps(a: DwarfAttribute): DwarfOp[] | undefined {
  if (a.form === C.DW_FORM_data16) return undefined;
  const b = a.block();
  if (b === undefined) return undefined;
  const info = a.unit.dwarf.infoOf(a.unit);
  return decodeExpression(info, b.byteOffset - info.data.byteOffset, b.length, exprContext(a.unit), a.die);
}

/**
 * dwarf_getlocation: the operations of a single location expression (also a constant
 * DW_AT_data_member_location); undefined where libdw fails without the data being
 * wrong: not a location attribute, a location list (use getLocations), DW_FORM_data16.
 */
export function getLocation(a: DwarfAttribute): DwarfOp[] | undefined {
  if (!attrOk(a)) return undefined;
  return constantOffset(a) ?? blockOps(a);
}

/**
 * dwarf_getlocations, iterated to the end: every entry of a location list with the
 * addresses it covers (base address entries applied), or the one entry of a single
 * expression. undefined where libdw's first call fails without the data being wrong.
 */
export function getLocations(a: DwarfAttribute): DwarfLocation[] | undefined {
  if (!attrOk(a)) return undefined;
  const single = blockOps(a) ?? constantOffset(a);
  if (single !== undefined) return [{ start: 0n, end: MAX64, ops: single }];
  const u = a.unit;
  const d = u.dwarf;
  const secName = u.version < 5 ? '.debug_loc' : '.debug_loclists';
  let start: number;
  if (a.form === C.DW_FORM_loclistx) {
    start = listIndexOffset(d, u, a, secName, u.locsBase());
  } else {
    if (a.form === C.DW_FORM_data16) return undefined;
    start = a.sectionOffset(secName);
  }
  const sec = d.section(secName, a.die) as DwarfSection;
  const out: DwarfLocation[] = [];
  const base = { value: u.baseAddress() };
  const c = new Cursor(sec, d.littleEndian, d.file, start);
  c.die = a.die;
  const ctx = exprContext(u);
  for (;;) {
    const r = readPair(c, u, secName, base);
    if (r === 'end') break;
    if (r === 'base') continue;
    const len = secName === '.debug_loc' ? c.u16('expression length') : c.uleb('expression length');
    c.need(len, 'location expression');
    const ops = decodeExpression(sec, c.pos, len, ctx, a.die);
    c.pos += len;
    out.push({ start: r.start, end: r.end, ops });
  }
  return out;
}

/**
 * dwarf_ranges, iterated to the end: DW_AT_low_pc/DW_AT_high_pc as one range, else the
 * DW_AT_ranges list; [] when the DIE has neither.
 */
export function getRanges(d: Dwarf, die: number): DwarfRange[] {
  const high = d.highPc(die);
  const low = high !== undefined ? d.lowPc(die) : undefined;
  if (high !== undefined && low !== undefined) return [{ start: low, end: high }];
  const a = d.attr(die, C.DW_AT_ranges);
  if (a === undefined) return [];
  const u = a.unit;
  const secName = u.version < 5 ? '.debug_ranges' : '.debug_rnglists';
  const start = a.form === C.DW_FORM_rnglistx ? listIndexOffset(d, u, a, secName, u.rangesBase()) : a.sectionOffset(secName);
  const sec = d.section(secName, die) as DwarfSection;
  const base = { value: u.baseAddress() };
  const c = new Cursor(sec, d.littleEndian, d.file, start);
  c.die = die;
  const out: DwarfRange[] = [];
  for (;;) {
    const r = readPair(c, u, secName, base);
    if (r === 'end') break;
    if (r === 'base') continue;
    out.push(r);
  }
  return out;
}

/** The start of list number `idx` (DW_FORM_loclistx / rnglistx): base + offsets[idx] (libdw initial_offset). */
function listIndexOffset(d: Dwarf, u: DwarfUnit, a: DwarfAttribute, secName: '.debug_loc' | '.debug_loclists' | '.debug_ranges' | '.debug_rnglists', base: number): number {
  const idx = a.udata() as bigint;
  const sec = d.section(secName, a.die);
  if (sec === undefined) throw d.error('DWARF_MISSING_SECTION', `a list index refers to ${secName}, which the file does not have`, '.debug_info', a.pos, a.die);
  const size = u.offsetSize;
  const len = sec.data.length;
  if (size > len || base > len - size) throw d.error('DWARF_BAD_OFFSET', `list base 0x${base.toString(16)} is outside the ${len}-byte ${secName}`, secName, base, a.die);
  const max = Math.floor((len - size - base) / size);
  if (idx > BigInt(max)) throw d.error('DWARF_BAD_OFFSET', `list index ${idx} is past the offsets at 0x${base.toString(16)} (${max + 1} entries)`, secName, base, a.die);
  const c = new Cursor(sec, d.littleEndian, d.file, base + Number(idx) * size);
  c.die = a.die;
  return base + c.offset(size);
}

/**
 * One entry of a range or location list (libdw __libdw_read_begin_end_pair_inc): a range,
 * a base address change ('base'), or the end of the list ('end').
 */
function readPair(c: Cursor, u: DwarfUnit, secName: string, base: { value: bigint }): DwarfRange | 'base' | 'end' {
  const width = u.addressSize;
  const d = u.dwarf;
  if (secName === '.debug_ranges' || secName === '.debug_loc') {
    const escape = width === 8 ? MAX64 : 0xffffffffn;
    const begin = c.addr(width, 'range start');
    const end = c.addr(width, 'range end');
    if (begin === escape) {
      if (end === escape) throw c.fail('DWARF_BAD_LIST', 'base address selection entry with an escape address', c.pos - 2 * width);
      base.value = end;
      return 'base';
    }
    if (begin === 0n && end === 0n) return 'end';
    return { start: BigInt.asUintN(64, begin + base.value), end: BigInt.asUintN(64, end + base.value) };
  }
  const at = c.pos;
  const kind = c.u8('list entry kind');
  const addrx = (what: string): bigint => d.indexedAddress(u, c.ulebBig(what), c.die);
  if (secName === '.debug_rnglists') {
    switch (kind) {
      case C.DW_RLE_end_of_list: return 'end';
      case C.DW_RLE_base_addressx: base.value = addrx('base address index'); return 'base';
      case C.DW_RLE_startx_endx: { const s = addrx('start index'); const e = addrx('end index'); return { start: s, end: e }; }
      case C.DW_RLE_startx_length: { const s = addrx('start index'); const n = c.ulebBig('length'); return { start: s, end: BigInt.asUintN(64, s + n) }; }
      case C.DW_RLE_offset_pair: { const s = c.ulebBig('start offset'); const e = c.ulebBig('end offset'); return { start: BigInt.asUintN(64, s + base.value), end: BigInt.asUintN(64, e + base.value) }; }
      case C.DW_RLE_base_address: base.value = c.addr(width, 'base address'); return 'base';
      case C.DW_RLE_start_end: { const s = c.addr(width, 'start'); const e = c.addr(width, 'end'); return { start: s, end: e }; }
      case C.DW_RLE_start_length: { const s = c.addr(width, 'start'); const n = c.ulebBig('length'); return { start: s, end: BigInt.asUintN(64, s + n) }; }
      default: throw c.fail('DWARF_BAD_LIST', `unknown range list entry kind ${kind}`, at);
    }
  }
  switch (kind) {
    case C.DW_LLE_end_of_list: return 'end';
    case C.DW_LLE_base_addressx: base.value = addrx('base address index'); return 'base';
    case C.DW_LLE_startx_endx: { const s = addrx('start index'); const e = addrx('end index'); return { start: s, end: e }; }
    case C.DW_LLE_startx_length: { const s = addrx('start index'); const n = c.ulebBig('length'); return { start: s, end: BigInt.asUintN(64, s + n) }; }
    case C.DW_LLE_offset_pair: { const s = c.ulebBig('start offset'); const e = c.ulebBig('end offset'); return { start: BigInt.asUintN(64, s + base.value), end: BigInt.asUintN(64, e + base.value) }; }
    case C.DW_LLE_default_location: return { start: 0n, end: MAX64 };
    case C.DW_LLE_base_address: base.value = c.addr(width, 'base address'); return 'base';
    case C.DW_LLE_start_end: { const s = c.addr(width, 'start'); const e = c.addr(width, 'end'); return { start: s, end: e }; }
    case C.DW_LLE_start_length: { const s = c.addr(width, 'start'); const n = c.ulebBig('length'); return { start: s, end: BigInt.asUintN(64, s + n) }; }
    default: throw c.fail('DWARF_BAD_LIST', `unknown location list entry kind ${kind}`, at);
  }
}
