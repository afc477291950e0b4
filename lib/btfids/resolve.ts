/**
 * Resolution of `.BTF_ids` exactly as Debian's 6.12 resolve_btfids does it, computed
 * in memory (nothing is written here):
 *
 * 1. Names (symbols_resolve): walk type ids 1 .. N-1 over base and split; a type of
 *    kind FUNC, STRUCT, UNION or TYPEDEF whose kind still has a non-zero counter is
 *    looked up by (kind, name); the first hit wins (lowest id), a later hit prints
 *    "multiple IDs". Counters start at the number of *symbols* of the kind and drop
 *    once per name resolved; a kind at 0 is not looked at any more.
 * 2. Patching (symbols_patch): struct, union, typedef, func tables, then sets, each in
 *    descending strcmp order of the names; an unresolved id warns; the 32-bit value
 *    (id, or count for sets) goes to (offset & ~3) of every symbol of the entry.
 * 3. Sorting (sets_patch): per set in descending name order, the count is read back
 *    and the u32 ids (BTF_SET) or the {id, flags} pairs (BTF_SET8) are sorted by id
 *    with glibc's stable merge sort; set8 flags travel with their id.
 * 4. Byte order: the section is patched as host (little-endian) words; for a
 *    big-endian object set8 flags are swapped first, then every word is converted
 *    (libelf ELF_T_WORD): ids, counts and set8 flags come out right, any other
 *    non-zero word comes out byte-swapped, as with the real tool.
 *
 * On top of that, and unlike resolve_btfids, an already resolved section is
 * recognised (see recoverPristine) so that running twice does not pair set8 ids
 * with the wrong flags; `recoverResolved: false` gives the tool's behaviour.
 */
import type { ElfFile, ElfSection } from '../elf/index.js';
import type { Btf } from '../btf/btf.js';
import { BtfKind } from '../btf/kinds.js';
import { BTF_KIND_SLOTS, infoByteKind, infoKind } from '../btf/wire.js';
import { dataViewOf } from '../bytes.js';
import { BTF_IDS_SECTION } from '../btf/source.js';
import { BtfIdsError } from './errors.js';
import { msg, displayName, type Diagnostic } from './messages.js';
import {
  BTF_SET8_KFUNCS, entriesInPatchOrder, scanBtfIds, setsInOrder, slotOffset,
  type AlignmentFix, type BtfIdsLayout, type BtfIdsScan, type IdEntry, type SetEntry,
} from './layout.js';
import { msortPermutation } from './sort.js';
import { ID_KINDS, type IdKind } from './symbols.js';

/** Kind codes as indexes: 0 for kinds resolve_btfids does not look at. */
const KIND_INDEX = new Uint8Array(BTF_KIND_SLOTS);
const INDEX_KIND: readonly (IdKind | undefined)[] = [undefined, 'func', 'struct', 'union', 'typedef'];
const KIND_INDEX_OF: Readonly<Record<IdKind, number>> = { func: 1, struct: 2, union: 3, typedef: 4 };
KIND_INDEX[BtfKind.Func] = 1;
KIND_INDEX[BtfKind.Struct] = 2;
KIND_INDEX[BtfKind.Union] = 3;
KIND_INDEX[BtfKind.Typedef] = 4;

/** Ids found for the entries of one layout against one BTF. */
export interface NameResolution {
  readonly ids: ReadonlyMap<IdEntry, number>;
  /** "multiple IDs" warnings, in type-id order. */
  readonly diagnostics: readonly Diagnostic[];
}

interface Layer {
  readonly btf: Btf;
  readonly dv: DataView;
  readonly le: boolean;
  readonly buf: Buffer;
}

function layersOf(btf: Btf): Layer[] {
  const chain: Btf[] = [];
  for (let b: Btf | undefined = btf; b !== undefined; b = b.base) chain.unshift(b);
  return chain.map((b) => ({ btf: b, dv: dataViewOf(b.bytes), le: b.littleEndian, buf: Buffer.from(b.bytes.buffer, b.bytes.byteOffset, b.bytes.byteLength) }));
}

/** The string-table byte at offset `off` (split-aware), or -1 when `off` is outside every table. */
function byteAt(layers: readonly Layer[], off: number): number {
  for (let i = layers.length - 1; i >= 0; i--) {
    const L = layers[i] as Layer;
    if (off < L.btf.startStrOff) continue;
    const rel = off - L.btf.startStrOff;
    if (rel >= L.btf.header.strLen) return -1;
    return L.buf[L.btf.strStart + rel] as number;
  }
  return -1;
}

/** Where a name offset points (libbpf btf__str_by_offset over the chain), or undefined. */
function nameSpan(layers: readonly Layer[], off: number): { layer: Layer; start: number; end: number } | undefined {
  for (let i = layers.length - 1; i >= 0; i--) {
    const L = layers[i] as Layer;
    if (off < L.btf.startStrOff) continue;
    const rel = off - L.btf.startStrOff;
    if (rel >= L.btf.header.strLen) return undefined;
    const start = L.btf.strStart + rel;
    const end = L.buf.indexOf(0, start);
    return { layer: L, start, end: end < 0 ? L.buf.length : end };
  }
  return undefined;
}

/** Ids of one layer's FUNC/STRUCT/UNION/TYPEDEF types by (kind, latin1 name); `bad`: ids whose name offset is invalid. */
interface LayerIndex {
  readonly byName: Record<IdKind, Map<string, number[]>>;
  readonly bad: Record<IdKind, number[]>;
}

/**
 * Big bases (vmlinux) are indexed on their second use, so a batch over many modules
 * pays one walk per base instead of one per module; a single run just walks.
 */
const INDEX_MIN_TYPES = 4096;
const layerIndexes = new WeakMap<Btf, { uses: number; index?: LayerIndex }>();

function buildLayerIndex(layers: readonly Layer[], li: number): LayerIndex {
  const L = layers[li] as Layer;
  const byName: Record<IdKind, Map<string, number[]>> = { struct: new Map(), union: new Map(), typedef: new Map(), func: new Map() };
  const bad: Record<IdKind, number[]> = { struct: [], union: [], typedef: [], func: [] };
  const chain = layers.slice(0, li + 1);
  const offs = L.btf.typeOffsets;
  for (let i = 0; i < offs.length; i++) {
    const rec = offs[i] as number;
    const k = INDEX_KIND[KIND_INDEX[infoKind(L.dv.getUint32(rec + 4, L.le))] as number];
    if (k === undefined) continue;
    const id = L.btf.startId + i;
    const where = nameSpan(chain, L.dv.getUint32(rec, L.le));
    if (where === undefined) {
      bad[k].push(id);
      continue;
    }
    const name = where.layer.buf.toString('latin1', where.start, where.end);
    const list = byName[k].get(name);
    if (list === undefined) byName[k].set(name, [id]);
    else list.push(id);
  }
  return { byName, bad };
}

function cachedIndex(layers: readonly Layer[], li: number): LayerIndex | undefined {
  const b = (layers[li] as Layer).btf;
  if (b.ownTypeCount < INDEX_MIN_TYPES) return undefined;
  let c = layerIndexes.get(b);
  if (c === undefined) {
    c = { uses: 0 };
    layerIndexes.set(b, c);
  }
  c.uses++;
  if (c.index === undefined && c.uses >= 2) c.index = buildLayerIndex(layers, li);
  return c.index;
}


/**
 * Wanted names by their first two bytes (latin1, as names are compared; a name's
 * terminating NUL counts, so `a` is (a, 0) and the empty name (0, 0)): bit `1 << kind
 * index` is set when a wanted name of that kind starts so.
 */
function prefixTable(layout: BtfIdsLayout): Uint8Array {
  const table = new Uint8Array(65536);
  for (const k of ID_KINDS) {
    const bit = 1 << KIND_INDEX_OF[k];
    for (const name of layout.ids[k].keys()) {
      const b0 = name.length > 0 ? name.charCodeAt(0) & 0xff : 0;
      const b1 = name.length > 1 ? name.charCodeAt(1) & 0xff : 0;
      table[(b0 << 8) | b1] = (table[(b0 << 8) | b1] as number) | bit;
    }
  }
  return table;
}

/**
 * One layer's types in id order, handing `visit` those whose kind is still wanted and
 * whose name could be a wanted one. In a single run this loop meets vmlinux's ~110k
 * types before V8 has optimised anything, so it reads bytes directly (no DataView
 * calls) and turns a name into a string only when its first two bytes and its length
 * match a wanted name.
 */
function walkLayer(
  layers: readonly Layer[], li: number, counters: Record<IdKind, number>, prefixes: Uint8Array,
  lengths: Record<IdKind, Set<number>>, visit: (k: IdKind, id: number, name: string) => void, malformed: (id: number) => Error,
): void {
  const L = layers[li] as Layer;
  const chain = layers.slice(0, li + 1);
  const buf = L.buf;
  const offs = L.btf.typeOffsets;
  const startId = L.btf.startId;
  const le = L.le;
  const kindAt = le ? 7 : 4;
  const ownFrom = L.btf.startStrOff;
  const ownEnd = ownFrom + L.btf.header.strLen;
  const ownStart = L.btf.strStart - ownFrom;
  const activeMask = (): number => ID_KINDS.reduce((m, k) => (counters[k] === 0 ? m : m | (1 << KIND_INDEX_OF[k])), 0);
  let active = activeMask();
  for (let i = 0; i < offs.length && active !== 0; i++) {
    const rec = offs[i] as number;
    const ki = KIND_INDEX[infoByteKind(buf[rec + kindAt] as number)] as number;
    const bit = 1 << ki;
    if ((active & bit) === 0) continue;
    const nameOff = le
      ? ((buf[rec] as number) | ((buf[rec + 1] as number) << 8) | ((buf[rec + 2] as number) << 16) | ((buf[rec + 3] as number) << 24)) >>> 0
      : (((buf[rec] as number) << 24) | ((buf[rec + 1] as number) << 16) | ((buf[rec + 2] as number) << 8) | (buf[rec + 3] as number)) >>> 0;
    let b0: number;
    let b1 = 0;
    if (nameOff >= ownFrom) {
      // Every table ends in NUL (checked when parsed), so an offset is valid iff in
      // range, and a non-NUL byte is followed by at least the terminator.
      if (nameOff >= ownEnd) throw malformed(startId + i);
      b0 = buf[ownStart + nameOff] as number;
      if (b0 !== 0) b1 = buf[ownStart + nameOff + 1] as number;
    } else {
      b0 = byteAt(chain, nameOff);
      if (b0 < 0) throw malformed(startId + i);
      if (b0 !== 0) b1 = byteAt(chain, nameOff + 1);
    }
    if (((prefixes[(b0 << 8) | b1] as number) & bit) === 0) continue;
    const k = INDEX_KIND[ki] as IdKind;
    const where = nameSpan(chain, nameOff);
    if (where === undefined) throw malformed(startId + i);
    if (!lengths[k].has(where.end - where.start)) continue;
    visit(k, startId + i, where.layer.buf.toString('latin1', where.start, where.end));
    if (counters[k] === 0) active = activeMask();
  }
}

/**
 * symbols_resolve(): the id of every (kind, name), lowest id first, with the
 * "multiple IDs" warnings resolve_btfids prints.
 */
export function resolveNames(layout: BtfIdsLayout, btf: Btf): NameResolution {
  const counters: Record<IdKind, number> = { ...layout.symbolCounts };
  const ids = new Map<IdEntry, number>();
  const diagnostics: Diagnostic[] = [];
  // Name lengths wanted per kind: most type names are rejected without decoding.
  const lengths: Record<IdKind, Set<number>> = { struct: new Set(), union: new Set(), typedef: new Set(), func: new Set() };
  for (const k of ID_KINDS) for (const name of layout.ids[k].keys()) lengths[k].add(name.length);
  const prefixes = prefixTable(layout);
  const malformed = (id: number): BtfIdsError =>
    new BtfIdsError('BTFIDS_MALFORMED_BTF', `type [${id}]: name offset outside the string sections`, msg.malformedName(id), { typeId: id, ...btfCtx(btf) }, diagnostics);
  // One type of kind k named `name` (undefined: invalid name offset), in id order.
  const visit = (k: IdKind, id: number, name: string | undefined): void => {
    if (counters[k] === 0) return;
    if (name === undefined) throw malformed(id);
    const entry = layout.ids[k].get(name);
    if (entry === undefined) return;
    const have = ids.get(entry);
    if (have !== undefined) {
      diagnostics.push({ level: 'warning', code: 'BTFIDS_MULTIPLE_IDS', message: msg.multipleIds(name, have, id), symbol: displayName(name) });
    } else {
      ids.set(entry, id);
      counters[k]--;
    }
  };

  const layers = layersOf(btf);
  for (let li = 0; li < layers.length; li++) {
    const L = layers[li] as Layer;
    const index = li < layers.length - 1 ? cachedIndex(layers, li) : undefined;
    if (index !== undefined) {
      const hits: { id: number; k: IdKind; name: string | undefined }[] = [];
      for (const k of ID_KINDS) {
        if (counters[k] === 0) continue;
        for (const name of layout.ids[k].keys()) for (const id of index.byName[k].get(name) ?? []) hits.push({ id, k, name });
        for (const id of index.bad[k]) hits.push({ id, k, name: undefined });
      }
      hits.sort((a, b) => a.id - b.id);
      for (const h of hits) visit(h.k, h.id, h.name);
      continue;
    }
    walkLayer(layers, li, counters, prefixes, lengths, visit, malformed);
  }
  return { ids, diagnostics };
}

function btfCtx(btf: Btf): { file?: string; section?: string } {
  const c: { file?: string; section?: string } = {};
  if (btf.source.file !== undefined) c.file = btf.source.file;
  if (btf.source.section !== undefined) c.section = btf.source.section;
  return c;
}

function swap32(mem: Uint8Array, at: number): void {
  const a = mem[at] as number;
  const b = mem[at + 1] as number;
  mem[at] = mem[at + 3] as number;
  mem[at + 1] = mem[at + 2] as number;
  mem[at + 2] = b;
  mem[at + 3] = a;
}

/** libelf's ELF_T_WORD conversion of a whole section (trailing bytes kept). */
function swapAllWords(mem: Uint8Array): void {
  const n = mem.length - (mem.length % 4);
  for (let at = 0; at < n; at += 4) swap32(mem, at);
}

interface SetGeometry {
  readonly set: SetEntry;
  /** Byte offset of the set header in the section. */
  readonly off: number;
  /** Bytes before the first element (4: cnt; 8: cnt + flags). */
  readonly head: number;
  /** Element size (4: id; 8: id + flags). */
  readonly elem: number;
}

function geometry(layout: BtfIdsLayout, set: SetEntry): SetGeometry {
  const off = slotOffset(layout, set.addr);
  return { set, off: off > BigInt(Number.MAX_SAFE_INTEGER) ? Number.MAX_SAFE_INTEGER : Number(off), head: set.kind === 'set' ? 4 : 8, elem: set.kind === 'set' ? 4 : 8 };
}

function setOutOfBounds(layout: BtfIdsLayout, g: SetGeometry, cnt: number, diagnostics: Diagnostic[]): BtfIdsError {
  const what = g.set.kind === 'set' ? 'BTF_SET' : 'BTF_SET8';
  return new BtfIdsError(
    'BTFIDS_SET_OUT_OF_BOUNDS',
    `${what} '${displayName(g.set.name)}' at offset ${g.off}: count ${cnt} (symbol size ${g.set.symbolSize}) reaches past the end of the ${layout.size}-byte ${BTF_IDS_SECTION} section (resolve_btfids sorts out of bounds and usually crashes)`,
    `FAILED set '${displayName(g.set.name)}': count ${cnt} does not fit ${BTF_IDS_SECTION} (${layout.size} bytes)`,
    { section: BTF_IDS_SECTION, offset: g.off, symbol: displayName(g.set.name) },
    diagnostics,
  );
}

export interface SimulateOptions {
  verbose?: number;
  /**
   * Byte order handling of a big-endian object (default 6): resolve_btfids 6.12 patches
   * host words through libelf's ELF_T_WORD conversion (only ids, counts and set8 flags
   * come out right); 7.x swaps every word to host order on load and back on dump.
   */
  abi?: 6 | 7;
}

/**
 * One resolve_btfids pass over `input` (the section's file bytes) with the ids in
 * `res`: returns the section's new file bytes and the diagnostics of the patch and
 * sort phases (unresolved warnings, -v lines).
 */
export function patchSection(layout: BtfIdsLayout, res: NameResolution, input: Uint8Array, opts: SimulateOptions = {}, prior: readonly Diagnostic[] = []): { bytes: Uint8Array; diagnostics: Diagnostic[] } {
  const verbose = opts.verbose ?? 0;
  const size = layout.size;
  if (input.length !== size) throw new RangeError(`patchSection: ${input.length} bytes given for a ${size}-byte section`);
  const mem = new Uint8Array(input);
  const dv = dataViewOf(mem);
  const swapBoth = (opts.abi ?? 6) === 7 && !layout.littleEndian;
  if (swapBoth) swapAllWords(mem);
  const diagnostics: Diagnostic[] = [];
  const failWith = (e: BtfIdsError): BtfIdsError => {
    e.diagnostics = [...prior, ...diagnostics];
    return e;
  };

  const patch = (addr: bigint, value: number, name: string): void => {
    const idx = slotOffset(layout, addr);
    if (verbose >= 1) diagnostics.push({ level: 'debug', code: 'BTFIDS_PATCH', message: msg.patching(idx, value, name), verbosity: 1, symbol: displayName(name) });
    if (idx >= BigInt(size)) {
      throw failWith(new BtfIdsError('BTFIDS_PATCH_OUT_OF_BOUNDS', `symbol for '${displayName(name)}' is at offset ${idx}, outside the ${size}-byte ${BTF_IDS_SECTION} section`, msg.patchOutOfBounds(idx, size), { section: BTF_IDS_SECTION, symbol: displayName(name) }));
    }
    const at = Number(idx) & ~3;
    if (at + 4 > size) {
      // resolve_btfids would write past the section into the next bytes of the file.
      throw failWith(new BtfIdsError('BTFIDS_PATCH_OUT_OF_BOUNDS', `symbol for '${displayName(name)}' at offset ${idx}: its 4-byte slot at ${at} reaches past the end of the ${size}-byte ${BTF_IDS_SECTION} section`, msg.patchOutOfBounds(idx, size), { section: BTF_IDS_SECTION, offset: at, symbol: displayName(name) }));
    }
    dv.setInt32(at, value, true);
  };

  for (const k of ID_KINDS) {
    for (const entry of entriesInPatchOrder(layout.ids[k])) {
      const id = res.ids.get(entry) ?? 0;
      if (id === 0) diagnostics.push({ level: 'warning', code: 'BTFIDS_UNRESOLVED', message: msg.unresolved(entry.name), symbol: displayName(entry.name) });
      for (const addr of entry.addrs) patch(addr, id, entry.name);
    }
  }
  const sets = setsInOrder(layout.sets);
  for (const set of sets) patch(set.addr, set.cnt, set.name);

  for (const set of sets) {
    const g = geometry(layout, set);
    const cnt = g.off + 4 <= size ? dv.getUint32(g.off, true) : 0;
    if (g.off + g.head + cnt * g.elem > size) throw failWith(setOutOfBounds(layout, g, cnt | 0, [...prior, ...diagnostics]));
    const base = g.off + g.head;
    const keys = new Int32Array(cnt);
    for (let i = 0; i < cnt; i++) keys[i] = dv.getInt32(base + i * g.elem, true);
    const perm = msortPermutation(keys);
    const old = mem.slice(base, base + cnt * g.elem);
    for (let k = 0; k < cnt; k++) mem.set(old.subarray((perm[k] as number) * g.elem, (perm[k] as number + 1) * g.elem), base + k * g.elem);
    if (set.kind === 'set8' && !layout.littleEndian && !swapBoth) {
      swap32(mem, g.off + 4);
      for (let i = 0; i < cnt; i++) swap32(mem, base + i * 8 + 4);
    }
    if (verbose >= 1) diagnostics.push({ level: 'debug', code: 'BTFIDS_SORT', message: msg.sorting(BigInt(g.off), cnt | 0, set.name), verbosity: 1, symbol: displayName(set.name) });
  }
  if (!layout.littleEndian) swapAllWords(mem);
  return { bytes: mem, diagnostics };
}

/** Slot (aligned byte offset) -> last value patched there, in patch order; undefined if a slot is out of bounds. */
function patchedSlots(layout: BtfIdsLayout, res: NameResolution): Map<number, number> | undefined {
  const slots = new Map<number, number>();
  const put = (addr: bigint, value: number): boolean => {
    const idx = slotOffset(layout, addr);
    if (idx >= BigInt(layout.size)) return false;
    const at = Number(idx) & ~3;
    if (at + 4 > layout.size) return false;
    slots.set(at, value | 0);
    return true;
  };
  for (const k of ID_KINDS) {
    for (const entry of entriesInPatchOrder(layout.ids[k])) {
      const id = res.ids.get(entry) ?? 0;
      for (const addr of entry.addrs) if (!put(addr, id)) return undefined;
    }
  }
  for (const set of setsInOrder(layout.sets)) if (!put(set.addr, set.cnt)) return undefined;
  return slots;
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && Buffer.compare(a, b) === 0;
}

/**
 * Undo an earlier resolve_btfids run: find the section P that resolve_btfids, run
 * with `res`, turns into `resolved` (P = the pristine layout: every set element back
 * in the slot its symbol points at, set8 flags with their own function). The sort
 * permutation of each set is recomputed from the ids the symbols get (holes count as
 * 0, as BTF_ID_UNUSED leaves them), inverted, and the candidate is verified by
 * running the patch again: undefined unless patchSection(P) reproduces `resolved`
 * byte for byte (a pristine section, or one resolved against other BTF, fails).
 */
export function recoverPristine(layout: BtfIdsLayout, res: NameResolution, resolved: Uint8Array, abi: 6 | 7 = 6): Uint8Array | undefined {
  const size = layout.size;
  if (resolved.length !== size) return undefined;
  const slots = patchedSlots(layout, res);
  if (slots === undefined) return undefined;
  const mem = new Uint8Array(resolved);
  if (!layout.littleEndian) swapAllWords(mem);
  const dv = dataViewOf(mem);
  const sets = setsInOrder(layout.sets);
  for (let s = sets.length - 1; s >= 0; s--) {
    const set = sets[s] as SetEntry;
    const g = geometry(layout, set);
    if (g.off % 4 !== 0 || g.off + 4 > size) return undefined;
    const cnt = dv.getUint32(g.off, true);
    if (cnt !== set.cnt >>> 0 || g.off + g.head + cnt * g.elem > size) return undefined;
    const base = g.off + g.head;
    if (set.kind === 'set8' && !layout.littleEndian && abi === 6) {
      swap32(mem, g.off + 4);
      for (let i = 0; i < cnt; i++) swap32(mem, base + i * 8 + 4);
    }
    const keys = new Int32Array(cnt);
    for (let j = 0; j < cnt; j++) keys[j] = slots.get(base + j * g.elem) ?? 0;
    const perm = msortPermutation(keys);
    const sorted = mem.slice(base, base + cnt * g.elem);
    for (let k = 0; k < cnt; k++) {
      if (dataViewOf(sorted).getInt32(k * g.elem, true) !== keys[perm[k] as number]) return undefined;
    }
    for (let k = 0; k < cnt; k++) mem.set(sorted.subarray(k * g.elem, (k + 1) * g.elem), base + (perm[k] as number) * g.elem);
  }
  // 7.x works on host-order words and swaps them back: so does the candidate.
  if (abi === 7 && !layout.littleEndian) swapAllWords(mem);
  try {
    const again = patchSection(layout, res, mem, { abi }).bytes;
    return sameBytes(again, resolved) ? mem : undefined;
  } catch {
    return undefined;
  }
}

/** True when no id or set-count slot holds a value yet (the section was never resolved). */
export function isUnresolved(layout: BtfIdsLayout, res: NameResolution, bytes: Uint8Array): boolean {
  const slots = patchedSlots(layout, res);
  if (slots === undefined) return false;
  const dv = dataViewOf(bytes);
  for (const at of slots.keys()) if (dv.getUint32(at, true) !== 0) return false;
  return true;
}

export interface ResolvedEntry {
  readonly kind: IdKind;
  /** Name as printed (UTF-8 decoded). */
  readonly name: string;
  /** 0 when unresolved. */
  readonly id: number;
  /** Aligned byte offsets of the entry's slots in `.BTF_ids`. */
  readonly offsets: readonly number[];
  /** The slots the kernel relocates at load: pairs of a BTF_KFUNCS set8. */
  readonly relocated: readonly boolean[];
}

export interface ResolveOptions {
  /** Collect debug diagnostics up to this resolve_btfids -v level (default 0). */
  verbose?: number;
  /** Which resolve_btfids' byte-order handling to reproduce (SimulateOptions.abi; default 6). */
  abi?: 6 | 7;
  /**
   * Recognise a section an earlier run already resolved with this BTF and resolve it
   * from its recovered pristine layout, so set8 flags stay with their functions and
   * a second run changes nothing (default true). false = resolve_btfids' behaviour.
   */
  recoverResolved?: boolean;
  /**
   * The BTF's base is a distilled base (`.BTF.base`): warn (extension diagnostics)
   * about ids the kernel will not relocate at load. Default: the object has `.BTF.base`.
   */
  distilled?: boolean;
  /** A scan of the same ElfFile (scanBtfIds), to avoid scanning twice. */
  scan?: BtfIdsScan;
  /**
   * Resolve from these section bytes instead of the object's current `.BTF_ids`
   * (same size; e.g. a recovered pristine layout). `changed` still compares with the
   * current contents.
   */
  input?: Uint8Array;
}

export interface ResolveResult {
  /** The `.BTF_ids` section; undefined when there is nothing to do. */
  readonly section: ElfSection | undefined;
  /** The section's new contents (same size as before); empty when there is nothing to do. */
  readonly sectionBytes: Uint8Array;
  /** sectionBytes differ from the current contents. */
  readonly changed: boolean;
  /** The input was an already resolved section whose pristine layout was recovered. */
  readonly recovered: boolean;
  /** The object has `.BTF.base` (resolve_btfids then ignores -b). */
  readonly hasBtfBase: boolean;
  /** Compressed-section alignment fixes resolve_btfids applies to section headers. */
  readonly alignmentFixes: readonly AlignmentFix[];
  /** Everything resolve_btfids prints, in its order, then modbtf's extension warnings. */
  readonly diagnostics: Diagnostic[];
  /** Per (kind, name): the id written and where. */
  readonly entries: readonly ResolvedEntry[];
}

/** Scan `elf` and resolve its `.BTF_ids` against `btf` (the object's final BTF). */
export function resolveBtfIds(elf: ElfFile, btf: Btf, opts: ResolveOptions = {}): ResolveResult {
  const scan = opts.scan ?? scanBtfIds(elf, { ...(opts.verbose === undefined ? {} : { verbose: opts.verbose }), abi: opts.abi ?? 6 });
  return resolveScanned(elf, scan, btf, opts);
}

/**
 * The resolution step alone, for callers that load the BTF between the symbol scan
 * and the resolution (as resolve_btfids does: symbol errors come first).
 */
export function resolveScanned(elf: ElfFile, scan: BtfIdsScan, btf: Btf, opts: ResolveOptions = {}): ResolveResult {
  const layout = scan.layout;
  const diagnostics: Diagnostic[] = [...scan.diagnostics];
  if (layout === undefined) {
    return { section: undefined, sectionBytes: new Uint8Array(0), changed: false, recovered: false, hasBtfBase: scan.hasBtfBase, alignmentFixes: scan.alignmentFixes, diagnostics, entries: [] };
  }
  let res: NameResolution;
  try {
    res = resolveNames(layout, btf);
  } catch (e: unknown) {
    if (e instanceof BtfIdsError) e.diagnostics = [...diagnostics, ...e.diagnostics];
    throw e;
  }
  diagnostics.push(...res.diagnostics);
  const current = elf.sectionData(layout.section);
  if (opts.input !== undefined && opts.input.length !== current.length) {
    throw new RangeError(`resolveScanned: input of ${opts.input.length} bytes for the ${current.length}-byte ${BTF_IDS_SECTION} section`);
  }
  let input = opts.input ?? current;
  let recovered = false;
  const extension: Diagnostic[] = [];
  // A section whose id and count slots are all 0 was never resolved: resolve_btfids' way.
  if (opts.input === undefined && (opts.recoverResolved ?? true) && !isUnresolved(layout, res, current)) {
    const pristine = recoverPristine(layout, res, current, opts.abi ?? 6);
    if (pristine !== undefined) {
      if (!sameBytes(pristine, current)) {
        input = pristine;
        recovered = true;
        if ((opts.verbose ?? 0) >= 1) extension.push({ level: 'debug', code: 'BTFIDS_RECOVERED', message: `${BTF_IDS_SECTION} was already resolved against this BTF: set elements are put back in their symbols' slots before resolving again`, verbosity: 1, extension: true });
      }
    } else {
      extension.push(...flagsLostWarnings(layout, current));
    }
  }
  const patched = patchSection(layout, res, input, { ...(opts.verbose === undefined ? {} : { verbose: opts.verbose }), abi: opts.abi ?? 6 }, diagnostics);
  diagnostics.push(...patched.diagnostics);
  const entries = describeEntries(layout, res, patched.bytes);
  if (opts.distilled ?? scan.hasBtfBase) extension.push(...notRelocatedWarnings(entries));
  diagnostics.push(...extension);
  return {
    section: layout.section,
    sectionBytes: patched.bytes,
    changed: !sameBytes(patched.bytes, current),
    recovered,
    hasBtfBase: scan.hasBtfBase,
    alignmentFixes: scan.alignmentFixes,
    diagnostics,
    entries,
  };
}

/** Set8 sets already holding ids that this BTF does not explain, with flags that differ between pairs. */
function flagsLostWarnings(layout: BtfIdsLayout, bytes: Uint8Array): Diagnostic[] {
  const out: Diagnostic[] = [];
  const dv = dataViewOf(bytes);
  const le = layout.littleEndian;
  for (const set of setsInOrder(layout.sets)) {
    if (set.kind !== 'set8' || set.cnt <= 0) continue;
    const g = geometry(layout, set);
    if (g.off % 4 !== 0 || g.off + 8 + set.cnt * 8 > layout.size) continue;
    const flags = new Set<number>();
    let ids = false;
    for (let i = 0; i < set.cnt; i++) {
      if (dv.getUint32(g.off + 8 + i * 8, le) !== 0) ids = true;
      flags.add(dv.getUint32(g.off + 12 + i * 8, le));
    }
    if (ids && flags.size > 1) {
      out.push({
        level: 'warning', code: 'BTFIDS_SET8_FLAGS_LOST', extension: true, symbol: displayName(set.name), offset: g.off,
        message: `WARN: modbtf: set8 ${displayName(set.name)} was already resolved against other BTF: its pairs are sorted by ids this BTF does not give, so the flags cannot be matched to their functions again and may now belong to other kfuncs`,
      });
    }
  }
  return out;
}

/** Where each resolved entry landed, and which of its slots the kernel relocates. */
function describeEntries(layout: BtfIdsLayout, res: NameResolution, out: Uint8Array): ResolvedEntry[] {
  const dv = dataViewOf(out);
  const le = layout.littleEndian;
  // Id words of BTF_KFUNCS pairs (header flag BTF_SET8_KFUNCS), in the output layout.
  const kfuncSlots = new Set<number>();
  for (const set of layout.sets.values()) {
    if (set.kind !== 'set8' || set.cnt <= 0) continue;
    const g = geometry(layout, set);
    if (g.off % 4 !== 0 || g.off + 8 + set.cnt * 8 > layout.size) continue;
    if ((dv.getUint32(g.off + 4, le) & BTF_SET8_KFUNCS) === 0) continue;
    for (let i = 0; i < set.cnt; i++) kfuncSlots.add(g.off + 8 + i * 8);
  }
  const entries: ResolvedEntry[] = [];
  for (const k of ID_KINDS) {
    for (const entry of entriesInPatchOrder(layout.ids[k])) {
      const offsets = entry.addrs.map((a) => Number(slotOffset(layout, a)) & ~3);
      entries.push({ kind: k, name: displayName(entry.name), id: res.ids.get(entry) ?? 0, offsets, relocated: offsets.map((o) => kfuncSlots.has(o)) });
    }
  }
  return entries;
}

function notRelocatedWarnings(entries: readonly ResolvedEntry[]): Diagnostic[] {
  const out: Diagnostic[] = [];
  for (const e of entries) {
    if (e.id === 0) continue;
    const offs = e.offsets.filter((_, i) => !e.relocated[i]);
    if (offs.length === 0) continue;
    out.push({
      level: 'warning', code: 'BTFIDS_NOT_RELOCATED', extension: true, symbol: e.name, offset: offs[0] as number,
      message: `WARN: modbtf: ${e.kind} ${e.name} = ${e.id} (distilled-base numbering) at ${BTF_IDS_SECTION}+${offs.map((o) => `0x${o.toString(16)}`).join(', +')} is not relocated by the kernel at module load (only BTF_KFUNCS sets and dtor ids are): on any kernel other than the build kernel it names another type`,
    });
  }
  return out;
}
