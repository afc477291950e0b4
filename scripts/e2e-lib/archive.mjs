// Where a pinned Debian package can still come from (issue 17: the archive moves). sid replaces
// its kernel, experimental moves to the next rc, old versions vanish from the mirror; the e2e
// keeps checking the versions it pins for as long as this machine can get them:
//
//   'cache'    a .deb of that name, version and architecture in one of the local caches the
//              e2e's downloads use (listed per channel below), so no archive is asked at all;
//   'archive'  apt, with that channel's sources, lists and preferences, has that version at a
//              pin priority >= 0 (`apt-cache policy`; a version apt would never install, such as
//              one an apt preferences file pins to -1, counts as gone);
//   null       neither: each check that needs it is reported `skipped: <package> is no longer in
//              the archive` (scripts/e2e.mjs) instead of failing.
//
// Channels (how apt reaches a suite, and where its .debs are kept):
//   host           this machine's apt (Debian 12): $MODBTF_CACHE/debs, /var/cache/apt/archives
//   sid            the sid chroot's own apt: its /var/cache/modbtf-debs, /var/cache/apt/archives
//   experimental   the sid chroot with experimental's apt state (kernel7.mjs): /var/cache/modbtf-debs-experimental
//   trixie         the trixie chroot's own apt (cross.mjs): its /var/cache/apt/archives
//   sid-foreign, experimental-foreign   arm64/s390x packages in the sid chroot (chroot.mjs foreignApt)
//   trixie-foreign                      arm64/s390x packages in the trixie chroot
//
// The test of this (a package made unavailable: an apt preferences file pinning it to -1 in the
// chroot or on the host, and its .debs moved out of the caches) is described in scripts/e2e.mjs.
import { existsSync, mkdirSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { $ } from 'zx';
import { archiveHas, debFileName, parsePolicy } from './debian.mjs';

export { parsePolicy };

const CACHE = process.env.MODBTF_CACHE ?? '/var/cache/modbtf';
/** Lists older than this are refreshed once before a probe trusts them (hours). */
const LISTS_MAX_AGE_H = Number(process.env.MODBTF_E2E_LISTS_MAX_AGE_H ?? 24);

// Per run: channels made ready, lists refreshed, probe results.
const readyDone = new Map();
const refreshed = new Set();
const results = new Map();

/** A package spec: { channel, name, version, arch } (arch: the package's own, 'all' included). */
export const pkg = (channel, name, version, arch = 'amd64') => ({ channel, name, version, arch });
/** `name=version` (`name:arch=version` for a foreign channel), as apt-get download takes it. */
export const specOf = (p) => `${p.name}${p.channel.endsWith('-foreign') ? `:${p.arch}` : ''}=${p.version}`;
/** How the report names a package: name (version[, arch]). */
export const describe = (p) => `${p.name} ${p.version}${p.arch !== 'amd64' && p.arch !== 'all' ? ` (${p.arch})` : ''}`;

/**
 * The .deb of `p` in a cache directory (host path), else undefined. Files from older downloads
 * without the epoch in their names are found too; an arch-independent package of a foreign
 * channel is `_all`.
 */
export function cachedDeb(p) {
  const names = new Set([debFileName(p.name, p.version, p.arch), debFileName(p.name, p.version.replace(/^\d+:/, ''), p.arch),
    debFileName(p.name, p.version, 'all'), debFileName(p.name, p.version.replace(/^\d+:/, ''), 'all')]);
  for (const dir of channel(p.channel).caches()) {
    if (!existsSync(dir)) continue;
    const f = readdirSync(dir).find((x) => names.has(x));
    if (f) return join(dir, f);
  }
  return undefined;
}

// Lazily imported: sid.mjs, kernel7.mjs and chroot.mjs import this module's helpers.
const mods = () => Promise.all([import('./sid.mjs'), import('./kernel7.mjs'), import('./chroot.mjs'), import('./cross.mjs')]);

/**
 * A channel: caches() its cache dirs, lists() its apt lists dir (host paths), run(tool, args)
 * apt-get or apt-cache with its apt state (never throws: { exitCode, stdout, stderr }), ready()
 * what must exist before apt can be asked (the chroot, the channel's apt state).
 */
function channel(name) {
  const sidP = (p) => join(CACHE, 'sid', p);
  const trixieP = (p) => join(CACHE, 'trixie', p);
  const table = {
    host: {
      caches: () => [join(CACHE, 'debs'), '/var/cache/apt/archives'],
      lists: () => '/var/lib/apt/lists',
      run: async (tool, args, cwd = '/') => $({ nothrow: true, quiet: true, cwd, env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } })`sh -c ${`${tool} ${args}`}`,
      ready: async () => true,
    },
    sid: {
      caches: () => [sidP('var/cache/modbtf-debs'), sidP('var/cache/apt/archives')],
      lists: () => sidP('var/lib/apt/lists'),
      run: async (tool, args, cwd = '/') => { const [{ sidSh }] = await mods(); return sidSh(`${tool} ${args}`, { cwd, nothrow: true, env: { DEBIAN_FRONTEND: 'noninteractive' } }); },
      ready: async (log) => { const [{ ensureSid, SID_TOOLS }] = await mods(); await ensureSid(SID_TOOLS, log); return true; },
    },
    experimental: {
      caches: () => [sidP('var/cache/modbtf-debs-experimental')],
      lists: () => sidP('var/lib/apt/lists-experimental'),
      run: async (tool, args, cwd = '/') => { const [, k7] = await mods(); return k7.experimentalAptRun(tool, args, cwd); },
      ready: async (log) => { const [{ ensureSid, SID_TOOLS }, k7] = await mods(); await ensureSid(SID_TOOLS, log); k7.experimentalAptSetup(); return true; },
    },
    trixie: {
      caches: () => [trixieP('var/cache/apt/archives')],
      lists: () => trixieP('var/lib/apt/lists'),
      run: async (tool, args, cwd = '/') => { const [, , , cross] = await mods(); return cross.trixie.sh(`${tool} ${args}`, { cwd, nothrow: true, env: { DEBIAN_FRONTEND: 'noninteractive' } }); },
      ready: async (log) => { const [, , , cross] = await mods(); await cross.trixie.ensure(cross.TRIXIE_BASE_PACKAGES, log); return true; },
    },
    'sid-foreign': foreignChannel('sid', sidP),
    'experimental-foreign': foreignChannel('experimental', sidP),
    'trixie-foreign': foreignChannel('trixie', trixieP),
  };
  const c = table[name];
  if (!c) throw new Error(`archive: no channel ${name} (${Object.keys(table).join(', ')})`);
  return c;
}

function foreignChannel(tag, path) {
  const get = async () => {
    const [, , , cross] = await mods();
    return cross.foreignChannels[tag];
  };
  return {
    caches: () => [path(`var/cache/modbtf-debs-foreign-${tag}`)],
    lists: () => path(`var/lib/apt/lists-foreign-${tag}`),
    run: async (tool, args, cwd = '/') => (await get()).run(tool, args, cwd),
    ready: async (log) => { await (await get()).ready(log); return true; },
  };
}

/** The host path of a cache dir of a chroot channel as the chroot sees it (host channel: itself). */
function insideOf(channelName, hostDir) {
  const root = channelName === 'host' ? '' : join(CACHE, channelName.startsWith('trixie') ? 'trixie' : 'sid');
  return root ? `/${hostDir.slice(root.length).replace(/^\/+/, '')}` : hostDir;
}

/**
 * `tool args` (apt-get or apt-cache) with a channel's apt state, once the channel is ready
 * (its chroot and apt state made). Never throws: { exitCode, stdout, stderr }.
 */
export async function channelRun(name, tool, args, log = () => {}, cwd = '/') {
  const c = channel(name);
  if (!readyDone.has(name)) readyDone.set(name, c.ready(log));
  await readyDone.get(name);
  await refreshLists(name, c, log);
  return c.run(tool, args, cwd);
}

async function refreshLists(name, c, log) {
  if (refreshed.has(name) || listsAgeHours(c.lists()) <= LISTS_MAX_AGE_H) return;
  refreshed.add(name);
  log(`archive: apt-get update (${name})`);
  const u = await c.run('apt-get', 'update -qq');
  if (u.exitCode !== 0) log(`archive: apt-get update (${name}) failed: ${(u.stderr || u.stdout).trim().split('\n').at(-1)}`);
}

/**
 * `apt-get download name=version` of `p` into its channel's first cache dir; returns the host
 * path of the .deb. The caller has asked probe() first (apt-get download ignores pins).
 */
export async function downloadInto(p, log = () => {}) {
  const dir = channel(p.channel).caches()[0];
  mkdirSync(dir, { recursive: true });
  log(`${p.channel}: apt-get download ${specOf(p)}`);
  const r = await channelRun(p.channel, 'apt-get', `download -q -o APT::Sandbox::User=root '${specOf(p)}'`, log, insideOf(p.channel, dir));
  const file = cachedDeb(p);
  if (!file) throw new Error(`apt-get download ${specOf(p)} (${p.channel}) gave no .deb in ${dir}: ${(r.stderr || r.stdout).trim().split('\n').at(-1) ?? ''}`);
  return file;
}

/** The newest *_Packages list of a lists dir: its age in hours, Infinity when there is none. */
function listsAgeHours(dir) {
  if (!existsSync(dir)) return Infinity;
  const times = readdirSync(dir).filter((f) => f.endsWith('_Packages')).map((f) => statSync(join(dir, f)).mtimeMs);
  return times.length ? (Date.now() - Math.max(...times)) / 3.6e6 : Infinity;
}

/**
 * Where `p` can come from: { where: 'cache', file } | { where: 'archive' } | { where: null, why }.
 * Cache first; the archive is asked through the channel's apt (lists refreshed once per run when
 * missing or older than MODBTF_E2E_LISTS_MAX_AGE_H hours). Results are kept for the run.
 */
export async function probe(p, log = () => {}) {
  const key = `${p.channel} ${p.name} ${p.version} ${p.arch}`;
  if (results.has(key)) return results.get(key);
  const file = cachedDeb(p);
  if (file) { const r = { where: 'cache', file }; results.set(key, r); return r; }
  const name = p.channel.endsWith('-foreign') ? `${p.name}:${p.arch}` : p.name;
  const r0 = await channelRun(p.channel, 'apt-cache', `policy '${name}'`, log);
  const r = archiveHas(parsePolicy(r0.stdout), p.version);
  results.set(key, r);
  return r;
}

/**
 * The first of `packages` that can be had from neither the cache nor the archive, with the
 * sentence the e2e prints; null when all can.
 */
export async function firstUnavailable(packages, log) {
  for (const p of packages) {
    const r = await probe(p, log);
    if (r.where === null) return { pkg: p, why: r.why, message: `skipped: ${describe(p)} is no longer in the archive (${r.why}) nor in the local cache` };
  }
  return null;
}
