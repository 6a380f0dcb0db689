/*
 * splice.c -- CNAME chain cutting and spliced reply building (see splice.h).
 *
 * Records from two different messages end up in one reply, so compression
 * pointers of either source mean nothing in the result: every name is
 * expanded on the way in.  Names keep the case they had in the source;
 * comparisons are case-insensitive.
 */
#include "splice.h"

#include <stdlib.h>
#include <string.h>

#include "common.h"
#include "wire.h"

#define SPLICE_MAX_ANSWERS 256 /* answer records looked at when following a chain */

static inline uint8_t lc(uint8_t c) { return (c >= 'A' && c <= 'Z') ? (uint8_t)(c + 32) : c; }

/*
 * Expand the possibly compressed name at pkt[off] into out[0..cap), case
 * kept.  Returns its length (or -1), *next is the offset after the name in
 * the original position.
 */
static int name_expand(const uint8_t *pkt, size_t len, size_t off, uint8_t *out, size_t cap, size_t *next)
{
	size_t n = 0;
	int jumps = 0;
	*next = 0;
	while (off < len) {
		uint8_t l = pkt[off];
		if (l == 0) {
			if (n + 1 > cap || n + 1 > WIRE_MAX_NAME)
				return -1;
			out[n++] = 0;
			if (!*next)
				*next = off + 1;
			return (int)n;
		}
		if ((l & 0xc0) == 0xc0) {
			if (off + 1 >= len || ++jumps > 64)
				return -1;
			size_t to = ((size_t)(l & 0x3f) << 8) | pkt[off + 1];
			if (to >= off)
				return -1;
			if (!*next)
				*next = off + 2;
			off = to;
			continue;
		}
		if (l > 63 || off + 1 + l > len || n + 1 + l + 1 > WIRE_MAX_NAME || n + 1 + l > cap)
			return -1;
		memcpy(out + n, pkt + off, 1u + l);
		n += 1u + l;
		off += 1u + l;
	}
	return -1;
}

static int name_eq_ci(const uint8_t *a, size_t alen, const uint8_t *b, size_t blen)
{
	if (alen != blen)
		return 0;
	for (size_t i = 0; i < alen; i++)
		if (lc(a[i]) != lc(b[i]))
			return 0;
	return 1;
}

/* Offset of the first record of section (1 answer, 2 authority, 3
 * additional) and its record count; 0 when malformed. */
static size_t section_start(const uint8_t *msg, size_t len, int section, uint16_t *count)
{
	size_t off = WIRE_HDR_LEN;
	if (len < WIRE_HDR_LEN)
		return 0;
	uint16_t qd = wire_get16(msg + 4);
	for (unsigned i = 0; i < qd; i++) {
		off = wire_skip_name(msg, len, off);
		if (off == 0 || off + 4 > len)
			return 0;
		off += 4;
	}
	for (int s = 1; s < section; s++) {
		uint16_t n = wire_get16(msg + 4 + 2 * s);
		for (unsigned i = 0; i < n; i++) {
			off = wire_skip_name(msg, len, off);
			if (off == 0 || off + 10 > len)
				return 0;
			off += 10u + wire_get16(msg + off + 8);
			if (off > len)
				return 0;
		}
	}
	*count = wire_get16(msg + 4 + 2 * section);
	return off;
}

enum fwd_err splice_find_cut(const uint8_t *msg, size_t len, const uint8_t *qname, size_t qname_len,
			     splice_owned_fn owned, void *ctx, struct splice_cut *cut)
{
	uint16_t an = 0;
	size_t off, rr[SPLICE_MAX_ANSWERS];
	size_t nrr = 0;
	uint8_t cur[WIRE_MAX_NAME], name[WIRE_MAX_NAME];
	size_t cur_len = qname_len;

	cut->nsteps = 0;
	cut->has_cname = 0;
	cut->too_deep = 0;
	cut->target_len = 0;
	cut->found = 0;
	if (len < WIRE_HDR_LEN || wire_get16(msg + 6) == 0)
		return FWD_OK;
	off = section_start(msg, len, 1, &an);
	if (off == 0)
		return FWD_EPARSE;
	/* CNAME records only: offsets of their owners */
	for (unsigned i = 0; i < an; i++) {
		size_t o = wire_skip_name(msg, len, off);
		if (o == 0 || o + 10 > len || o + 10 + wire_get16(msg + o + 8) > len)
			return FWD_EPARSE;
		if (wire_get16(msg + o) == TYPE_CNAME && nrr < SPLICE_MAX_ANSWERS)
			rr[nrr++] = off;
		off = o + 10 + wire_get16(msg + o + 8);
	}
	if (nrr == 0)
		return FWD_OK;
	if (qname_len > WIRE_MAX_NAME)
		return FWD_EPARSE;
	memcpy(cur, qname, qname_len);
	for (int step = 0; step < SPLICE_MAX_CHAIN; step++) {
		size_t i;
		int tlen = -1;
		for (i = 0; i < nrr; i++) {
			int l = wire_read_name(msg, len, rr[i], name);
			if (l == (int)cur_len && memcmp(name, cur, cur_len) == 0)
				break;
		}
		if (i == nrr)
			return FWD_OK; /* the chain ends here (data, or nothing) */
		size_t o = wire_skip_name(msg, len, rr[i]);
		tlen = wire_read_name(msg, len, o + 10, name);
		if (tlen < 0)
			return FWD_EPARSE;
		cut->rr_off[cut->nsteps++] = (uint16_t)rr[i];
		cut->has_cname = 1;
		if (owned(ctx, name, (size_t)tlen)) {
			memcpy(cut->target, name, (size_t)tlen);
			cut->target_len = (uint8_t)tlen;
			cut->found = 1;
			return FWD_OK;
		}
		memcpy(cur, name, (size_t)tlen);
		cur_len = (size_t)tlen;
	}
	/* longer than we follow (or a loop): leave it as it is; the caller
	 * logs and counts it */
	cut->too_deep = 1;
	return FWD_OK;
}

size_t splice_copy_rr(const uint8_t *msg, size_t len, size_t off, const uint8_t *qname,
		      size_t qname_len, uint8_t *out, size_t cap, size_t *next, uint16_t *type)
{
	size_t n, p, rd, rdlen, end;
	int l;

	*next = 0;
	l = name_expand(msg, len, off, out, cap, &p);
	if (l < 0 || p + 10 > len)
		return 0;
	n = (size_t)l;
	if (qname && name_eq_ci(out, n, qname, qname_len)) {
		out[0] = 0xc0;
		out[1] = WIRE_HDR_LEN;
		n = 2;
	}
	*type = wire_get16(msg + p);
	rdlen = wire_get16(msg + p + 8);
	rd = p + 10;
	end = rd + rdlen;
	if (end > len || n + 10 > cap)
		return 0;
	memcpy(out + n, msg + p, 8); /* type, class, TTL; RDLENGTH below */
	size_t rdlen_at = n + 8;
	n += 10;
	size_t w = n;

	/* how many bytes precede the name(s) in the RDATA, and how many names */
	size_t pre = 0;
	int names = 0;
	switch (*type) {
	case TYPE_CNAME: case TYPE_NS: case TYPE_PTR: case 39 /* DNAME */:
		names = 1;
		break;
	case TYPE_MX:
		pre = 2;
		names = 1;
		break;
	case TYPE_SRV:
		pre = 6;
		names = 1;
		break;
	case TYPE_SOA:
		names = 2;
		break;
	default:
		break;
	}
	if (names == 0 || pre > rdlen) {
		if (w + rdlen > cap)
			return 0;
		memcpy(out + w, msg + rd, rdlen);
		w += rdlen;
	} else {
		size_t q = rd;
		if (w + pre > cap)
			return 0;
		memcpy(out + w, msg + rd, pre);
		w += pre;
		q += pre;
		for (int k = 0; k < names; k++) {
			size_t after;
			l = name_expand(msg, end, q, out + w, cap - w, &after);
			if (l < 0)
				return 0;
			w += (size_t)l;
			q = after;
		}
		/* SOA: the five counters after the names */
		if (q > end || w + (end - q) > cap)
			return 0;
		memcpy(out + w, msg + q, end - q);
		w += end - q;
	}
	if (w - n > 0xffff)
		return 0;
	wire_put16(out + rdlen_at, (uint16_t)(w - n));
	*next = end;
	return w;
}

size_t splice_copy_chain(const uint8_t *msg, size_t len, const struct splice_cut *cut,
			 const uint8_t *qname, size_t qname_len, uint8_t *out, size_t cap)
{
	size_t n = 0;
	for (unsigned i = 0; i < cut->nsteps; i++) {
		size_t next;
		uint16_t type;
		size_t w = splice_copy_rr(msg, len, cut->rr_off[i], qname, qname_len, out + n, cap - n,
					  &next, &type);
		if (w == 0)
			return 0;
		n += w;
	}
	return n;
}

size_t splice_copy_section(const uint8_t *msg, size_t len, int section, uint16_t only_type,
			   const uint8_t *qname, size_t qname_len, uint8_t *out, size_t cap,
			   uint16_t *count)
{
	uint16_t total = 0, kept = 0;
	size_t off = section_start(msg, len, section, &total), n = 0;

	*count = 0;
	if (off == 0)
		return 0;
	for (unsigned i = 0; i < total; i++) {
		size_t next;
		uint16_t type;
		size_t w = splice_copy_rr(msg, len, off, qname, qname_len, out + n, cap - n, &next, &type);
		if (w == 0)
			return 0;
		if (type == TYPE_OPT) {
			off = next;
			continue; /* never copied: the reply gets its own */
		}
		if (only_type == 0 || type == only_type) {
			n += w;
			kept++;
		}
		off = next;
	}
	*count = kept;
	return n;
}

/*
 * Give the first nrr records after the question the smallest TTL among
 * them (an SOA counts with min(TTL, MINIMUM), RFC 2308): the spliced answer
 * is one unit, valid only as long as its shortest-lived part, and a
 * downstream cache must not keep the public CNAMEs longer than the private
 * data they lead to.  The records were written by this file, so the walk
 * cannot fail on them; it stops quietly if it does.
 */
static void unify_ttls(uint8_t *msg, size_t len, unsigned nrr)
{
	size_t off = wire_skip_name(msg, len, WIRE_HDR_LEN), p;
	uint32_t min = UINT32_MAX;
	unsigned i;

	if (off == 0 || nrr == 0)
		return;
	off += 4;
	for (i = 0, p = off; i < nrr; i++) {
		p = wire_skip_name(msg, len, p);
		if (p == 0 || p + 10 > len)
			return;
		uint32_t t = wire_get32(msg + p + 4);
		size_t rdlen = wire_get16(msg + p + 8);
		if (p + 10 + rdlen > len)
			return;
		if (wire_get16(msg + p) == TYPE_SOA && rdlen >= 22 && wire_get32(msg + p + 10 + rdlen - 4) < t)
			t = wire_get32(msg + p + 10 + rdlen - 4);
		if (t < min)
			min = t;
		p += 10 + rdlen;
	}
	for (i = 0, p = off; i < nrr; i++) {
		p = wire_skip_name(msg, len, p);
		wire_put32(msg + p + 4, min);
		p += 10u + wire_get16(msg + p + 8);
	}
}

size_t splice_assemble(const struct wire_query *q, int rcode, const uint8_t *an, size_t an_len,
		       uint16_t ancount, const uint8_t *ns, size_t ns_len, uint16_t nscount,
		       uint8_t *out, size_t cap)
{
	size_t qlen = q->q_end - WIRE_HDR_LEN;
	size_t need = q->q_end + an_len + ns_len + (q->has_edns ? 11u : 0u);
	size_t n;

	if (need > cap || need > WIRE_MAX_MSG)
		return 0;
	wire_put_header(out, q->id, wire_reply_flags(q, WIRE_RA, rcode), 1, ancount, nscount,
			q->has_edns ? 1 : 0);
	memcpy(out + WIRE_HDR_LEN, q->pkt + WIRE_HDR_LEN, qlen);
	n = q->q_end;
	if (an_len)
		memcpy(out + n, an, an_len);
	n += an_len;
	if (ns_len)
		memcpy(out + n, ns, ns_len);
	n += ns_len;
	unify_ttls(out, n, (unsigned)ancount + nscount);
	if (q->has_edns)
		n += wire_put_opt(out + n, cap - n, rcode, q->do_bit);
	return n;
}

size_t splice_make_query(const uint8_t *name, size_t name_len, uint16_t qtype, int edns, int do_bit,
			 uint8_t *out, size_t cap)
{
	size_t n = WIRE_HDR_LEN;
	if (cap < WIRE_HDR_LEN + name_len + 4 + 11 || name_len > WIRE_MAX_NAME)
		return 0;
	wire_put_header(out, 0, WIRE_RD, 1, 0, 0, edns ? 1 : 0);
	memcpy(out + n, name, name_len);
	n += name_len;
	wire_put16(out + n, qtype);
	wire_put16(out + n + 2, CLASS_IN);
	n += 4;
	if (edns)
		n += wire_put_opt(out + n, cap - n, 0, do_bit);
	return n;
}
