/*
 * explain.c -- "explain NAME [TYPE]": how a name is resolved right now
 * (see explain.h).  Runs on the main thread against the published snapshot,
 * the shared cache and the workers' counters; sends nothing to any server.
 */
#ifndef _POSIX_C_SOURCE
#define _POSIX_C_SOURCE 200809L
#endif

#include "explain.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <cjson/cJSON.h>
#include <ldns/ldns.h>

#include "arm_pe_zone.h"
#include "arm_records.h"
#include "arm_sync.h"
#include "cache.h"
#include "clock.h"
#include "collect.h"
#include "common.h"
#include "config.h"
#include "control_json.h"
#include "daemon.h"
#include "ddr.h"
#include "loop_view.h"
#include "route.h"
#include "snapshot.h"
#include "wire.h"
#include "xfr_in_store.h"
#include "zone.h"

static const char *origin_name(enum route_origin o)
{
	switch (o) {
	case ORIGIN_ZONE_FILE: return "zone-file";
	case ORIGIN_ZONE_ARM: return "arm";
	case ORIGIN_FORWARD: return "forward-rule";
	case ORIGIN_CATALOGUE: return "catalogue";
	case ORIGIN_DEFAULT: return "default";
	}
	return "unknown";
}

static const char *zone_status_name(enum zone_status st)
{
	switch (st) {
	case ZONE_ANSWER: return "answer";
	case ZONE_CNAME_OUT: return "cname-out";
	case ZONE_NODATA: return "nodata";
	case ZONE_NXDOMAIN: return "nxdomain";
	}
	return "unknown";
}

/* The config clause of a file zone, matched by name. */

/* ldns's presentation of a record on one line: it separates the fields
 * with tabs and ends with a newline (blanks inside the data are kept). */
static void rr_text_tidy(char *s)
{
	size_t n = strlen(s);
	while (n && (s[n - 1] == '\n' || s[n - 1] == ' ' || s[n - 1] == '\t'))
		s[--n] = '\0';
	for (size_t i = 0; i < n; i++)
		if (s[i] == '\t')
			s[i] = ' ';
}

/* One step of an explanation, appended to steps. */
static cJSON *step(cJSON *steps, const char *action)
{
	cJSON *s = cJSON_CreateObject();
	cJSON_AddStringToObject(s, "action", action);
	cJSON_AddItemToArray(steps, s);
	return s;
}

static void explain_forward(cJSON *steps, const struct snapshot *snap, const struct stats_total *t, size_t group,
			    const char *why, const char **answered_by)
{
	const struct cfg *cfg = snap->cfg;
	cJSON *s = step(steps, "forward");
	const struct cfg_upstream *g = &cfg->upstreams[group];
	cJSON_AddStringToObject(s, "group", g->name);
	cJSON_AddStringToObject(s, "reason", why);
	cJSON *sv = cJSON_AddArrayToObject(s, "servers");
	for (size_t i = 0; i < g->nservers; i++)
		cJSON_AddItemToArray(sv, ctl_server_json(&g->servers[i], &g->caps[i], t));
	if (g->nservers == 0) {
		cJSON_AddStringToObject(s, "result", "REFUSED: the group has no server");
		*answered_by = "error";
		return;
	}
	cJSON_AddStringToObject(s, "order",
				"each query goes to the best server that is up (never measured first, then "
				"lowest smoothed RTT) and moves on after upstream-timeout, SERVFAIL or REFUSED");
	if (snap->nzones > 0)
		cJSON_AddStringToObject(s, "splice",
					"a CNAME in the reply that leads into a zone served here is completed "
					"from that zone (the public tail is dropped)");
	*answered_by = "upstream";
}

/* ------------------------------------------------------------ record origins (explain)
 *
 * Where a record that explain shows came from.  Zones keep no per-record
 * source (a million synced records must stay small), so it is found here,
 * at request time, by reading the zone's text again with the zone loader's
 * own reader (zone_file_records / zone_text_records: the same $ORIGIN,
 * $TTL and line counting as when the zone was loaded): the zone file of a
 * zone: clause, or the file ARM sync saved in state-dir, whose "; arm-id"
 * comment before each record set names the ARM record set.  One pass per
 * zone file, for all the records of one explanation.
 */

struct rr_origin {
	ldns_rr *rr;                    /* the record as answered; owned */
	const struct route_target *rt;  /* where its owner routes (borrowed from the snapshot) */
	const struct zone *zone;        /* the zone it came from, NULL = upstream group `group` */
	size_t group;
	int fallback;                   /* upstream through a zone's fallback: public */
	int arm;                        /* zone synced from ARM */
	int score;                      /* best match: 0 none, 1 wildcard, 2 wildcard + data,
					 * 3 owner and type, 4 owner, type and data */
	int line;
	char *arm_id;                   /* the "; arm-id" before that line */
	char *wildcard;                 /* owner of the wildcard record that matched */
	char *file;                     /* the file read */
	int stale;                      /* ARM: the saved file is not the copy served */
	const char *problem;            /* why nothing could be read */
	int resolved;
};

static void origins_free(struct rr_origin *o, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		ldns_rr_free(o[i].rr);
		free(o[i].arm_id);
		free(o[i].wildcard);
		free(o[i].file);
	}
	free(o);
}

static int rdata_equal(const ldns_rr *a, const ldns_rr *b)
{
	if (ldns_rr_rd_count(a) != ldns_rr_rd_count(b))
		return 0;
	for (size_t i = 0; i < ldns_rr_rd_count(a); i++) {
		const ldns_rdf *x = ldns_rr_rdf(a, i), *y = ldns_rr_rdf(b, i);
		if (ldns_rdf_get_type(x) == LDNS_RDF_TYPE_DNAME && ldns_rdf_get_type(y) == LDNS_RDF_TYPE_DNAME) {
			if (ldns_dname_compare(x, y) != 0)
				return 0;
		} else if (ldns_rdf_compare(x, y) != 0) {
			return 0;
		}
	}
	return 1;
}

/* How well the record rr read from the file explains the answered record. */
static int origin_score(const ldns_rr *answered, const ldns_rr *rr)
{
	const ldns_rdf *want = ldns_rr_owner(answered), *have = ldns_rr_owner(rr);
	int score;

	if (ldns_rr_get_type(answered) != ldns_rr_get_type(rr))
		return 0;
	if (ldns_dname_compare(want, have) == 0) {
		score = 3;
	} else if (ldns_dname_is_wildcard(have)) {
		ldns_rdf *parent = ldns_dname_left_chop(have);
		int under = parent && ldns_dname_is_subdomain(want, parent);
		ldns_rdf_deep_free(parent);
		if (!under)
			return 0;
		score = 1;
	} else {
		return 0;
	}
	return score + rdata_equal(answered, rr);
}

/* What one pass over a zone's text matches: the records of o[] from zone. */
struct origins_scan {
	struct rr_origin *o;
	size_t n;
	const struct zone *zone;
};

/* One record of the zone's text (zone_record_fn): is it where a record of
 * o[] comes from, better than what was found before? */
static void origins_match(void *arg, const struct zone_record *rec)
{
	struct origins_scan *sc = arg;
	const ldns_rr *rr = (const ldns_rr *)rec->rr;

	for (size_t i = 0; i < sc->n; i++) {
		struct rr_origin *o = &sc->o[i];
		if (o->zone != sc->zone)
			continue;
		int score = origin_score(o->rr, rr);
		if (score <= o->score)
			continue;
		o->score = score;
		o->line = rec->line;
		free(o->arm_id);
		o->arm_id = rec->note ? strndup(rec->note, rec->note_len) : NULL;
		free(o->wildcard);
		o->wildcard = score <= 2 ? ldns_rdf2str(ldns_rr_owner(rr)) : NULL;
	}
}

/* Fill in the origin of every record in o[] (main thread; reads files). */
static void origins_resolve(struct daemon *d, const struct snapshot *snap, struct rr_origin *o, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (!o[i].zone || o[i].resolved)
			continue; /* upstream, or this zone's file was read already */
		const struct zone *z = o[i].zone;
		struct origins_scan sc = {o, n, z};
		char name[1025], path[4200] = "";
		size_t alen, len = 0;
		const uint8_t *apex = zone_apex(z, &alen);
		char *text = NULL;
		int current = 1;
		const char *problem = NULL;
		wire_name_to_text(apex, name, sizeof(name));
		if (o[i].arm) {
			/* the copy ARM sync saved: its "; arm-id" comments name
			 * the record sets */
			enum fwd_err rc = d->arm ? arm_sync_zone_file(d->arm, name, &text, &len, &current, path,
								      sizeof(path))
						 : FWD_ENOENT;
			if (rc == FWD_ENOENT)
				problem = snap->cfg->state_dir ? "no saved zone file in state-dir"
							       : "no state-dir: the ARM record-set ids are kept "
								 "only in the saved zone files";
			else if (rc != FWD_OK)
				problem = "the saved zone file cannot be read (see the log)";
			else if (zone_text_records(apex, alen, text, len, ARM_ID_COMMENT, origins_match, &sc) != FWD_OK)
				problem = "out of memory";
		} else {
			const struct cfg_zone *cz = ctl_cfg_zone(snap->cfg, name);
			if (cz && cz->path)
				snprintf(path, sizeof(path), "%s", cz->path);
			else if (cz && snap->cfg->state_dir) /* a secondary zone: its saved copy */
				xfr_store_path(snap->cfg->state_dir, cz->name, path, sizeof(path));
			if (!cz)
				problem = "no zone: clause for it in the configuration";
			else if (!path[0])
				problem = "a secondary zone without state-dir: its copy is in memory only";
			else if (zone_file_records(apex, alen, path, NULL, origins_match, &sc) != FWD_OK)
				problem = "the zone file cannot be read now";
		}
		free(text);
		for (size_t k = i; k < n; k++) {
			if (o[k].zone != z)
				continue;
			o[k].file = path[0] ? strdup(path) : NULL;
			o[k].problem = problem;
			o[k].stale = !current;
			o[k].resolved = 1;
		}
	}
}

/* Each server of upstream group g, as text, into arr. */
static void group_servers_json(cJSON *arr, const struct cfg_upstream *g)
{
	char buf[128];
	for (size_t i = 0; i < g->nservers; i++)
		cJSON_AddItemToArray(arr, cJSON_CreateString(ctl_addr_text(&g->servers[i].ss, buf, sizeof(buf))));
}

static cJSON *origin_json(const struct snapshot *snap, const struct rr_origin *o)
{
	cJSON *j = cJSON_CreateObject();
	char name[1025];
	size_t alen;

	if (!o->zone) {
		const struct cfg_upstream *g = &snap->cfg->upstreams[o->group];
		cJSON_AddStringToObject(j, "source", "upstream");
		cJSON_AddStringToObject(j, "group", g->name);
		if (o->fallback)
			cJSON_AddStringToObject(j, "note", "fallback: public -- the zone does not have the name");
		/* the cache keeps the answer, not which server gave it */
		group_servers_json(cJSON_AddArrayToObject(j, "servers"), g);
		return j;
	}
	wire_name_to_text(zone_apex(o->zone, &alen), name, sizeof(name));
	cJSON_AddStringToObject(j, "source", o->arm ? "arm" : "zone-file");
	cJSON_AddStringToObject(j, "zone", name);
	if (o->file)
		cJSON_AddStringToObject(j, "file", o->file);
	if (o->problem) {
		cJSON_AddStringToObject(j, "note", o->problem);
		return j;
	}
	if (o->score == 0) {
		cJSON_AddStringToObject(j, "note", o->arm ? "not in the saved zone file (a sync round is writing a newer copy?)"
						    : "not in the zone file as it is now (edited since the last reload?)");
		return j;
	}
	cJSON_AddNumberToObject(j, "line", o->line);
	if (o->arm) {
		if (o->arm_id)
			cJSON_AddStringToObject(j, "arm_id", o->arm_id);
		else
			cJSON_AddStringToObject(j, "note", "the saved zone file has no record-set id for it "
							   "(written by an older version; the next sync adds them)");
	}
	if (o->wildcard)
		cJSON_AddStringToObject(j, "wildcard", o->wildcard);
	if (o->score == 1 || o->score == 3)
		cJSON_AddStringToObject(j, "note", o->arm ? "the saved zone file has other data for this name and type now"
							  : "the file has other data for this name and type now "
							    "(edited since the last reload?)");
	else if (o->arm && o->stale)
		cJSON_AddStringToObject(j, "note", "the saved zone file is newer than the copy served "
						   "(a sync round has not published it yet)");
	return j;
}

/* The route of a record's owner; NULL for an unusable owner. */
static const struct route_target *owner_route(const struct snapshot *snap, const ldns_rr *rr)
{
	const ldns_rdf *owner = ldns_rr_owner(rr);
	uint8_t w[WIRE_MAX_NAME];
	size_t len = ldns_rdf_size(owner);
	if (len == 0 || len > sizeof(w))
		return NULL;
	memcpy(w, ldns_rdf_data(owner), len);
	wire_name_lower(w, len);
	return route_lookup(snap->routes, w, len);
}

/* Where a record of a cached answer came from, in a few words. */
static void record_origin(const struct snapshot *snap, const struct rr_origin *o, char *buf, size_t cap)
{
	if (!o || !o->rt)
		snprintf(buf, cap, "?");
	else if (o->zone)
		snprintf(buf, cap, "zone %s (%s)", o->rt->name ? o->rt->name : "?",
			 o->arm ? "synced from ARM" : "zone file");
	else
		snprintf(buf, cap, "upstream group %s%s", snap->cfg->upstreams[o->group].name,
			 o->fallback ? " (fallback: public)" : "");
}

/* What the cache holds for (name, type) right now: a lookup exactly as a
 * query would make it, without the query. */
static void explain_cache(cJSON *steps, struct daemon *d, const struct snapshot *snap, const uint8_t *wname,
			  size_t wlen, uint16_t qtype, int *hit)
{
	*hit = 0;
	if (!d->cache)
		return;
	cJSON *s = step(steps, "cache");
	uint8_t qpkt[WIRE_HDR_LEN + WIRE_MAX_NAME + 4];
	struct wire_query q;
	wire_put_header(qpkt, 0, WIRE_RD, 1, 0, 0, 0);
	memcpy(qpkt + WIRE_HDR_LEN, wname, wlen);
	wire_put16(qpkt + WIRE_HDR_LEN + wlen, qtype);
	wire_put16(qpkt + WIRE_HDR_LEN + wlen + 2, CLASS_IN);
	size_t cap = WIRE_MAX_MSG;
	uint8_t *buf = malloc(cap);
	if (!buf || wire_parse_query(qpkt, WIRE_HDR_LEN + wlen + 4, &q) != WIRE_OK) {
		cJSON_AddStringToObject(s, "state", "unknown");
		free(buf);
		return;
	}
	uint32_t window = (uint32_t)snap->cfg->serve_stale;
	const char *state = "hit";
	uint64_t now_ms = clock_ms(d->clock);
	size_t n = cache_answer(d->cache, &q, snap->generation, now_ms, CACHE_FRESH, window, buf, cap, cap);
	if (!n && window) {
		n = cache_answer(d->cache, &q, snap->generation, now_ms, CACHE_STALE, window, buf, cap, cap);
		state = "stale";
	}
	ldns_pkt *pkt = NULL;
	if (!n || ldns_wire2pkt(&pkt, buf, n) != LDNS_STATUS_OK) {
		cJSON_AddStringToObject(s, "state", "miss");
		free(buf);
		return;
	}
	*hit = 1;
	cJSON_AddStringToObject(s, "state", state);
	char *rc = ldns_pkt_rcode2str(ldns_pkt_get_rcode(pkt));
	cJSON_AddStringToObject(s, "rcode", rc ? rc : "?");
	free(rc);
	cJSON *recs = cJSON_AddArrayToObject(s, "records");
	ldns_rr_list *an = ldns_pkt_answer(pkt);
	size_t nrr = ldns_rr_list_rr_count(an);
	struct rr_origin *og = calloc(nrr ? nrr : 1, sizeof(*og));
	for (size_t i = 0; og && i < nrr; i++) {
		og[i].rr = ldns_rr_clone(ldns_rr_list_rr(an, i));
		og[i].rt = og[i].rr ? owner_route(snap, og[i].rr) : NULL;
		if (og[i].rt && og[i].rt->kind == ROUTE_ZONE) {
			og[i].zone = og[i].rt->zone;
			og[i].arm = og[i].rt->origin == ORIGIN_ZONE_ARM;
		} else if (og[i].rt) {
			og[i].group = og[i].rt->group;
		}
	}
	if (og)
		origins_resolve(d, snap, og, nrr);
	for (size_t i = 0; og && i < nrr; i++) {
		/* a name its zone does not have, answered through fallback:
		 * public: the record is the default group's, not the zone's */
		if (og[i].zone && og[i].score == 0 && !og[i].problem && og[i].rt->fallback_public) {
			og[i].zone = NULL;
			og[i].group = snap->cfg->group_default;
			og[i].fallback = 1;
		}
	}
	for (size_t i = 0; i < nrr; i++) {
		ldns_rr *rr = ldns_rr_list_rr(an, i);
		char *str = ldns_rr2str(rr), from[1200];
		if (!str)
			continue;
		rr_text_tidy(str);
		record_origin(snap, og ? &og[i] : NULL, from, sizeof(from));
		cJSON *r = cJSON_CreateObject();
		cJSON_AddStringToObject(r, "rr", str);
		cJSON_AddStringToObject(r, "from", from);
		if (og && og[i].rt)
			cJSON_AddItemToObject(r, "origin", origin_json(snap, &og[i]));
		cJSON_AddItemToArray(recs, r);
		free(str);
	}
	if (og)
		origins_free(og, nrr);
	ldns_pkt_free(pkt);
	free(buf);
}

static const char *pe_note_kind(enum arm_pe_note_kind k)
{
	switch (k) {
	case ARM_PE_NOTE_SERVED: return "served";
	case ARM_PE_NOTE_NOT_APPROVED: return "not-approved";
	case ARM_PE_NOTE_UNMAPPED: return "no-zone";
	case ARM_PE_NOTE_FILTERED: return "filtered";
	case ARM_PE_NOTE_DUPLICATE: return "duplicate";
	case ARM_PE_NOTE_CONFLICT: return "conflict";
	case ARM_PE_NOTE_NKINDS: break;
	}
	return "unknown";
}

/* One "private-endpoint" step per thing the last endpoint listing says
 * about the name: served from an endpoint, or why not (arm_pe_zone.h). */
static void pe_note_step(void *arg, const struct arm_pe_note *n)
{
	cJSON *s = step(arg, "private-endpoint");
	char text[2048];

	arm_pe_note_text(n, text, sizeof(text));
	cJSON_AddStringToObject(s, "kind", pe_note_kind(n->kind));
	cJSON_AddStringToObject(s, "note", text);
	cJSON_AddStringToObject(s, "endpoint", n->pe_id);
	cJSON_AddStringToObject(s, "state", arm_pe_state_label(n->state));
	if (n->zone[0])
		cJSON_AddStringToObject(s, "zone", n->zone);
	if (n->name[0])
		cJSON_AddStringToObject(s, "served_as", n->name);
	if (n->kind == ARM_PE_NOTE_CONFLICT)
		cJSON_AddStringToObject(s, "zone_record_set", n->other);
}

cJSON *explain_json(struct daemon *d, const char *name, const char *type)
{
	uint8_t wname[WIRE_MAX_NAME];
	int wlen = wire_name_from_text(name, wname);
	if (wlen < 0)
		return ctl_err("'%s' is not a valid domain name", name);
	uint16_t qtype = TYPE_A;
	if (type) {
		qtype = (uint16_t)ldns_get_rr_type_by_name(type);
		if (qtype == 0)
			return ctl_err("unknown record type '%s'", type);
	}
	struct stats_total *t = calloc(1, sizeof(*t));
	if (!t)
		return ctl_err("out of memory");
	stats_collect(d, t);
	struct snapshot *snap = daemon_acquire(d);
	const struct cfg *cfg = snap->cfg;
	char text[1025], tbuf[16];
	const char *answered_by = "error";
	int hit;

	cJSON *o = ctl_ok();
	wire_name_to_text(wname, text, sizeof(text));
	cJSON_AddStringToObject(o, "name", text);
	cJSON_AddStringToObject(o, "type", stats_type_name(qtype, tbuf, sizeof(tbuf)));
	ctl_add_u64(o, "generation", snap->generation);
	cJSON *steps = cJSON_AddArrayToObject(o, "steps");

	uint8_t lname[WIRE_MAX_NAME];
	memcpy(lname, wname, (size_t)wlen);
	for (int i = 0; i < wlen; i++)
		if (lname[i] >= 'A' && lname[i] <= 'Z')
			lname[i] = (uint8_t)(lname[i] - 'A' + 'a');
	if (ddr_match_name(lname, (size_t)wlen)) {
		/* the query path answers these before any route (serve/ddr.h) */
		cJSON *ds = step(steps, "resolver.arpa");
		cJSON_AddStringToObject(ds, "note",
					"answered by plinkfwd itself and never forwarded (RFC 9462): NODATA with a "
					"resolver.arpa SOA while no encrypted listener is configured");
		cJSON_AddStringToObject(o, "answered_by", "local");
		snapshot_unref(snap);
		free(t);
		return o;
	}

	const struct route_target *rt = route_lookup(snap->routes, wname, (size_t)wlen);
	cJSON *s = step(steps, "route");
	cJSON_AddStringToObject(s, "match", rt->name ? rt->name : ".");
	cJSON_AddStringToObject(s, "origin", origin_name(rt->origin));
	cJSON_AddNumberToObject(s, "labels", rt->nlabels);
	if (rt->origin == ORIGIN_FORWARD) {
		for (size_t i = 0; i < cfg->nforwards; i++)
			if (strcasecmp(cfg->forwards[i].suffix, rt->name) == 0) {
				char where[1100];
				snprintf(where, sizeof(where), "%s:%d", cfg->file, cfg->forwards[i].line);
				cJSON_AddStringToObject(s, "config", where);
			}
	} else if (rt->origin == ORIGIN_CATALOGUE) {
		cJSON_AddStringToObject(s, "cloud", cfg_cloud_name(cfg->cloud));
	}

	if (d->arm) {
		char key[1025];
		snprintf(key, sizeof(key), "%s", text);
		for (char *c = key; *c; c++)
			if (*c >= 'A' && *c <= 'Z')
				*c = (char)(*c - 'A' + 'a');
		arm_sync_pe_find(d->arm, key, pe_note_step, steps);
	}

	if (rt->kind == ROUTE_ZONE) {
		const struct route_zone *rz = NULL;
		for (size_t i = 0; i < snap->nzones; i++)
			if (snap->zones[i].zone == rt->zone)
				rz = &snap->zones[i];
		if (rz)
			cJSON_AddItemToObject(s, "zone", ctl_zone_json(snap, rz, d->arm));

		uint8_t rrs[8192];
		uint16_t count = 0;
		enum zone_status st;
		size_t n = zone_lookup_rrs(rt->zone, wname, (size_t)wlen, qtype, rrs, sizeof(rrs), &count, &st);
		cJSON *zs = step(steps, "zone-lookup");
		cJSON_AddStringToObject(zs, "status", zone_status_name(st));
		cJSON *recs = cJSON_AddArrayToObject(zs, "records");
		/* origins[i] says where records[i] is written */
		cJSON *origins = cJSON_AddArrayToObject(zs, "origins");
		struct rr_origin *og = calloc(count ? count : 1, sizeof(*og));
		size_t pos = 0, nog = 0;
		for (uint16_t i = 0; og && i < count && pos < n; i++) {
			ldns_rr *rr = NULL;
			if (ldns_wire2rr(&rr, rrs, n, &pos, LDNS_SECTION_ANSWER) != LDNS_STATUS_OK)
				break;
			/* a chain zone.c followed stays inside this zone */
			og[nog].rr = rr;
			og[nog].rt = rt;
			og[nog].zone = rt->zone;
			og[nog].arm = rt->origin == ORIGIN_ZONE_ARM;
			nog++;
		}
		if (og)
			origins_resolve(d, snap, og, nog);
		for (size_t i = 0; i < nog; i++) {
			char *str = ldns_rr2str(og[i].rr);
			if (!str)
				continue;
			rr_text_tidy(str);
			cJSON_AddItemToArray(recs, cJSON_CreateString(str));
			cJSON_AddItemToArray(origins, origin_json(snap, &og[i]));
			free(str);
		}
		if (og)
			origins_free(og, nog);
		answered_by = rt->origin == ORIGIN_ZONE_ARM ? "synced" : "local";
		if (st == ZONE_NXDOMAIN && rt->fallback_public) {
			cJSON_AddStringToObject(zs, "rcode", "NXDOMAIN");
			explain_cache(steps, d, snap, wname, (size_t)wlen, qtype, &hit);
			explain_forward(steps, snap, t, cfg->group_default,
					"fallback: public -- a name the zone does not have is resolved "
					"through the default group",
					&answered_by);
			loop_view_explain(d, steps, cfg->upstreams[cfg->group_default].name, rt->name ? rt->name : ".");
			if (hit)
				answered_by = "cache";
		} else {
			cJSON_AddStringToObject(zs, "rcode", st == ZONE_NXDOMAIN ? "NXDOMAIN" : "NOERROR");
			if (st == ZONE_CNAME_OUT)
				cJSON_AddStringToObject(zs, "note",
							"the CNAME chain leaves the zone; the client (or its "
							"resolver) follows the target with a new query");
		}
	} else {
		const char *why = rt->origin == ORIGIN_DEFAULT     ? "no zone and no rule matches"
				  : rt->origin == ORIGIN_CATALOGUE ? "a Private Link zone of the built-in catalogue"
								   : "an admin forward: rule";
		explain_cache(steps, d, snap, wname, (size_t)wlen, qtype, &hit);
		explain_forward(steps, snap, t, rt->group, why, &answered_by);
		loop_view_explain(d, steps, cfg->upstreams[rt->group].name, rt->name ? rt->name : ".");
		if (hit)
			answered_by = "cache";
	}
	cJSON_AddStringToObject(o, "answered_by", answered_by);
	snapshot_unref(snap);
	free(t);
	return o;
}

/* ------------------------------------------------------------ check
 *
 * "check NAME": the chain explain gives for NAME, hop by hop through the
 * CNAMEs, with where each record came from, the final addresses and
 * whether each is private, and what the private endpoint listing says
 * about any name of the chain.  It reads what explain reads (zones, the
 * cache, the endpoint notes) and sends nothing: plinkfwd-ctl asks the
 * daemon the question over DNS first, so that a forwarded or spliced
 * answer is in the cache.
 */

#define CHECK_MAX_HOPS 12

/* Why addr is private, or NULL: RFC 1918, RFC 6598 (shared address
 * space), RFC 4193 (unique local), or served from a synced zone (Azure
 * private DNS or a private endpoint) whatever the address. */
static const char *check_private(const char *addr, int synced)
{
	unsigned char b[16];

	if (inet_pton(AF_INET, addr, b) == 1) {
		if (b[0] == 10 || (b[0] == 172 && (b[1] & 0xf0) == 16) || (b[0] == 192 && b[1] == 168))
			return "RFC 1918";
		if (b[0] == 100 && (b[1] & 0xc0) == 64)
			return "RFC 6598";
	} else if (inet_pton(AF_INET6, addr, b) == 1) {
		if ((b[0] & 0xfe) == 0xfc)
			return "RFC 4193 (ULA)";
	}
	return synced ? "synced record" : NULL;
}

/* The records of one explanation (zone answer or cache hit), appended to
 * chain as {rr, from, origin}; *rcode gets the answer's rcode text. */
static void check_records(const cJSON *ex, cJSON *chain, cJSON *endpoints, char *rcode, size_t rcap)
{
	const cJSON *steps = cJSON_GetObjectItemCaseSensitive(ex, "steps"), *s;

	cJSON_ArrayForEach(s, steps)
	{
		const cJSON *act = cJSON_GetObjectItemCaseSensitive(s, "action");
		const cJSON *rc = cJSON_GetObjectItemCaseSensitive(s, "rcode");
		const cJSON *recs = cJSON_GetObjectItemCaseSensitive(s, "records"), *r;
		const char *a = cJSON_IsString(act) ? act->valuestring : "";
		if (strcmp(a, "private-endpoint") == 0) {
			const cJSON *note = cJSON_GetObjectItemCaseSensitive(s, "note"), *e;
			int seen = 0;
			cJSON_ArrayForEach(e, endpoints)
			{
				const cJSON *en = cJSON_GetObjectItemCaseSensitive(e, "note");
				seen |= cJSON_IsString(en) && cJSON_IsString(note) && strcmp(en->valuestring, note->valuestring) == 0;
			}
			if (!seen)
				cJSON_AddItemToArray(endpoints, cJSON_Duplicate(s, 1));
			continue;
		}
		if (cJSON_IsString(rc))
			snprintf(rcode, rcap, "%s", rc->valuestring);
		if (strcmp(a, "zone-lookup") == 0) {
			const cJSON *ogs = cJSON_GetObjectItemCaseSensitive(s, "origins");
			const cJSON *zst = cJSON_GetObjectItemCaseSensitive(s, "status");
			int k = 0;
			if (cJSON_IsString(zst) && strcmp(zst->valuestring, "nodata") == 0)
				snprintf(rcode, rcap, "NODATA");
			cJSON_ArrayForEach(r, recs)
			{
				const cJSON *og = cJSON_GetArrayItem(ogs, k++);
				cJSON *c = cJSON_CreateObject();
				cJSON_AddStringToObject(c, "rr", cJSON_IsString(r) ? r->valuestring : "?");
				if (og)
					cJSON_AddItemToObject(c, "origin", cJSON_Duplicate(og, 1));
				cJSON_AddItemToArray(chain, c);
			}
		} else if (strcmp(a, "cache") == 0) {
			const cJSON *st = cJSON_GetObjectItemCaseSensitive(s, "state");
			if (cJSON_IsString(st) && strcmp(st->valuestring, "miss") == 0)
				snprintf(rcode, rcap, "not in the cache");
			cJSON_ArrayForEach(r, recs)
				cJSON_AddItemToArray(chain, cJSON_Duplicate(r, 1));
		}
	}
}

/* The owner, type and (CNAME) target of a chain entry's record. */
static int check_rr(const cJSON *c, char *owner, size_t ocap, uint16_t *type, char *target, size_t tcap)
{
	const cJSON *rr = cJSON_GetObjectItemCaseSensitive(c, "rr");
	ldns_rr *r = NULL;

	if (!cJSON_IsString(rr) || ldns_rr_new_frm_str(&r, rr->valuestring, 0, NULL, NULL) != LDNS_STATUS_OK)
		return -1;
	char *o = ldns_rdf2str(ldns_rr_owner(r));
	snprintf(owner, ocap, "%s", o ? o : "");
	free(o);
	*type = (uint16_t)ldns_rr_get_type(r);
	target[0] = '\0';
	if (ldns_rr_rd_count(r) > 0) {
		char *t = ldns_rdf2str(ldns_rr_rdf(r, 0));
		snprintf(target, tcap, "%s", t ? t : "");
		free(t);
	}
	ldns_rr_free(r);
	for (char *p = owner; *p; p++)
		*p = (char)(*p >= 'A' && *p <= 'Z' ? *p - 'A' + 'a' : *p);
	for (char *p = target; *p; p++)
		*p = (char)(*p >= 'A' && *p <= 'Z' ? *p - 'A' + 'a' : *p);
	return 0;
}

/* Did the record come from a synced zone (origin source "arm")? */
static int check_synced(const cJSON *c)
{
	const cJSON *og = cJSON_GetObjectItemCaseSensitive(c, "origin");
	const cJSON *src = cJSON_GetObjectItemCaseSensitive(og, "source");
	const cJSON *from = cJSON_GetObjectItemCaseSensitive(c, "from");

	if (cJSON_IsString(src) && strcmp(src->valuestring, "arm") == 0)
		return 1;
	return cJSON_IsString(from) && strstr(from->valuestring, "synced from ARM") != NULL;
}

cJSON *explain_check_json(struct daemon *d, const char *name)
{
	uint8_t w[WIRE_MAX_NAME];
	char cur[1100], rcode[64] = "", text[1025];
	cJSON *o, *chain, *endpoints, *addrs;
	int hops = 0, npriv = 0, npub = 0;

	if (wire_name_from_text(name, w) < 0)
		return ctl_err("'%s' is not a valid domain name", name);
	wire_name_to_text(w, text, sizeof(text));
	o = ctl_ok();
	cJSON_AddStringToObject(o, "name", text);
	chain = cJSON_AddArrayToObject(o, "chain");
	endpoints = cJSON_AddArrayToObject(o, "endpoints");
	addrs = cJSON_AddArrayToObject(o, "addresses");
	snprintf(cur, sizeof(cur), "%s", text);
	for (char *p = cur; *p; p++)
		*p = (char)(*p >= 'A' && *p <= 'Z' ? *p - 'A' + 'a' : *p);
	for (const char *qt = "A";; qt = "AAAA") {
		/* A first, through the CNAMEs; then AAAA of the last name */
		for (; hops < CHECK_MAX_HOPS; hops++) {
			cJSON *ex = explain_json(d, cur, qt), *c;
			int n0 = cJSON_GetArraySize(chain), moved = 0;
			if (!ex || !cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(ex, "ok"))) {
				cJSON_Delete(ex);
				break;
			}
			check_records(ex, chain, endpoints, rcode, sizeof(rcode));
			cJSON_Delete(ex);
			/* follow the chain: a CNAME at cur leads on, unless the
			 * records already hold its target's data */
			for (int i = n0; i < cJSON_GetArraySize(chain); i++) {
				char owner[1100], target[1100];
				uint16_t t;
				c = cJSON_GetArrayItem(chain, i);
				if (check_rr(c, owner, sizeof(owner), &t, target, sizeof(target)) < 0)
					continue;
				if (strcmp(owner, cur) == 0 && t == LDNS_RR_TYPE_CNAME && target[0]) {
					snprintf(cur, sizeof(cur), "%s", target);
					moved = 1;
				}
			}
			if (!moved)
				break;
			/* the target's records may have come in the same answer */
			int have = 0;
			for (int i = n0; i < cJSON_GetArraySize(chain); i++) {
				char owner[1100], target[1100];
				uint16_t t;
				if (check_rr(cJSON_GetArrayItem(chain, i), owner, sizeof(owner), &t, target, sizeof(target)) == 0 &&
				    strcmp(owner, cur) == 0 && (t == LDNS_RR_TYPE_A || t == LDNS_RR_TYPE_AAAA))
					have = 1;
			}
			if (have)
				break;
		}
		if (strcmp(qt, "AAAA") == 0)
			break;
		{
			/* AAAA of the final name, once */
			cJSON *ex = explain_json(d, cur, "AAAA");
			char rc2[64] = "";
			if (ex && cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(ex, "ok"))) {
				cJSON *tmp = cJSON_CreateArray();
				check_records(ex, tmp, endpoints, rc2, sizeof(rc2));
				cJSON *c;
				cJSON_ArrayForEach(c, tmp)
				{
					char owner[1100], target[1100];
					uint16_t t;
					if (check_rr(c, owner, sizeof(owner), &t, target, sizeof(target)) == 0 &&
					    t == LDNS_RR_TYPE_AAAA && strcmp(owner, cur) == 0)
						cJSON_AddItemToArray(chain, cJSON_Duplicate(c, 1));
				}
				cJSON_Delete(tmp);
			}
			cJSON_Delete(ex);
		}
		break;
	}
	/* the final addresses */
	{
		cJSON *c;
		cJSON_ArrayForEach(c, chain)
		{
			char owner[1100], target[1100];
			uint16_t t;
			const char *why;
			cJSON *a;
			if (check_rr(c, owner, sizeof(owner), &t, target, sizeof(target)) < 0 ||
			    (t != LDNS_RR_TYPE_A && t != LDNS_RR_TYPE_AAAA) || strcmp(owner, cur) != 0)
				continue;
			why = check_private(target, check_synced(c));
			a = cJSON_CreateObject();
			cJSON_AddStringToObject(a, "address", target);
			cJSON_AddBoolToObject(a, "private", why != NULL);
			if (why)
				cJSON_AddStringToObject(a, "why", why);
			cJSON_AddItemToArray(addrs, a);
			if (why)
				npriv++;
			else
				npub++;
		}
	}
	cJSON_AddStringToObject(o, "final_name", cur);
	if (rcode[0])
		cJSON_AddStringToObject(o, "rcode", rcode);
	cJSON_AddStringToObject(o, "result", npub > 0 ? "public" : npriv > 0 ? "private" : "unresolved");
	return o;
}
