/*
 * soa_timer.h -- when a secondary zone is checked and when it expires.
 *
 * RFC 1035 3.3.13 and RFC 1996: a secondary asks its primary for the SOA
 * every REFRESH seconds; after a failed check it tries again every RETRY
 * seconds; when no check has succeeded for EXPIRE seconds the copy is no
 * longer authoritative and the zone answers SERVFAIL (docs/admin-guide.md,
 * "Secondary zones").  A NOTIFY from a primary makes a check due at once.
 *
 * This is only the arithmetic, in milliseconds of a struct fwd_clock
 * (clock.h), so that tests run it in virtual time; xfr_in.c owns a timer
 * per zone and arms it for soa_timer_next().  No allocation, no I/O.
 */
#ifndef PLINKFWD_SOA_TIMER_H
#define PLINKFWD_SOA_TIMER_H

#include <stdint.h>

/* The interval floor: an SOA of refresh or retry 0 must not spin. */
#define SOA_TIMER_MIN_MS 1000u
/* Without a copy there is no SOA to take RETRY from: the first retries
 * come after this, doubling up to SOA_TIMER_NOCOPY_MAX_MS. */
#define SOA_TIMER_NOCOPY_RETRY_MS 2000u
#define SOA_TIMER_NOCOPY_MAX_MS 300000u

struct soa_timer {
	uint64_t refresh_ms, retry_ms, expire_ms; /* of the copy's SOA (floored) */
	uint64_t next_check;  /* clock ms when the next SOA check is due */
	uint64_t expire_at;   /* clock ms when the copy expires (has_copy only) */
	uint64_t last_ok;     /* clock ms of the last successful check; 0 = none */
	uint64_t last_fail;   /* clock ms of the last failed check or transfer; 0 = none */
	uint64_t nocopy_retry; /* the current back-off without a copy */
	uint8_t has_copy;     /* a copy is loaded (from disk or a transfer) */
	uint8_t expired;      /* has_copy, and expire_at has passed */
};

/* No copy yet: a check is due now. */
void soa_timer_init(struct soa_timer *t, uint64_t now);
/* A copy read from disk at start-up whose last successful check was age_s
 * seconds ago (by the wall clock the file recorded): expiry counts from
 * then, the next check is due now (the primary may have moved on). */
void soa_timer_loaded(struct soa_timer *t, uint64_t now, uint32_t refresh, uint32_t retry, uint32_t expire,
		      uint64_t age_s);
/* A check succeeded (the primary's serial was ours, or a transfer was
 * applied), with the SOA timers of the copy now serving. */
void soa_timer_ok(struct soa_timer *t, uint64_t now, uint32_t refresh, uint32_t retry, uint32_t expire);
/* A check or transfer failed: try again after RETRY (or the back-off). */
void soa_timer_failed(struct soa_timer *t, uint64_t now);
/* A NOTIFY: check now. */
void soa_timer_notify(struct soa_timer *t, uint64_t now);
/* 1 once the copy has expired at now (and sets t->expired); 0 otherwise. */
int soa_timer_expire(struct soa_timer *t, uint64_t now);
/* The next moment something is due: a check, or the copy's expiry. */
uint64_t soa_timer_next(const struct soa_timer *t);
/* Milliseconds until expiry at now (0 when expired), or UINT64_MAX without a copy. */
uint64_t soa_timer_left(const struct soa_timer *t, uint64_t now);

#endif
