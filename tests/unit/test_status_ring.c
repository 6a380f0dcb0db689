/*
 * test_status_ring.c -- the status page's rate ring in virtual time: what
 * the counters grow by lands in the bucket of the sample's time, buckets
 * roll every 10 s, the ring wraps after 15 minutes (old buckets emptied, not
 * reused with their old counts), a gap longer than the ring empties it,
 * rates are counts over the seconds a bucket covers, and a counter that
 * goes backwards counts nothing.
 */
#include <stdio.h>
#include <string.h>

#include "clock.h"
#include "common.h"
#include "status_ring.h"
#include "tap.h"

#define SEC 1000000ull

static struct status_counts cum;      /* what the "workers" counted so far */
static struct status_point pts[STATUS_RING_BUCKETS + 5];

static void count(uint64_t queries, uint64_t noerror, uint64_t nxdomain)
{
	cum.queries += queries;
	cum.rcodes[STATS_RC_NOERROR] += noerror;
	cum.rcodes[STATS_RC_NXDOMAIN] += nxdomain;
}

static uint64_t sum_queries(size_t n)
{
	uint64_t s = 0;
	for (size_t i = 0; i < n; i++)
		s += pts[i].n.queries;
	return s;
}

int main(void)
{
	struct fwd_test_clock tc;
	struct status_ring r;
	size_t n;

	fwd_test_clock_init(&tc, 1000 * SEC);
	count(500, 400, 100); /* before the ring started: in no bucket */
	status_ring_init(&r, &tc.clock, &cum);

	n = status_ring_read(&r, pts, FWD_ARRAY_LEN(pts));
	is_int(n, 1, "a new ring has one (current) bucket");
	is_int(pts[0].n.queries, 0, "counts from before the start are not in it");
	ok(pts[0].seconds == 0.0, "it covers no time yet");
	ok(status_point_rate(&pts[0], 5) == 0.0, "a span of no length has rate 0");

	/* 3 s in: 30 queries, 25 NOERROR, 5 NXDOMAIN */
	fwd_test_clock_advance(&tc, 3 * SEC);
	count(30, 25, 5);
	status_ring_sample(&r, &cum);
	n = status_ring_read(&r, pts, FWD_ARRAY_LEN(pts));
	is_int(n, 1, "3 s: still one bucket");
	is_int(pts[0].n.queries, 30, "3 s: 30 queries in it");
	is_int(pts[0].n.rcodes[STATS_RC_NOERROR], 25, "3 s: 25 NOERROR");
	is_int(pts[0].n.rcodes[STATS_RC_NXDOMAIN], 5, "3 s: 5 NXDOMAIN");
	ok(pts[0].seconds == 3.0, "3 s: the current bucket covers 3 s");
	ok(status_point_rate(&pts[0], pts[0].n.queries) == 10.0, "3 s: 10 qps");
	is_int(pts[0].start_s, -3, "3 s: it started 3 s ago");

	/* a second sample in the same bucket adds */
	fwd_test_clock_advance(&tc, 6 * SEC); /* 9 s */
	count(60, 60, 0);
	status_ring_sample(&r, &cum);
	status_ring_sample(&r, &cum); /* nothing new: adds nothing */
	n = status_ring_read(&r, pts, FWD_ARRAY_LEN(pts));
	is_int(pts[0].n.queries, 90, "9 s: samples in one bucket add up (90)");
	ok(status_point_rate(&pts[0], pts[0].n.queries) == 10.0, "9 s: 90 in 9 s = 10 qps");

	/* the bucket rolls at 10 s */
	fwd_test_clock_advance(&tc, 2 * SEC); /* 11 s */
	count(4, 4, 0);
	status_ring_sample(&r, &cum);
	n = status_ring_read(&r, pts, FWD_ARRAY_LEN(pts));
	is_int(n, 2, "11 s: two buckets");
	is_int(pts[0].n.queries, 90, "11 s: the first bucket is closed with 90");
	ok(pts[0].seconds == 10.0, "11 s: a closed bucket covers 10 s");
	ok(status_point_rate(&pts[0], pts[0].n.queries) == 9.0, "11 s: its rate is 90 / 10 s = 9 qps");
	is_int(pts[0].start_s, -11, "11 s: it started 11 s ago");
	is_int(pts[1].n.queries, 4, "11 s: the new bucket has 4");
	ok(pts[1].seconds == 1.0, "11 s: and covers 1 s");
	ok(status_point_rate(&pts[1], pts[1].n.rcodes[STATS_RC_NOERROR]) == 4.0, "11 s: 4 NOERROR per second");

	/* a quiet minute: the buckets without a sample read 0 */
	fwd_test_clock_advance(&tc, 60 * SEC); /* 71 s */
	n = status_ring_read(&r, pts, FWD_ARRAY_LEN(pts));
	is_int(n, 8, "71 s, no sample for a minute: 8 buckets");
	is_int(pts[7].n.queries, 0, "71 s: the current bucket has no sample: 0");
	is_int(sum_queries(n), 94, "71 s: nothing counted twice (94 in all)");
	count(7, 0, 7);
	status_ring_sample(&r, &cum);
	n = status_ring_read(&r, pts, FWD_ARRAY_LEN(pts));
	is_int(pts[7].n.queries, 7, "71 s: a sample lands in the 8th bucket");
	for (size_t i = 2; i < 7; i++)
		if (pts[i].n.queries != 0)
			ok(0, "71 s: bucket %zu should be empty", i);
	is_int(pts[6].n.queries, 0, "71 s: the skipped buckets are empty");

	/* 15 minutes after the start the first bucket leaves the ring */
	fwd_test_clock_advance(&tc, (900 - 71) * SEC); /* 900 s */
	count(1, 1, 0);
	status_ring_sample(&r, &cum);
	n = status_ring_read(&r, pts, FWD_ARRAY_LEN(pts));
	is_int(n, STATUS_RING_BUCKETS, "900 s: a full ring: 90 buckets");
	is_int(pts[0].start_s, -890, "900 s: the oldest starts 890 s ago (the first one is gone)");
	is_int(pts[0].n.queries, 4, "900 s: the oldest is the 10-20 s bucket (4)");
	is_int(pts[STATUS_RING_BUCKETS - 1].n.queries, 1, "900 s: the newest holds the new sample, not the "
		"90 the slot held a lap ago");
	is_int(sum_queries(n), 12, "900 s: 4 + 7 + 1 in the window");
	is_int(status_ring_read(&r, pts, 5), 5, "read stops at cap");

	/* wrap again: the 10-20 s bucket leaves too */
	fwd_test_clock_advance(&tc, 10 * SEC); /* 910 s */
	status_ring_sample(&r, &cum);
	n = status_ring_read(&r, pts, FWD_ARRAY_LEN(pts));
	is_int(pts[0].n.queries, 0, "910 s: the 10-20 s bucket has left the ring");
	is_int(sum_queries(n), 8, "910 s: 7 + 1 remain");
	is_int(pts[STATUS_RING_BUCKETS - 1].n.queries, 0, "910 s: the current bucket is empty");

	/* an hour with no sample: everything is emptied */
	fwd_test_clock_advance(&tc, 3600 * SEC);
	count(20, 20, 0);
	status_ring_sample(&r, &cum);
	n = status_ring_read(&r, pts, FWD_ARRAY_LEN(pts));
	is_int(n, STATUS_RING_BUCKETS, "after an hour: 90 buckets");
	is_int(sum_queries(n), 20, "after an hour: only the new sample remains");

	/* a counter that went back counts 0 and becomes the base */
	struct status_counts low = cum;
	low.queries -= 10;
	status_ring_sample(&r, &low);
	n = status_ring_read(&r, pts, FWD_ARRAY_LEN(pts));
	is_int(sum_queries(n), 20, "a counter smaller than before adds nothing");
	low.queries += 3;
	status_ring_sample(&r, &low);
	n = status_ring_read(&r, pts, FWD_ARRAY_LEN(pts));
	is_int(sum_queries(n), 23, "and counts from its new value on");
	return tap_done();
}
