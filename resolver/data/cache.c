/*
 * cache.c -- the answer cache (see cache.h for what is cached and why).
 *
 * Layout: one block per entry -- the struct, the TTL offsets, the key name
 * and the message -- so an entry is one malloc and one free, and a hit
 * touches one contiguous piece of memory.  Each shard has an LRU list
 * threaded through the entries, most recent first, and an open-addressing
 * hash table of (hash, entry) slots, linear probing, at most half full
 * (doubled beyond).  The hash sits in the slot so that a probe dereferences
 * an entry only when its hash matches: on a large cache a miss costs one or
 * two cache lines of the table instead of a walk over scattered entries.
 *
 * Why shared and not per worker: a per-worker cache needs no lock, but with
 * N workers every name is fetched and stored N times (the kernel spreads a
 * client's queries over the workers), a flush has to reach into N threads,
 * and the size limit becomes N separate limits.  Sharding keeps the lock
 * uncontended in practice: with one worker there is a single shard whose
 * lock only that worker (and a rare flush) takes.
 */
#include "cache.h"

#include <pthread.h>
#include <stdalign.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"
#include "log.h"
#include "wire.h"

#define CACHE_MAX_SHARDS 64
#define CACHE_MIN_SHARD_BYTES (256u * 1024u) /* below this, fewer shards */
#define CACHE_MIN_SLOTS 64

struct cache_entry {
	struct cache_entry *prev, *next;    /* LRU list, most recently used first */
	uint64_t gen;                       /* snapshot generation it depends on; 0 = none */
	uint64_t stored_ms;                 /* when the TTLs in msg were current */
	uint64_t expire_ms;                 /* stored_ms + smallest TTL */
	size_t size;                        /* bytes charged to the shard */
	uint32_t hash;
	uint16_t qtype, qclass;
	uint16_t msg_len;
	uint16_t nttl;
	uint8_t do_bit;
	uint8_t name_len;
	/* nttl uint16_t TTL offsets, then name_len name bytes, then msg_len message bytes */
	alignas(uint16_t) uint8_t data[];
};

struct cache_slot {
	struct cache_entry *e;              /* NULL: empty */
	uint32_t hash;                      /* e->hash */
};

struct cache_shard {
	alignas(64) pthread_mutex_t lock;
	struct cache_slot *slots;
	size_t nslots;                      /* power of two, >= 2 * count */
	size_t count;
	uint64_t bytes;
	uint64_t limit;
	uint64_t evictions;                 /* entries dropped to stay under limit */
	struct cache_entry *head, *tail;    /* LRU */
};

struct cache {
	uint64_t limit;                     /* total; 0: store and find nothing */
	struct cache_shard *shards;
	unsigned nshards;                   /* power of two */
	unsigned shard_shift;               /* shard = hash >> shift (top bits) */
};

static inline uint16_t *entry_ttls(struct cache_entry *e) { return (uint16_t *)(void *)e->data; }
static inline uint8_t *entry_name(struct cache_entry *e) { return e->data + 2u * e->nttl; }
static inline uint8_t *entry_msg(struct cache_entry *e) { return entry_name(e) + e->name_len; }

static uint32_t key_hash(const uint8_t *name, size_t len, uint16_t qtype, uint16_t qclass, int do_bit)
{
	uint32_t h = wire_hash(name, len);
	h ^= ((uint32_t)qtype << 8) ^ ((uint32_t)qclass << 24) ^ (do_bit ? 0x5bd1e995u : 0);
	/* the low bits pick the bucket, the high bits the shard: mix both */
	h ^= h >> 15;
	h *= 0x2c1b3c6du;
	h ^= h >> 12;
	return h;
}

/* ------------------------------------------------------------ shard internals (lock held) */

static void lru_unlink(struct cache_shard *s, struct cache_entry *e)
{
	if (e->prev)
		e->prev->next = e->next;
	else
		s->head = e->next;
	if (e->next)
		e->next->prev = e->prev;
	else
		s->tail = e->prev;
	e->prev = e->next = NULL;
}

static void lru_push_front(struct cache_shard *s, struct cache_entry *e)
{
	e->prev = NULL;
	e->next = s->head;
	if (s->head)
		s->head->prev = e;
	s->head = e;
	if (!s->tail)
		s->tail = e;
}

/* Empty slot i and move later slots of its probe run back into the hole,
 * so that every entry stays reachable from its home slot (no tombstones). */
static void slots_delete(struct cache_shard *s, size_t i)
{
	size_t mask = s->nslots - 1, j = i;
	for (;;) {
		j = (j + 1) & mask;
		if (!s->slots[j].e)
			break;
		size_t home = s->slots[j].hash & mask;
		/* can slot j's entry move to i?  only if its home is not in (i, j] */
		int stays = i <= j ? (home > i && home <= j) : (home > i || home <= j);
		if (!stays) {
			s->slots[i] = s->slots[j];
			i = j;
		}
	}
	s->slots[i].e = NULL;
}

static void shard_remove(struct cache_shard *s, struct cache_entry *e)
{
	size_t mask = s->nslots - 1, i = e->hash & mask;
	while (s->slots[i].e && s->slots[i].e != e)
		i = (i + 1) & mask;
	if (s->slots[i].e == e)
		slots_delete(s, i);
	lru_unlink(s, e);
	s->count--;
	s->bytes -= e->size;
	free(e);
}

static struct cache_entry *shard_find(struct cache_shard *s, uint32_t h, const uint8_t *name, size_t len,
				      uint16_t qtype, uint16_t qclass, int do_bit)
{
	size_t mask = s->nslots - 1, i = h & mask;
	for (;; i = (i + 1) & mask) {
		const struct cache_slot *sl = &s->slots[i];
		struct cache_entry *e = sl->e;
		if (!e)
			return NULL;
		if (sl->hash == h && e->qtype == qtype && e->qclass == qclass && e->do_bit == do_bit &&
		    e->name_len == len && memcmp(entry_name(e), name, len) == 0)
			return e;
	}
}

/* Only removals forced by the size limit count as evictions: expired,
 * generation-stale and flushed entries say nothing about cache-size. */
static void shard_evict(struct cache_shard *s)
{
	while (s->bytes > s->limit && s->tail) {
		shard_remove(s, s->tail);
		s->evictions++;
	}
}

static void slots_put(struct cache_slot *slots, size_t mask, struct cache_entry *e)
{
	size_t i = e->hash & mask;
	while (slots[i].e)
		i = (i + 1) & mask;
	slots[i].e = e;
	slots[i].hash = e->hash;
}

/* Double the table: FWD_OK, or FWD_ENOMEM (the caller does not insert: a
 * full table would never end a probe). */
static enum fwd_err shard_grow(struct cache_shard *s)
{
	size_t n = s->nslots * 2;
	struct cache_slot *t = calloc(n, sizeof(*t));
	if (!t)
		return FWD_ENOMEM;
	for (size_t i = 0; i < s->nslots; i++)
		if (s->slots[i].e)
			slots_put(t, n - 1, s->slots[i].e);
	free(s->slots);
	s->slots = t;
	s->nslots = n;
	return FWD_OK;
}

/* ------------------------------------------------------------ life */

struct cache *cache_new(uint64_t max_bytes, int workers)
{
	struct cache *c = calloc(1, sizeof(*c));
	unsigned n = 1;

	if (!c)
		return NULL;
	/* One worker: one shard, nothing to contend with.  More: about two
	 * shards per worker, but never shards too small to hold a useful
	 * share of the entries (a tiny limit would evict at random). */
	if (workers > 1) {
		while (n < (unsigned)workers * 2 && n < CACHE_MAX_SHARDS)
			n *= 2;
		while (n > 1 && max_bytes / n < CACHE_MIN_SHARD_BYTES)
			n /= 2;
	}
	c->nshards = n;
	c->limit = max_bytes;
	c->shard_shift = 32;
	for (unsigned k = n; k > 1; k /= 2)
		c->shard_shift--;
	c->shards = calloc(n, sizeof(*c->shards));
	if (!c->shards) {
		free(c);
		return NULL;
	}
	for (unsigned i = 0; i < n; i++) {
		struct cache_shard *s = &c->shards[i];
		pthread_mutex_init(&s->lock, NULL);
		s->nslots = CACHE_MIN_SLOTS;
		s->slots = calloc(s->nslots, sizeof(*s->slots));
		s->limit = max_bytes / n;
		if (!s->slots) {
			c->nshards = i + 1;
			cache_free(c);
			return NULL;
		}
	}
	return c;
}

void cache_free(struct cache *c)
{
	if (!c)
		return;
	for (unsigned i = 0; i < c->nshards; i++) {
		struct cache_shard *s = &c->shards[i];
		struct cache_entry *e = s->head;
		while (e) {
			struct cache_entry *nx = e->next;
			free(e);
			e = nx;
		}
		free(s->slots);
		pthread_mutex_destroy(&s->lock);
	}
	free(c->shards);
	free(c);
}

void cache_set_limit(struct cache *c, uint64_t max_bytes)
{
	__atomic_store_n(&c->limit, max_bytes, __ATOMIC_RELAXED);
	for (unsigned i = 0; i < c->nshards; i++) {
		struct cache_shard *s = &c->shards[i];
		pthread_mutex_lock(&s->lock);
		s->limit = max_bytes / c->nshards;
		shard_evict(s);
		pthread_mutex_unlock(&s->lock);
	}
}

static inline struct cache_shard *shard_of(struct cache *c, uint32_t h)
{
	return c->nshards == 1 ? &c->shards[0] : &c->shards[h >> c->shard_shift];
}

/* ------------------------------------------------------------ hit path */

size_t cache_answer(struct cache *c, const struct wire_query *q, uint64_t gen, uint64_t now_ms,
		    enum cache_mode mode, uint32_t stale_window_s, uint8_t *out, size_t cap,
		    size_t limit)
{
	uint32_t h = key_hash(q->qname, q->qname_len, q->qtype, q->qclass, q->do_bit);
	struct cache_shard *s = shard_of(c, h);
	struct cache_entry *e;
	size_t n;
	int stale = 0;

	if (FWD_UNLIKELY(__atomic_load_n(&c->limit, __ATOMIC_RELAXED) == 0))
		return 0; /* cache-size: 0 */
	pthread_mutex_lock(&s->lock);
	if (FWD_UNLIKELY(s->count == 0))
		goto miss;
	e = shard_find(s, h, q->qname, q->qname_len, q->qtype, q->qclass, q->do_bit);
	if (!e)
		goto miss;
	if (e->gen != 0 && e->gen != gen) {
		/* stored under other zones or routes: its answer may be wrong now */
		shard_remove(s, e);
		goto miss;
	}
	if (now_ms >= e->expire_ms) {
		if (now_ms - e->expire_ms >= (uint64_t)stale_window_s * 1000u) {
			shard_remove(s, e);
			goto miss;
		}
		if (mode != CACHE_STALE)
			goto miss; /* kept for serve-stale; the caller asks upstream */
		stale = 1;
	}
	n = e->msg_len;
	if (FWD_UNLIKELY(n + (q->has_edns ? 11u : 0u) > cap || q->q_end != WIRE_HDR_LEN + e->name_len + 4u))
		goto miss;
	memcpy(out, entry_msg(e), n);
	{
		const uint16_t *ttl = entry_ttls(e);
		uint32_t age = now_ms > e->stored_ms ? (uint32_t)((now_ms - e->stored_ms) / 1000u) : 0;
		for (unsigned i = 0; i < e->nttl; i++) {
			uint8_t *p = out + ttl[i];
			uint32_t t = wire_get32(p);
			wire_put32(p, stale ? CACHE_STALE_TTL : (t > age ? t - age : 0));
		}
	}
	if (e != s->head) {
		lru_unlink(s, e);
		lru_push_front(s, e);
	}
	pthread_mutex_unlock(&s->lock);

	/* The client's own ID, its question bytes (its case: 0x20 clients
	 * check it), its RD/CD; cached data is not authoritative. */
	wire_put16(out, q->id);
	uint16_t flags = wire_get16(out + 2);
	flags = (uint16_t)((flags & ~(WIRE_AA | WIRE_RD | WIRE_CD)) | (q->flags & (WIRE_RD | WIRE_CD)) | WIRE_RA);
	wire_put16(out + 2, flags);
	memcpy(out + WIRE_HDR_LEN, q->pkt + WIRE_HDR_LEN, q->q_end - WIRE_HDR_LEN);
	if (q->has_edns) {
		n += wire_put_opt(out + n, 11, 0, q->do_bit);
		wire_put16(out + 10, (uint16_t)(wire_get16(out + 10) + 1));
	}
	if (n > limit)
		n = wire_truncate(q, out, n, limit);
	return n;
miss:
	pthread_mutex_unlock(&s->lock);
	return 0;
}

/* ------------------------------------------------------------ insert */

#define CACHE_MAX_RRS 1024

struct rr_ref {
	uint16_t ttl_off;  /* offset of the TTL field */
	uint8_t section;   /* 0 answer, 1 authority, 2 additional */
	uint8_t neg_soa;   /* the SOA that sets a negative answer's lifetime */
	uint32_t soa_min;  /* its MINIMUM field */
};

/*
 * Walk reply: check it answers q, find every TTL and the OPT record.
 * Returns the message length without the OPT (0 when the reply may not be
 * cached); rr[] and *nrr describe its records.
 */
static size_t scan_reply(const struct wire_query *q, const uint8_t *m, size_t len, struct rr_ref *rr,
			 size_t *nrr, int *negative)
{
	uint16_t flags, counts[3];
	size_t off, kept_len = 0;
	uint8_t name[WIRE_MAX_NAME];
	int rcode, found = 0, has_soa = 0;

	*nrr = 0;
	if (len < WIRE_HDR_LEN || len > WIRE_MAX_MSG)
		return 0;
	flags = wire_get16(m + 2);
	rcode = (int)WIRE_RCODE(flags);
	if (!(flags & WIRE_QR) || (flags & WIRE_TC) || WIRE_OPCODE(flags) != 0 ||
	    (rcode != RCODE_NOERROR && rcode != RCODE_NXDOMAIN) || wire_get16(m + 4) != 1)
		return 0;
	/* the question must be q's, uncompressed, so a hit can write the
	 * client's question bytes over it */
	off = WIRE_HDR_LEN;
	if (wire_name_len(m + off, len - off) != (int)q->qname_len)
		return 0;
	if (wire_read_name(m, len, off, name) != (int)q->qname_len || memcmp(name, q->qname, q->qname_len) != 0)
		return 0;
	off += q->qname_len;
	if (off + 4 > len || wire_get16(m + off) != q->qtype || wire_get16(m + off + 2) != q->qclass)
		return 0;
	off += 4;
	counts[0] = wire_get16(m + 6);
	counts[1] = wire_get16(m + 8);
	counts[2] = wire_get16(m + 10);
	if ((size_t)counts[0] + counts[1] + counts[2] > CACHE_MAX_RRS)
		return 0;
	for (int sec = 0; sec < 3; sec++) {
		for (unsigned i = 0; i < counts[sec]; i++) {
			size_t start = off;
			off = wire_skip_name(m, len, off);
			if (off == 0 || off + 10 > len)
				return 0;
			uint16_t type = wire_get16(m + off);
			size_t rdlen = wire_get16(m + off + 8);
			if (off + 10 + rdlen > len)
				return 0;
			if (type == TYPE_OPT) {
				/* Our own OPT goes in on the way out; keep only
				 * an OPT that is the last record (removing one
				 * from the middle would move names that later
				 * pointers may use) and has no extended rcode. */
				if (sec != 2 || i + 1 != counts[2] || m[off + 4] != 0 || kept_len)
					return 0;
				kept_len = start;
				off += 10 + rdlen;
				continue;
			}
			if (off > 0xffff)
				return 0;
			struct rr_ref *r = &rr[(*nrr)++];
			r->ttl_off = (uint16_t)(off + 4);
			r->section = (uint8_t)sec;
			r->neg_soa = 0;
			r->soa_min = 0;
			if (sec == 0 && (type == q->qtype || q->qtype == TYPE_ANY))
				found = 1;
			if (sec == 1 && type == TYPE_SOA && !has_soa) {
				/* MINIMUM is the last field: rdata ends with it */
				if (rdlen < 22)
					return 0;
				has_soa = 1;
				r->neg_soa = 1;
				r->soa_min = wire_get32(m + off + 10 + rdlen - 4);
			}
			off += 10 + rdlen;
		}
	}
	if (off != len && !kept_len)
		return 0; /* trailing garbage: not a message we understand */
	*negative = rcode == RCODE_NXDOMAIN || !found;
	if (*negative && !has_soa)
		return 0; /* RFC 2308 section 5: no SOA, no negative caching */
	if (!*negative) {
		for (size_t i = 0; i < *nrr; i++)
			rr[i].neg_soa = 0;
	}
	return kept_len ? kept_len : len;
}

enum fwd_err cache_insert(struct cache *c, const struct wire_query *q, const uint8_t *reply, size_t len,
			  const struct cache_ttl *ttl, uint64_t gen, uint64_t now_ms)
{
	struct rr_ref rr[CACHE_MAX_RRS];
	size_t nrr = 0, mlen;
	int negative = 0;
	uint32_t life = UINT32_MAX;

	if (!c || !q || !reply || __atomic_load_n(&c->limit, __ATOMIC_RELAXED) == 0)
		return FWD_EINVAL;
	mlen = scan_reply(q, reply, len, rr, &nrr, &negative);
	if (mlen == 0)
		return FWD_EINVAL;

	size_t size = sizeof(struct cache_entry) + 2 * nrr + q->qname_len + mlen;
	uint32_t h = key_hash(q->qname, q->qname_len, q->qtype, q->qclass, q->do_bit);
	struct cache_shard *s = shard_of(c, h);
	if (size > s->limit) /* racy read: at worst one entry too many, evicted next time */
		return FWD_EINVAL;
	struct cache_entry *e = malloc(size);
	if (!e)
		return FWD_ENOMEM;
	memset(e, 0, sizeof(*e));
	e->hash = h;
	e->qtype = q->qtype;
	e->qclass = q->qclass;
	e->do_bit = q->do_bit ? 1 : 0;
	e->name_len = q->qname_len;
	e->nttl = (uint16_t)nrr;
	e->msg_len = (uint16_t)mlen;
	e->gen = gen;
	e->size = size;
	memcpy(entry_name(e), q->qname, q->qname_len);
	uint8_t *m = entry_msg(e);
	memcpy(m, reply, mlen);
	wire_put16(m, 0);
	if (mlen < len) /* the OPT was the last record: one fewer in additional */
		wire_put16(m + 10, (uint16_t)(wire_get16(m + 10) - 1));

	uint16_t *offs = entry_ttls(e);
	for (size_t i = 0; i < nrr; i++) {
		uint8_t *p = m + rr[i].ttl_off;
		uint32_t t = wire_get32(p);
		if (t > 0x7fffffffu)
			t = 0; /* RFC 2181 section 8: a TTL with the top bit set means zero */
		if (rr[i].neg_soa) {
			if (rr[i].soa_min < t)
				t = rr[i].soa_min;
			if (t > ttl->neg_max_ttl)
				t = ttl->neg_max_ttl;
		} else {
			if (t < ttl->min_ttl)
				t = ttl->min_ttl;
			if (t > ttl->max_ttl)
				t = ttl->max_ttl;
		}
		wire_put32(p, t);
		offs[i] = rr[i].ttl_off;
		if (t < life)
			life = t;
	}
	if (nrr == 0 || life == 0) {
		free(e);
		return FWD_EINVAL; /* nothing to keep for even a second */
	}
	e->stored_ms = now_ms;
	e->expire_ms = now_ms + (uint64_t)life * 1000u;

	pthread_mutex_lock(&s->lock);
	struct cache_entry *old = shard_find(s, h, q->qname, q->qname_len, q->qtype, q->qclass, q->do_bit);
	if (old)
		shard_remove(s, old);
	if (size > s->limit) {
		pthread_mutex_unlock(&s->lock);
		free(e);
		return FWD_EINVAL;
	}
	if (2 * (s->count + 1) > s->nslots && shard_grow(s) != FWD_OK) {
		pthread_mutex_unlock(&s->lock);
		free(e);
		return FWD_ENOMEM;
	}
	slots_put(s->slots, s->nslots - 1, e);
	lru_push_front(s, e);
	s->count++;
	s->bytes += size;
	shard_evict(s);
	pthread_mutex_unlock(&s->lock);
	return FWD_OK;
}

/* ------------------------------------------------------------ flush and stats */

/* Is name (lower-cased wire) equal to or below suffix? */
static int name_under(const uint8_t *name, size_t len, const uint8_t *suffix, size_t slen)
{
	size_t p = 0;
	if (slen > len)
		return 0;
	while (len - p > slen) {
		p += 1u + name[p];
		if (p >= len)
			return 0;
	}
	return len - p == slen && memcmp(name + p, suffix, slen) == 0;
}

size_t cache_flush_wire(struct cache *c, const uint8_t *name, size_t name_len)
{
	size_t removed = 0;

	if (!c)
		return 0;
	for (unsigned i = 0; i < c->nshards; i++) {
		struct cache_shard *s = &c->shards[i];
		pthread_mutex_lock(&s->lock);
		struct cache_entry *e = s->head;
		while (e) {
			struct cache_entry *nx = e->next;
			if (!name || name_under(entry_name(e), e->name_len, name, name_len)) {
				shard_remove(s, e);
				removed++;
			}
			e = nx;
		}
		pthread_mutex_unlock(&s->lock);
	}
	return removed;
}

enum fwd_err cache_flush(struct cache *c, const char *name, size_t *removed)
{
	uint8_t wire[WIRE_MAX_NAME];
	int len;
	size_t n;

	if (!name || strcmp(name, ".") == 0 || name[0] == '\0') {
		n = cache_flush_wire(c, NULL, 0);
		log_info("cache: flushed every entry (%zu)", n);
	} else {
		len = wire_name_from_text(name, wire);
		if (len <= 0)
			return FWD_EINVAL;
		n = cache_flush_wire(c, wire, (size_t)len);
		log_info("cache: flushed %s and below (%zu entries)", name, n);
	}
	if (removed)
		*removed = n;
	return FWD_OK;
}

void cache_usage(struct cache *c, uint64_t *entries, uint64_t *bytes)
{
	uint64_t ne = 0, nb = 0;
	for (unsigned i = 0; c && i < c->nshards; i++) {
		struct cache_shard *s = &c->shards[i];
		pthread_mutex_lock(&s->lock);
		ne += s->count;
		nb += s->bytes;
		pthread_mutex_unlock(&s->lock);
	}
	if (entries)
		*entries = ne;
	if (bytes)
		*bytes = nb;
}

uint64_t cache_evictions(struct cache *c)
{
	uint64_t n = 0;
	for (unsigned i = 0; c && i < c->nshards; i++) {
		struct cache_shard *s = &c->shards[i];
		pthread_mutex_lock(&s->lock);
		n += s->evictions;
		pthread_mutex_unlock(&s->lock);
	}
	return n;
}
