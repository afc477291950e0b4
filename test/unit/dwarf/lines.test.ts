// File tables of line program headers, as libdw's dwarf_getsrcfiles gives them (DWARF 4
// index 0 = "???", DWARF 5 index 0 = the first entry; names joined to their directory).
import { describe, expect, it } from 'vitest';
import * as C from '../../../lib/dwarf/constants.js';
import { openDwarf } from '../../../lib/dwarf/dwarf.js';
import { buildDwarf, byteWriter } from '../../helpers/dwarf-builder.js';
import { dwarfElf } from '../../helpers/dwarf-elf.js';

function v4Line(): Uint8Array {
  const w = byteWriter(true);
  w.uint(0, 4); // unit_length
  w.uint(4, 2); // version
  w.uint(0, 4); // header_length
  const hdr = w.len;
  w.u8(1); w.u8(1); w.u8(1); w.u8(0xfb); w.u8(14); w.u8(13);
  for (const n of [0, 1, 1, 1, 1, 0, 0, 0, 1, 0, 0, 1]) w.u8(n);
  w.cstr('include'); w.cstr('/abs/dir'); w.u8(0);
  w.cstr('a.c'); w.uleb(0); w.uleb(0); w.uleb(0);
  w.cstr('b.h'); w.uleb(1); w.uleb(0); w.uleb(0);
  w.cstr('c.h'); w.uleb(2); w.uleb(0); w.uleb(0);
  w.cstr('/root/d.h'); w.uleb(1); w.uleb(0); w.uleb(0);
  w.u8(0);
  w.patch(6, w.len - hdr, 4);
  w.patch(0, w.len - 4, 4);
  return w.bytes();
}

function v5Line(lineStr: (s: string) => number): Uint8Array {
  const w = byteWriter(true);
  w.uint(0, 4);
  w.uint(5, 2);
  w.u8(8); w.u8(0);
  w.uint(0, 4);
  const hdr = w.len;
  w.u8(1); w.u8(1); w.u8(1); w.u8(0xfb); w.u8(14); w.u8(13);
  for (const n of [0, 1, 1, 1, 1, 0, 0, 0, 1, 0, 0, 1]) w.u8(n);
  w.u8(1); w.uleb(C.DW_LNCT_path); w.uleb(C.DW_FORM_line_strp);
  w.uleb(2); w.uint(lineStr('/src'), 4); w.uint(lineStr('inc'), 4);
  w.u8(3); w.uleb(C.DW_LNCT_path); w.uleb(C.DW_FORM_string); w.uleb(C.DW_LNCT_directory_index); w.uleb(C.DW_FORM_udata);
  w.uleb(C.DW_LNCT_MD5); w.uleb(C.DW_FORM_data16);
  w.uleb(3);
  w.cstr('main.c'); w.uleb(0); w.raw(new Uint8Array(16));
  w.cstr('x.h'); w.uleb(1); w.raw(new Uint8Array(16));
  w.cstr('/usr/y.h'); w.uleb(1); w.raw(new Uint8Array(16));
  w.patch(8, w.len - hdr, 4);
  w.patch(0, w.len - 4, 4);
  return w.bytes();
}

describe('line table file names', () => {
  it('DWARF 4: comp_dir is directory 0, file 0 is ???', () => {
    const b = buildDwarf({ littleEndian: true, units: [{ version: 4, root: { tag: C.DW_TAG_compile_unit, attrs: [{ at: C.DW_AT_comp_dir, form: C.DW_FORM_string, value: '/build' }, { at: C.DW_AT_stmt_list, form: C.DW_FORM_sec_offset, value: 0 }] } }] });
    b.sections.set('.debug_line', v4Line());
    const d = openDwarf(dwarfElf({ debug: b.sections }).elf);
    expect(d.files(d.units[0]!)).toEqual({
      files: ['???', '/build/a.c', 'include/b.h', '/abs/dir/c.h', '/root/d.h'],
      dirs: ['/build', 'include', '/abs/dir'],
    });
  });

  it('DWARF 5: entry formats, line_strp directories, file 0', () => {
    const strs: string[] = [];
    let size = 0;
    const lineStr = (s: string): number => { const at = size; strs.push(s); size += s.length + 1; return at; };
    const line = v5Line(lineStr);
    const b = buildDwarf({ littleEndian: true, units: [{ version: 5, root: { tag: C.DW_TAG_compile_unit, attrs: [{ at: C.DW_AT_stmt_list, form: C.DW_FORM_sec_offset, value: 0 }] } }] });
    b.sections.set('.debug_line', line);
    b.sections.set('.debug_line_str', new TextEncoder().encode(strs.map((s) => `${s}\0`).join('')));
    const d = openDwarf(dwarfElf({ debug: b.sections }).elf);
    expect(d.files(d.units[0]!)).toEqual({ files: ['/src/main.c', 'inc/x.h', '/usr/y.h'], dirs: ['/src', 'inc'] });
  });

  it('no DW_AT_stmt_list, or a header libdw rejects: no table', () => {
    const b = buildDwarf({ littleEndian: true, units: [{ version: 4, root: { tag: C.DW_TAG_compile_unit } }, { version: 4, root: { tag: C.DW_TAG_compile_unit, attrs: [{ at: C.DW_AT_stmt_list, form: C.DW_FORM_sec_offset, value: 0 }] } }] });
    const bad = v4Line().slice();
    bad[4] = 9; // version 9
    b.sections.set('.debug_line', bad);
    const d = openDwarf(dwarfElf({ debug: b.sections }).elf);
    expect(d.files(d.units[0]!)).toBeUndefined();
    expect(d.files(d.units[1]!)).toBeUndefined();
  });
});
