#!/usr/bin/env zx
// `npm run test:e2e`: checks against real Debian kernel material and the real C tools.
// Run as root on Debian 12: installs what it needs with apt-get, unpacks the kernel
// packages into $MODBTF_CACHE (default /var/cache/modbtf), then runs each check.
// Closes with `N passed, M failed`; exit status 1 when any check failed.
import { existsSync, mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

$.verbose = false;
const root = path.resolve(__dirname, '..');
const cache = process.env.MODBTF_CACHE ?? '/var/cache/modbtf';
const debs = join(cache, 'debs');
const unpacked = join(cache, 'root');
const KVER_OLD = '6.12.107+deb12-amd64';
const KVER_NEW = '6.12.117+deb12-amd64';
const PACKAGES = ['bpftool', 'xz-utils', 'zstd', 'llvm', 'binutils', 'libbpf-dev', 'gcc', 'libc6-dev', 'make', 'dwarves', 'linux-headers-6.12.107+deb12-amd64', 'dkms'];
const KERNEL_DEBS = [
  `linux-image-${KVER_OLD}-unsigned`,
  `linux-headers-${KVER_OLD}`,
  `linux-headers-${KVER_NEW}`,
];

function log(msg) { console.log(`[e2e ${new Date().toISOString().slice(11, 19)}] ${msg}`); }

async function setup() {
  if (process.getuid && process.getuid() !== 0) throw new Error('e2e needs root (apt-get install)');
  log('apt-get update');
  await $`apt-get update -qq`;
  log(`apt-get install ${PACKAGES.join(' ')}`);
  await $({ env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } })`apt-get install -y -qq --no-install-recommends ${PACKAGES}`;
  mkdirSync(debs, { recursive: true });
  mkdirSync(unpacked, { recursive: true });
  for (const pkg of KERNEL_DEBS) {
    if (!readdirSync(debs).some((f) => f.startsWith(`${pkg}_`))) {
      log(`apt-get download ${pkg}`);
      // apt's sandbox user cannot write to root's cache directory; download as root.
      await $({ cwd: debs })`apt-get download -o APT::Sandbox::User=root ${pkg}`;
    }
    const deb = readdirSync(debs).find((f) => f.startsWith(`${pkg}_`));
    const stamp = join(unpacked, `.${deb}.unpacked`);
    if (!existsSync(stamp)) {
      log(`unpack ${deb}`);
      await $`dpkg-deb -x ${join(debs, deb)} ${unpacked}`;
      await $`touch ${stamp}`;
    }
  }
}

const checks = [];
function check(name, argv) { checks.push({ name, argv }); }

const modulesTree = join(unpacked, 'lib/modules', KVER_OLD);
const vmlinuxOld = join(unpacked, 'usr/src', `linux-headers-${KVER_OLD}`, 'vmlinux');
const vmlinuxNew = join(unpacked, 'usr/src', `linux-headers-${KVER_NEW}`, 'vmlinux');

check('round trip of every module BTF (issue 3)', ['scripts/corpus-roundtrip.mjs', '--vmlinux', vmlinuxOld, modulesTree]);
check('dump equals bpftool 7.1 on 40 modules and vmlinux (issue 3)', ['scripts/compare-bpftool.mjs', '--modules', join(modulesTree, 'kernel'), '--vmlinux-path', vmlinuxOld, '--count', '40', '--vmlinux']);
check('distill of every module equals libbpf v1.7.0 (issue 4)', ['scripts/corpus-distill.mjs', '--vmlinux', vmlinuxOld, join(modulesTree, 'kernel')]);
check('relocation of every module onto 6.12.117 equals libbpf v1.7.0 (issue 4)', ['scripts/corpus-relocate.mjs', '--vmlinux', vmlinuxOld, '--target', vmlinuxNew, join(modulesTree, 'kernel')]);
check('modbtf check over the whole tree agrees with libbpf module by module (issue 6)', ['scripts/corpus-check.mjs', '--built-with', vmlinuxOld, '--kernel', vmlinuxNew, join(modulesTree, 'kernel')]);
check('finalize --distill over a copy of the whole tree: every module parses, a second run changes nothing (issue 6)', ['scripts/corpus-finalize.mjs', '--base', vmlinuxOld, join(modulesTree, 'kernel')]);
check('boot 6.12.107/6.12.117 in qemu: module BTF survives via modbtf, kfunc called from BPF (issue 7)', ['scripts/e2e-boot.mjs', '--strict']);
// Without --strict until modbtf's 7.x profile lands: the modbtf recipes are reported "not yet";
// the 7.2 kbuild control and its boot fail the check either way.
check('boot 7.2.13 in qemu: 7.2 kbuild fixture has BTF, kfuncs incl. KF_IMPLICIT_ARGS called from BPF; modbtf recipes byte-identical to it (issue 11)', ['scripts/e2e-boot7.mjs']);
check('Debian DKMS packages (xtables-addons, xone, openrazer-driver, mimic) built like dkms on 7.2.13: each modbtf form gives every .ko byte-identical to plain 7.2 kbuild (issue 11)', ['scripts/e2e-kbuild7.mjs']);
check('DKMS build with Makefile.snippet (form b in dkms.conf) gives a module with .BTF.base (issue 7)', ['scripts/e2e-dkms.mjs']);
check("the CLI, the hook and the library from the npm package on Debian 12's own Node.js 18 (bookworm chroot) equal Node 20 (issue 14)", ['scripts/e2e-node18.mjs']);
check('fuzz 10000 mutated inputs', ['scripts/fuzz.mjs', '--seed', '1', '--runs', '10000']);

await setup();
let passed = 0, failed = 0;
for (const c of checks) {
  const script = join(root, c.argv[0]);
  if (!existsSync(script)) { log(`MISSING ${c.name}: ${c.argv[0]} does not exist`); failed++; continue; }
  log(`RUN ${c.name}`);
  const t0 = Date.now();
  // Scripts written for zx (shebang) use its globals; plain ones run on node.
  const runner = readFileSync(script, 'utf8').startsWith('#!/usr/bin/env zx') ? ['npx', '--no-install', 'zx'] : ['node'];
  const r = await $({ cwd: root, nothrow: true, verbose: true })`${runner} ${script} ${c.argv.slice(1)}`;
  const secs = ((Date.now() - t0) / 1000).toFixed(1);
  if (r.exitCode === 0) { passed++; log(`PASS ${c.name} (${secs} s)`); }
  else { failed++; log(`FAIL ${c.name} (exit ${r.exitCode}, ${secs} s)`); }
}
console.log(`${passed} passed, ${failed} failed`);
process.exitCode = failed > 0 ? 1 : 0;
