/*
 * arm_config.c -- parse and check the keys of the "arm:" clause.
 *
 * Values are validated here, character by character, because most of them
 * end up inside URLs or file names: a subscription id with a '/' or a '?'
 * would otherwise change which ARM resource we read.
 */
#include "arm_config.h"

#include <ctype.h>
#include <errno.h>
#include <fnmatch.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"
#include "cloud.h"

struct arm_cfg *arm_cfg_new(void)
{
	struct arm_cfg *ac = calloc(1, sizeof(*ac));

	if (ac == NULL)
		return NULL;
	ac->cloud = -1;
	ac->auth = ARM_AUTH_MANAGED_IDENTITY;
	ac->interval_s = 60;
	ac->timeout_s = 30;
	ac->max_inflight = 4;
	ac->max_retries = 4;
	ac->page_size = 1000;
	ac->api_version = strdup("2024-06-01");
	if (ac->api_version == NULL) {
		free(ac);
		return NULL;
	}
	return ac;
}

static void arm_cfg_free_list(char **v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

void arm_cfg_free(struct arm_cfg *ac)
{
	if (ac == NULL)
		return;
	free(ac->arm_endpoint);
	free(ac->login_endpoint);
	free(ac->imds_endpoint);
	free(ac->audience);
	free(ac->api_version);
	free(ac->client_id);
	free(ac->tenant_id);
	free(ac->client_secret_file);
	free(ac->client_secret_env);
	free(ac->federated_token_file);
	free(ac->ca_file);
	arm_cfg_free_list(ac->subscriptions, ac->nsubscriptions);
	arm_cfg_free_list(ac->resource_groups, ac->nresource_groups);
	arm_cfg_free_list(ac->zone_filters, ac->nzone_filters);
	for (size_t i = 0; i < ac->nfallbacks; i++)
		free(ac->fallbacks[i].pattern);
	free(ac->fallbacks);
	free(ac);
}

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

static enum fwd_err arm_cfg_int(const char *key, const char *value, long lo, long hi, int *out, char *err,
		       size_t errlen)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(value, &end, 10);
	if (errno != 0 || end == value || *end != '\0' || v < lo || v > hi) {
		fwd_errf(err, errlen, "%s: expected a whole number from %ld to %ld, got '%s'", key,
			     lo, hi, value);
		return FWD_EPARSE;
	}
	*out = (int)v;
	return FWD_OK;
}

/* Set a single-valued string key once; a second occurrence is an error
 * because silently keeping one of two endpoints is how tokens leak. */
static enum fwd_err arm_cfg_str(const char *key, char **slot, const char *value, char *err, size_t errlen)
{
	if (*slot != NULL) {
		fwd_errf(err, errlen, "%s: given twice in the arm: clause", key);
		return FWD_EPARSE;
	}
	*slot = strdup(value);
	if (*slot == NULL) {
		fwd_errf(err, errlen, "out of memory");
		return FWD_ENOMEM;
	}
	return FWD_OK;
}

/* An endpoint URL: scheme checked, trailing slashes dropped. */
static enum fwd_err arm_cfg_url(const char *key, char **slot, const char *value, int allow_http, char *err,
		       size_t errlen)
{
	size_t len;

	if (strncmp(value, "https://", 8) != 0 &&
	    !(allow_http && strncmp(value, "http://", 7) == 0)) {
		fwd_errf(err, errlen, "%s: must be an %s URL, got '%s'", key,
			     allow_http ? "http:// or https://" : "https://", value);
		return FWD_EPARSE;
	}
	for (const char *p = value; *p; p++) {
		if ((unsigned char)*p <= ' ' || *p == '?' || *p == '#' || *p == '"') {
			fwd_errf(err, errlen, "%s: '%s' is not a plain base URL", key, value);
			return FWD_EPARSE;
		}
	}
	if (arm_cfg_str(key, slot, value, err, errlen) < 0)
		return FWD_EPARSE;
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
	if (strcmp(w, "public") == 0)
		*out = 1;
	else if (strcmp(w, "none") == 0)
		*out = 0;
	else {
		fwd_errf(err, errlen, "%s: expected 'public' or 'none', got '%s'", key, w);
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
	if (arm_cfg_pattern(key, pat, pat, sizeof(pat), err, errlen) < 0 ||
	    arm_cfg_fallback_word(key, word, &pub, err, errlen) < 0)
		return FWD_EPARSE;
	nf = realloc(ac->fallbacks, (ac->nfallbacks + 1) * sizeof(*nf));
	if (nf == NULL)
		goto nomem;
	ac->fallbacks = nf;
	nf[ac->nfallbacks].pattern = strdup(pat);
	if (nf[ac->nfallbacks].pattern == NULL)
		goto nomem;
	nf[ac->nfallbacks].fallback_public = pub;
	ac->nfallbacks++;
	return FWD_OK;
nomem:
	fwd_errf(err, errlen, "out of memory");
	return FWD_ENOMEM;
}

enum fwd_err arm_cfg_set(struct arm_cfg *ac, const char *key, const char *value, char *err, size_t errlen)
{
	char buf[1024];
	size_t len;
	const char *v;

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
	v = buf;
	if (*v == '\0') {
		fwd_errf(err, errlen, "%s: empty value", key);
		return FWD_EPARSE;
	}

	if (strcmp(key, "arm-cloud") == 0) {
		enum cfg_cloud c = CLOUD_NONE;
		if (cfg_cloud_parse(v, &c) != FWD_OK || c == CLOUD_NONE) {
			fwd_errf(err, errlen,
				     "arm-cloud: expected AzureCloud, AzureUSGovernment or "
				     "AzureChinaCloud, got '%s'",
				     v);
			return FWD_EPARSE;
		}
		ac->cloud = c;
		return FWD_OK;
	}
	if (strcmp(key, "arm-endpoint") == 0)
		return arm_cfg_url(key, &ac->arm_endpoint, v, 0, err, errlen);
	if (strcmp(key, "login-endpoint") == 0)
		return arm_cfg_url(key, &ac->login_endpoint, v, 0, err, errlen);
	if (strcmp(key, "imds-endpoint") == 0)
		return arm_cfg_url(key, &ac->imds_endpoint, v, 1, err, errlen);
	if (strcmp(key, "audience") == 0)
		return arm_cfg_url(key, &ac->audience, v, 0, err, errlen);
	if (strcmp(key, "api-version") == 0) {
		if (!arm_cfg_chars_ok(v, "-.")) {
			fwd_errf(err, errlen, "api-version: bad value '%s'", v);
			return FWD_EPARSE;
		}
		free(ac->api_version);
		ac->api_version = NULL;
		return arm_cfg_str(key, &ac->api_version, v, err, errlen);
	}
	if (strcmp(key, "auth") == 0) {
		if (strcmp(v, "managed-identity") == 0)
			ac->auth = ARM_AUTH_MANAGED_IDENTITY;
		else if (strcmp(v, "client-secret") == 0)
			ac->auth = ARM_AUTH_CLIENT_SECRET;
		else if (strcmp(v, "workload-identity") == 0)
			ac->auth = ARM_AUTH_WORKLOAD_IDENTITY;
		else {
			fwd_errf(err, errlen,
				     "auth: expected managed-identity, client-secret or "
				     "workload-identity, got '%s'",
				     v);
			return FWD_EPARSE;
		}
		return FWD_OK;
	}
	if (strcmp(key, "client-id") == 0) {
		if (!arm_cfg_chars_ok(v, "-")) {
			fwd_errf(err, errlen, "client-id: expected an application (client) id, got '%s'", v);
			return FWD_EPARSE;
		}
		return arm_cfg_str(key, &ac->client_id, v, err, errlen);
	}
	if (strcmp(key, "tenant-id") == 0) {
		if (!arm_cfg_chars_ok(v, "-.")) {
			fwd_errf(err, errlen, "tenant-id: expected a tenant id or domain, got '%s'", v);
			return FWD_EPARSE;
		}
		return arm_cfg_str(key, &ac->tenant_id, v, err, errlen);
	}
	if (strcmp(key, "client-secret") == 0) {
		/* Never echo the value: it is the secret. */
		fwd_errf(err, errlen,
			     "client-secret: a secret is never accepted in the configuration text; "
			     "use client-secret-file: PATH or client-secret-env: VARIABLE");
		return FWD_EPARSE;
	}
	if (strcmp(key, "client-secret-file") == 0)
		return arm_cfg_str(key, &ac->client_secret_file, v, err, errlen);
	if (strcmp(key, "client-secret-env") == 0) {
		if (!arm_cfg_chars_ok(v, "_") || isdigit((unsigned char)v[0])) {
			/* Not echoed: someone may have pasted the secret here. */
			fwd_errf(err, errlen,
				     "client-secret-env: expected the NAME of an environment variable");
			return FWD_EPARSE;
		}
		return arm_cfg_str(key, &ac->client_secret_env, v, err, errlen);
	}
	if (strcmp(key, "federated-token-file") == 0)
		return arm_cfg_str(key, &ac->federated_token_file, v, err, errlen);
	if (strcmp(key, "ca-file") == 0)
		return arm_cfg_str(key, &ac->ca_file, v, err, errlen);
	if (strcmp(key, "subscription") == 0) {
		if (!arm_cfg_chars_ok(v, "-") || strlen(v) > 64) {
			fwd_errf(err, errlen, "subscription: expected a subscription id, got '%s'", v);
			return FWD_EPARSE;
		}
		arm_cfg_lower(buf);
		for (size_t i = 0; i < ac->nsubscriptions; i++) {
			if (strcmp(ac->subscriptions[i], buf) == 0) {
				fwd_errf(err, errlen, "subscription: %s listed twice", buf);
				return FWD_EPARSE;
			}
		}
		goto push_sub;
	}
	if (strcmp(key, "resource-group") == 0) {
		/* ARM's own rule for resource group names. */
		if (!arm_cfg_chars_ok(v, "-_.()") || strlen(v) > 90) {
			fwd_errf(err, errlen, "resource-group: bad resource group name '%s'", v);
			return FWD_EPARSE;
		}
		arm_cfg_lower(buf);
		if (arm_cfg_push(&ac->resource_groups, &ac->nresource_groups, buf) < 0)
			goto nomem;
		return FWD_OK;
	}
	if (strcmp(key, "zone-filter") == 0) {
		char pat[256];
		if (arm_cfg_pattern(key, v, pat, sizeof(pat), err, errlen) < 0)
			return FWD_EPARSE;
		if (arm_cfg_push(&ac->zone_filters, &ac->nzone_filters, pat) < 0)
			goto nomem;
		return FWD_OK;
	}
	if (strcmp(key, "zone-fallback") == 0)
		return arm_cfg_set_fallback(ac, key, v, err, errlen);
	if (strcmp(key, "fallback") == 0)
		return arm_cfg_fallback_word(key, v, &ac->fallback_public, err, errlen);
	if (strcmp(key, "interval") == 0)
		return arm_cfg_int(key, v, 1, 86400, &ac->interval_s, err, errlen);
	if (strcmp(key, "timeout") == 0)
		return arm_cfg_int(key, v, 1, 600, &ac->timeout_s, err, errlen);
	if (strcmp(key, "max-inflight") == 0)
		return arm_cfg_int(key, v, 1, 64, &ac->max_inflight, err, errlen);
	if (strcmp(key, "max-retries") == 0)
		return arm_cfg_int(key, v, 0, 20, &ac->max_retries, err, errlen);
	if (strcmp(key, "page-size") == 0)
		return arm_cfg_int(key, v, 1, 1000, &ac->page_size, err, errlen);

	fwd_errf(err, errlen, "unknown key '%s' in arm: clause", key);
	return FWD_EPARSE;

push_sub:
	if (arm_cfg_push(&ac->subscriptions, &ac->nsubscriptions, buf) < 0)
		goto nomem;
	return FWD_OK;
nomem:
	fwd_errf(err, errlen, "out of memory");
	return FWD_ENOMEM;
}

enum fwd_err arm_cfg_finish(struct arm_cfg *ac, char *err, size_t errlen)
{
	int nsecret = (ac->client_secret_file != NULL) + (ac->client_secret_env != NULL);

	if (ac->nsubscriptions == 0) {
		fwd_errf(err, errlen, "arm: needs at least one subscription: line");
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

static enum fwd_err arm_cfg_dup_str(char **dst, const char *src)
{
	*dst = NULL;
	if (src == NULL)
		return FWD_OK;
	*dst = strdup(src);
	return *dst ? FWD_OK : FWD_ENOMEM;
}

static enum fwd_err arm_cfg_dup_list(char ***dst, size_t *ndst, char *const *src, size_t n)
{
	*dst = NULL;
	*ndst = 0;
	for (size_t i = 0; i < n; i++)
		if (arm_cfg_push(dst, ndst, src[i]) < 0)
			return FWD_ENOMEM;
	return FWD_OK;
}

struct arm_cfg *arm_cfg_dup(const struct arm_cfg *ac)
{
	struct arm_cfg *d = calloc(1, sizeof(*d));
	int bad = 0;

	if (d == NULL)
		return NULL;
	*d = *ac;
	/* Every pointer is replaced below, so a failure frees only copies. */
	bad |= arm_cfg_dup_str(&d->arm_endpoint, ac->arm_endpoint);
	bad |= arm_cfg_dup_str(&d->login_endpoint, ac->login_endpoint);
	bad |= arm_cfg_dup_str(&d->imds_endpoint, ac->imds_endpoint);
	bad |= arm_cfg_dup_str(&d->audience, ac->audience);
	bad |= arm_cfg_dup_str(&d->api_version, ac->api_version);
	bad |= arm_cfg_dup_str(&d->client_id, ac->client_id);
	bad |= arm_cfg_dup_str(&d->tenant_id, ac->tenant_id);
	bad |= arm_cfg_dup_str(&d->client_secret_file, ac->client_secret_file);
	bad |= arm_cfg_dup_str(&d->client_secret_env, ac->client_secret_env);
	bad |= arm_cfg_dup_str(&d->federated_token_file, ac->federated_token_file);
	bad |= arm_cfg_dup_str(&d->ca_file, ac->ca_file);
	bad |= arm_cfg_dup_list(&d->subscriptions, &d->nsubscriptions, ac->subscriptions,
				ac->nsubscriptions);
	bad |= arm_cfg_dup_list(&d->resource_groups, &d->nresource_groups, ac->resource_groups,
				ac->nresource_groups);
	bad |= arm_cfg_dup_list(&d->zone_filters, &d->nzone_filters, ac->zone_filters,
				ac->nzone_filters);
	d->fallbacks = NULL;
	d->nfallbacks = 0;
	if (ac->nfallbacks > 0) {
		d->fallbacks = calloc(ac->nfallbacks, sizeof(*d->fallbacks));
		if (d->fallbacks == NULL)
			bad = 1;
		for (size_t i = 0; d->fallbacks != NULL && i < ac->nfallbacks; i++) {
			d->fallbacks[i].fallback_public = ac->fallbacks[i].fallback_public;
			bad |= arm_cfg_dup_str(&d->fallbacks[i].pattern, ac->fallbacks[i].pattern);
			d->nfallbacks = i + 1;
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
