/*
 * snapshot.h -- everything a query needs, swapped as one pointer.
 *
 * A snapshot is the immutable state the hot path reads: config, ACL, route
 * table and zones.  It is built aside (start-up, SIGHUP reload, ARM publish),
 * then published with snapshot_publish(); workers pick the new pointer up
 * between event batches.  Whoever holds a snapshot holds a reference: the
 * daemon (current), each worker (the one it serves with) and each upstream
 * pending slot (the one its query started with).  The last unref frees it.
 */
#ifndef PLINKFWD_SNAPSHOT_H
#define PLINKFWD_SNAPSHOT_H

#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "common.h"
#include "route.h"

struct cfg;
struct acl;
struct zone;

/* What a reload replaces but an ARM publish shares: config, ACL and the
 * zones loaded from files.  Reference counted by the snapshots using it. */
struct snapshot_base;

struct snapshot {
	atomic_int refs;
	uint64_t generation;        /* set by the daemon when published */
	struct snapshot_base *base; /* one reference */
	const struct cfg *cfg;      /* == base's; for the hot path */
	const struct acl *acl;      /* == base's */
	struct route_table *routes; /* owned; holds its own zone references */
	struct route_zone *zones;   /* owned array (files first, then ARM); one zone reference each */
	size_t nzones;
	size_t nfile_zones;         /* zones[0..nfile_zones) came from zone: clauses: files, and
				     * secondary zones (route_zone.secondary; resolver/xfr/) */
};

/*
 * Build a snapshot from a config file: parse it, load every zone file, add
 * the ARM zones given (borrowed; references are taken), build ACL and routes.
 * NULL with "file:line: message" in err on any failure.
 */
struct snapshot *snapshot_build(const char *cfgpath, const struct route_zone *arm_zones,
				size_t narm, char *err, size_t errlen);
/* The same from an already parsed config (ownership of cfg passes to the
 * snapshot, also on failure). */
struct snapshot *snapshot_build_cfg(struct cfg *cfg, const struct route_zone *arm_zones, size_t narm,
				    char *err, size_t errlen);
/* A new snapshot sharing prev's config but with a new set of ARM zones. */
struct snapshot *snapshot_with_arm(const struct snapshot *prev, const struct route_zone *arm_zones,
				   size_t narm, char *err, size_t errlen);

/* A new snapshot sharing prev's config and ARM zones, with the secondary
 * zones (zone: with primary:) replaced by those of sec[0..nsec) of the same
 * apex (borrowed; references are taken; their down flag is kept).  A
 * secondary zone that sec does not name stays as it was. */
struct snapshot *snapshot_with_secondary(const struct snapshot *prev, const struct route_zone *sec, size_t nsec,
					 char *err, size_t errlen);
/* The zone a secondary zone serves before its first copy: its apex with a
 * dummy SOA (one reference), or NULL with the reason in err. */
struct zone *snapshot_placeholder_zone(const char *apex, char *err, size_t errlen);

void snapshot_ref(struct snapshot *s);
void snapshot_unref(struct snapshot *s);

/*
 * Where the current snapshot is published.  Only the main thread publishes
 * (start-up, SIGHUP reload, ARM publish); workers only read.  Protocol: the
 * publisher swaps `current` under `lock` and then bumps `generation`; a
 * reader that sees a new generation takes the lock just long enough to take
 * a reference on `current`.  The lock is therefore never touched on the
 * per-query path: a worker compares one atomic per batch.
 */
struct snapshot_pub {
	pthread_mutex_t lock;            /* guards current */
	struct snapshot *current;        /* one reference owned by the publisher */
	atomic_uint_fast64_t generation; /* bumped after each publish */
};

/* Empty publisher; FWD_OK or FWD_EIO. */
enum fwd_err snapshot_pub_init(struct snapshot_pub *p);
/* Drops the current snapshot's reference. */
void snapshot_pub_fini(struct snapshot_pub *p);
/* Take a reference on the current snapshot (any thread); NULL before the
 * first publish.  The caller owns the reference. */
struct snapshot *snapshot_pub_acquire(struct snapshot_pub *p);
/* Install s (its reference passes to the publisher), number it, and drop
 * the old one.  Main thread only. */
void snapshot_pub_publish(struct snapshot_pub *p, struct snapshot *s);
/* The generation readers compare against (acquire load). */
static inline uint64_t snapshot_pub_generation(struct snapshot_pub *p)
{
	return atomic_load_explicit(&p->generation, memory_order_acquire);
}

#endif
