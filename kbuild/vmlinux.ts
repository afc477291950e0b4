/**
 * Which vmlinux BTF the module's split BTF is encoded against. Makefile.modfinal
 * runs in the kernel object tree and uses ./vmlinux; Debian's headers ship it, but
 * other trees may not, and kbuild then skips BTF with a one-line note. modbtf looks
 * further: MODBTF_VMLINUX, then /sys/kernel/btf/vmlinux when the tree is for the
 * running kernel (include/config/kernel.release equals uname -r).
 */
import { access, readFile } from 'node:fs/promises';
import { release } from 'node:os';
import { join } from 'node:path';

export interface VmlinuxChoice {
  path: string;
  /** Why this one, for V=1 output. */
  reason: string;
}

async function exists(p: string): Promise<boolean> {
  try { await access(p); return true; } catch { return false; }
}

export async function findBuildVmlinux(objtree: string, env: Readonly<Record<string, string | undefined>>): Promise<VmlinuxChoice | undefined> {
  const explicit = env['MODBTF_VMLINUX'];
  if (explicit) return { path: explicit, reason: 'MODBTF_VMLINUX' };
  const local = join(objtree, 'vmlinux');
  if (await exists(local)) return { path: local, reason: 'the build tree\'s vmlinux' };
  let treeRelease: string | undefined;
  try {
    treeRelease = (await readFile(join(objtree, 'include/config/kernel.release'), 'utf8')).trim();
  } catch { /* not a configured tree */ }
  if (treeRelease !== undefined && treeRelease === release() && (await exists('/sys/kernel/btf/vmlinux'))) {
    return { path: '/sys/kernel/btf/vmlinux', reason: `the running kernel (${treeRelease})` };
  }
  return undefined;
}
