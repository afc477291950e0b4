/**
 * `bpftool btf dump file F [-B base]` in its default `format raw`, byte for byte as
 * Debian's bpftool 7.1.0 (libbpf 1.1) prints it (bpftool/src/btf.c, dump_btf_type).
 * The golden dumps in test/fixtures/btf are the authority; the quirks of that version
 * are kept on purpose and marked "bpftool quirk" below, because the point of this
 * output is that it can be diffed against the real tool's.
 *
 * The text comes in chunks of a few thousand lines (dumpRawChunks): vmlinux has 112k
 * types and ~1M output lines (10 MB), which a caller writes as they come instead of
 * holding the whole text (and every line of it) at once. Each type is decoded once.
 */
import { BtfKind, kindName } from './kinds.js';
import { infoKflag, infoVlen, intBits, intEncoding, intOffset, memberBitfieldSize, memberBitOffset } from './wire.js';
import type { BtfEnum64Value, BtfType } from './types.js';
import type { Btf } from './btf.js';

export interface DumpOptions {
  /**
   * Dump exactly these ids, in this order (bpftool's root_type_ids, used for
   * `btf dump map ... key|value`); base ids are allowed. Default: the BTF's own
   * types, i.e. for split BTF the ids from `startId` on, as bpftool does.
   */
  ids?: readonly number[];
}

/** bpftool's btf_str(): offset 0 is "(anon)", an offset outside every string table "(invalid)". */
export function bpftoolName(btf: Btf, off: number): string {
  if (off === 0) return '(anon)';
  return btf.strOrUndefined(off) ?? '(invalid)';
}

/** btf_int_enc_str(): the encoding nibble must hold exactly one flag, else "UNKN". */
export function intEncodingName(encoding: number): string {
  switch (encoding) {
    case 0: return '(none)';
    case 1: return 'SIGNED';
    case 2: return 'CHAR';
    case 4: return 'BOOL';
    default: return 'UNKN';
  }
}

/** btf_func_linkage_str(): FUNC keeps its linkage in vlen. */
export function funcLinkageName(vlen: number): string {
  switch (vlen) {
    case 0: return 'static';
    case 1: return 'global';
    case 2: return 'extern';
    default: return '(unknown)';
  }
}

/** btf_var_linkage_str(): VAR's linkage word (1 is BTF_VAR_GLOBAL_ALLOCATED, printed "global"). */
export function varLinkageName(linkage: number): string {
  switch (linkage) {
    case 0: return 'static';
    case 1: return 'global';
    case 2: return 'extern';
    default: return '(unknown)';
  }
}

/** ENUM/ENUM64 signedness lives in kflag (BTF_KIND_ENUM64 era). */
export function enumEncodingName(info: number): string {
  return infoKflag(info) ? 'SIGNED' : 'UNSIGNED';
}

/** ENUM64 value as bpftool prints it: %lld for signed (kflag), %llu otherwise. */
export function enum64ValueString(v: BtfEnum64Value, signed: boolean): string {
  const u = (BigInt(v.valHi32 >>> 0) << 32n) | BigInt(v.valLo32 >>> 0);
  return (signed ? BigInt.asIntN(64, u) : u).toString();
}

/** Pushes the line(s) bpftool prints for one type; every line ends without "\n". */
function dumpType(btf: Btf, t: BtfType, out: string[]): void {
  let head = `[${t.id}] ${kindName(t.kind)} '${bpftoolName(btf, t.nameOff)}'`;
  switch (t.kind) {
    case BtfKind.Int:
      head += ` size=${t.size} bits_offset=${intOffset(t.intData)} nr_bits=${intBits(t.intData)} encoding=${intEncodingName(intEncoding(t.intData))}`;
      out.push(head);
      return;
    case BtfKind.Ptr:
    case BtfKind.Const:
    case BtfKind.Volatile:
    case BtfKind.Restrict:
    case BtfKind.Typedef:
    case BtfKind.TypeTag:
      out.push(`${head} type_id=${t.type}`);
      return;
    case BtfKind.Array:
      out.push(`${head} type_id=${t.elemType} index_type_id=${t.indexType} nr_elems=${t.nelems}`);
      return;
    case BtfKind.Struct:
    case BtfKind.Union: {
      out.push(`${head} size=${t.size} vlen=${infoVlen(t.info)}`);
      const kflag = infoKflag(t.info);
      for (const m of t.members) {
        const bitSize = memberBitfieldSize(m.offset, kflag);
        // bitfield_size is printed only when non-zero, even with kflag set.
        const tail = bitSize !== 0 ? ` bitfield_size=${bitSize}` : '';
        out.push(`\t'${bpftoolName(btf, m.nameOff)}' type_id=${m.type} bits_offset=${memberBitOffset(m.offset, kflag)}${tail}`);
      }
      return;
    }
    case BtfKind.Enum: {
      out.push(`${head} encoding=${enumEncodingName(t.info)} size=${t.size} vlen=${infoVlen(t.info)}`);
      const signed = infoKflag(t.info);
      for (const v of t.values) {
        // %d of the __s32 for signed enums, %u otherwise.
        out.push(`\t'${bpftoolName(btf, v.nameOff)}' val=${signed ? v.val | 0 : v.val >>> 0}`);
      }
      return;
    }
    case BtfKind.Enum64: {
      out.push(`${head} encoding=${enumEncodingName(t.info)} size=${t.size} vlen=${infoVlen(t.info)}`);
      const signed = infoKflag(t.info);
      const suffix = signed ? 'LL' : 'ULL';
      for (const v of t.values) {
        out.push(`\t'${bpftoolName(btf, v.nameOff)}' val=${enum64ValueString(v, signed)}${suffix}`);
      }
      return;
    }
    case BtfKind.Fwd:
      out.push(`${head} fwd_kind=${infoKflag(t.info) ? 'union' : 'struct'}`);
      return;
    case BtfKind.Func:
      out.push(`${head} type_id=${t.type} linkage=${funcLinkageName(infoVlen(t.info))}`);
      return;
    case BtfKind.FuncProto:
      out.push(`${head} ret_type_id=${t.type} vlen=${infoVlen(t.info)}`);
      for (const p of t.params) out.push(`\t'${bpftoolName(btf, p.nameOff)}' type_id=${p.type}`);
      return;
    case BtfKind.Var:
      // bpftool quirk: VAR alone has a comma after type_id.
      out.push(`${head} type_id=${t.type}, linkage=${varLinkageName(t.linkage)}`);
      return;
    case BtfKind.Datasec: {
      out.push(`${head} size=${t.size} vlen=${infoVlen(t.info)}`);
      for (const v of t.vars) {
        let line = `\ttype_id=${v.type} offset=${v.offset} size=${v.size}`;
        // The text form (not JSON) names the variable; an id past the end is just
        // left unnamed, and id 0 is libbpf's void ("UNKNOWN '(anon)'").
        // Kind and name offset only: the variable itself is decoded when its turn comes.
        if (v.type < btf.typeCount) line += ` (${kindName(btf.kind(v.type))} '${bpftoolName(btf, btf.nameOff(v.type))}')`;
        out.push(line);
      }
      return;
    }
    case BtfKind.Float:
      out.push(`${head} size=${t.size}`);
      return;
    case BtfKind.DeclTag:
      out.push(`${head} type_id=${t.type} component_idx=${t.componentIdx}`);
      return;
    case BtfKind.Unkn:
      out.push(head);
      return;
  }
}

/** Lines per chunk of dumpRawChunks: ~40 KB of text, a few pipe buffers. */
const CHUNK_LINES = 4096;

/**
 * The text of `bpftool btf dump file F` (format raw), in chunks that concatenate to it:
 * one "[id] KIND 'name' ..." line per type plus one tab-indented line per
 * member/value/param/var, each line ending in "\n". Only the BTF's own types unless
 * `opts.ids` says otherwise.
 */
export function* dumpRawChunks(btf: Btf, opts?: DumpOptions): Generator<string, void, undefined> {
  let lines: string[] = [];
  const types = opts?.ids ? opts.ids.map((id) => btf.type(id)) : btf.ownTypes();
  for (const t of types) {
    dumpType(btf, t, lines);
    if (lines.length >= CHUNK_LINES) {
      lines.push('');
      yield lines.join('\n');
      lines = [];
    }
  }
  if (lines.length > 0) {
    lines.push('');
    yield lines.join('\n');
  }
}

/** dumpRawChunks as one string. */
export function dumpRaw(btf: Btf, opts?: DumpOptions): string {
  return [...dumpRawChunks(btf, opts)].join('');
}
