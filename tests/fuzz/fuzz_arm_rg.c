/*
 * fuzz_arm_rg.c -- libFuzzer target for Azure Resource Graph answers: the
 * input is one page of a resources query ({"totalRecords", "count",
 * "resultTruncated", "$skipToken", "data": [rows]}).  It goes the way a sync
 * round takes it (arm_sync.c): arm_rg_page_parse(); the rows read as
 * private endpoints (arm_pe_rows_add(), then arm_pe_zones_build()) and as
 * dnsresources record sets (arm_rrsets_add() into one zone source, the text
 * merged and compiled by zone_load_text(), the zone asked questions,
 * fuzz_zone.h); the next page's request body made from the token, as the
 * sync sends it back.  The first line of the input, when it looks like a
 * header value, also goes through arm_rg_duration_ms()
 * (x-ms-user-quota-resets-after).
 *
 * Checked: a page parses or fails with a message; a token always makes a
 * body that is JSON again and carries it; nothing leaks or overruns (ASan).
 */
#include <cjson/cJSON.h>
#include <string.h>

#include "arm_config.h"
#include "arm_pe.h"
#include "arm_pe_zone.h"
#include "arm_records.h"
#include "arm_rg.h"
#include "cloud.h"
#include "fuzz.h"
#include "fuzz_zone.h"
#include "log.h"
#include "zone.h"

#define ZONE "privatelink.blob.core.windows.net"
#define SRC "/subscriptions/00000000-0000-0000-0000-00000000aaaa/resourceGroups/rg/providers/" \
	    "Microsoft.Network/privateDnsZones/" ZONE

static struct arm_cfg *acfg;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	char err[200];

	(void)argc;
	(void)argv;
	log_set_level(LOG_LVL_ERR);
	acfg = arm_cfg_new();
	if (acfg == NULL || arm_cfg_set(acfg, "discovery", "resource-graph", err, sizeof(err)) != 0 ||
	    arm_cfg_set(acfg, "resource-group", "rg-a", err, sizeof(err)) != 0 ||
	    arm_cfg_finish(acfg, err, sizeof(err)) != 0)
		abort();
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct arm_rg_page pg;
	struct arm_pe_list list = {0};
	struct arm_pe_zones out = {0};
	struct arm_pe_view view = {0};
	struct arm_pe_zcfg zc = {.cloud = CLOUD_AZURE, .ttl = 10};
	struct arm_rrsets rr = {.source = SRC};
	struct arm_buf text = {0};
	char err[300], line[64];
	const cJSON *row;
	size_t n;

	if (size > 1024 * 1024)
		return 0;
	{
		/* the input is not NUL-terminated */
		const uint8_t *nl = memchr(data, '\n', size);
		n = nl ? (size_t)(nl - data) : size;
	}
	if (n < size && n < sizeof(line)) {
		memcpy(line, data, n);
		line[n] = '\0';
		int64_t ms = arm_rg_duration_ms(line);
		FUZZ_ASSERT(ms >= -1);
	}
	err[0] = '\0';
	if (arm_rg_page_parse((const char *)data, size, &pg, err, sizeof(err)) < 0) {
		FUZZ_ASSERT(err[0] != '\0' && pg.root == NULL);
		return 0;
	}
	FUZZ_ASSERT(cJSON_IsArray(pg.rows));
	if (pg.skip_token != NULL) {
		char *body = arm_rg_request_body(acfg, ARM_RG_QUERY_RECORDS, 1000, pg.skip_token);
		cJSON *j = body ? cJSON_Parse(body) : NULL;
		const cJSON *t = cJSON_GetObjectItem(cJSON_GetObjectItem(j, "options"), "$skipToken");
		FUZZ_ASSERT(j != NULL && cJSON_IsString(t) && strcmp(t->valuestring, pg.skip_token) == 0);
		cJSON_Delete(j);
		free(body);
	}
	if (arm_pe_rows_add(&list, pg.rows, err, sizeof(err)) == 0 && arm_pe_zones_build(&list, &zc, &out, &view) == 0)
		for (size_t i = 0; i < out.n; i++)
			FUZZ_ASSERT(out.v[i].rr.soa.len > 0);
	cJSON_ArrayForEach(row, pg.rows)
		if (arm_rrsets_add(&rr, row, err, sizeof(err)) < 0)
			break;
	{
		const struct arm_rrsets *sets[1] = {&rr};
		FUZZ_ASSERT(arm_records_zone_text(ZONE, sets, 1, &text) == 0 && !text.oom);
		struct zone *z = zone_load_text(ZONE, text.p, "fuzz", err, sizeof(err));
		if (z) {
			fuzz_zone_probe(z, text.p);
			zone_unref(z);
		}
	}
	arm_buf_free(&text);
	arm_rrsets_free(&rr);
	arm_pe_zones_free(&out);
	arm_pe_view_free(&view);
	arm_pe_list_free(&list);
	arm_rg_page_free(&pg);
	return 0;
}
