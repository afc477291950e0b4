// Debian's unstripped 7.2.13 cloud-amd64 modules (linux-image-7.2.13+deb14-cloud-amd64-dbg,
// sid: DWARF 5 from gcc 16, .rela.debug_*, .symtab), unpacked inside the sid chroot so the
// chroot's eu-readelf / pahole (elfutils 0.196) read the same files as lib/dwarf:
//
//   chroot /var/cache/modbtf-debs/<pkg>_<version>_amd64.deb    (sid.mjs sidDownload)
//   chroot /var/lib/modbtf-dbg/<pkg>_<version>/                the package unpacked
//          .../usr/lib/debug/lib/modules/<kver>/kernel/**.ko   the modules
//   chroot /var/lib/modbtf-dbg/<pkg>_<version>.unpacked        stamp
//
// Resumable: an interrupted unpack (no stamp) is removed and done again; the .deb is kept.
import { existsSync, mkdirSync, readdirSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { $ } from 'zx';
import { SID_BASE_PACKAGES, ensureSid, sidDownload, sidPath } from './sid.mjs';

export const DBG_KVER = '7.2.13+deb14-cloud-amd64';
export const DBG_PACKAGE = `linux-image-${DBG_KVER}-dbg`;
const DBG_DIR = '/var/lib/modbtf-dbg';

/** Thrown when the archive no longer has the package: the check is skipped, not failed. */
export class PackageVanished extends Error {}

/**
 * The unpacked -dbg package: { root (host path), rootInSid, modules (host path of the
 * kernel/ directory), deb, version }. Installs `packages` in the chroot (elfutils for the
 * reference eu-readelf by default).
 */
export async function ensureCloudDbg({ packages = ['elfutils'], log = console.log } = {}) {
  await ensureSid([...new Set([...SID_BASE_PACKAGES, ...packages])], log);
  let deb;
  try {
    deb = await sidDownload(DBG_PACKAGE);
  } catch (err) {
    const msg = String(err?.stderr ?? err?.message ?? err);
    if (/Unable to locate package|has no installation candidate|Can't select|gave no \.deb|No packages found/i.test(msg)) {
      throw new PackageVanished(`${DBG_PACKAGE} is not in the sid archive any more (${msg.trim().split('\n').pop()})`);
    }
    throw err;
  }
  const name = basename(deb, '_amd64.deb');
  const version = name.split('_')[1];
  const rootInSid = `${DBG_DIR}/${name}`;
  const root = sidPath(rootInSid);
  const stamp = sidPath(`${DBG_DIR}/${name}.unpacked`);
  if (!existsSync(stamp)) {
    mkdirSync(sidPath(DBG_DIR), { recursive: true });
    const tmp = `${root}.partial`;
    rmSync(tmp, { recursive: true, force: true });
    rmSync(root, { recursive: true, force: true });
    log(`unpack ${basename(deb)} (${Math.round(statSync(deb).size / 1e6)} MB) into ${root}`);
    await $`dpkg-deb -x ${deb} ${tmp}`;
    renameSync(tmp, root);
    writeFileSync(stamp, `${new Date().toISOString()}\n`);
  }
  const modules = join(root, 'usr/lib/debug/lib/modules', DBG_KVER, 'kernel');
  if (!existsSync(modules)) throw new Error(`${DBG_PACKAGE}: no ${modules} in the package`);
  return { root, rootInSid, modules, deb, version };
}

/** Every .ko under a directory, sorted. */
export function listModules(dir) {
  const out = [];
  const walk = (d) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.name.endsWith('.ko')) out.push(p);
    }
  };
  walk(dir);
  return out.sort();
}
