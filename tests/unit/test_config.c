/*
 * test_config.c -- the configuration parser: every key, every error class with
 * its file:line, defaults, paths, and the shipped conf/plinkfwd.conf.
 */
#ifndef _POSIX_C_SOURCE
#define _POSIX_C_SOURCE 200809L /* mkstemp, mkdtemp, inet_pton */
#endif

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common.h"
#include "config.h"
#include "tap.h"

static char tmpdir[64];

/* Write text to a fresh file under tmpdir (mkstemp) and return its path. */
static char *write_conf(const char *text)
{
	static char path[128];
	int fd;
	size_t len = strlen(text);

	snprintf(path, sizeof(path), "%s/cfgXXXXXX", tmpdir);
	fd = mkstemp(path);
	if (fd < 0 || write(fd, text, len) != (ssize_t)len) {
		perror("write_conf");
		exit(99);
	}
	close(fd);
	return path;
}

static int load_text(const char *text, struct cfg **out, char *err, size_t errlen, char *pathout)
{
	char *path = write_conf(text);
	int rc;

	strcpy(pathout, path);
	rc = cfg_load(path, out, err, errlen);
	unlink(path);
	return rc;
}

/* Port and address of a parsed cfg_addr, as "addr@port" text. */
static const char *addr_text(const struct cfg_addr *a)
{
	static char buf[INET6_ADDRSTRLEN + 8];
	char host[INET6_ADDRSTRLEN];

	if (a->ss.ss_family == AF_INET) {
		const struct sockaddr_in *sin = (const struct sockaddr_in *)&a->ss;
		inet_ntop(AF_INET, &sin->sin_addr, host, sizeof(host));
		snprintf(buf, sizeof(buf), "%s@%u", host, ntohs(sin->sin_port));
	} else if (a->ss.ss_family == AF_INET6) {
		const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)&a->ss;
		inet_ntop(AF_INET6, &sin6->sin6_addr, host, sizeof(host));
		snprintf(buf, sizeof(buf), "[%s]@%u", host, ntohs(sin6->sin6_port));
	} else {
		snprintf(buf, sizeof(buf), "family %d", a->ss.ss_family);
	}
	return buf;
}

static const char *cidr_text(const struct cfg_cidr *c)
{
	static char buf[INET6_ADDRSTRLEN + 8];
	char host[INET6_ADDRSTRLEN];

	inet_ntop(c->family, c->addr, host, sizeof(host));
	snprintf(buf, sizeof(buf), "%s/%d", host, c->prefix);
	return buf;
}

static void test_full(void)
{
	char err[512] = "", path[128], zpath[256];
	struct cfg *cfg = NULL;
	const char *text =
		"# a full configuration\n"
		"server:\n"                                             /* 2 */
		"    listen: 127.0.0.1@5300\n"                          /* 3 */
		"    listen: \"[::1]@5301\"   # quoted, with a comment\n"
		"    listen: 127.0.0.2\n"                               /* 5 */
		"    allow: 127.0.0.0/8\n"
		"    allow: ::1\n"
		"    deny: 127.0.0.99/32\n"
		"    deny: fe80::/10\n"
		"    workers: 4\n"                                      /* 10 */
		"    cloud: AzureChinaCloud\n"
		"    state-dir: \"/var/lib/plink fwd\"\n"
		"    control-socket: /run/plinkfwd/control.sock\n"
		"    http-listen: 127.0.0.1@9153\n"
		"    pidfile: /run/plinkfwd/plinkfwd.pid\n"             /* 15 */
		"    user: plinkfwd\n"
		"    log-level: DEBUG\n"
		"    syslog: yes\n"
		"    upstream-timeout: 700\n"
		"    query-timeout: 2100\n"                             /* 20 */
		"    max-pending: 2048\n"
		"    tcp-idle-timeout: 4000\n"
		"    tcp-max-connections: 100\n"
		"    tcp-max-queries-per-connection: 16\n"
		"    cache-size: 128k\n"                                /* 25 */
		"upstream: OnPrem\n"
		"    server: 127.0.0.53\n"
		"    server: [::1]@5353\n"
		"    server: ::1@5354\n"
		"upstream: azure\n"                                     /* 30 */
		"    server: 127.0.0.54@5355\n"
		"forward: Corp.Example\n"
		"    to: onprem\n"
		"forward: other.example.\n"
		"    to: DEFAULT\n"                                     /* 35 */
		"zone: PrivateLink.OpenAI.Azure.com.\n"
		"    file: ../zones/openai.zone\n"
		"    fallback: public\n"
		"  zone: privatelink.blob.core.windows.net\n"
		"    file: /abs/blob.zone\n"                            /* 40 */
		"    fallback: none\n";

	is_int(load_text(text, &cfg, err, sizeof(err), path), 0, "full config parses");
	if (cfg == NULL) {
		printf("# %s\n", err);
		return;
	}
	is_str(cfg->file, path, "file recorded");
	is_int(cfg->nlisten, 3, "three listen addresses");
	is_str(addr_text(&cfg->listen[0]), "127.0.0.1@5300", "listen v4 with port");
	is_str(addr_text(&cfg->listen[1]), "[::1]@5301", "listen v6 bracketed with port (quoted)");
	is_str(addr_text(&cfg->listen[2]), "127.0.0.2@53", "listen v4 default port 53");
	is_int(cfg->listen[2].line, 5, "listen line recorded");
	is_int(cfg->nallow, 2, "two allow entries");
	is_str(cidr_text(&cfg->allow[0]), "127.0.0.0/8", "allow v4 CIDR");
	is_str(cidr_text(&cfg->allow[1]), "::1/128", "allow v6 host defaults to /128");
	is_int(cfg->ndeny, 2, "two deny entries");
	is_str(cidr_text(&cfg->deny[0]), "127.0.0.99/32", "deny v4 host");
	is_str(cidr_text(&cfg->deny[1]), "fe80::/10", "deny v6 /10");
	is_int(cfg->deny[1].line, 9, "deny line recorded");
	is_int(cfg->workers, 4, "workers");
	is_int(cfg->cloud, CLOUD_CHINA, "cloud");
	is_str(cfg->state_dir, "/var/lib/plink fwd", "state-dir quoted with a blank");
	is_str(cfg->control_socket, "/run/plinkfwd/control.sock", "control-socket");
	is_str(cfg->http_listen, "127.0.0.1@9153", "http-listen");
	is_str(cfg->pidfile, "/run/plinkfwd/plinkfwd.pid", "pidfile");
	is_str(cfg->user, "plinkfwd", "user");
	is_str(cfg->log_level, "debug", "log-level lower-cased");
	is_int(cfg->use_syslog, 1, "syslog");
	is_int(cfg->upstream_timeout_ms, 700, "upstream-timeout");
	is_int(cfg->query_timeout_ms, 2100, "query-timeout");
	is_int(cfg->max_pending, 2048, "max-pending");
	is_int(cfg->tcp_idle_timeout_ms, 4000, "tcp-idle-timeout");
	is_int(cfg->tcp_max_conns, 100, "tcp-max-connections");
	is_int(cfg->max_tcp_per_conn, 16, "tcp-max-queries-per-connection");
	is_int(cfg->cache_size, 128 * 1024, "cache-size 128k");

	/* Groups: onprem, azure declared; default created. */
	is_int(cfg->nupstreams, 3, "three groups (default created)");
	is_str(cfg->upstreams[0].name, "onprem", "group name lower-cased");
	is_int(cfg->upstreams[0].nservers, 3, "onprem has three servers");
	is_str(addr_text(&cfg->upstreams[0].servers[0]), "127.0.0.53@53", "server v4 default port");
	is_str(addr_text(&cfg->upstreams[0].servers[1]), "[::1]@5353", "server [v6]@port");
	is_str(addr_text(&cfg->upstreams[0].servers[2]), "[::1]@5354", "server v6@port unbracketed");
	is_int(cfg->upstreams[0].line, 26, "upstream line recorded");
	is_int(cfg->group_azure, 1, "azure is the declared group");
	is_int(cfg->upstreams[cfg->group_azure].nservers, 1, "azure has its server");
	is_str(addr_text(&cfg->upstreams[1].servers[0]), "127.0.0.54@5355", "azure server");
	is_str(cfg->upstreams[cfg->group_default].name, "default", "default group created");
	is_int(cfg->upstreams[cfg->group_default].nservers, 0, "created default group has no server");
	{
		size_t g = 99;
		ok(cfg_group_find(cfg, "ONPREM", &g) == FWD_OK && g == 0, "group lookup is case-insensitive");
		is_int(cfg_group_find(cfg, "nosuch", &g), FWD_ENOENT, "unknown group is FWD_ENOENT");
	}

	is_int(cfg->nforwards, 2, "two forward rules");
	is_str(cfg->forwards[0].suffix, "corp.example.", "suffix normalised");
	is_str(cfg->forwards[0].to, "onprem", "to");
	is_int(cfg->forwards[0].group_index, 0, "forward resolved to onprem");
	is_str(cfg->forwards[1].suffix, "other.example.", "trailing dot kept once");
	is_int(cfg->forwards[1].group_index, cfg->group_default, "forward to DEFAULT resolved");
	is_int(cfg->forwards[1].line, 34, "forward line recorded");

	is_int(cfg->nzones, 2, "two zones");
	is_str(cfg->zones[0].name, "privatelink.openai.azure.com.", "zone name normalised");
	is_str(cfg->zones[0].file, "../zones/openai.zone", "zone file as written");
	snprintf(zpath, sizeof(zpath), "%s/../zones/openai.zone", tmpdir);
	is_str(cfg->zones[0].path, zpath, "relative zone path resolved against the config's directory");
	is_int(cfg->zones[0].fallback_public, 1, "fallback public");
	is_str(cfg->zones[1].name, "privatelink.blob.core.windows.net.", "indented clause line recognised");
	is_str(cfg->zones[1].path, "/abs/blob.zone", "absolute zone path kept");
	is_int(cfg->zones[1].fallback_public, 0, "fallback none");
	is_int(cfg->zones[1].line, 39, "zone line recorded");
	ok(cfg->arm == NULL, "no arm clause, no arm config");
	cfg_free(cfg);
}

static void test_defaults(void)
{
	char err[512] = "", path[128];
	struct cfg *cfg = NULL;

	is_int(load_text("# nothing but a comment\n\n   \n", &cfg, err, sizeof(err), path), 0,
	       "an empty configuration parses");
	if (cfg == NULL)
		return;
	is_int(cfg->nlisten, 2, "default listen: two addresses");
	is_str(addr_text(&cfg->listen[0]), "127.0.0.1@53", "default listen 127.0.0.1@53");
	is_str(addr_text(&cfg->listen[1]), "[::1]@53", "default listen ::1@53");
	is_int(cfg->nallow + cfg->ndeny, 0, "no allow/deny");
	is_int(cfg->workers, 1, "default workers 1");
	is_int(cfg->cloud, CLOUD_AZURE, "default cloud AzureCloud");
	ok(cfg->state_dir == NULL && cfg->control_socket == NULL && cfg->http_listen == NULL &&
		   cfg->pidfile == NULL && cfg->user == NULL,
	   "optional strings unset");
	is_str(cfg->log_level, "info", "default log-level info");
	is_int(cfg->use_syslog, 0, "default syslog no");
	is_int(cfg->upstream_timeout_ms, 1000, "default upstream-timeout");
	is_int(cfg->query_timeout_ms, 3000, "default query-timeout");
	is_int(cfg->max_pending, 4096, "default max-pending");
	is_int(cfg->tcp_idle_timeout_ms, 10000, "default tcp-idle-timeout");
	is_int(cfg->tcp_max_conns, 256, "default tcp-max-connections");
	is_int(cfg->max_tcp_per_conn, 32, "default tcp-max-queries-per-connection");
	is_int(cfg->cache_size, 64 * 1024 * 1024, "default cache-size 64m");
	is_int(cfg->nupstreams, 2, "azure and default created");
	is_str(cfg->upstreams[cfg->group_azure].name, "azure", "group_azure");
	is_str(cfg->upstreams[cfg->group_default].name, "default", "group_default");
	is_int(cfg->upstreams[cfg->group_azure].nservers, 0, "azure has no server");
	is_int(cfg->nforwards + cfg->nzones, 0, "no rules, no zones");
	ok(cfg->arm == NULL, "no arm");
	cfg_free(cfg);

	/* A forward to azure/default works without declaring them. */
	cfg = NULL;
	is_int(load_text("forward: a.test\n to: azure\nforward: b.test\n to: default\n", &cfg, err,
			 sizeof(err), path),
	       0, "forward to undeclared azure/default is fine");
	if (cfg != NULL) {
		is_int(cfg->forwards[0].group_index, cfg->group_azure, "to azure resolved");
		is_int(cfg->forwards[1].group_index, cfg->group_default, "to default resolved");
		cfg_free(cfg);
	}

	/* Two server: clauses add up. */
	cfg = NULL;
	is_int(load_text("server:\n workers: 2\nzone: z.test\n file: z\nserver:\n cloud: none\n", &cfg, err,
			 sizeof(err), path),
	       0, "server: may appear twice");
	if (cfg != NULL) {
		ok(cfg->workers == 2 && cfg->cloud == CLOUD_NONE, "both server: clauses applied");
		cfg_free(cfg);
	}

	/* A byte order mark and CRLF line ends, as Windows editors write them. */
	cfg = NULL;
	is_int(load_text("\xef\xbb\xbfserver:\r\n  workers: 3\r\n  user: \"x y\"\r\n", &cfg, err, sizeof(err),
			 path),
	       0, "BOM and CRLF accepted");
	if (cfg != NULL) {
		ok(cfg->workers == 3 && cfg->user && strcmp(cfg->user, "x y") == 0, "values read through CRLF");
		cfg_free(cfg);
	}

	/* An escaped quote and a '#' inside quotes. */
	cfg = NULL;
	is_int(load_text("zone: q.test\n file: \"a \\\"b\\\" #c.zone\" # real comment\n", &cfg, err,
			 sizeof(err), path),
	       0, "quoted value with escapes");
	if (cfg != NULL) {
		is_str(cfg->zones[0].file, "a \"b\" #c.zone", "escapes and '#' inside quotes");
		cfg_free(cfg);
	}
}

struct bad_case {
	const char *text;
	int line;
	const char *msg;
};

static const struct bad_case bad_cases[] = {
	/* unknown key / clause, key outside or in the wrong clause */
	{ "server:\n  bogus: 1\n", 2, "unknown key 'bogus'" },
	{ "server:\n workers: 1\nremote-control:\n", 3, "unknown clause 'remote-control:'" },
	{ "workers: 2\n", 1, "outside of any clause" },
	{ "server:\n  to: azure\n", 2, "belongs in a forward: clause" },
	{ "upstream: x\n  workers: 2\n", 2, "belongs in a server: clause" },
	{ "server:\n  server: 127.0.0.2\n", 2, "belongs in an upstream: clause" },
	{ "zone: z.test\n  file: z\n  to: azure\n", 3, "belongs in a forward: clause" },
	{ "forward: f.test\n  file: z\n", 2, "belongs in a zone: clause" },
	{ "server:\n include: other.conf\n", 2, "include: is not supported" },
	/* line syntax */
	{ "server\n", 1, "expected 'key: value'" },
	{ "server:\n  listen 127.0.0.1\n", 2, "expected 'key: value'" },
	{ "server:\n  state-dir: \"/tmp/x\n", 2, "unterminated quoted value" },
	{ "server:\n  listen: 127.0.0.1 53\n", 2, "bad address '127.0.0.1 53'" },
	{ "server:\n  user: \"a\" b\n", 2, "unexpected text after the quoted value" },
	{ "server:\n  user: a\"b\n", 2, "stray" },
	{ "server:\n  workers:\n", 2, "needs a value" },
	{ "upstream:\n", 1, "needs a group name" },
	{ "forward:\n", 1, "needs a domain suffix" },
	{ "zone:   # no name\n", 1, "needs a zone name" },
	{ "arm: yes\n", 1, "takes no value" },
	/* addresses */
	{ "server:\n  listen: 127.0.0.300\n", 2, "bad address '127.0.0.300'" },
	{ "server:\n  listen: 127.0.0.1@70000\n", 2, "bad address" },
	{ "server:\n  listen: 127.0.0.1@0\n", 2, "bad address" },
	{ "server:\n  listen: 127.0.0.1@\n", 2, "bad address" },
	{ "server:\n  listen: [::1@53\n", 2, "bad address" },
	{ "server:\n  listen: 127.1\n", 2, "bad address" },
	{ "server:\n  listen: localhost\n", 2, "bad address" },
	{ "server:\n  listen: 127.0.0.1@53\n  listen: 127.0.0.1\n", 3, "duplicate address '127.0.0.1' (first at line 2)" },
	{ "upstream: u\n  server: ::1@53x\n", 2, "bad address" },
	{ "server:\n  http-listen: 127.0.0.1:9153\n", 2, "http-listen: bad address" },
	/* CIDR */
	{ "server:\n  allow: 127.0.0.0/33\n", 2, "bad address or CIDR '127.0.0.0/33'" },
	{ "server:\n  allow: ::1/129\n", 2, "bad address or CIDR" },
	{ "server:\n  deny: 127.0.0.0/-1\n", 2, "bad address or CIDR" },
	{ "server:\n  deny: 127.0.0.0/\n", 2, "bad address or CIDR" },
	{ "server:\n  allow: loopback\n", 2, "bad address or CIDR" },
	/* numbers and sizes */
	{ "server:\n  workers: 0\n", 2, "not a number in 1..64" },
	{ "server:\n  workers: 65\n", 2, "not a number in 1..64" },
	{ "server:\n  workers: two\n", 2, "not a number" },
	{ "server:\n  workers: -1\n", 2, "not a number" },
	{ "server:\n  max-pending: 99999999999999999999999\n", 2, "not a number" },
	{ "server:\n  upstream-timeout: 5\n", 2, "not a number in 10..60000" },
	{ "server:\n  cache-size: 64q\n", 2, "bad size '64q'" },
	{ "server:\n  cache-size: m\n", 2, "bad size" },
	{ "server:\n  cache-size: 2048g\n", 2, "bad size" },
	{ "server:\n  upstream-timeout: 2000\n  query-timeout: 1500\n", 3, "shorter than upstream-timeout" },
	/* enumerations */
	{ "server:\n  cloud: AzureGermanCloud\n", 2, "unknown cloud" },
	{ "server:\n  log-level: verbose\n", 2, "unknown level" },
	{ "server:\n  syslog: maybe\n", 2, "expected yes or no" },
	{ "zone: z.test\n  file: z\n  fallback: internet\n", 3, "expected public or none" },
	/* duplicates */
	{ "server:\n  workers: 1\n\n  workers: 2\n", 4, "duplicate key 'workers' (first at line 2)" },
	{ "upstream: a\n server: 127.0.0.2\nupstream: A\n", 3, "duplicate upstream group 'a' (first at line 1)" },
	{ "upstream: azure\nupstream: azure\n", 2, "duplicate upstream group 'azure'" },
	{ "zone: Z.test\n file: a\nzone: z.TEST.\n file: b\n", 3, "duplicate zone: z.test. (first at line 1)" },
	{ "forward: f.test\n to: azure\nforward: F.test.\n to: azure\n", 3, "duplicate forward: f.test." },
	{ "forward: f.test\n to: azure\n to: default\n", 3, "duplicate key 'to' (first at line 2)" },
	{ "zone: z.test\n file: a\n file: b\n", 3, "duplicate key 'file'" },
	{ "zone: z.test\n file: a\n fallback: none\n fallback: public\n", 4, "duplicate key 'fallback'" },
	{ "upstream: u\n server: 127.0.0.2\n server: 127.0.0.2@53\n", 3, "duplicate address" },
	/* groups and rules */
	{ "forward: corp.test\n  to: onprem\nupstream: other\n", 2, "unknown upstream group 'onprem'" },
	{ "forward: corp.test\nserver:\n", 1, "forward: corp.test. has no 'to:' line" },
	{ "forward: corp.test\n", 1, "has no 'to:' line" },
	{ "forward: corp.test\n to: on.prem\n", 2, "bad group name" },
	{ "upstream: on prem\n", 1, "bad group name 'on prem'" },
	{ "upstream: on/prem\n", 1, "bad group name" },
	{ "zone: z.test\n fallback: public\nupstream: u\n", 1, "zone: z.test. has no 'file:' line" },
	{ "server:\n workers: 1\nzone: z.test\n", 3, "has no 'file:' line" },
	/* names */
	{ "zone: a..b\n file: x\n", 1, "empty label" },
	{ "forward: .\n to: azure\n", 1, "the root is not allowed" },
	{ "zone: bad!name.test\n file: x\n", 1, "invalid character" },
	{ "zone: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.test\n file: x\n", 1,
	  "label longer than 63" },
	/* arm: delegated to arm_config.c, errors prefixed with file:line */
	{ "arm:\n  no-such-arm-key: 1\n", 2, "" },
	{ "server:\n workers: 1\narm:\nserver:\n", 3, "subscription" },
	{ "arm:\n  auth: managed-identity\n", 1, "subscription" },
	{ "arm:\n auth: managed-identity\n subscription: 00000000-0000-0000-0000-000000000000\narm:\n", 4,
	  "duplicate arm: clause (first at line 1)" },
};

static void test_errors(void)
{
	size_t i;

	for (i = 0; i < FWD_ARRAY_LEN(bad_cases); i++) {
		const struct bad_case *bc = &bad_cases[i];
		char err[512] = "", path[128], want[200];
		static struct cfg sentinel;
		struct cfg *cfg = &sentinel; /* must stay untouched on failure */
		int rc = load_text(bc->text, &cfg, err, sizeof(err), path);

		snprintf(want, sizeof(want), "%s:%d: ", path, bc->line);
		ok(rc == FWD_EPARSE && cfg == &sentinel && strncmp(err, want, strlen(want)) == 0 &&
			   strstr(err + strlen(want), bc->msg) != NULL,
		   "error case %zu: line %d, '%s'", i, bc->line, bc->msg);
		if (rc != FWD_EPARSE || strncmp(err, want, strlen(want)) != 0 || strstr(err, bc->msg) == NULL)
			printf("#   rc %d, err '%s'\n", rc, err);
	}
}

static void test_missing_file(void)
{
	char err[512] = "", path[160];
	struct cfg *cfg = NULL;

	snprintf(path, sizeof(path), "%s/does-not-exist.conf", tmpdir);
	is_int(cfg_load(path, &cfg, err, sizeof(err)), FWD_EIO, "missing file is FWD_EIO");
	ok(strncmp(err, path, strlen(path)) == 0 && strstr(err, "cannot open") != NULL,
	   "missing file message names the file");
	ok(cfg == NULL, "no cfg on failure");
}

static void test_arm_clause(void)
{
	char err[512] = "", path[128];
	struct cfg *cfg = NULL;

	is_int(load_text("server:\n  workers: 1\narm:\n  auth: managed-identity\n"
			 "  subscription: 00000000-0000-0000-0000-000000000000\n",
			 &cfg, err, sizeof(err), path),
	       0, "a minimal arm: clause parses");
	if (cfg == NULL) {
		printf("# %s\n", err);
		return;
	}
	ok(cfg->arm != NULL, "arm config present");
	cfg_free(cfg);
}

static void test_parse_addr(void)
{
	struct cfg_addr a;
	static const struct {
		const char *in;
		const char *out; /* NULL = must fail */
	} cases[] = {
		{ "127.0.0.1", "127.0.0.1@53" },
		{ "127.0.0.1@5353", "127.0.0.1@5353" },
		{ "::1", "[::1]@53" },
		{ "::1@5300", "[::1]@5300" },
		{ "[::1]@5300", "[::1]@5300" },
		{ "[::1]", "[::1]@53" },
		{ "::ffff:127.0.0.1@53", "[::ffff:127.0.0.1]@53" },
		{ "127.0.0.1@65535", "127.0.0.1@65535" },
		{ "", NULL },
		{ "@53", NULL },
		{ "127.0.0.1@65536", NULL },
		{ "127.0.0.1@-1", NULL },
		{ "127.0.0.1@+53", NULL },
		{ "127.0.0.1 ", NULL },
		{ "[127.0.0.1]@53", NULL },
		{ "[::1", NULL },
		{ "::1]", NULL },
		{ "1.2.3", NULL },
		{ "::1%", NULL },
		{ "::1@53@54", NULL },
	};
	size_t i;

	for (i = 0; i < FWD_ARRAY_LEN(cases); i++) {
		enum fwd_err rc;
		memset(&a, 0, sizeof(a));
		rc = cfg_parse_addr(cases[i].in, 53, &a);
		if (cases[i].out == NULL)
			ok(rc == FWD_EPARSE, "cfg_parse_addr('%s') fails", cases[i].in);
		else {
			ok(rc == 0 && strcmp(addr_text(&a), cases[i].out) == 0, "cfg_parse_addr('%s') = %s",
			   cases[i].in, cases[i].out);
			ok(a.len == (a.ss.ss_family == AF_INET ? sizeof(struct sockaddr_in)
							       : sizeof(struct sockaddr_in6)),
			   "cfg_parse_addr('%s') length", cases[i].in);
		}
	}
	memset(&a, 0, sizeof(a));
	ok(cfg_parse_addr("::1%1", 53, &a) == 0 && ((struct sockaddr_in6 *)&a.ss)->sin6_scope_id == 1,
	   "numeric scope id");
	memset(&a, 0, sizeof(a));
	ok(cfg_parse_addr("127.0.0.1", 9153, &a) == 0 && strcmp(addr_text(&a), "127.0.0.1@9153") == 0,
	   "caller's default port");
}

static void test_parse_cidr(void)
{
	static const struct {
		const char *in;
		const char *out;
	} cases[] = {
		{ "127.0.0.0/8", "127.0.0.0/8" },
		{ "127.1.2.3/8", "127.0.0.0/8" },
		{ "127.255.255.255/13", "127.248.0.0/13" },
		{ "127.0.0.1", "127.0.0.1/32" },
		{ "0.0.0.0/0", "0.0.0.0/0" },
		{ "10.9.8.7/0", "0.0.0.0/0" },
		{ "::1", "::1/128" },
		{ "::/0", "::/0" },
		{ "2001:db8:ffff::1/33", "2001:db8:8000::/33" },
		{ "fe80::1/10", "fe80::/10" },
		{ "::ffff:127.0.0.1/104", "::ffff:127.0.0.0/104" },
		{ "127.0.0.0/33", NULL },
		{ "::/129", NULL },
		{ "127.0.0.0/", NULL },
		{ "127.0.0.0/8/8", NULL },
		{ "/8", NULL },
		{ "127.0.0/8", NULL },
		{ "127.0.0.0/ 8", NULL },
	};
	size_t i;
	struct cfg_cidr c;

	for (i = 0; i < FWD_ARRAY_LEN(cases); i++) {
		enum fwd_err rc;
		memset(&c, 0, sizeof(c));
		rc = cfg_parse_cidr(cases[i].in, &c);
		if (cases[i].out == NULL)
			ok(rc == FWD_EPARSE, "cfg_parse_cidr('%s') fails", cases[i].in);
		else
			ok(rc == 0 && strcmp(cidr_text(&c), cases[i].out) == 0, "cfg_parse_cidr('%s') = %s",
			   cases[i].in, cases[i].out);
	}
}

static void test_parse_size(void)
{
	static const struct {
		const char *in;
		uint64_t out;
		int rc;
	} cases[] = {
		{ "0", 0, 0 },
		{ "1000", 1000, 0 },
		{ "512k", 512 * 1024, 0 },
		{ "512K", 512 * 1024, 0 },
		{ "64m", 64ull << 20, 0 },
		{ "64mb", 64ull << 20, 0 },
		{ "64MB", 64ull << 20, 0 },
		{ "1g", 1ull << 30, 0 },
		{ "1024g", 1ull << 40, 0 },
		{ "1025g", 0, -1 },
		{ "", 0, -1 },
		{ "k", 0, -1 },
		{ "1.5m", 0, -1 },
		{ "1t", 0, -1 },
		{ "-1", 0, -1 },
		{ "10 m", 0, -1 },
		{ "10b", 0, -1 },
		{ "10mbb", 0, -1 },
		{ "99999999999999999999999", 0, -1 },
	};
	size_t i;

	for (i = 0; i < FWD_ARRAY_LEN(cases); i++) {
		uint64_t v = 12345;
		enum fwd_err rc = cfg_parse_size(cases[i].in, &v);
		if (cases[i].rc != 0)
			ok(rc == FWD_EPARSE && v == 12345, "cfg_parse_size('%s') fails", cases[i].in);
		else
			ok(rc == 0 && v == cases[i].out, "cfg_parse_size('%s') = %llu", cases[i].in,
			   (unsigned long long)cases[i].out);
	}
}


/* cfg_cloud_parse as one value: the cloud, or -1 when refused */
static int cloud_of(const char *name)
{
	enum cfg_cloud c = CLOUD_NONE;
	return cfg_cloud_parse(name, &c) == FWD_OK ? (int)c : -1;
}

static void test_cloud(void)
{
	is_int(cloud_of("AzureCloud"), CLOUD_AZURE, "AzureCloud");
	is_int(cloud_of("azurecloud"), CLOUD_AZURE, "cloud names ignore case");
	is_int(cloud_of("AzureUSGovernment"), CLOUD_USGOV, "AzureUSGovernment");
	is_int(cloud_of("AzureChinaCloud"), CLOUD_CHINA, "AzureChinaCloud");
	is_int(cloud_of("none"), CLOUD_NONE, "none");
	is_int(cloud_of("AzureGermanCloud"), -1, "unknown cloud");
	is_int(cloud_of(""), -1, "empty cloud");
	is_str(cfg_cloud_name(CLOUD_AZURE), "AzureCloud", "name AzureCloud");
	is_str(cfg_cloud_name(CLOUD_USGOV), "AzureUSGovernment", "name AzureUSGovernment");
	is_str(cfg_cloud_name(CLOUD_CHINA), "AzureChinaCloud", "name AzureChinaCloud");
	is_str(cfg_cloud_name(CLOUD_NONE), "none", "name none");
}

static void test_relative_paths(void)
{
	char err[512] = "", sub[128], path[160], cwd[512];
	struct cfg *cfg = NULL;
	FILE *fp;

	/* Config in a subdirectory: the zone path is built from that directory. */
	snprintf(sub, sizeof(sub), "%s/conf", tmpdir);
	if (mkdir(sub, 0700) != 0 && errno != EEXIST) {
		perror("mkdir");
		exit(99);
	}
	snprintf(path, sizeof(path), "%s/rel.conf", sub);
	fp = fopen(path, "w");
	fputs("zone: z.test\n  file: ../zones/z.test.zone\n", fp);
	fclose(fp);
	is_int(cfg_load(path, &cfg, err, sizeof(err)), 0, "config in a subdirectory");
	if (cfg != NULL) {
		char want[256];
		snprintf(want, sizeof(want), "%s/../zones/z.test.zone", sub);
		is_str(cfg->zones[0].path, want, "zone path relative to the config directory");
		is_str(cfg->zones[0].file, "../zones/z.test.zone", "zone file kept as written");
		cfg_free(cfg);
	}

	/* A config named without a directory: paths stay relative to the cwd. */
	cfg = NULL;
	if (getcwd(cwd, sizeof(cwd)) == NULL || chdir(sub) != 0) {
		perror("chdir");
		exit(99);
	}
	is_int(cfg_load("rel.conf", &cfg, err, sizeof(err)), 0, "config named without a directory");
	if (cfg != NULL) {
		is_str(cfg->zones[0].path, "../zones/z.test.zone", "zone path relative to the cwd");
		cfg_free(cfg);
	}
	if (chdir(cwd) != 0) {
		perror("chdir");
		exit(99);
	}
	unlink(path);
	rmdir(sub);
}

static void test_check_files(void)
{
	char err[512] = "", path[128], zone[160], text[400];
	struct cfg *cfg = NULL;
	FILE *fp;

	snprintf(zone, sizeof(zone), "%s/present.zone", tmpdir);
	fp = fopen(zone, "w");
	fputs("; empty\n", fp);
	fclose(fp);
	snprintf(text, sizeof(text), "zone: a.test\n file: present.zone\nzone: b.test\n file: %s/absent.zone\n",
		 tmpdir);
	is_int(load_text(text, &cfg, err, sizeof(err), path), 0, "config with a missing zone file parses");
	if (cfg != NULL) {
		char want[200];
		is_int(cfg_check_files(cfg, err, sizeof(err)), FWD_EIO, "cfg_check_files finds the missing file");
		snprintf(want, sizeof(want), "%s:3: zone b.test.: cannot read", path);
		ok(strncmp(err, want, strlen(want)) == 0, "missing zone file reported at its zone: line");
		if (strncmp(err, want, strlen(want)) != 0)
			printf("#   err '%s'\n", err);
		cfg_free(cfg);
	}
	cfg = NULL;
	is_int(load_text("zone: a.test\n file: present.zone\n", &cfg, err, sizeof(err), path), 0,
	       "config with a present zone file");
	if (cfg != NULL) {
		is_int(cfg_check_files(cfg, err, sizeof(err)), 0, "cfg_check_files accepts a readable file");
		cfg_free(cfg);
	}
	unlink(zone);
}

static const char *srcdir(void)
{
	const char *s = getenv("top_srcdir");
	return s && *s ? s : ".";
}

static void test_shipped(void)
{
	char err[512] = "", path[512];
	struct cfg *cfg = NULL;
	static const char *const zones[] = {
		"privatelink.cognitiveservices.azure.com.",
		"privatelink.openai.azure.com.",
		"privatelink.services.ai.azure.com.",
	};
	size_t i;

	snprintf(path, sizeof(path), "%s/conf/plinkfwd.conf", srcdir());
	is_int(cfg_load(path, &cfg, err, sizeof(err)), 0, "shipped conf/plinkfwd.conf parses");
	if (cfg == NULL) {
		printf("# %s\n", err);
		return;
	}
	is_int(cfg->nlisten, 2, "shipped: two listen addresses");
	is_str(addr_text(&cfg->listen[0]), "127.0.0.1@5353", "shipped: 127.0.0.1@5353");
	is_str(addr_text(&cfg->listen[1]), "[::1]@5353", "shipped: ::1@5353");
	is_int(cfg->workers, 1, "shipped: one worker");
	is_int(cfg->cloud, CLOUD_AZURE, "shipped: AzureCloud");
	is_int(cfg->nzones, 3, "shipped: three demo zones");
	for (i = 0; i < FWD_ARRAY_LEN(zones) && i < cfg->nzones; i++) {
		char want[512];
		is_str(cfg->zones[i].name, zones[i], "shipped zone name");
		snprintf(want, sizeof(want), "%s/conf/../zones/%szone", srcdir(), zones[i]);
		is_str(cfg->zones[i].path, want, "shipped zone path");
	}
	/* Nothing may leave the machine: no group has a server. */
	for (i = 0; i < cfg->nupstreams; i++)
		is_int(cfg->upstreams[i].nservers, 0, "shipped: no upstream server");
	is_int(cfg->nupstreams, 2, "shipped: only azure and default");
	is_int(cfg->nforwards, 0, "shipped: no forward rule");
	ok(cfg->arm == NULL, "shipped: arm: only as a comment");
	is_int(cfg->nallow + cfg->ndeny, 0, "shipped: loopback only");
	cfg_free(cfg);
}

/* tests/fixtures/conf: good-*.conf parse, bad-*.conf fail where their header says. */
static void test_fixtures(void)
{
	char dir[512];
	DIR *d;
	struct dirent *de;
	int n = 0;

	snprintf(dir, sizeof(dir), "%s/tests/fixtures/conf", srcdir());
	d = opendir(dir);
	ok(d != NULL, "fixture directory %s", dir);
	if (d == NULL)
		return;
	while ((de = readdir(d)) != NULL) {
		char path[1024], err[512] = "", line[256], text[256] = "", want[1100];
		int good = strncmp(de->d_name, "good-", 5) == 0, bad = strncmp(de->d_name, "bad-", 4) == 0;
		int eline = -1, rc;
		size_t len = strlen(de->d_name);
		struct cfg *cfg = NULL;
		FILE *fp;

		if ((!good && !bad) || len < 5 || strcmp(de->d_name + len - 5, ".conf") != 0)
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		n++;
		rc = cfg_load(path, &cfg, err, sizeof(err));
		if (good) {
			ok(rc == 0, "fixture %s parses", de->d_name);
			if (rc != 0)
				printf("#   %s\n", err);
			cfg_free(cfg);
			continue;
		}
		fp = fopen(path, "r");
		while (fp != NULL && fgets(line, sizeof(line), fp) != NULL) {
			line[strcspn(line, "\n")] = '\0';
			if (strncmp(line, "# expect-line: ", 15) == 0)
				eline = atoi(line + 15);
			else if (strncmp(line, "# expect-text: ", 15) == 0)
				snprintf(text, sizeof(text), "%s", line + 15);
		}
		if (fp != NULL)
			fclose(fp);
		snprintf(want, sizeof(want), "%s:%d: ", path, eline);
		ok(rc == FWD_EPARSE && eline > 0 && text[0] && strncmp(err, want, strlen(want)) == 0 &&
			   strstr(err, text) != NULL,
		   "fixture %s fails at line %d with '%s'", de->d_name, eline, text);
		if (rc != FWD_EPARSE || strncmp(err, want, strlen(want)) != 0)
			printf("#   rc %d, err '%s'\n", rc, err);
		cfg_free(cfg);
	}
	closedir(d);
	ok(n >= 10, "fixtures found (%d)", n);
}

int main(void)
{
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/plinkfwd-test-config-XXXXXX");
	if (mkdtemp(tmpdir) == NULL) {
		perror("mkdtemp");
		return 99;
	}
	test_full();
	test_defaults();
	test_errors();
	test_missing_file();
	test_arm_clause();
	test_parse_addr();
	test_parse_cidr();
	test_parse_size();
	test_cloud();
	test_relative_paths();
	test_check_files();
	test_shipped();
	test_fixtures();
	rmdir(tmpdir);
	return tap_done();
}
