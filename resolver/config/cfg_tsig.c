/*
 * cfg_tsig.c -- the values of a key: clause (see cfg_tsig.h), and
 * cfg_key_find() (cfg_tsig.h).
 */
#ifndef _POSIX_C_SOURCE
#define _POSIX_C_SOURCE 200809L
#endif

#include "cfg_tsig.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

enum fwd_err cfg_tsig_alg(const char *val, char **out)
{
	size_t len = strlen(val);
	char *s;

	/* the trailing dot is optional: NSD and BIND write none, ldns wants one */
	if (len > 0 && val[len - 1] == '.')
		len--;
	for (size_t i = 0; cfg_tsig_alg_words[i] != NULL; i++) {
		if (strlen(cfg_tsig_alg_words[i]) != len || strncasecmp(val, cfg_tsig_alg_words[i], len) != 0)
			continue;
		s = malloc(len + 2);
		if (s == NULL)
			return FWD_ENOMEM;
		memcpy(s, cfg_tsig_alg_words[i], len);
		s[len] = '.';
		s[len + 1] = '\0';
		*out = s;
		return FWD_OK;
	}
	return FWD_EPARSE;
}

static int b64_char(int c)
{
	return isalnum(c) || c == '+' || c == '/';
}

/* Base64 of at least one byte: groups of four, '=' only as padding at the end. */
static int is_b64(const char *s, size_t n)
{
	size_t pad = 0;

	if (n == 0 || n % 4 != 0)
		return 0;
	while (pad < 2 && s[n - 1 - pad] == '=')
		pad++;
	for (size_t i = 0; i < n - pad; i++)
		if (!b64_char((unsigned char)s[i]))
			return 0;
	return n - pad >= 2;
}

void cfg_tsig_secret_free(char *b64)
{
	if (b64 == NULL)
		return;
	/* volatile writes: a freed secret does not linger in the heap */
	for (volatile char *p = b64; *p; p++)
		*p = '\0';
	free(b64);
}

enum fwd_err cfg_tsig_read_secret(const char *path, char **b64, char *why, size_t whylen)
{
	char buf[CFG_TSIG_FILE_MAX + 1];
	size_t n, j = 0;
	FILE *fp = fopen(path, "r");
	enum fwd_err rc = FWD_OK;
	char *s;

	if (fp == NULL) {
		fwd_errf(why, whylen, "cannot read %s: %s", path, strerror(errno));
		return FWD_EIO;
	}
	n = fread(buf, 1, sizeof(buf), fp);
	if (ferror(fp)) {
		fwd_errf(why, whylen, "cannot read %s: %s", path, strerror(errno));
		rc = FWD_EIO;
	} else if (n > CFG_TSIG_FILE_MAX) {
		fwd_errf(why, whylen, "%s: longer than %d bytes", path, CFG_TSIG_FILE_MAX);
		rc = FWD_EPARSE;
	}
	fclose(fp);
	if (rc == FWD_OK) {
		for (size_t i = 0; i < n; i++)
			if (!isspace((unsigned char)buf[i]))
				buf[j++] = buf[i];
		if (j == 0) {
			fwd_errf(why, whylen, "%s: empty", path);
			rc = FWD_EPARSE;
		} else if (!is_b64(buf, j)) {
			/* never quote the content: it is (almost) the secret */
			fwd_errf(why, whylen, "%s: not a base64 secret", path);
			rc = FWD_EPARSE;
		}
	}
	if (rc == FWD_OK) {
		s = malloc(j + 1);
		if (s == NULL) {
			rc = FWD_ENOMEM;
		} else {
			memcpy(s, buf, j);
			s[j] = '\0';
			*b64 = s;
		}
	}
	for (volatile char *p = buf; p < buf + sizeof(buf); p++)
		*p = '\0';
	return rc;
}

void cfg_tsig_key_free(struct cfg_tsig_key *k)
{
	free(k->name);
	free(k->algorithm);
	free(k->secret_file);
	cfg_tsig_secret_free(k->secret_b64);
	k->name = k->algorithm = k->secret_file = k->secret_b64 = NULL;
}

const struct cfg_tsig_key *cfg_key_find(const struct cfg *cfg, const char *name)
{
	size_t len = strlen(name);

	if (len > 0 && name[len - 1] == '.')
		len--;
	for (size_t i = 0; i < cfg->nkeys; i++) {
		const char *k = cfg->keys[i].name;
		if (strlen(k) == len + 1 && strncasecmp(k, name, len) == 0)
			return &cfg->keys[i];
	}
	return NULL;
}
