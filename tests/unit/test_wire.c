/*
 * test_wire.c -- the hand-written wire parser and reply builders.
 */
#include <stdlib.h>
#include <string.h>

#include "tap.h"
#include "wire.h"

/* Build a query: header, name from text, type, class, optional OPT. */
static size_t mkquery(uint8_t *buf, uint16_t id, uint16_t flags, const char *name, uint16_t type,
		      int edns, uint8_t version, int do_bit)
{
	uint8_t wname[WIRE_MAX_NAME];
	int nl = wire_name_from_text(name, wname);
	size_t n = 12;
	wire_put_header(buf, id, flags, 1, 0, 0, edns ? 1 : 0);
	memcpy(buf + n, wname, (size_t)nl);
	n += (size_t)nl;
	wire_put16(buf + n, type);
	wire_put16(buf + n + 2, CLASS_IN);
	n += 4;
	if (edns) {
		buf[n] = 0;
		wire_put16(buf + n + 1, TYPE_OPT);
		wire_put16(buf + n + 3, 4096);
		buf[n + 5] = 0;
		buf[n + 6] = version;
		buf[n + 7] = do_bit ? 0x80 : 0;
		buf[n + 8] = 0;
		wire_put16(buf + n + 9, 0);
		n += 11;
	}
	return n;
}

static void test_parse_ok(void)
{
	uint8_t buf[512];
	struct wire_query q;
	size_t n = mkquery(buf, 0x1234, WIRE_RD, "Acct.OpenAI.Azure.COM", TYPE_A, 0, 0, 0);
	buf[13] = 'A'; /* mkquery lower-cases; put a capital back */
	buf[18] = 'O';
	is_int(wire_parse_query(buf, n, &q), WIRE_OK, "plain query parses");
	is_int(q.id, 0x1234, "id");
	is_int(q.qtype, TYPE_A, "qtype");
	is_int(q.qclass, CLASS_IN, "qclass");
	is_int(q.nlabels, 4, "4 labels");
	is_int(q.qname_len, 23, "qname wire length");
	ok(memcmp(q.qname, "\x04" "acct" "\x06" "openai" "\x05" "azure" "\x03" "com", 23) == 0,
	   "qname lower-cased");
	ok(memcmp(buf + 13, "Acct", 4) == 0, "packet itself untouched (case kept for echo)");
	is_int(q.label_off[1], 5, "label offsets");
	is_int(q.q_end, n, "question end");
	is_int(q.has_edns, 0, "no EDNS");
	is_int(wire_udp_limit(&q), 512, "limit 512 without EDNS");

	n = mkquery(buf, 1, 0, "a.b.", TYPE_AAAA, 1, 0, 1);
	is_int(wire_parse_query(buf, n, &q), WIRE_OK, "EDNS query parses");
	is_int(q.has_edns, 1, "EDNS seen");
	is_int(q.do_bit, 1, "DO bit");
	is_int(wire_udp_limit(&q), WIRE_EDNS_UDP, "limit capped at our size");

	n = mkquery(buf, 1, 0, ".", TYPE_NS, 0, 0, 0);
	is_int(wire_parse_query(buf, n, &q), WIRE_OK, "root query parses");
	is_int(q.qname_len, 1, "root name length 1");
}

static void test_parse_bad(void)
{
	uint8_t buf[512];
	struct wire_query q;
	size_t n = mkquery(buf, 7, 0, "x.example.", TYPE_A, 0, 0, 0);

	is_int(wire_parse_query(buf, 11, &q), WIRE_DROP, "short packet dropped");
	buf[2] |= 0x80;
	is_int(wire_parse_query(buf, n, &q), WIRE_DROP, "QR=1 dropped");
	buf[2] &= 0x7f;
	buf[2] |= (uint8_t)(4 << 3);
	is_int(wire_parse_query(buf, n, &q), WIRE_NOTIMP, "NOTIFY opcode -> NOTIMP");
	buf[2] = 0;
	wire_put16(buf + 4, 0);
	is_int(wire_parse_query(buf, n, &q), WIRE_FORMERR, "QDCOUNT 0 -> FORMERR");
	wire_put16(buf + 4, 2);
	is_int(wire_parse_query(buf, n, &q), WIRE_FORMERR, "QDCOUNT 2 -> FORMERR");
	wire_put16(buf + 4, 1);
	is_int(wire_parse_query(buf, n - 2, &q), WIRE_FORMERR, "truncated question -> FORMERR");
	is_int(wire_parse_query(buf, 15, &q), WIRE_FORMERR, "truncated name -> FORMERR");

	/* compression pointer in the question */
	uint8_t p[] = {0, 1, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0xc0, 0x0c, 0, 1, 0, 1};
	is_int(wire_parse_query(p, sizeof(p), &q), WIRE_FORMERR, "pointer in question -> FORMERR");
	/* label length 64 */
	uint8_t l64[12 + 1 + 64 + 1 + 4];
	memset(l64, 'a', sizeof(l64));
	wire_put_header(l64, 1, 0, 1, 0, 0, 0);
	l64[12] = 64;
	l64[12 + 65] = 0;
	is_int(wire_parse_query(l64, sizeof(l64), &q), WIRE_FORMERR, "64-byte label -> FORMERR");

	n = mkquery(buf, 1, 0, "a.b.", TYPE_A, 1, 1, 0);
	is_int(wire_parse_query(buf, n, &q), WIRE_BADVERS, "EDNS version 1 -> BADVERS");
	n = mkquery(buf, 1, 0, "a.b.", TYPE_A, 1, 0, 0);
	is_int(wire_parse_query(buf, n - 1, &q), WIRE_FORMERR, "cut OPT -> FORMERR");
	/* two OPT records */
	memcpy(buf + n, buf + n - 11, 11);
	wire_put16(buf + 10, 2);
	is_int(wire_parse_query(buf, n + 11, &q), WIRE_FORMERR, "two OPTs -> FORMERR");
	/* OPT with a non-root owner */
	n = mkquery(buf, 1, 0, "a.b.", TYPE_A, 0, 0, 0);
	wire_put16(buf + 10, 1);
	uint8_t opt[] = {1, 'x', 0, 0, 41, 16, 0, 0, 0, 0, 0, 0, 0};
	memcpy(buf + n, opt, sizeof(opt));
	is_int(wire_parse_query(buf, n + sizeof(opt), &q), WIRE_FORMERR, "OPT not at root -> FORMERR");
}

static void test_replies(void)
{
	uint8_t buf[512], out[600];
	struct wire_query q;
	size_t n = mkquery(buf, 0xbeef, WIRE_RD | WIRE_CD, "x.Example.", TYPE_A, 1, 0, 1);
	buf[15] = 'E';
	wire_parse_query(buf, n, &q);
	size_t r = wire_reply_error(&q, RCODE_REFUSED, WIRE_RA, out, sizeof(out));
	is_int(r, n, "REFUSED reply: header + question + OPT");
	is_int(wire_get16(out), 0xbeef, "id echoed");
	uint16_t f = wire_get16(out + 2);
	ok((f & WIRE_QR) && (f & WIRE_RD) && (f & WIRE_CD) && (f & WIRE_RA), "QR RD CD RA set");
	is_int(WIRE_RCODE(f), RCODE_REFUSED, "rcode REFUSED");
	ok(memcmp(out + 12, buf + 12, q.q_end - 12) == 0, "question echoed with original case");
	is_int(wire_get16(out + 10), 1, "ARCOUNT 1 (OPT)");
	is_int(out[q.q_end + 7], 0x80, "DO echoed in OPT");

	n = mkquery(buf, 2, 0, "a.b.", TYPE_A, 1, 1, 0);
	is_int(wire_parse_query(buf, n, &q), WIRE_BADVERS, "BADVERS parse");
	r = wire_reply_error(&q, RCODE_BADVERS, 0, out, sizeof(out));
	is_int(WIRE_RCODE(wire_get16(out + 2)), 0, "BADVERS low bits 0");
	is_int(out[r - 11 + 5], 1, "BADVERS upper bits 1 in OPT");

	/* truncation */
	n = mkquery(buf, 3, 0, "a.b.", TYPE_A, 0, 0, 0);
	wire_parse_query(buf, n, &q);
	memcpy(out, buf, n);
	wire_put16(out + 6, 40);
	r = wire_truncate(&q, out, 580, 512);
	is_int(r, n, "truncated to header + question");
	ok(wire_get16(out + 2) & WIRE_TC, "TC set");
	is_int(wire_get16(out + 6), 0, "ANCOUNT 0");
	is_int(wire_truncate(&q, out, 100, 512), 100, "short reply untouched");
}

static void test_names(void)
{
	uint8_t w[WIRE_MAX_NAME], w2[WIRE_MAX_NAME];
	char t[1100];
	is_int(wire_name_from_text("Foo.Bar", w), 9, "from text, no trailing dot");
	is_str(wire_name_to_text(w, t, sizeof(t)), "foo.bar.", "to text lower-case with dot");
	is_int(wire_name_from_text(".", w), 1, "root");
	is_str(wire_name_to_text(w, t, sizeof(t)), ".", "root to text");
	is_int(wire_name_from_text("a..b", w), -1, "empty label rejected");
	char big[300];
	memset(big, 'a', 64);
	big[64] = 0;
	is_int(wire_name_from_text(big, w), -1, "64-char label rejected");
	is_int(wire_name_from_text("a\\.b.c", w), 7, "escaped dot");
	is_str(wire_name_to_text(w, t, sizeof(t)), "a\\.b.c.", "escaped dot round trip");
	is_int(wire_name_labels(w), 2, "labels counted");
	/* compressed read */
	uint8_t pkt[] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 'A', 1, 'b', 0, 1, 'c', 0xc0, 12};
	is_int(wire_read_name(pkt, sizeof(pkt), 17, w2), 7, "compressed name expanded");
	ok(memcmp(w2, "\x01" "c" "\x01" "a" "\x01" "b", 7) == 0, "expanded and lower-cased");
	is_int(wire_skip_name(pkt, sizeof(pkt), 17), 21, "skip compressed name");
	uint8_t loop[] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xc0, 12};
	is_int(wire_read_name(loop, sizeof(loop), 12, w2), -1, "pointer loop refused");
	ok(wire_hash((const uint8_t *)"abc", 3) != wire_hash((const uint8_t *)"abd", 3), "hash differs");
}

/* A reply to www.example.test A: CNAME to a.example.test (compressed),
 * its A record, an SOA in authority.  Offsets of interest returned. */
struct good_reply {
	uint8_t b[512];
	size_t n, cname_rdlen_at, a_rdlen_at, a_owner_at;
};

static void mkreply(struct good_reply *r)
{
	size_t n = mkquery(r->b, 7, WIRE_QR | WIRE_RD | WIRE_RA, "www.example.test", TYPE_A, 0, 0, 0);
	uint8_t *b = r->b;
	wire_put16(b + 6, 2);
	wire_put16(b + 8, 1);
	/* www.example.test CNAME a.example.test */
	wire_put16(b + n, 0xc00c);
	wire_put16(b + n + 2, TYPE_CNAME);
	wire_put16(b + n + 4, CLASS_IN);
	wire_put32(b + n + 6, 300);
	r->cname_rdlen_at = n + 10;
	wire_put16(b + n + 10, 4);
	n += 12;
	size_t target = n;
	b[n++] = 1;
	b[n++] = 'a';
	wire_put16(b + n, 0xc010); /* -> example.test */
	n += 2;
	/* a.example.test A 192.0.2.1 */
	r->a_owner_at = n;
	wire_put16(b + n, (uint16_t)(0xc000 | target));
	wire_put16(b + n + 2, TYPE_A);
	wire_put16(b + n + 4, CLASS_IN);
	wire_put32(b + n + 6, 300);
	r->a_rdlen_at = n + 10;
	wire_put16(b + n + 10, 4);
	n += 12;
	b[n++] = 192, b[n++] = 0, b[n++] = 2, b[n++] = 1;
	/* example.test SOA ns.example.test. host.example.test. ... */
	wire_put16(b + n, 0xc010);
	wire_put16(b + n + 2, TYPE_SOA);
	wire_put16(b + n + 4, CLASS_IN);
	wire_put32(b + n + 6, 60);
	size_t rdl = n + 10;
	n += 12;
	size_t rd = n;
	b[n++] = 2, b[n++] = 'n', b[n++] = 's';
	wire_put16(b + n, 0xc010);
	n += 2;
	b[n++] = 4, memcpy(b + n, "host", 4), n += 4;
	wire_put16(b + n, 0xc010);
	n += 2;
	memset(b + n, 0, 20);
	n += 20;
	wire_put16(b + rdl, (uint16_t)(n - rd));
	r->n = n;
}

static void test_check_message(void)
{
	struct good_reply r, t;
	mkreply(&r);
	ok(wire_check_message(r.b, r.n) == NULL, "a well-formed reply passes");

	t = r;
	wire_put16(t.b + 6, 65535);
	ok(wire_check_message(t.b, t.n) != NULL, "ANCOUNT 65535 with two records: malformed");
	t = r;
	wire_put16(t.b + t.a_rdlen_at, 400);
	ok(wire_check_message(t.b, t.n) != NULL, "RDLENGTH past the end: malformed");
	t = r;
	wire_put16(t.b + t.a_owner_at, (uint16_t)(0xc000 | t.a_owner_at));
	ok(wire_check_message(t.b, t.n) != NULL, "a pointer to itself (loop): malformed");
	t = r;
	wire_put16(t.b + t.a_owner_at, 0xc000 | 500);
	ok(wire_check_message(t.b, t.n) != NULL, "a pointer past the end: malformed");
	t = r;
	t.b[t.n++] = 0;
	ok(wire_check_message(t.b, t.n) != NULL, "a byte after the last record: malformed");
	t = r;
	wire_put16(t.b + t.cname_rdlen_at, 3);
	ok(wire_check_message(t.b, t.n) != NULL, "CNAME RDATA shorter than its name: malformed");
	t = r;
	wire_put16(t.b + t.a_rdlen_at, 3);
	t.n -= 1;
	memmove(t.b + t.a_rdlen_at + 2 + 3, t.b + t.a_rdlen_at + 2 + 4, t.n - (t.a_rdlen_at + 2 + 3));
	ok(wire_check_message(t.b, t.n) != NULL, "an A record of 3 bytes: malformed");
	ok(wire_check_message(r.b, r.n - 5) != NULL, "cut in the SOA: malformed");
	ok(wire_check_message(r.b, 11) != NULL, "shorter than a header: malformed");
	/* 200 pointers each to the previous one: bounded, refused, no hang */
	static uint8_t big[WIRE_HDR_LEN + 2 + 400 + 10];
	wire_put_header(big, 1, WIRE_QR, 1, 0, 0, 0);
	size_t n = WIRE_HDR_LEN;
	big[n++] = 1, big[n++] = 'x';
	for (int i = 0; i < 200; i++, n += 2)
		wire_put16(big + n, (uint16_t)(0xc000 | (n - (i ? 2 : 2))));
	ok(wire_check_message(big, n) != NULL, "a chain of 200 pointers: malformed, and it returns");
}

/* Cases found by tests/fuzz/fuzz_reply: pointers forward or into the
 * header, a name that does not fill its RDATA, OPT in the answer. */
static void test_check_message_fuzz(void)
{
	uint8_t m[512];
	size_t n = mkquery(m, 1, WIRE_QR, "a.test", TYPE_CNAME, 0, 0, 0);
	size_t q_end = n;

	ok(wire_check_message(m, n) == NULL, "check: a header and a question");
	/* an answer: a.test CNAME b.a.test, the target compressed against the question */
	static const uint8_t rr[] = {0xc0, 0x0c, 0, 5, 0, 1, 0, 0, 0, 60, 0, 4, 1, 'b', 0xc0, 0x0c};
	memcpy(m + n, rr, sizeof(rr));
	n += sizeof(rr);
	wire_put16(m + 6, 1);
	ok(wire_check_message(m, n) == NULL, "check: a CNAME whose names point back at the question");
	m[q_end + 1] = 0x40; /* owner pointer to offset 0x40, after itself */
	ok(wire_check_message(m, n) != NULL, "check: a forward compression pointer in an owner");
	m[q_end + 1] = 0x0b; /* owner pointer to ARCOUNT's low byte (0: the root, until an OPT is added) */
	ok(wire_check_message(m, n) != NULL, "check: a compression pointer into the header");
	m[q_end + 1] = 0x0c;
	m[n - 1] = (uint8_t)(n - 2); /* the target's pointer to itself */
	ok(wire_check_message(m, n) != NULL, "check: a CNAME target pointing at itself");
	m[n - 1] = 0x0c;
	m[q_end + 11] = 5; /* RDLENGTH one more than the name */
	m[n++] = 0;
	ok(wire_check_message(m, n) != NULL, "check: a CNAME with a byte after its name");
	m[q_end + 11] = 4;
	n--;
	ok(wire_check_message(m, n) == NULL, "check: the CNAME whole again");
	m[q_end + 3] = TYPE_OPT; /* the answer becomes an OPT record */
	ok(wire_check_message(m, n) != NULL, "check: an OPT record in the answer section");
	m[q_end + 3] = TYPE_CNAME;
	m[n - 1] = WIRE_HDR_LEN + 2; /* the target's pointer to "test", a label of the question */
	ok(wire_check_message(m, n) == NULL, "check: a pointer to a later label of an earlier name");
	/* the target's pointer to the TTL's first byte (0: the root, until the
	 * cache counts the TTL down and the name turns into garbage) */
	m[n - 1] = (uint8_t)(q_end + 6);
	ok(wire_check_message(m, n) != NULL, "check: a pointer into a TTL");
	m[n - 1] = WIRE_HDR_LEN + 1; /* into the middle of the question's first label */
	ok(wire_check_message(m, n) != NULL, "check: a pointer into a label's bytes");
}

int main(void)
{
	test_parse_ok();
	test_parse_bad();
	test_replies();
	test_names();
	test_check_message();
	test_check_message_fuzz();
	return tap_done();
}
