/*
 * test_tsig.c -- the key: clause and TSIG over ldns (resolver/xfr/tsig.h):
 * a request signed by a client and checked by the primary, a three-message
 * answer signed by the primary and verified message by message by the
 * client, and every way a signature is refused (unknown key, other
 * algorithm, other secret, tampered message, old time, missing TSIG).
 */
#ifndef _POSIX_C_SOURCE
#define _POSIX_C_SOURCE 200809L
#endif

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <ldns/ldns.h>

#include "config.h"
#include "tap.h"
#include "tsig.h"
#include "xfr_notify.h"

static char dir[] = "/tmp/test_tsig.XXXXXX";

static void put(const char *name, const char *text)
{
	char path[256];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "w");
	fputs(text, f);
	fclose(f);
}

/* Load a config whose text is text (written beside the secret files). */
static enum fwd_err load(const char *text, struct cfg **out, char *err, size_t errlen)
{
	char path[256];

	put("plinkfwd.conf", text);
	snprintf(path, sizeof(path), "%s/plinkfwd.conf", dir);
	return cfg_load(path, out, err, errlen);
}

#define SECRET1 "c2VjcmV0LW9uZS1zZWNyZXQtb25lLXNlY3JldC1vbmUtISE="
#define SECRET2 "b3RoZXItc2VjcmV0LW90aGVyLXNlY3JldC1vdGhlci0hISE="

static const char *conf_text =
	"server:\n"
	"    listen: 127.0.0.1@5353\n"
	"key: xfr.example\n"
	"    algorithm: HMAC-SHA512\n"
	"    secret-file: xfr.key\n"
	"key: Other.Example.\n"
	"    secret-file: other.key\n"
	"key: same-name-other-secret.\n"
	"    secret-file: other.key\n";

static void test_config(void)
{
	struct cfg *cfg = NULL;
	char err[512];
	const struct cfg_tsig_key *k;

	is_int(load(conf_text, &cfg, err, sizeof(err)), FWD_OK, "key: clauses load");
	if (cfg == NULL) {
		printf("# %s\n", err);
		return;
	}
	is_int((int)cfg->nkeys, 3, "three keys");
	k = cfg_key_find(cfg, "XFR.example.");
	ok(k != NULL, "found by name, any case, with the dot");
	if (k) {
		is_str(k->name, "xfr.example.", "name lower case with the dot");
		is_str(k->algorithm, "hmac-sha512.", "algorithm in ldns's spelling");
		is_str(k->secret_b64, SECRET1, "secret read, blanks and line breaks dropped");
	}
	k = cfg_key_find(cfg, "other.example");
	ok(k && strcmp(k->algorithm, "hmac-sha256.") == 0, "hmac-sha256 by default");
	ok(cfg_key_find(cfg, "nope.example.") == NULL, "unknown key: NULL");
	cfg_free(cfg);

	cfg = NULL;
	is_int(load("key: a.\n    algorithm: hmac-md5\n    secret-file: xfr.key\n", &cfg, err, sizeof(err)),
	       FWD_EPARSE, "hmac-md5 refused");
	ok(strstr(err, ":2: algorithm: unknown TSIG algorithm") != NULL, "file:line: message (%s)", err);
	is_int(load("key: a.\n    algorithm: hmac-sha1\n", &cfg, err, sizeof(err)), FWD_EPARSE,
	       "no secret-file: refused");
	ok(strstr(err, "has no 'secret-file:' line") != NULL, "says what is missing (%s)", err);
	is_int(load("key: a.\n    secret-file: missing.key\n", &cfg, err, sizeof(err)), FWD_EPARSE,
	       "unreadable secret file refused");
	ok(strstr(err, ":2: key a.: secret-file: cannot read") != NULL, "names the file (%s)", err);
	is_int(load("key: a.\n    secret-file: empty.key\n", &cfg, err, sizeof(err)), FWD_EPARSE,
	       "empty secret file refused");
	is_int(load("key: a.\n    secret-file: bad.key\n", &cfg, err, sizeof(err)), FWD_EPARSE,
	       "secret that is not base64 refused");
	ok(strstr(err, "not a base64 secret") != NULL && strstr(err, "hunter") == NULL,
	   "the error never quotes the file (%s)", err);
	is_int(load("key: a.\n    secret: " SECRET1 "\n    secret-file: xfr.key\n", &cfg, err, sizeof(err)),
	       FWD_EPARSE, "an inline secret: refused");
	ok(strstr(err, SECRET1) == NULL && strstr(err, "secret-file") != NULL,
	   "without echoing it, pointing at secret-file (%s)", err);
	is_int(load("key: a.\n    secret-file: xfr.key\nkey: A\n    secret-file: xfr.key\n", &cfg, err,
		    sizeof(err)),
	       FWD_EPARSE, "duplicate key name refused");
	is_int(load("key:\n    secret-file: xfr.key\n", &cfg, err, sizeof(err)), FWD_EPARSE, "key: needs a name");
}

/* A query for name/type, ldns-built, with the given id. */
static ldns_pkt *query(const char *name, ldns_rr_type type)
{
	ldns_pkt *p = NULL;

	ldns_pkt_query_new_frm_str(&p, name, type, LDNS_RR_CLASS_IN, 0);
	ldns_pkt_set_id(p, 4242);
	return p;
}

/* pkt to wire and back: what the other side receives. */
static ldns_pkt *roundtrip(ldns_pkt *pkt, uint8_t **wire, size_t *len)
{
	ldns_pkt *out = NULL;

	if (ldns_pkt2wire(wire, pkt, len) != LDNS_STATUS_OK)
		return NULL;
	if (ldns_wire2pkt(&out, *wire, *len) != LDNS_STATUS_OK)
		return NULL;
	return out;
}

/* The primary checks a request the client signed with key ck. */
/* The time the TSIG record of p was signed at (0 without one).  The checks
 * below put "our clock" at that time plus a skew: time(2) reads a coarser
 * clock than the gettimeofday(2) ldns signs with, and can still be a second
 * behind it. */
static int64_t signed_at(const ldns_pkt *p)
{
	const ldns_rr *rr = ldns_pkt_tsig(p);
	const ldns_rdf *t = rr ? ldns_rr_rdf(rr, 1) : NULL;
	int64_t v = 0;

	if (t == NULL || ldns_rdf_size(t) != 6)
		return 0;
	for (int i = 0; i < 6; i++)
		v = (v << 8) | ldns_rdf_data(t)[i];
	return v;
}

static uint16_t check(const struct cfg *cfg, const struct cfg_tsig_key *ck, int64_t skew, struct tsig_ctx *srv,
		      int tamper)
{
	struct tsig_ctx cli;
	ldns_pkt *q = query("zone.example.", LDNS_RR_TYPE_AXFR), *got;
	uint8_t *wire = NULL;
	size_t len = 0;
	uint16_t e = 0xffff;

	tsig_ctx_start(&cli, ck);
	if (tsig_sign(&cli, q) != FWD_OK)
		return 0xfffe;
	got = roundtrip(q, &wire, &len);
	if (tamper)
		wire[5] ^= 1; /* qdcount */
	if (got && tsig_check_request(cfg, got, wire, len, (ck ? signed_at(got) : (int64_t)time(NULL)) + skew, srv,
				      &e) != FWD_OK)
		e = 0xfffd;
	tsig_ctx_clear(&cli);
	ldns_pkt_free(q);
	ldns_pkt_free(got);
	free(wire);
	return e;
}

static void test_request(const struct cfg *cfg)
{
	const struct cfg_tsig_key *k = cfg_key_find(cfg, "xfr.example.");
	struct cfg_tsig_key unknown = *k, other_alg = *k, other_secret = *k;
	struct tsig_ctx srv;

	unknown.name = "unknown.example.";
	other_alg.algorithm = "hmac-sha256.";
	other_secret.secret_b64 = SECRET2;

	is_int(check(cfg, k, 0, &srv, 0), 0, "a signed request verifies");
	ok(srv.key == k && srv.mac != NULL, "the ctx holds the key and the request's MAC");
	tsig_ctx_clear(&srv);
	is_int(check(cfg, NULL, 0, &srv, 0), 0, "an unsigned request: no error");
	ok(srv.key == NULL, "... and no key");
	is_int(check(cfg, &unknown, 0, &srv, 0), TSIG_BADKEY, "unknown key name: BADKEY");
	is_int(check(cfg, &other_alg, 0, &srv, 0), TSIG_BADKEY, "known name, other algorithm: BADKEY");
	is_int(check(cfg, &other_secret, 0, &srv, 0), TSIG_BADSIG, "other secret: BADSIG");
	is_int(check(cfg, k, 0, &srv, 1), TSIG_BADSIG, "message changed after signing: BADSIG");
	is_int(check(cfg, k, 301, &srv, 0), TSIG_BADTIME, "signed 301 s before our clock: BADTIME");
	is_int(check(cfg, k, -301, &srv, 0), TSIG_BADTIME, "signed 301 s after our clock: BADTIME");
	is_int(check(cfg, k, 299, &srv, 0), 0, "within the fudge: good");
	tsig_ctx_clear(&srv);
}

/* A transfer: the client signs the request, the primary answers with three
 * signed messages, the client verifies each; tamper_at: that message (1..3)
 * is changed on the way, 0: none; drop_tsig: that message goes unsigned. */
static int transfer(const struct cfg *cfg, int tamper_at, int drop_tsig, int *verified)
{
	const struct cfg_tsig_key *k = cfg_key_find(cfg, "xfr.example.");
	struct tsig_ctx cli, srv;
	ldns_pkt *q = query("zone.example.", LDNS_RR_TYPE_AXFR), *got;
	uint8_t *wire = NULL;
	size_t len;
	uint16_t e = 0;
	int bad = 0;

	*verified = 0;
	tsig_ctx_start(&cli, k);
	tsig_sign(&cli, q);
	got = roundtrip(q, &wire, &len);
	tsig_check_request(cfg, got, wire, len, (int64_t)time(NULL), &srv, &e);
	ldns_pkt_free(q);
	ldns_pkt_free(got);
	free(wire);
	if (e != 0)
		return -1;
	for (int i = 1; i <= 3 && !bad; i++) {
		ldns_pkt *a = ldns_pkt_new();
		ldns_rr *rr = NULL;
		char text[128];

		ldns_pkt_set_id(a, 4242);
		ldns_pkt_set_qr(a, 1);
		ldns_pkt_set_aa(a, 1);
		snprintf(text, sizeof(text), "n%d.zone.example. 300 IN A 10.0.0.%d", i, i);
		ldns_rr_new_frm_str(&rr, text, 0, NULL, NULL);
		ldns_pkt_push_rr(a, LDNS_SECTION_ANSWER, rr);
		if (i != drop_tsig)
			tsig_sign(&srv, a);
		wire = NULL;
		got = roundtrip(a, &wire, &len);
		if (i == tamper_at)
			wire[13] ^= 0x20; /* a letter of the first owner name */
		tsig_verify(&cli, got, wire, len, (int64_t)time(NULL), &e);
		if (e == 0)
			(*verified)++;
		else
			bad = e;
		ldns_pkt_free(a);
		ldns_pkt_free(got);
		free(wire);
	}
	tsig_ctx_clear(&cli);
	tsig_ctx_clear(&srv);
	return bad;
}

static void test_transfer(const struct cfg *cfg)
{
	int n;

	is_int(transfer(cfg, 0, 0, &n), 0, "three chained messages verify");
	is_int(n, 3, "... every one of them");
	is_int(transfer(cfg, 2, 0, &n), TSIG_BADSIG, "the second message changed: BADSIG");
	is_int(n, 1, "... after the first verified");
	is_int(transfer(cfg, 0, 3, &n), TSIG_BADSIG, "an unsigned third message: BADSIG");
	is_int(n, 2, "... after two verified");
}

static void test_error_reply(const struct cfg *cfg)
{
	const struct cfg_tsig_key *k = cfg_key_find(cfg, "xfr.example.");
	struct tsig_ctx cli;
	ldns_pkt *q = query("zone.example.", LDNS_RR_TYPE_AXFR), *r = ldns_pkt_new(), *got;
	uint8_t *wire = NULL;
	size_t len;
	const ldns_rr *t;

	tsig_ctx_start(&cli, k);
	tsig_sign(&cli, q);
	ldns_pkt_set_rcode(r, LDNS_RCODE_NOTAUTH);
	is_int(tsig_error_reply(r, q, TSIG_BADKEY), FWD_OK, "error TSIG built");
	got = roundtrip(r, &wire, &len);
	t = got ? ldns_pkt_tsig(got) : NULL;
	ok(t != NULL, "the answer carries a TSIG");
	if (t) {
		is_int(ldns_rdf2native_int16(ldns_rr_rdf(t, 5)), TSIG_BADKEY, "its error is BADKEY");
		is_int((int)ldns_rdf_size(ldns_rr_rdf(t, 3)), 2, "its MAC is empty");
		ok(ldns_dname_compare(ldns_rr_owner(t), ldns_rr_owner(ldns_pkt_tsig(q))) == 0, "the request's key name");
	}
	is_int(tsig_error_reply(r, got, TSIG_BADSIG), FWD_OK, "a second error TSIG replaces the first");
	ldns_pkt_free(got);
	free(wire);
	ldns_pkt_free(r);
	ldns_pkt_free(q);
	tsig_ctx_clear(&cli);
}

/* A NOTIFY we sign with key (NULL: unsigned), answered by a secondary as
 * mode says; what xfr_notify_check_answer() makes of the answer. */
enum notify_mode { NA_SIGNED, NA_UNSIGNED, NA_OTHER_SECRET, NA_TAMPERED, NA_OTHER_ID };
static int notify_answer(const struct cfg *cfg, const struct cfg_tsig_key *key, enum notify_mode mode)
{
	struct cfg_tsig_key other = *cfg_key_find(cfg, "xfr.example.");
	struct tsig_ctx cli, srv;
	ldns_pkt *q = query("zone.example.", LDNS_RR_TYPE_SOA), *got, *a;
	uint8_t *wire = NULL;
	size_t len = 0;
	uint16_t e = 0;
	int r;

	other.secret_b64 = SECRET2;
	ldns_pkt_set_opcode(q, LDNS_PACKET_NOTIFY);
	ldns_pkt_set_aa(q, 1);
	tsig_ctx_start(&cli, key);
	tsig_sign(&cli, q);
	got = roundtrip(q, &wire, &len);
	tsig_ctx_start(&srv, NULL);
	if (got == NULL || tsig_check_request(cfg, got, wire, len, (int64_t)time(NULL), &srv, &e) != FWD_OK || e != 0)
		r = -1;
	else
		r = 0;
	ldns_pkt_free(got);
	free(wire);
	if (r == 0) {
		a = ldns_pkt_new();
		ldns_pkt_set_id(a, mode == NA_OTHER_ID ? 4243 : 4242);
		ldns_pkt_set_qr(a, 1);
		ldns_pkt_set_aa(a, 1);
		ldns_pkt_set_opcode(a, LDNS_PACKET_NOTIFY);
		ldns_rr *qr = ldns_rr_clone(ldns_rr_list_rr(ldns_pkt_question(q), 0));
		ldns_pkt_push_rr(a, LDNS_SECTION_QUESTION, qr);
		if (mode == NA_OTHER_SECRET) {
			/* the same key name and algorithm, another secret */
			struct tsig_ctx forged;
			tsig_ctx_start(&forged, &other);
			tsig_sign(&forged, a);
			tsig_ctx_clear(&forged);
		} else if (mode != NA_UNSIGNED) {
			tsig_sign(&srv, a);
		}
		wire = NULL;
		if (ldns_pkt2wire(&wire, a, &len) != LDNS_STATUS_OK) {
			r = -2;
		} else {
			if (mode == NA_TAMPERED)
				wire[3] ^= 0x0f; /* the rcode */
			r = (int)xfr_notify_check_answer(&cli, 4242, wire, len, (int64_t)time(NULL));
		}
		free(wire);
		ldns_pkt_free(a);
	}
	tsig_ctx_clear(&srv);
	tsig_ctx_clear(&cli);
	ldns_pkt_free(q);
	return r;
}

static void test_notify_answer(const struct cfg *cfg)
{
	const struct cfg_tsig_key *k = cfg_key_find(cfg, "xfr.example.");

	is_int(notify_answer(cfg, k, NA_SIGNED), XFR_NOTIFY_ANSWERED, "NOTIFY: a signed answer that verifies");
	is_int(notify_answer(cfg, k, NA_UNSIGNED), XFR_NOTIFY_UNVERIFIED, "NOTIFY: an unsigned answer to a signed NOTIFY fails");
	is_int(notify_answer(cfg, k, NA_OTHER_SECRET), XFR_NOTIFY_UNVERIFIED,
	       "NOTIFY: an answer signed with another secret fails");
	is_int(notify_answer(cfg, k, NA_TAMPERED), XFR_NOTIFY_UNVERIFIED, "NOTIFY: an answer changed after signing fails");
	is_int(notify_answer(cfg, k, NA_OTHER_ID), XFR_NOTIFY_NOT_ANSWER, "NOTIFY: another id is not the answer");
	is_int(notify_answer(cfg, NULL, NA_UNSIGNED), XFR_NOTIFY_ANSWERED, "NOTIFY without a key: an unsigned answer");
	is_int(notify_answer(cfg, NULL, NA_OTHER_ID), XFR_NOTIFY_NOT_ANSWER, "NOTIFY without a key: another id is not it");
}

int main(void)
{
	struct cfg *cfg = NULL;
	char err[512];

	if (mkdtemp(dir) == NULL)
		return 1;
	put("xfr.key", "c2VjcmV0LW9uZS1zZWNyZXQtb25lLXNlY3Jl\n  dC1vbmUtISE=\n");
	put("other.key", SECRET2 "\n");
	put("empty.key", " \n\n");
	put("bad.key", "hunter2!\n");
	test_config();
	if (load(conf_text, &cfg, err, sizeof(err)) == FWD_OK) {
		test_request(cfg);
		test_transfer(cfg);
		test_error_reply(cfg);
		test_notify_answer(cfg);
		cfg_free(cfg);
	} else {
		ok(0, "config loads: %s", err);
	}
	char cmd[300];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	if (system(cmd) != 0)
		printf("# could not remove %s\n", dir);
	return tap_done();
}
