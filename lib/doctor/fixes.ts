/**
 * The commands that fix what doctor finds, in the order to run them. They name real
 * files and releases of the machine; where doctor cannot know something (a module's
 * source directory) the command says where to run it.
 */
import type { KernelUnderTest, Verdict } from './verdict.js';
import type { ModuleFacts } from './modules.js';

/** What `modbtf setup` has done on the machine (kbuild/setup.ts reads it). */
export interface SetupState {
  /** /var/lib/modbtf/setup.json is there. */
  recorded: boolean;
  /** The kernel hooks it installs (00-modbtf, zz-modbtf) are there. */
  hooks: boolean;
  /** Per kernel release: its headers tree carries setup's block (or `modbtf kbuild install`'s). */
  hookedTrees: Record<string, boolean>;
}

export interface Fix {
  /** Shell commands, in order. */
  commands: string[];
  /** What else to know (alternatives, why). */
  notes: string[];
}

const q = (s: string): string => (/^[A-Za-z0-9_@%+=:,./~-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`);

export function setupNeeded(setup: SetupState, release: string): boolean {
  return !setup.recorded || setup.hookedTrees[release] !== true;
}

/** Rebuild for a kernel: dkms for a DKMS module (after `modbtf setup`, so it gets .BTF.base), else kbuild in its source. */
function rebuild(m: ModuleFacts, k: KernelUnderTest, setup: SetupState, notes: string[]): string[] {
  const cmds = setupNeeded(setup, k.release) ? ['modbtf setup'] : [];
  if (m.dkms) {
    const { package: p, version: v } = m.dkms;
    cmds.push(`dkms build -m ${q(p)} -v ${q(v)} -k ${q(k.release)} --force`, `dkms install -m ${q(p)} -v ${q(v)} -k ${q(k.release)} --force`);
  } else {
    cmds.push(`make -C /lib/modules/${q(k.release)}/build M=$PWD modules`);
    notes.push(`run make in the module's source directory, then install the new .ko as ${m.file}`);
  }
  return cmds;
}

function reloadIfLoaded(loaded: boolean, m: ModuleFacts): string[] {
  return loaded ? [`modprobe -r ${q(m.name)} && modprobe ${q(m.name)}`] : [];
}

/** The module without .BTF and .BTF.base: the kernel loads it and registers no BTF for it. */
function withoutBtf(m: ModuleFacts): string[] {
  const strip = (f: string): string => `objcopy --remove-section=.BTF --remove-section=.BTF.base ${q(f)}`;
  const c = m.loaded?.compression ?? 'none';
  const tool = { xz: ['xz', '.xz'], zstd: ['zstd', '.zst'], gzip: ['gzip', '.gz'] } as const;
  if (c === 'none') return [strip(m.file)];
  const [z, ext] = tool[c];
  const plain = m.file.endsWith(ext) ? m.file.slice(0, -ext.length) : m.file;
  // Compressed again as kbuild's modules_install does (scripts/Makefile.modinst cmd_xz, cmd_zstd, cmd_gzip).
  const again = { xz: 'xz --check=crc32 --lzma2=dict=1MiB', zstd: 'zstd --rm -q', gzip: 'gzip -n' }[c];
  return [`${z} -d ${c === 'zstd' ? '--rm ' : ''}${q(m.file)}`, strip(plain), `${again} ${q(plain)}`];
}

/** The fix for a module whose verdict is not `keeps`. `loaded`: loaded now in the running kernel. */
export function fixFor(m: ModuleFacts, v: Verdict, k: KernelUnderTest, setup: SetupState, loaded: boolean): Fix {
  const commands: string[] = [];
  const notes: string[] = [];
  const file = q(m.file);
  const signed = m.loaded?.signature !== undefined;
  switch (v.cause) {
    case 'no-btf-section':
      commands.push(...rebuild(m, k, setup, notes));
      notes.push(k.vmlinux === undefined
        ? `the headers of ${k.release} must bring its vmlinux for the rebuild to have BTF (Debian: linux-headers-${k.release})`
        : k.running
          ? 'with modbtf setup the build gets BTF even from a headers tree without vmlinux (it uses /sys/kernel/btf/vmlinux of the running kernel)'
          : `the rebuild needs the vmlinux of ${k.release} in its headers tree (found: ${k.vmlinux.file})`);
      break;
    case 'split-for-other-vmlinux': {
      const fin = v.withBtfBase;
      if (k.relocates === false) {
        commands.push(`modbtf retarget --kernel ${q(k.release)}${fin ? ` -b ${q(fin.builtWith)}` : ''} ${file}`);
        if (!fin) notes.push(`needs the vmlinux of ${m.builtFor ?? 'the kernel it was built for'} (give it with -b)`);
      } else if (fin?.keeps) {
        commands.push(`modbtf finalize${signed ? ' --strip-signature' : ''} -b ${q(fin.builtWith)} ${file}`);
        notes.push(`checked: with a .BTF.base distilled from ${fin.builtWith} the module keeps its BTF on ${k.release}`);
      } else if (fin) {
        commands.push(...rebuild(m, k, setup, notes));
        notes.push(`a .BTF.base (modbtf finalize) does not help: ${fin.failures[0]?.message ?? 'relocation fails'}`);
      } else {
        const r = m.builtFor;
        if (r !== undefined && r !== k.release) {
          commands.push(`modbtf finalize${signed ? ' --strip-signature' : ''} -b /usr/src/linux-headers-${q(r)}/vmlinux ${file}`);
          notes.push(`the vmlinux of ${r}, which the module was built against, is not here: install its headers first (Debian: linux-headers-${r}); or rebuild the module for ${k.release}`);
        } else {
          commands.push(...rebuild(m, k, setup, notes));
        }
      }
      if (signed && commands.some((c) => c.startsWith('modbtf finalize'))) notes.push('the module is signed: modbtf rewrites it without the signature; sign it again (scripts/sign-file) where signatures are enforced');
      commands.push(...reloadIfLoaded(loaded, m));
      break;
    }
    case 'retargeted-for-other-kernel':
    case 'btf-base-ignored':
      commands.push(`modbtf retarget --kernel ${q(k.release)} ${file}`, ...reloadIfLoaded(loaded, m));
      break;
    case 'relocation-failed':
      commands.push(...rebuild(m, k, setup, notes), ...reloadIfLoaded(loaded, m));
      notes.push(`a kernel type the module uses changed in ${k.release}: only a build against ${k.release} describes it`);
      break;
    case 'rejected-by-kernel-checks':
      if (m.builtFor === k.release) {
        // Built for this very kernel: a rebuild from the same source gives the same BTF
        // (7.2.13's own kbuild wrote `bad$name` into a module that 7.2.13 then refused).
        commands.push(...withoutBtf(m), ...reloadIfLoaded(loaded, m));
        notes.push(`it was built for ${k.release} already: a rebuild from the same source gives the same BTF, which ${k.release}'s checks refuse (${v.kernelCheck?.message ?? 'see above'}); the source (or the compiler and pahole that encoded it) has to change; until then it runs without BTF`);
        if (signed) notes.push('the module is signed: objcopy drops the signature; sign it again (scripts/sign-file) where signatures are enforced');
      } else {
        commands.push(...rebuild(m, k, setup, notes), ...reloadIfLoaded(loaded, m));
        notes.push(`the BTF itself is not valid for ${k.release}'s checks: rebuild it with ${k.release}'s own kbuild`);
      }
      break;
    default:
      break;
  }
  if ((v.outcome === 'fails-to-load' || v.outcome === 'loses-btf-or-fails-to-load') && !commands.some((c) => c.startsWith('objcopy '))) {
    notes.push(`to let it load meanwhile, without BTF: ${m.loaded?.compression === 'none' ? '' : 'decompress it, then '}objcopy --remove-section=.BTF --remove-section=.BTF.base ${file}`);
  }
  return { commands, notes };
}
