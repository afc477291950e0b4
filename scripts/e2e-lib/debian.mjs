// What the e2e reads from Debian's tools and names (no I/O here; test/unit/e2e-debian.test.ts):
// apt-cache policy's version table, Debian kernel versions, apt-get download's file names.

/**
 * The version table of `apt-cache policy NAME` for one package: [{ version, priority, sources }].
 * priority: the version's pin priority (negative: apt never installs it); sources: the lines
 * under the version without /var/lib/dpkg/status (which only says it is installed).
 */
export function parsePolicy(text) {
  const versions = [];
  let inTable = false;
  for (const line of text.split('\n')) {
    if (/^ {2}Version table:/.test(line)) { inTable = true; continue; }
    if (!inTable) continue;
    let m;
    if ((m = /^ (?:\*\*\*| {3}) (\S+) (-?\d+)$/.exec(line))) versions.push({ version: m[1], priority: Number(m[2]), sources: [] });
    // Source lines: the priority right-aligned (8 spaces before "500", 10 before "1").
    else if ((m = /^ {6,}(-?\d+) (.+)$/.exec(line)) && versions.length) { if (m[2] !== '/var/lib/dpkg/status') versions.at(-1).sources.push(m[2]); }
    else if (/^\S/.test(line)) inTable = false;
  }
  return versions;
}

/**
 * Whether apt can still give `version` of a package, from its policy table (parsePolicy):
 * { where: 'archive' } when a source has it at a pin priority >= 0; else { where: null, why }.
 * A version apt would never install (pinned below 0) counts as gone, as does one only
 * /var/lib/dpkg/status knows (installed, but no archive has it).
 */
export function archiveHas(table, version) {
  const v = table.find((x) => x.version === version);
  if (v && v.priority >= 0 && v.sources.length > 0) return { where: 'archive' };
  if (v && v.sources.length > 0) return { where: null, why: `apt will not install it (pin priority ${v.priority})` };
  if (table.length === 0) return { where: null, why: 'the archive does not know it' };
  return { where: null, why: `the archive has ${table.filter((x) => x.sources.length).map((x) => x.version).join(', ') || 'no version'}` };
}

/** '7.3~rc7-1~exp1' -> '7.3-rc7', '7.2.13-1' -> '7.2.13' (the upstream version, as people say it). */
export function shortOf(version) {
  return version.replace(/^\d+:/, '').replace(/-[^-]*$/, '').replace(/~/g, '-');
}

/** { major, minor } of a version or release string ('7.3~rc7-1~exp1', '7.2.13+deb14-amd64', '7.4.0'). */
export function releaseOf(s) {
  const m = /^(\d+)\.(\d+)/.exec(s.replace(/^\d+:/, ''));
  if (!m) throw new Error(`no kernel release in ${JSON.stringify(s)}`);
  return { major: Number(m[1]), minor: Number(m[2]) };
}

/** a newer (VERSION.PATCHLEVEL) than b. */
export const newerRelease = (a, b) => a.major > b.major || (a.major === b.major && a.minor > b.minor);

/** The file name apt-get download gives a package (an epoch ':' becomes %3a). */
export function debFileName(name, version, arch) {
  return `${name}_${version.replace(/:/g, '%3a')}_${arch}.deb`;
}

/**
 * The kernel headers package a linux-headers-amd64 metapackage (`apt-cache show` text) depends on:
 * { abi, version } ('7.2.13+deb14', '7.2.13-1'), or undefined.
 */
export function headersDependency(showText) {
  const m = /^Depends: .*?\blinux-headers-(\S+)-amd64 \(= ([^)]+)\)/m.exec(showText);
  return m ? { abi: m[1], version: m[2] } : undefined;
}
