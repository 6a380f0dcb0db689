/*
 * config.c -- the configuration file: one pass over its lines into a fresh struct cfg.
 *
 * The file is small and read rarely (start-up, reload, -t), so the parser is a
 * plain line reader driven by a table of server: keys; everything is validated
 * here so that a struct cfg handed out is always usable as it is.
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
#include "common.h"
#include "config.h"
#include "log.h"

#define CFG_DEFAULT_PORT 53
#define CFG_HTTP_DEFAULT_PORT 9153
#define CFG_NAME_MAX 253  /* presentation length without the final dot */
#define CFG_LABEL_MAX 63
#define CFG_SIZE_MAX ((uint64_t)1 << 40)

enum clause { CL_NONE = 0, CL_SERVER, CL_UPSTREAM, CL_FORWARD, CL_ZONE, CL_ARM };

static const char *const clause_names[] = { "(none)", "server", "upstream", "forward", "zone", "arm" };

enum skey_type {
	SK_LISTEN, SK_ALLOW, SK_DENY, SK_INT, SK_CLOUD, SK_STR, SK_HTTP, SK_LOGLEVEL, SK_BOOL, SK_SIZE, SK_NSID,
	SK_MODE, SK_FALLBACK
};

/* One row per server: key, in the style of Knot's schema table. */
struct server_key {
	const char *name;
	enum skey_type type;
	size_t off;   /* offset of the int / char * / uint64_t field in struct cfg */
	long min, max;
};

#define OFF(f) offsetof(struct cfg, f)
static const struct server_key server_keys[] = {
	{ "listen", SK_LISTEN, 0, 0, 0 },
	{ "allow", SK_ALLOW, 0, 0, 0 },
	{ "deny", SK_DENY, 0, 0, 0 },
	{ "workers", SK_INT, OFF(workers), 1, 64 },
	{ "cloud", SK_CLOUD, 0, 0, 0 },
	{ "state-dir", SK_STR, OFF(state_dir), 0, 0 },
	{ "control-socket", SK_STR, OFF(control_socket), 0, 0 },
	{ "control-socket-mode", SK_MODE, OFF(control_socket_mode), 0, 0777 },
	{ "query-log", SK_STR, OFF(query_log), 0, 0 },
	{ "http-listen", SK_HTTP, OFF(http_listen), 0, 0 },
	{ "pidfile", SK_STR, OFF(pidfile), 0, 0 },
	{ "user", SK_STR, OFF(user), 0, 0 },
	{ "log-level", SK_LOGLEVEL, 0, 0, 0 },
	{ "syslog", SK_BOOL, OFF(use_syslog), 0, 0 },
	{ "upstream-timeout", SK_INT, OFF(upstream_timeout_ms), 10, 60000 },
	{ "query-timeout", SK_INT, OFF(query_timeout_ms), 10, 300000 },
	{ "max-pending", SK_INT, OFF(max_pending), 16, 1048576 },
	{ "tcp-idle-timeout", SK_INT, OFF(tcp_idle_timeout_ms), 100, 3600000 },
	{ "tcp-max-connections", SK_INT, OFF(tcp_max_conns), 1, 65536 },
	{ "tcp-max-queries-per-connection", SK_INT, OFF(max_tcp_per_conn), 1, 1024 },
	{ "upstream-max-qps", SK_INT, OFF(upstream_max_qps), 0, 1000000 },
	{ "upstream-max-outstanding", SK_INT, OFF(upstream_max_outstanding), 0, 1048576 },
	{ "upstream-down-after", SK_INT, OFF(upstream_down_after), 1, 1000 },
	{ "upstream-probe-interval", SK_INT, OFF(upstream_probe_interval_ms), 100, 3600000 },
	{ "upstream-socket-reuse", SK_INT, OFF(upstream_socket_reuse), 1, 65536 },
	{ "cache-size", SK_SIZE, OFF(cache_size), 0, 0 },
	{ "cache-min-ttl", SK_INT, OFF(cache_min_ttl), 0, 86400 },
	{ "cache-max-ttl", SK_INT, OFF(cache_max_ttl), 0, 2147483647 },
	{ "cache-negative-max-ttl", SK_INT, OFF(cache_neg_max_ttl), 0, 604800 },
	{ "serve-stale", SK_INT, OFF(serve_stale), 0, 2592000 },
	{ "privatelink-fallback", SK_FALLBACK, OFF(privatelink_fallback), 0, 0 },
	{ "nsid", SK_NSID, OFF(nsid), 0, CFG_NSID_MAX },
	{ "cookies-required-udp", SK_BOOL, OFF(cookies_required_udp), 0, 0 },
};
#undef OFF

#define NSERVER_KEYS FWD_ARRAY_LEN(server_keys)

/* Keys of the other clauses, so that a key in the wrong clause gets a useful message. */
struct other_key {
	const char *name;
	enum clause clause;
};
static const struct other_key other_keys[] = {
	{ "server", CL_UPSTREAM },
	{ "to", CL_FORWARD },
	{ "file", CL_ZONE },
	{ "fallback", CL_ZONE },
};

struct parser {
	struct cfg *cfg;
	const char *file;
	int line;
	char *err;
	size_t errlen;
	/* the open clause */
	enum clause clause;
	int clause_line;
	size_t cur;                       /* index in upstreams / forwards / zones */
	int zone_fallback_line;
	/* first line of each single-valued server: key, 0 when unset */
	int seen[NSERVER_KEYS];
	int arm_line;
	size_t cap_listen, cap_allow, cap_deny, cap_up, cap_fwd, cap_zone;
	size_t *cap_servers;              /* per upstream, parallel to cfg->upstreams */
	int *forward_to_line;             /* line of each forward's to:, parallel to cfg->forwards */
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

static int perr_nomem(struct parser *p)
{
	perr(p, p->line, "out of memory");
	return FWD_ENOMEM;
}

/* Make room for one more element; arrays grow by doubling. */
static int grow(void **arr, size_t *cap, size_t n, size_t elsize)
{
	size_t ncap;
	void *na;

	if (n < *cap)
		return 0;
	ncap = *cap ? *cap * 2 : 4;
	na = realloc(*arr, ncap * elsize);
	if (na == NULL)
		return -1;
	memset((char *)na + *cap * elsize, 0, (ncap - *cap) * elsize);
	*arr = na;
	*cap = ncap;
	return 0;
}

/* ------------------------------------------------------------ value parsers */

/* Strict unsigned decimal: digits only, no sign, no blanks, no overflow. */
static int parse_ulong(const char *s, unsigned long max, unsigned long *out)
{
	unsigned long v = 0;

	if (s == NULL || *s == '\0')
		return -1;
	for (; *s; s++) {
		if (*s < '0' || *s > '9')
			return -1;
		if (v > (max - (unsigned long)(*s - '0')) / 10)
			return -1;
		v = v * 10 + (unsigned long)(*s - '0');
	}
	*out = v;
	return 0;
}

enum fwd_err cfg_parse_size(const char *s, uint64_t *out)
{
	char num[32];
	size_t n = 0;
	unsigned long v;
	uint64_t mult = 1;
	const char *suf;

	if (s == NULL)
		return FWD_EPARSE;
	while (s[n] >= '0' && s[n] <= '9')
		n++;
	if (n == 0 || n >= sizeof(num))
		return FWD_EPARSE;
	memcpy(num, s, n);
	num[n] = '\0';
	suf = s + n;
	switch (tolower((unsigned char)*suf)) {
	case '\0':
		break;
	case 'k':
		mult = (uint64_t)1 << 10;
		suf++;
		break;
	case 'm':
		mult = (uint64_t)1 << 20;
		suf++;
		break;
	case 'g':
		mult = (uint64_t)1 << 30;
		suf++;
		break;
	default:
		return FWD_EPARSE;
	}
	/* "64mb" is what unbound users type; accept it, but nothing else after. */
	if (mult > 1 && (*suf == 'b' || *suf == 'B'))
		suf++;
	if (*suf != '\0')
		return FWD_EPARSE;
	if (parse_ulong(num, (unsigned long)(CFG_SIZE_MAX), &v) != 0)
		return FWD_EPARSE;
	if ((uint64_t)v > CFG_SIZE_MAX / mult)
		return FWD_EPARSE;
	*out = (uint64_t)v * mult;
	return FWD_OK;
}

/* inet_pton for IPv6, plus an optional "%scope" (interface name or index). */
static int parse_in6(const char *s, struct sockaddr_in6 *sin6)
{
	char buf[INET6_ADDRSTRLEN + IF_NAMESIZE + 2];
	char *pct;
	unsigned long idx;

	if (strlen(s) >= sizeof(buf))
		return -1;
	strcpy(buf, s);
	pct = strchr(buf, '%');
	if (pct != NULL)
		*pct++ = '\0';
	if (inet_pton(AF_INET6, buf, &sin6->sin6_addr) != 1)
		return -1;
	if (pct != NULL) {
		if (*pct == '\0')
			return -1;
		if (parse_ulong(pct, 0xffffffffUL, &idx) == 0)
			sin6->sin6_scope_id = (uint32_t)idx;
		else if ((sin6->sin6_scope_id = if_nametoindex(pct)) == 0)
			return -1;
	}
	return 0;
}

enum fwd_err cfg_parse_addr(const char *s, int default_port, struct cfg_addr *out)
{
	char host[INET6_ADDRSTRLEN + IF_NAMESIZE + 4];
	const char *at, *h = s;
	size_t hlen;
	unsigned long port = (unsigned long)default_port;
	struct cfg_addr a;

	if (s == NULL || out == NULL || default_port < 0 || default_port > 65535)
		return FWD_EPARSE;
	at = strchr(s, '@');
	hlen = at ? (size_t)(at - s) : strlen(s);
	if (at != NULL && (parse_ulong(at + 1, 65535, &port) != 0 || port == 0))
		return FWD_EPARSE;
	if (hlen >= 2 && s[0] == '[') {
		if (s[hlen - 1] != ']')
			return FWD_EPARSE;
		h = s + 1;
		hlen -= 2;
	} else if (memchr(s, ']', hlen) != NULL) {
		return FWD_EPARSE;
	}
	if (hlen == 0 || hlen >= sizeof(host))
		return FWD_EPARSE;
	memcpy(host, h, hlen);
	host[hlen] = '\0';

	memset(&a, 0, sizeof(a));
	if (h == s && inet_pton(AF_INET, host, &((struct sockaddr_in *)&a.ss)->sin_addr) == 1) {
		struct sockaddr_in *sin = (struct sockaddr_in *)&a.ss;
		sin->sin_family = AF_INET;
		sin->sin_port = htons((uint16_t)port);
		a.len = sizeof(*sin);
	} else {
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&a.ss;
		if (parse_in6(host, sin6) != 0)
			return FWD_EPARSE;
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons((uint16_t)port);
		a.len = sizeof(*sin6);
	}
	a.line = out->line;
	*out = a;
	return FWD_OK;
}

enum fwd_err cfg_parse_cidr(const char *s, struct cfg_cidr *out)
{
	char host[INET6_ADDRSTRLEN];
	const char *slash;
	size_t hlen;
	unsigned long prefix;
	struct cfg_cidr c;
	int maxp, i;

	if (s == NULL || out == NULL)
		return FWD_EPARSE;
	slash = strchr(s, '/');
	hlen = slash ? (size_t)(slash - s) : strlen(s);
	if (hlen == 0 || hlen >= sizeof(host))
		return FWD_EPARSE;
	memcpy(host, s, hlen);
	host[hlen] = '\0';

	memset(&c, 0, sizeof(c));
	if (inet_pton(AF_INET, host, c.addr) == 1) {
		c.family = AF_INET;
		maxp = 32;
	} else if (inet_pton(AF_INET6, host, c.addr) == 1) {
		c.family = AF_INET6;
		maxp = 128;
	} else {
		return FWD_EPARSE;
	}
	if (slash == NULL)
		prefix = (unsigned long)maxp;
	else if (parse_ulong(slash + 1, (unsigned long)maxp, &prefix) != 0)
		return FWD_EPARSE;
	c.prefix = (int)prefix;
	/* Host bits are cleared, as unbound's access-control does: 10.1.2.3/8 means 10/8. */
	for (i = 0; i < maxp / 8; i++) {
		int bits = c.prefix - i * 8;
		if (bits <= 0)
			c.addr[i] = 0;
		else if (bits < 8)
			c.addr[i] &= (uint8_t)(0xff << (8 - bits));
	}
	c.line = out->line;
	*out = c;
	return FWD_OK;
}

/*
 * Lower-case a domain name and give it a trailing dot.  The root is refused:
 * a rule for "." would be the default group under another name.
 */
static int name_norm(const char *in, char **out, const char **why)
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
	return 0;
}

/* Group names are identifiers, compared case-insensitively, stored lower-case. */
static int group_norm(const char *in, char **out, const char **why)
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
	return 0;
}

/* ------------------------------------------------------------ line splitting */

/*
 * Split one line in place into key and value.  Returns 0 for a blank or
 * comment line, 1 for "key: value", -1 with *why set for a malformed line.
 */
static int line_split(char *s, char **key, char **val, const char **why)
{
	char *k, *v, *w;

	while (isspace((unsigned char)*s))
		s++;
	if (*s == '\0' || *s == '#')
		return 0;
	k = s;
	while (*s && *s != ':' && *s != '#' && *s != '"' && !isspace((unsigned char)*s))
		s++;
	if (*s != ':' || s == k) {
		*why = "expected 'key: value'";
		return -1;
	}
	*s++ = '\0';
	while (isspace((unsigned char)*s))
		s++;
	if (*s == '"') {
		/* Quoted: \" and \\ are the only escapes; the value may hold '#' and blanks. */
		v = w = ++s;
		for (;;) {
			if (*s == '\0') {
				*why = "unterminated quoted value";
				return -1;
			}
			if (*s == '"')
				break;
			if (*s == '\\' && (s[1] == '"' || s[1] == '\\'))
				s++;
			*w++ = *s++;
		}
		s++;
		*w = '\0';
	} else {
		/*
		 * Unquoted: the rest of the line up to a comment, blanks inside
		 * kept (as unbound does), so that two-word values such as
		 * "zone-fallback: PATTERN public" need no quotes.
		 */
		v = s;
		while (*s && *s != '#' && *s != '"')
			s++;
		if (*s == '"') {
			*why = "stray '\"' in value (quote the whole value)";
			return -1;
		}
		w = s;
		while (w > v && isspace((unsigned char)w[-1]))
			w--;
		*w = '\0';
		*key = k;
		*val = v;
		return 1;
	}
	while (isspace((unsigned char)*s))
		s++;
	if (*s != '\0' && *s != '#') {
		*why = "unexpected text after the quoted value";
		return -1;
	}
	*key = k;
	*val = v;
	return 1;
}

/* ------------------------------------------------------------ clauses */

static int dup_str(struct parser *p, char **dst, const char *val)
{
	char *s = strdup(val);
	if (s == NULL)
		return perr_nomem(p);
	free(*dst);
	*dst = s;
	return 0;
}

/* Close the open clause: a clause that needs a key must have had it. */
static int clause_finish(struct parser *p)
{
	struct cfg *cfg = p->cfg;
	char msg[256];

	switch (p->clause) {
	case CL_FORWARD:
		if (cfg->forwards[p->cur].to == NULL) {
			perr(p, p->clause_line, "forward: %s has no 'to:' line", cfg->forwards[p->cur].suffix);
			return FWD_EPARSE;
		}
		break;
	case CL_ZONE:
		if (cfg->zones[p->cur].file == NULL) {
			perr(p, p->clause_line, "zone: %s has no 'file:' line", cfg->zones[p->cur].name);
			return FWD_EPARSE;
		}
		break;
	case CL_ARM:
		msg[0] = '\0';
		if (arm_cfg_finish(cfg->arm, msg, sizeof(msg)) != 0) {
			/* arm_config.c's messages already name the clause. */
			perr(p, p->clause_line, "%s", msg[0] ? msg : "arm: incomplete clause");
			return FWD_EPARSE;
		}
		break;
	default:
		break;
	}
	p->clause = CL_NONE;
	return 0;
}

static int start_upstream(struct parser *p, const char *val)
{
	struct cfg *cfg = p->cfg;
	const char *why = NULL;
	char *name = NULL;
	size_t i;
	int rc;

	if ((rc = group_norm(val, &name, &why)) != 0) {
		if (rc == FWD_ENOMEM)
			return perr_nomem(p);
		perr(p, p->line, "upstream: bad group name '%s': %s", val, why);
		return FWD_EPARSE;
	}
	for (i = 0; i < cfg->nupstreams; i++) {
		if (strcmp(cfg->upstreams[i].name, name) == 0) {
			perr(p, p->line, "duplicate upstream group '%s' (first at line %d)", name,
			     cfg->upstreams[i].line);
			free(name);
			return FWD_EPARSE;
		}
	}
	if (grow((void **)&cfg->upstreams, &p->cap_up, cfg->nupstreams, sizeof(*cfg->upstreams)) != 0) {
		free(name);
		return perr_nomem(p);
	}
	/* cap_servers runs parallel to upstreams: keep it as long. */
	{
		size_t *ncs = realloc(p->cap_servers, p->cap_up * sizeof(size_t));
		if (ncs == NULL) {
			free(name);
			return perr_nomem(p);
		}
		p->cap_servers = ncs;
		p->cap_servers[cfg->nupstreams] = 0;
	}
	cfg->upstreams[cfg->nupstreams].name = name;
	cfg->upstreams[cfg->nupstreams].servers = NULL;
	cfg->upstreams[cfg->nupstreams].nservers = 0;
	cfg->upstreams[cfg->nupstreams].line = p->line;
	p->cur = cfg->nupstreams++;
	return 0;
}

static int start_forward(struct parser *p, const char *val)
{
	struct cfg *cfg = p->cfg;
	const char *why = NULL;
	char *name = NULL;
	size_t i;
	int rc;

	if ((rc = name_norm(val, &name, &why)) != 0) {
		if (rc == FWD_ENOMEM)
			return perr_nomem(p);
		perr(p, p->line, "forward: bad suffix '%s': %s", val, why);
		return FWD_EPARSE;
	}
	for (i = 0; i < cfg->nforwards; i++) {
		if (strcmp(cfg->forwards[i].suffix, name) == 0) {
			perr(p, p->line, "duplicate forward: %s (first at line %d)", name, cfg->forwards[i].line);
			free(name);
			return FWD_EPARSE;
		}
	}
	if (grow((void **)&cfg->forwards, &p->cap_fwd, cfg->nforwards, sizeof(*cfg->forwards)) != 0) {
		free(name);
		return perr_nomem(p);
	}
	{
		int *nl = realloc(p->forward_to_line, p->cap_fwd * sizeof(int));
		if (nl == NULL) {
			free(name);
			return perr_nomem(p);
		}
		p->forward_to_line = nl;
		p->forward_to_line[cfg->nforwards] = 0;
	}
	cfg->forwards[cfg->nforwards].suffix = name;
	cfg->forwards[cfg->nforwards].to = NULL;
	cfg->forwards[cfg->nforwards].group_index = 0;
	cfg->forwards[cfg->nforwards].line = p->line;
	p->cur = cfg->nforwards++;
	return 0;
}

static int start_zone(struct parser *p, const char *val)
{
	struct cfg *cfg = p->cfg;
	const char *why = NULL;
	char *name = NULL;
	size_t i;
	int rc;

	if ((rc = name_norm(val, &name, &why)) != 0) {
		if (rc == FWD_ENOMEM)
			return perr_nomem(p);
		perr(p, p->line, "zone: bad name '%s': %s", val, why);
		return FWD_EPARSE;
	}
	for (i = 0; i < cfg->nzones; i++) {
		if (strcmp(cfg->zones[i].name, name) == 0) {
			perr(p, p->line, "duplicate zone: %s (first at line %d)", name, cfg->zones[i].line);
			free(name);
			return FWD_EPARSE;
		}
	}
	if (grow((void **)&cfg->zones, &p->cap_zone, cfg->nzones, sizeof(*cfg->zones)) != 0) {
		free(name);
		return perr_nomem(p);
	}
	memset(&cfg->zones[cfg->nzones], 0, sizeof(cfg->zones[0]));
	cfg->zones[cfg->nzones].name = name;
	cfg->zones[cfg->nzones].line = p->line;
	p->cur = cfg->nzones++;
	p->zone_fallback_line = 0;
	return 0;
}

static int start_arm(struct parser *p)
{
	if (p->cfg->arm != NULL) {
		perr(p, p->line, "duplicate arm: clause (first at line %d)", p->arm_line);
		return FWD_EPARSE;
	}
	p->cfg->arm = arm_cfg_new();
	if (p->cfg->arm == NULL)
		return perr_nomem(p);
	p->arm_line = p->line;
	return 0;
}

/*
 * A line naming a clause opens it.  "server:" with no value is the server
 * clause; "server: ADDR" is a key of upstream:.  Returns 1 when the line was
 * a clause line (opened, or an error in rc), 0 when it is an ordinary key.
 */
static int try_clause(struct parser *p, const char *key, const char *val, int *rc)
{
	enum clause c;

	if (strcmp(key, "server") == 0 && *val == '\0')
		c = CL_SERVER;
	else if (strcmp(key, "upstream") == 0)
		c = CL_UPSTREAM;
	else if (strcmp(key, "forward") == 0)
		c = CL_FORWARD;
	else if (strcmp(key, "zone") == 0)
		c = CL_ZONE;
	else if (strcmp(key, "arm") == 0)
		c = CL_ARM;
	else
		return 0;

	if ((*rc = clause_finish(p)) != 0)
		return 1;
	if (c == CL_ARM && *val != '\0') {
		perr(p, p->line, "arm: takes no value (its keys go on the following lines)");
		*rc = FWD_EPARSE;
		return 1;
	}
	if ((c == CL_UPSTREAM || c == CL_FORWARD || c == CL_ZONE) && *val == '\0') {
		perr(p, p->line, "%s: needs a %s", key,
		     c == CL_UPSTREAM ? "group name" : c == CL_FORWARD ? "domain suffix" : "zone name");
		*rc = FWD_EPARSE;
		return 1;
	}
	switch (c) {
	case CL_UPSTREAM:
		*rc = start_upstream(p, val);
		break;
	case CL_FORWARD:
		*rc = start_forward(p, val);
		break;
	case CL_ZONE:
		*rc = start_zone(p, val);
		break;
	case CL_ARM:
		*rc = start_arm(p);
		break;
	default:
		*rc = 0;
		break;
	}
	if (*rc == 0) {
		p->clause = c;
		p->clause_line = p->line;
	}
	return 1;
}

static const struct server_key *server_key_find(const char *key, size_t *idx)
{
	size_t i;

	for (i = 0; i < NSERVER_KEYS; i++) {
		if (strcmp(server_keys[i].name, key) == 0) {
			*idx = i;
			return &server_keys[i];
		}
	}
	return NULL;
}

/* The clause a key belongs to, or CL_NONE when no clause knows it. */
static enum clause key_home(const char *key)
{
	size_t i;

	if (server_key_find(key, &i) != NULL)
		return CL_SERVER;
	for (i = 0; i < FWD_ARRAY_LEN(other_keys); i++)
		if (strcmp(other_keys[i].name, key) == 0)
			return other_keys[i].clause;
	return CL_NONE;
}

static int bad_key(struct parser *p, const char *key)
{
	enum clause home = key_home(key);

	if (strcmp(key, "include") == 0)
		perr(p, p->line, "include: is not supported; keep the configuration in one file");
	else if (home == CL_NONE)
		perr(p, p->line, "unknown key '%s' in %s: clause", key, clause_names[p->clause]);
	else if (strcmp(key, "server") == 0)
		perr(p, p->line, "'server: ADDR' belongs in an upstream: clause, not in %s:",
		     clause_names[p->clause]);
	else
		perr(p, p->line, "key '%s' belongs in a %s: clause, not in %s:", key, clause_names[home],
		     clause_names[p->clause]);
	return FWD_EPARSE;
}

static int add_addr(struct parser *p, struct cfg_addr **arr, size_t *n, size_t *cap, const char *val,
		    const char *what)
{
	struct cfg_addr a;
	size_t i;

	memset(&a, 0, sizeof(a));
	a.line = p->line;
	if (cfg_parse_addr(val, CFG_DEFAULT_PORT, &a) != 0) {
		perr(p, p->line, "%s: bad address '%s' (want ADDR or ADDR@PORT, e.g. 192.0.2.1@53 or [::1]@53)",
		     what, val);
		return FWD_EPARSE;
	}
	for (i = 0; i < *n; i++) {
		if ((*arr)[i].len == a.len && memcmp(&(*arr)[i].ss, &a.ss, a.len) == 0) {
			perr(p, p->line, "%s: duplicate address '%s' (first at line %d)", what, val, (*arr)[i].line);
			return FWD_EPARSE;
		}
	}
	if (grow((void **)arr, cap, *n, sizeof(**arr)) != 0)
		return perr_nomem(p);
	(*arr)[(*n)++] = a;
	return 0;
}

static int add_cidr(struct parser *p, struct cfg_cidr **arr, size_t *n, size_t *cap, const char *key,
		    const char *val)
{
	struct cfg_cidr c;

	memset(&c, 0, sizeof(c));
	c.line = p->line;
	if (cfg_parse_cidr(val, &c) != 0) {
		perr(p, p->line, "%s: bad address or CIDR '%s' (want e.g. 10.0.0.0/8 or fd00::/8)", key, val);
		return FWD_EPARSE;
	}
	if (grow((void **)arr, cap, *n, sizeof(**arr)) != 0)
		return perr_nomem(p);
	(*arr)[(*n)++] = c;
	return 0;
}

/* "public" 1, "none" 0, anything else -1 (zone:, forward: and privatelink-fallback:) */
static int fallback_parse(const char *val)
{
	if (strcasecmp(val, "public") == 0)
		return 1;
	if (strcasecmp(val, "none") == 0)
		return 0;
	return -1;
}

static int server_set(struct parser *p, const struct server_key *k, size_t idx, const char *val)
{
	struct cfg *cfg = p->cfg;
	char *base = (char *)cfg;
	unsigned long num;
	int v;

	if (k->type != SK_LISTEN && k->type != SK_ALLOW && k->type != SK_DENY) {
		if (p->seen[idx]) {
			perr(p, p->line, "duplicate key '%s' (first at line %d)", k->name, p->seen[idx]);
			return FWD_EPARSE;
		}
		p->seen[idx] = p->line;
	}
	switch (k->type) {
	case SK_LISTEN:
		return add_addr(p, &cfg->listen, &cfg->nlisten, &p->cap_listen, val, "listen");
	case SK_ALLOW:
		return add_cidr(p, &cfg->allow, &cfg->nallow, &p->cap_allow, "allow", val);
	case SK_DENY:
		return add_cidr(p, &cfg->deny, &cfg->ndeny, &p->cap_deny, "deny", val);
	case SK_INT:
		if (parse_ulong(val, (unsigned long)k->max, &num) != 0 || (long)num < k->min) {
			perr(p, p->line, "%s: '%s' is not a number in %ld..%ld", k->name, val, k->min, k->max);
			return FWD_EPARSE;
		}
		*(int *)(void *)(base + k->off) = (int)num;
		return 0;
	case SK_CLOUD:
		if (cfg_cloud_parse(val, &cfg->cloud) != FWD_OK) {
			perr(p, p->line,
			     "cloud: unknown cloud '%s' (AzureCloud, AzureUSGovernment, AzureChinaCloud or none)",
			     val);
			return FWD_EPARSE;
		}
		return 0;
	case SK_HTTP: {
		struct cfg_addr a;
		memset(&a, 0, sizeof(a));
		if (cfg_parse_addr(val, CFG_HTTP_DEFAULT_PORT, &a) != 0) {
			perr(p, p->line, "http-listen: bad address '%s' (want ADDR@PORT, e.g. 127.0.0.1@9153)", val);
			return FWD_EPARSE;
		}
		return dup_str(p, (char **)(void *)(base + k->off), val);
	}
	case SK_STR:
		return dup_str(p, (char **)(void *)(base + k->off), val);
	case SK_NSID:
		/* the text as written, sent as its bytes: an operator reads it in dig +nsid */
		if (strlen(val) > (size_t)k->max) {
			perr(p, p->line, "%s: longer than %ld bytes", k->name, k->max);
			return FWD_EPARSE;
		}
		cfg->nsid_len = strlen(val);
		return dup_str(p, &cfg->nsid, val);
	case SK_FALLBACK:
		if ((v = fallback_parse(val)) < 0) {
			perr(p, p->line, "%s: expected public or none, not '%s'", k->name, val);
			return FWD_EPARSE;
		}
		*(int *)(void *)(base + k->off) = v;
		return 0;
	case SK_MODE: {
		/* octal permission bits, as chmod(1) takes them: 600, 0660 */
		char *end;
		unsigned long m = strtoul(val, &end, 8);
		if (*val < '0' || *val > '7' || *end != '\0' || m > (unsigned long)k->max) {
			perr(p, p->line, "%s: '%s' is not an octal mode such as 0600 or 0660", k->name, val);
			return FWD_EPARSE;
		}
		*(int *)(void *)(base + k->off) = (int)m;
		return 0;
	}
	case SK_LOGLEVEL: {
		char low[16];
		size_t i, len = strlen(val);
		if (len >= sizeof(low)) {
			low[0] = '\0';
		} else {
			for (i = 0; i <= len; i++)
				low[i] = (char)tolower((unsigned char)val[i]);
		}
		enum log_level lvl;
		if (log_level_parse(low, &lvl) != FWD_OK) {
			perr(p, p->line, "log-level: unknown level '%s' (error, warning, info or debug)", val);
			return FWD_EPARSE;
		}
		return dup_str(p, &cfg->log_level, low);
	}
	case SK_BOOL:
		if (strcasecmp(val, "yes") == 0)
			v = 1;
		else if (strcasecmp(val, "no") == 0)
			v = 0;
		else {
			perr(p, p->line, "%s: expected yes or no, not '%s'", k->name, val);
			return FWD_EPARSE;
		}
		*(int *)(void *)(base + k->off) = v;
		return 0;
	case SK_SIZE:
		if (cfg_parse_size(val, (uint64_t *)(void *)(base + k->off)) != 0) {
			perr(p, p->line, "%s: bad size '%s' (a number with an optional k, m or g, up to 1024g)",
			     k->name, val);
			return FWD_EPARSE;
		}
		return 0;
	}
	return 0;
}

static int upstream_set(struct parser *p, const char *key, const char *val)
{
	struct cfg_upstream *u = &p->cfg->upstreams[p->cur];

	if (strcmp(key, "server") != 0)
		return bad_key(p, key);
	if (u->nservers >= CFG_MAX_GROUP_SERVERS) {
		perr(p, p->line, "upstream: %s: more than %d servers", u->name, CFG_MAX_GROUP_SERVERS);
		return FWD_EPARSE;
	}
	return add_addr(p, &u->servers, &u->nservers, &p->cap_servers[p->cur], val, "server");
}

static int forward_set(struct parser *p, const char *key, const char *val)
{
	struct cfg_forward *f = &p->cfg->forwards[p->cur];
	const char *why = NULL;
	char *g = NULL;
	int rc;

	if (strcmp(key, "fallback") == 0) {
		int v = fallback_parse(val);
		if (f->fallback_set) {
			perr(p, p->line, "duplicate key 'fallback' in forward: %s", f->suffix);
			return FWD_EPARSE;
		}
		if (v < 0) {
			perr(p, p->line, "fallback: expected public or none, not '%s'", val);
			return FWD_EPARSE;
		}
		f->fallback_public = v;
		f->fallback_set = 1;
		return 0;
	}
	if (strcmp(key, "to") != 0)
		return bad_key(p, key);
	if (f->to != NULL) {
		perr(p, p->line, "duplicate key 'to' (first at line %d)", p->forward_to_line[p->cur]);
		return FWD_EPARSE;
	}
	if ((rc = group_norm(val, &g, &why)) != 0) {
		if (rc == FWD_ENOMEM)
			return perr_nomem(p);
		perr(p, p->line, "to: bad group name '%s': %s", val, why);
		return FWD_EPARSE;
	}
	f->to = g;
	p->forward_to_line[p->cur] = p->line;
	return 0;
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

static int zone_set(struct parser *p, const char *key, const char *val)
{
	struct cfg_zone *z = &p->cfg->zones[p->cur];

	if (strcmp(key, "file") == 0) {
		if (z->file != NULL) {
			perr(p, p->line, "duplicate key 'file' in zone: %s", z->name);
			return FWD_EPARSE;
		}
		z->file = strdup(val);
		z->path = resolve_path(p->file, val);
		if (z->file == NULL || z->path == NULL)
			return perr_nomem(p);
		return 0;
	}
	if (strcmp(key, "fallback") == 0) {
		if (p->zone_fallback_line) {
			perr(p, p->line, "duplicate key 'fallback' (first at line %d)", p->zone_fallback_line);
			return FWD_EPARSE;
		}
		if (strcasecmp(val, "public") == 0)
			z->fallback_public = 1;
		else if (strcasecmp(val, "none") == 0)
			z->fallback_public = 0;
		else {
			perr(p, p->line, "fallback: expected public or none, not '%s'", val);
			return FWD_EPARSE;
		}
		p->zone_fallback_line = p->line;
		return 0;
	}
	return bad_key(p, key);
}

static int arm_set(struct parser *p, const char *key, const char *val)
{
	char msg[256];

	msg[0] = '\0';
	if (arm_cfg_set(p->cfg->arm, key, val, msg, sizeof(msg)) != 0) {
		perr(p, p->line, "%s", msg[0] ? msg : "bad arm: key");
		return FWD_EPARSE;
	}
	return 0;
}

static int handle_line(struct parser *p, const char *key, const char *val)
{
	size_t idx;
	const struct server_key *k;
	int rc = 0;

	if (try_clause(p, key, val, &rc))
		return rc;
	/* Inside arm: every key is arm_config.c's business, even an empty one. */
	if (p->clause == CL_ARM)
		return arm_set(p, key, val);
	if (*val == '\0' && key_home(key) == CL_NONE && strcmp(key, "include") != 0) {
		perr(p, p->line, "unknown clause '%s:' (clauses are server:, upstream:, forward:, zone:, arm:)",
		     key);
		return FWD_EPARSE;
	}
	if (p->clause == CL_NONE) {
		perr(p, p->line, "'%s' outside of any clause (start one with server:)", key);
		return FWD_EPARSE;
	}
	if (*val == '\0' && key_home(key) == p->clause) {
		perr(p, p->line, "key '%s' needs a value", key);
		return FWD_EPARSE;
	}
	switch (p->clause) {
	case CL_SERVER:
		k = server_key_find(key, &idx);
		if (k == NULL)
			return bad_key(p, key);
		return server_set(p, k, idx, val);
	case CL_UPSTREAM:
		return upstream_set(p, key, val);
	case CL_FORWARD:
		return forward_set(p, key, val);
	case CL_ZONE:
		return zone_set(p, key, val);
	default:
		return bad_key(p, key);
	}
}

/* ------------------------------------------------------------ whole file */

/* "azure" and "default" always exist, so that route.c never has to ask. */
static int ensure_group(struct parser *p, const char *name, size_t *idx)
{
	struct cfg *cfg = p->cfg;
	char *s;

	if (cfg_group_find(cfg, name, idx) == FWD_OK)
		return 0;
	if (grow((void **)&cfg->upstreams, &p->cap_up, cfg->nupstreams, sizeof(*cfg->upstreams)) != 0)
		return perr_nomem(p);
	s = strdup(name);
	if (s == NULL)
		return perr_nomem(p);
	memset(&cfg->upstreams[cfg->nupstreams], 0, sizeof(cfg->upstreams[0]));
	cfg->upstreams[cfg->nupstreams].name = s;
	*idx = cfg->nupstreams++;
	return 0;
}

static int default_listen(struct parser *p)
{
	static const char *const defaults[] = { "127.0.0.1", "::1" };
	struct cfg *cfg = p->cfg;
	size_t i;

	for (i = 0; i < FWD_ARRAY_LEN(defaults); i++) {
		if (grow((void **)&cfg->listen, &p->cap_listen, cfg->nlisten, sizeof(*cfg->listen)) != 0)
			return perr_nomem(p);
		memset(&cfg->listen[cfg->nlisten], 0, sizeof(cfg->listen[0]));
		if (cfg_parse_addr(defaults[i], CFG_DEFAULT_PORT, &cfg->listen[cfg->nlisten]) != 0)
			return FWD_EINVAL;
		cfg->nlisten++;
	}
	return 0;
}

static int finish_file(struct parser *p)
{
	struct cfg *cfg = p->cfg;
	size_t i, iut = 0, iqt = 0;
	int rc;

	if ((rc = clause_finish(p)) != 0)
		return rc;
	if (cfg->nlisten == 0 && (rc = default_listen(p)) != 0)
		return rc;
	if ((rc = ensure_group(p, "azure", &cfg->group_azure)) != 0 ||
	    (rc = ensure_group(p, "default", &cfg->group_default)) != 0)
		return rc;
	for (i = 0; i < cfg->nforwards; i++) {
		if (cfg_group_find(cfg, cfg->forwards[i].to, &cfg->forwards[i].group_index) != FWD_OK) {
			perr(p, p->forward_to_line[i], "forward: %s: unknown upstream group '%s'",
			     cfg->forwards[i].suffix, cfg->forwards[i].to);
			return FWD_EPARSE;
		}
	}
	/* A whole query shorter than one attempt could never see a reply. */
	server_key_find("upstream-timeout", &iut);
	server_key_find("query-timeout", &iqt);
	if (cfg->query_timeout_ms < cfg->upstream_timeout_ms) {
		perr(p, p->seen[iqt] > p->seen[iut] ? p->seen[iqt] : p->seen[iut],
		     "query-timeout (%d ms) is shorter than upstream-timeout (%d ms)", cfg->query_timeout_ms,
		     cfg->upstream_timeout_ms);
		return FWD_EPARSE;
	}
	server_key_find("cache-min-ttl", &iut);
	server_key_find("cache-max-ttl", &iqt);
	if (cfg->cache_min_ttl > cfg->cache_max_ttl) {
		perr(p, p->seen[iqt] > p->seen[iut] ? p->seen[iqt] : p->seen[iut],
		     "cache-min-ttl (%d) is larger than cache-max-ttl (%d)", cfg->cache_min_ttl, cfg->cache_max_ttl);
		return FWD_EPARSE;
	}
	return 0;
}

static struct cfg *cfg_new(const char *path)
{
	struct cfg *cfg = calloc(1, sizeof(*cfg));

	if (cfg == NULL)
		return NULL;
	cfg->file = strdup(path);
	cfg->log_level = strdup("info");
	if (cfg->file == NULL || cfg->log_level == NULL) {
		cfg_free(cfg);
		return NULL;
	}
	cfg->workers = 1;
	cfg->cloud = CLOUD_AZURE;
	cfg->upstream_timeout_ms = 1000;
	cfg->query_timeout_ms = 3000;
	cfg->max_pending = 4096;
	cfg->tcp_idle_timeout_ms = 10000;
	cfg->tcp_max_conns = 256;
	cfg->max_tcp_per_conn = 32;
	/* under 168.63.129.16's limits of 1000 qps and 200 pending per VM */
	cfg->upstream_max_qps = 900;
	cfg->upstream_max_outstanding = 150;
	cfg->upstream_down_after = 3;
	cfg->upstream_probe_interval_ms = 5000;
	cfg->upstream_socket_reuse = 64;
	cfg->cache_size = (uint64_t)64 << 20;
	cfg->cache_max_ttl = 86400;
	cfg->cache_neg_max_ttl = 3600;
	cfg->control_socket_mode = 0600;
	return cfg;
}

enum fwd_err cfg_load(const char *path, struct cfg **out, char *err, size_t errlen)
{
	struct parser p;
	FILE *fp;
	char *buf = NULL, *key, *val;
	size_t bufcap = 0;
	ssize_t len;
	const char *why;
	int rc = 0, r;

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
	p.cfg = cfg_new(path);
	if (p.cfg == NULL) {
		fclose(fp);
		return perr_nomem(&p);
	}
	while ((len = getline(&buf, &bufcap, fp)) >= 0) {
		p.line++;
		if ((size_t)len != strlen(buf)) {
			perr(&p, p.line, "NUL byte in line");
			rc = FWD_EPARSE;
			break;
		}
		why = NULL;
		/* A UTF-8 byte order mark, as some editors write, is not part of the first key. */
		if (p.line == 1 && strncmp(buf, "\xef\xbb\xbf", 3) == 0)
			r = line_split(buf + 3, &key, &val, &why);
		else
			r = line_split(buf, &key, &val, &why);
		if (r == 0)
			continue;
		if (r < 0) {
			perr(&p, p.line, "%s", why);
			rc = FWD_EPARSE;
			break;
		}
		if ((rc = handle_line(&p, key, val)) != 0)
			break;
	}
	if (rc == 0 && (ferror(fp) || !feof(fp))) {
		perr(&p, p.line, "read error: %s", strerror(errno));
		rc = FWD_EIO;
	}
	if (rc == 0)
		rc = finish_file(&p);
	free(buf);
	fclose(fp);
	free(p.cap_servers);
	free(p.forward_to_line);
	if (rc != 0) {
		cfg_free(p.cfg);
		return rc;
	}
	*out = p.cfg;
	return 0;
}

enum fwd_err cfg_check_files(const struct cfg *cfg, char *err, size_t errlen)
{
	size_t i;
	FILE *fp;

	for (i = 0; i < cfg->nzones; i++) {
		fp = fopen(cfg->zones[i].path, "r");
		if (fp == NULL) {
			if (err != NULL && errlen > 0)
				snprintf(err, errlen, "%s:%d: zone %s: cannot read %s: %s", cfg->file,
					 cfg->zones[i].line, cfg->zones[i].name, cfg->zones[i].path, strerror(errno));
			return FWD_EIO;
		}
		fclose(fp);
	}
	return 0;
}

void cfg_free(struct cfg *cfg)
{
	size_t i;

	if (cfg == NULL)
		return;
	free(cfg->file);
	free(cfg->listen);
	free(cfg->allow);
	free(cfg->deny);
	free(cfg->state_dir);
	free(cfg->control_socket);
	free(cfg->http_listen);
	free(cfg->query_log);
	free(cfg->pidfile);
	free(cfg->user);
	free(cfg->nsid);
	free(cfg->log_level);
	for (i = 0; i < cfg->nupstreams; i++) {
		free(cfg->upstreams[i].name);
		free(cfg->upstreams[i].servers);
	}
	free(cfg->upstreams);
	for (i = 0; i < cfg->nforwards; i++) {
		free(cfg->forwards[i].suffix);
		free(cfg->forwards[i].to);
	}
	free(cfg->forwards);
	for (i = 0; i < cfg->nzones; i++) {
		free(cfg->zones[i].name);
		free(cfg->zones[i].file);
		free(cfg->zones[i].path);
	}
	free(cfg->zones);
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
