/*
 * test_zone.c -- zone loading and authoritative answers (resolver/data/zone.c).
 *
 * Queries are built by hand; replies are checked byte for byte where the
 * exact encoding matters (owner pointers, TTLs, counts) and through ldns
 * where only the content does.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* mallinfo2 */
#endif
#include "common.h"
#include "log.h"
#include "tap.h"
#include "wire.h"
#include "zone.h"

#include <ldns/ldns.h>
#include <malloc.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

static const char test_zone[] =
	"; the test zone: every answer rule has a name here\n"
	"$ORIGIN example.test.\n"
	"$TTL 300\n"
	"@ 3600 IN SOA ns1.example.test. hostmaster.example.test. ( 2024010101 3600 600\n"
	"       86400 60 )\n"
	"@ IN NS ns1\n"
	"ns1 IN A 10.0.0.53\n"
	"www IN A 10.0.0.1\n"
	"www IN AAAA fd00::1\n"
	"alias IN CNAME www\n"
	"chain1 IN CNAME chain2\n"
	"chain2 IN CNAME WWW\n"
	"out IN CNAME www.example.org.\n"
	"dangling IN CNAME nothere\n"
	"loop1 IN CNAME loop2\n"
	"loop2 IN CNAME loop1\n"
	"a.b.c.deep IN A 10.0.0.9\n"
	"*.wild IN A 10.0.0.50\n"
	"*.wild IN TXT \"wild\"\n"
	"sub.wild IN A 10.0.0.51\n"
	"towild IN CNAME foo.wild\n"
	"*.cw IN CNAME www\n"
	"txt IN TXT \"hello world\"\n"
	"dup IN A 10.0.0.7\n"
	"dup IN A 10.0.0.7\n";
/* records above, less the duplicate */
#define TEST_ZONE_RRS 20

/* ------------------------------------------------------------- helpers */

/* Text name to wire keeping its case (wire_name_from_text lower-cases). */
static size_t put_name(uint8_t *out, const char *name)
{
	size_t n = 0;
	while (*name) {
		const char *dot = strchr(name, '.');
		size_t l = dot ? (size_t)(dot - name) : strlen(name);
		out[n++] = (uint8_t)l;
		memcpy(out + n, name, l);
		n += l;
		name += l + (dot ? 1 : 0);
	}
	out[n++] = 0;
	return n;
}

struct tq {
	uint8_t pkt[512];
	size_t len;
	struct wire_query q;
};

/* A query with RD set; edns: 0 none, 1 OPT, 2 OPT with DO. */
static int make_query(struct tq *t, uint16_t id, const char *name, uint16_t qtype, int edns)
{
	size_t n = 12;
	memset(t->pkt, 0, sizeof(t->pkt));
	wire_put_header(t->pkt, id, WIRE_RD, 1, 0, 0, edns ? 1 : 0);
	n += put_name(t->pkt + n, name);
	wire_put16(t->pkt + n, qtype);
	wire_put16(t->pkt + n + 2, CLASS_IN);
	n += 4;
	if (edns) {
		t->pkt[n] = 0;
		wire_put16(t->pkt + n + 1, TYPE_OPT);
		wire_put16(t->pkt + n + 3, 4096);
		t->pkt[n + 7] = edns == 2 ? 0x80 : 0;
		n += 11;
	}
	t->len = n;
	return wire_parse_query(t->pkt, n, &t->q) == WIRE_OK;
}

struct reply {
	uint8_t buf[65535];
	size_t len;
	enum zone_status st;
	ldns_pkt *pkt;
};

static void ask(const struct zone *z, struct reply *r, const char *name, uint16_t qtype, int edns,
		size_t limit)
{
	struct tq t;
	if (r->pkt)
		ldns_pkt_free(r->pkt);
	r->pkt = NULL;
	if (!make_query(&t, 0xbeef, name, qtype, edns)) {
		r->len = 0;
		return;
	}
	r->len = zone_answer(z, &t.q, limit, r->buf, sizeof(r->buf), &r->st);
	if (ldns_wire2pkt(&r->pkt, r->buf, r->len) != LDNS_STATUS_OK)
		r->pkt = NULL;
}

static unsigned rcode_of(const struct reply *r) { return r->len >= 4 ? r->buf[3] & 0xf : 99; }
static unsigned an_of(const struct reply *r) { return r->len >= 12 ? wire_get16(r->buf + 6) : 999; }
static unsigned ns_of(const struct reply *r) { return r->len >= 12 ? wire_get16(r->buf + 8) : 999; }
static unsigned ar_of(const struct reply *r) { return r->len >= 12 ? wire_get16(r->buf + 10) : 999; }

/* Text of RR i of a section ("owner ttl IN TYPE rdata"), tabs as spaces. */
static const char *rr_text(const struct reply *r, ldns_pkt_section sec, size_t i, char *out,
			   size_t cap)
{
	ldns_rr_list *l = r->pkt ? ldns_pkt_get_section_clone(r->pkt, sec) : NULL;
	out[0] = '\0';
	if (l && i < ldns_rr_list_rr_count(l)) {
		char *s = ldns_rr2str(ldns_rr_list_rr(l, i));
		snprintf(out, cap, "%s", s);
		free(s);
		for (char *p = out; *p; p++)
			if (*p == '\t')
				*p = ' ';
		size_t n = strlen(out);
		if (n && out[n - 1] == '\n')
			out[n - 1] = '\0';
	}
	ldns_rr_list_deep_free(l);
	return out;
}

static struct zone *load(const char *apex, const char *text, char *err, size_t errlen)
{
	err[0] = '\0';
	return zone_load_text(apex, text, "t.zone", err, errlen);
}

static const char *srcdir(void)
{
	const char *d = getenv("top_srcdir");
	return d && *d ? d : ".";
}

/* ------------------------------------------------------------- tests */

static void test_exact_a(const struct zone *z)
{
	struct tq t;
	uint8_t out[1024];
	enum zone_status st;
	static const uint8_t want_answer[] = {
		0xc0, 0x0c, 0x00, 0x01, 0x00, 0x01, 0x00, 0x00, 0x01, 0x2c, 0x00, 0x04, 10, 0, 0, 1,
	};

	ok(make_query(&t, 0x1234, "www.example.test", TYPE_A, 0), "A: query parses");
	size_t n = zone_answer(z, &t.q, 512, out, sizeof(out), &st);
	is_int(st, ZONE_ANSWER, "A: status ZONE_ANSWER");
	is_int(n, t.q.q_end + sizeof(want_answer), "A: reply length");
	is_int(wire_get16(out), 0x1234, "A: ID copied");
	is_int(wire_get16(out + 2), WIRE_QR | WIRE_AA | WIRE_RD, "A: flags QR AA RD, rcode 0");
	ok(wire_get16(out + 4) == 1 && wire_get16(out + 6) == 1 && wire_get16(out + 8) == 0 &&
		   wire_get16(out + 10) == 0,
	   "A: counts 1/1/0/0");
	ok(memcmp(out + 12, t.pkt + 12, t.q.q_end - 12) == 0, "A: question echoed");
	ok(memcmp(out + t.q.q_end, want_answer, sizeof(want_answer)) == 0,
	   "A: answer is 0xC00C A IN 300 10.0.0.1");
}

static void test_case(const struct zone *z)
{
	struct tq t;
	uint8_t out[1024];
	enum zone_status st;

	ok(make_query(&t, 7, "WwW.ExAmPlE.TeSt", TYPE_A, 0), "case: query parses");
	size_t n = zone_answer(z, &t.q, 512, out, sizeof(out), &st);
	is_int(st, ZONE_ANSWER, "case: mixed-case name found");
	ok(n > t.q.q_end && memcmp(out + 12, t.pkt + 12, t.q.q_end - 12) == 0,
	   "case: question echoed in the client's case");
	ok(n > t.q.q_end && memcmp(out + t.q.q_end, "\xc0\x0c", 2) == 0, "case: owner points at it");
}

static void test_cname(const struct zone *z, struct reply *r)
{
	char s[512];

	ask(z, r, "alias.example.test", TYPE_A, 0, 512);
	is_int(r->st, ZONE_ANSWER, "CNAME: status ZONE_ANSWER");
	is_int(an_of(r), 2, "CNAME: 2 answer RRs");
	is_str(rr_text(r, LDNS_SECTION_ANSWER, 0, s, sizeof(s)),
	       "alias.example.test. 300 IN CNAME www.example.test.", "CNAME: the alias");
	is_str(rr_text(r, LDNS_SECTION_ANSWER, 1, s, sizeof(s)), "www.example.test. 300 IN A 10.0.0.1",
	       "CNAME: target followed");
	ok(r->buf[r->len - 32] == 3 && memcmp(r->buf + r->len - 31, "www", 3) == 0,
	   "CNAME: target owner written uncompressed");

	ask(z, r, "alias.example.test", TYPE_CNAME, 0, 512);
	is_int(an_of(r), 1, "CNAME qtype: only the CNAME");
	ask(z, r, "alias.example.test", TYPE_ANY, 0, 512);
	is_int(an_of(r), 1, "ANY at a CNAME: only the CNAME");

	ask(z, r, "chain1.example.test", TYPE_A, 0, 512);
	is_int(an_of(r), 3, "chain: 2 CNAMEs and the A");
	is_str(rr_text(r, LDNS_SECTION_ANSWER, 1, s, sizeof(s)),
	       "chain2.example.test. 300 IN CNAME WWW.example.test.", "chain: second link as written");
	is_str(rr_text(r, LDNS_SECTION_ANSWER, 2, s, sizeof(s)), "WWW.example.test. 300 IN A 10.0.0.1",
	       "chain: the A, owned by the target as written");

	ask(z, r, "out.example.test", TYPE_A, 0, 512);
	is_int(r->st, ZONE_CNAME_OUT, "CNAME out of zone: ZONE_CNAME_OUT");
	ok(an_of(r) == 1 && ns_of(r) == 0 && rcode_of(r) == 0, "CNAME out of zone: 1 RR, no SOA, NOERROR");

	ask(z, r, "www.example.test", TYPE_TXT, 0, 512);
	ask(z, r, "alias.example.test", TYPE_TXT, 0, 512);
	is_int(r->st, ZONE_NODATA, "CNAME to a name without the type: ZONE_NODATA");
	ok(an_of(r) == 1 && ns_of(r) == 1 && rcode_of(r) == 0, "... CNAME, SOA, NOERROR");

	ask(z, r, "dangling.example.test", TYPE_A, 0, 512);
	is_int(r->st, ZONE_NXDOMAIN, "CNAME to a missing name: ZONE_NXDOMAIN");
	ok(an_of(r) == 1 && ns_of(r) == 1 && rcode_of(r) == RCODE_NXDOMAIN,
	   "... CNAME, SOA, NXDOMAIN (RFC 6604)");

	ask(z, r, "loop1.example.test", TYPE_A, 0, 512);
	ok(r->len > 0 && an_of(r) == 8, "CNAME loop: stops after 8 CNAMEs");
	is_int(r->st, ZONE_NODATA, "CNAME loop: ZONE_NODATA");

	ask(z, r, "towild.example.test", TYPE_A, 0, 512);
	is_str(rr_text(r, LDNS_SECTION_ANSWER, 1, s, sizeof(s)), "foo.wild.example.test. 300 IN A 10.0.0.50",
	       "CNAME into a wildcard: target synthesised");
	ask(z, r, "Any.Cw.example.test", TYPE_A, 0, 512);
	ok(an_of(r) == 2, "wildcard CNAME: 2 RRs");
	is_str(rr_text(r, LDNS_SECTION_ANSWER, 0, s, sizeof(s)),
	       "Any.Cw.example.test. 300 IN CNAME www.example.test.", "wildcard CNAME: owner is the qname");
}

static void test_negative(const struct zone *z, struct reply *r)
{
	char s[512];

	ask(z, r, "www.example.test", TYPE_TXT, 0, 512);
	is_int(r->st, ZONE_NODATA, "NODATA: status");
	ok(rcode_of(r) == 0 && an_of(r) == 0 && ns_of(r) == 1, "NODATA: NOERROR, 0 answers, SOA");
	is_str(rr_text(r, LDNS_SECTION_AUTHORITY, 0, s, sizeof(s)),
	       "example.test. 60 IN SOA ns1.example.test. hostmaster.example.test. 2024010101 3600 600 86400 60",
	       "NODATA: SOA with TTL min(3600, 60)");

	ask(z, r, "nope.example.test", TYPE_A, 0, 512);
	is_int(r->st, ZONE_NXDOMAIN, "NXDOMAIN: status");
	ok(rcode_of(r) == RCODE_NXDOMAIN && an_of(r) == 0 && ns_of(r) == 1, "NXDOMAIN: rcode 3, SOA");
	ok(wire_get16(r->buf + 2) & WIRE_AA, "NXDOMAIN: AA");

	ask(z, r, "c.deep.example.test", TYPE_A, 0, 512);
	ok(r->st == ZONE_NODATA && rcode_of(r) == 0 && ns_of(r) == 1, "ENT: NODATA");
	ask(z, r, "deep.example.test", TYPE_A, 0, 512);
	is_int(r->st, ZONE_NODATA, "ENT next to the apex: NODATA");
	ask(z, r, "x.c.deep.example.test", TYPE_A, 0, 512);
	is_int(r->st, ZONE_NXDOMAIN, "below an ENT: NXDOMAIN");
	ask(z, r, "a.b.c.deep.example.test", TYPE_A, 0, 512);
	is_int(r->st, ZONE_ANSWER, "below ENTs: the record");

	ask(z, r, "www.example.org", TYPE_A, 0, 512);
	ok(r->len > 0 && r->st == ZONE_NXDOMAIN && rcode_of(r) == RCODE_NXDOMAIN,
	   "name outside the zone: NXDOMAIN");
	ask(z, r, "example", TYPE_A, 0, 512);
	is_int(r->st, ZONE_NXDOMAIN, "name shorter than the apex: NXDOMAIN");
	ask(z, r, "xexample.test", TYPE_A, 0, 512);
	is_int(r->st, ZONE_NXDOMAIN, "apex suffix inside a label: NXDOMAIN");
}

static void test_wildcard(const struct zone *z, struct reply *r)
{
	char s[512];

	ask(z, r, "foo.wild.example.test", TYPE_A, 0, 512);
	is_int(r->st, ZONE_ANSWER, "wildcard: answer");
	is_str(rr_text(r, LDNS_SECTION_ANSWER, 0, s, sizeof(s)), "foo.wild.example.test. 300 IN A 10.0.0.50",
	       "wildcard: owner synthesised as the qname");
	ok(r->len > 30 && memcmp(r->buf + r->len - 16, "\xc0\x0c", 2) == 0, "wildcard: owner is 0xC00C");
	ask(z, r, "a.b.wild.example.test", TYPE_A, 0, 512);
	is_int(r->st, ZONE_ANSWER, "wildcard: matches several labels down");
	ask(z, r, "foo.wild.example.test", TYPE_AAAA, 0, 512);
	ok(r->st == ZONE_NODATA && ns_of(r) == 1, "wildcard without the type: NODATA");
	ask(z, r, "sub.wild.example.test", TYPE_TXT, 0, 512);
	is_int(r->st, ZONE_NODATA, "existing name beside a wildcard: not synthesised");
	ask(z, r, "x.sub.wild.example.test", TYPE_A, 0, 512);
	is_int(r->st, ZONE_NXDOMAIN, "below an existing name: no wildcard (RFC 4592)");
	ask(z, r, "*.wild.example.test", TYPE_TXT, 0, 512);
	is_int(r->st, ZONE_ANSWER, "the wildcard name itself");
	ask(z, r, "wild.example.test", TYPE_A, 0, 512);
	is_int(r->st, ZONE_NODATA, "parent of a wildcard is an ENT: NODATA");
}

static void test_any_apex(const struct zone *z, struct reply *r)
{
	char s[512];

	ask(z, r, "www.example.test", TYPE_ANY, 0, 512);
	ok(r->st == ZONE_ANSWER && an_of(r) == 2, "ANY: A and AAAA");
	is_str(rr_text(r, LDNS_SECTION_ANSWER, 1, s, sizeof(s)), "www.example.test. 300 IN AAAA fd00::1",
	       "ANY: the AAAA");
	ask(z, r, "example.test", TYPE_ANY, 0, 512);
	is_int(an_of(r), 2, "ANY at the apex: SOA and NS");
	ask(z, r, "c.deep.example.test", TYPE_ANY, 0, 512);
	is_int(r->st, ZONE_NODATA, "ANY at an ENT: NODATA");
	ask(z, r, "EXAMPLE.test", TYPE_SOA, 0, 512);
	is_str(rr_text(r, LDNS_SECTION_ANSWER, 0, s, sizeof(s)),
	       "EXAMPLE.test. 3600 IN SOA ns1.example.test. hostmaster.example.test. 2024010101 3600 600 86400 60",
	       "SOA at the apex, full TTL");
	ask(z, r, "example.test", TYPE_NS, 0, 512);
	is_str(rr_text(r, LDNS_SECTION_ANSWER, 0, s, sizeof(s)), "example.test. 300 IN NS ns1.example.test.",
	       "NS at the apex");
	ask(z, r, "txt.example.test", TYPE_TXT, 0, 512);
	is_str(rr_text(r, LDNS_SECTION_ANSWER, 0, s, sizeof(s)), "txt.example.test. 300 IN TXT \"hello world\"",
	       "TXT");
	ask(z, r, "dup.example.test", TYPE_A, 0, 512);
	is_int(an_of(r), 1, "duplicate records are served once");
}

static void test_edns(const struct zone *z, struct reply *r)
{
	ask(z, r, "www.example.test", TYPE_A, 1, 1232);
	is_int(ar_of(r), 1, "EDNS: OPT in the reply");
	ok(r->len >= 11 && r->buf[r->len - 11] == 0 && wire_get16(r->buf + r->len - 10) == TYPE_OPT &&
		   wire_get16(r->buf + r->len - 8) == WIRE_EDNS_UDP && r->buf[r->len - 4] == 0,
	   "EDNS: OPT last, our payload size, DO clear");
	ask(z, r, "www.example.test", TYPE_A, 2, 1232);
	ok(r->len >= 11 && (r->buf[r->len - 4] & 0x80), "EDNS: DO echoed");
	ask(z, r, "nope.example.test", TYPE_A, 1, 1232);
	ok(ar_of(r) == 1 && ns_of(r) == 1 && rcode_of(r) == 3, "EDNS: OPT after the SOA on NXDOMAIN");
	ask(z, r, "www.example.test", TYPE_A, 0, 512);
	is_int(ar_of(r), 0, "no EDNS: no OPT");
}

static void test_truncation(void)
{
	char text[8192], err[256];
	struct reply *r = calloc(1, sizeof(*r));
	struct tq t;
	enum zone_status st;
	size_t n = (size_t)snprintf(text, sizeof(text),
				    "@ 60 IN SOA ns hm 1 2 3 4 5\n");
	for (int i = 0; i < 40; i++)
		n += (size_t)snprintf(text + n, sizeof(text) - n, "many 60 IN A 10.0.2.%d\n", i);
	struct zone *z = load("big.test", text, err, sizeof(err));
	ok(z != NULL, "40 A records load (%s)", err);
	if (!z) {
		free(r);
		return;
	}
	ask(z, r, "many.big.test", TYPE_A, 0, 512);
	make_query(&t, 0xbeef, "many.big.test", TYPE_A, 0);
	ok(r->len == t.q.q_end && (wire_get16(r->buf + 2) & WIRE_TC) && an_of(r) == 0,
	   "over 512: header and question only, TC set");
	is_int(r->st, ZONE_ANSWER, "truncated: status still ZONE_ANSWER");
	ask(z, r, "many.big.test", TYPE_A, 1, 1232);
	ok(!(wire_get16(r->buf + 2) & WIRE_TC) && an_of(r) == 40 && ar_of(r) == 1,
	   "EDNS 1232: all 40 fit, OPT kept");
	ask(z, r, "many.big.test", TYPE_A, 1, 600);
	make_query(&t, 0xbeef, "many.big.test", TYPE_A, 1);
	ok(r->len == t.q.q_end + 11 && (wire_get16(r->buf + 2) & WIRE_TC) && ar_of(r) == 1,
	   "EDNS 600: truncated, OPT kept");

	/* a buffer too small to build the reply in at all */
	n = zone_answer(z, &t.q, 65535, r->buf, 600, &st);
	ok(n == t.q.q_end + 11 && (wire_get16(r->buf + 2) & WIRE_TC) && wire_get16(r->buf + 6) == 0 &&
		   wire_get16(r->buf + 10) == 1,
	   "reply larger than the buffer: TC, OPT kept");
	is_int(zone_answer(z, &t.q, 512, r->buf, 511, &st), 0, "buffer under 512: 0");
	if (r->pkt)
		ldns_pkt_free(r->pkt);
	free(r);
	zone_unref(z);
}

static void test_load_errors(void)
{
	char err[512], path[1024];
	struct zone *z;
	static const char soa[] = "@ IN SOA ns hm 1 2 3 4 5\n";
	char text[1024];

	snprintf(text, sizeof(text), "$TTL 60\n%s; comment\n\nwww IN A 10.0.0.1\nbad IN A 10.0.0\n", soa);
	z = load("e.test", text, err, sizeof(err));
	ok(!z && strncmp(err, "t.zone:6: ", 10) == 0, "bad record: file:line (%s)", err);

	snprintf(text, sizeof(text), "$TTL 60\n%swww IN A 10.0.0.1\nbad IN A (\n  10.0.0.300 )\n", soa);
	z = load("e.test", text, err, sizeof(err));
	ok(!z && strncmp(err, "t.zone:4: ", 10) == 0, "bad multi-line record: its first line (%s)", err);

	z = load("e.test", "$TTL 60\nwww IN A 10.0.0.1\n", err, sizeof(err));
	ok(!z && strstr(err, "t.zone:1: ") == err && strstr(err, "SOA"), "missing SOA (%s)", err);
	z = load("e.test", "", err, sizeof(err));
	ok(!z && strstr(err, "SOA"), "empty zone: missing SOA (%s)", err);

	snprintf(text, sizeof(text), "$TTL 60\n%swww IN A 10.0.0.1\n\nwww.other.test. IN A 10.0.0.2\n", soa);
	z = load("e.test", text, err, sizeof(err));
	ok(!z && strncmp(err, "t.zone:5: ", 10) == 0 && strstr(err, "outside"),
	   "out-of-zone record: file:line (%s)", err);

	snprintf(text, sizeof(text), "%s$ORIGIN other.test.\nwww IN A 10.0.0.2\n", soa);
	z = load("e.test", text, err, sizeof(err));
	ok(!z && strncmp(err, "t.zone:3: ", 10) == 0, "$ORIGIN leaving the zone: error (%s)", err);

	z = load("e.test", "sub IN SOA ns hm 1 2 3 4 5\n", err, sizeof(err));
	ok(!z && strncmp(err, "t.zone:1: ", 10) == 0, "SOA below the apex (%s)", err);

	snprintf(text, sizeof(text), "%s@ IN SOA ns hm 2 2 3 4 5\n", soa);
	z = load("e.test", text, err, sizeof(err));
	ok(!z && strncmp(err, "t.zone:2: ", 10) == 0, "second SOA (%s)", err);

	snprintf(text, sizeof(text), "%sx IN CNAME y\nx IN A 10.0.0.1\n", soa);
	z = load("e.test", text, err, sizeof(err));
	ok(!z && strncmp(err, "t.zone:3: ", 10) == 0 && strstr(err, "CNAME"),
	   "CNAME and other data (%s)", err);

	snprintf(text, sizeof(text), "%sx IN CNAME y\nx IN CNAME z\n", soa);
	z = load("e.test", text, err, sizeof(err));
	ok(!z && strncmp(err, "t.zone:3: ", 10) == 0, "two CNAMEs (%s)", err);

	snprintf(text, sizeof(text), "%s$INCLUDE other.zone\n", soa);
	z = load("e.test", text, err, sizeof(err));
	ok(!z && strncmp(err, "t.zone:2: ", 10) == 0, "$INCLUDE refused (%s)", err);

	snprintf(text, sizeof(text), "%sx CH TXT \"a\"\n", soa);
	z = load("e.test", text, err, sizeof(err));
	ok(!z && strncmp(err, "t.zone:2: ", 10) == 0, "class CH refused (%s)", err);

	z = load("bad..name", soa, err, sizeof(err));
	ok(!z && err[0], "invalid apex (%s)", err);

	snprintf(path, sizeof(path), "%s/tests/fixtures/zones/bad-record.zone", srcdir());
	z = zone_load_file("bad.test", path, err, sizeof(err));
	ok(!z && strstr(err, "bad-record.zone:9: ") != NULL, "file: bad record on line 9 (%s)", err);
	snprintf(path, sizeof(path), "%s/tests/fixtures/zones/out-of-zone.zone", srcdir());
	z = zone_load_file("inside.test", path, err, sizeof(err));
	ok(!z && strstr(err, "out-of-zone.zone:7: ") != NULL, "file: out-of-zone record on line 7 (%s)",
	   err);
	z = zone_load_file("x.test", "/nonexistent/x.zone", err, sizeof(err));
	ok(!z && strstr(err, "/nonexistent/x.zone: ") == err, "file: missing file (%s)", err);
}

static void test_ttls(void)
{
	char err[256];
	struct reply *r = calloc(1, sizeof(*r));
	char s[256];

	/* RFC 1035 5.1: without $TTL the last TTL written is the default;
	 * an RR continuing an RRset keeps the RRset's TTL */
	struct zone *z = load("ttl.test",
			      "@ 100 IN SOA ns hm 1 2 3 4 50\n"
			      "a IN A 10.0.0.1\n"
			      "b 200 IN A 10.0.0.2\n"
			      "c IN A 10.0.0.3\n"
			      "$TTL 400\n"
			      "d 500 IN A 10.0.0.4\n"
			      "d IN A 10.0.0.5\n"
			      "e IN A 10.0.0.6\n",
			      err, sizeof(err));
	ok(z != NULL, "TTL zone loads (%s)", err);
	if (z) {
		ask(z, r, "a.ttl.test", TYPE_A, 0, 512);
		is_str(rr_text(r, LDNS_SECTION_ANSWER, 0, s, sizeof(s)), "a.ttl.test. 100 IN A 10.0.0.1",
		       "TTL: last written (the SOA's)");
		ask(z, r, "c.ttl.test", TYPE_A, 0, 512);
		is_str(rr_text(r, LDNS_SECTION_ANSWER, 0, s, sizeof(s)), "c.ttl.test. 200 IN A 10.0.0.3",
		       "TTL: last written");
		ask(z, r, "d.ttl.test", TYPE_A, 0, 512);
		ok(an_of(r) == 2 && strstr(rr_text(r, LDNS_SECTION_ANSWER, 1, s, sizeof(s)), " 500 ") != NULL,
		   "TTL: RRset continuation keeps 500");
		ask(z, r, "e.ttl.test", TYPE_A, 0, 512);
		is_str(rr_text(r, LDNS_SECTION_ANSWER, 0, s, sizeof(s)), "e.ttl.test. 400 IN A 10.0.0.6",
		       "TTL: $TTL");
		ask(z, r, "nope.ttl.test", TYPE_A, 0, 512);
		ok(strstr(rr_text(r, LDNS_SECTION_AUTHORITY, 0, s, sizeof(s)), " 50 IN SOA") != NULL,
		   "negative TTL: SOA minimum when lower");
		zone_unref(z);
	}
	z = load("ttl.test", "@ 30 IN SOA ns hm 1 2 3 4 50\nx 10 IN A 10.0.0.1\nx 20 IN A 10.0.0.2\n",
		 err, sizeof(err));
	if (z) {
		ask(z, r, "x.ttl.test", TYPE_A, 0, 512);
		ok(strstr(rr_text(r, LDNS_SECTION_ANSWER, 1, s, sizeof(s)), " 10 IN") != NULL,
		   "differing TTLs in an RRset: the lowest");
		ask(z, r, "nope.ttl.test", TYPE_A, 0, 512);
		ok(strstr(rr_text(r, LDNS_SECTION_AUTHORITY, 0, s, sizeof(s)), " 30 IN SOA") != NULL,
		   "negative TTL: SOA TTL when lower");
		zone_unref(z);
	} else {
		ok(0, "RRset TTL zone loads (%s)", err);
	}
	if (r->pkt)
		ldns_pkt_free(r->pkt);
	free(r);
}

static void test_lookup_rrs(const struct zone *z)
{
	uint8_t name[WIRE_MAX_NAME], out[2048], want[256];
	uint16_t count;
	enum zone_status st;
	size_t nl = put_name(name, "Alias.example.test"), w = 0;

	size_t n = zone_lookup_rrs(z, name, nl, TYPE_A, out, sizeof(out), &count, &st);
	/* Alias.example.test. CNAME www.example.test. ; www.example.test. A 10.0.0.1 */
	memcpy(want, name, nl);
	w = nl;
	memcpy(want + w, "\x00\x05\x00\x01\x00\x00\x01\x2c\x00\x12", 10);
	w += 10;
	w += put_name(want + w, "www.example.test");
	w += put_name(want + w, "www.example.test");
	memcpy(want + w, "\x00\x01\x00\x01\x00\x00\x01\x2c\x00\x04\x0a\x00\x00\x01", 14);
	w += 14;
	ok(st == ZONE_ANSWER && count == 2, "lookup_rrs: CNAME + A");
	ok(n == w && memcmp(out, want, w) == 0, "lookup_rrs: full owner names, asked case kept");

	nl = put_name(name, "x.Wild.example.test");
	n = zone_lookup_rrs(z, name, nl, TYPE_TXT, out, sizeof(out), &count, &st);
	ok(st == ZONE_ANSWER && count == 1 && n == nl + 10 + 5 && memcmp(out, name, nl) == 0,
	   "lookup_rrs: wildcard owner is the asked name");
	n = zone_lookup_rrs(z, name, nl, TYPE_TXT, out, nl + 5, &count, &st);
	ok(n == 0 && count == 0, "lookup_rrs: 0 when out is too small");

	nl = put_name(name, "nope.example.test");
	n = zone_lookup_rrs(z, name, nl, TYPE_A, out, sizeof(out), &count, &st);
	ok(n == 0 && count == 0 && st == ZONE_NXDOMAIN, "lookup_rrs: NXDOMAIN writes nothing");
	nl = put_name(name, "www.example.test");
	n = zone_lookup_rrs(z, name, nl, TYPE_TXT, out, sizeof(out), &count, &st);
	ok(n == 0 && count == 0 && st == ZONE_NODATA, "lookup_rrs: NODATA writes nothing");
	nl = put_name(name, "out.example.test");
	n = zone_lookup_rrs(z, name, nl, TYPE_A, out, sizeof(out), &count, &st);
	ok(n > 0 && count == 1 && st == ZONE_CNAME_OUT, "lookup_rrs: CNAME leaving the zone");
	nl = put_name(name, "www.example.test");
	n = zone_lookup_rrs(z, name, nl, TYPE_ANY, out, sizeof(out), &count, &st);
	ok(n > 0 && count == 2 && st == ZONE_ANSWER, "lookup_rrs: ANY");
	name[0] = 70; /* a label running past the end */
	n = zone_lookup_rrs(z, name, nl, TYPE_A, out, sizeof(out), &count, &st);
	ok(n == 0 && st == ZONE_NXDOMAIN, "lookup_rrs: malformed name is NXDOMAIN");
}

struct thr {
	struct zone *z;
	int ok;
};

static void *reader(void *arg)
{
	struct thr *t = arg;
	struct tq q;
	uint8_t out[1024];
	enum zone_status st;
	t->ok = make_query(&q, 1, "alias.example.test", TYPE_A, 1);
	for (int i = 0; i < 20000 && t->ok; i++) {
		zone_ref(t->z);
		size_t n = zone_answer(t->z, &q.q, 1232, out, sizeof(out), &st);
		t->ok = n > q.q.q_end && st == ZONE_ANSWER && wire_get16(out + 6) == 2;
		zone_unref(t->z);
	}
	return NULL;
}

static void test_refs_threads(void)
{
	char err[256];
	struct zone *z = load("example.test", test_zone, err, sizeof(err));
	pthread_t th[4];
	struct thr t[4];
	int all = 1;

	if (!z) {
		ok(0, "zone for threads loads (%s)", err);
		return;
	}
	for (int i = 0; i < 4; i++) {
		t[i].z = z;
		pthread_create(&th[i], NULL, reader, &t[i]);
	}
	for (int i = 0; i < 4; i++) {
		pthread_join(th[i], NULL);
		all &= t[i].ok;
	}
	ok(all, "4 threads answer and ref/unref concurrently");
	zone_ref(z);
	zone_unref(z);
	is_int(zone_rr_count(z), TEST_ZONE_RRS, "zone alive after ref + unref");
	zone_unref(z); /* the last reference: freed (ASan/valgrind check this) */
	zone_unref(NULL); /* a no-op */
}

static void test_demo_zones(void)
{
	static const struct {
		const char *apex;
		const char *addr;
	} demo[] = {
		{"privatelink.cognitiveservices.azure.com", "10.0.1.4"},
		{"privatelink.openai.azure.com", "10.0.1.5"},
		{"privatelink.services.ai.azure.com", "10.0.1.6"},
	};
	char path[1024], err[512], want[512], s[256], name[256];
	struct reply *r = calloc(1, sizeof(*r));

	for (size_t i = 0; i < FWD_ARRAY_LEN(demo); i++) {
		snprintf(path, sizeof(path), "%s/zones/%s.zone", srcdir(), demo[i].apex);
		struct zone *z = zone_load_file(demo[i].apex, path, err, sizeof(err));
		ok(z != NULL, "demo zone %s loads (%s)", demo[i].apex, z ? "" : err);
		if (!z)
			continue;
		snprintf(name, sizeof(name), "contoso-foundry.%s", demo[i].apex);
		snprintf(want, sizeof(want), "%s. 10 IN A %s", name, demo[i].addr);
		ask(z, r, name, TYPE_A, 0, 512);
		is_str(rr_text(r, LDNS_SECTION_ANSWER, 0, s, sizeof(s)), want, "demo: private endpoint A");
		ask(z, r, name, TYPE_AAAA, 0, 512);
		ok(r->st == ZONE_ANSWER, "demo: AAAA");
		ask(z, r, demo[i].apex, TYPE_SOA, 0, 512);
		ok(r->st == ZONE_ANSWER && zone_serial(z) == 1 &&
			   strstr(rr_text(r, LDNS_SECTION_ANSWER, 0, s, sizeof(s)),
				  "azureprivatedns.net. azureprivatedns-host.microsoft.com.") != NULL,
		   "demo: Azure's SOA");
		ask(z, r, demo[i].apex, TYPE_NS, 0, 512);
		ok(r->st == ZONE_ANSWER, "demo: NS");
		snprintf(name, sizeof(name), "other-tenant.%s", demo[i].apex);
		ask(z, r, name, TYPE_A, 0, 512);
		ok(r->st == ZONE_NXDOMAIN && ns_of(r) == 1, "demo: unknown name NXDOMAIN");
		zone_unref(z);
	}
	snprintf(path, sizeof(path), "%s/zones/privatelink.services.ai.azure.com.zone", srcdir());
	struct zone *z = zone_load_file("privatelink.services.ai.azure.com", path, err, sizeof(err));
	if (z) {
		ask(z, r, "proj1.contoso-foundry.privatelink.services.ai.azure.com", TYPE_A, 0, 512);
		ok(r->st == ZONE_ANSWER, "demo: wildcard below the resource");
		ask(z, r, "contoso-agents.privatelink.services.ai.azure.com", TYPE_A, 0, 512);
		ok(r->st == ZONE_ANSWER && an_of(r) == 2, "demo: CNAME inside the zone");
		zone_unref(z);
	}
	if (r->pkt)
		ldns_pkt_free(r->pkt);
	free(r);
}

/*
 * Memory per A-record node, for ARM sync's budget (1,000,000 records in
 * 250 MB): what malloc holds for the zone after loading, divided by the
 * records.  Names are typical private endpoint names.
 */
static void test_memory(void)
{
#if defined(__SANITIZE_ADDRESS__)
	skip("memory per node: the sanitizer's allocator pads every block");
#else
	enum { N = 200000 };
	size_t cap = (size_t)N * 64 + 256, n = 0;
	char *text = malloc(cap), err[256];
	n += (size_t)snprintf(text + n, cap - n, "$TTL 10\n@ 3600 IN SOA azureprivatedns.net. "
						 "azureprivatedns-host.microsoft.com. 1 3600 300 2419200 10\n");
	for (int i = 0; i < N; i++)
		n += (size_t)snprintf(text + n, cap - n, "pe-account-%06d IN A 10.%d.%d.%d\n", i,
				      (i >> 16) & 255, (i >> 8) & 255, i & 255);
	struct mallinfo2 before = mallinfo2();
	struct zone *z = load("privatelink.blob.core.windows.net", text, err, sizeof(err));
	struct mallinfo2 after = mallinfo2();
	free(text);
	ok(z != NULL && zone_rr_count(z) == N + 1, "200,000 A records load (%s)", err);
	size_t used = (after.uordblks + after.hblkhd) - (before.uordblks + before.hblkhd);
	double per = (double)used / N;
	if (after.uordblks == 0) {
		/* valgrind and other replacement allocators report nothing */
		skip("memory per node: malloc statistics unavailable");
	} else {
		printf("# %.1f bytes per A-record node (zone arena + hash table)\n", per);
		ok(per > 16 && per <= 150, "memory: %.1f bytes per A node <= 150", per);
	}
	zone_unref(z);
#endif
}

/* zone_text_records(): what explain reads a zone file with */
struct seen {
	int n;
	int line[8];
	char type[8][8];
	char note[8][32];
};

static void seen_record(void *arg, const struct zone_record *rec)
{
	struct seen *sn = arg;
	const ldns_rr *rr = (const ldns_rr *)rec->rr;
	char *t = ldns_rr_type2str(ldns_rr_get_type(rr));

	if (sn->n < 8) {
		sn->line[sn->n] = rec->line;
		snprintf(sn->type[sn->n], sizeof(sn->type[0]), "%s", t ? t : "?");
		snprintf(sn->note[sn->n], sizeof(sn->note[0]), "%.*s", rec->note ? (int)rec->note_len : 1,
			 rec->note ? rec->note : "-");
	}
	free(t);
	sn->n++;
}

static void test_records(void)
{
	static const char text[] = "$ORIGIN r.test.\n"                         /* 1 */
				   "$TTL 60\n"                                  /* 2 */
				   "; id: soa\n"                                /* 3 */
				   "@ IN SOA ns h 1 2 3 4 5 ; trailing\n"       /* 4 */
				   "\n"                                         /* 5 */
				   "  ; id: www\n"                              /* 6 */
				   "; a plain comment\n"                        /* 7 */
				   "www IN A 192.0.2.1\n"                       /* 8 */
				   "bad IN A not-an-address\n"                  /* 9 */
				   "mail IN (\n"                                /* 10 */
				   "  MX 10 www )\n";                           /* 11 */
	uint8_t apex[WIRE_MAX_NAME];
	int alen = wire_name_from_text("r.test", apex);
	struct seen sn;

	memset(&sn, 0, sizeof(sn));
	is_int(zone_text_records(apex, (size_t)alen, text, strlen(text), "; id: ", seen_record, &sn), FWD_OK,
	       "zone_text_records reads a zone text");
	is_int(sn.n, 3, "three records; the malformed one skipped");
	is_int(sn.line[0], 4, "SOA at its line");
	is_str(sn.type[0], "SOA", "... an SOA");
	is_str(sn.note[0], "soa", "... with the marker line before it");
	is_int(sn.line[1], 8, "A at its line, past blank and comment lines");
	is_str(sn.note[1], "www", "... the indented marker line noted");
	is_int(sn.line[2], 10, "a record over two lines: its first line");
	is_str(sn.note[2], "www", "... the last marker still applies");
	memset(&sn, 0, sizeof(sn));
	is_int(zone_file_records(apex, (size_t)alen, "/nonexistent/r.test.zone", NULL, seen_record, &sn), FWD_EIO,
	       "zone_file_records: an unreadable file is FWD_EIO");
}

int main(void)
{
	char err[512];
	struct reply *r = calloc(1, sizeof(*r));

	log_set_level(LOG_LVL_ERR); /* the TTL and loop warnings are expected */
	struct zone *z = load("Example.TEST.", test_zone, err, sizeof(err));
	ok(z != NULL, "test zone loads (%s)", err);
	if (!z)
		return tap_done();
	size_t alen;
	const uint8_t *apex = zone_apex(z, &alen);
	ok(alen == 14 && memcmp(apex, "\007example\004test", 14) == 0, "apex in lower-case wire form");
	is_int(zone_serial(z), 2024010101, "serial");
	is_int(zone_rr_count(z), TEST_ZONE_RRS, "record count (duplicate dropped)");

	test_exact_a(z);
	test_case(z);
	test_cname(z, r);
	test_negative(z, r);
	test_wildcard(z, r);
	test_any_apex(z, r);
	test_edns(z, r);
	test_lookup_rrs(z);
	test_truncation();
	test_load_errors();
	test_ttls();
	test_refs_threads();
	test_demo_zones();
	test_records();
	test_memory();

	if (r->pkt)
		ldns_pkt_free(r->pkt);
	free(r);
	zone_unref(z);
	return tap_done();
}
