/**
 * BTF loading the way resolve_btfids 6.12 does it through its static libbpf
 * (btf__parse / btf__parse_split): raw BTF first (by magic), else an ELF object's
 * `.BTF` (with its `.BTF.base` as the base when present), then libbpf's sanity
 * check of every type (btf_sanity_check). Failures come back as libbpf's warning
 * lines (the ones its default printer shows) and the errno resolve_btfids passes to
 * strerror(). Input bytes only: reading the file (and its open/read errors) is the
 * caller's business.
 */
import { Btf } from '../btf/btf.js';
import { BtfKind } from '../btf/kinds.js';
import { isModbtfError } from '../errors.js';
import { parseElf, type ElfFile } from '../elf/index.js';
import { relocateBtf } from '../relocate/index.js';
import { BTF_BASE_SECTION, BTF_SECTION } from '../btf/source.js';
import type { BtfType } from '../btf/types.js';
import { BTF_KIND_SLOTS, blobWords, infoKind, infoVlen } from '../btf/wire.js';

/** libbpf's LIBBPF_ERRNO__FORMAT: strerror() prints "Unknown error 4001". */
export const LIBBPF_ERRNO_FORMAT = 4001;

export type LibbpfLoad =
  | { readonly ok: true; readonly btf: Btf }
  /** `lines`: "libbpf: ..." lines printed before the failure; errno: name ('EINVAL') or number. */
  | { readonly ok: false; readonly lines: string[]; readonly errno: string | number };

const fail = (errno: string | number, ...lines: string[]): LibbpfLoad => ({ ok: false, lines, errno });

function hasBtfMagic(bytes: Uint8Array): boolean {
  return bytes.length >= 2 && ((bytes[0] === 0x9f && bytes[1] === 0xeb) || (bytes[0] === 0xeb && bytes[1] === 0x9f));
}

/** libelf's test for an ELF file: magic, known class and data encoding, EI_VERSION 1. */
export function isLibelfElf(bytes: Uint8Array): boolean {
  return bytes.length >= 16 && bytes[0] === 0x7f && bytes[1] === 0x45 && bytes[2] === 0x4c && bytes[3] === 0x46
    && (bytes[4] === 1 || bytes[4] === 2) && (bytes[5] === 1 || bytes[5] === 2) && bytes[6] === 1;
}

/** Which libbpf: the one in 6.12's resolve_btfids (default) or in 7.x's, whose struct btf_header is 32 bytes. */
export interface LibbpfOptions {
  abi?: 6 | 7;
}

/** btf_new(): parse one blob over `base`, then libbpf's sanity check. */
export function libbpfBtfNew(bytes: Uint8Array, base: Btf | undefined, source: { file?: string; section?: string } = {}, opts: LibbpfOptions = {}): LibbpfLoad {
  // Non-native (big-endian) BTF with a header it does not know is refused by libbpf:
  // 6.12's takes exactly 24 bytes, 7.x's anything from 24 on.
  if (bytes.length >= 24 && bytes[0] === 0xeb && bytes[1] === 0x9f) {
    const hdrLen = ((bytes[4] as number) << 24 | (bytes[5] as number) << 16 | (bytes[6] as number) << 8 | (bytes[7] as number)) >>> 0;
    if ((opts.abi ?? 6) === 7 ? hdrLen < 24 : hdrLen !== 24) return fail('ENOTSUP', `libbpf: Can't load BTF with non-native endianness due to unsupported header length ${hdrLen}`);
  }
  let btf: Btf;
  try {
    btf = Btf.parse(bytes, { ...source, ...(base ? { base } : {}) });
  } catch (e: unknown) {
    if (isModbtfError(e) && e.code === 'BTF_TRUNCATED' && e.typeId !== undefined) return fail('EINVAL', `libbpf: BTF type [${e.typeId}] is malformed`);
    if (isModbtfError(e)) return fail('EINVAL');
    throw e;
  }
  // Kinds sized by a layout section: 6.12's libbpf has no layout and fails in
  // btf_type_size() with a debug message only (not printed by default).
  if ((opts.abi ?? 6) === 6 && btf.unknownKindCount > 0) return fail('EINVAL');
  // The raw pass says "no problem" exactly when sanityCheck would; only when it finds
  // one does the decoding pass run, for libbpf's message about the first bad type.
  if (rawSanityOk(btf)) return { ok: true, btf };
  const problem = sanityCheck(btf);
  return problem === undefined ? { ok: true, btf } : fail('EINVAL', problem);
}

/**
 * sanityCheck()'s checks straight on the type records of little-endian BTF whose string
 * sections follow each other (the usual case), with no type decoded: a single run meets
 * vmlinux's ~110k types before V8 has optimised anything, and decoding each one cost
 * ~100 ms there (plus the garbage it leaves). true: sanityCheck finds nothing; false:
 * it may find something (or the BTF is not in that shape), so ask it.
 */
function rawSanityOk(btf: Btf): boolean {
  if (!btf.littleEndian || !HOST_LE) return false;
  for (let b: Btf | undefined = btf; b?.base !== undefined; b = b.base) {
    if (b.startStrOff !== b.base.startStrOff + b.base.header.strLen || !b.base.littleEndian) return false;
  }
  const strEnd = btf.startStrOff + btf.header.strLen; // a name offset is valid iff below this
  const n = btf.typeCount;
  const start = btf.startId;
  const bytes = btf.bytes;
  // Type records are 4-byte aligned within the blob: read them as host (little-endian) words.
  const w = blobWords(bytes);
  const offs = btf.typeOffsets;
  // Literal case labels on a shape class: in a one-shot run this loop starts out in the
  // interpreter, where each `case BtfKind.X` is a property load per comparison.
  for (let i = 0; i < offs.length; i++) {
    const r = (offs[i] as number) >>> 2;
    if ((w[r] as number) >= strEnd) return false;
    const info = w[r + 1] as number;
    const vlen = infoVlen(info);
    const m = r + 3;
    switch (SHAPE[infoKind(info)]) {
      case 0: break; // INT, FWD, FLOAT: nothing referenced
      case 1: // PTR, TYPEDEF, VOLATILE, CONST, RESTRICT, VAR, DECL_TAG, TYPE_TAG
        if ((w[r + 2] as number) >= n) return false;
        break;
      case 2: // ARRAY
        if ((w[m] as number) >= n || (w[m + 1] as number) >= n) return false;
        break;
      case 3: // STRUCT, UNION
        for (let j = m, e = m + vlen * 3; j < e; j += 3) if ((w[j] as number) >= strEnd || (w[j + 1] as number) >= n) return false;
        break;
      case 4: // ENUM
        for (let j = m, e = m + vlen * 2; j < e; j += 2) if ((w[j] as number) >= strEnd) return false;
        break;
      case 5: // ENUM64
        for (let j = m, e = m + vlen * 3; j < e; j += 3) if ((w[j] as number) >= strEnd) return false;
        break;
      case 6: { // FUNC: a FUNC_PROTO
        const to = w[r + 2] as number;
        if (to >= n) return false;
        const k = to >= start ? infoKind(w[((offs[to - start] as number) >>> 2) + 1] as number) : btf.kind(to);
        if (k !== FUNC_PROTO) return false;
        break;
      }
      case 7: // FUNC_PROTO
        for (let j = m, e = m + vlen * 2; j < e; j += 2) if ((w[j] as number) >= strEnd || (w[j + 1] as number) >= n) return false;
        break;
      case 8: // DATASEC
        for (let j = m, e = m + vlen * 3; j < e; j += 3) if ((w[j] as number) >= n) return false;
        break;
      default:
        return false;
    }
  }
  return true;
}

const FUNC_PROTO: number = BtfKind.FuncProto;
/** rawSanityOk's shape class of each kind (9: not a kind sanityCheck knows). */
const SHAPE = ((): Uint8Array => {
  const t = new Uint8Array(BTF_KIND_SLOTS).fill(9);
  const set = (c: number, ...kinds: BtfKind[]): void => { for (const k of kinds) t[k] = c; };
  set(0, BtfKind.Int, BtfKind.Fwd, BtfKind.Float);
  set(1, BtfKind.Ptr, BtfKind.Typedef, BtfKind.Volatile, BtfKind.Const, BtfKind.Restrict, BtfKind.Var, BtfKind.DeclTag, BtfKind.TypeTag);
  set(2, BtfKind.Array);
  set(3, BtfKind.Struct, BtfKind.Union);
  set(4, BtfKind.Enum);
  set(5, BtfKind.Enum64);
  set(6, BtfKind.Func);
  set(7, BtfKind.FuncProto);
  set(8, BtfKind.Datasec);
  return t;
})();

const HOST_LE = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/** libbpf btf_sanity_check(): the first problem as libbpf prints it. */
function sanityCheck(btf: Btf): string | undefined {
  const n = btf.typeCount;
  const str = (off: number, what: string, id: number): string | undefined =>
    validStr(btf, off) ? undefined : `libbpf: btf: type [${id}]: invalid ${what} (string offset ${off})`;
  const ref = (to: number, id: number): string | undefined =>
    to < n ? undefined : `libbpf: btf: type [${id}]: invalid referenced type ID ${to}`;
  for (let id = btf.startId; id < n; id++) {
    const t: BtfType = btf.type(id);
    const p = str(t.nameOff, 'type name', id);
    if (p) return p;
    switch (t.kind) {
      case BtfKind.Int: case BtfKind.Fwd: case BtfKind.Float: break;
      case BtfKind.Ptr: case BtfKind.Typedef: case BtfKind.Volatile: case BtfKind.Const:
      case BtfKind.Restrict: case BtfKind.Var: case BtfKind.DeclTag: case BtfKind.TypeTag: {
        const q = ref(t.type, id);
        if (q) return q;
        break;
      }
      case BtfKind.Array: {
        const q = ref(t.elemType, id) ?? ref(t.indexType, id);
        if (q) return q;
        break;
      }
      case BtfKind.Struct: case BtfKind.Union:
        for (const m of t.members) {
          const q = str(m.nameOff, 'field name', id) ?? ref(m.type, id);
          if (q) return q;
        }
        break;
      case BtfKind.Enum: case BtfKind.Enum64:
        for (const v of t.values) {
          const q = str(v.nameOff, 'enum name', id);
          if (q) return q;
        }
        break;
      case BtfKind.Func: {
        const q = ref(t.type, id);
        if (q) return q;
        if (btf.kind(t.type) !== BtfKind.FuncProto) return `libbpf: btf: type [${id}]: referenced type [${t.type}] is not FUNC_PROTO`;
        break;
      }
      case BtfKind.FuncProto:
        for (const m of t.params) {
          const q = str(m.nameOff, 'param name', id) ?? ref(m.type, id);
          if (q) return q;
        }
        break;
      case BtfKind.Datasec:
        for (const v of t.vars) {
          const q = ref(v.type, id);
          if (q) return q;
        }
        break;
      case BtfKind.Unkn:
        // Kind 0 (btf_validate_type lets it pass) or a kind the layout section sized (the
        // parse refused it otherwise; libbpf 1.8 lets it pass too).
        break;
    }
  }
  return undefined;
}

/** btf__str_by_offset() != NULL: the offset lies inside some string section of the chain. */
function validStr(btf: Btf, off: number): boolean {
  for (let b: Btf | undefined = btf; b !== undefined; b = b.base) {
    if (off >= b.startStrOff) return off - b.startStrOff < b.header.strLen;
  }
  return false;
}

/**
 * btf_parse(path, base): the contents of one file. `elf` may be passed when the bytes
 * were already parsed. `path` only appears in libbpf's messages.
 */
export function libbpfParseFile(bytes: Uint8Array, path: string, base: Btf | undefined, elf?: ElfFile, opts: LibbpfOptions = {}): LibbpfLoad {
  if (bytes.length < 2) return fail('EIO');
  if (hasBtfMagic(bytes)) return libbpfBtfNew(bytes, base, { file: path }, opts);
  if (!isLibelfElf(bytes)) return fail(LIBBPF_ERRNO_FORMAT, `libbpf: failed to get EHDR from ${path}`);
  let obj = elf;
  if (obj === undefined) {
    try {
      obj = parseElf(bytes, { file: path });
    } catch {
      return fail(LIBBPF_ERRNO_FORMAT, `libbpf: failed to open ${path} as ELF file`);
    }
  }
  let btfSec;
  let baseSec;
  for (const s of obj.sections) {
    if (s.index === 0) continue;
    if (s.name === BTF_SECTION) btfSec = s;
    else if (s.name === BTF_BASE_SECTION) baseSec = s;
  }
  if (btfSec === undefined) return fail('ENODATA', `libbpf: failed to find '${BTF_SECTION}' ELF section in ${path}`);
  let distBase: Btf | undefined;
  if (baseSec !== undefined) {
    const r = libbpfBtfNew(obj.sectionData(baseSec), undefined, { file: path, section: BTF_BASE_SECTION }, opts);
    if (!r.ok) return r;
    distBase = r.btf;
  }
  const r = libbpfBtfNew(obj.sectionData(btfSec), distBase ?? base, { file: path, section: BTF_SECTION }, opts);
  if (!r.ok || distBase === undefined || base === undefined) return r;
  // A distilled object given a base: libbpf relocates the split onto it.
  try {
    return { ok: true, btf: relocateBtf(distBase, r.btf, base).btf };
  } catch {
    return fail('EINVAL');
  }
}
