/**
 * Abbreviation tables (.debug_abbrev). A table is parsed once per offset, as a whole,
 * the way libdw's __libdw_getabbrev reads each entry: code, tag, children flag, then
 * (name, form[, implicit_const value]) pairs up to (0, 0). A code is looked up through
 * a dense array when the codes are small (they are: producers number them 1..n).
 *
 * Every table keeps the attribute specifications of all its entries in flat typed arrays
 * (a module has a table per unit and tens of thousands of entries; an object with its own
 * arrays per entry cost xfs.ko 50 MB); an Abbrev is a slice of them.
 */
import { Cursor } from './cursor.js';
import { DW_FORM_implicit_const } from './constants.js';
import { fixedFormSize, formSizeKey, type FormSizes } from './forms.js';
import type { DwarfSection } from './sections.js';

export class Abbrev {
  readonly table: AbbrevTable;
  readonly code: number;
  readonly tag: number;
  readonly hasChildren: boolean;
  /** Offset of this entry in .debug_abbrev. */
  readonly offset: number;
  /** Length in bytes of this entry (what dwarf_getabbrev reports). */
  readonly length: number;
  /** Position in its table. */
  readonly index: number;
  /** Its attribute specifications: [first, first + count) of the table's flat arrays. */
  readonly first: number;
  readonly count: number;

  constructor(table: AbbrevTable, code: number, tag: number, hasChildren: boolean, offset: number, length: number, index: number, first: number, count: number) {
    this.table = table;
    this.code = code;
    this.tag = tag;
    this.hasChildren = hasChildren;
    this.offset = offset;
    this.length = length;
    this.index = index;
    this.first = first;
    this.count = count;
  }

  /** DW_AT_* of attribute k. */
  nameAt(k: number): number { return this.table.names[this.first + k] as number; }
  /** DW_FORM_* of attribute k (as written: DW_FORM_indirect is resolved per DIE). */
  formAt(k: number): number { return this.table.forms[this.first + k] as number; }
  /** The DW_FORM_implicit_const value of attribute k (0n for other forms). */
  implicitAt(k: number): bigint { return this.table.implicitAt(this.first + k); }
  /** Position of attribute `name` (the first, as libdw finds it), -1 when absent. */
  find(name: number): number {
    const names = this.table.names;
    const end = this.first + this.count;
    for (let i = this.first; i < end; i++) if (names[i] === name) return i - this.first;
    return -1;
  }

  /** Attribute names, in order (a view). */
  get names(): Uint32Array { return this.table.names.subarray(this.first, this.first + this.count); }
  /** Attribute forms, in order (a view). */
  get forms(): Uint32Array { return this.table.forms.subarray(this.first, this.first + this.count); }
  /** DW_FORM_implicit_const values by attribute position (0n elsewhere). */
  get implicit(): bigint[] { return Array.from({ length: this.count }, (_, k) => this.implicitAt(k)); }
  /** Offset of each attribute specification in .debug_abbrev (dwarf_getabbrevattr). */
  get specOffsets(): Uint32Array { return this.table.specOffsets.subarray(this.first, this.first + this.count); }
}

/** Value layout of a table's entries for one unit shape (see layoutFor). */
export interface AbbrevLayout {
  readonly key: number;
  /**
   * For entry e with attributes [first, first+count): layout[first + e.index + k] is the
   * offset of attribute k's value from the end of the abbreviation code when every value
   * before it has a fixed size, else -1; layout[first + e.index + count] is the whole size
   * when all are fixed, else -1.
   */
  readonly layout: Int32Array;
  /** sizes[first + k]: fixed value size of attribute k, FORM_VARIABLE or FORM_UNKNOWN. */
  readonly sizes: Int32Array;
}

export class AbbrevTable {
  readonly offset: number;
  readonly abbrevs: readonly Abbrev[];
  /** Flat attribute specifications of every entry. */
  readonly names: Uint32Array;
  readonly forms: Uint32Array;
  readonly specOffsets: Uint32Array;
  private readonly implicit: Map<number, bigint> | undefined;
  private readonly dense: (Abbrev | undefined)[] | undefined;
  private readonly sparse: Map<number, Abbrev> | undefined;
  private cachedLayout: AbbrevLayout | undefined;

  /** @internal Use parseAbbrevTable. */
  constructor(offset: number, specs: { names: Uint32Array; forms: Uint32Array; specOffsets: Uint32Array; implicit: Map<number, bigint> | undefined }, entries: (t: AbbrevTable) => Abbrev[]) {
    this.offset = offset;
    this.names = specs.names;
    this.forms = specs.forms;
    this.specOffsets = specs.specOffsets;
    this.implicit = specs.implicit;
    const abbrevs = entries(this);
    this.abbrevs = abbrevs;
    let max = 0;
    for (const a of abbrevs) if (a.code > max) max = a.code;
    if (max <= abbrevs.length * 2 + 64) {
      this.dense = new Array<Abbrev | undefined>(max + 1);
      for (const a of abbrevs) if (this.dense[a.code] === undefined) this.dense[a.code] = a;
    } else {
      this.sparse = new Map();
      for (const a of abbrevs) if (!this.sparse.has(a.code)) this.sparse.set(a.code, a);
    }
  }

  /** The entry for `code`; the first one when a table repeats a code. */
  byCode(code: number): Abbrev | undefined {
    return this.dense !== undefined ? this.dense[code] : this.sparse?.get(code);
  }

  /** @internal implicit_const value of flat specification i. */
  implicitAt(i: number): bigint {
    return this.implicit?.get(i) ?? 0n;
  }

  /** The value layout of every entry for units of this shape (computed once per shape). */
  layoutFor(u: FormSizes): AbbrevLayout {
    const key = formSizeKey(u);
    const hit = this.cachedLayout;
    if (hit !== undefined && hit.key === key) return hit;
    const layout = new Int32Array(this.names.length + this.abbrevs.length).fill(-1);
    const sizes = new Int32Array(this.names.length);
    for (const a of this.abbrevs) {
      const base = a.first + a.index;
      let at = 0;
      for (let k = 0; k < a.count; k++) {
        const size = fixedFormSize(this.forms[a.first + k] as number, u);
        sizes[a.first + k] = size;
        if (at >= 0) {
          layout[base + k] = at;
          at = size < 0 ? -1 : at + size;
        }
      }
      if (at >= 0) layout[base + a.count] = at;
    }
    this.cachedLayout = { key, layout, sizes };
    return this.cachedLayout;
  }
}

/** Parses the abbreviation table at `offset` up to its terminating 0 code (or the section end). */
export function parseAbbrevTable(sec: DwarfSection, le: boolean, file: string | undefined, offset: number): AbbrevTable {
  const c = new Cursor(sec, le, file, offset);
  if (offset >= sec.data.length) throw c.fail('DWARF_BAD_OFFSET', `abbreviation table offset ${offset} is past the end of the ${sec.data.length}-byte .debug_abbrev`, offset);
  // First pass: the entries' headers and how many specifications there are.
  interface Raw { code: number; tag: number; children: boolean; start: number; length: number; first: number; count: number }
  const raws: Raw[] = [];
  let specs = 0;
  while (c.pos < c.end) {
    const start = c.pos;
    const code = c.uleb('abbreviation code');
    if (code === 0) break;
    const tag = c.uleb('abbreviation tag');
    const children = c.u8('children flag') === 1;
    const first = specs;
    for (;;) {
      const name = c.uleb('attribute name');
      const form = c.uleb('attribute form');
      if (name === 0 && form === 0) break;
      if (form === DW_FORM_implicit_const) c.skipLeb('implicit_const value');
      specs++;
    }
    raws.push({ code, tag, children, start, length: c.pos - start, first, count: specs - first });
  }
  // Second pass: the specifications into flat arrays.
  const names = new Uint32Array(specs);
  const forms = new Uint32Array(specs);
  const specOffsets = new Uint32Array(specs);
  let implicit: Map<number, bigint> | undefined;
  let i = 0;
  for (const r of raws) {
    c.pos = r.start;
    c.uleb();
    c.uleb();
    c.u8();
    for (let k = 0; k < r.count; k++) {
      specOffsets[i] = c.pos;
      names[i] = c.uleb();
      const form = c.uleb();
      forms[i] = form;
      if (form === DW_FORM_implicit_const) (implicit ??= new Map()).set(i, c.slebBig('implicit_const value'));
      i++;
    }
  }
  return new AbbrevTable(offset, { names, forms, specOffsets, implicit }, (t) => raws.map((r, index) => new Abbrev(t, r.code, r.tag, r.children, r.start, r.length, index, r.first, r.count)));
}
