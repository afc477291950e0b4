#!/usr/bin/env node
// Bundles the CLI into dist/bundle/ with esbuild: kbuild starts modbtf once per
// module, and loading ~100 ES modules one by one cost ~260 ms of a ~450 ms run.
// Code splitting keeps each command's code in its own chunk, loaded on demand;
// the worker thread entry (check-worker) is an entry point of its own.
import { build } from 'esbuild';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import { rmSync } from 'node:fs';

const root = join(fileURLToPath(import.meta.url), '..', '..');
// Chunk names carry content hashes: stale ones would pile up.
rmSync(join(root, 'dist/bundle'), { recursive: true, force: true });
await build({
  absWorkingDir: root,
  entryPoints: { main: 'cli/main.ts', 'check-worker': 'lib/module/check-worker.ts', 'finalize-worker': 'lib/module/finalize-worker.ts' },
  outdir: 'dist/bundle',
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  // Chunks sit next to the entries: lib code finds its worker as ./check-worker.js.
  chunkNames: '[name]-[hash]',
  // Packages written for CommonJS call require(); give them one.
  banner: { js: "import { createRequire as __modbtfRequire } from 'node:module'; const require = __modbtfRequire(import.meta.url);" },
  legalComments: 'none',
  logLevel: 'warning',
});
