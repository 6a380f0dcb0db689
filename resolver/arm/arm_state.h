/*
 * arm_state.h -- the zones ARM sync saves in state-dir, so that a restart
 * with ARM out of reach still serves them, and explain can name the ARM
 * record set behind every record.
 *
 * A saved zone is <state-dir>/<zone>.zone: a comment header that marks the
 * file as written by plinkfwd and names the zone's ARM sources (resource
 * ids) and the time of the listing, then the zone file text from its
 * "$ORIGIN" line on, exactly the text that was compiled and is served (its
 * "; arm-id" comments, arm_records.h, name the record set of each record).
 * Any DNS server can read the file.  A file without the header is not ours:
 * it is never loaded.
 *
 * Writes go to a temp file, fsync, rename, fsync of the directory: after a
 * crash the file is the old copy or the new one, never a torn mix.
 *
 * Threading: ARM sync's thread (the daemon's main loop).  The I/O blocks;
 * it happens at start-up, once per changed zone per round, and for explain,
 * never on a DNS worker.  Failures to write or load are logged here, once.
 */
#ifndef PLINKFWD_ARM_STATE_H
#define PLINKFWD_ARM_STATE_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

struct arm_buf;
struct arm_cfg;
struct zone;

/*
 * Append the header of zone (lower-case, no trailing dot) to b: the ids of
 * its sources in order and synced, the end of the listing.  The caller
 * appends the zone text after it and hands the whole buffer to
 * arm_state_write(); the body starts at the b->len this leaves.
 */
void arm_state_header(struct arm_buf *b, const char *zone, const char *const *ids, size_t nids,
		      time_t synced);

/* Save text (len bytes: header and body) as dir/<zone>.zone.  0, FWD_EINVAL
 * (path too long) or FWD_EIO; the old file stays on failure. */
int arm_state_write(const char *dir, const char *zone, const char *text, size_t len);

/* Remove dir/<zone>.zone (the zone left ARM).  dir NULL: nothing to do.
 * A missing file is fine; another failure is logged. */
void arm_state_remove(const char *dir, const char *zone);

/* One zone read back at start-up, handed to an arm_state_take_fn. */
struct arm_saved {
	char *name;               /* zone, lower-case, no trailing dot */
	struct zone *zone;        /* compiled, one reference */
	uint8_t *subs;            /* per subscription slot (arm_cfg_nslots()): 1 when a source of the
				   * zone is in it */
	uint64_t hash;            /* arm_records_hash() of the body, as the build computes it */
	const char *const *ids;   /* the sources still configured (at most 16) */
	size_t nids;
	size_t record_sets;       /* arm_records_count_sets() of the body */
	int64_t synced;           /* the header's listing time (unix), 0 if absent */
};

/*
 * Receives each zone loaded.  It owns z->name, z->zone and z->subs from the
 * call on, whatever it returns; z->ids is borrowed for the call.  0 goes on
 * loading, < 0 stops (out of memory; the zones taken so far stay taken).
 */
typedef int (*arm_state_take_fn)(void *arg, struct arm_saved *z);

/*
 * Load every saved zone of dir still wanted by cfg: its name passes
 * zone-filter and at least one of its sources is in a configured
 * subscription (and resource group, when resource-group is set).  Others,
 * and files not ours, are skipped; a damaged file is logged and skipped.
 * Returns how many zones take() accepted (0 too when dir does not exist
 * yet, logged at info), or FWD_EIO when dir cannot be read.
 */
int arm_state_load(const char *dir, const struct arm_cfg *cfg, arm_state_take_fn take, void *arg);

/*
 * Read back the saved file of zone (lower-case, no trailing dot) for
 * explain.  *text (NUL-terminated, *len bytes) is the caller's to free;
 * path (pathcap bytes) gets the file name; *hash is the body's hash, to
 * compare with the copy served.  0, FWD_ENOENT (no such file, or the path
 * does not fit), FWD_EIO, or FWD_EPARSE (not a file plinkfwd wrote).
 * Nothing is logged: the caller reports to whoever asked.
 */
int arm_state_read(const char *dir, const char *zone, char **text, size_t *len, uint64_t *hash,
		   char *path, size_t pathcap);

#endif
