/**
 * Writes small DWARF 4/5 sections from a DIE tree spec, byte by byte from the DWARF 5
 * standard's encodings (independent of lib/dwarf's decoder), for unit tests. References
 * are by label; strings go to .debug_str / .debug_line_str / .debug_str_offsets; values
 * can be left to a relocation (`reloc`), recorded so a test can write the matching
 * .rela section for its machine.
 */
import * as C from '../../lib/dwarf/constants.js';

export type RefValue = { die: string };
export type RelocValue = { reloc: { symbol: string; addend?: bigint; type?: number } };
export type IndirectValue = { indirect: number; value: Value };
export type Value = number | bigint | string | Uint8Array | RefValue | RelocValue | IndirectValue | undefined;

export interface AttrSpec {
  at: number;
  form: number;
  value?: Value;
}

export interface DieSpec {
  tag: number;
  label?: string;
  attrs?: AttrSpec[];
  children?: DieSpec[];
  /** Omit the null entry that ends the children (producers that do: libdw tolerates it at the unit end). */
  noTerminator?: boolean;
}

export interface UnitSpec {
  version: 2 | 3 | 4 | 5;
  unitType?: number;
  addressSize?: 4 | 8;
  offsetSize?: 4 | 8;
  /** DWARF 5 type units: signature and the label of the type DIE. */
  signature?: bigint;
  typeLabel?: string;
  root: DieSpec;
  /** Extra bytes after the DIEs, inside the unit (padding). */
  trailing?: Uint8Array;
}

export interface RelocRecord {
  section: '.debug_info';
  offset: number;
  size: number;
  symbol: string;
  addend: bigint;
  type?: number;
}

export interface BuiltDwarf {
  sections: Map<string, Uint8Array>;
  /** label -> .debug_info offset */
  dies: Map<string, number>;
  /** unit index -> offset of its header */
  units: number[];
  relocs: RelocRecord[];
  strOffsetsBase: number;
  addrBase: number;
}

export interface BuildOptions {
  littleEndian: boolean;
  units: UnitSpec[];
  /** Strings of .debug_str_offsets, by index (for strx forms, whose values are indexes). */
  strOffsets?: string[];
  /** Addresses of .debug_addr, by index (for addrx forms). */
  addrs?: bigint[];
  addrSize?: 4 | 8;
}

class Bytes {
  private buf = new Uint8Array(256);
  len = 0;
  constructor(readonly le: boolean) {}
  private ensure(n: number): void {
    if (this.len + n <= this.buf.length) return;
    let cap = this.buf.length * 2;
    while (cap < this.len + n) cap *= 2;
    const b = new Uint8Array(cap);
    b.set(this.buf.subarray(0, this.len));
    this.buf = b;
  }
  u8(v: number): void { this.ensure(1); this.buf[this.len++] = v & 0xff; }
  uint(v: bigint | number, size: number): void {
    let x = BigInt.asUintN(size * 8, BigInt(v));
    const bytes: number[] = [];
    for (let i = 0; i < size; i++) { bytes.push(Number(x & 0xffn)); x >>= 8n; }
    if (!this.le) bytes.reverse();
    for (const b of bytes) this.u8(b);
  }
  uleb(v: bigint | number, minLen = 1): void {
    let x = BigInt(v);
    let n = 0;
    do {
      let b = Number(x & 0x7fn);
      x >>= 7n;
      n++;
      if (x !== 0n || n < minLen) b |= 0x80;
      this.u8(b);
    } while (x !== 0n || n < minLen);
  }
  sleb(v: bigint | number): void {
    let x = BigInt(v);
    for (;;) {
      const b = Number(x & 0x7fn);
      x >>= 7n;
      const done = (x === 0n && (b & 0x40) === 0) || (x === -1n && (b & 0x40) !== 0);
      this.u8(done ? b : b | 0x80);
      if (done) return;
    }
  }
  raw(b: Uint8Array): void { this.ensure(b.length); this.buf.set(b, this.len); this.len += b.length; }
  cstr(s: string): void { this.raw(new TextEncoder().encode(s)); this.u8(0); }
  patch(at: number, v: bigint | number, size: number): void {
    const save = this.len;
    this.len = at;
    this.uint(v, size);
    this.len = save;
  }
  bytes(): Uint8Array { return this.buf.slice(0, this.len); }
}

/** A growing string section: each string once. */
class StrSection {
  private readonly b: Bytes;
  private readonly seen = new Map<string, number>();
  constructor(le: boolean) { this.b = new Bytes(le); }
  add(s: string): number {
    const hit = this.seen.get(s);
    if (hit !== undefined) return hit;
    const off = this.b.len;
    this.b.cstr(s);
    this.seen.set(s, off);
    return off;
  }
  get size(): number { return this.b.len; }
  bytes(): Uint8Array { return this.b.bytes(); }
}

function isRef(v: Value): v is RefValue { return typeof v === 'object' && v !== null && 'die' in v; }
function isReloc(v: Value): v is RelocValue { return typeof v === 'object' && v !== null && 'reloc' in v; }
function isIndirect(v: Value): v is IndirectValue { return typeof v === 'object' && v !== null && 'indirect' in v; }

export function buildDwarf(opts: BuildOptions): BuiltDwarf {
  const le = opts.littleEndian;
  const info = new Bytes(le);
  const abbrev = new Bytes(le);
  const str = new StrSection(le);
  const lineStr = new StrSection(le);
  const abbrevCodes = new Map<string, number>();
  const abbrevList: { code: number; spec: string; tag: number; children: boolean; attrs: AttrSpec[] }[] = [];
  const dies = new Map<string, number>();
  const fixups: { at: number; size: number; label: string; unitStart: number; absolute: boolean; uleb: boolean }[] = [];
  const relocs: RelocRecord[] = [];
  const units: number[] = [];

  const codeFor = (d: DieSpec): number => {
    const attrs = d.attrs ?? [];
    const hasChildren = (d.children?.length ?? 0) > 0;
    const spec = `${d.tag}:${hasChildren}:${attrs.map((a) => `${a.at}/${a.form}${a.form === C.DW_FORM_implicit_const ? `=${String(a.value)}` : ''}`).join(',')}`;
    let code = abbrevCodes.get(spec);
    if (code === undefined) {
      code = abbrevList.length + 1;
      abbrevCodes.set(spec, code);
      abbrevList.push({ code, spec, tag: d.tag, children: hasChildren, attrs });
    }
    return code;
  };

  // .debug_str_offsets (DWARF 5 header: length, version 5, padding) and .debug_addr.
  let strOffsets: Uint8Array | undefined;
  const strOffsetsBase = 8;
  if (opts.strOffsets !== undefined) {
    const b = new Bytes(le);
    b.uint(4 + opts.strOffsets.length * 4, 4);
    b.uint(5, 2);
    b.uint(0, 2);
    for (const s of opts.strOffsets) b.uint(str.add(s), 4);
    strOffsets = b.bytes();
  }
  let addr: Uint8Array | undefined;
  const addrBase = 8;
  if (opts.addrs !== undefined) {
    const size = opts.addrSize ?? 8;
    const b = new Bytes(le);
    b.uint(4 + opts.addrs.length * size, 4);
    b.uint(5, 2);
    b.u8(size);
    b.u8(0);
    for (const a of opts.addrs) b.uint(a, size);
    addr = b.bytes();
  }

  for (const u of opts.units) {
    const unitStart = info.len;
    units.push(unitStart);
    const offSize = u.offsetSize ?? 4;
    const addrSize = u.addressSize ?? 8;
    if (offSize === 8) { info.uint(0xffffffff, 4); info.uint(0, 8); } else info.uint(0, 4);
    const lengthEnd = info.len;
    info.uint(u.version, 2);
    let typeOffsetAt = -1;
    if (u.version >= 5) {
      const ut = u.unitType ?? C.DW_UT_compile;
      info.u8(ut);
      info.u8(addrSize);
      info.uint(0, offSize);
      if (ut === C.DW_UT_skeleton || ut === C.DW_UT_split_compile || ut === C.DW_UT_type || ut === C.DW_UT_split_type) {
        info.uint(u.signature ?? 0n, 8);
        if (ut === C.DW_UT_type || ut === C.DW_UT_split_type) { typeOffsetAt = info.len; info.uint(0, offSize); }
      }
    } else {
      info.uint(0, offSize);
      info.u8(addrSize);
    }

    const writeValue = (form: number, v: Value, d: DieSpec): void => {
      if (isReloc(v)) {
        const size = form === C.DW_FORM_addr ? addrSize : form === C.DW_FORM_data4 ? 4 : form === C.DW_FORM_data8 ? 8 : form === C.DW_FORM_sec_offset || form === C.DW_FORM_strp || form === C.DW_FORM_line_strp || form === C.DW_FORM_ref_addr ? offSize : form === C.DW_FORM_data2 ? 2 : form === C.DW_FORM_data1 ? 1 : -1;
        if (size < 0) throw new Error(`dwarf-builder: reloc on form ${form}`);
        const r: RelocRecord = { section: '.debug_info', offset: info.len, size, symbol: v.reloc.symbol, addend: v.reloc.addend ?? 0n };
        if (v.reloc.type !== undefined) r.type = v.reloc.type;
        relocs.push(r);
        info.uint(0, size);
        return;
      }
      switch (form) {
        case C.DW_FORM_addr: info.uint(v as bigint, addrSize); return;
        case C.DW_FORM_data1: case C.DW_FORM_ref1: case C.DW_FORM_flag: case C.DW_FORM_strx1: case C.DW_FORM_addrx1:
          if (isRef(v)) { fixups.push({ at: info.len, size: 1, label: v.die, unitStart, absolute: false, uleb: false }); info.u8(0); return; }
          info.u8(Number(v)); return;
        case C.DW_FORM_data2: case C.DW_FORM_ref2: case C.DW_FORM_strx2: case C.DW_FORM_addrx2:
          if (isRef(v)) { fixups.push({ at: info.len, size: 2, label: v.die, unitStart, absolute: false, uleb: false }); info.uint(0, 2); return; }
          info.uint(v as number, 2); return;
        case C.DW_FORM_strx3: case C.DW_FORM_addrx3: info.uint(v as number, 3); return;
        case C.DW_FORM_data4: case C.DW_FORM_ref4: case C.DW_FORM_strx4: case C.DW_FORM_addrx4:
          if (isRef(v)) { fixups.push({ at: info.len, size: 4, label: v.die, unitStart, absolute: false, uleb: false }); info.uint(0, 4); return; }
          info.uint(v as number, 4); return;
        case C.DW_FORM_data8: case C.DW_FORM_ref8: case C.DW_FORM_ref_sig8:
          if (isRef(v)) { fixups.push({ at: info.len, size: 8, label: v.die, unitStart, absolute: false, uleb: false }); info.uint(0, 8); return; }
          info.uint(v as bigint, 8); return;
        case C.DW_FORM_data16: info.raw(v as Uint8Array); return;
        case C.DW_FORM_sdata: info.sleb(v as bigint); return;
        case C.DW_FORM_udata: case C.DW_FORM_strx: case C.DW_FORM_addrx: case C.DW_FORM_loclistx: case C.DW_FORM_rnglistx:
          info.uleb(v as bigint); return;
        case C.DW_FORM_ref_udata:
          if (isRef(v)) { fixups.push({ at: info.len, size: 4, label: v.die, unitStart, absolute: false, uleb: true }); info.uleb(0, 4); return; }
          info.uleb(v as number); return;
        case C.DW_FORM_ref_addr:
          fixups.push({ at: info.len, size: u.version === 2 ? addrSize : offSize, label: (v as RefValue).die, unitStart, absolute: true, uleb: false });
          info.uint(0, u.version === 2 ? addrSize : offSize); return;
        case C.DW_FORM_string: info.cstr(v as string); return;
        case C.DW_FORM_strp: info.uint(typeof v === 'string' ? str.add(v) : (v as number), offSize); return;
        case C.DW_FORM_line_strp: info.uint(typeof v === 'string' ? lineStr.add(v) : (v as number), offSize); return;
        case C.DW_FORM_sec_offset: info.uint(v as number, offSize); return;
        case C.DW_FORM_flag_present: case C.DW_FORM_implicit_const: return;
        case C.DW_FORM_exprloc: case C.DW_FORM_block: { const b = v as Uint8Array; info.uleb(b.length); info.raw(b); return; }
        case C.DW_FORM_block1: { const b = v as Uint8Array; info.u8(b.length); info.raw(b); return; }
        case C.DW_FORM_block2: { const b = v as Uint8Array; info.uint(b.length, 2); info.raw(b); return; }
        case C.DW_FORM_block4: { const b = v as Uint8Array; info.uint(b.length, 4); info.raw(b); return; }
        case C.DW_FORM_indirect: {
          if (!isIndirect(v)) throw new Error('dwarf-builder: DW_FORM_indirect needs { indirect, value }');
          info.uleb(v.indirect);
          writeValue(v.indirect, v.value, d);
          return;
        }
        default:
          // Unknown forms: raw bytes when given (for malformed-input tests).
          if (v instanceof Uint8Array) { info.raw(v); return; }
          throw new Error(`dwarf-builder: form 0x${form.toString(16)}`);
      }
    };

    const writeDie = (d: DieSpec): void => {
      if (d.label !== undefined) dies.set(d.label, info.len);
      info.uleb(codeFor(d));
      for (const a of d.attrs ?? []) writeValue(a.form, a.value, d);
      if ((d.children?.length ?? 0) > 0) {
        for (const c of d.children ?? []) writeDie(c);
        if (!d.noTerminator) info.u8(0);
      }
    };
    writeDie(u.root);
    if (u.trailing !== undefined) info.raw(u.trailing);
    const length = info.len - lengthEnd;
    if (offSize === 8) info.patch(unitStart + 4, length, 8);
    else info.patch(unitStart, length, 4);
    if (typeOffsetAt >= 0) {
      const t = dies.get(u.typeLabel ?? '');
      if (t === undefined) throw new Error('dwarf-builder: type unit without typeLabel');
      info.patch(typeOffsetAt, t - unitStart, offSize);
    }
  }
  for (const f of fixups) {
    const target = dies.get(f.label);
    if (target === undefined) throw new Error(`dwarf-builder: no DIE labelled ${f.label}`);
    const v = f.absolute ? target : target - f.unitStart;
    if (f.uleb) {
      // A 4-byte (padded) ULEB128.
      for (let i = 0; i < 4; i++) info.patch(f.at + i, ((v >> (7 * i)) & 0x7f) | (i < 3 ? 0x80 : 0), 1);
    } else {
      info.patch(f.at, v, f.size);
    }
  }

  for (const a of abbrevList) {
    abbrev.uleb(a.code);
    abbrev.uleb(a.tag);
    abbrev.u8(a.children ? 1 : 0);
    for (const at of a.attrs) {
      abbrev.uleb(at.at);
      abbrev.uleb(at.form);
      if (at.form === C.DW_FORM_implicit_const) abbrev.sleb(at.value as bigint);
    }
    abbrev.uleb(0);
    abbrev.uleb(0);
  }
  abbrev.u8(0);

  const sections = new Map<string, Uint8Array>([['.debug_info', info.bytes()], ['.debug_abbrev', abbrev.bytes()]]);
  if (str.size > 0) sections.set('.debug_str', str.bytes());
  if (lineStr.size > 0) sections.set('.debug_line_str', lineStr.bytes());
  if (strOffsets !== undefined) sections.set('.debug_str_offsets', strOffsets);
  if (addr !== undefined) sections.set('.debug_addr', addr);
  return { sections, dies, units, relocs, strOffsetsBase, addrBase };
}

/** Elf64_Rela / Elf32_Rela records (r_offset, r_info, r_addend) in the given byte order. */
export function relaBytes(entries: { offset: number; sym: number; type: number; addend?: bigint }[], is64: boolean, le: boolean): Uint8Array {
  const b = new Bytes(le);
  for (const e of entries) {
    if (is64) {
      b.uint(e.offset, 8);
      b.uint((BigInt(e.sym) << 32n) | BigInt(e.type), 8);
      b.uint(e.addend ?? 0n, 8);
    } else {
      b.uint(e.offset, 4);
      b.uint((e.sym << 8) | e.type, 4);
      b.uint(e.addend ?? 0n, 4);
    }
  }
  return b.bytes();
}

/** Elf32_Rel / Elf64_Rel records (no addend). */
export function relBytes(entries: { offset: number; sym: number; type: number }[], is64: boolean, le: boolean): Uint8Array {
  const b = new Bytes(le);
  for (const e of entries) {
    if (is64) {
      b.uint(e.offset, 8);
      b.uint((BigInt(e.sym) << 32n) | BigInt(e.type), 8);
    } else {
      b.uint(e.offset, 4);
      b.uint((e.sym << 8) | e.type, 4);
    }
  }
  return b.bytes();
}

/** A little byte writer for hand-made sections (.debug_loclists, .debug_line...). */
export function byteWriter(le: boolean): {
  u8(v: number): void; uint(v: bigint | number, size: number): void; uleb(v: bigint | number): void; sleb(v: bigint | number): void;
  cstr(s: string): void; raw(b: Uint8Array): void; patch(at: number, v: bigint | number, size: number): void; readonly len: number; bytes(): Uint8Array;
} {
  const b = new Bytes(le);
  return {
    u8: (v) => b.u8(v), uint: (v, s) => b.uint(v, s), uleb: (v) => b.uleb(v), sleb: (v) => b.sleb(v), cstr: (s) => b.cstr(s),
    raw: (x) => b.raw(x), patch: (at, v, s) => b.patch(at, v, s), get len() { return b.len; }, bytes: () => b.bytes(),
  };
}

/** An expression from opcodes and operand bytes. */
export function expr(...parts: (number | number[])[]): Uint8Array {
  return Uint8Array.from(parts.flat());
}
