// The checks a kernel runs on module BTF at load (kernel/bpf/btf.c btf_parse_module), per
// kernel generation. Every expected message, errno and verdict is read off the kernel
// source the rule set follows: Debian linux-source-6.12 6.12.117-1~deb12u1 and
// linux-source-7.2 7.2.13-1 (btf_parse_hdr, btf_check_sec_info, btf_parse_str_sec,
// btf_check_meta and the *_check_meta callbacks, btf_check_type_tags /
// btf_check_modifier_chain_length).
import { describe, expect, it } from 'vitest';
import { Btf } from '../../../lib/btf/btf.js';
import { BtfBuilder } from '../../../lib/btf/builder.js';
import { BTF_INT_SIGNED, BtfKind } from '../../../lib/btf/kinds.js';
import { KERNEL_CHECKS, checkBtfAsKernel, checkModuleBtfAsKernel, kernelChecksFor, kernelViewOf, type KernelCheckRules } from '../../../lib/btf/kernel-checks.js';
import { makeInfo } from '../../../lib/btf/wire.js';

const K612 = KERNEL_CHECKS['6.12'];
const K7 = KERNEL_CHECKS['7'];

function bytesOf(build: (b: BtfBuilder) => void, base?: Btf): Uint8Array {
  const b = new BtfBuilder(base ? { base } : {});
  build(b);
  return b.toBytes();
}

function check(bytes: Uint8Array, rules: KernelCheckRules, base?: Btf, mismatchAllowed?: boolean) {
  const r = checkBtfAsKernel(bytes, { littleEndian: true, rules, ...(base ? { base: kernelViewOf(base) } : {}), ...(mismatchAllowed !== undefined ? { mismatchAllowed } : {}) });
  return r.problem;
}

/** Byte offset of type `id`'s record in standalone `bytes`. */
function recordAt(bytes: Uint8Array, id: number, base?: Btf): number {
  const btf = Btf.parse(bytes, base ? { base } : {});
  return btf.typeOffsets[id - btf.startId] as number;
}

function setU32(bytes: Uint8Array, off: number, v: number): Uint8Array {
  const out = bytes.slice();
  new DataView(out.buffer).setUint32(off, v >>> 0, true);
  return out;
}

const intOnly = (b: BtfBuilder): void => { b.addInt('int', 4, BTF_INT_SIGNED); };

describe('kernel checks: which rules a kernel runs', () => {
  it('7.2 and later have the 7.x UAPI; earlier kernels 6.12\'s', () => {
    expect(kernelChecksFor(6, 12).id).toBe('6.12');
    expect(kernelChecksFor(7, 1).id).toBe('6.12');
    expect(kernelChecksFor(7, 2).id).toBe('7');
    expect(kernelChecksFor(7, 3).id).toBe('7');
    expect(kernelChecksFor(8, 0).id).toBe('7');
  });
});

describe('kernel checks: header and sections (btf_parse_hdr, btf_check_sec_info)', () => {
  it('accepts well-formed standalone BTF on both generations', () => {
    const b = bytesOf((x) => { intOnly(x); x.addPtr(1); x.addStruct('s', 8); x.addField('p', 2, 0); });
    expect(check(b, K612)).toBeUndefined();
    expect(check(b, K7)).toBeUndefined();
  });

  it('fewer than 8 bytes: "hdr_len not found"; hdr_len past the end: "btf_header not found"', () => {
    expect(check(new Uint8Array(6), K7)).toMatchObject({ logLine: 'hdr_len not found', errno: -22, phase: 'header' });
    const b = setU32(bytesOf(intOnly), 4, 4096);
    expect(check(b, K7)).toMatchObject({ logLine: 'btf_header not found', errno: -22 });
  });

  it('magic, version, flags: EINVAL, then ENOTSUPP (-524)', () => {
    const b = bytesOf(intOnly);
    const magic = b.slice(); magic[0] = 0;
    expect(check(magic, K612)).toMatchObject({ logLine: 'Invalid magic', errno: -22 });
    const version = b.slice(); version[2] = 2;
    expect(check(version, K612)).toMatchObject({ logLine: 'Unsupported version', errno: -524 });
    const flags = b.slice(); flags[3] = 1;
    expect(check(flags, K7)).toMatchObject({ logLine: 'Unsupported flags', errno: -524 });
  });

  it('a header longer than the kernel knows must be zero there: "Unsupported btf_header", E2BIG', () => {
    // A 32-byte header whose extra 8 bytes are zero (what 7.2 kbuild writes) passes on both.
    const base = bytesOf(intOnly);
    const long = withHeader32(base, 0);
    expect(check(long, K612)).toBeUndefined();
    expect(check(long, K7)).toBeUndefined();
    // A layout section (layout_off/len set): 6.12 sees non-zero bytes past its 24-byte header.
    const withLayout = withHeader32(base, 4);
    expect(check(withLayout, K612)).toMatchObject({ logLine: 'Unsupported btf_header', errno: -7, offset: 24 });
    expect(check(withLayout, K7)).toBeUndefined();
  });

  it('a gap, an overlap, a section past the end', () => {
    const b = bytesOf(intOnly);
    const typeLen = new DataView(b.buffer).getUint32(12, true);
    // str_off moved up by 4 (and 4 bytes more data): a gap.
    const gap = new Uint8Array(b.length + 4);
    gap.set(b.subarray(0, 24 + typeLen));
    gap.set(b.subarray(24 + typeLen), 24 + typeLen + 4);
    new DataView(gap.buffer).setUint32(16, typeLen + 4, true);
    expect(check(gap, K7)).toMatchObject({ logLine: 'Unsupported section found' });
    expect(check(setU32(b, 16, typeLen - 4), K7)).toMatchObject({ logLine: 'Section overlap found' });
    expect(check(setU32(b, 20, 4096), K7)).toMatchObject({ logLine: 'Total section length too long' });
    expect(check(setU32(b, 16, 4096), K7)).toMatchObject({ logLine: 'Invalid section offset' });
  });

  it('standalone BTF with no data at all: "No data"', () => {
    const b = bytesOf(intOnly).slice(0, 24);
    new DataView(b.buffer).setUint32(12, 0, true);
    new DataView(b.buffer).setUint32(16, 0, true);
    new DataView(b.buffer).setUint32(20, 0, true);
    expect(check(b, K612)).toMatchObject({ logLine: 'No data' });
  });
});

describe('kernel checks: strings (btf_parse_str_sec)', () => {
  it('the last string not NUL-terminated, or a standalone table not starting with ""', () => {
    const b = bytesOf(intOnly);
    const unterminated = b.slice(); unterminated[b.length - 1] = 0x41;
    expect(check(unterminated, K612)).toMatchObject({ logLine: 'Invalid string section', phase: 'strings' });
    const strStart = 24 + new DataView(b.buffer).getUint32(16, true);
    const first = b.slice(); first[strStart] = 0x41;
    expect(check(first, K7)).toMatchObject({ logLine: 'Invalid string section' });
  });

  it('6.12 wants the strings last; 7.x with a 32-byte header lets the layout section follow them', () => {
    const withLayout = withHeader32(bytesOf(intOnly), 4);
    expect(check(withLayout, K7)).toBeUndefined();
    // Without a layout section but with data after the strings, 7.x finds an unknown section.
    expect(check(withHeader32(bytesOf(intOnly), 0, 4), K7)).toMatchObject({ logLine: 'Unsupported section found' });
  });

  it('split BTF may have no strings of its own', () => {
    const base = bytesOf(intOnly);
    const baseBtf = Btf.parse(base);
    const split = bytesOf((x) => { x.addPtr(1); }, baseBtf);
    expect(new DataView(split.buffer).getUint32(20, true)).toBe(0);
    expect(check(split, K7, baseBtf)).toBeUndefined();
  });
});

describe('kernel checks: types (btf_check_meta and each kind\'s check_meta)', () => {
  it('unused info bits: 6.12 refuses them ("Invalid btf_info"), 7.x reads bit 16 as vlen', () => {
    const b = bytesOf((x) => { intOnly(x); x.addPtr(1); });
    const at = recordAt(b, 2);
    const bad = setU32(b, at + 4, makeInfo(BtfKind.Ptr, 0, false) | 0x10000);
    expect(check(bad, K612)).toMatchObject({ logLine: '[2] Invalid btf_info:2010000', typeId: 2 });
    expect(check(bad, K7)).toMatchObject({ logLine: 'vlen != 0', typeId: 2, message: "[2] PTR '': vlen != 0" });
  });

  it('kind 0 or past ENUM64: "Invalid kind"', () => {
    const b = bytesOf(intOnly);
    const at = recordAt(b, 1);
    expect(check(setU32(b, at + 4, 20 << 24), K612)).toMatchObject({ logLine: '[1] Invalid kind:20' });
    expect(check(setU32(b, at + 4, 0), K7)).toMatchObject({ logLine: '[1] Invalid kind:0' });
  });

  it('a name offset past every string table: "[id] Invalid name_offset:N", printed even when mismatches are allowed', () => {
    const base = Btf.parse(bytesOf(intOnly));
    const split = bytesOf((x) => { x.addStruct('s', 4); x.addField('a', 1, 0); }, base);
    const at = recordAt(split, 2, base);
    const off = base.header.strLen + 1000;
    const p = check(setU32(split, at, off), K612, base, true);
    expect(p).toMatchObject({ logLine: `[2] Invalid name_offset:${off}`, loggedWhenMismatchAllowed: true, blob: '.BTF' });
  });

  it('INT: kind_flag, int_data bits, width, encoding', () => {
    const b = bytesOf(intOnly);
    const at = recordAt(b, 1);
    expect(check(setU32(b, at + 4, makeInfo(BtfKind.Int, 0, true)), K7)).toMatchObject({ logLine: 'Invalid btf_info kind_flag' });
    expect(check(setU32(b, at + 12, 0x10000020), K7)).toMatchObject({ logLine: 'Invalid int_data:10000020' });
    expect(check(setU32(b, at + 12, 0x00000081), K7)).toMatchObject({ logLine: 'nr_bits exceeds 128' });
    expect(check(setU32(b, at + 12, 0x00000021), K7)).toMatchObject({ logLine: 'nr_bits exceeds type_size' });
    expect(check(setU32(b, at + 12, 0x03000020), K7)).toMatchObject({ logLine: 'Unsupported encoding', errno: -524 });
  });

  it('identifiers: the kernel allows "." (btf_name_valid_identifier), not "-"', () => {
    expect(check(bytesOf((x) => { intOnly(x); x.addTypedef('a.b', 1); }), K612)).toBeUndefined();
    expect(check(bytesOf((x) => { intOnly(x); x.addTypedef('a-b', 1); }), K612)).toMatchObject({ logLine: 'Invalid name', typeId: 2, message: "[2] TYPEDEF 'a-b': Invalid name" });
    expect(check(bytesOf((x) => { intOnly(x); x.addTypedef('x'.repeat(513), 1); }), K7)).toMatchObject({ logLine: 'Invalid name' });
    expect(check(bytesOf((x) => { intOnly(x); x.addTypedef('x'.repeat(512), 1); }), K7)).toBeUndefined();
  });

  it('TYPE_TAG and DECL_TAG with kind_flag (attributes): refused by 6.12, accepted by 7.x', () => {
    const tt = bytesOf((x) => { intOnly(x); x.addTypeTag('user', 1); x.addPtr(2); });
    const ttAt = recordAt(tt, 2);
    const ttK = setU32(tt, ttAt + 4, makeInfo(BtfKind.TypeTag, 0, true));
    expect(check(ttK, K612)).toMatchObject({ logLine: 'Invalid btf_info kind_flag', typeId: 2 });
    expect(check(ttK, K7)).toBeUndefined();
    const dt = bytesOf((x) => { intOnly(x); x.addDeclTag('noinline', 1, -1, true); });
    expect(check(dt, K612)).toMatchObject({ logLine: 'Invalid btf_info kind_flag' });
    expect(check(dt, K7)).toBeUndefined();
    expect(check(bytesOf((x) => { intOnly(x); x.addDeclTag('t', 1, -2); }), K7)).toMatchObject({ logLine: 'Invalid component_idx' });
  });

  it('ARRAY, STRUCT/UNION members, ENUM, FUNC, VAR, DATASEC, FLOAT', () => {
    expect(check(bytesOf((x) => { intOnly(x); x.addArray(1, 0, 4); }), K7)).toMatchObject({ logLine: 'Invalid elem' });
    expect(check(bytesOf((x) => { intOnly(x); x.addStruct('s', 8); x.addField('a', 1, 32); x.addField('b', 1, 0); }), K7)).toMatchObject({ logLine: 'Invalid member bits_offset' });
    expect(check(bytesOf((x) => { intOnly(x); x.addUnion('u', 8); x.addField('a', 1, 32); }), K7)).toMatchObject({ logLine: 'Invalid member bits_offset' });
    expect(check(bytesOf((x) => { intOnly(x); x.addStruct('s', 4); x.addField('a', 1, 64); }), K7)).toMatchObject({ logLine: 'Member bits_offset exceeds its struct size' });
    expect(check(bytesOf((x) => { intOnly(x); x.addStruct('s', 4); x.addField('a', 0, 0); }), K7)).toMatchObject({ logLine: 'Invalid type_id' });
    expect(check(bytesOf((x) => { x.addEnum('e', 3); x.addEnumValue('A', 1); }), K7)).toMatchObject({ logLine: 'Unexpected size' });
    const fp = (x: BtfBuilder): void => { intOnly(x); x.addFuncProto(1); };
    expect(check(bytesOf((x) => { fp(x); x.addFunc('f', 3, 2); }), K7)).toMatchObject({ logLine: 'Invalid func linkage' });
    expect(check(bytesOf((x) => { intOnly(x); x.addVar('v', 2, 1); }), K7)).toMatchObject({ logLine: 'Linkage not supported' });
    expect(check(bytesOf((x) => { intOnly(x); x.addVar('v', 1, 1); x.addDatasec('.data', 8); x.addDatasecVarInfo(2, 4, 4); x.addDatasecVarInfo(2, 0, 4); }), K7)).toMatchObject({ logLine: 'Invalid offset' });
    expect(check(bytesOf((x) => { x.addFloat('f', 3); }), K7)).toMatchObject({ logLine: 'Invalid type_size' });
  });

  it('an enumerator name past the strings: "\\tInvalid name_offset:N" (a plain log line, no type id)', () => {
    const b = bytesOf((x) => { x.addEnum('e', 4); x.addEnumValue('A', 1); });
    const at = recordAt(b, 1);
    expect(check(setU32(b, at + 12, 999999), K612)).toMatchObject({ logLine: '\tInvalid name_offset:999999', loggedWhenMismatchAllowed: true });
  });

  it('a record cut short: "[id] meta_left:N meta_needed:12"', () => {
    const b = bytesOf((x) => { intOnly(x); x.addPtr(1); });
    const typeLen = new DataView(b.buffer).getUint32(12, true);
    // Declare 4 bytes of type section fewer (the strings start earlier): the PTR is cut.
    const cut = new Uint8Array(b.length - 4);
    cut.set(b.subarray(0, 24 + typeLen - 4));
    cut.set(b.subarray(24 + typeLen), 24 + typeLen - 4);
    new DataView(cut.buffer).setUint32(12, typeLen - 4, true);
    new DataView(cut.buffer).setUint32(16, typeLen - 4, true);
    expect(check(cut, K7)).toMatchObject({ logLine: '[2] meta_left:8 meta_needed:12' });
  });

  it('type-level lines of module BTF are not printed when mismatches are allowed; those of .BTF.base are', () => {
    const base = Btf.parse(bytesOf(intOnly));
    const split = bytesOf((x) => { x.addTypedef('a-b', 1); }, base);
    expect(check(split, K612, base, true)).toMatchObject({ logLine: 'Invalid name', loggedWhenMismatchAllowed: false });
    expect(check(split, K612, base, false)).toMatchObject({ loggedWhenMismatchAllowed: true });
  });
});

describe('kernel checks: modifier chains', () => {
  it('more than 32 modifiers in a row, or a cycle: "Max chain length or cycle detected", ELOOP', () => {
    // Each CONST refers to the next id, so the walk from [1] meets every one (a chain met
    // from its end is cut short by the walk's memo of checked ids).
    const chain = (n: number) => bytesOf((x) => { for (let i = 0; i < n; i++) x.addConst(i + 2); intOnly(x); });
    const long = chain(33);
    expect(check(long, K612)).toMatchObject({ logLine: 'Max chain length or cycle detected', errno: -40, phase: 'modifier-chain' });
    const cycle = bytesOf((x) => { x.addTypedef('a', 2); x.addConst(1); });
    expect(check(cycle, K7)).toMatchObject({ logLine: 'Max chain length or cycle detected', errno: -40 });
    expect(check(chain(32), K7)).toBeUndefined();
  });

  it('a type tag after another modifier: refused by 6.12 (btf_check_type_tags), accepted by 7.x', () => {
    const b = bytesOf((x) => { intOnly(x); const tag = x.addTypeTag('user', 1); x.addConst(tag); });
    expect(check(b, K612)).toMatchObject({ logLine: "Type tags don't precede modifiers", errno: -22 });
    expect(check(b, K7)).toBeUndefined();
  });

  it('a modifier that leads to no type: EINVAL, and the kernel logs nothing', () => {
    const b = bytesOf((x) => { intOnly(x); x.addConst(7); });
    expect(check(b, K7)).toMatchObject({ errno: -22, logLine: '', phase: 'modifier-chain', typeId: 2 });
  });
});

describe('kernel checks: a module (btf_parse_module)', () => {
  it('.BTF.base first, then .BTF over it', () => {
    const vmlinux = Btf.parse(bytesOf((x) => { intOnly(x); x.addStruct('task_struct', 64); x.addField('pid', 1, 0); }));
    const dbase = bytesOf((x) => { intOnly(x); x.addStruct('task_struct', 64); });
    const dbaseBtf = Btf.parse(dbase);
    const split = bytesOf((x) => { x.addPtr(2); x.addStruct('m', 8); x.addField('t', 3, 0); }, dbaseBtf);
    expect(checkModuleBtfAsKernel(split, dbase, kernelViewOf(vmlinux), K7).problem).toBeUndefined();
    const badBase = dbase.slice(); badBase[0] = 0;
    expect(checkModuleBtfAsKernel(split, badBase, kernelViewOf(vmlinux), K7).problem).toMatchObject({ logLine: 'Invalid magic', blob: '.BTF.base' });
  });
});

/**
 * `b` (24-byte header) rewritten with a 32-byte header; with layoutLen > 0 a layout section
 * of that many zero bytes follows the strings (as 7.x places it), and `trailing` zero bytes
 * follow everything.
 */
function withHeader32(b: Uint8Array, layoutLen: number, trailing = 0): Uint8Array {
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const typeLen = dv.getUint32(12, true);
  const strLen = dv.getUint32(20, true);
  const data = b.subarray(24);
  const out = new Uint8Array(32 + data.length + layoutLen + trailing);
  out.set(b.subarray(0, 24));
  out.set(data, 32);
  const o = new DataView(out.buffer);
  o.setUint32(4, 32, true);
  o.setUint32(8, 0, true);
  o.setUint32(12, typeLen, true);
  o.setUint32(16, typeLen, true);
  o.setUint32(20, strLen, true);
  if (layoutLen > 0) {
    o.setUint32(24, typeLen + strLen, true);
    o.setUint32(28, layoutLen, true);
  }
  return out;
}
