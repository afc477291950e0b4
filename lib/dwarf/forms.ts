/**
 * Sizes of attribute values by form (libdw __libdw_form_val_len), and the per-abbrev
 * value layout that lets an attribute be found without decoding the ones before it.
 */
import {
  DW_FORM_addr, DW_FORM_addrx, DW_FORM_addrx1, DW_FORM_addrx2, DW_FORM_addrx3, DW_FORM_addrx4,
  DW_FORM_block, DW_FORM_block1, DW_FORM_block2, DW_FORM_block4, DW_FORM_data1, DW_FORM_data16,
  DW_FORM_data2, DW_FORM_data4, DW_FORM_data8, DW_FORM_exprloc, DW_FORM_flag, DW_FORM_flag_present,
  DW_FORM_GNU_addr_index, DW_FORM_GNU_ref_alt, DW_FORM_GNU_str_index, DW_FORM_GNU_strp_alt,
  DW_FORM_implicit_const, DW_FORM_indirect, DW_FORM_line_strp, DW_FORM_loclistx, DW_FORM_ref1,
  DW_FORM_ref2, DW_FORM_ref4, DW_FORM_ref8, DW_FORM_ref_addr, DW_FORM_ref_sig8, DW_FORM_ref_sup4,
  DW_FORM_ref_sup8, DW_FORM_ref_udata, DW_FORM_rnglistx, DW_FORM_sdata, DW_FORM_sec_offset,
  DW_FORM_string, DW_FORM_strp, DW_FORM_strp_sup, DW_FORM_strx, DW_FORM_strx1, DW_FORM_strx2,
  DW_FORM_strx3, DW_FORM_strx4, DW_FORM_udata,
} from './constants.js';

/** The value is variable-length (read to know its size). */
export const FORM_VARIABLE = -1;
/** Not a form libdw knows. */
export const FORM_UNKNOWN = -2;

/** What a unit's header decides about value sizes. */
export interface FormSizes {
  readonly addressSize: number;
  readonly offsetSize: number;
  readonly version: number;
}

export function formSizeKey(u: FormSizes): number {
  return u.addressSize * 1000 + u.offsetSize * 10 + (u.version === 2 ? 1 : 0);
}

/** Fixed byte size of a form's value in this unit, FORM_VARIABLE, or FORM_UNKNOWN. */
export function fixedFormSize(form: number, u: FormSizes): number {
  switch (form) {
    case DW_FORM_addr: return u.addressSize;
    case DW_FORM_ref_addr: return u.version === 2 ? u.addressSize : u.offsetSize;
    case DW_FORM_strp: case DW_FORM_line_strp: case DW_FORM_sec_offset: case DW_FORM_GNU_ref_alt:
    case DW_FORM_GNU_strp_alt: case DW_FORM_strp_sup:
      return u.offsetSize;
    case DW_FORM_ref_sup4: return 4;
    case DW_FORM_ref_sup8: return 8;
    case DW_FORM_flag: case DW_FORM_data1: case DW_FORM_ref1: case DW_FORM_strx1: case DW_FORM_addrx1:
      return 1;
    case DW_FORM_data2: case DW_FORM_ref2: case DW_FORM_strx2: case DW_FORM_addrx2:
      return 2;
    case DW_FORM_strx3: case DW_FORM_addrx3:
      return 3;
    case DW_FORM_data4: case DW_FORM_ref4: case DW_FORM_strx4: case DW_FORM_addrx4:
      return 4;
    case DW_FORM_data8: case DW_FORM_ref8: case DW_FORM_ref_sig8:
      return 8;
    case DW_FORM_data16: return 16;
    case DW_FORM_flag_present: case DW_FORM_implicit_const:
      return 0;
    case DW_FORM_string: case DW_FORM_block: case DW_FORM_block1: case DW_FORM_block2: case DW_FORM_block4:
    case DW_FORM_exprloc: case DW_FORM_udata: case DW_FORM_sdata: case DW_FORM_ref_udata: case DW_FORM_strx:
    case DW_FORM_addrx: case DW_FORM_loclistx: case DW_FORM_rnglistx: case DW_FORM_GNU_addr_index:
    case DW_FORM_GNU_str_index: case DW_FORM_indirect:
      return FORM_VARIABLE;
    default:
      return FORM_UNKNOWN;
  }
}
