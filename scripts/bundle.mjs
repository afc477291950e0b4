#!/usr/bin/env node
// Bundles the CLI into dist/bundle/ with esbuild: kbuild starts modbtf once per
// module, and loading ~100 ES modules one by one cost ~260 ms of a ~450 ms run.
// Code splitting keeps each command's code in its own chunk, loaded on demand;
// the worker thread entry (check-worker) is an entry point of its own.
import { build } from 'esbuild';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import { rmSync } from 'node:fs';
import { createRequire } from 'node:module';

const root = join(fileURLToPath(import.meta.url), '..', '..');

// yargs 17 (chosen because it runs on Node.js 18; yargs 18 needs 20) loads, from its ES
// module entry, cliui's ES module build, whose stand-in for wrap-ansi cuts help text at
// the column in the middle of words. cliui's CommonJS build wraps on words (wrap-ansi,
// string-width), as yargs 18 did: bundle that one.
const fromYargs = createRequire(createRequire(join(root, 'package.json')).resolve('yargs'));
const cliuiCommonJs = {
  name: 'cliui-commonjs',
  setup(b) { b.onResolve({ filter: /^cliui$/ }, () => ({ path: fromYargs.resolve('cliui') })); },
};
// Chunk names carry content hashes: stale ones would pile up.
rmSync(join(root, 'dist/bundle'), { recursive: true, force: true });
await build({
  absWorkingDir: root,
  entryPoints: { main: 'cli/main.ts', 'check-worker': 'lib/module/check-worker.ts', 'finalize-worker': 'lib/module/finalize-worker.ts', 'encode-worker': 'lib/module/encode-worker.ts', 'encode-isolate-worker': 'lib/module/encode-isolate-worker.ts' },
  outdir: 'dist/bundle',
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  // engines.node: >=18.19 (Debian 12 and Ubuntu 24.04 ship Node.js 18).
  target: 'node18',
  plugins: [cliuiCommonJs],
  // Chunks sit next to the entries: lib code finds its worker as ./check-worker.js.
  chunkNames: '[name]-[hash]',
  // Packages written for CommonJS call require(); give them one.
  banner: { js: "import { createRequire as __modbtfRequire } from 'node:module'; const require = __modbtfRequire(import.meta.url);" },
  legalComments: 'none',
  logLevel: 'warning',
});
