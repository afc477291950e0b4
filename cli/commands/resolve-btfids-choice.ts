/**
 * Which resolve_btfids `modbtf resolve-btfids` is, decided in one place:
 *
 *  1. MODBTF_KERNEL_ABI=6|7.2|7.3 (7 = 7.2) forces one; any other value is refused.
 *  2. A 7.x-only option (--distill_base, --patch_btfids) makes it 7.x; otherwise OBJECT's
 *     vermagic does: a 7.x kernel (or one newer than every pipeline) 7.x, else 6.12.
 *  3. As 7.x, the pipeline is the one of OBJECT's kernel (7.0-7.2: 7.2.13's bytes, 7.3:
 *     7.3's). An object that names no 7.x kernel is refused (exit 255) rather than given
 *     some kernel's bytes; --patch_btfids, the same in every 7.x, needs no pipeline.
 *  4. OBJECT of a kernel newer than every pipeline modbtf knows: the tree's own
 *     resolve_btfids runs instead, with the same arguments (`$objtree/tools/bpf/resolve_btfids/
 *     resolve_btfids`, objtree from kbuild's environment or --btf_base's directory), after
 *     one `modbtf: warning:`; without it, or with MODBTF_STRICT=1, it is refused (exit 255).
 */
import { knownPipelines, parseKernelAbi, pipelineProfile, profileForRelease, type PipelineProfile, type ProfileName } from '../../lib/pipeline/profile.js';
import { OPTIONS_6, OPTIONS_7, parseResolveBtfidsArgs } from './resolve-btfids-options.js';

export type InterfaceChoice =
  | { readonly abi: 6 }
  /** `forced`: MODBTF_KERNEL_ABI named this 7.x pipeline. */
  | { readonly abi: 7; readonly forced?: ProfileName }
  /** Refused before anything is read: resolve_btfids' FAILED line. */
  | { readonly refuse: string };

const ENV = 'MODBTF_KERNEL_ABI';

/** An option (or unambiguous abbreviation) that only 7.x's resolve_btfids has, before the object. */
function sevenOnlyOption(argv: readonly string[]): boolean {
  for (const a of argv) {
    if (a === '--' || !a.startsWith('-')) return false;
    const body = a.startsWith('--') ? (a.slice(2).split('=')[0] ?? '') : '';
    if (body !== '' && ['distill_base', 'patch_btfids'].some((o) => o.startsWith(body))) return true;
  }
  return false;
}

export async function chooseInterface(argv: readonly string[], env: Readonly<Record<string, string | undefined>>): Promise<InterfaceChoice> {
  const forced = env[ENV];
  if (forced !== undefined && forced !== '') {
    const name = parseKernelAbi(forced);
    if (name === undefined) return { refuse: `FAILED modbtf: ${ENV}=${forced} names no kernel pipeline modbtf knows (6, 7.2, 7.3; 7 means 7.2)` };
    return pipelineProfile(name).abi === 6 ? { abi: 6 } : { abi: 7, forced: name };
  }
  const as7 = parseResolveBtfidsArgs(argv, OPTIONS_7);
  if (as7.ok && (as7.args.distillBase || as7.args.patchBtfids !== undefined)) return { abi: 7 };
  if (sevenOnlyOption(argv)) return { abi: 7 };
  const parsed = parseResolveBtfidsArgs(argv, OPTIONS_6);
  if (!parsed.ok) return { abi: 6 };
  const release = await objectRelease(parsed.args.object);
  const choice = release !== undefined ? profileForRelease(release) : undefined;
  if (choice?.kind === 'newer' || (choice?.kind === 'known' && choice.profile.abi === 7)) return { abi: 7 };
  return { abi: 6 };
}

/** The kernel release in an object's vermagic; undefined when it cannot be read or has none. */
async function objectRelease(path: string): Promise<string | undefined> {
  try {
    const [{ readFile }, { parseElf }, { moduleKernelRelease }] = await Promise.all([
      import('node:fs/promises'), import('../../lib/elf/index.js'), import('../../lib/module/modinfo.js'),
    ]);
    return moduleKernelRelease(parseElf(new Uint8Array(await readFile(path))));
  } catch {
    return undefined;
  }
}

/**
 * The 7.x pipeline to be for `object` (its vermagic `release`), or the FAILED line that
 * refuses it.
 */
export function sevenProfile(object: string, release: string | undefined, forced: ProfileName | undefined): PipelineProfile | { refuse: string } {
  if (forced !== undefined) return pipelineProfile(forced);
  const choice = release !== undefined ? profileForRelease(release) : undefined;
  if (choice?.kind === 'known' && choice.profile.abi === 7) return choice.profile;
  if (choice?.kind === 'newer') {
    return { refuse: `FAILED modbtf: ${object} was built for kernel ${choice.release}, newer than every resolve_btfids modbtf knows (${knownPipelines()}; the newest: ${choice.newest.tool}). Run that kernel's own tools/bpf/resolve_btfids, or set ${ENV}=${choice.newest.name} to force the newest` };
  }
  const what = release !== undefined ? `was built for kernel ${release}` : 'names no kernel in a vermagic';
  return { refuse: `FAILED modbtf: ${object} ${what}: cannot tell which kernel 7.x resolve_btfids to be. Set ${ENV}=7.2 (kernels 7.0-7.2) or ${ENV}=7.3` };
}

/** An object built for a kernel newer than every pipeline: its release and the newest profile; undefined otherwise. */
export async function newerObject(object: string): Promise<{ release: string; newest: PipelineProfile; what: string } | undefined> {
  const release = await objectRelease(object);
  const choice = release !== undefined ? profileForRelease(release) : undefined;
  if (choice?.kind !== 'newer') return undefined;
  return { release: choice.release, newest: choice.newest, what: `${object} was built for kernel ${choice.release}, newer than every resolve_btfids modbtf knows (${knownPipelines()}; the newest: ${choice.newest.tool})` };
}

/** The tree's own resolve_btfids: under kbuild's $objtree, or next to the --btf_base file (a tree's vmlinux). */
export async function treeResolveBtfids(env: Readonly<Record<string, string | undefined>>, base: string | undefined): Promise<string | undefined> {
  const [{ access, constants }, { dirname, join }] = await Promise.all([import('node:fs/promises'), import('node:path')]);
  const dirs = [env['objtree'], base !== undefined ? dirname(base) : undefined].filter((d): d is string => d !== undefined && d !== '');
  for (const d of dirs) {
    const p = join(d, 'tools', 'bpf', 'resolve_btfids', 'resolve_btfids');
    try { await access(p, constants.X_OK); return p; } catch { /* next */ }
  }
  return undefined;
}

/** How the interface is chosen, for help texts. */
export const INTERFACE_CHOICE_HELP = ` modbtf resolve-btfids is the resolve_btfids of the kernel OBJECT was built for:
   6.12 (kernels up to 6.19): resolves OBJECT's .BTF_ids in place;
   7.2  (kernels 7.0-7.2): writes OBJECT.BTF, OBJECT.BTF.base (--distill_base) and
        OBJECT.BTF_ids (KF_IMPLICIT_ARGS rewrite, name-sorted BTF), or patches a .BTF_ids
        blob into OBJECT (--patch_btfids);
   7.3  (kernel 7.3): as 7.2, and adds the kfuncs' bpf_kfunc/bpf_fastcall decl tags and
        arena prototypes and runs btf__dedup first, as 7.3's resolve_btfids does.
 It is 7.x when the line has --distill_base or --patch_btfids or OBJECT's vermagic names a
 7.x kernel, 6.12 otherwise; which 7.x comes from the vermagic. For an object of a kernel
 newer than 7.3 the tree's own tools/bpf/resolve_btfids runs (under $objtree, or next to the
 --btf_base vmlinux), with a warning; without one (or with MODBTF_STRICT=1) it is refused
 (exit 255). ${ENV}=6, 7.2 or 7.3 forces one (7 means 7.2).
`;
