/*
 * test_schema.c -- the schema table (resolver/config/schema.c) against what
 * is built from it:
 *  - the key tables of docs/configuration.md and docs/arm-sync.md are the
 *    ones the table generates (else: make config-doc);
 *  - every default: a configuration that names no key parses to the same
 *    values as one that writes every key with its default from the table;
 *  - the rows themselves: names unique per clause, documented, within the
 *    per-clause limits the parsers rely on.
 */
#ifndef _POSIX_C_SOURCE
#define _POSIX_C_SOURCE 200809L /* mkstemp, getdelim */
#endif

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "arm_config.h"
#include "common.h"
#include "config.h"
#include "schema.h"
#include "tap.h"

static const char *srcdir(void)
{
	const char *s = getenv("top_srcdir");
	return s && *s ? s : ".";
}

static char *read_file(const char *path)
{
	FILE *f = fopen(path, "r");
	char *text = NULL;
	size_t cap = 0;

	if (f == NULL)
		return NULL;
	if (getdelim(&text, &cap, '\0', f) < 0) {
		free(text);
		text = NULL;
	}
	fclose(f);
	return text;
}

static void test_docs(void)
{
	static const char *const docs[] = {"docs/configuration.md", "docs/arm-sync.md"};

	for (size_t i = 0; i < FWD_ARRAY_LEN(docs); i++) {
		char path[1024], err[256] = "", *text, *want = NULL;
		snprintf(path, sizeof(path), "%s/%s", srcdir(), docs[i]);
		text = read_file(path);
		ok(text != NULL, "%s readable", docs[i]);
		if (text == NULL)
			continue;
		ok(cfg_schema_doc_update(text, &want, err, sizeof(err)) == FWD_OK, "%s: generated sections found %s",
		   docs[i], err);
		ok(want != NULL && strcmp(text, want) == 0, "%s is up to date with the schema table", docs[i]);
		if (want != NULL && strcmp(text, want) != 0) {
			size_t k = 0;
			while (text[k] && text[k] == want[k])
				k++;
			printf("#   first difference at byte %zu: run `make config-doc`\n", k);
		}
		free(want);
		free(text);
	}
	/* configuration.md holds a table for every clause */
	{
		char path[1024], *text;
		snprintf(path, sizeof(path), "%s/docs/configuration.md", srcdir());
		text = read_file(path);
		for (int c = 0; c < CFG_NCLAUSES; c++) {
			char marker[64];
			snprintf(marker, sizeof(marker), "<!-- schema: %s -->", cfg_clause_name((enum cfg_clause)c));
			ok(text && strstr(text, marker), "docs/configuration.md has the %s: table",
			   cfg_clause_name((enum cfg_clause)c));
		}
		free(text);
	}
	{
		char *out = NULL, err[256] = "";
		is_int(cfg_schema_doc_update("a\n<!-- schema: server -->\nold\n", &out, err, sizeof(err)), FWD_EPARSE,
		       "an unclosed section is an error");
		is_int(cfg_schema_doc_update("<!-- schema: nosuch -->\n<!-- /schema -->\n", &out, err, sizeof(err)),
		       FWD_EPARSE, "an unknown clause is an error");
	}
}

static void test_rows(void)
{
	size_t counts[CFG_NCLAUSES] = {0};
	int dup = 0, undoc = 0;

	for (size_t i = 0; i < cfg_schema_len; i++) {
		const struct cfg_key *k = &cfg_schema[i];
		counts[k->clause]++;
		if (cfg_schema_find(k->clause, k->name) != k)
			dup++;
		if (!k->doc || !k->doc[0] || !k->arg || !k->arg[0])
			undoc++;
		if (cfg_schema_index(k) != counts[k->clause] - 1)
			dup++;
	}
	is_int(dup, 0, "every key is once in its clause, indexed in order");
	is_int(undoc, 0, "every key is documented");
	for (int c = 0; c < CFG_NCLAUSES; c++)
		ok(counts[c] > 0 && counts[c] <= CFG_MAX_CLAUSE_KEYS && counts[c] == cfg_schema_count((enum cfg_clause)c),
		   "%s: %zu keys", cfg_clause_name((enum cfg_clause)c), counts[c]);
	ok(counts[CFG_CL_ARM] <= 64, "arm: keys fit the given-once bit mask");
}

/* ------------------------------------------------------------ defaults */

static char tmpdir[64];

static struct cfg *load(const char *text)
{
	char path[128], err[512] = "";
	struct cfg *cfg = NULL;
	FILE *f;

	snprintf(path, sizeof(path), "%s/c.conf", tmpdir);
	f = fopen(path, "w");
	fputs(text, f);
	fclose(f);
	if (cfg_load(path, &cfg, err, sizeof(err)) != FWD_OK)
		printf("#   %s\n", err);
	unlink(path);
	return cfg;
}

/* "key: default" for every key of clause c that has one. */
static void put_defaults(FILE *f, enum cfg_clause c)
{
	for (size_t i = 0; i < cfg_schema_len; i++) {
		const struct cfg_key *k = &cfg_schema[i];
		char words[256], *w, *save = NULL;
		if (k->clause != c || k->def == NULL)
			continue;
		snprintf(words, sizeof(words), "%s", k->def);
		if (!(k->flags & CK_MULTI)) {
			fprintf(f, "    %s: \"%s\"\n", k->name, k->def);
			continue;
		}
		for (w = strtok_r(words, " ", &save); w; w = strtok_r(NULL, " ", &save))
			fprintf(f, "    %s: %s\n", k->name, w);
	}
}

/* A configuration with one clause of each kind, its required keys, and
 * with_defaults: every other key written with its default. */
static char *conf_text(int with_defaults)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	fputs("server:\n", f);
	if (with_defaults)
		put_defaults(f, CFG_CL_SERVER);
	fputs("upstream: g\n    server: 127.0.0.53\n", f);
	if (with_defaults)
		put_defaults(f, CFG_CL_UPSTREAM);
	fputs("forward: f.test\n    to: g\n", f);
	if (with_defaults)
		put_defaults(f, CFG_CL_FORWARD);
	fputs("zone: z.test\n    file: z.zone\n", f);
	if (with_defaults)
		put_defaults(f, CFG_CL_ZONE);
	fputs("arm:\n    subscription: 00000000-0000-0000-0000-000000000000\n", f);
	if (with_defaults)
		put_defaults(f, CFG_CL_ARM);
	fputs("key: k.test\n    secret-file: k.key\n", f);
	if (with_defaults)
		put_defaults(f, CFG_CL_KEY);
	fclose(f);
	return buf;
}

static int same_value(const struct cfg_key *k, const void *a, const void *b)
{
	const char *x = (const char *)a + k->off, *y = (const char *)b + k->off;

	switch (k->type) {
	case CT_INT:
	case CT_BOOL:
	case CT_FALLBACK:
	case CT_WORD:
	case CT_MODE:
	case CT_CLOUD:
	case CT_ARM_CLOUD:
		return *(const int *)(const void *)x == *(const int *)(const void *)y;
	case CT_SIZE:
		return *(const uint64_t *)(const void *)x == *(const uint64_t *)(const void *)y;
	case CT_LISTEN: {
		const struct cfg_addr *la = *(struct cfg_addr *const *)(const void *)x;
		const struct cfg_addr *lb = *(struct cfg_addr *const *)(const void *)y;
		size_t na = *(const size_t *)(const void *)((const char *)a + k->off_n);
		size_t nb = *(const size_t *)(const void *)((const char *)b + k->off_n);
		if (na != nb)
			return 0;
		for (size_t i = 0; i < na; i++)
			if (la[i].len != lb[i].len || memcmp(&la[i].ss, &lb[i].ss, la[i].len) != 0)
				return 0;
		return 1;
	}
	default: {
		const char *sa = *(char *const *)(const void *)x, *sb = *(char *const *)(const void *)y;
		return sa && sb ? strcmp(sa, sb) == 0 : sa == sb;
	}
	}
}

static void test_defaults(void)
{
	char *t0 = conf_text(0), *t1 = conf_text(1);
	struct cfg *empty = load(t0), *full = load(t1);
	size_t g0 = 0, g1 = 0;
	int checked = 0;

	ok(empty != NULL, "a configuration that sets no optional key parses");
	ok(full != NULL, "a configuration that sets every key to its default parses");
	if (empty && full && cfg_group_find(empty, "g", &g0) == FWD_OK && cfg_group_find(full, "g", &g1) == FWD_OK) {
		for (size_t i = 0; i < cfg_schema_len; i++) {
			const struct cfg_key *k = &cfg_schema[i];
			const void *a = NULL, *b = NULL;
			if (k->def == NULL)
				continue;
			switch (k->clause) {
			case CFG_CL_SERVER: a = empty; b = full; break;
			case CFG_CL_UPSTREAM: a = &empty->upstreams[g0]; b = &full->upstreams[g1]; break;
			case CFG_CL_FORWARD: a = &empty->forwards[0]; b = &full->forwards[0]; break;
			case CFG_CL_ZONE: a = &empty->zones[0]; b = &full->zones[0]; break;
			case CFG_CL_ARM: a = empty->arm; b = full->arm; break;
			case CFG_CL_KEY: a = &empty->keys[0]; b = &full->keys[0]; break;
			default: break;
			}
			ok(a && b && same_value(k, a, b), "default of %s: %s is what an empty %s: clause gets ('%s')",
			   cfg_clause_name(k->clause), k->name, cfg_clause_name(k->clause), k->def);
			checked++;
		}
		/* what the table says, spot-checked against the documented numbers */
		is_int(empty->workers, 1, "workers 1");
		is_int(empty->cache_size, 64u << 20, "cache-size 64m");
		is_int(empty->control_socket_mode, 0600, "control-socket-mode 0600");
		is_int(empty->arm->interval_s, 60, "arm interval 60");
		is_int(empty->arm->cloud, -1, "arm-cloud not set: -1");
		is_int(empty->forwards[0].fallback_public, 0, "a forward without fallback: gets none");
		is_int(empty->forwards[0].fallback_set, 0, "... and says it was not given");
	}
	ok(checked >= 30, "%d defaults checked", checked);
	cfg_free(empty);
	cfg_free(full);
	free(t0);
	free(t1);
}

int main(void)
{
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/plinkfwd-test-schema-XXXXXX");
	if (mkdtemp(tmpdir) == NULL) {
		perror("mkdtemp");
		return 99;
	}
	test_rows();
	test_docs();
	{
		/* the key: clause's secret file, beside the configuration */
		char kp[160];
		FILE *kf;
		snprintf(kp, sizeof(kp), "%s/k.key", tmpdir);
		kf = fopen(kp, "w");
		if (kf != NULL) {
			fputs("c2VjcmV0\n", kf);
			fclose(kf);
		}
		test_defaults();
		unlink(kp);
	}
	rmdir(tmpdir);
	return tap_done();
}
