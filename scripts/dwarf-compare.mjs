#!/usr/bin/env node
/**
 * lib/dwarf against eu-readelf, file by file: our dump (lib/dwarf readelfDebugDump, what
 * scripts/dwarf-dump.mjs prints) and `eu-readelf -N --debug-dump=<part>` must be the same
 * bytes. eu-readelf relocates ET_REL files through libdwfl, so this checks relocation,
 * section layout, decompression, forms, expressions, location and range lists.
 *
 *   node scripts/dwarf-compare.mjs [--parts info,loc,ranges] [--readelf CMD | --sid]
 *        [--sample N] [--limit N] [--json FILE] [--keep-going] FILES|DIRS...
 *
 * --sid runs the sid chroot's eu-readelf (elfutils 0.196, what pahole 1.32 uses there;
 * files must then lie inside the chroot), --readelf a given command (default eu-readelf).
 * The parts are dumped in one eu-readelf run (info first, then the list sections in
 * section order, as eu-readelf prints them); --separate runs one per part.
 * --oracle walk compares instead with scripts/oracle/libdw-walk.c (libdw's own accessors on the
 * module opened as pahole opens it: section layout from 0x10000, every dwarf_form* result,
 * dwarf_getlocations, dwarf_ranges, lowpc/highpc/entrypc); the binary is --walk-bin PATH, or
 * built in the sid chroot with --sid (scripts/e2e-lib/oracle.mjs ensureWalkOracle).
 * --sample N takes N files spread evenly over the sorted list. Directories are searched
 * for *.ko, *.o and *.debug. Prints "identical I / different D / ours failed F /
 * readelf failed R" and the first difference of each differing file; exit 1 when any
 * file differs or fails on our side.
 */
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readdirSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve, sep } from 'node:path';
import { parseArgs } from 'node:util';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { isElfFile } from './lib/corpus.mjs';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const lib = await import(pathToFileURL(join(ROOT, 'dist', 'lib', 'index.js')).href);

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    parts: { type: 'string', default: 'info,loc,ranges' },
    readelf: { type: 'string', default: 'eu-readelf' },
    sid: { type: 'boolean', default: false },
    sample: { type: 'string' },
    limit: { type: 'string' },
    json: { type: 'string' },
    quiet: { type: 'boolean', default: false },
    separate: { type: 'boolean', default: false },
    oracle: { type: 'string', default: 'readelf' },
    'in-memory': { type: 'boolean', default: false },
    'walk-bin': { type: 'string' },
    help: { type: 'boolean', short: 'h' },
  },
});
if (values.help || positionals.length === 0) {
  console.error('usage: node scripts/dwarf-compare.mjs [--parts info,loc,ranges] [--readelf CMD | --sid] [--sample N] [--limit N] [--json FILE] FILES|DIRS...');
  process.exit(values.help ? 0 : 2);
}
const parts = values.parts.split(',').filter(Boolean);
const walkMode = values.oracle === 'walk';
if (!['readelf', 'walk'].includes(values.oracle)) { console.error('dwarf-compare: --oracle readelf|walk'); process.exit(2); }
const { walkText } = await import(pathToFileURL(join(ROOT, 'scripts/lib/dwarf-walk.mjs')).href);
let walkBin = values['walk-bin'];
if (walkMode && walkBin === undefined) {
  if (!values.sid) { console.error('dwarf-compare: --oracle walk needs --walk-bin PATH or --sid'); process.exit(2); }
  const { ensureWalkOracle } = await import(pathToFileURL(join(ROOT, 'scripts/e2e-lib/oracle.mjs')).href);
  walkBin = await ensureWalkOracle((m) => console.error(m));
}

const SID_ROOT = resolve(process.env.MODBTF_CACHE ?? '/var/cache/modbtf', 'sid');

function listFiles(p, out) {
  const st = statSync(p);
  if (st.isDirectory()) {
    for (const e of readdirSync(p).sort()) listFiles(join(p, e), out);
  } else if (/\.(ko|o|debug)$/.test(p)) {
    out.push(p);
  }
}

let files = [];
for (const p of positionals) {
  const abs = resolve(p);
  if (statSync(abs).isDirectory()) listFiles(abs, files);
  else files.push(abs);
}
files.sort();
if (values.sample !== undefined) {
  const n = Number(values.sample);
  if (n < files.length) {
    const picked = [];
    for (let i = 0; i < n; i++) picked.push(files[Math.floor((i * files.length) / n)]);
    files = picked;
  }
}
if (values.limit !== undefined) files = files.slice(0, Number(values.limit));

/** Runs eu-readelf on one file for some parts; resolves { hash, text?, stderr, code }. */
function runReadelf(file, partList, keepText) {
  let cmd;
  let args;
  const dumps = partList.map((p) => `--debug-dump=${p}`);
  const tool = walkMode ? [walkBin] : ['eu-readelf', '-N', ...dumps];
  if (values.sid) {
    const real = resolve(file);
    if (!real.startsWith(SID_ROOT + sep)) throw new Error(`--sid: ${file} is not inside ${SID_ROOT}`);
    cmd = 'chroot';
    args = [SID_ROOT, ...tool, real.slice(SID_ROOT.length)];
  } else if (walkMode) {
    cmd = walkBin;
    args = [file];
  } else {
    const words = values.readelf.split(/\s+/);
    cmd = words[0];
    args = [...words.slice(1), '-N', ...dumps, file];
  }
  return new Promise((res, rej) => {
    const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    const h = createHash('sha256');
    const chunks = [];
    let stderr = '';
    child.stdout.on('data', (b) => { h.update(b); if (keepText) chunks.push(b); });
    child.stderr.on('data', (b) => { stderr += b; });
    child.on('error', rej);
    child.on('close', (code) => res({ hash: h.digest('hex'), text: keepText ? Buffer.concat(chunks).toString('utf8') : undefined, stderr, code }));
  });
}

/** Our dump of some parts: hash (and text when asked). Errors are returned, not thrown. */
function runOurs(file, partList, keepText) {
  return (async () => {
    try {
      // Uncompressed files through openDwarfFile (lazy, from disk), others in memory: --in-memory forces the latter.
      const opts = walkMode ? {} : { base: lib.READELF_OFFLINE_BASE };
      const d = !values['in-memory'] && isElfFile(file) ? lib.openDwarfFile(file, opts) : lib.openDwarf((await lib.loadModuleFile(file)).elf, opts);
      const h = createHash('sha256');
      const chunks = [];
      for (const chunk of walkMode ? walkText(lib, d) : lib.readelfDebugDump(d, partList)) {
        const b = Buffer.from(chunk, 'utf8');
        h.update(b);
        if (keepText) chunks.push(chunk);
      }
      return { hash: h.digest('hex'), text: keepText ? chunks.join('') : undefined };
    } catch (e) {
      return { error: lib.isModbtfError(e) ? e.describe() : String(e?.stack ?? e) };
    }
  })();
}

function firstDifference(a, b) {
  const la = a.split('\n');
  const lb = b.split('\n');
  const n = Math.max(la.length, lb.length);
  for (let i = 0; i < n; i++) {
    if (la[i] !== lb[i]) {
      const ctx = (l) => l.slice(Math.max(0, i - 3), i + 3).map((x, k) => `      ${Math.max(0, i - 3) + k + 1}: ${x ?? '<end>'}`).join('\n');
      return `line ${i + 1}\n    ${walkMode ? 'libdw-walk' : 'eu-readelf'}:\n${ctx(la)}\n    lib/dwarf:\n${ctx(lb)}`;
    }
  }
  return 'no line differs (trailing bytes?)';
}

const result = { identical: 0, different: 0, oursFailed: 0, readelfFailed: 0, files: [] };
const t0 = Date.now();
let done = 0;
for (const file of files) {
  const entry = { file, parts: {} };
  let fileOk = true;
  for (const group of walkMode ? [['walk']] : values.separate ? parts.map((p) => [p]) : [parts]) {
    const part = group.join(',');
    // Our dump (main thread) and eu-readelf (child process) run side by side.
    const [mine, theirs] = await Promise.all([runOurs(file, group, false), runReadelf(file, group, false)]);
    if (theirs.code !== 0 || theirs.stderr.trim() !== '') {
      entry.parts[part] = { status: 'readelf-failed', stderr: theirs.stderr.trim().slice(0, 2000), code: theirs.code };
      if (mine.error === undefined && theirs.code === 0 && mine.hash === theirs.hash) {
        entry.parts[part].status = 'identical-with-readelf-warnings';
      } else {
        fileOk = false;
        continue;
      }
    }
    if (mine.error !== undefined) {
      entry.parts[part] = { status: 'ours-failed', error: mine.error };
      fileOk = false;
      continue;
    }
    if (mine.hash === theirs.hash) {
      entry.parts[part] ??= { status: 'identical' };
      continue;
    }
    const [m2, t2] = await Promise.all([runOurs(file, group, true), runReadelf(file, group, true)]);
    entry.parts[part] = { status: 'different', first: firstDifference(t2.text ?? '', m2.text ?? '') };
    fileOk = false;
  }
  const statuses = Object.values(entry.parts).map((p) => p.status);
  if (statuses.includes('ours-failed')) result.oursFailed++;
  else if (statuses.includes('different')) result.different++;
  else if (statuses.includes('readelf-failed')) result.readelfFailed++;
  else result.identical++;
  if (!fileOk || !values.quiet) result.files.push(entry);
  if (!fileOk) {
    for (const [part, p] of Object.entries(entry.parts)) {
      if (p.status === 'identical' || p.status === 'identical-with-readelf-warnings') continue;
      console.log(`${p.status.toUpperCase()} ${file} [${part}]: ${p.first ?? p.error ?? p.stderr}`);
    }
  }
  done++;
  if (done % 50 === 0) process.stderr.write(`dwarf-compare: ${done}/${files.length} (${Math.round((Date.now() - t0) / 1000)} s)\r`);
}
const secs = ((Date.now() - t0) / 1000).toFixed(1);
console.log(`dwarf-compare: ${files.length} files, ${walkMode ? 'libdw-walk' : `eu-readelf parts ${parts.join(',')}`}: identical ${result.identical}, different ${result.different}, ours failed ${result.oursFailed}, readelf failed ${result.readelfFailed} (${secs} s)`);
if (values.json !== undefined) writeFileSync(values.json, `${JSON.stringify({ ...result, parts, readelf: values.sid ? 'sid chroot eu-readelf' : values.readelf }, null, 2)}\n`);
process.exit(result.different + result.oursFailed > 0 ? 1 : 0);
