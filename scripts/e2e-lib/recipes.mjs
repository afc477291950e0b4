// How a module under test is made. A recipe is
//   { id, label, distills, unavailable(): string | null, make(workDir, { tree, input }) -> path of the .ko }
// distills: the module must come out with a .BTF.base section (checked by e2e-boot).
// tree: the pristine 6.12.107 kbuild tree ({ kdir, resolveBtfids }, env.pristineKbuildTree).
// Fixture recipes build test/e2e/fixture (a fresh copy in workDir) in that tree; Debian
// recipes take a shipped module (input: a .ko.xz of 6.12.107).
//
// The recipes that exercise modbtf are the ones to switch when modbtf grows:
//   finalize   modbtf finalize --distill on the kbuild-built module
//   form-a/b/c the three kbuild integrations of Makefile.snippet (DESIGN.md, issue 7)
//   native     form b without pahole (PAHOLE=/nonexistent/pahole): modbtf's own encoder (issue 18),
//              first checked byte for byte against form b with pahole 1.32 in the same directory
import { chmodSync, cpSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { $ } from 'zx';
import { kernels, pristineKbuildTree } from './env.mjs';
import { SID_ROOT, ensureSid } from './sid.mjs';

const REPO = new URL('../../', import.meta.url).pathname.replace(/\/$/, '');
export const MODBTF = join(REPO, 'dist/bundle/main.js');
const SNIPPET = join(REPO, 'Makefile.snippet');
const FIXTURE = join(REPO, 'test/e2e/fixture');
export const FIXTURE_NAME = 'modbtf_e2e';

/** `modbtf finalize` command line (in place); shipped modules are signed, built ones are not yet. */
const finalizeArgs = (ko, vmlinux, signed) => ['finalize', '--distill', '--base', vmlinux, ...(signed ? ['--strip-signature'] : []), ko];

export function modbtf(args, opts = {}) {
  return $({ nothrow: true, ...opts })`node ${MODBTF} ${args}`;
}

/**
 * Whether the CLI has a command: its help then starts with "modbtf <command>" (yargs prints
 * the top-level help otherwise), and names the action (`kbuild <action>`: install, modfinal).
 */
const commandCache = new Map();
async function hasCommand([command, action]) {
  const key = `${command} ${action ?? ''}`;
  if (!commandCache.has(key)) {
    const r = await modbtf([command, '--help']);
    commandCache.set(key, r.exitCode === 0 && r.stdout.startsWith(`modbtf ${command}`) && (!action || r.stdout.includes(action)));
  }
  return commandCache.get(key);
}
const noFinalize = async () => (await hasCommand(['finalize'])) ? null : '`modbtf finalize` does not exist yet';
const noSnippet = async () => {
  if (!existsSync(SNIPPET)) return `${SNIPPET} does not exist yet`;
  if (!(await hasCommand(['kbuild', 'modfinal']))) return '`modbtf kbuild modfinal` (run by Makefile.snippet) does not exist yet';
  return null;
};
const noKbuildInstall = async () => (await hasCommand(['kbuild', 'install'])) ? null : '`modbtf kbuild install` does not exist yet';

function fixtureCopy(workDir, { keep = [] } = {}) {
  const dir = join(workDir, 'src');
  if (keep.length) rmSync(dir, { recursive: true, force: true });
  else rmSync(workDir, { recursive: true, force: true });
  mkdirSync(workDir, { recursive: true });
  cpSync(FIXTURE, dir, { recursive: true });
  return dir;
}

/** Runs make with `args`; its output goes to <dir>/build.log. */
async function make(dir, args, env = {}) {
  const out = await $({ nothrow: true, env: { ...process.env, ...env } })`make ${args}`;
  writeFileSync(join(dir, 'build.log'), out.stdout + out.stderr);
  if (out.exitCode !== 0) throw new Error(`make ${args.join(' ')} failed (exit ${out.exitCode}), log: ${join(dir, 'build.log')}\n${out.stderr.trim().split('\n').slice(-15).join('\n')}`);
}
const kbuild = (dir, kdir, { env = {}, vars = [] } = {}) => make(dir, ['-C', kdir, `M=${dir}`, ...vars, 'modules'], env);

/**
 * A $(PAHOLE) for the host's 6.12 build that is pahole 1.32 (the sid chroot's; Debian 12 has
 * 1.24): `--version` is pahole's own; kbuild's in-place call (`-J <flags> --btf_base <vmlinux>
 * <module>`, LLVM_OBJCOPY=$(OBJCOPY)) runs pahole 1.32 in the chroot on copies of both files
 * with the same flags and --btf_encode_detached, then does what pahole -J does with that BTF in
 * place (its btf_encoder__write_elf: <module>.btf, `$LLVM_OBJCOPY --add-section .BTF=<module>.btf
 * <module>`) with the host's objcopy, the one kbuild names. Each call is logged to <wrapper>.log.
 */
function pahole132Wrapper(file) {
  writeFileSync(file, `#!/bin/sh
set -eu
sid=${SID_ROOT}
if [ "$#" -eq 1 ] && [ "$1" = --version ]; then exec chroot "$sid" pahole --version; fi
tmp=/tmp/modbtf-pahole132-$$
rm -rf "$sid$tmp"; mkdir -p "$sid$tmp"
trap 'rm -rf "$sid$tmp"' EXIT
args=''; base=''; ko=''
while [ "$#" -gt 0 ]; do
  case "$1" in
    --btf_base) cp "$2" "$sid$tmp/base"; args="$args --btf_base $tmp/base"; shift 2 ;;
    -*) args="$args $1"; shift ;;
    *) ko=$1; shift ;;
  esac
done
cp "$ko" "$sid$tmp/m.ko"
echo "pahole 1.32$args $ko" >> "${file}.log"
chroot "$sid" pahole $args --btf_encode_detached="$tmp/m.btf" "$tmp/m.ko"
cp "$sid$tmp/m.btf" "$ko.btf"
\${LLVM_OBJCOPY:-llvm-objcopy} --add-section .BTF="$ko.btf" "$ko"
rm -f "$ko.btf"
`);
  chmodSync(file, 0o755);
  return file;
}

async function finalize(ko, vmlinux, { signed = false } = {}) {
  const args = finalizeArgs(ko, vmlinux, signed);
  const r = await modbtf(args);
  if (r.exitCode !== 0) throw new Error(`modbtf ${args.join(' ')} failed (exit ${r.exitCode}): ${r.stderr.trim()}`);
  return ko;
}

let installedTree; // form c's kbuild tree (a promise), unpacked once per run
const built = (dir) => join(dir, `${FIXTURE_NAME}.ko`);
const V_OLD = kernels.old.vmlinux;

export const fixtureRecipes = {
  plain: {
    id: 'plain', distills: false, label: 'plain kbuild (pahole 1.24 + resolve_btfids), no modbtf',
    unavailable: async () => null,
    async make(workDir, { tree }) { const dir = fixtureCopy(workDir); await kbuild(dir, tree.kdir); return built(dir); },
  },
  scrambled: {
    id: 'scrambled', distills: false, label: 'plain kbuild, then resolve_btfids run a second time (kfunc flags paired with wrong ids)',
    unavailable: async () => null,
    async make(workDir, { tree }) {
      const dir = fixtureCopy(workDir); await kbuild(dir, tree.kdir);
      await $`${tree.resolveBtfids} -b ${V_OLD} ${built(dir)}`;
      return built(dir);
    },
  },
  finalize: {
    id: 'finalize', distills: true, label: 'plain kbuild, then `modbtf finalize --distill`',
    unavailable: noFinalize,
    async make(workDir, { tree }) { const dir = fixtureCopy(workDir); await kbuild(dir, tree.kdir); return finalize(built(dir), V_OLD); },
  },
  'form-a': {
    id: 'form-a', distills: true, label: 'form a: the module Makefile includes Makefile.snippet',
    unavailable: noSnippet,
    async make(workDir, { tree }) {
      const dir = fixtureCopy(workDir);
      await make(dir, ['-C', dir, `KDIR=${tree.kdir}`, `MODBTF_E2E_INCLUDE=${SNIPPET}`]);
      return built(dir);
    },
  },
  'form-b': {
    id: 'form-b', distills: true, label: 'form b: MAKEFILES=Makefile.snippet make -C <kdir> M=<dir>',
    unavailable: noSnippet,
    async make(workDir, { tree }) { const dir = fixtureCopy(workDir); await kbuild(dir, tree.kdir, { env: { MAKEFILES: SNIPPET } }); return built(dir); },
  },
  native: {
    id: 'native', distills: true, label: 'form b without pahole (PAHOLE=/nonexistent/pahole): modbtf encodes; == form b with pahole 1.32 in the same directory',
    unavailable: noSnippet,
    async make(workDir, { tree }) {
      // The reference: form b with pahole 1.32 (the tree's flags; Debian 12's 1.24 would give other bytes).
      await ensureSid();
      rmSync(workDir, { recursive: true, force: true });
      mkdirSync(workDir, { recursive: true });
      const wrapper = pahole132Wrapper(join(workDir, 'pahole-1.32'));
      let dir = fixtureCopy(workDir, { keep: [wrapper] });
      await kbuild(dir, tree.kdir, { env: { MAKEFILES: SNIPPET }, vars: [`PAHOLE=${wrapper}`] });
      const calls = existsSync(`${wrapper}.log`) ? readFileSync(`${wrapper}.log`, 'utf8').trim().split('\n') : [];
      if (calls.length !== 1) throw new Error(`the reference build ran pahole 1.32 ${calls.length} times (want once): ${calls.join(' | ')}`);
      const ref = readFileSync(built(dir));
      // The subject: no pahole at all, in the same directory (debug info records it).
      dir = fixtureCopy(workDir, { keep: [wrapper] });
      await kbuild(dir, tree.kdir, { env: { MAKEFILES: SNIPPET }, vars: ['PAHOLE=/nonexistent/pahole'] });
      const said = readFileSync(join(dir, 'build.log'), 'utf8').split('\n').filter((l) => /^modbtf\b.*\b(warning|error)\b/i.test(l));
      if (said.length) throw new Error(`modbtf said: ${said[0]}`);
      const got = readFileSync(built(dir));
      if (!got.equals(ref)) {
        let i = 0;
        while (i < Math.min(got.length, ref.length) && got[i] === ref[i]) i++;
        writeFileSync(join(workDir, 'reference.ko'), ref);
        throw new Error(`without pahole: ${got.length} bytes, with pahole 1.32: ${ref.length}; first difference at 0x${i.toString(16)} (${join(workDir, 'reference.ko')} kept)`);
      }
      console.log(`    without pahole == form b with pahole 1.32 (${calls[0].replace(/ \S+$/, '')}): ${got.length} bytes identical`);
      return built(dir);
    },
  },
  'form-c': {
    id: 'form-c', distills: true, label: 'form c: modbtf kbuild install <kdir>, then BTF_BASE_REF=1 make -C <kdir> M=<dir>',
    unavailable: noKbuildInstall,
    async make(workDir) {
      const dir = fixtureCopy(workDir);
      // A tree of its own (one per run, next to the cases' work dirs): the install must not
      // reach the tree the other recipes share. A second install on it must change nothing.
      installedTree ??= pristineKbuildTree(join(dirname(workDir), 'form-c-kbuild-tree'));
      const { kdir } = await installedTree;
      const r = await modbtf(['kbuild', 'install', kdir]);
      if (r.exitCode !== 0) throw new Error(`modbtf kbuild install failed (exit ${r.exitCode}): ${r.stderr}`);
      await kbuild(dir, kdir, { env: { BTF_BASE_REF: '1' } });
      return built(dir);
    },
  },
};

/** Recipes for a shipped Debian module (input: its .ko.xz); the result is an uncompressed .ko. */
async function unpackShipped(input, workDir) {
  rmSync(workDir, { recursive: true, force: true });
  mkdirSync(workDir, { recursive: true });
  const ko = join(workDir, basename(input).replace(/\.xz$/, ''));
  await $`xz -dc ${input} > ${ko}`;
  return ko;
}
export const debianRecipes = {
  shipped: {
    id: 'shipped', distills: false, label: 'as Debian ships it (no .BTF.base), decompressed',
    unavailable: async () => null,
    make: (workDir, { input }) => unpackShipped(input, workDir),
  },
  finalize: {
    id: 'finalize', distills: true, label: '`modbtf finalize --distill --strip-signature` on the shipped module',
    unavailable: noFinalize,
    async make(workDir, { input }) { return finalize(await unpackShipped(input, workDir), V_OLD, { signed: true }); },
  },
};
