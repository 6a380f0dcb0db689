/*
 * arm_pe_zone.c -- a round's endpoints into zone sources, conflicts with
 * private DNS zones, and the notes explain and /metrics read (see
 * arm_pe_zone.h).
 */
#include "arm_pe_zone.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "arm_pe_map.h"
#include "common.h"
#include "log.h"

/* ---------------------------------------------------------------- notes */

static void note_clear(struct arm_pe_note *n)
{
	free(n->fqdn);
	free(n->name);
	free(n->zone);
	free(n->pe_id);
	free(n->pe_name);
	free(n->sub);
	free(n->rg);
	free(n->other);
}

void arm_pe_view_free(struct arm_pe_view *v)
{
	for (size_t i = 0; i < v->n; i++)
		note_clear(&v->v[i]);
	free(v->v);
	memset(v, 0, sizeof(*v));
}

static char *dup0(const char *s)
{
	return strdup(s ? s : "");
}

static int note_add(struct arm_pe_view *v, enum arm_pe_note_kind kind, const char *fqdn, const char *name,
		    const char *zone, const char *pe_id, const char *pe_name, const char *sub, const char *rg,
		    enum arm_pe_state st, const char *other)
{
	struct arm_pe_note *n;

	if (v->n == v->cap) {
		size_t cap = v->cap ? v->cap * 2 : 32;
		struct arm_pe_note *nv = realloc(v->v, cap * sizeof(*nv));
		if (nv == NULL)
			return FWD_ENOMEM;
		v->v = nv;
		v->cap = cap;
	}
	n = &v->v[v->n];
	memset(n, 0, sizeof(*n));
	n->kind = kind;
	n->state = st;
	n->fqdn = dup0(fqdn);
	n->name = dup0(name);
	n->zone = dup0(zone);
	n->pe_id = dup0(pe_id);
	n->pe_name = dup0(pe_name);
	n->sub = dup0(sub);
	n->rg = dup0(rg);
	n->other = dup0(other);
	v->n++;
	if (!n->fqdn || !n->name || !n->zone || !n->pe_id || !n->pe_name || !n->sub || !n->rg || !n->other)
		return FWD_ENOMEM;
	return 0;
}

void arm_pe_note_text(const struct arm_pe_note *n, char *buf, size_t cap)
{
	char who[900];

	snprintf(who, sizeof(who), "private endpoint %s (subscription %s, resource group %s)", n->pe_name,
		 n->sub[0] ? n->sub : "?", n->rg[0] ? n->rg : "?");
	switch (n->kind) {
	case ARM_PE_NOTE_SERVED:
		snprintf(buf, cap, "%s: %s is Approved: served as %s in zone %s", n->fqdn, who, n->name, n->zone);
		break;
	case ARM_PE_NOTE_NOT_APPROVED:
		snprintf(buf, cap, "%s: %s is %s%s%s%s: not served", n->fqdn, who, arm_pe_state_text(n->state),
			 n->state == ARM_PE_OTHER && n->other[0] ? " (status '" : "",
			 n->state == ARM_PE_OTHER ? n->other : "",
			 n->state == ARM_PE_OTHER && n->other[0] ? "')" : "");
		break;
	case ARM_PE_NOTE_UNMAPPED:
		snprintf(buf, cap, "%s: %s: no Private Link zone of the catalogue and no endpoint-zone: "
			 "covers the name: not served", n->fqdn, who);
		break;
	case ARM_PE_NOTE_FILTERED:
		snprintf(buf, cap, "%s: %s: its zone %s does not pass zone-filter: not served", n->fqdn, who,
			 n->zone);
		break;
	case ARM_PE_NOTE_DUPLICATE:
		snprintf(buf, cap, "%s: %s: %s is already served from private endpoint %s: not served", n->fqdn,
			 who, n->name, n->other);
		break;
	case ARM_PE_NOTE_CONFLICT:
		snprintf(buf, cap, "%s: %s: the private DNS zone %s has the name (record set %s); the zone's "
			 "record wins, the endpoint's is not served", n->fqdn, who, n->zone, n->other);
		break;
	case ARM_PE_NOTE_NKINDS:
		snprintf(buf, cap, "%s: %s", n->fqdn, who);
		break;
	}
}

static int note_same(const struct arm_pe_note *a, const struct arm_pe_note *b)
{
	return a->kind == b->kind && a->state == b->state && strcmp(a->fqdn, b->fqdn) == 0 &&
	       strcasecmp(a->pe_id, b->pe_id) == 0 && strcmp(a->name, b->name) == 0 &&
	       strcasecmp(a->other, b->other) == 0;
}

void arm_pe_view_log_changes(const struct arm_pe_view *prev, const struct arm_pe_view *cur)
{
	size_t logged = 0, more = 0;

	for (size_t i = 0; i < cur->n; i++) {
		const struct arm_pe_note *n = &cur->v[i];
		int seen = 0;
		char text[2048];
		if (n->kind == ARM_PE_NOTE_SERVED)
			continue;
		/* a linear scan: notes are the exceptions, not every endpoint */
		for (size_t k = 0; prev != NULL && k < prev->n && !seen; k++)
			seen = note_same(n, &prev->v[k]);
		if (seen)
			continue;
		if (logged++ >= 50) {
			more++;
			continue;
		}
		arm_pe_note_text(n, text, sizeof(text));
		log_warn("arm: %s", text);
	}
	if (more > 0)
		log_warn("arm: %zu more private endpoint names not served (plinkfwd-ctl explain NAME tells why)",
			 more);
}

void arm_pe_view_find(const struct arm_pe_view *v, const char *name,
		      void (*fn)(void *arg, const struct arm_pe_note *n), void *arg)
{
	for (size_t i = 0; i < v->n; i++)
		if (strcmp(v->v[i].fqdn, name) == 0 || strcmp(v->v[i].name, name) == 0)
			fn(arg, &v->v[i]);
}

/* ---------------------------------------------------------------- zones */

void arm_pe_zones_free(struct arm_pe_zones *z)
{
	for (size_t i = 0; i < z->n; i++) {
		free(z->v[i].zone);
		free(z->v[i].source_id);
		arm_rrsets_free(&z->v[i].rr);
	}
	free(z->v);
	memset(z, 0, sizeof(*z));
}

/* One name to serve: the winning endpoint and its addresses. */
struct pe_ent {
	char *name;               /* owner.zone (or zone for "@") */
	char *zone, *owner;
	const struct arm_pe *pe;
	const char **addrs;       /* borrowed from the endpoint list */
	size_t naddrs;
};

struct pe_tab {
	struct pe_ent *v;
	size_t n, cap;
	size_t *slots;            /* open addressing over v: index + 1, 0 = empty */
	size_t nslots;
};

static uint64_t hash_str(const char *s)
{
	uint64_t h = 1469598103934665603ULL;

	for (; *s; s++) {
		h ^= (unsigned char)(*s >= 'A' && *s <= 'Z' ? *s - 'A' + 'a' : *s);
		h *= 1099511628211ULL;
	}
	return h;
}

static void pe_tab_free(struct pe_tab *t)
{
	for (size_t i = 0; i < t->n; i++) {
		free(t->v[i].name);
		free(t->v[i].zone);
		free(t->v[i].owner);
		free(t->v[i].addrs);
	}
	free(t->v);
	free(t->slots);
}

/* The entry named name, or where it would go (*slot). */
static struct pe_ent *pe_tab_find(struct pe_tab *t, const char *name, size_t *slot)
{
	size_t i = (size_t)hash_str(name) & (t->nslots - 1);

	while (t->slots[i] != 0) {
		struct pe_ent *e = &t->v[t->slots[i] - 1];
		if (strcmp(e->name, name) == 0)
			return e;
		i = (i + 1) & (t->nslots - 1);
	}
	*slot = i;
	return NULL;
}

static int pe_addr_add(struct pe_ent *e, const char *addr)
{
	const char **na;

	for (size_t i = 0; i < e->naddrs; i++)
		if (strcasecmp(e->addrs[i], addr) == 0)
			return 0;
	na = realloc(e->addrs, (e->naddrs + 1) * sizeof(*na));
	if (na == NULL)
		return FWD_ENOMEM;
	e->addrs = na;
	e->addrs[e->naddrs++] = addr;
	return 0;
}

static int pe_order(const void *a, const void *b)
{
	const struct arm_pe *x = a, *y = b;

	if (x->tag != y->tag)
		return x->tag < y->tag ? -1 : 1;
	return strcasecmp(x->id, y->id);
}

/* The zone source (zone, tag, rg) in out, made when missing. */
static struct arm_pe_zone *pe_zone_get(struct arm_pe_zones *out, const struct arm_pe_zcfg *zc, const char *zone,
				       const struct arm_pe *pe)
{
	const char *sub = pe->tag < zc->nsubs ? zc->subs[pe->tag] : pe->sub;
	char id[700];
	struct arm_pe_zone *z;

	if (zc->per_rg)
		snprintf(id, sizeof(id),
			 "/subscriptions/%s/resourceGroups/%s/providers/Microsoft.Network/privateEndpoints", sub,
			 pe->rg);
	else
		snprintf(id, sizeof(id), "/subscriptions/%s/providers/Microsoft.Network/privateEndpoints", sub);
	for (size_t i = 0; i < out->n; i++)
		if (out->v[i].tag == pe->tag && strcmp(out->v[i].zone, zone) == 0 &&
		    strcasecmp(out->v[i].source_id, id) == 0)
			return &out->v[i];
	if (out->n == out->cap) {
		size_t cap = out->cap ? out->cap * 2 : 8;
		struct arm_pe_zone *nv = realloc(out->v, cap * sizeof(*nv));
		if (nv == NULL)
			return NULL;
		out->v = nv;
		out->cap = cap;
	}
	z = &out->v[out->n];
	memset(z, 0, sizeof(*z));
	z->zone = strdup(zone);
	z->source_id = strdup(id);
	z->tag = pe->tag;
	out->n++;
	if (z->zone == NULL || z->source_id == NULL)
		return NULL;
	z->rr.source = z->source_id;
	/* A zone made from endpoints alone still needs an SOA for its negative
	 * answers; a private DNS zone source, ranked first, brings its own. */
	arm_buf_puts(&z->rr.soa, ARM_ID_COMMENT "(none: records from private endpoints; Azure's default SOA)\n"
				 "@\t3600\tIN\tSOA\tazureprivatedns.net. azureprivatedns-host.microsoft.com. "
				 "1 3600 300 2419200 10\n");
	return z->rr.soa.oom ? NULL : z;
}

/* The A and AAAA record sets of e, in ARM's record set shape, into z. */
static int pe_zone_add(struct arm_pe_zone *z, const struct pe_ent *e, int ttl)
{
	for (int v6 = 0; v6 < 2; v6++) {
		cJSON *rs = cJSON_CreateObject(), *props, *arr;
		char err[200];
		int any = 0, rc;
		if (rs == NULL)
			return FWD_ENOMEM;
		cJSON_AddStringToObject(rs, "id", e->pe->id);
		cJSON_AddStringToObject(rs, "name", e->owner);
		cJSON_AddStringToObject(rs, "type", v6 ? "Microsoft.Network/privateDnsZones/AAAA"
						       : "Microsoft.Network/privateDnsZones/A");
		props = cJSON_AddObjectToObject(rs, "properties");
		cJSON_AddNumberToObject(props, "ttl", ttl);
		arr = cJSON_AddArrayToObject(props, v6 ? "aaaaRecords" : "aRecords");
		for (size_t i = 0; arr != NULL && i < e->naddrs; i++) {
			cJSON *o;
			if ((strchr(e->addrs[i], ':') != NULL) != v6)
				continue;
			o = cJSON_CreateObject();
			cJSON_AddStringToObject(o, v6 ? "ipv6Address" : "ipv4Address", e->addrs[i]);
			cJSON_AddItemToArray(arr, o);
			any = 1;
		}
		rc = any ? arm_rrsets_add(&z->rr, rs, err, sizeof(err)) : 0;
		cJSON_Delete(rs);
		if (rc == FWD_EPARSE) {
			/* the parser checked the addresses; a name the zone writer
			 * refuses is skipped, not the whole zone */
			log_warn("arm: private endpoint %s: %s: %s; not served", e->pe->id, e->name, err);
			continue;
		}
		if (rc < 0)
			return rc;
	}
	return 0;
}

int arm_pe_zones_build(struct arm_pe_list *list, const struct arm_pe_zcfg *zc, struct arm_pe_zones *out,
		       struct arm_pe_view *view)
{
	struct pe_tab t = {0};
	size_t want = 64;
	int rc = 0;

	if (list->n > 1)
		qsort(list->v, list->n, sizeof(*list->v), pe_order);
	for (size_t i = 0; i < list->n; i++)
		want += list->v[i].ndns * 2;
	t.nslots = 64;
	while (t.nslots < want)
		t.nslots *= 2;
	t.slots = calloc(t.nslots, sizeof(*t.slots));
	if (t.slots == NULL)
		return FWD_ENOMEM;
	for (size_t i = 0; i < list->n && rc == 0; i++) {
		const struct arm_pe *pe = &list->v[i];
		view->by_state[pe->state < ARM_PE_NSTATES ? pe->state : ARM_PE_OTHER]++;
		for (size_t k = 0; k < pe->ndns && rc == 0; k++) {
			const struct arm_pe_dns *d = &pe->dns[k];
			char zone[256], owner[256], name[520];
			enum arm_pe_how how;
			struct pe_ent *e;
			size_t slot = 0;
			if (arm_pe_map(d->fqdn, zc->cloud, zc->endpoint_zones, zc->nendpoint_zones, zone, sizeof(zone),
				       owner, sizeof(owner), &how) != 0) {
				rc = note_add(view, ARM_PE_NOTE_UNMAPPED, d->fqdn, "", "", pe->id, pe->name, pe->sub,
					      pe->rg, pe->state, "");
				continue;
			}
			if (strcmp(owner, "@") == 0)
				snprintf(name, sizeof(name), "%s", zone);
			else
				snprintf(name, sizeof(name), "%s.%s", owner, zone);
			if (pe->state != ARM_PE_APPROVED) {
				rc = note_add(view, ARM_PE_NOTE_NOT_APPROVED, d->fqdn, name, zone, pe->id, pe->name,
					      pe->sub, pe->rg, pe->state, pe->status);
				continue;
			}
			if (zc->zone_wanted != NULL && !zc->zone_wanted(zc->arg, zone)) {
				rc = note_add(view, ARM_PE_NOTE_FILTERED, d->fqdn, name, zone, pe->id, pe->name,
					      pe->sub, pe->rg, pe->state, "");
				continue;
			}
			if (d->naddrs == 0)
				continue; /* nothing to serve; the endpoint is still counted */
			e = pe_tab_find(&t, name, &slot);
			if (e != NULL && e->pe != pe) {
				rc = note_add(view, ARM_PE_NOTE_DUPLICATE, d->fqdn, name, zone, pe->id, pe->name,
					      pe->sub, pe->rg, pe->state, e->pe->name);
				continue;
			}
			if (e == NULL) {
				if (t.n == t.cap) {
					size_t cap = t.cap ? t.cap * 2 : 64;
					struct pe_ent *nv = realloc(t.v, cap * sizeof(*nv));
					if (nv == NULL) {
						rc = FWD_ENOMEM;
						break;
					}
					t.v = nv;
					t.cap = cap;
				}
				e = &t.v[t.n];
				memset(e, 0, sizeof(*e));
				e->pe = pe;
				e->name = strdup(name);
				e->zone = strdup(zone);
				e->owner = strdup(owner);
				t.n++;
				t.slots[slot] = t.n;
				if (e->name == NULL || e->zone == NULL || e->owner == NULL) {
					rc = FWD_ENOMEM;
					break;
				}
				rc = note_add(view, ARM_PE_NOTE_SERVED, d->fqdn, name, zone, pe->id, pe->name,
					      pe->sub, pe->rg, pe->state, "");
			}
			for (size_t a = 0; a < d->naddrs && rc == 0; a++)
				rc = pe_addr_add(e, d->addrs[a]);
		}
	}
	for (size_t i = 0; i < t.n && rc == 0; i++) {
		struct arm_pe_zone *z = pe_zone_get(out, zc, t.v[i].zone, t.v[i].pe);
		size_t before;
		if (z == NULL) {
			rc = FWD_ENOMEM;
			break;
		}
		before = z->rr.nsets;
		rc = pe_zone_add(z, &t.v[i], zc->ttl);
		view->records += z->rr.nsets - before;
	}
	pe_tab_free(&t);
	return rc;
}

/* ---------------------------------------------------------------- conflicts */

/* The owner field of a record set's first line (after its comment). */
static const char *ent_owner(const struct arm_rrsets *z, const struct arm_ent *e, size_t *len)
{
	const char *line = z->text.p + e->off + e->hdr;

	*len = strcspn(line, "\t");
	return line;
}

/* The record set id of an entry's "; arm-id" comment (short form
 * expanded with the source), into buf. */
static void ent_id(const struct arm_rrsets *z, const struct arm_ent *e, char *buf, size_t cap)
{
	const char *p = z->text.p + e->off;
	size_t n = e->hdr;
	size_t cl = sizeof(ARM_ID_COMMENT) - 1;

	if (n < cl + 1 || strncmp(p, ARM_ID_COMMENT, cl) != 0) {
		snprintf(buf, cap, "?");
		return;
	}
	p += cl;
	n -= cl + 1; /* the newline */
	if (n > 0 && p[0] == '@' && z->source != NULL)
		snprintf(buf, cap, "%s%.*s", z->source, (int)(n - 1), p + 1);
	else
		snprintf(buf, cap, "%.*s", (int)n, p);
}

static int owner_eq(const char *a, size_t al, const char *b, size_t bl)
{
	return al == bl && strncasecmp(a, b, al) == 0;
}

int arm_pe_drop_conflicts(const char *zone, const struct arm_rrsets *const *dns, size_t ndns,
			  struct arm_rrsets *pe, struct arm_pe_view *view)
{
	size_t kept = 0, cap = 16, total = 0;
	int dropped = 0;
	/* the zone's owners in a hash table (source, entry): a zone may hold
	 * 25,000 record sets and as many endpoint names */
	struct own {
		const struct arm_rrsets *z;
		const struct arm_ent *e;
	} *tab;

	if (pe->nents == 0)
		return 0;
	for (size_t x = 0; x < ndns; x++)
		total += dns[x]->nents;
	while (cap < total * 2)
		cap *= 2;
	tab = calloc(cap, sizeof(*tab));
	if (tab == NULL)
		return FWD_ENOMEM;
	for (size_t x = 0; x < ndns; x++)
		for (size_t m = 0; m < dns[x]->nents; m++) {
			size_t dl, slot;
			const char *d = ent_owner(dns[x], &dns[x]->ents[m], &dl);
			char key[260];
			snprintf(key, sizeof(key), "%.*s", (int)(dl < 255 ? dl : 255), d);
			slot = (size_t)hash_str(key) & (cap - 1);
			while (tab[slot].z != NULL) {
				size_t tl;
				const char *t = ent_owner(tab[slot].z, tab[slot].e, &tl);
				if (owner_eq(d, dl, t, tl))
					break; /* the first source's entry stays */
				slot = (slot + 1) & (cap - 1);
			}
			if (tab[slot].z == NULL) {
				tab[slot].z = dns[x];
				tab[slot].e = &dns[x]->ents[m];
			}
		}

	for (size_t k = 0; k < pe->nents; k++) {
		struct arm_ent *e = &pe->ents[k];
		size_t ol, slot;
		const char *o = ent_owner(pe, e, &ol);
		const struct arm_rrsets *hit = NULL;
		const struct arm_ent *he = NULL;
		char key[260];
		snprintf(key, sizeof(key), "%.*s", (int)(ol < 255 ? ol : 255), o);
		slot = (size_t)hash_str(key) & (cap - 1);
		while (tab[slot].z != NULL && hit == NULL) {
			size_t tl;
			const char *t = ent_owner(tab[slot].z, tab[slot].e, &tl);
			if (owner_eq(o, ol, t, tl)) {
				hit = tab[slot].z;
				he = tab[slot].e;
			}
			slot = (slot + 1) & (cap - 1);
		}
		if (hit == NULL) {
			pe->ents[kept++] = *e;
			continue;
		}
		if (view != NULL) {
			char peid[600], zid[600], name[520], owner[260], sub[128], rg[128];
			const char *slash;
			ent_id(pe, e, peid, sizeof(peid));
			ent_id(hit, he, zid, sizeof(zid));
			snprintf(owner, sizeof(owner), "%.*s", (int)ol, o);
			if (strcmp(owner, "@") == 0)
				snprintf(name, sizeof(name), "%s", zone);
			else
				snprintf(name, sizeof(name), "%s.%s", owner, zone);
			if (arm_records_id_part(peid, "subscriptions", sub, sizeof(sub)) < 0)
				sub[0] = '\0';
			if (arm_records_id_part(peid, "resourceGroups", rg, sizeof(rg)) < 0)
				rg[0] = '\0';
			slash = strrchr(peid, '/');
			/* the endpoint's own note (with the FQDN as it lists it) turns
			 * into the conflict, so explain finds it under either name */
			for (size_t i = 0; i < view->n; i++) {
				struct arm_pe_note *n = &view->v[i];
				char *zc;
				if (n->kind != ARM_PE_NOTE_SERVED || strcmp(n->name, name) != 0 ||
				    strcasecmp(n->pe_id, peid) != 0)
					continue;
				if ((zc = strdup(zid)) == NULL) {
					free(tab);
					return FWD_ENOMEM;
				}
				free(n->other);
				n->other = zc;
				n->kind = ARM_PE_NOTE_CONFLICT;
				goto noted;
			}
			if (note_add(view, ARM_PE_NOTE_CONFLICT, name, name, zone, peid, slash ? slash + 1 : peid, sub,
				     rg, ARM_PE_APPROVED, zid) < 0) {
				free(tab);
				return FWD_ENOMEM;
			}
		}
noted:
		dropped++;
	}
	free(tab);
	pe->nents = kept;
	return dropped;
}
