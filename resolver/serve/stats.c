/*
 * stats.c -- answer accounting on the workers, aggregation on the main
 * thread, and the health verdict (see stats.h for the memory model).
 */
#include "stats.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#include <ldns/ldns.h>

#include "arm_config.h"
#include "arm_sync.h"
#include "client.h"
#include "common.h"
#include "config.h"
#include "daemon.h"
#include "listener.h"
#include "querylog.h"
#include "route.h"
#include "snapshot.h"
#include "upstream.h"
#include "wire.h"
#include "worker.h"
#include "zone.h"

const uint64_t stats_lat_bounds_us[STATS_LAT_N - 1] = {
	100, 250, 500, 1000, 2500, 5000, 10000, 25000, 50000,
	100000, 250000, 500000, 1000000, 2500000, 5000000,
};

static const char *const source_names[STATS_SRC_N] = {"local", "synced", "cache", "upstream", "error"};
static const char *const rcode_names[STATS_RC_N] = {"NOERROR", "FORMERR", "SERVFAIL", "NXDOMAIN",
						    "NOTIMP",  "REFUSED", "BADVERS",  "other"};

const char *stats_source_name(enum stats_source s)
{
	return (unsigned)s < STATS_SRC_N ? source_names[s] : "unknown";
}

const char *stats_rcode_name(enum stats_rcode r)
{
	return (unsigned)r < STATS_RC_N ? rcode_names[r] : "other";
}

enum stats_rcode stats_rcode_bucket(int rcode)
{
	switch (rcode) {
	case RCODE_NOERROR: return STATS_RC_NOERROR;
	case RCODE_FORMERR: return STATS_RC_FORMERR;
	case RCODE_SERVFAIL: return STATS_RC_SERVFAIL;
	case RCODE_NXDOMAIN: return STATS_RC_NXDOMAIN;
	case RCODE_NOTIMP: return STATS_RC_NOTIMP;
	case RCODE_REFUSED: return STATS_RC_REFUSED;
	case RCODE_BADVERS: return STATS_RC_BADVERS;
	default: return STATS_RC_OTHER;
	}
}

const char *stats_type_name(uint16_t type, char *buf, size_t cap)
{
	/* ldns's descriptor table is static data: no allocation here */
	const ldns_rr_descriptor *d = ldns_rr_descript(type);
	if (d && d->_type == type && d->_name)
		return d->_name;
	snprintf(buf, cap, "TYPE%u", (unsigned)type);
	return buf;
}

static unsigned lat_bucket(uint64_t us)
{
	unsigned i = 0;
	while (i < STATS_LAT_N - 1 && us > stats_lat_bounds_us[i])
		i++;
	return i;
}

/* ------------------------------------------------------------ worker side */

/*
 * The full rcode of a reply.  BADVERS (16) does not fit the header's four
 * bits: its upper bits are in the OPT record, which plinkfwd's own error
 * replies put right after the question.  Other replies are not walked:
 * nothing plinkfwd relays or builds has an extended rcode elsewhere worth
 * the cost of parsing every answer.
 */
static int reply_rcode(const uint8_t *r, size_t len, size_t qend, enum stats_source src)
{
	int rcode = r[3] & 0xf;
	if (src != STATS_SRC_ERROR || qend == 0)
		return rcode;
	if (wire_get16(r + 6) != 0 || wire_get16(r + 8) != 0 || wire_get16(r + 10) != 1)
		return rcode;
	/* root owner (1), type (2), class (2), then the TTL: extended rcode first */
	if (qend + 11 > len || r[qend] != 0 || wire_get16(r + qend + 1) != TYPE_OPT)
		return rcode;
	return (r[qend + 5] << 4) | rcode;
}

/* Question of a reply: name offset (0 = none) and the offset after it. */
static size_t reply_question(const uint8_t *r, size_t len, uint16_t *qtype, size_t *name_off)
{
	*name_off = 0;
	*qtype = 0;
	if (wire_get16(r + 4) != 1)
		return 0;
	size_t off = wire_skip_name(r, len, WIRE_HDR_LEN);
	if (off == 0 || off + 4 > len)
		return 0;
	*qtype = wire_get16(r + off);
	*name_off = WIRE_HDR_LEN;
	return off + 4;
}

static void account(struct stats_worker *sw, int tcp, enum stats_source src, int rcode, uint64_t lat_us)
{
	STATS_INC(sw->answers[tcp][src][stats_rcode_bucket(rcode)]);
	STATS_INC(sw->lat[src][lat_bucket(lat_us)]);
	STATS_ADD(sw->lat_sum_us[src], lat_us);
}

static uint64_t latency_us(const struct client *cl)
{
	uint64_t now = fwd_now_us();
	return now > cl->start_us ? now - cl->start_us : 0;
}

void stats_reply(struct worker *w, const struct client *cl, enum stats_source src,
		 const uint8_t *reply, size_t len)
{
	if (len < WIRE_HDR_LEN || (unsigned)src >= STATS_SRC_N)
		return;
	uint16_t qtype = 0;
	size_t name_off = 0, qend = 0;
	/* the question is walked only when something needs it: the query log,
	 * or the OPT record of plinkfwd's own error replies (BADVERS) */
	if (w->qlog || src == STATS_SRC_ERROR)
		qend = reply_question(reply, len, &qtype, &name_off);
	int rcode = reply_rcode(reply, len, qend, src);
	uint64_t lat = latency_us(cl);
	int tcp = cl->transport == CLIENT_TCP;

	account(&w->stats.ops, tcp, src, rcode, lat);
	if (w->qlog) {
		uint8_t name[WIRE_MAX_NAME];
		int nlen = name_off ? wire_read_name(reply, len, name_off, name) : -1;
		struct querylog_entry e = {
			.cl = cl, .qname = nlen > 0 ? name : NULL, .qtype = qtype, .rcode = rcode,
			.source = src, .group = NULL, .latency_us = lat,
		};
		querylog_write(w->qlog, &e);
	}
}

/* The counters of group `name`, claimed on first use; NULL when the table
 * is full (counted as overflow). */
static struct stats_group *group_slot(struct stats_worker *sw, const char *name)
{
	for (size_t i = 0; i < STATS_MAX_GROUPS; i++) {
		struct stats_group *g = &sw->groups[i];
		if (!g->used) {
			snprintf(g->name, sizeof(g->name), "%s", name);
			/* the main thread reads name only after it sees used set */
			__atomic_store_n(&g->used, 1, __ATOMIC_RELEASE);
			return g;
		}
		if (strcmp(g->name, name) == 0)
			return g;
	}
	return NULL;
}

void stats_forwarded(struct worker *w, const struct client *cl, const struct wire_query *q, int ok,
		     const uint8_t *reply, size_t len)
{
	const struct snapshot *snap = w->snap;
	const struct route_target *rt = route_lookup(snap->routes, q->qname, q->qname_len);
	/* a zone route forwarded only through fallback: public, to "default" */
	size_t gi = rt->kind == ROUTE_FORWARD ? rt->group : snap->cfg->group_default;
	const char *gname = gi < snap->cfg->nupstreams ? snap->cfg->upstreams[gi].name : "default";
	int rcode = ok && len >= WIRE_HDR_LEN ? (reply[3] & 0xf) : RCODE_SERVFAIL;
	uint64_t lat = latency_us(cl);
	struct stats_worker *sw = &w->stats.ops;

	account(sw, cl->transport == CLIENT_TCP, STATS_SRC_UPSTREAM, rcode, lat);
	struct stats_group *g = group_slot(sw, gname);
	if (g) {
		if (ok)
			STATS_INC(g->answered);
		else
			STATS_INC(g->failed);
		STATS_INC(g->lat[lat_bucket(lat)]);
		STATS_ADD(g->lat_sum_us, lat);
	} else {
		STATS_INC(sw->groups_overflow);
	}
	if (w->qlog) {
		struct querylog_entry e = {
			.cl = cl, .qname = q->qname, .qtype = q->qtype, .rcode = rcode,
			.source = STATS_SRC_UPSTREAM, .group = gname, .latency_us = lat,
		};
		querylog_write(w->qlog, &e);
	}
}

/* ------------------------------------------------------------ main thread */

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

void stats_collect(const struct daemon *d, struct stats_total *t)
{
	memset(t, 0, sizeof(*t));
	for (int i = 0; i < d->nworkers; i++) {
		const struct worker *w = &d->workers[i];
		const struct worker_stats *ws = &w->stats;
		const struct stats_worker *sw = &ws->ops;

		t->queries_udp += STATS_GET(ws->queries_udp);
		t->queries_tcp += STATS_GET(ws->queries_tcp);
		t->dropped += STATS_GET(ws->dropped);
		for (int tcp = 0; tcp < 2; tcp++)
			for (int s = 0; s < STATS_SRC_N; s++)
				for (int r = 0; r < STATS_RC_N; r++)
					t->answers[tcp][s][r] += STATS_GET(sw->answers[tcp][s][r]);
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
		t->fallbacks += STATS_GET(ws->fallbacks);
		if (w->up)
			collect_upstream(w->up, t);
		/* gauges owned by the worker: a racy read of a word-sized
		 * count, good enough for a gauge */
		if (w->up)
			t->pending += upstream_pending(w->up);
		if (w->lst)
			t->tcp_conns += listener_tcp_conns(w->lst);
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
			int64_t fresh = 3 * (int64_t)(snap->cfg->arm->interval_s > 0 ? snap->cfg->arm->interval_s : 60);
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
