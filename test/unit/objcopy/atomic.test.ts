import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { chmod, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeFileAtomic } from '../../../lib/objcopy/atomic.js';
import { objcopyArgs, rewriteBtfSections } from '../../../lib/objcopy/sections.js';
import { locateObjcopy } from '../../../lib/objcopy/locate.js';

let dir: string;
beforeEach(async () => { dir = await mkdtemp(join(tmpdir(), 'modbtf-atomic-')); });
afterEach(async () => { await chmod(dir, 0o755).catch(() => undefined); await rm(dir, { recursive: true, force: true }); });

describe('writeFileAtomic', () => {
  it('replaces the contents, keeps the mode, leaves no temp file', async () => {
    const f = join(dir, 'm.ko');
    await writeFile(f, 'old');
    await chmod(f, 0o600);
    await writeFileAtomic(f, new TextEncoder().encode('new bytes'));
    expect(await readFile(f, 'utf8')).toBe('new bytes');
    expect((await stat(f)).mode & 0o777).toBe(0o600);
    expect(await readdir(dir)).toEqual(['m.ko']);
  });

  it('in an unwritable directory: typed error naming the file, target unchanged', async () => {
    if (process.getuid?.() === 0) {
      // root ignores directory permissions; use a path whose directory does not exist instead.
      const f = join(dir, 'missing-dir', 'm.ko');
      await expect(writeFileAtomic(f, new Uint8Array([1]))).rejects.toMatchObject({ code: 'IO_WRITE', context: { file: f } });
      return;
    }
    const f = join(dir, 'm.ko');
    await writeFile(f, 'old');
    await chmod(dir, 0o555);
    await expect(writeFileAtomic(f, new Uint8Array([1]))).rejects.toMatchObject({ code: 'IO_WRITE', context: { file: f } });
    expect(await readFile(f, 'utf8')).toBe('old');
  });
});

describe('objcopy arguments', () => {
  it('updates .BTF and adds .BTF.base like pahole >= 1.28 on a pahole-1.24 module', () => {
    expect(objcopyArgs({ btf: new Uint8Array(1), btfBase: new Uint8Array(1), inputHasBtf: true, inputHasBtfBase: false }, 'B', 'D'))
      .toEqual(['--update-section', '.BTF=B', '--add-section', '.BTF.base=D']);
  });
  it('removes a stale .BTF.base when no base is written', () => {
    expect(objcopyArgs({ btf: new Uint8Array(1), btfBase: undefined, inputHasBtf: true, inputHasBtfBase: true }, 'B', 'D'))
      .toEqual(['--update-section', '.BTF=B', '--remove-section', '.BTF.base']);
  });
  it('a missing objcopy is TOOL_NOT_FOUND naming the package, when it is run', async () => {
    const tool = await locateObjcopy({ command: '/nonexistent/objcopy' });
    await expect(rewriteBtfSections(tool, new Uint8Array(64), { btf: new Uint8Array(1), btfBase: undefined, inputHasBtf: true, inputHasBtfBase: false }, { file: 'm.ko' }))
      .rejects.toMatchObject({ code: 'TOOL_NOT_FOUND', context: { file: 'm.ko' }, message: expect.stringMatching(/binutils/) });
  });
});
