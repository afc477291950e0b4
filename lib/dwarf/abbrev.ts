/**
 * Abbreviation tables (.debug_abbrev). A table is parsed once per offset, as a whole,
 * the way libdw's __libdw_getabbrev reads each entry: code, tag, children flag, then
 * (name, form[, implicit_const value]) pairs up to (0, 0). A code is looked up through
 * a dense array when the codes are small (they are: producers number them 1..n).
 */
import { Cursor } from './cursor.js';
import { DW_FORM_implicit_const } from './constants.js';
import type { DwarfSection } from './sections.js';

export interface Abbrev {
  readonly code: number;
  readonly tag: number;
  readonly hasChildren: boolean;
  /** Offset of this entry in .debug_abbrev. */
  readonly offset: number;
  /** Length in bytes of this entry (what dwarf_getabbrev reports). */
  readonly length: number;
  /** Attribute names and forms, in order. */
  readonly names: Uint32Array;
  readonly forms: Uint32Array;
  /** DW_FORM_implicit_const values, by attribute position (0n elsewhere). */
  readonly implicit: readonly bigint[];
  /** Offset of each attribute spec (name ULEB) in .debug_abbrev (dwarf_getabbrevattr). */
  readonly specOffsets: Uint32Array;
  /** Position in its table. */
  readonly index: number;
  /** @internal Value offsets from the attributes' start, per form-size key (see forms.ts). */
  layoutKey: number;
  layout: Int32Array | undefined;
  /** @internal Fixed value size of each attribute for layoutKey (FORM_VARIABLE / FORM_UNKNOWN otherwise). */
  sizes: Int32Array | undefined;
}

export class AbbrevTable {
  readonly offset: number;
  readonly abbrevs: readonly Abbrev[];
  private readonly dense: (Abbrev | undefined)[] | undefined;
  private readonly sparse: Map<number, Abbrev> | undefined;

  constructor(offset: number, abbrevs: Abbrev[]) {
    this.offset = offset;
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
}

/** Parses the abbreviation table at `offset` up to its terminating 0 code (or the section end). */
export function parseAbbrevTable(sec: DwarfSection, le: boolean, file: string | undefined, offset: number): AbbrevTable {
  const c = new Cursor(sec, le, file, offset);
  if (offset >= sec.data.length) throw c.fail('DWARF_BAD_OFFSET', `abbreviation table offset ${offset} is past the end of the ${sec.data.length}-byte .debug_abbrev`, offset);
  const abbrevs: Abbrev[] = [];
  while (c.pos < c.end) {
    const start = c.pos;
    const code = c.uleb('abbreviation code');
    if (code === 0) break;
    const tag = c.uleb('abbreviation tag');
    const children = c.u8('children flag');
    const names: number[] = [];
    const forms: number[] = [];
    const implicit: bigint[] = [];
    const specs: number[] = [];
    for (;;) {
      const specAt = c.pos;
      const name = c.uleb('attribute name');
      const form = c.uleb('attribute form');
      if (name === 0 && form === 0) break;
      specs.push(specAt);
      names.push(name);
      forms.push(form);
      implicit.push(form === DW_FORM_implicit_const ? c.slebBig('implicit_const value') : 0n);
    }
    abbrevs.push({
      code, tag, hasChildren: children === 1, offset: start, length: c.pos - start,
      names: Uint32Array.from(names), forms: Uint32Array.from(forms), implicit, specOffsets: Uint32Array.from(specs),
      index: abbrevs.length, layoutKey: -1, layout: undefined, sizes: undefined,
    });
  }
  return new AbbrevTable(offset, abbrevs);
}
