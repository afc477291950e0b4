/**
 * The ELF side of pahole's function encoding (btf_encoder.c): the table of function symbols
 * a DWARF function must be found in (elf_functions__collect), and the kfuncs of the module's
 * .BTF_ids sets (btf_encoder__collect_kfuncs).
 */
import type { ElfFile } from '../elf/file.js';
import { SHT_SYMTAB, STT_FUNC } from '../elf/constants.js';
import { EncodeError } from './errors.js';

export interface ElfFunctionSym {
  name: string;
  /** st_value as the symbol table holds it (section-relative in a relocatable module). */
  addr: bigint;
}

export interface ElfFunction {
  /** The symbol name up to its first '.' (foo for foo.isra.0). */
  name: string;
  syms: ElfFunctionSym[];
  ambiguousAddr: boolean;
  kfunc: boolean;
  kfuncFlags: number;
}

/** strcmp order of two ASCII/UTF-8 names (JS code units compare the same for symbol names). */
export function byName(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function containsSuffix(name: string, suffixes: readonly string[]): boolean {
  const dot = name.indexOf('.');
  if (dot < 0) return false;
  const suffix = name.slice(dot);
  return suffixes.some((s) => suffix.includes(s));
}

/** str_contains_non_fn_suffix: .cold and .part pieces are not functions. */
export function hasNonFunctionSuffix(name: string): boolean {
  return containsSuffix(name, ['.cold', '.part']);
}

/** str_contains_optimized_fn_suffix */
export function hasOptimizedSuffix(name: string): boolean {
  return containsSuffix(name, ['.constprop', '.isra']);
}

/**
 * elf_functions__collect's table: one entry per name (suffix stripped) with all its symbols in
 * symbol table order, sorted by name; ambiguous when the symbols of a name sit at different
 * values. Kept in flat arrays for the whole module (xfs.ko: 14k functions, ~3 MB as objects,
 * live through every CU); an ElfFunction object is made for a name when it is first found
 * (the encoder saves a few thousand of them) and is the same object afterwards.
 */
export class ElfFunctions {
  private readonly names: string[];
  /** Symbols of entry i: [first[i], first[i + 1]) of symNames / symAddrs. */
  private readonly first: Int32Array;
  private readonly symNames: string[];
  private readonly symAddrs: BigUint64Array;
  private readonly ambiguous: Uint8Array;
  private readonly made: (ElfFunction | undefined)[];

  constructor(elf: ElfFile) {
    const entries: { name: string; sym: string; addr: bigint }[] = [];
    if (elf.symtab() !== undefined) {
      for (const s of elf.symbols()) {
        if (s.type !== STT_FUNC) continue;
        if (hasNonFunctionSuffix(s.name)) continue;
        const dot = s.name.indexOf('.');
        entries.push({ name: dot < 0 ? s.name : s.name.slice(0, dot), sym: s.name, addr: s.value });
      }
    }
    // qsort in glibc >= 2.37 is a stable merge sort for these sizes: equal names keep symbol order.
    entries.sort((a, b) => byName(a.name, b.name));
    this.names = [];
    const first: number[] = [];
    this.symNames = new Array<string>(entries.length);
    this.symAddrs = new BigUint64Array(entries.length);
    entries.forEach((e, k) => {
      if (this.names.length === 0 || this.names[this.names.length - 1] !== e.name) {
        this.names.push(e.name);
        first.push(k);
      }
      this.symNames[k] = e.sym;
      this.symAddrs[k] = BigInt.asUintN(64, e.addr);
    });
    first.push(entries.length);
    this.first = Int32Array.from(first);
    this.made = new Array<ElfFunction | undefined>(this.names.length);
    // elf_functions__collect works the flag out for a name when the next name starts, so the
    // last name in sort order never gets it (measured: pahole 1.32 encodes fat.ko's init_once,
    // its last name, whose two symbols sit at different addresses).
    this.ambiguous = new Uint8Array(this.names.length);
    for (let i = 0; i + 1 < this.names.length; i++) this.ambiguous[i] = this.hasAmbiguousAddress(i) ? 1 : 0;
  }

  get length(): number { return this.names.length; }

  private hasAmbiguousAddress(i: number): boolean {
    const end = this.first[i + 1] as number;
    if (end - (this.first[i] as number) <= 1) return false;
    let addr = 0n;
    for (let k = this.first[i] as number; k < end; k++) {
      const a = this.symAddrs[k] as bigint;
      if (addr !== 0n && addr !== a) return true;
      addr = a;
    }
    return false;
  }

  /** bsearch over the sorted table (btf_encoder__find_function). */
  find(name: string): ElfFunction | undefined {
    let lo = 0;
    let hi = this.names.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      const c = byName(this.names[mid] as string, name);
      if (c === 0) return this.entry(mid);
      if (c < 0) lo = mid + 1;
      else hi = mid - 1;
    }
    return undefined;
  }

  private entry(i: number): ElfFunction {
    let f = this.made[i];
    if (f === undefined) {
      const at = this.first[i] as number;
      // At its exact length (an array grown by push keeps room for 17).
      const syms = new Array<ElfFunctionSym>((this.first[i + 1] as number) - at);
      for (let k = 0; k < syms.length; k++) syms[k] = { name: this.symNames[at + k] as string, addr: this.symAddrs[at + k] as bigint };
      f = { name: this.names[i] as string, syms, ambiguousAddr: this.ambiguous[i] === 1, kfunc: false, kfuncFlags: 0 };
      this.made[i] = f;
    }
    return f;
  }
}

const SET8_PREFIX = '__BTF_ID__set8__';
const FUNC_PREFIX = '__BTF_ID__func__';
const BTF_SET8_KFUNCS = 1;

/** get_func_name: __BTF_ID__func__<name>__<n> -> <name>. */
export function btfIdFuncName(sym: string): string | undefined {
  if (!sym.startsWith(FUNC_PREFIX)) return undefined;
  const rest = sym.slice(FUNC_PREFIX.length);
  if (!rest.includes('__')) return undefined;
  const end = rest.lastIndexOf('_');
  if (end <= 0 || rest[end - 1] !== '_') return undefined;
  return rest.slice(0, end - 1);
}

/**
 * btf_encoder__collect_kfuncs: functions named by __BTF_ID__func__ symbols inside a
 * __BTF_ID__set8__ set whose flags have BTF_SET8_KFUNCS are kfuncs, with the flags word that
 * follows their id. Offsets are st_value minus the section's sh_addr as the file says it (0
 * in a relocatable module): this reads the file afresh, not libdwfl's layout.
 */
export function collectKfuncs(elf: ElfFile, fns: ElfFunctions, warn: (m: string) => void): void {
  const symtab = elf.sections.find((s) => s.type === SHT_SYMTAB);
  const idSec = elf.sections.find((s) => s.name === '.BTF_ids');
  if (symtab === undefined || idSec === undefined) return;
  const data = elf.sectionData(idSec);
  const dv = new DataView(data.buffer, data.byteOffset, data.byteLength);
  const le = elf.littleEndian;
  const base = idSec.addr;
  const syms = elf.symbols();
  const ranges: { start: bigint; end: bigint }[] = [];
  for (const s of syms) {
    if (s.shndx !== idSec.index || !s.name.startsWith(SET8_PREFIX)) continue;
    // is_sym_kfunc_set's `int off = st_value - idlist_addr`, compared with the size_t
    // d_size: a negative offset is out of bounds too.
    const o = Number(BigInt.asIntN(32, s.value - base));
    if (o < 0 || o >= data.length) {
      warn(`is_sym_kfunc_set: symbol '${s.name}' out of bounds`);
      continue;
    }
    if (o + 8 > data.length) continue;
    if ((dv.getUint32(o + 4, le) & BTF_SET8_KFUNCS) === 0) continue;
    ranges.push({ start: s.value, end: s.value + BigInt(s.size) });
  }
  for (const s of syms) {
    if (s.shndx !== idSec.index) continue;
    const func = btfIdFuncName(s.name);
    if (func === undefined) continue;
    const r = ranges.find((x) => x.start <= s.value && s.value < x.end);
    if (r === undefined) continue;
    const off = s.value - base;
    if (off < 0n || off + 8n > BigInt(data.length)) {
      throw new EncodeError('ENCODE_BAD_BTF_IDS', `kfunc '${func}' offset outside section '.BTF_ids'`, { file: elf.file, section: '.BTF_ids', offset: Number(off), symbol: s.name });
    }
    const f = fns.find(func);
    if (f !== undefined) {
      f.kfunc = true;
      f.kfuncFlags = dv.getUint32(Number(off) + 4, le);
    }
  }
}
