/**
 * Types for scripts/fuzz-core.mjs, so test/unit/fuzz-replay.test.ts can import it
 * under strict TypeScript. The library is passed in (FuzzLib) and typed structurally:
 * both lib/ (tests) and dist/lib (scripts/fuzz.mjs) satisfy it.
 */
import type { Btf } from '../lib/btf/btf.js';
import type { ElfBtf } from '../lib/btf/source.js';
import type { BtfDraft } from '../lib/btf/write.js';
import type { ElfFile } from '../lib/elf/index.js';
import type { ModbtfError, BtfValidationError } from '../lib/errors.js';
import type { Dwarf, DwarfOptions } from '../lib/dwarf/dwarf.js';
import type { ReadelfDumpPart } from '../lib/dwarf/readelf.js';
import type { EncodeOptions, EncodeResult, encodeSettingsFromArgs } from '../lib/encode/index.js';

export interface FuzzLib {
  parseElf(bytes: Uint8Array, opts?: { file?: string }): ElfFile;
  Btf: { parse(bytes: Uint8Array, opts?: { base?: Btf; file?: string; section?: string }): Btf };
  readElfBtf(elf: ElfFile, opts?: { base?: Btf; file?: string }): ElfBtf;
  validateBtf(btf: Btf, opts?: { limit?: number }): BtfValidationError[];
  dumpRaw(btf: Btf): string;
  rewriteBtf(btf: Btf): Uint8Array;
  writeBtf(draft: BtfDraft): Uint8Array;
  stripSignature(bytes: Uint8Array, opts?: { file?: string }): Uint8Array;
  isModbtfError(x: unknown): x is ModbtfError;
  /** lib/dwarf: the DWARF seeds are loaded only when it is given. */
  openDwarf?(elf: ElfFile, opts?: DwarfOptions): Dwarf;
  readelfDebugDump?(dwarf: Dwarf, parts: readonly ReadelfDumpPart[]): Iterable<string>;
  openDwarfFile?(path: string, opts?: DwarfOptions): Dwarf;
  tempFile?(bytes: Uint8Array): string;
  /** lib/encode: the module seeds (ENCODE_SEEDS) are loaded only when it is given. */
  encodeModule?(elf: ElfFile, base: Btf, opts: EncodeOptions): EncodeResult;
  encodeSettingsFromArgs?: typeof encodeSettingsFromArgs;
}

export const NO_OFFSET_CODES: ReadonlySet<string>;
export const DEFAULT_HANG_MS: number;

export class Rng {
  constructor(state: number);
  u32(): number;
  int(n: number): number;
  chance(p: number): boolean;
  pick<T>(arr: readonly T[]): T;
  weighted<T>(table: readonly (readonly [T, number])[]): T;
}
export function runRng(seed: number, run: number): Rng;

export interface SeedLayout {
  le: boolean;
  btf: { off: number; size: number; typeOffsets: number[]; startId: number; typeCount: number } | undefined;
  btfBase: { off: number; size: number } | undefined;
  elf: {
    is64: boolean;
    shoff: number;
    sections: { headerOffset: number; offset: number; size: number; type: number }[];
    symtab: { off: number; count: number } | undefined;
  } | undefined;
  dwarf?: {
    sections: { name: string; off: number; size: number; headerOffset: number }[];
    units: number[];
    dies: number[];
    abbrevs: number[];
    relocs: { off: number; size: number }[];
  };
}

export interface Seed {
  name: string;
  kind: 'btf' | 'elf' | 'dwarf';
  bytes: Uint8Array;
  baseName: string | undefined;
  base: Btf | undefined;
  weight: number;
  layout: SeedLayout;
  /** Module seeds: the base BTF lib/encode encodes them over. */
  encodeBase?: Btf;
}

export const RAW_SEEDS: readonly { name: string; base: string | undefined; weight: number }[];
export const DWARF_SEEDS: readonly { name: string; weight: number }[];
export const ENCODE_SEEDS: readonly { name: string; weight: number }[];
export const KBUILD72_PAHOLE_FLAGS: readonly string[];

export function loadSeeds(lib: FuzzLib, fixturesDir: string, opts?: { only?: string[] }): { vmlinux: Btf; seeds: Seed[] };
export function xzDecompress(path: string): Uint8Array;
export function syntheticElf(is64: boolean, le: boolean, btfBase: Uint8Array | undefined, btf: Uint8Array): Uint8Array;

export function mutate(seed: Seed, rng: Rng, others?: readonly Seed[]): { bytes: Uint8Array; ops: string[] };
export function makeInput(seeds: readonly Seed[], seed: number, run: number): { seed: Seed; bytes: Uint8Array; ops: string[] };

export type Outcome = 'ok' | 'typed' | 'offsetless' | 'crash' | 'hang';

export interface FuzzInput {
  kind: 'elf' | 'btf' | 'dwarf';
  bytes: Uint8Array;
  base?: Btf | undefined;
  altBase?: Btf | undefined;
  encodeBase?: Btf | undefined;
}

export interface RunResult {
  outcome: Outcome;
  step: string;
  variant: string | undefined;
  error: unknown;
  problem: string | undefined;
  ms: number;
  problems: number;
  /** "variant outcome" of each variant run (dwarf, dwarf/file, encode...). */
  variants?: string[];
}

export function classifyThrown(lib: FuzzLib, e: unknown): { outcome: Outcome; problem: string | undefined };
export function missingDwarfContext(e: ModbtfError, where: { file: string; step?: string }): string | undefined;
export function runOne(lib: FuzzLib, input: FuzzInput, opts?: { hangMs?: number }): RunResult;
export function inputFor(seed: Seed, bytes: Uint8Array, vmlinux: Btf): FuzzInput;
export function hashBytes(bytes: Uint8Array): string;
export function findingSignature(r: RunResult): string;
