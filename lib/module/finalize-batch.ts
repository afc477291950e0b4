/**
 * `modbtf finalize` over trees: finalize results as plain data (JSON, and across
 * worker threads), a per-thread finalizer that parses each vmlinux BTF once (the one
 * given, or one per kernel release found in the modules' vermagic), batches
 * decompressed with one child process, and the parallel run over worker threads.
 *
 * Every module is finalized by finalizeLoaded, which replaces the file atomically
 * (temp file, fsync, rename) or not at all, so stopping between modules, or killing
 * the process in the middle of one, leaves each module either old or new.
 */
import { readFile } from 'node:fs/promises';
import type { Btf } from '../btf/btf.js';
import type { Diagnostic } from '../btfids/index.js';
import { ModuleError, isModbtfError } from '../errors.js';
import { objcopyChooser } from '../objcopy/locate.js';
import type { RelocationTarget } from '../relocate/index.js';
import { loadBaseBtf } from './btf-file.js';
import { vermagicMismatch } from './built-against.js';
import type { CheckReport } from './check-report.js';
import type { Compression } from './compress.js';
import { finalizeLoaded, moduleProfile, type FinalizeAction, type FinalizeResult, type FinalizeTimings } from './finalize.js';
import { loadKernelBtf, resolveKernelBtfPath } from './kernel.js';
import { loadModuleBytes, loadModuleFile, type LoadedModule } from './load.js';
import { moduleKernelRelease } from './modinfo.js';
import { runFilePool } from './file-pool.js';
import { pipelineProfile, type ProfileName } from '../pipeline/profile.js';

/** Everything a finalizer needs; plain data, so it can be a worker's `workerData`. */
export interface FinalizeBatchInit {
  /** vmlinux (path or release) the modules were built against; by vermagic when absent. */
  basePath?: string;
  distill: boolean;
  /** objcopy command (`--objcopy`); located as usual when absent. */
  objcopy?: string;
  stripSignature: boolean;
  dryRun: boolean;
  /** Predict relocation of the finalized module onto this kernel (vmlinux path). */
  checkKernelPath?: string;
  /** Whose pipeline's bytes to write (`--kernel-abi`); by each module's vermagic when absent. */
  kernelAbi?: ProfileName;
}

export interface FinalizeReportError {
  name: string;
  code: string;
  message: string;
  /** The full one-line message (`file: section+0x..: ...`). */
  text: string;
  /** An external tool's stderr (ToolError). */
  stderr?: string;
}

export interface FinalizeReport {
  file: string;
  status: FinalizeAction | 'error';
  btf?: FinalizeResult['btf'];
  compression?: Compression;
  sizeBefore?: number;
  sizeAfter?: number;
  distilledBaseSize?: number;
  /** The vmlinux BTF the module was finalized against. */
  vmlinux?: string;
  /** resolve_btfids' and modbtf's warnings (debug lines dropped). */
  diagnostics: Diagnostic[];
  warnings: number;
  /** With `checkKernelPath`: will the finalized module keep its BTF on that kernel? */
  relocation?: CheckReport;
  error?: FinalizeReportError;
  /** Milliseconds: reading and decompressing, loading vmlinux, then finalize's phases. */
  timings?: FinalizeTimings & { load: number; vmlinux: number };
}

export function finalizeErrorReport(file: string, err: unknown): FinalizeReport {
  if (isModbtfError(err)) {
    const error: FinalizeReportError = { name: err.name, code: err.code, message: err.message, text: err.withContext({ file }).describe() };
    const stderr = (err as { stderr?: unknown }).stderr;
    if (typeof stderr === 'string' && stderr !== '') error.stderr = stderr;
    return { file, status: 'error', diagnostics: [], warnings: 0, error };
  }
  const message = err instanceof Error ? err.message : String(err);
  return { file, status: 'error', diagnostics: [], warnings: 0, error: { name: 'Error', code: 'INTERNAL', message, text: `${file}: internal error: ${message}` } };
}

export interface Finalizer {
  /** Never throws: failures become `status: 'error'` reports. */
  finalizeOne(file: string, predecompressed?: Uint8Array): Promise<FinalizeReport>;
}

async function readModule(file: string, predecompressed: Uint8Array | undefined): Promise<LoadedModule> {
  if (predecompressed === undefined) return loadModuleFile(file);
  let raw: Uint8Array;
  try {
    raw = await readFile(file);
  } catch {
    return loadModuleFile(file); // the same read again, for loadModuleFile's error
  }
  return loadModuleBytes(raw, file, predecompressed);
}

/** One per thread: vmlinux BTFs (by path) and objcopy are looked up once and kept. */
export function createFinalizer(init: FinalizeBatchInit): Finalizer {
  const bases = new Map<string, Promise<Btf>>();
  const paths = new Map<string, Promise<string>>();
  // One objcopy per machine (a tree may hold modules of several), probed once per thread.
  const objcopy = objcopyChooser(init.objcopy !== undefined ? { command: init.objcopy } : {});
  let target: Promise<RelocationTarget> | undefined;
  // The relocation code is loaded only for --check-kernel: plain runs start faster.
  const checkTarget = (path: string): Promise<RelocationTarget> =>
    (target ??= Promise.all([loadBaseBtf(path), import('../relocate/index.js')]).then(([b, { relocationTarget }]) => relocationTarget(b)));
  const cached = <T>(map: Map<string, Promise<T>>, key: string, make: () => Promise<T>): Promise<T> => {
    let p = map.get(key);
    if (!p) {
      p = make();
      map.set(key, p);
    }
    return p;
  };
  const vmlinuxPath = (mod: LoadedModule): Promise<string> => {
    if (init.basePath !== undefined) return cached(paths, init.basePath, () => resolveKernelBtfPath(init.basePath as string));
    const rel = moduleKernelRelease(mod.elf);
    if (rel === undefined) {
      return Promise.reject(new ModuleError('MODULE_NO_VERMAGIC', 'no vermagic in .modinfo to find the kernel it was built against: give -b/--base (its vmlinux or release)', { file: mod.path }));
    }
    // Said about the module: its vermagic chose the kernel that is not there.
    return cached(paths, rel, () => resolveKernelBtfPath(rel)).catch((err: unknown) => {
      if (!isModbtfError(err) || err.code !== 'KERNEL_NOT_FOUND') throw err;
      throw new ModuleError('KERNEL_NOT_FOUND', `its vermagic names ${rel}: ${err.message.replace(/; install .*$/, '')}; install linux-headers-${rel}, or give -b/--base the vmlinux (or release) it was built against`, { file: mod.path }, { cause: err });
    });
  };

  return {
    async finalizeOne(file, predecompressed) {
      try {
        let t = performance.now();
        const mod = await readModule(file, predecompressed);
        const load = performance.now() - t;
        // Before looking for its vmlinux: a module of a kernel newer than every pipeline is refused first.
        const profile = init.kernelAbi !== undefined ? pipelineProfile(init.kernelAbi) : moduleProfile(mod.elf, file);
        t = performance.now();
        const path = await vmlinuxPath(mod);
        const vmlinux = await cached(bases, path, () => loadKernelBtf(path));
        const vmTime = performance.now() - t;
        const r = await finalizeLoaded(mod, { vmlinux, distill: init.distill, objcopy, stripSignature: init.stripSignature, dryRun: init.dryRun, profile });
        const diagnostics = r.diagnostics.filter((d) => d.level !== 'debug');
        // A vmlinux found by the module's vermagic cannot disagree with it; one given can.
        const mismatch = init.basePath !== undefined && r.btf !== 'had-base' ? vermagicMismatch(mod.elf, vmlinux) : undefined;
        if (mismatch !== undefined) diagnostics.unshift({ level: 'warning', code: 'MODULE_VERMAGIC_MISMATCH', message: `warning: ${mismatch}`, extension: true });
        const report: FinalizeReport = {
          file,
          status: r.action,
          btf: r.btf,
          compression: r.compression,
          sizeBefore: r.sizeBefore,
          sizeAfter: r.sizeAfter,
          vmlinux: path,
          diagnostics,
          warnings: diagnostics.filter((d) => d.level === 'warning').length,
          timings: { load, vmlinux: vmTime, ...r.timings },
        };
        if (r.distilledBaseSize !== undefined) report.distilledBaseSize = r.distilledBaseSize;
        if (init.checkKernelPath !== undefined) {
          // The file as written (with --dry-run the old one: distilled on the fly, same answer).
          // A kernel that cannot be loaded spoils the prediction, not the module's report.
          const { checkOne, errorReport } = await import('./check-report.js');
          report.relocation = await checkTarget(init.checkKernelPath).then(
            (t) => checkOne(file, { target: t, builtWith: vmlinux }),
            (err: unknown) => errorReport(file, err),
          );
        }
        return report;
      } catch (err: unknown) {
        return finalizeErrorReport(file, err);
      }
    },
  };
}

/** Modules per lane request: small enough that an interrupt waits for few modules. */
export const FINALIZE_BATCH = 8;

export interface FinalizeFilesOptions {
  init: FinalizeBatchInit;
  /** Lanes, this thread included (pool.ts); 1 runs in this thread only. */
  jobs: number;
  onResult: (r: FinalizeReport, index: number) => void;
  /** Aborting stops handing out modules; those in flight finish (each is atomic). */
  signal?: AbortSignal;
}

export function finalizeFiles(files: readonly string[], opts: FinalizeFilesOptions): Promise<void> {
  return runFilePool<FinalizeBatchInit, FinalizeReport>({
    workerUrl: new URL('./finalize-worker.js', import.meta.url),
    lane: finalizeLane,
    init: opts.init,
    files,
    batchSize: FINALIZE_BATCH,
    jobs: opts.jobs,
    onResult: opts.onResult,
    ...(opts.signal ? { signal: opts.signal } : {}),
  });
}

/** One lane of finalizeFiles (this thread, or a worker: finalize-worker.ts). */
export async function finalizeLane(init: FinalizeBatchInit): Promise<(file: string, plain: Uint8Array | undefined) => Promise<FinalizeReport>> {
  const f = createFinalizer(init);
  return (file, plain) => f.finalizeOne(file, plain);
}
