// The two btf__dedup() references for `modbtf dedup` (scripts/oracle/dedup-oracle.c), built in
// the sid chroot, each once per source and libbpf (the key is in the path, so checkouts sharing
// the chroot never rebuild each other's):
//
//   /opt/modbtf-dedup-oracle-<key>/dedup-oracle-1.7.0   linked with sid's libbpf-dev (libbpf.a 1.7.0)
//   /opt/modbtf-dedup-oracle-<key>/dedup-oracle-fixed   linked with the libbpf of the kernel 7.3 tree
//                                                       (experimental's linux-source-7.3:
//                                                       tools/lib/bpf, built there)
//
// The 7.3 tree's tools/lib/bpf is the libbpf kernel 7.3's resolve_btfids links statically; it has
// the April 2026 typedef fix (libbpf commit 5b0f3729) that Debian's 1.7.0 lacks.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { basename, join } from 'node:path';
import { $ } from 'zx';
import { VERSION73, experimentalDownload } from './kernel7.mjs';
import { LIBBPF_A } from './oracle.mjs';
import { SID_BASE_PACKAGES, copyIn, ensureSid, sidPath, sidSh } from './sid.mjs';

const REPO = new URL('../..', import.meta.url).pathname;
const sha = (b) => createHash('sha256').update(b).digest('hex');
/** What building the 7.3 tree's libbpf needs besides SID_BASE_PACKAGES (bpf_helper_defs.h is made by a python script). */
export const DEDUP_ORACLE_PACKAGES = ['python3-minimal'];
/** The parts of linux-source-7.3 tools/lib/bpf's Makefile reads. */
const TREE_PARTS = ['tools/lib', 'tools/include', 'tools/scripts', 'tools/build', 'tools/arch', 'include/uapi', 'arch/x86/include/uapi', 'scripts'];

/**
 * Chroot paths of both oracles: { '1.7.0': path, fixed: path, libbpf73: description }.
 * Needs root; sets up the chroot packages it needs.
 */
export async function ensureDedupOracles(log = console.log) {
  await ensureSid([...SID_BASE_PACKAGES, ...DEDUP_ORACLE_PACKAGES], log);
  const src = join(REPO, 'scripts/oracle/dedup-oracle.c');
  const sourceDeb = await experimentalDownload(`linux-source-7.3=${VERSION73}`, log);
  const key = sha(`${sha(readFileSync(src))} ${sha(readFileSync(sidPath(LIBBPF_A)))} ${basename(sourceDeb)}`).slice(0, 12);
  const dir = `/opt/modbtf-dedup-oracle-${key}`;
  const oracles = { '1.7.0': `${dir}/dedup-oracle-1.7.0`, fixed: `${dir}/dedup-oracle-fixed`, libbpf73: `tools/lib/bpf of ${basename(sourceDeb)}` };
  if (existsSync(sidPath(`${dir}/build.key`))) return oracles;
  log(`build dedup-oracle against sid's libbpf.a and the 7.3 tree's tools/lib/bpf (${dir})`);
  copyIn(src, `${dir}/dedup-oracle.c`);
  await sidSh(`gcc -O2 -Wall -Werror -o dedup-oracle-1.7.0 dedup-oracle.c ${LIBBPF_A} -lelf -lz`, { cwd: dir });
  // linux-source-7.3_*.deb holds usr/src/linux-source-7.3.tar.xz; only the parts the libbpf build reads.
  const tree = `${dir}/linux-source-7.3`;
  await $`dpkg-deb --fsys-tarfile ${sourceDeb} | tar -xO ./usr/src/linux-source-7.3.tar.xz | tar -xJ -C ${sidPath(dir)} ${TREE_PARTS.map((p) => `linux-source-7.3/${p}`)}`;
  await sidSh(`mkdir -p ${dir}/libbpf73 && make -s -j2 -C ${tree}/tools/lib/bpf OUTPUT=${dir}/libbpf73/ ${dir}/libbpf73/libbpf.a`);
  await sidSh(`gcc -O2 -Wall -Werror -I${tree}/tools/lib -I${tree}/tools/include/uapi -I${tree}/tools/include -o dedup-oracle-fixed dedup-oracle.c ${dir}/libbpf73/libbpf.a -lelf -lz`, { cwd: dir });
  await sidSh(`rm -rf ${tree}`);
  writeFileSync(sidPath(`${dir}/build.key`), `${key}\n`);
  return oracles;
}
