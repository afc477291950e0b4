// The libbpf 1.7.0 reference program (scripts/oracle/libbpf-oracle.c) built in the sid chroot
// against sid's static libbpf.a, once per source and libbpf.a: /opt/modbtf-oracle-<key>/ (the key
// in the path, so checkouts with different sources sharing the chroot never rebuild each other's).
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { copyIn, sidPath, sidSh } from './sid.mjs';

const REPO = new URL('../..', import.meta.url).pathname;
export const LIBBPF_A = '/usr/lib/x86_64-linux-gnu/libbpf.a';
const sha = (b) => createHash('sha256').update(b).digest('hex');

/** Chroot path of the oracle binary (built when missing). Needs ensureSid() with libbpf-dev. */
export async function ensureOracle(log = console.log) {
  const src = join(REPO, 'scripts/oracle/libbpf-oracle.c');
  const key = sha(`${sha(readFileSync(src))} ${sha(readFileSync(sidPath(LIBBPF_A)))}`).slice(0, 12);
  const dir = `/opt/modbtf-oracle-${key}`;
  if (existsSync(sidPath(`${dir}/libbpf-oracle`)) && existsSync(sidPath(`${dir}/build.key`))) return `${dir}/libbpf-oracle`;
  log(`build libbpf-oracle against sid's libbpf.a (${dir})`);
  copyIn(src, `${dir}/libbpf-oracle.c`);
  await sidSh(`gcc -O2 -Wall -Werror -o libbpf-oracle.tmp libbpf-oracle.c ${LIBBPF_A} -lelf -lz && mv libbpf-oracle.tmp libbpf-oracle`, { cwd: dir });
  writeFileSync(sidPath(`${dir}/build.key`), `${key}\n`);
  return `${dir}/libbpf-oracle`;
}

/**
 * Chroot path of scripts/oracle/libdw-walk.c built against sid's libdw (libdw-dev), once per
 * source and libdw.so: /opt/modbtf-libdw-walk-<key>/libdw-walk. Needs ensureSid() with libdw-dev.
 */
export async function ensureWalkOracle(log = console.log) {
  const src = join(REPO, 'scripts/oracle/libdw-walk.c');
  const libdw = (await sidSh('readlink -f /usr/lib/x86_64-linux-gnu/libdw.so')).stdout.trim();
  const key = sha(`${sha(readFileSync(src))} ${libdw} ${sha(readFileSync(sidPath(libdw)))}`).slice(0, 12);
  const dir = `/opt/modbtf-libdw-walk-${key}`;
  if (existsSync(sidPath(`${dir}/libdw-walk`)) && existsSync(sidPath(`${dir}/build.key`))) return `${dir}/libdw-walk`;
  log(`build libdw-walk against sid's ${libdw} (${dir})`);
  copyIn(src, `${dir}/libdw-walk.c`);
  await sidSh('gcc -O2 -Wall -Werror -o libdw-walk.tmp libdw-walk.c -ldw -lelf && mv libdw-walk.tmp libdw-walk', { cwd: dir });
  writeFileSync(sidPath(`${dir}/build.key`), `${key}\n`);
  return `${dir}/libdw-walk`;
}
