/*
 * wire.h -- DNS wire format by hand: query parsing and reply building.
 *
 * This is the hot path: nothing here allocates.  A struct wire_query points
 * into the packet it was parsed from (the caller's receive buffer) and holds
 * a lower-cased copy of the query name; it is valid as long as that buffer.
 * Reply builders write into a caller-supplied buffer and return the number
 * of bytes written, or 0 when the buffer is too small.
 */
#ifndef PLINKFWD_WIRE_H
#define PLINKFWD_WIRE_H

#include <stddef.h>
#include <stdint.h>

#define WIRE_HDR_LEN 12
#define WIRE_MAX_NAME 255   /* wire length of a name, root label included */
#define WIRE_MAX_LABELS 128
#define WIRE_MAX_MSG 65535
#define WIRE_MIN_UDP 512    /* RFC 1035 limit for clients without EDNS */
#define WIRE_EDNS_UDP 1232  /* our advertised EDNS UDP payload size */

/* header flag bits, in the 16-bit flags word (host order) */
#define WIRE_QR 0x8000u
#define WIRE_AA 0x0400u
#define WIRE_TC 0x0200u
#define WIRE_RD 0x0100u
#define WIRE_RA 0x0080u
#define WIRE_AD 0x0020u
#define WIRE_CD 0x0010u
#define WIRE_OPCODE(f) (((f) >> 11) & 0xfu)
#define WIRE_RCODE(f) ((f)&0xfu)

enum wire_rcode {
	RCODE_NOERROR = 0,
	RCODE_FORMERR = 1,
	RCODE_SERVFAIL = 2,
	RCODE_NXDOMAIN = 3,
	RCODE_NOTIMP = 4,
	RCODE_REFUSED = 5,
	RCODE_BADVERS = 16 /* extended: needs OPT */
};

enum wire_type {
	TYPE_A = 1, TYPE_NS = 2, TYPE_CNAME = 5, TYPE_SOA = 6, TYPE_PTR = 12,
	TYPE_MX = 15, TYPE_TXT = 16, TYPE_AAAA = 28, TYPE_SRV = 33, TYPE_OPT = 41,
	TYPE_DS = 43, TYPE_RRSIG = 46, TYPE_IXFR = 251, TYPE_AXFR = 252, TYPE_ANY = 255
};
#define CLASS_IN 1

/*
 * What the caller must do with a packet after wire_parse_query().
 * The policy (docs/bad-input.md) lives in query.c; this only classifies.
 */
enum wire_verdict {
	WIRE_OK = 0,      /* a well-formed query; q is complete */
	WIRE_DROP,        /* shorter than a header, or QR=1: never answer */
	WIRE_FORMERR,     /* header readable but question/EDNS malformed */
	WIRE_NOTIMP,      /* opcode other than QUERY */
	WIRE_BADVERS      /* EDNS version other than 0 */
};

struct wire_query {
	const uint8_t *pkt;  /* the packet (not owned) */
	size_t len;          /* its length */
	uint16_t id;
	uint16_t flags;      /* host order */
	uint16_t qdcount, ancount, nscount, arcount;
	uint16_t qtype, qclass;
	size_t qname_off;    /* == WIRE_HDR_LEN */
	size_t q_end;        /* offset just past the question section */
	/* lower-cased, uncompressed qname in wire form, root label included */
	uint8_t qname[WIRE_MAX_NAME];
	uint8_t qname_len;   /* bytes in qname (1 for the root) */
	uint8_t nlabels;     /* labels, root not counted */
	uint8_t label_off[WIRE_MAX_LABELS]; /* offset of each label in qname */
	/* EDNS (RFC 6891) */
	uint8_t has_edns;
	uint8_t edns_version;
	uint8_t do_bit;
	uint16_t edns_udp;   /* client's payload size, clamped to >= 512 */
	/* where the OPT record is, for edns_parse() (edns.h) to read its
	 * options without walking the message again: offset in pkt of the
	 * OPT RR's owner byte (0 = no OPT) and its RDATA length */
	size_t opt_off;
	uint16_t opt_rdlen;
};

/*
 * Parse header, question and (if present) the OPT record of a query.
 * Compression pointers are refused in the question (no client sends them,
 * and refusing them bounds the work).  Returns a verdict; for every verdict
 * but WIRE_DROP, q->id, q->flags and whatever of the question was readable
 * are filled so that an error reply can echo them.
 *
 * An OPT record in the answer or authority section, a second OPT, or one
 * whose owner is not the root is WIRE_FORMERR (RFC 6891 6.1.1).  A query
 * with QDCOUNT 0 is WIRE_FORMERR too, but its additional section is still
 * parsed (has_edns, opt_off) so that the caller can recognise the RFC 7873
 * 5.4 "cookie only" query (see edns_cookie_only_query() in edns.h).
 * The OPT's options are not looked at here: edns_parse() does that.
 */
enum wire_verdict wire_parse_query(const uint8_t *pkt, size_t len, struct wire_query *q);

/* Largest reply the client can take over UDP: 512 or its EDNS size, capped
 * at our advertised size. */
size_t wire_udp_limit(const struct wire_query *q);

/*
 * Write a 12-byte header at out.
 */
void wire_put_header(uint8_t *out, uint16_t id, uint16_t flags, uint16_t qd, uint16_t an,
		     uint16_t ns, uint16_t ar);

/*
 * Reply flags for a query: QR, the query's opcode, RD and CD copied,
 * plus the given extra bits (AA, RA) and the low 4 bits of rcode.
 */
uint16_t wire_reply_flags(const struct wire_query *q, uint16_t extra, int rcode);

/*
 * Write an OPT record (root owner, our payload size, extended rcode from
 * rcode >> 4, version 0, DO echoed) at out.  Returns 11 or 0 if cap < 11.
 */
size_t wire_put_opt(uint8_t *out, size_t cap, int rcode, int do_bit);

/*
 * A complete reply carrying only header, the echoed question (if one was
 * parsed) and an OPT record when the query had EDNS.  Used for FORMERR,
 * NOTIMP, REFUSED, SERVFAIL and BADVERS.  Returns bytes written, 0 if cap is
 * too small.
 */
size_t wire_reply_error(const struct wire_query *q, int rcode, uint16_t extra_flags,
			uint8_t *out, size_t cap);

/*
 * Make reply (of len bytes, built for q) fit into limit bytes: when it is
 * larger, keep header + question (+ OPT), zero the section counts and set
 * TC.  Returns the new length.
 */
size_t wire_truncate(const struct wire_query *q, uint8_t *reply, size_t len, size_t limit);

/* Name helpers.  Text names may end with a dot; "." is the root. */
/* Text to lower-cased wire form; returns wire length or -1 if invalid. */
int wire_name_from_text(const char *text, uint8_t out[WIRE_MAX_NAME]);
/* Wire to text with a trailing dot; returns out. cap >= 1025 is always enough. */
char *wire_name_to_text(const uint8_t *name, char *out, size_t cap);
/* Length of an uncompressed wire name starting at name (<= max), or -1. */
int wire_name_len(const uint8_t *name, size_t max);
/* Lower-case a wire name in place. */
void wire_name_lower(uint8_t *name, size_t len);
/* Number of labels (root not counted). */
int wire_name_labels(const uint8_t *name);

/*
 * Skip a possibly compressed name at pkt[off]; returns offset after it, or 0
 * when malformed.  Used to walk upstream replies.
 */
size_t wire_skip_name(const uint8_t *pkt, size_t len, size_t off);
/*
 * Expand a possibly compressed name at pkt[off] into out (lower-cased).
 * Returns its wire length or -1 when malformed: a pointer that does not
 * point back to an earlier byte after the 12-byte header (so no loop).
 */
int wire_read_name(const uint8_t *pkt, size_t len, size_t off, uint8_t out[WIRE_MAX_NAME]);

/*
 * Walk a whole message (an upstream reply) before anything reads it: every
 * name (labels in bounds, at most 255 bytes expanded, a compression pointer
 * only to a label or pointer of a name walked before it -- never into the
 * header, a TTL or other data), every record's fixed part and RDATA within
 * the message, the names inside the RDATA of the types that carry them (NS,
 * CNAME, PTR, DNAME, MX, SOA, SRV) ending exactly where the RDATA does, A and AAAA
 * RDATA of 4 and 16 bytes, no OPT record in the answer or authority
 * section, the section counts matching the records present, and no byte
 * after the last record.
 * Returns NULL for a well-formed message, else a static string saying what
 * is wrong (for the log).  Reads only; O(len).
 */
const char *wire_check_message(const uint8_t *pkt, size_t len);

/* FNV-1a style hash of a (lower-cased) wire name. */
uint32_t wire_hash(const uint8_t *data, size_t len);

static inline uint16_t wire_get16(const uint8_t *p) { return (uint16_t)((p[0] << 8) | p[1]); }
static inline uint32_t wire_get32(const uint8_t *p)
{
	return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3];
}
static inline void wire_put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}
static inline void wire_put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

#endif
