/*
 * listener.h -- a worker's sockets: UDP with batched I/O, TCP per RFC 7766,
 * DNS over TLS (RFC 7858) and DNS over HTTPS (RFC 8484).
 *
 * UDP: recvmmsg() a batch into buffers the listener owns, answer each with
 * query_handle() (serve/query.h) into per-message reply buffers, sendmmsg() the batch.
 * TCP and DoT: connections of a stream pool (stream.h; DoT's TLS in dot.h),
 * DoH: connections of an HTTP/2 pool (doh.h).  Every accepted connection
 * passes the ACL and the pool's caps before anything else, and is closed at
 * once when it does not.
 */
#ifndef PLINKFWD_LISTENER_H
#define PLINKFWD_LISTENER_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "common.h"

#include "client.h"

struct cfg;
struct event_base;
struct query_engine;
struct tls_store;

struct listener;

/* Open every listen, listen-tls and listen-https address of cfg and
 * register the sockets on base; every query goes to qe (qe, base and tls
 * borrowed: they outlive the listener; tls may be NULL when cfg has no
 * encrypted listener).  announce: log the addresses (one worker does).
 * NULL on failure (logged).  Freed with listener_free(), which closes
 * everything. */
struct listener *listener_new(struct query_engine *qe, struct event_base *base, const struct cfg *cfg,
			      struct tls_store *tls, int announce);
void listener_free(struct listener *l);

/* Send a reply that was produced later (forwarded queries); arg is the
 * struct listener (the query engine's query_send_fn).  For TCP the
 * connection must still be the one the query came on (generation check);
 * otherwise the reply is discarded.  msg is only read during the call. */
void listener_send(void *arg, const struct client *cl, const uint8_t *msg, size_t len);

/* The address listen socket i (0-based, in the order of the config the
 * listener was opened with) is bound to, as the kernel has it
 * (getsockname), into *ss and *len.  FWD_OK; FWD_ENOENT past the last one;
 * FWD_EIO when the kernel says no.  Any thread: a listener's sockets do
 * not change after listener_new(), whatever a reload puts in the config. */
enum fwd_err listener_bound_addr(const struct listener *l, size_t i, struct sockaddr_storage *ss, socklen_t *len);

/* Open TCP connections right now (for stats/tests). */
size_t listener_tcp_conns(const struct listener *l);
/* Open connections of transport tr right now (TCP, TLS or HTTPS; a gauge). */
size_t listener_conns(const struct listener *l, enum client_transport tr);

#endif
