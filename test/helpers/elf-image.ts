/**
 * Assembles small ELF32/ELF64, LE/BE relocatable images for lib/elf tests, written
 * field by field from the gABI layouts (independent of lib/elf's decoder, so a shared
 * misreading cannot hide). Also reports where everything landed, for tests that
 * corrupt specific bytes.
 */
import {
  ELFCLASS32,
  ELFCLASS64,
  ELFDATA2LSB,
  ELFDATA2MSB,
  EM_X86_64,
  ET_REL,
  EV_CURRENT,
  SHN_LORESERVE,
  SHN_XINDEX,
  SHT_NOBITS,
  SHT_PROGBITS,
  SHT_STRTAB,
  SHT_SYMTAB,
  SHT_SYMTAB_SHNDX,
  STB_LOCAL,
} from '../../lib/elf/constants.js';

export interface ImageSection {
  name: string;
  type: number;
  flags?: number;
  addr?: bigint;
  /** Contents; ignored for SHT_NOBITS. */
  data?: Uint8Array;
  /** sh_size for SHT_NOBITS (others use data.length). */
  size?: number;
  /** Section index, or the name of another section in the image. */
  link?: number | string;
  info?: number;
  addralign?: number;
  entsize?: number;
}

export interface ImageSymbol {
  name: string;
  value?: bigint;
  size?: number;
  /** Section name, or a raw st_shndx value (SHN_ABS, SHN_UNDEF...). */
  section?: string | number;
  bind?: number;
  type?: number;
  visibility?: number;
  /** Store SHN_XINDEX in st_shndx and the index in .symtab_shndx even when it would fit. */
  forceXindex?: boolean;
}

export interface ElfImageSpec {
  is64: boolean;
  littleEndian: boolean;
  type?: number;
  machine?: number;
  sections?: ImageSection[];
  /** When given (even empty), .symtab and .strtab are added after the sections. */
  symbols?: ImageSymbol[];
  /** Write e_shnum = 0 / e_shstrndx = SHN_XINDEX with the real values in section 0. */
  extendedNumbering?: boolean;
  /** Empty PROGBITS sections named ".pad" placed before `sections`, pushing them past SHN_LORESERVE. */
  padSections?: number;
  /** Bytes appended after the ELF (e.g. a signature trailer). */
  trailer?: Uint8Array;
}

export interface ElfImage {
  bytes: Uint8Array;
  /** Length of the ELF part, i.e. without the trailer. */
  elfSize: number;
  shoff: number;
  shnum: number;
  shentsize: number;
  shstrndx: number;
  /** name → index (first section of that name). */
  index: Map<string, number>;
  /** name → file offset of the contents. */
  offset: Map<string, number>;
  /** name → file offset of the section header entry. */
  headerOffset: Map<string, number>;
  /** st_name of each symbol in spec order (index i+1 in the table). */
  symbolNameOffsets: number[];
}

class StrtabBuilder {
  private parts: Uint8Array[] = [new Uint8Array(1)];
  private len = 1;
  private seen = new Map<string, number>();
  add(s: string): number {
    if (s === '') return 0;
    const hit = this.seen.get(s);
    if (hit !== undefined) return hit;
    const enc = new TextEncoder().encode(`${s}\0`);
    const off = this.len;
    this.parts.push(enc);
    this.len += enc.length;
    this.seen.set(s, off);
    return off;
  }
  bytes(): Uint8Array {
    const out = new Uint8Array(this.len);
    let at = 0;
    for (const p of this.parts) { out.set(p, at); at += p.length; }
    return out;
  }
}

interface Planned extends ImageSection { nameOff: number; fileOffset: number; sizeOut: number }

function align(n: number, a: number): number {
  return a > 1 ? Math.ceil(n / a) * a : n;
}

export function buildElfImage(spec: ElfImageSpec): ElfImage {
  const { is64, littleEndian: le } = spec;
  const ehsize = is64 ? 64 : 52;
  const shentsize = is64 ? 64 : 40;
  const symsize = is64 ? 24 : 16;

  const secs: ImageSection[] = [{ name: '', type: 0 }];
  for (let i = 0; i < (spec.padSections ?? 0); i++) secs.push({ name: '.pad', type: SHT_PROGBITS, data: new Uint8Array(0) });
  secs.push(...(spec.sections ?? []));
  const nameToIndex = (n: string): number => {
    const i = secs.findIndex((s) => s.name === n);
    if (i < 0) throw new Error(`elf-image: no section ${n}`);
    return i;
  };

  const symbolNameOffsets: number[] = [];
  if (spec.symbols !== undefined) {
    const strtab = new StrtabBuilder();
    const syms = spec.symbols;
    const symtabIndex = secs.length;
    const resolved = syms.map((s) => (typeof s.section === 'string' ? nameToIndex(s.section) : (s.section ?? 0)));
    const needX = syms.some((s, i) => s.forceXindex === true || (typeof s.section === 'string' && (resolved[i] as number) >= SHN_LORESERVE));
    const hasShndx = needX ? 1 : 0;
    const strtabIndex = symtabIndex + 1 + hasShndx;
    const data = new Uint8Array((syms.length + 1) * symsize);
    const dv = new DataView(data.buffer);
    const xdata = new Uint8Array((syms.length + 1) * 4);
    const xdv = new DataView(xdata.buffer);
    let firstGlobal = syms.length + 1;
    syms.forEach((s, i) => {
      const at = (i + 1) * symsize;
      const nameOff = strtab.add(s.name);
      symbolNameOffsets.push(nameOff);
      const bind = s.bind ?? STB_LOCAL;
      if (bind !== STB_LOCAL && firstGlobal > syms.length) firstGlobal = i + 1;
      const info = (bind << 4) | (s.type ?? 0);
      const other = s.visibility ?? 0;
      const idx = resolved[i] as number;
      const useX = s.forceXindex === true || (typeof s.section === 'string' && idx >= SHN_LORESERVE);
      const shndx = useX ? SHN_XINDEX : idx;
      if (useX) xdv.setUint32((i + 1) * 4, idx, le);
      if (is64) {
        dv.setUint32(at, nameOff, le);
        dv.setUint8(at + 4, info);
        dv.setUint8(at + 5, other);
        dv.setUint16(at + 6, shndx, le);
        dv.setBigUint64(at + 8, s.value ?? 0n, le);
        dv.setBigUint64(at + 16, BigInt(s.size ?? 0), le);
      } else {
        dv.setUint32(at, nameOff, le);
        dv.setUint32(at + 4, Number(s.value ?? 0n), le);
        dv.setUint32(at + 8, s.size ?? 0, le);
        dv.setUint8(at + 12, info);
        dv.setUint8(at + 13, other);
        dv.setUint16(at + 14, shndx, le);
      }
    });
    secs.push({ name: '.symtab', type: SHT_SYMTAB, data, link: strtabIndex, info: firstGlobal, addralign: is64 ? 8 : 4, entsize: symsize });
    if (needX) secs.push({ name: '.symtab_shndx', type: SHT_SYMTAB_SHNDX, data: xdata, link: symtabIndex, addralign: 4, entsize: 4 });
    secs.push({ name: '.strtab', type: SHT_STRTAB, data: strtab.bytes(), addralign: 1 });
  }

  const shstr = new StrtabBuilder();
  const shstrtabIndex = secs.length;
  secs.push({ name: '.shstrtab', type: SHT_STRTAB, addralign: 1 });
  const nameOffs = secs.map((s) => shstr.add(s.name));
  const shstrData = shstr.bytes();
  (secs[shstrtabIndex] as ImageSection).data = shstrData;

  // Contents in section order, then the section header table.
  let cursor = ehsize;
  const planned: Planned[] = secs.map((s, i) => {
    const nobits = s.type === SHT_NOBITS || i === 0;
    const sizeOut = s.type === SHT_NOBITS ? (s.size ?? 0) : (s.data?.length ?? 0);
    const fileOffset = nobits ? (i === 0 ? 0 : cursor) : align(cursor, s.addralign ?? 1);
    if (!nobits) cursor = fileOffset + sizeOut;
    return { ...s, nameOff: nameOffs[i] as number, fileOffset, sizeOut };
  });
  const shoff = align(cursor, is64 ? 8 : 4);
  const shnum = secs.length;
  const elfSize = shoff + shnum * shentsize;
  const trailer = spec.trailer ?? new Uint8Array(0);
  const bytes = new Uint8Array(elfSize + trailer.length);
  bytes.set(trailer, elfSize);
  const dv = new DataView(bytes.buffer);

  // e_ident + Ehdr
  bytes.set([0x7f, 0x45, 0x4c, 0x46, is64 ? ELFCLASS64 : ELFCLASS32, le ? ELFDATA2LSB : ELFDATA2MSB, EV_CURRENT], 0);
  const ext = spec.extendedNumbering === true;
  dv.setUint16(16, spec.type ?? ET_REL, le);
  dv.setUint16(18, spec.machine ?? EM_X86_64, le);
  dv.setUint32(20, EV_CURRENT, le);
  if (is64) {
    dv.setBigUint64(24, 0n, le); // e_entry
    dv.setBigUint64(32, 0n, le); // e_phoff
    dv.setBigUint64(40, BigInt(shoff), le);
    dv.setUint32(48, 0, le);
    dv.setUint16(52, ehsize, le);
    dv.setUint16(54, 0, le);
    dv.setUint16(56, 0, le);
    dv.setUint16(58, shentsize, le);
    dv.setUint16(60, ext ? 0 : shnum, le);
    dv.setUint16(62, ext ? SHN_XINDEX : shstrtabIndex, le);
  } else {
    dv.setUint32(24, 0, le);
    dv.setUint32(28, 0, le);
    dv.setUint32(32, shoff, le);
    dv.setUint32(36, 0, le);
    dv.setUint16(40, ehsize, le);
    dv.setUint16(42, 0, le);
    dv.setUint16(44, 0, le);
    dv.setUint16(46, shentsize, le);
    dv.setUint16(48, ext ? 0 : shnum, le);
    dv.setUint16(50, ext ? SHN_XINDEX : shstrtabIndex, le);
  }

  const index = new Map<string, number>();
  const offset = new Map<string, number>();
  const headerOffset = new Map<string, number>();
  planned.forEach((s, i) => {
    if (!index.has(s.name)) {
      index.set(s.name, i);
      offset.set(s.name, s.fileOffset);
      headerOffset.set(s.name, shoff + i * shentsize);
    }
    if (s.data !== undefined && s.type !== SHT_NOBITS) bytes.set(s.data, s.fileOffset);
    const at = shoff + i * shentsize;
    const link = typeof s.link === 'string' ? nameToIndex(s.link) : (s.link ?? 0);
    // Section 0 holds the overflow counts under extended numbering.
    const size = i === 0 ? (ext ? shnum : 0) : s.sizeOut;
    const link0 = i === 0 ? (ext ? shstrtabIndex : 0) : link;
    if (is64) {
      dv.setUint32(at, s.nameOff, le);
      dv.setUint32(at + 4, s.type, le);
      dv.setBigUint64(at + 8, BigInt(s.flags ?? 0), le);
      dv.setBigUint64(at + 16, s.addr ?? 0n, le);
      dv.setBigUint64(at + 24, BigInt(s.fileOffset), le);
      dv.setBigUint64(at + 32, BigInt(size), le);
      dv.setUint32(at + 40, link0, le);
      dv.setUint32(at + 44, s.info ?? 0, le);
      dv.setBigUint64(at + 48, BigInt(s.addralign ?? (i === 0 ? 0 : 1)), le);
      dv.setBigUint64(at + 56, BigInt(s.entsize ?? 0), le);
    } else {
      dv.setUint32(at, s.nameOff, le);
      dv.setUint32(at + 4, s.type, le);
      dv.setUint32(at + 8, s.flags ?? 0, le);
      dv.setUint32(at + 12, Number(s.addr ?? 0n), le);
      dv.setUint32(at + 16, s.fileOffset, le);
      dv.setUint32(at + 20, size, le);
      dv.setUint32(at + 24, link0, le);
      dv.setUint32(at + 28, s.info ?? 0, le);
      dv.setUint32(at + 32, s.addralign ?? (i === 0 ? 0 : 1), le);
      dv.setUint32(at + 36, s.entsize ?? 0, le);
    }
  });

  return { bytes, elfSize, shoff, shnum, shentsize, shstrndx: shstrtabIndex, index, offset, headerOffset, symbolNameOffsets };
}

/** A representative module-like image: text, data, bss, .BTF, .BTF_ids and a symtab. */
export function sampleImage(is64: boolean, littleEndian: boolean, extra: Partial<ElfImageSpec> = {}): ElfImage {
  return buildElfImage({
    is64,
    littleEndian,
    sections: [
      { name: '.text', type: SHT_PROGBITS, flags: 0x6, data: Uint8Array.of(0x90, 0x90, 0xc3), addralign: 16 },
      { name: '.data', type: SHT_PROGBITS, flags: 0x3, data: Uint8Array.of(1, 2, 3, 4, 5, 6, 7, 8), addralign: 8, addr: 0x40n },
      { name: '.bss', type: SHT_NOBITS, flags: 0x3, size: 4096, addralign: 32 },
      { name: '.BTF_ids', type: SHT_PROGBITS, flags: 0x2, data: new Uint8Array(16), addralign: 4 },
      { name: '.BTF', type: SHT_PROGBITS, data: Uint8Array.of(0x9f, 0xeb, 1, 0), addralign: 4 },
    ],
    symbols: [
      { name: 'sample.c', type: 4, section: 0xfff1 },
      { name: '.text', type: 3, section: '.text' },
      { name: '__BTF_ID__func__foo__1', type: 1, section: '.BTF_ids', value: 0n, size: 4 },
      { name: '__BTF_ID__struct__bar__2', type: 1, section: '.BTF_ids', value: 4n, size: 4, visibility: 2 },
      { name: 'init_module', bind: 1, type: 2, section: '.text', value: 0n, size: 3 },
      { name: 'counter', bind: 2, type: 1, section: '.bss', value: 16n, size: 8 },
      { name: 'printk', bind: 1, section: 0 },
    ],
    ...extra,
  });
}
