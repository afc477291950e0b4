/**
 * DWARF -> pahole's CU model, one compilation unit at a time, as pahole 1.32's dwarf_loader.c
 * builds it with the options `-J` sets (get_addr_info, ignore_alignment_attr, ignore_labels,
 * no bitfield type recoding). What decides BTF bytes is reproduced to the letter:
 *
 *  - which DIEs become tags and in which order they take types_table slots (the small ids
 *    that become BTF ids): a tag is added after its children were processed, so types nested
 *    in a struct, a function or a subroutine type come before it (die__process_unit,
 *    die__process_class, die__process_function, die__create_new_subroutine_type...); a
 *    top-level DW_TAG_unspecified_type takes no slot (it reads as void);
 *  - btf_type_tag annotations of pointers (LLVM child DIEs prepended, gcc's
 *    DW_AT_GNU_annotation chain appended) taking slots before their pointer;
 *  - btf_decl_tag annotations of types, members, functions, parameters, variables;
 *  - recoding of DIE references into small ids (cu__recode_dwarf_types), names and types
 *    taken from abstract origins and specifications, parameter location facts shared with
 *    the abstract origin (ftype__recode_dwarf_types);
 *  - parameter locations and the register checks (parameter__decode_location,
 *    function__analyze_parameter_locations, cu__resolve_func_ret_types_optimized);
 *  - member bit offsets (class_member__new, class_member__cache_byte_size).
 *
 * Failures pahole prints and goes past ("couldn't find type", "tag not supported") leave
 * the same values pahole leaves (void types); they are collected as warnings.
 */
import {
  DW_AT_abstract_origin, DW_AT_artificial, DW_AT_bit_offset, DW_AT_bit_size, DW_AT_byte_size,
  DW_AT_calling_convention, DW_AT_const_value, DW_AT_count, DW_AT_data_bit_offset, DW_AT_data_member_location,
  DW_AT_declaration, DW_AT_encoding, DW_AT_external, DW_AT_GNU_annotation, DW_AT_import, DW_AT_inline,
  DW_AT_language, DW_AT_location, DW_AT_name, DW_AT_producer, DW_AT_specification, DW_AT_type, DW_AT_upper_bound,
  DW_ATE_boolean, DW_ATE_float, DW_ATE_signed, DW_ATE_signed_char, DW_CC_nocall,
  DW_FORM_addr, DW_FORM_data1, DW_FORM_data2, DW_FORM_data4, DW_FORM_data8, DW_FORM_flag, DW_FORM_flag_present,
  DW_FORM_implicit_const, DW_FORM_ref_sig8, DW_FORM_sdata, DW_FORM_udata,
  DW_OP_addr, DW_OP_addrx, DW_OP_breg0, DW_OP_breg31, DW_OP_consts, DW_OP_constu, DW_OP_entry_value, DW_OP_fbreg,
  DW_OP_GNU_entry_value, DW_OP_lit0, DW_OP_lit31, DW_OP_piece, DW_OP_plus_uconst, DW_OP_reg0, DW_OP_reg31,
  DW_OP_stack_value,
  DW_TAG_array_type, DW_TAG_atomic_type, DW_TAG_base_type, DW_TAG_call_site, DW_TAG_call_site_parameter,
  DW_TAG_class_type, DW_TAG_compile_unit, DW_TAG_const_type, DW_TAG_constant, DW_TAG_dwarf_procedure,
  DW_TAG_enumeration_type, DW_TAG_enumerator, DW_TAG_formal_parameter, DW_TAG_GNU_annotation,
  DW_TAG_GNU_call_site, DW_TAG_GNU_call_site_parameter, DW_TAG_imported_declaration, DW_TAG_imported_module,
  DW_TAG_imported_unit, DW_TAG_inheritance, DW_TAG_inlined_subroutine, DW_TAG_label, DW_TAG_lexical_block,
  DW_TAG_LLVM_annotation, DW_TAG_member, DW_TAG_namespace, DW_TAG_partial_unit, DW_TAG_pointer_type,
  DW_TAG_ptr_to_member_type, DW_TAG_reference_type, DW_TAG_restrict_type, DW_TAG_rvalue_reference_type,
  DW_TAG_skeleton_unit, DW_TAG_string_type, DW_TAG_structure_type, DW_TAG_subprogram, DW_TAG_subrange_type,
  DW_TAG_subroutine_type, DW_TAG_template_type_parameter, DW_TAG_template_value_parameter, DW_TAG_type_unit,
  DW_TAG_typedef, DW_TAG_union_type, DW_TAG_unspecified_parameters, DW_TAG_unspecified_type, DW_TAG_variable,
  DW_TAG_variant_part, DW_TAG_volatile_type,
} from '../dwarf/constants.js';
import type { Dwarf } from '../dwarf/dwarf.js';
import type { DwarfUnit } from '../dwarf/unit.js';
import { decodeBlock, type DwarfOp } from '../dwarf/expr.js';
import { exprContext } from '../dwarf/lists.js';
import { EM_AARCH64, EM_ARM, EM_PPC, EM_PPC64, EM_S390, EM_X86_64 } from '../elf/constants.js';
import {
  BT_FP_CMPLX, BT_FP_IMGRY, BT_FP_SINGLE, isTypeTag, VSCOPE_GLOBAL, VSCOPE_LOCAL, VSCOPE_OPTIMIZED,
  VSCOPE_REGISTER, VSCOPE_UNKNOWN,
  type Annotation, type AnnotTypeTag, type ArrayTag, type Cu, type FtypeTag, type FunctionTag, type MemberTag, type ParameterTag,
  type PointerTag, type Tag, type TypeTag, type VariableTag, type TagCommon, type PlainTag, type OtherTag, type BaseTypeTag, type NamespaceTag, type Enumerator,
} from './cu.js';
import { EncodeError } from './errors.js';
import { A, DieReader, StringCache } from './die-reader.js';

const DW_TAG_interface_type = 0x38;
const DW_ATE_complex_float = 0x03;
const DW_ATE_imaginary_float = 0x09;
const DW_TAG_GNU_template_parameter_pack = 0x4107;
const DW_TAG_GNU_formal_parameter_pack = 0x4108;
const DW_TAG_GNU_template_template_param = 0x4106;
const EM_SPARC = 2;
const EM_SPARCV9 = 43;
const EM_MIPS = 8;
const EM_ARC = 45;
const EM_RISCV = 243;
/** PARAMETER_UNKNOWN_REG */
const UNKNOWN_REG = -1;

export interface LoadOptions {
  /** conf_load->skip_encoding_btf_decl_tag */
  skipDeclTag: boolean;
  /** conf_load->skip_encoding_btf_type_tag */
  skipTypeTag: boolean;
  /** conf_load->true_signature */
  trueSignature: boolean;
  /** early_cu_filter: true when the CU of this DW_AT_language is filtered out. */
  filtered?: (language: number) => boolean;
}

/** One unit as the stealer gets it: filtered units have no tags. */
export interface LoadedCu {
  cu: Cu;
  filtered: boolean;
}

/** Registers for parameters per machine (arch__nr_register_params / arch__set_register_params). */
function registerParams(machine: number): { nr: number; regs: number[] } {
  const regs = new Array<number>(8).fill(-1);
  let nr = 0;
  switch (machine) {
    case EM_S390: nr = 5; break;
    case EM_SPARC: case EM_SPARCV9: case EM_X86_64: nr = 6; break;
    case EM_AARCH64: case EM_ARC: case EM_ARM: case EM_MIPS: case EM_PPC: case EM_PPC64: case EM_RISCV: nr = 8; break;
    default: break;
  }
  switch (machine) {
    case EM_S390: [2, 3, 4, 5, 6].forEach((r, i) => { regs[i] = DW_OP_reg0 + r; }); break;
    case EM_X86_64: [5, 4, 1, 2, 8, 9].forEach((r, i) => { regs[i] = DW_OP_reg0 + r; }); break;
    case EM_ARM: case EM_AARCH64: for (let i = 0; i < 8; i++) regs[i] = DW_OP_reg0 + i; break;
    default: break;
  }
  return { nr, regs };
}

const isReg = (atom: number): boolean => atom >= DW_OP_reg0 && atom <= DW_OP_reg31;
const isBreg = (atom: number): boolean => atom >= DW_OP_breg0 && atom <= DW_OP_breg31;
const isLit = (atom: number): boolean => atom >= DW_OP_lit0 && atom <= DW_OP_lit31;

/**
 * Loads the CUs of a module's DWARF in file order (what cus__load_module hands the stealer,
 * one cu->id after the other, whatever -j says).
 */
export class CuLoader {
  readonly warnings: string[] = [];
  private readonly machine: number;
  private readonly littleEndian: boolean;

  constructor(private readonly d: Dwarf, private readonly opts: LoadOptions) {
    this.machine = d.elf.machine;
    this.littleEndian = d.elf.littleEndian;
  }

  *cus(): Generator<LoadedCu> {
    for (const u of this.d.units) yield this.load(u);
  }

  // ---- per CU state ------------------------------------------------------------------------
  private cu!: Cu;
  /** dwarf_cu hash_types / hash_tags: DIE offset -> tag (with its small id). */
  private hashTypes: (Tag | undefined)[] = [];
  private hashTags: (Tag | undefined)[] = [];
  private unit!: DwarfUnit;

  private warn(m: string): void {
    if (this.warnings.length < 200) this.warnings.push(m);
  }

  private r!: DieReader;

  private load(u: DwarfUnit): LoadedCu {
    this.unit = u;
    const count = u.index().count;
    this.hashTypes = new Array<Tag | undefined>(count);
    this.hashTags = new Array<Tag | undefined>(count);
    this.byteSizeCache = new Map();
    const r = new DieReader(this.d, u, this.strings);
    this.r = r;
    const root = 0;
    if (r.idx.count === 0) {
      // A unit whose first entry is a null one: libdw's dwarf_tag gives DW_TAG_invalid and
      // die__process refuses the unit as it refuses any root that is not a unit DIE.
      throw new EncodeError('ENCODE_UNSUPPORTED', `unit at 0x${u.offset.toString(16)}: DW_TAG_compile_unit or DW_TAG_type_unit expected, got a null entry (pahole stops: die__process)`, { file: this.d.file, section: '.debug_info', offset: u.dieOffset, die: u.dieOffset });
    }
    const reg = registerParams(this.machine);
    r.load(root);
    const cu: Cu = {
      name: r.str(A.name) ?? '', language: 0, producerClang: false, addrSize: u.addressSize, littleEndian: this.littleEndian,
      nrRegisterParams: reg.nr, registerParams: reg.regs, aggUseTwoRegs: this.machine !== EM_S390,
      types: [undefined], tags: [], functions: [],
    };
    this.cu = cu;
    const tag = r.tag(root);
    if (tag === DW_TAG_skeleton_unit || tag === DW_TAG_partial_unit) return { cu, filtered: false };
    if (tag !== DW_TAG_compile_unit && tag !== DW_TAG_type_unit) {
      throw new EncodeError('ENCODE_UNSUPPORTED', `unit at 0x${u.offset.toString(16)}: DW_TAG_compile_unit or DW_TAG_type_unit expected, got tag 0x${tag.toString(16)} (pahole stops: die__process)`, { file: this.d.file, section: '.debug_info', offset: u.dieOffset, die: u.dieOffset });
    }
    cu.language = Number(this.numeric(A.language));
    const producer = r.str(A.producer);
    cu.producerClang = producer !== undefined && producer.includes('clang');
    if (this.opts.filtered?.(cu.language) === true) return { cu, filtered: true };
    for (let c = r.firstChild(root); c >= 0; c = r.next(c)) this.processUnitChild(c);
    this.recode();
    this.resolveFuncRetTypesOptimized();
    this.finalize();
    return { cu, filtered: false };
  }

  // ---- attributes of the DIE made current with r.load(i) -------------------------------------

  /** Decoded strings by .debug_str offset, across units (names repeat in every CU). */
  private readonly strings = new StringCache();
  private byteSizeCache = new Map<number, number>();

  /** attr_numeric: addr, constants and flags; anything else is 0 (pahole prints the form). */
  private numeric(s: A): bigint {
    const f = this.r.formOf(s);
    if (f === 0) return 0n;
    switch (f) {
      case DW_FORM_addr: case DW_FORM_implicit_const: case DW_FORM_data1: case DW_FORM_data2: case DW_FORM_data4:
      case DW_FORM_data8: case DW_FORM_sdata: case DW_FORM_udata: case DW_FORM_flag: case DW_FORM_flag_present:
        return this.r.numeric(s);
      default:
        this.warn(`DW_AT slot ${s}: form 0x${f.toString(16)}`);
        return 0n;
    }
  }

  private num(s: A): number {
    return this.r.isConstant(s) || this.r.formOf(s) === DW_FORM_flag || this.r.formOf(s) === DW_FORM_flag_present ? this.r.num(s) : Number(this.numeric(s) & 0xffffffffffffn);
  }

  /**
   * Number(BigInt.asUintN(32, attr_numeric)) without a bigint for the forms that hold 32 bits
   * at most (sizes, offsets and bit counts of every member: a million for xfs.ko).
   */
  private low32(s: A): number {
    const f = this.r.formOf(s);
    if (f === 0) return 0;
    if (f === DW_FORM_data1 || f === DW_FORM_data2 || f === DW_FORM_data4) return this.r.num(s);
    return Number(BigInt.asUintN(32, this.numeric(s)));
  }

  /** __attr_offset: a constant, or the DW_OP_plus_uconst / DW_OP_constu operand of a block. */
  private attrOffset(s: A): number {
    const r = this.r;
    if (!r.has(s)) return 0;
    if (r.isConstant(s)) return this.low32(s);
    const b = r.block(s);
    if (b === undefined) return 0;
    return dwarfExpr(b, (m) => this.warn(m));
  }

  private readonly commonScratch: TagCommon = { tag: 0, die: 0, dwType: 0, dwTypeSig8: false, dwOrigin: 0, dwSpec: 0, type: 0, topLevel: false, small: 0 };

  /**
   * The common part of every tag for the current DIE (index i), in a scratch object the
   * caller copies into the tag's own literal at once: one object per tag, all fields in
   * its literal (Object.assign onto a common object made every tag two objects and a
   * property store: a quarter of what xfs.ko's encoding allocated).
   */
  private common(i: number, tag: number): TagCommon {
    const r = this.r;
    const ts = tag === DW_TAG_imported_module || tag === DW_TAG_imported_declaration ? A.import : A.type;
    const c = this.commonScratch;
    c.tag = tag;
    c.die = r.off(i);
    c.dwType = r.ref(ts);
    c.dwTypeSig8 = r.refIsSig8(ts);
    c.dwOrigin = r.ref(A.abstractOrigin);
    return c;
  }

  // ---- tables (cu__table_add_tag, cu__hash) --------------------------------------------------

  private tableAdd(t: Tag): void {
    const cu = this.cu;
    if (isTypeTag(t.tag)) {
      t.small = cu.types.length;
      cu.types.push(t);
    } else if (t.kind === 'function') {
      t.small = cu.functions.length;
      cu.functions.push(t);
    } else {
      t.small = cu.tags.length;
      cu.tags.push(t);
    }
  }

  private hash(t: Tag): void {
    const i = this.r.indexOf(t.die);
    if (i >= 0) (isTypeTag(t.tag) ? this.hashTypes : this.hashTags)[i] = t;
  }

  private smallId(t: Tag): number { return t.small; }

  // ---- DIE processing (index i of the unit's DIEs) -----------------------------------------

  /** die__process_unit */
  private processUnitChild(i: number): void {
    const t = this.processTag(i, true);
    if (t === 'unsupported') return;
    if (t.tag !== DW_TAG_unspecified_type) this.tableAdd(t);
    else t.small = 0;
    this.hash(t);
  }

  /** Adds a tag processed under another (cu__add_tag / cu__table_add_tag + cu__hash). */
  private addNested(t: Tag): void {
    this.tableAdd(t);
    this.hash(t);
  }

  /** __die__process_tag: the tag for a DIE, or 'unsupported' (pahole's unsupported_tag). */
  private processTag(i: number, topLevel: boolean): Tag | 'unsupported' {
    const r = this.r;
    const tag = r.tag(i);
    r.load(i);
    let t: Tag | 'unsupported';
    switch (tag) {
      case DW_TAG_imported_unit:
        throw new EncodeError('ENCODE_UNSUPPORTED', 'DW_TAG_imported_unit (pahole does not support imported units and fails)', { file: this.d.file, section: '.debug_info', offset: r.off(i), die: r.off(i) });
      case DW_TAG_array_type: t = this.newArray(i); break;
      case DW_TAG_string_type: case DW_TAG_const_type: case DW_TAG_imported_declaration: case DW_TAG_imported_module:
      case DW_TAG_reference_type: case DW_TAG_restrict_type: case DW_TAG_volatile_type:
      case DW_TAG_atomic_type: case DW_TAG_unspecified_type: case DW_TAG_ptr_to_member_type: {
        const c = this.common(i, tag);
        const p: PlainTag = { tag: c.tag, die: c.die, dwType: c.dwType, dwTypeSig8: c.dwTypeSig8, dwOrigin: c.dwOrigin, dwSpec: 0, type: 0, topLevel: false, small: 0, kind: 'plain' };
        t = p;
        break;
      }
      case DW_TAG_base_type: t = this.newBaseType(i); break;
      case DW_TAG_pointer_type: t = this.newPointer(i); break;
      case DW_TAG_enumeration_type: t = this.newEnumeration(i); break;
      case DW_TAG_namespace: t = this.newNamespace(i); break;
      case DW_TAG_class_type: case DW_TAG_interface_type: case DW_TAG_structure_type:
        t = this.newClass(i, true);
        break;
      case DW_TAG_subprogram: t = this.newFunction(i); break;
      case DW_TAG_subroutine_type: t = this.newSubroutineType(i); break;
      case DW_TAG_rvalue_reference_type: case DW_TAG_typedef: t = this.newTypedef(i); break;
      case DW_TAG_union_type: t = this.newClass(i, false); break;
      case DW_TAG_variable: t = this.newVariable(i, topLevel); break;
      case DW_TAG_constant: { const c = this.common(i, tag); const o: OtherTag = { tag: c.tag, die: c.die, dwType: c.dwType, dwTypeSig8: c.dwTypeSig8, dwOrigin: c.dwOrigin, dwSpec: 0, type: 0, topLevel: false, small: 0, kind: 'other' }; t = o; break; }
      case DW_TAG_label: t = 'unsupported'; break; // ignore_labels
      case DW_TAG_GNU_annotation: case DW_TAG_dwarf_procedure: t = 'unsupported'; break;
      default:
        this.warn(`DW_TAG 0x${tag.toString(16)} @ <0x${r.off(i).toString(16)}> not handled`);
        t = 'unsupported';
    }
    if (t !== 'unsupported') t.topLevel = topLevel;
    return t;
  }

  private newBaseType(i: number): Tag {
    const r = this.r;
    const enc = Number(this.numeric(A.encoding));
    const floatType = enc === DW_ATE_complex_float ? BT_FP_CMPLX : enc === DW_ATE_float ? BT_FP_SINGLE : enc === DW_ATE_imaginary_float ? BT_FP_IMGRY : 0;
    const c = this.common(i, DW_TAG_base_type);
    const b: BaseTypeTag = {
      tag: c.tag, die: c.die, dwType: c.dwType, dwTypeSig8: c.dwTypeSig8, dwOrigin: c.dwOrigin, dwSpec: 0, type: 0, topLevel: false, small: 0,
      kind: 'base', name: r.str(A.name),
      bitSize: Number(BigInt.asUintN(16, this.numeric(A.byteSize) * 8n)),
      isSigned: enc === DW_ATE_signed || enc === DW_ATE_signed_char, isBool: enc === DW_ATE_boolean, floatType,
    };
    return b;
  }

  /** die__create_new_array: one nr_entries per DW_TAG_subrange_type child (attr_upper_bound). */
  private newArray(i: number): Tag {
    const r = this.r;
    const c = this.common(i, DW_TAG_array_type);
    const outer: ArrayTag = { tag: c.tag, die: c.die, dwType: c.dwType, dwTypeSig8: c.dwTypeSig8, dwOrigin: c.dwOrigin, dwSpec: 0, type: 0, topLevel: false, small: 0, kind: 'array', dims: [], inner: undefined };
    const dims = outer.dims;
    for (let c = r.firstChild(i); c >= 0; c = r.next(c)) {
      if (r.tag(c) !== DW_TAG_subrange_type) continue;
      r.load(c);
      dims.push(this.upperBound());
      if (dims.length === 64) break;
    }
    if (dims.length <= 1) return outer;
    // One BTF array per dimension: the innermost (last subrange) first, each taking its types
    // slot now, before the DIE's own tag (the outermost dimension) is added by the caller.
    let inner: ArrayTag | undefined;
    for (let d = dims.length - 1; d >= 1; d--) {
      const a: ArrayTag = { ...outer, dims: [dims[d] as number], inner };
      this.tableAdd(a);
      inner = a;
    }
    outer.dims = [dims[0] as number];
    outer.inner = inner;
    return outer;
  }

  /** attr_upper_bound of the current DIE: upper bound + 1, else count, else 0 (uint32). */
  private upperBound(): number {
    const r = this.r;
    const ok = (s: A): boolean => r.isConstant(s);
    if (r.has(A.upperBound)) return ok(A.upperBound) ? Number(BigInt.asUintN(32, r.numeric(A.upperBound) + 1n)) : 0;
    if (r.has(A.count)) return ok(A.count) ? Number(BigInt.asUintN(32, r.numeric(A.count))) : 0;
    return 0;
  }

  /** die__create_new_pointer_tag: with btf_type_tag annotations when type tags are encoded. */
  private newPointer(i: number): Tag {
    const r = this.r;
    const c = this.common(i, DW_TAG_pointer_type);
    const p: PointerTag = { tag: c.tag, die: c.die, dwType: c.dwType, dwTypeSig8: c.dwTypeSig8, dwOrigin: c.dwOrigin, dwSpec: 0, type: 0, topLevel: false, small: 0, kind: 'pointer', typeTags: undefined };
    if (this.opts.skipTypeTag) return p;
    const gnu = r.ref(A.gnuAnnotation);
    if (r.hasChildren(i)) {
      for (let c = r.firstChild(i); c >= 0; c = r.next(c)) {
        const ct = r.tag(c);
        if (ct !== DW_TAG_LLVM_annotation && ct !== DW_TAG_GNU_annotation) continue;
        r.load(c);
        if (r.str(A.name) !== 'btf_type_tag') continue;
        p.typeTags ??= [];
        p.typeTags.unshift(this.newTypeTagAnnot(c));
      }
    }
    if (p.typeTags !== undefined) return p;
    let next = gnu;
    while (next !== 0) {
      const j = r.indexOf(next);
      if (j < 0 || r.tag(j) !== DW_TAG_GNU_annotation) break;
      r.load(j);
      if (r.str(A.name) !== 'btf_type_tag') break;
      const after = r.ref(A.gnuAnnotation);
      p.typeTags ??= [];
      p.typeTags.push(this.newTypeTagAnnot(j));
      next = after;
    }
    return p;
  }

  /** die__create_new_btf_type_tag_type, added to the tables before its pointer. */
  private newTypeTagAnnot(i: number): AnnotTypeTag {
    const r = this.r;
    r.load(i);
    const c = this.common(i, DW_TAG_LLVM_annotation);
    const a: AnnotTypeTag = { tag: c.tag, die: c.die, dwType: c.dwType, dwTypeSig8: c.dwTypeSig8, dwOrigin: c.dwOrigin, dwSpec: 0, type: 0, topLevel: false, small: 0, kind: 'typetag', value: r.str(A.constValue) };
    this.tableAdd(a);
    this.hash(a);
    return a;
  }

  private typeCommon(i: number, tag: number): TypeTag {
    const r = this.r;
    const c = this.common(i, tag);
    const t: TypeTag = {
      tag: c.tag, die: c.die, dwType: c.dwType, dwTypeSig8: c.dwTypeSig8, dwOrigin: c.dwOrigin, dwSpec: 0, type: 0, topLevel: false, small: 0,
      kind: 'type', name: r.str(A.name),
      size: this.num(A.byteSize), declaration: this.numeric(A.declaration) !== 0n,
      nrMembers: 0, members: [] as MemberTag[], enumerators: [] as Enumerator[], isSignedEnum: false, annots: [] as Annotation[], nested: [] as Tag[], alignment: 0,
      packedInferred: false, isPacked: false,
    };
    t.dwSpec = r.ref(A.specification);
    const ty = t.dwType;
    if (ty !== 0) {
      const enc = this.encodingOf(ty);
      if (enc === BigInt(DW_ATE_signed) || enc === BigInt(DW_ATE_signed_char)) t.isSignedEnum = true;
      r.load(i);
    }
    return t;
  }

  /** attr_numeric(DW_AT_encoding) of another DIE. */
  private encodingOf(off: number): bigint {
    const r = this.r;
    const j = r.indexOf(off);
    if (j < 0) {
      try {
        return this.d.attrUdata(off, DW_AT_encoding) ?? 0n;
      } catch {
        return 0n;
      }
    }
    r.load(j);
    return this.numeric(A.encoding);
  }

  /** btf_decl_tag annotations: add_tag_annotation (only name "btf_decl_tag") of DIE i. */
  private annotation(i: number, componentIdx: number, into: Annotation[]): void {
    if (this.opts.skipDeclTag) return;
    const r = this.r;
    r.load(i);
    if (r.str(A.name) !== 'btf_decl_tag') return;
    into.push({ value: r.str(A.constValue), componentIdx });
  }

  /** add_child_llvm_annotations */
  private childAnnotations(i: number, componentIdx: number, into: Annotation[]): void {
    const r = this.r;
    if (!r.hasChildren(i)) return;
    for (let c = r.firstChild(i); c >= 0; c = r.next(c)) {
      const ct = r.tag(c);
      if (ct !== DW_TAG_LLVM_annotation && ct !== DW_TAG_GNU_annotation) continue;
      this.annotation(c, componentIdx, into);
    }
  }

  /** add_gnu_annotation_chain from DIE i (its DW_AT_GNU_annotation). */
  private gnuAnnotations(i: number, componentIdx: number, into: Annotation[]): void {
    const r = this.r;
    r.load(i);
    let next = r.ref(A.gnuAnnotation);
    while (next !== 0) {
      const j = r.indexOf(next);
      if (j < 0 || r.tag(j) !== DW_TAG_GNU_annotation) return;
      this.annotation(j, componentIdx, into);
      r.load(j);
      next = r.ref(A.gnuAnnotation);
    }
  }

  /** die__create_new_class (struct/class/interface) and die__create_new_union. */
  private newClass(i: number, isClass: boolean): Tag {
    const r = this.r;
    const t = this.typeCommon(i, r.tag(i));
    if (r.hasChildren(i)) this.processClass(i, t);
    if (isClass) this.gnuAnnotations(i, -1, t.annots);
    return t;
  }

  /** die__process_class */
  private processClass(i: number, t: TypeTag): void {
    const r = this.r;
    const isUnion = t.tag === DW_TAG_union_type;
    let memberIdx = 0;
    for (let c = r.firstChild(i); c >= 0; c = r.next(c)) {
      const ct = r.tag(c);
      switch (ct) {
        case DW_TAG_GNU_template_parameter_pack: case DW_TAG_GNU_formal_parameter_pack:
        case DW_TAG_GNU_template_template_param: case DW_TAG_subrange_type: case DW_TAG_variant_part:
        case DW_TAG_template_type_parameter: case DW_TAG_template_value_parameter:
          continue;
        case DW_TAG_inheritance: case DW_TAG_member: {
          const m = this.newMember(c, ct, isUnion);
          if (!m.isStatic) t.nrMembers++;
          t.members.push(m);
          this.childAnnotations(c, memberIdx, t.annots);
          this.gnuAnnotations(c, memberIdx, t.annots);
          memberIdx++;
          continue;
        }
        case DW_TAG_LLVM_annotation: case DW_TAG_GNU_annotation:
          this.annotation(c, -1, t.annots);
          continue;
        default: {
          const n = this.processTag(c, false);
          if (n === 'unsupported') continue;
          this.tableAdd(n);
          t.nested.push(n);
          this.hash(n);
        }
      }
    }
  }

  /** class_member__new */
  private newMember(i: number, tag: number, inUnion: boolean): MemberTag {
    const r = this.r;
    r.load(i);
    const m: MemberTag = {
      tag, die: r.off(i), dwType: r.ref(A.type), dwTypeSig8: r.refIsSig8(A.type), type: 0, name: r.str(A.name),
      isStatic: false, hasBitOffset: false, bitOffset: 0, byteOffset: 0, bitfieldOffset: 0, bitfieldSize: 0,
      byteSize: 0, bitSize: 0,
    };
    m.hasBitOffset = r.has(A.dataBitOffset);
    if (m.hasBitOffset) {
      m.bitOffset = this.attrOffset(A.dataBitOffset) >>> 0;
    } else {
      if (r.has(A.dataMemberLocation)) m.byteOffset = this.attrOffset(A.dataMemberLocation);
      else m.isStatic = !inUnion;
      // byte_offset and bit_offset are uint32_t: both wrap as in C.
      m.byteOffset = m.byteOffset >>> 0;
      m.bitOffset = (m.byteOffset * 8) >>> 0;
      // (int8_t)attr_numeric: the low byte, sign-extended.
      m.bitfieldOffset = (this.low32(A.bitOffset) << 24) >> 24;
    }
    m.byteSize = this.low32(A.byteSize);
    m.bitfieldSize = this.low32(A.bitSize) & 0xff;
    return m;
  }

  private newNamespace(i: number): Tag {
    const r = this.r;
    const c = this.common(i, DW_TAG_namespace);
    const ns: NamespaceTag = { tag: c.tag, die: c.die, dwType: c.dwType, dwTypeSig8: c.dwTypeSig8, dwOrigin: c.dwOrigin, dwSpec: 0, type: 0, topLevel: false, small: 0, kind: 'namespace', nested: [] };
    for (let c = r.firstChild(i); c >= 0; c = r.next(c)) {
      const n = this.processTag(c, false);
      if (n === 'unsupported') continue;
      this.tableAdd(n);
      ns.nested.push(n);
      this.hash(n);
    }
    return ns;
  }

  private newTypedef(i: number): Tag {
    const t = this.typeCommon(i, this.r.tag(i));
    this.childAnnotations(i, -1, t.annots);
    return t;
  }

  /** die__create_new_enumeration: size in bits (32 when absent). */
  private newEnumeration(i: number): Tag {
    const r = this.r;
    const t = this.typeCommon(i, DW_TAG_enumeration_type);
    t.size = t.size === 0 ? 32 : (t.size * 8) >>> 0;
    if (!r.hasChildren(i)) return t;
    for (let c = r.firstChild(i); c >= 0; c = r.next(c)) {
      if (r.tag(c) !== DW_TAG_enumerator) continue;
      r.load(c);
      t.enumerators.push({ name: r.str(A.name), value: BigInt.asIntN(64, this.numeric(A.constValue)) });
      t.nrMembers++;
    }
    return t;
  }

  /** die__create_new_subroutine_type */
  private newSubroutineType(i: number): Tag {
    const r = this.r;
    const c = this.common(i, DW_TAG_subroutine_type);
    const f: FtypeTag = {
      tag: c.tag, die: c.die, dwType: c.dwType, dwTypeSig8: c.dwTypeSig8, dwOrigin: c.dwOrigin, dwSpec: 0, type: 0, topLevel: false, small: 0, kind: 'ftype',
      params: [], unspecParms: false, byteSize: this.num(A.byteSize), optimizedParms: false, unexpectedReg: false,
      inconsistentProto: false, uncertainParmLoc: false, reorderedParm: false, signatureChanged: false,
    };
    for (let c = r.firstChild(i); c >= 0; c = r.next(c)) {
      switch (r.tag(c)) {
        case DW_TAG_subrange_type: continue;
        case DW_TAG_formal_parameter: {
          const p = this.newParameter(c, true, -1);
          f.params.push(p);
          this.addNested(p);
          continue;
        }
        case DW_TAG_unspecified_parameters: f.unspecParms = true; continue;
        default: {
          const n = this.processTag(c, false);
          if (n === 'unsupported') continue;
          this.addNested(n);
        }
      }
    }
    return f;
  }

  /** parameter__new */
  private newParameter(i: number, withFtype: boolean, idx: number): ParameterTag {
    const r = this.r;
    r.load(i);
    const c = this.common(i, DW_TAG_formal_parameter);
    const p: ParameterTag = {
      tag: c.tag, die: c.die, dwType: c.dwType, dwTypeSig8: c.dwTypeSig8, dwOrigin: c.dwOrigin, dwSpec: 0, type: 0, topLevel: false, small: 0,
      kind: 'parameter', name: r.str(A.name), idx,
      locReg: UNKNOWN_REG, typeByteSize: 0, passedInMemory: false, hasConstValue: false, hasLoc: false,
      locConstValue: false, locStack: false, firstRegFields: 0, secondRegFields: 0, optimized: false, unexpectedReg: false,
    };
    if (!withFtype) return p;
    const cu = this.cu;
    p.hasConstValue = r.has(A.constValue);
    p.hasLoc = r.has(A.location);
    p.typeByteSize = r.has(A.abstractOrigin) ? (p.dwOrigin === 0 ? 0 : this.typeByteSizeOf(p.dwOrigin, 0)) : this.typeByteSizeAt(p.dwType, 0);
    p.passedInMemory = p.typeByteSize > (cu.aggUseTwoRegs ? 2 * cu.addrSize : cu.addrSize);
    if (p.hasLoc) this.decodeLocation(p.die, p);
    return p;
  }

  /** __get_type_byte_size of the DIE at `off`: follows its DW_AT_type. */
  private typeByteSizeOf(off: number, depth: number): number {
    const r = this.r;
    const j = r.indexOf(off);
    if (j < 0) return 0;
    r.load(j);
    return this.typeByteSizeAt(r.ref(A.type), depth);
  }

  /** __get_type_byte_size given the DW_AT_type target `t`: pointers are addr_size, else byte_size, else its type's. */
  private typeByteSizeAt(t: number, depth: number): number {
    if (t === 0 || depth > 64) return 0;
    const cached = this.byteSizeCache.get(t);
    if (cached !== undefined) return cached;
    const r = this.r;
    const j = r.indexOf(t);
    if (j < 0) return 0;
    let v: number;
    if (r.tag(j) === DW_TAG_pointer_type) {
      v = this.cu.addrSize;
    } else {
      r.load(j);
      const b = this.numeric(A.byteSize);
      v = b === 0n ? this.typeByteSizeAt(r.ref(A.type), depth + 1) : Number(BigInt.asIntN(32, b));
    }
    this.byteSizeCache.set(t, v);
    return v;
  }

  /** parameter__decode_location: every entry of DW_AT_location, as dwarf_getlocations gives them. */
  private decodeLocation(die: number, p: ParameterTag): void {
    let locs;
    try {
      locs = this.d.locations(die, DW_AT_location);
    } catch {
      return;
    }
    if (locs === undefined) return;
    let locNum = -1;
    for (const l of locs) {
      locNum++;
      const expr = l.ops;
      let len = expr.length;
      if (len === 0) continue;
      const hadStackValue = (expr[len - 1] as DwarfOp).atom === DW_OP_stack_value;
      if (len === 2 && hadStackValue) len--;
      if (len !== 1) {
        this.multiExprs(expr, locNum, len, p);
        continue;
      }
      const op = expr[0] as DwarfOp;
      const a = op.atom;
      if (isReg(a)) {
        if (locNum === 0) setLocReg(p, a);
      } else if (isBreg(a)) {
        if (locNum === 0 && hadStackValue) setLocReg(p, a - DW_OP_breg0 + DW_OP_reg0);
      } else if (a === DW_OP_fbreg) {
        if (locNum === 0) p.locStack = true;
      } else if (isLit(a) || a === DW_OP_constu || a === DW_OP_consts) {
        if (locNum === 0) p.locConstValue = true;
      } else if (a === DW_OP_entry_value || a === DW_OP_GNU_entry_value) {
        if (op.block !== undefined) {
          try {
            const inner = decodeBlock(op.block, exprContext(this.unit), die);
            if (inner.length === 1 && isReg((inner[0] as DwarfOp).atom)) setLocReg(p, (inner[0] as DwarfOp).atom);
          } catch {
            // dwarf_getlocation failed: nothing learnt
          }
        }
      }
    }
  }

  /** parameter__multi_exprs */
  private multiExprs(expr: readonly DwarfOp[], locNum: number, len: number, p: ParameterTag): void {
    const cu = this.cu;
    const first = (expr[0] as DwarfOp).atom;
    if (isLit(first) || first === DW_OP_constu || first === DW_OP_consts) {
      if (locNum === 0) p.locConstValue = true;
      return;
    }
    if (p.typeByteSize <= cu.addrSize || !cu.aggUseTwoRegs) {
      if (isReg(first)) {
        if (locNum === 0) setLocReg(p, first);
      } else if (isBreg(first)) {
        let stack = false;
        for (let i = 1; i < len; i++) if ((expr[i] as DwarfOp).atom === DW_OP_stack_value) stack = true;
        if (locNum === 0 && stack) setLocReg(p, first - DW_OP_breg0 + DW_OP_reg0);
      }
      return;
    }
    let off = 0;
    for (let i = 0; i < len; i++) {
      const op = expr[i] as DwarfOp;
      if (op.atom === DW_OP_piece) {
        const num = Number(BigInt.asIntN(32, op.number));
        if (i === 0) { off = num; continue; }
        if (off < cu.addrSize) p.firstRegFields = setFieldBit(p.firstRegFields, off);
        else p.secondRegFields = setFieldBit(p.secondRegFields, off - cu.addrSize);
        off += num;
      } else if (isReg(op.atom)) {
        if (off < cu.addrSize || p.locReg === UNKNOWN_REG) setLocReg(p, op.atom);
      }
    }
  }

  /** die__create_new_function + die__process_function */
  private newFunction(i: number): Tag {
    const r = this.r;
    const c = this.common(i, DW_TAG_subprogram);
    const f: FunctionTag = {
      tag: c.tag, die: c.die, dwType: c.dwType, dwTypeSig8: c.dwTypeSig8, dwOrigin: c.dwOrigin, dwSpec: 0, type: 0, topLevel: false, small: 0, kind: 'function',
      params: [], unspecParms: false, byteSize: this.num(A.byteSize), optimizedParms: false, unexpectedReg: false,
      inconsistentProto: false, uncertainParmLoc: false, reorderedParm: false, signatureChanged: false,
      name: r.str(A.name), declaration: r.has(A.declaration), external: r.has(A.external),
      hasAbstractOrigin: r.has(A.abstractOrigin), inlined: Number(this.numeric(A.inline)),
      addr: 0n, annots: [] as Annotation[],
    };
    f.dwSpec = r.ref(A.specification);
    f.addr = r.formOf(A.lowPc) === DW_FORM_addr ? r.numeric(A.lowPc) : (r.has(A.lowPc) ? this.lowPc(f.die) ?? 0n : 0n);
    if (this.cu.producerClang) f.signatureChanged = this.signatureChanged(f);
    this.processFunctionBody(i, f);
    this.gnuAnnotations(i, -1, f.annots);
    return f;
  }

  private lowPc(die: number): bigint | undefined {
    try {
      return this.d.lowPc(die);
    } catch {
      return undefined;
    }
  }

  /** function__signature_changed (clang: DW_AT_calling_convention DW_CC_nocall) of the current DIE. */
  private signatureChanged(f: FunctionTag): boolean {
    if (f.inlined !== 0) return false;
    if (!f.hasAbstractOrigin) return this.numeric(A.callingConvention) === BigInt(DW_CC_nocall);
    const o = f.dwOrigin;
    const j = o === 0 ? -1 : this.r.indexOf(o);
    if (j < 0) return false;
    this.r.load(j);
    const v = this.numeric(A.callingConvention) === BigInt(DW_CC_nocall);
    return v;
  }

  /** die__process_function for a subprogram (f set) or a lexical block (f undefined). */
  private processFunctionBody(i: number, f: FunctionTag | undefined): void {
    const r = this.r;
    if (!r.hasChildren(i)) return;
    let paramIdx = 0;
    for (let c = r.firstChild(i); c >= 0; c = r.next(c)) {
      const ct = r.tag(c);
      switch (ct) {
        case DW_TAG_call_site: case DW_TAG_call_site_parameter: case DW_TAG_GNU_call_site:
        case DW_TAG_GNU_call_site_parameter: case DW_TAG_dwarf_procedure:
        case DW_TAG_GNU_template_parameter_pack: case DW_TAG_GNU_formal_parameter_pack:
        case DW_TAG_GNU_template_template_param: case DW_TAG_template_type_parameter:
        case DW_TAG_template_value_parameter: case DW_TAG_label:
          continue;
        case DW_TAG_formal_parameter: {
          const idx = paramIdx++;
          const p = this.newParameter(c, f !== undefined, idx);
          if (f !== undefined) {
            f.params.push(p);
            if (idx >= 0) {
              this.childAnnotations(c, idx, f.annots);
              this.gnuAnnotations(c, idx, f.annots);
            }
          }
          this.addNested(p);
          continue;
        }
        case DW_TAG_variable: {
          r.load(c);
          const v = this.newVariable(c, false);
          this.addNested(v);
          continue;
        }
        case DW_TAG_unspecified_parameters:
          if (f !== undefined) f.unspecParms = true;
          continue;
        case DW_TAG_inlined_subroutine:
          // Its tags_table slot is never read back (variables are found by tag kind, and
          // nothing refers to an expansion): only what it holds matters.
          this.processInlineExpansion(c);
          continue;
        case DW_TAG_lexical_block:
          this.processFunctionBody(c, undefined);
          continue;
        case DW_TAG_LLVM_annotation: case DW_TAG_GNU_annotation:
          if (f !== undefined) this.annotation(c, -1, f.annots);
          continue;
        default: {
          const n = this.processTag(c, false);
          if (n === 'unsupported') continue;
          this.addNested(n);
        }
      }
    }
  }

  /** die__process_inline_expansion: its types and nested expansions take their slots too. */
  private processInlineExpansion(i: number): void {
    const r = this.r;
    if (!r.hasChildren(i)) return;
    for (let c = r.firstChild(i); c >= 0; c = r.next(c)) {
      const ct = r.tag(c);
      switch (ct) {
        case DW_TAG_call_site: case DW_TAG_call_site_parameter: case DW_TAG_GNU_call_site:
        case DW_TAG_GNU_call_site_parameter: case DW_TAG_formal_parameter: case DW_TAG_label:
          continue;
        case DW_TAG_lexical_block:
          this.processFunctionBody(c, undefined);
          continue;
        case DW_TAG_inlined_subroutine:
          this.processInlineExpansion(c);
          continue;
        default: {
          const n = this.processTag(c, false);
          if (n === 'unsupported') continue;
          this.addNested(n);
        }
      }
    }
  }

  /** variable__new + dwarf__location, for the current DIE i. */
  private newVariable(i: number, topLevel: boolean): VariableTag {
    const r = this.r;
    const c = this.common(i, DW_TAG_variable);
    const v: VariableTag = {
      tag: c.tag, die: c.die, dwType: c.dwType, dwTypeSig8: c.dwTypeSig8, dwOrigin: c.dwOrigin, dwSpec: 0, type: 0, topLevel: false, small: 0,
      kind: 'variable', name: r.str(A.name),
      external: r.has(A.external), declaration: r.has(A.declaration),
      hasSpecification: r.has(A.specification), artificial: r.has(A.artificial),
      scope: VSCOPE_UNKNOWN, addr: 0n, spec: undefined as VariableTag | undefined, annots: [] as Annotation[],
    };
    v.topLevel = topLevel;
    if (v.hasSpecification) v.dwSpec = r.ref(A.specification);
    const hasLoc = r.has(A.location);
    // Only top-level variables can be encoded (btf_encoder__encode_cu_variables): a local's
    // scope is never read, so its location (often a list) is not decoded.
    if (!v.declaration) {
      if (!hasLoc) v.scope = VSCOPE_OPTIMIZED;
      else if (topLevel) this.location(v.die, v);
      else v.scope = VSCOPE_LOCAL;
    }
    this.childAnnotations(i, -1, v.annots);
    return v;
  }

  private location(die: number, v: VariableTag): void {
    let ops: DwarfOp[] | undefined;
    try {
      ops = this.d.location(die, DW_AT_location);
    } catch {
      ops = undefined;
    }
    if (ops === undefined) {
      v.scope = VSCOPE_OPTIMIZED;
      return;
    }
    if (ops.length === 0) return;
    const first = ops[0] as DwarfOp;
    const a = first.atom;
    if (a === DW_OP_addr || a === DW_OP_addrx) {
      v.scope = VSCOPE_GLOBAL;
      let addr = first.number;
      if (a === DW_OP_addrx) {
        try {
          addr = this.d.addrx(die, first.number);
        } catch {
          addr = first.number;
        }
      }
      if (ops.length === 2 && (ops[1] as DwarfOp).atom === DW_OP_plus_uconst) addr = BigInt.asUintN(64, addr + (ops[1] as DwarfOp).number);
      v.addr = addr;
    } else if ((a >= DW_OP_reg0 + 1 && a <= DW_OP_reg31) || isBreg(a)) {
      v.scope = VSCOPE_REGISTER;
    } else if (a === DW_OP_fbreg) {
      v.scope = VSCOPE_LOCAL;
    }
  }

  // ---- recoding (cu__recode_dwarf_types) ------------------------------------------------------

  private findType(off: number, sig8: boolean): Tag | undefined {
    if (off === 0 || sig8) return undefined;
    const i = this.r.indexOf(off);
    return i < 0 ? undefined : this.hashTypes[i];
  }

  private findTag(off: number): Tag | undefined {
    if (off === 0) return undefined;
    const i = this.r.indexOf(off);
    return i < 0 ? undefined : this.hashTags[i];
  }

  private typeIdOf(off: number, sig8: boolean, who: number): number {
    const t = this.findType(off, sig8);
    if (t === undefined) {
      this.warn(`couldn't find 0x${off.toString(16)} type for 0x${who.toString(16)}`);
      return -1;
    }
    return this.smallId(t);
  }

  private recode(): void {
    const cu = this.cu;
    for (let i = 1; i < cu.types.length; i++) {
      const t = cu.types[i];
      if (t !== undefined) this.recodeTag(t);
    }
    for (const t of cu.tags) this.recodeTag(t);
    for (const f of cu.functions) this.recodeTag(f);
  }

  /** tag__recode_dwarf_type */
  private recodeTag(t: Tag): void {
    if (t.kind === 'type') {
      if (t.name === undefined && t.dwSpec !== 0) {
        const s = this.findType(t.dwSpec, false);
        if (s !== undefined && (s.kind === 'type')) t.name = s.name;
      }
      if (t.tag === DW_TAG_structure_type || t.tag === DW_TAG_union_type || t.tag === DW_TAG_class_type
        || t.tag === DW_TAG_interface_type || t.tag === DW_TAG_enumeration_type) {
        this.recodeNamespace(t.members, t.nested);
        return;
      }
    }
    switch (t.kind) {
      case 'namespace':
        this.recodeNamespace([], t.nested);
        return;
      case 'function': {
        if (t.name === undefined && (t.dwOrigin !== 0 || t.dwSpec !== 0)) {
          let o = this.findTag(t.dwOrigin);
          if (o === undefined) o = this.findTag(t.dwSpec);
          if (o !== undefined && o.kind === 'function') t.name = o.name;
        }
        this.recodeFtype(t);
        break;
      }
      case 'ftype':
        this.recodeFtype(t);
        break;
      case 'variable':
        if (t.hasSpecification && t.dwSpec !== 0) {
          const s = this.findTag(t.dwSpec);
          if (s !== undefined && s.kind === 'variable') t.spec = s;
        }
        break;
      default:
        break;
    }
    if (t.tag === DW_TAG_inlined_subroutine || t.tag === DW_TAG_imported_module || t.tag === DW_TAG_imported_declaration) return;
    if (t.kind === 'array' && t.inner !== undefined) {
      t.type = this.smallId(t.inner);
      return;
    }
    if (t.dwType === 0) {
      if (t.kind === 'pointer' && t.typeTags !== undefined) this.chainTypeTags(t, 0);
      else t.type = 0;
      return;
    }
    const id = this.typeIdOf(t.dwType, t.dwTypeSig8, t.die);
    if (id < 0) return;
    if (t.kind === 'pointer' && t.typeTags !== undefined) this.chainTypeTags(t, id);
    else t.type = id;
  }

  /** dwarf_cu__recode_btf_type_tag_ptr: pointer -> tag (nearest '*') -> ... -> pointee. */
  private chainTypeTags(p: PointerTag, pointee: number): void {
    let prev: Tag = p;
    for (const a of p.typeTags ?? []) {
      prev.type = this.smallId(a);
      prev = a;
    }
    prev.type = pointee;
  }

  /** namespace__recode_dwarf_types: members and nested tags. */
  private recodeNamespace(members: MemberTag[], nested: Tag[]): void {
    for (const m of members) {
      if (m.dwType === 0) continue;
      const id = this.typeIdOf(m.dwType, m.dwTypeSig8, m.die);
      if (id >= 0) m.type = id;
    }
    for (const n of nested) {
      if (n.kind === 'type' && (n.tag === DW_TAG_structure_type || n.tag === DW_TAG_union_type || n.tag === DW_TAG_class_type || n.tag === DW_TAG_interface_type || n.tag === DW_TAG_enumeration_type)) {
        this.recodeNamespace(n.members, n.nested);
        continue;
      }
      if (n.kind === 'namespace') {
        this.recodeNamespace([], n.nested);
        continue;
      }
      if (n.kind === 'ftype' || n.kind === 'function') this.recodeFtype(n);
      if (n.tag === DW_TAG_imported_module || n.tag === DW_TAG_imported_declaration) continue;
      if (n.dwType === 0) continue;
      const id = this.typeIdOf(n.dwType, n.dwTypeSig8, n.die);
      if (id >= 0) n.type = id;
    }
  }

  /** ftype__recode_dwarf_types: parameter types, names and locations from abstract origins. */
  private recodeFtype(f: FtypeTag | FunctionTag): void {
    for (const pos of f.params) {
      if (pos.dwType === 0) {
        if (pos.dwOrigin === 0) {
          pos.type = 0;
          continue;
        }
        const o = this.findTag(pos.dwOrigin);
        if (o === undefined || o.kind !== 'parameter') {
          this.warn(`couldn't find 0x${pos.dwOrigin.toString(16)} abstract_origin for 0x${pos.die.toString(16)}`);
          continue;
        }
        pos.name = o.name;
        if (pos.idx !== o.idx) f.reorderedParm = true;
        pos.type = o.type;
        if (pos.hasLoc) o.hasLoc = true;
        if (pos.hasConstValue) o.hasConstValue = true;
        if (pos.locConstValue) o.locConstValue = true;
        if (pos.locStack) o.locStack = true;
        if (pos.locReg !== UNKNOWN_REG) o.locReg = pos.locReg;
        if (pos.typeByteSize !== 0) o.typeByteSize = pos.typeByteSize;
        if (pos.passedInMemory) o.passedInMemory = true;
        o.firstRegFields |= pos.firstRegFields;
        o.secondRegFields |= pos.secondRegFields;
        if (pos.optimized) o.optimized = true;
        if (pos.unexpectedReg) o.unexpectedReg = true;
        continue;
      }
      const id = this.typeIdOf(pos.dwType, pos.dwTypeSig8, pos.die);
      if (id >= 0) pos.type = id;
    }
  }

  // ---- cu__resolve_func_ret_types_optimized --------------------------------------------------

  private resolveFuncRetTypesOptimized(): void {
    const cu = this.cu;
    for (const fn of cu.functions) {
      this.analyzeParameterLocations(fn);
      let hasUnexpected = false;
      for (const p of fn.params) {
        if (p.optimized || !p.hasLoc) fn.optimizedParms = true;
        if (p.unexpectedReg) hasUnexpected = true;
      }
      if (hasUnexpected) {
        let hasStruct = false;
        for (const p of fn.params) {
          if (this.paramIsStruct(p.type, 0)) { hasStruct = true; break; }
        }
        if (!hasStruct) fn.unexpectedReg = true;
      }
      if (fn.type !== 0 || !fn.hasAbstractOrigin) continue;
      const o = this.findTag(fn.dwOrigin);
      if (o === undefined) {
        throw new EncodeError('ENCODE_UNSUPPORTED', `couldn't find 0x${fn.dwOrigin.toString(16)} abstract_origin for function 0x${fn.die.toString(16)} (pahole fails decoding this CU)`, { file: this.d.file, section: '.debug_info', offset: fn.die, die: fn.die });
      }
      fn.type = o.type;
    }
  }

  /** param__is_struct: through const and typedef. */
  private paramIsStruct(id: number, depth: number): boolean {
    const t = this.cu.types[id];
    if (t === undefined || depth > 64) return false;
    if (t.tag === DW_TAG_structure_type) return true;
    if (t.tag === DW_TAG_const_type || t.tag === DW_TAG_typedef) return this.paramIsStruct(t.type, depth + 1);
    return false;
  }

  /** function__analyze_parameter_locations (true_signature off: the default path). */
  private analyzeParameterLocations(fn: FunctionTag): void {
    const cu = this.cu;
    const checkLocations = !cu.producerClang || fn.signatureChanged;
    if (!checkLocations) {
      let regIdx = 0;
      for (const pos of fn.params) {
        const slots = this.abiSlots(pos);
        if (pos.passedInMemory) continue;
        if (regIdx >= cu.nrRegisterParams) break;
        if (pos.locReg !== UNKNOWN_REG && !this.regInWindow(pos, regIdx, slots)) pos.unexpectedReg = true;
        regIdx += slots;
      }
      return;
    }
    let regIdx = 0;
    for (const pos of fn.params) {
      let consumes = true;
      const regsAvailable = regIdx < cu.nrRegisterParams;
      const slots = this.abiSlots(pos);
      const expected = regsAvailable ? (cu.registerParams[regIdx] ?? -1) : -1;
      const regSlots = pos.passedInMemory ? 1 : slots;
      if (pos.hasLoc) {
        if (!regsAvailable) consumes = false;
        else if (pos.locReg === UNKNOWN_REG) pos.optimized = true;
        else if (expected >= 0 && expected !== pos.locReg) pos.unexpectedReg = true;
      } else if (pos.hasConstValue && !cu.producerClang) {
        pos.optimized = true;
      }
      if (consumes) regIdx += regSlots;
    }
  }

  /** parameter__abi_slots */
  private abiSlots(p: ParameterTag): number {
    const cu = this.cu;
    if (!cu.aggUseTwoRegs || p.typeByteSize <= cu.addrSize) return 1;
    const slots = Math.trunc((p.typeByteSize + cu.addrSize - 1) / cu.addrSize);
    return slots > 0 ? slots : 1;
  }

  private regInWindow(p: ParameterTag, regIdx: number, slots: number): boolean {
    const cu = this.cu;
    for (let i = 0; i < slots; i++) {
      const idx = regIdx + i;
      if (idx >= cu.nrRegisterParams) break;
      if (p.locReg === cu.registerParams[idx]) return true;
    }
    return false;
  }

  // ---- cu__finalize: class_member__cache_byte_size --------------------------------------------

  private finalize(): void {
    for (const t of this.cu.types) {
      if (t === undefined || t.kind !== 'type') continue;
      for (const m of t.members) this.cacheByteSize(m);
    }
  }

  private cacheByteSize(m: MemberTag): void {
    if (m.tag === DW_TAG_member && m.isStatic) return;
    if (m.bitfieldSize === 0) {
      m.byteSize = this.memberSize(m);
      m.bitSize = m.byteSize * 8;
      return;
    }
    if (m.byteSize === 0) {
      const type = stripTypedefsAndModifiers(this.cu, m.type);
      m.byteSize = type === undefined ? 0 : tagSize(this.cu, type);
      if (m.byteSize === 0 && type !== undefined) {
        let bitSize: number;
        if (type.tag === DW_TAG_enumeration_type && type.kind === 'type') bitSize = type.size;
        else bitSize = type.kind === 'base' ? (type.bitSize !== 0 ? type.bitSize : baseTypeNameToSize(type.name, this.cu)) : 0;
        m.byteSize = Math.trunc((bitSize + 7) / 8) * 8;
      }
    }
    m.bitSize = m.byteSize * 8;
    if (m.byteSize === 0) {
      m.bitfieldOffset = 0;
      return;
    }
    if (!m.hasBitOffset) {
      if (this.cu.littleEndian) m.bitfieldOffset = int8(m.bitSize - m.bitfieldOffset - m.bitfieldSize);
      m.bitOffset = (m.byteOffset * 8 + m.bitfieldOffset) >>> 0;
    } else {
      m.byteOffset = Math.floor(m.bitOffset / 8);
      m.bitfieldOffset = m.bitOffset - m.byteOffset * 8;
    }
    if (m.bitfieldOffset < 0) {
      m.bitfieldOffset = int8(m.bitfieldOffset + m.bitSize);
      m.byteOffset -= m.byteSize;
      m.bitOffset = (m.byteOffset * 8 + m.bitfieldOffset) >>> 0;
    }
  }

  /** tag__size of a member (byte_size when cached, else its type's size). */
  private memberSize(m: MemberTag): number {
    if (m.isStatic) return 0;
    if (m.byteSize !== 0) return m.byteSize;
    const t = this.cu.types[m.type];
    if (m.type === 0 || t === undefined) return 0;
    return tagSize(this.cu, t);
  }
}

/** int8_t arithmetic (class_member.bitfield_offset). */
function int8(v: number): number {
  return (v << 24) >> 24;
}

function setLocReg(p: ParameterTag, reg: number): void {
  if (p.locReg === UNKNOWN_REG) p.locReg = reg;
}

function setFieldBit(fields: number, byteOffset: number): number {
  // unsigned long: 64 bits; byte offsets past 31 do not occur for two-register aggregates.
  return byteOffset >= 0 && byteOffset < 32 ? (fields | (1 << byteOffset)) >>> 0 : fields;
}

function toU64Number(v: bigint): number {
  return Number(BigInt.asUintN(64, v) & 0xffffffffn);
}

/** dwarf_expr: the operand of DW_OP_plus_uconst / DW_OP_constu, else UINT64_MAX (truncated). */
function dwarfExpr(b: Uint8Array, warn: (m: string) => void): number {
  const op = b[0];
  if (op === DW_OP_plus_uconst || op === DW_OP_constu) {
    let v = 0n;
    let shift = 0n;
    for (let i = 1; i < b.length && i < 11; i++) {
      const x = b[i] as number;
      v |= BigInt(x & 0x7f) << shift;
      if ((x & 0x80) === 0) return Number(v & 0xffffffffn);
      shift += 7n;
    }
    return 0xffffffff;
  }
  warn(`dwarf_expr: unhandled 0x${(op ?? 0).toString(16)} DW_OP_ operation`);
  return 0xffffffff;
}

/** tag__strip_typedefs_and_modifiers */
export function stripTypedefsAndModifiers(cu: Cu, id: number): Tag | undefined {
  let t = cu.types[id];
  let guard = 0;
  while (t !== undefined && guard++ < 1000 && (t.tag === DW_TAG_typedef || t.tag === DW_TAG_const_type || t.tag === DW_TAG_volatile_type || t.tag === DW_TAG_restrict_type || t.tag === DW_TAG_atomic_type)) {
    t = cu.types[t.type];
  }
  return t;
}

/** tag__size (dwarves.c); (size_t)-1 on a missing type or a loop, as pahole. */
export function tagSize(cu: Cu, t: Tag, depth = 0): number {
  if (depth > 1000) return -1;
  switch (t.tag) {
    case DW_TAG_string_type: return 1;
    case DW_TAG_pointer_type: case DW_TAG_reference_type: return cu.addrSize;
    case DW_TAG_base_type: return t.kind === 'base' ? Math.trunc(t.bitSize / 8) & 0xffff : 0;
    case DW_TAG_enumeration_type: return t.kind === 'type' ? Math.trunc(t.size / 8) : 0;
    case DW_TAG_subroutine_type: return t.kind === 'ftype' && t.byteSize !== 0 ? t.byteSize : cu.addrSize;
    default: break;
  }
  let size: number;
  if (t.type === 0) {
    if (t.kind !== 'type') return 0;
    size = t.size === 1 && t.nrMembers === 0 ? 0 : t.size;
  } else {
    const u = cu.types[t.type];
    if (u === undefined) return -1;
    size = tagSize(cu, u, depth + 1);
    if (size === -1) return -1;
  }
  if (t.tag === DW_TAG_array_type && t.kind === 'array') {
    let n = 1;
    for (const e of t.dims) n *= e;
    return size * n;
  }
  return size;
}

const NAME_SIZES: Record<string, number> = {
  unsigned: 32, 'signed int': 32, 'unsigned int': 32, int: 32, 'short unsigned int': 16, 'signed short': 16,
  'unsigned short': 16, 'short int': 16, short: 16, char: 8, 'signed char': 8, 'unsigned char': 8,
  'signed long': 0, 'long int': 0, long: 0, 'unsigned long': 0, 'long unsigned int': 0, bool: 8, _Bool: 8,
  'long long unsigned int': 64, 'long long int': 64, 'long long': 64, 'signed long long': 64, 'unsigned long long': 64,
  double: 64, 'double double': 64, 'single float': 32, float: 32, 'long double': 128, 'long double long double': 128,
  __int128: 128, 'unsigned __int128': 128, '__int128 unsigned': 128, _Float128: 128,
};

/** base_type__name_to_size: the table, longs by the word size. */
function baseTypeNameToSize(name: string | undefined, cu: Cu): number {
  if (name === undefined) return 0;
  const s = NAME_SIZES[name];
  if (s === undefined) return 0;
  return s === 0 ? cu.addrSize * 8 : s;
}
