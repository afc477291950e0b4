import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gunzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ElfFormatError, ModuleError } from '../../../lib/errors.js';
import { ELFCLASS64, EM_X86_64, ET_REL, SHT_PROGBITS, SHT_SYMTAB } from '../../../lib/elf/constants.js';
import { compress } from '../../../lib/module/compress.js';
import { loadModuleBytes, loadModuleFile } from '../../../lib/module/load.js';
import { sampleImage } from '../../helpers/elf-image.js';

const fixture = join(dirname(fileURLToPath(import.meta.url)), '../../fixtures/modules/tcp_bbr.signed.pristine.ko.gz');

let dir: string;
beforeAll(async () => { dir = await mkdtemp(join(tmpdir(), 'modbtf-load-')); });
afterAll(async () => { await rm(dir, { recursive: true, force: true }); });

describe('tcp_bbr.signed.pristine.ko.gz (Debian 6.12.107 module + shipped signature)', () => {
  it('decompresses, measures the signature and parses the ELF', async () => {
    const m = await loadModuleFile(fixture);
    expect(m.path).toBe(fixture);
    expect(m.compression).toBe('gzip');
    // 26743 bytes = 26440-byte ELF + 303-byte trailer: 263-byte PKCS#7 signature,
    // 12-byte struct module_signature, 28-byte magic (sizes from `readelf -h` and `tail -c`).
    expect(m.signature).toEqual({ offset: 26440, length: 303, sigLen: 263, idType: 2, algo: 0, hash: 0, signerLen: 0, keyIdLen: 0 });
    expect(m.elfBytes.length).toBe(26440);
    expect(m.elf.elfExtent).toBe(26440);
    expect(m.elf.is64).toBe(true);
    expect(m.elf.header.class).toBe(ELFCLASS64);
    expect(m.elf.littleEndian).toBe(true);
    expect(m.elf.type).toBe(ET_REL);
    expect(m.elf.machine).toBe(EM_X86_64);
  });

  it('has the sections readelf -S lists', async () => {
    const { elf } = await loadModuleFile(fixture);
    expect(elf.sections.length).toBe(49);
    expect(elf.header.shstrndx).toBe(48);
    expect(elf.sectionByName('.BTF_ids')).toMatchObject({ index: 7, type: SHT_PROGBITS, offset: 0x1730, size: 0x48 });
    expect(elf.sectionByName('.BTF')).toMatchObject({ index: 45, offset: 0x28f8, size: 0x927 });
    expect(elf.sectionByName('.symtab')).toMatchObject({ index: 46, type: SHT_SYMTAB });
    expect(elf.sectionByName('__patchable_function_entries')?.addr).toBe(0x30n);
    // .BTF starts with the BTF magic 0xeb9f (little endian).
    expect([...elf.sectionData(elf.sectionByName('.BTF')!).subarray(0, 2)]).toEqual([0x9f, 0xeb]);
  });

  it('has the symbols readelf -s lists, including __BTF_ID__ entries', async () => {
    const { elf } = await loadModuleFile(fixture);
    const syms = elf.symbols();
    expect(syms.length).toBe(91);
    const btfIds = syms.filter((s) => s.name.startsWith('__BTF_ID__'));
    expect(btfIds.length).toBe(9);
    expect(btfIds[0]).toMatchObject({ index: 10, name: '__BTF_ID__set8__tcp_bbr_check_kfunc_ids', value: 0n, size: 72, shndx: 7 });
    expect(btfIds[1]).toMatchObject({ index: 11, name: '__BTF_ID__func__bbr_init__10911159', value: 8n, size: 4, shndx: 7 });
  });

  it('loads the same module recompressed with xz and zstd', async () => {
    const plain = gunzipSync(await readFile(fixture));
    const ref = await loadModuleFile(fixture);
    for (const kind of ['xz', 'zstd'] as const) {
      const path = join(dir, `tcp_bbr.ko.${kind}`);
      await writeFile(path, await compress(plain, kind));
      const m = await loadModuleFile(path);
      expect(m.compression).toBe(kind);
      expect(m.signature).toEqual(ref.signature);
      expect(Buffer.compare(m.elfBytes, ref.elfBytes)).toBe(0);
    }
    const m = await loadModuleBytes(plain, 'tcp_bbr.ko');
    expect(m.compression).toBe('none');
    expect(m.raw).toBe(plain);
    expect(m.elf.sections.length).toBe(49);
  });
});

describe('synthetic modules', () => {
  it('an unsigned module has no signature property and elfBytes is the whole file', async () => {
    const img = sampleImage(false, false);
    const m = await loadModuleBytes(img.bytes, 'be32.ko');
    expect('signature' in m).toBe(false);
    expect(m.elfBytes).toBe(img.bytes);
    expect(m.elf.is64).toBe(false);
  });
});

describe('errors name the file', () => {
  it('missing file is IO_NOT_FOUND', async () => {
    const path = join(dir, 'nope.ko');
    const err: unknown = await loadModuleFile(path).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ModuleError);
    expect(err).toMatchObject({ code: 'IO_NOT_FOUND', context: { file: path } });
  });

  it('a directory is IO_ERROR', async () => {
    const path = join(dir, 'adir.ko');
    await mkdir(path);
    const err: unknown = await loadModuleFile(path).catch((e: unknown) => e);
    expect(err).toMatchObject({ name: 'ModuleError', code: 'IO_ERROR', context: { file: path } });
  });

  it('a file that is not ELF after decompression is ELF_BAD_MAGIC', async () => {
    const path = join(dir, 'text.ko.xz');
    await writeFile(path, await compress(new TextEncoder().encode('hello, not an ELF\n'), 'xz'));
    const err: unknown = await loadModuleFile(path).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ElfFormatError);
    expect(err).toMatchObject({ code: 'ELF_BAD_MAGIC', context: { file: path, offset: 0 } });
  });

  it('corrupt compressed data carries the file, and is bad input (not a failed tool)', async () => {
    const path = join(dir, 'cut.ko.zst');
    const packed = await compress(sampleImage(true, true).bytes, 'zstd');
    await writeFile(path, packed.subarray(0, 12));
    const err: unknown = await loadModuleFile(path).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ModuleError);
    expect(err).toMatchObject({ code: 'MODULE_BAD_COMPRESSION', context: { file: path } });
  });

  it('a truncated ELF inside a good container is ELF_TRUNCATED', async () => {
    const path = join(dir, 'short.ko.gz');
    const img = sampleImage(true, true);
    await writeFile(path, await compress(img.bytes.subarray(0, img.bytes.length - 8), 'gzip'));
    const err: unknown = await loadModuleFile(path).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'ELF_TRUNCATED', context: { file: path, offset: img.shoff } });
  });
});
