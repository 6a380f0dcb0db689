/*
 * svcb.h -- SVCB records (RFC 9460) that describe plinkfwd's encrypted
 * listeners for Discovery of Designated Resolvers (RFC 9462, RFC 9461).
 *
 * One ServiceMode record per transport and port: DoH first (priority 1..,
 * alpn=h2, dohpath=/dns-query{?dns}), then DoT (alpn=dot), each with
 * port= when it is not the protocol's default (443, 853) and ipv4hint /
 * ipv6hint listing the addresses of that transport and port (wildcard
 * addresses are not hints and are left out).  TargetName is tls-name, or
 * "." when none is set (RFC 9460 2.5: the owner, _dns.resolver.arpa;
 * clients then connect to the hints and verify the certificate against the
 * address they asked, RFC 9462 4.2).
 *
 * Pure functions of the config: no allocation, no state; the records are
 * rebuilt per question (a rare one) so that they always match the config
 * the question is answered with.
 */
#ifndef PLINKFWD_SVCB_H
#define PLINKFWD_SVCB_H

#include <stddef.h>
#include <stdint.h>

#include "common.h"

struct cfg;

#define TYPE_SVCB 64
#define SVCB_TTL 300u

/* SvcParamKeys (RFC 9460 14.3.2, RFC 9461 5) */
enum { SVCB_KEY_ALPN = 1, SVCB_KEY_PORT = 3, SVCB_KEY_IPV4HINT = 4, SVCB_KEY_IPV6HINT = 6, SVCB_KEY_DOHPATH = 7 };

/* 1 when cfg has an encrypted listener (DDR then answers with records). */
int svcb_any(const struct cfg *cfg);

/*
 * The answer records for cfg's encrypted listeners into out[0..cap), each
 * owned by a compression pointer to offset `owner` of the message.
 * FWD_OK with *len bytes and *count records (0 when there is no encrypted
 * listener); FWD_EFULL when they do not fit.
 */
enum fwd_err svcb_records(const struct cfg *cfg, uint16_t owner, uint8_t *out, size_t cap, size_t *len,
			  unsigned *count);

/*
 * The additional records RFC 9462 4 asks for: A and AAAA of tls-name, one
 * per distinct (non-wildcard) listener address, the name written once and
 * then pointed to.  at is the offset in the message where they start (for
 * the pointers).  FWD_OK with *len and *count (0 without tls-name);
 * FWD_EFULL when they do not fit.
 */
enum fwd_err svcb_additional(const struct cfg *cfg, size_t at, uint8_t *out, size_t cap, size_t *len,
			     unsigned *count);

#endif
