/**
 * Failures of the DWARF -> BTF encoder. Codes name the step that failed as pahole would
 * report it ("Error while encoding BTF", "Failed to encode BTF"), with the module and, where
 * one is involved, the DIE (DWARF errors from lib/dwarf keep their own DwarfFormatError).
 */
import { ModbtfError, type ErrorContext } from '../errors.js';

export type EncodeErrorCode =
  /** A DWARF tag pahole's encoder refuses (btf_encoder__encode_tag's default case). */
  | 'ENCODE_UNSUPPORTED_TAG'
  /** A btf__add_*() call libbpf would refuse (empty name, bad size, value out of range). */
  | 'ENCODE_LIBBPF_REFUSED'
  /** tag__check_id_drift: the BTF id of a type is not the one its DWARF position gives. */
  | 'ENCODE_ID_DRIFT'
  /** A variable name the kernel would refuse, without encode_force. */
  | 'ENCODE_INVALID_NAME'
  /** A variable of void type, without encode_force. */
  | 'ENCODE_VOID_VARIABLE'
  /** .BTF_ids holds a kfunc outside its section. */
  | 'ENCODE_BAD_BTF_IDS'
  /** An option or input the encoder does not handle (it says which). */
  | 'ENCODE_UNSUPPORTED';

/** ErrorContext whose fields may be given as undefined (not known here). */
export type LooseContext = { [K in keyof ErrorContext]?: ErrorContext[K] | undefined };

export class EncodeError extends ModbtfError {
  constructor(code: EncodeErrorCode, message: string, context: LooseContext = {}) {
    const clean: ErrorContext = {};
    for (const [k, v] of Object.entries(context)) if (v !== undefined) (clean as Record<string, unknown>)[k] = v;
    super('EncodeError', code, message, clean);
  }
}
