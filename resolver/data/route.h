/*
 * route.h -- where a query name goes: a local zone, an upstream group.
 *
 * One table holds the local zones (files and ARM-synced), the admin's
 * forward: rules and the built-in privatelink catalogue for the configured
 * cloud.  Lookup is longest suffix by label count; for the same name a zone
 * beats a forward rule and an admin forward rule beats the catalogue.
 * Catalogue names with placeholders ({regionName} and friends) match any one
 * label in that position.  A name that matches nothing goes to the group
 * "default".
 *
 * The table is immutable after route_build() and owned by one snapshot; it
 * holds a reference on every zone it points to and drops them in
 * route_free().
 */
#ifndef PLINKFWD_ROUTE_H
#define PLINKFWD_ROUTE_H

#include <stddef.h>
#include <stdint.h>

struct cfg;
struct zone;
struct wire_query;

enum route_kind { ROUTE_ZONE = 1, ROUTE_FORWARD = 2 };
enum route_origin { ORIGIN_ZONE_FILE = 1, ORIGIN_ZONE_ARM, ORIGIN_FORWARD, ORIGIN_CATALOGUE, ORIGIN_DEFAULT };

struct route_target {
	enum route_kind kind;
	enum route_origin origin;
	struct zone *zone;        /* ROUTE_ZONE */
	size_t group;             /* ROUTE_FORWARD: index into cfg->upstreams */
	int fallback_public;      /* ROUTE_ZONE: NXDOMAIN goes to the default group */
	uint8_t secondary;        /* ROUTE_ZONE: transferred from primaries (resolver/xfr/) */
	uint8_t down;             /* ROUTE_ZONE, secondary: no usable copy (never transferred, or
				   * expired): every question gets SERVFAIL; 1 = not loaded, 2 = expired */
	uint8_t nlabels;          /* labels in the matched suffix (0 = default) */
	const char *name;         /* the rule or zone name as text (owned by the table) */
};

/* A zone handed to route_build: borrowed; the table takes its own reference. */
struct route_zone {
	struct zone *zone;
	enum route_origin origin;  /* ORIGIN_ZONE_FILE or ORIGIN_ZONE_ARM */
	int fallback_public;
	uint8_t endpoints;         /* ORIGIN_ZONE_ARM: 0 = private DNS zone records only, 1 = also
				    * records from private endpoints, 2 = made from private endpoints
				    * only (arm_pe_zone.h) */
	uint8_t secondary;         /* a zone: with primary: (ORIGIN_ZONE_FILE; resolver/xfr/) */
	uint8_t down;              /* secondary: see route_target.down; zone is then a placeholder */
};

struct route_table;

/*
 * Build the table from cfg (forward rules, cloud catalogue, group indices)
 * and the given zones.  When two zones have the same apex the first one in
 * the array wins (snapshot.c puts files before ARM zones).  NULL with err
 * on failure.
 */
struct route_table *route_build(const struct cfg *cfg, const struct route_zone *zones, size_t nzones,
				char *err, size_t errlen);
void route_free(struct route_table *rt);

/* Longest-suffix match for a lower-cased wire name; never NULL (falls back
 * to the default route).  Allocation-free. */
const struct route_target *route_lookup(const struct route_table *rt, const uint8_t *name,
					size_t name_len);

/* Number of catalogue patterns compiled in for a cloud (for tests/status). */
size_t route_catalogue_count(int cloud);

#endif
