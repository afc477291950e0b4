/**
 * lib/encode against pahole 1.32 (Debian sid, libbpf 1.7.0): the module's DWARF encoded as
 * split BTF over vmlinux with the flags a 7.2.13 build passes must give pahole's
 * --btf_encode_detached bytes.
 *
 *  - k7fix (test/fixtures/kernel7: the fixture module built against 7.2.13, with kfunc sets,
 *    so bpf_kfunc decl tags; its linked object and pahole's output as gen-btf.sh's V=1
 *    command wrote it, see kernel7/PROVENANCE.md).
 */
import { describe, expect, it } from 'vitest';
import { Btf } from '../../lib/btf/btf.js';
import { parseElf } from '../../lib/elf/index.js';
import { encodeModule, FeatureParser } from '../../lib/encode/index.js';
import { parseLanguages } from '../../lib/encode/languages.js';
import { fixtureBytes, firstDiff } from '../helpers/fixtures.js';

const vmlinux72 = Btf.parse(fixtureBytes('kernel7/vmlinux-7.2.13.btf.gz'), { file: 'vmlinux-7.2.13' });

/** The features of Makefile.btf for pahole 1.32 (CONFIG_PAHOLE_VERSION=132). */
function kbuild72(): FeatureParser {
  const f = new FeatureParser();
  f.btfFeatures('encode_force,var,float,enum64,decl_tag,type_tag,optimized_func,consistent_func,decl_tag_kfuncs');
  f.btfFeatures('attributes');
  f.btfFeatures('layout');
  return f;
}

const rust = parseLanguages('rust');
if (!('ids' in rust)) throw new Error('rust is a language pahole knows');

describe('encodeModule equals pahole 1.32 --btf_encode_detached', () => {
  it('k7fix (kfunc sets: bpf_kfunc decl tags) over the 7.2.13 vmlinux', () => {
    const elf = parseElf(fixtureBytes('kernel7/k7fix.linked.ko.gz'), { file: 'k7fix.ko' });
    const r = encodeModule(elf, vmlinux72, { features: kbuild72().features, languages: { ids: rust.ids, exclude: true } });
    const want = fixtureBytes('kernel7/k7fix.pahole.btf.gz');
    expect(r.bytes).toBeDefined();
    expect(firstDiff(r.bytes as Uint8Array, want)).toBeUndefined();
    expect(r.bytes?.length).toBe(want.length);
  });
});
