/*
 * cont.c -- the continuation pool (see cont.h).
 */
#include "cont.h"

#include <stdlib.h>
#include <string.h>

struct cont_pool *cont_pool_new(size_t max)
{
	struct cont_pool *p = calloc(1, sizeof(*p));
	if (p)
		p->max = max ? max : 1;
	return p;
}

void cont_pool_free(struct cont_pool *p)
{
	if (!p)
		return;
	while (p->live)
		cont_free(p, p->live);
	free(p);
}

struct query_cont *cont_new(struct cont_pool *p, const struct query_step *step, const struct wire_query *q,
			    const uint8_t *pub, size_t pub_len, const uint8_t *chain, size_t chain_len,
			    uint16_t chain_count)
{
	struct query_cont *c;

	if (p->nlive >= p->max)
		return NULL;
	c = malloc(sizeof(*c) + q->len + pub_len + chain_len);
	if (!c)
		return NULL;
	c->step = *step;
	c->step.cont = NULL;
	c->fallback = 0;
	c->chain_count = chain_count;
	c->pub_len = pub_len;
	c->chain_len = chain_len;
	c->query = c->data;
	c->pub = c->query + q->len;
	c->chain = c->pub + pub_len;
	memcpy(c->query, q->pkt, q->len);
	memcpy(c->pub, pub, pub_len);
	memcpy(c->chain, chain, chain_len);
	c->q = *q;
	c->q.pkt = c->query;
	c->prev = NULL;
	c->next = p->live;
	if (p->live)
		p->live->prev = c;
	p->live = c;
	p->nlive++;
	return c;
}

void cont_free(struct cont_pool *p, struct query_cont *c)
{
	if (c->prev)
		c->prev->next = c->next;
	else
		p->live = c->next;
	if (c->next)
		c->next->prev = c->prev;
	p->nlive--;
	free(c);
}
