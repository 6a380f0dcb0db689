/*
 * cont.h -- spliced answers waiting for their private half.
 *
 * When a public CNAME chain enters a name that an upstream group answers
 * privately, the client's answer is finished only when that group replies.
 * A struct query_cont holds what the final reply needs: the client's step,
 * its query (bytes and parsed form: the query is not parsed again), the
 * public reply (answered as it is when the private side says NXDOMAIN and
 * fallback is on) and the chain records kept.  One allocation per
 * continuation (a cache-miss path, never a hit), on the pool's live list
 * until the private reply comes back or the worker stops.
 *
 * The pool also owns the two 64 KiB buffers replies are spliced in.
 */
#ifndef PLINKFWD_CONT_H
#define PLINKFWD_CONT_H

#include <stddef.h>
#include <stdint.h>

#include "step.h"
#include "wire.h"

struct query_cont {
	struct query_cont *prev, *next; /* pool's live list */
	struct query_step step;         /* the client's step (cont NULL) */
	struct wire_query q;            /* the client's query, parsed; q.pkt == query */
	int fallback;                   /* private NXDOMAIN: answer with the public reply */
	uint16_t chain_count;           /* records in chain */
	size_t pub_len, chain_len;
	uint8_t *query, *pub, *chain;   /* into data[] */
	uint8_t data[];
};

/* Per worker: live continuations and the buffers replies are built in. */
struct cont_pool {
	struct query_cont *live;
	size_t nlive;
	size_t max;                     /* cap on live continuations (max-pending) */
	uint8_t part[WIRE_MAX_MSG];     /* records being gathered */
	uint8_t msg[WIRE_MAX_MSG];      /* the reply being built */
};

/* A new pool for at most max live continuations; NULL without memory. */
struct cont_pool *cont_pool_new(size_t max);
/* Frees every live continuation too (their clients get no answer). */
void cont_pool_free(struct cont_pool *p);

/* A new continuation with copies of q's bytes (rebased), the public reply
 * and the chain; the pool owns it.  NULL when the pool is at its cap or
 * memory is short. */
struct query_cont *cont_new(struct cont_pool *p, const struct query_step *step, const struct wire_query *q,
			    const uint8_t *pub, size_t pub_len, const uint8_t *chain, size_t chain_len,
			    uint16_t chain_count);
void cont_free(struct cont_pool *p, struct query_cont *c);

#endif
