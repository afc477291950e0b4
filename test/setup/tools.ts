// npm test runs the real tools modbtf drives (objcopy, llvm-objcopy, xz, zstd, gzip, and make
// for a hooked tree).
// On a machine without one of them, stop at once with the command that installs it,
// rather than failing dozens of tests with ENOENT.
import { spawnSync } from 'node:child_process';

const TOOLS: [string, string][] = [
  ['objcopy', 'binutils'],
  ['llvm-objcopy', 'llvm'],
  ['xz', 'xz-utils'],
  ['zstd', 'zstd'],
  ['gzip', 'gzip'],
  ['make', 'make'],
];

export default function setup(): void {
  const missing = TOOLS.filter(([cmd]) => spawnSync(cmd, ['--version'], { stdio: 'ignore' }).error !== undefined);
  if (missing.length > 0) {
    throw new Error(`npm test needs ${missing.map(([c]) => c).join(', ')}: apt-get install ${missing.map(([, p]) => p).join(' ')}`);
  }
}
