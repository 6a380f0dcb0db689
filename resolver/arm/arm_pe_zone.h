/*
 * arm_pe_zone.h -- the endpoints of one sync round turned into zone data,
 * and what plinkfwd remembers about them for explain, /metrics and the log.
 *
 * arm_pe_zones_build() takes the complete endpoint listing of a round
 * (arm_pe.h) and, for every FQDN of an Approved endpoint that arm_pe_map()
 * places in a zone the configuration wants, makes an A (IPv4) and/or AAAA
 * (IPv6) record set at its owner, in the zone text format of arm_records.h
 * with the endpoint's resource id in its "; arm-id" comment.  The sets are
 * grouped per zone and configured subscription (and resource group, when
 * resource-group: is set): each group is one source of that zone for
 * arm_sync's merge, ranked after the zone's private DNS zone sources.
 *
 * Rules (docs/arm-sync.md):
 *  - only Approved endpoints are served; the others, the FQDNs no zone
 *    covers, and the duplicates below become notes;
 *  - the same owner from two endpoints: the first endpoint wins, in
 *    configured-subscription order and then by resource id; its addresses
 *    are served, the other one is a note;
 *  - arm_pe_drop_conflicts(): a name that a private DNS zone source of the
 *    same zone has (any type) is taken from the zone; the endpoint's record
 *    sets at that name are dropped and a note says so.
 *
 * Notes are kept in a struct arm_pe_view.  arm_pe_view_log_changes() logs
 * the notes that are new since the previous view, once each, so a Pending
 * endpoint costs one log line when it appears, not one per round.
 *
 * Ownership: every struct here is declared by the caller, zeroed to start,
 * and owns what it points to; the *_free() functions release it.  No
 * global state; the main thread only (like all of ARM sync).
 */
#ifndef PLINKFWD_ARM_PE_ZONE_H
#define PLINKFWD_ARM_PE_ZONE_H

#include <stddef.h>

#include "arm_pe.h"
#include "arm_records.h"

enum arm_pe_note_kind {
	ARM_PE_NOTE_SERVED = 1,   /* served: the name, zone and owner */
	ARM_PE_NOTE_NOT_APPROVED, /* the endpoint's connection is not Approved */
	ARM_PE_NOTE_UNMAPPED,     /* no catalogue zone and no endpoint-zone: covers the FQDN */
	ARM_PE_NOTE_FILTERED,     /* its zone does not pass zone-filter: */
	ARM_PE_NOTE_DUPLICATE,    /* another endpoint already has that name */
	ARM_PE_NOTE_CONFLICT,     /* a private DNS zone record has that name: the zone wins */
	ARM_PE_NOTE_NKINDS
};

struct arm_pe_note {
	enum arm_pe_note_kind kind;
	char *fqdn;               /* as the endpoint lists it */
	char *name;               /* the name served or that would be ("" when unmapped) */
	char *zone;               /* its zone ("" when unmapped) */
	char *pe_id, *pe_name, *sub, *rg;
	enum arm_pe_state state;
	char *other;              /* DUPLICATE: the endpoint that won; CONFLICT: the zone's record set id */
};

struct arm_pe_view {
	struct arm_pe_note *v;
	size_t n, cap;
	size_t by_state[ARM_PE_NSTATES];  /* endpoints per connection state */
	size_t records;           /* record sets made from endpoints (before conflicts) */
};

void arm_pe_view_free(struct arm_pe_view *v);

/* One zone's endpoint record sets from one configured subscription (and
 * resource group). */
struct arm_pe_zone {
	char *zone;               /* lower-case, no trailing dot */
	size_t tag;               /* the endpoints' tag: subscription index */
	char *source_id;          /* ".../providers/Microsoft.Network/privateEndpoints" of the
				   * subscription (or resource group): the source's id */
	struct arm_rrsets rr;     /* rr.source = source_id */
};

struct arm_pe_zones {
	struct arm_pe_zone *v;
	size_t n, cap;
};

void arm_pe_zones_free(struct arm_pe_zones *z);

struct arm_pe_zcfg {
	int cloud;                            /* enum cfg_cloud of the catalogue */
	const char *const *endpoint_zones;    /* endpoint-zone: names */
	size_t nendpoint_zones;
	int ttl;
	int per_rg;                           /* resource-group: is set: one source per group */
	const char *const *subs;              /* configured subscriptions, by tag */
	size_t nsubs;
	int (*zone_wanted)(const void *arg, const char *zone); /* zone-filter: */
	const void *arg;
};

/*
 * Build out and the notes of view (both empty on entry) from the endpoints
 * of list (reordered: by tag, then id).  0, or FWD_ENOMEM (out and view
 * hold what was made; the caller frees them and keeps its old data).
 */
int arm_pe_zones_build(struct arm_pe_list *list, const struct arm_pe_zcfg *zc, struct arm_pe_zones *out,
		       struct arm_pe_view *view);

/*
 * The zone rule: drop from pe (an endpoint source of zone) every record
 * set whose owner one of dns[0..ndns) (the zone's private DNS zone sources)
 * has, adding a CONFLICT note to view for each.  Returns how many were
 * dropped, or FWD_ENOMEM.
 */
int arm_pe_drop_conflicts(const char *zone, const struct arm_rrsets *const *dns, size_t ndns,
			  struct arm_rrsets *pe, struct arm_pe_view *view);

/* Log (warning) each note of cur that prev does not have: one line per
 * change; SERVED notes are not logged. */
void arm_pe_view_log_changes(const struct arm_pe_view *prev, const struct arm_pe_view *cur);

/*
 * The notes about name (lower-case, no trailing dot): those whose FQDN or
 * served name it is.  Calls fn for each; the note is borrowed for the call.
 */
void arm_pe_view_find(const struct arm_pe_view *v, const char *name,
		      void (*fn)(void *arg, const struct arm_pe_note *n), void *arg);

/* The sentence explain and check show for a note, e.g. "contoso.openai.azure.com:
 * private endpoint pe-foundry (subscription S, resource group RG) is Pending
 * approval: not served". */
void arm_pe_note_text(const struct arm_pe_note *n, char *buf, size_t cap);

#endif
