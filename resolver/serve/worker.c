/*
 * worker.c -- a serving thread: its event loop, sockets and query engine.
 */
#include "worker.h"

#include <string.h>

#include <event2/event.h>

#include "clock.h"
#include "config.h"
#include "listener.h"
#include "snapshot.h"

static void worker_stop_cb(evutil_socket_t fd, short what, void *arg)
{
	struct worker *w = arg;
	event_base_loopbreak(w->base);
}

/* Periodic refresh, so an idle worker lets go of an old snapshot (and the
 * zones it holds) soon after a reload instead of at its next query. */
static void worker_tick_cb(evutil_socket_t fd, short what, void *arg)
{
	struct worker *w = arg;
	query_engine_refresh(&w->qe);
}

enum fwd_err worker_init(struct worker *w, int index, struct snapshot_pub *pub, struct cache *cache,
			 struct tls_store *tls)
{
	memset(w, 0, sizeof(*w));
	w->index = index;
	/* epoll's changelist: a watch added and removed in the same loop pass
	 * costs no epoll_ctl.  A DoT or DoH batch adds the socket's write watch
	 * and, written at once (tls_io.c), removes it again in that pass.  No
	 * descriptor here is dup()ed, the one case libevent warns about. */
	struct event_config *ecfg = event_config_new();
	if (!ecfg)
		return FWD_ENOMEM;
	event_config_set_flag(ecfg, EVENT_BASE_FLAG_EPOLL_USE_CHANGELIST);
	w->base = event_base_new_with_config(ecfg);
	event_config_free(ecfg);
	if (!w->base)
		return FWD_ENOMEM;
	w->stop_ev = event_new(w->base, -1, 0, worker_stop_cb, w);
	w->tick_ev = event_new(w->base, -1, EV_PERSIST, worker_tick_cb, w);
	if (!w->stop_ev || !w->tick_ev)
		return FWD_ENOMEM;
	struct timeval tv = {1, 0};
	event_add(w->tick_ev, &tv);
	struct snapshot *snap = snapshot_pub_acquire(pub);
	if (!snap)
		return FWD_EINVAL;
	size_t maxp = (size_t)snap->cfg->max_pending;
	enum fwd_err rc = query_engine_init(&w->qe, w->base, pub, &fwd_clock_monotonic, cache, maxp);
	if (rc == FWD_OK) {
		w->lst = listener_new(&w->qe, w->base, snap->cfg, tls, index == 0);
		if (!w->lst)
			rc = FWD_EIO;
		else
			query_engine_set_send(&w->qe, listener_send, w->lst);
	}
	snapshot_unref(snap);
	return rc;
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	event_base_dispatch(w->base);
	return NULL;
}

enum fwd_err worker_start(struct worker *w)
{
	if (pthread_create(&w->thread, NULL, worker_main, w) != 0)
		return FWD_EIO;
	w->running = 1;
	return FWD_OK;
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
	query_engine_set_send(&w->qe, NULL, NULL);
	listener_free(w->lst);
	w->lst = NULL;
	query_engine_fini(&w->qe);
	if (w->tick_ev)
		event_free(w->tick_ev);
	if (w->stop_ev)
		event_free(w->stop_ev);
	if (w->base)
		event_base_free(w->base);
	w->base = NULL;
}
