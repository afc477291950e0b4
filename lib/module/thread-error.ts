/**
 * An error crossing a worker thread's boundary as data and thrown again on the other side
 * as the same kind: a ModbtfError as the same ModbtfError (its errno kept where errnoOf
 * finds it), anything else (a system error, a bug) as an EncoderThreadBug carrying the
 * worker's message, code and stack. Used by the encoder's threads (encode-lanes.ts,
 * encode-isolate.ts).
 */
import { ModbtfError, errnoOf, isModbtfError, type ErrorContext, type ErrorFamily } from '../errors.js';

export type ThreadErrorData =
  | { modbtf: { name: ErrorFamily; code: string; message: string; context: ErrorContext; errno?: string } }
  | { other: { message: string; code?: string; stack?: string } };

export function threadErrorData(err: unknown): ThreadErrorData {
  if (isModbtfError(err)) {
    const errno = errnoOf(err);
    return { modbtf: { name: err.name, code: err.code, message: err.message, context: { ...err.context }, ...(errno !== undefined ? { errno } : {}) } };
  }
  const e = err as { message?: unknown; code?: unknown; stack?: unknown };
  return {
    other: {
      message: typeof e?.message === 'string' ? e.message : String(err),
      ...(typeof e?.code === 'string' ? { code: e.code } : {}),
      ...(typeof e?.stack === 'string' ? { stack: e.stack } : {}),
    },
  };
}

/**
 * A failure on an encoder thread that was not a ModbtfError (a bug, or a system error such as
 * EACCES: `code`), with the worker's stack in its message: deliberately not a ModbtfError, as
 * the same failure in this thread would not be one (kbuild lets bugs fail the build).
 */
export class EncoderThreadBug extends Error {
  override readonly name = 'EncoderThreadBug';
  code: string | undefined;
}

export function reviveThreadError(d: ThreadErrorData): Error {
  if ('modbtf' in d) {
    const m = d.modbtf;
    // errnoOf reads the errno through `cause`, as on the error thrown in the worker.
    return new ModbtfError(m.name, m.code, m.message, m.context, m.errno !== undefined ? { cause: { code: m.errno } } : undefined);
  }
  const e = new EncoderThreadBug(`modbtf's encoder (worker thread): ${d.other.stack ?? d.other.message}`);
  e.code = d.other.code;
  return e;
}
