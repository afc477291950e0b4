/**
 * The 2026 BTF UAPI against Debian sid's bpftool 7.8 (7.8.0+7.2.13-1, libbpf 1.8 of the
 * 7.2.13 tree): 7-bit kind / 24-bit vlen (an ENUM64 with 70,000 values, a STRUCT with
 * 70,000 members), the 32-byte header with a layout section, the 32-byte header with zero
 * layout fields that 7.2's resolve_btfids writes, and kinds only a layout section
 * describes. Inputs and bpftool's output: test/fixtures/uapi (scripts/gen-uapi-fixtures.mjs,
 * PROVENANCE.md there). Each blob parses, writes back byte for byte, and dumps (raw, as
 * the CLI writes it, and -j) exactly as bpftool printed it.
 */
import { readFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { Btf } from '../../lib/btf/btf.js';
import { dumpJson } from '../../lib/btf/dump-json.js';
import { dumpRaw } from '../../lib/btf/dump-raw.js';
import { dumpRawBytes } from '../../lib/btf/dump-raw-bytes.js';
import { rewriteBtf } from '../../lib/btf/write.js';

const DIR = fileURLToPath(new URL('../fixtures/uapi/', import.meta.url));
const fixture = (name: string): Buffer => gunzipSync(readFileSync(DIR + name));

interface Run { rc: number; stderr: string; stdoutBytes: number }
interface Case { name: string; covers: string; base?: string; raw: Run; json: Run }
const manifest = JSON.parse(readFileSync(`${DIR}cases.json`, 'utf8')) as { bpftool: string; package: string; cases: Case[] };

function load(c: Case): { btf: Btf; bytes: Buffer } {
  const bytes = fixture(`${c.name}.btf.gz`);
  const base = c.base === undefined ? undefined : Btf.parse(fixture(`${c.base}.btf.gz`), { file: `${c.base}.btf` });
  return { btf: Btf.parse(bytes, { file: `${c.name}.btf`, ...(base ? { base } : {}) }), bytes };
}

describe(`${manifest.bpftool} (${manifest.package}) btf dump of the 2026 UAPI`, () => {
  it('has the cases the issue asks for', () => {
    expect(manifest.cases.map((c) => c.name)).toEqual(expect.arrayContaining(['enum64-70000', 'struct-70000', 'layout', 'hdr32-zero', 'unknown-kind', 'split-unknown']));
  });

  for (const c of manifest.cases) {
    describe(`${c.name}: ${c.covers}`, () => {
      it('parses and writes back unchanged', () => {
        const { btf, bytes } = load(c);
        expect(Buffer.from(rewriteBtf(btf)).equals(bytes)).toBe(true);
      });

      it('bpftool read it', () => {
        expect({ raw: [c.raw.rc, c.raw.stderr], json: [c.json.rc, c.json.stderr] }).toEqual({ raw: [0, ''], json: [0, ''] });
      });

      it('format raw', () => {
        const expected = fixture(`${c.name}.bpftool.txt.gz`);
        const { btf } = load(c);
        const ours = dumpRaw(btf);
        expect(ours).toBe(expected.toString('utf8'));
        expect(Buffer.concat([...dumpRawBytes(btf)]).equals(expected)).toBe(true);
      });

      it('-j', () => {
        const expected = fixture(`${c.name}.bpftool.json.gz`);
        const ours = dumpJson(load(c).btf);
        expect(ours).toBe(expected.toString('utf8'));
        expect(Buffer.from(ours, 'utf8').equals(expected)).toBe(true);
      });
    });
  }
});
