/**
 * Hand encoding of small BTF blobs for the distill and relocate tests, record by
 * record, so expected outputs can be written out by hand. Records go through
 * writeBtf(); strings (latin1) through a plain first-use table. Split BTF continues
 * the base's ids and string offsets, and (like pahole/libbpf's btf__add_str) a name
 * already in the base's string section resolves to the base's offset, so module names
 * can point into "vmlinux" strings and member names equal to distilled type names
 * point into the distilled base. A `{ off }` name puts an arbitrary raw offset in a slot.
 */
import { Btf } from '../../lib/btf/btf.js';
import { BtfKind } from '../../lib/btf/kinds.js';
import type { BtfType } from '../../lib/btf/types.js';
import { makeInfo, makeIntData } from '../../lib/btf/wire.js';
import { writeBtf } from '../../lib/btf/write.js';

/** A name, or a raw string offset. */
export type Name = string | { off: number };
export type Member = [name: Name, type: number, bitOffset?: number];

export class Enc {
  readonly types: BtfType[] = [];
  private readonly chunks: Buffer[] = [];
  private readonly offs = new Map<string, number>();
  private strLen = 0;
  readonly startStrOff: number;
  readonly startId: number;

  /**
   * @param leadingNul start the own string section with an empty string (standalone BTF
   *   always does; pahole's split BTF does too).
   * @param noDedup append every name again instead of reusing an earlier offset.
   * @param extraStrings strings to put in the table first, used by no type.
   */
  constructor(private readonly base?: Btf, private readonly opts: { leadingNul?: boolean; noDedup?: boolean; extraStrings?: string[] } = {}) {
    this.startId = base ? base.typeCount : 1;
    this.startStrOff = base ? base.totalStrLen : 0;
    if (!base || opts.leadingNul) this.append('');
    for (const s of opts.extraStrings ?? []) this.str(s);
  }

  private append(s: string): number {
    const off = this.startStrOff + this.strLen;
    const b = Buffer.concat([Buffer.from(s, 'latin1'), Buffer.from([0])]);
    this.chunks.push(b);
    if (!this.offs.has(s)) this.offs.set(s, off);
    this.strLen += b.length;
    return off;
  }

  /** Offset of `s` (base first), added if needed; '' is 0. */
  str(n: Name): number {
    if (typeof n !== 'string') return n.off;
    const s = n;
    if (s === '') return 0;
    if (this.base) {
      const tab = Buffer.from(this.base.strings);
      const needle = Buffer.concat([Buffer.from([0]), Buffer.from(s, 'latin1'), Buffer.from([0])]);
      const at = tab.indexOf(needle);
      if (at >= 0) return this.base.startStrOff + at + 1;
    }
    if (this.opts.noDedup) return this.append(s);
    return this.offs.get(s) ?? this.append(s);
  }

  push(t: BtfType): number {
    const id = this.startId + this.types.length;
    t.id = id;
    this.types.push(t);
    return id;
  }

  int(name: Name, size: number, encoding = 0, bits = size * 8): number {
    return this.push({ kind: BtfKind.Int, id: 0, nameOff: this.str(name), info: makeInfo(BtfKind.Int, 0, false), size, intData: makeIntData(encoding, 0, bits) });
  }
  float(name: Name, size: number): number {
    return this.push({ kind: BtfKind.Float, id: 0, nameOff: this.str(name), info: makeInfo(BtfKind.Float, 0, false), size });
  }
  ptr(type: number): number {
    return this.push({ kind: BtfKind.Ptr, id: 0, nameOff: 0, info: makeInfo(BtfKind.Ptr, 0, false), type });
  }
  typedef(name: Name, type: number): number {
    return this.push({ kind: BtfKind.Typedef, id: 0, nameOff: this.str(name), info: makeInfo(BtfKind.Typedef, 0, false), type });
  }
  const(type: number): number {
    return this.push({ kind: BtfKind.Const, id: 0, nameOff: 0, info: makeInfo(BtfKind.Const, 0, false), type });
  }
  volatile(type: number): number {
    return this.push({ kind: BtfKind.Volatile, id: 0, nameOff: 0, info: makeInfo(BtfKind.Volatile, 0, false), type });
  }
  restrict(type: number): number {
    return this.push({ kind: BtfKind.Restrict, id: 0, nameOff: 0, info: makeInfo(BtfKind.Restrict, 0, false), type });
  }
  typeTag(name: Name, type: number): number {
    return this.push({ kind: BtfKind.TypeTag, id: 0, nameOff: this.str(name), info: makeInfo(BtfKind.TypeTag, 0, false), type });
  }
  array(elemType: number, indexType: number, nelems: number): number {
    return this.push({ kind: BtfKind.Array, id: 0, nameOff: 0, info: makeInfo(BtfKind.Array, 0, false), size: 0, elemType, indexType, nelems });
  }
  struct(name: Name, size: number, members: Member[] = [], kflag = false): number {
    const nameOff = this.str(name);
    return this.push({
      kind: BtfKind.Struct, id: 0, nameOff, info: makeInfo(BtfKind.Struct, members.length, kflag), size,
      members: members.map(([n, type, bitOffset]) => ({ nameOff: this.str(n), type, offset: bitOffset ?? 0 })),
    });
  }
  union(name: Name, size: number, members: Member[] = [], kflag = false): number {
    const nameOff = this.str(name);
    return this.push({
      kind: BtfKind.Union, id: 0, nameOff, info: makeInfo(BtfKind.Union, members.length, kflag), size,
      members: members.map(([n, type, bitOffset]) => ({ nameOff: this.str(n), type, offset: bitOffset ?? 0 })),
    });
  }
  fwd(name: Name, isUnion = false): number {
    return this.push({ kind: BtfKind.Fwd, id: 0, nameOff: this.str(name), info: makeInfo(BtfKind.Fwd, 0, isUnion), size: 0 });
  }
  enum(name: Name, size: number, values: [Name, number][] = [], signed = false): number {
    const nameOff = this.str(name);
    return this.push({
      kind: BtfKind.Enum, id: 0, nameOff, info: makeInfo(BtfKind.Enum, values.length, signed), size,
      values: values.map(([n, val]) => ({ nameOff: this.str(n), val: val >>> 0 })),
    });
  }
  enum64(name: Name, size: number, values: [Name, bigint][] = [], signed = false): number {
    const nameOff = this.str(name);
    return this.push({
      kind: BtfKind.Enum64, id: 0, nameOff, info: makeInfo(BtfKind.Enum64, values.length, signed), size,
      values: values.map(([n, v]) => {
        const u = BigInt.asUintN(64, v);
        return { nameOff: this.str(n), valLo32: Number(u & 0xffffffffn), valHi32: Number(u >> 32n) };
      }),
    });
  }
  funcProto(ret: number, params: [Name, number][]): number {
    return this.push({
      kind: BtfKind.FuncProto, id: 0, nameOff: 0, info: makeInfo(BtfKind.FuncProto, params.length, false), type: ret,
      params: params.map(([n, type]) => ({ nameOff: this.str(n), type })),
    });
  }
  func(name: Name, proto: number, linkage = 1): number {
    return this.push({ kind: BtfKind.Func, id: 0, nameOff: this.str(name), info: makeInfo(BtfKind.Func, linkage, false), type: proto });
  }
  var(name: Name, type: number): number {
    return this.push({ kind: BtfKind.Var, id: 0, nameOff: this.str(name), info: makeInfo(BtfKind.Var, 0, false), type, linkage: 1 });
  }
  datasec(name: Name, vars: [number, number, number][]): number {
    const size = vars.reduce((a, [, off, sz]) => Math.max(a, off + sz), 0);
    return this.push({
      kind: BtfKind.Datasec, id: 0, nameOff: this.str(name), info: makeInfo(BtfKind.Datasec, vars.length, false), size,
      vars: vars.map(([type, offset, sz]) => ({ type, offset, size: sz })),
    });
  }
  declTag(name: Name, type: number, componentIdx = -1): number {
    return this.push({ kind: BtfKind.DeclTag, id: 0, nameOff: this.str(name), info: makeInfo(BtfKind.DeclTag, 0, false), type, componentIdx });
  }

  stringBytes(): Uint8Array {
    return new Uint8Array(Buffer.concat(this.chunks));
  }

  bytes(littleEndian = true): Uint8Array {
    return writeBtf({ littleEndian, types: this.types, strings: this.stringBytes() });
  }

  parse(littleEndian = true): Btf {
    const opts = this.base ? { base: this.base } : {};
    return Btf.parse(this.bytes(littleEndian), opts);
  }
}

/** NUL-separated string section bytes from a list ('' entries give the leading NUL). */
export function strtab(...strs: string[]): Uint8Array {
  return new Uint8Array(Buffer.concat(strs.map((s) => Buffer.concat([Buffer.from(s, 'latin1'), Buffer.from([0])]))));
}

/** Encode records exactly as given (expected outputs are written out by hand). */
export function rawBtf(littleEndian: boolean, types: BtfType[], strings: Uint8Array): Uint8Array {
  return writeBtf({ littleEndian, types, strings });
}

/** Standalone BTF from a callback. */
export function standalone(fill: (e: Enc) => void, littleEndian = true, extraStrings: string[] = []): Btf {
  const e = new Enc(undefined, { extraStrings });
  fill(e);
  return e.parse(littleEndian);
}

/** Split BTF over `base` from a callback. */
export function splitOver(base: Btf, fill: (e: Enc) => void): Btf {
  const e = new Enc(base);
  fill(e);
  return e.parse(base.littleEndian);
}
