/*
 * upstream_health.c -- per-server health, caps and server selection of a
 * forwarding instance (see upstream_health.h; policy in docs/upstream.md).
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "clock.h"
#include "counter.h"
#include "common.h"
#include "config.h"
#include "log.h"
#include "upstream.h"
#include "upstream_health.h"
#include "upstream_log.h"

#define UP_EXPLORE_MASK 31      /* 1 selection in 32 may go to any server that is up */
#define UP_BAND_US 2000         /* servers within best + best/4 + this share the load */
#define UP_STALE_MS 600000      /* forget a server nobody asked for 10 minutes */
#define UP_TOKEN 1000000u       /* one query in the token bucket (micro-queries) */

/* Health of one server address. */
struct up_server {
	struct sockaddr_storage ss;
	socklen_t len;             /* 0: unused entry */
	uint32_t srtt_us;          /* smoothed RTT, timeouts counted as upstream-timeout */
	uint32_t samples;          /* 0: never measured, selected first to get measured */
	uint32_t fails;            /* failures in a row */
	uint32_t outstanding;      /* attempts in flight */
	int down;
	int probing;               /* the one probe of a down server is in flight */
	uint64_t failed_ms;        /* down: last failure (0: probe at once); the next
	                            * probe is due upstream-probe-interval later, as
	                            * configured now (a reload applies at once) */
	uint64_t tokens;           /* QPS bucket, in micro-queries */
	uint64_t tb_us;            /* last refill */
	uint32_t tb_rate;          /* rate the bucket runs at; a change refills it */
	uint64_t last_ms;          /* last attempt started (for forgetting it) */
	uint64_t sent, answered, failed, timeouts;
	uint64_t rtt_hist[UPSTREAM_RTT_BUCKETS];
	uint64_t rtt_sum_us;
};

/* 250 us .. 5 s: loopback and LAN answers at the low end, 168.63.129.16 over
 * a VPN in the middle, timeouts at the top. */
const uint32_t upstream_rtt_bounds_us[UPSTREAM_RTT_BUCKETS - 1] = {
	250, 500, 1000, 2500, 5000, 10000, 25000, 50000, 100000, 250000, 1000000};

static void rtt_record(struct up_server *h, uint32_t rtt_us)
{
	size_t i = 0;
	while (i < UPSTREAM_RTT_BUCKETS - 1 && rtt_us > upstream_rtt_bounds_us[i])
		i++;
	STATS_INC(h->rtt_hist[i]);
	STATS_ADD(h->rtt_sum_us, rtt_us);
}

/* A process-wide cap shared by the workers: each gets its part, at least 1
 * (0 stays "no cap"). */
static uint32_t per_worker(int cap, int workers)
{
	uint32_t v;
	if (cap <= 0)
		return 0;
	v = (uint32_t)cap / (uint32_t)workers;
	return v ? v : 1;
}

/* ------------------------------------------------------------ address index */

static uint32_t addr_hash(const struct up_health *h, const struct sockaddr_storage *ss, socklen_t len)
{
	const uint8_t *p = (const uint8_t *)ss;
	uint32_t x = h->seed ^ 2166136261u;
	socklen_t i;

	for (i = 0; i < len; i++)
		x = (x ^ p[i]) * 16777619u;
	return x ^ (x >> 13);
}

static void htab_insert(struct up_health *h, size_t idx)
{
	uint32_t i = addr_hash(h, &h->hs[idx].ss, h->hs[idx].len) & (UP_HTAB - 1);

	while (h->htab[i] >= 0)
		i = (i + 1) & (UP_HTAB - 1);
	h->htab[i] = (int16_t)idx;
}

/* After entries were dropped: open addressing has no cheap delete, and
 * this happens at most once a second. */
static void htab_rebuild(struct up_health *h)
{
	size_t i;

	for (i = 0; i < UP_HTAB; i++)
		h->htab[i] = -1;
	for (i = 0; i < h->nhs; i++)
		if (h->hs[i].len)
			htab_insert(h, i);
}

/*
 * The health entry of address a, created on first sight.  The table has a
 * fixed size and is never moved, so that upstream_servers() may read it from
 * another thread; when it is full, the entry unused for the longest time
 * that has nothing in flight is recycled.  -1 when every entry is busy
 * (UP_MAX_SERVERS servers with queries in flight at once).
 */
static long server_find(struct up_health *hl, const struct cfg_addr *a, uint64_t now_ms)
{
	size_t i, fr = SIZE_MAX;
	struct up_server *h;
	int evicted = 0;
	uint32_t j = addr_hash(hl, &a->ss, a->len) & (UP_HTAB - 1);

	for (; hl->htab[j] >= 0; j = (j + 1) & (UP_HTAB - 1)) {
		h = &hl->hs[hl->htab[j]];
		if (h->len == a->len && memcmp(&h->ss, &a->ss, a->len) == 0)
			return hl->htab[j];
	}
	for (i = 0; i < hl->nhs && fr == SIZE_MAX; i++)
		if (hl->hs[i].len == 0)
			fr = i;
	if (fr == SIZE_MAX && hl->nhs < UP_MAX_SERVERS)
		fr = hl->nhs; /* counted in, under the lock, below */
	if (fr == SIZE_MAX) {
		uint64_t oldest = UINT64_MAX;
		for (i = 0; i < hl->nhs; i++) {
			h = &hl->hs[i];
			if (h->outstanding == 0 && h->last_ms < oldest) {
				oldest = h->last_ms;
				fr = i;
			}
		}
		if (fr == SIZE_MAX) {
			if (up_warn_limit(hl->warn_ms, now_ms))
				log_warn("upstream: more than %d servers busy at once", UP_MAX_SERVERS);
			return -1;
		}
		/* the owner's sockets for the old address must not carry
		 * queries meant for the new one */
		hl->hooks.drop(hl->hooks.arg, (uint32_t)fr);
		evicted = 1;
	}
	h = &hl->hs[fr];
	pthread_mutex_lock(&hl->lock);
	memset(h, 0, sizeof *h);
	memcpy(&h->ss, &a->ss, a->len);
	h->len = a->len;
	h->last_ms = now_ms;
	if (fr == hl->nhs)
		hl->nhs++;
	pthread_mutex_unlock(&hl->lock);
	if (evicted)
		htab_rebuild(hl);
	else
		htab_insert(hl, fr);
	return (long)fr;
}

/* ------------------------------------------------------------ caps */

static void bucket_refill(struct up_server *h, uint32_t rate, uint64_t now_us)
{
	/* a tenth of a second of burst: at most rate * 1.1 queries fall in
	 * any one-second window */
	uint64_t burst = (uint64_t)(rate / 10 ? rate / 10 : 1) * UP_TOKEN;
	uint64_t el;

	if (h->tb_rate != rate) {
		h->tb_rate = rate;
		h->tokens = burst;
		h->tb_us = now_us;
		return;
	}
	el = now_us > h->tb_us ? now_us - h->tb_us : 0;
	if (el > 1000000)
		el = 1000000;
	h->tb_us = now_us;
	h->tokens += el * rate;
	if (h->tokens > burst)
		h->tokens = burst;
}

static int server_capped(struct up_server *h, uint32_t max_out, uint32_t rate, uint64_t now_us)
{
	if (max_out && h->outstanding >= max_out)
		return 1;
	if (rate) {
		bucket_refill(h, rate, now_us);
		if (h->tokens < UP_TOKEN)
			return 1;
	}
	return 0;
}

/* ------------------------------------------------------------ outcomes */

/* One RTT sample into the smoothed RTT (RFC 6298's 1/8 gain). */
static void srtt_add(struct up_server *h, uint32_t sample_us)
{
	if (h->samples == 0) {
		STATS_SET(h->srtt_us, sample_us);
	} else {
		int64_t d = (int64_t)sample_us - (int64_t)h->srtt_us;
		STATS_SET(h->srtt_us, (uint32_t)((int64_t)h->srtt_us + d / 8));
	}
	STATS_INC(h->samples);
}

static uint32_t timeout_sample(const struct cfg *cfg)
{
	return (uint32_t)cfg->upstream_timeout_ms * 1000u;
}

static void health_back(struct up_server *h)
{
	char sb[80];

	STATS_SET(h->down, 0);
	log_info("upstream %s answers again: back in service (srtt %u us)", up_addr_text(&h->ss, sb, sizeof sb),
		 h->srtt_us);
}

static void health_answer(struct up_server *h, uint32_t rtt_us)
{
	STATS_INC(h->answered);
	STATS_SET(h->fails, 0);
	rtt_record(h, rtt_us);
	if (h->down)
		STATS_SET(h->samples, 0); /* what it did before it went down says nothing now */
	srtt_add(h, rtt_us);
	if (h->down)
		health_back(h);
}

/*
 * A SERVFAIL or REFUSED: the server is reachable, so it is not failing (a
 * name that fails upstream must not take a server down), but a server that
 * answers everything that way must not stay first because it is quick: it
 * counts in the smoothed RTT like a timeout.
 */
static void health_alive(struct up_server *h, const struct cfg *cfg)
{
	STATS_INC(h->answered);
	STATS_SET(h->fails, 0);
	srtt_add(h, timeout_sample(cfg));
	if (h->down)
		health_back(h);
}

static void health_fail(struct up_health *hl, struct up_server *h, const struct cfg *cfg)
{
	uint32_t limit = (uint32_t)cfg->upstream_down_after;
	uint64_t interval = (uint64_t)cfg->upstream_probe_interval_ms;

	STATS_INC(h->failed);
	STATS_INC(h->fails);
	/* A lost packet counts as one slow answer: one loss does not push a
	 * fast server behind a slow one, several in a row do. */
	srtt_add(h, timeout_sample(cfg));
	h->failed_ms = clock_ms(hl->clock);
	if (!h->down && h->fails >= limit) {
		char sb[80];
		STATS_SET(h->down, 1);
		STATS_INC(hl->marked_down);
		log_warn("upstream %s failed %u times in a row: marked down, probed every %llu ms",
			 up_addr_text(&h->ss, sb, sizeof sb), h->fails, (unsigned long long)interval);
	}
}

/* ------------------------------------------------------------ API */

enum fwd_err up_health_init(struct up_health *h, uint32_t seed, const struct fwd_clock *clock, uint64_t *warn_ms,
			    const struct up_health_hooks *hooks)
{
	size_t i;

	memset(h, 0, sizeof *h);
	h->seed = seed;
	h->clock = clock;
	h->warn_ms = warn_ms;
	h->hooks = *hooks;
	for (i = 0; i < UP_HTAB; i++)
		h->htab[i] = -1;
	h->hs = calloc(UP_MAX_SERVERS, sizeof *h->hs);
	if (!h->hs)
		return FWD_ENOMEM;
	pthread_mutex_init(&h->lock, NULL);
	h->lock_init = 1;
	return FWD_OK;
}

void up_health_fini(struct up_health *h)
{
	free(h->hs);
	h->hs = NULL;
	h->nhs = 0;
	if (h->lock_init)
		pthread_mutex_destroy(&h->lock);
	h->lock_init = 0;
}

enum fwd_err up_health_select(struct up_health *hl, const struct cfg *cfg, const struct cfg_upstream *grp,
			      uint64_t tried, uint64_t now_us, uint32_t rnd, size_t *server, uint32_t *hidx,
			      int *probe)
{
	size_t n = grp->nservers < 64 ? grp->nservers : 64;
	uint64_t now_ms = now_us / 1000;
	uint64_t interval = (uint64_t)cfg->upstream_probe_interval_ms;
	long hid[64];
	uint8_t cand[64];
	size_t i, ncand = 0, nband = 0;
	long down_pick = -1, pick;
	uint64_t down_since = UINT64_MAX;
	uint32_t best = UINT32_MAX, limit;
	int capped = 0, fresh = 0;

	*probe = 0;
	for (i = 0; i < n; i++) {
		hid[i] = -1;
		if (!(tried & ((uint64_t)1 << i)))
			hid[i] = server_find(hl, &grp->servers[i], now_ms);
	}
	for (i = 0; i < n; i++) {
		struct up_server *h;
		uint32_t score;

		if (hid[i] < 0)
			continue;
		h = &hl->hs[hid[i]];
		if (server_capped(h, per_worker(grp->caps[i].max_outstanding, cfg->workers),
				  per_worker(grp->caps[i].max_qps, cfg->workers), now_us)) {
			capped = 1;
			continue;
		}
		if (h->down) {
			if (!h->probing && (h->failed_ms == 0 || now_ms >= h->failed_ms + interval)) {
				*probe = 1;
				*hidx = (uint32_t)hid[i];
				*server = i;
				return FWD_OK;
			}
			if (h->failed_ms < down_since) {
				down_since = h->failed_ms;
				down_pick = (long)i;
			}
			continue;
		}
		if (h->samples == 0) {
			/* never measured: it goes first, among the others never
			 * measured, so that its RTT gets known */
			if (!fresh)
				ncand = 0;
			fresh = 1;
			cand[ncand++] = (uint8_t)i;
			continue;
		}
		if (fresh)
			continue;
		score = h->srtt_us;
		cand[ncand++] = (uint8_t)i;
		if (score < best)
			best = score;
	}
	if (ncand == 0) {
		if (down_pick < 0)
			return capped ? FWD_EFULL : FWD_ENOENT;
		*hidx = (uint32_t)hid[down_pick];
		*server = (size_t)down_pick;
		return FWD_OK;
	}
	if (fresh) {
		pick = cand[(rnd >> 8) % ncand];
	} else if (ncand > 1 && (rnd & UP_EXPLORE_MASK) == 0) {
		pick = cand[(rnd >> 8) % ncand];
	} else {
		limit = best + best / 4 + UP_BAND_US;
		if (limit < best)
			limit = UINT32_MAX;
		for (i = 0; i < ncand; i++) {
			if (hl->hs[hid[cand[i]]].srtt_us <= limit)
				cand[nband++] = cand[i];
		}
		pick = cand[(rnd >> 8) % nband];
	}
	*hidx = (uint32_t)hid[pick];
	*server = (size_t)pick;
	return FWD_OK;
}

int up_health_capped(struct up_health *h, uint32_t hidx, const struct cfg *cfg, const struct cfg_caps *caps,
		     uint64_t now_us)
{
	return server_capped(&h->hs[hidx], per_worker(caps->max_outstanding, cfg->workers),
			     per_worker(caps->max_qps, cfg->workers), now_us);
}

void up_health_attempt_start(struct up_health *hl, uint32_t hidx, const struct cfg *cfg,
			     const struct cfg_caps *caps, uint64_t now_ms, int probe)
{
	struct up_server *h = &hl->hs[hidx];

	STATS_INC(h->outstanding);
	STATS_INC(h->sent);
	h->last_ms = now_ms;
	if (probe)
		h->probing = 1;
	if (per_worker(caps->max_qps, cfg->workers) && h->tokens >= UP_TOKEN)
		h->tokens -= UP_TOKEN;
}

void up_health_attempt_end(struct up_health *hl, uint32_t hidx, const struct cfg *cfg, enum up_outcome out,
			   uint32_t rtt_us, int probe)
{
	struct up_server *h = &hl->hs[hidx];

	STATS_DEC(h->outstanding);
	switch (out) {
	case OUT_ANSWER:
		health_answer(h, rtt_us);
		break;
	case OUT_ALIVE:
		health_alive(h, cfg);
		break;
	case OUT_FAIL:
		health_fail(hl, h, cfg);
		break;
	case OUT_ABORT:
		break;
	}
	if (probe) {
		h->probing = 0;
		if (h->down && out == OUT_ABORT)
			h->failed_ms = 0; /* it was not tested: the next query may */
	}
}

void up_health_timeout(struct up_health *hl, uint32_t hidx)
{
	STATS_INC(hl->hs[hidx].timeouts);
}

void up_health_forget(struct up_health *hl, uint64_t now_ms)
{
	size_t i;
	int dropped = 0;

	for (i = 0; i < hl->nhs; i++) {
		struct up_server *h = &hl->hs[i];

		if (h->len == 0)
			continue;
		if (h->outstanding == 0 && !hl->hooks.busy(hl->hooks.arg, (uint32_t)i) &&
		    now_ms - h->last_ms > UP_STALE_MS) {
			pthread_mutex_lock(&hl->lock);
			h->len = 0;
			pthread_mutex_unlock(&hl->lock);
			dropped = 1;
		}
	}
	if (dropped)
		htab_rebuild(hl);
}

size_t up_health_info(const struct up_health *hl, struct upstream_server_info *out, size_t max)
{
	size_t i, n = 0;

	/* the owner changes which address an entry holds only under this
	 * lock (server_find, up_health_forget); the counts it writes with
	 * atomic stores (counter.h) */
	pthread_mutex_lock(&((struct up_health *)hl)->lock);
	for (i = 0; i < hl->nhs; i++) {
		const struct up_server *h = &hl->hs[i];
		if (h->len == 0)
			continue;
		if (out && n < max) {
			struct upstream_server_info *o = &out[n];
			memset(o, 0, sizeof *o);
			memcpy(&o->addr, &h->ss, h->len);
			o->addrlen = h->len;
			o->srtt_us = STATS_GET(h->samples) ? STATS_GET(h->srtt_us) : 0;
			o->outstanding = STATS_GET(h->outstanding);
			o->fails = STATS_GET(h->fails);
			o->down = STATS_GET(h->down);
			o->sent = STATS_GET(h->sent);
			o->answered = STATS_GET(h->answered);
			o->failed = STATS_GET(h->failed);
			o->timeouts = STATS_GET(h->timeouts);
			for (size_t k = 0; k < UPSTREAM_RTT_BUCKETS; k++)
				o->rtt_hist[k] = STATS_GET(h->rtt_hist[k]);
			o->rtt_sum_us = STATS_GET(h->rtt_sum_us);
		}
		n++;
	}
	pthread_mutex_unlock(&((struct up_health *)hl)->lock);
	return n;
}
