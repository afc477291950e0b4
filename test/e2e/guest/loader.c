// SPDX-License-Identifier: GPL-2.0
/*
 * loader - the guest side of modbtf's boot test (scripts/e2e-boot.mjs).
 * Static, no libbpf: raw init_module/bpf syscalls, hand-assembled BPF.
 *
 *   loader load <file.ko> [force]
 *       finit_module(); "force" passes MODULE_INIT_IGNORE_MODVERSIONS |
 *       MODULE_INIT_IGNORE_VERMAGIC, which is what `modprobe --force` does
 *       (the kernel taints itself with F and skips the symbol version checks).
 *   loader kfunc <module> <program>
 *       finds the module's BTF object (BPF_BTF_GET_NEXT_ID + name), reads the
 *       FUNC ids of the kfuncs by name from /sys/kernel/btf/<module>, loads a
 *       BPF_PROG_TYPE_SYSCALL program calling them (BPF_PSEUDO_KFUNC_CALL,
 *       imm = BTF id, off = fd_array slot of the module BTF) and runs it with
 *       BPF_PROG_TEST_RUN. Programs (see progs[] below):
 *         answer           r0 = modbtf_e2e_answer(21)
 *         acquire-release  p = modbtf_e2e_acquire(35); r = modbtf_e2e_value(p);
 *                          modbtf_e2e_release(p); return r   (NULL -> -1)
 *       and for the kfuncs with an implicit `struct bpf_prog_aux *` argument
 *       (KF_IMPLICIT_ARGS, kernel 7.x; the verifier supplies the argument):
 *         implicit              r0 = modbtf_e2e_implicit(21)
 *         implicit-impl         r0 = modbtf_e2e_implicit_impl(21, NULL): the FUNC
 *                               resolve_btfids added; not callable (no such symbol)
 *         implicit-legacy       r0 = modbtf_e2e_implicit_legacy(31, 11)
 *         implicit-legacy-impl  r0 = modbtf_e2e_implicit_legacy_impl(41, 12, NULL)
 *       A program whose kfunc has no FUNC of that name in the module BTF is not
 *       loaded ("FAIL no FUNC <name>").
 *
 * Every result line starts with "@@E2E " (the host parses those); the verifier
 * log follows a failed load, each line prefixed with "@@E2E verifier: ".
 * Exit status: 0 on success, 1 on failure.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <linux/bpf.h>
#include <linux/btf.h>

#ifndef MODULE_INIT_IGNORE_MODVERSIONS
#define MODULE_INIT_IGNORE_MODVERSIONS 1
#define MODULE_INIT_IGNORE_VERMAGIC 2
#endif

static int sys_bpf(int cmd, union bpf_attr *attr)
{
	return syscall(__NR_bpf, cmd, attr, sizeof(*attr));
}

static unsigned char *read_file(const char *path, size_t *len)
{
	unsigned char *buf = NULL;
	size_t cap = 0, n = 0;
	int fd = open(path, O_RDONLY);

	if (fd < 0)
		return NULL;
	for (;;) {
		ssize_t r;

		if (n == cap) {
			cap = cap ? cap * 2 : 1 << 16;
			buf = realloc(buf, cap);
			if (!buf)
				exit(2);
		}
		r = read(fd, buf + n, cap - n);
		if (r < 0) {
			free(buf);
			close(fd);
			return NULL;
		}
		if (r == 0)
			break;
		n += r;
	}
	close(fd);
	*len = n;
	return buf;
}

/* ---- load ---------------------------------------------------------------- */

static int cmd_load(const char *path, int force)
{
	int flags = force ? MODULE_INIT_IGNORE_MODVERSIONS | MODULE_INIT_IGNORE_VERMAGIC : 0;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0) {
		printf("@@E2E LOAD %s FAIL open: %s\n", path, strerror(errno));
		return 1;
	}
	if (syscall(__NR_finit_module, fd, "", flags) != 0) {
		printf("@@E2E LOAD %s FAIL errno=%d (%s) flags=%#x\n", path, errno, strerror(errno), flags);
		return 1;
	}
	printf("@@E2E LOAD %s OK flags=%#x\n", path, flags);
	return 0;
}

/* ---- BTF ----------------------------------------------------------------- */

struct btf_blob {
	unsigned char *data;
	size_t len;
	const struct btf_header *hdr;
	const unsigned char *types, *strs;
};

static int btf_open(const char *path, struct btf_blob *b)
{
	b->data = read_file(path, &b->len);
	if (!b->data || b->len < sizeof(struct btf_header))
		return -1;
	b->hdr = (const void *)b->data;
	if (b->hdr->magic != BTF_MAGIC ||
	    (size_t)b->hdr->hdr_len + b->hdr->type_off + b->hdr->type_len > b->len ||
	    (size_t)b->hdr->hdr_len + b->hdr->str_off + b->hdr->str_len > b->len)
		return -1;
	b->types = b->data + b->hdr->hdr_len + b->hdr->type_off;
	b->strs = b->data + b->hdr->hdr_len + b->hdr->str_off;
	return 0;
}

/* Bytes that follow struct btf_type for a type, or -1 for an unknown kind. */
static long btf_extra(const struct btf_type *t)
{
	unsigned vlen = BTF_INFO_VLEN(t->info);

	switch (BTF_INFO_KIND(t->info)) {
	case 1:	/* INT */
	case 14: /* VAR */
	case 17: /* DECL_TAG */
		return 4;
	case 2: case 7: case 8: case 9: case 10: case 11: case 12: case 16: case 18:
		return 0;
	case 3:	/* ARRAY */
		return 12;
	case 4: case 5:	/* STRUCT, UNION */
	case 15: /* DATASEC */
	case 19: /* ENUM64 */
		return 12L * vlen;
	case 6:	/* ENUM */
	case 13: /* FUNC_PROTO */
		return 8L * vlen;
	}
	return -1;
}

/* Walks the types; for each FUNC whose name is in names[], stores its id. */
static long btf_walk(const struct btf_blob *b, uint32_t first_id, uint32_t str_base,
		     const char *const *names, uint32_t *ids, int nnames)
{
	const unsigned char *p = b->types, *end = b->types + b->hdr->type_len;
	uint32_t id = first_id;

	while (p < end) {
		const struct btf_type *t = (const void *)p;
		long extra = btf_extra(t);

		if (extra < 0 || p + sizeof(*t) + extra > end)
			return -1;
		if (BTF_INFO_KIND(t->info) == 12 && t->name_off >= str_base) {
			const char *name = (const char *)b->strs + (t->name_off - str_base);

			for (int i = 0; i < nnames; i++)
				if (!strcmp(name, names[i]))
					ids[i] = id;
		}
		p += sizeof(*t) + extra;
		id++;
	}
	return id - first_id;
}

static int module_btf_fd(const char *module)
{
	uint32_t id = 0;

	for (;;) {
		union bpf_attr attr;
		struct bpf_btf_info info;
		char name[64];
		int fd;

		memset(&attr, 0, sizeof(attr));
		attr.start_id = id;
		if (sys_bpf(BPF_BTF_GET_NEXT_ID, &attr))
			return -1;
		id = attr.next_id;
		memset(&attr, 0, sizeof(attr));
		attr.btf_id = id;
		fd = sys_bpf(BPF_BTF_GET_FD_BY_ID, &attr);
		if (fd < 0)
			continue;
		memset(&info, 0, sizeof(info));
		memset(name, 0, sizeof(name));
		info.name = (uintptr_t)name;
		info.name_len = sizeof(name);
		memset(&attr, 0, sizeof(attr));
		attr.info.bpf_fd = fd;
		attr.info.info_len = sizeof(info);
		attr.info.info = (uintptr_t)&info;
		if (!sys_bpf(BPF_OBJ_GET_INFO_BY_FD, &attr) && !strcmp(name, module)) {
			printf("@@E2E BTFOBJ %s id=%u kernel_btf=%u size=%u\n", module, id,
			       info.kernel_btf, info.btf_size);
			return fd;
		}
		close(fd);
	}
}

/* ---- BPF programs --------------------------------------------------------- */

#define INSN(c, d, s, o, i) ((struct bpf_insn){ .code = (c), .dst_reg = (d), .src_reg = (s), .off = (o), .imm = (i) })
#define MOV64_IMM(d, i)	INSN(BPF_ALU64 | BPF_MOV | BPF_K, d, 0, 0, i)
#define MOV64_REG(d, s)	INSN(BPF_ALU64 | BPF_MOV | BPF_X, d, s, 0, 0)
#define JNE_IMM(d, i, o) INSN(BPF_JMP | BPF_JNE | BPF_K, d, 0, o, i)
#define EXIT()		INSN(BPF_JMP | BPF_EXIT, 0, 0, 0, 0)
/* kfunc call: imm = BTF id, off = index into fd_array (1: the module BTF). */
#define KCALL(k)	INSN(BPF_JMP | BPF_CALL, 0, BPF_PSEUDO_KFUNC_CALL, 1, (k))

enum {
	K_ANSWER, K_ACQUIRE, K_VALUE, K_RELEASE,
	K_IMPLICIT, K_IMPLICIT_IMPL, K_LEGACY, K_LEGACY_IMPL, NKFUNCS
};
static const char *const kfunc_names[NKFUNCS] = {
	"modbtf_e2e_answer", "modbtf_e2e_acquire", "modbtf_e2e_value", "modbtf_e2e_release",
	"modbtf_e2e_implicit", "modbtf_e2e_implicit_impl", "modbtf_e2e_implicit_legacy",
	"modbtf_e2e_implicit_legacy_impl",
};

/* Sets *missing to the index of a kfunc the program calls that has no id, else -1. */
static int build_prog(const char *which, const uint32_t *k, struct bpf_insn *insns, int *missing)
{
	int n = 0, used[4], nused = 0;

	if (!strcmp(which, "answer")) {
		insns[n++] = MOV64_IMM(BPF_REG_1, 21);
		insns[n++] = KCALL(k[K_ANSWER]);
		insns[n++] = EXIT();
		used[nused++] = K_ANSWER;
	} else if (!strcmp(which, "acquire-release")) {
		insns[n++] = MOV64_IMM(BPF_REG_1, 35);
		insns[n++] = KCALL(k[K_ACQUIRE]);
		insns[n++] = JNE_IMM(BPF_REG_0, 0, 2);
		insns[n++] = MOV64_IMM(BPF_REG_0, -1);
		insns[n++] = EXIT();
		insns[n++] = MOV64_REG(BPF_REG_6, BPF_REG_0);
		insns[n++] = MOV64_REG(BPF_REG_1, BPF_REG_6);
		insns[n++] = KCALL(k[K_VALUE]);
		insns[n++] = MOV64_REG(BPF_REG_7, BPF_REG_0);
		insns[n++] = MOV64_REG(BPF_REG_1, BPF_REG_6);
		insns[n++] = KCALL(k[K_RELEASE]);
		insns[n++] = MOV64_REG(BPF_REG_0, BPF_REG_7);
		insns[n++] = EXIT();
		used[nused++] = K_ACQUIRE;
		used[nused++] = K_VALUE;
		used[nused++] = K_RELEASE;
	} else if (!strcmp(which, "implicit")) {
		insns[n++] = MOV64_IMM(BPF_REG_1, 21);
		insns[n++] = KCALL(k[K_IMPLICIT]);
		insns[n++] = EXIT();
		used[nused++] = K_IMPLICIT;
	} else if (!strcmp(which, "implicit-impl")) {
		insns[n++] = MOV64_IMM(BPF_REG_1, 21);
		insns[n++] = MOV64_IMM(BPF_REG_2, 0);
		insns[n++] = KCALL(k[K_IMPLICIT_IMPL]);
		insns[n++] = EXIT();
		used[nused++] = K_IMPLICIT_IMPL;
	} else if (!strcmp(which, "implicit-legacy")) {
		insns[n++] = MOV64_IMM(BPF_REG_1, 31);
		insns[n++] = MOV64_IMM(BPF_REG_2, 11);
		insns[n++] = KCALL(k[K_LEGACY]);
		insns[n++] = EXIT();
		used[nused++] = K_LEGACY;
	} else if (!strcmp(which, "implicit-legacy-impl")) {
		insns[n++] = MOV64_IMM(BPF_REG_1, 41);
		insns[n++] = MOV64_IMM(BPF_REG_2, 12);
		insns[n++] = MOV64_IMM(BPF_REG_3, 0);
		insns[n++] = KCALL(k[K_LEGACY_IMPL]);
		insns[n++] = EXIT();
		used[nused++] = K_LEGACY_IMPL;
	}
	*missing = -1;
	for (int i = 0; i < nused; i++)
		if (!k[used[i]])
			*missing = used[i];
	return n;
}

static void print_log(const char *log)
{
	const char *p = log;

	while (*p) {
		const char *nl = strchr(p, '\n');
		int len = nl ? (int)(nl - p) : (int)strlen(p);

		printf("@@E2E verifier: %.*s\n", len, p);
		p += len + (nl ? 1 : 0);
	}
}

static int cmd_kfunc(const char *module, const char *which)
{
	static char log[1 << 16];
	struct btf_blob vmlinux, mod;
	struct bpf_insn insns[32];
	uint32_t ids[NKFUNCS] = { 0 };
	char path[256];
	long nbase;
	int btf_fd, prog_fd, fd_array[2], n, missing;
	union bpf_attr attr;

	snprintf(path, sizeof(path), "/sys/kernel/btf/%s", module);
	if (btf_open("/sys/kernel/btf/vmlinux", &vmlinux)) {
		printf("@@E2E KFUNC %s %s FAIL cannot read /sys/kernel/btf/vmlinux\n", module, which);
		return 1;
	}
	if (btf_open(path, &mod)) {
		printf("@@E2E KFUNC %s %s FAIL cannot read %s: %s\n", module, which, path, strerror(errno));
		return 1;
	}
	/* Split BTF: ids continue after vmlinux's, string offsets after its strings. */
	nbase = btf_walk(&vmlinux, 1, UINT32_MAX, NULL, NULL, 0);
	if (nbase < 0 || btf_walk(&mod, nbase + 1, vmlinux.hdr->str_len, kfunc_names, ids, NKFUNCS) < 0) {
		printf("@@E2E KFUNC %s %s FAIL cannot parse BTF\n", module, which);
		return 1;
	}
	for (int i = 0; i < NKFUNCS; i++)
		printf("@@E2E KFUNCID %s %s %u\n", module, kfunc_names[i], ids[i]);
	btf_fd = module_btf_fd(module);
	if (btf_fd < 0) {
		printf("@@E2E KFUNC %s %s FAIL no BTF object named %s\n", module, which, module);
		return 1;
	}
	n = build_prog(which, ids, insns, &missing);
	if (!n) {
		printf("@@E2E KFUNC %s %s FAIL unknown program\n", module, which);
		return 1;
	}
	if (missing >= 0) {
		printf("@@E2E KFUNC %s %s FAIL no FUNC %s in %s\n", module, which, kfunc_names[missing], path);
		return 1;
	}
	fd_array[0] = 0;
	fd_array[1] = btf_fd;
	memset(&attr, 0, sizeof(attr));
	attr.prog_type = BPF_PROG_TYPE_SYSCALL;
	attr.prog_flags = BPF_F_SLEEPABLE;
	attr.insns = (uintptr_t)insns;
	attr.insn_cnt = n;
	attr.license = (uintptr_t)"GPL";
	attr.fd_array = (uintptr_t)fd_array;
	attr.log_buf = (uintptr_t)log;
	attr.log_size = sizeof(log);
	attr.log_level = 1;
	strncpy(attr.prog_name, "modbtf_e2e", sizeof(attr.prog_name) - 1);
	prog_fd = sys_bpf(BPF_PROG_LOAD, &attr);
	if (prog_fd < 0) {
		printf("@@E2E KFUNC %s %s FAIL verifier rejected: errno=%d (%s)\n", module, which,
		       errno, strerror(errno));
		print_log(log);
		return 1;
	}
	memset(&attr, 0, sizeof(attr));
	attr.test.prog_fd = prog_fd;
	if (sys_bpf(BPF_PROG_TEST_RUN, &attr)) {
		printf("@@E2E KFUNC %s %s FAIL test run: errno=%d (%s)\n", module, which, errno, strerror(errno));
		return 1;
	}
	printf("@@E2E KFUNC %s %s OK retval=%d\n", module, which, (int)attr.test.retval);
	return 0;
}

int main(int argc, char **argv)
{
	int rc = 2;

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc >= 3 && !strcmp(argv[1], "load"))
		rc = cmd_load(argv[2], argc > 3 && !strcmp(argv[3], "force"));
	else if (argc == 4 && !strcmp(argv[1], "kfunc"))
		rc = cmd_kfunc(argv[2], argv[3]);
	else
		fprintf(stderr, "usage: loader load FILE.ko [force] | loader kfunc MODULE PROGRAM\n");
	return rc;
}
