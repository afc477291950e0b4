// SPDX-License-Identifier: GPL-2.0-only
/*
 * Times libbpf's BTF parsing of one raw BTF file, for scripts/bench.mjs.
 *
 *   btf_parse_bench FILE [ITERATIONS]
 *
 * The file is read into memory once; then ITERATIONS times (after 3 warm-up rounds)
 *   - btf__new(data, size): what btf__parse() does once it has the bytes: copy,
 *     header checks, string section checks, type offset index (and, from libbpf 1.3
 *     on, btf_sanity_check() over every type; libbpf 1.1 has no such pass);
 *   - btf__free() of that object, timed separately;
 *   - btf__parse(FILE, NULL): the whole call including open/read of the file (page
 *     cache warm) and the ELF probe that precedes the raw-BTF path.
 * Prints one JSON object: medians and minimums in ms, the type count, and ru_maxrss.
 *
 * Build: cc -O2 -o btf_parse_bench btf_parse_bench.c -lbpf -lelf -lz
 */
#include <bpf/btf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static double median(double *v, int n)
{
	qsort(v, n, sizeof(*v), cmp_double);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

static void *read_all(const char *path, size_t *size)
{
	FILE *f = fopen(path, "rb");
	char *buf = NULL;
	size_t cap = 0, len = 0, n;

	if (!f)
		return NULL;
	do {
		if (len == cap) {
			cap = cap ? cap * 2 : 1 << 20;
			buf = realloc(buf, cap);
			if (!buf) {
				fclose(f);
				return NULL;
			}
		}
		n = fread(buf + len, 1, cap - len, f);
		len += n;
	} while (n > 0);
	fclose(f);
	*size = len;
	return buf;
}

int main(int argc, char **argv)
{
	const char *path;
	int iters = 20, warm = 3, i;
	double *t_new, *t_free, *t_parse, t0, med_new, med_free, med_parse;
	struct rusage ru;
	struct btf *btf;
	unsigned int types = 0;
	size_t size;
	void *data;

	if (argc < 2 || argc > 3) {
		fprintf(stderr, "usage: %s FILE [ITERATIONS]\n", argv[0]);
		return 2;
	}
	path = argv[1];
	if (argc == 3)
		iters = atoi(argv[2]);
	if (iters < 1)
		iters = 1;
	libbpf_set_print(NULL);
	data = read_all(path, &size);
	if (!data) {
		fprintf(stderr, "%s: cannot read: %s\n", path, strerror(errno));
		return 1;
	}
	t_new = calloc(iters, sizeof(double));
	t_free = calloc(iters, sizeof(double));
	t_parse = calloc(iters, sizeof(double));
	if (!t_new || !t_free || !t_parse)
		return 1;

	for (i = -warm; i < iters; i++) {
		t0 = now_ms();
		btf = btf__new(data, size);
		if (!btf) {
			fprintf(stderr, "%s: btf__new failed: %s\n", path, strerror(errno));
			return 1;
		}
		if (i >= 0)
			t_new[i] = now_ms() - t0;
		types = btf__type_cnt(btf);
		t0 = now_ms();
		btf__free(btf);
		if (i >= 0)
			t_free[i] = now_ms() - t0;
	}
	for (i = -warm; i < iters; i++) {
		t0 = now_ms();
		btf = btf__parse(path, NULL);
		if (!btf) {
			fprintf(stderr, "%s: btf__parse failed: %s\n", path, strerror(errno));
			return 1;
		}
		if (i >= 0)
			t_parse[i] = now_ms() - t0;
		btf__free(btf);
	}
	getrusage(RUSAGE_SELF, &ru);
	/* median() sorts, so [0] is the minimum afterwards; argument order is unspecified. */
	med_new = median(t_new, iters);
	med_free = median(t_free, iters);
	med_parse = median(t_parse, iters);
	printf("{\"tool\":\"libbpf\",\"libbpf_version\":\"%u.%u\",\"bytes\":%zu,\"types\":%u,\"iterations\":%d,"
	       "\"median_ms\":%.4f,\"min_ms\":%.4f,\"free_median_ms\":%.4f,"
	       "\"parse_file_median_ms\":%.4f,\"parse_file_min_ms\":%.4f,\"maxrss_kb\":%ld}\n",
	       libbpf_major_version(), libbpf_minor_version(), size, types, iters,
	       med_new, t_new[0], med_free, med_parse, t_parse[0], ru.ru_maxrss);
	return 0;
}
