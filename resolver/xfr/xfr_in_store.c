/*
 * xfr_in_store.c -- secondary zone copies in state-dir (xfr_in_store.h).
 */
#include "xfr_in_store.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "file_replace.h"
#include "log.h"

enum fwd_err xfr_store_path(const char *dir, const char *zone, char *out, size_t outlen)
{
	/* zone names are checked by the config parser: letters, digits,
	 * '-', '_' and dots, never a '/' */
	int n = snprintf(out, outlen, "%s/%ssecondary.zone", dir, zone);
	return n > 0 && (size_t)n < outlen ? FWD_OK : FWD_EINVAL;
}

struct sbuf {
	char *p;
	size_t len, cap;
	int oom;
};

static void sb_add(struct sbuf *b, const char *s, size_t n)
{
	if (b->oom)
		return;
	if (b->len + n + 1 > b->cap) {
		size_t cap = b->cap ? b->cap : 4096;
		while (cap < b->len + n + 1)
			cap *= 2;
		char *np = realloc(b->p, cap);
		if (!np) {
			b->oom = 1;
			return;
		}
		b->p = np;
		b->cap = cap;
	}
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
}

static void sb_rr(struct sbuf *b, const ldns_rr *rr)
{
	char *t = ldns_rr2str(rr);
	if (!t) {
		b->oom = 1;
		return;
	}
	size_t n = strlen(t);
	while (n && t[n - 1] == '\n')
		n--;
	sb_add(b, t, n);
	sb_add(b, "\n", 1);
	LDNS_FREE(t);
}

static void sb_records(struct sbuf *b, const ldns_rr_list *rrs)
{
	size_t n = ldns_rr_list_rr_count(rrs);
	/* the SOA first, as a zone file is read best */
	for (size_t i = 0; i < n; i++)
		if (ldns_rr_get_type(ldns_rr_list_rr(rrs, i)) == LDNS_RR_TYPE_SOA)
			sb_rr(b, ldns_rr_list_rr(rrs, i));
	for (size_t i = 0; i < n; i++)
		if (ldns_rr_get_type(ldns_rr_list_rr(rrs, i)) != LDNS_RR_TYPE_SOA)
			sb_rr(b, ldns_rr_list_rr(rrs, i));
}

char *xfr_store_text(const ldns_rr_list *rrs, size_t *len)
{
	struct sbuf b = {0};
	sb_records(&b, rrs);
	if (b.oom || !b.p) {
		free(b.p);
		return NULL;
	}
	*len = b.len;
	return b.p;
}

enum fwd_err xfr_store_write(const char *dir, const char *zone, const ldns_rr_list *rrs, uint64_t refreshed_wall)
{
	char path[4096], head[512];
	struct sbuf b = {0};
	enum fwd_err rc;

	if (xfr_store_path(dir, zone, path, sizeof(path)) != FWD_OK) {
		log_err("xfr: state-dir path too long for zone %s", zone);
		return FWD_EINVAL;
	}
	snprintf(head, sizeof(head),
		 XFR_STORE_MAGIC "%s\n; Transferred from its primaries; replaced at every transfer, do not edit.\n"
				 "; refreshed: %" PRIu64 "\n",
		 zone, refreshed_wall);
	sb_add(&b, head, strlen(head));
	sb_records(&b, rrs);
	if (b.oom) {
		free(b.p);
		log_err("xfr: out of memory writing the copy of %s", zone);
		return FWD_ENOMEM;
	}
	rc = fwd_file_replace("xfr", dir, path, b.p, b.len);
	free(b.p);
	return rc;
}

enum fwd_err xfr_store_touch(const char *dir, const char *zone, const ldns_rr_list *rrs, uint64_t refreshed_wall)
{
	return xfr_store_write(dir, zone, rrs, refreshed_wall);
}

enum fwd_err xfr_store_read(const char *dir, const char *zone, ldns_rr_list **rrs, uint64_t *refreshed_wall,
			    char *err, size_t errlen)
{
	char path[4096], line[65536 + 256];
	FILE *fp;
	int lineno = 0;
	uint64_t refreshed = 0;
	ldns_rr_list *l;

	if (xfr_store_path(dir, zone, path, sizeof(path)) != FWD_OK)
		return FWD_EINVAL;
	fp = fopen(path, "r");
	if (!fp) {
		if (errno == ENOENT)
			return FWD_ENOENT;
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return FWD_EIO;
	}
	l = ldns_rr_list_new();
	if (!l) {
		fclose(fp);
		return FWD_ENOMEM;
	}
	while (fgets(line, sizeof(line), fp)) {
		lineno++;
		size_t n = strlen(line);
		while (n && (line[n - 1] == '\n' || line[n - 1] == '\r'))
			line[--n] = '\0';
		if (n == 0)
			continue;
		if (line[0] == ';') {
			unsigned long long v;
			if (sscanf(line, "; refreshed: %llu", &v) == 1)
				refreshed = v;
			continue;
		}
		ldns_rr *rr = NULL;
		ldns_status st = ldns_rr_new_frm_str(&rr, line, 0, NULL, NULL);
		if (st != LDNS_STATUS_OK || !ldns_rr_list_push_rr(l, rr)) {
			snprintf(err, errlen, "%s:%d: %s", path, lineno,
				 st != LDNS_STATUS_OK ? ldns_get_errorstr_by_id(st) : "out of memory");
			ldns_rr_free(rr);
			ldns_rr_list_deep_free(l);
			fclose(fp);
			return FWD_EPARSE;
		}
	}
	fclose(fp);
	*rrs = l;
	*refreshed_wall = refreshed;
	return FWD_OK;
}
