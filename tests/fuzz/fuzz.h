/*
 * fuzz.h -- what the libFuzzer targets in tests/fuzz/ share: reading an
 * input piece by piece, a scratch directory for the files a target needs,
 * and an independent check that a DNS message can be walked.
 *
 * Header-only (static inline) so that every target and its replay program
 * (replay_main.c) link the same code without a library of their own.
 */
#ifndef PLINKFWD_FUZZ_H
#define PLINKFWD_FUZZ_H

#include <dirent.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

/* ------------------------------------------------------------ input */

/* An input consumed from the front; reads past the end give zeros and
 * empty pieces, so a target never has to check before it takes. */
struct fuzz_in {
	const uint8_t *p;
	size_t n;
};

static inline unsigned fuzz_u8(struct fuzz_in *in)
{
	if (in->n == 0)
		return 0;
	in->n--;
	return *in->p++;
}

static inline unsigned fuzz_u16(struct fuzz_in *in)
{
	unsigned hi = fuzz_u8(in);
	return (hi << 8) | fuzz_u8(in);
}

/* Up to want bytes; *got says how many there were. */
static inline const uint8_t *fuzz_take(struct fuzz_in *in, size_t want, size_t *got)
{
	const uint8_t *p = in->p;
	*got = want < in->n ? want : in->n;
	in->p += *got;
	in->n -= *got;
	return p;
}

/* A piece prefixed by its 16-bit big-endian length (cut at the end). */
static inline const uint8_t *fuzz_piece(struct fuzz_in *in, size_t *got)
{
	size_t want = fuzz_u16(in);
	return fuzz_take(in, want, got);
}

/* The input as a NUL-terminated string (a malloc'd copy; abort on ENOMEM). */
static inline char *fuzz_strdup(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1);
	if (!s)
		abort();
	memcpy(s, data, size);
	s[size] = '\0';
	return s;
}

/* ------------------------------------------------------------ files */

static char fuzz_tmpdir_path[512];

/* Remove the files fuzz_tmpdir() holds (no subdirectories are made there). */
static inline void fuzz_tmpdir_remove(void)
{
	DIR *d = opendir(fuzz_tmpdir_path);
	struct dirent *e;
	char path[1024];

	if (d == NULL)
		return;
	while ((e = readdir(d)) != NULL) {
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		snprintf(path, sizeof(path), "%s/%s", fuzz_tmpdir_path, e->d_name);
		unlink(path);
	}
	closedir(d);
	rmdir(fuzz_tmpdir_path);
}

/* A private directory under $TMPDIR for the target's files: kept while the
 * process runs, removed at exit() (libFuzzer and the replay both end with
 * it), so that neither a campaign nor make check leaves one behind. */
static inline const char *fuzz_tmpdir(const char *tag)
{
	const char *t = getenv("TMPDIR");
	snprintf(fuzz_tmpdir_path, sizeof(fuzz_tmpdir_path), "%s/plinkfwd-fuzz-%s-XXXXXX", t && *t ? t : "/tmp",
		 tag);
	if (!mkdtemp(fuzz_tmpdir_path))
		abort();
	atexit(fuzz_tmpdir_remove);
	return fuzz_tmpdir_path;
}

static inline void fuzz_write_file(const char *path, const void *data, size_t len)
{
	FILE *f = fopen(path, "wb");
	if (!f || fwrite(data, 1, len, f) != len || fclose(f) != 0)
		abort();
}

/* ------------------------------------------------------------ DNS */

/*
 * End of the name at off in m[0..len): 0 and *end (the offset after the
 * name as written) when the name is well formed -- labels of at most 63
 * bytes, compression pointers only to earlier offsets (so no loop), at
 * most 255 bytes expanded; -1 otherwise.
 */
static inline int fuzz_dns_name(const uint8_t *m, size_t len, size_t off, size_t *end)
{
	size_t pos = off, total = 0;
	int jumped = 0;

	for (;;) {
		if (pos >= len)
			return -1;
		uint8_t c = m[pos];
		if (c == 0) {
			if (!jumped)
				*end = pos + 1;
			return total + 1 <= 255 ? 0 : -1;
		}
		if ((c & 0xc0) == 0xc0) {
			if (pos + 1 >= len)
				return -1;
			size_t to = ((size_t)(c & 0x3f) << 8) | m[pos + 1];
			if (!jumped)
				*end = pos + 2;
			if (to >= pos || to < 12)
				return -1;
			jumped = 1;
			pos = to;
			continue;
		}
		if (c & 0xc0)
			return -1;
		total += 1u + c;
		if (total > 255)
			return -1;
		pos += 1u + c;
	}
}

/* What fuzz_dns_check() found out about a message it accepted. */
struct fuzz_dns_info {
	uint16_t id, flags, qd, an, ns, ar;
	size_t q_off, q_end;  /* the first question (q_off == 0: none) */
	int opt;              /* OPT records in the additional section */
	size_t opt_off;       /* the OPT record */
};

/*
 * Is m[0..len) a message a client can walk: header, QDCOUNT questions and
 * AN+NS+AR records with well-formed names, RDATA inside the message (the
 * names in NS, CNAME, PTR, MX, SRV and SOA data filling it), no byte
 * after the last record, at most one OPT, which is in the additional
 * section and owned by the root?  0 (and *inf filled) or -1.
 */
static inline int fuzz_dns_check(const uint8_t *m, size_t len, struct fuzz_dns_info *inf)
{
	size_t off = 12, end;

	memset(inf, 0, sizeof(*inf));
	if (len < 12)
		return -1;
	inf->id = (uint16_t)(m[0] << 8 | m[1]);
	inf->flags = (uint16_t)(m[2] << 8 | m[3]);
	inf->qd = (uint16_t)(m[4] << 8 | m[5]);
	inf->an = (uint16_t)(m[6] << 8 | m[7]);
	inf->ns = (uint16_t)(m[8] << 8 | m[9]);
	inf->ar = (uint16_t)(m[10] << 8 | m[11]);
	for (unsigned i = 0; i < inf->qd; i++) {
		if (fuzz_dns_name(m, len, off, &end) < 0 || end + 4 > len)
			return -1;
		if (i == 0) {
			inf->q_off = off;
			inf->q_end = end + 4;
		}
		off = end + 4;
	}
	unsigned nrr = (unsigned)inf->an + inf->ns + inf->ar;
	for (unsigned i = 0; i < nrr; i++) {
		size_t owner = off;
		if (fuzz_dns_name(m, len, off, &end) < 0 || end + 10 > len)
			return -1;
		uint16_t type = (uint16_t)(m[end] << 8 | m[end + 1]);
		size_t rdlen = (size_t)(m[end + 8] << 8 | m[end + 9]);
		if (end + 10 + rdlen > len)
			return -1;
		/* names in RDATA: NS, CNAME, PTR; MX after its preference, SRV
		 * after its three numbers; SOA's two names and 20 bytes */
		size_t rd = end + 10, rd_end = rd + rdlen, at = rd, nnames = 0;
		if (type == 2 || type == 5 || type == 12)
			nnames = 1;
		else if (type == 15)
			at += 2, nnames = 1;
		else if (type == 33)
			at += 6, nnames = 1;
		else if (type == 6)
			nnames = 2;
		for (size_t k = 0; k < nnames; k++) {
			size_t e;
			if (at >= rd_end || fuzz_dns_name(m, rd_end, at, &e) < 0)
				return -1;
			at = e;
		}
		if (nnames && (type == 6 ? at + 20 != rd_end : at != rd_end))
			return -1;
		if (type == 41) {
			if (i < (unsigned)inf->an + inf->ns || m[owner] != 0 || inf->opt)
				return -1;
			inf->opt++;
			inf->opt_off = owner;
		}
		off = end + 10 + rdlen;
	}
	return off == len ? 0 : -1;
}

/* Case-insensitive comparison of two uncompressed wire names. */
static inline int fuzz_dns_name_eq(const uint8_t *a, const uint8_t *b, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		uint8_t x = a[i], y = b[i];
		if (x >= 'A' && x <= 'Z')
			x = (uint8_t)(x + 32);
		if (y >= 'A' && y <= 'Z')
			y = (uint8_t)(y + 32);
		if (x != y)
			return 0;
	}
	return 1;
}

/* Under libFuzzer with -close_fd_mask=2 stderr is gone, but the
 * sanitizers' report descriptor is not: a failed check is reported there
 * when a sanitizer is linked in. */
void __sanitizer_report_error_summary(const char *error_summary) __attribute__((weak));

static inline void fuzz_fail(const char *file, int line, const char *what)
{
	char msg[512];
	snprintf(msg, sizeof(msg), "%s:%d: invariant failed: %s", file, line, what);
	if (__sanitizer_report_error_summary)
		__sanitizer_report_error_summary(msg);
	else
		fprintf(stderr, "%s\n", msg);
	abort();
}

/* A check that failed: say which, then abort() so that libFuzzer (or the
 * replay) reports the input. */
#define FUZZ_ASSERT(cond)                                         \
	do {                                                      \
		if (!(cond))                                      \
			fuzz_fail(__FILE__, __LINE__, #cond);     \
	} while (0)

#endif
