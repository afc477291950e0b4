/**
 * A fast reader of the DIE attributes the encoder needs, over one unit of lib/dwarf's
 * relocated .debug_info: the unit's DIE index (lib/dwarf DieIndex) for the tree, and per
 * abbreviation a plan saying where each wanted attribute sits, so a DIE's attributes are
 * found in one pass without allocating. Values are decoded as libdw's dwarf_form* decode them
 * (dwarf_formstring, dwarf_formref_die, dwarf_formudata, dwarf_formflag, dwarf_formaddr);
 * strings are decoded once per string offset. Anything unusual (a reference into another
 * unit, a form this reader does not decode) goes through lib/dwarf's general API instead.
 *
 * A module's DWARF holds millions of DIEs (every CU repeats the kernel headers' types): the
 * general API's per-attribute lookups and objects made encoding ~30x slower than pahole.
 */
import type { Abbrev } from '../dwarf/abbrev.js';
import * as C from '../dwarf/constants.js';
import type { Dwarf } from '../dwarf/dwarf.js';
import type { DieIndex, DwarfUnit } from '../dwarf/unit.js';

/** The attributes the loader reads (slot numbers). */
export const enum A {
  name, type, byteSize, declaration, encoding, external, abstractOrigin, specification, inline,
  artificial, location, constValue, dataMemberLocation, dataBitOffset, bitOffset, bitSize, upperBound,
  count, lowPc, callingConvention, gnuAnnotation, language, producer, import, N,
}

const SLOT_OF = new Map<number, A>([
  [C.DW_AT_name, A.name], [C.DW_AT_type, A.type], [C.DW_AT_byte_size, A.byteSize], [C.DW_AT_declaration, A.declaration],
  [C.DW_AT_encoding, A.encoding], [C.DW_AT_external, A.external], [C.DW_AT_abstract_origin, A.abstractOrigin],
  [C.DW_AT_specification, A.specification], [C.DW_AT_inline, A.inline], [C.DW_AT_artificial, A.artificial],
  [C.DW_AT_location, A.location], [C.DW_AT_const_value, A.constValue], [C.DW_AT_data_member_location, A.dataMemberLocation],
  [C.DW_AT_data_bit_offset, A.dataBitOffset], [C.DW_AT_bit_offset, A.bitOffset], [C.DW_AT_bit_size, A.bitSize],
  [C.DW_AT_upper_bound, A.upperBound], [C.DW_AT_count, A.count], [C.DW_AT_low_pc, A.lowPc],
  [C.DW_AT_calling_convention, A.callingConvention], [C.DW_AT_GNU_annotation, A.gnuAnnotation],
  [C.DW_AT_language, A.language], [C.DW_AT_producer, A.producer], [C.DW_AT_import, A.import],
]);

/** Per abbreviation: the attribute index of each slot (-1: absent). */
interface Plan {
  readonly k: Int16Array;
  readonly fixed: Int32Array;
  readonly prefixEnd: number;
  /** Per attribute index past the fixed prefix: its slot, -1 when not wanted (walk's map). */
  readonly slotAt: Int16Array;
}

const plans = new WeakMap<Abbrev, Plan>();

function planOf(a: Abbrev, u: DwarfUnit): Plan {
  let p = plans.get(a);
  if (p !== undefined) return p;
  const k = new Int16Array(A.N).fill(-1);
  for (let i = a.count - 1; i >= 0; i--) {
    const s = SLOT_OF.get(a.nameAt(i));
    if (s !== undefined) k[s] = i; // the first of repeated names wins, as dwarf_attr
  }
  const base = a.first + a.index;
  const layout = a.table.layoutFor(u).layout.subarray(base, base + a.count + 1);
  let prefixEnd = 0;
  while (prefixEnd < a.count && (layout[prefixEnd + 1] as number) >= 0) prefixEnd++;
  const slotAt = new Int16Array(a.count).fill(-1);
  for (let s = 0; s < A.N; s++) if ((k[s] as number) > prefixEnd) slotAt[k[s] as number] = s;
  p = { k, fixed: layout, prefixEnd, slotAt };
  plans.set(a, p);
  return p;
}

const NONE = -1;

/**
 * Decoded .debug_str strings by offset, direct-mapped: a string's slot is its offset's hash,
 * a newer string takes an occupied slot. The cache stays the same size whatever the module (a
 * Map of every offset held xfs.ko's ~1M names, ~60 MB, to the end), and small: its strings
 * stay live through every CU, and V8 sizes its heap by what stays live. Measured on xfs.ko's
 * 1.15M lookups: 19.2% hit with 65536 slots, 17.6% with 4096.
 */
export class StringCache {
  private static readonly BITS = 12;
  private readonly keys = new Int32Array(1 << StringCache.BITS).fill(-1);
  private readonly values: (string | undefined)[] = new Array<string | undefined>(1 << StringCache.BITS).fill(undefined);

  private slot(off: number): number { return Math.imul(off, 0x9e3779b1) >>> (32 - StringCache.BITS); }

  get(off: number): string | undefined {
    const i = this.slot(off);
    return this.keys[i] === off ? this.values[i] : undefined;
  }

  set(off: number, v: string): void {
    const i = this.slot(off);
    this.keys[i] = off;
    this.values[i] = v;
  }
}

/** Short inline (DW_FORM_string) names by their bytes; the same few thousand recur everywhere. */
const inlineStrings = new Map<number, string>();

export class DieReader {
  readonly u: DwarfUnit;
  readonly idx: DieIndex;
  private readonly bytes: Uint8Array;
  private readonly view: DataView;
  private readonly le: boolean;
  private readonly abbrevs: readonly Abbrev[];
  /** Per slot: the form and value position of the current DIE's attribute, form 0 when absent. */
  private readonly form = new Int32Array(A.N);
  private readonly pos = new Int32Array(A.N);
  private readonly implicit: bigint[] = new Array<bigint>(A.N).fill(0n);
  private cur = -1;
  private abbrev!: Abbrev;

  constructor(readonly d: Dwarf, u: DwarfUnit, private readonly strings: StringCache) {
    this.u = u;
    this.idx = u.index();
    const info = d.infoOf(u);
    this.bytes = info.data;
    this.view = info.view;
    this.le = d.littleEndian;
    this.abbrevs = u.abbrevs.abbrevs;
  }

  /** DIE offset of index i. */
  off(i: number): number { return this.idx.offsets[i] as number; }
  /** Index of the DIE at `off` in this unit, -1 when it is not one of this unit's DIEs. */
  indexOf(off: number): number {
    return off >= this.u.dieOffset && off < this.u.end ? this.idx.indexOf(off) : -1;
  }
  tag(i: number): number { return (this.abbrevs[this.idx.abbrevs[i] as number] as Abbrev).tag; }
  hasChildren(i: number): boolean { return (this.abbrevs[this.idx.abbrevs[i] as number] as Abbrev).hasChildren; }
  firstChild(i: number): number { return this.idx.firstChild(i); }
  next(i: number): number { return this.idx.siblings[i] as number; }

  /** Makes DIE i current: finds every wanted attribute's value in one pass. */
  load(i: number): void {
    if (this.cur === i) return;
    this.cur = i;
    const a = this.abbrevs[this.idx.abbrevs[i] as number] as Abbrev;
    this.abbrev = a;
    const plan = planOf(a, this.u);
    const bytes = this.bytes;
    // Past the abbreviation code (ULEB128).
    let p = this.idx.offsets[i] as number;
    while (((bytes[p] as number) & 0x80) !== 0) p++;
    const start = p + 1;
    const form = this.form;
    form.fill(0);
    const k = plan.k;
    // Values in the fixed-size prefix are at known offsets; past it, walk value by value.
    let walkFrom = -1;
    for (let s = 0; s < A.N; s++) {
      const at = k[s] as number;
      if (at < 0) continue;
      if (at <= plan.prefixEnd) {
        form[s] = a.formAt(at);
        this.pos[s] = start + (plan.fixed[at] as number);
        if (form[s] === C.DW_FORM_implicit_const) this.implicit[s] = a.implicitAt(at);
      } else if (walkFrom < 0 || at < walkFrom) {
        walkFrom = at;
      }
    }
    if (walkFrom >= 0) this.walk(a, plan, start);
  }

  private walk(a: Abbrev, plan: Plan, start: number): void {
    const slotAt = plan.slotAt;
    let p = start + (plan.fixed[plan.prefixEnd] as number);
    for (let n = plan.prefixEnd; n < a.count; n++) {
      let f = a.formAt(n);
      if (f === C.DW_FORM_indirect) {
        f = this.uleb(p);
        p = this.ulebPos;
      }
      const s = slotAt[n] as number;
      if (s >= 0) {
        this.form[s] = f;
        this.pos[s] = p;
        if (f === C.DW_FORM_implicit_const) this.implicit[s] = a.implicitAt(n);
      }
      p = this.skip(f, p);
    }
  }

  private ulebPos = 0;
  /** A ULEB128 at p as a number; the position past it is left in ulebPos (no object per value). */
  private uleb(p: number): number {
    const b = this.bytes;
    let v = 0;
    let shift = 1;
    for (;;) {
      const x = b[p++] as number;
      v += (x & 0x7f) * shift;
      if ((x & 0x80) === 0) break;
      shift *= 128;
    }
    this.ulebPos = p;
    return v;
  }

  /** Position past a value of form f at p (the unit's index already checked the DIE fits). */
  private skip(f: number, p: number): number {
    const u = this.u;
    switch (f) {
      case C.DW_FORM_addr: return p + u.addressSize;
      case C.DW_FORM_ref_addr: return p + (u.version === 2 ? u.addressSize : u.offsetSize);
      case C.DW_FORM_strp: case C.DW_FORM_line_strp: case C.DW_FORM_sec_offset: case C.DW_FORM_GNU_ref_alt:
      case C.DW_FORM_GNU_strp_alt: case C.DW_FORM_strp_sup: return p + u.offsetSize;
      case C.DW_FORM_ref_sup4: case C.DW_FORM_data4: case C.DW_FORM_ref4: case C.DW_FORM_strx4: case C.DW_FORM_addrx4: return p + 4;
      case C.DW_FORM_ref_sup8: case C.DW_FORM_data8: case C.DW_FORM_ref8: case C.DW_FORM_ref_sig8: return p + 8;
      case C.DW_FORM_flag: case C.DW_FORM_data1: case C.DW_FORM_ref1: case C.DW_FORM_strx1: case C.DW_FORM_addrx1: return p + 1;
      case C.DW_FORM_data2: case C.DW_FORM_ref2: case C.DW_FORM_strx2: case C.DW_FORM_addrx2: return p + 2;
      case C.DW_FORM_strx3: case C.DW_FORM_addrx3: return p + 3;
      case C.DW_FORM_data16: return p + 16;
      case C.DW_FORM_flag_present: case C.DW_FORM_implicit_const: return p;
      case C.DW_FORM_string: return this.bytes.indexOf(0, p) + 1;
      case C.DW_FORM_block1: return p + 1 + (this.bytes[p] as number);
      case C.DW_FORM_block2: return p + 2 + this.view.getUint16(p, this.le);
      case C.DW_FORM_block4: return p + 4 + this.view.getUint32(p, this.le);
      case C.DW_FORM_block: case C.DW_FORM_exprloc: { const n = this.uleb(p); return this.ulebPos + n; }
      default: {
        // udata, sdata, ref_udata, strx, addrx, loclistx, rnglistx, GNU indexes: one LEB128.
        const b = this.bytes;
        while (((b[p] as number) & 0x80) !== 0) p++;
        return p + 1;
      }
    }
  }

  has(s: A): boolean { return this.form[s] !== 0; }
  formOf(s: A): number { return this.form[s] as number; }

  /** dwarf_formstring, cached per string offset; undefined when absent or not a string form. */
  str(s: A): string | undefined {
    const f = this.form[s] as number;
    if (f === 0) return undefined;
    const p = this.pos[s] as number;
    const u = this.u;
    switch (f) {
      case C.DW_FORM_strp: {
        const off = u.offsetSize === 8 ? Number(this.view.getBigUint64(p, this.le)) : this.view.getUint32(p, this.le);
        // Offsets past 2^31 (no .debug_str is that large) are not cached.
        let v = off <= 0x7fffffff ? this.strings.get(off) : undefined;
        if (v === undefined) {
          v = this.debugStr(off);
          if (off <= 0x7fffffff) this.strings.set(off, v);
        }
        return v;
      }
      case C.DW_FORM_string: {
        // gcc writes names of up to 3 bytes inline: those are looked up by their bytes.
        const b = this.bytes;
        const end = b.indexOf(0, p);
        const n = end - p;
        if (n <= 3) {
          const key = n | ((b[p] ?? 0) << 2) | ((n > 1 ? (b[p + 1] as number) : 0) << 10) | ((n > 2 ? (b[p + 2] as number) : 0) << 18);
          let v = inlineStrings.get(key);
          if (v === undefined) {
            v = Buffer.from(b.buffer, b.byteOffset + p, n).toString('utf8');
            inlineStrings.set(key, v);
          }
          return v;
        }
        return Buffer.from(b.buffer, b.byteOffset + p, n).toString('utf8');
      }
      default:
        return this.d.attrString(this.off(this.cur), this.abbrev.nameAt(this.abbrevIndex(s)));
    }
  }

  /** .debug_str as one Buffer (decoding through it makes no Buffer per string). */
  private strSec: { data: Buffer; size: number } | undefined;

  /**
   * The .debug_str string at `off` as one flat string (a string built a character at a time
   * is a chain of V8 cons strings: ~1M of them stayed alive for xfs.ko's names).
   */
  private debugStr(off: number): string {
    if (this.strSec === undefined) {
      const sec = this.d.section('.debug_str', this.off(this.cur));
      if (sec === undefined) return this.d.stringAt('.debug_str', off, this.off(this.cur));
      this.strSec = { data: Buffer.from(sec.data.buffer, sec.data.byteOffset, sec.data.length), size: sec.stringSize };
    }
    const { data, size } = this.strSec;
    if (off >= size) return this.d.stringAt('.debug_str', off, this.off(this.cur));
    const end = data.indexOf(0, off);
    return data.toString('utf8', off, end);
  }

  private abbrevIndex(s: A): number {
    return planOf(this.abbrev, this.u).k[s] as number;
  }

  /** dwarf_formref_die: the referenced DIE's .debug_info offset, 0 when absent or not a reference. */
  ref(s: A): number {
    const f = this.form[s] as number;
    if (f === 0) return 0;
    const p = this.pos[s] as number;
    const base = this.u.offset;
    switch (f) {
      case C.DW_FORM_ref4: return base + this.view.getUint32(p, this.le);
      case C.DW_FORM_ref1: return base + (this.bytes[p] as number);
      case C.DW_FORM_ref2: return base + this.view.getUint16(p, this.le);
      case C.DW_FORM_ref8: return base + Number(this.view.getBigUint64(p, this.le));
      case C.DW_FORM_ref_udata: return base + this.uleb(p);
      default: {
        try {
          return this.d.attrRef(this.off(this.cur), this.abbrev.nameAt(this.abbrevIndex(s))) ?? 0;
        } catch {
          return 0;
        }
      }
    }
  }

  /** The reference used DW_FORM_ref_sig8 (a type unit). */
  refIsSig8(s: A): boolean { return this.form[s] === C.DW_FORM_ref_sig8; }

  /**
   * attr_numeric: constants (dwarf_formudata: data* zero-extended, sdata sign-extended to 64
   * bits), flags, addresses; 0 for other forms (pahole prints the form and uses 0).
   * As a u64 bigint; num() gives the low 53 bits as a number.
   */
  numeric(s: A): bigint {
    const f = this.form[s] as number;
    const p = this.pos[s] as number;
    const v = this.view;
    switch (f) {
      case 0: return 0n;
      case C.DW_FORM_data1: case C.DW_FORM_flag: return BigInt(this.bytes[p] as number);
      case C.DW_FORM_data2: return BigInt(v.getUint16(p, this.le));
      case C.DW_FORM_data4: return BigInt(v.getUint32(p, this.le));
      case C.DW_FORM_data8: return v.getBigUint64(p, this.le);
      case C.DW_FORM_udata: return this.ulebBig(p);
      case C.DW_FORM_sdata: return BigInt.asUintN(64, this.slebBig(p));
      case C.DW_FORM_implicit_const: return BigInt.asUintN(64, this.implicit[s] as bigint);
      case C.DW_FORM_flag_present: return 1n;
      case C.DW_FORM_addr: return this.u.addressSize === 8 ? v.getBigUint64(p, this.le) : BigInt(v.getUint32(p, this.le));
      default: return 0n;
    }
  }

  /** numeric() for values known to be small (sizes, offsets, flags): as a number. */
  num(s: A): number {
    const f = this.form[s] as number;
    const p = this.pos[s] as number;
    switch (f) {
      case 0: return 0;
      case C.DW_FORM_data1: case C.DW_FORM_flag: return this.bytes[p] as number;
      case C.DW_FORM_data2: return this.view.getUint16(p, this.le);
      case C.DW_FORM_data4: return this.view.getUint32(p, this.le);
      case C.DW_FORM_udata: return this.uleb(p);
      case C.DW_FORM_flag_present: return 1;
      default: return Number(this.numeric(s) & 0xffffffffffffn);
    }
  }

  /** The form was one attr_numeric / __attr_offset reads as a constant. */
  isConstant(s: A): boolean {
    switch (this.form[s]) {
      case C.DW_FORM_data1: case C.DW_FORM_data2: case C.DW_FORM_data4: case C.DW_FORM_data8:
      case C.DW_FORM_sdata: case C.DW_FORM_udata: case C.DW_FORM_implicit_const:
        return true;
      default:
        return false;
    }
  }

  /** dwarf_formblock: the block of exprloc/block forms, undefined otherwise. */
  block(s: A): Uint8Array | undefined {
    const f = this.form[s] as number;
    const p = this.pos[s] as number;
    const b = this.bytes;
    switch (f) {
      case C.DW_FORM_block1: return b.subarray(p + 1, p + 1 + (b[p] as number));
      case C.DW_FORM_block2: { const n = this.view.getUint16(p, this.le); return b.subarray(p + 2, p + 2 + n); }
      case C.DW_FORM_block4: { const n = this.view.getUint32(p, this.le); return b.subarray(p + 4, p + 4 + n); }
      case C.DW_FORM_block: case C.DW_FORM_exprloc: { const n = this.uleb(p); const q = this.ulebPos; return b.subarray(q, q + n); }
      default: return undefined;
    }
  }

  private ulebBig(p: number): bigint {
    const b = this.bytes;
    let v = 0n;
    let shift = 0n;
    for (;;) {
      const x = b[p++] as number;
      v |= BigInt(x & 0x7f) << shift;
      if ((x & 0x80) === 0) return BigInt.asUintN(64, v);
      shift += 7n;
    }
  }

  private slebBig(p: number): bigint {
    const b = this.bytes;
    let v = 0n;
    let shift = 0n;
    let x: number;
    do {
      x = b[p++] as number;
      v |= BigInt(x & 0x7f) << shift;
      shift += 7n;
    } while ((x & 0x80) !== 0);
    if ((x & 0x40) !== 0) v -= 1n << shift;
    return BigInt.asIntN(64, v);
  }

  /** Keeps `void` for a field read only by the lint-free walk above. */
  get lastUlebPos(): number { return this.ulebPos; }
}

export { NONE };
