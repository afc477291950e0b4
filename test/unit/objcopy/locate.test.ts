// Choosing an objcopy for a module's machine (lib/objcopy/locate.ts), with stand-in tools
// on a PATH of their own: a GNU objcopy that only knows x86 (what Debian 12's binutils
// is: its --info lists elf64-x86-64 but no elf64-s390), a cross one, an llvm-objcopy.
// The choice is made from the ELF header and what each tool says it supports.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { binutilsPackage, describeTarget, forgetProbedObjcopies, locateObjcopy, objcopyChooser, type ElfTarget } from '../../../lib/objcopy/locate.js';

const S390: ElfTarget = { machine: 22, is64: true, littleEndian: false };
const ARM64: ElfTarget = { machine: 183, is64: true, littleEndian: true };
const X86: ElfTarget = { machine: 62, is64: true, littleEndian: true };

let dir: string;
let savedPath: string | undefined;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'modbtf-locate-'));
  savedPath = process.env['PATH'];
  // Only the stand-ins (they are #!/bin/sh scripts of builtins).
  process.env['PATH'] = dir;
  forgetProbedObjcopies();
});
afterEach(() => {
  process.env['PATH'] = savedPath;
  forgetProbedObjcopies();
  rmSync(dir, { recursive: true, force: true });
});

/** A GNU objcopy stand-in whose --info lists these BFD targets. */
function gnu(name: string, targets: string[]): void {
  const info = ['BFD header file version (GNU Binutils for Debian) 2.40', ...targets.flatMap((t) => [t, ' (header little endian, data little endian)', '  i386'])].join('\\n');
  writeFileSync(join(dir, name), `#!/bin/sh\ncase "$1" in --version) echo 'GNU objcopy (GNU Binutils for Debian) 2.40';; --info) printf '${info}\\n';; esac\n`);
  chmodSync(join(dir, name), 0o755);
}
function llvm(name: string): void {
  writeFileSync(join(dir, name), '#!/bin/sh\necho "llvm-objcopy, compatible with GNU objcopy"\necho "LLVM (http://llvm.org/):"\n');
  chmodSync(join(dir, name), 0o755);
}

describe('locateObjcopy for a module\'s machine', () => {
  it('takes plain objcopy for x86 modules, and skips it for s390x', async () => {
    gnu('objcopy', ['elf64-x86-64', 'elf32-i386', 'elf64-little', 'elf64-big']);
    expect((await locateObjcopy({ env: {}, target: X86 })).command).toBe('objcopy');
    await expect(locateObjcopy({ env: {}, target: S390 })).rejects.toMatchObject({ code: 'TOOL_NOT_FOUND' });
  });

  it('with none that handles the machine: names the machine, what was tried and why, and the Debian packages', async () => {
    gnu('objcopy', ['elf64-x86-64']);
    const err = await locateObjcopy({ env: {}, target: S390 }).then(() => undefined, (e: unknown) => e as Error);
    expect(err?.message).toBe(
      'no objcopy here handles s390 (64-bit big-endian, e_machine 22) modules: tried llvm-objcopy (not installed), s390x-linux-gnu-objcopy (not installed), objcopy (its BFD targets have no elf64-s390); '
      + 'install one of the Debian packages llvm (its llvm-objcopy handles every machine), binutils-multiarch, binutils-s390x-linux-gnu, or name one with --objcopy / OBJCOPY',
    );
  });

  it('finds <triple>-objcopy of binutils-<triple>, and llvm-objcopy before it', async () => {
    gnu('objcopy', ['elf64-x86-64']);
    gnu('aarch64-linux-gnu-objcopy', ['elf64-littleaarch64', 'elf64-bigaarch64']);
    expect((await locateObjcopy({ env: {}, target: ARM64 })).command).toBe('aarch64-linux-gnu-objcopy');
    llvm('llvm-objcopy');
    expect(await locateObjcopy({ env: {}, target: S390 })).toMatchObject({ command: 'llvm-objcopy', flavor: 'llvm' });
  });

  it('OBJCOPY and LLVM_OBJCOPY come first, when they handle the machine; an explicit command is taken as it is', async () => {
    gnu('objcopy', ['elf64-x86-64']);
    gnu('s390x-linux-gnu-objcopy', ['elf64-s390']);
    gnu('multi-objcopy', ['elf64-x86-64', 'elf64-s390', 'elf64-littleaarch64']);
    expect((await locateObjcopy({ env: { OBJCOPY: 'multi-objcopy' }, target: S390 })).command).toBe('multi-objcopy');
    expect((await locateObjcopy({ env: { OBJCOPY: 'objcopy' }, target: S390 })).command).toBe('s390x-linux-gnu-objcopy');
    expect((await locateObjcopy({ command: 'objcopy', target: S390 })).command).toBe('objcopy');
  });

  it('a chooser probes once per machine', async () => {
    gnu('objcopy', ['elf64-x86-64']);
    gnu('s390x-linux-gnu-objcopy', ['elf64-s390']);
    const choose = objcopyChooser({ env: {} });
    const [a, b, c] = await Promise.all([choose(S390), choose(S390), choose(X86)]);
    expect(a.command).toBe('s390x-linux-gnu-objcopy');
    expect(b).toBe(a);
    expect(c.command).toBe('objcopy');
  });

  it('describes machines and their binutils packages', () => {
    expect(describeTarget(ARM64)).toBe('AArch64 (64-bit little-endian, e_machine 183)');
    expect(binutilsPackage(ARM64)).toBe('binutils-aarch64-linux-gnu');
    expect(binutilsPackage({ machine: 21, is64: true, littleEndian: true })).toBe('binutils-powerpc64le-linux-gnu');
    expect(binutilsPackage({ machine: 9999, is64: true, littleEndian: true })).toBeUndefined();
  });
});
