#!/usr/bin/env zx
/**
 * Compares modbtf's dumpRaw/dumpJson with the real bpftool (Debian 12's 7.1 on the host,
 * or Debian sid's 7.8 with --sid) on real Debian kernel modules, byte for byte:
 *
 *   bpftool -B VMLINUX btf dump file M.ko      vs  dumpRaw(M .BTF over VMLINUX .BTF)
 *   bpftool -B VMLINUX -j btf dump file M.ko   vs  dumpJson(...)
 *
 * and both against dumpRawBytes/dumpJsonBytes, the bytes the CLI writes.
 *
 * Usage (after `npm run build`; dist/ is what gets tested):
 *   zx scripts/compare-bpftool.mjs [--count N] [--all] [--vmlinux] [--jobs J] [--sid]
 *        [--modules DIR] [--vmlinux-path FILE] [--bpftool PATH] [MODULE ...]
 *
 *   --count N   pick N modules (default 40; 0 with --vmlinux unless given): every
 *               k-th of the sorted list of *.ko.xz/*.ko, so runs are repeatable
 *   --all       every module instead
 *   --vmlinux   also compare the dump of the whole vmlinux BTF (no base)
 *   --sid       run bpftool (--bpftool, default `bpftool`) inside the Debian sid chroot
 *               of scripts/e2e-lib/sid.mjs ($MODBTF_CACHE/sid; sid's binaries need sid's
 *               glibc), with a clean environment; the decompressed modules are written
 *               inside the chroot, and a --vmlinux-path outside it is made visible there
 *               (hard links, scripts/e2e-lib/kernel7.mjs sidView). Needs root.
 *   MODULE      a path to a .ko/.ko.xz, or a module name (tcp_bbr, snd-pcm) looked
 *               up under --modules; always compared, on top of --count
 *
 * Prints one status line per item and finally `N identical, M different`; exits 1
 * when anything differs or fails.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join, relative, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { $, parseArgv } from 'zx';

const ROOT = resolve(fileURLToPath(new URL('..', import.meta.url)));
const DEFAULT_MODULES = '/var/cache/modbtf/root/lib/modules/6.12.107+deb12-amd64/kernel';
const DEFAULT_VMLINUX = '/var/cache/modbtf/root/usr/src/linux-headers-6.12.107+deb12-amd64/vmlinux';

// Parse our own arguments (zx's global argv would read `--vmlinux tcp_bbr` as
// vmlinux=tcp_bbr): they are what follows this script's path, whether it was
// started as `zx scripts/compare-bpftool.mjs` or `node scripts/compare-bpftool.mjs`.
const self = fileURLToPath(import.meta.url);
const argv = parseArgv(process.argv.slice(process.argv.findIndex((a) => resolve(a) === self) + 1), {
  boolean: ['all', 'vmlinux', 'keep', 'sid'],
  string: ['modules', 'vmlinux-path', 'bpftool', 'count', 'jobs'],
});
const modulesDir = resolve(argv.modules ?? DEFAULT_MODULES);
const vmlinuxPath = argv['vmlinux-path'] ?? DEFAULT_VMLINUX;
const bpftool = argv.bpftool ?? 'bpftool';
const jobs = Math.max(1, Number(argv.jobs ?? 2));
const withVmlinux = argv.vmlinux === true;
const count = argv.count !== undefined ? Number(argv.count) : withVmlinux ? 0 : 40;
const named = argv._.map(String);
const inSid = argv.sid === true;
const sid = inSid ? await import('./e2e-lib/sid.mjs') : undefined;
const k7 = inSid ? await import('./e2e-lib/kernel7.mjs') : undefined;

const distBtf = join(ROOT, 'dist/lib/btf');
if (!existsSync(join(distBtf, 'dump-raw.js'))) {
  console.error('dist/lib/btf/dump-raw.js is missing: run `npm run build` first');
  process.exit(2);
}
const { Btf } = await import(pathToFileURL(join(distBtf, 'btf.js')).href);
const { dumpRaw } = await import(pathToFileURL(join(distBtf, 'dump-raw.js')).href);
const { dumpJson } = await import(pathToFileURL(join(distBtf, 'dump-json.js')).href);
// What `modbtf dump` and `dump --json` write: bytes straight from the type records.
const { dumpRawBytes } = await import(pathToFileURL(join(distBtf, 'dump-raw-bytes.js')).href);
const { dumpJsonBytes } = await import(pathToFileURL(join(distBtf, 'dump-json-bytes.js')).href);

$.quiet = true;
// Large dumps (vmlinux JSON is ~16 MB) must not be cut off.
$.maxBuffer = 1 << 30;

// With --sid the work directory is inside the chroot, where bpftool runs.
if (inSid) mkdirSync(sid.sidPath('/tmp'), { recursive: true });
const work = mkdtempSync(join(inSid ? sid.sidPath('/tmp') : tmpdir(), 'modbtf-compare-'));
process.on('exit', () => { if (!argv.keep) rmSync(work, { recursive: true, force: true }); });

function listModules(dir) {
  return readdirSync(dir, { recursive: true })
    .map(String)
    .filter((p) => p.endsWith('.ko') || p.endsWith('.ko.xz'))
    .sort();
}

function resolveNamed(arg, all) {
  if (existsSync(arg)) return resolve(arg);
  const want = arg.replace(/\.ko(\.xz)?$/, '');
  const hits = all.filter((p) => basename(p).replace(/\.ko(\.xz)?$/, '') === want);
  if (hits.length === 0) throw new Error(`no module named ${arg} under ${modulesDir}`);
  return join(modulesDir, hits[0]);
}

/** Decompresses if needed and returns the path of a plain .ko (with --sid: always in `dir`). */
async function plainKo(path, dir) {
  if (!path.endsWith('.xz')) {
    if (!inSid || k7.insideSid(path)) return path;
    const out = join(dir, basename(path));
    await $`cp ${path} ${out}`;
    return out;
  }
  const out = join(dir, basename(path, '.xz'));
  await $`xz -dc ${path} > ${out}`;
  return out;
}

async function extractBtf(elf, out) {
  await $`llvm-objcopy --dump-section .BTF=${out} ${elf} /dev/null`;
  return readFileSync(out);
}

function firstDifference(expected, actual) {
  const e = expected.toString('utf8').split('\n');
  const a = actual.toString('utf8').split('\n');
  for (let i = 0; i < Math.max(e.length, a.length); i++) {
    if (e[i] !== a[i]) {
      const clip = (s) => (s === undefined ? '<end>' : s.length > 160 ? `${s.slice(0, 160)}...` : s);
      return `line ${i + 1}: bpftool ${JSON.stringify(clip(e[i]))} vs ours ${JSON.stringify(clip(a[i]))}`;
    }
  }
  // Same lines, different bytes (invalid UTF-8): report the first byte instead.
  let i = 0;
  while (i < expected.length && expected[i] === actual[i]) i++;
  return `byte ${i}`;
}

const sha = (b) => createHash('sha256').update(b).digest('hex').slice(0, 12);

/** Compares one dump pair; returns undefined when identical, else a reason. */
function compare(what, expected, ours) {
  const actual = typeof ours === 'string' ? Buffer.from(ours, 'utf8') : ours;
  if (expected.equals(actual)) return undefined;
  return `${what} differs (${expected.length} vs ${actual.length} bytes, sha ${sha(expected)} vs ${sha(actual)}), ${firstDifference(expected, actual)}`;
}

/** stdout of `bpftool ARGS` (host paths in ARGS; with --sid translated to chroot paths). */
async function runBpftool(args) {
  if (!inSid) return (await $`${bpftool} ${args}`).buffer();
  const words = args.map((a) => {
    if (!a.startsWith('/')) return sid.shq(a);
    const inside = k7.insideSid(a);
    if (!inside) throw new Error(`${a} is not inside the sid chroot`);
    return sid.shq(inside);
  });
  return (await sid.sidSh(`${sid.shq(bpftool)} ${words.join(' ')}`)).buffer();
}

// The vmlinux as bpftool sees it: with --sid a host path outside the chroot is linked in.
const bpftoolVmlinux = inSid && !k7.insideSid(vmlinuxPath)
  ? sid.sidPath(k7.sidView(vmlinuxPath, 'compare-bpftool-vmlinux'))
  : vmlinuxPath;

async function compareOne(elf, base, baseElf, dir) {
  const btfBytes = await extractBtf(elf, join(dir, 'out.btf'));
  const btf = Btf.parse(btfBytes, base ? { base, file: elf, section: '.BTF' } : { file: elf, section: '.BTF' });
  const baseArgs = baseElf ? ['-B', baseElf] : [];
  const text = await runBpftool([...baseArgs, 'btf', 'dump', 'file', elf]);
  const json = await runBpftool([...baseArgs, '-j', 'btf', 'dump', 'file', elf]);
  const problems = [
    compare('text', text, dumpRaw(btf)), compare('json', json, dumpJson(btf)),
    compare('text (CLI bytes)', text, Buffer.concat([...dumpRawBytes(btf)])), compare('json (CLI bytes)', json, Buffer.concat([...dumpJsonBytes(btf)])),
  ].filter(Boolean);
  return { types: btf.ownTypeCount, problems };
}

const vmDir = mkdtempSync(join(work, 'vmlinux-'));
const vmlinuxBtf = Btf.parse(await extractBtf(vmlinuxPath, join(vmDir, 'vmlinux.btf')), { file: vmlinuxPath, section: '.BTF' });

const all = listModules(modulesDir);
let picked = [];
if (argv.all) {
  picked = all.map((p) => join(modulesDir, p));
} else if (count > 0) {
  const step = Math.max(1, Math.floor(all.length / count));
  for (let i = 0; i < all.length && picked.length < count; i += step) picked.push(join(modulesDir, all[i]));
}
for (const n of named) {
  const p = resolveNamed(n, all);
  if (!picked.includes(p)) picked.push(p);
}

const tasks = [];
if (withVmlinux) {
  tasks.push({ label: `vmlinux ${vmlinuxPath}`, run: () => compareOne(bpftoolVmlinux, undefined, undefined, vmDir) });
}
for (const [i, path] of picked.entries()) {
  const label = path.startsWith(modulesDir + '/') ? relative(modulesDir, path) : path;
  tasks.push({
    label,
    run: async () => {
      const dir = mkdtempSync(join(work, `m${i}-`));
      try {
        return await compareOne(await plainKo(path, dir), vmlinuxBtf, bpftoolVmlinux, dir);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    },
  });
}

let identical = 0;
let different = 0;
let next = 0;
async function worker() {
  while (next < tasks.length) {
    const task = tasks[next++];
    let r;
    try {
      r = await task.run();
    } catch (e) {
      // A failure to extract or dump counts as a difference: the point is full agreement.
      r = { types: 0, problems: [`error: ${e instanceof Error ? e.message.trim().split('\n')[0] : String(e)}`] };
    }
    if (r.problems.length === 0) {
      identical++;
      console.log(`ok    ${task.label} (${r.types} types)`);
    } else {
      different++;
      console.log(`DIFF  ${task.label}: ${r.problems.join('; ')}`);
    }
  }
}
await Promise.all(Array.from({ length: Math.min(jobs, tasks.length) }, worker));

console.log(`${identical} identical, ${different} different`);
process.exit(different > 0 ? 1 : 0);
