/*
 * test_upstream.c -- the forwarding engine (upstream.c) driven directly,
 * against real DNS responders on loopback.
 *
 * Not run by itself: tests/integration/t_health.sh starts the responders
 * (peers/forward/responder.py) inside a private network namespace and runs
 * this program with their log directory as argv[1]:
 *   127.0.0.31@5301  answers at once          (log good.log)
 *   127.0.0.32@5301  answers after 300 ms     (log slow300.log)
 *   127.0.0.33@5301  never answers            (log silent.log)
 *   127.0.0.34@5301  answers after 100 ms     (log slow100.log)
 *   127.0.0.35@5301  answers at once          (log good2.log)
 * Each section uses its own config (struct cfg built here) and its own
 * engine instance, so that health learnt in one does not leak into another.
 *
 * No assertion depends on how long anything took: what happened is read
 * from the responders' query logs (who was asked, how often) and from the
 * engine's own counters (attempts, timeouts, probes, per-server health).
 * Real time only bounds waiting (wait_for gives up after a generous limit)
 * and makes time pass where a timer must fire (pause_ms), which a busy
 * machine can only lengthen.  The token bucket of upstream-max-qps runs on
 * a clock the test drives.  How long a timeout waits is asserted in virtual
 * time by test_query.c.
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "clock.h"
#include "common.h"
#include "config.h"
#include "log.h"
#include "snapshot.h"
#include "tap.h"
#include "upstream.h"
#include "wire.h"

#define NRES 700
/* the most any wait_for() waits: a bound, never a verdict */
#define WAIT_MS 30000

struct result {
	int called;
	enum upstream_status st;
	uint8_t reply[4096];
	size_t len;
	uint16_t q_id;
};

struct drv {
	struct event_base *base;
	struct upstream *u;
	struct snapshot *snap;
	struct result res[NRES];
	int again_idx;   /* when this index completes, forward its question again */
	int again_rc;
	const char *logdir;
};

static struct drv D;

static struct cfg_upstream G[8];
static struct cfg_addr A[32];
static struct cfg_caps K[32]; /* each server's caps, parallel to A; 0 = no cap */
static size_t na;

static void addr(struct cfg_addr *a, const char *host, int port)
{
	struct sockaddr_in *s4 = (struct sockaddr_in *)&a->ss;
	memset(a, 0, sizeof *a);
	s4->sin_family = AF_INET;
	s4->sin_port = htons((uint16_t)port);
	inet_pton(AF_INET, host, &s4->sin_addr);
	a->len = sizeof *s4;
}

/* group i: space-separated IPv4 addresses, all on port 5301 */
static void group(size_t i, const char *name, const char *servers)
{
	char tmp[256], *save = NULL, *tok;
	G[i].name = (char *)name;
	G[i].servers = &A[na];
	G[i].caps = &K[na];
	G[i].nservers = 0;
	snprintf(tmp, sizeof tmp, "%s", servers);
	for (tok = strtok_r(tmp, " ", &save); tok; tok = strtok_r(NULL, " ", &save)) {
		addr(&A[na++], tok, 5301);
		G[i].nservers++;
	}
}

enum { G_GOOD, G_SLOW, G_PAIR, G_SILENT, G_SRTT, G_GOOD2 };

static struct cfg C;
static struct snapshot S;

static void setup(int up_timeout, int q_timeout)
{
	memset(&C, 0, sizeof C);
	memset(&S, 0, sizeof S);
	memset(K, 0, sizeof K);
	na = 0;
	group(G_GOOD, "good", "127.0.0.31");
	group(G_SLOW, "slow", "127.0.0.32");
	group(G_PAIR, "pair", "127.0.0.33 127.0.0.35");
	group(G_SILENT, "silent", "127.0.0.33");
	group(G_SRTT, "srtt", "127.0.0.34 127.0.0.31");
	group(G_GOOD2, "good2", "127.0.0.35");
	C.upstreams = G;
	C.nupstreams = 6;
	C.workers = 1;
	C.upstream_timeout_ms = up_timeout;
	C.query_timeout_ms = q_timeout;
	C.upstream_down_after = 3;
	C.upstream_probe_interval_ms = 5000;
	C.upstream_socket_reuse = 64;
	S.cfg = &C;
	atomic_init(&S.refs, 1);
	D.snap = &S;
}

static int mkquery(uint8_t *buf, uint16_t id, const char *name, int edns_do, struct wire_query *q)
{
	size_t off = 12;
	const char *p = name;

	memset(buf, 0, 12);
	wire_put16(buf, id);
	buf[2] = 0x01; /* RD */
	buf[5] = 1;
	while (*p) {
		const char *dot = strchr(p, '.');
		size_t l = dot ? (size_t)(dot - p) : strlen(p);
		if (l == 0)
			break;
		buf[off++] = (uint8_t)l;
		memcpy(buf + off, p, l);
		off += l;
		p += l + (dot ? 1 : 0);
	}
	buf[off++] = 0;
	wire_put16(buf + off, 1);
	wire_put16(buf + off + 2, 1);
	off += 4;
	if (edns_do >= 0) {
		uint8_t opt[11] = { 0, 0, 41, 0x04, 0xd0, 0, 0, (uint8_t)(edns_do ? 0x80 : 0), 0, 0, 0 };
		buf[11] = 1;
		memcpy(buf + off, opt, sizeof opt);
		off += sizeof opt;
	}
	if (wire_parse_query(buf, off, q) != WIRE_OK)
		return -1;
	return (int)off;
}

/* The context each query carries through the engine: its result slot. */
struct qctx {
	int idx;
};

static void done_cb(void *arg, const void *ctx, enum upstream_status st, uint8_t *reply, size_t len,
		    const struct wire_query *wq)
{
	struct drv *d = arg;
	const struct qctx *c = ctx;
	struct result *r = &d->res[c->idx];

	r->called++;
	r->st = st;
	r->len = len < sizeof r->reply ? len : 0;
	if (reply && r->len)
		memcpy(r->reply, reply, r->len);
	r->q_id = wire_get16(wq->pkt);
	if (c->idx == d->again_idx) {
		/* the same question again, from inside done(): it must start a
		 * new upstream query, not join the one completing now */
		uint8_t b[512];
		struct wire_query q;
		struct qctx c2 = { c->idx + 1 };
		mkquery(b, 4242, "again.coal.test.", -1, &q);
		d->again_rc = upstream_send(d->u, d->snap, G_SLOW, &q, 0, &c2, sizeof c2);
	}
}

static int start_q(int idx, size_t grp, const char *name, uint16_t id, int edns_do, int tcp)
{
	uint8_t b[512];
	struct wire_query q;
	struct qctx c = { idx };

	if (mkquery(b, id, name, edns_do, &q) < 0)
		return FWD_EINVAL;
	memset(&D.res[idx], 0, sizeof D.res[idx]);
	return upstream_send(D.u, D.snap, grp, &q, tcp, &c, sizeof c);
}

static int start(int idx, size_t grp, const char *name)
{
	return start_q(idx, grp, name, (uint16_t)(1000 + idx), -1, 0);
}

/* Run the loop until queries from..to-1 all completed, or WAIT_MS passed
 * (a bound on waiting: the callers then assert on what completed). */
static void wait_for(int from, int to)
{
	uint64_t t0 = clock_ms(&fwd_clock_monotonic);
	for (;;) {
		int i, all = 1;
		for (i = from; i < to; i++)
			all &= D.res[i].called > 0;
		if (all || clock_ms(&fwd_clock_monotonic) - t0 > WAIT_MS)
			return;
		event_base_loop(D.base, EVLOOP_ONCE);
	}
}

/* run one query to completion; 0 when it was accepted and completed */
static int run1(int idx, size_t grp, const char *name)
{
	if (start(idx, grp, name) != 0)
		return -1;
	wait_for(idx, idx + 1);
	return D.res[idx].called ? 0 : -1;
}

static void pause_ms(int ms)
{
	struct timeval tv = { ms / 1000, (ms % 1000) * 1000 };
	event_base_loopexit(D.base, &tv);
	event_base_dispatch(D.base);
}

static int lines(const char *log)
{
	char path[512], line[512];
	FILE *f;
	int n = 0;

	snprintf(path, sizeof path, "%s/%s", D.logdir, log);
	f = fopen(path, "r");
	if (!f)
		return 0;
	while (fgets(line, sizeof line, f))
		n++;
	fclose(f);
	return n;
}

static const char *first_a(const struct result *r, char *buf)
{
	size_t off;
	uint16_t an;

	buf[0] = 0;
	if (r->len < 12)
		return buf;
	an = wire_get16(r->reply + 6);
	off = wire_skip_name(r->reply, r->len, 12) + 4;
	for (; an > 0; an--) {
		uint16_t t, rdl;
		off = wire_skip_name(r->reply, r->len, off);
		if (!off || off + 10 > r->len)
			return buf;
		t = wire_get16(r->reply + off);
		rdl = wire_get16(r->reply + off + 8);
		off += 10;
		if (t == 1 && rdl == 4) {
			inet_ntop(AF_INET, r->reply + off, buf, 16);
			return buf;
		}
		off += rdl;
	}
	return buf;
}

/* the question name of a reply, as text, case kept */
static const char *reply_qname(const struct result *r, char *buf, size_t cap)
{
	buf[0] = 0;
	if (r->len < 13)
		return buf;
	return wire_name_to_text(r->reply + 12, buf, cap);
}

static void new_engine(size_t slots)
{
	D.u = upstream_new(D.base, &fwd_clock_monotonic, slots, done_cb, &D);
}

/* an engine on a clock the test drives (the qps token bucket reads it) */
static struct fwd_test_clock TC;
static void new_engine_tc(size_t slots)
{
	fwd_test_clock_init(&TC, 1000000000ull);
	D.u = upstream_new(D.base, &TC.clock, slots, done_cb, &D);
}

static struct upstream_stats stats(void)
{
	struct upstream_stats st;
	upstream_get_stats(D.u, &st);
	return st;
}

/* health of one server address as the engine sees it */
static struct upstream_server_info server_info(const char *host)
{
	struct upstream_server_info info[16], none;
	struct cfg_addr a;
	size_t i, n = upstream_servers(D.u, info, 16);

	addr(&a, host, 5301);
	for (i = 0; i < n && i < 16; i++)
		if (info[i].addrlen == a.len && memcmp(&info[i].addr, &a.ss, a.len) == 0)
			return info[i];
	memset(&none, 0, sizeof none);
	return none;
}

static void t_basic(void)
{
	char a[64], nm[300];

	setup(500, 1500);
	new_engine(64);
	ok(D.u != NULL, "upstream_new");
	run1(0, G_GOOD, "Www.Example.");
	ok(D.res[0].called == 1 && D.res[0].st == UPSTREAM_OK, "plain query answered");
	is_int(wire_get16(D.res[0].reply), 1000, "reply carries the client's ID");
	is_int(D.res[0].q_id, 1000, "query handed back with the client's ID");
	is_str(first_a(&D.res[0], a), "192.0.2.31", "the responder's answer");
	is_str(reply_qname(&D.res[0], nm, sizeof nm), "Www.Example.", "question case kept");
	/* sequential queries share one pooled socket */
	run1(1, G_GOOD, "a.example.");
	run1(2, G_GOOD, "b.example.");
	run1(3, G_GOOD, "c.example.");
	is_int(stats().sockets, 1, "four sequential queries to one server: one UDP socket (reused)");
	is_int(stats().sent, 4, "four attempts sent");
	is_int(stats().answered, 4, "four replies accepted");
	is_int(atomic_load(&S.refs), 1, "every snapshot reference dropped");
	upstream_free(D.u);

	/* upstream-socket-reuse: 1 -> a new socket (port) per query */
	setup(500, 1500);
	C.upstream_socket_reuse = 1;
	new_engine(64);
	run1(0, G_GOOD, "d.example.");
	run1(1, G_GOOD, "e.example.");
	run1(2, G_GOOD, "f.example.");
	is_int(stats().sockets, 3, "upstream-socket-reuse 1: one socket per query");
	upstream_free(D.u);
}

static void t_coalesce(void)
{
	static const char *cases[] = { "x.coal.test.", "X.COAL.TEST.", "x.Coal.Test.", "X.coal.TEST." };
	int before, i, idok = 0, qidok = 0, caseok = 0, okst = 0, once = 0;
	char nm[300];

	setup(1000, 3000);
	new_engine(512);
	before = lines("slow300.log");
	for (i = 0; i < 10; i++)
		start_q(10 + i, G_SLOW, cases[i % 4], (uint16_t)(2000 + i), -1, 0);
	is_int(upstream_pending(D.u), 10, "10 identical queries pending");
	is_int(stats().coalesced, 9, "9 of them joined the first");
	is_int(stats().sent, 1, "one upstream attempt for 10 identical queries");
	wait_for(10, 20);
	for (i = 0; i < 10; i++) {
		struct result *r = &D.res[10 + i];
		once += r->called == 1;
		okst += r->st == UPSTREAM_OK;
		idok += wire_get16(r->reply) == 2000 + i;
		qidok += r->q_id == 2000 + i;
		caseok += strcmp(reply_qname(r, nm, sizeof nm), cases[i % 4]) == 0;
	}
	is_int(once, 10, "coalesced: done() exactly once per client");
	is_int(okst, 10, "coalesced: every client answered");
	is_int(idok, 10, "coalesced: each reply carries its own client's ID");
	is_int(qidok, 10, "coalesced: each query handed back with its own ID");
	is_int(caseok, 10, "coalesced: each reply echoes its own client's question case");
	is_int(lines("slow300.log") - before, 1, "coalesced: the responder saw one query");
	is_int(upstream_pending(D.u), 0, "nothing pending afterwards");

	/* what must not be coalesced: DO bit, group, transport.  A client
	 * without EDNS and one with DO=0 do join: EDNS is hop-by-hop, so both
	 * go upstream with plinkfwd's own OPT record, DO clear (docs/edns.md) */
	before = stats().sent;
	start_q(30, G_SLOW, "y.coal.test.", 3000, -1, 0);
	start_q(31, G_SLOW, "y.coal.test.", 3001, 0, 0);
	start_q(32, G_SLOW, "y.coal.test.", 3002, 1, 0);
	start_q(33, G_GOOD, "y.coal.test.", 3003, -1, 0);
	start_q(34, G_SLOW, "y.coal.test.", 3004, -1, 1);
	start_q(35, G_SLOW, "Y.coal.test.", 3005, 1, 0);
	is_int(stats().sent - before, 4, "no EDNS and DO=0 (one query) / DO=1 / other group / TCP: four upstream queries");
	is_int(stats().coalesced, 9 + 2, "DO=0 joined no-EDNS, the second DO=1 query joined the first DO=1 one");
	wait_for(30, 36);
	for (i = 30, once = 0; i < 36; i++)
		once += D.res[i].called == 1 && D.res[i].st == UPSTREAM_OK;
	is_int(once, 6, "all six answered");

	/* 300 identical: one leader takes 256 waiters, the next one the rest */
	before = stats().sent;
	for (i = 0; i < 300; i++)
		start_q(100 + i, G_SLOW, "z.coal.test.", (uint16_t)(5000 + i), -1, 0);
	is_int(stats().sent - before, 2, "300 identical queries: two upstream queries (256 waiters each at most)");
	wait_for(100, 400);
	for (i = 100, once = 0, idok = 0; i < 400; i++) {
		once += D.res[i].called == 1 && D.res[i].st == UPSTREAM_OK;
		idok += wire_get16(D.res[i].reply) == 5000 + i - 100;
	}
	is_int(once, 300, "300 identical queries: all answered once");
	is_int(idok, 300, "300 identical queries: each with its own ID");

	/* done() forwarding the same question again starts a new query */
	D.again_idx = 500;
	before = stats().sent;
	start_q(500, G_SLOW, "again.coal.test.", 4000, -1, 0);
	start_q(502, G_SLOW, "again.coal.test.", 4001, -1, 0);
	wait_for(500, 501);
	is_int(D.again_rc, 0, "send from inside done() accepted");
	is_int(D.res[501].called, 0, "... and not completed inside done()");
	wait_for(501, 502);
	D.again_idx = -1;
	ok(D.res[501].called == 1 && D.res[501].st == UPSTREAM_OK, "... answered by its own upstream query");
	is_int(D.res[502].called, 1, "the waiter of the first one answered once");
	is_int(stats().sent - before, 2, "two upstream queries for the question asked again");

	/* freeing with a leader and waiters in flight */
	start_q(600, G_SLOW, "free.coal.test.", 6000, -1, 0);
	start_q(601, G_SLOW, "free.coal.test.", 6001, -1, 0);
	start_q(602, G_SLOW, "free.coal.test.", 6002, -1, 1);
	is_int(atomic_load(&S.refs), 4, "3 pending queries hold 3 snapshot references");
	upstream_free(D.u);
	is_int(atomic_load(&S.refs), 1, "upstream_free drops them");
	event_base_loop(D.base, EVLOOP_NONBLOCK);
	ok(D.res[600].called + D.res[601].called + D.res[602].called == 0, "freed queries get no done()");
}

static void t_caps(void)
{
	int i, rc, okc = 0;

	/* outstanding: 3 at a time to a 300 ms server */
	setup(1000, 3000);
	G[G_SLOW].caps[0].max_outstanding = 3;
	new_engine(64);
	for (i = 0; i < 3; i++)
		is_int(start(i, G_SLOW, i == 0 ? "o1.cap.test." : i == 1 ? "o2.cap.test." : "o3.cap.test."), 0,
		       "outstanding cap 3: query accepted");
	rc = start(3, G_SLOW, "o4.cap.test.");
	is_int(rc, FWD_EFULL, "outstanding cap 3: the 4th distinct query refused at once (FWD_EFULL)");
	is_int(D.res[3].called, 0, "refused query: no done()");
	is_int(stats().capped, 1, "counted as capped");
	rc = start(4, G_SLOW, "o1.cap.test.");
	is_int(rc, 0, "a query identical to one in flight still joins it (no new upstream query)");
	wait_for(0, 3);
	wait_for(4, 5);
	is_int(start(5, G_SLOW, "o5.cap.test."), 0, "after the replies: accepted again");
	wait_for(5, 6);
	upstream_free(D.u);

	/* the cap is divided among the workers */
	setup(1000, 3000);
	G[G_SLOW].caps[0].max_outstanding = 6;
	C.workers = 2;
	new_engine(64);
	for (i = 0, okc = 0; i < 5; i++) {
		char nm[64];
		snprintf(nm, sizeof nm, "w%d.cap.test.", i);
		okc += start(10 + i, G_SLOW, nm) == 0;
	}
	is_int(okc, 3, "outstanding cap 6 with 2 workers: 3 per worker");
	pause_ms(400);
	upstream_free(D.u);

	/* qps: 20 per second, a burst of 2.  The token bucket reads the
	 * engine's clock: here one the test drives, so "at once" and "120 ms
	 * later" are exact whatever the machine does meanwhile. */
	setup(1000, 3000);
	G[G_GOOD].caps[0].max_qps = 20;
	new_engine_tc(64);
	is_int(start(20, G_GOOD, "q1.cap.test."), 0, "qps cap 20: 1st accepted");
	is_int(start(21, G_GOOD, "q2.cap.test."), 0, "qps cap 20: 2nd accepted (burst of 2)");
	is_int(start(22, G_GOOD, "q3.cap.test."), FWD_EFULL, "qps cap 20: 3rd at once refused");
	wait_for(20, 22);
	ok(D.res[20].st == UPSTREAM_OK && D.res[21].st == UPSTREAM_OK, "qps cap 20: the two accepted are answered");
	fwd_test_clock_advance(&TC, 49000);
	is_int(start(24, G_GOOD, "q5.cap.test."), FWD_EFULL, "qps cap 20: 49 ms later (test clock): still refused");
	fwd_test_clock_advance(&TC, 71000);
	is_int(start(23, G_GOOD, "q4.cap.test."), 0, "qps cap 20: 120 ms later (test clock): accepted again");
	wait_for(23, 24);
	/* 1.5 s of the test clock in 2 ms steps: at most 20 a second (plus
	 * the token left from the burst) get through */
	{
		int sent = 0, n = 0, step;
		for (step = 0; step < 750; step++) {
			char nm[64];
			snprintf(nm, sizeof nm, "r%d.cap.test.", n);
			if (start(30 + (n % 100), G_GOOD, nm) == 0)
				sent++;
			n++;
			event_base_loop(D.base, EVLOOP_NONBLOCK);
			fwd_test_clock_advance(&TC, 2000);
		}
		ok(sent >= 30 && sent <= 31, "qps cap 20: %d of %d queries in 1.5 s (test clock) got through", sent, n);
		is_int(stats().capped, (uint64_t)(n - sent) + 2, "qps cap 20: every other one counted as capped");
	}
	pause_ms(100);
	upstream_free(D.u);
}

static void t_health(void)
{
	int i, silent0, fast = 0, slowc, before;
	uint64_t to0, probes0;
	char a[64];
	struct upstream_server_info si, si2;

	/* pair: silent + good2.  down-after 2, upstream-timeout 500 ms (well
	 * above what a busy machine adds to a reply; "at once" is below 300) */
	setup(500, 2000);
	C.upstream_down_after = 2;
	C.upstream_probe_interval_ms = 1500;
	new_engine(64);
	silent0 = lines("silent.log");
	/* neither server measured yet: 16 queries at once spread over both */
	for (i = 0; i < 16; i++) {
		char nm[64];
		snprintf(nm, sizeof nm, "d%d.health.test.", i);
		start(40 + i, G_PAIR, nm);
	}
	wait_for(40, 56);
	for (i = 40, fast = 0; i < 56; i++)
		fast += D.res[i].st == UPSTREAM_OK;
	is_int(fast, 16, "16 queries, some to a silent server: all answered (failover)");
	is_int(stats().marked_down, 1, "silent server marked down");
	ok(lines("silent.log") - silent0 >= 2, "... after %d queries it did not answer", lines("silent.log") - silent0);
	si = server_info("127.0.0.33");
	ok(si.down == 1 && si.fails >= 2, "server info: down, %u failures in a row", si.fails);
	/* "without waiting": no attempt timed out, every answer came from the
	 * live server (not from the down one after a wait), the down server
	 * got nothing.  A probe interval of 1500 ms cannot pass unnoticed
	 * here: a probe would show in the probes counter and in silent.log. */
	fast = 0;
	silent0 = lines("silent.log");
	to0 = stats().timeouts;
	probes0 = stats().probes;
	si = server_info("127.0.0.35");
	for (i = 0; i < 10; i++) {
		char nm[64];
		snprintf(nm, sizeof nm, "after%d.health.test.", i);
		run1(60 + i, G_PAIR, nm);
		fast += D.res[60 + i].st == UPSTREAM_OK && strcmp(first_a(&D.res[60 + i], a), "192.0.2.35") == 0;
	}
	if (stats().probes == probes0) {
		is_int(fast, 10, "down server avoided: 10 queries answered by the live server");
		is_int(stats().timeouts - to0, 0, "... without waiting: no attempt timed out");
		is_int(lines("silent.log") - silent0, 0, "... and none of them went to the down server");
		si2 = server_info("127.0.0.35");
		is_int(si2.answered - si.answered, 10, "... the live server answered all 10");
	} else {
		/* the machine stalled past the probe interval: one of them was
		 * the probe, which is allowed to wait; the rest are not */
		is_int(fast, 10, "down server avoided: 10 queries answered by the live server");
		is_int(stats().probes - probes0, 1, "(a stall let the probe interval pass: one probe)");
		is_int(stats().timeouts - to0, 1, "... only the probe timed out");
		is_int(lines("silent.log") - silent0, 1, "... and only the probe went to the down server");
		silent0 = lines("silent.log");
	}
	/* after the probe interval one query probes it (and fails over) */
	pause_ms(1600);
	silent0 = lines("silent.log");
	before = (int)stats().probes;
	to0 = stats().timeouts;
	si = server_info("127.0.0.33");
	run1(80, G_PAIR, "probe.health.test.");
	is_int(stats().probes - before, 1, "after the probe interval: one probe");
	is_int(lines("silent.log") - silent0, 1, "... which reached the down server");
	is_int(stats().timeouts - to0, 1, "... and timed out there");
	si2 = server_info("127.0.0.33");
	ok(si2.timeouts - si.timeouts == 1 && si2.answered == si.answered, "... (the down server's own counters: one timeout, no answer)");
	ok(D.res[80].st == UPSTREAM_OK && strcmp(first_a(&D.res[80], a), "192.0.2.35") == 0,
	   "... and the client still got its answer, from the other server");
	to0 = stats().timeouts;
	run1(81, G_PAIR, "noprobe.health.test.");
	ok(D.res[81].st == UPSTREAM_OK && stats().probes - before == 1 && lines("silent.log") - silent0 == 1,
	   "the next query does not probe again");
	is_int(stats().timeouts - to0, 0, "... and waits for no timeout");
	upstream_free(D.u);

	/* a group whose only server is down: queries are still tried */
	setup(200, 500);
	C.upstream_down_after = 1;
	new_engine(64);
	silent0 = lines("silent.log");
	run1(90, G_SILENT, "s1.health.test.");
	is_int(D.res[90].st, UPSTREAM_FAILED, "only server silent: FAILED");
	is_int(stats().marked_down, 1, "... and marked down");
	to0 = stats().timeouts;
	run1(91, G_SILENT, "s2.health.test.");
	is_int(D.res[91].st, UPSTREAM_FAILED, "every server down: FAILED in the end");
	ok(lines("silent.log") - silent0 == 2 && stats().timeouts - to0 == 1,
	   "every server down: the query is still sent and times out, not failed untried");
	upstream_free(D.u);

	/* SRTT: a 100 ms server and an immediate one */
	setup(1000, 3000);
	new_engine(64);
	slowc = lines("slow100.log");
	for (i = 0; i < 40; i++) {
		char nm[64];
		snprintf(nm, sizeof nm, "s%d.srtt.test.", i);
		run1(100 + i, G_SRTT, nm);
	}
	slowc = lines("slow100.log") - slowc;
	ok(slowc >= 1 && slowc <= 8, "SRTT: the 100 ms server got %d of 40 queries (measured, then mostly avoided)",
	   slowc);
	si = server_info("127.0.0.34");
	si2 = server_info("127.0.0.31");
	/* a server that waits 100 ms before replying cannot have a smaller RTT
	 * (a busy machine only adds to it); the other is compared, not timed */
	ok(si.srtt_us >= 90000, "SRTT of the 100 ms server: %u us, about its delay or more", si.srtt_us);
	ok(si2.srtt_us > 0 && si2.srtt_us < si.srtt_us, "SRTT of the immediate server: %u us, below the other's",
	   si2.srtt_us);
	upstream_free(D.u);
}

int main(int argc, char **argv)
{
	D.logdir = argc > 1 ? argv[1] : ".";
	D.again_idx = -1;
	log_set_level(getenv("UPSTREAM_DEBUG") ? LOG_LVL_DEBUG : LOG_LVL_ERR);
	D.base = event_base_new();
	if (!D.base) {
		printf("Bail out! no event base\n");
		return 1;
	}
	t_basic();
	t_coalesce();
	t_caps();
	t_health();
	event_base_free(D.base);
	return tap_done();
}
