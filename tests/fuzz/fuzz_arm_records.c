/*
 * fuzz_arm_records.c -- libFuzzer target for ARM record-set JSON: the input
 * is one page of a record-set listing ({"value": [record sets...]}, as
 * ".../privateDnsZones/ZONE/ALL" returns it) or a single record set (a GET).
 * It goes the way a sync round takes it (arm_sync.c): every record set
 * through arm_rrsets_add() -- the odd ones into a second source, as when the
 * same zone comes from two subscriptions -- then arm_records_zone_text()
 * merges the sources into zone text, which zone_load_text() compiles; a
 * zone that compiles is asked questions and its answers checked
 * (fuzz_zone.h).  The error envelope reader and the id helpers get the
 * same input.
 */
#include <cjson/cJSON.h>

#include "arm_records.h"
#include "fuzz.h"
#include "fuzz_zone.h"
#include "log.h"
#include "zone.h"

#define ZONE "privatelink.blob.core.windows.net"
#define SRC "/subscriptions/00000000-0000-0000-0000-00000000aaaa/resourceGroups/rg/providers/" \
	    "Microsoft.Network/privateDnsZones/" ZONE

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	log_set_level(LOG_LVL_ERR);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char err[300], code[128], msg[512];
	struct arm_rrsets a = {.source = SRC}, b = {.source = SRC "-b"};
	struct arm_buf text = {0};
	const cJSON *value, *rs;
	int rc = 0, i = 0;

	if (size > 1024 * 1024)
		return 0;
	arm_records_error((const char *)data, size, code, sizeof(code), msg, sizeof(msg));
	cJSON *root = cJSON_ParseWithLength((const char *)data, size);
	if (!root)
		return 0;
	value = cJSON_GetObjectItemCaseSensitive(root, "value");
	if (cJSON_IsArray(value)) {
		cJSON_ArrayForEach(rs, value)
		{
			uint16_t type;
			const cJSON *id = cJSON_GetObjectItemCaseSensitive(rs, "id");
			char part[256];
			arm_records_type(rs, &type);
			if (cJSON_IsString(id))
				arm_records_id_part(id->valuestring, "privateDnsZones", part, sizeof(part));
			rc = arm_rrsets_add(i++ % 2 ? &b : &a, rs, err, sizeof(err));
			if (rc < 0)
				break;
		}
	} else {
		rc = arm_rrsets_add(&a, root, err, sizeof(err));
	}
	if (rc == 0) {
		const struct arm_rrsets *sets[2] = {&a, &b};
		FUZZ_ASSERT(arm_records_zone_text(ZONE, sets, 2, &text) == 0 && !text.oom);
		FUZZ_ASSERT(text.p != NULL);
		FUZZ_ASSERT(strlen(text.p) == text.len);
		FUZZ_ASSERT(arm_records_count_sets(text.p, text.len) <= a.nsets + b.nsets + 1);
		struct zone *z = zone_load_text(ZONE, text.p, "arm:" ZONE, err, sizeof(err));
		if (z) {
			fuzz_zone_probe(z, text.p);
			zone_unref(z);
		}
	} else {
		FUZZ_ASSERT(rc == FWD_EPARSE && err[0] != '\0');
	}
	arm_buf_free(&text);
	arm_rrsets_free(&a);
	arm_rrsets_free(&b);
	cJSON_Delete(root);
	return 0;
}
