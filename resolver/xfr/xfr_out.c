/*
 * xfr_out.c -- answering AXFR and IXFR requests (see xfr_out.h).
 *
 * Messages are built by hand from the zone's own answer data
 * (zone_next_rrset()): every record there starts with the 2-byte pointer to
 * the question name, which for a transfer is the apex, so a record is
 * written as the labels of its owner below the apex followed by the stored
 * bytes -- owner names compressed against the question at no cost, record
 * data as loaded.  Every message repeats the question (RFC 5936 sec. 2.2
 * allows it), which keeps that pointer valid in each one.  A signed
 * transfer is signed message by message through tsig.h, which hands the
 * message to ldns and back.
 */
#ifndef _POSIX_C_SOURCE
#define _POSIX_C_SOURCE 200809L
#endif

#include "xfr_out.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ldns/ldns.h>

#include "config.h"
#include "log.h"
#include "route.h"
#include "serial.h"
#include "snapshot.h"
#include "tsig.h"
#include "xfr_cfg.h"
#include "xfr_journal.h"
#include "wire.h"
#include "zone.h"

/* Room kept free in every message for the TSIG record (owner, algorithm,
 * a 64-byte MAC and the fixed fields come to well under this). */
#define XFR_TSIG_ROOM 512
#define XFR_MSG_MAX (WIRE_MAX_MSG - XFR_TSIG_ROOM)

#define RCODE_NOTAUTH 9

enum phase { PH_SOA1, PH_BODY, PH_SOA2, PH_DONE };

struct xfr_out {
	struct snapshot *snap;         /* one reference */
	const struct zone *zone;       /* in snap */
	struct tsig_ctx tsig;          /* key NULL: unsigned */
	uint16_t id;
	uint16_t flags;
	uint8_t question[WIRE_MAX_NAME + 4]; /* as the client sent it */
	size_t qlen;
	enum phase phase;
	struct zone_cursor cur;
	struct zone_rrset set;         /* the set being written */
	size_t set_off;                /* bytes of set.rrs already written */
	int have_set;
	struct zone_rrset soa;
	struct zone_rrset ns;          /* synthesised apex NS (no NS in the zone): count 0 = none */
	uint8_t ns_rr[12 + WIRE_MAX_NAME];
	uint8_t *jbuf;                 /* owned: an IXFR from the journal, records with full owners */
	size_t jlen, joff;
	unsigned msgs;
	size_t rrs;
};

static const char *const outcome_names[XFR_OUT_NOUTCOMES] = {
	"axfr", "ixfr", "ixfr_full", "uptodate", "refused", "notauth", "formerr", "notimp",
};

const char *xfr_outcome_name(enum xfr_outcome o)
{
	return (unsigned)o < XFR_OUT_NOUTCOMES ? outcome_names[o] : "?";
}

/* ------------------------------------------------------------ messages */

static size_t msg_begin(uint8_t *out, uint16_t id, uint16_t flags, const uint8_t *question, size_t qlen)
{
	wire_put_header(out, id, flags, 1, 0, 0, 0);
	memcpy(out + WIRE_HDR_LEN, question, qlen);
	return WIRE_HDR_LEN + qlen;
}

/* Length of the stored record at rr (pointer, fixed fields, RDATA). */
static size_t rr_len(const uint8_t *rr)
{
	return 2 + 10 + wire_get16(rr + 2 + 8);
}

/* Append one record of set s (stored bytes rr) to out[0..*n); 0 when it does not fit in limit. */
static int put_rr(uint8_t *out, size_t *n, size_t limit, const struct zone_rrset *s, const uint8_t *rr)
{
	size_t l = rr_len(rr);

	if (*n + s->rel_len + l > limit)
		return 0;
	memcpy(out + *n, s->owner, s->rel_len);
	memcpy(out + *n + s->rel_len, rr, l);
	*n += s->rel_len + l;
	wire_put16(out + 6, (uint16_t)(wire_get16(out + 6) + 1));
	return 1;
}

/* Sign out[0..*n) with ctx (when it has a key): the message goes through
 * ldns and comes back with its TSIG record (and ldns's name compression). */
static enum fwd_err sign_msg(struct tsig_ctx *ctx, uint8_t *out, size_t cap, size_t *n)
{
	ldns_pkt *pkt = NULL;
	uint8_t *w = NULL;
	size_t wl = 0;
	enum fwd_err rc;

	if (ctx->key == NULL)
		return FWD_OK;
	if (ldns_wire2pkt(&pkt, out, *n) != LDNS_STATUS_OK)
		return FWD_EINVAL;
	rc = tsig_sign(ctx, pkt);
	if (rc == FWD_OK && ldns_pkt2wire(&w, pkt, &wl) != LDNS_STATUS_OK)
		rc = FWD_EINVAL;
	if (rc == FWD_OK && wl > cap)
		rc = FWD_EINVAL;
	if (rc == FWD_OK) {
		memcpy(out, w, wl);
		*n = wl;
	}
	free(w);
	ldns_pkt_free(pkt);
	return rc;
}

/* Append records from the journal answer until the message is full. */
static int put_journal(struct xfr_out *x, uint8_t *out, size_t *n, size_t limit)
{
	while (x->joff < x->jlen) {
		const uint8_t *r = x->jbuf + x->joff;
		int ol = wire_name_len(r, x->jlen - x->joff);
		size_t l = (size_t)ol + 10 + wire_get16(r + ol + 8);
		if (*n + l > limit)
			return 0;
		memcpy(out + *n, r, l);
		*n += l;
		x->joff += l;
		wire_put16(out + 6, (uint16_t)(wire_get16(out + 6) + 1));
	}
	return 1;
}

enum fwd_err xfr_out_next(struct xfr_out *x, uint8_t *out, size_t cap, size_t *len, int *last)
{
	size_t n = msg_begin(out, x->id, x->flags, x->question, x->qlen);
	size_t limit = cap < XFR_MSG_MAX ? cap : XFR_MSG_MAX;
	unsigned before = 0;

	*last = 0;
	if (x->jbuf) {
		if (put_journal(x, out, &n, limit)) {
			x->phase = PH_DONE;
			*last = 1;
		} else if (wire_get16(out + 6) == 0) {
			return FWD_EINVAL;
		}
		goto full;
	}
	if (x->phase == PH_SOA1) {
		if (!put_rr(out, &n, limit, &x->soa, x->soa.rrs))
			return FWD_EINVAL;
		if (x->ns.count && !put_rr(out, &n, limit, &x->ns, x->ns.rrs))
			return FWD_EINVAL;
		x->phase = PH_BODY;
	}
	while (x->phase == PH_BODY) {
		if (!x->have_set) {
			if (zone_next_rrset(x->zone, &x->cur, &x->set) != FWD_OK) {
				x->phase = PH_SOA2;
				break;
			}
			/* the apex SOA opens and closes the transfer, and only that */
			if (x->set.rel_len == 0 && x->set.type == TYPE_SOA)
				continue;
			x->have_set = 1;
			x->set_off = 0;
		}
		while (x->set_off < x->set.len) {
			const uint8_t *rr = x->set.rrs + x->set_off;
			if (!put_rr(out, &n, limit, &x->set, rr)) {
				if (wire_get16(out + 6) == 0)
					return FWD_EINVAL; /* one record larger than a message */
				goto full;
			}
			x->set_off += rr_len(rr);
		}
		x->have_set = 0;
	}
	if (x->phase == PH_SOA2 && put_rr(out, &n, limit, &x->soa, x->soa.rrs)) {
		x->phase = PH_DONE;
		*last = 1;
	}
full:
	before = wire_get16(out + 6);
	x->rrs += before;
	x->msgs++;
	if (sign_msg(&x->tsig, out, cap, &n) != FWD_OK)
		return FWD_EINVAL;
	*len = n;
	return FWD_OK;
}

void xfr_out_progress(const struct xfr_out *x, unsigned *msgs, size_t *rrs)
{
	*msgs = x->msgs;
	*rrs = x->rrs;
}

void xfr_out_free(struct xfr_out *x)
{
	if (x == NULL)
		return;
	free(x->jbuf);
	tsig_ctx_clear(&x->tsig);
	snapshot_unref(x->snap);
	free(x);
}

/* ------------------------------------------------------------ requests */

/* Does sa fall in c?  A v4-mapped IPv6 source is taken as its IPv4 address. */
static int cidr_match(const struct cfg_cidr *c, const struct sockaddr *sa)
{
	const uint8_t *a;
	int fam = sa->sa_family;

	if (fam == AF_INET) {
		a = (const uint8_t *)&((const struct sockaddr_in *)(const void *)sa)->sin_addr;
	} else if (fam == AF_INET6) {
		const struct in6_addr *a6 = &((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr;
		a = a6->s6_addr;
		if (IN6_IS_ADDR_V4MAPPED(a6)) {
			a += 12;
			fam = AF_INET;
		}
	} else {
		return 0;
	}
	if (fam != c->family)
		return 0;
	int bits = c->prefix;
	for (int i = 0; bits > 0; i++, bits -= 8) {
		uint8_t m = bits >= 8 ? 0xff : (uint8_t)(0xff << (8 - bits));
		if ((a[i] & m) != (c->addr[i] & m))
			return 0;
	}
	return 1;
}

static void addr_text(const struct sockaddr *sa, char *buf, size_t cap)
{
	const void *a = sa->sa_family == AF_INET ? (const void *)&((const struct sockaddr_in *)(const void *)sa)->sin_addr
						 : (const void *)&((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr;
	if (inet_ntop(sa->sa_family, a, buf, (socklen_t)cap) == NULL)
		snprintf(buf, cap, "?");
}

static void log_limited(struct xfr_log_limit *ll, int64_t now, const char *fmt, ...) FWD_PRINTF(3, 4);
static void log_limited(struct xfr_log_limit *ll, int64_t now, const char *fmt, ...)
{
	char line[512];
	va_list ap;

	if (now - ll->window >= 60) {
		if (ll->dropped)
			log_warn("xfr: %u more refused transfer requests not logged in the last minute", ll->dropped);
		ll->window = now;
		ll->logged = 0;
		ll->dropped = 0;
	}
	if (ll->logged >= XFR_LOG_BURST) {
		ll->dropped++;
		return;
	}
	ll->logged++;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	log_warn("%s", line);
}

static int acl_admits(const struct cfg_xfr_acl *acl, size_t n, const struct sockaddr *from,
		      const struct cfg_tsig_key *key)
{
	for (size_t i = 0; i < n; i++) {
		if (!cidr_match(&acl[i].net, from))
			continue;
		if (acl[i].key == NULL || (key != NULL && strcmp(acl[i].key, key->name) == 0))
			return 1;
	}
	return 0;
}

/* A one-message answer with rcode and no records (signed when ctx has a key). */
static enum fwd_err reply_rcode(const struct wire_query *q, const uint8_t *msg, int rcode, struct tsig_ctx *ctx,
				uint8_t *out, size_t cap, size_t *outlen)
{
	size_t qlen = q->q_end > WIRE_HDR_LEN && q->qdcount == 1 ? q->q_end - WIRE_HDR_LEN : 0;
	size_t n;

	wire_put_header(out, q->id, (uint16_t)(WIRE_QR | (q->flags & WIRE_RD) | (unsigned)rcode), qlen ? 1 : 0, 0,
			0, 0);
	memcpy(out + WIRE_HDR_LEN, msg + WIRE_HDR_LEN, qlen);
	n = WIRE_HDR_LEN + qlen;
	if (sign_msg(ctx, out, cap, &n) != FWD_OK)
		return FWD_EINVAL;
	*outlen = n;
	return FWD_OK;
}

/* NOTAUTH with the unsigned TSIG error record (RFC 8945 sec. 5.3.2). */
static enum fwd_err reply_tsig_error(const struct wire_query *q, const uint8_t *msg, ldns_pkt *req, uint16_t terr,
				     uint8_t *out, size_t cap, size_t *outlen)
{
	struct tsig_ctx none;
	ldns_pkt *r = NULL;
	uint8_t *w = NULL;
	size_t wl = 0, n = 0;
	enum fwd_err rc;

	tsig_ctx_start(&none, NULL);
	if ((rc = reply_rcode(q, msg, RCODE_NOTAUTH, &none, out, cap, &n)) != FWD_OK)
		return rc;
	if (ldns_wire2pkt(&r, out, n) != LDNS_STATUS_OK)
		return FWD_EINVAL;
	rc = tsig_error_reply(r, req, terr);
	if (rc == FWD_OK && (ldns_pkt2wire(&w, r, &wl) != LDNS_STATUS_OK || wl > cap))
		rc = FWD_EINVAL;
	if (rc == FWD_OK) {
		memcpy(out, w, wl);
		*outlen = wl;
	}
	free(w);
	ldns_pkt_free(r);
	return rc;
}

/* The serial in the IXFR request's authority SOA: FWD_OK, or FWD_ENOENT. */
static enum fwd_err ixfr_serial(const ldns_pkt *req, uint32_t *serial)
{
	const ldns_rr_list *auth = ldns_pkt_authority(req);

	for (size_t i = 0; auth && i < ldns_rr_list_rr_count(auth); i++) {
		const ldns_rr *rr = ldns_rr_list_rr(auth, i);
		if (ldns_rr_get_type(rr) == LDNS_RR_TYPE_SOA && ldns_rr_rd_count(rr) == 7) {
			*serial = ldns_rdf2native_int32(ldns_rr_rdf(rr, 2));
			return FWD_OK;
		}
	}
	return FWD_ENOENT;
}

enum fwd_err xfr_out_start(const struct snapshot *snap, struct xfr_journal *jr, const uint8_t *msg, size_t len,
			   const struct sockaddr *from, int64_t now, int udp, struct xfr_log_limit *ll, uint8_t *out,
			   size_t cap, size_t *outlen, struct xfr_out **x, enum xfr_outcome *outcome)
{
	struct wire_query q;
	ldns_pkt *req = NULL;
	struct tsig_ctx ctx;
	uint16_t terr = 0;
	char who[INET6_ADDRSTRLEN], zname[WIRE_MAX_NAME * 4 + 1];
	const char *qt;
	enum fwd_err rc;

	*x = NULL;
	*outlen = 0;
	tsig_ctx_start(&ctx, NULL);
	if (wire_parse_query(msg, len, &q) == WIRE_DROP)
		return FWD_EPARSE;
	qt = q.qtype == TYPE_IXFR ? "IXFR" : "AXFR";
	addr_text(from, who, sizeof(who));
	wire_name_to_text(q.qname, zname, sizeof(zname));
	if (q.qdcount != 1 || ldns_wire2pkt(&req, msg, len) != LDNS_STATUS_OK) {
		*outcome = XFR_OUT_FORMERR;
		return reply_rcode(&q, msg, RCODE_FORMERR, &ctx, out, cap, outlen);
	}
	if (udp && q.qtype != TYPE_IXFR) {
		*outcome = XFR_OUT_NOTIMP;
		rc = reply_rcode(&q, msg, RCODE_NOTIMP, &ctx, out, cap, outlen);
		goto done;
	}
	/* TSIG first (RFC 8945 sec. 5.2): a bad signature is answered before
	 * anything about the zone is looked at */
	if ((rc = tsig_check_request(snap->cfg, req, msg, len, now, &ctx, &terr)) != FWD_OK)
		goto done;
	if (terr != 0) {
		*outcome = XFR_OUT_NOTAUTH;
		log_limited(ll, now, "xfr: %s of %s from %s refused: TSIG %s", qt, zname, who,
			    terr == TSIG_BADKEY ? "BADKEY (unknown key or algorithm)"
			    : terr == TSIG_BADTIME ? "BADTIME (clock skew)" : "BADSIG (wrong secret)");
		rc = reply_tsig_error(&q, msg, req, terr, out, cap, outlen);
		goto done;
	}
	const struct route_target *rt = route_lookup(snap->routes, q.qname, q.qname_len);
	size_t alen = 0;
	const uint8_t *apex = rt->kind == ROUTE_ZONE ? zone_apex(rt->zone, &alen) : NULL;
	if (apex == NULL || alen != q.qname_len || memcmp(apex, q.qname, alen) != 0) {
		/* RFC 5936 sec. 2.2.1: not authoritative for that zone */
		*outcome = XFR_OUT_NOTAUTH;
		log_limited(ll, now, "xfr: %s of %s from %s refused: not a zone served here", qt, zname, who);
		rc = reply_rcode(&q, msg, RCODE_NOTAUTH, &ctx, out, cap, outlen);
		goto done;
	}
	struct xfr_zone_cfg zc;
	xfr_zone_cfg(snap->cfg, rt->origin, rt->name, &zc);
	const size_t nacl = zc.nacl;
	if (!acl_admits(zc.acl, nacl, from, ctx.key)) {
		*outcome = XFR_OUT_REFUSED;
		log_limited(ll, now, "xfr: %s of %s from %s refused: %s", qt, zname, who,
			    nacl == 0 ? "no allow-transfer for the zone"
			    : ctx.key ? "no allow-transfer line for that address and key"
				      : "no allow-transfer line for that address without a key");
		rc = reply_rcode(&q, msg, RCODE_REFUSED, &ctx, out, cap, outlen);
		goto done;
	}

	struct xfr_out *t = calloc(1, sizeof(*t));
	if (t == NULL) {
		rc = FWD_ENOMEM;
		goto done;
	}
	t->zone = rt->zone;
	t->id = q.id;
	t->flags = (uint16_t)(WIRE_QR | WIRE_AA | (q.flags & WIRE_RD));
	t->qlen = q.q_end - WIRE_HDR_LEN;
	memcpy(t->question, msg + WIRE_HDR_LEN, t->qlen);
	t->tsig = ctx;
	tsig_ctx_start(&ctx, NULL); /* its MAC now belongs to t */
	if (zone_soa_rrset(t->zone, &t->soa) != FWD_OK) {
		tsig_ctx_clear(&t->tsig);
		free(t);
		rc = FWD_EINVAL;
		goto done;
	}
	if (!zone_apex_has(t->zone, TYPE_NS)) {
		/* Azure's private zones have no NS record set, and BIND and
		 * Windows DNS refuse a zone without one ("has no NS records"):
		 * transfers carry "@ NS <the SOA's MNAME>" (azureprivatedns.net.) */
		const uint8_t *soa = t->soa.rrs;
		const uint8_t *mname = soa + 12;
		int ml = wire_name_len(mname, wire_get16(soa + 10));
		if (ml > 0) {
			t->ns = t->soa;
			t->ns.type = TYPE_NS;
			t->ns.count = 1;
			memcpy(t->ns_rr, soa, 12);
			wire_put16(t->ns_rr + 2, TYPE_NS);
			wire_put16(t->ns_rr + 10, (uint16_t)ml);
			memcpy(t->ns_rr + 12, mname, (size_t)ml);
			t->ns.rrs = t->ns_rr;
			t->ns.len = 12 + (size_t)ml;
		}
	}
	*outcome = XFR_OUT_AXFR;
	if (q.qtype == TYPE_IXFR) {
		uint32_t cs;
		if (ixfr_serial(req, &cs) != FWD_OK) {
			*outcome = XFR_OUT_FORMERR;
			rc = reply_rcode(&q, msg, RCODE_FORMERR, &t->tsig, out, cap, outlen);
			tsig_ctx_clear(&t->tsig);
			free(t);
			goto done;
		}
		if (udp || serial_le(zone_serial(t->zone), cs)) {
			/* RFC 1995 sec. 2 and 4: up to date, or over UDP (the
			 * client then asks over TCP): the current SOA alone */
			size_t n = msg_begin(out, t->id, t->flags, t->question, t->qlen);
			put_rr(out, &n, cap, &t->soa, t->soa.rrs);
			*outcome = serial_le(zone_serial(t->zone), cs) ? XFR_OUT_UPTODATE : XFR_OUT_IXFR_FULL;
			rc = sign_msg(&t->tsig, out, cap, &n);
			*outlen = n;
			tsig_ctx_clear(&t->tsig);
			free(t);
			goto done;
		}
		/* the differences since cs from the journal, else the whole
		 * zone in the AXFR form (RFC 1995 sec. 4) */
		size_t cnt = 0;
		if (xfr_journal_ixfr(jr, t->zone, cs, &t->jbuf, &t->jlen, &cnt) == FWD_OK)
			*outcome = XFR_OUT_IXFR;
		else
			*outcome = XFR_OUT_IXFR_FULL;
	}
	/* the reference count is the one mutable part of a snapshot */
	t->snap = (struct snapshot *)(uintptr_t)snap;
	snapshot_ref(t->snap);
	t->phase = PH_SOA1;
	*x = t;
	log_info("xfr: %s of %s serial %u to %s%s%s%s", qt, zname, zone_serial(t->zone), who,
		 t->tsig.key ? " key " : "", t->tsig.key ? t->tsig.key->name : "",
		 t->jbuf ? " (incremental)" : q.qtype == TYPE_IXFR ? " (whole zone)" : "");
	rc = FWD_OK;
done:
	tsig_ctx_clear(&ctx);
	ldns_pkt_free(req);
	return rc;
}

enum fwd_err xfr_sign_reply(const struct snapshot *snap, const uint8_t *req, size_t reqlen, const struct sockaddr *from,
			    int64_t now, struct xfr_log_limit *ll, uint8_t *reply, size_t cap, size_t *len, int *refused)
{
	ldns_pkt *q = NULL;
	struct tsig_ctx ctx;
	uint16_t terr = 0;
	enum fwd_err rc;

	*refused = 0;
	if (ldns_wire2pkt(&q, req, reqlen) != LDNS_STATUS_OK)
		return FWD_OK; /* not for ldns either: answered as it is */
	if (ldns_pkt_tsig(q) == NULL) {
		ldns_pkt_free(q);
		return FWD_OK;
	}
	rc = tsig_check_request(snap->cfg, q, req, reqlen, now, &ctx, &terr);
	if (rc == FWD_OK && terr != 0) {
		struct wire_query wq;
		if (wire_parse_query(req, reqlen, &wq) == WIRE_DROP) {
			rc = FWD_EINVAL;
		} else {
			/* a secondary with a wrong secret fails here, at its SOA
			 * check, before it ever asks for a transfer: counted and
			 * logged like a refused transfer */
			char who[INET6_ADDRSTRLEN], zname[WIRE_MAX_NAME * 4 + 1];
			addr_text(from, who, sizeof(who));
			wire_name_to_text(wq.qname, zname, sizeof(zname));
			*refused = 1;
			log_limited(ll, now, "xfr: signed query for %s from %s refused: TSIG %s", zname, who,
				    terr == TSIG_BADKEY ? "BADKEY (unknown key or algorithm)"
				    : terr == TSIG_BADTIME ? "BADTIME (clock skew)" : "BADSIG (wrong secret)");
			rc = reply_tsig_error(&wq, req, q, terr, reply, cap, len);
		}
	} else if (rc == FWD_OK) {
		rc = sign_msg(&ctx, reply, cap, len);
	}
	tsig_ctx_clear(&ctx);
	ldns_pkt_free(q);
	return rc;
}
