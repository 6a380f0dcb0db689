/*
 * collect.c -- every worker's counters summed, and health (see collect.h).
 */
#include "collect.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#include "arm_config.h"
#include "arm_sync.h"
#include "client.h"
#include "config.h"
#include "daemon.h"
#include "listener.h"
#include "snapshot.h"
#include "upstream.h"
#include "wire.h"
#include "worker.h"
#include "zone.h"


static struct stats_group *total_group(struct stats_total *t, const char *name)
{
	for (size_t i = 0; i < t->ngroups; i++)
		if (strcmp(t->groups[i].name, name) == 0)
			return &t->groups[i];
	if (t->ngroups == STATS_MAX_GROUPS)
		return NULL;
	struct stats_group *g = &t->groups[t->ngroups++];
	snprintf(g->name, sizeof(g->name), "%s", name);
	g->used = 1;
	return g;
}

/* Add one worker's upstream counters and server table to t. */
static void collect_upstream(const struct upstream *u, struct stats_total *t)
{
	struct upstream_stats us;
	upstream_get_stats(u, &us);
	t->up.sent += us.sent;
	t->up.sent_tcp += us.sent_tcp;
	t->up.answered += us.answered;
	t->up.timeouts += us.timeouts;
	t->up.malformed += us.malformed;
	t->up.errors += us.errors;
	t->up.coalesced += us.coalesced;
	t->up.capped += us.capped;
	t->up.marked_down += us.marked_down;
	t->up.probes += us.probes;
	t->up.sockets += us.sockets;

	struct upstream_server_info info[STATS_MAX_SERVERS];
	size_t n = upstream_servers(u, info, STATS_MAX_SERVERS);
	if (n > STATS_MAX_SERVERS)
		n = STATS_MAX_SERVERS;
	for (size_t i = 0; i < n; i++) {
		const struct upstream_server_info *o = &info[i];
		struct stats_server *sv = NULL;
		for (size_t j = 0; j < t->nservers && !sv; j++)
			if (t->servers[j].addrlen == o->addrlen && memcmp(&t->servers[j].addr, &o->addr, o->addrlen) == 0)
				sv = &t->servers[j];
		if (!sv) {
			if (t->nservers == STATS_MAX_SERVERS)
				continue;
			sv = &t->servers[t->nservers++];
			memcpy(&sv->addr, &o->addr, o->addrlen);
			sv->addrlen = o->addrlen;
		}
		sv->sent += o->sent;
		sv->answered += o->answered;
		sv->failed += o->failed;
		sv->timeouts += o->timeouts;
		for (size_t k = 0; k < UPSTREAM_RTT_BUCKETS; k++)
			sv->rtt_hist[k] += o->rtt_hist[k];
		sv->rtt_sum_us += o->rtt_sum_us;
		sv->outstanding += o->outstanding;
		if (o->srtt_us) {
			sv->srtt_sum_us += o->srtt_us;
			sv->srtt_n++;
		}
		sv->down += o->down ? 1u : 0u;
		sv->seen++;
	}
}

static void conns_add(struct stats_conns *t, const struct stats_conns *w)
{
	t->accepted += STATS_GET(w->accepted);
	t->handshakes += STATS_GET(w->handshakes);
	t->resumed += STATS_GET(w->resumed);
	t->denied += STATS_GET(w->denied);
	t->over_limit += STATS_GET(w->over_limit);
	t->idle += STATS_GET(w->idle);
	t->deadline += STATS_GET(w->deadline);
	t->tls_error += STATS_GET(w->tls_error);
	t->bad_stream += STATS_GET(w->bad_stream);
}

void stats_collect(const struct daemon *d, struct stats_total *t)
{
	memset(t, 0, sizeof(*t));
	for (int i = 0; i < d->nworkers; i++) {
		const struct worker *w = &d->workers[i];
		const struct worker_stats *ws = &w->qe.stats;
		const struct stats_worker *sw = &ws->ops;

		t->queries_udp += STATS_GET(ws->queries_udp);
		t->queries_tcp += STATS_GET(ws->queries_tcp);
		t->dropped += STATS_GET(ws->dropped);
		t->tcp_denied += STATS_GET(ws->tcp_denied);
		t->tcp_over_limit += STATS_GET(ws->tcp_over_limit);
		t->tcp_deadline += STATS_GET(ws->tcp_deadline);
		for (int o = 0; o < XFR_OUT_NOUTCOMES; o++)
			t->xfr[o] += STATS_GET(ws->xfr[o]);
		t->xfr_aborted += STATS_GET(ws->xfr_aborted);
		t->queries_tls += STATS_GET(ws->queries_tls);
		t->queries_https += STATS_GET(ws->queries_https);
		conns_add(&t->tls, &ws->tls);
		conns_add(&t->https, &ws->https);
		for (int tr = 0; tr < STATS_TRANSPORTS; tr++)
			for (int s = 0; s < STATS_SRC_N; s++)
				for (int r = 0; r < STATS_RC_N; r++)
					t->answers[tr][s][r] += STATS_GET(sw->answers[tr][s][r]);
		for (int s = 0; s < STATS_SRC_N; s++) {
			for (int b = 0; b < STATS_LAT_N; b++)
				t->lat[s][b] += STATS_GET(sw->lat[s][b]);
			t->lat_sum_us[s] += STATS_GET(sw->lat_sum_us[s]);
		}
		for (size_t g = 0; g < STATS_MAX_GROUPS; g++) {
			const struct stats_group *wg = &sw->groups[g];
			if (!__atomic_load_n(&wg->used, __ATOMIC_ACQUIRE))
				break; /* claimed in order: the rest are free */
			struct stats_group *tg = total_group(t, wg->name);
			if (!tg) {
				t->groups_overflow += STATS_GET(wg->answered) + STATS_GET(wg->failed);
				continue;
			}
			tg->answered += STATS_GET(wg->answered);
			tg->failed += STATS_GET(wg->failed);
			for (int b = 0; b < STATS_LAT_N; b++)
				tg->lat[b] += STATS_GET(wg->lat[b]);
			tg->lat_sum_us += STATS_GET(wg->lat_sum_us);
		}
		t->groups_overflow += STATS_GET(sw->groups_overflow);
		t->cache_hits += STATS_GET(ws->cache_hits);
		t->cache_misses += STATS_GET(ws->cache_misses);
		t->cache_stale += STATS_GET(ws->cache_stale);
		t->spliced += STATS_GET(ws->spliced);
		t->splice_too_deep += STATS_GET(ws->splice_too_deep);
		t->fallbacks += STATS_GET(ws->fallbacks);
		if (w->qe.up)
			collect_upstream(w->qe.up, t);
		/* gauges owned by the worker, stored and loaded atomically
		 * (counter.h) */
		if (w->qe.up)
			t->pending += upstream_pending(w->qe.up);
		if (w->lst) {
			t->tcp_conns += listener_tcp_conns(w->lst);
			t->tls_conns += listener_conns(w->lst, CLIENT_TLS);
			t->https_conns += listener_conns(w->lst, CLIENT_HTTPS);
		}
	}
}

void stats_collect_rates(const struct daemon *d, uint64_t *queries, uint64_t rcodes[STATS_RC_N])
{
	*queries = 0;
	memset(rcodes, 0, sizeof(uint64_t) * STATS_RC_N);
	for (int i = 0; i < d->nworkers; i++) {
		const struct worker_stats *ws = &d->workers[i].qe.stats;
		*queries += STATS_GET(ws->queries_udp) + STATS_GET(ws->queries_tcp) + STATS_GET(ws->queries_tls) +
			    STATS_GET(ws->queries_https);
		for (int tr = 0; tr < STATS_TRANSPORTS; tr++)
			for (int s = 0; s < STATS_SRC_N; s++)
				for (int r = 0; r < STATS_RC_N; r++)
					rcodes[r] += STATS_GET(ws->ops.answers[tr][s][r]);
	}
}

int stats_health(const struct daemon *d, int ready, char *why, size_t len)
{
	for (int i = 0; i < d->nworkers; i++)
		if (!d->workers[i].running) {
			snprintf(why, len, "worker %d is not serving", i);
			return 0;
		}
	int healthy = 1;
	struct snapshot *snap = daemon_acquire((struct daemon *)d);
	for (size_t i = 0; i < snap->nzones && healthy; i++) {
		const struct zone *z = snap->zones[i].zone;
		if (zone_rr_count(z) == 0) {
			char name[1025];
			size_t alen;
			wire_name_to_text(zone_apex(z, &alen), name, sizeof(name));
			snprintf(why, len, "zone %s has no records", name);
			healthy = 0;
		}
	}
	if (healthy && snap->cfg->arm) {
		struct arm_sync_stats as;
		if (!d->arm) {
			snprintf(why, len, "arm: sync is not running (see the log)");
			healthy = 0;
		} else {
			arm_sync_stats(d->arm, &as);
			int64_t now = (int64_t)time(NULL);
			int64_t fresh = 3 * (int64_t)snap->cfg->arm->interval_s;
			if (as.zones == 0 && as.last_success_unix == 0) {
				snprintf(why, len, "arm: no zone synced yet (no sync round has succeeded, none loaded from state-dir)");
				healthy = 0;
			} else if (ready && as.last_success_unix == 0) {
				snprintf(why, len, "arm: serving zones loaded from state-dir; no sync round has succeeded yet");
				healthy = 0;
			} else if (ready && now - as.last_success_unix > fresh) {
				snprintf(why, len, "arm: last successful sync %lld s ago (more than 3 intervals)",
					 (long long)(now - as.last_success_unix));
				healthy = 0;
			}
		}
	}
	snapshot_unref(snap);
	if (healthy)
		snprintf(why, len, "ok");
	return healthy;
}
