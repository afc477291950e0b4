// How the kbuild step prints diagnostics: resolve_btfids' own warnings as the tool does,
// modbtf's "not relocated" notes folded into one line per module.
import { afterEach, describe, expect, it, vi } from 'vitest';
import { printKbuildDiagnostics } from '../../../cli/diagnostics.js';
import type { Diagnostic } from '../../../lib/btfids/index.js';

afterEach(() => { vi.restoreAllMocks(); });

function capture(fn: () => void): string {
  let text = '';
  vi.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => { text += String(chunk); return true; });
  fn();
  return text;
}

const notRelocated = (symbol: string): Diagnostic => ({ level: 'warning', code: 'BTFIDS_NOT_RELOCATED', extension: true, symbol, message: `WARN: modbtf: struct ${symbol} = 1 ...` });

describe('printKbuildDiagnostics', () => {
  it('prints the tool\'s warnings and one note for the ids the kernel does not relocate', () => {
    const text = capture(() => printKbuildDiagnostics([
      { level: 'warning', code: 'BTFIDS_UNRESOLVED', message: 'WARN: resolve_btfids: unresolved symbol foo', symbol: 'foo' },
      ...['a', 'b', 'c', 'd', 'e', 'f'].map(notRelocated),
      { level: 'debug', code: 'BTFIDS_PATCH', message: 'patching ...', verbosity: 1 },
    ], 'm.ko'));
    expect(text).toBe('WARN: resolve_btfids: unresolved symbol foo\n'
      + 'modbtf: note: m.ko: 6 .BTF_ids entries are in distilled-base numbering, which the kernel does not relocate at load (a, b, c, d and 2 more): on other kernels they name other types; `modbtf finalize --dry-run <module>` lists them\n');
  });
  it('prints nothing for a module without such ids or warnings', () => {
    expect(capture(() => printKbuildDiagnostics([], 'm.ko'))).toBe('');
  });
});
