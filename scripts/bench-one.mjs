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
//   npx zx scripts/bench-one.mjs [--rounds 11] [--only b6|b7|c]
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
