/*
 * upstream_sock.h -- the pooled UDP sockets of one forwarding instance
 * (upstream.c): connected sockets kept per upstream server and reused for
 * several queries.
 *
 * Why a pool: socket + connect + two epoll_ctl + close per query was about
 * 40% of the CPU time of a forwarded query.  So each server has a pool of
 * connected sockets that stay registered with the event loop; a socket
 * carries one query at a time, is closed after any failure and replaced
 * after cfg upstream-socket-reuse queries or UP_SOCK_MAX_AGE_MS, whichever
 * comes first.  The kernel gives each new socket a random ephemeral port,
 * so an off-path attacker still has to guess a port of a short-lived set and
 * a fresh random 16-bit ID per query (RFC 5452 section 9.2), and a socket's
 * port is never open long enough to be found by scanning.  A datagram on an
 * idle socket closes it: nobody asked, so it is a late duplicate, an ICMP
 * error or a forgery, and the socket is not trusted any more.
 *
 * Servers are named by an index the caller chooses (upstream.c uses the
 * index of the server's health entry, upstream_health.h); the pool keeps an
 * idle list per index and nothing else about servers.
 *
 * Ownership: struct up_sockpool is embedded in its owner, which calls
 * up_sockpool_init() once and up_sockpool_fini() once (also after a failed
 * init, or on a zeroed struct).  The pool owns every socket object, its
 * descriptor and its event; there are as many objects as the owner has
 * attempts at most, so up_sock_get() never allocates.  A socket returned by
 * up_sock_get() is the caller's until it hands it back with up_sock_put() or
 * up_sock_discard(); meanwhile the caller may send() and recv() on k->fd and
 * read k->uses, and must not change any field.  Single threaded: the owner's
 * event loop.
 */
#ifndef PLINKFWD_UPSTREAM_SOCK_H
#define PLINKFWD_UPSTREAM_SOCK_H

#include <stddef.h>
#include <stdint.h>

#include "common.h"

struct event;
struct event_base;
struct cfg_addr;
struct fwd_clock;

#define UP_SOCK_MAX_AGE_MS 1000 /* a pooled UDP socket (one source port) lives at most this long */
#define UP_IDLE_MAX 256         /* idle UDP sockets kept per server */

/*
 * Called from the event loop when a socket in use is readable (a datagram
 * or a pending error such as ICMP port unreachable).  owner is what
 * up_sock_get() was given.  The callback reads the socket itself.
 */
typedef void (*up_sock_readable_fn)(void *owner);

struct up_sockpool;

/* One connected UDP socket. */
struct up_sock {
	struct up_sockpool *pool;
	struct up_sock *next, *prev; /* server's idle list (both), or the free list (next) */
	void *owner;                 /* the attempt using it; NULL while idle */
	struct event *ev;            /* persistent read event while the socket is open */
	int fd;                      /* -1 while on the free list */
	uint32_t server;             /* the caller's server index */
	uint32_t uses;               /* queries sent on it, the current one included */
	uint64_t born_ms;
};

/* The idle sockets of one server, most recently used first. */
struct up_idle_list {
	struct up_sock *head;
	uint32_t n;
};

struct up_sockpool {
	struct event_base *base;      /* borrowed; owned by the worker */
	const struct fwd_clock *clock; /* borrowed: the owner's clock (socket ages) */
	up_sock_readable_fn readable;
	struct up_sock *socks;        /* owned array of nsocks */
	size_t nsocks;
	struct up_sock *free_list;    /* objects without a descriptor */
	struct up_idle_list *idle;    /* owned array of nservers, indexed by server */
	size_t nservers;
	uint64_t *warn_ms;            /* borrowed: the owner's limiter for local-resource warnings */
	uint64_t opened;              /* sockets opened (one source port each), for upstream_stats */
};

/*
 * Prepare nsocks socket objects (one per possible concurrent UDP attempt)
 * for servers 0 .. nservers - 1.  Every event is created here and later
 * re-pointed at a descriptor with event_assign(), so that an attempt
 * allocates nothing.  Socket ages are read from clock.  clock and warn_ms
 * are borrowed (see upstream_log.h) and must outlive the pool.  FWD_OK, or
 * FWD_ENOMEM (nothing logged: the owner says what it was setting up; call
 * up_sockpool_fini()).
 */
enum fwd_err up_sockpool_init(struct up_sockpool *p, struct event_base *base, const struct fwd_clock *clock,
			      size_t nsocks, size_t nservers, up_sock_readable_fn readable, uint64_t *warn_ms);

/* Close every socket and free the pool's memory.  Sockets still held by
 * callers are closed too: call it after the attempts are over. */
void up_sockpool_fini(struct up_sockpool *p);

/*
 * A connected UDP socket to server (address a) for one query, owned by
 * owner until given back: a young idle one of that server (fewer than
 * reuse queries, younger than UP_SOCK_MAX_AGE_MS), else a new one.  Its
 * uses count includes this query.  NULL with *server_fault = 1 when the
 * server cannot be reached at all (connect failed: no route, bad address),
 * with 0 for a local problem (out of descriptors; warned, rate limited).
 */
struct up_sock *up_sock_get(struct up_sockpool *p, uint32_t server, const struct cfg_addr *a,
			    uint32_t reuse, void *owner, int *server_fault);

/* The attempt on k is over: keep the socket for another query of the same
 * server when it ended cleanly (clean != 0) and may carry more (fewer than
 * reuse queries, young, room on the idle list), else close it. */
void up_sock_put(struct up_sockpool *p, struct up_sock *k, int clean, uint32_t reuse);

/* Close k, which the caller holds, at once (a send on it failed). */
void up_sock_discard(struct up_sockpool *p, struct up_sock *k);

/* Close every idle socket of server: its index is about to name another
 * address. */
void up_sockpool_drop_server(struct up_sockpool *p, uint32_t server);

/* Close idle sockets older than UP_SOCK_MAX_AGE_MS (housekeeping). */
void up_sockpool_expire(struct up_sockpool *p, uint64_t now_ms);

/* Idle sockets kept for server. */
uint32_t up_sockpool_idle(const struct up_sockpool *p, uint32_t server);

#endif
