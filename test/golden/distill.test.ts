/**
 * distill() against libbpf v1.7.0: for every module BTF in test/fixtures/btf, the
 * distilled base and the new split BTF must equal btf__distill_base() + btf__raw_data()
 * byte for byte (<name>.dbase.btf.gz, <name>.dsplit.btf.gz). The id map is checked
 * against the golden pair: every mapped base id lands on a type of the same name and
 * (ENUM64 -> ENUM aside) kind, split ids shift by a constant.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { gunzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { Btf } from '../../lib/btf/btf.js';
import { BtfKind } from '../../lib/btf/kinds.js';
import { distill } from '../../lib/distill/index.js';

const dir = fileURLToPath(new URL('../fixtures/btf/', import.meta.url));
const load = (f: string): Uint8Array => gunzipSync(readFileSync(dir + f));
// Module BTFs that come with a libbpf-distilled pair (some fixtures only have dumps).
const modules = readdirSync(dir)
  .filter((f) => /^[^.]+\.btf\.gz$/.test(f) && !f.startsWith('vmlinux-'))
  .map((f) => f.slice(0, -'.btf.gz'.length))
  .filter((m) => existsSync(`${dir}${m}.dbase.btf.gz`) && existsSync(`${dir}${m}.dsplit.btf.gz`))
  .sort();

let vmlinux: Btf | undefined;
const base = (): Btf => (vmlinux ??= Btf.parse(load('vmlinux-6.12.107.btf.gz'), { file: 'vmlinux-6.12.107' }));

function firstDiff(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return i;
  return a.length === b.length ? -1 : n;
}

function expectSameBytes(what: string, got: Uint8Array, want: Uint8Array): void {
  const at = firstDiff(got, want);
  if (at >= 0) {
    const hex = (b: Uint8Array): string => Buffer.from(b.subarray(at, at + 16)).toString('hex');
    expect.fail(`${what}: first difference at byte ${at} (got ${got.length} bytes, want ${want.length}); got ${hex(got)} want ${hex(want)}`);
  }
}

describe('distill vs libbpf v1.7.0 golden files', () => {
  it('finds the fixtures', () => {
    expect(modules.length).toBeGreaterThanOrEqual(29);
  });

  for (const name of modules) {
    it(name, () => {
      const b = base();
      const split = Btf.parse(load(`${name}.btf.gz`), { base: b, file: name });
      const r = distill(b, split);
      const wantBase = load(`${name}.dbase.btf.gz`);
      const wantSplit = load(`${name}.dsplit.btf.gz`);
      expectSameBytes(`${name}.dbase`, r.base, wantBase);
      expectSameBytes(`${name}.dsplit`, r.split, wantSplit);

      // Id map: consistent with the golden pair.
      const dbase = Btf.parse(wantBase);
      const dsplit = Btf.parse(wantSplit, { base: dbase });
      expect(r.idMap.length).toBe(split.typeCount);
      expect(r.baseTypeCount).toBe(dbase.typeCount);
      expect(r.splitTypeCount).toBe(dsplit.typeCount);
      expect(r.idMap[0]).toBe(0);
      const shift = split.startId - dsplit.startId;
      for (let id = split.startId; id < split.typeCount; id++) expect(r.idMap[id]).toBe(id - shift);
      for (let id = 0; id < split.typeCount; id++) {
        if (r.mapId(id) !== r.idMap[id]) expect.fail(`mapId(${id}) = ${r.mapId(id)}, idMap has ${r.idMap[id]}`);
      }
      const seen = new Set<number>();
      for (let id = 1; id < split.startId; id++) {
        const to = r.idMap[id] as number;
        if (to === 0) continue;
        expect(seen.has(to)).toBe(false);
        seen.add(to);
        const kind = b.kind(id);
        const toKind = dsplit.kind(to);
        expect(toKind === kind || (kind === BtfKind.Enum64 && toKind === BtfKind.Enum)).toBe(true);
        expect(dsplit.name(to)).toBe(b.name(id));
        // Distilled-base ids are the base types that can be matched by name.
        expect(to < dbase.typeCount).toBe(
          kind === BtfKind.Int || kind === BtfKind.Float || kind === BtfKind.Fwd ||
          ((kind === BtfKind.Struct || kind === BtfKind.Union || kind === BtfKind.Enum || kind === BtfKind.Enum64) && b.nameOff(id) !== 0),
        );
      }
      // Every type of the new split beyond the module's own is a mapped base type.
      expect(seen.size).toBe(dsplit.typeCount - 1 - split.ownTypeCount);
    });
  }
});
