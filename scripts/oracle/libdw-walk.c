// SPDX-License-Identifier: GPL-2.0-only
/*
 * libdw-walk: what libdw/libdwfl give a program that opens a module the way pahole 1.32
 * does (dwarf_loader.c cus__process_file: dwfl_begin with dwfl_offline_section_address,
 * dwfl_report_offline, dwfl_module_getelf, dwfl_module_getdwarf), printed as text for
 * scripts/dwarf-walk.mjs to compare lib/dwarf with, line by line.
 *
 *   libdw-walk FILE
 *
 * Output (numbers in hex; "-" where the libdw call returns an error):
 *   sec <index> <name> <sh_addr>                 every SHF_ALLOC section, libdwfl's layout
 *   cu <offset> v<version> ut<type> as<addr size> os<offset size>
 *   die <offset> <tag> <depth>                   every DIE, in order (dwarf_child/dwarf_siblingof)
 *     a <name> <form> u=<formudata> s=<formsdata> str=<formstring> ref=<formref_die offset>
 *       addr=<formaddr> flag=<formflag> blk=<formblock bytes>
 *     loc <name>: <start>-<end> <atom>:<number>:<number2>[{<entry_value ops>}] ...   dwarf_getlocations
 *       (number2 of the operations with a block operand prints as "p": libdw keeps a pointer there)
 *     pc <lowpc> <highpc> <entrypc>
 *     ranges <start>-<end> ...                    dwarf_ranges
 * Strings print with C escapes for bytes outside 0x20..0x7e.
 */
#include <elfutils/libdwfl.h>
#include <elfutils/libdw.h>
#include <dwarf.h>
#include <gelf.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const Dwfl_Callbacks callbacks = {
	.section_address = dwfl_offline_section_address,
	.find_debuginfo = dwfl_standard_find_debuginfo,
	.find_elf = dwfl_build_id_find_elf,
};

static void put_str(const char *s)
{
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if (*p >= 0x20 && *p < 0x7f && *p != '\\')
			putchar(*p);
		else
			printf("\\x%02x", *p);
	}
}

static bool loc_attr(unsigned int name)
{
	switch (name) {
	case DW_AT_location: case DW_AT_data_member_location: case DW_AT_frame_base:
	case DW_AT_call_value: case DW_AT_call_target: case DW_AT_call_data_value:
	case DW_AT_vtable_elem_location: case DW_AT_upper_bound: case DW_AT_count:
	case DW_AT_byte_size: case DW_AT_GNU_call_site_value: case DW_AT_GNU_call_site_target:
		return true;
	}
	return false;
}

static void put_ops(Dwarf_Attribute *attr, Dwarf_Op *ops, size_t n, int depth)
{
	for (size_t i = 0; i < n; i++) {
		unsigned int a = ops[i].atom;
		/* number2 of the block operations is a pointer into libdw's copy of the data. */
		if (a == DW_OP_implicit_value || a == DW_OP_entry_value || a == DW_OP_GNU_entry_value
		    || a == DW_OP_const_type || a == DW_OP_GNU_const_type)
			printf(" %x:%" PRIx64 ":p", a, ops[i].number);
		else
			printf(" %x:%" PRIx64 ":%" PRIx64, a, ops[i].number, ops[i].number2);
		if ((ops[i].atom == DW_OP_entry_value || ops[i].atom == DW_OP_GNU_entry_value) && depth < 4) {
			Dwarf_Attribute inner;
			Dwarf_Op *iops;
			size_t in;
			if (dwarf_getlocation_attr(attr, &ops[i], &inner) == 0 && dwarf_getlocation(&inner, &iops, &in) == 0) {
				printf("{");
				put_ops(&inner, iops, in, depth + 1);
				printf(" }");
			} else {
				printf("{-}");
			}
		}
	}
}

static int attr_cb(Dwarf_Attribute *attr, void *arg)
{
	(void)arg;
	unsigned int name = dwarf_whatattr(attr);
	unsigned int form = dwarf_whatform(attr);
	printf("  a %x %x", name, form);
	Dwarf_Word u;
	Dwarf_Sword s;
	Dwarf_Addr addr;
	bool flag;
	Dwarf_Die ref;
	Dwarf_Block blk;
	const char *str;
	if (dwarf_formudata(attr, &u) == 0) printf(" u=%" PRIx64, u); else printf(" u=-");
	if (dwarf_formsdata(attr, &s) == 0) printf(" s=%" PRIx64, (uint64_t)s); else printf(" s=-");
	str = dwarf_formstring(attr);
	if (str) { printf(" str="); put_str(str); } else printf(" str=-");
	if (dwarf_formref_die(attr, &ref) != NULL) printf(" ref=%" PRIx64, (uint64_t)dwarf_dieoffset(&ref)); else printf(" ref=-");
	if (dwarf_formaddr(attr, &addr) == 0) printf(" addr=%" PRIx64, addr); else printf(" addr=-");
	if (dwarf_formflag(attr, &flag) == 0) printf(" flag=%d", flag); else printf(" flag=-");
	if (dwarf_formblock(attr, &blk) == 0) {
		printf(" blk=");
		for (size_t i = 0; i < blk.length; i++) printf("%02x", blk.data[i]);
	} else {
		printf(" blk=-");
	}
	printf("\n");
	if (loc_attr(name)) {
		Dwarf_Addr base, start, end;
		Dwarf_Op *ops;
		size_t n;
		ptrdiff_t off = 0;
		printf("  loc %x:", name);
		while ((off = dwarf_getlocations(attr, off, &base, &start, &end, &ops, &n)) > 0) {
			printf(" %" PRIx64 "-%" PRIx64, start, end);
			put_ops(attr, ops, n, 0);
			printf(" ;");
		}
		printf(off < 0 ? " -\n" : "\n");
	}
	return DWARF_CB_OK;
}

static void walk(Dwarf_Die *die, int depth)
{
	do {
		printf("die %" PRIx64 " %x %d\n", (uint64_t)dwarf_dieoffset(die), dwarf_tag(die), depth);
		dwarf_getattrs(die, attr_cb, NULL, 0);
		Dwarf_Addr lo, hi, entry;
		printf("  pc");
		if (dwarf_lowpc(die, &lo) == 0) printf(" %" PRIx64, lo); else printf(" -");
		if (dwarf_highpc(die, &hi) == 0) printf(" %" PRIx64, hi); else printf(" -");
		if (dwarf_entrypc(die, &entry) == 0) printf(" %" PRIx64, entry); else printf(" -");
		printf("\n");
		Dwarf_Addr base, start, end;
		ptrdiff_t off = 0;
		bool any = false;
		while ((off = dwarf_ranges(die, off, &base, &start, &end)) > 0) {
			if (!any) printf("  ranges");
			any = true;
			printf(" %" PRIx64 "-%" PRIx64, start, end);
		}
		if (off < 0) printf(any ? " -\n" : "  ranges -\n");
		else if (any) printf("\n");
		Dwarf_Die child;
		if (dwarf_child(die, &child) == 0)
			walk(&child, depth + 1);
	} while (dwarf_siblingof(die, die) == 0);
}

static int first_module(Dwfl_Module *m, void **userdata, const char *name, Dwarf_Addr base, void *arg)
{
	(void)userdata; (void)name; (void)base;
	*(Dwfl_Module **)arg = m;
	return DWARF_CB_ABORT;
}

int main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: libdw-walk FILE\n");
		return 2;
	}
	int fd = open(argv[1], O_RDONLY);
	if (fd < 0) { perror(argv[1]); return 1; }
	Dwfl *dwfl = dwfl_begin(&callbacks);
	if (dwfl_report_offline(dwfl, argv[1], argv[1], fd) == NULL) {
		fprintf(stderr, "dwfl_report_offline: %s\n", dwfl_errmsg(-1));
		return 1;
	}
	dwfl_report_end(dwfl, NULL, NULL);
	Dwfl_Module *mod = NULL;
	if (dwfl_getmodules(dwfl, first_module, &mod, 0) < 0 || mod == NULL) {
		fprintf(stderr, "no module\n");
		return 1;
	}
	/* pahole asks for the Elf first: libdwfl relocates every section then. */
	GElf_Addr bias;
	Elf *elf = dwfl_module_getelf(mod, &bias);
	Dwarf_Addr dwbias;
	Dwarf *dw = dwfl_module_getdwarf(mod, &dwbias);
	if (elf == NULL || dw == NULL) {
		fprintf(stderr, "getelf/getdwarf: %s\n", dwfl_errmsg(-1));
		return 1;
	}
	size_t shstrndx;
	elf_getshdrstrndx(elf, &shstrndx);
	Elf_Scn *scn = NULL;
	while ((scn = elf_nextscn(elf, scn)) != NULL) {
		GElf_Shdr sh;
		if (gelf_getshdr(scn, &sh) == NULL || !(sh.sh_flags & SHF_ALLOC))
			continue;
		printf("sec %zx %s %" PRIx64 "\n", elf_ndxscn(scn), elf_strptr(elf, shstrndx, sh.sh_name), sh.sh_addr);
	}
	Dwarf_Half version;
	uint8_t asize, osize, utype;
	Dwarf_Die cudie, subdie;
	Dwarf_CU *cu = NULL;
	while (dwarf_get_units(dw, cu, &cu, &version, &utype, &cudie, &subdie) == 0) {
		dwarf_cu_die(cu, &cudie, NULL, NULL, &asize, &osize, NULL, NULL);
		printf("cu %" PRIx64 " v%u ut%u as%u os%u\n", (uint64_t)dwarf_dieoffset(&cudie), version, utype, asize, osize);
		walk(&cudie, 0);
	}
	dwfl_end(dwfl);
	return 0;
}
