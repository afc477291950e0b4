/**
 * `bpftool -j btf dump file F [-B base]`, byte for byte as Debian's bpftool 7.1.0
 * prints it: dump_btf_type() driving bpftool's json_writer (a copy of iproute2's)
 * in compact mode. That writer puts no whitespace anywhere, separates with ",",
 * and ends the document with a single "\n" (jsonw_destroy), so the whole dump is
 * `{"types":[...]}\n` on one line.
 *
 * Field order and which fields exist differ from the text form (no VAR comma, no
 * DATASEC variable names), so this is a separate walk rather than a re-rendering
 * of dumpRaw's lines. Objects are collected as strings and joined once.
 */
import { BtfKind, kindName } from './kinds.js';
import { infoKflag, infoVlen, intBits, intEncoding, intOffset, memberBitfieldSize, memberBitOffset } from './wire.js';
import type { BtfType } from './types.js';
import type { Btf } from './btf.js';
import {
  bpftoolName, enum64ValueString, enumEncodingName, funcLinkageName, intEncodingName, varLinkageName,
  type DumpOptions,
} from './dump-raw.js';

export type { DumpOptions } from './dump-raw.js';

// bpftool 7.1's json_writer.c jsonw_puts() escapes exactly these seven characters;
// every other byte, other control characters and non-ASCII included, is written as
// is (names are decoded as UTF-8 here, so valid UTF-8 names give the same bytes).
// bpftool quirk, checked against /usr/sbin/bpftool 7.1: a backslash comes out as
// the two characters `\n` instead of `\\` (a typo in that copy of the writer), so
// it reads back as a newline. Single quotes are not escaped.
const NEEDS_ESCAPE = /[\t\n\r\f\b\\"]/;
const ESCAPES: Readonly<Record<string, string>> = {
  '\t': '\\t', '\n': '\\n', '\r': '\\r', '\f': '\\f', '\b': '\\b', '\\': '\\n', '"': '\\"',
};

/** A JSON string the way bpftool's json_writer writes it (quotes included). */
export function bpftoolJsonString(s: string): string {
  if (!NEEDS_ESCAPE.test(s)) return `"${s}"`;
  let out = '"';
  for (const ch of s) out += ESCAPES[ch] ?? ch;
  return `${out}"`;
}

/**
 * jsonw_uint_field() takes a uint64_t, and bpftool passes btf_enum's `__s32 val`
 * to it unchanged, so an unsigned enum value with bit 31 set is sign-extended
 * (0x80000000 prints as 18446744071562067968) while the text form's %u prints
 * 2147483648. This is what bpftool 7.1 emits, so it is reproduced.
 */
function enumUnsignedJson(raw: number): string {
  const s32 = raw | 0;
  return s32 < 0 ? (BigInt.asUintN(64, BigInt(s32))).toString() : String(s32);
}

function nameField(btf: Btf, nameOff: number): string {
  return `"name":${bpftoolJsonString(bpftoolName(btf, nameOff))}`;
}

function dumpTypeJson(btf: Btf, t: BtfType): string {
  const head = `{"id":${t.id},"kind":"${kindName(t.kind)}",${nameField(btf, t.nameOff)}`;
  switch (t.kind) {
    case BtfKind.Int:
      return `${head},"size":${t.size},"bits_offset":${intOffset(t.intData)},"nr_bits":${intBits(t.intData)},"encoding":"${intEncodingName(intEncoding(t.intData))}"}`;
    case BtfKind.Ptr:
    case BtfKind.Const:
    case BtfKind.Volatile:
    case BtfKind.Restrict:
    case BtfKind.Typedef:
    case BtfKind.TypeTag:
      return `${head},"type_id":${t.type}}`;
    case BtfKind.Array:
      return `${head},"type_id":${t.elemType},"index_type_id":${t.indexType},"nr_elems":${t.nelems}}`;
    case BtfKind.Struct:
    case BtfKind.Union: {
      const kflag = infoKflag(t.info);
      const members = t.members.map((m) => {
        const bitSize = memberBitfieldSize(m.offset, kflag);
        const tail = bitSize !== 0 ? `,"bitfield_size":${bitSize}` : '';
        return `{${nameField(btf, m.nameOff)},"type_id":${m.type},"bits_offset":${memberBitOffset(m.offset, kflag)}${tail}}`;
      });
      return `${head},"size":${t.size},"vlen":${infoVlen(t.info)},"members":[${members.join(',')}]}`;
    }
    case BtfKind.Enum: {
      const signed = infoKflag(t.info);
      const values = t.values.map((v) => `{${nameField(btf, v.nameOff)},"val":${signed ? v.val | 0 : enumUnsignedJson(v.val)}}`);
      return `${head},"encoding":"${enumEncodingName(t.info)}","size":${t.size},"vlen":${infoVlen(t.info)},"values":[${values.join(',')}]}`;
    }
    case BtfKind.Enum64: {
      const signed = infoKflag(t.info);
      const values = t.values.map((v) => `{${nameField(btf, v.nameOff)},"val":${enum64ValueString(v, signed)}}`);
      return `${head},"encoding":"${enumEncodingName(t.info)}","size":${t.size},"vlen":${infoVlen(t.info)},"values":[${values.join(',')}]}`;
    }
    case BtfKind.Fwd:
      return `${head},"fwd_kind":"${infoKflag(t.info) ? 'union' : 'struct'}"}`;
    case BtfKind.Func:
      return `${head},"type_id":${t.type},"linkage":"${funcLinkageName(infoVlen(t.info))}"}`;
    case BtfKind.FuncProto: {
      const params = t.params.map((p) => `{${nameField(btf, p.nameOff)},"type_id":${p.type}}`);
      return `${head},"ret_type_id":${t.type},"vlen":${infoVlen(t.info)},"params":[${params.join(',')}]}`;
    }
    case BtfKind.Var:
      return `${head},"type_id":${t.type},"linkage":"${varLinkageName(t.linkage)}"}`;
    case BtfKind.Datasec: {
      const vars = t.vars.map((v) => `{"type_id":${v.type},"offset":${v.offset},"size":${v.size}}`);
      return `${head},"size":${t.size},"vlen":${infoVlen(t.info)},"vars":[${vars.join(',')}]}`;
    }
    case BtfKind.Float:
      return `${head},"size":${t.size}}`;
    case BtfKind.DeclTag:
      return `${head},"type_id":${t.type},"component_idx":${t.componentIdx}}`;
    case BtfKind.Unkn:
      return `${head}}`;
  }
}

/** Objects per chunk of dumpJsonChunks. */
const CHUNK_TYPES = 2048;

/**
 * The output of `bpftool -j btf dump file F` (format raw), `{"types":[...]}` and a
 * newline, in chunks that concatenate to it (written as they come). Only the BTF's own
 * types unless `opts.ids` says otherwise.
 */
export function* dumpJsonChunks(btf: Btf, opts?: DumpOptions): Generator<string, void, undefined> {
  let objs: string[] = [];
  let first = true;
  const flush = (): string => {
    const text = `${first ? '{"types":[' : ','}${objs.join(',')}`;
    first = false;
    objs = [];
    return text;
  };
  const types = opts?.ids ? opts.ids.map((id) => btf.type(id)) : btf.ownTypes();
  for (const t of types) {
    objs.push(dumpTypeJson(btf, t));
    if (objs.length >= CHUNK_TYPES) yield flush();
  }
  yield `${first || objs.length > 0 ? flush() : ''}]}\n`;
}

/** dumpJsonChunks as one string. */
export function dumpJson(btf: Btf, opts?: DumpOptions): string {
  return [...dumpJsonChunks(btf, opts)].join('');
}
