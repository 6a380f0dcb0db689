/*
 * route.c -- the routing table: longest-suffix match over local zones,
 * admin forward rules and the built-in privatelink catalogue.
 *
 * Exact names live in one open-addressing hash table keyed on the
 * lower-cased wire suffix.  A lookup probes the query name's suffixes from
 * the longest down, so the first hit is the longest match; a bitmap of the
 * label counts present in the table skips suffix lengths that cannot hit,
 * which keeps a typical lookup to a handful of hashes.  Precedence for the
 * same name (zone > forward > catalogue) is settled at build time: entries
 * are inserted in that order and a later one with a name already present
 * is dropped.
 *
 * Catalogue names with "{...}" labels cannot be hashed (the label varies),
 * so they sit in a small separate array, most labels first, and are
 * compared label by label only when they could beat the hash-table hit.
 */
#include "route.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "catalogue.h"
#include "common.h"
#include "config.h"
#include "log.h"
#include "wire.h"
#include "zone.h"

struct route_entry {
	struct route_target target;
	uint32_t hash;
	uint8_t wire_len;
	uint8_t nlabels;
	/* Placeholder entries only: bit k set = label k (from the left)
	 * matches any one label.  tail_* is the literal part right of the
	 * last placeholder, compared first because it rejects almost every
	 * name with one length check and one memcmp. */
	uint64_t any_label[2];
	uint8_t tail_off;
	uint8_t tail_len;
	uint8_t tail_labels;
	uint8_t wire[]; /* wire_len bytes, then the text name for zones and forwards */
};

struct route_slot {
	uint32_t hash;
	uint32_t idx; /* entries[idx - 1]; 0 = empty */
};

struct route_table {
	struct route_slot *slots;
	uint32_t mask;                /* slots - 1; capacity is a power of two */
	struct route_entry **entries; /* in the hash table */
	size_t nentries;
	struct route_entry **ph;      /* placeholder patterns, most labels first */
	size_t nph;
	uint64_t depths[2];           /* bit d: some hashed entry has d labels */
	struct route_target deflt;
};

static const struct catalogue_entry *route_catalogue(int cloud, size_t *count)
{
	switch (cloud) {
	case CLOUD_AZURE:
		*count = catalogue_azure_count;
		return catalogue_azure;
	case CLOUD_USGOV:
		*count = catalogue_usgov_count;
		return catalogue_usgov;
	case CLOUD_CHINA:
		*count = catalogue_china_count;
		return catalogue_china;
	default:
		*count = 0;
		return NULL;
	}
}

size_t route_catalogue_count(int cloud)
{
	size_t n;
	route_catalogue(cloud, &n);
	return n;
}

static inline int route_depth_present(const uint64_t depths[2], size_t d)
{
	return (int)((depths[d >> 6] >> (d & 63)) & 1u);
}

static const struct route_entry *route_find(const struct route_table *rt, const uint8_t *key, size_t len,
					    uint32_t h)
{
	uint32_t i = h & rt->mask;
	for (;;) {
		const struct route_slot *s = &rt->slots[i];
		if (s->idx == 0)
			return NULL;
		if (s->hash == h) {
			const struct route_entry *e = rt->entries[s->idx - 1];
			if (e->wire_len == len && memcmp(e->wire, key, len) == 0)
				return e;
		}
		i = (i + 1) & rt->mask;
	}
}

/* q is the query's suffix with e->nlabels labels and qtail its suffix with
 * e->tail_labels labels; route_lookup has bounded both, so walking q's
 * length bytes in step with the pattern's stays inside the name. */
static int route_ph_match(const struct route_entry *e, const uint8_t *q, const uint8_t *qtail, size_t qtail_len)
{
	size_t pp = 0, qp = 0;
	if (qtail_len != e->tail_len || memcmp(qtail, e->wire + e->tail_off, qtail_len) != 0)
		return 0;
	for (size_t k = 0; k < (size_t)(e->nlabels - e->tail_labels); k++) {
		uint8_t pl = e->wire[pp], ql = q[qp];
		if (!((e->any_label[k >> 6] >> (k & 63)) & 1u) &&
		    (pl != ql || memcmp(e->wire + pp + 1, q + qp + 1, pl) != 0))
			return 0;
		pp += 1u + pl;
		qp += 1u + ql;
	}
	return 1;
}

const struct route_target *route_lookup(const struct route_table *rt, const uint8_t *name, size_t name_len)
{
	uint8_t off[WIRE_MAX_LABELS + 1];
	size_t n = 0, p = 0, len;
	const struct route_entry *best = NULL;

	if (FWD_UNLIKELY(name == NULL || name_len == 0))
		return &rt->deflt;
	if (name_len > WIRE_MAX_NAME)
		name_len = WIRE_MAX_NAME;
	/* The parser hands us a checked name; this walk only finds the label
	 * offsets, and bails out to the default route on anything odd rather
	 * than trust a length byte. */
	while (p < name_len && name[p] != 0) {
		if (FWD_UNLIKELY(n == WIRE_MAX_LABELS || name[p] > 63))
			return &rt->deflt;
		off[n++] = (uint8_t)p;
		p += 1u + name[p];
	}
	if (FWD_UNLIKELY(p >= name_len))
		return &rt->deflt;
	len = p + 1;
	off[n] = (uint8_t)p; /* the root label: the suffix with no labels */

	for (size_t i = 0; i <= n; i++) {
		if (!route_depth_present(rt->depths, n - i))
			continue;
		best = route_find(rt, name + off[i], len - off[i], wire_hash(name + off[i], len - off[i]));
		if (best)
			break;
	}
	for (size_t k = 0; k < rt->nph; k++) {
		const struct route_entry *e = rt->ph[k];
		size_t t;
		/* Sorted by labels, most first: nothing further down can win,
		 * and on a tie the exact entry does. */
		if (best && e->nlabels <= best->nlabels)
			break;
		if (e->nlabels > n)
			continue;
		t = off[n - e->tail_labels];
		if (route_ph_match(e, name + off[n - e->nlabels], name + t, len - t)) {
			best = e;
			break;
		}
	}
	return best ? &best->target : &rt->deflt;
}

void route_free(struct route_table *rt)
{
	if (!rt)
		return;
	for (size_t i = 0; i < rt->nentries; i++) {
		if (rt->entries[i]->target.kind == ROUTE_ZONE)
			zone_unref(rt->entries[i]->target.zone);
		free(rt->entries[i]);
	}
	for (size_t i = 0; i < rt->nph; i++)
		free(rt->ph[i]);
	free(rt->entries);
	free(rt->ph);
	free(rt->slots);
	free(rt);
}

/* A new entry holding the wire name and, when text is given, a copy of it
 * (target.name then points into the entry). */
static struct route_entry *route_entry_new(const uint8_t *wire, size_t wire_len, const char *text)
{
	size_t tlen = text ? strlen(text) + 1 : 0;
	struct route_entry *e = calloc(1, sizeof(*e) + wire_len + tlen);
	if (!e)
		return NULL;
	memcpy(e->wire, wire, wire_len);
	e->wire_len = (uint8_t)wire_len;
	e->nlabels = (uint8_t)wire_name_labels(wire);
	e->hash = wire_hash(wire, wire_len);
	if (text) {
		char *t = (char *)e->wire + wire_len;
		memcpy(t, text, tlen);
		e->target.name = t;
	}
	return e;
}

static const struct route_entry *route_find_entry(const struct route_table *rt, const struct route_entry *e)
{
	return route_find(rt, e->wire, e->wire_len, e->hash);
}

static void route_insert(struct route_table *rt, struct route_entry *e)
{
	uint32_t i = e->hash & rt->mask;
	while (rt->slots[i].idx != 0)
		i = (i + 1) & rt->mask;
	rt->entries[rt->nentries++] = e;
	rt->slots[i].hash = e->hash;
	rt->slots[i].idx = (uint32_t)rt->nentries;
	rt->depths[e->nlabels >> 6] |= (uint64_t)1 << (e->nlabels & 63);
}

static int route_add_zones(struct route_table *rt, const struct route_zone *zones, size_t nzones, char *err,
			   size_t errlen)
{
	char text[1025];
	for (size_t i = 0; i < nzones; i++) {
		const uint8_t *apex;
		size_t alen = 0;
		struct route_entry *e;
		const struct route_entry *old;

		if (!zones[i].zone) {
			snprintf(err, errlen, "route: zone %zu is missing", i);
			return FWD_EINVAL;
		}
		apex = zone_apex(zones[i].zone, &alen);
		if (!apex || alen == 0 || alen > WIRE_MAX_NAME || wire_name_len(apex, alen) != (int)alen) {
			snprintf(err, errlen, "route: zone %zu has a malformed apex", i);
			return FWD_EINVAL;
		}
		wire_name_to_text(apex, text, sizeof(text));
		e = route_entry_new(apex, alen, text);
		if (!e) {
			snprintf(err, errlen, "route: out of memory");
			return FWD_ENOMEM;
		}
		old = route_find_entry(rt, e);
		if (old) {
			/* Debug only: every ARM publish rebuilds the table, and a
			 * file zone overriding an ARM zone is intended. */
			log_debug("zone %s (%s) is shadowed by an earlier zone of the same name", text,
				 zones[i].origin == ORIGIN_ZONE_ARM ? "ARM" : "file");
			free(e);
			continue;
		}
		e->target.kind = ROUTE_ZONE;
		e->target.origin = zones[i].origin == ORIGIN_ZONE_ARM ? ORIGIN_ZONE_ARM : ORIGIN_ZONE_FILE;
		e->target.zone = zones[i].zone;
		e->target.fallback_public = zones[i].fallback_public ? 1 : 0;
		e->target.secondary = zones[i].secondary;
		e->target.down = zones[i].down;
		e->target.nlabels = e->nlabels;
		zone_ref(zones[i].zone);
		route_insert(rt, e);
	}
	return FWD_OK;
}

static int route_add_forwards(struct route_table *rt, const struct cfg *cfg, char *err, size_t errlen)
{
	uint8_t wire[WIRE_MAX_NAME];
	for (size_t i = 0; i < cfg->nforwards; i++) {
		const struct cfg_forward *f = &cfg->forwards[i];
		struct route_entry *e;
		const struct route_entry *old;
		int wlen = f->suffix ? wire_name_from_text(f->suffix, wire) : -1;

		if (wlen <= 0) {
			snprintf(err, errlen, "%s:%d: forward: invalid name '%s'", cfg->file ? cfg->file : "config",
				 f->line, f->suffix ? f->suffix : "");
			return FWD_EINVAL;
		}
		if (f->group_index >= cfg->nupstreams) {
			snprintf(err, errlen, "%s:%d: forward %s: no such upstream group", cfg->file ? cfg->file : "config",
				 f->line, f->suffix);
			return FWD_EINVAL;
		}
		e = route_entry_new(wire, (size_t)wlen, f->suffix);
		if (!e) {
			snprintf(err, errlen, "route: out of memory");
			return FWD_ENOMEM;
		}
		old = route_find_entry(rt, e);
		if (old) {
			log_debug("%s:%d: forward %s is shadowed by %s of the same name", cfg->file ? cfg->file : "config",
				 f->line, f->suffix, old->target.kind == ROUTE_ZONE ? "a local zone" : "an earlier forward");
			free(e);
			continue;
		}
		e->target.kind = ROUTE_FORWARD;
		e->target.origin = ORIGIN_FORWARD;
		e->target.group = f->group_index;
		e->target.nlabels = e->nlabels;
		route_insert(rt, e);
	}
	return FWD_OK;
}

/* Mark the "{...}" labels and find the literal tail right of the last one:
 * FWD_OK, or FWD_EINVAL when the name has no placeholder label. */
static enum fwd_err route_ph_prepare(struct route_entry *e)
{
	size_t p = 0, k = 0, last = 0;
	int seen = 0;
	while (e->wire[p] != 0) {
		uint8_t l = e->wire[p];
		if (l >= 2 && e->wire[p + 1] == '{' && e->wire[p + l] == '}') {
			e->any_label[k >> 6] |= (uint64_t)1 << (k & 63);
			last = k;
			seen = 1;
		}
		p += 1u + l;
		k++;
	}
	if (!seen)
		return FWD_EINVAL;
	p = 0;
	for (k = 0; k <= last; k++)
		p += 1u + e->wire[p];
	e->tail_off = (uint8_t)p;
	e->tail_len = (uint8_t)(e->wire_len - p);
	e->tail_labels = (uint8_t)(e->nlabels - last - 1);
	return FWD_OK;
}

static int route_ph_cmp(const void *a, const void *b)
{
	const struct route_entry *x = *(const struct route_entry *const *)a;
	const struct route_entry *y = *(const struct route_entry *const *)b;
	size_t n;
	int c;
	if (x->nlabels != y->nlabels)
		return x->nlabels > y->nlabels ? -1 : 1;
	/* Deterministic order among equals, so a tie always resolves the same way. */
	n = x->wire_len < y->wire_len ? x->wire_len : y->wire_len;
	c = memcmp(x->wire, y->wire, n);
	if (c)
		return c;
	return (int)x->wire_len - (int)y->wire_len;
}

static int route_add_catalogue(struct route_table *rt, const struct cfg *cfg, const struct catalogue_entry *cat,
			       size_t ncat, char *err, size_t errlen)
{
	uint8_t wire[WIRE_MAX_NAME];
	for (size_t i = 0; i < ncat; i++) {
		struct route_entry *e;
		int wlen = wire_name_from_text(cat[i].name, wire);
		if (wlen <= 0) {
			/* Only a broken build can get here: the generator checks names. */
			snprintf(err, errlen, "route: catalogue name '%s' is invalid", cat[i].name);
			return FWD_EINVAL;
		}
		e = route_entry_new(wire, (size_t)wlen, NULL);
		if (!e) {
			snprintf(err, errlen, "route: out of memory");
			return FWD_ENOMEM;
		}
		e->target.kind = ROUTE_FORWARD;
		e->target.origin = ORIGIN_CATALOGUE;
		e->target.group = cfg->group_azure;
		e->target.nlabels = e->nlabels;
		e->target.name = cat[i].name; /* static catalogue text */
		if (cat[i].placeholder) {
			if (route_ph_prepare(e) != FWD_OK) {
				snprintf(err, errlen, "route: catalogue name '%s' has no placeholder label", cat[i].name);
				free(e);
				return FWD_EINVAL;
			}
			rt->ph[rt->nph++] = e;
			continue;
		}
		/* A zone or an admin rule of the same name was put in first and wins. */
		if (route_find_entry(rt, e)) {
			free(e);
			continue;
		}
		route_insert(rt, e);
	}
	if (rt->nph > 1)
		qsort(rt->ph, rt->nph, sizeof(rt->ph[0]), route_ph_cmp);
	return FWD_OK;
}

struct route_table *route_build(const struct cfg *cfg, const struct route_zone *zones, size_t nzones,
				char *err, size_t errlen)
{
	struct route_table *rt;
	const struct catalogue_entry *cat;
	size_t ncat, total, cap = 16;

	if (!cfg || (nzones && !zones)) {
		snprintf(err, errlen, "route: no configuration");
		return NULL;
	}
	cat = route_catalogue(cfg->cloud, &ncat);
	if (cfg->group_default >= cfg->nupstreams || (ncat && cfg->group_azure >= cfg->nupstreams)) {
		snprintf(err, errlen, "route: the \"default\" or \"azure\" upstream group is missing");
		return NULL;
	}
	total = nzones + cfg->nforwards + ncat;
	if (total > UINT32_MAX / 4) {
		snprintf(err, errlen, "route: too many routes (%zu)", total);
		return NULL;
	}
	/* Load factor at most 1/2: probes stay short and an empty slot
	 * always ends a miss. */
	while (cap < 2 * total)
		cap *= 2;

	rt = calloc(1, sizeof(*rt));
	if (!rt) {
		snprintf(err, errlen, "route: out of memory");
		return NULL;
	}
	rt->slots = calloc(cap, sizeof(*rt->slots));
	rt->entries = calloc(total ? total : 1, sizeof(*rt->entries));
	rt->ph = calloc(ncat ? ncat : 1, sizeof(*rt->ph));
	if (!rt->slots || !rt->entries || !rt->ph) {
		snprintf(err, errlen, "route: out of memory");
		route_free(rt);
		return NULL;
	}
	rt->mask = (uint32_t)(cap - 1);
	rt->deflt.kind = ROUTE_FORWARD;
	rt->deflt.origin = ORIGIN_DEFAULT;
	rt->deflt.group = cfg->group_default;
	rt->deflt.nlabels = 0;
	rt->deflt.name = ".";

	if (route_add_zones(rt, zones, nzones, err, errlen) != FWD_OK ||
	    route_add_forwards(rt, cfg, err, errlen) != FWD_OK ||
	    route_add_catalogue(rt, cfg, cat, ncat, err, errlen) != FWD_OK) {
		route_free(rt);
		return NULL;
	}
	return rt;
}
