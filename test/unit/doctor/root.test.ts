// SystemRoot: system paths read under a snapshot directory, symlinks followed inside it.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SystemRoot } from '../../../lib/doctor/root.js';

describe('SystemRoot', () => {
  let dir: string;
  let root: SystemRoot;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'modbtf-doctor-root-'));
    mkdirSync(join(dir, 'usr/lib/modules/6.12.117/updates/dkms'), { recursive: true });
    mkdirSync(join(dir, 'usr/src/linux-headers-6.12.117'), { recursive: true });
    writeFileSync(join(dir, 'usr/src/linux-headers-6.12.117/vmlinux'), 'v');
    writeFileSync(join(dir, 'usr/lib/modules/6.12.117/updates/dkms/a.ko'), 'a');
    writeFileSync(join(dir, 'usr/lib/modules/6.12.117/updates/b.ko.xz'), 'b');
    writeFileSync(join(dir, 'usr/lib/modules/6.12.117/updates/notes.txt'), 'n');
    // merged /usr: /lib -> usr/lib (relative); the build link absolute, as dpkg leaves it.
    symlinkSync('usr/lib', join(dir, 'lib'));
    symlinkSync('/usr/src/linux-headers-6.12.117', join(dir, 'usr/lib/modules/6.12.117/build'));
    symlinkSync('../../../../etc/passwd', join(dir, 'usr/lib/modules/6.12.117/escape'));
    symlinkSync('loop', join(dir, 'loop'));
    root = new SystemRoot(dir);
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('follows relative and absolute links inside the root', async () => {
    expect(await root.resolve('/lib/modules/6.12.117/build/vmlinux')).toBe(join(dir, 'usr/src/linux-headers-6.12.117/vmlinux'));
    expect(await root.readText('/lib/modules/6.12.117/build/vmlinux')).toBe('v');
    expect(await root.isDir('/lib/modules/6.12.117/build')).toBe(true);
  });

  it('never leaves the root: ".." stops at it, a link loop is "missing"', async () => {
    expect(await root.resolve('/lib/modules/6.12.117/escape')).toBeUndefined();
    expect(await root.resolve('/../../usr/src')).toBe(join(dir, 'usr/src'));
    expect(await root.resolve('/loop')).toBeUndefined();
  });

  it('walks a tree for module files, sorted, as system paths', async () => {
    expect(await root.walk('/lib/modules/6.12.117/updates', /\.ko(\.xz|\.zst|\.gz)?$/)).toEqual([
      '/lib/modules/6.12.117/updates/b.ko.xz',
      '/lib/modules/6.12.117/updates/dkms/a.ko',
    ]);
    expect(await root.list('/nonexistent')).toEqual([]);
  });
});
