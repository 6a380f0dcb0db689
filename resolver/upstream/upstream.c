/*
 * upstream.c -- per-worker forwarding engine: pending slots, attempts, reply
 * validation, TC -> TCP, failover and the completion callback.  Behaviour:
 * docs/upstream.md.
 *
 * Life of a forwarded query: upstream_send() takes a slot from the free list
 * and copies the query, its parsed form and the caller's context into it.  When an
 * identical question is already in flight (the coalescing table,
 * upstream_coalesce.h), the slot only joins that query's waiter list.
 * Otherwise it asks the health module for a server of the group
 * (up_health_select: health and caps, upstream_health.h) and starts an
 * attempt: one random ID, one socket (a pooled UDP one, upstream_sock.h, or
 * a new TCP connection), one timer.  An attempt ends with an accepted reply
 * (done() is called for the slot and for every waiter), a failure (timeout,
 * ICMP refused, SERVFAIL/REFUSED, broken TCP) that moves on to the next
 * server, or TC, which repeats the same server over TCP.  When every server
 * of the group has been tried once, or the query budget (cfg query-timeout)
 * is spent, done() gets UPSTREAM_FAILED.
 *
 * Design choices:
 *  - Query buffer: each slot embeds UP_QBUF (512) bytes.  The query sent
 *    upstream is plinkfwd's own (edns_build_upstream_query: header,
 *    question, our OPT), at most 12 + 255 + 4 + 11 bytes plus a cookie, so
 *    it always fits and the client's EDNS options never cross the hop.
 *    The buffer keeps two bytes in front of the query for the TCP length
 *    prefix, so a TCP attempt writes one block.
 *  - TCP replies are read into a buffer allocated once the 2-byte length is
 *    known.  TCP is the slow path (a handshake per attempt already); a
 *    64 KiB buffer per slot would multiply the pool's memory by 60.
 *  - UDP replies land in one per-instance scratch buffer: an instance is
 *    single threaded and done() is called before the next recv.
 *  - The sub-modules (health, sockets, coalescing) keep their own state,
 *    embedded in struct upstream; the slots refer to a server by its
 *    health entry index, which also names its idle sockets in the pool.
 */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <event2/event.h>

#include "clock.h"
#include "counter.h"
#include "common.h"
#include "config.h"
#include "edns.h"
#include "log.h"
#include "snapshot.h"
#include "upstream.h"
#include "upstream_coalesce.h"
#include "upstream_health.h"
#include "upstream_log.h"
#include "upstream_sock.h"
#include "wire.h"

#define UP_QBUF 512             /* query bytes embedded in each slot */
#define UP_RECV_BURST 16        /* datagrams read per wake-up before yielding */
#define UP_WARN_SLOTS 32        /* rate-limit table entries (groups mod this) */
#define UP_MAX_WAITERS 256      /* clients sharing one upstream query, besides its own */
#define UP_HOUSEKEEP_MS 1000
#define UP_RAND_BATCH 64        /* random words fetched per getrandom(2) */

enum up_phase {
	PH_IDLE = 0,
	PH_UDP,          /* query sent, waiting for a datagram */
	PH_TCP_CONNECT,  /* non-blocking connect in progress */
	PH_TCP_WRITE,    /* writing length prefix + query */
	PH_TCP_READLEN,  /* reading the 2-byte reply length */
	PH_TCP_READBODY  /* reading the reply itself */
};

enum up_role {
	ROLE_SOLO = 0,   /* sends its own query, not in the coalescing table */
	ROLE_LEADER,     /* sends its own query and is in the table */
	ROLE_FOLLOWER    /* waits for a leader's reply */
};

struct up_slot {
	struct upstream *u;        /* owning instance */
	struct up_slot *next_free; /* free list link (only while free) */
	int in_use;
	enum up_role role;
	struct up_centry ce;       /* leader: its entry in the coalescing table (key.qname
	                            * points at qname below) */
	struct up_slot *waiters;   /* leader: its followers */
	struct up_slot *wnext;     /* follower: next in the leader's list */
	uint32_t nwaiters;
	struct snapshot *snap;     /* reference held from send to completion */
	size_t group;              /* index into snap->cfg->upstreams */
	struct wire_query wq;      /* the client's query as parsed; wq.pkt == q */
	uint16_t client_id;        /* the client's query ID (wq.id) */
	uint8_t *q;                /* the query copy (2 bytes of TCP prefix before it) */
	size_t qlen;
	uint16_t qflags;           /* the query's header flags (for the opcode) */
	uint16_t qtype, qclass;
	uint8_t qname_len;
	uint8_t qname[WIRE_MAX_NAME]; /* lower-cased wire name the reply must echo */
	uint16_t cur_id;           /* ID of the current attempt */
	uint64_t tried;            /* bit per server index already tried */
	struct upstream_failure fail; /* what went wrong so far, for the answer's EDE */
	size_t server;             /* server index in the group of the current attempt */
	uint32_t hidx;             /* its health entry */
	int active;                /* an attempt is under way (counted in outstanding) */
	int probe;                 /* ... and it is the probe of a down server */
	int full_timer;            /* the attempt timer is a whole upstream-timeout */
	int client_tcp;            /* the client came over TCP: use TCP from the start */
	enum up_phase phase;
	uint64_t sent_us;          /* current attempt started */
	uint64_t deadline_ms;      /* start + query-timeout */
	uint64_t timer_due_ms;     /* when the attempt timer fires (upstream_expire) */
	struct up_sock *sock;      /* UDP attempt: its pooled socket */
	int fd;                    /* TCP attempt's socket, -1 when none */
	size_t io_off;             /* TCP: bytes done in the current phase */
	uint8_t lenbuf[2];         /* TCP: reply length prefix */
	uint8_t *tcp_reply;        /* TCP: owned reply buffer, NULL when none */
	size_t tcp_len;
	struct event *io;          /* TCP: re-assigned to each attempt's fd */
	struct event *timer;       /* per-attempt timer (capped by the deadline) */
	_Alignas(max_align_t) unsigned char ctx[UPSTREAM_CTX_MAX]; /* the caller's context, by value */
	uint8_t qframe[2 + UP_QBUF];
};

/* Timestamps for rate-limited warnings, keyed by group index. */
struct up_warn {
	size_t group;
	uint64_t empty_ms;  /* last "no server in upstream group" */
	uint64_t fail_ms;   /* last "every server failed" */
	uint64_t cap_ms;    /* last "every server at its cap" */
	uint64_t bad_ms;    /* last "malformed reply" */
};

struct upstream {
	struct event_base *base;   /* borrowed; owned by the worker */
	const struct fwd_clock *clock; /* borrowed */
	upstream_done_fn done;
	void *arg;
	struct up_slot *slots;     /* owned array of nslots */
	size_t nslots;
	struct up_slot *free_list;
	size_t npending;
	struct up_health health;   /* server health and selection */
	struct up_sockpool pool;   /* UDP sockets: nslots of them, one per possible UDP attempt */
	struct up_ctable table;    /* coalescing table of leaders */
	struct event *housekeep;
	uint32_t rnd[UP_RAND_BATCH];
	unsigned rnd_left;
	uint64_t sys_warn_ms;      /* last socket/pool warning, shared with health and pool */
	struct up_warn warn[UP_WARN_SLOTS];
	struct upstream_stats st;  /* marked_down and sockets are kept by health and pool */
	struct upstream_failure fail; /* the failure done() is reporting (slot_finish) */
	uint8_t rbuf[WIRE_MAX_MSG];/* UDP reply scratch */
};

static void up_io_cb(evutil_socket_t fd, short what, void *arg);
static void up_timer_cb(evutil_socket_t fd, short what, void *arg);
static enum fwd_err slot_advance(struct up_slot *s);

/* ------------------------------------------------------------ helpers */

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

/* Random words from a batch: one getrandom(2) per UP_RAND_BATCH queries
 * instead of one per query, with the same source. */
static uint32_t up_rand(struct upstream *u)
{
	if (u->rnd_left == 0) {
		fwd_random(u->rnd, sizeof u->rnd);
		u->rnd_left = UP_RAND_BATCH;
	}
	return u->rnd[--u->rnd_left];
}

/* 1 when a warning of this kind for this group may be logged now; keeps the
 * log readable when every query hits the same misconfiguration. */
static int up_warn_due(struct upstream *u, size_t group, int kind)
{
	struct up_warn *w = &u->warn[group % UP_WARN_SLOTS];

	if (w->group != group) {
		w->group = group;
		w->empty_ms = 0;
		w->fail_ms = 0;
		w->cap_ms = 0;
		w->bad_ms = 0;
	}
	uint64_t *last = kind == 0 ? &w->empty_ms : kind == 1 ? &w->fail_ms : kind == 2 ? &w->cap_ms : &w->bad_ms;
	return up_warn_limit(last, clock_ms(u->clock));
}

static int up_sys_warn_due(struct upstream *u)
{
	return up_warn_limit(&u->sys_warn_ms, clock_ms(u->clock));
}

static uint32_t slot_sock_reuse(const struct up_slot *s)
{
	return (uint32_t)s->snap->cfg->upstream_socket_reuse;
}

/* ------------------------------------------------------------ coalescing */

static struct up_slot *slot_of_entry(struct up_centry *e)
{
	return (struct up_slot *)(void *)((char *)e - offsetof(struct up_slot, ce));
}

static void table_insert(struct upstream *u, struct up_slot *s)
{
	up_ctable_insert(&u->table, &s->ce);
	s->role = ROLE_LEADER;
}

static void table_remove(struct upstream *u, struct up_slot *s)
{
	if (s->role != ROLE_LEADER)
		return;
	up_ctable_remove(&u->table, &s->ce);
	s->role = ROLE_SOLO;
}

/* ------------------------------------------------------------ slot life */

/*
 * End the current attempt (if any) and tell the server's health how it went.
 * The TCP reply buffer stays: a reply being delivered may live in it.
 */
static void slot_end_attempt(struct up_slot *s, enum up_outcome out)
{
	struct upstream *u = s->u;
	uint32_t rtt_us = 0;

	evtimer_del(s->timer);
	if (s->sock) {
		up_sock_put(&u->pool, s->sock, out == OUT_ANSWER || out == OUT_ALIVE, slot_sock_reuse(s));
		s->sock = NULL;
	}
	if (s->fd >= 0) {
		event_del(s->io);
		close(s->fd);
		s->fd = -1;
	}
	s->io_off = 0;
	s->phase = PH_IDLE;
	if (!s->active)
		return;
	s->active = 0;
	if (out == OUT_ANSWER) {
		uint64_t now = clock_us(u->clock);
		uint64_t rtt = now > s->sent_us ? now - s->sent_us : 0;
		rtt_us = rtt > UINT32_MAX ? UINT32_MAX : (uint32_t)rtt;
	}
	up_health_attempt_end(&u->health, s->hidx, s->snap->cfg, out, rtt_us, s->probe);
	s->probe = 0;
}

static void slot_release(struct up_slot *s)
{
	struct upstream *u = s->u;

	slot_end_attempt(s, OUT_ABORT);
	free(s->tcp_reply);
	s->tcp_reply = NULL;
	s->tcp_len = 0;
	s->q = NULL;
	if (s->snap) {
		snapshot_unref(s->snap);
		s->snap = NULL;
	}
	s->role = ROLE_SOLO;
	s->waiters = NULL;
	s->wnext = NULL;
	s->ce.hnext = NULL;
	s->nwaiters = 0;
	s->in_use = 0;
	s->next_free = u->free_list;
	u->free_list = s;
	STATS_DEC(u->npending);
}

/* Hand one client its result: its ID in reply and query, and in the reply
 * the question name as that client wrote it. */
static void slot_deliver(struct up_slot *w, enum upstream_status st, uint8_t *reply, size_t len,
			 const uint8_t *echo, const uint8_t *sent_name)
{
	struct upstream *u = w->u;

	wire_put16(w->q, w->client_id);
	if (reply) {
		wire_put16(reply, w->client_id);
		if (echo) {
			/* the client whose query went upstream, or one that wrote
			 * the name the same way, gets the server's echo as is */
			const uint8_t *mine = w->q + WIRE_HDR_LEN;
			memcpy(reply + WIRE_HDR_LEN,
			       memcmp(mine, sent_name, w->qname_len) == 0 ? echo : mine, w->qname_len);
		}
	}
	u->done(u->arg, w->ctx, st, reply, len, &w->wq);
}

/*
 * Hand the result to the slot's client and to every waiter, then give the
 * slots back.  The slot leaves the coalescing table first, so a done() that
 * forwards the same question again starts a new query; it is released only
 * after every done() returned, so done() may forward another query (a new
 * slot) while ctx, reply and q still point into this one.
 */
static void slot_finish(struct up_slot *s, enum upstream_status st, uint8_t *reply, size_t len)
{
	struct upstream *u = s->u;
	struct up_slot *w, *next;
	uint8_t echo[WIRE_MAX_NAME];
	const uint8_t *echo_p = NULL;

	slot_end_attempt(s, OUT_ABORT);
	table_remove(u, s);
	w = s->waiters;
	s->waiters = NULL;
	if (st == UPSTREAM_FAILED)
		u->fail = s->fail; /* upstream_last_failure() during the done() calls */
	if (st == UPSTREAM_FAILED && up_warn_due(u, s->group, 1)) {
		char name[1025];
		log_warn("every server of upstream group %s failed for %s", slot_group(s)->name,
			 slot_qname_text(s, name, sizeof name));
	}
	/* The question case can only be set per client when the reply's
	 * question is a plain name (it matched ours case-insensitively). */
	if (reply && w && len >= WIRE_HDR_LEN + (size_t)s->qname_len + 4 &&
	    wire_name_len(reply + WIRE_HDR_LEN, len - WIRE_HDR_LEN) == (int)s->qname_len) {
		memcpy(echo, reply + WIRE_HDR_LEN, s->qname_len);
		echo_p = echo;
	}
	slot_deliver(s, st, reply, len, echo_p, s->q + WIRE_HDR_LEN);
	for (; w; w = next) {
		next = w->wnext;
		slot_deliver(w, st, reply, len, echo_p, s->q + WIRE_HDR_LEN);
		slot_release(w);
	}
	slot_release(s);
}

static int slot_arm_timer(struct up_slot *s)
{
	const struct cfg *cfg = s->snap->cfg;
	uint64_t now = clock_ms(s->u->clock);
	uint64_t full = (uint64_t)cfg->upstream_timeout_ms;
	uint64_t ms = full;
	struct timeval tv;

	if (s->deadline_ms <= now)
		ms = 1;
	else if (s->deadline_ms - now < ms)
		ms = s->deadline_ms - now;
	s->full_timer = ms == full;
	s->timer_due_ms = now + ms;
	tv.tv_sec = (time_t)(ms / 1000);
	tv.tv_usec = (suseconds_t)((ms % 1000) * 1000);
	return evtimer_add(s->timer, &tv);
}

/*
 * Start an attempt on server index `server` (health entry hidx).  Every
 * attempt gets a new random ID: an answer to an earlier attempt can never be
 * mistaken for this one.  Returns FWD_OK when the attempt is under way,
 * FWD_EIO when it failed at once (health updated).
 */
static enum fwd_err slot_start_attempt(struct up_slot *s, size_t server, uint32_t hidx, int tcp, int probe)
{
	struct upstream *u = s->u;
	const struct cfg *cfg = s->snap->cfg;
	const struct cfg_addr *a = &slot_group(s)->servers[server];
	enum up_outcome out = OUT_ABORT;
	char sb[80];

	free(s->tcp_reply);
	s->tcp_reply = NULL;
	s->tcp_len = 0;
	s->server = server;
	s->hidx = hidx;
	s->active = 1;
	s->probe = probe;
	s->sent_us = clock_us(u->clock);
	up_health_attempt_start(&u->health, hidx, cfg, &slot_group(s)->caps[server], s->sent_us / 1000, probe);
	if (probe)
		STATS_INC(u->st.probes);
	STATS_INC(u->st.sent);
	s->cur_id = (uint16_t)up_rand(u);
	wire_put16(s->q, s->cur_id);
	s->io_off = 0;

	if (tcp) {
		int fd;
		STATS_INC(u->st.sent_tcp);
		fd = socket(a->ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
		if (fd < 0) {
			if (up_sys_warn_due(u))
				log_warn("upstream: socket: %s", strerror(errno));
			goto fail;
		}
		s->fd = fd;
		if (connect(fd, (const struct sockaddr *)&a->ss, a->len) < 0 && errno != EINPROGRESS) {
			log_debug("upstream %s: TCP connect: %s", slot_server_text(s, sb, sizeof sb),
				  strerror(errno));
			out = OUT_FAIL;
			goto fail;
		}
		wire_put16(s->q - 2, (uint16_t)s->qlen);
		s->phase = PH_TCP_CONNECT;
		if (event_assign(s->io, u->base, fd, EV_WRITE | EV_PERSIST, up_io_cb, s) < 0 ||
		    event_add(s->io, NULL) < 0) {
			if (up_sys_warn_due(u))
				log_warn("upstream: cannot add event");
			goto fail;
		}
	} else {
		int fault, again;
		for (again = 1;; again--) {
			struct up_sock *k = up_sock_get(&u->pool, hidx, a, slot_sock_reuse(s), s, &fault);
			int reused;
			if (!k) {
				out = fault ? OUT_FAIL : OUT_ABORT;
				goto fail;
			}
			reused = k->uses > 1;
			s->sock = k;
			if (send(k->fd, s->q, s->qlen, 0) == (ssize_t)s->qlen)
				break;
			log_debug("upstream %s: send: %s", slot_server_text(s, sb, sizeof sb), strerror(errno));
			/* an error left over on a reused socket (a late ICMP)
			 * says nothing about now: one more try on a new one */
			up_sock_discard(&u->pool, k);
			s->sock = NULL;
			if (!reused || !again) {
				out = OUT_FAIL;
				goto fail;
			}
		}
		s->phase = PH_UDP;
	}
	if (slot_arm_timer(s) < 0) {
		if (up_sys_warn_due(u))
			log_warn("upstream: cannot add timer");
		goto fail;
	}
	return FWD_OK;
fail:
	if (out == OUT_FAIL) {
		STATS_INC(u->st.errors);
		s->fail.errors++;
	}
	slot_end_attempt(s, out);
	return FWD_EIO;
}

/* Start the next server: FWD_OK when an attempt is under way, FWD_ETIMEDOUT
 * when the query's time is up, FWD_ENOENT when no server is left, FWD_EFULL
 * when the servers left are all at a cap. */
static enum fwd_err slot_advance(struct up_slot *s)
{
	for (;;) {
		uint64_t now = clock_us(s->u->clock);
		uint32_t hidx = 0;
		size_t i = 0;
		int probe = 0;
		enum fwd_err rc;

		if (now / 1000 >= s->deadline_ms)
			return FWD_ETIMEDOUT;
		rc = up_health_select(&s->u->health, s->snap->cfg, slot_group(s), s->tried, now, up_rand(s->u),
				      &i, &hidx, &probe);
		if (rc != FWD_OK)
			return rc;
		s->tried |= (uint64_t)1 << i;
		s->fail.servers++;
		if (slot_start_attempt(s, i, hidx, s->client_tcp, probe) == FWD_OK)
			return FWD_OK;
	}
}

/* The current attempt failed: next server, or report the failure. */
static void slot_fail_attempt(struct up_slot *s, enum up_outcome out)
{
	enum fwd_err rc;

	slot_end_attempt(s, out);
	rc = slot_advance(s);
	if (rc != FWD_OK) {
		if (rc == FWD_EFULL) {
			STATS_INC(s->u->st.capped);
			s->fail.capped = 1;
		} else if (rc == FWD_ETIMEDOUT) {
			s->fail.expired = 1;
		}
		slot_finish(s, UPSTREAM_FAILED, NULL, 0);
	}
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
 * A matching reply arrived.  It is walked whole first (wire_check_message):
 * nothing downstream -- the splicer, the cache, the client -- ever sees a
 * malformed message, and a server that sends one is treated as one that
 * failed.  SERVFAIL and REFUSED mean this server cannot help (lame, broken,
 * or not allowing us): try the next one.  TC over UDP means the answer did
 * not fit: ask the same server over TCP, if its caps allow, else the next
 * server.  TC over TCP cannot be fixed by asking again: a failure.
 */
static void slot_reply(struct up_slot *s, uint8_t *p, size_t len, int over_tcp)
{
	struct upstream *u = s->u;
	uint16_t flags = wire_get16(p + 2);
	int rcode = (int)WIRE_RCODE(flags);
	char sb[80];
	const char *bad = wire_check_message(p, len);

	if (bad == NULL && over_tcp && (flags & WIRE_TC))
		bad = "TC set on a TCP reply";
	if (bad != NULL) {
		STATS_INC(u->st.malformed);
		s->fail.malformed++;
		if (up_warn_due(u, s->group, 3)) {
			char qb[WIRE_MAX_NAME * 4 + 8];
			log_warn("upstream %s: malformed reply for %s (%s): next server (logged at most once a "
				 "second per group)",
				 slot_server_text(s, sb, sizeof sb), slot_qname_text(s, qb, sizeof qb), bad);
		}
		slot_fail_attempt(s, OUT_FAIL);
		return;
	}
	STATS_INC(u->st.answered);
	if (rcode == RCODE_SERVFAIL || rcode == RCODE_REFUSED) {
		s->fail.refused++;
		log_debug("upstream %s answered rcode %d: next server", slot_server_text(s, sb, sizeof sb),
			  rcode);
		slot_fail_attempt(s, OUT_ALIVE);
		return;
	}
	if (!over_tcp && (flags & WIRE_TC)) {
		const struct cfg *cfg = s->snap->cfg;
		size_t server = s->server;
		uint32_t hidx = s->hidx;

		log_debug("upstream %s: truncated, retrying over TCP", slot_server_text(s, sb, sizeof sb));
		slot_end_attempt(s, OUT_ANSWER);
		uint64_t now_us = clock_us(u->clock);
		if (now_us / 1000 < s->deadline_ms &&
		    !up_health_capped(&u->health, hidx, cfg, &slot_group(s)->caps[server], now_us) &&
		    slot_start_attempt(s, server, hidx, 1, 0) == FWD_OK)
			return;
		slot_fail_attempt(s, OUT_ABORT);
		return;
	}
	slot_end_attempt(s, OUT_ANSWER);
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
		ssize_t n = recv(s->sock->fd, u->rbuf, sizeof u->rbuf, 0);
		const char *why;

		if (n < 0) {
			if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
				return;
			/* ECONNREFUSED: ICMP port unreachable.  The server is
			 * not there; waiting for the timer would only add
			 * latency. */
			log_debug("upstream %s: recv: %s", slot_server_text(s, sb, sizeof sb),
				  strerror(errno));
			STATS_INC(u->st.errors);
			s->fail.errors++;
			slot_fail_attempt(s, OUT_FAIL);
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

/* Switch the io event to another direction on the same socket: FWD_OK or
 * FWD_EIO. */
static enum fwd_err slot_rearm_io(struct up_slot *s, short ev)
{
	event_del(s->io);
	if (event_assign(s->io, s->u->base, s->fd, ev | EV_PERSIST, up_io_cb, s) < 0 ||
	    event_add(s->io, NULL) < 0)
		return FWD_EIO;
	return FWD_OK;
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
	enum up_outcome out = OUT_FAIL;

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
			if (slot_rearm_io(s, EV_READ) != FWD_OK) {
				out = OUT_ABORT;
				goto fail;
			}
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
				out = OUT_ABORT;
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
	if (out == OUT_FAIL) {
		STATS_INC(s->u->st.errors);
		s->fail.errors++;
	}
	slot_fail_attempt(s, out);
}

static void up_io_cb(evutil_socket_t fd, short what, void *arg)
{
	struct up_slot *s = arg;

	(void)fd;
	(void)what;
	if (s->phase >= PH_TCP_CONNECT)
		slot_tcp_io(s);
}

/* up_sockpool readable callback: the socket's owner is always a slot in a
 * UDP attempt (the pool clears the owner when the attempt gives it back). */
static void slot_sock_readable(void *owner)
{
	struct up_slot *s = owner;

	if (s->phase == PH_UDP)
		slot_udp_read(s);
}

/* The current attempt's timer fired: this server had its chance. */
static void slot_timeout(struct up_slot *s)
{
	char sb[80];

	log_debug("upstream %s: no reply in time", slot_server_text(s, sb, sizeof sb));
	STATS_INC(s->u->st.timeouts);
	s->fail.timeouts++;
	up_health_timeout(&s->u->health, s->hidx);
	/* an attempt cut short by the query budget did not get a fair chance:
	 * the server's health does not pay for it */
	slot_fail_attempt(s, s->full_timer ? OUT_FAIL : OUT_ABORT);
}

static void up_timer_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	slot_timeout(arg);
}

void upstream_expire(struct upstream *u)
{
	uint64_t now = clock_ms(u->clock);

	for (size_t i = 0; i < u->nslots; i++) {
		struct up_slot *s = &u->slots[i];
		if (s->in_use && s->phase != PH_IDLE && s->timer_due_ms <= now &&
		    evtimer_pending(s->timer, NULL)) {
			evtimer_del(s->timer);
			slot_timeout(s);
		}
	}
}

/* up_health hooks: a health entry index also names that server's idle
 * sockets in the pool. */
static void health_drop_server(void *arg, uint32_t server)
{
	struct upstream *u = arg;

	up_sockpool_drop_server(&u->pool, server);
}

static int health_server_busy(void *arg, uint32_t server)
{
	struct upstream *u = arg;

	return up_sockpool_idle(&u->pool, server) > 0;
}

/* Close sockets past their age and forget servers nobody asked for a long
 * time (their addresses left the configuration, or the health is stale).
 * Sockets first: a stale server's sockets are all past their age, so its
 * entry can go in the same pass. */
static void up_housekeep_cb(evutil_socket_t fd, short what, void *arg)
{
	struct upstream *u = arg;
	uint64_t now = clock_ms(u->clock);

	(void)fd;
	(void)what;
	up_sockpool_expire(&u->pool, now);
	up_health_forget(&u->health, now);
}

/* ------------------------------------------------------------ public API */

struct upstream *upstream_new(struct event_base *base, const struct fwd_clock *clock, size_t max_pending,
			      upstream_done_fn done, void *arg)
{
	struct upstream *u;
	struct timeval tv = { UP_HOUSEKEEP_MS / 1000, (UP_HOUSEKEEP_MS % 1000) * 1000 };
	struct up_health_hooks hooks;
	uint32_t seed;
	size_t i;

	if (!base || !clock || !done || max_pending == 0)
		return NULL;
	u = calloc(1, sizeof *u);
	if (!u)
		return NULL;
	u->base = base;
	u->clock = clock;
	u->done = done;
	u->arg = arg;
	seed = fwd_random_u32();
	hooks.drop = health_drop_server;
	hooks.busy = health_server_busy;
	hooks.arg = u;
	u->slots = calloc(max_pending, sizeof *u->slots);
	u->housekeep = event_new(base, -1, EV_PERSIST, up_housekeep_cb, u);
	if (up_ctable_init(&u->table, max_pending, seed) != FWD_OK ||
	    up_health_init(&u->health, seed, clock, &u->sys_warn_ms, &hooks) != FWD_OK ||
	    up_sockpool_init(&u->pool, base, clock, max_pending, UP_MAX_SERVERS, slot_sock_readable,
			     &u->sys_warn_ms) != FWD_OK ||
	    !u->slots || !u->housekeep || event_add(u->housekeep, &tv) < 0)
		goto fail;
	/* Events are created once here and re-pointed at sockets with
	 * event_assign(), so an attempt allocates nothing. */
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
				slot_end_attempt(s, OUT_ABORT);
			free(s->tcp_reply);
			if (s->snap)
				snapshot_unref(s->snap);
		}
		if (s->io)
			event_free(s->io);
		if (s->timer)
			event_free(s->timer);
	}
	/* after the slots: ending their attempts gives sockets back to the pool */
	up_sockpool_fini(&u->pool);
	if (u->housekeep)
		event_free(u->housekeep);
	free(u->slots);
	up_ctable_fini(&u->table);
	up_health_fini(&u->health);
	free(u);
}

enum fwd_err upstream_send(struct upstream *u, struct snapshot *snap, size_t group, const struct wire_query *q,
			   int tcp, const void *ctx, size_t ctxlen)
{
	const struct cfg *cfg;
	const struct cfg_upstream *grp;
	struct up_slot *s, *leader = NULL;
	struct up_centry *leader_e;
	uint8_t kflags;
	enum fwd_err rc;
	size_t qlen;

	if (!u || !snap || !snap->cfg || !q || !q->pkt || ctxlen > UPSTREAM_CTX_MAX || (ctxlen && !ctx))
		return FWD_EINVAL;
	qlen = q->len;
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
	if (qlen < WIRE_HDR_LEN || qlen > WIRE_MAX_MSG || q->qdcount != 1 || q->qname_len == 0 ||
	    WIRE_HDR_LEN + (size_t)q->qname_len > qlen)
		return FWD_EINVAL;
	s = u->free_list;
	if (!s) {
		memset(&u->fail, 0, sizeof u->fail);
		u->fail.busy = 1;
		if (up_sys_warn_due(u))
			log_warn("upstream: all %zu pending slots busy, answering SERVFAIL", u->nslots);
		return FWD_EFULL;
	}
	/* EDNS is hop by hop: the upstream gets plinkfwd's own query -- the
	 * client's header bits and question, our OPT, none of the client's
	 * options (docs/edns.md) */
	s->q = s->qframe + 2;
	s->qlen = edns_build_upstream_query(q, q->id, WIRE_EDNS_UDP, NULL, 0, s->q, UP_QBUF);
	if (s->qlen == 0)
		return FWD_EINVAL;
	u->free_list = s->next_free;
	s->next_free = NULL;
	s->in_use = 1;
	STATS_INC(u->npending);

	kflags = (uint8_t)(((q->flags & WIRE_RD) ? KF_RD : 0) | ((q->flags & WIRE_CD) ? KF_CD : 0) |
			   (q->do_bit ? KF_DO : 0) | ((q->flags & WIRE_AD) ? KF_AD : 0) | (tcp ? KF_TCP : 0));
	s->qflags = wire_get16(s->q + 2);
	s->qtype = q->qtype;
	s->qclass = q->qclass;
	s->qname_len = q->qname_len;
	memcpy(s->qname, q->qname, q->qname_len);
	/* the client's question as parsed; its bytes are now our query's */
	s->wq = *q;
	s->wq.pkt = s->q;
	s->wq.len = s->qlen;
	s->wq.opt_off = 0;
	s->wq.opt_rdlen = 0;
	s->client_id = q->id;
	if (ctxlen)
		memcpy(s->ctx, ctx, ctxlen);
	snapshot_ref(snap);
	s->snap = snap;
	s->group = group;
	s->client_tcp = tcp ? 1 : 0;
	s->ce.key.cfg = cfg;
	s->ce.key.group = group;
	s->ce.key.qname = s->qname;
	s->ce.key.qname_len = q->qname_len;
	s->ce.key.qtype = q->qtype;
	s->ce.key.qclass = q->qclass;
	s->ce.key.kflags = kflags;
	up_ctable_hash(&u->table, &s->ce);
	s->role = ROLE_SOLO;
	s->waiters = NULL;
	s->nwaiters = 0;

	leader_e = up_ctable_find(&u->table, &s->ce);
	if (leader_e)
		leader = slot_of_entry(leader_e);
	if (leader && leader->nwaiters < UP_MAX_WAITERS) {
		/* the same question is on its way: wait for that reply */
		s->role = ROLE_FOLLOWER;
		s->wnext = leader->waiters;
		leader->waiters = s;
		leader->nwaiters++;
		STATS_INC(u->st.coalesced);
		return 0;
	}
	s->tried = 0;
	memset(&s->fail, 0, sizeof s->fail);
	s->deadline_ms = clock_ms(u->clock) +
			 (uint64_t)cfg->query_timeout_ms;
	rc = slot_advance(s);
	if (rc != FWD_OK) {
		u->fail = s->fail; /* upstream_last_failure() for the caller */
		u->fail.capped = rc == FWD_EFULL;
		slot_release(s);
		if (rc == FWD_EFULL) {
			STATS_INC(u->st.capped);
			if (up_warn_due(u, group, 2)) {
				char name[1025];
				log_warn("every server of upstream group %s is at its query cap: SERVFAIL for %s",
					 grp->name, wire_name_to_text(q->qname, name, sizeof name));
			}
			return FWD_EFULL;
		}
		return FWD_EIO;
	}
	/* a leader with a full waiter list keeps its waiters but leaves the
	 * table: this query collects the next clients */
	if (leader)
		table_remove(u, leader);
	table_insert(u, s);
	return 0;
}

size_t upstream_pending(const struct upstream *u)
{
	return u ? STATS_GET(u->npending) : 0;
}

void upstream_get_stats(const struct upstream *u, struct upstream_stats *out)
{
	if (!out)
		return;
	if (!u) {
		memset(out, 0, sizeof *out);
		return;
	}
	/* the owning worker writes these as it goes (counter.h) */
	out->sent = STATS_GET(u->st.sent);
	out->sent_tcp = STATS_GET(u->st.sent_tcp);
	out->answered = STATS_GET(u->st.answered);
	out->timeouts = STATS_GET(u->st.timeouts);
	out->malformed = STATS_GET(u->st.malformed);
	out->errors = STATS_GET(u->st.errors);
	out->coalesced = STATS_GET(u->st.coalesced);
	out->capped = STATS_GET(u->st.capped);
	out->probes = STATS_GET(u->st.probes);
	out->marked_down = STATS_GET(u->health.marked_down);
	out->sockets = STATS_GET(u->pool.opened);
}

void upstream_last_failure(const struct upstream *u, struct upstream_failure *out)
{
	if (u)
		*out = u->fail;
	else
		memset(out, 0, sizeof *out);
}

size_t upstream_servers(const struct upstream *u, struct upstream_server_info *out, size_t max)
{
	if (!u)
		return 0;
	return up_health_info(&u->health, out, max);
}
