/*
 * labels.c -- label text for counters, metrics and the query log.
 */
#include "labels.h"

#include <stdio.h>

#include <ldns/ldns.h>

#include "wire.h"

static const char *const source_names[STATS_SRC_N] = {"local", "synced", "cache", "upstream", "error", "stale"};
static const char *const rcode_names[STATS_RC_N] = {"NOERROR", "FORMERR", "SERVFAIL", "NXDOMAIN",
						    "NOTIMP",  "REFUSED", "BADVERS",  "other"};

const char *stats_source_name(enum stats_source s)
{
	return (unsigned)s < STATS_SRC_N ? source_names[s] : "unknown";
}

const char *stats_rcode_name(enum stats_rcode r)
{
	return (unsigned)r < STATS_RC_N ? rcode_names[r] : "other";
}

enum stats_rcode stats_rcode_bucket(int rcode)
{
	switch (rcode) {
	case RCODE_NOERROR: return STATS_RC_NOERROR;
	case RCODE_FORMERR: return STATS_RC_FORMERR;
	case RCODE_SERVFAIL: return STATS_RC_SERVFAIL;
	case RCODE_NXDOMAIN: return STATS_RC_NXDOMAIN;
	case RCODE_NOTIMP: return STATS_RC_NOTIMP;
	case RCODE_REFUSED: return STATS_RC_REFUSED;
	case RCODE_BADVERS: return STATS_RC_BADVERS;
	default: return STATS_RC_OTHER;
	}
}

const char *stats_type_name(uint16_t type, char *buf, size_t cap)
{
	/* ldns's descriptor table is static data: no allocation here */
	const ldns_rr_descriptor *d = ldns_rr_descript(type);
	if (d && d->_type == type && d->_name)
		return d->_name;
	snprintf(buf, cap, "TYPE%u", (unsigned)type);
	return buf;
}
