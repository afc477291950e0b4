// scripts/e2e-lib/debian.mjs: what the e2e reads from apt and Debian's kernel names, on text
// apt 2.6.1 (Debian 12) printed on this project's machine (a pin to -1 made with an apt
// preferences file, as the e2e's "package vanished" test does).
import { describe, expect, it } from 'vitest';
import { archiveHas, debFileName, headersDependency, newerRelease, parsePolicy, releaseOf, shortOf } from '../../scripts/e2e-lib/debian.mjs';

const PINNED_AWAY = `linux-headers-6.12.107+deb12-amd64:
  Installed: 6.12.107-1~deb12u1
  Candidate: (none)
  Version table:
 *** 6.12.107-1~deb12u1 -1
        500 http://deb.debian.org/debian-security bookworm-security/main amd64 Packages
        100 /var/lib/dpkg/status
`;
const TWO_VERSIONS = `linux-headers-amd64:
  Installed: (none)
  Candidate: 6.1.192-3
  Version table:
     6.1.192-3 500
        500 http://deb.debian.org/debian-security bookworm-security/main amd64 Packages
     6.1.176-1 500
        500 http://deb.debian.org/debian bookworm/main amd64 Packages
`;
// apt 3.3.5 in the sid chroot, experimental's apt state (NotAutomatic: priority 1, right-aligned).
const EXPERIMENTAL = `linux-base-7.3-amd64:
  Installed: (none)
  Candidate: 7.3~rc7-1~exp1
  Version table:
     7.3~rc7-1~exp1 1
          1 http://deb.debian.org/debian experimental/main amd64 Packages
`;
// apt 3.3.5 in the sid chroot, experimental's apt state, 2026-12-06, during the e2e's vanished-package
// run (scripts/e2e.mjs header): /etc/apt/preferences.d/modbtf-vanished pinned this version to -1.
const EXPERIMENTAL_PINNED_AWAY = `linux-binary-7.3-amd64:
  Installed: (none)
  Candidate: (none)
  Version table:
     7.3~rc7-1~exp1 -1
          1 http://deb.debian.org/debian experimental/main amd64 Packages
`;
const INSTALLED_ONLY = `modbtf-local:
  Installed: 1.0
  Candidate: 1.0
  Version table:
 *** 1.0 100
        100 /var/lib/dpkg/status
`;

describe('apt-cache policy', () => {
  it('reads experimental\'s version pinned to -1 (priority 1 source right-aligned)', () => {
    expect(parsePolicy(EXPERIMENTAL_PINNED_AWAY)).toEqual([{ version: '7.3~rc7-1~exp1', priority: -1, sources: ['http://deb.debian.org/debian experimental/main amd64 Packages'] }]);
  });
  it('reads a version pinned to -1: the archive has it, apt will not install it', () => {
    expect(parsePolicy(PINNED_AWAY)).toEqual([{ version: '6.12.107-1~deb12u1', priority: -1, sources: ['http://deb.debian.org/debian-security bookworm-security/main amd64 Packages'] }]);
  });
  it('reads every version with its sources', () => {
    expect(parsePolicy(TWO_VERSIONS).map((v) => [v.version, v.priority, v.sources.length])).toEqual([['6.1.192-3', 500, 1], ['6.1.176-1', 500, 1]]);
  });
  it('reads experimental\'s priority 1, right-aligned under the version', () => {
    expect(parsePolicy(EXPERIMENTAL)).toEqual([{ version: '7.3~rc7-1~exp1', priority: 1, sources: ['http://deb.debian.org/debian experimental/main amd64 Packages'] }]);
  });
  it('an installed package no archive has: a version without sources', () => {
    expect(parsePolicy(INSTALLED_ONLY)).toEqual([{ version: '1.0', priority: 100, sources: [] }]);
  });
  it('a package apt does not know: no versions', () => {
    expect(parsePolicy('')).toEqual([]);
  });
});

describe('whether the archive still has a pinned version (archive.mjs probe, after the cache)', () => {
  it('a version apt would install: the archive has it', () => {
    expect(archiveHas(parsePolicy(EXPERIMENTAL), '7.3~rc7-1~exp1')).toEqual({ where: 'archive' });
    expect(archiveHas(parsePolicy(TWO_VERSIONS), '6.1.176-1')).toEqual({ where: 'archive' });
  });
  it('a version pinned to -1 is gone, and says so', () => {
    expect(archiveHas(parsePolicy(EXPERIMENTAL_PINNED_AWAY), '7.3~rc7-1~exp1')).toEqual({ where: null, why: 'apt will not install it (pin priority -1)' });
    expect(archiveHas(parsePolicy(PINNED_AWAY), '6.12.107-1~deb12u1')).toEqual({ where: null, why: 'apt will not install it (pin priority -1)' });
  });
  it('a version the archive no longer lists: gone, naming what it has', () => {
    expect(archiveHas(parsePolicy(TWO_VERSIONS), '6.1.170-1')).toEqual({ where: null, why: 'the archive has 6.1.192-3, 6.1.176-1' });
    expect(archiveHas(parsePolicy(EXPERIMENTAL), '7.3~rc6-1~exp1')).toEqual({ where: null, why: 'the archive has 7.3~rc7-1~exp1' });
  });
  it('installed but in no archive, or unknown to apt: gone', () => {
    expect(archiveHas(parsePolicy(INSTALLED_ONLY), '1.0')).toEqual({ where: null, why: 'the archive has no version' });
    expect(archiveHas(parsePolicy(''), '1.0')).toEqual({ where: null, why: 'the archive does not know it' });
  });
});

describe('Debian kernel names', () => {
  it('upstream version and release of Debian kernel versions', () => {
    expect(shortOf('7.3~rc7-1~exp1')).toBe('7.3-rc7');
    expect(shortOf('7.2.13-1')).toBe('7.2.13');
    expect(shortOf('1:7.4.1-2')).toBe('7.4.1');
    expect(releaseOf('7.3~rc7-1~exp1')).toEqual({ major: 7, minor: 3 });
    expect(releaseOf('7.2.13+deb14-amd64')).toEqual({ major: 7, minor: 2 });
    expect(releaseOf('7.4.0')).toEqual({ major: 7, minor: 4 });
    expect(() => releaseOf('amd64')).toThrow(/no kernel release/);
  });
  it('newer by VERSION.PATCHLEVEL only', () => {
    expect(newerRelease({ major: 7, minor: 4 }, { major: 7, minor: 3 })).toBe(true);
    expect(newerRelease({ major: 8, minor: 0 }, { major: 7, minor: 3 })).toBe(true);
    expect(newerRelease({ major: 7, minor: 3 }, { major: 7, minor: 3 })).toBe(false);
    expect(newerRelease({ major: 6, minor: 12 }, { major: 7, minor: 3 })).toBe(false);
  });
  it('apt-get download file names', () => {
    expect(debFileName('linux-headers-7.3-amd64', '7.3~rc7-1~exp1', 'amd64')).toBe('linux-headers-7.3-amd64_7.3~rc7-1~exp1_amd64.deb');
    expect(debFileName('libbpf1', '1:1.7.0-1', 'amd64')).toBe('libbpf1_1%3a1.7.0-1_amd64.deb');
  });
  it('the headers package a linux-headers-amd64 depends on (apt-cache show)', () => {
    expect(headersDependency('Package: linux-headers-amd64\nVersion: 6.1.192-3\nDepends: linux-headers-6.1.0-57-amd64 (= 6.1.192-3)\n')).toEqual({ abi: '6.1.0-57', version: '6.1.192-3' });
    expect(headersDependency('Package: linux-headers-amd64\nDepends: linux-headers-7.3-amd64 (= 7.3~rc7-1~exp1)\n')).toEqual({ abi: '7.3', version: '7.3~rc7-1~exp1' });
    expect(headersDependency('Package: foo\nDepends: bar\n')).toBeUndefined();
  });
});
