/*
 * loop_addrs.h -- which upstream groups an address is a server of, so that
 * the query path can tell in a few instructions whether a client's query
 * comes from a server of the group it is about to be forwarded to (the
 * first half of a forwarding loop, loop.h).
 *
 * Built once per snapshot from its config (struct cfg_upstream servers)
 * and ACL: only servers that may query plinkfwd at all (acl_allowed) can
 * send a query round again, so a group without such a server is not
 * "watched" and its questions cost nothing here.  Addresses are compared
 * without the port (a server's queries leave from a random port) and an
 * IPv4-mapped IPv6 address equals its IPv4 address.  Groups past the 63rd
 * share the last bit.
 *
 * Ownership: loop_addrs_build() allocates; the caller frees the result
 * with loop_addrs_free().  Lookups are allocation-free and read-only, so
 * one view may be read by one thread while others read theirs.
 */
#ifndef PLINKFWD_LOOP_ADDRS_H
#define PLINKFWD_LOOP_ADDRS_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "common.h"

struct acl;
struct cfg;

struct loop_addrs {
	uint64_t watched;   /* bit of each group with a server allowed to query plinkfwd */
	size_t n;           /* entries */
	struct loop_addr {
		uint8_t ip[16]; /* IPv4 as ::ffff:a.b.c.d */
		uint64_t groups;
	} *a;               /* owned, n entries, addresses unique */
};

/* The bit of group index i. */
static inline uint64_t loop_group_bit(size_t i) { return (uint64_t)1 << (i < 63 ? i : 63); }

/* The view of cfg's servers (acl: the snapshot's ACL; NULL = every server
 * counts as a client).  FWD_OK with *out set, or FWD_ENOMEM. */
enum fwd_err loop_addrs_build(const struct cfg *cfg, const struct acl *acl, struct loop_addrs **out);
void loop_addrs_free(struct loop_addrs *la);

/* Is group `group` watched (a cheap test before anything else)? */
static inline int loop_addrs_watched(const struct loop_addrs *la, size_t group)
{
	return la && (la->watched & loop_group_bit(group)) != 0;
}

/* 1 when from (any port) is a server of group `group`. */
int loop_addrs_match(const struct loop_addrs *la, const struct sockaddr_storage *from, size_t group);

#endif
