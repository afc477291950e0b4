/**
 * Synthetic machines for `modbtf doctor` tests: a directory laid out as a --root snapshot
 * (README "modbtf doctor"), with small vmlinux BTFs built by BtfBuilder and modules built
 * as ELF images (test/helpers/elf-image.ts) carrying .modinfo, .BTF, .BTF.base and a
 * build-id note. Each vmlinux and module is made so that the kernel's rules decide it one
 * known way (said at each one); the tests check that doctor says so.
 */
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { Btf } from '../../lib/btf/btf.js';
import { BtfBuilder } from '../../lib/btf/builder.js';
import { BTF_INT_SIGNED } from '../../lib/btf/kinds.js';
import { distill } from '../../lib/distill/index.js';
import { tryRelocate } from '../../lib/relocate/index.js';
import { SHT_NOTE, SHT_PROGBITS } from '../../lib/elf/constants.js';
import { buildElfImage } from './elf-image.js';

/**
 * A vmlinux BTF: int, long, `struct task_struct` (64 bytes), `struct big` (bigSize bytes).
 * `shift` adds that many types before `big` (a rebuild renumbers vmlinux types), `pad`
 * that many long typedef names (string tables of different lengths), `ptrs` that many
 * anonymous pointers at the start (ids move, strings do not).
 */
export function vmlinuxBtf(o: { bigSize: number; shift?: number; pad?: number; ptrs?: number }): Btf {
  const b = new BtfBuilder();
  // `ptrs` anonymous pointers first: every id moves, the strings stay byte for byte.
  for (let i = 0; i < (o.ptrs ?? 0); i++) b.addPtr(0);
  const int = b.addInt('int', 4, BTF_INT_SIGNED);
  b.addInt('long', 8, BTF_INT_SIGNED);
  b.addStruct('task_struct', 64);
  b.addField('pid', int, 0);
  for (let i = 0; i < (o.shift ?? 0); i++) b.addTypedef(`shift_${i}_t`, int);
  b.addStruct('big', o.bigSize);
  b.addField('x', int, 0);
  for (let i = 0; i < (o.pad ?? 0); i++) b.addTypedef(`padding_typedef_with_a_long_name_${i}_t`, int);
  return b.build();
}

export interface ModuleSpec {
  name: string;
  /** vermagic release. */
  builtFor: string;
  /** The vmlinux its BTF was made over; none: no .BTF at all. */
  over?: Btf;
  /** Write .BTF.base (distilled from `over`, as finalize does) instead of plain split BTF. */
  distilled?: boolean;
  /**
   * As `modbtf retarget --kernel` leaves it: .BTF relocated onto this vmlinux, no .BTF.base,
   * the distilled pair kept in .BTF.modbtf / .BTF.base.modbtf.
   */
  retargetedTo?: Btf;
  /** Embed `struct big` by value (its size must then match on the target). */
  embedsBig?: boolean;
  /** A TYPEDEF named `bad-name` (no kernel accepts the '-'). */
  badName?: boolean;
  /** An empty .BTF section (what `objcopy -O binary` of a non-ALLOC .BTF gives). */
  emptyBtf?: boolean;
  /** Bytes of the build-id note's descriptor (20). */
  buildId?: number;
  srcversion?: string;
}

function moduleBtf(base: Btf, s: ModuleSpec): Btf {
  const b = new BtfBuilder({ base });
  const int = base.findByName('int')[0] as number;
  const task = base.findByName('task_struct')[0] as number;
  const big = base.findByName('big')[0] as number;
  const ptr = b.addPtr(task);
  const obj = b.addStruct(`${s.name}_obj`, 8 + (s.embedsBig ? 64 : 0));
  b.addField('task', ptr, 0);
  if (s.embedsBig) b.addField('big', big, 64);
  const objPtr = b.addPtr(obj);
  const proto = b.addFuncProto(int);
  b.addFuncParam('obj', objPtr);
  b.addFunc(`${s.name}_fn`, 1, proto);
  if (s.badName) b.addTypedef('bad-name', int);
  return b.build();
}

function note(id: number): Uint8Array {
  const out = new Uint8Array(12 + 4 + 20);
  const dv = new DataView(out.buffer);
  dv.setUint32(0, 4, true);
  dv.setUint32(4, 20, true);
  dv.setUint32(8, 3, true); // NT_GNU_BUILD_ID
  out.set([0x47, 0x4e, 0x55, 0], 12);
  for (let i = 0; i < 20; i++) out[16 + i] = (id + i) & 0xff;
  return out;
}

/** The bytes of a module file (ELF64 LE relocatable). */
export function moduleFile(s: ModuleSpec): Uint8Array {
  const modinfo = [`name=${s.name}`, `vermagic=${s.builtFor} SMP preempt mod_unload modversions `, ...(s.srcversion ? [`srcversion=${s.srcversion}`] : [])];
  const sections = [
    { name: '.text', type: SHT_PROGBITS, flags: 0x6, data: Uint8Array.of(0xc3), addralign: 16 },
    { name: '.modinfo', type: SHT_PROGBITS, flags: 0x2, data: new TextEncoder().encode(`${modinfo.join('\0')}\0`) },
    ...(s.buildId !== undefined ? [{ name: '.note.gnu.build-id', type: SHT_NOTE, flags: 0x2, data: note(s.buildId), addralign: 4 }] : []),
  ];
  if (s.emptyBtf) sections.push({ name: '.BTF', type: SHT_PROGBITS, flags: 0, data: new Uint8Array(0), addralign: 1 });
  else if (s.over) {
    const split = moduleBtf(s.over, s);
    if (s.retargetedTo) {
      const d = distill(s.over, split);
      const dbase = Btf.parse(d.base);
      const r = tryRelocate(dbase, Btf.parse(d.split, { base: dbase }), s.retargetedTo);
      if (!r.ok) throw new Error(`doctor-root: ${s.name} does not relocate onto the retarget vmlinux`);
      sections.push({ name: '.BTF', type: SHT_PROGBITS, flags: 0, data: r.split, addralign: 1 });
      sections.push({ name: '.BTF.modbtf', type: SHT_PROGBITS, flags: 0, data: d.split, addralign: 1 });
      sections.push({ name: '.BTF.base.modbtf', type: SHT_PROGBITS, flags: 0, data: d.base, addralign: 1 });
    } else if (s.distilled) {
      const d = distill(s.over, split);
      sections.push({ name: '.BTF', type: SHT_PROGBITS, flags: 0, data: d.split, addralign: 1 });
      sections.push({ name: '.BTF.base', type: SHT_PROGBITS, flags: 0, data: d.base, addralign: 1 });
    } else {
      sections.push({ name: '.BTF', type: SHT_PROGBITS, flags: 0, data: split.bytes, addralign: 1 });
    }
  }
  return buildElfImage({ is64: true, littleEndian: true, sections, symbols: [] }).bytes;
}

/** The module's BTF as the kernel would register it after relocation: only its presence matters to doctor. */
export const REGISTERED = new Uint8Array([0x9f, 0xeb, 1, 0]);

export interface KernelSpec {
  release: string;
  vmlinux?: Btf;
  /** CONFIG_MODULE_ALLOW_BTF_MISMATCH; undefined: no config file at all. */
  allowMismatch?: boolean;
  btfModules?: boolean;
  /** Module files under /lib/modules/<release>/, by path relative to it. */
  modules?: Record<string, Uint8Array>;
}

export interface LoadedSpec {
  name: string;
  outOfTree?: boolean;
  buildId?: number;
  srcversion?: string;
  btf: boolean;
}

/** A snapshot directory; remove() deletes it. */
export class SyntheticRoot {
  readonly dir: string;

  constructor() {
    this.dir = mkdtempSync(join(tmpdir(), 'modbtf-doctor-'));
  }

  write(path: string, data: Uint8Array | string): void {
    const p = join(this.dir, path);
    mkdirSync(dirname(p), { recursive: true });
    writeFileSync(p, data);
  }

  /** The running kernel: /proc, /sys/kernel/btf/vmlinux and the loaded modules. */
  running(release: string, vmlinux: Btf, loaded: LoadedSpec[] = []): void {
    this.write('proc/sys/kernel/osrelease', `${release}\n`);
    this.write('sys/kernel/btf/vmlinux', vmlinux.bytes);
    for (const l of loaded) {
      this.write(`sys/module/${l.name}/initstate`, 'live\n');
      this.write(`sys/module/${l.name}/taint`, l.outOfTree === false ? '\n' : 'OE\n');
      if (l.srcversion) this.write(`sys/module/${l.name}/srcversion`, `${l.srcversion}\n`);
      if (l.buildId !== undefined) this.write(`sys/module/${l.name}/notes/.note.gnu.build-id`, note(l.buildId));
      if (l.btf) this.write(`sys/kernel/btf/${l.name}`, REGISTERED);
    }
  }

  /** An installed kernel: modules.builtin, config, headers with vmlinux behind the build link, modules. */
  kernel(k: KernelSpec): void {
    this.write(`lib/modules/${k.release}/modules.builtin`, 'kernel/fs/ext4/ext4.ko\n');
    if (k.allowMismatch !== undefined) {
      const lines = [
        `CONFIG_DEBUG_INFO_BTF=y`,
        k.btfModules === false ? '# CONFIG_DEBUG_INFO_BTF_MODULES is not set' : 'CONFIG_DEBUG_INFO_BTF_MODULES=y',
        k.allowMismatch ? 'CONFIG_MODULE_ALLOW_BTF_MISMATCH=y' : '# CONFIG_MODULE_ALLOW_BTF_MISMATCH is not set',
      ];
      this.write(`boot/config-${k.release}`, `${lines.join('\n')}\n`);
    }
    if (k.vmlinux) {
      this.write(`usr/src/linux-headers-${k.release}/vmlinux`, k.vmlinux.bytes);
      this.write(`usr/src/linux-headers-${k.release}/Makefile`, 'VERSION = 6\n');
      mkdirSync(join(this.dir, `usr/src/linux-headers-${k.release}/scripts`), { recursive: true });
      symlinkSync(`/usr/src/linux-headers-${k.release}`, join(this.dir, `lib/modules/${k.release}/build`));
    }
    for (const [rel, data] of Object.entries(k.modules ?? {})) this.write(`lib/modules/${k.release}/${rel}`, data);
  }

  /** DKMS's record of a built module. */
  dkms(pkg: string, version: string, release: string, file: string): void {
    this.write(`var/lib/dkms/${pkg}/${version}/${release}/x86_64/module/${file}`, '');
  }

  /** /proc/config.gz (the running kernel's config, when no /boot/config is there). */
  procConfig(text: string): void {
    this.write('proc/config.gz', gzipSync(text));
  }

  remove(): void {
    rmSync(this.dir, { recursive: true, force: true });
  }
}
