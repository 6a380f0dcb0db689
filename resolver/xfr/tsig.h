/*
 * tsig.h -- TSIG (RFC 8945) for zone transfers and NOTIFY: thin wrappers
 * over ldns's ldns_pkt_tsig_sign / ldns_pkt_tsig_verify and their _next
 * variants.  No HMAC is computed here; this file picks the key, checks
 * what ldns does not (the key name and algorithm, the time window), keeps
 * the MAC that chains one message of a transfer to the next, and builds
 * the unsigned error TSIG of a BADKEY or BADSIG answer.
 *
 * One struct tsig_ctx follows one exchange (a request and its one or many
 * answers), on either side:
 *
 *   primary (answers):  tsig_check_request()  -> rcode 0: ctx holds the key
 *                       tsig_sign(ctx, msg1)     and the request's MAC;
 *                       tsig_sign(ctx, msg2) ...  every message signed, each
 *                       MAC chained to the previous one (sec. 5.3.1)
 *   secondary (asks):   tsig_ctx_start(key); tsig_sign(ctx, request);
 *                       tsig_verify(ctx, answer1 ...), tsig_verify(ctx, answer2 ...)
 *
 * The ctx owns the last MAC (an ldns_rdf); tsig_ctx_clear() frees it.  The
 * key is borrowed from the struct cfg it came from, which must outlive the
 * ctx (a transfer holds a reference on its snapshot).
 */
#ifndef PLINKFWD_TSIG_H
#define PLINKFWD_TSIG_H

#include <stddef.h>
#include <stdint.h>

#include <ldns/ldns.h>

#include "common.h"
#include "config.h"

/* Seconds either side of our clock a signature is good for (RFC 8945
 * sec. 10 recommends 300, as NSD, Knot and BIND use). */
#define TSIG_FUDGE 300

/* TSIG error codes (RFC 8945 sec. 3); 0 = NOERROR. */
#define TSIG_BADSIG 16
#define TSIG_BADKEY 17
#define TSIG_BADTIME 18

struct tsig_ctx {
	const struct cfg_tsig_key *key; /* NULL: the exchange is not signed */
	ldns_rdf *mac;                  /* owned: the MAC the next message chains to; NULL before the first */
	unsigned nmsg;                  /* messages signed or verified so far */
};

/* A ctx for a request we sign with key (key may be NULL: unsigned). */
void tsig_ctx_start(struct tsig_ctx *ctx, const struct cfg_tsig_key *key);
/* Free the MAC; the ctx may be started again. */
void tsig_ctx_clear(struct tsig_ctx *ctx);

/*
 * Check the TSIG of a request we answer: pkt is wire (len bytes) parsed by
 * ldns_wire2pkt, now the wall clock in seconds.  Returns FWD_OK with
 * *tsig_error:
 *   0             unsigned (ctx->key NULL), or signed and good (ctx holds
 *                 the key and the request's MAC, for tsig_sign());
 *   TSIG_BADKEY   a key name or algorithm cfg has no key: clause for;
 *   TSIG_BADSIG   the MAC does not verify;
 *   TSIG_BADTIME  the MAC verifies but the time is outside the fudge.
 * A non-zero error is answered NOTAUTH with tsig_error_reply() (BADTIME:
 * RFC 8945 wants that answer signed; it goes out unsigned here, which a
 * client treats as BADSIG -- a refusal either way).  FWD_ENOMEM.
 */
enum fwd_err tsig_check_request(const struct cfg *cfg, ldns_pkt *pkt, const uint8_t *wire, size_t len,
				int64_t now, struct tsig_ctx *ctx, uint16_t *tsig_error);

/*
 * Sign pkt with ctx's key and append the TSIG record (ldns adds it when the
 * packet is turned into wire).  The first message of an exchange is signed
 * with every TSIG variable over the previous MAC (a request's, or none);
 * the following ones over the previous MAC and the timers only (RFC 8945
 * sec. 5.3.1).  The new MAC replaces ctx->mac.  A ctx without a key signs
 * nothing and returns FWD_OK.  FWD_EINVAL when ldns fails.
 */
enum fwd_err tsig_sign(struct tsig_ctx *ctx, ldns_pkt *pkt);

/*
 * Verify one answer of an exchange ctx signed the request of: like
 * tsig_check_request()'s *tsig_error, for the first answer (all variables)
 * and each following one (timers only), each chained to the previous MAC.
 * An answer without TSIG is TSIG_BADSIG (every message must be signed).
 */
enum fwd_err tsig_verify(struct tsig_ctx *ctx, ldns_pkt *pkt, const uint8_t *wire, size_t len, int64_t now,
			 uint16_t *tsig_error);

/*
 * Turn reply (already built: NOTAUTH, the request's question) into the
 * answer to a request whose TSIG failed with error: an unsigned TSIG record
 * with the request's key name, algorithm, time and original id, an empty
 * MAC and error (RFC 8945 sec. 5.3.2).  The reply owns the record.
 * FWD_EINVAL when req has no TSIG, FWD_ENOMEM.
 */
enum fwd_err tsig_error_reply(ldns_pkt *reply, const ldns_pkt *req, uint16_t error);

#endif
