/**
 * Writing `.BTF` and `.BTF.base` into an ELF object with one objcopy call, the way
 * pahole does it (sections SHT_PROGBITS, no flags, alignment 1), through
 * sections-ops.ts. `.BTF_ids` is not touched here: its size never changes, and callers patch
 * its bytes in place (objcopy --update-section has been seen to mangle symbol section
 * indexes).
 */
import { rewriteSections, sectionOpsArgs, type SectionOp } from './sections-ops.js';
import type { ObjcopyTool } from './locate.js';

export interface BtfSectionChange {
  /** New `.BTF` contents. */
  btf: Uint8Array;
  /** New `.BTF.base` contents; undefined removes an existing `.BTF.base`. */
  btfBase: Uint8Array | undefined;
  /** Whether the input already has these sections (update vs add). */
  inputHasBtf: boolean;
  inputHasBtfBase: boolean;
}

/** The change as section operations: `.BTF` first, then `.BTF.base`. */
function btfSectionOps(change: BtfSectionChange): SectionOp[] {
  const ops: SectionOp[] = [{ op: change.inputHasBtf ? 'update' : 'add', name: '.BTF', contents: change.btf }];
  if (change.btfBase !== undefined) ops.push({ op: change.inputHasBtfBase ? 'update' : 'add', name: '.BTF.base', contents: change.btfBase });
  else if (change.inputHasBtfBase) ops.push({ op: 'remove', name: '.BTF.base' });
  return ops;
}

/** objcopy arguments for the change (without input/output paths). */
export function objcopyArgs(change: BtfSectionChange, btfPath: string, basePath: string): string[] {
  return sectionOpsArgs(btfSectionOps(change), (i) => (i === 0 ? btfPath : basePath));
}

export function rewriteBtfSections(tool: ObjcopyTool, elfBytes: Uint8Array, change: BtfSectionChange, opts: { file?: string } = {}): Promise<Uint8Array> {
  return rewriteSections(tool, elfBytes, btfSectionOps(change), opts);
}
