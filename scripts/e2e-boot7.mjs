#!/usr/bin/env zx
// Kernel 7.x boot test (issues 11, 17): is the fixture's BTF usable on a 7.x pipeline?
//
//   npx zx scripts/e2e-boot7.mjs [--kernel K] [--recipes all|lean|ID,...] [--no-boot] [--strict] [--only <text>] [--list]
//
//   --kernel   7.2.13 (default; sid), 7.3-rc7 (experimental), or a tree the archive offers,
//              <sid|experimental>:linux-headers-<abi>-amd64=<version> (scripts/e2e-lib/kernels.mjs)
//   --recipes  7.2.13's default is every recipe made for it; other kernels' default, `lean`, is
//              the plain build twice, forms a-e, and the copy of the tree that says it is 7.4.0
//
// In the Debian sid chroot (scripts/e2e-lib/sid.mjs) the fixture test/e2e/fixture is built
// against Debian's headers of that kernel (installed in the chroot from the pinned .debs) by its
// plain kbuild (the control: gen-btf.sh, pahole 1.32, resolve_btfids --distill_base; its
// KF_IMPLICIT_ARGS kfuncs rewritten by resolve_btfids' btf2btf; since 7.3 resolve_btfids also
// writes the bpf_kfunc decl tags and dedups) and by each modbtf recipe
// (scripts/e2e-lib/boot7.mjs), all in the same module directory. Debian's kernel of that
// release (linux-binary-<kver>) is booted in qemu with the busybox initramfs of the 6.12 boot
// test (test/e2e/guest/init); the guest loads the module and checks that
// /sys/kernel/btf/modbtf_e2e exists and that BPF programs calling its kfuncs are accepted and
// return the values the module computes (test/e2e/guest/loader.c), including the
// implicit-argument kfuncs, called without their `struct bpf_prog_aux *`. On the host, sid's
// bpftool reads the copied-out module BTF over the vmlinux BTF the guest runs (the headers'
// vmlinux .BTF, checked equal to the guest's by sha256), and shows the btf2btf rewrite (public
// FUNC without the implicit argument, <name>_impl with it) and, on 7.3 and later, a
// DECL_TAG 'bpf_kfunc' for each kfunc of the set.
//
// A modbtf recipe passes when its module is byte-identical to the plain build of the same
// source in the same directory, its build log has no `modbtf: warning:` (a fallback would give
// the control's bytes without modbtf), and it boots like the control. On a tree newer than
// every profile modbtf knows (kernels.mjs NEWEST_PROFILE; here: a copy of the tree made to say
// 7.4.0, or a newer tree from the archive) each modbtf form must give exactly the tree's own
// step with one warning naming the tree's version, and MODBTF_STRICT=1 must fail the build
// leaving nothing of a BTF step behind. Without --strict a failing modbtf recipe is reported as
// "not yet" and does not fail the run; with --strict it fails. The controls (plain build, its
// reproducibility, its boot) fail the run either way. A module byte-identical to one already
// booted is not booted again (same bytes, same boot). A module built against 7.2.13 cannot be
// loaded into 7.3-rc7 at all ("Invalid relocation target", spec/KERNEL7.md): there is no
// cross-version boot for 7.x.
//
// Needs root, a built dist/ (npm run build), the sid chroot (made on first use, about a
// minute, plus packages). Logs: $MODBTF_CACHE/e2e7-<checkout>-<kernel>/run/<case>/{console,results}.log;
// build logs in the chroot's /build/boot7-<checkout>-<kernel>/out/<recipe>.log. MODBTF_E2E_ACCEL=tcg|kvm
// skips the KVM probe. Ends with `N passed, M failed`; exit 1 on any failure.
import { createHash } from 'node:crypto';
import { copyFileSync, existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { $, argv } from 'zx';
import { boot, chooseAccel } from './e2e-lib/guest.mjs';
import { FIXTURE_NAME, boot7For, buildLog, cmpFiles, ensureHostTools, fileSha } from './e2e-lib/boot7.mjs';
import { PINNED7, ensureTree7, kernelOf } from './e2e-lib/kernels.mjs';
import { SID_TOOLS, copyIn, copyModbtfIn, ensureSid, sidPath, sidSh } from './e2e-lib/sid.mjs';

$.verbose = false;
$.quiet = true;
const STRICT = Boolean(argv.strict);
const ONLY = argv.only ? String(argv.only) : null;
const K = kernelOf(argv.kernel ? String(argv.kernel) : '7.2.13');
const BOOT = argv.boot !== false;
const { E2E7, W, recipes, bootKernel } = boot7For(K);
const REPO = new URL('..', import.meta.url).pathname.replace(/\/$/, '');
const RUN_DIR = join(E2E7, 'run');
const WORK_DIR = join(E2E7, 'work');
// Since 7.3, resolve_btfids writes a `bpf_kfunc` decl tag for each kfunc of a BTF_SET8_KFUNCS
// set itself (pahole is no longer asked to): the guest's module BTF must have them.
const DECL_TAGS = K.release.major > 7 || (K.release.major === 7 && K.release.minor >= 3);
/**
 * The fixture's BTF_KFUNCS set (test/e2e/fixture/modbtf_e2e.c, its BTF_ID_FLAGS lines): each has
 * its bpf_kfunc tag (7.3+); modbtf_e2e_implicit_impl, the FUNC resolve_btfids adds for the
 * KF_IMPLICIT_ARGS kfunc, is no member and has none.
 */
const TAGGED_KFUNCS = ['modbtf_e2e_answer', 'modbtf_e2e_acquire', 'modbtf_e2e_value', 'modbtf_e2e_release',
  'modbtf_e2e_implicit', 'modbtf_e2e_implicit_legacy', 'modbtf_e2e_implicit_legacy_impl'];
const BOOT_TIMEOUT = { kvm: 60, tcg: 240 };

// What the fixture's BPF programs return on 7.x (test/e2e/fixture/modbtf_e2e.c, computed by
// the module in the guest), and the programs the verifier must refuse, with its message.
const PROGRAMS = {
  answer: 1042, 'acquire-release': 42,
  implicit: 2021, 'implicit-legacy': 3111, 'implicit-legacy-impl': 4112,
};
const REFUSED = {
  // The FUNC resolve_btfids added has no symbol: the verifier finds its id, then no address
  // (as test_kfunc_implicit_arg_impl_illegal of the kernel's selftests).
  'implicit-impl': 'cannot find address for kernel function modbtf_e2e_implicit_impl',
};
const KFUNCS = [
  'modbtf_e2e_answer', 'modbtf_e2e_acquire', 'modbtf_e2e_value', 'modbtf_e2e_release',
  'modbtf_e2e_implicit', 'modbtf_e2e_implicit_impl', 'modbtf_e2e_implicit_legacy', 'modbtf_e2e_implicit_legacy_impl',
];
// KF_IMPLICIT_ARGS rewrite (resolve_btfids btf2btf): the parameters each FUNC's prototype has.
const PROTOS = {
  modbtf_e2e_implicit: ['a'],
  modbtf_e2e_implicit_impl: ['a', 'aux'],
  modbtf_e2e_implicit_legacy: ['a', 'b'],
  modbtf_e2e_implicit_legacy_impl: ['a', 'b', 'aux'],
};
const LOG_MUST = [/modbtf_e2e: register_btf_kfunc_id_set\(SYSCALL\) = 0/];
const LOG_MUST_NOT = [/Invalid name_offset/, /BTF mismatch/, /missing module BTF/, /is not mapped to base BTF id/];

const t0 = Date.now();
const log = (msg) => console.log(`[e2e-boot7 ${((Date.now() - t0) / 1000).toFixed(1).padStart(6)}s] ${msg}`);
const sha256 = (buf) => createHash('sha256').update(buf).digest('hex');

function checker() {
  const checks = [];
  const check = (ok, what) => { checks.push({ ok, what }); console.log(`    ${ok ? 'ok  ' : 'FAIL'} ${what}`); return ok; };
  return { checks, check };
}

/** bpftool 7.8 (sid) dump of a chroot file over a chroot base BTF, parsed: FUNC name -> { id, params }. */
async function bpftoolFuncs(file, base) {
  const r = await sidSh(`bpftool btf dump file ${file} -B ${base}`, { nothrow: true });
  const types = new Map(); // id -> { kind, name, line, members: [names] }
  let cur = null;
  for (const line of r.stdout.split('\n')) {
    const m = /^\[(\d+)\] (\w+) '([^']*)'(.*)$/.exec(line);
    if (m) { cur = { id: Number(m[1]), kind: m[2], name: m[3], rest: m[4], members: [] }; types.set(cur.id, cur); continue; }
    const p = /^\t'([^']*)' /.exec(line);
    if (p && cur) cur.members.push(p[1]);
  }
  // DECL_TAG 'bpf_kfunc' type_id=N component_idx=-1: the FUNCs so tagged, by name.
  const tagged = new Set([...types.values()].filter((t) => t.kind === 'DECL_TAG' && t.name === 'bpf_kfunc' && /\bcomponent_idx=-1\b/.test(t.rest))
    .map((t) => types.get(Number(/type_id=(\d+)/.exec(t.rest)?.[1]))).filter((f) => f?.kind === 'FUNC').map((f) => f.name));
  const funcs = new Map();
  for (const t of types.values()) {
    if (t.kind !== 'FUNC') continue;
    const proto = types.get(Number(/type_id=(\d+)/.exec(t.rest)?.[1]));
    funcs.set(t.name, { id: t.id, params: proto?.kind === 'FUNC_PROTO' ? proto.members : null });
  }
  const structs = new Map([...types.values()].filter((t) => t.kind === 'STRUCT').map((t) => [t.name, t.id]));
  return { ok: r.exitCode === 0, stderr: r.stderr.trim(), funcs, structs, tagged };
}

/** Boots `ko` on 7.2.13 and checks what the control must show. Returns the checks. */
async function bootChecks(name, koInside, kernel, accel, vmlinuxBtf) {
  const { checks, check } = checker();
  const dir = join(WORK_DIR, name);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const ko = join(dir, `${FIXTURE_NAME}.ko`);
  copyFileSync(sidPath(koInside), ko);
  const steps = [`load ${FIXTURE_NAME}.ko`, `btf ${FIXTURE_NAME}`];
  for (const p of [...Object.keys(PROGRAMS), ...Object.keys(REFUSED)]) steps.push(`kfunc ${FIXTURE_NAME} ${p}`);
  steps.push('vmlinux-sha');
  const g = await boot({ name, kernel, steps, files: [ko], accel, outDir: RUN_DIR, timeoutSec: BOOT_TIMEOUT[accel] });
  console.log(`    booted ${kernel.kver} (${accel}) in ${g.secs.toFixed(1)} s; logs: ${g.dir}/{console,results}.log`);
  if (!check(g.ended && g.kernelRelease === kernel.kver, `guest ran all steps on ${g.kernelRelease ?? '(no result)'}`)) {
    if (g.qemuStderr) console.log(`    qemu: ${g.qemuStderr}`);
    return checks;
  }
  const mark = g.dmesg.findIndex((l) => l.includes('modbtf-e2e: steps begin'));
  const klog = g.dmesg.slice(mark + 1);
  console.log('    kernel log:');
  for (const l of klog) console.log(`      | ${l}`);
  for (const l of g.lines.filter((x) => !x.startsWith('KFUNCID') && !x.startsWith('BTFOBJ') && !x.startsWith('verifier:'))) console.log(`    guest: ${l}`);

  check(g.lines.some((l) => l.startsWith(`LOAD /e2e/${FIXTURE_NAME}.ko OK`)), 'module loaded');
  const present = g.lines.some((l) => l.startsWith(`BTF ${FIXTURE_NAME} present`));
  check(present, `/sys/kernel/btf/${FIXTURE_NAME} present`);
  for (const [p, want] of Object.entries(PROGRAMS)) {
    const line = g.lines.find((l) => l.startsWith(`KFUNC ${FIXTURE_NAME} ${p} `)) ?? '(no result)';
    check(line.endsWith(`OK retval=${want}`), `BPF program "${p}" accepted, returns ${want}: ${line}`);
  }
  for (const [p, msg] of Object.entries(REFUSED)) {
    const at = g.lines.findIndex((l) => l.startsWith(`KFUNC ${FIXTURE_NAME} ${p} `));
    const line = g.lines[at] ?? '(no result)';
    const vlog = [];
    for (let i = at + 1; at >= 0 && i < g.lines.length && g.lines[i].startsWith('verifier:'); i++) vlog.push(g.lines[i]);
    const hit = vlog.find((l) => l.includes(msg));
    check(line.includes('FAIL verifier rejected') && Boolean(hit), `BPF program "${p}" refused by the verifier with "${msg}": ${line}${hit ? '' : ` / ${vlog.join(' / ')}`}`);
  }
  for (const re of LOG_MUST) {
    const hit = klog.find((l) => re.test(l));
    check(Boolean(hit), `kernel log has ${re}${hit ? `: ${hit.replace(/^\[[^\]]*\]\s*/, '')}` : ''}`);
  }
  for (const re of LOG_MUST_NOT) check(!klog.some((l) => re.test(l)), `kernel log has no ${re}`);
  const guestVmlinux = g.lines.find((l) => l.startsWith('VMLINUX-SHA '))?.slice(12);
  check(guestVmlinux === vmlinuxBtf.sha, `guest /sys/kernel/btf/vmlinux == .BTF of the headers' vmlinux (sha256 ${guestVmlinux?.slice(0, 16)}...)`);

  // The copied-out module BTF, read by sid's bpftool over that vmlinux BTF.
  const btfFile = join(g.dir, `${FIXTURE_NAME}.btf`);
  if (!present || !existsSync(btfFile)) return checks;
  const inside = copyIn(btfFile, `${W}/run/${name}/${FIXTURE_NAME}.btf`);
  const d = await bpftoolFuncs(inside, vmlinuxBtf.inside);
  check(d.ok, `bpftool 7.8 -B <${K.short} vmlinux BTF> btf dump file <guest ${FIXTURE_NAME} BTF> reads it (${readFileSync(btfFile).length} bytes)${d.ok ? '' : `: ${d.stderr}`}`);
  const obj = d.structs.get('modbtf_e2e_obj');
  check(obj !== undefined, `bpftool shows STRUCT 'modbtf_e2e_obj'${obj ? ` [${obj}]` : ''}`);
  const guestIds = new Map(g.lines.filter((l) => l.startsWith(`KFUNCID ${FIXTURE_NAME} `)).map((l) => l.split(' ').slice(2, 4)));
  for (const f of KFUNCS) {
    const id = d.funcs.get(f)?.id;
    check(id !== undefined && String(id) === guestIds.get(f), `bpftool shows FUNC '${f}' [${id}], the id the guest called it by (${guestIds.get(f)})`);
  }
  for (const [f, want] of Object.entries(PROTOS)) {
    const got = d.funcs.get(f)?.params;
    check(got?.join(',') === want.join(','), `FUNC '${f}' has the prototype (${want.join(', ')}) (bpftool: ${got ? `(${got.join(', ')})` : 'none'})`);
  }
  if (DECL_TAGS) {
    const tags = [...d.tagged].sort();
    const missing = TAGGED_KFUNCS.filter((f) => !d.tagged.has(f));
    const extra = tags.filter((f) => !TAGGED_KFUNCS.includes(f));
    check(missing.length === 0 && extra.length === 0, `the guest's ${FIXTURE_NAME} BTF has a DECL_TAG 'bpf_kfunc' for each of the ${TAGGED_KFUNCS.length} kfuncs of the set, on no other FUNC (${tags.length}: ${tags.join(' ')})${missing.length ? `; missing: ${missing.join(' ')}` : ''}${extra.length ? `; also on: ${extra.join(' ')}` : ''}`);
    // And the modbtf modules carry the same tags as the control's (the tree's resolve_btfids).
    if (controlTags === null) controlTags = tags.join(' ');
    else check(tags.join(' ') === controlTags, `the same bpf_kfunc tags as the control's guest BTF (${controlTags})`);
  }
  return checks;
}

// ---- main ------------------------------------------------------------------------------
let controlTags = null; // the bpf_kfunc tags of the control's guest BTF (7.3+)
const all = recipes();
// --recipes all | lean | id,id,...; default: 7.2.13's list (every recipe made for it), on other
// kernels the lean list (the forms, the NEWER copy: what CI runs there).
const wantRecipes = argv.recipes ? String(argv.recipes) : K === PINNED7['7.2.13'] ? 'classic' : 'lean';
const inList = (r) => wantRecipes === 'all' || (wantRecipes === 'classic' && !r.newerCopy) || (wantRecipes === 'lean' && r.lean) || wantRecipes.split(',').includes(r.id);
const selected = all.filter((r) => inList(r) && (!ONLY || !r.modbtf || r.id.includes(ONLY)));
if (argv.list) { for (const r of selected) console.log(`${r.id}\t${r.modbtf ? 'modbtf' : 'control'}\t${r.skip ? `(skipped: ${r.skip}) ` : ''}${r.label}`); process.exit(0); }
if (!existsSync(join(REPO, 'dist/bundle/main.js'))) { console.error('dist/bundle/main.js missing: run npm run build first'); process.exit(2); }

log(`setup: host tools, sid chroot, the ${K.short} tree (${K.kdir()})${BOOT ? ` and kernel image` : ''}`);
await ensureHostTools(log);
await ensureSid(SID_TOOLS, log);
await ensureTree7(K, log);
copyModbtfIn(REPO);
const kernel = BOOT ? await bootKernel() : { vmlinuxInside: `${K.kdir()}/vmlinux` };
for (const d of [RUN_DIR, WORK_DIR]) rmSync(d, { recursive: true, force: true });
mkdirSync(RUN_DIR, { recursive: true });
await sidSh(`rm -rf ${W} && mkdir -p ${W}`);
await sidSh(`objcopy -O binary --only-section=.BTF ${kernel.vmlinuxInside} ${W}/vmlinux.btf`);
const vmlinuxBtf = { inside: `${W}/vmlinux.btf`, sha: sha256(readFileSync(sidPath(`${W}/vmlinux.btf`))) };
log(`host tools in the chroot: ${(await sidSh('bpftool version | head -1; pahole --version')).stdout.trim().replace(/\n/g, ', ')}`);
const { accel, why } = BOOT ? await chooseAccel(kernel, RUN_DIR) : { accel: null, why: 'no boot (--no-boot)' };
log(`qemu accelerator: ${accel ?? 'none'} (${why})`);

const results = [];
const booted = new Map(); // sha256 of a booted module -> { id, ok }
let controlSha = null;
for (const r of selected) {
  const t = Date.now();
  console.log('');
  log(`RECIPE ${r.id}: ${r.label}`);
  if (r.skip) {
    results.push({ r, status: 'skipped', secs: 0, sha: null, first: r.skip });
    log(`SKIPPED ${r.id}: ${r.skip}`);
    continue;
  }
  const { checks, check } = checker();
  let built = null, controlFailed = false;
  try {
    built = await r.make();
    console.log(`    made ${built.ko} in ${((Date.now() - t) / 1000).toFixed(1)} s`);
  } catch (e) {
    controlFailed = Boolean(e.control);
    check(false, `module built: ${e.message.split('\n').join('\n        ')}`);
  }
  let sha = null;
  const logChecks = (text) => {
    for (const re of built.logMust ?? []) check(re.test(text), `build log has ${re}`);
    if (built.warnings !== undefined) {
      const n = text.split('\n').filter((l) => l.startsWith('modbtf: warning:')).length;
      check(n === built.warnings, `build log has ${built.warnings} "modbtf: warning:" line(s) (has ${n})`);
    }
  };
  // A modbtf form whose recipe expects no warning must have none: a fallback to the tree's own
  // step (one warning) gives the control's bytes without modbtf having done its part.
  if (built && r.modbtf && !built.failed && built.warnings === undefined) built.warnings = 0;
  if (built?.failed) {
    check(true, 'the build failed, as it must');
    logChecks(built.log);
    if (built.left) check(built.left.length === 0, `nothing of a BTF step left in the module directory${built.left.length ? `: ${built.left.join(' ')}` : ' (no .ko, no *.BTF*, no modbtf record)'}`);
    built = null;
  }
  if (built) {
    sha = await fileSha(built.ko);
    const sections = (await sidSh(`readelf -SW ${built.ko}`)).stdout;
    const log = buildLog(built.ko);
    if (built.sections === 'none') {
      check(!/\s\.BTF\s/.test(sections) && !/\s\.BTF\.base\s/.test(sections), 'module has no .BTF and no .BTF.base (the tree skips BTF without vmlinux)');
    } else {
      const both = /\s\.BTF\s/.test(sections) && /\s\.BTF\.base\s/.test(sections);
      // What modbtf said in the build, when the sections are missing.
      const said = both ? null : log.split('\n').find((l) => l.startsWith('modbtf'));
      check(both, `module has .BTF and .BTF.base${said ? ` (build log: ${said})` : ''}`);
    }
    logChecks(log);
    if (built.ref) {
      const diff = await cmpFiles(built.ko, built.ref);
      check(diff === null, `byte-identical to ${built.ref} (plain ${K.short} kbuild, same source, same directory)${diff === null ? '' : `: ${diff}`}`);
    }
    if (r.id === 'plain') controlSha = sha;
  }
  if (built && r.boot && BOOT) {
    const prior = booted.get(sha);
    if (prior) {
      check(prior.ok, `same bytes as ${prior.id}'s module, which booted ${prior.ok ? 'like the control' : 'with failures'}: not booted again`);
    } else {
      const bc = await bootChecks(r.id, built.ko, kernel, accel, vmlinuxBtf);
      checks.push(...bc);
      booted.set(sha, { id: r.id, ok: bc.every((c) => c.ok) });
    }
  }
  const ok = checks.every((c) => c.ok);
  const status = ok ? 'pass' : r.modbtf && !STRICT && !controlFailed ? 'not-yet' : 'fail';
  const secs = (Date.now() - t) / 1000;
  results.push({ r, status, secs, sha, first: checks.find((c) => !c.ok)?.what.split('\n')[0] });
  log(`${{ pass: 'PASS', fail: 'FAIL', 'not-yet': 'NOT YET' }[status]} ${r.id} (${secs.toFixed(1)} s)`);
}

console.log('\nsummary:');
for (const { r, status, secs, sha, first } of results) {
  const tag = { pass: 'PASS   ', fail: 'FAIL   ', 'not-yet': 'NOT YET', skipped: 'SKIPPED' }[status];
  const same = sha && sha === controlSha && r.id !== 'plain' ? ' [= control]' : '';
  console.log(`  ${tag}  ${r.id.padEnd(16)} ${secs.toFixed(1).padStart(6)} s  ${r.label}${same}${first ? `\n             ${status === 'skipped' ? 'why' : 'first failure'}: ${first}` : ''}`);
}
const passed = results.filter((x) => x.status === 'pass').length;
const failed = results.filter((x) => x.status === 'fail').length;
const notYet = results.filter((x) => x.status === 'not-yet').length;
if (notYet) console.log(`${notYet} modbtf recipe(s) not yet byte-identical to ${K.short} kbuild or not booting like it (--strict makes these failures)`);
console.log(`total time ${((Date.now() - t0) / 1000).toFixed(1)} s`);
console.log(`${passed} passed, ${failed} failed`);
process.exitCode = failed > 0 ? 1 : 0;
