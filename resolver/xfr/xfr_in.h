/*
 * xfr_in.h -- secondary zones: plinkfwd receiving zone transfers.
 *
 * One struct xfr_in per daemon, on the main thread's event loop.  For every
 * zone: clause with primary: lines it keeps a copy of the zone (the ldns
 * records and the compiled struct zone), SOA timers (soa_timer.h) and one
 * check at a time: an SOA query to the first primary, then IXFR when the
 * primary's serial is newer (AXFR without a copy, or when the IXFR does
 * not apply), over one non-blocking TCP connection (xfr_in_conn.h); the
 * next primary when one fails.  A transfer that is complete and valid
 * (xfr_in_msg.h) is compiled, written to state-dir (xfr_in_store.h) and
 * handed to the daemon through publish_fn; anything else is rejected with a
 * log line and a counter, and the copy serving stays.
 *
 * Threads: everything runs on the main thread except xfr_in_notified(),
 * which a worker calls when a primary's NOTIFY arrives.
 *
 * Ownership: xfr_in_new() hands out the object, xfr_in_free() frees it
 * (after the workers have stopped: they may still call
 * xfr_in_notified()).  It copies what it needs of the config.
 */
#ifndef PLINKFWD_XFR_IN_H
#define PLINKFWD_XFR_IN_H

#include <stddef.h>
#include <stdint.h>

#include "common.h"
#include "xfr_in_msg.h"

struct cfg;
struct event_base;
struct fwd_clock;
struct route_zone;
struct xfr_in;

/* The secondary zones changed (a new copy, an expiry): zones[0..n) is the
 * complete list for snapshot_with_secondary() (data/snapshot.h), borrowed
 * for the call. */
typedef void (*xfr_in_publish_fn)(void *arg, const struct route_zone *zones, size_t n);

/* How long a primary may keep a connection silent. */
#define XFR_IN_IO_TIMEOUT_S 30

enum fwd_err xfr_in_new(struct event_base *base, const struct fwd_clock *clock, xfr_in_publish_fn fn, void *arg,
			struct xfr_in **out);
void xfr_in_free(struct xfr_in *x);

/*
 * Match the secondary zones to cfg (start-up and reload): a zone whose
 * primaries and keys are unchanged keeps its copy, timers and counters; a
 * new or changed one reads its copy from state-dir (if any) and is checked
 * at once; a zone no longer configured goes.  Does not publish: the caller
 * builds its snapshot with xfr_in_route_zones().  FWD_OK or FWD_ENOMEM.
 */
enum fwd_err xfr_in_apply(struct xfr_in *x, const struct cfg *cfg);

/* The zones to serve now, one per secondary zone (a placeholder with
 * down set while there is no copy or it expired): *out is an array the
 * caller frees with free(); the zones are borrowed.  FWD_OK or FWD_ENOMEM. */
enum fwd_err xfr_in_route_zones(struct xfr_in *x, struct route_zone **out, size_t *n);

/* A primary's NOTIFY for zone (lower-case text, trailing dot) was accepted
 * by a worker: check it now.  Any thread. */
void xfr_in_notified(struct xfr_in *x, const char *zone);

/* 1 at most once a second (any thread): refused NOTIFYs are logged, not
 * a flood of them. */
int xfr_in_refusal_log_ok(struct xfr_in *x);
/* The wall clock of x's clock (TSIG times; any thread). */
uint64_t xfr_in_wall_s(const struct xfr_in *x);

/*
 * A NOTIFY (RFC 1996) that reached a worker (query.h's query_notify_fn,
 * arg the struct xfr_in): for a secondary zone of snap from one of its
 * primary: addresses it is answered NOERROR (QR, AA, opcode NOTIFY, the
 * question echoed) and the zone is checked at once; from any other source
 * it is answered REFUSED with a rate-limited log line (with a key: REFUSED
 * unsigned, NOTAUTH badly signed).  A message that is not one question of
 * class IN gets FORMERR.  Returns the reply's length, or 0 -- NOTIMP, as
 * for any opcode but QUERY -- for a zone that is not a secondary zone here,
 * a message ldns cannot read, or out too small.
 */
struct snapshot;
struct sockaddr_storage;
size_t xfr_in_notify_answer(void *arg, const struct snapshot *snap, const uint8_t *pkt, size_t len,
			    const struct sockaddr_storage *from, uint8_t *out, size_t cap);

/* Per-zone state for plinkfwd-ctl zones and /metrics (main thread). */
struct xfr_in_info {
	const char *name;          /* valid until the next xfr_in_apply() */
	int has_copy, expired;
	uint32_t serial;
	uint64_t last_refresh_wall;  /* seconds since the epoch of the last successful check; 0 = none */
	uint64_t last_failure_wall;  /* of the last failed check or rejected transfer; 0 = none */
	const char *last_error;      /* "" when none */
	int64_t expires_in_s;        /* seconds until expiry (0 expired), -1 without a copy */
	uint64_t axfr, ixfr, uptodate, notifies, checks, failed_checks;
	uint64_t rejected[XFR_IN_NREJECT];
};
size_t xfr_in_count(const struct xfr_in *x);
enum fwd_err xfr_in_info(const struct xfr_in *x, size_t i, struct xfr_in_info *info);

#endif
