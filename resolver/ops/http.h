/*
 * http.h -- the HTTP endpoint: the status page, /status.json, /metrics,
 * /healthz, /readyz.
 *
 * Off unless server: http-listen is set.  libevent's evhttp on the daemon's
 * main event loop; like the control socket it only reads the published
 * snapshot and the workers' counters, so the workers never wait for it.
 * Only GET and HEAD are served (evhttp answers other methods 501 Not
 * Implemented); an unknown path gets 404.
 *
 *   /         the status page (status_page.h): static HTML and script that
 *             draws /status.json every 5 seconds
 *   /status.json  the status object of `plinkfwd-ctl status` (status_json.h)
 *             plus the rate history of the last 15 minutes, which a
 *             one-second timer samples from the workers' counters into a
 *             fixed ring (status_ring.h)
 *   /metrics  Prometheus text exposition format 0.0.4 (metric names and
 *             labels are listed in docs/admin-guide.md)
 *   /healthz  200 "ok" when every worker is serving and every configured
 *             zone has data (see stats_health); 503 and the reason otherwise.
 *             Meant for load balancer probes.
 *   /readyz   as /healthz, and also 503 while ARM-synced zones are stale
 *             (no successful sync round within three intervals, or none yet
 *             since start-up).  Meant for alerting and for orchestrators
 *             that should prefer a fresh instance; a load balancer should
 *             probe /healthz, because stale private records still beat none.
 *
 * With http-token-file, /, /status.json and /metrics answer 401 with
 * "WWW-Authenticate: Bearer" unless the request carries "Authorization:
 * Bearer TOKEN" (http_auth.h); the 401 of / still carries the page, whose
 * script sends the token it finds in the URL fragment (#token=...).
 * /healthz and /readyz stay open.  The token file is read by http_new()
 * and again after each successful reload.
 */
#ifndef PLINKFWD_HTTP_H
#define PLINKFWD_HTTP_H

#include "common.h"

struct daemon;
struct evbuffer;
struct http_server;

/* Listen on addr ("ADDR[@PORT]", port 9153 by default) on d->base, with
 * the token of the current config's http-token-file, if any.  Main thread;
 * NULL on failure (logged: a bad address, a socket error, an unreadable or
 * empty token file).  Warns when addr is not loopback and no token is set.
 * Freed with http_free(). */
struct http_server *http_new(struct daemon *d, const char *addr);
void http_free(struct http_server *h);

/* Append the /metrics body to out (main thread); FWD_OK or FWD_ENOMEM. */
enum fwd_err http_metrics(struct daemon *d, struct evbuffer *out);

#endif
