/*
 * zone.c -- authoritative zones compiled to precomputed wire answers (see zone.h).
 *
 * Loading streams the text through ldns one record at a time into a compact
 * temporary list, so a million-record zone never exists as a million ldns
 * objects.  Compiling turns that list into one arena of owner nodes plus an
 * open-addressing table; after that the zone is read-only and every query is
 * a few hash probes and memcpy()s.
 *
 * Arena node layout (byte-packed, multi-byte fields big-endian, so there is
 * no padding and no alignment to keep):
 *   u8 name_len, u8 flags, u8 nsets, name[name_len]
 *   [u32 chain block offset]                       when flags & NF_CHAIN
 *   nsets x { u16 type, u16 rrcount, u16 len, data[len] }
 * name is the owner relative to the apex (lower-cased labels, no apex, no
 * root), so the common suffix is stored once per zone.  A set's data is its
 * answer section: every RR's owner is the pointer 0xC00C to the question
 * name, so the same bytes serve the exact name and any wildcard expansion.
 * Record data is never compressed, so set data can be copied anywhere.
 *
 * A CNAME node's chain block holds the CNAME followed through the zone,
 * once per type present at the end of the chain:
 *   u16 nent, nent x { u16 type, u8 status, u16 rrcount, u16 len, data }
 * entry 0 has type 0 and is used for any other type (the chain alone).
 */
#ifndef _POSIX_C_SOURCE
#define _POSIX_C_SOURCE 200809L /* fmemopen */
#endif
#include "zone.h"

#include "common.h"
#include "log.h"
#include "wire.h"

#include <errno.h>
#include <ldns/ldns.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NF_CHAIN 0x01   /* CNAME node: a chain block offset follows the name */
#define NF_WILD 0x02    /* a "*" child exists: check it on a miss below us */
#define NODE_HDR 3
#define SET_HDR 6
#define CENT_HDR 7
#define NO_NODE UINT32_MAX
#define CHAIN_MAX 8     /* CNAME records followed inside the zone */
/* Marks "no TTL written" on a record: see load_stream(). */
#define TTL_UNSET 0xffffffffu
#define TTL_DEFAULT 3600u /* ldns' default when neither $TTL nor a TTL came first */

struct zslot {
	uint32_t hash;  /* wire_hash of the relative name, checked before the name */
	uint32_t off;   /* node offset in the arena, NO_NODE when empty */
};

struct zone {
	atomic_uint refs;
	uint8_t apex[WIRE_MAX_NAME];  /* lower-cased wire form */
	size_t apex_len;
	uint32_t serial;
	size_t nrr;                   /* records loaded, the SOA included */
	size_t nnodes;                /* owners plus empty non-terminals */
	uint8_t *arena;               /* nodes, the authority SOA, chain blocks */
	size_t arena_len;
	size_t arena_cap;             /* only used while building */
	struct zslot *slots;
	uint32_t mask;                /* slots - 1 */
	unsigned bits;                /* log2(slots) */
	uint32_t soa_off;             /* authority SOA RR, owner uncompressed */
	uint16_t soa_len;
};

/* --------------------------------------------------------------- lookup */

static inline size_t slot_index(uint32_t h, unsigned bits)
{
	/* FNV-1a's low bits are weak; Fibonacci hashing takes the high ones. */
	return (size_t)((h * 2654435769u) >> (32 - bits));
}

static uint32_t node_find(const struct zone *z, const uint8_t *rel, size_t rel_len)
{
	uint32_t h = wire_hash(rel, rel_len);
	size_t i = slot_index(h, z->bits);
	for (;;) {
		const struct zslot *s = &z->slots[i];
		if (s->off == NO_NODE)
			return NO_NODE;
		if (s->hash == h) {
			const uint8_t *n = z->arena + s->off;
			if (n[0] == rel_len && memcmp(n + NODE_HDR, rel, rel_len) == 0)
				return s->off;
		}
		i = (i + 1) & z->mask;
	}
}

static inline const uint8_t *node_sets(const uint8_t *n)
{
	return n + NODE_HDR + n[0] + ((n[1] & NF_CHAIN) ? 4 : 0);
}

/*
 * The node answering for name (lower-cased, uncompressed, len bytes):
 * the exact owner, else "*.<closest encloser>" (RFC 4592), else NO_NODE.
 * Names outside the apex get NO_NODE: the router should never send them,
 * and NXDOMAIN is the harmless answer if it does.
 */
static uint32_t zone_find_name(const struct zone *z, const uint8_t *name, size_t len)
{
	uint8_t offs[WIRE_MAX_LABELS + 1];
	size_t nl = 0, i = 0;

	if (len < z->apex_len || len > WIRE_MAX_NAME)
		return NO_NODE;
	size_t rel_len = len - z->apex_len;
	if (memcmp(name + rel_len, z->apex, z->apex_len) != 0)
		return NO_NODE;
	while (i < rel_len) {
		if (name[i] == 0 || name[i] > 63 || nl >= WIRE_MAX_LABELS)
			return NO_NODE;
		offs[nl++] = (uint8_t)i;
		i += 1 + (size_t)name[i];
	}
	if (i != rel_len)
		return NO_NODE; /* the apex matched in the middle of a label */
	offs[nl] = (uint8_t)rel_len;

	uint32_t n = node_find(z, name, rel_len);
	if (n != NO_NODE)
		return n;
	/* The apex always exists, so the loop ends at the latest with k == nl. */
	for (size_t k = 1; k <= nl; k++) {
		size_t suf = offs[k];
		uint32_t enc = node_find(z, name + suf, rel_len - suf);
		if (enc == NO_NODE)
			continue;
		if (!(z->arena[enc + 1] & NF_WILD))
			return NO_NODE;
		uint8_t wild[WIRE_MAX_NAME + 2];
		wild[0] = 1;
		wild[1] = '*';
		memcpy(wild + 2, name + suf, rel_len - suf);
		return node_find(z, wild, 2 + rel_len - suf);
	}
	return NO_NODE;
}

/* What to put in the answer section; any = every plain set of node.
 * full_any 0: ANY selects only the first set (RFC 8482 4.1). */
struct zsel {
	const uint8_t *node;
	const uint8_t *data;
	size_t len;
	unsigned count;
	int any;
	enum zone_status st;
};

static void zone_select(const struct zone *z, const uint8_t *name, size_t len, uint16_t qtype, int full_any,
			struct zsel *a)
{
	memset(a, 0, sizeof(*a));
	a->st = ZONE_NXDOMAIN;
	uint32_t off = zone_find_name(z, name, len);
	if (off == NO_NODE)
		return;
	const uint8_t *n = z->arena + off;
	const uint8_t *p = node_sets(n);
	a->node = n;
	a->st = ZONE_NODATA;
	if ((n[1] & NF_CHAIN) && qtype != TYPE_CNAME && qtype != TYPE_ANY) {
		/* RFC 1034 4.3.2 step 3a: restart at the target, precomputed. */
		const uint8_t *c = z->arena + wire_get32(n + NODE_HDR + n[0]);
		unsigned nent = wire_get16(c);
		const uint8_t *e = c + 2, *pick = e;
		for (unsigned i = 0; i < nent; i++) {
			if (wire_get16(e) == qtype) {
				pick = e;
				break;
			}
			e += CENT_HDR + wire_get16(e + 5);
		}
		a->st = (enum zone_status)pick[2];
		a->count = wire_get16(pick + 3);
		a->len = wire_get16(pick + 5);
		a->data = pick + CENT_HDR;
		return;
	}
	for (unsigned i = 0; i < n[2]; i++) {
		uint16_t t = wire_get16(p);
		size_t l = wire_get16(p + 4);
		if (qtype == TYPE_ANY && !full_any) {
			/* RFC 8482: one RRset is a complete answer to ANY; the
			 * sets are sorted by type, so this one is the lowest */
			a->count = wire_get16(p + 2);
			a->len = l;
			a->data = p + SET_HDR;
			a->st = ZONE_ANSWER;
			return;
		} else if (qtype == TYPE_ANY) {
			a->any = 1;
			a->count += wire_get16(p + 2);
			a->len += l;
			a->st = ZONE_ANSWER;
		} else if (t == qtype) {
			a->count = wire_get16(p + 2);
			a->len = l;
			a->data = p + SET_HDR;
			a->st = ZONE_ANSWER;
			return;
		}
		p += SET_HDR + l;
	}
}

/* Copy the selected answer bytes (a->len of them) to out. */
static void zone_put_answer(const struct zsel *a, uint8_t *out)
{
	if (!a->any) {
		if (a->len)
			memcpy(out, a->data, a->len);
		return;
	}
	const uint8_t *p = node_sets(a->node);
	for (unsigned i = 0; i < a->node[2]; i++) {
		size_t l = wire_get16(p + 4);
		memcpy(out, p + SET_HDR, l);
		out += l;
		p += SET_HDR + l;
	}
}

static size_t answer(const struct zone *z, const struct wire_query *q, size_t limit, uint8_t *out, size_t cap,
		     enum zone_status *status, int full_any)
{
	struct zsel a;
	size_t qlen = q->q_end > WIRE_HDR_LEN ? q->q_end - WIRE_HDR_LEN : 0;

	zone_select(z, q->qname, qlen ? q->qname_len : 0, q->qtype, full_any, &a);
	*status = a.st;
	if (cap < WIRE_MIN_UDP)
		return 0;

	int rcode = a.st == ZONE_NXDOMAIN ? RCODE_NXDOMAIN : RCODE_NOERROR;
	int soa = a.st == ZONE_NXDOMAIN || a.st == ZONE_NODATA;
	size_t opt = q->has_edns ? 11 : 0;
	size_t total = WIRE_HDR_LEN + qlen + a.len + (soa ? z->soa_len : 0) + opt;
	if (limit > cap)
		limit = cap;
	if (WIRE_HDR_LEN + qlen + 11 > cap)
		return 0; /* only a hand-made q gets here: parsed questions are short */

	wire_put_header(out, q->id, wire_reply_flags(q, WIRE_AA, rcode), qlen ? 1 : 0,
			(uint16_t)a.count, soa ? 1 : 0, opt ? 1 : 0);
	size_t n = WIRE_HDR_LEN;
	/* verbatim, so the client sees its own case (0x20 randomisation) */
	memcpy(out + n, q->pkt + WIRE_HDR_LEN, qlen);
	n += qlen;
	if (total > cap || a.count > 0xffff)
		return wire_truncate(q, out, total, 0); /* cannot be built here: TC */
	zone_put_answer(&a, out + n);
	n += a.len;
	if (soa) {
		memcpy(out + n, z->arena + z->soa_off, z->soa_len);
		n += z->soa_len;
	}
	if (opt)
		n += wire_put_opt(out + n, 11, rcode, q->do_bit);
	return wire_truncate(q, out, n, limit);
}

size_t zone_answer(const struct zone *z, const struct wire_query *q, size_t limit, uint8_t *out,
		   size_t cap, enum zone_status *status)
{
	return answer(z, q, limit, out, cap, status, 0);
}

size_t zone_answer_tcp(const struct zone *z, const struct wire_query *q, size_t limit, uint8_t *out,
		       size_t cap, enum zone_status *status)
{
	return answer(z, q, limit, out, cap, status, 1);
}

/*
 * Copy answer RRs from src to out, replacing each 0xC00C owner with name.
 * Returns bytes written or 0 if cap is too small.
 */
static size_t expand_rrs(const uint8_t *src, size_t len, const uint8_t *name, size_t name_len,
			 uint8_t *out, size_t cap)
{
	size_t i = 0, n = 0;
	while (i < len) {
		const uint8_t *o = name;
		size_t ol = name_len;
		if ((src[i] & 0xc0) == 0xc0) {
			i += 2;
		} else {
			int l = wire_name_len(src + i, len - i);
			if (l < 0)
				return 0; /* cannot happen: we wrote these bytes */
			o = src + i;
			ol = (size_t)l;
			i += ol;
		}
		size_t fixed = 10 + (size_t)wire_get16(src + i + 8);
		if (n + ol + fixed > cap)
			return 0;
		memcpy(out + n, o, ol);
		memcpy(out + n + ol, src + i, fixed);
		n += ol + fixed;
		i += fixed;
	}
	return n;
}

size_t zone_lookup_rrs(const struct zone *z, const uint8_t *name, size_t name_len, uint16_t qtype,
		       uint8_t *out, size_t cap, uint16_t *count, enum zone_status *status)
{
	uint8_t lname[WIRE_MAX_NAME];
	struct zsel a;

	*count = 0;
	*status = ZONE_NXDOMAIN;
	int l = wire_name_len(name, name_len < WIRE_MAX_NAME ? name_len : WIRE_MAX_NAME);
	if (l < 0)
		return 0;
	memcpy(lname, name, (size_t)l);
	wire_name_lower(lname, (size_t)l);
	zone_select(z, lname, (size_t)l, qtype, 1, &a);
	*status = a.st;
	if (a.count == 0)
		return 0;

	size_t n = 0;
	if (!a.any) {
		n = expand_rrs(a.data, a.len, name, (size_t)l, out, cap);
	} else {
		const uint8_t *p = node_sets(a.node);
		for (unsigned i = 0; i < a.node[2]; i++) {
			size_t sl = wire_get16(p + 4);
			size_t w = expand_rrs(p + SET_HDR, sl, name, (size_t)l, out + n, cap - n);
			if (w == 0)
				return 0;
			n += w;
			p += SET_HDR + sl;
		}
	}
	if (n)
		*count = (uint16_t)a.count;
	return n;
}

/* ------------------------------------------------------------- accessors */

void zone_ref(struct zone *z) { atomic_fetch_add_explicit(&z->refs, 1, memory_order_relaxed); }

static void zone_free(struct zone *z)
{
	free(z->arena);
	free(z->slots);
	free(z);
}

void zone_unref(struct zone *z)
{
	if (!z)
		return;
	/* acq_rel: the freeing thread must see every other thread's reads done */
	if (atomic_fetch_sub_explicit(&z->refs, 1, memory_order_acq_rel) == 1)
		zone_free(z);
}

const uint8_t *zone_apex(const struct zone *z, size_t *len)
{
	*len = z->apex_len;
	return z->apex;
}

size_t zone_rr_count(const struct zone *z) { return z->nrr; }

uint32_t zone_serial(const struct zone *z) { return z->serial; }

/* The serial field of an SOA RDATA at rd (two uncompressed names first). */
static uint8_t *soa_serial_at(uint8_t *rd)
{
	size_t off = 0;

	for (int i = 0; i < 2; i++) {
		while (rd[off] != 0)
			off += 1 + (size_t)rd[off];
		off++;
	}
	return rd + off;
}

void zone_set_serial(struct zone *z, uint32_t serial)
{
	uint32_t off = node_find(z, z->apex, 0);

	z->serial = serial;
	/* the authority SOA: owner, type, class, TTL, RDLENGTH, RDATA */
	wire_put32(soa_serial_at(z->arena + z->soa_off + z->apex_len + 10), serial);
	if (off == NO_NODE)
		return;
	const uint8_t *n = z->arena + off;
	const uint8_t *p = node_sets(n);
	for (unsigned i = 0; i < n[2]; i++) {
		if (wire_get16(p) == TYPE_SOA) {
			/* one record: the owner pointer, 10 fixed bytes, RDATA */
			wire_put32(soa_serial_at(z->arena + (p - z->arena) + SET_HDR + 12), serial);
			return;
		}
		p += SET_HDR + wire_get16(p + 4);
	}
}

/* The set at index `set` of the node at off into *out; 0 when the node has fewer. */
static int rrset_at(const struct zone *z, uint32_t off, unsigned set, struct zone_rrset *out)
{
	const uint8_t *n = z->arena + off;
	const uint8_t *p = node_sets(n);

	if (set >= n[2])
		return 0;
	for (unsigned i = 0; i < set; i++)
		p += SET_HDR + wire_get16(p + 4);
	out->rel_len = n[0];
	memcpy(out->owner, n + NODE_HDR, n[0]);
	memcpy(out->owner + n[0], z->apex, z->apex_len);
	out->owner_len = n[0] + z->apex_len;
	out->type = wire_get16(p);
	out->count = wire_get16(p + 2);
	out->len = wire_get16(p + 4);
	out->rrs = p + SET_HDR;
	return 1;
}

enum fwd_err zone_next_rrset(const struct zone *z, struct zone_cursor *c, struct zone_rrset *out)
{
	for (; c->slot <= z->mask; c->slot++, c->set = 0) {
		uint32_t off = z->slots[c->slot].off;
		if (off != NO_NODE && rrset_at(z, off, c->set, out)) {
			c->set++;
			return FWD_OK;
		}
	}
	return FWD_ENOENT;
}

int zone_apex_has(const struct zone *z, uint16_t type)
{
	uint32_t off = node_find(z, z->apex, 0);
	struct zone_rrset s;

	for (unsigned i = 0; off != NO_NODE && rrset_at(z, off, i, &s); i++)
		if (s.type == type)
			return 1;
	return 0;
}

enum fwd_err zone_soa_rrset(const struct zone *z, struct zone_rrset *out)
{
	uint32_t off = node_find(z, z->apex, 0);

	if (off == NO_NODE)
		return FWD_ENOENT;
	for (unsigned i = 0; rrset_at(z, off, i, out); i++)
		if (out->type == TYPE_SOA)
			return FWD_OK;
	return FWD_ENOENT;
}

/* --------------------------------------------------------------- building */

/* A growable byte buffer for build-time data. */
struct buf {
	uint8_t *p;
	size_t len, cap;
};

static int buf_reserve(struct buf *b, size_t more)
{
	if (b->len + more <= b->cap)
		return 0;
	size_t cap = b->cap ? b->cap : 4096;
	while (cap < b->len + more)
		cap *= 2;
	uint8_t *p = realloc(b->p, cap);
	if (!p)
		return FWD_ENOMEM;
	b->p = p;
	b->cap = cap;
	return 0;
}

static int buf_put(struct buf *b, const void *d, size_t n)
{
	if (buf_reserve(b, n) < 0)
		return FWD_ENOMEM;
	memcpy(b->p + b->len, d, n);
	b->len += n;
	return 0;
}

/* One record as read, before compiling; followed by owner and rdata. */
struct trec {
	uint32_t line;
	uint32_t ttl;
	uint16_t type;
	uint16_t rdlen;
	uint8_t olen;   /* relative owner length */
};

struct loader {
	const char *src;        /* file name for messages */
	char *err;
	size_t errlen;
	struct zone *z;
	struct buf recs;        /* struct trec + owner + rdata, in file order */
	size_t nrecs;
	int soa_line;
	uint32_t soa_ttl;
	uint8_t soa_rdata[2 * WIRE_MAX_NAME + 20];
	size_t soa_rdlen;
	struct buf cnames;      /* { u32 node offset, u32 line } of CNAME nodes */
};

static int load_fail(struct loader *L, int line, const char *fmt, ...) FWD_PRINTF(3, 4);
static int load_fail(struct loader *L, int line, const char *fmt, ...)
{
	va_list ap;
	int n = snprintf(L->err, L->errlen, "%s:%d: ", L->src, line);
	if (n >= 0 && (size_t)n < L->errlen) {
		va_start(ap, fmt);
		vsnprintf(L->err + n, L->errlen - (size_t)n, fmt, ap);
		va_end(ap);
	}
	return FWD_EPARSE;
}

/* Text of relative name rel in this zone, for messages. */
static const char *rel_text(const struct zone *z, const uint8_t *rel, size_t rel_len,
			    char out[1025])
{
	uint8_t full[WIRE_MAX_NAME];
	memcpy(full, rel, rel_len);
	memcpy(full + rel_len, z->apex, z->apex_len);
	return wire_name_to_text(full, out, 1025);
}

/*
 * The record reader shared by the loader and zone_text_records(): one
 * record at a time through ldns_rr_new_frm_fp_l() (not
 * ldns_zone_new_frm_fp_l(), so that each record's line is known and one
 * record at a time is held in ldns form), with the line of each record and
 * the last marker comment before it.
 *
 * Lines: ldns consumes comments and blank lines before a record and
 * sometimes after it, so its own counter points at the wrong line; the
 * reader finds the record's first token in the text itself.
 */
struct zreader {
	const char *text;
	size_t len;
	size_t pos;             /* text before pos is counted */
	int line;               /* the line pos is on */
	const char *marker;     /* a comment prefix whose rest is noted, or NULL */
	size_t marker_len;
	const char *note;       /* the rest of the last marker line seen, or NULL */
	size_t note_len;
	FILE *fp;
	ldns_rdf *origin, *prev;
	uint32_t ttl;           /* $TTL as ldns last saw it, or TTL_UNSET */
	int stuck;              /* the last read consumed nothing */
};

/* A marker comment at text[i] (the start of a line, blanks skipped)? */
static void zreader_marker(struct zreader *r, size_t i)
{
	while (i < r->len && (r->text[i] == ' ' || r->text[i] == '\t'))
		i++;
	if (r->marker && r->len - i > r->marker_len && memcmp(r->text + i, r->marker, r->marker_len) == 0) {
		r->note = r->text + i + r->marker_len;
		r->note_len = strcspn(r->note, "\n");
	}
}

/* Line of the first record token in text[start..end), noting marker lines
 * on the way. */
static int zreader_line(struct zreader *r, size_t start, size_t end)
{
	while (r->pos < start && r->pos < r->len) {
		if (r->pos == 0 || r->text[r->pos - 1] == '\n')
			zreader_marker(r, r->pos);
		if (r->text[r->pos++] == '\n')
			r->line++;
	}
	int l = r->line;
	for (size_t i = start; i < end && i < r->len; i++) {
		char c = r->text[i];
		if (i == 0 || r->text[i - 1] == '\n')
			zreader_marker(r, i);
		if (c == ';') {
			while (i + 1 < end && r->text[i + 1] != '\n')
				i++;
		} else if (c == '\n') {
			l++;
		} else if (c != ' ' && c != '\t' && c != '\r') {
			return l;
		}
	}
	return l;
}

static enum fwd_err zreader_open(struct zreader *r, const uint8_t *apex, size_t apex_len, const char *text,
				 size_t len, const char *marker)
{
	memset(r, 0, sizeof(*r));
	r->text = text;
	r->len = len;
	r->line = 1;
	r->marker = marker;
	r->marker_len = marker ? strlen(marker) : 0;
	r->ttl = TTL_UNSET;
	r->fp = fmemopen((void *)(uintptr_t)text, len, "r");
	r->origin = ldns_rdf_new_frm_data(LDNS_RDF_TYPE_DNAME, apex_len, apex);
	r->prev = r->origin ? ldns_rdf_clone(r->origin) : NULL;
	return r->fp && r->origin && r->prev ? FWD_OK : FWD_ENOMEM;
}

/* The next record: LDNS_STATUS_OK with *rr (the caller frees it), or an
 * ldns status (directives: LDNS_STATUS_SYNTAX_TTL and the like; errors) with
 * *rr NULL.  *line is where it starts.  At the end of the text *done is
 * set; r->stuck says that a read consumed nothing (a caller that skips
 * errors must stop there). */
static ldns_status zreader_next(struct zreader *r, ldns_rr **rr, int *line, int *done)
{
	int dummy = 0;
	long start, end;
	ldns_status s;

	*rr = NULL;
	*done = feof(r->fp) != 0;
	if (*done)
		return LDNS_STATUS_OK;
	start = ftell(r->fp);
	s = ldns_rr_new_frm_fp_l(rr, r->fp, &r->ttl, &r->origin, &r->prev, &dummy);
	end = ftell(r->fp);
	*line = zreader_line(r, (size_t)start, (size_t)end);
	r->stuck = end <= start;
	if (s != LDNS_STATUS_OK) {
		ldns_rr_free(*rr);
		*rr = NULL;
	}
	return s;
}

static void zreader_close(struct zreader *r)
{
	if (r->fp)
		fclose(r->fp);
	ldns_rdf_deep_free(r->origin);
	ldns_rdf_deep_free(r->prev);
}

/* Check one parsed record and append it to the temporary list. */
static int load_record(struct loader *L, ldns_rr *rr, int line, uint32_t ttl, ldns_buffer *rd)
{
	struct zone *z = L->z;
	char txt[1025];
	const ldns_rdf *owner = ldns_rr_owner(rr);
	uint8_t name[WIRE_MAX_NAME];
	size_t len = ldns_rdf_size(owner);
	uint16_t type = (uint16_t)ldns_rr_get_type(rr);

	if (len == 0 || len > WIRE_MAX_NAME)
		return load_fail(L, line, "bad owner name");
	memcpy(name, ldns_rdf_data(owner), len);
	wire_name_lower(name, len);
	size_t rel_len = len - z->apex_len, i = 0;
	if (len < z->apex_len || memcmp(name + rel_len, z->apex, z->apex_len) != 0)
		goto outside;
	while (i < rel_len)
		i += 1 + (size_t)name[i];
	if (i != rel_len)
		goto outside;

	if (ldns_rr_get_class(rr) != LDNS_RR_CLASS_IN)
		return load_fail(L, line, "only class IN is supported");
	if (type == 0 || type == TYPE_OPT || (type >= 128 && type <= 255))
		return load_fail(L, line, "type %u cannot appear in a zone", type);
	ldns_buffer_clear(rd);
	if (ldns_rr_rdata2buffer_wire(rd, rr) != LDNS_STATUS_OK || ldns_buffer_position(rd) > 65535)
		return load_fail(L, line, "cannot encode the record data");
	size_t rdlen = ldns_buffer_position(rd);

	if (type == TYPE_SOA) {
		if (rel_len != 0)
			return load_fail(L, line, "SOA record for %s is not at the zone apex",
					 wire_name_to_text(name, txt, sizeof(txt)));
		if (L->soa_line)
			return load_fail(L, line, "second SOA record (the first is on line %d)",
					 L->soa_line);
		if (rdlen < 20 || rdlen > sizeof(L->soa_rdata))
			return load_fail(L, line, "malformed SOA record");
		L->soa_line = line;
		L->soa_ttl = ttl;
		L->soa_rdlen = rdlen;
		memcpy(L->soa_rdata, ldns_buffer_begin(rd), rdlen);
		z->serial = wire_get32(L->soa_rdata + rdlen - 20);
	}

	struct trec h = {(uint32_t)line, ttl, type, (uint16_t)rdlen, (uint8_t)rel_len};
	if (buf_reserve(&L->recs, sizeof(h) + rel_len + rdlen) < 0)
		return load_fail(L, line, "out of memory");
	buf_put(&L->recs, &h, sizeof(h));
	buf_put(&L->recs, name, rel_len);
	buf_put(&L->recs, ldns_buffer_begin(rd), rdlen);
	L->nrecs++;
	return 0;

outside:
	return load_fail(L, line, "%s is outside the zone %s", wire_name_to_text(name, txt, sizeof(txt)),
			 wire_name_to_text(z->apex, txt + 512, sizeof(txt) - 512));
}

/*
 * Read every record of text (through the reader above).  ldns does not say
 * whether a TTL was written, so the default it is given is TTL_UNSET and
 * we apply RFC 1035 5.1 / RFC 2308 4 ourselves: $TTL if seen, else the
 * last TTL written; and an RR without a TTL that continues an RRset takes
 * the RRset's TTL, as ldns' own zone reader does.
 */
static int load_stream(struct loader *L, const char *text, size_t len)
{
	struct zreader r;
	uint32_t dollar_ttl = 0, last_ttl = TTL_DEFAULT;
	int have_dollar = 0, ret = 0, line = 1, done = 0;
	uint8_t prev_owner[WIRE_MAX_NAME], cur_owner[WIRE_MAX_NAME];
	size_t prev_len = 0;
	uint16_t prev_type = 0;
	uint32_t prev_ttl = 0;
	ldns_buffer *rd = ldns_buffer_new(512);

	if (zreader_open(&r, L->z->apex, L->z->apex_len, text, len, NULL) != FWD_OK || !rd) {
		ret = load_fail(L, 1, "out of memory");
		goto out;
	}
	for (;;) {
		ldns_rr *rr = NULL;
		ldns_status s = zreader_next(&r, &rr, &line, &done);
		if (done)
			break;
		if (s == LDNS_STATUS_SYNTAX_EMPTY || s == LDNS_STATUS_SYNTAX_ORIGIN)
			continue;
		if (s == LDNS_STATUS_SYNTAX_TTL) {
			dollar_ttl = r.ttl;
			have_dollar = 1;
			r.ttl = TTL_UNSET;
			continue;
		}
		if (s == LDNS_STATUS_SYNTAX_INCLUDE) {
			ret = load_fail(L, line, "$INCLUDE is not supported");
			goto out;
		}
		if (s != LDNS_STATUS_OK) {
			ret = load_fail(L, line, "%s", ldns_get_errorstr_by_id(s));
			goto out;
		}
		const ldns_rdf *o = ldns_rr_owner(rr);
		size_t olen = ldns_rdf_size(o) <= WIRE_MAX_NAME ? ldns_rdf_size(o) : 0;
		memcpy(cur_owner, ldns_rdf_data(o), olen);
		wire_name_lower(cur_owner, olen);
		int same = olen == prev_len && ldns_rr_get_type(rr) == prev_type &&
			   memcmp(cur_owner, prev_owner, olen) == 0;
		uint32_t t = ldns_rr_ttl(rr);
		if (t == TTL_UNSET)
			t = same ? prev_ttl : have_dollar ? dollar_ttl : last_ttl;
		else if (!have_dollar)
			last_ttl = t;
		if (t > 0x7fffffffu)
			t = 0; /* RFC 2181 8: a TTL with the top bit set means 0 */
		prev_len = olen;
		memcpy(prev_owner, cur_owner, olen);
		prev_type = (uint16_t)ldns_rr_get_type(rr);
		prev_ttl = t;
		ret = load_record(L, rr, line, t, rd);
		ldns_rr_free(rr);
		if (ret < 0)
			goto out;
	}
	if (!L->soa_line)
		ret = load_fail(L, 1, "no SOA record at the zone apex");
out:
	zreader_close(&r);
	if (rd)
		ldns_buffer_free(rd);
	return ret;
}

static int arena_put(struct zone *z, const void *d, size_t n)
{
	if (z->arena_len + n > UINT32_MAX - 1)
		return FWD_EFULL; /* offsets are 32-bit */
	struct buf b = {z->arena, z->arena_len, z->arena_cap};
	if (buf_put(&b, d, n) < 0)
		return FWD_ENOMEM;
	z->arena = b.p;
	z->arena_len = b.len;
	z->arena_cap = b.cap;
	return 0;
}

static int table_alloc(struct zone *z, unsigned bits)
{
	struct zslot *s = malloc(sizeof(*s) << bits);
	if (!s)
		return FWD_ENOMEM;
	for (size_t i = 0; i < ((size_t)1 << bits); i++)
		s[i].off = NO_NODE;
	struct zslot *old = z->slots;
	size_t oldn = old ? (size_t)z->mask + 1 : 0;
	z->slots = s;
	z->bits = bits;
	z->mask = (uint32_t)(((size_t)1 << bits) - 1);
	for (size_t i = 0; i < oldn; i++) {
		if (old[i].off == NO_NODE)
			continue;
		size_t j = slot_index(old[i].hash, bits);
		while (s[j].off != NO_NODE)
			j = (j + 1) & z->mask;
		s[j] = old[i];
	}
	free(old);
	return 0;
}

/* Append node (header, name, room for a chain offset) and index it. */
static int node_add(struct zone *z, const uint8_t *rel, size_t rel_len, uint8_t flags,
		    uint8_t nsets, uint32_t *off)
{
	uint8_t hdr[NODE_HDR + WIRE_MAX_NAME + 4] = {(uint8_t)rel_len, flags, nsets};
	size_t hl = NODE_HDR + rel_len + ((flags & NF_CHAIN) ? 4 : 0);

	/* keep the load factor under 3/4 so probe runs stay short */
	if ((z->nnodes + 1) * 4 > ((size_t)z->mask + 1) * 3 && table_alloc(z, z->bits + 1) < 0)
		return FWD_ENOMEM;
	memcpy(hdr + NODE_HDR, rel, rel_len);
	*off = (uint32_t)z->arena_len;
	int r = arena_put(z, hdr, hl);
	if (r < 0)
		return r;
	uint32_t h = wire_hash(rel, rel_len);
	size_t i = slot_index(h, z->bits);
	while (z->slots[i].off != NO_NODE)
		i = (i + 1) & z->mask;
	z->slots[i].hash = h;
	z->slots[i].off = *off;
	z->nnodes++;
	return 0;
}

/* The header of a temporary record (they are byte-packed, so copy it). */
static inline struct trec th(const uint8_t *r)
{
	struct trec h;
	memcpy(&h, r, sizeof(h));
	return h;
}

static int trec_cmp(const void *a, const void *b)
{
	const uint8_t *x = *(const uint8_t *const *)a, *y = *(const uint8_t *const *)b;
	struct trec hx = th(x), hy = th(y);
	if (hx.olen != hy.olen)
		return hx.olen < hy.olen ? -1 : 1;
	int c = memcmp(x + sizeof(hx), y + sizeof(hy), hx.olen);
	if (c)
		return c;
	if (hx.type != hy.type)
		return hx.type < hy.type ? -1 : 1;
	return x < y ? -1 : x > y; /* file order within an RRset */
}

static int same_owner(const uint8_t *x, const uint8_t *y)
{
	struct trec a = th(x), b = th(y);
	return a.olen == b.olen && memcmp(x + sizeof(a), y + sizeof(b), a.olen) == 0;
}

static inline const uint8_t *trec_rdata(const uint8_t *r)
{
	return r + sizeof(struct trec) + th(r).olen;
}

static int same_rdata(const uint8_t *x, const uint8_t *y)
{
	return th(x).rdlen == th(y).rdlen && memcmp(trec_rdata(x), trec_rdata(y), th(x).rdlen) == 0;
}

/*
 * Write the sets of one owner (idx[lo..hi), sorted by type, file order
 * within a type) as a node.  Exact duplicate records are dropped (RFC 2181
 * 5) by clearing their idx entry; differing TTLs in an RRset are lowered to
 * the smallest (RFC 2181 5.2 calls them an error; a warning and the safe
 * value keep a synced zone serving).
 */
static int compile_owner(struct loader *L, const uint8_t **idx, size_t lo, size_t hi)
{
	struct zone *z = L->z;
	struct trec h0, h;
	char txt[1025];
	unsigned nsets = 0;
	uint8_t flags = 0;
	int cname_line = 0, other_line = 0;
	uint32_t off;
	size_t i, j, k, m;
	int r;

	h0 = th(idx[lo]);
	const uint8_t *rel = idx[lo] + sizeof(h0);
	for (i = lo; i < hi; i = j) {
		h = th(idx[i]);
		for (j = i + 1; j < hi && th(idx[j]).type == h.type; j++)
			;
		/* every RR takes at least 12 bytes: bound the quadratic scan below */
		if ((j - i) * 12 > 65535)
			return load_fail(L, (int)th(idx[i + 65535 / 12]).line, "RRset %s/%u exceeds 64 KiB",
					 rel_text(z, rel, h0.olen, txt), h.type);
		for (k = i + 1; k < j; k++)
			for (m = i; m < k; m++)
				if (idx[m] && same_rdata(idx[m], idx[k])) {
					idx[k] = NULL;
					break;
				}
		if (h.type == TYPE_CNAME) {
			flags |= NF_CHAIN;
			cname_line = (int)h.line;
			for (k = i + 1; k < j; k++)
				if (idx[k])
					return load_fail(L, (int)th(idx[k]).line, "%s has more than one CNAME record",
							 rel_text(z, rel, h0.olen, txt));
		} else if (!other_line || (int)h.line < other_line) {
			other_line = (int)h.line;
		}
		if (++nsets > 255)
			return load_fail(L, (int)h.line, "too many record types at %s",
					 rel_text(z, rel, h0.olen, txt));
	}
	/* RFC 1034 3.6.2: a CNAME owner has no other data; blame the later line */
	if (cname_line && other_line)
		return load_fail(L, cname_line > other_line ? cname_line : other_line,
				 "%s has a CNAME record and other data", rel_text(z, rel, h0.olen, txt));

	if ((r = node_add(z, rel, h0.olen, flags, (uint8_t)nsets, &off)) < 0)
		return load_fail(L, (int)h0.line, r == FWD_ENOMEM ? "out of memory" : "zone too large");
	if (flags & NF_CHAIN) {
		uint32_t c[2] = {off, (uint32_t)cname_line};
		if (buf_put(&L->cnames, c, sizeof(c)) < 0)
			return load_fail(L, (int)h0.line, "out of memory");
	}

	for (i = lo; i < hi; i = j) {
		h = th(idx[i]);
		uint32_t ttl = h.ttl;
		size_t len = 0, n = 0;
		for (j = i; j < hi && (!idx[j] || th(idx[j]).type == h.type); j++) {
			if (!idx[j])
				continue;
			struct trec hj = th(idx[j]);
			if (hj.ttl != ttl) {
				log_warn("%s:%u: TTL %u differs from the RRset's %u; using the lower",
					 L->src, hj.line, hj.ttl, ttl);
				if (hj.ttl < ttl)
					ttl = hj.ttl;
			}
			len += 12 + hj.rdlen;
			n++;
			if (len > 65535)
				return load_fail(L, (int)hj.line, "RRset %s/%u exceeds 64 KiB",
						 rel_text(z, rel, h0.olen, txt), h.type);
		}
		uint8_t sh[SET_HDR];
		wire_put16(sh, h.type);
		wire_put16(sh + 2, (uint16_t)n);
		wire_put16(sh + 4, (uint16_t)len);
		if (arena_put(z, sh, SET_HDR) < 0)
			return load_fail(L, (int)h.line, "out of memory or zone too large");
		for (k = i; k < j; k++) {
			uint8_t rh[12] = {0xc0, 0x0c};
			if (!idx[k])
				continue;
			struct trec hk = th(idx[k]);
			wire_put16(rh + 2, hk.type);
			wire_put16(rh + 4, CLASS_IN);
			wire_put32(rh + 6, ttl);
			wire_put16(rh + 10, hk.rdlen);
			if (arena_put(z, rh, 12) < 0 || arena_put(z, trec_rdata(idx[k]), hk.rdlen) < 0)
				return load_fail(L, (int)hk.line, "out of memory or zone too large");
			z->nrr++;
		}
	}
	return 0;
}

/*
 * Create every missing ancestor of rel as an empty non-terminal, so that a
 * name below it is NXDOMAIN but the ENT itself is NODATA (RFC 4592 2.2.2).
 * Stopping at the first existing ancestor is enough: that one is an owner
 * (handled in its own turn) or an ENT whose ancestors we already made.
 */
static int add_ents(struct loader *L, const uint8_t *rel, size_t rel_len, int line)
{
	struct zone *z = L->z;
	size_t i = 0;
	while (i < rel_len) {
		i += 1 + (size_t)rel[i];
		if (node_find(z, rel + i, rel_len - i) != NO_NODE)
			return 0;
		uint32_t off;
		if (node_add(z, rel + i, rel_len - i, 0, 0, &off) < 0)
			return load_fail(L, line, "out of memory or zone too large");
	}
	return 0;
}

/* Append one RR (owner: name, or 0xC00C when name is NULL) to a chain:
 * FWD_OK, or FWD_EFULL when it does not fit. */
static enum fwd_err chain_rr(uint8_t *buf, size_t cap, size_t *n, const uint8_t *name, size_t name_len,
			       const uint8_t *rr_fixed_rdata)
{
	size_t fixed = 10 + (size_t)wire_get16(rr_fixed_rdata + 8);
	size_t ol = name ? name_len : 2;
	if (*n + ol + fixed > cap)
		return FWD_EFULL;
	if (name)
		memcpy(buf + *n, name, name_len);
	else
		memcpy(buf + *n, "\xc0\x0c", 2);
	memcpy(buf + *n + ol, rr_fixed_rdata, fixed);
	*n += ol + fixed;
	return FWD_OK;
}

static int put_entry(struct buf *ext, uint16_t type, enum zone_status st, size_t count,
		     const uint8_t *chain, size_t clen, const uint8_t *set, size_t slen,
		     const uint8_t *owner, size_t olen)
{
	uint8_t eh[CENT_HDR];
	size_t start = ext->len;
	wire_put16(eh, type);
	eh[2] = (uint8_t)st;
	wire_put16(eh + 3, (uint16_t)count);
	if (buf_put(ext, eh, CENT_HDR) < 0 || buf_put(ext, chain, clen) < 0)
		return FWD_ENOMEM;
	/* the target's RRs: replace each 0xC00C with the target's name */
	for (size_t i = 0; i < slen;) {
		size_t fixed = 10 + (size_t)wire_get16(set + i + 2 + 8);
		if (buf_put(ext, owner, olen) < 0 || buf_put(ext, set + i + 2, fixed) < 0)
			return FWD_ENOMEM;
		i += 2 + fixed;
	}
	size_t len = ext->len - start - CENT_HDR;
	if (len > 65535)
		return FWD_EFULL;
	wire_put16(ext->p + start + 5, (uint16_t)len);
	return 0;
}

/*
 * Build the chain block of the CNAME node at off into ext: follow the
 * target through the zone (RFC 1034 4.3.2 3a) with the same lookup as a
 * query, so wildcards and ENTs behave alike.  A chain that loops or is
 * longer than CHAIN_MAX ends as NODATA at its last name: the answer stays
 * finite and says honestly that no data was reached.
 */
static int chain_build(struct loader *L, uint32_t off, int line, struct buf *ext, uint32_t *block)
{
	struct zone *z = L->z;
	uint8_t chain[CHAIN_MAX * (2 * WIRE_MAX_NAME + 10)];
	size_t clen = 0, count = 1;
	uint8_t tgt[WIRE_MAX_NAME];
	const uint8_t *n = z->arena + off, *final = NULL;
	const uint8_t *rr = node_sets(n) + SET_HDR; /* the CNAME RR, owner 0xC00C */
	enum zone_status st;
	char txt[1025];

	chain_rr(chain, sizeof(chain), &clen, NULL, 0, rr + 2);
	for (;;) {
		const uint8_t *target = rr + 12; /* rdata: the target name, as written */
		int tl = wire_name_len(target, wire_get16(rr + 10));
		if (tl < 0) {
			st = ZONE_CNAME_OUT;
			break;
		}
		memcpy(tgt, target, (size_t)tl);
		wire_name_lower(tgt, (size_t)tl);
		if ((size_t)tl < z->apex_len || memcmp(tgt + tl - z->apex_len, z->apex, z->apex_len) != 0) {
			st = ZONE_CNAME_OUT;
			break;
		}
		uint32_t t = zone_find_name(z, tgt, (size_t)tl);
		if (t == NO_NODE) {
			st = ZONE_NXDOMAIN;
			break;
		}
		const uint8_t *tn = z->arena + t;
		if (!(tn[1] & NF_CHAIN)) {
			final = tn;
			st = ZONE_NODATA;
			break;
		}
		if (count == CHAIN_MAX) {
			log_warn("%s:%d: CNAME chain from %s loops or is longer than %d; answers stop there",
				 L->src, line, rel_text(z, n + NODE_HDR, n[0], txt), CHAIN_MAX);
			st = ZONE_NODATA;
			break;
		}
		rr = node_sets(tn) + SET_HDR;
		chain_rr(chain, sizeof(chain), &clen, target, (size_t)tl, rr + 2);
		count++;
	}

	*block = (uint32_t)ext->len;
	uint8_t nent[2];
	wire_put16(nent, (uint16_t)(1 + (final ? final[2] : 0)));
	int r = buf_put(ext, nent, 2);
	if (r == 0)
		r = put_entry(ext, 0, st, count, chain, clen, NULL, 0, NULL, 0);
	if (final) {
		/* the target of the last CNAME is the name we reached */
		const uint8_t *owner = rr + 12;
		size_t ol = (size_t)wire_name_len(owner, wire_get16(rr + 10));
		const uint8_t *p = node_sets(final);
		for (unsigned i = 0; i < final[2] && r == 0; i++) {
			size_t sl = wire_get16(p + 4);
			r = put_entry(ext, wire_get16(p), ZONE_ANSWER, count + wire_get16(p + 2), chain,
				      clen, p + SET_HDR, sl, owner, ol);
			p += SET_HDR + sl;
		}
	}
	if (r == FWD_EFULL)
		return load_fail(L, line, "the answer for CNAME %s exceeds 64 KiB",
				 rel_text(z, n + NODE_HDR, n[0], txt));
	return r < 0 ? load_fail(L, line, "out of memory") : 0;
}

/* Turn the temporary record list into the zone's arena and table. */
static int compile(struct loader *L)
{
	struct zone *z = L->z;
	const uint8_t **idx = NULL;
	struct buf ext = {0};
	size_t i, j, nown = 0;
	int r = 0;

	idx = malloc((L->nrecs ? L->nrecs : 1) * sizeof(*idx));
	if (!idx)
		return load_fail(L, 1, "out of memory");
	for (i = 0, j = 0; i < L->nrecs; i++) {
		idx[i] = L->recs.p + j;
		j += sizeof(struct trec) + th(idx[i]).olen + th(idx[i]).rdlen;
	}
	qsort(idx, L->nrecs, sizeof(*idx), trec_cmp);
	for (i = 0; i < L->nrecs; i = j) {
		for (j = i + 1; j < L->nrecs && same_owner(idx[i], idx[j]); j++)
			;
		nown++;
	}

	/* table sized for the owners at under 3/4 load; ENTs may grow it */
	unsigned bits = 4;
	while (((size_t)1 << bits) * 3 < (nown + 1) * 4)
		bits++;
	if (table_alloc(z, bits) < 0) {
		r = load_fail(L, 1, "out of memory");
		goto out;
	}
	for (i = 0; i < L->nrecs && r == 0; i = j) {
		for (j = i + 1; j < L->nrecs && same_owner(idx[i], idx[j]); j++)
			;
		r = compile_owner(L, idx, i, j);
	}
	/* compile_owner() may have cleared duplicates; the first of a group never is */
	for (i = 0; i < L->nrecs && r == 0; i++)
		if (idx[i])
			r = add_ents(L, idx[i] + sizeof(struct trec), th(idx[i]).olen, (int)th(idx[i]).line);
	if (r < 0)
		goto out;
	for (i = 0; i <= z->mask; i++) {
		if (z->slots[i].off == NO_NODE)
			continue;
		const uint8_t *n = z->arena + z->slots[i].off;
		if (n[0] < 2 || n[NODE_HDR] != 1 || n[NODE_HDR + 1] != '*')
			continue;
		uint32_t parent = node_find(z, n + NODE_HDR + 2, n[0] - 2u);
		z->arena[parent + 1] |= NF_WILD; /* add_ents() made sure it exists */
	}

	/* RFC 2308 3: the negative TTL is min(SOA TTL, SOA MINIMUM) */
	uint8_t soa[WIRE_MAX_NAME + 10];
	uint32_t minimum = wire_get32(L->soa_rdata + L->soa_rdlen - 4);
	memcpy(soa, z->apex, z->apex_len);
	wire_put16(soa + z->apex_len, TYPE_SOA);
	wire_put16(soa + z->apex_len + 2, CLASS_IN);
	wire_put32(soa + z->apex_len + 4, L->soa_ttl < minimum ? L->soa_ttl : minimum);
	wire_put16(soa + z->apex_len + 8, (uint16_t)L->soa_rdlen);
	z->soa_off = (uint32_t)z->arena_len;
	z->soa_len = (uint16_t)(z->apex_len + 10 + L->soa_rdlen);
	if (arena_put(z, soa, z->apex_len + 10) < 0 || arena_put(z, L->soa_rdata, L->soa_rdlen) < 0) {
		r = load_fail(L, L->soa_line, "out of memory or zone too large");
		goto out;
	}

	/* Chains go to ext first: they read nodes, and appending to the
	 * arena itself could move it under them. */
	size_t base = z->arena_len, ncn = L->cnames.len / 8;
	for (i = 0; i < ncn && r == 0; i++) {
		uint32_t c[2], blk;
		memcpy(c, L->cnames.p + 8 * i, sizeof(c));
		r = chain_build(L, c[0], (int)c[1], &ext, &blk);
		memcpy(L->cnames.p + 8 * i + 4, &blk, 4); /* the line is no longer needed */
	}
	if (r < 0 || (ext.len && arena_put(z, ext.p, ext.len) < 0)) {
		r = r < 0 ? r : load_fail(L, 1, "out of memory or zone too large");
		goto out;
	}
	for (i = 0; i < ncn; i++) {
		uint32_t c[2];
		memcpy(c, L->cnames.p + 8 * i, sizeof(c));
		uint8_t *n = z->arena + c[0];
		wire_put32(n + NODE_HDR + n[0], (uint32_t)(base + c[1]));
	}
	/* give back the doubling slack: this memory is held for the zone's life */
	uint8_t *shrunk = realloc(z->arena, z->arena_len);
	if (shrunk) {
		z->arena = shrunk;
		z->arena_cap = z->arena_len;
	}
out:
	free(idx);
	free(ext.p);
	return r;
}

static struct zone *load_buffer(const char *apex, const char *text, size_t len, const char *src,
				char *err, size_t errlen)
{
	struct loader L = {.src = src, .err = err, .errlen = errlen};
	uint8_t a[WIRE_MAX_NAME];
	int alen = wire_name_from_text(apex, a);

	if (alen < 0) {
		snprintf(err, errlen, "%s: invalid zone name '%s'", src, apex);
		return NULL;
	}
	struct zone *z = calloc(1, sizeof(*z));
	if (!z) {
		snprintf(err, errlen, "%s: out of memory", src);
		return NULL;
	}
	atomic_init(&z->refs, 1);
	memcpy(z->apex, a, (size_t)alen);
	z->apex_len = (size_t)alen;
	L.z = z;

	int r = len ? load_stream(&L, text, len) : load_fail(&L, 1, "no SOA record at the zone apex");
	if (r == 0)
		r = compile(&L);
	free(L.recs.p);
	free(L.cnames.p);
	if (r < 0) {
		zone_free(z);
		return NULL;
	}
	return z;
}

struct zone *zone_load_text(const char *apex, const char *text, const char *srcname, char *err,
			    size_t errlen)
{
	return load_buffer(apex, text, strlen(text), srcname, err, errlen);
}

/* The whole of a file, NUL-terminated: FWD_OK with *text (the caller frees
 * it) and *len, or FWD_EIO / FWD_ENOMEM with errno's or the reason in
 * *why. */
static enum fwd_err read_whole(const char *path, char **text, size_t *len, const char **why)
{
	FILE *fp = fopen(path, "r");
	char *t = NULL;
	long n = -1;

	if (!fp) {
		*why = strerror(errno);
		return FWD_EIO;
	}
	if (fseek(fp, 0, SEEK_END) == 0 && (n = ftell(fp)) >= 0 && fseek(fp, 0, SEEK_SET) == 0 &&
	    (t = malloc((size_t)n + 1)) != NULL && fread(t, 1, (size_t)n, fp) == (size_t)n) {
		fclose(fp);
		t[n] = '\0';
		*text = t;
		*len = (size_t)n;
		return FWD_OK;
	}
	enum fwd_err rc = t || n < 0 ? FWD_EIO : FWD_ENOMEM;
	*why = n < 0 ? strerror(errno) : t ? "read error" : "out of memory";
	fclose(fp);
	free(t);
	return rc;
}

struct zone *zone_load_file(const char *apex, const char *path, char *err, size_t errlen)
{
	/* Read it whole: line numbers come from scanning the text (the reader
	 * above), and the text is smaller than the compiled zone anyway. */
	char *text = NULL;
	size_t len = 0;
	const char *why = "";

	if (read_whole(path, &text, &len, &why) != FWD_OK) {
		snprintf(err, errlen, "%s: %s", path, why);
		return NULL;
	}
	struct zone *z = load_buffer(apex, text, len, path, err, errlen);
	free(text);
	return z;
}

enum fwd_err zone_text_records(const uint8_t *apex, size_t apex_len, const char *text, size_t len,
			       const char *marker, zone_record_fn fn, void *arg)
{
	struct zreader r;
	struct zone_record rec;
	int line = 1, done = 0;
	enum fwd_err rc = zreader_open(&r, apex, apex_len, text, len, marker);

	while (rc == FWD_OK) {
		ldns_rr *rr = NULL;
		ldns_status s = zreader_next(&r, &rr, &line, &done);
		if (done)
			break;
		if (s == LDNS_STATUS_SYNTAX_TTL)
			r.ttl = TTL_UNSET;
		if (s != LDNS_STATUS_OK) {
			/* directives are ldns' business; anything else (a file
			 * edited since it was loaded) is skipped */
			if (r.stuck && s != LDNS_STATUS_SYNTAX_EMPTY)
				break;
			continue;
		}
		rec.rr = rr;
		rec.line = line;
		rec.note = r.note;
		rec.note_len = r.note_len;
		fn(arg, &rec);
		ldns_rr_free(rr);
	}
	zreader_close(&r);
	return rc;
}

enum fwd_err zone_file_records(const uint8_t *apex, size_t apex_len, const char *path, const char *marker,
			       zone_record_fn fn, void *arg)
{
	char *text = NULL;
	size_t len = 0;
	const char *why;
	enum fwd_err rc = read_whole(path, &text, &len, &why);

	if (rc == FWD_OK)
		rc = zone_text_records(apex, apex_len, text, len, marker, fn, arg);
	free(text);
	return rc;
}
