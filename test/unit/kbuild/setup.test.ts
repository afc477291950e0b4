// `modbtf setup` on a directory standing for / (MODBTF_SETUP_ROOT): which files it changes,
// that a second run changes nothing, that --remove gives back every file as it was (bytes,
// mode, mtime) and removes what it added, that the hooks it installs hook a tree installed
// later and never fail, and that make really reads the snippet through a hooked tree.
// The real CLI (dist/bundle/main.js, built by `npm test`) runs the hooks.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { BEGIN as KBUILD_BEGIN } from '../../../kbuild/install.js';
import { HOOKS, MANIFEST, SETUP_BEGIN, SetupContext, headersTrees, hookScript, installationAt, removeSetup, setup, treeBlock, withoutBlock, type ModbtfInstallation } from '../../../kbuild/setup.js';
import { paholeCommand, type KbuildVars, type KernelTree } from '../../../kbuild/tree.js';
import { pipelineProfile } from '../../../lib/pipeline/profile.js';

const REPO = join(fileURLToPath(import.meta.url), '..', '..', '..', '..');
const CLI = join(REPO, 'dist', 'bundle', 'main.js');
const OLD = '6.12.107+deb12-amd64';
const NEW = '6.12.117+deb12-amd64';
/** Debian's arch headers Makefile (linux-headers-6.12.107+deb12-amd64). */
const DEBIAN_MAKEFILE = `include /usr/src/linux-headers-${OLD.replace('-amd64', '-common')}/Makefile\n`;

let root: string;
let ctx: SetupContext;
let inst: ModbtfInstallation;
beforeEach(async () => {
  root = mkdtempSync(join(tmpdir(), 'modbtf-setup-'));
  ctx = new SetupContext(root);
  if (!existsSync(CLI)) throw new Error(`${CLI} is missing: npm run build (npm test does it)`);
  inst = await installationAt(REPO, process.execPath);
});
afterEach(() => rmSync(root, { recursive: true, force: true }));

/** A headers package as Debian installs it: arch tree, -common tree, the build link (absolute, as dpkg leaves it). */
function headers(release: string, makefile = DEBIAN_MAKEFILE): string {
  const tree = join(root, 'usr/src', `linux-headers-${release}`);
  const common = join(root, 'usr/src', `linux-headers-${release.replace(/-amd64$/, '-common')}`);
  mkdirSync(join(tree, 'scripts'), { recursive: true });
  mkdirSync(join(tree, 'include/config'), { recursive: true });
  mkdirSync(join(common, 'scripts'), { recursive: true });
  writeFileSync(join(tree, 'Makefile'), makefile);
  writeFileSync(join(tree, 'include/config/kernel.release'), `${release}\n`);
  writeFileSync(join(tree, 'include/config/auto.conf'), 'CONFIG_PAHOLE_VERSION=124\n');
  writeFileSync(join(common, 'Makefile'), '# the kernel\'s Makefile\n');
  utimesSync(join(tree, 'Makefile'), new Date('2025-09-10T14:48:00Z'), new Date('2025-09-10T14:48:00Z'));
  mkdirSync(join(root, 'lib/modules', release), { recursive: true });
  symlinkSync(`/usr/src/linux-headers-${release}`, join(root, 'lib/modules', release, 'build'));
  return tree;
}

/** dkms and initramfs-tools as Debian installs them. */
function kernelHooks(): void {
  for (const f of ['postinst.d/dkms', 'postinst.d/initramfs-tools', 'header_postinst.d/dkms', 'prerm.d/dkms']) {
    mkdirSync(join(root, 'etc/kernel', f, '..'), { recursive: true });
    writeFileSync(join(root, 'etc/kernel', f), '#!/bin/sh\nexit 0\n');
    chmodSync(join(root, 'etc/kernel', f), 0o755);
  }
  mkdirSync(join(root, 'var/lib'), { recursive: true });
}

/** Every path under the root with its type, mode, file mtime and contents (or link target). */
function snapshot(): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (d: string): void => {
    for (const e of readdirSync(d).sort()) {
      const p = join(d, e);
      const st = lstatSync(p);
      const rel = p.slice(root.length);
      if (st.isSymbolicLink()) out[rel] = `link ${readlinkSync(p)}`;
      else if (st.isDirectory()) { out[rel] = `dir ${(st.mode & 0o7777).toString(8)}`; walk(p); }
      else out[rel] = `file ${(st.mode & 0o7777).toString(8)} ${st.mtimeMs} ${readFileSync(p).toString('base64')}`;
    }
  };
  walk(root);
  return out;
}

function cli(...args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', env: { PATH: process.env['PATH'] ?? '/usr/bin:/bin', MODBTF_SETUP_ROOT: root } });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

function runHook(path: string, ...args: string[]): { status: number | null; out: string } {
  const r = spawnSync('sh', [join(root, path), ...args], { encoding: 'utf8', env: { PATH: process.env['PATH'] ?? '/usr/bin:/bin', MODBTF_SETUP_ROOT: root } });
  return { status: r.status, out: r.stdout + r.stderr };
}

describe('modbtf setup', () => {
  it('hooks the arch headers tree (not -common), installs the four hooks, records it; a second run changes nothing; --remove gives every file back', async () => {
    const tree = headers(OLD);
    kernelHooks();
    const before = snapshot();

    const r = await setup(ctx, inst, { dryRun: false });
    expect(r.warnings).toEqual([]);
    expect(r.steps.map((s) => s.done)).toEqual([
      `hooked ${tree}/Makefile`,
      ...HOOKS.map((h) => `installed ${join(root, h.path)}`),
    ]);
    const mk = readFileSync(join(tree, 'Makefile'), 'utf8');
    expect(mk).toBe(treeBlock(inst) + DEBIAN_MAKEFILE);
    expect(mk).toContain(`export MAKEFILES += ${REPO}/Makefile.snippet\n`);
    expect(mk).toContain(`export MODBTF ?= ${process.execPath} ${CLI}\n`);
    // The package's mtime stays; nothing is added to the tree.
    expect(lstatSync(join(tree, 'Makefile')).mtimeMs).toBe(new Date('2025-09-10T14:48:00Z').getTime());
    expect(readdirSync(join(tree, 'scripts'))).toEqual([]);
    expect(readFileSync(join(root, 'usr/src/linux-headers-6.12.107+deb12-common/Makefile'), 'utf8')).toBe('# the kernel\'s Makefile\n');
    for (const h of HOOKS) {
      expect(readFileSync(join(root, h.path), 'utf8')).toBe(hookScript(h.role, inst));
      expect(lstatSync(join(root, h.path)).mode & 0o777).toBe(0o755);
    }
    // run-parts order: the tree hook before dkms, the check after it.
    expect(r.steps.find((s) => s.path.endsWith('header_postinst.d/00-modbtf'))?.detail).toContain('runs before dkms');
    expect(r.steps.find((s) => s.path.endsWith('header_postinst.d/zz-modbtf'))?.detail).toContain('runs after dkms');
    const manifest = JSON.parse(readFileSync(join(root, MANIFEST), 'utf8')) as { trees: string[]; createdDirs: string[] };
    expect(manifest.trees).toEqual([`/usr/src/linux-headers-${OLD}`]);
    expect(manifest.createdDirs).toEqual(['/var/lib/modbtf']);

    const setUp = snapshot();
    const again = await setup(ctx, inst, { dryRun: false });
    expect(again.steps).toEqual([]);
    expect(snapshot()).toEqual(setUp);

    const removed = await removeSetup(ctx, { dryRun: false });
    expect(removed.warnings).toEqual([]);
    expect(snapshot()).toEqual(before);
    expect((await removeSetup(ctx, { dryRun: false })).steps).toEqual([]);
  });

  it('on a machine without headers or dkms: installs the hooks, creating their directories, and --remove takes those away too', async () => {
    const before = snapshot();
    const r = await setup(ctx, inst, { dryRun: false });
    expect(r.notes.join('\n')).toMatch(/no kernel headers installed/);
    expect(r.steps.map((s) => s.done.split(' ')[0])).toEqual(['created', 'created', 'created', 'installed', 'created', 'installed', 'installed', 'installed']);
    for (const h of HOOKS) expect(existsSync(join(root, h.path))).toBe(true);
    await removeSetup(ctx, { dryRun: false });
    expect(snapshot()).toEqual(before);
  });

  it('a directory setup created that dkms filled since is kept; a hook replaced at setup comes back with its bytes, mode and mtime', async () => {
    kernelHooks();
    rmSync(join(root, 'etc/kernel/header_postinst.d'), { recursive: true });
    // A check hook installed by hand as the README once said.
    writeFileSync(join(root, 'etc/kernel/postinst.d/zz-modbtf'), '#!/bin/sh\n# by hand\n');
    chmodSync(join(root, 'etc/kernel/postinst.d/zz-modbtf'), 0o750);
    utimesSync(join(root, 'etc/kernel/postinst.d/zz-modbtf'), new Date('2024-01-02T03:04:05Z'), new Date('2024-01-02T03:04:05Z'));
    const byHand = snapshot()['/etc/kernel/postinst.d/zz-modbtf'];
    const r = await setup(ctx, inst, { dryRun: false });
    expect(r.steps.map((s) => s.done)).toContain(`replaced ${join(root, 'etc/kernel/postinst.d/zz-modbtf')}`);
    expect(r.steps.map((s) => s.done)).toContain(`created ${join(root, 'etc/kernel/header_postinst.d')}/`);
    writeFileSync(join(root, 'etc/kernel/header_postinst.d/dkms'), '#!/bin/sh\n'); // dkms installed afterwards
    const removed = await removeSetup(ctx, { dryRun: false });
    expect(snapshot()['/etc/kernel/postinst.d/zz-modbtf']).toBe(byHand);
    expect(removed.notes.join('\n')).toMatch(/header_postinst\.d\/: kept \(setup created it; it holds dkms now\)/);
    expect(readdirSync(join(root, 'etc/kernel/header_postinst.d'))).toEqual(['dkms']);
    expect(existsSync(join(root, 'var/lib/modbtf'))).toBe(false);
  });

  it('--remove leaves a hook changed since setup as it is, says so, and keeps the record of it until it can finish', async () => {
    kernelHooks();
    await setup(ctx, inst, { dryRun: false });
    const changed = join(root, 'etc/kernel/postinst.d/00-modbtf');
    writeFileSync(changed, '#!/bin/sh\n# edited\n');
    const r = await removeSetup(ctx, { dryRun: false });
    expect(r.warnings).toEqual([`${changed}: changed since modbtf setup wrote it; left as it is`]);
    expect(readFileSync(changed, 'utf8')).toBe('#!/bin/sh\n# edited\n');
    expect(existsSync(join(root, 'etc/kernel/header_postinst.d/00-modbtf'))).toBe(false);
    expect(existsSync(join(root, MANIFEST))).toBe(true);
    rmSync(changed);
    const done = await removeSetup(ctx, { dryRun: false });
    expect(done.warnings).toEqual([]);
    expect(existsSync(join(root, 'var/lib/modbtf'))).toBe(false);
  });

  it('leaves a tree hooked by `modbtf kbuild install` alone, and does not hook trees outside /usr/src', async () => {
    const tree = headers(OLD, `${KBUILD_BEGIN}\nexport MAKEFILES += x\n# <<< modbtf\n${DEBIAN_MAKEFILE}`);
    const own = join(root, 'home/me/linux');
    mkdirSync(join(own, 'scripts'), { recursive: true });
    writeFileSync(join(own, 'Makefile'), 'VERSION = 6\n');
    mkdirSync(join(root, 'lib/modules/6.13.0-me'), { recursive: true });
    symlinkSync('/home/me/linux', join(root, 'lib/modules/6.13.0-me/build'));
    const found = await headersTrees(ctx);
    expect(found.trees.map((t) => t.dir)).toEqual([tree]);
    expect(found.elsewhere).toEqual([{ link: join(root, 'lib/modules/6.13.0-me/build'), dir: own }]);
    const r = await setup(ctx, inst, { dryRun: false });
    expect(r.notes.join('\n')).toContain(`${tree}/Makefile: hooked by \`modbtf kbuild install\` already; left as it is`);
    expect(r.notes.join('\n')).toContain('not under /usr/src');
    expect(readFileSync(join(own, 'Makefile'), 'utf8')).toBe('VERSION = 6\n');
  });

  it('hook then unhook gives back any Makefile exactly (blank lines first, no final newline, CRLF, bytes that are not UTF-8)', () => {
    for (const original of ['\n\ninclude x\n', 'include x', 'a\r\nb\r\n', Buffer.from([0x23, 0xff, 0xfe, 0x0a, 0x00, 0x41]).toString('latin1'), '']) {
      expect(withoutBlock(treeBlock(inst) + original, 'Makefile')).toBe(original);
      expect(withoutBlock(original, 'Makefile')).toBeUndefined();
    }
    expect(() => withoutBlock(`${SETUP_BEGIN}\nexport MAKEFILES += x\n`, 'Makefile')).toThrow(/without a "# <<< modbtf setup" line/);
  });
});

describe('the hooks setup installs, run as Debian runs them', () => {
  it('00-modbtf hooks the headers of a kernel installed later (header_postinst.d and postinst.d), exit 0; without headers it says so', async () => {
    headers(OLD);
    kernelHooks();
    await setup(ctx, inst, { dryRun: false });
    const tree = headers(NEW);
    const h = runHook('etc/kernel/header_postinst.d/00-modbtf', NEW);
    expect(h.status, h.out).toBe(0);
    expect(h.out).toContain(`modbtf: hooked ${tree}/Makefile`);
    expect(readFileSync(join(tree, 'Makefile'), 'utf8')).toBe(treeBlock(inst) + DEBIAN_MAKEFILE);
    const p = runHook('etc/kernel/postinst.d/00-modbtf', NEW, `/boot/vmlinuz-${NEW}`);
    expect(p.status, p.out).toBe(0);
    expect(p.out).toContain(`modbtf: ${tree}/Makefile: hooked already`);
    const none = runHook('etc/kernel/postinst.d/00-modbtf', '6.12.999+deb12-amd64', '/boot/vmlinuz-6.12.999+deb12-amd64');
    expect(none.status).toBe(0);
    expect(none.out).toContain('kernel 6.12.999+deb12-amd64: no headers tree yet');
    expect((JSON.parse(readFileSync(join(root, MANIFEST), 'utf8')) as { trees: string[] }).trees).toEqual([`/usr/src/linux-headers-${OLD}`, `/usr/src/linux-headers-${NEW}`]);
    // Both trees come back as the package installed them.
    await removeSetup(ctx, { dryRun: false });
    for (const r of [OLD, NEW]) expect(readFileSync(join(root, `usr/src/linux-headers-${r}/Makefile`), 'utf8')).toBe(DEBIAN_MAKEFILE);
  });

  it('a tree removed with its package leaves nothing: no file of setup was in it, and its record goes at the next run', async () => {
    headers(OLD);
    await setup(ctx, inst, { dryRun: false });
    rmSync(join(root, `usr/src/linux-headers-${OLD}`), { recursive: true }); // dpkg removes the files it owns
    rmSync(join(root, `lib/modules/${OLD}`), { recursive: true });
    expect(existsSync(join(root, `usr/src/linux-headers-${OLD}`))).toBe(false);
    await setup(ctx, inst, { dryRun: false, kernel: NEW });
    expect((JSON.parse(readFileSync(join(root, MANIFEST), 'utf8')) as { trees: string[] }).trees).toEqual([]);
  });

  it('when the modbtf they name is gone, the hooks warn and exit 0 (a kernel installation never fails because of them)', () => {
    const gone: ModbtfInstallation = { node: process.execPath, main: join(root, 'gone/dist/bundle/main.js'), snippet: join(root, 'gone/Makefile.snippet'), checkHook: join(root, 'gone/kbuild/postinst.d-modbtf') };
    mkdirSync(join(root, 'h'));
    for (const role of ['hook', 'check'] as const) {
      writeFileSync(join(root, 'h', role), hookScript(role, gone));
      const r = runHook(`h/${role}`, NEW, `/boot/vmlinuz-${NEW}`);
      expect(r.status).toBe(0);
      expect(r.out).toMatch(/^modbtf: warning: .*gone.* is gone \(modbtf removed without `modbtf setup --remove`\?\)/);
    }
  });

  it('zz-modbtf runs the package\'s check hook with the modbtf setup ran', async () => {
    kernelHooks();
    await setup(ctx, inst, { dryRun: false });
    const r = spawnSync('sh', [join(root, 'etc/kernel/header_postinst.d/zz-modbtf'), NEW], {
      encoding: 'utf8',
      env: { PATH: process.env['PATH'] ?? '/usr/bin:/bin', MODBTF_CONFIG: join(root, 'none'), MODBTF_MODULES_ROOT: join(root, 'lib/modules'), MODBTF_HEADERS_ROOT: join(root, 'usr/src'), MODBTF_RUNNING: OLD, MODBTF_RUNNING_BTF: join(root, 'none') },
    });
    expect(r.status).toBe(0);
    // The new kernel has no vmlinux in this root: the check hook says so (it ran, with this modbtf found).
    expect(r.stdout).toContain(`modbtf: kernel ${NEW}: no vmlinux yet`);
  });
});

describe('make through a hooked tree', () => {
  it('every sub-make reads Makefile.snippet (MAKEFILES) and gets MODBTF, once', async () => {
    const tree = headers(OLD, 'all:\n\t@$(MAKE) --no-print-directory -f sub.mk\n');
    writeFileSync(join(tree, 'sub.mk'), 'all:\n\t@echo "MAKEFILES=$(MAKEFILES)"; echo "MODBTF=$(MODBTF)"; echo "cmd_btf_ko=$(origin cmd_btf_ko) $(if $(findstring modbtf_btf_ko_per_module,$(value cmd_btf_ko)),$(if $(findstring kbuild modfinal,$(value modbtf_btf_ko_per_module)),modbtf))"\n');
    await setup(ctx, inst, { dryRun: false });
    const r = spawnSync('make', ['--no-print-directory', '-C', tree], { encoding: 'utf8', env: { PATH: process.env['PATH'] ?? '/usr/bin:/bin' } });
    expect(r.stderr).toBe('');
    expect(r.stdout).toBe(`MAKEFILES=${REPO}/Makefile.snippet\nMODBTF=${process.execPath} ${CLI}\ncmd_btf_ko=override modbtf\n`);
  });
});

describe('modbtf setup (the command)', () => {
  it('--dry-run says what would change and writes nothing; --remove --kernel is a usage error', () => {
    headers(OLD);
    kernelHooks();
    const before = snapshot();
    const r = cli('setup', '--dry-run');
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^would hook .*linux-headers-6\.12\.107\+deb12-amd64\/Makefile\n/);
    expect(r.stdout).toContain(`would install ${join(root, 'etc/kernel/header_postinst.d/00-modbtf')}\n`);
    expect(r.stdout.trimEnd().split('\n').pop()).toBe('dry run: nothing written');
    expect(snapshot()).toEqual(before);
    const u = cli('setup', '--remove', '--kernel', OLD);
    expect(u.status).toBe(2);
    expect(u.stderr).toMatch(/--remove undoes the whole setup; it takes no --kernel/);
  });

  it('an unreadable record is an error naming the file, exit 2, nothing changed', () => {
    kernelHooks();
    mkdirSync(join(root, 'var/lib/modbtf'));
    writeFileSync(join(root, MANIFEST), '{"format": 9}');
    const before = snapshot();
    const r = cli('setup');
    expect(r.status).toBe(2);
    expect(r.stderr).toBe(`modbtf: ${join(root, MANIFEST)}: not a modbtf setup record of a format this modbtf reads (move it away to start over)\n`);
    expect(snapshot()).toEqual(before);
  });
});

describe('pahole -j (reproducible 6.x output)', () => {
  const vars = (paholeFlags: string, paholeVersion: string): KbuildVars => ({
    module: 'm.ko', objtree: '/k', srctree: '/k', pahole: 'pahole', paholeFlags, modulePaholeFlags: '', paholeVersion,
    resolveBtfids: '', resolveBtfidsFlags: '', objcopy: '', shell: '', extmod: '/m', btfBaseRef: '',
  });
  const tree = (abi: 6 | 7, paholeVersion: number | undefined): KernelTree => ({ abi, pipeline: { kind: 'profile', profile: pipelineProfile(abi === 6 ? '6' : '7.2') }, release: undefined, vmlinux: '/k/vmlinux', hasVmlinux: true, paholeVersion });
  it.each([
    // Debian 12's 6.12: pahole 1.24 -> no -j.
    [6, 124, '--btf_gen_floats -j --lang_exclude=rust', ['--btf_gen_floats', '--lang_exclude=rust']],
    [6, undefined, '-j2 --jobs --jobs=4 -J', ['-J']],
    // pahole >= 1.27 and 7.x trees: the tree's flags as they are.
    [6, 127, '-j --btf_features=encode_force', ['-j', '--btf_features=encode_force']],
    [7, 124, '-j2 --btf_features=encode_force', ['-j2', '--btf_features=encode_force']],
  ] as const)('abi %d, CONFIG_PAHOLE_VERSION %s: %s', (abi, version, flags, want) => {
    const argv = paholeCommand(vars(flags, String(version ?? '')), tree(abi, version), '/k/vmlinux', undefined).argv;
    expect(argv.slice(2, -3)).toEqual(want);
    expect(argv.slice(0, 2)).toEqual(['pahole', '-J']);
  });
});
