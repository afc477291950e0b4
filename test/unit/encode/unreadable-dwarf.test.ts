/**
 * DWARF the encoder cannot read (issue 18, "Bad input"): an unknown DW_FORM, a relocation type
 * the machine does not have, a truncated .debug_info. Each is a DwarfFormatError naming the
 * file, the section and the offset in it, and the DIE; `modbtf pahole` reports it and exits 1
 * with pahole's "Error while encoding BTF." (README, exit statuses), writing nothing.
 *
 * The object is gcc's x86_64 DWARF 5 fixture; where its DIEs are comes from its eu-readelf 0.196
 * dump (test/fixtures/dwarf/PROVENANCE.md), the bytes changed from the DWARF 5 and ELF64 specs.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runPahole } from '../../../cli/commands/pahole.js';
import { Btf } from '../../../lib/btf/btf.js';
import { parseElf } from '../../../lib/elf/index.js';
import { encodeModule, encodeSettingsFromArgs } from '../../../lib/encode/index.js';
import { isModbtfError, type ModbtfError } from '../../../lib/errors.js';
import { fixtureBytes, fixturePath } from '../../helpers/fixtures.js';

const OBJECT = 'dwarf/code.x86_64.dwarf5.o.gz';
const BASE = 'encode/gcc-dwarf5/base.btf';
/** $(PAHOLE_FLAGS) of a 7.2 tree (test/fixtures/encode/PROVENANCE.md, `kbuild72`). */
const KBUILD72 = ['-j', '--btf_features=encode_force,var,float,enum64,decl_tag,type_tag,optimized_func,consistent_func,decl_tag_kfuncs', '--btf_features=attributes', '--btf_features=layout', '-j', '--lang_exclude=rust'];

/** DIE offsets and abbreviation numbers as eu-readelf printed them: ` [    51]    base_type   abbrev: 6`. */
function readelfDies(): { offset: number; tag: string; abbrev: number }[] {
  const text = new TextDecoder().decode(fixtureBytes('dwarf/code.x86_64.dwarf5.readelf.txt.gz'));
  const out: { offset: number; tag: string; abbrev: number }[] = [];
  for (const m of text.matchAll(/^ \[\s*([0-9a-f]+)\]\s+(\w+)\s+abbrev: (\d+)$/gm)) {
    out.push({ offset: Number.parseInt(m[1]!, 16), tag: m[2]!, abbrev: Number(m[3]) });
  }
  return out;
}

/** Section headers of the ELF64 little-endian object (sh_offset +24, sh_size +32). */
function section(bytes: Uint8Array, name: string): { index: number; offset: number; size: number; header: number } {
  const s = parseElf(bytes).sectionByName(name);
  if (s === undefined) throw new Error(`fixture without ${name}`);
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const shoff = Number(dv.getBigUint64(40, true));
  return { index: s.index, offset: s.offset, size: s.size, header: shoff + s.index * 64 };
}

/** Elf64_Rela records: r_offset, ELF64_R_TYPE(r_info) = its low 32 bits. */
function relaRecords(bytes: Uint8Array, name: string): { at: number; offset: number; type: number }[] {
  const s = section(bytes, name);
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out: { at: number; offset: number; type: number }[] = [];
  for (let at = 0; at + 24 <= s.size; at += 24) out.push({ at, offset: Number(dv.getBigUint64(s.offset + at, true)), type: dv.getUint32(s.offset + at + 8, true) });
  return out;
}

function encodeError(bytes: Uint8Array): ModbtfError {
  const settings = encodeSettingsFromArgs(KBUILD72);
  if ('refused' in settings) throw new Error(settings.refused);
  const base = Btf.parse(fixtureBytes(BASE));
  try {
    encodeModule(parseElf(bytes, { file: 'code.o' }), base, { features: settings.features });
  } catch (err: unknown) {
    if (isModbtfError(err)) return err;
    throw err;
  }
  throw new Error('the encoder read DWARF it should not have');
}

const hex = (n: number): string => `0x${n.toString(16)}`;
const dies = readelfDies();
const original = fixtureBytes(OBJECT);

/** 1. abbreviation 6 (base_type) declares its first attribute, DW_AT_byte_size, with form 0x7e. */
function unknownForm(): { bytes: Uint8Array; die: number } {
  const bytes = original.slice();
  const abbrev = section(bytes, '.debug_abbrev');
  // code 6, DW_TAG_base_type (0x24), DW_CHILDREN_no, DW_AT_byte_size (0x0b), DW_FORM_data1 (0x0b)
  const want = [6, 0x24, 0, 0x0b, 0x0b];
  const hits: number[] = [];
  for (let i = abbrev.offset; i + want.length <= abbrev.offset + abbrev.size; i++) if (want.every((b, k) => bytes[i + k] === b)) hits.push(i);
  expect(hits).toHaveLength(1);
  bytes[hits[0]! + 4] = 0x7e; // no DW_FORM has this code (DWARF 5 section 7.5.6)
  const first = dies.find((d) => d.abbrev === 6);
  expect(first?.tag).toBe('base_type');
  return { bytes, die: first!.offset };
}

/** 2. the sixth .rela.debug_info record gets type 200: x86_64 relocation types end at 43. */
function unknownRelocation(): { bytes: Uint8Array; record: { at: number; offset: number }; die: number } {
  const bytes = original.slice();
  const rela = section(bytes, '.rela.debug_info');
  const record = relaRecords(bytes, '.rela.debug_info')[5]!;
  bytes[rela.offset + record.at + 8] = 200;
  const die = dies.filter((d) => d.offset <= record.offset).at(-1)!;
  return { bytes, record, die: die.offset };
}

/** 3. .debug_info's sh_size cut to 0x90 bytes. */
function truncatedInfo(): { bytes: Uint8Array; cut: number; first: { at: number; offset: number; width: number }; die: number } {
  const bytes = original.slice();
  const info = section(bytes, '.debug_info');
  const cut = 0x90;
  new DataView(bytes.buffer).setBigUint64(info.header + 32, BigInt(cut), true);
  // R_X86_64_64 (1) patches 8 bytes, R_X86_64_32 (10) 4; records apply in order.
  const width = (t: number): number => (t === 1 ? 8 : 4);
  const r = relaRecords(bytes, '.rela.debug_info').find((x) => x.offset + width(x.type) > cut)!;
  // The DIE the cut goes through: the last one that starts before it.
  const die = dies.filter((d) => d.offset < cut).at(-1)!;
  return { bytes, cut, first: { at: r.at, offset: r.offset, width: width(r.type) }, die: die.offset };
}

describe('DWARF the encoder cannot read: file, section, offset and DIE', () => {
  it('an unknown DW_FORM: the DIE using the abbreviation, at its first attribute value', () => {
    const { bytes, die } = unknownForm();
    const e = encodeError(bytes);
    expect([e.name, e.code]).toEqual(['DwarfFormatError', 'DWARF_BAD_FORM']);
    // The value follows the DIE's one-byte abbreviation code.
    expect(e.context).toEqual({ file: 'code.o', section: '.debug_info', offset: die + 1, die });
    expect(e.describe()).toBe(`code.o: .debug_info+${hex(die + 1)}: DIE [${hex(die)}]: unknown attribute form 0x7e`);
  });

  it('an unknown relocation type: the record in .rela.debug_info, the DIE it would patch', () => {
    const { bytes, record, die } = unknownRelocation();
    expect(die).toBe(0xc); // the compile unit DIE (its DW_AT_stmt_list), per eu-readelf
    const e = encodeError(bytes);
    expect([e.name, e.code]).toEqual(['DwarfFormatError', 'DWARF_BAD_RELOC_TYPE']);
    expect(e.context).toEqual({ file: 'code.o', section: '.rela.debug_info', offset: record.at, die });
    expect(e.describe()).toBe(`code.o: .rela.debug_info+${hex(record.at)}: DIE [${hex(die)}]: relocation type 200 is not a x86_64 relocation type elfutils knows (relocation 5 of .rela.debug_info, for .debug_info+${hex(record.offset)})`);
  });

  it('a truncated .debug_info: the first relocation past the end, the DIE the end cuts', () => {
    const { bytes, cut, first, die } = truncatedInfo();
    const e = encodeError(bytes);
    expect([e.name, e.code]).toEqual(['DwarfFormatError', 'DWARF_BAD_RELOC']);
    expect(e.context).toEqual({ file: 'code.o', section: '.rela.debug_info', offset: first.at, die });
    expect(e.describe()).toBe(`code.o: .rela.debug_info+${hex(first.at)}: DIE [${hex(die)}]: relocation ${first.at / 24} at offset ${first.offset} (${first.width} bytes) is outside the ${cut}-byte .debug_info`);
  });
});

describe('modbtf pahole on DWARF it cannot read', () => {
  const dir = mkdtempSync(join(tmpdir(), 'modbtf-unreadable-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  for (const [name, make] of [['unknown form', unknownForm], ['unknown relocation type', unknownRelocation], ['truncated .debug_info', truncatedInfo]] as const) {
    it(`${name}: exit 1, the error and "Error while encoding BTF.", nothing written`, async () => {
      const { bytes } = make();
      const mod = join(dir, `${name.replace(/\W+/g, '-')}.ko`);
      writeFileSync(mod, bytes);
      const expected = encodeError(bytes).describe().replace(/^code\.o: /, `${mod}: `);
      const run = async (argv: string[]): Promise<{ code: number; stderr: string }> => {
        let stderr = '';
        const code = await runPahole(argv, { stdout: () => undefined, stderr: (t) => { stderr += t; }, env: { LLVM_OBJCOPY: 'false' } });
        return { code, stderr };
      };
      // 7.x: gen-btf.sh's detached form.
      const out = join(dir, 'out.btf');
      const d = await run(['-J', ...KBUILD72, '--btf_base', fixturePath(BASE), `--btf_encode_detached=${out}`, mod]);
      expect(d).toEqual({ code: 1, stderr: `modbtf pahole: ${expected}\nError while encoding BTF.\n` });
      expect(existsSync(out)).toBe(false);
      // 6.x: in place; the module is left as it was, no <module>.btf.
      const p = await run(['-J', ...KBUILD72, '--btf_base', fixturePath(BASE), mod]);
      expect(p).toEqual({ code: 1, stderr: `modbtf pahole: ${expected}\nError while encoding BTF.\n` });
      expect(Buffer.from(readFileSync(mod)).equals(Buffer.from(bytes))).toBe(true);
      expect(existsSync(`${mod}.btf`)).toBe(false);
    });
  }
});
