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
#include <ldns/ldns.h>

#include "arm_config.h"
#include "arm_records.h"
#include "arm_sync.h"
#include "cache.h"
#include "clock.h"
#include "common.h"
#include "config.h"
#include "daemon.h"
#include "log.h"
#include "querylog.h"
#include "route.h"
#include "snapshot.h"
#include "collect.h"
#include "wire.h"
#include "worker.h"
#include "zone.h"

#ifndef PACKAGE_VERSION
#define PACKAGE_VERSION "unknown"
#endif

#define CTL_LINE_MAX 4096
#define CTL_MAX_CONNS 16
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

/* ------------------------------------------------------------ JSON helpers */

static cJSON *ok_obj(void)
{
	cJSON *o = cJSON_CreateObject();
	if (o)
		cJSON_AddBoolToObject(o, "ok", 1);
	return o;
}

static cJSON *err_obj(const char *fmt, ...) FWD_PRINTF(1, 2);
static cJSON *err_obj(const char *fmt, ...)
{
	char msg[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	cJSON *o = cJSON_CreateObject();
	if (o) {
		cJSON_AddBoolToObject(o, "ok", 0);
		cJSON_AddStringToObject(o, "error", msg);
	}
	return o;
}

static void add_u64(cJSON *o, const char *k, uint64_t v) { cJSON_AddNumberToObject(o, k, (double)v); }

static void add_time_or_null(cJSON *o, const char *k, int64_t unix_s)
{
	if (unix_s > 0)
		cJSON_AddNumberToObject(o, k, (double)unix_s);
	else
		cJSON_AddNullToObject(o, k);
}

static const char *addr_text(const struct sockaddr_storage *ss, char *buf, size_t cap)
{
	char a[INET6_ADDRSTRLEN] = "?";
	if (ss->ss_family == AF_INET) {
		const struct sockaddr_in *s4 = (const struct sockaddr_in *)ss;
		inet_ntop(AF_INET, &s4->sin_addr, a, sizeof(a));
		snprintf(buf, cap, "%s@%u", a, ntohs(s4->sin_port));
	} else if (ss->ss_family == AF_INET6) {
		const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)ss;
		inet_ntop(AF_INET6, &s6->sin6_addr, a, sizeof(a));
		snprintf(buf, cap, "[%s]@%u", a, ntohs(s6->sin6_port));
	} else {
		snprintf(buf, cap, "?");
	}
	return buf;
}

static const char *origin_name(enum route_origin o)
{
	switch (o) {
	case ORIGIN_ZONE_FILE: return "zone-file";
	case ORIGIN_ZONE_ARM: return "arm";
	case ORIGIN_FORWARD: return "forward-rule";
	case ORIGIN_CATALOGUE: return "catalogue";
	case ORIGIN_DEFAULT: return "default";
	}
	return "unknown";
}

static const char *zone_status_name(enum zone_status st)
{
	switch (st) {
	case ZONE_ANSWER: return "answer";
	case ZONE_CNAME_OUT: return "cname-out";
	case ZONE_NODATA: return "nodata";
	case ZONE_NXDOMAIN: return "nxdomain";
	}
	return "unknown";
}

/* The config clause of a file zone, matched by name. */
static const struct cfg_zone *cfg_zone_find(const struct cfg *cfg, const char *name)
{
	for (size_t i = 0; i < cfg->nzones; i++)
		if (strcasecmp(cfg->zones[i].name, name) == 0)
			return &cfg->zones[i];
	return NULL;
}

/* The ARM side of a synced zone: where it comes from and how its last
 * listings went (zones, explain). */
static void arm_zone_fields(cJSON *o, const struct arm_zone_info *zi)
{
	int64_t last = zi ? zi->last_success_unix : 0;

	add_time_or_null(o, "last_sync", last);
	if (last > 0)
		cJSON_AddNumberToObject(o, "age_s", (double)((int64_t)time(NULL) - last));
	else
		cJSON_AddNullToObject(o, "age_s");
	if (zi == NULL) {
		cJSON_AddNullToObject(o, "last_attempt");
		cJSON_AddNullToObject(o, "last_error");
		return;
	}
	add_time_or_null(o, "last_attempt", zi->last_attempt_unix);
	if (zi->last_error)
		cJSON_AddStringToObject(o, "last_error", zi->last_error);
	else
		cJSON_AddNullToObject(o, "last_error");
	add_u64(o, "consecutive_failures", zi->consecutive_failures);
	add_u64(o, "attempts", zi->attempts);
	add_u64(o, "failures", zi->failures);
	add_u64(o, "throttled", zi->throttled);
	add_u64(o, "record_sets", zi->record_sets);
	cJSON *srcs = cJSON_AddArrayToObject(o, "sources");
	for (size_t i = 0; i < zi->nsources; i++) {
		char part[256];
		cJSON *so = cJSON_CreateObject();
		cJSON_AddStringToObject(so, "id", zi->sources[i]);
		if (arm_records_id_part(zi->sources[i], "subscriptions", part, sizeof(part)) == 0)
			cJSON_AddStringToObject(so, "subscription", part);
		if (arm_records_id_part(zi->sources[i], "resourcegroups", part, sizeof(part)) == 0)
			cJSON_AddStringToObject(so, "resource_group", part);
		cJSON_AddItemToArray(srcs, so);
	}
}

/* Describe one zone of the snapshot (zones, explain). */
static cJSON *zone_json(const struct snapshot *snap, const struct route_zone *rz, const struct arm_sync *arm)
{
	cJSON *o = cJSON_CreateObject();
	char name[1025];
	size_t alen;
	wire_name_to_text(zone_apex(rz->zone, &alen), name, sizeof(name));
	cJSON_AddStringToObject(o, "name", name);
	cJSON_AddStringToObject(o, "source", rz->origin == ORIGIN_ZONE_ARM ? "arm" : "file");
	cJSON_AddBoolToObject(o, "served", 1);
	add_u64(o, "records", zone_rr_count(rz->zone));
	add_u64(o, "serial", zone_serial(rz->zone));
	cJSON_AddStringToObject(o, "fallback", rz->fallback_public ? "public" : "none");
	if (rz->origin == ORIGIN_ZONE_ARM) {
		struct arm_zone_info zi;
		int have = arm != NULL && arm_sync_zone_info(arm, name, &zi) == 0;
		arm_zone_fields(o, have ? &zi : NULL);
	} else {
		const struct cfg_zone *cz = cfg_zone_find(snap->cfg, name);
		if (cz) {
			cJSON_AddStringToObject(o, "file", cz->path);
			char where[1100];
			snprintf(where, sizeof(where), "%s:%d", snap->cfg->file, cz->line);
			cJSON_AddStringToObject(o, "config", where);
		}
	}
	return o;
}

/* ------------------------------------------------------------ commands */

static cJSON *cmd_status(struct daemon *d)
{
	struct snapshot *snap = daemon_acquire(d);
	const struct cfg *cfg = snap->cfg;
	cJSON *o = ok_obj();
	char buf[128], why[256];
	time_t now = time(NULL);

	cJSON_AddStringToObject(o, "version", PACKAGE_VERSION);
	cJSON_AddNumberToObject(o, "pid", (double)getpid());
	cJSON_AddNumberToObject(o, "started", (double)d->started);
	cJSON_AddNumberToObject(o, "uptime_s", (double)(now - d->started));
	cJSON_AddStringToObject(o, "config", d->cfgpath);
	add_u64(o, "generation", snap->generation);
	cJSON_AddNumberToObject(o, "workers", d->nworkers);
	/* the listeners opened at start-up: the first snapshot's, which a
	 * reload cannot change; the current config shows what a restart
	 * would use, and reload logs when they differ */
	cJSON *ls = cJSON_AddArrayToObject(o, "listen");
	for (size_t i = 0; i < cfg->nlisten; i++)
		cJSON_AddItemToArray(ls, cJSON_CreateString(addr_text(&cfg->listen[i].ss, buf, sizeof(buf))));
	cJSON_AddStringToObject(o, "cloud", cfg_cloud_name(cfg->cloud));
	cJSON *z = cJSON_AddObjectToObject(o, "zones");
	add_u64(z, "file", snap->nfile_zones);
	add_u64(z, "synced", snap->nzones - snap->nfile_zones);
	cJSON *r = cJSON_AddObjectToObject(o, "reload");
	add_u64(r, "ok", d->reloads_ok);
	add_u64(r, "failed", d->reloads_failed);
	if (d->last_reload_error[0])
		cJSON_AddStringToObject(r, "last_error", d->last_reload_error);
	else
		cJSON_AddNullToObject(r, "last_error");
	int healthy = stats_health(d, 0, why, sizeof(why));
	cJSON_AddStringToObject(o, "health", healthy ? "ok" : why);
	if (d->qlog)
		cJSON_AddStringToObject(o, "query_log", cfg->query_log ? cfg->query_log : "on");
	if (d->arm) {
		struct arm_sync_stats as;
		arm_sync_stats(d->arm, &as);
		cJSON *a = cJSON_AddObjectToObject(o, "arm");
		cJSON_AddBoolToObject(a, "running", as.running);
		add_time_or_null(a, "last_success", as.last_success_unix);
		add_u64(a, "rounds", as.rounds);
		add_u64(a, "rounds_failed", as.rounds_failed);
	} else {
		cJSON_AddNullToObject(o, "arm");
	}
	snapshot_unref(snap);
	return o;
}

static cJSON *cmd_reload(struct daemon *d)
{
	if (daemon_reload(d) != FWD_OK)
		return err_obj("%s", d->last_reload_error[0] ? d->last_reload_error : "reload failed (see the log)");
	struct snapshot *snap = daemon_acquire(d);
	cJSON *o = ok_obj();
	add_u64(o, "generation", snap->generation);
	add_u64(o, "zones", snap->nzones);
	snapshot_unref(snap);
	return o;
}

static cJSON *rcodes_json(const uint64_t *by_rcode)
{
	cJSON *o = cJSON_CreateObject();
	for (int r = 0; r < STATS_RC_N; r++)
		add_u64(o, stats_rcode_name((enum stats_rcode)r), by_rcode[r]);
	return o;
}

static cJSON *cmd_stats(struct daemon *d)
{
	struct stats_total *t = calloc(1, sizeof(*t));
	if (!t)
		return err_obj("out of memory");
	stats_collect(d, t);
	cJSON *o = ok_obj();
	cJSON *q = cJSON_AddObjectToObject(o, "queries");
	add_u64(q, "udp", t->queries_udp);
	add_u64(q, "tcp", t->queries_tcp);
	add_u64(q, "dropped", t->dropped);
	static const char *const tname[2] = {"udp", "tcp"};
	cJSON *a = cJSON_AddObjectToObject(o, "answers");
	for (int tcp = 0; tcp < 2; tcp++) {
		cJSON *ta = cJSON_AddObjectToObject(a, tname[tcp]);
		for (int s = 0; s < STATS_SRC_N; s++)
			cJSON_AddItemToObject(ta, stats_source_name((enum stats_source)s),
					      rcodes_json(t->answers[tcp][s]));
	}
	cJSON *lat = cJSON_AddObjectToObject(o, "latency_us_avg");
	for (int s = 0; s < STATS_SRC_N; s++) {
		uint64_t n = 0;
		for (int b = 0; b < STATS_LAT_N; b++)
			n += t->lat[s][b];
		add_u64(lat, stats_source_name((enum stats_source)s), n ? t->lat_sum_us[s] / n : 0);
	}
	cJSON *g = cJSON_AddObjectToObject(o, "upstream");
	for (size_t i = 0; i < t->ngroups; i++) {
		cJSON *gg = cJSON_AddObjectToObject(g, t->groups[i].name);
		uint64_t n = t->groups[i].answered + t->groups[i].failed;
		add_u64(gg, "answered", t->groups[i].answered);
		add_u64(gg, "failed", t->groups[i].failed);
		add_u64(gg, "latency_us_avg", n ? t->groups[i].lat_sum_us / n : 0);
	}
	cJSON *ua = cJSON_AddObjectToObject(o, "upstream_attempts");
	add_u64(ua, "sent", t->up.sent);
	add_u64(ua, "sent_tcp", t->up.sent_tcp);
	add_u64(ua, "replies", t->up.answered);
	add_u64(ua, "timeouts", t->up.timeouts);
	add_u64(ua, "errors", t->up.errors);
	add_u64(ua, "coalesced", t->up.coalesced);
	add_u64(ua, "capped", t->up.capped);
	add_u64(ua, "marked_down", t->up.marked_down);
	add_u64(ua, "probes", t->up.probes);
	cJSON *svs = cJSON_AddObjectToObject(o, "servers");
	for (size_t i = 0; i < t->nservers; i++) {
		char buf[128];
		const struct stats_server *sv = &t->servers[i];
		cJSON *so = cJSON_AddObjectToObject(svs, addr_text(&sv->addr, buf, sizeof(buf)));
		add_u64(so, "sent", sv->sent);
		add_u64(so, "answered", sv->answered);
		add_u64(so, "failed", sv->failed);
		add_u64(so, "srtt_us", sv->srtt_n ? sv->srtt_sum_us / sv->srtt_n : 0);
		cJSON_AddBoolToObject(so, "down", sv->down > 0);
	}
	add_u64(o, "upstream_pending", t->pending);
	add_u64(o, "tcp_connections", t->tcp_conns);
	cJSON *c = cJSON_AddObjectToObject(o, "cache");
	uint64_t entries = 0, bytes = 0;
	if (d->cache)
		cache_usage(d->cache, &entries, &bytes);
	add_u64(c, "hits", t->cache_hits);
	add_u64(c, "misses", t->cache_misses);
	add_u64(c, "stale", t->cache_stale);
	add_u64(c, "evictions", cache_evictions(d->cache));
	add_u64(c, "entries", entries);
	add_u64(c, "bytes", bytes);
	add_u64(o, "spliced", t->spliced);
	add_u64(o, "fallbacks", t->fallbacks);
	cJSON *r = cJSON_AddObjectToObject(o, "reloads");
	add_u64(r, "ok", d->reloads_ok);
	add_u64(r, "failed", d->reloads_failed);
	if (d->qlog) {
		uint64_t lines, lost;
		querylog_counts(d->qlog, &lines, &lost);
		cJSON *ql = cJSON_AddObjectToObject(o, "querylog");
		add_u64(ql, "lines", lines);
		add_u64(ql, "lost", lost);
	}
	if (d->arm) {
		struct arm_sync_stats as;
		arm_sync_stats(d->arm, &as);
		cJSON *ao = cJSON_AddObjectToObject(o, "arm");
		add_u64(ao, "rounds", as.rounds);
		add_u64(ao, "rounds_failed", as.rounds_failed);
		add_u64(ao, "requests", as.requests);
		add_u64(ao, "throttled", as.throttled);
		add_u64(ao, "retries", as.retries);
		add_u64(ao, "zones", as.zones);
		add_u64(ao, "records", as.records);
	}
	free(t);
	return o;
}

static cJSON *cmd_zones(struct daemon *d)
{
	struct snapshot *snap = daemon_acquire(d);
	struct arm_sync_stats as;
	int have_arm = d->arm != NULL;
	if (have_arm)
		arm_sync_stats(d->arm, &as);
	cJSON *o = ok_obj();
	cJSON *zs = cJSON_AddArrayToObject(o, "zones");
	for (size_t i = 0; i < snap->nzones; i++)
		cJSON_AddItemToArray(zs, zone_json(snap, &snap->zones[i], d->arm));
	/* zones ARM lists but that are not served: their listing never
	 * succeeded, and the reason is what the admin is looking for */
	for (size_t i = 0; have_arm && i < arm_sync_zone_count(d->arm); i++) {
		struct arm_zone_info zi;
		char name[300];
		if (arm_sync_zone_at(d->arm, i, &zi) != 0 || zi.served)
			continue;
		cJSON *z = cJSON_CreateObject();
		snprintf(name, sizeof(name), "%s.", zi.name);
		cJSON_AddStringToObject(z, "name", name);
		cJSON_AddStringToObject(z, "source", "arm");
		cJSON_AddBoolToObject(z, "served", 0);
		add_u64(z, "records", 0);
		cJSON_AddNullToObject(z, "serial");
		cJSON_AddNullToObject(z, "fallback");
		arm_zone_fields(z, &zi);
		cJSON_AddItemToArray(zs, z);
	}
	if (have_arm) {
		cJSON *a = cJSON_AddObjectToObject(o, "arm");
		cJSON_AddBoolToObject(a, "running", as.running);
		add_time_or_null(a, "last_success", as.last_success_unix);
		add_u64(a, "last_duration_ms", as.last_duration_ms);
		add_u64(a, "rounds", as.rounds);
		add_u64(a, "rounds_failed", as.rounds_failed);
		add_u64(a, "throttled", as.throttled);
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
	snapshot_unref(snap);
	return o;
}

static cJSON *cmd_sync(struct daemon *d, const char *zone)
{
	if (!d->arm)
		return err_obj("no arm: clause is configured (or ARM sync failed to start; see the log)");
	if (zone) {
		uint8_t w[WIRE_MAX_NAME];
		if (wire_name_from_text(zone, w) < 0)
			return err_obj("'%s' is not a valid zone name", zone);
	}
	log_info("control: sync %s", zone ? zone : "all zones");
	arm_sync_trigger(d->arm, zone);
	cJSON *o = ok_obj();
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
		return err_obj("no cache in this daemon: nothing to flush");
	size_t n = 0;
	if (cache_flush(d->cache, name, &n) != FWD_OK)
		return err_obj("'%s' is not a valid domain name", name);
	log_info("control: flushed %zu cache entr%s%s%s", n, n == 1 ? "y" : "ies", name ? " at and below " : "",
		 name ? name : "");
	cJSON *o = ok_obj();
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

/* ldns's presentation of a record on one line: it separates the fields
 * with tabs and ends with a newline (blanks inside the data are kept). */
static void rr_text_tidy(char *s)
{
	size_t n = strlen(s);
	while (n && (s[n - 1] == '\n' || s[n - 1] == ' ' || s[n - 1] == '\t'))
		s[--n] = '\0';
	for (size_t i = 0; i < n; i++)
		if (s[i] == '\t')
			s[i] = ' ';
}

/* One step of an explanation, appended to steps. */
static cJSON *step(cJSON *steps, const char *action)
{
	cJSON *s = cJSON_CreateObject();
	cJSON_AddStringToObject(s, "action", action);
	cJSON_AddItemToArray(steps, s);
	return s;
}

/* The health the workers see for one configured server, and its caps
 * (0: none). */
static void server_json(cJSON *arr, const struct cfg_addr *a, const struct cfg_caps *caps,
			const struct stats_total *t)
{
	char buf[128];
	cJSON *o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "address", addr_text(&a->ss, buf, sizeof(buf)));
	add_u64(o, "max_qps", (uint64_t)caps->max_qps);
	add_u64(o, "max_outstanding", (uint64_t)caps->max_outstanding);
	const struct stats_server *sv = NULL;
	for (size_t i = 0; t && i < t->nservers && !sv; i++)
		if (t->servers[i].addrlen == a->len && memcmp(&t->servers[i].addr, &a->ss, a->len) == 0)
			sv = &t->servers[i];
	if (!sv || sv->sent == 0) {
		cJSON_AddStringToObject(o, "state", "unused");
	} else {
		cJSON_AddStringToObject(o, "state", sv->down ? "down" : "up");
		if (sv->srtt_n)
			add_u64(o, "srtt_us", sv->srtt_sum_us / sv->srtt_n);
		add_u64(o, "sent", sv->sent);
		add_u64(o, "failed", sv->failed);
	}
	cJSON_AddItemToArray(arr, o);
}

static void explain_forward(cJSON *steps, const struct snapshot *snap, const struct stats_total *t, size_t group,
			    const char *why, const char **answered_by)
{
	const struct cfg *cfg = snap->cfg;
	cJSON *s = step(steps, "forward");
	const struct cfg_upstream *g = &cfg->upstreams[group];
	cJSON_AddStringToObject(s, "group", g->name);
	cJSON_AddStringToObject(s, "reason", why);
	cJSON *sv = cJSON_AddArrayToObject(s, "servers");
	for (size_t i = 0; i < g->nservers; i++)
		server_json(sv, &g->servers[i], &g->caps[i], t);
	if (g->nservers == 0) {
		cJSON_AddStringToObject(s, "result", "REFUSED: the group has no server");
		*answered_by = "error";
		return;
	}
	cJSON_AddStringToObject(s, "order",
				"each query goes to the best server that is up (never measured first, then "
				"lowest smoothed RTT) and moves on after upstream-timeout, SERVFAIL or REFUSED");
	if (snap->nzones > 0)
		cJSON_AddStringToObject(s, "splice",
					"a CNAME in the reply that leads into a zone served here is completed "
					"from that zone (the public tail is dropped)");
	*answered_by = "upstream";
}

/* ------------------------------------------------------------ record origins (explain)
 *
 * Where a record that explain shows came from.  Zones keep no per-record
 * source (a million synced records must stay small), so it is found here,
 * at request time, by reading the zone's text again: the zone file of a
 * zone: clause, or the file ARM sync saved in state-dir, whose "; arm-id"
 * comment before each record set names the ARM record set.  One pass per
 * zone file, for all the records of one explanation.
 */

#define ORIGIN_MAX_FILE (256u << 20)

struct rr_origin {
	ldns_rr *rr;                    /* the record as answered; owned */
	const struct route_target *rt;  /* where its owner routes (borrowed from the snapshot) */
	const struct zone *zone;        /* the zone it came from, NULL = upstream group `group` */
	size_t group;
	int fallback;                   /* upstream through a zone's fallback: public */
	int arm;                        /* zone synced from ARM */
	int score;                      /* best match: 0 none, 1 wildcard, 2 wildcard + data,
					 * 3 owner and type, 4 owner, type and data */
	int line;
	char *arm_id;                   /* the "; arm-id" before that line */
	char *wildcard;                 /* owner of the wildcard record that matched */
	char *file;                     /* the file read */
	int stale;                      /* ARM: the saved file is not the copy served */
	const char *problem;            /* why nothing could be read */
	int resolved;
};

static void origins_free(struct rr_origin *o, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		ldns_rr_free(o[i].rr);
		free(o[i].arm_id);
		free(o[i].wildcard);
		free(o[i].file);
	}
	free(o);
}

static char *read_text(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rbe");
	struct stat sb;
	char *buf = NULL;

	if (!f)
		return NULL;
	if (fstat(fileno(f), &sb) == 0 && S_ISREG(sb.st_mode) && (uint64_t)sb.st_size < ORIGIN_MAX_FILE &&
	    (buf = malloc((size_t)sb.st_size + 1)) != NULL) {
		if (fread(buf, 1, (size_t)sb.st_size, f) != (size_t)sb.st_size) {
			free(buf);
			buf = NULL;
		} else {
			buf[sb.st_size] = '\0';
			*len = (size_t)sb.st_size;
		}
	}
	fclose(f);
	return buf;
}

/* Line tracking over the text ldns reads from (see zone.c's line_at: ldns
 * consumes comments before a record and sometimes after it, so the record
 * is found by its first token), noting "; arm-id" comments on the way. */
struct zscan {
	const char *text;
	size_t len, pos;
	int line;
	const char *id;
	size_t idlen;
};

static int zscan_to(struct zscan *z, size_t start, size_t end)
{
	size_t i = z->pos;
	int bol = i == 0 || z->text[i - 1] == '\n';
	while (i < z->len && i < end) {
		char c = z->text[i];
		if (bol) {
			size_t k = i;
			while (k < z->len && (z->text[k] == ' ' || z->text[k] == '\t'))
				k++;
			if (z->len - k > sizeof(ARM_ID_COMMENT) - 1 &&
			    memcmp(z->text + k, ARM_ID_COMMENT, sizeof(ARM_ID_COMMENT) - 1) == 0) {
				z->id = z->text + k + sizeof(ARM_ID_COMMENT) - 1;
				z->idlen = strcspn(z->id, "\n");
			}
		}
		bol = c == '\n';
		if (c == '\n') {
			z->line++;
		} else if (i >= start && c == ';') {
			while (i + 1 < z->len && z->text[i + 1] != '\n')
				i++;
		} else if (i >= start && c != ' ' && c != '\t' && c != '\r') {
			z->pos = i;
			return z->line;
		}
		i++;
	}
	z->pos = i;
	return z->line;
}

static int rdata_equal(const ldns_rr *a, const ldns_rr *b)
{
	if (ldns_rr_rd_count(a) != ldns_rr_rd_count(b))
		return 0;
	for (size_t i = 0; i < ldns_rr_rd_count(a); i++) {
		const ldns_rdf *x = ldns_rr_rdf(a, i), *y = ldns_rr_rdf(b, i);
		if (ldns_rdf_get_type(x) == LDNS_RDF_TYPE_DNAME && ldns_rdf_get_type(y) == LDNS_RDF_TYPE_DNAME) {
			if (ldns_dname_compare(x, y) != 0)
				return 0;
		} else if (ldns_rdf_compare(x, y) != 0) {
			return 0;
		}
	}
	return 1;
}

/* How well the record rr read from the file explains the answered record. */
static int origin_score(const ldns_rr *answered, const ldns_rr *rr)
{
	const ldns_rdf *want = ldns_rr_owner(answered), *have = ldns_rr_owner(rr);
	int score;

	if (ldns_rr_get_type(answered) != ldns_rr_get_type(rr))
		return 0;
	if (ldns_dname_compare(want, have) == 0) {
		score = 3;
	} else if (ldns_dname_is_wildcard(have)) {
		ldns_rdf *parent = ldns_dname_left_chop(have);
		int under = parent && ldns_dname_is_subdomain(want, parent);
		ldns_rdf_deep_free(parent);
		if (!under)
			return 0;
		score = 1;
	} else {
		return 0;
	}
	return score + rdata_equal(answered, rr);
}

/* Read text (a zone file of zone z) once and match every record of o[]
 * that came from z. */
static void origins_scan(struct rr_origin *o, size_t n, const struct zone *z, const char *text, size_t len)
{
	size_t alen;
	const uint8_t *apex = zone_apex(z, &alen);
	struct zscan zs = {text, len, 0, 1, NULL, 0};
	uint32_t ttl = 3600;
	int dummy = 0;
	FILE *fp = fmemopen((void *)(uintptr_t)text, len, "r");
	ldns_rdf *origin = ldns_rdf_new_frm_data(LDNS_RDF_TYPE_DNAME, alen, apex);
	ldns_rdf *prev = origin ? ldns_rdf_clone(origin) : NULL;

	while (fp && origin && prev && !feof(fp)) {
		ldns_rr *rr = NULL;
		long start = ftell(fp);
		ldns_status st = ldns_rr_new_frm_fp_l(&rr, fp, &ttl, &origin, &prev, &dummy);
		long end = ftell(fp);
		int line = zscan_to(&zs, (size_t)start, (size_t)end);
		if (st != LDNS_STATUS_OK) {
			ldns_rr_free(rr);
			/* $ORIGIN and $TTL are applied by ldns; anything else
			 * (a file edited since it was loaded) is skipped */
			if (end <= start)
				break;
			continue;
		}
		for (size_t i = 0; i < n; i++) {
			if (o[i].zone != z)
				continue;
			int sc = origin_score(o[i].rr, rr);
			if (sc <= o[i].score)
				continue;
			o[i].score = sc;
			o[i].line = line;
			free(o[i].arm_id);
			o[i].arm_id = zs.id ? strndup(zs.id, zs.idlen) : NULL;
			free(o[i].wildcard);
			o[i].wildcard = sc <= 2 ? ldns_rdf2str(ldns_rr_owner(rr)) : NULL;
		}
		ldns_rr_free(rr);
	}
	if (fp)
		fclose(fp);
	ldns_rdf_deep_free(origin);
	ldns_rdf_deep_free(prev);
}

/* Fill in the origin of every record in o[] (main thread; reads files). */
static void origins_resolve(struct daemon *d, const struct snapshot *snap, struct rr_origin *o, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (!o[i].zone || o[i].resolved)
			continue; /* upstream, or this zone's file was read already */
		const struct zone *z = o[i].zone;
		char name[1025], path[4200] = "";
		size_t alen, len = 0;
		char *text = NULL;
		int current = 1;
		const char *problem = NULL;
		wire_name_to_text(zone_apex(z, &alen), name, sizeof(name));
		if (o[i].arm) {
			int rc = d->arm ? arm_sync_zone_file(d->arm, name, &text, &len, &current, path, sizeof(path))
					: FWD_ENOENT;
			if (rc == FWD_ENOENT)
				problem = snap->cfg->state_dir ? "no saved zone file in state-dir"
							       : "no state-dir: the ARM record-set ids are kept "
								 "only in the saved zone files";
			else if (rc < 0)
				problem = "the saved zone file cannot be read (see the log)";
		} else {
			const struct cfg_zone *cz = cfg_zone_find(snap->cfg, name);
			if (cz)
				snprintf(path, sizeof(path), "%s", cz->path);
			if (!cz)
				problem = "no zone: clause for it in the configuration";
			else if (!(text = read_text(path, &len)))
				problem = "the zone file cannot be read now";
		}
		if (text)
			origins_scan(o, n, z, text, len);
		free(text);
		for (size_t k = i; k < n; k++) {
			if (o[k].zone != z)
				continue;
			o[k].file = path[0] ? strdup(path) : NULL;
			o[k].problem = problem;
			o[k].stale = !current;
			o[k].resolved = 1;
		}
	}
}

/* Each server of upstream group g, as text, into arr. */
static void group_servers_json(cJSON *arr, const struct cfg_upstream *g)
{
	char buf[128];
	for (size_t i = 0; i < g->nservers; i++)
		cJSON_AddItemToArray(arr, cJSON_CreateString(addr_text(&g->servers[i].ss, buf, sizeof(buf))));
}

static cJSON *origin_json(const struct snapshot *snap, const struct rr_origin *o)
{
	cJSON *j = cJSON_CreateObject();
	char name[1025];
	size_t alen;

	if (!o->zone) {
		const struct cfg_upstream *g = &snap->cfg->upstreams[o->group];
		cJSON_AddStringToObject(j, "source", "upstream");
		cJSON_AddStringToObject(j, "group", g->name);
		if (o->fallback)
			cJSON_AddStringToObject(j, "note", "fallback: public -- the zone does not have the name");
		/* the cache keeps the answer, not which server gave it */
		group_servers_json(cJSON_AddArrayToObject(j, "servers"), g);
		return j;
	}
	wire_name_to_text(zone_apex(o->zone, &alen), name, sizeof(name));
	cJSON_AddStringToObject(j, "source", o->arm ? "arm" : "zone-file");
	cJSON_AddStringToObject(j, "zone", name);
	if (o->file)
		cJSON_AddStringToObject(j, "file", o->file);
	if (o->problem) {
		cJSON_AddStringToObject(j, "note", o->problem);
		return j;
	}
	if (o->score == 0) {
		cJSON_AddStringToObject(j, "note", o->arm ? "not in the saved zone file (a sync round is writing a newer copy?)"
						    : "not in the zone file as it is now (edited since the last reload?)");
		return j;
	}
	cJSON_AddNumberToObject(j, "line", o->line);
	if (o->arm) {
		if (o->arm_id)
			cJSON_AddStringToObject(j, "arm_id", o->arm_id);
		else
			cJSON_AddStringToObject(j, "note", "the saved zone file has no record-set id for it "
							   "(written by an older version; the next sync adds them)");
	}
	if (o->wildcard)
		cJSON_AddStringToObject(j, "wildcard", o->wildcard);
	if (o->score == 1 || o->score == 3)
		cJSON_AddStringToObject(j, "note", o->arm ? "the saved zone file has other data for this name and type now"
							  : "the file has other data for this name and type now "
							    "(edited since the last reload?)");
	else if (o->arm && o->stale)
		cJSON_AddStringToObject(j, "note", "the saved zone file is newer than the copy served "
						   "(a sync round has not published it yet)");
	return j;
}

/* The route of a record's owner; NULL for an unusable owner. */
static const struct route_target *owner_route(const struct snapshot *snap, const ldns_rr *rr)
{
	const ldns_rdf *owner = ldns_rr_owner(rr);
	uint8_t w[WIRE_MAX_NAME];
	size_t len = ldns_rdf_size(owner);
	if (len == 0 || len > sizeof(w))
		return NULL;
	memcpy(w, ldns_rdf_data(owner), len);
	wire_name_lower(w, len);
	return route_lookup(snap->routes, w, len);
}

/* Where a record of a cached answer came from, in a few words. */
static void record_origin(const struct snapshot *snap, const struct rr_origin *o, char *buf, size_t cap)
{
	if (!o || !o->rt)
		snprintf(buf, cap, "?");
	else if (o->zone)
		snprintf(buf, cap, "zone %s (%s)", o->rt->name ? o->rt->name : "?",
			 o->arm ? "synced from ARM" : "zone file");
	else
		snprintf(buf, cap, "upstream group %s%s", snap->cfg->upstreams[o->group].name,
			 o->fallback ? " (fallback: public)" : "");
}

/* What the cache holds for (name, type) right now: a lookup exactly as a
 * query would make it, without the query. */
static void explain_cache(cJSON *steps, struct daemon *d, const struct snapshot *snap, const uint8_t *wname,
			  size_t wlen, uint16_t qtype, int *hit)
{
	*hit = 0;
	if (!d->cache)
		return;
	cJSON *s = step(steps, "cache");
	uint8_t qpkt[WIRE_HDR_LEN + WIRE_MAX_NAME + 4];
	struct wire_query q;
	wire_put_header(qpkt, 0, WIRE_RD, 1, 0, 0, 0);
	memcpy(qpkt + WIRE_HDR_LEN, wname, wlen);
	wire_put16(qpkt + WIRE_HDR_LEN + wlen, qtype);
	wire_put16(qpkt + WIRE_HDR_LEN + wlen + 2, CLASS_IN);
	size_t cap = WIRE_MAX_MSG;
	uint8_t *buf = malloc(cap);
	if (!buf || wire_parse_query(qpkt, WIRE_HDR_LEN + wlen + 4, &q) != WIRE_OK) {
		cJSON_AddStringToObject(s, "state", "unknown");
		free(buf);
		return;
	}
	uint32_t window = (uint32_t)snap->cfg->serve_stale;
	const char *state = "hit";
	uint64_t now_ms = clock_ms(d->clock);
	size_t n = cache_answer(d->cache, &q, snap->generation, now_ms, CACHE_FRESH, window, buf, cap, cap);
	if (!n && window) {
		n = cache_answer(d->cache, &q, snap->generation, now_ms, CACHE_STALE, window, buf, cap, cap);
		state = "stale";
	}
	ldns_pkt *pkt = NULL;
	if (!n || ldns_wire2pkt(&pkt, buf, n) != LDNS_STATUS_OK) {
		cJSON_AddStringToObject(s, "state", "miss");
		free(buf);
		return;
	}
	*hit = 1;
	cJSON_AddStringToObject(s, "state", state);
	char *rc = ldns_pkt_rcode2str(ldns_pkt_get_rcode(pkt));
	cJSON_AddStringToObject(s, "rcode", rc ? rc : "?");
	free(rc);
	cJSON *recs = cJSON_AddArrayToObject(s, "records");
	ldns_rr_list *an = ldns_pkt_answer(pkt);
	size_t nrr = ldns_rr_list_rr_count(an);
	struct rr_origin *og = calloc(nrr ? nrr : 1, sizeof(*og));
	for (size_t i = 0; og && i < nrr; i++) {
		og[i].rr = ldns_rr_clone(ldns_rr_list_rr(an, i));
		og[i].rt = og[i].rr ? owner_route(snap, og[i].rr) : NULL;
		if (og[i].rt && og[i].rt->kind == ROUTE_ZONE) {
			og[i].zone = og[i].rt->zone;
			og[i].arm = og[i].rt->origin == ORIGIN_ZONE_ARM;
		} else if (og[i].rt) {
			og[i].group = og[i].rt->group;
		}
	}
	if (og)
		origins_resolve(d, snap, og, nrr);
	for (size_t i = 0; og && i < nrr; i++) {
		/* a name its zone does not have, answered through fallback:
		 * public: the record is the default group's, not the zone's */
		if (og[i].zone && og[i].score == 0 && !og[i].problem && og[i].rt->fallback_public) {
			og[i].zone = NULL;
			og[i].group = snap->cfg->group_default;
			og[i].fallback = 1;
		}
	}
	for (size_t i = 0; i < nrr; i++) {
		ldns_rr *rr = ldns_rr_list_rr(an, i);
		char *str = ldns_rr2str(rr), from[1200];
		if (!str)
			continue;
		rr_text_tidy(str);
		record_origin(snap, og ? &og[i] : NULL, from, sizeof(from));
		cJSON *r = cJSON_CreateObject();
		cJSON_AddStringToObject(r, "rr", str);
		cJSON_AddStringToObject(r, "from", from);
		if (og && og[i].rt)
			cJSON_AddItemToObject(r, "origin", origin_json(snap, &og[i]));
		cJSON_AddItemToArray(recs, r);
		free(str);
	}
	if (og)
		origins_free(og, nrr);
	ldns_pkt_free(pkt);
	free(buf);
}

static cJSON *cmd_explain(struct daemon *d, const char *name, const char *type)
{
	uint8_t wname[WIRE_MAX_NAME];
	int wlen = wire_name_from_text(name, wname);
	if (wlen < 0)
		return err_obj("'%s' is not a valid domain name", name);
	uint16_t qtype = TYPE_A;
	if (type) {
		qtype = (uint16_t)ldns_get_rr_type_by_name(type);
		if (qtype == 0)
			return err_obj("unknown record type '%s'", type);
	}
	struct stats_total *t = calloc(1, sizeof(*t));
	if (!t)
		return err_obj("out of memory");
	stats_collect(d, t);
	struct snapshot *snap = daemon_acquire(d);
	const struct cfg *cfg = snap->cfg;
	char text[1025], tbuf[16];
	const char *answered_by = "error";
	int hit;

	cJSON *o = ok_obj();
	wire_name_to_text(wname, text, sizeof(text));
	cJSON_AddStringToObject(o, "name", text);
	cJSON_AddStringToObject(o, "type", stats_type_name(qtype, tbuf, sizeof(tbuf)));
	add_u64(o, "generation", snap->generation);
	cJSON *steps = cJSON_AddArrayToObject(o, "steps");

	const struct route_target *rt = route_lookup(snap->routes, wname, (size_t)wlen);
	cJSON *s = step(steps, "route");
	cJSON_AddStringToObject(s, "match", rt->name ? rt->name : ".");
	cJSON_AddStringToObject(s, "origin", origin_name(rt->origin));
	cJSON_AddNumberToObject(s, "labels", rt->nlabels);
	if (rt->origin == ORIGIN_FORWARD) {
		for (size_t i = 0; i < cfg->nforwards; i++)
			if (strcasecmp(cfg->forwards[i].suffix, rt->name) == 0) {
				char where[1100];
				snprintf(where, sizeof(where), "%s:%d", cfg->file, cfg->forwards[i].line);
				cJSON_AddStringToObject(s, "config", where);
			}
	} else if (rt->origin == ORIGIN_CATALOGUE) {
		cJSON_AddStringToObject(s, "cloud", cfg_cloud_name(cfg->cloud));
	}

	if (rt->kind == ROUTE_ZONE) {
		const struct route_zone *rz = NULL;
		for (size_t i = 0; i < snap->nzones; i++)
			if (snap->zones[i].zone == rt->zone)
				rz = &snap->zones[i];
		if (rz)
			cJSON_AddItemToObject(s, "zone", zone_json(snap, rz, d->arm));

		uint8_t rrs[8192];
		uint16_t count = 0;
		enum zone_status st;
		size_t n = zone_lookup_rrs(rt->zone, wname, (size_t)wlen, qtype, rrs, sizeof(rrs), &count, &st);
		cJSON *zs = step(steps, "zone-lookup");
		cJSON_AddStringToObject(zs, "status", zone_status_name(st));
		cJSON *recs = cJSON_AddArrayToObject(zs, "records");
		/* origins[i] says where records[i] is written */
		cJSON *origins = cJSON_AddArrayToObject(zs, "origins");
		struct rr_origin *og = calloc(count ? count : 1, sizeof(*og));
		size_t pos = 0, nog = 0;
		for (uint16_t i = 0; og && i < count && pos < n; i++) {
			ldns_rr *rr = NULL;
			if (ldns_wire2rr(&rr, rrs, n, &pos, LDNS_SECTION_ANSWER) != LDNS_STATUS_OK)
				break;
			/* a chain zone.c followed stays inside this zone */
			og[nog].rr = rr;
			og[nog].rt = rt;
			og[nog].zone = rt->zone;
			og[nog].arm = rt->origin == ORIGIN_ZONE_ARM;
			nog++;
		}
		if (og)
			origins_resolve(d, snap, og, nog);
		for (size_t i = 0; i < nog; i++) {
			char *str = ldns_rr2str(og[i].rr);
			if (!str)
				continue;
			rr_text_tidy(str);
			cJSON_AddItemToArray(recs, cJSON_CreateString(str));
			cJSON_AddItemToArray(origins, origin_json(snap, &og[i]));
			free(str);
		}
		if (og)
			origins_free(og, nog);
		answered_by = rt->origin == ORIGIN_ZONE_ARM ? "synced" : "local";
		if (st == ZONE_NXDOMAIN && rt->fallback_public) {
			cJSON_AddStringToObject(zs, "rcode", "NXDOMAIN");
			explain_cache(steps, d, snap, wname, (size_t)wlen, qtype, &hit);
			explain_forward(steps, snap, t, cfg->group_default,
					"fallback: public -- a name the zone does not have is resolved "
					"through the default group",
					&answered_by);
			if (hit)
				answered_by = "cache";
		} else {
			cJSON_AddStringToObject(zs, "rcode", st == ZONE_NXDOMAIN ? "NXDOMAIN" : "NOERROR");
			if (st == ZONE_CNAME_OUT)
				cJSON_AddStringToObject(zs, "note",
							"the CNAME chain leaves the zone; the client (or its "
							"resolver) follows the target with a new query");
		}
	} else {
		const char *why = rt->origin == ORIGIN_DEFAULT     ? "no zone and no rule matches"
				  : rt->origin == ORIGIN_CATALOGUE ? "a Private Link zone of the built-in catalogue"
								   : "an admin forward: rule";
		explain_cache(steps, d, snap, wname, (size_t)wlen, qtype, &hit);
		explain_forward(steps, snap, t, rt->group, why, &answered_by);
		if (hit)
			answered_by = "cache";
	}
	cJSON_AddStringToObject(o, "answered_by", answered_by);
	snapshot_unref(snap);
	free(t);
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

char *control_run(struct daemon *d, const char *line)
{
	char buf[CTL_LINE_MAX];
	char *argv[CTL_MAX_ARGS];
	cJSON *o;

	snprintf(buf, sizeof(buf), "%s", line);
	int argc = split_words(buf, argv);
	if (argc <= 0) {
		o = err_obj(argc == 0 ? "empty request" : "too many arguments");
	} else if (strcmp(argv[0], "status") == 0 && argc == 1) {
		o = cmd_status(d);
	} else if (strcmp(argv[0], "reload") == 0 && argc == 1) {
		log_info("control: reloading %s", d->cfgpath);
		o = cmd_reload(d);
	} else if (strcmp(argv[0], "stats") == 0 && argc == 1) {
		o = cmd_stats(d);
	} else if (strcmp(argv[0], "zones") == 0 && argc == 1) {
		o = cmd_zones(d);
	} else if (strcmp(argv[0], "sync") == 0 && argc <= 2) {
		o = cmd_sync(d, argc == 2 ? argv[1] : NULL);
	} else if (strcmp(argv[0], "flush") == 0 && argc <= 2) {
		o = cmd_flush(d, argc == 2 ? argv[1] : NULL);
	} else if (strcmp(argv[0], "explain") == 0 && (argc == 2 || argc == 3)) {
		o = cmd_explain(d, argv[1], argc == 3 ? argv[2] : NULL);
	} else if (strcmp(argv[0], "status") == 0 || strcmp(argv[0], "reload") == 0 ||
		   strcmp(argv[0], "stats") == 0 || strcmp(argv[0], "zones") == 0 ||
		   strcmp(argv[0], "sync") == 0 || strcmp(argv[0], "flush") == 0 ||
		   strcmp(argv[0], "explain") == 0) {
		o = err_obj("wrong number of arguments for '%s'", argv[0]);
	} else {
		o = err_obj("unknown command '%s' (status, reload, stats, zones, flush, sync, explain)", argv[0]);
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
		log_warn("control: too many connections, closing a new one");
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
	c->lev = evconnlistener_new(d->base, control_accept_cb, c, LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC,
				    16, fd);
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
