/**
 * The checks the kernel applies when it loads BTF (kernel/bpf/btf.c: btf_parse_hdr,
 * btf_parse_str_sec, btf_check_meta and the per-kind check_meta/resolve callbacks),
 * with the kernel's words for each failure. A module whose BTF fails here would be
 * rejected at load, so modbtf checks its own output with the same rules.
 *
 * Every problem is collected (up to `limit`) with the type id and the byte offset
 * of the record inside the BTF blob.
 */
import { BtfValidationError } from '../errors.js';
import type { Btf } from './btf.js';
import { forEachTypeRef, forEachStrRef } from './fields.js';
import { BtfKind, kindName, BTF_KIND_MAX, BTF_INT_SIGNED, BTF_INT_CHAR, BTF_INT_BOOL } from './kinds.js';
import type { BtfType } from './types.js';
import { BTF_INFO_MASK, BTF_MAX_NAME_OFFSET, infoKflag, infoKind, infoVlen, intBits, intEncoding, intOffset, memberBitOffset, memberBitfieldSize } from './wire.js';

export interface ValidateOptions {
  /** Stop after this many problems (default 100). */
  limit?: number;
}

const BTF_INT_MASK = 0x0f00ffff;
const IDENT = /^[A-Za-z_][A-Za-z0-9_]*$/;
/** Section names such as `.data..percpu` and kernel symbol names with dots are allowed for DATASEC/VAR-like names. */
const DOTTED = /^[A-Za-z_.][A-Za-z0-9_.]*$/;

function isModifier(kind: number): boolean {
  return kind === BtfKind.Typedef || kind === BtfKind.Volatile || kind === BtfKind.Const || kind === BtfKind.Restrict || kind === BtfKind.TypeTag;
}

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

  const h = btf.header;
  // Kernel: sections must follow the header in order, without gaps or trailing bytes.
  if (h.typeOff !== 0) report('BTF_BAD_LAYOUT', `Unsupported section found: type section at ${h.typeOff}, expected 0`, undefined, 8);
  if (h.strOff !== h.typeOff + h.typeLen) report('BTF_BAD_LAYOUT', `Unsupported section found: string section at ${h.strOff}, expected ${h.typeOff + h.typeLen}`, undefined, 16);
  if (h.hdrLen + h.strOff + h.strLen !== btf.bytes.length) report('BTF_BAD_LAYOUT', `Total section length ${h.hdrLen + h.strOff + h.strLen} differs from BTF size ${btf.bytes.length}`, undefined, 20);
  for (let i = 0; i < h.extra.length; i++) {
    if (h.extra[i] !== 0) { report('BTF_BAD_HEADER', `Unsupported BTF header: non-zero byte at header offset ${24 + i}`, undefined, 24 + i); break; }
  }
  if (btf.totalStrLen - 1 > BTF_MAX_NAME_OFFSET) report('BTF_BAD_STRINGS', `string section of ${btf.totalStrLen} bytes exceeds the maximum`, undefined, btf.strStart);

  const nameAt = (off: number): string | undefined => btf.strOrUndefined(off);
  const typeCount = btf.typeCount;
  const validId = (id: number): boolean => id < typeCount;

  let i = 0;
  for (const t of btf.ownTypes()) {
    if (problems.length >= limit) break;
    checkType(t, btf.typeOffsets[i++] as number);
  }
  if (problems.length < limit) checkLoops();
  return problems;

  function checkType(t: BtfType, off: number): void {
    const id = t.id;
    const bad = (message: string, at = off): void => report('BTF_INVALID_TYPE', message, id, at);
    if ((t.info & ~BTF_INFO_MASK) >>> 0 !== 0) { bad(`Invalid btf_info:${(t.info >>> 0).toString(16)}`, off + 4); return; }
    const kind = infoKind(t.info);
    if (kind === BtfKind.Unkn || kind > BTF_KIND_MAX) { bad(`Invalid kind:${kind}`, off + 4); return; }
    const vlen = infoVlen(t.info);
    const kflag = infoKflag(t.info);
    forEachStrRef(t, (s) => { if (nameAt(s) === undefined) bad(`Invalid name_offset:${s}`); });
    const name = nameAt(t.nameOff) ?? '';
    const requireName = (re = IDENT): void => { if (!re.test(name)) bad('Invalid name'); };
    const requireNoName = (): void => { if (t.nameOff !== 0) bad('Invalid name'); };
    const optionalName = (): void => { if (t.nameOff !== 0 && !IDENT.test(name)) bad('Invalid name'); };
    const noVlen = (): void => { if (vlen !== 0) bad('vlen != 0'); };
    const noKflag = (): void => { if (kflag) bad('Invalid btf_info kind_flag'); };
    forEachTypeRef(t, (ref) => { if (!validId(ref)) bad(`Invalid type_id ${ref}`); });

    switch (t.kind) {
      case BtfKind.Int: {
        // INT names are C type names with spaces ("long unsigned int"): only the offset is checked.
        noVlen(); noKflag();
        if ((t.intData & ~BTF_INT_MASK) >>> 0 !== 0) bad(`Invalid int_data:${t.intData.toString(16)}`, off + 12);
        const bits = intBits(t.intData);
        if (bits > 128) bad('nr_bits exceeds 128');
        if (intOffset(t.intData) + bits > t.size * 8) bad('nr_bits exceeds type_size');
        if (![1, 2, 4, 8, 16].includes(t.size)) bad(`Invalid type_size ${t.size}`);
        const enc = intEncoding(t.intData);
        if (enc !== 0 && enc !== BTF_INT_SIGNED && enc !== BTF_INT_CHAR && enc !== BTF_INT_BOOL) bad('Unsupported encoding');
        return;
      }
      case BtfKind.Ptr:
      case BtfKind.Volatile:
      case BtfKind.Const:
      case BtfKind.Restrict:
        noVlen(); noKflag(); requireNoName();
        return;
      case BtfKind.Typedef:
        noVlen(); noKflag(); requireName();
        return;
      case BtfKind.TypeTag:
        noVlen(); if (!name) bad('Invalid name');
        return;
      case BtfKind.Array:
        noVlen(); noKflag(); requireNoName();
        if (t.size !== 0) bad('size != 0');
        return;
      case BtfKind.Struct:
      case BtfKind.Union: {
        optionalName();
        let lastEnd = 0;
        t.members.forEach((m, idx) => {
          const at = off + 12 + idx * 12;
          if (m.nameOff !== 0 && !IDENT.test(nameAt(m.nameOff) ?? '')) bad('Invalid member name', at);
          const bitOff = memberBitOffset(m.offset, kflag);
          const bitSize = memberBitfieldSize(m.offset, kflag);
          if (t.kind === BtfKind.Union && bitOff !== 0) bad('Invalid member bits_offset', at);
          if (Math.floor(bitOff / 8) > t.size) bad('Member bits_offset exceeds its struct size', at);
          if (bitSize === 0 && !kflag && bitOff % 8 !== 0 && btf.kind(m.type) !== BtfKind.Int) bad('Member is not byte aligned', at);
          if (t.kind === BtfKind.Struct && bitOff < lastEnd && bitSize === 0 && !kflag) { /* overlap of non-bitfield members is tolerated for anonymous unions */ }
          lastEnd = bitOff;
        });
        return;
      }
      case BtfKind.Enum: {
        optionalName();
        if (![1, 2, 4, 8].includes(t.size)) bad(`Unexpected size ${t.size}`);
        t.values.forEach((v, idx) => { if (!IDENT.test(nameAt(v.nameOff) ?? '')) bad('Invalid name', off + 12 + idx * 8); });
        return;
      }
      case BtfKind.Enum64: {
        optionalName();
        if (![1, 2, 4, 8].includes(t.size)) bad(`Unexpected size ${t.size}`);
        t.values.forEach((v, idx) => { if (!IDENT.test(nameAt(v.nameOff) ?? '')) bad('Invalid name', off + 12 + idx * 12); });
        return;
      }
      case BtfKind.Fwd:
        noVlen(); requireName();
        if (t.size !== 0) bad('type != 0');
        return;
      case BtfKind.Func:
        noKflag(); requireName();
        if (vlen > 2) bad(`Invalid func linkage ${vlen}`);
        if (validId(t.type) && t.type !== 0 && btf.kind(t.type) !== BtfKind.FuncProto) bad(`Invalid type_id: FUNC must refer to a FUNC_PROTO, not ${kindName(btf.kind(t.type))}`);
        return;
      case BtfKind.FuncProto:
        noKflag(); requireNoName();
        t.params.forEach((p, idx) => {
          const at = off + 12 + idx * 8;
          const last = idx === t.params.length - 1;
          if (p.type === 0 && !(last && p.nameOff === 0)) bad(`Invalid arg#${idx + 1}`, at);
          if (p.nameOff !== 0 && !IDENT.test(nameAt(p.nameOff) ?? '')) bad(`Invalid arg#${idx + 1}`, at);
        });
        return;
      case BtfKind.Var:
        noVlen(); noKflag(); requireName(DOTTED);
        if (t.linkage > 2) bad(`Linkage not supported ${t.linkage}`, off + 12);
        return;
      case BtfKind.Datasec: {
        noKflag(); if (!name) bad('Invalid name');
        let lastEnd = 0;
        t.vars.forEach((v, idx) => {
          const at = off + 12 + idx * 12;
          if (validId(v.type) && v.type !== 0 && btf.kind(v.type) !== BtfKind.Var) bad('Not a VAR kind member', at);
          if (v.offset < lastEnd || v.offset + v.size > t.size) bad('Invalid offset+size', at);
          lastEnd = v.offset + v.size;
        });
        return;
      }
      case BtfKind.Float:
        noVlen(); noKflag();
        if (![2, 4, 8, 12, 16].includes(t.size)) bad(`Invalid type_size ${t.size}`);
        return;
      case BtfKind.DeclTag:
        noVlen(); noKflag(); if (!name) bad('Invalid name');
        if (t.componentIdx < -1) bad(`Invalid component_idx ${t.componentIdx}`, off + 12);
        return;
      case BtfKind.Unkn:
        return;
    }
  }

  /**
   * The kernel resolves every type through modifiers, typedefs, array elements,
   * composite members and vars; a cycle there is "Loop detected". Pointers and
   * function prototypes break cycles (a struct may point to itself).
   */
  function checkLoops(): void {
    const start = btf.startId;
    const n = btf.typeCount - start;
    // 0 = unvisited, 1 = on stack, 2 = done. Base types were validated with the base.
    const state = new Uint8Array(n);
    const stack: number[] = [];
    const iters: number[][] = [];
    const edges = (id: number): number[] => {
      const k = btf.kind(id);
      if (k === BtfKind.Ptr || k === BtfKind.FuncProto || k === BtfKind.Func) return [];
      if (!(isModifier(k) || k === BtfKind.Array || k === BtfKind.Struct || k === BtfKind.Union || k === BtfKind.Var || k === BtfKind.Datasec || k === BtfKind.DeclTag)) return [];
      const out: number[] = [];
      forEachTypeRef(btf.type(id), (r) => { if (r >= start && r < btf.typeCount) out.push(r); });
      if (k === BtfKind.Array) out.length = Math.min(out.length, 1);
      return out;
    };
    for (let root = 0; root < n; root++) {
      if (state[root] !== 0) continue;
      stack.push(root + start);
      iters.push(edges(root + start));
      state[root] = 1;
      while (stack.length > 0) {
        const next = (iters[iters.length - 1] as number[]).pop();
        if (next === undefined) {
          state[(stack.pop() as number) - start] = 2;
          iters.pop();
          continue;
        }
        const s = state[next - start];
        if (s === 1) {
          report('BTF_LOOP', 'Loop detected', next, btf.typeOffsets[next - start]);
          return;
        }
        if (s === 0) {
          state[next - start] = 1;
          stack.push(next);
          iters.push(edges(next));
        }
      }
    }
  }
}

/** Throws the first problem validateBtf finds. */
export function assertValidBtf(btf: Btf): void {
  const [first] = validateBtf(btf, { limit: 1 });
  if (first) throw first;
}
