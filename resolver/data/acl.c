/*
 * acl.c -- allow:/deny: lists compiled into sorted tables for an allocation-free check.
 *
 * Entries are grouped by prefix length; inside a group the network addresses
 * are sorted, so a check costs one mask and one binary search per distinct
 * prefix length.  A handful of entries (the usual case) is a handful of
 * compares; ten thousand entries of a few lengths stay at a few dozen.
 */
#include <netinet/in.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "acl.h"
#include "common.h"
#include "config.h"

struct acl_v6 {
	uint64_t hi, lo;
};

/* A run of entries with the same prefix length. */
struct acl_group {
	size_t start, n;
	uint32_t m4;          /* IPv4 mask */
	struct acl_v6 m6;     /* IPv6 mask */
};

struct acl_list {
	uint32_t *v4;         /* networks, host order, sorted within each group */
	struct acl_group *g4;
	size_t ng4;
	struct acl_v6 *v6;
	struct acl_group *g6;
	size_t ng6;
};

struct acl {
	struct acl_list allow;
	struct acl_list deny;
};

/* An entry while building: family, prefix and the address in comparable form. */
struct acl_tmp {
	int family;
	int prefix;
	uint32_t a4;
	struct acl_v6 a6;
};

static uint32_t mask4(int prefix)
{
	return prefix == 0 ? 0 : (uint32_t)0xffffffffu << (32 - prefix);
}

static struct acl_v6 mask6(int prefix)
{
	struct acl_v6 m;

	if (prefix <= 64) {
		m.hi = prefix == 0 ? 0 : ~(uint64_t)0 << (64 - prefix);
		m.lo = 0;
	} else {
		m.hi = ~(uint64_t)0;
		m.lo = ~(uint64_t)0 << (128 - prefix);
	}
	return m;
}

static uint64_t load_be64(const uint8_t *b)
{
	uint64_t v = 0;
	int i;

	for (i = 0; i < 8; i++)
		v = (v << 8) | b[i];
	return v;
}

static uint32_t load_be32(const uint8_t *b)
{
	return ((uint32_t)b[0] << 24) | ((uint32_t)b[1] << 16) | ((uint32_t)b[2] << 8) | b[3];
}

static const uint8_t v4mapped_prefix[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };

static int cmp_tmp(const void *a, const void *b)
{
	const struct acl_tmp *x = a, *y = b;

	if (x->family != y->family)
		return x->family < y->family ? -1 : 1;
	if (x->prefix != y->prefix)
		return x->prefix > y->prefix ? -1 : 1;  /* longest first */
	if (x->family == AF_INET)
		return x->a4 < y->a4 ? -1 : x->a4 > y->a4;
	if (x->a6.hi != y->a6.hi)
		return x->a6.hi < y->a6.hi ? -1 : 1;
	return x->a6.lo < y->a6.lo ? -1 : x->a6.lo > y->a6.lo;
}

/*
 * Turn config entries into sortable ones.  A v4-mapped IPv6 entry
 * (::ffff:a.b.c.d/96+) becomes the IPv4 entry it describes, because sources
 * in that form are checked as IPv4.
 */
static void tmp_from_cidr(const struct cfg_cidr *c, struct acl_tmp *t)
{
	memset(t, 0, sizeof(*t));
	if (c->family == AF_INET6 && c->prefix >= 96 && memcmp(c->addr, v4mapped_prefix, 12) == 0) {
		t->family = AF_INET;
		t->prefix = c->prefix - 96;
		t->a4 = load_be32(c->addr + 12) & mask4(t->prefix);
	} else if (c->family == AF_INET) {
		t->family = AF_INET;
		t->prefix = c->prefix;
		t->a4 = load_be32(c->addr) & mask4(t->prefix);
	} else {
		struct acl_v6 m = mask6(c->prefix);
		t->family = AF_INET6;
		t->prefix = c->prefix;
		t->a6.hi = load_be64(c->addr) & m.hi;
		t->a6.lo = load_be64(c->addr + 8) & m.lo;
	}
}

static int list_build(struct acl_list *l, const struct cfg_cidr *cidrs, size_t n)
{
	struct acl_tmp *t;
	size_t i, n4 = 0, n6 = 0;

	memset(l, 0, sizeof(*l));
	if (n == 0)
		return 0;
	t = calloc(n, sizeof(*t));
	if (t == NULL)
		return FWD_ENOMEM;
	for (i = 0; i < n; i++)
		tmp_from_cidr(&cidrs[i], &t[i]);
	qsort(t, n, sizeof(*t), cmp_tmp);

	/* At most one group per entry; the arrays are sized for the worst case. */
	l->v4 = calloc(n, sizeof(*l->v4));
	l->g4 = calloc(n, sizeof(*l->g4));
	l->v6 = calloc(n, sizeof(*l->v6));
	l->g6 = calloc(n, sizeof(*l->g6));
	if (l->v4 == NULL || l->g4 == NULL || l->v6 == NULL || l->g6 == NULL) {
		free(t);
		return FWD_ENOMEM;
	}
	for (i = 0; i < n; i++) {
		/* Duplicates would only cost time in the search. */
		if (i > 0 && cmp_tmp(&t[i - 1], &t[i]) == 0)
			continue;
		if (t[i].family == AF_INET) {
			if (l->ng4 == 0 || t[i - 1].family != AF_INET || t[i - 1].prefix != t[i].prefix) {
				l->g4[l->ng4].start = n4;
				l->g4[l->ng4].m4 = mask4(t[i].prefix);
				l->ng4++;
			}
			l->g4[l->ng4 - 1].n++;
			l->v4[n4++] = t[i].a4;
		} else {
			if (l->ng6 == 0 || t[i - 1].family != AF_INET6 || t[i - 1].prefix != t[i].prefix) {
				l->g6[l->ng6].start = n6;
				l->g6[l->ng6].m6 = mask6(t[i].prefix);
				l->ng6++;
			}
			l->g6[l->ng6 - 1].n++;
			l->v6[n6++] = t[i].a6;
		}
	}
	free(t);
	return 0;
}

static void list_free(struct acl_list *l)
{
	free(l->v4);
	free(l->g4);
	free(l->v6);
	free(l->g6);
}

struct acl *acl_build(const struct cfg *cfg)
{
	struct acl *acl = calloc(1, sizeof(*acl));

	if (acl == NULL)
		return NULL;
	if (list_build(&acl->allow, cfg->allow, cfg->nallow) != 0 ||
	    list_build(&acl->deny, cfg->deny, cfg->ndeny) != 0) {
		acl_free(acl);
		return NULL;
	}
	return acl;
}

void acl_free(struct acl *acl)
{
	if (acl == NULL)
		return;
	list_free(&acl->allow);
	list_free(&acl->deny);
	free(acl);
}

static int match4(const struct acl_list *l, uint32_t a)
{
	size_t g, lo, hi, mid;
	uint32_t key;

	for (g = 0; g < l->ng4; g++) {
		const uint32_t *v = l->v4 + l->g4[g].start;
		key = a & l->g4[g].m4;
		lo = 0;
		hi = l->g4[g].n;
		while (lo < hi) {
			mid = lo + (hi - lo) / 2;
			if (v[mid] == key)
				return 1;
			if (v[mid] < key)
				lo = mid + 1;
			else
				hi = mid;
		}
	}
	return 0;
}

static int match6(const struct acl_list *l, uint64_t ahi, uint64_t alo)
{
	size_t g, lo, hi, mid;
	struct acl_v6 key;

	for (g = 0; g < l->ng6; g++) {
		const struct acl_v6 *v = l->v6 + l->g6[g].start;
		key.hi = ahi & l->g6[g].m6.hi;
		key.lo = alo & l->g6[g].m6.lo;
		lo = 0;
		hi = l->g6[g].n;
		while (lo < hi) {
			mid = lo + (hi - lo) / 2;
			if (v[mid].hi == key.hi && v[mid].lo == key.lo)
				return 1;
			if (v[mid].hi < key.hi || (v[mid].hi == key.hi && v[mid].lo < key.lo))
				lo = mid + 1;
			else
				hi = mid;
		}
	}
	return 0;
}

static int allowed4(const struct acl *acl, uint32_t a)
{
	if (acl != NULL && match4(&acl->deny, a))
		return 0;
	if (acl != NULL && match4(&acl->allow, a))
		return 1;
	return (a >> 24) == 127;
}

int acl_allowed(const struct acl *acl, const struct sockaddr *sa)
{
	if (sa == NULL)
		return 0;
	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *sin = (const struct sockaddr_in *)(const void *)sa;
		return allowed4(acl, ntohl(sin->sin_addr.s_addr));
	}
	if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)(const void *)sa;
		const uint8_t *b = sin6->sin6_addr.s6_addr;
		uint64_t hi, lo;

		if (memcmp(b, v4mapped_prefix, 12) == 0)
			return allowed4(acl, load_be32(b + 12));
		hi = load_be64(b);
		lo = load_be64(b + 8);
		if (acl != NULL && match6(&acl->deny, hi, lo))
			return 0;
		if (acl != NULL && match6(&acl->allow, hi, lo))
			return 1;
		return hi == 0 && lo == 1;
	}
	return 0;
}

/* The 16-byte IPv6 form of an address (IPv4 as ::ffff:a.b.c.d): 1, or 0
 * for another family. */
static int host_bytes(const struct sockaddr *sa, uint8_t out[16])
{
	if (sa->sa_family == AF_INET) {
		memcpy(out, v4mapped_prefix, 12);
		memcpy(out + 12, &((const struct sockaddr_in *)(const void *)sa)->sin_addr, 4);
		return 1;
	}
	if (sa->sa_family == AF_INET6) {
		memcpy(out, ((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr.s6_addr, 16);
		return 1;
	}
	return 0;
}

int acl_same_host(const struct sockaddr *a, const struct sockaddr *b)
{
	uint8_t x[16], y[16];
	if (a == NULL || b == NULL || !host_bytes(a, x) || !host_bytes(b, y))
		return 0;
	return memcmp(x, y, 16) == 0;
}
