// The guest: a busybox initramfs running test/e2e/guest/init, booted in qemu.
// The init script writes its results to the second serial port (a file on the host),
// the kernel console goes to the first; both files are kept for each boot.
import { createHash } from 'node:crypto';
import { copyFileSync, chmodSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { $ } from 'zx';
import { E2E_CACHE, log } from './env.mjs';

const GUEST_SRC = new URL('../../test/e2e/guest/', import.meta.url).pathname;
const BUSYBOX = '/bin/busybox'; // busybox-static

function sha(data) { return createHash('sha256').update(data).digest('hex'); }

/** Static loader (test/e2e/guest/loader.c), cached by the hash of its source. */
async function buildLoader() {
  const src = join(GUEST_SRC, 'loader.c');
  const out = join(E2E_CACHE, `loader-${sha(readFileSync(src)).slice(0, 12)}`);
  if (!existsSync(out)) {
    log('build guest loader (gcc -static)');
    await $`gcc -static -O2 -Wall -Wextra -Werror -o ${out}.tmp ${src}`;
    await $`mv ${out}.tmp ${out}`;
  }
  return out;
}

async function cpio(dir, out) {
  await $({ cwd: dir })`find . -mindepth 1 | LC_ALL=C sort | cpio -o -H newc --owner root:root --quiet > ${out}`;
}

/** busybox + init + loader + /dev/console, as one newc archive; per-boot files go in a second one. */
async function baseInitramfs() {
  const loader = await buildLoader();
  const key = sha(Buffer.concat([readFileSync(join(GUEST_SRC, 'init')), readFileSync(loader), readFileSync(BUSYBOX)])).slice(0, 12);
  const out = join(E2E_CACHE, `initramfs-base-${key}.cpio`);
  if (existsSync(out)) return out;
  const dir = join(E2E_CACHE, 'initramfs-base');
  rmSync(dir, { recursive: true, force: true });
  for (const d of ['bin', 'dev', 'e2e', 'proc', 'sys', 'tmp']) mkdirSync(join(dir, d), { recursive: true });
  copyFileSync(BUSYBOX, join(dir, 'bin/busybox'));
  copyFileSync(join(GUEST_SRC, 'init'), join(dir, 'init'));
  copyFileSync(loader, join(dir, 'loader'));
  for (const f of ['bin/busybox', 'init', 'loader']) chmodSync(join(dir, f), 0o755);
  // Without /dev/console in the initramfs, init starts with no stdin/stdout.
  await $`mknod -m 600 ${join(dir, 'dev/console')} c 5 1`;
  await cpio(dir, `${out}.tmp`);
  await $`mv ${out}.tmp ${out}`;
  return out;
}

const QEMU = 'qemu-system-x86_64';
function qemuArgs(accel, kernel, initrd, consoleLog, resultsLog) {
  return [
    ...(accel === 'kvm' ? ['-accel', 'kvm', '-cpu', 'host'] : ['-accel', 'tcg']),
    '-m', '1024', '-smp', '1', '-nodefaults', '-no-reboot', '-display', 'none',
    '-kernel', kernel, '-initrd', initrd,
    '-append', 'console=ttyS0 panic=-1 oops=panic',
    '-serial', `file:${consoleLog}`, // ttyS0: kernel console
    '-serial', `file:${resultsLog}`, // ttyS1: results of test/e2e/guest/init
  ];
}

/**
 * Boots `kernel` (an entry of env.kernels) with the given init steps and files (copied into /e2e);
 * `tree` places more files at absolute paths of the guest ({ '/lib/modules/.../x.ko': hostFile }).
 * Returns the parsed results (see parseResults) plus the paths of the two logs.
 */
export async function boot({ name, kernel, steps, files = [], tree = {}, accel, outDir, timeoutSec }) {
  const base = await baseInitramfs();
  const dir = join(outDir, name);
  rmSync(dir, { recursive: true, force: true });
  const stage = join(dir, 'stage');
  mkdirSync(join(stage, 'e2e'), { recursive: true });
  for (const f of files) copyFileSync(f, join(stage, 'e2e', basename(f)));
  for (const [dest, src] of Object.entries(tree)) {
    mkdirSync(join(stage, dirname(dest)), { recursive: true });
    copyFileSync(src, join(stage, dest));
  }
  writeFileSync(join(stage, 'e2e/steps'), steps.join('\n') + '\n');
  const extra = join(dir, 'case.cpio');
  await cpio(stage, extra);
  // The kernel unpacks concatenated newc archives in order; the second one adds /e2e/*.
  const initrd = join(dir, 'initrd.cpio');
  writeFileSync(initrd, Buffer.concat([readFileSync(base), readFileSync(extra)]));
  const consoleLog = join(dir, 'console.log');
  const resultsLog = join(dir, 'results.log');
  const t = Date.now();
  const p = await $({ nothrow: true, quiet: true, timeout: `${timeoutSec}s` })`${QEMU} ${qemuArgs(accel, kernel.vmlinuz, initrd, consoleLog, resultsLog)}`;
  const secs = (Date.now() - t) / 1000;
  const text = existsSync(resultsLog) ? readFileSync(resultsLog, 'latin1') : '';
  const res = parseResults(text);
  res.secs = secs;
  res.qemuExit = p.exitCode;
  res.qemuStderr = p.stderr.trim();
  res.consoleLog = consoleLog;
  res.resultsLog = resultsLog;
  res.dir = dir;
  for (const [fname, data] of Object.entries(res.files)) writeFileSync(join(dir, fname), data);
  return res;
}

/**
 * Parses the results port: "@@E2E <WORD> ..." lines, FILE blocks (base64) and the DMESG block.
 * { ended, kernelRelease, lines: [string], files: {name: Buffer}, dmesg: [string], tainted }
 */
export function parseResults(text) {
  const res = { ended: false, kernelRelease: null, lines: [], files: {}, dmesg: [], tainted: null };
  let file = null, b64 = [], inDmesg = false;
  for (const raw of text.split('\n')) {
    const line = raw.replace(/\r$/, '');
    if (inDmesg) {
      if (line === '@@E2E DMESG end') inDmesg = false;
      else res.dmesg.push(line);
      continue;
    }
    if (file) {
      if (line === `@@E2E FILE ${file} end`) { res.files[file] = Buffer.from(b64.join(''), 'base64'); file = null; b64 = []; }
      else b64.push(line);
      continue;
    }
    if (!line.startsWith('@@E2E ')) continue;
    const body = line.slice(6);
    let m;
    if ((m = /^FILE (\S+) begin$/.exec(body))) file = m[1];
    else if (body === 'DMESG begin') inDmesg = true;
    else if (body === 'END') res.ended = true;
    else if ((m = /^BEGIN (\S+)/.exec(body))) res.kernelRelease = m[1];
    else if ((m = /^TAINTED (\d+)/.exec(body))) res.tainted = Number(m[1]);
    else res.lines.push(body);
  }
  return res;
}

/** KVM only if it really runs a guest (here /dev/kvm exists but qemu aborts: "failed to set MSR"). */
export async function chooseAccel(kernel, outDir) {
  const forced = process.env.MODBTF_E2E_ACCEL;
  if (forced === 'kvm' || forced === 'tcg') return { accel: forced, why: 'MODBTF_E2E_ACCEL' };
  if (!existsSync('/dev/kvm')) return { accel: 'tcg', why: 'no /dev/kvm' };
  const r = await boot({ name: 'kvm-probe', kernel, steps: [], accel: 'kvm', outDir, timeoutSec: 60 });
  if (r.ended) return { accel: 'kvm', why: `KVM probe booted in ${r.secs.toFixed(1)} s` };
  const why = r.qemuStderr.split('\n').find((l) => l.includes('error')) ?? `qemu exit ${r.qemuExit}, no result`;
  return { accel: 'tcg', why: `KVM probe failed: ${why}` };
}
