/*
 * arm_config.h -- the "arm:" clause of the configuration.
 *
 * config.c owns the file reading and calls these for every key inside an
 * "arm:" clause, so that everything about ARM stays in the arm_* files.
 *
 * Every key is a row of the schema table (schema.h): arm_cfg_new() applies
 * the defaults from it, arm_cfg_set() parses a key through it.  The struct
 * is filled by arm_cfg_set(), checked by arm_cfg_finish() and is read-only
 * afterwards; it owns every string and array it points to and
 * arm_cfg_free() releases them.  Endpoints left NULL are resolved from the
 * cloud (arm-cloud: here, else server: cloud) by arm_sync_new(), which
 * copies what it needs, so the cfg may be freed while a sync runs.
 * Every key is documented in docs/arm-sync.md.
 */
#ifndef PLINKFWD_ARM_CONFIG_H
#define PLINKFWD_ARM_CONFIG_H

#include <stddef.h>
#include <stdint.h>

#include "common.h"

struct cfg_xfr_acl; /* config.h */
struct cfg_notify;

enum arm_auth_kind {
	ARM_AUTH_MANAGED_IDENTITY = 1, /* IMDS, system- or user-assigned (client-id) */
	ARM_AUTH_CLIENT_SECRET,        /* Entra v2 client credentials */
	ARM_AUTH_WORKLOAD_IDENTITY     /* Entra v2 with a federated token file */
};

enum arm_discovery {
	ARM_DISCOVERY_SUBSCRIPTIONS = 1, /* one list per subscription (or resource group) */
	ARM_DISCOVERY_RESOURCE_GRAPH     /* one paged Azure Resource Graph query */
};

enum arm_records_from {
	ARM_RECORDS_FROM_ZONES = 1,      /* list each zone's record sets from ARM */
	ARM_RECORDS_FROM_RESOURCE_GRAPH  /* Resource Graph's dnsresources, checked per zone */
};

/* One "zone-fallback: PATTERN public|none" line. */
struct arm_cfg_fallback {
	char *pattern;   /* lower-case glob, no trailing dot */
	int fallback_public;
};

struct arm_cfg {
	int cloud;                   /* enum cfg_cloud, or -1 = take server: cloud */
	char *arm_endpoint;          /* NULL = cloud default; no trailing slash */
	char *login_endpoint;        /* NULL = cloud default (or AZURE_AUTHORITY_HOST) */
	char *imds_endpoint;         /* NULL = http://169.254.169.254; no trailing slash */
	char *audience;              /* NULL = cloud default ARM audience */
	char *api_version;           /* default "2024-06-01" */
	enum arm_auth_kind auth;     /* default managed identity */
	char *client_id;             /* may be NULL */
	char *tenant_id;             /* may be NULL */
	char *client_secret_file;    /* path; the secret itself never appears here */
	char *client_secret_env;     /* name of an environment variable */
	char *federated_token_file;  /* NULL = $AZURE_FEDERATED_TOKEN_FILE */
	char **subscriptions;        /* at least one after finish; config order = merge priority */
	size_t nsubscriptions;
	char **resource_groups;      /* empty = whole subscriptions; lower-case */
	size_t nresource_groups;
	char **zone_filters;         /* lower-case globs; empty = every zone */
	size_t nzone_filters;
	struct arm_cfg_fallback *fallbacks; /* first matching pattern wins */
	size_t nfallbacks;
	int fallback_public;         /* default for synced zones (fallback:), 0 = none */
	int interval_s;              /* default 60 */
	int timeout_s;               /* per HTTP request, default 30 */
	int max_inflight;            /* HTTP requests at once, default 4 */
	int max_retries;             /* per request on 429/5xx/timeout, default 4 */
	int page_size;               /* $top for record-set lists, default 1000 */
	char *ca_file;               /* NULL = system CA store */
	int private_endpoints;       /* serve private endpoints' customDnsConfigs, default no */
	char **endpoint_zones;       /* lower-case, for FQDNs the catalogue does not cover */
	size_t nendpoint_zones;
	int endpoint_ttl;            /* TTL of endpoint records, default 10 */
	char *pe_api_version;        /* Microsoft.Network API version, default "2026-01-01" */
	int discovery;               /* enum arm_discovery, default subscriptions */
	char **management_groups;    /* resource-graph scope instead of subscriptions */
	size_t nmanagement_groups;
	int records_from;            /* enum arm_records_from, default zones */
	char *rg_api_version;        /* Microsoft.ResourceGraph API version, default "2024-04-01" */
	struct cfg_xfr_acl *allow_transfer; /* who may transfer the synced zones (config.h) */
	size_t nallow_transfer;
	struct cfg_notify *notify;   /* secondaries told of each published version */
	size_t nnotify;
	int cur_line;                /* the line config.c is parsing: the lists above keep it */
	uint64_t given;              /* keys given in the file (bit: the key's index among the arm:
				      * rows of the schema): a single-valued key is given once */
};

/* A new arm_cfg with defaults; NULL on allocation failure. */
struct arm_cfg *arm_cfg_new(void);
/*
 * Apply one "key: value" line of the arm: clause.  Returns FWD_OK, or
 * FWD_EPARSE (FWD_ENOMEM) with a message (without file:line, config.c adds
 * that) in err.
 */
enum fwd_err arm_cfg_set(struct arm_cfg *ac, const char *key, const char *value, char *err, size_t errlen);
/* Check the finished clause (required keys present): FWD_OK, or FWD_EPARSE
 * with err. */
enum fwd_err arm_cfg_finish(struct arm_cfg *ac, char *err, size_t errlen);
void arm_cfg_free(struct arm_cfg *ac);
/* A deep copy (arm_sync keeps one so the config may be freed); NULL on
 * allocation failure. */
struct arm_cfg *arm_cfg_dup(const struct arm_cfg *ac);

/*
 * Endpoints and identity with the cloud's defaults applied (arm-cloud:, or
 * cloud when that is absent) and, for workload identity, the webhook's
 * environment: AZURE_AUTHORITY_HOST, AZURE_TENANT_ID, AZURE_CLIENT_ID,
 * AZURE_FEDERATED_TOKEN_FILE (config keys win).  The strings are borrowed
 * from ac, the environment or static tables.
 */
struct arm_endpoints {
	const char *arm;        /* ARM base URL */
	const char *login;      /* Entra authority host; NULL for managed identity */
	const char *audience;   /* token audience (scope = audience + "/.default") */
	const char *imds;
	const char *tenant_id;
	const char *client_id;
	const char *federated_token_file;
};
/* FWD_OK, or FWD_EINVAL with the missing piece explained in err. */
enum fwd_err arm_cfg_endpoints(const struct arm_cfg *ac, int cloud, struct arm_endpoints *ep, char *err,
			       size_t errlen);

/*
 * Subscription slots: the configured subscriptions in order, and with
 * discovery: resource-graph one more slot, arm_cfg_nslots() - 1, for the
 * subscriptions Resource Graph finds that the file does not name (ranked
 * after the configured ones in the merge).  Per-subscription arrays of ARM
 * sync and saved zones are arm_cfg_nslots() long.
 */
size_t arm_cfg_nslots(const struct arm_cfg *ac);
/* The slot of subscription sub (lower-case) and, when resource-group: is
 * set, resource group rg (lower-case, NULL = not known): its index, or -1
 * when it is not wanted. */
long arm_cfg_sub_slot(const struct arm_cfg *ac, const char *sub, const char *rg);

/* fallback: setting for a synced zone (lower-case, no trailing dot). */
int arm_cfg_zone_fallback(const struct arm_cfg *ac, const char *zone);
/* 1 if zone (lower-case, no trailing dot) passes zone-filter:, else 0. */
int arm_cfg_zone_wanted(const struct arm_cfg *ac, const char *zone);

#endif
