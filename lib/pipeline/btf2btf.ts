/**
 * btf2btf: the BTF rewrite kernel 7.x's resolve_btfids applies before distilling and
 * sorting, for kfuncs flagged KF_IMPLICIT_ARGS in a BTF_KFUNCS set. Such a kfunc is
 * declared with trailing arguments the verifier supplies (`struct bpf_prog_aux *`,
 * `struct btf_struct_meta *`); BPF programs call it without them. For each one:
 *
 *  1. unless a FUNC `<name>_impl` exists already (the "legacy" form, where the source
 *     declares it), add FUNC `<name>_impl` with the kfunc's linkage and prototype, and
 *     copy every decl tag/attribute of the kfunc except "bpf_kfunc" onto it;
 *  2. add a FUNC_PROTO with the same return type and the parameters up to the first
 *     implicit one;
 *  3. point the kfunc's FUNC at that prototype.
 *
 * Which kfuncs: the targets of `bpf_kfunc` decl tags (kflag 0, component_idx -1) over
 * all types, base included, that have a `__BTF_ID__func__` symbol; their flags are the
 * word after the id of the first set8 (sets in descending name order) whose range holds
 * one of the symbol's addresses. Types and strings are added with libbpf's btf__add_*
 * rules (a string already in the base is used from there).
 */
import type { Btf } from '../btf/btf.js';
import { BtfBuilder } from '../btf/builder.js';
import { BtfKind } from '../btf/kinds.js';
import { infoKflag, infoVlen } from '../btf/wire.js';
import type { BtfFuncProto, BtfType } from '../btf/types.js';
import { dataViewOf } from '../bytes.js';
import { BtfIdsError } from '../btfids/errors.js';
import { setsInOrder, slotOffset, type BtfIdsLayout, type IdEntry } from '../btfids/layout.js';
import { msg, type Diagnostic } from '../btfids/messages.js';

/** include/linux/btf.h: the kfunc has arguments the verifier supplies. */
export const KF_IMPLICIT_ARGS = 1 << 16;
const IMPL_SUFFIX = '_impl';
/** include/linux/kallsyms.h: resolve_btfids builds `<name>_impl` in a buffer of this size. */
const KSYM_NAME_LEN = 512;
const IMPLICIT_ARG_STRUCTS = new Set(['bpf_prog_aux', 'btf_struct_meta']);

export interface Btf2BtfOptions {
  /** Collect resolve_btfids' -v lines. */
  verbose?: number;
  /**
   * Leave alone a kfunc whose `<name>_impl` exists and whose prototype has no implicit
   * argument left: it was rewritten by an earlier run (finalize on a finalized module).
   * resolve_btfids itself would add another prototype.
   */
  skipRewritten?: boolean;
}

export interface Btf2BtfResult {
  /** The BTF bytes after the rewrite; undefined when nothing changed. */
  readonly bytes: Uint8Array | undefined;
  /** Kfuncs whose prototype was rewritten, in processing order. */
  readonly rewritten: readonly string[];
  readonly diagnostics: Diagnostic[];
}

interface Kfunc { readonly name: string; readonly btfId: number; readonly flags: number }

function isMod(kind: number): boolean {
  return kind === BtfKind.Volatile || kind === BtfKind.Const || kind === BtfKind.Restrict || kind === BtfKind.TypeTag;
}

/**
 * The flag word of a kfunc's first set8 entry, or 0; `words` reads the section's u32 at
 * a byte offset in host order (resolve_btfids' view of `.BTF_ids` before patching).
 */
function kfuncFlags(layout: BtfIdsLayout, entry: IdEntry, words: (at: number) => number | undefined, debug: (line: string) => void): number {
  for (const set of setsInOrder(layout.sets)) {
    if (set.kind !== 'set8') continue;
    const lower = set.addr;
    const upper = BigInt.asUintN(64, lower + BigInt.asUintN(64, BigInt(set.cnt) * 8n));
    for (const addr of entry.addrs) {
      if (lower < addr && addr <= upper) {
        debug(msg.foundKfunc(entry.name, set.name));
        const at = slotOffset(layout, addr) / 4n * 4n + 4n;
        return at + 4n <= BigInt(layout.size) ? (words(Number(at)) ?? 0) : 0;
      }
    }
  }
  return 0;
}

/** Rewrites the KF_IMPLICIT_ARGS kfuncs of `btf` (split over vmlinux, as pahole wrote it). */
export function btf2btf(btf: Btf, layout: BtfIdsLayout | undefined, section: Uint8Array | undefined, opts: Btf2BtfOptions = {}): Btf2BtfResult {
  const verbose = opts.verbose ?? 0;
  const diagnostics: Diagnostic[] = [];
  const debug = (message: string): void => {
    if (verbose >= 1) diagnostics.push({ level: 'debug', code: 'BTFIDS_KFUNC', message, verbosity: 1 });
  };
  const none: Btf2BtfResult = { bytes: undefined, rewritten: [], diagnostics };
  if (layout === undefined || section === undefined || layout.ids.func.size === 0) return none;
  const dv = dataViewOf(section);
  const words = (at: number): number | undefined => (at + 4 <= section.length ? dv.getUint32(at, layout.littleEndian) : undefined);

  // Nothing can change without an implicit-args flag somewhere in a set8; without -v
  // nothing would be printed either, so the walk over every type is not needed.
  if (verbose === 0 && !anyImplicitFlag(layout, words)) return none;

  const n = btf.typeCount;
  const declTags: number[] = [];
  for (let id = 1; id < n; id++) if (btf.kind(id) === BtfKind.DeclTag) declTags.push(id);
  const kfuncs: Kfunc[] = [];
  for (const tagId of declTags) {
    const tag = btf.type(tagId);
    if (tag.kind !== BtfKind.DeclTag || infoKflag(tag.info) || tag.componentIdx !== -1) continue;
    if (btf.latin1Str(tag.nameOff) !== 'bpf_kfunc') continue;
    const funcId = tag.type;
    if (!btf.hasType(funcId) || btf.kind(funcId) !== BtfKind.Func) continue;
    const entry = layout.ids.func.get(btf.latin1Str(btf.nameOff(funcId)));
    if (entry === undefined) continue;
    kfuncs.push({ name: entry.name, btfId: funcId, flags: kfuncFlags(layout, entry, words, debug) });
  }

  let b: BtfBuilder | undefined;
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
  const fail = (message: string, stderrText: string, typeId: number): BtfIdsError =>
    new BtfIdsError('BTFIDS_BTF2BTF', message, stderrText, { typeId, ...(btf.source.file !== undefined ? { file: btf.source.file } : {}) }, diagnostics);

  const rewritten: string[] = [];
  for (const kf of kfuncs) {
    if ((kf.flags & KF_IMPLICIT_ARGS) === 0) continue;
    const func = typeOf(kf.btfId);
    if (func.kind !== BtfKind.Func) throw fail(`type [${kf.btfId}] of kfunc ${kf.name} is not a FUNC`, msg.notAFunction(kf.btfId), kf.btfId);
    const protoId = func.type;
    const proto = typeOf(protoId);
    if (proto.kind !== BtfKind.FuncProto) throw fail(`type [${protoId}] (prototype of kfunc ${kf.name}) is not a FUNC_PROTO`, msg.notAProto(protoId), protoId);
    const implName = kf.name + IMPL_SUFFIX;
    if (implName.length >= KSYM_NAME_LEN) throw fail(`kfunc name ${kf.name}${IMPL_SUFFIX} is ${implName.length} characters long`, msg.nameTooLong(kf.name), kf.btfId);
    b ??= BtfBuilder.continuing(btf);
    const implExists = b.findByNameKind(implName, BtfKind.Func) > 0;
    if (opts.skipRewritten === true && implExists && !proto.params.some((p) => isImplicitArg(p.type))) continue;
    if (implExists) {
      debug(msg.implExists(implName));
    } else {
      const implId = b.addFunc(implName, infoVlen(func.info), protoId);
      for (const tagId of declTags) {
        const tag = typeOf(tagId);
        if (tag.kind !== BtfKind.DeclTag || tag.type !== kf.btfId) continue;
        const tagName = strOf(tag.nameOff);
        if (tagName === 'bpf_kfunc') continue;
        b.addDeclTag(tagName, implId, tag.componentIdx, infoKflag(tag.info));
      }
    }
    const newProto = b.addFuncProto((proto as BtfFuncProto).type);
    for (const p of proto.params) {
      if (isImplicitArg(p.type)) break;
      b.addFuncParam(p.nameOff === 0 ? '' : strOf(p.nameOff), p.type);
    }
    const own = b.ownType(kf.btfId);
    if (own !== undefined && own.kind === BtfKind.Func) own.type = newProto;
    debug(msg.implicitUpdated(kf.name));
    rewritten.push(kf.name);
  }
  return { bytes: b !== undefined && rewritten.length > 0 ? b.toBytes() : undefined, rewritten, diagnostics };
}

function anyImplicitFlag(layout: BtfIdsLayout, words: (at: number) => number | undefined): boolean {
  for (const set of layout.sets.values()) {
    if (set.kind !== 'set8' || set.cnt <= 0) continue;
    const off = Number(slotOffset(layout, set.addr));
    for (let i = 0; i < set.cnt; i++) {
      const f = words(off + 12 + i * 8);
      if (f === undefined) break;
      if ((f & KF_IMPLICIT_ARGS) !== 0) return true;
    }
  }
  return false;
}
