/*
 * arm_config.c -- parse and check the keys of the "arm:" clause.
 *
 * Every key is a row of the schema table (schema.h, clause CFG_CL_ARM):
 * its type, where its value goes in struct arm_cfg, its range and its
 * default.  This file checks the values of those types, character by
 * character, because most of them end up inside URLs or file names: a
 * subscription id with a '/' or a '?' would otherwise change which ARM
 * resource we read.
 */
#include "arm_config.h"
#include "cfg_xfr.h"

#include <ctype.h>
#include <errno.h>
#include <fnmatch.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cloud.h"
#include "common.h"
#include "schema.h"

#define AT(ac, k, type) ((type *)(void *)((char *)(ac) + (k)->off))
#define COUNT(ac, k) ((size_t *)(void *)((char *)(ac) + (k)->off_n))

/* Every byte of s is in the allowed set (alnum plus extra). */
static int arm_cfg_chars_ok(const char *s, const char *extra)
{
	if (*s == '\0')
		return 0;
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		if (!isalnum(c) && strchr(extra, c) == NULL)
			return 0;
	}
	return 1;
}

static void arm_cfg_lower(char *s)
{
	for (; *s; s++)
		*s = (char)tolower((unsigned char)*s);
}

static enum fwd_err arm_cfg_push(char ***v, size_t *n, const char *s)
{
	char *copy = strdup(s);
	char **nv;

	if (copy == NULL)
		return FWD_ENOMEM;
	nv = realloc(*v, (*n + 1) * sizeof(**v));
	if (nv == NULL) {
		free(copy);
		return FWD_ENOMEM;
	}
	nv[*n] = copy;
	*v = nv;
	(*n)++;
	return FWD_OK;
}

static enum fwd_err arm_cfg_nomem(char *err, size_t errlen)
{
	fwd_errf(err, errlen, "out of memory");
	return FWD_ENOMEM;
}

/* Replace a text value (the default, or nothing). */
static enum fwd_err arm_cfg_str(char **slot, const char *value, char *err, size_t errlen)
{
	char *s = strdup(value);

	if (s == NULL)
		return arm_cfg_nomem(err, errlen);
	free(*slot);
	*slot = s;
	return FWD_OK;
}

/* An endpoint URL: scheme checked, trailing slashes dropped. */
static enum fwd_err arm_cfg_url(const struct cfg_key *k, char **slot, const char *value, char *err,
				size_t errlen)
{
	int allow_http = k->max == 1;
	size_t len;

	if (strncmp(value, "https://", 8) != 0 && !(allow_http && strncmp(value, "http://", 7) == 0)) {
		fwd_errf(err, errlen, "%s: must be an %s URL, got '%s'", k->name,
			 allow_http ? "http:// or https://" : "https://", value);
		return FWD_EPARSE;
	}
	for (const char *p = value; *p; p++) {
		if ((unsigned char)*p <= ' ' || *p == '?' || *p == '#' || *p == '"') {
			fwd_errf(err, errlen, "%s: '%s' is not a plain base URL", k->name, value);
			return FWD_EPARSE;
		}
	}
	if (arm_cfg_str(slot, value, err, errlen) != FWD_OK)
		return FWD_ENOMEM;
	len = strlen(*slot);
	while (len > 0 && (*slot)[len - 1] == '/')
		(*slot)[--len] = '\0';
	return FWD_OK;
}

/* A zone name pattern: lower-cased, trailing dot dropped, glob chars kept. */
static enum fwd_err arm_cfg_pattern(const char *key, const char *value, char *out, size_t outlen, char *err,
				    size_t errlen)
{
	size_t len = strlen(value);

	if (len == 0 || len >= outlen) {
		fwd_errf(err, errlen, "%s: bad zone name pattern '%s'", key, value);
		return FWD_EPARSE;
	}
	memcpy(out, value, len + 1);
	if (len > 1 && out[len - 1] == '.')
		out[--len] = '\0';
	arm_cfg_lower(out);
	if (!arm_cfg_chars_ok(out, "-_.*?[]!")) {
		fwd_errf(err, errlen, "%s: bad zone name pattern '%s'", key, value);
		return FWD_EPARSE;
	}
	return FWD_OK;
}

static enum fwd_err arm_cfg_fallback_word(const char *key, const char *w, int *out, char *err, size_t errlen)
{
	if (strcasecmp(w, "public") == 0)
		*out = 1;
	else if (strcasecmp(w, "none") == 0)
		*out = 0;
	else {
		fwd_errf(err, errlen, "%s: expected public or none, not '%s'", key, w);
		return FWD_EPARSE;
	}
	return FWD_OK;
}

static enum fwd_err arm_cfg_set_fallback(struct arm_cfg *ac, const char *key, const char *value, char *err,
					 size_t errlen)
{
	char pat[256], word[16];
	const char *sp = value;
	struct arm_cfg_fallback *nf;
	size_t plen;
	int pub;

	while (*sp && !isspace((unsigned char)*sp))
		sp++;
	plen = (size_t)(sp - value);
	while (*sp && isspace((unsigned char)*sp))
		sp++;
	if (plen == 0 || plen >= sizeof(pat) || *sp == '\0' || strlen(sp) >= sizeof(word)) {
		fwd_errf(err, errlen, "%s: expected 'ZONE-PATTERN public|none'", key);
		return FWD_EPARSE;
	}
	memcpy(pat, value, plen);
	pat[plen] = '\0';
	strcpy(word, sp);
	if (arm_cfg_pattern(key, pat, pat, sizeof(pat), err, errlen) != FWD_OK ||
	    arm_cfg_fallback_word(key, word, &pub, err, errlen) != FWD_OK)
		return FWD_EPARSE;
	nf = realloc(ac->fallbacks, (ac->nfallbacks + 1) * sizeof(*nf));
	if (nf == NULL)
		return arm_cfg_nomem(err, errlen);
	ac->fallbacks = nf;
	nf[ac->nfallbacks].pattern = strdup(pat);
	if (nf[ac->nfallbacks].pattern == NULL)
		return arm_cfg_nomem(err, errlen);
	nf[ac->nfallbacks].fallback_public = pub;
	ac->nfallbacks++;
	return FWD_OK;
}

/* Store v, checked against row k, in ac. */
static enum fwd_err arm_cfg_value(struct arm_cfg *ac, const struct cfg_key *k, const char *v, char *err,
				  size_t errlen)
{
	char buf[1024];

	switch (k->type) {
	case CT_INT: {
		char *end;
		long n;
		errno = 0;
		n = strtol(v, &end, 10);
		if (errno != 0 || end == v || *end != '\0' || n < k->min || n > k->max) {
			fwd_errf(err, errlen, "%s: expected a whole number from %ld to %ld, got '%s'", k->name, k->min,
				 k->max, v);
			return FWD_EPARSE;
		}
		*AT(ac, k, int) = (int)n;
		return FWD_OK;
	}
	case CT_BOOL:
		if (strcasecmp(v, "yes") != 0 && strcasecmp(v, "no") != 0) {
			fwd_errf(err, errlen, "%s: expected yes or no, not '%s'", k->name, v);
			return FWD_EPARSE;
		}
		*AT(ac, k, int) = strcasecmp(v, "yes") == 0;
		return FWD_OK;
	case CT_FALLBACK:
		return arm_cfg_fallback_word(k->name, v, AT(ac, k, int), err, errlen);
	case CT_WORD:
		for (size_t i = 0; k->words[i]; i++) {
			if (strcasecmp(v, k->words[i]) == 0) {
				*AT(ac, k, int) = (int)(k->min + (long)i);
				return FWD_OK;
			}
		}
		/* "expected a, b or c" */
		buf[0] = '\0';
		for (size_t i = 0, len = 0; k->words[i] && len < sizeof(buf); i++)
			len += (size_t)snprintf(buf + len, sizeof(buf) - len, "%s%s",
						i == 0 ? "" : k->words[i + 1] ? ", " : " or ", k->words[i]);
		fwd_errf(err, errlen, "%s: expected %s, not '%s'", k->name, buf, v);
		return FWD_EPARSE;
	case CT_ARM_CLOUD: {
		enum cfg_cloud c = CLOUD_NONE;
		if (cfg_cloud_parse(v, &c) != FWD_OK || c == CLOUD_NONE) {
			fwd_errf(err, errlen, "%s: expected AzureCloud, AzureUSGovernment or AzureChinaCloud, got '%s'",
				 k->name, v);
			return FWD_EPARSE;
		}
		*AT(ac, k, int) = (int)c;
		return FWD_OK;
	}
	case CT_URL:
		return arm_cfg_url(k, AT(ac, k, char *), v, err, errlen);
	case CT_STR:
		return arm_cfg_str(AT(ac, k, char *), v, err, errlen);
	case CT_TOKEN:
	case CT_TOKENS:
		if (!arm_cfg_chars_ok(v, k->chars) || strlen(v) > (size_t)k->max) {
			fwd_errf(err, errlen, "%s: expected %s, got '%s'", k->name, k->what, v);
			return FWD_EPARSE;
		}
		if (k->type == CT_TOKEN)
			return arm_cfg_str(AT(ac, k, char *), v, err, errlen);
		/* lists of ids: ARM compares them case-insensitively */
		snprintf(buf, sizeof(buf), "%s", v);
		arm_cfg_lower(buf);
		for (size_t i = 0; i < *COUNT(ac, k); i++) {
			if (strcmp((*AT(ac, k, char **))[i], buf) == 0) {
				fwd_errf(err, errlen, "%s: %s listed twice", k->name, buf);
				return FWD_EPARSE;
			}
		}
		if (arm_cfg_push(AT(ac, k, char **), COUNT(ac, k), buf) != FWD_OK)
			return arm_cfg_nomem(err, errlen);
		return FWD_OK;
	case CT_ENVNAME:
		if (!arm_cfg_chars_ok(v, "_") || isdigit((unsigned char)v[0])) {
			/* Not echoed: someone may have pasted the secret here. */
			fwd_errf(err, errlen, "%s: expected the NAME of an environment variable", k->name);
			return FWD_EPARSE;
		}
		return arm_cfg_str(AT(ac, k, char *), v, err, errlen);
	case CT_PATTERNS:
		if (arm_cfg_pattern(k->name, v, buf, sizeof(buf), err, errlen) != FWD_OK)
			return FWD_EPARSE;
		if (arm_cfg_push(AT(ac, k, char **), COUNT(ac, k), buf) != FWD_OK)
			return arm_cfg_nomem(err, errlen);
		return FWD_OK;
	case CT_ZFALLBACKS:
		return arm_cfg_set_fallback(ac, k->name, v, err, errlen);
	case CT_XFRACL:
		return cfg_xfr_acl_add(AT(ac, k, struct cfg_xfr_acl *), COUNT(ac, k), k->name, v, ac->cur_line, err, errlen);
	case CT_NOTIFY:
		return cfg_xfr_notify_add(AT(ac, k, struct cfg_notify *), COUNT(ac, k), k->name, v, ac->cur_line, err, errlen);
	case CT_SECRET:
		/* Never echo the value: it is the secret. */
		fwd_errf(err, errlen,
			 "%s: a secret is never accepted in the configuration text; use client-secret-file: PATH or "
			 "client-secret-env: VARIABLE",
			 k->name);
		return FWD_EPARSE;
	default:
		fwd_errf(err, errlen, "%s: not a key of the arm: clause", k->name);
		return FWD_EINVAL;
	}
}

static enum fwd_err arm_cfg_default(void *ctx, const struct cfg_key *k, const char *value)
{
	return arm_cfg_value(ctx, k, value, NULL, 0);
}

struct arm_cfg *arm_cfg_new(void)
{
	struct arm_cfg *ac = calloc(1, sizeof(*ac));

	if (ac == NULL)
		return NULL;
	if (cfg_schema_defaults(CFG_CL_ARM, ac, arm_cfg_default, ac) != FWD_OK) {
		arm_cfg_free(ac);
		return NULL;
	}
	return ac;
}

void arm_cfg_free(struct arm_cfg *ac)
{
	if (ac == NULL)
		return;
	cfg_schema_free(CFG_CL_ARM, ac);
	free(ac);
}

enum fwd_err arm_cfg_set(struct arm_cfg *ac, const char *key, const char *value, char *err, size_t errlen)
{
	const struct cfg_key *k = cfg_schema_find(CFG_CL_ARM, key);
	char buf[1024];
	size_t len;
	uint64_t bit;
	enum fwd_err rc;

	if (k == NULL) {
		fwd_errf(err, errlen, "unknown key '%s' in arm: clause", key);
		return FWD_EPARSE;
	}
	/* config.c may hand us the value untrimmed or quoted; normalise here. */
	while (*value && isspace((unsigned char)*value))
		value++;
	len = strlen(value);
	while (len > 0 && isspace((unsigned char)value[len - 1]))
		len--;
	if (len >= 2 && value[0] == '"' && value[len - 1] == '"') {
		value++;
		len -= 2;
	}
	if (len >= sizeof(buf)) {
		fwd_errf(err, errlen, "%s: value too long", key);
		return FWD_EPARSE;
	}
	memcpy(buf, value, len);
	buf[len] = '\0';
	if (buf[0] == '\0' && k->type != CT_SECRET) {
		fwd_errf(err, errlen, "%s: empty value", key);
		return FWD_EPARSE;
	}
	/* silently keeping one of two endpoints is how tokens leak: a key
	 * that takes one value takes it once */
	bit = (uint64_t)1 << cfg_schema_index(k);
	if (!(k->flags & CK_MULTI) && (ac->given & bit)) {
		fwd_errf(err, errlen, "%s: given twice in the arm: clause", key);
		return FWD_EPARSE;
	}
	rc = arm_cfg_value(ac, k, buf, err, errlen);
	if (rc == FWD_OK)
		ac->given |= bit;
	return rc;
}

enum fwd_err arm_cfg_finish(struct arm_cfg *ac, char *err, size_t errlen)
{
	int nsecret = (ac->client_secret_file != NULL) + (ac->client_secret_env != NULL);

	if (ac->nsubscriptions == 0 && ac->discovery != ARM_DISCOVERY_RESOURCE_GRAPH) {
		fwd_errf(err, errlen, "arm: needs at least one subscription: line (or discovery: resource-graph)");
		return FWD_EPARSE;
	}
	if (ac->discovery != ARM_DISCOVERY_RESOURCE_GRAPH &&
	    (ac->nmanagement_groups > 0 || ac->records_from == ARM_RECORDS_FROM_RESOURCE_GRAPH)) {
		fwd_errf(err, errlen, "arm: management-group: and records-from: resource-graph need discovery: "
			 "resource-graph");
		return FWD_EPARSE;
	}
	if (ac->nmanagement_groups > 0 && ac->nsubscriptions > 0) {
		fwd_errf(err, errlen, "arm: give subscription: or management-group: lines, not both (the Resource "
			 "Graph query has one scope)");
		return FWD_EPARSE;
	}
	switch (ac->auth) {
	case ARM_AUTH_CLIENT_SECRET:
		if (ac->tenant_id == NULL || ac->client_id == NULL) {
			fwd_errf(err, errlen, "arm: auth: client-secret needs tenant-id: and client-id:");
			return FWD_EPARSE;
		}
		if (nsecret != 1) {
			fwd_errf(err, errlen,
				     "arm: auth: client-secret needs exactly one of client-secret-file: "
				     "and client-secret-env:");
			return FWD_EPARSE;
		}
		break;
	case ARM_AUTH_MANAGED_IDENTITY:
		if (ac->tenant_id != NULL) {
			fwd_errf(err, errlen,
				     "arm: tenant-id: does not apply to auth: managed-identity");
			return FWD_EPARSE;
		}
		/* no secret either */
		/* fall through */
	case ARM_AUTH_WORKLOAD_IDENTITY:
		if (nsecret != 0) {
			fwd_errf(err, errlen,
				     "arm: client-secret-file:/client-secret-env: only apply to auth: "
				     "client-secret");
			return FWD_EPARSE;
		}
		break;
	}
	if (ac->federated_token_file != NULL && ac->auth != ARM_AUTH_WORKLOAD_IDENTITY) {
		fwd_errf(err, errlen,
			     "arm: federated-token-file: only applies to auth: workload-identity");
		return FWD_EPARSE;
	}
	return FWD_OK;
}

struct arm_cfg *arm_cfg_dup(const struct arm_cfg *ac)
{
	struct arm_cfg *d = calloc(1, sizeof(*d));
	int bad = 0;

	if (d == NULL)
		return NULL;
	*d = *ac;
	/* Every pointer is replaced first, so a failure frees only copies. */
	for (size_t i = 0; i < cfg_schema_len; i++) {
		const struct cfg_key *k = &cfg_schema[i];
		if (k->clause != CFG_CL_ARM)
			continue;
		if (k->type == CT_URL || k->type == CT_STR || k->type == CT_TOKEN || k->type == CT_ENVNAME) {
			*AT(d, k, char *) = NULL;
		} else if (k->type == CT_TOKENS || k->type == CT_PATTERNS) {
			*AT(d, k, char **) = NULL;
			*COUNT(d, k) = 0;
		}
	}
	d->fallbacks = NULL;
	d->nfallbacks = 0;
	d->allow_transfer = NULL;
	d->notify = NULL;
	bad = cfg_xfr_acl_dup(ac->allow_transfer, ac->nallow_transfer, &d->allow_transfer) != FWD_OK ||
	      cfg_xfr_notify_dup(ac->notify, ac->nnotify, &d->notify) != FWD_OK;
	if (bad) {
		d->nallow_transfer = d->allow_transfer ? ac->nallow_transfer : 0;
		d->nnotify = d->notify ? ac->nnotify : 0;
	}
	for (size_t i = 0; i < cfg_schema_len && !bad; i++) {
		const struct cfg_key *k = &cfg_schema[i];
		if (k->clause != CFG_CL_ARM)
			continue;
		if (k->type == CT_URL || k->type == CT_STR || k->type == CT_TOKEN || k->type == CT_ENVNAME) {
			const char *s = *AT(ac, k, char *);
			bad = s != NULL && (*AT(d, k, char *) = strdup(s)) == NULL;
		} else if (k->type == CT_TOKENS || k->type == CT_PATTERNS) {
			for (size_t j = 0; j < *COUNT(ac, k) && !bad; j++)
				bad = arm_cfg_push(AT(d, k, char **), COUNT(d, k), (*AT(ac, k, char **))[j]) != FWD_OK;
		}
	}
	if (!bad && ac->nfallbacks > 0) {
		d->fallbacks = calloc(ac->nfallbacks, sizeof(*d->fallbacks));
		bad = d->fallbacks == NULL;
		for (size_t i = 0; !bad && i < ac->nfallbacks; i++) {
			d->fallbacks[i].fallback_public = ac->fallbacks[i].fallback_public;
			d->fallbacks[i].pattern = strdup(ac->fallbacks[i].pattern);
			d->nfallbacks = i + 1;
			bad = d->fallbacks[i].pattern == NULL;
		}
	}
	if (bad) {
		arm_cfg_free(d);
		return NULL;
	}
	return d;
}

int arm_cfg_zone_fallback(const struct arm_cfg *ac, const char *zone)
{
	for (size_t i = 0; i < ac->nfallbacks; i++)
		if (fnmatch(ac->fallbacks[i].pattern, zone, 0) == 0)
			return ac->fallbacks[i].fallback_public;
	return ac->fallback_public;
}

int arm_cfg_zone_wanted(const struct arm_cfg *ac, const char *zone)
{
	if (ac->nzone_filters == 0)
		return 1;
	for (size_t i = 0; i < ac->nzone_filters; i++)
		if (fnmatch(ac->zone_filters[i], zone, 0) == 0)
			return 1;
	return 0;
}

/* Azure SDK for Go, sdk/azcore/cloud/cloud.go (a copy of ARM's
 * metadata/endpoints document); trailing slashes normalised away. */
static const char *arm_cfg_cloud_arm(int cloud)
{
	switch (cloud) {
	case CLOUD_AZURE:
		return "https://management.azure.com";
	case CLOUD_USGOV:
		return "https://management.usgovcloudapi.net";
	case CLOUD_CHINA:
		return "https://management.chinacloudapi.cn";
	}
	return NULL;
}

static const char *arm_cfg_cloud_login(int cloud)
{
	switch (cloud) {
	case CLOUD_AZURE:
		return "https://login.microsoftonline.com";
	case CLOUD_USGOV:
		return "https://login.microsoftonline.us";
	case CLOUD_CHINA:
		return "https://login.chinacloudapi.cn";
	}
	return NULL;
}

static const char *arm_cfg_env(const char *name)
{
	const char *v = getenv(name);

	return (v != NULL && *v != '\0') ? v : NULL;
}

enum fwd_err arm_cfg_endpoints(const struct arm_cfg *ac, int cloud, struct arm_endpoints *ep, char *err,
			       size_t errlen)
{
	int c = ac->cloud >= 0 ? ac->cloud : cloud;

	memset(ep, 0, sizeof(*ep));
	ep->arm = ac->arm_endpoint ? ac->arm_endpoint : arm_cfg_cloud_arm(c);
	/* The audience stays the cloud's even when arm-endpoint: points
	 * elsewhere (a proxy, a test server): tokens are for ARM itself. */
	ep->audience = ac->audience ? ac->audience : arm_cfg_cloud_arm(c);
	ep->imds = ac->imds_endpoint ? ac->imds_endpoint : "http://169.254.169.254";
	ep->login = ac->login_endpoint;
	ep->tenant_id = ac->tenant_id;
	ep->client_id = ac->client_id;
	if (ac->auth == ARM_AUTH_WORKLOAD_IDENTITY) {
		if (ep->login == NULL)
			ep->login = arm_cfg_env("AZURE_AUTHORITY_HOST");
		if (ep->tenant_id == NULL)
			ep->tenant_id = arm_cfg_env("AZURE_TENANT_ID");
		if (ep->client_id == NULL)
			ep->client_id = arm_cfg_env("AZURE_CLIENT_ID");
		ep->federated_token_file = ac->federated_token_file
						   ? ac->federated_token_file
						   : arm_cfg_env("AZURE_FEDERATED_TOKEN_FILE");
		if (ep->tenant_id == NULL || ep->client_id == NULL || ep->federated_token_file == NULL) {
			fwd_errf(err, errlen,
				     "arm: auth: workload-identity needs a tenant (tenant-id: or "
				     "AZURE_TENANT_ID), a client id (client-id: or AZURE_CLIENT_ID) and a "
				     "token file (federated-token-file: or AZURE_FEDERATED_TOKEN_FILE)");
			return FWD_EINVAL;
		}
	}
	if (ep->login == NULL && ac->auth != ARM_AUTH_MANAGED_IDENTITY)
		ep->login = arm_cfg_cloud_login(c);
	if (ep->arm == NULL || ep->audience == NULL ||
	    (ac->auth != ARM_AUTH_MANAGED_IDENTITY && ep->login == NULL)) {
		fwd_errf(err, errlen,
			     "arm: no cloud to take endpoints from (server: cloud is none); set "
			     "arm-cloud:, or arm-endpoint:, audience: and login-endpoint:");
		return FWD_EINVAL;
	}
	return FWD_OK;
}

size_t arm_cfg_nslots(const struct arm_cfg *ac)
{
	return ac->nsubscriptions + (ac->discovery == ARM_DISCOVERY_RESOURCE_GRAPH ? 1 : 0);
}

long arm_cfg_sub_slot(const struct arm_cfg *ac, const char *sub, const char *rg)
{
	if (ac->nresource_groups > 0) {
		int in = 0;
		for (size_t k = 0; rg != NULL && k < ac->nresource_groups; k++)
			in |= strcmp(ac->resource_groups[k], rg) == 0;
		if (!in)
			return -1;
	}
	for (size_t i = 0; i < ac->nsubscriptions; i++)
		if (strcmp(ac->subscriptions[i], sub) == 0)
			return (long)i;
	/* Resource Graph over management groups or the tenant: the others */
	if (ac->discovery == ARM_DISCOVERY_RESOURCE_GRAPH && ac->nsubscriptions == 0)
		return (long)ac->nsubscriptions;
	return -1;
}
