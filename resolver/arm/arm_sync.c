/*
 * arm_sync.c -- the ARM sync rounds (see arm_sync.h for the contract, the
 * merge rule and the threading model): scheduling rounds, discovery,
 * record listing, building and merging zones, publishing.
 *
 * Requests are "jobs": one job lists one collection (the zones of a
 * subscription or resource group, or the record sets of one zone), page
 * after page, so a job has at most one request in flight.  How a job's
 * requests reach ARM -- queue, max-inflight, 429 hold, token, retries -- is
 * arm_sched.c; a job that fails there, or whose page is malformed, leaves
 * the zones it covers with their last good copy.  Saved zones are
 * arm_state.c, the per-zone refresh state arm_zstat.c.
 */
#include "arm_sync.h"

#include <cjson/cJSON.h>
#include <event2/event.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "arm_auth.h"
#include "arm_config.h"
#include "arm_http.h"
#include "arm_pe.h"
#include "arm_pe_zone.h"
#include "arm_records.h"
#include "arm_rg.h"
#include "arm_sched.h"
#include "arm_state.h"
#include "arm_zstat.h"
#include "clock.h"
#include "common.h"
#include "log.h"
#include "xfr_serials.h"
#include "zone.h"

#define ARM_SYNC_MAX_PAGES 100000   /* per job: a nextLink loop guard */
#define ARM_BUILD_KEPT (-100)       /* build_rc: not rebuilt, discovery failed */

/* ---------------------------------------------------------------- types */

struct arm_pub {            /* a published zone */
	char *name;
	struct zone *zone;        /* one reference */
	uint64_t hash;            /* of the zone text body */
	int fallback_public;
	uint8_t *subs;            /* per subscription: the zone came from it */
	int endpoints;            /* route_zone.endpoints: records from private endpoints */
};

struct arm_src {            /* one zone resource in one subscription */
	char *id;           /* resource id, as ARM gave it */
	char *zone;         /* lower-case, no trailing dot */
	size_t sub;         /* index into cfg->subscriptions */
	struct arm_rrsets rr; /* the record sets as zone file text */
	int listed;         /* a record-listing job was started */
	int failed;
	char *err;          /* why its listing failed */
	int finished;       /* its listing job is over (ok or not) */
	int pe;             /* records made from private endpoints (no listing job of its own;
			     * ranked after the zone's private DNS zone sources) */
	int64_t expected_sets; /* Resource Graph: the zone's numberOfRecordSets, -1 = unknown */
	int64_t rg_sets;    /* ... and the record sets dnsresources gave for it */
	size_t idx;         /* position in the round's sorted srcs */
	/* On the first source of a zone, once every source is finished: */
	int built;          /* the zone was built (or found unchanged / failed) */
	int build_rc;       /* 1 new copy in np, 0 unchanged, <0 failed */
	struct arm_pub np;
};

enum arm_job_kind {
	ARM_JOB_ZONES = 1,
	ARM_JOB_RECORDS,
	ARM_JOB_ENDPOINTS,
	ARM_JOB_RG_ZONES,     /* discovery: resource-graph: every private DNS zone in scope */
	ARM_JOB_RG_ENDPOINTS, /* ... every private endpoint */
	ARM_JOB_RG_RECORDS    /* records-from: resource-graph: every record set (dnsresources) */
};

#define ARM_JOB_IS_RG(k) ((k) == ARM_JOB_RG_ZONES || (k) == ARM_JOB_RG_ENDPOINTS || (k) == ARM_JOB_RG_RECORDS)

struct arm_job {
	struct arm_sync *s;
	enum arm_job_kind kind;
	size_t sub;               /* ZONES, ENDPOINTS: subscription index */
	const char *rg;           /* ZONES, ENDPOINTS: resource group, or NULL */
	struct arm_src *src;      /* RECORDS */
	const char *query;        /* RG_*: the Resource Graph query (static text) */
	char *last_token;         /* RG_*: the $skipToken asked with, for the loop guard */
	struct arm_req req;       /* its requests (url and body owned here, freed with the job) */
};

struct arm_round {
	uint64_t started_ms;
	char *only;               /* restrict record listing to this zone */
	size_t nsubs;             /* subscription slots: arm_cfg_nslots() */
	uint8_t *sub_failed;      /* per subscription: a zone listing failed */
	char **sub_err;           /* ... and why */
	char first_err[600];      /* the round's first failure, "" = none */
	int phase;                /* 1 = discovery, 2 = record sets */
	size_t pending;           /* unfinished jobs in this phase */
	struct arm_src **srcs;
	size_t nsrcs, srccap;
	struct arm_job **jobs;    /* every job, for freeing */
	size_t njobs, jobcap;
	int any_failed;
	/* private endpoints (private-endpoints: yes) */
	struct arm_pe_list pe;    /* every endpoint listed, tag = subscription index */
	uint8_t *pe_sub_failed;   /* per subscription: its endpoint listing failed */
	int pe_failed;            /* some endpoint listing failed */
	struct arm_pe_view view;  /* this round's notes (arm_pe_zone.h) */
};

struct arm_sync {
	struct event_base *base;
	const struct fwd_clock *clock; /* borrowed (clock.h) */
	struct arm_cfg *cfg;      /* own copy */
	char *arm;                /* ARM endpoint, no trailing slash */
	char *state_dir;
	arm_publish_fn publish;
	void *ctx;
	struct xfr_serials *serials; /* synced zones' own serials (xfr/xfr_serials.h); NULL: out of memory */
	struct arm_http *http;
	struct arm_auth *auth;

	struct arm_pub *pubs;     /* sorted by name */
	size_t npubs;

	struct arm_zstats zst;    /* per-zone refresh state, for zones and /metrics */

	struct arm_round *round;
	struct event *tick_ev;    /* next round */
	struct event *kick_ev;    /* deferred start (trigger) */
	int again;                /* a trigger arrived during a round */
	char *again_zone;         /* its zone, NULL = all */
	int started;

	struct arm_sched sched;   /* the requests of the round */

	struct arm_sync_stats st; /* requests, throttled, retries: kept by sched */
	uint64_t rg_quota_waits;  /* Resource Graph quota used up: waited for its reset */
	uint64_t rg_direct_listings; /* zones listed from ARM after the dnsresources query */

	int pe_cloud;             /* enum cfg_cloud whose catalogue maps endpoint FQDNs */
	size_t nslots;            /* subscription slots (arm_cfg_nslots()): per-subscription arrays */
	int rg;                   /* discovery: resource-graph */
	struct arm_pe_view pe_view; /* the notes of the last complete endpoint listing */
	int pe_view_valid;
};

static void arm_job_finish(struct arm_sync *s, struct arm_job *j, int ok);
static void arm_round_start(struct arm_sync *s, const char *only);
static void arm_zone_ready(struct arm_sync *s, struct arm_src *src);
static char *arm_url_records(struct arm_sync *s, const char *id);

/* ---------------------------------------------------------------- helpers */

/* The name of subscription slot i, for log lines (arm_config.h). */
static const char *arm_slot_name(const struct arm_sync *s, size_t i)
{
	return i < s->cfg->nsubscriptions ? s->cfg->subscriptions[i] : "(others found by Resource Graph)";
}

static void arm_lower(char *p)
{
	for (; *p; p++)
		if (*p >= 'A' && *p <= 'Z')
			*p = (char)(*p - 'A' + 'a');
}

/* ---------------------------------------------------------------- published set */

static void arm_pub_clear(struct arm_pub *p)
{
	free(p->name);
	if (p->zone != NULL)
		zone_unref(p->zone);
	free(p->subs);
	memset(p, 0, sizeof(*p));
}

static int arm_pub_cmp(const void *a, const void *b)
{
	return strcmp(((const struct arm_pub *)a)->name, ((const struct arm_pub *)b)->name);
}

static const struct arm_pub *arm_pub_lookup(const struct arm_sync *s, const char *name)
{
	struct arm_pub key = {.name = (char *)name};

	if (s->npubs == 0)
		return NULL;
	return bsearch(&key, s->pubs, s->npubs, sizeof(*s->pubs), arm_pub_cmp);
}

static void arm_publish_now(struct arm_sync *s)
{
	struct route_zone *rz = calloc(s->npubs ? s->npubs : 1, sizeof(*rz));
	size_t records = 0;

	if (rz == NULL) {
		log_err("arm: out of memory publishing %zu zones", s->npubs);
		return;
	}
	for (size_t i = 0; i < s->npubs; i++) {
		rz[i].zone = s->pubs[i].zone;
		rz[i].origin = ORIGIN_ZONE_ARM;
		rz[i].fallback_public = s->pubs[i].fallback_public;
		rz[i].endpoints = (uint8_t)s->pubs[i].endpoints;
		records += zone_rr_count(s->pubs[i].zone);
	}
	s->st.zones = s->npubs;
	s->st.records = records;
	s->publish(s->ctx, rz, s->npubs);
	free(rz);
}

/* ---------------------------------------------------------------- saved zones */

/* route_zone.endpoints from a zone's source ids: endpoint sources are the
 * ".../providers/Microsoft.Network/privateEndpoints" collections. */
static int arm_endpoints_kind(const char *const *ids, size_t n)
{
	static const char tail[] = "/providers/microsoft.network/privateendpoints";
	size_t pe = 0;

	for (size_t i = 0; i < n; i++) {
		size_t l = strlen(ids[i]);
		if (l >= sizeof(tail) - 1 && strcasecmp(ids[i] + l - (sizeof(tail) - 1), tail) == 0)
			pe++;
	}
	return pe == 0 ? 0 : pe == n ? 2 : 1;
}

/* What arm_sync_load_state() collects before it publishes them at once. */
struct arm_loaded {
	struct arm_sync *s;
	struct arm_pub *pubs;
	size_t n, cap;
};

/* arm_state_take_fn: one saved zone becomes a published one. */
/* A synced zone serves the serial plinkfwd gives its content, not Azure's
 * (which stays put while records change): see xfr/xfr_serials.h. */
static void arm_apply_serial(struct arm_sync *s, const char *name, struct zone *z, uint64_t hash)
{
	uint32_t serial;

	if (s->serials == NULL ||
	    xfr_serials_assign(s->serials, name, hash, zone_serial(z), (uint32_t)time(NULL), &serial) != FWD_OK)
		return; /* out of memory: Azure's serial it is */
	zone_set_serial(z, serial);
}

static int arm_take_saved(void *arg, struct arm_saved *z)
{
	struct arm_loaded *l = arg;
	struct arm_sync *s = l->s;
	struct arm_pub p = {0};
	struct arm_zstat *st;

	arm_apply_serial(s, z->name, z->zone, z->hash);
	p.name = z->name;
	p.zone = z->zone;
	p.hash = z->hash;
	p.fallback_public = arm_cfg_zone_fallback(s->cfg, z->name);
	p.subs = z->subs;
	p.endpoints = arm_endpoints_kind(z->ids, z->nids);
	/* The file's "synced:" time is when its data was last complete in
	 * ARM: the honest age of what is served until a sync succeeds. */
	st = arm_zstats_get(&s->zst, z->name);
	if (st != NULL) {
		arm_zstat_set_sources(st, z->ids, z->nids);
		st->record_sets = z->record_sets;
		st->last_success = z->synced;
	}
	if (l->n == l->cap) {
		struct arm_pub *np = realloc(l->pubs, (l->cap ? l->cap * 2 : 16) * sizeof(*np));
		if (np == NULL) {
			arm_pub_clear(&p);
			return FWD_ENOMEM;
		}
		l->pubs = np;
		l->cap = l->cap ? l->cap * 2 : 16;
	}
	l->pubs[l->n++] = p;
	log_info("arm: loaded saved zone %s (%zu records)", p.name, zone_rr_count(p.zone));
	return 0;
}

int arm_sync_load_state(struct arm_sync *s)
{
	struct arm_loaded l = {.s = s};
	int rc;

	if (s->state_dir == NULL)
		return 0;
	rc = arm_state_load(s->state_dir, s->cfg, arm_take_saved, &l);
	if (rc < 0 || l.n == 0) {
		free(l.pubs);
		return rc < 0 ? rc : 0;
	}
	qsort(l.pubs, l.n, sizeof(*l.pubs), arm_pub_cmp);
	for (size_t i = 0; i < s->npubs; i++)
		arm_pub_clear(&s->pubs[i]);
	free(s->pubs);
	s->pubs = l.pubs;
	s->npubs = l.n;
	arm_publish_now(s);
	return (int)l.n;
}

/* ---------------------------------------------------------------- round bookkeeping */

static void arm_src_free(struct arm_src *src)
{
	if (src == NULL)
		return;
	free(src->id);
	free(src->zone);
	free(src->err);
	arm_rrsets_free(&src->rr);
	if (src->np.zone != NULL)
		zone_unref(src->np.zone);
	free(src->np.name);
	free(src->np.subs);
	free(src);
}

static void arm_round_free(struct arm_round *r)
{
	if (r == NULL)
		return;
	for (size_t i = 0; i < r->nsrcs; i++)
		arm_src_free(r->srcs[i]);
	free(r->srcs);
	for (size_t i = 0; i < r->njobs; i++) {
		free(r->jobs[i]->req.url);
		free(r->jobs[i]->req.body);
		free(r->jobs[i]->last_token);
		free(r->jobs[i]);
	}
	free(r->jobs);
	free(r->sub_failed);
	for (size_t i = 0; r->sub_err != NULL && i < r->nsubs; i++)
		free(r->sub_err[i]);
	free(r->sub_err);
	free(r->only);
	arm_pe_list_free(&r->pe);
	free(r->pe_sub_failed);
	arm_pe_view_free(&r->view);
	free(r);
}

static struct arm_job *arm_job_new(struct arm_sync *s, enum arm_job_kind kind, char *url)
{
	struct arm_round *r = s->round;
	struct arm_job *j;

	if (r->njobs == r->jobcap) {
		size_t cap = r->jobcap ? r->jobcap * 2 : 16;
		struct arm_job **nj = realloc(r->jobs, cap * sizeof(*nj));
		if (nj == NULL)
			goto nomem;
		r->jobs = nj;
		r->jobcap = cap;
	}
	j = calloc(1, sizeof(*j));
	if (j == NULL)
		goto nomem;
	j->s = s;
	j->kind = kind;
	j->req.url = url;
	j->req.hint404 = ARM_JOB_IS_RG(kind)
				 ? "check arm-endpoint:, resource-graph-api-version: and the "
				   "management-group: names"
			 : kind != ARM_JOB_RECORDS
				 ? "check the subscription id and resource-group names, and that the "
				   "identity has the Reader role there"
				 : "the zone was deleted or moved since it was listed; keeping the last "
				   "good copy until a listing without it";
	r->jobs[r->njobs++] = j;
	r->pending++;
	return j;
nomem:
	free(url);
	log_err("arm: out of memory starting a listing");
	return NULL;
}

static const char *arm_job_what(const struct arm_job *j, char *buf, size_t cap)
{
	const struct arm_sync *s = j->s;

	if (j->kind == ARM_JOB_ZONES) {
		if (j->rg != NULL)
			snprintf(buf, cap, "listing private DNS zones of subscription %s resource group %s",
				 s->cfg->subscriptions[j->sub], j->rg);
		else
			snprintf(buf, cap, "listing private DNS zones of subscription %s",
				 s->cfg->subscriptions[j->sub]);
	} else if (ARM_JOB_IS_RG(j->kind)) {
		snprintf(buf, cap, "querying Resource Graph for %s (page %d)",
			 j->kind == ARM_JOB_RG_ZONES	   ? "private DNS zones"
			 : j->kind == ARM_JOB_RG_ENDPOINTS ? "private endpoints"
							   : "record sets (dnsresources)",
			 j->req.page + 1);
	} else if (j->kind == ARM_JOB_ENDPOINTS) {
		if (j->rg != NULL)
			snprintf(buf, cap, "listing private endpoints of subscription %s resource group %s",
				 s->cfg->subscriptions[j->sub], j->rg);
		else
			snprintf(buf, cap, "listing private endpoints of subscription %s",
				 s->cfg->subscriptions[j->sub]);
	} else {
		snprintf(buf, cap, "listing record sets of zone %s (%s)", j->src->zone, j->src->id);
	}
	return buf;
}

/* ---------------------------------------------------------------- pages */

static int arm_round_add_src(struct arm_sync *s, struct arm_job *j, const cJSON *item)
{
	struct arm_round *r = s->round;
	const cJSON *jn = cJSON_GetObjectItemCaseSensitive(item, "name");
	const cJSON *ji = cJSON_GetObjectItemCaseSensitive(item, "id");
	char name[256], sub[128];
	struct arm_src *src;
	size_t n;

	if (!cJSON_IsString(jn) || !cJSON_IsString(ji)) {
		log_err("arm: zone entry without name or id while listing subscription %s",
			s->cfg->subscriptions[j->sub]);
		return FWD_EPARSE;
	}
	n = strlen(jn->valuestring);
	if (n >= sizeof(name)) {
		log_warn("arm: zone name too long in subscription %s; skipped",
			 s->cfg->subscriptions[j->sub]);
		return 0;
	}
	memcpy(name, jn->valuestring, n + 1);
	arm_lower(name);
	if (n > 0 && name[n - 1] == '.')
		name[n - 1] = '\0';
	if (!arm_records_zone_name_ok(name)) {
		log_warn("arm: zone '%s' in subscription %s is not a usable DNS name; skipped", name,
			 s->cfg->subscriptions[j->sub]);
		return 0;
	}
	if (!arm_cfg_zone_wanted(s->cfg, name))
		return 0;
	if (arm_records_id_part(ji->valuestring, "subscriptions", sub, sizeof(sub)) < 0 ||
	    strcmp(sub, s->cfg->subscriptions[j->sub]) != 0 || strchr(ji->valuestring, '?') != NULL) {
		log_warn("arm: zone %s has id '%s' outside subscription %s; skipped", name,
			 ji->valuestring, s->cfg->subscriptions[j->sub]);
		return 0;
	}
	for (size_t i = 0; i < r->nsrcs; i++)
		if (strcasecmp(r->srcs[i]->id, ji->valuestring) == 0)
			return 0; /* the same zone on two pages */
	if (r->nsrcs == r->srccap) {
		size_t cap = r->srccap ? r->srccap * 2 : 16;
		struct arm_src **ns = realloc(r->srcs, cap * sizeof(*ns));
		if (ns == NULL)
			return FWD_ENOMEM;
		r->srcs = ns;
		r->srccap = cap;
	}
	src = calloc(1, sizeof(*src));
	if (src == NULL)
		return FWD_ENOMEM;
	src->id = strdup(ji->valuestring);
	src->zone = strdup(name);
	src->sub = j->sub;
	src->expected_sets = -1;
	if (src->id == NULL || src->zone == NULL) {
		arm_src_free(src);
		return FWD_ENOMEM;
	}
	r->srcs[r->nsrcs++] = src;
	return 0;
}

/* One 200 page: 0 ok (job continues or completes), <0 failed (logged). */
static int arm_job_page(struct arm_sync *s, struct arm_job *j, const struct arm_http_result *res)
{
	char what[600], err[300];
	cJSON *root = cJSON_ParseWithLength(res->body, res->len);
	const cJSON *value, *item, *next;
	int rc = 0;

	value = cJSON_GetObjectItemCaseSensitive(root, "value");
	if (root == NULL || !cJSON_IsArray(value)) {
		log_err("arm: malformed JSON from ARM while %s (page %d, %zu bytes); %s",
			arm_job_what(j, what, sizeof(what)), j->req.page + 1, res->len,
			j->kind == ARM_JOB_RECORDS ? "keeping the last good copy of the zone"
						   : "zones of this subscription keep their last good copy");
		snprintf(j->req.err, sizeof(j->req.err), "malformed JSON from ARM (page %d, %zu bytes)",
			 j->req.page + 1, res->len);
		cJSON_Delete(root);
		return FWD_EPARSE;
	}
	cJSON_ArrayForEach(item, value)
	{
		if (j->kind == ARM_JOB_ZONES)
			rc = arm_round_add_src(s, j, item);
		else
			rc = arm_rrsets_add(&j->src->rr, item, err, sizeof(err));
		if (rc < 0)
			break;
	}
	if (rc < 0) {
		if (j->kind == ARM_JOB_RECORDS) {
			log_err("arm: zone %s: %s (page %d of %s); keeping the last good copy",
				j->src->zone, rc == FWD_ENOMEM ? "out of memory" : err, j->req.page + 1,
				j->src->id);
			snprintf(j->req.err, sizeof(j->req.err), "%s (page %d)",
				 rc == FWD_ENOMEM ? "out of memory" : err, j->req.page + 1);
		} else {
			snprintf(j->req.err, sizeof(j->req.err), "%s (page %d)",
				 rc == FWD_ENOMEM ? "out of memory" : "zone entry without name or id",
				 j->req.page + 1);
		}
		cJSON_Delete(root);
		return rc;
	}
	next = cJSON_GetObjectItemCaseSensitive(root, "nextLink");
	if (cJSON_IsString(next) && next->valuestring[0] != '\0') {
		char *url;
		if (!arm_http_same_origin(next->valuestring, s->arm)) {
			log_err("arm: nextLink while %s points away from %s; not followed, listing "
				"failed",
				arm_job_what(j, what, sizeof(what)), s->arm);
			snprintf(j->req.err, sizeof(j->req.err), "nextLink points away from %s; not followed",
				 s->arm);
			cJSON_Delete(root);
			return FWD_EINVAL;
		}
		if (strcmp(next->valuestring, j->req.url) == 0 || j->req.page + 1 >= ARM_SYNC_MAX_PAGES) {
			log_err("arm: nextLink loop while %s; listing failed",
				arm_job_what(j, what, sizeof(what)));
			snprintf(j->req.err, sizeof(j->req.err), "nextLink loop (page %d)", j->req.page + 1);
			cJSON_Delete(root);
			return FWD_EINVAL;
		}
		/* Verbatim: it already carries api-version, $top and $skipToken. */
		url = strdup(next->valuestring);
		cJSON_Delete(root);
		if (url == NULL) {
			snprintf(j->req.err, sizeof(j->req.err), "out of memory");
			return FWD_ENOMEM;
		}
		arm_sched_next_page(&s->sched, &j->req, url);
		return 0;
	}
	cJSON_Delete(root);
	arm_job_finish(s, j, 1);
	return 0;
}

/* One 200 page of a private endpoint listing: 0 ok (job continues or
 * completes), <0 failed (logged).  The endpoints of a failed listing are
 * dropped at the end of discovery (arm_round_pe_sources). */
static int arm_pe_job_page(struct arm_sync *s, struct arm_job *j, const struct arm_http_result *res)
{
	struct arm_round *r = s->round;
	char what[600], err[300];
	char *next = NULL;
	size_t before = r->pe.n;
	int rc = arm_pe_page_parse(res->body, res->len, &r->pe, &next, err, sizeof(err));

	for (size_t i = before; i < r->pe.n; i++)
		r->pe.v[i].tag = j->sub;
	if (rc < 0) {
		log_err("arm: %s while %s (page %d); the endpoint records of this subscription keep their "
			"last good copy",
			err, arm_job_what(j, what, sizeof(what)), j->req.page + 1);
		snprintf(j->req.err, sizeof(j->req.err), "%s (page %d)", err, j->req.page + 1);
		free(next);
		return rc;
	}
	if (next == NULL) {
		arm_job_finish(s, j, 1);
		return 0;
	}
	if (!arm_http_same_origin(next, s->arm)) {
		log_err("arm: nextLink while %s points away from %s; not followed, listing failed",
			arm_job_what(j, what, sizeof(what)), s->arm);
		snprintf(j->req.err, sizeof(j->req.err), "nextLink points away from %s; not followed", s->arm);
		free(next);
		return FWD_EINVAL;
	}
	if (strcmp(next, j->req.url) == 0 || j->req.page + 1 >= ARM_SYNC_MAX_PAGES) {
		log_err("arm: nextLink loop while %s; listing failed", arm_job_what(j, what, sizeof(what)));
		snprintf(j->req.err, sizeof(j->req.err), "nextLink loop (page %d)", j->req.page + 1);
		free(next);
		return FWD_EINVAL;
	}
	arm_sched_next_page(&s->sched, &j->req, next); /* verbatim, like the zone lists */
	return 0;
}

/* ---------------------------------------------------------------- Resource Graph */

/* $top of every Resource Graph page: its maximum (each page costs one
 * query of the user's quota, whatever its size). */
#define ARM_RG_TOP 1000

/* A zone row of Resource Graph (id, name, subscriptionId, properties):
 * a source of the round, in the slot of its subscription. */
static int arm_rg_add_zone(struct arm_sync *s, const cJSON *row)
{
	struct arm_round *r = s->round;
	const cJSON *jn = cJSON_GetObjectItemCaseSensitive(row, "name");
	const cJSON *ji = cJSON_GetObjectItemCaseSensitive(row, "id");
	const cJSON *props = cJSON_GetObjectItemCaseSensitive(row, "properties");
	char name[256], sub[128], rg[128];
	struct arm_src *src;
	int64_t nsets = -1;
	long slot;
	size_t n;

	if (!cJSON_IsString(jn) || !cJSON_IsString(ji))
		return FWD_EPARSE;
	n = strlen(jn->valuestring);
	if (n == 0 || n >= sizeof(name))
		return 0;
	memcpy(name, jn->valuestring, n + 1);
	arm_lower(name);
	if (name[n - 1] == '.')
		name[n - 1] = '\0';
	if (!arm_records_zone_name_ok(name) || !arm_cfg_zone_wanted(s->cfg, name) ||
	    strchr(ji->valuestring, '?') != NULL ||
	    arm_records_id_part(ji->valuestring, "subscriptions", sub, sizeof(sub)) < 0)
		return 0;
	slot = arm_cfg_sub_slot(s->cfg, sub,
				arm_records_id_part(ji->valuestring, "resourceGroups", rg, sizeof(rg)) < 0 ? NULL : rg);
	if (slot < 0)
		return 0; /* outside the configured scope */
	for (size_t i = 0; i < r->nsrcs; i++)
		if (strcasecmp(r->srcs[i]->id, ji->valuestring) == 0)
			return 0;
	if (arm_json_int(props, "numberOfRecordSets", 0, INT64_MAX / 2, &nsets) < 0)
		nsets = -1;
	if (r->nsrcs == r->srccap) {
		size_t cap = r->srccap ? r->srccap * 2 : 16;
		struct arm_src **ns = realloc(r->srcs, cap * sizeof(*ns));
		if (ns == NULL)
			return FWD_ENOMEM;
		r->srcs = ns;
		r->srccap = cap;
	}
	src = calloc(1, sizeof(*src));
	if (src == NULL)
		return FWD_ENOMEM;
	src->id = strdup(ji->valuestring);
	src->zone = strdup(name);
	src->sub = (size_t)slot;
	src->expected_sets = nsets;
	if (src->id == NULL || src->zone == NULL) {
		arm_src_free(src);
		return FWD_ENOMEM;
	}
	r->srcs[r->nsrcs++] = src;
	return 0;
}

/* The zone resource id a record set id starts with
 * (".../privateDnsZones/<zone>"), lower-cased into out; -1 if none. */
static int arm_rg_zone_id_of(const char *id, char *out, size_t cap)
{
	static const char key[] = "/privatednszones/";
	const char *p = strcasestr(id, key), *e;
	size_t n;

	if (p == NULL)
		return -1;
	e = strchr(p + sizeof(key) - 1, '/');
	if (e == NULL)
		return -1;
	n = (size_t)(e - id);
	if (n >= cap)
		return -1;
	for (size_t i = 0; i < n; i++)
		out[i] = (char)(id[i] >= 'A' && id[i] <= 'Z' ? id[i] - 'A' + 'a' : id[i]);
	out[n] = '\0';
	return 0;
}

/* The source whose (lower-cased) id is zid, or NULL: a linear scan, once
 * per record set row; the rows arrive grouped by zone, so the last hit is
 * tried first. */
static struct arm_src *arm_rg_src_by_id(struct arm_round *r, const char *zid, size_t *hint)
{
	if (*hint < r->nsrcs && !r->srcs[*hint]->pe && strcasecmp(r->srcs[*hint]->id, zid) == 0)
		return r->srcs[*hint];
	for (size_t i = 0; i < r->nsrcs; i++)
		if (!r->srcs[i]->pe && strcasecmp(r->srcs[i]->id, zid) == 0) {
			*hint = i;
			return r->srcs[i];
		}
	return NULL;
}

/* Resource Graph's quota headers: when none is left, no request until it
 * resets (guidance-for-throttled-requests: wait resets-after when the
 * remaining quota is 0). */
static void arm_rg_quota(struct arm_sync *s, const struct arm_http_result *res)
{
	char *end;
	long left;
	int64_t ms;

	if (res->quota_remaining[0] == '\0')
		return;
	left = strtol(res->quota_remaining, &end, 10);
	if (*end != '\0' || left > 0)
		return;
	ms = arm_rg_duration_ms(res->quota_resets_after);
	if (ms < 0)
		ms = 5000; /* the documented window when the header is unusable */
	s->rg_quota_waits++;
	log_info("arm: Resource Graph quota used up (x-ms-user-quota-remaining: 0); next query in %lld ms "
		 "(x-ms-user-quota-resets-after: %s)",
		 (long long)ms, res->quota_resets_after[0] ? res->quota_resets_after : "absent");
	arm_sched_hold(&s->sched, (uint64_t)ms);
}

/* One 200 page of a Resource Graph query: 0 ok (job continues or
 * completes), <0 failed (logged). */
static int arm_rg_job_page(struct arm_sync *s, struct arm_job *j, const struct arm_http_result *res)
{
	struct arm_round *r = s->round;
	struct arm_rg_page pg;
	char what[600], err[300];
	const cJSON *row;
	size_t hint = 0;
	int rc = 0;

	arm_rg_quota(s, res);
	if (arm_rg_page_parse(res->body, res->len, &pg, err, sizeof(err)) < 0) {
		log_err("arm: %s while %s; everything it covers keeps its last good copy", err,
			arm_job_what(j, what, sizeof(what)));
		snprintf(j->req.err, sizeof(j->req.err), "%s (page %d)", err, j->req.page + 1);
		return FWD_EPARSE;
	}
	if (j->kind == ARM_JOB_RG_ZONES) {
		cJSON_ArrayForEach(row, pg.rows)
			if ((rc = arm_rg_add_zone(s, row)) < 0)
				break;
		if (rc == FWD_EPARSE)
			snprintf(err, sizeof(err), "zone row without name or id");
	} else if (j->kind == ARM_JOB_RG_ENDPOINTS) {
		size_t before = r->pe.n;
		rc = arm_pe_rows_add(&r->pe, pg.rows, err, sizeof(err));
		for (size_t i = before; i < r->pe.n; i++) {
			long slot = arm_cfg_sub_slot(s->cfg, r->pe.v[i].sub, r->pe.v[i].rg[0] ? r->pe.v[i].rg : NULL);
			/* outside the scope: a tag past the slots, dropped later */
			r->pe.v[i].tag = slot < 0 ? SIZE_MAX : (size_t)slot;
		}
	} else {
		cJSON_ArrayForEach(row, pg.rows)
		{
			const cJSON *id = cJSON_GetObjectItemCaseSensitive(row, "id");
			char zid[600];
			struct arm_src *src;
			if (!cJSON_IsString(id) || arm_rg_zone_id_of(id->valuestring, zid, sizeof(zid)) < 0 ||
			    (src = arm_rg_src_by_id(r, zid, &hint)) == NULL || src->failed)
				continue; /* a zone not wanted, or not listed */
			src->rg_sets++;
			if (arm_rrsets_add(&src->rr, row, err, sizeof(err)) < 0) {
				/* this zone only: listed from ARM instead */
				log_warn("arm: zone %s: %s in Resource Graph's dnsresources; listing the zone from "
					 "ARM instead",
					 src->zone, err);
				src->rg_sets = -1;
			}
		}
	}
	if (rc < 0) {
		log_err("arm: %s while %s; everything it covers keeps its last good copy",
			rc == FWD_ENOMEM ? "out of memory" : err, arm_job_what(j, what, sizeof(what)));
		snprintf(j->req.err, sizeof(j->req.err), "%s (page %d)", rc == FWD_ENOMEM ? "out of memory" : err,
			 j->req.page + 1);
		arm_rg_page_free(&pg);
		return rc;
	}
	if (pg.skip_token != NULL) {
		char *body;
		if ((j->last_token != NULL && strcmp(j->last_token, pg.skip_token) == 0) ||
		    j->req.page + 1 >= ARM_SYNC_MAX_PAGES) {
			log_err("arm: $skipToken loop while %s; query failed", arm_job_what(j, what, sizeof(what)));
			snprintf(j->req.err, sizeof(j->req.err), "$skipToken loop (page %d)", j->req.page + 1);
			arm_rg_page_free(&pg);
			return FWD_EINVAL;
		}
		body = arm_rg_request_body(s->cfg, j->query, ARM_RG_TOP, pg.skip_token);
		free(j->last_token);
		j->last_token = pg.skip_token; /* taken over */
		pg.skip_token = NULL;
		arm_rg_page_free(&pg);
		if (body == NULL) {
			snprintf(j->req.err, sizeof(j->req.err), "out of memory");
			return FWD_ENOMEM;
		}
		/* the same query and scope, the token in the body (no nextLink) */
		arm_sched_next_body(&s->sched, &j->req, body);
		return 0;
	}
	arm_rg_page_free(&pg);
	arm_job_finish(s, j, 1);
	return 0;
}

/* A Resource Graph job for query; NULL (logged) when out of memory. */
static struct arm_job *arm_rg_job(struct arm_sync *s, enum arm_job_kind kind, const char *query)
{
	char *url = NULL, *body = arm_rg_request_body(s->cfg, query, ARM_RG_TOP, NULL);
	struct arm_job *j;

	if (body == NULL || asprintf(&url, "%s/providers/Microsoft.ResourceGraph/resources?api-version=%s", s->arm,
				     s->cfg->rg_api_version) < 0) {
		free(body);
		log_err("arm: out of memory starting a Resource Graph query");
		return NULL;
	}
	j = arm_job_new(s, kind, url);
	if (j == NULL) {
		free(body);
		return NULL;
	}
	j->query = query;
	j->req.body = body;
	return j;
}

/*
 * records-from: resource-graph, after the dnsresources query: a zone whose
 * count there equals its numberOfRecordSets is complete; any other (Resource
 * Graph lags ARM, or the query failed) is listed from ARM directly.
 */
static void arm_rg_records_done(struct arm_sync *s, int ok)
{
	struct arm_round *r = s->round;
	size_t direct = 0;

	for (size_t i = 0; i < r->nsrcs; i++) {
		struct arm_src *src = r->srcs[i];
		struct arm_job *j;
		char *url;
		if (src->pe || !src->listed || src->finished || src->failed)
			continue;
		if (ok && src->expected_sets >= 0 && src->rg_sets == src->expected_sets) {
			src->finished = 1;
			arm_zone_ready(s, src);
			continue;
		}
		if (ok)
			log_info("arm: zone %s: Resource Graph has %lld record sets, the zone says %lld; listing it "
				 "from ARM",
				 src->zone, (long long)src->rg_sets, (long long)src->expected_sets);
		arm_rrsets_free(&src->rr);
		memset(&src->rr, 0, sizeof(src->rr));
		src->rr.source = src->id;
		url = arm_url_records(s, src->id);
		j = url ? arm_job_new(s, ARM_JOB_RECORDS, url) : NULL;
		if (j == NULL) {
			src->failed = 1;
			src->finished = 1;
			r->any_failed = 1;
			arm_zone_ready(s, src);
			continue;
		}
		j->src = src;
		arm_sched_push(&s->sched, &j->req);
		direct++;
	}
	s->rg_direct_listings += direct;
	if (direct > 0)
		log_info("arm: %zu zone(s) listed from ARM after the Resource Graph record query", direct);
}

/* ---------------------------------------------------------------- scheduler ops */

/* The job a request of the scheduler belongs to. */
static struct arm_job *arm_job_of(struct arm_req *r)
{
	return (struct arm_job *)(void *)((char *)r - offsetof(struct arm_job, req));
}

static const struct arm_job *arm_job_of_const(const struct arm_req *r)
{
	return (const struct arm_job *)(const void *)((const char *)r - offsetof(struct arm_job, req));
}

static int arm_ops_page(void *arg, struct arm_req *r, const struct arm_http_result *res)
{
	if (ARM_JOB_IS_RG(arm_job_of(r)->kind))
		return arm_rg_job_page(arg, arm_job_of(r), res);
	if (arm_job_of(r)->kind == ARM_JOB_ENDPOINTS)
		return arm_pe_job_page(arg, arm_job_of(r), res);
	return arm_job_page(arg, arm_job_of(r), res);
}

static void arm_ops_fail(void *arg, struct arm_req *r)
{
	arm_job_finish(arg, arm_job_of(r), 0);
}

static const char *arm_ops_what(void *arg, const struct arm_req *r, char *buf, size_t cap)
{
	(void)arg;
	return arm_job_what(arm_job_of_const(r), buf, cap);
}

/* Counted per zone as well (zones, /metrics): which listings ran into
 * the subscription's read budget. */
static void arm_ops_throttled(void *arg, struct arm_req *r)
{
	struct arm_sync *s = arg;
	const struct arm_job *j = arm_job_of(r);

	if (j->kind == ARM_JOB_RECORDS) {
		struct arm_zstat *z = arm_zstats_get(&s->zst, j->src->zone);
		if (z != NULL)
			z->throttled++;
	}
}

/* ---------------------------------------------------------------- round */

static char *arm_url_zones(struct arm_sync *s, size_t sub, const char *rg)
{
	char *url = NULL;
	int n;

	if (rg != NULL)
		n = asprintf(&url,
			     "%s/subscriptions/%s/resourceGroups/%s/providers/Microsoft.Network/"
			     "privateDnsZones?api-version=%s",
			     s->arm, s->cfg->subscriptions[sub], rg, s->cfg->api_version);
	else
		n = asprintf(&url,
			     "%s/subscriptions/%s/providers/Microsoft.Network/privateDnsZones?api-version=%s",
			     s->arm, s->cfg->subscriptions[sub], s->cfg->api_version);
	return n < 0 ? NULL : url;
}

static char *arm_url_endpoints(struct arm_sync *s, size_t sub, const char *rg)
{
	char *url = NULL;
	int n;

	if (rg != NULL)
		n = asprintf(&url,
			     "%s/subscriptions/%s/resourceGroups/%s/providers/Microsoft.Network/"
			     "privateEndpoints?api-version=%s",
			     s->arm, s->cfg->subscriptions[sub], rg, s->cfg->pe_api_version);
	else
		n = asprintf(&url,
			     "%s/subscriptions/%s/providers/Microsoft.Network/privateEndpoints?api-version=%s",
			     s->arm, s->cfg->subscriptions[sub], s->cfg->pe_api_version);
	return n < 0 ? NULL : url;
}

static char *arm_url_records(struct arm_sync *s, const char *id)
{
	struct arm_buf b = {0};

	arm_buf_puts(&b, s->arm);
	if (arm_http_path_escape(&b, id) < 0) {
		arm_buf_free(&b);
		return NULL;
	}
	arm_buf_printf(&b, "/ALL?api-version=%s&$top=%d", s->cfg->api_version, s->cfg->page_size);
	if (b.oom) {
		arm_buf_free(&b);
		return NULL;
	}
	return b.p;
}

static int arm_src_order(const void *a, const void *b)
{
	const struct arm_src *x = *(struct arm_src *const *)a, *y = *(struct arm_src *const *)b;
	int c = strcmp(x->zone, y->zone);

	if (c != 0)
		return c;
	if (x->pe != y->pe) /* the zone rule: private DNS zone records first */
		return x->pe ? 1 : -1;
	if (x->sub != y->sub)
		return x->sub < y->sub ? -1 : 1;
	return strcasecmp(x->id, y->id);
}

static int arm_zone_wanted_cb(const void *arg, const char *zone)
{
	return arm_cfg_zone_wanted(arg, zone);
}

static int arm_pe_from_failed(void *arg, const struct arm_pe *pe)
{
	const struct arm_round *r = arg;

	return pe->tag >= r->nsubs || r->pe_sub_failed[pe->tag];
}

/*
 * The endpoints listed in discovery become sources of their zones
 * (arm_pe_zone.h).  The endpoints of a subscription whose endpoint listing
 * failed are partial and dropped: that subscription counts as failed for
 * the round, so the zones it fed keep their last good copy.
 */
static void arm_round_pe_sources(struct arm_sync *s)
{
	struct arm_round *r = s->round;
	struct arm_pe_zones pz = {0};
	struct arm_pe_zcfg zc = {0};
	size_t bad_fqdns = r->pe.bad_fqdns, bad_addrs = r->pe.bad_addrs;

	if (!s->cfg->private_endpoints)
		return;
	arm_pe_list_drop(&r->pe, arm_pe_from_failed, r);
	zc.cloud = s->pe_cloud;
	zc.endpoint_zones = (const char *const *)s->cfg->endpoint_zones;
	zc.nendpoint_zones = s->cfg->nendpoint_zones;
	zc.ttl = s->cfg->endpoint_ttl;
	zc.per_rg = s->cfg->nresource_groups > 0;
	zc.subs = (const char *const *)s->cfg->subscriptions;
	zc.nsubs = s->cfg->nsubscriptions; /* the others' slot names each endpoint's own */
	zc.zone_wanted = arm_zone_wanted_cb;
	zc.arg = s->cfg;
	if (bad_fqdns + bad_addrs > 0)
		log_debug("arm: private endpoints: %zu unusable FQDNs and %zu unusable addresses ignored",
			  bad_fqdns, bad_addrs);
	if (arm_pe_zones_build(&r->pe, &zc, &pz, &r->view) < 0) {
		log_err("arm: out of memory building the private endpoint records; they keep their last "
			"good copy");
		for (size_t i = 0; i < r->nsubs; i++)
			r->sub_failed[i] = 1;
		r->pe_failed = 1;
		r->any_failed = 1;
		arm_pe_zones_free(&pz);
		return;
	}
	for (size_t i = 0; i < pz.n; i++) {
		struct arm_pe_zone *z = &pz.v[i];
		struct arm_src *src;
		if (!arm_records_zone_name_ok(z->zone))
			continue;
		if (r->nsrcs == r->srccap) {
			size_t cap = r->srccap ? r->srccap * 2 : 16;
			struct arm_src **ns = realloc(r->srcs, cap * sizeof(*ns));
			if (ns == NULL)
				goto nomem;
			r->srcs = ns;
			r->srccap = cap;
		}
		src = calloc(1, sizeof(*src));
		if (src == NULL)
			goto nomem;
		src->id = strdup(z->source_id);
		src->zone = strdup(z->zone);
		src->sub = z->tag;
		src->pe = 1;
		src->rr = z->rr; /* moved */
		memset(&z->rr, 0, sizeof(z->rr));
		src->rr.source = src->id;
		r->srcs[r->nsrcs++] = src;
		if (src->id == NULL || src->zone == NULL)
			goto nomem;
	}
	arm_pe_zones_free(&pz);
	return;
nomem:
	log_err("arm: out of memory adding the private endpoint records; they keep their last good copy");
	for (size_t i = 0; i < r->nsubs; i++)
		r->sub_failed[i] = 1;
	r->pe_failed = 1;
	r->any_failed = 1;
	arm_pe_zones_free(&pz);
}

static void arm_round_records(struct arm_sync *s)
{
	struct arm_round *r = s->round;

	int rg_records = s->rg && s->cfg->records_from == ARM_RECORDS_FROM_RESOURCE_GRAPH && r->only == NULL;

	r->phase = 2;
	arm_round_pe_sources(s);
	if (rg_records) {
		int any = 0;
		for (size_t i = 0; i < r->nsrcs; i++)
			any |= !r->srcs[i]->pe;
		rg_records = any;
	}
	if (rg_records) {
		struct arm_job *j = arm_rg_job(s, ARM_JOB_RG_RECORDS, ARM_RG_QUERY_RECORDS);
		if (j != NULL)
			arm_sched_push(&s->sched, &j->req);
		else
			rg_records = 0; /* list every zone from ARM */
	}
	if (r->nsrcs > 1)
		qsort(r->srcs, r->nsrcs, sizeof(*r->srcs), arm_src_order);
	for (size_t i = 0; i < r->nsrcs; i++)
		r->srcs[i]->idx = i;
	for (size_t i = 0; i < r->nsrcs; i++) {
		struct arm_src *src = r->srcs[i];
		struct arm_job *j;
		char *url;
		if (src->pe || (r->only != NULL && strcmp(r->only, src->zone) != 0))
			continue;
		if (rg_records) {
			/* waits for the dnsresources query (arm_rg_records_done) */
			src->listed = 1;
			src->rr.source = src->id;
			continue;
		}
		url = arm_url_records(s, src->id);
		if (url == NULL) {
			log_err("arm: zone %s has an unusable resource id '%s'; skipped", src->zone,
				src->id);
			src->failed = 1;
			r->any_failed = 1;
			arm_zstats_result(&s->zst, src->zone, "unusable resource id in the zone list");
			continue;
		}
		j = arm_job_new(s, ARM_JOB_RECORDS, url);
		if (j == NULL) {
			src->failed = 1;
			continue;
		}
		j->src = src;
		src->listed = 1;
		src->rr.source = src->id;
		arm_sched_push(&s->sched, &j->req);
	}
	/* A zone with endpoint records and nothing to list is complete now. */
	for (size_t i = 0; i < r->nsrcs;) {
		size_t g = i;
		int listed = 0, pe = 0;
		while (g < r->nsrcs && strcmp(r->srcs[g]->zone, r->srcs[i]->zone) == 0) {
			listed |= r->srcs[g]->listed;
			pe |= r->srcs[g]->pe;
			g++;
		}
		if (pe && !listed && (r->only == NULL || strcmp(r->only, r->srcs[i]->zone) == 0))
			arm_zone_ready(s, r->srcs[i]);
		i = g;
	}
}

/* Build the zone from its sources; 1 = new pub in *np (and its record
 * set count in *nsets_out), 0 = unchanged, <0 = failed (logged, and the
 * reason in berr; the old copy stays). */
static int arm_build_zone(struct arm_sync *s, struct arm_src **srcs, size_t n,
			  const struct arm_pub *old, struct arm_pub *np, size_t *nsets_out, char *berr,
			  size_t berrlen)
{
	const char *zone = srcs[0]->zone;
	struct arm_buf txt = {0};
	size_t body_off, nsets = 0, nskipped = 0;
	const struct arm_rrsets **sets = calloc(n, sizeof(*sets));
	const char **ids = calloc(n, sizeof(*ids));
	char err[512], srcname[300];
	struct zone *z;
	uint64_t hash;

	snprintf(berr, berrlen, "out of memory building the zone");
	if (sets == NULL || ids == NULL) {
		free(sets);
		free(ids);
		log_err("arm: out of memory building zone %s", zone);
		return FWD_ENOMEM;
	}
	/* The zone rule: a name a private DNS zone has is the zone's (the
	 * private DNS zone sources come first in srcs). */
	for (size_t i = 0, ndns = 0; i < n; i++) {
		if (!srcs[i]->pe) {
			sets[ndns++] = &srcs[i]->rr;
			continue;
		}
		if (ndns > 0 &&
		    arm_pe_drop_conflicts(zone, sets, ndns, &srcs[i]->rr, &s->round->view) == FWD_ENOMEM) {
			free(sets);
			free(ids);
			log_err("arm: out of memory building zone %s", zone);
			return FWD_ENOMEM;
		}
	}
	for (size_t i = 0; i < n; i++) {
		ids[i] = srcs[i]->id;
		nsets += srcs[i]->rr.nsets;
		nskipped += srcs[i]->rr.nskipped;
		sets[i] = &srcs[i]->rr;
	}
	/* the file's header, so that the text saved is the text compiled */
	arm_state_header(&txt, zone, ids, n, time(NULL));
	free(ids);
	body_off = txt.len;
	if (arm_records_zone_text(zone, sets, n, &txt) < 0 || txt.oom) {
		free(sets);
		arm_buf_free(&txt);
		log_err("arm: out of memory building zone %s", zone);
		return FWD_ENOMEM;
	}
	free(sets);
	if (nskipped > 0)
		log_info("arm: zone %s: %zu record sets of types not served were skipped", zone, nskipped);
	hash = arm_records_hash(txt.p + body_off, txt.len - body_off);
	if (old != NULL && old->hash == hash) {
		arm_buf_free(&txt);
		return 0;
	}
	snprintf(srcname, sizeof(srcname), "arm:%s", zone);
	z = zone_load_text(zone, txt.p + body_off, srcname, err, sizeof(err));
	if (z == NULL) {
		log_err("arm: zone %s from ARM does not compile: %s; %s", zone, err,
			old ? "keeping the last good copy" : "not served");
		snprintf(berr, berrlen, "the zone from ARM does not compile: %s", err);
		arm_buf_free(&txt);
		return FWD_EPARSE;
	}
	arm_apply_serial(s, zone, z, hash);
	*nsets_out = arm_records_count_sets(txt.p + body_off, txt.len - body_off);
	if (s->state_dir != NULL)
		arm_state_write(s->state_dir, zone, txt.p, txt.len); /* failure logged; still serve */
	arm_buf_free(&txt);
	np->name = strdup(zone);
	np->subs = calloc(s->nslots, 1);
	if (np->name == NULL || np->subs == NULL) {
		zone_unref(z);
		free(np->name);
		free(np->subs);
		log_err("arm: out of memory publishing zone %s", zone);
		return FWD_ENOMEM;
	}
	for (size_t i = 0; i < n; i++)
		np->subs[srcs[i]->sub] = 1;
	np->zone = z;
	np->hash = hash;
	np->fallback_public = arm_cfg_zone_fallback(s->cfg, zone);
	{
		size_t npe = 0;
		for (size_t i = 0; i < n; i++)
			npe += srcs[i]->pe != 0;
		np->endpoints = npe == 0 ? 0 : npe == n ? 2 : 1;
	}
	log_info("arm: zone %s %s: %zu record sets, %zu records", zone, old ? "updated" : "added", nsets,
		 zone_rr_count(z));
	return 1;
}

/* Did discovery fail for a subscription this zone came from? */
static int arm_pub_touched_by_failure(const struct arm_sync *s, const struct arm_pub *p)
{
	const struct arm_round *r = s->round;

	for (size_t i = 0; i < s->nslots; i++)
		if (r->sub_failed[i] && p->subs[i])
			return 1;
	return 0;
}

/* Why a zone from subscriptions subs was not refreshed this round: the
 * zone list of one of them failed. */
static void arm_sub_failure_text(const struct arm_sync *s, const uint8_t *subs, char *buf, size_t cap)
{
	const struct arm_round *r = s->round;

	for (size_t i = 0; i < s->nslots; i++) {
		if (!r->sub_failed[i] || !subs[i])
			continue;
		snprintf(buf, cap, "not refreshed: listing the zones of subscription %s failed: %s",
			 arm_slot_name(s, i), r->sub_err[i] ? r->sub_err[i] : "(see the log)");
		return;
	}
	snprintf(buf, cap, "not refreshed: a zone listing failed (see the log)");
}

/*
 * A source finished listing: when it was the last one of its zone, build
 * the zone now and drop the record text, so a round over many zones holds
 * the text of only the zones still being listed.
 */
static void arm_zone_ready(struct arm_sync *s, struct arm_src *src)
{
	struct arm_round *r = s->round;
	size_t g0 = src->idx, g1 = src->idx + 1;
	struct arm_src *head;
	const struct arm_pub *old;
	struct arm_zstat *z;
	char berr[600] = "";
	size_t nsets = 0;
	int bad = 0;

	while (g0 > 0 && strcmp(r->srcs[g0 - 1]->zone, src->zone) == 0)
		g0--;
	while (g1 < r->nsrcs && strcmp(r->srcs[g1]->zone, src->zone) == 0)
		g1++;
	for (size_t i = g0; i < g1; i++) {
		if (r->srcs[i]->listed && !r->srcs[i]->finished)
			return;
		bad |= r->srcs[i]->failed;
	}
	head = r->srcs[g0];
	if (head->built)
		return;
	head->built = 1;
	old = arm_pub_lookup(s, src->zone);
	if (bad)
		head->build_rc = FWD_EIO; /* logged where it failed */
	else if (old != NULL && arm_pub_touched_by_failure(s, old))
		head->build_rc = ARM_BUILD_KEPT;
	else
		head->build_rc = arm_build_zone(s, &r->srcs[g0], g1 - g0, old, &head->np, &nsets,
						berr, sizeof(berr));
	for (size_t i = g0; i < g1; i++)
		arm_rrsets_free(&r->srcs[i]->rr);

	/* The zone's own state, for zones and /metrics. */
	if (bad) {
		for (size_t i = g0; i < g1; i++) {
			const struct arm_src *f = r->srcs[i];
			if (!f->failed)
				continue;
			if (g1 - g0 > 1)
				snprintf(berr, sizeof(berr), "%s: %s", f->id, f->err ? f->err : "failed");
			else
				snprintf(berr, sizeof(berr), "%s", f->err ? f->err : "failed");
			break;
		}
	} else if (head->build_rc == ARM_BUILD_KEPT) {
		arm_sub_failure_text(s, old->subs, berr, sizeof(berr));
	}
	arm_zstats_result(&s->zst, src->zone, head->build_rc >= 0 ? NULL : berr);
	z = arm_zstats_get(&s->zst, src->zone);
	if (z != NULL) {
		const char **ids = calloc(g1 - g0, sizeof(*ids));
		if (ids != NULL) {
			for (size_t i = g0; i < g1; i++)
				ids[i - g0] = r->srcs[i]->id;
			arm_zstat_set_sources(z, ids, g1 - g0);
			free(ids);
		}
		if (head->build_rc == 1)
			z->record_sets = nsets;
	}
}

static int arm_src_zone_cmp(const void *key, const void *elem)
{
	return strcmp(key, (*(struct arm_src *const *)elem)->zone);
}

/*
 * arm_zstats_prune() predicate, after a round that listed every
 * subscription: a zone's state stays while the zone is served or in ARM
 * (deleted and filtered-out zones go).
 */
static int arm_zstat_keep(void *arg, const char *name)
{
	const struct arm_sync *s = arg;
	const struct arm_round *r = s->round;

	return arm_pub_lookup(s, name) != NULL ||
	       (r->nsrcs > 0 &&
		bsearch(name, r->srcs, r->nsrcs, sizeof(*r->srcs), arm_src_zone_cmp) != NULL);
}

static void arm_round_end(struct arm_sync *s)
{
	struct arm_round *r = s->round;
	struct arm_pub *out;
	size_t nout = 0, added = 0, updated = 0, removed = 0, failed = 0, kept = 0;
	size_t i = 0, k = 0;
	int discovery_ok = 1;
	uint64_t ms;

	for (size_t x = 0; x < s->nslots; x++)
		if (r->sub_failed[x])
			discovery_ok = 0;
	/* Upper bound: every old zone plus every listed one. */
	out = calloc(s->npubs + r->nsrcs + 1, sizeof(*out));
	if (out == NULL) {
		log_err("arm: out of memory finishing a sync round; nothing published");
		r->any_failed = 1;
		goto done;
	}
	/* Walk old pubs and zone groups (both sorted by name) together. */
	while (i < r->nsrcs || k < s->npubs) {
		int c;
		if (i >= r->nsrcs)
			c = 1;
		else if (k >= s->npubs)
			c = -1;
		else
			c = strcmp(r->srcs[i]->zone, s->pubs[k].name);
		if (c > 0) {
			/* Published, absent from this listing. */
			struct arm_pub *p = &s->pubs[k++];
			int may_delete = discovery_ok && (r->only == NULL || strcmp(r->only, p->name) == 0);
			if (may_delete) {
				log_info("arm: zone %s is no longer in ARM (or no longer matches the "
					 "filters); removed",
					 p->name);
				arm_state_remove(s->state_dir, p->name);
				arm_pub_clear(p);
				removed++;
			} else {
				if ((r->only == NULL || strcmp(r->only, p->name) == 0) &&
				    arm_pub_touched_by_failure(s, p)) {
					char why[600];
					arm_sub_failure_text(s, p->subs, why, sizeof(why));
					arm_zstats_result(&s->zst, p->name, why);
				}
				out[nout++] = *p;
				memset(p, 0, sizeof(*p));
				kept++;
			}
			continue;
		}
		{
			struct arm_src *head = r->srcs[i];
			struct arm_pub *old = c == 0 ? &s->pubs[k] : NULL;
			size_t g = i;
			while (g < r->nsrcs && strcmp(r->srcs[g]->zone, head->zone) == 0)
				g++;
			if (head->built && head->build_rc == 1) {
				out[nout++] = head->np;
				memset(&head->np, 0, sizeof(head->np));
				if (old != NULL) {
					arm_pub_clear(old);
					updated++;
				} else {
					added++;
				}
			} else {
				if (head->built && head->build_rc == 0) {
					/* Unchanged text; the sources may still have moved. */
					memset(old->subs, 0, s->nslots);
					for (size_t x = i; x < g; x++)
						old->subs[r->srcs[x]->sub] = 1;
				}
				if (head->built && head->build_rc < 0 && head->build_rc != ARM_BUILD_KEPT)
					failed++;
				else if (old != NULL)
					kept++;
				if (old != NULL) {
					out[nout++] = *old;
					memset(old, 0, sizeof(*old));
				}
			}
			i = g;
			if (c == 0)
				k++;
		}
	}
	for (size_t x = 0; x < s->npubs; x++)
		arm_pub_clear(&s->pubs[x]);
	free(s->pubs);
	s->pubs = out;
	s->npubs = nout;
	if (added + updated + removed > 0)
		arm_publish_now(s);
	if (discovery_ok && r->only == NULL)
		arm_zstats_prune(&s->zst, arm_zstat_keep, s);
	if (s->cfg->private_endpoints && r->only == NULL && !r->pe_failed) {
		/* the notes of a complete endpoint listing replace the old ones;
		 * what changed is logged once */
		arm_pe_view_log_changes(s->pe_view_valid ? &s->pe_view : NULL, &r->view);
		arm_pe_view_free(&s->pe_view);
		s->pe_view = r->view;
		memset(&r->view, 0, sizeof(r->view));
		s->pe_view_valid = 1;
		log_debug("arm: private endpoints: %zu approved, %zu pending, %zu rejected, %zu "
			  "disconnected, %zu other; %zu record sets made",
			  s->pe_view.by_state[ARM_PE_APPROVED], s->pe_view.by_state[ARM_PE_PENDING],
			  s->pe_view.by_state[ARM_PE_REJECTED], s->pe_view.by_state[ARM_PE_DISCONNECTED],
			  s->pe_view.by_state[ARM_PE_OTHER], s->pe_view.records);
	}
done:
	ms = clock_ms(s->clock) - r->started_ms;
	if (!discovery_ok)
		r->any_failed = 1;
	s->st.rounds++;
	s->st.last_duration_ms = ms;
	if (r->any_failed)
		s->st.rounds_failed++;
	else
		s->st.last_success_unix = (int64_t)time(NULL);
	snprintf(s->st.last_error, sizeof(s->st.last_error), "%s",
		 r->any_failed && r->first_err[0] == '\0' ? "failed (see the log)" : r->first_err);
	log_info("arm: sync %s in %llu ms: %zu zones served (%zu added, %zu updated, %zu removed, "
		 "%zu unchanged or kept, %zu failed)",
		 r->any_failed ? "finished with errors" : "done", (unsigned long long)ms, s->npubs,
		 added, updated, removed, kept, failed);
	arm_round_free(r);
	s->round = NULL;
	s->st.running = 0;
	/* Next round: interval after this one started, or now if triggered. */
	if (s->again) {
		char *z = s->again_zone;
		s->again = 0;
		s->again_zone = NULL;
		arm_round_start(s, z);
		free(z);
	} else if (s->started) {
		struct timeval tv = {s->cfg->interval_s, 0};
		uint64_t iv = (uint64_t)s->cfg->interval_s * 1000;
		if (ms < iv) {
			tv.tv_sec = (time_t)((iv - ms) / 1000);
			tv.tv_usec = (suseconds_t)(((iv - ms) % 1000) * 1000);
		} else {
			tv.tv_sec = 0;
		}
		evtimer_add(s->tick_ev, &tv);
	}
}

/* A job is over: ok = listing complete.  Advances the round's phases. */
static void arm_job_finish(struct arm_sync *s, struct arm_job *j, int ok)
{
	struct arm_round *r = s->round;

	if (!ok) {
		const char *e = j->req.err[0] ? j->req.err : "failed (see the log)";
		char what[600];
		if (j->kind == ARM_JOB_ZONES) {
			r->sub_failed[j->sub] = 1;
			if (r->sub_err[j->sub] == NULL)
				r->sub_err[j->sub] = strdup(e);
		} else if (j->kind == ARM_JOB_RG_ZONES || j->kind == ARM_JOB_RG_ENDPOINTS) {
			/* one query covers every subscription: all keep their data */
			for (size_t x = 0; x < r->nsubs; x++) {
				r->sub_failed[x] = 1;
				if (j->kind == ARM_JOB_RG_ENDPOINTS)
					r->pe_sub_failed[x] = 1;
				if (r->sub_err[x] == NULL)
					r->sub_err[x] = strdup(e);
			}
			if (j->kind == ARM_JOB_RG_ENDPOINTS)
				r->pe_failed = 1;
		} else if (j->kind == ARM_JOB_RG_RECORDS) {
			/* no round failure yet: every zone is listed from ARM */
		} else if (j->kind == ARM_JOB_ENDPOINTS) {
			/* complete listings only: the subscription's zones keep their
			 * last good copy this round */
			char pe_err[600];
			snprintf(pe_err, sizeof(pe_err), "private endpoints: %s", e);
			r->sub_failed[j->sub] = 1;
			r->pe_sub_failed[j->sub] = 1;
			r->pe_failed = 1;
			if (r->sub_err[j->sub] == NULL)
				r->sub_err[j->sub] = strdup(pe_err);
		} else {
			j->src->failed = 1;
			if (j->src->err == NULL)
				j->src->err = strdup(e);
		}
		if (j->kind != ARM_JOB_RG_RECORDS) {
			if (r->first_err[0] == '\0')
				snprintf(r->first_err, sizeof(r->first_err), "%s: %s",
					 arm_job_what(j, what, sizeof(what)), e);
			r->any_failed = 1;
		}
	}
	if (j->kind == ARM_JOB_RECORDS) {
		j->src->finished = 1;
		arm_zone_ready(s, j->src);
	}
	if (j->kind == ARM_JOB_RG_RECORDS)
		arm_rg_records_done(s, ok); /* may add jobs: before pending is counted down */
	if (--r->pending > 0)
		return;
	if (r->phase == 1) {
		arm_round_records(s);
		if (r->pending > 0) {
			arm_sched_run(&s->sched);
			return;
		}
	}
	arm_round_end(s);
}

static void arm_round_start(struct arm_sync *s, const char *only)
{
	struct arm_round *r;
	size_t nscopes;

	if (s->round != NULL) {
		/* Coalesce: one more round after this one, for all zones if
		 * any trigger asked for all. */
		if (!s->again) {
			s->again = 1;
			s->again_zone = only ? strdup(only) : NULL;
		} else if (only == NULL || s->again_zone == NULL || strcmp(only, s->again_zone) != 0) {
			free(s->again_zone);
			s->again_zone = NULL;
		}
		return;
	}
	evtimer_del(s->tick_ev);
	r = calloc(1, sizeof(*r));
	if (r == NULL)
		goto nomem;
	r->nsubs = s->nslots;
	r->sub_failed = calloc(s->nslots, 1);
	r->sub_err = calloc(s->nslots, sizeof(*r->sub_err));
	r->pe_sub_failed = calloc(s->nslots, 1);
	if (r->sub_failed == NULL || r->sub_err == NULL || r->pe_sub_failed == NULL ||
	    (only != NULL && (r->only = strdup(only)) == NULL)) {
		arm_round_free(r);
		goto nomem;
	}
	r->started_ms = clock_ms(s->clock);
	r->phase = 1;
	if (only == NULL) {
		/* A full round answers every trigger that is still waiting. */
		s->again = 0;
		free(s->again_zone);
		s->again_zone = NULL;
	}
	s->round = r;
	s->st.running = 1;
	log_debug("arm: sync started%s%s", only ? " for zone " : "", only ? only : "");
	nscopes = s->cfg->nresource_groups ? s->cfg->nresource_groups : 1;
	if (s->rg) {
		/* one query for the zones, one for the endpoints, every
		 * subscription in scope at once */
		if (arm_rg_job(s, ARM_JOB_RG_ZONES, ARM_RG_QUERY_ZONES) != NULL)
			arm_sched_push(&s->sched, &r->jobs[r->njobs - 1]->req);
		else
			memset(r->sub_failed, 1, r->nsubs);
		if (s->cfg->private_endpoints) {
			if (arm_rg_job(s, ARM_JOB_RG_ENDPOINTS, ARM_RG_QUERY_ENDPOINTS) != NULL) {
				arm_sched_push(&s->sched, &r->jobs[r->njobs - 1]->req);
			} else {
				memset(r->sub_failed, 1, r->nsubs);
				memset(r->pe_sub_failed, 1, r->nsubs);
				r->pe_failed = 1;
			}
		}
		nscopes = 0; /* no per-subscription lists */
	}
	for (size_t sub = 0; nscopes > 0 && sub < s->cfg->nsubscriptions; sub++) {
		for (size_t g = 0; g < nscopes; g++) {
			const char *rg = s->cfg->nresource_groups ? s->cfg->resource_groups[g] : NULL;
			char *url = arm_url_zones(s, sub, rg);
			struct arm_job *j = url ? arm_job_new(s, ARM_JOB_ZONES, url) : NULL;
			if (j == NULL) {
				r->sub_failed[sub] = 1;
				continue;
			}
			j->sub = sub;
			j->rg = rg;
			arm_sched_push(&s->sched, &j->req);
		}
	}
	for (size_t sub = 0; nscopes > 0 && s->cfg->private_endpoints && sub < s->cfg->nsubscriptions; sub++) {
		for (size_t g = 0; g < nscopes; g++) {
			const char *rg = s->cfg->nresource_groups ? s->cfg->resource_groups[g] : NULL;
			char *url = arm_url_endpoints(s, sub, rg);
			struct arm_job *j = url ? arm_job_new(s, ARM_JOB_ENDPOINTS, url) : NULL;
			if (j == NULL) {
				r->sub_failed[sub] = 1;
				r->pe_sub_failed[sub] = 1;
				r->pe_failed = 1;
				continue;
			}
			j->sub = sub;
			j->rg = rg;
			arm_sched_push(&s->sched, &j->req);
		}
	}
	if (r->pending == 0) {
		arm_round_end(s);
		return;
	}
	arm_sched_run(&s->sched);
	return;
nomem:
	log_err("arm: out of memory starting a sync round");
}

/* ---------------------------------------------------------------- events */

static void arm_tick_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	arm_round_start(arg, NULL);
}

static void arm_kick_cb(evutil_socket_t fd, short what, void *arg)
{
	struct arm_sync *s = arg;
	char *z = s->again_zone;

	(void)fd;
	(void)what;
	if (!s->again)
		return;
	s->again = 0;
	s->again_zone = NULL;
	arm_round_start(s, z);
	free(z);
}

/* ---------------------------------------------------------------- public */

struct arm_sync *arm_sync_new(struct event_base *main_base, const struct fwd_clock *clock,
			      const struct arm_cfg *ac, int cloud,
			      const char *state_dir, arm_publish_fn publish, void *ctx)
{
	struct arm_sync *s = calloc(1, sizeof(*s));
	struct arm_sched_ops sched_ops = {arm_ops_page, arm_ops_fail, arm_ops_what, arm_ops_throttled, s};
	struct arm_auth_params ap;
	struct arm_endpoints ep;
	char err[300];

	if (s == NULL)
		goto nomem;
	s->base = main_base;
	s->clock = clock;
	s->publish = publish;
	s->ctx = ctx;
	s->cfg = arm_cfg_dup(ac);
	if (s->cfg == NULL)
		goto nomem_free;
	s->pe_cloud = ac->cloud >= 0 ? ac->cloud : cloud;
	s->nslots = arm_cfg_nslots(s->cfg);
	s->rg = s->cfg->discovery == ARM_DISCOVERY_RESOURCE_GRAPH;
	for (size_t i = 0; i < s->cfg->nendpoint_zones; i++) {
		char *z = s->cfg->endpoint_zones[i];
		size_t n = strlen(z);
		while (n > 1 && z[n - 1] == '.')
			z[--n] = '\0';
	}
	if (arm_cfg_endpoints(ac, cloud, &ep, err, sizeof(err)) < 0) {
		log_err("%s", err);
		goto fail;
	}
	memset(&ap, 0, sizeof(ap));
	ap.kind = ac->auth;
	ap.login_endpoint = ep.login;
	ap.imds_endpoint = ep.imds;
	ap.audience = ep.audience;
	ap.client_id = ep.client_id;
	ap.tenant_id = ep.tenant_id;
	ap.secret_file = ac->client_secret_file;
	ap.secret_env = ac->client_secret_env;
	ap.federated_token_file = ep.federated_token_file;
	ap.clock = clock;
	ap.max_retries = ac->max_retries;
	s->arm = strdup(ep.arm);
	if (s->arm == NULL)
		goto nomem_free;
	while (strlen(s->arm) > 0 && s->arm[strlen(s->arm) - 1] == '/')
		s->arm[strlen(s->arm) - 1] = '\0';
	if (xfr_serials_open(state_dir, &s->serials) != FWD_OK)
		s->serials = NULL; /* out of memory: Azure's serials are served */
	if (state_dir != NULL && (s->state_dir = strdup(state_dir)) == NULL)
		goto nomem_free;
	if (state_dir == NULL)
		log_warn("arm: no state-dir: synced zones are not saved and a restart with ARM out of "
			 "reach serves none of them");
	s->http = arm_http_new(main_base, ac->ca_file, ac->timeout_s);
	if (s->http == NULL)
		goto fail;
	/* the token callback goes to the scheduler, set up just below */
	s->auth = arm_auth_new(main_base, s->http, &ap, arm_sched_auth_ready, &s->sched);
	if (s->auth == NULL)
		goto fail;
	s->tick_ev = evtimer_new(main_base, arm_tick_cb, s);
	s->kick_ev = event_new(main_base, -1, 0, arm_kick_cb, s);
	if (s->tick_ev == NULL || s->kick_ev == NULL ||
	    arm_sched_init(&s->sched, main_base, clock, s->http, s->auth, s->cfg->max_inflight,
			   s->cfg->max_retries, &sched_ops) < 0)
		goto nomem_free;
	if (s->rg)
		log_info("arm: discovery through Resource Graph over %s%s",
			 ac->nsubscriptions	       ? "the subscriptions given"
			 : ac->nmanagement_groups ? "the management groups given"
						   : "every subscription the identity can read",
			 ac->records_from == ARM_RECORDS_FROM_RESOURCE_GRAPH ? "; record sets from dnsresources" : "");
	log_info("arm: syncing %zu subscription(s) from %s every %d s (%s)", ac->nsubscriptions, s->arm,
		 ac->interval_s,
		 ac->auth == ARM_AUTH_MANAGED_IDENTITY  ? "managed identity"
		 : ac->auth == ARM_AUTH_CLIENT_SECRET ? "client secret"
						      : "workload identity");
	return s;
nomem_free:
	log_err("arm: out of memory setting up the sync");
fail:
	arm_sync_free(s);
	return NULL;
nomem:
	log_err("arm: out of memory setting up the sync");
	return NULL;
}

void arm_sync_start(struct arm_sync *s)
{
	s->started = 1;
	arm_sync_trigger(s, NULL);
}

void arm_sync_trigger(struct arm_sync *s, const char *zone)
{
	char name[256];

	if (zone != NULL) {
		size_t n = strlen(zone);
		if (n >= sizeof(name)) {
			log_warn("arm: sync requested for an over-long zone name; ignored");
			return;
		}
		memcpy(name, zone, n + 1);
		arm_lower(name);
		if (n > 1 && name[n - 1] == '.')
			name[n - 1] = '\0';
		zone = name;
	}
	if (s->round != NULL) {
		arm_round_start(s, zone); /* queues another round */
		return;
	}
	/* Start from the loop, not from inside the caller (a signal
	 * handler event or a control request). */
	if (!s->again) {
		s->again = 1;
		s->again_zone = zone ? strdup(zone) : NULL;
	} else if (zone == NULL || s->again_zone == NULL || strcmp(zone, s->again_zone) != 0) {
		free(s->again_zone);
		s->again_zone = NULL;
	}
	event_active(s->kick_ev, EV_TIMEOUT, 0);
}

void arm_sync_free(struct arm_sync *s)
{
	if (s == NULL)
		return;
	/* HTTP first: its requests point at jobs of the round. */
	arm_http_free(s->http);
	arm_auth_free(s->auth);
	arm_round_free(s->round);
	xfr_serials_free(s->serials);
	if (s->tick_ev != NULL)
		event_free(s->tick_ev);
	if (s->kick_ev != NULL)
		event_free(s->kick_ev);
	arm_sched_fini(&s->sched);
	for (size_t i = 0; i < s->npubs; i++)
		arm_pub_clear(&s->pubs[i]);
	free(s->pubs);
	arm_zstats_free(&s->zst);
	arm_pe_view_free(&s->pe_view);
	free(s->again_zone);
	free(s->arm);
	free(s->state_dir);
	arm_cfg_free(s->cfg);
	free(s);
}

void arm_sync_stats(const struct arm_sync *s, struct arm_sync_stats *out)
{
	*out = s->st;
	out->rg_quota_waits = s->rg_quota_waits;
	out->rg_direct_listings = s->rg_direct_listings;
	out->requests = s->sched.requests;
	out->throttled = s->sched.throttled;
	out->retries = s->sched.retries;
}

/* ---------------------------------------------------------------- per-zone queries */

/* zone as the tables key it: lower-case, no trailing dot; -1 if too long. */
static int arm_zone_key(const char *zone, char *out, size_t cap)
{
	size_t n = strlen(zone);

	if (n >= cap)
		return -1;
	memcpy(out, zone, n + 1);
	arm_lower(out);
	if (n > 1 && out[n - 1] == '.')
		out[n - 1] = '\0';
	return 0;
}

static void arm_zone_info_fill(const struct arm_sync *s, const struct arm_zstat *z,
			       struct arm_zone_info *out)
{
	const struct arm_pub *p = arm_pub_lookup(s, z->name);

	arm_zstat_info(z, p != NULL ? p->zone : NULL, out);
}

size_t arm_sync_zone_count(const struct arm_sync *s)
{
	return s->zst.n;
}

int arm_sync_zone_at(const struct arm_sync *s, size_t i, struct arm_zone_info *out)
{
	if (i >= s->zst.n)
		return FWD_ENOENT;
	arm_zone_info_fill(s, &s->zst.v[i], out);
	return 0;
}

int arm_sync_zone_info(const struct arm_sync *s, const char *zone, struct arm_zone_info *out)
{
	char key[256];
	const struct arm_zstat *z;

	if (arm_zone_key(zone, key, sizeof(key)) < 0 || (z = arm_zstats_find(&s->zst, key)) == NULL)
		return FWD_ENOENT;
	arm_zone_info_fill(s, z, out);
	return 0;
}

int arm_sync_zone_file(const struct arm_sync *s, const char *zone, char **text, size_t *len,
		       int *current, char *path, size_t pathcap)
{
	char key[256];
	const struct arm_pub *p;
	uint64_t hash;
	int rc;

	*text = NULL;
	*len = 0;
	*current = 0;
	if (s->state_dir == NULL || arm_zone_key(zone, key, sizeof(key)) < 0 ||
	    (p = arm_pub_lookup(s, key)) == NULL)
		return FWD_ENOENT;
	rc = arm_state_read(s->state_dir, key, text, len, &hash, path, pathcap);
	if (rc < 0)
		return rc;
	*current = hash == p->hash;
	return 0;
}

/* ---------------------------------------------------------------- private endpoints */

void arm_sync_pe_stats(const struct arm_sync *s, struct arm_pe_stats *out)
{
	memset(out, 0, sizeof(*out));
	out->enabled = s->cfg->private_endpoints;
	out->valid = s->pe_view_valid;
	if (!s->pe_view_valid)
		return;
	for (int i = 0; i < ARM_PE_NSTATES; i++)
		out->by_state[i] = s->pe_view.by_state[i];
	for (size_t i = 0; i < s->pe_view.n; i++) {
		enum arm_pe_note_kind k = s->pe_view.v[i].kind;
		if (k >= 1 && k < ARM_PE_NOTE_NKINDS)
			out->names[k]++;
	}
}

void arm_sync_pe_find(const struct arm_sync *s, const char *name,
		      void (*fn)(void *arg, const struct arm_pe_note *n), void *arg)
{
	char key[256];

	if (!s->pe_view_valid || arm_zone_key(name, key, sizeof(key)) < 0)
		return;
	arm_pe_view_find(&s->pe_view, key, fn, arg);
}
