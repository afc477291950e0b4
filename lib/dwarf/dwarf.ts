/**
 * Dwarf: the DWARF of one ELF file (a kernel module, a .o), read as libdw reads it
 * after libdwfl prepared it — what pahole's dwarf_loader sees.
 *
 * Lazy and indexed like lib/btf: opening parses nothing but section headers; the unit
 * headers are read in one pass on first use; a unit's DIEs are indexed in typed arrays
 * when that unit is first walked (a few indexes are kept, so a whole module can be
 * walked unit by unit in bounded memory); attributes are decoded only when asked for.
 * A DIE is named by its .debug_info offset (a number), as libdw's dwarf_dieoffset does.
 */
import { ET_REL } from '../elf/constants.js';
import type { ElfFile } from '../elf/file.js';
import { AbbrevTable, parseAbbrevTable, type Abbrev } from './abbrev.js';
import { DwarfAttribute } from './attribute.js';
import {
  DW_AT_entry_pc, DW_AT_high_pc, DW_AT_low_pc, DW_FORM_data1, DW_FORM_data2, DW_FORM_GNU_str_index, DW_FORM_implicit_const,
  DW_FORM_indirect, DW_FORM_string, DW_FORM_strp, DW_FORM_strx, DW_FORM_strx1, DW_FORM_strx2, DW_FORM_strx3, DW_FORM_strx4,
  DW_FORM_udata, DW_UT_compile,
  DW_UT_skeleton, DW_UT_split_compile, DW_UT_split_type, DW_UT_type,
} from './constants.js';
import { Cursor, sectionString } from './cursor.js';
import { isModbtfError, ModbtfError } from '../errors.js';
import { dwarfError } from './errors.js';
import { offlineSectionAddresses, PAHOLE_OFFLINE_BASE } from './layout.js';
import { badRelocationTarget, canonicalDebugName, DwarfSections, WindowedSection, type DwarfSection, type DwarfSectionName, type ElfByteSource } from './sections.js';
import { DieIndex, DwarfUnit, type IndexScratch, type UnitHeader } from './unit.js';
import type { DwarfOp } from './expr.js';
import { getLocation, getLocations, getRanges, type DwarfLocation, type DwarfRange } from './lists.js';
import { unitFiles, type LineFiles } from './lines.js';

/** Abbreviation tables kept beyond the indexed units' (see Dwarf.abbrevTable). */
const ABBREV_TABLES_KEPT = 4;

export interface DwarfOptions {
  /** Path for error messages (default: the ElfFile's). */
  file?: string;
  /**
   * Where libdwfl starts the section layout of a relocatable file: 0x10000 for pahole
   * (the default, PAHOLE_OFFLINE_BASE), 0 for eu-readelf (READELF_OFFLINE_BASE).
   */
  base?: bigint;
  /**
   * A relocation type elfutils does not know for the machine: 'error' (default) or
   * 'skip' (leave it, as libdwfl does); 'lenient' also leaves records that cannot be
   * applied (only to locate a bad one's DIE).
   */
  unknownRelocations?: 'error' | 'skip' | 'lenient';
  /** How many units' DIE indexes to keep (default 8; 0 = all). */
  indexCache?: number;
  /** @internal Section bytes read on demand (openDwarfFile). */
  source?: ElfByteSource;
  /**
   * With `source`: read .debug_info a unit at a time, holding about this many bytes of it
   * (lib/dwarf WindowedSection), for a caller that goes through the units in order.
   */
  windowInfo?: number;
}

/** True when the file has a .debug_info section libdw would read. */
export function hasDwarf(elf: ElfFile): boolean {
  return new DwarfSections(elf, { addresses: new BigUint64Array(elf.sections.length) }).has('.debug_info');
}

/** The DWARF of an ELF file; DwarfFormatError DWARF_MISSING when it has no .debug_info. */
export function openDwarf(elf: ElfFile, opts: DwarfOptions = {}): Dwarf {
  return new Dwarf(elf, opts);
}

export class Dwarf {
  readonly elf: ElfFile;
  readonly file: string | undefined;
  readonly littleEndian: boolean;
  /** Section addresses libdwfl's ET_REL layout gives (index = ELF section index). */
  readonly sectionAddresses: BigUint64Array;
  readonly sections: DwarfSections;
  private infoSection: DwarfSection | undefined;
  /** .debug_info when it is read a range at a time (DwarfOptions.windowInfo). */
  private window: WindowedSection | undefined;
  private unitList: DwarfUnit[] | undefined;
  private readonly abbrevCache = new Map<number, AbbrevTable>();
  private sig8: Map<bigint, DwarfUnit> | undefined;
  private lastUnit: DwarfUnit | undefined;
  private readonly indexed: DwarfUnit[] = [];
  private readonly indexCache: number;

  private readonly opts: DwarfOptions;

  constructor(elf: ElfFile, opts: DwarfOptions = {}) {
    this.elf = elf;
    this.opts = opts;
    this.file = opts.file ?? elf.file;
    this.littleEndian = elf.littleEndian;
    this.sectionAddresses = offlineSectionAddresses(elf, opts.base ?? PAHOLE_OFFLINE_BASE);
    const load: { addresses: BigUint64Array; unknownRelocations?: 'error' | 'skip' | 'lenient'; source?: ElfByteSource; windowInfo?: number } = { addresses: this.sectionAddresses };
    if (opts.unknownRelocations !== undefined) load.unknownRelocations = opts.unknownRelocations;
    if (opts.source !== undefined) load.source = opts.source;
    if (opts.windowInfo !== undefined) load.windowInfo = opts.windowInfo;
    this.sections = new DwarfSections(elf, load);
    if (!this.sections.has('.debug_info')) {
      throw dwarfError('DWARF_MISSING', 'no .debug_info section (the module was built without CONFIG_DEBUG_INFO, or stripped)', { file: this.file });
    }
    this.indexCache = opts.indexCache ?? 8;
  }

  /** True when libdwfl relocates this file (ET_REL). */
  get relocatable(): boolean { return this.elf.type === ET_REL; }

  /** .debug_info, decompressed and relocated (loaded on first use). */
  get info(): DwarfSection {
    if (this.infoSection === undefined) {
      let s: DwarfSection | undefined;
      try {
        s = this.sections.get('.debug_info');
      } catch (err: unknown) {
        throw this.namingBadRelocationDie(err);
      }
      if (s === undefined) throw dwarfError('DWARF_MISSING', 'no .debug_info section', { file: this.file });
      if (s instanceof WindowedSection) {
        s.onNewBuffer = () => { for (const u of this.unitList ?? []) u.forgetCursor(); };
        this.window = s;
      }
      this.infoSection = s;
    }
    return this.infoSection;
  }

  /**
   * .debug_info with `u`'s bytes in `data` (read them through this, or through `info` after
   * this: a windowed .debug_info holds only some units at a time).
   */
  infoOf(u: DwarfUnit): DwarfSection {
    return this.infoRange(u.offset, u.end);
  }

  private infoRange(start: number, end: number): DwarfSection {
    const info = this.infoSection ?? this.info;
    const w = this.window;
    if (w !== undefined) {
      try {
        w.ensure(start, end);
      } catch (err: unknown) {
        throw this.namingBadRelocationDie(err);
      }
    }
    return info;
  }

  /** `err` from relocating .debug_info, with the DIE its bad relocation would patch when that can be told. */
  private namingBadRelocationDie(err: unknown): unknown {
    if (err instanceof ModbtfError && err.context.die === undefined) {
      const die = this.dieOfBadRelocation(err);
      if (die !== undefined) err.withContext({ die });
    }
    return err;
  }

  /**
   * The DIE a relocation of .debug_info that cannot be applied would patch: .debug_info read
   * again with every bad record left out, and the last DIE that starts at or before the
   * patched offset in the unit that holds it. Undefined when that cannot be told.
   */
  private dieOfBadRelocation(err: unknown): number | undefined {
    const at = badRelocationTarget(err);
    if (at === undefined || canonicalDebugName(at.section) !== '.debug_info') return undefined;
    try {
      const { windowInfo: _whole, ...opts } = this.opts;
      const d = new Dwarf(this.elf, { ...opts, unknownRelocations: 'lenient', indexCache: 1 });
      const u = d.units.find((x) => x.offset <= at.offset && at.offset < x.end);
      if (u === undefined || at.offset < u.dieOffset) return undefined;
      const idx = u.index();
      let die: number | undefined;
      for (let i = 0; i < idx.count && (idx.offsets[i] as number) <= at.offset; i++) die = idx.offsets[i] as number;
      return die;
    } catch (e: unknown) {
      // Past the end of .debug_info: the section was cut short, and the unit says where.
      if (e instanceof ModbtfError && e.code === 'DWARF_TRUNCATED' && at.offset >= this.sections.elfSectionSize('.debug_info')) return e.context.die;
      // The DWARF is broken in more ways than this relocation: say what is known.
      return undefined;
    }
  }

  /**
   * A debug section's final bytes, or undefined when the file has none. Sections are read,
   * decompressed and relocated on first use: `die`, the DIE being read, goes into the
   * context of an error doing that (a bad relocation of .debug_line names the DIE whose
   * DW_AT_stmt_list needed it).
   */
  section(name: DwarfSectionName, die?: number): DwarfSection | undefined {
    if (die === undefined) return this.sections.get(name);
    try {
      return this.sections.get(name);
    } catch (err: unknown) {
      if (err instanceof ModbtfError) err.withContext({ die });
      throw err;
    }
  }

  /** @internal A DwarfFormatError with this file's context. */
  error(code: string, message: string, section: string | undefined, offset: number | undefined, die?: number): Error {
    return dwarfError(code, message, { file: this.file, section, offset, die });
  }

  // ------------------------------------------------------------------ units

  /** The units of .debug_info in order (headers read on first use). */
  get units(): readonly DwarfUnit[] {
    if (this.unitList === undefined) {
      this.unitList = this.readUnits();
      for (const u of this.unitList) u.refineUnitType();
    }
    return this.unitList;
  }

  private readUnits(): DwarfUnit[] {
    const info = this.info;
    const size = info.data.length;
    const out: DwarfUnit[] = [];
    let off = 0;
    // libdw stops when fewer than 5 bytes remain (off + 4 >= size).
    while (off + 4 < size) {
      let h: UnitHeader;
      try {
        // A header is at most 40 bytes (64-bit DWARF 5 type unit).
        this.infoRange(off, off + 64);
        h = readUnitHeader(info, this.littleEndian, this.file, off);
      } catch (err: unknown) {
        if (err instanceof ModbtfError && err.code === 'DWARF_TRUNCATED' && err.context.die === undefined) {
          const die = this.dieCutOff(info, off, out.length);
          if (die !== undefined) err.withContext({ die });
        }
        throw err;
      }
      out.push(new DwarfUnit(this, out.length, h));
      off = h.end;
    }
    return out;
  }

  /**
   * A unit longer than .debug_info (the section was truncated): the DIE the end of the section
   * cuts, or the last whole one before it, read as far as the bytes go. Undefined when not even
   * the unit header is there.
   */
  private dieCutOff(info: DwarfSection, off: number, n: number): number | undefined {
    try {
      const u = new DwarfUnit(this, n, readUnitHeader(info, this.littleEndian, this.file, off, true));
      const idx = u.index();
      return idx.count > 0 ? idx.offsets[idx.count - 1] : undefined;
    } catch (err: unknown) {
      return err instanceof ModbtfError ? err.context.die : undefined;
    }
  }

  /** The unit whose bytes contain `offset`, or undefined. */
  unitAt(offset: number): DwarfUnit | undefined {
    const last = this.lastUnit;
    if (last !== undefined && offset >= last.offset && offset < last.end) return last;
    const us = this.units;
    let lo = 0;
    let hi = us.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      const u = us[mid] as DwarfUnit;
      if (offset < u.offset) hi = mid - 1;
      else if (offset >= u.end) lo = mid + 1;
      else { this.lastUnit = u; return u; }
    }
    return undefined;
  }

  /** The unit of a DIE; throws when `die` is not in a unit's DIE area. */
  unitOf(die: number): DwarfUnit {
    const u = this.unitAt(die);
    if (u === undefined || die < u.dieOffset) {
      throw this.error('DWARF_BAD_DIE', `offset 0x${die.toString(16)} is not a DIE offset (outside every unit's DIEs)`, '.debug_info', die, die);
    }
    // Every DIE read starts here: its unit's bytes must be in .debug_info's buffer.
    this.infoOf(u);
    return u;
  }

  /**
   * @internal The abbreviation table at `offset`. With a bounded index cache, only the most
   * recently used tables are kept (units sharing a table reuse it; a unit walked again later
   * parses it again); with indexCache 0, every table, parsed once.
   */
  abbrevTable(offset: number, unit?: DwarfUnit): AbbrevTable {
    let t = this.abbrevCache.get(offset);
    if (t !== undefined && this.indexCache > 0) {
      this.abbrevCache.delete(offset);
      this.abbrevCache.set(offset, t);
    }
    if (t === undefined) {
      const sec = this.sections.get('.debug_abbrev');
      if (sec === undefined) {
        throw this.error('DWARF_MISSING_SECTION', 'the file has no .debug_abbrev section', '.debug_info', unit?.offset ?? 0);
      }
      t = parseAbbrevTable(sec, this.littleEndian, this.file, offset);
      this.abbrevCache.set(offset, t);
      if (this.indexCache > 0 && this.abbrevCache.size > Math.max(this.indexCache, ABBREV_TABLES_KEPT)) {
        this.abbrevCache.delete(this.abbrevCache.keys().next().value as number);
      }
    }
    return t;
  }

  private scratchIndex: IndexScratch | undefined;

  /** @internal Reusable arrays of at least `cap` entries for building a unit's index. */
  indexScratch(cap: number): IndexScratch {
    const sc = this.scratchIndex;
    if (sc !== undefined && sc.offsets.length >= cap) return sc;
    const n = Math.max(cap, sc === undefined ? 0 : sc.offsets.length * 2);
    this.scratchIndex = { offsets: new Uint32Array(n), abbrevs: new Uint32Array(n), parents: new Int32Array(n), siblings: new Int32Array(n) };
    return this.scratchIndex;
  }

  /** @internal buildIndex grew the scratch arrays: keep the larger ones. */
  keepIndexScratch(sc: IndexScratch): void {
    this.scratchIndex = sc;
  }

  /** @internal The unit's DIE index, through a small most-recently-used cache. */
  unitIndex(u: DwarfUnit): DieIndex {
    if (u.cachedIndex !== undefined) return u.cachedIndex;
    u.pin();
    const idx = u.buildIndex();
    u.cachedIndex = idx;
    if (this.indexCache > 0) {
      this.indexed.push(u);
      while (this.indexed.length > this.indexCache) (this.indexed.shift() as DwarfUnit).release();
    }
    return idx;
  }

  /** Type unit by signature (DWARF 5 DW_UT_type units in .debug_info). */
  typeUnit(signature: bigint): DwarfUnit | undefined {
    if (this.sig8 === undefined) {
      this.sig8 = new Map();
      for (const u of this.units) {
        if ((u.unitType === DW_UT_type || u.unitType === DW_UT_split_type) && !this.sig8.has(u.unitId)) this.sig8.set(u.unitId, u);
      }
    }
    return this.sig8.get(signature);
  }

  /** @internal dwarf_formref_die for DW_FORM_ref_sig8. */
  typeUnitDie(signature: bigint, die: number, pos: number): number {
    const u = this.typeUnit(signature);
    if (u === undefined) throw this.error('DWARF_BAD_REF', `no type unit has signature 0x${signature.toString(16).padStart(16, '0')}`, '.debug_info', pos, die);
    return u.offset + u.typeOffset;
  }

  /** @internal A DW_FORM_ref_addr target: inside some unit, past its header (libdw dwarf_offdie). */
  checkDieOffset(off: number, die: number, pos: number): number {
    const u = this.unitAt(off);
    if (u === undefined || off < u.dieOffset) {
      throw this.error('DWARF_BAD_REF', `reference 0x${off.toString(16)} is not inside any unit's DIEs`, '.debug_info', pos, die);
    }
    return off;
  }

  // ------------------------------------------------------------------ DIEs

  /** The abbreviation of the DIE at `die` (throws for a null entry or an unknown code). */
  abbrevOf(die: number): Abbrev {
    const u = this.unitOf(die);
    return this.abbrevIn(u, die);
  }

  private abbrevIn(u: DwarfUnit, die: number): Abbrev {
    const bytes = this.info.data;
    let code = bytes[die] as number;
    if (code >= 0x80) code = u.cursor(die, die).uleb('abbreviation code');
    const a = code === 0 ? undefined : u.abbrevs.byCode(code);
    if (a === undefined) {
      throw this.error('DWARF_BAD_ABBREV_CODE', code === 0 ? 'a null entry, not a DIE' : `abbreviation code ${code} is not in the table at .debug_abbrev offset ${u.abbrevOffset}`, '.debug_info', die, die);
    }
    return a;
  }

  /** Position of the first attribute value of the DIE at `die`. */
  private attrsStart(die: number): number {
    const bytes = this.info.data;
    let p = die;
    while (((bytes[p] as number) & 0x80) !== 0) p++;
    return p + 1;
  }

  tag(die: number): number { return this.abbrevOf(die).tag; }
  hasChildren(die: number): boolean { return this.abbrevOf(die).hasChildren; }

  /** The unit DIE offset of the unit holding `die` (dwarf_diecu). */
  unitDie(die: number): number { return this.unitOf(die).dieOffset; }

  private located(die: number): { u: DwarfUnit; idx: DieIndex; i: number } {
    const u = this.unitOf(die);
    const idx = u.index();
    const i = idx.indexOf(die);
    if (i < 0) throw this.error('DWARF_BAD_DIE', `no DIE starts at offset 0x${die.toString(16)}`, '.debug_info', die, die);
    return { u, idx, i };
  }

  /** First child (dwarf_child), 0 when there is none. */
  firstChild(die: number): number {
    const { idx, i } = this.located(die);
    const c = idx.firstChild(i);
    return c < 0 ? 0 : (idx.offsets[c] as number);
  }

  /** Next sibling (dwarf_siblingof), 0 when there is none. */
  nextSibling(die: number): number {
    const { idx, i } = this.located(die);
    const s = idx.siblings[i] as number;
    return s < 0 ? 0 : (idx.offsets[s] as number);
  }

  /** Parent DIE, 0 for a top-level DIE. */
  parent(die: number): number {
    const { idx, i } = this.located(die);
    const p = idx.parents[i] as number;
    return p < 0 ? 0 : (idx.offsets[p] as number);
  }

  /** The children of a DIE, in order. */
  children(die: number): number[] {
    const { idx, i } = this.located(die);
    const out: number[] = [];
    for (let c = idx.firstChild(i); c >= 0; c = idx.siblings[c] as number) out.push(idx.offsets[c] as number);
    return out;
  }

  // ------------------------------------------------------------------ attributes

  // The last lookup's result, so the typed shortcuts below allocate nothing.
  private fUnit: DwarfUnit | undefined;
  private fForm = 0;
  private fPos = 0;
  private fImplicit = 0n;

  /** Finds attribute `name` (the first, as libdw) and records where its value is. */
  private find(die: number, name: number): boolean {
    const u = this.unitOf(die);
    const a = this.abbrevIn(u, die);
    const k = a.find(name);
    if (k < 0) return false;
    const start = this.attrsStart(die);
    const layout = u.layout().layout;
    const base = a.first + a.index;
    let pos = layout[base + k] as number;
    if (pos >= 0) {
      pos += start;
    } else {
      // Walk from the end of the fixed-size prefix.
      let j = 0;
      while ((layout[base + j + 1] as number) >= 0) j++;
      pos = start + (layout[base + j] as number);
      const c = u.cursor(pos, die);
      for (; j < k; j++) pos = u.skipValue(a.formAt(j), pos, c);
    }
    let form = a.formAt(k);
    if (form === DW_FORM_indirect) {
      const c = u.cursor(pos, die);
      form = c.uleb('indirect form');
      if (form === DW_FORM_indirect || form === DW_FORM_implicit_const) throw c.fail('DWARF_BAD_FORM', `DW_FORM_indirect names form 0x${form.toString(16)}`, pos);
      pos = c.pos;
    }
    this.fUnit = u;
    this.fForm = form;
    this.fPos = pos;
    this.fImplicit = form === DW_FORM_implicit_const ? a.implicitAt(k) : 0n;
    return true;
  }

  private found(die: number, name: number): DwarfAttribute {
    return new DwarfAttribute(this.fUnit as DwarfUnit, die, name, this.fForm, this.fPos, this.fImplicit);
  }

  // Reused by the typed shortcuts (a lookup of a unit base may run inside one: its own object).
  private scratchAttr: DwarfAttribute | undefined;
  private scratchInner: DwarfAttribute | undefined;
  private shortcutDepth = 0;

  /** The last find() as the shortcut's reusable attribute object. */
  private scratch(die: number, name: number): DwarfAttribute {
    const u = this.fUnit as DwarfUnit;
    if (this.shortcutDepth === 0) {
      this.scratchAttr ??= new DwarfAttribute(u, die, name, this.fForm, this.fPos, this.fImplicit);
      return this.scratchAttr.reset(u, die, name, this.fForm, this.fPos, this.fImplicit);
    }
    if (this.shortcutDepth === 1) {
      this.scratchInner ??= new DwarfAttribute(u, die, name, this.fForm, this.fPos, this.fImplicit);
      return this.scratchInner.reset(u, die, name, this.fForm, this.fPos, this.fImplicit);
    }
    return this.found(die, name);
  }

  /** Runs one typed shortcut (a DwarfAttribute value method) on the attribute just found. */
  private shortcut<K extends 'string' | 'udata' | 'sdata' | 'flag' | 'addr' | 'ref' | 'block'>(die: number, name: number, method: K): ReturnType<DwarfAttribute[K]> {
    const a = this.scratch(die, name);
    this.shortcutDepth++;
    try {
      return a[method]() as ReturnType<DwarfAttribute[K]>;
    } finally {
      this.shortcutDepth--;
    }
  }

  /** dwarf_attr: the DIE's attribute `name` (DW_AT_*), or undefined. */
  attr(die: number, name: number): DwarfAttribute | undefined {
    return this.find(die, name) ? this.found(die, name) : undefined;
  }

  /** dwarf_hasattr */
  hasAttr(die: number, name: number): boolean {
    const a = this.abbrevOf(die);
    return a.find(name) >= 0;
  }

  /** The form of attribute `name` (dwarf_whatform), 0 when absent. */
  attrForm(die: number, name: number): number {
    return this.find(die, name) ? this.fForm : 0;
  }

  /** All attributes of a DIE in abbreviation order (dwarf_getattrs). */
  attrs(die: number): DwarfAttribute[] {
    const u = this.unitOf(die);
    const a = this.abbrevIn(u, die);
    const out: DwarfAttribute[] = [];
    let pos = this.attrsStart(die);
    const c = u.cursor(pos, die);
    for (let k = 0; k < a.count; k++) {
      let form = a.formAt(k);
      if (form === DW_FORM_indirect) {
        c.pos = pos;
        form = c.uleb('indirect form');
        if (form === DW_FORM_indirect || form === DW_FORM_implicit_const) throw c.fail('DWARF_BAD_FORM', `DW_FORM_indirect names form 0x${form.toString(16)}`, pos);
        pos = c.pos;
      }
      out.push(new DwarfAttribute(u, die, a.nameAt(k), form, pos, form === DW_FORM_implicit_const ? a.implicitAt(k) : 0n));
      pos = u.skipValue(form, pos, c);
    }
    return out;
  }

  /** Offset just past the DIE's attributes (where its first child or next sibling starts). */
  dieEnd(die: number): number {
    const u = this.unitOf(die);
    const a = this.abbrevIn(u, die);
    return u.skipAttributes(a, this.attrsStart(die), die, u.cursor(die, die));
  }

  // Typed shortcuts: the value of one attribute, undefined when absent or of another class.

  /** dwarf_formstring of attribute `name`. */
  attrString(die: number, name: number): string | undefined {
    return this.find(die, name) ? this.shortcut(die, name, 'string') : undefined;
  }
  /** dwarf_formudata of attribute `name`. */
  attrUdata(die: number, name: number): bigint | undefined {
    return this.find(die, name) ? this.shortcut(die, name, 'udata') : undefined;
  }
  /** dwarf_formsdata of attribute `name`. */
  attrSdata(die: number, name: number): bigint | undefined {
    return this.find(die, name) ? this.shortcut(die, name, 'sdata') : undefined;
  }
  /** dwarf_formudata as a number; DwarfFormatError DWARF_VALUE_TOO_LARGE past 2^53. */
  attrNumber(die: number, name: number): number | undefined {
    if (!this.find(die, name)) return undefined;
    // The small constant forms without a BigInt (the common case: sizes, offsets, lines).
    const u = this.fUnit as DwarfUnit;
    const pos = this.fPos;
    const bytes = this.info.data;
    switch (this.fForm) {
      case DW_FORM_data1:
        if (pos + 1 > u.end) break;
        return bytes[pos] as number;
      case DW_FORM_data2:
        if (pos + 2 > u.end) break;
        return this.info.view.getUint16(pos, this.littleEndian);
      case DW_FORM_udata: {
        const c = bytes[pos] as number;
        if (c < 0x80 && pos < u.end) return c;
        break;
      }
      default:
    }
    const v = this.shortcut(die, name, 'udata');
    if (v === undefined) return undefined;
    if (v > BigInt(Number.MAX_SAFE_INTEGER)) throw this.error('DWARF_VALUE_TOO_LARGE', `attribute 0x${name.toString(16)} value 0x${v.toString(16)} does not fit a safe integer`, '.debug_info', pos, die);
    return Number(v);
  }

  /**
   * Where the string of attribute `name` lives: its .debug_str offset for DW_FORM_strp and the
   * strx forms (resolved through .debug_str_offsets), -1 for an inline DW_FORM_string,
   * undefined otherwise. Equal offsets are equal strings: an encoder can key its string
   * table by offset and decode each name once, as pahole keys by .debug_str pointers.
   */
  attrStrOffset(die: number, name: number): number | undefined {
    if (!this.find(die, name)) return undefined;
    const u = this.fUnit as DwarfUnit;
    const c = u.cursor(this.fPos, die);
    let idx: bigint;
    let off: number;
    switch (this.fForm) {
      case DW_FORM_string: return -1;
      case DW_FORM_strp: off = c.offset(u.offsetSize); break;
      case DW_FORM_strx: case DW_FORM_GNU_str_index: idx = c.ulebBig(); off = this.strOffsetAt(u, idx, die); break;
      case DW_FORM_strx1: idx = BigInt(c.u8()); off = this.strOffsetAt(u, idx, die); break;
      case DW_FORM_strx2: idx = BigInt(c.u16()); off = this.strOffsetAt(u, idx, die); break;
      case DW_FORM_strx3: idx = BigInt(c.u24()); off = this.strOffsetAt(u, idx, die); break;
      case DW_FORM_strx4: idx = BigInt(c.u32()); off = this.strOffsetAt(u, idx, die); break;
      default: return undefined;
    }
    this.stringAt('.debug_str', off, die); // the same checks as attrString
    return off;
  }

  /** The .debug_str string at `offset` (as attrStrOffset gives it). */
  debugStr(offset: number): string {
    return this.stringAt('.debug_str', offset);
  }
  /** dwarf_formflag of attribute `name`. */
  attrFlag(die: number, name: number): boolean | undefined {
    return this.find(die, name) ? this.shortcut(die, name, 'flag') : undefined;
  }
  /** dwarf_formaddr of attribute `name`. */
  attrAddr(die: number, name: number): bigint | undefined {
    return this.find(die, name) ? this.shortcut(die, name, 'addr') : undefined;
  }
  /** dwarf_formref_die of attribute `name`: the referred DIE's offset. */
  attrRef(die: number, name: number): number | undefined {
    return this.find(die, name) ? this.shortcut(die, name, 'ref') : undefined;
  }
  /** dwarf_formblock of attribute `name`. */
  attrBlock(die: number, name: number): Uint8Array | undefined {
    return this.find(die, name) ? this.shortcut(die, name, 'block') : undefined;
  }

  /** @internal formudata that answers undefined instead of failing (libdw callers that ignore errors). */
  tryUdata(die: number, name: number): number | undefined {
    try {
      const v = this.attrUdata(die, name);
      return v === undefined || v > BigInt(Number.MAX_SAFE_INTEGER) ? undefined : Number(v);
    } catch (e) {
      if (!isModbtfError(e)) throw e;
      return undefined;
    }
  }

  // ------------------------------------------------------------------ strings and addresses

  private strSection: DwarfSection | undefined;

  /** @internal A string at `off` in .debug_str / .debug_line_str (libdw: inside the NUL-terminated prefix). */
  stringAt(name: '.debug_str' | '.debug_line_str', off: number, die?: number): string {
    const sec = name === '.debug_str' ? (this.strSection ??= this.section(name, die)) : this.section(name, die);
    if (sec === undefined) throw this.error('DWARF_MISSING_SECTION', `a string refers to ${name}, which the file does not have`, '.debug_info', die ?? 0, die);
    const s = sectionString(sec, off);
    if (s === undefined) throw this.error('DWARF_BAD_OFFSET', `string offset 0x${off.toString(16)} is past the end of ${name} (${sec.stringSize} bytes of strings)`, name, off, die);
    return s;
  }

  /** @internal A strx string: .debug_str_offsets[str_offsets_base + idx] (libdw dwarf_formstring). */
  indexedString(u: DwarfUnit, idx: bigint, die?: number): string {
    return this.stringAt('.debug_str', this.strOffsetAt(u, idx, die), die);
  }

  /** @internal .debug_str offset of strx index `idx` of unit `u` (libdw dwarf_formstring). */
  strOffsetAt(u: DwarfUnit, idx: bigint, die?: number): number {
    const sec = this.section('.debug_str_offsets', die);
    if (sec === undefined) throw this.error('DWARF_MISSING_SECTION', 'a strx form needs .debug_str_offsets, which the file does not have', '.debug_info', die ?? 0, die);
    const base = u.strOffsetsBase();
    const size = u.offsetSize;
    const len = sec.data.length;
    if (size > len || base > len - size) throw this.error('DWARF_BAD_OFFSET', `str_offsets_base 0x${base.toString(16)} is outside the ${len}-byte .debug_str_offsets`, '.debug_str_offsets', base, die);
    const max = Math.floor((len - size - base) / size);
    if (idx > BigInt(max)) throw this.error('DWARF_BAD_OFFSET', `string index ${idx} is past the end of .debug_str_offsets (${max + 1} entries from 0x${base.toString(16)})`, '.debug_str_offsets', base, die);
    const at = base + Number(idx) * size;
    const c = new Cursor(sec, this.littleEndian, this.file, at);
    return c.offset(size);
  }

  /** @internal An addrx address: .debug_addr[addr_base + idx * address_size] (libdw __libdw_addrx). */
  indexedAddress(u: DwarfUnit, idx: bigint, die?: number): bigint {
    const sec = this.section('.debug_addr', die);
    if (sec === undefined) throw this.error('DWARF_MISSING_SECTION', 'an addrx form needs .debug_addr, which the file does not have', '.debug_info', die ?? 0, die);
    const base = u.addrBase();
    const size = u.addressSize;
    const len = sec.data.length;
    if (size > len || base > len - size) throw this.error('DWARF_BAD_OFFSET', `addr_base 0x${base.toString(16)} is outside the ${len}-byte .debug_addr`, '.debug_addr', base, die);
    if (idx * BigInt(size) > BigInt(len - size - base)) throw this.error('DWARF_BAD_OFFSET', `address index ${idx} is past the end of .debug_addr`, '.debug_addr', base, die);
    const c = new Cursor(sec, this.littleEndian, this.file, base + Number(idx) * size);
    return c.addr(size);
  }

  /** The address at .debug_addr index `idx` of the unit holding `die` (for DW_OP_addrx, DW_OP_constx). */
  addrx(die: number, idx: bigint): bigint {
    return this.indexedAddress(this.unitOf(die), idx, die);
  }

  // ------------------------------------------------------------------ code addresses

  /** dwarf_lowpc */
  lowPc(die: number): bigint | undefined {
    return this.find(die, DW_AT_low_pc) ? this.shortcut(die, DW_AT_low_pc, 'addr') : undefined;
  }

  /** dwarf_highpc: DW_AT_high_pc as an address, or as an offset from DW_AT_low_pc. */
  highPc(die: number): bigint | undefined {
    const high = this.attr(die, DW_AT_high_pc);
    if (high === undefined) return undefined;
    const a = high.addr();
    if (a !== undefined) return a;
    const low = this.lowPc(die);
    if (low === undefined) return undefined;
    const off = high.udata();
    return off === undefined ? undefined : BigInt.asUintN(64, low + off);
  }

  /** dwarf_entrypc: DW_AT_entry_pc, else DW_AT_low_pc. */
  entryPc(die: number): bigint | undefined {
    return this.find(die, DW_AT_entry_pc) ? this.shortcut(die, DW_AT_entry_pc, 'addr') : this.lowPc(die);
  }

  /** dwarf_ranges iterated: low_pc/high_pc as one range, else the DW_AT_ranges list ([] for neither). */
  ranges(die: number): DwarfRange[] {
    return getRanges(this, die);
  }

  // ------------------------------------------------------------------ locations

  /**
   * dwarf_getlocation of attribute `name` (a single expression); undefined when the DIE has
   * no such attribute or libdw would not give a single expression (a location list...).
   */
  location(die: number, name: number): DwarfOp[] | undefined {
    const a = this.attr(die, name);
    return a === undefined ? undefined : getLocation(a);
  }

  /** dwarf_getlocations of attribute `name`, every entry (a single expression is one entry covering all addresses). */
  locations(die: number, name: number): DwarfLocation[] | undefined {
    const a = this.attr(die, name);
    return a === undefined ? undefined : getLocations(a);
  }

  /** The file table of a unit's line program (dwarf_getsrcfiles), undefined when libdw has none. */
  files(unit: DwarfUnit): LineFiles | undefined {
    return unitFiles(this, unit);
  }
}

/** Reads one unit header at `off` (libdw __libdw_next_unit), checking it fits the section. */
export function readUnitHeader(info: DwarfSection, le: boolean, file: string | undefined, off: number, clampToSection = false): UnitHeader {
  const size = info.data.length;
  const c = new Cursor(info, le, file, off);
  let length = c.u32('unit length');
  let offsetSize = 4;
  if (length === 0xffffffff) {
    offsetSize = 8;
    length = c.u64n('unit length');
  } else if (length >= 0xfffffff0) {
    throw c.fail('DWARF_BAD_UNIT', `unit length 0x${length.toString(16)} is a reserved value`, off);
  }
  let end = c.pos + length;
  if (end > size && clampToSection) end = size;
  if (end > size) throw c.fail('DWARF_TRUNCATED', `unit at 0x${off.toString(16)} is ${length} bytes long, but .debug_info ends ${size - c.pos} bytes after its length field`, off);
  c.end = end;
  const version = c.u16('unit version');
  if (version < 2 || version > 5) throw c.fail('DWARF_BAD_UNIT', `unit at 0x${off.toString(16)} has DWARF version ${version} (2 to 5 are read)`, off);
  let unitType = DW_UT_compile;
  let addressSize: number;
  let abbrevOffset: number;
  let unitId = 0n;
  let typeOffset = 0;
  if (version >= 5) {
    unitType = c.u8('unit type');
    if (unitType < DW_UT_compile || unitType > DW_UT_split_type) throw c.fail('DWARF_BAD_UNIT', `unit at 0x${off.toString(16)} has unknown unit type ${unitType}`, off);
    addressSize = c.u8('address size');
    abbrevOffset = c.offset(offsetSize, 'abbreviation offset');
    if (unitType === DW_UT_skeleton || unitType === DW_UT_split_compile || unitType === DW_UT_type || unitType === DW_UT_split_type) {
      unitId = c.u64('unit id');
      if (unitType === DW_UT_type || unitType === DW_UT_split_type) {
        typeOffset = c.offset(offsetSize, 'type offset');
        if (typeOffset < c.pos - off) throw c.fail('DWARF_BAD_UNIT', `type offset 0x${typeOffset.toString(16)} points into the unit header`, off);
      }
    }
  } else {
    abbrevOffset = c.offset(offsetSize, 'abbreviation offset');
    addressSize = c.u8('address size');
  }
  if (addressSize !== 4 && addressSize !== 8) throw c.fail('DWARF_BAD_UNIT', `unit at 0x${off.toString(16)} has address size ${addressSize} (4 or 8 are read)`, off);
  return { offset: off, end, version, unitType, addressSize, offsetSize, abbrevOffset, headerSize: c.pos - off, unitId, typeOffset };
}
