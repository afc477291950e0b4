import { isModbtfError, type ModbtfError } from '../../lib/errors.js';

/** The ModbtfError `f` throws; any other exception is rethrown, and returning is a failure. */
export function caught(f: () => unknown): ModbtfError {
  try {
    f();
  } catch (e) {
    if (isModbtfError(e)) return e;
    throw e;
  }
  throw new Error('expected a ModbtfError');
}
