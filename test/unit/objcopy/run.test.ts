// lib/objcopy/run.ts: objcopy through one long-lived sh per thread. Uses GNU objcopy
// (binutils; test/setup/tools.ts requires it) on a small relocatable image.
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { SHT_PROGBITS } from '../../../lib/elf/constants.js';
import { parseElf } from '../../../lib/elf/index.js';
import { locateObjcopy } from '../../../lib/objcopy/locate.js';
import { runObjcopy } from '../../../lib/objcopy/run.js';
import { buildElfImage } from '../../helpers/elf-image.js';

const root = mkdtempSync(join(tmpdir(), 'modbtf-run-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
const image = buildElfImage({ is64: true, littleEndian: true, sections: [{ name: '.text', type: SHT_PROGBITS, flags: 6, data: new Uint8Array([0xc3]), addralign: 16 }], symbols: [] }).bytes;
let n = 0;
function workDir(name = `w${n++}`): string {
  const d = join(root, name);
  mkdirSync(d);
  writeFileSync(join(d, 'in.o'), image);
  writeFileSync(join(d, 'blob'), 'hello');
  return d;
}
const sectionNames = (file: string): string[] => parseElf(readFileSync(file)).sections.map((s) => s.name);

describe('runObjcopy', () => {
  it('runs objcopy: the output has the added section', async () => {
    const d = workDir();
    await runObjcopy(await locateObjcopy({ command: 'objcopy' }), ['--add-section', `.extra=${join(d, 'blob')}`, join(d, 'in.o'), join(d, 'out.o')], d, {});
    expect(sectionNames(join(d, 'out.o'))).toContain('.extra');
  });

  it('concurrent calls each get their own answer', async () => {
    const tool = await locateObjcopy({ command: 'objcopy' });
    const calls = Array.from({ length: 12 }, (_, i) => {
      const d = workDir();
      // Every third call names a missing input and must fail, the others succeed.
      const input = i % 3 === 2 ? join(d, 'missing.o') : join(d, 'in.o');
      return runObjcopy(tool, ['--add-section', `.s${i}=${join(d, 'blob')}`, input, join(d, 'out.o')], d, { file: `m${i}.ko` })
        .then(() => sectionNames(join(d, 'out.o')).includes(`.s${i}`), (e: unknown) => e);
    });
    const results = await Promise.all(calls);
    results.forEach((r, i) => {
      if (i % 3 === 2) expect(r).toMatchObject({ code: 'TOOL_FAILED', exitCode: 1, context: { file: `m${i}.ko` }, message: expect.stringMatching(/missing\.o/) });
      else expect(r).toBe(true);
    });
  });

  it('a missing objcopy is TOOL_NOT_FOUND naming the Debian package', async () => {
    const d = workDir();
    await expect(runObjcopy(await locateObjcopy({ command: '/nonexistent/objcopy' }), [join(d, 'in.o'), join(d, 'out.o')], d, { file: 'm.ko' }))
      .rejects.toMatchObject({ code: 'TOOL_NOT_FOUND', context: { file: 'm.ko' }, message: '/nonexistent/objcopy not found (install the Debian package binutils)' });
  });

  it('paths with a newline still work (spawned directly)', async () => {
    const d = workDir('new\nline');
    await runObjcopy(await locateObjcopy({ command: 'objcopy' }), ['--add-section', `.nl=${join(d, 'blob')}`, join(d, 'in.o'), join(d, 'out.o')], d, {});
    expect(sectionNames(join(d, 'out.o'))).toContain('.nl');
  });

  it('does not keep the process alive once idle', () => {
    // The compiled module (npm test builds dist/ first): a process that ran objcopy
    // through the shell must exit by itself.
    const d = workDir();
    const script = `import(${JSON.stringify(join(process.cwd(), 'dist/lib/objcopy/run.js'))}).then((m) => m.runObjcopy({ command: 'objcopy', flavor: 'gnu', version: '' }, [${JSON.stringify(join(d, 'in.o'))}, ${JSON.stringify(join(d, 'out.o'))}], ${JSON.stringify(d)}, {})).then(() => console.log('done'))`;
    const r = spawnSync(process.execPath, ['-e', script], { encoding: 'utf8', timeout: 20_000 });
    expect(r.error).toBeUndefined();
    expect(r.stdout.trim()).toBe('done');
    expect(r.status).toBe(0);
    expect(sectionNames(join(d, 'out.o'))).toContain('.text');
  });
});
