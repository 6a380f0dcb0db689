/*
 * edns.c -- EDNS hop by hop: query OPT parsing, DNS cookies, plinkfwd's own
 * OPT records toward clients and upstreams (see edns.h, docs/edns.md).
 * Nothing here allocates, reads the clock or keeps state.
 */
#include "edns.h"

#include <string.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include "siphash.h"

/* ------------------------------------------------------ message walking */

/* Skip one resource record at off: returns the offset after it, 0 when it
 * overruns.  *type, *name_end (offset of the TYPE field) and *rdlen are set. */
static size_t skip_rr(const uint8_t *msg, size_t len, size_t off, uint16_t *type, size_t *name_end,
		      uint16_t *rdlen)
{
	size_t n = wire_skip_name(msg, len, off);
	if (n == 0 || n + 10 > len)
		return 0;
	*type = wire_get16(msg + n);
	*name_end = n;
	*rdlen = wire_get16(msg + n + 8);
	if (n + 10 + *rdlen > len)
		return 0;
	return n + 10 + *rdlen;
}

/* Walk header, questions, answer and authority: *q_end is the offset after
 * the question section, *ar_off that of the additional section.  -1 when
 * msg cannot be walked. */
static int walk_to_additional(const uint8_t *msg, size_t len, size_t *q_end, size_t *ar_off)
{
	if (len < WIRE_HDR_LEN)
		return -1;
	size_t off = WIRE_HDR_LEN;
	unsigned qd = wire_get16(msg + 4);
	unsigned rrs = (unsigned)wire_get16(msg + 6) + wire_get16(msg + 8);
	for (unsigned i = 0; i < qd; i++) {
		size_t n = wire_skip_name(msg, len, off);
		if (n == 0 || n + 4 > len)
			return -1;
		off = n + 4;
	}
	*q_end = off;
	for (unsigned i = 0; i < rrs; i++) {
		uint16_t type, rdlen;
		size_t ne;
		off = skip_rr(msg, len, off, &type, &ne, &rdlen);
		if (off == 0)
			return -1;
	}
	*ar_off = off;
	return 0;
}

/* The RDATA (offset, length) of the first OPT record of msg: 1 found,
 * 0 none, -1 malformed.  *ext gets its extended-rcode byte. */
static int find_opt(const uint8_t *msg, size_t len, size_t *rd, uint16_t *rdlen, uint8_t *ext)
{
	size_t q_end, off;
	if (walk_to_additional(msg, len, &q_end, &off) < 0)
		return -1;
	unsigned ar = wire_get16(msg + 10);
	for (unsigned i = 0; i < ar; i++) {
		uint16_t type, rl;
		size_t ne;
		size_t next = skip_rr(msg, len, off, &type, &ne, &rl);
		if (next == 0)
			return -1;
		if (type == TYPE_OPT) {
			*rd = ne + 10;
			*rdlen = rl;
			if (ext)
				*ext = msg[ne + 4];
			return 1;
		}
		off = next;
	}
	return 0;
}

/* ------------------------------------------------------------- parsing */

enum edns_verdict edns_parse(const struct wire_query *q, struct edns_query *e)
{
	memset(e, 0, sizeof(*e));
	if (!q->has_edns || q->opt_off == 0)
		return EDNS_OK;
	const uint8_t *pkt = q->pkt;
	size_t o = q->opt_off;
	size_t rd = o + EDNS_OPT_HDR_LEN;
	size_t end = rd + q->opt_rdlen;
	if (end > q->len)
		return EDNS_FORMERR; /* cannot happen after wire_parse_query */
	e->present = 1;
	e->udp_size = wire_get16(pkt + o + 3);
	e->version = pkt[o + 6];
	e->do_bit = (pkt[o + 7] & 0x80) ? 1 : 0;

	int malformed = 0;
	while (rd < end) {
		if (rd + 4 > end)
			goto formerr; /* option header cut short */
		uint16_t code = wire_get16(pkt + rd);
		uint16_t olen = wire_get16(pkt + rd + 2);
		rd += 4;
		if (rd + olen > end)
			goto formerr; /* option data overruns the RDATA */
		e->nopts++;
		switch (code) {
		case EDNS_OPT_NSID: e->seen |= EDNS_SEEN_NSID; break;
		case EDNS_OPT_ECS: e->seen |= EDNS_SEEN_ECS; break;
		case EDNS_OPT_EXPIRE: e->seen |= EDNS_SEEN_EXPIRE; break;
		case EDNS_OPT_KEEPALIVE: e->seen |= EDNS_SEEN_KEEPALIVE; break;
		case EDNS_OPT_PADDING: e->seen |= EDNS_SEEN_PADDING; break;
		case EDNS_OPT_EDE: e->seen |= EDNS_SEEN_EDE; break;
		case EDNS_OPT_COOKIE:
			if (!(e->seen & EDNS_SEEN_COOKIE)) {
				/* RFC 7873 5.2.2: 8 (client only) or 16..40 */
				if (olen != EDNS_CLIENT_COOKIE_LEN &&
				    (olen < EDNS_CLIENT_COOKIE_LEN + 8 || olen > EDNS_COOKIE_MAX_LEN))
					malformed = 1;
				else {
					e->cookie_off = rd;
					e->cookie_len = (uint8_t)olen;
				}
			}
			e->seen |= EDNS_SEEN_COOKIE;
			break;
		default: e->seen |= EDNS_SEEN_UNKNOWN; break;
		}
		rd += olen;
	}
	if (malformed)
		goto formerr;
	return e->version != 0 ? EDNS_BADVERS : EDNS_OK;
formerr:
	/* nothing of a broken OPT is trusted: no cookie goes back */
	e->cookie_off = 0;
	e->cookie_len = 0;
	return EDNS_FORMERR;
}

/* ------------------------------------------------------------- cookies */

void edns_cookie_secret_init(struct edns_cookie_secret *s, const uint8_t secret[EDNS_COOKIE_SECRET_LEN],
			     uint32_t period, uint64_t now)
{
	memset(s, 0, sizeof(*s));
	memcpy(s->cur, secret, EDNS_COOKIE_SECRET_LEN);
	s->cur_since = now;
	s->period = (period && period < EDNS_COOKIE_ROTATE_MIN) ? EDNS_COOKIE_ROTATE_MIN : period;
}

int edns_cookie_secret_due(const struct edns_cookie_secret *s, uint64_t now)
{
	return s->period != 0 && now >= s->cur_since && now - s->cur_since >= s->period;
}

int edns_cookie_secret_rotate(struct edns_cookie_secret *s, const uint8_t fresh[EDNS_COOKIE_SECRET_LEN],
			      uint64_t now)
{
	if (!edns_cookie_secret_due(s, now))
		return 0;
	memcpy(s->prev, s->cur, EDNS_COOKIE_SECRET_LEN);
	memcpy(s->cur, fresh, EDNS_COOKIE_SECRET_LEN);
	s->has_prev = 1;
	s->cur_since = now;
	return 1;
}

void edns_cookie_keys_init(struct edns_cookie_keys *k, const uint8_t secret[EDNS_COOKIE_SECRET_LEN],
			   uint32_t period, uint64_t now)
{
	memset(k, 0, sizeof(*k));
	edns_cookie_secret_init(&k->slot[0], secret, period, now);
	__atomic_store_n(&k->cur, 0u, __ATOMIC_RELEASE);
}

int edns_cookie_keys_rotate(struct edns_cookie_keys *k, const uint8_t fresh[EDNS_COOKIE_SECRET_LEN],
			    uint64_t now)
{
	unsigned cur = __atomic_load_n(&k->cur, __ATOMIC_ACQUIRE);
	if (!edns_cookie_secret_due(&k->slot[cur], now))
		return 0;
	k->slot[cur ^ 1u] = k->slot[cur];
	edns_cookie_secret_rotate(&k->slot[cur ^ 1u], fresh, now);
	__atomic_store_n(&k->cur, cur ^ 1u, __ATOMIC_RELEASE);
	return 1;
}

const struct edns_cookie_secret *edns_cookie_keys_current(const struct edns_cookie_keys *k)
{
	return &k->slot[__atomic_load_n(&k->cur, __ATOMIC_ACQUIRE) & 1u];
}

size_t edns_addr_bytes(const struct sockaddr *sa, const uint8_t **ip)
{
	static const uint8_t mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
	if (sa->sa_family == AF_INET) {
		*ip = (const uint8_t *)&((const struct sockaddr_in *)(const void *)sa)->sin_addr;
		return 4;
	}
	if (sa->sa_family == AF_INET6) {
		const uint8_t *a = (const uint8_t *)&((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr;
		if (memcmp(a, mapped, sizeof mapped) == 0) {
			*ip = a + 12;
			return 4;
		}
		*ip = a;
		return 16;
	}
	*ip = NULL;
	return 0;
}

/* SipHash-2-4(key, cc | version | reserved | timestamp | ip): hdr is the
 * server cookie's first 8 bytes. */
static void cookie_hash(const uint8_t key[EDNS_COOKIE_SECRET_LEN], const uint8_t *cc, const uint8_t *hdr,
			const uint8_t *ip, size_t iplen, uint8_t out[8])
{
	uint8_t buf[EDNS_CLIENT_COOKIE_LEN + 8 + 16];
	if (iplen > 16)
		iplen = 16;
	memcpy(buf, cc, EDNS_CLIENT_COOKIE_LEN);
	memcpy(buf + 8, hdr, 8);
	if (iplen)
		memcpy(buf + 16, ip, iplen);
	siphash24(key, buf, 16 + iplen, out);
}

void edns_server_cookie(const uint8_t key[EDNS_COOKIE_SECRET_LEN], const uint8_t cc[EDNS_CLIENT_COOKIE_LEN],
			uint32_t ts, const uint8_t *ip, size_t iplen, uint8_t out[EDNS_SERVER_COOKIE_LEN])
{
	out[0] = 1; /* version */
	out[1] = out[2] = out[3] = 0;
	wire_put32(out + 4, ts);
	cookie_hash(key, cc, out, ip, iplen, out + 8);
}

/* constant time: how many bytes differ must not leak through timing */
static int same8(const uint8_t *a, const uint8_t *b)
{
	uint8_t d = 0;
	for (int i = 0; i < 8; i++)
		d |= (uint8_t)(a[i] ^ b[i]);
	return d == 0;
}

enum edns_cookie_status edns_cookie_check(const struct edns_cookie_secret *s, const uint8_t *cookie,
					  size_t len, const uint8_t *ip, size_t iplen, uint64_t now,
					  int *with_cur)
{
	uint8_t h[8];
	if (with_cur)
		*with_cur = 0;
	if (!s || !cookie || len < EDNS_CLIENT_COOKIE_LEN)
		return EDNS_COOKIE_NONE;
	if (len == EDNS_CLIENT_COOKIE_LEN)
		return EDNS_COOKIE_CLIENT_ONLY;
	const uint8_t *sc = cookie + EDNS_CLIENT_COOKIE_LEN;
	if (len != EDNS_COOKIE_LEN || sc[0] != 1)
		return EDNS_COOKIE_BAD; /* not an RFC 9018 cookie: not one of ours */
	/* serial number arithmetic: the timestamp wraps every 136 years */
	int32_t age = (int32_t)((uint32_t)now - wire_get32(sc + 4));
	if (age > EDNS_COOKIE_MAX_AGE || age < -EDNS_COOKIE_MAX_SKEW)
		return EDNS_COOKIE_BAD;
	cookie_hash(s->cur, cookie, sc, ip, iplen, h);
	if (same8(h, sc + 8)) {
		if (with_cur)
			*with_cur = 1;
		return EDNS_COOKIE_VALID;
	}
	if (s->has_prev) {
		cookie_hash(s->prev, cookie, sc, ip, iplen, h);
		if (same8(h, sc + 8))
			return EDNS_COOKIE_VALID;
	}
	return EDNS_COOKIE_BAD;
}

enum edns_action edns_client_init(const struct wire_query *q, const struct edns_query *e,
				  const struct edns_cookie_params *p, struct edns_client *c)
{
	memset(c, 0, sizeof(*c));
	if (!q->has_edns || !e->present)
		return EDNS_ANSWER;
	c->has_edns = 1;
	c->do_bit = e->do_bit;
	c->nsid = (e->seen & EDNS_SEEN_NSID) ? 1 : 0;
	c->udp_size = q->edns_udp;
	if (!p || !p->secret || e->cookie_off == 0 || e->cookie_off + e->cookie_len > q->len)
		return EDNS_ANSWER; /* no cookie, or cookies off: the option is ignored */

	const uint8_t *ck = q->pkt + e->cookie_off;
	int with_cur;
	enum edns_cookie_status st =
		edns_cookie_check(p->secret, ck, e->cookie_len, p->ip, p->iplen, p->now, &with_cur);
	memcpy(c->cookie_data, ck, EDNS_CLIENT_COOKIE_LEN);
	int32_t age = st == EDNS_COOKIE_VALID ? (int32_t)((uint32_t)p->now - wire_get32(ck + 12)) : 0;
	if (st == EDNS_COOKIE_VALID && with_cur && age >= 0 && age < EDNS_COOKIE_REISSUE)
		memcpy(c->cookie_data + EDNS_CLIENT_COOKIE_LEN, ck + EDNS_CLIENT_COOKIE_LEN,
		       EDNS_SERVER_COOKIE_LEN); /* still fresh: the client keeps it */
	else
		edns_server_cookie(p->secret->cur, ck, (uint32_t)p->now, p->ip, p->iplen,
				   c->cookie_data + EDNS_CLIENT_COOKIE_LEN);
	c->cookie_len = EDNS_COOKIE_LEN;
	c->cookie = (uint8_t)st;
	if (!p->tcp && p->required_udp && st != EDNS_COOKIE_VALID)
		return EDNS_BADCOOKIE;
	return EDNS_ANSWER;
}

int edns_cookie_only_query(const struct wire_query *q, const struct edns_query *e, enum edns_verdict ev)
{
	return q->qdcount == 0 && q->ancount == 0 && q->nscount == 0 && WIRE_OPCODE(q->flags) == 0 &&
	       ev == EDNS_OK && e->present && e->cookie_len > 0;
}

/* ---------------------------------------------------------------- EDE */

static int ede_add_n(struct edns_ede_list *l, uint16_t code, const uint8_t *text, size_t tlen)
{
	if (l->n >= EDNS_EDE_MAX)
		return -1;
	if (tlen > EDNS_EDE_TEXT_MAX) {
		/* cut before a UTF-8 continuation byte, never inside a character */
		tlen = EDNS_EDE_TEXT_MAX;
		while (tlen > 0 && (text[tlen] & 0xc0) == 0x80)
			tlen--;
	}
	struct edns_ede *d = &l->e[l->n++];
	d->code = code;
	d->text_len = (uint8_t)tlen;
	if (tlen)
		memcpy(d->text, text, tlen);
	return 0;
}

int edns_ede_add(struct edns_ede_list *l, uint16_t code, const char *text)
{
	return ede_add_n(l, code, (const uint8_t *)text, text ? strlen(text) : 0);
}

int edns_ede_extract(const uint8_t *msg, size_t len, struct edns_ede_list *l)
{
	size_t q_end, off;
	int added = 0;
	if (walk_to_additional(msg, len, &q_end, &off) < 0)
		return -1;
	unsigned ar = wire_get16(msg + 10);
	for (unsigned i = 0; i < ar; i++) {
		uint16_t type, rl;
		size_t ne;
		size_t next = skip_rr(msg, len, off, &type, &ne, &rl);
		if (next == 0)
			return -1;
		if (type == TYPE_OPT) {
			size_t rd = ne + 10, end = rd + rl;
			while (rd + 4 <= end) {
				uint16_t code = wire_get16(msg + rd), olen = wire_get16(msg + rd + 2);
				if (rd + 4 + olen > end)
					return -1;
				if (code == EDNS_OPT_EDE && olen >= 2 &&
				    ede_add_n(l, wire_get16(msg + rd + 4), msg + rd + 6, olen - 2u) == 0)
					added++;
				rd += 4u + olen;
			}
		}
		off = next;
	}
	return added;
}

/* ------------------------------------------------------------- replies */

static size_t ede_list_len(const struct edns_ede_list *l)
{
	size_t n = 0;
	if (l)
		for (unsigned i = 0; i < l->n && i < EDNS_EDE_MAX; i++)
			n += 6u + l->e[i].text_len;
	return n;
}

static int want_nsid(const struct edns_reply *r)
{
	return r->client->nsid && r->nsid && r->nsid_len > 0;
}

/* Size of our OPT for r (client has EDNS). */
static size_t opt_len(const struct edns_reply *r)
{
	size_t n = EDNS_OPT_HDR_LEN;
	if (r->client->cookie_len)
		n += 4u + r->client->cookie_len;
	if (want_nsid(r))
		n += 4u + r->nsid_len;
	return n + ede_list_len(r->ede) + ede_list_len(r->upstream_ede);
}

static uint8_t *put_option(uint8_t *p, uint16_t code, const void *data, size_t len)
{
	wire_put16(p, code);
	wire_put16(p + 2, (uint16_t)len);
	if (len)
		memcpy(p + 4, data, len);
	return p + 4 + len;
}

static uint8_t *put_ede_list(uint8_t *p, const struct edns_ede_list *l)
{
	if (!l)
		return p;
	for (unsigned i = 0; i < l->n && i < EDNS_EDE_MAX; i++) {
		wire_put16(p, EDNS_OPT_EDE);
		wire_put16(p + 2, (uint16_t)(2u + l->e[i].text_len));
		wire_put16(p + 4, l->e[i].code);
		memcpy(p + 6, l->e[i].text, l->e[i].text_len);
		p += 6u + l->e[i].text_len;
	}
	return p;
}

/* Write our OPT (opt_len(r) bytes) at out. */
static void put_our_opt(uint8_t *out, const struct edns_reply *r, int rcode)
{
	size_t total = opt_len(r);
	out[0] = 0; /* root owner */
	wire_put16(out + 1, TYPE_OPT);
	wire_put16(out + 3, r->udp_size ? r->udp_size : WIRE_EDNS_UDP);
	out[5] = (uint8_t)((rcode >> 4) & 0xff); /* extended rcode, upper 8 bits */
	out[6] = 0;                              /* version 0 */
	out[7] = r->client->do_bit ? 0x80 : 0;
	out[8] = 0;
	wire_put16(out + 9, (uint16_t)(total - EDNS_OPT_HDR_LEN));
	uint8_t *p = out + EDNS_OPT_HDR_LEN;
	if (r->client->cookie_len)
		p = put_option(p, EDNS_OPT_COOKIE, r->client->cookie_data, r->client->cookie_len);
	if (want_nsid(r))
		p = put_option(p, EDNS_OPT_NSID, r->nsid, r->nsid_len);
	p = put_ede_list(p, r->ede);
	(void)put_ede_list(p, r->upstream_ede);
}

/*
 * Is the additional record at off (type at name_end), found after the
 * first OPT (at opt_at), safe to move down over the removed OPT?  Only
 * A/AAAA (no names in the RDATA) whose owner does not point at or behind
 * the OPT: nothing that moves can be the target of its pointer.
 */
static int keep_after_opt(const uint8_t *msg, size_t off, size_t name_end, uint16_t type, size_t opt_at)
{
	if (type != TYPE_A && type != TYPE_AAAA)
		return 0;
	for (size_t i = off; i < name_end;) {
		uint8_t l = msg[i];
		if ((l & 0xc0) == 0xc0)
			return ((((size_t)l & 0x3f) << 8) | msg[i + 1]) < opt_at;
		if (l == 0)
			break;
		i += 1u + l;
	}
	return 1;
}

size_t edns_finish_reply(uint8_t *msg, size_t len, size_t cap, size_t limit, const struct edns_reply *r)
{
	size_t max = (limit && limit < cap) ? limit : cap;
	size_t q_end, ar_off;

	if (!msg || !r || len < WIRE_HDR_LEN || len > cap || walk_to_additional(msg, len, &q_end, &ar_off) < 0)
		return 0;
	unsigned ar = wire_get16(msg + 10);

	/* pass 1: what goes (OPT records, and what cannot move past them) */
	size_t off = ar_off, removed = 0, opt_at = 0;
	unsigned nremoved = 0;
	uint8_t ext = 0;
	for (unsigned i = 0; i < ar; i++) {
		uint16_t type, rl;
		size_t ne;
		size_t next = skip_rr(msg, len, off, &type, &ne, &rl);
		if (next == 0)
			return 0;
		if (type == TYPE_OPT) {
			if (!opt_at) {
				opt_at = off;
				ext = msg[ne + 4];
			}
			removed += next - off;
			nremoved++;
		} else if (opt_at && !keep_after_opt(msg, off, ne, type, opt_at)) {
			removed += next - off;
			nremoved++;
		}
		off = next;
	}
	size_t end = off; /* anything after the last record is dropped */

	int has_opt = r->client && r->client->has_edns;
	int rcode = r->rcode >= 0 ? r->rcode : ((int)ext << 4) | (int)WIRE_RCODE(msg[3]);
	if (!has_opt && rcode > 15)
		rcode = RCODE_SERVFAIL; /* an extended rcode cannot reach a client without EDNS */
	size_t olen = has_opt ? opt_len(r) : 0;
	if (end - removed + olen > max || (has_opt && olen - EDNS_OPT_HDR_LEN > 0xffff))
		return 0;

	/* pass 2: move the kept records down over the removed ones */
	size_t dst = ar_off;
	off = ar_off;
	if (opt_at) {
		size_t first_opt = opt_at;
		opt_at = 0;
		for (unsigned i = 0; i < ar; i++) {
			uint16_t type, rl;
			size_t ne;
			size_t next = skip_rr(msg, len, off, &type, &ne, &rl);
			int keep;
			if (type == TYPE_OPT) {
				opt_at = first_opt;
				keep = 0;
			} else {
				keep = !opt_at || keep_after_opt(msg, off, ne, type, opt_at);
			}
			if (keep) {
				if (dst != off)
					memmove(msg + dst, msg + off, next - off);
				dst += next - off;
			}
			off = next;
		}
	} else {
		dst = end;
	}

	uint16_t flags = wire_get16(msg + 2);
	flags = (uint16_t)((flags & ~r->flags_clear) | r->flags_set);
	flags = (uint16_t)((flags & ~0xfu) | (unsigned)(rcode & 0xf));
	wire_put16(msg + 2, flags);
	wire_put16(msg + 10, (uint16_t)(ar - nremoved + (has_opt ? 1 : 0)));
	if (has_opt)
		put_our_opt(msg + dst, r, rcode);
	return dst + olen;
}

/* edns_finish_reply(), giving up EDE and then NSID to fit. */
static size_t finish_degrading(uint8_t *msg, size_t len, size_t cap, size_t limit, const struct edns_reply *r)
{
	struct edns_reply d = *r;
	size_t n = edns_finish_reply(msg, len, cap, limit, &d);
	if (n)
		return n;
	d.ede = d.upstream_ede = NULL;
	if ((n = edns_finish_reply(msg, len, cap, limit, &d)) != 0)
		return n;
	d.nsid = NULL;
	d.nsid_len = 0;
	return edns_finish_reply(msg, len, cap, limit, &d);
}

size_t edns_truncate_reply(uint8_t *msg, size_t len, size_t cap, size_t limit, const struct edns_reply *r)
{
	size_t q_end = WIRE_HDR_LEN;
	size_t rd;
	uint16_t rdlen;
	uint8_t ext = 0;
	struct edns_reply d;

	if (!msg || !r || len < WIRE_HDR_LEN || len > cap)
		return 0;
	/* the question section, which must be readable */
	unsigned qd = wire_get16(msg + 4);
	for (unsigned i = 0; i < qd; i++) {
		size_t n = wire_skip_name(msg, len, q_end);
		if (n == 0 || n + 4 > len)
			return 0;
		q_end = n + 4;
	}
	d = *r;
	if (d.rcode < 0) {
		if (find_opt(msg, len, &rd, &rdlen, &ext) != 1)
			ext = 0;
		d.rcode = ((int)ext << 4) | (int)WIRE_RCODE(msg[3]);
	}
	wire_put16(msg + 2, (uint16_t)(wire_get16(msg + 2) | WIRE_TC));
	wire_put16(msg + 6, 0);
	wire_put16(msg + 8, 0);
	wire_put16(msg + 10, 0);
	return finish_degrading(msg, q_end, cap, limit, &d);
}

uint16_t edns_error_flags(uint16_t qflags, int rcode, int ra)
{
	uint16_t f = (uint16_t)(WIRE_QR | (qflags & 0x7800u) | (unsigned)(rcode & 0xf));
	if (rcode == RCODE_NOTIMP)
		return f; /* nothing of the request echoed, no RA */
	f |= qflags & (WIRE_RD | WIRE_CD);
	if (ra)
		f |= WIRE_RA;
	return f;
}

size_t edns_reply_error(const struct wire_query *q, int rcode, int ra, const struct edns_reply *r,
			uint8_t *out, size_t cap)
{
	size_t qlen = q->q_end > WIRE_HDR_LEN ? q->q_end - WIRE_HDR_LEN : 0;
	struct edns_reply d;
	struct edns_client bare;

	if (cap < WIRE_HDR_LEN + qlen)
		return 0;
	wire_put_header(out, q->id, edns_error_flags(q->flags, rcode, ra), qlen ? 1 : 0, 0, 0, 0);
	memcpy(out + WIRE_HDR_LEN, q->pkt + WIRE_HDR_LEN, qlen);
	if (r)
		d = *r;
	else
		memset(&d, 0, sizeof d);
	/* r->client, when given, says what the client sent (q may be a parse
	 * of the query plinkfwd sent upstream); else q does */
	if (d.client ? (!d.client->has_edns && rcode > 15) : (q->has_edns || rcode > 15)) {
		memset(&bare, 0, sizeof bare);
		bare.has_edns = 1;
		bare.do_bit = d.client ? d.client->do_bit : q->do_bit;
		d.client = &bare;
	}
	d.rcode = rcode;
	d.flags_clear = d.flags_set = 0;
	return finish_degrading(out, WIRE_HDR_LEN + qlen, cap, 0, &d);
}

/* ----------------------------------------------------------- upstreams */

size_t edns_build_upstream_query(const struct wire_query *q, uint16_t id, uint16_t udp_size,
				 const uint8_t *cookie, size_t cookie_len, uint8_t *out, size_t cap)
{
	if (q->qdcount != 1 || q->q_end <= WIRE_HDR_LEN || q->q_end > q->len)
		return 0;
	if (!cookie)
		cookie_len = 0;
	if (cookie_len && cookie_len != EDNS_CLIENT_COOKIE_LEN &&
	    (cookie_len < EDNS_CLIENT_COOKIE_LEN + 8 || cookie_len > EDNS_COOKIE_MAX_LEN))
		return 0;
	size_t qlen = q->q_end - WIRE_HDR_LEN;
	size_t olen = EDNS_OPT_HDR_LEN + (cookie_len ? 4 + cookie_len : 0);
	if (cap < WIRE_HDR_LEN + qlen + olen)
		return 0;
	/* opcode QUERY; RD, CD and AD (RFC 6840 5.7) as the client asked */
	wire_put_header(out, id, (uint16_t)(q->flags & (WIRE_RD | WIRE_CD | WIRE_AD)), 1, 0, 0, 1);
	memcpy(out + WIRE_HDR_LEN, q->pkt + WIRE_HDR_LEN, qlen);
	uint8_t *o = out + WIRE_HDR_LEN + qlen;
	o[0] = 0;
	wire_put16(o + 1, TYPE_OPT);
	wire_put16(o + 3, udp_size ? udp_size : WIRE_EDNS_UDP);
	o[5] = 0;
	o[6] = 0;
	o[7] = q->do_bit ? 0x80 : 0;
	o[8] = 0;
	wire_put16(o + 9, (uint16_t)(olen - EDNS_OPT_HDR_LEN));
	if (cookie_len)
		put_option(o + EDNS_OPT_HDR_LEN, EDNS_OPT_COOKIE, cookie, cookie_len);
	return WIRE_HDR_LEN + qlen + olen;
}

int edns_find_option(const uint8_t *msg, size_t len, uint16_t code, const uint8_t **data, uint16_t *dlen)
{
	size_t rd;
	uint16_t rdlen;
	int f = find_opt(msg, len, &rd, &rdlen, NULL);
	if (f <= 0)
		return f;
	size_t end = rd + rdlen;
	while (rd + 4 <= end) {
		uint16_t c = wire_get16(msg + rd), olen = wire_get16(msg + rd + 2);
		if (rd + 4 + olen > end)
			return -1;
		if (c == code) {
			*data = msg + rd + 4;
			*dlen = olen;
			return 1;
		}
		rd += 4u + olen;
	}
	return rd == end ? 0 : -1;
}
