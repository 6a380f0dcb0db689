/*
 * test_cache.c -- the answer cache on hand-built wire messages: insert and
 * hit, TTL decrement, expiry, serve-stale, negative caching (RFC 2308),
 * what is never cached, TTL clamps, DO-bit keying, OPT handling,
 * truncation, LRU eviction, generation-tied entries and flushes.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cache.h"
#include "common.h"
#include "dnsmsg.h"
#include "log.h"
#include "tap.h"
#include "wire.h"

#define T0 1000000u /* an arbitrary "now" in ms */

static const struct cache_ttl TTL_DEFAULT = {0, 86400, 3600};

/* cache_flush() as one value: entries removed, or its error */
static long flushed(struct cache *c, const char *name)
{
	size_t n = 0;
	enum fwd_err rc = cache_flush(c, name, &n);
	return rc != FWD_OK ? (long)rc : (long)n;
}

/* ------------------------------------------------------------ message builders */

static void put_name(struct msg *m, const char *text)
{
	uint8_t w[WIRE_MAX_NAME];
	int l = wire_name_from_text(text, w);
	memcpy(m->b + m->n, w, (size_t)l);
	m->n += (size_t)l;
}

/* A query for name/type, EDNS when edns, DO when do_bit. */
static void make_query(struct msg *m, uint16_t id, const char *name, uint16_t type, int edns, int do_bit)
{
	m->n = 0;
	put16(m, id);
	put16(m, WIRE_RD);
	put16(m, 1);
	put16(m, 0);
	put16(m, 0);
	put16(m, edns ? 1 : 0);
	put_name_case(m, name);
	put16(m, type);
	put16(m, CLASS_IN);
	if (edns) {
		put8(m, 0);
		put16(m, TYPE_OPT);
		put16(m, 1232);
		put8(m, 0);
		put8(m, 0);
		put16(m, do_bit ? 0x8000 : 0);
		put16(m, 0);
	}
}

static void parse(const struct msg *m, struct wire_query *q)
{
	if (wire_parse_query(m->b, m->n, q) != WIRE_OK) {
		printf("Bail out! test query does not parse\n");
		exit(1);
	}
}

/* Reply header + question (name lower-case, owner pointers can use 0xc00c). */
static void reply_start(struct msg *m, uint16_t flags, const char *name, uint16_t type, uint16_t an,
			uint16_t ns, uint16_t ar)
{
	m->n = 0;
	put16(m, 0x1234);
	put16(m, (uint16_t)(WIRE_QR | WIRE_RD | WIRE_RA | flags));
	put16(m, 1);
	put16(m, an);
	put16(m, ns);
	put16(m, ar);
	put_name(m, name);
	put16(m, type);
	put16(m, CLASS_IN);
}

static void rr_a(struct msg *m, uint32_t ttl, const uint8_t ip[4])
{
	put16(m, 0xc00c);
	put16(m, TYPE_A);
	put16(m, CLASS_IN);
	put32(m, ttl);
	put16(m, 4);
	memcpy(m->b + m->n, ip, 4);
	m->n += 4;
}

static void rr_soa(struct msg *m, const char *owner, uint32_t ttl, uint32_t minimum)
{
	put_name(m, owner);
	put16(m, TYPE_SOA);
	put16(m, CLASS_IN);
	put32(m, ttl);
	size_t at = m->n;
	put16(m, 0);
	put_name(m, "ns1.example.test");
	put_name(m, "hostmaster.example.test");
	put32(m, 1);
	put32(m, 3600);
	put32(m, 600);
	put32(m, 86400);
	put32(m, minimum);
	wire_put16(m->b + at, (uint16_t)(m->n - at - 2));
}

static void rr_opt(struct msg *m)
{
	put8(m, 0);
	put16(m, TYPE_OPT);
	put16(m, 1232);
	put32(m, 0);
	put16(m, 0);
}

/* A positive answer with one A record. */
static void answer_a(struct msg *m, const char *name, uint32_t ttl, int with_opt)
{
	static const uint8_t ip[4] = {192, 0, 2, 7};
	reply_start(m, 0, name, TYPE_A, 1, 0, with_opt ? 1 : 0);
	rr_a(m, ttl, ip);
	if (with_opt)
		rr_opt(m);
}

/* Offset of the TTL of the first answer record. */
static size_t first_ttl_off(const uint8_t *p, size_t len)
{
	size_t off = wire_skip_name(p, len, WIRE_HDR_LEN) + 4;
	off = wire_skip_name(p, len, off);
	return off + 4;
}

static uint32_t first_ttl(const uint8_t *p, size_t len) { return wire_get32(p + first_ttl_off(p, len)); }

/* Insert an A answer for name and return 0 / error. */
static int put_a(struct cache *c, const char *name, uint32_t ttl, uint64_t gen, uint64_t now)
{
	struct msg qm, rm;
	struct wire_query q;
	make_query(&qm, 1, name, TYPE_A, 0, 0);
	parse(&qm, &q);
	answer_a(&rm, name, ttl, 0);
	return cache_insert(c, &q, rm.b, rm.n, &TTL_DEFAULT, gen, now);
}

/* Look name/A up: reply length, 0 on a miss. */
static size_t get_a(struct cache *c, const char *name, uint64_t gen, uint64_t now, uint8_t *out)
{
	struct msg qm;
	struct wire_query q;
	make_query(&qm, 7, name, TYPE_A, 0, 0);
	parse(&qm, &q);
	return cache_answer(c, &q, gen, now, CACHE_FRESH, 0, out, 4096, 4096);
}

/* ------------------------------------------------------------ tests */

static void test_hit(void)
{
	struct cache *c = cache_new(1 << 20, 1);
	struct msg qm, rm;
	struct wire_query q;
	uint8_t out[4096];
	size_t n;

	make_query(&qm, 0xabcd, "www.example.test", TYPE_A, 1, 0);
	parse(&qm, &q);
	answer_a(&rm, "www.example.test", 300, 1);
	wire_put16(rm.b + 2, (uint16_t)(wire_get16(rm.b + 2) | WIRE_AA));
	is_int(cache_insert(c, &q, rm.b, rm.n, &TTL_DEFAULT, 0, T0), 0, "positive answer stored");

	/* another client, other case, other ID, no EDNS, RD clear */
	make_query(&qm, 0x4242, "WwW.ExAmPlE.TeSt", TYPE_A, 0, 0);
	wire_put16(qm.b + 2, 0);
	parse(&qm, &q);
	n = cache_answer(c, &q, 0, T0 + 2500, CACHE_FRESH, 0, out, sizeof(out), 512);
	is_int(n, rm.n - 11, "hit without EDNS: the reply less the upstream's OPT");
	is_int(wire_get16(out), 0x4242, "hit: the client's ID");
	is_int(wire_get16(out + 10), 0, "hit without EDNS: no additional record");
	ok(memcmp(out + WIRE_HDR_LEN, qm.b + WIRE_HDR_LEN, q.q_end - WIRE_HDR_LEN) == 0,
	   "hit: the question in the client's case");
	uint16_t f = wire_get16(out + 2);
	ok((f & WIRE_QR) && (f & WIRE_RA) && !(f & WIRE_AA) && !(f & WIRE_RD),
	   "hit: QR and RA set, AA clear, RD as the client sent it");
	is_int(first_ttl(out, n), 298, "hit 2.5 s later: TTL 300 - 2");

	make_query(&qm, 9, "www.example.test", TYPE_A, 1, 0);
	parse(&qm, &q);
	n = cache_answer(c, &q, 0, T0, CACHE_FRESH, 0, out, sizeof(out), 1232);
	is_int(n, rm.n, "hit with EDNS: same length (our OPT instead of the upstream's)");
	is_int(wire_get16(out + 10), 1, "hit with EDNS: one additional record");
	is_int(wire_get16(out + n - 11 + 1), TYPE_OPT, "hit with EDNS: it is an OPT");
	is_int(first_ttl(out, n), 300, "hit at once: TTL 300");

	make_query(&qm, 9, "www.example.test", TYPE_AAAA, 0, 0);
	parse(&qm, &q);
	is_int(cache_answer(c, &q, 0, T0, CACHE_FRESH, 0, out, sizeof(out), 512), 0, "other type: miss");
	make_query(&qm, 9, "www.example.test", TYPE_A, 1, 1);
	parse(&qm, &q);
	is_int(cache_answer(c, &q, 0, T0, CACHE_FRESH, 0, out, sizeof(out), 1232), 0, "DO bit set: miss (own key)");
	make_query(&qm, 9, "www.example.test", TYPE_A, 0, 0);
	parse(&qm, &q);
	n = cache_answer(c, &q, 0, T0 + 300 * 1000, CACHE_FRESH, 0, out, sizeof(out), 512);
	is_int(n, 0, "TTL run out: miss");
	n = cache_answer(c, &q, 0, T0 + 1000, CACHE_FRESH, 0, out, sizeof(out), 512);
	is_int(n, 0, "expired entry without a stale window was removed");
	cache_free(c);
}

static void test_do_bit(void)
{
	struct cache *c = cache_new(1 << 20, 1);
	struct msg qm, rm;
	struct wire_query q;
	uint8_t out[4096];

	make_query(&qm, 1, "sig.example.test", TYPE_A, 1, 1);
	parse(&qm, &q);
	answer_a(&rm, "sig.example.test", 60, 0);
	is_int(cache_insert(c, &q, rm.b, rm.n, &TTL_DEFAULT, 0, T0), 0, "DO=1 answer stored");
	size_t n = cache_answer(c, &q, 0, T0, CACHE_FRESH, 0, out, sizeof(out), 1232);
	ok(n > 0, "DO=1 lookup: hit");
	ok(n > 0 && (out[n - 11 + 7] & 0x80), "DO=1 hit: DO echoed in our OPT");
	make_query(&qm, 1, "sig.example.test", TYPE_A, 1, 0);
	parse(&qm, &q);
	is_int(cache_answer(c, &q, 0, T0, CACHE_FRESH, 0, out, sizeof(out), 1232), 0, "DO=0 lookup: miss");
	cache_free(c);
}

static void test_stale(void)
{
	struct cache *c = cache_new(1 << 20, 1);
	struct msg qm;
	struct wire_query q;
	uint8_t out[4096];
	size_t n;

	is_int(put_a(c, "old.example.test", 10, 0, T0), 0, "stored (TTL 10)");
	make_query(&qm, 5, "old.example.test", TYPE_A, 0, 0);
	parse(&qm, &q);
	n = cache_answer(c, &q, 0, T0 + 15000, CACHE_FRESH, 60, out, sizeof(out), 512);
	is_int(n, 0, "expired, fresh lookup: miss (kept for serve-stale)");
	n = cache_answer(c, &q, 0, T0 + 15000, CACHE_STALE, 60, out, sizeof(out), 512);
	ok(n > 0, "expired 5 s ago, stale lookup within 60 s: hit");
	is_int(n ? first_ttl(out, n) : 0, CACHE_STALE_TTL, "stale hit: TTL 30");
	n = cache_answer(c, &q, 0, T0 + 5000, CACHE_STALE, 60, out, sizeof(out), 512);
	is_int(n ? first_ttl(out, n) : 0, 5, "stale lookup of a fresh entry: its real TTL");
	n = cache_answer(c, &q, 0, T0 + 71000, CACHE_STALE, 60, out, sizeof(out), 512);
	is_int(n, 0, "expired 61 s ago: past the window, miss");
	n = cache_answer(c, &q, 0, T0 + 15000, CACHE_STALE, 60, out, sizeof(out), 512);
	is_int(n, 0, "...and removed");
	cache_free(c);
}

static void test_negative(void)
{
	struct cache *c = cache_new(1 << 20, 1);
	struct msg qm, rm;
	struct wire_query q;
	uint8_t out[4096];
	size_t n;
	struct cache_ttl t = {0, 86400, 3600};

	make_query(&qm, 3, "nope.example.test", TYPE_A, 0, 0);
	parse(&qm, &q);
	reply_start(&rm, RCODE_NXDOMAIN, "nope.example.test", TYPE_A, 0, 1, 0);
	rr_soa(&rm, "example.test", 300, 60);
	is_int(cache_insert(c, &q, rm.b, rm.n, &t, 0, T0), 0, "NXDOMAIN with SOA stored");
	n = cache_answer(c, &q, 0, T0 + 1000, CACHE_FRESH, 0, out, sizeof(out), 512);
	is_int(WIRE_RCODE(n ? wire_get16(out + 2) : 0), RCODE_NXDOMAIN, "NXDOMAIN hit");
	/* the SOA is the first (and only) record: in the authority section */
	is_int(n ? first_ttl(out, n) : 0, 59, "negative TTL = min(SOA TTL 300, MINIMUM 60), less the age");
	is_int(cache_answer(c, &q, 0, T0 + 60000, CACHE_FRESH, 0, out, sizeof(out), 512), 0,
	       "negative entry gone after 60 s");

	t.neg_max_ttl = 20;
	is_int(cache_insert(c, &q, rm.b, rm.n, &t, 0, T0), 0, "NXDOMAIN stored with cache-negative-max-ttl 20");
	n = cache_answer(c, &q, 0, T0, CACHE_FRESH, 0, out, sizeof(out), 512);
	is_int(n ? first_ttl(out, n) : 0, 20, "negative TTL capped at 20");

	/* NODATA: NOERROR, no record of the type */
	make_query(&qm, 3, "www.example.test", TYPE_TXT, 0, 0);
	parse(&qm, &q);
	reply_start(&rm, 0, "www.example.test", TYPE_TXT, 0, 1, 0);
	rr_soa(&rm, "example.test", 30, 600);
	is_int(cache_insert(c, &q, rm.b, rm.n, &TTL_DEFAULT, 0, T0), 0, "NODATA with SOA stored");
	n = cache_answer(c, &q, 0, T0, CACHE_FRESH, 0, out, sizeof(out), 512);
	is_int(n ? first_ttl(out, n) : 0, 30, "NODATA TTL = min(SOA TTL 30, MINIMUM 600)");

	/* a referral-like negative without SOA: RFC 2308 section 5 */
	make_query(&qm, 3, "nosoa.example.test", TYPE_A, 0, 0);
	parse(&qm, &q);
	reply_start(&rm, RCODE_NXDOMAIN, "nosoa.example.test", TYPE_A, 0, 0, 0);
	ok(cache_insert(c, &q, rm.b, rm.n, &TTL_DEFAULT, 0, T0) != 0, "NXDOMAIN without SOA: not stored");
	is_int(cache_answer(c, &q, 0, T0, CACHE_FRESH, 0, out, sizeof(out), 512), 0, "NXDOMAIN without SOA: miss");
	cache_free(c);
}

static void test_not_cached(void)
{
	struct cache *c = cache_new(1 << 20, 1);
	struct msg qm, rm;
	struct wire_query q;

	make_query(&qm, 3, "x.example.test", TYPE_A, 0, 0);
	parse(&qm, &q);
	reply_start(&rm, RCODE_SERVFAIL, "x.example.test", TYPE_A, 0, 0, 0);
	ok(cache_insert(c, &q, rm.b, rm.n, &TTL_DEFAULT, 0, T0) != 0, "SERVFAIL: not stored");
	reply_start(&rm, RCODE_REFUSED, "x.example.test", TYPE_A, 0, 0, 0);
	ok(cache_insert(c, &q, rm.b, rm.n, &TTL_DEFAULT, 0, T0) != 0, "REFUSED: not stored");
	answer_a(&rm, "x.example.test", 300, 0);
	wire_put16(rm.b + 2, (uint16_t)(wire_get16(rm.b + 2) | WIRE_TC));
	ok(cache_insert(c, &q, rm.b, rm.n, &TTL_DEFAULT, 0, T0) != 0, "TC: not stored");
	answer_a(&rm, "other.example.test", 300, 0);
	ok(cache_insert(c, &q, rm.b, rm.n, &TTL_DEFAULT, 0, T0) != 0, "a reply to another question: not stored");
	answer_a(&rm, "x.example.test", 0, 0);
	ok(cache_insert(c, &q, rm.b, rm.n, &TTL_DEFAULT, 0, T0) != 0, "TTL 0: not stored");
	answer_a(&rm, "x.example.test", 300, 0);
	ok(cache_insert(c, &q, rm.b, rm.n - 2, &TTL_DEFAULT, 0, T0) != 0, "cut short: not stored");
	/* an OPT with an extended rcode (BADCOOKIE and friends) */
	answer_a(&rm, "x.example.test", 300, 1);
	rm.b[rm.n - 6] = 1;
	ok(cache_insert(c, &q, rm.b, rm.n, &TTL_DEFAULT, 0, T0) != 0, "extended rcode in OPT: not stored");
	uint64_t e = 99;
	cache_usage(c, &e, NULL);
	is_int(e, 0, "nothing in the cache");
	cache_free(c);
}

static void test_clamps(void)
{
	struct cache *c = cache_new(1 << 20, 1);
	struct msg qm, rm;
	struct wire_query q;
	uint8_t out[4096];
	struct cache_ttl t = {30, 100, 3600};
	size_t n;

	make_query(&qm, 3, "low.example.test", TYPE_A, 0, 0);
	parse(&qm, &q);
	answer_a(&rm, "low.example.test", 5, 0);
	cache_insert(c, &q, rm.b, rm.n, &t, 0, T0);
	n = cache_answer(c, &q, 0, T0 + 10000, CACHE_FRESH, 0, out, sizeof(out), 512);
	is_int(n ? first_ttl(out, n) : 0, 20, "cache-min-ttl 30 raises TTL 5; 10 s later: 20");

	make_query(&qm, 3, "high.example.test", TYPE_A, 0, 0);
	parse(&qm, &q);
	answer_a(&rm, "high.example.test", 86400, 0);
	cache_insert(c, &q, rm.b, rm.n, &t, 0, T0);
	n = cache_answer(c, &q, 0, T0, CACHE_FRESH, 0, out, sizeof(out), 512);
	is_int(n ? first_ttl(out, n) : 0, 100, "cache-max-ttl 100 caps TTL 86400");
	is_int(cache_answer(c, &q, 0, T0 + 100000, CACHE_FRESH, 0, out, sizeof(out), 512), 0,
	       "capped entry expires after 100 s");
	cache_free(c);
}

static void test_truncate(void)
{
	struct cache *c = cache_new(1 << 20, 1);
	struct msg qm, rm;
	struct wire_query q;
	uint8_t out[4096];
	static const uint8_t ip[4] = {192, 0, 2, 9};

	make_query(&qm, 3, "big.example.test", TYPE_A, 0, 0);
	parse(&qm, &q);
	reply_start(&rm, 0, "big.example.test", TYPE_A, 40, 0, 0);
	for (int i = 0; i < 40; i++)
		rr_a(&rm, 300, ip);
	is_int(cache_insert(c, &q, rm.b, rm.n, &TTL_DEFAULT, 0, T0), 0, "a 40-record answer stored");
	size_t n = cache_answer(c, &q, 0, T0, CACHE_FRESH, 0, out, sizeof(out), 512);
	ok(n > 0 && n <= 512, "hit for a 512-byte client: fits (%zu)", n);
	ok(wire_get16(out + 2) & WIRE_TC, "... with TC set");
	is_int(wire_get16(out + 6), 0, "... and no answer records");
	n = cache_answer(c, &q, 0, T0, CACHE_FRESH, 0, out, sizeof(out), 65535);
	is_int(wire_get16(out + 6), 40, "TCP-sized limit: all 40 records");
	n = cache_answer(c, &q, 0, T0 + 7000, CACHE_FRESH, 0, out, sizeof(out), 65535);
	is_int(wire_get32(out + n - 10), 293, "the last record's TTL is decremented too");
	cache_free(c);
}

static void test_eviction(void)
{
	uint8_t out[4096];
	char name[64];
	/* one entry is about 140 bytes: 1000 bytes hold a handful */
	struct cache *c = cache_new(1000, 1);
	is_int(cache_evictions(c), 0, "a new cache has evicted nothing");
	for (int i = 1; i <= 3; i++) {
		snprintf(name, sizeof(name), "e%d.example.test", i);
		put_a(c, name, 300, 0, T0);
	}
	ok(get_a(c, "e1.example.test", 0, T0, out) > 0, "e1 touched (most recently used now)");
	for (int i = 4; i <= 20; i++) {
		snprintf(name, sizeof(name), "e%d.example.test", i);
		put_a(c, name, 300, 0, T0);
		get_a(c, "e1.example.test", 0, T0, out); /* keep e1 hot */
	}
	ok(get_a(c, "e20.example.test", 0, T0, out) > 0, "the newest entry is there");
	ok(get_a(c, "e1.example.test", 0, T0, out) > 0, "a recently used old entry survives (LRU)");
	is_int(get_a(c, "e2.example.test", 0, T0, out), 0, "an old unused entry was evicted");
	uint64_t ne = 0, nb = 0;
	cache_usage(c, &ne, &nb);
	ok(nb <= 1000 && ne >= 2 && ne < 20, "usage within the limit (%llu entries, %llu bytes)",
	   (unsigned long long)ne, (unsigned long long)nb);
	/* 20 entries went in and nothing was flushed or expired: every one
	 * missing was evicted for room */
	is_int(cache_evictions(c), 20 - (long long)ne, "eviction counter: every entry pushed out for room");
	uint64_t before = cache_evictions(c);
	is_int(flushed(c, "e20.example.test"), 1, "flush one entry");
	put_a(c, "e20.example.test", 300, 0, T0); /* fits in the room the flush made */
	is_int(cache_evictions(c), before, "a flush or a replacement is not an eviction");
	cache_usage(c, &ne, &nb);
	cache_set_limit(c, 0);
	is_int(cache_evictions(c), before + ne, "lowering the limit counts what it evicts");
	cache_usage(c, &ne, &nb);
	is_int(ne, 0, "limit 0: everything evicted");
	ok(put_a(c, "x.example.test", 300, 0, T0) != 0, "limit 0: nothing stored");
	cache_free(c);
}

static void test_generation(void)
{
	struct cache *c = cache_new(1 << 20, 1);
	uint8_t out[4096];
	put_a(c, "tied.example.test", 300, 5, T0);
	put_a(c, "free.example.test", 300, 0, T0);
	ok(get_a(c, "tied.example.test", 5, T0, out) > 0, "entry tied to generation 5: hit under 5");
	is_int(get_a(c, "tied.example.test", 6, T0, out), 0, "... miss under 6");
	is_int(get_a(c, "tied.example.test", 5, T0, out), 0, "... and removed");
	ok(get_a(c, "free.example.test", 6, T0, out) > 0, "an untied entry survives a new generation");
	cache_free(c);
}

static void test_flush(void)
{
	struct cache *c = cache_new(1 << 20, 1);
	uint8_t out[4096];
	put_a(c, "a.example.test", 300, 0, T0);
	put_a(c, "b.a.example.test", 300, 0, T0);
	put_a(c, "xa.example.test", 300, 0, T0);
	put_a(c, "other.test", 300, 0, T0);
	is_int(flushed(c, "A.Example.Test."), 2, "flush a.example.test: it and the name below");
	is_int(get_a(c, "a.example.test", 0, T0, out), 0, "a.example.test gone");
	is_int(get_a(c, "b.a.example.test", 0, T0, out), 0, "b.a.example.test gone");
	ok(get_a(c, "xa.example.test", 0, T0, out) > 0, "xa.example.test kept (not below: label boundary)");
	ok(get_a(c, "other.test", 0, T0, out) > 0, "other.test kept");
	is_int(cache_flush(c, "bad..name", NULL), FWD_EINVAL, "malformed name: FWD_EINVAL");
	is_int(flushed(c, NULL), 2, "flush all: the two left");
	is_int(get_a(c, "other.test", 0, T0, out), 0, "other.test gone");
	cache_free(c);
}

static void test_shards(void)
{
	/* many workers: several shards; every key still lands where it is found */
	struct cache *c = cache_new(64u << 20, 8);
	uint8_t out[4096];
	char name[64];
	int hits = 0;
	for (int i = 0; i < 500; i++) {
		snprintf(name, sizeof(name), "n%d.example.test", i);
		put_a(c, name, 300, 0, T0);
	}
	for (int i = 0; i < 500; i++) {
		snprintf(name, sizeof(name), "n%d.example.test", i);
		hits += get_a(c, name, 0, T0, out) > 0;
	}
	is_int(hits, 500, "sharded cache: 500 entries stored and found (tables grew)");
	is_int(flushed(c, "example.test"), 500, "sharded cache: a flush reaches every shard");
	cache_free(c);
}

/* Deletions from the middle of probe runs (open addressing with backward
 * shift): every entry left must still be found, every removed one not. */
static void test_churn(void)
{
	struct cache *c = cache_new(64u << 20, 1);
	uint8_t out[4096];
	char name[64];
	int wrong = 0;
	for (int i = 0; i < 3000; i++) {
		snprintf(name, sizeof(name), "c%d.example.test", i);
		put_a(c, name, 300, 0, T0);
	}
	for (int i = 0; i < 3000; i += 3) {
		snprintf(name, sizeof(name), "c%d.example.test", i);
		if (flushed(c, name) != 1)
			wrong++;
	}
	for (int i = 0; i < 3000; i++) {
		snprintf(name, sizeof(name), "c%d.example.test", i);
		int hit = get_a(c, name, 0, T0, out) > 0;
		if (hit != (i % 3 != 0))
			wrong++;
	}
	is_int(wrong, 0, "3000 entries, every third removed one by one: the rest all found, the removed all gone");
	cache_free(c);
}

int main(void)
{
	log_set_level(LOG_LVL_ERR);
	test_hit();
	test_do_bit();
	test_stale();
	test_negative();
	test_not_cached();
	test_clamps();
	test_truncate();
	test_eviction();
	test_generation();
	test_flush();
	test_shards();
	test_churn();
	return tap_done();
}
