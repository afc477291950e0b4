/**
 * A parser for the plain command lines that make up nearly every run (`modbtf finalize
 * -b vmlinux m.ko`), so that those runs need not load yargs: yargs alone costs ~70 ms
 * of start-up, more than the work on one module. It reads each command's own yargs
 * builder through a recorder, so options are declared once. It accepts only what it is
 * sure yargs would parse the same way (test/unit/cli/quick-parse.test.ts compares the
 * two); anything else — help, unknown or repeated options, grouped short flags, `--`,
 * a value that looks like an option, a failed check — is left to yargs, which parses
 * it again and says what is wrong.
 */
import type { CommandModule } from 'yargs';

export interface OptionSpec {
  name: string;
  type: 'string' | 'boolean' | 'number';
  aliases: string[];
  default?: unknown;
  demand: boolean;
  choices?: readonly unknown[];
}

export interface PositionalSpec {
  name: string;
  required: boolean;
  variadic: boolean;
  type?: string;
  choices?: readonly unknown[];
}

type Check = (argv: Record<string, unknown>) => unknown;

export interface CommandSpec {
  name: string;
  positionals: PositionalSpec[];
  options: OptionSpec[];
  checks: Check[];
  /** The builder used something this parser does not model. */
  unsupported: boolean;
}

/** Options every command has (main.ts declares them on the top-level yargs). */
export const GLOBAL_OPTIONS: OptionSpec[] = [{ name: 'verbose', type: 'boolean', aliases: ['v'], default: false, demand: false }];

export const camel = (s: string): string => s.replace(/[-_]+([a-z0-9])/g, (_m, c: string) => c.toUpperCase());

function asList(v: unknown): string[] {
  if (v === undefined) return [];
  return (Array.isArray(v) ? v : [v]).filter((x): x is string => typeof x === 'string');
}

/** `finalize <modules..>` → name and positionals, in yargs' command syntax. */
function parseCommandString(command: string): { name: string; positionals: PositionalSpec[] } | undefined {
  const [name, ...rest] = command.trim().split(/\s+/);
  if (name === undefined || name === '' || name.includes('|')) return undefined;
  const positionals: PositionalSpec[] = [];
  for (const p of rest) {
    const m = /^([<[])([A-Za-z][\w-]*)(\.\.)?([>\]])$/.exec(p);
    if (!m) return undefined;
    positionals.push({ name: m[2] as string, required: m[1] === '<', variadic: m[3] !== undefined });
  }
  return { name, positionals };
}

/** Runs a command's builder against a recorder that notes its options. */
export function recordCommand(cmd: CommandModule<object, object>, opts: { partial?: boolean } = {}): CommandSpec | undefined {
  if (typeof cmd.command !== 'string' || typeof cmd.builder !== 'function') return undefined;
  const parsed = parseCommandString(cmd.command);
  if (!parsed) return undefined;
  const spec: CommandSpec = { ...parsed, options: [], checks: [], unsupported: false };
  // Methods that only shape help text are accepted and ignored; any other method makes
  // the command go through yargs.
  const ignored = new Set(['example', 'epilog', 'epilogue', 'usage', 'describe', 'group', 'hide']);
  const recorder: Record<string, unknown> = new Proxy<Record<string, unknown>>({}, {
    get(_t, prop: string | symbol) {
      if (prop === 'positional') {
        return (name: string, o: { type?: string; demandOption?: unknown; choices?: readonly unknown[]; default?: unknown; alias?: unknown; coerce?: unknown }) => {
          const p = spec.positionals.find((x) => x.name === name);
          if (!p || o.default !== undefined || o.alias !== undefined || o.coerce !== undefined) spec.unsupported = true;
          else {
            if (o.type !== undefined) p.type = o.type;
            if (o.choices !== undefined) p.choices = o.choices;
          }
          return recorder;
        };
      }
      if (prop === 'option' || prop === 'options') {
        return (name: string, o: Record<string, unknown>) => {
          const known = new Set(['alias', 'type', 'default', 'describe', 'description', 'demandOption', 'choices', 'hidden']);
          const type = o['type'];
          const modelled = type === 'string' || type === 'boolean' || type === 'number';
          if (Object.keys(o).some((k) => !known.has(k)) || !modelled) spec.unsupported = true;
          // Recorded either way: usage messages (a partial spec) need every option's names.
          spec.options.push({
            name, type: modelled ? type : 'string', aliases: asList(o['alias']), demand: o['demandOption'] !== undefined && o['demandOption'] !== false,
            ...('default' in o ? { default: o['default'] } : {}),
            ...(Array.isArray(o['choices']) ? { choices: o['choices'] as unknown[] } : {}),
          });
          return recorder;
        };
      }
      if (prop === 'check') return (fn: Check) => { spec.checks.push(fn); return recorder; };
      if (typeof prop === 'string' && ignored.has(prop)) return () => recorder;
      return () => { spec.unsupported = true; return recorder; };
    },
  });
  try {
    (cmd.builder as (y: unknown) => unknown)(recorder);
  } catch {
    return undefined;
  }
  // partial: what could be recorded, for usage messages (cli/usage.ts).
  return spec.unsupported && opts.partial !== true ? undefined : spec;
}

export interface QuickParse {
  command: CommandModule<object, object>;
  argv: Record<string, unknown>;
}

/**
 * Parses `args` (without node and script) for one of `commands`, or returns undefined
 * when the line should go through yargs.
 */
export function quickParse(commands: readonly CommandModule<object, object>[], args: readonly string[]): QuickParse | undefined {
  const [name, ...rest] = args;
  if (name === undefined) return undefined;
  const command = commands.find((c) => typeof c.command === 'string' && c.command.split(/\s+/)[0] === name);
  if (!command) return undefined;
  const spec = recordCommand(command);
  if (!spec) return undefined;

  const options = [...GLOBAL_OPTIONS, ...spec.options];
  const byFlag = new Map<string, OptionSpec>();
  for (const o of options) for (const f of [o.name, ...o.aliases]) byFlag.set(f, o);
  const given = new Map<OptionSpec, unknown>();
  const positionals: string[] = [];

  const setValue = (o: OptionSpec, raw: string | boolean): boolean => {
    if (given.has(o)) return false; // yargs would make an array of a repeated option
    let v: unknown = raw;
    if (o.type === 'number') {
      if (typeof raw !== 'string' || raw.trim() === '') return false;
      v = Number(raw);
      if (Number.isNaN(v)) return false;
    }
    if (o.choices && !o.choices.includes(v)) return false;
    given.set(o, v);
    return true;
  };

  for (let i = 0; i < rest.length; i++) {
    const tok = rest[i] as string;
    if (!tok.startsWith('-') || tok === '-') {
      positionals.push(tok);
      continue;
    }
    if (tok === '--' || tok === '--help' || tok === '-h' || tok === '--version') return undefined;
    let flag: string;
    let inline: string | undefined;
    if (tok.startsWith('--')) {
      const eq = tok.indexOf('=');
      flag = eq < 0 ? tok.slice(2) : tok.slice(2, eq);
      inline = eq < 0 ? undefined : tok.slice(eq + 1);
    } else {
      if (tok.length !== 2) return undefined; // -j2, -nv: grouped or glued short flags
      flag = tok.slice(1);
    }
    const o = byFlag.get(flag);
    if (!o && flag.startsWith('no-') && inline === undefined) {
      const neg = byFlag.get(flag.slice(3));
      if (neg?.type === 'boolean' && tok.startsWith('--')) {
        if (!setValue(neg, false)) return undefined;
        continue;
      }
    }
    if (!o) return undefined;
    if (o.type === 'boolean') {
      // yargs takes a following `true`/`false` as the flag's value.
      const next = rest[i + 1];
      if (inline !== undefined || next === 'true' || next === 'false' || !setValue(o, true)) return undefined;
      continue;
    }
    if (inline === undefined) {
      const next = rest[i + 1];
      if (next === undefined || (next.startsWith('-') && next !== '-')) return undefined;
      inline = next;
      i++;
    }
    if (!setValue(o, inline)) return undefined;
  }

  const argv: Record<string, unknown> = { _: [name], $0: 'modbtf' };
  let next = 0;
  for (const p of spec.positionals) {
    if (p.type !== undefined && p.type !== 'string') return undefined;
    if (p.variadic) {
      const vals = positionals.slice(next);
      next = positionals.length;
      if (p.required && vals.length === 0) return undefined;
      if (vals.length > 0) argv[p.name] = vals;
    } else {
      const v = positionals[next];
      if (v === undefined) {
        if (p.required) return undefined;
        continue;
      }
      // Untyped positionals that look like numbers become numbers in yargs.
      if (p.type === undefined && v.trim() !== '' && !Number.isNaN(Number(v))) return undefined;
      if (p.choices && !p.choices.includes(v)) return undefined;
      argv[p.name] = v;
      next++;
    }
  }
  if (next < positionals.length) return undefined;

  for (const o of options) {
    const v = given.has(o) ? given.get(o) : o.default;
    if (v === undefined) {
      if (o.demand) return undefined;
      continue;
    }
    for (const key of new Set([o.name, camel(o.name), ...o.aliases, ...o.aliases.map(camel)])) argv[key] = v;
  }
  for (const check of spec.checks) {
    try {
      if (check(argv) !== true) return undefined;
    } catch {
      return undefined;
    }
  }
  return { command, argv };
}
