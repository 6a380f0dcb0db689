/*
 * loop_probe.h -- probing each forwarding route for a loop, the way
 * CoreDNS's loop plugin does, without ever stopping the server.
 *
 * At start-up and after each reload (loop-probe: yes), one query leaves
 * for each route through the route's own group:
 *   - each forward: rule: its suffix, through the rule's group;
 *   - each zone: with fallback: public: its apex, through "default" (a
 *     name the zone lacks is forwarded there);
 *   - the catch-all of "default": the root, through "default".
 * The query (documented in docs/onprem-recipes.md, "Loops") is
 *     <16 random hex digits>.plinkfwd-loop-probe.<zone>  HINFO IN, RD set, no EDNS
 * sent like any forwarded query (random ID and source port, the group's
 * failover and timeouts).  If plinkfwd then receives that very name as a
 * client query, the route loops: the query path answers it SERVFAIL
 * (never forwards it) and loop.h records the route as looping, counted,
 * logged, shown by status, /metrics, /healthz and explain.  Otherwise the
 * answer (or the group's failure) ends the probe.
 *
 * Bounded: one query per route per run; a route is probed again at most
 * once per loop-probe-interval (a reload sooner than that probes it when
 * the interval has passed).  Groups without a server are skipped.
 *
 * Runs on the main thread's event loop with its own upstream engine
 * (upstream.h), whose counters are not the workers'.  Ownership:
 * loop_probe_new() borrows base, clock, pub and guard (they must outlive
 * it); loop_probe_free() frees the engine (a probe in flight is dropped).
 */
#ifndef PLINKFWD_LOOP_PROBE_H
#define PLINKFWD_LOOP_PROBE_H

#include "common.h"

struct event_base;
struct fwd_clock;
struct loop_guard;
struct snapshot_pub;
struct loop_probe;

/* FWD_OK with *out set, or FWD_ENOMEM. */
enum fwd_err loop_probe_new(struct event_base *base, const struct fwd_clock *clock, struct snapshot_pub *pub,
			    struct loop_guard *guard, struct loop_probe **out);
void loop_probe_free(struct loop_probe *p);

/* Probe every route of the current snapshot that is due (start-up,
 * reload); nothing when its config says loop-probe: no.  Main thread. */
void loop_probe_run(struct loop_probe *p);

#endif
