/**
 * The one place that knows how a kernel tree finalizes module BTF. Two pipelines are
 * in use (DESIGN.md, shared/spec/KERNEL7.md):
 *
 *  - kernels 6.x (6.11–6.19): pahole writes `.BTF` into the module (and `.BTF.base` for
 *    KBUILD_EXTMOD with pahole >= 1.28), resolve_btfids then patches `.BTF_ids` in place.
 *    BTF keeps pahole's order and its 24-byte header.
 *  - kernels >= 7.0: pahole only encodes (--btf_encode_detached); resolve_btfids applies
 *    btf2btf (KF_IMPLICIT_ARGS kfuncs), distills (`--distill_base`, KBUILD_EXTMOD), sorts
 *    the split BTF by name, resolves `.BTF_ids` against the final ids and writes raw
 *    files that gen-btf.sh embeds with objcopy and `--patch_btfids`. BTF objects that
 *    libbpf creates there (the distilled pair) get its 32-byte struct btf_header.
 *
 * Everything that differs between them is a field here; the pipeline code asks the
 * profile instead of testing versions.
 */

/** The major generation of the kernel's BTF pipeline: 6 (up to 6.19) or 7 (7.0 and later). */
export type KernelAbi = 6 | 7;

export interface PipelineProfile {
  readonly abi: KernelAbi;
  /** hdr_len of BTF blobs created by the tree's libbpf (the distilled base and split). */
  readonly newBtfHeaderLen: 24 | 32;
  /** resolve_btfids rewrites KF_IMPLICIT_ARGS kfuncs before anything else (btf2btf). */
  readonly implicitArgs: boolean;
  /** The split BTF is sorted by name after distilling (sort_btf_by_name). */
  readonly sortByName: boolean;
  /**
   * How `.BTF` and `.BTF.base` reach the module: 'pahole' (pahole adds `.BTF` itself;
   * modbtf updates it and adds `.BTF.base` in one objcopy call) or 'gen-btf' (gen-btf.sh's
   * `objcopy --add-section .BTF`, then a second call for `.BTF.base`).
   */
  readonly embedding: 'pahole' | 'gen-btf';
  /** Describes the pipeline in messages. */
  readonly label: string;
}

const PROFILES: Readonly<Record<KernelAbi, PipelineProfile>> = {
  6: { abi: 6, newBtfHeaderLen: 24, implicitArgs: false, sortByName: false, embedding: 'pahole', label: 'kernel 6.x (pahole + resolve_btfids)' },
  7: { abi: 7, newBtfHeaderLen: 32, implicitArgs: true, sortByName: true, embedding: 'gen-btf', label: 'kernel 7.x (gen-btf.sh + resolve_btfids --distill_base)' },
};

export function pipelineProfile(abi: KernelAbi): PipelineProfile {
  return PROFILES[abi];
}

/** The pipeline generation of a kernel release (`7.2.13+deb14-amd64` -> 7); undefined if it does not start with a version. */
export function abiOfRelease(release: string): KernelAbi | undefined {
  const m = /^(\d+)\.(\d+)/.exec(release.trim());
  if (!m) return undefined;
  return Number(m[1]) >= 7 ? 7 : 6;
}

/** Parses `--kernel-abi` / MODBTF_KERNEL_ABI values ("6", "7"). */
export function parseKernelAbi(value: string): KernelAbi | undefined {
  const v = value.trim();
  return v === '6' ? 6 : v === '7' ? 7 : undefined;
}
