/*
 * upstream.h -- forwarding queries to upstream groups (one instance per worker).
 *
 * For each forwarded query a pending slot is taken from a fixed pool (sized by
 * cfg max-pending); no allocation per query.  The slot owns a copy of the
 * query, the struct client and a snapshot reference until it completes.
 *
 * Rules: a random query ID per attempt; a UDP attempt goes out on a connected
 * socket of a small per-server pool (each socket has its own kernel-chosen
 * random source port, carries one query at a time and is replaced after cfg
 * upstream-socket-reuse queries, after one second, or after any failure); a
 * TCP attempt gets a new connection.  A reply is accepted only when ID,
 * question (case-insensitive) and source address:port match what was sent;
 * one that matches but cannot be walked whole (wire_check_message) is a
 * failed attempt.
 * A UDP reply with TC is retried over TCP to the same server; a TCP client's
 * query goes to upstreams over TCP.  On timeout (cfg upstream-timeout) the
 * next server of the group is tried; when every server failed or cfg
 * query-timeout passed, done() gets UPSTREAM_FAILED and the client gets
 * SERVFAIL.
 *
 * Upstream health (docs/upstream.md), kept per worker and per server address
 * (so it survives reloads): a smoothed RTT per server picks the server to ask
 * first; a server is marked down after cfg upstream-down-after failures in a
 * row and then gets one real query every cfg upstream-probe-interval; caps on
 * queries per second and queries outstanding per server (the group's
 * caps[], resolved by cfg_load: none unless configured, azure-dns-max-* for
 * Azure DNS; divided among the workers) are never exceeded.  Identical questions in flight (name case-insensitively,
 * type, class, RD/CD/AD/DO bits, group, client transport) share
 * one upstream query; each of their clients still gets done() once, with its
 * own ID and its own question case in the reply.
 */
#ifndef PLINKFWD_UPSTREAM_H
#define PLINKFWD_UPSTREAM_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "common.h"

struct event_base;
struct fwd_clock;
struct snapshot;
struct wire_query;

enum upstream_status {
	UPSTREAM_OK = 0,   /* reply holds a validated upstream answer */
	UPSTREAM_FAILED    /* every server failed or the time ran out */
};

/*
 * The caller's context for one forwarded step.  The engine does not look
 * inside: upstream_send() copies ctxlen (<= UPSTREAM_CTX_MAX) bytes into the
 * slot, by value, and done() gets a pointer to that copy.  A context may
 * hold pointers; what they point to must outlive the slot (the slot's
 * snapshot reference keeps a snapshot's data alive).
 */
#define UPSTREAM_CTX_MAX 320

/*
 * Completion callback, called from the worker's event loop (or from
 * upstream_expire()), never from inside upstream_send().
 *  - ctx: the slot's copy of the caller's context;
 *  - reply (len bytes): the validated upstream answer, its ID set back to
 *    the client's and its question name in the client's case; NULL on
 *    failure.  Owned by the engine, writable, valid only during the call;
 *  - q: the client's query as parsed when it was sent (q->pkt is the slot's
 *    copy of the query bytes with the client's ID), valid only during the
 *    call, so that an error reply can echo it without parsing it again.
 */
typedef void (*upstream_done_fn)(void *arg, const void *ctx, enum upstream_status st, uint8_t *reply,
				 size_t len, const struct wire_query *q);

struct upstream;

/* New per-worker forwarder on base, reading the time from clock (both
 * borrowed: they must outlive it); NULL on allocation failure. */
struct upstream *upstream_new(struct event_base *base, const struct fwd_clock *clock, size_t max_pending,
			      upstream_done_fn done, void *arg);
/* Frees every pending slot (their clients get no answer) and the pool. */
void upstream_free(struct upstream *u);

/*
 * Forward the client's query q (parsed from q->pkt, q->len bytes) to group
 * index `group` of snap's config; ctx/ctxlen is the caller's context (see
 * UPSTREAM_CTX_MAX).  The query bytes, q and ctx are copied and snap gets a
 * reference for the slot's lifetime.  Returns FWD_OK when sent or joined to
 * an identical query in flight (done() will be called exactly once later),
 * FWD_ENOENT when the group has no server (caller answers REFUSED),
 * FWD_EFULL when the pool is exhausted or every server of the group is at
 * its qps/outstanding cap, FWD_EINVAL for a query it cannot carry, or
 * FWD_EIO (caller answers SERVFAIL for the last three).
 */
enum fwd_err upstream_send(struct upstream *u, struct snapshot *snap, size_t group, const struct wire_query *q,
			   int tcp, const void *ctx, size_t ctxlen);

/*
 * Fire every attempt timer that is due at the clock's current time.  The
 * event loop's timers do this in the daemon; a test that drives a
 * fwd_test_clock calls it after advancing the clock, so that timeouts
 * happen in virtual time.
 */
void upstream_expire(struct upstream *u);

/*
 * What happened to the attempts of a query that failed, so that the answer
 * can say why (an Extended DNS Error, RFC 8914, docs/edns.md).  Counted per
 * query over every server tried; a follower (coalesced) sees its leader's.
 */
struct upstream_failure {
	uint16_t servers;   /* servers asked */
	uint16_t timeouts;  /* attempts that got no reply within upstream-timeout */
	uint16_t errors;    /* network errors: ICMP unreachable, connect or send failed, TCP broken */
	uint16_t refused;   /* answered SERVFAIL or REFUSED */
	uint16_t malformed; /* malformed replies, TC over TCP */
	uint8_t capped;     /* the servers left were at their qps/outstanding caps */
	uint8_t expired;    /* query-timeout ran out */
	uint8_t busy;       /* no free pending slot (max-pending queries in flight) */
};

/* The failure last reported: by done() with UPSTREAM_FAILED (read it
 * inside done()), or by upstream_send() returning FWD_EFULL or FWD_EIO
 * (read it right after). */
void upstream_last_failure(const struct upstream *u, struct upstream_failure *out);

/* Number of queries in flight, coalesced ones included (for tests and stats). */
size_t upstream_pending(const struct upstream *u);

/* Counters of one instance since upstream_new().  Read from another thread
 * they are approximate (no locking), like the worker stats. */
struct upstream_stats {
	uint64_t sent;           /* attempts started (UDP and TCP) */
	uint64_t sent_tcp;       /* ... of which over TCP */
	uint64_t answered;       /* replies accepted (any rcode) */
	uint64_t malformed;      /* matching replies that failed the full walk, or TC over TCP */
	uint64_t timeouts;       /* attempts that got no reply in time */
	uint64_t errors;         /* ICMP unreachable, broken TCP, connect errors */
	uint64_t coalesced;      /* queries joined to an identical one in flight */
	uint64_t capped;         /* queries refused because every server was at a cap */
	uint64_t marked_down;    /* servers marked down */
	uint64_t probes;         /* queries sent to a down server to probe it */
	uint64_t sockets;        /* UDP sockets opened (one source port each) */
};
void upstream_get_stats(const struct upstream *u, struct upstream_stats *out);

/* The health of one server as this instance sees it. */
/* Bucket bounds of the per-server RTT histogram, in microseconds; the
 * last bucket (+Inf) has no entry here. */
#define UPSTREAM_RTT_BUCKETS 12
extern const uint32_t upstream_rtt_bounds_us[UPSTREAM_RTT_BUCKETS - 1];

struct upstream_server_info {
	struct sockaddr_storage addr;
	socklen_t addrlen;
	uint32_t srtt_us;        /* smoothed RTT; 0 when never measured */
	uint32_t outstanding;    /* attempts in flight */
	uint32_t fails;          /* failures in a row */
	int down;                /* marked down (probed every upstream-probe-interval) */
	uint64_t sent, answered, failed;
	uint64_t timeouts;       /* attempts that got no reply within upstream-timeout */
	/* answered attempts by round-trip time: rtt_hist[i] counts RTTs of at
	 * most upstream_rtt_bounds_us[i] (the last bucket has no bound) */
	uint64_t rtt_hist[UPSTREAM_RTT_BUCKETS];
	uint64_t rtt_sum_us;     /* sum of those RTTs */
};
/* Copy up to max entries into out; returns how many servers there are.
 * May be called from another thread: the table never moves, the values
 * are approximate (no locking). */
size_t upstream_servers(const struct upstream *u, struct upstream_server_info *out, size_t max);

#endif
