/*
 * cfg_value.c -- the value parsers of the configuration file: numbers,
 * sizes, addresses and prefixes.  Below config.c and the clause files
 * (cfg_xfr.c, cfg_secondary.c, arm_config.c), which all read addresses;
 * nothing here knows a clause or a key.
 */
#ifndef _POSIX_C_SOURCE
#define _POSIX_C_SOURCE 200809L
#endif

#include "cfg_value.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <net/if.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define CFG_SIZE_MAX ((uint64_t)1 << 40)


enum fwd_err cfg_parse_ulong(const char *s, unsigned long max, unsigned long *out)
{
	unsigned long v = 0;

	if (s == NULL || *s == '\0')
		return FWD_EPARSE;
	for (; *s; s++) {
		if (*s < '0' || *s > '9')
			return FWD_EPARSE;
		if (v > (max - (unsigned long)(*s - '0')) / 10)
			return FWD_EPARSE;
		v = v * 10 + (unsigned long)(*s - '0');
	}
	*out = v;
	return FWD_OK;
}

enum fwd_err cfg_parse_size(const char *s, uint64_t *out)
{
	char num[32];
	size_t n = 0;
	unsigned long v;
	uint64_t mult = 1;
	const char *suf;

	if (s == NULL)
		return FWD_EPARSE;
	while (s[n] >= '0' && s[n] <= '9')
		n++;
	if (n == 0 || n >= sizeof(num))
		return FWD_EPARSE;
	memcpy(num, s, n);
	num[n] = '\0';
	suf = s + n;
	switch (tolower((unsigned char)*suf)) {
	case '\0':
		break;
	case 'k':
		mult = (uint64_t)1 << 10;
		suf++;
		break;
	case 'm':
		mult = (uint64_t)1 << 20;
		suf++;
		break;
	case 'g':
		mult = (uint64_t)1 << 30;
		suf++;
		break;
	default:
		return FWD_EPARSE;
	}
	/* "64mb" is what unbound users type; accept it, but nothing else after. */
	if (mult > 1 && (*suf == 'b' || *suf == 'B'))
		suf++;
	if (*suf != '\0')
		return FWD_EPARSE;
	if (cfg_parse_ulong(num, (unsigned long)(CFG_SIZE_MAX), &v) != FWD_OK)
		return FWD_EPARSE;
	if ((uint64_t)v > CFG_SIZE_MAX / mult)
		return FWD_EPARSE;
	*out = (uint64_t)v * mult;
	return FWD_OK;
}

/* inet_pton for IPv6, plus an optional "%scope" (interface name or index). */
static enum fwd_err parse_in6(const char *s, struct sockaddr_in6 *sin6)
{
	char buf[INET6_ADDRSTRLEN + IF_NAMESIZE + 2];
	char *pct;
	unsigned long idx;

	if (strlen(s) >= sizeof(buf))
		return FWD_EPARSE;
	strcpy(buf, s);
	pct = strchr(buf, '%');
	if (pct != NULL)
		*pct++ = '\0';
	if (inet_pton(AF_INET6, buf, &sin6->sin6_addr) != 1)
		return FWD_EPARSE;
	if (pct != NULL) {
		if (*pct == '\0')
			return FWD_EPARSE;
		if (cfg_parse_ulong(pct, 0xffffffffUL, &idx) == FWD_OK)
			sin6->sin6_scope_id = (uint32_t)idx;
		else if ((sin6->sin6_scope_id = if_nametoindex(pct)) == 0)
			return FWD_EPARSE;
	}
	return FWD_OK;
}

enum fwd_err cfg_parse_addr(const char *s, int default_port, struct cfg_addr *out)
{
	char host[INET6_ADDRSTRLEN + IF_NAMESIZE + 4];
	const char *at, *h = s;
	size_t hlen;
	unsigned long port = (unsigned long)default_port;
	struct cfg_addr a;

	if (s == NULL || out == NULL || default_port < 0 || default_port > 65535)
		return FWD_EPARSE;
	at = strchr(s, '@');
	hlen = at ? (size_t)(at - s) : strlen(s);
	if (at != NULL && (cfg_parse_ulong(at + 1, 65535, &port) != FWD_OK || port == 0))
		return FWD_EPARSE;
	if (hlen >= 2 && s[0] == '[') {
		if (s[hlen - 1] != ']')
			return FWD_EPARSE;
		h = s + 1;
		hlen -= 2;
	} else if (memchr(s, ']', hlen) != NULL) {
		return FWD_EPARSE;
	}
	if (hlen == 0 || hlen >= sizeof(host))
		return FWD_EPARSE;
	memcpy(host, h, hlen);
	host[hlen] = '\0';

	memset(&a, 0, sizeof(a));
	if (h == s && inet_pton(AF_INET, host, &((struct sockaddr_in *)&a.ss)->sin_addr) == 1) {
		struct sockaddr_in *sin = (struct sockaddr_in *)&a.ss;
		sin->sin_family = AF_INET;
		sin->sin_port = htons((uint16_t)port);
		a.len = sizeof(*sin);
	} else {
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&a.ss;
		if (parse_in6(host, sin6) != FWD_OK)
			return FWD_EPARSE;
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons((uint16_t)port);
		a.len = sizeof(*sin6);
	}
	a.line = out->line;
	*out = a;
	return FWD_OK;
}

enum fwd_err cfg_parse_cidr(const char *s, struct cfg_cidr *out)
{
	char host[INET6_ADDRSTRLEN];
	const char *slash;
	size_t hlen;
	unsigned long prefix;
	struct cfg_cidr c;
	int maxp, i;

	if (s == NULL || out == NULL)
		return FWD_EPARSE;
	slash = strchr(s, '/');
	hlen = slash ? (size_t)(slash - s) : strlen(s);
	if (hlen == 0 || hlen >= sizeof(host))
		return FWD_EPARSE;
	memcpy(host, s, hlen);
	host[hlen] = '\0';

	memset(&c, 0, sizeof(c));
	if (inet_pton(AF_INET, host, c.addr) == 1) {
		c.family = AF_INET;
		maxp = 32;
	} else if (inet_pton(AF_INET6, host, c.addr) == 1) {
		c.family = AF_INET6;
		maxp = 128;
	} else {
		return FWD_EPARSE;
	}
	if (slash == NULL)
		prefix = (unsigned long)maxp;
	else if (cfg_parse_ulong(slash + 1, (unsigned long)maxp, &prefix) != FWD_OK)
		return FWD_EPARSE;
	c.prefix = (int)prefix;
	/* Host bits are cleared, as unbound's access-control does: 10.1.2.3/8 means 10/8. */
	for (i = 0; i < maxp / 8; i++) {
		int bits = c.prefix - i * 8;
		if (bits <= 0)
			c.addr[i] = 0;
		else if (bits < 8)
			c.addr[i] &= (uint8_t)(0xff << (8 - bits));
	}
	c.line = out->line;
	*out = c;
	return FWD_OK;
}
