/*
 * cfg_xfr.c -- allow-transfer: and notify: values (see cfg_xfr.h).
 */
#ifndef _POSIX_C_SOURCE
#define _POSIX_C_SOURCE 200809L
#endif

#include "cfg_xfr.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cfg_tsig.h"
#include "cfg_value.h"

/* "WHAT [key NAME]": the first word into w0, the key name (lower case,
 * with the dot) into *key or NULL.  FWD_EPARSE with a message. */
static enum fwd_err split(const char *what, const char *val, const char *shape, char *w0, size_t w0len,
			  char **key, char *err, size_t errlen)
{
	char buf[600], *save = NULL, *a, *b, *c, *d;

	*key = NULL;
	snprintf(buf, sizeof(buf), "%s", val);
	a = strtok_r(buf, " \t", &save);
	b = strtok_r(NULL, " \t", &save);
	c = strtok_r(NULL, " \t", &save);
	d = strtok_r(NULL, " \t", &save);
	if (a == NULL || d != NULL || (b != NULL && (c == NULL || strcasecmp(b, "key") != 0))) {
		fwd_errf(err, errlen, "%s: expected %s, not '%s'", what, shape, val);
		return FWD_EPARSE;
	}
	snprintf(w0, w0len, "%s", a);
	if (c != NULL) {
		size_t l = strlen(c);
		char *k = malloc(l + 2);
		if (k == NULL)
			return FWD_ENOMEM;
		for (size_t i = 0; i <= l; i++)
			k[i] = (char)(c[i] >= 'A' && c[i] <= 'Z' ? c[i] + 32 : c[i]);
		if (l == 0 || k[l - 1] != '.') {
			k[l] = '.';
			k[l + 1] = '\0';
		}
		*key = k;
	}
	return FWD_OK;
}

enum fwd_err cfg_xfr_acl_add(struct cfg_xfr_acl **arr, size_t *n, const char *what, const char *val, int line,
			     char *err, size_t errlen)
{
	char w0[300];
	struct cfg_xfr_acl a, *grown;
	enum fwd_err rc;

	memset(&a, 0, sizeof(a));
	if ((rc = split(what, val, "PREFIX [key NAME]", w0, sizeof(w0), &a.key, err, errlen)) != FWD_OK)
		return rc;
	if (cfg_parse_cidr(w0, &a.net) != FWD_OK) {
		fwd_errf(err, errlen, "%s: bad address or CIDR '%s' (want e.g. 10.0.0.0/8 or fd00::/8)", what, w0);
		free(a.key);
		return FWD_EPARSE;
	}
	a.line = a.net.line = line;
	grown = realloc(*arr, (*n + 1) * sizeof(**arr));
	if (grown == NULL) {
		free(a.key);
		return FWD_ENOMEM;
	}
	*arr = grown;
	(*arr)[(*n)++] = a;
	return FWD_OK;
}

enum fwd_err cfg_xfr_notify_add(struct cfg_notify **arr, size_t *n, const char *what, const char *val, int line,
				char *err, size_t errlen)
{
	char w0[300];
	struct cfg_notify a, *grown;
	enum fwd_err rc;

	memset(&a, 0, sizeof(a));
	if ((rc = split(what, val, "ADDR[@PORT] [key NAME]", w0, sizeof(w0), &a.key, err, errlen)) != FWD_OK)
		return rc;
	if (cfg_parse_addr(w0, 53, &a.addr) != FWD_OK) {
		fwd_errf(err, errlen, "%s: bad address '%s' (want ADDR or ADDR@PORT, e.g. 192.0.2.53 or [::1]@5353)",
			 what, w0);
		free(a.key);
		return FWD_EPARSE;
	}
	a.line = a.addr.line = line;
	grown = realloc(*arr, (*n + 1) * sizeof(**arr));
	if (grown == NULL) {
		free(a.key);
		return FWD_ENOMEM;
	}
	*arr = grown;
	(*arr)[(*n)++] = a;
	return FWD_OK;
}

void cfg_xfr_acl_free(struct cfg_xfr_acl **arr, size_t *n)
{
	for (size_t i = 0; *arr && i < *n; i++)
		free((*arr)[i].key);
	free(*arr);
	*arr = NULL;
	*n = 0;
}

void cfg_xfr_notify_free(struct cfg_notify **arr, size_t *n)
{
	for (size_t i = 0; *arr && i < *n; i++)
		free((*arr)[i].key);
	free(*arr);
	*arr = NULL;
	*n = 0;
}

enum fwd_err cfg_xfr_acl_dup(const struct cfg_xfr_acl *arr, size_t n, struct cfg_xfr_acl **out)
{
	struct cfg_xfr_acl *d;

	*out = NULL;
	if (n == 0)
		return FWD_OK;
	if ((d = calloc(n, sizeof(*d))) == NULL)
		return FWD_ENOMEM;
	for (size_t i = 0; i < n; i++) {
		d[i] = arr[i];
		if (arr[i].key && (d[i].key = strdup(arr[i].key)) == NULL) {
			size_t got = i;
			cfg_xfr_acl_free(&d, &got);
			return FWD_ENOMEM;
		}
	}
	*out = d;
	return FWD_OK;
}

enum fwd_err cfg_xfr_notify_dup(const struct cfg_notify *arr, size_t n, struct cfg_notify **out)
{
	struct cfg_notify *d;

	*out = NULL;
	if (n == 0)
		return FWD_OK;
	if ((d = calloc(n, sizeof(*d))) == NULL)
		return FWD_ENOMEM;
	for (size_t i = 0; i < n; i++) {
		d[i] = arr[i];
		if (arr[i].key && (d[i].key = strdup(arr[i].key)) == NULL) {
			size_t got = i;
			cfg_xfr_notify_free(&d, &got);
			return FWD_ENOMEM;
		}
	}
	*out = d;
	return FWD_OK;
}

static enum fwd_err check_one(const struct cfg *cfg, const char *what, const char *key, int line, char *err,
			      size_t errlen)
{
	if (key == NULL || cfg_key_find(cfg, key) != NULL)
		return FWD_OK;
	fwd_errf(err, errlen, "%s:%d: %s: no key: clause named %s", cfg->file, line, what, key);
	return FWD_EPARSE;
}

enum fwd_err cfg_xfr_check_keys(const struct cfg *cfg, const struct cfg_xfr_acl *acl, size_t nacl,
			       const struct cfg_notify *nt, size_t nnt, char *err, size_t errlen)
{
	for (size_t j = 0; j < nacl; j++)
		if (check_one(cfg, "allow-transfer", acl[j].key, acl[j].line, err, errlen) != FWD_OK)
			return FWD_EPARSE;
	for (size_t j = 0; j < nnt; j++)
		if (check_one(cfg, "notify", nt[j].key, nt[j].line, err, errlen) != FWD_OK)
			return FWD_EPARSE;
	return FWD_OK;
}
