/*
 * xfr_in_notify.c -- NOTIFY messages for secondary zones (RFC 1996), on a
 * worker's thread (xfr_in.h).  A NOTIFY is rare and comes from a primary,
 * so ldns reads it and builds the answer: this is not the query hot path.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <ldns/ldns.h>
#include <netinet/in.h>
#include <string.h>

#include "cfg_secondary.h"
#include "config.h"
#include "log.h"
#include "snapshot.h"
#include "tsig.h"
#include "xfr_in.h"

/* The answer to q with rcode; signed by ctx when it has a key, or with the
 * unsigned error TSIG of tsig_error (RFC 8945 5.3.2) when that is set. */
static size_t answer_tsig(const ldns_pkt *q, ldns_pkt_rcode rcode, struct tsig_ctx *ctx, uint16_t tsig_error,
			  uint8_t *out, size_t cap)
{
	ldns_pkt *r = ldns_pkt_new();
	uint8_t *wire = NULL;
	size_t wlen = 0, n = 0;

	if (!r)
		return 0;
	ldns_pkt_set_id(r, ldns_pkt_id(q));
	ldns_pkt_set_qr(r, true);
	ldns_pkt_set_opcode(r, LDNS_PACKET_NOTIFY);
	ldns_pkt_set_rcode(r, (uint8_t)rcode);
	/* RFC 1996 4.7: the answer is authoritative for the zone it is about */
	ldns_pkt_set_aa(r, rcode == LDNS_RCODE_NOERROR);
	ldns_rr_list *qs = ldns_pkt_question(q);
	for (size_t i = 0; qs && i < ldns_rr_list_rr_count(qs); i++) {
		ldns_rr *c = ldns_rr_clone(ldns_rr_list_rr(qs, i));
		if (!c || !ldns_pkt_push_rr(r, LDNS_SECTION_QUESTION, c)) {
			ldns_rr_free(c);
			ldns_pkt_free(r);
			return 0;
		}
	}
	if ((tsig_error && tsig_error_reply(r, q, tsig_error) != FWD_OK) || (ctx && tsig_sign(ctx, r) != FWD_OK)) {
		ldns_pkt_free(r);
		return 0;
	}
	if (ldns_pkt2wire(&wire, r, &wlen) == LDNS_STATUS_OK && wlen <= cap) {
		memcpy(out, wire, wlen);
		n = wlen;
	}
	LDNS_FREE(wire);
	ldns_pkt_free(r);
	return n;
}

static size_t answer(const ldns_pkt *q, ldns_pkt_rcode rcode, uint8_t *out, size_t cap)
{
	return answer_tsig(q, rcode, NULL, 0, out, cap);
}

static void from_text(const struct sockaddr_storage *ss, char *out, size_t len)
{
	if (ss->ss_family == AF_INET)
		inet_ntop(AF_INET, &((const struct sockaddr_in *)(const void *)ss)->sin_addr, out, (socklen_t)len);
	else
		inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)(const void *)ss)->sin6_addr, out, (socklen_t)len);
}

size_t xfr_in_notify_answer(void *arg, const struct snapshot *snap, const uint8_t *pkt, size_t len,
			    const struct sockaddr_storage *from, uint8_t *out, size_t cap)
{
	struct xfr_in *x = arg;
	ldns_pkt *q = NULL;
	char name[300] = "", addr[INET6_ADDRSTRLEN] = "?";
	size_t n;

	if (ldns_wire2pkt(&q, pkt, len) != LDNS_STATUS_OK)
		return 0; /* not even a header and question: NOTIMP, like any opcode */
	ldns_rr_list *qs = ldns_pkt_question(q);
	if (!qs || ldns_rr_list_rr_count(qs) != 1 || ldns_rr_get_class(ldns_rr_list_rr(qs, 0)) != LDNS_RR_CLASS_IN) {
		n = answer(q, LDNS_RCODE_FORMERR, out, cap);
		ldns_pkt_free(q);
		return n;
	}
	char *t = ldns_rdf2str(ldns_rr_owner(ldns_rr_list_rr(qs, 0)));
	if (t) {
		size_t i;
		for (i = 0; t[i] && i + 1 < sizeof(name); i++)
			name[i] = (char)tolower((unsigned char)t[i]);
		name[i] = '\0';
		LDNS_FREE(t);
	}
	from_text(from, addr, sizeof(addr));
	const struct cfg_zone *cz = NULL;
	for (size_t i = 0; i < snap->cfg->nzones; i++)
		if (snap->cfg->zones[i].nprimaries && strcmp(snap->cfg->zones[i].name, name) == 0)
			cz = &snap->cfg->zones[i];
	if (!cz) {
		/* not a secondary zone here: NOTIFY means nothing to plinkfwd
		 * for it, the NOTIMP every other opcode gets */
		ldns_pkt_free(q);
		return 0;
	}
	if (cfg_primary_find(cz->primaries, cz->nprimaries, (const struct sockaddr *)from) < 0) {
		if (xfr_in_refusal_log_ok(x))
			log_warn("xfr: NOTIFY for %s from %s refused: not one of the zone's primary: addresses", name,
				 addr);
		n = answer(q, LDNS_RCODE_REFUSED, out, cap);
		ldns_pkt_free(q);
		return n;
	}
	/* a primary with a key must sign its NOTIFY with it (RFC 8945) */
	const struct cfg_primary *pr = &cz->primaries[cfg_primary_find(cz->primaries, cz->nprimaries,
								      (const struct sockaddr *)from)];
	struct tsig_ctx ctx;
	uint16_t terr = 0;
	tsig_ctx_start(&ctx, NULL);
	if (pr->key) {
		if (tsig_check_request(snap->cfg, q, pkt, len, (int64_t)xfr_in_wall_s(x), &ctx, &terr) != FWD_OK) {
			ldns_pkt_free(q);
			return 0;
		}
		if (terr || !ctx.key || strcmp(ctx.key->name, pr->key) != 0) {
			if (xfr_in_refusal_log_ok(x))
				log_warn("xfr: NOTIFY for %s from %s refused: %s", name, addr,
					 terr ? "its TSIG does not verify" : "not signed with the primary's key");
			n = terr ? answer_tsig(q, LDNS_RCODE_NOTAUTH, NULL, terr, out, cap)
				 : answer(q, LDNS_RCODE_REFUSED, out, cap);
			tsig_ctx_clear(&ctx);
			ldns_pkt_free(q);
			return n;
		}
	}
	n = answer_tsig(q, LDNS_RCODE_NOERROR, ctx.key ? &ctx : NULL, 0, out, cap);
	tsig_ctx_clear(&ctx);
	ldns_pkt_free(q);
	if (n)
		xfr_in_notified(x, cz->name);
	return n;
}
