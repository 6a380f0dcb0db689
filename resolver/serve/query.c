/*
 * query.c -- the request lifecycle (policy in query.h and docs/bad-input.md).
 *
 * Beyond validation and routing (query.h), a forwarded question goes
 * through these steps; docs/resolution.md tells the same story for admins.
 *
 *   cache ── hit ──────────────────────────────────────────────► answer
 *     └ miss ─► upstream group (stage CLIENT)
 *                 ├ NXDOMAIN, rule with fallback ─► "default" (stage FALLBACK)
 *                 ├ CNAME chain into an owned name ─► splice:
 *                 │     zone data ──────────────────────────────► answer
 *                 │     forwarded ─► owner's group (continuation) ─► answer
 *                 └ anything else ──────────────────────────────► answer
 *   every answer built from upstream data is offered to the cache;
 *   an upstream failure answers from an expired entry (serve-stale) or SERVFAIL.
 *
 * The stage and the continuation travel in the struct client copy that
 * upstream.c keeps for the query, so the completion callback knows which
 * step finished without any lookup table.
 */
#include "query.h"

#include <string.h>

#include "acl.h"
#include "cache.h"
#include "client.h"
#include "config.h"
#include "daemon.h"
#include "listener.h"
#include "log.h"
#include "route.h"
#include "snapshot.h"
#include "splice.h"
#include "stats.h"
#include "wire.h"
#include "worker.h"
#include "zone.h"

/* struct client .stage */
enum { QUERY_STAGE_CLIENT = 0, QUERY_STAGE_FALLBACK = 1 };

#define PRIVATELINK_PREFIX "privatelink."

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

static inline struct cache *worker_cache(const struct worker *w)
{
	return w->d ? w->d->cache : NULL;
}

static void cache_ttl_of(const struct cfg *cfg, struct cache_ttl *t)
{
	t->min_ttl = (uint32_t)cfg->cache_min_ttl;
	t->max_ttl = (uint32_t)cfg->cache_max_ttl;
	t->neg_max_ttl = (uint32_t)cfg->cache_neg_max_ttl;
}

/* Offer an answer built from upstream data to the cache.  gen_dep: the
 * answer depends on routes or zones (see cache_insert). */
static void cache_store(struct worker *w, const struct wire_query *q, const uint8_t *msg, size_t len,
			int gen_dep)
{
	struct cache *c = worker_cache(w);
	struct cache_ttl t;

	if (!c)
		return;
	cache_ttl_of(w->snap->cfg, &t);
	cache_insert(c, q, msg, len, &t, gen_dep ? w->snap->generation : 0, fwd_now_ms());
}

/* RFC 8767: every server failed; an answer that expired less than
 * serve-stale seconds ago is better than SERVFAIL.  0 when there is none. */
static size_t stale_answer(struct worker *w, const struct wire_query *q, const struct client *cl,
			   uint8_t *out, size_t cap)
{
	struct cache *c = worker_cache(w);
	int window = w->snap->cfg->serve_stale;
	size_t n;

	if (!c || window <= 0)
		return 0;
	n = cache_answer(c, q, w->snap->generation, fwd_now_ms(), CACHE_STALE, (uint32_t)window, out, cap,
			 reply_limit(cl, q));
	if (n)
		w->stats.cache_stale++;
	return n;
}

/*
 * Does NXDOMAIN from this route's group send the question on to "default"?
 * Zones carry it in the route; the catalogue follows privatelink-fallback;
 * an admin rule its own fallback:, or privatelink-fallback for a
 * privatelink.* suffix.  Only called for NXDOMAIN replies, so the scan
 * over the (few) forward rules is off the common path.
 */
static int route_fallback(const struct cfg *cfg, const struct route_target *rt)
{
	if (rt->kind == ROUTE_ZONE)
		return rt->fallback_public;
	if (rt->origin == ORIGIN_CATALOGUE)
		return cfg->privatelink_fallback;
	if (rt->origin != ORIGIN_FORWARD || !rt->name)
		return 0;
	for (size_t i = 0; i < cfg->nforwards; i++) {
		const struct cfg_forward *f = &cfg->forwards[i];
		if (f->suffix && strcmp(f->suffix, rt->name) == 0) {
			if (f->fallback_set)
				return f->fallback_public;
			return strncmp(f->suffix, PRIVATELINK_PREFIX, sizeof(PRIVATELINK_PREFIX) - 1) == 0
				       ? cfg->privatelink_fallback
				       : 0;
		}
	}
	return 0;
}

/* Hand the query to the upstream group; an immediate reply when that
 * cannot happen (stale data, or an error). */
static size_t forward(struct worker *w, size_t group, int stage, const uint8_t *pkt, size_t len,
		      const struct wire_query *q, const struct client *cl, uint8_t *out, size_t cap,
		      int *forwarded, enum stats_source *src)
{
	struct client c = *cl;
	size_t n;

	c.stage = (uint8_t)stage;
	c.cont = NULL;
	int rc = upstream_send(w->up, w->snap, group, pkt, len, q, &c, cl->transport == CLIENT_TCP);
	if (rc == 0) {
		w->stats.cache_misses++;
		*forwarded = 1;
		return 0;
	}
	/* upstream.c logs the empty group (rate limited) and pool exhaustion */
	if (rc != FWD_ENOENT && (n = stale_answer(w, q, cl, out, cap)) != 0) {
		*src = STATS_SRC_CACHE;
		return n;
	}
	return error_reply(w, q, rc == FWD_ENOENT ? RCODE_REFUSED : RCODE_SERVFAIL, out, cap);
}

/* A cached answer for q, or 0.  Allocation-free. */
static inline size_t cached(struct worker *w, const struct wire_query *q, const struct client *cl,
			    uint8_t *out, size_t cap)
{
	struct cache *c = worker_cache(w);
	if (!c)
		return 0;
	/* start_us is the batch's arrival time: one clock read per batch */
	size_t n = cache_answer(c, q, w->snap->generation, cl->start_us / 1000u, CACHE_FRESH,
				(uint32_t)w->snap->cfg->serve_stale, out, cap, reply_limit(cl, q));
	if (n)
		w->stats.cache_hits++;
	return n;
}

/* The body of query_handle; *src tells where an immediate reply came from
 * (left at STATS_SRC_ERROR for the replies plinkfwd makes up itself). */
static size_t handle(struct worker *w, const uint8_t *pkt, size_t len, const struct client *cl,
		     uint8_t *out, size_t cap, int *forwarded, enum stats_source *src)
{
	struct wire_query q;
	const struct snapshot *snap = w->snap;
	enum wire_verdict v = wire_parse_query(pkt, len, &q);
	size_t n;

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
		n = zone_answer(rt->zone, &q, reply_limit(cl, &q), out, cap, &st);
		if (st == ZONE_NXDOMAIN && rt->fallback_public) {
			/* Azure's NxDomainRedirect: a name the private zone does not
			 * know is resolved the public way instead of denied. */
			if ((n = cached(w, &q, cl, out, cap)) != 0) {
				*src = STATS_SRC_CACHE;
				return n;
			}
			return forward(w, snap->cfg->group_default, QUERY_STAGE_FALLBACK, pkt, len, &q, cl, out,
				       cap, forwarded, src);
		}
		if (n > 3)
			out[3] |= (uint8_t)WIRE_RA; /* we do offer recursion (forwarding) */
		w->stats.answers_local++;
		*src = rt->origin == ORIGIN_ZONE_ARM ? STATS_SRC_SYNCED : STATS_SRC_LOCAL;
		return n;
	}
	if ((n = cached(w, &q, cl, out, cap)) != 0) {
		*src = STATS_SRC_CACHE;
		return n;
	}
	return forward(w, rt->group, QUERY_STAGE_CLIENT, pkt, len, &q, cl, out, cap, forwarded, src);
}

size_t query_handle(struct worker *w, const uint8_t *pkt, size_t len, const struct client *cl,
		    uint8_t *out, size_t cap, int *forwarded)
{
	enum stats_source src = STATS_SRC_ERROR;
	size_t n = handle(w, pkt, len, cl, out, cap, forwarded, &src);
	if (n)
		stats_reply(w, cl, src, out, n); /* counters and the query log line */
	return n;
}

/* ------------------------------------------------------------ completions */

/* Send an answer built from upstream data to the client; q is the client's
 * query.  msg may be changed (RA, truncation) when it is not const data. */
static void send_answer(struct worker *w, const struct client *cl, const struct wire_query *q,
			const uint8_t *msg, size_t len)
{
	uint8_t buf[WIRE_MIN_UDP + 64];
	size_t limit = reply_limit(cl, q);

	stats_forwarded(w, cl, q, 1, msg, len);
	w->stats.answers_forwarded++;
	if (len > limit) {
		/* The upstream answered over TCP (after TC) or for a larger
		 * EDNS size than this client takes: send header+question
		 * with TC so the client retries over TCP. */
		size_t n = q->q_end;
		if (n + 11 > sizeof(buf))
			return;
		memcpy(buf, msg, n);
		n = wire_truncate(q, buf, len, limit);
		listener_send(w->lst, cl, buf, n);
		return;
	}
	/* upstream flags are kept, but the client asked us, and we
	 * recurse (by forwarding): RA tells it so */
	if (!(msg[3] & WIRE_RA) && len <= sizeof(w->scratch)) {
		if (msg != w->scratch)
			memcpy(w->scratch, msg, len);
		w->scratch[3] |= (uint8_t)WIRE_RA;
		msg = w->scratch;
	}
	listener_send(w->lst, cl, msg, len);
}

/* Every server failed (or the step could not start): a stale answer when
 * serve-stale has one, else SERVFAIL. */
static void send_failure(struct worker *w, const struct client *cl, const struct wire_query *q)
{
	size_t n = stale_answer(w, q, cl, w->scratch, sizeof(w->scratch));
	if (n) {
		stats_forwarded(w, cl, q, 1, w->scratch, n);
		listener_send(w->lst, cl, w->scratch, n);
		return;
	}
	uint8_t buf[WIRE_MIN_UDP + 64];
	stats_forwarded(w, cl, q, 0, NULL, 0);
	n = error_reply(w, q, RCODE_SERVFAIL, buf, sizeof(buf));
	if (n)
		listener_send(w->lst, cl, buf, n);
}

static void send_error(struct worker *w, const struct client *cl, const struct wire_query *q, int rcode)
{
	uint8_t buf[WIRE_MIN_UDP + 64];
	stats_forwarded(w, cl, q, 0, NULL, 0);
	size_t n = error_reply(w, q, rcode, buf, sizeof(buf));
	if (n)
		listener_send(w->lst, cl, buf, n);
}

/* A spliced reply is complete in msg: cache it, send it. */
static void send_spliced(struct worker *w, const struct client *cl, const struct wire_query *q,
			 uint8_t *msg, size_t len)
{
	w->stats.spliced++;
	cache_store(w, q, msg, len, 1);
	size_t limit = reply_limit(cl, q);
	if (len > limit)
		len = wire_truncate(q, msg, len, limit);
	stats_forwarded(w, cl, q, 1, msg, len);
	w->stats.answers_forwarded++;
	listener_send(w->lst, cl, msg, len);
}

struct owned_ctx {
	const struct snapshot *snap;
	size_t group; /* the group whose answer is being cut */
};

/*
 * Is a CNAME target plinkfwd's to answer?  A zone (file or ARM), the
 * privatelink catalogue, or an admin rule for a privatelink.* suffix --
 * unless that name goes to the very group that gave the public answer: that
 * resolver already followed the chain with the same view (e.g. both groups
 * are 168.63.129.16) and a second question would only repeat its answer.
 */
static int owned_cb(void *ctx, const uint8_t *name, size_t len)
{
	const struct owned_ctx *oc = ctx;
	const struct route_target *rt = route_lookup(oc->snap->routes, name, len);

	if (rt->kind == ROUTE_ZONE)
		return 1;
	if (rt->group == oc->group)
		return 0;
	if (rt->origin == ORIGIN_CATALOGUE)
		return 1;
	return rt->origin == ORIGIN_FORWARD && rt->name &&
	       strncmp(rt->name, PRIVATELINK_PREFIX, sizeof(PRIVATELINK_PREFIX) - 1) == 0;
}

/*
 * The public answer (reply) to the client's question q enters an owned
 * name at cut.  Complete it from the zone now, or ask the owner's group and
 * finish in splice_resume().
 */
static void splice_start(struct worker *w, const struct client *cl, const struct wire_query *q,
			 const uint8_t *query, size_t qlen, const uint8_t *reply, size_t len,
			 const struct splice_cut *cut)
{
	struct splice_pool *sp = w->splice;
	const struct snapshot *snap = w->snap;
	size_t chain_len, n;

	if (!sp) {
		send_error(w, cl, q, RCODE_SERVFAIL);
		return;
	}
	chain_len = splice_copy_chain(reply, len, cut, q->qname, q->qname_len, sp->part, sizeof(sp->part));
	if (chain_len == 0) {
		send_error(w, cl, q, RCODE_SERVFAIL);
		return;
	}
	const struct route_target *tr = route_lookup(snap->routes, cut->target, cut->target_len);
	if (tr->kind == ROUTE_ZONE) {
		enum zone_status zst;
		uint16_t cnt = 0, nscnt = 0;
		size_t pn = zone_lookup_rrs(tr->zone, cut->target, cut->target_len, q->qtype, sp->part + chain_len,
					    sizeof(sp->part) - chain_len, &cnt, &zst);
		size_t ns_len = 0;

		if (zst == ZONE_NXDOMAIN && cnt == 0 && tr->fallback_public) {
			/* no private record: the public answer, as Azure's
			 * fallback to internet resolution gives it */
			w->stats.fallbacks++;
			cache_store(w, q, reply, len, 1);
			send_answer(w, cl, q, reply, len);
			return;
		}
		if (zst == ZONE_NXDOMAIN || zst == ZONE_NODATA) {
			/* RFC 2308: the zone's SOA makes the negative answer cacheable */
			size_t alen;
			const uint8_t *apex = zone_apex(tr->zone, &alen);
			enum zone_status sst;
			ns_len = zone_lookup_rrs(tr->zone, apex, alen, TYPE_SOA, sp->part + chain_len + pn,
						 sizeof(sp->part) - chain_len - pn, &nscnt, &sst);
		}
		n = splice_assemble(q, zst == ZONE_NXDOMAIN ? RCODE_NXDOMAIN : RCODE_NOERROR, sp->part,
				    chain_len + pn, (uint16_t)(cut->nsteps + cnt), sp->part + chain_len + pn, ns_len,
				    nscnt, sp->msg, sizeof(sp->msg));
		if (n == 0) {
			send_error(w, cl, q, RCODE_SERVFAIL);
			return;
		}
		send_spliced(w, cl, q, sp->msg, n);
		return;
	}

	/* forwarded: ask the owner's group for the target, same type and DO */
	uint8_t pq[WIRE_HDR_LEN + WIRE_MAX_NAME + 4 + 11];
	struct wire_query pqq;
	size_t pqlen = splice_make_query(cut->target, cut->target_len, q->qtype, 1, q->do_bit, pq, sizeof(pq));
	if (pqlen == 0 || wire_parse_query(pq, pqlen, &pqq) != WIRE_OK) {
		send_error(w, cl, q, RCODE_SERVFAIL);
		return;
	}
	struct splice_cont *ct = splice_cont_new(sp, cl, query, qlen, reply, len, sp->part, chain_len, cut->nsteps);
	if (!ct) {
		send_error(w, cl, q, RCODE_SERVFAIL);
		return;
	}
	ct->cl.stage = QUERY_STAGE_CLIENT;
	ct->fallback = route_fallback(snap->cfg, tr);
	struct client c = ct->cl;
	c.cont = ct;
	int rc = upstream_send(w->up, w->snap, tr->group, pq, pqlen, &pqq, &c, cl->transport == CLIENT_TCP);
	if (rc != 0) {
		splice_cont_free(sp, ct);
		if (rc == FWD_ENOENT)
			send_error(w, cl, q, RCODE_REFUSED); /* as a direct question for the name */
		else
			send_failure(w, cl, q);
	}
}

/* The private half of a spliced answer is back (or failed). */
static void splice_resume(struct worker *w, const struct client *cl, enum upstream_status st,
			  const uint8_t *reply, size_t len)
{
	struct splice_pool *sp = w->splice;
	struct splice_cont *ct = cl->cont;
	struct wire_query q;
	const struct client *ocl = &ct->cl;

	if (wire_parse_query(ct->query, ct->qlen, &q) != WIRE_OK) {
		splice_cont_free(sp, ct); /* cannot happen: it parsed when it came */
		return;
	}
	if (st != UPSTREAM_OK || len < WIRE_HDR_LEN) {
		send_failure(w, ocl, &q);
		splice_cont_free(sp, ct);
		return;
	}
	int rcode = (int)WIRE_RCODE(reply[3]);
	if (rcode == RCODE_NXDOMAIN && ct->fallback) {
		w->stats.fallbacks++;
		cache_store(w, &q, ct->pub, ct->pub_len, 1);
		send_answer(w, ocl, &q, ct->pub, ct->pub_len);
		splice_cont_free(sp, ct);
		return;
	}
	uint16_t pcnt = 0, nscnt = 0;
	size_t n, ns_len = 0;
	memcpy(sp->part, ct->chain, ct->chain_len);
	size_t pn = splice_copy_section(reply, len, 1, 0, NULL, 0, sp->part + ct->chain_len,
					sizeof(sp->part) - ct->chain_len, &pcnt);
	if (rcode == RCODE_NXDOMAIN || pcnt == 0)
		ns_len = splice_copy_section(reply, len, 2, TYPE_SOA, NULL, 0, sp->part + ct->chain_len + pn,
					     sizeof(sp->part) - ct->chain_len - pn, &nscnt);
	n = splice_assemble(&q, rcode, sp->part, ct->chain_len + pn, (uint16_t)(ct->chain_count + pcnt),
			    sp->part + ct->chain_len + pn, ns_len, nscnt, sp->msg, sizeof(sp->msg));
	if (n == 0)
		send_error(w, ocl, &q, RCODE_SERVFAIL);
	else
		send_spliced(w, ocl, &q, sp->msg, n);
	splice_cont_free(sp, ct);
}

void query_upstream_done(void *ctx, const struct client *cl, enum upstream_status st,
			 const uint8_t *reply, size_t len, const uint8_t *query, size_t qlen)
{
	struct worker *w = ctx;
	struct wire_query q;

	if (cl->cont) {
		splice_resume(w, cl, st, reply, len);
		return;
	}
	/* The query was accepted once, so it parses again; we need q for the
	 * client's limits and for an error reply echoing its question. */
	if (wire_parse_query(query, qlen, &q) != WIRE_OK)
		return;
	if (st != UPSTREAM_OK || len < WIRE_HDR_LEN) {
		send_failure(w, cl, &q);
		return;
	}

	const struct snapshot *snap = w->snap;
	const struct route_target *rt = route_lookup(snap->routes, q.qname, q.qname_len);
	int rcode = (int)WIRE_RCODE(reply[3]);
	size_t group = (cl->stage == QUERY_STAGE_FALLBACK || rt->kind != ROUTE_FORWARD)
			       ? snap->cfg->group_default
			       : rt->group;

	/* a forwarded privatelink zone without the name: public resolution */
	if (cl->stage == QUERY_STAGE_CLIENT && rcode == RCODE_NXDOMAIN && rt->kind == ROUTE_FORWARD &&
	    group != snap->cfg->group_default && route_fallback(snap->cfg, rt)) {
		struct client c = *cl;
		c.stage = QUERY_STAGE_FALLBACK;
		if (upstream_send(w->up, w->snap, snap->cfg->group_default, query, qlen, &q, &c,
				  cl->transport == CLIENT_TCP) == 0) {
			w->stats.fallbacks++;
			return;
		}
		/* "default" cannot be asked: the NXDOMAIN we have is the answer */
	}

	struct splice_cut cut;
	struct owned_ctx oc = {snap, group};
	cut.has_cname = 0;
	if ((rcode == RCODE_NOERROR || rcode == RCODE_NXDOMAIN) && wire_get16(reply + 6) > 0 &&
	    splice_find(reply, len, q.qname, q.qname_len, owned_cb, &oc, &cut) == 1) {
		splice_start(w, cl, &q, query, qlen, reply, len, &cut);
		return;
	}
	/* A chain may be cut by a zone or rule added later, and a zone's
	 * fallback answer stands only while the zone lacks the name. */
	cache_store(w, &q, reply, len, cut.has_cname || rt->kind == ROUTE_ZONE);
	send_answer(w, cl, &q, reply, len);
}
