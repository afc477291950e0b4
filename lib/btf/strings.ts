/**
 * String section builder with libbpf's rules: strings are deduplicated, appended in
 * the order they are first added, and offset 0 is the empty string. For split BTF a
 * string already present in the base resolves to the base's offset (btf__add_str
 * looks in the base first), and own offsets continue after the base's section.
 */
import type { Btf } from './btf.js';

const encoder = new TextEncoder();

export class StringTableBuilder {
  private readonly chunks: Uint8Array[] = [];
  private length = 0;
  private readonly offsets = new Map<string, number>();
  private baseIndex: Map<string, number> | undefined;
  readonly startStrOff: number;

  constructor(private readonly base?: Btf, existing?: Uint8Array) {
    this.startStrOff = base ? base.totalStrLen : 0;
    if (existing !== undefined) {
      this.adopt(existing);
      return;
    }
    // A standalone table starts with the empty string; split tables do too (pahole
    // and libbpf both emit a leading NUL), so '' maps to the own offset 0 only when
    // there is no base — with a base, '' is the base's offset 0.
    if (!base) this.append('');
  }

  /**
   * A table that continues an existing string section, as libbpf's strset__new() does
   * when a parsed BTF becomes modifiable: the bytes stay as they are, and the strings
   * found walking them from offset 0 (the first of equal ones) are known for dedup.
   */
  static continuing(existing: Uint8Array, base?: Btf): StringTableBuilder {
    return new StringTableBuilder(base, existing);
  }

  private adopt(existing: Uint8Array): void {
    this.chunks.push(new Uint8Array(existing));
    this.length = existing.length;
    for (let start = 0; start < existing.length;) {
      let end = existing.indexOf(0, start);
      if (end < 0) end = existing.length;
      const str = Buffer.from(existing.buffer, existing.byteOffset + start, end - start).toString('utf8');
      if (!this.offsets.has(str)) this.offsets.set(str, this.startStrOff + start);
      start = end + 1;
    }
  }

  /** Offset of `s`, adding it if needed. */
  add(s: string): number {
    if (this.base) {
      if (s === '') return 0;
      const inBase = this.findInBase(s);
      if (inBase !== undefined) return inBase;
    }
    const known = this.offsets.get(s);
    if (known !== undefined) return known;
    return this.append(s);
  }

  /** Own section bytes. */
  bytes(): Uint8Array {
    const out = new Uint8Array(this.length);
    let p = 0;
    for (const c of this.chunks) { out.set(c, p); p += c.length; }
    return out;
  }

  get size(): number { return this.length; }

  /** The string at an offset of this table (split-aware: offsets start at startStrOff), or undefined. */
  at(off: number): string | undefined {
    let rel = off - this.startStrOff;
    if (rel < 0 || rel >= this.length) return undefined;
    for (const c of this.chunks) {
      if (rel < c.length) {
        const end = c.indexOf(0, rel);
        return Buffer.from(c.buffer, c.byteOffset + rel, (end < 0 ? c.length : end) - rel).toString('utf8');
      }
      rel -= c.length;
    }
    return undefined;
  }

  private append(s: string): number {
    const enc = encoder.encode(s);
    const chunk = new Uint8Array(enc.length + 1);
    chunk.set(enc);
    const off = this.startStrOff + this.length;
    this.chunks.push(chunk);
    this.length += chunk.length;
    this.offsets.set(s, off);
    return off;
  }

  /** First offset of `s` in the base's string sections (libbpf btf__find_str). */
  private findInBase(s: string): number | undefined {
    if (!this.base) return undefined;
    if (!this.baseIndex) {
      this.baseIndex = new Map();
      const chain: Btf[] = [];
      for (let b: Btf | undefined = this.base; b; b = b.base) chain.unshift(b);
      for (const b of chain) {
        const tab = b.strings;
        let start = 0;
        for (let i = 0; i < tab.length; i++) {
          if (tab[i] === 0) {
            const str = Buffer.from(tab.buffer, tab.byteOffset + start, i - start).toString('utf8');
            if (!this.baseIndex.has(str)) this.baseIndex.set(str, b.startStrOff + start);
            start = i + 1;
          }
        }
      }
    }
    return this.baseIndex.get(s);
  }
}
