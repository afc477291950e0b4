/**
 * Construct BTF the way libbpf's btf__add_* API does (same names, argument order
 * and kflag/vlen bookkeeping), for tests and for code that emits new BTF. Each add
 * returns the new type id; members, values and params attach to the last type added.
 */
import { BtfFormatError } from '../errors.js';
import { Btf } from './btf.js';
import { BtfKind, kindName } from './kinds.js';
import { StringTableBuilder } from './strings.js';
import type { BtfType } from './types.js';
import { BTF_HEADER_LAYOUT, BTF_HEADER_MIN, BTF_MAX_VLEN, infoKflag, infoKind, infoVlen, makeInfo, makeIntData } from './wire.js';
import { kindLayoutSection } from './fields.js';
import { writeBtf } from './write.js';

export type FwdKind = 'struct' | 'union' | 'enum';

export interface BtfBuilderOptions {
  /** Build split BTF over this base: ids and string offsets continue after it. */
  base?: Btf;
  /** Byte order of the output; default little endian (or the base's). */
  littleEndian?: boolean;
  /**
   * hdr_len of the output: 24 (default; pahole, libbpf up to 1.7) or 32 (struct
   * btf_header with layout_off/layout_len, as libbpf 1.8 writes it: zero without a layout).
   */
  headerLen?: 24 | 32;
  /**
   * A layout section: `true` for the one libbpf writes with btf__new_empty_opts'
   * add_layout (kinds 0..ENUM64), or the section's bytes (in the output's byte order,
   * e.g. kindLayoutSection() with entries for newer kinds). Implies a 32-byte header.
   */
  layout?: boolean | Uint8Array;
}

function builderError(message: string, typeId?: number): BtfFormatError {
  return new BtfFormatError('BTF_BUILDER', message, typeId === undefined ? {} : { typeId });
}

export class BtfBuilder {
  readonly base: Btf | undefined;
  readonly littleEndian: boolean;
  readonly strings: StringTableBuilder;
  private readonly types: BtfType[] = [];
  readonly startId: number;

  private headerExtra: Uint8Array | undefined;
  private readonly layout: Uint8Array | undefined;

  constructor(opts: BtfBuilderOptions = {}, continued?: Btf) {
    this.base = opts.base;
    this.littleEndian = opts.littleEndian ?? opts.base?.littleEndian ?? true;
    this.strings = continued ? StringTableBuilder.continuing(continued.strings, opts.base) : new StringTableBuilder(opts.base);
    this.startId = opts.base ? opts.base.typeCount : 1;
    if (opts.layout === true) this.layout = kindLayoutSection(this.littleEndian);
    else if (opts.layout instanceof Uint8Array) this.layout = opts.layout;
    if (opts.headerLen === BTF_HEADER_LAYOUT || this.layout !== undefined) this.headerExtra = new Uint8Array(BTF_HEADER_LAYOUT - BTF_HEADER_MIN);
    if (continued) {
      for (const t of continued.ownTypes()) this.types.push(t);
      this.headerExtra = continued.header.extra;
      this.layout = continued.layout;
    }
  }

  /**
   * A builder that appends to a parsed BTF, as the btf__add_* calls do on a BTF that
   * libbpf loaded: its types and string bytes stay as they are (header included),
   * strings already in it or in its base are reused, new ones are appended.
   */
  static continuing(btf: Btf): BtfBuilder {
    return new BtfBuilder(btf.base ? { base: btf.base, littleEndian: btf.littleEndian } : { littleEndian: btf.littleEndian }, btf);
  }

  /** A type added (or continued) here; undefined for ids of the base or out of range. */
  ownType(id: number): BtfType | undefined { return this.types[id - this.startId]; }

  /** btf__find_by_name_kind(): the first id (base first, then own types) with that name and kind, or -1. */
  findByNameKind(name: string, kind: BtfKind): number {
    const inBase = this.base?.findByName(name, kind)[0];
    if (inBase !== undefined) return inBase;
    for (const t of this.types) if (t.kind === kind && t.nameOff !== 0 && this.strAt(t.nameOff) === name) return t.id;
    return -1;
  }

  /** btf__find_by_name_kind_own(): the first of the builder's own types (added ones included) with that name and kind, or -1. */
  findOwnByNameKind(name: string, kind: BtfKind): number {
    for (const t of this.types) if (t.kind === kind && t.nameOff !== 0 && this.strAt(t.nameOff) === name) return t.id;
    return -1;
  }

  /** The string at a (split-aware) offset of this builder's strings or its base's. */
  strAt(off: number): string | undefined {
    if (off < this.strings.startStrOff) return this.base?.strOrUndefined(off);
    return this.strings.at(off);
  }

  /** Ids the next add will get. */
  get nextId(): number { return this.startId + this.types.length; }

  addStr(s: string): number { return this.strings.add(s); }

  private push(t: BtfType): number {
    this.types.push(t);
    return t.id;
  }

  private name(s: string | undefined): number { return s ? this.strings.add(s) : 0; }

  /** encoding: BTF_INT_SIGNED | BTF_INT_CHAR | BTF_INT_BOOL bits. */
  addInt(name: string, size: number, encoding: number): number {
    if (!name) throw builderError('INT needs a name');
    return this.push({ kind: BtfKind.Int, id: this.nextId, nameOff: this.name(name), info: makeInfo(BtfKind.Int, 0, false), size, intData: makeIntData(encoding, 0, size * 8) });
  }

  addFloat(name: string, size: number): number {
    return this.push({ kind: BtfKind.Float, id: this.nextId, nameOff: this.name(name), info: makeInfo(BtfKind.Float, 0, false), size });
  }

  private addRef(kind: BtfKind.Ptr | BtfKind.Typedef | BtfKind.Volatile | BtfKind.Const | BtfKind.Restrict | BtfKind.TypeTag | BtfKind.Func, name: string | undefined, type: number, vlen = 0, kflag = false): number {
    return this.push({ kind, id: this.nextId, nameOff: this.name(name), info: makeInfo(kind, vlen, kflag), type });
  }

  addPtr(refTypeId: number): number { return this.addRef(BtfKind.Ptr, undefined, refTypeId); }
  addTypedef(name: string, refTypeId: number): number { return this.addRef(BtfKind.Typedef, name, refTypeId); }
  addVolatile(refTypeId: number): number { return this.addRef(BtfKind.Volatile, undefined, refTypeId); }
  addConst(refTypeId: number): number { return this.addRef(BtfKind.Const, undefined, refTypeId); }
  addRestrict(refTypeId: number): number { return this.addRef(BtfKind.Restrict, undefined, refTypeId); }
  addTypeTag(value: string, refTypeId: number): number { return this.addRef(BtfKind.TypeTag, value, refTypeId); }
  /** btf__add_type_attr: a TYPE_TAG with kflag set (an __attribute__, e.g. address_space(1)). */
  addTypeAttr(value: string, refTypeId: number): number {
    if (!value) throw builderError('a type attribute needs a value');
    return this.addRef(BtfKind.TypeTag, value, refTypeId, 0, true);
  }
  /** linkage: BtfFuncLinkage (0 static, 1 global, 2 extern), kept in vlen. */
  addFunc(name: string, linkage: number, protoTypeId: number): number { return this.addRef(BtfKind.Func, name, protoTypeId, linkage); }

  addArray(indexTypeId: number, elemTypeId: number, nelems: number): number {
    return this.push({ kind: BtfKind.Array, id: this.nextId, nameOff: 0, info: makeInfo(BtfKind.Array, 0, false), size: 0, elemType: elemTypeId, indexType: indexTypeId, nelems });
  }

  addStruct(name: string, size: number): number {
    return this.push({ kind: BtfKind.Struct, id: this.nextId, nameOff: this.name(name), info: makeInfo(BtfKind.Struct, 0, false), size, members: [] });
  }

  addUnion(name: string, size: number): number {
    return this.push({ kind: BtfKind.Union, id: this.nextId, nameOff: this.name(name), info: makeInfo(BtfKind.Union, 0, false), size, members: [] });
  }

  /** Adds a member to the last STRUCT/UNION; a bitfield (or unaligned offset) sets kflag. */
  addField(name: string, typeId: number, bitOffset: number, bitfieldSize = 0): void {
    const t = this.last();
    if (t.kind !== BtfKind.Struct && t.kind !== BtfKind.Union) throw builderError(`addField after ${kindName(t.kind)}, not STRUCT/UNION`, t.id);
    const isBitfield = bitfieldSize !== 0 || bitOffset % 8 !== 0;
    if (isBitfield && (bitfieldSize === 0 || bitfieldSize > 255 || bitOffset > 0xffffff)) {
      throw builderError(`bitfield ${name}: size ${bitfieldSize} or offset ${bitOffset} out of range`, t.id);
    }
    this.roomForOneMore(t);
    t.members.push({ nameOff: this.name(name), type: typeId, offset: (bitOffset | (bitfieldSize << 24)) >>> 0 });
    t.info = makeInfo(t.kind, t.members.length, isBitfield || infoKflag(t.info));
  }

  addEnum(name: string, size: number): number {
    return this.push({ kind: BtfKind.Enum, id: this.nextId, nameOff: this.name(name), info: makeInfo(BtfKind.Enum, 0, false), size, values: [] });
  }

  /** Adds a value to the last ENUM; a negative value marks the enum signed (kflag). */
  addEnumValue(name: string, value: number): void {
    const t = this.last();
    if (t.kind !== BtfKind.Enum) throw builderError(`addEnumValue after ${kindName(t.kind)}, not ENUM`, t.id);
    if (value < -0x80000000 || value > 0xffffffff) throw builderError(`enum value ${value} does not fit 32 bits`, t.id);
    this.roomForOneMore(t);
    t.values.push({ nameOff: this.name(name), val: value >>> 0 });
    t.info = makeInfo(BtfKind.Enum, t.values.length, value < 0 || infoKflag(t.info));
  }

  addEnum64(name: string, size: number, isSigned: boolean): number {
    return this.push({ kind: BtfKind.Enum64, id: this.nextId, nameOff: this.name(name), info: makeInfo(BtfKind.Enum64, 0, isSigned), size, values: [] });
  }

  addEnum64Value(name: string, value: bigint): void {
    const t = this.last();
    if (t.kind !== BtfKind.Enum64) throw builderError(`addEnum64Value after ${kindName(t.kind)}, not ENUM64`, t.id);
    this.roomForOneMore(t);
    const u = BigInt.asUintN(64, value);
    t.values.push({ nameOff: this.name(name), valLo32: Number(u & 0xffffffffn), valHi32: Number(u >> 32n) });
    t.info = makeInfo(BtfKind.Enum64, t.values.length, infoKflag(t.info));
  }

  /** Like btf__add_fwd: an enum forward declaration is an ENUM of size 4 with no values. */
  addFwd(name: string, fwdKind: FwdKind): number {
    if (fwdKind === 'enum') return this.addEnum(name, 4);
    return this.push({ kind: BtfKind.Fwd, id: this.nextId, nameOff: this.name(name), info: makeInfo(BtfKind.Fwd, 0, fwdKind === 'union'), size: 0 });
  }

  addFuncProto(returnTypeId: number): number {
    return this.push({ kind: BtfKind.FuncProto, id: this.nextId, nameOff: 0, info: makeInfo(BtfKind.FuncProto, 0, false), type: returnTypeId, params: [] });
  }

  addFuncParam(name: string, typeId: number): void {
    const t = this.last();
    if (t.kind !== BtfKind.FuncProto) throw builderError(`addFuncParam after ${kindName(t.kind)}, not FUNC_PROTO`, t.id);
    this.roomForOneMore(t);
    t.params.push({ nameOff: this.name(name), type: typeId });
    t.info = makeInfo(BtfKind.FuncProto, t.params.length, false);
  }

  addVar(name: string, linkage: number, typeId: number): number {
    return this.push({ kind: BtfKind.Var, id: this.nextId, nameOff: this.name(name), info: makeInfo(BtfKind.Var, 0, false), type: typeId, linkage });
  }

  addDatasec(name: string, size: number): number {
    return this.push({ kind: BtfKind.Datasec, id: this.nextId, nameOff: this.name(name), info: makeInfo(BtfKind.Datasec, 0, false), size, vars: [] });
  }

  addDatasecVarInfo(varTypeId: number, offset: number, size: number): void {
    const t = this.last();
    if (t.kind !== BtfKind.Datasec) throw builderError(`addDatasecVarInfo after ${kindName(t.kind)}, not DATASEC`, t.id);
    this.roomForOneMore(t);
    t.vars.push({ type: varTypeId, offset, size });
    t.info = makeInfo(BtfKind.Datasec, t.vars.length, false);
  }

  /** kflag set: btf__add_decl_attr (an attribute rather than a tag). */
  addDeclTag(value: string, refTypeId: number, componentIdx: number, kflag = false): number {
    return this.push({ kind: BtfKind.DeclTag, id: this.nextId, nameOff: this.name(value), info: makeInfo(BtfKind.DeclTag, 0, kflag), type: refTypeId, componentIdx });
  }

  /**
   * Appends an already-encoded record (ids and string offsets as they stand); a record of
   * a kind modbtf does not know (BtfVoid with `unknown`) needs a layout entry for its kind.
   */
  addRaw(t: BtfType): number {
    const opaque = t.kind === BtfKind.Unkn && t.unknown !== undefined;
    if (!opaque && infoKind(t.info) !== t.kind) throw builderError(`record kind ${kindName(t.kind)} does not match its info word`, t.id);
    // structuredClone of a typed-array view copies its whole buffer (the blob it came from).
    if (t.kind === BtfKind.Unkn && t.unknown !== undefined) return this.push({ ...t, id: this.nextId, unknown: { ...t.unknown, rest: t.unknown.rest.slice() } });
    return this.push({ ...structuredClone(t), id: this.nextId });
  }

  /** libbpf's btf_type_inc_vlen(): -ENOSPC once vlen is at BTF_MAX_VLEN. */
  private roomForOneMore(t: BtfType): void {
    if (infoVlen(t.info) >= BTF_MAX_VLEN) throw builderError(`${kindName(t.kind)} already has ${BTF_MAX_VLEN} entries, the most vlen can hold`, t.id);
  }

  private last(): BtfType {
    const t = this.types[this.types.length - 1];
    if (!t) throw builderError('no type added yet');
    return t;
  }

  /** Raw BTF bytes (as btf__raw_data). */
  toBytes(): Uint8Array {
    return writeBtf({
      littleEndian: this.littleEndian, types: this.types, strings: this.strings.bytes(),
      ...(this.headerExtra ? { headerExtra: this.headerExtra } : {}), ...(this.layout ? { layout: this.layout } : {}),
    });
  }

  /** Encode and parse: the result is an ordinary Btf (split over `base` if given). */
  build(): Btf {
    const opts = this.base ? { base: this.base } : {};
    return Btf.parse(this.toBytes(), opts);
  }

  get typeCount(): number { return this.nextId; }
}
