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
 * unanswered (timeouts 1, 2, 4, 8 and 16 s).  When the line names a key the
 * answer must carry a TSIG that verifies against the request's (RFC 8945
 * sec. 5.3): an unsigned or badly signed one is counted as unverified and
 * the attempt as failed, and the NOTIFY is re-sent when its timer fires.  A newer version of the same
 * zone replaces a NOTIFY still being retried.  Everything a NOTIFY needs
 * (address, key, serial) is copied when it is queued: the snapshot may go
 * at once.
 */
#ifndef PLINKFWD_XFR_NOTIFY_H
#define PLINKFWD_XFR_NOTIFY_H

#include <stdint.h>

#include "common.h"

struct event_base;
struct fwd_clock;
struct snapshot;
struct tsig_ctx;
struct xfr_notify;

#define XFR_NOTIFY_TRIES 5

struct xfr_notify_stats {
	uint64_t sent;      /* NOTIFY messages sent, retries included */
	uint64_t retries;   /* ... of which re-sent after a timeout */
	uint64_t answered;  /* NOTIFYs a secondary answered (any rcode; logged when not NOERROR) */
	uint64_t unverified; /* answers whose TSIG was missing or did not verify (the try failed) */
	uint64_t failed;    /* NOTIFYs given up on: no answer after XFR_NOTIFY_TRIES, or no socket */
};

/* A notifier on base and clock (both borrowed; the clock's wall time is
 * TSIG's): FWD_OK with *out, FWD_ENOMEM.  Freed with xfr_notify_free(),
 * which drops whatever is still being retried. */
enum fwd_err xfr_notify_new(struct event_base *base, const struct fwd_clock *clock, struct xfr_notify **out);
void xfr_notify_free(struct xfr_notify *n);

/* snap was just published: notify the secondaries of every zone whose
 * serial changed since the last call.  Main thread. */
void xfr_notify_publish(struct xfr_notify *n, const struct snapshot *snap);

/* Whether msg[0..len) answers the NOTIFY with id that ctx signed (ctx's key
 * NULL: an unsigned NOTIFY), now the wall clock in seconds:
 *   XFR_NOTIFY_NOT_ANSWER  not an answer to it (another id, no QR, another
 *                          opcode, too short): keep waiting;
 *   XFR_NOTIFY_ANSWERED    the answer, and with a key its TSIG verifies;
 *   XFR_NOTIFY_UNVERIFIED  the answer, but a key was used and its TSIG is
 *                          missing or does not verify: a failed try.
 * ctx's MAC moves on to the answer's when it verifies. */
enum xfr_notify_answer { XFR_NOTIFY_NOT_ANSWER = 0, XFR_NOTIFY_ANSWERED, XFR_NOTIFY_UNVERIFIED };
enum xfr_notify_answer xfr_notify_check_answer(struct tsig_ctx *ctx, uint16_t id, const uint8_t *msg, size_t len,
					       int64_t now);

/* The counters (main thread). */
void xfr_notify_get_stats(const struct xfr_notify *n, struct xfr_notify_stats *out);

#endif
