/**
 * The checks the kernel applies when it loads BTF (kernel/bpf/btf.c: btf_parse_hdr,
 * btf_check_sec_info, btf_parse_str_sec, btf_parse_layout_sec, btf_check_meta and the
 * per-kind check_meta/resolve callbacks), with the kernel's words for each failure. A
 * module whose BTF fails here would be rejected at load, so modbtf checks its own output
 * with the same rules — those of the kernel the BTF is for (`kernel`):
 *
 *  - 6 (kernels 6.x; read from 6.12): struct btf_header is 24 bytes, so any non-zero
 *    header byte past 24 is refused ("Unsupported btf_header"); the sections are types and
 *    strings; btf_check_meta refuses info bits outside kflag, kind bits 24..28 and vlen
 *    bits 0..15 ("Invalid btf_info": bits 16..23 and 29..30).
 *  - 7 (kernels 7.x; read from 7.3, whose UAPI 7.2.13's own BTF shows too): the header is
 *    32 bytes with layout_off/layout_len, the layout section counts among the sections
 *    (aligned, whole entries, no gap or overlap), a header shorter than 32 bytes must end
 *    with the strings; every info bit is used (7-bit kind, 24-bit vlen), so only a kind
 *    of 0 or past BTF_KIND_MAX is refused ("Invalid kind"). The kernel never sizes
 *    unknown kinds by the layout section: they are refused like any invalid kind.
 *
 * Every problem is collected (up to `limit`) with the type id and the byte offset
 * of the record inside the BTF blob. The records are read in place (no BtfType
 * objects, no decoded strings, no closures per type): vmlinux validates in ~16 ms.
 */
import { BtfValidationError } from '../errors.js';
import { dataViewOf } from '../bytes.js';
import type { Btf } from './btf.js';
import { BtfKind, kindName, BTF_KIND_MAX, BTF_INT_SIGNED, BTF_INT_CHAR, BTF_INT_BOOL } from './kinds.js';
import { BTF_HEADER_LAYOUT, BTF_HEADER_MIN, BTF_INFO_MASK_6X, BTF_LAYOUT_ENTRY, BTF_MAX_NAME_OFFSET, infoKind, infoVlen } from './wire.js';
import { forEachIdField, forEachStrField } from './fields.js';

export interface ValidateOptions {
  limit?: number;
  /** Whose checks: kernels 6.x (6, the default) or 7.x (7). See above. */
  kernel?: 6 | 7;
}

const BTF_INT_MASK = 0x0f00ffff;

// Character classes for C identifiers (IDENT) and section-like names (DOTTED).
const HEAD = new Uint8Array(256);
const TAIL = new Uint8Array(256);
for (let c = 0; c < 256; c++) {
  const alpha = (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a) || c === 0x5f;
  const digit = c >= 0x30 && c <= 0x39;
  // bit 0: IDENT, bit 1: DOTTED
  HEAD[c] = (alpha ? 3 : 0) | (c === 0x2e ? 2 : 0);
  TAIL[c] = (alpha || digit ? 3 : 0) | (c === 0x2e ? 2 : 0);
}
const IDENT = 1;
const DOTTED = 2;

export function validateBtf(btf: Btf, opts: ValidateOptions = {}): BtfValidationError[] {
  const limit = opts.limit ?? 100;
  const problems: BtfValidationError[] = [];
  const src = btf.source;
  const report = (code: string, message: string, typeId?: number, offset?: number): void => {
    if (problems.length >= limit) return;
    const ctx: { file?: string; section?: string; typeId?: number; offset?: number } = { ...src };
    if (typeId !== undefined) ctx.typeId = typeId;
    if (offset !== undefined) ctx.offset = offset;
    problems.push(new BtfValidationError(code, message, ctx));
  };

  const rules7 = opts.kernel === 7;
  const h = btf.header;
  // btf_parse_hdr: the header bytes past the kernel's struct btf_header must be zero.
  const known = rules7 ? BTF_HEADER_LAYOUT : BTF_HEADER_MIN;
  for (let i = known; i < h.hdrLen; i++) {
    if (h.extra[i - BTF_HEADER_MIN] !== 0) { report('BTF_BAD_HEADER', `Unsupported btf_header: non-zero byte at header offset ${i} (the kernel's header is ${known} bytes)`, undefined, i); break; }
  }
  const withLayout = rules7 && h.hdrLen >= BTF_HEADER_LAYOUT && h.layoutLen !== 0;
  checkSections(withLayout);
  if (rules7 && h.hdrLen < BTF_HEADER_LAYOUT && h.hdrLen + h.strOff + h.strLen !== btf.bytes.length) {
    report('BTF_BAD_LAYOUT', `String section is not at the end (strings at ${h.strOff} + ${h.strLen}, data size ${btf.bytes.length - h.hdrLen})`, undefined, 16);
  }
  if (withLayout) {
    // btf_parse_layout_sec.
    if (h.layoutOff % 4 !== 0) report('BTF_BAD_LAYOUT', `Unaligned layout_off ${h.layoutOff}`, undefined, 24);
    else if (h.layoutLen < BTF_LAYOUT_ENTRY) report('BTF_BAD_LAYOUT', `Layout section is too small (${h.layoutLen} bytes)`, undefined, 28);
    else if (h.layoutLen % BTF_LAYOUT_ENTRY !== 0) report('BTF_BAD_LAYOUT', `layout_len is not multiple of ${BTF_LAYOUT_ENTRY} (${h.layoutLen})`, undefined, 28);
    else if (h.hdrLen + h.layoutOff + h.layoutLen > btf.bytes.length) report('BTF_BAD_LAYOUT', `Layout section is too big (${h.layoutOff} + ${h.layoutLen}, data size ${btf.bytes.length - h.hdrLen})`, undefined, 28);
  }
  const totalStrLen = btf.totalStrLen;
  if (totalStrLen - 1 > BTF_MAX_NAME_OFFSET) report('BTF_BAD_STRINGS', `string section of ${totalStrLen} bytes exceeds the maximum`, undefined, btf.strStart);

  const typeCount = btf.typeCount;
  const startId = btf.startId;
  const offsets = btf.typeOffsets;
  const le = btf.littleEndian;
  const dv = dataViewOf(btf.bytes);

  // Every string of every table in the chain ends with NUL (Btf.parse checks the last
  // byte), so an offset names a string exactly when it is below totalStrLen.
  const chain: Btf[] = [];
  for (let b: Btf | undefined = btf; b; b = b.base) chain.push(b);
  /** Bit set of IDENT/DOTTED for the name at `off` (0 for an invalid offset or ""). */
  const nameClass = (off: number): number => {
    if (off >= totalStrLen) return 0;
    let b = chain[0] as Btf;
    for (let i = 1; off < b.startStrOff; i++) b = chain[i] as Btf;
    const bytes = b.bytes;
    let p = b.strStart + (off - b.startStrOff);
    let cls = HEAD[bytes[p] as number] as number;
    while (cls !== 0) {
      const c = bytes[++p] as number;
      if (c === 0) return cls;
      cls &= TAIL[c] as number;
    }
    return 0;
  };
  /** True when the string at `off` exists and is non-empty. */
  const nonEmpty = (off: number): boolean => {
    if (off >= totalStrLen) return false;
    let b = chain[0] as Btf;
    for (let i = 1; off < b.startStrOff; i++) b = chain[i] as Btf;
    return b.bytes[b.strStart + (off - b.startStrOff)] !== 0;
  };

  // The type being checked, for the helpers below (no closures per type).
  let curId = 0;
  let curOff = 0;
  let curVlen = 0;
  let curKflag = false;
  let curName = 0;
  const bad = (message: string, at: number): void => report('BTF_INVALID_TYPE', message, curId, at);
  const noVlen = (): void => { if (curVlen !== 0) bad('vlen != 0', curOff); };
  const noKflag = (): void => { if (curKflag) bad('Invalid btf_info kind_flag', curOff); };
  const requireName = (cls: number): void => { if ((nameClass(curName) & cls) === 0) bad('Invalid name', curOff); };
  const requireNoName = (): void => { if (curName !== 0) bad('Invalid name', curOff); };
  const optionalName = (): void => { if (curName !== 0 && (nameClass(curName) & IDENT) === 0) bad('Invalid name', curOff); };

  for (let i = 0; i < offsets.length; i++) {
    if (problems.length >= limit) break;
    checkType(startId + i, offsets[i] as number);
  }
  if (problems.length < limit) checkLoops();
  return problems;

  /**
   * btf_check_sec_info(): the sections (types, strings, and for 7.x a layout section)
   * sorted by offset must tile the data after the header exactly.
   */
  function checkSections(layoutToo: boolean): void {
    const secs = [{ name: 'type', off: h.typeOff, len: h.typeLen }, { name: 'string', off: h.strOff, len: h.strLen }];
    if (layoutToo) secs.push({ name: 'layout', off: h.layoutOff, len: h.layoutLen });
    secs.sort((x, y) => x.off - y.off || x.len - y.len);
    const expectedTotal = btf.bytes.length - h.hdrLen;
    let total = 0;
    for (const sec of secs) {
      const where = `${sec.name} section at ${sec.off} + ${sec.len}`;
      if (expectedTotal < sec.off) { report('BTF_BAD_LAYOUT', `Invalid section offset: ${where}, data size ${expectedTotal}`, undefined, 8); return; }
      if (total < sec.off) { report('BTF_BAD_LAYOUT', `Unsupported section found: ${sec.off - total} bytes before the ${where}`, undefined, 8); return; }
      if (total > sec.off) { report('BTF_BAD_LAYOUT', `Section overlap found: ${where} starts before ${total}`, undefined, 8); return; }
      if (expectedTotal - total < sec.len) { report('BTF_BAD_LAYOUT', `Total section length too long: ${where}, data size ${expectedTotal}`, undefined, 8); return; }
      total += sec.len;
    }
    if (total !== expectedTotal) report('BTF_BAD_LAYOUT', `Unsupported section found: ${expectedTotal - total} bytes after the last section`, undefined, 8);
  }

  function checkType(id: number, off: number): void {
    const info = dv.getUint32(off + 4, le);
    if (!rules7 && (info & ~BTF_INFO_MASK_6X) >>> 0 !== 0) { report('BTF_INVALID_TYPE', `Invalid btf_info:${(info >>> 0).toString(16)}`, id, off + 4); return; }
    const kind = infoKind(info);
    if (kind === BtfKind.Unkn || kind > BTF_KIND_MAX) { report('BTF_INVALID_TYPE', `Invalid kind:${kind}`, id, off + 4); return; }
    const vlen = infoVlen(info);
    const kflag = info >>> 31 === 1;
    const nameOff = dv.getUint32(off, le);
    const st = dv.getUint32(off + 8, le);
    curId = id; curOff = off; curVlen = vlen; curKflag = kflag; curName = nameOff;

    // String and type references, in fields.ts order.
    forEachStrField(kind, vlen, (pos) => {
      const s = dv.getUint32(off + pos, le);
      if (s >= totalStrLen) bad(`Invalid name_offset:${s}`, off);
    });
    if (kind !== BtfKind.Fwd) {
      forEachIdField(kind, vlen, (pos) => {
        const r = dv.getUint32(off + pos, le);
        if (r >= typeCount) bad(`Invalid type_id ${r}`, off);
      });
    }

    switch (kind) {
      case BtfKind.Int: {
        noVlen(); noKflag();
        const intData = dv.getUint32(off + 12, le);
        if ((intData & ~BTF_INT_MASK) >>> 0 !== 0) bad(`Invalid int_data:${intData.toString(16)}`, off + 12);
        const bits = intData & 0xff;
        if (bits > 128) bad('nr_bits exceeds 128', off);
        if (((intData >>> 16) & 0xff) + bits > st * 8) bad('nr_bits exceeds type_size', off);
        if (st !== 1 && st !== 2 && st !== 4 && st !== 8 && st !== 16) bad(`Invalid type_size ${st}`, off);
        const enc = (intData >>> 24) & 0x0f;
        if (enc !== 0 && enc !== BTF_INT_SIGNED && enc !== BTF_INT_CHAR && enc !== BTF_INT_BOOL) bad('Unsupported encoding', off);
        return;
      }
      case BtfKind.Ptr: case BtfKind.Volatile: case BtfKind.Const: case BtfKind.Restrict:
        noVlen(); noKflag(); requireNoName();
        return;
      case BtfKind.Typedef:
        noVlen(); noKflag(); requireName(IDENT);
        return;
      case BtfKind.TypeTag:
        noVlen(); if (!nonEmpty(nameOff)) bad('Invalid name', off);
        return;
      case BtfKind.Array:
        noVlen(); noKflag(); requireNoName();
        if (st !== 0) bad('size != 0', off);
        return;
      case BtfKind.Struct: case BtfKind.Union: {
        optionalName();
        const isUnion = kind === BtfKind.Union;
        for (let k = 0; k < vlen; k++) {
          const at = off + 12 + k * 12;
          const mName = dv.getUint32(at, le);
          const mType = dv.getUint32(at + 4, le);
          const mOff = dv.getUint32(at + 8, le);
          if (mName !== 0 && (nameClass(mName) & IDENT) === 0) bad('Invalid member name', at);
          const bitOff = kflag ? mOff & 0xffffff : mOff;
          const bitSize = kflag ? mOff >>> 24 : 0;
          if (isUnion && bitOff !== 0) bad('Invalid member bits_offset', at);
          if (Math.floor(bitOff / 8) > st) bad('Member bits_offset exceeds its struct size', at);
          if (bitSize === 0 && !kflag && bitOff % 8 !== 0 && mType < typeCount && btf.kind(mType) !== BtfKind.Int) bad('Member is not byte aligned', at);
        }
        return;
      }
      case BtfKind.Enum: case BtfKind.Enum64: {
        optionalName();
        if (st !== 1 && st !== 2 && st !== 4 && st !== 8) bad(`Unexpected size ${st}`, off);
        const w = kind === BtfKind.Enum ? 8 : 12;
        for (let k = 0; k < vlen; k++) {
          const at = off + 12 + k * w;
          if ((nameClass(dv.getUint32(at, le)) & IDENT) === 0) bad('Invalid name', at);
        }
        return;
      }
      case BtfKind.Fwd:
        noVlen(); requireName(IDENT);
        if (st !== 0) bad('type != 0', off);
        return;
      case BtfKind.Func:
        noKflag(); requireName(IDENT);
        // btf_func_check_meta: static or global only (BTF_FUNC_EXTERN is for BPF objects).
        if (vlen > 1) bad(`Invalid func linkage ${vlen}`, off);
        if (st < typeCount && st !== 0 && btf.kind(st) !== BtfKind.FuncProto) bad(`Invalid type_id: FUNC must refer to a FUNC_PROTO, not ${kindName(btf.kind(st))}`, off);
        return;
      case BtfKind.FuncProto:
        noKflag(); requireNoName();
        for (let k = 0; k < vlen; k++) {
          const at = off + 12 + k * 8;
          const pName = dv.getUint32(at, le);
          const pType = dv.getUint32(at + 4, le);
          if (pType === 0 && !(k === vlen - 1 && pName === 0)) bad(`Invalid arg#${k + 1}`, at);
          if (pName !== 0 && (nameClass(pName) & IDENT) === 0) bad(`Invalid arg#${k + 1}`, at);
        }
        return;
      case BtfKind.Var: {
        noVlen(); noKflag(); requireName(DOTTED);
        const linkage = dv.getUint32(off + 12, le);
        // btf_var_check_meta: BTF_VAR_STATIC or BTF_VAR_GLOBAL_ALLOCATED, never extern.
        if (linkage > 1) bad(`Linkage not supported ${linkage}`, off + 12);
        return;
      }
      case BtfKind.Datasec: {
        noKflag(); if (!nonEmpty(nameOff)) bad('Invalid name', off);
        let lastEnd = 0;
        for (let k = 0; k < vlen; k++) {
          const at = off + 12 + k * 12;
          const vType = dv.getUint32(at, le);
          const vOff = dv.getUint32(at + 4, le);
          const vSize = dv.getUint32(at + 8, le);
          if (vType < typeCount && vType !== 0 && btf.kind(vType) !== BtfKind.Var) bad('Not a VAR kind member', at);
          if (vOff < lastEnd || vOff + vSize > st) bad('Invalid offset+size', at);
          lastEnd = vOff + vSize;
        }
        return;
      }
      case BtfKind.Float:
        noVlen(); noKflag();
        if (st !== 2 && st !== 4 && st !== 8 && st !== 12 && st !== 16) bad(`Invalid type_size ${st}`, off);
        return;
      case BtfKind.DeclTag: {
        noVlen(); noKflag(); if (!nonEmpty(nameOff)) bad('Invalid name', off);
        const componentIdx = dv.getInt32(off + 12, le);
        if (componentIdx < -1) bad(`Invalid component_idx ${componentIdx}`, off + 12);
        return;
      }
      default:
        return;
    }
  }

  /** Same traversal as the original (roots in id order, edges last-first), without allocations per node. */
  function checkLoops(): void {
    const n = typeCount - startId;
    const state = new Uint8Array(n);
    const own = (r: number): boolean => r >= startId && r < typeCount;
    // Each edge is a u32 of the type section, so typeLen/4 bounds the edge pool.
    const pool = new Uint32Array((btf.header.typeLen >>> 2) + 1);
    let poolLen = 0;
    const frameId = new Uint32Array(n);
    const frameLo = new Uint32Array(n);
    const frameCur = new Uint32Array(n);
    let depth = 0;
    const pushEdges = (id: number): void => {
      const off = offsets[id - startId] as number;
      const info = dv.getUint32(off + 4, le);
      const kind = infoKind(info);
      const vlen = infoVlen(info);
      switch (kind) {
        case BtfKind.Typedef: case BtfKind.Volatile: case BtfKind.Const: case BtfKind.Restrict: case BtfKind.TypeTag:
        case BtfKind.Var: case BtfKind.DeclTag: {
          const r = dv.getUint32(off + 8, le);
          if (own(r)) pool[poolLen++] = r;
          return;
        }
        case BtfKind.Array: {
          const e = dv.getUint32(off + 12, le);
          const x = dv.getUint32(off + 16, le);
          if (own(e)) pool[poolLen++] = e;
          else if (own(x)) pool[poolLen++] = x;
          return;
        }
        case BtfKind.Struct: case BtfKind.Union:
          for (let k = 0; k < vlen; k++) { const r = dv.getUint32(off + 16 + k * 12, le); if (own(r)) pool[poolLen++] = r; }
          return;
        case BtfKind.Datasec:
          for (let k = 0; k < vlen; k++) { const r = dv.getUint32(off + 12 + k * 12, le); if (own(r)) pool[poolLen++] = r; }
          return;
        default:
          return;
      }
    };
    const enter = (id: number): void => {
      state[id - startId] = 1;
      frameId[depth] = id;
      frameLo[depth] = poolLen;
      pushEdges(id);
      frameCur[depth] = poolLen;
      depth++;
    };
    for (let root = 0; root < n; root++) {
      if (state[root] !== 0) continue;
      enter(root + startId);
      while (depth > 0) {
        const top = depth - 1;
        const cur = frameCur[top] as number;
        if (cur > (frameLo[top] as number)) {
          frameCur[top] = cur - 1;
          const next = pool[cur - 1] as number;
          const s = state[next - startId];
          if (s === 1) { report('BTF_LOOP', 'Loop detected', next, offsets[next - startId]); return; }
          if (s === 0) enter(next);
        } else {
          state[(frameId[top] as number) - startId] = 2;
          poolLen = frameLo[top] as number;
          depth--;
        }
      }
    }
  }
}

export function assertValidBtf(btf: Btf, opts: Omit<ValidateOptions, 'limit'> = {}): void {
  const [first] = validateBtf(btf, { ...opts, limit: 1 });
  if (first) throw first;
}
