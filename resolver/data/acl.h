/*
 * acl.h -- who may query: allow:/deny: CIDR lists compiled for fast checks.
 *
 * Policy: a source matched by any deny: entry is refused; otherwise it is
 * allowed when matched by an allow: entry or when it is a loopback address
 * (127.0.0.0/8, ::1, ::ffff:127.0.0.0/104); everything else is refused.
 * An IPv4-mapped IPv6 source is checked as the IPv4 address it carries.
 */
#ifndef PLINKFWD_ACL_H
#define PLINKFWD_ACL_H

#include <sys/socket.h>

struct cfg;
struct acl;

/* Build from cfg->allow / cfg->deny.  NULL on allocation failure.
 * The caller owns the result and frees it with acl_free(). */
struct acl *acl_build(const struct cfg *cfg);
void acl_free(struct acl *acl);

/* 1 when sa may query, 0 when it must get REFUSED. Allocation-free. */
int acl_allowed(const struct acl *acl, const struct sockaddr *sa);

/* 1 when a and b are the same host address (ports ignored; an IPv4-mapped
 * IPv6 address equals the IPv4 address it carries), else 0. */
int acl_same_host(const struct sockaddr *a, const struct sockaddr *b);

#endif
