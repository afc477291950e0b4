// The rewrite check after objcopy (lib/module/verify.ts): sections are matched by their
// order and name, not by name alone, because kernel 7.x modules (binutils 2.47 ld -r)
// carry two sections named .note.GNU-stack (one NOTE, one PROGBITS). The check must
// accept a rewrite that only added or changed the BTF sections, and refuse any real
// change elsewhere — including one that swaps the two same-named sections.
import { describe, expect, it } from 'vitest';
import { parseElf } from '../../../lib/elf/index.js';
import { SHT_NOBITS, SHT_PROGBITS } from '../../../lib/elf/constants.js';
import { verifyRewrite } from '../../../lib/module/verify.js';
import { buildElfImage, type ImageSection } from '../../helpers/elf-image.js';

const SHT_NOTE = 7;
const bytes = (...v: number[]): Uint8Array => Uint8Array.from(v);
const CHANGED = new Set(['.BTF', '.BTF.base', '.shstrtab', '.strtab', '.symtab']);
const PATCHED = new Set(['.BTF_ids']);

function module(sections: ImageSection[]): ReturnType<typeof parseElf> {
  return parseElf(buildElfImage({ is64: true, littleEndian: true, sections, symbols: [{ name: 'x', section: '.text', value: 4n }] }).bytes);
}

const base: ImageSection[] = [
  { name: '.text', type: SHT_PROGBITS, flags: 6, data: bytes(1, 2, 3, 4, 5, 6, 7, 8) },
  { name: '.note.GNU-stack', type: SHT_NOTE, data: new Uint8Array(0) },
  { name: '.BTF_ids', type: SHT_PROGBITS, flags: 2, data: bytes(0, 0, 0, 0) },
  { name: '.bss', type: SHT_NOBITS, flags: 3, size: 16 },
  { name: '.note.GNU-stack', type: SHT_PROGBITS, data: new Uint8Array(0) },
];
const btf = (name: string, n: number): ImageSection => ({ name, type: SHT_PROGBITS, data: new Uint8Array(n).fill(7) });

describe('verifyRewrite', () => {
  it('accepts added .BTF/.BTF.base and a patched .BTF_ids with two .note.GNU-stack sections', () => {
    const before = module(base);
    const after = module([...base.slice(0, 2), { ...(base[2] as ImageSection), data: bytes(9, 0, 0, 0) }, ...base.slice(3), btf('.BTF', 40), btf('.BTF.base', 24)]);
    expect(() => verifyRewrite(before, after, CHANGED, PATCHED, 'm.ko')).not.toThrow();
  });

  it('refuses the two same-named sections swapped (a name-only match would not see it)', () => {
    const before = module(base);
    const swapped = [base[0], base[4], base[2], base[3], base[1]] as ImageSection[];
    expect(() => verifyRewrite(before, module([...swapped, btf('.BTF', 8)]), CHANGED, PATCHED, 'm.ko')).toThrow(/section \[2\] \.note\.GNU-stack: header changed/);
  });

  it('refuses changed contents, a lost section and a moved symbol', () => {
    const before = module(base);
    const text = { ...(base[0] as ImageSection), data: bytes(1, 2, 3, 4, 5, 6, 7, 9) };
    expect(() => verifyRewrite(before, module([text, ...base.slice(1)]), CHANGED, PATCHED, 'm.ko')).toThrow(/\.text: contents changed/);
    expect(() => verifyRewrite(before, module(base.slice(0, 4)), CHANGED, PATCHED, 'm.ko')).toThrow(/5 sections besides the BTF ones became 4/);
    const moved = parseElf(buildElfImage({ is64: true, littleEndian: true, sections: base, symbols: [{ name: 'x', section: '.BTF_ids', value: 4n }] }).bytes);
    expect(() => verifyRewrite(before, moved, CHANGED, PATCHED, 'm.ko')).toThrow(/symbol 1 \(x\) changed/);
  });
});
