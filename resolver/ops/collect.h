/*
 * collect.h -- every worker's counters summed for the control socket and
 * /metrics, and the health a load balancer sees (main thread only).
 *
 * The workers write their counters (serve/stats.h) with relaxed atomic
 * stores; this reads them with relaxed loads: a sum may be a few queries
 * behind, never torn.
 */
#ifndef PLINKFWD_COLLECT_H
#define PLINKFWD_COLLECT_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "stats.h"
#include "upstream.h"

struct daemon;

/* One upstream server as every worker's upstream instance sees it,
 * merged by address. */
#define STATS_MAX_SERVERS 128
struct stats_server {
	struct sockaddr_storage addr;
	socklen_t addrlen;
	uint64_t sent, answered, failed, timeouts;
	uint64_t rtt_hist[UPSTREAM_RTT_BUCKETS]; /* answered attempts by RTT (upstream.h) */
	uint64_t rtt_sum_us;
	uint64_t srtt_sum_us;   /* sum of the workers' smoothed RTTs ... */
	unsigned srtt_n;        /* ... over this many workers that measured one */
	uint32_t outstanding;
	unsigned down;          /* workers that have it marked down */
	unsigned seen;          /* workers that know it */
};

/* Every worker's counters summed (main thread). */
struct stats_total {
	uint64_t queries_udp, queries_tcp, dropped;
	uint64_t tcp_denied, tcp_over_limit, tcp_deadline; /* connections the listener closed */
	uint64_t queries_tls, queries_https;
	struct stats_conns tls, https;    /* DoT and DoH connection events */
	uint64_t tls_conns, https_conns;  /* DoT and DoH connections open now */
	uint64_t answers[STATS_TRANSPORTS][STATS_SRC_N][STATS_RC_N];
	uint64_t lat[STATS_SRC_N][STATS_LAT_N];
	uint64_t lat_sum_us[STATS_SRC_N];
	struct stats_group groups[STATS_MAX_GROUPS]; /* merged by name; unused entries have used == 0 */
	size_t ngroups;
	uint64_t groups_overflow;
	uint64_t pending;      /* forwarded queries in flight now */
	uint64_t tcp_conns;    /* client TCP connections open now */
	uint64_t cache_hits, cache_misses, cache_stale;
	uint64_t spliced, fallbacks, splice_too_deep;
	uint64_t xfr[XFR_OUT_NOUTCOMES], xfr_aborted; /* transfer requests by outcome */
	struct upstream_stats up;                     /* summed over workers */
	struct stats_server servers[STATS_MAX_SERVERS];
	size_t nservers;
};
void stats_collect(const struct daemon *d, struct stats_total *out);

/* Only the queries received (UDP and TCP) and the answers sent by rcode,
 * summed over every worker, transport and answer source: what the status
 * page's rate ring samples every second, without the cost of a whole
 * stats_collect() (main thread; no allocation). */
void stats_collect_rates(const struct daemon *d, uint64_t *queries, uint64_t rcodes[STATS_RC_N]);


/*
 * Health as a load balancer sees it (main thread).  Returns 1 when every
 * worker is serving and every configured zone has data: every zone of the
 * current snapshot has records and, with an arm: clause, synced zones are
 * there (a sync round succeeded or zones were loaded from state-dir).
 * Otherwise 0 with the reason in why.  With ready set it also requires the
 * synced zones to be fresh: a successful sync round within three intervals.
 */
int stats_health(const struct daemon *d, int ready, char *why, size_t len);

#endif
