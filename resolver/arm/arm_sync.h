/*
 * arm_sync.h -- serve Azure private DNS zones read from Azure Resource
 * Manager: discovery, record listing, zone build, persistence, publish.
 *
 * Threading: everything here runs on the daemon's main event loop
 * (main_base).  HTTP goes through libcurl's multi interface driven by that
 * loop (arm_http.c), so a sync never blocks: the loop keeps handling
 * signals and control requests, and the DNS workers, which run on their
 * own threads and loops, never wait on HTTP -- they only see a new
 * snapshot once the daemon swaps it in.  The CPU-heavy steps (JSON parse of
 * one page, compiling a finished zone) run on the main thread between
 * events, never on a worker.
 *
 * One sync round:
 *   1. token (arm_auth.c), cached and refreshed before expiry;
 *   2. list the private DNS zones of every subscription (or of every
 *      configured resource group), following nextLink, and apply
 *      zone-filter;
 *   3. list every record set of every zone (".../ALL?$top=page-size",
 *      nextLink followed verbatim), converting each page to zone file text
 *      as it arrives (arm_records.c);
 *   4. for each zone whose listings ALL succeeded: merge same-named zones
 *      from several subscriptions, compile with zone_load_text(), write
 *      state-dir/<zone>.zone (temp file, fsync, rename);
 *   5. call publish() once with the complete list when anything changed.
 * A zone whose listing failed keeps its last good copy; a zone disappears
 * only after a round in which every subscription was listed successfully
 * and none of them had it.
 *
 * Merge rule: the same zone name in several subscriptions (or resource
 * groups) is served as one zone, the union of the record sets.  For the
 * same owner name and type, the subscription listed first in the config
 * wins (then the resource id in alphabetical order); a CNAME never joins
 * other data at the same owner from another source.  Every dropped record
 * set is logged.  The SOA is the first source's.
 */
#ifndef PLINKFWD_ARM_SYNC_H
#define PLINKFWD_ARM_SYNC_H

#include <stddef.h>
#include <stdint.h>

#include "arm_pe.h"
#include "arm_pe_zone.h"
#include "route.h"

struct event_base;
struct fwd_clock;
struct arm_cfg;
struct arm_sync;

/*
 * Receives the complete current list of synced zones, sorted by name,
 * each with origin ORIGIN_ZONE_ARM and its fallback setting.  The array and
 * the zone pointers are borrowed for the duration of the call: the callee
 * takes its own references (route_build / snapshot_with_arm do) and must
 * not keep the array.  Called on main_base's thread, never re-entrantly,
 * and never from inside an arm_sync_* call except arm_sync_load_state().
 */
typedef void (*arm_publish_fn)(void *ctx, const struct route_zone *zones, size_t n);

/*
 * Create the sync.  clock (clock.h) is borrowed and must outlive it: ARM
 * round durations, token refresh, throttling holds.  ac is read now and not kept (the caller may free it
 * after this returns); cloud is the server: cloud (enum cfg_cloud) used
 * when ac has no arm-cloud: and for every endpoint it leaves unset.
 * Workload identity also reads AZURE_AUTHORITY_HOST, AZURE_TENANT_ID,
 * AZURE_CLIENT_ID and AZURE_FEDERATED_TOKEN_FILE here (config keys win).
 * state_dir may be NULL (zones are then not persisted).  Nothing is sent
 * until arm_sync_start().  NULL with the reason logged on failure.
 */
struct arm_sync *arm_sync_new(struct event_base *main_base, const struct fwd_clock *clock,
			      const struct arm_cfg *ac, int cloud,
			      const char *state_dir, arm_publish_fn publish, void *ctx);

/*
 * Load the zone files a previous run saved in state_dir (those still
 * wanted by the current subscription / resource-group / zone-filter keys)
 * and publish them, before the first sync, so a restart with ARM out of
 * reach still serves.  Calls publish() synchronously when at least one zone
 * was loaded.  Returns the number of zones loaded (a damaged file is
 * logged and skipped), or a negative enum fwd_err.
 */
int arm_sync_load_state(struct arm_sync *s);

/* First round as soon as the loop runs, then every interval seconds. */
void arm_sync_start(struct arm_sync *s);

/*
 * Sync now (SIGUSR1, control tool).  zone (text, any case, trailing dot
 * optional) limits the record listing to that zone; NULL syncs all.  If a
 * round is running, another one follows it.
 */
void arm_sync_trigger(struct arm_sync *s, const char *zone);

/* Abort any round (nothing is published), drop the zone references. */
void arm_sync_free(struct arm_sync *s);

/* Counters for status output and /metrics. */
struct arm_sync_stats {
	uint64_t rounds;           /* finished rounds */
	uint64_t rounds_failed;    /* rounds where some listing failed */
	uint64_t requests;         /* ARM requests sent */
	uint64_t throttled;        /* 429 answers */
	uint64_t retries;          /* requests repeated after 429/5xx/timeout/401 */
	int64_t last_success_unix; /* end of the last round without failure, 0 = never */
	uint64_t last_duration_ms; /* of the last round */
	size_t zones;              /* zones now published */
	size_t records;            /* resource records in them */
	int running;               /* a round is in progress */
	char last_error[600];      /* first failure of the last round ("what: why"), "" = none */
	uint64_t rg_quota_waits;   /* Resource Graph quota used up, waited for its reset */
	uint64_t rg_direct_listings; /* zones listed from ARM after Resource Graph's record query
				    * (records-from: resource-graph: its count differed) */
};
void arm_sync_stats(const struct arm_sync *s, struct arm_sync_stats *out);

/*
 * The sync state of one zone, for the control tool and /metrics.  Zones are
 * those served and those ARM listed but which could not be published (their
 * first listing failed); a zone is forgotten once it is neither served nor
 * in ARM.  Every pointer is borrowed from s and valid until control returns
 * to the event loop (a round may replace them): copy what must be kept.
 * Main thread only.
 */
struct arm_zone_info {
	const char *name;             /* lower-case, no trailing dot */
	int served;                   /* a copy of the zone is being served */
	const char *const *sources;   /* ARM resource ids of the zone (they name its subscription
				       * and resource group), from the last listing or the saved file */
	size_t nsources;
	size_t record_sets;           /* record sets in the copy served (0 when not served, or
				       * when loaded from a file saved before ids were kept) */
	size_t records;               /* resource records in the copy served */
	int64_t last_success_unix;    /* end of the last complete listing of this zone, or the
				       * saved file's "synced:" time; 0 = never */
	int64_t last_attempt_unix;    /* end of the last listing, 0 = none since start-up */
	const char *last_error;       /* why the last listing failed, NULL when it succeeded:
				       * "HTTP 403 AuthorizationFailed: ...", "malformed JSON from
				       * ARM (page 1, 44 bytes)", "not refreshed: listing the zones
				       * of subscription S failed: ..." */
	unsigned consecutive_failures;
	uint64_t attempts;            /* listings finished since start-up, ok or not */
	uint64_t failures;            /* ... of which failed */
	uint64_t throttled;           /* 429 answers while listing this zone's record sets */
};

/* Iterate in name order: i from 0 to arm_sync_zone_count() - 1. */
size_t arm_sync_zone_count(const struct arm_sync *s);
int arm_sync_zone_at(const struct arm_sync *s, size_t i, struct arm_zone_info *out);
/* One zone by name (any case, trailing dot optional); 0 or FWD_ENOENT. */
int arm_sync_zone_info(const struct arm_sync *s, const char *zone, struct arm_zone_info *out);

/*
 * Read back the saved file (state-dir/<zone>.zone) of a served zone, for
 * explain: its "; arm-id" comments (arm_records.h) name the ARM record set
 * of every record.  *text (NUL-terminated, *len bytes) is the caller's to
 * free; path gets the file name.  *current is 1 when the file is the copy
 * being served, 0 when it differs (a round is writing newer zones and has
 * not published them yet, or the file was changed by hand).  This reads
 * the whole file: not for the query path.  0, FWD_ENOENT (no state-dir, no
 * such served zone, no file), FWD_EIO, or FWD_EPARSE (not a file plinkfwd
 * wrote).
 */
int arm_sync_zone_file(const struct arm_sync *s, const char *zone, char **text, size_t *len,
		       int *current, char *path, size_t pathcap);

/*
 * Private endpoints (private-endpoints: yes; arm_pe_zone.h).  The figures
 * of the last complete endpoint listing, for /metrics: endpoints per
 * connection state, and names per note kind (served, not Approved, not
 * covered by any zone, filtered, duplicate, lost to a private DNS zone
 * record).  valid is 0 until a listing completed since start-up.
 */
struct arm_pe_stats {
	int enabled, valid;
	size_t by_state[ARM_PE_NSTATES];
	size_t names[ARM_PE_NOTE_NKINDS];
};
void arm_sync_pe_stats(const struct arm_sync *s, struct arm_pe_stats *out);

/*
 * What the last complete endpoint listing says about name (any case,
 * trailing dot optional): fn is called for each note whose FQDN or served
 * name it is (arm_pe_note_text() makes the sentence).  The note is borrowed
 * for the call.  Nothing before the first complete listing.
 */
void arm_sync_pe_find(const struct arm_sync *s, const char *name,
		      void (*fn)(void *arg, const struct arm_pe_note *n), void *arg);

#endif
