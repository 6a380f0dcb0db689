/*
 * stream.c -- DNS over TCP and over TLS: framing, pipelining, limits (see
 * stream.h).
 *
 * Buffer ownership: the pool owns its input and output message buffers;
 * query_handle() copies whatever must outlive the call (upstream.c copies
 * forwarded queries).  A slot's bufferevent is NULL while the slot is free.
 */
#include "stream.h"

#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>

#include "acl.h"
#include "clock.h"
#include "counter.h"
#include "log.h"
#include "query.h"
#include "snapshot.h"
#include "stats.h"
#include "tls.h"
#include "tls_io.h"
#include "wire.h"
#include "xfr_out.h"

/*
 * A transfer is written while the connection's output holds less than
 * XFR_HIGH bytes; the write callback runs again once it has drained to
 * XFR_LOW (the bufferevent's write low-watermark).  Each turn adds one or
 * two messages, then the loop serves other sockets.
 */
#define XFR_LOW (64 * 1024)
#define XFR_HIGH (160 * 1024)

struct tcp_conn {
	struct stream_pool *p;
	struct bufferevent *bev;     /* NULL when the slot is free */
	uint64_t gen;                /* bumped at close: late replies are dropped */
	struct sockaddr_storage addr;
	socklen_t addrlen;
	int inflight;                /* forwarded queries not answered yet */
	int read_paused;             /* inflight reached the per-connection cap */
	int eof;                     /* client closed its side: close when drained */
	int ready;                   /* TCP: always; TLS: the handshake is done */
	int deadline_armed;          /* part of a message is buffered: it must complete in time */
	struct event *deadline;      /* owned: closes a connection whose message does not complete */
	struct xfr_out *xfr;         /* owned: a zone transfer being written; reading waits for it */
	struct tcp_conn *next_free;
};

struct stream_pool {
	struct query_engine *qe;     /* borrowed: answers every query */
	struct event_base *base;     /* borrowed: the worker's loop */
	enum client_transport tr;
	struct stream_limits lim;
	struct tcp_conn *conns;      /* lim.max_conns slots */
	struct tcp_conn *free_conns;
	size_t open_conns;
	struct stats_conns *tls;     /* TLS: this transport's connection counters; NULL for TCP */
	uint8_t in[WIRE_MAX_MSG];    /* one message in ... */
	uint8_t out[WIRE_MAX_MSG];   /* ... and its immediate reply */
};

static void conn_close(struct tcp_conn *c)
{
	struct stream_pool *p = c->p;
	if (!c->bev)
		return;
	bufferevent_free(c->bev); /* closes the socket (and frees the SSL) */
	c->bev = NULL;
	if (c->xfr) {
		STATS_INC(p->qe->stats.xfr_aborted);
		xfr_out_free(c->xfr);
		c->xfr = NULL;
	}
	if (c->deadline_armed)
		event_del(c->deadline);
	c->deadline_armed = 0;
	c->gen++;
	c->inflight = 0;
	c->read_paused = 0;
	c->eof = 0;
	c->ready = 0;
	c->next_free = p->free_conns;
	p->free_conns = c;
	STATS_DEC(p->open_conns); /* a gauge the main thread reads */
}

static void count_deadline(struct stream_pool *p)
{
	if (p->tls)
		STATS_INC(p->tls->deadline);
	else
		STATS_INC(p->qe->stats.tcp_deadline);
}

static void write_msg(struct tcp_conn *c, const uint8_t *msg, size_t len)
{
	struct evbuffer *out = bufferevent_get_output(c->bev);
	struct evbuffer_iovec v;
	if (c->p->tls)
		(void)tls_io_reserve(c->bev); /* without it: the same bytes, in more records */
	/* the length and the message in one piece: one chain (one SSL_write
	 * for a TLS batch) and one output-buffer callback, not two */
	if (evbuffer_reserve_space(out, (ev_ssize_t)(2 + len), &v, 1) == 1 && v.iov_len >= 2 + len) {
		wire_put16(v.iov_base, (uint16_t)len);
		memcpy((uint8_t *)v.iov_base + 2, msg, len);
		v.iov_len = 2 + len;
		if (evbuffer_commit_space(out, &v, 1) == 0)
			return;
	}
	uint8_t hdr[2];
	wire_put16(hdr, (uint16_t)len);
	evbuffer_add(out, hdr, 2);
	evbuffer_add(out, msg, len);
}

static void read_cb(struct bufferevent *bev, void *arg);

/* Add messages of c's transfer while the output is below XFR_HIGH; at the
 * end, go back to reading the connection's next queries. */
static void xfr_pump(struct tcp_conn *c)
{
	struct stream_pool *p = c->p;
	struct evbuffer *out = bufferevent_get_output(c->bev);

	while (c->xfr && evbuffer_get_length(out) < XFR_HIGH) {
		size_t n = 0;
		int last = 0;
		if (xfr_out_next(c->xfr, p->out, WIRE_MAX_MSG, &n, &last) != FWD_OK) {
			log_warn("xfr: could not build the next message, transfer aborted");
			conn_close(c);
			return;
		}
		write_msg(c, p->out, n);
		if (last) {
			unsigned msgs;
			size_t rrs;
			xfr_out_progress(c->xfr, &msgs, &rrs);
			log_debug("xfr: done, %zu records in %u messages", rrs, msgs);
			xfr_out_free(c->xfr);
			c->xfr = NULL;
			bufferevent_setwatermark(c->bev, EV_WRITE, 0, 0);
			if (!c->eof) {
				c->read_paused = 0;
				bufferevent_enable(c->bev, EV_READ);
				read_cb(c->bev, c); /* queries may already be buffered */
			}
		}
	}
}

/* The connection may close once every answer is written (client EOF). */
static void write_cb(struct bufferevent *bev, void *arg)
{
	struct tcp_conn *c = arg;
	if (c->xfr) {
		xfr_pump(c);
		return;
	}
	if (c->eof && c->inflight == 0 && evbuffer_get_length(bufferevent_get_output(bev)) == 0)
		conn_close(c);
}

/* A transfer request (AXFR, IXFR): opcode QUERY, one question of that type.
 * A cheap look at the question; xfr_out_start() parses it properly. */
static int is_xfr(const uint8_t *m, size_t len)
{
	if (len < WIRE_HDR_LEN + 5 || (m[2] & 0x80) || WIRE_OPCODE(wire_get16(m + 2)) != 0 || wire_get16(m + 4) != 1)
		return 0;
	size_t off = wire_skip_name(m, len, WIRE_HDR_LEN);
	if (off == 0 || off + 4 > len)
		return 0;
	uint16_t t = wire_get16(m + off);
	return t == TYPE_AXFR || t == TYPE_IXFR;
}

/* Answer a transfer request in p->in[0..mlen): one message, or a transfer
 * that xfr_pump() writes as the output drains (reading paused meanwhile). */
static void xfr_serve(struct tcp_conn *c, size_t mlen)
{
	struct stream_pool *p = c->p;
	struct query_engine *qe = p->qe;
	struct xfr_out *x = NULL;
	enum xfr_outcome oc;
	size_t n = 0;

	if (xfr_out_start(qe->snap, qe->journal, p->in, mlen, (const struct sockaddr *)&c->addr, clock_wall_s(qe->clock), 0,
			  &qe->xfr_log, p->out, WIRE_MAX_MSG, &n, &x, &oc) != FWD_OK) {
		conn_close(c);
		return;
	}
	STATS_INC(qe->stats.xfr[oc]);
	if (x == NULL) {
		write_msg(c, p->out, n);
		return;
	}
	c->xfr = x;
	c->read_paused = 1;
	bufferevent_disable(c->bev, EV_READ);
	bufferevent_setwatermark(c->bev, EV_WRITE, XFR_LOW, 0);
	xfr_pump(c);
}

/*
 * The read timeout restarts with every byte, so a client dripping one byte
 * at a time would keep a slot forever.  A message therefore has its own
 * deadline: it must be complete within the idle timeout of the moment its
 * first byte was buffered, however the bytes trickle in.  A TLS handshake
 * gets the same deadline from the moment the connection is accepted.
 */
static void deadline_cb(evutil_socket_t fd, short what, void *arg)
{
	struct tcp_conn *c = arg;
	(void)fd;
	(void)what;
	c->deadline_armed = 0;
	if (!c->bev)
		return;
	count_deadline(c->p);
	log_debug("%s: %s not complete within %d ms, closing", client_transport_name(c->p->tr),
		  c->ready ? "message" : "handshake", c->p->lim.idle_ms);
	conn_close(c);
}

static void deadline_arm(struct tcp_conn *c)
{
	struct timeval tv = {c->p->lim.idle_ms / 1000, (c->p->lim.idle_ms % 1000) * 1000};
	if (event_add(c->deadline, &tv) == 0)
		c->deadline_armed = 1;
}

/* Arm the message deadline when part of a message waits in the input
 * buffer, and drop it when nothing does (or when plinkfwd itself stopped
 * reading: then the client is waiting for us, not the other way round). */
static void deadline_update(struct tcp_conn *c, size_t buffered)
{
	int want = buffered > 0 && !c->read_paused && !c->eof;
	if (want && !c->deadline_armed) {
		deadline_arm(c);
	} else if (!want && c->deadline_armed) {
		event_del(c->deadline);
		c->deadline_armed = 0;
	}
}

/* Every complete message buffered on c, answered in turn (the answers
 * queue in the output buffer). */
static void read_msgs(struct tcp_conn *c, struct bufferevent *bev)
{
	struct stream_pool *p = c->p;
	struct query_engine *qe = p->qe;
	struct evbuffer *in = bufferevent_get_input(bev);

	query_engine_refresh(qe);
	while (!c->read_paused) {
		uint8_t lenbuf[2];
		size_t avail = evbuffer_get_length(in);
		if (avail < 2) {
			deadline_update(c, avail);
			return;
		}
		evbuffer_copyout(in, lenbuf, 2);
		size_t mlen = wire_get16(lenbuf);
		if (mlen < WIRE_HDR_LEN) {
			/* no DNS message is this short: the stream is not DNS */
			log_debug("%s: message length %zu, closing", client_transport_name(p->tr), mlen);
			if (p->tls)
				STATS_INC(p->tls->bad_stream);
			conn_close(c);
			return;
		}
		if (avail < 2 + mlen) {
			/* the rest arrives later, or the message deadline fires */
			deadline_update(c, avail);
			return;
		}
		evbuffer_drain(in, 2);
		evbuffer_remove(in, p->in, mlen);
		if (FWD_UNLIKELY(is_xfr(p->in, mlen))) {
			if (p->tr == CLIENT_TLS)
				STATS_INC(qe->stats.queries_tls);
			else
				STATS_INC(qe->stats.queries_tcp);
			xfr_serve(c, mlen);
			if (!c->bev)
				return;
			continue;
		}

		struct client cl;
		int fwd;
		cl.transport = p->tr;
		cl.fd = -1;
		memcpy(&cl.addr, &c->addr, sizeof(cl.addr));
		cl.addrlen = c->addrlen;
		cl.conn = c;
		cl.hconn = NULL;
		cl.conn_gen = c->gen;
		cl.stream_id = 0;
		cl.id = wire_get16(p->in);
		cl.udp_limit = 0;
		cl.start_us = clock_us(qe->clock);
		cl.has_local = 0; /* stream answers leave from the accepted socket */
		if (p->tr == CLIENT_TLS)
			STATS_INC(qe->stats.queries_tls);
		else
			STATS_INC(qe->stats.queries_tcp);
		size_t rlen = query_handle(qe, p->in, mlen, &cl, p->out, WIRE_MAX_MSG, &fwd);
		if (rlen > 0) {
			write_msg(c, p->out, rlen);
		} else if (fwd) {
			if (++c->inflight >= p->lim.max_inflight) {
				/* RFC 7766 6.2.1.1: a server may limit pipelining;
				 * stop reading until answers drain */
				c->read_paused = 1;
				bufferevent_disable(bev, EV_READ);
			}
		}
		if (!c->bev)
			return;
	}
	deadline_update(c, 0); /* paused: the wait is ours */
}

static void read_cb(struct bufferevent *bev, void *arg)
{
	struct tcp_conn *c = arg;
	read_msgs(c, bev);
	/* TLS: records OpenSSL read ahead are this batch too; then the
	 * answers leave together (tls_io.h) */
	if (c->bev && c->p->tls)
		tls_io_after_read(bev);
}

static void event_cb(struct bufferevent *bev, short what, void *arg)
{
	struct tcp_conn *c = arg;
	struct stream_pool *p = c->p;
	if (what & BEV_EVENT_CONNECTED) {
		/* the TLS handshake is done: from now on the deadline is per message */
		c->ready = 1;
		if (c->deadline_armed) {
			event_del(c->deadline);
			c->deadline_armed = 0;
		}
		if (p->tls) {
			tls_conn_established(bev, p->tls);
			tls_io_connected(bev);
		}
		return;
	}
	if (what & BEV_EVENT_TIMEOUT) {
		if ((what & BEV_EVENT_READING) && c->inflight > 0) {
			/* idle only counts when nothing is pending for the client */
			bufferevent_enable(bev, EV_READ);
			return;
		}
		/* a stall in the middle of a message (or handshake): the idle
		 * timer and the deadline fire together; count it once, as the
		 * deadline */
		if (c->deadline_armed)
			count_deadline(p);
		else if (p->tls)
			STATS_INC(p->tls->idle);
		log_debug("%s: idle for %d ms, closing", client_transport_name(p->tr), p->lim.idle_ms);
		conn_close(c);
		return;
	}
	if (what & BEV_EVENT_ERROR) {
		if (p->tls) {
			char why[160];
			STATS_INC(p->tls->tls_error);
			log_debug("tls: %s, closing", tls_conn_error(bev, why, sizeof(why)));
		}
		conn_close(c);
		return;
	}
	if (what & BEV_EVENT_EOF) {
		if (c->inflight > 0 || c->xfr || evbuffer_get_length(bufferevent_get_output(bev)) > 0) {
			c->eof = 1;
			bufferevent_disable(bev, EV_READ);
			if (p->tls) {
				/* the client half-closed after its last queries (its
				 * close_notify may come in the same read as they do,
				 * OpenSSL reading ahead).  libevent stopped watching
				 * for writability when it read the end: watch again,
				 * and write what is queued now */
				bufferevent_enable(bev, EV_WRITE);
				tls_io_flush(bev);
			}
			return;
		}
	}
	conn_close(c);
}

/* Open connections from the address of ss.  A scan of the pool: it runs
 * once per accepted connection, never per query. */
static int conns_from(const struct stream_pool *p, const struct sockaddr_storage *ss)
{
	int n = 0;
	for (size_t i = 0; i < p->lim.max_conns; i++) {
		const struct tcp_conn *c = &p->conns[i];
		if (c->bev && acl_same_host((const struct sockaddr *)&c->addr, (const struct sockaddr *)ss))
			n++;
	}
	return n;
}

enum fwd_err stream_pool_admit(struct stream_pool *p, const struct sockaddr_storage *ss)
{
	struct query_engine *qe = p->qe;
	/* a source the ACL refuses gets no slot: it could only be answered
	 * REFUSED, and it would hold a slot an allowed client needs
	 * (docs/bad-input.md) */
	query_engine_refresh(qe);
	if (!acl_allowed(qe->snap->acl, (const struct sockaddr *)ss)) {
		if (p->tls)
			STATS_INC(p->tls->denied);
		else
			STATS_INC(qe->stats.tcp_denied);
		return FWD_EINVAL;
	}
	if (!p->free_conns || conns_from(p, ss) >= p->lim.max_per_client) {
		log_debug("%s: %s limit reached, closing new connection", client_transport_name(p->tr),
			  p->free_conns ? "per-client connection" : "connection");
		if (p->tls)
			STATS_INC(p->tls->over_limit);
		else
			STATS_INC(qe->stats.tcp_over_limit);
		return FWD_EFULL;
	}
	return FWD_OK;
}

enum fwd_err stream_pool_attach(struct stream_pool *p, struct bufferevent *bev, const struct sockaddr_storage *ss,
				socklen_t sl)
{
	struct tcp_conn *c = p->free_conns;
	if (!c) {
		bufferevent_free(bev);
		return FWD_EFULL;
	}
	p->free_conns = c->next_free;
	STATS_INC(p->open_conns);
	c->bev = bev;
	memcpy(&c->addr, ss, sizeof(*ss));
	c->addrlen = sl;
	c->inflight = 0;
	c->read_paused = 0;
	c->eof = 0;
	c->deadline_armed = 0;
	c->ready = p->tr != CLIENT_TLS;
	if (p->tls) {
		STATS_INC(p->tls->accepted);
		/* the handshake must finish in time, however it trickles */
		deadline_arm(c);
	}
	struct timeval tv = {p->lim.idle_ms / 1000, (p->lim.idle_ms % 1000) * 1000};
	bufferevent_setcb(bev, read_cb, write_cb, event_cb, c);
	bufferevent_set_timeouts(bev, &tv, &tv);
	/* bound what one client can make us buffer: one message and a bit.
	 * TLS needs no watermark for that: libevent reads one record (16 KB
	 * at most) per pass and read_msgs() takes every complete message, so
	 * the input holds a part of one message and one record at most; and a
	 * watermark costs a callback on every change of the input and a
	 * 256 KB chain reserved for every read */
	if (!p->tls)
		bufferevent_setwatermark(bev, EV_READ, 0, 2 * (2 + WIRE_MAX_MSG));
	bufferevent_enable(bev, EV_READ | EV_WRITE);
	return FWD_OK;
}

void stream_send(const struct client *cl, const uint8_t *msg, size_t len)
{
	struct tcp_conn *c = cl->conn;
	if (!c || !c->bev || c->gen != cl->conn_gen)
		return; /* the connection closed while the query was out */
	struct stream_pool *p = c->p;
	write_msg(c, msg, len);
	if (p->tls)
		tls_io_flush(c->bev); /* with the other answers of this pass */
	if (c->inflight > 0)
		c->inflight--;
	if (c->read_paused && c->inflight < p->lim.max_inflight && !c->eof && !c->xfr) {
		c->read_paused = 0;
		bufferevent_enable(c->bev, EV_READ);
		read_cb(c->bev, c); /* messages may already be buffered */
	}
}

size_t stream_pool_open(const struct stream_pool *p) { return STATS_GET(p->open_conns); }

enum fwd_err stream_pool_new(struct query_engine *qe, struct event_base *base, enum client_transport tr,
			     const struct stream_limits *lim, struct stream_pool **out)
{
	struct stream_pool *p = calloc(1, sizeof(*p));
	if (!p)
		return FWD_ENOMEM;
	p->qe = qe;
	p->base = base;
	p->tr = tr;
	p->lim = *lim;
	p->tls = tr == CLIENT_TLS ? &qe->stats.tls : NULL;
	p->conns = calloc(lim->max_conns, sizeof(*p->conns));
	if (!p->conns)
		goto fail;
	for (size_t i = lim->max_conns; i-- > 0;) {
		p->conns[i].p = p;
		if (!(p->conns[i].deadline = evtimer_new(base, deadline_cb, &p->conns[i])))
			goto fail;
		p->conns[i].next_free = p->free_conns;
		p->free_conns = &p->conns[i];
	}
	*out = p;
	return FWD_OK;
fail:
	stream_pool_free(p);
	return FWD_ENOMEM;
}

void stream_pool_free(struct stream_pool *p)
{
	if (!p)
		return;
	for (size_t i = 0; p->conns && i < p->lim.max_conns; i++) {
		conn_close(&p->conns[i]);
		if (p->conns[i].deadline)
			event_free(p->conns[i].deadline);
	}
	free(p->conns);
	free(p);
}
