/*
 * test_xfr_in.c -- secondary zones without a network: the SOA timers on a
 * test clock (refresh, retry, expire, NOTIFY, a saved copy's age), RFC 1982
 * serials, the transfer-in parser's rejection rules, IXFR application, and
 * the copy in state-dir, the primary: key and NOTIFY answers.  Messages are
 * built with ldns.
 */
#include <ldns/ldns.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <netinet/in.h>

#include "cfg_secondary.h"
#include "clock.h"
#include "route.h"
#include "snapshot.h"
#include "zone.h"
#include "tsig.h"
#include "xfr_in.h"
#include <event2/event.h>
#include "config.h"
#include "soa_timer.h"
#include "tap.h"
#include "xfr_in_msg.h"
#include "xfr_in_store.h"

#define Z "x.test."
#define S(n) "x.test. 300 IN SOA ns.x.test. h.x.test. " #n " 100 20 300 60"

/* ------------------------------------------------------------ timers */

static void test_timers(void)
{
	struct fwd_test_clock tc;
	struct soa_timer t;
	fwd_test_clock_init(&tc, 5000000); /* 5 s in: the origin means nothing */
	uint64_t t0 = clock_ms(&tc.clock);

	soa_timer_init(&t, t0);
	is_int(soa_timer_next(&t), t0, "no copy: a check is due at once");
	is_int(soa_timer_left(&t, t0) == UINT64_MAX, 1, "no copy: no expiry");
	soa_timer_failed(&t, t0);
	is_int(t.next_check - t0, SOA_TIMER_NOCOPY_RETRY_MS, "no copy, failed: first back-off");
	soa_timer_failed(&t, t0);
	is_int(t.next_check - t0, 2 * SOA_TIMER_NOCOPY_RETRY_MS, "... doubles");
	for (int i = 0; i < 20; i++)
		soa_timer_failed(&t, t0);
	is_int(t.next_check - t0, SOA_TIMER_NOCOPY_MAX_MS, "... up to its ceiling");

	/* refresh 100 s, retry 20 s, expire 300 s */
	soa_timer_ok(&t, t0, 100, 20, 300);
	is_int(soa_timer_next(&t), t0 + 100000, "after a good check: next at refresh");
	fwd_test_clock_advance(&tc, 99999 * 1000);
	ok(clock_ms(&tc.clock) < soa_timer_next(&t), "1 ms before refresh: not due");
	fwd_test_clock_advance(&tc, 1000);
	is_int(clock_ms(&tc.clock), soa_timer_next(&t), "at refresh: due");
	soa_timer_failed(&t, clock_ms(&tc.clock));
	is_int(soa_timer_next(&t), t0 + 120000, "a failed check: retry 20 s later");
	fwd_test_clock_advance(&tc, 20000 * 1000);
	soa_timer_failed(&t, clock_ms(&tc.clock));
	is_int(soa_timer_next(&t), t0 + 140000, "failed again: another retry");
	is_int(soa_timer_left(&t, clock_ms(&tc.clock)), 180000, "180 s to expiry");
	fwd_test_clock_advance(&tc, 179999 * 1000);
	is_int(soa_timer_expire(&t, clock_ms(&tc.clock)), 0, "1 ms before expire: not expired");
	is_int(soa_timer_left(&t, clock_ms(&tc.clock)), 1, "1 ms left");
	fwd_test_clock_advance(&tc, 1000);
	is_int(soa_timer_expire(&t, clock_ms(&tc.clock)), 1, "at expire (300 s after the last good check): expired");
	is_int(t.expired, 1, "marked expired");
	is_int(soa_timer_left(&t, clock_ms(&tc.clock)), 0, "0 s left");
	soa_timer_ok(&t, clock_ms(&tc.clock), 100, 20, 300);
	is_int(t.expired, 0, "a good check revives it");
	is_int(soa_timer_left(&t, clock_ms(&tc.clock)), 300000, "with a whole expire period");

	/* the next event is the earlier of check and expiry */
	soa_timer_ok(&t, clock_ms(&tc.clock), 1000, 20, 300);
	is_int(soa_timer_next(&t), clock_ms(&tc.clock) + 300000, "expire before refresh: the timer wakes for expiry");
	soa_timer_notify(&t, clock_ms(&tc.clock));
	is_int(soa_timer_next(&t), clock_ms(&tc.clock), "NOTIFY: a check is due at once");

	/* floors */
	soa_timer_ok(&t, clock_ms(&tc.clock), 0, 0, 0);
	is_int(t.refresh_ms, SOA_TIMER_MIN_MS, "refresh 0 is floored");
	is_int(t.retry_ms, SOA_TIMER_MIN_MS, "retry 0 is floored");

	/* a saved copy: expiry counts from its last good check */
	uint64_t now = clock_ms(&tc.clock);
	soa_timer_init(&t, now);
	soa_timer_loaded(&t, now, 100, 20, 300, 100);
	is_int(soa_timer_left(&t, now), 200000, "a copy confirmed 100 s ago: 200 s to expiry");
	is_int(soa_timer_next(&t), now, "... and checked at once");
	is_int(soa_timer_expire(&t, now), 0, "... not expired");
	soa_timer_loaded(&t, now, 100, 20, 300, 300);
	is_int(soa_timer_expire(&t, now), 1, "a copy confirmed 300 s ago is expired at start-up");
}


/* ------------------------------------------------------------ messages */

struct msg {
	uint8_t *wire;
	size_t len;
};

/* A reply with id, the question (qname, qtype), rcode, flags (TC) and the
 * answer records (text). */
static struct msg mk(uint16_t id, const char *qname, ldns_rr_type qtype, ldns_pkt_rcode rcode, int tc,
		     const char *const *rrs, size_t n)
{
	struct msg m = {0};
	ldns_pkt *p = NULL;
	if (qname) {
		ldns_pkt_query_new_frm_str(&p, qname, qtype, LDNS_RR_CLASS_IN, 0);
	} else {
		p = ldns_pkt_new();
	}
	ldns_pkt_set_id(p, id);
	ldns_pkt_set_qr(p, true);
	ldns_pkt_set_aa(p, true);
	ldns_pkt_set_rcode(p, (uint8_t)rcode);
	ldns_pkt_set_tc(p, tc ? true : false);
	for (size_t i = 0; i < n; i++) {
		ldns_rr *rr = NULL;
		if (ldns_rr_new_frm_str(&rr, rrs[i], 300, NULL, NULL) != LDNS_STATUS_OK) {
			fprintf(stderr, "bad test record %s\n", rrs[i]);
			exit(2);
		}
		ldns_pkt_push_rr(p, LDNS_SECTION_ANSWER, rr);
	}
	ldns_pkt2wire(&m.wire, p, &m.len);
	ldns_pkt_free(p);
	return m;
}

#define N(a) (sizeof(a) / sizeof((a)[0]))

/* Feed one message; returns the parser's result. */
static int feed(struct xfr_in_parse *p, struct msg m, enum xfr_in_reject *why)
{
	int r = xfr_in_parse_msg(p, m.wire, m.len, why);
	free(m.wire);
	return r;
}

static ldns_rr_list *rrlist(const char *const *rrs, size_t n)
{
	ldns_rr_list *l = ldns_rr_list_new();
	for (size_t i = 0; i < n; i++) {
		ldns_rr *rr = NULL;
		ldns_rr_new_frm_str(&rr, rrs[i], 300, NULL, NULL);
		ldns_rr_list_push_rr(l, rr);
	}
	return l;
}

static int has_rr(const ldns_rr_list *l, const char *text)
{
	ldns_rr *want = NULL;
	int found = 0;
	ldns_rr_new_frm_str(&want, text, 300, NULL, NULL);
	for (size_t i = 0; i < ldns_rr_list_rr_count(l); i++)
		if (ldns_rr_compare(ldns_rr_list_rr(l, i), want) == 0)
			found = 1;
	ldns_rr_free(want);
	return found;
}

/* One rejection case: messages m[0..n) to an AXFR (have_copy, have_serial);
 * expect reason at the last one (or at EOF when eof >= 0). */
static void reject_case(const char *name, ldns_rr_type qtype, int have_copy, uint32_t have, struct msg *m, size_t n,
			int eof, enum xfr_in_reject want)
{
	struct xfr_in_parse p;
	enum xfr_in_reject why = XFR_IN_OK;
	int r = 0;
	xfr_in_parse_init(&p, Z, 7, (uint16_t)qtype, have_copy, have);
	for (size_t i = 0; i < n; i++) {
		if (r == 0)
			r = feed(&p, m[i], &why);
		else
			free(m[i].wire);
	}
	if (eof >= 0 && r == 0) {
		why = xfr_in_parse_eof(&p, eof);
		r = -1;
	}
	ok(r < 0 && why == want, "%s: rejected as %s (got %s: %s)", name, xfr_in_reject_name(want),
	   xfr_in_reject_name(why), p.why);
	xfr_in_parse_free(&p);
}

static int deny_all(void *arg, const uint8_t *msg, size_t len, int first)
{
	(void)arg;
	(void)msg;
	(void)len;
	(void)first;
	return 1;
}

static void test_axfr(void)
{
	struct xfr_in_parse p;
	enum xfr_in_reject why;
	ldns_rr_list *out = NULL;
	const char *m1[] = {S(5), "x.test. NS ns.x.test.", "ns.x.test. A 192.0.2.53"};
	const char *m2[] = {"www.x.test. A 192.0.2.1", "a.b.x.test. TXT \"deep\"", S(5)};

	xfr_in_parse_init(&p, Z, 7, LDNS_RR_TYPE_AXFR, 0, 0);
	is_int(feed(&p, mk(7, Z, LDNS_RR_TYPE_AXFR, 0, 0, m1, N(m1)), &why), 0, "AXFR: first message, more to come");
	is_int(feed(&p, mk(7, NULL, 0, 0, 0, m2, N(m2)), &why), 1, "AXFR: the closing SOA ends it (no question in message 2)");
	is_int(p.kind, XFR_IN_AXFR, "AXFR: kind");
	is_int(p.new_serial, 5, "AXFR: serial 5");
	is_int(xfr_in_parse_apply(&p, NULL, &out, &why), FWD_OK, "AXFR: applied");
	is_int(ldns_rr_list_rr_count(out), 5, "AXFR: five records (the SOA once)");
	ok(has_rr(out, "a.b.x.test. 300 IN TXT \"deep\""), "AXFR: the TXT record");
	uint32_t s, r1, r2, r3;
	is_int(xfr_soa_values(out, &s, &r1, &r2, &r3), FWD_OK, "AXFR: an SOA");
	is_int(s, 5, "AXFR: its serial");
	is_int(r3, 300, "AXFR: its expire");

	/* the copy in state-dir */
	char dir[] = "/tmp/test_xfr_in.XXXXXX", path[512];
	ok(mkdtemp(dir) != NULL, "a temporary state-dir");
	is_int(xfr_store_write(dir, Z, out, 1700000123), FWD_OK, "the copy is written");
	ldns_rr_list *back = NULL;
	uint64_t refreshed = 0;
	char err[256] = "";
	is_int(xfr_store_read(dir, Z, &back, &refreshed, err, sizeof(err)), FWD_OK, "and read back");
	is_int(ldns_rr_list_rr_count(back), 5, "... every record");
	is_int(refreshed, 1700000123, "... with the time it was confirmed");
	is_int(ldns_rr_get_type(ldns_rr_list_rr(back, 0)), LDNS_RR_TYPE_SOA, "... the SOA first");
	ok(has_rr(back, "a.b.x.test. 300 IN TXT \"deep\""), "... the TXT record intact");
	ldns_rr_list_deep_free(back);
	is_int(xfr_store_read(dir, "y.test.", &back, &refreshed, err, sizeof(err)), FWD_ENOENT, "no copy: ENOENT");
	xfr_store_path(dir, Z, path, sizeof(path));
	unlink(path);
	rmdir(dir);
	ldns_rr_list_deep_free(out);
	xfr_in_parse_free(&p);

	/* an SOA query: current, or newer */
	const char *soa5[] = {S(5)};
	xfr_in_parse_init(&p, Z, 9, LDNS_RR_TYPE_SOA, 1, 5);
	is_int(feed(&p, mk(9, Z, LDNS_RR_TYPE_SOA, 0, 0, soa5, 1), &why), 1, "SOA query: one answer completes it");
	is_int(p.kind, XFR_IN_UPTODATE, "SOA 5, ours 5: up to date");
	xfr_in_parse_free(&p);
	xfr_in_parse_init(&p, Z, 9, LDNS_RR_TYPE_SOA, 1, 4);
	feed(&p, mk(9, Z, LDNS_RR_TYPE_SOA, 0, 0, soa5, 1), &why);
	is_int(p.kind, XFR_IN_AXFR, "SOA 5, ours 4: transfer");
	xfr_in_parse_free(&p);
	const char *soawrap[] = {S(1)};
	xfr_in_parse_init(&p, Z, 9, LDNS_RR_TYPE_SOA, 1, 0xffffffffu);
	is_int(feed(&p, mk(9, Z, LDNS_RR_TYPE_SOA, 0, 0, soawrap, 1), &why), 1, "SOA 1 after 2^32-1: accepted (RFC 1982)");
	is_int(p.kind, XFR_IN_AXFR, "... and transferred");
	xfr_in_parse_free(&p);
}

static void test_ixfr(void)
{
	struct xfr_in_parse p;
	enum xfr_in_reject why;
	ldns_rr_list *out = NULL;
	const char *cur_t[] = {S(1), "x.test. NS ns.x.test.", "www.x.test. A 192.0.2.1", "old.x.test. A 192.0.2.9"};
	ldns_rr_list *cur = rrlist(cur_t, N(cur_t));

	/* 1 -> 2 -> 3 in two difference sequences, over two messages */
	const char *m1[] = {S(3), S(1), "www.x.test. A 192.0.2.1", S(2), "www.x.test. A 192.0.2.2"};
	const char *m2[] = {S(2), "old.x.test. A 192.0.2.9", S(3), "new.x.test. A 192.0.2.7", S(3)};
	xfr_in_parse_init(&p, Z, 11, LDNS_RR_TYPE_IXFR, 1, 1);
	is_int(feed(&p, mk(11, Z, LDNS_RR_TYPE_IXFR, 0, 0, m1, N(m1)), &why), 0, "IXFR: message 1");
	is_int(feed(&p, mk(11, Z, LDNS_RR_TYPE_IXFR, 0, 0, m2, N(m2)), &why), 1, "IXFR: message 2 ends it");
	is_int(p.kind, XFR_IN_IXFR, "IXFR: incremental");
	is_int(xfr_in_parse_apply(&p, cur, &out, &why), FWD_OK, "IXFR: applied to serial 1");
	ok(has_rr(out, "www.x.test. 300 IN A 192.0.2.2"), "IXFR: the changed record");
	ok(!has_rr(out, "www.x.test. 300 IN A 192.0.2.1"), "IXFR: its old data gone");
	ok(!has_rr(out, "old.x.test. 300 IN A 192.0.2.9"), "IXFR: the deleted record gone");
	ok(has_rr(out, "new.x.test. 300 IN A 192.0.2.7"), "IXFR: the added record");
	ok(has_rr(out, "x.test. 300 IN NS ns.x.test."), "IXFR: the untouched record stays");
	uint32_t s, r1, r2, r3;
	xfr_soa_values(out, &s, &r1, &r2, &r3);
	is_int(s, 3, "IXFR: serial 3");
	is_int(ldns_rr_list_rr_count(out), 4, "IXFR: one SOA, four records");
	ldns_rr_list_deep_free(out);
	xfr_in_parse_free(&p);

	/* up to date: the single SOA */
	const char *one[] = {S(1)};
	xfr_in_parse_init(&p, Z, 11, LDNS_RR_TYPE_IXFR, 1, 1);
	is_int(feed(&p, mk(11, Z, LDNS_RR_TYPE_IXFR, 0, 0, one, 1), &why), 1, "IXFR: a single SOA of our serial");
	is_int(p.kind, XFR_IN_UPTODATE, "... is up to date");
	xfr_in_parse_free(&p);

	/* an AXFR-style answer to IXFR (RFC 1995 4) */
	const char *ax[] = {S(2), "x.test. NS ns.x.test.", "www.x.test. A 192.0.2.5", S(2)};
	xfr_in_parse_init(&p, Z, 11, LDNS_RR_TYPE_IXFR, 1, 1);
	is_int(feed(&p, mk(11, Z, LDNS_RR_TYPE_IXFR, 0, 0, ax, N(ax)), &why), 1, "IXFR answered AXFR-style");
	is_int(p.kind, XFR_IN_AXFR, "... read as a whole zone");
	is_int(xfr_in_parse_apply(&p, cur, &out, &why), FWD_OK, "... applied");
	is_int(ldns_rr_list_rr_count(out), 3, "... replacing the copy");
	ldns_rr_list_deep_free(out);
	xfr_in_parse_free(&p);

	/* differences that do not apply: from another serial, a missing record */
	const char *other[] = {S(3), S(2), "www.x.test. A 192.0.2.1", S(3), S(3)};
	xfr_in_parse_init(&p, Z, 11, LDNS_RR_TYPE_IXFR, 1, 1);
	feed(&p, mk(11, Z, LDNS_RR_TYPE_IXFR, 0, 0, other, N(other)), &why);
	out = NULL;
	ok(xfr_in_parse_apply(&p, cur, &out, &why) != FWD_OK && why == XFR_IN_R_IXFR && !out,
	   "IXFR from serial 2 to our serial 1: ixfr_mismatch (%s)", p.why);
	xfr_in_parse_free(&p);
	const char *missing[] = {S(2), S(1), "nope.x.test. A 192.0.2.1", S(2), S(2)};
	xfr_in_parse_init(&p, Z, 11, LDNS_RR_TYPE_IXFR, 1, 1);
	feed(&p, mk(11, Z, LDNS_RR_TYPE_IXFR, 0, 0, missing, N(missing)), &why);
	ok(xfr_in_parse_apply(&p, cur, &out, &why) != FWD_OK && why == XFR_IN_R_IXFR,
	   "IXFR deleting a record we do not have: ixfr_mismatch (%s)", p.why);
	xfr_in_parse_free(&p);
	ok(has_rr(cur, "www.x.test. 300 IN A 192.0.2.1"), "the copy held is untouched by a failed IXFR");
	ldns_rr_list_deep_free(cur);
}

static void test_rejects(void)
{
	const char *soa9[] = {S(9)};
	const char *head[] = {S(9), "x.test. NS ns.x.test."};
	const char *tail[] = {"www.x.test. A 192.0.2.1", S(9)};
	const char *out_of_zone[] = {S(9), "www.other.test. A 192.0.2.1", S(9)};
	const char *apex_like[] = {S(9), "xx.test. A 192.0.2.1", S(9)};
	const char *not_soa[] = {"www.x.test. A 192.0.2.1", S(9)};
	const char *after[] = {S(9), "www.x.test. A 192.0.2.1", S(9), "late.x.test. A 192.0.2.2"};
	const char *two_soa[] = {S(9), S(8), "www.x.test. A 192.0.2.1", S(9)};
	const char *full[] = {S(9), "www.x.test. A 192.0.2.1", S(9)};
	struct msg m[3];

	m[0] = mk(7, Z, LDNS_RR_TYPE_AXFR, 0, 0, head, N(head));
	reject_case("the stream ends inside a message", LDNS_RR_TYPE_AXFR, 0, 0, m, 1, 1, XFR_IN_R_TRUNCATED);
	m[0] = mk(7, Z, LDNS_RR_TYPE_AXFR, 0, 0, head, N(head));
	m[1] = mk(7, Z, LDNS_RR_TYPE_AXFR, 0, 0, tail, 1);
	reject_case("the stream ends without its closing SOA", LDNS_RR_TYPE_AXFR, 0, 0, m, 2, 0,
		    XFR_IN_R_NO_CLOSING_SOA);
	reject_case("the primary closes before answering", LDNS_RR_TYPE_AXFR, 0, 0, m, 0, 0, XFR_IN_R_NET);
	m[0] = mk(7, Z, LDNS_RR_TYPE_AXFR, 0, 0, soa9, 1);
	reject_case("serial 9 when ours is 10", LDNS_RR_TYPE_AXFR, 1, 10, m, 1, -1, XFR_IN_R_SERIAL);
	m[0] = mk(7, Z, LDNS_RR_TYPE_SOA, 0, 0, soa9, 1);
	reject_case("an SOA answer behind ours", LDNS_RR_TYPE_SOA, 1, 10, m, 1, -1, XFR_IN_R_SERIAL);
	m[0] = mk(7, Z, LDNS_RR_TYPE_AXFR, 0, 0, out_of_zone, N(out_of_zone));
	reject_case("a record of another zone", LDNS_RR_TYPE_AXFR, 0, 0, m, 1, -1, XFR_IN_R_OUT_OF_ZONE);
	m[0] = mk(7, Z, LDNS_RR_TYPE_AXFR, 0, 0, apex_like, N(apex_like));
	reject_case("xx.test is not below x.test", LDNS_RR_TYPE_AXFR, 0, 0, m, 1, -1, XFR_IN_R_OUT_OF_ZONE);
	m[0] = mk(7, "y.test.", LDNS_RR_TYPE_AXFR, 0, 0, full, N(full));
	reject_case("another zone's question", LDNS_RR_TYPE_AXFR, 0, 0, m, 1, -1, XFR_IN_R_QUESTION);
	m[0] = mk(7, Z, LDNS_RR_TYPE_IXFR, 0, 0, full, N(full));
	reject_case("another type's question", LDNS_RR_TYPE_AXFR, 0, 0, m, 1, -1, XFR_IN_R_QUESTION);
	m[0] = mk(7, NULL, 0, 0, 0, full, N(full));
	reject_case("no question in the first message", LDNS_RR_TYPE_AXFR, 0, 0, m, 1, -1, XFR_IN_R_QUESTION);
	m[0] = mk(7, Z, LDNS_RR_TYPE_AXFR, LDNS_RCODE_NOTAUTH, 0, NULL, 0);
	reject_case("NOTAUTH", LDNS_RR_TYPE_AXFR, 0, 0, m, 1, -1, XFR_IN_R_RCODE);
	m[0] = mk(7, Z, LDNS_RR_TYPE_AXFR, LDNS_RCODE_REFUSED, 0, NULL, 0);
	reject_case("REFUSED", LDNS_RR_TYPE_AXFR, 0, 0, m, 1, -1, XFR_IN_R_RCODE);
	m[0] = mk(7, Z, LDNS_RR_TYPE_AXFR, 0, 1, full, N(full));
	reject_case("TC set", LDNS_RR_TYPE_AXFR, 0, 0, m, 1, -1, XFR_IN_R_MALFORMED);
	m[0] = mk(8, Z, LDNS_RR_TYPE_AXFR, 0, 0, full, N(full));
	reject_case("another ID", LDNS_RR_TYPE_AXFR, 0, 0, m, 1, -1, XFR_IN_R_MALFORMED);
	m[0] = mk(7, Z, LDNS_RR_TYPE_AXFR, 0, 0, not_soa, N(not_soa));
	reject_case("no SOA first", LDNS_RR_TYPE_AXFR, 0, 0, m, 1, -1, XFR_IN_R_MALFORMED);
	m[0] = mk(7, Z, LDNS_RR_TYPE_AXFR, 0, 0, after, N(after));
	reject_case("records after the closing SOA", LDNS_RR_TYPE_AXFR, 0, 0, m, 1, -1, XFR_IN_R_MALFORMED);
	m[0] = mk(7, Z, LDNS_RR_TYPE_AXFR, 0, 0, two_soa, N(two_soa));
	reject_case("an SOA of another serial inside an AXFR", LDNS_RR_TYPE_AXFR, 0, 0, m, 1, -1, XFR_IN_R_MALFORMED);
	m[0] = mk(7, Z, LDNS_RR_TYPE_AXFR, 0, 0, NULL, 0);
	reject_case("an empty answer", LDNS_RR_TYPE_AXFR, 0, 0, m, 1, -1, XFR_IN_R_MALFORMED);
	uint8_t junk[5] = {0, 7, 0x84, 0, 0};
	struct xfr_in_parse p;
	enum xfr_in_reject why;
	xfr_in_parse_init(&p, Z, 7, LDNS_RR_TYPE_AXFR, 0, 0);
	ok(xfr_in_parse_msg(&p, junk, sizeof(junk), &why) < 0 && why == XFR_IN_R_MALFORMED,
	   "five bytes: malformed");
	xfr_in_parse_free(&p);

	/* TSIG: every message goes through the check first */
	xfr_in_parse_init(&p, Z, 7, LDNS_RR_TYPE_AXFR, 0, 0);
	p.verify = deny_all;
	struct msg g = mk(7, Z, LDNS_RR_TYPE_AXFR, 0, 0, full, N(full));
	ok(xfr_in_parse_msg(&p, g.wire, g.len, &why) < 0 && why == XFR_IN_R_TSIG, "a message failing TSIG: tsig");
	free(g.wire);
	xfr_in_parse_free(&p);

	for (int r = 0; r < XFR_IN_NREJECT; r++)
		ok(strcmp(xfr_in_reject_name((enum xfr_in_reject)r), "unknown") != 0, "reason %d has a name", r);
}

/* ------------------------------------------------------------ config */

static enum fwd_err load(const char *text, struct cfg **cfg, char *err, size_t errlen)
{
	char path[] = "/tmp/test_xfr_in_cfg.XXXXXX";
	int fd = mkstemp(path);
	if (fd < 0 || write(fd, text, strlen(text)) != (ssize_t)strlen(text))
		return FWD_EIO;
	close(fd);
	enum fwd_err rc = cfg_load(path, cfg, err, errlen);
	unlink(path);
	return rc;
}

static void cfg_case(const char *text, int line, const char *want)
{
	struct cfg *cfg = NULL;
	char err[512] = "", at[32];
	enum fwd_err rc = load(text, &cfg, err, sizeof(err));
	snprintf(at, sizeof(at), ":%d: ", line);
	ok(rc != FWD_OK && strstr(err, at) && strstr(err, want), "config error at line %d: %s (got: %s)", line, want,
	   err);
	cfg_free(cfg);
}

static void test_config(void)
{
	struct cfg *cfg = NULL;
	char err[512] = "", kpath[] = "/tmp/test_xfr_in_key.XXXXXX", text[1024];
	int kfd = mkstemp(kpath);
	ok(kfd >= 0 && write(kfd, "c2VjcmV0c2VjcmV0c2VjcmV0\n", 25) == 25, "a key file");
	close(kfd);
	snprintf(text, sizeof(text),
		 "server:\n listen: 127.0.0.1@5399\nzone: A.Test\n primary: 192.0.2.1\n"
		 " primary: [2001:db8::1]@5353 key Xfr.Test\nkey: xfr.test.\n secret-file: %s\n", kpath);
	ok(load(text, &cfg, err, sizeof(err)) == FWD_OK, "a secondary zone parses (%s)", err);
	if (cfg) {
		const struct cfg_zone *z = &cfg->zones[0];
		is_int(z->nprimaries, 2, "two primaries");
		ok(z->file == NULL && z->path == NULL, "no file");
		is_int(ntohs(((const struct sockaddr_in *)&z->primaries[0].ss)->sin_port), 53, "port 53 by default");
		ok(z->primaries[0].key == NULL, "the first has no key");
		is_int(ntohs(((const struct sockaddr_in6 *)&z->primaries[1].ss)->sin6_port), 5353, "the second's port");
		is_str(z->primaries[1].key, "xfr.test.", "its key name, lower case with the dot");
		ok(cfg_key_find(cfg, z->primaries[1].key) != NULL, "... names the key: clause");
		struct sockaddr_in from = {.sin_family = AF_INET, .sin_port = htons(40000)};
		from.sin_addr.s_addr = htonl(0xc0000201);
		is_int(cfg_primary_find(z->primaries, z->nprimaries, (struct sockaddr *)&from), 0,
		       "a NOTIFY from 192.0.2.1, any port, is the first primary's");
		from.sin_addr.s_addr = htonl(0xc0000202);
		is_int(cfg_primary_find(z->primaries, z->nprimaries, (struct sockaddr *)&from), -1,
		       "192.0.2.2 is no primary");
		ok(cfg_primaries_equal(z->primaries, 2, z->primaries, 2), "a list equals itself");
		ok(!cfg_primaries_equal(z->primaries, 2, z->primaries, 1), "a shorter list differs");
		ok(!cfg_primaries_equal(z->primaries, 1, z->primaries + 1, 1), "another address and key differ");
	}
	cfg_free(cfg);
	unlink(kpath);
	cfg_case("zone: a.test\n primary: 127.0.0.1 key nokey\n", 2, "unknown key 'nokey.'");
	cfg_case("zone: a.test\n file: /dev/null\n primary: 127.0.0.1\n", 3, "file: and primary: exclude each other");
	cfg_case("zone: a.test\n primary: 127.0.0.1 kee x\n", 2, "only 'key NAME' may follow");
	cfg_case("zone: a.test\n primary: 127.0.0.1 key\n", 2, "only 'key NAME' may follow");
	cfg_case("zone: a.test\n primary: 127.0.0.1 key a b\n", 2, "only 'key NAME' may follow");
	cfg_case("zone: a.test\n primary: 300.0.0.1\n", 2, "bad address");
	cfg_case("zone: a.test\n primary: 127.0.0.1 key a/b\n", 2, "bad key name");
	cfg_case("zone: a.test\n primary: 127.0.0.1\n fallback: public\n", 1, "fallback: public is for zone files");
	cfg_case("zone: a.test\n primary: 127.0.0.1\n primary: 127.0.0.1@54\n", 3, "duplicate address");
	cfg_case("zone: a.test\n fallback: none\n", 1, "has no 'file:' line (nor 'primary:')");
}

/* ------------------------------------------------------------ NOTIFY */

/* A NOTIFY for zone, signed with key when not NULL; its wire in *m. */
static struct msg notify_msg(const char *zone, uint16_t id, int nq, const struct cfg_tsig_key *key)
{
	struct msg m = {0};
	ldns_pkt *p = NULL;
	ldns_pkt_query_new_frm_str(&p, zone, LDNS_RR_TYPE_SOA, LDNS_RR_CLASS_IN, 0);
	ldns_pkt_set_id(p, id);
	ldns_pkt_set_opcode(p, LDNS_PACKET_NOTIFY);
	ldns_pkt_set_aa(p, true);
	if (nq == 2) {
		ldns_rr *q2 = ldns_rr_clone(ldns_rr_list_rr(ldns_pkt_question(p), 0));
		ldns_pkt_push_rr(p, LDNS_SECTION_QUESTION, q2);
	}
	if (key) {
		struct tsig_ctx ctx;
		tsig_ctx_start(&ctx, key);
		tsig_sign(&ctx, p);
		tsig_ctx_clear(&ctx);
	}
	ldns_pkt2wire(&m.wire, p, &m.len);
	ldns_pkt_free(p);
	return m;
}

static ldns_pkt *notify_answer(struct xfr_in *x, const struct snapshot *snap, struct msg m, uint32_t from_ip,
			       size_t *n)
{
	struct sockaddr_storage ss;
	struct sockaddr_in *sin = (struct sockaddr_in *)&ss;
	uint8_t out[4096];
	ldns_pkt *r = NULL;
	memset(&ss, 0, sizeof(ss));
	sin->sin_family = AF_INET;
	sin->sin_port = htons(53000);
	sin->sin_addr.s_addr = htonl(from_ip);
	*n = xfr_in_notify_answer(x, snap, m.wire, m.len, &ss, out, sizeof(out));
	if (*n)
		ldns_wire2pkt(&r, out, *n);
	free(m.wire);
	return r;
}

static void test_notify(void)
{
	char kpath[] = "/tmp/test_xfr_in_key.XXXXXX", cpath[] = "/tmp/test_xfr_in_notify.XXXXXX", text[1024];
	char err[512] = "";
	int kfd = mkstemp(kpath), cfd = mkstemp(cpath);
	ok(kfd >= 0 && write(kfd, "c2VjcmV0c2VjcmV0c2VjcmV0\n", 25) == 25, "a key file");
	close(kfd);
	int tl = snprintf(text, sizeof(text),
			  "server:\n listen: 127.0.0.1@5399\n cloud: none\nkey: k.test.\n secret-file: %s\n"
			  "zone: s.test\n primary: 192.0.2.1\nzone: t.test\n primary: 192.0.2.2 key k.test\n",
			  kpath);
	ok(cfd >= 0 && write(cfd, text, (size_t)tl) == tl, "a configuration with two secondary zones");
	close(cfd);
	struct snapshot *snap = snapshot_build(cpath, NULL, 0, err, sizeof(err));
	ok(snap != NULL, "its snapshot builds (%s)", err);
	struct event_base *base = event_base_new();
	struct xfr_in *x = NULL;
	ok(xfr_in_new(base, &fwd_clock_monotonic, NULL, NULL, &x) == FWD_OK, "a transfer client");
	if (!snap || !x)
		return;
	ok(snap->zones[0].secondary && snap->zones[0].down == 1, "a secondary zone without a copy is down (SERVFAIL)");
	{
		/* a copy arrives: the new snapshot serves it, the other zone stays down */
		struct zone *z = zone_load_text("s.test.", "s.test. 60 IN SOA ns.s.test. h.s.test. 7 1 1 1 1\n"
							   "www.s.test. 60 IN A 192.0.2.7\n", "t", err, sizeof(err));
		struct route_zone rz = {.zone = z, .secondary = 1};
		struct snapshot *s2 = z ? snapshot_with_secondary(snap, &rz, 1, err, sizeof(err)) : NULL;
		ok(s2 != NULL, "snapshot_with_secondary (%s)", err);
		if (s2) {
			const struct route_target *rt = route_lookup(s2->routes, (const uint8_t *)"\3www\1s\4test", 12);
			ok(rt->kind == ROUTE_ZONE && rt->zone == z && !rt->down && rt->secondary, "the copy serves");
			rt = route_lookup(s2->routes, (const uint8_t *)"\3www\1t\4test", 12);
			ok(rt->kind == ROUTE_ZONE && rt->down == 1, "the zone without a copy is still down");
			is_int(s2->nfile_zones, 2, "both stay zone: clause zones");
			rz.down = 2;
			struct snapshot *s3 = snapshot_with_secondary(s2, &rz, 1, err, sizeof(err));
			rt = s3 ? route_lookup(s3->routes, (const uint8_t *)"\3www\1s\4test", 12) : NULL;
			ok(rt && rt->down == 2, "an expired copy: down 2 (SERVFAIL, EDE 22)");
			if (s3)
				snapshot_unref(s3);
			snapshot_unref(s2);
		}
		if (z)
			zone_unref(z);
	}
	const struct cfg_tsig_key *key = cfg_key_find(snap->cfg, "k.test.");
	size_t n;
	ldns_pkt *r;

	r = notify_answer(x, snap, notify_msg("s.test.", 101, 1, NULL), 0xc0000201, &n);
	ok(r && ldns_pkt_get_rcode(r) == LDNS_RCODE_NOERROR, "NOTIFY from the primary: NOERROR");
	ok(r && ldns_pkt_qr(r) && ldns_pkt_aa(r) && ldns_pkt_get_opcode(r) == LDNS_PACKET_NOTIFY && ldns_pkt_id(r) == 101,
	   "... QR, AA, opcode NOTIFY, the ID echoed");
	ok(r && ldns_pkt_qdcount(r) == 1, "... the question echoed");
	ldns_pkt_free(r);
	r = notify_answer(x, snap, notify_msg("S.Test.", 102, 1, NULL), 0xc0000201, &n);
	ok(r && ldns_pkt_get_rcode(r) == LDNS_RCODE_NOERROR, "the zone name in any case");
	ldns_pkt_free(r);
	r = notify_answer(x, snap, notify_msg("s.test.", 103, 1, NULL), 0xc0000209, &n);
	ok(r && ldns_pkt_get_rcode(r) == LDNS_RCODE_REFUSED && !ldns_pkt_aa(r), "from another address: REFUSED");
	ldns_pkt_free(r);
	r = notify_answer(x, snap, notify_msg("other.test.", 104, 1, NULL), 0xc0000201, &n);
	ok(!r && n == 0, "for a zone that is not a secondary zone here: left to NOTIMP");
	r = notify_answer(x, snap, notify_msg("s.test.", 105, 2, NULL), 0xc0000201, &n);
	ok(r && ldns_pkt_get_rcode(r) == LDNS_RCODE_FORMERR, "two questions: FORMERR");
	ldns_pkt_free(r);
	r = notify_answer(x, snap, notify_msg("t.test.", 106, 1, NULL), 0xc0000202, &n);
	ok(r && ldns_pkt_get_rcode(r) == LDNS_RCODE_REFUSED, "unsigned from a primary with a key: REFUSED");
	ldns_pkt_free(r);
	r = notify_answer(x, snap, notify_msg("t.test.", 107, 1, key), 0xc0000202, &n);
	ok(r && ldns_pkt_get_rcode(r) == LDNS_RCODE_NOERROR, "signed with its key: NOERROR");
	ok(r && ldns_pkt_tsig(r) != NULL, "... and the answer is signed");
	ldns_pkt_free(r);
	struct cfg_tsig_key wrong = *key;
	wrong.secret_b64 = "d3Jvbmd3cm9uZ3dyb25n";
	r = notify_answer(x, snap, notify_msg("t.test.", 108, 1, &wrong), 0xc0000202, &n);
	ok(r && ldns_pkt_get_rcode(r) == LDNS_RCODE_NOTAUTH, "signed with another secret: NOTAUTH");
	ldns_pkt_free(r);
	r = notify_answer(x, snap, notify_msg("s.test.", 109, 1, NULL), 0xc0000202, &n);
	ok(r && ldns_pkt_get_rcode(r) == LDNS_RCODE_REFUSED, "the other zone's primary is not this zone's: REFUSED");
	ldns_pkt_free(r);

	xfr_in_free(x);
	event_base_free(base);
	snapshot_unref(snap);
	unlink(cpath);
	unlink(kpath);
}

int main(void)
{
	test_config();
	test_notify();
	test_timers();
	test_axfr();
	test_ixfr();
	test_rejects();
	return tap_done();
}
