/**
 * The BTF pahole builds before deduplication, kept the way libbpf keeps a struct btf under
 * construction: type records as 32-bit words in one growing array (host order), an offset
 * per id, and a string set that looks in the base first (btf__add_str). Each add* method is
 * the libbpf btf__add_*() call pahole makes, with that call's checks (libbpf 1.7.0 src/btf.c):
 * a refused call is an EncodeError, where pahole prints "Error emitting BTF type" and fails.
 *
 * A module's pre-dedup BTF can hold hundreds of thousands of records (every CU repeats the
 * types it uses), so records are words, not objects. takeBytes() gives btf__raw_data()'s
 * layout (24-byte header, types, strings) in the target byte order, for lib/dedup, in the
 * buffer the records were built in: the words start past room for the header, and the
 * strings are written after them (xfs.ko: an 18.6 MB copy fewer while it is deduplicated).
 */
import type { Btf } from '../btf/btf.js';
import { BtfKind } from '../btf/kinds.js';
import { BaseStringIndex } from '../btf/strings.js';
import { infoKflag, infoKind, infoVlen, makeInfo } from '../btf/wire.js';
import { dataViewOf } from '../bytes.js';
import { inPlaceRoomWords } from '../dedup/index.js';
import { EncodeError } from './errors.js';

const BTF_INT_SIGNED = 1;
const BTF_INT_CHAR = 2;
const BTF_INT_BOOL = 4;
/** BTF_MAX_NR_TYPES: libbpf's validate_type_id limit. */
const MAX_NR_TYPES = 0x7fffffff;
/** Words before the first record: the raw BTF header's place (takeBytes). */
const HEADER_WORDS = 6;

export { BTF_INT_BOOL, BTF_INT_CHAR, BTF_INT_SIGNED };

/**
 * Per parsed base: the base's answer for each string asked about (kbuild's batch encodes every
 * module over one vmlinux, and the kernel headers' names recur in each), up to a bound.
 */
const BASE_LOOKUPS = new WeakMap<Btf, Map<string, number>>();
const BASE_LOOKUPS_MAX = 1 << 18;

export class BtfOut {
  readonly base: Btf;
  readonly littleEndian: boolean;
  /** Own string section (btf__add_str's strset): bytes in one growing buffer. */
  private strBytes = new Uint8Array(1 << 16);
  private strLen = 0;
  private readonly startStrOff: number;
  private readonly baseStrings: BaseStringIndex;
  /** First own id (the base's type count). */
  readonly startId: number;
  /**
   * Records as words from `first` + HEADER_WORDS on; the words before `first` stay zero and
   * untouched (not resident) until lib/dedup writes the base's records there (inPlaceRoomWords).
   */
  private w: Uint32Array;
  private readonly first: number;
  private used: number;
  private offs = new Uint32Array(1 << 12);
  private n = 0;
  private readonly ctx: { file?: string };

  constructor(base: Btf, littleEndian: boolean, file?: string) {
    this.base = base;
    this.littleEndian = littleEndian;
    this.startStrOff = base.startStrOff + base.header.strLen;
    this.baseStrings = BaseStringIndex.of(base);
    let lookups = BASE_LOOKUPS.get(base);
    if (lookups === undefined) {
      lookups = new Map();
      BASE_LOOKUPS.set(base, lookups);
    }
    this.baseLookups = lookups;
    this.startId = base.typeCount;
    this.ctx = file === undefined ? {} : { file };
    this.first = inPlaceRoomWords(base);
    this.used = this.first + HEADER_WORDS;
    this.w = new Uint32Array(this.used + (1 << 16));
  }

  /** btf__type_cnt(): ids run 1 .. typeCount-1 (base included). */
  get typeCount(): number { return this.startId + this.n; }
  /** Own types so far. */
  get ownCount(): number { return this.n; }

  // ---- reading back (btf__type_by_id for own and base ids) ------------------------------

  isOwn(id: number): boolean { return id >= this.startId; }
  private at(id: number): number { return this.offs[id - this.startId] as number; }
  /** name_off, info, size/type: word k of own type `id`'s record. */
  word(id: number, k: number): number { return this.w[this.at(id) + k] as number; }
  info(id: number): number { return this.isOwn(id) ? this.word(id, 1) : this.base.info(id); }
  kind(id: number): number { return id === 0 ? 0 : infoKind(this.info(id)); }
  vlen(id: number): number { return infoVlen(this.info(id)); }
  kflag(id: number): boolean { return infoKflag(this.info(id)); }
  nameOff(id: number): number { return this.isOwn(id) ? this.word(id, 0) : this.base.nameOff(id); }
  sizeOrType(id: number): number { return this.isOwn(id) ? this.word(id, 2) : this.base.sizeOrType(id); }
  /** Own type `id`'s word `k` after the common part (INT data, ARRAY fields, params...). */
  extra(id: number, k: number): number { return this.word(id, 3 + k); }
  /** The string at a (split-aware) offset: own strings or the base's. */
  str(off: number): string {
    if (off < this.startStrOff) return this.base.strOrUndefined(off) ?? '';
    const rel = off - this.startStrOff;
    if (rel >= this.strLen) return '';
    const end = this.strBytes.indexOf(0, rel);
    return Buffer.from(this.strBytes.buffer, this.strBytes.byteOffset + rel, end - rel).toString('utf8');
  }

  // ---- construction ------------------------------------------------------------------------

  private refuse(what: string, why: string): EncodeError {
    return new EncodeError('ENCODE_LIBBPF_REFUSED', `[${this.typeCount}] ${what}: ${why} (libbpf refuses it; pahole fails with "Error emitting BTF type")`, { ...this.ctx, typeId: this.typeCount });
  }

  private reserve(words: number): void {
    if (this.used + words > this.w.length) {
      let cap = Math.ceil(this.w.length * 1.5);
      while (cap < this.used + words) cap *= 2;
      const g = new Uint32Array(cap);
      // Not the room in front: its pages stay untouched.
      g.set(this.w.subarray(this.first, this.used), this.first);
      this.w = g;
    }
  }

  private begin(nameOff: number, info: number, sizeOrType: number): number {
    if (this.n === this.offs.length) {
      const g = new Uint32Array(this.offs.length * 2);
      g.set(this.offs);
      this.offs = g;
    }
    this.reserve(3);
    this.offs[this.n] = this.used;
    this.w[this.used++] = nameOff;
    this.w[this.used++] = info;
    this.w[this.used++] = sizeOrType >>> 0;
    this.n++;
    return this.startId + this.n - 1;
  }

  private push(...words: number[]): void {
    this.reserve(words.length);
    for (const v of words) this.w[this.used++] = v >>> 0;
  }

  private lastId(): number { return this.startId + this.n - 1; }
  private setLastInfo(info: number): void { this.w[(this.offs[this.n - 1] as number) + 1] = info; }
  private lastInfo(): number { return this.n === 0 ? 0 : (this.w[(this.offs[this.n - 1] as number) + 1] as number); }

  /** Offsets already given out (base or own): btf__add_str looks a name up once per type in every CU. */
  private readonly known = new Map<string, number>();
  /** btf__find_str in the base by string (-1: not there), shared by every module encoded over this base. */
  private readonly baseLookups: Map<string, number>;

  /**
   * btf__add_str: a string the base has resolves to the base's offset (btf__find_str); an own
   * one is appended once, in first-use order (split BTF's own section starts empty). "" is 0.
   */
  addStr(s: string): number {
    let off = this.known.get(s);
    if (off !== undefined) return off;
    if (s === '') return 0;
    const inBase = this.baseLookups.get(s);
    let bytes: Buffer | undefined;
    if (inBase !== undefined) {
      off = inBase < 0 ? undefined : inBase;
    } else {
      bytes = Buffer.from(s, 'utf8');
      off = this.baseStrings.find(bytes);
      if (this.baseLookups.size < BASE_LOOKUPS_MAX) this.baseLookups.set(s, off ?? -1);
    }
    if (off === undefined) {
      bytes ??= Buffer.from(s, 'utf8');
      if (this.strLen + bytes.length + 1 > this.strBytes.length) {
        let cap = this.strBytes.length * 2;
        while (cap < this.strLen + bytes.length + 1) cap *= 2;
        const g = new Uint8Array(cap);
        g.set(this.strBytes.subarray(0, this.strLen));
        this.strBytes = g;
      }
      off = this.startStrOff + this.strLen;
      this.strBytes.set(bytes, this.strLen);
      this.strLen += bytes.length;
      this.strBytes[this.strLen++] = 0;
    }
    this.known.set(s, off);
    return off;
  }

  private name(s: string | undefined | null): number {
    return s === undefined || s === null || s === '' ? 0 : this.addStr(s);
  }

  private checkId(id: number, what: string): void {
    if (id < 0 || id > MAX_NR_TYPES) throw this.refuse(what, `type id ${id} is out of range`);
  }

  addInt(name: string | undefined, byteSz: number, encoding: number): number {
    if (!name) throw this.refuse('INT', 'a base type without a name');
    if (!byteSz || (byteSz & (byteSz - 1)) !== 0 || byteSz > 16) throw this.refuse(`INT ${name}`, `size ${byteSz} is not a power of 2 up to 16`);
    const id = this.begin(this.name(name), makeInfo(BtfKind.Int, 0, false), byteSz);
    this.push(((encoding << 24) | (byteSz * 8)) >>> 0);
    return id;
  }

  addFloat(name: string | undefined, byteSz: number): number {
    if (!name) throw this.refuse('FLOAT', 'a float type without a name');
    if (![2, 4, 8, 12, 16].includes(byteSz)) throw this.refuse(`FLOAT ${name}`, `size ${byteSz} is not 2, 4, 8, 12 or 16`);
    return this.begin(this.name(name), makeInfo(BtfKind.Float, 0, false), byteSz);
  }

  /** PTR, TYPEDEF, CONST, VOLATILE, RESTRICT, TYPE_TAG (btf_add_ref_kind). */
  addRef(kind: BtfKind, name: string | undefined, ref: number, kflag = false): number {
    this.checkId(ref, 'reference type');
    if ((kind === BtfKind.Typedef || kind === BtfKind.TypeTag) && !name) throw this.refuse(kind === BtfKind.Typedef ? 'TYPEDEF' : 'TYPE_TAG', 'an empty name');
    return this.begin(this.name(name), makeInfo(kind, 0, kflag), ref);
  }

  addFwd(name: string | undefined, union: boolean): number {
    if (!name) throw this.refuse('FWD', 'a forward declaration without a name');
    return this.begin(this.name(name), makeInfo(BtfKind.Fwd, 0, union), 0);
  }

  addFunc(name: string | undefined, linkage: number, proto: number): number {
    if (!name) throw this.refuse('FUNC', 'a function without a name');
    this.checkId(proto, 'FUNC');
    return this.begin(this.name(name), makeInfo(BtfKind.Func, linkage, false), proto);
  }

  addArray(indexType: number, elemType: number, nelems: number): number {
    this.checkId(indexType, 'ARRAY');
    this.checkId(elemType, 'ARRAY');
    const id = this.begin(0, makeInfo(BtfKind.Array, 0, false), 0);
    this.push(elemType, indexType, nelems);
    return id;
  }

  addComposite(union: boolean, name: string | undefined, byteSz: number): number {
    return this.begin(this.name(name), makeInfo(union ? BtfKind.Union : BtfKind.Struct, 0, false), byteSz);
  }

  addField(name: string | undefined, type: number, bitOffset: number, bitSize: number): void {
    const info = this.lastInfo();
    const kind = infoKind(info);
    if (this.n === 0 || (kind !== BtfKind.Struct && kind !== BtfKind.Union)) throw this.refuse('member', 'the last type is not a struct or union');
    this.checkId(type, 'member');
    const isBitfield = bitSize !== 0 || bitOffset % 8 !== 0;
    if (isBitfield && (bitSize === 0 || bitSize > 255 || bitOffset > 0xffffff)) {
      throw this.refuse(`member ${name ?? '(anon)'}`, `bitfield size ${bitSize} at bit offset ${bitOffset}`);
    }
    if (kind === BtfKind.Union && bitOffset !== 0) throw this.refuse(`member ${name ?? '(anon)'}`, `a union member at bit offset ${bitOffset}`);
    this.push(this.name(name), type, (bitOffset | (bitSize << 24)) >>> 0);
    this.setLastInfo(makeInfo(kind, infoVlen(info) + 1, isBitfield || infoKflag(info)));
  }

  addEnum(name: string | undefined, byteSz: number, enum64: boolean, signed: boolean): number {
    if (!byteSz || (byteSz & (byteSz - 1)) !== 0 || byteSz > 8) throw this.refuse('ENUM', `size ${byteSz} is not a power of 2 up to 8`);
    return this.begin(this.name(name), makeInfo(enum64 ? BtfKind.Enum64 : BtfKind.Enum, 0, signed), byteSz);
  }

  /** btf__add_enum_value: a value in [INT_MIN, UINT_MAX]; a negative one makes the enum signed. */
  addEnumValue(name: string | undefined, value: bigint): void {
    const info = this.lastInfo();
    if (this.n === 0 || infoKind(info) !== BtfKind.Enum) throw this.refuse('enumerator', 'the last type is not an ENUM');
    if (!name) throw this.refuse('enumerator', 'an empty name');
    if (value < -0x80000000n || value > 0xffffffffn) throw this.refuse(`enumerator ${name}`, `value ${value} does not fit 32 bits (E2BIG)`);
    this.push(this.name(name), Number(BigInt.asUintN(32, value)));
    this.setLastInfo(makeInfo(BtfKind.Enum, infoVlen(info) + 1, value < 0n || infoKflag(info)));
  }

  addEnum64Value(name: string | undefined, value: bigint): void {
    const info = this.lastInfo();
    if (this.n === 0 || infoKind(info) !== BtfKind.Enum64) throw this.refuse('enumerator', 'the last type is not an ENUM64');
    if (!name) throw this.refuse('enumerator', 'an empty name');
    const u = BigInt.asUintN(64, value);
    this.push(this.name(name), Number(u & 0xffffffffn), Number(u >> 32n));
    this.setLastInfo(makeInfo(BtfKind.Enum64, infoVlen(info) + 1, infoKflag(info)));
  }

  addFuncProto(ret: number): number {
    this.checkId(ret, 'FUNC_PROTO');
    return this.begin(0, makeInfo(BtfKind.FuncProto, 0, false), ret);
  }

  addFuncParam(name: string | undefined, type: number): void {
    const info = this.lastInfo();
    if (this.n === 0 || infoKind(info) !== BtfKind.FuncProto) throw this.refuse('parameter', 'the last type is not a FUNC_PROTO');
    this.checkId(type, 'parameter');
    this.push(this.name(name), type);
    this.setLastInfo(makeInfo(BtfKind.FuncProto, infoVlen(info) + 1, false));
  }

  addVar(name: string | undefined, linkage: number, type: number): number {
    if (!name) throw this.refuse('VAR', 'a variable without a name');
    this.checkId(type, 'VAR');
    const id = this.begin(this.name(name), makeInfo(BtfKind.Var, 0, false), type);
    this.push(linkage);
    return id;
  }

  addDatasec(name: string, byteSz: number): number {
    if (!name) throw this.refuse('DATASEC', 'a section without a name');
    return this.begin(this.name(name), makeInfo(BtfKind.Datasec, 0, false), byteSz);
  }

  addDatasecVarInfo(type: number, offset: number, size: number): void {
    const info = this.lastInfo();
    if (this.n === 0 || infoKind(info) !== BtfKind.Datasec) throw this.refuse('DATASEC entry', 'the last type is not a DATASEC');
    this.checkId(type, 'DATASEC entry');
    this.push(type, offset, size);
    this.setLastInfo(makeInfo(BtfKind.Datasec, infoVlen(info) + 1, false));
  }

  addDeclTag(value: string | undefined, ref: number, componentIdx: number): number {
    if (!value) throw this.refuse('DECL_TAG', 'an empty value');
    if (componentIdx < -1) throw this.refuse(`DECL_TAG ${value}`, `component index ${componentIdx}`);
    this.checkId(ref, 'DECL_TAG');
    const id = this.begin(this.name(value), makeInfo(BtfKind.DeclTag, 0, false), ref);
    this.push(componentIdx);
    return id;
  }

  /** Own parameters of FUNC_PROTO `id`: [name_off, type] pairs. */
  param(id: number, i: number): { nameOff: number; type: number } {
    const o = this.at(id) + 3 + 2 * i;
    return { nameOff: this.w[o] as number, type: this.w[o + 1] as number };
  }

  /**
   * btf__raw_data(): 24-byte header, types, strings, in the target byte order, in the buffer
   * the types were built in (grown once if the strings do not fit behind them). The BtfOut
   * is done after this: its words may have been byte-swapped and nothing more may be added.
   */
  takeBytes(): Uint8Array {
    const typeLen = (this.used - this.first - HEADER_WORDS) * 4;
    const strs = this.strBytes.subarray(0, this.strLen);
    this.reserve(Math.ceil(strs.length / 4));
    const total = HEADER_WORDS * 4 + typeLen + strs.length;
    const out = new Uint8Array(this.w.buffer, this.first * 4, total);
    const dv = dataViewOf(out);
    const le = this.littleEndian;
    const hostLe = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;
    if (le !== hostLe) for (let i = this.first + HEADER_WORDS; i < this.used; i++) dv.setUint32((i - this.first) * 4, this.w[i] as number, le);
    dv.setUint16(0, 0xeb9f, le);
    dv.setUint8(2, 1);
    dv.setUint8(3, 0);
    dv.setUint32(4, 24, le);
    dv.setUint32(8, 0, le);
    dv.setUint32(12, typeLen, le);
    dv.setUint32(16, typeLen, le);
    dv.setUint32(20, strs.length, le);
    out.set(strs, HEADER_WORDS * 4 + typeLen);
    this.strBytes = new Uint8Array(0);
    return out;
  }

  /** @internal the record of the last type (for tests and logging). */
  get lastTypeId(): number { return this.lastId(); }
}

export const BTF_VAR_STATIC = 0;
export const BTF_VAR_GLOBAL_ALLOCATED = 1;
export const BTF_FUNC_STATIC = 0;
