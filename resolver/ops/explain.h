/*
 * explain.h -- "explain NAME [TYPE]" of the control socket: how plinkfwd
 * resolves a name right now, step by step, without sending anything.
 *
 * The route the name takes (zone, forward rule, catalogue, default); for a
 * zone, the records it answers and where each is written (file and line,
 * or the ARM record set, found by reading the zone's text again with the
 * zone loader's reader, data/zone.h); for a forwarded name, what the cache
 * holds and where each cached record came from, and the group that would
 * be asked, with its servers' health and caps.  The fields are documented
 * in docs/plinkfwd-ctl.8.
 *
 * Main thread: reads the published snapshot, d->cache (at d->clock's time),
 * the workers' counters and, for synced zones, d->arm.
 */
#ifndef PLINKFWD_EXPLAIN_H
#define PLINKFWD_EXPLAIN_H

#include <cjson/cJSON.h>

struct daemon;

/* The explanation of (name, type; NULL = A) as a JSON object with "ok":
 * true, or an error object for a malformed name or an unknown type.  The
 * caller owns it; NULL when out of memory. */
cJSON *explain_json(struct daemon *d, const char *name, const char *type);

/*
 * "check NAME": what a client gets for NAME now, as a chain of records
 * (zone data, or the cache for forwarded and spliced answers), each with
 * its origin as explain gives it; the final name's addresses with
 * "private" (RFC 1918, RFC 6598, RFC 4193, or served from a synced zone)
 * and why; the private endpoint notes about any name of the chain; and
 * "result": "private", "public" (some address is public) or "unresolved"
 * (with "rcode": NXDOMAIN, NODATA, "not in the cache", ...).  Sends
 * nothing to anyone: plinkfwd-ctl asks the daemon the question over DNS
 * first.  The caller owns the object; NULL when out of memory.
 */
cJSON *explain_check_json(struct daemon *d, const char *name);

#endif
