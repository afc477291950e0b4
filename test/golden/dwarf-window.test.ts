/**
 * lib/dwarf's windowed .debug_info (WindowedSection, openDwarfFile's windowInfo): each unit
 * read with only the relocation records that patch it, into a fresh buffer per unit when the
 * budget is one byte, must be the bytes of the whole section relocated at once, which the
 * golden DWARF tests hold to libdw's; and the encoder reading that way must still write
 * pahole 1.32's bytes (test/fixtures/kernel7/k7fix.pahole.btf).
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { Btf } from '../../lib/btf/btf.js';
import { openDwarfFile } from '../../lib/dwarf/file.js';
import { WindowedSection } from '../../lib/dwarf/sections.js';
import { encodeOpenedModule, encodeSettingsFromArgs } from '../../lib/encode/index.js';
import { FLAG_SETS } from '../../scripts/lib/encode-flag-sets.mjs';
import { fixtureBytes, firstDiff } from '../helpers/fixtures.js';

const dir = mkdtempSync(join(tmpdir(), 'modbtf-window-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const write = (name: string, fixture: string): string => {
  const p = join(dir, name);
  writeFileSync(p, fixtureBytes(fixture));
  return p;
};

describe('windowed .debug_info', () => {
  for (const [name, fixture] of [
    ['k7fix (x86_64, 7.2.13 kbuild)', 'kernel7/k7fix.linked.ko.gz'],
    ['ab (s390x, big-endian)', 'encode/s390x-gcc-dwarf5/ab.ko.gz'],
    ['ab (aarch64)', 'encode/aarch64-gcc-dwarf5/ab.ko.gz'],
    ['ab (x86_64, DWARF 4)', 'encode/gcc-dwarf4/ab.ko.gz'],
  ] as const) {
    it(`${name}: every unit, alone in a fresh buffer, has the whole section's relocated bytes`, () => {
      const ko = write(`${name.split(' ')[0]}-${fixture.split('/')[1]}.ko`, fixture);
      const whole = openDwarfFile(ko);
      const windowed = openDwarfFile(ko, { windowInfo: 1 });
      expect(windowed.info).toBeInstanceOf(WindowedSection);
      expect(whole.info).not.toBeInstanceOf(WindowedSection);
      const units = windowed.units;
      expect(units.length).toBe(whole.units.length);
      expect(units.length).toBeGreaterThan(1);
      const buffers = new Set<ArrayBufferLike>();
      // Backwards too: a unit read again after others comes back with the same bytes.
      for (const u of [...units, ...[...units].reverse()]) {
        const got = windowed.infoOf(u).data.subarray(u.offset, u.end);
        buffers.add(windowed.info.data.buffer);
        const want = whole.info.data.subarray(u.offset, u.end);
        expect(firstDiff(got, want), `unit at 0x${u.offset.toString(16)}`).toBeUndefined();
      }
      expect(buffers.size).toBeGreaterThan(1);
    });
  }

  it('k7fix encoded through a one-unit window: pahole 1.32\'s bytes', () => {
    const ko = write('k7fix-enc.ko', 'kernel7/k7fix.linked.ko.gz');
    const settings = encodeSettingsFromArgs(FLAG_SETS.kbuild72.split(' '));
    if ('refused' in settings) throw new Error(settings.refused);
    const base = Btf.parse(fixtureBytes('kernel7/vmlinux-7.2.13.btf.gz'), { file: 'vmlinux-7.2.13' });
    const r = encodeOpenedModule({ dwarf: openDwarfFile(ko, { indexCache: 2, windowInfo: 1 }) }, base, { features: settings.features, ...(settings.languages !== undefined ? { languages: settings.languages } : {}) });
    const want = fixtureBytes('kernel7/k7fix.pahole.btf.gz');
    expect(r.bytes && firstDiff(r.bytes, want)).toBeUndefined();
    expect(r.bytes?.length).toBe(want.length);
  });
});
