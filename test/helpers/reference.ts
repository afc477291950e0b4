/** Comparing with what a reference tool wrote (its bytes, its stderr files). */
import { expect } from 'vitest';
import { firstDiff } from './fixtures.js';

/** Fails with the first differing byte; `got` undefined means the output was not produced. */
export function expectSame(what: string, got: Uint8Array | undefined, want: Uint8Array): void {
  expect(got, `${what}: not produced`).toBeDefined();
  const d = firstDiff(got as Uint8Array, want);
  if (d !== undefined) expect.fail(`${what}: ${d}`);
}

/** A stderr file as the fixture scripts store a tool's run: its stderr, then "exit=N". */
export function toolRun(text: string, name: string): { stderr: string; exit: number } {
  const m = /exit=(\d+)\n$/.exec(text);
  if (!m) throw new Error(`${name}: no exit= line`);
  return { stderr: text.slice(0, m.index), exit: Number(m[1]) };
}
