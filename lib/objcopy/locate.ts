/**
 * Which objcopy to run for a module. kbuild passes its $(OBJCOPY) (Debian's GNU
 * `x86_64-linux-gnu-objcopy`, or the cross one, `aarch64-linux-gnu-objcopy`), and a
 * command given like that is used as it is. Otherwise the candidates, in order, are
 * LLVM_OBJCOPY, OBJCOPY, llvm-objcopy, `<triple>-objcopy` for the module's machine
 * (Debian's binutils-<triple>), objcopy — and the first one that can handle the
 * module's machine and byte order is taken. That is decided from the ELF header and
 * what the tool says it supports (llvm-objcopy: every ELF machine; GNU objcopy: the
 * BFD targets `--info` lists), never by trying and failing per module.
 *
 * GNU objcopy's --update-section/--add-section output equals what pahole >= 1.28 and
 * gen-btf.sh write byte for byte; llvm-objcopy lays the file out anew (valid, but not
 * the same bytes).
 */
import { ToolError, isModbtfError } from '../errors.js';
import { runTool } from '../tool.js';

export type ObjcopyFlavor = 'gnu' | 'llvm';

export interface ObjcopyTool {
  command: string;
  flavor: ObjcopyFlavor;
  /** First line of `--version`. */
  version: string;
}

/** What an objcopy must handle: the module's ELF machine, class and byte order. */
export interface ElfTarget {
  readonly machine: number;
  readonly is64: boolean;
  readonly littleEndian: boolean;
}

export interface LocateObjcopyOptions {
  /** A command chosen by the caller (e.g. kbuild's $(OBJCOPY)); no fallback when set. */
  command?: string;
  env?: Readonly<Record<string, string | undefined>>;
  /** The module's machine: only an objcopy that handles it is taken. */
  target?: ElfTarget;
}

/** A way to get the objcopy for a module, given its ELF target (cached by the caller). */
export type ObjcopyChooser = (target: ElfTarget) => Promise<ObjcopyTool>;

interface Machine {
  readonly name: string;
  /** GNU triples of Debian's binutils-<triple> packages, by (class, byte order). */
  readonly triple: (is64: boolean, le: boolean) => string | undefined;
  /** BFD target names GNU objcopy must list in --info. */
  readonly bfd: (is64: boolean, le: boolean) => readonly string[];
}

/** ELF machines kernels are built for (include/uapi/linux/elf-em.h). */
const MACHINES: ReadonlyMap<number, Machine> = new Map<number, Machine>([
  [62, { name: 'x86-64', triple: (w) => (w ? 'x86_64-linux-gnu' : 'x86_64-linux-gnux32'), bfd: (w) => [w ? 'elf64-x86-64' : 'elf32-x86-64'] }],
  [3, { name: 'i386', triple: () => 'i686-linux-gnu', bfd: () => ['elf32-i386'] }],
  [183, { name: 'AArch64', triple: (_, le) => (le ? 'aarch64-linux-gnu' : 'aarch64_be-linux-gnu'), bfd: (_, le) => [le ? 'elf64-littleaarch64' : 'elf64-bigaarch64'] }],
  [22, { name: 's390', triple: (w) => (w ? 's390x-linux-gnu' : 's390-linux-gnu'), bfd: (w) => [w ? 'elf64-s390' : 'elf32-s390'] }],
  [21, { name: 'PowerPC64', triple: (_, le) => (le ? 'powerpc64le-linux-gnu' : 'powerpc64-linux-gnu'), bfd: (_, le) => [le ? 'elf64-powerpcle' : 'elf64-powerpc'] }],
  [20, { name: 'PowerPC', triple: () => 'powerpc-linux-gnu', bfd: (_, le) => [le ? 'elf32-powerpcle' : 'elf32-powerpc'] }],
  [40, { name: 'ARM', triple: () => 'arm-linux-gnueabihf', bfd: (_, le) => [le ? 'elf32-littlearm' : 'elf32-bigarm'] }],
  [243, { name: 'RISC-V', triple: (w) => (w ? 'riscv64-linux-gnu' : undefined), bfd: (w) => [w ? 'elf64-littleriscv' : 'elf32-littleriscv'] }],
  [258, { name: 'LoongArch', triple: (w) => (w ? 'loongarch64-linux-gnu' : undefined), bfd: (w) => [w ? 'elf64-loongarch' : 'elf32-loongarch'] }],
  [8, { name: 'MIPS', triple: (w, le) => (w ? (le ? 'mips64el-linux-gnuabi64' : 'mips64-linux-gnuabi64') : (le ? 'mipsel-linux-gnu' : 'mips-linux-gnu')), bfd: (w, le) => [`elf${w ? 64 : 32}-trad${le ? 'little' : 'big'}mips`] }],
  [43, { name: 'SPARC V9', triple: () => 'sparc64-linux-gnu', bfd: () => ['elf64-sparc'] }],
  [0x9026, { name: 'Alpha', triple: () => 'alpha-linux-gnu', bfd: () => ['elf64-alpha'] }],
  [15, { name: 'PA-RISC', triple: (w) => (w ? 'hppa64-linux-gnu' : 'hppa-linux-gnu'), bfd: (w) => [w ? 'elf64-hppa-linux' : 'elf32-hppa-linux'] }],
  [42, { name: 'SuperH', triple: () => 'sh4-linux-gnu', bfd: (_, le) => [le ? 'elf32-sh-linux' : 'elf32-shbig-linux'] }],
  [4, { name: 'm68k', triple: () => 'm68k-linux-gnu', bfd: () => ['elf32-m68k'] }],
]);

/** "AArch64 (64-bit little-endian)": what a message calls the module's machine. */
export function describeTarget(t: ElfTarget): string {
  const name = MACHINES.get(t.machine)?.name ?? `machine ${t.machine}`;
  return `${name} (${t.is64 ? 64 : 32}-bit ${t.littleEndian ? 'little' : 'big'}-endian, e_machine ${t.machine})`;
}

/** The Debian binutils package with an objcopy for this machine, if Debian has one. */
export function binutilsPackage(t: ElfTarget): string | undefined {
  const triple = MACHINES.get(t.machine)?.triple(t.is64, t.littleEndian);
  return triple !== undefined ? `binutils-${triple}` : undefined;
}

const probed = new Map<string, Promise<ObjcopyTool>>();
const infos = new Map<string, Promise<ReadonlySet<string>>>();

/**
 * Probes are kept per command name for the life of the process (PATH is taken to stay
 * the same). Forgets them, for a process whose PATH changes.
 */
export function forgetProbedObjcopies(): void {
  probed.clear();
  infos.clear();
}

function probe(command: string): Promise<ObjcopyTool> {
  let p = probed.get(command);
  if (!p) {
    p = runTool(command, ['--version'], { tool: command.includes('llvm') ? 'llvm-objcopy' : 'objcopy' }).then((out) => {
      const first = new TextDecoder().decode(out).split('\n')[0] ?? '';
      const flavor: ObjcopyFlavor = /llvm/i.test(first) ? 'llvm' : 'gnu';
      return { command, flavor, version: first.trim() };
    });
    probed.set(command, p);
    // A failed probe should not stick: the tool may be installed later in the same process.
    p.catch(() => probed.delete(command));
  }
  return p;
}

/** The BFD targets a GNU objcopy supports (the unindented lines of `--info`). */
function bfdTargets(command: string): Promise<ReadonlySet<string>> {
  let p = infos.get(command);
  if (!p) {
    p = runTool(command, ['--info'], { tool: 'objcopy' }).then((out) => new Set(new TextDecoder().decode(out).split('\n').filter((l) => /^[a-z0-9][\w.-]*$/.test(l))));
    infos.set(command, p);
    p.catch(() => infos.delete(command));
  }
  return p;
}

/** Whether `tool` can rewrite objects of `target`; for GNU, why not (the targets it lacks). */
async function handles(tool: ObjcopyTool, target: ElfTarget): Promise<string | undefined> {
  if (tool.flavor === 'llvm') return undefined;
  const want = MACHINES.get(target.machine)?.bfd(target.is64, target.littleEndian);
  if (want === undefined) return `no known BFD target for ${describeTarget(target)}`;
  const have = await bfdTargets(tool.command);
  return want.some((w) => have.has(w)) ? undefined : `its BFD targets have no ${want.join('/')}`;
}

function explicitTool(command: string): ObjcopyTool {
  return { command, flavor: /llvm/.test(command) ? 'llvm' : 'gnu', version: '' };
}

export async function locateObjcopy(opts: LocateObjcopyOptions = {}): Promise<ObjcopyTool> {
  // A named command is not probed (a fork per module adds up in kbuild); running it
  // reports a missing tool just as well.
  if (opts.command) return explicitTool(opts.command);
  const env = opts.env ?? process.env;
  const t = opts.target;
  const triple = t !== undefined ? MACHINES.get(t.machine)?.triple(t.is64, t.littleEndian) : undefined;
  const candidates = [...new Set([env['LLVM_OBJCOPY'], env['OBJCOPY'], 'llvm-objcopy', triple !== undefined ? `${triple}-objcopy` : undefined, 'objcopy'].filter((c): c is string => !!c))];
  const tried: string[] = [];
  for (const c of candidates) {
    let tool: ObjcopyTool;
    try {
      tool = await probe(c);
    } catch (err: unknown) {
      if (isModbtfError(err) && err.code === 'TOOL_NOT_FOUND') { tried.push(`${c} (not installed)`); continue; }
      throw err;
    }
    if (t === undefined) return tool;
    const why = await handles(tool, t);
    if (why === undefined) return tool;
    tried.push(`${c} (${why})`);
  }
  if (t === undefined) {
    throw new ToolError('TOOL_NOT_FOUND', `no objcopy found (tried ${tried.join(', ')}); install the Debian package binutils or llvm, or set OBJCOPY`, { tool: 'objcopy', argv: candidates });
  }
  const pkgs = ['llvm (its llvm-objcopy handles every machine)', 'binutils-multiarch', binutilsPackage(t)].filter((p): p is string => p !== undefined);
  throw new ToolError('TOOL_NOT_FOUND', `no objcopy here handles ${describeTarget(t)} modules: tried ${tried.join(', ')}; install one of the Debian packages ${pkgs.join(', ')}, or name one with --objcopy / OBJCOPY`, { tool: 'objcopy', argv: candidates });
}

/**
 * An ObjcopyChooser over locateObjcopy that remembers one tool per machine (and the
 * explicit command, when there is one): a batch over many modules probes once.
 */
export function objcopyChooser(opts: Omit<LocateObjcopyOptions, 'target'> = {}): ObjcopyChooser {
  const byTarget = new Map<string, Promise<ObjcopyTool>>();
  return (target) => {
    const key = opts.command ? '' : `${target.machine}/${target.is64 ? 64 : 32}/${target.littleEndian ? 'le' : 'be'}`;
    let p = byTarget.get(key);
    if (!p) {
      p = locateObjcopy({ ...opts, target });
      byTarget.set(key, p);
      p.catch(() => byTarget.delete(key));
    }
    return p;
  };
}

/** The target of an ELF object, as locateObjcopy wants it. */
export function elfTarget(elf: { machine: number; is64: boolean; littleEndian: boolean }): ElfTarget {
  return { machine: elf.machine, is64: elf.is64, littleEndian: elf.littleEndian };
}
