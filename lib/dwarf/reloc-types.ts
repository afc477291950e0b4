/**
 * Which relocation types libdwfl applies to debug sections, per machine: elfutils'
 * backends/<arch>_symbol.c `<arch>_reloc_simple_type` (0.196), and which type numbers
 * elfutils knows at all (backends/<arch>_reloc.def resolved through its elf.h).
 *
 * libdwfl applies only the "simple" types (a plain 1/2/4/8-byte store of S + A, or for
 * RISC-V and LoongArch an ADD/SUB of it into the bytes already there). Every other type
 * it knows is left unapplied without a word (relocate.c, `partial` mode): the bytes keep
 * what the assembler wrote. lib/dwarf does the same, so the DWARF it reads is the DWARF
 * pahole reads; a type number elfutils does not know at all is an error instead.
 */
import {
  EM_386, EM_AARCH64, EM_ARM, EM_LOONGARCH, EM_PPC, EM_PPC64, EM_RISCV, EM_S390, EM_X86_64,
} from '../elf/constants.js';

/** Bytes stored (libdwfl's ELF_T_BYTE/HALF/WORD/XWORD and signed variants) and ADD (+1) / SUB (-1) / store (0). */
export interface SimpleReloc {
  readonly size: 1 | 2 | 4 | 8;
  readonly addsub: -1 | 0 | 1;
}

export interface MachineRelocs {
  readonly machine: number;
  /** elfutils backend name, for messages. */
  readonly backend: string;
  readonly simple: ReadonlyMap<number, SimpleReloc>;
  /** Inclusive ranges of the type numbers elfutils names for this machine. */
  readonly known: readonly (readonly [number, number])[];
}

const S = (size: 1 | 2 | 4 | 8, addsub: -1 | 0 | 1 = 0): SimpleReloc => ({ size, addsub });

const TABLES: readonly MachineRelocs[] = [
  {
    machine: EM_X86_64, backend: 'x86_64',
    // R_X86_64_64, _32, _32S, _16, _8
    simple: new Map([[1, S(8)], [10, S(4)], [11, S(4)], [12, S(2)], [14, S(1)]]),
    known: [[0, 26], [32, 37], [41, 42]],
  },
  {
    machine: EM_AARCH64, backend: 'aarch64',
    // R_AARCH64_ABS64, ABS32, ABS16
    simple: new Map([[257, S(8)], [258, S(4)], [259, S(2)]]),
    known: [[0, 0], [257, 280], [282, 293], [299, 313], [512, 573], [1024, 1031]],
  },
  {
    machine: EM_S390, backend: 's390',
    // R_390_64 (SXWORD), R_390_32 (SWORD), R_390_16, R_390_8
    simple: new Map([[22, S(8)], [4, S(4)], [3, S(2)], [1, S(1)]]),
    known: [[0, 60]],
  },
  {
    machine: EM_PPC64, backend: 'ppc64',
    // R_PPC64_ADDR64, UADDR64, ADDR32, UADDR32, UADDR16
    simple: new Map([[38, S(8)], [43, S(8)], [1, S(4)], [24, S(4)], [25, S(2)]]),
    known: [[0, 17], [19, 22], [24, 31], [33, 115], [247, 252]],
  },
  {
    machine: EM_RISCV, backend: 'riscv',
    // SET8, SET16, 32, SET32, 64, ADD16/SUB16, ADD32/SUB32, ADD64/SUB64. Not ADD8/SUB8,
    // SET6/SUB6, SET_ULEB128/SUB_ULEB128: libdwfl 0.196 leaves those unapplied.
    simple: new Map([
      [54, S(1)], [55, S(2)], [1, S(4)], [56, S(4)], [2, S(8)],
      [34, S(2, 1)], [38, S(2, -1)], [35, S(4, 1)], [39, S(4, -1)], [36, S(8, 1)], [40, S(8, -1)],
    ]),
    known: [[0, 11], [16, 40], [43, 45], [51, 61]],
  },
  {
    machine: EM_386, backend: 'i386',
    // R_386_32 (SWORD), R_386_16, R_386_8
    simple: new Map([[1, S(4)], [20, S(2)], [22, S(1)]]),
    known: [[0, 11], [14, 37], [39, 43]],
  },
  {
    machine: EM_ARM, backend: 'arm',
    // R_ARM_ABS32, ABS16, ABS8
    simple: new Map([[2, S(4)], [5, S(2)], [8, S(1)]]),
    known: [[0, 111], [128, 131], [160, 160], [249, 255]],
  },
  {
    machine: EM_PPC, backend: 'ppc',
    // R_PPC_ADDR32, UADDR32, UADDR16
    simple: new Map([[1, S(4)], [24, S(4)], [25, S(2)]]),
    known: [[0, 36], [67, 94], [101, 116], [180, 185], [249, 252], [255, 255]],
  },
  {
    machine: EM_LOONGARCH, backend: 'loongarch',
    // R_LARCH_32, 64, ADD16/32/64, SUB16/32/64
    simple: new Map([
      [1, S(4)], [2, S(8)], [48, S(2, 1)], [50, S(4, 1)], [51, S(8, 1)], [53, S(2, -1)], [55, S(4, -1)], [56, S(8, -1)],
    ]),
    known: [[0, 12], [20, 58], [64, 126]],
  },
];

const BY_MACHINE = new Map(TABLES.map((t) => [t.machine, t]));

/** The relocation table for e_machine, or undefined for a machine libdwfl has no backend for. */
export function machineRelocs(machine: number): MachineRelocs | undefined {
  return BY_MACHINE.get(machine);
}

export function isKnownRelocType(t: MachineRelocs, type: number): boolean {
  for (const [lo, hi] of t.known) if (type >= lo && type <= hi) return true;
  return false;
}
