// The retarget case of e2e-boot (issue 6 part 2): the fixture module finalized by modbtf
// (recipe 'finalize'), then `modbtf retarget --kernel <6.12.117 vmlinux>`: .BTF becomes
// plain split BTF over 6.12.117, .BTF.base is removed (the distilled pair is kept in
// .BTF.modbtf / .BTF.base.modbtf, which the kernel ignores). Booted on 6.12.117 the module
// must have /sys/kernel/btf/<module>, byte for byte the retargeted .BTF, and working kfuncs.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { $ } from 'zx';
import { FIXTURE_NAME, fixtureRecipes, modbtf } from './recipes.mjs';

async function retargetable() {
  const r = await modbtf(['retarget', '--help']);
  return r.exitCode === 0 && r.stdout.startsWith('modbtf retarget') ? null : '`modbtf retarget` does not exist yet';
}

/** Recipe: finalize (fixtureRecipes.finalize), then retarget onto `kernel`. */
export function retargetRecipe(kernel) {
  const base = fixtureRecipes.finalize;
  return {
    id: `retarget-${kernel.short}`, distills: false,
    label: `${base.label}, then \`modbtf retarget --kernel <${kernel.short} vmlinux>\` (no .BTF.base)`,
    unavailable: async () => (await base.unavailable()) ?? (await retargetable()),
    async make(workDir, ctx) {
      const ko = await base.make(workDir, ctx);
      const r = await modbtf(['retarget', '--kernel', kernel.vmlinux, ko]);
      if (r.exitCode !== 0) throw new Error(`modbtf retarget --kernel ${kernel.vmlinux} ${ko} failed (exit ${r.exitCode}): ${r.stderr.trim()}`);
      const again = await modbtf(['retarget', '--kernel', kernel.vmlinux, ko]);
      if (again.exitCode !== 0 || !again.stdout.includes('already retargeted')) throw new Error(`a second retarget is not a no-op: ${again.stdout}${again.stderr}`);
      return ko;
    },
  };
}

// The fixture's BTF_ID_LIST (test/e2e/fixture/modbtf_e2e.c), which the kernel never relocates:
// retarget resolves it against the target itself, so at run time it names the right types.
const ID_LIST = ['modbtf_e2e_obj', 'list_head', 'modbtf_e2e_answer'];

/**
 * Extra host-side checks: the kept sections are there, the guest's module BTF is the
 * retargeted .BTF, and the BTF_ID_LIST the module printed names its types in that BTF.
 */
async function verify({ ko, g, check }, kernel) {
  const sections = (await $`readelf -S -W ${ko}`).stdout;
  check(/\s\.BTF\.modbtf\s/.test(sections) && /\s\.BTF\.base\.modbtf\s/.test(sections), 'module keeps the distilled pair (.BTF.modbtf, .BTF.base.modbtf)');
  const btfFile = join(g.dir, `${FIXTURE_NAME}.btf`);
  const own = join(g.dir, `${FIXTURE_NAME}.retargeted.btf`);
  await $`objcopy --dump-section .BTF=${own} ${ko} ${join(g.dir, 'dump-section.tmp.o')}`;
  check(existsSync(btfFile) && readFileSync(btfFile).equals(readFileSync(own)), `guest /sys/kernel/btf/${FIXTURE_NAME} == the retargeted module's .BTF`);
  const base = join(g.dir, `vmlinux-${kernel.short}.btf`);
  await $`objcopy -O binary --only-section=.BTF ${kernel.vmlinux} ${base}`;
  // bpftool prints the split types only: the base's names come from a dump of its own.
  const dump = (await $({ nothrow: true })`bpftool btf dump file ${base}`).stdout + (await $({ nothrow: true })`bpftool btf dump file ${own} -B ${base}`).stdout;
  const names = new Map([...dump.matchAll(/^\[(\d+)\] \w+ '([^']*)'/gm)].map((m) => [m[1], m[2]]));
  const ids = g.dmesg.map((l) => /BTF_ID_LIST\[(\d+)\] = (\d+)/.exec(l)).filter(Boolean).map((m) => m[2]);
  const seen = ids.map((id) => names.get(id) ?? `?${id}`);
  check(seen.join(',') === ID_LIST.join(','), `BTF_ID_LIST printed by the module names ${ID_LIST.join(', ')} in ${kernel.short} (${ids.map((id, i) => `${id} ${seen[i]}`).join(', ')})`);
}

/** The case: retargeted onto `kernel` and booted there (forced: built for 6.12.107). */
export function retargetCase(kernel, expect, host) {
  return {
    id: `retarget-${kernel.short}`, title: `modbtf finalize + retarget onto ${kernel.short}: plain split BTF over its vmlinux, no .BTF.base`,
    recipe: retargetRecipe(kernel), kernel, module: FIXTURE_NAME, force: true, expect, host,
    verify: (ctx) => verify(ctx, kernel),
  };
}
