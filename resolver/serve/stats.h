/*
 * stats.h -- per-worker answer counters and their aggregation for the
 * control socket and /metrics.
 *
 * Writers and readers:
 *  - each worker thread writes only its own struct stats_worker (embedded in
 *    its struct worker_stats), with STATS_INC/STATS_ADD: a relaxed atomic
 *    store of the incremented value.  There is exactly one writer per
 *    counter, so no read-modify-write instruction (and no lock) is needed on
 *    the query path: on x86-64 and arm64 this is a plain load, add and store.
 *  - the main thread reads every worker's counters with relaxed atomic loads
 *    (stats_collect) and sums them.  The sum is a consistent-enough view: a
 *    counter may be a few queries behind, and two counters read a moment
 *    apart may disagree by the queries answered in between, but no value is
 *    ever torn and every counter only grows.
 * The older counters of struct worker_stats (queries_udp, refused, ...) are
 * plain increments written by listener.c and query.c; they are read the same
 * way (see worker.h).
 *
 * Nothing here allocates on the query path; the per-group table is a fixed
 * array filled on first use.
 */
#ifndef PLINKFWD_STATS_H
#define PLINKFWD_STATS_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "upstream.h"

struct daemon;
struct worker;
struct client;
struct wire_query;

/* Where an answer came from (the "source" label of the metrics and the
 * query log). */
enum stats_source {
	STATS_SRC_LOCAL = 0, /* a zone: file */
	STATS_SRC_SYNCED,    /* a zone synced from ARM */
	STATS_SRC_CACHE,     /* the answer cache */
	STATS_SRC_UPSTREAM,  /* an upstream group's reply, relayed */
	STATS_SRC_ERROR,     /* an error plinkfwd produced itself (ACL, FORMERR, empty group, ...) */
	STATS_SRC_N
};

/* Response codes kept apart; everything else counts as "other". */
enum stats_rcode {
	STATS_RC_NOERROR = 0, STATS_RC_FORMERR, STATS_RC_SERVFAIL, STATS_RC_NXDOMAIN,
	STATS_RC_NOTIMP, STATS_RC_REFUSED, STATS_RC_BADVERS, STATS_RC_OTHER, STATS_RC_N
};

/* Latency histogram bucket upper bounds in microseconds (the last bucket,
 * index STATS_LAT_N - 1, is +Inf). */
#define STATS_LAT_N 16
extern const uint64_t stats_lat_bounds_us[STATS_LAT_N - 1];

#define STATS_GROUP_NAME 64
#define STATS_MAX_GROUPS 32 /* distinct upstream group names counted per worker */

/* Forwarded queries per upstream group, keyed by name so that a reload that
 * reorders the groups does not mix their counters up. */
struct stats_group {
	char name[STATS_GROUP_NAME];
	int used;              /* set (release) once name is written */
	uint64_t answered;     /* a validated upstream reply was relayed */
	uint64_t failed;       /* every server failed or time ran out: SERVFAIL */
	uint64_t lat[STATS_LAT_N];
	uint64_t lat_sum_us;
};

/* One worker's counters; lives in struct worker_stats (worker.h). */
struct stats_worker {
	uint64_t answers[2][STATS_SRC_N][STATS_RC_N]; /* [tcp][source][rcode] */
	uint64_t lat[STATS_SRC_N][STATS_LAT_N];       /* answer latency per source */
	uint64_t lat_sum_us[STATS_SRC_N];
	struct stats_group groups[STATS_MAX_GROUPS];
	uint64_t groups_overflow;                      /* forwarded to a group beyond the table */
};

#define STATS_INC(var) __atomic_store_n(&(var), (var) + 1, __ATOMIC_RELAXED)
#define STATS_ADD(var, n) __atomic_store_n(&(var), (var) + (n), __ATOMIC_RELAXED)
#define STATS_GET(var) __atomic_load_n(&(var), __ATOMIC_RELAXED)

/*
 * Account a reply query_handle() is about to return (worker thread): the
 * answer counters, the latency histogram and, when the query log is on, one
 * line.  The question and rcode are read from the reply itself, so this
 * works for every exit, error replies included.  Allocation-free.
 */
void stats_reply(struct worker *w, const struct client *cl, enum stats_source src,
		 const uint8_t *reply, size_t len);

/*
 * Account the completion of a forwarded query (worker thread, from the
 * upstream callback): q is the re-parsed query, ok is 1 when a validated
 * upstream reply (reply, len) is relayed and 0 when the client gets
 * SERVFAIL.  The upstream group is found again by routing q's name against
 * the worker's current snapshot.
 */
void stats_forwarded(struct worker *w, const struct client *cl, const struct wire_query *q, int ok,
		     const uint8_t *reply, size_t len);

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
	uint64_t answers[2][STATS_SRC_N][STATS_RC_N];
	uint64_t lat[STATS_SRC_N][STATS_LAT_N];
	uint64_t lat_sum_us[STATS_SRC_N];
	struct stats_group groups[STATS_MAX_GROUPS]; /* merged by name; unused entries have used == 0 */
	size_t ngroups;
	uint64_t groups_overflow;
	uint64_t pending;      /* forwarded queries in flight now */
	uint64_t tcp_conns;    /* client TCP connections open now */
	uint64_t cache_hits, cache_misses, cache_stale;
	uint64_t spliced, fallbacks;
	struct upstream_stats up;                     /* summed over workers */
	struct stats_server servers[STATS_MAX_SERVERS];
	size_t nservers;
};
void stats_collect(const struct daemon *d, struct stats_total *out);

/* Label text for an enum value. */
const char *stats_source_name(enum stats_source s);
const char *stats_rcode_name(enum stats_rcode r);
/* DNS rcode number (0..4095) to a stats_rcode bucket. */
enum stats_rcode stats_rcode_bucket(int rcode);
/* Mnemonic for a DNS type ("A", "AAAA", ...) or "TYPEnnn" written to buf. */
const char *stats_type_name(uint16_t type, char *buf, size_t cap);

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
