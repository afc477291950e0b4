/**
 * Errors of split BTF relocation (distilled base -> new base).
 *
 * libbpf's btf_relocate() stops at the first problem and prints one line; modbtf
 * collects every distilled base type that cannot be mapped (RelocateError each) and
 * throws them together as one RelocateFailure. Each RelocateError also carries the
 * exact line libbpf would have printed for it (`libbpfMessage`), and the failures are
 * kept in the order in which libbpf would meet them, so `failures[0].libbpfMessage`
 * is what libbpf (and the kernel, at module load) reports.
 */
import { ModbtfError, type ErrorContext } from '../errors.js';
import type { BtfKind } from '../btf/kinds.js';

export type RelocateErrorCode =
  /** No INT/FLOAT/ENUM/ENUM64/FWD/STRUCT/UNION of that name in the new base. */
  | 'RELOC_NOT_FOUND'
  /** Types of that name exist, but none of a kind the distilled type can map to. */
  | 'RELOC_KIND_MISMATCH'
  /** INT of that name and size exists with another encoding (signed/char/bool). */
  | 'RELOC_ENCODING_MISMATCH'
  /** Candidates of that name exist but their size differs where size must match. */
  | 'RELOC_SIZE_MISMATCH'
  /** Several equally good candidates in the new base. */
  | 'RELOC_AMBIGUOUS'
  /** A named new-base type has an empty name string and maps to void (libbpf's "invalid distilled base BTF id"). */
  | 'RELOC_INVALID_DIST_ID'
  /** A split string offset points into the distilled base's strings but not at a mapped name. */
  | 'RELOC_STRING_NOT_MAPPED'
  /** The distilled base holds a type that a distilled base must not hold. */
  | 'RELOC_BAD_DISTILLED_BASE'
  /** The new base cannot be used (split BTF, bad string offsets). */
  | 'RELOC_BAD_NEW_BASE'
  /** The split BTF is not over the given distilled base or refers to ids out of range. */
  | 'RELOC_BAD_SPLIT'
  /** The aggregate (RelocateFailure). */
  | 'RELOC_FAILED';

/** A new-base type considered for a distilled type, and why it was (not) taken. */
export interface RelocateCandidate {
  id: number;
  kind: BtfKind;
  size: number;
  /** 'match' for accepted candidates; otherwise why libbpf's matcher skipped it. */
  verdict: 'match' | 'size' | 'kind' | 'encoding' | 'flavour';
}

/** How a distilled composite is embedded by value in a split struct/union. */
export interface EmbeddingPath {
  /** Split id (numbering over the distilled base) of the struct/union holding the member. */
  containerId: number;
  memberIndex: number;
  memberName: string;
  /** Ids walked from the member's type down to the distilled type (inclusive). */
  path: number[];
  /** e.g. `struct kvm_vcpu_vmx.vcpu → struct kvm_vcpu`. */
  text: string;
}

export interface RelocateErrorDetail {
  /** Id in the distilled base (0 when the error is not about one distilled type). */
  distId?: number;
  name?: string;
  kind?: BtfKind;
  /** Size in the distilled base. */
  size?: number;
  /** Whether the distilled type is embedded by value in a split struct/union. */
  embedded?: boolean;
  embeddedVia?: EmbeddingPath;
  candidates?: RelocateCandidate[];
  /** The line libbpf v1.7.0 prints for this problem, `libbpf: ` prefix, no newline. */
  libbpfMessage: string;
  /**
   * Sort key that puts failures in the order libbpf meets them: phase (0 validation,
   * 1 base scan, 2 unmapped check, 3 string rewrite) then position within the phase.
   */
  order: readonly [number, number, number];
}

export class RelocateError extends ModbtfError {
  readonly distId: number | undefined;
  readonly typeName: string | undefined;
  readonly kind: BtfKind | undefined;
  readonly size: number | undefined;
  readonly embedded: boolean;
  readonly embeddedVia: EmbeddingPath | undefined;
  readonly candidates: readonly RelocateCandidate[];
  readonly libbpfMessage: string;
  readonly order: readonly [number, number, number];

  constructor(code: RelocateErrorCode, message: string, detail: RelocateErrorDetail, context: ErrorContext = {}) {
    const ctx: ErrorContext = { ...context };
    if (detail.distId !== undefined && ctx.typeId === undefined) ctx.typeId = detail.distId;
    super('RelocateError', code, message, ctx);
    this.distId = detail.distId;
    this.typeName = detail.name;
    this.kind = detail.kind;
    this.size = detail.size;
    this.embedded = detail.embedded ?? false;
    this.embeddedVia = detail.embeddedVia;
    this.candidates = detail.candidates ?? [];
    this.libbpfMessage = detail.libbpfMessage;
    this.order = detail.order;
  }

  override toJSON(): Record<string, unknown> {
    const j = super.toJSON();
    if (this.distId !== undefined) j['distId'] = this.distId;
    if (this.typeName !== undefined) j['typeName'] = this.typeName;
    if (this.size !== undefined) j['size'] = this.size;
    if (this.embedded) j['embedded'] = true;
    if (this.embeddedVia) j['embeddedVia'] = this.embeddedVia.text;
    if (this.candidates.length > 0) j['candidates'] = this.candidates;
    j['libbpfMessage'] = this.libbpfMessage;
    return j;
  }
}

function compareOrder(a: RelocateError, b: RelocateError): number {
  for (let i = 0; i < 3; i++) {
    const d = (a.order[i] as number) - (b.order[i] as number);
    if (d !== 0) return d;
  }
  return 0;
}

/** Every problem found in one relocation, in the order libbpf would meet them. */
export class RelocateFailure extends ModbtfError {
  readonly failures: RelocateError[];

  constructor(failures: RelocateError[], context: ErrorContext = {}) {
    const sorted = [...failures].sort(compareOrder);
    const first = sorted[0];
    const more = sorted.length > 1 ? ` (and ${sorted.length - 1} more)` : '';
    super('RelocateError', 'RELOC_FAILED',
      first ? `relocation failed: ${first.message}${more}` : 'relocation failed', context);
    this.failures = sorted;
  }

  /** The error libbpf would stop at. */
  get first(): RelocateError | undefined { return this.failures[0]; }

  override toJSON(): Record<string, unknown> {
    return { ...super.toJSON(), failures: this.failures.map((f) => f.toJSON()) };
  }
}

export function isRelocateFailure(x: unknown): x is RelocateFailure {
  return x instanceof RelocateFailure;
}

/**
 * What libbpf v1.7.0 prints (warning level, through its print callback) when
 * btf_relocate() fails: the first failure's line plus newline — the content of the
 * golden `*.reloc117.err` files.
 */
export function formatLibbpfFailure(f: RelocateFailure | RelocateError): string {
  const e = f instanceof RelocateFailure ? f.first : f;
  return e ? `${e.libbpfMessage}\n` : '';
}
