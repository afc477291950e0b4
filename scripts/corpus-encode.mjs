#!/usr/bin/env node
// `modbtf pahole` (lib/encode) against pahole 1.32 over Debian's unstripped modules: every module
// of a -dbg package is encoded by the reference (sid chroot: pahole 1.32, libbpf 1.7.0, libdw
// 0.196) and by lib/encode in this process, with the flags a 7.2.13 M= build passes pahole (read
// from test/fixtures/kernel7/pahole.cmd, gen-btf.sh's command line from a V=1 build of the 7.2.13
// tree, see kernel7/PROVENANCE.md) and the package kernel's vmlinux as --btf_base; the detached
// outputs must be byte-identical.
//
//   node scripts/corpus-encode.mjs [--set cloud|amd64] [--count N] [--jobs N] [--only TEXT] [--show N] [--fresh | --recheck | --again] [--pipeline]
//
//   cloud   linux-image-7.2.13+deb14-cloud-amd64-dbg (1,018 modules) over the vmlinux of
//           linux-headers-7.2.13+deb14-cloud-amd64 (default)
//   amd64   linux-image-7.2.13+deb14-amd64-dbg (4,216 modules) over linux-headers-7.2.13+deb14-amd64
//
// Resumable and cached: the packages are downloaded and unpacked once inside the chroot
// (/var/lib/modbtf-dbg/<package>_<version>, stamp <...>.unpacked); pahole's output for each module
// is kept in /var/lib/modbtf-encode/<set>/ref/ (a rerun only runs pahole on modules it has not
// done), and each result line goes to results.tsv there as it is known, so an interrupted run
// goes on where it stopped (--fresh starts over; --again encodes every module again, references
// kept; --recheck encodes again the modules that were not
// identical). Differing outputs are kept next to the reference
// (<module>.ours.btf). Prints: identical I, different D, pahole wrote nothing N (with whether we
// did too), failed F; exit 1 on any difference. Needs root (the chroot).
import { existsSync, mkdirSync, readFileSync, readdirSync, renameSync, rmSync, statSync, writeFileSync, appendFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { basename, dirname, join, relative } from 'node:path';
import { parseArgs } from 'node:util';
import { $ } from 'zx';

import { SID_BASE_PACKAGES, ensureSid, shq, sidDownload, sidPath, sidSh } from './e2e-lib/sid.mjs';
import { repo, walkModules } from './lib/corpus.mjs';
import { kbuild72PaholeFlags } from './lib/cloud72.mjs';

const { values } = parseArgs({
  options: {
    set: { type: 'string', default: 'cloud' },
    count: { type: 'string' },
    jobs: { type: 'string', default: String(Math.max(1, availableParallelism())) },
    only: { type: 'string' },
    show: { type: 'string', default: '20' },
    fresh: { type: 'boolean', default: false },
    recheck: { type: 'boolean', default: false },
    again: { type: 'boolean', default: false },
    pipeline: { type: 'boolean', default: false },
  },
});
$.verbose = false;
const log = (m) => console.log(`[corpus-encode] ${m}`);
const t0 = Date.now();
const SETS = {
  cloud: { dbg: 'linux-image-7.2.13+deb14-cloud-amd64-dbg', headers: 'linux-headers-7.2.13+deb14-cloud-amd64', kver: '7.2.13+deb14-cloud-amd64', shipped: 'linux-modules-7.2.13+deb14-cloud-amd64' },
  amd64: { dbg: 'linux-image-7.2.13+deb14-amd64-dbg', headers: 'linux-headers-7.2.13+deb14-amd64', kver: '7.2.13+deb14-amd64', shipped: 'linux-modules-7.2.13+deb14-amd64' },
};
const set = SETS[values.set];
if (!set) throw new Error(`--set ${values.set}: cloud or amd64`);
if (process.getuid?.() !== 0) throw new Error('corpus-encode needs root (the sid chroot)');

const { parseElf } = await import(join(repo, 'dist/lib/elf/index.js'));
const { loadBaseBtf } = await import(join(repo, 'dist/lib/module/btf-file.js'));
const { encodeModuleFile, FeatureParser, parseLanguages } = await import(join(repo, 'dist/lib/encode/index.js'));

/** A package downloaded (sid.mjs sidDownload) and unpacked once inside the chroot. */
async function unpacked(pkg) {
  const deb = await sidDownload(pkg);
  const name = basename(deb, '.deb');
  const inSid = `/var/lib/modbtf-dbg/${name}`;
  const stamp = sidPath(`${inSid}.unpacked`);
  if (!existsSync(stamp)) {
    const root = sidPath(inSid);
    const tmp = `${root}.partial`;
    rmSync(tmp, { recursive: true, force: true });
    rmSync(root, { recursive: true, force: true });
    mkdirSync(dirname(root), { recursive: true });
    log(`unpack ${basename(deb)} (${Math.round(statSync(deb).size / 1e6)} MB)`);
    await $`dpkg-deb -x ${deb} ${tmp}`;
    renameSync(tmp, root);
    writeFileSync(stamp, `${new Date().toISOString()}\n`);
  }
  return { host: sidPath(inSid), inSid, deb };
}

await ensureSid(SID_BASE_PACKAGES, log);
const flags = kbuild72PaholeFlags();
log(`pahole flags (from a 7.2.13 V=1 build): ${flags.join(' ')}`);
const dbg = await unpacked(set.dbg);
const hdr = await unpacked(set.headers);
const treeRel = `usr/lib/debug/lib/modules/${set.kver}/kernel`;
const vmlinuxRel = `usr/src/${set.headers}/vmlinux`;
const tree = join(dbg.host, treeRel);
const vmlinuxHost = join(hdr.host, vmlinuxRel);
let files = [...walkModules(tree, /\.ko$/)];
if (values.only) files = files.filter((f) => f.includes(values.only));
if (values.count !== undefined) {
  const n = Math.max(1, Number(values.count));
  if (files.length > n) {
    const step = files.length / n;
    files = Array.from({ length: n }, (_, i) => files[Math.floor(i * step)]);
  }
}
log(`${files.length} modules of ${basename(dbg.deb)}, base ${basename(hdr.deb)}`);

const WORK = `/var/lib/modbtf-encode/${values.set}`;
if (values.fresh) rmSync(sidPath(WORK), { recursive: true, force: true });
mkdirSync(sidPath(`${WORK}/ref`), { recursive: true });
const refOf = (rel) => `${WORK}/ref/${rel.replace(/\//g, '__')}.btf`;
const noneOf = (rel) => `${refOf(rel)}.none`;

// 1. The reference, in lanes inside the chroot; a module already done is skipped.
const rels = files.map((f) => relative(tree, f));
const todo = rels.filter((r) => !existsSync(sidPath(refOf(r))) && !existsSync(sidPath(noneOf(r))));
const jobs = Math.max(1, Number(values.jobs));
if (todo.length > 0) {
  log(`pahole 1.32 on ${todo.length} modules (${jobs} lanes)`);
  const lanes = Array.from({ length: jobs }, (_, l) => todo.filter((_, i) => i % jobs === l));
  const fl = flags.map(shq).join(' ');
  await Promise.all(lanes.map(async (list) => {
    for (let k = 0; k < list.length; k += 50) {
      const script = list.slice(k, k + 50).map((r) => {
        const out = refOf(r);
        return `pahole -J ${fl} --btf_base ${shq(`${hdr.inSid}/${vmlinuxRel}`)} --btf_encode_detached=${shq(`${out}.tmp`)} ${shq(`${dbg.inSid}/${treeRel}/${r}`)} >${shq(`${out}.log`)} 2>&1; rc=$?; if [ -s ${shq(`${out}.tmp`)} ]; then mv ${shq(`${out}.tmp`)} ${shq(out)}; else echo $rc > ${shq(`${out}.none`)}; rm -f ${shq(`${out}.tmp`)}; fi`;
      }).join('\n');
      await sidSh(script);
    }
  }));
}

// 2. Ours, in this process, against each reference.
const base = await loadBaseBtf(vmlinuxHost);
const rust = parseLanguages('rust');
const fp = new FeatureParser();
for (let i = 0; i < flags.length; i++) {
  const a = flags[i];
  if (a.startsWith('--btf_features=')) fp.btfFeatures(a.slice('--btf_features='.length));
}
const results = sidPath(`${WORK}/results.tsv`);
const done = new Map();
if (existsSync(results)) for (const line of readFileSync(results, 'utf8').split('\n')) if (line) done.set(line.split('\t')[0], line);
// --again: encode every module again (after a fix that may change any), keeping pahole's references.
if (values.again) { done.clear(); writeFileSync(results, ''); }
// --recheck: encode again what was not identical (after a fix), keeping the identical ones.
if (values.recheck) {
  for (const [rel, line] of [...done]) if (line.split('\t')[1] !== 'identical') done.delete(rel);
  writeFileSync(results, [...done.values()].map((l) => `${l}\n`).join(''));
}
const counts = { identical: 0, different: 0, none: 0, failed: 0 };
const diffs = [];
let ms = 0;
for (const [i, rel] of rels.entries()) {
  let line = done.get(rel);
  if (line === undefined) {
    const ref = existsSync(sidPath(refOf(rel))) ? new Uint8Array(readFileSync(sidPath(refOf(rel)))) : undefined;
    let status;
    let detail = '';
    const t = performance.now();
    try {
      // As `modbtf pahole` reads a module: lazily, through openDwarfFile.
      const r = encodeModuleFile(join(tree, rel), base, { features: fp.features, languages: { ids: rust.ids, exclude: true } });
      if (ref === undefined) {
        status = r.bytes === undefined ? 'none' : 'different';
        detail = r.bytes === undefined ? 'neither wrote BTF' : `pahole wrote nothing (exit ${readFileSync(sidPath(noneOf(rel)), 'utf8').trim()}), modbtf ${r.bytes.length} bytes`;
      } else if (r.bytes !== undefined && Buffer.compare(Buffer.from(r.bytes), Buffer.from(ref)) === 0) {
        status = 'identical';
      } else {
        status = 'different';
        detail = r.bytes === undefined ? 'modbtf wrote nothing' : `sizes ${ref.length} vs ${r.bytes.length}`;
        if (r.bytes !== undefined) writeFileSync(sidPath(`${refOf(rel)}.ours.btf`), r.bytes);
      }
    } catch (err) {
      status = 'failed';
      detail = String(err?.describe?.() ?? err?.message ?? err).split('\n')[0];
    }
    ms += performance.now() - t;
    line = `${rel}\t${status}\t${detail}`;
    appendFileSync(results, `${line}\n`);
    done.set(rel, line);
  }
  const [, status, detail] = line.split('\t');
  counts[status]++;
  if (status !== 'identical' && status !== 'none') diffs.push(`${status}: ${rel}: ${detail}`);
  if ((i + 1) % 100 === 0) log(`${i + 1}/${rels.length}: ${JSON.stringify(counts)}`);
}
for (const d of diffs.slice(0, Number(values.show))) log(d);
log(`identical ${counts.identical}, different ${counts.different}, pahole and modbtf wrote nothing ${counts.none}, modbtf failed ${counts.failed} (of ${rels.length}; this run encoded in ${(ms / 1000).toFixed(1)} s; ${((Date.now() - t0) / 1000).toFixed(0)} s in all)`);
log(`results: ${results}; references: ${sidPath(`${WORK}/ref`)}`);

// --pipeline: through the 7.2 pipeline (lib/pipeline kernel7Btf, in tree: no distill, as Debian
// builds), each identically encoded module without a kfunc set must give the .BTF Debian shipped
// (modules with sets were shipped with resolved .BTF_ids, which pahole reads: they were compared
// with pahole on the same file above).
if (values.pipeline) {
  const { Btf } = await import(join(repo, 'dist/lib/btf/btf.js'));
  const { scanBtfIds } = await import(join(repo, 'dist/lib/btfids/layout.js'));
  const { kernel7Btf } = await import(join(repo, 'dist/lib/pipeline/kernel7.js'));
  const { pipelineProfile } = await import(join(repo, 'dist/lib/pipeline/profile.js'));
  // The package is 7.2.13's: its own pipeline (resolve_btfids 7.2: no dedup, no kfunc tags of its own).
  const profile72 = pipelineProfile('7.2');
  const { decompress } = await import('./lib/corpus.mjs');
  const shipped = await unpacked(set.shipped);
  const shippedTree = [join(shipped.host, 'usr/lib/modules', set.kver, 'kernel'), join(shipped.host, 'lib/modules', set.kver, 'kernel')].find((d) => existsSync(d));
  if (shippedTree === undefined) throw new Error(`${set.shipped}: no modules in the package`);
  const pc = { same: 0, different: 0, withSets: 0, notShipped: 0 };
  const pdiffs = [];
  for (const rel of rels) {
    if (!(done.get(rel) ?? '').includes('\tidentical')) continue;
    const ship = [join(shippedTree, `${rel}.xz`), join(shippedTree, rel)].find((f) => existsSync(f));
    if (ship === undefined) { pc.notShipped++; continue; }
    const elf = parseElf(readFileSync(join(tree, rel)), { file: rel });
    if (elf.symbols().some((x) => x.name.startsWith('__BTF_ID__set8__'))) { pc.withSets++; continue; }
    const ours = new Uint8Array(readFileSync(sidPath(refOf(rel))));
    const r = kernel7Btf(elf, scanBtfIds(elf, { abi: 7 }), Btf.parse(ours, { base, file: rel }), base, { distill: false, profile: profile72 });
    const sElf = parseElf(await decompress(ship), { file: ship });
    const sec = sElf.sectionByName('.BTF');
    const want = sec === undefined ? undefined : sElf.sectionData(sec);
    if (want !== undefined && Buffer.compare(Buffer.from(r.btf), Buffer.from(want)) === 0) pc.same++;
    else { pc.different++; pdiffs.push(rel); }
  }
  for (const d of pdiffs.slice(0, Number(values.show))) log(`pipeline differs: ${d}`);
  log(`7.2 pipeline .BTF = Debian's shipped .BTF: ${pc.same} identical, ${pc.different} different, ${pc.withSets} with kfunc sets (compared with pahole only), ${pc.notShipped} not in ${set.shipped}`);
  if (pc.different > 0) process.exitCode = 1;
}
process.exitCode = counts.different + counts.failed > 0 ? 1 : 0;
