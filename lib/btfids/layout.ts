/**
 * Where the ids go: the `.BTF_ids` section, the symbol table, and the `__BTF_ID__*`
 * symbols grouped the way resolve_btfids 6.12 groups them (elf_collect,
 * symbols_collect):
 *
 * - `.BTF_ids` is the last section of that name, the symbol table the last section
 *   of type SHT_SYMTAB; without either there is nothing to do.
 * - A symbol counts when its st_shndx is the `.BTF_ids` index and its name starts
 *   with `__BTF_ID__` (binding, type and visibility do not matter).
 * - Id symbols are grouped per kind by name (one entry per (kind, name), at most 100
 *   addresses, in symbol-table order); set symbols by name alone (set and set8 share
 *   one namespace; a second set of the same name is an error).
 * - A slot's offset is st_value - sh_addr(.BTF_ids), computed in 64-bit unsigned
 *   arithmetic like the C code (vmlinux has kernel addresses on both sides).
 *
 * Sets (all fields u32 in the object's byte order):
 *   BTF_SET  (struct btf_id_set):  cnt, ids[cnt]; symbol size 4 + 4*cnt
 *   BTF_SET8 (struct btf_id_set8): cnt, flags, { id, flags }[cnt]; symbol size 8 + 8*cnt
 * and the count written is st_size / 4 - 1 (set) or st_size / 8 - 1 (set8) as a C int.
 */
import type { ElfFile, ElfSection } from '../elf/index.js';
import { SHT_SYMTAB } from '../elf/constants.js';
import { BTF_BASE_SECTION, BTF_IDS_SECTION } from '../btf/source.js';
import { BtfIdsError } from './errors.js';
import { msg, type Diagnostic } from './messages.js';
import { ID_KINDS, isBtfIdSymbol, parseBtfIdSymbol, readSymbols, type IdKind, type SetKind } from './symbols.js';

/** include/linux/btf_ids.h: resolve_btfids' per-name address limit. */
export const ADDR_CNT = 100;
/** include/linux/kallsyms.h: 7.x's get_id() copies the name into a buffer of this size. */
const KSYM_NAME_LEN = 512;
/** SHF_COMPRESSED. */
const SHF_COMPRESSED = 0x800;
/** BTF_SET8_KFUNCS: set8 header flag of BTF_KFUNCS_START sets. */
export const BTF_SET8_KFUNCS = 1;

export interface IdEntry {
  readonly kind: IdKind;
  /** latin1 name as parsed from the symbol. */
  readonly name: string;
  /** st_value of each symbol of this (kind, name), in symbol-table order. */
  readonly addrs: bigint[];
  /** Symbol-table indexes, parallel to addrs. */
  readonly symbols: number[];
}

export interface SetEntry {
  readonly kind: SetKind;
  readonly name: string;
  readonly addr: bigint;
  /** The count resolve_btfids writes (C int; -1 for a set symbol of size 0). */
  readonly cnt: number;
  readonly symbolSize: bigint;
  readonly symbol: number;
}

export interface BtfIdsLayout {
  readonly section: ElfSection;
  readonly symtab: ElfSection;
  /** sh_addr of `.BTF_ids` (0 in a module). */
  readonly sectionAddr: bigint;
  /** Byte size of `.BTF_ids`. */
  readonly size: number;
  readonly littleEndian: boolean;
  /** Entries per id kind, keyed by name, in insertion (symbol-table) order. */
  readonly ids: Readonly<Record<IdKind, ReadonlyMap<string, IdEntry>>>;
  readonly sets: ReadonlyMap<string, SetEntry>;
  /** Symbols per id kind: resolve_btfids' nr_structs, nr_unions, ... counters. */
  readonly symbolCounts: Readonly<Record<IdKind, number>>;
}

export interface AlignmentFix {
  readonly section: ElfSection;
  /** The sh_addralign resolve_btfids writes (8 for ELF64, 4 for ELF32). */
  readonly addralign: number;
}

export interface BtfIdsScan {
  /** undefined when the object has no `.BTF_ids` section or no symbol table: nothing to do. */
  readonly layout: BtfIdsLayout | undefined;
  /** The object has a `.BTF.base` section: resolve_btfids then drops -b entirely. */
  readonly hasBtfBase: boolean;
  /**
   * SHF_COMPRESSED sections whose sh_addralign resolve_btfids corrects while scanning
   * (compressed_section_fix). The fix reaches the file even when there is nothing to do.
   */
  readonly alignmentFixes: readonly AlignmentFix[];
  /** Debug lines (-vv section list, -v "adding symbol", "nothing to do"), in order. */
  readonly diagnostics: Diagnostic[];
}

export interface ScanOptions {
  /** Collect debug diagnostics up to this -v level (0 = none). */
  verbose?: number;
  /**
   * Which resolve_btfids to be (default 6): 6.12's fixes the alignment of compressed
   * sections while scanning; 7.x's does not, says "skip symbols resolution" when there is
   * nothing to do, and byte-swaps `.BTF_ids` of a foreign-endian object on load.
   */
  abi?: 6 | 7;
}

/** Byte offset of an address inside `.BTF_ids`, as the C `unsigned long` difference. */
export function slotOffset(layout: Pick<BtfIdsLayout, 'sectionAddr'>, addr: bigint): bigint {
  return BigInt.asUintN(64, addr - layout.sectionAddr);
}

/** Entries in resolve_btfids' patch order: per kind in ID_KINDS order, names in descending strcmp order. */
export function entriesInPatchOrder(map: ReadonlyMap<string, IdEntry>): IdEntry[] {
  return [...map.values()].sort((a, b) => (a.name < b.name ? 1 : a.name > b.name ? -1 : 0));
}

/** Sets in descending name order (the order they are patched and sorted). */
export function setsInOrder(sets: ReadonlyMap<string, SetEntry>): SetEntry[] {
  return [...sets.values()].sort((a, b) => (a.name < b.name ? 1 : a.name > b.name ? -1 : 0));
}

/**
 * Find `.BTF_ids` and the symbol table and collect the `__BTF_ID__*` symbols, with
 * resolve_btfids' errors (thrown as BtfIdsError, carrying the diagnostics so far).
 */
export function scanBtfIds(elf: ElfFile, opts: ScanOptions = {}): BtfIdsScan {
  const verbose = opts.verbose ?? 0;
  const abi = opts.abi ?? 6;
  const diagnostics: Diagnostic[] = [];
  const debug = (level: 1 | 2, code: Diagnostic['code'], message: string, symbol?: string): void => {
    if (verbose < level) return;
    const d: Diagnostic = { level: 'debug', code, message, verbosity: level };
    if (symbol !== undefined) d.symbol = symbol;
    diagnostics.push(d);
  };

  let idlist: ElfSection | undefined;
  let symtab: ElfSection | undefined;
  let hasBtfBase = false;
  const alignmentFixes: AlignmentFix[] = [];
  const expectedAlign = elf.is64 ? 8 : 4;
  for (let i = 1; i < elf.sections.length; i++) {
    const s = elf.sections[i] as ElfSection;
    debug(2, 'BTFIDS_SECTION', msg.section(i, s.name, s.size, s.link, s.flags, s.type));
    if (s.type === SHT_SYMTAB) symtab = s;
    else if (s.name === BTF_IDS_SECTION) {
      idlist = s;
      // resolve_btfids 7.x converts the words to host order here (and back when writing).
      if (abi === 7 && !elf.littleEndian) debug(1, 'BTFIDS_BSWAP', msg.bswapLoad());
    } else if (s.name === BTF_BASE_SECTION) hasBtfBase = true;
    if (abi === 6 && (s.flags & SHF_COMPRESSED) !== 0 && s.addralign !== expectedAlign) {
      debug(2, 'BTFIDS_FIX_ALIGNMENT', msg.fixAlignment(s.addralign, expectedAlign));
      alignmentFixes.push({ section: s, addralign: expectedAlign });
    }
  }
  if (idlist === undefined || symtab === undefined) {
    debug(1, 'BTFIDS_NOTHING_TO_DO', abi === 7 ? msg.skipResolution() : msg.nothingToDo());
    return { layout: undefined, hasBtfBase, alignmentFixes, diagnostics };
  }
  if (idlist.type === 8 /* SHT_NOBITS */) {
    // libelf hands resolve_btfids a NULL buffer: it crashes on the first patch.
    throw new BtfIdsError('BTFIDS_BAD_SECTION', `${BTF_IDS_SECTION} is SHT_NOBITS (no file data to patch; resolve_btfids crashes on this)`, `FAILED ${BTF_IDS_SECTION} is SHT_NOBITS (no data to patch)`, ctxOf(elf, { section: BTF_IDS_SECTION }), diagnostics);
  }

  const ids: Record<IdKind, Map<string, IdEntry>> = { struct: new Map(), union: new Map(), typedef: new Map(), func: new Map() };
  const symbolCounts: Record<IdKind, number> = { struct: 0, union: 0, typedef: 0, func: 0 };
  const sets = new Map<string, SetEntry>();
  let symbols;
  try {
    symbols = readSymbols(elf, symtab, idlist.index);
  } catch (e: unknown) {
    if (e instanceof BtfIdsError) e.diagnostics = diagnostics;
    throw e;
  }
  for (const sym of symbols) {
    if (sym.shndx !== idlist.index) continue;
    const name = sym.name;
    if (name === undefined || !isBtfIdSymbol(name)) continue;
    let parsed;
    try {
      parsed = parseBtfIdSymbol(name, abi === 7 ? KSYM_NAME_LEN : undefined);
    } catch (e: unknown) {
      if (e instanceof BtfIdsError) {
        e.withContext(ctxOf(elf, { section: symtab.name }));
        e.diagnostics = diagnostics;
      }
      throw e;
    }
    if (parsed.type === 'set') {
      if (sets.has(parsed.name)) {
        throw new BtfIdsError('BTFIDS_DUP_SET', `two set symbols named '${parsed.name}' (set names must be unique; resolve_btfids fails without a message)`, '', ctxOf(elf, { symbol: name }), diagnostics);
      }
      debug(1, 'BTFIDS_ADD_SYMBOL', msg.addingSymbol(parsed.name), parsed.name);
      const per = parsed.kind === 'set' ? 4n : 8n;
      const cnt = Number(BigInt.asIntN(32, sym.size / per - 1n));
      sets.set(parsed.name, { kind: parsed.kind, name: parsed.name, addr: sym.value, cnt, symbolSize: sym.size, symbol: sym.index });
      continue;
    }
    symbolCounts[parsed.kind]++;
    const table = ids[parsed.kind];
    let entry = table.get(parsed.name);
    if (entry === undefined) {
      debug(1, 'BTFIDS_ADD_SYMBOL', msg.addingSymbol(parsed.name), parsed.name);
      entry = { kind: parsed.kind, name: parsed.name, addrs: [], symbols: [] };
      table.set(parsed.name, entry);
    }
    if (entry.addrs.length >= ADDR_CNT) {
      throw new BtfIdsError('BTFIDS_TOO_MANY_SYMBOLS', `more than ${ADDR_CNT} symbols for ${parsed.kind} '${parsed.name}'`, msg.tooManySymbols(parsed.name), ctxOf(elf, { symbol: name }), diagnostics);
    }
    entry.addrs.push(sym.value);
    entry.symbols.push(sym.index);
  }

  const layout: BtfIdsLayout = {
    section: idlist,
    symtab,
    sectionAddr: idlist.addr,
    size: idlist.size,
    littleEndian: elf.littleEndian,
    ids,
    sets,
    symbolCounts,
  };
  return { layout, hasBtfBase, alignmentFixes, diagnostics };
}

function ctxOf(elf: ElfFile, extra: { section?: string; symbol?: string }): { file?: string; section?: string; symbol?: string } {
  const c: { file?: string; section?: string; symbol?: string } = { ...extra };
  if (elf.file !== undefined) c.file = elf.file;
  return c;
}

/** Every id kind with its table, in patch order. */
export function idTables(layout: BtfIdsLayout): [IdKind, ReadonlyMap<string, IdEntry>][] {
  return ID_KINDS.map((k) => [k, layout.ids[k]]);
}
