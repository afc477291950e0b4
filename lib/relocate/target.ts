/**
 * The new base of a relocation, indexed once.
 *
 * libbpf's btf_relocate() walks every type of the new base (112k for vmlinux) for each
 * module and binary-searches the distilled base's sorted names. modbtf turns that
 * around: a RelocationTarget keeps, for the kinds a distilled type can map to (INT,
 * FLOAT, ENUM, ENUM64, FWD, STRUCT, UNION), the new-base ids per name in id order,
 * plus the few fields the matcher reads. Relocating a module then looks up only its
 * distilled types' names, and visiting each name's candidates in id order reproduces
 * libbpf's base-order scan exactly (see relocate.ts).
 *
 * Names are compared as bytes (libbpf uses strcmp), so they are keyed as latin1
 * strings, one JS char per byte, never UTF-8-decoded.
 */
import { Buffer } from 'node:buffer';
import type { Btf } from '../btf/btf.js';
import { BtfKind } from '../btf/kinds.js';
import { infoKind } from '../btf/wire.js';
import { dataViewOf } from '../bytes.js';
import { RelocateError, RelocateFailure } from './errors.js';

/** Kinds the base scan of btf_relocate_map_distilled_base() considers. */
export function isMatchableKind(kind: number): boolean {
  return kind === BtfKind.Int || kind === BtfKind.Float || kind === BtfKind.Enum || kind === BtfKind.Enum64
    || kind === BtfKind.Fwd || kind === BtfKind.Struct || kind === BtfKind.Union;
}

/** A latin1 view of a string table: exact bytes as a JS string, one char per byte. */
export function latin1At(bytes: Uint8Array, start: number, end: number): string | undefined {
  const nul = bytes.indexOf(0, start);
  if (nul < 0 || nul >= end) return undefined;
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('latin1', start, nul);
}

const EMPTY: readonly number[] = [];

export class RelocationTarget {
  readonly base: Btf;
  /** btf__type_cnt() of the new base. */
  readonly typeCount: number;
  /** The new base's own string section length (libbpf's base_str_len). */
  readonly strLen: number;
  /** Per new-base id: raw info word (kind, kflag) — only filled for matchable kinds. */
  readonly info: Uint32Array;
  /** Per new-base id: the size field (0 for FWD). */
  readonly size: Uint32Array;
  /** Per new-base id: INT encoding bits. */
  readonly intEncoding: Uint8Array;
  /** Per new-base id: the name_off field (the value libbpf copies into str_map). */
  readonly nameOff: Uint32Array;
  /**
   * Per new-base id: libbpf's base_info.needs_size — true for INT/FLOAT/ENUM/ENUM64,
   * false for FWD, and for STRUCT/UNION true when more than one STRUCT/UNION of the
   * new base has the same name_off (libbpf counts per string offset, not per name).
   */
  readonly needsSize: Uint8Array;
  private readonly byName: Map<string, number[]>;

  constructor(base: Btf) {
    if (base.base !== undefined) {
      throw new RelocateFailure([new RelocateError('RELOC_BAD_NEW_BASE',
        'the new base must be standalone BTF (vmlinux), not split BTF',
        { libbpfMessage: 'libbpf: new base BTF is split BTF', order: [0, 0, 0] })]);
    }
    this.base = base;
    const n = base.typeCount;
    this.typeCount = n;
    this.strLen = base.header.strLen;
    this.info = new Uint32Array(n);
    this.size = new Uint32Array(n);
    this.intEncoding = new Uint8Array(n);
    this.nameOff = new Uint32Array(n);
    this.needsSize = new Uint8Array(n);
    this.byName = new Map();

    const dv = dataViewOf(base.bytes);
    const le = base.littleEndian;
    const strs = base.strings;
    const offs = base.typeOffsets;
    const nameCache = new Map<number, string>();
    // Composite counts per name_off, as libbpf's base_name_cnt[] (saturating at 255
    // there; only "> 1" is ever asked, so an exact count is equivalent).
    const compositeCnt = new Map<number, number>();
    for (let i = 0; i < offs.length; i++) {
      const id = i + 1;
      const off = offs[i] as number;
      const nameOff = dv.getUint32(off, le);
      if (nameOff === 0) continue;
      const info = dv.getUint32(off + 4, le);
      const kind = infoKind(info);
      if (!isMatchableKind(kind)) continue;
      let name = nameCache.get(nameOff);
      if (name === undefined) {
        name = nameOff < strs.length ? latin1At(strs, nameOff, strs.length) : undefined;
        if (name === undefined) {
          throw new RelocateFailure([new RelocateError('RELOC_BAD_NEW_BASE',
            `new base type [${id}] has invalid name offset ${nameOff} (string section is ${strs.length} bytes)`,
            { libbpfMessage: `libbpf: invalid name offset ${nameOff} of base BTF type [${id}]`, order: [0, 0, id] })]);
        }
        nameCache.set(nameOff, name);
      }
      this.info[id] = info;
      this.nameOff[id] = nameOff;
      this.size[id] = dv.getUint32(off + 8, le);
      if (kind === BtfKind.Int) this.intEncoding[id] = (dv.getUint32(off + 12, le) >>> 24) & 0x0f;
      if (kind === BtfKind.Struct || kind === BtfKind.Union) {
        compositeCnt.set(nameOff, (compositeCnt.get(nameOff) ?? 0) + 1);
      } else if (kind !== BtfKind.Fwd) {
        this.needsSize[id] = 1;
      }
      const list = this.byName.get(name);
      if (list) list.push(id);
      else this.byName.set(name, [id]);
    }
    for (const list of this.byName.values()) {
      for (const id of list) {
        const kind = infoKind(this.info[id] as number);
        if ((kind === BtfKind.Struct || kind === BtfKind.Union) && (compositeCnt.get(this.nameOff[id] as number) ?? 0) > 1) {
          this.needsSize[id] = 1;
        }
      }
    }
  }

  /** New-base ids of matchable kinds whose name is exactly these bytes (latin1 key), ascending. */
  candidates(latin1Name: string): readonly number[] {
    return this.byName.get(latin1Name) ?? EMPTY;
  }

  kind(id: number): BtfKind { return infoKind(this.info[id] as number) as BtfKind; }
  kflag(id: number): boolean { return ((this.info[id] as number) >>> 31) === 1; }

  /** Number of distinct names indexed. */
  get nameCount(): number { return this.byName.size; }
}

const targets = new WeakMap<Btf, RelocationTarget>();

/** The RelocationTarget of `base`, built on first use and cached for the Btf object. */
export function relocationTarget(base: Btf): RelocationTarget {
  let t = targets.get(base);
  if (!t) {
    t = new RelocationTarget(base);
    targets.set(base, t);
  }
  return t;
}
