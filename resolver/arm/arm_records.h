/*
 * arm_records.h -- one ARM record set (JSON) to RFC 1035 zone file lines.
 *
 * ARM returns record sets as {"name", "type", "properties": {"ttl", and
 * exactly one payload: aRecords, aaaaRecords, cnameRecord, mxRecords,
 * ptrRecords, srvRecords, txtRecords or soaRecord}}.  We write them as
 * text with names relative to the zone ("@" = apex, $ORIGIN is the zone) so
 * that the same text is what zone_load_text() compiles and what is saved in
 * the state directory: there is one path from ARM to the answers, and the
 * file on disk can be read (and served) by any DNS server.
 *
 * Numbers are accepted as JSON numbers or as numeric strings, and keys are
 * matched case-insensitively (published examples spell the SOA key both
 * "minimumTtl" and "minimumTTL").
 */
#ifndef PLINKFWD_ARM_RECORDS_H
#define PLINKFWD_ARM_RECORDS_H

#include <stddef.h>
#include <stdint.h>

struct cJSON;

/*
 * A growable text buffer.  Owned by whoever declared it; free with
 * arm_buf_free().  An allocation failure sets oom and makes every later
 * append a no-op, so a builder checks once at the end.
 */
struct arm_buf {
	char *p;    /* NUL-terminated when len > 0 */
	size_t len;
	size_t cap;
	int oom;
};

void arm_buf_add(struct arm_buf *b, const char *s, size_t n);
void arm_buf_puts(struct arm_buf *b, const char *s);
void arm_buf_printf(struct arm_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void arm_buf_free(struct arm_buf *b);

/* DNS type numbers of the record sets we serve. */
enum arm_rr_type {
	ARM_RR_A = 1,
	ARM_RR_CNAME = 5,
	ARM_RR_SOA = 6,
	ARM_RR_PTR = 12,
	ARM_RR_MX = 15,
	ARM_RR_TXT = 16,
	ARM_RR_AAAA = 28,
	ARM_RR_SRV = 33
};

/*
 * The DNS type of a record set, from the suffix of "type"
 * ("Microsoft.Network/privateDnsZones/A") or else the id path.
 * 0, FWD_ENOENT for a type we do not serve (caller skips it), or
 * FWD_EPARSE when neither field says.
 */
int arm_records_type(const struct cJSON *rs, uint16_t *type);

/*
 * Append the zone file lines of record set rs to out, one record per line:
 *   "<owner>\t<ttl>\tIN\t<TYPE>\t<rdata>\n"
 * An empty record set appends nothing.  Returns 0, FWD_ENOENT for an
 * unsupported type (nothing appended), FWD_EPARSE with a message in err for
 * a malformed record set (out may hold a partial line: callers discard the
 * whole zone then), FWD_ENOMEM.
 */
int arm_records_rrset(const struct cJSON *rs, struct arm_buf *out, char *err, size_t errlen);

/*
 * Append the SOA used when ARM returned none (never seen from ARM, but a
 * zone must have one to give negative answers): Azure's own defaults.
 */
void arm_records_soa_default(struct arm_buf *out);

/*
 * Every record set in the zone text is preceded by a comment line naming
 * the ARM record set it came from:
 *   "; arm-id /subscriptions/.../privateDnsZones/<zone>/A/www\n"
 * It costs nothing when serving (zone.c skips comments and keeps no
 * per-record data) and lets explain, at request time, tell where a record
 * came from by reading the saved zone file.  The id is ARM's "id" of the
 * record set, or <zone resource id>/<TYPE>/<name> when ARM gave none;
 * bytes outside printable ASCII are written as '?', so the comment can
 * never end early and inject a line.
 *
 * While a zone is being listed (struct arm_rrsets) an id that starts with
 * the zone's resource id is kept short, "; arm-id @/A/www", because a round
 * holds the text of every zone it lists at once; arm_records_zone_text()
 * writes the ids in full.  ARM ids are case-insensitive: the zone part is
 * written as the zone list spelled it.
 */
#define ARM_ID_COMMENT "; arm-id "

/* One record set's lines inside arm_rrsets.text: its "; arm-id" comment
 * (hdr bytes) and then its records. */
struct arm_ent {
	size_t off, len;
	size_t hdr;
	uint16_t type;
};

/*
 * The record sets of one zone resource, as zone file text, filled page by
 * page with arm_rrsets_add().  Declared and owned by the caller (zeroed to
 * start); arm_rrsets_free() releases the buffers.  source (borrowed: the
 * resource id) names it in log lines.
 */
struct arm_rrsets {
	const char *source;
	struct arm_buf text;   /* record lines, the SOA excluded, ids in short form */
	struct arm_buf soa;    /* the SOA's "; arm-id" and SOA lines, if ARM had one */
	struct arm_ent *ents;  /* where each record set's lines are in text */
	size_t nents, cap;
	size_t nsets;          /* record sets converted */
	size_t nskipped;       /* record sets of types we do not serve */
};

/* Add one record set (with its "; arm-id" comment when it has records);
 * 0, or FWD_EPARSE / FWD_ENOMEM with err. */
int arm_rrsets_add(struct arm_rrsets *z, const struct cJSON *rs, char *err, size_t errlen);
void arm_rrsets_free(struct arm_rrsets *z);

/*
 * Append the zone text for zone (lower-case, no trailing dot) to out:
 * "$ORIGIN zone.", the SOA (the first source's that has one, else
 * arm_records_soa_default(), logged), then the records of sets[0..n)
 * merged in that order: for the same owner and type the earlier source
 * wins, and a CNAME never joins other data at an owner from another source
 * (each dropped set is logged).  Every record set keeps its "; arm-id"
 * line, with the id in full.  0 or FWD_ENOMEM.
 */
int arm_records_zone_text(const char *zone, const struct arm_rrsets *const *sets, size_t n,
			  struct arm_buf *out);

/* 1 when z (lower-case, no trailing dot) is a DNS name usable as a file
 * name too: letters, digits, '-', '_' and non-empty labels. */
int arm_records_zone_name_ok(const char *z);

/*
 * ARM's error envelope {"error": {"code", "message"}} from a failed
 * response, for log lines: the code, and the message's first line (at most
 * 400 bytes); placeholders when absent.
 */
void arm_records_error(const char *body, size_t len, char *code, size_t ccap, char *msg,
		       size_t mcap);

/* Number of record sets in zone text: its "; arm-id" comment lines. */
size_t arm_records_count_sets(const char *text, size_t len);

/* 64-bit FNV-1a of p[0..n): zone text change detection, merge table. */
uint64_t arm_records_hash(const char *p, size_t n);

/*
 * The value after "/<key>/" in an ARM resource id (key matched without
 * regard to case), lower-cased, into out.  0, or -1 when absent or longer
 * than cap - 1.
 */
int arm_records_id_part(const char *id, const char *key, char *out, size_t cap);

/*
 * A JSON integer that may also arrive as a numeric string; 0 or FWD_EPARSE
 * when absent, not integral, or outside [lo, hi].  Shared with arm_auth.c
 * for expires_in / expires_on.
 */
int arm_json_int(const struct cJSON *obj, const char *key, int64_t lo, int64_t hi, int64_t *out);

/*
 * Append name s as zone file text: bytes outside letters, digits and "-_*."
 * are written as \DDD; with absolute, a missing final dot is added.
 * FWD_EPARSE for an empty name or an empty label.
 */
int arm_records_name(struct arm_buf *out, const char *s, int absolute);

#endif
