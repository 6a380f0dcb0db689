/*
 * worker.c -- a serving thread: its event loop, sockets and upstream pool.
 */
#include "worker.h"

#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "common.h"
#include "config.h"
#include "daemon.h"
#include "listener.h"
#include "log.h"
#include "query.h"
#include "snapshot.h"
#include "splice.h"
#include "upstream.h"

void worker_refresh(struct worker *w)
{
	uint64_t g = atomic_load_explicit(&w->d->generation, memory_order_acquire);
	if (FWD_LIKELY(g == w->gen))
		return;
	struct snapshot *s = daemon_acquire(w->d);
	snapshot_unref(w->snap);
	w->snap = s;
	w->gen = g;
}

static void worker_stop_cb(evutil_socket_t fd, short what, void *arg)
{
	struct worker *w = arg;
	event_base_loopbreak(w->base);
}

/* Periodic refresh, so an idle worker lets go of an old snapshot (and the
 * zones it holds) soon after a reload instead of at its next query. */
static void worker_tick_cb(evutil_socket_t fd, short what, void *arg) { worker_refresh(arg); }

int worker_init(struct worker *w, struct daemon *d, int index, struct snapshot *snap)
{
	memset(w, 0, sizeof(*w));
	w->d = d;
	w->index = index;
	w->snap = snap;
	snapshot_ref(snap);
	w->gen = atomic_load(&d->generation);
	w->base = event_base_new();
	if (!w->base)
		return FWD_ENOMEM;
	w->stop_ev = event_new(w->base, -1, 0, worker_stop_cb, w);
	w->tick_ev = event_new(w->base, -1, EV_PERSIST, worker_tick_cb, w);
	if (!w->stop_ev || !w->tick_ev)
		return FWD_ENOMEM;
	struct timeval tv = {1, 0};
	event_add(w->tick_ev, &tv);
	int maxp = snap->cfg->max_pending > 0 ? snap->cfg->max_pending : 4096;
	w->up = upstream_new(w->base, (size_t)maxp, query_upstream_done, w);
	if (!w->up)
		return FWD_ENOMEM;
	w->splice = splice_pool_new((size_t)maxp);
	if (!w->splice)
		return FWD_ENOMEM;
	w->lst = listener_new(w, snap->cfg);
	if (!w->lst)
		return FWD_EIO;
	return 0;
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	event_base_dispatch(w->base);
	return NULL;
}

int worker_start(struct worker *w)
{
	if (pthread_create(&w->thread, NULL, worker_main, w) != 0)
		return FWD_EIO;
	w->running = 1;
	return 0;
}

void worker_stop(struct worker *w)
{
	if (!w->running)
		return;
	event_active(w->stop_ev, EV_READ, 0);
	pthread_join(w->thread, NULL);
	w->running = 0;
}

void worker_destroy(struct worker *w)
{
	/* the listener first: pending upstream answers have nowhere to go */
	listener_free(w->lst);
	w->lst = NULL;
	upstream_free(w->up);
	w->up = NULL;
	/* after the upstream pool: no completion can reach a continuation now */
	splice_pool_free(w->splice);
	w->splice = NULL;
	if (w->tick_ev)
		event_free(w->tick_ev);
	if (w->stop_ev)
		event_free(w->stop_ev);
	if (w->base)
		event_base_free(w->base);
	w->base = NULL;
	snapshot_unref(w->snap);
	w->snap = NULL;
}
