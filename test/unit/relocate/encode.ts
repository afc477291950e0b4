/**
 * Hand encoding of small BTF blobs for relocation tests: records go through
 * writeBtf(), strings through a plain table. For split BTF the table continues after
 * the base's (offsets start at base.totalStrLen), and a name that is already in the
 * base's string section resolves to the base's offset — as libbpf's btf__add_str does,
 * so member names equal to distilled type names point into the distilled base.
 */
import { Btf } from '../../../lib/btf/btf.js';
import { BtfKind } from '../../../lib/btf/kinds.js';
import type { BtfType } from '../../../lib/btf/types.js';
import { makeInfo, makeIntData } from '../../../lib/btf/wire.js';
import { writeBtf } from '../../../lib/btf/write.js';

export type Member = [name: string, type: number, bitOffset?: number];

export class Enc {
  readonly types: BtfType[] = [];
  private readonly strs: string[] = [];
  private readonly offs = new Map<string, number>();
  private strLen = 0;
  private readonly startStrOff: number;
  readonly startId: number;

  constructor(private readonly base?: Btf, opts: { extraStrings?: string[] } = {}) {
    this.startId = base ? base.typeCount : 1;
    this.startStrOff = base ? base.totalStrLen : 0;
    if (!base) this.append('');
    for (const s of opts.extraStrings ?? []) this.str(s);
  }

  private append(s: string): number {
    const off = this.startStrOff + this.strLen;
    this.strs.push(s);
    this.offs.set(s, off);
    this.strLen += Buffer.byteLength(s) + 1;
    return off;
  }

  /** Offset of `s`, added if needed; '' is 0. */
  str(s: string): number {
    if (s === '') return 0;
    if (this.base) {
      const tab = Buffer.from(this.base.strings);
      const needle = Buffer.concat([Buffer.from([0]), Buffer.from(s), Buffer.from([0])]);
      const at = tab.indexOf(needle);
      if (at >= 0) return this.base.startStrOff + at + 1;
    }
    return this.offs.get(s) ?? this.append(s);
  }

  private push(t: BtfType): number {
    const id = this.startId + this.types.length;
    t.id = id;
    this.types.push(t);
    return id;
  }

  int(name: string, size: number, encoding = 0, bits = size * 8): number {
    return this.push({ kind: BtfKind.Int, id: 0, nameOff: this.str(name), info: makeInfo(BtfKind.Int, 0, false), size, intData: makeIntData(encoding, 0, bits) });
  }
  float(name: string, size: number): number {
    return this.push({ kind: BtfKind.Float, id: 0, nameOff: this.str(name), info: makeInfo(BtfKind.Float, 0, false), size });
  }
  ptr(type: number): number {
    return this.push({ kind: BtfKind.Ptr, id: 0, nameOff: 0, info: makeInfo(BtfKind.Ptr, 0, false), type });
  }
  typedef(name: string, type: number): number {
    return this.push({ kind: BtfKind.Typedef, id: 0, nameOff: this.str(name), info: makeInfo(BtfKind.Typedef, 0, false), type });
  }
  const(type: number): number {
    return this.push({ kind: BtfKind.Const, id: 0, nameOff: 0, info: makeInfo(BtfKind.Const, 0, false), type });
  }
  volatile(type: number): number {
    return this.push({ kind: BtfKind.Volatile, id: 0, nameOff: 0, info: makeInfo(BtfKind.Volatile, 0, false), type });
  }
  array(elemType: number, indexType: number, nelems: number): number {
    return this.push({ kind: BtfKind.Array, id: 0, nameOff: 0, info: makeInfo(BtfKind.Array, 0, false), size: 0, elemType, indexType, nelems });
  }
  struct(name: string, size: number, members: Member[] = [], kflag = false): number {
    return this.push({
      kind: BtfKind.Struct, id: 0, nameOff: this.str(name), info: makeInfo(BtfKind.Struct, members.length, kflag), size,
      members: members.map(([n, type, bitOffset]) => ({ nameOff: this.str(n), type, offset: bitOffset ?? 0 })),
    });
  }
  union(name: string, size: number, members: Member[] = [], kflag = false): number {
    return this.push({
      kind: BtfKind.Union, id: 0, nameOff: this.str(name), info: makeInfo(BtfKind.Union, members.length, kflag), size,
      members: members.map(([n, type, bitOffset]) => ({ nameOff: this.str(n), type, offset: bitOffset ?? 0 })),
    });
  }
  fwd(name: string, isUnion = false): number {
    return this.push({ kind: BtfKind.Fwd, id: 0, nameOff: this.str(name), info: makeInfo(BtfKind.Fwd, 0, isUnion), size: 0 });
  }
  enum(name: string, size: number, values: [string, number][] = []): number {
    return this.push({
      kind: BtfKind.Enum, id: 0, nameOff: this.str(name), info: makeInfo(BtfKind.Enum, values.length, false), size,
      values: values.map(([n, val]) => ({ nameOff: this.str(n), val: val >>> 0 })),
    });
  }
  enum64(name: string, size: number, values: [string, bigint][] = []): number {
    return this.push({
      kind: BtfKind.Enum64, id: 0, nameOff: this.str(name), info: makeInfo(BtfKind.Enum64, values.length, false), size,
      values: values.map(([n, v]) => ({ nameOff: this.str(n), valLo32: Number(v & 0xffffffffn), valHi32: Number(v >> 32n) })),
    });
  }
  funcProto(ret: number, params: [string, number][]): number {
    return this.push({
      kind: BtfKind.FuncProto, id: 0, nameOff: 0, info: makeInfo(BtfKind.FuncProto, params.length, false), type: ret,
      params: params.map(([n, type]) => ({ nameOff: this.str(n), type })),
    });
  }
  func(name: string, proto: number): number {
    return this.push({ kind: BtfKind.Func, id: 0, nameOff: this.str(name), info: makeInfo(BtfKind.Func, 1, false), type: proto });
  }
  var(name: string, type: number): number {
    return this.push({ kind: BtfKind.Var, id: 0, nameOff: this.str(name), info: makeInfo(BtfKind.Var, 0, false), type, linkage: 1 });
  }
  datasec(name: string, vars: [number, number, number][]): number {
    const size = vars.reduce((a, [, off, sz]) => Math.max(a, off + sz), 0);
    return this.push({
      kind: BtfKind.Datasec, id: 0, nameOff: this.str(name), info: makeInfo(BtfKind.Datasec, vars.length, false), size,
      vars: vars.map(([type, offset, sz]) => ({ type, offset, size: sz })),
    });
  }
  declTag(name: string, type: number, componentIdx = -1): number {
    return this.push({ kind: BtfKind.DeclTag, id: 0, nameOff: this.str(name), info: makeInfo(BtfKind.DeclTag, 0, false), type, componentIdx });
  }

  stringBytes(): Uint8Array {
    return new Uint8Array(Buffer.concat(this.strs.map((s) => Buffer.concat([Buffer.from(s), Buffer.from([0])]))));
  }

  bytes(littleEndian = true): Uint8Array {
    return writeBtf({ littleEndian, types: this.types, strings: this.stringBytes() });
  }

  parse(littleEndian = true): Btf {
    const opts = this.base ? { base: this.base } : {};
    return Btf.parse(this.bytes(littleEndian), opts);
  }
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
