/**
 * The out-of-tree modules of a kernel (`/lib/modules/<release>/updates` — where DKMS puts
 * them, in `updates/dkms` — and `extra`), and what doctor needs to know of each file:
 * its name and build identity (to match it to a loaded module), the kernel it was built
 * for, and which BTF sections it carries.
 */
import { posix } from 'node:path';
import { BTF_BASE_SECTION, BTF_SECTION, KEPT_BTF_SECTION } from '../btf/source.js';
import { isModbtfError } from '../errors.js';
import type { ElfFile } from '../elf/index.js';
import { loadModuleBytes, type LoadedModule } from '../module/load.js';
import { readModinfo } from '../module/modinfo.js';
import { MODULE_FILE } from '../module/walk.js';
import type { SystemRoot } from './root.js';

/** The directories of /lib/modules/<release> that hold out-of-tree modules. */
export const OUT_OF_TREE_DIRS = ['updates', 'extra'] as const;

export interface DkmsOwner { package: string; version: string }

export interface ModuleFacts {
  /** System path of the file. */
  file: string;
  /** Where it is read from (the same path, under --root). */
  hostFile: string;
  /** The kernel release whose /lib/modules tree holds it. */
  installedFor: string;
  /** The module's name (modinfo `name`, else from the file name). */
  name: string;
  /** First word of modinfo `vermagic`: the kernel it was built for. */
  builtFor: string | undefined;
  srcversion: string | undefined;
  version: string | undefined;
  /** The .note.gnu.build-id section, as /sys/module/<name>/notes/.note.gnu.build-id holds it. */
  buildIdNote: Uint8Array | undefined;
  hasBtf: boolean;
  hasBtfBase: boolean;
  /** The distilled pair `modbtf retarget` keeps (.BTF.modbtf). */
  retargeted: boolean;
  dkms: DkmsOwner | undefined;
  /** Installed where DKMS installs (updates/dkms), with or without a DKMS record. */
  dkmsDir: boolean;
  /** Set when the file cannot be read as a module; nothing else is then known. */
  error: string | undefined;
  /** The loaded file, for the BTF checks (not serialized). */
  loaded: LoadedModule | undefined;
}

/** `foo-bar.ko.xz` → `foo_bar` (the kernel's module name). */
export function nameFromFile(file: string): string {
  return posix.basename(file).replace(MODULE_FILE, '').replace(/-/g, '_');
}

function buildIdNote(elf: ElfFile): Uint8Array | undefined {
  const sec = elf.sectionByName('.note.gnu.build-id');
  return sec ? elf.sectionData(sec) : undefined;
}

/** The build id in hex (the descriptor of the GNU note), for people. */
export function buildIdHex(note: Uint8Array | undefined): string | undefined {
  if (note === undefined || note.length < 16) return undefined;
  const dv = new DataView(note.buffer, note.byteOffset, note.byteLength);
  // Both byte orders: the note is in the module's, a namesz of 4 tells which.
  const le = dv.getUint32(0, true) === 4;
  const namesz = dv.getUint32(0, le);
  const descsz = dv.getUint32(4, le);
  const descAt = 12 + ((namesz + 3) & ~3);
  if (descAt + descsz > note.length) return undefined;
  return Buffer.from(note.subarray(descAt, descAt + descsz)).toString('hex');
}

export async function readModuleFacts(root: SystemRoot, file: string, installedFor: string, dkms: DkmsOwner | undefined): Promise<ModuleFacts> {
  const facts: ModuleFacts = {
    file, hostFile: file, installedFor, dkmsDir: file.startsWith(`/lib/modules/${installedFor}/updates/dkms/`), name: nameFromFile(file), builtFor: undefined, srcversion: undefined, version: undefined,
    buildIdNote: undefined, hasBtf: false, hasBtfBase: false, retargeted: false, dkms, error: undefined, loaded: undefined,
  };
  const host = await root.resolve(file);
  const raw = await root.readBytes(file);
  if (host === undefined || raw === undefined) return { ...facts, error: 'cannot read the file' };
  facts.hostFile = host;
  let loaded: LoadedModule;
  try {
    loaded = await loadModuleBytes(raw, host);
  } catch (err: unknown) {
    return { ...facts, error: isModbtfError(err) ? err.message : String(err) };
  }
  const info = readModinfo(loaded.elf);
  const first = (k: string): string | undefined => info.get(k)?.[0];
  return {
    ...facts,
    name: first('name') ?? facts.name,
    builtFor: first('vermagic')?.split(' ')[0] || undefined,
    srcversion: first('srcversion'),
    version: first('version'),
    buildIdNote: buildIdNote(loaded.elf),
    // The loader takes a .BTF of size 0 as no BTF at all (btf_module_notify: btf_data_size == 0).
    hasBtf: (loaded.elf.sectionByName(BTF_SECTION)?.size ?? 0) > 0,
    hasBtfBase: loaded.elf.sectionByName(BTF_BASE_SECTION) !== undefined,
    retargeted: loaded.elf.sectionByName(KEPT_BTF_SECTION) !== undefined,
    loaded,
  };
}

/**
 * DKMS's record of what it built: /var/lib/dkms/<package>/<version>/<release>/<arch>/module/<file>.
 * Returns, per release, module name → package and version.
 */
export async function dkmsOwners(root: SystemRoot): Promise<Map<string, Map<string, DkmsOwner>>> {
  const out = new Map<string, Map<string, DkmsOwner>>();
  for (const pkg of await root.list('/var/lib/dkms')) {
    for (const version of await root.list(`/var/lib/dkms/${pkg}`)) {
      if (!(await root.isDir(`/var/lib/dkms/${pkg}/${version}`))) continue;
      for (const release of await root.list(`/var/lib/dkms/${pkg}/${version}`)) {
        if (release === 'source' || release === 'build') continue;
        for (const arch of await root.list(`/var/lib/dkms/${pkg}/${version}/${release}`)) {
          for (const f of await root.list(`/var/lib/dkms/${pkg}/${version}/${release}/${arch}/module`)) {
            if (!MODULE_FILE.test(f)) continue;
            const byName = out.get(release) ?? new Map<string, DkmsOwner>();
            byName.set(nameFromFile(f), { package: pkg, version });
            out.set(release, byName);
          }
        }
      }
    }
  }
  return out;
}

/** Every out-of-tree module file installed for a kernel, with its facts. */
export async function outOfTreeModules(root: SystemRoot, release: string, owners: Map<string, DkmsOwner> | undefined): Promise<ModuleFacts[]> {
  const files: string[] = [];
  for (const d of OUT_OF_TREE_DIRS) files.push(...(await root.walk(`/lib/modules/${release}/${d}`, MODULE_FILE)));
  const out: ModuleFacts[] = [];
  for (const f of files) out.push(await readModuleFacts(root, f, release, owners?.get(nameFromFile(f))));
  return out;
}
