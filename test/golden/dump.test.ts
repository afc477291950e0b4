/**
 * dumpRaw/dumpJson against the real bpftool 7.1 (Debian 7.1.0+6.1.192-2), byte for
 * byte, on module BTF of Debian's 6.12.107 kernel over that kernel's vmlinux BTF.
 * Every expected file was written by bpftool itself: the three from the team's
 * golden set, the others by scripts/gen-dump-fixtures.mjs (see
 * test/fixtures/PROVENANCE.md). Only test/fixtures is read.
 */
import { readFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { Btf } from '../../lib/btf/btf.js';
import { dumpRaw } from '../../lib/btf/dump-raw.js';
import { dumpRawBytes } from '../../lib/btf/dump-raw-bytes.js';
import { dumpJson } from '../../lib/btf/dump-json.js';
import { dumpJsonBytes } from '../../lib/btf/dump-json-bytes.js';

const FIXTURES = fileURLToPath(new URL('../fixtures/btf/', import.meta.url));

function fixture(name: string): Buffer {
  return gunzipSync(readFileSync(FIXTURES + name));
}

/** Module name and what it is there to cover. */
const MODULES: [string, string][] = [
  ['tcp_bbr', 'golden set: bitfields, static FUNCs'],
  ['blake2b_generic', 'golden set: ENUM64'],
  ['amilo-rfkill', 'golden set: small driver'],
  ['speedstep-centrino', 'DATASEC and VARs'],
  ['libie', 'bitfields (kflag members)'],
  ['surface_aggregator_registry', 'FWD'],
  ['ebtable_broute', 'signed ENUM with negative values'],
  ['raid0', 'RESTRICT, UNION, FWD, bitfields'],
  ['via-rng', 'unsigned ENUM value 0xffffffff, sign-extended in JSON'],
];

let vmlinux: Btf;
beforeAll(() => {
  vmlinux = Btf.parse(fixture('vmlinux-6.12.107.btf.gz'), { file: 'vmlinux-6.12.107.btf' });
});

describe('bpftool 7.1 btf dump of module BTF over vmlinux 6.12.107', () => {
  for (const [name, covers] of MODULES) {
    describe(`${name} (${covers})`, () => {
      let btf: Btf;
      beforeAll(() => {
        btf = Btf.parse(fixture(`${name}.btf.gz`), { base: vmlinux, file: `${name}.btf` });
      });

      // Strings first (a failure shows a line diff), then bytes (the files are what
      // bpftool wrote, and a string compare alone would hide invalid UTF-8).
      it('format raw', () => {
        const expected = fixture(`${name}.bpftool.txt.gz`);
        const ours = dumpRaw(btf);
        expect(ours).toBe(expected.toString('utf8'));
        expect(Buffer.from(ours, 'utf8').equals(expected)).toBe(true);
      });

      it('format raw, as the CLI writes it (bytes straight from the records)', () => {
        const expected = fixture(`${name}.bpftool.txt.gz`);
        const ours = Buffer.concat([...dumpRawBytes(btf)]);
        expect(ours.toString('utf8')).toBe(expected.toString('utf8'));
        expect(ours.equals(expected)).toBe(true);
      });

      it('-j', () => {
        const expected = fixture(`${name}.bpftool.json.gz`);
        const ours = dumpJson(btf);
        expect(ours).toBe(expected.toString('utf8'));
        expect(Buffer.from(ours, 'utf8').equals(expected)).toBe(true);
      });

      it('-j, as the CLI writes it (bytes straight from the records)', () => {
        const expected = fixture(`${name}.bpftool.json.gz`);
        const ours = Buffer.concat([...dumpJsonBytes(btf)]);
        expect(ours.toString('utf8')).toBe(expected.toString('utf8'));
        expect(ours.equals(expected)).toBe(true);
      });
    });
  }
});
