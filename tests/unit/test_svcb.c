/*
 * test_svcb.c -- the SVCB records DDR answers with (svcb.h), byte by byte:
 * one record per transport and port, DoH first, port= only off the
 * default, hints without wildcards, dohpath, TargetName tls-name or ".",
 * and the A/AAAA records of tls-name for the additional section.
 */
#include <arpa/inet.h>
#include <stdint.h>
#include <string.h>

#include "config.h"
#include "svcb.h"
#include "tap.h"
#include "wire.h"

static struct cfg_addr addr(const char *ip, int port)
{
	struct cfg_addr a;
	memset(&a, 0, sizeof(a));
	if (strchr(ip, ':')) {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&a.ss;
		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons((uint16_t)port);
		inet_pton(AF_INET6, ip, &s6->sin6_addr);
		a.len = sizeof(*s6);
	} else {
		struct sockaddr_in *s = (struct sockaddr_in *)&a.ss;
		s->sin_family = AF_INET;
		s->sin_port = htons((uint16_t)port);
		inet_pton(AF_INET, ip, &s->sin_addr);
		a.len = sizeof(*s);
	}
	return a;
}

/* The RDATA of the record starting at rr (owner pointer, type, class,
 * TTL, RDLENGTH): its offset and length. */
static size_t rdata(const uint8_t *rr, size_t *rdlen)
{
	*rdlen = wire_get16(rr + 10);
	return 12;
}

static void test_none(void)
{
	struct cfg c;
	uint8_t out[512];
	size_t len;
	unsigned n;
	memset(&c, 0, sizeof(c));
	ok(!svcb_any(&c), "no encrypted listener: nothing to designate");
	is_int(svcb_records(&c, 12, out, sizeof out, &len, &n), FWD_OK, "records without listeners");
	ok(len == 0 && n == 0, "... none");
}

static void test_dot_doh(void)
{
	struct cfg c;
	struct cfg_addr tls[] = {addr("192.0.2.53", 853), addr("2001:db8::53", 853), addr("0.0.0.0", 853)};
	struct cfg_addr https[] = {addr("192.0.2.53", 8443)};
	uint8_t out[1024];
	size_t len, rl, off;
	unsigned n;

	memset(&c, 0, sizeof(c));
	c.listen_tls = tls;
	c.nlisten_tls = 3;
	c.listen_https = https;
	c.nlisten_https = 1;
	ok(svcb_any(&c), "listeners: DDR designates");
	is_int(svcb_records(&c, 12, out, sizeof out, &len, &n), FWD_OK, "records built");
	is_int(n, 2, "two records: DoH on 8443, DoT on 853");

	/* the DoH record: priority 1, TargetName ".", alpn=h2 port=8443
	 * ipv4hint=192.0.2.53 dohpath=/dns-query{?dns} */
	static const uint8_t doh[] = {
		0, 1, 0,                              /* priority 1, TargetName root */
		0, 1, 0, 3, 2, 'h', '2',              /* alpn=h2 */
		0, 3, 0, 2, 0x20, 0xfb,               /* port=8443 */
		0, 4, 0, 4, 192, 0, 2, 53,            /* ipv4hint */
		0, 7, 0, 16, '/', 'd', 'n', 's', '-', 'q', 'u', 'e', 'r', 'y', '{', '?', 'd', 'n', 's', '}',
	};
	ok(out[0] == 0xc0 && out[1] == 12, "owner: a pointer to the question name");
	is_int(wire_get16(out + 2), TYPE_SVCB, "type SVCB");
	is_int(wire_get16(out + 4), CLASS_IN, "class IN");
	is_int((long)wire_get32(out + 6), SVCB_TTL, "TTL");
	off = rdata(out, &rl);
	is_int((long)rl, (long)sizeof doh, "DoH RDATA length");
	ok(rl == sizeof doh && memcmp(out + off, doh, sizeof doh) == 0, "DoH RDATA: priority 1, '.', alpn, port, hint, dohpath");

	/* the DoT record: priority 2, no port (853 is the default), both hints,
	 * the wildcard left out */
	static const uint8_t dot[] = {
		0, 2, 0,
		0, 1, 0, 4, 3, 'd', 'o', 't',
		0, 4, 0, 4, 192, 0, 2, 53,
		0, 6, 0, 16, 0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x53,
	};
	const uint8_t *r2 = out + off + rl;
	off = rdata(r2, &rl);
	ok(rl == sizeof dot && memcmp(r2 + off, dot, sizeof dot) == 0,
	   "DoT RDATA: priority 2, alpn=dot, no port=, ipv4hint and ipv6hint, no wildcard");
	is_int((long)len, (long)(2 * 12 + sizeof doh + sizeof dot), "nothing else written");

	is_int(svcb_records(&c, 12, out, 40, &len, &n), FWD_EFULL, "a buffer too small: FWD_EFULL");

	/* additional: nothing without tls-name */
	unsigned ar;
	size_t al;
	is_int(svcb_additional(&c, 100, out, sizeof out, &al, &ar), FWD_OK, "additional without tls-name");
	ok(al == 0 && ar == 0, "... none");
}

static void test_name(void)
{
	struct cfg c;
	struct cfg_addr tls[] = {addr("192.0.2.53", 853), addr("2001:db8::53", 853)};
	struct cfg_addr https[] = {addr("192.0.2.53", 443)};
	uint8_t out[1024];
	size_t len, rl, off;
	unsigned n;
	char name[] = "DNS.Example.";

	memset(&c, 0, sizeof(c));
	c.listen_tls = tls;
	c.nlisten_tls = 2;
	c.listen_https = https;
	c.nlisten_https = 1;
	c.tls_name = name;
	is_int(svcb_records(&c, 12, out, sizeof out, &len, &n), FWD_OK, "records with tls-name");
	off = rdata(out, &rl);
	static const uint8_t target[] = {0, 1, 3, 'd', 'n', 's', 7, 'e', 'x', 'a', 'm', 'p', 'l', 'e', 0};
	ok(memcmp(out + off, target, sizeof target) == 0, "TargetName is tls-name (lower-cased)");
	ok(memmem(out + off, rl, "\x00\x03\x00\x02", 4) == NULL, "DoH on 443: no port=");

	unsigned ar;
	size_t al;
	is_int(svcb_additional(&c, 200, out, sizeof out, &al, &ar), FWD_OK, "additional records");
	is_int(ar, 2, "one A and one AAAA (192.0.2.53 once, though both transports use it)");
	ok(memcmp(out, target + 2, sizeof target - 2) == 0, "the first owner is the name");
	size_t a1 = sizeof target - 2;
	is_int(wire_get16(out + a1), TYPE_A, "... A");
	ok(memcmp(out + a1 + 10, "\xc0\x00\x02\x35", 4) == 0, "... 192.0.2.53");
	size_t a2 = a1 + 10 + 4;
	ok(out[a2] == 0xc0 && out[a2 + 1] == 200, "the second owner points to the first");
	is_int(wire_get16(out + a2 + 2), TYPE_AAAA, "... AAAA");
	is_int((long)al, (long)(a2 + 12 + 16), "nothing else written");
}

int main(void)
{
	test_none();
	test_dot_doh();
	test_name();
	return tap_done();
}
