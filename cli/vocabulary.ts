/**
 * The options every command shares, with one meaning each, declared once: the
 * builders below add them to a command, `modbtf --help` prints VOCABULARY, and the
 * README's table is checked against it (test/golden/vocabulary.test.ts).
 */
import type { Argv } from 'yargs';

export interface VocabularyRow {
  option: string;
  meaning: string;
  commands: string;
}

const KERNEL_FORMS = 'a vmlinux ELF, its raw BTF (/sys/kernel/btf/vmlinux), gzip of either, or a kernel release (6.12.117+deb12-amd64)';

export const VOCABULARY: readonly VocabularyRow[] = [
  { option: '-b, --base K', meaning: 'the kernel the module was built against: the vmlinux its split .BTF refers to', commands: 'dump (also -B, as bpftool), distill, dedup, relocate, check, finalize, retarget' },
  { option: '-k, --kernel K', meaning: 'the kernel the module will run on', commands: 'relocate, check, retarget, finalize (checks the result there), setup (a release: hook only its headers)' },
  { option: 'K', meaning: `${KERNEL_FORMS}; a release's vmlinux is looked up in /usr/src/linux-headers-K/, /lib/modules/K/build/, /usr/lib/debug/ and, for the running kernel, /sys/kernel/btf/vmlinux (all under MODBTF_ROOT when set)`, commands: 'every -b and -k' },
  { option: '-o, --output', meaning: 'where to write', commands: 'distill (a directory), dedup (a file), relocate (a file)' },
  { option: '-j, --jobs N', meaning: 'threads working at once, this one included (default: one per core)', commands: 'check, finalize' },
  { option: '--json', meaning: 'one JSON document on stdout', commands: 'dump, check, finalize, retarget' },
  { option: '-n, --dry-run', meaning: 'compute and verify everything, write nothing', commands: 'finalize, retarget, setup' },
  { option: '-v, --verbose', meaning: 'more detail (every module; error codes)', commands: 'every command' },
];

export const VOCABULARY_NOTES: readonly string[] = [
  'dump -j is --json, as bpftool -j: the one command where -j is not --jobs.',
  'Older spellings that still work: --built-with, --btf-base, --btf_base (= --base); finalize --check-kernel (= --kernel).',
  'relocate -b used to name the target kernel: without -k it is refused with a hint, never read in its new meaning silently.',
  'resolve-btfids and kbuild speak the options of the kernel tools they replace.',
];

/** `-b/--base` with every spelling it has had; bpftool's `-B` where asked (dump). */
export const BASE_ALIASES = ['b', 'built-with', 'btf-base', 'btf_base'] as const;

export function baseOption<T>(y: Argv<T>, o: { demand?: boolean; bpftool?: boolean; more?: string } = {}): Argv<T> {
  return y.option('base', {
    alias: o.bpftool === true ? ['B', ...BASE_ALIASES] : [...BASE_ALIASES],
    type: 'string',
    ...(o.demand === true ? { demandOption: true } : {}),
    describe: `${VOCABULARY[0]?.meaning ?? ''}: ${KERNEL_FORMS}${o.more !== undefined ? `; ${o.more}` : ''}`,
  });
}

export function kernelOption<T>(y: Argv<T>, o: { demand?: boolean; aliases?: readonly string[]; more?: string } = {}): Argv<T> {
  return y.option('kernel', {
    alias: ['k', ...(o.aliases ?? [])],
    type: 'string',
    ...(o.demand === true ? { demandOption: true } : {}),
    describe: `${VOCABULARY[1]?.meaning ?? ''}: ${KERNEL_FORMS}${o.more !== undefined ? `; ${o.more}` : ''}`,
  });
}

/** An option given twice (yargs makes an array of it): refused, naming it. */
export function once(argv: Record<string, unknown>, ...names: string[]): true | string {
  for (const n of names) {
    if (Array.isArray(argv[n])) return `--${n} is given more than once (its spellings: ${spellings(n)})`;
    // `-b` last on the line: yargs makes it the empty string.
    if (argv[n] === '') return `--${n} needs a value`;
  }
  return true;
}

function spellings(name: string): string {
  if (name === 'base') return ['--base', ...BASE_ALIASES.map((a) => (a.length === 1 ? `-${a}` : `--${a}`))].join(', ');
  if (name === 'kernel') return '-k, --kernel';
  return `--${name}`;
}

/** VOCABULARY as --help prints it, wrapped to `width` columns. */
export function vocabularyText(width = 100): string {
  const col = Math.max(...VOCABULARY.map((r) => r.option.length)) + 4;
  const wrap = (text: string, indent: number): string[] => {
    const lines: string[] = [];
    let line = '';
    for (const word of text.split(' ')) {
      if (line !== '' && indent + line.length + 1 + word.length > width) {
        lines.push(line);
        line = word;
      } else line = line === '' ? word : `${line} ${word}`;
    }
    if (line !== '') lines.push(line);
    return lines;
  };
  const out = ['Options with one meaning in every command:'];
  for (const r of VOCABULARY) {
    const body = wrap(`${r.meaning} [${r.commands}]`, col);
    out.push(`  ${r.option.padEnd(col - 2)}${body[0] ?? ''}`, ...body.slice(1).map((l) => `${' '.repeat(col)}${l}`));
  }
  out.push('');
  for (const n of VOCABULARY_NOTES) {
    const body = wrap(n, 4);
    out.push(`  ${body[0] ?? ''}`, ...body.slice(1).map((l) => `    ${l}`));
  }
  return out.join('\n');
}

/** VOCABULARY as the README's markdown table. */
export function vocabularyMarkdown(): string {
  const rows = VOCABULARY.map((r) => `| \`${r.option}\` | ${r.meaning} | ${r.commands} |`);
  return ['| option | meaning | commands |', '| --- | --- | --- |', ...rows].join('\n');
}
