/*
 * splice.h -- CNAME splicing: cutting a public chain where it enters a name
 * plinkfwd owns, and building the reply that completes it privately.
 *
 * An Azure name with a private endpoint resolves publicly as
 *     acct.blob.core.windows.net  CNAME acct.privatelink.blob.core.windows.net
 *     acct.privatelink.blob...    CNAME blob.xyz.store.core.windows.net
 *     blob.xyz.store...           A     <public address>
 * A client inside the network must get the private address instead.  When a
 * chain target is owned (decided by the caller: a local or synced zone, a
 * privatelink forward rule), the chain is cut there: the reply keeps the
 * question and the CNAMEs up to and including the one pointing at the owned
 * name, then the private records for that name, and nothing of the public
 * tail.
 *
 * These are pure functions over wire messages: no allocation, no I/O.  The
 * orchestration (zone lookups, the second upstream query, fallback, cache)
 * is in serve/query.c; continuations are serve/cont.h.  Output records are written with uncompressed names
 * except that an owner equal to the question name becomes a pointer to the
 * question (so it echoes the client's case, as a hit's question patch does).
 */
#ifndef PLINKFWD_SPLICE_H
#define PLINKFWD_SPLICE_H

#include <stddef.h>
#include <stdint.h>

#include "common.h"
#include "wire.h"

struct wire_query;

#define SPLICE_MAX_CHAIN 16 /* CNAME steps followed in a public answer */

/* Does plinkfwd own this (lower-cased wire) name?  1 = cut the chain here. */
typedef int (*splice_owned_fn)(void *ctx, const uint8_t *name, size_t len);

struct splice_cut {
	uint8_t target[WIRE_MAX_NAME]; /* the owned name the chain enters (lower-cased) */
	uint8_t target_len;
	uint8_t nsteps;                /* CNAME records kept, in chain order */
	uint16_t rr_off[SPLICE_MAX_CHAIN]; /* offset in the reply of each kept CNAME RR */
	uint8_t has_cname;             /* the answer has a CNAME chain from the question name */
	uint8_t too_deep;              /* the chain went on past SPLICE_MAX_CHAIN steps (or loops):
	                                  not followed, the answer is relayed as it is */
	uint8_t found;                 /* the chain enters an owned name: target is set */
};

/*
 * Follow the CNAME chain of msg's answer section from qname (lower-cased
 * wire).  For each target, owned() decides; at the first owned target the
 * cut is recorded.  Returns FWD_OK with cut->found set when a cut was found
 * (cut->has_cname tells whether there was a chain at all), or FWD_EPARSE
 * for a malformed message.
 */
enum fwd_err splice_find_cut(const uint8_t *msg, size_t len, const uint8_t *qname, size_t qname_len,
			     splice_owned_fn owned, void *ctx, struct splice_cut *cut);

/*
 * Append the RR at msg[off] to out[0..cap) with every name expanded (owner;
 * and names inside the RDATA of CNAME, NS, PTR, DNAME, MX, SOA, SRV).  An
 * owner equal to qname (lower-cased wire, may be NULL) is written as a
 * pointer to the question.  Returns bytes written (0: no room or
 * malformed); *next gets the offset after the RR, *type its type.
 */
size_t splice_copy_rr(const uint8_t *msg, size_t len, size_t off, const uint8_t *qname,
		      size_t qname_len, uint8_t *out, size_t cap, size_t *next, uint16_t *type);

/* The kept CNAMEs of cut, expanded, appended to out.  Returns bytes, 0 when
 * they do not fit. */
size_t splice_copy_chain(const uint8_t *msg, size_t len, const struct splice_cut *cut,
			 const uint8_t *qname, size_t qname_len, uint8_t *out, size_t cap);

/*
 * Append the records of one section of msg (1 answer, 2 authority, 3
 * additional) to out, expanded; only records of type only_type when it is
 * not 0.  *count gets how many.  Returns bytes (0 with *count 0 when there
 * are none, or when they do not fit: then *count is 0 too).
 */
size_t splice_copy_section(const uint8_t *msg, size_t len, int section, uint16_t only_type,
			   const uint8_t *qname, size_t qname_len, uint8_t *out, size_t cap,
			   uint16_t *count);

/*
 * Build the spliced reply to q in out[0..cap): q's ID, QR, RD and CD from
 * q, RA, the given rcode; q's question bytes; the answer records an (ancount
 * of them, already in wire form) and the authority records ns; an OPT when q
 * has EDNS.  Every record gets the smallest TTL of them all (an SOA counts
 * with min(TTL, MINIMUM)): the answer is valid only as long as its
 * shortest-lived part.  Returns the length, 0 when it does not fit in cap.
 */
size_t splice_assemble(const struct wire_query *q, int rcode, const uint8_t *an, size_t an_len,
		       uint16_t ancount, const uint8_t *ns, size_t ns_len, uint16_t nscount,
		       uint8_t *out, size_t cap);

/*
 * A query for (name, qtype, IN) with RD set and, when do_bit/edns ask for
 * it, an OPT record (our payload size, DO copied).  Written to out (cap >=
 * 12 + 255 + 4 + 11).  Returns the length.
 */
size_t splice_make_query(const uint8_t *name, size_t name_len, uint16_t qtype, int edns, int do_bit,
			 uint8_t *out, size_t cap);

#endif
