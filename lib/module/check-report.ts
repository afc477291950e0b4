/**
 * Check results as plain data (JSON, and across worker threads), the parallel
 * tree check, and the grouping a person acts on: which kernel type's change makes
 * which modules lose their BTF.
 */
import { isModbtfError } from '../errors.js';
import { loadKernelBtf } from './kernel.js';
import { checkModule, loadModuleBtf, type ModuleCheck } from './check.js';
import { relocationTarget, type RelocationTarget } from '../relocate/index.js';
import type { Btf } from '../btf/btf.js';
import { runFilePool } from './file-pool.js';

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
  /** What does not change the verdict but should be said (vermagic of another release). */
  warnings?: string[];
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
  if (r.warnings.length > 0) out.warnings = r.warnings;
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
  const target = relocationTarget(await loadKernelBtf(kernelPath));
  const builtWith = builtWithPath !== undefined ? await loadKernelBtf(builtWithPath) : undefined;
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

/** Modules per lane request. */
export const CHECK_BATCH = 16;

export interface CheckFilesOptions {
  kernelPath: string;
  builtWithPath?: string;
  /** Lanes, this thread included (pool.ts); 1 runs in this thread only. */
  jobs: number;
  onResult: (r: CheckReport, index: number) => void;
  signal?: AbortSignal;
}

export function checkFiles(files: readonly string[], opts: CheckFilesOptions): Promise<void> {
  return runFilePool<CheckLaneInit, CheckReport>({
    workerUrl: new URL('./check-worker.js', import.meta.url),
    lane: checkLane,
    init: { kernelPath: opts.kernelPath, builtWithPath: opts.builtWithPath },
    files,
    batchSize: CHECK_BATCH,
    jobs: opts.jobs,
    onResult: opts.onResult,
    ...(opts.signal ? { signal: opts.signal } : {}),
  });
}

export interface CheckLaneInit {
  kernelPath: string;
  builtWithPath: string | undefined;
}

/** One lane of checkFiles (this thread, or a worker: check-worker.ts). */
export async function checkLane(init: CheckLaneInit): Promise<(file: string, plain: Uint8Array | undefined) => Promise<CheckReport>> {
  const t = await loadCheckTarget(init.kernelPath, init.builtWithPath);
  return (file, plain) => checkOne(file, t, plain);
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
