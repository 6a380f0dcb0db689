/*
 * test_doh_req.c -- the plain-text pieces of a DoH request (doh_req.h):
 * the path and its dns= parameter, base64url decoding, the media type.
 */
#include <stdint.h>
#include <string.h>

#include "doh_req.h"
#include "wire.h"
#include "tap.h"

/* decode text; returns the fwd_err and the bytes in out/outlen */
static enum fwd_err dec(const char *text, uint8_t *out, size_t cap, size_t *outlen)
{
	*outlen = 0;
	return doh_b64url_decode(text, strlen(text), out, cap, outlen);
}

static void test_b64url(void)
{
	uint8_t out[128];
	size_t n;
	/* RFC 8484 4.1.1: the example query for www.example.com A, ID 0 */
	static const char *rfc = "AAABAAABAAAAAAAAA3d3dwdleGFtcGxlA2NvbQAAAQAB";
	static const uint8_t want[] = {0, 0, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0, 3, 'w', 'w', 'w', 7, 'e', 'x', 'a',
				       'm', 'p', 'l', 'e', 3, 'c', 'o', 'm', 0, 0, 1, 0, 1};
	is_int(dec(rfc, out, sizeof out, &n), FWD_OK, "RFC 8484's example query decodes");
	is_int((long)n, (long)sizeof want, "... to 33 bytes");
	ok(memcmp(out, want, sizeof want) == 0, "... the query RFC 8484 4.1.1 shows");

	/* RFC 4648 10's test vectors, in the url alphabet, padding omitted */
	static const struct { const char *in, *out; } vec[] = {
		{"", ""}, {"Zg", "f"}, {"Zm8", "fo"}, {"Zm9v", "foo"}, {"Zm9vYg", "foob"}, {"Zm9vYmE", "fooba"},
		{"Zm9vYmFy", "foobar"}, {"Zg==", "f"}, {"Zm8=", "fo"},
	};
	for (size_t i = 0; i < sizeof vec / sizeof vec[0]; i++) {
		enum fwd_err rc = dec(vec[i].in, out, sizeof out, &n);
		ok(rc == FWD_OK && n == strlen(vec[i].out) && memcmp(out, vec[i].out, n) == 0,
		   "'%s' decodes to '%s'", vec[i].in, vec[i].out);
	}
	/* the two characters that differ from base64: '-' is 62, '_' is 63 */
	is_int(dec("-_-_", out, sizeof out, &n), FWD_OK, "'-' and '_' are in the alphabet");
	ok(n == 3 && out[0] == 0xfb && out[1] == 0xff && out[2] == 0xbf, "... as 62 and 63");
	is_int(dec("+/+/", out, sizeof out, &n), FWD_EINVAL, "'+' and '/' (plain base64) are not");
	is_int(dec("Zm9v YmFy", out, sizeof out, &n), FWD_EINVAL, "a blank is not");
	is_int(dec("Zm9vY", out, sizeof out, &n), FWD_EINVAL, "a length of 4k+1 encodes nothing");
	is_int(dec("Zh", out, sizeof out, &n), FWD_EINVAL, "non-zero leftover bits: not the one encoding of 'f'");
	is_int(dec("Zg===", out, sizeof out, &n), FWD_EINVAL, "three padding characters");
	is_int(dec("Zm8==", out, sizeof out, &n), FWD_EINVAL, "padding that does not complete a quantum");
	is_int(dec("Zm9vYmFy", out, 5, &n), FWD_EFULL, "a result longer than the buffer: FWD_EFULL");
	is_int(dec("Zm9vYmFy", out, 6, &n), FWD_OK, "... and one that just fits decodes");
}

static void test_path(void)
{
	const char *v;
	size_t vl;
#define P(s) s, strlen(s)
	is_int(doh_path_dns(P("/dns-query?dns=AAAB"), &v, &vl), FWD_OK, "/dns-query?dns=...: found");
	ok(vl == 4 && memcmp(v, "AAAB", 4) == 0, "... the value");
	is_int(doh_path_dns(P("/dns-query?ct=x&dns=Zg&z=1"), &v, &vl), FWD_OK, "dns= among other parameters");
	ok(vl == 2 && memcmp(v, "Zg", 2) == 0, "... only its value");
	is_int(doh_path_dns(P("/dns-query"), &v, &vl), FWD_EINVAL, "no query string: 400");
	is_int(doh_path_dns(P("/dns-query?dns="), &v, &vl), FWD_EINVAL, "an empty dns=: 400");
	is_int(doh_path_dns(P("/dns-query?xdns=Zg"), &v, &vl), FWD_EINVAL, "xdns= is not dns=");
	is_int(doh_path_dns(P("/dns-queryx?dns=Zg"), &v, &vl), FWD_ENOENT, "another path: 404");
	is_int(doh_path_dns(P("/"), &v, &vl), FWD_ENOENT, "/: 404");
	is_int(doh_path_dns(P("/DNS-QUERY?dns=Zg"), &v, &vl), FWD_ENOENT, "paths are case-sensitive");
	ok(doh_path_ok(P("/dns-query")), "POST's path /dns-query");
	ok(!doh_path_ok(P("/dns-query/")), "/dns-query/ is another path");
#undef P
}

static void test_media_type(void)
{
#define M(s) doh_media_type_ok(s, strlen(s))
	ok(M("application/dns-message"), "application/dns-message");
	ok(M("Application/DNS-Message"), "media types are case-insensitive");
	ok(M("application/dns-message; charset=binary"), "parameters are ignored");
	ok(!M("application/dns-message-x"), "a longer type is another type");
	ok(!M("application/dns-json"), "application/dns-json");
	ok(!M(""), "empty");
#undef M
}

static void test_max_age(void)
{
	/* www.example.com A: a question, two answers (TTL 300 and 60), an
	 * authority NS (TTL 3600), an OPT in the additional section (not a TTL) */
	static const uint8_t msg[] = {
		0, 0, 0x81, 0x80, 0, 1, 0, 2, 0, 1, 0, 1,
		3, 'w', 'w', 'w', 7, 'e', 'x', 'a', 'm', 'p', 'l', 'e', 3, 'c', 'o', 'm', 0, 0, 1, 0, 1,
		0xc0, 12, 0, 1, 0, 1, 0, 0, 0x01, 0x2c, 0, 4, 192, 0, 2, 1,
		0xc0, 12, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4, 192, 0, 2, 2,
		0xc0, 16, 0, 2, 0, 1, 0, 0, 0x0e, 0x10, 0, 2, 0xc0, 12,
		0, 0, 41, 0x10, 0, 0, 0, 0, 0, 0, 0,
	};
	is_int((long)doh_max_age(msg, sizeof msg), 60, "max-age: the smallest TTL of answer and authority (60)");
	is_int((long)doh_max_age(msg, sizeof msg - 20), 0, "a message cut short: 0");
	uint8_t hdr[12] = {0, 0, 0x81, 0x80};
	is_int((long)doh_max_age(hdr, sizeof hdr), 0, "no records: 0");
}

int main(void)
{
	test_b64url();
	test_path();
	test_media_type();
	test_max_age();
	return tap_done();
}
