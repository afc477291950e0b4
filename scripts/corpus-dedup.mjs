#!/usr/bin/env node
// `modbtf dedup` against libbpf's btf__dedup(), both behaviours, over whole sets of real inputs:
// every input goes through scripts/oracle/dedup-oracle.c linked with Debian's libbpf 1.7.0 and
// with the kernel 7.3 tree's libbpf (scripts/e2e-lib/dedup-oracle.mjs), and through modbtf's
// lib/dedup (dist/lib) in this process; the raw outputs must be byte-identical (or both fail).
//
//   node scripts/corpus-dedup.mjs --set NAME [--count N] [--jobs N] [--keep DIR] [--show N]
//
// Sets (each needs root: the sid chroot):
//   shipped72   the .BTF of every module of Debian's linux-modules-7.2.13+deb14-amd64, over the
//               7.2.13 vmlinux (already deduplicated by pahole with libbpf 1.7.0: 1.7.0 must leave
//               it as it is; the fixed libbpf merges the base typedef copies)
//   pahole73    pahole 1.32's --btf_encode_detached output, with the 7.3 tree's flags, of every
//               module of experimental's linux-image-7.3-cloud-amd64-dbg, over the cloud kernel's
//               vmlinux (linux-headers-7.3-cloud-amd64): what 7.3's resolve_btfids deduplicates
//   appended72  pairs of 7.2.13 modules, the second's .BTF appended to the first's with libbpf's
//               btf__add_btf (dedup-oracle --append): split BTF full of duplicates for both
//   s390x72     the .BTF of Debian's 7.2.13 s390x modules (big-endian) over their vmlinux
//               (linux-modules-7.2.13+deb14-s390x, fetched as scripts/e2e-lib/cross.mjs does)
//
// --count N takes every k-th input so that N remain (default: all); --keep DIR copies inputs and
// both references of the differing ones there. Prints per behaviour: identical, different, both
// failed the same way, failed on one side only; exit 1 on any difference.
import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync, copyFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join, relative } from 'node:path';
import { parseArgs } from 'node:util';
import { $ } from 'zx';

import { ensureDedupOracles } from './e2e-lib/dedup-oracle.mjs';
import { ensureKernel7, experimentalDownload, kernel72, VERSION73, sidView } from './e2e-lib/kernel7.mjs';
import { ensureCrossSid, ensureShipped72 } from './e2e-lib/cross.mjs';
import { shq, sidPath, sidSh } from './e2e-lib/sid.mjs';
import { decompress, eachConcurrently, repo, walkModules } from './lib/corpus.mjs';

const { values } = parseArgs({
  options: {
    set: { type: 'string' },
    count: { type: 'string' },
    jobs: { type: 'string', default: String(Math.max(1, availableParallelism())) },
    keep: { type: 'string' },
    show: { type: 'string', default: '10' },
  },
});
$.verbose = false;
const CACHE = process.env.MODBTF_CACHE ?? '/var/cache/modbtf';
const jobs = Number(values.jobs);
const log = (m) => console.log(`[corpus-dedup] ${m}`);
const t0 = Date.now();
const { Btf } = await import(join(repo, 'dist/lib/btf/btf.js'));
const { parseElf } = await import(join(repo, 'dist/lib/elf/index.js'));
const { dedupBtf, DEDUP_BEHAVIOURS } = await import(join(repo, 'dist/lib/dedup/index.js'));

/** The .BTF section of an ELF file's bytes. */
function btfSection(bytes, file) {
  const elf = parseElf(new Uint8Array(bytes), { file });
  const sec = elf.sectionByName('.BTF');
  if (!sec) throw new Error(`${file}: no .BTF section`);
  return new Uint8Array(elf.sectionData(sec));
}

function sample(list) {
  if (values.count === undefined) return list;
  const n = Math.max(1, Number(values.count));
  if (list.length <= n) return list;
  const step = list.length / n;
  return Array.from({ length: n }, (_, i) => list[Math.floor(i * step)]);
}

// ---- the sets: each gives { base: host path of the base ELF, inputs: [{ name, file (host) }] } ----

const WORK = `/var/lib/modbtf-host/dedup-${values.set}`;
const host = (p) => sidPath(join(WORK, p));

/** Runs shell lines in the chroot, `jobs` scripts at once, each taking every jobs-th line (a script file: argv has a size limit). */
async function inLanes(name, lines) {
  await Promise.all(Array.from({ length: jobs }, async (_, l) => {
    const mine = lines.filter((_, i) => i % jobs === l);
    if (mine.length === 0) return;
    writeFileSync(host(`${name}-${l}.sh`), `${mine.join('\n')}\n`);
    await sidSh(`sh ${WORK}/${name}-${l}.sh`);
  }));
}

async function shipped(tree, baseVmlinux) {
  const files = sample([...walkModules(tree)]);
  mkdirSync(host('in'), { recursive: true });
  const inputs = [];
  await eachConcurrently(files.map((f, i) => [f, i]), jobs, async ([file, i]) => {
    const btf = btfSection(await decompress(file), file);
    writeFileSync(host(`in/${i}.btf`), btf);
    inputs[i] = { name: relative(tree, file), file: host(`in/${i}.btf`) };
  });
  return { base: baseVmlinux, inputs };
}

async function pahole73() {
  const dbgDeb = await experimentalDownload(`linux-image-7.3-cloud-amd64-dbg=${VERSION73}`, log);
  const hdrDeb = await experimentalDownload(`linux-headers-7.3-cloud-amd64=${VERSION73}`, log);
  const root = join(CACHE, 'dbg73');
  mkdirSync(root, { recursive: true });
  for (const deb of [dbgDeb, hdrDeb]) {
    const stamp = join(root, `.${deb.split('/').pop()}.unpacked`);
    if (existsSync(stamp)) continue;
    log(`unpack ${deb.split('/').pop()} into ${root}`);
    await $`dpkg-deb -x ${deb} ${root}`;
    writeFileSync(stamp, `${new Date().toISOString()}\n`);
  }
  const tree = join(root, 'usr/lib/debug/lib/modules/7.3-cloud-amd64/kernel');
  const vmlinux = join(root, 'usr/src/linux-headers-7.3-cloud-amd64/vmlinux');
  const files = sample([...walkModules(tree, /\.ko$/)]);
  // pahole in the chroot, with what the 7.3 tree's Makefile.btf passes pahole 1.32 (make -j1).
  const flags = '-j1 --btf_features=encode_force,var,float,enum64,decl_tag,type_tag,optimized_func,consistent_func --btf_features=layout -j1 --lang_exclude=rust';
  const view = sidView(tree, 'dbg73-modules');
  const vmView = sidView(vmlinux, 'dbg73-vmlinux');
  mkdirSync(host('in'), { recursive: true });
  const rel = files.map((f) => relative(tree, f));
  log(`pahole 1.32 ${flags} on ${files.length} modules`);
  await inLanes('pahole', rel.map((r, i) => `pahole -J ${flags} --btf_base ${vmView} --btf_encode_detached=${WORK}/in/${i}.btf ${shq(`${view}/${r}`)} >/dev/null 2>&1 || echo ${shq(`pahole failed on ${r}`)} >&2`));
  const inputs = [];
  files.forEach((_, i) => { if (existsSync(host(`in/${i}.btf`))) inputs.push({ name: rel[i], file: host(`in/${i}.btf`) }); });
  return { base: vmlinux, inputs };
}

async function appended72(oracles) {
  await ensureKernel7({ log });
  const tree = join(kernel72.modules, 'kernel');
  const all = [...walkModules(tree)];
  // Pairs of neighbours in the tree (related modules share types), sampled.
  const pairs = sample(all.slice(0, -1).map((f, i) => [f, all[i + 1]]).filter((_, i) => i % 2 === 0));
  mkdirSync(host('parts'), { recursive: true });
  mkdirSync(host('in'), { recursive: true });
  const inputs = [];
  await eachConcurrently(pairs.map((p, i) => [p, i]), jobs, async ([[a, b], i]) => {
    writeFileSync(host(`parts/${i}.a.btf`), btfSection(await decompress(a), a));
    writeFileSync(host(`parts/${i}.b.btf`), btfSection(await decompress(b), b));
  });
  await inLanes('append', pairs.map((_, i) => `${oracles.fixed} --append ${kernel72.vmlinuxInSid} ${WORK}/parts/${i}.a.btf ${WORK}/parts/${i}.b.btf ${WORK}/in/${i}.btf || exit 1`));
  pairs.forEach(([a, b], i) => inputs.push({ name: `${relative(tree, a)} + ${relative(tree, b)}`, file: host(`in/${i}.btf`) }));
  return { base: kernel72.vmlinux, inputs };
}

async function s390x72() {
  await ensureCrossSid({ arches: ['s390x'], log });
  const k = await ensureShipped72('s390x', log);
  return shipped(k.modules, k.vmlinux);
}

// ---- run ------------------------------------------------------------------------------------

if (process.getuid?.() !== 0) throw new Error('corpus-dedup needs root (the sid chroot)');
const oracles = await ensureDedupOracles(log);
rmSync(sidPath(WORK), { recursive: true, force: true });
let set;
switch (values.set) {
  case 'shipped72': await ensureKernel7({ log }); set = await shipped(join(kernel72.modules, 'kernel'), kernel72.vmlinux); break;
  case 'pahole73': set = await pahole73(); break;
  case 'appended72': set = await appended72(oracles); break;
  case 's390x72': set = await s390x72(); break;
  default: throw new Error(`--set shipped72|pahole73|appended72|s390x72 (got ${values.set})`);
}
const { inputs } = set;
log(`${inputs.length} inputs; references: libbpf 1.7.0 (sid's libbpf.a), fixed (${oracles.libbpf73})`);
const baseInSid = sidView(set.base, `dedup-base-${values.set}`);

// The references, one batch process per lane and behaviour.
const status = {};
for (const b of DEDUP_BEHAVIOURS) {
  mkdirSync(host(`out-${b}`), { recursive: true });
  const lanes = Array.from({ length: jobs }, (_, l) => inputs.map((_, i) => i).filter((i) => i % jobs === l));
  status[b] = new Array(inputs.length);
  await Promise.all(lanes.map(async (list) => {
    if (list.length === 0) return;
    const listFile = `${WORK}/list-${b}-${list[0]}`;
    writeFileSync(sidPath(listFile), list.map((i) => `${WORK}/in/${i}.btf\t${WORK}/out-${b}/${i}.btf\n`).join(''));
    const r = await sidSh(`${oracles[b]} --batch ${baseInSid} < ${listFile}`);
    r.stdout.trim().split('\n').forEach((line, k) => { status[b][list[k]] = line; });
  }));
  log(`libbpf ${b} done`);
}

// Ours, in this process (vmlinux parsed once).
const baseElf = parseElf(new Uint8Array(readFileSync(set.base)), { file: set.base });
const base = Btf.parse(baseElf.sectionData(baseElf.sectionByName('.BTF')), { file: set.base });
const counts = Object.fromEntries(DEDUP_BEHAVIOURS.map((b) => [b, { identical: 0, different: 0, bothFailed: 0, oneFailed: 0, merged: 0 }]));
const shown = [];
const timings = [];
for (let i = 0; i < inputs.length; i++) {
  const input = new Uint8Array(readFileSync(inputs[i].file));
  for (const b of DEDUP_BEHAVIOURS) {
    const c = counts[b];
    let ours;
    let err;
    const t = performance.now();
    try {
      ours = dedupBtf(Btf.parse(input, { base, file: inputs[i].name }), { behaviour: b }).bytes;
    } catch (e) {
      err = e;
    }
    timings.push(performance.now() - t);
    const refOk = status[b][i] === 'ok';
    if (!refOk && err) { c.bothFailed++; continue; }
    if (!refOk || err) {
      c.oneFailed++;
      if (shown.length < Number(values.show)) shown.push(`  ${inputs[i].name} [${b}]: libbpf ${status[b][i] ?? 'no answer'}, modbtf ${err ? `${err.code ?? ''} ${err.message}` : 'ok'}`);
      continue;
    }
    const ref = new Uint8Array(readFileSync(host(`out-${b}/${i}.btf`)));
    if (Buffer.compare(Buffer.from(ref), Buffer.from(ours)) === 0) {
      c.identical++;
      if (ref.length < input.length) c.merged++;
    } else {
      c.different++;
      if (shown.length < Number(values.show)) shown.push(`  ${inputs[i].name} [${b}]: libbpf ${ref.length} bytes, modbtf ${ours.length} bytes`);
      if (values.keep) {
        mkdirSync(values.keep, { recursive: true });
        copyFileSync(inputs[i].file, join(values.keep, `${i}.in.btf`));
        copyFileSync(host(`out-${b}/${i}.btf`), join(values.keep, `${i}.${b}.libbpf.btf`));
        writeFileSync(join(values.keep, `${i}.${b}.modbtf.btf`), ours);
      }
    }
  }
}
rmSync(sidPath(WORK), { recursive: true, force: true });
if (shown.length) console.log(`differences:\n${shown.join('\n')}`);
timings.sort((a, b) => a - b);
for (const b of DEDUP_BEHAVIOURS) {
  const c = counts[b];
  console.log(`libbpf ${b}: ${inputs.length} inputs: ${c.identical} identical (${c.merged} of them smaller than the input), ${c.different} different, ${c.bothFailed} failed on both sides, ${c.oneFailed} failed on one side`);
}
console.log(`modbtf dedup per input: median ${timings[timings.length >> 1]?.toFixed(1)} ms, max ${timings[timings.length - 1]?.toFixed(1)} ms; ${((Date.now() - t0) / 1000).toFixed(1)} s in all`);
process.exitCode = DEDUP_BEHAVIOURS.some((b) => counts[b].different + counts[b].oneFailed > 0) ? 1 : 0;
