#!/usr/bin/env zx
// Booted proof on other architectures (issue 12): Debian's own 7.2.13 kernel of arm64 (and
// s390x) under qemu TCG loads the e2e fixture cross-built with modbtf (form b), gets its BTF,
// and calls its kfuncs from BPF.
//
//   npx zx scripts/e2e-boot-cross.mjs [--arch arm64[,s390x]] [--timeout SECONDS]
//
// In the sid chroot (scripts/e2e-lib/cross.mjs): the fixture (test/e2e/fixture) is built
// against linux-headers-7.2.13+deb14-<arch> by plain 7.2 kbuild and by form b
// (MAKEFILES=Makefile.snippet), which must be byte-identical; the guest is a busybox initramfs
// (busybox-static:<arch> from sid, test/e2e/guest/init, test/e2e/guest/loader.c built static
// with <triple>-gcc-16), booted with qemu 11 of sid:
//   arm64  qemu-system-aarch64 -M virt -cpu max, linux-binary-7.2.13+deb14-arm64's Image,
//          console ttyAMA0
//   s390x  qemu-system-s390x -M s390-ccw-virtio -cpu max, linux-binary-7.2.13+deb14-s390x's
//          image, console ttysclp0
// The results go to a virtio console (/dev/hvc0, named to the init script by MODBTF_E2E_OUT on
// the kernel command line). Checked as scripts/e2e-boot7.mjs checks the amd64 boot: the module
// loads, /sys/kernel/btf/modbtf_e2e exists, the BPF programs calling its kfuncs (incl. the
// KF_IMPLICIT_ARGS ones) return the module's values, the refused one is refused, no BTF error in
// the kernel log, the guest's vmlinux BTF equals the headers' vmlinux .BTF, and sid's bpftool
// reads the copied-out module BTF with the kfunc ids the guest used. Debian's s390x kernel has
// no BPF JIT (CONFIG_BPF_JIT is not set), so there every kfunc call is refused with "JIT is
// required for calling kernel function": that refusal, and nothing else, is what is checked.
// Ends with `N passed, M failed`; exit 1 on failure.
import { createHash } from 'node:crypto';
import { chmodSync, copyFileSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { $, argv } from 'zx';
import { parseResults } from './e2e-lib/guest.mjs';
import { ARCHES, CROSS, crossMake, ensureCrossSid, ensureImage72, k72, sidDeb } from './e2e-lib/cross.mjs';
import { CHECKOUT_ID, MODBTF_IN_SID, copyIn, copyModbtfIn, shq, sidPath, sidSh } from './e2e-lib/sid.mjs';

$.verbose = false;
$.quiet = true;
const REPO = new URL('..', import.meta.url).pathname.replace(/\/$/, '');
const arches = argv.arch ? String(argv.arch).split(',') : ['arm64', 's390x'];
const TIMEOUT = Number(argv.timeout ?? 300);
const W = `/build/boot-cross-${CHECKOUT_ID}`;
const NAME = 'modbtf_e2e';
const SNIPPET = `${MODBTF_IN_SID}/Makefile.snippet`;
const t0 = Date.now();
const log = (m) => console.log(`[e2e-boot-cross ${((Date.now() - t0) / 1000).toFixed(1).padStart(6)}s] ${m}`);
const sha256 = (b) => createHash('sha256').update(b).digest('hex');
let passed = 0, failed = 0;
const check = (ok, what) => { if (ok) passed++; else failed++; console.log(`    ${ok ? 'ok  ' : 'FAIL'} ${what}`); return ok; };
const summary = [];

// As scripts/e2e-boot7.mjs: what the fixture's programs return on 7.x, and what is refused.
const PROGRAMS = { answer: 1042, 'acquire-release': 42, implicit: 2021, 'implicit-legacy': 3111, 'implicit-legacy-impl': 4112 };
const REFUSED = { 'implicit-impl': 'cannot find address for kernel function modbtf_e2e_implicit_impl' };
const KFUNCS = ['modbtf_e2e_answer', 'modbtf_e2e_acquire', 'modbtf_e2e_value', 'modbtf_e2e_release', 'modbtf_e2e_implicit', 'modbtf_e2e_implicit_impl', 'modbtf_e2e_implicit_legacy', 'modbtf_e2e_implicit_legacy_impl'];
const LOG_MUST = [/modbtf_e2e: register_btf_kfunc_id_set\(SYSCALL\) = 0/];
const LOG_MUST_NOT = [/Invalid name_offset/, /BTF mismatch/, /missing module BTF/, /is not mapped to base BTF id/];

const QEMU = {
  arm64: (k, initrd, dir) => ['qemu-system-aarch64', '-M', 'virt', '-cpu', 'max', '-m', '1024', '-smp', '1', '-nodefaults', '-no-reboot', '-display', 'none',
    '-kernel', k, '-initrd', initrd, '-append', 'console=ttyAMA0 panic=-1 oops=panic MODBTF_E2E_OUT=/dev/hvc0',
    '-serial', `file:${dir}/console.log`,
    '-device', 'virtio-serial-pci', '-chardev', `file,id=res,path=${dir}/results.log`, '-device', 'virtconsole,chardev=res'],
  s390x: (k, initrd, dir) => ['qemu-system-s390x', '-M', 's390-ccw-virtio', '-cpu', 'max', '-m', '1024', '-smp', '1', '-nodefaults', '-no-reboot', '-display', 'none',
    '-kernel', k, '-initrd', initrd, '-append', 'console=ttysclp0 panic=-1 oops=panic MODBTF_E2E_OUT=/dev/hvc0',
    '-chardev', `file,id=con,path=${dir}/console.log`, '-device', 'sclpconsole,chardev=con',
    '-device', 'virtio-serial-ccw', '-chardev', `file,id=res,path=${dir}/results.log`, '-device', 'virtconsole,chardev=res'],
};
const QEMU_PACKAGES = { arm64: 'qemu-system-arm', s390x: 'qemu-system-s390x' };

/** busybox-static of `arch` from sid (its /bin/busybox), unpacked on the host. */
async function busybox(arch) {
  const deb = await sidDeb('busybox-static', arch, log);
  const dir = join(CROSS, `busybox-${arch}`);
  const bin = join(dir, 'usr/bin/busybox');
  const alt = join(dir, 'bin/busybox');
  if (!existsSync(bin) && !existsSync(alt)) { rmSync(dir, { recursive: true, force: true }); await $`dpkg-deb -x ${deb} ${dir}`; }
  return existsSync(bin) ? bin : alt;
}

/** test/e2e/guest/loader.c built static for `arch` in the chroot (cached by source hash). */
async function loader(arch) {
  const src = readFileSync(join(REPO, 'test/e2e/guest/loader.c'));
  const out = `${W}/loader-${arch}-${sha256(src).slice(0, 12)}`;
  if (!existsSync(sidPath(out))) {
    writeFileSync(sidPath(`${W}/loader.c`), src);
    await sidSh(`${ARCHES[arch].triple}-gcc-16 -static -O2 -Wall -Wextra -Werror -o ${out}.tmp ${W}/loader.c && mv ${out}.tmp ${out}`);
  }
  return sidPath(out);
}

async function cpio(dir, out) { await $({ cwd: dir })`find . -mindepth 1 | LC_ALL=C sort | cpio -o -H newc --owner root:root --quiet > ${out}`; }

/** The initramfs: busybox, init, loader, /dev/console, and /e2e/{steps,<files>}; returns its chroot path. */
async function initramfs(arch, runDir, steps, files) {
  const stage = sidPath(`${runDir}/stage`);
  rmSync(stage, { recursive: true, force: true });
  for (const d of ['bin', 'dev', 'e2e', 'proc', 'sys', 'tmp']) mkdirSync(join(stage, d), { recursive: true });
  copyFileSync(await busybox(arch), join(stage, 'bin/busybox'));
  copyFileSync(join(REPO, 'test/e2e/guest/init'), join(stage, 'init'));
  copyFileSync(await loader(arch), join(stage, 'loader'));
  for (const f of ['bin/busybox', 'init', 'loader']) chmodSync(join(stage, f), 0o755);
  await $`mknod -m 600 ${join(stage, 'dev/console')} c 5 1`;
  for (const f of files) copyFileSync(f, join(stage, 'e2e', f.split('/').pop()));
  writeFileSync(join(stage, 'e2e/steps'), `${steps.join('\n')}\n`);
  await cpio(stage, sidPath(`${runDir}/initrd.cpio`));
  return `${runDir}/initrd.cpio`;
}

/** bpftool 7.8 (sid) dump of a chroot file over a chroot base: FUNC name -> id; STRUCT names. */
async function bpftoolFuncs(file, base) {
  const r = await sidSh(`bpftool btf dump file ${file} -B ${base}`, { nothrow: true });
  const funcs = new Map(), structs = new Set();
  for (const line of r.stdout.split('\n')) {
    const m = /^\[(\d+)\] (\w+) '([^']*)'/.exec(line);
    if (m?.[2] === 'FUNC') funcs.set(m[3], Number(m[1]));
    if (m?.[2] === 'STRUCT') structs.add(m[3]);
  }
  return { ok: r.exitCode === 0, stderr: r.stderr.trim(), funcs, structs };
}

log(`setup: sid chroot, cross toolchains, 7.2.13 headers and images for ${arches.join(', ')}`);
await ensureCrossSid({ arches, packages: arches.flatMap((a) => [QEMU_PACKAGES[a], `libc6-dev-${a}-cross`, `linux-libc-dev-${a}-cross`]).concat(['cpio']), log });
copyModbtfIn(REPO);
await sidSh(`rm -rf ${W}/m ${W}/out ${W}/run && mkdir -p ${W}/out ${W}/run`);

for (const arch of arches) {
  console.log('');
  const k = await ensureImage72(arch, log);
  const kernelInSid = `${W}/vmlinuz-${arch}`;
  copyFileSync(k.vmlinuz, sidPath(kernelInSid));
  const qemuVersion = (await sidSh(`${QEMU[arch]('', '', '')[0]} --version | head -1`)).stdout.trim();
  log(`${arch}: ${k.vmlinuz} (linux-binary-${k.kver}); ${qemuVersion}`);
  // The module: plain 7.2 kbuild (control) and form b, in the same directory.
  const M = `${W}/m`;
  const built = {};
  for (const [id, pre] of [['plain', ''], ['form-b', `MAKEFILES=${SNIPPET} `]]) {
    await sidSh(`rm -rf ${M}`);
    copyIn(join(REPO, 'test/e2e/fixture'), M);
    const r = await sidSh(`${pre}make ${crossMake(arch)} -C ${k.kdir} M=${M} V=1 modules > ${W}/out/${arch}-${id}.log 2>&1 && cp ${NAME}.ko ${W}/out/${arch}-${id}.ko`, { cwd: M, nothrow: true });
    built[id] = r.exitCode === 0 ? `${W}/out/${arch}-${id}.ko` : null;
    check(r.exitCode === 0, `${arch}: ${id} build of the fixture (${sidPath(`${W}/out/${arch}-${id}.log`)})`);
  }
  if (!built['form-b']) { summary.push({ arch, result: 'module not built' }); continue; }
  const blog = readFileSync(sidPath(`${W}/out/${arch}-form-b.log`), 'utf8');
  // Per module (`kbuild modfinal`) or once per build (`kbuild finalize-batch`, the snippet's default).
  check(/kbuild (modfinal|finalize-batch)/.test(blog) && !/^modbtf: warning/m.test(blog), `${arch}: form b ran modbtf's step (V=1 log), no fallback warning`);
  if (built.plain) check((await sidSh(`cmp ${built.plain} ${built['form-b']}`, { nothrow: true })).exitCode === 0, `${arch}: form b's module is byte-identical to plain 7.2 kbuild's`);
  // The vmlinux BTF the guest must run: the headers' vmlinux .BTF.
  await sidSh(`${ARCHES[arch].triple}-objcopy --dump-section .BTF=${W}/vmlinux-${arch}.btf ${k.vmlinuxInSid} /dev/null`);
  const vmSha = sha256(readFileSync(sidPath(`${W}/vmlinux-${arch}.btf`)));

  const runDir = `${W}/run/${arch}`;
  await sidSh(`rm -rf ${runDir} && mkdir -p ${runDir}`);
  const koHost = sidPath(`${runDir}/${NAME}.ko`);
  copyFileSync(sidPath(built['form-b']), koHost);
  const steps = [`load ${NAME}.ko`, `btf ${NAME}`, ...[...Object.keys(PROGRAMS), ...Object.keys(REFUSED)].map((p) => `kfunc ${NAME} ${p}`), 'vmlinux-sha'];
  const initrd = await initramfs(arch, runDir, steps, [koHost]);
  const args = QEMU[arch](kernelInSid, initrd, runDir);
  const tb = Date.now();
  const q = await sidSh(`exec ${args.map(shq).join(' ')}`, { nothrow: true }).timeout(`${TIMEOUT}s`);
  const secs = (Date.now() - tb) / 1000;
  const g = parseResults(existsSync(sidPath(`${runDir}/results.log`)) ? readFileSync(sidPath(`${runDir}/results.log`), 'latin1') : '');
  console.log(`    qemu ${arch} TCG ran ${secs.toFixed(1)} s (exit ${q.exitCode}${q.signal ? `, ${q.signal}` : ''}); logs: ${sidPath(runDir)}/{console,results}.log`);
  if (!check(g.ended && g.kernelRelease === k.kver, `${arch}: guest ran all steps on ${g.kernelRelease ?? '(no result)'} within ${TIMEOUT} s`)) {
    const con = existsSync(sidPath(`${runDir}/console.log`)) ? readFileSync(sidPath(`${runDir}/console.log`), 'latin1').trimEnd().split('\n').slice(-8) : [];
    for (const l of con) console.log(`      console| ${l}`);
    if (q.stderr.trim()) console.log(`      qemu: ${q.stderr.trim().split('\n').slice(0, 3).join(' / ')}`);
    summary.push({ arch, result: `no result after ${secs.toFixed(0)} s` });
    continue;
  }
  const mark = g.dmesg.findIndex((l) => l.includes('modbtf-e2e: steps begin'));
  const klog = g.dmesg.slice(mark + 1);
  console.log('    kernel log:');
  for (const l of klog) console.log(`      | ${l}`);
  check(g.lines.some((l) => l.startsWith(`LOAD /e2e/${NAME}.ko OK`)), `${arch}: module loaded`);
  const present = g.lines.some((l) => l.startsWith(`BTF ${NAME} present`));
  check(present, `${arch}: /sys/kernel/btf/${NAME} present`);
  const values = [];
  // Debian's s390x kernel is built without a BPF JIT (no CONFIG_BPF_JIT in its config), and the
  // verifier refuses kfunc calls without one: there the programs must be refused for that reason alone.
  const jit = await sidSh(`grep -q '^CONFIG_BPF_JIT=y' ${k.kdir}/.config`, { nothrow: true });
  if (jit.exitCode !== 0) {
    for (const p of [...Object.keys(PROGRAMS), ...Object.keys(REFUSED)]) {
      const at = g.lines.findIndex((l) => l.startsWith(`KFUNC ${NAME} ${p} `));
      const why = g.lines[at + 1] ?? '';
      values.push(`${p}: ${why.replace(/^verifier: /, '')}`);
      check((g.lines[at] ?? '').includes('FAIL verifier rejected') && why === 'verifier: JIT is required for calling kernel function',
        `${arch}: BPF program "${p}" refused only because the kernel has no BPF JIT ("JIT is required for calling kernel function"; ${k.kdir}/.config has no CONFIG_BPF_JIT=y)`);
    }
  }
  for (const [p, want] of jit.exitCode === 0 ? Object.entries(PROGRAMS) : []) {
    const line = g.lines.find((l) => l.startsWith(`KFUNC ${NAME} ${p} `)) ?? '(no result)';
    values.push(`${p}=${/retval=(-?\d+)/.exec(line)?.[1] ?? '?'}`);
    check(line.endsWith(`OK retval=${want}`), `${arch}: BPF program "${p}" accepted, returns ${want}: ${line}`);
  }
  for (const [p, msg] of jit.exitCode === 0 ? Object.entries(REFUSED) : []) {
    const at = g.lines.findIndex((l) => l.startsWith(`KFUNC ${NAME} ${p} `));
    const vlog = [];
    for (let i = at + 1; at >= 0 && i < g.lines.length && g.lines[i].startsWith('verifier:'); i++) vlog.push(g.lines[i]);
    check((g.lines[at] ?? '').includes('FAIL verifier rejected') && vlog.some((l) => l.includes(msg)), `${arch}: BPF program "${p}" refused by the verifier with "${msg}"`);
  }
  for (const re of LOG_MUST) check(klog.some((l) => re.test(l)), `${arch}: kernel log has ${re}`);
  for (const re of LOG_MUST_NOT) check(!klog.some((l) => re.test(l)), `${arch}: kernel log has no ${re}`);
  const guestVm = g.lines.find((l) => l.startsWith('VMLINUX-SHA '))?.slice(12);
  check(guestVm === vmSha, `${arch}: guest /sys/kernel/btf/vmlinux == .BTF of the headers' vmlinux (sha256 ${vmSha.slice(0, 16)}...)`);
  const btfFile = g.files[`${NAME}.btf`];
  if (present && btfFile) {
    writeFileSync(sidPath(`${runDir}/${NAME}.btf`), btfFile);
    const d = await bpftoolFuncs(`${runDir}/${NAME}.btf`, `${W}/vmlinux-${arch}.btf`);
    check(d.ok && d.structs.has('modbtf_e2e_obj'), `${arch}: bpftool 7.8 reads the guest's ${NAME} BTF (${btfFile.length} bytes) over the vmlinux BTF, STRUCT modbtf_e2e_obj in it${d.ok ? '' : `: ${d.stderr}`}`);
    const guestIds = new Map(g.lines.filter((l) => l.startsWith(`KFUNCID ${NAME} `)).map((l) => l.split(' ').slice(2, 4)));
    const idOk = KFUNCS.filter((f) => String(d.funcs.get(f)) === guestIds.get(f));
    check(idOk.length === KFUNCS.length, `${arch}: bpftool's FUNC ids of the ${KFUNCS.length} kfuncs are the ids the guest called them by (${idOk.length} agree)`);
  }
  summary.push({ arch, result: `booted ${g.kernelRelease} in ${secs.toFixed(1)} s; ${[...new Set(values)].join(jit.exitCode === 0 ? ' ' : '; ')}; tainted ${g.tainted}` });
}

console.log('\nsummary:');
for (const s of summary) console.log(`  ${s.arch}: ${s.result}`);
console.log(`total time ${((Date.now() - t0) / 1000).toFixed(1)} s`);
console.log(`${passed} passed, ${failed} failed`);
process.exitCode = failed > 0 ? 1 : 0;
