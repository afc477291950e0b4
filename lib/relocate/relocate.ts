/**
 * Split BTF relocation: (distilled base D, split S over D, new base N) -> (S over N,
 * id map), byte-identical to libbpf v1.7.0's btf_relocate() followed by
 * btf__raw_data() — the code the kernel runs when it loads a module that has a
 * `.BTF.base` section.
 *
 * What libbpf does, and how it is reproduced here:
 *
 * 1. Validation: every D type 1..n-1 must be a *named* INT, FLOAT, ENUM, STRUCT, UNION
 *    or FWD (members/values are not checked).
 * 2. Embedded marking: every split STRUCT/UNION member type is followed through
 *    CONST/VOLATILE/RESTRICT/TYPEDEF/TYPE_TAG and ARRAY element types; a D
 *    STRUCT/UNION reached that way is "embedded" and must keep its exact size.
 *    (v1.7.0 scans all split types; older libbpf stopped early.)
 * 3. Matching: libbpf walks N in id order; each named N type of a matchable kind is a
 *    key (name, and size when `needs_size`: always for INT/FLOAT/ENUM/ENUM64, never for
 *    FWD, for STRUCT/UNION only when N has more than one STRUCT/UNION with that
 *    name_off) looked up among the D types of the same name (and size). Each D type
 *    found then checks the N type by its own kind — and some of those checks are
 *    loose, which matters for exactness:
 *      - D INT: N INT with the same encoding (bits/offset are not compared);
 *      - D FLOAT: N FLOAT; D ENUM: N ENUM or ENUM64;
 *      - D FWD: N FWD with the same kflag, or N STRUCT whose kflag is 0, or N UNION
 *        whose kflag is 1 (for STRUCT/UNION kflag is the bitfield encoding flag, so a
 *        bitfield-encoded struct never matches a FWD);
 *      - D STRUCT/UNION: any N key at all (N kind is not compared), except that while
 *        the D type is embedded and still unmapped the sizes must be equal.
 *    The first accepted N type is the mapping; a second accepted one is the
 *    "multiple candidates" error. Here, each D type's candidates (same name, from the
 *    RelocationTarget index) are visited in ascending N id, which is the same
 *    sequence of (D, N) pairs libbpf's scan produces for that D type.
 * 4. str_map[D name_off] = matched N type's name_off (its own offset, not a string
 *    search). Split string offsets >= D's string length are shifted by
 *    (N str_len - D str_len); smaller non-zero ones go through str_map.
 * 5. Split ids are shifted by (N type count - D type count); the blob keeps its
 *    header, layout and string bytes, only id and string-offset fields change.
 */
import { Btf, type ParseBtfOptions } from '../btf/btf.js';
import { BtfKind, kindName } from '../btf/kinds.js';
import { forEachIdField, forEachStrField } from '../btf/fields.js';
import { infoKind, infoVlen } from '../btf/wire.js';
import { dataViewOf } from '../bytes.js';
import {
  RelocateError, RelocateFailure, type EmbeddingPath, type RelocateCandidate, type RelocateErrorCode,
} from './errors.js';
import { latin1At, relocationTarget, RelocationTarget } from './target.js';

export interface RelocateResult {
  /** The relocated split BTF (btf__raw_data()): split over the new base. */
  split: Uint8Array;
  /**
   * libbpf's id map (the kernel's btf->base_id_map): index = id in the split-over-
   * distilled-base numbering (0 .. D count + split count - 1), value = id over the new base.
   */
  idMap: Uint32Array;
}

export type RelocateOutcome =
  | { ok: true; split: Uint8Array; idMap: Uint32Array }
  | { ok: false; failure: RelocateFailure };

const SIZE31 = 0x7fffffff;
const HOST_LE = new Uint8Array(Uint16Array.of(1).buffer)[0] === 1;

function bad(code: RelocateErrorCode, message: string, libbpfMessage: string, order: readonly [number, number, number], typeId?: number): RelocateError {
  const detail = { libbpfMessage, order };
  return new RelocateError(code, message, typeId === undefined ? detail : { ...detail, distId: typeId });
}

function kindWord(kind: number): string {
  switch (kind) {
    case BtfKind.Struct: return 'struct';
    case BtfKind.Union: return 'union';
    case BtfKind.Enum:
    case BtfKind.Enum64: return 'enum';
    case BtfKind.Fwd: return 'fwd';
    case BtfKind.Int: return 'int';
    case BtfKind.Float: return 'float';
    default: return kindName(kind).toLowerCase();
  }
}

/** Relocate; throws RelocateFailure listing every problem. */
export function relocate(distBase: Btf, split: Btf, newBase: Btf | RelocationTarget): RelocateResult {
  const r = tryRelocate(distBase, split, newBase);
  if (!r.ok) throw r.failure;
  return { split: r.split, idMap: r.idMap };
}

export interface RelocatedBtf extends RelocateResult {
  /** The relocated split BTF, parsed over the new base. */
  btf: Btf;
}

/** relocate(), then parse the result over the new base (for dump/inspection). */
export function relocateBtf(distBase: Btf, split: Btf, newBase: Btf | RelocationTarget): RelocatedBtf {
  const base = newBase instanceof RelocationTarget ? newBase.base : newBase;
  const r = relocate(distBase, split, newBase);
  const opts: ParseBtfOptions = { base };
  if (split.source.file !== undefined) opts.file = split.source.file;
  if (split.source.section !== undefined) opts.section = split.source.section;
  return { ...r, btf: Btf.parse(r.split, opts) };
}

/** Relocate without throwing for relocation failures (bad inputs still throw). */
export function tryRelocate(distBase: Btf, split: Btf, newBase: Btf | RelocationTarget): RelocateOutcome {
  const target = newBase instanceof RelocationTarget ? newBase : relocationTarget(newBase);
  return new Relocation(distBase, split, target).run();
}

/** Text form of an id map: `old new\n` for ids 1 .. length-1 (the golden *.idmap format). */
export function formatIdMap(idMap: Uint32Array): string {
  const parts: string[] = new Array<string>(Math.max(0, idMap.length - 1));
  for (let i = 1; i < idMap.length; i++) parts[i - 1] = `${i} ${idMap[i] as number}\n`;
  return parts.join('');
}

class Relocation {
  private readonly nD: number;
  private readonly nTypes: number;
  private readonly nN: number;
  private readonly distStrLen: number;
  /**
   * The output: a copy of the split blob, and its type section as host-order u32 words
   * (a view of `out` when byte order and alignment allow, else a swapped copy that is
   * written back at the end). `recW[i]` is the word index of split type nD+i.
   */
  private readonly out: Uint8Array;
  private readonly w: Uint32Array;
  private readonly wIsView: boolean;
  private readonly recW: Uint32Array;
  private readonly distKind: Uint8Array;
  /** First embedding seen for each embedded D id: container split id and member index. */
  private readonly embeddedBy = new Map<number, { container: number; member: number }>();
  private readonly embedded: Uint8Array;

  constructor(private readonly dist: Btf, private readonly split: Btf, private readonly target: RelocationTarget) {
    if (dist.base !== undefined) {
      throw new RelocateFailure([bad('RELOC_BAD_DISTILLED_BASE', 'the distilled base must be standalone BTF',
        'libbpf: distilled base BTF is split BTF', [0, 0, 0])]);
    }
    if (split.base !== dist) {
      throw new RelocateFailure([bad('RELOC_BAD_SPLIT', 'the split BTF was not parsed over this distilled base',
        'libbpf: split BTF is not over the distilled base', [0, 0, 0])]);
    }
    if (target.base === dist) {
      // btf_relocate() returns -EINVAL without a message.
      throw new RelocateFailure([bad('RELOC_BAD_NEW_BASE', 'the new base is the distilled base itself', '', [0, 0, 0])]);
    }
    // No byte-order check: libbpf works on native-order copies and writes the split
    // back in its own byte order, so a new base of the other byte order is fine.
    this.nD = dist.typeCount;
    this.nTypes = split.typeCount;
    this.nN = target.typeCount;
    this.distStrLen = dist.header.strLen;
    this.embedded = new Uint8Array(this.nD);
    this.out = new Uint8Array(split.bytes); // always a copy (Buffer#slice would not be)
    const typesStart = split.header.hdrLen + split.header.typeOff;
    const words = split.header.typeLen >>> 2;
    if (split.littleEndian === HOST_LE && typesStart % 4 === 0) {
      this.w = new Uint32Array(this.out.buffer, this.out.byteOffset + typesStart, words);
      this.wIsView = true;
    } else {
      this.w = new Uint32Array(words);
      const dv = dataViewOf(this.out);
      for (let i = 0; i < words; i++) this.w[i] = dv.getUint32(typesStart + i * 4, split.littleEndian);
      this.wIsView = false;
    }
    const offs = split.typeOffsets;
    this.recW = new Uint32Array(offs.length);
    for (let i = 0; i < offs.length; i++) this.recW[i] = ((offs[i] as number) - typesStart) >>> 2;
    this.distKind = new Uint8Array(this.nD);
    for (let i = 1; i < this.nD; i++) this.distKind[i] = dist.kind(i);
  }

  run(): RelocateOutcome {
    const { nD, nTypes, nN } = this;
    this.validateDistilledBase();

    const idMap = new Uint32Array(nTypes);
    for (let id = nD; id < nTypes; id++) idMap[id] = id + nN - nD;

    this.markEmbedded();

    const failures: RelocateError[] = [];
    const strMap = new Uint32Array(this.distStrLen);
    const strMapFrom = new Int32Array(this.distStrLen).fill(-1);
    const failedNameOffs = new Set<number>();
    const dist = this.dist;
    const t = this.target;
    const dstr = dist.strings;

    // Void (D id 0, name "", size 0) is in libbpf's sorted list too: a named N type
    // whose name string is empty finds it and fails the whole relocation.
    for (const b of t.candidates('')) {
      if (t.needsSize[b] && ((t.size[b] as number) & SIZE31) !== 0) continue;
      failures.push(bad('RELOC_INVALID_DIST_ID',
        `new base type [${b}] has an empty name and maps to void in the distilled base`,
        `libbpf: base BTF id [${b}] maps to invalid distilled base BTF id [0]`, [1, b, -1]));
    }

    for (let d = 1; d < nD; d++) {
      const nameOff = dist.nameOff(d);
      const name = latin1At(dstr, nameOff, dstr.length) as string; // validated
      const dKind = dist.kind(d);
      const dInfo = dist.info(d);
      const dSize = dist.sizeOrType(d);
      const dEnc = dKind === BtfKind.Int ? (dist.type(d) as { intData: number }).intData >>> 24 & 0x0f : 0;
      const dKflag = dInfo >>> 31;
      let mapped = 0;
      const accepted: number[] = [];
      for (const b of t.candidates(name)) {
        if (t.needsSize[b] && (((t.size[b] as number) ^ dSize) & SIZE31) !== 0) continue;
        const bKind = t.kind(b);
        let ok: boolean;
        switch (dKind) {
          case BtfKind.Fwd:
            if (bKind === BtfKind.Fwd) ok = ((t.info[b] as number) >>> 31) === dKflag;
            else if (bKind === BtfKind.Struct) ok = !t.kflag(b);
            else if (bKind === BtfKind.Union) ok = t.kflag(b);
            else ok = false;
            break;
          case BtfKind.Int:
            ok = bKind === BtfKind.Int && t.intEncoding[b] === dEnc;
            break;
          case BtfKind.Float:
            ok = bKind === BtfKind.Float;
            break;
          case BtfKind.Enum:
            ok = bKind === BtfKind.Enum || bKind === BtfKind.Enum64;
            break;
          case BtfKind.Struct:
          case BtfKind.Union:
            ok = !(mapped === 0 && this.embedded[d] === 1 && t.size[b] !== dSize);
            break;
          default:
            ok = false;
        }
        if (!ok) continue;
        accepted.push(b);
        if (mapped === 0) mapped = b;
        // libbpf writes str_map on every accepted pair; the last one in its base-id
        // order wins (all carry the same string unless N's strings are not deduplicated).
        if ((strMapFrom[nameOff] as number) < b) {
          strMapFrom[nameOff] = b;
          strMap[nameOff] = t.nameOff[b] as number;
        }
      }
      if (accepted.length === 1) {
        idMap[d] = mapped;
      } else if (accepted.length > 1) {
        failures.push(this.ambiguous(d, accepted));
        failedNameOffs.add(nameOff);
        idMap[d] = mapped;
      } else {
        failures.push(this.unmapped(d));
        failedNameOffs.add(nameOff);
      }
    }

    this.rewrite(idMap, strMap, failedNameOffs, failures);
    if (failures.length > 0) return { ok: false, failure: new RelocateFailure(failures) };
    if (!this.wIsView) {
      const dv = dataViewOf(this.out);
      const typesStart = this.split.header.hdrLen + this.split.header.typeOff;
      const w = this.w;
      for (let i = 0; i < w.length; i++) dv.setUint32(typesStart + i * 4, w[i] as number, this.split.littleEndian);
    }
    return { ok: true, split: this.out, idMap };
  }

  private validateDistilledBase(): void {
    const failures: RelocateError[] = [];
    const dist = this.dist;
    const dstr = dist.strings;
    for (let i = 1; i < this.nD; i++) {
      const kind = dist.kind(i);
      switch (kind) {
        case BtfKind.Int:
        case BtfKind.Float:
        case BtfKind.Enum:
        case BtfKind.Struct:
        case BtfKind.Union:
        case BtfKind.Fwd: {
          const off = dist.nameOff(i);
          if (off !== 0) {
            if (off >= dstr.length || latin1At(dstr, off, dstr.length) === undefined) {
              failures.push(bad('RELOC_BAD_DISTILLED_BASE',
                `distilled base type [${i}] has invalid name offset ${off}`,
                `libbpf: invalid name offset ${off} of distilled base BTF type [${i}]`, [0, i, 0], i));
            }
            break;
          }
          failures.push(bad('RELOC_BAD_DISTILLED_BASE',
            `distilled base type [${i}] (${kindName(kind)}) is anonymous; a distilled base holds named types only`,
            `libbpf: type [${i}], kind [${kind}] is invalid for distilled base BTF; it is anonymous`, [0, i, 0], i));
          break;
        }
        default:
          failures.push(bad('RELOC_BAD_DISTILLED_BASE',
            `distilled base type [${i}] is a ${kindName(kind)}; a distilled base holds only INT, FLOAT, ENUM, STRUCT, UNION and FWD`,
            `libbpf: type [${i}] in distilled based BTF has unexpected kind [${kind}]`, [0, i, 0], i));
      }
    }
    if (failures.length > 0) throw new RelocateFailure(failures);
  }

  private checkId(id: number, from: number): void {
    if (id >= this.nTypes) {
      throw new RelocateFailure([bad('RELOC_BAD_SPLIT',
        `split type [${from}] refers to type id ${id}, beyond the last id ${this.nTypes - 1}`,
        `libbpf: split BTF type [${from}] refers to invalid type id ${id}`, [0, from, 0])]);
    }
  }

  /**
   * libbpf's btf_mark_embedded_composite_type_ids() over all split types: follow each
   * STRUCT/UNION member through modifiers, typedefs and array elements.
   */
  private markEmbedded(): void {
    const { w, recW, nD, nTypes, distKind, embedded } = this;
    for (let sid = nD; sid < nTypes; sid++) {
      const o = recW[sid - nD] as number;
      const info = w[o + 1] as number;
      const kind = infoKind(info);
      if (kind !== BtfKind.Struct && kind !== BtfKind.Union) continue;
      const vlen = infoVlen(info);
      for (let m = 0, p = o + 4; m < vlen; m++, p += 3) {
        let next = w[p] as number;
        let steps = 0;
        while (next !== 0) {
          if (next >= nTypes) this.checkId(next, sid);
          if (next < nD) {
            const k = distKind[next];
            if ((k === BtfKind.Struct || k === BtfKind.Union) && embedded[next] === 0) {
              embedded[next] = 1;
              this.embeddedBy.set(next, { container: sid, member: m });
            }
            break;
          }
          const q = recW[next - nD] as number;
          const k = infoKind(w[q + 1] as number);
          if (k === BtfKind.Const || k === BtfKind.Restrict || k === BtfKind.Volatile || k === BtfKind.Typedef || k === BtfKind.TypeTag) {
            next = w[q + 2] as number;
          } else if (k === BtfKind.Array) {
            next = w[q + 3] as number;
          } else {
            break;
          }
          if (++steps > nTypes) {
            throw new RelocateFailure([bad('RELOC_BAD_SPLIT', `type reference loop from member ${m} of split type [${sid}]`,
              `libbpf: type reference loop at split BTF type [${sid}]`, [0, sid, 0])]);
          }
        }
      }
    }
  }

  /**
   * Rewrites ids and string offsets of every split record in the output words, in
   * libbpf's order: all type ids, then all strings.
   */
  private rewrite(idMap: Uint32Array, strMap: Uint32Array, failedNameOffs: Set<number>, failures: RelocateError[]): void {
    const { w, recW, nD, nTypes } = this;
    const shift = (this.target.strLen - this.distStrLen) | 0;
    const distStrLen = this.distStrLen;
    const n = recW.length;
    // Pass 1: type ids (word positions relative to the record).
    for (let i = 0; i < n; i++) {
      const o = recW[i] as number;
      const info = w[o + 1] as number;
      forEachIdField(infoKind(info), infoVlen(info), (pos) => {
        const p = o + (pos >>> 2);
        const id = w[p] as number;
        if (id >= nTypes) this.checkId(id, nD + i);
        w[p] = idMap[id] as number;
      });
    }
    // Pass 2: string offsets: name, then member/value/param names.
    for (let i = 0; i < n; i++) {
      const o = recW[i] as number;
      const info = w[o + 1] as number;
      let field = 0;
      forEachStrField(infoKind(info), infoVlen(info), (pos) => {
        const p = o + (pos >>> 2);
        const off = w[p] as number;
        const at = field++;
        if (off === 0) return;
        if (off >= distStrLen) {
          w[p] = (off + shift) >>> 0;
          return;
        }
        const to = strMap[off] as number;
        if (to !== 0) w[p] = to;
        else if (!failedNameOffs.has(off)) failures.push(this.unmappedString(nD + i, off, at));
      });
    }
  }

  private unmappedString(sid: number, off: number, field: number): RelocateError {
    const s = this.dist.strOrUndefined(off);
    return new RelocateError('RELOC_STRING_NOT_MAPPED',
      `split type [${sid}] uses string ${s === undefined ? `at offset ${off}` : `'${s}' (offset ${off})`} of the distilled base, which is not the name of any mapped distilled type`,
      // libbpf prints the string at offset 0 (its lookup uses the unmapped value), i.e. ''.
      { libbpfMessage: `libbpf: string '' [offset ${off}] is not mapped to base BTF`, order: [3, sid, field] },
      { typeId: sid });
  }

  // ---- diagnostics -------------------------------------------------------------

  private describeDist(d: number): string {
    return `${kindWord(this.dist.kind(d))} ${this.dist.name(d)} [${d}]`;
  }

  private candidateList(d: number): RelocateCandidate[] {
    const dist = this.dist;
    const t = this.target;
    const nameOff = dist.nameOff(d);
    const dstr = dist.strings;
    const name = latin1At(dstr, nameOff, dstr.length) as string;
    const dKind = dist.kind(d);
    const dSize = dist.sizeOrType(d);
    const dEnc = dKind === BtfKind.Int ? (dist.type(d) as { intData: number }).intData >>> 24 & 0x0f : 0;
    const dKflag = dist.info(d) >>> 31;
    const embedded = this.embedded[d] === 1;
    const out: RelocateCandidate[] = [];
    let mapped = false;
    for (const b of t.candidates(name)) {
      const bKind = t.kind(b);
      const bSize = t.size[b] as number;
      let verdict: RelocateCandidate['verdict'] = 'match';
      switch (dKind) {
        case BtfKind.Fwd:
          if (bKind === BtfKind.Fwd) { if (((t.info[b] as number) >>> 31) !== dKflag) verdict = 'flavour'; }
          else if (bKind === BtfKind.Struct) { if (t.kflag(b)) verdict = 'flavour'; }
          else if (bKind === BtfKind.Union) { if (!t.kflag(b)) verdict = 'flavour'; }
          else verdict = 'kind';
          break;
        case BtfKind.Int:
          if (bKind !== BtfKind.Int) verdict = 'kind';
          else if (t.intEncoding[b] !== dEnc && ((bSize ^ dSize) & SIZE31) === 0) verdict = 'encoding';
          break;
        case BtfKind.Float:
          if (bKind !== BtfKind.Float) verdict = 'kind';
          break;
        case BtfKind.Enum:
          if (bKind !== BtfKind.Enum && bKind !== BtfKind.Enum64) verdict = 'kind';
          break;
        case BtfKind.Struct:
        case BtfKind.Union:
          if (!mapped && embedded && bSize !== dSize) verdict = 'size';
          break;
        default:
          verdict = 'kind';
      }
      if (verdict === 'match' && t.needsSize[b] && ((bSize ^ dSize) & SIZE31) !== 0) verdict = 'size';
      if (verdict === 'match') mapped = true;
      out.push({ id: b, kind: bKind, size: bSize, verdict });
    }
    return out;
  }

  private ambiguous(d: number, accepted: number[]): RelocateError {
    const t = this.target;
    const b1 = accepted[0] as number;
    const b2 = accepted[1] as number;
    const dist = this.dist;
    const size2 = t.size[b2] as number;
    const list = accepted.map((b) => `[${b}] ${kindWord(t.kind(b))} of size ${t.size[b] as number}`).join(', ');
    return new RelocateError('RELOC_AMBIGUOUS',
      `${this.describeDist(d)} has ${accepted.length} equally good candidates in the new base: ${list}`,
      {
        distId: d, name: dist.name(d), kind: dist.kind(d), size: dist.sizeOrType(d),
        embedded: this.embedded[d] === 1,
        ...this.embeddingDetail(d),
        candidates: this.candidateList(d),
        libbpfMessage: `libbpf: distilled base BTF type '${t.base.name(b2)}' [${d}], size ${size2} has multiple candidates of the same size (ids [${b2}, ${b1}]) in base BTF`,
        order: [1, b2, -(dist.sizeOrType(d) & SIZE31)],
      });
  }

  private embeddingDetail(d: number): { embeddedVia?: EmbeddingPath } {
    const e = this.embeddedBy.get(d);
    if (!e) return {};
    return { embeddedVia: this.embeddingPath(e.container, e.member) };
  }

  private embeddingPath(container: number, member: number): EmbeddingPath {
    const s = this.split;
    const ct = s.type(container);
    const m = ct.kind === BtfKind.Struct || ct.kind === BtfKind.Union ? ct.members[member] : undefined;
    const memberName = m ? s.str(m.nameOff) : '';
    const cname = s.name(container);
    const parts: string[] = [`${kindWord(ct.kind)} ${cname === '' ? `(anon) [${container}]` : cname}.${memberName === '' ? '(anon)' : memberName}`];
    const path: number[] = [];
    let next = m ? m.type : 0;
    let guard = 0;
    while (next !== 0 && guard++ < 64) {
      path.push(next);
      const tt = s.type(next);
      const nm = s.name(next);
      switch (tt.kind) {
        case BtfKind.Const: parts.push('const'); next = tt.type; break;
        case BtfKind.Volatile: parts.push('volatile'); next = tt.type; break;
        case BtfKind.Restrict: parts.push('restrict'); next = tt.type; break;
        case BtfKind.TypeTag: parts.push(`type_tag(${nm})`); next = tt.type; break;
        case BtfKind.Typedef: parts.push(`typedef ${nm}`); next = tt.type; break;
        case BtfKind.Array: parts.push(`array[${tt.nelems}]`); next = tt.elemType; break;
        default:
          parts.push(`${kindWord(tt.kind)} ${nm === '' ? '(anon)' : nm}`);
          next = 0;
      }
    }
    return { containerId: container, memberIndex: member, memberName, path, text: parts.join(' → ') };
  }

  private unmapped(d: number): RelocateError {
    const dist = this.dist;
    const name = dist.name(d);
    const dKind = dist.kind(d);
    const dSize = dist.sizeOrType(d);
    const embedded = this.embedded[d] === 1;
    const cands = this.candidateList(d);
    const t = this.target;
    const sameFamily = cands.filter((c) => {
      switch (dKind) {
        case BtfKind.Struct: return c.kind === BtfKind.Struct;
        case BtfKind.Union: return c.kind === BtfKind.Union;
        case BtfKind.Enum: return c.kind === BtfKind.Enum || c.kind === BtfKind.Enum64;
        case BtfKind.Fwd: return c.kind === BtfKind.Struct || c.kind === BtfKind.Union || c.kind === BtfKind.Fwd;
        default: return c.kind === dKind;
      }
    });
    const via = this.embeddingDetail(d);
    const libbpfMessage = `libbpf: distilled base BTF type '${name}' [${d}] is not mapped to base BTF id`;
    const detail = { distId: d, name, kind: dKind, size: dSize, embedded, ...via, candidates: cands, libbpfMessage, order: [2, d, 0] as const };
    const what = this.describeDist(d);
    const sizes = (cs: RelocateCandidate[]): string => [...new Set(cs.map((c) => c.size))].join(', ');
    if (cands.length === 0) {
      return new RelocateError('RELOC_NOT_FOUND',
        `${what}: the new base has no INT, FLOAT, ENUM, STRUCT, UNION or FWD named '${name}'`, detail);
    }
    if (sameFamily.length === 0) {
      const kinds = [...new Set(cands.map((c) => kindName(c.kind)))].join('/');
      return new RelocateError('RELOC_KIND_MISMATCH',
        `${what}: kind differs — the new base has '${name}' only as ${kinds}`, detail);
    }
    if (sameFamily.some((c) => c.verdict === 'encoding')) {
      return new RelocateError('RELOC_ENCODING_MISMATCH',
        `${what}: the new base's INT '${name}' of size ${dSize} has a different encoding (signed/char/bool)`, detail);
    }
    const sized = sameFamily.filter((c) => c.verdict === 'size');
    if (sized.length > 0) {
      if (embedded && (dKind === BtfKind.Struct || dKind === BtfKind.Union)) {
        const chain = via.embeddedVia ? ` (${via.embeddedVia.text})` : '';
        return new RelocateError('RELOC_SIZE_MISMATCH',
          `${what}: size changed from ${dSize} to ${sizes(sized)} bytes, and the module embeds it by value${chain}, so the size must match`, detail);
      }
      if (dKind === BtfKind.Fwd) {
        return new RelocateError('RELOC_SIZE_MISMATCH',
          `${what}: the new base has several struct/union types named '${name}', so libbpf matches on size too, and a forward declaration (size 0) matches none of them`, detail);
      }
      if (dKind === BtfKind.Struct || dKind === BtfKind.Union) {
        return new RelocateError('RELOC_SIZE_MISMATCH',
          `${what}: the new base has several struct/union types named '${name}' (sizes ${sizes(cands.filter((c) => t.needsSize[c.id]))}), so the size must match, and none has size ${dSize}`, detail);
      }
      return new RelocateError('RELOC_SIZE_MISMATCH',
        `${what}: size changed from ${dSize} to ${sizes(sized)} bytes`, detail);
    }
    if (sameFamily.some((c) => c.verdict === 'flavour')) {
      return new RelocateError('RELOC_KIND_MISMATCH',
        `${what}: no matching struct/union flavour for the forward declaration in the new base (libbpf accepts a STRUCT only without kflag, a UNION only with kflag, a FWD only with the same kflag)`, detail);
    }
    return new RelocateError('RELOC_NOT_FOUND', `${what}: no candidate in the new base matches`, detail);
  }
}
