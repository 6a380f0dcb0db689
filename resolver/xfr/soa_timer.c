/*
 * soa_timer.c -- the SOA refresh, retry and expire arithmetic (soa_timer.h).
 */
#include "soa_timer.h"

static uint64_t floor_ms(uint32_t s)
{
	uint64_t ms = (uint64_t)s * 1000u;
	return ms < SOA_TIMER_MIN_MS ? SOA_TIMER_MIN_MS : ms;
}

void soa_timer_init(struct soa_timer *t, uint64_t now)
{
	*t = (struct soa_timer){0};
	t->next_check = now;
	t->nocopy_retry = SOA_TIMER_NOCOPY_RETRY_MS;
}

static void set_soa(struct soa_timer *t, uint32_t refresh, uint32_t retry, uint32_t expire)
{
	t->refresh_ms = floor_ms(refresh);
	t->retry_ms = floor_ms(retry);
	/* expire may be short on purpose (a test, a zone that must not
	 * outlive its primary), but never 0: a copy is served at least once */
	t->expire_ms = floor_ms(expire);
}

void soa_timer_loaded(struct soa_timer *t, uint64_t now, uint32_t refresh, uint32_t retry, uint32_t expire,
		      uint64_t age_s)
{
	set_soa(t, refresh, retry, expire);
	t->has_copy = 1;
	t->expired = 0;
	uint64_t age_ms = age_s * 1000u;
	/* the copy's age is taken off its remaining life; the monotonic
	 * clock may start near 0, so expiry cannot be put before it */
	t->expire_at = age_ms >= t->expire_ms ? now : now + (t->expire_ms - age_ms);
	t->next_check = now;
}

void soa_timer_ok(struct soa_timer *t, uint64_t now, uint32_t refresh, uint32_t retry, uint32_t expire)
{
	set_soa(t, refresh, retry, expire);
	t->has_copy = 1;
	t->expired = 0;
	t->last_ok = now;
	t->expire_at = now + t->expire_ms;
	t->next_check = now + t->refresh_ms;
	t->nocopy_retry = SOA_TIMER_NOCOPY_RETRY_MS;
}

void soa_timer_failed(struct soa_timer *t, uint64_t now)
{
	t->last_fail = now;
	if (t->has_copy) {
		t->next_check = now + t->retry_ms;
		return;
	}
	t->next_check = now + t->nocopy_retry;
	t->nocopy_retry *= 2;
	if (t->nocopy_retry > SOA_TIMER_NOCOPY_MAX_MS)
		t->nocopy_retry = SOA_TIMER_NOCOPY_MAX_MS;
}

void soa_timer_notify(struct soa_timer *t, uint64_t now)
{
	t->next_check = now;
}

int soa_timer_expire(struct soa_timer *t, uint64_t now)
{
	if (!t->has_copy || now < t->expire_at)
		return 0;
	t->expired = 1;
	return 1;
}

uint64_t soa_timer_next(const struct soa_timer *t)
{
	if (t->has_copy && !t->expired && t->expire_at < t->next_check)
		return t->expire_at;
	return t->next_check;
}

uint64_t soa_timer_left(const struct soa_timer *t, uint64_t now)
{
	if (!t->has_copy)
		return UINT64_MAX;
	return now >= t->expire_at ? 0 : t->expire_at - now;
}
