#!/usr/bin/env zx
// Issue 13 (a): the modfinal step of a real multi-module DKMS package, side by side in
// one run: the kernel's own step (plain kbuild), Makefile.snippet (one modbtf process
// per build), Makefile.snippet's per-module form (MODBTF_BATCH=0) and the snippet with
// modbtf's own encoder in the batch process instead of pahole (MODBTF_PAHOLE=modbtf), on Debian's
// 6.12.107 headers (host) and 7.2.13 headers (sid chroot, scripts/e2e-lib/sid.mjs).
// Package: xtables-addons-dkms 3.31 from sid (23 modules; builds on both). Each round
// touches every module's .o, so that only MODPOST, LD [M] and BTF [M] run again, with
// `make -j2`, the three forms in a rotating order; medians over the rounds.
// Identity: the three forms again with a pahole that runs one thread (pahole -j is not
// deterministic: the type order of its output can change from run to run), every .ko of
// the batch form compared with the per-module form's (and the plain build's on 7.x,
// where modbtf writes the kernel's own bytes).
//
//   npx zx scripts/bench-modfinal.mjs [--rounds 5] [--only 6|7] [--forms no-btf,kernel,native,native-j1] [--no-identity]
import { $, argv, fs, path } from 'zx';
import { execFileSync } from 'node:child_process';
import { copyModbtfIn, copyIn, sidDownload, sidSh, sidPath, ensureSid, MODBTF_IN_SID, KDIR7, CHECKOUT_ID } from './e2e-lib/sid.mjs';

$.verbose = false;
const ROOT = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');
const rounds = Number(argv.rounds ?? 5);
const only = argv.only === undefined ? undefined : String(argv.only);
const KDIR6 = '/usr/src/linux-headers-6.12.107+deb12-amd64';
const median = (a) => { const s = [...a].sort((x, y) => x - y); return s.length % 2 ? s[s.length >> 1] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2; };
const load = () => fs.readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');

await ensureSid();
const deb = await sidDownload('xtables-addons-dkms');
const unpacked = path.join(ROOT, '.cache', 'bench', 'xtables-addons');
await fs.remove(unpacked);
await fs.mkdirp(unpacked);
execFileSync('dpkg-deb', ['-x', deb, unpacked]);
const src = path.join(unpacked, 'usr/src', fs.readdirSync(path.join(unpacked, 'usr/src'))[0]);

// One thread of pahole, for the identity builds only.
const j1 = '#!/bin/sh\nexec pahole "$@" -j1\n';

/** A tree: how to run a shell script in it (timed inside), and its paths. */
function host() {
  const work = path.join(ROOT, '.cache', 'bench', 'modfinal6');
  return {
    label: '6.12.107 (host, pahole 1.24, resolve_btfids 6.12)', kdir: KDIR6, work, snippet: path.join(ROOT, 'Makefile.snippet'),
    async prepare() { await fs.remove(work); await fs.copy(src, work); await fs.writeFile(path.join(work, 'pahole-j1'), j1, { mode: 0o755 }); },
    sh: (script) => $({ nothrow: true })`sh -c ${script}`,
    read: (p) => fs.readFileSync(p),
  };
}
function sid() {
  const work = `/build/bench-modfinal-${CHECKOUT_ID}`;
  return {
    label: '7.2.13 (sid chroot, pahole 1.32, gen-btf.sh)', kdir: KDIR7, work, snippet: `${MODBTF_IN_SID}/Makefile.snippet`,
    async prepare() { copyModbtfIn(ROOT); copyIn(src, work); await fs.writeFile(sidPath(`${work}/pahole-j1`), j1, { mode: 0o755 }); },
    sh: (script) => sidSh(script, { nothrow: true }),
    read: (p) => fs.readFileSync(sidPath(p)),
  };
}

async function bench(t) {
  await t.prepare();
  const M = `${t.work}/extensions`;
  const make = (extra = '') => `make -j2 -C ${t.kdir} M=${M} XA_ABSTOPSRCDIR=${t.work} XA_TOPSRCDIR=${t.work} ${extra} modules`;
  const first = await t.sh(`${make()} > ${t.work}/first.log 2>&1`);
  if (first.exitCode !== 0) throw new Error(`${t.label}: the first build failed (${t.work}/first.log)`);
  const kos = (await t.sh(`cd ${M} && sed 's/\\.o$/.ko/' modules.order`)).stdout.trim().split('\n');
  const forms = {
    kernel: '',
    modbtf: `MAKEFILES=${t.snippet}`,
    'per-module': `MAKEFILES=${t.snippet} MODBTF_BATCH=0`,
    native: `MAKEFILES=${t.snippet} MODBTF_PAHOLE=modbtf`,
    // The encoder in the batch's own thread only (no worker lanes).
    'native-j1': `MAKEFILES=${t.snippet} MODBTF_PAHOLE=modbtf MODBTF_JOBS=1`,
  };
  // Not a BTF step at all (the module Makefile's BTF rule switched off): what every form
  // spends on make, MODPOST and LD [M]; only with --forms no-btf,...
  const extras = { 'no-btf': 'CONFIG_DEBUG_INFO_BTF_MODULES=' };
  // Timed: touch the objects, then the form's make; the time is taken inside the shell.
  const timed = async (env, extra = '') => {
    const r = await t.sh(`cd ${M} && find . -name '*.o' ! -name '*.mod.o' -exec touch {} + && s=$(date +%s%N) && ${env} ${make(extra)} > ${t.work}/last.log 2>&1; rc=$?; e=$(date +%s%N); echo $rc $(( (e - s) / 1000000 ))`);
    const [rc, ms] = r.stdout.trim().split(' ').map(Number);
    if (rc !== 0) throw new Error(`${t.label}: ${env || 'plain'} build failed: ${(await t.sh(`tail -5 ${t.work}/last.log`)).stdout}`);
    return ms;
  };
  const names = argv.forms === undefined ? Object.keys(forms).filter((n) => n !== 'native-j1') : String(argv.forms).split(',').filter((n) => n in forms || n in extras);
  if (!names.includes('kernel')) names.unshift('kernel');
  const times = Object.fromEntries(names.map((k) => [k, []]));
  const loads = [];
  for (let r = 0; r < rounds; r++) {
    process.stderr.write(`  ${t.label}: round ${r + 1}/${rounds}\r`);
    loads.push(load());
    for (let i = 0; i < names.length; i++) {
      const k = names[(i + r) % names.length];
      times[k].push(k in extras ? await timed('', extras[k]) : await timed(forms[k]));
    }
  }
  const k = median(times.kernel);
  console.log(`${t.label}: xtables-addons 3.31, ${kos.length} modules, make -j2, touch *.o (MODPOST + LD [M] + BTF [M]), median of ${rounds}; load ${loads.join(' | ')}`);
  for (const n of names) console.log(`  ${n.padEnd(11)} ${(median(times[n]) / 1000).toFixed(2).padStart(6)} s  ${(median(times[n]) / k).toFixed(2)}x  [${times[n].map((x) => (x / 1000).toFixed(2)).join(' ')}]`);
  if (argv.identity === false) return;
  // Identity, with pahole on one thread.
  const keep = async (tag) => { await t.sh(`rm -rf ${t.work}/out-${tag} && mkdir -p ${t.work}/out-${tag} && cd ${M} && for m in ${kos.join(' ')}; do cp $m ${t.work}/out-${tag}/$(echo $m | tr / _); done`); };
  const p1 = `PAHOLE=${t.work}/pahole-j1`;
  await timed(forms.kernel, p1); await keep('kernel');
  await timed(forms['per-module'], p1); await keep('per-module');
  await timed(forms.modbtf, p1); await keep('modbtf');
  await timed(forms.native); await keep('native');
  let same = 0, sameKernel = 0, nativeKernel = 0;
  for (const m of kos) {
    const f = m.replace(/\//g, '_');
    const a = t.read(`${t.work}/out-modbtf/${f}`);
    if (a.equals(t.read(`${t.work}/out-per-module/${f}`))) same++;
    if (a.equals(t.read(`${t.work}/out-kernel/${f}`))) sameKernel++;
    if (t.read(`${t.work}/out-native/${f}`).equals(t.read(`${t.work}/out-kernel/${f}`))) nativeKernel++;
  }
  console.log(`  identity (pahole -j1): modbtf form = per-module form ${same}/${kos.length}; = kernel's own step ${sameKernel}/${kos.length}${t.kdir === KDIR7 ? '' : ' (6.x: modbtf adds .BTF.base, so none is expected)'}`);
  console.log(`  identity: native form (modbtf's encoder, pahole 1.32's bytes) = kernel's own step ${nativeKernel}/${kos.length}${t.kdir === KDIR7 ? '' : ' (6.x: the tree\'s pahole is 1.24, whose bytes modbtf does not reproduce, and modbtf adds .BTF.base: none expected)'}`);
}

if (only !== '7') await bench(host());
if (only !== '6') await bench(sid());
