/*
 * xfr_journal.c -- per-zone differences between published versions, for
 * IXFR (see xfr_journal.h).
 *
 * A version's data is one byte string: the old SOA, the deleted records,
 * the new SOA, the added records -- exactly what RFC 1995 sec. 4 puts in an
 * IXFR answer for that step -- so an answer is the concatenation of the
 * steps between the client's serial and the current one.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* qsort_r */
#endif

#include "xfr_journal.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"
#include "file_replace.h"
#include "log.h"
#include "route.h"
#include "serial.h"
#include "snapshot.h"
#include "wire.h"
#include "xfr_cfg.h"
#include "zone.h"

struct jversion {
	uint32_t from, to;
	uint8_t *data;            /* old SOA, deleted, new SOA, added */
	size_t len, count;
	struct jversion *next;    /* newer */
};

struct jzone {
	char name[WIRE_MAX_NAME * 4 + 1];
	struct zone *last;        /* one reference: the version last published */
	struct jversion *oldest, *newest;
	size_t bytes;
	struct jzone *next;
};

struct xfr_journal {
	pthread_mutex_t mu;       /* guards zones and their versions */
	struct jzone *zones;
};

/* ------------------------------------------------------------ records */

struct rrvec {
	uint8_t *buf;             /* records back to back */
	size_t len, cap;
	size_t *off;              /* where each record starts */
	size_t n, capn;
};

static size_t rr_wire_len(const uint8_t *r)
{
	int ol = wire_name_len(r, WIRE_MAX_NAME);
	return (size_t)ol + 10 + wire_get16(r + ol + 8);
}

static int vec_put(struct rrvec *v, const uint8_t *owner, size_t olen, const uint8_t *rest, size_t rlen)
{
	if (v->len + olen + rlen > v->cap) {
		size_t cap = v->cap ? v->cap : 4096;
		while (cap < v->len + olen + rlen)
			cap *= 2;
		uint8_t *g = realloc(v->buf, cap);
		if (g == NULL)
			return -1;
		v->buf = g;
		v->cap = cap;
	}
	if (v->n == v->capn) {
		size_t capn = v->capn ? 2 * v->capn : 256;
		size_t *g = realloc(v->off, capn * sizeof(*g));
		if (g == NULL)
			return -1;
		v->off = g;
		v->capn = capn;
	}
	v->off[v->n++] = v->len;
	memcpy(v->buf + v->len, owner, olen);
	if (rlen > 0) /* rest may be NULL for an empty RDATA */
		memcpy(v->buf + v->len + olen, rest, rlen);
	v->len += olen + rlen;
	return 0;
}

static void vec_free(struct rrvec *v)
{
	free(v->buf);
	free(v->off);
	memset(v, 0, sizeof(*v));
}

/* Every record of z but the apex SOA, owners uncompressed. */
static int zone_records(const struct zone *z, struct rrvec *v)
{
	struct zone_cursor c = {0, 0};
	struct zone_rrset s;

	while (zone_next_rrset(z, &c, &s) == FWD_OK) {
		if (s.rel_len == 0 && s.type == TYPE_SOA)
			continue;
		for (size_t o = 0; o < s.len;) {
			const uint8_t *rr = s.rrs + o;
			size_t l = 10 + wire_get16(rr + 2 + 8);
			if (vec_put(v, s.owner, s.owner_len, rr + 2, l) < 0)
				return -1;
			o += 2 + l;
		}
	}
	return 0;
}

static int rec_cmp(const void *a, const void *b, void *base)
{
	const uint8_t *x = (const uint8_t *)base + *(const size_t *)a, *y = (const uint8_t *)base + *(const size_t *)b;
	size_t lx = rr_wire_len(x), ly = rr_wire_len(y);
	int c = memcmp(x, y, lx < ly ? lx : ly);
	return c ? c : (lx > ly) - (lx < ly);
}

static void vec_sort(struct rrvec *v)
{
	qsort_r(v->off, v->n, sizeof(*v->off), rec_cmp, v->buf);
}

enum fwd_err xfr_zone_diff(const struct zone *a, const struct zone *b, uint8_t **del, size_t *del_len,
			   size_t *ndel, uint8_t **add, size_t *add_len, size_t *nadd)
{
	struct rrvec va = {0}, vb = {0}, vd = {0}, vadd = {0};
	size_t i = 0, k = 0;
	int bad = zone_records(a, &va) < 0 || zone_records(b, &vb) < 0;

	if (!bad) {
		vec_sort(&va);
		vec_sort(&vb);
	}
	while (!bad && (i < va.n || k < vb.n)) {
		int c;
		if (i == va.n)
			c = 1;
		else if (k == vb.n)
			c = -1;
		else {
			const uint8_t *x = va.buf + va.off[i], *y = vb.buf + vb.off[k];
			size_t lx = rr_wire_len(x), ly = rr_wire_len(y);
			c = memcmp(x, y, lx < ly ? lx : ly);
			if (c == 0)
				c = (lx > ly) - (lx < ly);
		}
		if (c == 0) {
			i++;
			k++;
		} else if (c < 0) {
			const uint8_t *x = va.buf + va.off[i++];
			bad = vec_put(&vd, x, rr_wire_len(x), NULL, 0) < 0;
		} else {
			const uint8_t *y = vb.buf + vb.off[k++];
			bad = vec_put(&vadd, y, rr_wire_len(y), NULL, 0) < 0;
		}
	}
	vec_free(&va);
	vec_free(&vb);
	if (bad) {
		vec_free(&vd);
		vec_free(&vadd);
		return FWD_ENOMEM;
	}
	*del = vd.buf;
	*del_len = vd.len;
	*ndel = vd.n;
	*add = vadd.buf;
	*add_len = vadd.len;
	*nadd = vadd.n;
	free(vd.off);
	free(vadd.off);
	return FWD_OK;
}

/* The apex SOA of z as one record with its owner uncompressed, into out
 * (room for WIRE_MAX_NAME + 10 + 65535 is never needed: an SOA is small). */
static size_t soa_record(const struct zone *z, uint8_t *out, size_t cap)
{
	struct zone_rrset s;
	size_t alen, l;
	const uint8_t *apex = zone_apex(z, &alen);

	if (zone_soa_rrset(z, &s) != FWD_OK)
		return 0;
	l = 10 + wire_get16(s.rrs + 2 + 8);
	if (alen + l > cap)
		return 0;
	memcpy(out, apex, alen);
	memcpy(out + alen, s.rrs + 2, l);
	return alen + l;
}

/* ------------------------------------------------------------ journal */

enum fwd_err xfr_journal_new(struct xfr_journal **out)
{
	struct xfr_journal *j = calloc(1, sizeof(*j));

	if (j == NULL)
		return FWD_ENOMEM;
	if (pthread_mutex_init(&j->mu, NULL) != 0) {
		free(j);
		return FWD_ENOMEM;
	}
	*out = j;
	return FWD_OK;
}

static void versions_free(struct jzone *jz)
{
	while (jz->oldest) {
		struct jversion *v = jz->oldest;
		jz->oldest = v->next;
		free(v->data);
		free(v);
	}
	jz->newest = NULL;
	jz->bytes = 0;
}

void xfr_journal_free(struct xfr_journal *j)
{
	if (j == NULL)
		return;
	while (j->zones) {
		struct jzone *jz = j->zones;
		j->zones = jz->next;
		versions_free(jz);
		zone_unref(jz->last);
		free(jz);
	}
	pthread_mutex_destroy(&j->mu);
	free(j);
}

static struct jzone *jzone_find(struct xfr_journal *j, const char *name)
{
	for (struct jzone *jz = j->zones; jz; jz = jz->next)
		if (strcmp(jz->name, name) == 0)
			return jz;
	return NULL;
}

/* The step from old to new as one version (NULL: out of memory). */
static struct jversion *version_make(const struct zone *old, const struct zone *new)
{
	uint8_t *del = NULL, *add = NULL, s1[1024], s2[1024];
	size_t dl, nd, al, na;
	size_t l1 = soa_record(old, s1, sizeof(s1)), l2 = soa_record(new, s2, sizeof(s2));
	struct jversion *v;

	if (l1 == 0 || l2 == 0 || xfr_zone_diff(old, new, &del, &dl, &nd, &add, &al, &na) != FWD_OK)
		return NULL;
	v = calloc(1, sizeof(*v));
	if (v == NULL || (v->data = malloc(l1 + dl + l2 + al + 1)) == NULL) {
		free(v);
		free(del);
		free(add);
		return NULL;
	}
	v->from = zone_serial(old);
	v->to = zone_serial(new);
	memcpy(v->data, s1, l1);
	if (dl)
		memcpy(v->data + l1, del, dl);
	memcpy(v->data + l1 + dl, s2, l2);
	if (al)
		memcpy(v->data + l1 + dl + l2, add, al);
	v->len = l1 + dl + l2 + al;
	v->count = 2 + nd + na;
	free(del);
	free(add);
	return v;
}


/* ------------------------------------------------------------ state-dir */

/*
 * STATE/xfr-journal/ZONE (ZONE: the name with its dot): "PLJ1", then per
 * version, oldest first, from, to, count and length (4 bytes each, big
 * endian) and the data.  Written whole (temporary file and rename) after
 * every change; read when a zone is first seen after a start, and used only
 * when its newest version is the serial being served.
 */
#define JMAGIC "PLJ1"

static int jpath(const char *state_dir, const char *zone, char *out, size_t cap, int mkd)
{
	if (state_dir == NULL || strchr(zone, '/') != NULL)
		return 0;
	snprintf(out, cap, "%s/xfr-journal", state_dir);
	if (mkd && mkdir(out, 0700) != 0 && errno != EEXIST)
		return 0;
	snprintf(out, cap, "%s/xfr-journal/%s", state_dir, zone);
	return 1;
}

static void jsave(const char *state_dir, const struct jzone *jz)
{
	char path[4096], *buf = NULL;
	size_t len = 0;
	uint8_t h[16];
	FILE *f;
	int bad = 0;

	if (!jpath(state_dir, jz->name, path, sizeof(path), 1))
		return;
	/* built in memory, then written by the one state-file writer */
	if ((f = open_memstream(&buf, &len)) == NULL) {
		log_warn("xfr: cannot save %s: %s", path, strerror(errno));
		return;
	}
	bad |= fwrite(JMAGIC, 1, 4, f) != 4;
	for (const struct jversion *v = jz->oldest; v && !bad; v = v->next) {
		wire_put32(h, v->from);
		wire_put32(h + 4, v->to);
		wire_put32(h + 8, (uint32_t)v->count);
		wire_put32(h + 12, (uint32_t)v->len);
		bad |= fwrite(h, 1, 16, f) != 16 || fwrite(v->data, 1, v->len, f) != v->len;
	}
	if (fclose(f) != 0 || bad)
		log_warn("xfr: cannot save %s: out of memory", path);
	else
		fwd_file_replace("xfr", NULL, path, buf, len);
	free(buf);
}

/* The saved versions of jz's zone, when they lead to serial `now`. */
static void jload(const char *state_dir, struct jzone *jz, uint32_t now)
{
	char path[4096];
	uint8_t h[16];
	FILE *f;

	if (!jpath(state_dir, jz->name, path, sizeof(path), 0) || (f = fopen(path, "r")) == NULL)
		return;
	if (fread(h, 1, 4, f) != 4 || memcmp(h, JMAGIC, 4) != 0) {
		log_warn("xfr: %s is not a journal; ignored", path);
		fclose(f);
		return;
	}
	while (fread(h, 1, 16, f) == 16) {
		struct jversion *v = calloc(1, sizeof(*v));
		size_t len = wire_get32(h + 12);
		if (v == NULL || len > ((size_t)1 << 30) || (v->data = malloc(len ? len : 1)) == NULL ||
		    fread(v->data, 1, len, f) != len) {
			if (v)
				free(v->data);
			free(v);
			log_warn("xfr: %s is cut short; its last versions are ignored", path);
			break;
		}
		v->from = wire_get32(h);
		v->to = wire_get32(h + 4);
		v->count = wire_get32(h + 8);
		v->len = len;
		if (jz->newest)
			jz->newest->next = v;
		else
			jz->oldest = v;
		jz->newest = v;
		jz->bytes += len;
	}
	fclose(f);
	if (jz->newest && jz->newest->to != now) {
		/* it describes other versions than the one served: useless */
		versions_free(jz);
	}
}

void xfr_journal_publish(struct xfr_journal *j, const struct snapshot *snap)
{
	uint64_t limit = snap->cfg->xfr_journal_size;

	for (size_t i = 0; j && i < snap->nzones; i++) {
		const struct route_zone *rz = &snap->zones[i];
		size_t alen;
		const uint8_t *apex = zone_apex(rz->zone, &alen);
		const struct route_target *rt = route_lookup(snap->routes, apex, alen);
		struct xfr_zone_cfg zc;
		char name[WIRE_MAX_NAME * 4 + 1];

		if (rt->kind != ROUTE_ZONE || rt->zone != rz->zone)
			continue;
		wire_name_to_text(apex, name, sizeof(name));
		xfr_zone_cfg(snap->cfg, rz->origin, name, &zc);
		if (zc.nacl == 0 || limit == 0)
			continue; /* nobody may transfer it: no journal */
		struct jzone *jz = jzone_find(j, name);
		if (jz == NULL) {
			if ((jz = calloc(1, sizeof(*jz))) == NULL)
				continue;
			memcpy(jz->name, name, sizeof(jz->name));
			zone_ref(rz->zone);
			jz->last = rz->zone;
			jload(snap->cfg->state_dir, jz, zone_serial(rz->zone));
			pthread_mutex_lock(&j->mu);
			jz->next = j->zones;
			j->zones = jz;
			pthread_mutex_unlock(&j->mu);
			continue;
		}
		if (jz->last == rz->zone)
			continue;
		uint32_t was = zone_serial(jz->last), now = zone_serial(rz->zone);
		struct jversion *v = NULL;
		if (serial_lt(was, now) && (v = version_make(jz->last, rz->zone)) == NULL)
			log_warn("xfr: %s: out of memory recording serial %u in the journal", name, now);
		pthread_mutex_lock(&j->mu);
		if (v != NULL) {
			if (jz->newest)
				jz->newest->next = v;
			else
				jz->oldest = v;
			jz->newest = v;
			jz->bytes += v->len;
			while (jz->oldest && jz->bytes > limit) {
				struct jversion *o = jz->oldest;
				jz->oldest = o->next;
				if (jz->oldest == NULL)
					jz->newest = NULL;
				jz->bytes -= o->len;
				free(o->data);
				free(o);
			}
		} else if (was != now) {
			/* the serial went back or the step is lost: the journal
			 * no longer leads to this version */
			versions_free(jz);
		}
		if (was != now)
			jsave(snap->cfg->state_dir, jz);
		zone_ref(rz->zone);
		zone_unref(jz->last);
		jz->last = rz->zone;
		pthread_mutex_unlock(&j->mu);
	}
}

enum fwd_err xfr_journal_ixfr(struct xfr_journal *j, const struct zone *z, uint32_t from, uint8_t **buf,
			      size_t *len, size_t *count)
{
	char name[WIRE_MAX_NAME * 4 + 1];
	size_t alen, total, n = 0;
	uint8_t soa[1024];
	size_t sl = soa_record(z, soa, sizeof(soa));
	uint32_t target = zone_serial(z);
	enum fwd_err rc = FWD_ENOENT;

	if (j == NULL || sl == 0)
		return FWD_ENOENT;
	wire_name_to_text(zone_apex(z, &alen), name, sizeof(name));
	pthread_mutex_lock(&j->mu);
	struct jzone *jz = jzone_find(j, name);
	struct jversion *first = NULL, *v;
	for (v = jz ? jz->oldest : NULL; v; v = v->next)
		if (v->from == from) {
			first = v;
			break;
		}
	/* the steps must lead, one after the other, to the served serial */
	total = 2 * sl;
	uint32_t at = from;
	for (v = first; v; v = v->next) {
		if (v->from != at) {
			v = NULL;
			break;
		}
		total += v->len;
		n += v->count;
		at = v->to;
		if (v->to == target)
			break;
	}
	if (first != NULL && v != NULL) {
		uint8_t *b = malloc(total);
		if (b == NULL) {
			rc = FWD_ENOMEM;
		} else {
			size_t o = 0;
			memcpy(b, soa, sl);
			o = sl;
			for (struct jversion *w = first;; w = w->next) {
				memcpy(b + o, w->data, w->len);
				o += w->len;
				if (w == v)
					break;
			}
			memcpy(b + o, soa, sl);
			o += sl;
			*buf = b;
			*len = o;
			*count = n + 2;
			rc = FWD_OK;
		}
	}
	pthread_mutex_unlock(&j->mu);
	return rc;
}
