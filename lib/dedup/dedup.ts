/**
 * libbpf's BTF deduplication (btf__dedup in src/btf.c), for split BTF over a base and for
 * standalone BTF, phase by phase in libbpf's order:
 *
 *   prep (hash every base type into the candidate table) -> strings -> primitive types ->
 *   struct/union/typedef graphs -> unambiguous FWDs -> reference types -> compaction ->
 *   remapping of type ids
 *
 * Types are compared on their raw fields (string offsets after the strings phase, which
 * points every string the base has at the base's offset), candidates are visited in the
 * order libbpf's hashmap gives (candidates.ts), and the quirks that decide bytes are kept:
 * btf_dedup_identical_types compares an ARRAY's element and index types with themselves
 * (its `a2 = btf_array(t1)`), reference types are rewritten in place to canonical ids
 * while they are visited, and the base TYPEDEF hash differs between libbpf 1.7.0 and the
 * fixed libbpf (behaviour.ts).
 */
import type { Btf } from '../btf/btf.js';
import { BtfKind } from '../btf/kinds.js';
import { forEachIdField, forEachStrField, recordSize } from '../btf/fields.js';
import { BaseStringIndex } from '../btf/strings.js';
import { infoKind, infoVlen } from '../btf/wire.js';
import { dedupRules, type DedupBehaviour, type DedupRules } from './behaviour.js';
import { CandidateTable, SignatureHash } from './candidates.js';
import { DedupError } from './errors.js';
import { checkDedupHeader, encodeDedupOutput } from './output.js';
import { loadTypeWords, type TypeWords } from './words.js';

/** BTF_UNPROCESSED_ID, BTF_IN_PROGRESS_ID and BTF_MAX_NR_TYPES of src/btf.c. */
const UNPROCESSED = 0xffffffff;
const IN_PROGRESS = 0xfffffffe;
const MAX_NR_TYPES = 0x7fffffff;
/** btf_dedup_is_equiv's depth for btf_dedup_identical_types. */
const IDENTICAL_DEPTH = 16;

export interface DedupOptions {
  behaviour: DedupBehaviour;
  /**
   * The BTF was built with libbpf's btf__add_*() calls from an empty BTF (as pahole builds
   * it), not parsed: libbpf then knows its strings are unique (struct btf's strs_deduped) and
   * btf_dedup_strings leaves the string section exactly as it is, unreferenced strings
   * included. Such input must have every string at its canonical offset (the base's when the
   * base has it), as btf__add_str gives.
   */
  stringsDeduped?: boolean;
  /**
   * The whole buffer under the BTF's bytes is the caller's to overwrite (lib/encode's BtfOut
   * builds one with room in front of its records: inPlaceRoomWords): dedup then works in the
   * type section itself, with the bases' records written in front of it, instead of in a copy
   * (xfs.ko: 18.6 MB). The Btf must not be read afterwards.
   */
  inPlace?: boolean;
}

export interface DedupResult {
  /** btf__raw_data() after btf__dedup(): header, types, (layout,) strings, in the input's byte order. */
  readonly bytes: Uint8Array;
  /** Each input id's id after dedup (base ids map to themselves); index 0 is void. */
  readonly idMap: Uint32Array;
  /** Types of the deduplicated BTF's own part. */
  readonly typeCount: number;
}

export function dedupBtf(btf: Btf, opts: DedupOptions): DedupResult {
  checkDedupHeader(btf, opts.behaviour);
  return new Dedup(btf, dedupRules(opts.behaviour), opts.behaviour, opts.stringsDeduped === true, opts.inPlace === true).run();
}

class Dedup {
  private readonly t: TypeWords;
  private readonly w: Uint32Array;
  private readonly off: Uint32Array;
  private readonly startId: number;
  private readonly count: number;
  private readonly map: Uint32Array;
  private readonly hypot: Uint32Array;
  private hypotList: number[] = [];
  private hypotAdjustCanon = false;
  private table!: CandidateTable;
  private readonly h = new SignatureHash();
  private readonly ctx: { file?: string; section?: string };
  /** The own string section after the strings phase. */
  private strings: Uint8Array;

  /** What an in-place load overwrites in front of the types (the header among it), for the output. */
  private readonly front: Uint8Array | undefined;

  constructor(private readonly btf: Btf, private readonly rules: DedupRules, private readonly behaviour: DedupBehaviour, private readonly stringsDeduped: boolean, inPlace: boolean) {
    this.ctx = { ...btf.source };
    const typesAt = btf.header.hdrLen + btf.header.typeOff;
    this.front = inPlace ? btf.bytes.slice(0, typesAt) : undefined;
    this.t = loadTypeWords(btf, inPlace);
    this.w = this.t.w;
    this.off = this.t.off;
    this.startId = this.t.startId;
    this.count = this.t.count;
    this.map = new Uint32Array(this.count);
    this.hypot = new Uint32Array(this.count).fill(UNPROCESSED);
    this.strings = btf.strings;
  }

  run(): DedupResult {
    this.checkIds();
    // btf_dedup_new: void is canonical, VAR and DATASEC are never deduplicated.
    for (let id = 1; id < this.count; id++) {
      const k = this.kind(id);
      this.map[id] = k === BtfKind.Var || k === BtfKind.Datasec ? id : UNPROCESSED;
    }
    this.prep();
    this.dedupStrings();
    for (let id = this.startId; id < this.count; id++) this.primType(id);
    for (let id = this.startId; id < this.count; id++) this.structType(id);
    this.resolveFwds();
    for (let id = this.startId; id < this.count; id++) this.refType(id);
    return this.compactAndRemap();
  }

  // ---- record access -------------------------------------------------------------------

  private nameOff(id: number): number { return this.w[this.off[id] as number] as number; }
  private info(id: number): number { return this.w[(this.off[id] as number) + 1] as number; }
  /** The size/type union. */
  private st(id: number): number { return this.w[(this.off[id] as number) + 2] as number; }
  /** The first word after the common part (INT's encoding, DECL_TAG's component_idx, ARRAY's elem type). */
  private x(id: number, i: number): number { return this.w[(this.off[id] as number) + 3 + i] as number; }
  private kind(id: number): number { return infoKind(this.info(id)); }
  private vlen(id: number): number { return infoVlen(this.info(id)); }
  private kflag(id: number): boolean { return this.info(id) >>> 31 === 1; }

  private fail(code: 'DEDUP_UNKNOWN_KIND' | 'DEDUP_LOOP' | 'DEDUP_BAD_TYPE_ID' | 'DEDUP_BAD_STRING', message: string, typeId: number): DedupError {
    return new DedupError(code, message, { ...this.ctx, typeId });
  }

  /** libbpf's parser refuses type ids past the last type; reading them here would read garbage. */
  private checkIds(): void {
    for (let id = this.startId; id < this.count; id++) {
      const o = this.off[id] as number;
      const kind = this.kind(id);
      forEachIdField(kind, this.vlen(id), (pos) => {
        const ref = this.w[o + (pos >>> 2)] as number;
        if (ref >= this.count) throw this.fail('DEDUP_BAD_TYPE_ID', `references type [${ref}], past the last type [${this.count - 1}]`, id);
      });
    }
  }

  // ---- signature hashes (btf_hash_*); each leaves its key in this.h ---------------------

  private hashCommon(id: number): SignatureHash { return this.h.start(this.nameOff(id)).add(this.info(id)).add(this.st(id)); }
  private hashTypedef(id: number): SignatureHash { return this.h.start(this.nameOff(id)).add(this.info(id)); }
  private hashIntDeclTag(id: number): SignatureHash { return this.hashCommon(id).add(this.x(id, 0)); }
  /** Name only: enum forward declarations must find the full enum. */
  private hashEnum(id: number): SignatureHash { return this.h.start(this.nameOff(id)); }
  private hashStruct(id: number): SignatureHash {
    const h = this.hashCommon(id);
    const n = this.vlen(id);
    const m = (this.off[id] as number) + 3;
    for (let i = 0; i < n; i++) h.add(this.w[m + i * 3] as number).add(this.w[m + i * 3 + 2] as number);
    return h;
  }
  private hashArray(id: number): SignatureHash { return this.hashCommon(id).add(this.x(id, 0)).add(this.x(id, 1)).add(this.x(id, 2)); }
  private hashFnproto(id: number): SignatureHash {
    const h = this.hashCommon(id);
    const n = this.vlen(id);
    const p = (this.off[id] as number) + 3;
    for (let i = 0; i < n; i++) h.add(this.w[p + i * 2] as number).add(this.w[p + i * 2 + 1] as number);
    return h;
  }

  private add(id: number): void { this.table.append(this.h.hi, this.h.lo, id); }

  // ---- equality (btf_equal_*, btf_compat_*) -----------------------------------------------

  private equalCommon(a: number, b: number): boolean {
    const oa = this.off[a] as number;
    const ob = this.off[b] as number;
    const w = this.w;
    return w[oa] === w[ob] && w[oa + 1] === w[ob + 1] && w[oa + 2] === w[ob + 2];
  }
  private equalTypedef(a: number, b: number): boolean {
    return this.nameOff(a) === this.nameOff(b) && this.info(a) === this.info(b);
  }
  private equalIntTag(a: number, b: number): boolean {
    return this.equalCommon(a, b) && this.x(a, 0) === this.x(b, 0);
  }
  /** Equal entries, `per` words each, compared on `fields` of them. */
  private equalEntries(a: number, b: number, per: number, fields: readonly number[]): boolean {
    const n = this.vlen(a);
    const pa = (this.off[a] as number) + 3;
    const pb = (this.off[b] as number) + 3;
    const w = this.w;
    for (let i = 0; i < n; i++) {
      for (const f of fields) if (w[pa + i * per + f] !== w[pb + i * per + f]) return false;
    }
    return true;
  }
  private equalEnum(a: number, b: number): boolean {
    if (!this.equalCommon(a, b)) return false;
    return this.kind(a) === BtfKind.Enum ? this.equalEntries(a, b, 2, ENUM_FIELDS) : this.equalEntries(a, b, 3, ENUM64_FIELDS);
  }
  private isAnyEnum(id: number): boolean {
    const k = this.kind(id);
    return k === BtfKind.Enum || k === BtfKind.Enum64;
  }
  private isEnumFwd(id: number): boolean { return this.isAnyEnum(id) && this.vlen(id) === 0; }
  private compatEnum(a: number, b: number): boolean {
    if (!this.isEnumFwd(a) && !this.isEnumFwd(b)) return this.equalEnum(a, b);
    // A forward declaration: no vlen, size or kind to compare (enum fwd vs enum64).
    return this.nameOff(a) === this.nameOff(b) && this.isAnyEnum(a) && this.isAnyEnum(b);
  }
  private shallowEqualStruct(a: number, b: number): boolean {
    return this.equalCommon(a, b) && this.equalEntries(a, b, 3, MEMBER_SHAPE);
  }
  private equalArray(a: number, b: number): boolean {
    return this.equalCommon(a, b) && this.x(a, 0) === this.x(b, 0) && this.x(a, 1) === this.x(b, 1) && this.x(a, 2) === this.x(b, 2);
  }
  private compatArray(a: number, b: number): boolean {
    return this.equalCommon(a, b) && this.x(a, 2) === this.x(b, 2);
  }
  private equalFnproto(a: number, b: number): boolean {
    return this.equalCommon(a, b) && this.equalEntries(a, b, 2, PARAM_FIELDS);
  }
  /** The return type is not compared. */
  private compatFnproto(a: number, b: number): boolean {
    return this.nameOff(a) === this.nameOff(b) && this.info(a) === this.info(b) && this.equalEntries(a, b, 2, PARAM_NAME);
  }

  // ---- btf_dedup_prep ----------------------------------------------------------------------

  /**
   * Base types are canonical, and all but VAR/DATASEC go into the candidate table. The
   * table depends only on the base and the behaviour, so it is built once per parsed base
   * and copied for every split deduplicated over it.
   */
  private prep(): void {
    for (let id = 1; id < this.startId; id++) this.map[id] = id;
    const base = this.btf.base;
    if (base === undefined) {
      this.table = new CandidateTable();
      return;
    }
    let byRule = preparedTables.get(base);
    const ready = byRule?.get(this.rules.baseTypedefHash);
    if (ready !== undefined) {
      this.table = ready.clone();
      return;
    }
    this.table = new CandidateTable(this.startId);
    this.hashBase();
    if (byRule === undefined) preparedTables.set(base, (byRule = new Map()));
    byRule.set(this.rules.baseTypedefHash, this.table.clone());
  }

  private hashBase(): void {
    for (let id = 1; id < this.startId; id++) {
      switch (this.kind(id)) {
        case BtfKind.Var:
        case BtfKind.Datasec:
          continue;
        case BtfKind.Const:
        case BtfKind.Volatile:
        case BtfKind.Restrict:
        case BtfKind.Ptr:
        case BtfKind.Fwd:
        case BtfKind.Func:
        case BtfKind.Float:
        case BtfKind.TypeTag:
          this.hashCommon(id);
          break;
        case BtfKind.Typedef:
          if (this.rules.baseTypedefHash === 'common') this.hashCommon(id);
          else this.hashTypedef(id);
          break;
        case BtfKind.Int:
        case BtfKind.DeclTag:
          this.hashIntDeclTag(id);
          break;
        case BtfKind.Enum:
        case BtfKind.Enum64:
          this.hashEnum(id);
          break;
        case BtfKind.Struct:
        case BtfKind.Union:
          this.hashStruct(id);
          break;
        case BtfKind.Array:
          this.hashArray(id);
          break;
        case BtfKind.FuncProto:
          this.hashFnproto(id);
          break;
        default:
          throw this.fail('DEDUP_UNKNOWN_KIND', `unknown kind ${this.kind(id)} of base type [${id}]`, id);
      }
      this.add(id);
    }
  }

  // ---- btf_dedup_strings -------------------------------------------------------------------

  /**
   * Every string the split uses, in the order btf_for_each_str_off visits them (types in
   * id order; name, then member/value/param names): one the base has takes the base's
   * offset (btf__find_str), others go into a new table in first-use order. Offsets into
   * the base are left alone, and so is a split without own strings (libbpf marks it
   * deduplicated already).
   */
  private dedupStrings(): void {
    if (this.stringsDeduped) return;
    const btf = this.btf;
    const own = btf.strings;
    const hasBase = btf.base !== undefined;
    if ((hasBase && own.length === 0) || (!hasBase && own.length === 1)) return;
    const startStrOff = btf.startStrOff;
    const baseIndex = hasBase ? BaseStringIndex.of(btf.base as Btf) : undefined;
    const added = new Map<string, number>();
    const chunks: Uint8Array[] = [];
    let size = 0;
    const addString = (bytes: Uint8Array): number => {
      const key = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length).toString('latin1');
      const known = added.get(key);
      if (known !== undefined) return known;
      const at = size;
      const chunk = new Uint8Array(bytes.length + 1);
      chunk.set(bytes);
      chunks.push(chunk);
      size += chunk.length;
      added.set(key, at);
      return at;
    };
    if (!hasBase) addString(new Uint8Array(0));
    const w = this.w;
    for (let id = this.startId; id < this.count; id++) {
      const o = this.off[id] as number;
      forEachStrField(this.kind(id), this.vlen(id), (pos) => {
        const at = o + (pos >>> 2);
        const strOff = w[at] as number;
        if (strOff === 0 || strOff < startStrOff) return;
        const rel = strOff - startStrOff;
        const end = rel < own.length ? own.indexOf(0, rel) : -1;
        if (end < 0) throw this.fail('DEDUP_BAD_STRING', `invalid string offset ${strOff} (the string section ends at ${startStrOff + own.length})`, id);
        const s = own.subarray(rel, end);
        const inBase = baseIndex?.find(s);
        w[at] = inBase !== undefined ? inBase : startStrOff + addString(s);
      });
    }
    const out = new Uint8Array(size);
    let p = 0;
    for (const c of chunks) { out.set(c, p); p += c.length; }
    this.strings = out;
  }

  // ---- btf_dedup_prim_type -----------------------------------------------------------------

  private primType(id: number): void {
    let newId = id;
    switch (this.kind(id)) {
      case BtfKind.Const:
      case BtfKind.Volatile:
      case BtfKind.Restrict:
      case BtfKind.Ptr:
      case BtfKind.Typedef:
      case BtfKind.Array:
      case BtfKind.Struct:
      case BtfKind.Union:
      case BtfKind.Func:
      case BtfKind.FuncProto:
      case BtfKind.Var:
      case BtfKind.Datasec:
      case BtfKind.DeclTag:
      case BtfKind.TypeTag:
        return;
      case BtfKind.Int: {
        const h = this.hashIntDeclTag(id);
        this.table.visit(h.hi, h.lo, (cand) => {
          if (!this.equalIntTag(id, cand)) return false;
          newId = cand;
          return true;
        });
        break;
      }
      case BtfKind.Enum:
      case BtfKind.Enum64: {
        const h = this.hashEnum(id);
        this.table.visit(h.hi, h.lo, (cand) => {
          if (this.equalEnum(id, cand)) { newId = cand; return true; }
          if (this.compatEnum(id, cand)) {
            if (this.isEnumFwd(id)) { newId = cand; return true; }
            // A canonical enum forward declaration resolves to this full enum.
            this.map[cand] = id;
          }
          return false;
        });
        break;
      }
      case BtfKind.Fwd:
      case BtfKind.Float: {
        const h = this.hashCommon(id);
        this.table.visit(h.hi, h.lo, (cand) => {
          if (!this.equalCommon(id, cand)) return false;
          newId = cand;
          return true;
        });
        break;
      }
      default:
        throw this.fail('DEDUP_UNKNOWN_KIND', `unknown kind ${this.kind(id)}`, id);
    }
    this.map[id] = newId;
    // The hash is still in this.h: no other hash was computed since.
    if (newId === id) this.add(id);
  }

  // ---- mapping helpers -----------------------------------------------------------------------

  private isMapped(id: number): boolean { return (this.map[id] as number) <= MAX_NR_TYPES; }

  /** resolve_type_id: follow the canonical map to its end. */
  private resolve(id: number): number {
    const map = this.map;
    let m = map[id] as number;
    while (m <= MAX_NR_TYPES && m !== id) { id = m; m = map[id] as number; }
    return id;
  }

  /** resolve_fwd_id: a FWD resolved to a struct/union gives that; anything else itself. */
  private resolveFwd(id: number): number {
    if (this.kind(id) !== BtfKind.Fwd) return id;
    const r = this.resolve(id);
    return this.kind(r) !== BtfKind.Fwd ? r : id;
  }

  private fwdKind(id: number): number { return this.kflag(id) ? BtfKind.Union : BtfKind.Struct; }

  // ---- btf_dedup_identical_types -----------------------------------------------------------

  private identical(id1: number, id2: number, depth: number): boolean {
    for (;;) {
      if (depth <= 0) return false;
      const k = this.kind(id1);
      if (k !== this.kind(id2)) return false;
      switch (k) {
        case BtfKind.Unkn:
          return true;
        case BtfKind.Int:
          return this.equalIntTag(id1, id2);
        case BtfKind.Enum:
        case BtfKind.Enum64:
          return this.compatEnum(id1, id2);
        case BtfKind.Fwd:
        case BtfKind.Float:
          return this.equalCommon(id1, id2);
        case BtfKind.Const:
        case BtfKind.Volatile:
        case BtfKind.Restrict:
        case BtfKind.Ptr:
        case BtfKind.Typedef:
        case BtfKind.Func:
        case BtfKind.TypeTag:
          if (this.info(id1) !== this.info(id2) || this.nameOff(id1) !== this.nameOff(id2)) return false;
          // libbpf loops here (goto recur) without using up depth.
          [id1, id2] = [this.st(id1), this.st(id2)];
          continue;
        case BtfKind.Array:
          // libbpf reads both arrays' element and index types from the first array
          // (`a2 = btf_array(t1)`), so only the shape is compared.
          return this.compatArray(id1, id2);
        case BtfKind.Struct:
        case BtfKind.Union: {
          if (!this.shallowEqualStruct(id1, id2)) return false;
          const n = this.vlen(id1);
          const m1 = (this.off[id1] as number) + 3;
          const m2 = (this.off[id2] as number) + 3;
          for (let i = 0; i < n; i++) {
            const a = this.w[m1 + i * 3 + 1] as number;
            const b = this.w[m2 + i * 3 + 1] as number;
            if (a !== b && !this.identical(a, b, depth - 1)) return false;
          }
          return true;
        }
        case BtfKind.FuncProto: {
          if (!this.compatFnproto(id1, id2)) return false;
          if (this.st(id1) !== this.st(id2) && !this.identical(this.st(id1), this.st(id2), depth - 1)) return false;
          const n = this.vlen(id1);
          const p1 = (this.off[id1] as number) + 3;
          const p2 = (this.off[id2] as number) + 3;
          for (let i = 0; i < n; i++) {
            const a = this.w[p1 + i * 2 + 1] as number;
            const b = this.w[p2 + i * 2 + 1] as number;
            if (a !== b && !this.identical(a, b, depth - 1)) return false;
          }
          return true;
        }
        default:
          return false;
      }
    }
  }

  // ---- btf_dedup_is_equiv ------------------------------------------------------------------

  private hypotAdd(from: number, to: number): void {
    this.hypotList.push(from);
    this.hypot[from] = to;
  }

  private clearHypot(): void {
    for (const id of this.hypotList) this.hypot[id] = UNPROCESSED;
    this.hypotList.length = 0;
    this.hypotAdjustCanon = false;
  }

  /** 1 when the graphs of `candId` and `canonId` are equivalent, 0 when not. */
  private isEquiv(candId: number, canonId: number): number {
    if (this.resolve(candId) === this.resolve(canonId)) return 1;
    canonId = this.resolveFwd(canonId);
    const hypot = this.hypot[canonId] as number;
    if (hypot <= MAX_NR_TYPES) {
      if (hypot === candId) return 1;
      // The compiler may emit identical types twice within one CU (arrays, even structs).
      return this.identical(hypot, candId, IDENTICAL_DEPTH) ? 1 : 0;
    }
    this.hypotAdd(canonId, candId);
    const candKind = this.kind(candId);
    const canonKind = this.kind(canonId);
    if (this.nameOff(candId) !== this.nameOff(canonId)) return 0;

    if ((candKind === BtfKind.Fwd || canonKind === BtfKind.Fwd) && candKind !== canonKind) {
      let realKind: number;
      let fwdKind: number;
      if (candKind === BtfKind.Fwd) {
        realKind = canonKind;
        fwdKind = this.fwdKind(candId);
      } else {
        realKind = candKind;
        fwdKind = this.fwdKind(canonId);
        // The base is immutable: a base FWD would have to become the struct.
        if (fwdKind === realKind && canonId < this.startId) this.hypotAdjustCanon = true;
      }
      return fwdKind === realKind ? 1 : 0;
    }
    if (candKind !== canonKind) return 0;

    switch (candKind) {
      case BtfKind.Int:
        return this.equalIntTag(candId, canonId) ? 1 : 0;
      case BtfKind.Enum:
      case BtfKind.Enum64:
        return this.compatEnum(candId, canonId) ? 1 : 0;
      case BtfKind.Fwd:
      case BtfKind.Float:
        return this.equalCommon(candId, canonId) ? 1 : 0;
      case BtfKind.Const:
      case BtfKind.Volatile:
      case BtfKind.Restrict:
      case BtfKind.Ptr:
      case BtfKind.Typedef:
      case BtfKind.Func:
      case BtfKind.TypeTag:
        if (this.info(candId) !== this.info(canonId)) return 0;
        return this.isEquiv(this.st(candId), this.st(canonId));
      case BtfKind.Array: {
        if (!this.compatArray(candId, canonId)) return 0;
        const eq = this.isEquiv(this.x(candId, 1), this.x(canonId, 1));
        if (eq <= 0) return eq;
        return this.isEquiv(this.x(candId, 0), this.x(canonId, 0));
      }
      case BtfKind.Struct:
      case BtfKind.Union: {
        if (!this.shallowEqualStruct(candId, canonId)) return 0;
        const n = this.vlen(candId);
        const mc = (this.off[candId] as number) + 3;
        const mk = (this.off[canonId] as number) + 3;
        for (let i = 0; i < n; i++) {
          const eq = this.isEquiv(this.w[mc + i * 3 + 1] as number, this.w[mk + i * 3 + 1] as number);
          if (eq <= 0) return eq;
        }
        return 1;
      }
      case BtfKind.FuncProto: {
        if (!this.compatFnproto(candId, canonId)) return 0;
        let eq = this.isEquiv(this.st(candId), this.st(canonId));
        if (eq <= 0) return eq;
        const n = this.vlen(candId);
        const pc = (this.off[candId] as number) + 3;
        const pk = (this.off[canonId] as number) + 3;
        for (let i = 0; i < n; i++) {
          eq = this.isEquiv(this.w[pc + i * 2 + 1] as number, this.w[pk + i * 2 + 1] as number);
          if (eq <= 0) return eq;
        }
        return 1;
      }
      default:
        throw this.fail('DEDUP_UNKNOWN_KIND', `unknown kind ${candKind}`, candId);
    }
  }

  /** btf_dedup_merge_hypot_map: record what a successful equivalence check established. */
  private mergeHypot(): void {
    for (const canon of this.hypotList) {
      const targ = this.hypot[canon] as number;
      const tId = this.resolve(targ);
      const cId = this.resolve(canon);
      const tKind = this.kind(tId);
      const cKind = this.kind(cId);
      // FWDs resolve to structs/unions, base FWDs included (split FWDs resolve through them).
      if (tKind !== BtfKind.Fwd && cKind === BtfKind.Fwd) this.map[cId] = tId;
      if (this.hypotAdjustCanon) continue;
      if (tKind === BtfKind.Fwd && cKind !== BtfKind.Fwd) this.map[tId] = cId;
      if ((tKind === BtfKind.Struct || tKind === BtfKind.Union) && cKind !== BtfKind.Fwd && this.isMapped(cId) && !this.isMapped(tId)) {
        this.map[tId] = cId;
      }
    }
  }

  // ---- btf_dedup_struct_type ---------------------------------------------------------------

  private structType(id: number): void {
    if (this.isMapped(id)) return;
    const kind = this.kind(id);
    if (kind !== BtfKind.Struct && kind !== BtfKind.Union && kind !== BtfKind.Typedef) return;
    const isTypedef = kind === BtfKind.Typedef;
    const h = isTypedef ? this.hashTypedef(id) : this.hashStruct(id);
    const hi = h.hi;
    const lo = h.lo;
    let newId = id;
    this.table.visit(hi, lo, (cand) => {
      // A FWD sharing the hash must not become a candidate (FWD -> STRUCT -> FWD loops).
      if (isTypedef ? !this.equalTypedef(id, cand) : !this.shallowEqualStruct(id, cand)) return false;
      this.clearHypot();
      if (this.isEquiv(id, cand) === 0) return false;
      this.mergeHypot();
      if (this.hypotAdjustCanon) return false;
      newId = cand;
      return true;
    });
    this.map[id] = newId;
    if (newId === id) this.table.append(hi, lo, id);
  }

  // ---- btf_dedup_resolve_fwds --------------------------------------------------------------

  private resolveFwds(): void {
    // Canonical structs/unions by name offset, base and split; 0 when a name is ambiguous
    // (libbpf's btf_dedup_fill_unique_names_map over every type). Base types are their own
    // canonical types, so the base's part is the same for every split over it: built once.
    const base = this.btf.base;
    let baseNames = base !== undefined ? baseStructNames.get(base) : undefined;
    if (baseNames === undefined) {
      baseNames = new Map<number, number>();
      this.addStructNames(baseNames, 1, this.startId);
      if (base !== undefined) baseStructNames.set(base, baseNames);
    }
    const names = new Map<number, number>();
    this.addStructNames(names, this.startId, this.count);
    for (let id = this.startId; id < this.count; id++) {
      if (this.kind(id) !== BtfKind.Fwd || this.map[id] !== id) continue;
      const name = this.nameOff(id);
      const own = names.get(name);
      const inBase = baseNames.get(name);
      // Unique only when exactly one struct/union in base and split together has the name.
      const cand = own === undefined ? inBase : inBase === undefined ? own : 0;
      if (cand === undefined || cand === 0) continue;
      const candKind = this.kind(cand);
      const isUnion = this.kflag(id);
      if ((candKind === BtfKind.Struct && isUnion) || (candKind === BtfKind.Union && !isUnion)) continue;
      this.map[id] = cand;
    }
  }

  /** Canonical structs/unions of ids [from, to) by name offset into `names`; 0: more than one. */
  private addStructNames(names: Map<number, number>, from: number, to: number): void {
    for (let id = from; id < to; id++) {
      const k = this.kind(id);
      if (k !== BtfKind.Struct && k !== BtfKind.Union) continue;
      if (this.map[id] !== id) continue;
      const name = this.nameOff(id);
      names.set(name, names.has(name) ? 0 : id);
    }
  }

  // ---- btf_dedup_ref_type ------------------------------------------------------------------

  /** Canonical id of `id`, deduplicating the reference types it reaches first. */
  private refType(id: number): number {
    const m = this.map[id] as number;
    if (m === IN_PROGRESS) throw this.fail('DEDUP_LOOP', 'a reference type reaches itself (no struct, union or typedef in the loop)', id);
    if (m <= MAX_NR_TYPES) return this.resolve(id);
    this.map[id] = IN_PROGRESS;
    const o = this.off[id] as number;
    const w = this.w;
    let newId = id;
    let hi: number;
    let lo: number;
    switch (this.kind(id)) {
      case BtfKind.Const:
      case BtfKind.Volatile:
      case BtfKind.Restrict:
      case BtfKind.Ptr:
      case BtfKind.Func:
      case BtfKind.TypeTag: {
        w[o + 2] = this.refType(w[o + 2] as number);
        ({ hi, lo } = this.hashCommon(id));
        this.table.visit(hi, lo, (cand) => {
          if (!this.equalCommon(id, cand)) return false;
          newId = cand;
          return true;
        });
        break;
      }
      case BtfKind.DeclTag: {
        w[o + 2] = this.refType(w[o + 2] as number);
        ({ hi, lo } = this.hashIntDeclTag(id));
        this.table.visit(hi, lo, (cand) => {
          if (!this.equalIntTag(id, cand)) return false;
          newId = cand;
          return true;
        });
        break;
      }
      case BtfKind.Array: {
        w[o + 3] = this.refType(w[o + 3] as number);
        w[o + 4] = this.refType(w[o + 4] as number);
        ({ hi, lo } = this.hashArray(id));
        this.table.visit(hi, lo, (cand) => {
          if (!this.equalArray(id, cand)) return false;
          newId = cand;
          return true;
        });
        break;
      }
      case BtfKind.FuncProto: {
        w[o + 2] = this.refType(w[o + 2] as number);
        const n = this.vlen(id);
        for (let i = 0; i < n; i++) w[o + 4 + i * 2] = this.refType(w[o + 4 + i * 2] as number);
        ({ hi, lo } = this.hashFnproto(id));
        this.table.visit(hi, lo, (cand) => {
          if (!this.equalFnproto(id, cand)) return false;
          newId = cand;
          return true;
        });
        break;
      }
      default:
        throw this.fail('DEDUP_UNKNOWN_KIND', `unknown kind ${this.kind(id)} for a reference type`, id);
    }
    this.map[id] = newId;
    if (newId === id) this.table.append(hi, lo, id);
    return newId;
  }

  // ---- btf_dedup_compact_types + btf_dedup_remap_types ---------------------------------------

  private compactAndRemap(): DedupResult {
    // hypot is reused for old id -> new id, as libbpf does.
    const newIds = this.hypot;
    newIds[0] = 0;
    for (let id = 1; id < this.startId; id++) newIds[id] = id;
    for (let id = this.startId; id < this.count; id++) newIds[id] = UNPROCESSED;
    let next = this.startId;
    let words = 0;
    for (let id = this.startId; id < this.count; id++) {
      if (this.map[id] !== id) continue;
      newIds[id] = next++;
      words += recordSize(this.kind(id), this.vlen(id)) >>> 2;
    }
    const out = new Uint32Array(words);
    let p = 0;
    for (let id = this.startId; id < this.count; id++) {
      if (this.map[id] !== id) continue;
      const o = this.off[id] as number;
      const len = recordSize(this.kind(id), this.vlen(id)) >>> 2;
      out.set(this.w.subarray(o, o + len), p);
      const at = p;
      forEachIdField(this.kind(id), this.vlen(id), (pos) => {
        const i = at + (pos >>> 2);
        const mapped = newIds[this.resolve(out[i] as number)] as number;
        if (mapped > MAX_NR_TYPES) throw this.fail('DEDUP_BAD_TYPE_ID', `type [${out[i] as number}] it references has no place after dedup`, id);
        out[i] = mapped;
      });
      p += len;
    }
    const idMap = new Uint32Array(this.count);
    for (let id = 0; id < this.count; id++) idMap[id] = newIds[this.resolve(id)] as number;
    // The working words are done with: the header goes back where the output reads it.
    if (this.front !== undefined) this.btf.bytes.set(this.front, 0);
    const bytes = encodeDedupOutput(this.btf, this.behaviour, out, this.strings);
    return { bytes, idMap, typeCount: next - this.startId };
  }
}

/** Candidate tables after btf_dedup_prep, per parsed base and base TYPEDEF hash. */
const preparedTables = new WeakMap<Btf, Map<DedupRules['baseTypedefHash'], CandidateTable>>();
/** resolveFwds' unique struct/union names of a parsed base (base types are always canonical). */
const baseStructNames = new WeakMap<Btf, Map<number, number>>();

const ENUM_FIELDS = [0, 1];
const ENUM64_FIELDS = [0, 1, 2];
/** A member's name and offset; its type is compared through the graph. */
const MEMBER_SHAPE = [0, 2];
const PARAM_FIELDS = [0, 1];
const PARAM_NAME = [0];
