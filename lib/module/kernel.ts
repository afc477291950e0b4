/**
 * Finding a kernel's vmlinux BTF from what a user is likely to type: a path (vmlinux
 * ELF, raw BTF such as /sys/kernel/btf/vmlinux, or gzip of either) or a kernel
 * release like `6.12.117+deb12-amd64`, looked up where Debian and kbuild put it.
 *
 * The release of a vmlinux is remembered where it can be known (given as a release,
 * or a path in one of those places), so that messages can compare it with a
 * module's vermagic.
 */
import { access } from 'node:fs/promises';
import { release as osRelease } from 'node:os';
import type { Btf } from '../btf/btf.js';
import { ModuleError } from '../errors.js';
import { loadBaseBtf } from './btf-file.js';

/** The running kernel's BTF, where the kernel publishes it. */
export const RUNNING_KERNEL_BTF = '/sys/kernel/btf/vmlinux';

/**
 * The directory standing for / when kernels are looked up by release: `MODBTF_ROOT`
 * (a chroot, a copy of another machine's files, tests), else /.
 */
export function kernelLookupRoot(env: Readonly<Record<string, string | undefined>> = process.env): string {
  const r = env['MODBTF_ROOT'];
  return r !== undefined && r !== '' ? r.replace(/\/+$/, '') || '/' : '/';
}

const under = (root: string, p: string): string => (root === '/' ? p : `${root}${p}`);

export function vmlinuxCandidates(kver: string, running: string = osRelease(), root: string = kernelLookupRoot()): string[] {
  const c = [
    `/usr/src/linux-headers-${kver}/vmlinux`,
    `/lib/modules/${kver}/build/vmlinux`,
    `/usr/lib/debug/boot/vmlinux-${kver}`,
    `/usr/lib/debug/lib/modules/${kver}/vmlinux`,
  ].map((p) => under(root, p));
  // Another root is another machine: this kernel's /sys says nothing about it.
  if (kver === running && root === '/') c.unshift(RUNNING_KERNEL_BTF);
  return c;
}

async function exists(p: string): Promise<boolean> {
  try { await access(p); return true; } catch { return false; }
}

/** What a kernel release looks like (`6.12.117+deb12-amd64`, `7.3.0-rc7`), as opposed to a file name. */
export function looksLikeRelease(spec: string): boolean {
  return /^\d+\.\d+[\w.+~-]*$/.test(spec);
}

/** A path is returned as is; a kernel release is looked up. */
export async function resolveKernelBtfPath(spec: string): Promise<string> {
  if (spec.includes('/') || (await exists(spec))) return spec;
  if (!looksLikeRelease(spec)) {
    throw new ModuleError('IO_NOT_FOUND', 'no such file (a kernel is named by its vmlinux, raw BTF such as /sys/kernel/btf/vmlinux, or its release such as 6.12.117+deb12-amd64)', { file: spec });
  }
  const tried = vmlinuxCandidates(spec);
  for (const p of tried) if (await exists(p)) return p;
  throw new ModuleError('KERNEL_NOT_FOUND', `no vmlinux BTF found for kernel ${spec} (looked at ${tried.join(', ')}); install linux-headers-${spec} or give a vmlinux path`, { file: spec });
}

/**
 * The release of the kernel a vmlinux path belongs to, when the path says it (the
 * places vmlinuxCandidates looks at, under any root) or it is the running kernel's BTF.
 */
export function releaseOfKernelPath(path: string, running: string = osRelease()): string | undefined {
  const m = /(?:^|\/)usr\/src\/linux-headers-([^/]+)\/vmlinux$/.exec(path)
    ?? /(?:^|\/)lib\/modules\/([^/]+)\/build\/vmlinux$/.exec(path)
    ?? /(?:^|\/)usr\/lib\/debug\/boot\/vmlinux-([^/]+)$/.exec(path)
    ?? /(?:^|\/)usr\/lib\/debug\/lib\/modules\/([^/]+)\/vmlinux$/.exec(path);
  if (m) return m[1];
  return path === RUNNING_KERNEL_BTF ? running : undefined;
}

export interface KernelOrigin {
  /** The file the BTF was read from. */
  path: string;
  /** Its kernel release, when known. */
  release: string | undefined;
}

const origins = new WeakMap<Btf, KernelOrigin>();

/** Where a vmlinux BTF loaded by loadKernelBtf came from. */
export function kernelOrigin(btf: Btf): KernelOrigin | undefined {
  return origins.get(btf);
}

/** A kernel's vmlinux BTF from a path or a release; remembers its origin (kernelOrigin). */
export async function loadKernelBtf(spec: string): Promise<Btf> {
  const path = await resolveKernelBtfPath(spec);
  const btf = await loadBaseBtf(path);
  origins.set(btf, { path, release: path !== spec && looksLikeRelease(spec) ? spec : releaseOfKernelPath(path) });
  return btf;
}
