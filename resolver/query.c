/*
 * query.c -- the request lifecycle (policy in query.h and docs/bad-input.md).
 */
#include "query.h"

#include <string.h>

#include "acl.h"
#include "client.h"
#include "config.h"
#include "listener.h"
#include "log.h"
#include "route.h"
#include "snapshot.h"
#include "wire.h"
#include "worker.h"
#include "zone.h"

/* Reply limit for this client: its UDP limit, or a whole TCP message. */
static size_t reply_limit(const struct client *cl, const struct wire_query *q)
{
	return cl->transport == CLIENT_TCP ? WIRE_MAX_MSG : wire_udp_limit(q);
}

static size_t error_reply(struct worker *w, const struct wire_query *q, int rcode, uint8_t *out,
			  size_t cap)
{
	switch (rcode) {
	case RCODE_REFUSED: w->stats.refused++; break;
	case RCODE_SERVFAIL: w->stats.servfail++; break;
	case RCODE_FORMERR: w->stats.formerr++; break;
	case RCODE_NOTIMP: w->stats.notimp++; break;
	default: break;
	}
	return wire_reply_error(q, rcode, WIRE_RA, out, cap);
}

/* Hand the query to the upstream group; an immediate error reply when that
 * cannot happen. */
static size_t forward(struct worker *w, size_t group, const uint8_t *pkt, size_t len,
		      const struct wire_query *q, const struct client *cl, uint8_t *out, size_t cap,
		      int *forwarded)
{
	int rc = upstream_send(w->up, w->snap, group, pkt, len, q, cl, cl->transport == CLIENT_TCP);
	if (rc == 0) {
		*forwarded = 1;
		return 0;
	}
	/* upstream.c logs the empty group (rate limited) and pool exhaustion */
	return error_reply(w, q, rc == FWD_ENOENT ? RCODE_REFUSED : RCODE_SERVFAIL, out, cap);
}

size_t query_handle(struct worker *w, const uint8_t *pkt, size_t len, const struct client *cl,
		    uint8_t *out, size_t cap, int *forwarded)
{
	struct wire_query q;
	const struct snapshot *snap = w->snap;
	enum wire_verdict v = wire_parse_query(pkt, len, &q);

	*forwarded = 0;
	if (v == WIRE_DROP) {
		w->stats.dropped++;
		return 0;
	}
	if (!acl_allowed(snap->acl, (const struct sockaddr *)&cl->addr))
		return error_reply(w, &q, RCODE_REFUSED, out, cap);
	switch (v) {
	case WIRE_OK: break;
	case WIRE_NOTIMP: return error_reply(w, &q, RCODE_NOTIMP, out, cap);
	case WIRE_BADVERS: return error_reply(w, &q, RCODE_BADVERS, out, cap);
	default: return error_reply(w, &q, RCODE_FORMERR, out, cap);
	}
	if (q.qclass != CLASS_IN)
		return error_reply(w, &q, RCODE_REFUSED, out, cap);
	if (q.qtype == TYPE_AXFR || q.qtype == TYPE_IXFR)
		return error_reply(w, &q, RCODE_NOTIMP, out, cap);

	const struct route_target *rt = route_lookup(snap->routes, q.qname, q.qname_len);
	if (rt->kind == ROUTE_ZONE) {
		enum zone_status st;
		size_t n = zone_answer(rt->zone, &q, reply_limit(cl, &q), out, cap, &st);
		if (st == ZONE_NXDOMAIN && rt->fallback_public) {
			/* Azure's NxDomainRedirect: a name the private zone does not
			 * know is resolved the public way instead of denied. */
			return forward(w, snap->cfg->group_default, pkt, len, &q, cl, out, cap, forwarded);
		}
		if (n > 3)
			out[3] |= (uint8_t)WIRE_RA; /* we do offer recursion (forwarding) */
		w->stats.answers_local++;
		return n;
	}
	return forward(w, rt->group, pkt, len, &q, cl, out, cap, forwarded);
}

void query_upstream_done(void *ctx, const struct client *cl, enum upstream_status st,
			 const uint8_t *reply, size_t len, const uint8_t *query, size_t qlen)
{
	struct worker *w = ctx;
	struct wire_query q;
	uint8_t buf[WIRE_MIN_UDP + 64];

	/* The query was accepted once, so it parses again; we need q for the
	 * client's limits and for an error reply echoing its question. */
	if (wire_parse_query(query, qlen, &q) != WIRE_OK)
		return;
	if (st == UPSTREAM_OK) {
		size_t limit = reply_limit(cl, &q);
		w->stats.answers_forwarded++;
		if (len > limit) {
			/* The upstream answered over TCP (after TC) or for a larger
			 * EDNS size than this client takes: send header+question
			 * with TC so the client retries over TCP. */
			size_t n = q.q_end;
			if (n + 11 > sizeof(buf))
				return;
			memcpy(buf, reply, n);
			n = wire_truncate(&q, buf, len, limit);
			listener_send(w->lst, cl, buf, n);
			return;
		}
		/* upstream flags are kept, but the client asked us, and we
		 * recurse (by forwarding): RA tells it so */
		if (!(reply[3] & WIRE_RA) && len <= sizeof(w->scratch)) {
			memcpy(w->scratch, reply, len);
			w->scratch[3] |= (uint8_t)WIRE_RA;
			reply = w->scratch;
		}
		listener_send(w->lst, cl, reply, len);
		return;
	}
	size_t n = error_reply(w, &q, RCODE_SERVFAIL, buf, sizeof(buf));
	if (n)
		listener_send(w->lst, cl, buf, n);
}
