/*
 * http_auth.h -- the bearer token of http-token-file (RFC 6750): read from
 * its file, and checked against a request's Authorization header in time
 * that does not depend on where a wrong token differs.
 *
 * The token is a secret: nothing here logs it, and error texts name the
 * file, never its content.  Plain data, owned by whoever embeds it (http.c);
 * main thread.
 */
#ifndef PLINKFWD_HTTP_AUTH_H
#define PLINKFWD_HTTP_AUTH_H

#include <stddef.h>

#include "common.h"

#define HTTP_AUTH_TOKEN_MAX 4096

struct http_auth {
	char token[HTTP_AUTH_TOKEN_MAX + 1];
	size_t len;                /* 0: no token configured, every request passes */
};

/* Read the token from path: the file's first line, blanks around it
 * removed.  FWD_OK with a set; otherwise a is untouched and err says why
 * ("http-token-file PATH: ..."): FWD_EIO (cannot read), FWD_EINVAL (empty,
 * longer than HTTP_AUTH_TOKEN_MAX, or a control character or blank inside:
 * such a token could not travel in a header). */
enum fwd_err http_auth_load(struct http_auth *a, const char *path, char *err, size_t errlen);

/* Forget the token: every request passes. */
void http_auth_clear(struct http_auth *a);

/* Does a request with this Authorization header value (NULL: none) pass?
 * FWD_OK when no token is configured or the header is "Bearer TOKEN" (the
 * scheme in any case) with the right token; FWD_ENOENT when the header is
 * missing or not a Bearer credential; FWD_EINVAL for a wrong token.  The
 * comparison reads every byte of the configured token whatever the header
 * holds. */
enum fwd_err http_auth_check(const struct http_auth *a, const char *authorization);

#endif
