/**
 * `modbtf setup`: every module DKMS builds on this machine, now and after each kernel
 * update, gets .BTF.base — without touching any dkms.conf.
 *
 * What it changes, and nothing else:
 *  - the top Makefile of every kernel headers tree under /usr/src (the trees
 *    /lib/modules/<release>/build points to, and /usr/src/linux-headers-<release>) gets
 *    a marked block at its start that adds modbtf's Makefile.snippet to MAKEFILES, so the
 *    BTF step of every M= build in that tree is modbtf's (as `modbtf kbuild install`,
 *    but no file is added to the tree: the package that owns the tree can remove it
 *    without leaving anything behind). The rest of the file stays as it was, byte for
 *    byte, and so do its mode and modification time;
 *  - /etc/kernel/postinst.d/00-modbtf and /etc/kernel/header_postinst.d/00-modbtf: when
 *    a kernel or its headers are installed, they hook that kernel's headers tree. run-parts
 *    runs a directory's hooks in name order, so they run before dkms' own hook (`dkms`
 *    in both directories), which builds the DKMS modules for the new kernel;
 *  - /etc/kernel/postinst.d/zz-modbtf and /etc/kernel/header_postinst.d/zz-modbtf: the
 *    check hook (kbuild/postinst.d-modbtf), after dkms: do the running kernel's
 *    out-of-tree modules keep their BTF on the new kernel?
 *  - /var/lib/modbtf/setup.json: what setup changed (the hooked trees, the files it
 *    wrote with a hash of what it wrote, the directories it created), and under
 *    /var/lib/modbtf/saved/ any file it replaced, so that `--remove` can put back every
 *    file as it was.
 *
 * The hooks and the Makefile blocks name the modbtf that ran setup (node binary and
 * bundle), so a checkout or an `npm i -g` installation works the same; when that modbtf
 * is gone, make ignores a missing MAKEFILES entry and the hooks only warn. Nothing here
 * prints: the functions return the steps, and cli/commands/setup.ts says them.
 */
import { createHash } from 'node:crypto';
import { mkdir, readdir, readFile, readlink, realpath, rm, rmdir, stat } from 'node:fs/promises';
import { dirname, isAbsolute, join, relative, resolve, sep } from 'node:path';
import { ModuleError } from '../lib/errors.js';
import { writeFileAtomic } from '../lib/objcopy/atomic.js';
import { BEGIN as KBUILD_INSTALL_BEGIN } from './install.js';
import { describeHookedTree, inspectTree } from './tree.js';
import type { SetupState } from '../lib/doctor/fixes.js';

export const SETUP_BEGIN = '# >>> modbtf setup: M= builds in this tree get .BTF.base (`modbtf setup --remove` restores this file)';
export const SETUP_END = '# <<< modbtf setup';

export const STATE_DIR = '/var/lib/modbtf';
export const MANIFEST = `${STATE_DIR}/setup.json`;
export const SAVED_DIR = `${STATE_DIR}/saved`;

/** The modbtf the hooks and the hooked trees run. */
export interface ModbtfInstallation {
  /** The node binary (process.execPath of the setup run). */
  node: string;
  /** `<package>/dist/bundle/main.js`. */
  main: string;
  /** `<package>/Makefile.snippet`. */
  snippet: string;
  /** `<package>/kbuild/postinst.d-modbtf`. */
  checkHook: string;
}

/** Words a Makefile line and a single-quoted sh word both carry unchanged. */
const PLAIN_PATH = /^\/[A-Za-z0-9_@%+=:,./~-]*$/;

export async function installationAt(packageRoot: string, node: string): Promise<ModbtfInstallation> {
  const inst = {
    node,
    main: join(packageRoot, 'dist', 'bundle', 'main.js'),
    snippet: join(packageRoot, 'Makefile.snippet'),
    checkHook: join(packageRoot, 'kbuild', 'postinst.d-modbtf'),
  };
  for (const p of Object.values(inst)) {
    if (!PLAIN_PATH.test(p)) {
      throw new ModuleError('SETUP_PATH', 'this path has spaces or characters a Makefile or a shell hook cannot carry; install modbtf (and node) under a plain path', { file: p });
    }
    if (!(await stat(p).then((s) => s.isFile(), () => false))) {
      throw new ModuleError('SETUP_INCOMPLETE', `missing: modbtf's installation is incomplete${p === inst.main ? ' (in a checkout: npm run build)' : ''}`, { file: p });
    }
  }
  return inst;
}

/** The system setup works on: `/`, or a directory standing for it (tests: MODBTF_SETUP_ROOT). */
export interface SetupSystem {
  root: string;
}

/** The kernel hooks setup installs, in the order it installs them. */
export const HOOKS: readonly { path: string; role: 'hook' | 'check' }[] = [
  { path: '/etc/kernel/header_postinst.d/00-modbtf', role: 'hook' },
  { path: '/etc/kernel/postinst.d/00-modbtf', role: 'hook' },
  { path: '/etc/kernel/header_postinst.d/zz-modbtf', role: 'check' },
  { path: '/etc/kernel/postinst.d/zz-modbtf', role: 'check' },
];

const q = (s: string): string => `'${s}'`;

/** The text of a kernel hook (PLAIN_PATH words only, so single quotes suffice). */
export function hookScript(role: 'hook' | 'check', inst: ModbtfInstallation): string {
  if (role === 'hook') {
    return `#!/bin/sh
# modbtf: hook the headers tree of the kernel being installed, so that the modules dkms
# builds for it get .BTF.base. run-parts runs the hooks of this directory in name order:
# this one before dkms' (dkms), which builds them. Installed by \`modbtf setup\`;
# \`modbtf setup --remove\` removes it. It never fails the kernel installation.
# Debian runs it as \`00-modbtf <version> [<image path>]\`.
main=${q(inst.main)}
[ -n "$1" ] || exit 0
if [ ! -f "$main" ]; then
	echo "modbtf: warning: $main is gone (modbtf removed without \\\`modbtf setup --remove\\\`?): the headers of kernel $1 are not hooked, modules built for it get no .BTF.base" >&2
	exit 0
fi
${q(inst.node)} "$main" setup --kernel "$1" || echo "modbtf: warning: \\\`modbtf setup --kernel $1\\\` failed (exit status $?): modules built for kernel $1 may get no .BTF.base" >&2
exit 0
`;
  }
  return `#!/bin/sh
# modbtf: after dkms has built the modules for a new kernel, tell whether the running
# kernel's out-of-tree modules keep their BTF on it (modbtf's kbuild/postinst.d-modbtf;
# settings in /etc/default/modbtf). Installed by \`modbtf setup\`; \`modbtf setup --remove\`
# removes it. It never fails the kernel installation.
hook=${q(inst.checkHook)}
if [ ! -f "$hook" ]; then
	echo "modbtf: warning: $hook is gone (modbtf removed without \\\`modbtf setup --remove\\\`?): out-of-tree modules not checked for kernel $1" >&2
	exit 0
fi
MODBTF_CMD="\${MODBTF_CMD:-${inst.node} ${inst.main}}"
export MODBTF_CMD
exec sh "$hook" "$@"
`;
}

/** The block setup puts at the start of a tree's top Makefile. */
export function treeBlock(inst: ModbtfInstallation): string {
  return [
    SETUP_BEGIN,
    `export MODBTF ?= ${inst.node} ${inst.main}`,
    `ifeq ($(filter ${inst.snippet},$(MAKEFILES)),)`,
    `export MAKEFILES += ${inst.snippet}`,
    'endif',
    SETUP_END,
    '',
  ].join('\n');
}

/** The Makefile text without setup's block (exactly what was there before), or undefined when it has none. */
export function withoutBlock(text: string, file: string): string | undefined {
  let start: number;
  if (text.startsWith(`${SETUP_BEGIN}\n`)) start = 0;
  else {
    const i = text.indexOf(`\n${SETUP_BEGIN}\n`);
    if (i < 0) return undefined;
    start = i + 1;
  }
  const end = text.indexOf(`\n${SETUP_END}\n`, start);
  if (end < 0) throw new ModuleError('SETUP_BAD_BLOCK', `has "${SETUP_BEGIN}" without a "${SETUP_END}" line after it; fix the file by hand`, { file });
  return text.slice(0, start) + text.slice(end + SETUP_END.length + 2);
}

// ---- the record of what setup changed ------------------------------------------------

interface FileRecord {
  /** sha256 of the bytes setup wrote. */
  wrote: string;
  /** The file before setup: absent (null), or saved under SAVED_DIR with its mode and mtime. */
  original: { mode: number; mtimeMs: number } | null;
}

interface Manifest {
  format: 1;
  /** Directories setup created, parents first; `--remove` removes those that are empty. */
  createdDirs: string[];
  /** Files setup wrote (system paths). */
  files: Record<string, FileRecord>;
  /** Headers trees whose Makefile setup hooked (system paths). */
  trees: string[];
}

function parseManifest(text: string, file: string): Manifest {
  let m: unknown;
  try { m = JSON.parse(text); } catch (err: unknown) {
    throw new ModuleError('SETUP_BAD_STATE', 'not valid JSON: not a modbtf setup record (move it away to start over)', { file }, { cause: err });
  }
  const o = m as Partial<Manifest> | null;
  const ok = o !== null && typeof o === 'object' && o.format === 1 && Array.isArray(o.createdDirs) && Array.isArray(o.trees)
    && typeof o.files === 'object' && o.files !== null
    && o.createdDirs.every((d) => typeof d === 'string') && o.trees.every((t) => typeof t === 'string')
    && Object.values(o.files).every((r: FileRecord) => typeof r === 'object' && r !== null && typeof r.wrote === 'string'
      && (r.original === null || (typeof r.original === 'object' && typeof r.original.mode === 'number' && typeof r.original.mtimeMs === 'number')));
  if (!ok) throw new ModuleError('SETUP_BAD_STATE', 'not a modbtf setup record of a format this modbtf reads (move it away to start over)', { file });
  return o as Manifest;
}

const sha256 = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');
const utf8 = (s: string): Uint8Array => new TextEncoder().encode(s);

function isNotFound(err: unknown): boolean {
  return typeof err === 'object' && err !== null && 'code' in err && (err.code === 'ENOENT' || err.code === 'ENOTDIR');
}

async function readOrAbsent(file: string): Promise<Buffer | undefined> {
  try {
    return await readFile(file);
  } catch (err: unknown) {
    if (isNotFound(err)) return undefined;
    throw new ModuleError('IO_ERROR', `cannot read: ${err instanceof Error ? err.message : String(err)}`, { file }, { cause: err });
  }
}

async function isDir(p: string): Promise<boolean> {
  return stat(p).then((s) => s.isDirectory(), () => false);
}

// ---- headers trees -------------------------------------------------------------------

export interface HeadersTree {
  /** Host path of the tree. */
  dir: string;
  /** The kernel release(s) it belongs to, when known. */
  release: string | undefined;
}

/** A kernel build tree as `make -C` takes it: a top Makefile and scripts/. */
async function isKernelTree(dir: string): Promise<boolean> {
  const [mk, scripts] = await Promise.all([stat(join(dir, 'Makefile')).then((s) => s.isFile(), () => false), isDir(join(dir, 'scripts'))]);
  return mk && scripts;
}

export class SetupContext {
  constructor(readonly root: string) {}

  /** The host path of a system path. */
  host(p: string): string { return join(this.root, p); }
  /** The system path of a host path. */
  system(p: string): string { return `/${relative(this.root, p).split(sep).join('/')}`; }

  /** Where /lib/modules/<release>/build leads, on this system; undefined when it leads nowhere. */
  async buildLink(release: string): Promise<string | undefined> {
    const link = this.host(`/lib/modules/${release}/build`);
    let target: string;
    try { target = await readlink(link); } catch { return (await isDir(link)) ? realpath(link) : undefined; }
    const dest = isAbsolute(target) ? this.host(target) : resolve(dirname(link), target);
    try { return await realpath(dest); } catch { return undefined; }
  }

  /** Under /usr/src: the trees setup hooks (packages own them; a tree built from source elsewhere is the user's). */
  underUsrSrc(dir: string): boolean {
    const rel = relative(this.host('/usr/src'), dir);
    return rel !== '' && !rel.startsWith('..') && !isAbsolute(rel);
  }
}

/**
 * Every kernel headers tree of the system: the targets of /lib/modules/<release>/build under
 * /usr/src, and /usr/src/linux-headers-<release> trees with include/config/kernel.release
 * (Debian's -common trees have none: the arch tree's Makefile includes them). Sorted by path.
 * `elsewhere`: build links that lead to trees outside /usr/src (not hooked).
 */
export async function headersTrees(ctx: SetupContext): Promise<{ trees: HeadersTree[]; elsewhere: { link: string; dir: string }[] }> {
  const found = new Map<string, HeadersTree>();
  const elsewhere: { link: string; dir: string }[] = [];
  const releases = await readdir(ctx.host('/lib/modules')).catch(() => [] as string[]);
  for (const r of releases.sort()) {
    const dir = await ctx.buildLink(r);
    if (dir === undefined || !(await isKernelTree(dir))) continue;
    if (ctx.underUsrSrc(dir)) found.set(dir, { dir, release: r });
    else elsewhere.push({ link: ctx.host(`/lib/modules/${r}/build`), dir });
  }
  const src = await readdir(ctx.host('/usr/src')).catch(() => [] as string[]);
  for (const name of src.filter((n) => n.startsWith('linux-headers-')).sort()) {
    const dir = await realpath(ctx.host(`/usr/src/${name}`)).catch(() => undefined);
    if (dir === undefined || found.has(dir) || !(await isKernelTree(dir))) continue;
    const rel = await readFile(join(dir, 'include/config/kernel.release'), 'utf8').catch(() => undefined);
    if (rel === undefined) continue;
    found.set(dir, { dir, release: rel.trim() || undefined });
  }
  return { trees: [...found.values()].sort((a, b) => (a.dir < b.dir ? -1 : a.dir > b.dir ? 1 : 0)), elsewhere };
}

/** The headers tree of one kernel release: where its build link leads, or /usr/src/linux-headers-<release>. */
export async function headersTreeOf(ctx: SetupContext, release: string): Promise<HeadersTree | undefined> {
  if (release === '' || release.includes('/') || release === '.' || release === '..') {
    throw new ModuleError('USAGE', `not a kernel release: ${JSON.stringify(release)}`, {});
  }
  const viaLink = await ctx.buildLink(release);
  if (viaLink !== undefined && ctx.underUsrSrc(viaLink) && (await isKernelTree(viaLink))) return { dir: viaLink, release };
  const dir = await realpath(ctx.host(`/usr/src/linux-headers-${release}`)).catch(() => undefined);
  if (dir !== undefined && (await isKernelTree(dir))) return { dir, release };
  return undefined;
}

// ---- steps -----------------------------------------------------------------------------

/** One change to the system, in the words the CLI prints. */
export interface SetupStep {
  /** The file or directory (host path). */
  path: string;
  /** Past tense, for the run: "hooked /usr/src/.../Makefile". */
  done: string;
  /** The same as a plan, for --dry-run: "would hook ...". */
  planned: string;
  /** More about it, a line or two (printed indented). */
  detail?: string;
  run: () => Promise<void>;
}

export interface SetupReport {
  /** Changes, applied unless dry-run, in order. */
  steps: SetupStep[];
  /** What is already as it should be, and other facts. */
  notes: string[];
  /** What was left alone and needs a person (exit status 1). */
  warnings: string[];
  /** The record of the run (host path), or undefined when nothing had to be recorded. */
  manifest: string | undefined;
}

async function loadManifest(ctx: SetupContext): Promise<Manifest | undefined> {
  const file = ctx.host(MANIFEST);
  const text = await readOrAbsent(file);
  return text === undefined ? undefined : parseManifest(text.toString('utf8'), file);
}

async function writeManifest(ctx: SetupContext, m: Manifest): Promise<void> {
  await writeFileAtomic(ctx.host(MANIFEST), utf8(`${JSON.stringify(m, null, 2)}\n`));
}

/** Creates `dir` and its missing parents, noting each one created (system paths) in `created`. */
async function mkdirs(ctx: SetupContext, dir: string, created: string[], planned: Set<string>): Promise<string[]> {
  const missing: string[] = [];
  for (let d = dir; d !== ctx.root && d !== dirname(d); d = dirname(d)) {
    if (planned.has(d) || (await isDir(d))) break;
    missing.unshift(d);
  }
  for (const d of missing) { planned.add(d); created.push(ctx.system(d)); }
  return missing;
}

/** Which hooks run before and after `name` in its directory (run-parts' name order). */
async function neighbours(dir: string, name: string): Promise<string> {
  const ours = new Set(HOOKS.map((h) => h.path.split('/').pop()));
  const others = (await readdir(dir).catch(() => [] as string[])).filter((n) => !ours.has(n) && /^[A-Za-z0-9_-]+$/.test(n)).sort();
  const after = others.filter((n) => n > name);
  const before = others.filter((n) => n < name);
  const parts: string[] = [];
  if (before.length > 0) parts.push(`after ${before.join(', ')}`);
  if (after.length > 0) parts.push(`before ${after.join(', ')}`);
  return parts.length > 0 ? `runs ${parts.join('; ')}` : 'the only hook there so far';
}

/** The steps that hook one tree (none when it is hooked already). */
async function hookTreeSteps(ctx: SetupContext, tree: HeadersTree, inst: ModbtfInstallation, report: SetupReport, hooked: Set<string>): Promise<SetupStep[]> {
  const makefile = join(tree.dir, 'Makefile');
  const text = (await readOrAbsent(makefile))?.toString('latin1');
  if (text === undefined) return [];
  if (text.includes(KBUILD_INSTALL_BEGIN)) {
    report.notes.push(`${makefile}: hooked by \`modbtf kbuild install\` already; left as it is`);
    return [];
  }
  const original = withoutBlock(text, makefile) ?? text;
  const wanted = treeBlock(inst) + original;
  hooked.add(ctx.system(tree.dir));
  if (wanted === text) {
    report.notes.push(`${makefile}: hooked already`);
    return [];
  }
  const st = await stat(makefile);
  const again = original !== text;
  const detail = describeHookedTree(await inspectTree(tree.dir));
  return [{
    path: makefile,
    done: `${again ? 're-hooked (modbtf moved)' : 'hooked'} ${makefile}`,
    planned: `would ${again ? 're-hook (modbtf moved)' : 'hook'} ${makefile}`,
    detail,
    // Mode and modification time stay the package's: --remove gives back the very file.
    run: () => writeFileAtomic(makefile, Buffer.from(wanted, 'latin1'), { mode: st.mode & 0o7777, mtime: st.mtime }),
  }];
}

/**
 * `modbtf setup` (kernel undefined): hook every headers tree and install the kernel hooks.
 * `modbtf setup --kernel <release>` (the hooks): hook that release's tree only.
 * With dryRun, nothing is written; the steps say what would be.
 */
export async function setup(ctx: SetupContext, inst: ModbtfInstallation, o: { kernel?: string; dryRun: boolean }): Promise<SetupReport> {
  const old = await loadManifest(ctx);
  const m: Manifest = old !== undefined ? structuredClone(old) : { format: 1, createdDirs: [], files: {}, trees: [] };
  const report: SetupReport = { steps: [], notes: [], warnings: [], manifest: undefined };
  const plannedDirs = new Set<string>();
  const saves: { from: string; to: string }[] = [];
  const hooked = new Set<string>();

  const stateDirs = await mkdirs(ctx, ctx.host(STATE_DIR), m.createdDirs, plannedDirs);

  // Trees.
  let trees: HeadersTree[];
  if (o.kernel !== undefined) {
    const t = await headersTreeOf(ctx, o.kernel);
    if (t === undefined) report.notes.push(`kernel ${o.kernel}: no headers tree yet (${ctx.host(`/usr/src/linux-headers-${o.kernel}`)}); the header_postinst.d hook hooks it once linux-headers-${o.kernel} is installed`);
    trees = t !== undefined ? [t] : [];
  } else {
    const all = await headersTrees(ctx);
    trees = all.trees;
    if (trees.length === 0) report.notes.push(`no kernel headers installed (${ctx.host('/usr/src')}): the hooks below hook each one installed from now on`);
    for (const e of all.elsewhere) report.notes.push(`${e.link} -> ${e.dir}: not under /usr/src, so not a headers package: not hooked (\`modbtf kbuild install ${e.dir}\` does it by hand)`);
  }
  for (const t of trees) report.steps.push(...(await hookTreeSteps(ctx, t, inst, report, hooked)));

  // Kernel hooks.
  if (o.kernel === undefined) {
    for (const h of HOOKS) {
      const file = ctx.host(h.path);
      const content = utf8(hookScript(h.role, inst));
      const current = await readOrAbsent(file);
      const dirs = await mkdirs(ctx, dirname(file), m.createdDirs, plannedDirs);
      for (const d of dirs) report.steps.push({ path: d, done: `created ${d}/`, planned: `would create ${d}/`, run: () => mkdir(d).then(() => undefined) });
      const order = await neighbours(dirname(file), h.path.split('/').pop() as string);
      const what = h.role === 'hook'
        ? `hooks the headers of each kernel installed from now on, before dkms builds its modules (${order})`
        : `checks the running kernel's out-of-tree modules against each new kernel, after dkms (${order})`;
      if (current !== undefined && Buffer.compare(current, content) === 0) {
        report.notes.push(`${file}: installed already`);
        continue;
      }
      const rec = m.files[h.path];
      const replacing = current !== undefined && rec === undefined;
      if (rec === undefined) {
        const st = current !== undefined ? await stat(file) : undefined;
        m.files[h.path] = { wrote: '', original: st !== undefined ? { mode: st.mode & 0o7777, mtimeMs: st.mtimeMs } : null };
        if (st !== undefined) saves.push({ from: file, to: ctx.host(`${SAVED_DIR}${h.path}`) });
      }
      (m.files[h.path] as FileRecord).wrote = sha256(content);
      const verb = replacing ? 'replace' : current !== undefined ? 'update' : 'install';
      report.steps.push({
        path: file,
        done: `${verb.replace(/e?$/, 'ed')} ${file}`,
        planned: `would ${verb} ${file}`,
        detail: replacing ? `${what}; the file that was there is kept as ${ctx.host(`${SAVED_DIR}${h.path}`)} for --remove` : what,
        run: () => writeFileAtomic(file, content, { mode: 0o755 }),
      });
    }
  }

  // The record: trees hooked now, and earlier ones that still carry the block.
  const still = await Promise.all(m.trees.filter((t) => !hooked.has(t)).map(async (t) => {
    const text = (await readOrAbsent(ctx.host(`${t}/Makefile`)))?.toString('latin1');
    return text !== undefined && withoutBlock(text, ctx.host(`${t}/Makefile`)) !== undefined ? t : undefined;
  }));
  m.trees = [...new Set([...still.filter((t): t is string => t !== undefined), ...hooked])].sort();
  if (old === undefined && report.steps.length === 0 && m.trees.length === 0) {
    m.createdDirs = []; // nothing to record: no state directory either
    return report;
  }
  const changedRecord = JSON.stringify(old) !== JSON.stringify(m);
  report.manifest = ctx.host(MANIFEST);
  if (o.dryRun || (!changedRecord && report.steps.length === 0)) return report;

  // Record first (with the files about to be replaced), then change.
  for (const d of stateDirs) await mkdir(d);
  for (const s of saves) {
    await mkdir(dirname(s.to), { recursive: true });
    await writeFileAtomic(s.to, await readFile(s.from));
  }
  await writeManifest(ctx, m);
  for (const s of report.steps) await s.run();
  return report;
}

/**
 * `modbtf setup --remove`: every file setup changed back as it was before (bytes, mode,
 * modification time), the files it added and the directories it created removed, and its
 * record with them. A file changed by someone else since is left as it is (a warning), and
 * so is the record of it.
 */
export async function removeSetup(ctx: SetupContext, o: { dryRun: boolean }): Promise<SetupReport> {
  const m = await loadManifest(ctx);
  const report: SetupReport = { steps: [], notes: [], warnings: [], manifest: m !== undefined ? ctx.host(MANIFEST) : undefined };
  if (m === undefined) report.notes.push(`no ${ctx.host(MANIFEST)}: modbtf setup has not been run here (looking for hooked trees anyway)`);
  const left: Record<string, FileRecord> = {};
  const removed = new Set<string>();
  const step = (path: string, verb: string, run: () => Promise<void>, what = ''): void => {
    report.steps.push({ path, done: `${verb}d ${path}${what}`, planned: `would ${verb} ${path}${what}`, run });
    if (verb === 'remove') removed.add(path);
  };

  const trees = new Set([...(m?.trees ?? []).map((t) => ctx.host(t)), ...(await headersTrees(ctx)).trees.map((t) => t.dir)]);
  for (const dir of [...trees].sort()) {
    const makefile = join(dir, 'Makefile');
    const raw = await readOrAbsent(makefile);
    if (raw === undefined) continue; // the tree went with its package
    const original = withoutBlock(raw.toString('latin1'), makefile);
    if (original === undefined) continue;
    const st = await stat(makefile);
    step(makefile, 'restore', () => writeFileAtomic(makefile, Buffer.from(original, 'latin1'), { mode: st.mode & 0o7777, mtime: st.mtime }));
  }

  for (const [path, rec] of Object.entries(m?.files ?? {}).sort(([a], [b]) => (a < b ? -1 : 1))) {
    const file = ctx.host(path);
    const saved = ctx.host(`${SAVED_DIR}${path}`);
    const before = rec.original !== null ? ` (the file that was there before setup is in ${saved})` : '';
    const current = await readOrAbsent(file);
    if (current === undefined) {
      if (rec.original !== null) { report.warnings.push(`${file}: gone${before}`); left[path] = rec; }
      continue;
    }
    if (sha256(current) !== rec.wrote) {
      report.warnings.push(`${file}: changed since modbtf setup wrote it; left as it is${before}`);
      left[path] = rec;
      continue;
    }
    if (rec.original === null) { step(file, 'remove', () => rm(file)); continue; }
    const bytes = await readOrAbsent(saved);
    if (bytes === undefined) {
      report.warnings.push(`${file}: the file that was there before setup should be in ${saved}, which is gone; left as it is`);
      left[path] = rec;
      continue;
    }
    const { mode, mtimeMs } = rec.original;
    step(file, 'restore', () => writeFileAtomic(file, bytes, { mode, mtime: new Date(mtimeMs) }), ' (the file that was there before setup)');
  }

  // The record goes when nothing is left to remember; then the directories setup created, children first, when empty.
  const keep = Object.keys(left).length > 0;
  if (m !== undefined && !keep) {
    step(ctx.host(MANIFEST), 'remove', () => rm(ctx.host(MANIFEST)));
    if (await isDir(ctx.host(SAVED_DIR))) step(ctx.host(SAVED_DIR), 'remove', () => rm(ctx.host(SAVED_DIR), { recursive: true }));
  }
  const keptDirs: string[] = [];
  for (const d of [...(m?.createdDirs ?? [])].reverse()) {
    const dir = ctx.host(d);
    if (!(await isDir(dir))) continue;
    const others = (await readdir(dir)).filter((e) => !removed.has(join(dir, e)));
    if (others.length > 0) {
      keptDirs.unshift(d);
      report.notes.push(`${dir}/: kept (setup created it; it holds ${others.join(', ')} now)`);
      continue;
    }
    step(dir, 'remove', () => rmdir(dir));
  }
  if (o.dryRun) return report;
  for (const s of report.steps) await s.run();
  if (keep) await writeManifest(ctx, { format: 1, createdDirs: keptDirs, files: left, trees: [] });
  return report;
}

// ---- what setup has done, for `modbtf doctor` ------------------------------------------

/**
 * Whether setup is in place (its record and its kernel hooks), and, per kernel release,
 * whether that kernel's headers tree is hooked (setup's block, or `modbtf kbuild install`'s).
 * Reads only; a record it cannot parse counts as absent.
 */
export async function setupState(ctx: SetupContext, releases: readonly string[]): Promise<SetupState> {
  const recorded = await loadManifest(ctx).then((m) => m !== undefined, () => false);
  let hooks = true;
  for (const h of HOOKS) if ((await readOrAbsent(ctx.host(h.path))) === undefined) hooks = false;
  const hookedTrees: Record<string, boolean> = {};
  for (const r of releases) {
    const tree = await headersTreeOf(ctx, r).catch(() => undefined);
    const text = tree ? (await readOrAbsent(join(tree.dir, 'Makefile')))?.toString('latin1') : undefined;
    hookedTrees[r] = text !== undefined && (text.includes(`${SETUP_BEGIN}\n`) || text.includes(KBUILD_INSTALL_BEGIN));
  }
  return { recorded, hooks, hookedTrees };
}
