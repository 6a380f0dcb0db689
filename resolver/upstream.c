/*
 * upstream.c -- per-worker forwarding engine: pending slots, server health,
 * attempts, reply matching and coalescing.  Behaviour: docs/upstream.md.
 *
 * Life of a forwarded query: upstream_send() takes a slot from the free list
 * and copies the query, the client and the question into it.  When an
 * identical question is already in flight (the coalescing table), the slot
 * only joins that query's waiter list.  Otherwise it picks a server of the
 * group (slot_select: health and caps) and starts an attempt: one random ID,
 * one socket, one timer.  An attempt ends with an accepted reply (done() is
 * called for the slot and for every waiter), a failure (timeout, ICMP
 * refused, SERVFAIL/REFUSED, broken TCP) that moves on to the next server,
 * or TC, which repeats the same server over TCP.  When every server of the
 * group has been tried once, or the query budget (cfg query-timeout) is
 * spent, done() gets UPSTREAM_FAILED.
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
 *  - UDP sockets: socket + connect + two epoll_ctl + close per query was
 *    about 40% of the CPU time of a forwarded query.  So each server has a
 *    pool of connected sockets that stay registered with the event loop;
 *    a socket carries one query at a time, is closed after any failure and
 *    replaced after cfg upstream-socket-reuse queries or UP_SOCK_MAX_AGE_MS,
 *    whichever comes first.  The kernel gives each new socket a random
 *    ephemeral port, so an off-path attacker still has to guess a port of a
 *    short-lived set and a fresh random 16-bit ID per query (RFC 5452
 *    section 9.2), and a socket's port is never open long enough to be
 *    found by scanning.  A datagram on an idle socket closes it.
 *  - TCP replies are read into a buffer allocated once the 2-byte length is
 *    known.  TCP is the slow path (a handshake per attempt already); a
 *    64 KiB buffer per slot would multiply the pool's memory by 60.
 *  - UDP replies land in one per-instance scratch buffer: an instance is
 *    single threaded and done() is called before the next recv.
 *  - Server health is per worker and keyed by address, not by the config
 *    objects, because a reload builds a new config while queries of the
 *    old one are still in flight; entries nobody used for UP_STALE_MS are
 *    forgotten by the housekeeping timer.
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
#define UP_MAX_WAITERS 256      /* clients sharing one upstream query, besides its own */
#define UP_SOCK_MAX_AGE_MS 1000 /* a pooled UDP socket (one source port) lives at most this long */
#define UP_IDLE_MAX 256         /* idle UDP sockets kept per server */
#define UP_EXPLORE_MASK 31      /* 1 selection in 32 may go to any server that is up */
#define UP_BAND_US 2000         /* servers within best + best/4 + this share the load */
#define UP_HOUSEKEEP_MS 1000
#define UP_STALE_MS 600000      /* forget a server nobody asked for 10 minutes */
#define UP_TOKEN 1000000u       /* one query in the token bucket (micro-queries) */
#define UP_RAND_BATCH 64        /* random words fetched per getrandom(2) */
#define UP_MAX_SERVERS 256      /* server addresses tracked per instance */
#define UP_HTAB 512             /* slots of the address index (twice UP_MAX_SERVERS) */

/* Bits of the coalescing key beyond name, type, class and group. */
#define KF_RD 0x01u
#define KF_CD 0x02u
#define KF_DO 0x04u
#define KF_EDNS 0x08u
#define KF_TCP 0x10u

enum up_phase {
	PH_IDLE = 0,
	PH_UDP,          /* query sent, waiting for a datagram */
	PH_TCP_CONNECT,  /* non-blocking connect in progress */
	PH_TCP_WRITE,    /* writing length prefix + query */
	PH_TCP_READLEN,  /* reading the 2-byte reply length */
	PH_TCP_READBODY  /* reading the reply itself */
};

/* How an attempt ended, for the server's health. */
enum up_outcome {
	OUT_ANSWER,  /* a matching reply: an RTT sample */
	OUT_ALIVE,   /* a matching SERVFAIL/REFUSED: the server is there, but no sample */
	OUT_FAIL,    /* no reply in time, ICMP, broken TCP, wrong TCP reply */
	OUT_ABORT    /* not the server's doing (local error, query budget, shutdown) */
};

enum up_role {
	ROLE_SOLO = 0,   /* sends its own query, not in the coalescing table */
	ROLE_LEADER,     /* sends its own query and is in the table */
	ROLE_FOLLOWER    /* waits for a leader's reply */
};

struct up_slot;

/* One connected UDP socket of a server's pool. */
struct up_sock {
	struct upstream *u;
	struct up_sock *next, *prev; /* server's idle list (both), or the free list (next) */
	struct up_slot *owner;       /* the attempt using it; NULL while idle */
	struct event *ev;            /* persistent read event while the socket is open */
	int fd;                      /* -1 while on the free list */
	uint32_t server;             /* index in u->hs */
	uint32_t uses;
	uint64_t born_ms;
};

/* Health of one server address, as this worker sees it. */
struct up_server {
	struct sockaddr_storage ss;
	socklen_t len;             /* 0: unused entry */
	uint32_t srtt_us;          /* smoothed RTT, timeouts counted as upstream-timeout */
	uint32_t samples;          /* 0: never measured, selected first to get measured */
	uint32_t fails;            /* failures in a row */
	uint32_t outstanding;      /* attempts in flight */
	int down;
	int probing;               /* the one probe of a down server is in flight */
	uint64_t failed_ms;        /* down: last failure (0: probe at once); the next
	                            * probe is due upstream-probe-interval later, as
	                            * configured now (a reload applies at once) */
	uint64_t tokens;           /* QPS bucket, in micro-queries */
	uint64_t tb_us;            /* last refill */
	uint32_t tb_rate;          /* rate the bucket runs at; a change refills it */
	uint64_t last_ms;          /* last attempt started (for forgetting it) */
	struct up_sock *idle;      /* idle sockets, most recently used first */
	uint32_t nidle;
	uint64_t sent, answered, failed;
};

struct up_slot {
	struct upstream *u;        /* owning instance */
	struct up_slot *next_free; /* free list link (only while free) */
	int in_use;
	enum up_role role;
	struct up_slot *hnext;     /* coalescing bucket chain (leaders) */
	struct up_slot *waiters;   /* leader: its followers */
	struct up_slot *wnext;     /* follower: next in the leader's list */
	uint32_t nwaiters;
	uint32_t hash;
	uint8_t kflags;            /* KF_* */
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
	uint64_t tried;            /* bit per server index already tried */
	size_t server;             /* server index in the group of the current attempt */
	uint32_t hidx;             /* its health entry */
	int active;                /* an attempt is under way (counted in outstanding) */
	int probe;                 /* ... and it is the probe of a down server */
	int full_timer;            /* the attempt timer is a whole upstream-timeout */
	int client_tcp;            /* the client came over TCP: use TCP from the start */
	enum up_phase phase;
	uint64_t sent_us;          /* current attempt started */
	uint64_t deadline_ms;      /* start + query-timeout */
	struct up_sock *sock;      /* UDP attempt: its pooled socket */
	int fd;                    /* TCP attempt's socket, -1 when none */
	size_t io_off;             /* TCP: bytes done in the current phase */
	uint8_t lenbuf[2];         /* TCP: reply length prefix */
	uint8_t *tcp_reply;        /* TCP: owned reply buffer, NULL when none */
	size_t tcp_len;
	struct event *io;          /* TCP: re-assigned to each attempt's fd */
	struct event *timer;       /* per-attempt timer (capped by the deadline) */
	uint8_t qframe[2 + UP_QBUF];
};

/* Timestamps for rate-limited warnings, keyed by group index. */
struct up_warn {
	size_t group;
	uint64_t empty_ms;  /* last "no server in upstream group" */
	uint64_t fail_ms;   /* last "every server failed" */
	uint64_t cap_ms;    /* last "every server at its cap" */
};

struct upstream {
	struct event_base *base;   /* borrowed; owned by the worker */
	upstream_done_fn done;
	void *ctx;
	struct up_slot *slots;     /* owned array of nslots */
	size_t nslots;
	struct up_slot *free_list;
	size_t npending;
	struct up_sock *socks;     /* owned array of nslots: one per possible UDP attempt */
	struct up_sock *sock_free;
	struct up_server *hs;      /* owned array of UP_MAX_SERVERS, never moved */
	size_t nhs;                /* entries ever used (unused ones have len 0) */
	int16_t htab[UP_HTAB];     /* address -> index in hs, open addressing, -1 empty */
	struct up_slot **buckets;  /* coalescing table of leaders, bmask + 1 chains */
	uint32_t bmask;
	uint32_t seed;             /* keeps the table's hash unpredictable */
	struct event *housekeep;
	uint32_t rnd[UP_RAND_BATCH];
	unsigned rnd_left;
	uint64_t sys_warn_ms;      /* last socket/pool warning */
	struct up_warn warn[UP_WARN_SLOTS];
	struct upstream_stats st;
	uint8_t rbuf[WIRE_MAX_MSG];/* UDP reply scratch */
};

static void up_io_cb(evutil_socket_t fd, short what, void *arg);
static void up_sock_cb(evutil_socket_t fd, short what, void *arg);
static void up_timer_cb(evutil_socket_t fd, short what, void *arg);
static int slot_advance(struct up_slot *s, int *capped);
static void idle_unlink(struct upstream *u, struct up_sock *k);
static void sock_close(struct upstream *u, struct up_sock *k);

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

/* A process-wide cap shared by the workers: each gets its part, at least 1
 * (0 stays "no cap"). */
static uint32_t per_worker(int cap, int workers)
{
	uint32_t v;
	if (cap <= 0)
		return 0;
	v = (uint32_t)cap / (uint32_t)(workers > 0 ? workers : 1);
	return v ? v : 1;
}

/* 1 when a warning of this kind for this group may be logged now; keeps the
 * log readable when every query hits the same misconfiguration. */
static int up_warn_due(struct upstream *u, size_t group, int kind)
{
	struct up_warn *w = &u->warn[group % UP_WARN_SLOTS];
	uint64_t now = fwd_now_ms();
	uint64_t *last;

	if (w->group != group) {
		w->group = group;
		w->empty_ms = 0;
		w->fail_ms = 0;
		w->cap_ms = 0;
	}
	last = kind == 0 ? &w->empty_ms : kind == 1 ? &w->fail_ms : &w->cap_ms;
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

/* ------------------------------------------------------------ server health */

static uint32_t addr_hash(const struct upstream *u, const struct sockaddr_storage *ss, socklen_t len)
{
	const uint8_t *p = (const uint8_t *)ss;
	uint32_t h = u->seed ^ 2166136261u;
	socklen_t i;

	for (i = 0; i < len; i++)
		h = (h ^ p[i]) * 16777619u;
	return h ^ (h >> 13);
}

static void htab_insert(struct upstream *u, size_t idx)
{
	uint32_t i = addr_hash(u, &u->hs[idx].ss, u->hs[idx].len) & (UP_HTAB - 1);

	while (u->htab[i] >= 0)
		i = (i + 1) & (UP_HTAB - 1);
	u->htab[i] = (int16_t)idx;
}

/* After entries were dropped: open addressing has no cheap delete, and
 * this happens at most once a second. */
static void htab_rebuild(struct upstream *u)
{
	size_t i;

	for (i = 0; i < UP_HTAB; i++)
		u->htab[i] = -1;
	for (i = 0; i < u->nhs; i++)
		if (u->hs[i].len)
			htab_insert(u, i);
}

/*
 * The health entry of address a, created on first sight.  The table has a
 * fixed size and is never moved, so that upstream_servers() may read it from
 * another thread; when it is full, the entry unused for the longest time
 * that has nothing in flight is recycled.  -1 when every entry is busy
 * (UP_MAX_SERVERS servers with queries in flight at once).
 */
static long up_server_find(struct upstream *u, const struct cfg_addr *a)
{
	size_t i, fr = SIZE_MAX;
	struct up_server *h;
	int evicted = 0;
	uint32_t j = addr_hash(u, &a->ss, a->len) & (UP_HTAB - 1);

	for (; u->htab[j] >= 0; j = (j + 1) & (UP_HTAB - 1)) {
		h = &u->hs[u->htab[j]];
		if (h->len == a->len && memcmp(&h->ss, &a->ss, a->len) == 0)
			return u->htab[j];
	}
	for (i = 0; i < u->nhs && fr == SIZE_MAX; i++)
		if (u->hs[i].len == 0)
			fr = i;
	if (fr == SIZE_MAX && u->nhs < UP_MAX_SERVERS)
		fr = u->nhs++;
	if (fr == SIZE_MAX) {
		uint64_t oldest = UINT64_MAX;
		for (i = 0; i < u->nhs; i++) {
			h = &u->hs[i];
			if (h->outstanding == 0 && h->last_ms < oldest) {
				oldest = h->last_ms;
				fr = i;
			}
		}
		if (fr == SIZE_MAX) {
			if (up_sys_warn_due(u))
				log_warn("upstream: more than %d servers busy at once", UP_MAX_SERVERS);
			return -1;
		}
		h = &u->hs[fr];
		while (h->idle) {
			struct up_sock *k = h->idle;
			idle_unlink(u, k);
			sock_close(u, k);
		}
		evicted = 1;
	}
	h = &u->hs[fr];
	memset(h, 0, sizeof *h);
	memcpy(&h->ss, &a->ss, a->len);
	h->len = a->len;
	h->last_ms = fwd_now_ms();
	if (evicted)
		htab_rebuild(u);
	else
		htab_insert(u, fr);
	return (long)fr;
}

static void bucket_refill(struct up_server *h, uint32_t rate, uint64_t now_us)
{
	/* a tenth of a second of burst: at most rate * 1.1 queries fall in
	 * any one-second window */
	uint64_t burst = (uint64_t)(rate / 10 ? rate / 10 : 1) * UP_TOKEN;
	uint64_t el;

	if (h->tb_rate != rate) {
		h->tb_rate = rate;
		h->tokens = burst;
		h->tb_us = now_us;
		return;
	}
	el = now_us > h->tb_us ? now_us - h->tb_us : 0;
	if (el > 1000000)
		el = 1000000;
	h->tb_us = now_us;
	h->tokens += el * rate;
	if (h->tokens > burst)
		h->tokens = burst;
}

static int server_capped(struct up_server *h, uint32_t max_out, uint32_t rate, uint64_t now_us)
{
	if (max_out && h->outstanding >= max_out)
		return 1;
	if (rate) {
		bucket_refill(h, rate, now_us);
		if (h->tokens < UP_TOKEN)
			return 1;
	}
	return 0;
}

/* One RTT sample into the smoothed RTT (RFC 6298's 1/8 gain). */
static void srtt_add(struct up_server *h, uint32_t sample_us)
{
	if (h->samples == 0) {
		h->srtt_us = sample_us;
	} else {
		int64_t d = (int64_t)sample_us - (int64_t)h->srtt_us;
		h->srtt_us = (uint32_t)((int64_t)h->srtt_us + d / 8);
	}
	h->samples++;
}

static uint32_t timeout_sample(const struct cfg *cfg)
{
	return (uint32_t)(cfg->upstream_timeout_ms > 0 ? cfg->upstream_timeout_ms : 1) * 1000u;
}

static void health_back(struct up_server *h)
{
	char sb[80];

	h->down = 0;
	log_info("upstream %s answers again: back in service (srtt %u us)", up_addr_text(&h->ss, sb, sizeof sb),
		 h->srtt_us);
}

static void health_answer(struct up_server *h, uint32_t rtt_us)
{
	h->answered++;
	h->fails = 0;
	if (h->down)
		h->samples = 0; /* what it did before it went down says nothing now */
	srtt_add(h, rtt_us);
	if (h->down)
		health_back(h);
}

/*
 * A SERVFAIL or REFUSED: the server is reachable, so it is not failing (a
 * name that fails upstream must not take a server down), but a server that
 * answers everything that way must not stay first because it is quick: it
 * counts in the smoothed RTT like a timeout.
 */
static void health_alive(struct up_server *h, const struct cfg *cfg)
{
	h->answered++;
	h->fails = 0;
	srtt_add(h, timeout_sample(cfg));
	if (h->down)
		health_back(h);
}

static void health_fail(struct upstream *u, struct up_server *h, const struct cfg *cfg)
{
	uint32_t limit = (uint32_t)(cfg->upstream_down_after > 0 ? cfg->upstream_down_after : 1);
	uint64_t interval = (uint64_t)(cfg->upstream_probe_interval_ms > 0 ? cfg->upstream_probe_interval_ms : 1000);

	h->failed++;
	h->fails++;
	/* A lost packet counts as one slow answer: one loss does not push a
	 * fast server behind a slow one, several in a row do. */
	srtt_add(h, timeout_sample(cfg));
	h->failed_ms = fwd_now_ms();
	if (!h->down && h->fails >= limit) {
		char sb[80];
		h->down = 1;
		u->st.marked_down++;
		log_warn("upstream %s failed %u times in a row: marked down, probed every %llu ms",
			 up_addr_text(&h->ss, sb, sizeof sb), h->fails, (unsigned long long)interval);
	}
}

/* ------------------------------------------------------------ UDP socket pool */

static void idle_unlink(struct upstream *u, struct up_sock *k)
{
	struct up_server *h = &u->hs[k->server];

	if (k->prev)
		k->prev->next = k->next;
	else
		h->idle = k->next;
	if (k->next)
		k->next->prev = k->prev;
	k->next = k->prev = NULL;
	h->nidle--;
}

/* Close k (not on any list) and put the object on the free list. */
static void sock_close(struct upstream *u, struct up_sock *k)
{
	event_del(k->ev);
	close(k->fd);
	k->fd = -1;
	k->owner = NULL;
	k->prev = NULL;
	k->next = u->sock_free;
	u->sock_free = k;
}

/* A free socket object: from the free list, else by closing an idle socket
 * of any server (there are as many objects as slots, so one of the two
 * always exists while a slot asks). */
static struct up_sock *sock_obj(struct upstream *u)
{
	struct up_sock *k = u->sock_free;
	size_t i;

	if (!k) {
		for (i = 0; i < u->nhs && !k; i++) {
			if (u->hs[i].idle) {
				struct up_sock *v = u->hs[i].idle;
				idle_unlink(u, v);
				sock_close(u, v);
				k = u->sock_free;
			}
		}
		if (!k)
			return NULL;
	}
	u->sock_free = k->next;
	k->next = NULL;
	return k;
}

/*
 * A connected UDP socket to server hidx for one query: a young idle one of
 * that server, else a new one.  NULL with *server_fault = 1 when the server
 * cannot be reached at all (connect failed: no route, bad address), with 0
 * for a local problem (out of descriptors).
 */
static struct up_sock *sock_get(struct up_slot *s, uint32_t hidx, const struct cfg_addr *a,
				int *server_fault)
{
	struct upstream *u = s->u;
	struct up_server *h = &u->hs[hidx];
	uint32_t reuse = (uint32_t)(s->snap->cfg->upstream_socket_reuse > 0 ? s->snap->cfg->upstream_socket_reuse : 1);
	uint64_t now = fwd_now_ms();
	struct up_sock *k;
	int fd;

	*server_fault = 0;
	while ((k = h->idle) != NULL) {
		idle_unlink(u, k);
		if (k->uses < reuse && now - k->born_ms < UP_SOCK_MAX_AGE_MS)
			return k;
		sock_close(u, k);
	}
	k = sock_obj(u);
	if (!k)
		return NULL;
	fd = socket(a->ss.ss_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		if (up_sys_warn_due(u))
			log_warn("upstream: socket: %s", strerror(errno));
		goto put_back;
	}
	/* connect() makes the kernel pick a random ephemeral port, drop
	 * datagrams from any other address:port and report ICMP port
	 * unreachable as ECONNREFUSED. */
	if (connect(fd, (const struct sockaddr *)&a->ss, a->len) < 0) {
		char sb[80];
		log_debug("upstream %s: connect: %s", up_addr_text(&a->ss, sb, sizeof sb), strerror(errno));
		close(fd);
		*server_fault = 1;
		goto put_back;
	}
	if (event_assign(k->ev, u->base, fd, EV_READ | EV_PERSIST, up_sock_cb, k) < 0 ||
	    event_add(k->ev, NULL) < 0) {
		if (up_sys_warn_due(u))
			log_warn("upstream: cannot add event");
		close(fd);
		goto put_back;
	}
	k->fd = fd;
	k->server = hidx;
	k->uses = 0;
	k->born_ms = now;
	u->st.sockets++;
	return k;
put_back:
	k->next = u->sock_free;
	u->sock_free = k;
	return NULL;
}

/* The attempt on k is over: keep the socket for another query when it
 * ended cleanly and is still young, else close it. */
static void sock_put(struct up_slot *s, struct up_sock *k, int clean)
{
	struct upstream *u = s->u;
	struct up_server *h = &u->hs[k->server];
	uint32_t reuse = (uint32_t)(s->snap->cfg->upstream_socket_reuse > 0 ? s->snap->cfg->upstream_socket_reuse : 1);

	k->owner = NULL;
	if (clean && k->uses < reuse && fwd_now_ms() - k->born_ms < UP_SOCK_MAX_AGE_MS &&
	    h->nidle < UP_IDLE_MAX) {
		k->prev = NULL;
		k->next = h->idle;
		if (h->idle)
			h->idle->prev = k;
		h->idle = k;
		h->nidle++;
		return;
	}
	sock_close(u, k);
}

/* A datagram or an error on a socket nobody waits on: a late duplicate, an
 * ICMP error or a forgery.  The socket is not trusted any more. */
static void sock_idle_event(struct upstream *u, struct up_sock *k)
{
	if (k->fd < 0)
		return;
	idle_unlink(u, k);
	sock_close(u, k);
}

/* ------------------------------------------------------------ coalescing table */

static uint32_t key_hash(const struct upstream *u, const struct cfg *cfg, size_t group,
			 const uint8_t *qname, size_t qname_len, uint16_t qtype, uint16_t qclass,
			 uint8_t kflags)
{
	uint32_t h = u->seed ^ 2166136261u;
	uintptr_t c = (uintptr_t)cfg;
	size_t i;

	for (i = 0; i < qname_len; i++)
		h = (h ^ qname[i]) * 16777619u;
	h = (h ^ qtype) * 16777619u;
	h = (h ^ qclass) * 16777619u;
	h = (h ^ kflags) * 16777619u;
	h = (h ^ (uint32_t)group) * 16777619u;
	h = (h ^ (uint32_t)(c >> 4)) * 16777619u;
	h ^= h >> 15;
	return h;
}

static struct up_slot *table_find(struct upstream *u, uint32_t hash, const struct cfg *cfg, size_t group,
				  const struct wire_query *q, uint8_t kflags)
{
	struct up_slot *p;

	for (p = u->buckets[hash & u->bmask]; p; p = p->hnext) {
		if (p->hash == hash && p->snap->cfg == cfg && p->group == group && p->kflags == kflags &&
		    p->qtype == q->qtype && p->qclass == q->qclass && p->qname_len == q->qname_len &&
		    memcmp(p->qname, q->qname, q->qname_len) == 0)
			return p;
	}
	return NULL;
}

static void table_insert(struct upstream *u, struct up_slot *s)
{
	struct up_slot **b = &u->buckets[s->hash & u->bmask];
	s->hnext = *b;
	*b = s;
	s->role = ROLE_LEADER;
}

static void table_remove(struct upstream *u, struct up_slot *s)
{
	struct up_slot **pp;

	if (s->role != ROLE_LEADER)
		return;
	for (pp = &u->buckets[s->hash & u->bmask]; *pp; pp = &(*pp)->hnext) {
		if (*pp == s) {
			*pp = s->hnext;
			break;
		}
	}
	s->hnext = NULL;
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
	struct up_server *h;

	evtimer_del(s->timer);
	if (s->sock) {
		sock_put(s, s->sock, out == OUT_ANSWER || out == OUT_ALIVE);
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
	h = &u->hs[s->hidx];
	h->outstanding--;
	switch (out) {
	case OUT_ANSWER: {
		uint64_t now = fwd_now_us();
		uint64_t rtt = now > s->sent_us ? now - s->sent_us : 0;
		health_answer(h, rtt > UINT32_MAX ? UINT32_MAX : (uint32_t)rtt);
		break;
	}
	case OUT_ALIVE:
		health_alive(h, s->snap->cfg);
		break;
	case OUT_FAIL:
		health_fail(u, h, s->snap->cfg);
		break;
	case OUT_ABORT:
		break;
	}
	if (s->probe) {
		s->probe = 0;
		h->probing = 0;
		if (h->down && out == OUT_ABORT)
			h->failed_ms = 0; /* it was not tested: the next query may */
	}
}

static void slot_release(struct up_slot *s)
{
	struct upstream *u = s->u;

	slot_end_attempt(s, OUT_ABORT);
	free(s->tcp_reply);
	s->tcp_reply = NULL;
	s->tcp_len = 0;
	free(s->long_q);
	s->long_q = NULL;
	s->q = NULL;
	if (s->snap) {
		snapshot_unref(s->snap);
		s->snap = NULL;
	}
	s->role = ROLE_SOLO;
	s->waiters = NULL;
	s->wnext = NULL;
	s->hnext = NULL;
	s->nwaiters = 0;
	s->in_use = 0;
	s->next_free = u->free_list;
	u->free_list = s;
	u->npending--;
}

/* Hand one client its result: its ID in reply and query, and in the reply
 * the question name as that client wrote it. */
static void slot_deliver(struct up_slot *w, enum upstream_status st, uint8_t *reply, size_t len,
			 const uint8_t *echo, const uint8_t *sent_name)
{
	struct upstream *u = w->u;

	wire_put16(w->q, w->cl.id);
	if (reply) {
		wire_put16(reply, w->cl.id);
		if (echo) {
			/* the client whose query went upstream, or one that wrote
			 * the name the same way, gets the server's echo as is */
			const uint8_t *mine = w->q + WIRE_HDR_LEN;
			memcpy(reply + WIRE_HDR_LEN,
			       memcmp(mine, sent_name, w->qname_len) == 0 ? echo : mine, w->qname_len);
		}
	}
	u->done(u->ctx, &w->cl, st, reply, len, w->q, w->qlen);
}

/*
 * Hand the result to the slot's client and to every waiter, then give the
 * slots back.  The slot leaves the coalescing table first, so a done() that
 * forwards the same question again starts a new query; it is released only
 * after every done() returned, so done() may forward another query (a new
 * slot) while cl, reply and query still point into this one.
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
	uint64_t now = fwd_now_ms();
	uint64_t full = cfg->upstream_timeout_ms > 0 ? (uint64_t)cfg->upstream_timeout_ms : 1;
	uint64_t ms = full;
	struct timeval tv;

	if (s->deadline_ms <= now)
		ms = 1;
	else if (s->deadline_ms - now < ms)
		ms = s->deadline_ms - now;
	s->full_timer = ms == full;
	tv.tv_sec = (time_t)(ms / 1000);
	tv.tv_usec = (suseconds_t)((ms % 1000) * 1000);
	return evtimer_add(s->timer, &tv);
}

/*
 * Choose the next server for s among those not tried yet:
 *  1. a down server whose probe is due (one query probes it);
 *  2. else a server that is up: one never measured first (at random among
 *     those), else the lowest smoothed RTT, picked at random among those
 *     within a band of the best (load spreads over equally good servers),
 *     and 1 time in 32 any server that is up, so that a slower one stays
 *     measured;
 *  3. else (every candidate down) the one whose last failure is the oldest:
 *     a query is never failed without being tried.
 * Servers at their qps or outstanding cap are skipped.  Returns the server
 * index, -1 when none is left, -2 when the ones left are all capped.
 */
static long slot_select(struct up_slot *s, uint64_t now_us, uint32_t *hidx, int *probe)
{
	struct upstream *u = s->u;
	const struct cfg_upstream *grp = slot_group(s);
	const struct cfg *cfg = s->snap->cfg;
	size_t n = grp->nservers < 64 ? grp->nservers : 64;
	uint32_t max_out = per_worker(cfg->upstream_max_outstanding, cfg->workers);
	uint32_t rate = per_worker(cfg->upstream_max_qps, cfg->workers);
	uint64_t now_ms = now_us / 1000;
	uint64_t interval = (uint64_t)(cfg->upstream_probe_interval_ms > 0 ? cfg->upstream_probe_interval_ms : 1000);
	long hid[64];
	uint8_t cand[64];
	size_t i, ncand = 0, nband = 0;
	long down_pick = -1, pick;
	uint64_t down_since = UINT64_MAX;
	uint32_t best = UINT32_MAX, limit, r;
	int capped = 0, fresh = 0;

	*probe = 0;
	for (i = 0; i < n; i++) {
		hid[i] = -1;
		if (!(s->tried & ((uint64_t)1 << i)))
			hid[i] = up_server_find(u, &grp->servers[i]);
	}
	for (i = 0; i < n; i++) {
		struct up_server *h;
		uint32_t score;

		if (hid[i] < 0)
			continue;
		h = &u->hs[hid[i]];
		if (server_capped(h, max_out, rate, now_us)) {
			capped = 1;
			continue;
		}
		if (h->down) {
			if (!h->probing && (h->failed_ms == 0 || now_ms >= h->failed_ms + interval)) {
				*probe = 1;
				*hidx = (uint32_t)hid[i];
				return (long)i;
			}
			if (h->failed_ms < down_since) {
				down_since = h->failed_ms;
				down_pick = (long)i;
			}
			continue;
		}
		if (h->samples == 0) {
			/* never measured: it goes first, among the others never
			 * measured, so that its RTT gets known */
			if (!fresh)
				ncand = 0;
			fresh = 1;
			cand[ncand++] = (uint8_t)i;
			continue;
		}
		if (fresh)
			continue;
		score = h->srtt_us;
		cand[ncand++] = (uint8_t)i;
		if (score < best)
			best = score;
	}
	if (ncand == 0) {
		if (down_pick < 0)
			return capped ? -2 : -1;
		*hidx = (uint32_t)hid[down_pick];
		return down_pick;
	}
	r = up_rand(u);
	if (fresh) {
		pick = cand[(r >> 8) % ncand];
	} else if (ncand > 1 && (r & UP_EXPLORE_MASK) == 0) {
		pick = cand[(r >> 8) % ncand];
	} else {
		limit = best + best / 4 + UP_BAND_US;
		if (limit < best)
			limit = UINT32_MAX;
		for (i = 0; i < ncand; i++) {
			if (u->hs[hid[cand[i]]].srtt_us <= limit)
				cand[nband++] = cand[i];
		}
		pick = cand[(r >> 8) % nband];
	}
	*hidx = (uint32_t)hid[pick];
	return pick;
}

/*
 * Start an attempt on server index `server` (health entry hidx).  Every
 * attempt gets a new random ID: an answer to an earlier attempt can never be
 * mistaken for this one.  Returns 0 when the attempt is under way, -1 when it
 * failed at once (health updated).
 */
static int slot_start_attempt(struct up_slot *s, size_t server, uint32_t hidx, int tcp, int probe)
{
	struct upstream *u = s->u;
	const struct cfg *cfg = s->snap->cfg;
	const struct cfg_addr *a = &slot_group(s)->servers[server];
	struct up_server *h = &u->hs[hidx];
	enum up_outcome out = OUT_ABORT;
	char sb[80];

	free(s->tcp_reply);
	s->tcp_reply = NULL;
	s->tcp_len = 0;
	s->server = server;
	s->hidx = hidx;
	s->active = 1;
	s->probe = probe;
	s->sent_us = fwd_now_us();
	h->outstanding++;
	h->sent++;
	h->last_ms = s->sent_us / 1000;
	if (probe) {
		h->probing = 1;
		u->st.probes++;
	}
	if (per_worker(cfg->upstream_max_qps, cfg->workers) && h->tokens >= UP_TOKEN)
		h->tokens -= UP_TOKEN;
	u->st.sent++;
	s->cur_id = (uint16_t)up_rand(u);
	wire_put16(s->q, s->cur_id);
	s->io_off = 0;

	if (tcp) {
		int fd;
		u->st.sent_tcp++;
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
			struct up_sock *k = sock_get(s, hidx, a, &fault);
			int reused;
			if (!k) {
				out = fault ? OUT_FAIL : OUT_ABORT;
				goto fail;
			}
			reused = k->uses > 0;
			k->owner = s;
			k->uses++;
			s->sock = k;
			if (send(k->fd, s->q, s->qlen, 0) == (ssize_t)s->qlen)
				break;
			log_debug("upstream %s: send: %s", slot_server_text(s, sb, sizeof sb), strerror(errno));
			/* an error left over on a reused socket (a late ICMP)
			 * says nothing about now: one more try on a new one */
			k->owner = NULL;
			sock_close(u, k);
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
	return 0;
fail:
	if (out == OUT_FAIL)
		u->st.errors++;
	slot_end_attempt(s, out);
	return -1;
}

/* Start the next server; -1 when none is left or time is up (*capped set
 * when the servers left were all at a cap). */
static int slot_advance(struct up_slot *s, int *capped)
{
	for (;;) {
		uint64_t now = fwd_now_us();
		uint32_t hidx = 0;
		int probe;
		long i;

		if (now / 1000 >= s->deadline_ms)
			return -1;
		i = slot_select(s, now, &hidx, &probe);
		if (i < 0) {
			if (i == -2 && capped)
				*capped = 1;
			return -1;
		}
		s->tried |= (uint64_t)1 << i;
		if (slot_start_attempt(s, (size_t)i, hidx, s->client_tcp, probe) == 0)
			return 0;
	}
}

/* The current attempt failed: next server, or report the failure. */
static void slot_fail_attempt(struct up_slot *s, enum up_outcome out)
{
	int capped = 0;

	slot_end_attempt(s, out);
	if (slot_advance(s, &capped) < 0) {
		if (capped)
			s->u->st.capped++;
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
 * A matching reply arrived.  SERVFAIL and REFUSED mean this server cannot
 * help (lame, broken, or not allowing us): try the next one.  TC over UDP
 * means the answer did not fit: ask the same server over TCP, if its caps
 * allow, else the next server.
 */
static void slot_reply(struct up_slot *s, uint8_t *p, size_t len, int over_tcp)
{
	struct upstream *u = s->u;
	uint16_t flags = wire_get16(p + 2);
	int rcode = (int)WIRE_RCODE(flags);
	char sb[80];

	u->st.answered++;
	if (rcode == RCODE_SERVFAIL || rcode == RCODE_REFUSED) {
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
		if (fwd_now_ms() < s->deadline_ms &&
		    !server_capped(&u->hs[hidx], per_worker(cfg->upstream_max_outstanding, cfg->workers),
				   per_worker(cfg->upstream_max_qps, cfg->workers), fwd_now_us()) &&
		    slot_start_attempt(s, server, hidx, 1, 0) == 0)
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
			u->st.errors++;
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
			if (slot_rearm_io(s, EV_READ) < 0) {
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
	if (out == OUT_FAIL)
		s->u->st.errors++;
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

static void up_sock_cb(evutil_socket_t fd, short what, void *arg)
{
	struct up_sock *k = arg;

	(void)fd;
	(void)what;
	if (k->owner && k->owner->phase == PH_UDP)
		slot_udp_read(k->owner);
	else if (!k->owner)
		sock_idle_event(k->u, k);
}

static void up_timer_cb(evutil_socket_t fd, short what, void *arg)
{
	struct up_slot *s = arg;
	char sb[80];

	(void)fd;
	(void)what;
	log_debug("upstream %s: no reply in time", slot_server_text(s, sb, sizeof sb));
	s->u->st.timeouts++;
	/* an attempt cut short by the query budget did not get a fair chance:
	 * the server's health does not pay for it */
	slot_fail_attempt(s, s->full_timer ? OUT_FAIL : OUT_ABORT);
}

/* Close sockets past their age and forget servers nobody asked for a long
 * time (their addresses left the configuration, or the health is stale). */
static void up_housekeep_cb(evutil_socket_t fd, short what, void *arg)
{
	struct upstream *u = arg;
	uint64_t now = fwd_now_ms();
	size_t i;
	int dropped = 0;

	(void)fd;
	(void)what;
	for (i = 0; i < u->nhs; i++) {
		struct up_server *h = &u->hs[i];
		struct up_sock *k, *next;

		if (h->len == 0)
			continue;
		for (k = h->idle; k; k = next) {
			next = k->next;
			if (now - k->born_ms >= UP_SOCK_MAX_AGE_MS) {
				idle_unlink(u, k);
				sock_close(u, k);
			}
		}
		if (h->outstanding == 0 && h->nidle == 0 && now - h->last_ms > UP_STALE_MS) {
			h->len = 0;
			dropped = 1;
		}
	}
	if (dropped)
		htab_rebuild(u);
}

/* ------------------------------------------------------------ public API */

struct upstream *upstream_new(struct event_base *base, size_t max_pending, upstream_done_fn done,
			      void *ctx)
{
	struct upstream *u;
	struct timeval tv = { UP_HOUSEKEEP_MS / 1000, (UP_HOUSEKEEP_MS % 1000) * 1000 };
	size_t i, nb = 16;

	if (!base || !done || max_pending == 0)
		return NULL;
	u = calloc(1, sizeof *u);
	if (!u)
		return NULL;
	u->base = base;
	u->done = done;
	u->ctx = ctx;
	u->seed = fwd_random_u32();
	for (i = 0; i < UP_HTAB; i++)
		u->htab[i] = -1;
	while (nb < max_pending * 2 && nb < ((size_t)1 << 30))
		nb <<= 1;
	u->buckets = calloc(nb, sizeof *u->buckets);
	u->bmask = (uint32_t)(nb - 1);
	u->slots = calloc(max_pending, sizeof *u->slots);
	u->socks = calloc(max_pending, sizeof *u->socks);
	u->hs = calloc(UP_MAX_SERVERS, sizeof *u->hs);
	u->housekeep = event_new(base, -1, EV_PERSIST, up_housekeep_cb, u);
	if (!u->buckets || !u->slots || !u->socks || !u->hs || !u->housekeep ||
	    event_add(u->housekeep, &tv) < 0)
		goto fail;
	/* Events are created once here and re-pointed at sockets with
	 * event_assign(), so an attempt allocates nothing. */
	for (i = 0; i < max_pending; i++) {
		struct up_slot *s = &u->slots[i];
		struct up_sock *k = &u->socks[i];
		s->u = u;
		s->fd = -1;
		s->io = event_new(base, -1, 0, up_io_cb, s);
		s->timer = evtimer_new(base, up_timer_cb, s);
		k->u = u;
		k->fd = -1;
		k->ev = event_new(base, -1, 0, up_sock_cb, k);
		u->nslots = i + 1;
		if (!s->io || !s->timer || !k->ev)
			goto fail;
	}
	for (i = max_pending; i-- > 0;) {
		u->slots[i].next_free = u->free_list;
		u->free_list = &u->slots[i];
		u->socks[i].next = u->sock_free;
		u->sock_free = &u->socks[i];
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
			free(s->long_q);
			if (s->snap)
				snapshot_unref(s->snap);
		}
		if (s->io)
			event_free(s->io);
		if (s->timer)
			event_free(s->timer);
	}
	if (u->socks) {
		for (i = 0; i < u->nslots; i++) {
			struct up_sock *k = &u->socks[i];
			if (k->fd >= 0) {
				event_del(k->ev);
				close(k->fd);
			}
			if (k->ev)
				event_free(k->ev);
		}
	}
	if (u->housekeep)
		event_free(u->housekeep);
	free(u->socks);
	free(u->slots);
	free(u->buckets);
	free(u->hs);
	free(u);
}

int upstream_send(struct upstream *u, struct snapshot *snap, size_t group, const uint8_t *query,
		  size_t qlen, const struct wire_query *q, const struct client *cl, int tcp)
{
	const struct cfg *cfg;
	const struct cfg_upstream *grp;
	struct up_slot *s, *leader;
	uint8_t kflags;
	uint32_t hash;
	int capped = 0;

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
	if (qlen < WIRE_HDR_LEN || qlen > WIRE_MAX_MSG || q->qdcount != 1 || q->qname_len == 0 ||
	    WIRE_HDR_LEN + (size_t)q->qname_len > qlen)
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

	kflags = (uint8_t)(((q->flags & WIRE_RD) ? KF_RD : 0) | ((q->flags & WIRE_CD) ? KF_CD : 0) |
			   (q->do_bit ? KF_DO : 0) | (q->has_edns ? KF_EDNS : 0) | (tcp ? KF_TCP : 0));
	hash = key_hash(u, cfg, group, q->qname, q->qname_len, q->qtype, q->qclass, kflags);
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
	s->kflags = kflags;
	s->hash = hash;
	s->role = ROLE_SOLO;
	s->waiters = NULL;
	s->nwaiters = 0;

	leader = table_find(u, hash, cfg, group, q, kflags);
	if (leader && leader->nwaiters < UP_MAX_WAITERS) {
		/* the same question is on its way: wait for that reply */
		s->role = ROLE_FOLLOWER;
		s->wnext = leader->waiters;
		leader->waiters = s;
		leader->nwaiters++;
		u->st.coalesced++;
		return 0;
	}
	s->tried = 0;
	s->deadline_ms = fwd_now_ms() +
			 (uint64_t)(cfg->query_timeout_ms > 0 ? cfg->query_timeout_ms : 1);
	if (slot_advance(s, &capped) < 0) {
		slot_release(s);
		if (capped) {
			u->st.capped++;
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
	return u ? u->npending : 0;
}

void upstream_get_stats(const struct upstream *u, struct upstream_stats *out)
{
	if (!out)
		return;
	if (!u) {
		memset(out, 0, sizeof *out);
		return;
	}
	*out = u->st;
}

size_t upstream_servers(const struct upstream *u, struct upstream_server_info *out, size_t max)
{
	size_t i, n = 0;

	if (!u)
		return 0;
	for (i = 0; i < u->nhs; i++) {
		const struct up_server *h = &u->hs[i];
		if (h->len == 0)
			continue;
		if (out && n < max) {
			struct upstream_server_info *o = &out[n];
			memset(o, 0, sizeof *o);
			memcpy(&o->addr, &h->ss, h->len);
			o->addrlen = h->len;
			o->srtt_us = h->samples ? h->srtt_us : 0;
			o->outstanding = h->outstanding;
			o->fails = h->fails;
			o->down = h->down;
			o->sent = h->sent;
			o->answered = h->answered;
			o->failed = h->failed;
		}
		n++;
	}
	return n;
}
