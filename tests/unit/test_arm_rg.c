/*
 * test_arm_rg.c -- Resource Graph: answer pages against the published
 * examples (tests/fixtures/arm/resourcegraph: first and next page with
 * $skipToken, tenant and management-group scope, the facet example whose
 * data comes first), the format traps (resultTruncated as a string, the
 * table format, rows that are not objects), the request body (scope,
 * resource-group filter, $top, token) and the quota reset duration.
 */
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arm_config.h"
#include "arm_pe.h"
#include "arm_rg.h"
#include "common.h"
#include "tap.h"

static char *example_body(const char *name)
{
	const char *top = getenv("top_srcdir");
	char path[1024], *text, *out = NULL;
	FILE *f;
	long n;
	cJSON *j, *body;

	snprintf(path, sizeof(path), "%s/tests/fixtures/arm/resourcegraph/%s", top ? top : ".", name);
	f = fopen(path, "rb");
	if (f == NULL) {
		printf("# cannot read %s\n", path);
		return NULL;
	}
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	fseek(f, 0, SEEK_SET);
	text = calloc(1, (size_t)n + 1);
	if (text != NULL && fread(text, 1, (size_t)n, f) != (size_t)n)
		text[0] = '\0';
	fclose(f);
	j = text ? cJSON_Parse(text) : NULL;
	body = cJSON_GetObjectItem(cJSON_GetObjectItem(cJSON_GetObjectItem(j, "responses"), "200"), "body");
	if (body)
		out = cJSON_PrintUnformatted(body);
	cJSON_Delete(j);
	free(text);
	return out;
}

static int parse(const char *body, struct arm_rg_page *pg)
{
	char err[300];

	return arm_rg_page_parse(body, strlen(body), pg, err, sizeof(err));
}

static void test_examples(void)
{
	static const char *const all[] = {"ResourcesBasicQuery.json",	"ResourcesFirstPageQuery.json",
					  "ResourcesNextPageQuery.json", "ResourcesPropertiesQuery.json",
					  "ResourcesTenantBasicQuery.json", "ResourcesMgBasicQuery.json",
					  "ResourcesFacetQuery.json",	"ResourcesFilterQuery.json",
					  "ResourcesRandomPageQuery.json"};
	struct arm_rg_page pg;
	char *b;

	for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++) {
		b = example_body(all[i]);
		is_int(b ? parse(b, &pg) : -99, 0, all[i]);
		ok(pg.rows != NULL && cJSON_GetArraySize(pg.rows) == pg.count, "%s: count rows (%lld)", all[i],
		   (long long)pg.count);
		arm_rg_page_free(&pg);
		free(b);
	}
	b = example_body("ResourcesFirstPageQuery.json");
	if (b && parse(b, &pg) == 0) {
		is_str(pg.skip_token ? pg.skip_token : "", "eyAibm8iOiAibHVjayIsICJidXQiOiAibmljZSIsICJ0cnkiOiAiISIgfQ==",
		       "first page: its $skipToken");
		is_int((int)pg.total, 386, "totalRecords");
		arm_rg_page_free(&pg);
	}
	free(b);
	b = example_body("ResourcesBasicQuery.json");
	if (b && parse(b, &pg) == 0) {
		ok(pg.skip_token == NULL, "a single page has no token");
		arm_rg_page_free(&pg);
	}
	free(b);
}

static void test_traps(void)
{
	struct arm_rg_page pg;

	ok(parse("{\"totalRecords\":5,\"count\":1,\"resultTruncated\":\"true\",\"data\":[{\"id\":\"x\"}]}", &pg) ==
		   FWD_EPARSE,
	   "resultTruncated \"true\": an incomplete listing fails the page");
	is_int(parse("{\"totalRecords\":1,\"count\":1,\"resultTruncated\":\"false\",\"data\":[{\"id\":\"x\"}]}", &pg),
	       0, "resultTruncated \"false\" (a string) is fine");
	arm_rg_page_free(&pg);
	ok(parse("{\"totalRecords\":1,\"count\":1,\"resultTruncated\":true,\"data\":[]}", &pg) == FWD_EPARSE,
	   "a JSON true is taken the same way");
	ok(parse("{\"totalRecords\":1,\"count\":1,\"resultTruncated\":\"false\",\"data\":{\"columns\":[],\"rows\":[]}}",
		 &pg) == FWD_EPARSE,
	   "the table format is refused (objectArray is always asked for)");
	ok(parse("{\"count\":1,\"data\":[1]}", &pg) == FWD_EPARSE, "a row that is not an object");
	ok(parse("{\"data\":", &pg) == FWD_EPARSE, "truncated JSON");
	ok(parse("[]", &pg) == FWD_EPARSE, "not an object");
	is_int(parse("{\"data\":[],\"$skipToken\":\"\"}", &pg), 0, "an empty token is no token");
	ok(pg.skip_token == NULL && pg.total == -1, "... and counts absent are -1");
	arm_rg_page_free(&pg);
}

static void test_endpoint_rows(void)
{
	struct arm_rg_page pg;
	struct arm_pe_list l = {0};
	char err[200];
	const char *page =
		"{\"totalRecords\":1,\"count\":1,\"resultTruncated\":\"false\",\"facets\":[],\"data\":[{"
		"\"id\":\"/subscriptions/s1/resourceGroups/RG-AI/providers/Microsoft.Network/privateEndpoints/pe1\","
		"\"name\":\"pe1\",\"resourceGroup\":\"rg-ai\",\"subscriptionId\":\"s1\",\"properties\":{"
		"\"privateLinkServiceConnections\":[{\"properties\":{\"privateLinkServiceConnectionState\":"
		"{\"status\":\"Approved\"}}}],\"customDnsConfigs\":[{\"fqdn\":\"a.openai.azure.com\","
		"\"ipAddresses\":[\"10.0.0.4\"]}]}}]}";

	is_int(parse(page, &pg), 0, "endpoint rows parse");
	is_int(arm_pe_rows_add(&l, pg.rows, err, sizeof(err)), 0, "rows read as endpoints");
	ok(l.n == 1 && l.v[0].state == ARM_PE_APPROVED && l.v[0].ndns == 1 && strcmp(l.v[0].rg, "rg-ai") == 0,
	   "state, FQDN and resource group from the row");
	arm_pe_list_free(&l);
	arm_rg_page_free(&pg);
}

static void test_body(void)
{
	struct arm_cfg *ac = arm_cfg_new();
	char err[200], *b;
	cJSON *j;

	ok(ac != NULL, "config");
	if (ac == NULL)
		return;
	arm_cfg_set(ac, "discovery", "resource-graph", err, sizeof(err));
	b = arm_rg_request_body(ac, ARM_RG_QUERY_ZONES, 1000, NULL);
	j = b ? cJSON_Parse(b) : NULL;
	ok(j && !cJSON_GetObjectItem(j, "subscriptions") && !cJSON_GetObjectItem(j, "managementGroups"),
	   "no scope: the tenant");
	ok(j && cJSON_GetObjectItem(cJSON_GetObjectItem(j, "options"), "$top")->valueint == 1000 &&
		   strcmp(cJSON_GetObjectItem(cJSON_GetObjectItem(j, "options"), "resultFormat")->valuestring,
			  "objectArray") == 0,
	   "$top 1000 and resultFormat objectArray, always sent");
	ok(j && !cJSON_GetObjectItem(cJSON_GetObjectItem(j, "options"), "$skipToken"), "first page: no token");
	ok(j && strstr(cJSON_GetObjectItem(j, "query")->valuestring, "project id,") != NULL,
	   "the query projects id (paging needs it)");
	cJSON_Delete(j);
	free(b);
	arm_cfg_set(ac, "management-group", "mg-Net", err, sizeof(err));
	arm_cfg_set(ac, "resource-group", "rg-a", err, sizeof(err));
	arm_cfg_set(ac, "resource-group", "rg-b", err, sizeof(err));
	b = arm_rg_request_body(ac, ARM_RG_QUERY_ENDPOINTS, 50, "TOKEN==");
	j = b ? cJSON_Parse(b) : NULL;
	ok(j && cJSON_GetArraySize(cJSON_GetObjectItem(j, "managementGroups")) == 1, "management groups as scope");
	ok(j && strcmp(cJSON_GetObjectItem(cJSON_GetObjectItem(j, "options"), "$skipToken")->valuestring, "TOKEN==") ==
			0,
	   "the token goes back in the body");
	is_str(j ? cJSON_GetObjectItem(j, "query")->valuestring : "",
	       "resources | where type =~ 'microsoft.network/privateendpoints' | where resourceGroup in~ ('rg-a', "
	       "'rg-b') | project id, name, resourceGroup, subscriptionId, properties",
	       "resource-group: filters the query before its project");
	cJSON_Delete(j);
	free(b);
	arm_cfg_free(ac);
}

static void test_duration(void)
{
	is_int((int)arm_rg_duration_ms("00:00:03"), 3000, "00:00:03");
	is_int((int)arm_rg_duration_ms("00:01:05"), 65000, "00:01:05");
	is_int((int)arm_rg_duration_ms("01:00:00"), 3600000, "01:00:00");
	is_int((int)arm_rg_duration_ms("00:00:00.5"), 500, "fractions of a second");
	is_int((int)arm_rg_duration_ms("1.00:00:01"), 86401000, "days");
	is_int((int)arm_rg_duration_ms("5"), -1, "a bare number is not the format");
	is_int((int)arm_rg_duration_ms("00:61:00"), -1, "61 minutes");
	is_int((int)arm_rg_duration_ms(""), -1, "empty");
	is_int((int)arm_rg_duration_ms(NULL), -1, "absent");
}

int main(void)
{
	test_examples();
	test_traps();
	test_endpoint_rows();
	test_body();
	test_duration();
	return tap_done();
}
