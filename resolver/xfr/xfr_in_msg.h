/*
 * xfr_in_msg.h -- reading a zone transfer's messages and applying them.
 *
 * A transfer (AXFR, RFC 5936; IXFR, RFC 1995) is a stream of DNS messages
 * whose answer sections together hold the records: the zone's SOA first
 * and last for AXFR, difference sequences between SOAs for IXFR.  This is
 * the parser for them, fed one message at a time by the connection
 * (xfr_in_conn.c) and by the fuzz target, and the code that turns a
 * complete stream into the zone's new record list.  No I/O.
 *
 * Rejection rules (docs/bad-input.md): a reply whose ID, QR or opcode is
 * not ours' is not ours; then a non-NOERROR rcode, TC set, a wrong
 * question, a record outside the zone or of a class other than IN, a first
 * record that is not the zone's SOA, a serial that went backwards (RFC
 * 1982 arithmetic, serial.h), records after the closing SOA, a stream that ends
 * before its closing SOA, and an IXFR that does not apply to the copy
 * held (its first SOA is not ours, a record to delete is missing) each
 * reject the whole transfer; the copy serving stays.
 *
 * Ownership: struct xfr_in_parse holds ldns records it allocated; free it
 * with xfr_in_parse_free().  xfr_in_parse_apply() hands out a new list the
 * caller frees with ldns_rr_list_deep_free().
 */
#ifndef PLINKFWD_XFR_IN_MSG_H
#define PLINKFWD_XFR_IN_MSG_H

#include <ldns/ldns.h>
#include <stddef.h>
#include <stdint.h>

#include "common.h"

/* Why a transfer was rejected (a counter each, xfr_in_reject_name()). */
enum xfr_in_reject {
	XFR_IN_OK = 0,
	XFR_IN_R_TRUNCATED,      /* the stream ended inside a message */
	XFR_IN_R_NO_CLOSING_SOA, /* the stream ended before the closing SOA */
	XFR_IN_R_TSIG,           /* a message without a valid TSIG (key set) */
	XFR_IN_R_SERIAL,         /* the primary's serial is behind ours (RFC 1982) */
	XFR_IN_R_OUT_OF_ZONE,    /* a record outside the zone, or not class IN */
	XFR_IN_R_QUESTION,       /* not the question asked */
	XFR_IN_R_RCODE,          /* an rcode other than NOERROR */
	XFR_IN_R_MALFORMED,      /* unparsable, TC, no SOA first, data after the end */
	XFR_IN_R_IXFR,           /* an IXFR that does not apply to our copy */
	XFR_IN_R_NET,            /* no connection, a timeout, the primary closed early */
	XFR_IN_NREJECT
};
const char *xfr_in_reject_name(enum xfr_in_reject r);

/* What a complete stream turned out to be. */
enum xfr_in_kind { XFR_IN_NONE = 0, XFR_IN_UPTODATE, XFR_IN_AXFR, XFR_IN_IXFR };

/* Called for every message before it is read (TSIG verification); nonzero
 * rejects the transfer with XFR_IN_R_TSIG. */
typedef int (*xfr_in_verify_fn)(void *arg, const uint8_t *msg, size_t len, int first);

struct xfr_in_parse {
	ldns_rdf *apex;          /* owned */
	uint16_t id, qtype;      /* what was asked (LDNS_RR_TYPE_AXFR / IXFR / SOA) */
	int have_copy;
	uint32_t have_serial;
	xfr_in_verify_fn verify;
	void *verify_arg;
	/* progress */
	unsigned nmsg;
	size_t nrr;              /* answer records seen */
	int done;                /* the closing SOA was seen */
	int incremental;         /* IXFR with difference sequences */
	int in_add;              /* incremental: reading additions */
	uint32_t new_serial;
	ldns_rr_list *rrs;       /* every answer record, in order; owned */
	enum xfr_in_kind kind;
	char why[256];           /* the reason of a rejection, for the log */
};

/* Start reading the answer to (apex, qtype) with ID id; have_copy and
 * have_serial describe the copy held.  FWD_OK, FWD_EINVAL (bad apex), FWD_ENOMEM. */
enum fwd_err xfr_in_parse_init(struct xfr_in_parse *p, const char *apex, uint16_t id, uint16_t qtype,
			       int have_copy, uint32_t have_serial);
void xfr_in_parse_free(struct xfr_in_parse *p);

/*
 * One message of the stream.  Returns 0: more messages are expected; 1: the
 * stream is complete (p->kind says what it was); -1: rejected, with the
 * reason in *why and p->why.  For an SOA query (qtype SOA) the one answer
 * completes it with kind XFR_IN_UPTODATE or XFR_IN_AXFR (the primary's
 * serial is newer: transfer).
 */
int xfr_in_parse_msg(struct xfr_in_parse *p, const uint8_t *msg, size_t len, enum xfr_in_reject *why);

/* The stream ended (the primary closed) before it was complete: the reason. */
enum xfr_in_reject xfr_in_parse_eof(struct xfr_in_parse *p, int mid_message);

/*
 * The zone after a complete AXFR or IXFR stream: for AXFR the records
 * received (SOA first, once); for IXFR the copy held (cur, SOA included)
 * with the differences applied.  FWD_OK with *out (caller frees), or
 * FWD_EPARSE with *why set (XFR_IN_R_IXFR, XFR_IN_R_MALFORMED); FWD_ENOMEM.
 */
enum fwd_err xfr_in_parse_apply(struct xfr_in_parse *p, const ldns_rr_list *cur, ldns_rr_list **out,
				enum xfr_in_reject *why);

/* The SOA serial and timers of a record list's SOA (the first one): FWD_OK or FWD_ENOENT. */
enum fwd_err xfr_soa_values(const ldns_rr_list *rrs, uint32_t *serial, uint32_t *refresh, uint32_t *retry,
			    uint32_t *expire);

#endif
