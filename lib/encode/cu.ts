/**
 * pahole's model of one compilation unit, as dwarf_loader.c leaves it for the BTF encoder:
 * the three tables of struct cu (types_table, tags_table, functions_table; index = the
 * "small id" a tag gets when cu__table_add_tag() adds it, types_table[0] being void) and,
 * per tag, what btf_encoder.c reads. Only what reaches the BTF bytes is modelled; tags pahole
 * creates but never encodes (labels, lexical blocks, inline expansions, call sites, template
 * parameters) are not kept, but every tag that takes a types_table slot is, because slots are
 * BTF ids.
 *
 * Type references start as DIE offsets (dwarf_tag's `type`, `abstract_origin`,
 * `specification`) and are replaced by small ids when the CU is recoded
 * (cu__recode_dwarf_types), exactly as pahole does.
 */

export interface TagCommon {
  /** DW_TAG_* (DW_TAG_GNU_annotation type tags are normalised to DW_TAG_LLVM_annotation). */
  tag: number;
  /** DIE offset in .debug_info (dwarf_tag.id). */
  die: number;
  /** DIE offset of DW_AT_type (DW_AT_import for imported_*), 0 when absent. */
  dwType: number;
  /** DW_AT_type used DW_FORM_ref_sig8 (from_types_section). */
  dwTypeSig8: boolean;
  /** DW_AT_abstract_origin DIE offset, 0 when absent. */
  dwOrigin: number;
  /** DW_AT_specification DIE offset, 0 when absent (only read where pahole reads it). */
  dwSpec: number;
  /** Recoded tag->type: a small id of the types table (0: void). */
  type: number;
  topLevel: boolean;
  /** The tag's index in its table (dwarf_tag.small_id); 0 for a top-level unspecified type. */
  small: number;
}

export interface BaseTypeTag extends TagCommon {
  kind: 'base';
  name: string | undefined;
  bitSize: number;
  isSigned: boolean;
  isBool: boolean;
  /** BT_FP_* of encoding_to_float_type: 0 none, 1 single (DW_ATE_float), 4 complex, 10 imaginary. */
  floatType: number;
}

/** const, volatile, restrict, atomic, reference, unspecified... (tag__new). */
export interface PlainTag extends TagCommon {
  kind: 'plain';
}

export interface PointerTag extends TagCommon {
  kind: 'pointer';
  /** btf_type_tag annotations, first = nearest the '*' (btf_type_tag_ptr_type.tags). */
  typeTags: AnnotTypeTag[] | undefined;
}

export interface AnnotTypeTag extends TagCommon {
  kind: 'typetag';
  value: string | undefined;
}

export interface ArrayTag extends TagCommon {
  kind: 'array';
  /** nr_entries per dimension, as uint32 (one: pahole 1.32 gives each dimension its own array). */
  dims: number[];
  /** The array of the next dimension (its element type), for multi-dimensional DWARF arrays. */
  inner: ArrayTag | undefined;
}

export interface Annotation {
  value: string | undefined;
  componentIdx: number;
}

export interface MemberTag {
  /** DW_TAG_member or DW_TAG_inheritance. */
  tag: number;
  die: number;
  dwType: number;
  dwTypeSig8: boolean;
  type: number;
  name: string | undefined;
  isStatic: boolean;
  hasBitOffset: boolean;
  /** class_member: bit_offset, byte_offset, bitfield_offset, bitfield_size, byte_size, bit_size. */
  bitOffset: number;
  byteOffset: number;
  bitfieldOffset: number;
  bitfieldSize: number;
  byteSize: number;
  bitSize: number;
}

export interface Enumerator {
  name: string | undefined;
  /** attr_numeric(DW_AT_const_value): dwarf_formudata's u64 reinterpreted as int64. */
  value: bigint;
}

/** struct, union, class, interface, typedef, enum, rvalue_reference (struct type). */
export interface TypeTag extends TagCommon {
  kind: 'type';
  name: string | undefined;
  /** type->size: bytes, except enumerations: bits (die__create_new_enumeration). */
  size: number;
  declaration: boolean;
  nrMembers: number;
  /** Data members and inheritance entries, in DIE order. */
  members: MemberTag[];
  enumerators: Enumerator[];
  isSignedEnum: boolean;
  /** namespace.annots: btf_decl_tag annotations of the type and its members. */
  annots: Annotation[];
  /** Nested types (namespace__add_tag), recoded with the type. */
  nested: Tag[];
  /** DW_AT_alignment (ignored with -J: ignore_alignment_attr). */
  alignment: number;
  /** class__infer_packed_attributes state. */
  packedInferred: boolean;
  isPacked: boolean;
}

export interface ParameterTag extends TagCommon {
  kind: 'parameter';
  name: string | undefined;
  idx: number;
  locReg: number;
  typeByteSize: number;
  passedInMemory: boolean;
  hasConstValue: boolean;
  hasLoc: boolean;
  locConstValue: boolean;
  locStack: boolean;
  firstRegFields: number;
  secondRegFields: number;
  optimized: boolean;
  unexpectedReg: boolean;
}

/** struct ftype's verdicts on a prototype, which btf_encoder.c carries into each saved function's state. */
export interface ProtoFlags {
  optimizedParms: boolean;
  unexpectedReg: boolean;
  inconsistentProto: boolean;
  uncertainParmLoc: boolean;
  reorderedParm: boolean;
  signatureChanged: boolean;
}

/** DW_TAG_subroutine_type and the prototype part of DW_TAG_subprogram (struct ftype). */
export interface FtypeTag extends TagCommon, ProtoFlags {
  kind: 'ftype';
  params: ParameterTag[];
  unspecParms: boolean;
  byteSize: number;
}

export interface FunctionTag extends Omit<FtypeTag, 'kind'> {
  kind: 'function';
  name: string | undefined;
  declaration: boolean;
  external: boolean;
  hasAbstractOrigin: boolean;
  inlined: number;
  /** lexblock.ip.addr: DW_AT_low_pc as libdwfl relocated it (0 without one). */
  addr: bigint;
  annots: Annotation[];
}

export interface VariableTag extends TagCommon {
  kind: 'variable';
  name: string | undefined;
  external: boolean;
  declaration: boolean;
  hasSpecification: boolean;
  artificial: boolean;
  /** VSCOPE_*: 0 unknown, 1 global, 2 register, 3 local, 4 optimized. */
  scope: number;
  addr: bigint;
  spec: VariableTag | undefined;
  annots: Annotation[];
}

export interface NamespaceTag extends TagCommon {
  kind: 'namespace';
  nested: Tag[];
}

/** Tags kept only to take their table slot and hash entry (labels, constants, imports...). */
export interface OtherTag extends TagCommon {
  kind: 'other';
}

export type Tag =
  | BaseTypeTag | PlainTag | PointerTag | AnnotTypeTag | ArrayTag | TypeTag | FtypeTag
  | FunctionTag | ParameterTag | VariableTag | NamespaceTag | OtherTag;

export const VSCOPE_UNKNOWN = 0;
export const VSCOPE_GLOBAL = 1;
export const VSCOPE_REGISTER = 2;
export const VSCOPE_LOCAL = 3;
export const VSCOPE_OPTIMIZED = 4;

export const BT_FP_SINGLE = 1;
export const BT_FP_CMPLX = 4;
export const BT_FP_IMGRY = 10;

/** One CU after loading and recoding (struct cu). */
export interface Cu {
  name: string;
  language: number;
  producerClang: boolean;
  addrSize: number;
  littleEndian: boolean;
  nrRegisterParams: number;
  /** DW_OP_reg* expected for parameter i, -1 where the arch has none. */
  registerParams: number[];
  aggUseTwoRegs: boolean;
  /** types_table: index 0 is void (undefined). */
  types: (Tag | undefined)[];
  /** tags_table (variables, parameters, ... : what the encoder iterates for variables). */
  tags: Tag[];
  functions: FunctionTag[];
}

/** The tag kinds whose tags go to types_table (tag__is_tag_type). */
export function isTypeTag(tag: number): boolean {
  return TYPE_TAGS.has(tag);
}

const TYPE_TAGS = new Set<number>([
  0x17, // union
  0x13, 0x38, 0x02, // structure, interface, class
  0x16, // typedef
  0x42, // rvalue_reference
  0x04, // enumeration
  0x01, // array
  0x12, // string
  0x24, // base
  0x26, // const
  0x0f, // pointer
  0x1f, // ptr_to_member
  0x10, // reference
  0x37, // restrict
  0x15, // subroutine
  0x3b, // unspecified
  0x35, // volatile
  0x47, // atomic
  0x6000, 0x6001, // LLVM / GNU annotation
]);
