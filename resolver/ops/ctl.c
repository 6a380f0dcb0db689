/*
 * ctl.c -- plinkfwd-ctl: send one command to a running plinkfwd over its
 * control socket and print the answer (protocol in control.h).
 *
 * The daemon always answers in JSON; --json prints that line as it came,
 * otherwise it is rendered as text here, so that the daemon carries no
 * presentation code.  Exit status: 0 done, 1 the daemon reported a failure,
 * 2 usage error, 3 the daemon could not be reached or answered nonsense.
 */
#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "cfg_lex.h"
#include "clock.h"
#include "common.h"
#include "ctl_check.h"

#ifndef PACKAGE_VERSION
#define PACKAGE_VERSION "unknown"
#endif
#ifndef SYSCONFDIR
#define SYSCONFDIR "/etc"
#endif
#define DEFAULT_CONFIG SYSCONFDIR "/plinkfwd/plinkfwd.conf"

enum { EXIT_OK = 0, EXIT_FAILED = 1, EXIT_USAGE = 2, EXIT_UNREACHABLE = 3 };

#define CTL_REQ_MAX 4096
#define CTL_RESP_MAX (64u << 20)

static void usage(FILE *f)
{
	fprintf(f,
		"usage: plinkfwd-ctl [-c CONFIG | -s SOCKET] [-j] [-t SECONDS] COMMAND [ARG...]\n"
		"options may also follow the command; '--' ends them\n"
		"  -c, --config FILE   find control-socket: in FILE (default " DEFAULT_CONFIG ")\n"
		"  -s, --socket PATH   the control socket (instead of reading the config)\n"
		"  -j, --json          print the daemon's JSON answer as it is\n"
		"  -t, --timeout SEC   give up after SEC seconds (default 30, at most 86400)\n"
		"commands:\n"
		"  status               version, uptime, listeners, workers, config, reloads, health\n"
		"  reload               re-read the configuration (as SIGHUP); fails with file:line\n"
		"  stats                counters\n"
		"  zones                every local and synced zone: source, records, serial, last sync, last error\n"
		"  flush [NAME]         empty the answer cache (or only NAME)\n"
		"  sync [ZONE]          sync ARM zones now (or only ZONE)\n"
		"  explain NAME [TYPE]  how NAME is resolved right now\n"
		"  check NAME [--connect PORT]\n"
		"                       resolve NAME through the daemon: the chain and where each step\n"
		"                       came from, whether the address is private, why a private\n"
		"                       endpoint is not served; --connect: TCP to each address\n"
		"exit status: 0 ok, 1 the command failed, 2 usage, 3 daemon not reachable;\n"
		"  check: 0 private (and reachable), 4 public address, 5 does not resolve,\n"
		"  6 private but unreachable on PORT\n");
}

/* ------------------------------------------------------------ transport */

static int ctl_connect(const char *path)
{
	struct sockaddr_un sun;
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sun.sun_path)) {
		fprintf(stderr, "plinkfwd-ctl: socket path too long: %s\n", path);
		return -1;
	}
	memcpy(sun.sun_path, path, strlen(path));
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0) {
		fprintf(stderr, "plinkfwd-ctl: cannot connect to %s: %s (is plinkfwd running with control-socket: set?)\n",
			path, strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	return fd;
}

/* Wait for fd to become ready for `events` until deadline_ms of clock. */
static int wait_fd(int fd, short events, const struct fwd_clock *clock, uint64_t deadline_ms)
{
	for (;;) {
		uint64_t now = clock_ms(clock);
		if (now >= deadline_ms)
			return -1;
		struct pollfd p = {.fd = fd, .events = events};
		int r = poll(&p, 1, (int)(deadline_ms - now));
		if (r > 0)
			return 0;
		if (r < 0 && errno != EINTR)
			return -1;
	}
}

/* Send the request, read the answer to EOF, within timeout_s of clock.
 * Returns a malloc'd string. */
static char *ctl_exchange(int fd, const char *req, const struct fwd_clock *clock, int timeout_s)
{
	uint64_t deadline = clock_ms(clock) + (uint64_t)timeout_s * 1000u;
	size_t len = strlen(req), off = 0;
	while (off < len) {
		if (wait_fd(fd, POLLOUT, clock, deadline) < 0) {
			fprintf(stderr, "plinkfwd-ctl: timed out sending the request\n");
			return NULL;
		}
		ssize_t n = send(fd, req + off, len - off, MSG_NOSIGNAL);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			fprintf(stderr, "plinkfwd-ctl: send: %s\n", strerror(errno));
			return NULL;
		}
		off += (size_t)n;
	}
	size_t cap = 4096, got = 0;
	char *buf = malloc(cap);
	while (buf) {
		if (wait_fd(fd, POLLIN, clock, deadline) < 0) {
			fprintf(stderr, "plinkfwd-ctl: no answer within %d s\n", timeout_s);
			break;
		}
		if (got + 1 == cap) {
			char *nb = cap < CTL_RESP_MAX ? realloc(buf, cap * 2) : NULL;
			if (!nb) {
				fprintf(stderr, "plinkfwd-ctl: answer too large\n");
				break;
			}
			buf = nb;
			cap *= 2;
		}
		ssize_t n = recv(fd, buf + got, cap - 1 - got, 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			fprintf(stderr, "plinkfwd-ctl: recv: %s\n", strerror(errno));
			break;
		}
		if (n == 0) {
			buf[got] = '\0';
			return buf;
		}
		got += (size_t)n;
	}
	free(buf);
	return NULL;
}

/* ------------------------------------------------------------ text rendering */

static const char *jstr(const cJSON *o, const char *k)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
	return cJSON_IsString(v) ? v->valuestring : NULL;
}

static double jnum(const cJSON *o, const char *k, double dflt)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
	return cJSON_IsNumber(v) ? v->valuedouble : dflt;
}

static const char *fmt_time(double unix_s, char *buf, size_t cap)
{
	if (unix_s <= 0) {
		snprintf(buf, cap, "never");
		return buf;
	}
	time_t t = (time_t)unix_s;
	struct tm tm;
	gmtime_r(&t, &tm);
	strftime(buf, cap, "%Y-%m-%dT%H:%M:%SZ", &tm);
	return buf;
}

static const char *fmt_dur(double s, char *buf, size_t cap)
{
	long v = (long)s;
	if (v >= 86400)
		snprintf(buf, cap, "%ldd%02ldh%02ldm", v / 86400, v % 86400 / 3600, v % 3600 / 60);
	else if (v >= 3600)
		snprintf(buf, cap, "%ldh%02ldm%02lds", v / 3600, v % 3600 / 60, v % 60);
	else if (v >= 60)
		snprintf(buf, cap, "%ldm%02lds", v / 60, v % 60);
	else
		snprintf(buf, cap, "%lds", v);
	return buf;
}

static void print_scalar(const cJSON *v)
{
	if (cJSON_IsString(v))
		fputs(v->valuestring, stdout);
	else if (cJSON_IsBool(v))
		fputs(cJSON_IsTrue(v) ? "yes" : "no", stdout);
	else if (cJSON_IsNumber(v))
		printf("%.0f", v->valuedouble);
	else if (cJSON_IsNull(v))
		fputs("-", stdout);
	else if (cJSON_IsArray(v)) {
		const cJSON *e;
		int first = 1;
		cJSON_ArrayForEach(e, v)
		{
			if (!first)
				putchar(' ');
			print_scalar(e);
			first = 0;
		}
	}
}

/* "a.b.c value" lines, unbound-control style, for stats. */
static void print_flat(const cJSON *o, const char *prefix)
{
	const cJSON *v;
	cJSON_ArrayForEach(v, o)
	{
		char key[512];
		if (!prefix && strcmp(v->string, "ok") == 0)
			continue;
		snprintf(key, sizeof(key), "%s%s%s", prefix ? prefix : "", prefix ? "." : "", v->string);
		if (cJSON_IsObject(v)) {
			print_flat(v, key);
		} else {
			printf("%s ", key);
			print_scalar(v);
			putchar('\n');
		}
	}
}

/* The "loops" object of status: loops found per group, probed routes. */
static void print_loops(const cJSON *l)
{
	const cJSON *g, *r;
	char b1[64];

	if (!cJSON_IsObject(l))
		return;
	printf("loops       %.0f found\n", jnum(l, "detected", 0));
	cJSON_ArrayForEach(g, cJSON_GetObjectItemCaseSensitive(l, "groups"))
		printf("            group %s: %.0f, the last for zone %s from %s (%s)\n", jstr(g, "group"),
		       jnum(g, "detected", 0), jstr(g, "last_zone") ? jstr(g, "last_zone") : "?",
		       jstr(g, "last_from") ? jstr(g, "last_from") : "?", fmt_time(jnum(g, "last_time", 0), b1, sizeof(b1)));
	cJSON_ArrayForEach(r, cJSON_GetObjectItemCaseSensitive(l, "routes"))
	{
		const char *p = jstr(r, "probe") ? jstr(r, "probe") : "?";
		printf("            probe zone %s through group %s: %s", jstr(r, "zone"), jstr(r, "group"), p);
		if (strcmp(p, "loops") == 0)
			printf(" (came back from %s): this route LOOPS", jstr(r, "via") ? jstr(r, "via") : "?");
		putchar('\n');
	}
}

static void print_status(const cJSON *o)
{
	char b1[64], b2[64];
	const cJSON *z = cJSON_GetObjectItemCaseSensitive(o, "zones");
	const cJSON *r = cJSON_GetObjectItemCaseSensitive(o, "reload");
	const cJSON *a = cJSON_GetObjectItemCaseSensitive(o, "arm");
	const cJSON *rp = cJSON_GetObjectItemCaseSensitive(o, "restart_pending");

	printf("version     plinkfwd %s (pid %.0f)\n", jstr(o, "version") ? jstr(o, "version") : "?",
	       jnum(o, "pid", 0));
	printf("uptime      %s (since %s)\n", fmt_dur(jnum(o, "uptime_s", 0), b1, sizeof(b1)),
	       fmt_time(jnum(o, "started", 0), b2, sizeof(b2)));
	printf("config      %s (generation %.0f)\n", jstr(o, "config") ? jstr(o, "config") : "?",
	       jnum(o, "generation", 0));
	printf("workers     %.0f\n", jnum(o, "workers", 0));
	printf("listen      ");
	print_scalar(cJSON_GetObjectItemCaseSensitive(o, "listen"));
	putchar('\n');
	if (cJSON_IsObject(rp)) {
		/* the config asks for other sockets than those bound */
		printf("            the config says ");
		print_scalar(cJSON_GetObjectItemCaseSensitive(rp, "listen"));
		printf(" with %.0f worker%s: a restart applies it\n", jnum(rp, "workers", 0),
		       jnum(rp, "workers", 0) == 1 ? "" : "s");
	}
	printf("cloud       %s\n", jstr(o, "cloud") ? jstr(o, "cloud") : "?");
	printf("zones       %.0f from files, %.0f synced\n", jnum(z, "file", 0), jnum(z, "synced", 0));
	printf("reloads     %.0f ok, %.0f failed", jnum(r, "ok", 0), jnum(r, "failed", 0));
	if (jstr(r, "last_error"))
		printf("; the last one (%s) failed: %s", fmt_time(jnum(r, "last_time", 0), b1, sizeof(b1)),
		       jstr(r, "last_error"));
	else if (jstr(r, "last_result"))
		printf("; the last one (%s) succeeded", fmt_time(jnum(r, "last_time", 0), b1, sizeof(b1)));
	printf("\nhealth      %s\n", jstr(o, "health") ? jstr(o, "health") : "?");
	if (jstr(o, "query_log"))
		printf("query log   %s\n", jstr(o, "query_log"));
	if (cJSON_IsObject(a)) {
		double last = jnum(a, "last_success", 0);
		printf("arm sync    %s, last success %s", cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(a, "running")) ? "running" : "idle",
		       fmt_time(last, b1, sizeof(b1)));
		if (last > 0)
			printf(" (%s ago)", fmt_dur((double)time(NULL) - last, b2, sizeof(b2)));
		printf(", %.0f rounds, %.0f with failures\n", jnum(a, "rounds", 0), jnum(a, "rounds_failed", 0));
	} else {
		printf("arm sync    not configured\n");
	}
	print_loops(cJSON_GetObjectItemCaseSensitive(o, "loops"));
}

static void print_zones(const cJSON *o)
{
	const cJSON *zs = cJSON_GetObjectItemCaseSensitive(o, "zones"), *z;
	char b1[64], b2[64], serial[32];
	printf("%-44s %-6s %8s %10s %-20s %-8s %s\n", "ZONE", "SOURCE", "RECORDS", "SERIAL", "LAST-SYNC", "AGE",
	       "LAST-ERROR / FILE");
	cJSON_ArrayForEach(z, zs)
	{
		const char *src = jstr(z, "source");
		int arm = src && (strcmp(src, "arm") == 0 || strcmp(src, "endpoint") == 0);
		double last = jnum(z, "last_sync", 0);
		const cJSON *srcs = cJSON_GetObjectItemCaseSensitive(z, "sources"), *e;
		if (cJSON_IsNumber(cJSON_GetObjectItemCaseSensitive(z, "serial")))
			snprintf(serial, sizeof(serial), "%.0f", jnum(z, "serial", 0));
		else
			snprintf(serial, sizeof(serial), "-");
		printf("%-44s %-6s %8.0f %10s %-20s %-8s %s\n", jstr(z, "name") ? jstr(z, "name") : "?",
		       src ? src : "?", jnum(z, "records", 0), serial,
		       arm ? fmt_time(last, b1, sizeof(b1)) : "-",
		       arm && last > 0 ? fmt_dur(jnum(z, "age_s", 0), b2, sizeof(b2)) : "-",
		       arm ? (jstr(z, "last_error") ? jstr(z, "last_error") : "-")
			   : (jstr(z, "file") ? jstr(z, "file") : "-"));
		if (src && strcmp(src, "secondary") == 0) {
			/* a secondary zone (zone: with primary:): its transfers */
			const cJSON *ex = cJSON_GetObjectItemCaseSensitive(z, "expires_in_s");
			printf("    last refresh %s, last failure %s, %s%s\n",
			       fmt_time(jnum(z, "last_refresh", 0), b1, sizeof(b1)),
			       fmt_time(jnum(z, "last_failure", 0), b2, sizeof(b2)),
			       cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(z, "expired")) ? "EXPIRED (SERVFAIL)"
			       : cJSON_IsNumber(ex)                                         ? "expires in "
											    : "no copy yet (SERVFAIL)",
			       cJSON_IsNumber(ex) && !cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(z, "expired"))
				       ? fmt_dur(ex->valuedouble, serial, sizeof(serial))
				       : "");
			if (jstr(z, "last_error"))
				printf("    last error: %s\n", jstr(z, "last_error"));
			continue;
		}
		if (!arm)
			continue;
		if (cJSON_IsFalse(cJSON_GetObjectItemCaseSensitive(z, "served")))
			printf("    not served: no listing of it has succeeded yet\n");
		if (jnum(z, "consecutive_failures", 0) > 0)
			printf("    %.0f failed listing%s in a row, last attempt %s\n", jnum(z, "consecutive_failures", 0),
			       jnum(z, "consecutive_failures", 0) == 1 ? "" : "s",
			       fmt_time(jnum(z, "last_attempt", 0), b1, sizeof(b1)));
		cJSON_ArrayForEach(e, srcs)
		{
			printf("    subscription %s, resource group %s\n", jstr(e, "subscription") ? jstr(e, "subscription") : "?",
			       jstr(e, "resource_group") ? jstr(e, "resource_group") : "?");
		}
	}
	const cJSON *a = cJSON_GetObjectItemCaseSensitive(o, "arm");
	if (cJSON_IsObject(a)) {
		if (jstr(a, "error"))
			printf("arm sync: %s\n", jstr(a, "error"));
		else
			printf("arm sync: %s, last success %s, %.0f rounds, %.0f with failures, %.0f throttled (429)\n",
			       cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(a, "running")) ? "running" : "idle",
			       fmt_time(jnum(a, "last_success", 0), b1, sizeof(b1)), jnum(a, "rounds", 0),
			       jnum(a, "rounds_failed", 0), jnum(a, "throttled", 0));
		if (jstr(a, "last_error"))
			printf("arm sync: the last round failed: %s\n", jstr(a, "last_error"));
	}
}

/* Where one record came from (an "origin" object of explain), as the
 * lines under the record.  With cache set the record already has its
 * "from" line (zone or group), and this adds the detail. */
static void print_origin(const cJSON *og, int cache)
{
	const char *src = jstr(og, "source");
	const char *note = jstr(og, "note");
	if (!src)
		return;
	if (strcmp(src, "upstream") == 0) {
		const cJSON *sv = cJSON_GetObjectItemCaseSensitive(og, "servers");
		if (!cache)
			printf("      from upstream group %s\n", jstr(og, "group") ? jstr(og, "group") : "?");
		printf("      servers of the group: ");
		if (cJSON_GetArraySize(sv) == 0)
			printf("none");
		print_scalar(sv);
		putchar('\n');
		return;
	}
	int arm = strcmp(src, "arm") == 0;
	double line = jnum(og, "line", 0);
	if (arm && jstr(og, "arm_id") && strstr(jstr(og, "arm_id"), "/privateEndpoints/"))
		printf("      %sprivate endpoint %s (connection Approved)\n", cache ? "" : "from ", jstr(og, "arm_id"));
	else if (arm && jstr(og, "arm_id"))
		printf("      %sARM record set %s\n", cache ? "" : "from ", jstr(og, "arm_id"));
	else if (!arm && line > 0)
		printf("      %s %s:%.0f\n", cache ? "at" : "from", jstr(og, "file") ? jstr(og, "file") : "?", line);
	else if (!cache)
		printf("      from zone %s (%s)\n", jstr(og, "zone") ? jstr(og, "zone") : "?",
		       arm ? "synced from ARM" : "zone file");
	if (jstr(og, "wildcard"))
		printf("      (synthesized from the wildcard %s)\n", jstr(og, "wildcard"));
	if (note)
		printf("      (%s)\n", note);
}

static void print_explain(const cJSON *o)
{
	const cJSON *steps = cJSON_GetObjectItemCaseSensitive(o, "steps"), *s;
	int i = 0;
	printf("%s %s\n", jstr(o, "name") ? jstr(o, "name") : "?", jstr(o, "type") ? jstr(o, "type") : "?");
	cJSON_ArrayForEach(s, steps)
	{
		const char *act = jstr(s, "action");
		i++;
		if (!act)
			continue;
		if (strcmp(act, "route") == 0) {
			const cJSON *z = cJSON_GetObjectItemCaseSensitive(s, "zone");
			printf("%d. route: matches %s (%s", i, jstr(s, "match") ? jstr(s, "match") : "?",
			       jstr(s, "origin") ? jstr(s, "origin") : "?");
			if (jstr(s, "config"))
				printf(", %s", jstr(s, "config"));
			if (jstr(s, "cloud"))
				printf(", cloud %s", jstr(s, "cloud"));
			printf(")\n");
			if (cJSON_IsObject(z)) {
				const char *zsrc = jstr(z, "source");
				if (zsrc && (strcmp(zsrc, "arm") == 0 || strcmp(zsrc, "endpoint") == 0)) {
					char b[64];
					printf("   zone %s %s, %.0f records, serial %.0f, last sync %s, fallback %s\n",
					       jstr(z, "name"),
					       strcmp(zsrc, "endpoint") == 0 ? "built from private endpoints"
					       : cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(z, "endpoint_records"))
						       ? "synced from ARM, with private endpoint records"
						       : "synced from ARM",
					       jnum(z, "records", 0), jnum(z, "serial", 0),
					       fmt_time(jnum(z, "last_sync", 0), b, sizeof(b)),
					       jstr(z, "fallback") ? jstr(z, "fallback") : "?");
					if (jstr(z, "last_error"))
						printf("   its last listing failed (the copy of %s is served): %s\n",
						       fmt_time(jnum(z, "last_sync", 0), b, sizeof(b)), jstr(z, "last_error"));
				} else {
					printf("   zone %s from %s (%s), %.0f records, serial %.0f, fallback %s\n",
					       jstr(z, "name"), jstr(z, "file") ? jstr(z, "file") : "?",
					       jstr(z, "config") ? jstr(z, "config") : "?", jnum(z, "records", 0),
					       jnum(z, "serial", 0), jstr(z, "fallback") ? jstr(z, "fallback") : "?");
				}
			}
		} else if (strcmp(act, "zone-lookup") == 0) {
			const cJSON *recs = cJSON_GetObjectItemCaseSensitive(s, "records"), *r;
			const cJSON *ogs = cJSON_GetObjectItemCaseSensitive(s, "origins");
			int k = 0;
			printf("%d. zone answer: %s (%s)\n", i, jstr(s, "rcode") ? jstr(s, "rcode") : "?",
			       jstr(s, "status") ? jstr(s, "status") : "?");
			cJSON_ArrayForEach(r, recs)
			{
				if (cJSON_IsString(r))
					printf("   %s\n", r->valuestring);
				print_origin(cJSON_GetArrayItem(ogs, k++), 0);
			}
			if (jstr(s, "note"))
				printf("   %s\n", jstr(s, "note"));
		} else if (strcmp(act, "cache") == 0) {
			const cJSON *recs = cJSON_GetObjectItemCaseSensitive(s, "records"), *r;
			const char *state = jstr(s, "state") ? jstr(s, "state") : "?";
			if (jstr(s, "rcode"))
				printf("%d. cache: %s (%s)\n", i, state, jstr(s, "rcode"));
			else
				printf("%d. cache: %s\n", i, state);
			cJSON_ArrayForEach(r, recs)
			{
				printf("   %s\n", jstr(r, "rr") ? jstr(r, "rr") : "?");
				printf("      from %s\n", jstr(r, "from") ? jstr(r, "from") : "?");
				print_origin(cJSON_GetObjectItemCaseSensitive(r, "origin"), 1);
			}
		} else if (strcmp(act, "private-endpoint") == 0) {
			printf("%d. private endpoint: %s\n", i, jstr(s, "note") ? jstr(s, "note") : "?");
		} else if (strcmp(act, "forward") == 0) {
			const cJSON *sv = cJSON_GetObjectItemCaseSensitive(s, "servers"), *e;
			printf("%d. forward to group %s: %s\n", i, jstr(s, "group") ? jstr(s, "group") : "?",
			       jstr(s, "reason") ? jstr(s, "reason") : "");
			printf("   servers:");
			if (cJSON_GetArraySize(sv) == 0)
				printf(" none");
			cJSON_ArrayForEach(e, sv)
			{
				printf(" %s (%s", jstr(e, "address") ? jstr(e, "address") : "?",
				       jstr(e, "state") ? jstr(e, "state") : "?");
				if (jnum(e, "srtt_us", -1) >= 0)
					printf(", srtt %.1f ms", jnum(e, "srtt_us", 0) / 1000.0);
				if (jnum(e, "max_qps", 0) > 0)
					printf(", max %.0f qps", jnum(e, "max_qps", 0));
				if (jnum(e, "max_outstanding", 0) > 0)
					printf(", max %.0f in flight", jnum(e, "max_outstanding", 0));
				printf(")");
			}
			putchar('\n');
			if (jstr(s, "order"))
				printf("   %s\n", jstr(s, "order"));
			if (jstr(s, "splice"))
				printf("   %s\n", jstr(s, "splice"));
			if (jstr(s, "result"))
				printf("   %s\n", jstr(s, "result"));
			if (jstr(s, "loop"))
				printf("   %s\n", jstr(s, "loop"));
		} else {
			/* a step this version does not know: show its fields */
			printf("%d. %s:", i, act);
			const cJSON *v;
			cJSON_ArrayForEach(v, s)
			{
				if (strcmp(v->string, "action") == 0)
					continue;
				printf(" %s=", v->string);
				print_scalar(v);
			}
			putchar('\n');
		}
	}
	printf("answered by: %s\n", jstr(o, "answered_by") ? jstr(o, "answered_by") : "?");
}

static void print_text(const char *cmd, const cJSON *o)
{
	if (strcmp(cmd, "status") == 0)
		print_status(o);
	else if (strcmp(cmd, "zones") == 0)
		print_zones(o);
	else if (strcmp(cmd, "explain") == 0)
		print_explain(o);
	else if (strcmp(cmd, "reload") == 0)
		printf("reloaded: generation %.0f, %.0f zones\n", jnum(o, "generation", 0), jnum(o, "zones", 0));
	else if (jstr(o, "message"))
		printf("%s\n", jstr(o, "message"));
	else
		print_flat(o, NULL);
}

/* ------------------------------------------------------------ main */

/* One request on a connection of its own (ctl_check.h's transport). */
struct ctl_conn {
	const char *sock;
	int timeout_s;
};

static char *ctl_request(void *arg, const char *line)
{
	const struct ctl_conn *c = arg;
	int fd = ctl_connect(c->sock);
	char *resp = fd >= 0 ? ctl_exchange(fd, line, &fwd_clock_monotonic, c->timeout_s) : NULL;
	if (fd >= 0)
		close(fd);
	return resp;
}

/* The control socket named in the server: clause of cfgpath, found by a
 * scan of its lines rather than a parse: a config the admin just broke
 * must not hide the daemon, whose reload reports what is wrong with it. */
static char *socket_from_config(const char *cfgpath)
{
	char err[512] = "", *path = NULL;
	enum fwd_err rc = cfg_scan_server_key(cfgpath, "control-socket", &path, NULL, err, sizeof(err));
	if (rc == FWD_OK)
		return path;
	if (rc == FWD_ENOENT)
		fprintf(stderr, "plinkfwd-ctl: %s has no control-socket: in its server: clause (or use -s)\n",
			cfgpath);
	else
		fprintf(stderr, "plinkfwd-ctl: %s (use -s SOCKET to name the socket)\n",
			err[0] ? err : fwd_strerror(rc));
	return NULL;
}

/* The option getopt_long() stopped at, as the user wrote it. */
static const char *bad_option(int argc, char **argv, char *buf, size_t cap)
{
	/* optind already points past the word holding the bad option, unless
	 * it was one of several bundled short options (-jx) */
	const char *word = optind > 0 && optind <= argc ? argv[optind - 1] : "?";
	if (optopt != 0 && !(word[0] == '-' && word[1] == '-'))
		snprintf(buf, cap, "-%c", optopt);
	else
		snprintf(buf, cap, "%s", word);
	return buf;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{"config", required_argument, NULL, 'c'}, {"socket", required_argument, NULL, 's'},
		{"json", no_argument, NULL, 'j'},          {"timeout", required_argument, NULL, 't'},
		{"help", no_argument, NULL, 'h'},          {"version", no_argument, NULL, 'v'},
		{"connect", required_argument, NULL, 'P'}, {NULL, 0, NULL, 0}};
	const char *cfgpath = DEFAULT_CONFIG, *sock = NULL;
	char *sock_found = NULL, optbuf[128];
	int json = 0, timeout_s = 30, connect_port = 0, c;

	/* Options anywhere on the line, as unbound-control and knotc take
	 * them ("status -j"): getopt_long() permutes the words, so the
	 * command and its arguments are what remains after it ('--' ends the
	 * options, for an argument that starts with '-').  Its own messages
	 * are off: ours name the option and what to do. */
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":c:s:jt:hv", opts, NULL)) != -1) {
		switch (c) {
		case 'c': cfgpath = optarg; break;
		case 's': sock = optarg; break;
		case 'j': json = 1; break;
		case 't': {
			char *end;
			long v = strtol(optarg, &end, 10);
			timeout_s = *end == '\0' && v > 0 && v <= 86400 ? (int)v : 0;
			if (timeout_s <= 0) {
				fprintf(stderr, "plinkfwd-ctl: bad timeout '%s' (want whole seconds, 1 to 86400)\n",
					optarg);
				return EXIT_USAGE;
			}
			break;
		}
		case 'P': {
			char *end;
			long v = strtol(optarg, &end, 10);
			if (*end != '\0' || v < 1 || v > 65535) {
				fprintf(stderr, "plinkfwd-ctl: bad port '%s' for --connect (1 to 65535)\n", optarg);
				return EXIT_USAGE;
			}
			connect_port = (int)v;
			break;
		}
		case 'h': usage(stdout); return EXIT_OK;
		case 'v': printf("plinkfwd-ctl %s\n", PACKAGE_VERSION); return EXIT_OK;
		case ':':
			fprintf(stderr, "plinkfwd-ctl: option %s needs a value (see plinkfwd-ctl --help)\n",
				bad_option(argc, argv, optbuf, sizeof(optbuf)));
			return EXIT_USAGE;
		default:
			if (optopt != 0 && strchr("jhv", optopt) && strncmp(argv[optind - 1], "--", 2) == 0) {
				fprintf(stderr, "plinkfwd-ctl: option %.*s takes no value\n",
					(int)strcspn(argv[optind - 1], "="), argv[optind - 1]);
				return EXIT_USAGE;
			}
			fprintf(stderr,
				"plinkfwd-ctl: unknown option '%s' (options: -c CONFIG, -s SOCKET, -j, -t SECONDS, -h, "
				"-v; '--' before an argument that starts with '-')\n",
				bad_option(argc, argv, optbuf, sizeof(optbuf)));
			return EXIT_USAGE;
		}
	}
	if (optind >= argc) {
		fprintf(stderr, "plinkfwd-ctl: no command given\n");
		usage(stderr);
		return EXIT_USAGE;
	}

	if (connect_port > 0 && strcmp(argv[optind], "check") != 0) {
		fprintf(stderr, "plinkfwd-ctl: --connect goes with check only\n");
		return EXIT_USAGE;
	}
	if (strcmp(argv[optind], "check") == 0) {
		if (argc - optind != 2 || argv[optind + 1][0] == '\0' || strpbrk(argv[optind + 1], " \t\r\n")) {
			fprintf(stderr, "plinkfwd-ctl: usage: check NAME [--connect PORT] [--json]\n");
			return EXIT_USAGE;
		}
		if (!sock) {
			if (!(sock_found = socket_from_config(cfgpath)))
				return EXIT_UNREACHABLE;
			sock = sock_found;
		}
		struct ctl_conn conn = {sock, timeout_s};
		int crc = ctl_check_run(ctl_request, &conn, argv[optind + 1], connect_port, json);
		free(sock_found);
		return crc;
	}

	char req[CTL_REQ_MAX];
	size_t n = 0;
	for (int i = optind; i < argc; i++) {
		if (strpbrk(argv[i], " \t\r\n") || argv[i][0] == '\0') {
			fprintf(stderr, "plinkfwd-ctl: argument '%s' must be one word\n", argv[i]);
			return EXIT_USAGE;
		}
		int m = snprintf(req + n, sizeof(req) - n, "%s%s", i > optind ? " " : "", argv[i]);
		if (m < 0 || (size_t)m >= sizeof(req) - n - 1) {
			fprintf(stderr, "plinkfwd-ctl: request too long\n");
			return EXIT_USAGE;
		}
		n += (size_t)m;
	}
	req[n++] = '\n';
	req[n] = '\0';

	if (!sock) {
		if (!(sock_found = socket_from_config(cfgpath)))
			return EXIT_UNREACHABLE;
		sock = sock_found;
	}

	int rc = EXIT_UNREACHABLE;
	int fd = ctl_connect(sock);
	char *resp = fd >= 0 ? ctl_exchange(fd, req, &fwd_clock_monotonic, timeout_s) : NULL;
	if (fd >= 0)
		close(fd);
	cJSON *o = resp ? cJSON_Parse(resp) : NULL;
	if (resp && !cJSON_IsObject(o)) {
		fprintf(stderr, "plinkfwd-ctl: the daemon's answer is not JSON: %.200s\n", resp);
	} else if (o) {
		int ok = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(o, "ok"));
		if (json)
			fputs(resp, stdout);
		else if (ok)
			print_text(argv[optind], o);
		if (!ok) {
			const char *e = jstr(o, "error");
			fprintf(stderr, "plinkfwd-ctl: %s failed: %s\n", argv[optind], e ? e : "(no reason given)");
		}
		rc = ok ? EXIT_OK : EXIT_FAILED;
	}
	cJSON_Delete(o);
	free(resp);
	free(sock_found);
	return rc;
}
