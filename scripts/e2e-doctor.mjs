#!/usr/bin/env zx
// `modbtf doctor` against booted Debian kernels (issue 19, item 5).
//
//   npx zx scripts/e2e-doctor.mjs [--only 6.12|7.2]
//
// test/e2e/doctor-fixture/modbtf_doc.c is built under several module names in one kbuild run
// per kernel: for Debian's 6.12.107 in a pristine unpacked kbuild tree (as e2e-boot builds),
// for 7.2.13 in the sid chroot (as e2e-boot7 builds). Then:
//
// 6.12.117 (CONFIG_MODULE_ALLOW_BTF_MISMATCH=y): two DKMS-style modules built for 6.12.107
//   in /lib/modules/6.12.117+deb12-amd64/updates/dkms of the guest — modbtf_doc_lost (plain
//   kbuild: split BTF over 6.12.107's vmlinux, no .BTF.base) and modbtf_doc_kept (the same,
//   then `modbtf finalize --distill`) — loaded as `modprobe --force` does. The guest (busybox,
//   no Node) runs kbuild/doctor-snapshot.sh and the snapshot is read on the host by
//   `modbtf doctor --root`: doctor must name the first (lost BTF: split BTF for another
//   vmlinux, refused by the kernel's checks with the line the kernel logged) with its fix and
//   pass the second, and agree with /sys/kernel/btf in the guest. With 6.12.107's vmlinux added
//   to the snapshot the fix is `modbtf finalize -b <it>`, checked; with the fix applied to the
//   snapshot's file doctor says it keeps its BTF (and that the loaded one needs a reload).
//
// 7.2.13 (CONFIG_MODULE_ALLOW_BTF_MISMATCH off): modules whose BTF does not fit it in several
//   ways, in /lib/modules/7.2.13+deb14-amd64/updates of a --root tree made on the host from
//   Debian's packages (vmlinuz of linux-binary-7.2.13, config and vmlinux of
//   linux-headers-7.2.13): doctor --kernel predicts, BEFORE the boot, which will not load;
//   the boot must refuse exactly those (finit_module fails, "failed to validate module [m] BTF:
//   <errno>" with the predicted errno, the predicted line in the log), load the others with
//   BTF exactly where doctor says they keep it; doctor over the booted guest's snapshot agrees.
//   The modules (each its own name, all from one 7.2 kbuild run unless said):
//     modbtf_doc72_kept       plain 7.2 kbuild (gen-btf.sh: .BTF.base)            keeps
//     modbtf_doc72_nobtf      the same with .BTF/.BTF.base removed (what a tree without
//                             vmlinux leaves: kbuild's "Skipping BTF generation") no BTF, loads
//     modbtf_doc72_retarget73 the same, `modbtf retarget --kernel <7.3-rc7 vmlinux>`: split BTF
//                             over another vmlinux, no .BTF.base
//     modbtf_doc72_plain107   7.2.13's code with the .BTF of the 6.12.107 plain build
//     modbtf_doc72_from107    7.2.13's code with .BTF + .BTF.base of the 6.12.107 build after
//                             modbtf finalize: struct mutex is 32 bytes there, 24 in 7.2.13
//     modbtf_doc72_dollar     built with a struct member named bad$name (gcc accepts it, the
//                             kernel's BTF checks do not)
//   What doctor predicts for each is printed; the check is that the kernel does exactly that.
//   Then the fixes doctor printed for the modules that will not load are applied to a copy of
//   the tree (modbtf retarget, a rebuild with 7.2.13's kbuild, objcopy without .BTF for BTF the
//   kernel refuses whatever the build): doctor predicts they all load, and a third boot loads
//   every one, with BTF exactly where doctor says.
//
// Needs root, a built dist/ (npm run build), the 6.12 e2e material (scripts/e2e-lib/env.mjs)
// and the 7.x material (scripts/e2e-lib/kernel7.mjs, sid chroot). Three qemu TCG boots (about
// 15 s each). Logs and snapshots: $MODBTF_CACHE/e2e-doctor/run/<case>/. Ends with
// `N passed, M failed`; exit 1 on any failure.
import { cpSync, existsSync, mkdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { $, argv } from 'zx';
import { CACHE, E2E_CACHE, ensureEnvironment, kernels, pristineKbuildTree } from './e2e-lib/env.mjs';
import { boot, chooseAccel } from './e2e-lib/guest.mjs';
import { ensureKernel7, kernel73 } from './e2e-lib/kernel7.mjs';
import { CHECKOUT_ID, KDIR7, KVER7, copyIn, ensureProc, sidPath, sidSh } from './e2e-lib/sid.mjs';

$.verbose = false;
$.quiet = true;
const REPO = new URL('..', import.meta.url).pathname.replace(/\/$/, '');
const MODBTF = join(REPO, 'dist/bundle/main.js');
const SNAPSHOT_SH = join(REPO, 'kbuild/doctor-snapshot.sh');
const FIXTURE = join(REPO, 'test/e2e/doctor-fixture/modbtf_doc.c');
const WORK = join(CACHE, 'e2e-doctor');
const RUN = join(WORK, 'run');
const W7 = `/build/doctor-${CHECKOUT_ID}`;
const BOOT_TIMEOUT = { kvm: 60, tcg: 300 };
const ONLY = argv.only ? String(argv.only) : null;
const TAINT_FORCED = 1 << 1;

const t0 = Date.now();
const log = (msg) => console.log(`[e2e-doctor ${((Date.now() - t0) / 1000).toFixed(1).padStart(6)}s] ${msg}`);
let passed = 0;
let failed = 0;
function check(ok, what) {
  if (ok) passed++; else failed++;
  console.log(`    ${ok ? 'ok  ' : 'FAIL'} ${what}`);
  return ok;
}

const modbtf = (args, opts = {}) => $({ nothrow: true, ...opts })`node ${MODBTF} ${args}`;

/** modbtf doctor --json; returns { rc, doc, text } (text: the same run without --json). */
async function doctor(args) {
  const j = await modbtf(['doctor', '--json', ...args]);
  const t = await modbtf(['doctor', ...args]);
  let doc = null;
  try { doc = JSON.parse(j.stdout); } catch { /* checked by the caller */ }
  return { rc: j.exitCode, doc, text: t.stdout + t.stderr, stderr: j.stderr };
}

const moduleOf = (doc, release, name) => doc?.kernels.find((k) => k.release === release)?.modules.find((m) => m.name === name);

/** The fixture copied under each name, with a Kbuild naming them all (and per-object flags). */
function fixtureDir(dir, names, flags = {}) {
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const src = readFileSync(FIXTURE);
  const kbuild = [`# written by scripts/e2e-doctor.mjs: ${FIXTURE} under ${names.length} names`, `obj-m := ${names.map((n) => `${n}.o`).join(' ')}`];
  for (const n of names) {
    writeFileSync(join(dir, `${n}.c`), src);
    if (flags[n]) kbuild.push(`CFLAGS_${n}.o := ${flags[n]}`);
  }
  writeFileSync(join(dir, 'Kbuild'), `${kbuild.join('\n')}\n`);
}

/** Untar a guest snapshot (snapshot.tar.gz copied out of the guest) into `dir`. */
async function unpackSnapshot(g, dir) {
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const tgz = join(g.dir, 'snapshot.tar.gz');
  if (!existsSync(tgz)) return false;
  await $`tar -xzf ${tgz} -C ${dir}`;
  return existsSync(join(dir, 'sys/kernel/btf/vmlinux'));
}

function klogOf(g) {
  const mark = g.dmesg.findIndex((l) => l.includes('modbtf-e2e: steps begin'));
  return g.dmesg.slice(mark + 1).map((l) => l.replace(/^\[\s*[\d.]+\]\s*/, ''));
}

function printLog(g) {
  console.log('    kernel log:');
  for (const l of klogOf(g)) console.log(`      | ${l}`);
  for (const l of g.lines.filter((x) => x.startsWith('LOAD ') || x.startsWith('BTF ') || x.startsWith('SNAPSHOT'))) console.log(`    guest: ${l}`);
}

// ---- 6.12.107 builds (host) -------------------------------------------------------------------
const N612 = ['modbtf_doc_lost', 'modbtf_doc_kept'];

async function build612() {
  log('6.12.107: unpack a pristine kbuild tree, build the doctor fixture as modbtf_doc_lost and modbtf_doc_kept');
  const tree = await pristineKbuildTree(join(WORK, 'kbuild-tree-6.12.107'));
  const dir = join(WORK, 'build-6.12.107');
  fixtureDir(dir, N612);
  const r = await $({ nothrow: true })`make -C ${tree.kdir} M=${dir} modules`;
  writeFileSync(join(dir, 'build.log'), r.stdout + r.stderr);
  if (r.exitCode !== 0) throw new Error(`6.12.107 build failed (exit ${r.exitCode}): ${join(dir, 'build.log')}`);
  const lost = join(dir, 'modbtf_doc_lost.ko');
  const kept = join(dir, 'modbtf_doc_kept.ko');
  const f = await modbtf(['finalize', '--distill', '--base', kernels.old.vmlinux, kept]);
  if (f.exitCode !== 0) throw new Error(`modbtf finalize ${kept}: ${f.stderr.trim()}`);
  const sections = async (ko) => (await $`readelf -SW ${ko}`).stdout;
  check(!/\s\.BTF\.base\s/.test(await sections(lost)) && /\s\.BTF\s/.test(await sections(lost)), 'modbtf_doc_lost (6.12.107, plain kbuild): .BTF, no .BTF.base');
  check(/\s\.BTF\.base\s/.test(await sections(kept)), 'modbtf_doc_kept (6.12.107, plain kbuild + modbtf finalize): .BTF and .BTF.base');
  return { lost, kept, dir };
}

// ---- 6.12.117: boot, the guest's snapshot, doctor on the host --------------------------------------
async function case612(accel, b) {
  console.log('');
  log('CASE 6.12.117: two DKMS-style modules built for 6.12.107, loaded (forced); doctor over the guest\'s snapshot');
  const K = kernels.new.kver;
  const upd = `/lib/modules/${K}/updates/dkms`;
  const tree = {
    [`${upd}/modbtf_doc_lost.ko`]: b.lost,
    [`${upd}/modbtf_doc_kept.ko`]: b.kept,
    [`/boot/config-${K}`]: join(CACHE, 'root/boot', `config-${K}`),
    [`/lib/modules/${K}/modules.builtin`]: join(kernels.new.modules, 'modules.builtin'),
  };
  const steps = [...N612.map((n) => `load ${upd}/${n}.ko force`), ...N612.map((n) => `btf ${n}`), 'snapshot'];
  const g = await boot({ name: 'doctor-6.12.117', kernel: kernels.new, steps, files: [SNAPSHOT_SH], tree, accel, outDir: RUN, timeoutSec: BOOT_TIMEOUT[accel] });
  log(`booted ${K} (${accel}) in ${g.secs.toFixed(1)} s; logs: ${g.dir}/{console,results}.log`);
  if (!check(g.ended && g.kernelRelease === K, `guest ran all steps on ${g.kernelRelease ?? '(no result)'}`)) return;
  printLog(g);
  for (const n of N612) check(g.lines.some((l) => l.startsWith(`LOAD ${upd}/${n}.ko OK`)), `${n} loaded (forced)`);
  check((g.tainted & TAINT_FORCED) !== 0, `kernel tainted F (tainted=${g.tainted})`);
  const present = (n) => g.lines.some((l) => l.startsWith(`BTF ${n} present`));
  check(!present('modbtf_doc_lost') && present('modbtf_doc_kept'), `the kernel: /sys/kernel/btf/modbtf_doc_lost absent, /sys/kernel/btf/modbtf_doc_kept present`);
  check(g.lines.includes('SNAPSHOT 0'), 'kbuild/doctor-snapshot.sh ran in the guest (busybox sh, no Node): exit 0');
  const snap = join(RUN, 'doctor-6.12.117', 'snapshot');
  if (!check(await unpackSnapshot(g, snap), `snapshot copied out and unpacked: ${snap}`)) return;

  const d = await doctor(['--root', snap]);
  console.log(d.text.split('\n').map((l) => `    doctor | ${l}`).join('\n'));
  check(d.rc === 1 && d.doc?.schema === 'modbtf-doctor/1', `modbtf doctor --root <snapshot>: exit 1 (findings), schema modbtf-doctor/1 (exit ${d.rc})`);
  const lost = moduleOf(d.doc, K, 'modbtf_doc_lost');
  const kept = moduleOf(d.doc, K, 'modbtf_doc_kept');
  check(lost?.verdict.outcome === 'loses-btf' && lost?.verdict.cause === 'split-for-other-vmlinux' && lost?.builtFor === kernels.old.kver,
    `modbtf_doc_lost: loses its BTF, cause split BTF over another vmlinux (built for ${lost?.builtFor}) — doctor says ${lost?.verdict.outcome}/${lost?.verdict.cause}`);
  check(lost?.loaded?.matchedBy === 'build-id' && lost?.loaded?.btfRegistered === false && lost?.loaded?.agrees === true, `modbtf_doc_lost: matched to its file by build id, no BTF registered, as predicted (${JSON.stringify(lost?.loaded)})`);
  const klog = klogOf(g);
  const predicted = lost?.verdict.kernelLog;
  check(Boolean(predicted) && klog.some((l) => l === `BPF: ${predicted}` || l.endsWith(`BPF: ${predicted}`)), `the kernel logged the line doctor predicts: BPF: ${JSON.stringify(predicted)}`);
  const finding = d.doc?.findings.find((f) => f.module === 'modbtf_doc_lost');
  check(finding?.kind === 'loses-btf' && finding.fix.length > 0 && finding.fix[0].startsWith('modbtf finalize') && finding.fix.at(-1) === 'modprobe -r modbtf_doc_lost && modprobe modbtf_doc_lost',
    `modbtf_doc_lost: a finding ending with its fix: ${JSON.stringify(finding?.fix)}`);
  check(kept?.verdict.outcome === 'keeps' && kept?.loaded?.btfRegistered === true && kept?.loaded?.agrees === true && !d.doc?.findings.some((f) => f.module === 'modbtf_doc_kept'),
    `modbtf_doc_kept: keeps its BTF, registered, no finding (${kept?.verdict.summary})`);

  // The vmlinux the module was built against, as the headers package would put it: the fix is checked.
  const snap2 = join(RUN, 'doctor-6.12.117', 'snapshot+headers');
  rmSync(snap2, { recursive: true, force: true });
  cpSync(snap, snap2, { recursive: true });
  mkdirSync(join(snap2, 'usr/src', `linux-headers-${kernels.old.kver}`), { recursive: true });
  cpSync(kernels.old.vmlinux, join(snap2, 'usr/src', `linux-headers-${kernels.old.kver}`, 'vmlinux'));
  const d2 = await doctor(['--root', snap2]);
  const lost2 = moduleOf(d2.doc, K, 'modbtf_doc_lost');
  const file = `${upd}/modbtf_doc_lost.ko`;
  const fix = d2.doc?.findings.find((f) => f.module === 'modbtf_doc_lost')?.fix;
  check(lost2?.verdict.withBtfBase?.keeps === true && fix?.[0] === `modbtf finalize -b /usr/src/linux-headers-${kernels.old.kver}/vmlinux ${file}`,
    `with 6.12.107's headers: the fix is checked (with a .BTF.base it keeps its BTF) and is ${JSON.stringify(fix?.[0])}`);
  // Apply it to the snapshot's copy of the module: doctor then predicts BTF for it.
  const f = await modbtf(['finalize', '-b', join(snap2, 'usr/src', `linux-headers-${kernels.old.kver}`, 'vmlinux'), join(snap2, file)]);
  const d3 = await doctor(['--root', snap2, '-k', K]);
  const lost3 = moduleOf(d3.doc, K, 'modbtf_doc_lost');
  check(f.exitCode === 0 && lost3?.verdict.outcome === 'keeps', `after the fix, doctor says modbtf_doc_lost keeps its BTF (loaded before the fix, so it asks for the reload: ${lost3?.loaded?.agrees === false})`);
}

// ---- 7.2.13: builds in the sid chroot, the --root tree from packages, prediction, boot ----------
const N72 = ['modbtf_doc72_kept', 'modbtf_doc72_nobtf', 'modbtf_doc72_retarget73', 'modbtf_doc72_plain107', 'modbtf_doc72_from107', 'modbtf_doc72_dollar'];

async function build72(b612) {
  log('7.2.13: build the doctor fixture under six names in the sid chroot (plain 7.2 kbuild)');
  await ensureProc();
  const host = join(WORK, 'build-7.2.13-src');
  fixtureDir(host, N72, { modbtf_doc72_dollar: '-DMODBTF_DOC_DOLLAR' });
  copyIn(host, `${W7}/m`);
  const r = await sidSh(`make -C ${KDIR7} M=${W7}/m modules > ${W7}/m/build.log 2>&1`, { nothrow: true });
  if (r.exitCode !== 0) throw new Error(`7.2.13 build failed (exit ${r.exitCode}): ${sidPath(`${W7}/m/build.log`)}`);
  const out = join(WORK, 'modules-7.2.13');
  rmSync(out, { recursive: true, force: true });
  mkdirSync(out, { recursive: true });
  const ko = (n) => join(out, `${n}.ko`);
  for (const n of N72) cpSync(sidPath(`${W7}/m/${n}.ko`), ko(n));
  const sidObjcopy = async (n, args) => {
    const inside = `${W7}/m/${n}.ko`;
    await sidSh(`objcopy ${args} ${inside}`);
    cpSync(sidPath(inside), ko(n));
  };
  // The variants. Section bytes from the 6.12.107 builds go in the way gen-btf.sh adds .BTF.
  await sidObjcopy('modbtf_doc72_nobtf', '--remove-section=.BTF --remove-section=.BTF.base');
  copyIn(b612.lost, `${W7}/lost107.ko`);
  copyIn(b612.kept, `${W7}/kept107.ko`);
  // (--dump-section: `-O binary` writes only allocated sections, and a module's .BTF is not one.)
  await sidSh(`objcopy --dump-section .BTF=${W7}/lost107.BTF ${W7}/lost107.ko && objcopy --dump-section .BTF=${W7}/kept107.BTF --dump-section .BTF.base=${W7}/kept107.BTF.base ${W7}/kept107.ko`);
  for (const f of ['lost107.BTF', 'kept107.BTF', 'kept107.BTF.base']) if (!(readFileSync(sidPath(`${W7}/${f}`)).length > 24)) throw new Error(`${f}: no BTF dumped from the 6.12.107 build`);
  await sidObjcopy('modbtf_doc72_plain107', `--remove-section=.BTF --remove-section=.BTF.base --add-section .BTF=${W7}/lost107.BTF`);
  await sidObjcopy('modbtf_doc72_from107', `--remove-section=.BTF --remove-section=.BTF.base --add-section .BTF=${W7}/kept107.BTF --add-section .BTF.base=${W7}/kept107.BTF.base`);
  const rt = await modbtf(['retarget', '--kernel', kernel73.vmlinux, ko('modbtf_doc72_retarget73')]);
  if (rt.exitCode !== 0) throw new Error(`modbtf retarget --kernel <7.3 vmlinux> failed: ${rt.stderr.trim()}`);
  const sections = async (n) => (await $`readelf -SW ${ko(n)}`).stdout;
  const has = (s, name) => new RegExp(`\\s${name.replace(/\./g, '\\.')}\\s`).test(s);
  const s = Object.fromEntries(await Promise.all(N72.map(async (n) => [n, await sections(n)])));
  check(has(s.modbtf_doc72_kept, '.BTF.base') && !has(s.modbtf_doc72_nobtf, '.BTF') && !has(s.modbtf_doc72_retarget73, '.BTF.base') && has(s.modbtf_doc72_retarget73, '.BTF.modbtf')
    && !has(s.modbtf_doc72_plain107, '.BTF.base') && has(s.modbtf_doc72_from107, '.BTF.base') && has(s.modbtf_doc72_dollar, '.BTF.base'),
  'the 7.2.13 variants have the sections they should (kept/dollar: .BTF.base; nobtf: no .BTF; retarget73: .BTF + kept pair; plain107: .BTF only; from107: 6.12.107\'s pair)');
  const dollar = await modbtf(['dump', '--base', sidPath(`${KDIR7}/vmlinux`), ko('modbtf_doc72_dollar')]);
  check(/'bad\$name'/.test(dollar.stdout), 'modbtf_doc72_dollar: its BTF has a member named bad$name (gcc, pahole and libbpf took it)');
  return { ko };
}

/**
 * The --root tree made on the host from Debian's 7.2.13 packages, laid out as sid installs them
 * (merged /usr: lib -> usr/lib): linux-binary's vmlinuz, linux-headers' vmlinux and .config
 * behind the build link, the modules in updates/.
 */
function root72(b72, vmlinuz) {
  // Beside the boot's directory (boot() starts that one afresh).
  const dir = join(RUN, 'root-7.2.13');
  rmSync(dir, { recursive: true, force: true });
  const put = (p, src) => { mkdirSync(join(dir, p, '..'), { recursive: true }); cpSync(src, join(dir, p)); };
  const hdr = `/usr/src/linux-headers-${KVER7}`;
  const mods = `/usr/lib/modules/${KVER7}`;
  put(`${hdr}/vmlinux`, sidPath(`${KDIR7}/vmlinux`));
  put(`${hdr}/.config`, sidPath(`${KDIR7}/.config`));
  put(`${mods}/vmlinuz`, vmlinuz);
  symlinkSync(hdr, join(dir, mods, 'build'));
  symlinkSync('usr/lib', join(dir, 'lib'));
  for (const n of N72) put(`${mods}/updates/${n}.ko`, b72.ko(n));
  return dir;
}

async function case72(accel, b72, kernel) {
  console.log('');
  log('CASE 7.2.13: doctor predicts from a --root tree of the packages, then the boot shows it');
  const dir = root72(b72, kernel.vmlinuz);
  const d = await doctor(['--root', dir, '--kernel', KVER7]);
  console.log(d.text.split('\n').map((l) => `    doctor | ${l}`).join('\n'));
  check(d.doc?.kernels[0]?.config.allowBtfMismatch === false && d.doc?.kernels[0]?.kernelChecks === '7', `doctor reads 7.2.13's config (MODULE_ALLOW_BTF_MISMATCH off, ${d.doc?.kernels[0]?.config.file}) and runs its 7.x checks`);
  const verdicts = Object.fromEntries(N72.map((n) => [n, moduleOf(d.doc, KVER7, n)?.verdict]));
  console.log('    predicted before the boot:');
  for (const n of N72) console.log(`      ${n.padEnd(24)} ${verdicts[n]?.outcome ?? '?'} (${verdicts[n]?.cause ?? '?'}) errno=${verdicts[n]?.errno ?? '-'} log=${JSON.stringify(verdicts[n]?.kernelLog ?? null)}`);
  const willFail = N72.filter((n) => verdicts[n]?.outcome === 'fails-to-load');
  check(verdicts.modbtf_doc72_kept?.outcome === 'keeps' && verdicts.modbtf_doc72_nobtf?.outcome === 'no-btf', 'the controls: the 7.2 kbuild module keeps its BTF, the one without .BTF has none');
  check(verdicts.modbtf_doc72_from107?.outcome === 'fails-to-load' && verdicts.modbtf_doc72_from107?.cause === 'relocation-failed' && /'mutex'/.test(verdicts.modbtf_doc72_from107?.kernelLog ?? ''),
    `6.12.107's .BTF.base (struct mutex of 32 bytes) does not relocate: predicted to fail to load (${verdicts.modbtf_doc72_from107?.kernelLog})`);
  check(verdicts.modbtf_doc72_dollar?.outcome === 'fails-to-load' && verdicts.modbtf_doc72_dollar?.cause === 'rejected-by-kernel-checks', `bad$name: refused by the kernel's checks, predicted to fail to load (${verdicts.modbtf_doc72_dollar?.summary})`);
  check(verdicts.modbtf_doc72_retarget73?.cause === 'retargeted-for-other-kernel', `retargeted onto 7.3-rc7: split BTF over another vmlinux, no .BTF.base (${verdicts.modbtf_doc72_retarget73?.outcome})`);
  check(verdicts.modbtf_doc72_plain107?.cause === 'split-for-other-vmlinux', `6.12.107's split BTF, no .BTF.base (${verdicts.modbtf_doc72_plain107?.outcome})`);
  check(d.rc === 1 && d.doc?.summary.failsToLoad === willFail.length, `doctor exit 1, ${willFail.length} will fail to load: ${willFail.join(', ')}`);

  const upd = `/lib/modules/${KVER7}/updates`;
  const tree = { [`/boot/config-${KVER7}`]: sidPath(`${KDIR7}/.config`) };
  for (const n of N72) tree[`${upd}/${n}.ko`] = b72.ko(n);
  const steps = [...N72.map((n) => `load ${upd}/${n}.ko`), ...N72.map((n) => `btf ${n}`), 'snapshot'];
  const g = await boot({ name: 'doctor-7.2.13', kernel, steps, files: [SNAPSHOT_SH], tree, accel, outDir: RUN, timeoutSec: BOOT_TIMEOUT[accel] });
  log(`booted ${KVER7} (${accel}) in ${g.secs.toFixed(1)} s; logs: ${g.dir}/{console,results}.log`);
  if (!check(g.ended && g.kernelRelease === KVER7, `guest ran all steps on ${g.kernelRelease ?? '(no result)'}`)) return;
  printLog(g);
  const klog = klogOf(g);
  const refused = N72.filter((n) => g.lines.some((l) => l.startsWith(`LOAD ${upd}/${n}.ko FAIL`)));
  const loaded = N72.filter((n) => g.lines.some((l) => l.startsWith(`LOAD ${upd}/${n}.ko OK`)));
  check(refused.length + loaded.length === N72.length, `every module was tried (${loaded.length} loaded, ${refused.length} refused)`);
  // The kernel's side alone (so that the comparison below is not an agreement on nothing): each
  // way of not fitting was refused by 7.2.13 and the two controls loaded.
  const BAD72 = ['modbtf_doc72_retarget73', 'modbtf_doc72_plain107', 'modbtf_doc72_from107', 'modbtf_doc72_dollar'];
  check(JSON.stringify(refused) === JSON.stringify(BAD72) && loaded.includes('modbtf_doc72_kept') && loaded.includes('modbtf_doc72_nobtf'),
    `the booted 7.2.13 refused split BTF over another vmlinux (retarget73, plain107), a failed relocation (from107) and BTF its checks reject (dollar), and loaded the controls: refused [${refused.join(', ')}]`);
  check(JSON.stringify(refused) === JSON.stringify(willFail), `the kernel refused exactly the modules doctor said will fail to load: refused [${refused.join(', ')}], predicted [${willFail.join(', ')}]`);
  for (const n of refused) {
    const at = klog.findIndex((l) => l.includes(`failed to validate module [${n}] BTF:`));
    const line = klog[at];
    const errno = line ? Number(/BTF: (-?\d+)/.exec(line)?.[1]) : NaN;
    check(errno === verdicts[n]?.errno, `${n}: the kernel logged "${line ?? '(no line)'}", doctor predicted errno ${verdicts[n]?.errno}`);
    // The lines the kernel printed for this module: those since the previous module's last line.
    let from = at - 1;
    while (from >= 0 && !/failed to validate module|: loaded \(state/.test(klog[from])) from--;
    const own = klog.slice(from + 1, at);
    const want = verdicts[n]?.kernelLog;
    if (want) check(own.some((l) => l === want || l === `BPF: ${want}`), `${n}: the kernel logged what doctor predicted, among its own lines: ${JSON.stringify(want)}`);
  }
  for (const n of loaded) {
    const present = g.lines.some((l) => l.startsWith(`BTF ${n} present`));
    const want = ['keeps', 'wrong-btf'].includes(verdicts[n]?.outcome);
    check(present === want, `${n}: loaded, /sys/kernel/btf/${n} ${present ? 'present' : 'absent'}, as doctor predicted (${verdicts[n]?.outcome})`);
  }
  // doctor over the booted guest: the running kernel's view agrees with the prediction.
  const snap = join(RUN, 'doctor-7.2.13', 'snapshot');
  if (!check(g.lines.includes('SNAPSHOT 0') && await unpackSnapshot(g, snap), 'the guest\'s snapshot copied out')) return;
  const r = await doctor(['--root', snap]);
  const running = r.doc?.kernels.find((k) => k.running);
  const same = N72.every((n) => moduleOf(r.doc, KVER7, n)?.verdict.outcome === verdicts[n]?.outcome);
  const agree = running?.modules.every((m) => m.loaded === null || m.loaded.agrees);
  const notLoaded = running?.modules.filter((m) => m.loaded === null).map((m) => m.name).sort();
  check(running?.release === KVER7 && same && agree && JSON.stringify(notLoaded) === JSON.stringify([...willFail].sort()),
    `doctor over the booted 7.2.13: the same verdicts, every loaded module as predicted, not loaded exactly [${notLoaded?.join(', ')}]`);
  return { doc: d.doc, dir, willFail };
}

/**
 * One fix command doctor printed, run against the --root tree `root` (system paths under it,
 * releases looked up under it): modbtf and objcopy as printed; a kbuild rebuild (`make -C
 * /lib/modules/R/build M=$PWD modules`) of the module's source in the sid chroot, installed
 * where doctor says; `modbtf setup` is not needed for 7.2.13's own kbuild (it writes .BTF.base
 * itself) and `modprobe` has nothing loaded to reload.
 */
async function runFix(cmd, m, root) {
  const words = cmd.split(' ');
  const mapped = words.map((w) => (w.startsWith('/lib/') || w.startsWith('/usr/') ? join(root, w) : w));
  if (cmd === 'modbtf setup' || words[0] === 'modprobe') return { ok: true, how: 'not needed here' };
  if (words[0] === 'modbtf') {
    const r = await $({ nothrow: true, env: { ...process.env, MODBTF_ROOT: root } })`node ${MODBTF} ${mapped.slice(1)}`;
    return { ok: r.exitCode === 0, how: `exit ${r.exitCode}${r.exitCode === 0 ? '' : `: ${r.stderr.trim()}`}` };
  }
  if (words[0] === 'objcopy') {
    const r = await $({ nothrow: true })`${mapped}`;
    return { ok: r.exitCode === 0, how: `exit ${r.exitCode}` };
  }
  if (/^make -C \/lib\/modules\/[^/ ]+\/build M=\$PWD modules$/.test(cmd)) {
    const host = join(WORK, `fix-${m.name}`);
    fixtureDir(host, [m.name]);
    copyIn(host, `${W7}/fix-${m.name}`);
    const r = await sidSh(`make -C ${KDIR7} M=${W7}/fix-${m.name} modules > ${W7}/fix-${m.name}/build.log 2>&1`, { nothrow: true });
    if (r.exitCode !== 0) return { ok: false, how: `make exit ${r.exitCode}: ${sidPath(`${W7}/fix-${m.name}/build.log`)}` };
    cpSync(sidPath(`${W7}/fix-${m.name}/${m.name}.ko`), join(root, m.file));
    return { ok: true, how: `rebuilt with 7.2.13's kbuild, installed as ${m.file}` };
  }
  return { ok: false, how: 'a command this test cannot run' };
}

/**
 * The fixes doctor printed for the modules that will not load, applied to a copy of the tree;
 * doctor then predicts every module loads, and a boot shows it (with BTF where doctor says).
 */
async function case72fixed(accel, kernel, before) {
  console.log('');
  log('CASE 7.2.13 fixed: the commands doctor printed for the modules that will not load, applied; then a boot');
  const dir = join(RUN, 'root-7.2.13-fixed');
  rmSync(dir, { recursive: true, force: true });
  cpSync(before.dir, dir, { recursive: true, verbatimSymlinks: true });
  for (const name of before.willFail) {
    const f = before.doc.findings.find((x) => x.module === name && x.kernel === KVER7);
    const m = moduleOf(before.doc, KVER7, name);
    const done = [];
    let ok = Boolean(f && m && f.fix.length > 0);
    for (const cmd of f?.fix ?? []) {
      const r = await runFix(cmd, m, dir);
      done.push(`${cmd} (${r.how})`);
      ok &&= r.ok;
    }
    check(ok, `${name}: doctor's fix applied: ${done.join('; ') || '(none printed)'}`);
  }
  const d = await doctor(['--root', dir, '--kernel', KVER7]);
  const verdicts = Object.fromEntries(N72.map((n) => [n, moduleOf(d.doc, KVER7, n)?.verdict]));
  console.log('    predicted before the boot, after the fixes:');
  for (const n of N72) console.log(`      ${n.padEnd(24)} ${verdicts[n]?.outcome ?? '?'} (${verdicts[n]?.cause ?? '?'})`);
  check(d.doc?.summary.failsToLoad === 0, `doctor after the fixes: none will fail to load (${d.doc?.summary.failsToLoad})`);

  const upd = `/lib/modules/${KVER7}/updates`;
  const tree = { [`/boot/config-${KVER7}`]: sidPath(`${KDIR7}/.config`) };
  for (const n of N72) tree[`${upd}/${n}.ko`] = join(dir, upd, `${n}.ko`);
  const steps = [...N72.map((n) => `load ${upd}/${n}.ko`), ...N72.map((n) => `btf ${n}`)];
  const g = await boot({ name: 'doctor-7.2.13-fixed', kernel, steps, tree, accel, outDir: RUN, timeoutSec: BOOT_TIMEOUT[accel] });
  log(`booted ${KVER7} (${accel}) in ${g.secs.toFixed(1)} s; logs: ${g.dir}/{console,results}.log`);
  if (!check(g.ended && g.kernelRelease === KVER7, `guest ran all steps on ${g.kernelRelease ?? '(no result)'}`)) return;
  printLog(g);
  const loaded = N72.filter((n) => g.lines.some((l) => l.startsWith(`LOAD ${upd}/${n}.ko OK`)));
  check(loaded.length === N72.length, `the booted 7.2.13 loaded every module after doctor's fixes (${loaded.length} of ${N72.length}: ${N72.filter((n) => !loaded.includes(n)).join(', ') || 'none refused'})`);
  for (const n of before.willFail) {
    const present = g.lines.some((l) => l.startsWith(`BTF ${n} present`));
    const want = ['keeps', 'wrong-btf'].includes(verdicts[n]?.outcome);
    check(present === want, `${n}: /sys/kernel/btf/${n} ${present ? 'present' : 'absent'}, as doctor predicted after the fix (${verdicts[n]?.outcome})`);
  }
}

// ---- main --------------------------------------------------------------------------------------
if (!existsSync(MODBTF)) { console.error(`${MODBTF} missing: run npm run build first`); process.exit(2); }
log('setup: 6.12 packages and kernels; 7.x material and the sid chroot');
await ensureEnvironment();
const k7 = await ensureKernel7({ log });
rmSync(RUN, { recursive: true, force: true });
mkdirSync(RUN, { recursive: true });
mkdirSync(E2E_CACHE, { recursive: true });
const { accel, why } = await chooseAccel(kernels.new, RUN);
log(`qemu accelerator: ${accel} (${why})`);
try {
  const b612 = await build612();
  if (!ONLY || ONLY === '6.12') await case612(accel, b612);
  if (!ONLY || ONLY === '7.2') {
    const b72 = await build72(b612);
    const kernel = { kver: KVER7, vmlinuz: k7.kernel72.vmlinuz };
    const before = await case72(accel, b72, kernel);
    if (before) await case72fixed(accel, kernel, before);
  }
} catch (e) {
  check(false, `${e.message}`);
}
console.log(`\ntotal time ${((Date.now() - t0) / 1000).toFixed(1)} s`);
console.log(`${passed} passed, ${failed} failed`);
process.exitCode = failed > 0 ? 1 : 0;
