/**
 * DWARF expressions (location descriptions) decoded into operations the way libdw's
 * __libdw_intern_expression does (elfutils 0.196 dwarf_getlocation.c), so a consumer
 * sees the same atom/number/number2 triples pahole inspects (its parameter register
 * checks: DW_OP_reg*, DW_OP_breg* + DW_OP_stack_value, DW_OP_fbreg, DW_OP_lit* /
 * DW_OP_const*, DW_OP_entry_value, DW_OP_piece; DW_OP_addr / DW_OP_addrx for variables).
 *
 * Numbers are libdw's Dwarf_Word: unsigned 64-bit, so a signed operand (DW_OP_consts,
 * DW_OP_breg*, DW_OP_fbreg, DW_OP_const*s) holds its two's complement (BigInt.asIntN(64, n)
 * gives it back). Operations with a block operand (DW_OP_entry_value, DW_OP_implicit_value,
 * DW_OP_const_type) carry the block in `block`; an unknown operation or a truncated operand
 * is a DwarfFormatError (libdw: DWARF_E_INVALID_DWARF).
 */
import * as C from './constants.js';
import { Cursor } from './cursor.js';
import type { DwarfSection } from './sections.js';

export interface DwarfOp {
  /** DW_OP_* */
  readonly atom: number;
  readonly number: bigint;
  readonly number2: bigint;
  /** Offset of the operation in its expression. */
  readonly offset: number;
  /** The block operand of DW_OP_entry_value / implicit_value / const_type. */
  readonly block?: Uint8Array;
}

/** What decoding needs to know about the unit the expression belongs to. */
export interface ExprContext {
  readonly addressSize: number;
  /** Size of DW_OP_call_ref / implicit_pointer offsets: address size in DWARF 2, else the offset size. */
  readonly refSize: number;
  readonly littleEndian: boolean;
  readonly file: string | undefined;
}

/**
 * Decodes the expression at [start, start + length) of `sec`. An empty expression gives
 * no operations (libdw: listlen 0).
 */
export function decodeExpression(sec: DwarfSection, start: number, length: number, ctx: ExprContext, die?: number): DwarfOp[] {
  const ops: DwarfOp[] = [];
  if (length === 0) return ops;
  const c = new Cursor(sec, ctx.littleEndian, ctx.file, start, start + length);
  c.die = die;
  if (start + length > sec.data.length) throw c.fail('DWARF_TRUNCATED', `expression of ${length} bytes runs past the end of ${sec.name}`, start);
  while (c.pos < c.end) {
    const at = c.pos;
    const atom = c.u8('operation');
    let number = 0n;
    let number2 = 0n;
    let block: Uint8Array | undefined;
    switch (atom) {
      case C.DW_OP_addr:
        number = c.addr(ctx.addressSize, 'DW_OP_addr operand');
        break;
      case C.DW_OP_call_ref:
      case C.DW_OP_GNU_variable_value:
        number = refOperand(c, ctx.refSize);
        break;
      case C.DW_OP_deref: case C.DW_OP_dup: case C.DW_OP_drop: case C.DW_OP_over: case C.DW_OP_swap:
      case C.DW_OP_rot: case C.DW_OP_xderef: case C.DW_OP_abs: case C.DW_OP_and: case C.DW_OP_div:
      case C.DW_OP_minus: case C.DW_OP_mod: case C.DW_OP_mul: case C.DW_OP_neg: case C.DW_OP_not:
      case C.DW_OP_or: case C.DW_OP_plus: case C.DW_OP_shl: case C.DW_OP_shr: case C.DW_OP_shra:
      case C.DW_OP_xor: case C.DW_OP_eq: case C.DW_OP_ge: case C.DW_OP_gt: case C.DW_OP_le: case C.DW_OP_lt:
      case C.DW_OP_ne: case C.DW_OP_nop: case C.DW_OP_push_object_address: case C.DW_OP_call_frame_cfa:
      case C.DW_OP_form_tls_address: case C.DW_OP_GNU_push_tls_address: case C.DW_OP_stack_value:
      case C.DW_OP_GNU_uninit:
        break;
      case C.DW_OP_const1u: case C.DW_OP_pick: case C.DW_OP_deref_size: case C.DW_OP_xderef_size:
        number = BigInt(c.u8('operand'));
        break;
      case C.DW_OP_const1s:
        number = BigInt.asUintN(64, BigInt(c.i8('operand')));
        break;
      case C.DW_OP_const2u:
        number = BigInt(c.u16('operand'));
        break;
      case C.DW_OP_const2s: case C.DW_OP_skip: case C.DW_OP_bra: case C.DW_OP_call2:
        number = BigInt.asUintN(64, BigInt(c.i16('operand')));
        break;
      case C.DW_OP_const4u:
        number = BigInt(c.u32('operand'));
        break;
      case C.DW_OP_const4s: case C.DW_OP_call4: case C.DW_OP_GNU_parameter_ref:
        number = BigInt.asUintN(64, BigInt(c.i32('operand')));
        break;
      case C.DW_OP_const8u:
        number = c.u64('operand');
        break;
      case C.DW_OP_const8s:
        number = BigInt.asUintN(64, c.i64('operand'));
        break;
      case C.DW_OP_constu: case C.DW_OP_plus_uconst: case C.DW_OP_regx: case C.DW_OP_piece:
      case C.DW_OP_convert: case C.DW_OP_GNU_convert: case C.DW_OP_reinterpret: case C.DW_OP_GNU_reinterpret:
      case C.DW_OP_addrx: case C.DW_OP_GNU_addr_index: case C.DW_OP_constx: case C.DW_OP_GNU_const_index:
        number = c.ulebBig('operand');
        break;
      case C.DW_OP_consts: case C.DW_OP_fbreg:
        number = BigInt.asUintN(64, c.slebBig('operand'));
        break;
      case C.DW_OP_bregx:
        number = c.ulebBig('register');
        number2 = BigInt.asUintN(64, c.slebBig('offset'));
        break;
      case C.DW_OP_bit_piece: case C.DW_OP_regval_type: case C.DW_OP_GNU_regval_type:
        number = c.ulebBig('operand');
        number2 = c.ulebBig('operand');
        break;
      case C.DW_OP_implicit_value: case C.DW_OP_entry_value: case C.DW_OP_GNU_entry_value: {
        const n = c.uleb('block length');
        number = BigInt(n);
        block = c.bytesOf(n, 'block operand');
        break;
      }
      case C.DW_OP_implicit_pointer: case C.DW_OP_GNU_implicit_pointer:
        number = refOperand(c, ctx.refSize);
        number2 = c.ulebBig('byte offset');
        break;
      case C.DW_OP_deref_type: case C.DW_OP_GNU_deref_type: case C.DW_OP_xderef_type:
        number = BigInt(c.u8('size'));
        number2 = c.ulebBig('type offset');
        break;
      case C.DW_OP_const_type: case C.DW_OP_GNU_const_type: {
        number = c.ulebBig('type offset');
        const n = c.u8('constant size');
        block = c.bytesOf(n, 'constant');
        break;
      }
      default:
        if (atom >= C.DW_OP_lit0 && atom <= C.DW_OP_lit31) break;
        if (atom >= C.DW_OP_reg0 && atom <= C.DW_OP_reg31) break;
        if (atom >= C.DW_OP_breg0 && atom <= C.DW_OP_breg31) {
          number = BigInt.asUintN(64, c.slebBig('offset'));
          break;
        }
        throw c.fail('DWARF_BAD_EXPR', `unknown DWARF expression operation 0x${atom.toString(16)}`, at);
    }
    const op: { atom: number; number: bigint; number2: bigint; offset: number; block?: Uint8Array } = { atom, number, number2, offset: at - start };
    if (block !== undefined) op.block = block;
    ops.push(op);
  }
  return ops;
}

/**
 * Decodes an expression held in a byte block: the operand of DW_OP_entry_value (what
 * libdw's dwarf_getlocation_attr + dwarf_getlocation give pahole), or any block from
 * DwarfAttribute.block().
 */
export function decodeBlock(block: Uint8Array, ctx: ExprContext, die?: number): DwarfOp[] {
  const sec: DwarfSection = {
    name: '.debug_info', elf: { name: '(expression)' } as DwarfSection['elf'], data: block,
    view: new DataView(block.buffer, block.byteOffset, block.byteLength), stringSize: 0,
  };
  return decodeExpression(sec, 0, block.length, ctx, die);
}

function refOperand(c: Cursor, size: number): bigint {
  if (size === 8) return c.u64('DIE offset');
  if (size === 4) return BigInt(c.u32('DIE offset'));
  throw c.fail('DWARF_BAD_EXPR', `reference size ${size} in an expression`);
}

/** DW_OP_reg0..31: the register number, else -1. */
export function opRegister(atom: number): number {
  return atom >= C.DW_OP_reg0 && atom <= C.DW_OP_reg31 ? atom - C.DW_OP_reg0 : -1;
}

/** DW_OP_breg0..31: the register number, else -1. */
export function opBaseRegister(atom: number): number {
  return atom >= C.DW_OP_breg0 && atom <= C.DW_OP_breg31 ? atom - C.DW_OP_breg0 : -1;
}
