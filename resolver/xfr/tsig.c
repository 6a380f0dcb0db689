/*
 * tsig.c -- TSIG over ldns (see tsig.h).  ldns computes and compares the
 * MACs; it does not look at the key name, the algorithm or the time, so
 * those checks are here, in the order RFC 8945 sec. 5.2 gives them: key
 * (BADKEY), MAC (BADSIG), time (BADTIME).
 */
#include "tsig.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

void tsig_ctx_start(struct tsig_ctx *ctx, const struct cfg_tsig_key *key)
{
	memset(ctx, 0, sizeof(*ctx));
	ctx->key = key;
}

void tsig_ctx_clear(struct tsig_ctx *ctx)
{
	if (ctx->mac != NULL)
		ldns_rdf_deep_free(ctx->mac);
	memset(ctx, 0, sizeof(*ctx));
}

/* The record's owner and algorithm as text, compared with a key: 1 when they are its. */
static int key_matches(const struct cfg_tsig_key *key, const ldns_rr *rr)
{
	char *alg = ldns_rdf2str(ldns_rr_rdf(rr, 0)), *owner = ldns_rdf2str(ldns_rr_owner(rr));
	int ok = alg && owner && strcasecmp(owner, key->name) == 0 && strcasecmp(alg, key->algorithm) == 0;

	free(alg);
	free(owner);
	return ok;
}

/* Time signed (48 bits) within the record's fudge of now. */
static int time_ok(const ldns_rr *rr, int64_t now)
{
	const ldns_rdf *t = ldns_rr_rdf(rr, 1);
	const ldns_rdf *f = ldns_rr_rdf(rr, 2);
	const uint8_t *d;
	int64_t signed_at = 0, diff;

	if (t == NULL || f == NULL || ldns_rdf_size(t) != 6)
		return 0;
	d = ldns_rdf_data(t);
	for (int i = 0; i < 6; i++)
		signed_at = (signed_at << 8) | d[i];
	diff = now - signed_at;
	if (diff < 0)
		diff = -diff;
	return diff <= (int64_t)ldns_rdf2native_int16(f);
}

/* A TSIG record has its seven fields: anything else is a broken record. */
static int tsig_complete(const ldns_rr *rr)
{
	return ldns_rr_rd_count(rr) == 7;
}

static enum fwd_err keep_mac(struct tsig_ctx *ctx, const ldns_rr *rr)
{
	ldns_rdf *mac = ldns_rdf_clone(ldns_rr_rdf(rr, 3));

	if (mac == NULL)
		return FWD_ENOMEM;
	if (ctx->mac != NULL)
		ldns_rdf_deep_free(ctx->mac);
	ctx->mac = mac;
	ctx->nmsg++;
	return FWD_OK;
}

enum fwd_err tsig_check_request(const struct cfg *cfg, ldns_pkt *pkt, const uint8_t *wire, size_t len,
				int64_t now, struct tsig_ctx *ctx, uint16_t *tsig_error)
{
	const ldns_rr *rr = ldns_pkt_tsig(pkt);
	const struct cfg_tsig_key *key = NULL;
	char *owner;

	tsig_ctx_start(ctx, NULL);
	*tsig_error = 0;
	if (rr == NULL)
		return FWD_OK;
	if (!tsig_complete(rr)) {
		*tsig_error = TSIG_BADSIG;
		return FWD_OK;
	}
	owner = ldns_rdf2str(ldns_rr_owner(rr));
	if (owner == NULL)
		return FWD_ENOMEM;
	key = cfg_key_find(cfg, owner);
	free(owner);
	if (key == NULL || !key_matches(key, rr)) {
		*tsig_error = TSIG_BADKEY;
		return FWD_OK;
	}
	if (!ldns_pkt_tsig_verify(pkt, wire, len, key->name, key->secret_b64, NULL)) {
		*tsig_error = TSIG_BADSIG;
		return FWD_OK;
	}
	if (!time_ok(rr, now)) {
		*tsig_error = TSIG_BADTIME;
		return FWD_OK;
	}
	ctx->key = key;
	return keep_mac(ctx, rr);
}

enum fwd_err tsig_sign(struct tsig_ctx *ctx, ldns_pkt *pkt)
{
	const struct cfg_tsig_key *k = ctx->key;
	ldns_status st;

	if (k == NULL)
		return FWD_OK;
	/* the request and the first answer carry every variable; later
	 * answers of a transfer the timers only (RFC 8945 sec. 5.3.1) */
	if (ctx->nmsg <= 1)
		st = ldns_pkt_tsig_sign(pkt, k->name, k->secret_b64, TSIG_FUDGE, k->algorithm, ctx->mac);
	else
		st = ldns_pkt_tsig_sign_next(pkt, k->name, k->secret_b64, TSIG_FUDGE, k->algorithm, ctx->mac, 1);
	if (st != LDNS_STATUS_OK || ldns_pkt_tsig(pkt) == NULL)
		return FWD_EINVAL;
	return keep_mac(ctx, ldns_pkt_tsig(pkt));
}

enum fwd_err tsig_verify(struct tsig_ctx *ctx, ldns_pkt *pkt, const uint8_t *wire, size_t len, int64_t now,
			 uint16_t *tsig_error)
{
	const struct cfg_tsig_key *k = ctx->key;
	const ldns_rr *rr = ldns_pkt_tsig(pkt);
	bool good;

	*tsig_error = 0;
	if (k == NULL)
		return FWD_OK;
	if (rr == NULL || !tsig_complete(rr)) {
		*tsig_error = TSIG_BADSIG;
		return FWD_OK;
	}
	if (!key_matches(k, rr)) {
		*tsig_error = TSIG_BADKEY;
		return FWD_OK;
	}
	if (ctx->nmsg <= 1)
		good = ldns_pkt_tsig_verify(pkt, wire, len, k->name, k->secret_b64, ctx->mac);
	else
		good = ldns_pkt_tsig_verify_next(pkt, wire, len, k->name, k->secret_b64, ctx->mac, 1);
	if (!good) {
		*tsig_error = TSIG_BADSIG;
		return FWD_OK;
	}
	if (!time_ok(rr, now)) {
		*tsig_error = TSIG_BADTIME;
		return FWD_OK;
	}
	return keep_mac(ctx, rr);
}

enum fwd_err tsig_error_reply(ldns_pkt *reply, const ldns_pkt *req, uint16_t error)
{
	const ldns_rr *q = ldns_pkt_tsig(req);
	ldns_rr *rr;
	ldns_rdf *f[7];

	if (q == NULL || !tsig_complete(q))
		return FWD_EINVAL;
	rr = ldns_rr_new();
	if (rr == NULL)
		return FWD_ENOMEM;
	ldns_rr_set_owner(rr, ldns_rdf_clone(ldns_rr_owner(q)));
	ldns_rr_set_class(rr, LDNS_RR_CLASS_ANY);
	ldns_rr_set_type(rr, LDNS_RR_TYPE_TSIG);
	ldns_rr_set_ttl(rr, 0);
	f[0] = ldns_rdf_clone(ldns_rr_rdf(q, 0));               /* algorithm */
	f[1] = ldns_rdf_clone(ldns_rr_rdf(q, 1));               /* time signed */
	f[2] = ldns_rdf_clone(ldns_rr_rdf(q, 2));               /* fudge */
	f[3] = ldns_native2rdf_int16_data(0, NULL);             /* no MAC */
	f[4] = ldns_rdf_clone(ldns_rr_rdf(q, 4));               /* original id */
	f[5] = ldns_native2rdf_int16(LDNS_RDF_TYPE_INT16, error);
	f[6] = ldns_native2rdf_int16_data(0, NULL);             /* no other data */
	for (int i = 0; i < 7; i++) {
		if (f[i] == NULL || ldns_rr_owner(rr) == NULL) {
			for (int j = 0; j < 7; j++)
				if (f[j] != NULL)
					ldns_rdf_deep_free(f[j]);
			ldns_rr_free(rr);
			return FWD_ENOMEM;
		}
	}
	for (int i = 0; i < 7; i++)
		ldns_rr_push_rdf(rr, f[i]);
	if (ldns_pkt_tsig(reply) != NULL)
		ldns_rr_free(ldns_pkt_tsig(reply));
	ldns_pkt_set_tsig(reply, rr);
	return FWD_OK;
}
