#!/usr/bin/env node
// DKMS with modbtf per package, the way the README shows it (`MAKE[0]="make
// MAKEFILES=<snippet> -C ..."`): registers the e2e fixture module with Debian's dkms,
// builds it for 6.12.107, and checks that dkms still added its -j and KERNELRELEASE (it
// does only when MAKE[0] starts with `make`), that the module dkms produced carries
// .BTF.base and that `modbtf check` says its BTF survives on 6.12.117. Run as root (dkms
// writes /var/lib/dkms, /usr/src). Closes with `N passed, M failed`.
// (`modbtf setup`, which needs no dkms.conf change, is scripts/e2e-setup.mjs.)
import { execFileSync, spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(fileURLToPath(import.meta.url), '..', '..');
const cache = process.env.MODBTF_CACHE ?? '/var/cache/modbtf';
const KVER = '6.12.107+deb12-amd64';
const V117 = join(cache, 'root/usr/src/linux-headers-6.12.117+deb12-amd64/vmlinux');
const NAME = 'modbtf-e2e';
const VERSION = '1.0';
const src = `/usr/src/${NAME}-${VERSION}`;
const modbtf = (...args) => spawnSync(process.execPath, [join(root, 'dist/bundle/main.js'), ...args], { encoding: 'utf8' });
let passed = 0, failed = 0;
const check = (ok, what, detail = '') => { if (ok) passed++; else failed++; console.log(`${ok ? 'ok  ' : 'FAIL'} ${what}${detail ? `: ${detail}` : ''}`); };

// The dkms.conf a user would write (README, "DKMS").
const dkmsConf = `PACKAGE_NAME="${NAME}"
PACKAGE_VERSION="${VERSION}"
BUILT_MODULE_NAME[0]="modbtf_e2e"
DEST_MODULE_LOCATION[0]="/updates/dkms"
MAKE[0]="make MAKEFILES=${join(root, 'Makefile.snippet')} -C \${kernel_source_dir} M=\${dkms_tree}/\${PACKAGE_NAME}/\${PACKAGE_VERSION}/build modules"
CLEAN="make -C \${kernel_source_dir} M=\${dkms_tree}/\${PACKAGE_NAME}/\${PACKAGE_VERSION}/build clean"
AUTOINSTALL="no"
`;

function dkms(...args) {
  const r = spawnSync('dkms', args, { encoding: 'utf8' });
  console.log(`$ dkms ${args.join(' ')} -> exit ${r.status}`);
  return r;
}

try {
  if (!existsSync(`/lib/modules/${KVER}/build`)) throw new Error(`linux-headers-${KVER} is not installed (/lib/modules/${KVER}/build missing)`);
  dkms('remove', '-m', NAME, '-v', VERSION, '--all');
  rmSync(src, { recursive: true, force: true });
  mkdirSync(src, { recursive: true });
  for (const f of ['modbtf_e2e.c', 'Kbuild']) cpSync(join(root, 'test/e2e/fixture', f), join(src, f));
  writeFileSync(join(src, 'dkms.conf'), dkmsConf);
  check(dkms('add', '-m', NAME, '-v', VERSION).status === 0, 'dkms add');
  const b = dkms('build', '-m', NAME, '-v', VERSION, '-k', KVER);
  check(b.status === 0, `dkms build for ${KVER}`, b.status === 0 ? '' : (b.stdout + b.stderr).trim().split('\n').slice(-10).join(' | '));
  // dkms prints the command it runs: its own -j and KERNELRELEASE in front of ours.
  const ran = /^make -j\d+ KERNELRELEASE=(\S+) MAKEFILES=\S+ -C /m.exec(b.stdout);
  check(ran?.[1] === KVER, 'dkms kept its -j and KERNELRELEASE (MAKE[0] starts with make)', ran ? ran[0] : b.stdout.split('\n').filter((l) => /make/.test(l)).join(' | '));
  // dkms 3 keeps the build log per kernel; older ones in build/.
  const log = [join('/var/lib/dkms', NAME, VERSION, KVER, 'x86_64', 'log', 'make.log'), join('/var/lib/dkms', NAME, VERSION, 'build', 'make.log')].find((p) => existsSync(p));
  const text = log ? execFileSync('cat', [log], { encoding: 'utf8' }) : '';
  check(/BTF \[M\] .*modbtf_e2e\.ko/.test(text), 'kbuild ran the BTF step (make.log shows "BTF [M]")', log ?? 'no make.log found');
  const moduleDir = join('/var/lib/dkms', NAME, VERSION, KVER, 'x86_64', 'module');
  const built = existsSync(moduleDir) ? readdirSync(moduleDir).filter((f) => /^modbtf_e2e\.ko/.test(f)) : [];
  check(built.length === 1, 'dkms produced the module', built.join(' '));
  if (built.length === 1) {
    const ko = join(moduleDir, built[0]);
    const dump = modbtf('dump', ko);
    check(dump.status === 0 && /FUNC 'modbtf_e2e_answer'/.test(dump.stdout), 'the module has .BTF over its own .BTF.base (modbtf dump needs no vmlinux)', dump.stderr.trim());
    const c = modbtf('check', '--kernel', V117, ko);
    check(c.status === 0 && /keeps its BTF/.test(c.stdout), 'modbtf check: its BTF survives on 6.12.117', (c.stdout + c.stderr).trim().split('\n')[0]);
  }
} catch (err) {
  check(false, 'dkms e2e', err instanceof Error ? err.message : String(err));
} finally {
  dkms('remove', '-m', NAME, '-v', VERSION, '--all');
  rmSync(src, { recursive: true, force: true });
}
console.log(`${passed} passed, ${failed} failed`);
process.exitCode = failed > 0 ? 1 : 0;
