import { describe, expect, it } from 'vitest';
import type { CommandModule } from 'yargs';
import { all } from '../../../cli/commands/index.js';
import { quickParse } from '../../../cli/quick-parse.js';
import { buildParser } from '../../../cli/parser.js';
import { STDIN_ARG } from '../../../cli/stdin.js';

/** What yargs hands the command's handler for this line (the reference), or its error. */
async function yargsArgv(args: string[]): Promise<Record<string, unknown> | { error: string }> {
  let seen: Record<string, unknown> | undefined;
  let error: string | undefined;
  const capturing = all.map((c) => ({ ...c, handler: (a: Record<string, unknown>) => { seen = { ...a }; } })) as CommandModule<object, object>[];
  await buildParser(args, capturing, '0.0.0-test', (text) => { error = text; })
    .exitProcess(false)
    .parseAsync()
    .catch((e: unknown) => { error ??= String(e); });
  if (error !== undefined || !seen) return { error: error ?? 'no handler ran' };
  delete seen['$0'];
  return seen;
}

function quick(args: string[]): Record<string, unknown> | undefined {
  const q = quickParse(all, args);
  if (!q) return undefined;
  const argv = { ...q.argv };
  delete argv['$0'];
  return argv;
}

// Lines the quick parser must take, each compared key for key with yargs' own parse.
const taken: string[][] = [
  ['finalize', 'm.ko'],
  ['finalize', '-b', '/usr/src/linux-headers-6.12.107+deb12-amd64/vmlinux', 'a.ko', 'b.ko.xz'],
  ['finalize', '--no-distill', '--btf-base', 'vmlinux', 'm.ko'],
  ['finalize', '--distill', '--btf_base=vmlinux', '--objcopy', 'llvm-objcopy', 'm.ko'],
  ['finalize', '--strip-signature', '-j', '4', '--json', '-n', 'dir'],
  ['finalize', '--jobs=3', '--fatal_warnings', '--check-kernel', '6.12.117+deb12-amd64', '-v', 'm.ko'],
  ['finalize', 'm.ko', '--verbose', '--dry-run', STDIN_ARG],
  ['check', '--kernel', 'vmlinux', 'a.ko', 'b.ko'],
  ['distill', 'm.ko', '-b', 'vmlinux', '-o', 'out'],
  ['relocate', 'm.ko', '-k', 'vmlinux', '--id-map', 'map', '--dump'],
  ['relocate', '-b', '6.12.107+deb12-amd64', '-k', '6.12.117+deb12-amd64', '-o', 'out', 'm.ko'],
  ['relocate', '--built-with', 'old', '--kernel', 'new', 'm.ko'],
  ['dump', '-B', 'vmlinux', '-j', 'm.ko'],
  ['dump', '-b', '6.12.107+deb12-amd64', '--json', 'm.ko'],
  ['dump', '--base', 'vmlinux', 'm.ko'],
  ['dump', 'm.ko'],
  ['retarget', '--kernel', '6.12.117+deb12-amd64', 'a.ko'],
  ['retarget', '-k', 'new', '-b', 'old', '-n', 'a.ko'],
  ['check', '-k', 'new', '-b', 'old', '-j', '2', 'a.ko'],
  ['check', '--kernel', 'new', '--built-with', 'old', 'a.ko'],
  ['finalize', '-b', 'old', '-k', 'new', 'm.ko'],
  ['distill', '--built-with', 'vmlinux', '--in-place', 'm.ko'],
  ['kbuild', 'install', '/usr/src/linux-headers-6.12.107+deb12-amd64'],
  ['kbuild', 'modfinal', 'm.ko', '--pahole=pahole', '--pahole-flags=-j --btf_features=x', '--extmod=/src'],
];

// Lines it must leave to yargs (help, errors, forms it does not model).
const leftToYargs: string[][] = [
  [],
  ['--help'],
  ['finalize', '--help'],
  ['finalize'],
  ['finalize', '--bogus', 'm.ko'],
  ['finalize', '-j2', 'm.ko'],
  ['finalize', '-nv', 'm.ko'],
  ['finalize', '-j', 'x', 'm.ko'],
  ['finalize', '-j', '0', 'm.ko'],
  ['finalize', '-b', 'a', '-b', 'b', 'm.ko'],
  ['finalize', '-b', '--json', 'm.ko'],
  ['finalize', '--json=false', 'm.ko'],
  ['finalize', '--json', 'false', 'm.ko'],
  ['finalize', '--dry-run', 'true', 'm.ko'],
  ['finalize', '--', 'm.ko'],
  ['finalize', 'm.ko', '-b'],
  ['dump', 'a.ko', 'b.ko'],
  ['distill', 'm.ko', '-o', 'out'],
  ['check', 'a.ko'],
  // refused or incomplete: yargs (through the command's check) says why
  ['relocate', '-b', 'vmlinux', 'm.ko'],
  ['relocate', '--built-with', 'old', '-b', 'new', 'm.ko'],
  ['relocate', 'm.ko'],
  ['check', '-k', 'new', '-b', 'a', '--built-with', 'b', 'm.ko'],
  ['finalize', '-k', 'a', '--check-kernel', 'b', 'm.ko'],
  ['kbuild', 'frobnicate', 'x'],
  ['resolve-btfids', '-b', 'vmlinux', 'm.ko'],
  ['nosuchcommand'],
];

describe('quick command-line parser', () => {
  it.each(taken.map((a) => [a.join(' '), a] as const))('parses `%s` exactly as yargs does', async (_label, args) => {
    const q = quick(args);
    expect(q, 'the quick parser should take this line').toBeDefined();
    expect(q).toEqual(await yargsArgv(args));
  });

  it.each(leftToYargs.map((a) => [a.join(' ') || '(nothing)', a] as const))('leaves `%s` to yargs', (_label, args) => {
    expect(quick(args)).toBeUndefined();
  });

  it('yargs reads `--json false` as the flag\'s value, which is why such lines are left to it', async () => {
    expect(await yargsArgv(['finalize', '--json', 'false', 'm.ko'])).toMatchObject({ json: false, modules: ['m.ko'] });
  });

  it('agrees with yargs on where a variadic positional ends and options begin', async () => {
    const args = ['check', 'a.ko', '--kernel', 'k', 'b.ko'];
    expect(quick(args)).toEqual(await yargsArgv(args));
  });
});
