/**
 * BtfIdsError: a failure while collecting, resolving or writing `.BTF_ids`.
 *
 * `stderrText` is exactly what Debian's 6.12 resolve_btfids prints for the same
 * failure (without the trailing newline; '' when the tool fails silently, e.g. a
 * duplicate set name), so the resolve-btfids command can reproduce its stderr. Where
 * the tool crashes instead (BTFIDS_SET_OUT_OF_BOUNDS, BTFIDS_BAD_SECTION, sh_entsize
 * 0), it is a `FAILED ...` line of modbtf's own.
 * `message` is modbtf's own description for everyone else. `diagnostics` holds the
 * warnings (and debug lines) produced before the failure, in order: resolve_btfids
 * prints them before its FAILED line.
 *
 * Codes:
 *  - BTFIDS_UNSUPPORTED_PREFIX  `__BTF_ID__<kind>...` with a kind none of struct,
 *    union, typedef, func, set8, set
 *  - BTFIDS_BAD_SYMBOL_NAME     id symbol without a `__<suffix>` part
 *  - BTFIDS_BAD_SET_NAME        `__BTF_ID__set__` / `__BTF_ID__set8__` with no name
 *  - BTFIDS_DUP_SET             two set symbols with the same name (resolve_btfids: no message)
 *  - BTFIDS_TOO_MANY_SYMBOLS    more than 100 symbols for one (kind, name)
 *  - BTFIDS_BAD_SYMTAB          symbol table that cannot be read (sh_entsize 0, bad string)
 *  - BTFIDS_BAD_SECTION         `.BTF_ids` without file data (SHT_NOBITS)
 *  - BTFIDS_MALFORMED_BTF       a type id or name offset libbpf would not resolve
 *  - BTFIDS_PATCH_OUT_OF_BOUNDS symbol address outside `.BTF_ids`
 *  - BTFIDS_SET_OUT_OF_BOUNDS   set count reaching past `.BTF_ids` (resolve_btfids
 *    reads out of bounds and usually crashes, e.g. for a set symbol of size 0)
 *  - BTFIDS_ELF_UPDATE          libelf would refuse to write the object (alignment,
 *    entry size, version), with libelf's message
 *  - BTFIDS_REMAP_MISMATCH      remap: the section is not what resolve_btfids writes
 *    for the old BTF, so its ids cannot be trusted
 *  - BTFIDS_REMAP_INPUT         remap: inconsistent arguments (id map vs BTF)
 *  - BTFIDS_BTF2BTF / BTFIDS_DISTILL  resolve_btfids 7.x's btf2btf / distill failed
 *  - BTFIDS_KFUNC_FLAGS         7.3: a kfunc with different flags in two BTF_KFUNCS sets
 *  - BTFIDS_ARENA_NOT_POINTER   7.3: a KF_ARENA_* / `__arena` position that is no pointer
 *  - BTFIDS_DEDUP / BTFIDS_SORT 7.3's btf__dedup / the name sort failed
 */
import { ModbtfError, type ErrorContext } from '../errors.js';
import type { Diagnostic } from './messages.js';

export type BtfIdsErrorCode =
  | 'BTFIDS_UNSUPPORTED_PREFIX'
  | 'BTFIDS_BAD_SYMBOL_NAME'
  | 'BTFIDS_BAD_SET_NAME'
  | 'BTFIDS_DUP_SET'
  | 'BTFIDS_TOO_MANY_SYMBOLS'
  | 'BTFIDS_BAD_SYMTAB'
  | 'BTFIDS_BAD_SECTION'
  | 'BTFIDS_MALFORMED_BTF'
  | 'BTFIDS_PATCH_OUT_OF_BOUNDS'
  | 'BTFIDS_SET_OUT_OF_BOUNDS'
  | 'BTFIDS_ELF_UPDATE'
  | 'BTFIDS_REMAP_MISMATCH'
  | 'BTFIDS_REMAP_INPUT'
  | 'BTFIDS_BTF2BTF'
  | 'BTFIDS_DISTILL'
  | 'BTFIDS_KFUNC_FLAGS'
  | 'BTFIDS_ARENA_NOT_POINTER'
  | 'BTFIDS_DEDUP'
  | 'BTFIDS_SORT'
  | 'BTFIDS_PATCH_INPUT';

export class BtfIdsError extends ModbtfError {
  override readonly code: BtfIdsErrorCode;
  /** resolve_btfids' own stderr text for this failure ('' = it prints nothing). */
  readonly stderrText: string;
  /** Diagnostics emitted before the failure, in resolve_btfids order. */
  diagnostics: Diagnostic[];

  constructor(code: BtfIdsErrorCode, message: string, stderrText: string, context: ErrorContext = {}, diagnostics: Diagnostic[] = []) {
    super('BtfIdsError', code, message, context);
    this.code = code;
    this.stderrText = stderrText;
    this.diagnostics = diagnostics;
  }

  override toJSON(): Record<string, unknown> {
    return { ...super.toJSON(), stderrText: this.stderrText };
  }
}
