#!/usr/bin/env zx
// Issue 13 (b) and (c), side by side in one run, medians over rounds in a rotating order:
//  (b) one module, whole process: resolve_btfids 6.12 -b vmlinux vs `modbtf resolve-btfids`
//      and `modbtf finalize --no-distill` (nf_conntrack's pristine build-tree layout, the
//      golden fixture; outputs compared with resolve_btfids'); on 7.2.13 (sid chroot)
//      gen-btf.sh vs pahole + `modbtf kbuild modfinal` (the fixture module, as kbuild runs
//      both), and resolve_btfids 7.2 --distill_base vs `modbtf resolve-btfids` with the
//      same arguments; `node -e 0` in the same rounds;
//  (c) `dump` of vmlinux 6.12.117 vs Debian 12's bpftool 7.1: wall and peak RSS
//      (/usr/bin/time), outputs compared.
//  (b) on 7.3-rc7 (experimental's tree in the sid chroot): gen-btf.sh vs pahole + `modbtf kbuild
//      modfinal`, and resolve_btfids 7.3 vs `modbtf resolve-btfids` on the fixture and on
//      nf_conntrack (a typical module with kfuncs), with and without --distill_base;
//   npx zx scripts/bench-one.mjs [--rounds 11] [--only b6|b7|b73|c]
import { $, argv, fs, path } from 'zx';
import { gunzipSync } from 'node:zlib';

$.verbose = false;
const ROOT = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');
const rounds = Number(argv.rounds ?? 11);
const only = argv.only === undefined ? undefined : String(argv.only);
const CACHE = process.env.MODBTF_CACHE ?? '/var/cache/modbtf';
const CLI = process.env.MODBTF_CLI ?? path.join(ROOT, 'dist/bundle/main.js');
const RB6 = '/usr/lib/linux-kbuild-6.12.107+deb12/tools/bpf/resolve_btfids/resolve_btfids';
const V107 = `${CACHE}/root/usr/src/linux-headers-6.12.107+deb12-amd64/vmlinux`;
const V117 = `${CACHE}/root/usr/src/linux-headers-6.12.117+deb12-amd64/vmlinux`;
const median = (a) => { const s = [...a].sort((x, y) => x - y); return s.length % 2 ? s[s.length >> 1] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2; };
const load = () => fs.readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
const work = path.join(ROOT, '.cache', 'bench', 'one');
await fs.remove(work);
await fs.mkdirp(work);

/** Runs each case once per round (rotating order); each case: { name, run(): ms }. */
async function rotate(cases) {
  const t = Object.fromEntries(cases.map((c) => [c.name, []]));
  const loads = [];
  for (let r = 0; r < rounds; r++) {
    loads.push(load());
    for (let i = 0; i < cases.length; i++) { const c = cases[(i + r) % cases.length]; t[c.name].push(await c.run()); }
  }
  return { t, loads };
}
const timedHost = async (cmd) => {
  const r = await $({ nothrow: true })`sh -c ${`s=$(date +%s%N); ${cmd} >/dev/null 2>&1; rc=$?; e=$(date +%s%N); echo $rc $(( (e - s) / 1000 ))`}`;
  const [rc, us] = r.stdout.trim().split(' ').map(Number);
  if (rc !== 0) throw new Error(`${cmd}: exit ${rc}`);
  return us / 1000;
};
function report(title, { t, loads }, ref, floor) {
  console.log(`${title}; median of ${rounds}; load ${loads[0]} .. ${loads.at(-1)}`);
  const f = floor ? median(t[floor]) : 0;
  for (const [n, xs] of Object.entries(t)) {
    const m = median(xs);
    const extra = n !== ref && n !== floor ? `  ${(m / median(t[ref])).toFixed(2)}x${floor ? `; minus node -e 0: ${(m - f).toFixed(1)} ms = ${((m - f) / median(t[ref])).toFixed(2)}x` : ''}` : '';
    console.log(`  ${n.padEnd(34)} ${m.toFixed(1).padStart(8)} ms${extra}`);
  }
}

if (only === undefined || only === 'b6') {
  const pristine = path.join(work, 'nf_conntrack.pristine.ko');
  await fs.writeFile(pristine, gunzipSync(await fs.readFile(path.join(ROOT, 'test/fixtures/btfids/nf_conntrack.pristine.ko.gz'))));
  const cp = (tag) => { const p = path.join(work, `${tag}.ko`); fs.copyFileSync(pristine, p); return p; };
  const res = await rotate([
    { name: 'resolve_btfids -b vmlinux', run: () => timedHost(`${RB6} -b ${V107} ${cp('rb')}`) },
    { name: 'modbtf resolve-btfids -b vmlinux', run: () => timedHost(`node ${CLI} resolve-btfids -b ${V107} ${cp('mrb')}`) },
    { name: 'modbtf finalize --no-distill', run: () => timedHost(`node ${CLI} finalize --no-distill -b ${V107} ${cp('mf')}`) },
    { name: 'node -e 0', run: () => timedHost('node -e 0') },
  ]);
  const rb = await fs.readFile(path.join(work, 'rb.ko'));
  const same = ['mrb', 'mf'].map((k) => `${k === 'mrb' ? 'resolve-btfids' : 'finalize'} ${rb.equals(fs.readFileSync(path.join(work, `${k}.ko`))) ? 'identical' : 'DIFFERENT'}`);
  report(`(b) 6.12.107: one module (nf_conntrack, build-tree layout), whole process (${same.join(', ')} to resolve_btfids')`, res, 'resolve_btfids -b vmlinux', 'node -e 0');
  // Where modbtf's time goes (one more run each, CPU profile not needed: the phases).
  const br = await $({ nothrow: true, env: { ...process.env, MODBTF_TIMING: '1' } })`node ${CLI} finalize --no-distill -b ${V107} ${cp('mt')}`;
  console.log(`  breakdown (MODBTF_TIMING=1 finalize): ${br.stderr.trim().split('\n').filter((l) => l.startsWith('timing')).join('; ')}`);
}

if (only === undefined || only === 'b7') {
  const { copyModbtfIn, copyIn, sidSh, MODBTF_IN_SID, KDIR7, CHECKOUT_ID } = await import('./e2e-lib/sid.mjs');
  copyModbtfIn(ROOT);
  const W = `/build/bench-one-${CHECKOUT_ID}`;
  copyIn(path.join(ROOT, 'test/e2e/fixture'), W);
  // The module as linked, before the BTF step (a command-line cmd_btf_ko wins over Makefile.modfinal's).
  const mk = await sidSh(`make -C ${KDIR7} M=${W} cmd_btf_ko=true modules >/dev/null 2>&1 && cp modbtf_e2e.ko linked.ko`, { cwd: W, nothrow: true });
  if (mk.exitCode !== 0) throw new Error('7.2: building the fixture failed');
  const timedSid = async (cmd) => {
    const r = await sidSh(`cp linked.ko m.ko && rm -f m.ko.BTF* && s=$(date +%s%N); ${cmd} >/dev/null 2>&1; rc=$?; e=$(date +%s%N); echo $rc $(( (e - s) / 1000 ))`, { cwd: W, nothrow: true });
    const [rc, us] = r.stdout.trim().split(' ').map(Number);
    if (rc !== 0) throw new Error(`7.2: ${cmd}: exit ${rc}`);
    return us / 1000;
  };
  const V = `${KDIR7}/vmlinux`;
  const PF = '-j --btf_features=encode_force,var,float,enum64,decl_tag,type_tag,optimized_func,consistent_func,decl_tag_kfuncs --btf_features=attributes --btf_features=layout --lang_exclude=rust';
  const RB7 = `${KDIR7}/tools/bpf/resolve_btfids/resolve_btfids`;
  const genEnv = `objtree=${KDIR7} PAHOLE=pahole PAHOLE_FLAGS='${PF}' RESOLVE_BTFIDS=${RB7} RESOLVE_BTFIDS_FLAGS=--distill_base OBJCOPY=objcopy`;
  const res = await rotate([
    { name: 'gen-btf.sh --btf_base vmlinux', run: () => timedSid(`${genEnv} sh /usr/src/linux-headers-7.2.13+deb14-common/scripts/gen-btf.sh --btf_base ${V} m.ko`) },
    { name: 'pahole + modbtf kbuild modfinal', run: () => timedSid(`node ${MODBTF_IN_SID}/dist/bundle/main.js kbuild modfinal --objtree=${KDIR7} --srctree=/usr/src/linux-headers-7.2.13+deb14-common --pahole=pahole '--pahole-flags=${PF}' --resolve-btfids=${RB7} --resolve-btfids-flags=--distill_base --objcopy=objcopy --shell=sh --extmod=${W} m.ko`) },
    { name: 'pahole (detached) alone', run: () => timedSid(`pahole -J ${PF} --btf_base ${V} --btf_encode_detached=m.ko.BTF.1 m.ko`) },
    { name: 'node -e 0', run: () => timedSid('node -e 0') },
  ]);
  report('(b) 7.2.13: the fixture module, whole BTF step (pahole included in both)', res, 'gen-btf.sh --btf_base vmlinux', 'node -e 0');
  // resolve_btfids 7.2's own call vs modbtf resolve-btfids, after the same pahole.
  await sidSh(`cp linked.ko p.ko && pahole -J ${PF} --btf_base ${V} --btf_encode_detached=p.BTF.1 p.ko`, { cwd: W });
  const timedRb = async (cmd) => {
    const r = await sidSh(`cp p.ko q.ko && rm -f q.ko.BTF* && s=$(date +%s%N); ${cmd} >/dev/null 2>&1; rc=$?; e=$(date +%s%N); echo $rc $(( (e - s) / 1000 ))`, { cwd: W, nothrow: true });
    const [rc, us] = r.stdout.trim().split(' ').map(Number);
    if (rc !== 0) throw new Error(`7.2: ${cmd}: exit ${rc}`);
    return us / 1000;
  };
  const res2 = await rotate([
    { name: 'resolve_btfids 7.2 --distill_base', run: () => timedRb(`${RB7} --distill_base --btf_base ${V} --btf p.BTF.1 q.ko`) },
    { name: 'modbtf resolve-btfids (same args)', run: () => timedRb(`node ${MODBTF_IN_SID}/dist/bundle/main.js resolve-btfids --distill_base --btf_base ${V} --btf p.BTF.1 q.ko`) },
    { name: 'node -e 0', run: () => timedRb('node -e 0') },
  ]);
  report('(b) 7.2.13: resolve_btfids\'s own call (distill, sort, .BTF_ids), whole process', res2, 'resolve_btfids 7.2 --distill_base', 'node -e 0');
}

if (only === undefined || only === 'b73') {
  // Kernel 7.3 (experimental's 7.3-rc7 tree installed in the sid chroot): the fixture module's
  // whole BTF step, resolve_btfids 7.3's own call on it, and on a typical module with kfuncs
  // (nf_conntrack of the 7.3 cloud -dbg image, its .BTF_ids put back as linked).
  const { copyModbtfIn, copyIn, sidSh, sidPath, MODBTF_IN_SID, CHECKOUT_ID } = await import('./e2e-lib/sid.mjs');
  const { ensureKernel73Tree } = await import('./e2e-lib/kernel7.mjs');
  const { kdir: K73, resolveBtfids: RB73, vmlinux: V } = await ensureKernel73Tree(() => {});
  copyModbtfIn(ROOT);
  const W = `/build/bench-one73-${CHECKOUT_ID}`;
  copyIn(path.join(ROOT, 'test/e2e/fixture'), W);
  const mk = await sidSh(`make -C ${K73} M=${W} cmd_btf_ko=true modules >/dev/null 2>&1 && cp modbtf_e2e.ko linked.ko`, { cwd: W, nothrow: true });
  if (mk.exitCode !== 0) throw new Error('7.3: building the fixture failed');
  const timedIn = (prep) => async (cmd) => {
    const r = await sidSh(`${prep} && s=$(date +%s%N); ${cmd} >/dev/null 2>&1; rc=$?; e=$(date +%s%N); echo $rc $(( (e - s) / 1000 ))`, { cwd: W, nothrow: true });
    const [rc, us] = r.stdout.trim().split(' ').map(Number);
    if (rc !== 0) throw new Error(`7.3: ${cmd}: exit ${rc}`);
    return us / 1000;
  };
  const COMMON = '/usr/src/linux-headers-7.3-common';
  const PF = '-j --btf_features=encode_force,var,float,enum64,decl_tag,type_tag,optimized_func,consistent_func --btf_features=layout -j --lang_exclude=rust';
  const genEnv = `objtree=${K73} PAHOLE=pahole PAHOLE_FLAGS='${PF}' RESOLVE_BTFIDS=${RB73} RESOLVE_BTFIDS_FLAGS=--distill_base OBJCOPY=objcopy`;
  const step = timedIn('cp linked.ko m.ko && rm -f m.ko.BTF*');
  const res = await rotate([
    { name: 'gen-btf.sh --btf_base vmlinux', run: () => step(`${genEnv} sh ${COMMON}/scripts/gen-btf.sh --btf_base ${V} m.ko`) },
    { name: 'pahole + modbtf kbuild modfinal', run: () => step(`node ${MODBTF_IN_SID}/dist/bundle/main.js kbuild modfinal --objtree=${K73} --srctree=${COMMON} --pahole=pahole '--pahole-flags=${PF}' --resolve-btfids=${RB73} --resolve-btfids-flags=--distill_base --objcopy=objcopy --shell=sh --extmod=${W} m.ko`) },
    { name: 'pahole (detached) alone', run: () => step(`pahole -J ${PF} --btf_base ${V} --btf_encode_detached=m.ko.BTF.1 m.ko`) },
    { name: 'node -e 0', run: () => step('node -e 0') },
  ]);
  report('(b) 7.3-rc7: the fixture module, whole BTF step (pahole included in both)', res, 'gen-btf.sh --btf_base vmlinux', 'node -e 0');

  // A typical module: nf_conntrack (10 kfuncs, 4 sets) of the cloud -dbg image, over the cloud vmlinux.
  const CACHE73 = path.join(CACHE, 'dbg73');
  const dbgKo = path.join(CACHE73, 'usr/lib/debug/lib/modules/7.3-cloud-amd64/kernel/net/netfilter/nf_conntrack.ko');
  const cloudV = path.join(CACHE73, 'usr/src/linux-headers-7.3-cloud-amd64/vmlinux');
  const typical = [['fixture', 'p.ko', V]];
  await sidSh(`cp linked.ko p.ko && pahole -J ${PF} --btf_base ${V} --btf_encode_detached=p.ko.BTF.1 p.ko`, { cwd: W });
  if (fs.existsSync(dbgKo) && fs.existsSync(cloudV)) {
    const [{ parseElf }, { Btf }, { scanBtfIds, resolveNames, recoverPristine }] = await Promise.all(['elf/index.js', 'btf/btf.js', 'btfids/index.js'].map((m) => import(path.join(ROOT, 'dist/lib', m))));
    const bytes = new Uint8Array(fs.readFileSync(dbgKo));
    const elf = parseElf(bytes);
    const vmElf = parseElf(new Uint8Array(fs.readFileSync(cloudV)));
    const own = Btf.parse(elf.sectionData(elf.sectionByName('.BTF')), { base: Btf.parse(vmElf.sectionData(vmElf.sectionByName('.BTF'))) });
    const layout = scanBtfIds(elf, { abi: 7 }).layout;
    const ids = elf.sectionByName('.BTF_ids');
    const pristine = recoverPristine(layout, resolveNames(layout, own), elf.sectionData(ids), 7);
    if (pristine === undefined) throw new Error('nf_conntrack: no pristine .BTF_ids');
    // As linked: 0 but in set8 header and pair flags.
    const linkedIds = new Uint8Array(pristine.length);
    const pv = new DataView(pristine.buffer, pristine.byteOffset, pristine.byteLength);
    const lv = new DataView(linkedIds.buffer);
    for (const set of layout.sets.values()) {
      if (set.kind !== 'set8') continue;
      const off = Number(set.addr - layout.sectionAddr);
      for (const at of [off + 4, ...Array.from({ length: set.cnt }, (_, i) => off + 12 + i * 8)]) lv.setUint32(at, pv.getUint32(at, true), true);
    }
    bytes.set(linkedIds, ids.offset);
    fs.writeFileSync(sidPath(`${W}/nf.ko`), bytes);
    fs.copyFileSync(cloudV, sidPath(`${W}/cloud-vmlinux`));
    await sidSh(`pahole -J ${PF} --btf_base cloud-vmlinux --btf_encode_detached=nf.ko.BTF.1 nf.ko`, { cwd: W });
    typical.push(['nf_conntrack (7.3 cloud)', 'nf.ko', `${W}/cloud-vmlinux`]);
  }
  for (const [label, ko, vm] of typical) {
    for (const distill of [true, false]) {
      const flag = distill ? '--distill_base ' : '';
      const rb = timedIn(`mkdir -p rb mb && cp ${ko} ${ko}.BTF.1 rb/ && cp ${ko} ${ko}.BTF.1 mb/`);
      const res2 = await rotate([
        { name: `resolve_btfids 7.3 ${flag}`, run: () => rb(`cd rb && ${RB73} ${flag}--btf_base ${vm} --btf ${ko}.BTF.1 ${ko}`) },
        { name: 'modbtf resolve-btfids (same args)', run: () => rb(`cd mb && node ${MODBTF_IN_SID}/dist/bundle/main.js resolve-btfids ${flag}--btf_base ${vm} --btf ${ko}.BTF.1 ${ko}`) },
        { name: 'node -e 0', run: () => rb('node -e 0') },
      ]);
      const out = (d) => ['BTF', 'BTF.base', 'BTF_ids'].map((x) => { const f = sidPath(`${W}/${d}/${ko}.${x}`); return fs.existsSync(f) ? fs.readFileSync(f).toString('base64') : '-'; }).join();
      report(`(b) 7.3-rc7: resolve_btfids 7.3's own call on ${label}${distill ? ', --distill_base' : ', in-tree'}, whole process (${out('rb') === out('mb') ? 'identical' : 'DIFFERENT'} files)`, res2, `resolve_btfids 7.3 ${flag}`, 'node -e 0');
    }
  }
  await sidSh(`rm -rf ${W}`);
}

if (only === undefined || only === 'c') {
  const rss = {};
  const timedRss = (name, cmd) => async () => {
    const f = path.join(work, `${name.replace(/\W+/g, '_')}.time`);
    const ms = await timedHost(`/usr/bin/time -o ${f} -f %M ${cmd} > ${path.join(work, `${name.replace(/\W+/g, '_')}.out`)}`);
    (rss[name] ??= []).push(Number(fs.readFileSync(f, 'utf8').trim().split('\n').pop()));
    return ms;
  };
  const res = await rotate([
    { name: 'bpftool btf dump file vmlinux', run: timedRss('bpftool btf dump file vmlinux', `bpftool btf dump file ${V117}`) },
    { name: 'modbtf dump vmlinux', run: timedRss('modbtf dump vmlinux', `node ${CLI} dump ${V117}`) },
    { name: 'node -e 0', run: timedRss('node -e 0', 'node -e 0') },
  ]);
  const same = fs.readFileSync(path.join(work, 'bpftool_btf_dump_file_vmlinux.out')).equals(fs.readFileSync(path.join(work, 'modbtf_dump_vmlinux.out')));
  report(`(c) dump of vmlinux 6.12.117 (${same ? 'identical' : 'DIFFERENT'} output)`, res, 'bpftool btf dump file vmlinux');
  for (const [n, xs] of Object.entries(rss)) console.log(`  peak RSS ${n.padEnd(30)} ${(median(xs) / 1024).toFixed(1)} MB`);
}
