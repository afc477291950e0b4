/**
 * .BTF_ids against Debian's 6.12 resolve_btfids (test/fixtures/btfids, copied from
 * shared/golden/btfids; PROVENANCE.md): every golden case is replayed, the fixture
 * module and Debian modules (btfids/*.rb.txt) and the synthetic edge cases
 * (btfids/edge/*.rb.txt), comparing exit status, stderr and the whole file.
 *
 *  1. The library: scan + resolve + elfUpdateImage on every pristine module, whole
 *     file bytes and warning texts.
 *  2. The resolve-btfids command in-process (runResolveBtfids) on every case, in a
 *     scratch directory with the golden command line.
 *  3. The command as a process (node on the built dist/) for a few cases.
 *  4. Remapping: resolved against vmlinux -> distill (lib/distill) -> remap equals
 *     resolve_btfids run on the distilled object from scratch.
 *
 * Deliberate differences from resolve_btfids (see cli/commands/resolve-btfids.ts) are
 * listed in DEVIATIONS with the reason; those cases check modbtf's behaviour instead.
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { Btf } from '../../lib/btf/btf.js';
import { readElfBtf } from '../../lib/btf/source.js';
import { distill } from '../../lib/distill/index.js';
import { parseElf, type ElfFile } from '../../lib/elf/index.js';
import {
  elfUpdateImage, remapBtfIds, resolveBtfIds, scanBtfIds, type Diagnostic,
} from '../../lib/btfids/index.js';
import { runResolveBtfids } from '../../cli/commands/resolve-btfids.js';
import { fixtureBytes, fixturePath, firstDiff } from '../helpers/fixtures.js';
import { INTERFACE_CHOICE_HELP } from '../../cli/commands/resolve-btfids-choice.js';

const DIR = 'btfids';
const EDGE = 'btfids/edge';

interface GoldenCase {
  /** `btfids/<name>` or `btfids/edge/<name>` */
  id: string;
  dir: string;
  name: string;
  argv: string[];
  /** Exit status; negative: killed by that signal. */
  exit: number;
  stderr: string;
  /** The object's file name in the command. */
  object: string;
  pristine: string | undefined;
  resolved: string | undefined;
  /** Extra inputs: file name in the command -> fixture path. */
  extras: Map<string, string>;
}

function parseRb(dir: string, file: string): GoldenCase {
  const text = readFileSync(fixturePath(`${dir}/${file}`), 'utf8');
  const at = text.indexOf('\nstderr:\n');
  const head = text.slice(0, at).split('\n');
  const cmd = (head.find((l) => l.startsWith('cmd: ')) as string).slice('cmd: '.length).split(' ').filter((x) => x !== '');
  const exitLine = head.find((l) => l.startsWith('exit: ')) as string;
  const name = file.replace(/\.rb(-vv?)?\.txt$/, '');
  const argv = cmd.slice(1);
  const ext = dir === EDGE ? 'o' : 'ko';
  const has = (f: string): string | undefined => (existsSync(fixturePath(`${dir}/${f}`)) ? `${dir}/${f}` : undefined);
  const extras = new Map<string, string>();
  for (const f of readdirSync(fixturePath(dir))) {
    const m = new RegExp(`^${name.replace(/\./g, '\\.')}\\.([^.]+\\.btf)\\.gz$`).exec(f);
    if (m) extras.set(m[1] as string, `${dir}/${f}`);
  }
  return {
    id: `${dir}/${file.replace(/\.txt$/, '')}`,
    dir,
    name,
    argv,
    exit: Number.parseInt(exitLine.slice('exit: '.length), 10),
    stderr: text.slice(at + '\nstderr:\n'.length),
    // Edge cases always run on obj.o (edge/GOLDEN-README.md); modules are the last argument.
    object: dir === EDGE ? 'obj.o' : (argv[argv.length - 1] as string),
    pristine: has(`${name}.pristine.${ext}.gz`),
    resolved: has(`${name}.resolved.${ext}.gz`),
    extras,
  };
}

const cases: GoldenCase[] = [
  ...readdirSync(fixturePath(DIR)).filter((f) => /\.rb(-vv?)?\.txt$/.test(f)).sort().map((f) => parseRb(DIR, f)),
  ...readdirSync(fixturePath(EDGE)).filter((f) => f.endsWith('.rb.txt')).sort().map((f) => parseRb(EDGE, f)),
];

let vmlinuxBtf: Btf | undefined;
const vmlinux = (): Btf => (vmlinuxBtf ??= readElfBtf(parseElf(fixtureBytes(`${DIR}/vmlinux-6.12.107.elf.gz`), { file: 'vmlinux' })).btf);

const scratch: string[] = [];
function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'modbtf-btfids-'));
  scratch.push(d);
  return d;
}
afterAll(() => {
  for (const d of scratch) rmSync(d, { recursive: true, force: true });
});

/** A scratch directory holding the case's object and extra inputs under their command-line names. */
function stage(c: GoldenCase): string {
  const d = tempDir();
  if (c.pristine !== undefined) writeFileSync(join(d, c.object), fixtureBytes(c.pristine));
  for (const [name, rel] of c.extras) writeFileSync(join(d, name), fixtureBytes(rel));
  if (c.argv.includes('vmlinux')) writeFileSync(join(d, 'vmlinux'), fixtureBytes(`${DIR}/vmlinux-6.12.107.elf.gz`));
  return d;
}

async function runInProcess(dir: string, argv: readonly string[]): Promise<{ exit: number; stderr: string; stdout: string }> {
  let stderr = '';
  let stdout = '';
  // File names (every non-option token, and the value of --opt=value) made absolute; the
  // scratch prefix is taken out of the messages again, which name paths as given.
  const abs = argv.map((a) => {
    if (!a.startsWith('-')) return join(dir, a);
    const eq = a.indexOf('=');
    return a.startsWith('--') && eq > 0 ? `${a.slice(0, eq + 1)}${join(dir, a.slice(eq + 1))}` : a;
  });
  const exit = await runResolveBtfids(abs, { stderr: (t) => { stderr += t; }, stdout: (t) => { stdout += t; } });
  return { exit, stderr: stderr.split(`${dir}/`).join(''), stdout };
}

function expectSameFile(what: string, got: Uint8Array, want: Uint8Array): void {
  const d = firstDiff(got, want);
  if (d !== undefined) expect.fail(`${what}: ${d}`);
}

/** Warnings and errors as resolve_btfids prints them (modbtf's own diagnostics left out). */
function printed(ds: readonly Diagnostic[]): string {
  return ds.filter((d) => d.level !== 'debug' && d.extension !== true).map((d) => `${d.message}\n`).join('');
}

// ---------------------------------------------------------------------------------
// Cases where modbtf differs from resolve_btfids on purpose.
type Deviation = 'untouched-on-failure' | 'no-crash' | 'fatal-warnings-accepted' | 'rerun-keeps-flags' | 'help-shows-both';
const DEVIATIONS: Readonly<Record<string, { kind: Deviation; why: string }>> = {
  'btfids/edge/patch_out_of_bounds.rb': { kind: 'untouched-on-failure', why: 'resolve_btfids leaves the slots patched before the failure in the file (shared mapping); modbtf writes atomically or not at all' },
  'btfids/edge/bad_section_alignment.rb': { kind: 'untouched-on-failure', why: 'the patched .BTF_ids is in the file although libelf refused to write; modbtf leaves the input untouched' },
  'btfids/edge/set_size_zero.rb': { kind: 'no-crash', why: 'resolve_btfids sorts 2^32 entries and dies of SIGSEGV; modbtf reports the bad count (exit 255) and leaves the file alone' },
  'btfids/edge/cli_unknown_option.rb': { kind: 'fatal-warnings-accepted', why: '--fatal_warnings is modbtf\'s extension (kernel 7.0 passes it); 6.12 rejects it as unknown' },
  'btfids/btfids_fixture.rerun.rb': { kind: 'rerun-keeps-flags', why: 'a second run pairs set8 ids with other ids\' flags in resolve_btfids; modbtf recognises its own output and changes nothing' },
  'btfids/nf_conntrack.rerun.rb': { kind: 'rerun-keeps-flags', why: 'as btfids_fixture.rerun: bpf_ct_release would get KF_ACQUIRE|KF_RELEASE|KF_RET_NULL' },
  'btfids/edge/cli_help.rb': { kind: 'help-shows-both', why: 'modbtf resolve-btfids is 6.12\'s, 7.2\'s and 7.3\'s tool: after the tool\'s usage block (byte for byte) its help shows the other interface\'s block and says which tool it is when; with MODBTF_KERNEL_ABI set it is exactly that tool\'s' },
};

/** After the tool's own help: the other interface's usage block, then how modbtf chooses which resolve_btfids to be. */
function expectHelpShowsBoth(stderr: string, tool: string): void {
  expect(stderr.startsWith(tool)).toBe(true);
  const more = stderr.slice(tool.length);
  expect(more).toContain('    or: resolve_btfids --patch_btfids <.BTF_ids file> <ELF object>\n');
  expect(more).toContain('        --distill_base    distill --btf_base and emit .BTF.base section data\n');
  expect(more.endsWith(INTERFACE_CHOICE_HELP)).toBe(true);
  for (const v of ['6.12', '7.2', '7.3']) expect(more).toContain(`   ${v} `);
}

describe('golden data', () => {
  it('is all there', () => {
    expect(cases.filter((c) => c.dir === DIR).length).toBe(12);
    expect(cases.filter((c) => c.dir === EDGE).length).toBe(40);
  });

  it('is unchanged: sha256 of every file as SHA256SUMS.tsv says', () => {
    for (const dir of [DIR, EDGE]) {
      const rows = readFileSync(fixturePath(`${dir}/SHA256SUMS.tsv`), 'utf8').split('\n').filter((l) => l && !l.startsWith('#'));
      for (const row of rows) {
        const [file, sha] = row.split('\t') as [string, string];
        // The edge README was edited after its checksum was taken (in shared/ too); the
        // data files are what matter.
        if (file === 'README.md') continue;
        const name = file;
        if (!existsSync(fixturePath(`${dir}/${name}`))) continue; // only the files copied here
        const bytes = name.endsWith('.gz') ? fixtureBytes(`${dir}/${name}`) : readFileSync(fixturePath(`${dir}/${name}`));
        expect(createHash('sha256').update(bytes).digest('hex'), `${dir}/${name}`).toBe(sha);
      }
    }
  });
});

describe('library: resolveBtfIds + elfUpdateImage on the pristine modules equal resolve_btfids -b vmlinux', () => {
  const modules = cases.filter((c) => c.dir === DIR && c.argv.join(' ').startsWith('-b vmlinux') && !c.name.endsWith('.rerun'));
  for (const c of modules) {
    it(`${c.name} (${c.id.replace(/^btfids\//, '')})`, () => {
      const elf = parseElf(fixtureBytes(c.pristine as string), { file: c.object });
      const { btf } = readElfBtf(elf, { base: vmlinux() });
      const r = resolveBtfIds(elf, btf, {});
      expect(r.section?.name).toBe('.BTF_ids');
      expect(printed(r.diagnostics)).toBe(c.stderr);
      expectSameFile(c.name, elfUpdateImage(elf, [{ section: r.section as NonNullable<typeof r.section>, bytes: r.sectionBytes }], r.alignmentFixes), fixtureBytes(c.resolved as string));
    });
  }

  it('-v / -vv debug lines equal btfids_fixture.rb-v.txt / rb-vv.txt (lines up to "update ok")', () => {
    for (const v of [1, 2] as const) {
      const c = cases.find((x) => x.id === `${DIR}/btfids_fixture.rb-${'v'.repeat(v)}`) as GoldenCase;
      const elf = parseElf(fixtureBytes(c.pristine as string), { file: c.object });
      const { btf } = readElfBtf(elf, { base: vmlinux() });
      const r = resolveBtfIds(elf, btf, { verbose: v });
      const lines = r.diagnostics.filter((d) => d.extension !== true && (d.level !== 'debug' || (d.verbosity ?? 1) <= v)).map((d) => `${d.message}\n`).join('');
      expect(`${lines}update ok for ${c.object}\n`).toBe(c.stderr);
    }
  });

  it('rerun cases: recoverResolved:false reproduces resolve_btfids exactly (set8 flags scrambled); the default changes nothing', () => {
    for (const name of ['btfids_fixture.rerun', 'nf_conntrack.rerun']) {
      const input = fixtureBytes(`${DIR}/${name}.pristine.ko.gz`);
      const elf = parseElf(input, { file: 'x.ko' });
      const { btf } = readElfBtf(elf, { base: vmlinux() });
      const tool = resolveBtfIds(elf, btf, { recoverResolved: false });
      const sec = tool.section as NonNullable<typeof tool.section>;
      expectSameFile(`${name} (tool behaviour)`, elfUpdateImage(elf, [{ section: sec, bytes: tool.sectionBytes }]), fixtureBytes(`${DIR}/${name}.resolved.ko.gz`));
      const ours = resolveBtfIds(elf, btf, {});
      expect(ours.recovered).toBe(true);
      expect(ours.changed).toBe(false);
      expectSameFile(`${name} (modbtf)`, ours.sectionBytes, elf.sectionData(sec));
      expect(printed(ours.diagnostics)).toBe(printed(tool.diagnostics));
    }
  });
});

describe('resolve-btfids command (in-process) replays every golden case', () => {
  for (const c of cases) {
    const dev = DEVIATIONS[c.id];
    it(`${c.id}${dev ? ` [deviation: ${dev.kind}]` : ''}`, async () => {
      const dir = stage(c);
      const before = c.pristine !== undefined ? fixtureBytes(c.pristine) : undefined;
      const got = await runInProcess(dir, c.argv);
      const objPath = join(dir, c.object);
      const after = existsSync(objPath) && before !== undefined ? new Uint8Array(readFileSync(objPath)) : undefined;
      if (dev === undefined) {
        expect(got.exit).toBe(c.exit);
        expect(got.stderr).toBe(c.stderr);
        expect(got.stdout).toBe('');
        if (c.resolved !== undefined && after !== undefined) expectSameFile(c.id, after, fixtureBytes(c.resolved));
        return;
      }
      switch (dev.kind) {
        case 'untouched-on-failure':
          expect(got.exit).toBe(c.exit);
          expect(got.stderr).toBe(c.stderr);
          expectSameFile(`${c.id} (untouched)`, after as Uint8Array, before as Uint8Array);
          break;
        case 'no-crash':
          expect(c.exit).toBeLessThan(0);
          expect(got.exit).toBe(255);
          expect(got.stderr).toMatch(/^FAILED set 'z': count -1 does not fit \.BTF_ids \(8 bytes\)\n$/);
          expectSameFile(`${c.id} (untouched)`, after as Uint8Array, before as Uint8Array);
          break;
        case 'fatal-warnings-accepted': {
          // Accepted, and with no warnings to print the run succeeds like a plain one.
          expect(got.exit).toBe(0);
          expect(got.stderr).toBe('');
          const plainDir = stage(c);
          const plain = await runInProcess(plainDir, c.argv.filter((a) => a !== '--fatal_warnings'));
          expect(plain.exit).toBe(0);
          expectSameFile(c.id, after as Uint8Array, new Uint8Array(readFileSync(join(plainDir, c.object))));
          // The unknown-option path itself, with an option that does not exist here either.
          const other = await runInProcess(stage(c), ['--no_such_option', c.object]);
          expect(other.exit).toBe(c.exit);
          expect(other.stderr).toBe(c.stderr.replace('fatal_warnings', 'no_such_option'));
          break;
        }
        case 'help-shows-both': {
          expect(got.exit).toBe(c.exit);
          expectHelpShowsBoth(got.stderr, c.stderr);
          expect(got.stdout).toBe('');
          // Forced to 6.12's interface it is that tool, byte for byte.
          process.env['MODBTF_KERNEL_ABI'] = '6';
          try {
            const forced = await runInProcess(stage(c), c.argv);
            expect(forced.stderr).toBe(c.stderr);
            expect(forced.exit).toBe(c.exit);
          } finally {
            delete process.env['MODBTF_KERNEL_ABI'];
          }
          break;
        }
        case 'rerun-keeps-flags':
          expect(got.exit).toBe(c.exit);
          expect(got.stderr).toBe(c.stderr);
          // Input == the first run's output: nothing changes.
          expectSameFile(`${c.id} (unchanged)`, after as Uint8Array, before as Uint8Array);
          expect(firstDiff(before as Uint8Array, fixtureBytes(c.resolved as string))).toBeDefined();
          break;
      }
    });
  }

  it('--fatal_warnings: warnings are printed, the object is written, exit status 255', async () => {
    const c = cases.find((x) => x.id === `${DIR}/btfids_fixture.rb`) as GoldenCase;
    const dir = stage(c);
    const got = await runInProcess(dir, ['--fatal_warnings', ...c.argv]);
    expect(got.exit).toBe(255);
    expect(got.stderr).toBe(c.stderr);
    expectSameFile('fatal_warnings', new Uint8Array(readFileSync(join(dir, c.object))), fixtureBytes(c.resolved as string));
    const quiet = cases.find((x) => x.id === `${DIR}/tcp_bbr.rb`) as GoldenCase;
    const q = await runInProcess(stage(quiet), ['--fatal_warnings', ...quiet.argv]);
    expect(q.exit).toBe(0);
  });
});

describe('resolve-btfids as a process (built dist/)', () => {
  const root = join(fixturePath('..'), '..');
  const built = join(root, 'dist', 'cli', 'commands', 'resolve-btfids.js');
  const sources = [join(root, 'cli', 'commands', 'resolve-btfids.ts'), ...readdirSync(join(root, 'lib', 'btfids')).map((f) => join(root, 'lib', 'btfids', f))];
  const fresh = existsSync(built) && sources.every((f) => statSync(built).mtimeMs >= statSync(f).mtimeMs);
  // Needs `npm run build` (npm test builds first); a stale or missing dist/ would test old code.
  const runner = (): string => {
    const d = tempDir();
    const f = join(d, 'run.mjs');
    writeFileSync(f, `import { runResolveBtfids } from ${JSON.stringify(built)};\nprocess.exitCode = await runResolveBtfids(process.argv.slice(2));\n`);
    return f;
  };
  const picks = ['btfids/btfids_fixture.rb', 'btfids/tcp_bbr.signed.rb', 'btfids/edge/basic.rb', 'btfids/edge/cli_help.rb', 'btfids/edge/cli_missing_value.rb', 'btfids/edge/cli_bad_base.rb', 'btfids/edge/no_btf_section.rb'];
  for (const id of picks) {
    it.skipIf(!fresh)(`${id} (exit status, stderr, file)`, () => {
      const c = cases.find((x) => x.id === id) as GoldenCase;
      const dir = stage(c);
      const r = spawnSync(process.execPath, [runner(), ...c.argv], { cwd: dir, encoding: 'utf8' });
      expect(r.status).toBe(c.exit);
      if (DEVIATIONS[id]?.kind === 'help-shows-both') expectHelpShowsBoth(r.stderr, c.stderr);
      else expect(r.stderr).toBe(c.stderr);
      expect(r.stdout).toBe('');
      if (c.resolved !== undefined) expectSameFile(id, new Uint8Array(readFileSync(join(dir, c.object))), fixtureBytes(c.resolved));
    });
  }

  it.skipIf(!fresh)('keeps the file mode, leaves no temporary file, and leaves the input alone on failure', () => {
    const c = cases.find((x) => x.id === 'btfids/tcp_bbr.signed.rb') as GoldenCase;
    const dir = stage(c);
    chmodSync(join(dir, c.object), 0o640);
    const r = spawnSync(process.execPath, [runner(), ...c.argv], { cwd: dir, encoding: 'utf8' });
    expect(r.status).toBe(0);
    expect(statSync(join(dir, c.object)).mode & 0o777).toBe(0o640);
    expect(readdirSync(dir).sort()).toEqual([c.object, 'vmlinux']);
    const bad = cases.find((x) => x.id === 'btfids/edge/patch_out_of_bounds.rb') as GoldenCase;
    const bdir = stage(bad);
    const b = spawnSync(process.execPath, [runner(), ...bad.argv], { cwd: bdir, encoding: 'utf8' });
    expect(b.status).toBe(255);
    expectSameFile('untouched', new Uint8Array(readFileSync(join(bdir, bad.object))), fixtureBytes(bad.pristine as string));
    expect(readdirSync(bdir)).toEqual([bad.object]);
  });

  it('dist/ is built and current (else the process tests above were skipped)', () => {
    expect(fresh, `run "npm run build": ${built} is missing or older than its source`).toBe(true);
  });
});

describe('remap: resolved against vmlinux, then distilled, equals resolve_btfids on the distilled object', () => {
  const load = (rel: string): { elf: ElfFile; btf: Btf } => {
    const elf = parseElf(fixtureBytes(rel), { file: rel });
    return { elf, btf: readElfBtf(elf, { base: vmlinux() }).btf };
  };
  const distilled = (btf: Btf): { newBtf: Btf; idMap: Uint32Array } => {
    const d = distill(vmlinux(), btf);
    return { newBtf: Btf.parse(d.split, { base: Btf.parse(d.base) }), idMap: d.idMap };
  };

  for (const name of ['btfids_fixture', 'tcp_bbr']) {
    it(`${name}: .BTF_ids bytes and warnings equal ${name}.distilled.resolved.ko`, () => {
      const { elf, btf } = load(`${DIR}/${name}.resolved.ko.gz`);
      const { newBtf, idMap } = distilled(btf);
      const r = remapBtfIds(elf, idMap, newBtf, { oldBtf: btf });
      const want = parseElf(fixtureBytes(`${DIR}/${name}.distilled.resolved.ko.gz`));
      expectSameFile(name, r.sectionBytes, want.sectionData(want.sectionByName('.BTF_ids') as NonNullable<ReturnType<ElfFile['sectionByName']>>));
      expect(r.recovered).toBe(true);
      const c = cases.find((x) => x.id === `${DIR}/${name}.distilled.rb`) as GoldenCase;
      expect(printed(r.diagnostics)).toBe(c.stderr);
      // The ids the golden table says resolve_btfids writes with .BTF.base.
      const table = readFileSync(fixturePath(`${DIR}/${name}.distilled.ids.txt`), 'utf8').split('\n').filter((l) => l && !l.startsWith('#') && !l.startsWith('off\t'));
      expect(table.length).toBeGreaterThan(8);
      for (const row of table) {
        const [off, kind, , , , distId] = row.split('\t');
        if (kind === 'set' || kind === 'set8') continue;
        const entry = r.entries.find((e) => e.offsets.includes(Number.parseInt(off as string, 16)));
        expect(entry?.id, row).toBe(Number(distId));
      }
    });
  }

  it('btfids_fixture: says which ids change meaning and which the kernel will not relocate', () => {
    const { elf, btf } = load(`${DIR}/btfids_fixture.resolved.ko.gz`);
    const { newBtf, idMap } = distilled(btf);
    const r = remapBtfIds(elf, idMap, newBtf, { oldBtf: btf });
    const changed = r.diagnostics.filter((d) => d.code === 'BTFIDS_REMAP_CHANGED');
    expect(changed.map((d) => d.symbol)).toEqual(['bpf_iter_seq_task_info']);
    expect(changed[0]?.message).toContain('was 33077 and now resolves to 15');
    const notRelocated = r.diagnostics.filter((d) => d.code === 'BTFIDS_NOT_RELOCATED').map((d) => d.symbol);
    expect(notRelocated).toContain('btfids_fixture_obj');
    // kfunc-set-only functions are relocated: no warning for them.
    expect(notRelocated).not.toContain('btfids_fixture_rcu');
    expect(notRelocated).not.toContain('btfids_fixture_sleep');
    expect(r.diagnostics.every((d) => d.extension === true || d.code === 'BTFIDS_UNRESOLVED')).toBe(true);
  });

  it('every module: remapping the resolved object equals resolving its pristine object against the distilled BTF', () => {
    for (const name of ['btfids_fixture', 'tcp_bbr', 'fou', 'nf_conntrack', 'xfrm_interface']) {
      const resolved = load(`${DIR}/${name}.resolved.ko.gz`);
      const { newBtf, idMap } = distilled(resolved.btf);
      const remapped = remapBtfIds(resolved.elf, idMap, newBtf, { oldBtf: resolved.btf });
      const pristine = load(`${DIR}/${name}.pristine.ko.gz`);
      const scratchRes = resolveBtfIds(pristine.elf, newBtf, { recoverResolved: false });
      expectSameFile(name, remapped.sectionBytes, scratchRes.sectionBytes);
      // From the pristine object remap is a plain resolution.
      const fromPristine = remapBtfIds(pristine.elf, idMap, newBtf, { oldBtf: pristine.btf });
      expectSameFile(`${name} (pristine)`, fromPristine.sectionBytes, scratchRes.sectionBytes);
      expect(fromPristine.diagnostics.some((d) => d.code === 'BTFIDS_REMAP_CHANGED')).toBe(false);
    }
  });

  it('nf_conntrack: the kfunc flags stay with their functions (bpf_ct_release keeps KF_RELEASE)', () => {
    const { elf, btf } = load(`${DIR}/nf_conntrack.resolved.ko.gz`);
    const { newBtf, idMap } = distilled(btf);
    const r = remapBtfIds(elf, idMap, newBtf, { oldBtf: btf });
    const flagsOf = (bytes: Uint8Array, id: number): number[] => {
      const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
      const out: number[] = [];
      for (let at = 0; at + 8 <= bytes.length; at += 4) if (dv.getUint32(at, true) === id) out.push(dv.getUint32(at + 4, true));
      return out;
    };
    const release = r.entries.find((e) => e.name === 'bpf_ct_release') as NonNullable<(typeof r.entries)[number]>;
    const oldRelease = resolveBtfIds(elf, btf, {}).entries.find((e) => e.name === 'bpf_ct_release') as NonNullable<(typeof r.entries)[number]>;
    const before = flagsOf(elf.sectionData(scanBtfIds(elf).layout?.section as NonNullable<ElfFile['sections'][number]>), oldRelease.id);
    expect(before).toContain(2); // KF_RELEASE in the shipped module
    expect(flagsOf(r.sectionBytes, release.id)).toContain(2);
    expect(flagsOf(r.sectionBytes, release.id)).not.toContain(7);
  });
});
