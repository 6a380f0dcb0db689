/*
 * fuzz_arm_zones.c -- libFuzzer target for ARM sync rounds: the zone-list
 * JSON of two subscriptions (discovery, nextLink paging, zone filters,
 * resource ids), then the record-set pages of every zone found, the merge
 * of same-named zones, the zone build and publish, and a second round over
 * what the first one published (updated, unchanged and removed zones).
 *
 * The sync is the real one (arm_sync_new() with an arm: config of two
 * subscriptions, managed identity, max-retries 0, no state-dir) on its own
 * event base and a fwd_test_clock; its HTTP requests are answered in
 * process (fuzz_arm.h): token requests with a fixed token, every ARM request
 * with the input's next chunk.
 *
 * Input: chunks separated by NUL bytes, one per ARM request in the order
 * the sync sends them (zone lists first, then record lists, then the next
 * pages).  A chunk that starts with "HTTP NNN\n" is answered with that
 * status, others with 200.  When the chunks run out, ARM answers
 * {"value":[]}.  If chunks are left when the first round ends, a second
 * round runs on them.
 *
 * Checked: each round ends; published zones are sorted, ARM zones, and
 * answer safely (fuzz_zone.h); the per-zone state is readable.
 */
#include <event2/event.h>

#include "arm_config.h"
#include "arm_sync.h"
#include "cloud.h"
#include "clock.h"
#include "fuzz.h"
#include "fuzz_arm.h"
#include "fuzz_zone.h"
#include "log.h"
#include "route.h"
#include "zone.h"

#define MAX_REQUESTS 200 /* per round: later ones get 404 */

static struct event_base *base;
static struct fwd_test_clock tclock;
static struct arm_cfg *acfg;

static const char TOKEN[] = "{\"token_type\":\"Bearer\",\"expires_in\":\"3599\",\"access_token\":\"fuzz.token\"}";
static const char EMPTY[] = "{\"value\":[]}";

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	static const char *const keys[][2] = {
		{"subscription", "00000000-0000-0000-0000-00000000aaaa"},
		{"subscription", "00000000-0000-0000-0000-00000000bbbb"},
		{"max-retries", "0"},
		{"zone-fallback", "privatelink.*.azure.com public"},
	};
	char err[300];

	log_set_level(LOG_LVL_ERR);
	base = event_base_new();
	acfg = arm_cfg_new();
	if (!base || !acfg)
		abort();
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		if (arm_cfg_set(acfg, keys[i][0], keys[i][1], err, sizeof(err)) != 0) {
			fprintf(stderr, "fuzz_arm_zones: %s: %s\n", keys[i][0], err);
			abort();
		}
	if (arm_cfg_finish(acfg, err, sizeof(err)) != 0) {
		fprintf(stderr, "fuzz_arm_zones: %s\n", err);
		abort();
	}
	return 0;
}

static void publish(void *ctx, const struct route_zone *zones, size_t n)
{
	(void)ctx;
	for (size_t i = 0; i < n; i++) {
		size_t al, bl;
		FUZZ_ASSERT(zones[i].zone != NULL && zones[i].origin == ORIGIN_ZONE_ARM);
		if (i > 0) {
			const uint8_t *a = zone_apex(zones[i - 1].zone, &al);
			const uint8_t *b = zone_apex(zones[i].zone, &bl);
			FUZZ_ASSERT(al != bl || memcmp(a, b, al) != 0); /* one zone per name */
		}
		if (i < 4)
			fuzz_zone_probe(zones[i].zone, "");
	}
}

/* The input's next chunk (up to a NUL or the end); 0 when none is left. */
static int next_chunk(struct fuzz_in *in, const uint8_t **p, size_t *len)
{
	if (in->n == 0)
		return 0;
	const uint8_t *nul = memchr(in->p, 0, in->n);
	*p = in->p;
	*len = nul ? (size_t)(nul - in->p) : in->n;
	in->p += *len + (nul ? 1 : 0);
	in->n -= *len + (nul ? 1 : 0);
	return 1;
}

/* Answer one ARM (or token) request. */
static void answer(struct fuzz_in *in, const struct fuzz_http_req *r, unsigned *nreq)
{
	const uint8_t *p;
	size_t len;
	long status = 200;

	if (strncmp(r->url, "http://169.254.169.254/", 23) == 0) {
		FUZZ_ASSERT(r->metadata && (r->flags & ARM_HTTP_NOPROXY));
		fuzz_http_answer(r, 200, TOKEN, strlen(TOKEN));
		return;
	}
	/* the token goes only to ARM itself */
	FUZZ_ASSERT(arm_http_same_origin(r->url, "https://management.azure.com"));
	if (++*nreq > MAX_REQUESTS) {
		fuzz_http_answer(r, 404, "", 0);
		return;
	}
	if (!next_chunk(in, &p, &len)) {
		fuzz_http_answer(r, 200, EMPTY, strlen(EMPTY));
		return;
	}
	if (len >= 9 && memcmp(p, "HTTP ", 5) == 0 && p[8] == '\n' && p[5] >= '1' && p[5] <= '5' && p[6] >= '0' &&
	    p[6] <= '9' && p[7] >= '0' && p[7] <= '9') {
		status = (p[5] - '0') * 100 + (p[6] - '0') * 10 + (p[7] - '0');
		p += 9;
		len -= 9;
	}
	fuzz_http_answer(r, status, p, len);
}

/* One sync round, answered from the input; 1 when it ended. */
static int round_run(struct arm_sync *s, struct fuzz_in *in)
{
	struct arm_sync_stats st;
	uint64_t rounds;
	unsigned nreq = 0;

	arm_sync_stats(s, &st);
	rounds = st.rounds;
	arm_sync_trigger(s, NULL);
	for (int idle = 0; idle < 4;) {
		struct fuzz_http_req r;
		event_base_loop(base, EVLOOP_NONBLOCK);
		if (fuzz_http_next(&r)) {
			answer(in, &r, &nreq);
			free(r.url);
			idle = 0;
			continue;
		}
		arm_sync_stats(s, &st);
		if (!st.running && st.rounds > rounds)
			return 1;
		idle++;
	}
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_in in = {data, size};

	if (size > 1024 * 1024)
		return 0;
	fwd_test_clock_init(&tclock, 1000 * 1000000ull);
	struct arm_sync *s = arm_sync_new(base, &tclock.clock, acfg, CLOUD_AZURE, NULL, publish, NULL);
	FUZZ_ASSERT(s != NULL);
	FUZZ_ASSERT(round_run(s, &in));
	if (in.n > 0) {
		fwd_test_clock_advance(&tclock, 60 * 1000000ull);
		FUZZ_ASSERT(round_run(s, &in));
	}
	for (size_t i = 0, n = arm_sync_zone_count(s); i < n; i++) {
		struct arm_zone_info zi;
		FUZZ_ASSERT(arm_sync_zone_at(s, i, &zi) == 0);
		FUZZ_ASSERT(zi.name != NULL);
		FUZZ_ASSERT(arm_sync_zone_info(s, zi.name, &zi) == 0);
	}
	arm_sync_free(s);
	fuzz_http_reset();
	event_base_loop(base, EVLOOP_NONBLOCK);
	return 0;
}
