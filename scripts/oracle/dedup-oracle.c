// SPDX-License-Identifier: GPL-2.0-only
/*
 * dedup-oracle: libbpf's btf__dedup() on raw split BTF, the reference for `modbtf dedup`
 * (scripts/dedup-oracle.mjs builds it twice: against Debian's libbpf 1.7.0 and against the
 * libbpf of the kernel 7.3 tree's tools/lib/bpf).
 *
 *   dedup-oracle BASE IN OUT       btf__parse_split(IN, btf__parse(BASE)), btf__dedup(),
 *                                  btf__raw_data() written to OUT
 *   dedup-oracle - IN OUT          the same for standalone BTF (btf__parse(IN))
 *   dedup-oracle --batch BASE      the same for every `IN<TAB>OUT` line of stdin, BASE
 *                                  parsed once; one line per input on stdout:
 *                                  `ok` or `error <errno name> <libbpf's last warning>`
 *   dedup-oracle --append BASE IN1 IN2 OUT
 *                                  no dedup: IN2's types appended to IN1's with btf__add_btf()
 *                                  (both split over BASE), btf__raw_data() to OUT — split BTF
 *                                  that holds duplicates, an input for the modes above
 *
 * BASE and IN may be raw BTF or ELF files (libbpf reads `.BTF` of an ELF). Exit status: 0
 * when every input was processed (a dedup failure in --batch mode is a result), 1 when a
 * single dedup fails, 2 on usage errors or an unreadable BASE.
 *
 * Build (static libbpf, so the very libbpf under test is the one linked):
 *   gcc -O2 -Wall -o dedup-oracle dedup-oracle.c <libbpf.a> -lelf -lz
 */
#include <bpf/btf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char last_warning[4096];

static int print_fn(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	if (level == LIBBPF_DEBUG)
		return 0;
	vsnprintf(last_warning, sizeof(last_warning), fmt, ap);
	for (char *p = last_warning; *p; p++)
		if (*p == '\n' || *p == '\t')
			*p = ' ';
	return 0;
}

static const char *errno_name(int err)
{
	switch (err) {
	case EINVAL: return "EINVAL";
	case ENOMEM: return "ENOMEM";
	case ELOOP: return "ELOOP";
	case ENOENT: return "ENOENT";
	case EOPNOTSUPP: return "EOPNOTSUPP";
	case E2BIG: return "E2BIG";
	case EEXIST: return "EEXIST";
	default: return "EOTHER";
	}
}

static int write_raw(const struct btf *btf, const char *out)
{
	const void *raw;
	__u32 size;
	FILE *f;

	raw = btf__raw_data(btf, &size);
	if (!raw)
		return ENOMEM;
	f = fopen(out, "wb");
	if (!f || fwrite(raw, 1, size, f) != size || fclose(f) != 0) {
		snprintf(last_warning, sizeof(last_warning), "cannot write %s: %s", out, strerror(errno));
		return EIO;
	}
	return 0;
}

/* 0 on success; else a positive errno with last_warning set. */
static int dedup_one(struct btf *base, const char *in, const char *out)
{
	struct btf *btf;
	int err;

	last_warning[0] = '\0';
	btf = base ? btf__parse_split(in, base) : btf__parse(in, NULL);
	if (!btf)
		return errno ? errno : EINVAL;
	err = btf__dedup(btf, NULL);
	if (err) {
		err = -err;
		btf__free(btf);
		return err;
	}
	err = write_raw(btf, out);
	btf__free(btf);
	return err;
}

static struct btf *load_base(const char *path)
{
	struct btf *base = btf__parse(path, NULL);

	if (!base)
		fprintf(stderr, "dedup-oracle: cannot read base BTF %s: %s %s\n", path, strerror(errno), last_warning);
	return base;
}

int main(int argc, char **argv)
{
	struct btf *base = NULL;
	char line[8192];
	int err;

	libbpf_set_print(print_fn);
	if (argc == 3 && strcmp(argv[1], "--batch") == 0) {
		base = load_base(argv[2]);
		if (!base)
			return 2;
		while (fgets(line, sizeof(line), stdin)) {
			char *tab = strchr(line, '\t');
			char *nl = strchr(line, '\n');

			if (nl)
				*nl = '\0';
			if (!tab) {
				fprintf(stderr, "dedup-oracle: bad input line (want IN<TAB>OUT): %s\n", line);
				return 2;
			}
			*tab = '\0';
			err = dedup_one(base, line, tab + 1);
			if (err)
				printf("error %s %s\n", errno_name(err), last_warning[0] ? last_warning : "-");
			else
				printf("ok\n");
			fflush(stdout);
		}
		btf__free(base);
		return 0;
	}
	if (argc == 6 && strcmp(argv[1], "--append") == 0) {
		struct btf *a, *b;

		base = load_base(argv[2]);
		if (!base)
			return 2;
		a = btf__parse_split(argv[3], base);
		b = btf__parse_split(argv[4], base);
		err = !a || !b ? (errno ? errno : EINVAL) : 0;
		if (!err && btf__add_btf(a, b) < 0)
			err = errno ? errno : EINVAL;
		if (!err)
			err = write_raw(a, argv[5]);
		if (err)
			fprintf(stderr, "dedup-oracle: --append %s %s: %s %s\n", argv[3], argv[4], errno_name(err), last_warning);
		btf__free(b);
		btf__free(a);
		btf__free(base);
		return err ? 1 : 0;
	}
	if (argc != 4) {
		fprintf(stderr, "usage: dedup-oracle BASE|- IN OUT\n       dedup-oracle --batch BASE < LIST\n       dedup-oracle --append BASE IN1 IN2 OUT\n");
		return 2;
	}
	if (strcmp(argv[1], "-") != 0) {
		base = load_base(argv[1]);
		if (!base)
			return 2;
	}
	err = dedup_one(base, argv[2], argv[3]);
	if (err)
		fprintf(stderr, "dedup-oracle: %s: btf__dedup failed: %s %s\n", argv[2], errno_name(err), last_warning);
	btf__free(base);
	return err ? 1 : 0;
}
