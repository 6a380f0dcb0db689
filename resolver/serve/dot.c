/*
 * dot.c -- a DoT connection: TLS server session on an accepted socket,
 * then the pool's DNS-over-stream handling (see dot.h).
 */
#include "dot.h"

#include <unistd.h>

#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <openssl/ssl.h>

#include "stream.h"
#include "tls.h"

enum fwd_err dot_accept(struct stream_pool *pool, struct tls_store *tls, struct event_base *base, int fd,
			const struct sockaddr_storage *ss, socklen_t sl)
{
	SSL_CTX *ctx = tls_store_get(tls, TLS_DOT);
	if (!ctx) {
		close(fd);
		return FWD_ENOENT;
	}
	/* the session holds its own reference on the context: a reload that
	 * swaps the store's contexts leaves this connection alone */
	SSL *ssl = SSL_new(ctx);
	SSL_CTX_free(ctx);
	if (!ssl) {
		close(fd);
		return FWD_ENOMEM;
	}
	struct bufferevent *bev =
		bufferevent_openssl_socket_new(base, fd, ssl, BUFFEREVENT_SSL_ACCEPTING, BEV_OPT_CLOSE_ON_FREE);
	if (!bev) {
		SSL_free(ssl);
		close(fd);
		return FWD_ENOMEM;
	}
	/* a client that closes without close_notify has still been answered:
	 * an EOF, not a TLS error (RFC 7858 is silent; every stub does it) */
	bufferevent_openssl_set_allow_dirty_shutdown(bev, 1);
	return stream_pool_attach(pool, bev, ss, sl);
}
