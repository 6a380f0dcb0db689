/*
 * test_arm_records.c -- ARM record set JSON to zone file text, against every
 * record-set example in tests/fixtures/arm (published REST examples and the
 * Go SDK recording) plus the format traps: key casing, numbers as strings,
 * escaping, malformed sets.
 */
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arm_records.h"
#include "common.h"
#include "tap.h"
#include "zone.h"

static char *read_file(const char *path)
{
	FILE *f = fopen(path, "rb");
	char *buf;
	long n;

	if (f == NULL)
		return NULL;
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
	fclose(f);
	return buf;
}

static cJSON *load_fixture(const char *rel)
{
	const char *top = getenv("top_srcdir");
	char path[1024];
	char *text;
	cJSON *j;

	snprintf(path, sizeof(path), "%s/tests/fixtures/arm/%s", top ? top : ".", rel);
	text = read_file(path);
	if (text == NULL) {
		printf("# cannot read %s\n", path);
		return NULL;
	}
	j = cJSON_Parse(text);
	free(text);
	return j;
}

/* Text of every record set in a list body {"value": [...]} or a single set. */
static int convert_body(const cJSON *body, struct arm_buf *out)
{
	const cJSON *value = cJSON_GetObjectItem(body, "value"), *rs;
	char err[256];
	int rc;

	if (value == NULL)
		return arm_records_rrset(body, out, err, sizeof(err));
	cJSON_ArrayForEach(rs, value)
	{
		rc = arm_records_rrset(rs, out, err, sizeof(err));
		if (rc < 0) {
			printf("# %s\n", err);
			return rc;
		}
	}
	return 0;
}

static void check_example(const char *file, const char *code, const char *want)
{
	char rel[256];
	cJSON *j, *body;
	struct arm_buf out = {0};

	snprintf(rel, sizeof(rel), "examples/%s", file);
	j = load_fixture(rel);
	body = cJSON_GetObjectItem(cJSON_GetObjectItem(cJSON_GetObjectItem(j, "responses"), code),
				   "body");
	if (!ok(body != NULL, "%s: fixture has a %s body", file, code)) {
		cJSON_Delete(j);
		return;
	}
	is_int(convert_body(body, &out), 0, file);
	is_str(out.p, want, file);
	arm_buf_free(&out);
	cJSON_Delete(j);
}

static const struct {
	const char *file;
	const char *code;
	const char *want;
} examples[] = {
	{"RecordSetAGet.json", "200", "recorda\t3600\tIN\tA\t1.2.3.4\n"},
	{"RecordSetAList.json", "200",
	 "recorda1\t3600\tIN\tA\t1.2.3.4\nrecorda2\t3600\tIN\tA\t5.6.7.8\n"},
	{"RecordSetAAAAGet.json", "200", "recordaaaa\t3600\tIN\tAAAA\t::1\n"},
	{"RecordSetAAAAList.json", "200",
	 "recordaaaa1\t3600\tIN\tAAAA\t::1\nrecordaaaa2\t3600\tIN\tAAAA\t::1\n"},
	{"RecordSetCNAMEGet.json", "200", "recordcname\t3600\tIN\tCNAME\tcontoso.com.\n"},
	{"RecordSetCNAMEList.json", "200", "recordcname\t3600\tIN\tCNAME\tcontoso.com.\n"},
	{"RecordSetMXGet.json", "200", "recordmx\t3600\tIN\tMX\t0 mail.privatezone1.com.\n"},
	{"RecordSetMXList.json", "200",
	 "recordmx1\t3600\tIN\tMX\t0 mail.contoso1.com.\nrecordmx2\t3600\tIN\tMX\t0 mail.contoso2.com.\n"},
	{"RecordSetPTRGet.json", "200", "1\t3600\tIN\tPTR\tlocalhost.\n"},
	{"RecordSetPTRList.json", "200", "1\t3600\tIN\tPTR\tlocalhost.\n"},
	{"RecordSetSRVGet.json", "200", "recordsrv\t3600\tIN\tSRV\t0 10 80 contoso.com.\n"},
	{"RecordSetSRVList.json", "200", "recordsrv\t3600\tIN\tSRV\t0 10 80 contoso.com.\n"},
	{"RecordSetTXTGet.json", "200", "recordtxt\t3600\tIN\tTXT\t\"string1\" \"string2\"\n"},
	{"RecordSetTXTList.json", "200", "recordtxt\t3600\tIN\tTXT\t\"string1\" \"string2\"\n"},
	{"RecordSetSOAGet.json", "200",
	 "@\t3600\tIN\tSOA\tazureprivatedns.net. azureprivatedns-hostmaster.microsoft.com. 1 3600 300 2419200 300\n"},
	{"RecordSetSOAList.json", "200",
	 "@\t3600\tIN\tSOA\tazureprivatedns.net. azureprivatedns-hostmaster.microsoft.com. 1 3600 300 2419200 300\n"},
	/* "minimumTTL" in this body, "minimumTtl" in the 201 one. */
	{"RecordSetSOAPut.json", "200",
	 "@\t3600\tIN\tSOA\tazureprivatedns.net. azureprivatedns-hostmaster.microsoft.com. 1 3600 300 2419200 300\n"},
	{"RecordSetSOAPut.json", "201",
	 "@\t3600\tIN\tSOA\tazureprivatedns.net. azureprivatedns-hostmaster.microsoft.com. 1 3600 300 2419200 300\n"},
	{"RecordSetALLList.json", "200",
	 "recorda\t3600\tIN\tA\t1.2.3.4\nrecordcname\t3600\tIN\tCNAME\tcontoso.com.\n"
	 "recordmx\t3600\tIN\tMX\t0 mail.contoso1.com.\n"},
};

/* The ALL listing recorded against production ARM (Go SDK test suite). */
static void check_go_recording(void)
{
	cJSON *j = load_fixture("recordings/TestPrivatednsTestSuite.json"), *e;
	int found = 0;

	cJSON_ArrayForEach(e, cJSON_GetObjectItem(j, "Entries"))
	{
		const char *uri = cJSON_GetObjectItem(e, "RequestUri")->valuestring;
		struct arm_buf out = {0};
		if (strstr(uri, "/ALL?") == NULL)
			continue;
		found = 1;
		is_int(convert_body(cJSON_GetObjectItem(e, "ResponseBody"), &out), 0,
		       "Go recording ALL list converts");
		is_str(out.p,
		       "@\t3600\tIN\tSOA\tazureprivatedns.net. azureprivatedns-host.microsoft.com. 1 3600 300 2419200 10\n"
		       "scenario_recordset\t3600\tIN\tA\t1.2.3.4\n",
		       "Go recording ALL list text");
		arm_buf_free(&out);
	}
	ok(found, "Go recording has an ALL listing");
	cJSON_Delete(j);
}

/* The .NET recording pages A record sets with $top=1; bodies are strings. */
static void check_net_paging_recording(void)
{
	cJSON *j = load_fixture(
		"recordings/ListRecordSetsByType_ListNextPageWithoutSuffix_ExpectNextRecordSetsRetrieved.json");
	cJSON *e;
	int pages = 0, sets = 0;

	cJSON_ArrayForEach(e, cJSON_GetObjectItem(j, "Entries"))
	{
		const cJSON *m = cJSON_GetObjectItem(e, "RequestMethod");
		const cJSON *uri = cJSON_GetObjectItem(e, "RequestUri");
		const cJSON *rb = cJSON_GetObjectItem(e, "ResponseBody");
		cJSON *body, *rs;
		if (strcmp(m->valuestring, "GET") != 0 || strstr(uri->valuestring, "/A?") == NULL)
			continue;
		body = cJSON_Parse(rb->valuestring);
		pages++;
		cJSON_ArrayForEach(rs, cJSON_GetObjectItem(body, "value"))
		{
			struct arm_buf out = {0};
			char err[256];
			uint16_t type = 0;
			is_int(arm_records_rrset(rs, &out, err, sizeof(err)), 0, ".NET page record set");
			is_int(arm_records_type(rs, &type), 0, ".NET page record type");
			is_int(type, ARM_RR_A, ".NET page record is A");
			ok(out.p != NULL && strstr(out.p, "\tIN\tA\t") != NULL, ".NET page text: %s",
			   out.p ? out.p : "(none)");
			arm_buf_free(&out);
			sets++;
		}
		cJSON_Delete(body);
	}
	ok(pages >= 3 && sets >= 2, ".NET recording: %d pages, %d record sets", pages, sets);
	cJSON_Delete(j);
}

static void check_inline(const char *json, int want_rc, const char *want, const char *name)
{
	cJSON *j = cJSON_Parse(json);
	struct arm_buf out = {0};
	char err[256] = "";
	int rc;

	if (!ok(j != NULL, "%s: test JSON parses", name))
		return;
	rc = arm_records_rrset(j, &out, err, sizeof(err));
	is_int(rc, want_rc, name);
	if (want != NULL)
		is_str(out.p, want, name);
	if (rc == FWD_EPARSE)
		ok(err[0] != '\0', "%s: error message '%s'", name, err);
	arm_buf_free(&out);
	cJSON_Delete(j);
}

static void check_traps(void)
{
	check_inline("{\"name\":\"@\",\"type\":\"Microsoft.Network/privateDnsZones/SOA\",\"properties\":"
		     "{\"ttl\":\"3600\",\"soaRecord\":{\"host\":\"h.example\",\"email\":\"e.example\","
		     "\"serialNumber\":\"7\",\"refreshTime\":\"1\",\"retryTime\":2,\"expireTime\":\"3\","
		     "\"MINIMUMTTL\":\"4\"}}}",
		     0, "@\t3600\tIN\tSOA\th.example. e.example. 7 1 2 3 4\n",
		     "numbers as strings and upper-case key");
	check_inline("{\"name\":\"x\",\"type\":\"Microsoft.Network/privateDnsZones/A\",\"properties\":"
		     "{\"TTL\":10,\"ARecords\":[{\"IPv4Address\":\"10.0.0.1\"},{\"ipv4Address\":\"10.0.0.2\"}]}}",
		     0, "x\t10\tIN\tA\t10.0.0.1\nx\t10\tIN\tA\t10.0.0.2\n", "key casing in A sets");
	check_inline("{\"name\":\"v6\",\"type\":\"Microsoft.Network/privateDnsZones/AAAA\",\"properties\":"
		     "{\"ttl\":5,\"aaaaRecords\":[{\"ipv6Address\":\"2001:DB8:0:0:0:0:0:1\"}]}}",
		     0, "v6\t5\tIN\tAAAA\t2001:db8::1\n", "AAAA written canonically");
	check_inline("{\"name\":\"e\",\"type\":\"Microsoft.Network/privateDnsZones/A\",\"properties\":"
		     "{\"ttl\":5,\"aRecords\":[]}}",
		     0, NULL, "empty A set gives no line");
	check_inline("{\"name\":\"y\",\"id\":\"/subscriptions/s/resourceGroups/r/providers/"
		     "Microsoft.Network/privateDnsZones/z.example/CNAME/y\",\"properties\":"
		     "{\"ttl\":60,\"cnameRecord\":{\"cname\":\"t.example.\"}}}",
		     0, "y\t60\tIN\tCNAME\tt.example.\n", "type from the id path");
	check_inline("{\"name\":\"*.w\",\"type\":\"Microsoft.Network/privateDnsZones/A\",\"properties\":"
		     "{\"ttl\":1,\"aRecords\":[{\"ipv4Address\":\"10.0.0.3\"}]}}",
		     0, "*.w\t1\tIN\tA\t10.0.0.3\n", "wildcard owner kept");
	check_inline("{\"name\":\"a b\",\"type\":\"Microsoft.Network/privateDnsZones/A\",\"properties\":"
		     "{\"ttl\":1,\"aRecords\":[{\"ipv4Address\":\"10.0.0.4\"}]}}",
		     0, "a\\032b\t1\tIN\tA\t10.0.0.4\n", "odd owner bytes escaped");
	check_inline("{\"name\":\"t\",\"type\":\"Microsoft.Network/privateDnsZones/TXT\",\"properties\":"
		     "{\"ttl\":1,\"txtRecords\":[{\"value\":[\"say \\\"hi\\\" \\\\ \\u00e9\"]},{\"value\":[]}]}}",
		     0, "t\t1\tIN\tTXT\t\"say \\\"hi\\\" \\\\ \\195\\169\"\nt\t1\tIN\tTXT\t\"\"\n",
		     "TXT quoting, escapes and empty value");
	check_inline("{\"name\":\"srv\",\"type\":\"Microsoft.Network/privateDnsZones/SRV\",\"properties\":"
		     "{\"ttl\":1,\"srvRecords\":[{\"priority\":\"1\",\"weight\":\"2\",\"port\":\"443\",\"target\":\".\"}]}}",
		     0, "srv\t1\tIN\tSRV\t1 2 443 .\n", "SRV numbers as strings, root target");
	check_inline("{\"name\":\"x\",\"type\":\"Microsoft.Network/privateDnsZones/NS\",\"properties\":"
		     "{\"ttl\":1}}",
		     FWD_ENOENT, NULL, "unsupported type is skipped");
	check_inline("{\"name\":\"x\",\"type\":\"Microsoft.Network/privateDnsZones/A\",\"properties\":"
		     "{\"ttl\":1,\"aRecords\":[{\"ipv4Address\":\"10.0.0.256\"}]}}",
		     FWD_EPARSE, NULL, "bad IPv4 address");
	check_inline("{\"name\":\"x\",\"type\":\"Microsoft.Network/privateDnsZones/A\",\"properties\":"
		     "{\"aRecords\":[{\"ipv4Address\":\"10.0.0.1\"}]}}",
		     FWD_EPARSE, NULL, "missing ttl");
	check_inline("{\"name\":\"x\",\"type\":\"Microsoft.Network/privateDnsZones/A\",\"properties\":"
		     "{\"ttl\":-5,\"aRecords\":[]}}",
		     FWD_EPARSE, NULL, "negative ttl");
	check_inline("{\"name\":\"x\",\"type\":\"Microsoft.Network/privateDnsZones/A\",\"properties\":"
		     "{\"ttl\":\"12abc\",\"aRecords\":[]}}",
		     FWD_EPARSE, NULL, "ttl string with junk");
	check_inline("{\"name\":\"x\",\"type\":\"Microsoft.Network/privateDnsZones/A\",\"properties\":"
		     "{\"ttl\":1.5,\"aRecords\":[]}}",
		     FWD_EPARSE, NULL, "fractional ttl");
	check_inline("{\"name\":\"x\",\"type\":\"Microsoft.Network/privateDnsZones/MX\",\"properties\":"
		     "{\"ttl\":1,\"mxRecords\":{\"preference\":1}}}",
		     FWD_EPARSE, NULL, "mxRecords not an array");
	check_inline("{\"name\":\"x\",\"type\":\"Microsoft.Network/privateDnsZones/MX\",\"properties\":"
		     "{\"ttl\":1,\"mxRecords\":[{\"preference\":70000,\"exchange\":\"m.example\"}]}}",
		     FWD_EPARSE, NULL, "MX preference out of range");
	check_inline("{\"name\":\"x\",\"type\":\"Microsoft.Network/privateDnsZones/CNAME\",\"properties\":"
		     "{\"ttl\":1,\"cnameRecord\":{\"cname\":\"a..b\"}}}",
		     FWD_EPARSE, NULL, "CNAME target with an empty label");
	check_inline("{\"name\":\"sub\",\"type\":\"Microsoft.Network/privateDnsZones/SOA\",\"properties\":"
		     "{\"ttl\":1,\"soaRecord\":{\"host\":\"h\",\"email\":\"e\",\"serialNumber\":1,"
		     "\"refreshTime\":1,\"retryTime\":1,\"expireTime\":1,\"minimumTtl\":1}}}",
		     FWD_EPARSE, NULL, "SOA away from the apex");
	check_inline("{\"name\":\"x\",\"properties\":{\"ttl\":1}}", FWD_EPARSE, NULL,
		     "no type and no id");
	check_inline("[1,2]", FWD_EPARSE, NULL, "record set is not an object");
	check_inline("{\"name\":\"x\",\"type\":\"Microsoft.Network/privateDnsZones/A\"}", FWD_EPARSE,
		     NULL, "no properties");
}

static void check_long_txt(void)
{
	char json[1200], want[1200];
	char val[601];
	struct arm_buf out = {0};
	char err[128];
	cJSON *j;

	memset(val, 'a', 600);
	val[600] = '\0';
	snprintf(json, sizeof(json),
		 "{\"name\":\"l\",\"type\":\"Microsoft.Network/privateDnsZones/TXT\",\"properties\":"
		 "{\"ttl\":1,\"txtRecords\":[{\"value\":[\"%s\"]}]}}",
		 val);
	snprintf(want, sizeof(want), "l\t1\tIN\tTXT\t\"%.255s\" \"%.255s\" \"%.90s\"\n", val, val, val);
	j = cJSON_Parse(json);
	is_int(arm_records_rrset(j, &out, err, sizeof(err)), 0, "600-byte TXT value");
	is_str(out.p, want, "600-byte TXT value split into 255-byte strings");
	arm_buf_free(&out);
	cJSON_Delete(j);
}

/* The text we produce must be what the zone compiler accepts. */
static void check_zone_loads(void)
{
	struct arm_buf text = {0};
	char err[256] = "";
	struct zone *z;

	arm_buf_puts(&text, "$ORIGIN privatezone1.com.\n");
	arm_records_soa_default(&text);
	for (size_t i = 0; i < FWD_ARRAY_LEN(examples); i++) {
		if (strstr(examples[i].file, "List") && !strstr(examples[i].file, "SOA") &&
		    !strstr(examples[i].file, "ALL"))
			arm_buf_puts(&text, examples[i].want);
	}
	z = zone_load_text("privatezone1.com", text.p, "test", err, sizeof(err));
	if (!ok(z != NULL, "converted examples load as a zone"))
		printf("# %s\n", err);
	if (z != NULL) {
		/* SOA + 2 A + 2 AAAA + CNAME + 2 MX + PTR + SRV + TXT */
		is_int(zone_rr_count(z), 11, "every converted record loaded");
		is_int(zone_serial(z), 1, "default SOA serial");
		zone_unref(z);
	}
	arm_buf_free(&text);
}

static void add_json(struct arm_rrsets *z, const char *json)
{
	cJSON *j = cJSON_Parse(json);
	char err[128];

	if (arm_rrsets_add(z, j, err, sizeof(err)) != 0)
		printf("# add failed: %s\n", err);
	cJSON_Delete(j);
}

#define SET(name, type, payload)                                                             \
	"{\"name\":\"" name "\",\"type\":\"Microsoft.Network/privateDnsZones/" type "\","  \
	"\"properties\":{\"ttl\":60," payload "}}"

/* The merge rule for one zone found in two subscriptions. */
static void check_merge(void)
{
	struct arm_rrsets a = {.source = "sub-a"}, b = {.source = "sub-b"};
	const struct arm_rrsets *sets[2] = {&a, &b};
	struct arm_buf out = {0};

	add_json(&a, SET("www", "A", "\"aRecords\":[{\"ipv4Address\":\"10.0.0.1\"}]"));
	add_json(&a, SET("alias", "CNAME", "\"cnameRecord\":{\"cname\":\"www.example\"}"));
	add_json(&a, SET("mail", "MX", "\"mxRecords\":[{\"preference\":1,\"exchange\":\"m.example\"}]"));
	add_json(&b, SET("@", "SOA", "\"soaRecord\":{\"host\":\"b.example\",\"email\":\"e.example\","
				 "\"serialNumber\":9,\"refreshTime\":1,\"retryTime\":1,\"expireTime\":1,"
				 "\"minimumTtl\":1}"));
	add_json(&b, SET("www", "A", "\"aRecords\":[{\"ipv4Address\":\"10.0.0.2\"}]"));
	add_json(&b, SET("www", "AAAA", "\"aaaaRecords\":[{\"ipv6Address\":\"fd00::2\"}]"));
	add_json(&b, SET("alias", "TXT", "\"txtRecords\":[{\"value\":[\"x\"]}]"));
	add_json(&b, SET("mail", "CNAME", "\"cnameRecord\":{\"cname\":\"x.example\"}"));
	add_json(&b, SET("only-b", "A", "\"aRecords\":[{\"ipv4Address\":\"10.0.0.3\"}]"));
	is_int((long long)a.nsets + (long long)b.nsets, 9, "nine record sets converted");
	is_int(arm_records_zone_text("merge.example", sets, 2, &out), 0, "merged zone text");
	is_str(out.p,
	       "$ORIGIN merge.example.\n"
	       "; arm-id sub-b/SOA/@\n"
	       "@\t60\tIN\tSOA\tb.example. e.example. 9 1 1 1 1\n"
	       "; arm-id sub-a/A/www\n"
	       "www\t60\tIN\tA\t10.0.0.1\n"
	       "; arm-id sub-a/CNAME/alias\n"
	       "alias\t60\tIN\tCNAME\twww.example.\n"
	       "; arm-id sub-a/MX/mail\n"
	       "mail\t60\tIN\tMX\t1 m.example.\n"
	       "; arm-id sub-b/AAAA/www\n"
	       "www\t60\tIN\tAAAA\tfd00::2\n"
	       "; arm-id sub-b/A/only-b\n"
	       "only-b\t60\tIN\tA\t10.0.0.3\n",
	       "first source wins per owner and type; CNAME never joins other data; SOA from the "
	       "first source that has one; each set keeps its own arm-id comment");
	is_int(arm_records_count_sets(out.p, out.len), 6, "six record sets served (arm-id lines)");
	{
		char err[256];
		struct zone *z = zone_load_text("merge.example", out.p, "merge", err, sizeof(err));
		if (!ok(z != NULL, "merged text with arm-id comments loads as a zone"))
			printf("# %s\n", err);
		if (z != NULL) {
			is_int(zone_rr_count(z), 6, "comments add no records");
			zone_unref(z);
		}
	}
	arm_buf_free(&out);
	arm_rrsets_free(&a);
	arm_rrsets_free(&b);

	/* The record set's own id when ARM gives one; never a line break from it. */
	{
		struct arm_rrsets d = {.source = "/subscriptions/s/resourceGroups/rg/providers/"
						 "Microsoft.Network/privateDnsZones/id.example"};
		const struct arm_rrsets *one[1] = {&d};
		add_json(&d, "{\"id\":\"/subscriptions/s/resourceGroups/RG/providers/Microsoft.Network/"
			     "privateDnsZones/id.example/A/web\",\"name\":\"web\",\"type\":"
			     "\"Microsoft.Network/privateDnsZones/A\",\"properties\":{\"ttl\":5,"
			     "\"aRecords\":[{\"ipv4Address\":\"10.9.0.1\"}]}}");
		add_json(&d, "{\"id\":\"/x/A/evil\\nevil 1 IN A 10.6.6.6\",\"name\":\"evil\",\"type\":"
			     "\"Microsoft.Network/privateDnsZones/A\",\"properties\":{\"ttl\":5,"
			     "\"aRecords\":[{\"ipv4Address\":\"10.9.0.2\"}]}}");
		add_json(&d, SET("empty", "A", "\"aRecords\":[]"));
		add_json(&d, SET("noid", "TXT", "\"txtRecords\":[{\"value\":[\"t\"]}]"));
		is_int((long long)d.nsets, 4, "four record sets converted, one of them empty");
		is_str(d.text.p,
		       "; arm-id @/A/web\n"
		       "web\t5\tIN\tA\t10.9.0.1\n"
		       "; arm-id /x/A/evil?evil 1 IN A 10.6.6.6\n"
		       "evil\t5\tIN\tA\t10.9.0.2\n"
		       "; arm-id @/TXT/noid\n"
		       "noid\t60\tIN\tTXT\t\"t\"\n",
		       "arm-id while listing: short when under the zone's id, control bytes as '?', "
		       "type + name without an id, no comment for an empty set");
		is_int(arm_records_zone_text("id.example", one, 1, &out), 0, "zone text with ids");
		ok(out.p && strstr(out.p, "\n; arm-id /subscriptions/s/resourceGroups/rg/providers/"
					  "Microsoft.Network/privateDnsZones/id.example/A/web\nweb\t")
				!= NULL &&
			   strstr(out.p, "\n; arm-id /subscriptions/s/resourceGroups/rg/providers/"
					 "Microsoft.Network/privateDnsZones/id.example/TXT/noid\nnoid\t") != NULL &&
			   strstr(out.p, "\n; arm-id /x/A/evil?evil 1 IN A 10.6.6.6\nevil\t") != NULL,
		   "zone text: every id in full");
		is_int(arm_records_count_sets(out.p, out.len), 4, "3 sets and the synthesized SOA");
		ok(out.p && strstr(out.p, "; arm-id (none: no SOA record set in ARM") != NULL,
		   "the synthesized SOA says it has no ARM record set");
		{
			char err[256];
			struct zone *z = zone_load_text("id.example", out.p, "ids", err, sizeof(err));
			ok(z != NULL && zone_rr_count(z) == 4, "an id with a newline injects no record");
			if (z != NULL)
				zone_unref(z);
		}
		arm_buf_free(&out);
		arm_rrsets_free(&d);
	}

	/* No SOA anywhere: Azure's defaults. */
	{
		struct arm_rrsets c = {.source = "c"};
		const struct arm_rrsets *one[1] = {&c};
		add_json(&c, SET("h", "A", "\"aRecords\":[{\"ipv4Address\":\"10.0.0.9\"}]"));
		is_int(arm_records_zone_text("nosoa.example", one, 1, &out), 0, "zone without SOA");
		ok(out.p && strstr(out.p, "IN\tSOA\tazureprivatedns.net. azureprivatedns-host.microsoft.com. 1 3600 300 2419200 10\n"),
		   "synthesized SOA");
		arm_buf_free(&out);
		arm_rrsets_free(&c);
	}
}

int main(void)
{
	for (size_t i = 0; i < FWD_ARRAY_LEN(examples); i++)
		check_example(examples[i].file, examples[i].code, examples[i].want);
	check_go_recording();
	check_net_paging_recording();
	check_traps();
	check_long_txt();
	check_zone_loads();
	check_merge();
	return tap_done();
}
