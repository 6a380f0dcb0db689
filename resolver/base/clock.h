/*
 * clock.h -- the one way daemon code reads the time.
 *
 * Every module that needs "now" is handed a const struct fwd_clock * when it
 * is created and reads it with clock_ms()/clock_us(); nothing calls
 * clock_gettime() itself.  The daemon hands out fwd_clock_monotonic (a
 * constant, CLOCK_MONOTONIC).  Tests hand out a struct fwd_test_clock whose
 * time moves only when the test advances it, so timeouts, TTLs and rate
 * limits are tested in virtual time, without sleeping.
 *
 * The clock is monotonic: only differences mean anything.  Wall-clock time
 * (log and query-log timestamps, token expiry in ARM responses) is read with
 * clock_wall_s() where it is shared with other machines, and with
 * time(2) where it is only printed (logs); never for durations.
 */
#ifndef PLINKFWD_CLOCK_H
#define PLINKFWD_CLOCK_H

#include <stdint.h>

struct fwd_clock {
	/* microseconds since an arbitrary origin; never goes back */
	uint64_t (*now_us)(const struct fwd_clock *c);
	/* seconds since the epoch, for values shared with other machines
	 * (DNS cookie timestamps, RFC 9018); may jump */
	uint64_t (*wall_s)(const struct fwd_clock *c);
};

/* The real monotonic clock (a constant; safe from every thread). */
extern const struct fwd_clock fwd_clock_monotonic;

static inline uint64_t clock_us(const struct fwd_clock *c) { return c->now_us(c); }
static inline uint64_t clock_ms(const struct fwd_clock *c) { return c->now_us(c) / 1000u; }
static inline uint64_t clock_wall_s(const struct fwd_clock *c) { return c->wall_s(c); }

/* A clock the test drives: starts at start_us, moves with
 * fwd_test_clock_advance(); its wall clock is wall_base_s plus the same
 * elapsed time.  Single-threaded use only. */
struct fwd_test_clock {
	struct fwd_clock clock;   /* hand &tc->clock to modules */
	uint64_t now_us;
	uint64_t start_us;
	uint64_t wall_base_s;     /* wall clock at start (default 1.7e9) */
};
void fwd_test_clock_init(struct fwd_test_clock *tc, uint64_t start_us);
void fwd_test_clock_advance(struct fwd_test_clock *tc, uint64_t us);

#endif
