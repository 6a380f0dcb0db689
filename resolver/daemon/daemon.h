/*
 * daemon.h -- the root object: one per process, owned by main.c.
 *
 * It holds the snapshot publisher (data/snapshot.h: workers read it, only
 * the main thread publishes), the workers, the shared cache and the main
 * thread's services.
 */
#ifndef PLINKFWD_DAEMON_H
#define PLINKFWD_DAEMON_H

#include <stdint.h>
#include <sys/socket.h>
#include <time.h>

#include "edns.h"
#include "snapshot.h"

struct worker;
struct event_base;
struct fwd_clock;
struct arm_sync;
struct cache;
struct control;
struct http_server;
struct loop_guard;
struct loop_probe;
struct querylog;
struct tls_store;
struct xfr_in;

struct daemon {
	const char *cfgpath;             /* argv, not owned */
	struct snapshot_pub pub;         /* the current snapshot (snapshot.h) */
	struct event_base *base;         /* main thread loop (signals, ARM, control) */
	const struct fwd_clock *clock;   /* what the main thread's services read the time from */
	struct worker *workers;          /* array of nworkers */
	int nworkers;
	time_t started;
	uint64_t reloads_ok, reloads_failed;
	time_t last_reload;              /* wall clock of the last reload attempt (shown); 0 = none */
	char last_reload_error[512];     /* "" when the last reload succeeded (or none was tried) */
	struct arm_sync *arm;            /* NULL without an arm: clause */
	struct cache *cache;             /* answer cache shared by the workers (cache.h); NULL = none */
	struct control *control;         /* control socket; NULL when not configured */
	struct http_server *http;        /* /metrics, /healthz; NULL when not configured */
	struct querylog *qlog;           /* query log; NULL when off */
	struct edns_cookie_keys cookies; /* DNS cookie secret the workers share (edns.h) */
	struct event *cookie_ev;         /* hourly check whether the secret is due to rotate */
	struct loop_guard *loop;         /* forwarding loops (upstream/loop.h): the workers' shared table */
	struct loop_probe *loop_probe;   /* the route probes, on the main loop (upstream/loop_probe.h) */
	struct tls_store *tls;           /* DoT/DoH certificates the workers share (tls.h); owned */
	struct xfr_in *xfr;              /* secondary zones (resolver/xfr/xfr_in.h); owned */
	struct xfr_notify *notify;       /* NOTIFY to secondaries (xfr/xfr_notify.h); NULL until the loop runs */
	struct xfr_journal *journal;     /* IXFR differences (xfr/xfr_journal.h), read by the workers; owned */
};

/* Take a reference on the current snapshot (worker threads). */
struct snapshot *daemon_acquire(struct daemon *d);
/* Install s (its reference passes to the daemon) and drop the old one.
 * Main thread only. */
void daemon_publish(struct daemon *d, struct snapshot *s);
/* Start sending NOTIFYs: from now on every publish notifies the
 * secondaries of the zones it changed; the zones serving now are notified
 * at once.  Main thread, once its loop exists. */
enum fwd_err daemon_notify_start(struct daemon *d);
/* Re-read the config file and publish it: FWD_OK; on any error log it with
 * file:line, keep the current snapshot and return it (FWD_EPARSE for a
 * configuration or zone file error).  Main thread only. */
enum fwd_err daemon_reload(struct daemon *d);
/* The i-th address (0-based) the workers serve on, as bound at start-up:
 * worker 0's sockets (every worker binds the same set), not the current
 * config, which a reload may have changed.  FWD_OK with *ss and *len set;
 * FWD_ENOENT past the last one (or with no listener open); FWD_EIO. */
enum fwd_err daemon_bound_addr(const struct daemon *d, size_t i, struct sockaddr_storage *ss, socklen_t *len);
/* 1 when cfg's listen: set and workers: are what the daemon runs with
 * (daemon_bound_addr(), d->nworkers), 0 when a restart would change them. */
int daemon_listen_applied(const struct daemon *d, const struct cfg *cfg);
/* Start (or restart, or stop) ARM sync to match the current config: loads
 * persisted zones from state-dir, then syncs now and every interval.
 * Main thread only; FWD_OK or FWD_EIO (logged). */
enum fwd_err daemon_arm_apply(struct daemon *d);
/* Secondary zones (zone: with primary:): create the transfer client on
 * d->base, read the saved copies from state-dir, publish them, and point
 * every worker's NOTIFY hook at it.  Main thread, after the workers are
 * initialised and before they start; FWD_OK or FWD_ENOMEM (logged).
 * daemon_xfr_stop() frees it after the workers are gone. */
enum fwd_err daemon_xfr_start(struct daemon *d);
void daemon_xfr_stop(struct daemon *d);
/* Draw the DNS cookie secret (RFC 9018) and start its rotation timer on
 * d->base; every worker's query engine is pointed at d->cookies.  Main
 * thread, after the workers are initialised and before they start; FWD_OK
 * or FWD_EIO (logged).  The timer is freed by daemon_cookies_stop(). */
enum fwd_err daemon_cookies_start(struct daemon *d);
void daemon_cookies_stop(struct daemon *d);
/* Forwarding loops (docs/onprem-recipes.md, "Loops"): the guard the
 * workers share (its in-flight table sized for every worker's
 * max-pending) and the route prober.  Main thread, after the workers are
 * initialised and before they start; FWD_OK or FWD_ENOMEM (logged).
 * daemon_loops_stop() frees both after the workers are gone. */
enum fwd_err daemon_loops_start(struct daemon *d);
void daemon_loops_stop(struct daemon *d);
/* Log the config's loop warnings (cfg_loop.h) and probe the routes that
 * are due (loop-probe: yes); at start-up once the workers serve, and
 * after each reload. */
void daemon_loops_check(struct daemon *d);

#endif
