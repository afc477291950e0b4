// Every test run gets a temporary directory of its own as TMPDIR (inherited by the test
// workers and every process they start), and fails at the end when anything is left in
// it: tests remove what they create, and so do the modbtf processes they run.
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export default function setup(): () => void {
  const outer = process.env['TMPDIR'];
  const dir = mkdtempSync(join(tmpdir(), 'modbtf-test-'));
  process.env['TMPDIR'] = dir;
  return () => {
    if (outer === undefined) delete process.env['TMPDIR'];
    else process.env['TMPDIR'] = outer;
    const left = readdirSync(dir);
    rmSync(dir, { recursive: true, force: true });
    if (left.length === 0) return;
    process.exitCode = 1;
    throw new Error(`tests left ${left.length} entries in their temporary directory (removed now): ${left.slice(0, 10).join(', ')}${left.length > 10 ? ', ...' : ''}`);
  };
}
