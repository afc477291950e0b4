import type { Diagnostic } from '../lib/btfids/index.js';

/** resolve_btfids prints its warnings bare ("WARN: ..."); so do we, one per line. */
export function printDiagnostics(diags: readonly Diagnostic[], file: string | undefined): void {
  for (const d of diags) {
    if (d.level === 'debug') continue;
    const prefix = file !== undefined && !d.message.startsWith('WARN: resolve_btfids') && !d.message.startsWith('WARN: multiple') ? `${file}: ` : '';
    process.stderr.write(`${prefix}${d.message}\n`);
  }
}
