// lib/ reports failures as ModbtfErrors and never talks to the terminal (DESIGN.md).
import { describe, expect, it } from 'vitest';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const LIB = join(fileURLToPath(import.meta.url), '..', '..', '..', 'lib');
function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? sources(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : []));
}

describe('lib/ rules', () => {
  const files = sources(LIB);
  it('finds the library sources', () => expect(files.length).toBeGreaterThan(30));
  it.each(files.map((f) => [f.slice(LIB.length + 1), f]))('%s: no bare Error, no printing or exiting, no any', (_name, file) => {
    const text = readFileSync(file, 'utf8').replace(/\/\*[\s\S]*?\*\/|\/\/.*$/gm, '');
    expect(text).not.toMatch(/new Error\(|throw ['"`]/);
    expect(text).not.toMatch(/console\.|process\.exit|process\.stdout|process\.stderr/);
    expect(text).not.toMatch(/:\s*any\b|as any\b|<any>/);
  });
  // The info word's bit layout (7-bit kind, 24-bit vlen since the 7.2 UAPI) lives in
  // lib/btf/wire.ts alone: everything else reads kind and vlen through infoKind/infoVlen.
  it.each(files.filter((f) => !f.endsWith(join('btf', 'wire.ts'))).map((f) => [f.slice(LIB.length + 1), f]))('%s: no kind or vlen masks of its own', (_name, file) => {
    const text = readFileSync(file, 'utf8').replace(/\/\*[\s\S]*?\*\/|\/\/.*$/gm, '');
    expect(text).not.toMatch(/>>>\s*24\)?\s*&\s*0x(1f|7f)\b|\)\s*&\s*0x(1f|7f)\]|info\w*\s*&\s*0xffff(ff)?\b|new Uint8Array\(32\)/);
  });
});
