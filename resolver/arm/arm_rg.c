/*
 * arm_rg.c -- Resource Graph request bodies and answer pages (see arm_rg.h).
 */
#include "arm_rg.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arm_config.h"
#include "common.h"

void arm_rg_page_free(struct arm_rg_page *page)
{
	cJSON_Delete(page->root);
	free(page->skip_token);
	memset(page, 0, sizeof(*page));
}

static int64_t num_or(const cJSON *o, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);

	return cJSON_IsNumber(v) && v->valuedouble >= 0 && v->valuedouble < 9e15 ? (int64_t)v->valuedouble : -1;
}

int arm_rg_page_parse(const char *body, size_t len, struct arm_rg_page *page, char *err, size_t errlen)
{
	const cJSON *data, *row, *tr, *tok;

	memset(page, 0, sizeof(*page));
	page->root = cJSON_ParseWithLength(body, len);
	data = cJSON_GetObjectItemCaseSensitive(page->root, "data");
	if (page->root == NULL || !cJSON_IsObject(page->root)) {
		fwd_errf(err, errlen, "malformed JSON from Resource Graph (%zu bytes)", len);
		goto bad;
	}
	if (!cJSON_IsArray(data)) {
		fwd_errf(err, errlen, "Resource Graph answer without a data array (%s)",
			 cJSON_IsObject(data) ? "table format" : "no data");
		goto bad;
	}
	cJSON_ArrayForEach(row, data)
		if (!cJSON_IsObject(row)) {
			fwd_errf(err, errlen, "Resource Graph row that is not an object");
			goto bad;
		}
	tr = cJSON_GetObjectItemCaseSensitive(page->root, "resultTruncated");
	/* a string in the spec; a JSON true is taken the same way */
	if (cJSON_IsTrue(tr) || (cJSON_IsString(tr) && strcmp(tr->valuestring, "true") == 0)) {
		fwd_errf(err, errlen, "Resource Graph truncated the result (no id projected, or over its limit)");
		goto bad;
	}
	page->rows = data;
	page->total = num_or(page->root, "totalRecords");
	page->count = num_or(page->root, "count");
	tok = cJSON_GetObjectItemCaseSensitive(page->root, "$skipToken");
	if (cJSON_IsString(tok) && tok->valuestring[0] != '\0' &&
	    (page->skip_token = strdup(tok->valuestring)) == NULL) {
		arm_rg_page_free(page);
		fwd_errf(err, errlen, "out of memory");
		return FWD_ENOMEM;
	}
	return 0;
bad:
	arm_rg_page_free(page);
	return FWD_EPARSE;
}

char *arm_rg_request_body(const struct arm_cfg *ac, const char *query, int top, const char *skip_token)
{
	cJSON *o = cJSON_CreateObject(), *opt, *arr;
	char *q = NULL, *out = NULL;
	size_t len = strlen(query) + 64;

	if (o == NULL)
		return NULL;
	if (ac->nsubscriptions > 0 || ac->nmanagement_groups > 0) {
		int subs = ac->nsubscriptions > 0;
		arr = cJSON_AddArrayToObject(o, subs ? "subscriptions" : "managementGroups");
		for (size_t i = 0; arr != NULL && i < (subs ? ac->nsubscriptions : ac->nmanagement_groups); i++)
			cJSON_AddItemToArray(arr, cJSON_CreateString(subs ? ac->subscriptions[i]
									     : ac->management_groups[i]));
	}
	/* resource-group: narrows the query itself (names: letters, digits
	 * and -_.() only, checked by the parser, so no quoting issue) */
	for (size_t i = 0; i < ac->nresource_groups; i++)
		len += strlen(ac->resource_groups[i]) + 4;
	q = malloc(len + 64);
	if (q != NULL) {
		size_t n = (size_t)snprintf(q, len + 64, "%s", query);
		if (ac->nresource_groups > 0) {
			/* insert the filter before the project */
			char *proj = strstr(q, "| project ");
			char tail[512];
			if (proj != NULL && strlen(proj) < sizeof(tail)) {
				snprintf(tail, sizeof(tail), "%s", proj);
				n = (size_t)(proj - q);
				n += (size_t)snprintf(q + n, len + 64 - n, "| where resourceGroup in~ (");
				for (size_t i = 0; i < ac->nresource_groups; i++)
					n += (size_t)snprintf(q + n, len + 64 - n, "%s'%s'", i ? ", " : "",
							      ac->resource_groups[i]);
				n += (size_t)snprintf(q + n, len + 64 - n, ") %s", tail);
			}
		}
		cJSON_AddStringToObject(o, "query", q);
	}
	opt = cJSON_AddObjectToObject(o, "options");
	cJSON_AddNumberToObject(opt, "$top", top);
	cJSON_AddStringToObject(opt, "resultFormat", "objectArray");
	if (skip_token != NULL)
		cJSON_AddStringToObject(opt, "$skipToken", skip_token);
	if (q != NULL)
		out = cJSON_PrintUnformatted(o);
	free(q);
	cJSON_Delete(o);
	return out;
}

int64_t arm_rg_duration_ms(const char *text)
{
	long d = 0, h, m;
	double sec;
	char extra;

	if (text == NULL)
		return -1;
	if (sscanf(text, "%ld.%ld:%ld:%lf%c", &d, &h, &m, &sec, &extra) == 4) {
		/* d.hh:mm:ss */
	} else if (d = 0, sscanf(text, "%ld:%ld:%lf%c", &h, &m, &sec, &extra) != 3) {
		return -1;
	}
	if (d < 0 || h < 0 || m < 0 || m > 59 || sec < 0 || sec >= 60 || d > 365 || h > 23)
		return -1;
	return (((int64_t)d * 24 + h) * 60 + m) * 60000 + (int64_t)(sec * 1000);
}
