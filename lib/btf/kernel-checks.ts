/**
 * The checks a kernel applies to a module's BTF when the module loads, exactly as that
 * kernel's kernel/bpf/btf.c runs them in btf_parse_module(): btf_parse_hdr(),
 * btf_parse_str_sec(), btf_check_all_metas() (btf_check_meta() and each kind's
 * check_meta callback) and the modifier-chain walk (btf_check_type_tags() in 6.12,
 * btf_check_modifier_chain_length() in 7.x), for the module's `.BTF` over its base
 * (`.BTF.base`, parsed first by btf_parse_base(), or the running vmlinux) — and nothing
 * else: the resolve pass of user-space BTF (btf_check_all_types) never runs for modules.
 * The first failure ends the parse, as in the kernel, with the kernel's words and errno.
 *
 * validateBtf (validate.ts) is broader and stricter (it checks modbtf's own output with
 * the resolve-phase rules too); this file answers one question: will *this kernel*
 * accept these bytes? Differences between kernel generations are data (KERNEL_CHECKS),
 * read from Debian's linux-source-6.12 6.12.117-1~deb12u1 and linux-source-7.2 7.2.13-1
 * (every function named above is the same in 7.3-rc7).
 *
 * Everything is read from the raw bytes, never through Btf.parse: the kernel judges the
 * header and sections itself, and a module's .BTF over the wrong base is exactly the
 * input this must describe instead of rejecting.
 */
import { Buffer } from 'node:buffer';
import { dataViewOf } from '../bytes.js';
import { BtfFormatError } from '../errors.js';
import type { Btf } from './btf.js';
import { BtfKind, kindName } from './kinds.js';
import { forEachStrField, recordSize } from './fields.js';

/** Which kernel's btf.c a rule set follows. */
export type KernelChecksId = '6.12' | '7';

export interface KernelCheckRules {
  id: KernelChecksId;
  /** sizeof(struct btf_header): 24 before the layout section, 32 with it. */
  headerSize: 24 | 32;
  /** BTF_INFO_KIND / BTF_INFO_VLEN masks of the kernel's UAPI. */
  kindMask: number;
  vlenMask: number;
  /** btf_check_meta(): `t->info & ~BTF_INFO_MASK` is refused (6.12 only). */
  infoMask: number | undefined;
  /** DECL_TAG / TYPE_TAG with kind_flag set (attribute tags) accepted. */
  declTagKflag: boolean;
  typeTagKflag: boolean;
  /** btf_check_type_tags(): "Type tags don't precede modifiers" (6.12). */
  typeTagOrder: boolean;
}

export const KERNEL_CHECKS: Readonly<Record<KernelChecksId, KernelCheckRules>> = {
  '6.12': { id: '6.12', headerSize: 24, kindMask: 0x1f, vlenMask: 0xffff, infoMask: 0x9f00ffff, declTagKflag: false, typeTagKflag: false, typeTagOrder: true },
  '7': { id: '7', headerSize: 32, kindMask: 0x7f, vlenMask: 0xffffff, infoMask: undefined, declTagKflag: true, typeTagKflag: true, typeTagOrder: false },
};

/**
 * The rule set of a kernel version. 7.2 and later have the 7.x UAPI (7-bit kind, 24-bit
 * vlen, layout section) and checks (7.2.13's btf.c); earlier kernels get 6.12's. Kernels
 * between 6.13 and 7.1 were not read: for them the 6.12 rules are an approximation.
 */
export function kernelChecksFor(major: number, minor: number): KernelCheckRules {
  return major > 7 || (major === 7 && minor >= 2) ? KERNEL_CHECKS['7'] : KERNEL_CHECKS['6.12'];
}

const EINVAL = -22;
const E2BIG = -7;
const ELOOP = -40;
const ENOTSUPP = -524;

/** Why the kernel refuses the BTF: the first failure of its parse. */
export interface KernelBtfProblem {
  /** The failure in words: the type (id, kind, name) and the kernel's message. */
  message: string;
  /**
   * The line the kernel logs for it, after `BPF: ` (btf_verifier_log() prints each piece
   * of a type-level message as its own line; this is the piece that says what is wrong).
   */
  logLine: string;
  /** The error btf_parse_module() returns: the module's load fails with it when mismatches are not allowed. */
  errno: number;
  /** btf_parse_hdr/btf_parse_str_sec, btf_check_all_metas, or the modifier-chain walk. */
  phase: 'header' | 'strings' | 'types' | 'modifier-chain';
  /** The BTF the problem is in: the module's `.BTF`, or its `.BTF.base`. */
  blob: '.BTF' | '.BTF.base';
  typeId?: number;
  /** Byte offset in the blob. */
  offset?: number;
  /**
   * Whether the kernel prints the line when CONFIG_MODULE_ALLOW_BTF_MISMATCH is on: the
   * type-level lines (btf_verifier_log_type/_member/_basic) of module BTF are then skipped.
   */
  loggedWhenMismatchAllowed: boolean;
}

/** The parsed shape of a BTF blob as the kernel holds it (struct btf): enough to check a split over it. */
export interface KernelBtfView {
  bytes: Uint8Array;
  littleEndian: boolean;
  /** Ids before this one are the base's (0 for a standalone BTF, whose id 0 is void). */
  startId: number;
  /** btf_nr_types(): every type up to and including this blob's. */
  nrTypes: number;
  startStrOff: number;
  strLen: number;
  /** Offset of the string section in `bytes`. */
  strStart: number;
  /** Offset in `bytes` of each of this blob's records (for a standalone blob, [0] is void: -1). */
  records: Int32Array;
  base: KernelBtfView | undefined;
}

/** A vmlinux (or any standalone) BTF modbtf has parsed, as the kernel's view of it. */
export function kernelViewOf(btf: Btf): KernelBtfView {
  if (btf.base !== undefined) throw new BtfFormatError('BTF_BAD_BASE', 'a kernel\'s vmlinux BTF is standalone; this is split BTF', { ...btf.source });
  const records = new Int32Array(btf.typeOffsets.length + 1);
  records[0] = -1;
  records.set(btf.typeOffsets, 1);
  return {
    bytes: btf.bytes, littleEndian: btf.littleEndian, startId: 0, nrTypes: records.length,
    startStrOff: 0, strLen: btf.header.strLen, strStart: btf.strStart, records, base: undefined,
  };
}

// The kernel's ctype table (lib/ctype.c) for the classes btf.c asks about; the kernel
// builds with -funsigned-char, so bytes >= 0x80 are Latin-1 letters or punctuation.
const ALPHA = 1;
const DIGIT = 2;
const PRINT = 4;
const CTYPE = new Uint8Array(256);
for (let c = 0; c < 256; c++) {
  const upper = (c >= 0x41 && c <= 0x5a) || (c >= 0xc0 && c <= 0xde && c !== 0xd7);
  const lower = (c >= 0x61 && c <= 0x7a) || (c >= 0xdf && c !== 0xf7);
  const digit = c >= 0x30 && c <= 0x39;
  const print = (c >= 0x20 && c <= 0x7e) || c >= 0xa0;
  CTYPE[c] = (upper || lower ? ALPHA : 0) | (digit ? DIGIT : 0) | (print ? PRINT : 0);
}
/** KSYM_NAME_LEN: btf_name_valid_identifier/section refuse names this long or longer. */
const KSYM_NAME_LEN = 512;
const BTF_MAX_TYPE = 0x000fffff;
const BTF_MAX_NAME_OFFSET = 0x00ffffff;

const isModifier = (kind: number): boolean =>
  kind === BtfKind.Typedef || kind === BtfKind.Volatile || kind === BtfKind.Const || kind === BtfKind.Restrict || kind === BtfKind.TypeTag;

/**
 * Checks `bytes` as the kernel parses a module's `.BTF` over `base` (or, without base, as
 * btf_parse_base() parses a `.BTF.base` or vmlinux). `littleEndian` is the kernel's byte
 * order (the kernel reads every field in its own). Returns the first problem, or the view
 * of the accepted blob (to check a split over it).
 */
export function checkBtfAsKernel(
  bytes: Uint8Array,
  opts: { base?: KernelBtfView; littleEndian: boolean; rules: KernelCheckRules; blob?: '.BTF' | '.BTF.base'; mismatchAllowed?: boolean },
): { problem: KernelBtfProblem; view?: undefined } | { problem?: undefined; view: KernelBtfView } {
  const { base, rules } = opts;
  const le = opts.littleEndian;
  const blob = opts.blob ?? (base ? '.BTF' : '.BTF.base');
  const size = bytes.length;
  const dv = dataViewOf(bytes);
  // Type-level lines of module BTF are not printed when mismatches are allowed (btf.c: __btf_verifier_log_type).
  const typeLogged = !(base !== undefined && opts.mismatchAllowed === true);
  const fail = (phase: KernelBtfProblem['phase'], logLine: string, errno: number, at?: { typeId?: number; offset?: number; typeLevel?: boolean; message?: string }): { problem: KernelBtfProblem } => {
    const p: KernelBtfProblem = { message: at?.message ?? logLine, logLine, errno, phase, blob, loggedWhenMismatchAllowed: at?.typeLevel ? typeLogged : true };
    if (at?.typeId !== undefined) p.typeId = at.typeId;
    if (at?.offset !== undefined) p.offset = at.offset;
    return { problem: p };
  };

  // ---- btf_parse_hdr() ----
  if (size < 8) return fail('header', 'hdr_len not found', EINVAL, { offset: 0 });
  const hdrLen = dv.getUint32(4, le);
  if (size < hdrLen) return fail('header', 'btf_header not found', EINVAL, { offset: 4 });
  for (let i = rules.headerSize; i < hdrLen; i++) {
    if (bytes[i] !== 0) return fail('header', 'Unsupported btf_header', E2BIG, { offset: i });
  }
  // The header is copied up to min(hdr_len, sizeof(struct btf_header)); fields past hdr_len read as zero.
  const field = (off: number, width: 1 | 2 | 4): number => {
    if (off + width > Math.min(hdrLen, rules.headerSize)) return 0;
    return width === 1 ? dv.getUint8(off) : width === 2 ? dv.getUint16(off, le) : dv.getUint32(off, le);
  };
  if (field(0, 2) !== 0xeb9f) return fail('header', 'Invalid magic', EINVAL, { offset: 0 });
  if (field(2, 1) !== 1) return fail('header', 'Unsupported version', ENOTSUPP, { offset: 2 });
  if (field(3, 1) !== 0) return fail('header', 'Unsupported flags', ENOTSUPP, { offset: 3 });
  if (!base && size === hdrLen) return fail('header', 'No data', EINVAL, { offset: 4 });
  const typeOff = field(8, 4);
  const typeLen = field(12, 4);
  const strOff = field(16, 4);
  const strLen = field(20, 4);
  const layoutLen = rules.headerSize === 32 ? field(28, 4) : 0;
  // btf_check_sec_info(): the sections, sorted by offset, must tile the data exactly.
  const secs = [{ off: typeOff, len: typeLen }, { off: strOff, len: strLen }];
  if (rules.headerSize === 32 && hdrLen >= 32 && layoutLen !== 0) secs.push({ off: field(24, 4), len: layoutLen });
  secs.sort((a, b) => ((a.off - b.off) | 0) || ((a.len - b.len) | 0));
  const expectedTotal = (size - hdrLen) >>> 0;
  let total = 0;
  for (const s of secs) {
    if (expectedTotal < s.off) return fail('header', 'Invalid section offset', EINVAL, { offset: 8 });
    if (total < s.off) return fail('header', 'Unsupported section found', EINVAL, { offset: 8 });
    if (total > s.off) return fail('header', 'Section overlap found', EINVAL, { offset: 8 });
    if (expectedTotal - total < s.len) return fail('header', 'Total section length too long', EINVAL, { offset: 8 });
    total += s.len;
  }
  if (expectedTotal !== total) return fail('header', 'Unsupported section found', EINVAL, { offset: 8 });

  // ---- btf_parse_str_sec() ----
  const strStart = hdrLen + strOff;
  const strEnd = strStart + strLen;
  const stringsLast = rules.headerSize === 24 || hdrLen < 32;
  if (stringsLast && strEnd !== size) return fail('strings', 'String section is not at the end', EINVAL, { offset: 16 });
  if (!(base && strLen === 0)) {
    if (strLen === 0 || strLen - 1 > BTF_MAX_NAME_OFFSET || bytes[strEnd - 1] !== 0) return fail('strings', 'Invalid string section', EINVAL, { offset: strStart });
    if (!base && bytes[strStart] !== 0) return fail('strings', 'Invalid string section', EINVAL, { offset: strStart });
  }

  const startId = base ? base.nrTypes : 0;
  const startStrOff = base ? base.startStrOff + base.strLen : 0;
  const view: KernelBtfView = {
    bytes, littleEndian: le, startId, nrTypes: startId, startStrOff, strLen, strStart, records: new Int32Array(0), base,
  };

  // Strings across the chain, as btf_name_offset_valid() and btf_str_by_offset() find them.
  const ownerOf = (off: number): KernelBtfView => {
    let b: KernelBtfView = view;
    while (off < b.startStrOff && b.base) b = b.base;
    return b;
  };
  const nameOffsetValid = (off: number): boolean => {
    if (off > BTF_MAX_NAME_OFFSET) return false;
    const b = ownerOf(off);
    return off - b.startStrOff < b.strLen;
  };
  const strAt = (off: number): { b: Uint8Array; p: number } => {
    const o = ownerOf(off);
    return { b: o.bytes, p: o.strStart + (off - o.startStrOff) };
  };
  // btf_name_valid_identifier(): [A-Za-z_.][A-Za-z0-9_.]* (kernel ctype), shorter than KSYM_NAME_LEN.
  const validIdentifier = (off: number): boolean => {
    const { b, p } = strAt(off);
    const first = b[p] as number;
    if (!((CTYPE[first] as number) & ALPHA) && first !== 0x5f && first !== 0x2e) return false;
    let q = p + 1;
    const limit = p + KSYM_NAME_LEN;
    while (b[q] !== 0 && q < limit) {
      const c = b[q] as number;
      if (!((CTYPE[c] as number) & (ALPHA | DIGIT)) && c !== 0x5f && c !== 0x2e) return false;
      q++;
    }
    return b[q] === 0;
  };
  // btf_name_valid_section(): non-empty, printable, shorter than KSYM_NAME_LEN.
  const validSection = (off: number): boolean => {
    const { b, p } = strAt(off);
    if (b[p] === 0) return false;
    let q = p;
    const limit = p + KSYM_NAME_LEN;
    while (b[q] !== 0 && q < limit) {
      if (!((CTYPE[b[q] as number] as number) & PRINT)) return false;
      q++;
    }
    return b[q] === 0;
  };
  const nonEmpty = (off: number): boolean => { const { b, p } = strAt(off); return b[p] !== 0; };
  const nameText = (off: number): string => {
    if (!nameOffsetValid(off)) return '(invalid-name-offset)';
    const { b, p } = strAt(off);
    let q = p;
    while (b[q] !== 0 && q - p < 256) q++;
    return Buffer.from(b.buffer, b.byteOffset + p, q - p).toString('latin1');
  };

  // ---- btf_check_all_metas() ----
  const typesStart = hdrLen + typeOff;
  const typesEnd = typesStart + typeLen;
  const records: number[] = base ? [] : [-1];
  let id = base ? startId : 1;
  let cur = typesStart;
  while (cur < typesEnd) {
    const left = typesEnd - cur;
    if (left < 12) return fail('types', `[${id}] meta_left:${left} meta_needed:12`, EINVAL, { typeId: id, offset: cur });
    const nameOff = dv.getUint32(cur, le);
    const info = dv.getUint32(cur + 4, le);
    const st = dv.getUint32(cur + 8, le);
    if (rules.infoMask !== undefined && (info & ~rules.infoMask) !== 0) {
      return fail('types', `[${id}] Invalid btf_info:${(info >>> 0).toString(16)}`, EINVAL, { typeId: id, offset: cur + 4 });
    }
    const kind = (info >>> 24) & rules.kindMask;
    if (kind > BtfKind.Enum64 || kind === BtfKind.Unkn) return fail('types', `[${id}] Invalid kind:${kind}`, EINVAL, { typeId: id, offset: cur + 4 });
    if (!nameOffsetValid(nameOff)) return fail('types', `[${id}] Invalid name_offset:${nameOff}`, EINVAL, { typeId: id, offset: cur });
    const vlen = info & rules.vlenMask;
    const kflag = info >>> 31 === 1;
    const metaLeft = left - 12;
    const at = cur;
    // btf_verifier_log_type(): "[id] KIND name", the kind's details, then the message, each its own line.
    const typeFail = (msg: string, errno = EINVAL, offset = at): { problem: KernelBtfProblem } =>
      fail('types', msg, errno, { typeId: id, offset, typeLevel: true, message: `[${id}] ${kindName(kind)} '${nameText(nameOff)}': ${msg}` });
    const needs = (n: number): { problem: KernelBtfProblem } | undefined =>
      metaLeft < n ? typeFail(`meta_left:${metaLeft} meta_needed:${n}`) : undefined;
    let extra = 0;
    switch (kind) {
      case BtfKind.Int: {
        const short = needs(4); if (short) return short;
        if (vlen) return typeFail('vlen != 0');
        if (kflag) return typeFail('Invalid btf_info kind_flag');
        const intData = dv.getUint32(cur + 12, le);
        if ((intData & ~0x0fffffff) !== 0) return typeFail(`Invalid int_data:${(intData >>> 0).toString(16)}`, EINVAL, cur + 12);
        const nrBits = (intData & 0xff) + ((intData >>> 16) & 0xff);
        if (nrBits > 128) return typeFail('nr_bits exceeds 128');
        if (Math.ceil(nrBits / 8) > st) return typeFail('nr_bits exceeds type_size');
        const enc = (intData >>> 24) & 0x0f;
        if (enc !== 0 && enc !== 1 && enc !== 2 && enc !== 4) return typeFail('Unsupported encoding', ENOTSUPP);
        extra = 4;
        break;
      }
      case BtfKind.Ptr: case BtfKind.Typedef: case BtfKind.Volatile: case BtfKind.Const: case BtfKind.Restrict: case BtfKind.TypeTag: {
        if (vlen) return typeFail('vlen != 0');
        if (kflag && !(kind === BtfKind.TypeTag && rules.typeTagKflag)) return typeFail('Invalid btf_info kind_flag');
        if (st > BTF_MAX_TYPE) return typeFail('Invalid type_id');
        if (kind === BtfKind.Typedef) {
          if (!nameOff || !validIdentifier(nameOff)) return typeFail('Invalid name');
        } else if (kind === BtfKind.TypeTag) {
          if (!nonEmpty(nameOff)) return typeFail('Invalid name');
        } else if (nameOff) return typeFail('Invalid name');
        break;
      }
      case BtfKind.Array: {
        const short = needs(12); if (short) return short;
        if (nameOff) return typeFail('Invalid name');
        if (vlen) return typeFail('vlen != 0');
        if (kflag) return typeFail('Invalid btf_info kind_flag');
        if (st) return typeFail('size != 0');
        const elem = dv.getUint32(cur + 12, le);
        const index = dv.getUint32(cur + 16, le);
        if (!elem || elem > BTF_MAX_TYPE) return typeFail('Invalid elem');
        if (!index || index > BTF_MAX_TYPE) return typeFail('Invalid index');
        extra = 12;
        break;
      }
      case BtfKind.Struct: case BtfKind.Union: {
        extra = vlen * 12;
        const short = needs(extra); if (short) return short;
        if (nameOff && !validIdentifier(nameOff)) return typeFail('Invalid name');
        let last = 0;
        for (let k = 0; k < vlen; k++) {
          const m = cur + 12 + k * 12;
          const mName = dv.getUint32(m, le);
          const mType = dv.getUint32(m + 4, le);
          const mOff = dv.getUint32(m + 8, le);
          // btf_verifier_log_member(): "\tname type_id=.. bits_offset=..", then the message.
          const memberFail = (msg: string): { problem: KernelBtfProblem } =>
            fail('types', msg, EINVAL, { typeId: id, offset: m, typeLevel: true, message: `[${id}] ${kindName(kind)} '${nameText(nameOff)}' member '${nameText(mName)}' (type_id=${mType}, offset ${mOff}): ${msg}` });
          if (!nameOffsetValid(mName)) return memberFail(`Invalid member name_offset:${mName}`);
          if (mName && !validIdentifier(mName)) return memberFail('Invalid name');
          if (!mType || mType > BTF_MAX_TYPE) return memberFail('Invalid type_id');
          const bitOff = kflag ? mOff & 0xffffff : mOff;
          if (kind === BtfKind.Union && bitOff) return memberFail('Invalid member bits_offset');
          if (last > bitOff) return memberFail('Invalid member bits_offset');
          if (Math.ceil(bitOff / 8) > st) return memberFail('Member bits_offset exceeds its struct size');
          last = bitOff;
        }
        break;
      }
      case BtfKind.Enum: case BtfKind.Enum64: {
        const w = kind === BtfKind.Enum ? 8 : 12;
        extra = vlen * w;
        const short = needs(extra); if (short) return short;
        if (st > 8 || st === 0 || (st & (st - 1)) !== 0) return typeFail('Unexpected size');
        if (nameOff && !validIdentifier(nameOff)) return typeFail('Invalid name');
        for (let k = 0; k < vlen; k++) {
          const e = cur + 12 + k * w;
          const eName = dv.getUint32(e, le);
          // A plain btf_verifier_log(): printed even when mismatches are allowed.
          if (!nameOffsetValid(eName)) return fail('types', `\tInvalid name_offset:${eName}`, EINVAL, { typeId: id, offset: e, message: `[${id}] ${kindName(kind)} '${nameText(nameOff)}': enumerator ${k}: Invalid name_offset:${eName}` });
          if (!eName || !validIdentifier(eName)) return typeFail('Invalid name', EINVAL, e);
        }
        break;
      }
      case BtfKind.Fwd:
        if (vlen) return typeFail('vlen != 0');
        if (st) return typeFail('type != 0');
        if (!nameOff || !validIdentifier(nameOff)) return typeFail('Invalid name');
        break;
      case BtfKind.Func:
        if (!nameOff || !validIdentifier(nameOff)) return typeFail('Invalid name');
        if (vlen > 2) return typeFail('Invalid func linkage');
        if (kflag) return typeFail('Invalid btf_info kind_flag');
        break;
      case BtfKind.FuncProto: {
        extra = vlen * 8;
        const short = needs(extra); if (short) return short;
        if (nameOff) return typeFail('Invalid name');
        if (kflag) return typeFail('Invalid btf_info kind_flag');
        break;
      }
      case BtfKind.Var: {
        const short = needs(4); if (short) return short;
        if (vlen) return typeFail('vlen != 0');
        if (kflag) return typeFail('Invalid btf_info kind_flag');
        if (!nameOff || !validIdentifier(nameOff)) return typeFail('Invalid name');
        if (!st || st > BTF_MAX_TYPE) return typeFail('Invalid type_id');
        const linkage = dv.getUint32(cur + 12, le);
        if (linkage !== 0 && linkage !== 1) return typeFail('Linkage not supported', EINVAL, cur + 12);
        extra = 4;
        break;
      }
      case BtfKind.Datasec: {
        extra = vlen * 12;
        const short = needs(extra); if (short) return short;
        if (!st) return typeFail('size == 0');
        if (kflag) return typeFail('Invalid btf_info kind_flag');
        if (!nameOff || !validSection(nameOff)) return typeFail('Invalid name');
        let lastEnd = 0;
        let sum = 0;
        for (let k = 0; k < vlen; k++) {
          const v = cur + 12 + k * 12;
          const vType = dv.getUint32(v, le);
          const vOff = dv.getUint32(v + 4, le);
          const vSize = dv.getUint32(v + 8, le);
          const vsiFail = (msg: string): { problem: KernelBtfProblem } =>
            fail('types', msg, EINVAL, { typeId: id, offset: v, typeLevel: true, message: `[${id}] ${kindName(kind)} '${nameText(nameOff)}' entry ${k} (type_id=${vType} offset=${vOff} size=${vSize}): ${msg}` });
          if (!vType || vType > BTF_MAX_TYPE) return vsiFail('Invalid type_id');
          if (vOff < lastEnd || vOff >= st) return vsiFail('Invalid offset');
          if (!vSize || vSize > st) return vsiFail('Invalid size');
          lastEnd = vOff + vSize;
          if (lastEnd > st) return vsiFail('Invalid offset+size');
          sum += vSize;
        }
        if (st < sum) return typeFail('Invalid btf_info size');
        break;
      }
      case BtfKind.Float:
        if (vlen) return typeFail('vlen != 0');
        if (kflag) return typeFail('Invalid btf_info kind_flag');
        if (st !== 2 && st !== 4 && st !== 8 && st !== 12 && st !== 16) return typeFail('Invalid type_size');
        break;
      case BtfKind.DeclTag: {
        const short = needs(4); if (short) return short;
        if (!nonEmpty(nameOff)) return typeFail('Invalid value');
        if (vlen) return typeFail('vlen != 0');
        if (kflag && !rules.declTagKflag) return typeFail('Invalid btf_info kind_flag');
        if (dv.getInt32(cur + 12, le) < -1) return typeFail('Invalid component_idx', EINVAL, cur + 12);
        extra = 4;
        break;
      }
      default:
        break;
    }
    records.push(cur);
    cur += 12 + extra;
    id++;
  }
  view.records = Int32Array.from(records);
  view.nrTypes = startId + records.length;

  // ---- the modifier-chain walk (6.12: btf_check_type_tags; 7.x: btf_check_modifier_chain_length) ----
  const typeAt = (tid: number): { v: KernelBtfView; off: number } | undefined => {
    let v: KernelBtfView = view;
    while (tid < v.startId && v.base) v = v.base;
    const i = tid - v.startId;
    if (i < 0 || i >= v.records.length) return undefined;
    return { v, off: v.records[i] as number };
  };
  const kindOf = (t: { v: KernelBtfView; off: number }): number =>
    t.off < 0 ? BtfKind.Unkn : (dataViewOf(t.v.bytes).getUint32(t.off + 4, t.v.littleEndian) >>> 24) & rules.kindMask;
  const refOf = (t: { v: KernelBtfView; off: number }): number => dataViewOf(t.v.bytes).getUint32(t.off + 8, t.v.littleEndian);
  let goodId = (base ? startId : 1) - 1;
  for (let i = base ? startId : 1; i < view.nrTypes; i++) {
    let t = typeAt(i);
    if (!t) return fail('modifier-chain', `[${i}] no such type`, EINVAL, { typeId: i });
    if (!isModifier(kindOf(t))) continue;
    let limit = 32;
    let curId = i;
    let inTags = kindOf(t) === BtfKind.TypeTag;
    while (t && isModifier(kindOf(t))) {
      if (limit-- === 0) return fail('modifier-chain', 'Max chain length or cycle detected', ELOOP, { typeId: i });
      if (rules.typeTagOrder) {
        if (kindOf(t) === BtfKind.TypeTag) {
          if (!inTags) return fail('modifier-chain', "Type tags don't precede modifiers", EINVAL, { typeId: i });
        } else inTags = false;
      }
      if (curId <= goodId) break;
      curId = refOf(t);
      t = typeAt(curId);
      // btf_type_by_id() returns NULL: the walk fails with -EINVAL and logs nothing.
      if (!t) return fail('modifier-chain', '', EINVAL, { typeId: i, message: `[${i}] refers (through modifiers) to type [${curId}], which does not exist (the kernel logs no line for this)` });
    }
    goodId = i;
  }
  return { view };
}

/**
 * Whether split BTF was made over this base, told from its strings: every name it carries
 * (type, member, enumerator, parameter names) starts a string of the base's table or of its
 * own, as it does over the base it was encoded against. Over another vmlinux the offsets land
 * mid-string (its own strings start after a base table of another length, base names moved),
 * whatever the kernel's checks say of them. Not a check the kernel makes: doctor uses it to
 * tell split BTF for another kernel from split BTF for this one. Read from the raw bytes as
 * far as the records can be walked; undefined when the header cannot be read at all.
 */
export function namesStartStrings(bytes: Uint8Array, base: KernelBtfView, rules: KernelCheckRules): boolean | undefined {
  if (bytes.length < 24) return undefined;
  const dv = dataViewOf(bytes);
  const le = base.littleEndian;
  if (dv.getUint16(0, le) !== 0xeb9f) return undefined;
  const hdrLen = dv.getUint32(4, le);
  const typeStart = hdrLen + dv.getUint32(8, le);
  const typeEnd = typeStart + dv.getUint32(12, le);
  const strStart = hdrLen + dv.getUint32(16, le);
  const strLen = dv.getUint32(20, le);
  if (typeEnd > bytes.length || strStart + strLen > bytes.length) return undefined;
  const ownStart = base.startStrOff + base.strLen;
  const starts = (off: number): boolean => {
    if (off === 0) return true;
    if (off >= ownStart) {
      const rel = off - ownStart;
      return rel < strLen && (rel === 0 || bytes[strStart + rel - 1] === 0);
    }
    let v: KernelBtfView = base;
    while (off < v.startStrOff && v.base) v = v.base;
    const rel = off - v.startStrOff;
    return rel < v.strLen && (rel === 0 || v.bytes[v.strStart + rel - 1] === 0);
  };
  for (let at = typeStart; at + 12 <= typeEnd;) {
    const info = dv.getUint32(at + 4, le);
    const kind = (info >>> 24) & rules.kindMask;
    const vlen = info & rules.vlenMask;
    const size = recordSize(kind, vlen);
    if (size < 0 || at + size > typeEnd) break;
    let ok = true;
    forEachStrField(kind, vlen, (pos) => { if (ok && !starts(dv.getUint32(at + pos, le))) ok = false; });
    if (!ok) return false;
    at += size;
  }
  return true;
}

/**
 * The kernel's whole parse of a module's BTF (btf_parse_module() up to, not including,
 * the relocation): `.BTF.base` first when the kernel uses it, then `.BTF` over it or over
 * the running vmlinux.
 */
export function checkModuleBtfAsKernel(
  btf: Uint8Array,
  distilledBase: Uint8Array | undefined,
  vmlinux: KernelBtfView,
  rules: KernelCheckRules,
  mismatchAllowed?: boolean,
): { problem: KernelBtfProblem; base?: undefined; split?: undefined } | { problem?: undefined; base: KernelBtfView; split: KernelBtfView } {
  const le = vmlinux.littleEndian;
  const common = mismatchAllowed === undefined ? { littleEndian: le, rules } : { littleEndian: le, rules, mismatchAllowed };
  let base = vmlinux;
  if (distilledBase !== undefined) {
    const b = checkBtfAsKernel(distilledBase, { ...common, blob: '.BTF.base' });
    if (b.problem) return { problem: b.problem };
    base = b.view;
  }
  const s = checkBtfAsKernel(btf, { ...common, base, blob: '.BTF' });
  if (s.problem) return { problem: s.problem };
  return { base, split: s.view };
}
