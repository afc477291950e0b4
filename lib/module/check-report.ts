/**
 * Check results as plain data (JSON, and across worker threads), the parallel
 * tree check, and the grouping a person acts on: which kernel type's change makes
 * which modules lose their BTF.
 */
import { isModbtfError } from '../errors.js';
import { loadBaseBtf } from './btf-file.js';
import { checkModule, loadModuleBtf, type ModuleCheck } from './check.js';
import { relocationTarget, type RelocationTarget } from '../relocate/index.js';
import type { Btf } from '../btf/btf.js';
import { runPool } from './pool.js';
import { decompressBatch } from './compress.js';

export interface CheckFailureReport {
  code: string;
  message: string;
  typeName?: string;
  embeddedVia?: string;
  libbpfMessage: string;
}

export interface CheckReport {
  file: string;
  status: 'ok' | 'loses-btf' | 'error';
  hadDistilledBase?: boolean;
  distilledTypes?: number;
  /** The line the kernel logs for the first failure. */
  kernelMessage?: string;
  failures: CheckFailureReport[];
  /** Retargeted module: for this kernel, or for another (then it loses BTF here). */
  retargeted?: 'this-kernel' | 'other-kernel';
  /** .BTF_ids entries the kernel does not relocate (wrong here unless retargeted). */
  idsNotRelocated?: string[];
  error?: { name: string; code: string; message: string; text: string };
}

export function toCheckReport(r: ModuleCheck): CheckReport {
  const out: CheckReport = {
    file: r.file,
    status: r.status,
    hadDistilledBase: r.hadDistilledBase,
    distilledTypes: r.distilledTypes,
    failures: r.failures.map((f) => {
      const fr: CheckFailureReport = { code: f.code, message: f.message, libbpfMessage: f.libbpfMessage };
      if (f.typeName !== undefined) fr.typeName = f.typeName;
      if (f.embeddedVia) fr.embeddedVia = f.embeddedVia.text;
      return fr;
    }),
  };
  if (r.kernelMessage !== undefined) out.kernelMessage = r.kernelMessage;
  if (r.retargeted !== undefined) out.retargeted = r.retargeted;
  if (r.idsNotRelocated.length > 0) out.idsNotRelocated = r.idsNotRelocated;
  return out;
}

export function errorReport(file: string, err: unknown): CheckReport {
  if (isModbtfError(err)) {
    return { file, status: 'error', failures: [], error: { name: err.name, code: err.code, message: err.message, text: err.withContext({ file }).describe() } };
  }
  const message = err instanceof Error ? err.message : String(err);
  return { file, status: 'error', failures: [], error: { name: 'Error', code: 'INTERNAL', message, text: `${file}: internal error: ${message}` } };
}

export interface CheckTarget {
  target: RelocationTarget;
  builtWith: Btf | undefined;
}

export async function loadCheckTarget(kernelPath: string, builtWithPath: string | undefined): Promise<CheckTarget> {
  const target = relocationTarget(await loadBaseBtf(kernelPath));
  const builtWith = builtWithPath !== undefined ? await loadBaseBtf(builtWithPath) : undefined;
  return { target, builtWith };
}

/** Never throws: input problems become `status: 'error'` reports. */
export async function checkOne(file: string, t: CheckTarget, predecompressed?: Uint8Array): Promise<CheckReport> {
  try {
    const loaded = await loadModuleBtf(file, t.builtWith, predecompressed);
    return toCheckReport(checkModule(loaded, t.target, t.builtWith ? { builtWith: t.builtWith } : {}));
  } catch (err: unknown) {
    return errorReport(file, err);
  }
}

/** Modules per worker request. */
export const CHECK_BATCH = 16;

/** Checks a batch, decompressing it with one child process. */
export async function checkBatch(files: readonly string[], t: CheckTarget): Promise<CheckReport[]> {
  const plain = await decompressBatch(files);
  const out: CheckReport[] = [];
  for (let i = 0; i < files.length; i++) out.push(await checkOne(files[i] as string, t, plain[i]));
  return out;
}

export interface CheckFilesOptions {
  kernelPath: string;
  builtWithPath?: string;
  /** Lanes, this thread included (pool.ts); 1 runs in this thread only. */
  jobs: number;
  onResult: (r: CheckReport, index: number) => void;
  signal?: AbortSignal;
}

export async function checkFiles(files: readonly string[], opts: CheckFilesOptions): Promise<void> {
  // Lanes take batches, so each decompresses a batch with one child process.
  const batches: { start: number; files: string[] }[] = [];
  for (let i = 0; i < files.length; i += CHECK_BATCH) batches.push({ start: i, files: files.slice(i, i + CHECK_BATCH) });
  await runPool<CheckLaneInit, { start: number; files: string[] }, CheckReport[]>({
    workerUrl: new URL('./check-worker.js', import.meta.url),
    local: checkLane,
    init: { kernelPath: opts.kernelPath, builtWithPath: opts.builtWithPath },
    items: batches,
    jobs: opts.jobs,
    onResult: (rs, batch) => rs.forEach((r, k) => opts.onResult(r, batch.start + k)),
    ...(opts.signal ? { signal: opts.signal } : {}),
  });
}

export interface CheckLaneInit {
  kernelPath: string;
  builtWithPath: string | undefined;
}

/** One lane of checkFiles (this thread, or a worker: check-worker.ts). */
export async function checkLane(init: CheckLaneInit): Promise<(batch: { files: string[] }) => Promise<CheckReport[]>> {
  const t = await loadCheckTarget(init.kernelPath, init.builtWithPath);
  return (batch) => checkBatch(batch.files, t);
}

/** "struct wireless_dev [64]: size changed ..., and the module embeds it ..." → "struct wireless_dev: size changed ...". */
export function causeOf(f: CheckFailureReport): string {
  return f.message.replace(/ \[\d+\]/, '').replace(/, and the module embeds it.*$/, '').replace(/\s*\(.*$/, '');
}

/** Modules losing BTF, grouped by cause, largest group first. */
export function groupByCause(reports: readonly CheckReport[]): [string, string[]][] {
  const groups = new Map<string, string[]>();
  for (const r of reports) {
    if (r.status !== 'loses-btf') continue;
    for (const cause of new Set(r.failures.map(causeOf))) {
      const list = groups.get(cause) ?? [];
      list.push(r.file);
      groups.set(cause, list);
    }
  }
  return [...groups.entries()].sort((a, b) => b[1].length - a[1].length || (a[0] < b[0] ? -1 : 1));
}
