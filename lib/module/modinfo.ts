/**
 * `.modinfo`: NUL-separated `key=value` strings (name, vermagic, depends, ...), as
 * modinfo(8) reads them. The kernel release a module was built for is the first
 * word of `vermagic`, which lets modbtf find the matching vmlinux BTF by itself.
 */
import type { ElfFile } from '../elf/index.js';
import { decodeString } from '../bytes.js';

export function readModinfo(elf: ElfFile): Map<string, string[]> {
  const out = new Map<string, string[]>();
  const sec = elf.sectionByName('.modinfo');
  if (!sec) return out;
  const data = elf.sectionData(sec);
  let start = 0;
  for (let i = 0; i <= data.length; i++) {
    if (i === data.length || data[i] === 0) {
      if (i > start) {
        const entry = decodeString(data, start, i);
        const eq = entry.indexOf('=');
        if (eq > 0) {
          const key = entry.slice(0, eq);
          const list = out.get(key) ?? [];
          list.push(entry.slice(eq + 1));
          out.set(key, list);
        }
      }
      start = i + 1;
    }
  }
  return out;
}

/** Kernel release from `vermagic` (e.g. `6.12.107+deb12-amd64`), if present. */
export function moduleKernelRelease(elf: ElfFile): string | undefined {
  const vermagic = readModinfo(elf).get('vermagic')?.[0];
  return vermagic?.split(' ')[0] || undefined;
}
