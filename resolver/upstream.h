/*
 * upstream.h -- forwarding queries to upstream groups (one instance per worker).
 *
 * For each forwarded query a pending slot is taken from a fixed pool (sized by
 * cfg max-pending); no allocation per query.  The slot owns a copy of the
 * query, the struct client and a snapshot reference until it completes.
 *
 * Rules: a random query ID and a fresh random source port per attempt; a
 * reply is accepted only when ID, question (case-insensitive) and source
 * address:port match what was sent.  A UDP reply with TC is retried over TCP
 * to the same server; a TCP client's query goes to upstreams over TCP.  On
 * timeout (cfg upstream-timeout) the next server of the group is tried; when
 * every server failed or cfg query-timeout passed, done() gets
 * UPSTREAM_FAILED and the client gets SERVFAIL.
 */
#ifndef PLINKFWD_UPSTREAM_H
#define PLINKFWD_UPSTREAM_H

#include <stddef.h>
#include <stdint.h>

struct event_base;
struct snapshot;
struct client;
struct wire_query;

enum upstream_status {
	UPSTREAM_OK = 0,   /* reply holds a validated upstream answer */
	UPSTREAM_FAILED    /* every server failed or the time ran out */
};

/*
 * Completion callback, called from the worker's event loop.  reply (len
 * bytes, ID already set back to the client's ID) is only valid during the
 * call.  cl is the slot's copy of the client.  q_len is the original query
 * (also only valid during the call) so that the caller can build an error
 * reply on failure.
 */
typedef void (*upstream_done_fn)(void *ctx, const struct client *cl, enum upstream_status st,
				 const uint8_t *reply, size_t len, const uint8_t *query, size_t qlen);

struct upstream;

/* New per-worker forwarder; NULL on allocation failure. */
struct upstream *upstream_new(struct event_base *base, size_t max_pending, upstream_done_fn done,
			      void *ctx);
/* Frees every pending slot (their clients get no answer) and the pool. */
void upstream_free(struct upstream *u);

/*
 * Forward query (qlen bytes, as received from the client, parsed into q) to
 * group index `group` of snap's config.  The query bytes are copied.
 * Returns 0 when sent (done() will be called exactly once later),
 * FWD_ENOENT when the group has no server (caller answers REFUSED),
 * FWD_EFULL when the pool is exhausted or FWD_EIO (caller answers SERVFAIL).
 */
int upstream_send(struct upstream *u, struct snapshot *snap, size_t group, const uint8_t *query,
		  size_t qlen, const struct wire_query *q, const struct client *cl, int tcp);

/* Number of queries in flight (for tests and stats). */
size_t upstream_pending(const struct upstream *u);

#endif
