/**
 * One unit of .debug_info: its header (libdw __libdw_next_unit), its abbreviation
 * table, the bases its unit DIE sets for indexed forms, and — built on first use — an
 * index of its DIEs in typed arrays (offset, abbrev, parent, next sibling), so a whole
 * unit's tree can be walked without decoding an attribute.
 */
import type { Abbrev, AbbrevLayout, AbbrevTable } from './abbrev.js';
import {
  DW_AT_addr_base, DW_AT_entry_pc, DW_AT_GNU_addr_base, DW_AT_GNU_dwo_id, DW_AT_GNU_dwo_name, DW_AT_GNU_ranges_base,
  DW_AT_loclists_base, DW_AT_rnglists_base, DW_AT_str_offsets_base, DW_FORM_implicit_const, DW_FORM_indirect,
  DW_TAG_compile_unit, DW_TAG_partial_unit, DW_TAG_type_unit, DW_UT_partial, DW_UT_skeleton, DW_UT_split_compile, DW_UT_type,
} from './constants.js';
import { Cursor } from './cursor.js';
import type { Dwarf } from './dwarf.js';
import { fixedFormSize, FORM_UNKNOWN, FORM_VARIABLE } from './forms.js';
import type { DwarfSection } from './sections.js';

/** The unit header, as dwarf_next_unit / dwarf_cu_die report it. */
export interface UnitHeader {
  /** Offset of the unit header in .debug_info. */
  readonly offset: number;
  /** Offset just past the unit (the next unit's header). */
  readonly end: number;
  readonly version: number;
  /** DW_UT_* (v5 header field; DW_UT_compile for earlier versions, as libdw reports). */
  readonly unitType: number;
  readonly addressSize: number;
  /** 4 (32-bit DWARF) or 8 (64-bit DWARF). */
  readonly offsetSize: number;
  readonly abbrevOffset: number;
  /** Bytes from `offset` to the unit DIE. */
  readonly headerSize: number;
  /** Type signature (type units) or DWO id (skeleton / split units); 0n otherwise. */
  readonly unitId: bigint;
  /** Type units: offset of the type DIE from the unit start; 0 otherwise. */
  readonly typeOffset: number;
}

/** Scratch arrays buildIndex fills before copying out an exact-length index. */
export interface IndexScratch {
  offsets: Uint32Array;
  abbrevs: Uint32Array;
  parents: Int32Array;
  siblings: Int32Array;
}

/** Typed-array index of a unit's DIEs, in DIE order (index 0 is the unit DIE). */
export class DieIndex {
  readonly count: number;
  /** .debug_info offset of each DIE. */
  readonly offsets: Uint32Array;
  /** Position of each DIE's abbrev in the unit's table (AbbrevTable.abbrevs). */
  readonly abbrevs: Uint16Array | Uint32Array;
  /** Index of the parent DIE, -1 for top-level DIEs. */
  readonly parents: Int32Array;
  /** Index of the next sibling, -1 for the last child. */
  readonly siblings: Int32Array;

  constructor(count: number, offsets: Uint32Array, abbrevs: Uint16Array | Uint32Array, parents: Int32Array, siblings: Int32Array) {
    this.count = count;
    this.offsets = offsets;
    this.abbrevs = abbrevs;
    this.parents = parents;
    this.siblings = siblings;
  }

  /** Index of the DIE at `offset`, -1 when no DIE starts there. */
  indexOf(offset: number): number {
    const o = this.offsets;
    let lo = 0;
    let hi = this.count - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      const v = o[mid] as number;
      if (v === offset) return mid;
      if (v < offset) lo = mid + 1;
      else hi = mid - 1;
    }
    return -1;
  }

  /** Index of the first child of DIE i, or -1. */
  firstChild(i: number): number {
    return i + 1 < this.count && this.parents[i + 1] === i ? i + 1 : -1;
  }
}

export class DwarfUnit implements UnitHeader {
  readonly dwarf: Dwarf;
  /** Position among the units of .debug_info. */
  readonly ordinal: number;
  readonly offset: number;
  readonly end: number;
  readonly version: number;
  readonly addressSize: number;
  readonly offsetSize: number;
  readonly abbrevOffset: number;
  readonly headerSize: number;
  readonly typeOffset: number;
  private uType: number;
  private uId: bigint;
  private table: AbbrevTable | undefined;
  private layoutCache: AbbrevLayout | undefined;
  /** @internal Managed by Dwarf's index cache. */
  cachedIndex: DieIndex | undefined;
  private bases: { str?: number; addr?: number; ranges?: number; locs?: number; base?: bigint } = {};

  constructor(dwarf: Dwarf, ordinal: number, h: UnitHeader) {
    this.dwarf = dwarf;
    this.ordinal = ordinal;
    this.offset = h.offset;
    this.end = h.end;
    this.version = h.version;
    this.uType = h.unitType;
    this.addressSize = h.addressSize;
    this.offsetSize = h.offsetSize;
    this.abbrevOffset = h.abbrevOffset;
    this.headerSize = h.headerSize;
    this.uId = h.unitId;
    this.typeOffset = h.typeOffset;
  }

  /**
   * DW_UT_*: the DWARF 5 header's; for earlier versions what libdw makes of the unit DIE
   * (libdw_findcu.c): partial_unit, type_unit, a compile_unit with DW_AT_GNU_dwo_id is a
   * skeleton (no children, DW_AT_GNU_dwo_name) or split unit, else compile.
   */
  get unitType(): number { return this.uType; }
  /** Type signature (type units) or DWO id (skeleton / split units); 0n otherwise. */
  get unitId(): bigint { return this.uId; }

  /** @internal libdw's guess of a pre-DWARF-5 unit's type from its unit DIE. */
  refineUnitType(): void {
    if (this.version >= 5 || this.dieOffset >= this.end) return;
    const d = this.dwarf;
    const die = this.dieOffset;
    if (d.infoOf(this).data[die] === 0) return;
    const tag = d.tag(die);
    if (tag === DW_TAG_partial_unit) this.uType = DW_UT_partial;
    else if (tag === DW_TAG_type_unit) this.uType = DW_UT_type;
    else if (tag === DW_TAG_compile_unit) {
      const id = d.hasAttr(die, DW_AT_GNU_dwo_id) ? d.attrUdata(die, DW_AT_GNU_dwo_id) : undefined;
      if (id !== undefined) {
        this.uType = !d.hasChildren(die) && d.hasAttr(die, DW_AT_GNU_dwo_name) ? DW_UT_skeleton : DW_UT_split_compile;
        this.uId = id;
      }
    }
  }

  /** Offset of the unit DIE (the root of the unit's tree). */
  get dieOffset(): number { return this.offset + this.headerSize; }

  /**
   * The unit's abbreviation table. A unit holds it only while its DIE index is cached (see
   * pin): a module walked unit by unit would otherwise keep every unit's table to the end
   * (xfs.ko: ~36k Abbrev objects and 20 MB of typed arrays live across all its CUs, which
   * V8 multiplies into its old-generation limit).
   */
  get abbrevs(): AbbrevTable {
    return this.table ?? this.dwarf.abbrevTable(this.abbrevOffset, this);
  }

  /** @internal The value layout of this unit's abbreviations (see AbbrevTable.layoutFor). */
  layout(): AbbrevLayout {
    const hit = this.layoutCache;
    if (hit !== undefined) return hit;
    const l = this.abbrevs.layoutFor(this);
    if (this.table !== undefined) this.layoutCache = l;
    return l;
  }

  /** @internal Dwarf's index cache took this unit in: keep its table at hand. */
  pin(): void {
    this.table ??= this.dwarf.abbrevTable(this.abbrevOffset, this);
  }

  /** @internal Dwarf's index cache let this unit go: drop what was kept for it. */
  release(): void {
    this.cachedIndex = undefined;
    this.table = undefined;
    this.layoutCache = undefined;
  }

  /** The DIE index, built on first use (Dwarf keeps a few of them; see DwarfOptions.indexCache). */
  index(): DieIndex {
    return this.dwarf.unitIndex(this);
  }

  /** @internal One pass over the unit's DIEs. */
  buildIndex(): DieIndex {
    const d = this.dwarf;
    const info = d.infoOf(this);
    const bytes = info.data;
    const table = this.abbrevs;
    const end = this.end;
    // Built in the Dwarf's scratch arrays (grown as needed, reused for every unit), then
    // copied out at the exact length: indexing a module leaves no oversized arrays behind.
    const sc = d.indexScratch(Math.max(16, Math.ceil((end - this.dieOffset) / 12)));
    let { offsets, abbrevs, parents, siblings } = sc;
    let cap = offsets.length;
    const stack: number[] = [];
    // prev[level]: last DIE seen at that level, to link siblings.
    const prev: number[] = [-1];
    let n = 0;
    let pos = this.dieOffset;
    const c = new Cursor(info, d.littleEndian, d.file, pos, end);
    while (pos < end) {
      // Abbreviation code, ULEB128 (one byte nearly always).
      let code = bytes[pos] as number;
      let after = pos + 1;
      if (code >= 0x80) {
        c.pos = pos;
        c.die = pos;
        code = c.uleb('abbreviation code');
        after = c.pos;
      }
      if (code === 0) {
        // End of a sibling list; at the top level, the end of the unit's DIEs (libdw dwarf_siblingof).
        if (stack.length === 0) break;
        stack.pop();
        prev.pop();
        pos = after;
        continue;
      }
      const abbrev = table.byCode(code);
      if (abbrev === undefined) {
        throw d.error('DWARF_BAD_ABBREV_CODE', `abbreviation code ${code} is not in the table at .debug_abbrev offset ${table.offset}`, '.debug_info', pos, pos);
      }
      if (n === cap) {
        cap *= 2;
        offsets = grow(offsets, cap);
        abbrevs = grow(abbrevs, cap);
        parents = grow(parents, cap);
        siblings = grow(siblings, cap);
        d.keepIndexScratch({ offsets, abbrevs, parents, siblings });
      }
      offsets[n] = pos;
      abbrevs[n] = abbrev.index;
      parents[n] = stack.length === 0 ? -1 : (stack[stack.length - 1] as number);
      siblings[n] = -1;
      const level = prev.length - 1;
      const before = prev[level] as number;
      if (before >= 0) siblings[before] = n;
      prev[level] = n;
      pos = this.skipAttributes(abbrev, after, pos, c);
      if (abbrev.hasChildren) {
        stack.push(n);
        prev.push(-1);
      }
      n++;
    }
    // Abbrev positions fit 16 bits in every real table.
    const small = table.abbrevs.length <= 0xffff;
    return new DieIndex(n, offsets.slice(0, n), small ? Uint16Array.from(abbrevs.subarray(0, n)) : abbrevs.slice(0, n), parents.slice(0, n), siblings.slice(0, n));
  }

  /** Position just past the attribute values of a DIE whose values start at `pos`. */
  skipAttributes(abbrev: Abbrev, pos: number, die: number, c: Cursor): number {
    const { layout, sizes } = this.layout();
    const nAttrs = abbrev.count;
    const base = abbrev.first + abbrev.index;
    const fixed = layout[base + nAttrs] as number;
    if (fixed >= 0) {
      const next = pos + fixed;
      if (next > this.end) throw this.dwarf.error('DWARF_TRUNCATED', `DIE attributes (${fixed} bytes) run past the end of the unit at ${this.end}`, '.debug_info', pos, die);
      return next;
    }
    // Skip the fixed-size prefix at once, then value by value.
    let k = 0;
    while (k < nAttrs && (layout[base + k + 1] as number) >= 0) k++;
    let at = pos + (layout[base + k] as number);
    c.die = die;
    for (; k < nAttrs; k++) {
      const size = sizes[abbrev.first + k] as number;
      if (size >= 0) {
        at += size;
        if (at > this.end) throw c.fail('DWARF_TRUNCATED', `attribute value (${size} bytes) runs past the end of the unit at ${this.end}`, at - size);
      } else {
        at = this.skipValue(abbrev.formAt(k), at, c);
      }
    }
    return at;
  }

  /** Position just past one value of `form` at `pos`. */
  skipValue(form: number, pos: number, c: Cursor): number {
    const size = fixedFormSize(form, this);
    if (size >= 0) {
      const next = pos + size;
      if (next > this.end) throw c.fail('DWARF_TRUNCATED', `attribute value (${size} bytes) runs past the end of the unit at ${this.end}`, pos);
      return next;
    }
    if (size === FORM_UNKNOWN) throw c.fail('DWARF_BAD_FORM', `unknown attribute form 0x${form.toString(16)}`, pos);
    c.pos = pos;
    c.end = this.end;
    valueLength(form, c, this);
    return c.pos;
  }

  private scratch: Cursor | undefined;

  /** @internal Drops the scratch cursor (it holds a buffer a windowed .debug_info has left). */
  forgetCursor(): void {
    this.scratch = undefined;
  }

  /**
   * A cursor over this unit's bytes at `pos`. It is the unit's one scratch cursor, reset on
   * every call: callers read what they need from it before calling anything else that may
   * ask for it again.
   */
  cursor(pos: number, die?: number): Cursor {
    let c = this.scratch;
    const info = this.dwarf.infoOf(this);
    if (c === undefined) c = this.scratch = new Cursor(info, this.dwarf.littleEndian, this.dwarf.file, pos, this.end);
    // Not the buffer it was made over: a windowed .debug_info starts new ones (and the old
    // one must not stay reachable from every unit).
    if (c.bytes !== info.data) { c.sec = info; c.bytes = info.data; c.view = info.view; }
    c.pos = pos;
    c.end = this.end;
    c.die = die;
    return c;
  }

  // --- Bases the unit DIE sets (libdw libdwP.h, elfutils 0.196) ---

  /** __libdw_cu_str_off_base: DW_AT_str_offsets_base, else (DWARF 5) past the first .debug_str_offsets header. */
  strOffsetsBase(): number {
    if (this.bases.str !== undefined) return this.bases.str;
    let off = this.dwarf.tryUdata(this.dieOffset, DW_AT_str_offsets_base);
    if (off === undefined) {
      off = 0;
      const sec = this.version >= 5 ? this.dwarf.section('.debug_str_offsets', this.dieOffset) : undefined;
      if (sec !== undefined) off = strOffsetsHeaderEnd(sec, this.dwarf.littleEndian);
    }
    this.bases.str = off;
    return off;
  }

  /** __libdw_cu_addr_base: DW_AT_GNU_addr_base or DW_AT_addr_base, else 0. */
  addrBase(): number {
    if (this.bases.addr !== undefined) return this.bases.addr;
    const die = this.dieOffset;
    const at = this.dwarf.hasAttr(die, DW_AT_GNU_addr_base) ? DW_AT_GNU_addr_base : DW_AT_addr_base;
    this.bases.addr = this.dwarf.tryUdata(die, at) ?? 0;
    return this.bases.addr;
  }

  /** __libdw_cu_ranges_base: DWARF 5 DW_AT_rnglists_base (or the first table's offsets), DWARF 4 DW_AT_GNU_ranges_base. */
  rangesBase(): number {
    if (this.bases.ranges !== undefined) return this.bases.ranges;
    let off = 0;
    if (this.version < 5) {
      off = this.dwarf.tryUdata(this.dieOffset, DW_AT_GNU_ranges_base) ?? 0;
    } else {
      off = this.dwarf.tryUdata(this.dieOffset, DW_AT_rnglists_base) ?? 0;
      const sec = this.dwarf.section('.debug_rnglists', this.dieOffset);
      if (off === 0 && sec !== undefined) off = listsHeaderEnd(sec, this.dwarf.littleEndian);
    }
    this.bases.ranges = off;
    return off;
  }

  /** __libdw_cu_locs_base: DW_AT_loclists_base, else the first .debug_loclists table's offsets. */
  locsBase(): number {
    if (this.bases.locs !== undefined) return this.bases.locs;
    let off = this.dwarf.tryUdata(this.dieOffset, DW_AT_loclists_base) ?? 0;
    const sec = this.dwarf.section('.debug_loclists', this.dieOffset);
    if (off === 0 && sec !== undefined) off = listsHeaderEnd(sec, this.dwarf.littleEndian);
    this.bases.locs = off;
    return off;
  }

  /** __libdw_cu_base_address: the unit DIE's DW_AT_low_pc, else DW_AT_entry_pc, else 0. */
  baseAddress(): bigint {
    if (this.bases.base !== undefined) return this.bases.base;
    const die = this.dieOffset;
    let base = this.dwarf.lowPc(die);
    if (base === undefined) base = this.dwarf.attr(die, DW_AT_entry_pc)?.addr();
    this.bases.base = base ?? 0n;
    return this.bases.base;
  }
}

function grow<T extends Uint32Array | Int32Array>(a: T, cap: number): T {
  const b = new (a.constructor as new (n: number) => T)(cap);
  b.set(a);
  return b;
}

/**
 * Reads past one variable-size value of `form` at c.pos (libdw __libdw_form_val_compute_len).
 * DW_FORM_indirect reads the real form first; indirect-to-indirect and indirect
 * implicit_const are malformed, as in libdw.
 */
export function valueLength(form: number, c: Cursor, u: { addressSize: number; offsetSize: number; version: number }): void {
  switch (form) {
    case 0x08: { // DW_FORM_string
      const nul = c.bytes.indexOf(0, c.pos);
      if (nul < 0 || nul >= c.end) throw c.fail('DWARF_TRUNCATED', 'DW_FORM_string is not NUL-terminated before the end of the unit');
      c.pos = nul + 1;
      return;
    }
    case 0x0a: { const n = c.u8('block1 length'); c.need(n, 'block1'); c.pos += n; return; }
    case 0x03: { const n = c.u16('block2 length'); c.need(n, 'block2'); c.pos += n; return; }
    case 0x04: { const n = c.u32('block4 length'); c.need(n, 'block4'); c.pos += n; return; }
    case 0x09: case 0x18: { const n = c.uleb('block length'); c.need(n, 'block'); c.pos += n; return; }
    case DW_FORM_indirect: {
      const real = c.uleb('indirect form');
      if (real === DW_FORM_indirect || real === DW_FORM_implicit_const) throw c.fail('DWARF_BAD_FORM', `DW_FORM_indirect names form 0x${real.toString(16)}`);
      const size = fixedFormSize(real, u);
      if (size === FORM_UNKNOWN) throw c.fail('DWARF_BAD_FORM', `unknown attribute form 0x${real.toString(16)} (through DW_FORM_indirect)`);
      if (size === FORM_VARIABLE) { valueLength(real, c, u); return; }
      c.need(size, 'attribute value');
      c.pos += size;
      return;
    }
    default:
      // The LEB128 forms: udata, sdata, ref_udata, strx, addrx, loclistx, rnglistx, GNU indexes.
      c.skipLeb('attribute value');
  }
}

/**
 * The initial length at the start of `sec` (32-bit, or 0xffffffff and 64-bit) and where the
 * header goes on after it (4 or 12); a length that does not fit a safe integer reads as
 * MAX_SAFE_INTEGER. Undefined when the section is too short to hold it.
 */
function initialLength(sec: DwarfSection, le: boolean): { len: number; at: number } | undefined {
  const d = sec.data;
  const v = sec.view;
  if (d.length < 4) return undefined;
  const len = v.getUint32(0, le);
  if (len !== 0xffffffff) return { len, at: 4 };
  if (d.length < 12) return undefined;
  const hi = v.getUint32(le ? 8 : 4, le);
  return { len: hi !== 0 ? Number.MAX_SAFE_INTEGER : v.getUint32(le ? 4 : 8, le), at: 12 };
}

/** Offset past a DWARF 5 .debug_str_offsets header at the section start (libdw str_offsets_base_off), else 0. */
function strOffsetsHeaderEnd(sec: DwarfSection, le: boolean): number {
  const d = sec.data;
  const v = sec.view;
  const head = initialLength(sec, le);
  if (head === undefined) return 0;
  const { len, at } = head;
  if (d.length - at < 4 || len < 4 || d.length - at < len) return 0;
  if (v.getUint16(at, le) !== 5) return 0;
  return at + 4;
}

/** Offset of the offset array of the first .debug_rnglists/.debug_loclists table (libdw), else 0. */
function listsHeaderEnd(sec: DwarfSection, le: boolean): number {
  const d = sec.data;
  const v = sec.view;
  const head = initialLength(sec, le);
  if (head === undefined) return 0;
  const { len, at } = head;
  const offsetSize = at === 12 ? 8 : 4;
  if (at > d.length - 8 || len < 8 || len > d.length - at) return 0;
  if (v.getUint16(at, le) !== 5) return 0;
  const addressSize = d[at + 2] as number;
  if (addressSize !== 4 && addressSize !== 8) return 0;
  if (d[at + 3] !== 0) return 0;
  const count = v.getUint32(at + 4, le);
  if (count === 0) return 0;
  if (len - 8 < count * offsetSize) return 0;
  return at + 8;
}
