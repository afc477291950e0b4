/**
 * What btf__raw_data() returns after btf__dedup(): header, the compacted types, the
 * layout section (fixed libbpf only) and the new strings, in the input's byte order.
 * The two libbpfs write the header differently (behaviour.ts):
 *
 *  - 1.7.0 (btf_get_raw_data with its malloc'ed copy of the input header): the input's
 *    hdr_len bytes as they were, with type_len, str_off (= type_len, whatever type_off
 *    is: btf_dedup_compact_types) and str_len replaced.
 *  - fixed: its struct btf_header (magic .. layout_len, 32 bytes) truncated to hdr_len,
 *    zeros past it; str_off and layout_off follow type_off; a header whose bytes past
 *    the 32 it knows are not all zero is refused (btf_parse_hdr's has_hdr_extra).
 */
import type { Btf } from '../btf/btf.js';
import { dataViewOf } from '../bytes.js';
import { BTF_HEADER_MIN } from '../btf/wire.js';
import type { DedupBehaviour } from './behaviour.js';
import { DedupError } from './errors.js';

/** sizeof(struct btf_header) of the libbpf with the layout section. */
const LAYOUT_HEADER = 32;

interface LayoutSection { off: number; len: number; bytes: Uint8Array }

function readLayout(btf: Btf): LayoutSection | undefined {
  const h = btf.header;
  if (h.hdrLen < LAYOUT_HEADER) return undefined;
  const dv = dataViewOf(btf.bytes);
  const off = dv.getUint32(24, btf.littleEndian);
  const len = dv.getUint32(28, btf.littleEndian);
  if (len === 0) return { off, len, bytes: new Uint8Array(0) };
  const start = h.hdrLen + off;
  return { off, len, bytes: btf.bytes.subarray(start, start + len) };
}

/** Refuses what each libbpf refuses before dedup even starts (parse / btf_ensure_modifiable). */
export function checkDedupHeader(btf: Btf, behaviour: DedupBehaviour): void {
  const h = btf.header;
  const ctx = { ...btf.source, offset: 4 };
  if (behaviour === '1.7.0') {
    if (!btf.littleEndian !== !hostLittleEndian() && h.hdrLen !== BTF_HEADER_MIN) {
      throw new DedupError('DEDUP_FOREIGN_HEADER', `libbpf 1.7.0 cannot swap a foreign-endian BTF header of ${h.hdrLen} bytes (only ${BTF_HEADER_MIN})`, ctx);
    }
    return;
  }
  for (let i = LAYOUT_HEADER; i < h.hdrLen; i++) {
    if (btf.bytes[i] !== 0) {
      throw new DedupError('DEDUP_HEADER_EXTRA', `unknown BTF header data at offset ${i} (hdr_len ${h.hdrLen}): libbpf does not modify such BTF`, { ...btf.source, offset: i });
    }
  }
}

function hostLittleEndian(): boolean {
  return new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;
}

export function encodeDedupOutput(btf: Btf, behaviour: DedupBehaviour, types: Uint32Array, strings: Uint8Array): Uint8Array {
  const h = btf.header;
  const le = btf.littleEndian;
  const hdrLen = h.hdrLen;
  const typeLen = types.length * 4;
  const layout = behaviour === 'fixed' ? readLayout(btf) : undefined;
  const layoutLen = layout?.len ?? 0;
  const out = new Uint8Array(hdrLen + typeLen + layoutLen + strings.length);
  const dv = dataViewOf(out);
  if (behaviour === '1.7.0') {
    out.set(btf.bytes.subarray(0, hdrLen), 0);
    dv.setUint32(12, typeLen, le);
    dv.setUint32(16, typeLen, le);
    dv.setUint32(20, strings.length, le);
  } else {
    const fields = [
      h.typeOff, typeLen,
      h.typeOff + typeLen + layoutLen, strings.length,
      layout !== undefined && layoutLen > 0 ? h.typeOff + typeLen : layout?.off ?? 0, layoutLen,
    ];
    const head = new Uint8Array(LAYOUT_HEADER);
    const hv = dataViewOf(head);
    hv.setUint16(0, 0xeb9f, le);
    hv.setUint8(2, h.version);
    hv.setUint8(3, h.flags);
    hv.setUint32(4, hdrLen, le);
    fields.forEach((v, i) => hv.setUint32(8 + i * 4, v >>> 0, le));
    out.set(head.subarray(0, Math.min(hdrLen, LAYOUT_HEADER)), 0);
  }
  let p = hdrLen;
  for (let i = 0; i < types.length; i++, p += 4) dv.setUint32(p, types[i] as number, le);
  if (layout !== undefined && layoutLen > 0) { out.set(layout.bytes, p); p += layoutLen; }
  out.set(strings, p);
  return out;
}
