#!/usr/bin/env zx
/**
 * lib/dwarf over Debian's 7.2.13 cloud-amd64 -dbg modules (DWARF 5, gcc 16) against sid's
 * eu-readelf 0.196 — the libdw/libdwfl pahole 1.32 reads modules with — module by module
 * (scripts/dwarf-compare.mjs --sid). Sets up what it needs: the sid chroot with elfutils,
 * the package downloaded and unpacked inside the chroot (scripts/e2e-lib/dbg7.mjs).
 *
 *   npx zx scripts/dwarf-corpus.mjs                 # all 1,018 modules
 *   npx zx scripts/dwarf-corpus.mjs --sample 20     # 20 spread over the sorted list (CI)
 *   npx zx scripts/dwarf-corpus.mjs --json out.json --parts info,loc,ranges
 *   npx zx scripts/dwarf-corpus.mjs --oracle walk   # against libdw's own accessors instead
 *                                                   # (scripts/oracle/libdw-walk.c, pahole's layout)
 *
 * When the archive no longer has the package the check prints SKIPPED and exits 0.
 */
import { join } from 'node:path';
import { DBG_PACKAGE, PackageVanished, ensureCloudDbg } from './e2e-lib/dbg7.mjs';
import { SID_ROOT } from './e2e-lib/sid.mjs';

$.verbose = false;
const root = path.resolve(__dirname, '..');
let dbg;
try {
  dbg = await ensureCloudDbg({ packages: ['elfutils', 'libdw-dev'] });
} catch (err) {
  if (err instanceof PackageVanished) {
    console.log(`SKIPPED: ${err.message}`);
    process.exit(0);
  }
  throw err;
}
const version = (await $`chroot ${SID_ROOT} dpkg-query -W -f=${'${Version}'} elfutils`.nothrow()).stdout.trim();
console.log(`dwarf-corpus: ${DBG_PACKAGE} ${dbg.version}, reference ${argv.oracle === 'walk' ? 'libdw' : 'eu-readelf'} from sid elfutils ${version}`);
const args = ['--sid', '--parts', String(argv.parts ?? 'info,loc,ranges'), '--oracle', String(argv.oracle ?? 'readelf')];
if (argv.sample !== undefined) args.push('--sample', String(argv.sample));
if (argv.limit !== undefined) args.push('--limit', String(argv.limit));
if (argv.json !== undefined) args.push('--json', String(argv.json));
args.push('--quiet', dbg.modules);
const r = await $({ cwd: root, nothrow: true, verbose: true })`node ${join(root, 'scripts/dwarf-compare.mjs')} ${args}`;
process.exit(r.exitCode ?? 1);
