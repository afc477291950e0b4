/**
 * Every failure lib/ reports is a ModbtfError: a stable `code` for programs, a
 * message in libbpf's words where one exists, and the context a person needs to find
 * the problem (file, section, byte offset, type id, symbol). Layers add context on the
 * way up with `withContext` instead of wrapping, so the innermost offset survives.
 */
export interface ErrorContext {
  file?: string;
  section?: string;
  /** Byte offset, relative to `section` when set, else to the start of the file/blob. */
  offset?: number;
  typeId?: number;
  symbol?: string;
  /** DIE offset in .debug_info (DWARF errors). */
  die?: number;
}

export type ErrorFamily =
  | 'ElfFormatError'
  | 'BtfFormatError'
  | 'BtfValidationError'
  | 'DwarfFormatError'
  | 'DistillError'
  | 'DedupError'
  | 'EncodeError'
  | 'RelocateError'
  | 'BtfIdsError'
  | 'ToolError'
  | 'ModuleError'
  | 'UsageError';

export class ModbtfError extends Error {
  override readonly name: ErrorFamily;
  readonly code: string;
  readonly context: ErrorContext;

  constructor(name: ErrorFamily, code: string, message: string, context: ErrorContext = {}, options?: { cause?: unknown }) {
    super(message, options);
    this.name = name;
    this.code = code;
    this.context = { ...context };
  }

  get file(): string | undefined { return this.context.file; }
  get section(): string | undefined { return this.context.section; }
  get offset(): number | undefined { return this.context.offset; }
  get typeId(): number | undefined { return this.context.typeId; }
  get die(): number | undefined { return this.context.die; }

  /** Fill in context fields that are still unknown; fields already set are kept. */
  withContext(extra: ErrorContext): this {
    for (const [k, v] of Object.entries(extra) as [keyof ErrorContext, string | number | undefined][]) {
      if (v !== undefined && this.context[k] === undefined) {
        (this.context as Record<string, string | number>)[k] = v;
      }
    }
    return this;
  }

  /** `file: .BTF+0x1a2c: type [1234]: message` — the form the CLI prints. */
  describe(): string {
    const parts: string[] = [];
    const c = this.context;
    if (c.file !== undefined) parts.push(c.file);
    if (c.section !== undefined || c.offset !== undefined) {
      const off = c.offset !== undefined ? `+0x${c.offset.toString(16)}` : '';
      parts.push(`${c.section ?? 'offset '}${off}`);
    }
    if (c.typeId !== undefined) parts.push(`type [${c.typeId}]`);
    if (c.die !== undefined) parts.push(`DIE [0x${c.die.toString(16)}]`);
    if (c.symbol !== undefined) parts.push(`symbol ${c.symbol}`);
    parts.push(this.message);
    return parts.join(': ');
  }

  toJSON(): Record<string, unknown> {
    return { name: this.name, code: this.code, message: this.message, ...this.context };
  }
}

export class ElfFormatError extends ModbtfError {
  constructor(code: string, message: string, context: ErrorContext = {}) {
    super('ElfFormatError', code, message, context);
  }
}

export class BtfFormatError extends ModbtfError {
  constructor(code: string, message: string, context: ErrorContext = {}) {
    super('BtfFormatError', code, message, context);
  }
}

export class BtfValidationError extends ModbtfError {
  constructor(code: string, message: string, context: ErrorContext = {}) {
    super('BtfValidationError', code, message, context);
  }
}

/** DWARF the reader cannot read: unknown form or relocation type, truncated section, bad offset. */
export class DwarfFormatError extends ModbtfError {
  constructor(code: string, message: string, context: ErrorContext = {}) {
    super('DwarfFormatError', code, message, context);
  }
}

export class ModuleError extends ModbtfError {
  constructor(code: string, message: string, context: ErrorContext = {}, options?: { cause?: unknown }) {
    super('ModuleError', code, message, context, options);
  }
}

export class ToolError extends ModbtfError {
  readonly tool: string;
  readonly argv: readonly string[];
  readonly exitCode: number | undefined;
  readonly stderr: string;
  constructor(code: string, message: string, detail: { tool: string; argv: readonly string[]; exitCode?: number; stderr?: string }, context: ErrorContext = {}, options?: { cause?: unknown }) {
    super('ToolError', code, message, context, options);
    this.tool = detail.tool;
    this.argv = detail.argv;
    this.exitCode = detail.exitCode;
    this.stderr = detail.stderr ?? '';
  }
}

/** Structural check, so errors from a second copy of the package are recognised too. */
export function isModbtfError(x: unknown): x is ModbtfError {
  if (typeof x !== 'object' || x === null) return false;
  const r = x as { name?: unknown; code?: unknown; context?: unknown };
  return typeof r.name === 'string' && /Error$/.test(r.name) && typeof r.code === 'string' && typeof r.context === 'object';
}

/** The errno name (ENOENT...) behind a failure, looking through the `cause` chain modbtf's errors keep. */
export function errnoOf(err: unknown): string | undefined {
  for (let e: unknown = err, i = 0; e !== undefined && e !== null && i < 5; e = (e as { cause?: unknown }).cause, i++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string' && /^E[A-Z]+$/.test(code)) return code;
  }
  return undefined;
}
