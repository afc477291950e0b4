/**
 * What resolve_btfids 6.12 says about objects libelf cannot take apart. modbtf's ELF
 * reader (lib/elf) rejects malformed objects outright; this gives, for the same
 * bytes, the outcome of libelf's elf_begin(ELF_C_RDWR_MMAP) and resolve_btfids'
 * elf_collect(), so the resolve-btfids command fails (or succeeds) the same way:
 *  - not an ELF object for libelf (magic, class, data encoding, EI_VERSION must be 1;
 *    empty files, archives): "FAILED cannot get shdr str ndx";
 *  - shorter than its ELF header: "FAILED cannot create ELF descriptor: invalid ELF
 *    file data";
 *  - a section header table outside the file: libelf sees no sections, so there is
 *    nothing to do (exit 0, file untouched);
 *  - a section name outside the name table, or section contents outside the file:
 *    "FAILED get section(<n>) name" / "FAILED to get section(<n>) data from <name>",
 *    after the -vv lines of the sections before it.
 */
import { msg, type Diagnostic } from './messages.js';
import { isLibelfElf } from './btf-load.js';

export type LibelfOutcome =
  | { readonly kind: 'ok' }
  | { readonly kind: 'nothing-to-do'; readonly diagnostics: Diagnostic[] }
  | { readonly kind: 'error'; readonly diagnostics: Diagnostic[]; readonly stderrText: string; readonly message: string };

const SHT_NOBITS = 8;

/**
 * Classify `bytes` for resolve_btfids. 'ok' means libelf would read the section table;
 * the caller then uses lib/elf (which may still be stricter).
 */
export function libelfOutcome(bytes: Uint8Array, verbose = 0): LibelfOutcome {
  if (!isLibelfElf(bytes)) return { kind: 'error', diagnostics: [], stderrText: msg.noShdrStrNdx(), message: 'not an ELF object' };
  const is64 = bytes[4] === 2;
  const le = bytes[5] === 1;
  const ehsize = is64 ? 64 : 52;
  if (bytes.length < ehsize) return { kind: 'error', diagnostics: [], stderrText: msg.cannotCreateElf('invalid ELF file data'), message: `file of ${bytes.length} bytes is shorter than the ELF header` };
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const word = (at: number): number => (is64 ? Number(dv.getBigUint64(at, le)) : dv.getUint32(at, le));
  const shoff = word(is64 ? 40 : 32);
  const shentsize = is64 ? 64 : 40;
  let shnum = dv.getUint16(is64 ? 60 : 48, le);
  let shstrndx = dv.getUint16(is64 ? 62 : 50, le);
  const len = bytes.length;
  const tableFits = (n: number): boolean => shoff <= len && len - shoff >= n * shentsize;
  if (shnum === 0 && shoff !== 0 && tableFits(1)) shnum = word(shoff + (is64 ? 32 : 20));
  if (shoff === 0 || shnum === 0 || !tableFits(shnum)) {
    const diagnostics: Diagnostic[] = verbose >= 1 ? [{ level: 'debug', code: 'BTFIDS_NOTHING_TO_DO', message: msg.nothingToDo(), verbosity: 1 }] : [];
    return { kind: 'nothing-to-do', diagnostics };
  }
  if (shstrndx === 0xffff && tableFits(1)) shstrndx = dv.getUint32(shoff + (is64 ? 40 : 24), le);
  const sh = (i: number): { name: number; type: number; flags: number; offset: number; size: number; link: number } => {
    const at = shoff + i * shentsize;
    return is64
      ? { name: dv.getUint32(at, le), type: dv.getUint32(at + 4, le), flags: Number(dv.getBigUint64(at + 8, le)), offset: Number(dv.getBigUint64(at + 24, le)), size: Number(dv.getBigUint64(at + 32, le)), link: dv.getUint32(at + 40, le) }
      : { name: dv.getUint32(at, le), type: dv.getUint32(at + 4, le), flags: dv.getUint32(at + 8, le), offset: dv.getUint32(at + 16, le), size: dv.getUint32(at + 20, le), link: dv.getUint32(at + 24, le) };
  };
  const strtab = shstrndx < shnum ? sh(shstrndx) : undefined;
  const nameOf = (off: number): string | undefined => {
    if (strtab === undefined || strtab.type === SHT_NOBITS || strtab.offset + strtab.size > len || off >= strtab.size) return undefined;
    const end = bytes.indexOf(0, strtab.offset + off);
    if (end < 0 || end >= strtab.offset + strtab.size) return undefined;
    return Buffer.from(bytes.buffer, bytes.byteOffset + strtab.offset + off, end - strtab.offset - off).toString('latin1');
  };
  const diagnostics: Diagnostic[] = [];
  for (let i = 1; i < shnum; i++) {
    const s = sh(i);
    const name = nameOf(s.name);
    if (name === undefined) return { kind: 'error', diagnostics, stderrText: msg.sectionName(i), message: `section [${i}]: name offset ${s.name} is not in the section name table` };
    if (s.type !== SHT_NOBITS && s.offset + s.size > len) return { kind: 'error', diagnostics, stderrText: msg.sectionData(i, name), message: `section [${i}] '${name}': contents (offset ${s.offset}, size ${s.size}) extend past the end of the ${len}-byte file` };
    if (verbose >= 2) diagnostics.push({ level: 'debug', code: 'BTFIDS_SECTION', message: msg.section(i, name, s.size, s.link, s.flags, s.type), verbosity: 2 });
  }
  return { kind: 'ok' };
}
