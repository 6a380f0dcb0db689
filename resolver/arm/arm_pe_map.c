/*
 * arm_pe_map.c -- a private endpoint's FQDN to its zone and owner (see
 * arm_pe_map.h for the rule).
 */
#include "arm_pe_map.h"

#include <stdio.h>
#include <string.h>

#include "catalogue.h"
#include "cloud.h"
#include "common.h"

#define MAP_MAX_LABELS 128

/* Labels of a name, split in place into a copy. */
struct labels {
	char buf[256];
	const char *v[MAP_MAX_LABELS];
	size_t n;
};

static int split(const char *name, struct labels *l)
{
	size_t len = strlen(name);
	char *p;

	l->n = 0;
	if (len == 0 || len >= sizeof(l->buf))
		return -1;
	memcpy(l->buf, name, len + 1);
	if (len > 1 && l->buf[len - 1] == '.')
		l->buf[len - 1] = '\0';
	p = l->buf;
	for (;;) {
		char *dot = strchr(p, '.');
		if (l->n == MAP_MAX_LABELS)
			return -1;
		l->v[l->n++] = p;
		if (dot == NULL)
			break;
		*dot = '\0';
		p = dot + 1;
	}
	return 0;
}

static int is_placeholder(const char *label)
{
	size_t n = strlen(label);

	return n > 2 && label[0] == '{' && label[n - 1] == '}';
}

/* Does pattern pat match the last pat->n labels of name?  1 or 0. */
static int suffix_match(const struct labels *pat, const struct labels *name)
{
	if (pat->n > name->n)
		return 0;
	for (size_t i = 1; i <= pat->n; i++) {
		const char *p = pat->v[pat->n - i], *q = name->v[name->n - i];
		if (!is_placeholder(p) && strcmp(p, q) != 0)
			return 0;
	}
	return 1;
}

/* The value the placeholder ph had in a match of pat against name, or NULL. */
static const char *bound(const struct labels *pat, const struct labels *name, const char *ph)
{
	for (size_t i = 0; i < pat->n; i++)
		if (strcmp(pat->v[i], ph) == 0)
			return name->v[name->n - pat->n + i];
	return NULL;
}

/* Append labels[from..to) to out, dot-separated. */
static int join(char *out, size_t cap, const char *const *v, size_t from, size_t to)
{
	size_t len = strlen(out);

	for (size_t i = from; i < to; i++) {
		int n = snprintf(out + len, cap - len, "%s%s", len ? "." : "", v[i]);
		if (n < 0 || (size_t)n >= cap - len)
			return -1;
		len += (size_t)n;
	}
	return 0;
}

static const struct catalogue_entry *cloud_table(int cloud)
{
	switch (cloud) {
	case CLOUD_AZURE: return catalogue_azure;
	case CLOUD_USGOV: return catalogue_usgov;
	case CLOUD_CHINA: return catalogue_china;
	default: return NULL;
	}
}

/* Step 1: the FQDN inside a privatelink zone of the catalogue; 1 when it
 * is such a zone itself. */
static int map_private(const struct labels *name, int cloud, char *zone, size_t zcap, char *owner,
		       size_t ocap)
{
	const struct catalogue_entry *t = cloud_table(cloud);
	size_t best = 0;

	for (size_t i = 0; t != NULL && t[i].name != NULL; i++) {
		struct labels pat;
		if (split(t[i].name, &pat) < 0 || pat.n > name->n || pat.n <= best || !suffix_match(&pat, name))
			continue;
		if (pat.n == name->n)
			return 1; /* the zone itself: no resource, and no public reading */
		best = pat.n;
	}
	if (best == 0)
		return FWD_ENOENT;
	zone[0] = owner[0] = '\0';
	if (join(zone, zcap, name->v, name->n - best, name->n) < 0 ||
	    join(owner, ocap, name->v, 0, name->n - best) < 0)
		return FWD_EINVAL;
	return 0;
}

/* Step 2: the FQDN below a public zone of the catalogue. */
static int map_public(const struct labels *name, int cloud, char *zone, size_t zcap, char *owner,
		      size_t ocap)
{
	const struct arm_pe_pair *best = NULL;
	struct labels bpub, bpriv;
	size_t bestn = 0;

	for (size_t i = 0; i < arm_pe_pairs_count; i++) {
		const struct arm_pe_pair *p = &arm_pe_pairs[i];
		struct labels pub, priv;
		int usable = 1;
		if (p->cloud != cloud || split(p->public_zone, &pub) < 0 || pub.n >= name->n ||
		    pub.n <= bestn || !suffix_match(&pub, name) || split(p->private_zone, &priv) < 0)
			continue;
		for (size_t k = 0; k < priv.n && usable; k++)
			if (is_placeholder(priv.v[k]) && bound(&pub, name, priv.v[k]) == NULL)
				usable = 0;
		if (!usable)
			continue;
		best = p;
		bestn = pub.n;
	}
	/* split again: the labels point into the struct they were split into */
	if (best == NULL || split(best->public_zone, &bpub) < 0 || split(best->private_zone, &bpriv) < 0)
		return FWD_ENOENT;
	zone[0] = owner[0] = '\0';
	for (size_t k = 0; k < bpriv.n; k++) {
		const char *lab = is_placeholder(bpriv.v[k]) ? bound(&bpub, name, bpriv.v[k]) : bpriv.v[k];
		if (join(zone, zcap, &lab, 0, 1) < 0)
			return FWD_EINVAL;
	}
	if (join(owner, ocap, name->v, 0, name->n - bpub.n) < 0)
		return FWD_EINVAL;
	/* the public placeholders the private zone leaves out stay in the owner */
	for (size_t k = 0; k < bpub.n; k++) {
		const char *lab;
		int used = 0;
		if (!is_placeholder(bpub.v[k]))
			continue;
		for (size_t m = 0; m < bpriv.n; m++)
			used |= strcmp(bpriv.v[m], bpub.v[k]) == 0;
		lab = name->v[name->n - bpub.n + k];
		if (!used && join(owner, ocap, &lab, 0, 1) < 0)
			return FWD_EINVAL;
	}
	return 0;
}

/* Step 3: inside an endpoint-zone: name. */
static int map_config(const struct labels *name, const char *const *zones, size_t nzones, char *zone,
		      size_t zcap, char *owner, size_t ocap)
{
	size_t best = 0;
	const char *bz = NULL;

	for (size_t i = 0; i < nzones; i++) {
		struct labels z;
		if (split(zones[i], &z) < 0 || z.n > name->n || (bz != NULL && z.n <= best))
			continue;
		for (size_t k = 0; k < z.n; k++)
			if (is_placeholder(z.v[k]))
				goto next; /* names, not patterns */
		if (suffix_match(&z, name)) {
			best = z.n;
			bz = zones[i];
		}
next:;
	}
	if (bz == NULL)
		return FWD_ENOENT;
	if ((size_t)snprintf(zone, zcap, "%s", bz) >= zcap)
		return FWD_EINVAL;
	owner[0] = '\0';
	if (best == name->n)
		return (size_t)snprintf(owner, ocap, "@") >= ocap ? FWD_EINVAL : 0;
	return join(owner, ocap, name->v, 0, name->n - best) < 0 ? FWD_EINVAL : 0;
}

int arm_pe_map(const char *fqdn, int cloud, const char *const *zones, size_t nzones, char *zone,
	       size_t zcap, char *owner, size_t ocap, enum arm_pe_how *how)
{
	struct labels name;
	int rc;

	if (zcap == 0 || ocap == 0)
		return FWD_EINVAL;
	if (split(fqdn, &name) < 0)
		return FWD_ENOENT;
	rc = map_private(&name, cloud, zone, zcap, owner, ocap);
	if (rc == 1)
		return FWD_ENOENT;
	if (rc != FWD_ENOENT) {
		*how = ARM_PE_MAP_PRIVATE;
		return rc;
	}
	rc = map_public(&name, cloud, zone, zcap, owner, ocap);
	if (rc != FWD_ENOENT) {
		*how = ARM_PE_MAP_PUBLIC;
		return rc;
	}
	*how = ARM_PE_MAP_CONFIG;
	return map_config(&name, zones, nzones, zone, zcap, owner, ocap);
}
