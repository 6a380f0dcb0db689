/*
 * xfr_in_msg.c -- the transfer-in message parser and IXFR application
 * (xfr_in_msg.h).  ldns reads the messages: a transfer is not the hot path,
 * and its records become a zone through the zone loader anyway.
 */
#include "xfr_in_msg.h"
#include "serial.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static const char *const reject_names[XFR_IN_NREJECT] = {
	[XFR_IN_OK] = "ok",
	[XFR_IN_R_TRUNCATED] = "truncated",
	[XFR_IN_R_NO_CLOSING_SOA] = "no_closing_soa",
	[XFR_IN_R_TSIG] = "tsig",
	[XFR_IN_R_SERIAL] = "serial_backwards",
	[XFR_IN_R_OUT_OF_ZONE] = "out_of_zone",
	[XFR_IN_R_QUESTION] = "wrong_question",
	[XFR_IN_R_RCODE] = "rcode",
	[XFR_IN_R_MALFORMED] = "malformed",
	[XFR_IN_R_IXFR] = "ixfr_mismatch",
	[XFR_IN_R_NET] = "network",
};

const char *xfr_in_reject_name(enum xfr_in_reject r)
{
	return (unsigned)r < XFR_IN_NREJECT ? reject_names[r] : "unknown";
}

FWD_PRINTF(4, 5)
static int reject(struct xfr_in_parse *p, enum xfr_in_reject r, enum xfr_in_reject *why, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(p->why, sizeof(p->why), fmt, ap);
	va_end(ap);
	*why = r;
	return -1;
}

enum fwd_err xfr_in_parse_init(struct xfr_in_parse *p, const char *apex, uint16_t id, uint16_t qtype,
			       int have_copy, uint32_t have_serial)
{
	memset(p, 0, sizeof(*p));
	if (ldns_str2rdf_dname(&p->apex, apex) != LDNS_STATUS_OK)
		return FWD_EINVAL;
	ldns_dname2canonical(p->apex);
	p->rrs = ldns_rr_list_new();
	if (!p->rrs) {
		ldns_rdf_deep_free(p->apex);
		p->apex = NULL;
		return FWD_ENOMEM;
	}
	p->id = id;
	p->qtype = qtype;
	p->have_copy = have_copy;
	p->have_serial = have_serial;
	return FWD_OK;
}

void xfr_in_parse_free(struct xfr_in_parse *p)
{
	if (p->rrs)
		ldns_rr_list_deep_free(p->rrs);
	if (p->apex)
		ldns_rdf_deep_free(p->apex);
	p->rrs = NULL;
	p->apex = NULL;
}

static int is_apex(const struct xfr_in_parse *p, const ldns_rr *rr)
{
	return ldns_dname_compare(ldns_rr_owner(rr), p->apex) == 0;
}

static int in_zone(const struct xfr_in_parse *p, const ldns_rdf *name)
{
	return ldns_dname_compare(name, p->apex) == 0 || ldns_dname_is_subdomain(name, p->apex);
}

static uint32_t soa_field(const ldns_rr *soa, size_t i)
{
	const ldns_rdf *f = ldns_rr_rdf(soa, i);
	return f && ldns_rdf_size(f) == 4 ? ldns_rdf2native_int32(f) : 0;
}

static int is_soa(const ldns_rr *rr)
{
	return ldns_rr_get_type(rr) == LDNS_RR_TYPE_SOA && ldns_rr_rd_count(rr) == 7;
}

/* The first answer record: the zone's SOA, whose serial decides. */
static int first_record(struct xfr_in_parse *p, const ldns_rr *rr, enum xfr_in_reject *why)
{
	if (!is_soa(rr) || !is_apex(p, rr))
		return reject(p, XFR_IN_R_MALFORMED, why, "the first record is not the zone's SOA");
	p->new_serial = soa_field(rr, 2);
	if (p->have_copy && p->new_serial != p->have_serial && !serial_lt(p->have_serial, p->new_serial))
		return reject(p, XFR_IN_R_SERIAL, why, "the primary's serial %u is behind ours (%u)", p->new_serial,
			      p->have_serial);
	if (p->qtype == LDNS_RR_TYPE_SOA) {
		p->kind = p->have_copy && p->new_serial == p->have_serial ? XFR_IN_UPTODATE : XFR_IN_AXFR;
		p->done = 1;
	} else if (p->qtype == LDNS_RR_TYPE_IXFR && p->have_copy && p->new_serial == p->have_serial) {
		/* RFC 1995 4: the single SOA says "up to date" */
		p->kind = XFR_IN_UPTODATE;
		p->done = 1;
	} else {
		p->kind = XFR_IN_AXFR;
	}
	return 0;
}

/* An SOA of the zone after the first record: the end, or (IXFR) the
 * border between the deletions and additions of a difference sequence. */
static int later_soa(struct xfr_in_parse *p, const ldns_rr *rr, enum xfr_in_reject *why)
{
	uint32_t serial = soa_field(rr, 2);

	if (p->nrr == 1 && p->qtype == LDNS_RR_TYPE_IXFR && serial != p->new_serial) {
		/* RFC 1995 4: an SOA second means difference sequences */
		p->incremental = 1;
		p->kind = XFR_IN_IXFR;
		p->in_add = 0;
		return 0;
	}
	if (!p->incremental) {
		if (serial != p->new_serial)
			return reject(p, XFR_IN_R_MALFORMED, why, "an SOA of serial %u inside a transfer of serial %u",
				      serial, p->new_serial);
		p->done = 1;
		return 0;
	}
	if (p->in_add && serial == p->new_serial) {
		p->done = 1;
		return 0;
	}
	p->in_add = !p->in_add;
	return 0;
}

int xfr_in_parse_msg(struct xfr_in_parse *p, const uint8_t *msg, size_t len, enum xfr_in_reject *why)
{
	ldns_pkt *pkt = NULL;
	int rc = 0;

	*why = XFR_IN_OK;
	if (p->verify && p->verify(p->verify_arg, msg, len, p->nmsg == 0) != 0)
		return reject(p, XFR_IN_R_TSIG, why, "message %u has no valid TSIG", p->nmsg + 1);
	if (ldns_wire2pkt(&pkt, msg, len) != LDNS_STATUS_OK)
		return reject(p, XFR_IN_R_MALFORMED, why, "message %u does not parse", p->nmsg + 1);
	if (ldns_pkt_id(pkt) != p->id || !ldns_pkt_qr(pkt) || ldns_pkt_get_opcode(pkt) != LDNS_PACKET_QUERY) {
		rc = reject(p, XFR_IN_R_MALFORMED, why, "message %u is not a reply to our query", p->nmsg + 1);
		goto out;
	}
	if (ldns_pkt_get_rcode(pkt) != LDNS_RCODE_NOERROR) {
		rc = reject(p, XFR_IN_R_RCODE, why, "rcode %d", (int)ldns_pkt_get_rcode(pkt));
		goto out;
	}
	if (ldns_pkt_tc(pkt)) {
		rc = reject(p, XFR_IN_R_MALFORMED, why, "TC set");
		goto out;
	}
	/* RFC 5936 2.2.1: the first message echoes the question, later ones
	 * may; whatever is there must be ours */
	ldns_rr_list *qs = ldns_pkt_question(pkt);
	size_t nq = qs ? ldns_rr_list_rr_count(qs) : 0;
	if ((p->nmsg == 0 && nq != 1) || nq > 1) {
		rc = reject(p, XFR_IN_R_QUESTION, why, "%zu questions in message %u", nq, p->nmsg + 1);
		goto out;
	}
	if (nq == 1) {
		const ldns_rr *q = ldns_rr_list_rr(qs, 0);
		if (ldns_dname_compare(ldns_rr_owner(q), p->apex) != 0 || ldns_rr_get_type(q) != p->qtype ||
		    ldns_rr_get_class(q) != LDNS_RR_CLASS_IN) {
			rc = reject(p, XFR_IN_R_QUESTION, why, "not the question asked");
			goto out;
		}
	}
	ldns_rr_list *an = ldns_pkt_answer(pkt);
	size_t n = an ? ldns_rr_list_rr_count(an) : 0;
	if (p->nmsg == 0 && n == 0) {
		rc = reject(p, XFR_IN_R_MALFORMED, why, "an empty answer");
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		ldns_rr *rr = ldns_rr_list_rr(an, i);
		if (p->done) {
			rc = reject(p, XFR_IN_R_MALFORMED, why, "records after the closing SOA");
			goto out;
		}
		if (ldns_rr_get_class(rr) != LDNS_RR_CLASS_IN || !in_zone(p, ldns_rr_owner(rr))) {
			char *o = ldns_rdf2str(ldns_rr_owner(rr));
			rc = reject(p, XFR_IN_R_OUT_OF_ZONE, why, "record of %s is outside the zone or not IN",
				    o ? o : "?");
			LDNS_FREE(o);
			goto out;
		}
		ldns_dname2canonical(ldns_rr_owner(rr));
		if (p->nrr == 0)
			rc = first_record(p, rr, why);
		else if (is_soa(rr) && is_apex(p, rr))
			rc = later_soa(p, rr, why);
		else if (ldns_rr_get_type(rr) == LDNS_RR_TYPE_SOA)
			rc = reject(p, XFR_IN_R_MALFORMED, why, "an SOA below the apex");
		if (rc < 0)
			goto out;
		ldns_rr *c = ldns_rr_clone(rr);
		if (!c || !ldns_rr_list_push_rr(p->rrs, c)) {
			ldns_rr_free(c);
			rc = reject(p, XFR_IN_R_MALFORMED, why, "out of memory");
			goto out;
		}
		p->nrr++;
	}
	p->nmsg++;
	rc = p->done ? 1 : 0;
out:
	ldns_pkt_free(pkt);
	return rc;
}

enum xfr_in_reject xfr_in_parse_eof(struct xfr_in_parse *p, int mid_message)
{
	if (mid_message) {
		snprintf(p->why, sizeof(p->why), "the stream ended inside message %u", p->nmsg + 1);
		return XFR_IN_R_TRUNCATED;
	}
	if (p->nrr == 0) {
		snprintf(p->why, sizeof(p->why), "the primary closed the connection without an answer");
		return XFR_IN_R_NET;
	}
	snprintf(p->why, sizeof(p->why), "the stream ended after %zu records without the closing SOA", p->nrr);
	return XFR_IN_R_NO_CLOSING_SOA;
}

/* Same owner, class, type and data (TTL aside: RFC 1995 deletes by data). */
static int same_rr(const ldns_rr *a, const ldns_rr *b)
{
	if (ldns_rr_get_type(a) != ldns_rr_get_type(b) || ldns_rr_get_class(a) != ldns_rr_get_class(b) ||
	    ldns_rr_rd_count(a) != ldns_rr_rd_count(b) || ldns_dname_compare(ldns_rr_owner(a), ldns_rr_owner(b)) != 0)
		return 0;
	for (size_t i = 0; i < ldns_rr_rd_count(a); i++)
		if (ldns_rdf_compare(ldns_rr_rdf(a, i), ldns_rr_rdf(b, i)) != 0)
			return 0;
	return 1;
}

static ssize_t find_rr(const ldns_rr_list *l, const ldns_rr *rr)
{
	for (size_t i = 0; i < ldns_rr_list_rr_count(l); i++)
		if (same_rr(ldns_rr_list_rr(l, i), rr))
			return (ssize_t)i;
	return -1;
}

/* Remove l's i-th record (the last one takes its place: order is free). */
static void remove_rr(ldns_rr_list *l, size_t i)
{
	ldns_rr *gone = ldns_rr_list_rr(l, i);
	ldns_rr *last = ldns_rr_list_pop_rr(l);
	if (last != gone)
		ldns_rr_list_set_rr(l, last, i);
	ldns_rr_free(gone);
}

static ssize_t find_soa(const ldns_rr_list *l)
{
	for (size_t i = 0; i < ldns_rr_list_rr_count(l); i++)
		if (is_soa(ldns_rr_list_rr(l, i)))
			return (ssize_t)i;
	return -1;
}

enum fwd_err xfr_soa_values(const ldns_rr_list *rrs, uint32_t *serial, uint32_t *refresh, uint32_t *retry,
			    uint32_t *expire)
{
	ssize_t i = rrs ? find_soa(rrs) : -1;
	if (i < 0)
		return FWD_ENOENT;
	const ldns_rr *soa = ldns_rr_list_rr(rrs, (size_t)i);
	*serial = soa_field(soa, 2);
	*refresh = soa_field(soa, 3);
	*retry = soa_field(soa, 4);
	*expire = soa_field(soa, 5);
	return FWD_OK;
}

static enum fwd_err apply_axfr(struct xfr_in_parse *p, ldns_rr_list **out)
{
	size_t n = ldns_rr_list_rr_count(p->rrs);
	ldns_rr_list *l = ldns_rr_list_new();
	if (!l)
		return FWD_ENOMEM;
	/* the closing SOA repeats the first */
	for (size_t i = 0; i + 1 < n; i++) {
		ldns_rr *c = ldns_rr_clone(ldns_rr_list_rr(p->rrs, i));
		if (!c || !ldns_rr_list_push_rr(l, c)) {
			ldns_rr_free(c);
			ldns_rr_list_deep_free(l);
			return FWD_ENOMEM;
		}
	}
	*out = l;
	return FWD_OK;
}

FWD_PRINTF(4, 5)
static enum fwd_err ixfr_fail(struct xfr_in_parse *p, ldns_rr_list *l, enum xfr_in_reject *why, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(p->why, sizeof(p->why), fmt, ap);
	va_end(ap);
	ldns_rr_list_deep_free(l);
	*why = XFR_IN_R_IXFR;
	return FWD_EPARSE;
}

static enum fwd_err apply_ixfr(struct xfr_in_parse *p, const ldns_rr_list *cur, ldns_rr_list **out,
			       enum xfr_in_reject *why)
{
	size_t n = ldns_rr_list_rr_count(p->rrs);
	ldns_rr_list *l = cur ? ldns_rr_list_clone(cur) : NULL;
	uint32_t serial, r1, r2, r3;
	int adding = 1; /* the first SOA met opens a deletion sequence */

	if (!l || xfr_soa_values(l, &serial, &r1, &r2, &r3) != FWD_OK)
		return ixfr_fail(p, l, why, "an IXFR but no copy to apply it to");
	for (size_t i = 1; i + 1 < n; i++) {
		ldns_rr *rr = ldns_rr_list_rr(p->rrs, i);
		if (is_soa(rr) && is_apex(p, rr)) {
			uint32_t s = soa_field(rr, 2);
			if (adding) {
				if (s != serial)
					return ixfr_fail(p, l, why, "a difference from serial %u, ours is %u", s, serial);
				adding = 0;
			} else {
				ssize_t at = find_soa(l);
				ldns_rr *c = ldns_rr_clone(rr);
				if (!c) {
					ldns_rr_list_deep_free(l);
					return FWD_ENOMEM;
				}
				remove_rr(l, (size_t)at);
				if (!ldns_rr_list_push_rr(l, c)) {
					ldns_rr_free(c);
					ldns_rr_list_deep_free(l);
					return FWD_ENOMEM;
				}
				serial = s;
				adding = 1;
			}
			continue;
		}
		ssize_t at = find_rr(l, rr);
		if (!adding) {
			if (at < 0) {
				char *t = ldns_rr2str(rr);
				size_t tl = t ? strlen(t) : 0;
				if (tl && t[tl - 1] == '\n')
					t[tl - 1] = '\0';
				enum fwd_err e = ixfr_fail(p, l, why, "a record to delete is not in our copy: %s",
							   t ? t : "?");
				LDNS_FREE(t);
				return e;
			}
			remove_rr(l, (size_t)at);
		} else if (at < 0) {
			ldns_rr *c = ldns_rr_clone(rr);
			if (!c || !ldns_rr_list_push_rr(l, c)) {
				ldns_rr_free(c);
				ldns_rr_list_deep_free(l);
				return FWD_ENOMEM;
			}
		}
	}
	if (serial != p->new_serial || !adding)
		return ixfr_fail(p, l, why, "the differences end at serial %u, not %u", serial, p->new_serial);
	*out = l;
	return FWD_OK;
}

enum fwd_err xfr_in_parse_apply(struct xfr_in_parse *p, const ldns_rr_list *cur, ldns_rr_list **out,
				enum xfr_in_reject *why)
{
	*why = XFR_IN_OK;
	if (!p->done || (p->kind != XFR_IN_AXFR && p->kind != XFR_IN_IXFR) || ldns_rr_list_rr_count(p->rrs) < 2) {
		snprintf(p->why, sizeof(p->why), "not a complete transfer");
		*why = XFR_IN_R_MALFORMED;
		return FWD_EPARSE;
	}
	if (p->kind == XFR_IN_AXFR)
		return apply_axfr(p, out);
	return apply_ixfr(p, cur, out, why);
}
