/*
 * loop_view.c -- forwarding loops in /metrics, status, health and explain
 * (see loop_view.h).
 */
#include "loop_view.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>

#include "config.h"
#include "control_json.h"
#include "daemon.h"
#include "loop.h"

void loop_view_metrics(struct daemon *d, const struct cfg *cfg, struct evbuffer *b)
{
	struct loop_group_info *gi;
	struct loop_route_info *ri;
	struct loop_guard_stats gs;
	size_t ng, nr;

	if (!d->loop)
		return;
	gi = calloc(LOOP_MAX_GROUPS, sizeof(*gi));
	ri = calloc(LOOP_MAX_ROUTES, sizeof(*ri));
	if (!gi || !ri)
		goto out;
	ng = loop_groups(d->loop, gi, LOOP_MAX_GROUPS);
	nr = loop_routes(d->loop, ri, LOOP_MAX_ROUTES);
	loop_guard_stats(d->loop, &gs);
	evbuffer_add_printf(b, "# HELP plinkfwd_forwarding_loops_total Queries answered SERVFAIL because they came back "
			       "from a server of the group they were being forwarded to (or were a loop probe coming "
			       "back).\n# TYPE plinkfwd_forwarding_loops_total counter\n");
	for (size_t i = 0; i < cfg->nupstreams; i++) {
		uint64_t n = 0;
		for (size_t j = 0; j < ng && j < LOOP_MAX_GROUPS; j++)
			if (strncmp(gi[j].name, cfg->upstreams[i].name, LOOP_NAME_MAX - 1) == 0)
				n = gi[j].detected;
		evbuffer_add_printf(b, "plinkfwd_forwarding_loops_total{group=\"%s\"} %llu\n", cfg->upstreams[i].name,
				    (unsigned long long)n);
	}
	evbuffer_add_printf(b, "# HELP plinkfwd_loop_route_looping 1 when the last loop probe of the route came back "
			       "to plinkfwd (loop-probe).\n# TYPE plinkfwd_loop_route_looping gauge\n");
	for (size_t i = 0; i < nr && i < LOOP_MAX_ROUTES; i++)
		evbuffer_add_printf(b, "plinkfwd_loop_route_looping{group=\"%s\",zone=\"%s\"} %d\n", ri[i].group,
				    ri[i].zone, ri[i].state == LOOP_PROBE_LOOPS);
	evbuffer_add_printf(b, "# HELP plinkfwd_loop_untracked_total Forwarded steps the in-flight table had no room "
			       "for (no loop can be found for them).\n# TYPE plinkfwd_loop_untracked_total counter\n"
			       "plinkfwd_loop_untracked_total %llu\n",
			    (unsigned long long)gs.untracked);
out:
	free(gi);
	free(ri);
}

void loop_view_status(struct daemon *d, cJSON *o)
{
	struct loop_group_info *gi;
	struct loop_route_info *ri;
	struct loop_guard_stats gs;

	if (!d->loop) {
		cJSON_AddNullToObject(o, "loops");
		return;
	}
	gi = calloc(LOOP_MAX_GROUPS, sizeof(*gi));
	ri = calloc(LOOP_MAX_ROUTES, sizeof(*ri));
	cJSON *l = cJSON_AddObjectToObject(o, "loops");
	if (!gi || !ri || !l)
		goto out;
	size_t ng = loop_groups(d->loop, gi, LOOP_MAX_GROUPS);
	size_t nr = loop_routes(d->loop, ri, LOOP_MAX_ROUTES);
	loop_guard_stats(d->loop, &gs);
	ctl_add_u64(l, "detected", gs.detected);
	cJSON *ga = cJSON_AddArrayToObject(l, "groups");
	for (size_t i = 0; i < ng && i < LOOP_MAX_GROUPS; i++) {
		cJSON *g = cJSON_CreateObject();
		cJSON_AddStringToObject(g, "group", gi[i].name);
		ctl_add_u64(g, "detected", gi[i].detected);
		cJSON_AddStringToObject(g, "last_zone", gi[i].last_cut);
		cJSON_AddStringToObject(g, "last_from", gi[i].last_from);
		ctl_add_time(g, "last_time", (int64_t)gi[i].last_wall_s);
		cJSON_AddItemToArray(ga, g);
	}
	cJSON *ra = cJSON_AddArrayToObject(l, "routes");
	for (size_t i = 0; i < nr && i < LOOP_MAX_ROUTES; i++) {
		cJSON *r = cJSON_CreateObject();
		cJSON_AddStringToObject(r, "zone", ri[i].zone);
		cJSON_AddStringToObject(r, "group", ri[i].group);
		cJSON_AddStringToObject(r, "probe", loop_probe_state_name(ri[i].state));
		if (ri[i].state == LOOP_PROBE_LOOPS)
			cJSON_AddStringToObject(r, "via", ri[i].via);
		if (ri[i].state == LOOP_PROBE_OK)
			cJSON_AddNumberToObject(r, "rcode", ri[i].rcode);
		ctl_add_u64(r, "probes", ri[i].probes);
		ctl_add_time(r, "last_probe", (int64_t)ri[i].sent_wall_s);
		cJSON_AddItemToArray(ra, r);
	}
out:
	free(gi);
	free(ri);
}

int loop_view_health(struct daemon *d, const struct cfg *cfg, int ready, char *text, size_t len)
{
	struct loop_route_info *ri;
	size_t n = 0, nr, looping = 0;

	text[0] = 0;
	if (!d->loop || !(ri = calloc(LOOP_MAX_ROUTES, sizeof(*ri))))
		return 1;
	nr = loop_routes(d->loop, ri, LOOP_MAX_ROUTES);
	for (size_t i = 0; i < nr && i < LOOP_MAX_ROUTES; i++) {
		if (ri[i].state != LOOP_PROBE_LOOPS)
			continue;
		looping++;
		if (n < len) {
			int w = snprintf(text + n, len - n,
					 "%sforwarding loop: zone %s through group %s comes back (from %s)",
					 n ? "\n" : "", ri[i].zone, ri[i].group, ri[i].via);
			if (w > 0)
				n += (size_t)w;
		}
	}
	free(ri);
	return !(ready && cfg->loop_ready_fail && looping);
}

void loop_view_explain(struct daemon *d, cJSON *steps, const char *group, const char *zone)
{
	struct loop_route_info *ri;
	char buf[512];
	size_t n = 0;
	cJSON *s = cJSON_GetArrayItem(steps, cJSON_GetArraySize(steps) - 1);

	if (!d->loop || !s)
		return;
	uint64_t detected = loop_group_detected(d->loop, group);
	int w = snprintf(buf, sizeof(buf), "forwarding loops via group %s: %llu", group, (unsigned long long)detected);
	n = w > 0 ? (size_t)w : 0;
	if ((ri = calloc(LOOP_MAX_ROUTES, sizeof(*ri))) != NULL) {
		size_t nr = loop_routes(d->loop, ri, LOOP_MAX_ROUTES);
		for (size_t i = 0; i < nr && i < LOOP_MAX_ROUTES && n < sizeof(buf); i++) {
			if (strcmp(ri[i].zone, zone) != 0 || strcmp(ri[i].group, group) != 0)
				continue;
			if (ri[i].state == LOOP_PROBE_LOOPS)
				snprintf(buf + n, sizeof(buf) - n, "; the probe of %s came back from %s: this route loops",
					 zone, ri[i].via);
			else
				snprintf(buf + n, sizeof(buf) - n, "; the probe of %s: %s", zone,
					 loop_probe_state_name(ri[i].state));
		}
		free(ri);
	}
	cJSON_AddStringToObject(s, "loop", buf);
}
