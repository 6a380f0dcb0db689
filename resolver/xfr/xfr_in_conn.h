/*
 * xfr_in_conn.h -- one TCP connection to a primary, on the main loop.
 *
 * Non-blocking (libevent bufferevent): connect, send queries with their
 * two-byte length prefix (RFC 1035 4.2.2), hand every complete message to
 * msg_fn, and report the end -- the primary closed, an error, or no byte
 * for timeout_s -- to end_fn, saying whether it came inside a message (a
 * truncated stream).  Nothing here blocks, so the workers and the main
 * loop keep serving while a transfer runs.
 *
 * Callbacks may call xfr_conn_free() on their own connection; it is then
 * freed when the callback returns.  end_fn is called at most once, and not
 * after xfr_conn_free().
 */
#ifndef PLINKFWD_XFR_IN_CONN_H
#define PLINKFWD_XFR_IN_CONN_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "common.h"

struct event_base;
struct xfr_conn;

typedef void (*xfr_conn_msg_fn)(void *arg, const uint8_t *msg, size_t len);
typedef void (*xfr_conn_end_fn)(void *arg, int mid_message, const char *why);

/* Connect to sa; FWD_OK with *out, or FWD_EIO / FWD_ENOMEM. */
enum fwd_err xfr_conn_open(struct event_base *base, const struct sockaddr *sa, socklen_t salen, int timeout_s,
			   xfr_conn_msg_fn msg_fn, xfr_conn_end_fn end_fn, void *arg, struct xfr_conn **out);
/* Queue one message (prefix added here): FWD_OK, FWD_EINVAL (over 65535), FWD_ENOMEM. */
enum fwd_err xfr_conn_send(struct xfr_conn *c, const uint8_t *msg, size_t len);
/* Close and free (NULL is fine). */
void xfr_conn_free(struct xfr_conn *c);

#endif
