/**
 * Errors raised while distilling a split BTF's base. Codes:
 *  - DISTILL_NOT_SPLIT: the "split" BTF was not parsed over the given base.
 *  - DISTILL_ILLEGAL_BASE_REF: split BTF (directly or through base reference types)
 *    refers to a base type that cannot be distilled (VAR, DATASEC, FUNC, DECL_TAG);
 *    libbpf: "unexpected reference to base type[%u] of kind [%u] when creating
 *    distilled base BTF", -EINVAL.
 *  - DISTILL_BAD_TYPE_ID: a type id field points past the last type.
 *  - DISTILL_BAD_ENUM_SIZE: a named base ENUM/ENUM64 whose byte size btf__add_enum
 *    rejects (not 1, 2, 4 or 8).
 *  - DISTILL_BAD_STRING: a name offset outside the string sections.
 *  - DISTILL_UNKNOWN_KIND: the split BTF has a type of a kind modbtf does not know (sized
 *    by a layout section); libbpf's field iterator refuses it too (-EINVAL).
 */
import { ModbtfError, type ErrorContext } from '../errors.js';
import { kindName } from '../btf/kinds.js';

export type DistillErrorCode =
  | 'DISTILL_NOT_SPLIT'
  | 'DISTILL_ILLEGAL_BASE_REF'
  | 'DISTILL_BAD_TYPE_ID'
  | 'DISTILL_BAD_ENUM_SIZE'
  | 'DISTILL_BAD_STRING'
  | 'DISTILL_UNKNOWN_KIND';

export class DistillError extends ModbtfError {
  /** BTF_KIND_* of the offending type, when there is one. */
  readonly kind: number | undefined;

  constructor(code: DistillErrorCode, message: string, context: ErrorContext = {}, kind?: number) {
    super('DistillError', code, message, context);
    this.kind = kind;
  }

  get kindName(): string | undefined {
    return this.kind === undefined ? undefined : kindName(this.kind);
  }

  override toJSON(): Record<string, unknown> {
    const j = super.toJSON();
    if (this.kind !== undefined) j['kind'] = kindName(this.kind);
    return j;
  }
}
