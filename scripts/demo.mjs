#!/usr/bin/env node
// `npm run demo`: run modbtf on the sample module shipped in test/fixtures (Debian's
// tcp_bbr.ko.xz of 6.12.107) over the vmlinux BTF of the same kernel, and show
// what each step prints. Nothing outside the repository is read or written.
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { dirname, join, relative } from 'node:path';
import { copyFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const fx = (p) => relative(process.cwd(), join(root, 'test/fixtures', p)) || '.';
const cli = join(root, 'dist/bundle/main.js');
const module = fx('modules/tcp_bbr.ko.gz');
const vmlinux107 = fx('btf/vmlinux-6.12.107.btf.gz');
const vmlinux117 = fx('btf/vmlinux-6.12.117.btf.gz');

function step(title, args, { head, allowExit = [] } = {}) {
  console.log(`\n## ${title}\n$ modbtf ${args.join(' ')}${head ? ` | head -${head}` : ''}`);
  const r = spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8', maxBuffer: 1 << 30 });
  const out = head ? r.stdout.split('\n').slice(0, head).join('\n') + '\n' : r.stdout;
  process.stdout.write(out);
  if (r.stderr) process.stderr.write(r.stderr);
  if (r.status !== 0 && !allowExit.includes(r.status)) {
    console.error(`demo: step failed with exit status ${r.status}`);
    process.exit(1);
  }
}

console.log(`Sample: ${module} (Debian linux-image-6.12.107+deb12-amd64 tcp_bbr, signed as shipped; gzip here instead of xz)`);
step('The module\'s split BTF over vmlinux 6.12.107, as bpftool prints it', ['dump', '--base', vmlinux107, module], { head: 25 });
step('Will its BTF survive the update to 6.12.117? (distilled, then relocated as the kernel would)', ['check', '-b', vmlinux107, '-k', vmlinux117, module]);
step('Its BTF as the 6.12.117 kernel would see it after relocation (type ids now continue after 6.12.117\'s)', ['relocate', '-b', vmlinux107, '-k', vmlinux117, module], { head: 8 });
step('A module that embeds a struct whose size changed: mac80211 (raw .BTF of the shipped module)', ['check', '-b', vmlinux107, '-k', vmlinux117, fx('btf/mac80211.btf.gz')], { allowExit: [1] });

// The main job: finalize a copy in place (needs objcopy: binutils or llvm).
const haveObjcopy = ['objcopy', 'llvm-objcopy'].some((t) => spawnSync(t, ['--version'], { stdio: 'ignore' }).status === 0);
if (!haveObjcopy) {
  console.log('\n## finalize: skipped, it needs objcopy to write sections (apt-get install binutils)');
} else {
  const dir = mkdtempSync(join(tmpdir(), 'modbtf-demo-'));
  const copy = join(dir, 'tcp_bbr.ko.gz');
  copyFileSync(module, copy);
  step('Finalize a copy in place: distilled base, .BTF_ids, one objcopy call (the signature has to go: sign after finalizing)', ['finalize', '--strip-signature', '-b', vmlinux107, copy]);
  step('Running it again changes nothing', ['finalize', '-b', vmlinux107, copy]);
  step('The finalized module now carries its own base: no vmlinux needed to read it, and it relocates onto 6.12.117', ['check', '--kernel', vmlinux117, copy]);
  rmSync(dir, { recursive: true, force: true });
}
