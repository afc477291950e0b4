// Debian's 7.2.13 cloud-amd64 -dbg package and its headers as scripts/corpus-encode.mjs unpacks
// them in the sid chroot (paths inside the chroot), and the pahole flags of a 7.2.13 M= build:
// shared by corpus-encode and the encoder's benchmarks and e2e checks.
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { SID_ROOT } from '../e2e-lib/sid.mjs';
import { repo } from './corpus.mjs';

const DBG = '/var/lib/modbtf-dbg/linux-image-7.2.13+deb14-cloud-amd64-dbg_7.2.13-1_amd64';
const HDR = '/var/lib/modbtf-dbg/linux-headers-7.2.13+deb14-cloud-amd64_7.2.13-1_amd64';
/** The package's module tree and the headers' vmlinux, inside the chroot. */
export const CLOUD72_TREE = `${DBG}/usr/lib/debug/lib/modules/7.2.13+deb14-cloud-amd64/kernel`;
export const CLOUD72_VMLINUX = `${HDR}/usr/src/linux-headers-7.2.13+deb14-cloud-amd64/vmlinux`;

/** Why the unpack is not there to use (undefined: it is). */
export function cloud72Missing() {
  if (existsSync(join(SID_ROOT, CLOUD72_TREE)) && existsSync(join(SID_ROOT, CLOUD72_VMLINUX))) return undefined;
  return 'no unpacked cloud -dbg package or headers in the chroot: run scripts/corpus-encode.mjs --set cloud --count 1 first';
}

/** The package's modules of at least `minBytes`, largest first: [size, path under the tree]. */
export function largestCloud72Modules(count, minBytes = 0) {
  const out = execFileSync('find', [join(SID_ROOT, CLOUD72_TREE), '-name', '*.ko', '-size', `+${Math.max(0, minBytes - 1)}c`, '-printf', '%s %P\n'], { encoding: 'utf8' });
  return out.trim().split('\n').filter(Boolean).map((l) => l.split(' ')).map(([s, p]) => [Number(s), p]).sort((a, b) => b[0] - a[0]).slice(0, count);
}

/** gen-btf.sh's pahole flags from a V=1 build of the 7.2.13 tree (test/fixtures/kernel7/pahole.cmd), -J included, without --btf_base, the output and the module. */
export function kbuild72PaholeFlags() {
  const cmd = readFileSync(join(repo, 'test/fixtures/kernel7/pahole.cmd'), 'utf8').trim().split(/\s+/);
  const out = [];
  for (let i = 1; i < cmd.length; i++) {
    const a = cmd[i];
    if (a === '--btf_base') { i++; continue; }
    if (a.startsWith('--btf_encode_detached=') || a.endsWith('.ko')) continue;
    out.push(a);
  }
  return out;
}
