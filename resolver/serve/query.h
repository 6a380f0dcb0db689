/*
 * query.h -- the request lifecycle: validate, ACL, route, answer or forward.
 *
 * Bad-input policy (docs/bad-input.md), applied in this order:
 *  1. shorter than a header, or QR=1 ............ dropped, never answered
 *  2. source not allowed by the ACL ............. REFUSED
 *  3. opcode other than QUERY ................... NOTIMP
 *  4. QDCOUNT != 1, malformed question or OPT ... FORMERR
 *  5. EDNS version != 0 ......................... BADVERS (with OPT)
 *  6. class other than IN, AXFR/IXFR ............ REFUSED / NOTIMP
 * Everything else is routed: a local zone answers at once; a forwarded query
 * is handed to the worker's upstream pool and answered by query_upstream_done.
 */
#ifndef PLINKFWD_QUERY_H
#define PLINKFWD_QUERY_H

#include <stddef.h>
#include <stdint.h>

#include "upstream.h"

struct worker;
struct client;

/*
 * Handle one query (pkt, len) from cl.  Writes an immediate reply into
 * out[0..cap) and returns its length, or returns 0 when nothing is to be
 * sent now: dropped (*forwarded = 0), or forwarded (*forwarded = 1; the reply
 * comes later through listener_send).  cap must be at least 4096.
 * Allocation-free.
 */
size_t query_handle(struct worker *w, const uint8_t *pkt, size_t len, const struct client *cl,
		    uint8_t *out, size_t cap, int *forwarded);

/* The upstream completion callback (ctx is the worker). */
void query_upstream_done(void *ctx, const struct client *cl, enum upstream_status st,
			 const uint8_t *reply, size_t len, const uint8_t *query, size_t qlen);

#endif
