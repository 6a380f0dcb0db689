/*
 * xfr_out.h -- serving zone transfers (the primary side): AXFR (RFC 5936)
 * and IXFR (RFC 1995) requests, checked against TSIG (RFC 8945) and the
 * zone's allow-transfer: list, answered in messages of up to 64 KiB.
 *
 * The TCP path (serve/stream.c) hands a transfer request to
 * xfr_out_start().  The answer is either one message (REFUSED, NOTAUTH,
 * FORMERR, the single SOA of an up-to-date IXFR), or a struct xfr_out that
 * produces the transfer one message per xfr_out_next() call -- the stream
 * asks for the next one only when its output buffer has drained, so a
 * 25,000-record zone is never built in memory, and the worker serves other
 * queries between messages.
 *
 * A struct xfr_out holds a reference on its snapshot (and so on the zone
 * and the key it signs with) until xfr_out_free().
 */
#ifndef PLINKFWD_XFR_OUT_H
#define PLINKFWD_XFR_OUT_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "common.h"

struct snapshot;
struct xfr_journal;
struct xfr_out;

/* What a request got, for the counters (serve/stats.h) and the log. */
enum xfr_outcome {
	XFR_OUT_AXFR = 0,      /* a full transfer (AXFR) */
	XFR_OUT_IXFR,          /* an incremental transfer from the journal */
	XFR_OUT_IXFR_FULL,     /* IXFR answered with the whole zone (no journal for that serial) */
	XFR_OUT_UPTODATE,      /* IXFR from the current serial or newer: the single SOA */
	XFR_OUT_REFUSED,       /* no allow-transfer line admits the client (or its key) */
	XFR_OUT_NOTAUTH,       /* a bad TSIG (BADKEY, BADSIG, BADTIME), or not a zone served here */
	XFR_OUT_FORMERR,       /* a malformed request (IXFR without its SOA, more than one question) */
	XFR_OUT_NOTIMP,        /* AXFR over UDP (RFC 5936 sec. 4.2: TCP only) */
	XFR_OUT_NOUTCOMES
};

/* Log lines about refused requests: at most XFR_LOG_BURST per minute per
 * worker, then one line saying how many were not logged. */
#define XFR_LOG_BURST 10
struct xfr_log_limit {
	int64_t window;        /* start of the current minute (wall clock, s) */
	unsigned logged;       /* lines in it */
	unsigned dropped;      /* lines not written */
};

/*
 * A request msg[0..len) (opcode QUERY, qtype AXFR or IXFR, already framed)
 * from `from`, answered with the snapshot snap (borrowed; the transfer
 * takes its own reference), the IXFR journal jr (borrowed; NULL: none,
 * every IXFR that is behind gets the whole zone), the wall clock now (TSIG's time check, the
 * log's rate limit) and udp set when it came over UDP (then an IXFR is
 * always answered with the single SOA, RFC 1995 sec. 2: the client asks
 * again over TCP; an AXFR over UDP gets NOTIMP).
 *
 * FWD_OK with *outcome set and either
 *   *x == NULL: the whole answer is out[0..*outlen) (cap >= 65535);
 *   *x != NULL: a transfer, to be read with xfr_out_next() and freed with
 *               xfr_out_free(); nothing in out.
 * FWD_EPARSE: msg is no DNS message at all (the caller drops it);
 * FWD_ENOMEM.
 */
enum fwd_err xfr_out_start(const struct snapshot *snap, struct xfr_journal *jr, const uint8_t *msg, size_t len,
			   const struct sockaddr *from, int64_t now, int udp, struct xfr_log_limit *ll, uint8_t *out,
			   size_t cap, size_t *outlen, struct xfr_out **x, enum xfr_outcome *outcome);

/*
 * The next message of the transfer into out (cap >= 65535): FWD_OK with
 * *len and *last (1 on the final message; do not call again); FWD_ENOMEM or
 * FWD_EINVAL (signing failed): abort the transfer (close the connection).
 */
enum fwd_err xfr_out_next(struct xfr_out *x, uint8_t *out, size_t cap, size_t *len, int *last);

/* Messages and records sent so far (the log line at the end). */
void xfr_out_progress(const struct xfr_out *x, unsigned *msgs, size_t *rrs);

void xfr_out_free(struct xfr_out *x);

/*
 * A reply plinkfwd built from one of its zones (reply[0..*len), room for cap
 * bytes) to a query req[0..reqlen) that carries a TSIG record -- a
 * secondary's SOA check, signed like its transfers: the TSIG is checked
 * (RFC 8945 sec. 5.2) and the reply signed with the request's key, or
 * replaced with NOTAUTH and the TSIG error (then *refused is 1, for the
 * caller to count as XFR_OUT_NOTAUTH, and a line naming the client from is
 * logged under ll's rate limit).  A request without TSIG leaves the reply as
 * it is.  FWD_OK with *len updated; FWD_EINVAL (the caller answers
 * SERVFAIL); FWD_ENOMEM.
 */
enum fwd_err xfr_sign_reply(const struct snapshot *snap, const uint8_t *req, size_t reqlen, const struct sockaddr *from,
			    int64_t now, struct xfr_log_limit *ll, uint8_t *reply, size_t cap, size_t *len, int *refused);

/* The outcome's name for logs and metric labels ("axfr", "refused", ...). */
const char *xfr_outcome_name(enum xfr_outcome o);

#endif
