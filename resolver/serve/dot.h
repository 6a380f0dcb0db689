/*
 * dot.h -- DNS over TLS (RFC 7858): a TLS session (tls.h) carrying the
 * stream framing of DNS over TCP (stream.h).
 */
#ifndef PLINKFWD_DOT_H
#define PLINKFWD_DOT_H

#include <sys/socket.h>

#include "common.h"

struct event_base;
struct stream_pool;
struct tls_store;

/*
 * An accepted socket fd from ss/sl, already admitted by
 * stream_pool_admit(): wrap it in a TLS server session made from the
 * store's current DoT context and hand it to pool, which owns it from then
 * on.  FWD_OK; otherwise fd is closed and FWD_ENOENT (no context loaded),
 * FWD_ENOMEM or FWD_EFULL.  The handshake runs on the pool's loop.
 */
enum fwd_err dot_accept(struct stream_pool *pool, struct tls_store *tls, struct event_base *base, int fd,
			const struct sockaddr_storage *ss, socklen_t sl);

#endif
