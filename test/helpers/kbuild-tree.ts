/** Fake kernel build trees for the kbuild step's tests. */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** include/config/kernel.release, which tells modbtf the tree's pipeline (kbuild/tree.ts). */
export function writeKernelRelease(tree: string, release: string): void {
  mkdirSync(join(tree, 'include', 'config'), { recursive: true });
  writeFileSync(join(tree, 'include', 'config', 'kernel.release'), `${release}\n`);
}
