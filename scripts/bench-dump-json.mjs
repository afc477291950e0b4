#!/usr/bin/env node
// `modbtf dump --json` of a whole vmlinux side by side with `bpftool -j btf dump file`
// (Debian 12's bpftool 7.1), output to /dev/null, runs interleaved, medians of N (7): the
// goal is modbtf <= 2.5x bpftool (wall time). The outputs are compared once, byte for byte
// (sha256), and `node -e 0` is timed too (what any node program pays before its first
// line). CPU time (user + system, from /usr/bin/time) is shown next to the wall time: on
// a machine shared with other work it says what each command costs when wall time cannot.
//
//   node scripts/bench-dump-json.mjs [--runs N] [--vmlinux FILE] [--bpftool PATH] [--text]
//
// --text times the raw text dump (`modbtf dump` vs `bpftool btf dump file`) instead.
// Needs `npm run build` (dist/bundle/main.js is what runs). Exit 1 when the outputs differ.
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { closeSync, existsSync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const ROOT = join(fileURLToPath(import.meta.url), '..', '..');
const CLI = join(ROOT, 'dist', 'bundle', 'main.js');
const { values } = parseArgs({
  options: {
    runs: { type: 'string', default: '7' },
    vmlinux: { type: 'string', default: '/var/cache/modbtf/root/usr/src/linux-headers-6.12.117+deb12-amd64/vmlinux' },
    bpftool: { type: 'string', default: '/usr/sbin/bpftool' },
    text: { type: 'boolean', default: false },
  },
});
const runs = Number(values.runs);
for (const [what, p] of [['vmlinux', values.vmlinux], ['bpftool', values.bpftool], ['dist/bundle/main.js (npm run build)', CLI]]) {
  if (!existsSync(p)) { console.error(`bench-dump-json: ${what} not found: ${p}`); process.exit(2); }
}

const json = !values.text;
const commands = {
  bpftool: [values.bpftool, [...(json ? ['-j'] : []), 'btf', 'dump', 'file', values.vmlinux]],
  modbtf: [process.execPath, [CLI, 'dump', ...(json ? ['--json'] : []), values.vmlinux]],
  'node -e 0': [process.execPath, ['-e', '0']],
};

function digest(cmd, args) {
  const r = spawnSync(cmd, args, { maxBuffer: 1 << 30 });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')}: exit ${r.status}: ${String(r.stderr).trim()}`);
  return { sha: createHash('sha256').update(r.stdout).digest('hex'), bytes: r.stdout.length };
}

const TIME = existsSync('/usr/bin/time') ? '/usr/bin/time' : undefined;
const work = mkdtempSync(join(tmpdir(), 'modbtf-bench-'));
process.on('exit', () => rmSync(work, { recursive: true, force: true }));

/** { wall, cpu } in ms; cpu is NaN without /usr/bin/time (whose own start-up is not in wall: it is timed around the command by time itself). */
function timeOnce(cmd, args) {
  const devnull = openSync('/dev/null', 'w');
  const out = join(work, 'time');
  try {
    const line = TIME ? [TIME, ['-f', '%e %U %S', '-o', out, cmd, ...args]] : [cmd, args];
    const t0 = performance.now();
    const r = spawnSync(line[0], line[1], { stdio: ['ignore', devnull, 'pipe'] });
    const wall = performance.now() - t0;
    if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')}: exit ${r.status}: ${String(r.stderr).trim()}`);
    if (!TIME) return { wall, cpu: NaN };
    const [, user, sys] = readFileSync(out, 'utf8').trim().split('\n').pop().split(' ').map(Number);
    return { wall, cpu: (user + sys) * 1000 };
  } finally {
    closeSync(devnull);
  }
}

const median = (xs) => { const s = [...xs].sort((a, b) => a - b); return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2; };

const version = spawnSync(values.bpftool, ['--version'], { encoding: 'utf8' }).stdout.split('\n')[0];
const ours = digest(...commands.modbtf);
const theirs = digest(...commands.bpftool);
const same = ours.sha === theirs.sha;
console.log(`${json ? 'dump --json' : 'dump (raw)'} of ${values.vmlinux}: ${theirs.bytes} bytes from bpftool, ${ours.bytes} from modbtf: ${same ? 'identical' : 'DIFFERENT'}`);
console.log(`node ${process.version}, ${version}, ${runs} runs each, interleaved, output to /dev/null`);

const times = Object.fromEntries(Object.keys(commands).map((k) => [k, []]));
// One warm-up each (page cache, first-run costs), not counted.
for (const [cmd, args] of Object.values(commands)) timeOnce(cmd, args);
for (let i = 0; i < runs; i++) for (const [k, [cmd, args]] of Object.entries(commands)) times[k].push(timeOnce(cmd, args));
const wall = Object.fromEntries(Object.entries(times).map(([k, v]) => [k, median(v.map((x) => x.wall))]));
const cpu = Object.fromEntries(Object.entries(times).map(([k, v]) => [k, median(v.map((x) => x.cpu))]));
const load = readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
for (const [k, v] of Object.entries(times)) {
  console.log(`  ${k.padEnd(10)} wall median ${wall[k].toFixed(0).padStart(5)} ms (runs: ${v.map((x) => x.wall.toFixed(0)).join(' ')}); cpu median ${cpu[k].toFixed(0).padStart(5)} ms`);
}
console.log(`modbtf / bpftool: wall ${(wall.modbtf / wall.bpftool).toFixed(2)}x (goal <= 2.5x), cpu ${(cpu.modbtf / cpu.bpftool).toFixed(2)}x${json ? '' : ' [raw text]'}; load average ${load}`);
process.exitCode = same ? 0 : 1;
