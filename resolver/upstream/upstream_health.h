/*
 * upstream_health.h -- the health of upstream servers as one forwarding
 * instance (upstream.c) sees them, and the choice of the server to ask.
 * Policy and tuning: docs/upstream.md.
 *
 * Per server address: a smoothed RTT (the lowest is asked first), failures
 * in a row (upstream-down-after of them mark it down; a down server then
 * gets one real query every upstream-probe-interval), attempts in flight and
 * a token bucket, so that the server's caps (struct cfg_caps: max-outstanding
 * and max-qps as cfg_load resolved them, divided among the workers) are
 * never exceeded.
 *
 * Keyed by address, not by the config objects, because a reload builds a new
 * config while queries of the old one are still in flight, and what was
 * learnt about a server should survive a reload.  Entries nobody used for
 * UP_STALE_MS are forgotten by up_health_forget().
 *
 * Ownership: struct up_health is embedded in its owner, which calls
 * up_health_init() once and up_health_fini() once (also after a failed init,
 * or on a zeroed struct).  The entry table is owned here, allocated once
 * with UP_MAX_SERVERS entries and never moved, so that up_health_info() may
 * read it from another thread (values approximate, no locking).  Every other
 * function runs on the owner's event loop.  Nothing here allocates after
 * init.
 */
#ifndef PLINKFWD_UPSTREAM_HEALTH_H
#define PLINKFWD_UPSTREAM_HEALTH_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include "common.h"

struct cfg;
struct cfg_addr;
struct cfg_caps;
struct cfg_upstream;
struct fwd_clock;
struct upstream_server_info;

#define UP_MAX_SERVERS 256      /* server addresses tracked per instance */
#define UP_HTAB 512             /* slots of the address index (twice UP_MAX_SERVERS) */

/* How an attempt ended, for the server's health. */
enum up_outcome {
	OUT_ANSWER,  /* a matching reply: an RTT sample */
	OUT_ALIVE,   /* a matching SERVFAIL/REFUSED: the server is there, but no sample */
	OUT_FAIL,    /* no reply in time, ICMP, broken TCP, wrong TCP reply */
	OUT_ABORT    /* not the server's doing (local error, query budget, shutdown) */
};

/*
 * What the owner keeps per entry index besides the health (upstream.c: the
 * idle UDP sockets of that server).  An index is recycled for another
 * address when the table is full, and forgotten when stale; these keep the
 * owner's per-index state consistent with that.  Called on the owner's loop.
 */
struct up_health_hooks {
	/* entry server is about to name another address: release what you
	 * keep for it */
	void (*drop)(void *arg, uint32_t server);
	/* 1 while you keep something for entry server: it is not forgotten */
	int (*busy)(void *arg, uint32_t server);
	void *arg;
};

struct up_server;

struct up_health {
	struct up_server *hs;      /* owned array of UP_MAX_SERVERS, never moved */
	size_t nhs;                /* entries ever used (unused ones have len 0) */
	int16_t htab[UP_HTAB];     /* address -> index in hs, open addressing, -1 empty */
	uint32_t seed;             /* keeps the index's hash unpredictable */
	const struct fwd_clock *clock; /* borrowed: the owner's clock */
	uint64_t marked_down;      /* servers marked down, for upstream_stats */
	/* Held by the owner while an entry changes address (and nhs grows),
	 * and by up_health_info() on another thread; the counters in an
	 * entry are atomic stores instead (counter.h). */
	pthread_mutex_t lock;
	int lock_init;
	uint64_t *warn_ms;         /* borrowed: the owner's limiter for local-resource warnings */
	struct up_health_hooks hooks;
};

/* FWD_OK, or FWD_ENOMEM (nothing logged: the owner says what it was
 * setting up; call up_health_fini()).  Time is read from clock (failures,
 * last use).  clock and warn_ms are borrowed and must outlive h
 * (upstream_log.h). */
enum fwd_err up_health_init(struct up_health *h, uint32_t seed, const struct fwd_clock *clock, uint64_t *warn_ms,
			    const struct up_health_hooks *hooks);
void up_health_fini(struct up_health *h);

/*
 * Choose the server of group grp (of config cfg) for the next attempt,
 * among those whose bit in tried is clear:
 *  1. a down server whose probe is due (*probe = 1: one query probes it);
 *  2. else a server that is up: one never measured first (at random among
 *     those), else the lowest smoothed RTT, picked at random among those
 *     within a band of the best (load spreads over equally good servers),
 *     and 1 time in 32 any server that is up, so that a slower one stays
 *     measured;
 *  3. else (every candidate down) the one whose last failure is the oldest:
 *     a query is never failed without being tried.
 * Servers at their qps or outstanding cap (grp->caps[i], divided among
 * cfg's workers) are skipped.  rnd is a fresh
 * random word (the choices at random use it).  Returns FWD_OK with the
 * server's index in the group in *server, its entry in *hidx and *probe;
 * FWD_ENOENT when no server is left, FWD_EFULL when the ones left are all
 * at a cap.
 */
enum fwd_err up_health_select(struct up_health *h, const struct cfg *cfg, const struct cfg_upstream *grp,
			      uint64_t tried, uint64_t now_us, uint32_t rnd, size_t *server, uint32_t *hidx,
			      int *probe);

/* 1 when entry hidx is at its outstanding or qps cap now: caps (the
 * server's, of its group in cfg) divided among cfg's workers. */
int up_health_capped(struct up_health *h, uint32_t hidx, const struct cfg *cfg, const struct cfg_caps *caps,
		     uint64_t now_us);

/* An attempt on entry hidx, a server with caps, starts now (probe: it is
 * the probe of a down server): counts it in flight and takes its token. */
void up_health_attempt_start(struct up_health *h, uint32_t hidx, const struct cfg *cfg,
			     const struct cfg_caps *caps, uint64_t now_ms, int probe);

/* That attempt ended with out; rtt_us is its round trip (used for
 * OUT_ANSWER only).  May mark the server down or back in service (logged). */
void up_health_attempt_end(struct up_health *h, uint32_t hidx, const struct cfg *cfg, enum up_outcome out,
			   uint32_t rtt_us, int probe);

/* The attempt on entry hidx timed out (counted per server; its end is
 * reported through up_health_attempt_end as usual). */
void up_health_timeout(struct up_health *h, uint32_t hidx);

/* Forget entries with nothing in flight, nothing kept by the owner
 * (hooks.busy) and no attempt for UP_STALE_MS (housekeeping). */
void up_health_forget(struct up_health *h, uint64_t now_ms);

/* upstream_servers(): copy up to max entries in use into out (may be NULL);
 * returns how many entries are in use.  Safe from another thread. */
size_t up_health_info(const struct up_health *h, struct upstream_server_info *out, size_t max);

#endif
