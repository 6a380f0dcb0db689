/*
 * tls.c -- TLS contexts for DoT and DoH, loaded and reloaded (see tls.h).
 */
#include "tls.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <openssl/err.h>

#include "config.h"
#include "counter.h"
#include "stats.h"

struct tls_store {
	pthread_mutex_t mu;      /* guards ctx[]: the main thread swaps, workers take references */
	SSL_CTX *ctx[TLS_NKIND]; /* one reference each; NULL until loaded */
};

/* ALPN protocol lists in wire form (length-prefixed) */
static const unsigned char alpn_dot[] = {3, 'd', 'o', 't'};
static const unsigned char alpn_h2[] = {2, 'h', '2'};

/*
 * ALPN (RFC 7301): pick our protocol if the client offers it.  A DoT client
 * need not send ALPN at all (RFC 7858 predates it), so offering something
 * else is answered without ALPN rather than with an alert; a DoH client
 * that offers only protocols we do not speak (http/1.1) gets
 * no_application_protocol, since nothing else would work.
 */
static int alpn_select(SSL *ssl, const unsigned char **out, unsigned char *outlen, const unsigned char *in,
		       unsigned int inlen, void *arg)
{
	const unsigned char *want = arg;
	unsigned char *sel;
	(void)ssl;
	if (SSL_select_next_proto(&sel, outlen, want, (unsigned)(want[0] + 1), in, inlen) ==
	    OPENSSL_NPN_NEGOTIATED) {
		*out = sel;
		return SSL_TLSEXT_ERR_OK;
	}
	return want == alpn_h2 ? SSL_TLSEXT_ERR_ALERT_FATAL : SSL_TLSEXT_ERR_NOACK;
}

static void ssl_reason(char *buf, size_t cap)
{
	unsigned long e = ERR_peek_last_error();
	if (e)
		ERR_error_string_n(e, buf, cap);
	else
		snprintf(buf, cap, "%s", strerror(errno ? errno : EINVAL));
	ERR_clear_error();
}

/* One context of kind k from cfg's files; NULL with the reason in err. */
static SSL_CTX *ctx_build(const struct cfg *cfg, enum tls_kind k, char *err, size_t errlen)
{
	char why[256];
	SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
	if (!ctx) {
		ssl_reason(why, sizeof(why));
		snprintf(err, errlen, "TLS context: %s", why);
		return NULL;
	}
	SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
	SSL_CTX_set_max_proto_version(ctx, TLS1_3_VERSION);
	/* stateless tickets only: resumption costs no server memory */
	SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
	/* a client that closes without close_notify has had its answers: an EOF,
	 * not an error (OpenSSL 3 reports it as one unless told otherwise) */
	SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE |
				    SSL_OP_IGNORE_UNEXPECTED_EOF);
	/* libevent's bufferevents may retry a write with a moved buffer.  No
	 * SSL_MODE_RELEASE_BUFFERS: a connection keeps its record buffers, so
	 * that a query on an open connection does not allocate them again */
	SSL_CTX_set_mode(ctx, SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER | SSL_MODE_ENABLE_PARTIAL_WRITE);
	/* one read() takes every record the client sent, not two per record
	 * (header, then body); tls_io.c makes libevent finish what OpenSSL
	 * holds, since no epoll event will come for it */
	SSL_CTX_set_read_ahead(ctx, 1);
	SSL_CTX_set_alpn_select_cb(ctx, alpn_select, (void *)(k == TLS_DOT ? alpn_dot : alpn_h2));
	ERR_clear_error();
	errno = 0;
	if (SSL_CTX_use_certificate_chain_file(ctx, cfg->tls_cert) != 1) {
		ssl_reason(why, sizeof(why));
		snprintf(err, errlen, "tls-cert %s: %s", cfg->tls_cert, why);
		goto fail;
	}
	errno = 0;
	if (SSL_CTX_use_PrivateKey_file(ctx, cfg->tls_key, SSL_FILETYPE_PEM) != 1) {
		ssl_reason(why, sizeof(why));
		snprintf(err, errlen, "tls-key %s: %s", cfg->tls_key, why);
		goto fail;
	}
	if (SSL_CTX_check_private_key(ctx) != 1) {
		ssl_reason(why, sizeof(why));
		snprintf(err, errlen, "tls-key %s does not match tls-cert %s: %s", cfg->tls_key, cfg->tls_cert, why);
		goto fail;
	}
	return ctx;
fail:
	SSL_CTX_free(ctx);
	return NULL;
}

static enum fwd_err build_all(const struct cfg *cfg, SSL_CTX *out[TLS_NKIND], char *err, size_t errlen)
{
	for (int k = 0; k < TLS_NKIND; k++) {
		out[k] = ctx_build(cfg, (enum tls_kind)k, err, errlen);
		if (!out[k]) {
			while (k-- > 0)
				SSL_CTX_free(out[k]);
			return FWD_EIO;
		}
	}
	return FWD_OK;
}

enum fwd_err tls_store_new(struct tls_store **out)
{
	struct tls_store *s = calloc(1, sizeof(*s));
	if (!s)
		return FWD_ENOMEM;
	pthread_mutex_init(&s->mu, NULL);
	*out = s;
	return FWD_OK;
}

void tls_store_free(struct tls_store *s)
{
	if (!s)
		return;
	for (int k = 0; k < TLS_NKIND; k++)
		SSL_CTX_free(s->ctx[k]);
	pthread_mutex_destroy(&s->mu);
	free(s);
}

enum fwd_err tls_check(const struct cfg *cfg, char *err, size_t errlen)
{
	SSL_CTX *ctx[TLS_NKIND];
	if (!cfg->tls_cert || !cfg->tls_key)
		return FWD_OK;
	if (build_all(cfg, ctx, err, errlen) != FWD_OK)
		return FWD_EIO;
	for (int k = 0; k < TLS_NKIND; k++)
		SSL_CTX_free(ctx[k]);
	return FWD_OK;
}

enum fwd_err tls_store_load(struct tls_store *s, const struct cfg *cfg, char *err, size_t errlen)
{
	SSL_CTX *fresh[TLS_NKIND], *old[TLS_NKIND];
	if (!cfg->tls_cert || !cfg->tls_key)
		return FWD_OK; /* no encrypted listener: nothing to serve with */
	if (build_all(cfg, fresh, err, errlen) != FWD_OK)
		return FWD_EIO;
	pthread_mutex_lock(&s->mu);
	for (int k = 0; k < TLS_NKIND; k++) {
		old[k] = s->ctx[k];
		s->ctx[k] = fresh[k];
	}
	pthread_mutex_unlock(&s->mu);
	/* connections made with the old contexts hold their own references */
	for (int k = 0; k < TLS_NKIND; k++)
		SSL_CTX_free(old[k]);
	return FWD_OK;
}

SSL_CTX *tls_store_get(struct tls_store *s, enum tls_kind k)
{
	SSL_CTX *ctx;
	pthread_mutex_lock(&s->mu);
	ctx = s->ctx[k];
	if (ctx)
		SSL_CTX_up_ref(ctx);
	pthread_mutex_unlock(&s->mu);
	return ctx;
}

void tls_conn_established(struct bufferevent *bev, struct stats_conns *c)
{
	SSL *ssl = bufferevent_openssl_get_ssl(bev);
	STATS_INC(c->handshakes);
	if (ssl && SSL_session_reused(ssl))
		STATS_INC(c->resumed);
}

const char *tls_conn_error(struct bufferevent *bev, char *buf, size_t cap)
{
	unsigned long e = bufferevent_get_openssl_error(bev);
	if (e) {
		ERR_error_string_n(e, buf, cap);
		while (bufferevent_get_openssl_error(bev))
			;
	} else {
		int se = EVUTIL_SOCKET_ERROR();
		snprintf(buf, cap, "%s", se ? strerror(se) : "connection closed during the handshake");
	}
	return buf;
}
