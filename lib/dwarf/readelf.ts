/**
 * What lib/dwarf reads, printed in the exact text of elfutils 0.196
 * `eu-readelf -N --debug-dump=info|loc|ranges` (src/readelf.c print_debug_units,
 * attr_callback, print_ops, print_debug_loc[lists]_section, print_debug_r[a]ng[e]lists_section),
 * so that the reader can be checked line for line against libdw/libdwfl on real modules.
 *
 * -N (numeric addresses): addresses print as <section>+<offset> in libdwfl's layout with
 * eu-readelf's base 0 (the Dwarf must be opened with base READELF_OFFLINE_BASE), without
 * symbol names. Output is produced in chunks: a module's dump can be hundreds of MB.
 */
import { ET_REL, SHF_ALLOC, SHT_PROGBITS } from '../elf/constants.js';
import { isModbtfError } from '../errors.js';
import type { DwarfAttribute } from './attribute.js';
import * as C from './constants.js';
import { Cursor } from './cursor.js';
import type { Dwarf } from './dwarf.js';
import * as N from './names.js';
import type { DwarfSection, DwarfSectionName } from './sections.js';
import type { DwarfUnit } from './unit.js';
import type { LineFiles } from './lines.js';

export type ReadelfDumpPart = 'info' | 'loc' | 'ranges';

const MASK64 = (1n << 64n) - 1n;
const CHUNK = 1 << 16;

// ------------------------------------------------------------------ printf helpers

function hex(v: bigint | number): string { return v.toString(16); }

/** printf("%#x"): 0 prints as "0". */
function hashHex(v: bigint): string { return v === 0n ? '0' : `0x${hex(v)}`; }

/** printf("%#0*x", width): zero-padded to `width` including the 0x (none for 0). */
function hashHexPad(v: bigint, width: number): string {
  if (v === 0n) return '0'.repeat(width);
  return `0x${hex(v).padStart(width - 2, '0')}`;
}

function pad(s: string | number | bigint, w: number): string { return String(s).padStart(w, ' '); }
function padEnd(s: string, w: number): string { return s.padEnd(w, ' '); }
function sp(n: number): string { return n > 0 ? ' '.repeat(n) : ''; }

function s64(v: bigint): bigint { return BigInt.asIntN(64, v); }
function u64(v: bigint): bigint { return BigInt.asUintN(64, v); }

// ------------------------------------------------------------------ names (readelf string_or_unknown)

function unknown(code: number, lo: number, hi: number, printNum: boolean): string {
  if (lo !== 0 && code >= lo && code <= hi) return `lo_user+${hashHex(BigInt(code - lo))}`;
  return printNum ? `??? (${hashHex(BigInt(code))})` : '???';
}
const tagName = (t: number): string => N.DW_TAG_NAMES.get(t) ?? unknown(t, 0x4080, 0xffff, true);
const attrName = (a: number): string => N.DW_AT_NAMES.get(a) ?? unknown(a, 0x2000, 0x3fff, true);
const formName = (f: number): string => N.DW_FORM_NAMES.get(f) ?? unknown(f, 0, 0, true);
const unitName = (u: number): string => N.DW_UT_NAMES.get(u) ?? unknown(u, 0x80, 0xff, true);
const rleName = (k: number): string => N.DW_RLE_NAMES.get(k) ?? unknown(k, 0, 0, false);
const lleName = (k: number): string => (k === C.DW_LLE_GNU_view_pair ? 'GNU_view_pair' : N.DW_LLE_NAMES.get(k) ?? unknown(k, 0, 0, false));
const opName = (op: number): string => N.DW_OP_NAMES.get(op) ?? (op >= 0xe0 ? `lo_user+${hashHex(BigInt(op - 0xe0))}` : `??? (${hashHex(BigInt(op))})`);

function valueName(attr: number, v: bigint): string | undefined {
  const n = v > 0xffffffffn ? -1 : Number(v);
  const from = (m: ReadonlyMap<number, string>, lo: number, hi: number): string => m.get(n) ?? unknown(n, lo, hi, false);
  switch (attr) {
    case C.DW_AT_language: return from(N.DW_LANG_NAMES, 0x8000, 0xffff);
    case C.DW_AT_language_name: return from(N.DW_LNAME_NAMES, 0x8000, 0xffff);
    case C.DW_AT_encoding: return from(N.DW_ATE_NAMES, 0x80, 0xff);
    case 0x32: return from(N.DW_ACCESS_NAMES, 0, 0); // accessibility
    case C.DW_AT_defaulted: return from(N.DW_DEFAULTED_NAMES, 0, 0);
    case C.DW_AT_visibility: return from(N.DW_VIS_NAMES, 0, 0);
    case C.DW_AT_virtuality: return from(N.DW_VIRTUALITY_NAMES, 0, 0);
    case C.DW_AT_identifier_case: return from(N.DW_ID_NAMES, 0, 0);
    case C.DW_AT_calling_convention: return from(N.DW_CC_NAMES, 0x40, 0xff);
    case C.DW_AT_inline: return from(N.DW_INL_NAMES, 0, 0);
    case 0x09: return from(N.DW_ORD_NAMES, 0, 0); // ordering
    default: return undefined;
  }
}

// ------------------------------------------------------------------ list pointers (readelf notice_listptr)

interface ListPtr {
  offset: number;
  addressSize: number;
  offsetSize: number;
  unit: DwarfUnit;
  attr: number;
}

class ListPtrTable {
  readonly items: ListPtr[] = [];
  add(p: ListPtr): void { this.items.push(p); }
  sort(): void { this.items.sort((a, b) => a.offset - b.offset); }
}

/** readelf's printer state over one file. */
class Printer {
  readonly d: Dwarf;
  readonly parts: ReadonlySet<ReadelfDumpPart>;
  out: string[] = [];
  size = 0;
  readonly locs = new ListPtrTable();
  readonly loclists = new ListPtrTable();
  readonly ranges = new ListPtrTable();
  readonly rnglists = new ListPtrTable();
  private readonly sections: { name: string; start: bigint; end: bigint; index: number }[];
  private readonly filesCache = new Map<DwarfUnit, LineFiles | null>();

  constructor(d: Dwarf, parts: ReadonlySet<ReadelfDumpPart>) {
    this.d = d;
    this.parts = parts;
    // libdwfl cache_sections: SHF_ALLOC sections sorted by (start, end, index).
    const elf = d.elf;
    this.sections = [];
    if (elf.type === ET_REL) {
      for (const s of elf.sections) {
        if (s.index === 0 || (s.flags & SHF_ALLOC) === 0) continue;
        const start = d.sectionAddresses[s.index] as bigint;
        this.sections.push({ name: s.name, start, end: u64(start + BigInt(s.size)), index: s.index });
      }
      this.sections.sort((a, b) => (a.start < b.start ? -1 : a.start > b.start ? 1 : a.end < b.end ? -1 : a.end > b.end ? 1 : a.index - b.index));
    }
  }

  w(s: string): void {
    this.out.push(s);
    this.size += s.length;
  }

  flush(): string | undefined {
    if (this.size < CHUNK) return undefined;
    return this.take();
  }

  take(): string {
    const s = this.out.join('');
    this.out = [];
    this.size = 0;
    return s;
  }

  /** print_dwarf_addr with -N: "<section>+<offset>" when the address is in a section. */
  addr(addressSize: number, address: bigint): string {
    let scn: string | undefined;
    let a = address;
    // libdwfl find_section: binary search; a section's end counts as inside it unless the next starts there.
    const secs = this.sections;
    let l = 0;
    let u = secs.length;
    while (l < u) {
      const idx = (l + u) >>> 1;
      const s = secs[idx] as (typeof secs)[number];
      if (a < s.start) u = idx;
      else if (a > s.end) l = idx + 1;
      else {
        let i = idx;
        if (a === s.end && i + 1 < secs.length && a === (secs[i + 1] as (typeof secs)[number]).start) i++;
        const hit = secs[i] as (typeof secs)[number];
        a -= hit.start;
        scn = hit.name;
        break;
      }
    }
    const num = addressSize === 0 ? hashHex(a) : hashHexPad(a, 2 + addressSize * 2);
    return scn !== undefined ? `${scn}+${num}` : num;
  }

  files(u: DwarfUnit): LineFiles | undefined {
    let f = this.filesCache.get(u);
    if (f === undefined) {
      f = this.d.files(u) ?? null;
      this.filesCache.set(u, f);
    }
    return f ?? undefined;
  }
}

// ------------------------------------------------------------------ entry point

/**
 * The text `eu-readelf -N --debug-dump=<parts>` prints for the file, in chunks. The
 * Dwarf must have been opened with `base: READELF_OFFLINE_BASE` for the addresses to be
 * eu-readelf's.
 */
export function* readelfDebugDump(d: Dwarf, parts: readonly ReadelfDumpPart[]): Generator<string> {
  const p = new Printer(d, new Set(parts));
  const wantInfo = p.parts.has('info');
  // readelf handles .debug_info first (printed, or silently when only lists are asked for:
  // they need its units), then the other sections in section header order.
  if (wantInfo) yield* printInfo(p, false);
  else if (p.parts.has('loc') || p.parts.has('ranges')) for (const _ of printInfo(p, true)) { /* silent pass */ }
  for (const s of d.elf.sections) {
    if (s.type !== SHT_PROGBITS) continue;
    const name = s.name;
    if (name === '.debug_loc' && p.parts.has('loc')) yield* printLoc(p);
    else if (name === '.debug_loclists' && p.parts.has('loc')) yield* printLoclists(p);
    else if (name === '.debug_ranges' && p.parts.has('ranges')) yield* printRanges(p);
    else if (name === '.debug_rnglists' && p.parts.has('ranges')) yield* printRnglists(p);
  }
  const rest = p.take();
  if (rest.length > 0) yield rest;
}

function sectionHeader(p: Printer, name: DwarfSectionName): DwarfSection | undefined {
  const sec = p.d.section(name);
  const elfSec = p.d.sections.elfSection(name);
  if (sec === undefined || elfSec === undefined) return undefined;
  p.w(`\nDWARF section [${pad(elfSec.index, 2)}] '${elfSec.name}' at offset ${hashHex(BigInt(elfSec.offset))}:\n`);
  return sec;
}

// ------------------------------------------------------------------ .debug_info

function* printInfo(p: Printer, silent: boolean): Generator<string> {
  const d = p.d;
  if (!silent) {
    const elfSec = d.sections.elfSection('.debug_info');
    if (elfSec === undefined) return;
    p.w(`\nDWARF section [${pad(elfSec.index, 2)}] '${elfSec.name}' at offset ${hashHex(BigInt(elfSec.offset))}:\n [Offset]\n`);
  }
  for (const u of d.units) {
    if (!silent) {
      p.w(` Compilation unit at offset ${u.offset}:\n Version: ${u.version}, Abbreviation section offset: ${u.abbrevOffset}, Address size: ${u.addressSize}, Offset size: ${u.offsetSize}\n`);
      if (u.version >= 5 || (u.unitType !== C.DW_UT_compile && u.unitType !== C.DW_UT_partial)) {
        p.w(` Unit type: ${unitName(u.unitType)} (${u.unitType})`);
        const t = u.unitType;
        if (t === C.DW_UT_type || t === C.DW_UT_skeleton || t === C.DW_UT_split_compile || t === C.DW_UT_split_type) {
          p.w(`, Unit id: 0x${hex(u.unitId).padStart(16, '0')}`);
        }
        if (t === C.DW_UT_type || t === C.DW_UT_split_type) {
          p.w(`, Unit DIE off: ${hashHex(BigInt(u.typeOffset))} [${hex(u.offset + u.typeOffset)}]`);
        }
        p.w('\n');
      }
    }
    const idx = u.index();
    const depth = new Int32Array(idx.count);
    for (let i = 0; i < idx.count; i++) {
      const parent = idx.parents[i] as number;
      const level = parent < 0 ? 0 : (depth[parent] as number) + 1;
      depth[i] = level;
      const die = idx.offsets[i] as number;
      const abbrev = u.abbrevs.abbrevs[idx.abbrevs[i] as number];
      if (abbrev === undefined) continue;
      if (!silent) p.w(` [${pad(hex(die), 6)}]  ${sp(level * 2)}${padEnd(tagName(abbrev.tag), 20)} abbrev: ${abbrev.code}\n`);
      for (const a of d.attrs(die)) printAttr(p, u, die, level, a, silent);
      const chunk = p.flush();
      if (chunk !== undefined && !silent) yield chunk;
      else if (chunk !== undefined) p.take();
    }
  }
}

function attrLine(level: number, a: DwarfAttribute): string {
  return `           ${sp(level * 2)}${padEnd(attrName(a.name), 20)} (${formName(a.form)}) `;
}

function printAttr(p: Printer, u: DwarfUnit, die: number, level: number, a: DwarfAttribute, silent: boolean): void {
  const d = p.d;
  const F = C;
  switch (a.form) {
    case F.DW_FORM_addr: case F.DW_FORM_addrx: case F.DW_FORM_addrx1: case F.DW_FORM_addrx2:
    case F.DW_FORM_addrx3: case F.DW_FORM_addrx4: case F.DW_FORM_GNU_addr_index: {
      if (silent) return;
      const addr = a.addr() as bigint;
      if (a.form !== F.DW_FORM_addr) p.w(`${attrLine(level, a)}[${hex(a.udata() as bigint)}] `);
      else p.w(attrLine(level, a));
      p.w(`${p.addr(u.addressSize, addr)}\n`);
      return;
    }
    case F.DW_FORM_strp: case F.DW_FORM_strp_sup: case F.DW_FORM_line_strp: case F.DW_FORM_strx:
    case F.DW_FORM_strx1: case F.DW_FORM_strx2: case F.DW_FORM_strx3: case F.DW_FORM_strx4:
    case F.DW_FORM_string: case F.DW_FORM_GNU_strp_alt: case F.DW_FORM_GNU_str_index:
      if (silent) return;
      p.w(`${attrLine(level, a)}"${a.string() as string}"\n`);
      return;
    case F.DW_FORM_ref_addr: case F.DW_FORM_ref_udata: case F.DW_FORM_ref8: case F.DW_FORM_ref4:
    case F.DW_FORM_ref2: case F.DW_FORM_ref1: case F.DW_FORM_GNU_ref_alt: case F.DW_FORM_ref_sup4:
    case F.DW_FORM_ref_sup8:
      if (silent) return;
      p.w(`${attrLine(level, a)}[${pad(hex(a.ref() as number), 6)}]\n`);
      return;
    case F.DW_FORM_ref_sig8:
      if (silent) return;
      p.w(`${attrLine(level, a)}{${pad(hex(a.signature() as bigint), 6)}}\n`);
      return;
    case F.DW_FORM_sec_offset: case F.DW_FORM_rnglistx: case F.DW_FORM_loclistx: case F.DW_FORM_implicit_const:
    case F.DW_FORM_udata: case F.DW_FORM_sdata: case F.DW_FORM_data8: case F.DW_FORM_data4:
    case F.DW_FORM_data2: case F.DW_FORM_data1:
      printConstant(p, u, die, level, a, silent);
      return;
    case F.DW_FORM_flag:
      if (silent) return;
      p.w(`${attrLine(level, a)}${a.flag() === true ? 'yes' : 'no'}\n`);
      return;
    case F.DW_FORM_flag_present:
      if (silent) return;
      p.w(`${attrLine(level, a)}yes\n`);
      return;
    case F.DW_FORM_exprloc: case F.DW_FORM_block4: case F.DW_FORM_block2: case F.DW_FORM_block1:
    case F.DW_FORM_block: case F.DW_FORM_data16: {
      if (silent) return;
      const block = a.block() as Uint8Array;
      p.w(attrLine(level, a));
      printBlockAttr(p, u, die, level, a, block);
      return;
    }
    default:
      if (silent) return;
      p.w(`${attrLine(level, a)}???\n`);
      void d;
  }
}

function notice(table: ListPtrTable, u: DwarfUnit, offset: bigint, attr: number): void {
  table.add({ offset: Number(offset), addressSize: u.addressSize, offsetSize: u.offsetSize, unit: u, attr });
}

function printConstant(p: Printer, u: DwarfUnit, die: number, level: number, a: DwarfAttribute, silent: boolean): void {
  const num = a.udata() as bigint;
  const v = u.version;
  let valuestr: string | undefined;
  let asHexId = false;
  const L = (what: string): void => { if (!silent) p.w(`${attrLine(level, a)}${what} [${pad(hex(num), 6)}]\n`); };
  // A constant DW_AT_data_member_location prints as a number; otherwise it is a location list.
  if (a.name === C.DW_AT_data_member_location && a.form !== C.DW_FORM_sec_offset && (v >= 4 || (a.form !== C.DW_FORM_data4 && a.form !== C.DW_FORM_data8))) {
    if (!silent) p.w(`${attrLine(level, a)}${num}\n`);
    return;
  }
  switch (a.name) {
    case C.DW_AT_data_member_location:
    case C.DW_AT_location: case C.DW_AT_data_location: case C.DW_AT_vtable_elem_location:
    case C.DW_AT_string_length: case C.DW_AT_use_location: case C.DW_AT_frame_base: case C.DW_AT_return_addr:
    case C.DW_AT_static_link: case C.DW_AT_segment: case C.DW_AT_GNU_call_site_value:
    case C.DW_AT_GNU_call_site_data_value: case C.DW_AT_GNU_call_site_target:
    case C.DW_AT_GNU_call_site_target_clobbered: case C.DW_AT_GNU_locviews:
      if (v < 5) {
        if (p.parts.has('loc')) notice(p.locs, u, num, a.name);
      } else if (a.form === C.DW_FORM_sec_offset && p.parts.has('loc')) {
        notice(p.loclists, u, num, a.name);
      }
      if (!silent) {
        if (v < 5 || a.form === C.DW_FORM_sec_offset) L('location list');
        else L('location index');
      }
      return;
    case C.DW_AT_loclists_base:
      if (p.parts.has('loc')) notice(p.loclists, u, num, a.name);
      L('location list');
      return;
    case C.DW_AT_ranges: case C.DW_AT_start_scope:
      if (v < 5) {
        if (p.parts.has('ranges')) notice(p.ranges, u, num, a.name);
      } else if (a.form === C.DW_FORM_sec_offset && p.parts.has('ranges')) {
        notice(p.rnglists, u, num, a.name);
      }
      if (!silent) {
        if (v < 5 || a.form === C.DW_FORM_sec_offset) L('range list');
        else L('range index');
      }
      return;
    case C.DW_AT_rnglists_base:
      if (p.parts.has('ranges')) notice(p.rnglists, u, num, a.name);
      L('range list');
      return;
    case C.DW_AT_addr_base: case C.DW_AT_GNU_addr_base:
      L('address base');
      return;
    case C.DW_AT_str_offsets_base:
      L('str offsets base');
      return;
    case C.DW_AT_decl_file: case C.DW_AT_call_file: {
      if (silent) return;
      const files = p.files(u);
      const f = files !== undefined && num < BigInt(files.files.length) ? files.files[Number(num)] : undefined;
      valuestr = f === undefined ? '???' : f.slice(f.lastIndexOf('/') + 1);
      break;
    }
    case C.DW_AT_GNU_dwo_id:
      asHexId = true;
      break;
    default:
      valuestr = valueName(a.name, num);
  }
  if (silent) return;
  if (a.name === C.DW_AT_high_pc) {
    const high = p.d.highPc(die);
    if (high !== undefined) {
      p.w(`${attrLine(level, a)}${num} (${p.addr(u.addressSize, high)})\n`);
      return;
    }
  }
  if (asHexId) {
    p.w(`${attrLine(level, a)}0x${hex(num).padStart(16, '0')}\n`);
    return;
  }
  let isSigned: boolean;
  let bytes = 0;
  let snum = 0n;
  if (a.name === C.DW_AT_const_value) {
    const t = typeSignBytes(p.d, die);
    isSigned = t.signed;
    bytes = t.bytes;
  } else {
    isSigned = a.form === C.DW_FORM_sdata || a.form === C.DW_FORM_implicit_const;
  }
  if (isSigned) snum = a.sdata() as bigint;
  let text: string;
  switch (bytes) {
    case 1: text = isSigned ? String(BigInt.asIntN(8, snum)) : String(BigInt.asUintN(8, num)); break;
    case 2: text = isSigned ? String(BigInt.asIntN(16, snum)) : String(BigInt.asUintN(16, num)); break;
    case 4: text = isSigned ? String(BigInt.asIntN(32, snum)) : String(BigInt.asUintN(32, num)); break;
    case 8: text = isSigned ? String(s64(snum)) : String(u64(num)); break;
    default: text = isSigned ? String(s64(snum)) : String(u64(num));
  }
  if (a.name === C.DW_AT_const_value && (a.form === C.DW_FORM_sdata || a.form === C.DW_FORM_implicit_const) && !isSigned) {
    text += ` (${s64(num)})`;
  }
  p.w(valuestr === undefined ? `${attrLine(level, a)}${text}\n` : `${attrLine(level, a)}${valuestr} (${text})\n`);
}

/** readelf die_type_sign_bytes: signedness and size of the DIE's (peeled) type. */
function typeSignBytes(d: Dwarf, die: number): { signed: boolean; bytes: number } {
  try {
    const t0 = integrateRef(d, die, C.DW_AT_type);
    if (t0 === undefined) return { signed: false, bytes: 0 };
    const t = peelType(d, t0);
    if (t === undefined) return { signed: false, bytes: 0 };
    const enc = d.attrUdata(t, C.DW_AT_encoding);
    const signed = enc === BigInt(C.DW_ATE_signed) || enc === BigInt(C.DW_ATE_signed_char);
    const size = aggregateSize(d, t, 0);
    return { signed, bytes: size === undefined ? 0 : Number(BigInt.asIntN(32, size)) };
  } catch (e) {
    // libdw calls that fail leave readelf with "unsigned, size unknown".
    if (!isModbtfError(e)) throw e;
    return { signed: false, bytes: 0 };
  }
}

/** dwarf_attr_integrate: the attribute here, or through abstract_origin / specification (16 hops). */
function integrate(d: Dwarf, die: number, name: number): DwarfAttribute | undefined {
  let cur: number | undefined = die;
  for (let chain = 16; cur !== undefined && chain >= 0; chain--) {
    const a = d.attr(cur, name);
    if (a !== undefined) return a;
    const next: DwarfAttribute | undefined = d.attr(cur, C.DW_AT_abstract_origin) ?? d.attr(cur, C.DW_AT_specification);
    if (next === undefined) return undefined;
    cur = next.ref();
  }
  return undefined;
}

function integrateRef(d: Dwarf, die: number, name: number): number | undefined {
  return integrate(d, die, name)?.ref();
}

const PEELED = new Set([C.DW_TAG_typedef, C.DW_TAG_const_type, C.DW_TAG_volatile_type, C.DW_TAG_restrict_type, C.DW_TAG_atomic_type, C.DW_TAG_immutable_type, C.DW_TAG_packed_type, C.DW_TAG_shared_type]);

/** dwarf_peel_type */
function peelType(d: Dwarf, die: number): number | undefined {
  let cur = die;
  let tag = d.tag(cur);
  let max = 64;
  while (PEELED.has(tag) && max-- > 0) {
    const next = integrateRef(d, cur, C.DW_AT_type);
    if (next === undefined) return undefined;
    cur = next;
    tag = d.tag(cur);
  }
  return max <= 0 ? undefined : cur;
}

/** dwarf_aggregate_size (the parts eu-readelf can reach through a DW_AT_const_value's type). */
function aggregateSize(d: Dwarf, die: number, depth: number): bigint | undefined {
  if (depth >= 256) return undefined;
  const bs = integrate(d, die, C.DW_AT_byte_size);
  if (bs !== undefined) return bs.udata();
  switch (d.tag(die)) {
    case C.DW_TAG_subrange_type: {
      const t = integrateRef(d, die, C.DW_AT_type);
      const peeled = t === undefined ? undefined : peelType(d, t);
      return peeled === undefined ? undefined : aggregateSize(d, peeled, depth + 1);
    }
    case C.DW_TAG_pointer_type: case C.DW_TAG_reference_type: case C.DW_TAG_rvalue_reference_type:
      return BigInt(d.unitOf(die).addressSize);
    default:
      return undefined;
  }
}

function printBlockAttr(p: Printer, u: DwarfUnit, die: number, level: number, a: DwarfAttribute, block: Uint8Array): void {
  switch (a.name) {
    case C.DW_AT_location: case C.DW_AT_data_location: case C.DW_AT_data_member_location:
    case C.DW_AT_vtable_elem_location: case C.DW_AT_string_length: case C.DW_AT_use_location:
    case C.DW_AT_frame_base: case C.DW_AT_return_addr: case C.DW_AT_static_link: case C.DW_AT_allocated:
    case C.DW_AT_associated: case C.DW_AT_bit_size: case C.DW_AT_bit_offset: case C.DW_AT_bit_stride:
    case C.DW_AT_byte_size: case C.DW_AT_byte_stride: case C.DW_AT_count: case C.DW_AT_lower_bound:
    case C.DW_AT_upper_bound: case C.DW_AT_GNU_call_site_value: case C.DW_AT_GNU_call_site_data_value:
    case C.DW_AT_GNU_call_site_target: case C.DW_AT_GNU_call_site_target_clobbered:
      if (a.form === C.DW_FORM_exprloc || (a.form !== C.DW_FORM_data16 && u.version < 4)) {
        p.w('\n');
        printOps(p, 12 + level * 2, 12 + level * 2, u.version, u.addressSize, u.offsetSize, u, block);
      } else {
        printBlock(p, block);
      }
      return;
    case C.DW_AT_discr_list:
      // Variant parts are not produced by C compilers; eu-readelf's decoding is not reproduced.
      printBlock(p, block);
      return;
    default:
      if (a.form !== C.DW_FORM_exprloc) printBlock(p, block);
      else {
        p.w('\n');
        printOps(p, 12 + level * 2, 12 + level * 2, u.version, u.addressSize, u.offsetSize, u, block);
      }
      void die;
  }
}

/** readelf print_block: note the missing newline after "empty block", as eu-readelf prints it. */
function printBlock(p: Printer, block: Uint8Array): void {
  if (block.length === 0) {
    p.w('empty block');
    return;
  }
  let s = `${block.length} byte block:`;
  for (const b of block) s += ` ${b.toString(16).padStart(2, '0')}`;
  p.w(`${s}\n`);
}

// ------------------------------------------------------------------ print_ops

function printOps(p: Printer, indent: number, indentRest: number, vers: number, addrSize: number, offsetSize: number, u: DwarfUnit | undefined, data: Uint8Array): void {
  const refSize = vers < 3 ? addrSize : offsetSize;
  if (data.length === 0) {
    p.w(`${sp(indent)}(empty)\n`);
    return;
  }
  const le = p.d.littleEndian;
  const dv = new DataView(data.buffer, data.byteOffset, data.length);
  let pos = 0;
  let offset = 0n;
  const end = data.length;
  const rdU = (n: number): bigint => {
    switch (n) {
      case 1: return BigInt(data[pos] as number);
      case 2: return BigInt(dv.getUint16(pos, le));
      case 4: return BigInt(dv.getUint32(pos, le));
      default: return dv.getBigUint64(pos, le);
    }
  };
  const uleb = (): bigint => {
    let v = 0n;
    let shift = 0n;
    for (let i = 0; pos < end; i++) {
      const c = data[pos++] as number;
      if (i < 10) v |= BigInt(c & 0x7f) << shift;
      shift += 7n;
      if (c < 0x80) break;
    }
    return u64(v);
  };
  const sleb = (): bigint => {
    let v = 0n;
    let shift = 0n;
    let c = 0;
    for (let i = 0; pos < end; i++) {
      c = data[pos++] as number;
      if (i < 10) v |= BigInt(c & 0x7f) << shift;
      shift += 7n;
      if (c < 0x80) break;
    }
    if (shift < 64n && (c & 0x40) !== 0) v -= 1n << shift;
    return s64(v);
  };
  while (pos < end) {
    const op = data[pos++] as number;
    const name = opName(op);
    const head = `${sp(indent)}[${pad(offset, 2)}] ${name}`;
    const left = (): number => end - pos;
    let truncated = false;
    const need = (n: number | bigint): boolean => {
      if (BigInt(left()) < BigInt(n)) { truncated = true; return false; }
      return true;
    };
    switch (op) {
      case C.DW_OP_addr: {
        if (!need(addrSize) || (addrSize !== 4 && addrSize !== 8)) { truncated = true; break; }
        const addr = rdU(addrSize);
        pos += addrSize;
        p.w(`${head} ${p.addr(0, addr)}\n`);
        offset += BigInt(1 + addrSize);
        break;
      }
      case C.DW_OP_call_ref: case C.DW_OP_GNU_variable_value: {
        if ((refSize !== 4 && refSize !== 8) || !need(refSize)) { truncated = true; break; }
        const v = rdU(refSize);
        pos += refSize;
        p.w(`${head} [${pad(hex(v), 6)}]\n`);
        offset += BigInt(1 + refSize);
        break;
      }
      case C.DW_OP_deref_size: case C.DW_OP_xderef_size: case C.DW_OP_pick: case C.DW_OP_const1u:
        if (!need(1)) break;
        p.w(`${head} ${data[pos] as number}\n`);
        pos++;
        offset += 2n;
        break;
      case C.DW_OP_const2u:
        if (!need(2)) break;
        p.w(`${head} ${dv.getUint16(pos, le)}\n`);
        pos += 2;
        offset += 3n;
        break;
      case C.DW_OP_const4u:
        if (!need(4)) break;
        p.w(`${head} ${dv.getUint32(pos, le)}\n`);
        pos += 4;
        offset += 5n;
        break;
      case C.DW_OP_const8u:
        if (!need(8)) break;
        p.w(`${head} ${dv.getBigUint64(pos, le)}\n`);
        pos += 8;
        offset += 9n;
        break;
      case C.DW_OP_const1s:
        if (!need(1)) break;
        p.w(`${head} ${dv.getInt8(pos)}\n`);
        pos++;
        offset += 2n;
        break;
      case C.DW_OP_const2s:
        if (!need(2)) break;
        p.w(`${head} ${dv.getInt16(pos, le)}\n`);
        pos += 2;
        offset += 3n;
        break;
      case C.DW_OP_const4s:
        if (!need(4)) break;
        p.w(`${head} ${dv.getInt32(pos, le)}\n`);
        pos += 4;
        offset += 5n;
        break;
      case C.DW_OP_const8s:
        if (!need(8)) break;
        p.w(`${head} ${dv.getBigInt64(pos, le)}\n`);
        pos += 8;
        offset += 9n;
        break;
      case C.DW_OP_piece: case C.DW_OP_regx: case C.DW_OP_plus_uconst: case C.DW_OP_constu: {
        const start = pos;
        if (!need(1)) break;
        const v = uleb();
        p.w(`${head} ${v}\n`);
        offset += BigInt(1 + pos - start);
        break;
      }
      case C.DW_OP_addrx: case C.DW_OP_GNU_addr_index: case C.DW_OP_constx: case C.DW_OP_GNU_const_index: {
        const start = pos;
        if (!need(1)) break;
        const v = uleb();
        p.w(`${head} [${v}] `);
        offset += BigInt(1 + pos - start);
        let addr: bigint | undefined;
        if (u !== undefined) {
          try { addr = indexedAddrForDump(p.d, u, v); } catch (e) { if (!isModbtfError(e)) throw e; addr = undefined; }
        }
        p.w(addr === undefined ? '???\n' : `${p.addr(0, addr)}\n`);
        break;
      }
      case C.DW_OP_bit_piece: {
        const start = pos;
        if (!need(1)) break;
        const a = uleb();
        if (!need(1)) break;
        const b = uleb();
        p.w(`${head} ${a}, ${b}\n`);
        offset += BigInt(1 + pos - start);
        break;
      }
      case C.DW_OP_fbreg: case C.DW_OP_consts: {
        const start = pos;
        if (!need(1)) break;
        const v = sleb();
        p.w(`${head} ${v}\n`);
        offset += BigInt(1 + pos - start);
        break;
      }
      case C.DW_OP_bregx: {
        const start = pos;
        if (!need(1)) break;
        const r = uleb();
        if (!need(1)) break;
        const v = sleb();
        p.w(`${head} ${r} ${v}\n`);
        offset += BigInt(1 + pos - start);
        break;
      }
      case C.DW_OP_call2:
        if (!need(2)) break;
        p.w(`${head} [${pad(hex(dv.getUint16(pos, le)), 6)}]\n`);
        pos += 2;
        offset += 3n;
        break;
      case C.DW_OP_call4:
        if (!need(4)) break;
        p.w(`${head} [${pad(hex(dv.getUint32(pos, le)), 6)}]\n`);
        pos += 4;
        offset += 5n;
        break;
      case C.DW_OP_skip: case C.DW_OP_bra:
        if (!need(2)) break;
        p.w(`${head} ${u64(offset + BigInt(dv.getInt16(pos, le)) + 3n)}\n`);
        pos += 2;
        offset += 3n;
        break;
      case C.DW_OP_implicit_value: {
        const start = pos;
        if (!need(1)) break;
        const n = uleb();
        p.w(`${sp(indent)}[${pad(offset, 2)}] ${name}: `);
        if (!need(n)) break;
        printBlock(p, data.subarray(pos, pos + Number(n)));
        pos += Number(n);
        offset += BigInt(1 + pos - start);
        break;
      }
      case C.DW_OP_implicit_pointer: case C.DW_OP_GNU_implicit_pointer: {
        const start = pos;
        if (!need(refSize) || (refSize !== 4 && refSize !== 8)) { truncated = true; break; }
        const target = rdU(refSize);
        pos += refSize;
        if (!need(1)) break;
        const v = sleb();
        p.w(`${head} [${pad(hex(target), 6)}] ${v >= 0n ? '+' : ''}${v}\n`);
        offset += BigInt(1 + pos - start);
        break;
      }
      case C.DW_OP_entry_value: case C.DW_OP_GNU_entry_value: {
        const start = pos;
        if (!need(1)) break;
        const n = uleb();
        p.w(`${sp(indent)}[${pad(offset, 2)}] ${name}:\n`);
        if (!need(n)) break;
        printOps(p, indent + 5, indent + 5, vers, addrSize, offsetSize, u, data.subarray(pos, pos + Number(n)));
        pos += Number(n);
        offset += BigInt(1 + pos - start);
        break;
      }
      case C.DW_OP_const_type: case C.DW_OP_GNU_const_type: {
        const start = pos;
        if (!need(1)) break;
        let t = uleb();
        if (u !== undefined) t += BigInt(u.offset);
        if (!need(1)) break;
        const n = data[pos++] as number;
        if (!need(n)) break;
        p.w(`${head} [${pad(hex(t), 6)}] `);
        printBlock(p, data.subarray(pos, pos + n));
        pos += n;
        offset += BigInt(1 + pos - start);
        break;
      }
      case C.DW_OP_regval_type: case C.DW_OP_GNU_regval_type: {
        const start = pos;
        if (!need(1)) break;
        const r = uleb();
        if (!need(1)) break;
        let t = uleb();
        if (u !== undefined) t += BigInt(u.offset);
        p.w(`${head} ${r} [${pad(hex(t), 6)}]\n`);
        offset += BigInt(1 + pos - start);
        break;
      }
      case C.DW_OP_deref_type: case C.DW_OP_GNU_deref_type: {
        const start = pos;
        if (!need(1)) break;
        const n = data[pos++] as number;
        if (!need(1)) break;
        let t = uleb();
        if (u !== undefined) t += BigInt(u.offset);
        p.w(`${head} ${n} [${pad(hex(t), 6)}]\n`);
        offset += BigInt(1 + pos - start);
        break;
      }
      case C.DW_OP_xderef_type: {
        const start = pos;
        if (!need(1)) break;
        const n = data[pos++] as number;
        if (!need(1)) break;
        const t = uleb();
        p.w(`${sp(indent)}[${pad(offset, 4)}] ${name} ${n} [${pad(hex(t), 6)}]\n`);
        offset += BigInt(1 + pos - start);
        break;
      }
      case C.DW_OP_convert: case C.DW_OP_GNU_convert: case C.DW_OP_reinterpret: case C.DW_OP_GNU_reinterpret: {
        const start = pos;
        if (!need(1)) break;
        let t = uleb();
        if (t !== 0n && u !== undefined) t += BigInt(u.offset);
        p.w(`${head} [${pad(hex(t), 6)}]\n`);
        offset += BigInt(1 + pos - start);
        break;
      }
      case C.DW_OP_GNU_parameter_ref: {
        if (!need(4)) break;
        let t = BigInt(dv.getUint32(pos, le));
        if (u !== undefined) t += BigInt(u.offset);
        p.w(`${head} [${pad(hex(t), 6)}]\n`);
        pos += 4;
        offset += 5n;
        break;
      }
      default:
        if (op >= C.DW_OP_breg0 && op <= C.DW_OP_breg31) {
          const start = pos;
          if (!need(1)) break;
          const v = sleb();
          p.w(`${head} ${v}\n`);
          offset += BigInt(1 + pos - start);
          break;
        }
        p.w(`${head}\n`);
        offset += 1n;
    }
    if (truncated) {
      p.w(`${sp(indent)}[${pad(offset, 2)}] ${name}  <TRUNCATED>\n`);
      return;
    }
    indent = indentRest;
  }
}

/** readelf get_indexed_addr: .debug_addr at the unit's addr base (undefined when out of range). */
function indexedAddrForDump(d: Dwarf, u: DwarfUnit, idx: bigint): bigint | undefined {
  const sec = d.section('.debug_addr');
  if (sec === undefined) return undefined;
  const base = BigInt(u.addrBase());
  const off = idx * BigInt(u.addressSize);
  const size = BigInt(sec.data.length);
  if (base > size || off > size - base || BigInt(u.addressSize) > size - base - off) return undefined;
  const c = new Cursor(sec, d.littleEndian, d.file, Number(base + off));
  return c.addr(u.addressSize);
}

// ------------------------------------------------------------------ lists

function unitBase(u: DwarfUnit): bigint {
  // readelf cudie_base: dwarf_lowpc, else DW_AT_entry_pc, else 0.
  try {
    return u.dwarf.lowPc(u.dieOffset) ?? u.dwarf.attr(u.dieOffset, C.DW_AT_entry_pc)?.addr() ?? 0n;
  } catch (e) {
    if (!isModbtfError(e)) throw e;
    return 0n;
  }
}

/** readelf skip_listptr_hole: true (and the message printed) when there is a gap before the next list. */
function skipHole(p: Printer, t: ListPtrTable, st: { idx: number; readp: number }, offset: number, endp: number): ListPtr | 'skip' | undefined {
  const items = t.items;
  if (items.length === 0) return undefined;
  while (st.idx < items.length && (items[st.idx] as ListPtr).offset < offset) st.idx++;
  const lp = items[st.idx];
  if (lp === undefined || lp.offset >= endp - st.readp + offset) {
    st.readp = endp;
    p.w(` [${pad(hex(offset), 6)}]  <UNUSED GARBAGE IN REST OF SECTION>\n`);
    return 'skip';
  }
  if (lp.offset !== offset) {
    st.readp += lp.offset - offset;
    p.w(` [${pad(hex(offset), 6)}]  <UNUSED GARBAGE> ... ${lp.offset - offset} bytes ...\n`);
    return 'skip';
  }
  return lp;
}

function nextListOffset(t: ListPtrTable, st: { idx: number }, off: number): number {
  const items = t.items;
  if (st.idx < items.length) {
    while (++st.idx < items.length) {
      const next = (items[st.idx] as ListPtr).offset;
      if (next > off) return next;
    }
  }
  return 0;
}

function* printRanges(p: Printer): Generator<string> {
  const sec = sectionHeader(p, '.debug_ranges');
  if (sec === undefined) return;
  const d = p.d;
  p.ranges.sort();
  const st = { idx: 0, readp: 0 };
  let addressSize = d.elf.is64 ? 8 : 4;
  let first = true;
  let base = 0n;
  const endp = sec.data.length;
  let lastUnit: DwarfUnit | undefined;
  while (st.readp < endp) {
    const offset = st.readp;
    let unit = lastUnit;
    if (first) {
      const lp = skipHole(p, p.ranges, st, offset, endp);
      if (lp === 'skip') continue;
      if (lp !== undefined) { addressSize = lp.addressSize; base = unitBase(lp.unit); unit = lp.unit; }
    }
    if (lastUnit !== unit) {
      p.w(unit === undefined ? '\n Unknown CU base: ' : `\n CU [${pad(hex(unit.dieOffset), 6)}] base: `);
      p.w(`${p.addr(addressSize, base)}\n`);
    }
    lastUnit = unit;
    if (endp - offset < addressSize * 2) {
      p.w(` [${pad(hex(offset), 6)}]  <INVALID DATA>\n`);
      break;
    }
    const c = new Cursor(sec, d.littleEndian, d.file, st.readp);
    let begin = c.addr(addressSize);
    const end = c.addr(addressSize);
    st.readp = c.pos;
    if (addressSize === 4 && begin === 0xffffffffn) begin = MASK64;
    if (begin === MASK64) {
      p.w(first ? ` [${pad(hex(offset), 6)}] ` : '          ');
      p.w(`base address\n          ${p.addr(addressSize, end)}\n`);
      base = end;
      first = false;
    } else if (begin === 0n && end === 0n) {
      if (first) p.w(` [${pad(hex(offset), 6)}] empty list\n`);
      first = true;
    } else {
      p.w(first ? ` [${pad(hex(offset), 6)}] ` : '          ');
      p.w(`range ${hex(begin)}, ${hex(end)}\n`);
      p.w(`          ${p.addr(addressSize, u64(base + begin))}..\n          ${p.addr(addressSize, u64(base + end - 1n))}\n`);
      first = false;
    }
    const chunk = p.flush();
    if (chunk !== undefined) yield chunk;
  }
}

function* printLoc(p: Printer): Generator<string> {
  const sec = sectionHeader(p, '.debug_loc');
  if (sec === undefined) return;
  const d = p.d;
  p.locs.sort();
  const st = { idx: 0, readp: 0 };
  let addressSize = d.elf.is64 ? 8 : 4;
  let offsetSize = 4;
  let first = true;
  let base = 0n;
  const endp = sec.data.length;
  let lastUnit: DwarfUnit | undefined;
  while (st.readp < endp) {
    const offset = st.readp;
    let unit = lastUnit;
    let attr = 0;
    if (first) {
      const lp = skipHole(p, p.locs, st, offset, endp);
      if (lp === 'skip') continue;
      if (lp !== undefined) { addressSize = lp.addressSize; offsetSize = lp.offsetSize; base = unitBase(lp.unit); unit = lp.unit; attr = lp.attr; }
    }
    if (lastUnit !== unit) {
      p.w(unit === undefined ? '\n Unknown CU base: ' : `\n CU [${pad(hex(unit.dieOffset), 6)}] base: `);
      p.w(`${p.addr(addressSize, base)}\n`);
    }
    lastUnit = unit;
    if (attr === C.DW_AT_GNU_locviews) {
      const next = nextListOffset(p.locs, st, offset);
      const locEnd = next === 0 || next > endp ? endp : next;
      const c = new Cursor(sec, d.littleEndian, d.file, st.readp, locEnd);
      while (c.pos < locEnd) {
        const v1 = lebLoose(c, locEnd);
        if (c.pos >= locEnd) { p.w(` [${pad(hex(offset), 6)}]  <INVALID DATA>\n`); break; }
        const v2 = lebLoose(c, locEnd);
        p.w(first ? ` [${pad(hex(offset), 6)}] ` : '          ');
        p.w(`view pair ${s64(v1)}, ${s64(v2)}\n`);
        first = false;
      }
      first = true;
      st.readp = locEnd;
      continue;
    }
    if (endp - offset < addressSize * 2) {
      p.w(` [${pad(hex(offset), 6)}]  <INVALID DATA>\n`);
      break;
    }
    const c = new Cursor(sec, d.littleEndian, d.file, st.readp);
    let begin = c.addr(addressSize);
    const end = c.addr(addressSize);
    st.readp = c.pos;
    if (addressSize === 4 && begin === 0xffffffffn) begin = MASK64;
    if (begin === MASK64) {
      p.w(first ? ` [${pad(hex(offset), 6)}] ` : '          ');
      p.w(`base address\n          ${p.addr(addressSize, end)}\n`);
      base = end;
      first = false;
    } else if (begin === 0n && end === 0n) {
      if (first) p.w(` [${pad(hex(offset), 6)}] empty list\n`);
      first = true;
    } else {
      const len = c.u16('expression length');
      st.readp = c.pos;
      p.w(first ? ` [${pad(hex(offset), 6)}] ` : '          ');
      p.w(`range ${hex(begin)}, ${hex(end)}\n`);
      p.w(`          ${p.addr(addressSize, u64(base + begin))}..\n          ${p.addr(addressSize, u64(base + end - 1n))}\n`);
      if (endp - st.readp <= len) {
        p.w('   <INVALID DATA>\n');
        break;
      }
      printOps(p, 11, 11, unit !== undefined ? unit.version : 3, addressSize, offsetSize, unit, sec.data.subarray(st.readp, st.readp + len));
      first = false;
      st.readp += len;
    }
    const chunk = p.flush();
    if (chunk !== undefined) yield chunk;
  }
}

/** get_uleb128 bounded by `end` (readelf's view pairs), never throwing. */
function lebLoose(c: Cursor, end: number): bigint {
  let v = 0n;
  let shift = 0n;
  for (let i = 0; c.pos < end; i++) {
    const b = c.bytes[c.pos++] as number;
    if (i < 10) v |= BigInt(b & 0x7f) << shift;
    shift += 7n;
    if (b < 0x80) break;
  }
  return u64(v);
}

interface ListsTable {
  offset: number;
  unitLength: number;
  offsetSize: number;
  next: number;
}

function* printLoclists(p: Printer): Generator<string> {
  yield* printLists(p, '.debug_loclists', p.loclists, true);
}

function* printRnglists(p: Printer): Generator<string> {
  yield* printLists(p, '.debug_rnglists', p.rnglists, false);
}

/** print_debug_loclists_section / print_debug_rnglists_section (DWARF 5 list tables). */
function* printLists(p: Printer, name: '.debug_loclists' | '.debug_rnglists', table: ListPtrTable, isLoc: boolean): Generator<string> {
  const sec = sectionHeader(p, name);
  if (sec === undefined) return;
  const d = p.d;
  table.sort();
  const lst = { idx: 0 };
  const dataEnd = sec.data.length;
  let readp = 0;
  while (readp < dataEnd) {
    if (readp > dataEnd - 4) return;
    const offset = readp;
    p.w(`Table at Offset 0x${hex(offset)}:\n\n`);
    const c = new Cursor(sec, d.littleEndian, d.file, readp);
    let unitLength = c.u32();
    let offsetSize = 4;
    if (unitLength === 0xffffffff) {
      if (c.pos > dataEnd - 8) return;
      unitLength = c.u64n();
      offsetSize = 8;
    }
    p.w(` Length:         ${pad(unitLength, 8)}\n`);
    if (c.pos > dataEnd - 8 || unitLength < 8 || unitLength > dataEnd - c.pos) return;
    const nexthdr = c.pos + unitLength;
    const tbl: ListsTable = { offset, unitLength, offsetSize, next: nexthdr };
    const version = c.u16();
    p.w(` DWARF version:  ${pad(version, 8)}\n`);
    let done = false;
    if (version !== 5) { done = true; readp = c.pos; }
    let addressSize = 0;
    if (!done) {
      addressSize = c.u8();
      p.w(` Address size:   ${pad(addressSize, 8)}\n`);
      if (addressSize !== 4 && addressSize !== 8) { done = true; readp = c.pos; }
    }
    let offsetEntries = 0;
    let unit: DwarfUnit | undefined;
    let cuBase = 0n;
    let arrayStart = 0;
    if (!done) {
      const seg = c.u8();
      p.w(` Segment size:   ${pad(seg, 8)}\n`);
      if (isLoc ? seg !== 0 : seg !== 0 && seg !== 4 && seg !== 8) { done = true; readp = c.pos; }
    }
    if (!done) {
      offsetEntries = c.u32();
      p.w(` Offset entries: ${pad(offsetEntries, 8)}\n`);
      // listptr_cu: the first list pointer inside this table gives the unit (and its base).
      const items = table.items;
      while (lst.idx < items.length && (items[lst.idx] as ListPtr).offset < offset) lst.idx++;
      const lp = items[lst.idx];
      if (lp !== undefined && lp.offset >= offset && lp.offset < nexthdr) {
        unit = lp.unit;
        cuBase = unitBase(lp.unit);
        p.w(` CU [${pad(hex(unit.dieOffset), 6)}] base: ${p.addr(addressSize, cuBase)}\n`);
      } else {
        p.w(' Not associated with a CU.\n');
      }
      p.w('\n');
      arrayStart = c.pos;
      if (offsetEntries > 0) {
        const max = Math.floor((unitLength - 8) / offsetSize);
        if (offsetEntries > max) offsetEntries = max;
        p.w(`  Offsets starting at 0x${hex(arrayStart)}:\n`);
        for (let i = 0; i < offsetEntries; i++) {
          const off = offsetSize === 4 ? BigInt(c.u32()) : c.u64();
          p.w(`   [${pad(i, 6)}] 0x${hex(off)}\n`);
        }
        p.w('\n');
      }
      c.end = nexthdr;
      let base = cuBase;
      let startOfList = true;
      try {
        while (c.pos < nexthdr) {
          const off = c.pos;
          if (isLoc && isLocviews(table, lst.idx, off)) {
            const st = { idx: lst.idx };
            const next = nextListOffset(table, st, off);
            lst.idx = st.idx;
            const locEnd = next === 0 || next > nexthdr ? nexthdr : next;
            p.w(`  Offset: ${hex(c.pos)}, Index: ${hex(c.pos - arrayStart)}\n`);
            while (c.pos < locEnd) {
              const v1 = lebLoose(c, locEnd);
              if (c.pos >= locEnd) { p.w('    <INVALID DATA>\n'); break; }
              const v2 = lebLoose(c, locEnd);
              p.w(`    view pair ${s64(v1)}, ${s64(v2)}\n`);
            }
            p.w('\n');
            c.pos = locEnd;
            continue;
          }
          const kind = c.u8();
          if (startOfList && kind === 0) continue;
          if (startOfList) {
            base = cuBase;
            p.w(`  Offset: ${hex(c.pos - 1)}, Index: ${hex(c.pos - arrayStart - 1)}\n`);
            startOfList = false;
          }
          const r = isLoc ? printLoclistEntry(p, c, kind, addressSize, offsetSize, version, unit, base) : printRnglistEntry(p, c, kind, addressSize, unit, base);
          if (r === 'end') startOfList = true;
          else if (r === 'invalid') break;
          else if (typeof r === 'bigint') base = r;
          const chunk = p.flush();
          if (chunk !== undefined) yield chunk;
        }
      } catch (e) {
        // A truncated entry: readelf reports "invalid ... data" on stderr and goes on to the next table.
        if (!isModbtfError(e)) throw e;
      }
      done = true;
      readp = c.pos;
    }
    if (readp !== nexthdr) p.w(`   ${nexthdr - readp} padding bytes\n\n`);
    readp = tbl.next;
    const chunk = p.flush();
    if (chunk !== undefined) yield chunk;
  }
}

function isLocviews(t: ListPtrTable, idx: number, off: number): boolean {
  const items = t.items;
  for (let i = idx; ; i++) {
    const lp = items[i];
    if (lp === undefined) return false;
    if (lp.offset === off && lp.attr === C.DW_AT_GNU_locviews) return true;
    if (lp.offset > off) return false;
  }
}

function printRange(p: Printer, addressSize: number, a: bigint, b: bigint): void {
  p.w(`      ${p.addr(addressSize, a)}..\n      ${p.addr(addressSize, u64(b - 1n))}\n`);
}

function dumpIndexed(p: Printer, u: DwarfUnit | undefined, idx: bigint): bigint | undefined {
  if (u === undefined) return undefined;
  try {
    return indexedAddrForDump(p.d, u, idx);
  } catch (e) {
    if (!isModbtfError(e)) throw e;
    return undefined;
  }
}

function printRnglistEntry(p: Printer, c: Cursor, kind: number, addressSize: number, u: DwarfUnit | undefined, base: bigint): 'end' | 'invalid' | bigint | undefined {
  p.w(`    ${rleName(kind)}`);
  switch (kind) {
    case C.DW_RLE_end_of_list:
      p.w('\n\n');
      return 'end';
    case C.DW_RLE_base_addressx: {
      const i = c.ulebBig();
      p.w(` ${hex(i)}\n`);
      const a = dumpIndexed(p, u, i);
      p.w(a === undefined ? '      ???\n' : `      ${p.addr(addressSize, a)}\n`);
      return undefined;
    }
    case C.DW_RLE_startx_endx: case C.DW_RLE_startx_length: {
      const i1 = c.ulebBig();
      const op2 = c.ulebBig();
      p.w(` ${hex(i1)}, ${hex(op2)}\n`);
      const a1 = dumpIndexed(p, u, i1);
      const a2 = kind === C.DW_RLE_startx_endx ? dumpIndexed(p, u, op2) : a1 === undefined ? undefined : u64(a1 + op2);
      if (a1 === undefined || a2 === undefined) p.w('      ???..\n      ???\n');
      else printRange(p, addressSize, a1, a2);
      return undefined;
    }
    case C.DW_RLE_offset_pair: {
      const o1 = c.ulebBig();
      const o2 = c.ulebBig();
      p.w(` ${hex(o1)}, ${hex(o2)}\n`);
      printRange(p, addressSize, u64(o1 + base), u64(o2 + base));
      return undefined;
    }
    case C.DW_RLE_base_address: {
      const b = c.addr(addressSize);
      p.w(` 0x${hex(b)}\n      ${p.addr(addressSize, b)}\n`);
      return b;
    }
    case C.DW_RLE_start_end: {
      const a = c.addr(addressSize);
      const b = c.addr(addressSize);
      p.w(` 0x${hex(a)}..0x${hex(b)}\n`);
      printRange(p, addressSize, a, b);
      return undefined;
    }
    case C.DW_RLE_start_length: {
      const a = c.addr(addressSize);
      const n = c.ulebBig();
      p.w(` 0x${hex(a)}, ${hex(n)}\n`);
      printRange(p, addressSize, a, u64(a + n));
      return undefined;
    }
    default:
      return 'invalid';
  }
}

function printLoclistEntry(p: Printer, c: Cursor, kind: number, addressSize: number, offsetSize: number, version: number, u: DwarfUnit | undefined, base: bigint): 'end' | 'invalid' | bigint | undefined {
  p.w(`    ${lleName(kind)}`);
  const expr = (): void => {
    const len = c.uleb();
    c.need(len, 'location expression');
    printOps(p, 8, 8, version, addressSize, offsetSize, u, c.bytes.subarray(c.pos, c.pos + len));
    c.pos += len;
  };
  switch (kind) {
    case C.DW_LLE_end_of_list:
      p.w('\n\n');
      return 'end';
    case C.DW_LLE_base_addressx: {
      const i = c.ulebBig();
      p.w(` ${hex(i)}\n`);
      const a = dumpIndexed(p, u, i);
      p.w(a === undefined ? '      ???\n' : `      ${p.addr(addressSize, a)}\n`);
      return undefined;
    }
    case C.DW_LLE_startx_endx: case C.DW_LLE_startx_length: {
      const i1 = c.ulebBig();
      const op2 = c.ulebBig();
      p.w(` ${hex(i1)}, ${hex(op2)}\n`);
      const a1 = dumpIndexed(p, u, i1);
      const a2 = kind === C.DW_LLE_startx_endx ? dumpIndexed(p, u, op2) : a1 === undefined ? undefined : u64(a1 + op2);
      if (a1 === undefined || a2 === undefined) p.w('      ???..\n      ???\n');
      else printRange(p, addressSize, a1, a2);
      expr();
      return undefined;
    }
    case C.DW_LLE_offset_pair: {
      const o1 = c.ulebBig();
      const o2 = c.ulebBig();
      p.w(` ${hex(o1)}, ${hex(o2)}\n`);
      printRange(p, addressSize, u64(o1 + base), u64(o2 + base));
      expr();
      return undefined;
    }
    case C.DW_LLE_default_location:
      expr();
      return undefined;
    case C.DW_LLE_base_address: {
      const b = c.addr(addressSize);
      p.w(` 0x${hex(b)}\n      ${p.addr(addressSize, b)}\n`);
      return b;
    }
    case C.DW_LLE_start_end: {
      const a = c.addr(addressSize);
      const b = c.addr(addressSize);
      p.w(` 0x${hex(a)}..0x${hex(b)}\n`);
      printRange(p, addressSize, a, b);
      expr();
      return undefined;
    }
    case C.DW_LLE_start_length: {
      const a = c.addr(addressSize);
      const n = c.ulebBig();
      p.w(` 0x${hex(a)}, ${hex(n)}\n`);
      printRange(p, addressSize, a, u64(a + n));
      expr();
      return undefined;
    }
    case C.DW_LLE_GNU_view_pair: {
      const a = c.ulebBig();
      const b = c.ulebBig();
      p.w(` ${hex(a)}, ${hex(b)}\n`);
      return undefined;
    }
    default:
      return 'invalid';
  }
}
