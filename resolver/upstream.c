/*
 * upstream.c -- per-worker forwarding engine: pending slots, attempts, reply matching.
 *
 * Life of a forwarded query: upstream_send() takes a slot from the free list
 * and copies the query, the client and the question into it, then starts an
 * attempt on one server of the group.  An attempt is one fresh socket, one
 * fresh random ID and one timer.  It ends with an accepted reply (done() is
 * called), a failure (timeout, ICMP refused, SERVFAIL/REFUSED, broken TCP)
 * that moves on to the next server, or TC, which repeats the same server over
 * TCP.  When every server of the group has been tried once, or the whole
 * query budget (cfg query-timeout) is spent, done() gets UPSTREAM_FAILED.
 *
 * Design choices:
 *  - Query buffer: each slot embeds UP_QBUF (512) bytes, which holds every
 *    ordinary query (a full 255-byte name, EDNS, a cookie, RFC 8467
 *    padding in 128-byte blocks).  A longer query (large EDNS options,
 *    mostly from TCP clients) gets one allocation for its lifetime instead
 *    of a refusal: refusing a legal query would be a wrong answer, and the
 *    case is rare enough that the allocation does not matter.  The buffer
 *    keeps two bytes in front of the query for the TCP length prefix, so a
 *    TCP attempt writes one block.
 *  - Source port: a new UDP socket per attempt, connect()ed to the server;
 *    the kernel binds it to a random port of its ephemeral range (Linux
 *    picks the port at random).  Choosing ports ourselves over 1024-65535
 *    would add about one bit of entropy but could hold a port another
 *    service is about to bind; the ephemeral range exists for exactly this.
 *  - TCP replies are read into a buffer allocated once the 2-byte length is
 *    known.  TCP is the slow path (a handshake per attempt already); a
 *    64 KiB buffer per slot would multiply the pool's memory by 60.
 *  - UDP replies land in one per-instance scratch buffer: an instance is
 *    single threaded and done() is called before the next recv.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <event2/event.h>

#include "client.h"
#include "common.h"
#include "config.h"
#include "log.h"
#include "snapshot.h"
#include "upstream.h"
#include "wire.h"

#define UP_QBUF 512             /* query bytes embedded in each slot */
#define UP_RECV_BURST 16        /* datagrams read per wake-up before yielding */
#define UP_WARN_SLOTS 32        /* rate-limit table entries (groups mod this) */
#define UP_WARN_INTERVAL_MS 1000

enum up_phase {
	PH_IDLE = 0,
	PH_UDP,          /* query sent, waiting for a datagram */
	PH_TCP_CONNECT,  /* non-blocking connect in progress */
	PH_TCP_WRITE,    /* writing length prefix + query */
	PH_TCP_READLEN,  /* reading the 2-byte reply length */
	PH_TCP_READBODY  /* reading the reply itself */
};

struct up_slot {
	struct upstream *u;        /* owning instance */
	struct up_slot *next_free; /* free list link (only while free) */
	int in_use;
	struct snapshot *snap;     /* reference held from send to completion */
	size_t group;              /* index into snap->cfg->upstreams */
	struct client cl;          /* the caller's client, copied */
	uint8_t *q;                /* the query copy (2 bytes of TCP prefix before it) */
	uint8_t *long_q;           /* owned frame when qlen > UP_QBUF, else NULL */
	size_t qlen;
	uint16_t qflags;           /* the query's header flags (for the opcode) */
	uint16_t qtype, qclass;
	uint8_t qname_len;
	uint8_t qname[WIRE_MAX_NAME]; /* lower-cased wire name the reply must echo */
	uint16_t cur_id;           /* ID of the current attempt */
	size_t first;              /* server index tried first */
	size_t tried;              /* servers started so far */
	size_t server;             /* server of the current attempt */
	int client_tcp;            /* the client came over TCP: use TCP from the start */
	enum up_phase phase;
	uint64_t deadline_ms;      /* start + query-timeout */
	int fd;                    /* current attempt's socket, -1 when none */
	size_t io_off;             /* TCP: bytes done in the current phase */
	uint8_t lenbuf[2];         /* TCP: reply length prefix */
	uint8_t *tcp_reply;        /* TCP: owned reply buffer, NULL when none */
	size_t tcp_len;
	struct event *io;          /* re-assigned to each attempt's fd */
	struct event *timer;       /* per-attempt timer (capped by the deadline) */
	uint8_t qframe[2 + UP_QBUF];
};

/* Timestamps for rate-limited warnings, keyed by group index. */
struct up_warn {
	size_t group;
	uint64_t empty_ms;  /* last "no server in upstream group" */
	uint64_t fail_ms;   /* last "every server failed" */
};

struct upstream {
	struct event_base *base;   /* borrowed; owned by the worker */
	upstream_done_fn done;
	void *ctx;
	struct up_slot *slots;     /* owned array of nslots */
	size_t nslots;
	struct up_slot *free_list;
	size_t npending;
	uint32_t rotate;           /* spreads the first server over the group */
	uint64_t sys_warn_ms;      /* last socket/pool warning */
	struct up_warn warn[UP_WARN_SLOTS];
	uint8_t rbuf[WIRE_MAX_MSG];/* UDP reply scratch */
};

static void up_io_cb(evutil_socket_t fd, short what, void *arg);
static void up_timer_cb(evutil_socket_t fd, short what, void *arg);

/* ------------------------------------------------------------ helpers */

static const char *up_addr_text(const struct sockaddr_storage *ss, char *buf, size_t len)
{
	char host[INET6_ADDRSTRLEN];
	if (ss->ss_family == AF_INET6) {
		const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)ss;
		inet_ntop(AF_INET6, &s6->sin6_addr, host, sizeof host);
		snprintf(buf, len, "%s@%u", host, (unsigned)ntohs(s6->sin6_port));
	} else {
		const struct sockaddr_in *s4 = (const struct sockaddr_in *)ss;
		inet_ntop(AF_INET, &s4->sin_addr, host, sizeof host);
		snprintf(buf, len, "%s@%u", host, (unsigned)ntohs(s4->sin_port));
	}
	return buf;
}

static const struct cfg_upstream *slot_group(const struct up_slot *s)
{
	return &s->snap->cfg->upstreams[s->group];
}

static const char *slot_server_text(const struct up_slot *s, char *buf, size_t len)
{
	return up_addr_text(&slot_group(s)->servers[s->server].ss, buf, len);
}

static const char *slot_qname_text(const struct up_slot *s, char *buf, size_t len)
{
	return wire_name_to_text(s->qname, buf, len);
}

/* 1 when a warning of this kind for this group may be logged now; keeps the
 * log readable when every query hits the same misconfiguration. */
static int up_warn_due(struct upstream *u, size_t group, int fail_kind)
{
	struct up_warn *w = &u->warn[group % UP_WARN_SLOTS];
	uint64_t now = fwd_now_ms();
	uint64_t *last;

	if (w->group != group) {
		w->group = group;
		w->empty_ms = 0;
		w->fail_ms = 0;
	}
	last = fail_kind ? &w->fail_ms : &w->empty_ms;
	if (*last != 0 && now - *last < UP_WARN_INTERVAL_MS)
		return 0;
	*last = now ? now : 1;
	return 1;
}

static int up_sys_warn_due(struct upstream *u)
{
	uint64_t now = fwd_now_ms();
	if (u->sys_warn_ms != 0 && now - u->sys_warn_ms < UP_WARN_INTERVAL_MS)
		return 0;
	u->sys_warn_ms = now ? now : 1;
	return 1;
}

/* ------------------------------------------------------------ slot life */

/* End the current attempt: no event, no socket, no TCP buffer. */
static void slot_stop_attempt(struct up_slot *s)
{
	event_del(s->io);
	evtimer_del(s->timer);
	if (s->fd >= 0) {
		close(s->fd);
		s->fd = -1;
	}
	free(s->tcp_reply);
	s->tcp_reply = NULL;
	s->tcp_len = 0;
	s->io_off = 0;
	s->phase = PH_IDLE;
}

static void slot_release(struct up_slot *s)
{
	struct upstream *u = s->u;

	slot_stop_attempt(s);
	free(s->long_q);
	s->long_q = NULL;
	s->q = NULL;
	if (s->snap) {
		snapshot_unref(s->snap);
		s->snap = NULL;
	}
	s->in_use = 0;
	s->next_free = u->free_list;
	u->free_list = s;
	u->npending--;
}

/*
 * Hand the result to the caller, then give the slot back.  The slot is
 * released only after done() returns, so done() may forward another query
 * (a new slot) while cl, reply and query still point into this one.
 */
static void slot_finish(struct up_slot *s, enum upstream_status st, uint8_t *reply, size_t len)
{
	struct upstream *u = s->u;

	event_del(s->io);
	evtimer_del(s->timer);
	if (s->fd >= 0) {
		close(s->fd);
		s->fd = -1;
	}
	/* The caller builds error replies from the query: give it back with
	 * the client's ID, and the reply too, never our upstream ID. */
	wire_put16(s->q, s->cl.id);
	if (reply)
		wire_put16(reply, s->cl.id);
	if (st == UPSTREAM_FAILED && up_warn_due(u, s->group, 1)) {
		char name[1025];
		log_warn("every server of upstream group %s failed for %s", slot_group(s)->name,
			 slot_qname_text(s, name, sizeof name));
	}
	u->done(u->ctx, &s->cl, st, reply, len, s->q, s->qlen);
	slot_release(s);
}

static int slot_arm_timer(struct up_slot *s)
{
	const struct cfg *cfg = s->snap->cfg;
	uint64_t now = fwd_now_ms();
	uint64_t ms = cfg->upstream_timeout_ms > 0 ? (uint64_t)cfg->upstream_timeout_ms : 1;
	struct timeval tv;

	if (s->deadline_ms <= now)
		ms = 1;
	else if (s->deadline_ms - now < ms)
		ms = s->deadline_ms - now;
	tv.tv_sec = (time_t)(ms / 1000);
	tv.tv_usec = (suseconds_t)((ms % 1000) * 1000);
	return evtimer_add(s->timer, &tv);
}

/*
 * Start an attempt on s->server.  Every attempt gets a new socket (hence a
 * new random source port) and a new random ID: an off-path attacker must
 * guess both, about 31 bits instead of 16 (RFC 5452 section 9.2), and an
 * answer to an earlier attempt can never be mistaken for this one.
 * Returns 0 when the attempt is under way, -1 when it failed at once.
 */
static int slot_start_attempt(struct up_slot *s, int tcp)
{
	struct upstream *u = s->u;
	const struct cfg_addr *a = &slot_group(s)->servers[s->server];
	int fd;
	short ev;

	s->cur_id = (uint16_t)fwd_random_u32();
	wire_put16(s->q, s->cur_id);

	fd = socket(a->ss.ss_family, (tcp ? SOCK_STREAM : SOCK_DGRAM) | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		if (up_sys_warn_due(u))
			log_warn("upstream: socket: %s", strerror(errno));
		return -1;
	}
	s->fd = fd;
	s->io_off = 0;
	/* connect() on UDP makes the kernel drop datagrams from any other
	 * address:port and report ICMP port unreachable as ECONNREFUSED. */
	if (connect(fd, (const struct sockaddr *)&a->ss, a->len) < 0 &&
	    !(tcp && errno == EINPROGRESS)) {
		char sb[80];
		log_debug("upstream %s: connect: %s", slot_server_text(s, sb, sizeof sb), strerror(errno));
		goto fail;
	}
	if (tcp) {
		wire_put16(s->q - 2, (uint16_t)s->qlen);
		s->phase = PH_TCP_CONNECT;
		ev = EV_WRITE | EV_PERSIST;
	} else {
		if (send(fd, s->q, s->qlen, 0) != (ssize_t)s->qlen) {
			char sb[80];
			log_debug("upstream %s: send: %s", slot_server_text(s, sb, sizeof sb), strerror(errno));
			goto fail;
		}
		s->phase = PH_UDP;
		ev = EV_READ | EV_PERSIST;
	}
	if (event_assign(s->io, u->base, fd, ev, up_io_cb, s) < 0 || event_add(s->io, NULL) < 0 ||
	    slot_arm_timer(s) < 0) {
		if (up_sys_warn_due(u))
			log_warn("upstream: cannot add event");
		goto fail;
	}
	return 0;
fail:
	slot_stop_attempt(s);
	return -1;
}

/* Start the next untried server; -1 when none is left or time is up. */
static int slot_advance(struct up_slot *s)
{
	size_t n = slot_group(s)->nservers;

	while (s->tried < n) {
		if (fwd_now_ms() >= s->deadline_ms)
			return -1;
		s->server = (s->first + s->tried) % n;
		s->tried++;
		if (slot_start_attempt(s, s->client_tcp) == 0)
			return 0;
	}
	return -1;
}

/* The current attempt failed: next server, or report the failure. */
static void slot_fail_attempt(struct up_slot *s)
{
	slot_stop_attempt(s);
	if (slot_advance(s) < 0)
		slot_finish(s, UPSTREAM_FAILED, NULL, 0);
}

/* ------------------------------------------------------------ replies */

/*
 * Does this packet answer our query?  Beyond the connected socket's
 * address:port filter, the ID and the whole question must match (RFC 5452
 * section 9.1); the name is compared case-insensitively so that upstreams
 * that change case (or 0x20-randomising clients) still match.
 * Returns NULL when it matches, else why not (for the debug log).
 */
static const char *reply_mismatch(const struct up_slot *s, const uint8_t *p, size_t len)
{
	uint8_t name[WIRE_MAX_NAME];
	uint16_t flags;
	size_t off;
	int nlen;

	if (len < WIRE_HDR_LEN)
		return "shorter than a header";
	if (wire_get16(p) != s->cur_id)
		return "ID mismatch";
	flags = wire_get16(p + 2);
	if (!(flags & WIRE_QR))
		return "QR not set";
	if (WIRE_OPCODE(flags) != WIRE_OPCODE(s->qflags))
		return "opcode mismatch";
	if (wire_get16(p + 4) != 1)
		return "question count is not 1";
	nlen = wire_read_name(p, len, WIRE_HDR_LEN, name);
	if (nlen < 0)
		return "malformed question name";
	if ((size_t)nlen != s->qname_len || memcmp(name, s->qname, s->qname_len) != 0)
		return "question name mismatch";
	off = wire_skip_name(p, len, WIRE_HDR_LEN);
	if (off == 0 || off + 4 > len)
		return "truncated question";
	if (wire_get16(p + off) != s->qtype || wire_get16(p + off + 2) != s->qclass)
		return "question type/class mismatch";
	return NULL;
}

/*
 * A matching reply arrived.  SERVFAIL and REFUSED mean this server cannot
 * help (lame, broken, or not allowing us): try the next one.  TC over UDP
 * means the answer did not fit: ask the same server over TCP.
 */
static void slot_reply(struct up_slot *s, uint8_t *p, size_t len, int over_tcp)
{
	uint16_t flags = wire_get16(p + 2);
	int rcode = (int)WIRE_RCODE(flags);
	char sb[80];

	if (rcode == RCODE_SERVFAIL || rcode == RCODE_REFUSED) {
		log_debug("upstream %s answered rcode %d: next server", slot_server_text(s, sb, sizeof sb),
			  rcode);
		slot_fail_attempt(s);
		return;
	}
	if (!over_tcp && (flags & WIRE_TC)) {
		log_debug("upstream %s: truncated, retrying over TCP", slot_server_text(s, sb, sizeof sb));
		slot_stop_attempt(s);
		if (slot_start_attempt(s, 1) < 0)
			slot_fail_attempt(s);
		return;
	}
	slot_finish(s, UPSTREAM_OK, p, len);
}

static void slot_udp_read(struct up_slot *s)
{
	struct upstream *u = s->u;
	char sb[80];
	int i;

	/* A bounded burst: a flood of forged datagrams must not starve the
	 * loop; the persistent event brings us back. */
	for (i = 0; i < UP_RECV_BURST; i++) {
		ssize_t n = recv(s->fd, u->rbuf, sizeof u->rbuf, 0);
		const char *why;

		if (n < 0) {
			if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
				return;
			/* ECONNREFUSED: ICMP port unreachable.  The server is
			 * not there; waiting for the timer would only add
			 * latency. */
			log_debug("upstream %s: recv: %s", slot_server_text(s, sb, sizeof sb),
				  strerror(errno));
			slot_fail_attempt(s);
			return;
		}
		why = reply_mismatch(s, u->rbuf, (size_t)n);
		if (why) {
			log_debug("upstream %s: reply ignored: %s", slot_server_text(s, sb, sizeof sb), why);
			continue;
		}
		slot_reply(s, u->rbuf, (size_t)n, 0);
		return;
	}
}

/* Switch the io event to another direction on the same socket. */
static int slot_rearm_io(struct up_slot *s, short ev)
{
	event_del(s->io);
	if (event_assign(s->io, s->u->base, s->fd, ev | EV_PERSIST, up_io_cb, s) < 0 ||
	    event_add(s->io, NULL) < 0)
		return -1;
	return 0;
}

/*
 * Drive the TCP attempt as far as the socket allows.  We send exactly one
 * query per connection, so any reply that does not match, an early close
 * or an error is a failure of this server: there is nothing else to wait for.
 */
static void slot_tcp_io(struct up_slot *s)
{
	char sb[80];
	const char *why = NULL;
	ssize_t n = 0;

	for (;;) {
		switch (s->phase) {
		case PH_TCP_CONNECT: {
			int err = 0;
			socklen_t elen = sizeof err;
			if (getsockopt(s->fd, SOL_SOCKET, SO_ERROR, &err, &elen) < 0)
				err = errno;
			if (err == EINPROGRESS || err == EALREADY)
				return;
			if (err != 0) {
				log_debug("upstream %s: TCP connect: %s", slot_server_text(s, sb, sizeof sb),
					  strerror(err));
				goto fail;
			}
			s->phase = PH_TCP_WRITE;
			s->io_off = 0;
			break;
		}
		case PH_TCP_WRITE:
			n = send(s->fd, s->q - 2 + s->io_off, s->qlen + 2 - s->io_off, MSG_NOSIGNAL);
			if (n < 0) {
				if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
					return;
				log_debug("upstream %s: TCP send: %s", slot_server_text(s, sb, sizeof sb),
					  strerror(errno));
				goto fail;
			}
			s->io_off += (size_t)n;
			if (s->io_off < s->qlen + 2)
				break;
			s->phase = PH_TCP_READLEN;
			s->io_off = 0;
			if (slot_rearm_io(s, EV_READ) < 0)
				goto fail;
			return; /* the reply cannot be there yet */
		case PH_TCP_READLEN:
			n = recv(s->fd, s->lenbuf + s->io_off, 2 - s->io_off, 0);
			if (n <= 0)
				goto read_error;
			s->io_off += (size_t)n;
			if (s->io_off < 2)
				break;
			s->tcp_len = wire_get16(s->lenbuf);
			if (s->tcp_len < WIRE_HDR_LEN) {
				why = "reply shorter than a header";
				goto mismatch;
			}
			s->tcp_reply = malloc(s->tcp_len);
			if (!s->tcp_reply) {
				if (up_sys_warn_due(s->u))
					log_warn("upstream: out of memory for a TCP reply");
				goto fail;
			}
			s->phase = PH_TCP_READBODY;
			s->io_off = 0;
			break;
		case PH_TCP_READBODY:
			n = recv(s->fd, s->tcp_reply + s->io_off, s->tcp_len - s->io_off, 0);
			if (n <= 0)
				goto read_error;
			s->io_off += (size_t)n;
			if (s->io_off < s->tcp_len)
				break;
			why = reply_mismatch(s, s->tcp_reply, s->tcp_len);
			if (why)
				goto mismatch;
			slot_reply(s, s->tcp_reply, s->tcp_len, 1);
			return;
		default:
			return;
		}
	}
read_error:
	if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
		return;
	log_debug("upstream %s: TCP recv: %s", slot_server_text(s, sb, sizeof sb),
		  n == 0 ? "connection closed" : strerror(errno));
	goto fail;
mismatch:
	log_debug("upstream %s: TCP reply rejected: %s", slot_server_text(s, sb, sizeof sb), why);
fail:
	slot_fail_attempt(s);
}

static void up_io_cb(evutil_socket_t fd, short what, void *arg)
{
	struct up_slot *s = arg;

	(void)fd;
	(void)what;
	if (s->phase == PH_UDP)
		slot_udp_read(s);
	else
		slot_tcp_io(s);
}

static void up_timer_cb(evutil_socket_t fd, short what, void *arg)
{
	struct up_slot *s = arg;
	char sb[80];

	(void)fd;
	(void)what;
	log_debug("upstream %s: no reply in time", slot_server_text(s, sb, sizeof sb));
	slot_fail_attempt(s);
}

/* ------------------------------------------------------------ public API */

struct upstream *upstream_new(struct event_base *base, size_t max_pending, upstream_done_fn done,
			      void *ctx)
{
	struct upstream *u;
	size_t i;

	if (!base || !done || max_pending == 0)
		return NULL;
	u = calloc(1, sizeof *u);
	if (!u)
		return NULL;
	u->base = base;
	u->done = done;
	u->ctx = ctx;
	u->rotate = fwd_random_u32();
	u->slots = calloc(max_pending, sizeof *u->slots);
	if (!u->slots)
		goto fail;
	/* Events are created once here and re-pointed at each attempt's
	 * socket with event_assign(), so an attempt allocates nothing. */
	for (i = 0; i < max_pending; i++) {
		struct up_slot *s = &u->slots[i];
		s->u = u;
		s->fd = -1;
		s->io = event_new(base, -1, 0, up_io_cb, s);
		s->timer = evtimer_new(base, up_timer_cb, s);
		u->nslots = i + 1;
		if (!s->io || !s->timer)
			goto fail;
	}
	for (i = max_pending; i-- > 0;) {
		u->slots[i].next_free = u->free_list;
		u->free_list = &u->slots[i];
	}
	return u;
fail:
	log_err("upstream: out of memory for %zu pending slots", max_pending);
	upstream_free(u);
	return NULL;
}

void upstream_free(struct upstream *u)
{
	size_t i;

	if (!u)
		return;
	for (i = 0; i < u->nslots; i++) {
		struct up_slot *s = &u->slots[i];
		if (s->in_use) {
			if (s->io && s->timer)
				slot_stop_attempt(s);
			free(s->long_q);
			if (s->snap)
				snapshot_unref(s->snap);
		}
		if (s->io)
			event_free(s->io);
		if (s->timer)
			event_free(s->timer);
	}
	free(u->slots);
	free(u);
}

int upstream_send(struct upstream *u, struct snapshot *snap, size_t group, const uint8_t *query,
		  size_t qlen, const struct wire_query *q, const struct client *cl, int tcp)
{
	const struct cfg *cfg;
	const struct cfg_upstream *grp;
	struct up_slot *s;

	if (!u || !snap || !snap->cfg || !query || !q || !cl)
		return FWD_EINVAL;
	cfg = snap->cfg;
	if (group >= cfg->nupstreams)
		return FWD_ENOENT;
	grp = &cfg->upstreams[group];
	if (grp->nservers == 0) {
		if (up_warn_due(u, group, 0)) {
			char name[1025];
			log_warn("no server in upstream group %s for %s", grp->name,
				 wire_name_to_text(q->qname, name, sizeof name));
		}
		return FWD_ENOENT;
	}
	if (qlen < WIRE_HDR_LEN || qlen > WIRE_MAX_MSG || q->qdcount != 1 || q->qname_len == 0)
		return FWD_EINVAL;
	s = u->free_list;
	if (!s) {
		if (up_sys_warn_due(u))
			log_warn("upstream: all %zu pending slots busy, answering SERVFAIL", u->nslots);
		return FWD_EFULL;
	}
	if (qlen > UP_QBUF) {
		s->long_q = malloc(qlen + 2);
		if (!s->long_q) {
			if (up_sys_warn_due(u))
				log_warn("upstream: out of memory for a %zu-byte query", qlen);
			return FWD_EFULL;
		}
		s->q = s->long_q + 2;
	} else {
		s->q = s->qframe + 2;
	}
	u->free_list = s->next_free;
	s->next_free = NULL;
	s->in_use = 1;
	u->npending++;

	memcpy(s->q, query, qlen);
	s->qlen = qlen;
	s->qflags = wire_get16(query + 2);
	s->qtype = q->qtype;
	s->qclass = q->qclass;
	s->qname_len = q->qname_len;
	memcpy(s->qname, q->qname, q->qname_len);
	s->cl = *cl;
	snapshot_ref(snap);
	s->snap = snap;
	s->group = group;
	s->client_tcp = tcp ? 1 : 0;
	s->first = u->rotate++ % grp->nservers;
	s->tried = 0;
	s->deadline_ms = fwd_now_ms() +
			 (uint64_t)(cfg->query_timeout_ms > 0 ? cfg->query_timeout_ms : 1);
	if (slot_advance(s) < 0) {
		slot_release(s);
		return FWD_EIO;
	}
	return 0;
}

size_t upstream_pending(const struct upstream *u)
{
	return u ? u->npending : 0;
}
