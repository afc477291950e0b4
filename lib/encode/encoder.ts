/**
 * pahole 1.32's BTF encoder for one module (btf_encoder.c): CU by CU, the types of each CU's
 * types_table in table order (type_id_off + small id = BTF id), the array index "int", the
 * decl tags of structs/unions/typedefs, the per-CPU (and, with global_var, all) variables;
 * the functions are saved and encoded after the last CU, sorted by name and merged across
 * CUs (btf_encoder__add_saved_funcs), then the DATASECs, then libbpf's btf__dedup.
 */
import type { Btf } from '../btf/btf.js';
import { BtfKind } from '../btf/kinds.js';
import type { Dwarf } from '../dwarf/dwarf.js';
import { ModbtfError } from '../errors.js';
import {
  DW_TAG_array_type, DW_TAG_base_type, DW_TAG_class_type, DW_TAG_const_type, DW_TAG_enumeration_type,
  DW_TAG_GNU_annotation, DW_TAG_LLVM_annotation, DW_TAG_pointer_type, DW_TAG_restrict_type, DW_TAG_structure_type,
  DW_TAG_subroutine_type, DW_TAG_typedef, DW_TAG_union_type, DW_TAG_unspecified_type, DW_TAG_volatile_type,
} from '../dwarf/constants.js';
import { SHT_NOBITS, SHT_PROGBITS, STT_OBJECT } from '../elf/constants.js';
import type { ElfFile } from '../elf/file.js';
import { BTF_FUNC_STATIC, BTF_INT_BOOL, BTF_INT_SIGNED, BTF_VAR_GLOBAL_ALLOCATED, BTF_VAR_STATIC, BtfOut } from './btf-out.js';
import {
  BT_FP_SINGLE, VSCOPE_GLOBAL, type Annotation, type Cu, type FtypeTag, type FunctionTag, type ProtoFlags, type Tag, type TypeTag,
  type VariableTag,
} from './cu.js';
import { byName, collectKfuncs, ElfFunctions, hasOptimizedSuffix, type ElfFunction, type ElfFunctionSym } from './elf-functions.js';
import { EncodeError } from './errors.js';
import type { EncodeFeatures } from './features.js';
import { tagSize } from './loader.js';

const KF_FASTCALL = 1 << 12;
const KF_ARENA_RET = 1 << 13;
const KF_ARENA_ARG1 = 1 << 14;
const KF_ARENA_ARG2 = 1 << 15;
const BPF_ARENA_ATTR = 'address_space(1)';
const PERCPU_SECTION = '.data..percpu';

/** The annotations of a saved function that has none (shared, never changed). */
const NO_ANNOTS: readonly Annotation[] = [];
interface FuncState extends ProtoFlags {
  elf: ElfFunction;
  sym: ElfFunctionSym | undefined;
  addr: bigint;
  nrParms: number;
  retType: number;
  /** Parameter names and BTF types, nrParms of each (two arrays, not an object per parameter). */
  parmNames: string[];
  parmTypes: number[];
  annots: readonly Annotation[];
  optimizedSymbol: boolean;
  ambiguousAddr: boolean;
  /** Order of saving, for the stable sort. */
  seq: number;
}

interface SecInfo { addr: bigint; size: bigint; name: string; type: number; include: boolean; vars: { type: number; offset: number; size: number }[] }

export class ModuleEncoder {
  readonly btf: BtfOut;
  readonly warnings: string[] = [];
  readonly verbose: string[] = [];
  private readonly funcs: ElfFunctions;
  private readonly secinfo: SecInfo[];
  private readonly states: FuncState[] = [];
  /** Names of the STT_OBJECT symbols of each section whose variables are encoded (variable_in_sec). */
  private readonly objectSymbols = new Map<number, Set<string>>();
  private typeIdOff = 0;
  private hasIndexType = false;
  private needIndexType = false;
  private arrayIndexId = 0;
  private cu!: Cu;

  constructor(private readonly elf: ElfFile, dwarf: Dwarf, base: Btf, private readonly f: EncodeFeatures) {
    this.btf = new BtfOut(base, elf.littleEndian, elf.file);
    this.funcs = new ElfFunctions(elf);
    this.secinfo = elf.sections.map((s, i) => ({
      addr: dwarf.sectionAddresses[i] ?? 0n, size: BigInt(s.size), name: s.name, type: s.type,
      include: f.globalVar || (s.name === PERCPU_SECTION && !f.skipVars), vars: [],
    }));
    if (f.tagKfuncs) collectKfuncs(elf, this.funcs, (m) => this.warnings.push(m));
    for (const s of elf.symbols()) {
      if (s.type !== STT_OBJECT || this.secinfo[s.shndx]?.include !== true) continue;
      let names = this.objectSymbols.get(s.shndx);
      if (names === undefined) this.objectSymbols.set(s.shndx, (names = new Set()));
      names.add(s.name);
    }
    // Everything the encoder needs of the symbol table is taken: the decoded symbols need not
    // stay live through every CU (lib/dwarf keeps its own relocation values).
    elf.releaseSymbols();
  }

  /** btf_encoder__encode_cu */
  encodeCu(cu: Cu): void {
    this.cu = cu;
    const btf = this.btf;
    this.typeIdOff = btf.typeCount - 1;
    if (!this.hasIndexType) {
      const id = cu.types.findIndex((t) => t !== undefined && t.kind === 'base' && t.name === 'int');
      if (id > 0) {
        this.hasIndexType = true;
        this.arrayIndexId = this.typeIdOff + id;
      } else {
        this.hasIndexType = false;
        this.arrayIndexId = this.typeIdOff + cu.types.length;
      }
    }
    let skipped = 0;
    for (let coreId = 1; coreId < cu.types.length; coreId++) {
      const t = cu.types[coreId];
      if (t === undefined) continue;
      let id: number;
      try {
        id = this.encodeTag(t);
      } catch (err: unknown) {
        // libbpf refusing a btf__add_*() names the type id; the DIE it came from says where to look.
        if (err instanceof ModbtfError) err.withContext({ section: '.debug_info', offset: t.die, die: t.die });
        throw err;
      }
      if (id === 0) {
        skipped++;
        continue;
      }
      if (id + skipped !== coreId + this.typeIdOff) {
        throw new EncodeError('ENCODE_ID_DRIFT', `tag__check_id_drift: id drift, core_id: ${coreId}, btf_type_id: ${id + skipped}, type_id_off: ${this.typeIdOff} (CU ${cu.name})`, { file: this.elf.file, section: '.debug_info', offset: t.die, die: t.die });
      }
    }
    if (this.needIndexType && !this.hasIndexType) {
      btf.addInt('int', 4, BTF_INT_SIGNED);
      this.hasIndexType = true;
    }
    for (let coreId = 1; coreId < cu.types.length; coreId++) {
      const t = cu.types[coreId];
      if (t === undefined || t.kind !== 'type') continue;
      if (t.tag !== DW_TAG_structure_type && t.tag !== DW_TAG_union_type && t.tag !== DW_TAG_typedef) continue;
      for (const a of t.annots) btf.addDeclTag(a.value, this.typeIdOff + coreId, a.componentIdx);
    }
    for (const fn of cu.functions) {
      if (fn.declaration) continue;
      if (fn.params.some((p) => p.name === undefined)) continue;
      let func: ElfFunction | undefined;
      if (this.funcs.length > 0) {
        if (fn.name === undefined) continue;
        func = this.funcs.find(fn.name);
        if (func === undefined) continue;
      } else if (!fn.external) {
        continue;
      }
      if (func === undefined) continue;
      if (this.hasUncertainArgLoc(fn)) fn.uncertainParmLoc = true;
      this.saveFunc(fn, func);
    }
    if (this.f.globalVar || !this.f.skipVars) this.encodeVariables();
  }

  private ref(type: number): number {
    return type === 0 ? 0 : this.typeIdOff + type;
  }

  /** btf_encoder__encode_tag: the BTF id of the type, 0 when it is not encoded (unspecified). */
  private encodeTag(t: Tag): number {
    const btf = this.btf;
    const ref = this.ref(t.type);
    switch (t.tag) {
      case DW_TAG_base_type:
        if (t.kind !== 'base') break;
        return this.addBaseType(t.name, t.bitSize, t.isSigned, t.isBool, t.floatType);
      case DW_TAG_const_type: return btf.addRef(BtfKind.Const, undefined, ref);
      case DW_TAG_pointer_type: return btf.addRef(BtfKind.Ptr, undefined, ref);
      case DW_TAG_restrict_type: return btf.addRef(BtfKind.Restrict, undefined, ref);
      case DW_TAG_volatile_type: return btf.addRef(BtfKind.Volatile, undefined, ref);
      case DW_TAG_typedef: return btf.addRef(BtfKind.Typedef, t.kind === 'type' ? t.name : undefined, ref);
      case DW_TAG_LLVM_annotation: case DW_TAG_GNU_annotation:
        return btf.addRef(BtfKind.TypeTag, t.kind === 'typetag' ? t.value : undefined, ref);
      case DW_TAG_structure_type: case DW_TAG_union_type: case DW_TAG_class_type: {
        if (t.kind !== 'type') break;
        if (t.declaration) return btf.addFwd(t.name, t.tag === DW_TAG_union_type);
        const id = btf.addComposite(t.tag === DW_TAG_union_type, t.name, t.size);
        for (const m of t.members) {
          if (m.tag !== 0x0d) continue; // DW_TAG_member only: type__for_each_data_member
          btf.addField(m.name, this.typeIdOff + m.type, m.bitOffset, m.bitfieldSize);
        }
        return id;
      }
      case DW_TAG_array_type: {
        if (t.kind !== 'array') break;
        this.needIndexType = true;
        let n = 1;
        for (let i = t.dims.length - 1; i >= 0; i--) n = Math.imul(n, t.dims[i] as number) >>> 0;
        return btf.addArray(this.arrayIndexId, ref, n);
      }
      case DW_TAG_enumeration_type:
        if (t.kind !== 'type') break;
        return this.addEnum(t);
      case DW_TAG_subroutine_type:
        if (t.kind !== 'ftype') break;
        return this.addFuncProtoForFtype(t);
      case DW_TAG_unspecified_type:
        return 0;
      default:
        break;
    }
    throw new EncodeError('ENCODE_UNSUPPORTED_TAG', `Unsupported DW_TAG 0x${t.tag.toString(16)}: type: 0x${ref.toString(16)} (pahole: "Error while encoding BTF")`, { file: this.elf.file, section: '.debug_info', offset: t.die, die: t.die });
  }

  /** btf_encoder__add_base_type */
  private addBaseType(name: string | undefined, bitSize: number, isSigned: boolean, isBool: boolean, floatType: number): number {
    let encoding = 0;
    if (isSigned) encoding = BTF_INT_SIGNED;
    else if (isBool) encoding = BTF_INT_BOOL;
    else if (floatType !== 0 && this.f.genFloats) {
      if (floatType === BT_FP_SINGLE) return this.btf.addFloat(name, Math.ceil(bitSize / 8));
      throw new EncodeError('ENCODE_UNSUPPORTED', `Complex, interval and imaginary float types are not supported (${name ?? '(anon)'})`, { file: this.elf.file });
    }
    let byteSz = (bitSize >> 3) + ((bitSize & 7) !== 0 ? 1 : 0);
    if (!byteSz || (byteSz & (byteSz - 1)) !== 0 || byteSz > 16) {
      name = '__SANITIZED_FAKE_INT__';
      byteSz = 4;
    }
    return this.btf.addInt(name, byteSz, encoding);
  }

  /** btf_encoder__add_enum_type */
  private addEnum(t: TypeTag): number {
    const size = (t.size >> 3) + ((t.size & 7) !== 0 ? 1 : 0);
    const is32 = size <= 4 || this.f.skipEnum64;
    const id = this.btf.addEnum(t.name, size, !is32, is32 ? false : t.isSignedEnum);
    for (const e of t.enumerators) {
      if (this.f.skipEnum64) this.btf.addEnumValue(e.name, BigInt.asUintN(32, e.value));
      else if (t.size <= 32) this.btf.addEnumValue(e.name, e.value);
      else this.btf.addEnum64Value(e.name, e.value);
    }
    return id;
  }

  /** btf_encoder__add_func_proto_for_ftype */
  private addFuncProtoForFtype(f: FtypeTag): number {
    const btf = this.btf;
    const id = btf.addFuncProto(this.ref(f.type));
    for (const p of f.params) btf.addFuncParam(p.name, p.type === 0 ? 0 : this.typeIdOff + p.type);
    if (f.unspecParms) btf.addFuncParam(undefined, 0);
    return id;
  }

  /** ftype__has_uncertain_arg_loc: a named, packed struct passed by value on the stack. */
  private hasUncertainArgLoc(fn: FunctionTag): boolean {
    const cu = this.cu;
    if (fn.params.length < cu.nrRegisterParams) return false;
    let idx = 0;
    for (const p of fn.params) {
      if (idx++ < cu.nrRegisterParams) continue;
      const t = cu.types[p.type];
      if (t === undefined || t.kind !== 'type' || (t.tag !== DW_TAG_structure_type && t.tag !== DW_TAG_class_type && t.tag !== 0x38)) continue;
      if (t.name === undefined) continue;
      if (inferPacked(cu, t)) return true;
    }
    return false;
  }

  /** btf_encoder__save_func */
  private saveFunc(fn: FunctionTag, func: ElfFunction): void {
    const s: FuncState = {
      elf: func, sym: undefined, addr: fn.addr, nrParms: fn.params.length + (fn.unspecParms ? 1 : 0),
      retType: fn.type === 0 ? 0 : this.typeIdOff + fn.type, parmNames: [], parmTypes: [], annots: NO_ANNOTS,
      inconsistentProto: fn.inconsistentProto, unexpectedReg: fn.unexpectedReg, optimizedParms: fn.optimizedParms,
      uncertainParmLoc: fn.uncertainParmLoc, reorderedParm: fn.reorderedParm, signatureChanged: fn.signatureChanged,
      optimizedSymbol: false, ambiguousAddr: false, seq: this.states.length,
    };
    if (this.f.trueSignature && s.addr !== 0n) {
      for (const sym of func.syms) {
        if (s.addr !== sym.addr || !sym.name.includes('.')) continue;
        s.sym = sym;
        break;
      }
    }
    if (s.addr !== 0n) {
      for (const sym of func.syms) {
        if (sym.addr !== s.addr) continue;
        if (hasOptimizedSuffix(sym.name)) { s.optimizedSymbol = true; break; }
      }
    }
    for (const p of fn.params) {
      if (fn.reorderedParm && (!p.hasLoc || p.optimized)) {
        s.nrParms--;
        continue;
      }
      // btf__add_str of every kept parameter name, now: the string section keeps this order.
      const name = p.name ?? '';
      this.btf.addStr(name);
      s.parmNames.push(name);
      s.parmTypes.push(p.type === 0 ? 0 : this.typeIdOff + p.type);
    }
    if (fn.unspecParms) {
      s.parmNames.push('');
      s.parmTypes.push(0);
    }
    // state->parms has nr_parms slots: a dropped parameter leaves the unspecified one out of range.
    const n = Math.max(0, s.nrParms);
    s.parmNames.length = Math.min(s.parmNames.length, n);
    s.parmTypes.length = Math.min(s.parmTypes.length, n);
    while (s.parmNames.length < n) {
      s.parmNames.push('');
      s.parmTypes.push(0);
    }
    // Kept to the end of the module: at their exact length (an array grown by push keeps room
    // for 17; xfs.ko saves ~7k functions).
    s.parmNames = s.parmNames.slice();
    s.parmTypes = s.parmTypes.slice();
    s.annots = fn.annots.length === 0 ? NO_ANNOTS : fn.annots.slice();
    for (const a of s.annots) if (a.value !== undefined) this.btf.addStr(a.value);
    this.states.push(s);
  }

  /** btf_encoder__encode_cu_variables */
  private encodeVariables(): void {
    const cu = this.cu;
    for (const tag of cu.tags) {
      if (tag.kind !== 'variable') continue;
      let v: VariableTag = tag;
      if (v.declaration && v.spec === undefined) continue;
      if (!v.topLevel || v.artificial || v.scope !== VSCOPE_GLOBAL) continue;
      let addr = v.addr;
      const shndx = this.sectionOf(addr);
      if (shndx === 0 || !(this.secinfo[shndx] as SecInfo).include) continue;
      const sec = this.secinfo[shndx] as SecInfo;
      addr -= sec.addr;
      if (v.spec !== undefined) v = v.spec;
      const name = v.name;
      if (name === undefined) continue;
      if (filterVariableName(name)) continue;
      if (addr === 0n && !this.variableInSection(name, shndx)) continue;
      if (!btfNameValid(name)) {
        if (this.f.force) continue;
        throw new EncodeError('ENCODE_INVALID_NAME', `Found invalid variable name when encoding btf (sym: '${name}'); use '--btf_encode_force' to ignore such symbols`, { file: this.elf.file, symbol: name });
      }
      if (v.type === 0) {
        if (this.f.force) continue;
        throw new EncodeError('ENCODE_VOID_VARIABLE', `found variable '${name}' in CU '${cu.name}' that has void type`, { file: this.elf.file, symbol: name });
      }
      const t = cu.types[v.type];
      const size = t === undefined ? -1 : tagSize(cu, t);
      if (size === 0 || size < 0 || size > 0xffffffff) continue;
      if (addr > 0xffffffffn) continue;
      const id = this.btf.addVar(name, v.external ? BTF_VAR_GLOBAL_ALLOCATED : BTF_VAR_STATIC, v.type + this.typeIdOff);
      for (const a of v.annots) this.btf.addDeclTag(a.value, id, a.componentIdx);
      sec.vars.push({ type: id, offset: Number(addr), size });
    }
  }

  /** get_elf_section: the first PROGBITS/NOBITS section whose [addr, addr+size) holds addr. */
  private sectionOf(addr: bigint): number {
    for (let i = 1; i < this.secinfo.length; i++) {
      const s = this.secinfo[i] as SecInfo;
      if (s.type !== SHT_PROGBITS && s.type !== SHT_NOBITS) continue;
      if (s.addr <= addr && addr - s.addr < s.size) return i;
    }
    return 0;
  }

  /** variable_in_sec: an STT_OBJECT symbol of that name in that section. */
  private variableInSection(name: string, shndx: number): boolean {
    return this.objectSymbols.get(shndx)?.has(name) === true;
  }

  /** btf_encoder__encode: saved functions, DATASECs; the raw BTF before dedup. */
  finish(): void {
    this.addSavedFuncs();
    for (let i = 1; i < this.secinfo.length; i++) {
      const s = this.secinfo[i] as SecInfo;
      if (s.vars.length === 0) continue;
      const vars = s.vars.map((v, k) => ({ ...v, k })).sort((a, b) => (a.offset - b.offset) || (a.k - b.k));
      const last = vars[vars.length - 1] as { offset: number; size: number };
      this.btf.addDatasec(s.name, (last.offset + last.size) >>> 0);
      for (const v of vars) this.btf.addDatasecVarInfo(v.type, v.offset, v.size);
    }
  }

  // ---- functions (btf_encoder__add_saved_funcs) ------------------------------------------------

  private addSavedFuncs(): void {
    const st = this.states;
    st.sort((a, b) => byName(a.elf.name, b.elf.name) || a.seq - b.seq);
    for (let i = 0, j = 0; i < st.length; i = j) {
      const state = st[i] as FuncState;
      j = i + 1;
      while (j < st.length && this.combine(state, st[j] as FuncState)) j++;
      // true_signature rewrites only functions whose signature changed (clang's DW_CC_nocall)
      // or whose DWARF address is a '.'-suffixed symbol's (never in a relocatable module,
      // whose DWARF addresses are libdwfl's layout): anything else encodes as without it.
      if (this.f.trueSignature && st.slice(i, j).some((x) => x.signatureChanged || x.sym !== undefined)) {
        throw new EncodeError('ENCODE_UNSUPPORTED', `the true_signature BTF feature would rewrite ${state.elf.name}'s signature, which modbtf's encoder does not do`, { file: this.elf.file });
      }
      const canonical = j - i > 1 ? this.selectCanonical(st.slice(i, j)) : state;
      let skip: string | undefined;
      if (state.unexpectedReg) skip = 'unexpected register usage for parameter';
      if (this.f.skipInconsistentProto && state.inconsistentProto) skip = 'inconsistet prototype';
      if (state.uncertainParmLoc) skip = 'uncertain parameter location';
      if (state.reorderedParm) skip = 'reordered parameters';
      if (this.skipOptimizedParms(canonical)) skip = 'optimized parameters';
      if (state.elf.ambiguousAddr) skip = 'ambiguous address';
      if (skip !== undefined) {
        this.verbose.push(`${state.elf.name} : skipping BTF encoding of function due to ${skip}`);
        continue;
      }
      if (canonical.elf.kfunc) this.addKfunc(canonical);
      else this.addFunc(canonical);
    }
  }

  /** saved_functions_combine: same ELF function; flags shared, prototypes compared. */
  private combine(a: FuncState, b: FuncState): boolean {
    if (a.elf !== b.elf) return false;
    const unexpected = a.unexpectedReg || b.unexpectedReg;
    let inconsistent = a.inconsistentProto || b.inconsistentProto;
    const uncertain = a.uncertainParmLoc || b.uncertainParmLoc;
    const reordered = a.reorderedParm || b.reorderedParm;
    if (!unexpected && !inconsistent && !reordered && !this.funcsMatch(a, b)) inconsistent = true;
    a.unexpectedReg = b.unexpectedReg = unexpected;
    a.inconsistentProto = b.inconsistentProto = inconsistent;
    a.uncertainParmLoc = b.uncertainParmLoc = uncertain;
    a.reorderedParm = b.reorderedParm = reordered;
    return true;
  }

  private skipOptimizedParms(s: FuncState): boolean {
    return !this.f.trueSignature && s.optimizedParms && (s.signatureChanged || s.optimizedSymbol);
  }

  /**
   * btf_encoder__select_canonical_state: of the combined states of one function, the one whose
   * prototype is encoded. Upstream master matches each state's DWARF address against the ELF
   * symbols' st_value, which in a relocatable module never matches (DWARF addresses are
   * libdwfl's section layout, st_value is section-relative), so master would take the first
   * state. pahole 1.32 does not: measured (scripts/gen-encode-fixtures.mjs, canon.ko) it takes
   * the first state with an address, i.e. an out-of-line copy, over states of CUs where the
   * function was only inlined (no DW_AT_low_pc); found on amdgpu.ko (is_dtbclk_required: only
   * inlined with `struct dc *` in two CUs, out of line with `const struct dc *` in a third).
   * The states still combine first (canon4.ko: an inlined copy with another parameter count
   * makes the function inconsistent). Which state is "first" otherwise is as upstream: a state
   * whose optimized-out parameters must be skipped yields to a later one.
   */
  private selectCanonical(group: FuncState[]): FuncState {
    let first: FuncState | undefined;
    for (const s of group) {
      if (s.addr === 0n) continue;
      first ??= s;
      if (!this.skipOptimizedParms(s)) return s;
    }
    return first ?? (group[0] as FuncState);
  }

  private funcsMatch(a: FuncState, b: FuncState): boolean {
    if (a.nrParms !== b.nrParms) return false;
    if (!this.typesMatch(a.retType, b.retType)) return false;
    for (let i = 0; i < a.nrParms; i++) {
      if (!this.typesMatch(a.parmTypes[i] as number, b.parmTypes[i] as number)) return false;
    }
    return true;
  }

  /** types__match: loose structural comparison by names (const ignored on either side). */
  private typesMatch(id1: number, id2: number): boolean {
    const btf = this.btf;
    for (;;) {
      if (id1 === id2) return true;
      if (id1 === 0 || id2 === 0) return false;
      const k1 = fwdKind(btf, id1);
      const k2 = fwdKind(btf, id2);
      if (k1 !== k2) {
        if (k1 === BtfKind.Const) { id1 = btf.sizeOrType(id1); continue; }
        if (k2 === BtfKind.Const) { id2 = btf.sizeOrType(id2); continue; }
        return false;
      }
      switch (k1) {
        case BtfKind.Int:
          if (btf.sizeOrType(id1) !== btf.sizeOrType(id2)) return false;
          if (this.intData(id1) !== this.intData(id2)) return false;
          return this.namesMatch(id1, id2);
        case BtfKind.Float:
          if (btf.sizeOrType(id1) !== btf.sizeOrType(id2)) return false;
          return this.namesMatch(id1, id2);
        case BtfKind.Typedef: case BtfKind.Struct: case BtfKind.Union: case BtfKind.Enum: case BtfKind.Enum64:
          return this.namesMatch(id1, id2);
        case BtfKind.Ptr: case BtfKind.Volatile: case BtfKind.Const: case BtfKind.Restrict: case BtfKind.TypeTag:
          id1 = btf.sizeOrType(id1);
          id2 = btf.sizeOrType(id2);
          break;
        case BtfKind.Array: {
          const a1 = this.array(id1);
          const a2 = this.array(id2);
          if (a1.nelems !== a2.nelems) return false;
          id1 = a1.type;
          id2 = a2.type;
          break;
        }
        case BtfKind.FuncProto: {
          const n = btf.vlen(id1);
          if (n !== btf.vlen(id2)) return false;
          if (!this.typesMatch(btf.sizeOrType(id1), btf.sizeOrType(id2))) return false;
          const p1 = this.params(id1);
          const p2 = this.params(id2);
          for (let i = 0; i < n; i++) if (!this.typesMatch(p1[i] as number, p2[i] as number)) return false;
          return true;
        }
        default:
          return false;
      }
    }
  }

  private namesMatch(id1: number, id2: number): boolean {
    const btf = this.btf;
    const n1 = btf.nameOff(id1);
    const n2 = btf.nameOff(id2);
    return n1 === n2 || btf.str(n1) === btf.str(n2);
  }

  private intData(id: number): number {
    if (this.btf.isOwn(id)) return this.btf.extra(id, 0);
    const t = this.btf.base.type(id);
    return t.kind === BtfKind.Int ? t.intData : 0;
  }

  private array(id: number): { type: number; nelems: number } {
    if (this.btf.isOwn(id)) return { type: this.btf.extra(id, 0), nelems: this.btf.extra(id, 2) };
    const t = this.btf.base.type(id);
    return t.kind === BtfKind.Array ? { type: t.elemType, nelems: t.nelems } : { type: 0, nelems: 0 };
  }

  private params(id: number): number[] {
    const n = this.btf.vlen(id);
    if (this.btf.isOwn(id)) return Array.from({ length: n }, (_, i) => this.btf.param(id, i).type);
    const t = this.btf.base.type(id);
    return t.kind === BtfKind.FuncProto ? t.params.map((p) => p.type) : [];
  }

  /** btf_encoder__add_func: FUNC_PROTO, FUNC (static), the function's decl tags. */
  private addFunc(s: FuncState): number {
    const btf = this.btf;
    const proto = btf.addFuncProto(s.retType);
    for (let i = 0; i < s.nrParms; i++) btf.addFuncParam((s.parmNames[i] as string).slice(0, 127), s.parmTypes[i] as number);
    const fnId = btf.addFunc(s.elf.name, BTF_FUNC_STATIC, proto);
    for (const a of s.annots) btf.addDeclTag(a.value, fnId, a.componentIdx);
    return fnId;
  }

  /** btf_encoder__add_bpf_kfunc: arena type attributes, the function, bpf_kfunc/bpf_fastcall tags. */
  private addKfunc(s: FuncState): void {
    if (this.f.tagKfuncs && this.f.attributes) this.arenaTypeTags(s);
    const fnId = this.addFunc(s);
    if (this.f.tagKfuncs && !this.f.skipDeclTag) {
      this.btf.addDeclTag('bpf_kfunc', fnId, -1);
      if ((s.elf.kfuncFlags & KF_FASTCALL) !== 0) this.btf.addDeclTag('bpf_fastcall', fnId, -1);
    }
  }

  /** btf__add_bpf_arena_type_tags */
  private arenaTypeTags(s: FuncState): void {
    const flags = s.elf.kfuncFlags;
    if ((flags & KF_ARENA_RET) !== 0) s.retType = this.arenaPtr(s.retType, `return type of kfunc '${s.elf.name}'`);
    if ((flags & KF_ARENA_ARG1) !== 0) this.arenaArg(s, 0);
    if ((flags & KF_ARENA_ARG2) !== 0) this.arenaArg(s, 1);
  }

  private arenaArg(s: FuncState, idx: number): void {
    if (s.nrParms <= idx) throw new EncodeError('ENCODE_LIBBPF_REFUSED', `kfunc '${s.elf.name}' has no argument ${idx + 1} for its KF_ARENA flag`, { file: this.elf.file });
    s.parmTypes[idx] = this.arenaPtr(s.parmTypes[idx] as number, `an argument of kfunc '${s.elf.name}'`);
  }

  /** btf__tag_bpf_arena_ptr: PTR -> TYPE_TAG(attr) "address_space(1)" -> pointee. */
  private arenaPtr(ptrId: number, what: string): number {
    const btf = this.btf;
    if (btf.kind(ptrId) !== BtfKind.Ptr) throw new EncodeError('ENCODE_LIBBPF_REFUSED', `Error adding BPF_ARENA_ATTR for ${what}: not a pointer`, { file: this.elf.file, typeId: ptrId });
    const tagged = btf.addRef(BtfKind.TypeTag, BPF_ARENA_ATTR, btf.sizeOrType(ptrId), true);
    return btf.addRef(BtfKind.Ptr, undefined, tagged);
  }
}

function fwdKind(btf: BtfOut, id: number): number {
  const k = btf.kind(id);
  if (k === BtfKind.Fwd) return btf.kflag(id) ? BtfKind.Union : BtfKind.Struct;
  return k;
}

const SKIP_PREFIXES = ['__UNIQUE_ID', '__tpstrtab_', '__exitcall_', '__gendwarfksyms_ptr_', '__func_stack_frame_non_standard_'];

/** filter_variable_name */
function filterVariableName(name: string): boolean {
  if (!name.startsWith('_')) return false;
  return SKIP_PREFIXES.some((p) => name.startsWith(p));
}

/** btf_name_valid: [A-Za-z_.][A-Za-z0-9_.]* within KSYM_NAME_LEN. */
export function btfNameValid(p: string): boolean {
  const bytes = Buffer.from(p, 'utf8');
  const ok = (c: number, first: boolean): boolean => c === 0x5f || c === 0x2e || (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a) || (!first && c >= 0x30 && c <= 0x39);
  if (bytes.length === 0 || !ok(bytes[0] as number, true)) return false;
  const limit = 128;
  let i = 1;
  while (i < bytes.length && i < limit) {
    if (!ok(bytes[i] as number, false)) return false;
    i++;
  }
  return i >= bytes.length;
}

/**
 * class__infer_packed_attributes, as far as the encoder asks it (a named struct passed by value
 * on the stack): holes and padding from the members' offsets, natural alignments.
 */
function inferPacked(cu: Cu, t: TypeTag): boolean {
  if (t.packedInferred) return t.isPacked;
  const holes = findHoles(cu, t);
  if (holes.padding !== 0 || holes.nrHoles !== 0) {
    t.isPacked = false;
    t.packedInferred = true;
    return false;
  }
  let maxAlign = 1;
  for (const m of t.members) {
    if (m.isStatic) continue;
    const mt = stripToType(cu, m.type);
    const a = naturalAlignment(cu, mt, 0);
    if (a === 1) continue;
    if (maxAlign < a) maxAlign = a;
    if (m.byteOffset % a === 0) continue;
    t.isPacked = true;
    t.packedInferred = true;
    return true;
  }
  if ((maxAlign !== 1 && t.alignment === 1) || t.size % maxAlign !== 0) t.isPacked = true;
  t.packedInferred = true;
  return t.isPacked;
}

function stripToType(cu: Cu, id: number): Tag | undefined {
  let t = cu.types[id];
  let guard = 0;
  while (t !== undefined && guard++ < 1000 && (t.tag === DW_TAG_typedef || t.tag === DW_TAG_const_type || t.tag === DW_TAG_volatile_type || t.tag === DW_TAG_restrict_type || t.tag === 0x47)) t = cu.types[t.type];
  return t;
}

function naturalAlignment(cu: Cu, t: Tag | undefined, depth: number): number {
  if (t === undefined || depth > 64) return 1;
  let a = 1;
  if (t.tag === DW_TAG_pointer_type) a = cu.addrSize;
  else if (t.kind === 'base') a = Math.trunc(t.bitSize / 8);
  else if (t.tag === DW_TAG_enumeration_type && t.kind === 'type') a = Math.trunc(t.size / 8);
  else if ((t.tag === DW_TAG_structure_type || t.tag === DW_TAG_union_type || t.tag === DW_TAG_class_type) && t.kind === 'type') {
    a = 0;
    for (const m of t.members) {
      if (m.isStatic) continue;
      const ma = naturalAlignment(cu, stripToType(cu, m.type), depth + 1);
      if (a < ma) a = ma;
    }
  } else if (t.tag === DW_TAG_array_type) a = naturalAlignment(cu, stripToType(cu, t.type), depth + 1);
  return a === 0 ? 1 : a;
}

/** class__find_holes, reduced to what class__infer_packed_attributes reads: any hole, any padding. */
function findHoles(cu: Cu, t: TypeTag): { nrHoles: number; padding: number } {
  let nrHoles = 0;
  let lastEnd = 0;
  let first = true;
  for (const m of t.members) {
    if (m.isStatic || m.tag !== 0x0d) continue;
    const start = m.bitfieldSize !== 0 ? Math.floor(m.bitOffset / 8) : m.byteOffset;
    if (!first && start > lastEnd) nrHoles++;
    const size = m.bitfieldSize !== 0 ? Math.ceil((m.bitOffset % 8 + m.bitfieldSize) / 8) : m.byteSize;
    const end = start + size;
    if (first || end > lastEnd) lastEnd = end;
    first = false;
    void cu;
  }
  const padding = t.size > lastEnd ? t.size - lastEnd : 0;
  return { nrHoles, padding };
}
