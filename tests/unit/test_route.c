/*
 * test_route.c -- the routing table and the compiled-in catalogue.
 *
 * The struct cfg is built by hand (only the fields route_build reads) so
 * these tests pin the table's rules without depending on the config
 * parser.  Zones are real ones from zone_load_text().  The expected
 * catalogue sizes are computed here from conf/privatelink-zones.tsv with a
 * parser independent of the awk generator, so a generator that dropped or
 * merged rows fails this test.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "catalogue.h"
#include "common.h"
#include "config.h"
#include "route.h"
#include "tap.h"
#include "wire.h"
#include "zone.h"

enum { G_AZURE = 0, G_DEFAULT = 1, G_ONPREM = 2, G_LAB = 3 };

static struct cfg_upstream test_groups[] = {
	{ .name = "azure" }, { .name = "default" }, { .name = "onprem" }, { .name = "lab" },
};

static void cfg_init(struct cfg *cfg, enum cfg_cloud cloud, struct cfg_forward *fw, size_t nfw)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->file = "test.conf";
	cfg->cloud = cloud;
	cfg->upstreams = test_groups;
	cfg->nupstreams = FWD_ARRAY_LEN(test_groups);
	cfg->group_azure = G_AZURE;
	cfg->group_default = G_DEFAULT;
	cfg->forwards = fw;
	cfg->nforwards = nfw;
}

static struct zone *mkzone(const char *apex)
{
	char err[512];
	char text[1024];
	struct zone *z;
	snprintf(text, sizeof(text),
		 "$TTL 300\n"
		 "@ IN SOA ns1.%s hostmaster.%s 1 3600 600 86400 300\n"
		 "@ IN NS ns1.%s\n"
		 "ns1 IN A 127.0.0.53\n"
		 "acct IN A 127.0.0.10\n",
		 apex, apex, apex);
	z = zone_load_text(apex, text, "test", err, sizeof(err));
	if (!z)
		printf("# zone_load_text(%s): %s\n", apex, err);
	return z;
}

/* Text to the lower-cased wire form the parser hands route_lookup. */
static const struct route_target *look(const struct route_table *rt, const char *text)
{
	uint8_t wire[WIRE_MAX_NAME];
	int len = wire_name_from_text(text, wire);
	if (len <= 0) {
		printf("# bad test name %s\n", text);
		return NULL;
	}
	return route_lookup(rt, wire, (size_t)len);
}

/* One check of everything a caller reads from a forward target. */
static void is_fwd(const struct route_target *t, enum route_origin origin, size_t group, int nlabels,
		   const char *name, const char *what)
{
	int good = t && t->kind == ROUTE_FORWARD && t->origin == origin && t->group == group &&
		   t->nlabels == nlabels && t->zone == NULL && t->name && strcmp(t->name, name) == 0;
	if (!ok(good, "%s", what) && t)
		printf("#   got kind %d origin %d group %zu nlabels %d name %s\n", (int)t->kind, (int)t->origin,
		       t->group, (int)t->nlabels, t->name ? t->name : "(null)");
}

static void is_zone(const struct route_target *t, const struct zone *z, int nlabels, const char *name,
		    const char *what)
{
	int good = t && t->kind == ROUTE_ZONE && t->zone == z && t->nlabels == nlabels && t->name &&
		   strcmp(t->name, name) == 0;
	if (!ok(good, "%s", what) && t)
		printf("#   got kind %d origin %d nlabels %d name %s\n", (int)t->kind, (int)t->origin,
		       (int)t->nlabels, t->name ? t->name : "(null)");
}

static void is_default(const struct route_target *t, const char *what)
{
	int good = t && t->kind == ROUTE_FORWARD && t->origin == ORIGIN_DEFAULT && t->group == G_DEFAULT &&
		   t->nlabels == 0 && t->zone == NULL;
	if (!ok(good, "%s", what) && t)
		printf("#   got kind %d origin %d group %zu nlabels %d name %s\n", (int)t->kind, (int)t->origin,
		       t->group, (int)t->nlabels, t->name ? t->name : "(null)");
}

static void test_suffix_and_case(void)
{
	struct cfg_forward fw[] = {
		{ .suffix = "corp.example.", .group_index = G_ONPREM, .line = 10 },
		{ .suffix = "Lab.Corp.EXAMPLE.", .group_index = G_LAB, .line = 12 },
	};
	struct cfg cfg;
	char err[256] = "";
	struct zone *z = mkzone("PrivateLink.OpenAI.Azure.COM");
	struct route_zone zones[1] = { { z, ORIGIN_ZONE_FILE, 1 } };
	struct route_table *rt;
	const struct route_target *t;

	cfg_init(&cfg, CLOUD_NONE, fw, FWD_ARRAY_LEN(fw));
	rt = route_build(&cfg, zones, z ? 1 : 0, err, sizeof(err));
	ok(z && rt, "build with one zone and two forwards (%s)", err);
	if (!rt || !z) {
		route_free(rt);
		if (z)
			zone_unref(z);
		return;
	}
	/* The table holds its own reference: dropping ours must not free it. */
	zone_unref(z);

	is_fwd(look(rt, "corp.example."), ORIGIN_FORWARD, G_ONPREM, 2, "corp.example.", "exact forward");
	is_fwd(look(rt, "a.b.corp.example."), ORIGIN_FORWARD, G_ONPREM, 2, "corp.example.", "suffix of a forward");
	is_fwd(look(rt, "x.lab.corp.example."), ORIGIN_FORWARD, G_LAB, 3, "Lab.Corp.EXAMPLE.",
	       "longer forward wins; rule written in mixed case matches");
	is_fwd(look(rt, "LAB.corp.Example."), ORIGIN_FORWARD, G_LAB, 3, "Lab.Corp.EXAMPLE.",
	       "query lower-cased by the parser matches");
	is_fwd(look(rt, "xlab.corp.example."), ORIGIN_FORWARD, G_ONPREM, 2, "corp.example.",
	       "suffixes split on labels, not characters");
	is_default(look(rt, "example."), "parent of a rule is not matched");
	is_default(look(rt, "corp.example.net."), "rule name inside another name is not matched");

	t = look(rt, "acct.privatelink.openai.azure.com.");
	is_zone(t, z, 4, "privatelink.openai.azure.com.", "name in a mixed-case zone");
	ok(t && t->origin == ORIGIN_ZONE_FILE && t->fallback_public == 1, "zone origin and fallback carried");
	is_zone(look(rt, "privatelink.openai.azure.com."), z, 4, "privatelink.openai.azure.com.", "zone apex");
	if (t && t->zone) {
		size_t alen = 0;
		const uint8_t *apex = zone_apex(t->zone, &alen);
		ok(apex && alen == 30, "zone still alive through the table's reference");
	}
	is_default(look(rt, "openai.azure.com."), "above the zone: default");
	is_default(look(rt, "www.example.com."), "no match: default route");
	route_free(rt);
}

static void test_precedence(void)
{
	struct cfg_forward fw[] = {
		{ .suffix = "privatelink.openai.azure.com.", .group_index = G_ONPREM, .line = 3 },
		{ .suffix = "privatelink.blob.core.windows.net.", .group_index = G_LAB, .line = 4 },
		{ .suffix = "deep.privatelink.openai.azure.com.", .group_index = G_LAB, .line = 5 },
		{ .suffix = "privatelink.westeurope.kusto.windows.net.", .group_index = G_ONPREM, .line = 6 },
		{ .suffix = "kusto.windows.net.", .group_index = G_LAB, .line = 7 },
	};
	struct cfg cfg;
	char err[256] = "";
	struct zone *z1 = mkzone("privatelink.openai.azure.com");
	struct zone *z2 = mkzone("privatelink.openai.azure.com");
	struct zone *z3 = mkzone("privatelink.cognitiveservices.azure.com");
	struct route_zone zones[3] = {
		{ z1, ORIGIN_ZONE_FILE, 0 },
		{ z2, ORIGIN_ZONE_ARM, 1 },
		{ z3, ORIGIN_ZONE_ARM, 0 },
	};
	struct route_table *rt;
	const struct route_target *t;

	cfg_init(&cfg, CLOUD_AZURE, fw, FWD_ARRAY_LEN(fw));
	rt = (z1 && z2 && z3) ? route_build(&cfg, zones, 3, err, sizeof(err)) : NULL;
	ok(rt != NULL, "build with zones, forwards and the AzureCloud catalogue (%s)", err);
	if (!rt)
		goto out;

	t = look(rt, "acct.privatelink.openai.azure.com.");
	is_zone(t, z1, 4, "privatelink.openai.azure.com.", "zone beats a forward and the catalogue of the same name");
	ok(t && t->origin == ORIGIN_ZONE_FILE && t->fallback_public == 0,
	   "first of two zones with one apex wins (file before ARM)");
	t = look(rt, "acct.privatelink.cognitiveservices.azure.com.");
	is_zone(t, z3, 4, "privatelink.cognitiveservices.azure.com.", "ARM zone beats the catalogue");
	ok(t && t->origin == ORIGIN_ZONE_ARM, "ARM zone origin");
	is_fwd(look(rt, "acct.privatelink.blob.core.windows.net."), ORIGIN_FORWARD, G_LAB, 5,
	       "privatelink.blob.core.windows.net.", "admin forward beats the catalogue");
	is_fwd(look(rt, "acct.privatelink.queue.core.windows.net."), ORIGIN_CATALOGUE, G_AZURE, 5,
	       "privatelink.queue.core.windows.net.", "catalogue where nothing else matches");
	is_fwd(look(rt, "x.deep.privatelink.openai.azure.com."), ORIGIN_FORWARD, G_LAB, 5,
	       "deep.privatelink.openai.azure.com.", "a deeper forward beats a shallower zone");
	is_fwd(look(rt, "deep.privatelink.openai.azure.com."), ORIGIN_FORWARD, G_LAB, 5,
	       "deep.privatelink.openai.azure.com.", "the deeper forward's own name");
	is_zone(look(rt, "xdeep.privatelink.openai.azure.com."), z1, 4, "privatelink.openai.azure.com.",
		"a sibling of the deeper forward stays in the zone");
	/* Placeholder against exact entries: most labels wins, a tie goes to the exact entry. */
	is_fwd(look(rt, "x.privatelink.westeurope.kusto.windows.net."), ORIGIN_FORWARD, G_ONPREM, 5,
	       "privatelink.westeurope.kusto.windows.net.", "exact rule beats a placeholder of equal depth");
	is_fwd(look(rt, "x.privatelink.northeurope.kusto.windows.net."), ORIGIN_CATALOGUE, G_AZURE, 5,
	       "privatelink.{regionname}.kusto.windows.net.", "placeholder beats a shallower exact rule");
	is_fwd(look(rt, "x.kusto.windows.net."), ORIGIN_FORWARD, G_LAB, 3, "kusto.windows.net.",
	       "shallower rule where the placeholder does not match");
	route_free(rt);
out:
	zone_unref(z1);
	zone_unref(z2);
	zone_unref(z3);
}

static struct route_table *build_cloud(enum cfg_cloud cloud)
{
	struct cfg cfg;
	char err[256] = "";
	struct route_table *rt;
	cfg_init(&cfg, cloud, NULL, 0);
	rt = route_build(&cfg, NULL, 0, err, sizeof(err));
	if (!rt)
		printf("# route_build(cloud %d): %s\n", (int)cloud, err);
	return rt;
}

static void test_clouds(void)
{
	static const char *const blob[] = {
		"acct.privatelink.blob.core.windows.net.",
		"acct.privatelink.blob.core.usgovcloudapi.net.",
		"acct.privatelink.blob.core.chinacloudapi.cn.",
	};
	static const enum cfg_cloud clouds[] = { CLOUD_AZURE, CLOUD_USGOV, CLOUD_CHINA };
	static const char *const names[] = { "AzureCloud", "AzureUSGovernment", "AzureChinaCloud" };
	struct route_table *rt;

	for (size_t c = 0; c < 3; c++) {
		char what[160];
		rt = build_cloud(clouds[c]);
		ok(rt != NULL, "build %s", names[c]);
		if (!rt)
			continue;
		for (size_t b = 0; b < 3; b++) {
			snprintf(what, sizeof(what), "%s: %s", names[c], blob[b]);
			if (b == c)
				is_fwd(look(rt, blob[b]), ORIGIN_CATALOGUE, G_AZURE, 5, blob[b] + 5, what);
			else
				is_default(look(rt, blob[b]), what);
		}
		/* Only the private zone column is routed, not the public forwarder zones. */
		snprintf(what, sizeof(what), "%s: public blob name goes to default", names[c]);
		is_default(look(rt, c == 0 ? "acct.blob.core.windows.net." : c == 1 ? "acct.blob.core.usgovcloudapi.net."
										 : "acct.blob.core.chinacloudapi.cn."),
			   what);
		route_free(rt);
	}

	rt = build_cloud(CLOUD_NONE);
	ok(rt != NULL, "build with cloud none");
	if (rt) {
		for (size_t b = 0; b < 3; b++)
			is_default(look(rt, blob[b]), "cloud none: catalogue names go to default");
		route_free(rt);
	}
	is_int(route_catalogue_count(CLOUD_NONE), 0, "cloud none has no catalogue");
	is_int(route_catalogue_count(99), 0, "unknown cloud has no catalogue");
}

static void test_placeholders(void)
{
	struct route_table *rt = build_cloud(CLOUD_AZURE);
	ok(rt != NULL, "build AzureCloud for placeholders");
	if (!rt)
		return;
	is_fwd(look(rt, "x.privatelink.westeurope.kusto.windows.net."), ORIGIN_CATALOGUE, G_AZURE, 5,
	       "privatelink.{regionname}.kusto.windows.net.", "{regionName} matches one label");
	is_fwd(look(rt, "privatelink.westeurope.kusto.windows.net."), ORIGIN_CATALOGUE, G_AZURE, 5,
	       "privatelink.{regionname}.kusto.windows.net.", "the pattern's own depth");
	is_fwd(look(rt, "a.b.privatelink.west-europe.kusto.windows.net."), ORIGIN_CATALOGUE, G_AZURE, 5,
	       "privatelink.{regionname}.kusto.windows.net.", "deeper names below a placeholder pattern");
	is_default(look(rt, "x.privatelink.kusto.windows.net."), "placeholder label missing: no match");
	is_default(look(rt, "privatelink.kusto.windows.net."), "too few labels: no match");
	is_default(look(rt, "x.notprivatelink.westeurope.kusto.windows.net."), "literal label differs: no match");
	is_default(look(rt, "x.privatelink.westeurope.kusto.windows.com."), "literal tail differs: no match");
	/* Two placeholders, and a placeholder pattern above an exact entry. */
	is_fwd(look(rt, "a.b.privatelink.eastus.azmk8s.io."), ORIGIN_CATALOGUE, G_AZURE, 5,
	       "{subzone}.privatelink.{regionname}.azmk8s.io.", "two placeholders: longest pattern");
	is_fwd(look(rt, "privatelink.eastus.azmk8s.io."), ORIGIN_CATALOGUE, G_AZURE, 4,
	       "privatelink.{regionname}.azmk8s.io.", "the shorter azmk8s pattern");
	is_fwd(look(rt, "reg.privatelink.azurecr.io."), ORIGIN_CATALOGUE, G_AZURE, 3, "privatelink.azurecr.io.",
	       "exact catalogue entry");
	is_fwd(look(rt, "reg.eastus.data.privatelink.azurecr.io."), ORIGIN_CATALOGUE, G_AZURE, 5,
	       "{regionname}.data.privatelink.azurecr.io.", "leading placeholder beats a shallower exact entry");
	is_fwd(look(rt, "reg.data.privatelink.azurecr.io."), ORIGIN_CATALOGUE, G_AZURE, 5,
	       "{regionname}.data.privatelink.azurecr.io.", "leading placeholder takes any label, even 'reg'");
	is_fwd(look(rt, "data.privatelink.azurecr.io."), ORIGIN_CATALOGUE, G_AZURE, 3, "privatelink.azurecr.io.",
	       "without the leading label only the exact entry matches");
	route_free(rt);
}

static void test_root_and_long_names(void)
{
	/* 127 one-octet labels: the longest name the wire allows (255 octets). */
	char long_text[260];
	char long_rule[260];
	uint8_t wire[WIRE_MAX_NAME];
	struct cfg_forward fw[] = {
		{ .suffix = long_rule, .group_index = G_LAB, .line = 1 },
		{ .suffix = "a.a.", .group_index = G_ONPREM, .line = 2 },
	};
	struct cfg_forward fw_root[] = {
		{ .suffix = ".", .group_index = G_ONPREM, .line = 1 },
		{ .suffix = "corp.example.", .group_index = G_LAB, .line = 2 },
	};
	struct cfg cfg;
	char err[256] = "";
	struct route_table *rt;
	size_t n = 0;

	for (int i = 0; i < 127; i++) {
		long_text[n++] = i == 0 ? 'b' : 'a';
		long_text[n++] = '.';
	}
	long_text[n] = '\0';
	memcpy(long_rule, long_text, n + 1);

	cfg_init(&cfg, CLOUD_AZURE, fw, FWD_ARRAY_LEN(fw));
	rt = route_build(&cfg, NULL, 0, err, sizeof(err));
	ok(rt != NULL, "build with a 127-label rule (%s)", err);
	if (rt) {
		is_int(wire_name_from_text(long_text, wire), 255, "the 127-label name is 255 octets");
		is_fwd(look(rt, long_text), ORIGIN_FORWARD, G_LAB, 127, long_rule, "127-label name, exact");
		long_text[0] = 'c';
		is_fwd(look(rt, long_text), ORIGIN_FORWARD, G_ONPREM, 2, "a.a.", "127-label name, short suffix");
		is_default(look(rt, "."), "root name: default");
		{
			static const uint8_t root[1] = { 0 };
			is_default(route_lookup(rt, root, 1), "root name as one zero octet");
			is_default(route_lookup(rt, root, 0), "empty name: default");
			is_default(route_lookup(rt, NULL, 0), "no name: default");
		}
		{
			/* A length byte pointing past the end: never read beyond name_len. */
			static const uint8_t cut[] = { 5, 'c', 'o', 'r', 'p' };
			static const uint8_t big[] = { 64, 'a', 0 };
			is_default(route_lookup(rt, cut, sizeof(cut)), "label running past the end: default");
			is_default(route_lookup(rt, big, sizeof(big)), "label length over 63: default");
		}
		route_free(rt);
	}

	cfg_init(&cfg, CLOUD_NONE, fw_root, FWD_ARRAY_LEN(fw_root));
	rt = route_build(&cfg, NULL, 0, err, sizeof(err));
	ok(rt != NULL, "build with a forward rule for the root (%s)", err);
	if (rt) {
		is_fwd(look(rt, "."), ORIGIN_FORWARD, G_ONPREM, 0, ".", "root name matches a root rule");
		is_fwd(look(rt, "www.example.com."), ORIGIN_FORWARD, G_ONPREM, 0, ".", "root rule catches everything");
		is_fwd(look(rt, "x.corp.example."), ORIGIN_FORWARD, G_LAB, 2, "corp.example.",
		       "longer rule beats the root rule");
		route_free(rt);
	}
}

static void test_build_errors(void)
{
	struct cfg_forward bad_group[] = { { .suffix = "corp.example.", .group_index = 9, .line = 7 } };
	struct cfg_forward bad_name[] = { { .suffix = "a..b.", .group_index = G_LAB, .line = 8 } };
	struct route_zone nozone[1] = { { NULL, ORIGIN_ZONE_FILE, 0 } };
	struct cfg cfg;
	char err[256] = "";
	struct route_table *rt;

	cfg_init(&cfg, CLOUD_AZURE, bad_group, 1);
	rt = route_build(&cfg, NULL, 0, err, sizeof(err));
	ok(rt == NULL && strstr(err, "test.conf:7:") != NULL, "forward to an unknown group is refused: %s", err);
	route_free(rt);

	cfg_init(&cfg, CLOUD_AZURE, bad_name, 1);
	rt = route_build(&cfg, NULL, 0, err, sizeof(err));
	ok(rt == NULL && strstr(err, "test.conf:8:") != NULL, "malformed forward name is refused: %s", err);
	route_free(rt);

	cfg_init(&cfg, CLOUD_AZURE, NULL, 0);
	rt = route_build(&cfg, nozone, 1, err, sizeof(err));
	ok(rt == NULL && err[0] != '\0', "missing zone is refused: %s", err);
	route_free(rt);

	cfg_init(&cfg, CLOUD_AZURE, NULL, 0);
	cfg.group_azure = 17;
	rt = route_build(&cfg, NULL, 0, err, sizeof(err));
	ok(rt == NULL && err[0] != '\0', "missing azure group is refused: %s", err);
	route_free(rt);
}

/* ---- the catalogue against its source table ---- */

struct tsv_set {
	char **names;
	size_t n, cap;
	size_t placeholders;
};

static int tsv_add(struct tsv_set *s, const char *name)
{
	for (size_t i = 0; i < s->n; i++)
		if (strcmp(s->names[i], name) == 0)
			return 0;
	if (s->n == s->cap) {
		size_t cap = s->cap ? 2 * s->cap : 64;
		char **nn = realloc(s->names, cap * sizeof(*nn));
		if (!nn)
			return -1;
		s->names = nn;
		s->cap = cap;
	}
	s->names[s->n] = strdup(name);
	if (!s->names[s->n])
		return -1;
	if (strchr(name, '{'))
		s->placeholders++;
	s->n++;
	return 0;
}

static int tsv_has(const struct tsv_set *s, const char *name)
{
	for (size_t i = 0; i < s->n; i++)
		if (strcmp(s->names[i], name) == 0)
			return 1;
	return 0;
}

/* Split line in place on tabs; returns the number of fields. */
static size_t tsv_split(char *line, char **f, size_t max)
{
	size_t n = 0;
	char *p = line;
	while (n < max) {
		f[n++] = p;
		p = strchr(p, '\t');
		if (!p)
			break;
		*p++ = '\0';
	}
	return n;
}

static int tsv_read(struct tsv_set sets[3])
{
	const char *top = getenv("top_srcdir");
	char path[4096];
	char line[4096];
	int col_cloud = -1, col_zone = -1;
	FILE *fp;

	snprintf(path, sizeof(path), "%s/conf/privatelink-zones.tsv", top && *top ? top : ".");
	fp = fopen(path, "r");
	if (!fp) {
		printf("# cannot open %s (set top_srcdir)\n", path);
		return -1;
	}
	while (fgets(line, sizeof(line), fp)) {
		char *f[16];
		char zone[512];
		size_t nf, zl = 0;
		int c;

		line[strcspn(line, "\r\n")] = '\0';
		if (line[0] == '#' || line[0] == '\0')
			continue;
		nf = tsv_split(line, f, 16);
		if (col_zone < 0) {
			for (size_t i = 0; i < nf; i++) {
				if (strcmp(f[i], "cloud") == 0)
					col_cloud = (int)i;
				else if (strcmp(f[i], "private_dns_zone") == 0)
					col_zone = (int)i;
			}
			if (col_zone < 0 || col_cloud < 0) {
				fclose(fp);
				return -1;
			}
			continue;
		}
		if ((size_t)col_zone >= nf || (size_t)col_cloud >= nf)
			continue;
		if (strcmp(f[col_cloud], "AzureCloud") == 0)
			c = 0;
		else if (strcmp(f[col_cloud], "AzureUSGovernment") == 0)
			c = 1;
		else if (strcmp(f[col_cloud], "AzureChinaCloud") == 0)
			c = 2;
		else
			continue;
		for (const char *p = f[col_zone]; *p && zl + 2 < sizeof(zone); p++)
			if (*p != ' ')
				zone[zl++] = (char)tolower((unsigned char)*p);
		if (zl == 0)
			continue;
		if (zone[zl - 1] != '.')
			zone[zl++] = '.';
		zone[zl] = '\0';
		if (tsv_add(&sets[c], zone) != 0) {
			fclose(fp);
			return -1;
		}
	}
	fclose(fp);
	return 0;
}

/* Replace every "{...}" label by "zz" to get a concrete name the pattern must match. */
static void instantiate(const char *pattern, char *out, size_t cap)
{
	size_t n = 0;
	for (const char *p = pattern; *p && n + 3 < cap; p++) {
		if (*p == '{') {
			const char *e = strchr(p, '}');
			if (!e)
				break;
			out[n++] = 'z';
			out[n++] = 'z';
			p = e;
		} else {
			out[n++] = *p;
		}
	}
	out[n] = '\0';
}

static void test_catalogue(void)
{
	struct tsv_set sets[3];
	static const enum cfg_cloud clouds[] = { CLOUD_AZURE, CLOUD_USGOV, CLOUD_CHINA };
	static const char *const names[] = { "AzureCloud", "AzureUSGovernment", "AzureChinaCloud" };
	const struct catalogue_entry *tabs[] = { catalogue_azure, catalogue_usgov, catalogue_china };
	const size_t counts[] = { catalogue_azure_count, catalogue_usgov_count, catalogue_china_count };

	memset(sets, 0, sizeof(sets));
	if (!ok(tsv_read(sets) == 0, "read conf/privatelink-zones.tsv"))
		return;
	for (size_t c = 0; c < 3; c++) {
		const struct catalogue_entry *tab = tabs[c];
		char what[200];
		size_t ph = 0, sorted = 1, known = 1, flags = 1, routed = 0;
		struct route_table *rt = build_cloud(clouds[c]);

		printf("# %s: %zu distinct zones in the table, %zu with placeholders\n", names[c], sets[c].n,
		       sets[c].placeholders);
		ok(sets[c].n > 0, "%s has rows in the table", names[c]);
		snprintf(what, sizeof(what), "%s: catalogue has every distinct zone of the table", names[c]);
		is_int(route_catalogue_count(clouds[c]), sets[c].n, what);
		snprintf(what, sizeof(what), "%s: count matches the array", names[c]);
		is_int(counts[c], sets[c].n, what);
		ok(tab[counts[c]].name == NULL, "%s: table ends with its sentinel", names[c]);
		for (size_t i = 0; i < counts[c]; i++) {
			char conc[300];
			const struct route_target *t;
			if (i > 0 && strcmp(tab[i - 1].name, tab[i].name) >= 0)
				sorted = 0;
			if (!tsv_has(&sets[c], tab[i].name))
				known = 0;
			if ((strchr(tab[i].name, '{') != NULL) != (tab[i].placeholder != 0))
				flags = 0;
			ph += tab[i].placeholder ? 1 : 0;
			if (!rt)
				continue;
			/* Every entry must route to itself: a concrete name of the
			 * pattern's own depth can be matched by nothing longer. */
			instantiate(tab[i].name, conc, sizeof(conc));
			t = look(rt, conc);
			if (t && t->origin == ORIGIN_CATALOGUE && t->group == G_AZURE && t->name &&
			    strcmp(t->name, tab[i].name) == 0)
				routed++;
			else
				printf("#   %s routes to %s\n", conc, t && t->name ? t->name : "(null)");
		}
		ok(sorted, "%s: names sorted and unique", names[c]);
		ok(known, "%s: every name comes from the table", names[c]);
		ok(flags, "%s: placeholder flag set exactly on {...} names", names[c]);
		snprintf(what, sizeof(what), "%s: placeholder entries", names[c]);
		is_int(ph, sets[c].placeholders, what);
		snprintf(what, sizeof(what), "%s: every entry routes to itself", names[c]);
		is_int(routed, counts[c], what);
		route_free(rt);
		for (size_t i = 0; i < sets[c].n; i++)
			free(sets[c].names[i]);
		free(sets[c].names);
	}
}

int main(void)
{
	test_suffix_and_case();
	test_precedence();
	test_clouds();
	test_placeholders();
	test_root_and_long_names();
	test_build_errors();
	test_catalogue();
	return tap_done();
}
