/*
 * http_auth.c -- the bearer token of http-token-file (see http_auth.h).
 */
#include "http_auth.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

static int blank(int c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

enum fwd_err http_auth_load(struct http_auth *a, const char *path, char *err, size_t errlen)
{
	/* one byte more than a token may have, to tell "too long" */
	char buf[HTTP_AUTH_TOKEN_MAX + 2];
	FILE *f = fopen(path, "re");
	if (!f) {
		fwd_errf(err, errlen, "http-token-file %s: %s", path, strerror(errno));
		return FWD_EIO;
	}
	size_t n = fread(buf, 1, sizeof(buf) - 1, f);
	int bad = ferror(f);
	fclose(f);
	if (bad) {
		fwd_errf(err, errlen, "http-token-file %s: read error", path);
		return FWD_EIO;
	}
	buf[n] = '\0';
	char *nl = memchr(buf, '\n', n);
	if (nl)
		*nl = '\0';
	else if (n == sizeof(buf) - 1) {
		fwd_errf(err, errlen, "http-token-file %s: the token is longer than %d bytes", path,
			 HTTP_AUTH_TOKEN_MAX);
		return FWD_EINVAL;
	}
	char *s = buf;
	while (blank((unsigned char)*s))
		s++;
	size_t len = strlen(s);
	while (len > 0 && blank((unsigned char)s[len - 1]))
		len--;
	if (len == 0) {
		fwd_errf(err, errlen, "http-token-file %s: no token in its first line", path);
		return FWD_EINVAL;
	}
	if (len > HTTP_AUTH_TOKEN_MAX) {
		fwd_errf(err, errlen, "http-token-file %s: the token is longer than %d bytes", path,
			 HTTP_AUTH_TOKEN_MAX);
		return FWD_EINVAL;
	}
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)s[i] <= ' ' || (unsigned char)s[i] == 0x7f) {
			fwd_errf(err, errlen, "http-token-file %s: the token holds a blank or control character",
				 path);
			return FWD_EINVAL;
		}
	memcpy(a->token, s, len);
	a->token[len] = '\0';
	a->len = len;
	/* the copy on the stack is a secret too */
	memset(buf, 0, sizeof(buf));
	return FWD_OK;
}

void http_auth_clear(struct http_auth *a)
{
	memset(a->token, 0, sizeof(a->token));
	a->len = 0;
}

enum fwd_err http_auth_check(const struct http_auth *a, const char *h)
{
	if (a->len == 0)
		return FWD_OK;
	if (!h)
		return FWD_ENOENT;
	while (*h == ' ' || *h == '\t')
		h++;
	if (strncasecmp(h, "Bearer", 6) != 0 || (h[6] != ' ' && h[6] != '\t'))
		return FWD_ENOENT;
	h += 6;
	while (*h == ' ' || *h == '\t')
		h++;
	size_t n = strlen(h);
	while (n > 0 && (h[n - 1] == ' ' || h[n - 1] == '\t'))
		n--;
	/* every byte of the configured token is compared, whatever the
	 * request sent: the time taken tells nothing about how much of a
	 * guess was right (the length of the token is not kept secret) */
	volatile unsigned char diff = (unsigned char)(n != a->len);
	for (size_t i = 0; i < a->len; i++)
		diff |= (unsigned char)a->token[i] ^ (unsigned char)(i < n ? h[i] : 0);
	return diff == 0 ? FWD_OK : FWD_EINVAL;
}
