/*
 * daemon.c -- publishing snapshots and reloading (see daemon.h).
 */
#include "daemon.h"

#include <event2/event.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "arm_sync.h"
#include "cache.h"
#include "cfg_loop.h"
#include "clock.h"
#include "config.h"
#include "listener.h"
#include "log.h"
#include "loop.h"
#include "loop_probe.h"
#include "snapshot.h"
#include "tls.h"
#include "worker.h"
#include "xfr_in.h"
#include "xfr_journal.h"
#include "xfr_notify.h"

struct snapshot *daemon_acquire(struct daemon *d) { return snapshot_pub_acquire(&d->pub); }

void daemon_publish(struct daemon *d, struct snapshot *s)
{
	snapshot_pub_publish(&d->pub, s);
	if (d->notify || d->journal) {
		/* s belongs to the publisher now: hold a reference while reading it */
		struct snapshot *cur = daemon_acquire(d);
		if (cur && d->journal)
			xfr_journal_publish(d->journal, cur);
		if (cur && d->notify)
			xfr_notify_publish(d->notify, cur);
		snapshot_unref(cur);
	}
}

enum fwd_err daemon_notify_start(struct daemon *d)
{
	enum fwd_err rc = xfr_notify_new(d->base, d->clock, &d->notify);
	struct snapshot *cur;

	if (rc != FWD_OK)
		return rc;
	cur = daemon_acquire(d);
	if (cur && d->journal)
		xfr_journal_publish(d->journal, cur);
	if (cur)
		xfr_notify_publish(d->notify, cur);
	snapshot_unref(cur);
	return FWD_OK;
}

/* 16 bytes from the kernel's CSPRNG; a secret that could be guessed would
 * let anyone forge cookies, so there is no weaker fallback. */
static enum fwd_err cookie_random(uint8_t out[EDNS_COOKIE_SECRET_LEN])
{
	size_t got = 0;
	while (got < EDNS_COOKIE_SECRET_LEN) {
		ssize_t n = getrandom(out + got, EDNS_COOKIE_SECRET_LEN - got, 0);
		if (n < 0)
			return FWD_EIO;
		got += (size_t)n;
	}
	return FWD_OK;
}

/* The secret rotates daily (edns.h); checking hourly keeps the rotation
 * within an hour of due without a timer that must survive clock steps. */
#define COOKIE_CHECK_S 3600

static void cookie_tick(evutil_socket_t fd, short what, void *arg)
{
	struct daemon *d = arg;
	uint8_t fresh[EDNS_COOKIE_SECRET_LEN];
	(void)fd;
	(void)what;
	if (cookie_random(fresh) != FWD_OK) {
		log_warn("cookies: no random bytes for a new secret; the current one stays");
		return;
	}
	if (edns_cookie_keys_rotate(&d->cookies, fresh, clock_wall_s(&fwd_clock_monotonic)))
		log_info("cookies: server secret rotated; cookies made with the previous one stay valid");
}

enum fwd_err daemon_cookies_start(struct daemon *d)
{
	uint8_t secret[EDNS_COOKIE_SECRET_LEN];
	struct timeval tv = {COOKIE_CHECK_S, 0};

	if (cookie_random(secret) != FWD_OK) {
		log_err("cookies: cannot draw a server secret from getrandom()");
		return FWD_EIO;
	}
	edns_cookie_keys_init(&d->cookies, secret, EDNS_COOKIE_ROTATE_DEFAULT, clock_wall_s(&fwd_clock_monotonic));
	for (int i = 0; i < d->nworkers; i++)
		d->workers[i].qe.cookies = &d->cookies;
	d->cookie_ev = event_new(d->base, -1, EV_PERSIST, cookie_tick, d);
	if (!d->cookie_ev || event_add(d->cookie_ev, &tv) != 0) {
		log_err("cookies: cannot start the rotation timer");
		return FWD_EIO;
	}
	return FWD_OK;
}

void daemon_cookies_stop(struct daemon *d)
{
	if (d->cookie_ev)
		event_free(d->cookie_ev);
	d->cookie_ev = NULL;
}

enum fwd_err daemon_loops_start(struct daemon *d)
{
	struct snapshot *snap = daemon_acquire(d);
	/* twice the steps that can be in flight: windows stay sparse */
	size_t slots = 2 * (size_t)snap->cfg->max_pending * (size_t)(d->nworkers > 0 ? d->nworkers : 1);
	snapshot_unref(snap);
	if (loop_guard_new(d->clock, slots, &d->loop) != FWD_OK ||
	    loop_probe_new(d->base, d->clock, &d->pub, d->loop, &d->loop_probe) != FWD_OK) {
		log_err("loops: cannot allocate the in-flight table or the route prober");
		return FWD_ENOMEM;
	}
	for (int i = 0; i < d->nworkers; i++)
		d->workers[i].qe.loop = d->loop;
	return FWD_OK;
}

void daemon_loops_stop(struct daemon *d)
{
	loop_probe_free(d->loop_probe);
	d->loop_probe = NULL;
	loop_guard_free(d->loop);
	d->loop = NULL;
}

static void warn_log(void *arg, const char *msg)
{
	(void)arg;
	log_warn("%s", msg);
}

void daemon_loops_check(struct daemon *d)
{
	struct snapshot *snap = daemon_acquire(d);
	cfg_loop_warnings(snap->cfg, warn_log, NULL);
	snapshot_unref(snap);
	if (d->loop_probe)
		loop_probe_run(d->loop_probe);
}

enum fwd_err daemon_bound_addr(const struct daemon *d, size_t i, struct sockaddr_storage *ss, socklen_t *len)
{
	if (d->nworkers < 1 || !d->workers || !d->workers[0].lst)
		return FWD_ENOENT;
	return listener_bound_addr(d->workers[0].lst, i, ss, len);
}

/* Same address and port (getsockname() and the parser may differ in
 * fields that do not matter, such as sin_zero). */
static int same_addr(const struct sockaddr_storage *a, const struct sockaddr_storage *b)
{
	if (a->ss_family != b->ss_family)
		return 0;
	if (a->ss_family == AF_INET) {
		const struct sockaddr_in *x = (const void *)a, *y = (const void *)b;
		return x->sin_port == y->sin_port && x->sin_addr.s_addr == y->sin_addr.s_addr;
	}
	const struct sockaddr_in6 *x = (const void *)a, *y = (const void *)b;
	return x->sin6_port == y->sin6_port && x->sin6_scope_id == y->sin6_scope_id &&
	       memcmp(&x->sin6_addr, &y->sin6_addr, sizeof(x->sin6_addr)) == 0;
}

/* Sockets and worker threads exist from start-up on, so a reload is
 * compared with them -- not with the previous config, which may itself have
 * asked for something never applied.  The order of listen: lines does not
 * matter. */
int daemon_listen_applied(const struct daemon *d, const struct cfg *cfg)
{
	struct sockaddr_storage ss;
	socklen_t len;
	size_t nbound = 0;

	if (cfg->workers != d->nworkers)
		return 0;
	while (daemon_bound_addr(d, nbound, &ss, &len) == FWD_OK) {
		size_t j = 0;
		while (j < cfg->nlisten && !same_addr(&cfg->listen[j].ss, &ss))
			j++;
		if (j == cfg->nlisten)
			return 0;
		nbound++;
	}
	/* the parser rejects duplicates: equal counts make equal sets */
	return nbound == cfg->nlisten;
}

/* ARM sync hands over its complete zone list; serve it from now on. */
static void daemon_arm_publish(void *ctx, const struct route_zone *zones, size_t n)
{
	struct daemon *d = ctx;
	char err[512] = "";
	struct snapshot *cur = daemon_acquire(d);
	struct snapshot *s = snapshot_with_arm(cur, zones, n, err, sizeof(err));
	snapshot_unref(cur);
	if (!s) {
		log_err("arm: cannot publish synced zones, previous ones keep serving: %s", err);
		return;
	}
	daemon_publish(d, s);
	log_debug("arm: published %zu synced zone(s), generation %llu", n,
		  (unsigned long long)s->generation);
}

/* s with the secondary zones' current copies (a new snapshot; s's
 * reference is dropped), or s itself when there are none. */
static struct snapshot *with_secondary(struct daemon *d, struct snapshot *s, char *err, size_t errlen)
{
	struct route_zone *rz = NULL;
	size_t n = 0;
	if (!d->xfr || xfr_in_count(d->xfr) == 0)
		return s;
	if (xfr_in_route_zones(d->xfr, &rz, &n) != FWD_OK) {
		snprintf(err, errlen, "out of memory listing secondary zones");
		snapshot_unref(s);
		return NULL;
	}
	struct snapshot *s2 = snapshot_with_secondary(s, rz, n, err, errlen);
	free(rz);
	snapshot_unref(s);
	return s2;
}

/* The transfer client hands over its zones: serve them from now on. */
static void daemon_xfr_publish(void *ctx, const struct route_zone *zones, size_t n)
{
	struct daemon *d = ctx;
	char err[512] = "";
	struct snapshot *cur = daemon_acquire(d);
	struct snapshot *s = snapshot_with_secondary(cur, zones, n, err, sizeof(err));
	snapshot_unref(cur);
	if (!s) {
		log_err("xfr: cannot publish secondary zones, previous copies keep serving: %s", err);
		return;
	}
	daemon_publish(d, s);
}

enum fwd_err daemon_xfr_start(struct daemon *d)
{
	char err[512] = "";
	struct snapshot *cur = daemon_acquire(d);
	if (xfr_in_new(d->base, d->clock, daemon_xfr_publish, d, &d->xfr) != FWD_OK ||
	    xfr_in_apply(d->xfr, cur->cfg) != FWD_OK) {
		snapshot_unref(cur);
		log_err("xfr: out of memory starting secondary zones");
		return FWD_ENOMEM;
	}
	struct snapshot *s = with_secondary(d, cur, err, sizeof(err));
	if (!s) {
		log_err("xfr: %s", err);
		return FWD_ENOMEM;
	}
	if (s != cur)
		daemon_publish(d, s);
	else
		snapshot_unref(s);
	for (int i = 0; i < d->nworkers; i++) {
		d->workers[i].qe.notify = xfr_in_notify_answer;
		d->workers[i].qe.notify_arg = d->xfr;
	}
	return FWD_OK;
}

void daemon_xfr_stop(struct daemon *d)
{
	xfr_in_free(d->xfr);
	d->xfr = NULL;
}

enum fwd_err daemon_arm_apply(struct daemon *d)
{
	struct snapshot *cur = daemon_acquire(d);
	const struct cfg *cfg = cur->cfg;
	enum fwd_err rc = FWD_OK;

	/* A reload may change anything in arm:; rebuilding the sync is simple
	 * and its zones keep serving meanwhile (they are in the snapshot). */
	if (d->arm) {
		arm_sync_free(d->arm);
		d->arm = NULL;
	}
	if (cfg->arm) {
		d->arm = arm_sync_new(d->base, &fwd_clock_monotonic, cfg->arm, (int)cfg->cloud, cfg->state_dir,
				      daemon_arm_publish, d);
		if (!d->arm) {
			rc = FWD_EIO;
		} else {
			arm_sync_load_state(d->arm);
			arm_sync_start(d->arm);
		}
	}
	snapshot_unref(cur);
	return rc;
}

enum fwd_err daemon_reload(struct daemon *d)
{
	char err[512] = "";
	struct cfg *cfg = NULL;
	struct snapshot *cur = daemon_acquire(d);
	struct snapshot *s = NULL;
	enum fwd_err rc = cfg_load(d->cfgpath, &cfg, err, sizeof(err));
	d->last_reload = time(NULL); /* shown by status, never compared */
	if (rc == FWD_OK) {
		/* ARM zones survive a reload (they are in no file) unless the
		 * arm: clause is gone */
		size_t narm = cfg->arm ? cur->nzones - cur->nfile_zones : 0;
		s = snapshot_build_cfg(cfg, cur->zones + cur->nfile_zones, narm, err, sizeof(err));
		if (!s)
			rc = FWD_EPARSE;
	}
	/* a certificate that cannot be used fails the reload as a whole:
	 * the running configuration and certificate keep serving */
	if (s && d->tls && tls_store_load(d->tls, s->cfg, err, sizeof(err)) != FWD_OK) {
		snapshot_unref(s);
		s = NULL;
		rc = FWD_EIO;
	}
	if (!s) {
		d->reloads_failed++;
		snprintf(d->last_reload_error, sizeof(d->last_reload_error), "%s", err);
		log_err("reload failed, still serving the previous configuration: %s", err);
		snapshot_unref(cur);
		return rc;
	}
	/* secondary zones keep their copies and timers when their primaries
	 * are unchanged (xfr_in.h); the new snapshot serves them at once */
	if (d->xfr && xfr_in_apply(d->xfr, s->cfg) != FWD_OK)
		log_err("reload: out of memory updating secondary zones; they keep their previous state");
	if (d->xfr && !(s = with_secondary(d, s, err, sizeof(err)))) {
		d->reloads_failed++;
		snprintf(d->last_reload_error, sizeof(d->last_reload_error), "%s", err);
		log_err("reload failed, still serving the previous configuration: %s", err);
		snapshot_unref(cur);
		return FWD_ENOMEM;
	}
	if (!daemon_listen_applied(d, s->cfg))
		log_warn("reload: listen: and workers: changes take effect only after a restart "
			 "(plinkfwd-ctl status shows the sockets in use)");
	snapshot_unref(cur);
	enum log_level lvl;
	if (log_level_parse(s->cfg->log_level, &lvl) == FWD_OK)
		log_set_level(lvl);
	daemon_publish(d, s);
	if (d->cache) {
		/* forward rules or groups may have changed: answers cached
		 * under the old ones go (docs/resolution.md) */
		cache_set_limit(d->cache, s->cfg->cache_size);
		cache_flush(d->cache, NULL, NULL);
	}
	d->reloads_ok++;
	d->last_reload_error[0] = '\0';
	log_info("reloaded %s (generation %llu, %zu zones)", d->cfgpath,
		 (unsigned long long)s->generation, s->nzones);
	if (daemon_arm_apply(d) != FWD_OK)
		log_err("reload: ARM sync could not be restarted; synced zones keep serving as they are");
	daemon_loops_check(d);
	return FWD_OK;
}
