/*
 * cfg_loop.c -- loops the configuration alone shows (see cfg_loop.h).
 */
#include "cfg_loop.h"
#include "cfg_types.h"

#include <arpa/inet.h>
#include <ifaddrs.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>


static int port_of(const struct sockaddr_storage *ss)
{
	if (ss->ss_family == AF_INET)
		return ntohs(((const struct sockaddr_in *)(const void *)ss)->sin_port);
	return ntohs(((const struct sockaddr_in6 *)(const void *)ss)->sin6_port);
}

/* The address bytes of ss (4 or 16) in *p; their count. */
static size_t addr_bytes(const struct sockaddr_storage *ss, const uint8_t **p)
{
	if (ss->ss_family == AF_INET) {
		*p = (const uint8_t *)&((const struct sockaddr_in *)(const void *)ss)->sin_addr;
		return 4;
	}
	*p = (const uint8_t *)&((const struct sockaddr_in6 *)(const void *)ss)->sin6_addr;
	return 16;
}

static int is_wildcard(const struct sockaddr_storage *ss)
{
	static const uint8_t zero[16];
	const uint8_t *b;
	size_t n = addr_bytes(ss, &b);
	return memcmp(b, zero, n) == 0;
}

/* 127.0.0.0/8 or ::1 */
static int is_loopback(const struct sockaddr_storage *ss)
{
	static const uint8_t one[16] = {[15] = 1};
	const uint8_t *b;
	size_t n = addr_bytes(ss, &b);
	return n == 4 ? b[0] == 127 : memcmp(b, one, 16) == 0;
}

/* An address of one of this machine's interfaces? */
static int is_local_iface(const struct sockaddr_storage *ss)
{
	struct ifaddrs *ifs, *i;
	const uint8_t *b, *ib;
	size_t n = addr_bytes(ss, &b);
	int found = 0;

	if (getifaddrs(&ifs) != 0)
		return 0;
	for (i = ifs; i && !found; i = i->ifa_next) {
		if (!i->ifa_addr || i->ifa_addr->sa_family != ss->ss_family)
			continue;
		struct sockaddr_storage is;
		memset(&is, 0, sizeof(is));
		memcpy(&is, i->ifa_addr, ss->ss_family == AF_INET ? sizeof(struct sockaddr_in) : sizeof(struct sockaddr_in6));
		found = addr_bytes(&is, &ib) == n && memcmp(b, ib, n) == 0;
	}
	freeifaddrs(ifs);
	return found;
}

/* Does listener l receive what is sent to server s? */
static int reaches(const struct sockaddr_storage *l, const struct sockaddr_storage *s)
{
	const uint8_t *lb, *sb;

	if (l->ss_family != s->ss_family || port_of(l) != port_of(s))
		return 0;
	size_t n = addr_bytes(l, &lb);
	addr_bytes(s, &sb);
	if (memcmp(lb, sb, n) == 0)
		return 1;
	return is_wildcard(l) && (is_loopback(s) || is_local_iface(s));
}

static const char *addr_text(const struct sockaddr_storage *ss, char *buf, size_t len)
{
	char ip[INET6_ADDRSTRLEN];
	const uint8_t *b;
	addr_bytes(ss, &b);
	inet_ntop(ss->ss_family, b, ip, sizeof(ip));
	snprintf(buf, len, ss->ss_family == AF_INET6 ? "[%s]@%d" : "%s@%d", ip, port_of(ss));
	return buf;
}

enum fwd_err cfg_check_self_forward(const struct cfg *cfg, char *err, size_t errlen)
{
	for (size_t g = 0; g < cfg->nupstreams; g++) {
		const struct cfg_upstream *u = &cfg->upstreams[g];
		for (size_t i = 0; i < u->nservers; i++) {
			for (size_t j = 0; j < cfg->nlisten; j++) {
				char sa[80], la[80];
				if (!reaches(&cfg->listen[j].ss, &u->servers[i].ss))
					continue;
				addr_text(&u->servers[i].ss, sa, sizeof(sa));
				addr_text(&cfg->listen[j].ss, la, sizeof(la));
				if (cfg->listen[j].line > 0)
					snprintf(err, errlen,
						 "%s:%d: upstream %s: server %s is plinkfwd's own listen: %s (line %d): "
						 "every query sent there would come straight back (a forwarding loop)",
						 cfg->file, u->servers[i].line, u->name, sa, la, cfg->listen[j].line);
				else
					snprintf(err, errlen,
						 "%s:%d: upstream %s: server %s is plinkfwd's own listen address %s (the "
						 "default): every query sent there would come straight back (a forwarding "
						 "loop)",
						 cfg->file, u->servers[i].line, u->name, sa, la);
				return FWD_EPARSE;
			}
		}
	}
	return FWD_OK;
}

static int in_cidr(const struct cfg_cidr *c, const struct sockaddr_storage *ss)
{
	const uint8_t *b;
	size_t n = addr_bytes(ss, &b);
	int bits = c->prefix;

	if (c->family != ss->ss_family)
		return 0;
	for (size_t i = 0; i < n && bits > 0; i++, bits -= 8) {
		uint8_t mask = bits >= 8 ? 0xff : (uint8_t)(0xff << (8 - bits));
		if ((b[i] & mask) != (c->addr[i] & mask))
			return 0;
	}
	return 1;
}

size_t cfg_loop_warnings(const struct cfg *cfg, cfg_warn_fn warn, void *arg)
{
	size_t count = 0;

	for (size_t f = 0; f < cfg->nforwards; f++) {
		const struct cfg_forward *fw = &cfg->forwards[f];
		const struct cfg_upstream *u = &cfg->upstreams[fw->group_index];
		for (size_t i = 0; i < u->nservers; i++) {
			for (size_t a = 0; a < cfg->nallow; a++) {
				const struct cfg_cidr *c = &cfg->allow[a];
				char sa[80], msg[768], net[INET6_ADDRSTRLEN];
				if (c->line <= 0 || !in_cidr(c, &u->servers[i].ss))
					continue;
				addr_text(&u->servers[i].ss, sa, sizeof(sa));
				inet_ntop(c->family, c->addr, net, sizeof(net));
				snprintf(msg, sizeof(msg),
					 "%s:%d: warning: forward: %s sends to group %s, whose server %s may also query "
					 "plinkfwd (allow: %s/%d, line %d): if that server forwards %s to plinkfwd, "
					 "every such query loops between the two (plinkfwd answers SERVFAIL when it "
					 "sees one come back)",
					 cfg->file, fw->line, fw->suffix, u->name, sa, net, c->prefix, c->line, fw->suffix);
				warn(arg, msg);
				count++;
				break; /* one warning per server */
			}
		}
	}
	return count;
}
