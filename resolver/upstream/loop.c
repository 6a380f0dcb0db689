/*
 * loop.c -- the in-flight table shared by the workers, the loops found and
 * the probed routes (see loop.h).
 */
#include "loop.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "log.h"
#include "siphash.h"
#include "upstream_log.h"

/* A slot: tag << 32 | looped bit | count (31 bits); 0 = free. */
#define SLOT_LOOPED 0x80000000u
#define SLOT_COUNT 0x7fffffffu
#define SLOT_TAG(v) ((uint32_t)((v) >> 32))
#define SLOT_CNT(v) ((uint32_t)(v) & SLOT_COUNT)

#define LOG_SLOTS 32 /* (group, zone cut) pairs whose last log line is remembered */

struct log_slot {
	char group[LOOP_NAME_MAX];
	char cut[LOOP_TEXT_MAX];
	uint64_t last_ms;
	int used;
};

struct route_slot {
	struct loop_route_info info;
	char nonce[LOOP_PROBE_NONCE_LEN];
	int used;
	int seen; /* by the current probe run */
};

struct loop_guard {
	const struct fwd_clock *clock;
	uint8_t key[SIPHASH_KEY_LEN];
	_Atomic uint64_t *slots;
	size_t mask;
	atomic_uint_fast64_t tracked, untracked;
	/* under lock */
	pthread_mutex_t lock;
	struct loop_group_info groups[LOOP_MAX_GROUPS];
	size_t ngroups;
	uint64_t detected;
	struct log_slot logs[LOG_SLOTS];
	struct route_slot routes[LOOP_MAX_ROUTES];
	atomic_int probes_pending; /* routes LOOP_PROBE_PENDING (read without the lock) */
};

enum fwd_err loop_guard_new(const struct fwd_clock *clock, size_t slots, struct loop_guard **out)
{
	size_t n = 1024;
	struct loop_guard *g = calloc(1, sizeof(*g));

	if (!g)
		return FWD_ENOMEM;
	while (n < slots && n < ((size_t)1 << 26))
		n <<= 1;
	g->slots = calloc(n, sizeof(*g->slots));
	if (!g->slots) {
		free(g);
		return FWD_ENOMEM;
	}
	g->mask = n - 1;
	g->clock = clock;
	/* a client must not be able to aim questions at one window */
	fwd_random(g->key, sizeof(g->key));
	pthread_mutex_init(&g->lock, NULL);
	*out = g;
	return FWD_OK;
}

void loop_guard_free(struct loop_guard *g)
{
	if (!g)
		return;
	pthread_mutex_destroy(&g->lock);
	free((void *)g->slots);
	free(g);
}

/* ------------------------------------------------------------ in flight */

uint64_t loop_key(const struct loop_guard *g, size_t group, const uint8_t *qname, size_t qname_len, uint16_t qtype,
		  uint16_t qclass)
{
	uint8_t buf[8 + 255], out[SIPHASH_OUT_LEN];
	uint64_t h = 0;

	if (qname_len > 255)
		qname_len = 255;
	buf[0] = (uint8_t)(group >> 24);
	buf[1] = (uint8_t)(group >> 16);
	buf[2] = (uint8_t)(group >> 8);
	buf[3] = (uint8_t)group;
	buf[4] = (uint8_t)(qtype >> 8);
	buf[5] = (uint8_t)qtype;
	buf[6] = (uint8_t)(qclass >> 8);
	buf[7] = (uint8_t)qclass;
	memcpy(buf + 8, qname, qname_len);
	siphash24(g->key, buf, 8 + qname_len, out);
	for (int i = 7; i >= 0; i--)
		h = h << 8 | out[i];
	return h;
}

static inline _Atomic uint64_t *slot_at(const struct loop_guard *g, uint64_t key, unsigned i)
{
	return &g->slots[((size_t)key + i) & g->mask];
}

/* The slot holding key's tag with a count, or NULL; *v its value. */
static _Atomic uint64_t *slot_find(const struct loop_guard *g, uint64_t key, uint64_t *v)
{
	uint32_t tag = (uint32_t)(key >> 32);
	for (unsigned i = 0; i < LOOP_WINDOW; i++) {
		_Atomic uint64_t *s = slot_at(g, key, i);
		uint64_t x = atomic_load_explicit(s, memory_order_acquire);
		if (SLOT_CNT(x) && SLOT_TAG(x) == tag) {
			*v = x;
			return s;
		}
	}
	return NULL;
}

int loop_inflight_add(struct loop_guard *g, uint64_t key)
{
	uint32_t tag = (uint32_t)(key >> 32);

	/* a few rounds: another worker may change the window meanwhile */
	for (int round = 0; round < 4; round++) {
		uint64_t v;
		_Atomic uint64_t *s = slot_find(g, key, &v);
		if (s) {
			if (SLOT_CNT(v) == SLOT_COUNT)
				break;
			if (atomic_compare_exchange_strong_explicit(s, &v, v + 1, memory_order_acq_rel,
								    memory_order_relaxed)) {
				atomic_fetch_add_explicit(&g->tracked, 1, memory_order_relaxed);
				return 1;
			}
			continue;
		}
		int free_seen = 0;
		for (unsigned i = 0; i < LOOP_WINDOW; i++) {
			s = slot_at(g, key, i);
			v = atomic_load_explicit(s, memory_order_relaxed);
			if (SLOT_CNT(v) != 0)
				continue;
			free_seen = 1;
			if (atomic_compare_exchange_strong_explicit(s, &v, (uint64_t)tag << 32 | 1u,
								    memory_order_acq_rel, memory_order_relaxed)) {
				atomic_fetch_add_explicit(&g->tracked, 1, memory_order_relaxed);
				return 1;
			}
			break; /* taken under us: look for the key again */
		}
		if (!free_seen)
			break; /* every slot of the window holds another key */
	}
	atomic_fetch_add_explicit(&g->untracked, 1, memory_order_relaxed);
	return 0;
}

int loop_inflight_del(struct loop_guard *g, uint64_t key)
{
	for (;;) {
		uint64_t v, nv;
		_Atomic uint64_t *s = slot_find(g, key, &v);
		if (!s)
			return 0; /* never happens for a tracked step */
		nv = SLOT_CNT(v) == 1 ? 0 : v - 1;
		if (atomic_compare_exchange_strong_explicit(s, &v, nv, memory_order_acq_rel, memory_order_relaxed))
			return (v & SLOT_LOOPED) != 0;
	}
}

int loop_inflight(const struct loop_guard *g, uint64_t key)
{
	uint64_t v;
	return slot_find(g, key, &v) != NULL;
}

/* Flag key's slot: a loop was found for that question. */
static void inflight_flag(struct loop_guard *g, uint64_t key)
{
	for (int round = 0; round < 4; round++) {
		uint64_t v;
		_Atomic uint64_t *s = slot_find(g, key, &v);
		if (!s || (v & SLOT_LOOPED))
			return;
		if (atomic_compare_exchange_strong_explicit(s, &v, v | SLOT_LOOPED, memory_order_acq_rel,
							    memory_order_relaxed))
			return;
	}
}

/* ------------------------------------------------------------ loops found */

static void copy_text(char *dst, size_t cap, const char *src)
{
	snprintf(dst, cap, "%s", src ? src : "");
}

/* A client's address as text, without its port: the port of a query is
 * random and says nothing about which server sent it. */
static const char *host_text(const struct sockaddr_storage *ss, char *buf, size_t len)
{
	up_addr_text(ss, buf, len);
	char *at = strrchr(buf, '@');
	if (at)
		*at = 0;
	if (buf[0] == '[' && at && at > buf && at[-1] == ']') {
		memmove(buf, buf + 1, strlen(buf));
		buf[strlen(buf) - 1] = 0;
	}
	return buf;
}

/* The group's record (under lock); the last one is shared by every group
 * beyond LOOP_MAX_GROUPS - 1. */
static struct loop_group_info *group_rec(struct loop_guard *g, const char *name)
{
	for (size_t i = 0; i < g->ngroups; i++)
		if (strncmp(g->groups[i].name, name, LOOP_NAME_MAX - 1) == 0)
			return &g->groups[i];
	if (g->ngroups == LOOP_MAX_GROUPS)
		return &g->groups[LOOP_MAX_GROUPS - 1];
	struct loop_group_info *r = &g->groups[g->ngroups++];
	copy_text(r->name, sizeof(r->name), g->ngroups == LOOP_MAX_GROUPS ? "other" : name);
	return r;
}

/* Is a log line due for (group, cut)?  Under lock.  The oldest entry
 * makes room for a new pair. */
static int log_due(struct loop_guard *g, const char *group, const char *cut, uint64_t now_ms)
{
	struct log_slot *old = &g->logs[0];
	for (size_t i = 0; i < LOG_SLOTS; i++) {
		struct log_slot *l = &g->logs[i];
		if (l->used && strncmp(l->group, group, LOOP_NAME_MAX - 1) == 0 &&
		    strncmp(l->cut, cut, LOOP_TEXT_MAX - 1) == 0)
		{
			if (now_ms - l->last_ms < LOOP_LOG_INTERVAL_MS)
				return 0;
			l->last_ms = now_ms;
			return 1;
		}
		if (!l->used || (old->used && l->last_ms < old->last_ms))
			old = l;
	}
	old->used = 1;
	copy_text(old->group, sizeof(old->group), group);
	copy_text(old->cut, sizeof(old->cut), cut);
	old->last_ms = now_ms;
	return 1;
}

void loop_report(struct loop_guard *g, uint64_t key, const char *group, const char *cut,
		 const struct sockaddr_storage *from, const char *qname_text)
{
	char addr[64];
	uint64_t now_ms = clock_ms(g->clock);

	if (key)
		inflight_flag(g, key);
	host_text(from, addr, sizeof(addr));
	pthread_mutex_lock(&g->lock);
	struct loop_group_info *r = group_rec(g, group);
	r->detected++;
	g->detected++;
	copy_text(r->last_cut, sizeof(r->last_cut), cut);
	copy_text(r->last_from, sizeof(r->last_from), addr);
	r->last_wall_s = clock_wall_s(g->clock);
	int due = log_due(g, group, cut, now_ms);
	uint64_t total = r->detected;
	pthread_mutex_unlock(&g->lock);
	if (due)
		log_warn("forwarding loop via group %s: %s came back from %s, a server of that group, while "
			 "plinkfwd was still asking the group for it (zone cut %s); answered SERVFAIL instead of "
			 "forwarding it again (%llu so far; logged at most once per %d s for this group and zone)",
			 group, qname_text, addr, cut, (unsigned long long)total, LOOP_LOG_INTERVAL_MS / 1000);
}

size_t loop_groups(struct loop_guard *g, struct loop_group_info *out, size_t max)
{
	pthread_mutex_lock(&g->lock);
	size_t n = g->ngroups;
	for (size_t i = 0; i < n && i < max; i++)
		out[i] = g->groups[i];
	pthread_mutex_unlock(&g->lock);
	return n;
}

uint64_t loop_group_detected(struct loop_guard *g, const char *group)
{
	uint64_t n = 0;
	pthread_mutex_lock(&g->lock);
	for (size_t i = 0; i < g->ngroups; i++)
		if (strncmp(g->groups[i].name, group, LOOP_NAME_MAX - 1) == 0)
			n = g->groups[i].detected;
	pthread_mutex_unlock(&g->lock);
	return n;
}

void loop_guard_stats(struct loop_guard *g, struct loop_guard_stats *out)
{
	out->tracked = atomic_load_explicit(&g->tracked, memory_order_relaxed);
	out->untracked = atomic_load_explicit(&g->untracked, memory_order_relaxed);
	pthread_mutex_lock(&g->lock);
	out->detected = g->detected;
	pthread_mutex_unlock(&g->lock);
}

/* ------------------------------------------------------------ probed routes */

const char *loop_probe_state_name(enum loop_probe_state s)
{
	switch (s) {
	case LOOP_PROBE_PENDING: return "pending";
	case LOOP_PROBE_OK: return "ok";
	case LOOP_PROBE_LOOPS: return "loops";
	case LOOP_PROBE_FAILED: return "no answer";
	default: return "not probed";
	}
}

static struct route_slot *route_find(struct loop_guard *g, const char *group, const char *zone, int make)
{
	struct route_slot *free_slot = NULL;
	for (size_t i = 0; i < LOOP_MAX_ROUTES; i++) {
		struct route_slot *r = &g->routes[i];
		if (!r->used) {
			if (!free_slot)
				free_slot = r;
			continue;
		}
		if (strncmp(r->info.group, group, LOOP_NAME_MAX - 1) == 0 &&
		    strncmp(r->info.zone, zone, LOOP_TEXT_MAX - 1) == 0)
			return r;
	}
	if (!make || !free_slot)
		return NULL;
	memset(free_slot, 0, sizeof(*free_slot));
	free_slot->used = 1;
	copy_text(free_slot->info.group, sizeof(free_slot->info.group), group);
	copy_text(free_slot->info.zone, sizeof(free_slot->info.zone), zone);
	return free_slot;
}

static void set_state(struct loop_guard *g, struct route_slot *r, enum loop_probe_state st)
{
	if (r->info.state == LOOP_PROBE_PENDING && st != LOOP_PROBE_PENDING)
		atomic_fetch_sub(&g->probes_pending, 1);
	else if (r->info.state != LOOP_PROBE_PENDING && st == LOOP_PROBE_PENDING)
		atomic_fetch_add(&g->probes_pending, 1);
	r->info.state = st;
}

enum fwd_err loop_probe_begin(struct loop_guard *g, const char *group, const char *zone, uint64_t interval_ms,
			      size_t *route, char nonce[LOOP_PROBE_NONCE_LEN], uint64_t *wait_ms)
{
	static const char hex[] = "0123456789abcdef";
	uint64_t now = clock_ms(g->clock);
	uint8_t rnd[LOOP_PROBE_NONCE_LEN / 2];
	enum fwd_err rc = FWD_OK;

	*wait_ms = 0;
	fwd_random(rnd, sizeof(rnd));
	pthread_mutex_lock(&g->lock);
	struct route_slot *r = route_find(g, group, zone, 1);
	if (!r) {
		rc = FWD_EFULL;
	} else {
		r->seen = 1;
		if (r->info.probes && now - r->info.sent_ms < interval_ms) {
			*wait_ms = interval_ms - (now - r->info.sent_ms);
			rc = FWD_EFULL;
		} else {
			for (size_t i = 0; i < sizeof(rnd); i++) {
				r->nonce[2 * i] = hex[rnd[i] >> 4];
				r->nonce[2 * i + 1] = hex[rnd[i] & 15];
			}
			memcpy(nonce, r->nonce, LOOP_PROBE_NONCE_LEN);
			r->info.sent_ms = now;
			r->info.sent_wall_s = clock_wall_s(g->clock);
			r->info.probes++;
			r->info.via[0] = 0;
			r->info.rcode = -1;
			set_state(g, r, LOOP_PROBE_PENDING);
			*route = (size_t)(r - g->routes);
		}
	}
	pthread_mutex_unlock(&g->lock);
	return rc;
}

void loop_probe_end(struct loop_guard *g, size_t route, enum loop_probe_state st, int rcode)
{
	if (route >= LOOP_MAX_ROUTES)
		return;
	pthread_mutex_lock(&g->lock);
	struct route_slot *r = &g->routes[route];
	if (r->used && r->info.state == LOOP_PROBE_PENDING) {
		set_state(g, r, st);
		r->info.rcode = rcode;
	}
	pthread_mutex_unlock(&g->lock);
}

int loop_probe_match(struct loop_guard *g, const uint8_t *qname, size_t qname_len,
		     const struct sockaddr_storage *from, char group[LOOP_NAME_MAX])
{
	static const size_t plen = sizeof(LOOP_PROBE_LABEL) - 1;
	size_t second = 1 + LOOP_PROBE_NONCE_LEN;

	group[0] = 0;
	/* <nonce>.plinkfwd-loop-probe.<zone>: the shape alone, no lock */
	if (qname_len < second + 1 + plen + 1 || qname[0] != LOOP_PROBE_NONCE_LEN || qname[second] != plen ||
	    memcmp(qname + second + 1, LOOP_PROBE_LABEL, plen) != 0)
		return 0;
	if (atomic_load(&g->probes_pending) == 0)
		return 1;

	char addr[64];
	struct route_slot *hit = NULL;
	pthread_mutex_lock(&g->lock);
	for (size_t i = 0; i < LOOP_MAX_ROUTES && !hit; i++) {
		struct route_slot *r = &g->routes[i];
		if (r->used && r->info.state == LOOP_PROBE_PENDING &&
		    memcmp(r->nonce, qname + 1, LOOP_PROBE_NONCE_LEN) == 0)
			hit = r;
	}
	if (hit) {
		set_state(g, hit, LOOP_PROBE_LOOPS);
		copy_text(hit->info.via, sizeof(hit->info.via), host_text(from, addr, sizeof(addr)));
		copy_text(group, LOOP_NAME_MAX, hit->info.group);
		struct loop_group_info *gr = group_rec(g, hit->info.group);
		gr->detected++;
		g->detected++;
		copy_text(gr->last_cut, sizeof(gr->last_cut), hit->info.zone);
		copy_text(gr->last_from, sizeof(gr->last_from), addr);
		gr->last_wall_s = clock_wall_s(g->clock);
		log_warn("loop probe: the probe for zone %s sent through group %s came back to plinkfwd from %s: "
			 "that route loops (names under %s forwarded by plinkfwd are forwarded back to it); "
			 "see docs/onprem-recipes.md, Loops",
			 hit->info.zone, hit->info.group, addr, hit->info.zone);
	}
	pthread_mutex_unlock(&g->lock);
	return 1;
}

void loop_routes_sweep_begin(struct loop_guard *g)
{
	pthread_mutex_lock(&g->lock);
	for (size_t i = 0; i < LOOP_MAX_ROUTES; i++)
		g->routes[i].seen = 0;
	pthread_mutex_unlock(&g->lock);
}

void loop_routes_sweep_end(struct loop_guard *g)
{
	pthread_mutex_lock(&g->lock);
	for (size_t i = 0; i < LOOP_MAX_ROUTES; i++) {
		struct route_slot *r = &g->routes[i];
		if (r->used && !r->seen) {
			set_state(g, r, LOOP_PROBE_NONE);
			r->used = 0;
		}
	}
	pthread_mutex_unlock(&g->lock);
}

size_t loop_routes(struct loop_guard *g, struct loop_route_info *out, size_t max)
{
	size_t n = 0;
	pthread_mutex_lock(&g->lock);
	for (size_t i = 0; i < LOOP_MAX_ROUTES; i++) {
		if (!g->routes[i].used)
			continue;
		if (n < max)
			out[n] = g->routes[i].info;
		n++;
	}
	pthread_mutex_unlock(&g->lock);
	return n;
}

size_t loop_routes_looping(struct loop_guard *g)
{
	size_t n = 0;
	pthread_mutex_lock(&g->lock);
	for (size_t i = 0; i < LOOP_MAX_ROUTES; i++)
		n += g->routes[i].used && g->routes[i].info.state == LOOP_PROBE_LOOPS;
	pthread_mutex_unlock(&g->lock);
	return n;
}
