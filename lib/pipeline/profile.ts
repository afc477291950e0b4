/**
 * The one place that knows how kernel trees finalize module BTF. Each pipeline modbtf can
 * reproduce byte for byte is an entry of PROFILES (DESIGN.md, shared/spec/KERNEL7.md):
 *
 *  - '6' (kernels up to 6.19): pahole writes `.BTF` into the module (and `.BTF.base` for
 *    KBUILD_EXTMOD with pahole >= 1.28), resolve_btfids then patches `.BTF_ids` in place.
 *    BTF keeps pahole's order and its 24-byte header.
 *  - '7.2' (7.0 to 7.2): pahole only encodes (--btf_encode_detached); resolve_btfids applies
 *    btf2btf (KF_IMPLICIT_ARGS kfuncs, found through pahole's `bpf_kfunc` decl tags),
 *    distills (`--distill_base`, KBUILD_EXTMOD), sorts the split BTF by name, resolves
 *    `.BTF_ids` against the final ids and writes raw files that gen-btf.sh embeds with
 *    objcopy and `--patch_btfids`. BTF objects libbpf creates there (the distilled pair) get
 *    its 32-byte struct btf_header.
 *  - '7.3': as 7.2, but resolve_btfids finds the kfuncs in the BTF_SET8_KFUNCS sets itself,
 *    adds their `bpf_kfunc` / `bpf_fastcall` decl tags and the KF_ARENA_* prototypes, and runs
 *    btf__dedup with its tree's libbpf (the fixed typedef hashing) before distilling.
 *
 * Everything that differs between pipelines is a field here; the pipeline code asks the
 * profile instead of testing versions. A kernel newer than the newest entry has no profile
 * (profileForRelease says so): modbtf then writes nothing of its own. Kernel 7.4 is a new
 * entry, not a new condition.
 */
import type { DedupBehaviour } from '../dedup/behaviour.js';

/** The resolve_btfids interface generation: 6 (6.12's: patches the object in place) or 7 (7.x's: raw files). */
export type KernelAbi = 6 | 7;

/** The pipelines by name, as `--kernel-abi` and MODBTF_KERNEL_ABI name them. */
export type ProfileName = '6' | '7.2' | '7.3';

/** What btf2btf does to the kfuncs of BTF_SET8_KFUNCS sets (resolve_btfids 7.x). */
export interface KfuncRules {
  /**
   * How kfuncs are found: 'decl-tags' (7.2: the targets of pahole's `bpf_kfunc` decl tags
   * that have a `__BTF_ID__func__` symbol, each with the flags of the first set8 holding
   * one of its addresses, in decl tag order) or 'set8' (7.3: every pair of every
   * BTF_SET8_KFUNCS set, named by the symbol at its address, in BTF id order).
   */
  readonly source: 'decl-tags' | 'set8';
  /** Adds a `bpf_kfunc` decl tag to every kfunc, and `bpf_fastcall` for KF_FASTCALL. */
  readonly declTags: boolean;
  /** Wraps KF_ARENA_* / `__arena` pointers in a new prototype (address_space(1)). */
  readonly arena: boolean;
  /** Where `<name>_impl` is looked for: every type ('all', btf__find_by_name_kind) or the module's own ('own'). */
  readonly implLookup: 'all' | 'own';
}

export interface PipelineProfile {
  readonly name: ProfileName;
  readonly abi: KernelAbi;
  /** The first kernel VERSION.PATCHLEVEL this pipeline is; it lasts until the next entry's. */
  readonly since: readonly [number, number];
  /** hdr_len of BTF blobs created by the tree's libbpf (the distilled base and split). */
  readonly newBtfHeaderLen: 24 | 32;
  /** resolve_btfids' btf2btf; undefined: no such step (6.x). */
  readonly kfuncs: KfuncRules | undefined;
  /** finalize_btf's btf__dedup and whose libbpf runs it; undefined: no dedup there. */
  readonly dedup: DedupBehaviour | undefined;
  /** The split BTF is sorted by name after distilling (sort_btf_by_name). */
  readonly sortByName: boolean;
  /**
   * How `.BTF` and `.BTF.base` reach the module: 'pahole' (pahole adds `.BTF` itself;
   * modbtf updates it and adds `.BTF.base` in one objcopy call) or 'gen-btf' (gen-btf.sh's
   * `objcopy --add-section .BTF`, then a second call for `.BTF.base`).
   */
  readonly embedding: 'pahole' | 'gen-btf';
  /** The resolve_btfids whose bytes this is, for messages ('6.12', '7.2.13', '7.3-rc7'). */
  readonly tool: string;
  /** Describes the pipeline in messages. */
  readonly label: string;
}

/** Oldest first; a kernel gets the last entry whose `since` it has reached. */
const PROFILES: readonly PipelineProfile[] = [
  {
    name: '6', abi: 6, since: [0, 0], newBtfHeaderLen: 24, kfuncs: undefined, dedup: undefined, sortByName: false,
    embedding: 'pahole', tool: '6.12', label: 'kernel 6.x (pahole + resolve_btfids)',
  },
  {
    name: '7.2', abi: 7, since: [7, 0], newBtfHeaderLen: 32,
    kfuncs: { source: 'decl-tags', declTags: false, arena: false, implLookup: 'all' },
    dedup: undefined, sortByName: true, embedding: 'gen-btf', tool: '7.2.13',
    label: 'kernel 7.0-7.2 (gen-btf.sh + resolve_btfids --distill_base)',
  },
  {
    name: '7.3', abi: 7, since: [7, 3], newBtfHeaderLen: 32,
    kfuncs: { source: 'set8', declTags: true, arena: true, implLookup: 'own' },
    dedup: 'fixed', sortByName: true, embedding: 'gen-btf', tool: '7.3-rc7',
    label: 'kernel 7.3 (gen-btf.sh + resolve_btfids: kfunc tags, btf__dedup, --distill_base)',
  },
];

/** Every profile name, oldest first. */
export const PROFILE_NAMES: readonly ProfileName[] = PROFILES.map((p) => p.name);

/** What `--kernel-abi` takes: the profile names, and `7` for 7.2 (its meaning before 7.3 existed). */
export const KERNEL_ABI_CHOICES: readonly string[] = [...PROFILE_NAMES, '7'];

export function pipelineProfile(name: ProfileName): PipelineProfile {
  const p = PROFILES.find((x) => x.name === name);
  if (p === undefined) throw new RangeError(`no pipeline profile ${name}`);
  return p;
}

/** The newest pipeline modbtf knows. */
export function newestProfile(): PipelineProfile {
  return PROFILES[PROFILES.length - 1] as PipelineProfile;
}

/** VERSION.PATCHLEVEL of a kernel release (`7.3-amd64` -> [7, 3]); undefined if it does not start with one. */
export function releaseVersion(release: string): [number, number] | undefined {
  const m = /^(\d+)\.(\d+)/.exec(release.trim());
  return m ? [Number(m[1]), Number(m[2])] : undefined;
}

const before = (a: readonly [number, number], b: readonly [number, number]): boolean => a[0] < b[0] || (a[0] === b[0] && a[1] < b[1]);

export type ProfileChoice =
  /** A pipeline modbtf reproduces. */
  | { readonly kind: 'known'; readonly profile: PipelineProfile }
  /** A kernel newer than the newest profile: modbtf cannot know its bytes. */
  | { readonly kind: 'newer'; readonly release: string; readonly version: readonly [number, number]; readonly newest: PipelineProfile }
  /** Not a release modbtf can read a version from. */
  | { readonly kind: 'unknown'; readonly release: string };

/**
 * The pipeline of a kernel release. The newest profile covers its own VERSION.PATCHLEVEL
 * (all its stable updates) and nothing after it: a later kernel is 'newer', never the
 * newest profile's bytes.
 */
export function profileForRelease(release: string): ProfileChoice {
  const v = releaseVersion(release);
  if (v === undefined) return { kind: 'unknown', release };
  const newest = newestProfile();
  if (before(newest.since, v)) return { kind: 'newer', release: release.trim(), version: v, newest };
  let found = PROFILES[0] as PipelineProfile;
  for (const p of PROFILES) if (!before(v, p.since)) found = p;
  return { kind: 'known', profile: found };
}

/** "6.x, 7.2, 7.3": the pipelines, for messages. */
export function knownPipelines(): string {
  return PROFILES.map((p) => (p.name === '6' ? '6.x' : p.name)).join(', ');
}

/** Parses `--kernel-abi` / MODBTF_KERNEL_ABI values: 6, 7.2, 7.3, and 7 meaning 7.2. */
export function parseKernelAbi(value: string): ProfileName | undefined {
  const v = value.trim();
  if (v === '7') return '7.2';
  return (PROFILE_NAMES as readonly string[]).includes(v) ? (v as ProfileName) : undefined;
}
