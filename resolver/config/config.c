/*
 * config.c -- the configuration file: one pass over its lines into a fresh struct cfg.
 *
 * The file is small and read rarely (start-up, reload, -t), so the parser is a
 * plain line reader.  Every key is a row of the schema table (schema.h): it
 * says which clause a key belongs to, where its value goes, its range and
 * its default.  This file parses the values of the server:, upstream:,
 * forward:, zone: and key: clauses (arm_config.c those of arm:, cfg_tsig.c
 * the algorithm and secret of key:), applies the
 * defaults through the same setters, and validates everything, so that a
 * struct cfg handed out is always usable as it is: no reader applies a
 * default of its own.
 */
#ifndef _POSIX_C_SOURCE
#define _POSIX_C_SOURCE 200809L
#endif

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <net/if.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "arm_config.h"
#include "cfg_secondary.h"
#include "cfg_lex.h"
#include "cfg_loop.h"
#include "cfg_tsig.h"
#include "cfg_value.h"
#include "cfg_xfr.h"
#include "common.h"
#include "config.h"
#include "log.h"
#include "schema.h"
#include "wire.h"

#define CFG_DEFAULT_PORT 53
#define CFG_NAME_MAX 253  /* presentation length without the final dot */
#define CFG_LABEL_MAX 63


/*
 * Lower-case a domain name and give it a trailing dot.  The root is refused:
 * a rule for "." would be the default group under another name.
 */
static enum fwd_err name_norm(const char *in, char **out, const char **why)
{
	size_t len = strlen(in), i, label = 0;
	char *s;

	if (len > 0 && in[len - 1] == '.')
		len--;
	if (len == 0) {
		*why = "the root is not allowed here";
		return FWD_EPARSE;
	}
	if (len > CFG_NAME_MAX) {
		*why = "name longer than 253 characters";
		return FWD_EPARSE;
	}
	for (i = 0; i < len; i++) {
		unsigned char ch = (unsigned char)in[i];
		if (ch == '.') {
			if (label == 0) {
				*why = "empty label";
				return FWD_EPARSE;
			}
			label = 0;
			continue;
		}
		if (!isalnum(ch) && ch != '-' && ch != '_') {
			*why = "invalid character in name";
			return FWD_EPARSE;
		}
		if (++label > CFG_LABEL_MAX) {
			*why = "label longer than 63 characters";
			return FWD_EPARSE;
		}
	}
	s = malloc(len + 2);
	if (s == NULL)
		return FWD_ENOMEM;
	for (i = 0; i < len; i++)
		s[i] = (char)tolower((unsigned char)in[i]);
	s[len] = '.';
	s[len + 1] = '\0';
	*out = s;
	return FWD_OK;
}

/* Group names are identifiers, compared case-insensitively, stored lower-case. */
static enum fwd_err group_norm(const char *in, char **out, const char **why)
{
	size_t len = strlen(in), i;
	char *s;

	if (len == 0 || len > CFG_LABEL_MAX) {
		*why = "a group name is 1 to 63 characters";
		return FWD_EPARSE;
	}
	for (i = 0; i < len; i++) {
		unsigned char ch = (unsigned char)in[i];
		if (!isalnum(ch) && ch != '-' && ch != '_') {
			*why = "a group name has only letters, digits, '-' and '_'";
			return FWD_EPARSE;
		}
	}
	s = strdup(in);
	if (s == NULL)
		return FWD_ENOMEM;
	for (i = 0; i < len; i++)
		s[i] = (char)tolower((unsigned char)s[i]);
	*out = s;
	return FWD_OK;
}

/* ------------------------------------------------------------ the parser */

struct parser {
	struct cfg *cfg;
	const char *file;
	int line;
	char *err;
	size_t errlen;
	/* the open clause */
	int open;                         /* a clause is open */
	enum cfg_clause clause;
	int clause_line;
	void *base;                       /* where its keys' values go (struct cfg, or the element) */
	const char *elem_name;            /* upstream:, forward:, zone: its NAME */
	/* first line of each key, 0 while unset: server: keys over every
	 * server: clause, the others for the open clause */
	int seen_server[CFG_MAX_CLAUSE_KEYS];
	int seen[CFG_MAX_CLAUSE_KEYS];
	int defaults;                     /* applying defaults: nothing is "seen" */
	int indented;                     /* the current line starts with a blank */
	int arm_line;
};

static void perr(struct parser *p, int line, const char *fmt, ...) FWD_PRINTF(3, 4);
static void perr(struct parser *p, int line, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	if (p->err == NULL || p->errlen == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	snprintf(p->err, p->errlen, "%s:%d: %s", p->file, line, msg);
}

static enum fwd_err perr_nomem(struct parser *p)
{
	perr(p, p->line, "out of memory");
	return FWD_ENOMEM;
}

/* Room for element n of a list (n = its count): lists grow by doubling. */
static enum fwd_err list_room(void **arr, size_t n, size_t elsize)
{
	size_t cap = 4;
	void *na;

	while (cap < n)
		cap *= 2;
	if (n < cap && *arr != NULL)
		return FWD_OK;
	if (n >= cap)
		cap *= 2;
	na = realloc(*arr, cap * elsize);
	if (na == NULL)
		return FWD_ENOMEM;
	memset((char *)na + n * elsize, 0, (cap - n) * elsize);
	*arr = na;
	return FWD_OK;
}

static const char *article(const char *word)
{
	return strchr("aeiou", word[0]) ? "an" : "a";
}

static enum fwd_err dup_str(struct parser *p, char **dst, const char *val)
{
	char *s = strdup(val);
	if (s == NULL)
		return perr_nomem(p);
	free(*dst);
	*dst = s;
	return FWD_OK;
}

static enum fwd_err bad_key(struct parser *p, const char *key)
{
	enum cfg_clause home;

	if (strcmp(key, "include") == 0)
		perr(p, p->line, "include: is not supported; keep the configuration in one file");
	else if (cfg_schema_home(key, &home) != FWD_OK)
		perr(p, p->line, "unknown key '%s' in %s: clause", key, cfg_clause_name(p->clause));
	else
		perr(p, p->line, "key '%s' belongs in %s %s: clause, not in %s:", key,
		     article(cfg_clause_name(home)), cfg_clause_name(home), cfg_clause_name(p->clause));
	return FWD_EPARSE;
}

/* ------------------------------------------------------------ values by type */

/* An address into a list; the same address twice in one list is an error. */
static enum fwd_err add_addr(struct parser *p, struct cfg_addr **arr, size_t *n, const char *what,
			     const char *val, int port)
{
	struct cfg_addr a;
	size_t i;

	memset(&a, 0, sizeof(a));
	a.line = p->line;
	if (cfg_parse_addr(val, port, &a) != FWD_OK) {
		perr(p, p->line, "%s: bad address '%s' (want ADDR or ADDR@PORT, e.g. 192.0.2.1@%d or [::1]@%d)",
		     what, val, port, port);
		return FWD_EPARSE;
	}
	for (i = 0; i < *n; i++) {
		if ((*arr)[i].len == a.len && memcmp(&(*arr)[i].ss, &a.ss, a.len) == 0) {
			perr(p, p->line, "%s: duplicate address '%s' (first at line %d)", what, val, (*arr)[i].line);
			return FWD_EPARSE;
		}
	}
	if (list_room((void **)arr, *n, sizeof(**arr)) != FWD_OK)
		return perr_nomem(p);
	(*arr)[(*n)++] = a;
	return FWD_OK;
}

static enum fwd_err add_cidr(struct parser *p, struct cfg_cidr **arr, size_t *n, const char *what,
			     const char *val)
{
	struct cfg_cidr c;

	memset(&c, 0, sizeof(c));
	c.line = p->line;
	if (cfg_parse_cidr(val, &c) != FWD_OK) {
		perr(p, p->line, "%s: bad address or CIDR '%s' (want e.g. 10.0.0.0/8 or fd00::/8)", what, val);
		return FWD_EPARSE;
	}
	if (list_room((void **)arr, *n, sizeof(**arr)) != FWD_OK)
		return perr_nomem(p);
	(*arr)[(*n)++] = c;
	return FWD_OK;
}

/* A relative zone file is relative to the directory of the config file, as in NSD. */
static char *resolve_path(const char *cfgfile, const char *file)
{
	const char *slash = strrchr(cfgfile, '/');
	size_t dlen;
	char *s;

	if (file[0] == '/' || slash == NULL)
		return strdup(file);
	dlen = (size_t)(slash - cfgfile) + 1;
	s = malloc(dlen + strlen(file) + 1);
	if (s == NULL)
		return NULL;
	memcpy(s, cfgfile, dlen);
	strcpy(s + dlen, file);
	return s;
}

/* One cap option of a server: line (max-qps=N, max-outstanding=N), checked
 * against the group key of the same name. */
static enum fwd_err server_option(struct parser *p, const struct cfg_key *k, const char *opt, struct cfg_caps *caps)
{
	static const char *const names[] = {"max-qps", "max-outstanding"};
	int *slots[] = {&caps->max_qps, &caps->max_outstanding};
	const char *eq = strchr(opt, '=');
	unsigned long num;

	for (size_t i = 0; eq != NULL && i < FWD_ARRAY_LEN(names); i++) {
		const struct cfg_key *gk = cfg_schema_find(CFG_CL_UPSTREAM, names[i]);
		if (strlen(names[i]) != (size_t)(eq - opt) || strncmp(opt, names[i], (size_t)(eq - opt)) != 0)
			continue;
		if (*slots[i] >= 0) {
			perr(p, p->line, "%s: %s given twice", k->name, names[i]);
			return FWD_EPARSE;
		}
		if (cfg_parse_ulong(eq + 1, (unsigned long)gk->max, &num) != FWD_OK || (long)num < gk->min) {
			perr(p, p->line, "%s: %s: '%s' is not a number in %ld..%ld", k->name, names[i], eq + 1, gk->min,
			     gk->max);
			return FWD_EPARSE;
		}
		*slots[i] = (int)num;
		return FWD_OK;
	}
	perr(p, p->line, "%s: unknown option '%s' (max-qps=N or max-outstanding=N)", k->name, opt);
	return FWD_EPARSE;
}

/* "ADDR[@PORT] [max-qps=N] [max-outstanding=N]" into group u. */
static enum fwd_err set_server(struct parser *p, struct cfg_upstream *u, const struct cfg_key *k, const char *val)
{
	struct cfg_caps caps = {-1, -1};
	char buf[512], *w, *save = NULL;
	size_t n = u->nservers;
	enum fwd_err rc;

	if (n >= CFG_MAX_GROUP_SERVERS) {
		perr(p, p->line, "upstream: %s: more than %d servers", u->name, CFG_MAX_GROUP_SERVERS);
		return FWD_EPARSE;
	}
	if (strlen(val) >= sizeof(buf)) {
		perr(p, p->line, "%s: value too long", k->name);
		return FWD_EPARSE;
	}
	strcpy(buf, val);
	w = strtok_r(buf, " \t", &save);
	for (char *opt = strtok_r(NULL, " \t", &save); opt; opt = strtok_r(NULL, " \t", &save))
		if ((rc = server_option(p, k, opt, &caps)) != FWD_OK)
			return rc;
	if ((rc = add_addr(p, &u->servers, &u->nservers, k->name, w ? w : val, CFG_DEFAULT_PORT)) != FWD_OK)
		return rc;
	if (list_room((void **)&u->caps, n, sizeof(*u->caps)) != FWD_OK)
		return perr_nomem(p);
	u->caps[n] = caps;
	return FWD_OK;
}

/* 168.63.129.16, Azure's resolver as a VM sees it (also v4-mapped). */
static int is_azure_dns(const struct cfg_addr *a)
{
	static const uint8_t azure[4] = {168, 63, 129, 16};
	static const uint8_t mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

	if (a->ss.ss_family == AF_INET)
		return memcmp(&((const struct sockaddr_in *)&a->ss)->sin_addr, azure, 4) == 0;
	if (a->ss.ss_family == AF_INET6) {
		const uint8_t *b = ((const struct sockaddr_in6 *)&a->ss)->sin6_addr.s6_addr;
		return memcmp(b, mapped, 12) == 0 && memcmp(b + 12, azure, 4) == 0;
	}
	return 0;
}

/* The first of the caps that is set (>= 0), else 0: no cap. */
static int first_set(int a, int b, int c)
{
	return a >= 0 ? a : b >= 0 ? b : c >= 0 ? c : 0;
}

/* Every server's caps, in the order struct cfg_caps (config.h) gives. */
static void resolve_caps(struct cfg *cfg)
{
	for (size_t g = 0; g < cfg->nupstreams; g++) {
		struct cfg_upstream *u = &cfg->upstreams[g];
		for (size_t i = 0; i < u->nservers; i++) {
			int azure = u->azure_dns || is_azure_dns(&u->servers[i]);
			struct cfg_caps *c = &u->caps[i];
			c->max_qps = first_set(c->max_qps, u->max_qps,
					       first_set(cfg->upstream_max_qps, azure ? cfg->azure_dns_max_qps : 0, -1));
			c->max_outstanding =
				first_set(c->max_outstanding, u->max_outstanding,
					  first_set(cfg->upstream_max_outstanding,
						    azure ? cfg->azure_dns_max_outstanding : 0, -1));
		}
	}
}

/* Store val, checked against k, at base + k->off. */
static enum fwd_err set_value(struct parser *p, const struct cfg_key *k, void *base, const char *val)
{
	char *at = (char *)base + k->off;
	int *iv = (int *)(void *)at;
	char **sv = (char **)(void *)at;
	size_t *nv = (size_t *)(void *)((char *)base + k->off_n);
	const char *why = NULL;
	unsigned long num;
	enum fwd_err rc;

	switch (k->type) {
	case CT_INT:
		if (cfg_parse_ulong(val, (unsigned long)k->max, &num) != FWD_OK || (long)num < k->min) {
			perr(p, p->line, "%s: '%s' is not a number in %ld..%ld", k->name, val, k->min, k->max);
			return FWD_EPARSE;
		}
		*iv = (int)num;
		return FWD_OK;
	case CT_BOOL:
		if (strcasecmp(val, "yes") != 0 && strcasecmp(val, "no") != 0) {
			perr(p, p->line, "%s: expected yes or no, not '%s'", k->name, val);
			return FWD_EPARSE;
		}
		*iv = strcasecmp(val, "yes") == 0;
		return FWD_OK;
	case CT_FALLBACK:
		if (strcasecmp(val, "public") != 0 && strcasecmp(val, "none") != 0) {
			perr(p, p->line, "%s: expected public or none, not '%s'", k->name, val);
			return FWD_EPARSE;
		}
		*iv = strcasecmp(val, "public") == 0;
		return FWD_OK;
	case CT_SIZE:
		if (cfg_parse_size(val, (uint64_t *)(void *)at) != FWD_OK) {
			perr(p, p->line, "%s: bad size '%s' (a number with an optional k, m or g, up to 1024g)",
			     k->name, val);
			return FWD_EPARSE;
		}
		if (k->max > 0 && *(uint64_t *)(void *)at > (uint64_t)k->max) {
			perr(p, p->line, "%s: '%s' is larger than %ld bytes", k->name, val, k->max);
			return FWD_EPARSE;
		}
		return FWD_OK;
	case CT_MODE: {
		/* octal permission bits, as chmod(1) takes them: 600, 0660 */
		char *end;
		unsigned long m = strtoul(val, &end, 8);
		if (*val < '0' || *val > '7' || *end != '\0' || m > (unsigned long)k->max) {
			perr(p, p->line, "%s: '%s' is not an octal mode such as 0600 or 0660", k->name, val);
			return FWD_EPARSE;
		}
		*iv = (int)m;
		return FWD_OK;
	}
	case CT_CLOUD: {
		enum cfg_cloud c;
		if (cfg_cloud_parse(val, &c) != FWD_OK) {
			perr(p, p->line,
			     "%s: unknown cloud '%s' (AzureCloud, AzureUSGovernment, AzureChinaCloud or none)", k->name,
			     val);
			return FWD_EPARSE;
		}
		*iv = (int)c;
		return FWD_OK;
	}
	case CT_LOGLEVEL: {
		char low[16];
		size_t i, len = strlen(val);
		enum log_level lvl;
		if (len >= sizeof(low)) {
			low[0] = '\0';
		} else {
			for (i = 0; i <= len; i++)
				low[i] = (char)tolower((unsigned char)val[i]);
		}
		if (log_level_parse(low, &lvl) != FWD_OK) {
			perr(p, p->line, "%s: unknown level '%s' (error, warning, info or debug)", k->name, val);
			return FWD_EPARSE;
		}
		return dup_str(p, sv, low);
	}
	case CT_STR:
		return dup_str(p, sv, val);
	case CT_NSID:
		/* the text as written, sent as its bytes: an operator reads it in dig +nsid */
		if (strlen(val) > (size_t)k->max) {
			perr(p, p->line, "%s: longer than %ld bytes", k->name, k->max);
			return FWD_EPARSE;
		}
		*nv = strlen(val);
		return dup_str(p, sv, val);
	case CT_LISTEN:
		/* the row's min is its default port (listen-tls: 853, listen-https: 443) */
		return add_addr(p, (struct cfg_addr **)(void *)at, nv, k->name, val,
				k->min > 0 ? (int)k->min : CFG_DEFAULT_PORT);
	case CT_CIDR:
		return add_cidr(p, (struct cfg_cidr **)(void *)at, nv, k->name, val);
	case CT_HTTP: {
		struct cfg_addr a;
		memset(&a, 0, sizeof(a));
		if (cfg_parse_addr(val, CFG_HTTP_DEFAULT_PORT, &a) != FWD_OK) {
			perr(p, p->line, "%s: bad address '%s' (want ADDR or ADDR@PORT, e.g. 127.0.0.1 or [::1]@9153)", k->name, val);
			return FWD_EPARSE;
		}
		return dup_str(p, sv, val);
	}
	case CT_SERVER:
		return set_server(p, base, k, val);
	case CT_GROUP: {
		char *g = NULL;
		if ((rc = group_norm(val, &g, &why)) != FWD_OK) {
			if (rc == FWD_ENOMEM)
				return perr_nomem(p);
			perr(p, p->line, "%s: bad group name '%s': %s", k->name, val, why);
			return FWD_EPARSE;
		}
		free(*sv);
		*sv = g;
		((struct cfg_forward *)base)->to_line = p->line; /* for "unknown upstream group" */
		return FWD_OK;
	}
	case CT_PRIMARY: {
		struct cfg_zone *z = base;
		struct cfg_primary pr;
		char pwhy[256];
		if ((rc = cfg_primary_parse(val, &pr, pwhy, sizeof(pwhy))) != FWD_OK) {
			if (rc == FWD_ENOMEM)
				return perr_nomem(p);
			perr(p, p->line, "%s: %s", k->name, pwhy);
			return FWD_EPARSE;
		}
		pr.line = p->line;
		if (cfg_primary_find(z->primaries, z->nprimaries, (const struct sockaddr *)&pr.ss) >= 0) {
			perr(p, p->line, "%s: duplicate address '%s'", k->name, val);
			free(pr.key);
			return FWD_EPARSE;
		}
		if (list_room((void **)&z->primaries, z->nprimaries, sizeof(*z->primaries)) != FWD_OK) {
			free(pr.key);
			return perr_nomem(p);
		}
		z->primaries[z->nprimaries++] = pr;
		return FWD_OK;
	}
	case CT_ZONEFILE: {
		struct cfg_zone *z = base;
		if (dup_str(p, &z->file, val) != FWD_OK)
			return FWD_ENOMEM;
		free(z->path);
		z->path = resolve_path(p->file, val);
		return z->path ? FWD_OK : perr_nomem(p);
	}
	case CT_TSIGALG: {
		char *alg = NULL;
		if ((rc = cfg_tsig_alg(val, &alg)) != FWD_OK) {
			if (rc == FWD_ENOMEM)
				return perr_nomem(p);
			perr(p, p->line, "%s: unknown TSIG algorithm '%s' (hmac-sha256, hmac-sha512, hmac-sha384 or hmac-sha1)",
			     k->name, val);
			return FWD_EPARSE;
		}
		free(*sv);
		*sv = alg;
		return FWD_OK;
	}
	case CT_KEYFILE: {
		/* read now: -t, start-up and reload all see a bad secret file */
		struct cfg_tsig_key *key = base;
		char msg[512], *path = resolve_path(p->file, val), *b64 = NULL;
		if (path == NULL)
			return perr_nomem(p);
		rc = cfg_tsig_read_secret(path, &b64, msg, sizeof(msg));
		free(path);
		if (rc != FWD_OK) {
			if (rc == FWD_ENOMEM)
				return perr_nomem(p);
			perr(p, p->line, "key %s: %s: %s", key->name, k->name, msg);
			return FWD_EPARSE;
		}
		cfg_tsig_secret_free(key->secret_b64);
		key->secret_b64 = b64;
		return dup_str(p, sv, val);
	}
	case CT_XFRACL:
	case CT_NOTIFY: {
		char msg[512];
		rc = k->type == CT_XFRACL
			     ? cfg_xfr_acl_add((struct cfg_xfr_acl **)(void *)at, nv, k->name, val, p->line, msg, sizeof(msg))
			     : cfg_xfr_notify_add((struct cfg_notify **)(void *)at, nv, k->name, val, p->line, msg,
						  sizeof(msg));
		if (rc == FWD_ENOMEM)
			return perr_nomem(p);
		if (rc != FWD_OK)
			perr(p, p->line, "%s", msg);
		return rc;
	}
	case CT_SECRET:
		/* never echo the value: it is the secret */
		perr(p, p->line, "%s: a secret is never accepted in the configuration text; use secret-file: PATH",
		     k->name);
		return FWD_EPARSE;
	default:
		/* the arm: types are arm_config.c's */
		perr(p, p->line, "%s: not a key of the %s: clause", k->name, cfg_clause_name(p->clause));
		return FWD_EINVAL;
	}
}

/* One key of the open clause (or a default, while p->defaults is set). */
static enum fwd_err set_key(struct parser *p, const struct cfg_key *k, const char *val)
{
	int *seen = k->clause == CFG_CL_SERVER ? p->seen_server : p->seen;
	size_t idx = cfg_schema_index(k);

	if (!p->defaults) {
		if (!(k->flags & CK_MULTI) && seen[idx]) {
			perr(p, p->line, "duplicate key '%s' (first at line %d)", k->name, seen[idx]);
			return FWD_EPARSE;
		}
		if (!seen[idx])
			seen[idx] = p->line;
	}
	return set_value(p, k, p->base, val);
}

static enum fwd_err set_default(void *ctx, const struct cfg_key *k, const char *val)
{
	return set_key(ctx, k, val);
}

/* The defaults of clause c into base (a new struct cfg, or a new element). */
static enum fwd_err apply_defaults(struct parser *p, enum cfg_clause c, void *base)
{
	void *saved = p->base;
	enum fwd_err rc;

	p->defaults = 1;
	p->base = base;
	rc = cfg_schema_defaults(c, base, set_default, p);
	p->defaults = 0;
	p->base = saved;
	return rc;
}

static enum fwd_err arm_set(struct parser *p, const char *key, const char *val)
{
	char msg[256];
	enum fwd_err rc;

	msg[0] = '\0';
	p->cfg->arm->cur_line = p->line;
	if ((rc = arm_cfg_set(p->cfg->arm, key, val, msg, sizeof(msg))) != FWD_OK) {
		perr(p, p->line, "%s", msg[0] ? msg : "bad arm: key");
		return rc == FWD_ENOMEM ? FWD_ENOMEM : FWD_EPARSE;
	}
	return FWD_OK;
}

/* ------------------------------------------------------------ clauses */

/* What opening "upstream: NAME", "forward: SUFFIX" or "zone: NAME" takes. */
struct named_clause {
	const char *needs;          /* what the clause line names */
	const char *bad;            /* ... when it is malformed */
	const char *dup;            /* "duplicate ..." with the normalised name (%s) */
	enum fwd_err (*norm)(const char *in, char **out, const char **why);
	size_t size;                /* one element */
	size_t off_arr, off_n;      /* its array and count in struct cfg */
	size_t off_name, off_line;  /* in the element */
};

static const struct named_clause named_clauses[CFG_NCLAUSES] = {
	[CFG_CL_UPSTREAM] = {"group name", "bad group name", "duplicate upstream group '%s'", group_norm,
			     sizeof(struct cfg_upstream), offsetof(struct cfg, upstreams),
			     offsetof(struct cfg, nupstreams), offsetof(struct cfg_upstream, name),
			     offsetof(struct cfg_upstream, line)},
	[CFG_CL_FORWARD] = {"domain suffix", "bad suffix", "duplicate forward: %s", name_norm,
			    sizeof(struct cfg_forward), offsetof(struct cfg, forwards), offsetof(struct cfg, nforwards),
			    offsetof(struct cfg_forward, suffix), offsetof(struct cfg_forward, line)},
	[CFG_CL_ZONE] = {"zone name", "bad name", "duplicate zone: %s", name_norm, sizeof(struct cfg_zone),
			 offsetof(struct cfg, zones), offsetof(struct cfg, nzones), offsetof(struct cfg_zone, name),
			 offsetof(struct cfg_zone, line)},
	[CFG_CL_KEY] = {"key name", "bad key name", "duplicate key: %s", name_norm, sizeof(struct cfg_tsig_key),
			offsetof(struct cfg, keys), offsetof(struct cfg, nkeys), offsetof(struct cfg_tsig_key, name),
			offsetof(struct cfg_tsig_key, line)},
};

#define ELEM(arr, nc, i) ((char *)(arr) + (i) * (nc)->size)
#define ELEM_NAME(e, nc) (*(char **)(void *)((e) + (nc)->off_name))
#define ELEM_LINE(e, nc) (*(int *)(void *)((e) + (nc)->off_line))

/*
 * A new element of a named clause (name already normalised, its ownership
 * passes here), with the clause's defaults.  A duplicate name is an error
 * when line is not 0.  *out gets the element.
 */
static enum fwd_err named_add(struct parser *p, enum cfg_clause c, char *name, int line, void **out)
{
	const struct named_clause *nc = &named_clauses[c];
	void **arr = (void **)(void *)((char *)p->cfg + nc->off_arr);
	size_t *n = (size_t *)(void *)((char *)p->cfg + nc->off_n), i;
	char *e;
	enum fwd_err rc;

	for (i = 0; i < *n; i++) {
		e = ELEM(*arr, nc, i);
		if (strcmp(ELEM_NAME(e, nc), name) == 0) {
			char msg[400];
			snprintf(msg, sizeof(msg), nc->dup, name);
			perr(p, line, "%s (first at line %d)", msg, ELEM_LINE(e, nc));
			free(name);
			return FWD_EPARSE;
		}
	}
	if (list_room(arr, *n, nc->size) != FWD_OK) {
		free(name);
		return perr_nomem(p);
	}
	e = ELEM(*arr, nc, *n);
	ELEM_NAME(e, nc) = name;
	ELEM_LINE(e, nc) = line;
	(*n)++;
	if ((rc = apply_defaults(p, c, e)) != FWD_OK)
		return rc;
	*out = e;
	return FWD_OK;
}

/* Open clause c at the current line; val is what the clause line names. */
static enum fwd_err clause_open(struct parser *p, enum cfg_clause c, const char *val)
{
	const struct named_clause *nc = &named_clauses[c];
	const char *why = NULL;
	char *name = NULL;
	void *e = NULL;
	enum fwd_err rc;

	switch (c) {
	case CFG_CL_SERVER:
		p->base = p->cfg;
		p->elem_name = NULL;
		break;
	case CFG_CL_ARM:
		if (*val != '\0') {
			perr(p, p->line, "arm: takes no value (its keys go on the following lines)");
			return FWD_EPARSE;
		}
		if (p->cfg->arm != NULL) {
			perr(p, p->line, "duplicate arm: clause (first at line %d)", p->arm_line);
			return FWD_EPARSE;
		}
		p->cfg->arm = arm_cfg_new();
		if (p->cfg->arm == NULL)
			return perr_nomem(p);
		p->arm_line = p->line;
		p->base = p->cfg->arm;
		p->elem_name = NULL;
		break;
	default:
		if (*val == '\0') {
			perr(p, p->line, "%s: needs a %s", cfg_clause_name(c), nc->needs);
			return FWD_EPARSE;
		}
		if ((rc = nc->norm(val, &name, &why)) != FWD_OK) {
			if (rc == FWD_ENOMEM)
				return perr_nomem(p);
			perr(p, p->line, "%s: %s '%s': %s", cfg_clause_name(c), nc->bad, val, why);
			return FWD_EPARSE;
		}
		if ((rc = named_add(p, c, name, p->line, &e)) != FWD_OK)
			return rc;
		p->base = e;
		p->elem_name = ELEM_NAME((char *)e, nc);
		break;
	}
	memset(p->seen, 0, sizeof(p->seen));
	p->open = 1;
	p->clause = c;
	p->clause_line = p->line;
	return FWD_OK;
}

/* Close the open clause: a clause that needs a key must have had it. */
static enum fwd_err clause_finish(struct parser *p)
{
	char msg[256];

	if (!p->open)
		return FWD_OK;
	p->open = 0;
	if (p->clause == CFG_CL_ARM) {
		msg[0] = '\0';
		if (arm_cfg_finish(p->cfg->arm, msg, sizeof(msg)) != FWD_OK) {
			/* arm_config.c's messages already name the clause. */
			perr(p, p->clause_line, "%s", msg[0] ? msg : "arm: incomplete clause");
			return FWD_EPARSE;
		}
		return FWD_OK;
	}
	if (p->clause == CFG_CL_ZONE && p->cfg->nzones) {
		/* file: or primary: (cfg_secondary.h) */
		int line = p->clause_line;
		msg[0] = '\0';
		if (cfg_secondary_check_zone(&p->cfg->zones[p->cfg->nzones - 1], &line, msg, sizeof(msg)) != FWD_OK) {
			perr(p, line, "%s", msg);
			return FWD_EPARSE;
		}
	}
	for (size_t i = 0; i < cfg_schema_len; i++) {
		const struct cfg_key *k = &cfg_schema[i];
		if (k->clause == p->clause && (k->flags & CK_REQUIRED) && !p->seen[cfg_schema_index(k)]) {
			perr(p, p->clause_line, "%s: %s has no '%s:' line", cfg_clause_name(p->clause), p->elem_name,
			     k->name);
			return FWD_EPARSE;
		}
	}
	return FWD_OK;
}

/*
 * A line naming a clause opens it.  "server:" with no value is the server
 * clause; "server: ADDR" is a key of upstream:.  Returns 1 when the line was
 * a clause line (opened, or an error in *rc), 0 when it is an ordinary key.
 */
static int try_clause(struct parser *p, const char *key, const char *val, enum fwd_err *rc)
{
	enum cfg_clause c;

	if (strcmp(key, "server") == 0 && *val == '\0')
		c = CFG_CL_SERVER;
	else if (strcmp(key, "upstream") == 0)
		c = CFG_CL_UPSTREAM;
	else if (strcmp(key, "forward") == 0)
		c = CFG_CL_FORWARD;
	else if (strcmp(key, "zone") == 0)
		c = CFG_CL_ZONE;
	else if (strcmp(key, "arm") == 0)
		c = CFG_CL_ARM;
	else if (strcmp(key, "key") == 0)
		c = CFG_CL_KEY;
	else
		return 0;
	/*
	 * "key: NAME" also names a key inside a clause that has a key: row (a
	 * secondary zone's TSIG key): an indented line there is that clause's
	 * key, a line at the start of the line opens a key: clause.
	 */
	if (c == CFG_CL_KEY && p->indented && p->open && p->clause != CFG_CL_ARM &&
	    cfg_schema_find(p->clause, key) != NULL)
		return 0;
	if ((*rc = clause_finish(p)) == FWD_OK)
		*rc = clause_open(p, c, val);
	return 1;
}

static enum fwd_err handle_line(struct parser *p, const char *key, const char *val)
{
	const struct cfg_key *k;
	enum cfg_clause home;
	enum fwd_err rc = FWD_OK;

	if (try_clause(p, key, val, &rc))
		return rc;
	/* Inside arm: every key is arm_config.c's business, even an empty one. */
	if (p->open && p->clause == CFG_CL_ARM)
		return arm_set(p, key, val);
	if (*val == '\0' && cfg_schema_home(key, &home) != FWD_OK && strcmp(key, "include") != 0) {
		perr(p, p->line, "unknown clause '%s:' (clauses are server:, upstream:, forward:, zone:, arm:, key:)",
		     key);
		return FWD_EPARSE;
	}
	if (!p->open) {
		perr(p, p->line, "'%s' outside of any clause (start one with server:)", key);
		return FWD_EPARSE;
	}
	k = cfg_schema_find(p->clause, key);
	if (k == NULL)
		return bad_key(p, key);
	if (*val == '\0') {
		perr(p, p->line, "key '%s' needs a value", key);
		return FWD_EPARSE;
	}
	return set_key(p, k, val);
}

/* ------------------------------------------------------------ whole file */

/* "azure" and "default" always exist, so that route.c never has to ask. */
static enum fwd_err ensure_group(struct parser *p, const char *name, size_t *idx)
{
	char *s;
	void *e;
	enum fwd_err rc;

	if (cfg_group_find(p->cfg, name, idx) == FWD_OK)
		return FWD_OK;
	s = strdup(name);
	if (s == NULL)
		return perr_nomem(p);
	if ((rc = named_add(p, CFG_CL_UPSTREAM, s, 0, &e)) != FWD_OK)
		return rc;
	*idx = p->cfg->nupstreams - 1;
	return FWD_OK;
}

/* A list key given no line takes its default (listen: 127.0.0.1 and ::1). */
static enum fwd_err default_lists(struct parser *p)
{
	for (size_t i = 0; i < cfg_schema_len; i++) {
		const struct cfg_key *k = &cfg_schema[i];
		char words[256], *w, *save = NULL;
		enum fwd_err rc;

		if (k->clause != CFG_CL_SERVER || !(k->flags & CK_MULTI) || k->def == NULL ||
		    *(size_t *)(void *)((char *)p->cfg + k->off_n) != 0)
			continue;
		snprintf(words, sizeof(words), "%s", k->def);
		p->line = 0;
		for (w = strtok_r(words, " ", &save); w; w = strtok_r(NULL, " ", &save))
			if ((rc = set_value(p, k, p->cfg, w)) != FWD_OK)
				return rc;
	}
	return FWD_OK;
}

/* The later of the lines of two server: keys (for a message about both). */
static int later_line(struct parser *p, const char *a, const char *b)
{
	int la = p->seen_server[cfg_schema_index(cfg_schema_find(CFG_CL_SERVER, a))];
	int lb = p->seen_server[cfg_schema_index(cfg_schema_find(CFG_CL_SERVER, b))];

	return la > lb ? la : lb;
}

static enum fwd_err finish_file(struct parser *p)
{
	struct cfg *cfg = p->cfg;
	size_t i;
	enum fwd_err rc;

	if ((rc = clause_finish(p)) != FWD_OK)
		return rc;
	if ((rc = default_lists(p)) != FWD_OK)
		return rc;
	{
		/* primary: ... key NAME (cfg_secondary.h) */
		char msg[512];
		int line = 0;
		if (cfg_secondary_check_keys(cfg, &line, msg, sizeof(msg)) != FWD_OK) {
			perr(p, line, "%s", msg);
			return FWD_EPARSE;
		}
	}
	if ((rc = ensure_group(p, "azure", &cfg->group_azure)) != FWD_OK ||
	    (rc = ensure_group(p, "default", &cfg->group_default)) != FWD_OK)
		return rc;
	for (i = 0; i < cfg->nforwards; i++) {
		struct cfg_forward *f = &cfg->forwards[i];
		if (cfg_group_find(cfg, f->to, &f->group_index) != FWD_OK) {
			perr(p, f->to_line, "forward: %s: unknown upstream group '%s'", f->suffix, f->to);
			return FWD_EPARSE;
		}
		/* no fallback: of its own: none, or privatelink-fallback for a
		 * privatelink.* suffix */
		f->fallback_set = f->fallback_public >= 0;
		if (!f->fallback_set)
			f->fallback_public = strncmp(f->suffix, "privatelink.", 12) == 0 ? cfg->privatelink_fallback : 0;
	}
	resolve_caps(cfg);
	/* A whole query shorter than one attempt could never see a reply. */
	if (cfg->query_timeout_ms < cfg->upstream_timeout_ms) {
		perr(p, later_line(p, "query-timeout", "upstream-timeout"),
		     "query-timeout (%d ms) is shorter than upstream-timeout (%d ms)", cfg->query_timeout_ms,
		     cfg->upstream_timeout_ms);
		return FWD_EPARSE;
	}
	/* an encrypted listener cannot start without its certificate */
	if ((cfg->nlisten_tls || cfg->nlisten_https) && (!cfg->tls_cert || !cfg->tls_key)) {
		perr(p, cfg->nlisten_tls ? cfg->listen_tls[0].line : cfg->listen_https[0].line,
		     "%s needs tls-cert and tls-key", cfg->nlisten_tls ? "listen-tls" : "listen-https");
		return FWD_EPARSE;
	}
	if (cfg->tls_name) {
		uint8_t wn[WIRE_MAX_NAME];
		if (wire_name_from_text(cfg->tls_name, wn) <= 1) {
			perr(p, p->seen_server[cfg_schema_index(cfg_schema_find(CFG_CL_SERVER, "tls-name"))],
			     "tls-name: '%s' is not a domain name", cfg->tls_name);
			return FWD_EPARSE;
		}
	}
	if (cfg->cache_min_ttl > cfg->cache_max_ttl) {
		perr(p, later_line(p, "cache-min-ttl", "cache-max-ttl"),
		     "cache-min-ttl (%d) is larger than cache-max-ttl (%d)", cfg->cache_min_ttl, cfg->cache_max_ttl);
		return FWD_EPARSE;
	}
	/* every key an allow-transfer: or notify: line names exists */
	for (size_t zi = 0; zi < cfg->nzones; zi++) {
		const struct cfg_zone *z = &cfg->zones[zi];
		if (cfg_xfr_check_keys(cfg, z->allow_transfer, z->nallow_transfer, z->notify, z->nnotify, p->err,
				       p->errlen) != FWD_OK)
			return FWD_EPARSE;
	}
	if (cfg->arm != NULL && cfg_xfr_check_keys(cfg, cfg->arm->allow_transfer, cfg->arm->nallow_transfer,
						   cfg->arm->notify, cfg->arm->nnotify, p->err, p->errlen) != FWD_OK)
		return FWD_EPARSE;
	/* an upstream that is plinkfwd itself (cfg_loop.h) */
	char none[1];
	if (cfg_check_self_forward(cfg, p->err && p->errlen ? p->err : none, p->err && p->errlen ? p->errlen : 1) !=
	    FWD_OK)
		return FWD_EPARSE;
	return FWD_OK;
}

enum fwd_err cfg_load(const char *path, struct cfg **out, char *err, size_t errlen)
{
	struct parser p;
	FILE *fp;
	char *buf = NULL, *key, *val;
	size_t bufcap = 0;
	ssize_t len;
	const char *why;
	enum fwd_err rc = FWD_OK;

	if (err != NULL && errlen > 0)
		err[0] = '\0';
	if (path == NULL || out == NULL)
		return FWD_EINVAL;
	memset(&p, 0, sizeof(p));
	p.file = path;
	p.err = err;
	p.errlen = errlen;
	fp = fopen(path, "r");
	if (fp == NULL) {
		if (err != NULL && errlen > 0)
			snprintf(err, errlen, "%s: cannot open: %s", path, strerror(errno));
		return FWD_EIO;
	}
	p.cfg = calloc(1, sizeof(*p.cfg));
	if (p.cfg == NULL || (p.cfg->file = strdup(path)) == NULL) {
		fclose(fp);
		cfg_free(p.cfg);
		return perr_nomem(&p);
	}
	rc = apply_defaults(&p, CFG_CL_SERVER, p.cfg);
	while (rc == FWD_OK && (len = getline(&buf, &bufcap, fp)) >= 0) {
		p.line++;
		if ((size_t)len != strlen(buf)) {
			perr(&p, p.line, "NUL byte in line");
			rc = FWD_EPARSE;
			break;
		}
		why = NULL;
		/* A UTF-8 byte order mark, as some editors write, is not part of the first key. */
		rc = cfg_line_split(p.line == 1 && strncmp(buf, "\xef\xbb\xbf", 3) == 0 ? buf + 3 : buf, &key, &val, &why);
		if (rc != FWD_OK) {
			perr(&p, p.line, "%s", why);
			break;
		}
		if (key != NULL) {
			p.indented = isspace((unsigned char)buf[0]);
			rc = handle_line(&p, key, val);
		}
	}
	if (rc == FWD_OK && (ferror(fp) || !feof(fp))) {
		perr(&p, p.line, "read error: %s", strerror(errno));
		rc = FWD_EIO;
	}
	if (rc == FWD_OK)
		rc = finish_file(&p);
	free(buf);
	fclose(fp);
	if (rc != FWD_OK) {
		cfg_free(p.cfg);
		return rc;
	}
	*out = p.cfg;
	return FWD_OK;
}

enum fwd_err cfg_check_files(const struct cfg *cfg, char *err, size_t errlen)
{
	size_t i;
	FILE *fp;

	for (i = 0; i < cfg->nzones; i++) {
		if (!cfg->zones[i].path)
			continue; /* a secondary zone (primary:) */
		fp = fopen(cfg->zones[i].path, "r");
		if (fp == NULL) {
			if (err != NULL && errlen > 0)
				snprintf(err, errlen, "%s:%d: zone %s: cannot read %s: %s", cfg->file,
					 cfg->zones[i].line, cfg->zones[i].name, cfg->zones[i].path, strerror(errno));
			return FWD_EIO;
		}
		fclose(fp);
	}
	return FWD_OK;
}

void cfg_free(struct cfg *cfg)
{
	size_t i;

	if (cfg == NULL)
		return;
	free(cfg->file);
	cfg_schema_free(CFG_CL_SERVER, cfg);
	for (i = 0; i < cfg->nupstreams; i++) {
		free(cfg->upstreams[i].name);
		free(cfg->upstreams[i].caps);
		cfg_schema_free(CFG_CL_UPSTREAM, &cfg->upstreams[i]);
	}
	free(cfg->upstreams);
	for (i = 0; i < cfg->nforwards; i++) {
		free(cfg->forwards[i].suffix);
		cfg_schema_free(CFG_CL_FORWARD, &cfg->forwards[i]);
	}
	free(cfg->forwards);
	for (i = 0; i < cfg->nzones; i++) {
		free(cfg->zones[i].name);
		free(cfg->zones[i].path);
		cfg_schema_free(CFG_CL_ZONE, &cfg->zones[i]);
	}
	free(cfg->zones);
	for (i = 0; i < cfg->nkeys; i++) {
		cfg_schema_free(CFG_CL_KEY, &cfg->keys[i]);
		cfg_tsig_key_free(&cfg->keys[i]);
	}
	free(cfg->keys);
	if (cfg->arm != NULL)
		arm_cfg_free(cfg->arm);
	free(cfg);
}

enum fwd_err cfg_group_find(const struct cfg *cfg, const char *name, size_t *idx)
{
	size_t i;

	for (i = 0; i < cfg->nupstreams; i++) {
		if (strcasecmp(cfg->upstreams[i].name, name) == 0) {
			*idx = i;
			return FWD_OK;
		}
	}
	return FWD_ENOENT;
}
