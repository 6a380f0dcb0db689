/*
 * upstream_coalesce.h -- the table of questions in flight of one
 * forwarding instance (upstream.c), so that identical questions share one
 * upstream query.
 *
 * Two questions are the same when everything that can change the upstream
 * answer is: the name (already lower-cased: case does not change the
 * answer; each client still gets its own case back), type, class, the RD,
 * CD, AD and DO bits, the client's transport (a TCP client may
 * get an answer too big for UDP), and the upstream group of the same config
 * (a reload may point the group elsewhere; configs are compared by
 * identity).  The waiting clients themselves are the owner's business: the
 * table only finds the query a new one can join.
 *
 * Ownership: struct up_ctable is embedded in its owner, which calls
 * up_ctable_init() once and up_ctable_fini() once (also after a failed
 * init, or on a zeroed struct); it owns the bucket array only.  Entries are
 * embedded in the owner's objects (a pending slot); an entry's key.qname
 * points into its owner, which keeps the key unchanged while the entry is
 * in the table.  Nothing here allocates after init.  Single threaded.
 */
#ifndef PLINKFWD_UPSTREAM_COALESCE_H
#define PLINKFWD_UPSTREAM_COALESCE_H

#include <stddef.h>
#include <stdint.h>

#include "common.h"

struct cfg;

/* Bits of the key beyond name, type, class and group. */
#define KF_RD 0x01u
#define KF_CD 0x02u
#define KF_DO 0x04u
#define KF_AD 0x08u
#define KF_TCP 0x10u

struct up_ckey {
	const struct cfg *cfg;     /* identity only, never dereferenced */
	size_t group;              /* index into cfg->upstreams */
	const uint8_t *qname;      /* lower-cased wire name, borrowed from the owner */
	uint8_t qname_len;
	uint16_t qtype, qclass;
	uint8_t kflags;            /* KF_* */
};

struct up_centry {
	struct up_centry *hnext;   /* bucket chain, while in the table */
	uint32_t hash;             /* up_ctable_hash() of key */
	struct up_ckey key;
};

struct up_ctable {
	struct up_centry **buckets; /* owned, bmask + 1 chains */
	uint32_t bmask;
	uint32_t seed;             /* keeps the hash unpredictable to clients */
};

/* A table for up to max_pending entries.  FWD_OK, or FWD_ENOMEM (nothing
 * logged: the owner says what it was setting up). */
enum fwd_err up_ctable_init(struct up_ctable *t, size_t max_pending, uint32_t seed);
void up_ctable_fini(struct up_ctable *t);

/* Set e->hash from e->key; do it before up_ctable_find() or insert. */
void up_ctable_hash(const struct up_ctable *t, struct up_centry *e);

/* The entry in the table with e's key (e itself not being in it), or NULL. */
struct up_centry *up_ctable_find(const struct up_ctable *t, const struct up_centry *e);

/* e (hash and key set) joins the table / leaves it (e must be in it). */
void up_ctable_insert(struct up_ctable *t, struct up_centry *e);
void up_ctable_remove(struct up_ctable *t, struct up_centry *e);

#endif
