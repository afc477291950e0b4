#!/usr/bin/env node
// `modbtf finalize --distill` on Debian's shipped arm64 and s390x (big-endian) modules, against
// the reference tools (issue 12):
//
//   node scripts/cross-shipped.mjs [--count N] [--set NAME[,NAME]] [--jobs J]
//
// Sets (Debian packages, scripts/e2e-lib/cross.mjs):
//   7.2.13-arm64, 7.2.13-s390x       linux-modules-7.2.13+deb14-<arch> (sid), vmlinux of the arch's
//                                    7.2.13 headers; reference: resolve_btfids 7.2.13 --distill_base
//                                    (an amd64 binary reading foreign ELF) on the module's pristine
//                                    .BTF_ids layout, as scripts/corpus-finalize7.mjs does on amd64
//   6.12.107-s390x, 6.12.117-arm64   trixie's linux-image-* (6.12.107 s390x; arm64: 6.12.117, the
//                                    mirror has no 6.12.107 arm64 headers, so no vmlinux of it);
//                                    reference: libbpf 1.7.0's btf__distill_base (libbpf-oracle.c)
// --count N modules with .BTF per set (every k-th of the sorted tree; default 20).
//
// Per module, on copies (the shipped files are never written):
//   A  finalize --distill --strip-signature -b <vmlinux>, no --objcopy, OBJCOPY/LLVM_OBJCOPY unset,
//      the host's PATH (llvm-objcopy, binutils-<triple> installed): .BTF, .BTF.base (and for 7.x
//      .BTF_ids) equal the reference's; sid's bpftool 7.8 reads the result over its .BTF.base and
//      prints what `modbtf dump` prints for it.
//   B  the same on the .ko.xz, PATH holding only the host's x86 objcopy, <triple>-objcopy and xz:
//      succeeds (the ELF's e_machine picks binutils-<triple>'s objcopy), same sections as A.
//   C  the same with only the host's x86 objcopy (and xz): exit 3, a message naming the module's
//      machine and the Debian packages that provide a capable objcopy; the input untouched.
// Prints per set and scenario `N identical` counts; ends `N passed, M failed`; exit 1 on failure.
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { copyFileSync, existsSync, mkdirSync, readFileSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { basename, join, relative } from 'node:path';
import { parseArgs } from 'node:util';
import { ARCHES, CROSS, HOST_CROSS_PACKAGES, ensureCrossSid, ensureHostPackages, ensureCrossTrixie, ensureShipped6, ensureShipped72, k6, k72 } from './e2e-lib/cross.mjs';
import { ensureOracle } from './e2e-lib/oracle.mjs';
import { sidView } from './e2e-lib/kernel7.mjs';
import { CHECKOUT_ID, shq, sidPath, sidSh } from './e2e-lib/sid.mjs';
import { decompress, repo, walkModules } from './lib/corpus.mjs';

const { values } = parseArgs({
  options: {
    count: { type: 'string', default: '20' },
    set: { type: 'string', default: '7.2.13-arm64,7.2.13-s390x,6.12.107-s390x,6.12.117-arm64' },
    jobs: { type: 'string', default: '2' },
  },
});
const t0 = Date.now();
const log = (m) => console.log(`[cross-shipped ${((Date.now() - t0) / 1000).toFixed(1).padStart(6)}s] ${m}`);
let passed = 0, failed = 0;
const check = (ok, what, detail = '') => { if (ok) passed++; else failed++; console.log(`    ${ok ? 'ok  ' : 'FAIL'} ${what}${detail ? `\n         ${detail.split('\n').join('\n         ')}` : ''}`); return ok; };
const sha = (b) => createHash('sha256').update(b).digest('hex');
const summary = [];

const { parseElf } = await import(join(repo, 'dist/lib/elf/index.js'));
const { Btf } = await import(join(repo, 'dist/lib/btf/btf.js'));
const { scanBtfIds, resolveNames, recoverPristine } = await import(join(repo, 'dist/lib/btfids/index.js'));
const { findModuleSignature } = await import(join(repo, 'dist/lib/module/signature.js'));
const CLI = join(repo, 'dist/bundle/main.js');

const SETS = {
  '7.2.13-arm64': { arch: 'arm64', abi: 7 },
  '7.2.13-s390x': { arch: 's390x', abi: 7 },
  '6.12.107-s390x': { arch: 's390x', abi: 6, version: '6.12.107' },
  '6.12.117-arm64': { arch: 'arm64', abi: 6, version: '6.12.117' },
};
const wanted = values.set.split(',');
for (const s of wanted) if (!SETS[s]) throw new Error(`--set ${s}: one of ${Object.keys(SETS).join(', ')}`);

await ensureHostPackages(HOST_CROSS_PACKAGES, log);
await ensureCrossSid({ arches: [...new Set(wanted.map((s) => SETS[s].arch))], log });
if (wanted.some((s) => SETS[s].abi === 6)) await ensureCrossTrixie({ arches: [...new Set(wanted.filter((s) => SETS[s].abi === 6).map((s) => SETS[s].arch))], log });
const ORACLE = wanted.some((s) => SETS[s].abi === 6) ? await ensureOracle(log) : undefined;

const HOST = join(CROSS, `shipped-${CHECKOUT_ID}`);
const W = `/build/cross-shipped-${CHECKOUT_ID}`;
rmSync(HOST, { recursive: true, force: true });
await sidSh(`rm -rf ${W} && mkdir -p ${W}`);

/** A PATH directory holding only the named host tools (symlinks). */
function scratchPath(name, tools) {
  const dir = join(HOST, 'path', name);
  mkdirSync(dir, { recursive: true });
  for (const t of tools) symlinkSync(`/usr/bin/${t}`, join(dir, t));
  return dir;
}
const baseEnv = () => { const e = { ...process.env }; delete e.OBJCOPY; delete e.LLVM_OBJCOPY; return e; };
const finalize = (args, env) => spawnSync(process.execPath, [CLI, 'finalize', '--distill', '--strip-signature', '-j', values.jobs, ...args], { encoding: 'utf8', env, maxBuffer: 1 << 28 });

function btfSections(bytes) {
  const sig = findModuleSignature(bytes);
  const elf = parseElf(sig === undefined ? bytes : bytes.subarray(0, sig.offset));
  const get = (n) => { const s = elf.sectionByName(n); return s ? Buffer.from(elf.sectionData(s)) : undefined; };
  return { elf, BTF: get('.BTF'), 'BTF.base': get('.BTF.base'), BTF_ids: get('.BTF_ids') };
}
const same = (a, b) => (a === undefined && b === undefined) || (a !== undefined && b !== undefined && a.equals(b));
function firstByte(a, b) {
  if (!a || !b) return `${a ? a.length : 'none'} vs ${b ? b.length : 'none'} bytes`;
  let i = 0;
  while (i < a.length && i < b.length && a[i] === b[i]) i++;
  return `first difference at byte ${i} of ${a.length}/${b.length}`;
}

for (const name of wanted) {
  const set = SETS[name];
  const { arch, abi } = set;
  const triple = ARCHES[arch].triple;
  console.log('');
  const k = abi === 7 ? await ensureShipped72(arch, log) : await ensureShipped6(arch, set.version, log);
  const vmlinux = abi === 7 ? k.vmlinux : k6(arch, set.version).vmlinux;
  const all = [...walkModules(k.modules)];
  const n = Number(values.count);
  const step = Math.max(1, Math.floor(all.length / n));
  // Every k-th module, moving on to the next one with .BTF where one has none.
  const picked = [];
  for (let i = 0; i < all.length && picked.length < n; i += step) {
    for (let j = i; j < Math.min(all.length, i + step); j++) {
      const plain = await decompress(all[j]);
      if (btfSections(plain).BTF) { picked.push({ file: all[j], plain }); break; }
    }
  }
  log(`${name}: ${picked.length} of ${all.length} modules of ${k.modules}; vmlinux ${vmlinux}`);
  const H = join(HOST, name);
  for (const d of ['a', 'b', 'c']) mkdirSync(join(H, d), { recursive: true });
  const vm = Btf.parse(btfSections(readFileSync(vmlinux)).BTF);

  // ---- the reference ----
  const refs = []; // per module: { BTF, 'BTF.base', BTF_ids? }
  const S = `${W}/${name}`;
  await sidSh(`mkdir -p ${S}`);
  if (abi === 7) {
    const RB = `${k72(arch).kdir}/tools/bpf/resolve_btfids/resolve_btfids`;
    let bad = 0;
    for (const [i, m] of picked.entries()) {
      const sec = btfSections(m.plain);
      const sig = findModuleSignature(m.plain);
      const elfBytes = new Uint8Array(sig === undefined ? m.plain : m.plain.subarray(0, sig.offset));
      const layout = scanBtfIds(sec.elf, { abi: 7 }).layout;
      const ids = sec.elf.sectionByName('.BTF_ids');
      const pristine = new Uint8Array(elfBytes);
      if (layout !== undefined && ids !== undefined) {
        const p = recoverPristine(layout, resolveNames(layout, Btf.parse(sec.BTF, { base: vm })), sec.elf.sectionData(ids), 7);
        if (p === undefined) bad++;
        else pristine.set(p, ids.offset);
      }
      mkdirSync(sidPath(`${S}/${i}/d`), { recursive: true });
      mkdirSync(sidPath(`${S}/${i}/n`), { recursive: true });
      writeFileSync(sidPath(`${S}/${i}/m.ko`), pristine);
      writeFileSync(sidPath(`${S}/${i}/m.btf`), sec.BTF);
    }
    const r = await sidSh(`for i in ${picked.map((_, i) => i).join(' ')}; do cd ${S}/$i && cp m.ko d/ && cp m.ko n/ && (cd d && ${RB} --distill_base --btf_base ${k.vmlinuxInSid} --btf ../m.btf m.ko) && (cd n && ${RB} --btf_base ${k.vmlinuxInSid} --btf ../m.btf m.ko) || echo "FAILED $i"; done 2>&1`, { nothrow: true });
    const rbFailed = r.stdout.split('\n').filter((l) => l.startsWith('FAILED'));
    let pristineOk = 0;
    for (const [i, m] of picked.entries()) {
      const read = (p) => (existsSync(sidPath(p)) ? readFileSync(sidPath(p)) : undefined);
      const sec = btfSections(m.plain);
      if (same(read(`${S}/${i}/n/m.ko.BTF`), sec.BTF) && same(read(`${S}/${i}/n/m.ko.BTF_ids`), sec.BTF_ids)) pristineOk++;
      refs.push({ BTF: read(`${S}/${i}/d/m.ko.BTF`), 'BTF.base': read(`${S}/${i}/d/m.ko.BTF.base`), BTF_ids: read(`${S}/${i}/d/m.ko.BTF_ids`) });
    }
    check(rbFailed.length === 0 && bad === 0, `${name}: reference: resolve_btfids 7.2.13 --distill_base ran on ${picked.length} modules (pristine .BTF_ids layouts: ${picked.length - bad})`, rbFailed.join(' '));
    check(pristineOk === picked.length, `${name}: reference: resolve_btfids without --distill_base gives the shipped .BTF/.BTF_ids for ${pristineOk}/${picked.length} (the pristine layout is right)`);
  } else {
    const list = picked.map((m, i) => `${i}.ko\t${sidView(m.file, `cross-shipped-${name}-${i}${m.file.endsWith('.xz') ? '.ko.xz' : '.ko'}`)}`).join('\n');
    writeFileSync(sidPath(`${S}/list`), `${list}\n`);
    const vmIn = sidView(vmlinux, `cross-shipped-vmlinux-${name}`);
    const r = await sidSh(`mkdir -p save split && ${ORACLE} --save save --save-split split ${vmIn} ${vmIn} < list`, { cwd: S });
    const rows = r.stdout.trim().split('\n').map((l) => l.split('\t'));
    const errs = rows.filter((x) => x[3] === 'error');
    check(rows.length === picked.length && errs.length === 0, `${name}: reference: libbpf 1.7.0 distilled ${rows.length - errs.length}/${picked.length} modules`, errs.map((x) => x.join(' ')).join('\n'));
    for (const [i] of picked.entries()) {
      const read = (p) => (existsSync(sidPath(p)) ? readFileSync(sidPath(p)) : undefined);
      refs.push({ BTF: read(`${S}/split/${i}.dsplit.btf`), 'BTF.base': read(`${S}/save/${i}.dbase.btf`) });
    }
  }
  const secNames = abi === 7 ? ['BTF', 'BTF.base', 'BTF_ids'] : ['BTF', 'BTF.base'];

  // ---- A: host PATH, nothing named ----
  const inputs = picked.map((m, i) => {
    const a = join(H, 'a', `${i}-${basename(m.file).replace(/\.xz$/, '')}`);
    writeFileSync(a, m.plain);
    const b = join(H, 'b', `${i}-${basename(m.file)}`);
    copyFileSync(m.file, b);
    const c = join(H, 'c', `${i}-${basename(m.file)}`);
    copyFileSync(m.file, c);
    return { a, b, c };
  });
  const ra = finalize(['-b', vmlinux, join(H, 'a')], baseEnv());
  check(ra.status === 0, `${name} A: finalize --distill (host PATH, no --objcopy, OBJCOPY/LLVM_OBJCOPY unset) exits 0 (exit ${ra.status})`, ra.status === 0 ? '' : (ra.stderr || ra.stdout).trim().split('\n').slice(0, 6).join('\n'));
  const compare = (label, files, read) => {
    let identical = 0;
    const diffs = [];
    for (const [i, f] of files.entries()) {
      let got;
      try { got = btfSections(read(f)); } catch (e) { diffs.push(`${relative(k.modules, picked[i].file)}: ${e.message}`); continue; }
      const bad = secNames.filter((s) => !same(got[s], refs[i][s]));
      if (bad.length === 0) identical++;
      else diffs.push(`${relative(k.modules, picked[i].file)}: ${bad.map((s) => `.${s} ${firstByte(got[s], refs[i][s])}`).join(', ')}`);
    }
    check(diffs.length === 0, `${name} ${label}: ${identical}/${files.length} modules with ${secNames.map((s) => `.${s}`).join(', ')} equal to ${abi === 7 ? 'resolve_btfids 7.2.13 --distill_base' : "libbpf 1.7.0's distill"}`, diffs.slice(0, 6).join('\n'));
    return identical;
  };
  const idA = compare('A', inputs.map((x) => x.a), (f) => readFileSync(f));

  // bpftool 7.8 over the result's own .BTF.base, vs modbtf dump of it.
  let bpftoolOk = 0;
  const bdiffs = [];
  for (const [i, x] of inputs.entries()) {
    const inside = sidView(x.a, `cross-shipped-result-${name}-${i}.ko`, sha(readFileSync(x.a)));
    const b = await sidSh(`bpftool btf dump file ${shq(inside)}`, { nothrow: true });
    const ours = spawnSync(process.execPath, [CLI, 'dump', x.a], { encoding: 'utf8', maxBuffer: 1 << 28 });
    if (b.exitCode === 0 && ours.status === 0 && b.stdout === ours.stdout && b.stdout.length > 0) bpftoolOk++;
    else bdiffs.push(`${basename(x.a)}: bpftool exit ${b.exitCode}${b.exitCode ? ` (${b.stderr.trim().split('\n')[0]})` : ''}, modbtf dump exit ${ours.status}, ${b.stdout === ours.stdout ? 'same' : 'different'} text`);
  }
  check(bdiffs.length === 0, `${name} A: bpftool 7.8 \`btf dump file\` reads ${bpftoolOk}/${inputs.length} results over their .BTF.base, as \`modbtf dump\` prints them`, bdiffs.slice(0, 4).join('\n'));

  // ---- B: only x86 objcopy + <triple>-objcopy ----
  const pathB = scratchPath(`${name}-b`, ['objcopy', `${triple}-objcopy`, 'xz']);
  const rb = finalize(['-b', vmlinux, join(H, 'b')], { ...baseEnv(), PATH: pathB });
  check(rb.status === 0, `${name} B: finalize with PATH=${pathB} (objcopy = x86 GNU objcopy, ${triple}-objcopy, xz) exits 0 (exit ${rb.status})`, rb.status === 0 ? '' : (rb.stderr || rb.stdout).trim().split('\n').slice(0, 6).join('\n'));
  const idB = compare('B', inputs.map((x) => x.b), (f) => spawnSync('xz', ['-dc', f], { maxBuffer: 1 << 28 }).stdout);

  // ---- C: only the x86 objcopy ----
  const pathC = scratchPath(`${name}-c`, ['objcopy', 'xz']);
  const before = inputs.map((x) => sha(readFileSync(x.c)));
  const rc = finalize(['-b', vmlinux, join(H, 'c')], { ...baseEnv(), PATH: pathC });
  const msg = `${rc.stderr}${rc.stdout}`.trim();
  check(rc.status === 3, `${name} C: finalize with only the host's x86 objcopy on PATH exits 3 (exit ${rc.status})`, msg.split('\n').slice(0, 4).join('\n'));
  const machineRe = arch === 'arm64' ? /aarch64|AArch64|arm64/ : /s390/i;
  const firstLine = msg.split('\n').find((l) => machineRe.test(l)) ?? msg.split('\n')[0] ?? '';
  check(machineRe.test(msg) && msg.includes(`binutils-${triple}`) && /\bllvm\b/.test(msg), `${name} C: the message names the machine (${ARCHES[arch].machine}) and Debian packages (binutils-${triple}, llvm)`, `message: ${firstLine}`);
  // Decided by the ELF header, not by running an objcopy that cannot read the module (issue 12).
  check(!/Unable to recognise|File format not recognized/i.test(msg), `${name} C: decided from the ELF header: no objcopy was run on the module (no "Unable to recognise the format" in the output)`);
  const untouched = inputs.every((x, i) => sha(readFileSync(x.c)) === before[i]);
  const leftovers = readdirSync(join(H, 'c')).filter((f) => !inputs.some((x) => basename(x.c) === f));
  check(untouched && leftovers.length === 0, `${name} C: every input untouched (sha256), no file left beside them`, leftovers.join(' '));
  summary.push({ name, n: picked.length, idA, idB, c: rc.status, message: firstLine });
}

console.log('\nsummary:');
for (const s of summary) console.log(`  ${s.name.padEnd(16)} ${s.n} modules: A (host PATH) ${s.idA}/${s.n} identical, B (<triple>-objcopy only) ${s.idB}/${s.n} identical, C (x86 objcopy only) exit ${s.c}: ${s.message}`);
rmSync(HOST, { recursive: true, force: true });
await sidSh(`rm -rf ${W} /var/lib/modbtf-host/cross-shipped-*`);
console.log(`total time ${((Date.now() - t0) / 1000).toFixed(1)} s`);
console.log(`${passed} passed, ${failed} failed`);
process.exitCode = failed > 0 ? 1 : 0;
