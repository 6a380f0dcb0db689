/*
 * status_json.c -- the status object of `plinkfwd-ctl status` and
 * /status.json (see status_json.h).
 */
#include "status_json.h"

#include <stdint.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "arm_sync.h"
#include "cache.h"
#include "collect.h"
#include "config.h"
#include "control_json.h"
#include "daemon.h"
#include "loop_view.h"
#include "snapshot.h"
#include "status_ring.h"

#ifndef PACKAGE_VERSION
#define PACKAGE_VERSION "unknown"
#endif

/* Version, process, listeners, reload, health, ARM: what the status
 * command has always shown. */
static void status_core(cJSON *o, struct daemon *d, const struct snapshot *snap)
{
	const struct cfg *cfg = snap->cfg;
	char buf[128], why[256];
	time_t now = time(NULL);

	cJSON_AddStringToObject(o, "version", PACKAGE_VERSION);
	cJSON_AddNumberToObject(o, "pid", (double)getpid());
	cJSON_AddNumberToObject(o, "started", (double)d->started);
	cJSON_AddNumberToObject(o, "uptime_s", (double)(now - d->started));
	cJSON_AddStringToObject(o, "config", d->cfgpath);
	ctl_add_u64(o, "generation", snap->generation);
	cJSON_AddNumberToObject(o, "workers", d->nworkers);
	/* the sockets actually bound (opened at start-up), not the current
	 * config's listen: lines, which a reload may have changed without
	 * effect; when they differ the config's list is shown beside them */
	cJSON *ls = cJSON_AddArrayToObject(o, "listen");
	struct sockaddr_storage ss;
	socklen_t sslen;
	for (size_t i = 0; daemon_bound_addr(d, i, &ss, &sslen) == FWD_OK; i++)
		cJSON_AddItemToArray(ls, cJSON_CreateString(ctl_addr_text(&ss, buf, sizeof(buf))));
	if (daemon_listen_applied(d, cfg)) {
		cJSON_AddNullToObject(o, "restart_pending");
	} else {
		cJSON *rp = cJSON_AddObjectToObject(o, "restart_pending");
		cJSON *cl = cJSON_AddArrayToObject(rp, "listen");
		for (size_t i = 0; i < cfg->nlisten; i++)
			cJSON_AddItemToArray(cl, cJSON_CreateString(ctl_addr_text(&cfg->listen[i].ss, buf, sizeof(buf))));
		cJSON_AddNumberToObject(rp, "workers", cfg->workers);
	}
	cJSON_AddStringToObject(o, "cloud", cfg_cloud_name(cfg->cloud));
	cJSON *z = cJSON_AddObjectToObject(o, "zones");
	ctl_add_u64(z, "file", snap->nfile_zones);
	ctl_add_u64(z, "synced", snap->nzones - snap->nfile_zones);
	cJSON *r = cJSON_AddObjectToObject(o, "reload");
	ctl_add_u64(r, "ok", d->reloads_ok);
	ctl_add_u64(r, "failed", d->reloads_failed);
	ctl_add_time(r, "last_time", (int64_t)d->last_reload);
	if (!d->last_reload)
		cJSON_AddNullToObject(r, "last_result");
	else
		cJSON_AddStringToObject(r, "last_result", d->last_reload_error[0] ? "failed" : "ok");
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
		ctl_add_time(a, "last_success", as.last_success_unix);
		ctl_add_u64(a, "rounds", as.rounds);
		ctl_add_u64(a, "rounds_failed", as.rounds_failed);
		if (as.last_error[0])
			cJSON_AddStringToObject(a, "last_error", as.last_error);
		else
			cJSON_AddNullToObject(a, "last_error");
	} else {
		cJSON_AddNullToObject(o, "arm");
	}
	loop_view_status(d, o);
}

/* Traffic totals, the cache and every upstream server: what the status
 * page draws beside the rate history. */
static void status_traffic(cJSON *o, struct daemon *d, const struct snapshot *snap, const struct stats_total *t)
{
	cJSON *q = cJSON_AddObjectToObject(o, "queries");
	ctl_add_u64(q, "total", t->queries_udp + t->queries_tcp);
	ctl_add_u64(q, "udp", t->queries_udp);
	ctl_add_u64(q, "tcp", t->queries_tcp);
	uint64_t rc[STATS_RC_N] = {0};
	for (int tcp = 0; tcp < 2; tcp++)
		for (int s = 0; s < STATS_SRC_N; s++)
			for (int r = 0; r < STATS_RC_N; r++)
				rc[r] += t->answers[tcp][s][r];
	cJSON_AddItemToObject(o, "rcodes", ctl_rcodes_json(rc));

	uint64_t entries = 0, bytes = 0;
	if (d->cache)
		cache_usage(d->cache, &entries, &bytes);
	cJSON *c = cJSON_AddObjectToObject(o, "cache");
	ctl_add_u64(c, "entries", entries);
	ctl_add_u64(c, "bytes", bytes);
	ctl_add_u64(c, "max_bytes", snap->cfg->cache_size);
	ctl_add_u64(c, "hits", t->cache_hits);
	ctl_add_u64(c, "misses", t->cache_misses);
	ctl_add_u64(c, "stale", t->cache_stale);
	/* of the questions the cache was asked since start-up; null before
	 * the first, rather than a made-up 0 % */
	if (t->cache_hits + t->cache_misses > 0)
		cJSON_AddNumberToObject(c, "hit_rate", (double)t->cache_hits / (double)(t->cache_hits + t->cache_misses));
	else
		cJSON_AddNullToObject(c, "hit_rate");

	cJSON *ups = cJSON_AddArrayToObject(o, "upstreams");
	for (size_t i = 0; i < snap->cfg->nupstreams; i++) {
		const struct cfg_upstream *g = &snap->cfg->upstreams[i];
		cJSON *go = cJSON_CreateObject();
		cJSON_AddStringToObject(go, "group", g->name);
		cJSON *svs = cJSON_AddArrayToObject(go, "servers");
		for (size_t k = 0; k < g->nservers; k++)
			cJSON_AddItemToArray(svs, ctl_server_json(&g->servers[k], &g->caps[k], t));
		cJSON_AddItemToArray(ups, go);
	}
}

enum fwd_err status_json(struct daemon *d, cJSON **out)
{
	struct stats_total *t = calloc(1, sizeof(*t));
	cJSON *o = ctl_ok();
	if (!t || !o) {
		free(t);
		cJSON_Delete(o);
		return FWD_ENOMEM;
	}
	stats_collect(d, t);
	struct snapshot *snap = daemon_acquire(d);
	status_core(o, d, snap);
	status_traffic(o, d, snap, t);
	cJSON_AddItemToObject(o, "zone_list", ctl_zone_list(snap, d->arm));
	snapshot_unref(snap);
	free(t);
	*out = o;
	return FWD_OK;
}

enum fwd_err status_json_history(cJSON *o, const struct status_ring *r)
{
	/* on the heap: 90 points are too big a frame for the main loop's
	 * stack to carry casually, and this runs once per page refresh */
	struct status_point *pts = calloc(STATUS_RING_BUCKETS, sizeof(*pts));
	cJSON *h = cJSON_AddObjectToObject(o, "history");
	if (h)
		ctl_add_u64(h, "bucket_s", STATUS_RING_BUCKET_S);
	cJSON *bs = h ? cJSON_AddArrayToObject(h, "buckets") : NULL;
	if (!pts || !bs) {
		free(pts);
		return FWD_ENOMEM;
	}
	size_t n = status_ring_read(r, pts, STATUS_RING_BUCKETS);
	for (size_t i = 0; i < n; i++) {
		cJSON *b = cJSON_CreateObject();
		cJSON_AddNumberToObject(b, "start_s", pts[i].start_s);
		cJSON_AddNumberToObject(b, "seconds", pts[i].seconds);
		ctl_add_u64(b, "queries", pts[i].n.queries);
		cJSON_AddNumberToObject(b, "qps", status_point_rate(&pts[i], pts[i].n.queries));
		cJSON_AddItemToObject(b, "rcodes", ctl_rcodes_json(pts[i].n.rcodes));
		cJSON_AddItemToArray(bs, b);
	}
	free(pts);
	return FWD_OK;
}
