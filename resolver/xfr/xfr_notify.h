/*
 * xfr_notify.h -- NOTIFY (RFC 1996) to a zone's secondaries whenever a new
 * version of it is published, on the main thread's event loop.
 *
 * xfr_notify_publish() is called with every snapshot the daemon publishes
 * (start-up, reload, ARM sync round).  For each served zone with notify:
 * lines whose serial differs from the one last notified (every such zone
 * at the first call), one NOTIFY per target is sent over UDP from a socket
 * of its own, signed when the line names a key, and re-sent until an
 * answer with its id comes back or XFR_NOTIFY_TRIES attempts went
 * unanswered (timeouts 1, 2, 4, 8 and 16 s).  A newer version of the same
 * zone replaces a NOTIFY still being retried.  Everything a NOTIFY needs
 * (address, key, serial) is copied when it is queued: the snapshot may go
 * at once.
 */
#ifndef PLINKFWD_XFR_NOTIFY_H
#define PLINKFWD_XFR_NOTIFY_H

#include <stdint.h>

#include "common.h"

struct event_base;
struct snapshot;
struct xfr_notify;

#define XFR_NOTIFY_TRIES 5

struct xfr_notify_stats {
	uint64_t sent;      /* NOTIFY messages sent, retries included */
	uint64_t retries;   /* ... of which re-sent after a timeout */
	uint64_t answered;  /* NOTIFYs a secondary answered (any rcode; logged when not NOERROR) */
	uint64_t failed;    /* NOTIFYs given up on: no answer after XFR_NOTIFY_TRIES, or no socket */
};

/* A notifier on base (borrowed): FWD_OK with *out, FWD_ENOMEM.  Freed with
 * xfr_notify_free(), which drops whatever is still being retried. */
enum fwd_err xfr_notify_new(struct event_base *base, struct xfr_notify **out);
void xfr_notify_free(struct xfr_notify *n);

/* snap was just published: notify the secondaries of every zone whose
 * serial changed since the last call.  Main thread. */
void xfr_notify_publish(struct xfr_notify *n, const struct snapshot *snap);

/* The counters (main thread). */
void xfr_notify_get_stats(const struct xfr_notify *n, struct xfr_notify_stats *out);

#endif
