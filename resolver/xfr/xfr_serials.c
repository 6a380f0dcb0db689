/*
 * xfr_serials.c -- synced zones' serials, persisted (see xfr_serials.h).
 */
#ifndef _POSIX_C_SOURCE
#define _POSIX_C_SOURCE 200809L
#endif

#include "xfr_serials.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "file_replace.h"
#include "log.h"
#include "serial.h"

struct serial_row {
	char *zone;
	uint32_t serial;
	uint64_t hash;
};

struct xfr_serials {
	char *path;               /* NULL: memory only */
	struct serial_row *rows;
	size_t n, cap;
};

static struct serial_row *row_find(struct xfr_serials *t, const char *zone)
{
	for (size_t i = 0; i < t->n; i++)
		if (strcmp(t->rows[i].zone, zone) == 0)
			return &t->rows[i];
	return NULL;
}

static struct serial_row *row_add(struct xfr_serials *t, const char *zone)
{
	if (t->n == t->cap) {
		size_t cap = t->cap ? 2 * t->cap : 16;
		struct serial_row *g = realloc(t->rows, cap * sizeof(*g));
		if (g == NULL)
			return NULL;
		t->rows = g;
		t->cap = cap;
	}
	struct serial_row *r = &t->rows[t->n];
	if ((r->zone = strdup(zone)) == NULL)
		return NULL;
	r->serial = 0;
	r->hash = 0;
	t->n++;
	return r;
}

static void load(struct xfr_serials *t)
{
	FILE *f = fopen(t->path, "r");
	char line[600], zone[520];
	unsigned long serial;
	uint64_t hash;
	int ln = 0;

	if (f == NULL) {
		if (errno != ENOENT)
			log_warn("xfr: cannot read %s: %s; synced zones' serials start afresh", t->path, strerror(errno));
		return;
	}
	while (fgets(line, sizeof(line), f)) {
		ln++;
		if (sscanf(line, "%519s %lu %" SCNx64, zone, &serial, &hash) != 3 || serial > UINT32_MAX) {
			log_warn("%s:%d: malformed line skipped", t->path, ln);
			continue;
		}
		struct serial_row *r = row_find(t, zone);
		if (r == NULL && (r = row_add(t, zone)) == NULL)
			break;
		r->serial = (uint32_t)serial;
		r->hash = hash;
	}
	fclose(f);
}

static void save(const struct xfr_serials *t)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f;

	if (t->path == NULL)
		return;
	/* built in memory, then written by the one state-file writer */
	if ((f = open_memstream(&buf, &len)) == NULL) {
		log_warn("xfr: cannot save %s: %s", t->path, strerror(errno));
		return;
	}
	for (size_t i = 0; i < t->n; i++)
		fprintf(f, "%s %" PRIu32 " %016" PRIx64 "\n", t->rows[i].zone, t->rows[i].serial, t->rows[i].hash);
	if (fclose(f) != 0)
		log_warn("xfr: cannot save %s: out of memory", t->path);
	else
		fwd_file_replace("xfr", NULL, t->path, buf, len);
	free(buf);
}

enum fwd_err xfr_serials_open(const char *state_dir, struct xfr_serials **out)
{
	struct xfr_serials *t = calloc(1, sizeof(*t));

	if (t == NULL)
		return FWD_ENOMEM;
	if (state_dir != NULL) {
		size_t l = strlen(state_dir) + sizeof("/xfr-serials");
		if ((t->path = malloc(l)) == NULL) {
			free(t);
			return FWD_ENOMEM;
		}
		snprintf(t->path, l, "%s/xfr-serials", state_dir);
		load(t);
	}
	*out = t;
	return FWD_OK;
}

void xfr_serials_free(struct xfr_serials *t)
{
	if (t == NULL)
		return;
	for (size_t i = 0; i < t->n; i++)
		free(t->rows[i].zone);
	free(t->rows);
	free(t->path);
	free(t);
}

enum fwd_err xfr_serials_assign(struct xfr_serials *t, const char *zone, uint64_t hash, uint32_t src, uint32_t now,
				uint32_t *serial)
{
	struct serial_row *r = row_find(t, zone);
	int has_prev = r != NULL;

	if (r != NULL && r->hash == hash) {
		*serial = r->serial;
		return FWD_OK;
	}
	if (r == NULL && (r = row_add(t, zone)) == NULL)
		return FWD_ENOMEM;
	r->serial = serial_next(r->serial, has_prev, src, now);
	r->hash = hash;
	save(t);
	*serial = r->serial;
	return FWD_OK;
}
