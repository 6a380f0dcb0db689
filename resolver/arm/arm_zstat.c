/*
 * arm_zstat.c -- the per-zone refresh state of ARM sync (see arm_zstat.h).
 */
#include "arm_zstat.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "arm_sync.h"
#include "zone.h"

static int arm_zstat_cmp(const void *a, const void *b)
{
	return strcmp(((const struct arm_zstat *)a)->name, ((const struct arm_zstat *)b)->name);
}

static void arm_zstat_clear(struct arm_zstat *z)
{
	free(z->name);
	for (size_t i = 0; i < z->nsources; i++)
		free(z->sources[i]);
	free(z->sources);
	free(z->last_error);
	memset(z, 0, sizeof(*z));
}

struct arm_zstat *arm_zstats_find(const struct arm_zstats *t, const char *name)
{
	struct arm_zstat key = {.name = (char *)name};

	if (t->n == 0)
		return NULL;
	return bsearch(&key, t->v, t->n, sizeof(*t->v), arm_zstat_cmp);
}

struct arm_zstat *arm_zstats_get(struct arm_zstats *t, const char *name)
{
	struct arm_zstat *z = arm_zstats_find(t, name);
	size_t lo = 0, hi = t->n;
	char *nm;

	if (z != NULL)
		return z;
	if (t->n == t->cap) {
		size_t cap = t->cap ? t->cap * 2 : 16;
		struct arm_zstat *nz = realloc(t->v, cap * sizeof(*nz));
		if (nz == NULL)
			return NULL;
		t->v = nz;
		t->cap = cap;
	}
	nm = strdup(name);
	if (nm == NULL)
		return NULL;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (strcmp(t->v[mid].name, name) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	memmove(&t->v[lo + 1], &t->v[lo], (t->n - lo) * sizeof(*t->v));
	memset(&t->v[lo], 0, sizeof(*t->v));
	t->v[lo].name = nm;
	t->n++;
	return &t->v[lo];
}

void arm_zstat_set_sources(struct arm_zstat *z, const char *const *ids, size_t n)
{
	char **v = calloc(n ? n : 1, sizeof(*v));

	if (v == NULL)
		return;
	for (size_t i = 0; i < n; i++) {
		v[i] = strdup(ids[i]);
		if (v[i] == NULL) {
			while (i > 0)
				free(v[--i]);
			free(v);
			return;
		}
	}
	for (size_t i = 0; i < z->nsources; i++)
		free(z->sources[i]);
	free(z->sources);
	z->sources = v;
	z->nsources = n;
}

void arm_zstats_result(struct arm_zstats *t, const char *zone, const char *err)
{
	struct arm_zstat *z = arm_zstats_get(t, zone);

	if (z == NULL)
		return;
	z->attempts++;
	z->last_attempt = (int64_t)time(NULL);
	free(z->last_error);
	z->last_error = NULL;
	if (err == NULL) {
		z->consecutive = 0;
		z->last_success = z->last_attempt;
		return;
	}
	z->failures++;
	z->consecutive++;
	z->last_error = strdup(err);
}

void arm_zstats_prune(struct arm_zstats *t, int (*keep)(void *arg, const char *name), void *arg)
{
	size_t k = 0;

	for (size_t i = 0; i < t->n; i++) {
		struct arm_zstat *z = &t->v[i];
		if (keep(arg, z->name))
			t->v[k++] = *z;
		else
			arm_zstat_clear(z);
	}
	t->n = k;
}

void arm_zstats_free(struct arm_zstats *t)
{
	for (size_t i = 0; i < t->n; i++)
		arm_zstat_clear(&t->v[i]);
	free(t->v);
	memset(t, 0, sizeof(*t));
}

void arm_zstat_info(const struct arm_zstat *z, const struct zone *served, struct arm_zone_info *out)
{
	memset(out, 0, sizeof(*out));
	out->name = z->name;
	out->served = served != NULL;
	out->sources = (const char *const *)z->sources;
	out->nsources = z->nsources;
	out->record_sets = served != NULL ? z->record_sets : 0;
	out->records = served != NULL ? zone_rr_count(served) : 0;
	out->last_success_unix = z->last_success;
	out->last_attempt_unix = z->last_attempt;
	out->last_error = z->last_error;
	out->consecutive_failures = z->consecutive;
	out->attempts = z->attempts;
	out->failures = z->failures;
	out->throttled = z->throttled;
}
