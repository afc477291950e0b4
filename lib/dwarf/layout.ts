/**
 * The addresses libdwfl gives the sections of a relocatable file (ET_REL: kernel modules,
 * .o files) when it is reported with dwfl_report_offline: the section headers say 0, so
 * libdwfl lays the SHF_ALLOC sections out itself and every address DWARF holds after
 * relocation (DW_AT_low_pc, DW_OP_addr of a variable, range lists) is one of these plus
 * an offset. pahole's encoder then subtracts the same section addresses again (per-CPU
 * variables, function addresses), so the layout must be libdwfl's to the byte.
 *
 * Reproduces elfutils 0.196 libdwfl/dwfl_report_elf.c `__libdwfl_elf_address_range`
 * (ET_REL case) after `__libdwfl_reset_sh_addr` zeroed every SHF_ALLOC sh_addr:
 *
 *   base = round_up(base, 0x100)            REL_MIN_ALIGN
 *   for each SHF_ALLOC section, in section header order:
 *     addr = round_up(end, sh_addralign || 1)
 *     the first section placed (end still == base) moves the base to its address;
 *     if base is less aligned than this section, restart the layout from
 *     round_up(base, align) (all SHF_ALLOC sections so far, then continue);
 *     end = addr + sh_size                  (SHT_NOBITS sections take their size too)
 *
 * `base` is dwfl->offline_next_address: 0x10000 (OFFLINE_REDZONE) for a fresh Dwfl as
 * pahole makes it, 0 in eu-readelf (which sets it to 0 so that addresses start at 0).
 * A section placed at address 0 is looked up again through dwfl_offline_section_address,
 * which for a single file answers 0 too, so the layout is final as computed here.
 */
import { ET_REL, SHF_ALLOC } from '../elf/constants.js';
import type { ElfFile } from '../elf/file.js';

/** dwfl_begin's offline_next_address: where pahole's ET_REL layout starts. */
export const PAHOLE_OFFLINE_BASE = 0x10000n;
/** eu-readelf's: it sets offline_next_address to 0 before reporting the file. */
export const READELF_OFFLINE_BASE = 0n;

const REL_MIN_ALIGN = 0x100n;

function roundUp(v: bigint, align: bigint): bigint {
  return (v + align - 1n) & -align;
}

/**
 * sh_addr of every section as libdwfl sees it after reporting the file: index i of the
 * result is section i's address (0 for sections without SHF_ALLOC). For files other than
 * ET_REL, the section headers' own addresses (libdwfl does no layout there; lib/dwarf only
 * relocates ET_REL files).
 */
export function offlineSectionAddresses(elf: ElfFile, base: bigint = PAHOLE_OFFLINE_BASE): BigUint64Array {
  const n = elf.sections.length;
  const addrs = new BigUint64Array(n);
  if (elf.type !== ET_REL) {
    for (let i = 0; i < n; i++) addrs[i] = (elf.sections[i] as { addr: bigint }).addr;
    return addrs;
  }
  const alignOf = (i: number): bigint => {
    const a = BigInt(elf.sections[i]?.addralign ?? 0);
    // libdwfl's `-align` mask only makes sense for powers of two; sh_addralign is one by the gABI.
    return a === 0n ? 1n : a;
  };
  base = roundUp(base, REL_MIN_ALIGN);
  let end = base;
  for (let i = 1; i < n; i++) {
    const s = elf.sections[i];
    if (s === undefined || (s.flags & SHF_ALLOC) === 0) continue;
    const align = alignOf(i);
    const next = roundUp(end, align);
    addrs[i] = next;
    if (end === base) {
      // The first section given an address: its aligned address is the module's base.
      base = next;
    } else if ((base & (align - 1n)) !== 0n) {
      // base is less aligned than this section: lay out everything again from a better base.
      end = base = roundUp(base, align);
      for (let j = 1; j <= i; j++) {
        const p = elf.sections[j];
        if (p === undefined || (p.flags & SHF_ALLOC) === 0) continue;
        addrs[j] = roundUp(end, alignOf(j));
        end = (addrs[j] as bigint) + BigInt(p.size);
      }
      continue;
    }
    end = next + BigInt(s.size);
  }
  return addrs;
}
