/*
 * svcb.c -- SVCB records for DDR from the config (see svcb.h).
 */
#include "svcb.h"

#include <netinet/in.h>
#include <string.h>

#include "config.h"
#include "wire.h"

#define DOT_PORT 853
#define DOH_PORT 443
/* RFC 9461 5: the URI template, with the variable a GET fills in */
static const char dohpath[] = "/dns-query{?dns}";

struct kind {
	const struct cfg_addr *addrs;
	size_t n;
	int def_port;
	const uint8_t *alpn; /* the alpn value: length-prefixed protocol ids */
	size_t alpn_len;
	int doh;
};

static const uint8_t alpn_h2[] = {2, 'h', '2'};
static const uint8_t alpn_dot[] = {3, 'd', 'o', 't'};

static int addr_port(const struct cfg_addr *a)
{
	if (a->ss.ss_family == AF_INET)
		return ntohs(((const struct sockaddr_in *)&a->ss)->sin_port);
	return ntohs(((const struct sockaddr_in6 *)&a->ss)->sin6_port);
}

/* The address bytes of a (4 or 16), or 0 for a wildcard. */
static size_t addr_bytes(const struct cfg_addr *a, const uint8_t **p)
{
	if (a->ss.ss_family == AF_INET) {
		const struct sockaddr_in *s = (const struct sockaddr_in *)&a->ss;
		*p = (const uint8_t *)&s->sin_addr;
		return s->sin_addr.s_addr == htonl(INADDR_ANY) ? 0 : 4;
	}
	const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)&a->ss;
	*p = (const uint8_t *)&s6->sin6_addr;
	return IN6_IS_ADDR_UNSPECIFIED(&s6->sin6_addr) ? 0 : 16;
}

int svcb_any(const struct cfg *cfg) { return cfg->nlisten_tls + cfg->nlisten_https > 0; }

/* A growing buffer: every put checks room once, the caller checks ok. */
struct wbuf {
	uint8_t *p;
	size_t len, cap;
	int ok;
};

static uint8_t *room(struct wbuf *b, size_t n)
{
	if (!b->ok || b->len + n > b->cap) {
		b->ok = 0;
		return NULL;
	}
	uint8_t *at = b->p + b->len;
	b->len += n;
	return at;
}

static void put16(struct wbuf *b, uint16_t v)
{
	uint8_t *at = room(b, 2);
	if (at)
		wire_put16(at, v);
}

static void put_bytes(struct wbuf *b, const void *d, size_t n)
{
	uint8_t *at = room(b, n);
	if (at)
		memcpy(at, d, n);
}

/* An address hint of family fam (4 or 16 bytes each) for the listeners of
 * k on port: its SvcParam, when there is any such address. */
static void put_hint(struct wbuf *b, const struct kind *k, int port, size_t alen, uint16_t key)
{
	size_t n = 0;
	const uint8_t *ab;
	for (size_t i = 0; i < k->n; i++)
		if (addr_port(&k->addrs[i]) == port && addr_bytes(&k->addrs[i], &ab) == alen)
			n++;
	if (n == 0)
		return;
	put16(b, key);
	put16(b, (uint16_t)(n * alen));
	for (size_t i = 0; i < k->n; i++)
		if (addr_port(&k->addrs[i]) == port && addr_bytes(&k->addrs[i], &ab) == alen)
			put_bytes(b, ab, alen);
}

/* The target name in wire form into t (tls-name, or the root "."). */
static size_t target(const struct cfg *cfg, uint8_t t[WIRE_MAX_NAME])
{
	int n = cfg->tls_name ? wire_name_from_text(cfg->tls_name, t) : -1;
	if (n <= 0) {
		t[0] = 0;
		return 1;
	}
	return (size_t)n;
}

enum fwd_err svcb_records(const struct cfg *cfg, uint16_t owner, uint8_t *out, size_t cap, size_t *len,
			  unsigned *count)
{
	struct kind kinds[2] = {
		{cfg->listen_https, cfg->nlisten_https, DOH_PORT, alpn_h2, sizeof alpn_h2, 1},
		{cfg->listen_tls, cfg->nlisten_tls, DOT_PORT, alpn_dot, sizeof alpn_dot, 0},
	};
	struct wbuf b = {out, 0, cap, 1};
	uint8_t tname[WIRE_MAX_NAME];
	size_t tlen = target(cfg, tname);
	unsigned prio = 0;

	*len = 0;
	*count = 0;
	for (int ki = 0; ki < 2; ki++) {
		const struct kind *k = &kinds[ki];
		for (size_t i = 0; i < k->n; i++) {
			int port = addr_port(&k->addrs[i]);
			size_t j = 0;
			while (j < i && addr_port(&k->addrs[j]) != port)
				j++;
			if (j < i)
				continue; /* this port has its record already */
			put16(&b, (uint16_t)(0xc000u | owner));
			put16(&b, TYPE_SVCB);
			put16(&b, CLASS_IN);
			uint8_t *ttl = room(&b, 4);
			if (ttl)
				wire_put32(ttl, SVCB_TTL);
			uint8_t *rdlen = room(&b, 2);
			size_t rd0 = b.len;
			put16(&b, (uint16_t)++prio);
			put_bytes(&b, tname, tlen);
			/* SvcParams in increasing key order (RFC 9460 2.2) */
			put16(&b, SVCB_KEY_ALPN);
			put16(&b, (uint16_t)k->alpn_len);
			put_bytes(&b, k->alpn, k->alpn_len);
			if (port != k->def_port) {
				put16(&b, SVCB_KEY_PORT);
				put16(&b, 2);
				put16(&b, (uint16_t)port);
			}
			put_hint(&b, k, port, 4, SVCB_KEY_IPV4HINT);
			put_hint(&b, k, port, 16, SVCB_KEY_IPV6HINT);
			if (k->doh) {
				put16(&b, SVCB_KEY_DOHPATH);
				put16(&b, (uint16_t)(sizeof dohpath - 1));
				put_bytes(&b, dohpath, sizeof dohpath - 1);
			}
			if (rdlen)
				wire_put16(rdlen, (uint16_t)(b.len - rd0));
			if (!b.ok)
				return FWD_EFULL;
			++*count;
		}
	}
	*len = b.len;
	return FWD_OK;
}

/* 1 when a's address already appears in an earlier listener of cfg (in the
 * order tls then https). */
static int seen_before(const struct cfg *cfg, const struct cfg_addr *a)
{
	const uint8_t *x, *y;
	size_t xl = addr_bytes(a, &x);
	for (int ki = 0; ki < 2; ki++) {
		const struct cfg_addr *as = ki ? cfg->listen_https : cfg->listen_tls;
		size_t n = ki ? cfg->nlisten_https : cfg->nlisten_tls;
		for (size_t i = 0; i < n; i++) {
			if (&as[i] == a)
				return 0;
			if (addr_bytes(&as[i], &y) == xl && memcmp(x, y, xl) == 0)
				return 1;
		}
	}
	return 0;
}

enum fwd_err svcb_additional(const struct cfg *cfg, size_t at, uint8_t *out, size_t cap, size_t *len,
			     unsigned *count)
{
	struct wbuf b = {out, 0, cap, 1};
	uint8_t tname[WIRE_MAX_NAME];
	size_t tlen = target(cfg, tname);
	size_t name_off = 0; /* where the name was written first; 0 = not yet */

	*len = 0;
	*count = 0;
	if (!cfg->tls_name || tlen <= 1)
		return FWD_OK;
	for (int ki = 0; ki < 2; ki++) {
		const struct cfg_addr *as = ki ? cfg->listen_https : cfg->listen_tls;
		size_t n = ki ? cfg->nlisten_https : cfg->nlisten_tls;
		for (size_t i = 0; i < n; i++) {
			const uint8_t *ab;
			size_t alen = addr_bytes(&as[i], &ab);
			if (alen == 0 || seen_before(cfg, &as[i]))
				continue;
			if (name_off == 0 || name_off >= 0x4000) {
				/* the first time, or too far into the message to point to */
				if (name_off == 0)
					name_off = at + b.len;
				put_bytes(&b, tname, tlen);
			} else {
				put16(&b, (uint16_t)(0xc000u | name_off));
			}
			put16(&b, alen == 4 ? TYPE_A : TYPE_AAAA);
			put16(&b, CLASS_IN);
			uint8_t *ttl = room(&b, 4);
			if (ttl)
				wire_put32(ttl, SVCB_TTL);
			put16(&b, (uint16_t)alen);
			put_bytes(&b, ab, alen);
			if (!b.ok)
				return FWD_EFULL;
			++*count;
		}
	}
	*len = b.len;
	return FWD_OK;
}
