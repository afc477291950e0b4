/**
 * An attribute of a DIE and its value, read the way libdw's dwarf_form* functions read
 * it (elfutils 0.196). Each accessor answers `undefined` where libdw answers "not this
 * class" (dwarf_formudata on a string, dwarf_formaddr on a constant...) and throws a
 * DwarfFormatError where the data itself is broken (an offset past its section, a
 * truncated value) — libdw returns -1 for both; pahole treats both as "no value".
 */
import {
  DW_AT_addr_base, DW_AT_data_member_location, DW_AT_frame_base, DW_AT_GNU_addr_base, DW_AT_GNU_locviews,
  DW_AT_GNU_macros, DW_AT_GNU_ranges_base, DW_AT_location, DW_AT_loclists_base, DW_AT_macro_info,
  DW_AT_macros, DW_AT_ranges, DW_AT_return_addr, DW_AT_rnglists_base, DW_AT_segment, DW_AT_start_scope,
  DW_AT_static_link, DW_AT_stmt_list, DW_AT_str_offsets_base, DW_AT_string_length, DW_AT_use_location,
  DW_AT_vtable_elem_location,
  DW_FORM_addr, DW_FORM_addrx, DW_FORM_addrx1, DW_FORM_addrx2, DW_FORM_addrx3, DW_FORM_addrx4, DW_FORM_block,
  DW_FORM_block1, DW_FORM_block2, DW_FORM_block4, DW_FORM_data1, DW_FORM_data16, DW_FORM_data2, DW_FORM_data4,
  DW_FORM_data8, DW_FORM_exprloc, DW_FORM_flag, DW_FORM_flag_present, DW_FORM_GNU_addr_index, DW_FORM_GNU_ref_alt,
  DW_FORM_GNU_str_index, DW_FORM_GNU_strp_alt, DW_FORM_implicit_const, DW_FORM_line_strp, DW_FORM_loclistx,
  DW_FORM_ref1, DW_FORM_ref2, DW_FORM_ref4, DW_FORM_ref8, DW_FORM_ref_addr, DW_FORM_ref_sig8, DW_FORM_ref_sup4,
  DW_FORM_ref_sup8, DW_FORM_ref_udata, DW_FORM_rnglistx, DW_FORM_sdata, DW_FORM_sec_offset, DW_FORM_string,
  DW_FORM_strp, DW_FORM_strp_sup, DW_FORM_strx, DW_FORM_strx1, DW_FORM_strx2, DW_FORM_strx3, DW_FORM_strx4,
  DW_FORM_udata,
} from './constants.js';
import { decodeString } from '../bytes.js';
import type { DwarfSectionName } from './sections.js';
import type { DwarfUnit } from './unit.js';
import type { DwarfOp } from './expr.js';
import { getLocation, getLocations, type DwarfLocation } from './lists.js';

export class DwarfAttribute {
  readonly unit: DwarfUnit;
  /** Offset of the DIE the attribute belongs to. */
  readonly die: number;
  /** DW_AT_* */
  readonly name: number;
  /** DW_FORM_* (DW_FORM_indirect already resolved to the real form). */
  readonly form: number;
  /** Offset of the value in .debug_info (for implicit_const: of the DIE's attributes). */
  readonly pos: number;
  /** The DW_FORM_implicit_const value from the abbreviation (0n for other forms). */
  readonly implicitConst: bigint;

  constructor(unit: DwarfUnit, die: number, name: number, form: number, pos: number, implicitConst: bigint) {
    this.unit = unit;
    this.die = die;
    this.name = name;
    this.form = form;
    this.pos = pos;
    this.implicitConst = implicitConst;
  }

  /**
   * @internal Points this object at another attribute. Dwarf's typed shortcuts reuse one
   * attribute object this way instead of allocating one per lookup; the value methods read
   * their fields before calling out, so a lookup nested inside one (a unit base) is safe.
   */
  reset(unit: DwarfUnit, die: number, name: number, form: number, pos: number, implicitConst: bigint): this {
    const w = this as { -readonly [K in keyof DwarfAttribute]: DwarfAttribute[K] };
    w.unit = unit;
    w.die = die;
    w.name = name;
    w.form = form;
    w.pos = pos;
    w.implicitConst = implicitConst;
    return this;
  }

  private fail(code: string, message: string): Error {
    return this.unit.dwarf.error(code, message, '.debug_info', this.pos, this.die);
  }

  /** dwarf_formudata: constants, section offsets (checked against their section), indexes. */
  udata(): bigint | undefined {
    const u = this.unit;
    const c = u.cursor(this.pos, this.die);
    switch (this.form) {
      case DW_FORM_data1: return BigInt(c.u8());
      case DW_FORM_data2: return BigInt(c.u16());
      case DW_FORM_data4:
      case DW_FORM_data8:
      case DW_FORM_sec_offset: {
        if (this.form === DW_FORM_sec_offset || (u.version < 4 && this.name !== DW_AT_start_scope)) {
          const target = ptrSection(this.name, u.version);
          if (target !== undefined) return BigInt(this.sectionOffset(target));
          if (this.form === DW_FORM_sec_offset) throw this.fail('DWARF_BAD_FORM', `DW_FORM_sec_offset on attribute 0x${this.name.toString(16)}, which is not a section offset`);
        }
        return this.form === DW_FORM_data4 ? BigInt(c.u32()) : c.u64();
      }
      case DW_FORM_sdata: return BigInt.asUintN(64, c.slebBig());
      case DW_FORM_udata:
      case DW_FORM_rnglistx:
      case DW_FORM_loclistx:
      case DW_FORM_addrx:
      case DW_FORM_GNU_addr_index:
        return c.ulebBig();
      case DW_FORM_implicit_const: return BigInt.asUintN(64, this.implicitConst);
      case DW_FORM_addrx1: return BigInt(c.u8());
      case DW_FORM_addrx2: return BigInt(c.u16());
      case DW_FORM_addrx3: return BigInt(c.u24());
      case DW_FORM_addrx4: return BigInt(c.u32());
      default: return undefined;
    }
  }

  /** dwarf_formsdata: the constant forms read as signed (data1..8 sign-extended from their size). */
  sdata(): bigint | undefined {
    const c = this.unit.cursor(this.pos, this.die);
    switch (this.form) {
      case DW_FORM_data1: return BigInt(c.i8());
      case DW_FORM_data2: return BigInt(c.i16());
      case DW_FORM_data4: return BigInt(c.i32());
      case DW_FORM_data8: return c.i64();
      case DW_FORM_sdata: return c.slebBig();
      case DW_FORM_udata: return BigInt.asIntN(64, c.ulebBig());
      case DW_FORM_implicit_const: return this.implicitConst;
      default: return undefined;
    }
  }

  /** dwarf_formaddr: DW_FORM_addr, or an index into .debug_addr (addrx*). */
  addr(): bigint | undefined {
    const u = this.unit;
    const c = u.cursor(this.pos, this.die);
    let idx: bigint;
    switch (this.form) {
      case DW_FORM_addr: return c.addr(u.addressSize);
      case DW_FORM_addrx: case DW_FORM_GNU_addr_index: idx = c.ulebBig(); break;
      case DW_FORM_addrx1: idx = BigInt(c.u8()); break;
      case DW_FORM_addrx2: idx = BigInt(c.u16()); break;
      case DW_FORM_addrx3: idx = BigInt(c.u24()); break;
      case DW_FORM_addrx4: idx = BigInt(c.u32()); break;
      default: return undefined;
    }
    return u.dwarf.indexedAddress(u, idx, this.die);
  }

  /** dwarf_formstring: inline, .debug_str, .debug_line_str or through .debug_str_offsets. */
  string(): string | undefined {
    const u = this.unit;
    const d = u.dwarf;
    const c = u.cursor(this.pos, this.die);
    switch (this.form) {
      case DW_FORM_string: {
        const bytes = d.infoOf(u).data;
        const nul = bytes.indexOf(0, this.pos);
        if (nul < 0 || nul >= u.end) throw this.fail('DWARF_TRUNCATED', 'DW_FORM_string is not NUL-terminated before the end of the unit');
        return decodeString(bytes, this.pos, nul);
      }
      case DW_FORM_strp: return d.stringAt('.debug_str', c.offset(u.offsetSize), this.die);
      case DW_FORM_line_strp: return d.stringAt('.debug_line_str', c.offset(u.offsetSize), this.die);
      case DW_FORM_strx: case DW_FORM_GNU_str_index: return d.indexedString(u, c.ulebBig(), this.die);
      case DW_FORM_strx1: return d.indexedString(u, BigInt(c.u8()), this.die);
      case DW_FORM_strx2: return d.indexedString(u, BigInt(c.u16()), this.die);
      case DW_FORM_strx3: return d.indexedString(u, BigInt(c.u24()), this.die);
      case DW_FORM_strx4: return d.indexedString(u, BigInt(c.u32()), this.die);
      case DW_FORM_GNU_strp_alt:
      case DW_FORM_strp_sup:
        throw this.fail('DWARF_UNSUPPORTED_FORM', `form 0x${this.form.toString(16)} refers to a supplementary (dwz) file, which modbtf does not read`);
      default: return undefined;
    }
  }

  /** dwarf_formflag */
  flag(): boolean | undefined {
    if (this.form === DW_FORM_flag_present) return true;
    if (this.form !== DW_FORM_flag) return undefined;
    return this.unit.cursor(this.pos, this.die).u8() !== 0;
  }

  /**
   * dwarf_formref_die: the .debug_info offset of the DIE referred to (unit-relative refs,
   * DW_FORM_ref_addr across units, DW_FORM_ref_sig8 through the type units).
   */
  ref(): number | undefined {
    const u = this.unit;
    const d = u.dwarf;
    const c = u.cursor(this.pos, this.die);
    let rel: number;
    switch (this.form) {
      case DW_FORM_ref1: rel = c.u8(); break;
      case DW_FORM_ref2: rel = c.u16(); break;
      case DW_FORM_ref4: rel = c.u32(); break;
      case DW_FORM_ref8: rel = c.u64n(); break;
      case DW_FORM_ref_udata: rel = c.uleb(); break;
      case DW_FORM_ref_addr: {
        const off = c.offset(u.version === 2 ? u.addressSize : u.offsetSize);
        return d.checkDieOffset(off, this.die, this.pos);
      }
      case DW_FORM_ref_sig8: return d.typeUnitDie(c.u64(), this.die, this.pos);
      case DW_FORM_GNU_ref_alt:
      case DW_FORM_ref_sup4:
      case DW_FORM_ref_sup8:
        throw this.fail('DWARF_UNSUPPORTED_FORM', `form 0x${this.form.toString(16)} refers to a supplementary (dwz) file, which modbtf does not read`);
      default: return undefined;
    }
    if (rel >= u.end - u.offset) throw this.fail('DWARF_BAD_REF', `reference 0x${rel.toString(16)} is past the end of its unit (${u.end - u.offset} bytes)`);
    return u.offset + rel;
  }

  /** The unit-relative value of a unit-local reference form (what dwarf_formref gives), else undefined. */
  refOffset(): number | undefined {
    const c = this.unit.cursor(this.pos, this.die);
    switch (this.form) {
      case DW_FORM_ref1: return c.u8();
      case DW_FORM_ref2: return c.u16();
      case DW_FORM_ref4: return c.u32();
      case DW_FORM_ref8: return c.u64n();
      case DW_FORM_ref_udata: return c.uleb();
      default: return undefined;
    }
  }

  /** dwarf_formblock: block forms, exprloc and data16, as a view of .debug_info. */
  block(): Uint8Array | undefined {
    const c = this.unit.cursor(this.pos, this.die);
    let len: number;
    switch (this.form) {
      case DW_FORM_block1: len = c.u8(); break;
      case DW_FORM_block2: len = c.u16(); break;
      case DW_FORM_block4: len = c.u32(); break;
      case DW_FORM_block: case DW_FORM_exprloc: len = c.uleb(); break;
      case DW_FORM_data16: len = 16; break;
      default: return undefined;
    }
    return c.bytesOf(len, 'block');
  }

  /** dwarf_getlocation: the operations of a single expression (see lists.ts getLocation). */
  location(): DwarfOp[] | undefined {
    return getLocation(this);
  }

  /** dwarf_getlocations iterated: every entry of the location list (see lists.ts getLocations). */
  locations(): DwarfLocation[] | undefined {
    return getLocations(this);
  }

  /** The raw 8 bytes of a DW_FORM_ref_sig8 value (the type signature). */
  signature(): bigint | undefined {
    return this.form === DW_FORM_ref_sig8 ? this.unit.cursor(this.pos, this.die).u64() : undefined;
  }

  /**
   * libdw __libdw_formptr: the value as an offset into `section`, which must exist and
   * contain it. sec_offset always; data4/data8/udata... only before DWARF 4.
   */
  sectionOffset(section: DwarfSectionName): number {
    const u = this.unit;
    const c = u.cursor(this.pos, this.die);
    let off: number;
    if (this.form === DW_FORM_sec_offset) off = c.offset(u.offsetSize);
    else if (u.version > 3) throw this.fail('DWARF_BAD_FORM', `form 0x${this.form.toString(16)} is not a section offset in DWARF ${u.version}`);
    else if (this.form === DW_FORM_data4) off = c.u32();
    else if (this.form === DW_FORM_data8) off = c.u64n();
    else {
      const v = this.udataPlain();
      if (v === undefined) throw this.fail('DWARF_BAD_FORM', `form 0x${this.form.toString(16)} is not a section offset`);
      if (v > BigInt(Number.MAX_SAFE_INTEGER)) throw this.fail('DWARF_BAD_OFFSET', `offset 0x${v.toString(16)} into ${section} is too large`);
      off = Number(v);
    }
    const sec = u.dwarf.section(section, this.die);
    if (sec === undefined) throw this.fail('DWARF_MISSING_SECTION', `attribute 0x${this.name.toString(16)} points into ${section}, which the file does not have`);
    if (off >= sec.data.length) throw this.fail('DWARF_BAD_OFFSET', `offset 0x${off.toString(16)} is past the end of the ${sec.data.length}-byte ${section}`);
    return off;
  }

  /** formudata without the section-offset interpretation (for __libdw_formptr's fallback). */
  private udataPlain(): bigint | undefined {
    const c = this.unit.cursor(this.pos, this.die);
    switch (this.form) {
      case DW_FORM_data1: return BigInt(c.u8());
      case DW_FORM_data2: return BigInt(c.u16());
      case DW_FORM_sdata: return BigInt.asUintN(64, c.slebBig());
      case DW_FORM_udata: return c.ulebBig();
      case DW_FORM_implicit_const: return BigInt.asUintN(64, this.implicitConst);
      default: return undefined;
    }
  }
}

/**
 * The section a *ptr-class attribute points into, as dwarf_formudata decides it for
 * DW_FORM_sec_offset (and data4/data8 before DWARF 4); undefined for other attributes.
 */
export function ptrSection(name: number, version: number): DwarfSectionName | undefined {
  switch (name) {
    case DW_AT_data_member_location: case DW_AT_frame_base: case DW_AT_location: case DW_AT_return_addr:
    case DW_AT_segment: case DW_AT_static_link: case DW_AT_string_length: case DW_AT_use_location:
    case DW_AT_vtable_elem_location: case DW_AT_GNU_locviews: case DW_AT_loclists_base:
      return version < 5 ? '.debug_loc' : '.debug_loclists';
    case DW_AT_macro_info: return '.debug_macinfo';
    case DW_AT_GNU_macros: case DW_AT_macros: return '.debug_macro';
    case DW_AT_ranges: case DW_AT_start_scope: case DW_AT_GNU_ranges_base: case DW_AT_rnglists_base:
      return version < 5 ? '.debug_ranges' : '.debug_rnglists';
    case DW_AT_stmt_list: return '.debug_line';
    case DW_AT_addr_base: case DW_AT_GNU_addr_base: return '.debug_addr';
    case DW_AT_str_offsets_base: return '.debug_str_offsets';
    default: return undefined;
  }
}
