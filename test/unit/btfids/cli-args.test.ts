// The resolve-btfids command line, parsed like tools/lib/subcmd parse-options. The
// expected texts below were printed by Debian's resolve_btfids 6.12.107
// (linux-kbuild-6.12.107+deb12) for the same arguments.
import { describe, expect, it } from 'vitest';
import { parseResolveBtfidsArgs } from '../../../cli/commands/resolve-btfids.js';

const USAGE_HEAD = '\n Usage: resolve_btfids [<options>] <ELF object>\n\n';
const B = '    -b, --btf_base <file>\n                          path of file providing base BTF\n';
const V = '    -v, --verbose         be more verbose (show errors, etc)\n';
const BTF = '        --btf <BTF data>  BTF data\n';
const FULL = `${USAGE_HEAD}${B}${V}${BTF}\n`;

function usage(argv: string[]): { exitCode: number; stderr: string; stdout: string } {
  const r = parseResolveBtfidsArgs(argv);
  if (r.ok) throw new Error(`parsed: ${JSON.stringify(r.args)}`);
  return { exitCode: r.exitCode, stderr: r.stderr, stdout: r.stdout };
}

describe('resolve-btfids arguments', () => {
  it('kbuild\'s form and its variants', () => {
    const ok = (argv: string[]): unknown => {
      const r = parseResolveBtfidsArgs(argv);
      if (!r.ok) throw new Error(r.stderr);
      return r.args;
    };
    expect(ok(['-b', 'vmlinux', 'm.ko'])).toEqual({ verbose: 0, btf: undefined, base: 'vmlinux', fatalWarnings: false, distillBase: false, patchBtfids: undefined, object: 'm.ko' });
    expect(ok(['-vv', '--btf', 'x.btf', '-bvmlinux', 'm.ko'])).toEqual({ verbose: 2, btf: 'x.btf', base: 'vmlinux', fatalWarnings: false, distillBase: false, patchBtfids: undefined, object: 'm.ko' });
    expect(ok(['--verbose', '--btf_base=base.btf', 'obj.o'])).toMatchObject({ verbose: 1, base: 'base.btf' });
    expect(ok(['--btf_b', 'v', 'o'])).toMatchObject({ base: 'v' });
    expect(ok(['-vb', 'v', 'o'])).toMatchObject({ verbose: 1, base: 'v' });
    expect(ok(['-b', '-v', 'o'])).toMatchObject({ verbose: 0, base: '-v' });
    expect(ok(['-b', 'v', '--no-btf_base', 'o'])).toMatchObject({ base: undefined });
    expect(ok(['-v', '--no-verbose', 'o'])).toMatchObject({ verbose: 0 });
    expect(ok(['--fatal_warnings', '-b', 'v', 'o'])).toMatchObject({ fatalWarnings: true });
    expect(ok(['--', '-o'])).toMatchObject({ object: '-o' });
    expect(ok(['-'])).toMatchObject({ object: '-' });
  });

  it('usage errors: texts and exit status 129 as resolve_btfids', () => {
    expect(usage([])).toEqual({ exitCode: 129, stderr: FULL, stdout: '' });
    expect(usage(['a.o', 'b.o']).stderr).toBe(FULL);
    expect(usage(['obj.o', '-b', 'base.btf']).stderr).toBe(FULL);
    expect(usage(['-h']).stderr).toBe(FULL);
    expect(usage(['--help']).stderr).toBe(FULL);
    expect(usage(['-h', 'x.o']).stderr).toBe(`${USAGE_HEAD}\n`);
    expect(usage(['-h', '-v']).stderr).toBe(`${USAGE_HEAD}${V}\n`);
    expect(usage(['-h', 'btf']).stderr).toBe(`${USAGE_HEAD}${B}${BTF}\n`);
    expect(usage(['-b']).stderr).toBe(` Error: switch \`b' requires a value${USAGE_HEAD}${B}`);
    expect(usage(['--btf']).stderr).toBe(` Error: option \`btf' requires a value${USAGE_HEAD}${BTF}${B}`);
    expect(usage(['--bt', 'x', 'o']).stderr).toBe(` Error: Ambiguous option: bt (could be --btf or --btf_base)\n${USAGE_HEAD}${BTF}${B}`);
    expect(usage(['--no', 'o']).stderr).toBe(` Error: Ambiguous option: no (could be --no-btf or --no-btf_base)\n${USAGE_HEAD}`);
    expect(usage(['-verbose', 'o']).stderr).toBe(' Error: did you mean `--verbose` (with two dashes ?)\n');
    expect(usage(['-vx', 'o']).stderr).toBe(`  Error: unknown switch \`x'\n${FULL}`);
    expect(usage(['--verbose=2', 'o']).stderr).toBe(` Error: option \`verbose' takes no value${USAGE_HEAD}`);
    expect(usage(['--nope', 'o']).stderr).toBe(`  Error: unknown option \`nope'\n${FULL}`);
    for (const a of [[], ['-h'], ['-b'], ['--nope', 'o']]) expect(usage(a).exitCode).toBe(129);
  });

  it('--list-opts prints the 6.12 long options on stdout (exit 130); --fatal_warnings is never listed', () => {
    expect(usage(['--list-opts'])).toEqual({ exitCode: 130, stderr: '', stdout: '--verbose --btf --btf_base \n' });
    expect(usage(['--help-all']).stderr).toBe(FULL);
  });
});
