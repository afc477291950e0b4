/**
 * btf2btf: the BTF rewrite kernel 7.x's resolve_btfids applies to kfuncs before finalizing
 * the BTF, as the profile's KfuncRules say (kfuncs.ts finds the kfuncs). For each kfunc, in
 * the order found:
 *
 *  1. (7.3) a `bpf_kfunc` decl tag on it, and `bpf_fastcall` when KF_FASTCALL is set
 *     (pahole is no longer asked for kfunc tags);
 *  2. KF_IMPLICIT_ARGS (process_kfunc_with_implicit_args): unless a FUNC `<name>_impl`
 *     exists already (the "legacy" form, where the source declares it), add FUNC
 *     `<name>_impl` with the kfunc's linkage and prototype and copy every decl tag or
 *     attribute of the kfunc except "bpf_kfunc" onto it (tags added in step 1 included);
 *     then add a FUNC_PROTO with the same return type and the parameters up to the first
 *     implicit one (`struct bpf_prog_aux *`, `struct btf_struct_meta *`), and point the
 *     kfunc at it;
 *  3. (7.3) arena pointers (add_arena_tagged_proto): when KF_ARENA_RET is set, or a
 *     parameter is named `*__arena` / `*__arena__nullable`, or KF_ARENA_ARG1/ARG2 flag the
 *     first/second parameter: a new FUNC_PROTO (the old one may be shared) whose return
 *     value / those parameters point through a TYPE_TAG attribute (kflag 1)
 *     "address_space(1)" to what they pointed at; a non-pointer there is an error.
 *
 * Types and strings are added with libbpf's btf__add_* rules (a string already in the base
 * is used from there); 7.3 then deduplicates the result anyway.
 */
import type { Btf } from '../btf/btf.js';
import { BtfBuilder } from '../btf/builder.js';
import { BtfKind } from '../btf/kinds.js';
import { infoKflag, infoVlen } from '../btf/wire.js';
import type { BtfFuncProto, BtfType } from '../btf/types.js';
import { BtfIdsError } from '../btfids/errors.js';
import { slotOffset, type BtfIdsLayout } from '../btfids/layout.js';
import { msg, type Diagnostic } from '../btfids/messages.js';
import { collectKfuncs, sectionWords, type Kfunc, type SectionWords } from './kfuncs.js';
import type { KfuncRules } from './profile.js';

/** include/linux/btf.h flags btf2btf acts on. */
export const KF_FASTCALL = 1 << 12;
export const KF_ARENA_RET = 1 << 13;
export const KF_ARENA_ARG1 = 1 << 14;
export const KF_ARENA_ARG2 = 1 << 15;
export const KF_IMPLICIT_ARGS = 1 << 16;
const IMPL_SUFFIX = '_impl';
const DECL_TAG_KFUNC = 'bpf_kfunc';
const DECL_TAG_FASTCALL = 'bpf_fastcall';
const TYPE_ATTR_ARENA = 'address_space(1)';
const ARENA_SUFFIXES = ['__arena', '__arena__nullable'];
/** include/linux/kallsyms.h: resolve_btfids builds `<name>_impl` in a buffer of this size. */
const KSYM_NAME_LEN = 512;
const IMPLICIT_ARG_STRUCTS = new Set(['bpf_prog_aux', 'btf_struct_meta']);

export interface Btf2BtfOptions {
  /** Collect resolve_btfids' -v lines. */
  verbose?: number;
  /**
   * finalize on a finalized (or shipped) module: leave alone what an earlier run did.
   * A kfunc whose `<name>_impl` exists and whose prototype has no implicit argument left is
   * not given another prototype (7.2's resolve_btfids would add one), and an arena pointer
   * already tagged address_space(1) is not wrapped again (7.3's would wrap it twice).
   */
  skipRewritten?: boolean;
}

export interface Btf2BtfResult {
  /** The BTF bytes after the rewrite; undefined when nothing changed. */
  readonly bytes: Uint8Array | undefined;
  /** Kfuncs whose prototype was rewritten (implicit args or arena), in processing order. */
  readonly rewritten: readonly string[];
  readonly diagnostics: Diagnostic[];
  /** Warnings resolve_btfids counts (7.3's kfunc collection). */
  readonly warnings: number;
}

function isMod(kind: number): boolean {
  return kind === BtfKind.Volatile || kind === BtfKind.Const || kind === BtfKind.Restrict || kind === BtfKind.TypeTag;
}

/** Rewrites the kfuncs of `btf` (split over vmlinux, as pahole wrote it); `section`: `.BTF_ids` as linked. */
export function btf2btf(btf: Btf, layout: BtfIdsLayout | undefined, section: Uint8Array | undefined, rules: KfuncRules, opts: Btf2BtfOptions = {}): Btf2BtfResult {
  const verbose = opts.verbose ?? 0;
  const diagnostics: Diagnostic[] = [];
  const none = (warnings = 0): Btf2BtfResult => ({ bytes: undefined, rewritten: [], diagnostics, warnings });
  if (layout === undefined || section === undefined) return none();
  const words = sectionWords(layout, section);
  // Without a set8 that could change anything, and without -v lines to print, the walk
  // over every type is not needed.
  if (verbose === 0 && !couldChange(rules, layout, words)) return none();

  const n = btf.typeCount;
  const declTags: number[] = [];
  for (let id = 1; id < n; id++) if (btf.kind(id) === BtfKind.DeclTag) declTags.push(id);
  const collected = collectKfuncs(rules, { btf, layout, words, verbose, declTags });
  diagnostics.push(...collected.diagnostics);
  if (collected.kfuncs.length === 0) return none(collected.warnings);

  const debug = (message: string): void => {
    if (verbose >= 1) diagnostics.push({ level: 'debug', code: 'BTFIDS_KFUNC', message, verbosity: 1 });
  };
  let b: BtfBuilder | undefined;
  const builder = (): BtfBuilder => (b ??= BtfBuilder.continuing(btf));
  const typeOf = (id: number): BtfType => (b !== undefined && id >= b.startId ? (b.ownType(id) as BtfType) : btf.type(id));
  const strOf = (off: number): string => (b !== undefined ? (b.strAt(off) ?? '') : btf.str(off));
  const skipMods = (id: number): BtfType => {
    let t = typeOf(id);
    for (let guard = 0; isMod(t.kind) && guard < n; guard++) t = typeOf((t as { type: number }).type);
    return t;
  };
  const isImplicitArg = (type: number): boolean => {
    const p = skipMods(type);
    if (p.kind !== BtfKind.Ptr) return false;
    const s = skipMods(p.type);
    return s.kind === BtfKind.Struct && IMPLICIT_ARG_STRUCTS.has(strOf(s.nameOff));
  };
  const fail = (code: 'BTFIDS_BTF2BTF' | 'BTFIDS_ARENA_NOT_POINTER', message: string, stderrText: string, typeId: number): BtfIdsError =>
    new BtfIdsError(code, message, stderrText, { typeId, ...(btf.source.file !== undefined ? { file: btf.source.file } : {}) }, diagnostics);
  const findFunc = (name: string): number => (rules.implLookup === 'own' ? builder().findOwnByNameKind(name, BtfKind.Func) : builder().findByNameKind(name, BtfKind.Func));

  const rewritten: string[] = [];
  const implicitArgs = (kf: Kfunc): void => {
    const func = typeOf(kf.btfId);
    if (func.kind !== BtfKind.Func) throw fail('BTFIDS_BTF2BTF', `type [${kf.btfId}] of kfunc ${kf.name} is not a FUNC`, msg.notAFunction(kf.btfId), kf.btfId);
    const protoId = func.type;
    const proto = typeOf(protoId);
    if (proto.kind !== BtfKind.FuncProto) throw fail('BTFIDS_BTF2BTF', `type [${protoId}] (prototype of kfunc ${kf.name}) is not a FUNC_PROTO`, msg.notAProto(protoId), protoId);
    const implName = kf.name + IMPL_SUFFIX;
    if (implName.length >= KSYM_NAME_LEN) throw fail('BTFIDS_BTF2BTF', `kfunc name ${kf.name}${IMPL_SUFFIX} is ${implName.length} characters long`, msg.nameTooLong(kf.name), kf.btfId);
    const bb = builder();
    const implExists = findFunc(implName) > 0;
    if (opts.skipRewritten === true && implExists && !proto.params.some((p) => isImplicitArg(p.type))) return;
    if (implExists) {
      debug(msg.implExists(implName));
    } else {
      const implId = bb.addFunc(implName, infoVlen(func.info), protoId);
      for (const tagId of declTags) {
        const tag = typeOf(tagId);
        if (tag.kind !== BtfKind.DeclTag || tag.type !== kf.btfId) continue;
        const tagName = strOf(tag.nameOff);
        if (tagName === DECL_TAG_KFUNC) continue;
        bb.addDeclTag(tagName, implId, tag.componentIdx, infoKflag(tag.info));
      }
    }
    const newProto = bb.addFuncProto((proto as BtfFuncProto).type);
    for (const p of proto.params) {
      if (isImplicitArg(p.type)) break;
      bb.addFuncParam(p.nameOff === 0 ? '' : strOf(p.nameOff), p.type);
    }
    const own = bb.ownType(kf.btfId);
    if (own !== undefined && own.kind === BtfKind.Func) own.type = newProto;
    debug(msg.implicitUpdated(kf.name));
    rewritten.push(kf.name);
  };

  /** A pointer already pointing through address_space(1): an earlier run's. */
  const arenaTagged = (type: number): boolean => {
    const p = typeOf(type);
    if (p.kind !== BtfKind.Ptr) return false;
    const t = typeOf(p.type);
    return t.kind === BtfKind.TypeTag && infoKflag(t.info) && strOf(t.nameOff) === TYPE_ATTR_ARENA;
  };
  const isArenaArg = (kf: Kfunc, nameOff: number, i: number): boolean => {
    const name = strOf(nameOff);
    if (ARENA_SUFFIXES.some((s) => name.endsWith(s))) return true;
    return (i === 0 && (kf.flags & KF_ARENA_ARG1) !== 0) || (i === 1 && (kf.flags & KF_ARENA_ARG2) !== 0);
  };
  /** arena_tag_ptr(): PTR -> TYPE_TAG attr "address_space(1)" -> what the pointer pointed at. */
  const arenaTagPtr = (kf: Kfunc, ptrId: number): number => {
    const ptr = ptrId === 0 ? undefined : typeOf(ptrId);
    if (ptr === undefined || ptr.kind !== BtfKind.Ptr) {
      throw fail('BTFIDS_ARENA_NOT_POINTER', `kfunc ${kf.name} (type [${kf.btfId}]): an arena return value or argument is type [${ptrId}], not a pointer`, msg.arenaNotPointer(kf.name), ptrId);
    }
    const bb = builder();
    return bb.addPtr(bb.addTypeAttr(TYPE_ATTR_ARENA, ptr.type));
  };
  const arena = (kf: Kfunc): void => {
    const func = typeOf(kf.btfId);
    if (func.kind !== BtfKind.Func) return;
    const protoId = func.type;
    const proto = typeOf(protoId);
    if (proto.kind !== BtfKind.FuncProto) return;
    const params = proto.params.map((p) => ({ nameOff: p.nameOff, type: p.type }));
    const skip = opts.skipRewritten === true;
    const wantRet = (kf.flags & KF_ARENA_RET) !== 0 && !(skip && arenaTagged(proto.type));
    const wantArg = params.map((p, i) => isArenaArg(kf, p.nameOff, i) && !(skip && arenaTagged(p.type)));
    if (!wantRet && !wantArg.includes(true)) return;
    const bb = builder();
    const ret = wantRet ? arenaTagPtr(kf, proto.type) : proto.type;
    const newProto = bb.addFuncProto(ret);
    for (const p of params) bb.addFuncParam(p.nameOff === 0 ? '' : strOf(p.nameOff), p.type);
    const added = bb.ownType(newProto);
    for (let i = 0; i < params.length; i++) {
      if (!wantArg[i]) continue;
      const id = arenaTagPtr(kf, (params[i] as { type: number }).type);
      if (added !== undefined && added.kind === BtfKind.FuncProto) (added.params[i] as { type: number }).type = id;
    }
    debug(msg.arenaProtoAdded(kf.name, newProto));
    const own = bb.ownType(kf.btfId);
    if (own !== undefined && own.kind === BtfKind.Func) own.type = newProto;
    if (rewritten[rewritten.length - 1] !== kf.name) rewritten.push(kf.name);
  };

  for (const kf of collected.kfuncs) {
    if (rules.declTags) {
      const bb = builder();
      declTags.push(bb.addDeclTag(DECL_TAG_KFUNC, kf.btfId, -1));
      if ((kf.flags & KF_FASTCALL) !== 0) declTags.push(bb.addDeclTag(DECL_TAG_FASTCALL, kf.btfId, -1));
    }
    if ((kf.flags & KF_IMPLICIT_ARGS) !== 0) implicitArgs(kf);
    if (rules.arena) arena(kf);
  }
  const changed = b !== undefined && b.nextId > btf.typeCount;
  return { bytes: changed ? b?.toBytes() : undefined, rewritten, diagnostics, warnings: collected.warnings };
}

/** Whether any set8 could make btf2btf change something (7.2: an implicit-args flag; 7.3: any BTF_KFUNCS pair). */
function couldChange(rules: KfuncRules, layout: BtfIdsLayout, words: SectionWords): boolean {
  for (const set of layout.sets.values()) {
    if (set.kind !== 'set8' || set.cnt === 0) continue;
    // 7.3 reads every pair of a kfunc set (and a broken count reads past the section): always go on.
    if (rules.source === 'set8') return true;
    if (set.cnt < 0) continue;
    const off = Number(slotOffset(layout, set.addr));
    for (let i = 0; i < set.cnt; i++) {
      const f = words(off + 12 + i * 8);
      if (f === undefined) break;
      if ((f & KF_IMPLICIT_ARGS) !== 0) return true;
    }
  }
  return false;
}
