/**
 * After objcopy rewrote a module, check that it changed only what we asked for:
 * every other section has the same type, flags, size and bytes, links and infos
 * point at the same sections (by name: objcopy may renumber them), and every
 * symbol keeps its name, value, size, binding and section. A mismatch means the
 * objcopy in use mangled the object; the caller then writes nothing.
 */
import { bytesEqual } from '../bytes.js';
import { ModuleError } from '../errors.js';
import { SHT_NOBITS, SHT_REL, SHT_RELA } from '../elf/constants.js';
import type { ElfFile, ElfSection } from '../elf/index.js';

const SHF_INFO_LINK = 0x40;

function sectionName(elf: ElfFile, index: number): string {
  return elf.sections[index]?.name ?? `#${index}`;
}

/**
 * `changed` lists sections whose contents may differ (and may be added or removed);
 * `patched` those whose size and headers must stay but whose bytes may differ.
 */
export function verifyRewrite(before: ElfFile, after: ElfFile, changed: ReadonlySet<string>, patched: ReadonlySet<string>, file: string): void {
  const fail = (what: string): never => {
    throw new ModuleError('MODULE_REWRITE_MISMATCH', `objcopy output differs from the input beyond the BTF sections: ${what}; nothing written`, { file });
  };
  if (before.is64 !== after.is64 || before.littleEndian !== after.littleEndian || before.machine !== after.machine || before.type !== after.type) {
    fail('ELF class, byte order, machine or type changed');
  }
  const afterByName = new Map<string, ElfSection>();
  for (const s of after.sections) if (!afterByName.has(s.name)) afterByName.set(s.name, s);
  for (const s of before.sections) {
    if (s.index === 0 || changed.has(s.name)) continue;
    const t = afterByName.get(s.name);
    if (!t) return fail(`section ${s.name} is missing`);
    if (t.type !== s.type || t.flags !== s.flags || t.size !== s.size || t.addralign !== s.addralign || t.entsize !== s.entsize || t.addr !== s.addr) {
      fail(`section ${s.name} header changed`);
    }
    if (sectionName(before, s.link) !== sectionName(after, t.link)) fail(`section ${s.name} links to another section`);
    const infoIsSection = s.type === SHT_REL || s.type === SHT_RELA || (s.flags & SHF_INFO_LINK) !== 0;
    if (infoIsSection ? sectionName(before, s.info) !== sectionName(after, t.info) : s.info !== t.info) fail(`section ${s.name} sh_info changed`);
    if (s.type !== SHT_NOBITS && !patched.has(s.name) && !bytesEqual(before.sectionData(s), after.sectionData(t))) {
      fail(`contents of ${s.name} changed`);
    }
  }
  const sb = before.symbols();
  const sa = after.symbols();
  if (sb.length !== sa.length) fail(`symbol count ${sb.length} became ${sa.length}`);
  for (let i = 0; i < sb.length; i++) {
    const x = sb[i];
    const y = sa[i];
    if (!x || !y) continue;
    const xs = x.shndx > 0 && x.shndx < 0xff00 ? sectionName(before, x.shndx) : String(x.shndx);
    const ys = y.shndx > 0 && y.shndx < 0xff00 ? sectionName(after, y.shndx) : String(y.shndx);
    if (x.name !== y.name || x.value !== y.value || x.size !== y.size || x.info !== y.info || x.other !== y.other || xs !== ys) {
      fail(`symbol ${i} (${x.name}) changed`);
    }
  }
}
