// Parse → decode every record → re-encode must give back the exact bytes of real BTF:
// both Debian vmlinux files and the shipped .BTF of every golden module. The same
// check runs over all 4229 modules of the image in scripts/corpus-roundtrip.mjs.
import { describe, expect, it } from 'vitest';
import { Btf } from '../../lib/btf/btf.js';
import { rewriteBtf } from '../../lib/btf/write.js';
import { validateBtf } from '../../lib/btf/validate.js';
import { loadBtfFile } from '../../lib/module/btf-file.js';
import { fixtureBytes, fixturePath, firstDiff, goldenModules, vmlinuxBtf } from '../helpers/fixtures.js';

describe('vmlinux BTF round trip', () => {
  it.each(['107', '117'] as const)('6.12.%s: byte-identical, valid, type count as in MANIFEST', (v) => {
    const btf = vmlinuxBtf(v);
    expect(btf.typeCount - 1).toBe(v === '107' ? 112518 : 112768);
    expect(firstDiff(rewriteBtf(btf), btf.bytes)).toBeUndefined();
    expect(validateBtf(btf, { limit: 5 }).map((e) => e.describe())).toEqual([]);
  });
});

describe('module BTF round trip (split over vmlinux 6.12.107)', () => {
  it.each(goldenModules())('%s', (name) => {
    const bytes = fixtureBytes(`btf/${name}.btf.gz`);
    const btf = Btf.parse(bytes, { base: vmlinuxBtf('107') });
    expect(btf.startId).toBe(112519);
    expect(btf.startStrOff).toBe(2053498);
    expect(firstDiff(rewriteBtf(btf), bytes)).toBeUndefined();
    expect(validateBtf(btf, { limit: 5 }).map((e) => e.describe())).toEqual([]);
  });
});

describe('a shipped module file (xz, signed)', () => {
  it('tcp_bbr.ko.xz: .BTF equals the golden raw section', async () => {
    const loaded = await loadBtfFile(fixturePath('modules/tcp_bbr.ko.xz'), { base: vmlinuxBtf('107') });
    expect(loaded.module?.compression).toBe('xz');
    expect(loaded.module?.signature).toBeDefined();
    expect(loaded.distilledBase).toBeUndefined();
    expect(firstDiff(loaded.btf.bytes, fixtureBytes('btf/tcp_bbr.btf.gz'))).toBeUndefined();
  });
});
