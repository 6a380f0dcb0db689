/*
 * catalogue.h -- the built-in Azure Private Link zone catalogue.
 *
 * The tables are compiled in (resolver/catalogue_data.c, made at build time
 * by resolver/gen-catalogue.awk from conf/privatelink-zones.tsv) so the
 * daemon routes privatelink names with no catalogue file at run time.  Only
 * the private_dns_zone column is listed: those are the zones Azure's own
 * resolver answers for, and so the ones worth forwarding to the "azure"
 * group.
 *
 * Each table is const, sorted by name (byte order), free of duplicates and
 * ends with a { NULL, 0 } sentinel that the count does not include.  The
 * strings are static; nobody frees anything here.
 */
#ifndef PLINKFWD_CATALOGUE_H
#define PLINKFWD_CATALOGUE_H

#include <stddef.h>

struct catalogue_entry {
	const char *name;  /* text, lower-case, trailing dot */
	int placeholder;   /* 1 when a label is a "{...}" placeholder (matches any one label) */
};

/* AzureCloud */
extern const struct catalogue_entry catalogue_azure[];
extern const size_t catalogue_azure_count;
/* AzureUSGovernment */
extern const struct catalogue_entry catalogue_usgov[];
extern const size_t catalogue_usgov_count;
/* AzureChinaCloud */
extern const struct catalogue_entry catalogue_china[];
extern const size_t catalogue_china_count;

#endif
