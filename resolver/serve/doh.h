/*
 * doh.h -- DNS over HTTPS (RFC 8484) over HTTP/2: nghttp2 does the framing,
 * a TLS bufferevent (tls.h) carries it.
 *
 * A struct doh_pool is one worker's DoH connections: a fixed pool of slots
 * (tls-max-connections), each with up to tls-max-queries-per-connection
 * HTTP/2 streams open at once (SETTINGS_MAX_CONCURRENT_STREAMS; one more is
 * refused with REFUSED_STREAM).  A request is `GET /dns-query?dns=BASE64URL`
 * or `POST /dns-query` with an application/dns-message body; the answer is
 * a 200 with an application/dns-message body and `cache-control:
 * max-age=` its smallest TTL (RFC 8484 5.1), in whatever order answers are
 * ready.  Other paths get 404, other methods 405, another media type
 * 415, a bad dns parameter or a body that is not a query 400, a body over
 * 65,535 bytes 413.  Idle connections, handshakes that do not finish and
 * streams that are not HTTP/2 are closed as for DoT (stream.h).
 *
 * Allocation: the connection's slots, stream table and nghttp2 session
 * are made at accept; a stream's buffer grows to the largest message it
 * has carried and is reused by later streams.  nghttp2's per-stream blocks
 * come from the pool's free lists (doh_mem.h).
 */
#ifndef PLINKFWD_DOH_H
#define PLINKFWD_DOH_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "common.h"

struct bufferevent;
struct client;
struct event_base;
struct query_engine;
struct stream_limits;
struct tls_store;
struct doh_pool;

/* A pool on base answering through qe (both borrowed).  FWD_OK with *out
 * set (freed with doh_pool_free(), which closes every connection), or
 * FWD_ENOMEM. */
enum fwd_err doh_pool_new(struct query_engine *qe, struct event_base *base, const struct stream_limits *lim,
			  struct doh_pool **out);
void doh_pool_free(struct doh_pool *p);

/* May a connection from ss have a slot?  As stream_pool_admit(). */
enum fwd_err doh_admit(struct doh_pool *p, const struct sockaddr_storage *ss);

/* An admitted socket fd: a TLS session from the store's DoH context, then
 * HTTP/2 once the handshake is done (through doh_attach()).  FWD_OK, or fd
 * closed and an error. */
enum fwd_err doh_accept(struct doh_pool *p, struct tls_store *tls, int fd, const struct sockaddr_storage *ss,
			socklen_t sl);

/* Give an admitted connection from ss a slot: bev, whose ownership passes
 * to the pool (which frees it, and so closes its socket).  A TLS
 * bufferevent (bufferevent_openssl_*) starts HTTP/2 when its handshake is
 * done, within the idle timeout; any other bufferevent (a plain socket, as
 * the fuzz target's socketpair) starts it at once.  FWD_OK, or FWD_EFULL /
 * FWD_ENOMEM with bev freed. */
enum fwd_err doh_attach(struct doh_pool *p, struct bufferevent *bev, const struct sockaddr_storage *ss);

/* A late answer for cl (CLIENT_HTTPS): sent on its stream when the
 * connection and stream are still there, dropped otherwise.  msg is only
 * read during the call. */
void doh_send(const struct client *cl, const uint8_t *msg, size_t len);

/* Connections open now (a gauge). */
size_t doh_pool_open(const struct doh_pool *p);

#endif
