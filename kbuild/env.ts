/**
 * What kbuild tells the BTF step, and the distill decision made from it — the rule
 * scripts/Makefile.btf applies (`--btf_features=distilled_base` only under
 * KBUILD_EXTMOD), plus modbtf's BTF_BASE_REF switch:
 *   BTF_BASE_REF=1  distill, also for in-tree builds
 *   BTF_BASE_REF=0  never distill
 *   otherwise       distill exactly for out-of-tree (M=) builds
 */
export interface KbuildContext {
  /** $(KBUILD_EXTMOD): the M= directory, empty for in-tree builds. */
  extmod: string;
  /** $(BTF_BASE_REF) as given on the make command line or in the environment. */
  btfBaseRef: string;
}

export function shouldDistill(ctx: KbuildContext): boolean {
  const ref = ctx.btfBaseRef.trim();
  if (ref === '1' || ref === 'y') return true;
  if (ref === '0' || ref === 'n') return false;
  return ctx.extmod.trim() !== '';
}

/** Splits a make variable's value into argv words (make passes no quoting of its own). */
export function splitWords(value: string): string[] {
  return value.split(/\s+/).filter((w) => w !== '');
}
