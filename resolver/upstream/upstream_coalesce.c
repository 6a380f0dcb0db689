/*
 * upstream_coalesce.c -- the table of questions in flight (see
 * upstream_coalesce.h for what counts as the same question).
 */
#include <stdlib.h>
#include <string.h>

#include "common.h"
#include "upstream_coalesce.h"

enum fwd_err up_ctable_init(struct up_ctable *t, size_t max_pending, uint32_t seed)
{
	size_t nb = 16;

	memset(t, 0, sizeof *t);
	/* at most half full, so that chains stay about one entry long */
	while (nb < max_pending * 2 && nb < ((size_t)1 << 30))
		nb <<= 1;
	t->buckets = calloc(nb, sizeof *t->buckets);
	t->bmask = (uint32_t)(nb - 1);
	t->seed = seed;
	return t->buckets ? FWD_OK : FWD_ENOMEM;
}

void up_ctable_fini(struct up_ctable *t)
{
	free(t->buckets);
	t->buckets = NULL;
}

void up_ctable_hash(const struct up_ctable *t, struct up_centry *e)
{
	const struct up_ckey *k = &e->key;
	uint32_t h = t->seed ^ 2166136261u;
	uintptr_t c = (uintptr_t)k->cfg;
	size_t i;

	for (i = 0; i < k->qname_len; i++)
		h = (h ^ k->qname[i]) * 16777619u;
	h = (h ^ k->qtype) * 16777619u;
	h = (h ^ k->qclass) * 16777619u;
	h = (h ^ k->kflags) * 16777619u;
	h = (h ^ (uint32_t)k->group) * 16777619u;
	h = (h ^ (uint32_t)(c >> 4)) * 16777619u;
	h ^= h >> 15;
	e->hash = h;
}

struct up_centry *up_ctable_find(const struct up_ctable *t, const struct up_centry *e)
{
	const struct up_ckey *k = &e->key;
	struct up_centry *p;

	for (p = t->buckets[e->hash & t->bmask]; p; p = p->hnext) {
		const struct up_ckey *o = &p->key;
		if (p->hash == e->hash && o->cfg == k->cfg && o->group == k->group && o->kflags == k->kflags &&
		    o->qtype == k->qtype && o->qclass == k->qclass && o->qname_len == k->qname_len &&
		    memcmp(o->qname, k->qname, k->qname_len) == 0)
			return p;
	}
	return NULL;
}

void up_ctable_insert(struct up_ctable *t, struct up_centry *e)
{
	struct up_centry **b = &t->buckets[e->hash & t->bmask];
	e->hnext = *b;
	*b = e;
}

void up_ctable_remove(struct up_ctable *t, struct up_centry *e)
{
	struct up_centry **pp;

	for (pp = &t->buckets[e->hash & t->bmask]; *pp; pp = &(*pp)->hnext) {
		if (*pp == e) {
			*pp = e->hnext;
			break;
		}
	}
	e->hnext = NULL;
}
