/*
 * fuzz_arm_pe.c -- libFuzzer target for private endpoint listing JSON: the
 * input is one page of a private endpoint list ({"value": [endpoints...],
 * "nextLink"}, as ".../providers/Microsoft.Network/privateEndpoints"
 * returns it).  It goes the way a sync round takes it (arm_sync.c): parsed
 * with arm_pe_page_parse() into the round's list (twice, as two pages of
 * two subscriptions), turned into zone sources with arm_pe_zones_build()
 * (the catalogue mapping of every FQDN, Approved only, duplicates), each
 * source checked against a private DNS zone source with the zone rule
 * (arm_pe_drop_conflicts()), merged with it by arm_records_zone_text() and
 * compiled by zone_load_text(); a zone that compiles is asked questions and
 * its answers checked (fuzz_zone.h).  Every note's sentence is made, and
 * the notes are compared with themselves for the once-per-change log.
 *
 * Checked: a page either parses or fails with a message; every zone source
 * is a usable zone name with an SOA; the merged text names no more record
 * sets than went in; nothing leaks or overruns (ASan).
 */
#include <cjson/cJSON.h>
#include <string.h>

#include "arm_pe.h"
#include "arm_pe_map.h"
#include "arm_pe_zone.h"
#include "arm_records.h"
#include "cloud.h"
#include "fuzz.h"
#include "fuzz_zone.h"
#include "log.h"
#include "zone.h"

static const char *const SUBS[] = {"00000000-0000-0000-0000-00000000aaaa", "00000000-0000-0000-0000-00000000bbbb"};
static const char *const EZONES[] = {"corp.example", "apps.corp.example"};

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	log_set_level(LOG_LVL_ERR);
	return 0;
}

static int want(const void *arg, const char *zone)
{
	(void)arg;
	return strcmp(zone, "privatelink.filtered.example") != 0;
}

/* A private DNS zone source of zone with one record set at "contoso". */
static void dns_source(const char *zone, struct arm_rrsets *dns, char *src, size_t cap)
{
	char err[200];
	cJSON *rs = cJSON_CreateObject(), *props, *arr, *o;

	snprintf(src, cap, "/subscriptions/%s/resourceGroups/rg/providers/Microsoft.Network/privateDnsZones/%s",
		 SUBS[0], zone);
	dns->source = src;
	cJSON_AddStringToObject(rs, "name", "contoso");
	cJSON_AddStringToObject(rs, "type", "Microsoft.Network/privateDnsZones/A");
	props = cJSON_AddObjectToObject(rs, "properties");
	cJSON_AddNumberToObject(props, "ttl", 300);
	arr = cJSON_AddArrayToObject(props, "aRecords");
	o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "ipv4Address", "10.9.9.9");
	cJSON_AddItemToArray(arr, o);
	FUZZ_ASSERT(arm_rrsets_add(dns, rs, err, sizeof(err)) == 0);
	cJSON_Delete(rs);
}

static void note_text(void *arg, const struct arm_pe_note *n)
{
	char text[2048];
	(void)arg;
	arm_pe_note_text(n, text, sizeof(text));
	FUZZ_ASSERT(text[0] != '\0');
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct arm_pe_list list = {0};
	struct arm_pe_zones out = {0};
	struct arm_pe_view view = {0};
	struct arm_pe_zcfg zc = {.cloud = CLOUD_AZURE, .endpoint_zones = EZONES, .nendpoint_zones = 2, .ttl = 10,
				 .subs = SUBS, .nsubs = 2, .zone_wanted = want};
	char err[300], *next = NULL;
	int rc;

	if (size > 1024 * 1024)
		return 0;
	/* the same page from both subscriptions: every name is also a duplicate */
	for (size_t tag = 0; tag < 2; tag++) {
		size_t before = list.n;
		err[0] = '\0';
		rc = arm_pe_page_parse((const char *)data, size, &list, &next, err, sizeof(err));
		free(next);
		next = NULL;
		for (size_t i = before; i < list.n; i++)
			list.v[i].tag = tag;
		if (rc < 0) {
			FUZZ_ASSERT(err[0] != '\0');
			arm_pe_list_free(&list);
			return 0;
		}
		zc.per_rg = (int)tag;
	}
	for (size_t i = 0; i < list.n; i++)
		for (size_t k = 0; k < list.v[i].ndns; k++) {
			char zone[256], owner[256];
			enum arm_pe_how how;
			if (arm_pe_map(list.v[i].dns[k].fqdn, CLOUD_AZURE, EZONES, 2, zone, sizeof(zone), owner,
				       sizeof(owner), &how) == 0)
				FUZZ_ASSERT(zone[0] != '\0' && owner[0] != '\0');
		}
	if (arm_pe_zones_build(&list, &zc, &out, &view) == 0) {
		for (size_t i = 0; i < out.n; i++) {
			struct arm_rrsets dns = {0};
			struct arm_buf text = {0};
			char src[600];
			size_t nsets;
			FUZZ_ASSERT(out.v[i].rr.soa.len > 0);
			dns_source(out.v[i].zone, &dns, src, sizeof(src));
			FUZZ_ASSERT(arm_pe_drop_conflicts(out.v[i].zone, (const struct arm_rrsets *const[]){&dns}, 1,
							  &out.v[i].rr, &view) >= 0);
			nsets = dns.nsets + out.v[i].rr.nsets + 1;
			const struct arm_rrsets *sets[2] = {&dns, &out.v[i].rr};
			FUZZ_ASSERT(arm_records_zone_text(out.v[i].zone, sets, 2, &text) == 0 && !text.oom);
			FUZZ_ASSERT(arm_records_count_sets(text.p, text.len) <= nsets);
			if (arm_records_zone_name_ok(out.v[i].zone)) {
				struct zone *z = zone_load_text(out.v[i].zone, text.p, "fuzz", err, sizeof(err));
				if (z) {
					fuzz_zone_probe(z, text.p);
					zone_unref(z);
				}
			}
			arm_buf_free(&text);
			arm_rrsets_free(&dns);
		}
	}
	for (size_t i = 0; i < view.n; i++)
		arm_pe_view_find(&view, view.v[i].fqdn, note_text, NULL);
	arm_pe_view_log_changes(&view, &view);
	arm_pe_zones_free(&out);
	arm_pe_view_free(&view);
	arm_pe_list_free(&list);
	return 0;
}
