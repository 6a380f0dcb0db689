/*
 * loop_probe.c -- one probe query per forwarding route (see loop_probe.h).
 */
#include "loop_probe.h"

#include <event2/event.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "config.h"
#include "log.h"
#include "loop.h"
#include "snapshot.h"
#include "splice.h"
#include "upstream.h"
#include "wire.h"

#define PROBE_PENDING 64   /* probes in flight at most (one per route) */
#define TYPE_HINFO_ 13     /* as CoreDNS's loop plugin: a type nobody's data depends on */

struct loop_probe {
	struct event_base *base;
	const struct fwd_clock *clock;
	struct snapshot_pub *pub;
	struct loop_guard *guard;
	struct upstream *up;       /* owned: the main thread's own engine */
	struct event *again;       /* owned: runs again when a skipped route is due */
};

struct probe_ctx {
	size_t route;              /* loop.h route index */
};

static void probe_done(void *arg, const void *ctx, enum upstream_status st, uint8_t *reply, size_t len,
		       const struct wire_query *q)
{
	struct loop_probe *p = arg;
	const struct probe_ctx *c = ctx;
	(void)q;
	if (st == UPSTREAM_OK && reply && len >= WIRE_HDR_LEN)
		loop_probe_end(p->guard, c->route, LOOP_PROBE_OK, (int)WIRE_RCODE(reply[3]));
	else
		loop_probe_end(p->guard, c->route, LOOP_PROBE_FAILED, -1);
}

static void again_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	loop_probe_run(arg);
}

enum fwd_err loop_probe_new(struct event_base *base, const struct fwd_clock *clock, struct snapshot_pub *pub,
			    struct loop_guard *guard, struct loop_probe **out)
{
	struct loop_probe *p = calloc(1, sizeof(*p));
	if (!p)
		return FWD_ENOMEM;
	p->base = base;
	p->clock = clock;
	p->pub = pub;
	p->guard = guard;
	p->up = upstream_new(base, clock, PROBE_PENDING, probe_done, p);
	p->again = evtimer_new(base, again_cb, p);
	if (!p->up || !p->again) {
		loop_probe_free(p);
		return FWD_ENOMEM;
	}
	*out = p;
	return FWD_OK;
}

void loop_probe_free(struct loop_probe *p)
{
	if (!p)
		return;
	if (p->again)
		event_free(p->again);
	upstream_free(p->up);
	free(p);
}

/* Send the probe of (zone, group) when it is due; *wait_ms: the shortest
 * wait of a route that was not (0 when none). */
static void probe_route(struct loop_probe *p, struct snapshot *snap, const char *zone, size_t group,
			uint64_t *wait_ms)
{
	const struct cfg *cfg = snap->cfg;
	const struct cfg_upstream *g = &cfg->upstreams[group];
	char nonce[LOOP_PROBE_NONCE_LEN], text[LOOP_TEXT_MAX + 64];
	uint8_t name[WIRE_MAX_NAME], pkt[WIRE_HDR_LEN + WIRE_MAX_NAME + 4 + 11];
	struct wire_query q;
	struct probe_ctx c;
	uint64_t wait = 0;

	if (g->nservers == 0)
		return;
	enum fwd_err rc = loop_probe_begin(p->guard, g->name, zone, (uint64_t)cfg->loop_probe_interval_s * 1000u,
					   &c.route, nonce, &wait);
	if (rc != FWD_OK) {
		if (wait && (*wait_ms == 0 || wait < *wait_ms))
			*wait_ms = wait;
		return;
	}
	snprintf(text, sizeof(text), "%.*s.%s.%s", LOOP_PROBE_NONCE_LEN, nonce, LOOP_PROBE_LABEL,
		 strcmp(zone, ".") == 0 ? "" : zone);
	int nlen = wire_name_from_text(text, name);
	size_t plen = nlen > 0 ? splice_make_query(name, (size_t)nlen, TYPE_HINFO_, 0, 0, pkt, sizeof(pkt)) : 0;
	if (plen == 0 || wire_parse_query(pkt, plen, &q) != WIRE_OK ||
	    upstream_send(p->up, snap, group, &q, 0, &c, sizeof(c)) != FWD_OK) {
		/* a zone name too long for the probe's two labels, or no slot */
		loop_probe_end(p->guard, c.route, LOOP_PROBE_FAILED, -1);
		return;
	}
	log_debug("loop probe: %s HINFO sent through group %s", text, g->name);
}

void loop_probe_run(struct loop_probe *p)
{
	struct snapshot *snap = snapshot_pub_acquire(p->pub);
	uint64_t wait_ms = 0;

	if (!snap)
		return;
	const struct cfg *cfg = snap->cfg;
	evtimer_del(p->again);
	loop_routes_sweep_begin(p->guard);
	if (cfg->loop_probe) {
		for (size_t i = 0; i < cfg->nforwards; i++)
			probe_route(p, snap, cfg->forwards[i].suffix, cfg->forwards[i].group_index, &wait_ms);
		for (size_t i = 0; i < cfg->nzones; i++)
			if (cfg->zones[i].fallback_public)
				probe_route(p, snap, cfg->zones[i].name, cfg->group_default, &wait_ms);
		probe_route(p, snap, ".", cfg->group_default, &wait_ms);
	}
	loop_routes_sweep_end(p->guard);
	if (wait_ms) {
		struct timeval tv = {(time_t)(wait_ms / 1000u), (suseconds_t)(wait_ms % 1000u) * 1000};
		evtimer_add(p->again, &tv);
	}
	snapshot_unref(snap);
}
