/**
 * What doctor needs to know about one kernel of the machine: is it installed, is it
 * running, what its config says about module BTF, which kernel's BTF checks it runs,
 * whether it relocates `.BTF.base`, and where its vmlinux BTF is.
 */
import { gunzipSync } from 'node:zlib';
import { vmlinuxCandidates } from '../module/kernel.js';
import { KERNEL_CHECKS, kernelChecksFor, type KernelCheckRules } from '../btf/kernel-checks.js';
import type { SystemRoot } from './root.js';

export interface KernelVersion { major: number; minor: number; patch: number }

/** `6.12.117+deb12-amd64` → 6.12.117; `7.3-amd64` → 7.3.0. */
export function parseRelease(release: string): KernelVersion | undefined {
  const m = /^(\d+)\.(\d+)(?:\.(\d+))?/.exec(release);
  if (!m) return undefined;
  return { major: Number(m[1]), minor: Number(m[2]), patch: m[3] === undefined ? 0 : Number(m[3]) };
}

/** Kernels compared by version, then by release text. */
export function compareReleases(a: string, b: string): number {
  const va = parseRelease(a);
  const vb = parseRelease(b);
  if (va && vb) {
    const d = va.major - vb.major || va.minor - vb.minor || va.patch - vb.patch;
    if (d !== 0) return d;
  }
  return a < b ? -1 : a > b ? 1 : 0;
}

export interface KernelConfig {
  /** Where it was read (system path); undefined when no config was found. */
  file: string | undefined;
  /** CONFIG_DEBUG_INFO_BTF_MODULES (undefined: unknown). */
  btfModules: boolean | undefined;
  /** CONFIG_MODULE_ALLOW_BTF_MISMATCH (undefined: unknown). */
  allowBtfMismatch: boolean | undefined;
}

/** `CONFIG_X=y` / `# CONFIG_X is not set` lines of a kernel .config. */
export function parseKconfig(text: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const line of text.split('\n')) {
    const set = /^(CONFIG_\w+)=(.*)$/.exec(line);
    if (set) { out.set(set[1] as string, set[2] as string); continue; }
    const unset = /^# (CONFIG_\w+) is not set$/.exec(line);
    if (unset) out.set(unset[1] as string, 'n');
  }
  return out;
}

/** Where Debian and kbuild keep a kernel's config, in the order doctor reads them. */
export function configCandidates(release: string, running: boolean): string[] {
  const c = [
    `/boot/config-${release}`,
    `/usr/lib/modules/${release}/config`,
    `/lib/modules/${release}/config`,
    `/lib/modules/${release}/build/.config`,
    `/usr/src/linux-headers-${release}/.config`,
  ];
  if (running) c.push('/proc/config.gz');
  return c;
}

export async function readKernelConfig(root: SystemRoot, release: string, running: boolean): Promise<KernelConfig> {
  for (const file of configCandidates(release, running)) {
    const bytes = await root.readBytes(file);
    if (bytes === undefined) continue;
    let text: string;
    try {
      text = Buffer.from(file.endsWith('.gz') ? gunzipSync(bytes) : bytes).toString('utf8');
    } catch { continue; }
    const cfg = parseKconfig(text);
    if (cfg.size === 0) continue;
    const flag = (k: string): boolean => cfg.get(k) === 'y';
    return { file, btfModules: flag('CONFIG_DEBUG_INFO_BTF_MODULES'), allowBtfMismatch: flag('CONFIG_MODULE_ALLOW_BTF_MISMATCH') };
  }
  return { file: undefined, btfModules: undefined, allowBtfMismatch: undefined };
}

/** Since 6.11 the kernel relocates a module's `.BTF` over its `.BTF.base` at load (btf_relocate). */
export function relocatesModuleBtf(v: KernelVersion | undefined): boolean | undefined {
  if (!v) return undefined;
  return v.major > 6 || (v.major === 6 && v.minor >= 11);
}

/** The kernel's own BTF checks for a release (kernel-checks.ts); 6.12's when the version is unknown. */
export function checksOf(v: KernelVersion | undefined): KernelCheckRules {
  return v ? kernelChecksFor(v.major, v.minor) : KERNEL_CHECKS['6.12'];
}

/**
 * Where the vmlinux BTF of a kernel is: /sys/kernel/btf/vmlinux for the running one,
 * else its headers (as `modbtf check --kernel RELEASE` looks), as a system path.
 */
export async function findVmlinux(root: SystemRoot, release: string, running: boolean): Promise<{ file: string; tried: string[] } | { file?: undefined; tried: string[] }> {
  const tried = vmlinuxCandidates(release, running ? release : '', '/');
  for (const f of tried) if (await root.isFile(f)) return { file: f, tried };
  return { tried };
}

/** Installed: the kernel image, or its modules' index, is there (not only a leftover updates/). */
export async function isInstalled(root: SystemRoot, release: string): Promise<boolean> {
  for (const f of [`/boot/vmlinuz-${release}`, `/lib/modules/${release}/vmlinuz`, `/lib/modules/${release}/modules.builtin`, `/lib/modules/${release}/modules.order`]) {
    if (await root.exists(f)) return true;
  }
  return root.isDir(`/lib/modules/${release}/kernel`);
}
