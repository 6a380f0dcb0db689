/*
 * fuzz_doh.c -- libFuzzer target for DNS over HTTPS: the input is what an
 * HTTP/2 client sends on a DoH connection once TLS is up (the client
 * preface, then frames).  Each input gets a fresh doh_pool and one
 * connection, attached with doh_attach() to one end of a socketpair; the
 * input is written into the other end while the event loop runs, so
 * nghttp2's framing, doh.c's streams and requests, doh_req.c's path,
 * base64url and media type, and the query engine behind them (a local
 * zone, a forward rule and groups without servers, as fuzz_query.c has)
 * all see it.  TLS itself is left out: it is OpenSSL's.  No wall clock:
 * the loop runs with EVLOOP_NONBLOCK until nothing moves, then the client
 * says EOF and the loop runs until nothing moves again.
 *
 * Checked: what the server sent back is fed to an nghttp2 client session
 * that mirrors the input's client (every stream the input opened is
 * opened in the mirror, every SETTINGS it sent is sent by the mirror, so
 * that the server's ACKs and answers match).  Unless the server closes
 * with GOAWAY (it found the client at fault) or the mirror could not
 * repeat the input (nghttp2's client refused a stream ID or a SETTINGS
 * frame the input sent), that session must take every byte without a
 * protocol error -- no invalid frame, no RST_STREAM or GOAWAY with an
 * error of its own (nghttp2 checks HTTP messaging too: :status,
 * content-length against the body).  Every complete response has
 * a status doh.h lists; a 200 is application/dns-message whose body is a
 * well-formed DNS response (fuzz_dns_check()); any other status has no
 * body.  Everything is freed per input, so LeakSanitizer sees a leak.
 *
 * FUZZ_DEBUG=1 prints the responses and any complaint.
 */
#include <errno.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <event2/bufferevent.h>
#include <event2/event.h>
#include <linux/sockios.h>
#include <nghttp2/nghttp2.h>

#include "client.h"
#include "clock.h"
#include "doh.h"
#include "doh_req.h"
#include "fuzz.h"
#include "fuzz_big_blocks.h" /* the pool's 64 KiB block reused (libFuzzer build) */
#include "log.h"
#include "query.h"
#include "snapshot.h"
#include "stream.h"
#include "wire.h"

#define FUZZ_DOH_MAX_INPUT (256 * 1024)
#define FUZZ_DOH_MAX_ROUNDS 200000 /* a hang ends the loop; the checks still run */

static const char zone_text[] = "$TTL 300\n"
				"@ IN SOA ns.fuzz.test. host.fuzz.test. 1 3600 300 86400 60\n"
				"@ IN NS ns.fuzz.test.\n"
				"a IN A 10.0.0.1\n"
				"a IN AAAA fd00::1\n"
				"c IN CNAME a\n"
				"d IN CNAME c\n"
				"out IN CNAME elsewhere.example.\n"
				"*.w IN A 10.0.0.2\n"
				"t IN TXT \"hello\" \"world\"\n"
				"deep.ent.x IN A 10.0.0.3\n";

/* The process's state: the engine and its snapshot, as fuzz_query.c; the
 * pool, the connection and the mirror are per input. */
static struct query_engine fuzz_engine;
static struct snapshot_pub fuzz_pub;
static struct event_base *fuzz_base;
static int fuzz_debug;

/* Small limits, so that a few streams reach the stream cap. */
static const struct stream_limits fuzz_lim = {
	.idle_ms = 3600000, /* never fires: a run does not wait */
	.max_inflight = 4,
	.max_per_client = 1,
	.max_conns = 1,
};

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	const char *dir = fuzz_tmpdir("doh");
	char zpath[600], cpath[600], conf[1024], err[512] = "";
	snprintf(zpath, sizeof(zpath), "%s/fuzz.test.zone", dir);
	snprintf(cpath, sizeof(cpath), "%s/fuzz.conf", dir);
	fuzz_write_file(zpath, zone_text, strlen(zone_text));
	int n = snprintf(conf, sizeof(conf),
			 "server:\n  listen: 127.0.0.1@53535\n  allow: 0.0.0.0/0\n  allow: ::/0\n"
			 "zone: fuzz.test\n  file: %s\n  fallback: public\n"
			 "forward: fwd.test\n  to: default\n",
			 zpath);
	fuzz_write_file(cpath, conf, (size_t)n);
	log_set_level(LOG_LVL_ERR);
	struct snapshot *s = snapshot_build(cpath, NULL, 0, err, sizeof(err));
	if (!s) {
		fprintf(stderr, "fuzz setup: %s\n", err);
		abort();
	}
	unlink(zpath);
	unlink(cpath);
	rmdir(dir);
	if (snapshot_pub_init(&fuzz_pub) != FWD_OK)
		abort();
	snapshot_pub_publish(&fuzz_pub, s);
	fuzz_base = event_base_new();
	/* no send hook and no server in any group: a forwarded question is
	 * answered at once (REFUSED), nothing is sent */
	if (!fuzz_base ||
	    query_engine_init(&fuzz_engine, fuzz_base, &fuzz_pub, &fwd_clock_monotonic, NULL, 16) != FWD_OK)
		abort();
	fuzz_debug = getenv("FUZZ_DEBUG") != NULL;
	return 0;
}

/* ------------------------------------------------------------ the conversation */

struct out_buf {
	uint8_t *p;
	size_t len, cap;
};

static void out_add(struct out_buf *o, const uint8_t *data, size_t n)
{
	if (o->len + n > o->cap) {
		size_t cap = o->cap ? o->cap : 4096;
		while (cap < o->len + n)
			cap *= 2;
		uint8_t *p = realloc(o->p, cap);
		if (!p)
			abort();
		o->p = p;
		o->cap = cap;
	}
	memcpy(o->p + o->len, data, n);
	o->len += n;
}

/* Read what the server wrote; 1 when anything came, and *eof at its end. */
static int drain(int fd, struct out_buf *o, int *eof)
{
	int got = 0;
	for (;;) {
		uint8_t buf[16384];
		ssize_t n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);
		if (n > 0) {
			out_add(o, buf, (size_t)n);
			got = 1;
			continue;
		}
		if (n == 0 || (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR))
			*eof = 1;
		return got;
	}
}

/*
 * Write data[*off..size) into fd while the loop runs, collecting the
 * answer, until nothing moves: no byte written or read, and none of ours
 * left unread by the server (SIOCOUTQ: what the peer has not consumed).
 */
static void converse(int fd, const uint8_t *data, size_t size, size_t *off, struct out_buf *o, int *eof)
{
	for (int idle = 0, rounds = 0; idle < 3 && rounds < FUZZ_DOH_MAX_ROUNDS; rounds++) {
		int progress = 0;
		if (*off < size) {
			ssize_t n = send(fd, data + *off, size - *off, MSG_DONTWAIT | MSG_NOSIGNAL);
			if (n > 0) {
				*off += (size_t)n;
				progress = 1;
			} else if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
				*off = size; /* the server closed: what it said is the answer */
			}
		}
		event_base_loop(fuzz_base, EVLOOP_NONBLOCK);
		if (!*eof && drain(fd, o, eof))
			progress = 1;
		int unread = 0;
		if (!*eof && ioctl(fd, SIOCOUTQ, &unread) == 0 && unread > 0)
			progress = 1;
		idle = progress ? 0 : idle + 1;
	}
}

/* ------------------------------------------------------------ the mirror client */

struct mirror_stream {
	int32_t id;
	int status;     /* :status, 0 until it came */
	int ct_dns;     /* content-type: application/dns-message */
	int headers;    /* response HEADERS frames */
	uint8_t *body;  /* owned */
	size_t len, cap;
	struct mirror_stream *next;
};

struct mirror {
	nghttp2_session *h2;
	struct mirror_stream *streams; /* every stream opened, to free */
	int lost;                      /* the mirror could not repeat the input */
	int complaint;                 /* the client found the server at fault */
	char why[256];
	int responses;
};

static void complain(struct mirror *m, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void complain(struct mirror *m, const char *fmt, ...)
{
	va_list ap;
	if (m->complaint)
		return; /* the first one is the cause */
	va_start(ap, fmt);
	vsnprintf(m->why, sizeof(m->why), fmt, ap);
	va_end(ap);
	m->complaint = 1;
}

static struct mirror_stream *mirror_stream_of(struct mirror *m, int32_t id)
{
	struct mirror_stream *s = nghttp2_session_get_stream_user_data(m->h2, id);
	return s && s->id == id ? s : NULL;
}

static int m_on_header(nghttp2_session *h2, const nghttp2_frame *frame, const uint8_t *name, size_t namelen,
		       const uint8_t *value, size_t valuelen, uint8_t flags, void *user)
{
	(void)h2;
	(void)flags;
	struct mirror *m = user;
	struct mirror_stream *s = mirror_stream_of(m, frame->hd.stream_id);
	if (!s || frame->hd.type != NGHTTP2_HEADERS)
		return 0;
	if (namelen == 7 && memcmp(name, ":status", 7) == 0) {
		s->status = 0;
		for (size_t i = 0; i < valuelen && i < 4; i++)
			s->status = s->status * 10 + (value[i] >= '0' && value[i] <= '9' ? value[i] - '0' : 0);
	} else if (namelen == 12 && memcmp(name, "content-type", 12) == 0) {
		s->ct_dns = valuelen == strlen(DOH_MEDIA_TYPE) && memcmp(value, DOH_MEDIA_TYPE, valuelen) == 0;
	}
	return 0;
}

static int m_on_data_chunk(nghttp2_session *h2, uint8_t flags, int32_t id, const uint8_t *data, size_t len,
			   void *user)
{
	(void)h2;
	(void)flags;
	struct mirror_stream *s = mirror_stream_of(user, id);
	if (!s)
		return 0;
	if (s->len + len > s->cap) {
		size_t cap = s->cap ? s->cap : 512;
		while (cap < s->len + len)
			cap *= 2;
		uint8_t *b = realloc(s->body, cap);
		if (!b)
			abort();
		s->body = b;
		s->cap = cap;
	}
	memcpy(s->body + s->len, data, len);
	s->len += len;
	return 0;
}

/* A response is complete: what doh.h promises. */
static void check_response(struct mirror *m, struct mirror_stream *s)
{
	m->responses++;
	if (fuzz_debug)
		fprintf(stderr, "stream %d: %d, %zu bytes%s\n", (int)s->id, s->status, s->len,
			s->ct_dns ? " application/dns-message" : "");
	FUZZ_ASSERT(s->headers == 1); /* no 1xx, no trailers */
	FUZZ_ASSERT(s->status == 200 || s->status == 400 || s->status == 404 || s->status == 405 ||
		    s->status == 413 || s->status == 415);
	if (s->status != 200) {
		FUZZ_ASSERT(s->len == 0);
		return;
	}
	struct fuzz_dns_info inf;
	FUZZ_ASSERT(s->ct_dns);
	FUZZ_ASSERT(s->len >= WIRE_HDR_LEN && s->len <= WIRE_MAX_MSG);
	FUZZ_ASSERT(fuzz_dns_check(s->body, s->len, &inf) == 0);
	FUZZ_ASSERT(inf.flags & WIRE_QR);
}

static int m_on_frame_recv(nghttp2_session *h2, const nghttp2_frame *frame, void *user)
{
	(void)h2;
	struct mirror *m = user;
	if (frame->hd.type == NGHTTP2_GOAWAY && fuzz_debug)
		fprintf(stderr, "server GOAWAY: error %u, last stream %d: %.*s\n", (unsigned)frame->goaway.error_code,
			(int)frame->goaway.last_stream_id, (int)frame->goaway.opaque_data_len,
			(const char *)frame->goaway.opaque_data);
	struct mirror_stream *s = mirror_stream_of(m, frame->hd.stream_id);
	if (!s)
		return 0;
	if (frame->hd.type == NGHTTP2_HEADERS)
		s->headers++;
	if ((frame->hd.type == NGHTTP2_HEADERS || frame->hd.type == NGHTTP2_DATA) &&
	    (frame->hd.flags & NGHTTP2_FLAG_END_STREAM))
		check_response(m, s);
	return 0;
}

static int m_on_invalid_frame(nghttp2_session *h2, const nghttp2_frame *frame, int lib_error_code, void *user)
{
	(void)h2;
	complain(user, "received an invalid frame: type %u on stream %d: %s", (unsigned)frame->hd.type,
		 (int)frame->hd.stream_id, nghttp2_strerror(lib_error_code));
	return 0;
}

/* What the mirror sends of its own accord is how it tells the server it is
 * at fault: an RST_STREAM or a GOAWAY with an error code. */
static int m_on_frame_send(nghttp2_session *h2, const nghttp2_frame *frame, void *user)
{
	(void)h2;
	if (frame->hd.type == NGHTTP2_RST_STREAM)
		complain(user, "sent RST_STREAM on stream %d, error %u", (int)frame->hd.stream_id,
			 (unsigned)frame->rst_stream.error_code);
	else if (frame->hd.type == NGHTTP2_GOAWAY && frame->goaway.error_code != NGHTTP2_NO_ERROR)
		complain(user, "sent GOAWAY, error %u", (unsigned)frame->goaway.error_code);
	return 0;
}

static int m_on_error(nghttp2_session *h2, int lib_error_code, const char *msg, size_t len, void *user)
{
	(void)h2;
	(void)user;
	if (fuzz_debug)
		fprintf(stderr, "client: %.*s (%d)\n", (int)len, msg, lib_error_code);
	return 0;
}

/* Hand over what the mirror has queued, as if sent (nobody reads it). */
static void mirror_flush(struct mirror *m)
{
	for (;;) {
		const uint8_t *d;
		ssize_t n = nghttp2_session_mem_send(m->h2, &d);
		if (n < 0)
			m->lost = 1;
		if (n <= 0)
			return;
	}
}

static void mirror_open(struct mirror *m, int32_t id)
{
	static const nghttp2_nv req[] = {
		{(uint8_t *)":method", (uint8_t *)"GET", 7, 3, NGHTTP2_NV_FLAG_NONE},
		{(uint8_t *)":scheme", (uint8_t *)"https", 7, 5, NGHTTP2_NV_FLAG_NONE},
		{(uint8_t *)":authority", (uint8_t *)"fuzz.test", 10, 9, NGHTTP2_NV_FLAG_NONE},
		{(uint8_t *)":path", (uint8_t *)"/dns-query", 5, 10, NGHTTP2_NV_FLAG_NONE},
	};
	if (nghttp2_session_set_next_stream_id(m->h2, id) != 0) {
		m->lost = 1;
		return;
	}
	struct mirror_stream *s = calloc(1, sizeof(*s));
	if (!s)
		abort();
	s->id = id;
	s->next = m->streams;
	m->streams = s;
	if (nghttp2_submit_request(m->h2, NULL, req, FWD_ARRAY_LEN(req), NULL, s) != id) {
		s->id = 0;
		m->lost = 1;
	}
	mirror_flush(m);
}

/*
 * Walk the input's frames as the server reads them and repeat in the
 * mirror what decides how the server's answer is read: the streams the
 * input opens (a HEADERS frame on a new odd stream ID) and the SETTINGS it
 * sends (each one ACKed by the server; SETTINGS_MAX_FRAME_SIZE says how big
 * the server's frames may be from the ACK on).  A HEADERS frame opens its
 * stream as soon as its header is read (the server may reset the stream
 * for a header field before the frame ends); a SETTINGS frame cut off by
 * the end of the input is never ACKed.  Everything after a
 * frame the server rejects is repeated too: the server said GOAWAY, or
 * it closed before it could answer any of it.
 */
static void mirror_input(struct mirror *m, const uint8_t *data, size_t size)
{
	static const char magic[] = NGHTTP2_CLIENT_MAGIC;
	if (size < sizeof(magic) - 1 || memcmp(data, magic, sizeof(magic) - 1) != 0)
		return;
	for (size_t off = sizeof(magic) - 1; off + 9 <= size;) {
		const uint8_t *h = data + off;
		size_t len = (size_t)h[0] << 16 | (size_t)h[1] << 8 | h[2];
		uint8_t type = h[3], flags = h[4];
		int32_t id = (int32_t)(((uint32_t)h[5] << 24 | (uint32_t)h[6] << 16 | (uint32_t)h[7] << 8 | h[8]) &
				       0x7fffffffu);
		if (type == NGHTTP2_HEADERS && (id & 1) && (uint32_t)id >= nghttp2_session_get_next_stream_id(m->h2))
			mirror_open(m, id);
		if (off + 9 + len > size)
			break;
		if (type == NGHTTP2_SETTINGS && !(flags & NGHTTP2_FLAG_ACK) && id == 0 && len % 6 == 0) {
			nghttp2_settings_entry iv[1];
			size_t niv = 0;
			for (size_t k = 0; k < len; k += 6) {
				const uint8_t *e = h + 9 + k;
				uint16_t sid = (uint16_t)(e[0] << 8 | e[1]);
				uint32_t val = (uint32_t)e[2] << 24 | (uint32_t)e[3] << 16 | (uint32_t)e[4] << 8 | e[5];
				if (sid == NGHTTP2_SETTINGS_MAX_FRAME_SIZE) {
					iv[0].settings_id = sid;
					iv[0].value = val; /* the last one counts, as in the server */
					niv = 1;
				}
			}
			/* a value the server refuses gets a GOAWAY; the mirror
			 * still sends a SETTINGS so that the ACKs pair up */
			if (nghttp2_submit_settings(m->h2, NGHTTP2_FLAG_NONE, iv, niv) != 0 &&
			    nghttp2_submit_settings(m->h2, NGHTTP2_FLAG_NONE, NULL, 0) != 0)
				m->lost = 1;
			mirror_flush(m);
		}
		off += 9 + len;
	}
}

/* Does the server's output hold a GOAWAY frame (the server is closing)? */
static int server_goaway(const uint8_t *p, size_t len)
{
	for (size_t off = 0; off + 9 <= len;) {
		size_t flen = (size_t)p[off] << 16 | (size_t)p[off + 1] << 8 | p[off + 2];
		if (p[off + 3] == NGHTTP2_GOAWAY)
			return 1;
		off += 9 + flen;
	}
	return 0;
}

static void mirror_free(struct mirror *m)
{
	nghttp2_session_del(m->h2);
	while (m->streams) {
		struct mirror_stream *s = m->streams;
		m->streams = s->next;
		free(s->body);
		free(s);
	}
}

static void check_answer(const uint8_t *data, size_t size, const struct out_buf *o)
{
	struct mirror m;
	nghttp2_session_callbacks *cbs;
	nghttp2_option *opt;

	memset(&m, 0, sizeof(m));
	if (nghttp2_session_callbacks_new(&cbs) != 0 || nghttp2_option_new(&opt) != 0)
		abort();
	nghttp2_session_callbacks_set_on_header_callback(cbs, m_on_header);
	nghttp2_session_callbacks_set_on_data_chunk_recv_callback(cbs, m_on_data_chunk);
	nghttp2_session_callbacks_set_on_frame_recv_callback(cbs, m_on_frame_recv);
	nghttp2_session_callbacks_set_on_invalid_frame_recv_callback(cbs, m_on_invalid_frame);
	nghttp2_session_callbacks_set_on_frame_send_callback(cbs, m_on_frame_send);
	nghttp2_session_callbacks_set_error_callback2(cbs, m_on_error);
	/* the input opens as many streams as it likes before the server's
	 * SETTINGS arrive; the mirror must open them all */
	nghttp2_option_set_peer_max_concurrent_streams(opt, 1u << 30);
	if (nghttp2_session_client_new2(&m.h2, cbs, &m, opt) != 0)
		abort();
	nghttp2_option_del(opt);
	nghttp2_session_callbacks_del(cbs);

	mirror_flush(&m); /* the client preface */
	mirror_input(&m, data, size);
	ssize_t n = o->len ? nghttp2_session_mem_recv(m.h2, o->p, o->len) : 0;
	if (n < 0)
		complain(&m, "the server's bytes: %s", nghttp2_strerror((int)n));
	else if ((size_t)n != o->len)
		complain(&m, "took %zd of the server's %zu bytes", n, o->len);
	mirror_flush(&m); /* the mirror's RST_STREAM or GOAWAY, if any */
	int goaway = server_goaway(o->p, o->len);
	if (fuzz_debug)
		fprintf(stderr, "server wrote %zu bytes%s; %d responses; client%s: %s\n", o->len,
			goaway ? " (GOAWAY)" : "", m.responses, m.lost ? " (could not follow the input)" : "",
			m.complaint ? m.why : "no complaint");
	/* the responses' own checks ran regardless (check_response()) */
	if (!goaway && !m.lost && m.complaint)
		fuzz_fail(__FILE__, __LINE__, m.why);
	mirror_free(&m);
}

/* ------------------------------------------------------------ the target */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	int sv[2];
	struct doh_pool *pool;
	struct sockaddr_storage ss;
	struct sockaddr_in *sin = (struct sockaddr_in *)&ss;
	struct out_buf o = {0};
	size_t off = 0;
	int eof = 0;

	if (size > FUZZ_DOH_MAX_INPUT)
		return 0;
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv) != 0)
		abort();
	if (doh_pool_new(&fuzz_engine, fuzz_base, &fuzz_lim, &pool) != FWD_OK)
		abort();
	memset(&ss, 0, sizeof(ss));
	sin->sin_family = AF_INET;
	sin->sin_addr.s_addr = htonl(0x7f000001);
	FUZZ_ASSERT(doh_admit(pool, &ss) == FWD_OK);
	struct bufferevent *bev = bufferevent_socket_new(fuzz_base, sv[1], BEV_OPT_CLOSE_ON_FREE);
	if (!bev)
		abort();
	FUZZ_ASSERT(doh_attach(pool, bev, &ss) == FWD_OK);
	FUZZ_ASSERT(doh_pool_open(pool) == 1);

	converse(sv[0], data, size, &off, &o, &eof);
	/* the client is done: the server closes on EOF */
	shutdown(sv[0], SHUT_WR);
	converse(sv[0], data, size, &off, &o, &eof);
	FUZZ_ASSERT(doh_pool_open(pool) == 0);

	check_answer(data, size, &o);
	close(sv[0]);
	doh_pool_free(pool);
	free(o.p);
	return 0;
}
