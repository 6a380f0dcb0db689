/*
 * cache.h -- the answer cache: upstream replies kept as ready wire messages.
 *
 * Key: lower-cased query name, type, class and the DO bit.  An entry is the
 * reply as it will go out (ID zeroed, the upstream's OPT record removed)
 * plus the offset of every TTL field in it, so a hit is one copy, an ID and
 * question patch, one subtraction per TTL and an OPT of our own: no parsing
 * and no allocation.  Inserting parses the reply once and allocates one
 * block for the entry.
 *
 * What is cached (RFC 2308, RFC 8767):
 *  - NOERROR with data, and negative answers (NXDOMAIN, NODATA) that carry
 *    an SOA in the authority section; a negative answer's lifetime is
 *    min(SOA TTL, SOA MINIMUM), capped by neg_max_ttl;
 *  - every other TTL is clamped to [min_ttl, max_ttl]; the entry lives as
 *    long as its smallest TTL;
 *  - never: SERVFAIL, REFUSED or any other rcode, TC replies, negative
 *    answers without an SOA, replies whose OPT carries an extended rcode.
 *
 * Threads: one cache serves every worker.  It is split into shards by key
 * hash, each with its own lock, hash table and LRU list; a lookup holds one
 * shard lock for the copy (a few hundred bytes).  With one worker there is
 * one shard and the lock is never contended.  The size limit is split
 * evenly over the shards; when a shard is over its share the least recently
 * used entries go.
 *
 * Lifetime: cache_new() by main.c, cache_free() after every worker stopped.
 * All other functions may be called from any thread.
 */
#ifndef PLINKFWD_CACHE_H
#define PLINKFWD_CACHE_H

#include <stddef.h>
#include <stdint.h>

#include "common.h"

struct wire_query;
struct cache;

/* TTL policy applied when an entry is inserted (from the config). */
struct cache_ttl {
	uint32_t min_ttl;      /* cache-min-ttl: positive TTLs raised to this */
	uint32_t max_ttl;      /* cache-max-ttl: every TTL capped to this */
	uint32_t neg_max_ttl;  /* cache-negative-max-ttl: cap of a negative answer's lifetime */
};

enum cache_mode {
	CACHE_FRESH = 0,  /* only entries whose TTL has not run out */
	CACHE_STALE       /* also expired ones within the stale window, TTL 30 (RFC 8767) */
};

/* RFC 8767 section 4: the TTL of a stale answer. */
#define CACHE_STALE_TTL 30

/*
 * A cache of at most max_bytes (entries and their bookkeeping).  workers
 * sizes the number of shards.  max_bytes 0 makes a cache that stores
 * nothing until cache_set_limit() raises it.  NULL on allocation failure.
 */
struct cache *cache_new(uint64_t max_bytes, int workers);
void cache_free(struct cache *c);

/* Change the size limit (reload); evicts down to it at once. */
void cache_set_limit(struct cache *c, uint64_t max_bytes);

/*
 * Write the cached reply to q into out[0..cap): q's ID, q's question bytes
 * (the client's own case), RD and CD as in q, RA set, AA clear, TTLs
 * decremented by the entry's age (or CACHE_STALE_TTL for a stale entry), an
 * OPT record when q has EDNS; truncated with TC when longer than limit.
 * gen is the serving snapshot's generation: an entry that depends on local
 * data or routes (see cache_insert) and was stored under another
 * generation is a miss.  stale_window_s is how long after expiry an entry
 * is kept for CACHE_STALE lookups.  Returns the reply length, 0 on a miss.
 * Allocation-free.
 */
size_t cache_answer(struct cache *c, const struct wire_query *q, uint64_t gen, uint64_t now_ms,
		    enum cache_mode mode, uint32_t stale_window_s, uint8_t *out, size_t cap,
		    size_t limit);

/*
 * Store reply (len bytes, an answer to q) when the rules above allow it.
 * gen != 0 ties the entry to that snapshot generation (answers that were
 * spliced, carry a CNAME chain, or come from a zone's public fallback: a
 * new zone or route may change them).  Replaces an entry of the same key.
 * Returns FWD_OK when stored, FWD_EINVAL when the reply may not be cached,
 * FWD_ENOMEM.
 */
enum fwd_err cache_insert(struct cache *c, const struct wire_query *q, const uint8_t *reply, size_t len,
			  const struct cache_ttl *ttl, uint64_t gen, uint64_t now_ms);

/*
 * Remove every entry (name NULL or ".") or the entries for name and every
 * name below it (text, trailing dot optional, any case).  FWD_OK with the
 * number of entries removed in *removed (may be NULL), or FWD_EINVAL for a
 * malformed name.  Safe from any thread (the control tool and signal
 * handlers use it).
 */
enum fwd_err cache_flush(struct cache *c, const char *name, size_t *removed);

/* The same with a lower-cased wire name; NULL flushes everything.  Returns
 * the number of entries removed. */
size_t cache_flush_wire(struct cache *c, const uint8_t *name, size_t name_len);

/* Entries and bytes in use (approximate while workers run). */
void cache_usage(struct cache *c, uint64_t *entries, uint64_t *bytes);

/* Entries removed since cache_new() because the cache was over its size
 * limit (least recently used first; cache_set_limit() included).  Expired,
 * flushed and replaced entries are not counted.  0 for a NULL cache. */
uint64_t cache_evictions(struct cache *c);

#endif
