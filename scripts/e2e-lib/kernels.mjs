// The Debian kernels the e2e checks, by the packages they come from (issue 17): the versions it
// pins, and the newer trees the archive offers once it has moved on (discover7).
//
// A 7.x kernel (kernel7()) is Debian's kbuild tree of one upstream release: its headers package
// linux-headers-<abi>-<arch>, the -common tree, linux-kbuild-<abi> (tools: resolve_btfids,
// gen-btf.sh's helpers), linux-base-<abi>-<arch>; for a boot linux-binary-<abi>-<arch> (the image)
// and linux-modules-<abi>-<arch>. amd64 trees are installed in the sid chroot (ensureTree7:
// the pinned .debs, from the cache or the archive, given to apt, which takes their dependencies
// from sid); arm64/s390x header packages are unpacked next to the amd64 kbuild they use
// (cross.mjs).
//
// NEWEST_PROFILE is the newest kernel pipeline modbtf has a profile for (lib/pipeline): on a
// tree newer than that, every modbtf form must give exactly the tree's own step and one
// `modbtf: warning:` (MODBTF_STRICT=1: the build fails). When modbtf learns a new pipeline,
// this line changes with it.
import { existsSync } from 'node:fs';
import { join, relative } from 'node:path';
import { $ } from 'zx';
import { describe, firstUnavailable, pkg, probe, specOf } from './archive.mjs';
import { headersDependency, newerRelease, releaseOf, shortOf } from './debian.mjs';

export { releaseOf, shortOf };

export const NEWEST_PROFILE = { major: 7, minor: 3 };
const CACHE = process.env.MODBTF_CACHE ?? '/var/cache/modbtf';

/**
 * A Debian 7.x kernel: channel (archive.mjs: 'sid' or 'experimental', the amd64 packages'),
 * abi ('7.2.13+deb14', '7.3': the part of the package names before the arch), version.
 */
export function kernel7({ channel, abi, version, pinned = false }) {
  const short = shortOf(version);
  const release = releaseOf(version);
  const kver = (arch = 'amd64') => `${abi}-${arch}`;
  const ch = (arch) => (arch === 'amd64' ? channel : `${channel}-foreign`);
  return {
    id: short, short, channel, abi, version, pinned, release,
    /** Newer than every pipeline modbtf knows: modbtf must give the tree's own step, with a warning. */
    unknownToModbtf: newerRelease(release, NEWEST_PROFILE),
    kver,
    kdir: (arch = 'amd64') => `/usr/src/linux-headers-${kver(arch)}`,
    /** dkms's kernel_source_dir (the headers package's link). */
    ksd: (arch = 'amd64') => `/lib/modules/${kver(arch)}/build`,
    common: pkg(channel, `linux-headers-${abi}-common`, version, 'all'),
    kbuildTool: pkg(channel, `linux-kbuild-${abi}`, version),
    headers: (arch = 'amd64') => pkg(ch(arch), `linux-headers-${kver(arch)}`, version, arch),
    base: (arch = 'amd64') => pkg(ch(arch), `linux-base-${kver(arch)}`, version, arch),
    /** What `make -C <kdir>` needs, for `arch` (the amd64 kbuild tool and -common in every case). */
    tree(arch = 'amd64') { return [this.headers(arch), this.common, this.kbuildTool]; },
    /** What installing the amd64 tree with apt needs (linux-base-<kver> too, since 7.2.13). */
    install() { return [this.headers(), this.common, this.kbuildTool, this.base()]; },
    image: (arch = 'amd64') => pkg(ch(arch), `linux-binary-${kver(arch)}`, version, arch),
    modules: (arch = 'amd64') => pkg(ch(arch), `linux-modules-${kver(arch)}`, version, arch),
    /** The `--kernel` argument the e2e scripts take for it. */
    get spec() { return pinned ? short : `${channel}:linux-headers-${abi}-amd64=${version}`; },
  };
}

/** The 7.x kernels the e2e pins (scripts/e2e.mjs; bytes pinned to them: test/fixtures, PROVENANCE.md). */
export const PINNED7 = {
  '7.2.13': kernel7({ channel: 'sid', abi: '7.2.13+deb14', version: '7.2.13-1', pinned: true }),
  '7.3-rc7': kernel7({ channel: 'experimental', abi: '7.3', version: '7.3~rc7-1~exp1', pinned: true }),
};

/**
 * A kernel from a `--kernel` argument: a pinned id ('7.2.13', '7.3-rc7') or
 * `<channel>:linux-headers-<abi>-amd64=<version>` (what discover7 finds).
 */
export function kernelOf(spec = '7.2.13') {
  if (PINNED7[spec]) return PINNED7[spec];
  const m = /^(sid|experimental):linux-headers-(.+)-amd64=(\S+)$/.exec(spec);
  if (!m) throw new Error(`--kernel ${spec}: one of ${Object.keys(PINNED7).join(', ')}, or <sid|experimental>:linux-headers-<abi>-amd64=<version>`);
  const [, channel, abi, version] = m;
  const pinned = Object.values(PINNED7).find((k) => k.channel === channel && k.abi === abi && k.version === version);
  return pinned ?? kernel7({ channel, abi, version });
}

/** Debian 12's 6.12 kernels (host apt; $MODBTF_CACHE/debs): what the 6.x checks need. */
const V107 = '6.12.107-1~deb12u1';
const V117 = '6.12.117-1~deb12u1';
export const MATERIAL6 = {
  '6.12.107': [pkg('host', 'linux-image-6.12.107+deb12-amd64-unsigned', V107), pkg('host', 'linux-headers-6.12.107+deb12-amd64', V107),
    pkg('host', 'linux-headers-6.12.107+deb12-common', V107, 'all'), pkg('host', 'linux-kbuild-6.12.107+deb12', V107)],
  '6.12.117': [pkg('host', 'linux-image-6.12.117+deb12-amd64-unsigned', V117), pkg('host', 'linux-headers-6.12.117+deb12-amd64', V117),
    pkg('host', 'linux-headers-6.12.117+deb12-common', V117, 'all'), pkg('host', 'linux-kbuild-6.12.117+deb12', V117)],
};

/**
 * Debian 13's 6.12 kernels of other architectures (the trixie chroot: cross.mjs TRIXIE_KERNEL):
 * s390x 6.12.107, arm64 6.12.117; per arch: the tree (kbuild tool, -common, arch headers) and
 * the image with the shipped modules.
 */
const trixie6 = (version, arch) => {
  const abi = `${version}+deb13`;
  const v = `${version}-1`;
  return {
    tree: [pkg('trixie', `linux-kbuild-${abi}`, v), pkg('trixie', `linux-headers-${abi}-common`, v, 'all'), pkg('trixie-foreign', `linux-headers-${abi}-${arch}`, v, arch)],
    image: [pkg('trixie-foreign', arch === 's390x' ? `linux-image-${abi}-${arch}` : `linux-image-${abi}-${arch}-unsigned`, v, arch)],
  };
};
export const MATERIAL_TRIXIE = { s390x: trixie6('6.12.107', 's390x'), arm64: trixie6('6.12.117', 'arm64') };

/** Whether every package of `packages` can be had: null, or { pkg, message } of the first that cannot. */
export const unavailable = (packages, log) => firstUnavailable(packages, log);

/**
 * A .deb of `p` as a host path: from a cache, else downloaded by the channel's apt into its
 * first cache dir. Throws when neither has it.
 */
export async function fetchDeb(p, log = console.log) {
  const r = await probe(p, log);
  if (r.where === 'cache') return r.file;
  if (r.where === null) throw new Error(`${describe(p)} is no longer in the archive (${r.why}) nor in the local cache`);
  const { downloadInto } = await import('./archive.mjs');
  return downloadInto(p, log);
}

/**
 * The amd64 kbuild tree of `k` installed in the sid chroot (k.kdir()), from its pinned .debs
 * (cache first) by apt-get install, which takes the rest (gcc, pahole...) from sid. Nothing
 * happens when those versions are installed already.
 */
export async function ensureTree7(k, log = console.log) {
  const { sidSh, SID_ROOT } = await import('./sid.mjs');
  const want = k.install();
  const q = await sidSh(`dpkg-query -W -f='\${Package} \${Version} \${Status}\\n' ${want.map((p) => p.name).join(' ')} 2>/dev/null || true`);
  const have = new Set(q.stdout.split('\n').filter((l) => l.endsWith(' install ok installed')).map((l) => l.split(' ').slice(0, 2).join(' ')));
  const missing = want.filter((p) => !have.has(`${p.name} ${p.version}`));
  if (missing.length === 0) return k.kdir();
  const debs = [];
  for (const p of missing) debs.push(`/${relative(SID_ROOT, await fetchDeb(p, log))}`);
  log(`sid chroot: apt-get install ${missing.map(specOf).join(' ')} (${k.short} kbuild tree, from .debs)`);
  // apt reads the lists for the dependencies; they may be older than the archive's files.
  const r = await sidSh(`apt-get install -y -qq ${debs.join(' ')} 2>&1`, { nothrow: true, env: { DEBIAN_FRONTEND: 'noninteractive' } });
  if (r.exitCode !== 0) {
    await sidSh('apt-get update -qq', { env: { DEBIAN_FRONTEND: 'noninteractive' } });
    await sidSh(`apt-get install -y -qq ${debs.join(' ')}`, { env: { DEBIAN_FRONTEND: 'noninteractive' } });
  }
  if (!existsSync(join(SID_ROOT, k.kdir(), 'Makefile'))) throw new Error(`${k.kdir()}/Makefile missing after installing ${missing.map(specOf).join(' ')}`);
  return k.kdir();
}

/**
 * The kernels the archive offers now: sid's and experimental's linux-headers-amd64 (the
 * metapackage's candidate and the headers package it depends on). Returns
 * [{ channel, kernel, pinned }] — pinned: one of PINNED7 (same package, same version); else a
 * newer tree than the e2e pins, to be checked against its own pipeline. Channels whose apt
 * has no such package are left out (with a log line).
 */
export async function discover7(log = console.log) {
  const { channelRun } = await import('./archive.mjs');
  const found = [];
  for (const channel of ['sid', 'experimental']) {
    const pol = await channelRun(channel, 'apt-cache', 'policy linux-headers-amd64', log);
    const cand = /^ {2}Candidate: (\S+)$/m.exec(pol.stdout)?.[1];
    if (!cand || cand === '(none)') { log(`archive: ${channel} has no linux-headers-amd64 candidate`); continue; }
    const show = await channelRun(channel, 'apt-cache', `show linux-headers-amd64=${cand}`, log);
    const dep = headersDependency(show.stdout);
    if (!dep) { log(`archive: ${channel}'s linux-headers-amd64 ${cand} depends on no linux-headers-<abi>-amd64 (= version)`); continue; }
    const kernel = kernelOf(`${channel}:linux-headers-${dep.abi}-amd64=${dep.version}`);
    found.push({ channel, kernel, pinned: kernel.pinned });
  }
  return found;
}

export { CACHE };
