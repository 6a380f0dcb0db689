/*
 * worker.h -- one event loop thread serving queries.
 *
 * Each worker owns its event_base, its listening sockets (SO_REUSEPORT lets
 * the kernel spread queries across workers), its upstream pending pool and
 * its receive/send buffers.  Nothing in a worker is touched by another
 * thread except the stop request (event_active from main) and the stats,
 * which the main thread reads without locking (approximate by design).
 */
#ifndef PLINKFWD_WORKER_H
#define PLINKFWD_WORKER_H

#include <pthread.h>
#include <stdint.h>

#include "stats.h"

struct daemon;
struct querylog_writer;
struct snapshot;
struct listener;
struct upstream;
struct splice_pool;
struct event_base;
struct event;

struct worker_stats {
	uint64_t queries_udp, queries_tcp;
	uint64_t answers_local, answers_forwarded;
	uint64_t refused, servfail, formerr, notimp, dropped;
	uint64_t cache_hits, cache_misses, cache_stale;  /* stale: served past expiry (RFC 8767) */
	uint64_t spliced, fallbacks;  /* CNAME chains completed privately; NXDOMAIN sent to "default" */
	struct stats_worker ops;      /* answers by transport/source/rcode, latency, groups (stats.h) */
};

struct worker {
	struct daemon *d;
	int index;
	pthread_t thread;
	struct event_base *base;
	struct event *stop_ev;        /* activated by main to stop the loop */
	struct event *tick_ev;        /* 1 s timer: picks up snapshots when idle */
	int running;                  /* thread started and not joined */
	struct snapshot *snap;        /* one reference; refreshed between batches */
	uint64_t gen;                 /* generation of snap */
	struct listener *lst;
	struct upstream *up;
	struct splice_pool *splice;   /* splice continuations and scratch (splice.h) */
	struct worker_stats stats;
	struct querylog_writer *qlog; /* this worker's query log writer; NULL when off */
	uint8_t scratch[65535];       /* a reply being adjusted on its way out */
};

/*
 * Set up worker w (event base, sockets on every listen address of snap's
 * config, upstream pool).  Returns 0 or a negative enum fwd_err; on failure
 * everything it created is released by worker_destroy().
 */
int worker_init(struct worker *w, struct daemon *d, int index, struct snapshot *snap);
/* Run the loop in a new thread. */
int worker_start(struct worker *w);
/* Ask the loop to stop (any thread) and join it (main). */
void worker_stop(struct worker *w);
void worker_destroy(struct worker *w);

/* Pick up a newly published snapshot if there is one (worker thread). */
void worker_refresh(struct worker *w);

#endif
