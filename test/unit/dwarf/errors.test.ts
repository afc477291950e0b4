// DWARF lib/dwarf cannot read is a DwarfFormatError naming file, section, offset and DIE;
// compressed sections (zlib SHF_COMPRESSED, GNU .zdebug_*, zstd) read as plain ones.
import { deflateSync } from 'node:zlib';
import * as zlib from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { SHF_COMPRESSED } from '../../../lib/elf/constants.js';
import * as C from '../../../lib/dwarf/constants.js';
import { openDwarf } from '../../../lib/dwarf/dwarf.js';
import { caught } from '../../helpers/errors.js';
import { buildDwarf, type UnitSpec } from '../../helpers/dwarf-builder.js';
import { dwarfElf } from '../../helpers/dwarf-elf.js';

const cu = (children: UnitSpec['root']['children'] = []): UnitSpec => ({ version: 5, root: { tag: C.DW_TAG_compile_unit, children } });

function dwarfOf(sections: Map<string, Uint8Array>, flags?: Map<string, number>) {
  return openDwarf(dwarfElf({ debug: sections, ...(flags ? { debugFlags: flags } : {}), file: 'bad.ko' }).elf);
}

describe('malformed DWARF', () => {
  it('a unit longer than .debug_info', () => {
    const s = buildDwarf({ littleEndian: true, units: [cu()] }).sections;
    const info = s.get('.debug_info')!;
    s.set('.debug_info', info.subarray(0, info.length - 1));
    const e = caught(() => dwarfOf(s).units);
    expect(e.name).toBe('DwarfFormatError');
    expect(e.code).toBe('DWARF_TRUNCATED');
    expect(e.describe()).toMatch(/^bad\.ko: \.debug_info\+0x0: unit at 0x0 is 9 bytes long/);
  });

  it('a .debug_info cut inside a DIE: the unit, and the DIE the end cuts', () => {
    const b = buildDwarf({
      littleEndian: true,
      units: [cu([
        { tag: C.DW_TAG_base_type, label: 'a', attrs: [{ at: C.DW_AT_name, form: C.DW_FORM_string, value: 'first' }] },
        { tag: C.DW_TAG_base_type, label: 'b', attrs: [{ at: C.DW_AT_name, form: C.DW_FORM_string, value: 'second' }] },
      ])],
    });
    const info = b.sections.get('.debug_info')!;
    const cutDie = b.dies.get('b')!;
    // Three bytes into b: its abbreviation code and "se" of its name are left.
    b.sections.set('.debug_info', info.subarray(0, cutDie + 3));
    const e = caught(() => dwarfOf(b.sections).units);
    expect(e.code).toBe('DWARF_TRUNCATED');
    expect(e.context).toEqual({ file: 'bad.ko', section: '.debug_info', offset: 0, die: cutDie });
    // Cut between DIEs (right after a's name): the last whole DIE.
    b.sections.set('.debug_info', info.subarray(0, cutDie));
    expect(caught(() => dwarfOf(b.sections).units).context.die).toBe(b.dies.get('a'));
  });

  it('an unknown DWARF version or unit type', () => {
    const s = buildDwarf({ littleEndian: true, units: [cu()] }).sections;
    const info = s.get('.debug_info')!.slice();
    info[4] = 6;
    s.set('.debug_info', info);
    expect(caught(() => dwarfOf(s).units).code).toBe('DWARF_BAD_UNIT');
    info[4] = 5;
    info[6] = 0x7f;
    expect(caught(() => dwarfOf(s).units).describe()).toMatch(/unknown unit type 127/);
  });

  it('an abbreviation code the table does not have, with the DIE named', () => {
    const b = buildDwarf({ littleEndian: true, units: [cu([{ tag: C.DW_TAG_base_type, label: 't' }])] });
    const info = b.sections.get('.debug_info')!.slice();
    const t = b.dies.get('t')!;
    info[t] = 0x33;
    b.sections.set('.debug_info', info);
    const e = caught(() => dwarfOf(b.sections).units[0]!.index());
    expect(e.code).toBe('DWARF_BAD_ABBREV_CODE');
    expect(e.context.die).toBe(t);
    expect(e.describe()).toBe(`bad.ko: .debug_info+0x${t.toString(16)}: DIE [0x${t.toString(16)}]: abbreviation code 51 is not in the table at .debug_abbrev offset 0`);
  });

  it('an unknown form', () => {
    const b = buildDwarf({ littleEndian: true, units: [cu([{ tag: C.DW_TAG_base_type, label: 't', attrs: [{ at: C.DW_AT_name, form: 0x7e, value: Uint8Array.of(1) }] }])] });
    const e = caught(() => dwarfOf(b.sections).units[0]!.index());
    expect(e.code).toBe('DWARF_BAD_FORM');
    expect(e.message).toBe('unknown attribute form 0x7e');
    expect(e.context.die).toBe(b.dies.get('t'));
  });

  it('a string offset past .debug_str, a reference past its unit', () => {
    const b = buildDwarf({
      littleEndian: true,
      units: [cu([
        { tag: C.DW_TAG_base_type, label: 't', attrs: [{ at: C.DW_AT_name, form: C.DW_FORM_strp, value: 0x400 }] },
        { tag: C.DW_TAG_pointer_type, label: 'p', attrs: [{ at: C.DW_AT_type, form: C.DW_FORM_ref4, value: 0x1000 }] },
      ])],
    });
    b.sections.set('.debug_str', new TextEncoder().encode('x\0'));
    const d = dwarfOf(b.sections);
    const e = caught(() => d.attrString(b.dies.get('t')!, C.DW_AT_name));
    expect(e.code).toBe('DWARF_BAD_OFFSET');
    expect(e.describe()).toMatch(/\.debug_str\+0x400: DIE \[0x[0-9a-f]+\]: string offset 0x400 is past the end of \.debug_str/);
    expect(caught(() => d.attrRef(b.dies.get('p')!, C.DW_AT_type)).code).toBe('DWARF_BAD_REF');
  });

  it('attribute values running past the end of the unit', () => {
    const b = buildDwarf({ littleEndian: true, units: [cu([{ tag: C.DW_TAG_variable, label: 'v', attrs: [{ at: C.DW_AT_location, form: C.DW_FORM_exprloc, value: Uint8Array.of(C.DW_OP_reg0) }] }])] });
    const info = b.sections.get('.debug_info')!.slice();
    info[b.dies.get('v')! + 1] = 0x7f; // block length 127
    b.sections.set('.debug_info', info);
    expect(caught(() => dwarfOf(b.sections).units[0]!.index()).code).toBe('DWARF_TRUNCATED');
  });

  it('no .debug_info at all', () => {
    const e = caught(() => dwarfOf(new Map([['.debug_str', Uint8Array.of(0)]])));
    expect(e.code).toBe('DWARF_MISSING');
    expect(e.describe()).toMatch(/^bad\.ko: no \.debug_info section/);
  });
});

describe('compressed debug sections', () => {
  const b = buildDwarf({ littleEndian: true, units: [cu([{ tag: C.DW_TAG_base_type, label: 't', attrs: [{ at: C.DW_AT_name, form: C.DW_FORM_strp, value: 'compressed' }] }])] });
  const chdr = (type: number, data: Uint8Array, body: Uint8Array): Uint8Array => {
    const out = new Uint8Array(24 + body.length);
    const dv = new DataView(out.buffer);
    dv.setUint32(0, type, true);
    dv.setBigUint64(8, BigInt(data.length), true);
    dv.setBigUint64(16, 1n, true);
    out.set(body, 24);
    return out;
  };

  it('SHF_COMPRESSED zlib (ELFCOMPRESS_ZLIB)', () => {
    const s = new Map(b.sections);
    const info = b.sections.get('.debug_info')!;
    s.set('.debug_info', chdr(1, info, deflateSync(info)));
    const d = dwarfOf(s, new Map([['.debug_info', SHF_COMPRESSED]]));
    expect(d.attrString(b.dies.get('t')!, C.DW_AT_name)).toBe('compressed');
  });

  it('GNU .zdebug_str ("ZLIB" + big-endian size)', () => {
    const s = new Map(b.sections);
    const str = b.sections.get('.debug_str')!;
    s.delete('.debug_str');
    const z = deflateSync(str);
    const g = new Uint8Array(12 + z.length);
    g.set([0x5a, 0x4c, 0x49, 0x42], 0);
    new DataView(g.buffer).setBigUint64(4, BigInt(str.length), false);
    g.set(z, 12);
    s.set('.zdebug_str', g);
    expect(dwarfOf(s).attrString(b.dies.get('t')!, C.DW_AT_name)).toBe('compressed');
  });

  it('a zlib stream that does not match its header is an error', () => {
    const s = new Map(b.sections);
    const info = b.sections.get('.debug_info')!;
    s.set('.debug_info', chdr(1, info, deflateSync(info).subarray(0, 5)));
    expect(caught(() => dwarfOf(s, new Map([['.debug_info', SHF_COMPRESSED]])).units).code).toBe('DWARF_BAD_COMPRESSION');
  });

  it('ELFCOMPRESS_ZSTD: read where node:zlib has zstd, else a clear error', () => {
    const s = new Map(b.sections);
    const info = b.sections.get('.debug_info')!;
    const compress = (zlib as unknown as { zstdCompressSync?: (b: Uint8Array) => Buffer }).zstdCompressSync;
    s.set('.debug_info', chdr(2, info, compress ? compress(info) : Uint8Array.of(0x28, 0xb5, 0x2f, 0xfd)));
    const open = () => dwarfOf(s, new Map([['.debug_info', SHF_COMPRESSED]]));
    if (compress) {
      expect(open().attrString(b.dies.get('t')!, C.DW_AT_name)).toBe('compressed');
    } else {
      const e = caught(() => open().units);
      expect(e.code).toBe('DWARF_ZSTD_UNSUPPORTED');
      expect(e.message).toMatch(/objcopy --decompress-debug-sections/);
    }
  });
});
