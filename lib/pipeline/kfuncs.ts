/**
 * Which kfuncs resolve_btfids 7.x's btf2btf works on, with their KF_* flags. Two ways exist
 * (profile.ts KfuncRules.source):
 *
 *  - 'decl-tags' (7.2, collect_kfuncs + find_kfunc_flags): the FUNCs that pahole's
 *    `bpf_kfunc` decl tags (kflag 0, component_idx -1) point at, over all types, base
 *    included, whose name has a `__BTF_ID__func__` symbol; the flags are the word after the
 *    id of the first set8 (sets in descending name order) whose range holds one of the
 *    symbol's addresses. In decl tag order.
 *  - 'set8' (7.3, collect_kfuncs + push_kfunc): every pair of every set8 whose header has
 *    BTF_SET8_KFUNCS, sets in descending name order; a pair is named by the symbol at its
 *    address (all `__BTF_ID__*` symbols of `.BTF_ids`, sorted by address, binary search),
 *    and is the module's own FUNC of that name (btf__find_by_name_kind_own). Kfuncs are kept
 *    by BTF id (an rb-tree): the same kfunc twice with the same flags counts once, with other
 *    flags it is an error. In BTF id order.
 *
 * Flags are read from `.BTF_ids` before it is patched, in the object's byte order (7.x swaps
 * the section to host order when it loads it).
 */
import type { Btf } from '../btf/btf.js';
import { BtfKind } from '../btf/kinds.js';
import { infoKflag } from '../btf/wire.js';
import { dataViewOf } from '../bytes.js';
import { BtfIdsError } from '../btfids/errors.js';
import { BTF_SET8_KFUNCS, setsInOrder, slotOffset, type BtfIdsLayout, type IdEntry } from '../btfids/layout.js';
import { displayName, msg, type Diagnostic } from '../btfids/messages.js';
import { ID_KINDS } from '../btfids/symbols.js';
import type { KfuncRules } from './profile.js';

export interface Kfunc {
  /** The name as parsed from its symbol (latin1). */
  readonly name: string;
  readonly btfId: number;
  readonly flags: number;
}

export interface KfuncCollection {
  readonly kfuncs: readonly Kfunc[];
  /** resolve_btfids' lines while collecting (debug, warnings), in its order. */
  readonly diagnostics: Diagnostic[];
  /** Warnings resolve_btfids counts. */
  readonly warnings: number;
}

/** A u32 of the section at a byte offset, in the object's byte order; undefined past its end. */
export type SectionWords = (at: number) => number | undefined;

export function sectionWords(layout: BtfIdsLayout, section: Uint8Array): SectionWords {
  const dv = dataViewOf(section);
  return (at) => (at >= 0 && at + 4 <= section.length ? dv.getUint32(at, layout.littleEndian) : undefined);
}

export interface CollectContext {
  readonly btf: Btf;
  readonly layout: BtfIdsLayout;
  readonly words: SectionWords;
  readonly verbose: number;
  /** Ids of every DECL_TAG, base included, in id order (collect_decl_tags). */
  readonly declTags: readonly number[];
}

export function collectKfuncs(rules: KfuncRules, c: CollectContext): KfuncCollection {
  return rules.source === 'set8' ? fromKfuncSets(c) : fromDeclTags(c);
}

function debugLine(c: CollectContext, out: Diagnostic[], message: string): void {
  if (c.verbose >= 1) out.push({ level: 'debug', code: 'BTFIDS_KFUNC', message, verbosity: 1 });
}

/** 7.2: see the file comment. */
function fromDeclTags(c: CollectContext): KfuncCollection {
  const { btf, layout } = c;
  const diagnostics: Diagnostic[] = [];
  const kfuncs: Kfunc[] = [];
  for (const tagId of c.declTags) {
    const tag = btf.type(tagId);
    if (tag.kind !== BtfKind.DeclTag || infoKflag(tag.info) || tag.componentIdx !== -1) continue;
    if (btf.latin1Str(tag.nameOff) !== 'bpf_kfunc') continue;
    const funcId = tag.type;
    if (!btf.hasType(funcId) || btf.kind(funcId) !== BtfKind.Func) continue;
    const entry = layout.ids.func.get(btf.latin1Str(btf.nameOff(funcId)));
    if (entry === undefined) continue;
    kfuncs.push({ name: entry.name, btfId: funcId, flags: firstSet8Flags(c, entry, diagnostics) });
  }
  return { kfuncs, diagnostics, warnings: 0 };
}

/** find_kfunc_flags(): the flag word of a kfunc's first set8 entry, or 0. */
function firstSet8Flags(c: CollectContext, entry: IdEntry, out: Diagnostic[]): number {
  const { layout } = c;
  for (const set of setsInOrder(layout.sets)) {
    if (set.kind !== 'set8') continue;
    const lower = set.addr;
    const upper = BigInt.asUintN(64, lower + BigInt.asUintN(64, BigInt(set.cnt) * 8n));
    for (const addr of entry.addrs) {
      if (lower < addr && addr <= upper) {
        debugLine(c, out, msg.foundKfunc(entry.name, set.name));
        const at = slotOffset(layout, addr) / 4n * 4n + 4n;
        return at + 4n <= BigInt(layout.size) ? (c.words(Number(at)) ?? 0) : 0;
      }
    }
  }
  return 0;
}

/** symbols_collect's addr_syms: every `__BTF_ID__*` symbol (sets too) by address, for find_name_by_addr. */
interface AddrSyms { readonly addrs: bigint[]; readonly names: string[] }

function addrSyms(layout: BtfIdsLayout): AddrSyms {
  const all: { addr: bigint; name: string; symbol: number }[] = [];
  for (const k of ID_KINDS) for (const e of layout.ids[k].values()) e.addrs.forEach((addr, i) => all.push({ addr, name: e.name, symbol: e.symbols[i] as number }));
  for (const s of layout.sets.values()) all.push({ addr: s.addr, name: s.name, symbol: s.symbol });
  // qsort by address; symbols at one address (never in kernel objects) in symbol order.
  all.sort((a, b) => (a.addr < b.addr ? -1 : a.addr > b.addr ? 1 : a.symbol - b.symbol));
  return { addrs: all.map((x) => x.addr), names: all.map((x) => x.name) };
}

/** glibc bsearch() over the sorted addresses. */
function nameAt(syms: AddrSyms, addr: bigint): string | undefined {
  let l = 0;
  let u = syms.addrs.length;
  while (l < u) {
    const idx = (l + u) >>> 1;
    const a = syms.addrs[idx] as bigint;
    if (addr < a) u = idx;
    else if (addr > a) l = idx + 1;
    else return syms.names[idx];
  }
  return undefined;
}

/** btf__find_by_name_kind_own(btf, name, BTF_KIND_FUNC): the lowest own id, or undefined. */
function ownFunc(btf: Btf, name: string): number | undefined {
  // Names are latin1 strings of the symbol's bytes; BTF names are looked up by their bytes.
  const utf8 = Buffer.from(name, 'latin1').toString('utf8');
  for (const id of btf.findByName(utf8, BtfKind.Func)) if (id >= btf.startId && btf.latin1Str(btf.nameOff(id)) === name) return id;
  return undefined;
}

/** 7.3: see the file comment. */
function fromKfuncSets(c: CollectContext): KfuncCollection {
  const { btf, layout, words } = c;
  const diagnostics: Diagnostic[] = [];
  const byId = new Map<number, Kfunc>();
  let warnings = 0;
  const syms = addrSyms(layout);
  const file = btf.source.file !== undefined ? { file: btf.source.file } : {};
  for (const set of setsInOrder(layout.sets)) {
    if (set.kind !== 'set8') continue;
    const off = Number(slotOffset(layout, set.addr));
    const head = words(off + 4);
    // resolve_btfids reads the set in place: outside the section it reads other memory.
    const pastEnd = (what: string): BtfIdsError => new BtfIdsError(
      'BTFIDS_SET_OUT_OF_BOUNDS',
      `set8 '${displayName(set.name)}' at offset ${off}: ${what} lies outside the ${layout.size}-byte .BTF_ids section (resolve_btfids reads past it)`,
      `FAILED set8 '${displayName(set.name)}': ${what} lies outside .BTF_ids (${layout.size} bytes)`,
      { ...file, section: '.BTF_ids', offset: off, symbol: displayName(set.name) }, diagnostics,
    );
    if (head === undefined || off < 0) throw pastEnd('its header');
    if ((head & BTF_SET8_KFUNCS) === 0) continue;
    // set_id->cnt is a C int compared with a u32 index: -1 (a symbol of size 0) runs on and on.
    const cnt = set.cnt >>> 0;
    for (let i = 0; i < cnt; i++) {
      const pair = off + 8 + i * 8;
      const flags = words(pair + 4);
      if (flags === undefined) throw pastEnd(`pair ${i} of ${set.cnt}`);
      const name = nameAt(syms, BigInt.asUintN(64, set.addr + BigInt(8 + i * 8)));
      if (name === undefined) {
        diagnostics.push({ level: 'warning', code: 'BTFIDS_KFUNC_NO_SYMBOL', message: msg.noKfuncSymbol(set.name, i), symbol: displayName(set.name), offset: pair });
        warnings++;
        continue;
      }
      const btfId = ownFunc(btf, name);
      if (btfId === undefined) {
        diagnostics.push({ level: 'warning', code: 'BTFIDS_KFUNC_NO_FUNC', message: msg.noKfuncFunc(name, set.name), symbol: displayName(name), offset: pair });
        warnings++;
        continue;
      }
      debugLine(c, diagnostics, msg.foundKfuncInSet(name, set.name));
      const have = byId.get(btfId);
      if (have === undefined) byId.set(btfId, { name, btfId, flags });
      else if (have.flags !== flags) {
        diagnostics.push({ level: 'error', code: 'BTFIDS_KFUNC', message: msg.inconsistentFlags(name, have.flags, flags), symbol: displayName(name) });
        throw new BtfIdsError(
          'BTFIDS_KFUNC_FLAGS',
          `kfunc ${displayName(name)} (type [${btfId}]) has flags 0x${have.flags.toString(16)} in one BTF_KFUNCS set and 0x${flags.toString(16)} in set ${displayName(set.name)}: a kfunc set declaration is wrong`,
          msg.collectKfuncsFailed(),
          { ...file, typeId: btfId, symbol: displayName(name) }, diagnostics,
        );
      }
    }
  }
  const kfuncs = [...byId.values()].sort((a, b) => a.btfId - b.btfId);
  return { kfuncs, diagnostics, warnings };
}
