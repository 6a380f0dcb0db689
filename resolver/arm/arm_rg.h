/*
 * arm_rg.h -- Azure Resource Graph queries: the request body, one page of
 * the answer, and the throttling headers.
 *
 * Resource Graph is one POST per page,
 *   POST {arm}/providers/Microsoft.ResourceGraph/resources?api-version=V
 *   {"subscriptions"|"managementGroups": [...], "query": "...",
 *    "options": {"$top": N, "resultFormat": "objectArray", "$skipToken": T}}
 * answered with {"totalRecords", "count", "resultTruncated": "true"|"false",
 * "data": [rows], "$skipToken"?}.  There is no nextLink: the token goes
 * back in the next body with the same query and scope.  The query must
 * project id or no token comes back; resultTruncated is a string; result
 * types are lower-cased (resourcegraph-schema.md §3, §5).
 *
 * Bad input policy: a body that is not JSON, whose data is not an array of
 * objects (the table format, which we never ask for, included), or that
 * says resultTruncated "true" fails the page: a truncated answer is an
 * incomplete listing, and only complete listings are served.
 *
 * No logging, no global state (the fuzz target and the unit test call it).
 */
#ifndef PLINKFWD_ARM_RG_H
#define PLINKFWD_ARM_RG_H

#include <stddef.h>
#include <stdint.h>

struct cJSON;
struct arm_cfg;

/* The queries (our own, in the spec examples' form; they project id). */
#define ARM_RG_QUERY_ZONES \
	"resources | where type =~ 'microsoft.network/privatednszones' | project id, name, " \
	"resourceGroup, subscriptionId, properties"
#define ARM_RG_QUERY_ENDPOINTS \
	"resources | where type =~ 'microsoft.network/privateendpoints' | project id, name, " \
	"resourceGroup, subscriptionId, properties"
#define ARM_RG_QUERY_RECORDS \
	"dnsresources | where type startswith 'microsoft.network/privatednszones/' | project id, " \
	"name, type, properties"

/* One page; owns root, rows point into it. */
struct arm_rg_page {
	struct cJSON *root;
	const struct cJSON *rows;  /* the data array */
	char *skip_token;          /* the next page's token (owned), NULL on the last page */
	int64_t total;             /* totalRecords, -1 when absent */
	int64_t count;             /* count, -1 when absent */
};

/* 0, or FWD_EPARSE with a message in err (page is empty then), or
 * FWD_ENOMEM. */
int arm_rg_page_parse(const char *body, size_t len, struct arm_rg_page *page, char *err, size_t errlen);
void arm_rg_page_free(struct arm_rg_page *page);

/*
 * The body of a query (NUL-terminated, the caller frees it): scope from
 * ac (subscription:, else management-group:, else none = the tenant), the
 * query, with resource-group: as a filter on resourceGroup, $top and the
 * token (NULL on the first page).  NULL when out of memory.
 */
char *arm_rg_request_body(const struct arm_cfg *ac, const char *query, int top, const char *skip_token);

/* "hh:mm:ss" (x-ms-user-quota-resets-after; days as "d.hh:mm:ss" too) in
 * milliseconds, or -1 when it is not that. */
int64_t arm_rg_duration_ms(const char *text);

#endif
