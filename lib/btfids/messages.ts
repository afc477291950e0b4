/**
 * Diagnostics of the `.BTF_ids` step and the exact texts Debian's 6.12 resolve_btfids
 * prints (tools/bpf/resolve_btfids/main.c). The library never prints: it returns
 * Diagnostic values in the order the tool would print them, and the resolve-btfids
 * command writes `message` + "\n" to stderr.
 *
 * Names inside the messages are the symbol's bytes decoded as UTF-8 (the tool prints
 * raw bytes; kernel symbol names are ASCII).
 */

export type DiagnosticLevel = 'debug' | 'warning' | 'error';

export type DiagnosticCode =
  // debug lines (resolve_btfids -v / -vv)
  | 'BTFIDS_SECTION'
  | 'BTFIDS_FIX_ALIGNMENT'
  | 'BTFIDS_NOTHING_TO_DO'
  | 'BTFIDS_ADD_SYMBOL'
  | 'BTFIDS_PATCH'
  | 'BTFIDS_SORT'
  | 'BTFIDS_UPDATE'
  | 'BTFIDS_BSWAP'
  | 'BTFIDS_KFUNC'
  | 'BTFIDS_DUMP'
  // warnings resolve_btfids prints
  | 'BTFIDS_MULTIPLE_IDS'
  | 'BTFIDS_UNRESOLVED'
  | 'BTFIDS_KFUNC_NO_SYMBOL'
  | 'BTFIDS_KFUNC_NO_FUNC'
  // modbtf's own warnings (extension: true; resolve_btfids does not print them)
  | 'BTFIDS_NOT_RELOCATED'
  | 'BTFIDS_REMAP_CHANGED'
  | 'BTFIDS_SET8_FLAGS_LOST'
  | 'BTFIDS_RECOVERED'
  // modbtf's warning about the module as a whole: its vermagic names another release than the vmlinux given
  | 'MODULE_VERMAGIC_MISMATCH';

export interface Diagnostic {
  level: DiagnosticLevel;
  code: DiagnosticCode;
  /** The line without its newline, exactly as resolve_btfids prints it (or modbtf's text). */
  message: string;
  /** The resolved name (for symbol-related diagnostics). */
  symbol?: string;
  /** Debug lines: the -v count needed to see it (1 or 2). */
  verbosity?: 1 | 2;
  /** Byte offset inside `.BTF_ids`, when the diagnostic is about one slot. */
  offset?: number;
  /** True for modbtf's own diagnostics that resolve_btfids never prints. */
  extension?: true;
}

/** Symbol names are kept as latin1 strings (one char per byte, so sorting = strcmp). */
export function displayName(latin1: string): string {
  // eslint-disable-next-line no-control-regex
  return /^[\x00-\x7f]*$/.test(latin1) ? latin1 : Buffer.from(latin1, 'latin1').toString('utf8');
}

/** printf("%<w>d") / ("%<w>lu"): right-aligned in a field of `width` characters. */
function pad(v: number | bigint, width: number): string {
  return String(v).padStart(width, ' ');
}

export const msg = {
  // --- failures (printed by resolve_btfids before exit status 255) ---
  cannotOpen: (path: string, reason: string): string => `FAILED cannot open ${path}: ${reason}`,
  noShdrStrNdx: (): string => 'FAILED cannot get shdr str ndx',
  cannotCreateElf: (elfMsg: string): string => `FAILED cannot create ELF descriptor: ${elfMsg}`,
  sectionName: (idx: number): string => `FAILED get section(${idx}) name`,
  sectionData: (idx: number, name: string): string => `FAILED to get section(${idx}) data from ${name}`,
  unsupportedPrefix: (rest: string): string => `FAILED unsupported prefix ${displayName(rest)}`,
  badSymbolName: (rest: string): string => `FAILED to parse symbol name: ${displayName(rest)}`,
  badSetName: (rest: string): string => `FAILED to parse set name: ${displayName(rest)}`,
  tooManySymbols: (name: string): string => `FAILED symbol ${displayName(name)} crossed the number of allowed lists`,
  loadBaseBtf: (path: string, reason: string): string => `FAILED: load base BTF from ${path}: ${reason}`,
  loadBtf: (path: string, reason: string): string => `FAILED: load BTF from ${path}: ${reason}`,
  malformedType: (id: number): string => `FAILED: malformed BTF, can't resolve type for ID ${id}`,
  malformedName: (id: number): string => `FAILED: malformed BTF, can't resolve name for ID ${id}`,
  patchOutOfBounds: (idx: bigint, size: number): string => `FAILED patching index ${idx} out of bounds ${size}`,
  elfUpdate: (elfMsg: string): string => `FAILED elf_update(WRITE): ${elfMsg}`,

  // --- warnings (exit status stays 0) ---
  multipleIds: (name: string, first: number, later: number): string => `WARN: multiple IDs found for '${displayName(name)}': ${first}, ${later} - using ${first}`,
  unresolved: (name: string): string => `WARN: resolve_btfids: unresolved symbol ${displayName(name)}`,

  // --- debug (-v, -vv) ---
  section: (idx: number, name: string, size: number, link: number, flags: number, type: number): string =>
    `section(${idx}) ${name}, size ${size}, link ${link | 0}, flags ${flags.toString(16)}, type=${type | 0}`,
  fixAlignment: (was: number, expected: number): string => ` - fixing wrong alignment sh_addralign ${was >>> 0}, expected ${expected}`,
  nothingToDo: (): string => 'Cannot find .BTF_ids or symbols sections, nothing to do',
  // resolve_btfids 7.x
  skipResolution: (): string => 'Cannot find .BTF_ids or symbols sections, skip symbols resolution',
  bswapLoad: (): string => 'bswap_32 .BTF_ids data from target to host endianness',
  bswapDump: (): string => 'bswap_32 .BTF_ids data from host to target endianness',
  foundKfunc: (func: string, set: string): string => `found kfunc ${displayName(func)} in BTF_ID_FLAGS ${displayName(set)}`,
  implExists: (name: string): string => `resolve_btfids: function ${displayName(name)} already exists in BTF`,
  implicitUpdated: (name: string): string => `resolve_btfids: updated BTF for kfunc with implicit args ${displayName(name)}`,
  notAFunction: (id: number): string => `ERROR: resolve_btfids: btf id ${id} is not a function`,
  notAProto: (id: number): string => `ERROR: resolve_btfids: btf id ${id} is not a function prototype`,
  nameTooLong: (name: string): string => `ERROR: function name is too long: ${displayName(name)}_impl`,
  dumped: (size: number, path: string): string => `Dumped ${size} bytes of data to ${path}`,
  noBtfIdsToDump: (path: string): string => `${path} has no BTF_ids data to dump`,
  distillFailed: (reason: string): string => `FAILED to distill base BTF: ${reason}`,
  // resolve_btfids 7.3
  foundKfuncInSet: (func: string, set: string): string => `found kfunc ${displayName(func)} in ${displayName(set)}`,
  noKfuncSymbol: (set: string, entry: number): string => `WARN: resolve_btfids: no BTF ID symbol for ${displayName(set)} entry ${entry >>> 0}`,
  noKfuncFunc: (func: string, set: string): string => `WARN: resolve_btfids: no BTF func for kfunc ${displayName(func)} in ${displayName(set)}`,
  inconsistentFlags: (func: string, was: number, now: number): string => `ERROR: resolve_btfids: kfunc ${displayName(func)} has inconsistent flags across BTF ID sets: 0x${(was >>> 0).toString(16)} != 0x${(now >>> 0).toString(16)}`,
  collectKfuncsFailed: (): string => 'ERROR: resolve_btfids: failed to collect kfuncs from BTF',
  arenaNotPointer: (func: string): string => `ERROR: resolve_btfids: kfunc ${displayName(func)}: arena type is not a pointer`,
  arenaProtoAdded: (func: string, id: number): string => `added arena-tagged proto for kfunc ${displayName(func)}: ${id}`,
  dedupFailed: (reason: string): string => `FAILED to dedup BTF: ${reason}`,
  permuteFailed: (reason: string): string => `FAILED: btf permute: ${reason}`,
  sortFailed: (reason: string): string => `FAILED to sort BTF: ${reason}`,
  addingSymbol: (name: string): string => `adding symbol ${displayName(name)}`,
  patching: (idx: bigint, id: number, name: string): string => `patching addr ${pad(idx, 5)}: ID ${pad(id, 7)} [${displayName(name)}]`,
  sorting: (off: bigint, cnt: number, name: string): string => `sorting  addr ${pad(off, 5)}: cnt ${pad(cnt, 6)} [${displayName(name)}]`,
  updateOk: (path: string): string => `update ok for ${path}`,
  updateFailed: (path: string): string => `update failed for ${path}`,
};

/** glibc strerror() texts for the errno names Node reports. */
const STRERROR: Record<string, string> = {
  EPERM: 'Operation not permitted',
  ENOENT: 'No such file or directory',
  EIO: 'Input/output error',
  ENXIO: 'No such device or address',
  E2BIG: 'Argument list too long',
  EBADF: 'Bad file descriptor',
  EAGAIN: 'Resource temporarily unavailable',
  ENOMEM: 'Cannot allocate memory',
  EACCES: 'Permission denied',
  EFAULT: 'Bad address',
  EBUSY: 'Device or resource busy',
  EEXIST: 'File exists',
  ENODEV: 'No such device',
  ENOTDIR: 'Not a directory',
  EISDIR: 'Is a directory',
  EINVAL: 'Invalid argument',
  ENFILE: 'Too many open files in system',
  EMFILE: 'Too many open files',
  ETXTBSY: 'Text file busy',
  EFBIG: 'File too large',
  ENOSPC: 'No space left on device',
  ESPIPE: 'Illegal seek',
  EROFS: 'Read-only file system',
  ENAMETOOLONG: 'File name too long',
  ELOOP: 'Too many levels of symbolic links',
  ENODATA: 'No data available',
  EPROTO: 'Protocol error',
  EOVERFLOW: 'Value too large for defined data type',
  ENOTSUP: 'Operation not supported',
  EOPNOTSUPP: 'Operation not supported',
  EDQUOT: 'Disk quota exceeded',
  ESTALE: 'Stale file handle',
};

/** strerror() for an errno name ('ENOENT') or a libbpf error number (4003 -> "Unknown error 4003"). */
export function strerror(code: string | number): string {
  if (typeof code === 'number') return `Unknown error ${code}`;
  return STRERROR[code] ?? code;
}
