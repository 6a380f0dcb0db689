/*
 * test_acl.c -- allow:/deny: policy: loopback default, deny beats allow,
 * prefix boundaries, v4-mapped sources, and large lists against a naive check.
 * No packet is sent: addresses here are only data.
 */
#ifndef _POSIX_C_SOURCE
#define _POSIX_C_SOURCE 200809L /* mkstemp, mkdtemp, inet_pton */
#endif

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/un.h>

#include "acl.h"
#include "common.h"
#include "config.h"
#include "tap.h"

struct lists {
	struct cfg_cidr allow[16], deny[16];
	size_t nallow, ndeny;
};

/* An ACL from short allow/deny lists (NULL-terminated string arrays). */
static struct acl *make_acl(const char *const *allow, const char *const *deny)
{
	struct lists l;
	struct cfg cfg;
	struct acl *acl;

	memset(&l, 0, sizeof(l));
	memset(&cfg, 0, sizeof(cfg));
	for (; allow && *allow; allow++)
		if (cfg_parse_cidr(*allow, &l.allow[l.nallow++]) != 0) {
			printf("# bad test CIDR %s\n", *allow);
			exit(99);
		}
	for (; deny && *deny; deny++)
		if (cfg_parse_cidr(*deny, &l.deny[l.ndeny++]) != 0) {
			printf("# bad test CIDR %s\n", *deny);
			exit(99);
		}
	cfg.allow = l.allow;
	cfg.nallow = l.nallow;
	cfg.deny = l.deny;
	cfg.ndeny = l.ndeny;
	acl = acl_build(&cfg);
	if (acl == NULL) {
		printf("# acl_build failed\n");
		exit(99);
	}
	return acl;
}

static int check(const struct acl *acl, const char *addr)
{
	struct sockaddr_storage ss;

	memset(&ss, 0, sizeof(ss));
	if (inet_pton(AF_INET, addr, &((struct sockaddr_in *)&ss)->sin_addr) == 1) {
		ss.ss_family = AF_INET;
	} else if (inet_pton(AF_INET6, addr, &((struct sockaddr_in6 *)&ss)->sin6_addr) == 1) {
		ss.ss_family = AF_INET6;
	} else {
		printf("# bad test address %s\n", addr);
		exit(99);
	}
	return acl_allowed(acl, (struct sockaddr *)&ss);
}

struct expect {
	const char *addr;
	int allowed;
};

static void run(const char *title, const char *const *allow, const char *const *deny, const struct expect *e,
		size_t n)
{
	struct acl *acl = make_acl(allow, deny);
	size_t i;

	for (i = 0; i < n; i++)
		ok(check(acl, e[i].addr) == e[i].allowed, "%s: %s %s", title, e[i].addr,
		   e[i].allowed ? "allowed" : "refused");
	acl_free(acl);
}

#define RUN(title, allow, deny, e) run(title, allow, deny, e, FWD_ARRAY_LEN(e))

static void test_default(void)
{
	static const struct expect e[] = {
		{ "127.0.0.1", 1 },       { "127.0.0.0", 1 },       { "127.255.255.255", 1 },
		{ "126.255.255.255", 0 }, { "128.0.0.0", 0 },       { "10.0.0.1", 0 },
		{ "0.0.0.0", 0 },         { "::1", 1 },             { "::", 0 },
		{ "::2", 0 },             { "fe80::1", 0 },         { "::ffff:127.0.0.1", 1 },
		{ "::ffff:127.9.9.9", 1 }, { "::ffff:10.0.0.1", 0 }, { "::127.0.0.1", 0 },
	};
	struct acl *acl = make_acl(NULL, NULL);
	struct sockaddr_un sun;

	RUN("no lists", NULL, NULL, e);
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	is_int(acl_allowed(acl, (struct sockaddr *)&sun), 0, "AF_UNIX source refused");
	is_int(acl_allowed(acl, NULL), 0, "NULL source refused");
	acl_free(acl);
	acl_free(NULL); /* a no-op: the sanitizer build and valgrind would report a bad free */
}

static void test_v4(void)
{
	static const char *const allow[] = { "10.0.0.0/8", "172.16.0.0/13", "192.168.7.7/32",
					     "100.64.1.0/31", NULL };
	static const struct expect e[] = {
		{ "10.0.0.0", 1 },        { "10.255.255.255", 1 },  { "9.255.255.255", 0 },
		{ "11.0.0.0", 0 },        { "172.16.0.0", 1 },      { "172.23.255.255", 1 },
		{ "172.24.0.0", 0 },      { "172.15.255.255", 0 },  { "192.168.7.7", 1 },
		{ "192.168.7.6", 0 },     { "192.168.7.8", 0 },     { "100.64.1.0", 1 },
		{ "100.64.1.1", 1 },      { "100.64.1.2", 0 },      { "127.0.0.1", 1 },
		{ "::ffff:10.1.2.3", 1 }, { "::ffff:172.24.0.1", 0 }, { "::1", 1 },
		{ "fd00::1", 0 },
	};
	static const char *const all[] = { "0.0.0.0/0", NULL };
	static const struct expect eall[] = {
		{ "1.2.3.4", 1 }, { "255.255.255.255", 1 }, { "0.0.0.0", 1 }, { "::ffff:1.2.3.4", 1 },
		{ "fd00::1", 0 }, { "::1", 1 },
	};
	static const char *const hostbits[] = { "10.20.30.40/16", NULL };
	static const struct expect ehost[] = {
		{ "10.20.0.1", 1 }, { "10.20.255.255", 1 }, { "10.21.30.40", 0 },
	};

	RUN("v4 allow", allow, NULL, e);
	RUN("v4 /0", all, NULL, eall);
	RUN("v4 host bits in config ignored", hostbits, NULL, ehost);
}

static void test_v6(void)
{
	static const char *const allow[] = { "fd00::1/128", "fd12:3456:8000::/33", "fe80::/10",
					     "fd99:1:2:3::/64", "fd99:1:2:4:8000::/65", NULL };
	static const struct expect e[] = {
		{ "fd00::1", 1 },
		{ "fd00::2", 0 },
		{ "fd00::", 0 },
		{ "fd12:3456:8000::", 1 },
		{ "fd12:3456:ffff:ffff:ffff:ffff:ffff:ffff", 1 },
		{ "fd12:3456:7fff:ffff:ffff:ffff:ffff:ffff", 0 },
		{ "fd12:3457::", 0 },
		{ "fe80::1", 1 },
		{ "febf:ffff::1", 1 },
		{ "fec0::1", 0 },
		{ "fd99:1:2:3:ffff:ffff:ffff:ffff", 1 },
		{ "fd99:1:2:2:ffff:ffff:ffff:ffff", 0 },
		{ "fd99:1:2:4::", 0 },
		{ "fd99:1:2:4:7fff:ffff:ffff:ffff", 0 },
		{ "fd99:1:2:4:8000::", 1 },
		{ "fd99:1:2:4:ffff:ffff:ffff:ffff", 1 },
		{ "::1", 1 },
		{ "10.0.0.1", 0 },
	};
	static const char *const all[] = { "::/0", NULL };
	static const struct expect eall[] = {
		{ "fd00::1", 1 }, { "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", 1 }, { "::", 1 },
		/* v4-mapped sources are checked as IPv4, which ::/0 does not cover */
		{ "::ffff:10.0.0.1", 0 }, { "10.0.0.1", 0 },
	};

	RUN("v6 allow", allow, NULL, e);
	RUN("v6 /0", all, NULL, eall);
}

static void test_deny(void)
{
	static const char *const allow[] = { "10.0.0.0/8", "fd00::/8", NULL };
	static const char *const deny[] = { "10.1.0.0/16", "10.2.3.4", "fd00:bad::/32", "127.0.0.2", "::1",
					    NULL };
	static const struct expect e[] = {
		{ "10.0.0.1", 1 },           { "10.1.0.0", 0 },      { "10.1.255.255", 0 },
		{ "10.2.0.0", 1 },           { "10.2.3.4", 0 },      { "10.2.3.5", 1 },
		{ "fd00::1", 1 },            { "fd00:bad::1", 0 },   { "fd00:bae::1", 1 },
		{ "127.0.0.1", 1 },          { "127.0.0.2", 0 },     { "::ffff:127.0.0.2", 0 },
		{ "::ffff:10.1.2.3", 0 },    { "::ffff:10.3.2.1", 1 }, { "::1", 0 },
	};
	static const char *const denyall[] = { "0.0.0.0/0", NULL };
	static const struct expect eall[] = {
		{ "10.0.0.1", 0 }, { "127.0.0.1", 0 }, { "::ffff:127.0.0.1", 0 }, { "fd00::1", 1 }, { "::1", 1 },
	};
	static const char *const same[] = { "10.9.0.0/16", NULL };
	static const struct expect esame[] = { { "10.9.1.1", 0 }, { "10.8.1.1", 0 } };

	RUN("deny beats allow", allow, deny, e);
	RUN("deny 0/0", allow, denyall, eall);
	RUN("the same entry in both lists", same, same, esame);
}

static void test_mapped_config(void)
{
	/* A v4-mapped entry in the config describes the IPv4 network it carries. */
	static const char *const allow[] = { "::ffff:10.0.0.0/104", "::ffff:192.168.1.1", NULL };
	static const char *const deny[] = { "::ffff:10.66.0.0/112", NULL };
	static const struct expect e[] = {
		{ "10.1.1.1", 1 },        { "::ffff:10.1.1.1", 1 }, { "11.0.0.0", 0 },
		{ "192.168.1.1", 1 },     { "192.168.1.2", 0 },     { "10.66.1.1", 0 },
		{ "::ffff:10.66.0.9", 0 }, { "10.67.0.1", 1 },
	};

	RUN("v4-mapped entries", allow, deny, e);
}

/* ------------------------------------------------ many entries vs a naive check */

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;

static uint32_t rnd(void)
{
	/* xorshift64*: deterministic, so a failure can be replayed. */
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return (uint32_t)((rng_state * 0x2545f4914f6cdd1dull) >> 32);
}

static int naive_match(const struct cfg_cidr *c, int family, const uint8_t *a)
{
	int i, bits;

	if (c->family != family)
		return 0;
	for (i = 0, bits = c->prefix; bits > 0; i++, bits -= 8) {
		uint8_t m = bits >= 8 ? 0xff : (uint8_t)(0xff << (8 - bits));
		if ((a[i] & m) != (c->addr[i] & m))
			return 0;
	}
	return 1;
}

static int naive_allowed(const struct cfg *cfg, int family, const uint8_t *a)
{
	size_t i;
	static const uint8_t lo6[16] = { [15] = 1 };

	for (i = 0; i < cfg->ndeny; i++)
		if (naive_match(&cfg->deny[i], family, a))
			return 0;
	for (i = 0; i < cfg->nallow; i++)
		if (naive_match(&cfg->allow[i], family, a))
			return 1;
	return family == AF_INET ? a[0] == 127 : memcmp(a, lo6, 16) == 0;
}

static void random_cidr(struct cfg_cidr *c, int family)
{
	int len = family == AF_INET ? 4 : 16, i, bits;

	memset(c, 0, sizeof(*c));
	c->family = family;
	/* Few distinct lengths, many entries: the case the grouping is for. */
	if (family == AF_INET)
		c->prefix = (int)(rnd() % 4) * 4 + 12 + (rnd() % 8 == 0 ? (int)(rnd() % 21) : 0);
	else
		c->prefix = (int)(rnd() % 3) * 16 + 32 + (rnd() % 8 == 0 ? (int)(rnd() % 81) : 0);
	if (c->prefix > len * 8)
		c->prefix = len * 8;
	/* Keep addresses in a small space so that sources hit them often. */
	c->addr[0] = family == AF_INET ? 10 : 0xfd;
	for (i = 1; i < len; i++)
		c->addr[i] = (uint8_t)(rnd() % 4);
	for (i = 0, bits = c->prefix; i < len; i++, bits -= 8) {
		if (bits <= 0)
			c->addr[i] = 0;
		else if (bits < 8)
			c->addr[i] &= (uint8_t)(0xff << (8 - bits));
	}
}

static void test_many(void)
{
	enum { NALLOW = 3000, NDENY = 500, NPROBE = 200000 };
	struct cfg cfg;
	struct acl *acl;
	size_t i;
	long mismatches = 0, allowed = 0;

	memset(&cfg, 0, sizeof(cfg));
	cfg.allow = calloc(NALLOW, sizeof(*cfg.allow));
	cfg.deny = calloc(NDENY, sizeof(*cfg.deny));
	if (cfg.allow == NULL || cfg.deny == NULL)
		exit(99);
	for (i = 0; i < NALLOW; i++)
		random_cidr(&cfg.allow[i], i % 2 ? AF_INET6 : AF_INET);
	for (i = 0; i < NDENY; i++)
		random_cidr(&cfg.deny[i], i % 2 ? AF_INET6 : AF_INET);
	cfg.nallow = NALLOW;
	cfg.ndeny = NDENY;
	acl = acl_build(&cfg);
	ok(acl != NULL, "acl_build with %d allow and %d deny entries", NALLOW, NDENY);
	if (acl == NULL)
		return;
	for (i = 0; i < NPROBE; i++) {
		struct sockaddr_storage ss;
		uint8_t a[16];
		int family = i % 2 ? AF_INET6 : AF_INET, len = family == AF_INET ? 4 : 16, k, got, want;

		a[0] = family == AF_INET ? (i % 7 == 0 ? 127 : 10) : (i % 7 == 0 ? 0 : 0xfd);
		for (k = 1; k < len; k++)
			a[k] = (uint8_t)(rnd() % 5);
		if (family == AF_INET6 && i % 14 == 1) {
			memset(a, 0, 16);
			a[15] = 1;
		}
		memset(&ss, 0, sizeof(ss));
		ss.ss_family = (sa_family_t)family;
		if (family == AF_INET)
			memcpy(&((struct sockaddr_in *)&ss)->sin_addr, a, 4);
		else
			memcpy(&((struct sockaddr_in6 *)&ss)->sin6_addr, a, 16);
		got = acl_allowed(acl, (struct sockaddr *)&ss);
		want = naive_allowed(&cfg, family, a);
		allowed += got;
		if (got != want && mismatches++ < 5) {
			char txt[INET6_ADDRSTRLEN];
			inet_ntop(family, a, txt, sizeof(txt));
			printf("# %s: got %d want %d\n", txt, got, want);
		}
	}
	is_int(mismatches, 0, "large lists agree with a naive check on random sources");
	ok(allowed > NPROBE / 20 && allowed < NPROBE - NPROBE / 20,
	   "the random sources exercise both answers (%ld of %d allowed)", allowed, NPROBE);
	acl_free(acl);
	free(cfg.allow);
	free(cfg.deny);
}

/* acl_same_host: the per-client TCP limit counts connections with it */
static void test_same_host(void)
{
	struct sockaddr_in a = {0}, b = {0};
	struct sockaddr_in6 m = {0}, v6 = {0};
	a.sin_family = b.sin_family = AF_INET;
	inet_pton(AF_INET, "192.0.2.7", &a.sin_addr);
	inet_pton(AF_INET, "192.0.2.7", &b.sin_addr);
	a.sin_port = htons(1000);
	b.sin_port = htons(2000);
	m.sin6_family = v6.sin6_family = AF_INET6;
	inet_pton(AF_INET6, "::ffff:192.0.2.7", &m.sin6_addr);
	inet_pton(AF_INET6, "2001:db8::7", &v6.sin6_addr);
	is_int(acl_same_host((struct sockaddr *)&a, (struct sockaddr *)&b), 1, "same IPv4 host, other port");
	is_int(acl_same_host((struct sockaddr *)&a, (struct sockaddr *)&m), 1, "IPv4 and its IPv4-mapped form");
	inet_pton(AF_INET, "192.0.2.8", &b.sin_addr);
	is_int(acl_same_host((struct sockaddr *)&a, (struct sockaddr *)&b), 0, "other IPv4 host");
	is_int(acl_same_host((struct sockaddr *)&a, (struct sockaddr *)&v6), 0, "IPv4 and an IPv6 host");
	is_int(acl_same_host((struct sockaddr *)&v6, (struct sockaddr *)&v6), 1, "same IPv6 host");
	is_int(acl_same_host(NULL, (struct sockaddr *)&v6), 0, "NULL is nobody");
}

int main(void)
{
	test_default();
	test_v4();
	test_v6();
	test_deny();
	test_mapped_config();
	test_many();
	test_same_host();
	return tap_done();
}
