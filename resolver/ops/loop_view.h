/*
 * loop_view.h -- forwarding loops (upstream/loop.h) as the operator sees
 * them: /metrics families, the "loops" object of the status command,
 * the /healthz and /readyz text, and the loop part of explain's forward
 * step.  Main thread; reads the daemon's guard (NULL: nothing to show).
 *
 * Ownership: the cJSON objects made here belong to the object they are
 * added to; the evbuffer and text buffers are the caller's.
 */
#ifndef PLINKFWD_LOOP_VIEW_H
#define PLINKFWD_LOOP_VIEW_H

#include <stddef.h>

#include <cjson/cJSON.h>

struct cfg;
struct daemon;
struct evbuffer;

/* plinkfwd_forwarding_loops_total{group}, plinkfwd_loop_route_looping{group,zone},
 * plinkfwd_loop_untracked_total: every group of cfg is listed (0 included). */
void loop_view_metrics(struct daemon *d, const struct cfg *cfg, struct evbuffer *b);

/* The "loops" object of status: detected, groups[], routes[]. */
void loop_view_status(struct daemon *d, cJSON *o);

/* Health text about loops into text ("" when none) -- one line per
 * looping route; returns 0 when /readyz must fail for it (ready set and
 * loop-ready-fail: yes in cfg), else 1. */
int loop_view_health(struct daemon *d, const struct cfg *cfg, int ready, char *text, size_t len);

/* Adds "loop" (text) to the last forward step of steps: the loops counted
 * for group, and the probe of the route (zone: the route's zone, "." for
 * the default route) when one was sent. */
void loop_view_explain(struct daemon *d, cJSON *steps, const char *group, const char *zone);

#endif
