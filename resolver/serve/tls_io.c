/*
 * tls_io.c -- read-ahead and same-pass writes on libevent's OpenSSL
 * bufferevents (see tls_io.h).
 *
 * libevent 2.1 gives no call that makes an OpenSSL bufferevent read what
 * OpenSSL has buffered, or write now: its read and write events are the
 * only way in, and struct bufferevent (event2/bufferevent_struct.h) is
 * where they are.  event_active() runs their callbacks (consider_reading,
 * consider_writing in bufferevent_openssl.c) later in the same loop pass,
 * exactly as if epoll had reported the socket.
 */
#include "tls_io.h"

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/bufferevent_struct.h>
#include <event2/event.h>
#include <openssl/ssl.h>

void tls_io_flush(struct bufferevent *bev)
{
	if (evbuffer_get_length(bufferevent_get_output(bev)) > 0)
		event_active(&bev->ev_write, EV_WRITE, 1);
}

void tls_io_after_read(struct bufferevent *bev)
{
	SSL *ssl = bufferevent_openssl_get_ssl(bev);
	/* read-ahead left whole records in OpenSSL's buffer: no epoll event
	 * will come for them.  Reading them first lets their answers join
	 * this batch.  When what is buffered is only part of a record, the
	 * read finds nothing more, our read callback does not run, and epoll
	 * does the write (the answers are already queued). */
	if (ssl && SSL_has_pending(ssl) && (bufferevent_get_enabled(bev) & EV_READ)) {
		event_active(&bev->ev_read, EV_READ, 1);
		return;
	}
	tls_io_flush(bev);
}

void tls_io_connected(struct bufferevent *bev)
{
	SSL *ssl = bufferevent_openssl_get_ssl(bev);
	if (ssl && SSL_has_pending(ssl))
		event_active(&bev->ev_read, EV_READ, 1);
}

enum fwd_err tls_io_reserve(struct bufferevent *bev)
{
	struct evbuffer *out = bufferevent_get_output(bev);
	/* an empty buffer has no chain: the one it gets now holds the whole
	 * batch, where evbuffer_add would start at 1 KB and double, each
	 * chain its own SSL_write and record */
	if (evbuffer_get_length(out) == 0 && evbuffer_expand(out, TLS_IO_BATCH) != 0)
		return FWD_ENOMEM;
	return FWD_OK;
}
