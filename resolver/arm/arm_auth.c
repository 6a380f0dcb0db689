/*
 * arm_auth.c -- token acquisition and cache for the three auth flows.
 *
 * Managed identity:  GET {imds}/metadata/identity/oauth2/token
 *                    ?api-version=2018-02-01&resource=<audience>/[&client_id=]
 *                    with "Metadata: true" and never through a proxy.
 * Client secret:     POST {login}/{tenant}/oauth2/v2.0/token, client_credentials
 *                    with client_secret (file re-read / env read at each fetch).
 * Workload identity: the same POST with client_assertion = the federated
 *                    token file, re-read at each fetch because Kubernetes
 *                    rotates it.
 *
 * The token is refreshed when less than min(5 min, half its lifetime) is
 * left, so a request never goes out with a token about to expire.
 */
#include "arm_auth.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <event2/event.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "arm_http.h"
#include "arm_records.h"
#include "clock.h"
#include "common.h"
#include "log.h"

#define ARM_AUTH_IMDS_API "2018-02-01"
#define ARM_AUTH_MAX_SECRET (64 * 1024)
/* No ARM token lives longer than a day (IMDS tokens up to 24 h, Entra's
 * 60-90 min); a longer lifetime is used as a day. */
#define ARM_AUTH_MAX_LIFETIME_S (24 * 3600)

struct arm_auth {
	struct event_base *base;
	struct arm_http *http;
	const struct fwd_clock *clock;
	enum arm_auth_kind kind;
	char *login;           /* authority host without trailing slash */
	char *imds;
	char *audience;        /* without trailing slash */
	char *client_id;
	char *tenant_id;
	char *secret_file;
	char *secret_env;
	char *fed_file;
	int max_retries;
	arm_auth_ready_fn ready;
	void *ready_arg;

	char *token;           /* owned, wiped on free/replace */
	size_t token_len;
	uint64_t refresh_at_ms; /* monotonic: token considered stale from here */
	int fetching;
	int attempt;
	struct event *retry_ev;
	struct event *notify_ev; /* defers the ready callback out of arm_auth_refresh */
	int notify_ok;
};

static const char *arm_auth_kind_name(enum arm_auth_kind k)
{
	switch (k) {
	case ARM_AUTH_MANAGED_IDENTITY:
		return "managed identity";
	case ARM_AUTH_CLIENT_SECRET:
		return "client secret";
	case ARM_AUTH_WORKLOAD_IDENTITY:
		return "workload identity";
	}
	return "?";
}

static char *arm_auth_dup_trimmed(const char *s, int trim_slashes)
{
	size_t n;
	char *d;

	if (s == NULL)
		return NULL;
	n = strlen(s);
	while (trim_slashes && n > 0 && s[n - 1] == '/')
		n--;
	d = malloc(n + 1);
	if (d != NULL) {
		memcpy(d, s, n);
		d[n] = '\0';
	}
	return d;
}

static void arm_auth_drop_token(struct arm_auth *a)
{
	if (a->token != NULL) {
		explicit_bzero(a->token, a->token_len);
		free(a->token);
	}
	a->token = NULL;
	a->token_len = 0;
	a->refresh_at_ms = 0;
}

/* ---------------------------------------------------------------- pure helpers */

int arm_auth_token_url(const char *authority, const char *tenant, char *out, size_t cap)
{
	size_t an = strlen(authority), tn;
	int n;

	while (an > 0 && authority[an - 1] == '/')
		an--;
	while (*tenant == '/')
		tenant++;
	tn = strlen(tenant);
	while (tn > 0 && tenant[tn - 1] == '/')
		tn--;
	n = snprintf(out, cap, "%.*s/%.*s/oauth2/v2.0/token", (int)an, authority, (int)tn, tenant);
	if (n < 0 || (size_t)n >= cap || an == 0 || tn == 0)
		return FWD_EINVAL;
	return 0;
}

/* expires_on as a date string, as App Service sends it:
 * "11/22/2024 10:00:00 AM +00:00"; also plain RFC 3339. */
static int arm_auth_parse_date(const char *s, time_t *out)
{
	static const char *const fmts[] = {"%m/%d/%Y %I:%M:%S %p %z", "%m/%d/%Y %H:%M:%S %z",
					   "%Y-%m-%dT%H:%M:%S%z", "%Y-%m-%dT%H:%M:%SZ"};
	char buf[64];
	size_t n = strlen(s);

	if (n >= sizeof(buf))
		return -1;
	/* strptime's %z wants "+0000", not "+00:00". */
	memcpy(buf, s, n + 1);
	if (n >= 6 && (buf[n - 6] == '+' || buf[n - 6] == '-') && buf[n - 3] == ':')
		memmove(&buf[n - 3], &buf[n - 2], 3);
	for (size_t i = 0; i < FWD_ARRAY_LEN(fmts); i++) {
		struct tm tm;
		const char *end;
		memset(&tm, 0, sizeof(tm));
		end = strptime(buf, fmts[i], &tm);
		if (end != NULL && *end == '\0') {
			long off = tm.tm_gmtoff;
			*out = timegm(&tm) - off;
			return 0;
		}
	}
	return -1;
}

int arm_auth_parse_token(const char *body, time_t now, char **token, int64_t *lifetime_s, char *err,
			 size_t errlen)
{
	cJSON *j = cJSON_Parse(body);
	const cJSON *tok, *ttype;
	int64_t v;
	int rc = FWD_EPARSE;

	*token = NULL;
	if (j == NULL) {
		fwd_errf(err, errlen, "token response is not JSON");
		return FWD_EPARSE;
	}
	tok = cJSON_GetObjectItemCaseSensitive(j, "access_token");
	ttype = cJSON_GetObjectItemCaseSensitive(j, "token_type");
	if (!cJSON_IsString(tok) || tok->valuestring[0] == '\0') {
		fwd_errf(err, errlen, "token response has no access_token");
		goto out;
	}
	if (ttype != NULL && (!cJSON_IsString(ttype) || strcasecmp(ttype->valuestring, "Bearer") != 0)) {
		fwd_errf(err, errlen, "token response has token_type other than Bearer");
		goto out;
	}
	/* The token goes into an HTTP header: refuse anything that could
	 * split it. */
	for (const char *p = tok->valuestring; *p; p++) {
		if ((unsigned char)*p < 0x21 || (unsigned char)*p > 0x7e) {
			fwd_errf(err, errlen, "access_token contains characters not allowed in a header");
			goto out;
		}
	}
	if (arm_json_int(j, "expires_in", 1, INT32_MAX, &v) == 0) {
		*lifetime_s = v;
	} else if (arm_json_int(j, "expires_on", 1, INT64_MAX / 2, &v) == 0) {
		*lifetime_s = v - (int64_t)now;
	} else {
		const cJSON *eo = cJSON_GetObjectItemCaseSensitive(j, "expires_on");
		time_t t;
		if (!cJSON_IsString(eo) || arm_auth_parse_date(eo->valuestring, &t) < 0) {
			fwd_errf(err, errlen, "token response has no usable expires_in or expires_on");
			goto out;
		}
		*lifetime_s = (int64_t)(t - now);
	}
	if (*lifetime_s <= 0) {
		fwd_errf(err, errlen, "token response is already expired (clock skew?)");
		goto out;
	}
	*token = strdup(tok->valuestring);
	rc = *token ? 0 : FWD_ENOMEM;
	if (rc < 0)
		fwd_errf(err, errlen, "out of memory");
out:
	/* cJSON holds a copy of the token: wipe it before freeing. */
	if (cJSON_IsString(tok))
		explicit_bzero(tok->valuestring, strlen(tok->valuestring));
	cJSON_Delete(j);
	return rc;
}

/* ---------------------------------------------------------------- secrets */

/* Read a small secret file (client secret, federated token), trailing
 * whitespace dropped.  The path may be logged; the content never is. */
static char *arm_auth_read_secret(const char *what, const char *path)
{
	char *buf = malloc(ARM_AUTH_MAX_SECRET + 1);
	size_t len = 0;
	ssize_t n;
	int fd;

	if (buf == NULL)
		return NULL;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		log_err("arm: cannot read %s %s: %s", what, path, strerror(errno));
		free(buf);
		return NULL;
	}
	while (len < ARM_AUTH_MAX_SECRET &&
	       (n = read(fd, buf + len, ARM_AUTH_MAX_SECRET - len)) != 0) {
		if (n < 0) {
			if (errno == EINTR)
				continue;
			log_err("arm: cannot read %s %s: %s", what, path, strerror(errno));
			close(fd);
			explicit_bzero(buf, len);
			free(buf);
			return NULL;
		}
		len += (size_t)n;
	}
	close(fd);
	while (len > 0 && (buf[len - 1] == '\n' || buf[len - 1] == '\r' || buf[len - 1] == ' ' ||
			   buf[len - 1] == '\t'))
		len--;
	buf[len] = '\0';
	if (len == 0 || len == ARM_AUTH_MAX_SECRET) {
		log_err("arm: %s %s is %s", what, path, len ? "too large" : "empty");
		explicit_bzero(buf, ARM_AUTH_MAX_SECRET);
		free(buf);
		return NULL;
	}
	return buf;
}

/* Append s to b as application/x-www-form-urlencoded. */
static void arm_auth_form(struct arm_buf *b, const char *key, const char *s)
{
	static const char hex[] = "0123456789ABCDEF";

	if (b->len > 0)
		arm_buf_puts(b, "&");
	arm_buf_puts(b, key);
	arm_buf_puts(b, "=");
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		    c == '-' || c == '.' || c == '_' || c == '~') {
			arm_buf_add(b, (const char *)s, 1);
		} else {
			char e[3] = {'%', hex[c >> 4], hex[c & 15]};
			arm_buf_add(b, e, 3);
		}
	}
}

static void arm_auth_buf_wipe(struct arm_buf *b)
{
	if (b->p != NULL)
		explicit_bzero(b->p, b->cap);
	arm_buf_free(b);
}

/* ---------------------------------------------------------------- fetch */

static void arm_auth_start(struct arm_auth *a);

static void arm_auth_finish(struct arm_auth *a, int ok)
{
	a->fetching = 0;
	a->attempt = 0;
	a->ready(a->ready_arg, ok);
}

static void arm_auth_retry_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	arm_auth_start(arg);
}

static void arm_auth_notify_cb(evutil_socket_t fd, short what, void *arg)
{
	struct arm_auth *a = arg;

	(void)fd;
	(void)what;
	arm_auth_finish(a, a->notify_ok);
}

/* Log a failed token response without the body's secrets: only the OAuth
 * error code and the first line of its description (AADSTS... text). */
static void arm_auth_log_failure(struct arm_auth *a, const struct arm_http_result *res)
{
	cJSON *j = res->len ? cJSON_Parse(res->body) : NULL;
	const cJSON *e = cJSON_GetObjectItemCaseSensitive(j, "error");
	const cJSON *d = cJSON_GetObjectItemCaseSensitive(j, "error_description");
	const char *hint = "";

	if (res->status == 400 || res->status == 401)
		hint = a->kind == ARM_AUTH_MANAGED_IDENTITY
			       ? " (is a managed identity assigned to this machine, and client-id right?)"
			       : " (check tenant-id, client-id and the secret or federated credential)";
	if (cJSON_IsString(e)) {
		const char *desc = cJSON_IsString(d) ? d->valuestring : "";
		size_t dl = strcspn(desc, "\r\n");
		log_err("arm: %s token request failed: HTTP %ld %s: %.*s%s", arm_auth_kind_name(a->kind),
			res->status, e->valuestring, (int)(dl > 300 ? 300 : dl), desc, hint);
	} else {
		log_err("arm: %s token request failed: HTTP %ld (%zu-byte non-JSON body)%s",
			arm_auth_kind_name(a->kind), res->status, res->len, hint);
	}
	cJSON_Delete(j);
}

static void arm_auth_done_cb(void *arg, const struct arm_http_result *res)
{
	struct arm_auth *a = arg;
	char err[200];
	char *tok = NULL;
	int64_t life;
	int retryable;

	if (res->err == 0 && res->status == 200) {
		if (arm_auth_parse_token(res->body, (time_t)clock_wall_s(a->clock), &tok, &life, err, sizeof(err)) < 0) {
			log_err("arm: %s token response unusable: %s", arm_auth_kind_name(a->kind), err);
			arm_auth_finish(a, 0);
			return;
		}
		arm_auth_drop_token(a);
		a->token = tok;
		a->token_len = strlen(tok);
		/* an expires_on far in the future would overflow the refresh
		 * time below and make the token due at once: a refresh storm */
		if (life > ARM_AUTH_MAX_LIFETIME_S)
			life = ARM_AUTH_MAX_LIFETIME_S;
		{
			int64_t margin = life / 2 < 300 ? life / 2 : 300;
			a->refresh_at_ms = clock_ms(a->clock) + (uint64_t)(life - margin) * 1000;
		}
		log_info("arm: %s token acquired, valid for %lld s", arm_auth_kind_name(a->kind),
			 (long long)life);
		arm_auth_finish(a, 1);
		return;
	}
	/* IMDS documents 404 (identity not yet there), 410 (restarting) and
	 * 429/5xx as transient; Entra 429/5xx likewise. */
	retryable = res->err == FWD_ETIMEDOUT || res->err == FWD_EIO || res->status == 429 ||
		    res->status >= 500 ||
		    (a->kind == ARM_AUTH_MANAGED_IDENTITY && (res->status == 404 || res->status == 410));
	if (res->err != 0)
		log_warn("arm: %s token request failed: %s", arm_auth_kind_name(a->kind), res->errmsg);
	else
		arm_auth_log_failure(a, res);
	if (retryable && a->attempt < a->max_retries) {
		long delay_ms = (res->retry_after_s >= 0) ? res->retry_after_s * 1000
							 : (1000L << (a->attempt < 5 ? a->attempt : 5));
		struct timeval tv;
		if (res->retry_after_s < 0)
			delay_ms = delay_ms / 2 + (long)(fwd_random_u32() % (uint32_t)(delay_ms / 2 + 1));
		a->attempt++;
		tv.tv_sec = delay_ms / 1000;
		tv.tv_usec = (delay_ms % 1000) * 1000;
		log_info("arm: retrying the token request in %ld ms (attempt %d of %d)", delay_ms,
			 a->attempt + 1, a->max_retries + 1);
		evtimer_add(a->retry_ev, &tv);
		return;
	}
	arm_auth_finish(a, 0);
}

static void arm_auth_start(struct arm_auth *a)
{
	struct arm_buf url = {0}, form = {0};
	char *secret = NULL;
	const char *hdr_imds[] = {"Metadata: true", NULL};
	const char *hdr_form[] = {"Content-Type: application/x-www-form-urlencoded",
				  "Accept: application/json", NULL};
	int rc;

	if (a->kind == ARM_AUTH_MANAGED_IDENTITY) {
		arm_buf_printf(&url, "%s/metadata/identity/oauth2/token?api-version=" ARM_AUTH_IMDS_API,
			       a->imds);
		/* resource is the audience with its trailing slash, as documented. */
		{
			struct arm_buf q = {0};
			char *res_slash = NULL;
			if (asprintf(&res_slash, "%s/", a->audience) < 0) {
				arm_buf_free(&q);
				goto nomem;
			}
			arm_auth_form(&q, "resource", res_slash);
			free(res_slash);
			if (a->client_id != NULL)
				arm_auth_form(&q, "client_id", a->client_id);
			arm_buf_puts(&url, "&");
			if (q.p != NULL)
				arm_buf_puts(&url, q.p);
			arm_buf_free(&q);
		}
		if (url.oom)
			goto nomem;
		rc = arm_http_request(a->http, url.p, hdr_imds, NULL, 0, ARM_HTTP_NOPROXY,
				      arm_auth_done_cb, a);
	} else {
		char tokurl[1024];
		char scope[600];
		if (arm_auth_token_url(a->login, a->tenant_id, tokurl, sizeof(tokurl)) < 0) {
			log_err("arm: cannot build the token URL from login endpoint and tenant");
			goto fail;
		}
		snprintf(scope, sizeof(scope), "%s/.default", a->audience);
		if (a->kind == ARM_AUTH_CLIENT_SECRET) {
			if (a->secret_file != NULL) {
				secret = arm_auth_read_secret("client secret file", a->secret_file);
			} else {
				const char *v = getenv(a->secret_env);
				if (v == NULL || *v == '\0')
					log_err("arm: environment variable %s (client-secret-env) is not set",
						a->secret_env);
				else
					secret = strdup(v);
			}
		} else {
			secret = arm_auth_read_secret("federated token file", a->fed_file);
		}
		if (secret == NULL)
			goto fail;
		arm_auth_form(&form, "client_id", a->client_id);
		arm_auth_form(&form, "scope", scope);
		arm_auth_form(&form, "grant_type", "client_credentials");
		if (a->kind == ARM_AUTH_CLIENT_SECRET) {
			arm_auth_form(&form, "client_secret", secret);
		} else {
			arm_auth_form(&form, "client_assertion_type",
				      "urn:ietf:params:oauth:client-assertion-type:jwt-bearer");
			arm_auth_form(&form, "client_assertion", secret);
		}
		explicit_bzero(secret, strlen(secret));
		free(secret);
		if (form.oom)
			goto nomem;
		rc = arm_http_request(a->http, tokurl, hdr_form, form.p, form.len, 0, arm_auth_done_cb, a);
	}
	arm_buf_free(&url);
	arm_auth_buf_wipe(&form);
	if (rc < 0)
		goto fail_nofree;
	return;
nomem:
	log_err("arm: out of memory building the token request");
fail:
	arm_buf_free(&url);
	arm_auth_buf_wipe(&form);
fail_nofree:
	/* Report asynchronously: arm_auth_refresh promises no re-entry. */
	a->notify_ok = 0;
	event_active(a->notify_ev, EV_TIMEOUT, 0);
}

/* ---------------------------------------------------------------- public */

struct arm_auth *arm_auth_new(struct event_base *base, struct arm_http *http,
			      const struct arm_auth_params *p, arm_auth_ready_fn ready, void *arg)
{
	struct arm_auth *a = calloc(1, sizeof(*a));

	if (a == NULL)
		goto nomem;
	a->base = base;
	a->http = http;
	a->clock = p->clock;
	a->kind = p->kind;
	a->max_retries = p->max_retries;
	a->ready = ready;
	a->ready_arg = arg;
	a->login = arm_auth_dup_trimmed(p->login_endpoint, 1);
	a->imds = arm_auth_dup_trimmed(p->imds_endpoint, 1);
	a->audience = arm_auth_dup_trimmed(p->audience, 1);
	a->client_id = arm_auth_dup_trimmed(p->client_id, 0);
	a->tenant_id = arm_auth_dup_trimmed(p->tenant_id, 0);
	a->secret_file = arm_auth_dup_trimmed(p->secret_file, 0);
	a->secret_env = arm_auth_dup_trimmed(p->secret_env, 0);
	a->fed_file = arm_auth_dup_trimmed(p->federated_token_file, 0);
	a->retry_ev = evtimer_new(base, arm_auth_retry_cb, a);
	a->notify_ev = event_new(base, -1, 0, arm_auth_notify_cb, a);
	if (a->audience == NULL || a->retry_ev == NULL || a->notify_ev == NULL ||
	    (p->kind == ARM_AUTH_MANAGED_IDENTITY && a->imds == NULL) ||
	    (p->kind != ARM_AUTH_MANAGED_IDENTITY &&
	     (a->login == NULL || a->tenant_id == NULL || a->client_id == NULL))) {
		arm_auth_free(a);
		goto nomem;
	}
	return a;
nomem:
	log_err("arm: cannot set up %s authentication", arm_auth_kind_name(p->kind));
	return NULL;
}

void arm_auth_free(struct arm_auth *a)
{
	if (a == NULL)
		return;
	arm_auth_drop_token(a);
	if (a->retry_ev != NULL)
		event_free(a->retry_ev);
	if (a->notify_ev != NULL)
		event_free(a->notify_ev);
	free(a->login);
	free(a->imds);
	free(a->audience);
	free(a->client_id);
	free(a->tenant_id);
	free(a->secret_file);
	free(a->secret_env);
	free(a->fed_file);
	free(a);
}

const char *arm_auth_token(struct arm_auth *a)
{
	if (a->token == NULL || clock_ms(a->clock) >= a->refresh_at_ms)
		return NULL;
	return a->token;
}

void arm_auth_refresh(struct arm_auth *a)
{
	if (a->fetching)
		return;
	a->fetching = 1;
	a->attempt = 0;
	arm_auth_start(a);
}

void arm_auth_invalidate(struct arm_auth *a)
{
	arm_auth_drop_token(a);
}
