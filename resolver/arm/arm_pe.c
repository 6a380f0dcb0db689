/*
 * arm_pe.c -- private endpoint listing pages to endpoints (see arm_pe.h).
 */
#include "arm_pe.h"

#include <arpa/inet.h>
#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "arm_records.h"
#include "common.h"

static const struct {
	const char *label, *text, *status;
} pe_states[ARM_PE_NSTATES] = {
	[ARM_PE_APPROVED] = {"approved", "Approved", "Approved"},
	[ARM_PE_PENDING] = {"pending", "Pending approval", "Pending"},
	[ARM_PE_REJECTED] = {"rejected", "Rejected", "Rejected"},
	[ARM_PE_DISCONNECTED] = {"disconnected", "Disconnected", "Disconnected"},
	[ARM_PE_OTHER] = {"other", "not Approved", NULL},
};

const char *arm_pe_state_label(enum arm_pe_state st)
{
	return st < ARM_PE_NSTATES ? pe_states[st].label : "other";
}

const char *arm_pe_state_text(enum arm_pe_state st)
{
	return st < ARM_PE_NSTATES ? pe_states[st].text : "not Approved";
}

static enum arm_pe_state pe_state_of(const char *status)
{
	for (int i = 0; i < ARM_PE_NSTATES; i++)
		if (pe_states[i].status != NULL && strcasecmp(status, pe_states[i].status) == 0)
			return (enum arm_pe_state)i;
	return ARM_PE_OTHER;
}

static void pe_free(struct arm_pe *p)
{
	free(p->id);
	free(p->name);
	free(p->sub);
	free(p->rg);
	free(p->status);
	for (size_t i = 0; i < p->ndns; i++) {
		free(p->dns[i].fqdn);
		for (size_t k = 0; k < p->dns[i].naddrs; k++)
			free(p->dns[i].addrs[k]);
		free(p->dns[i].addrs);
	}
	free(p->dns);
	memset(p, 0, sizeof(*p));
}

void arm_pe_list_free(struct arm_pe_list *list)
{
	for (size_t i = 0; i < list->n; i++)
		pe_free(&list->v[i]);
	free(list->v);
	memset(list, 0, sizeof(*list));
}

/* The connection state of p from its two connection arrays (see arm_pe.h
 * for the rule).  0 or FWD_ENOMEM. */
static int pe_connections(struct arm_pe *p, const cJSON *props)
{
	static const char *const keys[2] = {"privateLinkServiceConnections",
					    "manualPrivateLinkServiceConnections"};
	int seen = 0;

	p->state = ARM_PE_OTHER;
	for (int m = 0; m < 2; m++) {
		const cJSON *arr = cJSON_GetObjectItem(props, keys[m]), *c;
		if (!cJSON_IsArray(arr))
			continue;
		cJSON_ArrayForEach(c, arr)
		{
			const cJSON *cp = cJSON_GetObjectItem(c, "properties");
			const cJSON *cs = cJSON_GetObjectItem(cp, "privateLinkServiceConnectionState");
			const cJSON *st = cJSON_GetObjectItem(cs, "status");
			const char *text = cJSON_IsString(st) ? st->valuestring : "";
			enum arm_pe_state s = pe_state_of(text);
			if (seen && (p->state != ARM_PE_APPROVED || s == ARM_PE_APPROVED))
				continue; /* the first connection that is not Approved decides */
			seen = 1;
			p->state = s;
			p->manual = m;
			free(p->status);
			p->status = strdup(text);
			if (p->status == NULL)
				return FWD_ENOMEM;
		}
	}
	if (!seen && (p->status = strdup("")) == NULL)
		return FWD_ENOMEM;
	return 0;
}

/* An IP literal, IPv4 or IPv6. */
static int addr_ok(const char *s)
{
	unsigned char buf[16];

	return inet_pton(AF_INET, s, buf) == 1 || inet_pton(AF_INET6, s, buf) == 1;
}

/* One customDnsConfigs entry into p->dns (dropped and counted when
 * unusable).  0 or FWD_ENOMEM. */
static int pe_dns_add(struct arm_pe_list *list, struct arm_pe *p, const cJSON *cfg)
{
	const cJSON *f = cJSON_GetObjectItem(cfg, "fqdn");
	const cJSON *ips = cJSON_GetObjectItem(cfg, "ipAddresses"), *ip;
	struct arm_pe_dns *d;
	char name[256];
	size_t n;

	if (!cJSON_IsString(f) || (n = strlen(f->valuestring)) == 0 || n >= sizeof(name)) {
		list->bad_fqdns++;
		return 0;
	}
	for (size_t i = 0; i <= n; i++) {
		char c = f->valuestring[i];
		name[i] = (char)(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
	}
	if (n > 1 && name[n - 1] == '.')
		name[--n] = '\0';
	if (!arm_records_zone_name_ok(name) || !cJSON_IsArray(ips)) {
		list->bad_fqdns++;
		return 0;
	}
	d = realloc(p->dns, (p->ndns + 1) * sizeof(*p->dns));
	if (d == NULL)
		return FWD_ENOMEM;
	p->dns = d;
	d = &p->dns[p->ndns];
	memset(d, 0, sizeof(*d));
	if ((d->fqdn = strdup(name)) == NULL)
		return FWD_ENOMEM;
	p->ndns++;
	cJSON_ArrayForEach(ip, ips)
	{
		char **na;
		if (!cJSON_IsString(ip) || !addr_ok(ip->valuestring)) {
			list->bad_addrs++;
			continue;
		}
		na = realloc(d->addrs, (d->naddrs + 1) * sizeof(*na));
		if (na == NULL)
			return FWD_ENOMEM;
		d->addrs = na;
		if ((d->addrs[d->naddrs] = strdup(ip->valuestring)) == NULL)
			return FWD_ENOMEM;
		d->naddrs++;
	}
	return 0;
}

/* A copy of id's "/key/<value>" part, lower-case, or "". */
static char *pe_id_part(const char *id, const char *key)
{
	char buf[256];

	if (arm_records_id_part(id, key, buf, sizeof(buf)) < 0)
		buf[0] = '\0';
	return strdup(buf);
}

static int pe_add(struct arm_pe_list *list, const cJSON *item, char *err, size_t errlen)
{
	const cJSON *id = cJSON_GetObjectItem(item, "id");
	const cJSON *nm = cJSON_GetObjectItem(item, "name");
	const cJSON *props = cJSON_GetObjectItem(item, "properties"), *cfgs, *c;
	struct arm_pe *p;

	if (!cJSON_IsString(id) || id->valuestring[0] == '\0') {
		fwd_errf(err, errlen, "private endpoint entry without an id");
		return FWD_EPARSE;
	}
	if (list->n == list->cap) {
		size_t cap = list->cap ? list->cap * 2 : 16;
		struct arm_pe *nv = realloc(list->v, cap * sizeof(*nv));
		if (nv == NULL)
			return FWD_ENOMEM;
		list->v = nv;
		list->cap = cap;
	}
	p = &list->v[list->n];
	memset(p, 0, sizeof(*p));
	list->n++;
	p->id = strdup(id->valuestring);
	if (cJSON_IsString(nm) && nm->valuestring[0] != '\0') {
		p->name = strdup(nm->valuestring);
	} else {
		const char *slash = strrchr(id->valuestring, '/');
		p->name = strdup(slash ? slash + 1 : id->valuestring);
	}
	p->sub = pe_id_part(id->valuestring, "subscriptions");
	p->rg = pe_id_part(id->valuestring, "resourceGroups");
	if (p->id == NULL || p->name == NULL || p->sub == NULL || p->rg == NULL)
		return FWD_ENOMEM;
	if (pe_connections(p, props) < 0)
		return FWD_ENOMEM;
	cfgs = cJSON_GetObjectItem(props, "customDnsConfigs");
	if (!cJSON_IsArray(cfgs))
		return 0; /* no DNS data: nothing to serve, still counted by state */
	cJSON_ArrayForEach(c, cfgs)
		if (pe_dns_add(list, p, c) < 0)
			return FWD_ENOMEM;
	return 0;
}

int arm_pe_rows_add(struct arm_pe_list *list, const struct cJSON *rows, char *err, size_t errlen)
{
	const cJSON *item;
	int rc = 0;

	cJSON_ArrayForEach(item, rows)
	{
		rc = pe_add(list, item, err, errlen);
		if (rc < 0)
			break;
	}
	if (rc == FWD_ENOMEM)
		fwd_errf(err, errlen, "out of memory");
	return rc;
}

int arm_pe_page_parse(const char *body, size_t len, struct arm_pe_list *list, char **next, char *err,
		      size_t errlen)
{
	cJSON *root = cJSON_ParseWithLength(body, len);
	const cJSON *value = cJSON_GetObjectItemCaseSensitive(root, "value");
	const cJSON *nl = cJSON_GetObjectItemCaseSensitive(root, "nextLink");
	int rc = 0;

	*next = NULL;
	if (root == NULL || !cJSON_IsArray(value)) {
		fwd_errf(err, errlen, "malformed JSON from ARM (%zu bytes)", len);
		cJSON_Delete(root);
		return FWD_EPARSE;
	}
	rc = arm_pe_rows_add(list, value, err, errlen);
	if (rc == 0 && cJSON_IsString(nl) && nl->valuestring[0] != '\0' &&
	    (*next = strdup(nl->valuestring)) == NULL)
		rc = FWD_ENOMEM;
	if (rc == FWD_ENOMEM)
		fwd_errf(err, errlen, "out of memory");
	cJSON_Delete(root);
	return rc;
}

void arm_pe_list_drop(struct arm_pe_list *list, int (*drop)(void *arg, const struct arm_pe *pe), void *arg)
{
	size_t kept = 0;

	for (size_t i = 0; i < list->n; i++) {
		if (drop(arg, &list->v[i]))
			pe_free(&list->v[i]);
		else
			list->v[kept++] = list->v[i];
	}
	list->n = kept;
}
