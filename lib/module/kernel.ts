/**
 * Finding a kernel's vmlinux BTF from what a user is likely to type: a path (vmlinux
 * ELF, raw BTF such as /sys/kernel/btf/vmlinux, or gzip of either) or a kernel
 * release like `6.12.117+deb12-amd64`, looked up where Debian and kbuild put it.
 */
import { access } from 'node:fs/promises';
import { release } from 'node:os';
import { ModuleError } from '../errors.js';

export function vmlinuxCandidates(kver: string, running: string = release()): string[] {
  const c = [
    `/usr/src/linux-headers-${kver}/vmlinux`,
    `/lib/modules/${kver}/build/vmlinux`,
    `/usr/lib/debug/boot/vmlinux-${kver}`,
    `/usr/lib/debug/lib/modules/${kver}/vmlinux`,
  ];
  if (kver === running) c.unshift('/sys/kernel/btf/vmlinux');
  return c;
}

async function exists(p: string): Promise<boolean> {
  try { await access(p); return true; } catch { return false; }
}

/** A path is returned as is; a kernel release is looked up. */
export async function resolveKernelBtfPath(spec: string): Promise<string> {
  if (spec.includes('/') || (await exists(spec))) return spec;
  const tried = vmlinuxCandidates(spec);
  for (const p of tried) if (await exists(p)) return p;
  throw new ModuleError('KERNEL_NOT_FOUND', `no vmlinux BTF found for kernel ${spec} (looked at ${tried.join(', ')}); install linux-headers-${spec} or give a vmlinux path`, { file: spec });
}
