// Preloaded by scripts/e2e-kbuild7.mjs into every node process of a build (NODE_OPTIONS=--require):
// appends one JSON line per process to $MODBTF_E2E_TRACE when it exits: its arguments (modbtf is
// the only node program a kernel module build runs), exit status, wall and CPU milliseconds
// (its own, without the children it spawned, such as pahole).
const file = process.env.MODBTF_E2E_TRACE;
if (file) {
  process.on('exit', (code) => {
    const cpu = process.cpuUsage();
    const line = { argv: process.argv.slice(2), code, ms: Math.round(performance.now()), cpuMs: Math.round((cpu.user + cpu.system) / 1000) };
    require('node:fs').appendFileSync(file, `${JSON.stringify(line)}\n`);
  });
}
