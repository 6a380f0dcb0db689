/*
 * control_json.h -- pieces of the control socket's JSON answers (protocol in
 * control.h) that the commands of control.c and explain.c both build: the
 * ok / error objects, numbers and times, addresses, and the description of
 * a served zone.  Main thread; nothing here keeps state.
 */
#ifndef PLINKFWD_CONTROL_JSON_H
#define PLINKFWD_CONTROL_JSON_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include <cjson/cJSON.h>

#include "common.h"

struct arm_sync;
struct arm_zone_info;
struct cfg;
struct cfg_addr;
struct cfg_caps;
struct cfg_zone;
struct route_zone;
struct snapshot;
struct stats_total;

/* {"ok": true}, or {"ok": false, "error": MESSAGE}; NULL when out of memory. */
cJSON *ctl_ok(void);
cJSON *ctl_err(const char *fmt, ...) FWD_PRINTF(1, 2);

/* o[k] = v. */
void ctl_add_u64(cJSON *o, const char *k, uint64_t v);
/* o[k] = a Unix time, or null when unix_s is 0 (never). */
void ctl_add_time(cJSON *o, const char *k, int64_t unix_s);

/* {"NOERROR": n, "FORMERR": n, ...}: one count per rcode bucket of
 * serve/labels.h, from an array of STATS_RC_N. */
cJSON *ctl_rcodes_json(const uint64_t *by_rcode);

/* "addr@port" / "[addr]@port" of ss into buf; returns buf. */
const char *ctl_addr_text(const struct sockaddr_storage *ss, char *buf, size_t cap);

/* The zone: clause of cfg for zone name (text, trailing dot), or NULL. */
const struct cfg_zone *ctl_cfg_zone(const struct cfg *cfg, const char *name);

/* The ARM side of a synced zone (zi NULL: nothing known yet) into o. */
void ctl_arm_zone_fields(cJSON *o, const struct arm_zone_info *zi);

/* One zone of snap as "zones" and "explain" show it (arm may be NULL). */
cJSON *ctl_zone_json(const struct snapshot *snap, const struct route_zone *rz, const struct arm_sync *arm);

/* Every zone as "zones" and "status" show it: the zones of snap, then the
 * zones ARM lists that are not served (their listing never succeeded).  A
 * new array the caller frees (cJSON_Delete, or by adding it to an object);
 * arm may be NULL. */
cJSON *ctl_zone_list(const struct snapshot *snap, const struct arm_sync *arm);

/* One configured upstream server as "explain" and "status" show it: its
 * address, its caps (0: none), and the health the workers see in t
 * ("unused" until a worker sent it something; t may be NULL). */
cJSON *ctl_server_json(const struct cfg_addr *a, const struct cfg_caps *caps, const struct stats_total *t);

#endif
