/**
 * After objcopy rewrote a module, check that it changed only what we asked for:
 * every other section is still there in the same order with the same name, type,
 * flags, size and bytes, links and infos point at the same sections (objcopy may
 * renumber them), and every symbol keeps its name, value, size, binding and section. A mismatch means the
 * objcopy in use mangled the object; the caller then writes nothing.
 */
import { bytesEqual } from '../bytes.js';
import { ModuleError } from '../errors.js';
import { SHT_NOBITS, SHT_REL, SHT_RELA } from '../elf/constants.js';
import type { ElfFile, ElfSection } from '../elf/index.js';

const SHF_INFO_LINK = 0x40;

/**
 * Sections outside `changed`, in file order, and a name for every section index that is
 * the same in both files: a kept section by its position among the kept ones (names
 * repeat: 7.x modules have two `.note.GNU-stack`), a changed one by its name.
 */
function kept(elf: ElfFile, changed: ReadonlySet<string>): { list: ElfSection[]; ident: (index: number) => string } {
  const list = elf.sections.filter((s) => s.index !== 0 && !changed.has(s.name));
  const pos = new Map<number, number>(list.map((s, i) => [s.index, i]));
  const ident = (index: number): string => {
    if (index === 0) return '#0';
    const p = pos.get(index);
    if (p !== undefined) return `kept #${p}`;
    return elf.sections[index]?.name ?? `#${index}`;
  };
  return { list, ident };
}

/**
 * `changed` lists sections whose contents may differ (and may be added or removed);
 * `patched` those whose size and headers must stay but whose bytes may differ. The
 * other sections must keep their order (objcopy may move or renumber the changed ones).
 */
export function verifyRewrite(before: ElfFile, after: ElfFile, changed: ReadonlySet<string>, patched: ReadonlySet<string>, file: string): void {
  const fail = (what: string): never => {
    throw new ModuleError('MODULE_REWRITE_MISMATCH', `objcopy output differs from the input beyond the BTF sections: ${what}; nothing written`, { file });
  };
  if (before.is64 !== after.is64 || before.littleEndian !== after.littleEndian || before.machine !== after.machine || before.type !== after.type) {
    fail('ELF class, byte order, machine or type changed');
  }
  const b = kept(before, changed);
  const a = kept(after, changed);
  if (b.list.length !== a.list.length) fail(`${b.list.length} sections besides the BTF ones became ${a.list.length}`);
  for (let i = 0; i < b.list.length; i++) {
    const s = b.list[i] as ElfSection;
    const t = a.list[i] as ElfSection;
    const where = `section [${s.index}] ${s.name}`;
    if (t.name !== s.name) fail(`${where} is now [${t.index}] ${t.name}`);
    if (t.type !== s.type || t.flags !== s.flags || t.size !== s.size || t.addralign !== s.addralign || t.entsize !== s.entsize || t.addr !== s.addr) {
      fail(`${where}: header changed`);
    }
    if (b.ident(s.link) !== a.ident(t.link)) fail(`${where} links to another section`);
    const infoIsSection = s.type === SHT_REL || s.type === SHT_RELA || (s.flags & SHF_INFO_LINK) !== 0;
    if (infoIsSection ? b.ident(s.info) !== a.ident(t.info) : s.info !== t.info) fail(`${where}: sh_info changed`);
    if (s.type !== SHT_NOBITS && !patched.has(s.name) && !bytesEqual(before.sectionData(s), after.sectionData(t))) {
      fail(`${where}: contents changed`);
    }
  }
  const sb = before.symbols();
  const sa = after.symbols();
  if (sb.length !== sa.length) fail(`symbol count ${sb.length} became ${sa.length}`);
  const shndx = (ident: (i: number) => string, v: number): string => (v > 0 && v < 0xff00 ? ident(v) : String(v));
  for (let i = 0; i < sb.length; i++) {
    const x = sb[i];
    const y = sa[i];
    if (!x || !y) continue;
    if (x.name !== y.name || x.value !== y.value || x.size !== y.size || x.info !== y.info || x.other !== y.other || shndx(b.ident, x.shndx) !== shndx(a.ident, y.shndx)) {
      fail(`symbol ${i} (${x.name}) changed`);
    }
  }
}
