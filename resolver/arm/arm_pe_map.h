/*
 * arm_pe_map.h -- which zone, and which owner name in it, serves a private
 * endpoint's FQDN.
 *
 * customDnsConfigs name the FQDN a client uses; published material shows
 * both the public spelling ("contoso.openai.azure.com") and the name
 * already inside the Private Link zone ("contoso.privatelink.openai.azure.com"),
 * and no recording settles which one Azure sends, so both are accepted:
 *
 *  1. The FQDN lies inside a private DNS zone of the catalogue (catalogue.h,
 *     the cloud's table; placeholders such as {regionName} match one label):
 *     that zone, the longest match, with the FQDN's own labels in place of
 *     the placeholders.  "a.privatelink.blob.core.windows.net" is owner "a"
 *     in privatelink.blob.core.windows.net.
 *  2. Else the FQDN lies below a public zone of the catalogue
 *     (public_dns_forwarder_zone, the longest match): the paired private
 *     zone, its placeholders filled from the public match.  The owner is
 *     the labels left of the public zone, followed by the labels the public
 *     zone's placeholders matched that the private zone does not use: Azure
 *     publishes "acct.eastus.batch.azure.com" as "acct.eastus" in
 *     privatelink.batch.azure.com.  A pair whose private zone has a
 *     placeholder the public zone does not bind is never used (nothing says
 *     what to put there).
 *  3. Else the FQDN lies inside a zone named by an "endpoint-zone:" key
 *     (the longest): served there under its own name.
 *  4. Else it is not mapped (FWD_ENOENT): the caller skips it with a log
 *     line.
 * An FQDN that equals a catalogue zone (nothing left of it) is not mapped
 * by steps 1 and 2: it names no resource.
 *
 * Pure functions of their arguments; no allocation, no logging.
 */
#ifndef PLINKFWD_ARM_PE_MAP_H
#define PLINKFWD_ARM_PE_MAP_H

#include <stddef.h>

/* One (private zone, public zone) pair of conf/privatelink-zones.tsv; the
 * table (arm_pe_catalogue.c, generated) ends with a { 0, NULL, NULL } row
 * the count does not include.  Names lower-case, no trailing dot. */
struct arm_pe_pair {
	int cloud;                  /* enum cfg_cloud */
	const char *private_zone;
	const char *public_zone;
};
extern const struct arm_pe_pair arm_pe_pairs[];
extern const size_t arm_pe_pairs_count;

enum arm_pe_how {
	ARM_PE_MAP_PRIVATE = 1,     /* already inside a privatelink zone (step 1) */
	ARM_PE_MAP_PUBLIC,          /* through a public zone of the catalogue (step 2) */
	ARM_PE_MAP_CONFIG           /* inside an endpoint-zone: (step 3) */
};

/*
 * Map fqdn (lower-case, no trailing dot) for cloud (enum cfg_cloud;
 * CLOUD_NONE: steps 1 and 2 are skipped).  zones[0..nzones) are the
 * endpoint-zone: names (lower-case, no trailing dot).  On success zone
 * (zcap bytes) gets the zone name, owner (ocap bytes) the owner relative to
 * it ("@" for the apex, only possible in step 3), *how the step.  0,
 * FWD_ENOENT (not covered), or FWD_EINVAL (does not fit the buffers).
 */
int arm_pe_map(const char *fqdn, int cloud, const char *const *zones, size_t nzones, char *zone,
	       size_t zcap, char *owner, size_t ocap, enum arm_pe_how *how);

#endif
