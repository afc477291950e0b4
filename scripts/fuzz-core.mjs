/**
 * The fuzz harness core, shared by scripts/fuzz.mjs (10,000+ runs against dist/) and
 * test/unit/fuzz-replay.test.ts (replay of saved inputs and a small seeded run against
 * lib/ sources). It imports no modbtf code: the library functions come in as a `lib`
 * object (FuzzLib), so the same mutations and the same checks run on either build.
 *
 * Reproducibility: every run draws from its own PRNG, seeded from (seed, run) only, so
 * `--seed S` gives the same inputs on every machine and one run can be replayed alone
 * (`node scripts/fuzz.mjs --seed S --replay RUN`). Seeds are real inputs from
 * test/fixtures (fixed list below) plus small synthetic ELFs built here.
 *
 * The contract checked (issue requirement): for every input the whole read path either
 * succeeds or throws a ModbtfError whose context has a numeric `offset`; validation
 * problems (returned, not thrown) carry a `typeId` or an `offset`. Anything else is a
 * finding: 'crash' (any non-ModbtfError exception, or a broken invariant) or
 * 'offsetless' (a typed error that does not say where).
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { gunzipSync } from 'node:zlib';

/**
 * @typedef {object} FuzzLib  the modbtf functions under test (from dist/ or lib/)
 * @property {(bytes: Uint8Array, opts?: {file?: string}) => any} parseElf
 * @property {{ parse: (bytes: Uint8Array, opts?: {base?: any, file?: string, section?: string}) => any }} Btf
 * @property {(elf: any, opts?: {base?: any, file?: string}) => {btf: any, distilledBase: any}} readElfBtf
 * @property {(btf: any, opts?: {limit?: number}) => any[]} validateBtf
 * @property {(btf: any) => string} dumpRaw
 * @property {(btf: any) => Uint8Array} rewriteBtf
 * @property {(draft: {littleEndian: boolean, types: readonly any[], strings: Uint8Array}) => Uint8Array} writeBtf
 * @property {(bytes: Uint8Array, opts?: {file?: string}) => Uint8Array} stripSignature
 * @property {(x: unknown) => boolean} isModbtfError
 */

/** Typed errors that describe something absent, where no offset can apply. */
export const NO_OFFSET_CODES = new Set(['BTF_MISSING']);

/** Per-input wall time above which a run counts as a hang (ms). */
export const DEFAULT_HANG_MS = 2000;

// ---------------------------------------------------------------------------------
// PRNG: mulberry32, per-run state derived with a splitmix32-style mix of (seed, run).

function mix32(x) {
  x = Math.imul(x ^ (x >>> 16), 0x21f0aaad);
  x = Math.imul(x ^ (x >>> 15), 0x735a2d97);
  return (x ^ (x >>> 15)) >>> 0;
}

export class Rng {
  /** @param {number} state */
  constructor(state) { this.s = state >>> 0; }
  /** Uniform u32. */
  u32() {
    let t = (this.s = (this.s + 0x6d2b79f5) >>> 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  }
  /** Uniform integer in [0, n); 0 when n <= 0. */
  int(n) { return n <= 0 ? 0 : Math.floor((this.u32() / 0x100000000) * n); }
  chance(p) { return this.u32() / 0x100000000 < p; }
  /** @template T @param {readonly T[]} arr @returns {T} */
  pick(arr) { return arr[this.int(arr.length)]; }
  /** @template T @param {readonly [T, number][]} table @returns {T} */
  weighted(table) {
    let total = 0;
    for (const [, w] of table) total += w;
    let r = (this.u32() / 0x100000000) * total;
    for (const [v, w] of table) { if ((r -= w) < 0) return v; }
    return table[table.length - 1][0];
  }
}

/** The PRNG for one run: depends on (seed, run) only. */
export function runRng(seed, run) {
  return new Rng(mix32(mix32(seed >>> 0) ^ Math.imul(run + 1, 0x9e3779b9)));
}

// ---------------------------------------------------------------------------------
// Seeds

/**
 * Raw BTF seeds (test/fixtures/btf): base 'vmlinux' = vmlinux-6.12.107 (the modules'
 * real base), a fixture name = that blob (distilled base), undefined = standalone.
 * Small ones dominate so that 10,000 runs take a minute; nf_conntrack and e1000e are
 * the mid-size ones (27-35 KB, ~1000 types).
 */
export const RAW_SEEDS = [
  { name: 'nls_utf8', base: 'vmlinux', weight: 1 },
  { name: 'gpio-amdpt', base: 'vmlinux', weight: 1 },
  { name: 'blake2b_generic', base: 'vmlinux', weight: 1 },
  { name: 'tcp_dctcp', base: 'vmlinux', weight: 1 },
  { name: 'tcp_bbr', base: 'vmlinux', weight: 2 },
  { name: 'ppp_deflate', base: 'vmlinux', weight: 1 },
  { name: 'netconsole', base: 'vmlinux', weight: 1 },
  { name: 'nf_conntrack', base: 'vmlinux', weight: 1 },
  { name: 'e1000e', base: 'vmlinux', weight: 1 },
  { name: 'tcp_bbr.dbase', base: undefined, weight: 2 },
  { name: 'amilo-rfkill.dbase', base: undefined, weight: 1 },
  { name: 'nf_conntrack.dbase', base: undefined, weight: 1 },
  { name: 'tcp_bbr.dsplit', base: 'tcp_bbr.dbase', weight: 2 },
  { name: 'fou.dsplit', base: 'fou.dbase', weight: 1 },
];

/**
 * @typedef {object} Seed
 * @property {string} name
 * @property {'btf'|'elf'} kind
 * @property {Uint8Array} bytes
 * @property {string|undefined} baseName
 * @property {any} base  parsed base Btf, or undefined
 * @property {number} weight
 * @property {SeedLayout} layout  where the interesting fields of this seed are
 *
 * @typedef {object} SeedLayout
 * @property {boolean} le
 * @property {{off: number, size: number, typeOffsets: number[], startId: number, typeCount: number}|undefined} btf
 *   the (main) BTF blob: offset in the input, own record offsets (absolute), id range
 * @property {{off: number, size: number}|undefined} btfBase  .BTF.base in an ELF
 * @property {ElfLayout|undefined} elf
 *
 * @typedef {object} ElfLayout
 * @property {boolean} is64
 * @property {number} shoff
 * @property {{headerOffset: number, offset: number, size: number, type: number}[]} sections
 * @property {{off: number, count: number}|undefined} symtab
 */

const gz = (dir, name) => new Uint8Array(gunzipSync(readFileSync(join(dir, 'btf', `${name}.btf.gz`))));

/** `xz -dc` once (kbuild's own compressor; Node has no xz). */
export function xzDecompress(path) {
  const r = spawnSync('xz', ['-dc', path], { maxBuffer: 256 << 20 });
  if (r.error) throw r.error;
  if (r.status !== 0) throw new Error(`xz -dc ${path} failed: ${r.stderr.toString()}`);
  return new Uint8Array(r.stdout);
}

function btfLayout(lib, bytes, off, size, base) {
  const btf = lib.Btf.parse(bytes.subarray(off, off + size), base ? { base } : {});
  return { off, size, typeOffsets: Array.from(btf.typeOffsets, (o) => o + off), startId: btf.startId, typeCount: btf.typeCount };
}

function elfLayout(lib, bytes) {
  const elf = lib.parseElf(bytes);
  const symtab = elf.symtab();
  return {
    is64: elf.is64,
    shoff: elf.header.shoff,
    sections: elf.sections.map((s) => ({ headerOffset: s.headerOffset, offset: s.offset, size: s.size, type: s.type })),
    symtab: symtab ? { off: symtab.offset, count: Math.floor(symtab.size / (elf.is64 ? 24 : 16)) } : undefined,
  };
}

function makeElfSeed(lib, name, bytes, base, weight) {
  const elf = lib.parseElf(bytes);
  const dbaseSec = elf.sectionByName('.BTF.base');
  const btfSec = elf.sectionByName('.BTF');
  const dbase = dbaseSec ? lib.Btf.parse(elf.sectionData(dbaseSec)) : undefined;
  return {
    name, kind: 'elf', bytes, baseName: base ? 'vmlinux' : undefined, base, weight,
    layout: {
      le: elf.littleEndian,
      btf: btfSec ? btfLayout(lib, bytes, btfSec.offset, btfSec.size, dbase ?? base) : undefined,
      btfBase: dbaseSec ? { off: dbaseSec.offset, size: dbaseSec.size } : undefined,
      elf: elfLayout(lib, bytes),
    },
  };
}

/**
 * Loads every seed. `only` restricts to seed names (the unit test uses a few small
 * ones). Returns the vmlinux base too, which the replay needs.
 * @param {FuzzLib} lib
 * @param {string} fixturesDir  test/fixtures
 * @param {{only?: string[]}} [opts]
 * @returns {{vmlinux: any, seeds: Seed[]}}
 */
export function loadSeeds(lib, fixturesDir, opts = {}) {
  const want = (n) => !opts.only || opts.only.includes(n);
  const vmlinux = lib.Btf.parse(gz(fixturesDir, 'vmlinux-6.12.107'), { file: 'vmlinux-6.12.107.btf' });
  const blobs = new Map();
  const blob = (n) => { if (!blobs.has(n)) blobs.set(n, gz(fixturesDir, n)); return blobs.get(n); };
  const parsed = new Map();
  const baseOf = (n) => {
    if (n === undefined) return undefined;
    if (n === 'vmlinux') return vmlinux;
    if (!parsed.has(n)) parsed.set(n, lib.Btf.parse(blob(n)));
    return parsed.get(n);
  };
  /** @type {Seed[]} */
  const seeds = [];
  for (const s of RAW_SEEDS) {
    if (!want(s.name)) continue;
    const bytes = blob(s.name);
    const base = baseOf(s.base);
    const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    seeds.push({ name: s.name, kind: 'btf', bytes, baseName: s.base, base, weight: s.weight,
      layout: { le: dv.getUint16(0, true) === 0xeb9f, btf: btfLayout(lib, bytes, 0, bytes.length, base), btfBase: undefined, elf: undefined } });
  }
  // A big-endian standalone BTF, re-encoded from a real one (no BE fixture exists).
  if (want('tcp_bbr.dbase.be')) {
    const src = lib.Btf.parse(blob('tcp_bbr.dbase'));
    const bytes = lib.writeBtf({ littleEndian: false, types: Array.from(src.ownTypes()), strings: src.strings });
    seeds.push({ name: 'tcp_bbr.dbase.be', kind: 'btf', bytes, baseName: undefined, base: undefined, weight: 1,
      layout: { le: false, btf: btfLayout(lib, bytes, 0, bytes.length, undefined), btfBase: undefined, elf: undefined } });
  }
  // The real module, split BTF over its real base.
  if (want('tcp_bbr.ko')) {
    seeds.push(makeElfSeed(lib, 'tcp_bbr.ko', xzDecompress(join(fixturesDir, 'modules', 'tcp_bbr.ko.xz')), vmlinux, 6));
  }
  // Synthetic: ELF64 LE module with .BTF.base + .BTF (distilled layout) and symbols.
  if (want('synthetic-distilled64le.ko')) {
    seeds.push(makeElfSeed(lib, 'synthetic-distilled64le.ko', syntheticElf(true, true, blob('tcp_bbr.dbase'), blob('tcp_bbr.dsplit')), undefined, 2));
  }
  // Synthetic: ELF32 BE with a standalone big-endian .BTF.
  if (want('synthetic-32be.o')) {
    const src = lib.Btf.parse(blob('amilo-rfkill.dbase'));
    const be = lib.writeBtf({ littleEndian: false, types: Array.from(src.ownTypes()), strings: src.strings });
    seeds.push(makeElfSeed(lib, 'synthetic-32be.o', syntheticElf(false, false, undefined, be), undefined, 1));
  }
  return { vmlinux, seeds };
}

// ---------------------------------------------------------------------------------
// A minimal ELF writer for the synthetic seeds (sections + .symtab/.strtab).

/** @returns {Uint8Array} */
export function syntheticElf(is64, le, btfBase, btf) {
  const enc = new TextEncoder();
  const cstr = (parts) => {
    const offs = [];
    const bytes = [0];
    for (const p of parts) { offs.push(bytes.length); bytes.push(...enc.encode(p), 0); }
    return { offs, data: new Uint8Array(bytes) };
  };
  const symNames = cstr(['tcp_bbr_init', '__BTF_ID__struct__sock__1', '__BTF_ID__func__bbr_main__2']);
  const sections = [
    { name: '.text', type: 1, data: new Uint8Array(32).fill(0x90), align: 16 },
    ...(btfBase ? [{ name: '.BTF.base', type: 1, data: btfBase, align: 4 }] : []),
    { name: '.BTF', type: 1, data: btf, align: 4 },
    { name: '.BTF_ids', type: 1, data: new Uint8Array(8), align: 4 },
    { name: '.symtab', type: 2, data: undefined, align: 8, entsize: is64 ? 24 : 16 },
    { name: '.strtab', type: 3, data: symNames.data, align: 1 },
  ];
  const shnames = cstr([...sections.map((s) => s.name), '.shstrtab']);
  sections.push({ name: '.shstrtab', type: 3, data: shnames.data, align: 1 });
  const idx = (n) => 1 + sections.findIndex((s) => s.name === n);
  // Symbols: null, a function in .text, two __BTF_ID__ symbols in .BTF_ids.
  const symsize = is64 ? 24 : 16;
  const syms = [
    { name: 0, info: 0, shndx: 0, value: 0, size: 0 },
    { name: symNames.offs[0], info: 0x12, shndx: idx('.text'), value: 0, size: 32 },
    { name: symNames.offs[1], info: 0x01, shndx: idx('.BTF_ids'), value: 0, size: 4 },
    { name: symNames.offs[2], info: 0x01, shndx: idx('.BTF_ids'), value: 4, size: 4 },
  ];
  const symtab = new Uint8Array(syms.length * symsize);
  const sdv = new DataView(symtab.buffer);
  syms.forEach((s, i) => {
    const o = i * symsize;
    sdv.setUint32(o, s.name, le);
    if (is64) {
      sdv.setUint8(o + 4, s.info); sdv.setUint16(o + 6, s.shndx, le);
      sdv.setBigUint64(o + 8, BigInt(s.value), le); sdv.setBigUint64(o + 16, BigInt(s.size), le);
    } else {
      sdv.setUint32(o + 4, s.value, le); sdv.setUint32(o + 8, s.size, le);
      sdv.setUint8(o + 12, s.info); sdv.setUint16(o + 14, s.shndx, le);
    }
  });
  sections[idx('.symtab') - 1].data = symtab;

  const ehsize = is64 ? 64 : 52;
  const shentsize = is64 ? 64 : 40;
  let pos = ehsize;
  const placed = sections.map((s) => {
    pos = Math.ceil(pos / s.align) * s.align;
    const at = pos;
    pos += s.data.length;
    return at;
  });
  const shoff = Math.ceil(pos / 8) * 8;
  const shnum = sections.length + 1;
  const out = new Uint8Array(shoff + shnum * shentsize);
  const dv = new DataView(out.buffer);
  out.set([0x7f, 0x45, 0x4c, 0x46, is64 ? 2 : 1, le ? 1 : 2, 1, 0]);
  dv.setUint16(16, 1, le); // ET_REL
  dv.setUint16(18, 62, le); // EM_X86_64
  dv.setUint32(20, 1, le);
  if (is64) {
    dv.setBigUint64(40, BigInt(shoff), le);
    dv.setUint16(52, ehsize, le); dv.setUint16(58, shentsize, le); dv.setUint16(60, shnum, le); dv.setUint16(62, idx('.shstrtab'), le);
  } else {
    dv.setUint32(32, shoff, le);
    dv.setUint16(40, ehsize, le); dv.setUint16(46, shentsize, le); dv.setUint16(48, shnum, le); dv.setUint16(50, idx('.shstrtab'), le);
  }
  sections.forEach((s, i) => {
    out.set(s.data, placed[i]);
    const h = shoff + (i + 1) * shentsize;
    const link = s.name === '.symtab' ? idx('.strtab') : 0;
    const info = s.name === '.symtab' ? 2 : 0; // first global symbol
    dv.setUint32(h, shnames.offs[i], le);
    dv.setUint32(h + 4, s.type, le);
    if (is64) {
      dv.setBigUint64(h + 24, BigInt(placed[i]), le); dv.setBigUint64(h + 32, BigInt(s.data.length), le);
      dv.setUint32(h + 40, link, le); dv.setUint32(h + 44, info, le);
      dv.setBigUint64(h + 48, BigInt(s.align), le); dv.setBigUint64(h + 56, BigInt(s.entsize ?? 0), le);
    } else {
      dv.setUint32(h + 16, placed[i], le); dv.setUint32(h + 20, s.data.length, le);
      dv.setUint32(h + 24, link, le); dv.setUint32(h + 28, info, le);
      dv.setUint32(h + 32, s.align, le); dv.setUint32(h + 36, s.entsize ?? 0, le);
    }
  });
  return out;
}

// ---------------------------------------------------------------------------------
// Mutations

const INTERESTING_U8 = [0, 1, 0x7f, 0x80, 0xfe, 0xff];
const INTERESTING_U32 = [
  0, 1, 2, 3, 4, 7, 8, 12, 16, 24, 0x7f, 0x80, 0xff, 0x100, 0xfff, 0x1000, 0x7fff, 0x8000,
  0xffff, 0x10000, 0xfffff, 0x100000, 0xffffff, 0x1000000, 0x7fffffff, 0x80000000, 0xfffffffe, 0xffffffff,
];

/** A plausible-but-wrong u32: an interesting constant, a size of the input, or old ± delta. */
function nastyU32(rng, old, len) {
  switch (rng.int(4)) {
    case 0: return (old + rng.pick([-1, 1, -4, 4, -12, 12, 0x100, -0x100])) >>> 0;
    case 1: return rng.pick([len, len - 1, len + 1, len >>> 1, len * 2]) >>> 0;
    case 2: return rng.u32();
    default: return rng.pick(INTERESTING_U32);
  }
}

class Mutable {
  constructor(bytes, le) { this.bytes = bytes; this.le = le; }
  get len() { return this.bytes.length; }
  fits(off, n) { return off >= 0 && off + n <= this.bytes.length; }
  dv() { return new DataView(this.bytes.buffer, this.bytes.byteOffset, this.bytes.byteLength); }
  u32(off) { return this.fits(off, 4) ? this.dv().getUint32(off, this.le) : 0; }
  setU8(off, v) { if (this.fits(off, 1)) this.bytes[off] = v & 0xff; }
  setU16(off, v) { if (this.fits(off, 2)) this.dv().setUint16(off, v & 0xffff, this.le); }
  setU32(off, v) { if (this.fits(off, 4)) this.dv().setUint32(off, v >>> 0, this.le); }
  /** A class-sized word (u32 or u64); for u64 sometimes a huge high half. */
  setWord(off, v, is64, rng) {
    if (!is64) return this.setU32(off, v);
    if (!this.fits(off, 8)) return;
    const hi = rng.chance(0.15) ? rng.pick([1, 0x1fffff, 0x200000, 0xffffffff]) : 0;
    const dv = this.dv();
    dv.setUint32(this.le ? off : off + 4, v >>> 0, this.le);
    dv.setUint32(this.le ? off + 4 : off, hi, this.le);
  }
  replace(bytes) { this.bytes = bytes; }
}

function opBitflip(m, rng) {
  const n = 1 + rng.int(8);
  for (let i = 0; i < n && m.len > 0; i++) { const at = rng.int(m.len); m.bytes[at] ^= 1 << rng.int(8); }
  return `bitflip x${n}`;
}

function opByte(m, rng) {
  const at = rng.int(m.len);
  const v = rng.pick(INTERESTING_U8);
  m.setU8(at, v);
  return `byte @${at}=0x${v.toString(16)}`;
}

function opU32(m, rng, layout) {
  // Aligned, and mostly inside the BTF blob, where most fields are u32s.
  const b = layout.btf;
  const inBtf = b && rng.chance(0.7);
  const start = inBtf ? b.off : 0;
  const size = inBtf ? b.size : m.len;
  const at = start + rng.int(size >>> 2) * 4;
  const v = nastyU32(rng, m.u32(at), size);
  m.setU32(at, v);
  return `u32 @${at}=0x${v.toString(16)}`;
}

function opTruncate(m, rng, layout) {
  const b = layout.btf;
  const len = m.len;
  const cut = rng.weighted([
    [() => rng.int(len), 3],
    [() => len - 1 - rng.int(Math.min(len, 64)), 2],
    [() => rng.int(Math.min(len, 128)), 1],
    // Inside the BTF blob (ends the type or string section early).
    [() => (b ? b.off + rng.int(b.size) : rng.int(len)), 3],
  ])();
  m.replace(m.bytes.slice(0, Math.max(0, cut)));
  return `truncate ${Math.max(0, cut)}/${len}`;
}

function opBtfHeader(m, rng, layout) {
  const blob = layout.btfBase && rng.chance(0.3) ? layout.btfBase : layout.btf;
  if (!blob) return opU32(m, rng, layout);
  const field = rng.pick([[0, 'magic', 2], [2, 'version', 1], [3, 'flags', 1], [4, 'hdr_len', 4], [8, 'type_off', 4], [12, 'type_len', 4], [16, 'str_off', 4], [20, 'str_len', 4], [24, 'extra', 4]]);
  const at = blob.off + field[0];
  if (field[2] === 1) { const v = rng.pick([0, 2, 0xff]); m.setU8(at, v); return `btf.${field[1]}=${v}`; }
  if (field[2] === 2) { const v = rng.pick([0x9feb, 0, 0xeb9e]); m.setU16(at, v); return `btf.${field[1]}=0x${v.toString(16)}`; }
  const v = nastyU32(rng, m.u32(at), blob.size);
  m.setU32(at, v);
  return `btf.${field[1]}@${at}=0x${v.toString(16)}`;
}

function opBtfRecord(m, rng, layout) {
  const b = layout.btf;
  if (!b || b.typeOffsets.length === 0) return opU32(m, rng, layout);
  const k = rng.int(b.typeOffsets.length);
  const r = b.typeOffsets[k];
  const id = b.startId + k;
  const boundaryId = () => rng.pick([0, b.startId - 1, b.startId, b.typeCount - 1, b.typeCount, b.typeCount + 1, id, 0x7fffffff, 0xffffffff]) >>> 0;
  const info = m.u32(r + 4);
  switch (rng.int(6)) {
    case 0: { const v = nastyU32(rng, m.u32(r), 1 << 16); m.setU32(r, v); return `type[${id}].name_off=0x${v.toString(16)}`; }
    case 1: { // kind: 7 bits (bits 24..30), mostly near the known kinds (0..19)
      const kind = rng.chance(0.8) ? rng.int(24) : rng.int(128);
      const v = ((info & ~0x7f000000) | (kind << 24)) >>> 0;
      m.setU32(r + 4, v);
      return `type[${id}].kind=${kind}`;
    }
    case 2: { // vlen (bits 0..23; 16..23 are refused by 6.x kernels) / kflag
      const v = rng.weighted([
        [() => ((info & 0xff000000) | ((info + rng.pick([1, -1, 2, 100])) & 0xffffff)) >>> 0, 3],
        [() => (info | 0xffff) >>> 0, 1],
        [() => (info ^ 0x80000000) >>> 0, 2],
        [() => (info | (1 << (16 + rng.int(8)))) >>> 0, 1],
      ])();
      m.setU32(r + 4, v);
      return `type[${id}].info=0x${v.toString(16)}`;
    }
    case 3: { const v = rng.chance(0.5) ? boundaryId() : nastyU32(rng, m.u32(r + 8), 64); m.setU32(r + 8, v); return `type[${id}].size_type=0x${v.toString(16)}`; }
    default: { // a word of the kind-specific tail (member type/offset, array elem, param, ...)
      const w = rng.int(6);
      const at = r + 12 + 4 * w;
      const v = rng.chance(0.5) ? boundaryId() : nastyU32(rng, m.u32(at), 64);
      m.setU32(at, v);
      return `type[${id}]+${12 + 4 * w}=0x${v.toString(16)}`;
    }
  }
}

function opElfHeader(m, rng, layout) {
  const e = layout.elf;
  if (!e) return opBtfHeader(m, rng, layout);
  const f = e.is64
    ? rng.pick([['e_shoff', 40, 'w'], ['e_phoff', 32, 'w'], ['e_phnum', 56, 2], ['e_shentsize', 58, 2], ['e_shnum', 60, 2], ['e_shstrndx', 62, 2], ['ei_class', 4, 1], ['ei_data', 5, 1]])
    : rng.pick([['e_shoff', 32, 'w'], ['e_phoff', 28, 'w'], ['e_phnum', 44, 2], ['e_shentsize', 46, 2], ['e_shnum', 48, 2], ['e_shstrndx', 50, 2], ['ei_class', 4, 1], ['ei_data', 5, 1]]);
  const [name, at, width] = f;
  if (width === 1) { const v = rng.pick([0, 1, 2, 3]); m.setU8(at, v); return `${name}=${v}`; }
  if (width === 2) {
    const n = e.sections.length;
    const v = rng.pick([0, 1, n - 1, n, n + 1, 0xff00, 0xffff, rng.int(0x10000)]);
    m.setU16(at, v);
    return `${name}=${v}`;
  }
  const v = rng.chance(0.5) ? nastyU32(rng, e.shoff, m.len) : rng.int(m.len);
  m.setWord(at, v, e.is64, rng);
  return `${name}=0x${v.toString(16)}`;
}

const SHDR_FIELDS_64 = [['sh_name', 0, 4], ['sh_type', 4, 4], ['sh_offset', 24, 'w'], ['sh_size', 32, 'w'], ['sh_link', 40, 4], ['sh_info', 44, 4], ['sh_addralign', 48, 'w'], ['sh_entsize', 56, 'w']];
const SHDR_FIELDS_32 = [['sh_name', 0, 4], ['sh_type', 4, 4], ['sh_offset', 16, 'w'], ['sh_size', 20, 'w'], ['sh_link', 24, 4], ['sh_info', 28, 4], ['sh_addralign', 32, 'w'], ['sh_entsize', 36, 'w']];

function opShdr(m, rng, layout) {
  const e = layout.elf;
  if (!e) return opBtfRecord(m, rng, layout);
  const i = rng.int(e.sections.length);
  const s = e.sections[i];
  const [name, fo, width] = rng.pick(e.is64 ? SHDR_FIELDS_64 : SHDR_FIELDS_32);
  const at = s.headerOffset + fo;
  let v;
  if (name === 'sh_type') v = rng.pick([0, 1, 2, 3, 8, 18, 0x6ffffff6, rng.u32()]);
  else if (name === 'sh_link' || name === 'sh_info') v = rng.pick([0, i, e.sections.length - 1, e.sections.length, 0xffff, rng.u32()]);
  else if (name === 'sh_offset' || name === 'sh_size') v = nastyU32(rng, name === 'sh_size' ? s.size : s.offset, m.len);
  else v = nastyU32(rng, 0, 64);
  if (width === 'w') m.setWord(at, v, e.is64, rng);
  else m.setU32(at, v);
  return `shdr[${i}].${name}=0x${(v >>> 0).toString(16)}`;
}

function opSym(m, rng, layout) {
  const e = layout.elf;
  if (!e || !e.symtab || e.symtab.count === 0) return opShdr(m, rng, layout);
  const i = rng.int(e.symtab.count);
  const at = e.symtab.off + i * (e.is64 ? 24 : 16);
  const [name, fo, width] = rng.pick(e.is64
    ? [['st_name', 0, 4], ['st_info', 4, 1], ['st_shndx', 6, 2], ['st_value', 8, 'w'], ['st_size', 16, 'w']]
    : [['st_name', 0, 4], ['st_value', 4, 4], ['st_size', 8, 4], ['st_info', 12, 1], ['st_shndx', 14, 2]]);
  let v;
  if (width === 1) { v = rng.int(256); m.setU8(at + fo, v); }
  else if (width === 2) { v = rng.pick([0, 0xfff1, 0xfff2, 0xffff, 0xff00, e.sections.length, e.sections.length - 1]); m.setU16(at + fo, v); }
  else if (width === 'w') { v = nastyU32(rng, 0, m.len); m.setWord(at + fo, v, e.is64, rng); }
  else { v = nastyU32(rng, m.u32(at + fo), 4096); m.setU32(at + fo, v); }
  return `sym[${i}].${name}=0x${(v >>> 0).toString(16)}`;
}

function opSplice(m, rng, layout, others) {
  const src = rng.chance(0.5) || others.length === 0 ? m.bytes : rng.pick(others).bytes;
  const n = 1 + rng.int(Math.min(256, src.length));
  const from = rng.int(src.length - n + 1);
  const chunk = src.slice(from, from + n);
  // Earlier deletions may have shortened the input below the seed's layout.
  const to = Math.min(m.len, layout.btf && rng.chance(0.6) ? layout.btf.off + rng.int(layout.btf.size) : rng.int(m.len));
  const out = m.bytes.slice();
  out.set(chunk.subarray(0, Math.max(0, out.length - to)), to);
  m.replace(out);
  return `splice ${n}B from ${src === m.bytes ? 'self' : 'other'}@${from} to @${to}`;
}

function opChunk(m, rng) {
  const len = m.len;
  const at = rng.int(len + 1);
  const n = 1 + rng.int(Math.min(64, Math.max(1, len - at)));
  const b = m.bytes;
  switch (rng.int(3)) {
    case 0: { const out = new Uint8Array(len - Math.min(n, len - at)); out.set(b.subarray(0, at)); out.set(b.subarray(at + n), at); m.replace(out); return `delete ${n}B @${at}`; }
    case 1: {
      const k = Math.min(n, len - at);
      const out = new Uint8Array(len + k);
      out.set(b.subarray(0, at + k));
      out.set(b.subarray(at), at + k);
      m.replace(out);
      return `duplicate ${k}B @${at}`;
    }
    default: { const out = new Uint8Array(len + n); out.set(b.subarray(0, at)); for (let i = 0; i < n; i++) out[at + i] = rng.int(256); out.set(b.subarray(at), at + n); m.replace(out); return `insert ${n}B @${at}`; }
  }
}

const SIG_MAGIC = new TextEncoder().encode('~Module signature appended~\n');

function opSignature(m, rng) {
  const body = rng.int(64);
  const sigLen = rng.pick([body, body + 1, m.len + body, 0xffffffff, 0]);
  const out = new Uint8Array(m.len + body + 12 + SIG_MAGIC.length);
  out.set(m.bytes);
  for (let i = 0; i < body; i++) out[m.len + i] = rng.int(256);
  const s = m.len + body;
  out[s + 2] = 2; // PKEY_ID_PKCS7
  if (rng.chance(0.2)) { out[s + 3] = rng.int(256); out[s + 4] = rng.int(256); }
  new DataView(out.buffer).setUint32(s + 8, sigLen >>> 0, false);
  out.set(SIG_MAGIC, s + 12);
  m.replace(out);
  return `signature body=${body} sig_len=${sigLen >>> 0}`;
}

/**
 * One mutated input: 1 mutation most of the time, up to 5 stacked; truncation (which
 * invalidates the layout offsets) only last.
 * @param {Seed} seed
 * @param {Rng} rng
 * @param {Seed[]} others  splice sources
 * @returns {{bytes: Uint8Array, ops: string[]}}
 */
export function mutate(seed, rng, others = []) {
  const m = new Mutable(seed.bytes.slice(), seed.layout.le);
  const layout = seed.layout;
  const isElf = seed.kind === 'elf';
  const table = [
    [opBitflip, 3], [opByte, 2], [opU32, 3], [opBtfHeader, 2], [opBtfRecord, 4], [opSplice, 1], [opChunk, 1],
    ...(isElf ? [[opElfHeader, 2], [opShdr, 3], [opSym, 2], [opSignature, 0.5]] : []),
  ];
  const n = rng.chance(0.75) ? 1 : 2 + rng.int(4);
  const ops = [];
  for (let i = 0; i < n; i++) {
    const op = rng.weighted(table);
    ops.push(op(m, rng, layout, others));
  }
  if (rng.chance(0.2)) ops.push(opTruncate(m, rng, layout));
  return { bytes: m.bytes, ops };
}

/** Picks a seed (weighted) and mutates it: the whole of run `run` under `seed`. */
export function makeInput(seeds, seed, run) {
  const rng = runRng(seed, run);
  const s = rng.weighted(seeds.map((x) => [x, x.weight]));
  const { bytes, ops } = mutate(s, rng, seeds);
  return { seed: s, bytes, ops };
}

// ---------------------------------------------------------------------------------
// The read path and the contract check

/**
 * @typedef {'ok'|'typed'|'offsetless'|'crash'|'hang'} Outcome
 * @typedef {object} RunResult
 * @property {Outcome} outcome
 * @property {string} step       last step entered (where the error came from)
 * @property {string|undefined} variant
 * @property {unknown} error      the thrown value (typed or not), if any
 * @property {string|undefined} problem  what broke the contract, for findings
 * @property {number} ms
 * @property {number} problems   validation problems reported
 */

const RANK = { ok: 0, typed: 1, offsetless: 2, crash: 3, hang: 4 };

function describeThrown(e) {
  if (e instanceof Error) return `${e.name}: ${e.message}`;
  return `non-Error thrown: ${String(e)}`;
}

/** Classifies a thrown value against the contract. */
export function classifyThrown(lib, e) {
  if (!lib.isModbtfError(e)) return { outcome: 'crash', problem: `untyped exception ${describeThrown(e)}` };
  const off = e.context.offset;
  if (typeof off === 'number' && Number.isInteger(off) && off >= 0) return { outcome: 'typed', problem: undefined };
  if (NO_OFFSET_CODES.has(e.code)) return { outcome: 'typed', problem: undefined };
  return { outcome: 'offsetless', problem: `${e.name} ${e.code} without offset: ${e.message}` };
}

function equalBytes(a, b) {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** validate → dumpRaw → rewrite round trip → every own type via type()/kind()/name(). */
function exerciseBtf(lib, btf, st, findings) {
  st.step = 'validateBtf';
  const problems = lib.validateBtf(btf);
  st.problems += problems.length;
  for (const p of problems) {
    if (!lib.isModbtfError(p)) { findings.push({ outcome: 'crash', problem: `validateBtf returned a non-ModbtfError: ${describeThrown(p)}` }); break; }
    if (typeof p.context.typeId !== 'number' && typeof p.context.offset !== 'number') {
      findings.push({ outcome: 'offsetless', problem: `validation problem ${p.code} has neither typeId nor offset: ${p.message}` });
      break;
    }
  }
  st.step = 'dumpRaw';
  lib.dumpRaw(btf);
  st.step = 'rewriteBtf';
  const out = lib.rewriteBtf(btf);
  // Invariant: whatever parses, re-encodes to BTF that parses to the same types and
  // re-encodes to the same bytes.
  st.step = 'roundtrip';
  let again;
  try {
    again = lib.Btf.parse(out, btf.base ? { base: btf.base } : {});
  } catch (e) {
    findings.push({ outcome: 'crash', problem: `rewriteBtf output does not parse: ${describeThrown(e)}`, error: e });
    again = undefined;
  }
  if (again) {
    if (again.typeCount !== btf.typeCount) findings.push({ outcome: 'crash', problem: `round trip changed the type count ${btf.typeCount} -> ${again.typeCount}` });
    else if (!equalBytes(lib.rewriteBtf(again), out)) findings.push({ outcome: 'crash', problem: 'rewriteBtf is not stable: rewrite(parse(rewrite(x))) != rewrite(x)' });
  }
  st.step = 'types';
  for (let id = btf.startId; id < btf.typeCount; id++) {
    btf.type(id);
    btf.kind(id);
  }
  st.step = 'findByName';
  btf.findByName('sock');
  // Last: name() throws for a bad name offset, which would hide the steps above.
  st.step = 'names';
  for (let id = btf.startId; id < btf.typeCount; id++) btf.name(id);
}

function runVariant(lib, variant, fn) {
  const st = { step: 'start', problems: 0 };
  const findings = [];
  let error;
  try {
    fn(st, findings);
  } catch (e) {
    error = e;
    findings.push({ ...classifyThrown(lib, e), error: e });
  }
  let worst = { outcome: 'ok', problem: undefined };
  for (const f of findings) if (RANK[f.outcome] > RANK[worst.outcome]) worst = f;
  return { outcome: worst.outcome, problem: worst.problem, error: worst.error ?? error, step: st.step, variant, problems: st.problems };
}

/**
 * Runs the whole read path over one input and checks the contract.
 *   ELF: stripSignature → parseElf → every sectionData → symbols() → readElfBtf over
 *        the base → (distilled base and .BTF each:) validate, dump, rewrite, types.
 *   raw BTF: Btf.parse over its base → same; then parsed without a base (split
 *        seeds) or over vmlinux (standalone seeds).
 * @param {FuzzLib} lib
 * @param {{kind: 'elf'|'btf', bytes: Uint8Array, base?: any, altBase?: any}} input
 * @param {{hangMs?: number}} [opts]
 * @returns {RunResult}
 */
export function runOne(lib, input, opts = {}) {
  const t0 = performance.now();
  const results = [];
  if (input.kind === 'elf') {
    results.push(runVariant(lib, 'elf', (st, findings) => {
      st.step = 'stripSignature';
      const plain = lib.stripSignature(input.bytes, { file: 'fuzz.ko' });
      st.step = 'parseElf';
      const elf = lib.parseElf(plain, { file: 'fuzz.ko' });
      st.step = 'sectionData';
      for (const s of elf.sections) elf.sectionData(s);
      st.step = 'symbols';
      elf.symbols();
      st.step = 'readElfBtf';
      const { btf, distilledBase } = lib.readElfBtf(elf, input.base ? { base: input.base } : {});
      if (distilledBase) exerciseBtf(lib, distilledBase, st, findings);
      exerciseBtf(lib, btf, st, findings);
    }));
  } else {
    results.push(runVariant(lib, input.base ? 'btf+base' : 'btf', (st, findings) => {
      st.step = 'Btf.parse';
      const btf = lib.Btf.parse(input.bytes, { section: '.BTF', ...(input.base ? { base: input.base } : {}) });
      exerciseBtf(lib, btf, st, findings);
    }));
    const alt = input.base ? undefined : input.altBase;
    results.push(runVariant(lib, alt ? 'btf/alt-base' : 'btf/no-base', (st, findings) => {
      st.step = 'Btf.parse';
      const btf = lib.Btf.parse(input.bytes, alt ? { base: alt } : {});
      st.step = 'validateBtf';
      const problems = lib.validateBtf(btf);
      st.problems += problems.length;
      if (problems.some((p) => typeof p.context.typeId !== 'number' && typeof p.context.offset !== 'number')) {
        findings.push({ outcome: 'offsetless', problem: 'validation problem without typeId or offset' });
      }
      st.step = 'dumpRaw';
      lib.dumpRaw(btf);
    }));
  }
  const ms = performance.now() - t0;
  // The primary variant's outcome counts; the alternative one (split BTF without its
  // base fails early, by design) only matters when it breaks the contract.
  let worst = results[0];
  for (const r of results.slice(1)) if (RANK[r.outcome] >= RANK.offsetless && RANK[r.outcome] > RANK[worst.outcome]) worst = r;
  const out = { ...worst, ms, problems: results.reduce((a, r) => a + r.problems, 0) };
  if (ms > (opts.hangMs ?? DEFAULT_HANG_MS)) return { ...out, outcome: 'hang', problem: `took ${ms.toFixed(0)} ms` };
  return out;
}

/** The input object runOne wants, for a mutated seed. */
export function inputFor(seed, bytes, vmlinux) {
  return { kind: seed.kind, bytes, base: seed.base, altBase: seed.base ? undefined : vmlinux };
}

/** Short content hash used in crash file names. */
export function hashBytes(bytes) {
  return createHash('sha256').update(bytes).digest('hex').slice(0, 16);
}

/** A stable signature for grouping findings: outcome, step, error name/code and top lib frame. */
export function findingSignature(r) {
  const e = r.error;
  let where = '';
  if (e instanceof Error && typeof e.stack === 'string') {
    // The first lib frame that is not an error factory (fail, elfError, r.error...).
    const frame = e.stack.split('\n').slice(1).find((l) => /\/lib\//.test(l) && !/at (?:\S+\.)?(?:fail|elfError|error|report)\b/.test(l) && !/errors\.[jt]s/.test(l));
    if (frame) where = frame.trim().replace(/^at (?:(\S+) )?\(?.*?\/(?:dist\/)?(lib\/[^):]+):(\d+).*$/, (_m, fn, file, line) => `${fn ?? ''} ${file}:${line}`.trim());
  }
  const code = e && typeof e === 'object' && 'code' in e ? e.code : '';
  const name = e instanceof Error ? e.name : '';
  return [r.outcome, r.step, name, code, where || (r.problem ?? '').replace(/\d+/g, 'N')].join(' | ');
}
