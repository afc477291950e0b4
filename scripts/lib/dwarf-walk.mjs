// The text scripts/oracle/libdw-walk.c prints, from lib/dwarf: for a module opened as pahole
// opens it (libdwfl layout from 0x10000), every section address, unit, DIE, attribute value
// through each dwarf_form* accessor, location list, pc and range list. Where libdw's call
// fails lib/dwarf answers undefined or throws a DwarfFormatError: both print "-".

const MAX64 = (1n << 64n) - 1n;
const hex = (v) => (typeof v === 'bigint' ? BigInt.asUintN(64, v) : BigInt(v)).toString(16);

/** dwarf_formstring output with libdw-walk.c's escapes. */
function escape(s) {
  let out = '';
  for (const b of Buffer.from(s, 'utf8')) out += b >= 0x20 && b < 0x7f && b !== 0x5c ? String.fromCharCode(b) : `\\x${b.toString(16).padStart(2, '0')}`;
  return out;
}

const LOC_ATTRS = new Set([0x02, 0x38, 0x40, 0x7e, 0x83, 0x86, 0x4d, 0x2f, 0x37, 0x0b, 0x2111, 0x2113]);

/** Calls f; a typed error (what libdw reports as -1) becomes undefined. */
function attempt(lib, f) {
  try {
    return f();
  } catch (e) {
    if (lib.isModbtfError(e)) return undefined;
    throw e;
  }
}

function ops(lib, d, die, list, depth) {
  let s = '';
  for (const op of list) {
    const blockOp = op.atom === 0x9e || op.atom === 0xa3 || op.atom === 0xf3 || op.atom === 0xa4 || op.atom === 0xf4;
    s += ` ${op.atom.toString(16)}:${hex(op.number)}:${blockOp ? 'p' : hex(op.number2)}`;
    if ((op.atom === 0xa3 || op.atom === 0xf3) && depth < 4) {
      const inner = attempt(lib, () => lib.decodeBlock(op.block, lib.exprContext(d.unitOf(die)), die));
      s += inner === undefined ? '{-}' : `{${ops(lib, d, die, inner, depth + 1)} }`;
    }
  }
  return s;
}

/** The whole text, in chunks. */
export function* walkText(lib, d) {
  let out = [];
  const w = (s) => out.push(s);
  const elf = d.elf;
  for (const s of elf.sections) {
    if (s.index === 0 || (s.flags & 2) === 0) continue;
    w(`sec ${s.index.toString(16)} ${s.name} ${hex(d.sectionAddresses[s.index])}\n`);
  }
  for (const u of d.units) {
    w(`cu ${hex(u.dieOffset)} v${u.version} ut${u.unitType} as${u.addressSize} os${u.offsetSize}\n`);
    const idx = u.index();
    const depth = new Int32Array(idx.count);
    for (let i = 0; i < idx.count; i++) {
      const p = idx.parents[i];
      depth[i] = p < 0 ? 0 : depth[p] + 1;
      const die = idx.offsets[i];
      const tag = u.abbrevs.abbrevs[idx.abbrevs[i]].tag;
      w(`die ${hex(die)} ${tag.toString(16)} ${depth[i]}\n`);
      for (const a of d.attrs(die)) {
        const v = (f) => attempt(lib, f);
        const uval = v(() => a.udata());
        const sval = v(() => a.sdata());
        const str = v(() => a.string());
        const ref = v(() => a.ref());
        const addr = v(() => a.addr());
        const flag = v(() => a.flag());
        const blk = v(() => a.block());
        w(`  a ${a.name.toString(16)} ${a.form.toString(16)} u=${uval === undefined ? '-' : hex(uval)} s=${sval === undefined ? '-' : hex(sval)}`
          + ` str=${str === undefined ? '-' : escape(str)} ref=${ref === undefined ? '-' : hex(ref)} addr=${addr === undefined ? '-' : hex(addr)}`
          + ` flag=${flag === undefined ? '-' : flag ? 1 : 0} blk=${blk === undefined ? '-' : Buffer.from(blk).toString('hex')}\n`);
        if (LOC_ATTRS.has(a.name)) {
          const locs = attempt(lib, () => a.locations());
          let line = `  loc ${a.name.toString(16)}:`;
          if (locs === undefined) line += ' -';
          else for (const l of locs) line += ` ${hex(l.start)}-${hex(l.end === MAX64 ? MAX64 : l.end)}${ops(lib, d, die, l.ops, 0)} ;`;
          w(`${line}\n`);
        }
      }
      const lo = attempt(lib, () => d.lowPc(die));
      const hi = attempt(lib, () => d.highPc(die));
      const en = attempt(lib, () => d.entryPc(die));
      w(`  pc ${lo === undefined ? '-' : hex(lo)} ${hi === undefined ? '-' : hex(hi)} ${en === undefined ? '-' : hex(en)}\n`);
      const r = attempt(lib, () => d.ranges(die));
      if (r === undefined) w('  ranges -\n');
      else if (r.length > 0) w(`  ranges ${r.map((x) => `${hex(x.start)}-${hex(x.end)}`).join(' ')}\n`);
      if (out.length > 2000) { yield out.join(''); out = []; }
    }
  }
  if (out.length > 0) yield out.join('');
}
