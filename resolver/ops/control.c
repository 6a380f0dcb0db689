/*
 * control.c -- the control socket: one request line in, one JSON line out
 * (protocol in control.h).  Runs on the main event loop only.
 */
#include "control.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/listener.h>

#include "arm_config.h"
#include "arm_sync.h"
#include "cache.h"
#include "client.h"
#include "collect.h"
#include "common.h"
#include "config.h"
#include "control_json.h"
#include "daemon.h"
#include "explain.h"
#include "log.h"
#include "loop_view.h"
#include "querylog.h"
#include "route.h"
#include "snapshot.h"
#include "xfr_notify.h"
#include "status_json.h"
#include "wire.h"
#include "worker.h"
#include "xfr_in.h"
#include "zone.h"

#ifndef PACKAGE_VERSION
#define PACKAGE_VERSION "unknown"
#endif

#define CTL_LINE_MAX 4096
#define CTL_MAX_CONNS 128 /* control clients at once; more are told so and closed */
#define CTL_TIMEOUT_S 10
#define CTL_MAX_ARGS 8
#define CTL_DRAIN_MAX (64u << 10)

struct ctl_conn;

struct control {
	struct daemon *d;
	char *path;
	dev_t dev;                  /* identity of the socket file we created */
	ino_t ino;
	struct evconnlistener *lev;
	struct ctl_conn *conns;     /* open connections (list) */
	int nconns;
};

struct ctl_conn {
	struct control *c;
	struct bufferevent *bev;
	size_t drained;             /* bytes dropped after the answer */
	struct ctl_conn *next;
};

/* ------------------------------------------------------------ commands */

/* The one status object /status.json serves too (status_json.h). */
static cJSON *cmd_status(struct daemon *d)
{
	cJSON *o = NULL;
	if (status_json(d, &o) != FWD_OK)
		return ctl_err("out of memory");
	return o;
}

static cJSON *cmd_reload(struct daemon *d)
{
	if (daemon_reload(d) != FWD_OK)
		return ctl_err("%s", d->last_reload_error[0] ? d->last_reload_error : "reload failed (see the log)");
	struct snapshot *snap = daemon_acquire(d);
	cJSON *o = ctl_ok();
	ctl_add_u64(o, "generation", snap->generation);
	ctl_add_u64(o, "zones", snap->nzones);
	snapshot_unref(snap);
	return o;
}

/* DoT or DoH connections: open now, and what became of them. */
static void conns_json(cJSON *o, const struct stats_conns *c, uint64_t open)
{
	ctl_add_u64(o, "open", open);
	ctl_add_u64(o, "accepted", c->accepted);
	ctl_add_u64(o, "handshakes", c->handshakes);
	ctl_add_u64(o, "resumed", c->resumed);
	ctl_add_u64(o, "denied", c->denied);
	ctl_add_u64(o, "over_limit", c->over_limit);
	ctl_add_u64(o, "idle", c->idle);
	ctl_add_u64(o, "deadline", c->deadline);
	ctl_add_u64(o, "tls_error", c->tls_error);
	ctl_add_u64(o, "bad_stream", c->bad_stream);
}

static cJSON *cmd_stats(struct daemon *d)
{
	struct stats_total *t = calloc(1, sizeof(*t));
	if (!t)
		return ctl_err("out of memory");
	stats_collect(d, t);
	cJSON *o = ctl_ok();
	cJSON *q = cJSON_AddObjectToObject(o, "queries");
	ctl_add_u64(q, "udp", t->queries_udp);
	ctl_add_u64(q, "tcp", t->queries_tcp);
	ctl_add_u64(q, "dropped", t->dropped);
	cJSON *tc = cJSON_AddObjectToObject(o, "tcp_closed");
	ctl_add_u64(tc, "denied", t->tcp_denied);
	ctl_add_u64(tc, "over_limit", t->tcp_over_limit);
	ctl_add_u64(tc, "deadline", t->tcp_deadline);
	cJSON *xf = cJSON_AddObjectToObject(o, "xfr");
	for (int oc = 0; oc < XFR_OUT_NOUTCOMES; oc++)
		ctl_add_u64(xf, xfr_outcome_name((enum xfr_outcome)oc), t->xfr[oc]);
	ctl_add_u64(xf, "aborted", t->xfr_aborted);
	struct xfr_notify_stats ns;
	xfr_notify_get_stats(d->notify, &ns);
	cJSON *nf = cJSON_AddObjectToObject(o, "notify");
	ctl_add_u64(nf, "sent", ns.sent);
	ctl_add_u64(nf, "retries", ns.retries);
	ctl_add_u64(nf, "answered", ns.answered);
	ctl_add_u64(nf, "unverified", ns.unverified);
	ctl_add_u64(nf, "failed", ns.failed);
	ctl_add_u64(q, "tls", t->queries_tls);
	ctl_add_u64(q, "https", t->queries_https);
	conns_json(cJSON_AddObjectToObject(o, "tls"), &t->tls, t->tls_conns);
	conns_json(cJSON_AddObjectToObject(o, "https"), &t->https, t->https_conns);
	cJSON *a = cJSON_AddObjectToObject(o, "answers");
	for (int tr = 0; tr < STATS_TRANSPORTS; tr++) {
		cJSON *ta = cJSON_AddObjectToObject(a, client_transport_name((enum client_transport)tr));
		for (int s = 0; s < STATS_SRC_N; s++)
			cJSON_AddItemToObject(ta, stats_source_name((enum stats_source)s),
					      ctl_rcodes_json(t->answers[tr][s]));
	}
	cJSON *lat = cJSON_AddObjectToObject(o, "latency_us_avg");
	for (int s = 0; s < STATS_SRC_N; s++) {
		uint64_t n = 0;
		for (int b = 0; b < STATS_LAT_N; b++)
			n += t->lat[s][b];
		ctl_add_u64(lat, stats_source_name((enum stats_source)s), n ? t->lat_sum_us[s] / n : 0);
	}
	cJSON *g = cJSON_AddObjectToObject(o, "upstream");
	for (size_t i = 0; i < t->ngroups; i++) {
		cJSON *gg = cJSON_AddObjectToObject(g, t->groups[i].name);
		uint64_t n = t->groups[i].answered + t->groups[i].failed;
		ctl_add_u64(gg, "answered", t->groups[i].answered);
		ctl_add_u64(gg, "failed", t->groups[i].failed);
		ctl_add_u64(gg, "latency_us_avg", n ? t->groups[i].lat_sum_us / n : 0);
	}
	cJSON *ua = cJSON_AddObjectToObject(o, "upstream_attempts");
	ctl_add_u64(ua, "sent", t->up.sent);
	ctl_add_u64(ua, "sent_tcp", t->up.sent_tcp);
	ctl_add_u64(ua, "replies", t->up.answered);
	ctl_add_u64(ua, "timeouts", t->up.timeouts);
	ctl_add_u64(ua, "malformed", t->up.malformed);
	ctl_add_u64(ua, "errors", t->up.errors);
	ctl_add_u64(ua, "coalesced", t->up.coalesced);
	ctl_add_u64(ua, "capped", t->up.capped);
	ctl_add_u64(ua, "marked_down", t->up.marked_down);
	ctl_add_u64(ua, "probes", t->up.probes);
	cJSON *svs = cJSON_AddObjectToObject(o, "servers");
	for (size_t i = 0; i < t->nservers; i++) {
		char buf[128];
		const struct stats_server *sv = &t->servers[i];
		cJSON *so = cJSON_AddObjectToObject(svs, ctl_addr_text(&sv->addr, buf, sizeof(buf)));
		ctl_add_u64(so, "sent", sv->sent);
		ctl_add_u64(so, "answered", sv->answered);
		ctl_add_u64(so, "failed", sv->failed);
		ctl_add_u64(so, "srtt_us", sv->srtt_n ? sv->srtt_sum_us / sv->srtt_n : 0);
		cJSON_AddBoolToObject(so, "down", sv->down > 0);
	}
	ctl_add_u64(o, "upstream_pending", t->pending);
	ctl_add_u64(o, "tcp_connections", t->tcp_conns);
	cJSON *c = cJSON_AddObjectToObject(o, "cache");
	uint64_t entries = 0, bytes = 0;
	if (d->cache)
		cache_usage(d->cache, &entries, &bytes);
	ctl_add_u64(c, "hits", t->cache_hits);
	ctl_add_u64(c, "misses", t->cache_misses);
	ctl_add_u64(c, "stale", t->cache_stale);
	ctl_add_u64(c, "evictions", cache_evictions(d->cache));
	ctl_add_u64(c, "entries", entries);
	ctl_add_u64(c, "bytes", bytes);
	ctl_add_u64(o, "spliced", t->spliced);
	ctl_add_u64(o, "splice_too_deep", t->splice_too_deep);
	ctl_add_u64(o, "fallbacks", t->fallbacks);
	cJSON *r = cJSON_AddObjectToObject(o, "reloads");
	ctl_add_u64(r, "ok", d->reloads_ok);
	ctl_add_u64(r, "failed", d->reloads_failed);
	if (d->qlog) {
		uint64_t lines, lost;
		querylog_counts(d->qlog, &lines, &lost);
		cJSON *ql = cJSON_AddObjectToObject(o, "querylog");
		ctl_add_u64(ql, "lines", lines);
		ctl_add_u64(ql, "lost", lost);
	}
	if (d->arm) {
		struct arm_sync_stats as;
		arm_sync_stats(d->arm, &as);
		cJSON *ao = cJSON_AddObjectToObject(o, "arm");
		ctl_add_u64(ao, "rounds", as.rounds);
		ctl_add_u64(ao, "rounds_failed", as.rounds_failed);
		ctl_add_u64(ao, "requests", as.requests);
		ctl_add_u64(ao, "throttled", as.throttled);
		ctl_add_u64(ao, "retries", as.retries);
		ctl_add_u64(ao, "zones", as.zones);
		ctl_add_u64(ao, "records", as.records);
	}
	free(t);
	return o;
}

/* Secondary zones (xfr_in.h): their entries say so and carry the state
 * of their transfers. */
static void ctl_secondary_fields(cJSON *zl, const struct xfr_in *x)
{
	cJSON *z;
	for (size_t i = 0; i < xfr_in_count(x); i++) {
		struct xfr_in_info in;
		if (xfr_in_info(x, i, &in) != FWD_OK)
			continue;
		cJSON_ArrayForEach(z, zl)
		{
			const cJSON *n = cJSON_GetObjectItemCaseSensitive(z, "name");
			if (!cJSON_IsString(n) || strcmp(n->valuestring, in.name) != 0)
				continue;
			cJSON_ReplaceItemInObjectCaseSensitive(z, "source", cJSON_CreateString("secondary"));
			cJSON_DeleteItemFromObjectCaseSensitive(z, "serial");
			if (in.has_copy)
				ctl_add_u64(z, "serial", in.serial);
			else
				cJSON_AddNullToObject(z, "serial");
			cJSON_AddBoolToObject(z, "expired", in.expired);
			ctl_add_time(z, "last_refresh", (int64_t)in.last_refresh_wall);
			ctl_add_time(z, "last_failure", (int64_t)in.last_failure_wall);
			if (in.last_error[0])
				cJSON_AddStringToObject(z, "last_error", in.last_error);
			if (in.expires_in_s >= 0)
				ctl_add_u64(z, "expires_in_s", (uint64_t)in.expires_in_s);
			else
				cJSON_AddNullToObject(z, "expires_in_s");
			ctl_add_u64(z, "axfr", in.axfr);
			ctl_add_u64(z, "ixfr", in.ixfr);
			ctl_add_u64(z, "notifies", in.notifies);
			cJSON *r = cJSON_AddObjectToObject(z, "rejected");
			for (int k = 1; k < XFR_IN_NREJECT; k++)
				ctl_add_u64(r, xfr_in_reject_name((enum xfr_in_reject)k), in.rejected[k]);
		}
	}
}

static cJSON *cmd_zones(struct daemon *d)
{
	struct snapshot *snap = daemon_acquire(d);
	struct arm_sync_stats as;
	int have_arm = d->arm != NULL;
	if (have_arm)
		arm_sync_stats(d->arm, &as);
	cJSON *o = ctl_ok();
	cJSON *zl = ctl_zone_list(snap, d->arm);
	cJSON_AddItemToObject(o, "zones", zl);
	ctl_secondary_fields(zl, d->xfr);
	if (have_arm) {
		cJSON *a = cJSON_AddObjectToObject(o, "arm");
		cJSON_AddBoolToObject(a, "running", as.running);
		ctl_add_time(a, "last_success", as.last_success_unix);
		ctl_add_u64(a, "last_duration_ms", as.last_duration_ms);
		ctl_add_u64(a, "rounds", as.rounds);
		ctl_add_u64(a, "rounds_failed", as.rounds_failed);
		ctl_add_u64(a, "throttled", as.throttled);
		if (as.last_error[0])
			cJSON_AddStringToObject(a, "last_error", as.last_error);
		else
			cJSON_AddNullToObject(a, "last_error");
	} else if (snap->cfg->arm) {
		cJSON *a = cJSON_AddObjectToObject(o, "arm");
		cJSON_AddBoolToObject(a, "running", 0);
		cJSON_AddStringToObject(a, "error", "arm sync is not running (see the log)");
	} else {
		cJSON_AddNullToObject(o, "arm");
	}
	loop_view_status(d, o);
	snapshot_unref(snap);
	return o;
}

static cJSON *cmd_sync(struct daemon *d, const char *zone)
{
	if (!d->arm)
		return ctl_err("no arm: clause is configured (or ARM sync failed to start; see the log)");
	if (zone) {
		uint8_t w[WIRE_MAX_NAME];
		if (wire_name_from_text(zone, w) < 0)
			return ctl_err("'%s' is not a valid zone name", zone);
	}
	log_info("control: sync %s", zone ? zone : "all zones");
	arm_sync_trigger(d->arm, zone);
	cJSON *o = ctl_ok();
	if (zone)
		cJSON_AddStringToObject(o, "zone", zone);
	else
		cJSON_AddNullToObject(o, "zone");
	cJSON_AddStringToObject(o, "message", "sync started; see 'zones' for its result");
	return o;
}

static cJSON *cmd_flush(struct daemon *d, const char *name)
{
	if (!d->cache)
		return ctl_err("no cache in this daemon: nothing to flush");
	size_t n = 0;
	if (cache_flush(d->cache, name, &n) != FWD_OK)
		return ctl_err("'%s' is not a valid domain name", name);
	log_info("control: flushed %zu cache entr%s%s%s", n, n == 1 ? "y" : "ies", name ? " at and below " : "",
		 name ? name : "");
	cJSON *o = ctl_ok();
	if (name)
		cJSON_AddStringToObject(o, "name", name);
	else
		cJSON_AddNullToObject(o, "name");
	cJSON_AddNumberToObject(o, "removed", (double)n);
	char msg[1200];
	snprintf(msg, sizeof(msg), "removed %zu cache entr%s%s%s", n, n == 1 ? "y" : "ies",
		 name ? " at and below " : "", name ? name : "");
	cJSON_AddStringToObject(o, "message", msg);
	return o;
}

/* Split line into at most CTL_MAX_ARGS blank-separated words (in place). */
static int split_words(char *line, char **argv)
{
	int argc = 0;
	char *save = NULL;
	for (char *t = strtok_r(line, " \t\r", &save); t; t = strtok_r(NULL, " \t\r", &save)) {
		if (argc == CTL_MAX_ARGS)
			return -1;
		argv[argc++] = t;
	}
	return argc;
}

/* Every command with the arguments it takes: a request with too few or too
 * many is answered with its usage, naming what was wrong. */
static const struct {
	const char *name;
	int min, max;         /* arguments after the command word */
	const char *usage;
} commands[] = {
	{"status", 0, 0, "status"},      {"reload", 0, 0, "reload"},
	{"stats", 0, 0, "stats"},        {"zones", 0, 0, "zones"},
	{"sync", 0, 1, "sync [ZONE]"},   {"flush", 0, 1, "flush [NAME]"},
	{"explain", 1, 2, "explain NAME [TYPE]"},
	{"check", 1, 1, "check NAME"},
};

static cJSON *bad_arity(int ci, int argc, char **argv)
{
	int nargs = argc - 1;
	if (nargs < commands[ci].min)
		return ctl_err("'%s' needs %s (usage: %s)", argv[0], commands[ci].min == 1 ? "an argument" : "arguments",
			       commands[ci].usage);
	const char *extra = argv[1 + commands[ci].max];
	/* an option of an older plinkfwd-ctl that stopped at the command
	 * ("status -j") arrives here as an argument */
	return ctl_err("'%s' takes %s, not '%s'%s (usage: %s)", argv[0],
		       commands[ci].max == 0   ? "no argument"
		       : commands[ci].max == 1 ? "at most one argument"
					       : "at most two arguments",
		       extra, extra[0] == '-' ? ", which looks like an option: put options before the command" : "",
		       commands[ci].usage);
}

char *control_run(struct daemon *d, const char *line)
{
	char buf[CTL_LINE_MAX];
	char *argv[CTL_MAX_ARGS];
	cJSON *o = NULL;

	snprintf(buf, sizeof(buf), "%s", line);
	int argc = split_words(buf, argv);
	int ci = -1;
	for (size_t i = 0; argc > 0 && i < FWD_ARRAY_LEN(commands); i++)
		if (strcmp(argv[0], commands[i].name) == 0)
			ci = (int)i;
	if (argc <= 0) {
		o = ctl_err(argc == 0 ? "empty request" : "too many arguments");
	} else if (ci < 0) {
		o = ctl_err("unknown command '%s' (status, reload, stats, zones, flush, sync, explain, check)", argv[0]);
	} else if (argc - 1 < commands[ci].min || argc - 1 > commands[ci].max) {
		o = bad_arity(ci, argc, argv);
	} else if (strcmp(argv[0], "status") == 0) {
		o = cmd_status(d);
	} else if (strcmp(argv[0], "reload") == 0) {
		log_info("control: reloading %s", d->cfgpath);
		o = cmd_reload(d);
	} else if (strcmp(argv[0], "stats") == 0) {
		o = cmd_stats(d);
	} else if (strcmp(argv[0], "zones") == 0) {
		o = cmd_zones(d);
	} else if (strcmp(argv[0], "sync") == 0) {
		o = cmd_sync(d, argc == 2 ? argv[1] : NULL);
	} else if (strcmp(argv[0], "flush") == 0) {
		o = cmd_flush(d, argc == 2 ? argv[1] : NULL);
	} else if (strcmp(argv[0], "explain") == 0) {
		o = explain_json(d, argv[1], argc == 3 ? argv[2] : NULL);
	} else if (strcmp(argv[0], "check") == 0) {
		o = explain_check_json(d, argv[1]);
	}
	if (!o)
		return NULL;
	char *s = cJSON_PrintUnformatted(o);
	cJSON_Delete(o);
	return s;
}

/* ------------------------------------------------------------ socket */

static void conn_event_cb(struct bufferevent *bev, short what, void *arg);

static void conn_free(struct ctl_conn *cc)
{
	struct control *c = cc->c;
	for (struct ctl_conn **p = &c->conns; *p; p = &(*p)->next)
		if (*p == cc) {
			*p = cc->next;
			break;
		}
	c->nconns--;
	bufferevent_free(cc->bev);
	free(cc);
}

/* After the answer: whatever the client still sends is read and dropped
 * until it closes, so that our close never meets unread data (which would
 * reset the connection and could destroy the answer before it is read). */
static void conn_drain_cb(struct bufferevent *bev, void *arg)
{
	struct ctl_conn *cc = arg;
	struct evbuffer *in = bufferevent_get_input(bev);
	cc->drained += evbuffer_get_length(in);
	evbuffer_drain(in, evbuffer_get_length(in));
	if (cc->drained > CTL_DRAIN_MAX)
		conn_free(cc);
}

static void conn_write_cb(struct bufferevent *bev, void *arg)
{
	struct ctl_conn *cc = arg;
	/* the answer is out: one request per connection, so say EOF and
	 * wait for the client's */
	shutdown(bufferevent_getfd(bev), SHUT_WR);
	bufferevent_setcb(bev, conn_drain_cb, NULL, conn_event_cb, cc);
	bufferevent_enable(bev, EV_READ);
}

static void conn_reply(struct ctl_conn *cc, const char *json)
{
	bufferevent_disable(cc->bev, EV_READ);
	bufferevent_setcb(cc->bev, NULL, conn_write_cb, conn_event_cb, cc);
	bufferevent_write(cc->bev, json, strlen(json));
	bufferevent_write(cc->bev, "\n", 1);
}

static void conn_read_cb(struct bufferevent *bev, void *arg)
{
	struct ctl_conn *cc = arg;
	struct evbuffer *in = bufferevent_get_input(bev);
	size_t n = 0;
	char *line = evbuffer_readln(in, &n, EVBUFFER_EOL_LF);
	if (!line) {
		if (evbuffer_get_length(in) >= CTL_LINE_MAX)
			conn_reply(cc, "{\"ok\":false,\"error\":\"request line too long\"}");
		return;
	}
	if (memchr(line, '\0', n) != NULL) {
		/* the commands are C strings: "status\0reload" must not run
		 * as "status" while the rest is silently dropped */
		free(line);
		conn_reply(cc, "{\"ok\":false,\"error\":\"request line contains a NUL byte\"}");
		return;
	}
	char *ans = n < CTL_LINE_MAX ? control_run(cc->c->d, line) : NULL;
	free(line);
	conn_reply(cc, ans ? ans : "{\"ok\":false,\"error\":\"request line too long or out of memory\"}");
	free(ans);
}

static void conn_event_cb(struct bufferevent *bev, short what, void *arg)
{
	/* EOF before a full line, an error, or the timeout */
	conn_free(arg);
}

static void control_accept_cb(struct evconnlistener *lev, evutil_socket_t fd, struct sockaddr *sa, int salen,
			      void *arg)
{
	struct control *c = arg;
	if (c->nconns >= CTL_MAX_CONNS) {
		/* One short line fits any fresh socket's buffer: the client
		 * learns why instead of reading a bare EOF. */
		static const char busy[] = "{\"ok\":false,\"error\":\"too many control connections; try again\"}\n";
		ssize_t w = send(fd, busy, sizeof busy - 1, MSG_DONTWAIT | MSG_NOSIGNAL);
		(void)w;
		log_warn("control: %d connections open, refusing a new one", CTL_MAX_CONNS);
		evutil_closesocket(fd);
		return;
	}
	struct ctl_conn *cc = calloc(1, sizeof(*cc));
	struct bufferevent *bev = bufferevent_socket_new(c->d->base, fd, BEV_OPT_CLOSE_ON_FREE);
	if (!cc || !bev) {
		free(cc);
		if (bev)
			bufferevent_free(bev);
		else
			evutil_closesocket(fd);
		return;
	}
	cc->c = c;
	cc->bev = bev;
	cc->next = c->conns;
	c->conns = cc;
	c->nconns++;
	struct timeval tv = {CTL_TIMEOUT_S, 0};
	bufferevent_set_timeouts(bev, &tv, &tv);
	bufferevent_setcb(bev, conn_read_cb, NULL, conn_event_cb, cc);
	bufferevent_enable(bev, EV_READ);
}

/* Is something accepting on the socket file at path? */
static int socket_alive(const struct sockaddr_un *sun)
{
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return 0;
	int alive = connect(fd, (const struct sockaddr *)sun, sizeof(*sun)) == 0;
	close(fd);
	return alive;
}

struct control *control_new(struct daemon *d, const char *path, int mode, long uid, long gid)
{
	struct sockaddr_un sun;
	struct stat st;
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sun.sun_path)) {
		log_err("control-socket %s: path longer than %zu bytes", path, sizeof(sun.sun_path) - 1);
		return NULL;
	}
	memcpy(sun.sun_path, path, strlen(path));
	if (lstat(path, &st) == 0) {
		if (!S_ISSOCK(st.st_mode)) {
			log_err("control-socket %s: exists and is not a socket; not replacing it", path);
			return NULL;
		}
		if (socket_alive(&sun)) {
			log_err("control-socket %s: another process is serving it (another plinkfwd running?)", path);
			return NULL;
		}
		unlink(path); /* stale, from a daemon that died */
	}
	struct control *c = calloc(1, sizeof(*c));
	if (!c || !(c->path = strdup(path))) {
		free(c);
		log_err("control: out of memory");
		return NULL;
	}
	c->d = d;
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0) {
		log_err("control-socket %s: socket: %s", path, strerror(errno));
		goto fail;
	}
	/* the file is created by bind() with the umask applied: no moment
	 * exists in which it is more open than `mode` */
	mode_t old = umask((mode_t)(~mode & 0777));
	int rc = bind(fd, (struct sockaddr *)&sun, sizeof(sun));
	umask(old);
	if (rc < 0) {
		log_err("control-socket %s: bind: %s", path, strerror(errno));
		close(fd);
		goto fail;
	}
	if (chmod(path, (mode_t)mode) < 0 ||
	    ((uid >= 0 || gid >= 0) && chown(path, (uid_t)uid, (gid_t)gid) < 0)) {
		log_err("control-socket %s: cannot set its mode or owner: %s", path, strerror(errno));
		close(fd);
		unlink(path);
		goto fail;
	}
	if (stat(path, &st) == 0) {
		c->dev = st.st_dev;
		c->ino = st.st_ino;
	}
	/* A deep backlog: monitoring scripts connect many at once, and a
	 * non-blocking connect() to a UNIX socket whose backlog is full fails
	 * with EAGAIN instead of waiting. */
	c->lev = evconnlistener_new(d->base, control_accept_cb, c, LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC,
				    SOMAXCONN, fd);
	if (!c->lev) {
		log_err("control-socket %s: cannot listen", path);
		close(fd);
		unlink(path);
		goto fail;
	}
	log_info("control socket %s (mode %04o)", path, (unsigned)mode);
	return c;
fail:
	free(c->path);
	free(c);
	return NULL;
}

void control_free(struct control *c)
{
	if (!c)
		return;
	while (c->conns)
		conn_free(c->conns);
	if (c->lev)
		evconnlistener_free(c->lev);
	struct stat st;
	/* only our own file: a new daemon may already have replaced it */
	if (stat(c->path, &st) == 0 && st.st_dev == c->dev && st.st_ino == c->ino && unlink(c->path) < 0)
		log_debug("control-socket %s: cannot remove: %s", c->path, strerror(errno));
	free(c->path);
	free(c);
}

const char *control_path(const struct control *c) { return c->path; }
