/**
 * dumpJson's output (`bpftool -j btf dump file F`) written straight as bytes from the
 * type records, for whole-BTF dumps (`modbtf dump --json FILE`): no type object, no JS
 * string per object or name. vmlinux has 112k types and ~17 MB of JSON; building it as
 * strings cost ~4/5 of a dump's time in allocation, concatenation and garbage
 * collection (node --cpu-prof; `node scripts/bench-dump-json.mjs` times it). Names are copied from the string sections byte by byte
 * and escaped as bpftool's json_writer escapes them (bpftoolJsonString, on bytes: a
 * name that is not valid UTF-8 comes out as bpftool writes it). The output equals
 * dumpJson's chunk by chunk concatenated (test/golden/dump.test.ts compares both with
 * bpftool's): little-endian BTF on a little-endian host; anything else (and any kind
 * this file does not know) goes through dumpJson's own code.
 */
import type { Btf } from './btf.js';
import { BtfKind, kindName } from './kinds.js';
import { blobWords, infoKflag, infoKind, infoVlen } from './wire.js';
import { enumEncodingName, funcLinkageName, intEncodingName, varLinkageName } from './dump-raw.js';
import { dumpJsonChunks } from './dump-json.js';

const HOST_LE = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;
const CHUNK = 1 << 16;
const enc = new TextEncoder();
const lit = (s: string): Uint8Array => enc.encode(s);

// Every constant piece of text, encoded once. `KIND[k]` is `,"kind":"<KIND>","name":"`.
const KIND = Array.from({ length: 32 }, (_, k) => lit(`,"kind":"${kindName(k)}","name":"`));
const T = {
  open: lit('{"types":['), close: lit(']}\n'), id: lit('{"id":'), anon: lit('(anon)'), invalid: lit('(invalid)'),
  size: lit(',"size":'), bitsOffset: lit(',"bits_offset":'), nrBits: lit(',"nr_bits":'), encoding: lit(',"encoding":"'),
  typeId: lit(',"type_id":'), indexTypeId: lit(',"index_type_id":'), nrElems: lit(',"nr_elems":'), vlen: lit(',"vlen":'),
  members: lit(',"members":['), values: lit(',"values":['), params: lit(',"params":['), vars: lit(',"vars":['),
  name: lit('{"name":"'), memberTypeId: lit('","type_id":'), bitfieldSize: lit(',"bitfield_size":'), val: lit('","val":'),
  fwdStruct: lit(',"fwd_kind":"struct"}'), fwdUnion: lit(',"fwd_kind":"union"}'), linkage: lit(',"linkage":"'),
  retTypeId: lit(',"ret_type_id":'), varTypeId: lit('{"type_id":'), offset: lit(',"offset":'), componentIdx: lit(',"component_idx":'),
  signed: lit(`${enumEncodingName(0x80000000)}"`), unsigned: lit(`${enumEncodingName(0)}"`), endArray: lit(']}'),
};
const INT_ENC = Array.from({ length: 16 }, (_, e) => lit(`${intEncodingName(e)}"}`));
const FUNC_LINKAGE = [0, 1, 2, 3].map((l) => lit(`${funcLinkageName(l)}"}`));
const VAR_LINKAGE = [0, 1, 2, 3].map((l) => lit(`${varLinkageName(l)}"}`));

/**
 * bpftool 7.1's jsonw_puts(): these bytes are escaped (0: written as is), a backslash as
 * the two characters `\n` (its copy of the writer has that typo; see dump-json.ts).
 */
const ESCAPE = new Uint8Array(256);
ESCAPE[0x09] = 0x74; ESCAPE[0x0a] = 0x6e; ESCAPE[0x0d] = 0x72; ESCAPE[0x0c] = 0x66; ESCAPE[0x08] = 0x62;
ESCAPE[0x5c] = 0x6e; ESCAPE[0x22] = 0x22;

/** String sections of the chain, innermost (the BTF's own) first. */
interface StrLayer { from: number; end: number; bytes: Uint8Array; start: number }

const U64 = 1n << 64n;

// The writers take the output array and a position and return the new position: `o`
// and `p` stay in registers (closures over a mutable position were a context load and
// store per byte). Room is made per type before it is written: (vlen + 1) records of
// at most perRecord bytes each (see dumpJsonBytes).

// TypedArray#set, not a byte loop: a builtin call is a single node for TurboFan, where
// each inlined loop made the functions below slower to compile (the first ~20% of a
// vmlinux dump runs before they are), for the same speed once compiled.
function putLit(o: Uint8Array, p: number, b: Uint8Array): number {
  o.set(b, p);
  return p + b.length;
}

const digits = new Uint8Array(24);
/** v: an integer within ±2^53 (u32 and i32 here); most are small ids and offsets. */
function putNum(o: Uint8Array, p: number, v: number): number {
  if (v < 0) { o[p++] = 0x2d; v = -v; }
  if (v < 10) { o[p] = 0x30 + v; return p + 1; }
  if (v < 100) { o[p] = 0x30 + ((v / 10) | 0); o[p + 1] = 0x30 + (v % 10); return p + 2; }
  let i = 0;
  if (v < 0x80000000) {
    do { const q = (v / 10) | 0; digits[i++] = 0x30 + v - q * 10; v = q; } while (v > 0);
  } else {
    do { digits[i++] = 0x30 + (v % 10); v = Math.floor(v / 10); } while (v > 0);
  }
  while (i > 0) o[p++] = digits[--i] as number;
  return p;
}

/** A name's bytes, escaped, without quotes: `(anon)` for 0, `(invalid)` for an offset outside every string section. */
function putName(o: Uint8Array, p: number, layers: readonly StrLayer[], off: number): number {
  if (off === 0) return putLit(o, p, T.anon);
  for (let k = 0; k < layers.length; k++) {
    const L = layers[k] as StrLayer;
    if (off < L.from) continue;
    if (off >= L.end) break;
    const src = L.bytes;
    const lim = L.start + L.end - L.from;
    let j = L.start + off - L.from;
    const p0 = p;
    for (; j < lim; j++) {
      const c = src[j] as number;
      if (c === 0) return p;
      const x = ESCAPE[c] as number;
      if (x === 0) o[p++] = c;
      else { o[p++] = 0x5c; o[p++] = x; }
    }
    // Not NUL-terminated inside its section: what bpftool calls an invalid offset.
    return putLit(o, p0, T.invalid);
  }
  return putLit(o, p, T.invalid);
}

/** The longest string (escaped: twice its length) any name offset can give, plus the fixed text of one record. */
function longestName(layers: readonly StrLayer[]): number {
  let max = 0;
  for (const L of layers) {
    // indexOf finds each NUL natively: a byte loop here was ~6 ms of a vmlinux dump.
    const e = L.start + L.end - L.from;
    for (let j = L.start; j < e;) {
      const z = L.bytes.indexOf(0, j);
      const end = z < 0 || z > e ? e : z;
      if (end - j > max) max = end - j;
      j = end + 1;
    }
  }
  return max;
}

// One function per kind's body, called from the loop below. V8 compiles each on its
// own: with every kind inlined into one loop, TurboFan took ~100 ms (and ~150 ms more for
// the on-stack replacement) to compile it, longer than the loop then ran, while the first
// part of the dump ran unoptimised.

/** STRUCT/UNION after the name: `","size":S,"vlen":V,"members":[...]}`. */
function members(o: Uint8Array, p: number, layers: readonly StrLayer[], w: Uint32Array, m: number, vlen: number, kflag: boolean, size: number): number {
  p = putLit(o, p, T.size); p = putNum(o, p, size); p = putLit(o, p, T.vlen); p = putNum(o, p, vlen); p = putLit(o, p, T.members);
  for (let j = m, e = m + vlen * 3; j < e; j += 3) {
    if (j > m) o[p++] = 0x2c;
    const off = w[j + 2] as number;
    p = putLit(o, p, T.name); p = putName(o, p, layers, w[j] as number); p = putLit(o, p, T.memberTypeId); p = putNum(o, p, w[j + 1] as number);
    p = putLit(o, p, T.bitsOffset); p = putNum(o, p, kflag ? off & 0xffffff : off);
    const bits = kflag ? off >>> 24 : 0;
    if (bits !== 0) { p = putLit(o, p, T.bitfieldSize); p = putNum(o, p, bits); }
    o[p++] = 0x7d;
  }
  return putLit(o, p, T.endArray);
}

/** ENUM after the name. */
function enumValues(o: Uint8Array, p: number, layers: readonly StrLayer[], w: Uint32Array, m: number, vlen: number, kflag: boolean, size: number): number {
  p = putLit(o, p, T.encoding); p = putLit(o, p, kflag ? T.signed : T.unsigned); p = putLit(o, p, T.size); p = putNum(o, p, size);
  p = putLit(o, p, T.vlen); p = putNum(o, p, vlen); p = putLit(o, p, T.values);
  for (let j = m, e = m + vlen * 2; j < e; j += 2) {
    if (j > m) o[p++] = 0x2c;
    const v = w[j + 1] as number;
    p = putLit(o, p, T.name); p = putName(o, p, layers, w[j] as number); p = putLit(o, p, T.val);
    // jsonw_uint_field() gets btf_enum's __s32 widened to u64: an unsigned value with bit
    // 31 set is sign-extended (0x80000000 -> 18446744071562067968), as bpftool prints it.
    if (kflag || v < 0x80000000) p = putNum(o, p, kflag ? v | 0 : v);
    else p = putLit(o, p, enc.encode((U64 + BigInt(v | 0)).toString()));
    o[p++] = 0x7d;
  }
  return putLit(o, p, T.endArray);
}

/** ENUM64 after the name. */
function enum64Values(o: Uint8Array, p: number, layers: readonly StrLayer[], w: Uint32Array, m: number, vlen: number, kflag: boolean, size: number): number {
  p = putLit(o, p, T.encoding); p = putLit(o, p, kflag ? T.signed : T.unsigned); p = putLit(o, p, T.size); p = putNum(o, p, size);
  p = putLit(o, p, T.vlen); p = putNum(o, p, vlen); p = putLit(o, p, T.values);
  for (let j = m, e = m + vlen * 3; j < e; j += 3) {
    if (j > m) o[p++] = 0x2c;
    const u = (BigInt(w[j + 2] as number) << 32n) | BigInt(w[j + 1] as number);
    p = putLit(o, p, T.name); p = putName(o, p, layers, w[j] as number); p = putLit(o, p, T.val);
    p = putLit(o, p, enc.encode((kflag ? BigInt.asIntN(64, u) : u).toString())); o[p++] = 0x7d;
  }
  return putLit(o, p, T.endArray);
}

/** FUNC_PROTO after the name. */
function params(o: Uint8Array, p: number, layers: readonly StrLayer[], w: Uint32Array, m: number, vlen: number, ret: number): number {
  p = putLit(o, p, T.retTypeId); p = putNum(o, p, ret); p = putLit(o, p, T.vlen); p = putNum(o, p, vlen); p = putLit(o, p, T.params);
  for (let j = m, e = m + vlen * 2; j < e; j += 2) {
    if (j > m) o[p++] = 0x2c;
    p = putLit(o, p, T.name); p = putName(o, p, layers, w[j] as number); p = putLit(o, p, T.memberTypeId); p = putNum(o, p, w[j + 1] as number); o[p++] = 0x7d;
  }
  return putLit(o, p, T.endArray);
}

/** DATASEC after the name. */
function vars(o: Uint8Array, p: number, w: Uint32Array, m: number, vlen: number, size: number): number {
  p = putLit(o, p, T.size); p = putNum(o, p, size); p = putLit(o, p, T.vlen); p = putNum(o, p, vlen); p = putLit(o, p, T.vars);
  for (let j = m, e = m + vlen * 3; j < e; j += 3) {
    if (j > m) o[p++] = 0x2c;
    p = putLit(o, p, T.varTypeId); p = putNum(o, p, w[j] as number); p = putLit(o, p, T.offset); p = putNum(o, p, w[j + 1] as number);
    p = putLit(o, p, T.size); p = putNum(o, p, w[j + 2] as number); o[p++] = 0x7d;
  }
  return putLit(o, p, T.endArray);
}

/** INT after the name. */
function intFields(o: Uint8Array, p: number, _l: readonly StrLayer[], w: Uint32Array, m: number, _v: number, _k: boolean, size: number): number {
  const d = w[m] as number;
  p = putLit(o, p, T.size); p = putNum(o, p, size); p = putLit(o, p, T.bitsOffset); p = putNum(o, p, (d >>> 16) & 0xff);
  p = putLit(o, p, T.nrBits); p = putNum(o, p, d & 0xff); p = putLit(o, p, T.encoding);
  return putLit(o, p, INT_ENC[(d >>> 24) & 0x0f] as Uint8Array);
}

/** PTR, CONST, VOLATILE, RESTRICT, TYPEDEF, TYPE_TAG after the name. */
function refFields(o: Uint8Array, p: number, _l: readonly StrLayer[], _w: Uint32Array, _m: number, _v: number, _k: boolean, type: number): number {
  p = putLit(o, p, T.typeId); p = putNum(o, p, type); o[p] = 0x7d;
  return p + 1;
}

/** ARRAY after the name. */
function arrayFields(o: Uint8Array, p: number, _l: readonly StrLayer[], w: Uint32Array, m: number): number {
  p = putLit(o, p, T.typeId); p = putNum(o, p, w[m] as number); p = putLit(o, p, T.indexTypeId); p = putNum(o, p, w[m + 1] as number);
  p = putLit(o, p, T.nrElems); p = putNum(o, p, w[m + 2] as number); o[p] = 0x7d;
  return p + 1;
}

/** FWD after the name. */
function fwdFields(o: Uint8Array, p: number, _l: readonly StrLayer[], _w: Uint32Array, _m: number, _v: number, kflag: boolean): number {
  return putLit(o, p, kflag ? T.fwdUnion : T.fwdStruct);
}

/** FUNC after the name (its vlen is the linkage). */
function funcFields(o: Uint8Array, p: number, _l: readonly StrLayer[], _w: Uint32Array, _m: number, vlen: number, _k: boolean, type: number): number {
  p = putLit(o, p, T.typeId); p = putNum(o, p, type); p = putLit(o, p, T.linkage);
  return putLit(o, p, FUNC_LINKAGE[Math.min(vlen, 3)] as Uint8Array);
}

/** VAR after the name. */
function varFields(o: Uint8Array, p: number, _l: readonly StrLayer[], w: Uint32Array, m: number, _v: number, _k: boolean, type: number): number {
  p = putLit(o, p, T.typeId); p = putNum(o, p, type); p = putLit(o, p, T.linkage);
  return putLit(o, p, VAR_LINKAGE[Math.min(w[m] as number, 3)] as Uint8Array);
}

/** FLOAT after the name. */
function floatFields(o: Uint8Array, p: number, _l: readonly StrLayer[], _w: Uint32Array, _m: number, _v: number, _k: boolean, size: number): number {
  p = putLit(o, p, T.size); p = putNum(o, p, size); o[p] = 0x7d;
  return p + 1;
}

/** DECL_TAG after the name. */
function declTagFields(o: Uint8Array, p: number, _l: readonly StrLayer[], w: Uint32Array, m: number, _v: number, _k: boolean, type: number): number {
  p = putLit(o, p, T.typeId); p = putNum(o, p, type); p = putLit(o, p, T.componentIdx); p = putNum(o, p, (w[m] as number) | 0); o[p] = 0x7d;
  return p + 1;
}

/** DATASEC after the name, in the writers' signature. */
function datasecFields(o: Uint8Array, p: number, _l: readonly StrLayer[], w: Uint32Array, m: number, vlen: number, _k: boolean, size: number): number {
  return vars(o, p, w, m, vlen, size);
}

/** FUNC_PROTO after the name, in the writers' signature. */
function protoFields(o: Uint8Array, p: number, layers: readonly StrLayer[], w: Uint32Array, m: number, vlen: number, _k: boolean, ret: number): number {
  return params(o, p, layers, w, m, vlen, ret);
}

type Writer = (o: Uint8Array, p: number, layers: readonly StrLayer[], w: Uint32Array, m: number, vlen: number, kflag: boolean, sizeOrType: number) => number;

/**
 * The writer of each kind bpftool 7.1 knows (undefined: dumpJson's code). Called through
 * this table, the call site sees a dozen targets and TurboFan inlines none of them: each
 * compiles small and on its own (all inlined into the loop, the loop took ~50 ms to
 * compile, twice, while the dump ran unoptimised).
 */
const WRITERS: (Writer | undefined)[] = [];
WRITERS[BtfKind.Int] = intFields;
for (const k of [BtfKind.Ptr, BtfKind.Const, BtfKind.Volatile, BtfKind.Restrict, BtfKind.Typedef, BtfKind.TypeTag]) WRITERS[k] = refFields;
WRITERS[BtfKind.Array] = arrayFields;
WRITERS[BtfKind.Struct] = members;
WRITERS[BtfKind.Union] = members;
WRITERS[BtfKind.Enum] = enumValues;
WRITERS[BtfKind.Enum64] = enum64Values;
WRITERS[BtfKind.Fwd] = fwdFields;
WRITERS[BtfKind.Func] = funcFields;
WRITERS[BtfKind.FuncProto] = protoFields;
WRITERS[BtfKind.Var] = varFields;
WRITERS[BtfKind.Datasec] = datasecFields;
WRITERS[BtfKind.Float] = floatFields;
WRITERS[BtfKind.DeclTag] = declTagFields;

export function* dumpJsonBytes(btf: Btf): Generator<Uint8Array, void, undefined> {
  if (!HOST_LE || !btf.littleEndian || (btf.base !== undefined && !btf.base.littleEndian)) {
    for (const c of dumpJsonChunks(btf)) yield enc.encode(c);
    return;
  }
  const layers: StrLayer[] = [];
  for (let b: Btf | undefined = btf; b !== undefined; b = b.base) layers.push({ from: b.startStrOff, end: b.startStrOff + b.header.strLen, bytes: b.bytes, start: b.strStart });
  const w = blobWords(btf.bytes);
  const offs = btf.typeOffsets;
  const startId = btf.startId;
  // Bytes one record (a type's head, a member, a value...) can take: its longest name
  // escaped, and fixed text and numbers well under 256 bytes.
  const perRecord = 2 * longestName(layers) + 256;
  let out = new Uint8Array(CHUNK + 64 * perRecord);
  let n = 0;

  // The loop lives in a plain function: V8 does not move a generator's loop into
  // optimised code while it runs (no on-stack replacement), and this one runs ~112k times.
  const fill = (from: number): number => {
    let o = out;
    let p = n;
    let i = from;
    for (; i < offs.length && p <= CHUNK; i++) {
      const r = (offs[i] as number) >>> 2;
      const id = startId + i;
      const info = w[r + 1] as number;
      const kind = infoKind(info);
      const vlen = infoVlen(info);
      const need = (vlen + 1) * perRecord;
      if (p + need > o.length) {
        const grown = new Uint8Array((p + need) * 2);
        grown.set(o.subarray(0, p));
        o = grown;
        out = grown;
      }
      if (i > 0) o[p++] = 0x2c;
      const write = WRITERS[kind];
      if (write === undefined) {
        // Kinds this file does not know: dumpJson's own object for this one type.
        const c = [...dumpJsonChunks(btf, { ids: [id] })].join('');
        const obj = enc.encode(c.slice('{"types":['.length, c.length - ']}\n'.length));
        if (p + obj.length > o.length) { const grown = new Uint8Array((p + obj.length) * 2); grown.set(o.subarray(0, p)); o = grown; out = grown; }
        o.set(obj, p);
        p += obj.length;
        continue;
      }
      // `{"id":N,"kind":"K","name":"NAME"`, then the kind's own fields.
      p = putLit(o, p, T.id); p = putNum(o, p, id); p = putLit(o, p, KIND[kind] as Uint8Array); p = putName(o, p, layers, w[r] as number); o[p++] = 0x22;
      p = write(o, p, layers, w, r + 3, vlen, infoKflag(info), w[r + 2] as number);
    }
    n = p;
    return i;
  };
  n = putLit(out, 0, T.open);
  let i = 0;
  do {
    i = fill(i);
    if (i >= offs.length) n = putLit(out, n, T.close);
    yield out.slice(0, n);
    n = 0;
  } while (i < offs.length);
}
