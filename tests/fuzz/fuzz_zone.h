/*
 * fuzz_zone.h -- ask a compiled zone what clients and the splicer ask it,
 * and check the answers: shared by the zone, arm_records and arm_zones
 * targets (a zone built from fuzzed text must answer as safely as any).
 */
#ifndef PLINKFWD_FUZZ_ZONE_H
#define PLINKFWD_FUZZ_ZONE_H

#include <ctype.h>

#include "fuzz.h"
#include "wire.h"
#include "zone.h"

static const uint16_t FUZZ_ZONE_TYPES[] = {TYPE_A, TYPE_AAAA, TYPE_CNAME, TYPE_MX, TYPE_TXT,
					   TYPE_SOA, TYPE_NS, TYPE_SRV, TYPE_PTR, TYPE_ANY};

/* Ask z for (name, type) as a client would, over UDP without EDNS and
 * with EDNS, and as the splicer does; check every answer. */
static inline void fuzz_zone_ask(const struct zone *z, const uint8_t *name, size_t nlen, uint16_t type)
{
	static uint8_t out[WIRE_MAX_MSG];
	uint8_t q[WIRE_HDR_LEN + WIRE_MAX_NAME + 4 + 11];
	struct wire_query wq;
	enum zone_status st;
	struct fuzz_dns_info inf;

	for (int edns = 0; edns < 2; edns++) {
		size_t n = WIRE_HDR_LEN;
		wire_put_header(q, 0xbeef, WIRE_RD, 1, 0, 0, (uint16_t)edns);
		memcpy(q + n, name, nlen);
		n += nlen;
		wire_put16(q + n, type);
		wire_put16(q + n + 2, CLASS_IN);
		n += 4;
		size_t qend = n;
		if (edns) {
			q[n] = 0;
			wire_put16(q + n + 1, TYPE_OPT);
			wire_put16(q + n + 3, 1232);
			wire_put32(q + n + 5, 0);
			wire_put16(q + n + 9, 0);
			n += 11;
		}
		if (wire_parse_query(q, n, &wq) != WIRE_OK)
			return; /* a name a client could not send */
		static const size_t limits[] = {512, 1232, WIRE_MAX_MSG};
		for (size_t i = edns; i < 3; i += 2) {
			size_t len = zone_answer(z, &wq, limits[i], out, sizeof(out), &st);
			FUZZ_ASSERT(len > 0 && len <= limits[i]);
			FUZZ_ASSERT(fuzz_dns_check(out, len, &inf) == 0);
			FUZZ_ASSERT(inf.id == 0xbeef && (inf.flags & WIRE_QR) && inf.qd == 1);
			FUZZ_ASSERT(inf.q_end == qend && memcmp(out + WIRE_HDR_LEN, q + WIRE_HDR_LEN, qend - WIRE_HDR_LEN) == 0);
			FUZZ_ASSERT(!!inf.opt == edns);
		}
	}

	/* the splicer's lookup: records with uncompressed owners */
	uint16_t cnt = 0;
	size_t len = zone_lookup_rrs(z, wq.qname, wq.qname_len, type, out + WIRE_HDR_LEN,
				     sizeof(out) - WIRE_HDR_LEN, &cnt, &st);
	FUZZ_ASSERT(len <= sizeof(out) - WIRE_HDR_LEN);
	wire_put_header(out, 0, 0, 0, cnt, 0, 0);
	FUZZ_ASSERT(fuzz_dns_check(out, WIRE_HDR_LEN + len, &inf) == 0);
}

/* Is the lower-cased wire name w at or below the apex a? */
static inline int fuzz_name_under(const uint8_t *w, size_t wlen, const uint8_t *a, size_t alen)
{
	for (size_t o = 0; o < wlen && wlen - o >= alen; o += 1u + w[o])
		if (wlen - o == alen && memcmp(w + o, a, alen) == 0)
			return 1;
	return 0;
}

/*
 * Ask z about the apex, some fixed names under it and the owner names of
 * the first lines of its zone text (first field of a line that starts
 * with one: relative to the apex unless it ends with a dot), each with a
 * few types.
 */
static inline void fuzz_zone_probe(const struct zone *z, const char *text)
{
	static const char *const fixed[] = {"", "www", "*", "x.w", "nope", "a.b.c"};
	char apex[WIRE_MAX_NAME * 4 + 1], buf[1100];
	size_t alen;
	const uint8_t *apex_w = zone_apex(z, &alen);
	uint8_t w[WIRE_MAX_NAME];
	unsigned asked = 0;

	if (!wire_name_to_text(apex_w, apex, sizeof(apex)))
		return;
	for (size_t i = 0; i < sizeof(fixed) / sizeof(fixed[0]); i++) {
		snprintf(buf, sizeof(buf), "%s%s%s", fixed[i], *fixed[i] ? "." : "", apex);
		int wlen = wire_name_from_text(buf, w);
		if (wlen > 0 && fuzz_name_under(w, (size_t)wlen, apex_w, alen))
			for (size_t t = 0; t < sizeof(FUZZ_ZONE_TYPES) / sizeof(FUZZ_ZONE_TYPES[0]); t++)
				fuzz_zone_ask(z, w, (size_t)wlen, FUZZ_ZONE_TYPES[t]);
	}
	for (const char *l = text; l && *l && asked < 16; l = strchr(l, '\n'), l = l ? l + 1 : NULL) {
		size_t k = 0;
		while (l[k] && !isspace((unsigned char)l[k]) && k < 300)
			k++;
		if (k == 0 || l[0] == '$' || l[0] == ';' || l[0] == '(' || k >= 300)
			continue;
		if (k == 1 && l[0] == '@')
			snprintf(buf, sizeof(buf), "%s", apex);
		else if (l[k - 1] == '.')
			snprintf(buf, sizeof(buf), "%.*s", (int)k, l);
		else
			snprintf(buf, sizeof(buf), "%.*s.%s", (int)k, l, apex);
		int wlen = wire_name_from_text(buf, w);
		if (wlen <= 0 || !fuzz_name_under(w, (size_t)wlen, apex_w, alen))
			continue;
		asked++;
		for (size_t t = 0; t < sizeof(FUZZ_ZONE_TYPES) / sizeof(FUZZ_ZONE_TYPES[0]); t++)
			fuzz_zone_ask(z, w, (size_t)wlen, FUZZ_ZONE_TYPES[t]);
	}
}

#endif
