// The kernel 7.2.13 boot of the e2e (issue 11): Debian's 7.2.13 kernel in qemu, the fixture
// built in the sid chroot (scripts/e2e-lib/sid.mjs) by plain 7.2 kbuild and by each modbtf
// recipe. Used by scripts/e2e-boot7.mjs.
//
//   $MODBTF_CACHE/root7/        linux-binary-7.2.13+deb14-amd64 unpacked (kernel7.mjs; the bootable vmlinuz)
//   $MODBTF_CACHE/e2e7-<id>/    per-run work: the modules booted, each boot's logs (run/<case>/)
//   /build/boot7-<id>/ (chroot) m/: the one module directory every build uses (debug info
//                               records the build path, so a recipe's module can equal the
//                               plain build byte for byte only when built in the same place);
//                               out/: each build's .ko and log; kc/: form c's kbuild tree
//   (<id>: sid.mjs CHECKOUT_ID, so that two checkouts sharing the chroot stay apart)
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { $ } from 'zx';
import { ensureKernel72Image } from './kernel7.mjs';
import { CACHE, CHECKOUT_ID, KDIR7, KVER7, MODBTF_IN_SID, assertPristineTree, copyIn, ensureProc, kbuildTreeCopy, shq, sidDownload, sidPath, sidSh } from './sid.mjs';

const REPO = new URL('../../', import.meta.url).pathname.replace(/\/$/, '');
const FIXTURE = join(REPO, 'test/e2e/fixture');
export const FIXTURE_NAME = 'modbtf_e2e';
export const E2E7 = join(CACHE, `e2e7-${CHECKOUT_ID}`);

/** Inside the chroot. */
export const W = `/build/boot7-${CHECKOUT_ID}`;
const M = `${W}/m`;
const OUT = `${W}/out`;
const KC = `${W}/kc`;
/** modbtf as copied in by copyModbtfIn (the host's node runs inside as /usr/local/bin/node). */
const MODBTF = `node ${MODBTF_IN_SID}/dist/bundle/main.js`;
const SNIPPET = `${MODBTF_IN_SID}/Makefile.snippet`;

/** Debian's 7.2.13 kernel image (kernel7.mjs unpacks it into $MODBTF_CACHE/root7). */
export async function kernel72() {
  const vmlinuz = await ensureKernel72Image();
  return { kver: KVER7, short: '7.2.13', vmlinuz, vmlinuxInside: `${KDIR7}/vmlinux` };
}

/** Host tools the boot needs (the 6.12 e2e installs the same ones, scripts/e2e-lib/env.mjs). */
const HOST_PACKAGES = ['qemu-system-x86', 'busybox-static', 'cpio', 'gcc', 'libc6-dev'];
export async function ensureHostTools(log) {
  const r = await $({ nothrow: true })`dpkg-query -W -f=${'${Package} ${Status}\n'} ${HOST_PACKAGES}`;
  const ok = new Set(r.stdout.split('\n').filter((l) => l.endsWith(' install ok installed')).map((l) => l.split(' ')[0]));
  const missing = HOST_PACKAGES.filter((p) => !ok.has(p));
  if (!missing.length) return;
  log(`apt-get install ${missing.join(' ')}`);
  const apt = $({ env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } });
  await apt`apt-get update -qq`;
  await apt`apt-get install -y -qq --no-install-recommends ${missing}`;
}

/** An error of a control step (not of modbtf): it fails the run with or without --strict. */
const controlError = (what, e) => Object.assign(new Error(`${what}: ${e.message}`), { control: true });

/**
 * One build in M (a fresh copy of the fixture), its output and log kept as out/<id>.{ko,log}.
 * Returns the chroot path of the .ko; throws with the log's tail when the script fails or
 * leaves no module.
 */
async function build(id, script) {
  await ensureProc();
  await sidSh(`rm -rf ${M} && mkdir -p ${OUT} && rm -f ${OUT}/${id}.ko ${OUT}/${id}.log`);
  copyIn(FIXTURE, M);
  const log = `${OUT}/${id}.log`;
  const r = await sidSh(`{ ${script} ; } > ${log} 2>&1`, { cwd: M, nothrow: true });
  const ko = `${M}/${FIXTURE_NAME}.ko`;
  const fail = (what) => {
    const lines = readFileSync(sidPath(log), 'utf8').trimEnd().split('\n');
    // The line that says what went wrong (a tool's message), else the last one.
    const key = lines.find((l) => /^\s*(error|modbtf|fatal|failed)\b|\berror:/i.test(l) && !/^make(\[\d+\])?: \*\*\*/.test(l)) ?? lines.at(-1);
    return new Error(`${what}: ${key.trim()}\n${sidPath(log)}:\n${lines.slice(-15).join('\n')}`);
  };
  if (r.exitCode !== 0) throw fail(`exit ${r.exitCode}`);
  if (!existsSync(sidPath(ko))) throw fail(`no ${ko}`);
  await sidSh(`cp ${ko} ${OUT}/${id}.ko`);
  return `${OUT}/${id}.ko`;
}

/**
 * A build that must fail (MODBTF_STRICT=1): returns its log; throws when it succeeds.
 */
async function buildFailing(id, script) {
  await ensureProc();
  await sidSh(`rm -rf ${M} && mkdir -p ${OUT} && rm -f ${OUT}/${id}.log`);
  copyIn(FIXTURE, M);
  const log = `${OUT}/${id}.log`;
  const r = await sidSh(`{ ${script} ; } > ${log} 2>&1`, { cwd: M, nothrow: true });
  const text = readFileSync(sidPath(log), 'utf8');
  if (r.exitCode === 0) throw new Error(`the build succeeded; it must fail with MODBTF_STRICT=1 (${sidPath(log)})`);
  return text;
}

/** The build log of a recipe's module (out/<id>.log). */
export function buildLog(koInside) {
  return readFileSync(sidPath(koInside.replace(/\.ko$/, '.log')), 'utf8');
}

/**
 * A fragment that points TMPDIR at a missing directory for the .ko link and BTF step only
 * (a target-specific variable of Makefile.modfinal's %.ko rule; compiling is not affected):
 * modbtf's objcopy work files then cannot be written, a failure of modbtf's part alone.
 */
function noTmpdirFragment() {
  const f = `${W}/no-tmpdir.mk`;
  writeFileSync(sidPath(f), '# e2e-boot7: objcopy work files of modbtf cannot be written\n%.ko: export TMPDIR := /nonexistent/modbtf-e2e-tmp\n');
  return f;
}

/** A copy of the 7.2 tree (as form c's) without vmlinux: the kernel's own step then skips BTF. */
async function noVmlinuxTree() {
  const kdir = await kbuildTreeCopy(KC);
  await sidSh(`rm -f ${kdir}/vmlinux`);
  return kdir;
}

const ONE_WARNING = /^modbtf: warning: [^\n]*the module gets what the kernel's own BTF step writes$/m;

const kbuild = (kdir, extra = '') => `make -C ${kdir} M=${M} ${extra} modules`;

/** gen-btf.sh without resolve_btfids: pahole's .BTF added to the module as gen-btf.sh adds .BTF. */
function paholeOnlyFragment() {
  const f = `${W}/pahole-only.mk`;
  writeFileSync(sidPath(f), [
    '# e2e-boot7, recipe finalize: the module as 7.2 kbuild leaves it with resolve_btfids left out',
    '# (gen-btf.sh: pahole --btf_encode_detached, then objcopy --add-section .BTF).',
    'override cmd_btf_ko = $(PAHOLE) -J $(PAHOLE_FLAGS) --btf_base $(objtree)/vmlinux --btf_encode_detached=$@.BTF.1 $@ && \\',
    '	$(OBJCOPY) --add-section .BTF=$@.BTF.1 $@ && rm -f $@.BTF.1',
    '',
  ].join('\n'));
  return f;
}

/**
 * The control and the recipes, in the order they are built. A recipe:
 *   { id, label, modbtf, make() -> { ko, ref, sections, logMust, warnings } | { failed, log, logMust } }   (chroot paths)
 *   modbtf    false: a control (plain 7.2 kbuild); its failure always fails the run
 *   ref       the plain-kbuild module (same source, same directory) it must equal byte for byte
 *   sections  'none': the module must have no .BTF (the tree skipped BTF); default .BTF + .BTF.base
 *   logMust   regexes the build log must match; warnings: exactly that many `modbtf: warning:` lines
 *   failed    the build was expected to fail and did (MODBTF_STRICT=1); `log` is its output
 * make() throws when the build fails.
 */
export function recipes7() {
  const plain = `${OUT}/plain.ko`;
  return [
    {
      id: 'plain', modbtf: false, boot: true,
      label: `plain 7.2 kbuild: make -C ${KDIR7} M=<dir> modules (gen-btf.sh, resolve_btfids --distill_base)`,
      async make() {
        await assertPristineTree(KDIR7);
        return { ko: await build('plain', kbuild(KDIR7)) };
      },
    },
    {
      id: 'plain-again', modbtf: false, boot: false,
      label: 'plain 7.2 kbuild again in the same directory (is the build reproducible?)',
      async make() { return { ko: await build('plain-again', kbuild(KDIR7)), ref: plain }; },
    },
    {
      id: 'form-a', modbtf: true, boot: true,
      label: 'form a: the module Makefile includes Makefile.snippet',
      async make() { return { ko: await build('form-a', `make -C ${M} KDIR=${KDIR7} MODBTF_E2E_INCLUDE=${SNIPPET}`), ref: plain }; },
    },
    {
      id: 'form-b', modbtf: true, boot: true,
      label: 'form b: MAKEFILES=Makefile.snippet make -C <kdir> M=<dir> modules',
      async make() { return { ko: await build('form-b', `MAKEFILES=${SNIPPET} ${kbuild(KDIR7)}`), ref: plain }; },
    },
    {
      id: 'form-c', modbtf: true, boot: true,
      label: 'form c: modbtf kbuild install <copy of the 7.2 tree>, then a plain M= build in it',
      async make() {
        // The reference is the plain build in the same copy (the tree's path is in the debug info).
        let kdir, ref;
        try {
          kdir = await kbuildTreeCopy(KC);
          ref = await build('form-c-plain', kbuild(kdir));
          const sections = (await sidSh(`readelf -SW ${ref}`)).stdout;
          if (!/\s\.BTF\.base\s/.test(sections)) throw new Error(`${ref} has no .BTF.base: the copy does not build like the tree`);
        } catch (e) { throw controlError('plain build in the tree copy', e); }
        const inst = await sidSh(`${MODBTF} kbuild install ${shq(kdir)} 2>&1`, { nothrow: true });
        if (inst.exitCode !== 0) throw new Error(`modbtf kbuild install failed (exit ${inst.exitCode}): ${inst.stdout.trim()}`);
        return { ko: await build('form-c', kbuild(kdir)), ref };
      },
    },
    {
      id: 'resolve-btfids', modbtf: true, boot: true,
      label: 'form d: make RESOLVE_BTFIDS="modbtf resolve-btfids" -C <kdir> M=<dir> modules',
      async make() { return { ko: await build('resolve-btfids', kbuild(KDIR7, `RESOLVE_BTFIDS=${shq(`${MODBTF} resolve-btfids`)}`)), ref: plain }; },
    },
    {
      id: 'finalize', modbtf: true, boot: true,
      label: 'form e: 7.2 kbuild with pahole only (no resolve_btfids), then modbtf finalize --distill',
      async make() {
        const frag = paholeOnlyFragment();
        const script = `MAKEFILES=${frag} ${kbuild(KDIR7)} && readelf -SW ${FIXTURE_NAME}.ko | grep -q ' \\.BTF ' && ! readelf -SW ${FIXTURE_NAME}.ko | grep -q ' \\.BTF\\.base ' && `
          + `${MODBTF} finalize --distill --base ${KDIR7}/vmlinux ${FIXTURE_NAME}.ko`;
        return { ko: await build('finalize', script), ref: plain };
      },
    },
    // Never worse than the kernel's own step (issue 11, item 1): whenever modbtf's part
    // cannot be done, the module equals the plain build, and the log has one warning.
    {
      id: 'fallback-rewrite', modbtf: true, boot: false,
      label: 'form b, modbtf\'s rewrite fails (TMPDIR unwritable for the BTF step): the plain module, one warning',
      async make() {
        const ko = await build('fallback-rewrite', `MAKEFILES='${SNIPPET} ${noTmpdirFragment()}' ${kbuild(KDIR7)}`);
        return { ko, ref: plain, logMust: [ONE_WARNING], warnings: 1 };
      },
    },
    {
      id: 'fallback-vmlinux', modbtf: true, boot: false,
      label: 'form b with MODBTF_VMLINUX naming a missing file: the plain module, one warning',
      async make() { return { ko: await build('fallback-vmlinux', `MAKEFILES=${SNIPPET} ${kbuild(KDIR7, 'MODBTF_VMLINUX=/nonexistent/vmlinux')}`), ref: plain, logMust: [ONE_WARNING, /MODBTF_VMLINUX names \/nonexistent\/vmlinux/], warnings: 1 }; },
    },
    {
      id: 'fallback-no-modbtf', modbtf: true, boot: false,
      label: 'form b with a modbtf that cannot be started (MODBTF=/nonexistent/modbtf): the plain module, one warning',
      async make() { return { ko: await build('fallback-no-modbtf', `MAKEFILES=${SNIPPET} ${kbuild(KDIR7, 'MODBTF=/nonexistent/modbtf')}`), ref: plain, logMust: [/^modbtf: warning: \S+: cannot run "\/nonexistent\/modbtf" \(exit status 127\); the module gets what the kernel's own BTF step writes$/m], warnings: 1 }; },
    },
    {
      id: 'no-vmlinux', modbtf: true, boot: false,
      label: 'form b in a copy of the tree without vmlinux: no BTF, as the plain build there; its "Skipping" line and one warning',
      async make() {
        let kdir, ref;
        try {
          kdir = await noVmlinuxTree();
          ref = await build('no-vmlinux-plain', kbuild(kdir));
          if (!/Skipping BTF generation for \S+ due to unavailability of vmlinux/.test(buildLog(ref))) throw new Error('the plain build did not skip BTF');
        } catch (e) { throw controlError('plain build in the tree copy without vmlinux', e); }
        const ko = await build('no-vmlinux', `MAKEFILES=${SNIPPET} ${kbuild(kdir)}`);
        return { ko, ref, sections: 'none', logMust: [ONE_WARNING, /Skipping BTF generation for \S+ due to unavailability of vmlinux/, /set MODBTF_VMLINUX=/], warnings: 1 };
      },
    },
    {
      id: 'strict-rewrite', modbtf: true, boot: false,
      label: 'MODBTF_STRICT=1 with the failing rewrite: the build fails',
      async make() {
        const log = await buildFailing('strict-rewrite', `MAKEFILES='${SNIPPET} ${noTmpdirFragment()}' ${kbuild(KDIR7, 'MODBTF_STRICT=1')}`);
        return { failed: true, log, logMust: [/MODBTF_STRICT=1: not falling back to the kernel's own BTF step/] };
      },
    },
    {
      id: 'strict-no-vmlinux', modbtf: true, boot: false,
      label: 'MODBTF_STRICT=1 in the tree without vmlinux: the build fails',
      async make() {
        let kdir;
        try { kdir = await noVmlinuxTree(); } catch (e) { throw controlError('tree copy without vmlinux', e); }
        const log = await buildFailing('strict-no-vmlinux', `MAKEFILES=${SNIPPET} ${kbuild(kdir, 'MODBTF_STRICT=1')}`);
        return { failed: true, log, logMust: [/no vmlinux BTF: .* \(MODBTF_STRICT=1: not falling back/] };
      },
    },
  ];
}

/** sha256 of a chroot file. */
export async function fileSha(inside) {
  const r = await sidSh(`sha256sum ${shq(inside)}`);
  return r.stdout.split(' ')[0];
}

/** null when two chroot files are equal, else where they differ (cmp) and their sizes. */
export async function cmpFiles(a, b) {
  const r = await sidSh(`cmp ${shq(a)} ${shq(b)} 2>&1`, { nothrow: true });
  if (r.exitCode === 0) return null;
  const sizes = (await sidSh(`stat -c '%s %n' ${shq(a)} ${shq(b)}`, { nothrow: true })).stdout.trim().split('\n').join(', ');
  return `${r.stdout.trim()} (${sizes})`;
}
