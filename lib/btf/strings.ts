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

  constructor(private readonly base?: Btf) {
    this.startStrOff = base ? base.totalStrLen : 0;
    // A standalone table starts with the empty string; split tables do too (pahole
    // and libbpf both emit a leading NUL), so '' maps to the own offset 0 only when
    // there is no base — with a base, '' is the base's offset 0.
    if (!base) this.append('');
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
