// libdwfl's ET_REL section layout and relocation of debug sections, per machine; expected
// values derived by hand from elfutils 0.196 dwfl_report_elf.c / relocate.c and the psABIs.
import { describe, expect, it } from 'vitest';
import {
  EM_386, EM_AARCH64, EM_PPC64, EM_RISCV, EM_S390, EM_X86_64, SHF_ALLOC, SHF_EXECINSTR, SHN_ABS, SHN_UNDEF, SHT_NOBITS,
  SHT_PROGBITS, STB_GLOBAL, STT_SECTION,
} from '../../../lib/elf/constants.js';
import * as C from '../../../lib/dwarf/constants.js';
import { openDwarf } from '../../../lib/dwarf/dwarf.js';
import { offlineSectionAddresses, PAHOLE_OFFLINE_BASE, READELF_OFFLINE_BASE } from '../../../lib/dwarf/layout.js';
import { isModbtfError } from '../../../lib/errors.js';
import { buildDwarf, relaBytes, relBytes } from '../../helpers/dwarf-builder.js';
import { ALLOC_RW, dwarfElf } from '../../helpers/dwarf-elf.js';
import { buildElfImage } from '../../helpers/elf-image.js';
import { parseElf } from '../../../lib/elf/index.js';

describe('libdwfl ET_REL section layout', () => {
  const image = (secs: { name: string; flags: number; align: number; size: number; nobits?: boolean }[]) =>
    parseElf(buildElfImage({
      is64: true, littleEndian: true,
      sections: secs.map((s) => (s.nobits
        ? { name: s.name, type: SHT_NOBITS, flags: s.flags, size: s.size, addralign: s.align }
        : { name: s.name, type: SHT_PROGBITS, flags: s.flags, data: new Uint8Array(s.size), addralign: s.align })),
    }).bytes);

  it('packs SHF_ALLOC sections in header order from the base, aligned', () => {
    const elf = image([
      { name: '.text', flags: SHF_ALLOC | SHF_EXECINSTR, align: 16, size: 0x13 },
      { name: '.comment', flags: 0, align: 1, size: 9 },
      { name: '.data', flags: ALLOC_RW, align: 8, size: 8 },
      { name: '.bss', flags: ALLOC_RW, align: 32, size: 0x100, nobits: true },
      { name: '.rodata', flags: SHF_ALLOC, align: 0, size: 3 },
    ]);
    const at = (base: bigint) => Array.from(offlineSectionAddresses(elf, base)).slice(1, 6);
    expect(at(PAHOLE_OFFLINE_BASE)).toEqual([0x10000n, 0n, 0x10018n, 0x10020n, 0x10120n]);
    expect(at(READELF_OFFLINE_BASE)).toEqual([0n, 0n, 0x18n, 0x20n, 0x120n]);
    // A base is first rounded up to 0x100 (REL_MIN_ALIGN).
    expect(at(0x10001n)[0]).toBe(0x10100n);
  });

  it('restarts the layout when a section needs more alignment than the base has', () => {
    const elf = image([
      { name: '.a', flags: SHF_ALLOC, align: 4, size: 4 },
      { name: '.b', flags: SHF_ALLOC, align: 0x20000, size: 8 },
      { name: '.c', flags: SHF_ALLOC, align: 1, size: 1 },
    ]);
    expect(Array.from(offlineSectionAddresses(elf, PAHOLE_OFFLINE_BASE)).slice(1, 4)).toEqual([0x20000n, 0x40000n, 0x40008n]);
  });
});

const sym = (name: string, section: string | number, value = 0n, extra: object = {}) => ({ name, section, value, ...extra });

describe('relocation of .debug_info', () => {
  function x86Module(relocs: { at: string; sym: number; type: number; addend?: bigint }[], opts: { unknown?: 'error' | 'skip'; base?: bigint } = {}) {
    const built = buildDwarf({
      littleEndian: true,
      units: [{
        version: 5,
        root: {
          tag: C.DW_TAG_compile_unit,
          children: [
            { tag: C.DW_TAG_subprogram, label: 'f', attrs: [
              { at: C.DW_AT_name, form: C.DW_FORM_strp, value: { reloc: { symbol: '.debug_str', addend: 4n } } },
              { at: C.DW_AT_low_pc, form: C.DW_FORM_addr, value: { reloc: { symbol: '.text', addend: 0x40n } } },
            ] },
            { tag: C.DW_TAG_variable, label: 'v', attrs: [
              { at: C.DW_AT_const_value, form: C.DW_FORM_data8, value: 0x55n },
              { at: C.DW_AT_alignment, form: C.DW_FORM_data4, value: 0x66 },
            ] },
          ],
        },
      }],
    });
    // .debug_str by hand: "abc\0def\0"
    built.sections.set('.debug_str', new TextEncoder().encode('abc\0def\0'));
    const info = built.sections.get('.debug_info')!;
    // Value offsets of v's attributes: after its abbrev code.
    const v = built.dies.get('v')!;
    const where: Record<string, number> = { name: built.relocs[0]!.offset, lowpc: built.relocs[1]!.offset, const: v + 1, align: v + 9 };
    void info;
    const symbols = [
      sym('.text', '.text', 0n, { type: STT_SECTION }),
      sym('.debug_str', '.debug_str', 0n, { type: STT_SECTION }),
      sym('pcpu', '.data..percpu', 8n, { bind: STB_GLOBAL }),
      sym('undef', SHN_UNDEF, 0n, { bind: STB_GLOBAL }),
      sym('abs', SHN_ABS, 0x1234n, { bind: STB_GLOBAL }),
    ];
    const entries = [
      { offset: where.name!, sym: 2, type: 10, addend: 4n }, // R_X86_64_32 .debug_str+4
      { offset: where.lowpc!, sym: 1, type: 1, addend: 0x40n }, // R_X86_64_64 .text+0x40
      ...relocs.map((r) => ({ offset: where[r.at]!, sym: r.sym, type: r.type, addend: r.addend ?? 0n })),
    ];
    const { elf } = dwarfElf({
      machine: EM_X86_64,
      alloc: [
        { name: '.text', type: SHT_PROGBITS, flags: SHF_ALLOC | SHF_EXECINSTR, data: new Uint8Array(0x100), addralign: 16 },
        { name: '.data..percpu', type: SHT_PROGBITS, flags: ALLOC_RW, data: new Uint8Array(0x40), addralign: 64 },
      ],
      debug: built.sections,
      symbols,
      relocs: [{ target: '.debug_info', rela: true, data: relaBytes(entries, true, true) }],
    });
    const o: { base?: bigint; unknownRelocations?: 'error' | 'skip' } = { base: opts.base ?? PAHOLE_OFFLINE_BASE };
    if (opts.unknown) o.unknownRelocations = opts.unknown;
    return { d: openDwarf(elf, o), f: built.dies.get('f')!, v };
  }

  it('applies R_X86_64_64 and R_X86_64_32 with libdwfl section addresses (pahole and readelf bases)', () => {
    const { d, f } = x86Module([]);
    expect(d.attrString(f, C.DW_AT_name)).toBe('def');
    expect(d.lowPc(f)).toBe(0x10000n + 0x40n);
    // .data..percpu follows .text (0x100 bytes) at 64-byte alignment.
    expect(d.sectionAddresses[2]).toBe(0x10100n);
    const r = x86Module([], { base: READELF_OFFLINE_BASE });
    expect(r.d.lowPc(r.f)).toBe(0x40n);
  });

  it('per-CPU, absolute, undefined and 32-bit-truncated symbol values', () => {
    const { d, v } = x86Module([
      { at: 'const', sym: 3, type: 1, addend: 4n }, // pcpu+4: 0x10100 + 8 + 4
      { at: 'align', sym: 5, type: 10, addend: 0x100000000n + 1n }, // abs: 0x1234 + 2^32 + 1, stored in 32 bits
    ]);
    expect(d.attrUdata(v, C.DW_AT_const_value)).toBe(0x10100n + 8n + 4n);
    expect(d.attrUdata(v, C.DW_AT_alignment)).toBe(0x1235n);
    const u = x86Module([{ at: 'const', sym: 4, type: 1, addend: 7n }]);
    expect(u.d.attrUdata(u.v, C.DW_AT_const_value)).toBe(0x55n); // undefined symbol: left as assembled
  });

  it('leaves types elfutils knows but does not apply, rejects types it does not know', () => {
    const pc = x86Module([{ at: 'const', sym: 1, type: 2 /* R_X86_64_PC32 */ }]);
    expect(pc.d.attrUdata(pc.v, C.DW_AT_const_value)).toBe(0x55n);
    const none = x86Module([{ at: 'const', sym: 1, type: 0 }]);
    expect(none.d.attrUdata(none.v, C.DW_AT_const_value)).toBe(0x55n);
    const bad = x86Module([{ at: 'const', sym: 1, type: 200 }]);
    let err: unknown;
    try { bad.d.lowPc(bad.f); } catch (e) { err = e; }
    expect(isModbtfError(err) && err.name === 'DwarfFormatError' && err.code === 'DWARF_BAD_RELOC_TYPE').toBe(true);
    // The third record (24 bytes each: +0x30) patches v's DW_AT_const_value, right after v's abbrev code.
    const v = bad.v.toString(16);
    expect(isModbtfError(err) && err.describe()).toBe(`test.ko: .rela.debug_info+0x30: DIE [0x${v}]: relocation type 200 is not a x86_64 relocation type elfutils knows (relocation 2 of .rela.debug_info, for .debug_info+0x${(bad.v + 1).toString(16)})`);
    const skip = x86Module([{ at: 'const', sym: 1, type: 200 }], { unknown: 'skip' });
    expect(skip.d.attrUdata(skip.v, C.DW_AT_const_value)).toBe(0x55n);
  });

  it('rejects a relocation outside its section or naming a missing symbol', () => {
    const { elf } = dwarfElf({
      debug: buildDwarf({ littleEndian: true, units: [{ version: 5, root: { tag: C.DW_TAG_compile_unit } }] }).sections,
      symbols: [sym('.text', '.text', 0n, { type: STT_SECTION })],
      relocs: [{ target: '.debug_info', rela: true, data: relaBytes([{ offset: 10, sym: 1, type: 1 }], true, true) }],
    });
    expect(() => openDwarf(elf).units).toThrow(/relocation 0 at offset 10 \(8 bytes\) is outside the 13-byte \.debug_info/);
    const { elf: e2 } = dwarfElf({
      debug: buildDwarf({ littleEndian: true, units: [{ version: 5, root: { tag: C.DW_TAG_compile_unit } }] }).sections,
      symbols: [],
      relocs: [{ target: '.debug_info', rela: true, data: relaBytes([{ offset: 0, sym: 9, type: 10 }], true, true) }],
    });
    expect(() => openDwarf(e2).units).toThrow(/names symbol 9, past the end of the 1-entry symbol table/);
  });

  function oneValue(machine: number, is64: boolean, le: boolean, form: number, entries: { sym: number; type: number; addend?: bigint }[], initial: bigint | number, rela = true) {
    const built = buildDwarf({
      littleEndian: le,
      units: [{ version: 4, addressSize: is64 ? 8 : 4, root: { tag: C.DW_TAG_compile_unit, children: [{ tag: C.DW_TAG_variable, label: 'v', attrs: [{ at: C.DW_AT_const_value, form, value: initial }] }] } }],
    });
    const off = built.dies.get('v')! + 1;
    const { elf } = dwarfElf({
      machine, is64, littleEndian: le,
      alloc: [{ name: '.text', type: SHT_PROGBITS, flags: SHF_ALLOC | SHF_EXECINSTR, data: new Uint8Array(0x80), addralign: 4 }],
      debug: built.sections,
      symbols: [sym('.text', '.text', 0n, { type: STT_SECTION }), sym('a', '.text', 0x30n), sym('b', '.text', 0x10n)],
      relocs: [{ target: '.debug_info', rela, data: rela ? relaBytes(entries.map((e) => ({ ...e, offset: off })), is64, le) : relBytes(entries.map((e) => ({ ...e, offset: off })), is64, le) }],
    });
    const d = openDwarf(elf);
    return d.attrUdata(built.dies.get('v')!, C.DW_AT_const_value);
  }

  it('RISC-V ADD/SUB pairs; SET_ULEB128, SUB6, ADD8 left as libdwfl 0.196 leaves them', () => {
    // ADD32 a, SUB32 b: 0x30 - 0x10 on top of what is there.
    expect(oneValue(EM_RISCV, true, true, C.DW_FORM_data4, [{ sym: 2, type: 35 }, { sym: 3, type: 39 }], 5)).toBe(5n + 0x20n);
    expect(oneValue(EM_RISCV, true, true, C.DW_FORM_data8, [{ sym: 2, type: 36, addend: 2n }, { sym: 3, type: 40 }], 0)).toBe(0x22n);
    expect(oneValue(EM_RISCV, true, true, C.DW_FORM_data2, [{ sym: 3, type: 38 }], 0)).toBe(0xfff0n); // 0 - 0x10010, in 16 bits
    expect(oneValue(EM_RISCV, true, true, C.DW_FORM_data1, [{ sym: 2, type: 60 }, { sym: 3, type: 61 }], 9)).toBe(9n);
    expect(oneValue(EM_RISCV, true, true, C.DW_FORM_data1, [{ sym: 2, type: 33 }, { sym: 3, type: 52 }], 9)).toBe(9n);
    expect(oneValue(EM_RISCV, true, true, C.DW_FORM_data8, [{ sym: 2, type: 2 }], 0)).toBe(0x10030n); // R_RISCV_64
  });

  it('big-endian s390x R_390_64 / R_390_32, aarch64 ABS64/ABS32, ppc64 ADDR64/UADDR32', () => {
    expect(oneValue(EM_S390, true, false, C.DW_FORM_data8, [{ sym: 2, type: 22, addend: 1n }], 0)).toBe(0x10031n);
    expect(oneValue(EM_S390, true, false, C.DW_FORM_data4, [{ sym: 1, type: 4, addend: 0x7fn }], 0)).toBe(0x1007fn);
    expect(oneValue(EM_AARCH64, true, true, C.DW_FORM_data8, [{ sym: 2, type: 257 }], 0)).toBe(0x10030n);
    expect(oneValue(EM_AARCH64, true, true, C.DW_FORM_data4, [{ sym: 3, type: 258 }], 0)).toBe(0x10010n);
    expect(oneValue(EM_PPC64, true, false, C.DW_FORM_data8, [{ sym: 2, type: 38 }], 0)).toBe(0x10030n);
    expect(oneValue(EM_PPC64, true, true, C.DW_FORM_data4, [{ sym: 2, type: 24, addend: -0x10n }], 0)).toBe(0x10020n);
  });

  it('relocatedData: any section as libdwfl leaves it after dwfl_module_getelf (unapplied types skipped)', () => {
    const built = buildDwarf({ littleEndian: true, units: [{ version: 5, root: { tag: C.DW_TAG_compile_unit } }] });
    const { elf } = dwarfElf({
      alloc: [
        { name: '.text', type: SHT_PROGBITS, flags: SHF_ALLOC | SHF_EXECINSTR, data: new Uint8Array(0x20), addralign: 16 },
        { name: '.data', type: SHT_PROGBITS, flags: ALLOC_RW, data: new Uint8Array(16).fill(0xee), addralign: 8 },
      ],
      debug: built.sections,
      symbols: [sym('.text', '.text', 0n, { type: STT_SECTION })],
      relocs: [{ target: '.data', rela: true, data: relaBytes([{ offset: 0, sym: 1, type: 1, addend: 8n }, { offset: 8, sym: 1, type: 4 /* PLT32 */ }, { offset: 12, sym: 1, type: 250 }], true, true) }],
    });
    const d = openDwarf(elf);
    const data = d.sections.relocatedData(elf.sectionByName('.data')!);
    expect(Array.from(data)).toEqual([0x08, 0, 1, 0, 0, 0, 0, 0, 0xee, 0xee, 0xee, 0xee, 0xee, 0xee, 0xee, 0xee]);
    // The file's bytes are untouched.
    expect(Array.from(elf.sectionData(elf.sectionByName('.data')!))).toEqual(new Array(16).fill(0xee));
  });

  it('ELF32 REL (i386): the addend is the value already in place', () => {
    expect(oneValue(EM_386, false, true, C.DW_FORM_data4, [{ sym: 2, type: 1 }], 0x100, false)).toBe(0x10130n);
    // RISC-V ADD/SUB with REL: libdwfl refuses (BADRELTYPE) and leaves the bytes.
    expect(oneValue(EM_RISCV, false, true, C.DW_FORM_data4, [{ sym: 2, type: 35 }], 7, false)).toBe(7n);
  });
});
