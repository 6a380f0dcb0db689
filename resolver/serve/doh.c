/*
 * doh.c -- DoH connections: TLS, nghttp2, one DNS query per HTTP/2 stream
 * (see doh.h).
 */
#include "doh.h"

#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <nghttp2/nghttp2.h>
#include <openssl/ssl.h>

#include "acl.h"
#include "client.h"
#include "clock.h"
#include "counter.h"
#include "doh_mem.h"
#include "doh_req.h"
#include "log.h"
#include "query.h"
#include "snapshot.h"
#include "stats.h"
#include "stream.h"
#include "tls.h"
#include "tls_io.h"
#include "wire.h"

#define DOH_BUF_MIN 512 /* a stream buffer's first size: most queries and answers fit */

enum doh_method { M_NONE = 0, M_GET, M_POST, M_OTHER };

/* One HTTP/2 stream carrying one DNS query, then its answer. */
struct doh_stream {
	struct doh_conn *c;
	int32_t id;                /* 0 when the slot is free */
	enum doh_method method;
	int path_state;            /* 0 no :path, 1 ours, -1 another path */
	int ct_ok;                 /* content-type: application/dns-message */
	int got_get;               /* buf holds the decoded dns= parameter */
	int too_big;               /* the POST body went past 65,535 bytes */
	int waiting;               /* forwarded: the answer comes through doh_send() */
	uint8_t *buf;              /* owned: the query, then the answer */
	size_t len, cap, sent;
	struct doh_stream *next_free;
};

struct doh_conn {
	struct doh_pool *p;
	struct bufferevent *bev;   /* NULL when the slot is free */
	nghttp2_session *h2;       /* after the handshake */
	uint64_t gen;              /* bumped at close: late answers are dropped */
	struct sockaddr_storage addr;
	socklen_t addrlen;
	int inflight;              /* forwarded queries not answered yet */
	struct event *deadline;    /* owned: the handshake must finish in time */
	struct doh_stream *streams; /* owned: max_inflight slots */
	struct doh_stream *free_streams;
	struct doh_conn *next_free;
};

struct doh_pool {
	struct query_engine *qe;
	struct event_base *base;
	struct stream_limits lim;
	struct doh_conn *conns;
	struct doh_conn *free_conns;
	size_t open_conns;
	nghttp2_session_callbacks *cbs; /* owned: shared by every session */
	struct evbuffer *frames;        /* owned: conn_flush()'s frames, empty between calls */
	struct doh_mem mem;             /* nghttp2's blocks, reused from stream to stream */
	uint8_t out[WIRE_MAX_MSG];      /* an immediate answer */
};

/* ------------------------------------------------------------ connection */

static void conn_close(struct doh_conn *c)
{
	struct doh_pool *p = c->p;
	if (!c->bev)
		return;
	if (c->h2)
		nghttp2_session_del(c->h2);
	c->h2 = NULL;
	bufferevent_free(c->bev);
	c->bev = NULL;
	event_del(c->deadline);
	for (size_t i = 0; i < (size_t)p->lim.max_inflight; i++)
		free(c->streams[i].buf);
	free(c->streams);
	c->streams = NULL;
	c->free_streams = NULL;
	c->gen++;
	c->inflight = 0;
	c->next_free = p->free_conns;
	p->free_conns = c;
	STATS_DEC(p->open_conns); /* a gauge the main thread reads */
}

/* Hand nghttp2's pending frames to TLS; close when HTTP/2 is done with the
 * connection (GOAWAY both ways, or a protocol error). */
static void conn_flush(struct doh_conn *c)
{
	struct evbuffer *out = bufferevent_get_output(c->bev);
	struct evbuffer *frames = c->p->frames;
	for (;;) {
		const uint8_t *data;
		ssize_t n = nghttp2_session_mem_send(c->h2, &data);
		if (n < 0) {
			evbuffer_drain(frames, evbuffer_get_length(frames));
			STATS_INC(c->p->qe->stats.https.bad_stream);
			conn_close(c);
			return;
		}
		if (n == 0)
			break;
		evbuffer_add(frames, data, (size_t)n);
	}
	/* The frames of this call move over as chains of their own, and
	 * libevent writes chain by chain: they leave as one TLS record,
	 * apart from the answers before and after them in the same loop
	 * pass.  HTTP/2 does not care; dnsperf's DoH client, the benchmark's,
	 * takes one answer per TLS record it reads and drops a second one in
	 * the same record.  DoT, a plain byte stream, batches (stream.c). */
	if (evbuffer_get_length(frames) > 0)
		evbuffer_add_buffer(out, frames);
	if (!nghttp2_session_want_read(c->h2) && !nghttp2_session_want_write(c->h2) &&
	    evbuffer_get_length(out) == 0)
		conn_close(c);
}

static int buf_room(struct doh_stream *s, size_t need)
{
	if (need <= s->cap)
		return 0;
	size_t cap = s->cap ? s->cap : DOH_BUF_MIN;
	while (cap < need)
		cap *= 2;
	uint8_t *b = realloc(s->buf, cap);
	if (!b)
		return -1;
	s->buf = b;
	s->cap = cap;
	return 0;
}

/* ------------------------------------------------------------ responses */

static ssize_t body_read(nghttp2_session *h2, int32_t id, uint8_t *buf, size_t length, uint32_t *flags,
			 nghttp2_data_source *src, void *user)
{
	struct doh_stream *s = src->ptr;
	size_t n = s->len - s->sent;
	(void)h2;
	(void)id;
	(void)user;
	if (n > length)
		n = length;
	memcpy(buf, s->buf + s->sent, n);
	s->sent += n;
	if (s->sent == s->len)
		*flags |= NGHTTP2_DATA_FLAG_EOF;
	return (ssize_t)n;
}

#define NV(n, v) {(uint8_t *)(n), (uint8_t *)(v), sizeof(n) - 1, strlen(v), NGHTTP2_NV_FLAG_NONE}

/* 200 with msg as the body (copied into the stream's buffer). */
static void respond_msg(struct doh_stream *s, const uint8_t *msg, size_t len)
{
	char clen[16], cc[32];
	if (buf_room(s, len) < 0) {
		nghttp2_submit_rst_stream(s->c->h2, NGHTTP2_FLAG_NONE, s->id, NGHTTP2_INTERNAL_ERROR);
		return;
	}
	memcpy(s->buf, msg, len);
	s->len = len;
	s->sent = 0;
	snprintf(clen, sizeof(clen), "%zu", len);
	/* RFC 8484 5.1: an HTTP cache keeps the answer no longer than its TTLs */
	snprintf(cc, sizeof(cc), "max-age=%u", (unsigned)doh_max_age(msg, len));
	nghttp2_nv hdrs[] = {NV(":status", "200"), NV("content-type", DOH_MEDIA_TYPE), NV("content-length", clen),
			     NV("cache-control", cc)};
	nghttp2_data_provider dp = {.source.ptr = s, .read_callback = body_read};
	nghttp2_submit_response(s->c->h2, s->id, hdrs, FWD_ARRAY_LEN(hdrs), &dp);
}

static void respond_status(struct doh_stream *s, const char *status)
{
	nghttp2_nv hdrs[] = {NV(":status", status), NV("content-length", "0")};
	nghttp2_submit_response(s->c->h2, s->id, hdrs, FWD_ARRAY_LEN(hdrs), NULL);
}

/* The request on s is complete: check it, then ask the query engine. */
static void request_done(struct doh_stream *s)
{
	struct doh_conn *c = s->c;
	struct doh_pool *p = c->p;
	struct query_engine *qe = p->qe;

	if (s->path_state <= 0) {
		respond_status(s, "404");
		return;
	}
	if (s->method != M_GET && s->method != M_POST) {
		respond_status(s, "405");
		return;
	}
	if (s->method == M_POST && s->too_big) {
		respond_status(s, "413");
		return;
	}
	if (s->method == M_POST && !s->ct_ok) {
		respond_status(s, "415");
		return;
	}
	if ((s->method == M_GET && !s->got_get) || s->len < WIRE_HDR_LEN) {
		respond_status(s, "400");
		return;
	}
	struct client cl;
	int fwd;
	cl.transport = CLIENT_HTTPS;
	cl.fd = -1;
	memcpy(&cl.addr, &c->addr, sizeof(cl.addr));
	cl.addrlen = c->addrlen;
	cl.conn = NULL;
	cl.hconn = c;
	cl.conn_gen = c->gen;
	cl.stream_id = s->id;
	cl.id = wire_get16(s->buf);
	cl.udp_limit = 0;
	cl.start_us = clock_us(qe->clock);
	cl.has_local = 0;
	STATS_INC(qe->stats.queries_https);
	query_engine_refresh(qe);
	size_t rlen = query_handle(qe, s->buf, s->len, &cl, p->out, WIRE_MAX_MSG, &fwd);
	if (rlen > 0) {
		respond_msg(s, p->out, rlen);
	} else if (fwd) {
		s->waiting = 1;
		c->inflight++;
	} else {
		/* dropped (a response, not a query): HTTP must still answer */
		respond_status(s, "400");
	}
}

/* ------------------------------------------------------------ nghttp2 callbacks */

static int on_begin_headers(nghttp2_session *h2, const nghttp2_frame *frame, void *user)
{
	struct doh_conn *c = user;
	if (frame->hd.type != NGHTTP2_HEADERS || frame->headers.cat != NGHTTP2_HCAT_REQUEST)
		return 0;
	struct doh_stream *s = c->free_streams;
	if (!s) {
		/* nghttp2 enforces our SETTINGS_MAX_CONCURRENT_STREAMS; a slot
		 * still held by a stream that is closing is the one way here */
		nghttp2_submit_rst_stream(h2, NGHTTP2_FLAG_NONE, frame->hd.stream_id, NGHTTP2_REFUSED_STREAM);
		return 0;
	}
	c->free_streams = s->next_free;
	s->id = frame->hd.stream_id;
	s->method = M_NONE;
	s->path_state = 0;
	s->ct_ok = 0;
	s->got_get = 0;
	s->too_big = 0;
	s->waiting = 0;
	s->len = s->sent = 0;
	nghttp2_session_set_stream_user_data(h2, s->id, s);
	return 0;
}

static int on_header(nghttp2_session *h2, const nghttp2_frame *frame, const uint8_t *name, size_t namelen,
		     const uint8_t *value, size_t valuelen, uint8_t flags, void *user)
{
	(void)flags;
	(void)user;
	if (frame->hd.type != NGHTTP2_HEADERS || frame->headers.cat != NGHTTP2_HCAT_REQUEST)
		return 0;
	struct doh_stream *s = nghttp2_session_get_stream_user_data(h2, frame->hd.stream_id);
	if (!s)
		return 0;
	if (namelen == 7 && memcmp(name, ":method", 7) == 0) {
		if (valuelen == 3 && memcmp(value, "GET", 3) == 0)
			s->method = M_GET;
		else if (valuelen == 4 && memcmp(value, "POST", 4) == 0)
			s->method = M_POST;
		else
			s->method = M_OTHER;
	} else if (namelen == 5 && memcmp(name, ":path", 5) == 0) {
		const char *val;
		size_t vlen, dlen;
		enum fwd_err rc = doh_path_dns((const char *)value, valuelen, &val, &vlen);
		s->path_state = rc == FWD_ENOENT ? -1 : 1;
		/* room for what vlen base64url characters can decode to */
		if (rc == FWD_OK && buf_room(s, vlen * 3 / 4 + 3) == 0 &&
		    doh_b64url_decode(val, vlen, s->buf, WIRE_MAX_MSG < s->cap ? WIRE_MAX_MSG : s->cap, &dlen) ==
			    FWD_OK) {
			s->len = dlen;
			s->got_get = 1;
		}
	} else if (namelen == 12 && memcmp(name, "content-type", 12) == 0) {
		s->ct_ok = doh_media_type_ok((const char *)value, valuelen);
	}
	return 0;
}

static int on_data_chunk(nghttp2_session *h2, uint8_t flags, int32_t id, const uint8_t *data, size_t len,
			 void *user)
{
	(void)flags;
	(void)user;
	struct doh_stream *s = nghttp2_session_get_stream_user_data(h2, id);
	if (!s)
		return 0;
	if (s->got_get) {
		/* a body wins over a dns= parameter (it is a POST) */
		s->got_get = 0;
		s->len = 0;
	}
	if (s->too_big || s->len + len > WIRE_MAX_MSG || buf_room(s, s->len + len) < 0) {
		s->too_big = 1;
		return 0;
	}
	memcpy(s->buf + s->len, data, len);
	s->len += len;
	return 0;
}

static int on_frame_recv(nghttp2_session *h2, const nghttp2_frame *frame, void *user)
{
	(void)user;
	if ((frame->hd.type != NGHTTP2_HEADERS && frame->hd.type != NGHTTP2_DATA) ||
	    !(frame->hd.flags & NGHTTP2_FLAG_END_STREAM))
		return 0;
	struct doh_stream *s = nghttp2_session_get_stream_user_data(h2, frame->hd.stream_id);
	if (s && s->id == frame->hd.stream_id)
		request_done(s);
	return 0;
}

static int on_stream_close(nghttp2_session *h2, int32_t id, uint32_t error_code, void *user)
{
	struct doh_conn *c = user;
	(void)error_code;
	struct doh_stream *s = nghttp2_session_get_stream_user_data(h2, id);
	if (!s || s->id != id)
		return 0;
	if (s->waiting && c->inflight > 0)
		c->inflight--; /* the client gave up (RST_STREAM): its answer is dropped */
	s->id = 0;
	s->waiting = 0;
	s->next_free = c->free_streams;
	c->free_streams = s;
	nghttp2_session_set_stream_user_data(h2, id, NULL);
	return 0;
}

/* ------------------------------------------------------------ bufferevent callbacks */

static void read_cb(struct bufferevent *bev, void *arg)
{
	struct doh_conn *c = arg;
	struct evbuffer *in = bufferevent_get_input(bev);
	if (!c->h2)
		return;
	while (evbuffer_get_length(in) > 0) {
		struct evbuffer_iovec v;
		if (evbuffer_peek(in, -1, NULL, &v, 1) < 1)
			break;
		ssize_t n = nghttp2_session_mem_recv(c->h2, v.iov_base, v.iov_len);
		if (n < 0) {
			log_debug("https: not HTTP/2 (%s), closing", nghttp2_strerror((int)n));
			STATS_INC(c->p->qe->stats.https.bad_stream);
			conn_close(c);
			return;
		}
		evbuffer_drain(in, (size_t)n);
		if (!c->bev)
			return;
	}
	conn_flush(c);
	/* records OpenSSL read ahead are this batch too; then the frames
	 * leave together (tls_io.h) */
	if (c->bev)
		tls_io_after_read(bev);
}

static void write_cb(struct bufferevent *bev, void *arg)
{
	struct doh_conn *c = arg;
	if (c->h2) {
		conn_flush(c);
		if (c->bev)
			tls_io_flush(bev);
	}
}

/* HTTP/2 starts: our SETTINGS go first (RFC 9113 3.4). */
static void h2_start(struct doh_conn *c)
{
	struct doh_pool *p = c->p;
	if (nghttp2_session_server_new3(&c->h2, p->cbs, c, NULL, &p->mem.mem) != 0) {
		c->h2 = NULL;
		conn_close(c);
		return;
	}
	nghttp2_settings_entry iv[] = {
		{NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS, (uint32_t)p->lim.max_inflight},
		{NGHTTP2_SETTINGS_MAX_HEADER_LIST_SIZE, 16384},
	};
	nghttp2_submit_settings(c->h2, NGHTTP2_FLAG_NONE, iv, FWD_ARRAY_LEN(iv));
	conn_flush(c);
}

static void event_cb(struct bufferevent *bev, short what, void *arg)
{
	struct doh_conn *c = arg;
	struct doh_pool *p = c->p;
	if (what & BEV_EVENT_CONNECTED) {
		event_del(c->deadline);
		tls_conn_established(bev, &p->qe->stats.https);
		h2_start(c);
		if (c->bev)
			read_cb(bev, c); /* the client's preface may already be here */
		return;
	}
	if (what & BEV_EVENT_TIMEOUT) {
		if ((what & BEV_EVENT_READING) && c->inflight > 0) {
			bufferevent_enable(bev, EV_READ);
			return;
		}
		if (c->h2)
			STATS_INC(p->qe->stats.https.idle);
		else
			STATS_INC(p->qe->stats.https.deadline);
		log_debug("https: idle for %d ms, closing", p->lim.idle_ms);
		conn_close(c);
		return;
	}
	if (what & BEV_EVENT_ERROR) {
		char why[160];
		STATS_INC(p->qe->stats.https.tls_error);
		log_debug("https: tls: %s, closing", tls_conn_error(bev, why, sizeof(why)));
	}
	conn_close(c);
}

static void deadline_cb(evutil_socket_t fd, short what, void *arg)
{
	struct doh_conn *c = arg;
	(void)fd;
	(void)what;
	if (!c->bev || c->h2)
		return;
	STATS_INC(c->p->qe->stats.https.deadline);
	log_debug("https: handshake not complete within %d ms, closing", c->p->lim.idle_ms);
	conn_close(c);
}

/* ------------------------------------------------------------ interface */

enum fwd_err doh_admit(struct doh_pool *p, const struct sockaddr_storage *ss)
{
	struct query_engine *qe = p->qe;
	query_engine_refresh(qe);
	if (!acl_allowed(qe->snap->acl, (const struct sockaddr *)ss)) {
		STATS_INC(qe->stats.https.denied);
		return FWD_EINVAL;
	}
	int n = 0;
	for (size_t i = 0; p->free_conns && i < p->lim.max_conns; i++)
		if (p->conns[i].bev &&
		    acl_same_host((const struct sockaddr *)&p->conns[i].addr, (const struct sockaddr *)ss))
			n++;
	if (!p->free_conns || n >= p->lim.max_per_client) {
		log_debug("https: %s limit reached, closing new connection",
			  p->free_conns ? "per-client connection" : "connection");
		STATS_INC(qe->stats.https.over_limit);
		return FWD_EFULL;
	}
	return FWD_OK;
}

enum fwd_err doh_accept(struct doh_pool *p, struct tls_store *tls, int fd, const struct sockaddr_storage *ss,
			socklen_t sl)
{
	(void)sl; /* doh_attach() takes the length from the address family */
	SSL_CTX *ctx = p->free_conns ? tls_store_get(tls, TLS_DOH) : NULL;
	SSL *ssl = ctx ? SSL_new(ctx) : NULL;
	SSL_CTX_free(ctx);
	struct bufferevent *bev =
		ssl ? bufferevent_openssl_socket_new(p->base, fd, ssl, BUFFEREVENT_SSL_ACCEPTING, BEV_OPT_CLOSE_ON_FREE)
		    : NULL;
	if (!bev) {
		SSL_free(ssl);
		close(fd);
		return p->free_conns ? FWD_ENOMEM : FWD_EFULL;
	}
	bufferevent_openssl_set_allow_dirty_shutdown(bev, 1);
	return doh_attach(p, bev, ss);
}

enum fwd_err doh_attach(struct doh_pool *p, struct bufferevent *bev, const struct sockaddr_storage *ss)
{
	struct doh_conn *c = p->free_conns;
	struct doh_stream *streams = c ? calloc((size_t)p->lim.max_inflight, sizeof(*streams)) : NULL;
	if (!streams) {
		bufferevent_free(bev);
		return c ? FWD_ENOMEM : FWD_EFULL;
	}
	p->free_conns = c->next_free;
	STATS_INC(p->open_conns);
	c->bev = bev;
	c->h2 = NULL;
	memcpy(&c->addr, ss, sizeof(*ss));
	c->addrlen = ss->ss_family == AF_INET6  ? sizeof(struct sockaddr_in6)
		     : ss->ss_family == AF_INET ? sizeof(struct sockaddr_in)
						: sizeof(*ss);
	c->inflight = 0;
	c->streams = streams;
	c->free_streams = NULL;
	for (size_t i = (size_t)p->lim.max_inflight; i-- > 0;) {
		streams[i].c = c;
		streams[i].next_free = c->free_streams;
		c->free_streams = &streams[i];
	}
	STATS_INC(p->qe->stats.https.accepted);
	struct timeval tv = {p->lim.idle_ms / 1000, (p->lim.idle_ms % 1000) * 1000};
	bufferevent_setcb(bev, read_cb, write_cb, event_cb, c);
	bufferevent_set_timeouts(bev, &tv, &tv);
	bufferevent_enable(bev, EV_READ | EV_WRITE);
	if (bufferevent_openssl_get_ssl(bev)) {
		event_add(c->deadline, &tv); /* HTTP/2 starts when the handshake is done */
		return FWD_OK;
	}
	/* no handshake to wait for (a plain socket, as the fuzz target's) */
	h2_start(c);
	return c->bev ? FWD_OK : FWD_ENOMEM;
}

void doh_send(const struct client *cl, const uint8_t *msg, size_t len)
{
	struct doh_conn *c = cl->hconn;
	if (!c || !c->bev || !c->h2 || c->gen != cl->conn_gen)
		return; /* the connection closed while the query was out */
	struct doh_stream *s = nghttp2_session_get_stream_user_data(c->h2, cl->stream_id);
	if (!s || s->id != cl->stream_id || !s->waiting)
		return; /* the client reset the stream */
	s->waiting = 0;
	if (c->inflight > 0)
		c->inflight--;
	respond_msg(s, msg, len);
	conn_flush(c);
	if (c->bev)
		tls_io_flush(c->bev); /* with the other answers of this pass */
}

size_t doh_pool_open(const struct doh_pool *p) { return STATS_GET(p->open_conns); }

enum fwd_err doh_pool_new(struct query_engine *qe, struct event_base *base, const struct stream_limits *lim,
			  struct doh_pool **out)
{
	struct doh_pool *p = calloc(1, sizeof(*p));
	if (!p)
		return FWD_ENOMEM;
	p->qe = qe;
	p->base = base;
	p->lim = *lim;
	doh_mem_init(&p->mem);
	p->conns = calloc(lim->max_conns, sizeof(*p->conns));
	if (!p->conns || !(p->frames = evbuffer_new()) || nghttp2_session_callbacks_new(&p->cbs) != 0)
		goto fail;
	nghttp2_session_callbacks_set_on_begin_headers_callback(p->cbs, on_begin_headers);
	nghttp2_session_callbacks_set_on_header_callback(p->cbs, on_header);
	nghttp2_session_callbacks_set_on_data_chunk_recv_callback(p->cbs, on_data_chunk);
	nghttp2_session_callbacks_set_on_frame_recv_callback(p->cbs, on_frame_recv);
	nghttp2_session_callbacks_set_on_stream_close_callback(p->cbs, on_stream_close);
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
	doh_pool_free(p);
	return FWD_ENOMEM;
}

void doh_pool_free(struct doh_pool *p)
{
	if (!p)
		return;
	for (size_t i = 0; p->conns && i < p->lim.max_conns; i++) {
		conn_close(&p->conns[i]);
		if (p->conns[i].deadline)
			event_free(p->conns[i].deadline);
	}
	free(p->conns);
	if (p->cbs)
		nghttp2_session_callbacks_del(p->cbs);
	if (p->frames)
		evbuffer_free(p->frames);
	doh_mem_fini(&p->mem); /* every session is gone */
	free(p);
}
