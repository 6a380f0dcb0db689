/*
 * stream.h -- DNS over a byte stream (RFC 7766 framing: a two-byte length,
 * then the message): the connections of plain TCP and of DNS over TLS
 * (RFC 7858), which differ only in the bufferevent underneath.
 *
 * A struct stream_pool is one worker's connections of one transport: a
 * fixed pool of slots allocated at start-up (a full pool closes a new
 * connection at once), each pipelining up to max_inflight forwarded queries
 * whose answers are written as they are ready, in any order.  A connection
 * idle for idle_ms (nothing read, nothing pending), sending a length below
 * 12, or stalling mid-message (or mid-handshake) past idle_ms is closed.
 * The pool owns one input and one output buffer: a query is handled while
 * it sits in them, so serving a query on an open connection allocates
 * nothing (libevent's evbuffers reuse their chains).
 */
#ifndef PLINKFWD_STREAM_H
#define PLINKFWD_STREAM_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "client.h"
#include "common.h"

struct bufferevent;
struct event_base;
struct query_engine;
struct stream_pool;

struct stream_limits {
	int idle_ms;          /* idle timeout, and the deadline of a message or handshake */
	int max_inflight;     /* forwarded queries pending per connection */
	int max_per_client;   /* connections per source address */
	size_t max_conns;     /* slots */
};

/* A pool for transport tr (CLIENT_TCP or CLIENT_TLS) on base, answering
 * through qe (both borrowed).  FWD_OK with *out set (freed with
 * stream_pool_free(), which closes every connection), or FWD_ENOMEM. */
enum fwd_err stream_pool_new(struct query_engine *qe, struct event_base *base, enum client_transport tr,
			     const struct stream_limits *lim, struct stream_pool **out);
void stream_pool_free(struct stream_pool *p);

/*
 * May a connection from ss have a slot?  FWD_OK; FWD_EINVAL when the ACL
 * refuses the source; FWD_EFULL when the pool or the source's share is
 * full.  Counts the refusals; the caller closes the socket (RFC 7766 6.2.2:
 * closing at once is the clearest signal).
 */
enum fwd_err stream_pool_admit(struct stream_pool *p, const struct sockaddr_storage *ss);

/* Give an admitted connection a slot: bev (socket or TLS, ownership passes
 * to the pool, which frees it and so closes the socket) from ss/sl.
 * FWD_OK, or FWD_EFULL (bev freed). */
enum fwd_err stream_pool_attach(struct stream_pool *p, struct bufferevent *bev, const struct sockaddr_storage *ss,
				socklen_t sl);

/* A late answer for cl (CLIENT_TCP or CLIENT_TLS): written when cl's
 * connection is still the one the query came on (generation check),
 * dropped otherwise.  msg is only read during the call. */
void stream_send(const struct client *cl, const uint8_t *msg, size_t len);

/* Connections open now (a gauge, read by the main thread). */
size_t stream_pool_open(const struct stream_pool *p);

#endif
