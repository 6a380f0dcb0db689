/*
 * status_ring.h -- the last 15 minutes of query rates for the status page:
 * a fixed ring of STATUS_RING_BUCKETS buckets of STATUS_RING_BUCKET_S
 * seconds, each holding the queries received and the answers sent (by
 * rcode) in its span.
 *
 * The ring keeps no counters of its own on the query path: the main thread
 * samples the workers' cumulative counters (ops/collect.h) and the ring
 * adds what they grew by since the previous sample to the bucket of the
 * current time.  A sample never allocates.  Time comes from the struct
 * fwd_clock the ring is given, so tests drive it with the test clock.
 *
 * Bucket k (absolute) spans [origin + k * BUCKET, origin + (k+1) * BUCKET),
 * origin being the time of status_ring_init(): every bucket but the current
 * one is a whole STATUS_RING_BUCKET_S long, and a rate is its count divided
 * by the seconds it covers.  Counts that grew between two samples go to the
 * bucket of the second one: the sampling period (the caller's timer) is the
 * precision of a bucket boundary.
 *
 * Main thread only; the struct is plain data, owned by whoever embeds it.
 */
#ifndef PLINKFWD_STATUS_RING_H
#define PLINKFWD_STATUS_RING_H

#include <stddef.h>
#include <stdint.h>

#include "labels.h"

struct fwd_clock;

#define STATUS_RING_BUCKETS 90
#define STATUS_RING_BUCKET_S 10 /* 90 x 10 s = the last 15 minutes */

/* Cumulative counters as the workers' sums give them (they only grow). */
struct status_counts {
	uint64_t queries;                /* messages received, UDP and TCP */
	uint64_t rcodes[STATS_RC_N];     /* answers sent, by rcode bucket (labels.h) */
};

struct status_ring {
	const struct fwd_clock *clock;
	uint64_t origin_ms;              /* clock time of status_ring_init() */
	uint64_t cur;                    /* absolute number of the newest bucket */
	struct status_counts last;       /* the counters at the last sample */
	struct status_counts b[STATUS_RING_BUCKETS]; /* bucket k lives at b[k % N] */
};

/* One bucket as read back: start_s is the start of its span relative to
 * the time of reading (negative or 0), seconds the part of the span that
 * has passed (STATUS_RING_BUCKET_S, less for the current bucket). */
struct status_point {
	double start_s;
	double seconds;
	struct status_counts n;
};

/* Start the ring empty at the clock's current time; now holds the counters
 * at that moment (what came before is not in any bucket). */
void status_ring_init(struct status_ring *r, const struct fwd_clock *clock, const struct status_counts *now);

/* Add what the counters grew by since the last sample to the current
 * bucket, after emptying the buckets the clock has moved past.  A counter
 * found smaller than before (which the workers never do) counts 0 and is
 * taken as the new base. */
void status_ring_sample(struct status_ring *r, const struct status_counts *cum);

/* The buckets of the last 15 minutes that lie after origin, oldest first,
 * into out (cap entries at least STATUS_RING_BUCKETS to get them all), as
 * of the clock's current time.  Returns how many were written. */
size_t status_ring_read(const struct status_ring *r, struct status_point *out, size_t cap);

/* count per second over p's span; 0 for a span of no length. */
double status_point_rate(const struct status_point *p, uint64_t count);

#endif
