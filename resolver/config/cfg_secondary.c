/*
 * cfg_secondary.c -- parsing and checking primary: lines (cfg_secondary.h).
 */
#include "cfg_secondary.h"

#include <ctype.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cfg_tsig.h"
#include "cfg_types.h"
#include "cfg_value.h"

/* A key name as NSD and Knot write it: a domain name; kept lower-case with
 * its trailing dot so that "K" and "k." are the same key. */
static enum fwd_err key_norm(const char *s, char **out, char *why, size_t whylen)
{
	size_t n = strlen(s);
	if (n == 0 || n > 253) {
		snprintf(why, whylen, "bad key name '%s'", s);
		return FWD_EPARSE;
	}
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (!isalnum(c) && c != '-' && c != '_' && c != '.') {
			snprintf(why, whylen, "bad key name '%s'", s);
			return FWD_EPARSE;
		}
	}
	char *k = malloc(n + 2);
	if (!k)
		return FWD_ENOMEM;
	for (size_t i = 0; i < n; i++)
		k[i] = (char)tolower((unsigned char)s[i]);
	if (k[n - 1] != '.')
		k[n++] = '.';
	k[n] = '\0';
	*out = k;
	return FWD_OK;
}

enum fwd_err cfg_primary_parse(const char *val, struct cfg_primary *out, char *why, size_t whylen)
{
	char buf[512];
	char *save = NULL, *addr, *kw, *name, *extra;
	struct cfg_addr a;

	if (strlen(val) >= sizeof(buf)) {
		snprintf(why, whylen, "value too long");
		return FWD_EPARSE;
	}
	memcpy(buf, val, strlen(val) + 1);
	addr = strtok_r(buf, " \t", &save);
	kw = strtok_r(NULL, " \t", &save);
	name = strtok_r(NULL, " \t", &save);
	extra = strtok_r(NULL, " \t", &save);
	memset(&a, 0, sizeof(a));
	if (!addr || cfg_parse_addr(addr, CFG_PRIMARY_DEFAULT_PORT, &a) != FWD_OK) {
		snprintf(why, whylen, "bad address '%s' (want ADDR[@PORT] [key NAME], e.g. 192.0.2.1@53)",
			 addr ? addr : "");
		return FWD_EPARSE;
	}
	if (kw && (strcmp(kw, "key") != 0 || !name || extra)) {
		snprintf(why, whylen, "after the address only 'key NAME' may follow");
		return FWD_EPARSE;
	}
	memset(out, 0, sizeof(*out));
	out->ss = a.ss;
	out->len = a.len;
	if (kw) {
		enum fwd_err rc = key_norm(name, &out->key, why, whylen);
		if (rc != FWD_OK)
			return rc;
	}
	return FWD_OK;
}

void cfg_primary_list_free(struct cfg_primary *list, size_t n)
{
	for (size_t i = 0; list && i < n; i++)
		free(list[i].key);
	free(list);
}

static int same_sa(const struct sockaddr_storage *a, const struct sockaddr_storage *b, int port)
{
	if (a->ss_family != b->ss_family)
		return 0;
	if (a->ss_family == AF_INET) {
		const struct sockaddr_in *x = (const void *)a, *y = (const void *)b;
		return (!port || x->sin_port == y->sin_port) && x->sin_addr.s_addr == y->sin_addr.s_addr;
	}
	if (a->ss_family == AF_INET6) {
		const struct sockaddr_in6 *x = (const void *)a, *y = (const void *)b;
		return (!port || x->sin6_port == y->sin6_port) &&
		       memcmp(&x->sin6_addr, &y->sin6_addr, sizeof(x->sin6_addr)) == 0;
	}
	return 0;
}

int cfg_primaries_equal(const struct cfg_primary *a, size_t na, const struct cfg_primary *b, size_t nb)
{
	if (na != nb)
		return 0;
	for (size_t i = 0; i < na; i++) {
		if (!same_sa(&a[i].ss, &b[i].ss, 1))
			return 0;
		if ((a[i].key == NULL) != (b[i].key == NULL) || (a[i].key && strcmp(a[i].key, b[i].key) != 0))
			return 0;
	}
	return 1;
}

int cfg_primary_find(const struct cfg_primary *list, size_t n, const struct sockaddr *sa)
{
	struct sockaddr_storage ss;
	memset(&ss, 0, sizeof(ss));
	memcpy(&ss, sa, sa->sa_family == AF_INET6 ? sizeof(struct sockaddr_in6) : sizeof(struct sockaddr_in));
	for (size_t i = 0; i < n; i++)
		if (same_sa(&list[i].ss, &ss, 0))
			return (int)i;
	return -1;
}

enum fwd_err cfg_secondary_check_zone(const struct cfg_zone *z, int *line, char *msg, size_t msglen)
{
	if (z->nprimaries && z->file) {
		*line = z->primaries[0].line;
		snprintf(msg, msglen, "zone %s: file: and primary: exclude each other "
			 "(a zone is read from a file or transferred from its primaries)", z->name);
		return FWD_EPARSE;
	}
	if (!z->nprimaries && !z->file) {
		*line = z->line;
		snprintf(msg, msglen, "zone: %s has no 'file:' line (nor 'primary:')", z->name);
		return FWD_EPARSE;
	}
	if (z->nprimaries && z->fallback_public) {
		*line = z->line;
		snprintf(msg, msglen, "zone %s: fallback: public is for zone files, not secondary zones", z->name);
		return FWD_EPARSE;
	}
	return FWD_OK;
}

enum fwd_err cfg_secondary_check_keys(const struct cfg *cfg, int *line, char *msg, size_t msglen)
{
	for (size_t i = 0; i < cfg->nzones; i++) {
		const struct cfg_zone *z = &cfg->zones[i];
		for (size_t j = 0; j < z->nprimaries; j++) {
			const struct cfg_primary *p = &z->primaries[j];
			if (p->key && !cfg_key_find(cfg, p->key)) {
				*line = p->line;
				snprintf(msg, msglen, "zone %s: primary: unknown key '%s' (no key: clause of that name)",
					 z->name, p->key);
				return FWD_EPARSE;
			}
		}
	}
	return FWD_OK;
}
