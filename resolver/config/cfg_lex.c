/*
 * cfg_lex.c -- configuration lines without a struct cfg (see cfg_lex.h).
 */
#ifndef _POSIX_C_SOURCE
#define _POSIX_C_SOURCE 200809L
#endif

#include "cfg_lex.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum fwd_err cfg_line_split(char *s, char **key, char **val, const char **why)
{
	char *k, *v, *w;

	*key = NULL;
	while (isspace((unsigned char)*s))
		s++;
	if (*s == '\0' || *s == '#')
		return FWD_OK;
	k = s;
	while (*s && *s != ':' && *s != '#' && *s != '"' && !isspace((unsigned char)*s))
		s++;
	if (*s != ':' || s == k) {
		*why = "expected 'key: value'";
		return FWD_EPARSE;
	}
	*s++ = '\0';
	while (isspace((unsigned char)*s))
		s++;
	if (*s == '"') {
		/* Quoted: \" and \\ are the only escapes; the value may hold '#' and blanks. */
		v = w = ++s;
		for (;;) {
			if (*s == '\0') {
				*why = "unterminated quoted value";
				return FWD_EPARSE;
			}
			if (*s == '"')
				break;
			if (*s == '\\' && (s[1] == '"' || s[1] == '\\'))
				s++;
			*w++ = *s++;
		}
		s++;
		*w = '\0';
	} else {
		/*
		 * Unquoted: the rest of the line up to a comment, blanks inside
		 * kept (as unbound does), so that two-word values such as
		 * "zone-fallback: PATTERN public" need no quotes.
		 */
		v = s;
		while (*s && *s != '#' && *s != '"')
			s++;
		if (*s == '"') {
			*why = "stray '\"' in value (quote the whole value)";
			return FWD_EPARSE;
		}
		w = s;
		while (w > v && isspace((unsigned char)w[-1]))
			w--;
		*w = '\0';
		*key = k;
		*val = v;
		return FWD_OK;
	}
	while (isspace((unsigned char)*s))
		s++;
	if (*s != '\0' && *s != '#') {
		*why = "unexpected text after the quoted value";
		return FWD_EPARSE;
	}
	*key = k;
	*val = v;
	return FWD_OK;
}

/* The clause a line opens, as config.c's try_clause() sees it: 1 server:,
 * 0 another clause, -1 not a clause line. */
static int clause_of(const char *key, const char *val)
{
	static const char *const others[] = {"upstream", "forward", "zone", "arm", "key"};

	if (strcmp(key, "server") == 0 && *val == '\0')
		return 1;
	for (size_t i = 0; i < FWD_ARRAY_LEN(others); i++)
		if (strcmp(key, others[i]) == 0)
			return 0;
	return -1;
}

enum fwd_err cfg_scan_server_key(const char *path, const char *key, char **val, int *line, char *err,
				 size_t errlen)
{
	FILE *fp;
	char *buf = NULL, *k, *v;
	size_t cap = 0;
	const char *why;
	int n = 0, in_server = 0;
	enum fwd_err rc = FWD_ENOENT;

	if (err != NULL && errlen > 0)
		err[0] = '\0';
	if (path == NULL || key == NULL || val == NULL)
		return FWD_EINVAL;
	*val = NULL;
	fp = fopen(path, "r");
	if (fp == NULL) {
		if (err != NULL && errlen > 0)
			snprintf(err, errlen, "%s: cannot open: %s", path, strerror(errno));
		return FWD_EIO;
	}
	while (rc == FWD_ENOENT && getline(&buf, &cap, fp) >= 0) {
		n++;
		char *s = n == 1 && strncmp(buf, "\xef\xbb\xbf", 3) == 0 ? buf + 3 : buf;
		if (cfg_line_split(s, &k, &v, &why) != FWD_OK || k == NULL)
			continue; /* a broken line is the daemon's to report */
		int c = clause_of(k, v);
		if (c >= 0) {
			in_server = c;
		} else if (in_server && strcmp(k, key) == 0 && *v != '\0') {
			*val = strdup(v);
			rc = *val ? FWD_OK : FWD_ENOMEM;
			if (line != NULL)
				*line = n;
		}
	}
	if (rc == FWD_ENOENT && ferror(fp)) {
		if (err != NULL && errlen > 0)
			snprintf(err, errlen, "%s: read error: %s", path, strerror(errno));
		rc = FWD_EIO;
	}
	free(buf);
	fclose(fp);
	return rc;
}
