/**
 * ELF constants, spelled as in <elf.h> / the gABI so they can be grepped against the
 * kernel and binutils sources. Only what modbtf reads or writes is here.
 */

// e_ident
export const EI_NIDENT = 16;
export const EI_CLASS = 4;
export const EI_DATA = 5;
export const EI_VERSION = 6;
export const EI_OSABI = 7;
export const EI_ABIVERSION = 8;
export const ELFMAG = Uint8Array.of(0x7f, 0x45, 0x4c, 0x46); // "\x7fELF"

export const ELFCLASSNONE = 0;
export const ELFCLASS32 = 1;
export const ELFCLASS64 = 2;

export const ELFDATANONE = 0;
export const ELFDATA2LSB = 1;
export const ELFDATA2MSB = 2;

export const EV_CURRENT = 1;

// e_type
export const ET_NONE = 0;
export const ET_REL = 1;
export const ET_EXEC = 2;
export const ET_DYN = 3;
export const ET_CORE = 4;

// e_machine (the architectures Debian builds kernels for, plus the BPF target)
export const EM_NONE = 0;
export const EM_386 = 3;
export const EM_MIPS = 8;
export const EM_PPC = 20;
export const EM_PPC64 = 21;
export const EM_S390 = 22;
export const EM_ARM = 40;
export const EM_X86_64 = 62;
export const EM_AARCH64 = 183;
export const EM_RISCV = 243;
export const EM_BPF = 247;
export const EM_LOONGARCH = 258;

/** e_phnum value meaning "the real count is in section 0's sh_info". */
export const PN_XNUM = 0xffff;

// Special section indexes
export const SHN_UNDEF = 0;
export const SHN_LORESERVE = 0xff00;
export const SHN_LOPROC = 0xff00;
export const SHN_HIPROC = 0xff1f;
export const SHN_ABS = 0xfff1;
export const SHN_COMMON = 0xfff2;
export const SHN_XINDEX = 0xffff;
export const SHN_HIRESERVE = 0xffff;

// sh_type
export const SHT_NULL = 0;
export const SHT_PROGBITS = 1;
export const SHT_SYMTAB = 2;
export const SHT_STRTAB = 3;
export const SHT_RELA = 4;
export const SHT_HASH = 5;
export const SHT_DYNAMIC = 6;
export const SHT_NOTE = 7;
export const SHT_NOBITS = 8;
export const SHT_REL = 9;
export const SHT_SHLIB = 10;
export const SHT_DYNSYM = 11;
export const SHT_INIT_ARRAY = 14;
export const SHT_FINI_ARRAY = 15;
export const SHT_PREINIT_ARRAY = 16;
export const SHT_GROUP = 17;
export const SHT_SYMTAB_SHNDX = 18;
export const SHT_GNU_ATTRIBUTES = 0x6ffffff5;
export const SHT_GNU_HASH = 0x6ffffff6;
export const SHT_GNU_verdef = 0x6ffffffd;
export const SHT_GNU_verneed = 0x6ffffffe;
export const SHT_GNU_versym = 0x6fffffff;

// sh_flags
export const SHF_WRITE = 0x1;
export const SHF_ALLOC = 0x2;
export const SHF_EXECINSTR = 0x4;
export const SHF_MERGE = 0x10;
export const SHF_STRINGS = 0x20;
export const SHF_INFO_LINK = 0x40;
export const SHF_LINK_ORDER = 0x80;
export const SHF_OS_NONCONFORMING = 0x100;
export const SHF_GROUP = 0x200;
export const SHF_TLS = 0x400;
export const SHF_COMPRESSED = 0x800;
export const SHF_MASKOS = 0x0ff00000;
export const SHF_MASKPROC = 0xf0000000;
export const SHF_EXCLUDE = 0x80000000;

// Symbol binding: ELF{32,64}_ST_BIND(st_info) = st_info >> 4
export const STB_LOCAL = 0;
export const STB_GLOBAL = 1;
export const STB_WEAK = 2;
export const STB_GNU_UNIQUE = 10;

// Symbol type: ELF{32,64}_ST_TYPE(st_info) = st_info & 0xf
export const STT_NOTYPE = 0;
export const STT_OBJECT = 1;
export const STT_FUNC = 2;
export const STT_SECTION = 3;
export const STT_FILE = 4;
export const STT_COMMON = 5;
export const STT_TLS = 6;
export const STT_GNU_IFUNC = 10;

// Symbol visibility: ELF{32,64}_ST_VISIBILITY(st_other) = st_other & 0x3
export const STV_DEFAULT = 0;
export const STV_INTERNAL = 1;
export const STV_HIDDEN = 2;
export const STV_PROTECTED = 3;

// On-disk record sizes (Elf32_Ehdr/Elf64_Ehdr, *_Shdr, *_Phdr, *_Sym).
export const EHDR32_SIZE = 52;
export const EHDR64_SIZE = 64;
export const SHDR32_SIZE = 40;
export const SHDR64_SIZE = 64;
export const PHDR32_SIZE = 32;
export const PHDR64_SIZE = 56;
export const SYM32_SIZE = 16;
export const SYM64_SIZE = 24;
