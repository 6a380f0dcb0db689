/*
 * labels.h -- the label values that counters, metrics and the query log
 * share: where an answer came from, rcode buckets, type mnemonics.
 * Static strings; nothing here allocates.
 */
#ifndef PLINKFWD_LABELS_H
#define PLINKFWD_LABELS_H

#include <stddef.h>
#include <stdint.h>

/* Where an answer came from (the "source" label of the metrics and the
 * query log). */
enum stats_source {
	STATS_SRC_LOCAL = 0, /* a zone: file */
	STATS_SRC_SYNCED,    /* a zone synced from ARM */
	STATS_SRC_CACHE,     /* the answer cache */
	STATS_SRC_UPSTREAM,  /* an upstream group's reply, relayed */
	STATS_SRC_ERROR,     /* an error plinkfwd produced itself (ACL, FORMERR, empty group, ...) */
	STATS_SRC_STALE,     /* an expired cache entry, served because the group failed (RFC 8767) */
	STATS_SRC_N
};

/* Response codes kept apart; everything else counts as "other". */
enum stats_rcode {
	STATS_RC_NOERROR = 0, STATS_RC_FORMERR, STATS_RC_SERVFAIL, STATS_RC_NXDOMAIN,
	STATS_RC_NOTIMP, STATS_RC_REFUSED, STATS_RC_BADVERS, STATS_RC_OTHER, STATS_RC_N
};

/* Label text for an enum value (static strings, never NULL). */
const char *stats_source_name(enum stats_source s);
const char *stats_rcode_name(enum stats_rcode r);
/* DNS rcode number (0..4095) to a stats_rcode bucket. */
enum stats_rcode stats_rcode_bucket(int rcode);
/* Mnemonic for a DNS type ("A", "AAAA", ...) or "TYPEnnn" written to buf. */
const char *stats_type_name(uint16_t type, char *buf, size_t cap);

#endif
