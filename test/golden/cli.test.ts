// The commands as users run them (the built CLI in a child process), checked against
// libbpf v1.7.0 and bpftool 7.1 outputs in test/fixtures/btf.
import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fixtureBytes, fixturePath, firstDiff } from '../helpers/fixtures.js';

const CLI = join(fixturePath('..'), '..', 'dist', 'bundle', 'main.js');
const V107 = fixturePath('btf/vmlinux-6.12.107.btf.gz');
const V117 = fixturePath('btf/vmlinux-6.12.117.btf.gz');

function modbtf(...args: string[]): { status: number | null; stdout: string; stderr: string } {
  return modbtfIn('', ...args);
}

function modbtfIn(input: string, ...args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', maxBuffer: 1 << 28, input });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

function text(rel: string): string {
  return new TextDecoder().decode(fixtureBytes(rel));
}

describe('modbtf dump', () => {
  it('a shipped signed .ko.xz over vmlinux equals bpftool 7.1, raw and -j', () => {
    const raw = modbtf('dump', '--base', V107, fixturePath('modules/tcp_bbr.ko.xz'));
    expect(raw.status).toBe(0);
    expect(raw.stdout).toBe(text('btf/tcp_bbr.bpftool.txt.gz'));
    const json = modbtf('dump', '-j', '--base', V107, fixturePath('modules/tcp_bbr.ko.xz'));
    expect(json.stdout).toBe(text('btf/tcp_bbr.bpftool.json.gz'));
  });

  it('split BTF without a base: exit 2 and a hint', () => {
    const r = modbtf('dump', fixturePath('modules/tcp_bbr.ko.xz'));
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/tcp_bbr\.ko\.xz: \.BTF\+0x[0-9a-f]+: .*give the kernel it was built against, -b\/--base/);
    expect(r.stdout).toBe('');
  });

  it('a missing file: exit 2 naming it', () => {
    const r = modbtf('dump', '/nonexistent/x.ko');
    expect(r.status).toBe(2);
    expect(r.stderr).toBe('modbtf: /nonexistent/x.ko: no such file\n');
  });
});

describe('modbtf distill / relocate', () => {
  it('distill writes the libbpf distilled base and split; relocate onto 6.12.117 gives libbpf\'s bytes and id map', () => {
    const dir = mkdtempSync(join(tmpdir(), 'modbtf-cli-'));
    try {
      const d = modbtf('distill', '-b', V107, '-o', dir, fixturePath('modules/tcp_bbr.ko.xz'));
      expect(d.stderr).toBe('');
      expect(d.status).toBe(0);
      expect(firstDiff(readFileSync(join(dir, 'tcp_bbr.BTF.base')), fixtureBytes('btf/tcp_bbr.dbase.btf.gz'))).toBeUndefined();
      expect(firstDiff(readFileSync(join(dir, 'tcp_bbr.BTF')), fixtureBytes('btf/tcp_bbr.dsplit.btf.gz'))).toBeUndefined();

      const out = join(dir, 'reloc.btf');
      const map = join(dir, 'idmap');
      const r = modbtf('relocate', '-b', V107, '-k', V117, '-o', out, '--id-map', map, fixturePath('modules/tcp_bbr.ko.xz'));
      expect(r.status).toBe(0);
      expect(firstDiff(readFileSync(out), fixtureBytes('btf/tcp_bbr.reloc117.btf.gz'))).toBeUndefined();
      expect(readFileSync(map, 'utf8')).toBe(text('btf/tcp_bbr.reloc117.idmap.gz'));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('modbtf check', () => {
  it('mac80211 loses its BTF on 6.12.117 for the reason libbpf gives; tcp_bbr keeps it', () => {
    const r = modbtf('check', '--built-with', V107, '--kernel', V117, fixturePath('btf/mac80211.btf.gz'), fixturePath('modules/tcp_bbr.ko.xz'));
    expect(r.status).toBe(1);
    const libbpf = readFileSync(fixturePath('btf/mac80211.reloc117.err'), 'utf8').trim().replace(/^libbpf: /, '');
    expect(r.stdout).toContain(`kernel log: ${libbpf}`);
    expect(r.stdout).toContain('struct wireless_dev [64]: size changed from 2096 to 2088 bytes');
    expect(r.stdout).toContain('struct ieee80211_sub_if_data.wdev');
    expect(r.stdout).toMatch(/2 modules checked .*: 1 keep BTF, 1 lose BTF, 0 errors/);
  });

  it('--json reports each module; a module without .BTF.base needs --built-with (exit 2)', () => {
    const j = modbtf('check', '--json', '--built-with', V107, '--kernel', V117, fixturePath('btf/kvm-intel.btf.gz'));
    expect(j.status).toBe(1);
    const doc = JSON.parse(j.stdout) as { summary: { losesBtf: number }; modules: { status: string; kernelMessage: string }[] };
    expect(doc.summary.losesBtf).toBe(1);
    expect(`libbpf: ${doc.modules[0]?.kernelMessage}\n`).toBe(readFileSync(fixturePath('btf/kvm-intel.reloc117.err'), 'utf8'));
    const e = modbtf('check', '--kernel', V117, fixturePath('modules/tcp_bbr.ko.xz'));
    expect(e.status).toBe(2);
    expect(e.stderr).toMatch(/no \.BTF\.base.*-b\/--base/);
  });
});

describe('modbtf check over many modules (worker threads, list on stdin)', () => {
  it('agrees with libbpf on which golden modules fail, grouped by cause', () => {
    const names = readFileSync(fixturePath('btf/MANIFEST.tsv'), 'utf8').trim().split('\n').slice(1)
      .map((l) => l.split('\t')).filter((c) => c[1] === 'module-btf').map((c) => (c[0] as string).replace(/\.btf\.gz$/, ''));
    const failing = names.filter((n) => existsSync(fixturePath(`btf/${n}.reloc117.err`))).sort();
    expect(failing.length).toBeGreaterThan(0);
    const list = names.map((n) => fixturePath(`btf/${n}.btf.gz`)).join('\n');
    const r = modbtfIn(list, 'check', '-j', '2', '--json', '--built-with', V107, '--kernel', V117, '-');
    expect(r.status).toBe(1);
    const doc = JSON.parse(r.stdout) as { summary: { modules: number; ok: number; losesBtf: number; errors: number }; causes: Record<string, string[]>; modules: { file: string; status: string; kernelMessage?: string }[] };
    expect(doc.summary).toEqual({ modules: names.length, checked: names.length, ok: names.length - failing.length, losesBtf: failing.length, errors: 0 });
    const lost = doc.modules.filter((m) => m.status === 'loses-btf').map((m) => m.file.replace(/^.*\/(.*)\.btf\.gz$/, '$1')).sort();
    expect(lost).toEqual(failing);
    for (const m of doc.modules.filter((x) => x.status === 'loses-btf')) {
      const name = m.file.replace(/^.*\/(.*)\.btf\.gz$/, '$1');
      expect(`libbpf: ${m.kernelMessage}\n`).toBe(readFileSync(fixturePath(`btf/${name}.reloc117.err`), 'utf8'));
    }
    expect(doc.causes['struct wireless_dev: size changed from 2096 to 2088 bytes']).toEqual([fixturePath('btf/mac80211.btf.gz')]);
  });
});
