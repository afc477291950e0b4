/**
 * The file table of a unit's line program header (.debug_line), as libdw's
 * dwarf_getsrcfiles builds it (elfutils 0.196 dwarf_getsrclines.c read_line_header and
 * read_srcfiles): names joined to their directory unless absolute; for DWARF < 5 entry 0
 * is "???" and the header's files start at 1; for DWARF 5 the header's entry 0 is entry 0.
 * Only the header is read (the line program itself is not needed to name files).
 */
import * as C from './constants.js';
import { isModbtfError } from '../errors.js';
import { Cursor } from './cursor.js';
import type { Dwarf } from './dwarf.js';
import { fixedFormSize, FORM_UNKNOWN, FORM_VARIABLE } from './forms.js';
import { valueLength, type DwarfUnit } from './unit.js';

export interface LineFiles {
  /** Full names, indexed as DW_AT_decl_file / DW_AT_call_file values are. */
  readonly files: readonly string[];
  /** Directories (entry 0: the compilation directory for DWARF < 5). */
  readonly dirs: readonly (string | undefined)[];
}

/** Forms allowed in DWARF 5 directory/file entry formats (libdw libdw_valid_user_form). */
const USER_FORMS = new Set([
  C.DW_FORM_block, C.DW_FORM_block1, C.DW_FORM_block2, C.DW_FORM_block4, C.DW_FORM_data1, C.DW_FORM_data2,
  C.DW_FORM_data4, C.DW_FORM_data8, C.DW_FORM_data16, C.DW_FORM_flag, C.DW_FORM_line_strp, C.DW_FORM_sdata,
  C.DW_FORM_sec_offset, C.DW_FORM_string, C.DW_FORM_strp, C.DW_FORM_strp_sup, C.DW_FORM_strx, C.DW_FORM_strx1,
  C.DW_FORM_strx2, C.DW_FORM_strx3, C.DW_FORM_strx4, C.DW_FORM_udata,
]);

/**
 * The file table of unit `u` (via its DW_AT_stmt_list), or undefined where libdw's
 * dwarf_getsrcfiles fails: no DW_AT_stmt_list, no .debug_line, or a header it rejects.
 */
export function unitFiles(d: Dwarf, u: DwarfUnit): LineFiles | undefined {
  const stmt = d.attr(u.dieOffset, C.DW_AT_stmt_list);
  if (stmt === undefined) return undefined;
  let off: number;
  try {
    off = stmt.sectionOffset('.debug_line');
  } catch (e) {
    if (!isModbtfError(e)) throw e;
    return undefined;
  }
  const compDir = safe(() => d.attrString(u.dieOffset, C.DW_AT_comp_dir));
  return safe(() => readFiles(d, u, off, compDir));
}

/** libdw callers that treat any failure as "none": our typed errors become undefined. */
function safe<T>(f: () => T): T | undefined {
  try {
    return f();
  } catch (e) {
    if (!isModbtfError(e)) throw e;
    return undefined;
  }
}

class Invalid {
  readonly why: string;
  constructor(why: string) { this.why = why; }
}

function readFiles(d: Dwarf, u: DwarfUnit, offset: number, compDir: string | undefined): LineFiles | undefined {
  const sec = d.section('.debug_line', u.dieOffset);
  if (sec === undefined) return undefined;
  const c = new Cursor(sec, d.littleEndian, d.file, offset);
  try {
    // read_line_header
    let length = c.u32('unit length');
    let offsetSize = 4;
    if (length === 0xffffffff) { length = c.u64n('unit length'); offsetSize = 8; }
    if (length > c.left) throw new Invalid('unit length');
    c.end = c.pos + length;
    const version = c.u16('version');
    if (version < 2 || version > 5) return undefined;
    if (version >= 5) {
      const addrSize = c.u8('address size');
      const segSize = c.u8('segment selector size');
      if (addrSize !== u.addressSize || segSize !== 0) throw new Invalid('address size');
    }
    const headerLength = c.offset(offsetSize, 'header length');
    const headerStart = c.pos;
    if (headerLength > c.left) throw new Invalid('header length');
    c.u8('minimum instruction length');
    if (version >= 4 && c.u8('maximum operations per instruction') === 0) throw new Invalid('max ops');
    c.need(4, 'line header');
    c.pos += 3;
    const opcodeBase = c.u8('opcode base');
    if (c.left < opcodeBase - 1) throw new Invalid('opcode lengths');
    c.pos += Math.max(0, opcodeBase - 1);
    // read_srcfiles: the tables end where the header ends.
    c.end = headerStart + headerLength;
    const fake = { addressSize: u.addressSize, offsetSize, version: 5 };
    const dirs: (string | undefined)[] = [];
    const files: string[] = ['???'];
    if (version < 5) {
      dirs.push(compDir);
      while (c.pos < c.end && c.bytes[c.pos] !== 0) dirs.push(c.cstr('include directory'));
      if (c.pos >= c.end) throw new Invalid('directories');
      c.pos++;
      if (c.pos >= c.end) throw new Invalid('files');
      while (c.pos < c.end && c.bytes[c.pos] !== 0) {
        const name = c.cstr('file name');
        const diridx = c.ulebBig('directory index');
        if (diridx >= BigInt(dirs.length)) return undefined;
        c.skipLeb('mtime');
        c.skipLeb('length');
        files.push(join(dirs[Number(diridx)], name));
      }
      if (c.pos >= c.end) throw new Invalid('files');
      c.pos++;
    } else {
      const dirFormat = entryFormat(c);
      if (dirFormat.forms.length > 0 && dirFormat.path < 0) throw new Invalid('directory format');
      const ndirs = c.uleb('directory count');
      if (dirFormat.forms.length === 0 && ndirs !== 0) throw new Invalid('directories');
      if (dirFormat.forms.length !== 0 && ndirs > c.left / dirFormat.forms.length) throw new Invalid('directories');
      for (let n = 0; n < ndirs; n++) {
        const e = readEntry(d, c, dirFormat, fake);
        if (e.path === undefined) throw new Invalid('directory');
        dirs.push(e.path);
      }
      const fileFormat = entryFormat(c);
      if (fileFormat.forms.length > 0 && (fileFormat.path < 0 || fileFormat.dir < 0)) throw new Invalid('file format');
      const nfiles = c.uleb('file count');
      if (fileFormat.forms.length === 0 && nfiles !== 0) throw new Invalid('files');
      if (fileFormat.forms.length !== 0 && nfiles > c.left / fileFormat.forms.length) throw new Invalid('files');
      for (let n = 0; n < nfiles; n++) {
        const e = readEntry(d, c, fileFormat, fake);
        if (e.path === undefined || e.dir === undefined) throw new Invalid('file');
        if (e.dir >= BigInt(dirs.length)) return undefined;
        const full = e.path.startsWith('/') ? e.path : `${dirs[Number(e.dir)] ?? ''}/${e.path}`;
        if (n === 0) files[0] = full;
        else files.push(full);
      }
    }
    // libdw also accepts a 4-byte NVIDIA CUBIN trailer here.
    if (c.pos === c.end - 4) c.pos += 4;
    if (c.pos !== c.end) throw new Invalid('header length');
    return { files, dirs };
  } catch (e) {
    if (e instanceof Invalid) return undefined;
    throw e;
  }
}

function join(dir: string | undefined, name: string): string {
  if (name.startsWith('/') || dir === undefined) return name;
  return `${dir}/${name}`;
}

interface EntryFormat {
  readonly kinds: number[];
  readonly forms: number[];
  readonly path: number;
  readonly dir: number;
}

function entryFormat(c: Cursor): EntryFormat {
  const n = c.u8('entry format count');
  const kinds: number[] = [];
  const forms: number[] = [];
  let path = -1;
  let dir = -1;
  for (let i = 0; i < n; i++) {
    const kind = c.uleb('content type') & 0xffff;
    const form = c.uleb('form') & 0xffff;
    if (!USER_FORMS.has(form)) throw new Invalid('form');
    kinds.push(kind);
    forms.push(form);
    if (kind === C.DW_LNCT_path) path = i;
    else if (kind === C.DW_LNCT_directory_index) dir = i;
  }
  return { kinds, forms, path, dir };
}

function readEntry(d: Dwarf, c: Cursor, f: EntryFormat, fake: { addressSize: number; offsetSize: number; version: number }): { path: string | undefined; dir: bigint | undefined } {
  let path: string | undefined;
  let dir: bigint | undefined;
  for (let m = 0; m < f.forms.length; m++) {
    const form = f.forms[m] as number;
    if (m === f.path) path = lineString(d, c, form, fake.offsetSize);
    else if (m === f.dir) dir = lineUdata(c, form);
    const size = fixedFormSize(form, fake);
    if (size === FORM_UNKNOWN) throw new Invalid('form');
    if (size === FORM_VARIABLE) valueLength(form, c, fake);
    else { c.need(size, 'entry value'); c.pos += size; }
  }
  return { path, dir };
}

/** dwarf_formstring on a line-table entry value (a fake DWARF 5 unit over .debug_line). */
function lineString(d: Dwarf, c: Cursor, form: number, offsetSize: number): string | undefined {
  const p = new Cursor(c.sec, c.le, c.file, c.pos, c.end);
  switch (form) {
    case C.DW_FORM_string: return p.cstr('path');
    case C.DW_FORM_line_strp: return d.stringAt('.debug_line_str', p.offset(offsetSize));
    case C.DW_FORM_strp: return d.stringAt('.debug_str', p.offset(offsetSize));
    case C.DW_FORM_strx: case C.DW_FORM_strx1: case C.DW_FORM_strx2: case C.DW_FORM_strx3: case C.DW_FORM_strx4: {
      // libdw reads these through a zeroed fake unit: str_offsets_base 0.
      const idx = form === C.DW_FORM_strx ? p.ulebBig() : form === C.DW_FORM_strx1 ? BigInt(p.u8()) : form === C.DW_FORM_strx2 ? BigInt(p.u16()) : form === C.DW_FORM_strx3 ? BigInt(p.u24()) : BigInt(p.u32());
      const so = d.section('.debug_str_offsets');
      if (so === undefined || idx * BigInt(offsetSize) + BigInt(offsetSize) > BigInt(so.data.length)) return undefined;
      const q = new Cursor(so, c.le, c.file, Number(idx) * offsetSize);
      return d.stringAt('.debug_str', q.offset(offsetSize));
    }
    default: return undefined;
  }
}

/** dwarf_formudata on a directory index value. */
function lineUdata(c: Cursor, form: number): bigint | undefined {
  const p = new Cursor(c.sec, c.le, c.file, c.pos, c.end);
  switch (form) {
    case C.DW_FORM_data1: return BigInt(p.u8());
    case C.DW_FORM_data2: return BigInt(p.u16());
    case C.DW_FORM_data4: return BigInt(p.u32());
    case C.DW_FORM_data8: return p.u64();
    case C.DW_FORM_udata: return p.ulebBig();
    case C.DW_FORM_sdata: return BigInt.asUintN(64, p.slebBig());
    default: return undefined;
  }
}
