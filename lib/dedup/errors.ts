/**
 * Errors raised by BTF dedup, with the errno libbpf's btf__dedup() returns in the same
 * case (callers that reproduce a tool's message need it: resolve_btfids prints
 * "FAILED to dedup BTF: <strerror>"). Codes:
 *  - DEDUP_UNKNOWN_KIND: a type of a kind dedup does not handle (-EINVAL).
 *  - DEDUP_LOOP: a reference type reaches itself without a struct, union or typedef in
 *    between (-ELOOP).
 *  - DEDUP_BAD_TYPE_ID: a type id field points past the last type (-EINVAL; libbpf's
 *    parser refuses such BTF before dedup).
 *  - DEDUP_BAD_STRING: a string offset outside the string sections (-EINVAL, likewise).
 *  - DEDUP_HEADER_EXTRA: header bytes the libbpf in question does not know are set, so
 *    it refuses to modify the BTF (-EOPNOTSUPP).
 *  - DEDUP_FOREIGN_HEADER: foreign-endian BTF with a header length this libbpf cannot
 *    swap (-ENOTSUP).
 */
import { ModbtfError, type ErrorContext } from '../errors.js';

export type DedupErrorCode =
  | 'DEDUP_UNKNOWN_KIND'
  | 'DEDUP_LOOP'
  | 'DEDUP_BAD_TYPE_ID'
  | 'DEDUP_BAD_STRING'
  | 'DEDUP_HEADER_EXTRA'
  | 'DEDUP_FOREIGN_HEADER';

const ERRNO: Readonly<Record<DedupErrorCode, string>> = {
  DEDUP_UNKNOWN_KIND: 'EINVAL',
  DEDUP_LOOP: 'ELOOP',
  DEDUP_BAD_TYPE_ID: 'EINVAL',
  DEDUP_BAD_STRING: 'EINVAL',
  DEDUP_HEADER_EXTRA: 'EOPNOTSUPP',
  DEDUP_FOREIGN_HEADER: 'ENOTSUP',
};

export class DedupError extends ModbtfError {
  constructor(code: DedupErrorCode, message: string, context: ErrorContext = {}) {
    super('DedupError', code, message, context);
  }

  /** The errno name libbpf returns for this failure. */
  get errno(): string {
    return ERRNO[this.code as DedupErrorCode] ?? 'EINVAL';
  }
}
