/*
 * test_edns.c -- EDNS hop by hop (edns.c): query OPT parsing, DNS cookies
 * (RFC 7873, RFC 9018 with its Appendix A vectors), our own OPT toward
 * clients and upstreams, error reply flags.
 */
#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>

#include "dnsmsg.h"
#include "edns.h"
#include "tap.h"
#include "wire.h"

/* ------------------------------------------------------------ helpers */

static void hexbytes(const char *hex, uint8_t *out)
{
	for (size_t i = 0; hex[2 * i]; i++) {
		unsigned v;
		sscanf(hex + 2 * i, "%2x", &v);
		out[i] = (uint8_t)v;
	}
}

static int eqhex(const uint8_t *b, const char *hex)
{
	uint8_t want[64];
	size_t n = strlen(hex) / 2;
	hexbytes(hex, want);
	return memcmp(b, want, n) == 0;
}

/* header with QDCOUNT 1 and the question; counts patched by the others */
static void mkq(struct msg *m, uint16_t id, uint16_t flags, const char *name, uint16_t type)
{
	m->n = 0;
	put16(m, id);
	put16(m, flags);
	put16(m, 1);
	put16(m, 0);
	put16(m, 0);
	put16(m, 0);
	put_name_case(m, name);
	put16(m, type);
	put16(m, CLASS_IN);
}

static void bump(struct msg *m, int section) /* 0 an, 1 ns, 2 ar */
{
	size_t at = 6 + 2 * (size_t)section;
	wire_put16(m->b + at, (uint16_t)(wire_get16(m->b + at) + 1));
}

/* start an OPT record in the additional section; returns the RDLENGTH offset */
static size_t opt_begin(struct msg *m, uint16_t udp, uint8_t ext, uint8_t version, int do_bit)
{
	put8(m, 0);
	put16(m, TYPE_OPT);
	put16(m, udp);
	put8(m, ext);
	put8(m, version);
	put16(m, do_bit ? 0x8000 : 0);
	size_t at = m->n;
	put16(m, 0);
	bump(m, 2);
	return at;
}

static void opt_add(struct msg *m, size_t rdl, uint16_t code, const void *data, size_t len)
{
	put16(m, code);
	put16(m, (uint16_t)len);
	memcpy(m->b + m->n, data, len);
	m->n += len;
	wire_put16(m->b + rdl, (uint16_t)(wire_get16(m->b + rdl) + 4 + len));
}

/* an A record: owner at name_off (pointer), address a.b.c.d */
static void put_a_ptr(struct msg *m, size_t name_off, uint32_t addr)
{
	put16(m, (uint16_t)(0xc000 | name_off));
	put16(m, TYPE_A);
	put16(m, CLASS_IN);
	put32(m, 300);
	put16(m, 4);
	put32(m, addr);
}

static const uint8_t CC[8] = {0x24, 0x64, 0xc4, 0xab, 0xcf, 0x10, 0xc9, 0x57};
static const uint8_t IP4[4] = {198, 51, 100, 100};
#define NOW 1559731985u

/* a query from 198.51.100.100 with a COOKIE option of len bytes (data) */
static void cookie_query(struct msg *m, const uint8_t *cookie, size_t len)
{
	mkq(m, 0x4242, WIRE_RD, "www.example.com", TYPE_A);
	size_t rdl = opt_begin(m, 4096, 0, 0, 1);
	opt_add(m, rdl, EDNS_OPT_COOKIE, cookie, len);
}

static int count_opts(const uint8_t *msg, size_t len)
{
	/* count OPT records in the additional section (test walker) */
	size_t off = WIRE_HDR_LEN;
	unsigned qd = wire_get16(msg + 4), rrs = (unsigned)wire_get16(msg + 6) + wire_get16(msg + 8);
	unsigned ar = wire_get16(msg + 10);
	int opts = 0;
	for (unsigned i = 0; i < qd; i++)
		off = wire_skip_name(msg, len, off) + 4;
	for (unsigned i = 0; i < rrs + ar; i++) {
		size_t n = wire_skip_name(msg, len, off);
		if (n == 0 || n + 10 > len)
			return -1;
		if (wire_get16(msg + n) == TYPE_OPT)
			opts++;
		off = n + 10 + wire_get16(msg + n + 8);
	}
	return off == len ? opts : -1;
}

/* ------------------------------------------------------------ parsing */

static void test_parse(void)
{
	struct msg m;
	struct wire_query q;
	struct edns_query e;
	uint8_t buf[64];

	mkq(&m, 1, 0, "a.example", TYPE_A);
	is_int(wire_parse_query(m.b, m.n, &q), WIRE_OK, "no EDNS: wire ok");
	is_int(edns_parse(&q, &e), EDNS_OK, "no EDNS: edns ok");
	is_int(e.present, 0, "no EDNS: not present");
	is_int(q.opt_off, 0, "no EDNS: opt_off 0");

	/* every option kind */
	mkq(&m, 1, 0, "a.example", TYPE_A);
	size_t opt_at = m.n;
	size_t rdl = opt_begin(&m, 1400, 0, 0, 1);
	opt_add(&m, rdl, EDNS_OPT_NSID, "", 0);
	memset(buf, 0, sizeof buf);
	opt_add(&m, rdl, EDNS_OPT_ECS, "\x00\x01\x18\x00\xc0\x00\x02", 7);
	opt_add(&m, rdl, EDNS_OPT_EXPIRE, "", 0);
	opt_add(&m, rdl, EDNS_OPT_COOKIE, CC, 8);
	opt_add(&m, rdl, EDNS_OPT_PADDING, buf, 16);
	opt_add(&m, rdl, EDNS_OPT_KEEPALIVE, "", 0);
	opt_add(&m, rdl, 65001, "xy", 2);
	is_int(wire_parse_query(m.b, m.n, &q), WIRE_OK, "all options: wire ok");
	is_int(q.opt_off, opt_at, "opt_off is the OPT's owner");
	is_int(q.opt_rdlen, wire_get16(m.b + rdl), "opt_rdlen");
	is_int(edns_parse(&q, &e), EDNS_OK, "all options: edns ok");
	is_int(e.present, 1, "present");
	is_int(e.version, 0, "version 0");
	is_int(e.do_bit, 1, "DO");
	is_int(e.udp_size, 1400, "udp size");
	is_int(e.nopts, 7, "7 options");
	is_int(e.seen, EDNS_SEEN_NSID | EDNS_SEEN_ECS | EDNS_SEEN_EXPIRE | EDNS_SEEN_COOKIE | EDNS_SEEN_PADDING |
			       EDNS_SEEN_KEEPALIVE | EDNS_SEEN_UNKNOWN,
	       "every kind seen");
	is_int(e.cookie_len, 8, "client cookie length");
	ok(e.cookie_off && memcmp(m.b + e.cookie_off, CC, 8) == 0, "cookie offset points at the client cookie");

	/* cookie lengths (RFC 7873 5.2.2) */
	static const struct {
		size_t len;
		int verdict;
	} lens[] = {{0, EDNS_FORMERR}, {1, EDNS_FORMERR}, {7, EDNS_FORMERR}, {8, EDNS_OK},
		    {9, EDNS_FORMERR}, {15, EDNS_FORMERR}, {16, EDNS_OK}, {24, EDNS_OK},
		    {32, EDNS_OK},     {40, EDNS_OK},      {41, EDNS_FORMERR}, {48, EDNS_FORMERR}};
	uint8_t ck[48];
	memset(ck, 0x5a, sizeof ck);
	for (size_t i = 0; i < sizeof lens / sizeof lens[0]; i++) {
		char name[64];
		cookie_query(&m, ck, lens[i].len);
		wire_parse_query(m.b, m.n, &q);
		snprintf(name, sizeof name, "cookie of %zu bytes: %s", lens[i].len,
			 lens[i].verdict == EDNS_OK ? "ok" : "FORMERR");
		is_int(edns_parse(&q, &e), lens[i].verdict, name);
	}

	/* only the first COOKIE counts: a malformed second one is ignored */
	cookie_query(&m, CC, 8);
	rdl = (size_t)(m.n - 12 - 2); /* RDLENGTH of the OPT: before the option (4+8) */
	opt_add(&m, rdl, EDNS_OPT_COOKIE, ck, 3);
	wire_parse_query(m.b, m.n, &q);
	is_int(edns_parse(&q, &e), EDNS_OK, "second COOKIE ignored");
	is_int(e.cookie_len, 8, "first COOKIE used");

	/* an option overrunning the RDATA */
	mkq(&m, 1, 0, "a.example", TYPE_A);
	rdl = opt_begin(&m, 1232, 0, 0, 0);
	opt_add(&m, rdl, EDNS_OPT_NSID, "", 0);
	wire_put16(m.b + m.n - 2, 5); /* option claims 5 bytes that are not there */
	wire_parse_query(m.b, m.n, &q);
	is_int(edns_parse(&q, &e), EDNS_FORMERR, "option overrun: FORMERR");
	cookie_query(&m, CC, 8);
	rdl = (size_t)(m.n - 14);
	opt_add(&m, rdl, EDNS_OPT_PADDING, "", 0);
	wire_put16(m.b + m.n - 2, 9);
	wire_parse_query(m.b, m.n, &q);
	is_int(edns_parse(&q, &e), EDNS_FORMERR, "cookie then an overrun: FORMERR");
	is_int(e.cookie_off, 0, "FORMERR: no cookie reported");
	mkq(&m, 1, 0, "a.example", TYPE_A);
	rdl = opt_begin(&m, 1232, 0, 0, 0);
	put8(&m, 0);
	put8(&m, 3);
	wire_put16(m.b + rdl, 2); /* half an option header */
	wire_parse_query(m.b, m.n, &q);
	is_int(edns_parse(&q, &e), EDNS_FORMERR, "short option header: FORMERR");

	/* version 1: BADVERS (options still read) */
	mkq(&m, 1, 0, "a.example", TYPE_A);
	rdl = opt_begin(&m, 1232, 0, 1, 0);
	opt_add(&m, rdl, EDNS_OPT_COOKIE, CC, 8);
	is_int(wire_parse_query(m.b, m.n, &q), WIRE_BADVERS, "version 1: wire BADVERS");
	is_int(edns_parse(&q, &e), EDNS_BADVERS, "version 1: edns BADVERS");
	is_int(e.cookie_len, 8, "BADVERS: cookie still found");
	mkq(&m, 1, 0, "a.example", TYPE_A);
	rdl = opt_begin(&m, 1232, 0, 1, 0);
	opt_add(&m, rdl, EDNS_OPT_COOKIE, CC, 7);
	wire_parse_query(m.b, m.n, &q);
	is_int(edns_parse(&q, &e), EDNS_FORMERR, "version 1 with a malformed cookie: FORMERR first");

	/* two OPT records, an OPT in the answer section, a non-root owner */
	mkq(&m, 1, 0, "a.example", TYPE_A);
	opt_begin(&m, 1232, 0, 0, 0);
	opt_begin(&m, 1232, 0, 0, 0);
	is_int(wire_parse_query(m.b, m.n, &q), WIRE_FORMERR, "two OPT records: FORMERR");
	mkq(&m, 1, 0, "a.example", TYPE_A);
	opt_begin(&m, 1232, 0, 0, 0);
	wire_put16(m.b + 10, 0);
	wire_put16(m.b + 6, 1); /* the same record, counted as an answer */
	is_int(wire_parse_query(m.b, m.n, &q), WIRE_FORMERR, "OPT in the answer section: FORMERR");
	mkq(&m, 1, 0, "a.example", TYPE_A);
	opt_begin(&m, 1232, 0, 0, 0);
	wire_put16(m.b + 10, 0);
	wire_put16(m.b + 8, 1);
	is_int(wire_parse_query(m.b, m.n, &q), WIRE_FORMERR, "OPT in the authority section: FORMERR");
	mkq(&m, 1, 0, "a.example", TYPE_A);
	put8(&m, 1);
	put8(&m, 'x');
	put8(&m, 0);
	put16(&m, TYPE_OPT);
	put16(&m, 1232);
	put32(&m, 0);
	put16(&m, 0);
	bump(&m, 2);
	is_int(wire_parse_query(m.b, m.n, &q), WIRE_FORMERR, "OPT with a non-root owner: FORMERR");

	/* RFC 7873 5.4: no question, only a cookie */
	m.n = 0;
	put16(&m, 7);
	put16(&m, 0);
	put16(&m, 0);
	put16(&m, 0);
	put16(&m, 0);
	put16(&m, 0);
	rdl = opt_begin(&m, 1232, 0, 0, 0);
	opt_add(&m, rdl, EDNS_OPT_COOKIE, CC, 8);
	is_int(wire_parse_query(m.b, m.n, &q), WIRE_FORMERR, "QDCOUNT 0: still FORMERR for wire");
	enum edns_verdict ev = edns_parse(&q, &e);
	is_int(ev, EDNS_OK, "QDCOUNT 0: OPT parsed");
	ok(edns_cookie_only_query(&q, &e, ev), "QDCOUNT 0 with a cookie: cookie-only query");
	mkq(&m, 1, 0, "a.example", TYPE_A);
	rdl = opt_begin(&m, 1232, 0, 0, 0);
	opt_add(&m, rdl, EDNS_OPT_COOKIE, CC, 8);
	wire_parse_query(m.b, m.n, &q);
	ev = edns_parse(&q, &e);
	ok(!edns_cookie_only_query(&q, &e, ev), "with a question: not a cookie-only query");
}

/* ------------------------------------------------------------ cookies */

static void test_rfc9018_vectors(void)
{
	uint8_t key[16], cc[8], sc[16], ip6[16];

	hexbytes("e5e973e5a6b2a43f48e7dc849e37bfcf", key);
	edns_server_cookie(key, CC, 1559731985u, IP4, 4, sc);
	ok(eqhex(sc, "010000005cf79f111f8130c3eee29480"), "RFC 9018 A.1: new server cookie");
	edns_server_cookie(key, CC, 1559734385u, IP4, 4, sc);
	ok(eqhex(sc, "010000005cf7a871d4a564a1442aca77"), "RFC 9018 A.2: renewed server cookie");
	hexbytes("fc93fc62807ddb86", cc);
	edns_server_cookie(key, cc, 1559734700u, (const uint8_t *)"\xcb\x00\x71\xcb", 4, sc);
	ok(eqhex(sc, "010000005cf7a9acf73a7810aca2381e"), "RFC 9018 A.3: another client");
	hexbytes("445536bcd2513298075a5d379663c962", key);
	hexbytes("22681ab97d52c298", cc);
	inet_pton(AF_INET6, "2001:db8:220:1:59de:d0f4:8769:82b8", ip6);
	edns_server_cookie(key, cc, 1559741961u, ip6, 16, sc);
	ok(eqhex(sc, "010000005cf7c609a6bb79d16625507a"), "RFC 9018 A.4: IPv6 client, new secret");

	/* verification direction: A.3's query cookie has reserved bytes set */
	struct edns_cookie_secret s;
	uint8_t ck[24];
	int cur;
	hexbytes("e5e973e5a6b2a43f48e7dc849e37bfcf", key);
	edns_cookie_secret_init(&s, key, 0, 1559727985u);
	hexbytes("fc93fc62807ddb8601abcdef5cf78f71a314227b6679ebf5", ck);
	is_int(edns_cookie_check(&s, ck, 24, (const uint8_t *)"\xcb\x00\x71\xcb", 4, 1559727985u + 60, &cur),
	       EDNS_COOKIE_VALID, "A.3 query cookie verifies (reserved bytes hashed as received)");
	is_int(cur, 1, "verified with the current secret");
	is_int(edns_cookie_check(&s, ck, 24, (const uint8_t *)"\xcb\x00\x71\xcc", 4, 1559727985u + 60, NULL),
	       EDNS_COOKIE_BAD, "the same cookie from another address: bad");
	/* A.4: made with the old secret, the server has rolled to a new one */
	uint8_t oldk[16], newk[16];
	hexbytes("dd3bdf9344b678b185a6f5cb60fca715", oldk);
	hexbytes("445536bcd2513298075a5d379663c962", newk);
	hexbytes("22681ab97d52c298010000005cf7c57926556bd0934c72f8", ck);
	edns_cookie_secret_init(&s, newk, 0, 1559741961u);
	is_int(edns_cookie_check(&s, ck, 24, ip6, 16, 1559741961u, NULL), EDNS_COOKIE_BAD,
	       "A.4: old cookie, only the new secret: bad");
	memcpy(s.prev, oldk, 16);
	s.has_prev = 1;
	is_int(edns_cookie_check(&s, ck, 24, ip6, 16, 1559741961u, &cur), EDNS_COOKIE_VALID,
	       "A.4: old cookie verifies with the previous secret");
	is_int(cur, 0, "... not with the current one");
}

static void test_cookie_rules(void)
{
	uint8_t key[16], key2[16], ck[24], fresh[16];
	struct edns_cookie_secret s, other;
	memset(key, 0x11, 16);
	memset(key2, 0x22, 16);
	memset(fresh, 0x33, 16);
	edns_cookie_secret_init(&s, key, 86400, NOW);
	edns_cookie_secret_init(&other, key2, 86400, NOW);

	memcpy(ck, CC, 8);
	edns_server_cookie(key, CC, NOW, IP4, 4, ck + 8);
	is_int(edns_cookie_check(&s, ck, 24, IP4, 4, NOW, NULL), EDNS_COOKIE_VALID, "our cookie verifies");
	is_int(edns_cookie_check(&other, ck, 24, IP4, 4, NOW, NULL), EDNS_COOKIE_BAD, "wrong secret: bad");
	is_int(edns_cookie_check(&s, ck, 8, IP4, 4, NOW, NULL), EDNS_COOKIE_CLIENT_ONLY, "8 bytes: client only");
	is_int(edns_cookie_check(&s, ck, 16, IP4, 4, NOW, NULL), EDNS_COOKIE_BAD, "16 bytes: not ours");
	is_int(edns_cookie_check(NULL, ck, 24, IP4, 4, NOW, NULL), EDNS_COOKIE_NONE, "no secret: none");
	/* the time window */
	is_int(edns_cookie_check(&s, ck, 24, IP4, 4, NOW + 3600, NULL), EDNS_COOKIE_VALID, "1 hour old: valid");
	is_int(edns_cookie_check(&s, ck, 24, IP4, 4, NOW + 3601, NULL), EDNS_COOKIE_BAD, "1 hour + 1 s: bad");
	is_int(edns_cookie_check(&s, ck, 24, IP4, 4, NOW - 300, NULL), EDNS_COOKIE_VALID, "5 min ahead: valid");
	is_int(edns_cookie_check(&s, ck, 24, IP4, 4, NOW - 301, NULL), EDNS_COOKIE_BAD, "5 min + 1 s ahead: bad");
	/* across the 32-bit wrap */
	edns_server_cookie(key, CC, 4294964696u, IP4, 4, ck + 8);
	is_int(edns_cookie_check(&s, ck, 24, IP4, 4, (uint64_t)1 << 32 | 1000u, NULL), EDNS_COOKIE_VALID,
	       "timestamp across the 32-bit wrap: serial arithmetic");
	/* a tampered hash, a wrong version */
	edns_server_cookie(key, CC, NOW, IP4, 4, ck + 8);
	ck[23] ^= 1;
	is_int(edns_cookie_check(&s, ck, 24, IP4, 4, NOW, NULL), EDNS_COOKIE_BAD, "tampered hash: bad");
	ck[23] ^= 1;
	ck[8] = 2;
	is_int(edns_cookie_check(&s, ck, 24, IP4, 4, NOW, NULL), EDNS_COOKIE_BAD, "version 2: bad");
	ck[8] = 1;

	/* rotation */
	ok(!edns_cookie_secret_due(&s, NOW + 86399), "not due before the period");
	is_int(edns_cookie_secret_rotate(&s, fresh, NOW + 100), 0, "rotate before the period: nothing");
	ok(memcmp(s.cur, key, 16) == 0, "secret unchanged");
	ok(edns_cookie_secret_due(&s, NOW + 86400), "due after the period");
	edns_server_cookie(key, CC, NOW + 86000, IP4, 4, ck + 8); /* made just before the rotation */
	is_int(edns_cookie_secret_rotate(&s, fresh, NOW + 86400), 1, "rotated");
	ok(memcmp(s.cur, fresh, 16) == 0 && memcmp(s.prev, key, 16) == 0 && s.has_prev, "cur -> prev");
	int cur = 1;
	is_int(edns_cookie_check(&s, ck, 24, IP4, 4, NOW + 86500, &cur), EDNS_COOKIE_VALID,
	       "after a rotation the previous secret's cookie still verifies");
	is_int(cur, 0, "... with the previous secret");
	uint8_t fresh2[16];
	memset(fresh2, 0x44, 16);
	is_int(edns_cookie_secret_rotate(&s, fresh2, NOW + 2 * 86400), 1, "second rotation");
	is_int(edns_cookie_check(&s, ck, 24, IP4, 4, NOW + 86500, NULL), EDNS_COOKIE_BAD,
	       "two rotations later the old secret is gone");
	edns_cookie_secret_init(&s, key, 60, NOW);
	is_int(s.period, EDNS_COOKIE_ROTATE_MIN, "a too short period is raised");
	edns_cookie_secret_init(&s, key, 0, NOW);
	ok(!edns_cookie_secret_due(&s, NOW + 100u * 86400), "period 0 never rotates");

	/* addresses */
	struct sockaddr_in6 sin6;
	struct sockaddr_in sin;
	const uint8_t *ip;
	memset(&sin6, 0, sizeof sin6);
	sin6.sin6_family = AF_INET6;
	inet_pton(AF_INET6, "::ffff:198.51.100.100", &sin6.sin6_addr);
	is_int(edns_addr_bytes((const struct sockaddr *)&sin6, &ip), 4, "v4-mapped: 4 bytes");
	ok(memcmp(ip, IP4, 4) == 0, "v4-mapped: the IPv4 address");
	inet_pton(AF_INET6, "2001:db8::1", &sin6.sin6_addr);
	is_int(edns_addr_bytes((const struct sockaddr *)&sin6, &ip), 16, "IPv6: 16 bytes");
	memset(&sin, 0, sizeof sin);
	sin.sin_family = AF_INET;
	memcpy(&sin.sin_addr, IP4, 4);
	is_int(edns_addr_bytes((const struct sockaddr *)&sin, &ip), 4, "IPv4: 4 bytes");
	ok(memcmp(ip, IP4, 4) == 0, "IPv4: the address");
}

static void test_client_init(void)
{
	struct msg m;
	struct wire_query q;
	struct edns_query e;
	struct edns_client c;
	struct edns_cookie_secret s;
	uint8_t key[16], ck[24];
	memset(key, 0x11, 16);
	edns_cookie_secret_init(&s, key, 86400, NOW - 1000);
	struct edns_cookie_params p = {&s, IP4, 4, NOW, 0, 0};

	/* no EDNS */
	mkq(&m, 1, 0, "a.example", TYPE_A);
	wire_parse_query(m.b, m.n, &q);
	edns_parse(&q, &e);
	is_int(edns_client_init(&q, &e, &p, &c), EDNS_ANSWER, "no EDNS: answer");
	is_int(c.has_edns, 0, "no EDNS: no OPT in the answer");

	/* client cookie only: answered, with a server cookie that verifies */
	cookie_query(&m, CC, 8);
	wire_parse_query(m.b, m.n, &q);
	edns_parse(&q, &e);
	is_int(edns_client_init(&q, &e, &p, &c), EDNS_ANSWER, "client cookie: answer");
	is_int(c.cookie, EDNS_COOKIE_CLIENT_ONLY, "client cookie: status");
	is_int(c.cookie_len, 24, "client cookie: 24 bytes to send back");
	ok(memcmp(c.cookie_data, CC, 8) == 0, "client cookie echoed");
	is_int(edns_cookie_check(&s, c.cookie_data, 24, IP4, 4, NOW, NULL), EDNS_COOKIE_VALID,
	       "the server cookie we send verifies");
	is_int(wire_get32(c.cookie_data + 12), NOW, "stamped now");
	is_int(c.has_edns, 1, "has EDNS");
	is_int(c.do_bit, 1, "DO carried");
	is_int(c.udp_size, 4096, "udp size carried");

	/* valid, recent cookie: echoed as is */
	memcpy(ck, CC, 8);
	edns_server_cookie(key, CC, NOW - 600, IP4, 4, ck + 8);
	cookie_query(&m, ck, 24);
	wire_parse_query(m.b, m.n, &q);
	edns_parse(&q, &e);
	is_int(edns_client_init(&q, &e, &p, &c), EDNS_ANSWER, "valid cookie: answer");
	is_int(c.cookie, EDNS_COOKIE_VALID, "valid cookie: status");
	ok(memcmp(c.cookie_data, ck, 24) == 0, "valid 10-minute-old cookie: sent back unchanged");
	/* valid but older than half an hour: re-issued */
	edns_server_cookie(key, CC, NOW - 1900, IP4, 4, ck + 8);
	cookie_query(&m, ck, 24);
	wire_parse_query(m.b, m.n, &q);
	edns_parse(&q, &e);
	edns_client_init(&q, &e, &p, &c);
	is_int(c.cookie, EDNS_COOKIE_VALID, "32-minute-old cookie: still valid");
	is_int(wire_get32(c.cookie_data + 12), NOW, "... but re-issued with a fresh timestamp");
	/* valid with the previous secret: re-issued with the current one */
	uint8_t fresh[16];
	memset(fresh, 0x99, 16);
	struct edns_cookie_secret s2 = s;
	s2.cur_since = NOW - 90000;
	edns_cookie_secret_rotate(&s2, fresh, NOW);
	struct edns_cookie_params p2 = p;
	p2.secret = &s2;
	edns_server_cookie(key, CC, NOW - 60, IP4, 4, ck + 8);
	cookie_query(&m, ck, 24);
	wire_parse_query(m.b, m.n, &q);
	edns_parse(&q, &e);
	edns_client_init(&q, &e, &p2, &c);
	is_int(c.cookie, EDNS_COOKIE_VALID, "cookie of the previous secret: valid");
	int cur = 0;
	is_int(edns_cookie_check(&s2, c.cookie_data, 24, IP4, 4, NOW, &cur), EDNS_COOKIE_VALID,
	       "... re-issued");
	is_int(cur, 1, "... with the current secret");

	/* bad server cookie, cookies not required: answered with a fresh cookie */
	memcpy(ck, CC, 8);
	memset(ck + 8, 0xab, 16);
	cookie_query(&m, ck, 24);
	wire_parse_query(m.b, m.n, &q);
	edns_parse(&q, &e);
	is_int(edns_client_init(&q, &e, &p, &c), EDNS_ANSWER, "bad server cookie, not required: answer");
	is_int(c.cookie, EDNS_COOKIE_BAD, "bad server cookie: status");
	is_int(edns_cookie_check(&s, c.cookie_data, 24, IP4, 4, NOW, NULL), EDNS_COOKIE_VALID,
	       "bad server cookie: a fresh one is sent");

	/* cookies-required-udp */
	struct edns_cookie_params req = p;
	req.required_udp = 1;
	is_int(edns_client_init(&q, &e, &req, &c), EDNS_BADCOOKIE, "required over UDP, bad cookie: BADCOOKIE");
	is_int(edns_cookie_check(&s, c.cookie_data, 24, IP4, 4, NOW, NULL), EDNS_COOKIE_VALID,
	       "BADCOOKIE carries a fresh cookie");
	req.tcp = 1;
	is_int(edns_client_init(&q, &e, &req, &c), EDNS_ANSWER, "required over UDP, but TCP: answer");
	req.tcp = 0;
	cookie_query(&m, CC, 8);
	wire_parse_query(m.b, m.n, &q);
	edns_parse(&q, &e);
	is_int(edns_client_init(&q, &e, &req, &c), EDNS_BADCOOKIE, "required over UDP, client cookie only: BADCOOKIE");
	memcpy(ck, CC, 8);
	edns_server_cookie(key, CC, NOW, IP4, 4, ck + 8);
	cookie_query(&m, ck, 24);
	wire_parse_query(m.b, m.n, &q);
	edns_parse(&q, &e);
	is_int(edns_client_init(&q, &e, &req, &c), EDNS_ANSWER, "required over UDP, valid cookie: answer");
	mkq(&m, 1, 0, "a.example", TYPE_A);
	opt_begin(&m, 1232, 0, 0, 0);
	wire_parse_query(m.b, m.n, &q);
	edns_parse(&q, &e);
	is_int(edns_client_init(&q, &e, &req, &c), EDNS_ANSWER, "required over UDP, no cookie at all: answer");
	is_int(c.cookie_len, 0, "no cookie: none sent");

	/* cookies off */
	cookie_query(&m, CC, 8);
	wire_parse_query(m.b, m.n, &q);
	edns_parse(&q, &e);
	struct edns_cookie_params off = p;
	off.secret = NULL;
	is_int(edns_client_init(&q, &e, &off, &c), EDNS_ANSWER, "cookies off: answer");
	is_int(c.cookie_len, 0, "cookies off: no cookie sent");
	is_int(edns_client_init(&q, &e, NULL, &c), EDNS_ANSWER, "no params: answer");

	/* NSID asked */
	mkq(&m, 1, 0, "a.example", TYPE_A);
	size_t rdl = opt_begin(&m, 1232, 0, 0, 0);
	opt_add(&m, rdl, EDNS_OPT_NSID, "", 0);
	wire_parse_query(m.b, m.n, &q);
	edns_parse(&q, &e);
	edns_client_init(&q, &e, &p, &c);
	is_int(c.nsid, 1, "NSID asked");
	is_int(c.do_bit, 0, "no DO");
}

/* ------------------------------------------------------------- replies */

/* an upstream reply for www.example.com A: 1 answer, then additional:
 * an A glue record, the upstream's OPT with COOKIE, NSID, ECS, EXPIRE,
 * padding, an unknown option and an EDE, then another A record */
static size_t upstream_reply(struct msg *m, int aa, uint8_t ext, int glue_after)
{
	mkq(m, 0x4242, WIRE_QR | WIRE_RD | WIRE_RA | (aa ? WIRE_AA : 0), "www.example.com", TYPE_A);
	put_a_ptr(m, 12, 0xc0000201);
	bump(m, 0);
	put_a_ptr(m, 16, 0xc0000202); /* owner "example.com" */
	bump(m, 2);
	size_t rdl = opt_begin(m, 4096, ext, 0, 1);
	uint8_t ck[24], pad[32];
	memset(ck, 0xee, 24);
	memset(pad, 0, 32);
	opt_add(m, rdl, EDNS_OPT_COOKIE, ck, 24);
	opt_add(m, rdl, EDNS_OPT_NSID, "upstream-ns1", 12);
	opt_add(m, rdl, EDNS_OPT_ECS, "\x00\x01\x18\x18\xc0\x00\x02", 7);
	opt_add(m, rdl, EDNS_OPT_EXPIRE, "\x00\x00\x0e\x10", 4);
	opt_add(m, rdl, EDNS_OPT_PADDING, pad, 32);
	opt_add(m, rdl, 65001, "zz", 2);
	opt_add(m, rdl, EDNS_OPT_EDE, "\x00\x16upstream says", 15);
	if (glue_after) {
		put_a_ptr(m, 12, 0xc0000203);
		bump(m, 2);
	}
	return m->n;
}

static void test_finish_reply(void)
{
	struct msg m;
	uint8_t save[4096];
	struct edns_client c;
	const uint8_t *d;
	uint16_t dl;

	memset(&c, 0, sizeof c);
	c.has_edns = 1;
	c.do_bit = 1;
	c.cookie_len = 24;
	memcpy(c.cookie_data, CC, 8);
	memset(c.cookie_data + 8, 0x77, 16);

	size_t n = upstream_reply(&m, 1, 0, 1);
	is_int(count_opts(m.b, n), 1, "upstream reply has its OPT");
	struct edns_ede_list up = {0};
	is_int(edns_ede_extract(m.b, n, &up), 1, "one upstream EDE extracted");
	is_int(up.e[0].code, 22, "EDE code");
	ok(up.e[0].text_len == 13 && memcmp(up.e[0].text, "upstream says", 13) == 0, "EDE text copied");

	struct edns_ede_list ours = {0};
	edns_ede_add(&ours, EDE_STALE_ANSWER, NULL);
	struct edns_reply r = {&c, -1, WIRE_AA, WIRE_RA, 0, NULL, 0, &ours, &up};
	size_t nn = edns_finish_reply(m.b, n, sizeof m.b, 0, &r);
	ok(nn > 0, "finish: fits");
	is_int(count_opts(m.b, nn), 1, "exactly one OPT: replaced, not duplicated");
	is_int(wire_get16(m.b + 10), 3, "ARCOUNT: 2 glue + our OPT");
	is_int(wire_get16(m.b + 6), 1, "ANCOUNT kept");
	is_int(m.b[2] & (WIRE_AA >> 8), 0, "AA cleared");
	ok(m.b[3] & WIRE_RA, "RA set");
	is_int(edns_find_option(m.b, nn, EDNS_OPT_COOKIE, &d, &dl), 1, "our COOKIE present");
	ok(dl == 24 && memcmp(d, c.cookie_data, 24) == 0, "it is the client's cookie + our server cookie");
	is_int(edns_find_option(m.b, nn, EDNS_OPT_NSID, &d, &dl), 0, "upstream NSID gone");
	is_int(edns_find_option(m.b, nn, EDNS_OPT_ECS, &d, &dl), 0, "upstream ECS gone");
	is_int(edns_find_option(m.b, nn, EDNS_OPT_EXPIRE, &d, &dl), 0, "upstream EXPIRE gone");
	is_int(edns_find_option(m.b, nn, EDNS_OPT_PADDING, &d, &dl), 0, "upstream padding gone");
	is_int(edns_find_option(m.b, nn, 65001, &d, &dl), 0, "upstream unknown option gone");
	struct edns_ede_list got = {0};
	is_int(edns_ede_extract(m.b, nn, &got), 2, "two EDEs in our OPT");
	is_int(got.e[0].code, EDE_STALE_ANSWER, "ours first");
	is_int(got.e[1].code, 22, "then the upstream's");
	ok(got.e[1].text_len == 13 && memcmp(got.e[1].text, "upstream says", 13) == 0, "upstream EDE text kept");
	/* our OPT: payload size, DO, version */
	size_t q_end, rd;
	uint16_t rdlen;
	(void)q_end;
	ok(edns_find_option(m.b, nn, EDNS_OPT_COOKIE, &d, &dl) == 1, "OPT findable");
	rd = (size_t)(d - m.b) - 4; /* start of RDATA: cookie is our first option */
	is_int(wire_get16(m.b + rd - 8), WIRE_EDNS_UDP, "our payload size");
	is_int(m.b[rd - 5], 0, "version 0");
	is_int(m.b[rd - 4] & 0x80, 0x80, "DO echoed");
	rdlen = wire_get16(m.b + rd - 2);
	is_int(rd + rdlen, nn, "our OPT is last");
	/* the glue records survive with intact compression */
	struct wire_query q;
	uint8_t nm[WIRE_MAX_NAME];
	size_t off = 12 + 17 + 4 + 16; /* question, answer */
	ok(wire_read_name(m.b, nn, off, nm) == 13 && memcmp(nm, "\x07" "example\x03" "com", 13) == 0,
	   "first glue owner reads");
	ok(wire_read_name(m.b, nn, off + 16, nm) == 17, "glue after the old OPT moved down and reads");
	is_int(wire_get32(m.b + off + 16 + 12), 0xc0000203, "its address");
	(void)q;

	/* NSID: only when asked and configured */
	n = upstream_reply(&m, 0, 0, 0);
	c.nsid = 1;
	struct edns_reply r2 = {&c, -1, WIRE_AA, 0, 0, (const uint8_t *)"pfwd-1", 6, NULL, NULL};
	nn = edns_finish_reply(m.b, n, sizeof m.b, 0, &r2);
	is_int(edns_find_option(m.b, nn, EDNS_OPT_NSID, &d, &dl), 1, "NSID asked and configured: present");
	ok(dl == 6 && memcmp(d, "pfwd-1", 6) == 0, "our NSID, not the upstream's");
	is_int(edns_find_option(m.b, nn, EDNS_OPT_EDE, &d, &dl), 0, "upstream EDE dropped unless kept");
	c.nsid = 0;
	n = upstream_reply(&m, 0, 0, 0);
	nn = edns_finish_reply(m.b, n, sizeof m.b, 0, &r2);
	is_int(edns_find_option(m.b, nn, EDNS_OPT_NSID, &d, &dl), 0, "NSID not asked: absent");
	c.nsid = 1;
	r2.nsid = NULL;
	r2.nsid_len = 0;
	n = upstream_reply(&m, 0, 0, 0);
	nn = edns_finish_reply(m.b, n, sizeof m.b, 0, &r2);
	is_int(edns_find_option(m.b, nn, EDNS_OPT_NSID, &d, &dl), 0, "NSID not configured: absent");
	c.nsid = 0;

	/* finishing twice is idempotent (cache hit of a finished answer) */
	size_t again = edns_finish_reply(m.b, nn, sizeof m.b, 0, &r2);
	is_int(again, nn, "finishing again: same length");
	is_int(count_opts(m.b, again), 1, "finishing again: still one OPT");

	/* client without EDNS: no OPT at all */
	struct edns_client none;
	memset(&none, 0, sizeof none);
	n = upstream_reply(&m, 1, 0, 1);
	struct edns_reply r3 = {&none, -1, WIRE_AA, 0, 0, NULL, 0, NULL, NULL};
	nn = edns_finish_reply(m.b, n, sizeof m.b, 512, &r3);
	is_int(count_opts(m.b, nn), 0, "client without EDNS: the upstream OPT removed, none added");
	is_int(wire_get16(m.b + 10), 2, "ARCOUNT: the two glue records");

	/* extended rcode: kept from the upstream's OPT, or set */
	n = upstream_reply(&m, 0, 1, 0); /* ext 1 + header 0 = 16 */
	struct edns_reply r4 = {&c, -1, 0, 0, 0, NULL, 0, NULL, NULL};
	nn = edns_finish_reply(m.b, n, sizeof m.b, 0, &r4);
	edns_find_option(m.b, nn, EDNS_OPT_COOKIE, &d, &dl);
	is_int(d[-4 - 6], 1, "upstream extended rcode bits kept");
	n = upstream_reply(&m, 0, 0, 0);
	r4.rcode = RCODE_BADCOOKIE;
	nn = edns_finish_reply(m.b, n, sizeof m.b, 0, &r4);
	edns_find_option(m.b, nn, EDNS_OPT_COOKIE, &d, &dl);
	is_int(d[-4 - 6], 1, "rcode 23: upper bits 1 in the OPT");
	is_int(WIRE_RCODE(m.b[3]), 7, "rcode 23: lower bits 7 in the header");
	n = upstream_reply(&m, 0, 1, 0);
	r3.rcode = -1;
	nn = edns_finish_reply(m.b, n, sizeof m.b, 0, &r3);
	is_int(WIRE_RCODE(m.b[3]), RCODE_SERVFAIL, "extended rcode to a client without EDNS: SERVFAIL");

	/* the size limit */
	n = upstream_reply(&m, 0, 0, 1);
	memcpy(save, m.b, n);
	nn = edns_finish_reply(m.b, n, sizeof m.b, 0, &r);
	is_int(nn, 145, "finished: 81 bytes of data + 64 of our OPT");
	memcpy(m.b, save, n);
	nn = edns_finish_reply(m.b, n, sizeof m.b, 144, &r);
	is_int(nn, 0, "over the limit: 0");
	ok(memcmp(save, m.b, n) == 0, "over the limit: message untouched");
	nn = edns_truncate_reply(m.b, n, sizeof m.b, 80, &r);
	is_int(nn, 33 + 11 + 28, "truncated reply: header, question, OPT with the cookie");
	ok(m.b[2] & (WIRE_TC >> 8), "TC set");
	is_int(wire_get16(m.b + 6), 0, "truncated: no answers");
	is_int(wire_get16(m.b + 10), 1, "truncated: only our OPT");
	is_int(edns_find_option(m.b, nn, EDNS_OPT_COOKIE, &d, &dl), 1, "truncated: the cookie kept");
	is_int(edns_find_option(m.b, nn, EDNS_OPT_EDE, &d, &dl), 0, "truncated to 80: EDEs given up");
	n = upstream_reply(&m, 0, 0, 1);
	nn = edns_truncate_reply(m.b, n, sizeof m.b, 512, &r);
	is_int(edns_find_option(m.b, nn, EDNS_OPT_EDE, &d, &dl), 1, "truncated to 512: EDEs fit");
	is_int(edns_finish_reply(m.b, 5, sizeof m.b, 0, &r), 0, "shorter than a header: 0");
	n = upstream_reply(&m, 0, 0, 0);
	is_int(edns_finish_reply(m.b, n - 3, sizeof m.b, 0, &r), 0, "cut short: 0");

	/* a record after the OPT pointing into another record after it is dropped */
	n = upstream_reply(&m, 0, 0, 1);
	size_t last = n - 16;
	put_a_ptr(&m, last, 0xc0000204); /* owner = pointer to the previous glue record */
	bump(&m, 2);
	n = m.n;
	nn = edns_finish_reply(m.b, n, sizeof m.b, 0, &r3);
	is_int(wire_get16(m.b + 10), 2, "record pointing behind the old OPT dropped, the safe one kept");
	is_int(count_opts(m.b, nn), 0, "and the message walks");

	/* EDE text cut on a UTF-8 boundary */
	struct edns_ede_list l = {0};
	char longtext[100];
	memset(longtext, 'a', sizeof longtext);
	longtext[63] = (char)0xc3; /* a 2-byte character across the cut */
	longtext[64] = (char)0xa9;
	longtext[99] = 0;
	edns_ede_add(&l, EDE_OTHER, longtext);
	is_int(l.e[0].text_len, 63, "EDE text cut before a split character");
	for (int i = 0; i < 5; i++)
		edns_ede_add(&l, EDE_OTHER, "x");
	is_int(l.n, EDNS_EDE_MAX, "EDE list bounded");
}

/* ------------------------------------------------------------ upstream */

static void test_upstream_query(void)
{
	struct msg m;
	struct wire_query q, uq;
	struct edns_query e;
	uint8_t out[600], pad[20];
	const uint8_t *d;
	uint16_t dl;

	mkq(&m, 0x1111, WIRE_RD | WIRE_CD | WIRE_AD, "WwW.Example.COM", TYPE_AAAA);
	size_t rdl = opt_begin(&m, 4096, 0, 0, 1);
	memset(pad, 0, sizeof pad);
	opt_add(&m, rdl, EDNS_OPT_COOKIE, CC, 8);
	opt_add(&m, rdl, EDNS_OPT_NSID, "", 0);
	opt_add(&m, rdl, EDNS_OPT_ECS, "\x00\x01\x18\x00\xc0\x00\x02", 7);
	opt_add(&m, rdl, EDNS_OPT_EXPIRE, "", 0);
	opt_add(&m, rdl, EDNS_OPT_PADDING, pad, 20);
	opt_add(&m, rdl, 65001, "zz", 2);
	is_int(wire_parse_query(m.b, m.n, &q), WIRE_OK, "client query parses");

	size_t n = edns_build_upstream_query(&q, 0xabcd, 0, NULL, 0, out, sizeof out);
	ok(n > 0, "upstream query built");
	is_int(wire_parse_query(out, n, &uq), WIRE_OK, "it parses");
	is_int(uq.id, 0xabcd, "our id");
	is_int(uq.flags, WIRE_RD | WIRE_CD | WIRE_AD, "RD, CD, AD as the client asked; opcode QUERY");
	is_int(uq.qtype, TYPE_AAAA, "qtype");
	ok(memcmp(out + 12, m.b + 12, q.q_end - 12) == 0, "question as the client wrote it (case kept)");
	is_int(uq.has_edns, 1, "our OPT");
	is_int(uq.do_bit, 1, "DO carried");
	is_int(uq.edns_udp, WIRE_EDNS_UDP, "our payload size");
	is_int(uq.opt_rdlen, 0, "no options at all");
	is_int(edns_parse(&uq, &e), EDNS_OK, "edns ok");
	is_int(e.nopts, 0, "none of the client's options");
	is_int(wire_get16(out + 10), 1, "ARCOUNT 1");
	is_int(n, q.q_end + 11, "header + question + bare OPT");

	/* no EDNS from the client: ours anyway, without DO */
	mkq(&m, 2, 0, "a.example", TYPE_A);
	wire_parse_query(m.b, m.n, &q);
	n = edns_build_upstream_query(&q, 9, 1400, NULL, 0, out, sizeof out);
	wire_parse_query(out, n, &uq);
	is_int(uq.has_edns, 1, "client without EDNS: we still send our OPT");
	is_int(uq.do_bit, 0, "no DO");
	is_int(uq.edns_udp, 1400, "the payload size asked for");
	is_int(uq.flags & WIRE_RD, 0, "no RD when the client had none");

	/* our own cookie toward the upstream */
	uint8_t mine[24];
	memset(mine, 0x61, sizeof mine);
	n = edns_build_upstream_query(&q, 9, 0, mine, 8, out, sizeof out);
	is_int(edns_find_option(out, n, EDNS_OPT_COOKIE, &d, &dl), 1, "our client cookie sent");
	ok(dl == 8 && memcmp(d, mine, 8) == 0, "exactly ours");
	n = edns_build_upstream_query(&q, 9, 0, mine, 24, out, sizeof out);
	is_int(edns_find_option(out, n, EDNS_OPT_COOKIE, &d, &dl), 1, "with the upstream's server cookie");
	is_int(dl, 24, "24 bytes");
	is_int(edns_build_upstream_query(&q, 9, 0, mine, 12, out, sizeof out), 0, "bad cookie length: 0");
	is_int(edns_build_upstream_query(&q, 9, 0, NULL, 0, out, q.q_end + 10), 0, "too small: 0");
	is_int(edns_build_upstream_query(&q, 9, 0, NULL, 0, out, q.q_end + 11), q.q_end + 11, "exact fit");
}

/* --------------------------------------------------------- error replies */

static void test_error_replies(void)
{
	struct msg m;
	struct wire_query q;
	struct edns_query e;
	struct edns_client c;
	struct edns_cookie_secret s;
	uint8_t key[16], out[600];
	const uint8_t *d;
	uint16_t dl;
	const uint16_t all = WIRE_RD | WIRE_CD | WIRE_AD | WIRE_AA | WIRE_TC;

	/* flags */
	is_int(edns_error_flags((uint16_t)(all | (2u << 11)), RCODE_NOTIMP, 1),
	       WIRE_QR | (2u << 11) | RCODE_NOTIMP, "NOTIMP: QR, opcode, rcode only (no RD/CD, no RA)");
	is_int(edns_error_flags(all, RCODE_REFUSED, 1), WIRE_QR | WIRE_RD | WIRE_CD | WIRE_RA | RCODE_REFUSED,
	       "REFUSED: RD and CD echoed, RA");
	is_int(edns_error_flags(all, RCODE_SERVFAIL, 0), WIRE_QR | WIRE_RD | WIRE_CD | RCODE_SERVFAIL,
	       "SERVFAIL without RA");
	is_int(edns_error_flags(WIRE_RD, RCODE_FORMERR, 1), WIRE_QR | WIRE_RD | WIRE_RA | RCODE_FORMERR,
	       "FORMERR: RD echoed");
	is_int(edns_error_flags(0, RCODE_FORMERR, 1), WIRE_QR | WIRE_RA | RCODE_FORMERR, "FORMERR: no RD when none");
	is_int(edns_error_flags(all, RCODE_BADCOOKIE, 1), WIRE_QR | WIRE_RD | WIRE_CD | WIRE_RA | 7,
	       "BADCOOKIE: lower bits 7, TC clear");

	/* NOTIMP for an unknown opcode: header only */
	mkq(&m, 5, (uint16_t)(WIRE_RD | WIRE_CD | (5u << 11)), "a.example", TYPE_A);
	is_int(wire_parse_query(m.b, m.n, &q), WIRE_NOTIMP, "UPDATE: NOTIMP");
	size_t n = edns_reply_error(&q, RCODE_NOTIMP, 1, NULL, out, sizeof out);
	is_int(n, 12, "NOTIMP: header only");
	is_int(wire_get16(out + 2), WIRE_QR | (5u << 11) | RCODE_NOTIMP, "NOTIMP flags");
	is_int(wire_get16(out), 5, "NOTIMP: id echoed");

	/* REFUSED with EDNS: question and a bare OPT */
	mkq(&m, 6, WIRE_RD, "a.example", TYPE_A);
	opt_begin(&m, 1232, 0, 0, 1);
	wire_parse_query(m.b, m.n, &q);
	n = edns_reply_error(&q, RCODE_REFUSED, 1, NULL, out, sizeof out);
	is_int(n, q.q_end + 11, "REFUSED: header, question, OPT");
	is_int(wire_get16(out + 10), 1, "REFUSED: ARCOUNT 1");
	is_int(out[q.q_end + 7], 0x80, "REFUSED: DO echoed");
	is_int(wire_get16(out + 2), WIRE_QR | WIRE_RD | WIRE_RA | RCODE_REFUSED, "REFUSED flags");

	/* BADCOOKIE with a fresh cookie */
	memset(key, 0x11, 16);
	edns_cookie_secret_init(&s, key, 0, NOW);
	struct edns_cookie_params p = {&s, IP4, 4, NOW, 0, 1};
	cookie_query(&m, CC, 8);
	wire_parse_query(m.b, m.n, &q);
	edns_parse(&q, &e);
	is_int(edns_client_init(&q, &e, &p, &c), EDNS_BADCOOKIE, "client cookie only, required: BADCOOKIE");
	struct edns_reply r = {&c, 0, 0, 0, 0, NULL, 0, NULL, NULL};
	n = edns_reply_error(&q, RCODE_BADCOOKIE, 1, &r, out, sizeof out);
	ok(n > 0, "BADCOOKIE reply built");
	is_int(WIRE_RCODE(out[3]), 7, "BADCOOKIE: header rcode 7");
	is_int(out[2] & (WIRE_TC >> 8), 0, "BADCOOKIE: TC clear");
	is_int(wire_get16(out + 4), 1, "BADCOOKIE: question echoed");
	is_int(edns_find_option(out, n, EDNS_OPT_COOKIE, &d, &dl), 1, "BADCOOKIE: COOKIE present");
	is_int(d[-4 - 6], 1, "BADCOOKIE: extended rcode bits 1");
	is_int(edns_cookie_check(&s, d, dl, IP4, 4, NOW, NULL), EDNS_COOKIE_VALID, "BADCOOKIE: fresh cookie");

	/* BADVERS */
	mkq(&m, 8, 0, "a.example", TYPE_A);
	opt_begin(&m, 1232, 0, 3, 0);
	is_int(wire_parse_query(m.b, m.n, &q), WIRE_BADVERS, "version 3: BADVERS");
	edns_parse(&q, &e);
	edns_client_init(&q, &e, NULL, &c);
	r.client = &c;
	n = edns_reply_error(&q, RCODE_BADVERS, 1, &r, out, sizeof out);
	is_int(WIRE_RCODE(out[3]), 0, "BADVERS: header rcode 0");
	is_int(out[n - 11 + 5], 1, "BADVERS: extended rcode 1");
	is_int(out[n - 11 + 6], 0, "BADVERS: our version 0");

	/* FORMERR for a malformed cookie: with an OPT, no cookie */
	cookie_query(&m, CC, 7);
	wire_parse_query(m.b, m.n, &q);
	is_int(edns_parse(&q, &e), EDNS_FORMERR, "7-byte cookie: FORMERR");
	p.required_udp = 0;
	edns_client_init(&q, &e, &p, &c);
	n = edns_reply_error(&q, RCODE_FORMERR, 1, &r, out, sizeof out);
	is_int(WIRE_RCODE(out[3]), RCODE_FORMERR, "FORMERR rcode");
	is_int(edns_find_option(out, n, EDNS_OPT_COOKIE, &d, &dl), 0, "FORMERR: no cookie");
	is_int(count_opts(out, n), 1, "FORMERR: one OPT");

	/* the RFC 7873 5.4 cookie-only query: NOERROR, no question, cookie */
	m.n = 0;
	put16(&m, 7);
	put16(&m, 0);
	for (int i = 0; i < 4; i++)
		put16(&m, 0);
	size_t rdl = opt_begin(&m, 1232, 0, 0, 0);
	opt_add(&m, rdl, EDNS_OPT_COOKIE, CC, 8);
	wire_parse_query(m.b, m.n, &q);
	enum edns_verdict ev = edns_parse(&q, &e);
	ok(edns_cookie_only_query(&q, &e, ev), "cookie-only query");
	edns_client_init(&q, &e, &p, &c);
	n = edns_reply_error(&q, RCODE_NOERROR, 1, &r, out, sizeof out);
	is_int(WIRE_RCODE(out[3]), 0, "cookie-only: NOERROR");
	is_int(wire_get16(out + 4), 0, "cookie-only: no question");
	is_int(edns_find_option(out, n, EDNS_OPT_COOKIE, &d, &dl), 1, "cookie-only: COOKIE");
	is_int(dl, 24, "cookie-only: with a server cookie");

	/* the client had no EDNS, q (our upstream query, re-parsed) has: no OPT */
	mkq(&m, 6, WIRE_RD, "a.example", TYPE_A);
	wire_parse_query(m.b, m.n, &q);
	n = edns_build_upstream_query(&q, 6, 0, NULL, 0, out + 300, 300);
	struct wire_query uq;
	wire_parse_query(out + 300, n, &uq);
	struct edns_client noedns;
	memset(&noedns, 0, sizeof noedns);
	r.client = &noedns;
	n = edns_reply_error(&uq, RCODE_SERVFAIL, 1, &r, out, 300);
	is_int(wire_get16(out + 10), 0, "SERVFAIL to a client without EDNS: no OPT, whatever q had");
	is_int(n, uq.q_end, "SERVFAIL: header and question");

	/* too small a buffer */
	mkq(&m, 6, WIRE_RD, "a.example", TYPE_A);
	opt_begin(&m, 1232, 0, 0, 1);
	wire_parse_query(m.b, m.n, &q);
	is_int(edns_reply_error(&q, RCODE_REFUSED, 1, NULL, out, q.q_end + 10), 0, "no room for the OPT: 0");
}

int main(void)
{
	test_parse();
	test_rfc9018_vectors();
	test_cookie_rules();
	test_client_init();
	test_finish_reply();
	test_upstream_query();
	test_error_replies();
	return tap_done();
}
