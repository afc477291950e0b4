// Relocation against libbpf v1.7.0 (btf_relocate() + btf__raw_data()): every golden
// module's distilled pair (dbase + dsplit, made by btf__distill_base() over vmlinux
// 6.12.107) is relocated onto vmlinux 6.12.117 and compared byte for byte with
// <name>.reloc117.btf and its id map with <name>.reloc117.idmap; modules whose
// relocation fails in libbpf (<name>.reloc117.err) must fail with the same first
// message, and the full failure list must explain it (size change of an embedded
// struct, with the member chain). Then the round trip onto 6.12.107 must succeed.
import { existsSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { Btf } from '../../lib/btf/btf.js';
import { BtfKind } from '../../lib/btf/kinds.js';
import {
  RelocationTarget, formatIdMap, formatLibbpfFailure, relocate, tryRelocate,
} from '../../lib/relocate/index.js';
import { fixtureBytes, fixturePath, firstDiff, goldenModules, vmlinuxBtf } from '../helpers/fixtures.js';

const withDistilled = goldenModules().filter((m) => existsSync(fixturePath(`btf/${m}.dbase.btf.gz`)));
const failing = withDistilled.filter((m) => existsSync(fixturePath(`btf/${m}.reloc117.err`)));
const succeeding = withDistilled.filter((m) => !failing.includes(m));

let t117: RelocationTarget | undefined;
let t107: RelocationTarget | undefined;
const target117 = (): RelocationTarget => (t117 ??= new RelocationTarget(vmlinuxBtf('117')));
const target107 = (): RelocationTarget => (t107 ??= new RelocationTarget(vmlinuxBtf('107')));

function distilledPair(name: string): { dbase: Btf; dsplit: Btf } {
  const dbase = Btf.parse(fixtureBytes(`btf/${name}.dbase.btf.gz`), { file: `${name}.dbase.btf` });
  const dsplit = Btf.parse(fixtureBytes(`btf/${name}.dsplit.btf.gz`), { base: dbase, file: `${name}.dsplit.btf` });
  return { dbase, dsplit };
}

describe('golden set', () => {
  it('has the 29 modules, 5 of them failing onto 6.12.117', () => {
    expect(withDistilled).toHaveLength(29);
    expect(failing.sort()).toEqual(['gpio-amdpt', 'kvm-intel', 'l2tp_ip', 'mac80211', 'nf_tables']);
  });
});

describe('relocate onto vmlinux 6.12.117: byte-identical to libbpf', () => {
  it.each(succeeding)('%s', (name) => {
    const { dbase, dsplit } = distilledPair(name);
    const { split, idMap } = relocate(dbase, dsplit, target117());
    expect(firstDiff(split, fixtureBytes(`btf/${name}.reloc117.btf.gz`))).toBeUndefined();
    expect(idMap.length).toBe(dsplit.typeCount);
    const text = formatIdMap(idMap);
    const golden = Buffer.from(fixtureBytes(`btf/${name}.reloc117.idmap.gz`)).toString('latin1');
    expect(text === golden).toBe(true);
    // The result is valid split BTF over the new base.
    const re = Btf.parse(split, { base: vmlinuxBtf('117') });
    expect(re.startId).toBe(112769);
    expect(re.ownTypeCount).toBe(dsplit.ownTypeCount);
  });
});

describe('relocate onto vmlinux 6.12.117: failures as libbpf reports them', () => {
  it.each(failing)('%s', (name) => {
    const { dbase, dsplit } = distilledPair(name);
    const expected = readFileSync(fixturePath(`btf/${name}.reloc117.err`), 'utf8');
    const r = tryRelocate(dbase, dsplit, target117());
    expect(r.ok).toBe(false);
    if (r.ok) return;
    // libbpf stops at the first (lowest-id) problem; ours is the first of the list.
    expect(formatLibbpfFailure(r.failure)).toBe(expected);
    const first = r.failure.failures[0];
    expect(first?.libbpfMessage + '\n').toBe(expected);
    // The golden message names the type and its id: the full list has it, as a size
    // mismatch of an embedded composite with the member chain that embeds it.
    const m = /type '([^']+)' \[(\d+)\]/.exec(expected);
    expect(m).not.toBeNull();
    const hit = r.failure.failures.find((f) => f.distId === Number(m?.[2]));
    expect(hit).toBeDefined();
    expect(hit?.code).toBe('RELOC_SIZE_MISMATCH');
    expect(hit?.typeName).toBe(m?.[1]);
    expect(hit?.embedded).toBe(true);
    expect(hit?.embeddedVia?.text).toMatch(new RegExp(`^(struct|union) [^.]+\\..* → struct ${m?.[1]}$`));
    expect(hit?.candidates.some((c) => c.kind === BtfKind.Struct && c.verdict === 'size')).toBe(true);
    // relocate() throws the same aggregate.
    expect(() => relocate(dbase, dsplit, target117())).toThrow(/relocation failed/);
  });

  it('kvm-intel: struct kvm 39848 -> 7088 bytes, embedded as struct kvm_vmx.kvm', () => {
    const { dbase, dsplit } = distilledPair('kvm-intel');
    const r = tryRelocate(dbase, dsplit, target117());
    if (r.ok) throw new Error('expected failure');
    const kvm = r.failure.failures.find((f) => f.typeName === 'kvm');
    expect(kvm?.message).toContain('size changed from 39848 to 7088');
    expect(kvm?.embeddedVia?.text).toBe('struct kvm_vmx.kvm → struct kvm');
  });

  it('kvm: pointer-only struct kvm changed size and still relocates', () => {
    const { dbase } = distilledPair('kvm');
    const id = dbase.findByName('kvm', BtfKind.Struct)[0] as number;
    const newKvm = vmlinuxBtf('117').findByName('kvm', BtfKind.Struct)[0] as number;
    expect(dbase.sizeOrType(id)).not.toBe(vmlinuxBtf('117').sizeOrType(newKvm));
  });
});

describe('round trip: relocating onto vmlinux 6.12.107 (the base distilled from) succeeds', () => {
  it.each(withDistilled)('%s', (name) => {
    const { dbase, dsplit } = distilledPair(name);
    const { split, idMap } = relocate(dbase, dsplit, target107());
    const re = Btf.parse(split, { base: vmlinuxBtf('107') });
    expect(re.startId).toBe(112519);
    // Every distilled type maps to a 6.12.107 type of the same name.
    for (let d = 1; d < dbase.typeCount; d++) {
      expect(vmlinuxBtf('107').name(idMap[d] as number)).toBe(dbase.name(d));
    }
  });
});
