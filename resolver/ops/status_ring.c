/*
 * status_ring.c -- the fixed ring of query-rate buckets behind the status
 * page (see status_ring.h).
 */
#include "status_ring.h"

#include <string.h>

#include "clock.h"

#define BUCKET_MS ((uint64_t)STATUS_RING_BUCKET_S * 1000u)

static uint64_t bucket_at(const struct status_ring *r, uint64_t now_ms)
{
	/* the clock never goes back, but a ring built on one clock and read
	 * through another must not wrap to a huge index */
	return now_ms > r->origin_ms ? (now_ms - r->origin_ms) / BUCKET_MS : 0;
}

void status_ring_init(struct status_ring *r, const struct fwd_clock *clock, const struct status_counts *now)
{
	memset(r, 0, sizeof(*r));
	r->clock = clock;
	r->origin_ms = clock_ms(clock);
	r->last = *now;
}

/* Move the newest bucket to k, emptying every bucket passed on the way
 * (all of them when more than a whole ring's span went by). */
static void advance(struct status_ring *r, uint64_t k)
{
	if (k <= r->cur)
		return;
	uint64_t gap = k - r->cur;
	if (gap >= STATUS_RING_BUCKETS) {
		memset(r->b, 0, sizeof(r->b));
	} else {
		for (uint64_t i = r->cur + 1; i <= k; i++)
			memset(&r->b[i % STATUS_RING_BUCKETS], 0, sizeof(r->b[0]));
	}
	r->cur = k;
}

static uint64_t grew(uint64_t now, uint64_t before) { return now > before ? now - before : 0; }

void status_ring_sample(struct status_ring *r, const struct status_counts *cum)
{
	advance(r, bucket_at(r, clock_ms(r->clock)));
	struct status_counts *b = &r->b[r->cur % STATUS_RING_BUCKETS];
	b->queries += grew(cum->queries, r->last.queries);
	for (int i = 0; i < STATS_RC_N; i++)
		b->rcodes[i] += grew(cum->rcodes[i], r->last.rcodes[i]);
	r->last = *cum;
}

size_t status_ring_read(const struct status_ring *r, struct status_point *out, size_t cap)
{
	uint64_t now = clock_ms(r->clock);
	uint64_t k = bucket_at(r, now);
	/* buckets after the last sample and up to now saw no sample yet:
	 * they are empty, not what the ring held a lap earlier */
	uint64_t first = k + 1 >= STATUS_RING_BUCKETS ? k + 1 - STATUS_RING_BUCKETS : 0;
	size_t n = 0;
	for (uint64_t i = first; i <= k && n < cap; i++, n++) {
		struct status_point *p = &out[n];
		uint64_t start = r->origin_ms + i * BUCKET_MS;
		uint64_t end = start + BUCKET_MS < now ? start + BUCKET_MS : now;
		p->start_s = -(double)(now - start) / 1e3;
		p->seconds = (double)(end - start) / 1e3;
		if (i <= r->cur && i + STATUS_RING_BUCKETS > r->cur)
			p->n = r->b[i % STATUS_RING_BUCKETS];
		else
			memset(&p->n, 0, sizeof(p->n));
	}
	return n;
}

double status_point_rate(const struct status_point *p, uint64_t count)
{
	return p->seconds > 0 ? (double)count / p->seconds : 0.0;
}
