/*
 * test_query.c -- the whole query path in process, in virtual time.
 *
 * Modelled on Knot's tests/knot/test_process_query.c: crafted queries go
 * into query_handle(), crafted upstream replies go into the completion path,
 * and every case asserts the rcode, the flags, the sections, what was
 * cached, which server is asked next, and when.
 *
 * The query engine is built without listeners (query.h): answers that come
 * later land in a capture hook.  Its clock is a fwd_test_clock that only
 * moves when a test advances it; upstream timeouts fire from
 * upstream_expire() after the clock moved, never from a real timer (the
 * configured timeouts are far longer than any run of this program).  The
 * upstream servers are this program's own UDP and TCP sockets on
 * 127.0.0.1: loopback delivers a datagram before sendto() returns, so every
 * step is deterministic and nothing sleeps.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <event2/event.h>

#include "cache.h"
#include "client.h"
#include "clock.h"
#include "common.h"
#include "dnsmsg.h"
#include "edns.h"
#include "log.h"
#include "loop.h"
#include "query.h"
#include "snapshot.h"
#include "tap.h"
#include "upstream.h"
#include "wire.h"

#define NSERVERS 3              /* azure: 0 and 1; default: 2 */
#define UP_TIMEOUT_MS 60000     /* upstream-timeout: far beyond any real run */
#define Q_TIMEOUT_MS 300000     /* query-timeout */
#define STALE_S 60              /* serve-stale */
#define SEC 1000000ull

struct server {
	int udp, tcp;               /* bound on 127.0.0.1, same port */
	uint16_t port;
	struct sockaddr_in from;    /* where the last query came from */
	socklen_t fromlen;
	uint8_t q[1024];            /* the last query received */
	size_t qlen;
};

static struct server srv[NSERVERS];
static struct event_base *base;
static struct fwd_test_clock tclock;
static struct snapshot_pub pub;
static struct cache *cache;
static struct query_engine qe;
static char dir[] = "/tmp/plinkfwd-test-query-XXXXXX";
static int q_timeout_ms = Q_TIMEOUT_MS; /* the query-timeout build() writes */
static uint16_t dead_port;              /* a 127.0.0.1 port nothing listens on */
static int with_arm;                    /* build() adds an arm: clause and empties azure */

/* what the capture hook saw */
static uint8_t sent[8][WIRE_MAX_MSG];
static size_t sent_len[8];
static int nsent;

static void capture(void *arg, const struct client *cl, const uint8_t *msg, size_t len)
{
	(void)arg;
	(void)cl;
	if (nsent < 8) {
		memcpy(sent[nsent], msg, len);
		sent_len[nsent] = len;
	}
	nsent++;
}

/* ------------------------------------------------------------ set-up */

/* A UDP socket on a free port of 127.0.0.1 and a TCP listener on the same
 * port.  This program runs outside any network namespace, beside whatever
 * else the machine runs: the port the kernel picks for UDP may be taken
 * for TCP, so pick again until both binds succeed. */
static void server_open(struct server *s)
{
	for (int tries = 0; tries < 1000; tries++) {
		struct sockaddr_in a;
		socklen_t al = sizeof(a);
		int one = 1;

		memset(&a, 0, sizeof(a));
		a.sin_family = AF_INET;
		a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		s->udp = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
		if (s->udp < 0 || bind(s->udp, (struct sockaddr *)&a, sizeof(a)) < 0 ||
		    getsockname(s->udp, (struct sockaddr *)&a, &al) < 0)
			abort();
		s->port = ntohs(a.sin_port);
		s->tcp = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
		if (s->tcp < 0)
			abort();
		setsockopt(s->tcp, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
		if (bind(s->tcp, (struct sockaddr *)&a, sizeof(a)) == 0 && listen(s->tcp, 8) == 0)
			return;
		close(s->tcp);
		close(s->udp);
	}
	abort();
}

static const char zone_text[] = "$TTL 300\n"
				"@ IN SOA ns.local.test. host.local.test. 1 3600 300 86400 60\n"
				"@ IN NS ns.local.test.\n"
				"www IN A 10.0.0.1\n";

/* A snapshot whose fwd.test rule goes to fwd_group. */
static struct snapshot *build(const char *fwd_group)
{
	char zpath[256], cpath[256], err[512] = "";
	FILE *f;

	snprintf(zpath, sizeof(zpath), "%s/local.test.zone", dir);
	snprintf(cpath, sizeof(cpath), "%s/test.conf", dir);
	f = fopen(zpath, "w");
	fputs(zone_text, f);
	fclose(f);
	f = fopen(cpath, "w");
	fprintf(f,
		"server:\n  listen: 127.0.0.1@53\n  allow: 127.0.0.0/8\n"
		"  upstream-timeout: %d\n  query-timeout: %d\n  serve-stale: %d\n  nsid: test-nsid\n"
		"upstream: azure\n  server: 127.0.0.%u@%u\n  server: 127.0.0.1@%u\n"
		"upstream: default\n  server: 127.0.0.1@%u\n"
		"upstream: empty\n"
		"upstream: dead\n  server: 127.0.0.1@%u\n"
		"upstream: tight\n  server: 127.0.0.1@%u\n  max-outstanding: 1\n"
		"zone: local.test\n  file: %s\n"
		"forward: fwd.test\n  to: %s\n"
		"forward: nowhere.test\n  to: empty\n"
		"forward: dead.test\n  to: dead\n"
		"forward: tight.test\n  to: tight\n"
		"forward: privatelink.contoso.test\n  to: dead\n"
		"forward: resolver.arpa\n  to: default\n",
		UP_TIMEOUT_MS, q_timeout_ms, STALE_S, with_arm ? 2 : 1, with_arm ? dead_port : srv[0].port,
		with_arm ? dead_port : srv[1].port, srv[2].port, dead_port, srv[0].port, zpath, fwd_group);
	if (with_arm) /* parsed only: no sync runs in this program */
		fputs("arm:\n  subscription: 00000000-0000-0000-0000-000000000000\n", f);
	fclose(f);
	struct snapshot *s = snapshot_build(cpath, NULL, 0, err, sizeof(err));
	if (!s) {
		fprintf(stderr, "test_query: %s\n", err);
		abort();
	}
	unlink(zpath);
	unlink(cpath);
	return s;
}

/* ------------------------------------------------------------ driving */

static struct client client_at(const char *addr)
{
	struct client cl;
	struct sockaddr_in *sin = (struct sockaddr_in *)&cl.addr;

	memset(&cl, 0, sizeof(cl));
	sin->sin_family = AF_INET;
	sin->sin_port = htons(40000);
	inet_pton(AF_INET, addr, &sin->sin_addr);
	cl.addrlen = sizeof(*sin);
	cl.transport = CLIENT_UDP;
	cl.fd = -1;
	cl.start_us = clock_us(&tclock.clock);
	return cl;
}

/* A query: id, flags word, name, type, class; edns < 0 for none, else the
 * EDNS version with DO clear. */
static size_t mkq(struct msg *m, uint16_t id, uint16_t flags, const char *name, uint16_t type, uint16_t cls,
		  int edns)
{
	m->n = 0;
	put16(m, id);
	put16(m, flags);
	put16(m, 1);
	put16(m, 0);
	put16(m, 0);
	put16(m, edns >= 0 ? 1 : 0);
	put_name_case(m, name);
	put16(m, type);
	put16(m, cls);
	if (edns >= 0) {
		put8(m, 0);
		put16(m, TYPE_OPT);
		put16(m, 1232);
		put8(m, 0);
		put8(m, (uint8_t)edns);
		put16(m, 0);
		put16(m, 0);
	}
	return m->n;
}

static uint8_t out[WIRE_MAX_MSG];

/* query_handle() as a listener calls it; returns the immediate reply length */
static size_t ask_from(const char *from, const struct msg *m, int *fwd)
{
	struct client cl = client_at(from);
	cl.id = m->n >= 2 ? wire_get16(m->b) : 0;
	query_engine_refresh(&qe);
	return query_handle(&qe, m->b, m->n, &cl, out, sizeof(out), fwd);
}

static size_t ask(const char *name, uint16_t type, uint16_t id, int *fwd)
{
	struct msg m;
	mkq(&m, id, WIRE_RD, name, type, CLASS_IN, -1);
	return ask_from("127.0.0.1", &m, fwd);
}

/* Run the event loop until nothing is ready (no real time passes). */
static void pump(void)
{
	for (int i = 0; i < 4; i++)
		event_base_loop(base, EVLOOP_NONBLOCK);
}

/* Did server i get a UDP query?  Reads it into srv[i].q. */
static int got_query(int i)
{
	struct server *s = &srv[i];
	s->fromlen = sizeof(s->from);
	ssize_t n = recvfrom(s->udp, s->q, sizeof(s->q), 0, (struct sockaddr *)&s->from, &s->fromlen);
	if (n <= 0)
		return 0;
	s->qlen = (size_t)n;
	return 1;
}

/* Which server got a query (-1 none, -2 more than one). */
static int asked(void)
{
	int who = -1;
	for (int i = 0; i < NSERVERS; i++)
		if (got_query(i))
			who = who == -1 ? i : -2;
	return who;
}

/* A reply to the last query of server i: the question echoed, rcode, and
 * one A record (ttl, 192.0.2.x) when an is set. */
static size_t mkreply(int i, struct msg *m, uint16_t id, int rcode, int an, uint32_t ttl, uint16_t extra_flags)
{
	struct server *s = &srv[i];
	size_t qend = wire_skip_name(s->q, s->qlen, WIRE_HDR_LEN) + 4;
	memcpy(m->b, s->q, qend);
	m->n = qend;
	wire_put16(m->b, id);
	wire_put16(m->b + 2, (uint16_t)(WIRE_QR | WIRE_RD | WIRE_RA | extra_flags | (uint16_t)rcode));
	wire_put16(m->b + 6, an ? 1 : 0);
	wire_put16(m->b + 8, 0);
	wire_put16(m->b + 10, 0);
	if (an) {
		put16(m, 0xc00c);
		put16(m, TYPE_A);
		put16(m, CLASS_IN);
		put32(m, ttl);
		put16(m, 4);
		put8(m, 192);
		put8(m, 0);
		put8(m, 2);
		put8(m, (uint8_t)(10 + i));
	}
	return m->n;
}

static void reply_udp(int i, const struct msg *m)
{
	sendto(srv[i].udp, m->b, m->n, 0, (struct sockaddr *)&srv[i].from, srv[i].fromlen);
	pump();
}

/* the upstream's view of the ID it must echo */
static uint16_t qid(int i) { return wire_get16(srv[i].q); }

static void advance_ms(uint64_t ms)
{
	fwd_test_clock_advance(&tclock, ms * 1000);
	upstream_expire(qe.up);
	pump();
}

static int rcode_of(const uint8_t *r) { return r[3] & 0xf; }
static uint16_t flags_of(const uint8_t *r) { return wire_get16(r + 2); }

/* TTL of the first answer record of a reply built by mkreply or the cache */
static uint32_t first_ttl(const uint8_t *r, size_t len)
{
	size_t off = wire_skip_name(r, len, WIRE_HDR_LEN) + 4;
	off = wire_skip_name(r, len, off);
	return off && off + 10 <= len ? wire_get32(r + off + 4) : 0;
}

static void reset_capture(void) { nsent = 0; }

/* ------------------------------------------------------------ bad input */

static void test_bad_input(void)
{
	struct msg m;
	int fwd;
	size_t n;
	uint64_t dropped = qe.stats.dropped;

	/* 1. shorter than a header, or QR=1: dropped, never answered */
	m.n = 5;
	memset(m.b, 0, 5);
	n = ask_from("127.0.0.1", &m, &fwd);
	ok(n == 0 && !fwd, "1: 5-byte packet dropped, no answer");
	mkq(&m, 1, WIRE_QR | WIRE_RD, "www.local.test", TYPE_A, CLASS_IN, -1);
	n = ask_from("127.0.0.1", &m, &fwd);
	ok(n == 0 && !fwd, "1: QR=1 dropped, no answer");
	is_int(qe.stats.dropped - dropped, 2, "1: both counted as dropped");

	/* 2. source not allowed by the ACL: REFUSED (before anything else) */
	mkq(&m, 2, WIRE_RD, "www.local.test", TYPE_A, CLASS_IN, -1);
	n = ask_from("192.0.2.99", &m, &fwd);
	ok(n >= WIRE_HDR_LEN && rcode_of(out) == RCODE_REFUSED && wire_get16(out) == 2,
	   "2: source outside allow: REFUSED with the client's ID");
	ok(n >= WIRE_HDR_LEN && (flags_of(out) & WIRE_QR) && !(flags_of(out) & WIRE_AA), "2: QR set, AA clear");
	mkq(&m, 3, (uint16_t)(WIRE_RD | (5u << 11)), "www.local.test", TYPE_A, CLASS_IN, -1);
	n = ask_from("192.0.2.99", &m, &fwd);
	ok(n >= WIRE_HDR_LEN && rcode_of(out) == RCODE_REFUSED, "2: the ACL comes before the opcode check");

	/* 3. opcode other than QUERY: NOTIMP */
	n = ask_from("127.0.0.1", &m, &fwd);
	ok(n >= WIRE_HDR_LEN && rcode_of(out) == RCODE_NOTIMP && WIRE_OPCODE(flags_of(out)) == 5,
	   "3: opcode UPDATE: NOTIMP, opcode echoed");
	mkq(&m, 4, (uint16_t)(2u << 11), "www.local.test", TYPE_A, CLASS_IN, -1);
	n = ask_from("127.0.0.1", &m, &fwd);
	ok(n >= WIRE_HDR_LEN && rcode_of(out) == RCODE_NOTIMP, "3: opcode STATUS: NOTIMP");

	/* 4. QDCOUNT != 1, malformed question or OPT: FORMERR */
	mkq(&m, 5, WIRE_RD, "www.local.test", TYPE_A, CLASS_IN, -1);
	wire_put16(m.b + 4, 2);
	n = ask_from("127.0.0.1", &m, &fwd);
	ok(n >= WIRE_HDR_LEN && rcode_of(out) == RCODE_FORMERR, "4: QDCOUNT 2: FORMERR");
	mkq(&m, 6, WIRE_RD, "www.local.test", TYPE_A, CLASS_IN, -1);
	wire_put16(m.b + 4, 0);
	n = ask_from("127.0.0.1", &m, &fwd);
	ok(n >= WIRE_HDR_LEN && rcode_of(out) == RCODE_FORMERR, "4: QDCOUNT 0: FORMERR");
	mkq(&m, 7, WIRE_RD, "www.local.test", TYPE_A, CLASS_IN, -1);
	m.b[WIRE_HDR_LEN] = 60; /* a label running past the end */
	n = ask_from("127.0.0.1", &m, &fwd);
	ok(n >= WIRE_HDR_LEN && rcode_of(out) == RCODE_FORMERR, "4: label past the end: FORMERR");
	mkq(&m, 8, WIRE_RD, "www.local.test", TYPE_A, CLASS_IN, -1);
	m.n -= 2; /* class cut short */
	n = ask_from("127.0.0.1", &m, &fwd);
	ok(n >= WIRE_HDR_LEN && rcode_of(out) == RCODE_FORMERR, "4: truncated question: FORMERR");
	mkq(&m, 9, WIRE_RD, "www.local.test", TYPE_A, CLASS_IN, 0);
	m.n -= 3; /* OPT RDLENGTH cut */
	n = ask_from("127.0.0.1", &m, &fwd);
	ok(n >= WIRE_HDR_LEN && rcode_of(out) == RCODE_FORMERR, "4: truncated OPT: FORMERR");

	/* 5. EDNS version != 0: BADVERS, with an OPT carrying it */
	mkq(&m, 10, WIRE_RD, "www.local.test", TYPE_A, CLASS_IN, 1);
	n = ask_from("127.0.0.1", &m, &fwd);
	ok(n >= WIRE_HDR_LEN + 11 && wire_get16(out + 10) == 1, "5: EDNS version 1: an OPT record in the answer");
	size_t qe_end = wire_skip_name(out, n, WIRE_HDR_LEN) + 4;
	ok(n >= qe_end + 11 && ((out[qe_end + 5] << 4) | rcode_of(out)) == RCODE_BADVERS,
	   "5: extended rcode BADVERS (16)");

	/* 6. class other than IN: REFUSED; AXFR over UDP: NOTIMP; IXFR over UDP
	 * goes through xfr/ (no allow-transfer here: REFUSED) */
	mkq(&m, 11, WIRE_RD, "www.local.test", TYPE_A, 3 /* CH */, -1);
	n = ask_from("127.0.0.1", &m, &fwd);
	ok(n >= WIRE_HDR_LEN && rcode_of(out) == RCODE_REFUSED, "6: class CH: REFUSED");
	mkq(&m, 12, WIRE_RD, "local.test", TYPE_AXFR, CLASS_IN, -1);
	n = ask_from("127.0.0.1", &m, &fwd);
	ok(n >= WIRE_HDR_LEN && rcode_of(out) == RCODE_NOTIMP, "6: AXFR: NOTIMP");
	mkq(&m, 13, WIRE_RD, "local.test", TYPE_IXFR, CLASS_IN, -1);
	n = ask_from("127.0.0.1", &m, &fwd);
	ok(n >= WIRE_HDR_LEN && rcode_of(out) == RCODE_REFUSED, "6: IXFR over UDP, no allow-transfer: REFUSED");
	is_int(asked(), -1, "no bad query reached an upstream server");

	/* everything else is routed: a local zone answers at once */
	n = ask("WWW.local.test", TYPE_A, 14, &fwd);
	ok(n > WIRE_HDR_LEN && rcode_of(out) == RCODE_NOERROR && wire_get16(out + 6) == 1, "local answer: one record");
	ok((flags_of(out) & WIRE_AA) && (flags_of(out) & WIRE_RA) && (flags_of(out) & WIRE_RD),
	   "local answer: AA, RA set, RD echoed");
	ok(memcmp(out + WIRE_HDR_LEN + 1, "WWW", 3) == 0, "local answer: the question in the client's case");
	n = ask("nope.local.test", TYPE_A, 15, &fwd);
	ok(n > WIRE_HDR_LEN && rcode_of(out) == RCODE_NXDOMAIN && wire_get16(out + 8) == 1,
	   "local NXDOMAIN with the SOA in authority");
	n = ask("x.nowhere.test", TYPE_A, 16, &fwd);
	ok(n >= WIRE_HDR_LEN && rcode_of(out) == RCODE_REFUSED && !fwd, "a group without servers: REFUSED at once");
	is_int(asked(), -1, "nothing sent for a local name or an empty group");
}

/* ------------------------------------------------------------ forwarding */

/* Forward name; returns which azure server got it (0 or 1), -1 if none. */
static int forward_to_azure(const char *name, uint16_t id)
{
	int fwd = 0;
	size_t n = ask(name, TYPE_A, id, &fwd);
	if (n != 0 || !fwd)
		return -1;
	return asked();
}

static void test_good_reply_and_cache(void)
{
	struct msg r;
	reset_capture();
	int s = forward_to_azure("a1.fwd.test", 100);
	ok(s == 0 || s == 1, "fwd.test goes to one azure server (%d)", s);
	if (s < 0)
		return;
	ok(qid(s) != 100, "the upstream query has its own random ID");
	is_int(nsent, 0, "no answer before the upstream replies");
	mkreply(s, &r, qid(s), RCODE_NOERROR, 1, 300, WIRE_AA);
	reply_udp(s, &r);
	is_int(nsent, 1, "the reply is delivered once");
	ok(wire_get16(sent[0]) == 100, "with the client's ID");
	ok(rcode_of(sent[0]) == RCODE_NOERROR && wire_get16(sent[0] + 6) == 1, "NOERROR, one answer");
	ok(flags_of(sent[0]) & WIRE_RA, "RA set on a forwarded answer");

	/* the cache answers the same question now, without upstream traffic */
	int fwd = 0;
	fwd_test_clock_advance(&tclock, 100 * SEC);
	size_t n = ask("a1.fwd.test", TYPE_A, 101, &fwd);
	ok(n > 0 && !fwd && wire_get16(out) == 101, "cached: answered at once with the new ID");
	is_int(asked(), -1, "cached: no upstream query");
	is_int(first_ttl(out, n), 200, "cached: TTL 300 after 100 s in the cache is 200");
	/* expired, then serve-stale when every server fails */
	fwd_test_clock_advance(&tclock, 201 * SEC);
	s = forward_to_azure("a1.fwd.test", 102);
	ok(s >= 0, "expired entry: asked upstream again");
	reset_capture();
	mkreply(s, &r, qid(s), RCODE_SERVFAIL, 0, 0, 0);
	reply_udp(s, &r);
	int other = asked();
	is_int(other, 1 - s, "SERVFAIL: the other azure server is asked at once, no clock moved");
	mkreply(other, &r, qid(other), RCODE_REFUSED, 0, 0, 0);
	reply_udp(other, &r);
	is_int(nsent, 1, "every server failed: one answer");
	ok(nsent == 1 && rcode_of(sent[0]) == RCODE_NOERROR && wire_get16(sent[0] + 6) == 1,
	   "serve-stale: the expired answer instead of SERVFAIL");
	ok(nsent == 1 && first_ttl(sent[0], sent_len[0]) == 30, "stale answer TTL is 30 (RFC 8767)");
	is_int(asked(), -1, "no third server is asked");
}

static void test_mismatch_ignored(void)
{
	struct msg r;
	reset_capture();
	int s = forward_to_azure("a2.fwd.test", 200);
	if (s < 0) {
		ok(0, "forwarded");
		return;
	}
	mkreply(s, &r, (uint16_t)(qid(s) ^ 0x5555), RCODE_NOERROR, 1, 60, 0);
	reply_udp(s, &r);
	is_int(nsent, 0, "wrong ID: ignored");
	mkreply(s, &r, qid(s), RCODE_NOERROR, 1, 60, 0);
	r.b[WIRE_HDR_LEN + 1] = 'z'; /* a2 -> z2: another question */
	reply_udp(s, &r);
	is_int(nsent, 0, "wrong question name: ignored");
	mkreply(s, &r, qid(s), RCODE_NOERROR, 1, 60, 0);
	size_t qend = wire_skip_name(r.b, r.n, WIRE_HDR_LEN);
	wire_put16(r.b + qend, TYPE_AAAA);
	reply_udp(s, &r);
	is_int(nsent, 0, "wrong question type: ignored");
	mkreply(s, &r, qid(s), RCODE_NOERROR, 1, 60, 0);
	wire_put16(r.b + 2, (uint16_t)(wire_get16(r.b + 2) & ~WIRE_QR));
	reply_udp(s, &r);
	is_int(nsent, 0, "QR clear: ignored");
	/* from another port: the connected socket never delivers it */
	mkreply(s, &r, qid(s), RCODE_NOERROR, 1, 60, 0);
	sendto(srv[2].udp, r.b, r.n, 0, (struct sockaddr *)&srv[s].from, srv[s].fromlen);
	pump();
	is_int(nsent, 0, "the right reply from another address: ignored");
	is_int(asked(), -1, "no failover for a reply that is not ours");
	mkreply(s, &r, qid(s), RCODE_NOERROR, 1, 60, 0);
	reply_udp(s, &r);
	ok(nsent == 1 && wire_get16(sent[0]) == 200 && rcode_of(sent[0]) == RCODE_NOERROR,
	   "the matching reply is accepted after all of them");
}

static void test_timeout_failover(void)
{
	struct msg r;
	reset_capture();
	int s = forward_to_azure("a3.fwd.test", 300);
	if (s < 0) {
		ok(0, "forwarded");
		return;
	}
	advance_ms(UP_TIMEOUT_MS - 1);
	is_int(asked(), -1, "1 ms before upstream-timeout: nobody else is asked");
	is_int(nsent, 0, "and the client waits");
	advance_ms(1);
	int other = asked();
	is_int(other, 1 - s, "at upstream-timeout: the other server is asked");
	mkreply(other, &r, qid(other), RCODE_NOERROR, 1, 60, 0);
	reply_udp(other, &r);
	ok(nsent == 1 && wire_get16(sent[0]) == 300 && rcode_of(sent[0]) == RCODE_NOERROR,
	   "its answer reaches the client");
	/* the late reply of the first server changes nothing */
	mkreply(s, &r, qid(s), RCODE_NOERROR, 1, 60, 0);
	reply_udp(s, &r);
	is_int(nsent, 1, "a late reply after the answer is dropped");

	/* every server silent: SERVFAIL when the last one timed out */
	reset_capture();
	s = forward_to_azure("a4.fwd.test", 301);
	advance_ms(UP_TIMEOUT_MS);
	other = asked();
	is_int(other, 1 - s, "second server after the first timeout");
	is_int(nsent, 0, "no answer yet");
	advance_ms(UP_TIMEOUT_MS);
	ok(nsent == 1 && rcode_of(sent[0]) == RCODE_SERVFAIL && wire_get16(sent[0]) == 301,
	   "both silent: SERVFAIL after the second timeout");
	is_int(asked(), -1, "no server asked twice");
}

/* Every azure server answers the pending query with SERVFAIL or REFUSED;
 * s is the one that got it first.  Returns how many servers were asked. */
static int fail_every_azure_server(int s)
{
	struct msg r;
	int n = 1;
	mkreply(s, &r, qid(s), RCODE_SERVFAIL, 0, 0, 0);
	reply_udp(s, &r);
	int other = asked();
	if (other >= 0) {
		n++;
		mkreply(other, &r, qid(other), RCODE_REFUSED, 0, 0, 0);
		reply_udp(other, &r);
	}
	return n;
}

static void test_stale_window(void)
{
	/* serve-stale 60: an entry that expired at most 60 s ago stands in for
	 * SERVFAIL; one that expired longer ago does not */
	struct msg r;
	reset_capture();
	int s = forward_to_azure("w1.fwd.test", 700);
	if (s < 0) {
		ok(0, "forwarded");
		return;
	}
	mkreply(s, &r, qid(s), RCODE_NOERROR, 1, 10, 0);
	reply_udp(s, &r);
	ok(nsent == 1 && rcode_of(sent[0]) == RCODE_NOERROR, "window: an answer with TTL 10 is cached");

	fwd_test_clock_advance(&tclock, (10 + STALE_S) * SEC - 1000);
	reset_capture();
	s = forward_to_azure("w1.fwd.test", 701);
	ok(s >= 0, "window: expired 60 s ago (less 1 ms): asked upstream");
	if (s >= 0)
		fail_every_azure_server(s);
	ok(nsent == 1 && rcode_of(sent[0]) == RCODE_NOERROR && first_ttl(sent[0], sent_len[0]) == 30,
	   "window: every server failed: the stale answer, TTL 30");

	fwd_test_clock_advance(&tclock, 2000);
	reset_capture();
	s = forward_to_azure("w1.fwd.test", 702);
	ok(s >= 0, "window: expired 60 s ago (and 1 ms): asked upstream");
	if (s >= 0)
		fail_every_azure_server(s);
	ok(nsent == 1 && rcode_of(sent[0]) == RCODE_SERVFAIL, "window: past it, every server failed: SERVFAIL");
}

static void test_query_budget(void)
{
	/* query-timeout 1.5 x upstream-timeout: the second server gets what is
	 * left of the budget, not a full upstream-timeout */
	q_timeout_ms = UP_TIMEOUT_MS + UP_TIMEOUT_MS / 2;
	snapshot_pub_publish(&pub, build("azure"));
	q_timeout_ms = Q_TIMEOUT_MS;
	reset_capture();
	int s = forward_to_azure("b1.fwd.test", 800);
	if (s < 0) {
		ok(0, "forwarded");
		return;
	}
	advance_ms(UP_TIMEOUT_MS);
	is_int(asked(), 1 - s, "budget: the second server at upstream-timeout");
	advance_ms(UP_TIMEOUT_MS / 2 - 1);
	is_int(nsent, 0, "budget: 1 ms before query-timeout the client still waits");
	advance_ms(1);
	ok(nsent == 1 && rcode_of(sent[0]) == RCODE_SERVFAIL && wire_get16(sent[0]) == 800,
	   "budget: SERVFAIL at query-timeout, before the second server's upstream-timeout");
	is_int(asked(), -1, "budget: no server asked after it ran out");
}

static void test_tc_retry_over_tcp(void)
{
	struct msg r;
	reset_capture();
	int s = forward_to_azure("big.fwd.test", 400);
	if (s < 0) {
		ok(0, "forwarded");
		return;
	}
	mkreply(s, &r, qid(s), RCODE_NOERROR, 0, 0, WIRE_TC);
	reply_udp(s, &r);
	is_int(nsent, 0, "TC over UDP: not relayed");
	pump();
	int c = accept(srv[s].tcp, NULL, NULL);
	ok(c >= 0, "the same server is asked again over TCP");
	if (c < 0)
		return;
	pump();
	uint8_t buf[600];
	struct pollfd pfd = {c, POLLIN, 0};
	ssize_t n = poll(&pfd, 1, 0) == 1 ? recv(c, buf, sizeof(buf), 0) : -1;
	ok(n > 2 && (size_t)n == 2u + wire_get16(buf), "a whole length-prefixed query over TCP");
	if (n <= 2) {
		close(c);
		return;
	}
	memcpy(srv[s].q, buf + 2, (size_t)n - 2);
	srv[s].qlen = (size_t)n - 2;
	mkreply(s, &r, qid(s), RCODE_NOERROR, 1, 60, 0);
	uint8_t frame[2 + sizeof(r.b)];
	wire_put16(frame, (uint16_t)r.n);
	memcpy(frame + 2, r.b, r.n);
	ok(send(c, frame, 2 + r.n, 0) == (ssize_t)(2 + r.n), "the TCP reply is written");
	pump();
	ok(nsent == 1 && wire_get16(sent[0]) == 400 && wire_get16(sent[0] + 6) == 1, "the TCP answer reaches the client");
	close(c);
	pump();
}

/* A malformed reply is a failed attempt: the next server is asked and the
 * client never sees it. */
static void test_malformed_reply(void)
{
	struct msg r;
	reset_capture();
	int s = forward_to_azure("bad1.fwd.test", 450);
	if (s < 0) {
		ok(0, "forwarded");
		return;
	}
	uint64_t bad0 = 0;
	struct upstream_stats us;
	upstream_get_stats(qe.up, &us);
	bad0 = us.malformed;
	mkreply(s, &r, qid(s), RCODE_NOERROR, 1, 60, 0);
	wire_put16(r.b + 6, 65535); /* ANCOUNT 65535, one record present */
	reply_udp(s, &r);
	is_int(nsent, 0, "ANCOUNT 65535 with one record: nothing relayed");
	int other = asked();
	is_int(other, 1 - s, "...the other server is asked at once");
	upstream_get_stats(qe.up, &us);
	is_int(us.malformed, bad0 + 1, "...counted as malformed");
	if (other < 0)
		return;
	mkreply(other, &r, qid(other), RCODE_NOERROR, 1, 60, 0);
	r.b[r.n - 6] = 0xc0; /* the A record's RDLENGTH high byte: past the end */
	reply_udp(other, &r);
	ok(nsent == 1 && rcode_of(sent[0]) == RCODE_SERVFAIL && wire_get16(sent[0]) == 450,
	   "RDLENGTH past the end from the second: SERVFAIL, not the bytes");
	upstream_get_stats(qe.up, &us);
	is_int(us.malformed, bad0 + 2, "...counted as malformed");
}

/* A CNAME chain of 20 steps: relayed as it came, counted, not spliced. */
static void test_chain_too_deep(void)
{
	struct msg r;
	char owner[64], target[64];
	reset_capture();
	int s = forward_to_azure("c0.fwd.test", 470);
	if (s < 0) {
		ok(0, "forwarded");
		return;
	}
	uint64_t deep0 = STATS_GET(qe.stats.splice_too_deep);
	mkreply(s, &r, qid(s), RCODE_NOERROR, 0, 0, 0);
	for (int i = 0; i < 20; i++) {
		snprintf(owner, sizeof owner, "c%d.fwd.test", i);
		snprintf(target, sizeof target, "c%d.fwd.test", i + 1);
		put_name_case(&r, owner);
		put16(&r, TYPE_CNAME);
		put16(&r, CLASS_IN);
		put32(&r, 60);
		size_t rdl = r.n;
		put16(&r, 0);
		size_t at = r.n;
		put_name_case(&r, target);
		wire_put16(r.b + rdl, (uint16_t)(r.n - at));
	}
	wire_put16(r.b + 6, 20);
	reply_udp(s, &r);
	/* 20 uncompressed CNAMEs exceed the 512 bytes of a client without
	 * EDNS: what it gets is the relayed answer, truncated (TC) */
	ok(nsent == 1 && rcode_of(sent[0]) == RCODE_NOERROR && (flags_of(sent[0]) & WIRE_TC),
	   "a 20-step CNAME chain is relayed as it came (NOERROR, TC for a 512-byte client)");
	is_int(STATS_GET(qe.stats.splice_too_deep), deep0 + 1, "...and counted as too deep to splice");
}

/* TC on a TCP reply cannot be cured by asking again: a failed attempt. */
static void test_tc_over_tcp_fails(void)
{
	struct msg r;
	reset_capture();
	int s = forward_to_azure("bigtc.fwd.test", 460);
	if (s < 0) {
		ok(0, "forwarded");
		return;
	}
	mkreply(s, &r, qid(s), RCODE_NOERROR, 0, 0, WIRE_TC);
	reply_udp(s, &r);
	pump();
	int c = accept(srv[s].tcp, NULL, NULL);
	ok(c >= 0, "TC over UDP: asked again over TCP");
	if (c < 0)
		return;
	pump();
	uint8_t buf[600];
	struct pollfd pfd = {c, POLLIN, 0};
	ssize_t n = poll(&pfd, 1, 0) == 1 ? recv(c, buf, sizeof(buf), 0) : -1;
	if (n > 2) {
		memcpy(srv[s].q, buf + 2, (size_t)n - 2);
		srv[s].qlen = (size_t)n - 2;
	}
	mkreply(s, &r, qid(s), RCODE_NOERROR, 0, 0, WIRE_TC);
	uint8_t frame[2 + sizeof(r.b)];
	wire_put16(frame, (uint16_t)r.n);
	memcpy(frame + 2, r.b, r.n);
	ok(send(c, frame, 2 + r.n, 0) == (ssize_t)(2 + r.n), "a TCP reply with TC is written");
	pump();
	is_int(nsent, 0, "TC over TCP: not relayed");
	is_int(asked(), 1 - s, "TC over TCP: the other server is asked");
	close(c);
	pump();
}

static void test_fallback_and_reload(void)
{
	struct msg r;
	int fwd = 0;

	/* a reload between the question and the reply: the answer is finished
	 * against the snapshot the question started with */
	reset_capture();
	int s = forward_to_azure("r1.fwd.test", 500);
	ok(s >= 0, "forwarded before the reload");
	struct snapshot *n2 = build("default");
	snapshot_pub_publish(&pub, n2);
	query_engine_refresh(&qe);
	ok(qe.snap == n2, "the engine picked up the new snapshot");
	uint64_t answered_before = qe.stats.answers_forwarded;
	mkreply(s, &r, qid(s), RCODE_NOERROR, 1, 60, 0);
	reply_udp(s, &r);
	ok(nsent == 1 && wire_get16(sent[0]) == 500 && rcode_of(sent[0]) == RCODE_NOERROR,
	   "the reply to a question asked before the reload is delivered");
	is_int(qe.stats.answers_forwarded - answered_before, 1, "counted once as forwarded");
	/* new questions follow the new routes */
	reset_capture();
	size_t n = ask("r2.fwd.test", TYPE_A, 501, &fwd);
	ok(n == 0 && fwd, "after the reload: forwarded");
	is_int(asked(), 2, "after the reload: fwd.test goes to default");
	mkreply(2, &r, qid(2), RCODE_NXDOMAIN, 0, 0, 0);
	reply_udp(2, &r);
	ok(nsent == 1 && rcode_of(sent[0]) == RCODE_NXDOMAIN, "default's NXDOMAIN is the answer");
}

static void test_rate_limited_warning(void)
{
	/* "no server in upstream group" is logged at most once per interval
	 * and group: counted through the log's own counter */
	int fwd;
	/* let every query still in flight from earlier tests time out first:
	 * their "every server failed" warnings are not the ones counted here */
	advance_ms(60 * 1000);
	uint64_t w0 = log_count(LOG_LVL_WARN);
	for (int i = 0; i < 6; i++)
		ask("x.nowhere.test", TYPE_A, (uint16_t)(600 + i), &fwd);
	is_int(log_count(LOG_LVL_WARN) - w0, 1, "6 queries to an empty group: 1 warning");
	advance_ms(999);
	ask("x.nowhere.test", TYPE_A, 610, &fwd);
	is_int(log_count(LOG_LVL_WARN) - w0, 1, "999 ms later (test clock): still 1");
	advance_ms(1);
	ask("x.nowhere.test", TYPE_A, 611, &fwd);
	is_int(log_count(LOG_LVL_WARN) - w0, 2, "one interval later: one more");
}

/* ------------------------------------------------------------ EDNS hop by hop */

static const uint8_t CC[EDNS_CLIENT_COOKIE_LEN] = {0x24, 0x64, 0xc4, 0xab, 0xcf, 0x10, 0xc9, 0x57};

/* Append an OPT RR (udp 1232, version 0) with no options; returns the
 * offset of its RDLENGTH so that opt_put can grow it. */
static size_t opt_open(struct msg *m)
{
	wire_put16(m->b + 10, (uint16_t)(wire_get16(m->b + 10) + 1));
	put8(m, 0);
	put16(m, TYPE_OPT);
	put16(m, 1232);
	put32(m, 0);
	size_t rdl = m->n;
	put16(m, 0);
	return rdl;
}

static void opt_put(struct msg *m, size_t rdl, uint16_t code, const void *data, size_t len)
{
	put16(m, code);
	put16(m, (uint16_t)len);
	memcpy(m->b + m->n, data, len);
	m->n += len;
	wire_put16(m->b + rdl, (uint16_t)(wire_get16(m->b + rdl) + 4 + len));
}

/* A query with an OPT carrying COOKIE (cookie, clen; none when clen is 0),
 * an empty NSID and a client subnet: what a BIND forwarder sends. */
static void mkq_edns(struct msg *m, uint16_t id, uint16_t flags, const char *name, uint16_t type,
		     const uint8_t *cookie, size_t clen)
{
	static const uint8_t ecs[] = {0, 1, 24, 0, 198, 51, 100}; /* family 1, /24, scope 0 */
	mkq(m, id, flags, name, type, CLASS_IN, -1);
	size_t rdl = opt_open(m);
	if (clen)
		opt_put(m, rdl, EDNS_OPT_COOKIE, cookie, clen);
	opt_put(m, rdl, EDNS_OPT_NSID, "", 0);
	opt_put(m, rdl, EDNS_OPT_ECS, ecs, sizeof ecs);
}

/* Does msg have an OPT record?  Then the data of its first option code
 * (*data, its length returned), -1 when absent, -2 without OPT at all. */
static int opt_find(const uint8_t *msg, size_t len, uint16_t code, const uint8_t **data)
{
	size_t off = WIRE_HDR_LEN;
	unsigned qd = wire_get16(msg + 4);
	unsigned rrs = (unsigned)wire_get16(msg + 6) + wire_get16(msg + 8) + wire_get16(msg + 10);
	int found_opt = 0;
	for (unsigned i = 0; i < qd; i++) {
		off = wire_skip_name(msg, len, off);
		if (!off || off + 4 > len)
			return -2;
		off += 4;
	}
	for (unsigned i = 0; i < rrs; i++) {
		off = wire_skip_name(msg, len, off);
		if (!off || off + 10 > len)
			return -2;
		uint16_t type = wire_get16(msg + off), rdlen = wire_get16(msg + off + 8);
		size_t rd = off + 10, end = rd + rdlen;
		if (end > len)
			return -2;
		if (type == TYPE_OPT) {
			found_opt = 1;
			for (size_t o = rd; o + 4 <= end;) {
				uint16_t c = wire_get16(msg + o), l = wire_get16(msg + o + 2);
				if (c == code && o + 4 + l <= end) {
					*data = msg + o + 4;
					return l;
				}
				o += 4u + l;
			}
		}
		off = end;
	}
	return found_opt ? -1 : -2;
}

/* Append an OPT to an upstream reply with the upstream's own cookie, its
 * NSID and an EDE: none of it but the EDE may reach the client. */
static void reply_add_upstream_opt(struct msg *r)
{
	static const uint8_t up_cookie[24] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24};
	static const uint8_t ede[] = {0, 0, 'u', 'p'}; /* Other, "up" */
	size_t rdl = opt_open(r);
	opt_put(r, rdl, EDNS_OPT_COOKIE, up_cookie, sizeof up_cookie);
	opt_put(r, rdl, EDNS_OPT_NSID, "upstream", 8);
	opt_put(r, rdl, EDNS_OPT_EDE, ede, sizeof ede);
}

static int ede_code(const uint8_t *msg, size_t len)
{
	const uint8_t *d;
	int l = opt_find(msg, len, EDNS_OPT_EDE, &d);
	return l >= 2 ? wire_get16(d) : -1;
}

static void test_edns_hop_by_hop(void)
{
	static struct edns_cookie_keys keys;
	static const uint8_t secret[EDNS_COOKIE_SECRET_LEN] = {7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7};
	struct msg m, r;
	const uint8_t *d;
	uint8_t cookie[EDNS_COOKIE_MAX_LEN];
	int fwd = 0, l;
	size_t n;

	edns_cookie_keys_init(&keys, secret, EDNS_COOKIE_ROTATE_DEFAULT, clock_wall_s(&tclock.clock));
	qe.cookies = &keys;

	/* a cache miss: nothing of the client's OPT goes upstream */
	reset_capture();
	mkq_edns(&m, 700, WIRE_RD, "e1.fwd.test", TYPE_A, CC, sizeof CC);
	n = ask_from("127.0.0.1", &m, &fwd);
	int s = asked();
	ok(n == 0 && fwd && s >= 0, "an EDNS query with a cookie is forwarded");
	if (s < 0)
		return;
	ok(opt_find(srv[s].q, srv[s].qlen, EDNS_OPT_COOKIE, &d) == -1, "upstream query: an OPT of its own, no client cookie");
	is_int(opt_find(srv[s].q, srv[s].qlen, EDNS_OPT_NSID, &d), -1, "upstream query: no NSID request");
	is_int(opt_find(srv[s].q, srv[s].qlen, EDNS_OPT_ECS, &d), -1, "upstream query: no client subnet");
	mkreply(s, &r, qid(s), RCODE_NOERROR, 1, 300, WIRE_AA);
	reply_add_upstream_opt(&r);
	reply_udp(s, &r);
	is_int(nsent, 1, "the answer is delivered");
	if (nsent != 1)
		return;
	ok(!(flags_of(sent[0]) & WIRE_AA), "forwarded: AA cleared although the upstream set it");
	l = opt_find(sent[0], sent_len[0], EDNS_OPT_COOKIE, &d);
	ok(l == EDNS_COOKIE_LEN && memcmp(d, CC, sizeof CC) == 0, "forwarded: our server cookie for the client's (%d bytes)", l);
	if (l == EDNS_COOKIE_LEN)
		memcpy(cookie, d, EDNS_COOKIE_LEN);
	l = opt_find(sent[0], sent_len[0], EDNS_OPT_NSID, &d);
	ok(l == 9 && memcmp(d, "test-nsid", 9) == 0, "forwarded: our NSID, not the upstream's");
	is_int(opt_find(sent[0], sent_len[0], EDNS_OPT_ECS, &d), -1, "forwarded: no client subnet");
	is_int(ede_code(sent[0], sent_len[0]), EDE_OTHER, "forwarded: the upstream's EDE is passed on");

	/* the cache hit looks exactly like the miss: no cookie surprise for BIND */
	reset_capture();
	mkq_edns(&m, 701, WIRE_RD, "e1.fwd.test", TYPE_A, cookie, EDNS_COOKIE_LEN);
	n = ask_from("127.0.0.1", &m, &fwd);
	ok(n > 0 && !fwd, "cache hit answered at once");
	ok(!(flags_of(out) & WIRE_AA), "cache hit: no AA");
	l = opt_find(out, n, EDNS_OPT_COOKIE, &d);
	ok(l == EDNS_COOKIE_LEN && memcmp(d, cookie, EDNS_COOKIE_LEN) == 0,
	   "cache hit: the valid server cookie comes back unchanged");
	l = opt_find(out, n, EDNS_OPT_NSID, &d);
	ok(l == 9 && memcmp(d, "test-nsid", 9) == 0, "cache hit: our NSID");
	is_int(asked(), -1, "cache hit: no upstream query");
	mkq(&m, 702, WIRE_RD, "e1.fwd.test", TYPE_A, CLASS_IN, 0);
	n = ask_from("127.0.0.1", &m, &fwd);
	ok(n > 0 && opt_find(out, n, EDNS_OPT_COOKIE, &d) == -1, "cache hit without a cookie: an OPT without one");

	/* a server cookie from another server: answered, with a fresh one */
	cookie[EDNS_CLIENT_COOKIE_LEN + 8] ^= 0xff;
	mkq_edns(&m, 703, WIRE_RD, "e1.fwd.test", TYPE_A, cookie, EDNS_COOKIE_LEN);
	n = ask_from("127.0.0.1", &m, &fwd);
	l = opt_find(out, n, EDNS_OPT_COOKIE, &d);
	ok(n > 0 && rcode_of(out) == RCODE_NOERROR && l == EDNS_COOKIE_LEN && memcmp(d, cookie, EDNS_COOKIE_LEN) != 0,
	   "a server cookie that does not verify: answered with a fresh one");

	/* plinkfwd's own zone: AA, and the cookie */
	mkq_edns(&m, 704, WIRE_RD, "www.local.test", TYPE_A, CC, sizeof CC);
	n = ask_from("127.0.0.1", &m, &fwd);
	ok(n > 0 && (flags_of(out) & WIRE_AA) && rcode_of(out) == RCODE_NOERROR, "own zone: AA");
	ok(opt_find(out, n, EDNS_OPT_COOKIE, &d) == EDNS_COOKIE_LEN, "own zone: our cookie");

	/* a malformed cookie (7 bytes) */
	mkq_edns(&m, 705, WIRE_RD, "www.local.test", TYPE_A, CC, 7);
	n = ask_from("127.0.0.1", &m, &fwd);
	ok(n > 0 && rcode_of(out) == RCODE_FORMERR, "a 7-byte cookie: FORMERR");
	is_int(opt_find(out, n, EDNS_OPT_COOKIE, &d), -1, "...without a cookie");

	/* only a cookie, no question (RFC 7873 5.4) */
	m.n = 0;
	put16(&m, 706);
	put16(&m, 0);
	put16(&m, 0);
	put16(&m, 0);
	put16(&m, 0);
	put16(&m, 0);
	opt_put(&m, opt_open(&m), EDNS_OPT_COOKIE, CC, sizeof CC);
	n = ask_from("127.0.0.1", &m, &fwd);
	ok(n > 0 && rcode_of(out) == RCODE_NOERROR && wire_get16(out + 4) == 0 &&
	   opt_find(out, n, EDNS_OPT_COOKIE, &d) == EDNS_COOKIE_LEN,
	   "cookie-only query: NOERROR, no question, a server cookie");

	/* stale answer: EDE 3, no AA */
	uint64_t stale0 = STATS_GET(qe.stats.ops.answers[0][STATS_SRC_STALE][STATS_RC_NOERROR]);
	fwd_test_clock_advance(&tclock, 301 * SEC);
	reset_capture();
	mkq_edns(&m, 707, WIRE_RD, "e1.fwd.test", TYPE_A, CC, sizeof CC);
	ask_from("127.0.0.1", &m, &fwd);
	s = asked();
	ok(fwd && s >= 0, "expired: asked upstream again");
	if (s >= 0) {
		mkreply(s, &r, qid(s), RCODE_SERVFAIL, 0, 0, 0);
		reply_udp(s, &r);
		int o = asked();
		if (o >= 0) {
			mkreply(o, &r, qid(o), RCODE_SERVFAIL, 0, 0, 0);
			reply_udp(o, &r);
		}
		ok(nsent == 1 && rcode_of(sent[0]) == RCODE_NOERROR && wire_get16(sent[0] + 6) == 1, "stale answer served");
		ok(nsent == 1 && ede_code(sent[0], sent_len[0]) == EDE_STALE_ANSWER, "stale answer: EDE 3 (Stale Answer)");
		{
			const uint8_t *dd;
			int ll = nsent == 1 ? opt_find(sent[0], sent_len[0], EDNS_OPT_EDE, &dd) : -1;
			ok(ll > 2 && (size_t)ll - 2 == strlen("azure group: 2 servers answered SERVFAIL/REFUSED") &&
			   memcmp(dd + 2, "azure group: 2 servers answered SERVFAIL/REFUSED", (size_t)ll - 2) == 0,
			   "stale answer: its text says why the group failed");
		}
		ok(nsent == 1 && !(flags_of(sent[0]) & WIRE_AA), "stale answer: no AA");
		ok(STATS_GET(qe.stats.ops.answers[0][STATS_SRC_STALE][STATS_RC_NOERROR]) == stale0 + 1,
		   "stale answer: counted as source stale, not upstream");
	}

	/* nobody to ask: REFUSED (as without EDNS) with EDE 22 naming the group */
	mkq_edns(&m, 708, WIRE_RD, "x.nowhere.test", TYPE_A, NULL, 0);
	n = ask_from("127.0.0.1", &m, &fwd);
	l = opt_find(out, n, EDNS_OPT_EDE, &d);
	ok(n > 0 && rcode_of(out) == RCODE_REFUSED && l > 2 && wire_get16(d) == EDE_NO_REACHABLE_AUTHORITY,
	   "no server in the group: REFUSED, EDE 22");
	ok(l > 2 && memmem(d + 2, (size_t)l - 2, "empty", 5) != NULL, "...whose text names the group (%.*s)",
	   l > 2 ? l - 2 : 0, l > 2 ? (const char *)d + 2 : "");

	/* a client outside allow: REFUSED, EDE 18 */
	mkq_edns(&m, 709, WIRE_RD, "www.local.test", TYPE_A, NULL, 0);
	n = ask_from("192.0.2.1", &m, &fwd);
	ok(n > 0 && rcode_of(out) == RCODE_REFUSED && ede_code(out, n) == EDE_PROHIBITED, "ACL: REFUSED, EDE 18 (Prohibited)");

	/* NOTIMP echoes no request flag and offers no recursion */
	mkq_edns(&m, 710, (uint16_t)(WIRE_RD | WIRE_CD | (5u << 11)), "www.local.test", TYPE_A, NULL, 0);
	n = ask_from("127.0.0.1", &m, &fwd);
	ok(n > 0 && rcode_of(out) == RCODE_NOTIMP, "UPDATE: NOTIMP");
	ok(n > 0 && !(flags_of(out) & (WIRE_RD | WIRE_CD | WIRE_RA | WIRE_AA)), "NOTIMP: no RD, CD, RA or AA");
	qe.cookies = NULL;
}

/* ------------------------------------------------------------ EDE, DDR, ANY */

#define TYPE_SVCB 64 /* RFC 9460 */

/* opt_find() without the data */
static int opt_len(const uint8_t *msg, size_t len, uint16_t code)
{
	const uint8_t *d;
	return opt_find(msg, len, code, &d);
}

/* The first EDE option's text of msg, "" when none. */
static const char *ede_text(const uint8_t *msg, size_t len, char *buf, size_t cap)
{
	const uint8_t *d;
	int l = opt_find(msg, len, EDNS_OPT_EDE, &d);
	size_t t = l > 2 ? (size_t)l - 2 : 0;
	if (t >= cap)
		t = cap - 1;
	memcpy(buf, l > 2 ? (const char *)d + 2 : "", t);
	buf[t] = 0;
	return buf;
}

/* The code of EDE option number i (0-based) of msg, -1 when there is none. */
static int ede_code_at(const uint8_t *msg, size_t len, int i)
{
	size_t off = WIRE_HDR_LEN;
	unsigned qd = wire_get16(msg + 4);
	unsigned rrs = (unsigned)wire_get16(msg + 6) + wire_get16(msg + 8) + wire_get16(msg + 10);
	for (unsigned k = 0; k < qd; k++)
		off = wire_skip_name(msg, len, off) + 4;
	for (unsigned k = 0; k < rrs; k++) {
		off = wire_skip_name(msg, len, off);
		if (!off || off + 10 > len)
			return -1;
		size_t rd = off + 10, end = rd + wire_get16(msg + off + 8);
		if (wire_get16(msg + off) == TYPE_OPT)
			for (size_t o = rd; o + 4 <= end; o += 4u + wire_get16(msg + o + 2))
				if (wire_get16(msg + o) == EDNS_OPT_EDE && i-- == 0)
					return wire_get16(msg + o + 4);
		off = end;
	}
	return -1;
}

/* An EDNS query (version 0, no options) from a UDP client */
static size_t ask_edns(const char *name, uint16_t type, uint16_t id, int *fwd)
{
	struct msg m;
	mkq(&m, id, WIRE_RD, name, type, CLASS_IN, 0);
	return ask_from("127.0.0.1", &m, fwd);
}

static void test_ede_codes(void)
{
	struct msg m, r;
	char t[80];
	int fwd = 0, s;
	size_t n;

	snapshot_pub_publish(&pub, build("azure"));
	query_engine_refresh(&qe);

	/* 22: every server of the group timed out, and the text says so */
	reset_capture();
	ask_edns("t1.fwd.test", TYPE_A, 800, &fwd);
	s = asked();
	ok(fwd && s >= 0, "22: forwarded to azure");
	advance_ms(UP_TIMEOUT_MS);
	ok(asked() == 1 - s && nsent == 0, "22: the other azure server after the first timeout");
	advance_ms(UP_TIMEOUT_MS);
	ok(nsent == 1 && rcode_of(sent[0]) == RCODE_SERVFAIL, "22: SERVFAIL after the second timeout");
	is_int(ede_code(sent[0], sent_len[0]), EDE_NO_REACHABLE_AUTHORITY, "22: No Reachable Authority");
	is_str(ede_text(sent[0], sent_len[0], t, sizeof t), "azure group: 2 servers timed out",
	       "22: the text counts the timeouts, names the group, no address");
	is_int(ede_code_at(sent[0], sent_len[0], 1), -1, "22: one EDE only");

	/* 22: one timed out, the other answered SERVFAIL */
	reset_capture();
	ask_edns("t2.fwd.test", TYPE_A, 801, &fwd);
	s = asked();
	advance_ms(UP_TIMEOUT_MS);
	int o = asked();
	if (o >= 0) {
		mkreply(o, &r, qid(o), RCODE_SERVFAIL, 0, 0, 0);
		reply_udp(o, &r);
	}
	ok(s >= 0 && o == 1 - s && nsent == 1 && rcode_of(sent[0]) == RCODE_SERVFAIL, "mixed: SERVFAIL");
	is_int(ede_code(sent[0], sent_len[0]), EDE_NO_REACHABLE_AUTHORITY, "mixed: 22 (an authority answered)");
	is_str(ede_text(sent[0], sent_len[0], t, sizeof t), "azure group: 1 timed out, 1 SERVFAIL/REFUSED",
	       "mixed: both causes counted");

	/* 22: both answered SERVFAIL/REFUSED */
	reset_capture();
	ask_edns("t3.fwd.test", TYPE_A, 802, &fwd);
	s = asked();
	if (s >= 0)
		fail_every_azure_server(s);
	is_str(ede_text(sent[0], sent_len[0], t, sizeof t), "azure group: 2 servers answered SERVFAIL/REFUSED",
	       "SERVFAIL and REFUSED: 22 with their count");

	/* 23: the only server's port is closed (ICMP port unreachable) */
	reset_capture();
	n = ask_edns("h.dead.test", TYPE_A, 803, &fwd);
	pump();
	ok(n == 0 && fwd && nsent == 1 && rcode_of(sent[0]) == RCODE_SERVFAIL,
	   "23: an unreachable server: SERVFAIL without waiting for a timer");
	is_int(ede_code(sent[0], sent_len[0]), EDE_NETWORK_ERROR, "23: Network Error");
	is_str(ede_text(sent[0], sent_len[0], t, sizeof t), "dead group: 1 server unreachable", "23: the text");

	/* 22: the only server is at its cap (max-outstanding 1): SERVFAIL at once */
	reset_capture();
	ask_edns("t5.tight.test", TYPE_A, 811, &fwd);
	s = asked();
	ok(fwd && s == 0, "caps: the first question is in flight");
	n = ask_edns("t6.tight.test", TYPE_A, 812, &fwd);
	ok(n > 0 && !fwd && rcode_of(out) == RCODE_SERVFAIL && ede_code(out, n) == EDE_NO_REACHABLE_AUTHORITY,
	   "caps: the second gets SERVFAIL at once, EDE 22");
	is_str(ede_text(out, n, t, sizeof t), "tight group: servers at their query caps", "caps: the text");
	if (s == 0) {
		mkreply(0, &r, qid(0), RCODE_NOERROR, 1, 60, 0);
		reply_udp(0, &r);
	}
	is_int(nsent, 1, "caps: the first is answered");

	/* no EDNS, no EDE: the same failure without an OPT */
	reset_capture();
	ask("h2.dead.test", TYPE_A, 804, &fwd);
	pump();
	ok(nsent == 1 && rcode_of(sent[0]) == RCODE_SERVFAIL && opt_len(sent[0], sent_len[0], EDNS_OPT_EDE) == -2,
	   "a client without EDNS: SERVFAIL with no OPT, so no EDE");

	/* 22 with the reason for a group without servers: REFUSED at once */
	n = ask_edns("x.nowhere.test", TYPE_A, 805, &fwd);
	ok(n > 0 && rcode_of(out) == RCODE_REFUSED && ede_code(out, n) == EDE_NO_REACHABLE_AUTHORITY,
	   "empty group: REFUSED, 22");
	is_str(ede_text(out, n, t, sizeof t), "empty group: no server configured", "empty group: the text");

	/* 18: the ACL */
	mkq(&m, 806, WIRE_RD, "www.local.test", TYPE_A, CLASS_IN, 0);
	n = ask_from("198.51.100.7", &m, &fwd);
	ok(n > 0 && rcode_of(out) == RCODE_REFUSED && ede_code(out, n) == EDE_PROHIBITED, "18: ACL refusal");

	/* an upstream's EDE on a good answer is passed on */
	reset_capture();
	ask_edns("t4.fwd.test", TYPE_A, 807, &fwd);
	s = asked();
	if (s >= 0) {
		mkreply(s, &r, qid(s), RCODE_NOERROR, 1, 300, 0);
		reply_add_upstream_opt(&r);
		reply_udp(s, &r);
	}
	ok(nsent == 1 && ede_code(sent[0], sent_len[0]) == EDE_OTHER &&
	   strcmp(ede_text(sent[0], sent_len[0], t, sizeof t), "up") == 0,
	   "the upstream's EDE (code and text) is passed on");

	/* 14: ARM configured, no zone synced yet: a catalogue name cannot be
	 * answered (azure has no reachable server here) */
	with_arm = 1;
	snapshot_pub_publish(&pub, build("azure"));
	with_arm = 0;
	query_engine_refresh(&qe);
	reset_capture();
	n = ask_edns("acct.privatelink.blob.core.windows.net", TYPE_A, 808, &fwd);
	pump();
	ok(n == 0 && fwd && nsent == 1 && rcode_of(sent[0]) == RCODE_SERVFAIL, "14: the catalogue name fails");
	is_int(ede_code_at(sent[0], sent_len[0], 0), EDE_NOT_READY, "14: Not Ready first");
	is_str(ede_text(sent[0], sent_len[0], t, sizeof t), "arm: no zone synced yet", "14: its text");
	is_int(ede_code_at(sent[0], sent_len[0], 1), EDE_NETWORK_ERROR, "14: then why the group failed");
	reset_capture();
	ask_edns("x.privatelink.contoso.test", TYPE_A, 813, &fwd);
	pump();
	ok(nsent == 1 && ede_code_at(sent[0], sent_len[0], 0) == EDE_NOT_READY &&
	   ede_code_at(sent[0], sent_len[0], 1) == EDE_NETWORK_ERROR,
	   "14: also for an admin rule's privatelink.* name");
	reset_capture();
	ask_edns("h3.dead.test", TYPE_A, 809, &fwd);
	pump();
	ok(nsent == 1 && ede_code(sent[0], sent_len[0]) == EDE_NETWORK_ERROR,
	   "14: not for a name synced zones cannot hold");

	snapshot_pub_publish(&pub, build("azure"));
	query_engine_refresh(&qe);
	reset_capture();
	ask_edns("acct.privatelink.blob.core.windows.net", TYPE_A, 810, &fwd);
	s = asked();
	if (s >= 0) {
		advance_ms(UP_TIMEOUT_MS);
		advance_ms(UP_TIMEOUT_MS);
	}
	ok(nsent == 1 && ede_code_at(sent[0], sent_len[0], 0) == EDE_NO_REACHABLE_AUTHORITY,
	   "without arm: no Not Ready, only 22");
}

static void test_ddr(void)
{
	struct msg m;
	int fwd = 0;
	size_t n;
	uint64_t local0 = qe.stats.answers_local;

	while (asked() != -1) /* queries left at the servers by earlier tests */
		;

	/* forward: resolver.arpa to default is configured, and ignored */
	n = ask_edns("_dns.resolver.arpa", TYPE_SVCB, 900, &fwd);
	ok(n > 0 && !fwd && rcode_of(out) == RCODE_NOERROR, "DDR: _dns.resolver.arpa SVCB answered at once, NOERROR");
	ok(n > 0 && wire_get16(out + 6) == 0 && wire_get16(out + 8) == 1, "DDR: NODATA with one authority record");
	ok(n > 0 && (flags_of(out) & (WIRE_AA | WIRE_RA | WIRE_RD)) == (WIRE_AA | WIRE_RA | WIRE_RD),
	   "DDR: AA and RA set, RD echoed");
	ok(n > 0 && opt_len(out, n, EDNS_OPT_EDE) == -1, "DDR: an OPT, no EDE (nothing degraded)");
	size_t off = wire_skip_name(out, n, WIRE_HDR_LEN) + 4;
	uint8_t owner[WIRE_MAX_NAME];
	int ol = wire_read_name(out, n, off, owner);
	ok(ol == 15 && memcmp(owner, "\10resolver\4arpa", 15) == 0 && wire_get16(out + wire_skip_name(out, n, off)) == TYPE_SOA,
	   "DDR: the SOA of resolver.arpa");
	is_int(asked(), -1, "DDR: no upstream was asked, although a forward rule names resolver.arpa");
	is_int(qe.stats.answers_local - local0, 1, "DDR: counted as a local answer");

	ask("Deep.Under.RESOLVER.arpa", TYPE_A, 901, &fwd);
	ok(rcode_of(out) == RCODE_NOERROR && wire_get16(out + 6) == 0 && wire_get16(out + 8) == 1 && !fwd,
	   "DDR: any name below resolver.arpa: NODATA");
	ok(memcmp(out + WIRE_HDR_LEN, "\4Deep\5Under\10RESOLVER\4arpa", 26) == 0, "DDR: the question in the client's case");
	ask("resolver.arpa", TYPE_SOA, 902, &fwd);
	ok(rcode_of(out) == RCODE_NOERROR && wire_get16(out + 6) == 1 && wire_get16(out + 8) == 0,
	   "DDR: the SOA at the apex is the answer");
	ask("notresolver.arpa", TYPE_A, 903, &fwd);
	ok(fwd, "DDR: notresolver.arpa is not resolver.arpa: forwarded");
	pump();
	asked();

	/* the cookie and NSID get added as to any local answer */
	mkq_edns(&m, 904, WIRE_RD, "_dns.resolver.arpa", TYPE_SVCB, CC, sizeof CC);
	static struct edns_cookie_keys keys;
	static const uint8_t secret[EDNS_COOKIE_SECRET_LEN] = {9};
	edns_cookie_keys_init(&keys, secret, EDNS_COOKIE_ROTATE_DEFAULT, clock_wall_s(&tclock.clock));
	qe.cookies = &keys;
	n = ask_from("127.0.0.1", &m, &fwd);
	qe.cookies = NULL;
	ok(n > 0 && opt_len(out, n, EDNS_OPT_COOKIE) == EDNS_COOKIE_LEN && (flags_of(out) & WIRE_AA),
	   "DDR: with a cookie: ours, and AA kept");
}

static void test_minimal_any(void)
{
	struct msg m;
	int fwd = 0;
	size_t n;

	mkq(&m, 950, WIRE_RD, "local.test", TYPE_ANY, CLASS_IN, 0);
	n = ask_from("127.0.0.1", &m, &fwd);
	ok(n > 0 && rcode_of(out) == RCODE_NOERROR && wire_get16(out + 6) == 1 && !(flags_of(out) & WIRE_TC),
	   "ANY over UDP at a local apex: one RRset (RFC 8482), no TC");
	struct client cl = client_at("127.0.0.1");
	cl.transport = CLIENT_TCP;
	cl.id = 951;
	wire_put16(m.b, 951);
	n = query_handle(&qe, m.b, m.n, &cl, out, sizeof(out), &fwd);
	ok(n > 0 && rcode_of(out) == RCODE_NOERROR && wire_get16(out + 6) == 2, "ANY over TCP: every RRset (SOA, NS)");

	/* forwarded ANY goes upstream as it came: the upstream's policy */
	reset_capture();
	n = ask("any.fwd.test", TYPE_ANY, 952, &fwd);
	int s = asked();
	ok(n == 0 && fwd && s >= 0, "ANY for a forwarded name is forwarded");
	if (s >= 0) {
		size_t qe_ = wire_skip_name(srv[s].q, srv[s].qlen, WIRE_HDR_LEN);
		is_int(wire_get16(srv[s].q + qe_), TYPE_ANY, "...as ANY");
		struct msg r;
		mkreply(s, &r, qid(s), RCODE_NOERROR, 1, 60, 0);
		reply_udp(s, &r);
	}
	is_int(nsent, 1, "...and its answer relayed");
}

/*
 * Forwarding loops (upstream/loop.h) through the query path, with the
 * daemon's shared guard: default's server is 127.0.0.1, and 127.0.0.0/8
 * may query plinkfwd, so a query from 127.0.0.1 is from a server of
 * default.  The clock never moves: the loop is answered at once.
 */
static void test_loops(void)
{
	struct loop_guard *g = NULL;
	struct msg m, r;
	char t[80];
	int fwd = 0;
	size_t n;

	ok(loop_guard_new(&tclock.clock, 0, &g) == FWD_OK, "loops: a guard shared by the workers");
	qe.loop = g;
	reset_capture();
	mkq(&m, 0x4001, WIRE_RD, "round.example", TYPE_A, CLASS_IN, 0);
	n = ask_from("127.0.0.9", &m, &fwd);
	ok(n == 0 && fwd == 1 && asked() == 2, "loops: a client's question goes to default's server");
	/* the server sends that very question back (in its own case) */
	mkq(&m, 0x4002, WIRE_RD, "ROUND.Example", TYPE_A, CLASS_IN, 0);
	n = ask_from("127.0.0.1", &m, &fwd);
	ok(n > 0 && fwd == 0 && rcode_of(out) == RCODE_SERVFAIL,
	   "loops: it comes back from the group's server while in flight: SERVFAIL at once");
	is_int(ede_code(out, n), EDE_NO_REACHABLE_AUTHORITY, "loops: EDE 22");
	is_str(ede_text(out, n, t, sizeof t), "forwarding loop via group default", "loops: its text");
	ok(asked() == -1, "loops: nothing sent upstream for it");
	ok(loop_group_detected(g, "default") == 1, "loops: counted for default");
	/* the server gives up on it: the question plinkfwd asked fails */
	mkreply(2, &r, qid(2), RCODE_SERVFAIL, 0, 0, 0);
	reply_udp(2, &r);
	ok(nsent == 1 && rcode_of(sent[0]) == RCODE_SERVFAIL, "loops: the first client gets SERVFAIL");
	is_str(ede_text(sent[0], sent_len[0], t, sizeof t), "forwarding loop via group default",
	       "loops: ... saying why, first");
	/* nothing in flight now: the same question from the server is a
	 * first lap, forwarded (and answered) as any other */
	reset_capture();
	mkq(&m, 0x4003, WIRE_RD, "round.example", TYPE_A, CLASS_IN, 0);
	n = ask_from("127.0.0.1", &m, &fwd);
	ok(n == 0 && fwd == 1 && asked() == 2, "loops: not in flight: the server's question is forwarded");
	mkq(&m, 0x4004, WIRE_RD, "round.example", TYPE_A, CLASS_IN, 0);
	n = ask_from("127.0.0.9", &m, &fwd);
	ok(n == 0 && fwd == 1 && asked() == -1, "loops: a client that is no server joins the question in flight");
	mkreply(2, &r, qid(2), RCODE_NOERROR, 1, 60, 0);
	reply_udp(2, &r);
	ok(nsent == 2 && rcode_of(sent[0]) == RCODE_NOERROR && rcode_of(sent[1]) == RCODE_NOERROR,
	   "loops: both answered");
	is_int(ede_code(sent[1], sent_len[1]), -1, "loops: no EDE on an answer");
	/* azure's servers are on 127.0.0.1 too, but round.example goes to default:
	 * the same question to another group is no loop */
	ok(loop_group_detected(g, "default") == 1 && loop_group_detected(g, "azure") == 0,
	   "loops: still one loop counted");
	qe.loop = NULL;
	loop_guard_free(g);
}

int main(void)
{
	if (!mkdtemp(dir))
		return 1;
	log_set_level(LOG_LVL_ERR);
	for (int i = 0; i < NSERVERS; i++)
		server_open(&srv[i]);
	{
		/* a port that was free a moment ago: nothing answers there, the
		 * kernel says so with ICMP port unreachable */
		struct server d;
		server_open(&d);
		dead_port = d.port;
		close(d.udp);
		close(d.tcp);
	}
	fwd_test_clock_init(&tclock, 1000 * SEC);
	base = event_base_new();
	cache = cache_new(1 << 20, 1);
	if (!base || !cache || snapshot_pub_init(&pub) != FWD_OK)
		return 1;
	snapshot_pub_publish(&pub, build("azure"));
	ok(query_engine_init(&qe, base, &pub, &tclock.clock, cache, 64) == FWD_OK, "engine without sockets");
	query_engine_set_send(&qe, capture, NULL);

	test_bad_input();
	test_good_reply_and_cache();
	test_mismatch_ignored();
	test_timeout_failover();
	test_tc_retry_over_tcp();
	test_malformed_reply();
	test_tc_over_tcp_fails();
	test_chain_too_deep();
	test_stale_window();
	test_fallback_and_reload();
	test_rate_limited_warning();
	test_query_budget();
	test_edns_hop_by_hop();
	test_ede_codes();
	test_ddr();
	test_minimal_any();
	test_loops();

	query_engine_fini(&qe);
	snapshot_pub_fini(&pub);
	cache_free(cache);
	event_base_free(base);
	for (int i = 0; i < NSERVERS; i++) {
		close(srv[i].udp);
		close(srv[i].tcp);
	}
	rmdir(dir);
	return tap_done();
}
