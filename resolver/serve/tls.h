/*
 * tls.h -- the TLS contexts of the encrypted listeners (DoT, DoH) and
 * their reload.
 *
 * One struct tls_store per process, owned by the daemon, shared by every
 * worker: one SSL_CTX per kind (ALPN `dot` for DNS over TLS, `h2` for DNS
 * over HTTPS), both from tls-cert and tls-key.  TLS 1.2 and 1.3 only;
 * session resumption by stateless tickets (no server-side session cache),
 * whose keys belong to the SSL_CTX: every worker shares them, and a reload
 * that installs a new certificate also starts new ticket keys.
 *
 * Reload: tls_store_load() builds both contexts aside; only when both are
 * good does it swap them in (under a mutex).  A bad certificate or key
 * leaves the running contexts alone and says why.  A worker takes a
 * reference on the current context at each accept (tls_store_get()), so a
 * connection keeps the context it started with and a swap never disturbs it.
 */
#ifndef PLINKFWD_TLS_H
#define PLINKFWD_TLS_H

#include <stddef.h>

#include <openssl/ssl.h>

#include "common.h"

struct bufferevent;
struct cfg;
struct stats_conns;

enum tls_kind { TLS_DOT = 0, TLS_DOH = 1, TLS_NKIND };

struct tls_store;

/* A store with no context yet: FWD_OK with *out set (free with
 * tls_store_free()), or FWD_ENOMEM. */
enum fwd_err tls_store_new(struct tls_store **out);
/* Drops the store's references; connections still holding a context keep it. */
void tls_store_free(struct tls_store *s);

/*
 * Load cfg's tls-cert and tls-key into new contexts and install them.
 * FWD_OK (also when cfg names no certificate: nothing changes), or FWD_EIO
 * with "tls-cert PATH: reason" in err and the previous contexts kept.
 * Main thread; reads the files.
 */
enum fwd_err tls_store_load(struct tls_store *s, const struct cfg *cfg, char *err, size_t errlen);

/* Check that cfg's certificate and key load and match, without installing
 * them (plinkfwd -t): FWD_OK or FWD_EIO with the reason in err. */
enum fwd_err tls_check(const struct cfg *cfg, char *err, size_t errlen);

/* The current context of kind k with a reference the caller drops with
 * SSL_CTX_free(), or NULL when none is loaded.  Any thread (a mutex; once
 * per accepted connection, never per query). */
SSL_CTX *tls_store_get(struct tls_store *s, enum tls_kind k);

/* A TLS bufferevent finished its handshake: count it, and a resumed
 * session (worker thread). */
void tls_conn_established(struct bufferevent *bev, struct stats_conns *c);

/* Why a TLS bufferevent failed, as text in buf (OpenSSL's first queued
 * error, or the socket's errno); returns buf. */
const char *tls_conn_error(struct bufferevent *bev, char *buf, size_t cap);

#endif
