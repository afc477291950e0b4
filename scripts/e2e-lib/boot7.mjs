// The 7.x kernel boots of the e2e (issues 11, 17): Debian's 7.x kernel (7.2.13 of sid, 7.3-rc7
// of experimental, or a newer tree the archive offers: scripts/e2e-lib/kernels.mjs) in qemu, the
// fixture built in the sid chroot (scripts/e2e-lib/sid.mjs) by the tree's own plain kbuild and by
// each modbtf recipe. Used by scripts/e2e-boot7.mjs; everything here is per kernel (boot7For(k)).
//
//   $MODBTF_CACHE/root7/                 linux-binary-<kver> unpacked (kernel7.mjs; the bootable vmlinuz)
//   $MODBTF_CACHE/e2e7-<id>-<kernel>/    per-run work: the modules booted, each boot's logs (run/<case>/)
//   /build/boot7-<id>-<kernel>/ (chroot) m/: the one module directory every build uses (debug info
//                               records the build path, so a recipe's module can equal the
//                               plain build byte for byte only when built in the same place);
//                               out/: each build's .ko and log; kc/: form c's kbuild tree;
//                               k74/: the copy of the tree that says it is 7.4.0
//   (<id>: sid.mjs CHECKOUT_ID, so that two checkouts sharing the chroot stay apart)
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { $ } from 'zx';
import { ensureImage7 } from './kernel7.mjs';
import { NEWEST_PROFILE } from './kernels.mjs';
import { CACHE, CHECKOUT_ID, MODBTF_IN_SID, assertPristineTree, copyIn, ensureProc, kbuildTreeCopy, shq, sidPath, sidSh } from './sid.mjs';

const REPO = new URL('../../', import.meta.url).pathname.replace(/\/$/, '');
const FIXTURE = join(REPO, 'test/e2e/fixture');
export const FIXTURE_NAME = 'modbtf_e2e';
/** modbtf as copied in by copyModbtfIn (the host's node runs inside as /usr/local/bin/node). */
const MODBTF = `node ${MODBTF_IN_SID}/dist/bundle/main.js`;
const SNIPPET = `${MODBTF_IN_SID}/Makefile.snippet`;

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

/** The build log of a recipe's module (out/<id>.log). */
export function buildLog(koInside) {
  return readFileSync(sidPath(koInside.replace(/\.ko$/, '.log')), 'utf8');
}

const ONE_WARNING = /^modbtf: warning: [^\n]*the module gets what the kernel's own BTF step writes$/m;

/**
 * The release a copy of a tree is made to say (releaseTreeCopy): the first one newer than every
 * profile modbtf knows (kernels.mjs NEWEST_PROFILE).
 */
export const NEWER_RELEASE = { major: NEWEST_PROFILE.major, minor: NEWEST_PROFILE.minor + 1, sub: 0 };
const NEWER = `${NEWER_RELEASE.major}.${NEWER_RELEASE.minor}.${NEWER_RELEASE.sub}`;
/** The one warning of a tree newer than modbtf knows: it names the tree's version (at least its VERSION.PATCHLEVEL). */
const newerWarning = (version) => new RegExp(`^modbtf: warning: [^\\n]*${version.replace(/\./g, '\\.')}`, 'm');

/**
 * Everything of the boot test that depends on the kernel `k` (kernels.mjs): its paths, builds and
 * recipes. { k, W, E2E7, recipes(), bootKernel() }.
 */
export function boot7For(k) {
  const kdir = k.kdir();
  /** Inside the chroot. */
  const W = `/build/boot7-${CHECKOUT_ID}-${k.short}`;
  const M = `${W}/m`;
  const OUT = `${W}/out`;
  const KC = `${W}/kc`;
  const K74 = `${W}/k74`;
  const E2E7 = join(CACHE, `e2e7-${CHECKOUT_ID}-${k.short}`);
  const tree = `${k.short} kbuild`;
  // On a tree newer than modbtf knows, every modbtf form gives the tree's own step and says so once.
  const modbtfWarns = k.unknownToModbtf ? { logMust: [newerWarning(`${k.release.major}.${k.release.minor}`)], warnings: 1 } : {};

  /** Debian's kernel image of k (kernel7.mjs unpacks it into $MODBTF_CACHE/root7). */
  async function bootKernel() {
    const vmlinuz = await ensureImage7(k);
    return { kver: k.kver(), short: k.short, vmlinuz, vmlinuxInside: `${kdir}/vmlinux` };
  }

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
   * A build that must fail (MODBTF_STRICT=1): returns its log and what it left in the module
   * directory that a BTF step writes (the module, *.BTF*, modbtf's records); throws when it succeeds.
   */
  async function buildFailing(id, script) {
    await ensureProc();
    await sidSh(`rm -rf ${M} && mkdir -p ${OUT} && rm -f ${OUT}/${id}.log`);
    copyIn(FIXTURE, M);
    const log = `${OUT}/${id}.log`;
    const r = await sidSh(`{ ${script} ; } > ${log} 2>&1`, { cwd: M, nothrow: true });
    const text = readFileSync(sidPath(log), 'utf8');
    if (r.exitCode === 0) throw new Error(`the build succeeded; it must fail with MODBTF_STRICT=1 (${sidPath(log)})`);
    const left = (await sidSh(`find . -name '*.ko' -o -name '*.BTF*' -o -name '*.modbtf' -o -name '*.modbtf.*'`, { cwd: M })).stdout.split('\n').filter(Boolean);
    return { text, left };
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

  /** A copy of the tree (as form c's) without vmlinux: the kernel's own step then skips BTF. */
  async function noVmlinuxTree() {
    const copy = await kbuildTreeCopy(KC, k);
    await sidSh(`rm -f ${copy}/vmlinux`);
    return copy;
  }

  /**
   * A copy of the tree that says it is NEWER (7.4.0): include/config/kernel.release,
   * include/generated/utsrelease.h (the module's vermagic), include/generated/uapi/linux/version.h
   * and the -common tree's VERSION/PATCHLEVEL/SUBLEVEL/EXTRAVERSION. Everything else, its
   * scripts and tools (gen-btf.sh, resolve_btfids) included, is the tree's own.
   */
  async function releaseTreeCopy() {
    const copy = await kbuildTreeCopy(K74, k);
    const { major, minor, sub } = NEWER_RELEASE;
    const common = (await sidSh(`sed -n 's/^include //p' Makefile`, { cwd: copy })).stdout.trim();
    const code = (major << 16) + (minor << 8) + sub;
    await sidSh([
      `printf '%s\\n' ${NEWER} > include/config/kernel.release`,
      `printf '#define UTS_RELEASE "%s"\\n' ${NEWER} > include/generated/utsrelease.h`,
      `sed -i -e 's/^#define LINUX_VERSION_CODE .*/#define LINUX_VERSION_CODE ${code}/' -e 's/^#define LINUX_VERSION_MAJOR .*/#define LINUX_VERSION_MAJOR ${major}/' `
        + `-e 's/^#define LINUX_VERSION_PATCHLEVEL .*/#define LINUX_VERSION_PATCHLEVEL ${minor}/' -e 's/^#define LINUX_VERSION_SUBLEVEL .*/#define LINUX_VERSION_SUBLEVEL ${sub}/' include/generated/uapi/linux/version.h`,
      `sed -i -e 's/^VERSION = .*/VERSION = ${major}/' -e 's/^PATCHLEVEL = .*/PATCHLEVEL = ${minor}/' -e 's/^SUBLEVEL = .*/SUBLEVEL = ${sub}/' -e 's/^EXTRAVERSION = .*/EXTRAVERSION =/' ${shq(common)}`,
      // Each of them says NEWER now, and nothing of the tree's own release is left there.
      `grep -qx ${NEWER} include/config/kernel.release && grep -q '"${NEWER}"' include/generated/utsrelease.h && grep -q 'LINUX_VERSION_CODE ${code}$' include/generated/uapi/linux/version.h`,
      `[ "$(sed -n 's/^VERSION = //p;s/^PATCHLEVEL = //p;s/^SUBLEVEL = //p' ${shq(common)} | paste -sd.)" = ${NEWER} ]`,
    ].join(' && '), { cwd: copy });
    return copy;
  }

  const kbuild = (dir, extra = '') => `make -C ${dir} M=${M} ${extra} modules`;

  /** gen-btf.sh without resolve_btfids: pahole's .BTF added to the module as gen-btf.sh adds .BTF. */
  function paholeOnlyFragment() {
    const f = `${W}/pahole-only.mk`;
    writeFileSync(sidPath(f), [
      `# e2e-boot7, recipe finalize: the module as ${tree} leaves it with resolve_btfids left out`,
      '# (gen-btf.sh: pahole --btf_encode_detached, then objcopy --add-section .BTF).',
      'override cmd_btf_ko = $(PAHOLE) -J $(PAHOLE_FLAGS) --btf_base $(objtree)/vmlinux --btf_encode_detached=$@.BTF.1 $@ && \\',
      '	$(OBJCOPY) --add-section .BTF=$@.BTF.1 $@ && rm -f $@.BTF.1',
      '',
    ].join('\n'));
    return f;
  }

  /**
   * The controls and the recipes, in the order they are built. A recipe:
   *   { id, label, modbtf, lean, make() -> { ko, ref, sections, logMust, warnings } | { failed, log, left, logMust } }   (chroot paths)
   *   modbtf    false: a control (the tree's plain kbuild); its failure always fails the run
   *   lean      part of the short list the e2e runs on kernels other than 7.2.13 (--recipes lean)
   *   newerCopy built in the copy of the tree that says it is NEWER (not in 7.2.13's default list)
   *   skip      why the recipe does not apply to this kernel (reported, not run)
   *   ref       the plain-kbuild module (same source, same directory) it must equal byte for byte
   *   sections  'none': the module must have no .BTF (the tree skipped BTF); default .BTF + .BTF.base
   *   logMust   regexes the build log must match; warnings: exactly that many `modbtf: warning:` lines
   *   failed    the build was expected to fail and did (MODBTF_STRICT=1); `log` is its output,
   *             `left` what it left of a BTF step in the module directory (must be nothing)
   * make() throws when the build fails.
   */
  function recipes() {
    const plain = `${OUT}/plain.ko`;
    const plain74 = `${OUT}/release-${NEWER}-plain.ko`;
    let tree74; // the NEWER copy, made by its control
    const newer = { logMust: [newerWarning(`${NEWER_RELEASE.major}.${NEWER_RELEASE.minor}`)], warnings: 1 };
    return [
      {
        id: 'plain', modbtf: false, boot: true, lean: true,
        label: `plain ${tree}: make -C ${kdir} M=<dir> modules (gen-btf.sh, resolve_btfids --distill_base)`,
        async make() {
          await assertPristineTree(kdir, k);
          return { ko: await build('plain', kbuild(kdir)) };
        },
      },
      {
        id: 'plain-again', modbtf: false, boot: false, lean: true,
        label: `plain ${tree} again in the same directory (is the build reproducible?)`,
        async make() { return { ko: await build('plain-again', kbuild(kdir)), ref: plain }; },
      },
      {
        id: 'form-a', modbtf: true, boot: true, lean: true,
        label: 'form a: the module Makefile includes Makefile.snippet',
        async make() { return { ko: await build('form-a', `make -C ${M} KDIR=${kdir} MODBTF_E2E_INCLUDE=${SNIPPET}`), ref: plain, ...modbtfWarns }; },
      },
      {
        id: 'form-b', modbtf: true, boot: true, lean: true,
        label: 'form b: MAKEFILES=Makefile.snippet make -C <kdir> M=<dir> modules',
        async make() { return { ko: await build('form-b', `MAKEFILES=${SNIPPET} ${kbuild(kdir)}`), ref: plain, ...modbtfWarns }; },
      },
      {
        id: 'form-c', modbtf: true, boot: true, lean: true,
        label: `form c: modbtf kbuild install <copy of the ${k.short} tree>, then a plain M= build in it`,
        async make() {
          // The reference is the plain build in the same copy (the tree's path is in the debug info).
          let copy, ref;
          try {
            copy = await kbuildTreeCopy(KC, k);
            ref = await build('form-c-plain', kbuild(copy));
            const sections = (await sidSh(`readelf -SW ${ref}`)).stdout;
            if (!/\s\.BTF\.base\s/.test(sections)) throw new Error(`${ref} has no .BTF.base: the copy does not build like the tree`);
          } catch (e) { throw controlError('plain build in the tree copy', e); }
          const inst = await sidSh(`${MODBTF} kbuild install ${shq(copy)} 2>&1`, { nothrow: true });
          if (inst.exitCode !== 0) throw new Error(`modbtf kbuild install failed (exit ${inst.exitCode}): ${inst.stdout.trim()}`);
          return { ko: await build('form-c', kbuild(copy)), ref, ...modbtfWarns };
        },
      },
      {
        id: 'resolve-btfids', modbtf: true, boot: true, lean: true,
        label: 'form d: make RESOLVE_BTFIDS="modbtf resolve-btfids" -C <kdir> M=<dir> modules',
        // A tree newer than modbtf knows: the drop-in cannot run "the tree's own step" for itself.
        skip: k.unknownToModbtf ? `the drop-in replaces the tree's resolve_btfids; on a tree newer than ${NEWEST_PROFILE.major}.${NEWEST_PROFILE.minor} it has no profile to speak` : undefined,
        async make() { return { ko: await build('resolve-btfids', kbuild(kdir, `RESOLVE_BTFIDS=${shq(`${MODBTF} resolve-btfids`)}`)), ref: plain }; },
      },
      {
        id: 'finalize', modbtf: true, boot: true, lean: true,
        label: `form e: ${tree} with pahole only (no resolve_btfids), then modbtf finalize --distill`,
        skip: k.unknownToModbtf ? `finalize on a module whose vermagic is newer than every profile exits 2 (checked by unit tests)` : undefined,
        async make() {
          const frag = paholeOnlyFragment();
          const script = `MAKEFILES=${frag} ${kbuild(kdir)} && readelf -SW ${FIXTURE_NAME}.ko | grep -q ' \\.BTF ' && ! readelf -SW ${FIXTURE_NAME}.ko | grep -q ' \\.BTF\\.base ' && `
            + `${MODBTF} finalize --distill --base ${kdir}/vmlinux ${FIXTURE_NAME}.ko`;
          return { ko: await build('finalize', script), ref: plain };
        },
      },
      // Never worse than the kernel's own step (issue 11, item 1): whenever modbtf's part
      // cannot be done, the module equals the plain build, and the log has one warning.
      {
        id: 'fallback-rewrite', modbtf: true, boot: false,
        label: 'form b, modbtf\'s rewrite fails (TMPDIR unwritable for the BTF step): the plain module, one warning',
        async make() {
          const ko = await build('fallback-rewrite', `MAKEFILES='${SNIPPET} ${noTmpdirFragment()}' ${kbuild(kdir)}`);
          return { ko, ref: plain, logMust: [ONE_WARNING], warnings: 1 };
        },
      },
      {
        id: 'fallback-vmlinux', modbtf: true, boot: false,
        label: 'form b with MODBTF_VMLINUX naming a missing file: the plain module, one warning',
        async make() { return { ko: await build('fallback-vmlinux', `MAKEFILES=${SNIPPET} ${kbuild(kdir, 'MODBTF_VMLINUX=/nonexistent/vmlinux')}`), ref: plain, logMust: [ONE_WARNING, /MODBTF_VMLINUX names \/nonexistent\/vmlinux/], warnings: 1 }; },
      },
      {
        id: 'fallback-no-modbtf', modbtf: true, boot: false,
        label: 'form b with a modbtf that cannot be started (MODBTF=/nonexistent/modbtf): the plain module, one warning',
        async make() { return { ko: await build('fallback-no-modbtf', `MAKEFILES=${SNIPPET} ${kbuild(kdir, 'MODBTF=/nonexistent/modbtf')}`), ref: plain, logMust: [/^modbtf: warning: \S+: cannot run "\/nonexistent\/modbtf" \(exit status 127\); the module gets what the kernel's own BTF step writes$/m], warnings: 1 }; },
      },
      {
        id: 'no-vmlinux', modbtf: true, boot: false,
        label: 'form b in a copy of the tree without vmlinux: no BTF, as the plain build there; its "Skipping" line and one warning',
        async make() {
          let copy, ref;
          try {
            copy = await noVmlinuxTree();
            ref = await build('no-vmlinux-plain', kbuild(copy));
            if (!/Skipping BTF generation for \S+ due to unavailability of vmlinux/.test(buildLog(ref))) throw new Error('the plain build did not skip BTF');
          } catch (e) { throw controlError('plain build in the tree copy without vmlinux', e); }
          const ko = await build('no-vmlinux', `MAKEFILES=${SNIPPET} ${kbuild(copy)}`);
          return { ko, ref, sections: 'none', logMust: [ONE_WARNING, /Skipping BTF generation for \S+ due to unavailability of vmlinux/, /set MODBTF_VMLINUX=/], warnings: 1 };
        },
      },
      {
        id: 'strict-rewrite', modbtf: true, boot: false,
        label: 'MODBTF_STRICT=1 with the failing rewrite: the build fails',
        async make() {
          const { text } = await buildFailing('strict-rewrite', `MAKEFILES='${SNIPPET} ${noTmpdirFragment()}' ${kbuild(kdir, 'MODBTF_STRICT=1')}`);
          return { failed: true, log: text, logMust: [/MODBTF_STRICT=1: not falling back to the kernel's own BTF step/] };
        },
      },
      {
        id: 'strict-no-vmlinux', modbtf: true, boot: false,
        label: 'MODBTF_STRICT=1 in the tree without vmlinux: the build fails',
        async make() {
          let copy;
          try { copy = await noVmlinuxTree(); } catch (e) { throw controlError('tree copy without vmlinux', e); }
          const { text } = await buildFailing('strict-no-vmlinux', `MAKEFILES=${SNIPPET} ${kbuild(copy, 'MODBTF_STRICT=1')}`);
          return { failed: true, log: text, logMust: [/no vmlinux BTF: .* \(MODBTF_STRICT=1: not falling back/] };
        },
      },
      // A tree newer than every profile modbtf knows (issue 17, item 3): a copy of this tree that
      // says it is NEWER. Every modbtf form gives exactly the tree's own step there, with one
      // warning naming its version; MODBTF_STRICT=1 fails the build and leaves nothing.
      {
        id: `release-${NEWER}-plain`, modbtf: false, newerCopy: true, boot: false, lean: true,
        label: `plain kbuild in a copy of the ${k.short} tree that says it is ${NEWER} (include/config/kernel.release, utsrelease.h, version.h, the Makefile's VERSION/PATCHLEVEL)`,
        async make() {
          try {
            tree74 = await releaseTreeCopy();
            const ko = await build(`release-${NEWER}-plain`, kbuild(tree74));
            const vermagic = (await sidSh(`modinfo -F vermagic ${ko}`)).stdout.trim();
            if (!vermagic.startsWith(`${NEWER} `)) throw new Error(`the module's vermagic is "${vermagic}", not ${NEWER}`);
            return { ko };
          } catch (e) { throw controlError(`plain build in the ${NEWER} copy`, e); }
        },
      },
      {
        id: `release-${NEWER}-form-b`, modbtf: true, newerCopy: true, boot: false, lean: true,
        label: `form b in the ${NEWER} copy: exactly the tree's own step, one warning naming ${NEWER}`,
        async make() { return { ko: await build(`release-${NEWER}-form-b`, `MAKEFILES=${SNIPPET} ${kbuild(tree74)}`), ref: plain74, ...newer }; },
      },
      {
        id: `release-${NEWER}-form-a`, modbtf: true, newerCopy: true, boot: false, lean: true,
        label: `form a in the ${NEWER} copy: exactly the tree's own step, one warning naming ${NEWER}`,
        async make() { return { ko: await build(`release-${NEWER}-form-a`, `make -C ${M} KDIR=${tree74} MODBTF_E2E_INCLUDE=${SNIPPET}`), ref: plain74, ...newer }; },
      },
      {
        id: `release-${NEWER}-strict`, modbtf: true, newerCopy: true, boot: false, lean: true,
        label: `MODBTF_STRICT=1, form b in the ${NEWER} copy: the build fails, nothing of a BTF step is left`,
        async make() {
          const { text, left } = await buildFailing(`release-${NEWER}-strict`, `MAKEFILES=${SNIPPET} ${kbuild(tree74, 'MODBTF_STRICT=1')}`);
          return { failed: true, log: text, left, logMust: [/MODBTF_STRICT/, new RegExp(`${NEWER_RELEASE.major}\\.${NEWER_RELEASE.minor}`)] };
        },
      },
      {
        id: `release-${NEWER}-form-c`, modbtf: true, newerCopy: true, boot: false, lean: true,
        label: `form c: modbtf kbuild install on the ${NEWER} copy, then a plain M= build: exactly the tree's own step, one warning`,
        async make() {
          const inst = await sidSh(`${MODBTF} kbuild install ${shq(tree74)} 2>&1`, { nothrow: true });
          if (inst.exitCode !== 0) throw new Error(`modbtf kbuild install failed (exit ${inst.exitCode}): ${inst.stdout.trim()}`);
          return { ko: await build(`release-${NEWER}-form-c`, kbuild(tree74)), ref: plain74, ...newer };
        },
      },
    ];
  }

  return { k, W, E2E7, recipes, bootKernel };
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
