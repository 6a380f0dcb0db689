/*
 * snapshot.c -- building and releasing the immutable serving state.
 *
 * Build order: config -> ACL -> zone files -> route table.  Any failure
 * frees what was built and reports "file:line: message"; the caller keeps
 * serving with the snapshot it has.
 */
#include "snapshot.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "acl.h"
#include "common.h"
#include "config.h"
#include "log.h"
#include "zone.h"

struct snapshot_base {
	atomic_int refs;
	struct cfg *cfg;
	struct acl *acl;
};

static void base_unref(struct snapshot_base *b)
{
	if (!b || atomic_fetch_sub(&b->refs, 1) != 1)
		return;
	acl_free(b->acl);
	cfg_free(b->cfg);
	free(b);
}

void snapshot_ref(struct snapshot *s) { atomic_fetch_add_explicit(&s->refs, 1, memory_order_relaxed); }

void snapshot_unref(struct snapshot *s)
{
	if (!s || atomic_fetch_sub_explicit(&s->refs, 1, memory_order_acq_rel) != 1)
		return;
	route_free(s->routes);
	for (size_t i = 0; i < s->nzones; i++)
		zone_unref(s->zones[i].zone);
	free(s->zones);
	base_unref(s->base);
	free(s);
}

/*
 * Assemble a snapshot from a base (reference passed in) and zone lists:
 * file zones (references passed in) and ARM zones (borrowed).
 */
static struct snapshot *assemble(struct snapshot_base *base, struct route_zone *fz, size_t nfz,
				 const struct route_zone *arm, size_t narm, char *err, size_t errlen)
{
	struct snapshot *s = calloc(1, sizeof(*s));
	struct route_zone *all = calloc(nfz + narm + 1, sizeof(*all));
	if (!s || !all) {
		snprintf(err, errlen, "out of memory building snapshot");
		goto fail;
	}
	memcpy(all, fz, nfz * sizeof(*fz));
	for (size_t i = 0; i < narm; i++) {
		all[nfz + i] = arm[i];
		zone_ref(arm[i].zone);
	}
	free(fz);
	fz = NULL;
	atomic_init(&s->refs, 1);
	s->base = base;
	s->cfg = base->cfg;
	s->acl = base->acl;
	s->zones = all;
	s->nzones = nfz + narm;
	s->nfile_zones = nfz;
	/* route_build takes its own zone references; files first so a file
	 * zone wins over an ARM zone of the same name */
	s->routes = route_build(base->cfg, all, s->nzones, err, errlen);
	if (!s->routes) {
		snapshot_unref(s);
		return NULL;
	}
	return s;
fail:
	if (fz) {
		for (size_t i = 0; i < nfz; i++)
			zone_unref(fz[i].zone);
		free(fz);
	}
	free(all);
	free(s);
	base_unref(base);
	return NULL;
}

struct zone *snapshot_placeholder_zone(const char *apex, char *err, size_t errlen)
{
	char text[600];
	/* only its apex matters: route.c keys the zone by it and query.c
	 * answers SERVFAIL for a down zone before looking at the data */
	snprintf(text, sizeof(text), "%s 0 IN SOA invalid. invalid. 0 0 0 0 0\n", apex);
	return zone_load_text(apex, text, "(secondary zone not loaded)", err, errlen);
}

struct snapshot *snapshot_build_cfg(struct cfg *cfg, const struct route_zone *arm_zones, size_t narm,
				    char *err, size_t errlen)
{
	struct snapshot_base *base = calloc(1, sizeof(*base));
	struct route_zone *fz = NULL;
	if (!base) {
		cfg_free(cfg);
		snprintf(err, errlen, "out of memory building snapshot");
		return NULL;
	}
	atomic_init(&base->refs, 1);
	base->cfg = cfg;
	base->acl = acl_build(cfg);
	if (!base->acl) {
		snprintf(err, errlen, "out of memory building the ACL");
		base_unref(base);
		return NULL;
	}
	/* an unreadable zone file is reported at its zone: clause's line */
	if (cfg_check_files(cfg, err, errlen) != 0) {
		base_unref(base);
		return NULL;
	}
	fz = calloc(cfg->nzones + 1, sizeof(*fz));
	if (!fz) {
		snprintf(err, errlen, "out of memory building snapshot");
		base_unref(base);
		return NULL;
	}
	for (size_t i = 0; i < cfg->nzones; i++) {
		const struct cfg_zone *cz = &cfg->zones[i];
		fz[i].zone = cz->nprimaries ? snapshot_placeholder_zone(cz->name, err, errlen)
					    : zone_load_file(cz->name, cz->path, err, errlen);
		if (!fz[i].zone) {
			for (size_t j = 0; j < i; j++)
				zone_unref(fz[j].zone);
			free(fz);
			base_unref(base);
			return NULL;
		}
		fz[i].origin = ORIGIN_ZONE_FILE;
		fz[i].fallback_public = cz->fallback_public;
		/* a secondary zone's data comes from its transfers
		 * (snapshot_with_secondary); until then it is down */
		fz[i].secondary = cz->nprimaries ? 1 : 0;
		fz[i].down = cz->nprimaries ? 1 : 0;
	}
	return assemble(base, fz, cfg->nzones, arm_zones, narm, err, errlen);
}

struct snapshot *snapshot_build(const char *cfgpath, const struct route_zone *arm_zones, size_t narm,
				char *err, size_t errlen)
{
	struct cfg *cfg = NULL;
	if (cfg_load(cfgpath, &cfg, err, errlen) != 0)
		return NULL;
	return snapshot_build_cfg(cfg, arm_zones, narm, err, errlen);
}

struct snapshot *snapshot_with_arm(const struct snapshot *prev, const struct route_zone *arm_zones,
				   size_t narm, char *err, size_t errlen)
{
	struct route_zone *fz = calloc(prev->nfile_zones + 1, sizeof(*fz));
	if (!fz) {
		snprintf(err, errlen, "out of memory building snapshot");
		return NULL;
	}
	for (size_t i = 0; i < prev->nfile_zones; i++) {
		fz[i] = prev->zones[i];
		zone_ref(fz[i].zone);
	}
	atomic_fetch_add(&prev->base->refs, 1);
	return assemble(prev->base, fz, prev->nfile_zones, arm_zones, narm, err, errlen);
}

struct snapshot *snapshot_with_secondary(const struct snapshot *prev, const struct route_zone *sec, size_t nsec,
					 char *err, size_t errlen)
{
	struct route_zone *fz = calloc(prev->nfile_zones + 1, sizeof(*fz));
	if (!fz) {
		snprintf(err, errlen, "out of memory building snapshot");
		return NULL;
	}
	for (size_t i = 0; i < prev->nfile_zones; i++) {
		fz[i] = prev->zones[i];
		if (fz[i].secondary) {
			size_t alen, blen;
			const uint8_t *a = zone_apex(fz[i].zone, &alen);
			for (size_t j = 0; j < nsec; j++) {
				const uint8_t *b = zone_apex(sec[j].zone, &blen);
				if (alen == blen && memcmp(a, b, alen) == 0) {
					fz[i] = sec[j];
					fz[i].origin = ORIGIN_ZONE_FILE;
					fz[i].secondary = 1;
					fz[i].fallback_public = 0;
					break;
				}
			}
		}
		zone_ref(fz[i].zone);
	}
	atomic_fetch_add(&prev->base->refs, 1);
	return assemble(prev->base, fz, prev->nfile_zones, prev->zones + prev->nfile_zones,
			prev->nzones - prev->nfile_zones, err, errlen);
}

/* ------------------------------------------------------------ publishing */

enum fwd_err snapshot_pub_init(struct snapshot_pub *p)
{
	p->current = NULL;
	atomic_init(&p->generation, 0);
	return pthread_mutex_init(&p->lock, NULL) == 0 ? FWD_OK : FWD_EIO;
}

void snapshot_pub_fini(struct snapshot_pub *p)
{
	if (p->current)
		snapshot_unref(p->current);
	p->current = NULL;
	pthread_mutex_destroy(&p->lock);
}

struct snapshot *snapshot_pub_acquire(struct snapshot_pub *p)
{
	pthread_mutex_lock(&p->lock);
	struct snapshot *s = p->current;
	if (s)
		snapshot_ref(s);
	pthread_mutex_unlock(&p->lock);
	return s;
}

void snapshot_pub_publish(struct snapshot_pub *p, struct snapshot *s)
{
	pthread_mutex_lock(&p->lock);
	struct snapshot *old = p->current;
	s->generation = atomic_load(&p->generation) + 1;
	p->current = s;
	pthread_mutex_unlock(&p->lock);
	atomic_fetch_add_explicit(&p->generation, 1, memory_order_release);
	/* workers still serving with old hold their own references; queries in
	 * flight upstream hold theirs, so nothing they use goes away here */
	if (old)
		snapshot_unref(old);
}
