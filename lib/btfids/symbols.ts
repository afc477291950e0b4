/**
 * The `__BTF_ID__*` symbol grammar of include/linux/btf_ids.h, parsed exactly as
 * resolve_btfids 6.12 parses it (symbols_collect, get_id, add_set), quirks included:
 *
 *   __BTF_ID__<kind>__<name>__<suffix>   kind: struct, union, typedef, func
 *   __BTF_ID__set__<name>                BTF_SET (struct btf_id_set)
 *   __BTF_ID__set8__<name>               BTF_SET8 / BTF_KFUNCS (struct btf_id_set8)
 *
 * - The kind is recognised by the *start* of the text after `__BTF_ID__`, in the
 *   order struct, union, typedef, func, set8, set (`structx__foo__1` is a struct).
 * - For id kinds, two characters after the kind word are skipped unchecked, the name
 *   ends at the last `__` (so the suffix is whatever follows it and the name may
 *   contain `__` or end in `_`).
 * - For sets, everything after `set__` / `set8__` is the name (non-empty).
 *
 * Names are latin1 strings (one char per byte), so JavaScript string order is strcmp
 * order and no byte is lost; see messages.ts displayName() for printing.
 */
import type { ElfFile, ElfSection } from '../elf/index.js';
import { SHT_STRTAB } from '../elf/constants.js';
import { dataViewOf } from '../bytes.js';
import { BtfIdsError } from './errors.js';
import { msg } from './messages.js';

export const BTF_ID_PREFIX = '__BTF_ID__';

export type IdKind = 'struct' | 'union' | 'typedef' | 'func';
export type SetKind = 'set' | 'set8';

/** Id kinds in the order resolve_btfids patches them. */
export const ID_KINDS: readonly IdKind[] = ['struct', 'union', 'typedef', 'func'];

export type ParsedBtfIdSymbol =
  | { readonly type: 'id'; readonly kind: IdKind; readonly name: string }
  | { readonly type: 'set'; readonly kind: SetKind; readonly name: string };

/** Kind words in resolve_btfids' test order (set8 before set: "set8" starts with "set"). */
const KIND_WORDS: readonly (IdKind | SetKind)[] = ['struct', 'union', 'typedef', 'func', 'set8', 'set'];

/** True when resolve_btfids looks at a symbol of this name (prefix test only). */
export function isBtfIdSymbol(name: string): boolean {
  return name.startsWith(BTF_ID_PREFIX);
}

/**
 * get_id(): skip 2 characters, cut at the last '_' which must follow another '_'.
 * Returns undefined where resolve_btfids fails (or reads outside the string).
 */
function idName(afterKind: string, bufSize: number | undefined): string | undefined {
  if (2 >= afterKind.length) return undefined;
  if (bufSize !== undefined && afterKind.length - 2 >= bufSize) return undefined;
  const id = afterKind.slice(2);
  const p = id.lastIndexOf('_');
  // p < 0 or p === 0: the C code steps before the string (undefined behaviour); report it.
  if (p <= 0 || id[p - 1] !== '_') return undefined;
  return id.slice(0, p - 1);
}

/**
 * Parse one `__BTF_ID__...` symbol name. Throws BtfIdsError with resolve_btfids'
 * FAILED text for names it rejects. `nameBufSize`: 7.x's get_id() also rejects a name
 * part (after the kind word and its "__") of that many characters or more.
 */
export function parseBtfIdSymbol(symbolName: string, nameBufSize?: number): ParsedBtfIdSymbol {
  if (!isBtfIdSymbol(symbolName)) {
    throw new BtfIdsError('BTFIDS_UNSUPPORTED_PREFIX', `symbol '${symbolName}' does not start with ${BTF_ID_PREFIX}`, msg.unsupportedPrefix(symbolName), { symbol: symbolName });
  }
  const rest = symbolName.slice(BTF_ID_PREFIX.length);
  const kind = KIND_WORDS.find((k) => rest.startsWith(k));
  if (kind === undefined) {
    throw new BtfIdsError('BTFIDS_UNSUPPORTED_PREFIX', `symbol '${symbolName}': unsupported kind (not struct, union, typedef, func, set or set8)`, msg.unsupportedPrefix(rest), { symbol: symbolName });
  }
  if (kind === 'set' || kind === 'set8') {
    const skip = kind.length + 2;
    if (skip >= rest.length) {
      throw new BtfIdsError('BTFIDS_BAD_SET_NAME', `symbol '${symbolName}': empty set name`, msg.badSetName(rest), { symbol: symbolName });
    }
    return { type: 'set', kind, name: rest.slice(skip) };
  }
  const name = idName(rest.slice(kind.length), nameBufSize);
  if (name === undefined) {
    throw new BtfIdsError('BTFIDS_BAD_SYMBOL_NAME', `symbol '${symbolName}': expected __BTF_ID__${kind}__<name>__<suffix>`, msg.badSymbolName(rest), { symbol: symbolName });
  }
  return { type: 'id', kind, name };
}

/** One Elf32_Sym/Elf64_Sym as resolve_btfids reads it (gelf_getsym, no SHN_XINDEX lookup). */
export interface RawSymbol {
  readonly index: number;
  /** latin1; undefined when elf_strptr would fail (such symbols are skipped). */
  readonly name: string | undefined;
  readonly value: bigint;
  readonly size: bigint;
  /** st_shndx exactly as stored (16 bits). */
  readonly shndx: number;
}

/**
 * The symbols of `symtab`, counted as resolve_btfids counts them
 * (sh_size / sh_entsize) but read at the class's Elf_Sym stride as libelf does.
 * Names are looked up only for symbols in section `onlyShndx` (others get name
 * undefined), because resolve_btfids reads no other names.
 */
export function readSymbols(elf: ElfFile, symtab: ElfSection, onlyShndx: number): RawSymbol[] {
  const file = elf.file;
  const ctx = { section: symtab.name, ...(file !== undefined ? { file } : {}) };
  const entsize = symtab.entsize;
  if (entsize === 0) {
    // resolve_btfids divides by sh_entsize: SIGFPE.
    throw new BtfIdsError('BTFIDS_BAD_SYMTAB', `symbol table [${symtab.index}] has sh_entsize 0 (resolve_btfids crashes on this)`, `FAILED symbol table [${symtab.index}] has sh_entsize 0`, ctx);
  }
  const symSize = elf.is64 ? 24 : 16;
  const data = elf.sectionData(symtab);
  const n = Math.floor(symtab.size / entsize);
  const dv = dataViewOf(data);
  const le = elf.littleEndian;
  const strSec = elf.sections[symtab.link];
  const strData = strSec !== undefined && strSec.type === SHT_STRTAB ? elf.sectionData(strSec) : undefined;
  const out: RawSymbol[] = [];
  for (let i = 0; i < n; i++) {
    const at = i * symSize;
    if (at + symSize > data.length) {
      // gelf_getsym fails and symbols_collect returns -1 without a message.
      throw new BtfIdsError('BTFIDS_BAD_SYMTAB', `symbol table [${symtab.index}]: symbol ${i} lies past the end of the section (sh_entsize ${entsize})`, '', { ...ctx, offset: at });
    }
    const nameOff = dv.getUint32(at, le);
    let value: bigint;
    let size: bigint;
    let shndx: number;
    if (elf.is64) {
      shndx = dv.getUint16(at + 6, le);
      value = dv.getBigUint64(at + 8, le);
      size = dv.getBigUint64(at + 16, le);
    } else {
      value = BigInt(dv.getUint32(at + 4, le));
      size = BigInt(dv.getUint32(at + 8, le));
      shndx = dv.getUint16(at + 14, le);
    }
    let name: string | undefined;
    if (shndx === onlyShndx && strData !== undefined && nameOff < strData.length) {
      const nul = strData.indexOf(0, nameOff);
      if (nul >= 0) name = Buffer.from(strData.buffer, strData.byteOffset + nameOff, nul - nameOff).toString('latin1');
    }
    out.push({ index: i, name, value, size, shndx });
  }
  return out;
}
