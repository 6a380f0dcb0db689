/*
 * control_json.c -- pieces of the control socket's JSON answers that both
 * control.c (the commands) and explain.c build (see control_json.h).
 */
#include "control_json.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "arm_records.h"
#include "arm_sync.h"
#include "collect.h"
#include "config.h"
#include "route.h"
#include "snapshot.h"
#include "wire.h"
#include "zone.h"

cJSON *ctl_ok(void)
{
	cJSON *o = cJSON_CreateObject();
	if (o)
		cJSON_AddBoolToObject(o, "ok", 1);
	return o;
}

cJSON *ctl_err(const char *fmt, ...)
{
	char msg[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	cJSON *o = cJSON_CreateObject();
	if (o) {
		cJSON_AddBoolToObject(o, "ok", 0);
		cJSON_AddStringToObject(o, "error", msg);
	}
	return o;
}

void ctl_add_u64(cJSON *o, const char *k, uint64_t v) { cJSON_AddNumberToObject(o, k, (double)v); }

void ctl_add_time(cJSON *o, const char *k, int64_t unix_s)
{
	if (unix_s > 0)
		cJSON_AddNumberToObject(o, k, (double)unix_s);
	else
		cJSON_AddNullToObject(o, k);
}

cJSON *ctl_rcodes_json(const uint64_t *by_rcode)
{
	cJSON *o = cJSON_CreateObject();
	for (int r = 0; o && r < STATS_RC_N; r++)
		ctl_add_u64(o, stats_rcode_name((enum stats_rcode)r), by_rcode[r]);
	return o;
}

const char *ctl_addr_text(const struct sockaddr_storage *ss, char *buf, size_t cap)
{
	char a[INET6_ADDRSTRLEN] = "?";
	if (ss->ss_family == AF_INET) {
		const struct sockaddr_in *s4 = (const struct sockaddr_in *)ss;
		inet_ntop(AF_INET, &s4->sin_addr, a, sizeof(a));
		snprintf(buf, cap, "%s@%u", a, ntohs(s4->sin_port));
	} else if (ss->ss_family == AF_INET6) {
		const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)ss;
		inet_ntop(AF_INET6, &s6->sin6_addr, a, sizeof(a));
		snprintf(buf, cap, "[%s]@%u", a, ntohs(s6->sin6_port));
	} else {
		snprintf(buf, cap, "?");
	}
	return buf;
}

const struct cfg_zone *ctl_cfg_zone(const struct cfg *cfg, const char *name)
{
	for (size_t i = 0; i < cfg->nzones; i++)
		if (strcasecmp(cfg->zones[i].name, name) == 0)
			return &cfg->zones[i];
	return NULL;
}

/* The ARM side of a synced zone: where it comes from and how its last
 * listings went (zones, explain). */
void ctl_arm_zone_fields(cJSON *o, const struct arm_zone_info *zi)
{
	int64_t last = zi ? zi->last_success_unix : 0;

	ctl_add_time(o, "last_sync", last);
	if (last > 0)
		cJSON_AddNumberToObject(o, "age_s", (double)((int64_t)time(NULL) - last));
	else
		cJSON_AddNullToObject(o, "age_s");
	if (zi == NULL) {
		cJSON_AddNullToObject(o, "last_attempt");
		cJSON_AddNullToObject(o, "last_error");
		return;
	}
	ctl_add_time(o, "last_attempt", zi->last_attempt_unix);
	if (zi->last_error)
		cJSON_AddStringToObject(o, "last_error", zi->last_error);
	else
		cJSON_AddNullToObject(o, "last_error");
	ctl_add_u64(o, "consecutive_failures", zi->consecutive_failures);
	ctl_add_u64(o, "attempts", zi->attempts);
	ctl_add_u64(o, "failures", zi->failures);
	ctl_add_u64(o, "throttled", zi->throttled);
	ctl_add_u64(o, "record_sets", zi->record_sets);
	cJSON *srcs = cJSON_AddArrayToObject(o, "sources");
	for (size_t i = 0; i < zi->nsources; i++) {
		char part[256];
		cJSON *so = cJSON_CreateObject();
		cJSON_AddStringToObject(so, "id", zi->sources[i]);
		if (arm_records_id_part(zi->sources[i], "subscriptions", part, sizeof(part)) == 0)
			cJSON_AddStringToObject(so, "subscription", part);
		if (arm_records_id_part(zi->sources[i], "resourcegroups", part, sizeof(part)) == 0)
			cJSON_AddStringToObject(so, "resource_group", part);
		cJSON_AddItemToArray(srcs, so);
	}
}

/* Describe one zone of the snapshot (zones, explain). */
cJSON *ctl_zone_json(const struct snapshot *snap, const struct route_zone *rz, const struct arm_sync *arm)
{
	cJSON *o = cJSON_CreateObject();
	char name[1025];
	size_t alen;
	wire_name_to_text(zone_apex(rz->zone, &alen), name, sizeof(name));
	cJSON_AddStringToObject(o, "name", name);
	/* a zone built from private endpoints alone is their kind of zone; an
	 * ARM zone that also holds endpoint records says so beside "arm" */
	cJSON_AddStringToObject(o, "source", rz->origin != ORIGIN_ZONE_ARM ? "file"
					     : rz->endpoints == 2	   ? "endpoint"
									   : "arm");
	if (rz->origin == ORIGIN_ZONE_ARM && rz->endpoints == 1)
		cJSON_AddBoolToObject(o, "endpoint_records", 1);
	cJSON_AddBoolToObject(o, "served", 1);
	ctl_add_u64(o, "records", zone_rr_count(rz->zone));
	ctl_add_u64(o, "serial", zone_serial(rz->zone));
	cJSON_AddStringToObject(o, "fallback", rz->fallback_public ? "public" : "none");
	if (rz->origin == ORIGIN_ZONE_ARM) {
		struct arm_zone_info zi;
		int have = arm != NULL && arm_sync_zone_info(arm, name, &zi) == 0;
		ctl_arm_zone_fields(o, have ? &zi : NULL);
	} else {
		const struct cfg_zone *cz = ctl_cfg_zone(snap->cfg, name);
		if (cz) {
			if (cz->path) /* none for a secondary zone (primary:) */
				cJSON_AddStringToObject(o, "file", cz->path);
			char where[1100];
			snprintf(where, sizeof(where), "%s:%d", snap->cfg->file, cz->line);
			cJSON_AddStringToObject(o, "config", where);
		}
	}
	return o;
}

cJSON *ctl_zone_list(const struct snapshot *snap, const struct arm_sync *arm)
{
	cJSON *zs = cJSON_CreateArray();
	if (!zs)
		return NULL;
	for (size_t i = 0; i < snap->nzones; i++)
		cJSON_AddItemToArray(zs, ctl_zone_json(snap, &snap->zones[i], arm));
	/* zones ARM lists but that are not served: their listing never
	 * succeeded, and the reason is what the admin is looking for */
	for (size_t i = 0; arm && i < arm_sync_zone_count(arm); i++) {
		struct arm_zone_info zi;
		char name[300];
		if (arm_sync_zone_at(arm, i, &zi) != 0 || zi.served)
			continue;
		cJSON *z = cJSON_CreateObject();
		snprintf(name, sizeof(name), "%s.", zi.name);
		cJSON_AddStringToObject(z, "name", name);
		cJSON_AddStringToObject(z, "source", "arm");
		cJSON_AddBoolToObject(z, "served", 0);
		ctl_add_u64(z, "records", 0);
		cJSON_AddNullToObject(z, "serial");
		cJSON_AddNullToObject(z, "fallback");
		ctl_arm_zone_fields(z, &zi);
		cJSON_AddItemToArray(zs, z);
	}
	return zs;
}

cJSON *ctl_server_json(const struct cfg_addr *a, const struct cfg_caps *caps, const struct stats_total *t)
{
	char buf[128];
	cJSON *o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "address", ctl_addr_text(&a->ss, buf, sizeof(buf)));
	ctl_add_u64(o, "max_qps", (uint64_t)caps->max_qps);
	ctl_add_u64(o, "max_outstanding", (uint64_t)caps->max_outstanding);
	const struct stats_server *sv = NULL;
	for (size_t i = 0; t && i < t->nservers && !sv; i++)
		if (t->servers[i].addrlen == a->len && memcmp(&t->servers[i].addr, &a->ss, a->len) == 0)
			sv = &t->servers[i];
	if (!sv || sv->sent == 0) {
		cJSON_AddStringToObject(o, "state", "unused");
	} else {
		cJSON_AddStringToObject(o, "state", sv->down ? "down" : "up");
		if (sv->srtt_n)
			ctl_add_u64(o, "srtt_us", sv->srtt_sum_us / sv->srtt_n);
		ctl_add_u64(o, "sent", sv->sent);
		ctl_add_u64(o, "answered", sv->answered);
		ctl_add_u64(o, "failed", sv->failed);
		ctl_add_u64(o, "timeouts", sv->timeouts);
		ctl_add_u64(o, "outstanding", sv->outstanding);
	}
	return o;
}
