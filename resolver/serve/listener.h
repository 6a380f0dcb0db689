/*
 * listener.h -- a worker's sockets: UDP with batched I/O, TCP per RFC 7766.
 *
 * UDP: recvmmsg() a batch into buffers the listener owns, answer each with
 * query_handle() into per-message reply buffers, sendmmsg() the batch.
 * TCP: connections come from a fixed pool (tcp-max-connections; beyond it a
 * new connection is accepted and closed at once), each pipelines up to
 * tcp-max-queries-per-connection queries whose answers are written as they
 * are ready; a connection idle for tcp-idle-timeout, sending a length
 * below 12, or stalling mid-message past the idle timeout is closed.
 */
#ifndef PLINKFWD_LISTENER_H
#define PLINKFWD_LISTENER_H

#include <stddef.h>
#include <stdint.h>

struct worker;
struct cfg;
struct client;

struct listener;

/* Open and register every listen address of cfg on w->base.  NULL on
 * failure (logged). Freed with listener_free(), which closes everything. */
struct listener *listener_new(struct worker *w, const struct cfg *cfg);
void listener_free(struct listener *l);

/* Send a reply that was produced later (forwarded queries).  For TCP the
 * connection must still be the one the query came on (generation check);
 * otherwise the reply is discarded. */
void listener_send(struct listener *l, const struct client *cl, const uint8_t *msg, size_t len);

/* Open TCP connections right now (for stats/tests). */
size_t listener_tcp_conns(const struct listener *l);

#endif
