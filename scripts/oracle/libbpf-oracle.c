// SPDX-License-Identifier: GPL-2.0-only
/*
 * libbpf-oracle: the libbpf reference table for scripts/corpus-distill.mjs and
 * scripts/corpus-relocate.mjs, for a whole module tree in one process (parsing vmlinux
 * once per module would dominate the run; shared/golden/corpus/README.md).
 *
 *   libbpf-oracle [--save DIR] [--save-split DIR] BASE_VMLINUX TARGET_VMLINUX < LIST > TSV
 *
 * LIST has one module per line, `KEY<TAB>PATH`: KEY is column 1 of the output (the path
 * under .../kernel/ without .xz), PATH a module ELF (.ko) or an xz-compressed one (.ko.xz,
 * decompressed with `xz -dc` into a temporary file). For every module, in input order:
 *
 *   btf__parse_split(PATH, base)        the module's .BTF over BASE_VMLINUX's .BTF
 *   btf__distill_base()                 distilled base + new split; btf__raw_data() of each
 *   btf__new() / btf__new_split()       both parsed again from those raw bytes (what a
 *                                       module carries as .BTF.base / .BTF)
 *   btf_relocate(split, target, &map)   libbpf's internal relocation (the code the kernel
 *                                       runs at module load), onto TARGET_VMLINUX's .BTF
 *
 * and prints one row of 7 tab-separated columns (shared/golden/corpus/README.md):
 *   KEY  sha16(dbase)  sha16(dsplit)  ok|reloc-fail  sha16(relocated split)|-
 *        sha16(id map text)|-  libbpf's last warning (newlines as spaces)|-
 * where sha16 is the first 16 hex digits of sha256 and the id map text is `OLD NEW\n`
 * for ids 1..N-1 (N = btf__type_cnt() of the split over the distilled base). A module
 * that cannot be parsed or distilled gets `error` in column 4, `-` in columns 2-3 and
 * 5-6, and libbpf's message (or the errno text) in column 7.
 *
 * --save DIR writes the distilled base of every module as DIR/<KEY without .ko>.dbase.btf
 * (for showing where a distilled base differs); --save-split DIR writes the new split as
 * DIR/<KEY without .ko>.dsplit.btf and, when relocation succeeds, the relocated split as
 * DIR/<KEY without .ko>.reloc.btf (golden fixtures).
 *
 * Output rows are flushed one by one. Exit status 0 when every line was processed (a
 * relocation failure or an `error` row is a result, not a failure of the oracle), 2 on
 * usage errors or when a vmlinux cannot be read.
 *
 * Build (static, so that the internal btf_relocate() is linkable), in Debian sid:
 *   gcc -O2 -Wall -o libbpf-oracle libbpf-oracle.c /usr/lib/x86_64-linux-gnu/libbpf.a -lelf -lz
 */
#include <bpf/btf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

/* libbpf's internal relocation entry point (libbpf_internal.h); not part of the API. */
int btf_relocate(struct btf *btf, const struct btf *base_btf, __u32 **id_map);

/* ---- SHA-256 (FIPS 180-4), enough for hashing outputs ---- */

struct sha256 {
	uint32_t h[8];
	uint8_t buf[64];
	size_t fill;
	uint64_t total;
};

static const uint32_t K256[64] = {
	0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
	0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
	0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
	0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
	0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
	0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
	0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
	0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
};

static uint32_t ror(uint32_t x, int n) { return (x >> n) | (x << (32 - n)); }

static void sha256_block(struct sha256 *s, const uint8_t *p)
{
	uint32_t w[64], a, b, c, d, e, f, g, h;
	int i;

	for (i = 0; i < 16; i++)
		w[i] = (uint32_t)p[4 * i] << 24 | (uint32_t)p[4 * i + 1] << 16 | (uint32_t)p[4 * i + 2] << 8 | p[4 * i + 3];
	for (i = 16; i < 64; i++) {
		uint32_t s0 = ror(w[i - 15], 7) ^ ror(w[i - 15], 18) ^ (w[i - 15] >> 3);
		uint32_t s1 = ror(w[i - 2], 17) ^ ror(w[i - 2], 19) ^ (w[i - 2] >> 10);

		w[i] = w[i - 16] + s0 + w[i - 7] + s1;
	}
	a = s->h[0]; b = s->h[1]; c = s->h[2]; d = s->h[3];
	e = s->h[4]; f = s->h[5]; g = s->h[6]; h = s->h[7];
	for (i = 0; i < 64; i++) {
		uint32_t t1 = h + (ror(e, 6) ^ ror(e, 11) ^ ror(e, 25)) + ((e & f) ^ (~e & g)) + K256[i] + w[i];
		uint32_t t2 = (ror(a, 2) ^ ror(a, 13) ^ ror(a, 22)) + ((a & b) ^ (a & c) ^ (b & c));

		h = g; g = f; f = e; e = d + t1;
		d = c; c = b; b = a; a = t1 + t2;
	}
	s->h[0] += a; s->h[1] += b; s->h[2] += c; s->h[3] += d;
	s->h[4] += e; s->h[5] += f; s->h[6] += g; s->h[7] += h;
}

static void sha256_init(struct sha256 *s)
{
	static const uint32_t iv[8] = {
		0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19,
	};

	memcpy(s->h, iv, sizeof(iv));
	s->fill = 0;
	s->total = 0;
}

static void sha256_update(struct sha256 *s, const void *data, size_t len)
{
	const uint8_t *p = data;

	s->total += len;
	while (len > 0) {
		size_t n = 64 - s->fill < len ? 64 - s->fill : len;

		memcpy(s->buf + s->fill, p, n);
		s->fill += n;
		p += n;
		len -= n;
		if (s->fill == 64) {
			sha256_block(s, s->buf);
			s->fill = 0;
		}
	}
}

/* Writes the first 16 hex digits of the digest (and a NUL) to out. */
static void sha256_hex16(struct sha256 *s, char out[17])
{
	uint64_t bits = s->total * 8;
	uint8_t pad = 0x80, len[8];
	int i;

	sha256_update(s, &pad, 1);
	pad = 0;
	while (s->fill != 56)
		sha256_update(s, &pad, 1);
	for (i = 0; i < 8; i++)
		len[i] = (uint8_t)(bits >> (56 - 8 * i));
	sha256_update(s, len, 8);
	for (i = 0; i < 8; i++)
		sprintf(out + 2 * i, "%02x", (unsigned)(s->h[i / 4] >> (24 - 8 * (i % 4))) & 0xff);
	out[16] = 0;
}

static void sha16(const void *data, size_t len, char out[17])
{
	struct sha256 s;

	sha256_init(&s);
	sha256_update(&s, data, len);
	sha256_hex16(&s, out);
}

/* ---- libbpf messages ---- */

static char last_warning[4096];

static int on_print(enum libbpf_print_level level, const char *fmt, va_list args)
{
	if (level == LIBBPF_WARN)
		vsnprintf(last_warning, sizeof(last_warning), fmt, args);
	return 0;
}

/* Column 7: the message with newlines and tabs as spaces; errno text when libbpf said nothing. */
static const char *message_column(int err)
{
	static char out[sizeof(last_warning)];
	char *p;

	if (last_warning[0])
		snprintf(out, sizeof(out), "%s", last_warning);
	else
		snprintf(out, sizeof(out), "error %d (%s)", err, strerror(err < 0 ? -err : err));
	for (p = out; *p; p++)
		if (*p == '\n' || *p == '\t')
			*p = ' ';
	return out;
}

/* ---- files ---- */

static char tmp_ko[] = "/tmp/libbpf-oracle-XXXXXX";
static int tmp_fd = -1;

/* PATH itself for an ELF; for *.xz, `xz -dc PATH` written to this process's temp file. */
static const char *plain_module(const char *path)
{
	size_t n = strlen(path);
	pid_t pid;
	int status;

	if (n < 3 || strcmp(path + n - 3, ".xz") != 0)
		return path;
	if (ftruncate(tmp_fd, 0) != 0 || lseek(tmp_fd, 0, SEEK_SET) != 0)
		return NULL;
	pid = fork();
	if (pid < 0)
		return NULL;
	if (pid == 0) {
		dup2(tmp_fd, 1);
		execlp("xz", "xz", "-dc", "--", path, (char *)NULL);
		_exit(127);
	}
	if (waitpid(pid, &status, 0) < 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0)
		return NULL;
	return tmp_ko;
}

static int mkdir_parents(char *path)
{
	char *p;

	for (p = path + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = 0;
		if (mkdir(path, 0755) != 0 && errno != EEXIST) {
			*p = '/';
			return -1;
		}
		*p = '/';
	}
	return 0;
}

static int save_btf(const char *dir, const char *key, const char *suffix, const void *data, size_t len)
{
	char path[4096];
	size_t klen = strlen(key);
	FILE *f;
	int ok;

	if (klen > 3 && strcmp(key + klen - 3, ".ko") == 0)
		klen -= 3;
	snprintf(path, sizeof(path), "%s/%.*s.%s", dir, (int)klen, key, suffix);
	if (mkdir_parents(path) != 0)
		return -1;
	f = fopen(path, "wb");
	if (!f)
		return -1;
	ok = fwrite(data, 1, len, f) == len;
	return fclose(f) == 0 && ok ? 0 : -1;
}

static struct btf *parse_vmlinux(const char *path)
{
	struct btf *btf = btf__parse(path, NULL);

	if (!btf)
		fprintf(stderr, "libbpf-oracle: %s: cannot read BTF: %s\n", path, message_column(-errno));
	return btf;
}

/* ---- one module ---- */

static void error_row(const char *key, int err)
{
	printf("%s\t-\t-\terror\t-\t-\t%s\n", key, message_column(err));
}

static void one_module(const char *key, const char *path, struct btf *base, const struct btf *target, const char *save,
		       const char *save_split)
{
	struct btf *mod = NULL, *dbase = NULL, *dsplit = NULL, *rbase = NULL, *rsplit = NULL;
	const void *raw_base, *raw_split, *raw_reloc;
	__u32 base_len, split_len, reloc_len, *id_map = NULL;
	char h_base[17], h_split[17], h_reloc[17], h_map[17];
	const char *plain;
	int err;

	last_warning[0] = 0;
	plain = plain_module(path);
	if (!plain) {
		snprintf(last_warning, sizeof(last_warning), "xz -dc %s failed", path);
		error_row(key, -EIO);
		return;
	}
	mod = btf__parse_split(plain, base);
	if (!mod) {
		error_row(key, -errno);
		return;
	}
	err = btf__distill_base(mod, &dbase, &dsplit);
	if (err) {
		error_row(key, err);
		goto out;
	}
	raw_base = btf__raw_data(dbase, &base_len);
	raw_split = btf__raw_data(dsplit, &split_len);
	if (!raw_base || !raw_split) {
		error_row(key, -errno);
		goto out;
	}
	sha16(raw_base, base_len, h_base);
	sha16(raw_split, split_len, h_split);
	if (save && save_btf(save, key, "dbase.btf", raw_base, base_len) != 0)
		fprintf(stderr, "libbpf-oracle: %s: cannot save the distilled base: %s\n", key, strerror(errno));
	if (save_split && save_btf(save_split, key, "dsplit.btf", raw_split, split_len) != 0)
		fprintf(stderr, "libbpf-oracle: %s: cannot save the distilled split: %s\n", key, strerror(errno));

	/* What a module carries: the two raw sections, parsed again. */
	rbase = btf__new(raw_base, base_len);
	if (!rbase) {
		error_row(key, -errno);
		goto out;
	}
	rsplit = btf__new_split(raw_split, split_len, rbase);
	if (!rsplit) {
		error_row(key, -errno);
		goto out;
	}
	{
		unsigned int n = btf__type_cnt(rsplit), id;
		struct sha256 s;
		char line[32];

		last_warning[0] = 0;
		err = btf_relocate(rsplit, target, &id_map);
		if (err) {
			printf("%s\t%s\t%s\treloc-fail\t-\t-\t%s\n", key, h_base, h_split, message_column(err));
			goto out;
		}
		raw_reloc = btf__raw_data(rsplit, &reloc_len);
		if (!raw_reloc) {
			error_row(key, -errno);
			goto out;
		}
		sha16(raw_reloc, reloc_len, h_reloc);
		if (save_split && save_btf(save_split, key, "reloc.btf", raw_reloc, reloc_len) != 0)
			fprintf(stderr, "libbpf-oracle: %s: cannot save the relocated split: %s\n", key, strerror(errno));

		/* The id map as text, `OLD NEW\n` for ids 1..n-1, hashed as it is written. */
		sha256_init(&s);
		for (id = 1; id < n; id++) {
			int len = snprintf(line, sizeof(line), "%u %u\n", id, id_map[id]);

			sha256_update(&s, line, len);
		}
		sha256_hex16(&s, h_map);
	}
	printf("%s\t%s\t%s\tok\t%s\t%s\t-\n", key, h_base, h_split, h_reloc, h_map);
out:
	fflush(stdout);
	free(id_map);
	btf__free(rsplit);
	btf__free(rbase);
	btf__free(dsplit);
	btf__free(dbase);
	btf__free(mod);
}

static int usage(void)
{
	fprintf(stderr, "usage: libbpf-oracle [--save DIR] [--save-split DIR] BASE_VMLINUX TARGET_VMLINUX < LIST (KEY<TAB>PATH lines) > TSV\n");
	return 2;
}

int main(int argc, char **argv)
{
	const char *save = NULL, *save_split = NULL;
	struct btf *base, *target;
	char *line = NULL;
	size_t cap = 0;
	ssize_t len;
	int i = 1;

	while (argc - i > 2 && (strcmp(argv[i], "--save") == 0 || strcmp(argv[i], "--save-split") == 0)) {
		if (strcmp(argv[i], "--save") == 0)
			save = argv[i + 1];
		else
			save_split = argv[i + 1];
		i += 2;
	}
	if (argc - i != 2)
		return usage();
	libbpf_set_print(on_print);
	base = parse_vmlinux(argv[i]);
	target = parse_vmlinux(argv[i + 1]);
	if (!base || !target)
		return 2;
	tmp_fd = mkstemp(tmp_ko);
	if (tmp_fd < 0) {
		fprintf(stderr, "libbpf-oracle: mkstemp: %s\n", strerror(errno));
		return 2;
	}
	while ((len = getline(&line, &cap, stdin)) > 0) {
		char *tab;

		if (line[len - 1] == '\n')
			line[--len] = 0;
		if (len == 0)
			continue;
		tab = strchr(line, '\t');
		if (!tab) {
			fprintf(stderr, "libbpf-oracle: input line without a tab: %s\n", line);
			unlink(tmp_ko);
			return 2;
		}
		*tab = 0;
		one_module(line, tab + 1, base, target, save, save_split);
	}
	free(line);
	unlink(tmp_ko);
	btf__free(target);
	btf__free(base);
	return 0;
}
