/*
 * arm_pe.h -- one page of a private endpoint listing (JSON) into endpoints:
 * their ids, the state of their connections and their customDnsConfigs.
 *
 * ARM lists private endpoints (PrivateEndpoints_ListBySubscription, or
 * PrivateEndpoints_List per resource group) as {"value": [...], "nextLink"}
 * like every Microsoft.Network list.  Per endpoint we read:
 *   id, name;
 *   properties.privateLinkServiceConnections[] and
 *   properties.manualPrivateLinkServiceConnections[], each with
 *     properties.privateLinkServiceConnectionState.{status, description};
 *   properties.customDnsConfigs[] = {fqdn, ipAddresses[]}.
 * Everything else is ignored.  The swagger types status as a free string;
 * Microsoft's documentation lists Pending, Approved, Rejected and
 * Disconnected, matched here without regard to case.
 *
 * An endpoint is Approved only when it has at least one connection and
 * every connection is Approved: traffic flows only through an approved
 * connection, and an endpoint in any other state must not be answered
 * (a client would be sent to an address that drops its packets).  Its
 * state is otherwise the first connection's state that is not Approved.
 *
 * Bad input policy (docs/bad-input.md): a page that is not JSON, has no
 * "value" array, or an endpoint without a string "id" fails the page (the
 * caller keeps its last good data).  Inside an endpoint, an FQDN that is
 * not a usable DNS name, or an address that is not an IPv4 or IPv6
 * literal, is dropped and counted (bad_fqdns, bad_addrs), never served.
 *
 * No logging, no global state: the fuzz target and the unit test call it
 * directly.  Ownership: struct arm_pe_list is the caller's (zeroed to
 * start), owns every endpoint and string in it, arm_pe_list_free()
 * releases them.
 */
#ifndef PLINKFWD_ARM_PE_H
#define PLINKFWD_ARM_PE_H

#include <stddef.h>

enum arm_pe_state {
	ARM_PE_APPROVED = 0,
	ARM_PE_PENDING,
	ARM_PE_REJECTED,
	ARM_PE_DISCONNECTED,
	ARM_PE_OTHER,        /* no connection, or a status the documentation does not list */
	ARM_PE_NSTATES
};

/* "approved", "pending", ... : the /metrics label (static). */
const char *arm_pe_state_label(enum arm_pe_state st);
/* "Pending approval", "Rejected", ... : for explain and log lines (static). */
const char *arm_pe_state_text(enum arm_pe_state st);

/* One customDnsConfigs entry. */
struct arm_pe_dns {
	char *fqdn;         /* lower-case, no trailing dot, a usable DNS name */
	char **addrs;       /* IPv4 / IPv6 literals as ARM wrote them */
	size_t naddrs;
};

struct arm_pe {
	char *id;           /* resource id as ARM gave it */
	char *name;         /* "name", or the last id segment */
	char *sub;          /* subscription id from the id, lower-case ("" if absent) */
	char *rg;           /* resource group from the id, lower-case ("" if absent) */
	enum arm_pe_state state;
	char *status;       /* the status that decided state, as ARM wrote it ("" = none) */
	int manual;         /* that connection was a manual one */
	struct arm_pe_dns *dns;
	size_t ndns;
	size_t tag;         /* the caller's (arm_sync: the configured subscription's index) */
};

struct arm_pe_list {
	struct arm_pe *v;
	size_t n, cap;
	size_t bad_fqdns;   /* customDnsConfigs entries dropped: unusable FQDN */
	size_t bad_addrs;   /* addresses dropped: not an IP literal */
};

/*
 * Append the endpoints of one page (body[0..len), need not be
 * NUL-terminated) to list.  *next gets a copy of a non-empty "nextLink"
 * (the caller's to free), else NULL.  0, FWD_EPARSE with a message in err
 * (the endpoints of this page appended so far stay in list: the caller
 * discards the listing), or FWD_ENOMEM.
 */
int arm_pe_page_parse(const char *body, size_t len, struct arm_pe_list *list, char **next, char *err,
		      size_t errlen);

/*
 * The same for endpoint objects already parsed: rows is a JSON array of
 * them (a Resource Graph answer's data, whose rows project id, name and
 * properties like the list does).  0, FWD_EPARSE or FWD_ENOMEM with err.
 */
struct cJSON;
int arm_pe_rows_add(struct arm_pe_list *list, const struct cJSON *rows, char *err, size_t errlen);

void arm_pe_list_free(struct arm_pe_list *list);

/* Remove (and free) every endpoint for which drop(arg, pe) is 1; the
 * others keep their order. */
void arm_pe_list_drop(struct arm_pe_list *list, int (*drop)(void *arg, const struct arm_pe *pe), void *arg);

#endif
