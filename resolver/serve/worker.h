/*
 * worker.h -- one event loop thread serving queries.
 *
 * Each worker owns its event_base, its listening sockets (SO_REUSEPORT lets
 * the kernel spread queries across workers) and its query engine (query.h:
 * snapshot reference, upstream pool, continuations, counters).  Nothing in
 * a worker is touched by another thread except the stop request
 * (event_active from main) and the counters, which the main thread reads
 * with relaxed atomic loads (stats.h).
 */
#ifndef PLINKFWD_WORKER_H
#define PLINKFWD_WORKER_H

#include <pthread.h>
#include <stdint.h>

#include "common.h"
#include "query.h"

struct cache;
struct listener;
struct snapshot_pub;
struct tls_store;
struct event_base;
struct event;

struct worker {
	int index;
	pthread_t thread;
	struct event_base *base;
	struct event *stop_ev;        /* activated by main to stop the loop */
	struct event *tick_ev;        /* 1 s timer: picks up snapshots when idle */
	int running;                  /* thread started and not joined */
	struct listener *lst;
	struct query_engine qe;       /* the query path's state (query.h) */
};

/*
 * Set up worker w: event base, query engine on pub's current snapshot,
 * sockets on every listen address of that snapshot's config.  pub, cache
 * (NULL = none) and tls (the DoT/DoH certificates; NULL = none) are
 * borrowed and must outlive the worker.  Returns FWD_OK
 * or a negative enum fwd_err; on failure everything it created is released
 * by worker_destroy().
 */
enum fwd_err worker_init(struct worker *w, int index, struct snapshot_pub *pub, struct cache *cache,
			 struct tls_store *tls);
/* Run the loop in a new thread. */
enum fwd_err worker_start(struct worker *w);
/* Ask the loop to stop (any thread) and join it (main). */
void worker_stop(struct worker *w);
void worker_destroy(struct worker *w);

#endif
