// Every command of the README's command table, driven through the option vocabulary
// (cli/vocabulary.ts, the README's option table): short and long spellings, a kernel
// release for every kernel argument (looked up under MODBTF_ROOT, a directory laid out as
// Debian lays kernels out), the old spellings that still work and the one that is refused;
// and through the messages and exit statuses the README promises. Outputs are checked
// against libbpf v1.7.0 / bpftool 7.1 / resolve_btfids golden files where they exist.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { VOCABULARY, vocabularyMarkdown } from '../../cli/vocabulary.js';
import { fixtureBytes, fixturePath, firstDiff } from '../helpers/fixtures.js';

const REPO = join(fixturePath('..'), '..');
const CLI = join(REPO, 'dist', 'bundle', 'main.js');
const HOOK = join(REPO, 'kbuild', 'postinst.d-modbtf');
const R107 = '6.12.107+deb12-amd64';
const R117 = '6.12.117+deb12-amd64';
const R72 = '7.2.13+deb14-amd64';
const BBR_XZ = fixturePath('modules/tcp_bbr.ko.xz');

let dir: string;
let root: string;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'modbtf-vocab-'));
  root = join(dir, 'root');
  // One release where the headers package puts vmlinux, the other under /lib/modules.
  mkdirSync(join(root, `usr/src/linux-headers-${R107}`), { recursive: true });
  writeFileSync(join(root, `usr/src/linux-headers-${R107}/vmlinux`), fixtureBytes('btfids/vmlinux-6.12.107.elf.gz'));
  mkdirSync(join(root, `lib/modules/${R117}/build`), { recursive: true });
  copyFileSync(fixturePath('btf/vmlinux-6.12.117.btf.gz'), join(root, `lib/modules/${R117}/build/vmlinux`));
  mkdirSync(join(root, `lib/modules/${R72}/build`), { recursive: true });
  copyFileSync(fixturePath('kernel7/vmlinux-7.2.13.btf.gz'), join(root, `lib/modules/${R72}/build/vmlinux`));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

interface Run { status: number | null; stdout: string; stderr: string }

function modbtf(args: string[], opts: { input?: string; env?: Record<string, string> } = {}): Run {
  const r = spawnSync(process.execPath, [CLI, ...args], {
    encoding: 'utf8', maxBuffer: 1 << 28, input: opts.input ?? '',
    env: { ...process.env, MODBTF_ROOT: root, OBJCOPY: 'objcopy', LLVM_OBJCOPY: '', ...opts.env },
  });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

let n = 0;
function place(fixture: string, name: string): string {
  const d = join(dir, `w${n++}`);
  mkdirSync(d);
  const p = join(d, name);
  writeFileSync(p, fixtureBytes(fixture));
  return p;
}

const text = (rel: string): string => new TextDecoder().decode(fixtureBytes(rel));

/** Each command of the README's command table, as its first word(s). */
function readmeCommands(): string[] {
  const readme = readFileSync(join(REPO, 'README.md'), 'utf8');
  const section = readme.slice(readme.indexOf('## Commands\n'), readme.indexOf('## Library\n'));
  const out = new Set<string>();
  for (const m of section.matchAll(/^\| `modbtf (\S+)(?: (install|modfinal|finalize-batch))?/gm)) out.add(m[2] !== undefined ? `${m[1]} ${m[2]}` : m[1] as string);
  return [...out];
}

/** The commands this file drives (describe names below). */
const DRIVEN = ['dump', 'distill', 'dedup', 'relocate', 'check', 'finalize', 'retarget', 'resolve-btfids', 'setup', 'kbuild install|uninstall', 'kbuild modfinal', 'kbuild finalize-batch'];

describe('the README', () => {
  it('has the option table --help prints, row for row', () => {
    const readme = readFileSync(join(REPO, 'README.md'), 'utf8');
    expect(readme).toContain(`${vocabularyMarkdown()}\n`);
    const help = modbtf(['--help']);
    expect(help.status).toBe(0);
    for (const r of VOCABULARY) expect(help.stdout).toContain(`  ${r.option} `);
    expect(help.stdout).toContain('dump -j is --json, as bpftool -j');
  });

  it('lists exactly the commands driven here', () => {
    expect(readmeCommands().sort()).toEqual(DRIVEN.map((c) => c.replace(/\|uninstall$/, '')).sort());
  });
});

describe('dump', () => {
  it('-b, -B, --base, --built-with: a release, or a path, as bpftool -B (raw and -j/--json)', () => {
    const raw = text('btf/tcp_bbr.bpftool.txt.gz');
    const json = text('btf/tcp_bbr.bpftool.json.gz');
    for (const args of [['-b', R107], ['-B', R107], ['--base', R107], ['--built-with', R107], ['--base', join(root, `usr/src/linux-headers-${R107}/vmlinux`)]]) {
      const r = modbtf(['dump', ...args, BBR_XZ]);
      expect(r.stderr).toBe('');
      expect(r.status).toBe(0);
      expect(r.stdout === raw, args.join(' ')).toBe(true);
    }
    for (const j of ['-j', '--json']) expect(modbtf(['dump', j, '-b', R107, BBR_XZ]).stdout === json, j).toBe(true);
  });

  it('split BTF over the vmlinux of another kernel: dumped as bpftool dumps it, after a warning that says so', () => {
    const r = modbtf(['dump', '-b', R117, BBR_XZ]);
    expect(r.status).toBe(0);
    expect(r.stderr).toMatch(new RegExp(`^modbtf: warning: .*tcp_bbr\\.ko\\.xz: \\.BTF: type \\[\\d+\\]: built for another kernel: .*its vermagic names ${R107.replace(/[.+]/g, '\\$&')}, that vmlinux is ${R117.replace(/[.+]/g, '\\$&')}: give -b/--base ${R107.replace(/[.+]/g, '\\$&')}.*the names printed below are wrong`));
    expect(r.stdout).toMatch(/^\[112769\] /);
  });
});

describe('distill', () => {
  it('-b/--base with a release, -o/--output: libbpf\'s distilled base and split', () => {
    for (const args of [['-b', R107, '-o'], ['--base', R107, '--output'], ['--built-with', R107, '-o']]) {
      const out = join(dir, `d${n++}`);
      const r = modbtf(['distill', ...args, out, BBR_XZ]);
      expect(r.stderr).toBe('');
      expect(r.status).toBe(0);
      expect(firstDiff(readFileSync(join(out, 'tcp_bbr.BTF.base')), fixtureBytes('btf/tcp_bbr.dbase.btf.gz'))).toBeUndefined();
      expect(firstDiff(readFileSync(join(out, 'tcp_bbr.BTF')), fixtureBytes('btf/tcp_bbr.dsplit.btf.gz'))).toBeUndefined();
    }
  });

  it('built for another kernel: the module named first, then section and type id, then which kernel to give; exit 2', () => {
    const out = join(dir, `d${n++}`);
    const r = modbtf(['distill', '-b', R117, '-o', out, BBR_XZ]);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(new RegExp(`^modbtf: [^ ]*tcp_bbr\\.ko\\.xz: \\.BTF: type \\[112769\\]: built for another kernel: its \\.BTF is not valid over .*/lib/modules/${R117.replace(/[.+]/g, '\\$&')}/build/vmlinux \\(\\+0x18: Invalid name_offset:\\d+\\); its vermagic names ${R107.replace(/[.+]/g, '\\$&')}`));
    expect(r.stderr).not.toMatch(/vmlinux[^ ]*: type \[/);
    expect(existsSync(out)).toBe(false);
  });

  it('-o naming an existing file: input error (2), not a crash (70)', () => {
    const file = join(dir, `f${n++}`);
    writeFileSync(file, 'x');
    const r = modbtf(['distill', '-b', R107, '-o', file, BBR_XZ]);
    expect(r.status).toBe(2);
    expect(r.stderr).toBe(`modbtf: ${file}: -o names a file that exists, not a directory: distill writes <name>.BTF and <name>.BTF.base into the directory -o names (made when missing); for the module itself, --in-place\n`);
  });

  it('without -b: says -b/--base is missing and where help is', () => {
    const r = modbtf(['distill', '-o', dir, BBR_XZ]);
    expect(r.status).toBe(2);
    expect(r.stderr).toBe('modbtf: distill: missing -b/--base\nTry \'modbtf distill --help\'.\n');
  });
});

describe('dedup', () => {
  it('-b/--base with a release, -o/--output, --libbpf: libbpf 1.7.0\'s and the fixed libbpf\'s btf__dedup bytes', () => {
    const input = place('dedup/k7fix-pahole.in.btf.gz', 'k7fix.BTF.1');
    for (const [args, libbpf] of [[['-b', R72, '-o'], '1.7.0'], [['--base', R72, '--output'], 'fixed'], [['--btf_base', R72, '-o'], 'fixed']] as const) {
      const out = join(dir, `dd${n++}`);
      const r = modbtf(['dedup', ...args, out, '--libbpf', libbpf, input]);
      expect(r.stderr).toBe('');
      expect(r.status).toBe(0);
      expect(firstDiff(readFileSync(out), fixtureBytes(`dedup/k7fix-pahole.${libbpf}.btf.gz`))).toBeUndefined();
    }
  });

  it('without -b the input is standalone BTF', () => {
    const out = join(dir, `dd${n++}`);
    const r = modbtf(['dedup', '-o', out, place('dedup/standalone.in.btf.gz', 's.btf')]);
    expect(r.status).toBe(0);
    expect(firstDiff(readFileSync(out), fixtureBytes('dedup/standalone.fixed.btf.gz'))).toBeUndefined();
  });

  it('a module built for another kernel: named first, exit 2, nothing written', () => {
    const out = join(dir, `dd${n++}`);
    const r = modbtf(['dedup', '-b', R117, '-o', out, BBR_XZ]);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/^modbtf: [^ ]*tcp_bbr\.ko\.xz: \.BTF: type \[\d+\]: built for another kernel: /);
    expect(existsSync(out)).toBe(false);
  });

  it('without -o: says -o/--output is missing and where help is', () => {
    const r = modbtf(['dedup', '-b', R72, BBR_XZ]);
    expect(r.status).toBe(2);
    expect(r.stderr).toBe('modbtf: dedup: missing -o/--output\nTry \'modbtf dedup --help\'.\n');
  });
});

describe('relocate', () => {
  it('-k/--kernel the target, -b/--base (or --built-with) the build kernel, both as releases: libbpf\'s bytes and id map', () => {
    for (const args of [['-b', R107, '-k', R117], ['--base', R107, '--kernel', R117], ['--built-with', R107, '-k', R117]]) {
      const out = join(dir, `r${n++}.btf`);
      const map = join(dir, `r${n++}.map`);
      const r = modbtf(['relocate', ...args, '-o', out, '--id-map', map, BBR_XZ]);
      expect(r.stderr).toBe('');
      expect(r.status).toBe(0);
      expect(firstDiff(readFileSync(out), fixtureBytes('btf/tcp_bbr.reloc117.btf.gz'))).toBeUndefined();
      expect(readFileSync(map, 'utf8')).toBe(text('btf/tcp_bbr.reloc117.idmap.gz'));
    }
  });

  it('the old `relocate -b TARGET` is refused with the new spelling, never read as the build kernel', () => {
    for (const args of [['-b', R117], ['--built-with', R107, '-b', R117], ['--base', R117]]) {
      const r = modbtf(['relocate', ...args, BBR_XZ]);
      expect(r.status).toBe(2);
      expect(r.stdout).toBe('');
      expect(r.stderr).toBe('modbtf: relocate: -b/--base used to name the kernel to relocate onto; that is -k/--kernel now, and -b/--base is the kernel the module was built against, as in every command: modbtf relocate -k TARGET [-b BUILT] MODULE\nTry \'modbtf relocate --help\'.\n');
    }
  });

  it('built for another kernel: named as such, exit 2', () => {
    const r = modbtf(['relocate', '-b', R117, '-k', R117, BBR_XZ]);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/^modbtf: [^ ]*tcp_bbr\.ko\.xz: \.BTF: type \[112769\]: built for another kernel: /);
  });
});

describe('check', () => {
  it('-k/--kernel and -b/--base (or --built-with) as releases, -j/--jobs, --json', () => {
    for (const args of [['-b', R107, '-k', R117], ['--base', R107, '--kernel', R117, '--jobs', '1'], ['--built-with', R107, '-k', R117, '-j', '2']]) {
      const r = modbtf(['check', ...args, BBR_XZ]);
      expect(r.stderr).toBe('');
      expect(r.status).toBe(0);
      expect(r.stdout).toMatch(/tcp_bbr\.ko\.xz: keeps its BTF \(12 distilled base types match\)\n1 module checked against .*: 1 keep BTF, 0 lose BTF, 0 errors\n$/);
    }
    const j = modbtf(['check', '--json', '-b', R107, '-k', R117, BBR_XZ]);
    expect(JSON.parse(j.stdout)).toMatchObject({ summary: { modules: 1, ok: 1, losesBtf: 0, errors: 0 } });
  });

  it('a module on the very kernel it was built for: no note that its .BTF_ids would name other types', () => {
    const ko = place('btfids/nf_conntrack.resolved.ko.gz', 'nf_conntrack.ko');
    const same = modbtf(['check', '-b', R107, '-k', R107, ko]);
    expect(same.status).toBe(0);
    expect(same.stdout).not.toMatch(/note:/);
    const other = modbtf(['check', '-b', R107, '-k', R117, ko]);
    expect(other.status).toBe(0);
    expect(other.stdout).toMatch(/note: \.BTF_ids entries the kernel does not relocate .* will name other types on this kernel: /);
  });

  it('built for another kernel: the module first, a proper plural, exit 2', () => {
    const r = modbtf(['check', '-b', R117, '-k', R117, BBR_XZ]);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/^modbtf: [^ ]*tcp_bbr\.ko\.xz: \.BTF: type \[112769\]: built for another kernel: /);
    expect(r.stdout).toMatch(/: 0 keep BTF, 0 lose BTF, 1 error\n$/);
  });

  it('a vmlinux without BTF is not called a module', () => {
    const vm = join(dir, `nobtf${n++}`);
    writeFileSync(vm, fixtureBytes('btfids/vmlinux-6.12.107.elf.gz'));
    expect(spawnSync('objcopy', ['--remove-section=.BTF', vm]).status).toBe(0);
    const r = modbtf(['check', '-b', vm, '-k', R117, BBR_XZ]);
    expect(r.status).toBe(2);
    expect(r.stderr).toBe(`modbtf: ${vm}: no .BTF section: this vmlinux has no BTF (its kernel was built without CONFIG_DEBUG_INFO_BTF); give a vmlinux with BTF, that kernel's /sys/kernel/btf/vmlinux, or a release whose headers carry one\n`);
    expect(r.stderr).not.toMatch(/module/);
  });

  it('a directory named that holds no module: exit 2 saying what was searched; an empty list on stdin: exit 0 with a note', () => {
    const empty = join(dir, `empty${n++}`);
    mkdirSync(join(empty, 'sub'), { recursive: true });
    writeFileSync(join(empty, 'sub', 'README'), 'no module\n');
    const r = modbtf(['check', '-k', R117, empty]);
    expect(r.status).toBe(2);
    expect(r.stderr).toBe(`modbtf: ${empty}: no modules here: searched this directory and every one below it for *.ko, *.ko.xz, *.ko.zst and *.ko.gz (symbolic links to directories are not followed)\n`);
    const s = modbtf(['check', '-k', R117, '-'], { input: '\n' });
    expect(s.status).toBe(0);
    expect(s.stderr).toBe('modbtf: note: the list on stdin names no module; nothing checked\n');
  });

  it('a damaged .ko.xz is bad input (2); xz missing is a tool failure (3)', () => {
    const good = readFileSync(BBR_XZ);
    const cut = join(dir, `cut${n++}.ko.xz`);
    writeFileSync(cut, good.subarray(0, good.length >> 1));
    const r = modbtf(['check', '-b', R107, '-k', R117, cut]);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(new RegExp(`^modbtf: ${cut.replace(/[.+]/g, '\\$&')}: xz data is damaged \\(xz -t: .+\\): the file is not a module as kbuild compresses it; reinstall or rebuild it\\n$`));
    const noXz = modbtf(['check', '-b', R107, '-k', R117, BBR_XZ], { env: { PATH: join(dir, 'no-bin') } });
    expect(noXz.status).toBe(3);
    expect(noXz.stderr).toMatch(/tcp_bbr\.ko\.xz: xz not found \(install the Debian package xz-utils\)/);
  });
});

describe('finalize', () => {
  it('-b/--base and -k/--kernel (or --check-kernel) as releases: resolve_btfids\' bytes, relocation predicted', () => {
    for (const args of [['-b', R107, '-k', R117], ['--base', R107, '--kernel', R117], ['--built-with', R107, '--check-kernel', R117]]) {
      const ko = place('btfids/tcp_bbr.pristine.ko.gz', 'tcp_bbr.ko');
      const r = modbtf(['finalize', '--distill', ...args, ko]);
      expect(r.stderr).toBe('');
      expect(r.status).toBe(0);
      expect(r.stdout).toMatch(/tcp_bbr\.ko: finalized \(distilled base \d+ bytes; .*\); keeps its BTF on the -k\/--kernel kernel\n/);
      expect(firstDiff(readFileSync(ko), fixtureBytes('btfids/tcp_bbr.distilled.resolved.ko.gz'))).toBeUndefined();
    }
  });

  it('without -b: the release the vermagic names, looked up; not found, said about the module', () => {
    const ko = place('btfids/tcp_bbr.pristine.ko.gz', 'tcp_bbr.ko');
    const r = modbtf(['finalize', '--distill', ko]);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(firstDiff(readFileSync(ko), fixtureBytes('btfids/tcp_bbr.distilled.resolved.ko.gz'))).toBeUndefined();
    const other = place('btfids/tcp_bbr.pristine.ko.gz', 'tcp_bbr.ko');
    const nowhere = join(dir, `nowhere${n++}`);
    const m = modbtf(['finalize', other], { env: { MODBTF_ROOT: nowhere } });
    expect(m.status).toBe(2);
    expect(m.stderr).toBe(`modbtf: ${other}: its vermagic names ${R107}: no vmlinux BTF found for kernel ${R107} (looked at ${nowhere}/usr/src/linux-headers-${R107}/vmlinux, ${nowhere}/lib/modules/${R107}/build/vmlinux, ${nowhere}/usr/lib/debug/boot/vmlinux-${R107}, ${nowhere}/usr/lib/debug/lib/modules/${R107}/vmlinux); install linux-headers-${R107}, or give -b/--base the vmlinux (or release) it was built against\n`);
  });

  it('-n/--dry-run writes nothing; -j/--jobs, --json', () => {
    for (const args of [['-n', '-j', '1'], ['--dry-run', '--jobs', '2']]) {
      const ko = place('btfids/tcp_bbr.pristine.ko.gz', 'tcp_bbr.ko');
      const r = modbtf(['finalize', '--json', '-b', R107, ...args, ko]);
      expect(r.status).toBe(0);
      expect(JSON.parse(r.stdout)).toMatchObject({ summary: { modules: 1, wouldWrite: 1, errors: 0 } });
      expect(firstDiff(readFileSync(ko), fixtureBytes('btfids/tcp_bbr.pristine.ko.gz'))).toBeUndefined();
    }
  });

  it('built for another kernel, with the vermagic\'s release; the file untouched', () => {
    const ko = place('btfids/tcp_bbr.pristine.ko.gz', 'tcp_bbr.ko');
    const r = modbtf(['finalize', '-b', R117, ko]);
    expect(r.status).toBe(2);
    expect(r.stderr).toContain(`tcp_bbr.ko: .BTF: type [112769]: built for another kernel: `);
    expect(r.stderr).toContain(`its vermagic names ${R107}, that vmlinux is ${R117}: give -b/--base ${R107}`);
    expect(firstDiff(readFileSync(ko), fixtureBytes('btfids/tcp_bbr.pristine.ko.gz'))).toBeUndefined();
  });

  it('an unknown option before the module is named, with the command\'s help', () => {
    const r = modbtf(['finalize', '-b', R107, '--bogus', 'X']);
    expect(r.status).toBe(2);
    expect(r.stderr).toBe('modbtf: finalize: unknown option --bogus\nTry \'modbtf finalize --help\'.\n');
    const missing = modbtf(['finalize', '-b', R107]);
    expect(missing.stderr).toBe('modbtf: finalize: missing <modules..>\nTry \'modbtf finalize --help\'.\n');
  });
});

describe('retarget', () => {
  it('-k/--kernel and -b/--base (or --built-with) as releases, -n/--dry-run, --json', () => {
    for (const args of [['-k', R117, '-b', R107], ['--kernel', R117, '--base', R107], ['-k', R117, '--built-with', R107]]) {
      const ko = place('btfids/nf_conntrack.resolved.ko.gz', 'nf_conntrack.ko');
      const r = modbtf(['retarget', ...args, ko]);
      // Only the .BTF_ids entries retarget corrected (plain lists the kernel never relocates).
      expect(r.stderr.split('\n').filter((l) => l !== '' && !/^.*nf_conntrack\.ko: struct \w+ in \.BTF_ids is now \d+; /.test(l))).toEqual([]);
      expect(r.status).toBe(0);
      expect(r.stdout).toMatch(new RegExp(`nf_conntrack\\.ko: retargeted onto .*/lib/modules/${R117.replace(/[.+]/g, '\\$&')}/build/vmlinux \\(distilled first; `));
    }
    const ko = place('btfids/nf_conntrack.resolved.ko.gz', 'nf_conntrack.ko');
    const j = modbtf(['retarget', '--json', '-n', '-k', R117, '-b', R107, ko]);
    expect(j.status).toBe(0);
    expect(JSON.parse(j.stdout)).toMatchObject({ summary: { modules: 1, rewritten: 1, errors: 0 } });
    expect(firstDiff(readFileSync(ko), fixtureBytes('btfids/nf_conntrack.resolved.ko.gz'))).toBeUndefined();
  });

  it('a damaged .ko.xz: said once, exit 2', () => {
    const good = readFileSync(BBR_XZ);
    const cut = join(dir, `cut${n++}.ko.xz`);
    writeFileSync(cut, good.subarray(0, good.length >> 1));
    const r = modbtf(['retarget', '-k', R117, cut]);
    expect(r.status).toBe(2);
    expect(r.stderr.split('\n').filter((l) => l.includes('xz data is damaged')).length).toBe(1);
  });

  it('a directory named that holds no module: exit 2', () => {
    const empty = join(dir, `empty${n++}`);
    mkdirSync(empty);
    const r = modbtf(['retarget', '-k', R117, empty]);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/no modules here: searched this directory/);
  });
});

describe('resolve-btfids', () => {
  it('--help shows both interfaces and when each is used; --distill_base --help is 7.x\'s help, not an unknown option', () => {
    const h = modbtf(['resolve-btfids', '--help']);
    expect(h.status).toBe(129);
    expect(h.stderr.startsWith(text('btfids/edge/cli_help.rb.txt').split('stderr:\n')[1] ?? '-')).toBe(true);
    expect(h.stderr).toContain('--distill_base    distill --btf_base and emit .BTF.base section data');
    expect(h.stderr).toContain('It is 7.x when the line has --distill_base or --patch_btfids');
    const d = modbtf(['resolve-btfids', '--distill_base', '--help']);
    expect(d.status).toBe(129);
    expect(d.stderr).not.toMatch(/unknown option/);
    expect(d.stderr).toMatch(/^\n Usage: resolve_btfids \[<options>\] <ELF object>\n    or: resolve_btfids --patch_btfids/);
  });
});

describe('setup', () => {
  it('-k/--kernel RELEASE and -n/--dry-run: hooks that release\'s headers only, writes nothing', () => {
    const sroot = join(dir, `setup${n++}`);
    const tree = join(sroot, `usr/src/linux-headers-${R107}`);
    mkdirSync(join(tree, 'scripts'), { recursive: true });
    writeFileSync(join(tree, 'Makefile'), 'all:\n');
    for (const args of [['-n', '-k', R107], ['--dry-run', '--kernel', R107]]) {
      const r = modbtf(['setup', ...args], { env: { MODBTF_SETUP_ROOT: sroot } });
      expect(r.status).toBe(0);
      expect(r.stdout).toContain(`would hook ${tree}/Makefile`);
      expect(readFileSync(join(tree, 'Makefile'), 'utf8')).toBe('all:\n');
    }
    const bad = modbtf(['setup', '--remove', '-k', R107], { env: { MODBTF_SETUP_ROOT: sroot } });
    expect(bad.status).toBe(2);
    expect(bad.stderr).toBe('modbtf: setup: --remove undoes the whole setup; it takes no --kernel\nTry \'modbtf setup --help\'.\n');
  });
});

describe('kbuild', () => {
  it('install|uninstall KDIR', () => {
    const kdir = join(dir, `kdir${n++}`);
    mkdirSync(join(kdir, 'scripts'), { recursive: true });
    writeFileSync(join(kdir, 'Makefile'), 'all:\n');
    writeFileSync(join(kdir, 'scripts/Makefile.modfinal'), '# stand-in\n');
    const i = modbtf(['kbuild', 'install', kdir]);
    expect(i.status, i.stderr).toBe(0);
    expect(i.stdout).toMatch(/^installed: /);
    const u = modbtf(['kbuild', 'uninstall', kdir]);
    expect(u.status).toBe(0);
    expect(u.stdout).toBe(`removed modbtf from ${kdir}\n`);
  });

  it('modfinal: an option kbuild never passes is named; no module: said so, with the help to read', () => {
    const r = modbtf(['kbuild', 'modfinal', '--bogus=1', 'm.ko']);
    expect(r.status).toBe(2);
    expect(r.stderr).toBe('modbtf: kbuild: unknown option --bogus\nTry \'modbtf kbuild --help\'.\n');
    const none = modbtf(['kbuild', 'modfinal']);
    expect(none.status).toBe(2);
    expect(none.stderr).toBe('modbtf: kbuild: modfinal needs a module\nTry \'modbtf kbuild --help\'.\n');
  });

  it('finalize-batch with nothing recorded: exit 0 with a note', () => {
    const r = modbtf(['kbuild', 'finalize-batch', join(dir, 'never-built.ko')]);
    expect(r.status).toBe(0);
    expect(r.stderr).toBe('modbtf: note: kbuild finalize-batch: no record (.<module>.ko.modbtf, written by Makefile.snippet\'s per-module step) for the module named; nothing to finish\n');
  });

  it('the kernel hook on a machine without updates/: exit 0 with a note', () => {
    const mods = join(dir, `lm${n++}`);
    mkdirSync(join(mods, R117, 'build'), { recursive: true });
    copyFileSync(fixturePath('btf/vmlinux-6.12.117.btf.gz'), join(mods, R117, 'build', 'vmlinux'));
    const r = spawnSync('sh', [HOOK, R117], {
      encoding: 'utf8',
      env: { PATH: process.env['PATH'] ?? '/usr/bin:/bin', MODBTF_CMD: `${process.execPath} ${CLI}`, MODBTF_CONFIG: join(dir, 'no-config'), MODBTF_MODULES_ROOT: mods, MODBTF_RUNNING: R107, MODBTF_HEADERS_ROOT: join(dir, 'no-headers'), MODBTF_RUNNING_BTF: join(dir, 'no-btf') },
    });
    expect(r.status).toBe(0);
    expect(r.stdout).toBe(`modbtf: no out-of-tree modules to check against kernel ${R117} (looked in ${mods}/${R107}/updates)\n`);
  });
});

describe('usage', () => {
  it('`modbtf` alone prints the command list (exit 2)', () => {
    const r = modbtf([]);
    expect(r.status).toBe(2);
    for (const c of ['dump', 'distill', 'relocate', 'check', 'finalize', 'retarget', 'resolve-btfids', 'kbuild', 'setup']) expect(r.stderr).toMatch(new RegExp(`^  modbtf ${c}\\b`, 'm'));
  });

  it('an unknown command names the commands; a bad choice and a missing value name the option', () => {
    expect(modbtf(['frobnicate']).stderr).toMatch(/^modbtf: unknown command frobnicate; the commands are dump, distill, dedup, relocate, check, finalize, retarget, resolve-btfids, kbuild, setup/);
    expect(modbtf(['finalize', '--kernel-abi', '8', 'm.ko']).stderr).toBe('modbtf: finalize: --kernel-abi: "8" is not one of "6", "7.2", "7.3", "7"\nTry \'modbtf finalize --help\'.\n');
    expect(modbtf(['check', '-k', R117, 'm.ko', '-b']).stderr).toBe('modbtf: check: --base needs a value\nTry \'modbtf check --help\'.\n');
    expect(modbtf(['check', '-k', R117, '-b', R107, '--base', R117, 'm.ko']).stderr).toMatch(/^modbtf: check: --base is given more than once \(its spellings: --base, -b, --built-with, --btf-base, --btf_base\)\n/);
  });

  it('a kernel that is neither a file nor an installed release', () => {
    const r = modbtf(['check', '-k', '6.12.999+deb12-amd64', BBR_XZ]);
    expect(r.status).toBe(2);
    expect(r.stderr).toBe(`modbtf: 6.12.999+deb12-amd64: no vmlinux BTF found for kernel 6.12.999+deb12-amd64 (looked at ${root}/usr/src/linux-headers-6.12.999+deb12-amd64/vmlinux, ${root}/lib/modules/6.12.999+deb12-amd64/build/vmlinux, ${root}/usr/lib/debug/boot/vmlinux-6.12.999+deb12-amd64, ${root}/usr/lib/debug/lib/modules/6.12.999+deb12-amd64/vmlinux); install linux-headers-6.12.999+deb12-amd64 or give a vmlinux path\n`);
    const typo = modbtf(['check', '-k', 'vmlinux-117.btf', BBR_XZ]);
    expect(typo.stderr).toMatch(/^modbtf: vmlinux-117\.btf: no such file \(a kernel is named by its vmlinux/);
  });
});
