/*
 * wire.c -- DNS wire format by hand (see wire.h).  Nothing here allocates.
 */
#include "wire.h"

#include <string.h>

static inline uint8_t lower(uint8_t c) { return (c >= 'A' && c <= 'Z') ? (uint8_t)(c + 32) : c; }

/*
 * Parse the OPT record among the additional records.  Only the additional
 * section may hold it, only once, and only with the root owner (RFC 6891
 * 6.1.1); a query has no answer or authority records worth walking, but we
 * skip them properly so an OPT after them is still found (and an OPT among
 * them is refused).
 */
static enum wire_verdict parse_additional(const uint8_t *pkt, size_t len, size_t off,
					  struct wire_query *q)
{
	unsigned skip = (unsigned)q->ancount + q->nscount;
	for (unsigned i = 0; i < skip + q->arcount; i++) {
		size_t n = wire_skip_name(pkt, len, off);
		if (n == 0 || n + 10 > len)
			return WIRE_FORMERR;
		uint16_t type = wire_get16(pkt + n);
		uint16_t rdlen = wire_get16(pkt + n + 8);
		if (n + 10 + rdlen > len)
			return WIRE_FORMERR;
		if (type == TYPE_OPT) {
			if (i < skip || q->has_edns || n != off + 1 || pkt[off] != 0)
				return WIRE_FORMERR;
			q->has_edns = 1;
			q->opt_off = off;
			q->opt_rdlen = rdlen;
			uint16_t size = wire_get16(pkt + n + 2);
			q->edns_udp = size < WIRE_MIN_UDP ? WIRE_MIN_UDP : size;
			q->edns_version = pkt[n + 5];
			q->do_bit = (pkt[n + 6] & 0x80) ? 1 : 0;
		}
		off = n + 10 + rdlen;
	}
	if (q->has_edns && q->edns_version != 0)
		return WIRE_BADVERS;
	return WIRE_OK;
}

enum wire_verdict wire_parse_query(const uint8_t *pkt, size_t len, struct wire_query *q)
{
	q->pkt = pkt;
	q->len = len;
	q->has_edns = 0;
	q->edns_version = 0;
	q->do_bit = 0;
	q->edns_udp = WIRE_MIN_UDP;
	q->opt_off = 0;
	q->opt_rdlen = 0;
	q->qname_len = 0;
	q->nlabels = 0;
	q->qtype = q->qclass = 0;
	q->qname_off = WIRE_HDR_LEN;
	q->q_end = WIRE_HDR_LEN; /* "no question parsed" for error replies */

	if (len < WIRE_HDR_LEN)
		return WIRE_DROP;
	q->id = wire_get16(pkt);
	q->flags = wire_get16(pkt + 2);
	q->qdcount = wire_get16(pkt + 4);
	q->ancount = wire_get16(pkt + 6);
	q->nscount = wire_get16(pkt + 8);
	q->arcount = wire_get16(pkt + 10);
	if (q->flags & WIRE_QR)
		return WIRE_DROP; /* never answer a response: reflection loops */
	if (WIRE_OPCODE(q->flags) != 0)
		return WIRE_NOTIMP;
	if (q->qdcount == 0) {
		/* RFC 7873 5.4: a client may ask for a server cookie with no
		 * question; still FORMERR here, but the OPT is found */
		if (parse_additional(pkt, len, WIRE_HDR_LEN, q) != WIRE_OK) {
			q->has_edns = 0;
			q->opt_off = 0;
			q->opt_rdlen = 0;
		}
		return WIRE_FORMERR;
	}
	if (q->qdcount != 1)
		return WIRE_FORMERR;

	/* the question name: uncompressed labels only */
	size_t off = WIRE_HDR_LEN;
	size_t nl = 0;
	for (;;) {
		if (off >= len)
			return WIRE_FORMERR;
		uint8_t l = pkt[off];
		if (l == 0) {
			if (nl + 1 > WIRE_MAX_NAME)
				return WIRE_FORMERR;
			q->qname[nl++] = 0;
			off++;
			break;
		}
		if (l > 63 || off + 1 + l > len || nl + 1 + l + 1 > WIRE_MAX_NAME)
			return WIRE_FORMERR; /* pointer, extended label, overrun or too long */
		q->label_off[q->nlabels++] = (uint8_t)nl;
		q->qname[nl++] = l;
		for (size_t i = 0; i < l; i++)
			q->qname[nl++] = lower(pkt[off + 1 + i]);
		off += 1 + (size_t)l;
	}
	if (off + 4 > len)
		return WIRE_FORMERR;
	q->qname_len = (uint8_t)nl;
	q->qtype = wire_get16(pkt + off);
	q->qclass = wire_get16(pkt + off + 2);
	off += 4;
	q->q_end = off;
	return parse_additional(pkt, len, off, q);
}

size_t wire_udp_limit(const struct wire_query *q)
{
	if (!q->has_edns)
		return WIRE_MIN_UDP;
	return q->edns_udp < WIRE_EDNS_UDP ? q->edns_udp : WIRE_EDNS_UDP;
}

void wire_put_header(uint8_t *out, uint16_t id, uint16_t flags, uint16_t qd, uint16_t an, uint16_t ns,
		     uint16_t ar)
{
	wire_put16(out, id);
	wire_put16(out + 2, flags);
	wire_put16(out + 4, qd);
	wire_put16(out + 6, an);
	wire_put16(out + 8, ns);
	wire_put16(out + 10, ar);
}

uint16_t wire_reply_flags(const struct wire_query *q, uint16_t extra, int rcode)
{
	return (uint16_t)(WIRE_QR | (q->flags & (0x7800u | WIRE_RD | WIRE_CD)) | extra | (rcode & 0xf));
}

size_t wire_put_opt(uint8_t *out, size_t cap, int rcode, int do_bit)
{
	if (cap < 11)
		return 0;
	out[0] = 0;                                /* root owner */
	wire_put16(out + 1, TYPE_OPT);
	wire_put16(out + 3, WIRE_EDNS_UDP);        /* class = our payload size */
	out[5] = (uint8_t)((rcode >> 4) & 0xff);   /* extended rcode, upper 8 bits */
	out[6] = 0;                                /* version 0 */
	out[7] = do_bit ? 0x80 : 0;
	out[8] = 0;
	wire_put16(out + 9, 0);                    /* no options */
	return 11;
}

size_t wire_reply_error(const struct wire_query *q, int rcode, uint16_t extra_flags, uint8_t *out,
			size_t cap)
{
	/* echo the question only when it parsed completely */
	size_t qlen = q->q_end > WIRE_HDR_LEN ? q->q_end - WIRE_HDR_LEN : 0;
	/* BADVERS needs an OPT to carry its upper bits even if parsing stopped */
	int opt = q->has_edns || rcode > 15;
	if (cap < WIRE_HDR_LEN + qlen + (opt ? 11u : 0u))
		return 0;
	wire_put_header(out, q->id, wire_reply_flags(q, extra_flags, rcode), qlen ? 1 : 0, 0, 0,
			opt ? 1 : 0);
	memcpy(out + WIRE_HDR_LEN, q->pkt + WIRE_HDR_LEN, qlen);
	size_t n = WIRE_HDR_LEN + qlen;
	if (opt)
		n += wire_put_opt(out + n, cap - n, rcode, q->do_bit);
	return n;
}

size_t wire_truncate(const struct wire_query *q, uint8_t *reply, size_t len, size_t limit)
{
	if (len <= limit)
		return len;
	size_t n = q->q_end; /* header + question have the same length as in the query */
	uint16_t flags = wire_get16(reply + 2) | WIRE_TC;
	wire_put_header(reply, wire_get16(reply), flags, 1, 0, 0, q->has_edns ? 1 : 0);
	if (q->has_edns)
		n += wire_put_opt(reply + n, 11, WIRE_RCODE(flags), q->do_bit);
	return n;
}

int wire_name_from_text(const char *text, uint8_t out[WIRE_MAX_NAME])
{
	size_t n = 0;
	const char *p = text;
	if (p[0] == '.' && p[1] == '\0') {
		out[0] = 0;
		return 1;
	}
	while (*p) {
		size_t l = 0;
		size_t lenpos = n++;
		if (n >= WIRE_MAX_NAME)
			return -1;
		while (*p && *p != '.') {
			uint8_t c = (uint8_t)*p++;
			if (c == '\\' && *p) { /* \X and \DDD escapes */
				if (p[0] >= '0' && p[0] <= '9' && p[1] >= '0' && p[1] <= '9' && p[2] >= '0' &&
				    p[2] <= '9') {
					int v = (p[0] - '0') * 100 + (p[1] - '0') * 10 + (p[2] - '0');
					if (v > 255)
						return -1;
					c = (uint8_t)v;
					p += 3;
				} else {
					c = (uint8_t)*p++;
				}
			}
			if (++l > 63 || n + 1 >= WIRE_MAX_NAME)
				return -1;
			out[n++] = lower(c);
		}
		if (l == 0)
			return -1; /* empty label ("a..b" or leading dot) */
		out[lenpos] = (uint8_t)l;
		if (*p == '.')
			p++;
	}
	if (n + 1 > WIRE_MAX_NAME)
		return -1;
	out[n++] = 0;
	return (int)n;
}

char *wire_name_to_text(const uint8_t *name, char *out, size_t cap)
{
	size_t n = 0;
	size_t i = 0;
	if (cap == 0)
		return out;
	if (name[0] == 0) {
		if (cap >= 2) {
			out[0] = '.';
			out[1] = '\0';
		} else {
			out[0] = '\0';
		}
		return out;
	}
	while (name[i] != 0 && i < WIRE_MAX_NAME) {
		uint8_t l = name[i++];
		for (uint8_t j = 0; j < l; j++) {
			uint8_t c = name[i++];
			if (c == '.' || c == '\\' || c <= ' ' || c >= 0x7f) {
				if (n + 5 >= cap)
					goto out;
				if (c == '.' || c == '\\') {
					out[n++] = '\\';
					out[n++] = (char)c;
				} else {
					out[n++] = '\\';
					out[n++] = (char)('0' + c / 100);
					out[n++] = (char)('0' + (c / 10) % 10);
					out[n++] = (char)('0' + c % 10);
				}
			} else {
				if (n + 1 >= cap)
					goto out;
				out[n++] = (char)c;
			}
		}
		if (n + 1 >= cap)
			goto out;
		out[n++] = '.';
	}
out:
	out[n < cap ? n : cap - 1] = '\0';
	return out;
}

int wire_name_len(const uint8_t *name, size_t max)
{
	size_t i = 0;
	while (i < max) {
		uint8_t l = name[i];
		if (l == 0)
			return (i + 1 <= WIRE_MAX_NAME) ? (int)(i + 1) : -1;
		if (l > 63)
			return -1;
		i += 1 + (size_t)l;
	}
	return -1;
}

void wire_name_lower(uint8_t *name, size_t len)
{
	size_t i = 0;
	while (i < len && name[i] != 0) {
		uint8_t l = name[i++];
		for (uint8_t j = 0; j < l && i < len; j++, i++)
			name[i] = lower(name[i]);
	}
}

int wire_name_labels(const uint8_t *name)
{
	int n = 0;
	size_t i = 0;
	while (name[i] != 0 && i < WIRE_MAX_NAME) {
		i += 1 + (size_t)name[i];
		n++;
	}
	return n;
}

size_t wire_skip_name(const uint8_t *pkt, size_t len, size_t off)
{
	while (off < len) {
		uint8_t l = pkt[off];
		if (l == 0)
			return off + 1;
		if ((l & 0xc0) == 0xc0)
			return off + 2 <= len ? off + 2 : 0;
		if (l > 63)
			return 0;
		off += 1 + (size_t)l;
	}
	return 0;
}

int wire_read_name(const uint8_t *pkt, size_t len, size_t off, uint8_t out[WIRE_MAX_NAME])
{
	size_t n = 0;
	int jumps = 0;
	while (off < len) {
		uint8_t l = pkt[off];
		if (l == 0) {
			if (n + 1 > WIRE_MAX_NAME)
				return -1;
			out[n++] = 0;
			return (int)n;
		}
		if ((l & 0xc0) == 0xc0) {
			if (off + 1 >= len || ++jumps > 64)
				return -1; /* bounded: a pointer loop cannot spin */
			size_t to = ((size_t)(l & 0x3f) << 8) | pkt[off + 1];
			if (to >= off || to < WIRE_HDR_LEN)
				return -1; /* only backward pointers are legal, and never into
					    * the header: its counts change on the way out */
			off = to;
			continue;
		}
		if (l > 63 || off + 1 + l > len || n + 1 + l + 1 > WIRE_MAX_NAME)
			return -1;
		out[n++] = l;
		for (size_t i = 0; i < l; i++)
			out[n++] = lower(pkt[off + 1 + i]);
		off += 1 + (size_t)l;
	}
	return -1;
}

/*
 * Where names start, for wire_check_message(): one bit per byte of the
 * message, set at every label and pointer of every name walked so far.
 */
struct name_marks {
	uint8_t bit[WIRE_MAX_MSG / 8 + 1];
};

static void mark(struct name_marks *m, size_t off) { m->bit[off >> 3] |= (uint8_t)(1u << (off & 7)); }
static int marked(const struct name_marks *m, size_t off) { return m->bit[off >> 3] >> (off & 7) & 1; }

/*
 * A name at off that expands cleanly and whose compression pointer, if any,
 * lands on a label of a name already walked (RFC 1035 4.1.4: a pointer
 * stands for "a prior occurrence of the same name").  A pointer into other
 * bytes -- a TTL, a type, RDATA that is not a name -- reads as a name only
 * until those bytes change, and the cache rewrites TTLs: the same message
 * served again would be malformed.  Marks the name's own labels.  Returns
 * the offset after the name, else 0.
 */
static size_t check_name(const uint8_t *pkt, size_t len, size_t off, struct name_marks *m)
{
	uint8_t tmp[WIRE_MAX_NAME];
	if (wire_read_name(pkt, len, off, tmp) < 0)
		return 0;
	/* wire_read_name checked every label and pointer in bounds */
	for (;;) {
		uint8_t l = pkt[off];
		mark(m, off);
		if ((l & 0xc0) == 0xc0)
			return marked(m, ((size_t)(l & 0x3f) << 8) | pkt[off + 1]) ? off + 2 : 0;
		if (l == 0)
			return off + 1;
		off += 1 + (size_t)l;
	}
}

/* The names inside the RDATA at [rd, end) of type: NULL when they fit. */
static const char *check_rdata(const uint8_t *pkt, struct name_marks *m, uint16_t type, size_t rd, size_t end)
{
	size_t off;
	switch (type) {
	case TYPE_NS:
	case TYPE_CNAME:
	case TYPE_PTR:
	case 39: /* DNAME */
		off = check_name(pkt, end, rd, m);
		return off == end ? NULL : "bad name in RDATA";
	case TYPE_MX:
		if (rd + 2 > end)
			return "RDATA too short";
		off = check_name(pkt, end, rd + 2, m);
		return off == end ? NULL : "bad name in RDATA";
	case TYPE_SRV:
		if (rd + 6 > end)
			return "RDATA too short";
		off = check_name(pkt, end, rd + 6, m);
		return off == end ? NULL : "bad name in RDATA";
	case TYPE_SOA:
		off = check_name(pkt, end, rd, m);
		if (off)
			off = check_name(pkt, end, off, m);
		return off && off + 20 == end ? NULL : "bad SOA RDATA";
	case TYPE_A:
		return end - rd == 4 ? NULL : "A RDATA is not 4 bytes";
	case TYPE_AAAA:
		return end - rd == 16 ? NULL : "AAAA RDATA is not 16 bytes";
	default:
		return NULL;
	}
}

const char *wire_check_message(const uint8_t *pkt, size_t len)
{
	size_t off = WIRE_HDR_LEN;
	unsigned qd, an_ns, rrs;
	struct name_marks m;

	if (len < WIRE_HDR_LEN)
		return "shorter than a header";
	if (len > WIRE_MAX_MSG)
		return "longer than a DNS message";
	memset(m.bit, 0, (len >> 3) + 1);
	qd = wire_get16(pkt + 4);
	an_ns = (unsigned)wire_get16(pkt + 6) + wire_get16(pkt + 8);
	rrs = an_ns + wire_get16(pkt + 10);
	for (unsigned i = 0; i < qd; i++) {
		off = check_name(pkt, len, off, &m);
		if (off == 0 || off + 4 > len)
			return "malformed or truncated question";
		off += 4;
	}
	for (unsigned i = 0; i < rrs; i++) {
		if (off >= len)
			return "fewer records than the section counts say";
		off = check_name(pkt, len, off, &m);
		if (off == 0)
			return "malformed owner name";
		if (off + 10 > len)
			return "truncated record";
		uint16_t type = wire_get16(pkt + off);
		size_t rd = off + 10, end = rd + wire_get16(pkt + off + 8);
		if (end > len)
			return "RDLENGTH past the end";
		/* the OPT pseudo-record belongs in the additional section only
		 * (RFC 6891 6.1.1); elsewhere a client may take it for data */
		if (type == TYPE_OPT && i < an_ns)
			return "OPT record outside the additional section";
		/* a name inside the RDATA may point back into the message, but
		 * its own labels must stay inside this record's RDATA */
		const char *why = check_rdata(pkt, &m, type, rd, end);
		if (why)
			return why;
		off = end;
	}
	if (off != len)
		return "bytes after the last record";
	return NULL;
}

uint32_t wire_hash(const uint8_t *data, size_t len)
{
	/* FNV-1a: names are short and already lower-cased, so a simple
	 * byte hash is both fast and well spread for open addressing. */
	uint32_t h = 2166136261u;
	for (size_t i = 0; i < len; i++) {
		h ^= data[i];
		h *= 16777619u;
	}
	return h;
}
