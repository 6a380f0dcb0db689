/*
 * arm_zstat.h -- what ARM sync knows about the refresh of each zone, for
 * the control tool and /metrics (arm_sync_zone_info() and friends).
 *
 * Kept apart from the set of served zones because a zone can have a state
 * without being served (its first listing failed) and keeps it across
 * rounds; a zone's state is dropped only once the zone is neither served
 * nor in ARM (arm_zstats_prune()), so that /metrics does not keep series
 * for deleted zones forever.
 *
 * Ownership: struct arm_zstats is embedded in the sync (zeroed = empty) and
 * owns its entries and every string in them; arm_zstats_free() releases
 * them.  Entries live in one array sorted by name, so a pointer to an entry
 * is valid until the next call that adds or removes one (get, prune, free).
 * Main thread only, like the rest of the sync.
 */
#ifndef PLINKFWD_ARM_ZSTAT_H
#define PLINKFWD_ARM_ZSTAT_H

#include <stddef.h>
#include <stdint.h>

struct arm_zone_info;
struct zone;

struct arm_zstat {
	char *name;               /* lower-case, no trailing dot */
	char **sources;           /* resource ids of the last listing (or the saved file) */
	size_t nsources;
	size_t record_sets;       /* in the copy served */
	int64_t last_success;     /* unix time */
	int64_t last_attempt;
	char *last_error;         /* NULL after a success */
	unsigned consecutive;
	uint64_t attempts, failures, throttled;
};

struct arm_zstats {
	struct arm_zstat *v;      /* owned, sorted by name */
	size_t n, cap;
};

/* The state of zone name (lower-case, no trailing dot), or NULL. */
struct arm_zstat *arm_zstats_find(const struct arm_zstats *t, const char *name);

/* The state of zone name, inserted in order when missing.  NULL only when
 * out of memory: that zone's state is then not kept, serving goes on. */
struct arm_zstat *arm_zstats_get(struct arm_zstats *t, const char *name);

/* Replace z's sources with copies of ids[0..n); on allocation failure the
 * old list stays (it is only shown, never acted on). */
void arm_zstat_set_sources(struct arm_zstat *z, const char *const *ids, size_t n);

/* One attempt to refresh zone ended now: err NULL = a complete listing,
 * else why it failed (copied). */
void arm_zstats_result(struct arm_zstats *t, const char *zone, const char *err);

/* Drop the state of every zone for which keep(arg, name) is 0. */
void arm_zstats_prune(struct arm_zstats *t, int (*keep)(void *arg, const char *name), void *arg);

/* Free every entry; t is empty afterwards. */
void arm_zstats_free(struct arm_zstats *t);

/* Fill out from z; served is the copy of the zone being served, NULL when
 * none.  out's pointers are borrowed from z (see arm_sync.h). */
void arm_zstat_info(const struct arm_zstat *z, const struct zone *served, struct arm_zone_info *out);

#endif
