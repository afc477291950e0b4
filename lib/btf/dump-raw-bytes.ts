/**
 * dumpRaw's text written straight as bytes from the type records, for whole-BTF dumps
 * (`modbtf dump FILE`): no type object, no JS string per line or name. vmlinux has 112k
 * types and ~1M output lines; building them as strings cost most of a dump's time in
 * allocation and garbage collection. Names are copied from the string sections as
 * bytes, exactly as bpftool's printf("%s") copies them. The output is dumpRaw's, chunk
 * by chunk (test/golden/dump.test.ts compares both with bpftool's): little-endian BTF
 * on a little-endian host; anything else (and any kind this file does not know) goes
 * through dumpRaw's own code for that type.
 */
import type { Btf } from './btf.js';
import { BtfKind, kindName } from './kinds.js';
import { BTF_KIND_SLOTS, blobWords, infoKind, infoVlen } from './wire.js';
import { dumpRawChunks, enumEncodingName, funcLinkageName, intEncodingName, varLinkageName } from './dump-raw.js';

const HOST_LE = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;
const CHUNK = 1 << 16;
const enc = new TextEncoder();
const lit = (s: string): Uint8Array => enc.encode(s);

// Every constant piece of text, encoded once.
const KIND = Array.from({ length: BTF_KIND_SLOTS }, (_, k) => lit(kindName(k)));
const T = {
  anon: lit('(anon)'), invalid: lit('(invalid)'), size: lit(' size='), bitsOffset: lit(' bits_offset='), nrBits: lit(' nr_bits='),
  encoding: lit(' encoding='), typeId: lit(' type_id='), indexTypeId: lit(' index_type_id='), nrElems: lit(' nr_elems='), vlen: lit(' vlen='),
  bitfieldSize: lit(' bitfield_size='), val: lit(' val='), ll: lit('LL'), ull: lit('ULL'), fwdStruct: lit(' fwd_kind=struct'), fwdUnion: lit(' fwd_kind=union'),
  linkage: lit(' linkage='), varLinkage: lit(', linkage='), retTypeId: lit(' ret_type_id='), tabTypeId: lit('\ttype_id='), offset: lit(' offset='),
  componentIdx: lit(' component_idx='), signed: lit(enumEncodingName(0x80000000)), unsigned: lit(enumEncodingName(0)),
};
const INT_ENC = Array.from({ length: 16 }, (_, e) => lit(intEncodingName(e)));
const FUNC_LINKAGE = [0, 1, 2, 3].map((l) => lit(funcLinkageName(l)));
const VAR_LINKAGE = [0, 1, 2, 3].map((l) => lit(varLinkageName(l)));

/** String sections of the chain, innermost (the BTF's own) first. */
interface StrLayer { from: number; end: number; bytes: Uint8Array; start: number }

export function* dumpRawBytes(btf: Btf): Generator<Uint8Array, void, undefined> {
  if (!HOST_LE || !btf.littleEndian || (btf.base !== undefined && !btf.base.littleEndian)) {
    for (const c of dumpRawChunks(btf)) yield enc.encode(c);
    return;
  }
  const layers: StrLayer[] = [];
  for (let b: Btf | undefined = btf; b !== undefined; b = b.base) layers.push({ from: b.startStrOff, end: b.startStrOff + b.header.strLen, bytes: b.bytes, start: b.strStart });
  const bytes = btf.bytes;
  const w = blobWords(bytes);
  const offs = btf.typeOffsets;
  const startId = btf.startId;
  const typeCount = btf.typeCount;

  let out = new Uint8Array(CHUNK + 4096);
  let n = 0;
  // The small writes (ch, num) between two puts stay within the headroom put() keeps.
  // Short pieces by a byte loop: TypedArray.set costs more per call than copying a few bytes.
  const put = (b: Uint8Array): void => {
    if (n + b.length + 1024 > out.length) { const o = new Uint8Array((n + b.length) * 2 + 1024); o.set(out.subarray(0, n)); out = o; }
    if (b.length > 24) { out.set(b, n); n += b.length; return; }
    for (let i = 0; i < b.length; i++) out[n++] = b[i] as number;
  };
  const ch = (c: number): void => { out[n++] = c; };
  const digits = new Uint8Array(24);
  const num = (v: number): void => {
    // v: an integer within ±2^53 (u32 and i32 here); most are small ids and offsets.
    if (v < 0) { ch(0x2d); v = -v; }
    if (v < 10) { out[n++] = 0x30 + v; return; }
    if (v < 100) { out[n++] = 0x30 + ((v / 10) | 0); out[n++] = 0x30 + (v % 10); return; }
    let i = 0;
    if (v < 0x80000000) {
      do { const q = (v / 10) | 0; digits[i++] = 0x30 + v - q * 10; v = q; } while (v > 0);
    } else {
      do { digits[i++] = 0x30 + (v % 10); v = Math.floor(v / 10); } while (v > 0);
    }
    while (i > 0) out[n++] = digits[--i] as number;
  };
  // Byte loops, not indexOf/subarray: those allocate a Buffer view per name (~1M names).
  const name = (off: number): void => {
    if (off === 0) { put(T.anon); return; }
    for (const L of layers) {
      if (off < L.from) continue;
      if (off >= L.end) break;
      const src = L.bytes;
      const s = L.start + off - L.from;
      const lim = L.start + L.end - L.from;
      let e = s;
      while (e < lim && src[e] !== 0) e++;
      if (e >= lim) break;
      if (n + (e - s) + 1024 > out.length) { const o = new Uint8Array((n + (e - s)) * 2 + 1024); o.set(out.subarray(0, n)); out = o; }
      for (let j = s; j < e; j++) out[n++] = src[j] as number;
      return;
    }
    put(T.invalid);
  };
  const quoted = (off: number): void => { ch(0x27); name(off); ch(0x27); };
  const head = (id: number, kind: number, nameOff: number): void => { ch(0x5b); num(id); ch(0x5d); ch(0x20); put(KIND[kind] as Uint8Array); ch(0x20); quoted(nameOff); };
  // A type's name offset and kind, wherever it lives (the DATASEC lines name their vars).
  const kindOf = (id: number): number => (id >= startId ? infoKind(w[((offs[id - startId] as number) >>> 2) + 1] as number) : btf.kind(id));
  const nameOffOf = (id: number): number => (id >= startId ? (w[(offs[id - startId] as number) >>> 2] as number) : btf.nameOff(id));

  // The loop lives in a plain function: V8 does not move a generator's loop into
  // optimised code while it runs (no on-stack replacement), and this one runs ~112k times.
  const fill = (from: number): number => {
  let i = from;
  for (; i < offs.length && n <= CHUNK; i++) {
    const r = (offs[i] as number) >>> 2;
    const id = startId + i;
    const nameOff = w[r] as number;
    const info = w[r + 1] as number;
    const kind = infoKind(info);
    const vlen = infoVlen(info);
    const kflag = info >>> 31 === 1;
    const st = w[r + 2] as number;
    const m = r + 3;
    switch (kind) {
      case BtfKind.Int: {
        const d = w[m] as number;
        head(id, kind, nameOff); put(T.size); num(st); put(T.bitsOffset); num((d >>> 16) & 0xff); put(T.nrBits); num(d & 0xff);
        put(T.encoding); put(INT_ENC[(d >>> 24) & 0x0f] as Uint8Array); ch(0x0a);
        break;
      }
      case BtfKind.Ptr: case BtfKind.Const: case BtfKind.Volatile: case BtfKind.Restrict: case BtfKind.Typedef: case BtfKind.TypeTag:
        head(id, kind, nameOff); put(T.typeId); num(st); ch(0x0a);
        break;
      case BtfKind.Array:
        head(id, kind, nameOff); put(T.typeId); num(w[m] as number); put(T.indexTypeId); num(w[m + 1] as number); put(T.nrElems); num(w[m + 2] as number); ch(0x0a);
        break;
      case BtfKind.Struct: case BtfKind.Union:
        head(id, kind, nameOff); put(T.size); num(st); put(T.vlen); num(vlen); ch(0x0a);
        for (let j = m, e = m + vlen * 3; j < e; j += 3) {
          const o = w[j + 2] as number;
          ch(0x09); quoted(w[j] as number); put(T.typeId); num(w[j + 1] as number); put(T.bitsOffset); num(kflag ? o & 0xffffff : o);
          const bits = kflag ? o >>> 24 : 0;
          if (bits !== 0) { put(T.bitfieldSize); num(bits); }
          ch(0x0a);
        }
        break;
      case BtfKind.Enum:
        head(id, kind, nameOff); put(T.encoding); put(kflag ? T.signed : T.unsigned); put(T.size); num(st); put(T.vlen); num(vlen); ch(0x0a);
        for (let j = m, e = m + vlen * 2; j < e; j += 2) {
          const v = w[j + 1] as number;
          ch(0x09); quoted(w[j] as number); put(T.val); num(kflag ? v | 0 : v); ch(0x0a);
        }
        break;
      case BtfKind.Enum64:
        head(id, kind, nameOff); put(T.encoding); put(kflag ? T.signed : T.unsigned); put(T.size); num(st); put(T.vlen); num(vlen); ch(0x0a);
        for (let j = m, e = m + vlen * 3; j < e; j += 3) {
          const u = (BigInt(w[j + 2] as number) << 32n) | BigInt(w[j + 1] as number);
          ch(0x09); quoted(w[j] as number); put(T.val); put(enc.encode((kflag ? BigInt.asIntN(64, u) : u).toString())); put(kflag ? T.ll : T.ull); ch(0x0a);
        }
        break;
      case BtfKind.Fwd:
        head(id, kind, nameOff); put(kflag ? T.fwdUnion : T.fwdStruct); ch(0x0a);
        break;
      case BtfKind.Func:
        head(id, kind, nameOff); put(T.typeId); num(st); put(T.linkage); put(FUNC_LINKAGE[Math.min(vlen, 3)] as Uint8Array); ch(0x0a);
        break;
      case BtfKind.FuncProto:
        head(id, kind, nameOff); put(T.retTypeId); num(st); put(T.vlen); num(vlen); ch(0x0a);
        for (let j = m, e = m + vlen * 2; j < e; j += 2) { ch(0x09); quoted(w[j] as number); put(T.typeId); num(w[j + 1] as number); ch(0x0a); }
        break;
      case BtfKind.Var:
        // bpftool quirk: VAR alone has a comma after type_id.
        head(id, kind, nameOff); put(T.typeId); num(st); put(T.varLinkage); put(VAR_LINKAGE[Math.min(w[m] as number, 3)] as Uint8Array); ch(0x0a);
        break;
      case BtfKind.Datasec:
        head(id, kind, nameOff); put(T.size); num(st); put(T.vlen); num(vlen); ch(0x0a);
        for (let j = m, e = m + vlen * 3; j < e; j += 3) {
          const vt = w[j] as number;
          put(T.tabTypeId); num(vt); put(T.offset); num(w[j + 1] as number); put(T.size); num(w[j + 2] as number);
          if (vt < typeCount) { ch(0x20); ch(0x28); put(KIND[kindOf(vt)] as Uint8Array); ch(0x20); quoted(nameOffOf(vt)); ch(0x29); }
          ch(0x0a);
        }
        break;
      case BtfKind.Float:
        head(id, kind, nameOff); put(T.size); num(st); ch(0x0a);
        break;
      case BtfKind.DeclTag:
        head(id, kind, nameOff); put(T.typeId); num(st); put(T.componentIdx); num((w[m] as number) | 0); ch(0x0a);
        break;
      default:
        // Kinds this file does not know: dumpRaw's own text for this one type.
        for (const c of dumpRawChunks(btf, { ids: [id] })) put(enc.encode(c));
    }
  }
  return i;
  };
  for (let i = 0; i < offs.length;) {
    i = fill(i);
    yield out.slice(0, n);
    n = 0;
  }
}
