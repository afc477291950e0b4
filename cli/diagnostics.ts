import type { Diagnostic } from '../lib/btfids/index.js';

/** resolve_btfids prints its warnings bare ("WARN: ..."); so do we, one per line. */
export function printDiagnostics(diags: readonly Diagnostic[], file: string | undefined): void {
  for (const d of diags) {
    if (d.level === 'debug') continue;
    const prefix = file !== undefined && !d.message.startsWith('WARN: resolve_btfids') && !d.message.startsWith('WARN: multiple') ? `${file}: ` : '';
    process.stderr.write(`${prefix}${d.message}\n`);
  }
}

/**
 * In a kernel build: resolve_btfids' own warnings as the tool prints them, and modbtf's
 * notes about ids the kernel will not relocate folded into one line per module (the
 * kernel's own 7.x step writes the same ids, silently; one line says it without flooding
 * the build log).
 */
export function printKbuildDiagnostics(diags: readonly Diagnostic[], module: string): void {
  const notRelocated = diags.filter((d) => d.code === 'BTFIDS_NOT_RELOCATED');
  printDiagnostics(diags.filter((d) => d.code !== 'BTFIDS_NOT_RELOCATED'), undefined);
  if (notRelocated.length === 0) return;
  const names = notRelocated.map((d) => d.symbol ?? '?');
  const shown = names.length > 4 ? `${names.slice(0, 4).join(', ')} and ${names.length - 4} more` : names.join(', ');
  process.stderr.write(`modbtf: note: ${module}: ${notRelocated.length} .BTF_ids ${notRelocated.length === 1 ? 'entry is' : 'entries are'} in distilled-base numbering, which the kernel does not relocate at load (${shown}): on other kernels they name other types; \`modbtf finalize --dry-run <module>\` lists them\n`);
}
