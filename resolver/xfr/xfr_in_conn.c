/*
 * xfr_in_conn.c -- a primary's TCP connection on the main loop (xfr_in_conn.h).
 */
#include "xfr_in_conn.h"

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct xfr_conn {
	struct bufferevent *bev;
	xfr_conn_msg_fn msg_fn;
	xfr_conn_end_fn end_fn;
	void *arg;
	int in_cb;  /* inside a callback: free later */
	int dead;   /* xfr_conn_free() was called from a callback */
	int ended;  /* end_fn was called */
	uint8_t msg[65535];
};

static void destroy(struct xfr_conn *c)
{
	if (c->bev)
		bufferevent_free(c->bev);
	free(c);
}

/* After a callback: free a connection its owner let go meanwhile. 1 = gone. */
static int settle(struct xfr_conn *c)
{
	c->in_cb = 0;
	if (c->dead) {
		destroy(c);
		return 1;
	}
	return 0;
}

static void end(struct xfr_conn *c, int mid, const char *why)
{
	if (c->ended || c->dead)
		return;
	c->ended = 1;
	c->end_fn(c->arg, mid, why);
}

static void on_read(struct bufferevent *bev, void *arg)
{
	struct xfr_conn *c = arg;
	struct evbuffer *in = bufferevent_get_input(bev);

	c->in_cb = 1;
	while (!c->dead && !c->ended) {
		uint8_t pre[2];
		size_t have = evbuffer_get_length(in);
		if (have < 2 || evbuffer_copyout(in, pre, 2) != 2)
			break;
		size_t mlen = ((size_t)pre[0] << 8) | pre[1];
		if (have < mlen + 2)
			break;
		evbuffer_drain(in, 2);
		evbuffer_remove(in, c->msg, mlen);
		c->msg_fn(c->arg, c->msg, mlen);
	}
	settle(c);
}

static void on_event(struct bufferevent *bev, short what, void *arg)
{
	struct xfr_conn *c = arg;
	int mid = evbuffer_get_length(bufferevent_get_input(bev)) > 0;

	if (what & BEV_EVENT_CONNECTED)
		return;
	c->in_cb = 1;
	if (what & BEV_EVENT_TIMEOUT)
		end(c, mid, "timed out");
	else if (what & BEV_EVENT_EOF)
		end(c, mid, "closed by the primary");
	else
		end(c, mid, evutil_socket_error_to_string(EVUTIL_SOCKET_ERROR()));
	settle(c);
}

enum fwd_err xfr_conn_open(struct event_base *base, const struct sockaddr *sa, socklen_t salen, int timeout_s,
			   xfr_conn_msg_fn msg_fn, xfr_conn_end_fn end_fn, void *arg, struct xfr_conn **out)
{
	struct xfr_conn *c = calloc(1, sizeof(*c));
	struct timeval tv = {timeout_s, 0};

	if (!c)
		return FWD_ENOMEM;
	c->msg_fn = msg_fn;
	c->end_fn = end_fn;
	c->arg = arg;
	c->bev = bufferevent_socket_new(base, -1, BEV_OPT_CLOSE_ON_FREE);
	if (!c->bev) {
		free(c);
		return FWD_ENOMEM;
	}
	bufferevent_setcb(c->bev, on_read, NULL, on_event, c);
	bufferevent_set_timeouts(c->bev, &tv, &tv);
	if (bufferevent_socket_connect(c->bev, sa, (int)salen) < 0) {
		destroy(c);
		return FWD_EIO;
	}
	bufferevent_enable(c->bev, EV_READ | EV_WRITE);
	*out = c;
	return FWD_OK;
}

enum fwd_err xfr_conn_send(struct xfr_conn *c, const uint8_t *msg, size_t len)
{
	uint8_t pre[2] = {(uint8_t)(len >> 8), (uint8_t)len};
	if (len > 65535)
		return FWD_EINVAL;
	if (bufferevent_write(c->bev, pre, 2) < 0 || bufferevent_write(c->bev, msg, len) < 0)
		return FWD_ENOMEM;
	return FWD_OK;
}

void xfr_conn_free(struct xfr_conn *c)
{
	if (!c)
		return;
	if (c->in_cb) {
		c->dead = 1;
		return;
	}
	destroy(c);
}
