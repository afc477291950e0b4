// SIGKILL at random moments during `modbtf finalize` (200 runs, seeded): the module
// is always either the old bytes or the new ones, never anything else.
import { describe, expect, it } from 'vitest';
import { spawn, spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fixtureBytes, fixturePath } from '../helpers/fixtures.js';

const CLI = join(fixturePath('..'), '..', 'dist', 'bundle', 'main.js');
const RUNS = 200;

function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => { a = (a * 1664525 + 1013904223) >>> 0; return a / 4294967296; };
}

describe('finalize is atomic', () => {
  it(`${RUNS} runs killed at random points leave old or new bytes`, async () => {
    const dir = mkdtempSync(join(tmpdir(), 'modbtf-kill-'));
    try {
      const vmlinux = join(dir, 'vmlinux');
      writeFileSync(vmlinux, fixtureBytes('btfids/vmlinux-6.12.107.elf.gz'));
      const src = fixturePath('modules/tcp_bbr.ko.xz');
      // A killed run cannot remove its work directories (objcopy's, the decompressor's):
      // they go under this test's directory, which is removed at the end.
      const tmp = join(dir, 'tmp');
      mkdirSync(tmp);
      const env = { ...process.env, TMPDIR: tmp };
      const args = (ko: string): string[] => [CLI, 'finalize', '--strip-signature', '--objcopy', 'objcopy', '-b', vmlinux, ko];
      const oldBytes = readFileSync(src);
      // The new bytes from one run to completion; how long a run takes when four run
      // at once (as below), so the kill times span the whole run on a loaded machine too.
      const ref = join(dir, 'ref.ko.xz');
      copyFileSync(src, ref);
      expect(spawnSync(process.execPath, args(ref), { env }).status).toBe(0);
      const newBytes = readFileSync(ref);
      const timed = (k: number): Promise<number> => new Promise((resolve) => {
        const ko = join(dir, `t${k}.ko.xz`);
        copyFileSync(src, ko);
        const t0 = Date.now();
        spawn(process.execPath, args(ko), { stdio: 'ignore', env }).on('exit', () => resolve(Date.now() - t0));
      });
      const runMs = Math.max(...(await Promise.all([0, 1, 2, 3].map(timed))));
      expect(Buffer.compare(newBytes, oldBytes)).not.toBe(0);

      const rnd = prng(20261123);
      const outcomes = { old: 0, new: 0, other: 0 };
      const one = (i: number): Promise<void> => new Promise((resolve) => {
        const ko = join(dir, `m${i}.ko.xz`);
        copyFileSync(src, ko);
        const child = spawn(process.execPath, args(ko), { stdio: 'ignore', env });
        const timer = setTimeout(() => child.kill('SIGKILL'), Math.floor(rnd() * runMs * 1.5));
        child.on('exit', () => {
          clearTimeout(timer);
          const now = readFileSync(ko);
          if (Buffer.compare(now, oldBytes) === 0) outcomes.old++;
          else if (Buffer.compare(now, newBytes) === 0) outcomes.new++;
          else outcomes.other++;
          resolve();
        });
      });
      for (let i = 0; i < RUNS; i += 4) await Promise.all([0, 1, 2, 3].map((k) => one(i + k)));
      expect(outcomes.other).toBe(0);
      expect(outcomes.old + outcomes.new).toBe(RUNS);
      // Both outcomes must occur, or the kills did not land during the rewrite.
      expect(outcomes.old).toBeGreaterThan(0);
      expect(outcomes.new).toBeGreaterThan(0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 300_000);
});
