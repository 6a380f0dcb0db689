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
 * Each question is parsed once and routed once, here in handle().  What a
 * forwarded step needs -- client, snapshot, route, group, stage,
 * continuation -- is one struct query_step (step.h) that upstream.c carries
 * by value and hands back to query_done(), so the completion knows which
 * step finished, and finishes it against the snapshot the question started
 * with, without parsing, routing or any lookup table.
 */
#include "query.h"

#include <stdio.h>
#include <string.h>

#include "acl.h"
#include "cache.h"
#include "client.h"
#include "clock.h"
#include "config.h"
#include "cont.h"
#include "ddr.h"
#include "edns.h"
#include "log.h"
#include "loop.h"
#include "loop_addrs.h"
#include "route.h"
#include "snapshot.h"
#include "splice.h"
#include "step.h"
#include "upstream.h"
#include "upstream_log.h"
#include "wire.h"
#include "zone.h"

_Static_assert(sizeof(struct query_step) <= UPSTREAM_CTX_MAX, "a query_step must fit an upstream slot");

#define PRIVATELINK_PREFIX "privatelink."

/* Reply limit for this client: its UDP limit, or a whole TCP message. */
static size_t reply_limit(const struct client *cl, const struct wire_query *q)
{
	return client_is_stream(cl->transport) ? WIRE_MAX_MSG : wire_udp_limit(q);
}

/*
 * EDNS is hop by hop (docs/edns.md): every answer carries plinkfwd's own
 * OPT built for this client (its cookie, NSID, EDE), never the upstream's.
 * r is filled for the client ec; ede: plinkfwd's own EDE options or NULL.
 * AA is cleared on everything that is not plinkfwd's own zone data.
 */
static void reply_opts(const struct snapshot *snap, const struct edns_client *ec, uint16_t clear_flags,
		       const struct edns_ede_list *ede, const struct edns_ede_list *up, struct edns_reply *r)
{
	memset(r, 0, sizeof(*r));
	r->client = ec;
	r->rcode = -1;
	r->flags_clear = clear_flags;
	r->flags_set = WIRE_RA;
	r->nsid = (const uint8_t *)snap->cfg->nsid;
	r->nsid_len = (uint16_t)snap->cfg->nsid_len;
	r->ede = ede;
	r->upstream_ede = up;
}

/* Does an answer that already has a plain OPT (zone data, the cache) need
 * plinkfwd's options added?  Only when the client sent a cookie or asked
 * for a configured NSID: the common answer is sent as it was built. */
static inline int needs_opts(const struct snapshot *snap, const struct edns_client *ec)
{
	return ec->has_edns && (ec->cookie_len || (ec->nsid && snap->cfg->nsid_len));
}

/* Put plinkfwd's OPT on msg (len bytes, cap room) within limit; when it
 * does not fit, the truncated form with TC.  0 when neither can be made. */
static size_t finish_opts(uint8_t *msg, size_t len, size_t cap, size_t limit, const struct edns_reply *r)
{
	size_t n = edns_finish_reply(msg, len, cap, limit, r);
	return n ? n : edns_truncate_reply(msg, len, cap, limit, r);
}

/* An error answer made up by plinkfwd.  ra: offer recursion (not on
 * NOTIMP, which echoes no request flags); r: the client's EDNS state and
 * EDE, or NULL before EDNS was looked at. */
static size_t error_reply(struct query_engine *e, const struct wire_query *q, int rcode, int ra,
			  const struct edns_reply *r, uint8_t *out, size_t cap)
{
	switch (rcode) {
	case RCODE_REFUSED: STATS_INC(e->stats.refused); break;
	case RCODE_SERVFAIL: STATS_INC(e->stats.servfail); break;
	case RCODE_FORMERR: STATS_INC(e->stats.formerr); break;
	case RCODE_NOTIMP: STATS_INC(e->stats.notimp); break;
	default: break;
	}
	return edns_reply_error(q, rcode, ra, r, out, cap);
}

static void cache_ttl_of(const struct cfg *cfg, struct cache_ttl *t)
{
	t->min_ttl = (uint32_t)cfg->cache_min_ttl;
	t->max_ttl = (uint32_t)cfg->cache_max_ttl;
	t->neg_max_ttl = (uint32_t)cfg->cache_neg_max_ttl;
}

/* Offer an answer built from upstream data to the cache; snap is the
 * snapshot the question started with.  gen_dep: the answer depends on
 * routes or zones (see cache_insert). */
static void cache_store(struct query_engine *e, const struct snapshot *snap, const struct wire_query *q,
			const uint8_t *msg, size_t len, int gen_dep)
{
	struct cache_ttl t;

	if (!e->cache)
		return;
	cache_ttl_of(snap->cfg, &t);
	cache_insert(e->cache, q, msg, len, &t, gen_dep ? snap->generation : 0, clock_ms(e->clock));
}

/* "N server(s) WHAT" alone, or "N WHAT" among others, appended at *n. */
static void why_part(char *buf, size_t len, size_t *n, int *parts, int nparts, unsigned count,
		     const char *what)
{
	int w;
	if (count == 0 || *n >= len - 1)
		return;
	if (nparts == 1)
		w = snprintf(buf + *n, len - *n, "%u server%s %s", count, count == 1 ? "" : "s", what);
	else
		w = snprintf(buf + *n, len - *n, "%s%u %s", *parts ? ", " : "", count, what);
	if (w > 0)
		*n += (size_t)w;
	(*parts)++;
}

/*
 * The EDE of a failed step (RFC 8914): returns the code -- 23 Network
 * Error when servers were unreachable and none answered, else 22 No
 * Reachable Authority (timeouts, SERVFAIL/REFUSED, malformed replies,
 * caps) -- and writes the EXTRA-TEXT: what happened in a few words, the
 * group's name and counts only, never an address, a path or anything else
 * of the configuration.  f NULL: the group has no server at all.
 */
static uint16_t failure_text(const char *gname, const struct upstream_failure *f,
			     char text[EDNS_EDE_TEXT_MAX + 1])
{
	const size_t cap = EDNS_EDE_TEXT_MAX + 1;
	size_t n;
	int parts = 0, w;
	uint16_t code = EDE_NO_REACHABLE_AUTHORITY;

	w = snprintf(text, cap, "%s group: ", gname);
	n = w < 0 ? 0 : (size_t)w < cap ? (size_t)w : cap - 1; /* cut: edns_ede_add cuts too */
	if (!f) {
		snprintf(text + n, cap - n, "no server configured");
	} else {
		int counted = (f->timeouts > 0) + (f->errors > 0) + (f->refused > 0) + (f->malformed > 0);
		if (f->errors && !f->refused && !f->malformed)
			code = EDE_NETWORK_ERROR;
		why_part(text, cap, &n, &parts, counted, f->timeouts, "timed out");
		why_part(text, cap, &n, &parts, counted, f->errors, "unreachable");
		why_part(text, cap, &n, &parts, counted, f->refused, counted == 1 ? "answered SERVFAIL/REFUSED"
											 : "SERVFAIL/REFUSED");
		why_part(text, cap, &n, &parts, counted, f->malformed, counted == 1 ? "sent malformed replies"
											   : "malformed");
		const char *more = f->busy      ? "too many queries pending"
				   : f->capped  ? "servers at their query caps"
				   : f->expired ? "query-timeout reached"
				   : parts      ? NULL
						: "no server answered";
		if (more && n < cap - 1)
			snprintf(text + n, cap - n, "%s%s", parts ? ", " : "", more);
	}
	text[cap - 1] = 0;
	return code;
}

/* failure_text() as an EDE appended to ede */
static void failure_ede(const char *gname, const struct upstream_failure *f, struct edns_ede_list *ede)
{
	char text[EDNS_EDE_TEXT_MAX + 1];
	uint16_t code = failure_text(gname, f, text);
	edns_ede_add(ede, code, text);
}

static const char *group_name(const struct cfg *cfg, size_t group)
{
	return group < cfg->nupstreams ? cfg->upstreams[group].name : "default";
}

/* RFC 8767: every server failed; an answer that expired less than
 * serve-stale seconds ago is better than SERVFAIL.  0 when there is none.
 * Its EDE 3 says why the group failed (f: upstream_last_failure()). */
static size_t stale_answer(struct query_engine *e, const struct snapshot *snap, const struct wire_query *q,
			   const struct client *cl, size_t group, const struct upstream_failure *f, uint8_t *out,
			   size_t cap)
{
	int window = snap->cfg->serve_stale;
	size_t n, limit = reply_limit(cl, q);
	struct edns_ede_list ede = {0};
	struct edns_reply r;

	if (!e->cache || window <= 0)
		return 0;
	n = cache_answer(e->cache, q, snap->generation, clock_ms(e->clock), CACHE_STALE, (uint32_t)window, out,
			 cap, limit);
	if (!n)
		return 0;
	STATS_INC(e->stats.cache_stale);
	/* RFC 8914: say that the data is stale, and why */
	char text[EDNS_EDE_TEXT_MAX + 1];
	failure_text(group_name(snap->cfg, group), f, text);
	edns_ede_add(&ede, EDE_STALE_ANSWER, text);
	reply_opts(snap, &cl->edns, WIRE_AA, &ede, NULL, &r);
	return finish_opts(out, n, cap, limit, &r);
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

/*
 * RFC 8914 Not Ready (14): the daemon syncs zones from ARM and none has
 * arrived yet (no synced zone in the snapshot: no sync round has published
 * one and state-dir had none), so a Private Link name -- what those zones
 * would answer: the catalogue's, or an admin rule's for a privatelink.*
 * suffix -- is answered by forwarding, or fails.  /readyz reports the same
 * state.  rt NULL: not the client's question.
 */
static int arm_not_ready(const struct snapshot *snap, const struct route_target *rt)
{
	if (!snap->cfg->arm || snap->nzones != snap->nfile_zones || !rt || rt->kind != ROUTE_FORWARD)
		return 0;
	return rt->origin == ORIGIN_CATALOGUE ||
	       (rt->origin == ORIGIN_FORWARD && rt->name &&
		strncmp(rt->name, PRIVATELINK_PREFIX, sizeof(PRIVATELINK_PREFIX) - 1) == 0);
}

/* EDE 22 with "forwarding loop via group NAME" (RFC 8914: the authority
 * cannot be reached, because asking it only brings the question back). */
static void loop_ede(const char *gname, struct edns_ede_list *ede)
{
	char text[EDNS_EDE_TEXT_MAX + 128]; /* edns_ede_add cuts it */
	snprintf(text, sizeof(text), "forwarding loop via group %.100s", gname);
	edns_ede_add(ede, EDE_NO_REACHABLE_AUTHORITY, text);
}

/* REFUSED or SERVFAIL because upstream group `group` could not answer the
 * question routed to rt (NULL for a later step), with EDEs that say why.
 * f: what the upstream engine reports, NULL when the group has no server;
 * looped: a loop was found for this question while it was in flight. */
static size_t failure_reply(struct query_engine *e, const struct snapshot *snap, const struct wire_query *q,
			    const struct edns_client *ec, const struct route_target *rt, size_t group,
			    const struct upstream_failure *f, int looped, int rcode, uint8_t *out, size_t cap)
{
	const char *gname = group_name(snap->cfg, group);
	struct edns_ede_list ede = {0};
	struct edns_reply r;

	if (FWD_UNLIKELY(looped))
		loop_ede(gname, &ede);
	if (FWD_UNLIKELY(arm_not_ready(snap, rt)))
		edns_ede_add(&ede, EDE_NOT_READY, "arm: no zone synced yet");
	failure_ede(gname, f, &ede);
	reply_opts(snap, ec, WIRE_AA, &ede, NULL, &r);
	return error_reply(e, q, rcode, 1, &r, out, cap);
}

/* Start a forwarded step: the upstream slot carries it by value.  A step
 * to a group with a server that may also query plinkfwd enters the shared
 * in-flight table, so that its question coming back is recognised (a step
 * of an older snapshot always does: this worker's view is of the new one). */
static enum fwd_err step_send(struct query_engine *e, struct query_step *st, const struct wire_query *q)
{
	st->loop_tracked = 0;
	if (e->loop && (st->snap != e->snap || loop_addrs_watched(e->laddrs, st->group))) {
		st->loop_key = loop_key(e->loop, st->group, q->qname, q->qname_len, q->qtype, q->qclass);
		st->loop_tracked = (uint8_t)loop_inflight_add(e->loop, st->loop_key);
	}
	enum fwd_err rc =
		upstream_send(e->up, st->snap, st->group, q, client_is_stream(st->cl.transport), st, sizeof(*st));
	if (rc != FWD_OK && st->loop_tracked)
		loop_inflight_del(e->loop, st->loop_key);
	return rc;
}

/* The step finished: out of the in-flight table.  1 when a loop was found
 * for its question meanwhile. */
static int step_end(struct query_engine *e, const struct query_step *st)
{
	return st->loop_tracked && e->loop ? loop_inflight_del(e->loop, st->loop_key) : 0;
}

/*
 * The client is a server of `group` and plinkfwd is asking that group the
 * same question right now: the question has gone round.  SERVFAIL now,
 * never a second lap (upstream/loop.h).  0 when it is not a loop.
 */
static size_t loop_check(struct query_engine *e, const struct route_target *rt, size_t group,
			 const struct wire_query *q, const struct client *cl, const struct edns_client *ec,
			 uint8_t *out, size_t cap)
{
	if (FWD_LIKELY(!loop_addrs_match(e->laddrs, &cl->addr, group)) || !e->loop)
		return 0;
	uint64_t k = loop_key(e->loop, group, q->qname, q->qname_len, q->qtype, q->qclass);
	if (!loop_inflight(e->loop, k))
		return 0;
	const char *gname = group_name(e->snap->cfg, group);
	char qb[WIRE_MAX_NAME * 4 + 8];
	loop_report(e->loop, k, gname, rt && rt->name ? rt->name : ".", &cl->addr,
		    wire_name_to_text(q->qname, qb, sizeof(qb)));
	struct edns_ede_list ede = {0};
	struct edns_reply r;
	loop_ede(gname, &ede);
	reply_opts(e->snap, ec, WIRE_AA, &ede, NULL, &r);
	return error_reply(e, q, RCODE_SERVFAIL, 1, &r, out, cap);
}

/* Hand the question to an upstream group; an immediate reply when that
 * cannot happen (stale data, or an error). */
static size_t forward(struct query_engine *e, const struct route_target *rt, size_t group, enum query_stage stage,
		      const struct wire_query *q, const struct client *cl, const struct edns_client *ec,
		      uint8_t *out, size_t cap, int *forwarded, enum stats_source *src)
{
	struct query_step st;
	size_t n;

	st.cl = *cl;
	st.cl.edns = *ec;
	st.snap = e->snap;
	st.rt = rt;
	st.group = (uint32_t)group;
	st.stage = stage;
	st.cont = NULL;
	if (FWD_UNLIKELY(e->laddrs && e->laddrs->watched) && (n = loop_check(e, rt, group, q, cl, ec, out, cap)) != 0)
		return n;
	enum fwd_err rc = step_send(e, &st, q);
	if (rc == FWD_OK) {
		STATS_INC(e->stats.cache_misses);
		*forwarded = 1;
		return 0;
	}
	/* upstream.c logs the empty group (rate limited) and pool exhaustion */
	struct upstream_failure f;
	upstream_last_failure(e->up, &f);
	if (rc != FWD_ENOENT && (n = stale_answer(e, e->snap, q, &st.cl, group, &f, out, cap)) != 0) {
		*src = STATS_SRC_STALE;
		return n;
	}
	return failure_reply(e, e->snap, q, ec, rt, group, rc == FWD_ENOENT ? NULL : &f, 0,
			     rc == FWD_ENOENT ? RCODE_REFUSED : RCODE_SERVFAIL, out, cap);
}

/* A cached answer for q, or 0.  Allocation-free. */
static inline size_t cached(struct query_engine *e, const struct wire_query *q, const struct client *cl,
			    const struct edns_client *ec, uint8_t *out, size_t cap)
{
	if (!e->cache)
		return 0;
	/* start_us is the batch's arrival time: one clock read per batch */
	size_t limit = reply_limit(cl, q);
	size_t n = cache_answer(e->cache, q, e->snap->generation, cl->start_us / 1000u, CACHE_FRESH,
				(uint32_t)e->snap->cfg->serve_stale, out, cap, limit);
	if (!n)
		return 0;
	STATS_INC(e->stats.cache_hits);
	if (FWD_UNLIKELY(needs_opts(e->snap, ec))) {
		struct edns_reply r;
		reply_opts(e->snap, ec, WIRE_AA, NULL, NULL, &r);
		n = finish_opts(out, n, cap, limit, &r);
	}
	return n;
}

/* The body of query_handle; *src tells where an immediate reply came from
 * (left at STATS_SRC_ERROR for the replies plinkfwd makes up itself). */
static size_t handle(struct query_engine *e, const uint8_t *pkt, size_t len, const struct client *cl,
		     uint8_t *out, size_t cap, int *forwarded, enum stats_source *src)
{
	struct wire_query q;
	const struct snapshot *snap = e->snap;
	enum wire_verdict v = wire_parse_query(pkt, len, &q);
	size_t n;

	*forwarded = 0;
	if (v == WIRE_DROP) {
		STATS_INC(e->stats.dropped);
		return 0;
	}
	/* RFC 1996: a NOTIFY is a primary's, not a client's question: the
	 * hook (resolver/xfr/xfr_in_notify.c) decides by the zone's primary:
	 * lines, before allow: does; 0 = not for a secondary zone here */
	if (FWD_UNLIKELY(v == WIRE_NOTIMP && WIRE_OPCODE(q.flags) == QUERY_OPCODE_NOTIFY && e->notify)) {
		n = e->notify(e->notify_arg, snap, pkt, len, &cl->addr, out, cap);
		if (n)
			return n;
	}

	/* EDNS of this hop: cookie checked, NSID asked; every answer below
	 * carries an OPT built for this client (docs/edns.md) */
	struct edns_query eq;
	struct edns_client ec;
	struct edns_reply r;
	const uint8_t *ip;
	enum edns_verdict ev = edns_parse(&q, &eq);
	struct edns_cookie_params cp = {
		.secret = e->cookies ? edns_cookie_keys_current(e->cookies) : NULL,
		.iplen = edns_addr_bytes((const struct sockaddr *)&cl->addr, &ip),
		.now = clock_wall_s(e->clock),
		.tcp = client_is_stream(cl->transport),
		.required_udp = (uint8_t)snap->cfg->cookies_required_udp,
	};
	cp.ip = ip;
	enum edns_action act = edns_client_init(&q, &eq, &cp, &ec);
	reply_opts(snap, &ec, WIRE_AA, NULL, NULL, &r);

	if (!acl_allowed(snap->acl, (const struct sockaddr *)&cl->addr)) {
		struct edns_ede_list ede = {0};
		edns_ede_add(&ede, EDE_PROHIBITED, NULL);
		r.ede = &ede;
		return error_reply(e, &q, RCODE_REFUSED, 1, &r, out, cap);
	}
	switch (v) {
	case WIRE_OK: break;
	case WIRE_NOTIMP: return error_reply(e, &q, RCODE_NOTIMP, 0, &r, out, cap);
	case WIRE_BADVERS: return error_reply(e, &q, RCODE_BADVERS, 1, &r, out, cap);
	default:
		/* RFC 7873 5.4: a query with no question, only a cookie, learns
		 * a server cookie */
		if (edns_cookie_only_query(&q, &eq, ev))
			return error_reply(e, &q, act == EDNS_BADCOOKIE ? RCODE_BADCOOKIE : RCODE_NOERROR, 1, &r,
					   out, cap);
		return error_reply(e, &q, RCODE_FORMERR, 1, &r, out, cap);
	}
	if (ev == EDNS_FORMERR) /* a COOKIE of a bad length, options overrunning the OPT */
		return error_reply(e, &q, RCODE_FORMERR, 1, &r, out, cap);
	if (ev == EDNS_BADVERS)
		return error_reply(e, &q, RCODE_BADVERS, 1, &r, out, cap);
	if (act == EDNS_BADCOOKIE)
		return error_reply(e, &q, RCODE_BADCOOKIE, 1, &r, out, cap);
	if (q.qclass != CLASS_IN)
		return error_reply(e, &q, RCODE_REFUSED, 1, &r, out, cap);
	if (q.qtype == TYPE_IXFR && cl->transport == CLIENT_UDP) {
		/* RFC 1995 sec. 2: over UDP an IXFR gets the current SOA alone
		 * (checked like a transfer: TSIG, allow-transfer), and asks
		 * again over TCP when it is behind (xfr/xfr_out.h) */
		struct xfr_out *x = NULL;
		enum xfr_outcome oc;
		if (xfr_out_start(snap, NULL, q.pkt, q.len, (const struct sockaddr *)&cl->addr, clock_wall_s(e->clock), 1,
				  &e->xfr_log, out, cap, &n, &x, &oc) == FWD_OK && x == NULL && n > 0 &&
		    n <= reply_limit(cl, &q)) {
			STATS_INC(e->stats.xfr[oc]);
			*src = STATS_SRC_LOCAL;
			return n;
		}
		xfr_out_free(x);
	}
	/* transfers over TCP and DoT never get here (serve/stream.c hands
	 * them to xfr/); AXFR over UDP or DoH is not implemented (RFC 5936
	 * sec. 4.2: TCP only) */
	if (q.qtype == TYPE_AXFR || q.qtype == TYPE_IXFR)
		return error_reply(e, &q, RCODE_NOTIMP, 0, &r, out, cap);

	if (FWD_UNLIKELY(q.qname[0] == LOOP_PROBE_NONCE_LEN) && e->loop) {
		/* <nonce>.plinkfwd-loop-probe.*: plinkfwd's own probe (loop.h)
		 * coming back is a looping route; such a name is never
		 * forwarded, so that a probe cannot go round even once more */
		char pg[LOOP_NAME_MAX];
		if (loop_probe_match(e->loop, q.qname, q.qname_len, &cl->addr, pg)) {
			struct edns_ede_list ede = {0};
			if (pg[0])
				loop_ede(pg, &ede);
			else
				edns_ede_add(&ede, EDE_NO_REACHABLE_AUTHORITY, "loop probe name: never forwarded");
			r.ede = &ede;
			return error_reply(e, &q, RCODE_SERVFAIL, 1, &r, out, cap);
		}
	}

	if (FWD_UNLIKELY(ddr_match(&q))) {
		/* RFC 9462: resolver.arpa is about plinkfwd itself, never
		 * forwarded (ddr.h) */
		size_t limit = reply_limit(cl, &q);
		if (ddr_answer(&q, snap->cfg, limit, out, cap, &n) != FWD_OK)
			return error_reply(e, &q, RCODE_SERVFAIL, 1, &r, out, cap);
		out[3] |= (uint8_t)WIRE_RA;
		if (FWD_UNLIKELY(needs_opts(snap, &ec))) {
			r.flags_clear = 0; /* plinkfwd's own data: AA stays */
			if ((n = finish_opts(out, n, cap, limit, &r)) == 0)
				return error_reply(e, &q, RCODE_SERVFAIL, 1, NULL, out, cap);
		}
		STATS_INC(e->stats.answers_local);
		*src = STATS_SRC_LOCAL;
		return n;
	}

	const struct route_target *rt = route_lookup(snap->routes, q.qname, q.qname_len);
	if (rt->kind == ROUTE_ZONE) {
		enum zone_status st;
		if (FWD_UNLIKELY(rt->down)) {
			/* a secondary zone with no copy to serve, as BIND and Knot
			 * answer it (docs/admin-guide.md, "Secondary zones") */
			struct edns_ede_list ede = {0};
			if (rt->down == 2)
				edns_ede_add(&ede, EDE_NO_REACHABLE_AUTHORITY, "secondary zone expired");
			else
				edns_ede_add(&ede, EDE_NOT_READY, "secondary zone not transferred yet");
			r.ede = &ede;
			return error_reply(e, &q, RCODE_SERVFAIL, 1, &r, out, cap);
		}
		size_t limit = reply_limit(cl, &q);
		/* RFC 8482: one RRset for ANY over UDP, all of them over TCP */
		n = client_is_stream(cl->transport) ? zone_answer_tcp(rt->zone, &q, limit, out, cap, &st)
						: zone_answer(rt->zone, &q, limit, out, cap, &st);
		if (st == ZONE_NXDOMAIN && rt->fallback_public) {
			/* Azure's NxDomainRedirect: a name the private zone does not
			 * know is resolved the public way instead of denied. */
			if ((n = cached(e, &q, cl, &ec, out, cap)) != 0) {
				*src = STATS_SRC_CACHE;
				return n;
			}
			return forward(e, rt, snap->cfg->group_default, QUERY_STAGE_FALLBACK, &q, cl, &ec, out, cap,
				       forwarded, src);
		}
		if (n > 3)
			out[3] |= (uint8_t)WIRE_RA; /* we do offer recursion (forwarding) */
		if (n && FWD_UNLIKELY(needs_opts(snap, &ec))) {
			r.flags_clear = 0; /* our own zone: AA stays */
			if ((n = finish_opts(out, n, cap, limit, &r)) == 0)
				return error_reply(e, &q, RCODE_SERVFAIL, 1, NULL, out, cap);
		}
		/* a record beside the OPT: perhaps a TSIG (a secondary checking
		 * the SOA signs its query as it signs its transfers) */
		if (FWD_UNLIKELY(q.arcount > q.has_edns) && n > 0) {
			int refused = 0;
			if (xfr_sign_reply(snap, q.pkt, q.len, (const struct sockaddr *)&cl->addr,
					   (int64_t)clock_wall_s(e->clock), &e->xfr_log, out, cap, &n, &refused) != FWD_OK)
				return error_reply(e, &q, RCODE_SERVFAIL, 1, NULL, out, cap);
			if (refused)
				STATS_INC(e->stats.xfr[XFR_OUT_NOTAUTH]);
		}
		STATS_INC(e->stats.answers_local);
		*src = rt->origin == ORIGIN_ZONE_ARM ? STATS_SRC_SYNCED : STATS_SRC_LOCAL;
		return n;
	}
	if ((n = cached(e, &q, cl, &ec, out, cap)) != 0) {
		*src = STATS_SRC_CACHE;
		return n;
	}
	return forward(e, rt, rt->group, QUERY_STAGE_CLIENT, &q, cl, &ec, out, cap, forwarded, src);
}

size_t query_handle(struct query_engine *e, const uint8_t *pkt, size_t len, const struct client *cl,
		    uint8_t *out, size_t cap, int *forwarded)
{
	enum stats_source src = STATS_SRC_ERROR;
	size_t n = handle(e, pkt, len, cl, out, cap, forwarded, &src);
	if (n) /* counters and the query log line */
		stats_reply(&e->stats, e->qlog, cl, src, out, n, clock_us(e->clock));
	return n;
}

/* ------------------------------------------------------------ completions */

static const char *step_group_name(const struct query_step *st)
{
	const struct cfg *cfg = st->snap->cfg;
	return st->group < cfg->nupstreams ? cfg->upstreams[st->group].name : "default";
}

static void send_failure(struct query_engine *e, const struct query_step *st, const struct wire_query *q,
			 const struct upstream_failure *f, int looped);
static void send_error(struct query_engine *e, const struct query_step *st, const struct wire_query *q,
		       int rcode);

static void deliver(struct query_engine *e, const struct client *cl, const uint8_t *msg, size_t len)
{
	if (e->send)
		e->send(e->send_arg, cl, msg, len);
}

/*
 * Send an answer built from upstream data to the client of st; q is the
 * client's query.  The upstream's OPT (its cookie, NSID, anything else) is
 * replaced by plinkfwd's own for this client; the upstream's EDE options
 * are passed on; AA is cleared (not plinkfwd's data), RA set.  msg is
 * copied into scratch unless it is there already.
 */
static void send_answer(struct query_engine *e, const struct query_step *st, const struct wire_query *q,
			const uint8_t *msg, size_t len)
{
	const struct client *cl = &st->cl;
	struct edns_ede_list up = {0};
	struct edns_reply r;
	size_t n;

	if (len > sizeof(e->scratch)) {
		send_error(e, st, q, RCODE_SERVFAIL);
		return;
	}
	if (msg != e->scratch)
		memcpy(e->scratch, msg, len);
	edns_ede_extract(e->scratch, len, &up);
	reply_opts(st->snap, &cl->edns, WIRE_AA, NULL, &up, &r);
	n = finish_opts(e->scratch, len, sizeof(e->scratch), reply_limit(cl, q), &r);
	if (n == 0) {
		send_error(e, st, q, RCODE_SERVFAIL);
		return;
	}
	stats_forwarded(&e->stats, e->qlog, cl, q, step_group_name(st), 1, e->scratch, n, clock_us(e->clock));
	STATS_INC(e->stats.answers_forwarded);
	deliver(e, cl, e->scratch, n);
}

/* Every server failed (or the step could not start): a stale answer when
 * serve-stale has one, else SERVFAIL that says which group failed and how
 * (f: upstream_last_failure(); looped: a loop was found for the question). */
static void send_failure(struct query_engine *e, const struct query_step *st, const struct wire_query *q,
			 const struct upstream_failure *f, int looped)
{
	const struct client *cl = &st->cl;
	size_t n = stale_answer(e, st->snap, q, cl, st->group, f, e->scratch, sizeof(e->scratch));
	if (n) {
		stats_stale(&e->stats, e->qlog, cl, q, step_group_name(st), e->scratch, n, clock_us(e->clock));
		deliver(e, cl, e->scratch, n);
		return;
	}
	uint8_t buf[WIRE_MIN_UDP + 256];
	stats_forwarded(&e->stats, e->qlog, cl, q, step_group_name(st), 0, NULL, 0, clock_us(e->clock));
	n = failure_reply(e, st->snap, q, &cl->edns, st->stage == QUERY_STAGE_CLIENT ? st->rt : NULL, st->group, f,
			  looped, RCODE_SERVFAIL, buf, sizeof(buf));
	if (n)
		deliver(e, cl, buf, n);
}

static void send_error(struct query_engine *e, const struct query_step *st, const struct wire_query *q,
		       int rcode)
{
	uint8_t buf[WIRE_MIN_UDP + 256];
	struct edns_reply r;
	stats_forwarded(&e->stats, e->qlog, &st->cl, q, step_group_name(st), 0, NULL, 0, clock_us(e->clock));
	reply_opts(st->snap, &st->cl.edns, WIRE_AA, NULL, NULL, &r);
	size_t n = error_reply(e, q, rcode, 1, &r, buf, sizeof(buf));
	if (n)
		deliver(e, &st->cl, buf, n);
}

/* A spliced reply is complete in msg (cap bytes of room): cache it, put
 * this client's OPT on it, send it. */
static void send_spliced(struct query_engine *e, const struct query_step *st, const struct wire_query *q,
			 uint8_t *msg, size_t len, size_t cap)
{
	struct edns_reply r;
	STATS_INC(e->stats.spliced);
	cache_store(e, st->snap, q, msg, len, 1);
	reply_opts(st->snap, &st->cl.edns, WIRE_AA, NULL, NULL, &r);
	len = finish_opts(msg, len, cap, reply_limit(&st->cl, q), &r);
	if (len == 0) {
		send_error(e, st, q, RCODE_SERVFAIL);
		return;
	}
	stats_forwarded(&e->stats, e->qlog, &st->cl, q, step_group_name(st), 1, msg, len, clock_us(e->clock));
	STATS_INC(e->stats.answers_forwarded);
	deliver(e, &st->cl, msg, len);
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
static void splice_start(struct query_engine *e, const struct query_step *st, const struct wire_query *q,
			 const uint8_t *reply, size_t len, const struct splice_cut *cut)
{
	struct cont_pool *cp = e->conts;
	const struct snapshot *snap = st->snap;
	size_t chain_len, n;

	chain_len = splice_copy_chain(reply, len, cut, q->qname, q->qname_len, cp->part, sizeof(cp->part));
	if (chain_len == 0) {
		send_error(e, st, q, RCODE_SERVFAIL);
		return;
	}
	const struct route_target *tr = route_lookup(snap->routes, cut->target, cut->target_len);
	if (FWD_UNLIKELY(tr->kind == ROUTE_ZONE && tr->down)) {
		/* a secondary zone with no copy: its placeholder holds nothing */
		send_error(e, st, q, RCODE_SERVFAIL);
		return;
	}
	if (tr->kind == ROUTE_ZONE) {
		enum zone_status zst;
		uint16_t cnt = 0, nscnt = 0;
		size_t pn = zone_lookup_rrs(tr->zone, cut->target, cut->target_len, q->qtype, cp->part + chain_len,
					    sizeof(cp->part) - chain_len, &cnt, &zst);
		size_t ns_len = 0;

		if (zst == ZONE_NXDOMAIN && cnt == 0 && tr->fallback_public) {
			/* no private record: the public answer, as Azure's
			 * fallback to internet resolution gives it */
			STATS_INC(e->stats.fallbacks);
			cache_store(e, snap, q, reply, len, 1);
			send_answer(e, st, q, reply, len);
			return;
		}
		if (zst == ZONE_NXDOMAIN || zst == ZONE_NODATA) {
			/* RFC 2308: the zone's SOA makes the negative answer cacheable */
			size_t alen;
			const uint8_t *apex = zone_apex(tr->zone, &alen);
			enum zone_status sst;
			ns_len = zone_lookup_rrs(tr->zone, apex, alen, TYPE_SOA, cp->part + chain_len + pn,
						 sizeof(cp->part) - chain_len - pn, &nscnt, &sst);
		}
		n = splice_assemble(q, zst == ZONE_NXDOMAIN ? RCODE_NXDOMAIN : RCODE_NOERROR, cp->part,
				    chain_len + pn, (uint16_t)(cut->nsteps + cnt), cp->part + chain_len + pn, ns_len,
				    nscnt, cp->msg, sizeof(cp->msg));
		if (n == 0) {
			send_error(e, st, q, RCODE_SERVFAIL);
			return;
		}
		send_spliced(e, st, q, cp->msg, n, sizeof(cp->msg));
		return;
	}

	/* forwarded: ask the owner's group for the target, same type and DO */
	uint8_t pq[WIRE_HDR_LEN + WIRE_MAX_NAME + 4 + 11];
	struct wire_query pqq;
	size_t pqlen = splice_make_query(cut->target, cut->target_len, q->qtype, 1, q->do_bit, pq, sizeof(pq));
	if (pqlen == 0 || wire_parse_query(pq, pqlen, &pqq) != WIRE_OK) {
		send_error(e, st, q, RCODE_SERVFAIL);
		return;
	}
	struct query_cont *ct = cont_new(cp, st, q, reply, len, cp->part, chain_len, cut->nsteps);
	if (!ct) {
		send_error(e, st, q, RCODE_SERVFAIL);
		return;
	}
	ct->fallback = route_fallback(snap->cfg, tr);
	struct query_step next = *st;
	next.group = (uint32_t)tr->group;
	next.stage = QUERY_STAGE_SPLICE;
	next.cont = ct;
	enum fwd_err rc = step_send(e, &next, &pqq);
	if (rc != FWD_OK) {
		cont_free(cp, ct);
		if (rc == FWD_ENOENT) {
			send_error(e, st, q, RCODE_REFUSED); /* as a direct question for the name */
		} else {
			struct upstream_failure f;
			upstream_last_failure(e->up, &f);
			send_failure(e, &next, q, &f, 0);
		}
	}
}

/* The private half of a spliced answer is back (or failed). */
static void splice_resume(struct query_engine *e, struct query_cont *ct, enum upstream_status ust,
			  const uint8_t *reply, size_t len, int looped)
{
	struct cont_pool *cp = e->conts;
	const struct query_step *st = &ct->step;
	const struct wire_query *q = &ct->q;

	if (ust != UPSTREAM_OK || len < WIRE_HDR_LEN) {
		struct upstream_failure f;
		upstream_last_failure(e->up, &f);
		send_failure(e, st, q, &f, looped);
		cont_free(cp, ct);
		return;
	}
	int rcode = (int)WIRE_RCODE(reply[3]);
	if (rcode == RCODE_NXDOMAIN && ct->fallback) {
		STATS_INC(e->stats.fallbacks);
		cache_store(e, st->snap, q, ct->pub, ct->pub_len, 1);
		send_answer(e, st, q, ct->pub, ct->pub_len);
		cont_free(cp, ct);
		return;
	}
	uint16_t pcnt = 0, nscnt = 0;
	size_t n, ns_len = 0;
	memcpy(cp->part, ct->chain, ct->chain_len);
	size_t pn = splice_copy_section(reply, len, 1, 0, NULL, 0, cp->part + ct->chain_len,
					sizeof(cp->part) - ct->chain_len, &pcnt);
	if (rcode == RCODE_NXDOMAIN || pcnt == 0)
		ns_len = splice_copy_section(reply, len, 2, TYPE_SOA, NULL, 0, cp->part + ct->chain_len + pn,
					     sizeof(cp->part) - ct->chain_len - pn, &nscnt);
	n = splice_assemble(q, rcode, cp->part, ct->chain_len + pn, (uint16_t)(ct->chain_count + pcnt),
			    cp->part + ct->chain_len + pn, ns_len, nscnt, cp->msg, sizeof(cp->msg));
	if (n == 0)
		send_error(e, st, q, RCODE_SERVFAIL);
	else
		send_spliced(e, st, q, cp->msg, n, sizeof(cp->msg));
	cont_free(cp, ct);
}

/* The upstream completion (upstream_done_fn): arg is the engine, ctx the
 * slot's copy of the step, q the client's query as parsed when it came. */
static void query_done(void *arg, const void *ctx, enum upstream_status ust, uint8_t *reply, size_t len,
		       const struct wire_query *q)
{
	struct query_engine *e = arg;
	const struct query_step *st = ctx;
	int looped = step_end(e, st);

	if (st->stage == QUERY_STAGE_SPLICE) {
		splice_resume(e, st->cont, ust, reply, len, looped);
		return;
	}
	if (ust != UPSTREAM_OK || len < WIRE_HDR_LEN) {
		struct upstream_failure f;
		upstream_last_failure(e->up, &f);
		send_failure(e, st, q, &f, looped);
		return;
	}

	/* everything below reads the snapshot the question started with: a
	 * reload since then changes no part of this answer */
	const struct snapshot *snap = st->snap;
	const struct route_target *rt = st->rt;
	int rcode = (int)WIRE_RCODE(reply[3]);

	/* a forwarded privatelink zone without the name: public resolution */
	if (st->stage == QUERY_STAGE_CLIENT && rcode == RCODE_NXDOMAIN && rt->kind == ROUTE_FORWARD &&
	    st->group != snap->cfg->group_default && route_fallback(snap->cfg, rt)) {
		struct query_step next = *st;
		next.stage = QUERY_STAGE_FALLBACK;
		next.group = (uint32_t)snap->cfg->group_default;
		if (step_send(e, &next, q) == FWD_OK) {
			STATS_INC(e->stats.fallbacks);
			return;
		}
		/* "default" cannot be asked: the NXDOMAIN we have is the answer */
	}

	struct splice_cut cut;
	struct owned_ctx oc = {snap, st->group};
	cut.has_cname = 0;
	cut.too_deep = 0;
	cut.found = 0;
	/* a reply splice_find_cut cannot walk was refused by the upstream
	 * layer already; an error here only means "no cut" */
	if ((rcode == RCODE_NOERROR || rcode == RCODE_NXDOMAIN) && wire_get16(reply + 6) > 0 &&
	    splice_find_cut(reply, len, q->qname, q->qname_len, owned_cb, &oc, &cut) == FWD_OK && cut.found) {
		splice_start(e, st, q, reply, len, &cut);
		return;
	}
	if (cut.too_deep) {
		/* docs/resolution.md: a chain this long is relayed unspliced */
		STATS_INC(e->stats.splice_too_deep);
		if (up_warn_limit(&e->deep_warn_ms, clock_ms(e->clock))) {
			char qb[WIRE_MAX_NAME * 4 + 8];
			log_warn("splice: the CNAME chain of %s is longer than %d steps (or loops): relayed "
				 "without splicing (logged at most once a second)",
				 wire_name_to_text(q->qname, qb, sizeof qb), SPLICE_MAX_CHAIN);
		}
	}
	/* A chain may be cut by a zone or rule added later, and a zone's
	 * fallback answer stands only while the zone lacks the name. */
	cache_store(e, snap, q, reply, len, cut.has_cname || rt->kind == ROUTE_ZONE);
	send_answer(e, st, q, reply, len);
}

/* ------------------------------------------------------------ the engine */

enum fwd_err query_engine_init(struct query_engine *e, struct event_base *base, struct snapshot_pub *pub,
			       const struct fwd_clock *clock, struct cache *cache, size_t max_pending)
{
	memset(e, 0, sizeof(*e));
	e->pub = pub;
	e->clock = clock;
	e->cache = cache;
	e->gen = snapshot_pub_generation(pub);
	e->snap = snapshot_pub_acquire(pub);
	if (!e->snap)
		return FWD_EINVAL;
	if (loop_addrs_build(e->snap->cfg, e->snap->acl, &e->laddrs) != FWD_OK)
		return FWD_ENOMEM;
	e->up = upstream_new(base, clock, max_pending, query_done, e);
	if (!e->up)
		return FWD_ENOMEM;
	e->conts = cont_pool_new(max_pending);
	if (!e->conts)
		return FWD_ENOMEM;
	return FWD_OK;
}

void query_engine_fini(struct query_engine *e)
{
	upstream_free(e->up);
	e->up = NULL;
	/* after the upstream pool: no completion can reach a continuation now */
	cont_pool_free(e->conts);
	e->conts = NULL;
	if (e->snap)
		snapshot_unref(e->snap);
	e->snap = NULL;
	loop_addrs_free(e->laddrs);
	e->laddrs = NULL;
}

void query_engine_set_send(struct query_engine *e, query_send_fn send, void *arg)
{
	e->send = send;
	e->send_arg = arg;
}

void query_engine_refresh(struct query_engine *e)
{
	uint64_t g = snapshot_pub_generation(e->pub);
	if (FWD_LIKELY(g == e->gen))
		return;
	struct snapshot *s = snapshot_pub_acquire(e->pub);
	struct loop_addrs *la = NULL;
	if (!s)
		return;
	/* the view of the new servers is built before the switch: without
	 * memory for it the worker keeps serving the old snapshot a while */
	if (loop_addrs_build(s->cfg, s->acl, &la) != FWD_OK) {
		snapshot_unref(s);
		return;
	}
	loop_addrs_free(e->laddrs);
	e->laddrs = la;
	snapshot_unref(e->snap);
	e->snap = s;
	e->gen = g;
}
