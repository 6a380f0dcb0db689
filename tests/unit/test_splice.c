/*
 * test_splice.c -- CNAME chain cutting and spliced reply building on
 * hand-built wire messages (compressed the way real servers compress), with
 * ldns as an independent parser of what splice.c writes.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ldns/ldns.h>

#include "cont.h"
#include "dnsmsg.h"
#include "log.h"
#include "splice.h"
#include "tap.h"
#include "wire.h"

/* labels then a pointer: "acct.privatelink" + ptr */
static size_t put_labels_ptr(struct msg *m, const char *labels, size_t ptr)
{
	size_t at = m->n;
	put_labels(m, labels);
	put16(m, (uint16_t)(0xc000 | ptr));
	return at;
}
static void put_ptr(struct msg *m, size_t ptr) { put16(m, (uint16_t)(0xc000 | ptr)); }

static void header(struct msg *m, uint16_t flags, uint16_t an, uint16_t ns, uint16_t ar)
{
	m->n = 0;
	put16(m, 0x5555);
	put16(m, (uint16_t)(WIRE_QR | WIRE_RD | WIRE_RA | flags));
	put16(m, 1);
	put16(m, an);
	put16(m, ns);
	put16(m, ar);
}

/* RR header after an owner already written; returns where RDLENGTH goes */
static size_t rr_head(struct msg *m, uint16_t type, uint32_t ttl)
{
	put16(m, type);
	put16(m, CLASS_IN);
	put32(m, ttl);
	size_t at = m->n;
	put16(m, 0);
	return at;
}
static void rr_end(struct msg *m, size_t at) { wire_put16(m->b + at, (uint16_t)(m->n - at - 2)); }

static const char *OWNED_SUFFIX = "privatelink.openai.azure.com";

/* owned: at or below privatelink.openai.azure.com */
static int owned_pl(void *ctx, const uint8_t *name, size_t len)
{
	uint8_t suf[WIRE_MAX_NAME];
	int sl = wire_name_from_text(OWNED_SUFFIX, suf);
	int *calls = ctx;
	(*calls)++;
	if ((size_t)sl > len)
		return 0;
	size_t p = 0;
	while (len - p > (size_t)sl)
		p += 1u + name[p];
	return len - p == (size_t)sl && memcmp(name + p, suf, (size_t)sl) == 0;
}

/*
 * The Azure chain, compressed as NSD writes it:
 *   Acct.OpenAI.Azure.com CNAME acct.privatelink.<ptr openai.azure.com>
 *   acct.privatelink...   CNAME x.cloudapp.net
 *   x.cloudapp.net        A     192.0.2.10
 * with the records in the order given by `order` (0,1,2 or shuffled).
 */
static void azure_chain(struct msg *m, const int order[3])
{
	size_t rd, q_openai;
	header(m, 0, 3, 0, 0);
	put_name_case(m, "Acct.OpenAI.Azure.com");
	put16(m, TYPE_A);
	put16(m, CLASS_IN);
	q_openai = WIRE_HDR_LEN + 5; /* "OpenAI.Azure.com" inside the question */
	for (int k = 0; k < 3; k++) {
		int r = order[k];
		if (r == 0) {
			put_ptr(m, WIRE_HDR_LEN);
			rd = rr_head(m, TYPE_CNAME, 300);
			put_labels_ptr(m, "acct.privatelink", q_openai);
			rr_end(m, rd);
		} else if (r == 1) {
			/* owner written out (the target may come later in the message) */
			put_labels_ptr(m, "acct.privatelink", q_openai);
			rd = rr_head(m, TYPE_CNAME, 300);
			put_name_case(m, "x.cloudapp.net");
			rr_end(m, rd);
		} else {
			put_name_case(m, "x.cloudapp.net");
			rd = rr_head(m, TYPE_A, 300);
			put8(m, 192);
			put8(m, 0);
			put8(m, 2);
			put8(m, 10);
			rr_end(m, rd);
		}
	}
}

static ldns_pkt *ldns_parse(const uint8_t *b, size_t n)
{
	ldns_pkt *p = NULL;
	if (ldns_wire2pkt(&p, b, n) != LDNS_STATUS_OK)
		return NULL;
	return p;
}

static char *rr_text(ldns_rr_list *l, size_t i)
{
	static char buf[512];
	char *s = ldns_rr2str(ldns_rr_list_rr(l, i));
	snprintf(buf, sizeof(buf), "%s", s ? s : "(null)");
	free(s);
	size_t n = strlen(buf);
	while (n && (buf[n - 1] == '\n'))
		buf[--n] = '\0';
	for (char *c = buf; *c; c++)
		if (*c == '\t')
			*c = ' ';
	return buf;
}

static void query_for(const char *name, uint16_t type, int edns, int do_bit, struct msg *qm,
		      struct wire_query *q)
{
	qm->n = 0;
	put16(qm, 0x7777);
	put16(qm, WIRE_RD);
	put16(qm, 1);
	put16(qm, 0);
	put16(qm, 0);
	put16(qm, edns ? 1 : 0);
	put_name_case(qm, name);
	put16(qm, type);
	put16(qm, CLASS_IN);
	if (edns) {
		put8(qm, 0);
		put16(qm, TYPE_OPT);
		put16(qm, 1232);
		put32(qm, do_bit ? 0x8000 : 0);
		put16(qm, 0);
	}
	if (wire_parse_query(qm->b, qm->n, q) != WIRE_OK) {
		printf("Bail out! query does not parse\n");
		exit(1);
	}
}

/* splice_find_cut() as one value: 1 cut found, 0 none, or its error */
static int find_cut(const uint8_t *msg, size_t len, const uint8_t *qname, size_t qname_len, splice_owned_fn owned,
		    void *ctx, struct splice_cut *cut)
{
	enum fwd_err rc = splice_find_cut(msg, len, qname, qname_len, owned, ctx, cut);
	return rc != FWD_OK ? (int)rc : cut->found;
}

static void test_find(void)
{
	struct msg m;
	struct splice_cut cut;
	uint8_t qn[WIRE_MAX_NAME];
	int ql = wire_name_from_text("acct.openai.azure.com", qn);
	int calls = 0;
	char text[1025];
	static const int in_order[3] = {0, 1, 2}, shuffled[3] = {2, 1, 0};

	azure_chain(&m, in_order);
	is_int(find_cut(m.b, m.n, qn, (size_t)ql, owned_pl, &calls, &cut), 1, "Azure chain: cut found");
	is_int(cut.nsteps, 1, "one CNAME kept");
	is_str(wire_name_to_text(cut.target, text, sizeof(text)), "acct.privatelink.openai.azure.com.",
	       "target: the privatelink name (decompressed, lower-cased)");
	is_int(calls, 1, "owned() asked once: the cut is at the first owned target");
	ok(cut.has_cname, "has_cname set");

	azure_chain(&m, shuffled);
	calls = 0;
	is_int(find_cut(m.b, m.n, qn, (size_t)ql, owned_pl, &calls, &cut), 1, "records out of order: cut found");
	is_int(cut.nsteps, 1, "records out of order: one CNAME kept");

	OWNED_SUFFIX = "nothing.test";
	is_int(find_cut(m.b, m.n, qn, (size_t)ql, owned_pl, &calls, &cut), 0, "nothing owned: no cut");
	ok(cut.has_cname, "nothing owned: has_cname still tells there was a chain");
	OWNED_SUFFIX = "cloudapp.net";
	azure_chain(&m, in_order);
	is_int(find_cut(m.b, m.n, qn, (size_t)ql, owned_pl, &calls, &cut), 1, "owned further down: cut");
	is_int(cut.nsteps, 2, "owned further down: two CNAMEs kept");
	OWNED_SUFFIX = "privatelink.openai.azure.com";

	/* no CNAME at all */
	header(&m, 0, 1, 0, 0);
	put_name_case(&m, "plain.test");
	put16(&m, TYPE_A);
	put16(&m, CLASS_IN);
	put_ptr(&m, WIRE_HDR_LEN);
	size_t rd = rr_head(&m, TYPE_A, 60);
	put32(&m, 0xc0000201);
	rr_end(&m, rd);
	ql = wire_name_from_text("plain.test", qn);
	is_int(find_cut(m.b, m.n, qn, (size_t)ql, owned_pl, &calls, &cut), 0, "no CNAME: no cut");
	ok(!cut.has_cname, "no CNAME: has_cname clear");

	/* a loop a -> b -> a ends without a cut */
	header(&m, 0, 2, 0, 0);
	size_t qa = put_name_case(&m, "a.loop.test");
	put16(&m, TYPE_A);
	put16(&m, CLASS_IN);
	put_ptr(&m, qa);
	rd = rr_head(&m, TYPE_CNAME, 60);
	size_t bo = put_labels_ptr(&m, "b", qa + 2);
	rr_end(&m, rd);
	put_ptr(&m, bo);
	rd = rr_head(&m, TYPE_CNAME, 60);
	put_ptr(&m, qa);
	rr_end(&m, rd);
	ql = wire_name_from_text("a.loop.test", qn);
	is_int(find_cut(m.b, m.n, qn, (size_t)ql, owned_pl, &calls, &cut), 0, "CNAME loop: no cut, no hang");

	/* cut short */
	azure_chain(&m, in_order);
	ql = wire_name_from_text("acct.openai.azure.com", qn);
	is_int(find_cut(m.b, m.n - 20, qn, (size_t)ql, owned_pl, &calls, &cut), FWD_EPARSE, "truncated message: FWD_EPARSE");
}

static void test_multi_and_build(void)
{
	struct msg m, qm;
	struct wire_query q;
	struct splice_cut cut;
	uint8_t qn[WIRE_MAX_NAME], part[4096], out[4096];
	int calls = 0;

	/* multi.openai.azure.com CNAME hop.openai.azure.com CNAME acct2.privatelink... CNAME x.cloudapp.net A */
	header(&m, 0, 4, 0, 0);
	put_name_case(&m, "multi.openai.azure.com");
	put16(&m, TYPE_A);
	put16(&m, CLASS_IN);
	size_t oa = WIRE_HDR_LEN + 6; /* openai.azure.com */
	put_ptr(&m, WIRE_HDR_LEN);
	size_t rd = rr_head(&m, TYPE_CNAME, 300);
	size_t hop = put_labels_ptr(&m, "hop", oa);
	rr_end(&m, rd);
	put_ptr(&m, hop);
	rd = rr_head(&m, TYPE_CNAME, 200);
	size_t pl = put_labels_ptr(&m, "acct2.privatelink", oa);
	rr_end(&m, rd);
	put_ptr(&m, pl);
	rd = rr_head(&m, TYPE_CNAME, 300);
	size_t x = put_name_case(&m, "x.cloudapp.net");
	rr_end(&m, rd);
	put_ptr(&m, x);
	rd = rr_head(&m, TYPE_A, 300);
	put32(&m, 0xc000020a);
	rr_end(&m, rd);

	int ql = wire_name_from_text("multi.openai.azure.com", qn);
	is_int(find_cut(m.b, m.n, qn, (size_t)ql, owned_pl, &calls, &cut), 1, "multi-CNAME chain: cut");
	is_int(cut.nsteps, 2, "multi-CNAME chain: both public CNAMEs kept");

	query_for("MULTI.openai.azure.com", TYPE_A, 1, 1, &qm, &q);
	size_t cl = splice_copy_chain(m.b, m.n, &cut, q.qname, q.qname_len, part, sizeof(part));
	ok(cl > 0, "chain copied (%zu bytes)", cl);
	is_int(wire_get16(part), 0xc00c, "first owner = the question name: a pointer to the question");

	/* the private records, as zone_lookup_rrs writes them: uncompressed */
	struct msg pr;
	pr.n = 0;
	put_name_case(&pr, "acct2.privatelink.openai.azure.com");
	rd = rr_head(&pr, TYPE_A, 10);
	put32(&pr, 0x0a000006);
	rr_end(&pr, rd);
	memcpy(part + cl, pr.b, pr.n);

	size_t n = splice_assemble(&q, RCODE_NOERROR, part, cl + pr.n, (uint16_t)(cut.nsteps + 1), NULL, 0, 0,
				   out, sizeof(out));
	ok(n > 0, "assembled (%zu bytes)", n);
	ldns_pkt *p = ldns_parse(out, n);
	ok(p != NULL, "ldns parses the spliced reply");
	if (p) {
		ldns_rr_list *an = ldns_pkt_answer(p);
		is_int(ldns_rr_list_rr_count(an), 3, "three answer records");
		is_str(rr_text(an, 0), "MULTI.openai.azure.com. 10 IN CNAME hop.openai.azure.com.",
		       "1: the client's case, TTL = min of the parts (10)");
		is_str(rr_text(an, 1), "hop.openai.azure.com. 10 IN CNAME acct2.privatelink.openai.azure.com.",
		       "2: the second CNAME, expanded");
		is_str(rr_text(an, 2), "acct2.privatelink.openai.azure.com. 10 IN A 10.0.0.6", "3: the private A");
		is_int(ldns_pkt_id(p), 0x7777, "the client's ID");
		ok(ldns_pkt_qr(p) && ldns_pkt_ra(p) && ldns_pkt_rd(p) && !ldns_pkt_aa(p), "QR RA RD set, AA clear");
		ok(ldns_pkt_edns(p) && ldns_pkt_edns_do(p), "OPT with DO for an EDNS DO client");
		is_int(ldns_pkt_get_rcode(p), LDNS_RCODE_NOERROR, "NOERROR");
		ldns_pkt_free(p);
	}
	ok(strstr((char *)out, "cloudapp") == NULL && memmem(out, n, "cloudapp", 8) == NULL,
	   "nothing of the public tail in the bytes");
	is_int(splice_assemble(&q, RCODE_NOERROR, part, cl + pr.n, 3, NULL, 0, 0, out, 40), 0,
	       "no room: 0");
}

static void test_negative_and_section(void)
{
	struct msg m, qm;
	struct wire_query q;
	uint8_t an[2048], ns[2048], out[4096];
	uint16_t cnt = 0;

	/* a private NXDOMAIN reply: question, SOA in authority (compressed), OPT */
	header(&m, RCODE_NXDOMAIN, 0, 1, 1);
	size_t qo = put_name_case(&m, "missing.privatelink.openai.azure.com");
	put16(&m, TYPE_A);
	put16(&m, CLASS_IN);
	put_ptr(&m, qo + 8);
	size_t rd = rr_head(&m, TYPE_SOA, 10);
	size_t ns1 = put_labels_ptr(&m, "ns1.azure", qo + 8 + 12 + 7); /* ns1.azure.<azure.com> */
	put_labels_ptr(&m, "hostmaster", ns1 + 4);
	put32(&m, 1);
	put32(&m, 3600);
	put32(&m, 600);
	put32(&m, 86400);
	put32(&m, 5);
	rr_end(&m, rd);
	put8(&m, 0);
	put16(&m, TYPE_OPT);
	put16(&m, 1232);
	put32(&m, 0);
	put16(&m, 0);

	size_t nl = splice_copy_section(m.b, m.n, 2, TYPE_SOA, NULL, 0, ns, sizeof(ns), &cnt);
	is_int(cnt, 1, "authority: one SOA copied");
	size_t al = splice_copy_section(m.b, m.n, 1, 0, NULL, 0, an, sizeof(an), &cnt);
	is_int(al, 0, "empty answer section: nothing");
	is_int(cnt, 0, "empty answer section: count 0");
	size_t ol = splice_copy_section(m.b, m.n, 3, 0, NULL, 0, an, sizeof(an), &cnt);
	is_int(ol + cnt, 0, "additional: the OPT is never copied");

	/* chain: missing.openai.azure.com CNAME missing.privatelink.openai.azure.com */
	struct msg ch;
	ch.n = 0;
	put16(&ch, 0xc00c);
	rd = rr_head(&ch, TYPE_CNAME, 300);
	put_name_case(&ch, "missing.privatelink.openai.azure.com");
	rr_end(&ch, rd);

	query_for("missing.openai.azure.com", TYPE_A, 0, 0, &qm, &q);
	size_t n = splice_assemble(&q, RCODE_NXDOMAIN, ch.b, ch.n, 1, ns, nl, 1, out, sizeof(out));
	ldns_pkt *p = ldns_parse(out, n);
	ok(p != NULL, "negative spliced reply parses");
	if (p) {
		is_int(ldns_pkt_get_rcode(p), LDNS_RCODE_NXDOMAIN, "NXDOMAIN");
		is_str(rr_text(ldns_pkt_answer(p), 0),
		       "missing.openai.azure.com. 5 IN CNAME missing.privatelink.openai.azure.com.",
		       "the chain, TTL = min(300, SOA TTL 10, MINIMUM 5)");
		is_str(rr_text(ldns_pkt_authority(p), 0),
		       "privatelink.openai.azure.com. 5 IN SOA ns1.azure.azure.com. hostmaster.azure.azure.com. 1 3600 600 86400 5",
		       "the private SOA, names expanded");
		ok(!ldns_pkt_edns(p), "no OPT for a client without EDNS");
		ldns_pkt_free(p);
	}
}

static void test_copy_rr_types(void)
{
	struct msg m;
	uint8_t out[1024];
	size_t next;
	uint16_t type;

	/* MX and SRV with compressed names in RDATA */
	header(&m, 0, 2, 0, 0);
	size_t qo = put_name_case(&m, "svc.example.test");
	put16(&m, TYPE_MX);
	put16(&m, CLASS_IN);
	size_t r1 = m.n;
	put_ptr(&m, qo);
	size_t rd = rr_head(&m, TYPE_MX, 60);
	put16(&m, 10);
	put_labels_ptr(&m, "mail", qo + 4);
	rr_end(&m, rd);
	size_t r2 = m.n;
	put_ptr(&m, qo);
	rd = rr_head(&m, TYPE_SRV, 60);
	put16(&m, 1);
	put16(&m, 2);
	put16(&m, 443);
	put_labels_ptr(&m, "host", qo + 4);
	rr_end(&m, rd);

	size_t w = splice_copy_rr(m.b, m.n, r1, NULL, 0, out, sizeof(out), &next, &type);
	is_int(type, TYPE_MX, "MX copied");
	is_int(next, r2, "next points at the following record");
	ok(w > 0 && memmem(out, w, "\x04mail\x07" "example\x04test\x00", 19) != NULL, "MX exchange expanded");
	w = splice_copy_rr(m.b, m.n, r2, NULL, 0, out, sizeof(out), &next, &type);
	ok(w > 0 && memmem(out, w, "\x01\xbb\x04host\x07" "example", 14) != NULL, "SRV target expanded after port");
	is_int(next, m.n, "SRV: next is the end");
	is_int(splice_copy_rr(m.b, m.n, r2, NULL, 0, out, 20, &next, &type), 0, "no room: 0");
}

static void test_make_query_and_pool(void)
{
	uint8_t name[WIRE_MAX_NAME], pkt[WIRE_HDR_LEN + WIRE_MAX_NAME + 4 + 11];
	struct wire_query q;
	int l = wire_name_from_text("acct.privatelink.openai.azure.com", name);
	size_t n = splice_make_query(name, (size_t)l, TYPE_AAAA, 1, 1, pkt, sizeof(pkt));
	is_int(wire_parse_query(pkt, n, &q), WIRE_OK, "private query parses");
	is_int(q.qtype, TYPE_AAAA, "private query: the client's type");
	ok(q.has_edns && q.do_bit, "private query: EDNS with DO copied");
	ok(q.flags & WIRE_RD, "private query: RD set");

	struct cont_pool *p = cont_pool_new(2);
	struct query_step st;
	memset(&st, 0, sizeof(st));
	st.cl.id = 99;
	st.group = 3;
	st.cont = (struct query_cont *)p; /* any non-NULL value: the copy must clear it */
	struct query_cont *a = cont_new(p, &st, &q, (const uint8_t *)"pub", 3, (const uint8_t *)"ch", 2, 1);
	struct query_cont *b = cont_new(p, &st, &q, (const uint8_t *)"pub", 3, (const uint8_t *)"ch", 2, 1);
	ok(a && b, "two continuations");
	ok(cont_new(p, &st, &q, NULL, 0, NULL, 0, 0) == NULL, "a third one: over the cap, NULL");
	ok(a && a->step.cl.id == 99 && a->step.group == 3 && a->step.cont == NULL && a->pub_len == 3 &&
		   memcmp(a->pub, "pub", 3) == 0 && memcmp(a->chain, "ch", 2) == 0 && a->q.len == n &&
		   memcmp(a->query, pkt, n) == 0,
	   "continuation holds copies of the step, query, public reply and chain");
	ok(a && a->q.pkt == a->query && a->q.qtype == TYPE_AAAA && a->q.qname_len == q.qname_len,
	   "the parsed query is kept, pointing at the continuation's own copy");
	cont_free(p, a);
	ok(p->nlive == 1 && p->live == b, "freed one: one left");
	cont_pool_free(p); /* frees b too: the sanitizer build reports a leak otherwise */
}

int main(void)
{
	log_set_level(LOG_LVL_ERR);
	test_find();
	test_multi_and_build();
	test_negative_and_section();
	test_copy_rr_types();
	test_make_query_and_pool();
	return tap_done();
}
