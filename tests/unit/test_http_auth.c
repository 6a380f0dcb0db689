/*
 * test_http_auth.c -- the bearer token of http-token-file: what is read
 * from the file (first line, blanks trimmed; empty, too long, blanks or
 * control characters inside refused, the previous token kept on failure),
 * and which Authorization headers pass (scheme in any case, exact token
 * only: no prefix, no extension, no other scheme).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "http_auth.h"
#include "tap.h"

static char dir[] = "/tmp/test_http_auth.XXXXXX";
static char path[256];

static void put(const char *text, size_t n)
{
	FILE *f = fopen(path, "w");
	if (!f || fwrite(text, 1, n, f) != n || fclose(f) != 0) {
		perror(path);
		exit(2);
	}
}

int main(void)
{
	struct http_auth a;
	char err[512];

	if (!mkdtemp(dir))
		return 2;
	snprintf(path, sizeof(path), "%s/token", dir);
	memset(&a, 0, sizeof(a));

	is_int(http_auth_check(&a, NULL), FWD_OK, "no token configured: a request without a header passes");
	is_int(http_auth_check(&a, "Bearer x"), FWD_OK, "no token configured: any header passes");

	put("  s3cret-Token_1  \nsecond line\n", 31);
	is_int(http_auth_load(&a, path, err, sizeof(err)), FWD_OK, "load: first line of the file");
	is_str(a.token, "s3cret-Token_1", "load: blanks around it removed");
	is_int(a.len, 14, "load: its length");

	is_int(http_auth_check(&a, "Bearer s3cret-Token_1"), FWD_OK, "check: the token passes");
	is_int(http_auth_check(&a, "bearer s3cret-Token_1"), FWD_OK, "check: the scheme in lower case");
	is_int(http_auth_check(&a, "  BEARER \t s3cret-Token_1  "), FWD_OK, "check: blanks around");
	is_int(http_auth_check(&a, NULL), FWD_ENOENT, "check: no header: missing");
	is_int(http_auth_check(&a, ""), FWD_ENOENT, "check: empty header: missing");
	is_int(http_auth_check(&a, "Basic s3cret-Token_1"), FWD_ENOENT, "check: another scheme: missing");
	is_int(http_auth_check(&a, "Bearers3cret-Token_1"), FWD_ENOENT, "check: no blank after the scheme: missing");
	is_int(http_auth_check(&a, "Bearer s3cret-Token_"), FWD_EINVAL, "check: a prefix: wrong");
	is_int(http_auth_check(&a, "Bearer s3cret-Token_12"), FWD_EINVAL, "check: one byte more: wrong");
	is_int(http_auth_check(&a, "Bearer s3cret-token_1"), FWD_EINVAL, "check: the token is case-sensitive");
	is_int(http_auth_check(&a, "Bearer "), FWD_EINVAL, "check: an empty token: wrong");

	/* failures keep what was loaded */
	put("\n\n", 2);
	is_int(http_auth_load(&a, path, err, sizeof(err)), FWD_EINVAL, "load: empty first line refused");
	ok(strstr(err, "no token in its first line") != NULL, "load: ... saying why (%s)", err);
	is_str(a.token, "s3cret-Token_1", "load: a failed load keeps the previous token");
	put("two words\n", 10);
	is_int(http_auth_load(&a, path, err, sizeof(err)), FWD_EINVAL, "load: a blank inside refused");
	put("ctl\001char\n", 9);
	is_int(http_auth_load(&a, path, err, sizeof(err)), FWD_EINVAL, "load: a control character refused");
	ok(strstr(err, "\001") == NULL && strstr(err, "ctl") == NULL, "load: the error never quotes the file");
	char *big = malloc(HTTP_AUTH_TOKEN_MAX + 10);
	memset(big, 'x', HTTP_AUTH_TOKEN_MAX + 10);
	put(big, HTTP_AUTH_TOKEN_MAX + 10);
	is_int(http_auth_load(&a, path, err, sizeof(err)), FWD_EINVAL, "load: longer than 4096 bytes refused");
	put(big, HTTP_AUTH_TOKEN_MAX);
	is_int(http_auth_load(&a, path, err, sizeof(err)), FWD_OK, "load: exactly 4096 bytes accepted");
	is_int(a.len, HTTP_AUTH_TOKEN_MAX, "load: ... all of it");
	free(big);
	unlink(path);
	is_int(http_auth_load(&a, path, err, sizeof(err)), FWD_EIO, "load: a missing file: EIO");
	ok(strstr(err, path) != NULL, "load: ... naming the file");
	is_int(a.len, HTTP_AUTH_TOKEN_MAX, "load: ... and the previous token stays");

	http_auth_clear(&a);
	is_int(http_auth_check(&a, NULL), FWD_OK, "clear: open again");
	rmdir(dir);
	return tap_done();
}
