/*
 * zone.h -- an authoritative zone held as precomputed wire answers.
 *
 * Zones are read with ldns (from a file, or from RFC 1035 text that ARM sync
 * produced) and then compiled: for every owner name and type the answer
 * section is stored as ready wire data, so answering a query is a hash
 * lookup and a few memcpy()s, with no allocation.
 *
 * Lifetime: a zone is immutable once built and reference counted, because
 * several snapshots (the running one and one being built by a reload or an
 * ARM publish) can share it.  zone_unref() frees it when the last reference
 * goes.  References may be taken and dropped from any thread.
 *
 * Answer rules (RFC 1034 4.3.2, RFC 4592):
 *  - AA set; names compared case-insensitively; the question echoed as sent;
 *  - CNAME at the name: the CNAME, then its target followed inside the zone
 *    (up to 8 steps); a target outside the zone ends the chain (status
 *    ZONE_CNAME_OUT); a chain ending at a name without the type, at a
 *    missing name, or in a loop keeps its CNAMEs with ZONE_NODATA /
 *    ZONE_NXDOMAIN (RFC 6604: the rcode is that of the last name);
 *  - name exists, type not: NODATA (NOERROR, SOA in authority);
 *  - name absent (no wildcard covers it): NXDOMAIN with SOA in authority;
 *  - "*.<name>" wildcards synthesise the owner as the query name, except
 *    below existing names (empty non-terminals count as existing);
 *  - ANY (RFC 8482): over UDP (zone_answer) one RRset at the name, the
 *    one with the lowest type number, so that ANY is no amplifier; over
 *    TCP (zone_answer_tcp), where the client's address is proven, every
 *    RRset at the name, as NSD, Knot and BIND's minimal-any do.  A CNAME
 *    owner answers with its CNAME (there is nothing else at it).
 */
#ifndef PLINKFWD_ZONE_H
#define PLINKFWD_ZONE_H

#include <stddef.h>
#include <stdint.h>

#include "common.h"
#include "wire.h"

struct wire_query;
struct zone;

enum zone_status {
	ZONE_ANSWER = 0,  /* answer section has data of the asked type */
	ZONE_CNAME_OUT,   /* answer is a CNAME chain leaving the zone */
	ZONE_NODATA,      /* NOERROR, no data, SOA in authority */
	ZONE_NXDOMAIN     /* NXDOMAIN, SOA in authority */
};

/*
 * Load the zone "apex" (text, trailing dot optional) from an RFC 1035 zone
 * file.  $ORIGIN defaults to the apex; an SOA at the apex is required;
 * records outside the apex are errors.  Returns a zone with one reference,
 * or NULL with "path:line: message" in err.
 */
struct zone *zone_load_file(const char *apex, const char *path, char *err, size_t errlen);

/* The same from a text buffer; srcname is used in error messages. */
struct zone *zone_load_text(const char *apex, const char *text, const char *srcname,
			    char *err, size_t errlen);

void zone_ref(struct zone *z);
void zone_unref(struct zone *z);

/* Apex in lower-cased wire form (owned by the zone). */
const uint8_t *zone_apex(const struct zone *z, size_t *len);
/* Number of resource records loaded, and the SOA serial. */
size_t zone_rr_count(const struct zone *z);
uint32_t zone_serial(const struct zone *z);
/* Give a zone just loaded, not yet shared with anyone, another SOA serial
 * (a synced zone's own serial, xfr/xfr_serials.h): in its SOA record, in
 * the SOA of negative answers, and what zone_serial() says. */
void zone_set_serial(struct zone *z, uint32_t serial);

/*
 * Every RRset of a zone, for zone transfers (xfr/): a cursor walks the
 * owner table in its order (stable for one zone; the apex is one owner
 * among the others) and hands out each RRset as the answer data the zone
 * answers queries with.  Nothing is allocated; the data points into the
 * zone and lives as long as the caller's reference on it.
 */
struct zone_rrset {
	uint8_t owner[WIRE_MAX_NAME];  /* the full owner, lower-cased, uncompressed */
	size_t owner_len;
	size_t rel_len;                /* owner[0..rel_len) are the labels below the apex */
	uint16_t type;
	unsigned count;                /* records in rrs */
	const uint8_t *rrs;            /* count records, each: the 2-byte owner pointer 0xC00C, then
					* type, class, TTL, RDLENGTH and RDATA (names uncompressed) */
	size_t len;
};
struct zone_cursor {
	size_t slot;                   /* start both at 0 */
	unsigned set;
};
/* The next RRset: FWD_OK with *out, FWD_ENOENT after the last. */
enum fwd_err zone_next_rrset(const struct zone *z, struct zone_cursor *c, struct zone_rrset *out);
/* 1 when the apex has an RRset of type, else 0. */
int zone_apex_has(const struct zone *z, uint16_t type);
/* The apex SOA (its RRset of one record, TTL as loaded): FWD_OK, or
 * FWD_ENOENT (never for a loaded zone). */
enum fwd_err zone_soa_rrset(const struct zone *z, struct zone_rrset *out);

/*
 * Build the complete reply to q (whose name is at or below the apex) into
 * out[0..cap): header (ID from q, QR AA, RD copied), question echoed,
 * answer/authority, OPT when q had EDNS.  A reply longer than limit (the
 * client's UDP limit, or 65535 on TCP) is truncated with TC set.
 * Returns the length (0 only if cap < 512) and sets *status.
 * Allocation-free and safe to call from several threads at once.
 */
size_t zone_answer(const struct zone *z, const struct wire_query *q, size_t limit, uint8_t *out,
		   size_t cap, enum zone_status *status);
/* The same for a client on TCP: ANY gets every RRset at the name. */
size_t zone_answer_tcp(const struct zone *z, const struct wire_query *q, size_t limit, uint8_t *out,
		       size_t cap, enum zone_status *status);

/*
 * Lookup for CNAME splicing and explain: append the answer-section records
 * for (name, qtype) as wire RRs with uncompressed owner names to out, and
 * return their count via *count.  Same status rules as zone_answer, and
 * ANY gives every RRset (explain shows them all).
 * Returns bytes written: 0 with ZONE_NXDOMAIN/ZONE_NODATA unless a CNAME
 * chain led there (then the chain), and 0 with *count 0 when the records
 * do not fit in cap.
 */
size_t zone_lookup_rrs(const struct zone *z, const uint8_t *name, size_t name_len, uint16_t qtype,
		       uint8_t *out, size_t cap, uint16_t *count, enum zone_status *status);

/*
 * Where records are written (explain): the loader's own reader handed out
 * record by record.  For each record of the text of the zone at apex
 * (lower-cased wire), as the loader reads it -- $ORIGIN and $TTL applied,
 * malformed records skipped (the file may have been edited since it was
 * loaded) -- fn(arg, rec) is called with the record, the line of its first
 * token and, when marker is not NULL, the rest of the last comment line
 * starting with marker before it (ARM sync's "; arm-id ").  The record is
 * valid only during the call.
 */
struct ldns_struct_rr;
struct zone_record {
	const struct ldns_struct_rr *rr;
	int line;
	const char *note;       /* NULL: no marker line before it */
	size_t note_len;
};
typedef void (*zone_record_fn)(void *arg, const struct zone_record *rec);
/* text[0..len): FWD_OK, or FWD_ENOMEM. */
enum fwd_err zone_text_records(const uint8_t *apex, size_t apex_len, const char *text, size_t len,
			       const char *marker, zone_record_fn fn, void *arg);
/* The file at path, read whole: FWD_OK, FWD_EIO (unreadable), FWD_ENOMEM. */
enum fwd_err zone_file_records(const uint8_t *apex, size_t apex_len, const char *path, const char *marker,
			       zone_record_fn fn, void *arg);

#endif
