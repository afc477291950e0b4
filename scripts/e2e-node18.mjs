#!/usr/bin/env zx
// Issue 14: everything a user runs works on Node.js 18. A Debian 12 (bookworm) chroot with
// Debian's own `nodejs` (18.x) runs the CLI commands the e2e and the demo use — --version,
// --help and each command's help, usage errors, dump, distill, relocate, check (worker
// threads, stdin lists), finalize, retarget, resolve-btfids, kbuild install/uninstall, the
// kernel postinst hook, the library API — from the npm package (`npm pack` of this checkout,
// installed as npm would into node_modules/), and the same commands run on the host's
// Node.js (20) over the same files must give the same exit status, stdout, stderr and
// output files. Where libbpf/bpftool/resolve_btfids golden files exist, both must equal them.
//
//   $MODBTF_CACHE/bookworm-node18/           the chroot (debootstrap --variant=minbase bookworm), kept
//   $MODBTF_CACHE/bookworm-node18/.modbtf-*  stamp: bootstrapped
//
// Nothing of the host is bind-mounted into the chroot: files are copied in, only a fresh /proc
// is mounted (node reads /proc/self/exe for process.execPath), and unmounted at the end. Every
// command runs with a clean environment (env -i), on the host too. The first run takes about
// two minutes (debootstrap, apt-get); later runs under a minute. Run as root after
// `npm run build`. Closes with `N passed, M failed`; exit status 1 when any check failed.
import { createHash } from 'node:crypto';
import { copyFileSync, cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gunzipSync } from 'node:zlib';
import { $ } from 'zx';

$.verbose = false;
const repo = join(dirname(fileURLToPath(import.meta.url)), '..');
const CACHE = process.env.MODBTF_CACHE ?? '/var/cache/modbtf';
const ROOT = join(CACHE, 'bookworm-node18');
const MIRROR = process.env.MODBTF_BOOKWORM_MIRROR ?? 'http://deb.debian.org/debian';
const SECURITY_MIRROR = process.env.MODBTF_BOOKWORM_SECURITY_MIRROR ?? 'http://deb.debian.org/debian-security';
/** Debian's nodejs, and what modbtf runs: objcopy (finalize, retarget), xz and zstd. */
const PACKAGES = ['nodejs', 'binutils', 'xz-utils', 'zstd'];
const CLEAN_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';
const pkg = JSON.parse(readFileSync(join(repo, 'package.json'), 'utf8'));

const t0 = Date.now();
const log = (msg) => console.log(`[e2e-node18 ${((Date.now() - t0) / 1000).toFixed(1).padStart(5)}s] ${msg}`);
let passed = 0, failed = 0;
function result(ok, what, detail = '') {
  if (ok) passed++; else failed++;
  console.log(`${ok ? 'ok  ' : 'FAIL'} ${what}${detail ? `\n       ${detail.replace(/\n/g, '\n       ')}` : ''}`);
}

// ---- the chroot ---------------------------------------------------------------------------

const stamp = (name) => join(ROOT, `.modbtf-${name}`);
/** Mount points at or below `dir` (from the host's mount table). */
function mountsUnder(dir) {
  return readFileSync('/proc/self/mounts', 'utf8').split('\n').map((l) => l.split(' ')[1]).filter((m) => m && (m === dir || m.startsWith(`${dir}/`)));
}
let mountedProc = false;

/** Runs `script` with sh -c in the chroot, clean environment plus `env`. */
function inChroot(script, env = {}, opts = {}) {
  const assigns = Object.entries({ PATH: CLEAN_PATH, HOME: '/root', LANG: 'C.UTF-8', ...env }).map(([k, v]) => `${k}=${v}`);
  return $({ nothrow: true, quiet: true, timeout: '180s', ...opts })`chroot ${ROOT} env -i ${assigns} sh -c ${script}`;
}

async function ensureChroot() {
  if (process.getuid?.() !== 0) throw new Error('needs root (debootstrap, chroot, mount)');
  if (!existsSync(stamp('bootstrapped'))) {
    // A bootstrap that did not finish is started over; never with something mounted inside.
    if (mountsUnder(ROOT).length > 0) throw new Error(`${ROOT} has mounts (${mountsUnder(ROOT).join(', ')}); not removing it`);
    if (!existsSync('/usr/sbin/debootstrap')) {
      log('apt-get install debootstrap');
      await $({ env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } })`apt-get install -y -qq --no-install-recommends debootstrap`;
    }
    rmSync(ROOT, { recursive: true, force: true });
    mkdirSync(ROOT, { recursive: true });
    log(`debootstrap --variant=minbase bookworm ${ROOT} ${MIRROR}`);
    await $`debootstrap --variant=minbase bookworm ${ROOT} ${MIRROR}`;
    writeFileSync(stamp('bootstrapped'), `${new Date().toISOString()}\n`);
  }
  // What a Debian 12 installation has: the release, its point updates and security updates.
  writeFileSync(join(ROOT, 'etc/apt/sources.list'), [
    `deb ${MIRROR} bookworm main`, `deb ${MIRROR} bookworm-updates main`, `deb ${SECURITY_MIRROR} bookworm-security main`, '',
  ].join('\n'));
  // A snapshot mirror's Release files may have expired.
  writeFileSync(join(ROOT, 'etc/apt/apt.conf.d/99modbtf'), 'Acquire::Check-Valid-Until "false";\nAPT::Install-Recommends "false";\n');
  if (!mountsUnder(join(ROOT, 'proc')).length) {
    mkdirSync(join(ROOT, 'proc'), { recursive: true });
    await $`mount -t proc proc ${join(ROOT, 'proc')}`;
    mountedProc = true;
  }
  const q = await inChroot(`dpkg-query -W -f='\${Package} \${Status}\\n' ${PACKAGES.join(' ')} 2>/dev/null || true`);
  const have = new Set(q.stdout.split('\n').filter((l) => l.endsWith(' install ok installed')).map((l) => l.split(' ')[0]));
  const missing = PACKAGES.filter((p) => !have.has(p));
  if (missing.length > 0) {
    log(`chroot: apt-get install ${missing.join(' ')}`);
    for (const cmd of ['apt-get update -qq', `apt-get install -y -qq ${missing.join(' ')}`]) {
      const r = await inChroot(cmd, { DEBIAN_FRONTEND: 'noninteractive' }, { timeout: '600s' });
      if (r.exitCode !== 0) throw new Error(`chroot: ${cmd} failed (exit ${r.exitCode}): ${r.stderr.trim().split('\n').slice(-5).join(' | ')}`);
    }
  }
}

async function releaseChroot() {
  if (mountedProc) await $({ nothrow: true })`umount ${join(ROOT, 'proc')}`;
}

// ---- the workspace: the npm package installed as npm would, and the fixtures ---------------

/**
 * Fills `w` (a directory that exists under the same path on the host and in the chroot):
 *   node_modules/modbtf/      `npm pack` of this checkout (what `files` ships), unpacked
 *   node_modules/<dep>/       its production dependencies, copied from this checkout
 *   node_modules/.bin/modbtf  -> ../modbtf/dist/bundle/main.js, as npm links the bin
 *   fx/                       fixtures from test/fixtures (see PROVENANCE.md), some gunzipped
 */
async function fillWorkspace(w) {
  if (!existsSync(join(repo, 'dist/bundle/main.js'))) throw new Error('dist/bundle/main.js is missing: npm run build');
  const nm = join(w, 'node_modules');
  mkdirSync(join(nm, 'modbtf'), { recursive: true });
  const packed = await $({ cwd: repo, quiet: true })`npm pack --ignore-scripts --silent --pack-destination ${w}`;
  const tgz = join(w, packed.stdout.trim().split('\n').pop());
  await $`tar -xzf ${tgz} -C ${join(nm, 'modbtf')} --strip-components=1`;
  // The README's install line, with no registry: `npm i -g --offline` of the tarball into
  // an empty prefix, with an empty npm cache (global/bin/modbtf, run by the cases below).
  const prefix = join(w, 'global');
  const cache = join(w, 'npm-empty-cache');
  mkdirSync(prefix);
  mkdirSync(cache);
  const inst = await $({ cwd: w, nothrow: true, quiet: true })`npm i -g --offline --no-audit --no-fund --prefix ${prefix} --cache ${cache} ${tgz}`;
  result(inst.exitCode === 0 && existsSync(join(prefix, 'bin/modbtf')) && !existsSync(join(prefix, 'lib/node_modules/modbtf/node_modules')),
    `npm ${(await $({ quiet: true })`npm --version`).stdout.trim()} i -g --offline ./${tgz.split('/').pop()} into an empty prefix with an empty cache: installed, nothing else fetched`,
    `${inst.stdout}${inst.stderr}`.trim().split('\n').slice(-6).join('\n'));
  rmSync(cache, { recursive: true, force: true });
  rmSync(tgz);
  const ls = await $({ cwd: repo, nothrow: true, quiet: true })`npm ls --omit=dev --all --parseable`;
  const repoNm = join(repo, 'node_modules');
  const deps = ls.stdout.split('\n').filter((l) => l.startsWith(`${repoNm}/`));
  for (const p of deps) cpSync(p, join(nm, relative(repoNm, p)), { recursive: true });
  mkdirSync(join(nm, '.bin'));
  symlinkSync('../modbtf/dist/bundle/main.js', join(nm, '.bin', 'modbtf'));

  const fx = join(w, 'fx');
  mkdirSync(fx);
  const fixture = (rel) => join(repo, 'test/fixtures', rel);
  for (const rel of ['btf/vmlinux-6.12.107.btf.gz', 'btf/vmlinux-6.12.117.btf.gz', 'btf/mac80211.btf.gz', 'modules/tcp_bbr.ko.xz']) {
    copyFileSync(fixture(rel), join(fx, rel.split('/').pop()));
  }
  // ELF vmlinux (resolve-btfids and finalize take it as kbuild passes it) and pristine modules.
  for (const rel of ['btfids/vmlinux-6.12.107.elf.gz', 'btfids/tcp_bbr.pristine.ko.gz', 'btfids/btfids_fixture.pristine.ko.gz']) {
    writeFileSync(join(fx, rel.split('/').pop().replace(/\.elf\.gz$|\.gz$/, '')), gunzipSync(readFileSync(fixture(rel))));
  }
  // A kernel build tree, as far as kbuild install touches one.
  mkdirSync(join(fx, 'kdir/scripts'), { recursive: true });
  writeFileSync(join(fx, 'kdir/Makefile'), 'include $(srctree)/../linux-headers-6.12.107+deb12-common/Makefile\n');
  writeFileSync(join(fx, 'kdir/scripts/Makefile.modfinal'), '# stand-in\n');
  // /lib/modules for the postinst hook: the running kernel's DKMS module and both vmlinux.
  // Release names no real installation has: retarget --kernel <release> must not find one.
  const mods = join(fx, 'lib-modules');
  mkdirSync(join(mods, OLD_RELEASE, 'updates/dkms'), { recursive: true });
  mkdirSync(join(mods, OLD_RELEASE, 'build'), { recursive: true });
  mkdirSync(join(mods, NEW_RELEASE, 'build'), { recursive: true });
  copyFileSync(join(fx, 'vmlinux-6.12.107'), join(mods, OLD_RELEASE, 'build/vmlinux'));
  writeFileSync(join(mods, NEW_RELEASE, 'build/vmlinux'), gunzipSync(readFileSync(fixture('btf/vmlinux-6.12.117.btf.gz'))));
  copyFileSync(fixture('modules/tcp_bbr.ko.xz'), join(mods, OLD_RELEASE, 'updates/dkms/tcp_bbr.ko.xz'));
  // The library, as a program that depends on modbtf would use it (README, "Library").
  writeFileSync(join(w, 'lib-check.mjs'), `import { writeFileSync } from 'node:fs';
import { loadBaseBtf, loadBtfFile, distill, dumpRaw } from 'modbtf';
const vmlinux = await loadBaseBtf('fx/vmlinux-6.12.107.btf.gz');
const { btf } = await loadBtfFile('fx/tcp_bbr.ko.xz', { base: vmlinux });
writeFileSync('work/lib/dump.txt', dumpRaw(btf));
const { base, split } = distill(vmlinux, btf);
writeFileSync('work/lib/BTF.base', base);
writeFileSync('work/lib/BTF', split);
`);
  return deps.length;
}

const OLD_RELEASE = '6.12.107+node18-e2e';
const NEW_RELEASE = '6.12.117+node18-e2e';

// ---- the commands ------------------------------------------------------------------------

const V107 = 'fx/vmlinux-6.12.107.btf.gz';
const V117 = 'fx/vmlinux-6.12.117.btf.gz';
const BBR = 'fx/tcp_bbr.ko.xz';
/**
 * Each case: a shell script run in the workspace (`modbtf` is node_modules/.bin/modbtf), the exit
 * statuses it may end with, files (workspace paths) whose contents are compared too, golden:
 * file -> test/fixtures file it must equal (gunzipped), and what stdout must match.
 */
const cases = [
  { name: 'modbtf --version', sh: 'modbtf --version', exit: [0], stdout: new RegExp(`^${pkg.version.replace(/\./g, '\\.')}\n$`) },
  { name: 'modbtf --help', sh: 'modbtf --help', exit: [0], stdout: /^modbtf <command> \[options\]\n[\s\S]*Commands:\n  modbtf dump <file> /},
  ...['dump', 'distill', 'relocate', 'check', 'finalize', 'retarget', 'kbuild'].map((c) => (
    { name: `modbtf ${c} --help`, sh: `modbtf ${c} --help`, exit: [0], stdout: new RegExp(`^modbtf ${c}`) })),
  // Like the kernel's resolve_btfids: usage on stderr, exit 129.
  { name: 'modbtf resolve-btfids --help', sh: 'modbtf resolve-btfids --help', exit: [129] },
  { name: 'usage error: no command', sh: 'modbtf', exit: [2] },
  { name: 'usage error: a misspelt command', sh: 'modbtf chek', exit: [2] },
  { name: 'usage error: check without --kernel', sh: `modbtf check ${BBR}`, exit: [2] },
  { name: 'usage error: finalize -j 0', sh: `modbtf finalize -j 0 -b ${V107} ${BBR}`, exit: [2] },
  { name: 'usage error: distill without -o or --in-place', sh: `modbtf distill -b ${V107} ${BBR}`, exit: [2] },
  { name: 'usage error: kbuild modfinal without a module', sh: 'modbtf kbuild modfinal', exit: [2] },
  { name: 'usage error: resolve-btfids without an object', sh: 'modbtf resolve-btfids', exit: [129] },
  { name: 'dump a signed .ko.xz over vmlinux (bpftool 7.1)', sh: `modbtf dump --base ${V107} ${BBR} > work/dump.txt`, exit: [0],
    files: ['work/dump.txt'], golden: { 'work/dump.txt': 'btf/tcp_bbr.bpftool.txt.gz' } },
  { name: 'dump --json=true (through yargs; bpftool -j)', sh: `modbtf dump --json=true --base ${V107} ${BBR} > work/dump.json`, exit: [0],
    files: ['work/dump.json'], golden: { 'work/dump.json': 'btf/tcp_bbr.bpftool.json.gz' } },
  { name: 'dump a missing file', sh: 'modbtf dump /nonexistent/x.ko', exit: [2] },
  { name: 'distill (libbpf btf__distill_base)', sh: `mkdir -p work/distill && modbtf distill -b ${V107} -o work/distill ${BBR}`, exit: [0],
    files: ['work/distill/tcp_bbr.BTF.base', 'work/distill/tcp_bbr.BTF'],
    golden: { 'work/distill/tcp_bbr.BTF.base': 'btf/tcp_bbr.dbase.btf.gz', 'work/distill/tcp_bbr.BTF': 'btf/tcp_bbr.dsplit.btf.gz' } },
  { name: 'relocate onto 6.12.117 (libbpf btf_relocate)', sh: `mkdir -p work/reloc && modbtf relocate -b ${V107} -k ${V117} -o work/reloc/btf --id-map work/reloc/idmap ${BBR}`, exit: [0],
    files: ['work/reloc/btf', 'work/reloc/idmap'], golden: { 'work/reloc/btf': 'btf/tcp_bbr.reloc117.btf.gz', 'work/reloc/idmap': 'btf/tcp_bbr.reloc117.idmap.gz' } },
  { name: 'relocate, dumped', sh: `modbtf relocate -b ${V107} -k ${V117} ${BBR}`, exit: [0] },
  { name: 'check: mac80211 loses its BTF on 6.12.117, tcp_bbr keeps it', sh: `modbtf check --built-with ${V107} --kernel ${V117} fx/mac80211.btf.gz ${BBR}`, exit: [1],
    stdout: /2 modules checked .*: 1 keep BTF, 1 lose BTF, 0 errors/ },
  { name: 'check -j2 --json (through yargs; two lanes)', sh: `modbtf check -j2 --json --built-with ${V107} --kernel ${V117} fx/mac80211.btf.gz ${BBR}`, exit: [1] },
  { name: 'check a list on stdin', sh: `printf '%s\\n' ${BBR} fx/mac80211.btf.gz | modbtf check --built-with ${V107} --kernel ${V117} -`, exit: [1] },
  { name: 'check against a release that is not installed', sh: `modbtf check --built-with ${V107} --kernel ${NEW_RELEASE} ${BBR}`, exit: [2] },
  { name: 'finalize a signed .ko.xz in place (objcopy, xz)', sh: `rm -rf work/fin && mkdir -p work/fin && cp ${BBR} work/fin/ && modbtf finalize --strip-signature -b ${V107} work/fin/tcp_bbr.ko.xz`, exit: [0],
    files: ['work/fin/tcp_bbr.ko.xz'] },
  { name: 'finalize again changes nothing', sh: `modbtf finalize -b ${V107} work/fin/tcp_bbr.ko.xz`, exit: [0], files: ['work/fin/tcp_bbr.ko.xz'] },
  { name: 'check the finalized module (its own .BTF.base)', sh: `modbtf check --kernel ${V117} work/fin/tcp_bbr.ko.xz`, exit: [0] },
  { name: 'finalize a tree -j 2 --json (worker threads)', sh: `rm -rf work/tree && mkdir -p work/tree/net && cp fx/tcp_bbr.pristine.ko fx/btfids_fixture.pristine.ko work/tree/ && cp ${BBR} work/tree/net/ && modbtf finalize --json -j 2 --distill --strip-signature -b fx/vmlinux-6.12.107 work/tree`, exit: [0],
    files: ['work/tree/tcp_bbr.pristine.ko', 'work/tree/btfids_fixture.pristine.ko', 'work/tree/net/tcp_bbr.ko.xz'],
    golden: { 'work/tree/tcp_bbr.pristine.ko': 'btfids/tcp_bbr.distilled.resolved.ko.gz', 'work/tree/btfids_fixture.pristine.ko': 'btfids/btfids_fixture.distilled.resolved.ko.gz' } },
  { name: 'retarget the finalized module to 6.12.117', sh: `rm -rf work/rt && mkdir -p work/rt && cp work/fin/tcp_bbr.ko.xz work/rt/ && modbtf retarget --kernel ${V117} work/rt/tcp_bbr.ko.xz`, exit: [0],
    files: ['work/rt/tcp_bbr.ko.xz'] },
  { name: 'resolve-btfids -b vmlinux (resolve_btfids 6.12)', sh: 'rm -rf work/rb && mkdir -p work/rb && cp fx/vmlinux-6.12.107 work/rb/vmlinux && cp fx/tcp_bbr.pristine.ko work/rb/tcp_bbr.ko && cd work/rb && modbtf resolve-btfids -b vmlinux tcp_bbr.ko', exit: [0],
    files: ['work/rb/tcp_bbr.ko'], golden: { 'work/rb/tcp_bbr.ko': 'btfids/tcp_bbr.resolved.ko.gz' } },
  { name: 'kbuild install, twice, on a copy of a build tree', sh: 'rm -rf work/kdir && cp -r fx/kdir work/kdir && modbtf kbuild install work/kdir && modbtf kbuild install work/kdir', exit: [0],
    files: ['work/kdir/Makefile', 'work/kdir/scripts/Makefile.modbtf'] },
  { name: 'kbuild uninstall, twice, restores the tree', sh: 'modbtf kbuild uninstall work/kdir && modbtf kbuild uninstall work/kdir && cmp fx/kdir/Makefile work/kdir/Makefile && test ! -e work/kdir/scripts/Makefile.modbtf', exit: [0] },
  { name: 'the kernel postinst hook from the npm package (check; MODBTF_RETARGET=1 asks retarget --help)',
    sh: `rm -rf work/hook && cp -r fx/lib-modules work/hook && MODBTF_RETARGET=1 MODBTF_JOBS=2 MODBTF_CONFIG=/nonexistent MODBTF_MODULES_ROOT=work/hook MODBTF_RUNNING=${OLD_RELEASE} MODBTF_HEADERS_ROOT=/nonexistent MODBTF_RUNNING_BTF=/nonexistent sh node_modules/modbtf/kbuild/postinst.d-modbtf ${NEW_RELEASE} /boot/vmlinuz-${NEW_RELEASE}`,
    exit: [0], stdout: /keep their BTF on [\s\S]*retargeting the modules in/ },
  { name: 'the package installed offline (npm i -g --offline): modbtf --help', sh: 'global/bin/modbtf --help', exit: [0], stdout: /^modbtf <command> \[options\]\n/ },
  { name: 'the package installed offline: modbtf check', sh: `global/bin/modbtf check -b ${V107} -k ${V117} ${BBR}`, exit: [0], stdout: /1 module checked against .*: 1 keep BTF, 0 lose BTF, 0 errors\n$/ },
  { name: 'library: loadBaseBtf, loadBtfFile (.ko.xz), dumpRaw, distill', sh: 'mkdir -p work/lib && node lib-check.mjs', exit: [0],
    files: ['work/lib/dump.txt', 'work/lib/BTF.base', 'work/lib/BTF'],
    golden: { 'work/lib/dump.txt': 'btf/tcp_bbr.bpftool.txt.gz', 'work/lib/BTF.base': 'btf/tcp_bbr.dbase.btf.gz', 'work/lib/BTF': 'btf/tcp_bbr.dsplit.btf.gz' } },
];

// ---- running them on both sides ----------------------------------------------------------

/** Files are read as latin1 strings: one character per byte. */
const sha = (s) => createHash('sha256').update(s, 'latin1').digest('hex');
/** Paths of the node binary are the only thing allowed to differ between the two sides. */
const normalize = (s, execPath) => s.split(execPath).join('<node>');

async function runSide(side, w, c, execPath) {
  const env = { PATH: `${join(w, 'node_modules/.bin')}:${side === 'host' ? `${dirname(process.execPath)}:` : ''}${CLEAN_PATH}`, HOME: '/root', LANG: 'C.UTF-8', OBJCOPY: 'objcopy' };
  const script = `cd ${w} && ${c.sh}`;
  const r = side === 'host'
    ? await $({ nothrow: true, quiet: true, timeout: '180s' })`env -i ${Object.entries(env).map(([k, v]) => `${k}=${v}`)} sh -c ${script}`
    : await inChroot(script, env);
  const base = side === 'host' ? '' : ROOT;
  const files = {};
  for (const f of c.files ?? []) {
    const p = join(base, w, f);
    files[f] = existsSync(p) ? sha(normalize(readFileSync(p, 'latin1'), execPath)) : 'missing';
  }
  return { exit: r.exitCode, stdout: normalize(r.stdout, execPath), stderr: normalize(r.stderr, execPath), files };
}

const HOST = `node ${process.versions.node}`;
let CHROOT = 'node 18';

function firstDifference(a, b) {
  const x = a.split('\n'), y = b.split('\n');
  for (let i = 0; i < Math.max(x.length, y.length); i++) {
    if (x[i] !== y[i]) return `line ${i + 1}: ${HOST}: ${JSON.stringify(x[i] ?? '<end>')}\n       ${CHROOT}: ${JSON.stringify(y[i] ?? '<end>')}`;
  }
  return '';
}

function compare(c, host, n18) {
  const problems = [];
  if (!c.exit.includes(host.exit)) problems.push(`${HOST} exited ${host.exit}, expected ${c.exit.join(' or ')}: ${(host.stderr || host.stdout).trim().split('\n').slice(-3).join(' | ')}`);
  if (n18.exit !== host.exit) problems.push(`exit status: ${HOST} ${host.exit}, ${CHROOT} ${n18.exit}: ${(n18.stderr || n18.stdout).trim().split('\n').slice(-3).join(' | ')}`);
  if (n18.stdout !== host.stdout) problems.push(`stdout differs, ${firstDifference(host.stdout, n18.stdout)}`);
  if (n18.stderr !== host.stderr) problems.push(`stderr differs, ${firstDifference(host.stderr, n18.stderr)}`);
  for (const f of Object.keys(host.files)) {
    if (host.files[f] === 'missing') problems.push(`${f}: not written`);
    else if (n18.files[f] !== host.files[f]) problems.push(`${f}: contents differ (${HOST} ${host.files[f].slice(0, 12)}, ${CHROOT} ${String(n18.files[f]).slice(0, 12)})`);
  }
  for (const [f, rel] of Object.entries(c.golden ?? {})) {
    const want = sha(gunzipSync(readFileSync(join(repo, 'test/fixtures', rel))).toString('latin1'));
    if (host.files[f] !== want) problems.push(`${f} is not test/fixtures/${rel}`);
  }
  if (c.stdout && !c.stdout.test(host.stdout)) problems.push(`stdout does not match ${c.stdout}: ${host.stdout.trim().split('\n').slice(0, 3).join(' | ')}`);
  return problems;
}

let w;
try {
  log(`chroot ${ROOT}`);
  await ensureChroot();
  const v = await inChroot(`dpkg-query -W -f='\${Version}' nodejs && echo && node -p 'process.version + " " + process.execPath'`);
  const [debVersion, nodeLine = ''] = v.stdout.trim().split('\n');
  const [nodeVersion = '?', chrootExecPath = '/usr/bin/node'] = nodeLine.split(' ');
  CHROOT = `node ${nodeVersion.replace(/^v/, '')}`;
  result(v.exitCode === 0 && /^v18\./.test(nodeVersion), `Debian's nodejs in the chroot is Node.js 18 (package ${debVersion}, ${nodeVersion}; host ${process.version})`);

  // The same absolute path on both sides, so that messages naming files agree.
  w = mkdtempSync(join(tmpdir(), 'modbtf-node18-'));
  const deps = await fillWorkspace(w);
  mkdirSync(join(w, 'work'));
  rmSync(join(ROOT, w), { recursive: true, force: true });
  mkdirSync(dirname(join(ROOT, w)), { recursive: true });
  cpSync(w, join(ROOT, w), { recursive: true, verbatimSymlinks: true });
  log(`workspace ${w} (npm package ${pkg.name}@${pkg.version} with its ${deps} dependencies), ${cases.length} commands on each side`);

  for (const c of cases) {
    const host = await runSide('host', w, c, process.execPath);
    const n18 = await runSide('chroot', w, c, chrootExecPath);
    const problems = compare(c, host, n18);
    result(problems.length === 0, `${c.name} (exit ${host.exit})`, problems.join('\n'));
  }
} catch (err) {
  result(false, 'e2e-node18 ran to the end', err instanceof Error ? err.stack ?? err.message : String(err));
} finally {
  await releaseChroot();
  if (w) {
    rmSync(w, { recursive: true, force: true });
    rmSync(join(ROOT, w), { recursive: true, force: true });
  }
}
console.log(`${passed} passed, ${failed} failed`);
process.exitCode = failed > 0 ? 1 : 0;
