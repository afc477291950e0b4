/**
 * Usage errors in modbtf's words: the bad option named (yargs, meeting `--bogus X` before
 * the module, says only that a module is missing), options as users spell them (`-b/--base`,
 * not `base`), and the command's own --help to turn to. Loaded only when yargs rejected a
 * command line.
 */
import type { CommandModule } from 'yargs';
import { GLOBAL_OPTIONS, camel, recordCommand, type CommandSpec, type OptionSpec } from './quick-parse.js';

const flag = (name: string): string => (name.length === 1 ? `-${name}` : `--${name}`);

/** `-b/--base`: the short spelling, then the option's own name. */
function display(o: OptionSpec): string {
  const short = o.aliases.find((a) => a.length === 1);
  return short !== undefined ? `-${short}/--${o.name}` : `--${o.name}`;
}

function optionsOf(spec: CommandSpec | undefined): OptionSpec[] {
  const help: OptionSpec = { name: 'help', type: 'boolean', aliases: ['h'], demand: false };
  const version: OptionSpec = { name: 'version', type: 'boolean', aliases: [], demand: false };
  return [...GLOBAL_OPTIONS, help, version, ...(spec?.options ?? [])];
}

/** The first option on the line the command does not have, as it was typed. */
export function unknownOption(spec: CommandSpec | undefined, args: readonly string[]): string | undefined {
  const options = optionsOf(spec);
  const byFlag = new Map<string, OptionSpec>();
  // yargs also takes every name in camelCase (--dryRun for --dry-run).
  for (const o of options) for (const n of [o.name, ...o.aliases]) { byFlag.set(n, o); byFlag.set(camel(n), o); }
  for (const tok of args) {
    if (tok === '--') break;
    if (!tok.startsWith('-') || tok === '-' || /^-\d/.test(tok)) continue;
    if (tok.startsWith('--')) {
      const name = tok.slice(2).split('=')[0] ?? '';
      const o = byFlag.get(name) ?? (name.startsWith('no-') ? byFlag.get(name.slice(3)) : undefined);
      if (!o) return `--${name}`;
      continue;
    }
    // -abc: short flags grouped; the first one that takes a value takes the rest.
    for (const c of tok.slice(1)) {
      const o = byFlag.get(c);
      if (!o) return `-${c}`;
      if (o.type !== 'boolean') break;
    }
  }
  return undefined;
}

function findOption(spec: CommandSpec | undefined, name: string): OptionSpec | undefined {
  return optionsOf(spec).find((o) => o.name === name || o.aliases.includes(name) || camel(o.name) === name);
}

/** yargs' message, said the way modbtf says it. */
function translate(text: string, spec: CommandSpec | undefined): string {
  let m = /^Missing required arguments?: (.*)$/.exec(text);
  if (m) {
    const names = (m[1] ?? '').split(', ');
    const said = names.map((n) => {
      const o = findOption(spec, n);
      if (o) return display(o);
      const p = spec?.positionals.find((x) => x.name === n);
      return p ? `<${p.name}${p.variadic ? '..' : ''}>` : n;
    });
    return `missing ${said.join(' and ')}`;
  }
  m = /^Not enough non-option arguments: got (\d+), need at least (\d+)$/.exec(text);
  if (m && spec) {
    const wanted = spec.positionals.filter((p) => p.required).slice(Number(m[1])).map((p) => `<${p.name}${p.variadic ? '..' : ''}>`);
    return `missing ${wanted.join(' ')}`;
  }
  m = /^Unknown arguments?: (.*)$/.exec(text);
  if (m) {
    const words = (m[1] ?? '').split(', ');
    return `unexpected argument${words.length === 1 ? '' : 's'} ${words.join(' ')}`;
  }
  m = /^Invalid values?:\s+Argument: (\S+), Given: (.*), Choices: (.*)$/s.exec(text);
  if (m) {
    const o = findOption(spec, m[1] ?? '');
    return `${o ? display(o) : `<${m[1] ?? ''}>`}: ${m[2] ?? ''} is not one of ${m[3] ?? ''}`;
  }
  m = /^Not enough arguments following: (\S+)$/.exec(text);
  if (m) {
    const o = findOption(spec, m[1] ?? '');
    return `${o ? display(o) : flag(m[1] ?? '')} needs a value`;
  }
  return text;
}

export interface UsageError {
  /** The command the line was for, when it named one. */
  command: string | undefined;
  text: string;
}

/** What to say for a line yargs rejected with `yargsText`. */
export function usageError(yargsText: string, args: readonly string[], commands: readonly CommandModule<object, object>[]): UsageError {
  const names = commands.map((c) => (typeof c.command === 'string' ? c.command.split(/\s+/)[0] ?? '' : ''));
  const first = args[0];
  const cmd = first !== undefined ? commands[names.indexOf(first)] : undefined;
  if (!cmd) {
    const bad = unknownOption(undefined, args);
    if (bad !== undefined) return { command: undefined, text: `unknown option ${bad}` };
    if (first !== undefined && !first.startsWith('-')) return { command: undefined, text: `unknown command ${first}; the commands are ${names.join(', ')}` };
    return { command: undefined, text: yargsText };
  }
  const spec = recordCommand(cmd, { partial: true });
  const bad = unknownOption(spec, args.slice(1));
  return { command: first, text: bad !== undefined ? `unknown option ${bad}` : translate(yargsText, spec) };
}

/** The two lines every usage error prints. */
export function formatUsageError(e: UsageError): string {
  return e.command !== undefined
    ? `modbtf: ${e.command}: ${e.text}\nTry 'modbtf ${e.command} --help'.\n`
    : `modbtf: ${e.text}\nTry 'modbtf --help'.\n`;
}
