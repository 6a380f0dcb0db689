/*
 * test_arm_pe.c -- private endpoints: the listing parser against the
 * published REST examples (tests/fixtures/arm/network), connection states,
 * bad input; the FQDN -> zone mapping through the catalogue (both
 * spellings, placeholders, endpoint-zone:, nothing covers it); zone sources
 * built from endpoints (Approved only, duplicates, A and AAAA) and the zone
 * rule for conflicts with a private DNS zone.
 */
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arm_pe.h"
#include "arm_pe_map.h"
#include "arm_pe_zone.h"
#include "arm_records.h"
#include "cloud.h"
#include "common.h"
#include "tap.h"

static char *read_file(const char *rel, size_t *len)
{
	const char *top = getenv("top_srcdir");
	char path[1024];
	FILE *f;
	char *buf;
	long n;

	snprintf(path, sizeof(path), "%s/tests/fixtures/arm/%s", top ? top : ".", rel);
	f = fopen(path, "rb");
	if (f == NULL) {
		printf("# cannot read %s\n", path);
		return NULL;
	}
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	fseek(f, 0, SEEK_SET);
	buf = malloc((size_t)n + 1);
	if (buf != NULL && fread(buf, 1, (size_t)n, f) != (size_t)n) {
		free(buf);
		buf = NULL;
	}
	if (buf != NULL)
		buf[n] = '\0';
	*len = (size_t)n;
	fclose(f);
	return buf;
}

/* The response body of an example file, as text. */
static char *example_body(const char *rel)
{
	size_t len;
	char *text = read_file(rel, &len), *out;
	cJSON *j = text ? cJSON_Parse(text) : NULL;
	cJSON *body = cJSON_GetObjectItem(cJSON_GetObjectItem(cJSON_GetObjectItem(j, "responses"), "200"), "body");

	out = body ? cJSON_PrintUnformatted(body) : NULL;
	cJSON_Delete(j);
	free(text);
	return out;
}

static int parse(const char *body, struct arm_pe_list *l, char **next)
{
	char err[300];

	return arm_pe_page_parse(body, strlen(body), l, next, err, sizeof(err));
}

static void test_examples(void)
{
	struct arm_pe_list l = {0};
	char *next = (char *)"x";
	char *body = example_body("network/PrivateEndpointListAll.json");

	ok(body != NULL, "ListAll example read");
	is_int(parse(body ? body : "", &l, &next), 0, "ListAll parses");
	ok(next == NULL, "no nextLink on the example");
	is_int((int)l.n, 3, "three endpoints");
	if (l.n == 3) {
		is_str(l.v[0].name, "pe1", "first endpoint's name");
		is_str(l.v[0].sub, "subid", "subscription from the id (lower-case)");
		is_str(l.v[0].rg, "rg1", "resource group from the id");
		is_int(l.v[0].state, ARM_PE_APPROVED, "pe1: Approved (automatic connection)");
		is_int((int)l.v[0].ndns, 2, "pe1: two customDnsConfigs");
		is_str(l.v[0].dns[0].fqdn, "abc.cosmos.com", "pe1: first FQDN");
		is_str(l.v[0].dns[0].addrs[0], "192.168.0.4", "pe1: its address");
		is_int(l.v[1].state, ARM_PE_PENDING, "pe2: Pending (manual connection)");
		is_int(l.v[1].manual, 1, "pe2: the deciding connection is a manual one");
		is_str(l.v[1].status, "Pending", "pe2: status as ARM wrote it");
		is_int(l.v[2].state, ARM_PE_APPROVED, "pe3: Approved");
	}
	arm_pe_list_free(&l);
	free(body);

	body = example_body("network/PrivateEndpointList.json");
	is_int(parse(body ? body : "", &l, &next), 0, "List (resource group) example parses");
	ok(l.n >= 1, "it has endpoints");
	arm_pe_list_free(&l);
	free(body);

	/* a Get body is one endpoint, not a list: the page is malformed */
	body = example_body("network/PrivateEndpointGetForManualApproval.json");
	ok(parse(body ? body : "", &l, &next) == FWD_EPARSE, "a single endpoint is not a list page");
	arm_pe_list_free(&l);
	free(body);
}

static void test_states(void)
{
	struct arm_pe_list l = {0};
	char *next = NULL;
	const char *page =
		"{\"value\":["
		"{\"id\":\"/subscriptions/S/resourceGroups/R/providers/Microsoft.Network/privateEndpoints/a\","
		" \"properties\":{\"privateLinkServiceConnections\":[{\"properties\":{"
		"  \"privateLinkServiceConnectionState\":{\"status\":\"approved\"}}}]}},"
		"{\"id\":\"/subscriptions/S/resourceGroups/R/providers/Microsoft.Network/privateEndpoints/b\","
		" \"properties\":{\"privateLinkServiceConnections\":[{\"properties\":{"
		"  \"privateLinkServiceConnectionState\":{\"status\":\"Approved\"}}}],"
		" \"manualPrivateLinkServiceConnections\":[{\"properties\":{"
		"  \"privateLinkServiceConnectionState\":{\"status\":\"Rejected\"}}}]}},"
		"{\"id\":\"/subscriptions/S/resourceGroups/R/providers/Microsoft.Network/privateEndpoints/c\","
		" \"properties\":{\"privateLinkServiceConnections\":[{\"properties\":{"
		"  \"privateLinkServiceConnectionState\":{\"status\":\"Disconnected\"}}}]}},"
		"{\"id\":\"/subscriptions/S/resourceGroups/R/providers/Microsoft.Network/privateEndpoints/d\","
		" \"properties\":{}},"
		"{\"id\":\"/subscriptions/S/resourceGroups/R/providers/Microsoft.Network/privateEndpoints/e\","
		" \"properties\":{\"privateLinkServiceConnections\":[{\"properties\":{"
		"  \"privateLinkServiceConnectionState\":{\"status\":\"Updating\"}}}],"
		" \"customDnsConfigs\":[{\"fqdn\":\"Acct.OpenAI.Azure.com.\",\"ipAddresses\":[\"10.0.0.1\",\"nope\","
		"  \"fd00::1\",5]},{\"fqdn\":\"bad name.example\",\"ipAddresses\":[\"10.0.0.2\"]},"
		"  {\"fqdn\":\"x.example\"}]}}"
		"],\"nextLink\":\"https://management.azure.com/next\"}";

	is_int(parse(page, &l, &next), 0, "crafted page parses");
	is_str(next ? next : "", "https://management.azure.com/next", "nextLink returned");
	free(next);
	is_int((int)l.n, 5, "five endpoints");
	if (l.n == 5) {
		is_int(l.v[0].state, ARM_PE_APPROVED, "status matched without regard to case");
		is_int(l.v[1].state, ARM_PE_REJECTED, "Approved + Rejected connection: Rejected");
		is_int(l.v[2].state, ARM_PE_DISCONNECTED, "Disconnected");
		is_int(l.v[3].state, ARM_PE_OTHER, "no connection at all: not Approved");
		is_int(l.v[4].state, ARM_PE_OTHER, "an undocumented status: not Approved");
		is_str(l.v[4].status, "Updating", "... its text kept for explain");
		is_str(l.v[3].name, "d", "no name: the id's last segment");
		is_int((int)l.v[4].ndns, 1, "unusable FQDNs dropped (one with a blank, one without addresses)");
		if (l.v[4].ndns == 1) {
			is_str(l.v[4].dns[0].fqdn, "acct.openai.azure.com", "FQDN lower-cased, trailing dot dropped");
			is_int((int)l.v[4].dns[0].naddrs, 2, "IPv4 and IPv6 kept, junk dropped");
		}
		is_int((int)l.bad_fqdns, 2, "two FQDNs counted as bad");
		is_int((int)l.bad_addrs, 2, "two addresses counted as bad");
	}
	arm_pe_list_free(&l);

	ok(parse("{\"value\":[{\"name\":\"x\"}]}", &l, &next) == FWD_EPARSE, "an endpoint without id fails the page");
	arm_pe_list_free(&l);
	ok(parse("{\"value\":{}}", &l, &next) == FWD_EPARSE, "value not an array fails the page");
	arm_pe_list_free(&l);
	ok(parse("{\"value\":[", &l, &next) == FWD_EPARSE, "truncated JSON fails the page");
	arm_pe_list_free(&l);
	is_int(parse("{\"value\":[]}", &l, &next), 0, "an empty page is fine");
	arm_pe_list_free(&l);
}

static void map_is(const char *fqdn, int cloud, const char *zone, const char *owner, int how, const char *what)
{
	char z[256] = "", o[256] = "";
	enum arm_pe_how h = 0;
	static const char *const ez[] = {"corp.example", "apps.corp.example"};
	int rc = arm_pe_map(fqdn, cloud, ez, 2, z, sizeof(z), o, sizeof(o), &h);

	if (zone == NULL) {
		ok(rc == FWD_ENOENT, "%s: not mapped (%s)", what, fqdn);
		return;
	}
	ok(rc == 0 && strcmp(z, zone) == 0 && strcmp(o, owner) == 0 && (int)h == how,
	   "%s: %s -> %s in %s", what, fqdn, owner, zone);
	if (rc != 0 || strcmp(z, zone) != 0 || strcmp(o, owner) != 0)
		printf("#   got rc %d zone '%s' owner '%s' how %d\n", rc, z, o, (int)h);
}

static void test_map(void)
{
	ok(arm_pe_pairs_count > 100, "the pair table is compiled in (%zu pairs)", arm_pe_pairs_count);
	map_is("contoso.openai.azure.com", CLOUD_AZURE, "privatelink.openai.azure.com", "contoso", ARM_PE_MAP_PUBLIC,
	       "public spelling");
	map_is("contoso.privatelink.openai.azure.com", CLOUD_AZURE, "privatelink.openai.azure.com", "contoso",
	       ARM_PE_MAP_PRIVATE, "privatelink spelling");
	map_is("acct.cognitiveservices.azure.com", CLOUD_AZURE, "privatelink.cognitiveservices.azure.com", "acct",
	       ARM_PE_MAP_PUBLIC, "Foundry: cognitiveservices");
	map_is("proj.services.ai.azure.com", CLOUD_AZURE, "privatelink.services.ai.azure.com", "proj",
	       ARM_PE_MAP_PUBLIC, "Foundry: services.ai");
	map_is("sa1.blob.core.windows.net", CLOUD_AZURE, "privatelink.blob.core.windows.net", "sa1",
	       ARM_PE_MAP_PUBLIC, "storage");
	map_is("mycluster.eastus.kusto.windows.net", CLOUD_AZURE, "privatelink.eastus.kusto.windows.net",
	       "mycluster", ARM_PE_MAP_PUBLIC, "placeholder bound in both zones");
	map_is("acct.eastus.batch.azure.com", CLOUD_AZURE, "privatelink.batch.azure.com", "acct.eastus",
	       ARM_PE_MAP_PUBLIC, "placeholder only in the public zone stays in the owner");
	map_is("reg.westeurope.data.privatelink.azurecr.io", CLOUD_AZURE, "westeurope.data.privatelink.azurecr.io",
	       "reg", ARM_PE_MAP_PRIVATE, "privatelink spelling with a placeholder zone");
	map_is("reg.privatelink.azurecr.io", CLOUD_AZURE, "privatelink.azurecr.io", "reg", ARM_PE_MAP_PRIVATE,
	       "registry");
	map_is("acct.openai.azure.us", CLOUD_AZURE, NULL, NULL, 0, "another cloud's zone");
	map_is("acct.openai.azure.com", CLOUD_NONE, NULL, NULL, 0, "cloud none: no catalogue");
	map_is("core.windows.net", CLOUD_AZURE, NULL, NULL, 0, "no catalogue zone below it");
	map_is("privatelink.openai.azure.com", CLOUD_AZURE, NULL, NULL, 0,
	       "a private zone itself names no resource (not mapped through the public azure.com either)");
	map_is("privatelink.eastus.kusto.windows.net", CLOUD_AZURE, NULL, NULL, 0,
	       "nor a private zone with a placeholder");
	map_is("web.apps.corp.example", CLOUD_AZURE, "apps.corp.example", "web", ARM_PE_MAP_CONFIG,
	       "endpoint-zone: the longest");
	map_is("db.corp.example", CLOUD_AZURE, "corp.example", "db", ARM_PE_MAP_CONFIG, "endpoint-zone");
	map_is("corp.example", CLOUD_AZURE, "corp.example", "@", ARM_PE_MAP_CONFIG, "endpoint-zone apex");
	map_is("abc.cosmos.com", CLOUD_AZURE, NULL, NULL, 0, "the example's placeholder FQDN: no zone covers it");
	map_is("a.b", CLOUD_AZURE, NULL, NULL, 0, "a short name");
	{
		char z[8], o[8];
		enum arm_pe_how h;
		ok(arm_pe_map("contoso.openai.azure.com", CLOUD_AZURE, NULL, 0, z, sizeof(z), o, sizeof(o), &h) ==
			   FWD_EINVAL,
		   "a zone that does not fit the buffer: FWD_EINVAL");
	}
}

static int want_all(const void *arg, const char *zone)
{
	(void)arg;
	return strcmp(zone, "privatelink.filtered.test") != 0;
}

static const struct arm_pe_note *note_of(const struct arm_pe_view *v, const char *fqdn, enum arm_pe_note_kind k)
{
	for (size_t i = 0; i < v->n; i++)
		if (strcmp(v->v[i].fqdn, fqdn) == 0 && v->v[i].kind == k)
			return &v->v[i];
	return NULL;
}

static void count_note(void *arg, const struct arm_pe_note *n)
{
	(void)n;
	(*(int *)arg)++;
}

static void test_zones(void)
{
	static const char *const subs[] = {"sub1", "sub2"};
	struct arm_pe_zcfg zc = {.cloud = CLOUD_AZURE, .ttl = 10, .subs = subs, .nsubs = 2, .zone_wanted = want_all};
	struct arm_pe_list l = {0};
	struct arm_pe_zones out = {0};
	struct arm_pe_view view = {0};
	char *next = NULL;
	const char *page =
		"{\"value\":["
		"{\"id\":\"/subscriptions/sub1/resourceGroups/rg-ai/providers/Microsoft.Network/privateEndpoints/pe-foundry\","
		" \"name\":\"pe-foundry\","
		" \"properties\":{\"privateLinkServiceConnections\":[{\"properties\":{"
		"  \"privateLinkServiceConnectionState\":{\"status\":\"Approved\"}}}],"
		" \"customDnsConfigs\":[{\"fqdn\":\"contoso.openai.azure.com\",\"ipAddresses\":[\"10.5.0.4\"]},"
		"  {\"fqdn\":\"contoso.cognitiveservices.azure.com\",\"ipAddresses\":[\"10.5.0.4\",\"fd00::4\"]},"
		"  {\"fqdn\":\"contoso.openai.azure.com\",\"ipAddresses\":[\"10.5.0.5\"]}]}},"
		"{\"id\":\"/subscriptions/sub1/resourceGroups/rg-ai/providers/Microsoft.Network/privateEndpoints/pe-pending\","
		" \"name\":\"pe-pending\","
		" \"properties\":{\"manualPrivateLinkServiceConnections\":[{\"properties\":{"
		"  \"privateLinkServiceConnectionState\":{\"status\":\"Pending\"}}}],"
		" \"customDnsConfigs\":[{\"fqdn\":\"other.openai.azure.com\",\"ipAddresses\":[\"10.5.0.9\"]}]}},"
		"{\"id\":\"/subscriptions/sub1/resourceGroups/rg-ai/providers/Microsoft.Network/privateEndpoints/pe-zdup\","
		" \"name\":\"pe-zdup\","
		" \"properties\":{\"privateLinkServiceConnections\":[{\"properties\":{"
		"  \"privateLinkServiceConnectionState\":{\"status\":\"Approved\"}}}],"
		" \"customDnsConfigs\":[{\"fqdn\":\"contoso.privatelink.openai.azure.com\",\"ipAddresses\":[\"10.6.0.4\"]},"
		"  {\"fqdn\":\"thing.cosmos.example\",\"ipAddresses\":[\"10.6.0.5\"]}]}}"
		"]}";

	is_int(parse(page, &l, &next), 0, "endpoint page parses");
	is_int(arm_pe_zones_build(&l, &zc, &out, &view), 0, "zone sources built");
	is_int((int)view.by_state[ARM_PE_APPROVED], 2, "two Approved endpoints counted");
	is_int((int)view.by_state[ARM_PE_PENDING], 1, "one Pending endpoint counted");
	ok(note_of(&view, "other.openai.azure.com", ARM_PE_NOTE_NOT_APPROVED) != NULL, "Pending: a note, not served");
	ok(note_of(&view, "thing.cosmos.example", ARM_PE_NOTE_UNMAPPED) != NULL, "uncovered FQDN: a note");
	ok(note_of(&view, "contoso.privatelink.openai.azure.com", ARM_PE_NOTE_DUPLICATE) != NULL,
	   "the same name from a later endpoint (by id): a duplicate note");
	{
		const struct arm_pe_note *n = note_of(&view, "other.openai.azure.com", ARM_PE_NOTE_NOT_APPROVED);
		char text[1024] = "";
		if (n)
			arm_pe_note_text(n, text, sizeof(text));
		is_str(text,
		       "other.openai.azure.com: private endpoint pe-pending (subscription sub1, resource group rg-ai) "
		       "is Pending approval: not served",
		       "the explain sentence");
	}
	is_int((int)out.n, 2, "two zones: openai and cognitiveservices");
	for (size_t i = 0; i < out.n; i++) {
		struct arm_buf txt = {0};
		const struct arm_rrsets *sets[1] = {&out.v[i].rr};
		arm_records_zone_text(out.v[i].zone, sets, 1, &txt);
		if (strcmp(out.v[i].zone, "privatelink.openai.azure.com") == 0) {
			ok(strstr(txt.p, "contoso\t10\tIN\tA\t10.5.0.4\ncontoso\t10\tIN\tA\t10.5.0.5\n") != NULL,
			   "openai: both addresses of the endpoint's two entries, TTL 10");
			ok(strstr(txt.p, "; arm-id /subscriptions/sub1/resourceGroups/rg-ai/providers/Microsoft.Network/"
					 "privateEndpoints/pe-foundry\n") != NULL,
			   "the record set names the endpoint");
			ok(strstr(txt.p, "10.6.0.4") == NULL, "the duplicate's address is not served");
			ok(strstr(txt.p, "10.5.0.9") == NULL, "the Pending endpoint's address is not served");
			ok(strstr(txt.p, "IN\tSOA\t") != NULL, "an SOA for negative answers");
			is_str(out.v[i].source_id, "/subscriptions/sub1/providers/Microsoft.Network/privateEndpoints",
			       "the source is the subscription's endpoint collection");
		} else {
			is_str(out.v[i].zone, "privatelink.cognitiveservices.azure.com", "second zone");
			ok(strstr(txt.p, "contoso\t10\tIN\tAAAA\tfd00::4\n") != NULL, "IPv6 address: AAAA");
		}
		arm_buf_free(&txt);
	}

	/* the zone rule */
	{
		struct arm_rrsets dns = {.source = "/subscriptions/sub1/resourceGroups/rg-dns/providers/"
						   "Microsoft.Network/privateDnsZones/privatelink.openai.azure.com"};
		cJSON *rs = cJSON_Parse("{\"id\":\"/subscriptions/sub1/resourceGroups/rg-dns/providers/Microsoft.Network/"
					"privateDnsZones/privatelink.openai.azure.com/A/Contoso\",\"name\":\"Contoso\","
					"\"type\":\"Microsoft.Network/privateDnsZones/TXT\",\"properties\":{\"ttl\":300,"
					"\"txtRecords\":[{\"value\":[\"x\"]}]}}");
		char err[200];
		const struct arm_rrsets *sets[1] = {&dns};
		struct arm_rrsets *pe = NULL;
		const struct arm_pe_note *n;
		for (size_t i = 0; i < out.n; i++)
			if (strcmp(out.v[i].zone, "privatelink.openai.azure.com") == 0)
				pe = &out.v[i].rr;
		is_int(arm_rrsets_add(&dns, rs, err, sizeof(err)), 0, "zone record set added");
		cJSON_Delete(rs);
		ok(pe != NULL, "endpoint source of the zone");
		if (pe) {
			is_int(arm_pe_drop_conflicts("privatelink.openai.azure.com", sets, 1, pe, &view), 1,
			       "a name the zone has (any type, any case): the endpoint's set is dropped");
			is_int((int)pe->nents, 0, "nothing left of the endpoint's at that name");
		}
		n = note_of(&view, "contoso.openai.azure.com", ARM_PE_NOTE_CONFLICT);
		ok(n != NULL, "the endpoint's note became a conflict (found under the FQDN it lists)");
		if (n) {
			is_str(n->other,
			       "/subscriptions/sub1/resourceGroups/rg-dns/providers/Microsoft.Network/privateDnsZones/"
			       "privatelink.openai.azure.com/A/Contoso",
			       "the conflict names the zone's record set");
			is_str(n->name, "contoso.privatelink.openai.azure.com", "and the name served");
		}
		arm_rrsets_free(&dns);
	}

	/* explain finds a note under either name */
	{
		int hits = 0;
		arm_pe_view_find(&view, "other.privatelink.openai.azure.com", count_note, &hits);
		is_int(hits, 1, "found under the name it would be served as");
		hits = 0;
		arm_pe_view_find(&view, "other.openai.azure.com", count_note, &hits);
		is_int(hits, 1, "found under the FQDN the endpoint lists");
		hits = 0;
		arm_pe_view_find(&view, "nothing.openai.azure.com", count_note, &hits);
		is_int(hits, 0, "nothing for another name");
	}
	arm_pe_zones_free(&out);
	arm_pe_view_free(&view);
	arm_pe_list_free(&l);
}

int main(void)
{
	test_examples();
	test_states();
	test_map();
	test_zones();
	return tap_done();
}
