/**
 * Is a module's split `.BTF` really over the vmlinux it was given? Split BTF over the
 * wrong vmlinux still parses, but its type ids and string offsets point at the wrong
 * places; the kernel's own checks (validateBtf) find it at once, where distill or
 * relocation would fail later with a message about the vmlinux. The answer names the
 * module, then what is wrong ("built for another kernel"), sharpened by the module's
 * vermagic when the vmlinux's release is known; a vermagic that names another release
 * over BTF that is valid is only a warning (the same BTF can come from two releases).
 */
import type { Btf } from '../btf/btf.js';
import { BTF_SECTION } from '../btf/source.js';
import { validateBtf } from '../btf/validate.js';
import type { ElfFile } from '../elf/index.js';
import { ModuleError, type ModbtfError } from '../errors.js';
import { kernelOrigin } from './kernel.js';
import { moduleKernelRelease } from './modinfo.js';

/** How the command line names the built-against kernel, for the advice in messages. */
export const BASE_OPTION = '-b/--base';

function describeKernel(base: Btf): string {
  const o = kernelOrigin(base);
  if (!o) return 'the vmlinux given';
  return o.release !== undefined && !o.path.includes(o.release) ? `${o.path} (${o.release})` : o.path;
}

/** The advice part: which kernel to give instead, as precisely as it can be known. */
function advice(moduleRelease: string | undefined, baseRelease: string | undefined): string {
  if (moduleRelease !== undefined && baseRelease !== undefined && moduleRelease !== baseRelease) {
    return `its vermagic names ${moduleRelease}, that vmlinux is ${baseRelease}: give ${BASE_OPTION} ${moduleRelease} (or that kernel's vmlinux)`;
  }
  if (moduleRelease !== undefined && baseRelease !== undefined) {
    return `its vermagic names ${moduleRelease} too, so it was built against another build of that release: give ${BASE_OPTION} the vmlinux of the build it was made with`;
  }
  if (moduleRelease !== undefined) return `its vermagic names ${moduleRelease}: give ${BASE_OPTION} that kernel's vmlinux (or the release ${moduleRelease})`;
  return `give ${BASE_OPTION} the vmlinux (or release) of the kernel it was built against`;
}

/** The error for split BTF that is not valid over `base`; `problem` is the first thing the kernel's checks found. */
export function builtForAnotherKernel(file: string, problem: ModbtfError, base: Btf, elf: ElfFile | undefined): ModuleError {
  const moduleRelease = elf ? moduleKernelRelease(elf) : undefined;
  const at = problem.offset !== undefined ? `+0x${problem.offset.toString(16)}: ` : '';
  return new ModuleError(
    'MODULE_WRONG_VMLINUX',
    `built for another kernel: its .BTF is not valid over ${describeKernel(base)} (${at}${problem.message}); ${advice(moduleRelease, kernelOrigin(base)?.release)}`,
    { file, section: BTF_SECTION, ...(problem.typeId !== undefined ? { typeId: problem.typeId } : {}) },
    { cause: problem },
  );
}

/**
 * Whose load-time checks apply to a module: those of the kernel generation its vermagic
 * names (7.x kernels read the 2026 BTF UAPI), 6.x when it names none.
 */
export function checkingKernelOf(elf: ElfFile | undefined): 6 | 7 {
  const release = elf ? moduleKernelRelease(elf) : undefined;
  const major = release !== undefined ? Number(/^(\d+)\./.exec(release)?.[1]) : NaN;
  return major >= 7 ? 7 : 6;
}

/**
 * Throws builtForAnotherKernel when `split` (parsed over `base`) fails the checks of
 * `kernel` (default: the generation the module's vermagic names).
 */
export function assertBuiltAgainst(file: string, split: Btf, base: Btf, elf: ElfFile | undefined, kernel: 6 | 7 = checkingKernelOf(elf)): void {
  const [problem] = validateBtf(split, { limit: 1, kernel });
  if (problem) throw builtForAnotherKernel(file, problem, base, elf);
}

/**
 * The warning for a module whose vermagic names another release than the vmlinux
 * (both known) while its BTF is valid over it; undefined when there is nothing to say.
 */
export function vermagicMismatch(elf: ElfFile | undefined, base: Btf): string | undefined {
  const moduleRelease = elf ? moduleKernelRelease(elf) : undefined;
  const baseRelease = kernelOrigin(base)?.release;
  if (moduleRelease === undefined || baseRelease === undefined || moduleRelease === baseRelease) return undefined;
  return `its vermagic names ${moduleRelease}, the vmlinux given is ${baseRelease}; its BTF is valid over that vmlinux, so this goes on (give ${BASE_OPTION} ${moduleRelease} if that is the kernel it was built against)`;
}
