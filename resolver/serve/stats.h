/*
 * stats.h -- per-worker counters, written on the query path.  Their sum
 * for the control socket and /metrics is ops/collect.h.
 *
 * Writers and readers:
 *  - each worker thread writes only its own struct stats_worker (embedded in
 *    its struct worker_stats), with STATS_INC/STATS_ADD: a relaxed atomic
 *    store of the incremented value.  There is exactly one writer per
 *    counter, so no read-modify-write instruction (and no lock) is needed on
 *    the query path: on x86-64 and arm64 this is a plain load, add and store.
 *  - the main thread reads every worker's counters with relaxed atomic loads
 *    (ops/collect.c) and sums them.  The sum is a consistent-enough view: a
 *    counter may be a few queries behind, and two counters read a moment
 *    apart may disagree by the queries answered in between, but no value is
 *    ever torn and every counter only grows.
 *
 * Nothing here allocates on the query path; the per-group table is a fixed
 * array filled on first use.
 */
#ifndef PLINKFWD_STATS_H
#define PLINKFWD_STATS_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "counter.h"
#include "labels.h"
#include "xfr_out.h"

struct client;
struct querylog_writer;
struct wire_query;

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

/* Transports counted apart: enum client_transport (client.h) indexes them. */
#define STATS_TRANSPORTS 4

/* One worker's answer counters; lives in struct worker_stats. */
struct stats_worker {
	uint64_t answers[STATS_TRANSPORTS][STATS_SRC_N][STATS_RC_N]; /* [transport][source][rcode] */
	uint64_t lat[STATS_SRC_N][STATS_LAT_N];       /* answer latency per source */
	uint64_t lat_sum_us[STATS_SRC_N];
	struct stats_group groups[STATS_MAX_GROUPS];
	uint64_t groups_overflow;                      /* forwarded to a group beyond the table */
};

/* Connections of one encrypted transport (DoT or DoH) and why they ended
 * early (docs/encrypted-dns.md, docs/bad-input.md). */
struct stats_conns {
	uint64_t accepted;        /* given a slot: the TLS handshake starts */
	uint64_t handshakes;      /* TLS handshakes completed */
	uint64_t resumed;         /* ... of which resumed a session (ticket) */
	uint64_t denied;          /* source refused by the ACL, closed at accept */
	uint64_t over_limit;      /* over tls-max-connections or the per-client limit, closed at accept */
	uint64_t idle;            /* closed after tls-idle-timeout with nothing pending */
	uint64_t deadline;        /* a handshake or message not complete within tls-idle-timeout */
	uint64_t tls_error;       /* the TLS layer failed: bad handshake, bad record, no common ALPN */
	uint64_t bad_stream;      /* inside TLS, not DNS (a length below 12) or not HTTP/2 */
};

/* Every counter of one worker; written by that worker only (STATS_INC),
 * read by the main thread (STATS_GET). */
struct worker_stats {
	uint64_t queries_udp, queries_tcp, queries_tls, queries_https;
	struct stats_conns tls, https; /* DoT and DoH connections */
	uint64_t answers_local, answers_forwarded;
	uint64_t refused, servfail, formerr, notimp, dropped;
	/* TCP connections closed by the listener's own policy (docs/bad-input.md) */
	uint64_t tcp_denied;          /* source refused by the ACL, closed at accept */
	uint64_t tcp_over_limit;      /* over tcp-max-connections or the per-client limit */
	uint64_t tcp_deadline;        /* a message not complete within tcp-idle-timeout of its first byte */
	uint64_t cache_hits, cache_misses, cache_stale;  /* stale: served past expiry (RFC 8767) */
	uint64_t splice_too_deep;     /* public CNAME chains longer than SPLICE_MAX_CHAIN: not spliced */
	uint64_t spliced, fallbacks;  /* CNAME chains completed privately; NXDOMAIN sent to "default" */
	uint64_t xfr[XFR_OUT_NOUTCOMES]; /* transfer requests by outcome (xfr/xfr_out.h) */
	uint64_t xfr_aborted;         /* transfers cut short: the connection closed, or signing failed */
	struct stats_worker ops;      /* answers by transport/source/rcode, latency, groups */
};

/*
 * Account a reply that is about to be sent for a question plinkfwd answered
 * itself (worker thread): the answer counters, the latency histogram (now_us
 * from the worker's clock) and, when qlog is not NULL, one query-log line.
 * The question and rcode are read from the reply itself, so this works for
 * every exit, error replies included.  Allocation-free.
 */
void stats_reply(struct worker_stats *ws, struct querylog_writer *qlog, const struct client *cl,
		 enum stats_source src, const uint8_t *reply, size_t len, uint64_t now_us);

/*
 * Account the completion of a forwarded question (worker thread): q is the
 * client's query as parsed when it came, group the name of the upstream
 * group it was forwarded to, ok 1 when a validated upstream reply (reply,
 * len) is relayed and 0 when the client gets SERVFAIL.
 */
void stats_forwarded(struct worker_stats *ws, struct querylog_writer *qlog, const struct client *cl,
		     const struct wire_query *q, const char *group, int ok, const uint8_t *reply, size_t len,
		     uint64_t now_us);

/*
 * Account a stale answer (reply, len) served because every server of group
 * failed: the group counts a failure, the answer counts as source "stale",
 * and the query log names the group that failed ("stale:GROUP").
 */
void stats_stale(struct worker_stats *ws, struct querylog_writer *qlog, const struct client *cl,
		 const struct wire_query *q, const char *group, const uint8_t *reply, size_t len, uint64_t now_us);

#endif
