/*
 * query.h -- the request lifecycle: validate, ACL, route, answer or forward.
 *
 * Bad-input policy (docs/bad-input.md), applied in this order:
 *  1. shorter than a header, or QR=1 ............ dropped, never answered
 *  2. source not allowed by the ACL ............. REFUSED
 *  3. opcode other than QUERY ................... NOTIMP
 *  4. QDCOUNT != 1, malformed question or OPT ... FORMERR
 *  5. EDNS version != 0 ......................... BADVERS (with OPT)
 *  6. class other than IN, AXFR/IXFR ............ REFUSED / NOTIMP
 * Everything else is routed: a local zone answers at once; a forwarded
 * question is parsed and routed once, becomes a struct query_step (step.h)
 * that travels with the upstream query, and is finished by the upstream
 * completion against the snapshot it started with.
 *
 * A struct query_engine is one worker's query state.  It is built without
 * sockets: the worker (worker.c) connects it to a listener through the
 * send hook, and tests (tests/unit/test_query.c) build one on their own
 * event base with a fwd_test_clock and a capturing send hook.
 */
#ifndef PLINKFWD_QUERY_H
#define PLINKFWD_QUERY_H

#include <stddef.h>
#include <stdint.h>

#include "common.h"
#include "stats.h"
#include "xfr_out.h"

struct cache;
struct client;
struct cont_pool;
struct edns_cookie_keys;
struct event_base;
struct fwd_clock;
struct querylog_writer;
struct loop_addrs;
struct loop_guard;
struct snapshot;
struct snapshot_pub;
struct upstream;

/* Where answers produced later (forwarded questions) go: msg is only valid
 * during the call. */
typedef void (*query_send_fn)(void *arg, const struct client *cl, const uint8_t *msg, size_t len);

/* The opcode of a NOTIFY (RFC 1996). */
#define QUERY_OPCODE_NOTIFY 4

/*
 * Who answers a NOTIFY: called on the worker's thread with the snapshot in
 * use, the raw message and its source; returns the reply's length written
 * to out[0..cap), or 0 when the message is not for it (then NOTIMP).
 */
struct snapshot;
typedef size_t (*query_notify_fn)(void *arg, const struct snapshot *snap, const uint8_t *pkt, size_t len,
				  const struct sockaddr_storage *from, uint8_t *out, size_t cap);

struct query_engine {
	struct snapshot_pub *pub;      /* borrowed: where snapshots are published */
	struct snapshot *snap;         /* one reference: the snapshot new questions use */
	uint64_t gen;                  /* pub's generation of snap */
	const struct fwd_clock *clock; /* borrowed */
	struct cache *cache;           /* borrowed, shared by the workers; NULL = no cache */
	struct upstream *up;           /* owned: this worker's forwarding engine */
	struct cont_pool *conts;       /* owned: spliced answers waiting, splice buffers */
	struct querylog_writer *qlog;  /* borrowed; NULL when the query log is off */
	const struct edns_cookie_keys *cookies; /* borrowed: the server cookie secret; NULL = cookies off */
	/* forwarding loops (upstream/loop.h): the guard the workers share
	 * (borrowed; NULL = no loop detection) and this worker's view of
	 * snap's upstream servers by address (owned, rebuilt with snap) */
	struct loop_guard *loop;
	struct loop_addrs *laddrs;
	query_notify_fn notify;        /* NOTIFY messages (secondary zones); NULL = NOTIMP */
	void *notify_arg;
	query_send_fn send;            /* late answers; set before the first query */
	void *send_arg;
	struct worker_stats stats;     /* this worker's counters (stats.h) */
	uint64_t deep_warn_ms;         /* last "CNAME chain too deep to splice" warning */
	struct xfr_log_limit xfr_log;  /* refused transfer requests' log lines (UDP and TCP) */
	struct xfr_journal *journal;   /* borrowed: IXFR differences (xfr/xfr_journal.h); NULL = none */
	uint8_t scratch[65535];        /* a reply being adjusted on its way out */
};

/*
 * Set up e on base: takes a reference on pub's current snapshot, creates the
 * upstream engine and the continuation pool (max_pending each).  pub, clock,
 * cache and base are borrowed and must outlive e.  Returns FWD_OK, or
 * FWD_ENOMEM / FWD_EINVAL (no snapshot published); on failure whatever was
 * made is released by query_engine_fini().
 */
enum fwd_err query_engine_init(struct query_engine *e, struct event_base *base, struct snapshot_pub *pub,
			       const struct fwd_clock *clock, struct cache *cache, size_t max_pending);
/* Frees the upstream engine first (pending questions get no answer), then
 * the continuations, then drops the snapshot reference. */
void query_engine_fini(struct query_engine *e);
/* Where late answers go (the listener, or a test's capture). */
void query_engine_set_send(struct query_engine *e, query_send_fn send, void *arg);
/* Pick up a newly published snapshot if there is one: between batches, so
 * that a reload takes effect at the next question and never half-way
 * through one.  Cheap: one atomic load when nothing changed. */
void query_engine_refresh(struct query_engine *e);

/*
 * Handle one query (pkt, len) from cl.  Writes an immediate reply into
 * out[0..cap) and returns its length, or returns 0 when nothing is to be
 * sent now: dropped (*forwarded = 0), or forwarded (*forwarded = 1; the
 * answer comes later through the send hook).  cap must be at least 4096.
 * Allocation-free.
 */
size_t query_handle(struct query_engine *e, const uint8_t *pkt, size_t len, const struct client *cl,
		    uint8_t *out, size_t cap, int *forwarded);

#endif
