/*
 * doh_req.c -- RFC 8484 request text: path, base64url, media type (see
 * doh_req.h).
 */
#include "doh_req.h"

#include <string.h>
#include <strings.h>

#include "wire.h"

int doh_path_ok(const char *path, size_t len)
{
	size_t plen = sizeof(DOH_PATH) - 1;
	const char *q = memchr(path, '?', len);
	size_t base = q ? (size_t)(q - path) : len;
	return base == plen && memcmp(path, DOH_PATH, plen) == 0;
}

enum fwd_err doh_path_dns(const char *path, size_t len, const char **val, size_t *vlen)
{
	if (!doh_path_ok(path, len))
		return FWD_ENOENT;
	const char *q = memchr(path, '?', len);
	if (!q)
		return FWD_EINVAL;
	const char *p = q + 1, *end = path + len;
	while (p < end) {
		const char *amp = memchr(p, '&', (size_t)(end - p));
		const char *pe = amp ? amp : end;
		if (pe - p >= 4 && memcmp(p, "dns=", 4) == 0) {
			if (pe - p == 4)
				return FWD_EINVAL;
			*val = p + 4;
			*vlen = (size_t)(pe - p - 4);
			return FWD_OK;
		}
		p = pe + 1;
	}
	return FWD_EINVAL;
}

static int b64url_value(unsigned char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '-')
		return 62;
	if (c == '_')
		return 63;
	return -1;
}

enum fwd_err doh_b64url_decode(const char *in, size_t inlen, uint8_t *out, size_t cap, size_t *outlen)
{
	uint32_t acc = 0;
	int bits = 0;
	size_t n = 0;

	/* tolerate the padding RFC 8484 says to leave out, but no more of it
	 * than an encoding can have */
	size_t pad = 0;
	while (inlen > 0 && in[inlen - 1] == '=' && pad < 2) {
		inlen--;
		pad++;
	}
	if (inlen % 4 == 1 || (pad && (inlen + pad) % 4 != 0))
		return FWD_EINVAL; /* no byte string encodes to this length */
	for (size_t i = 0; i < inlen; i++) {
		int v = b64url_value((unsigned char)in[i]);
		if (v < 0)
			return FWD_EINVAL;
		acc = (acc << 6) | (uint32_t)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			if (n >= cap)
				return FWD_EFULL;
			out[n++] = (uint8_t)(acc >> bits);
		}
	}
	/* the bits left over must be zero: one text per byte string */
	if (bits > 0 && (acc & ((1u << bits) - 1)) != 0)
		return FWD_EINVAL;
	*outlen = n;
	return FWD_OK;
}

int doh_media_type_ok(const char *val, size_t len)
{
	size_t tlen = sizeof(DOH_MEDIA_TYPE) - 1;
	const char *semi = memchr(val, ';', len);
	size_t end = semi ? (size_t)(semi - val) : len;
	while (end > 0 && (val[end - 1] == ' ' || val[end - 1] == '\t'))
		end--;
	return end == tlen && strncasecmp(val, DOH_MEDIA_TYPE, tlen) == 0;
}

uint32_t doh_max_age(const uint8_t *msg, size_t len)
{
	if (len < WIRE_HDR_LEN)
		return 0;
	unsigned qd = wire_get16(msg + 4), rrs = wire_get16(msg + 6) + wire_get16(msg + 8);
	size_t off = WIRE_HDR_LEN;
	uint32_t min = UINT32_MAX;
	for (unsigned i = 0; i < qd; i++) {
		off = wire_skip_name(msg, len, off);
		if (off == 0 || off + 4 > len)
			return 0;
		off += 4;
	}
	for (unsigned i = 0; i < rrs; i++) {
		off = wire_skip_name(msg, len, off);
		if (off == 0 || off + 10 > len)
			return 0;
		uint32_t ttl = wire_get32(msg + off + 4);
		if (ttl < min)
			min = ttl;
		off += 10 + wire_get16(msg + off + 8);
		if (off > len)
			return 0;
	}
	return min == UINT32_MAX ? 0 : min;
}
