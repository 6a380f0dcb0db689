/*
 * upstream_log.c -- log helpers shared by the forwarding modules (see
 * upstream_log.h).
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>

#include "common.h"
#include "upstream_log.h"

const char *up_addr_text(const struct sockaddr_storage *ss, char *buf, size_t len)
{
	char host[INET6_ADDRSTRLEN];
	if (ss->ss_family == AF_INET6) {
		const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)ss;
		inet_ntop(AF_INET6, &s6->sin6_addr, host, sizeof host);
		snprintf(buf, len, "%s@%u", host, (unsigned)ntohs(s6->sin6_port));
	} else {
		const struct sockaddr_in *s4 = (const struct sockaddr_in *)ss;
		inet_ntop(AF_INET, &s4->sin_addr, host, sizeof host);
		snprintf(buf, len, "%s@%u", host, (unsigned)ntohs(s4->sin_port));
	}
	return buf;
}

int up_warn_limit(uint64_t *last_ms, uint64_t now)
{
	if (*last_ms != 0 && now - *last_ms < UP_WARN_INTERVAL_MS)
		return 0;
	/* 0 means "never": a clock that reads 0 must not disable the limit */
	*last_ms = now ? now : 1;
	return 1;
}
