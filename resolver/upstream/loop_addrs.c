/*
 * loop_addrs.c -- upstream servers by address (see loop_addrs.h).
 */
#include "loop_addrs.h"

#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#include "acl.h"
#include "config.h"

/* ss's address as 16 bytes (IPv4 mapped); 0 when not IP. */
static int addr16(const struct sockaddr_storage *ss, uint8_t out[16])
{
	if (ss->ss_family == AF_INET) {
		const struct sockaddr_in *s4 = (const void *)ss;
		memset(out, 0, 10);
		out[10] = out[11] = 0xff;
		memcpy(out + 12, &s4->sin_addr, 4);
		return 1;
	}
	if (ss->ss_family == AF_INET6) {
		const struct sockaddr_in6 *s6 = (const void *)ss;
		memcpy(out, &s6->sin6_addr, 16);
		return 1;
	}
	return 0;
}

enum fwd_err loop_addrs_build(const struct cfg *cfg, const struct acl *acl, struct loop_addrs **out)
{
	size_t total = 0;
	struct loop_addrs *la = calloc(1, sizeof(*la));

	if (!la)
		return FWD_ENOMEM;
	for (size_t g = 0; g < cfg->nupstreams; g++)
		total += cfg->upstreams[g].nservers;
	if (total && !(la->a = calloc(total, sizeof(*la->a)))) {
		free(la);
		return FWD_ENOMEM;
	}
	for (size_t g = 0; g < cfg->nupstreams; g++) {
		const struct cfg_upstream *u = &cfg->upstreams[g];
		for (size_t i = 0; i < u->nservers; i++) {
			uint8_t ip[16];
			size_t j;
			if (!addr16(&u->servers[i].ss, ip))
				continue;
			if (acl && !acl_allowed(acl, (const struct sockaddr *)&u->servers[i].ss))
				continue; /* its queries are REFUSED: it cannot send one round again */
			la->watched |= loop_group_bit(g);
			for (j = 0; j < la->n && memcmp(la->a[j].ip, ip, 16) != 0; j++)
				;
			if (j == la->n)
				memcpy(la->a[la->n++].ip, ip, 16);
			la->a[j].groups |= loop_group_bit(g);
		}
	}
	*out = la;
	return FWD_OK;
}

void loop_addrs_free(struct loop_addrs *la)
{
	if (!la)
		return;
	free(la->a);
	free(la);
}

int loop_addrs_match(const struct loop_addrs *la, const struct sockaddr_storage *from, size_t group)
{
	uint8_t ip[16];
	uint64_t bit = loop_group_bit(group);

	if (!la || !(la->watched & bit) || !addr16(from, ip))
		return 0;
	/* a handful of servers: a scan beats a hash */
	for (size_t j = 0; j < la->n; j++)
		if ((la->a[j].groups & bit) && memcmp(la->a[j].ip, ip, 16) == 0)
			return 1;
	return 0;
}
