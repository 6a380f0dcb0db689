/*
 * ddr.c -- resolver.arpa answered locally (see ddr.h, docs/resolution.md).
 */
#include "ddr.h"

#include <string.h>

#include "config.h"
#include "svcb.h"
#include "wire.h"

/* _dns.resolver.arpa, the name DDR asks (RFC 9462 4), lower-cased wire form */
static const uint8_t dns_name[] = {4, '_', 'd', 'n', 's', 8, 'r', 'e', 's', 'o', 'l', 'v', 'e', 'r', 4, 'a', 'r', 'p', 'a', 0};

/* resolver.arpa in lower-cased wire form */
static const uint8_t apex[] = {8, 'r', 'e', 's', 'o', 'l', 'v', 'e', 'r', 4, 'a', 'r', 'p', 'a', 0};

/*
 * The SOA's RDATA: MNAME resolver.arpa., RNAME nobody.invalid. (RFC 6303
 * 3), serial 1, refresh 3600, retry 1200, expire 604800, minimum 300.
 * TTL and minimum are short: the answer changes as soon as plinkfwd gets
 * encrypted listeners, and clients should discover them then.
 */
#define DDR_SOA_TTL 300u
static const uint8_t soa_rdata[] = {
	8, 'r', 'e', 's', 'o', 'l', 'v', 'e', 'r', 4, 'a', 'r', 'p', 'a', 0,
	6, 'n', 'o', 'b', 'o', 'd', 'y', 7, 'i', 'n', 'v', 'a', 'l', 'i', 'd', 0,
	0, 0, 0, 1,          /* serial 1 */
	0, 0, 0x0e, 0x10,    /* refresh 3600 */
	0, 0, 0x04, 0xb0,    /* retry 1200 */
	0, 0x09, 0x3a, 0x80, /* expire 604800 */
	0, 0, 0x01, 0x2c     /* minimum 300 */
};

int ddr_match_name(const uint8_t *name, size_t n)
{
	size_t at = 0;

	/* the suffix first: on every query, and almost never equal */
	if (n < sizeof apex || memcmp(name + n - sizeof apex, apex, sizeof apex) != 0)
		return 0;
	/* then that it starts on a label boundary (not "xresolver.arpa") */
	while (at < n - sizeof apex)
		at += 1u + name[at];
	return at == n - sizeof apex;
}

int ddr_match(const struct wire_query *q)
{
	return ddr_match_name(q->qname, q->qname_len);
}

/* The SOA RR at out, its owner a pointer to offset `owner` of the message. */
static size_t put_soa(uint8_t *out, size_t owner)
{
	wire_put16(out, (uint16_t)(0xc000u | owner));
	wire_put16(out + 2, TYPE_SOA);
	wire_put16(out + 4, CLASS_IN);
	wire_put32(out + 6, DDR_SOA_TTL);
	wire_put16(out + 10, (uint16_t)sizeof soa_rdata);
	memcpy(out + 12, soa_rdata, sizeof soa_rdata);
	return 12 + sizeof soa_rdata;
}

/* The designated resolvers: SVCB records for the encrypted listeners,
 * A/AAAA of tls-name in the additional section (RFC 9462 4). */
static enum fwd_err svcb_answer(const struct wire_query *q, const struct cfg *cfg, size_t limit, uint8_t *out,
				size_t cap, size_t *len)
{
	size_t qlen = q->q_end - WIRE_HDR_LEN, n = WIRE_HDR_LEN + qlen, rl, al;
	unsigned an, ar;
	/* keep room for the OPT record (11 bytes) */
	if (cap < n + 11)
		return FWD_EINVAL;
	memcpy(out + WIRE_HDR_LEN, q->pkt + WIRE_HDR_LEN, qlen);
	if (svcb_records(cfg, WIRE_HDR_LEN, out + n, cap - n - 11, &rl, &an) != FWD_OK)
		return FWD_EINVAL;
	n += rl;
	if (svcb_additional(cfg, n, out + n, cap - n - 11, &al, &ar) != FWD_OK)
		ar = 0, al = 0;
	n += al;
	wire_put_header(out, q->id, wire_reply_flags(q, WIRE_AA, RCODE_NOERROR), 1, (uint16_t)an, 0,
			(uint16_t)(ar + (q->has_edns ? 1 : 0)));
	if (q->has_edns)
		n += wire_put_opt(out + n, cap - n, RCODE_NOERROR, q->do_bit);
	*len = wire_truncate(q, out, n, limit);
	return *len ? FWD_OK : FWD_EINVAL;
}

enum fwd_err ddr_answer(const struct wire_query *q, const struct cfg *cfg, size_t limit, uint8_t *out, size_t cap,
			size_t *len)
{
	size_t qlen = q->q_end > WIRE_HDR_LEN ? q->q_end - WIRE_HDR_LEN : 0;

	*len = 0;
	if (qlen == 0 || q->qname_len < sizeof apex || cap < WIRE_MIN_UDP ||
	    WIRE_HDR_LEN + qlen + 12 + sizeof soa_rdata + 11 > cap)
		return FWD_EINVAL;
	/* the designated resolvers, when plinkfwd has encrypted listeners */
	if (q->qtype == TYPE_SVCB && q->qname_len == sizeof dns_name &&
	    memcmp(q->qname, dns_name, sizeof dns_name) == 0 && cfg && svcb_any(cfg))
		return svcb_answer(q, cfg, limit, out, cap, len);
	int at_apex = q->qname_len == sizeof apex;
	int answer = at_apex && (q->qtype == TYPE_SOA || q->qtype == TYPE_ANY);

	wire_put_header(out, q->id, wire_reply_flags(q, WIRE_AA, RCODE_NOERROR), 1, answer ? 1 : 0,
			answer ? 0 : 1, q->has_edns ? 1 : 0);
	memcpy(out + WIRE_HDR_LEN, q->pkt + WIRE_HDR_LEN, qlen); /* the client's case */
	size_t n = WIRE_HDR_LEN + qlen;
	/* the owner: where resolver.arpa starts in the question as sent */
	n += put_soa(out + n, WIRE_HDR_LEN + q->qname_len - sizeof apex);
	if (q->has_edns)
		n += wire_put_opt(out + n, cap - n, RCODE_NOERROR, q->do_bit);
	*len = wire_truncate(q, out, n, limit);
	return *len ? FWD_OK : FWD_EINVAL;
}
