/*
 * ddr.h -- the answers for resolver.arpa (RFC 9462, Discovery of Designated
 * Resolvers), which plinkfwd never forwards.
 *
 * `_dns.resolver.arpa SVCB` asks "which encrypted endpoints (DoT, DoH) does
 * the resolver I am talking to offer?".  Only plinkfwd can answer that for
 * itself: a forwarded question would come back with the upstream's
 * endpoints, whose certificates do not cover plinkfwd's address, or would
 * move clients to a resolver that has none of the private answers
 * (RFC 9462 4.2: a forwarder SHOULD NOT forward resolver.arpa upstream).
 * So every name at or below resolver.arpa is answered here, whatever the
 * zones and forward rules say.
 *
 * With DoT or DoH listeners (listen-tls, listen-https), plinkfwd designates
 * itself: `_dns.resolver.arpa SVCB` gets one record per transport and port
 * (svcb.h) and, when tls-name is set, its A/AAAA records (the listener
 * addresses) in the additional section.  Everything else -- and
 * `_dns.resolver.arpa SVCB` too when no encrypted listener is configured
 * (RFC 9462 4 asks for NODATA then) -- gets NOERROR with no answer and a
 * made-up SOA for resolver.arpa in the authority section (RFC 2308: a
 * negative answer needs it to be cached; the shape of RFC 6303's locally
 * served zones), AA set; a query for that SOA at the apex gets it as the
 * answer.
 *
 * Everything here is allocation-free and keeps no state.
 */
#ifndef PLINKFWD_DDR_H
#define PLINKFWD_DDR_H

#include <stddef.h>
#include <stdint.h>

#include "common.h"

struct cfg;
struct wire_query;

/* 1 when q's name (q->qname, lower-cased) is resolver.arpa or below it. */
int ddr_match(const struct wire_query *q);
/* The same for a lower-cased wire name of len bytes (explain's view). */
int ddr_match_name(const uint8_t *name, size_t len);

/*
 * The reply to q (ddr_match() true) into out[0..cap): header (ID from q,
 * QR AA, RD and CD echoed), the question as sent, then either the SVCB
 * records of cfg's encrypted listeners (`_dns.resolver.arpa SVCB`) or the
 * SOA (answer for SOA and ANY at the apex, else authority), and a plain
 * OPT when q had EDNS (plinkfwd's options are added by the caller, as for
 * zone answers).  cfg (borrowed; NULL = no encrypted listener) is the
 * config the question is answered with.  Longer than limit: truncated
 * with TC.  *len gets the length.  FWD_OK, or FWD_EINVAL when q has no
 * question or cap is below 512.
 */
enum fwd_err ddr_answer(const struct wire_query *q, const struct cfg *cfg, size_t limit, uint8_t *out, size_t cap,
			size_t *len);

#endif
