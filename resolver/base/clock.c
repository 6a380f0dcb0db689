/*
 * clock.c -- the monotonic clock and the test clock (see clock.h).
 */
#include "clock.h"

#include <stddef.h>
#include <time.h>

static uint64_t monotonic_now_us(const struct fwd_clock *c)
{
	struct timespec ts;

	(void)c;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

static uint64_t realtime_wall_s(const struct fwd_clock *c)
{
	struct timespec ts;

	(void)c;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec;
}

const struct fwd_clock fwd_clock_monotonic = { monotonic_now_us, realtime_wall_s };

static const struct fwd_test_clock *test_of(const struct fwd_clock *c)
{
	return (const struct fwd_test_clock *)(const void *)((const char *)c - offsetof(struct fwd_test_clock, clock));
}

static uint64_t test_now_us(const struct fwd_clock *c) { return test_of(c)->now_us; }

static uint64_t test_wall_s(const struct fwd_clock *c)
{
	const struct fwd_test_clock *tc = test_of(c);
	return tc->wall_base_s + (tc->now_us - tc->start_us) / 1000000u;
}

void fwd_test_clock_init(struct fwd_test_clock *tc, uint64_t start_us)
{
	tc->clock.now_us = test_now_us;
	tc->clock.wall_s = test_wall_s;
	tc->now_us = start_us;
	tc->start_us = start_us;
	tc->wall_base_s = 1700000000u;
}

void fwd_test_clock_advance(struct fwd_test_clock *tc, uint64_t us) { tc->now_us += us; }
