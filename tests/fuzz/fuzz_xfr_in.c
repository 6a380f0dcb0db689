/*
 * fuzz_xfr_in.c -- libFuzzer target for the transfer-in parser
 * (resolver/xfr/xfr_in_msg.h): what a primary sends a secondary zone.
 *
 * Input: one byte of settings (bits 0-1: the question asked, SOA / AXFR /
 * IXFR; bit 2: a copy is held), four bytes of the copy's serial, then the
 * TCP stream as a primary would send it -- messages with their two-byte
 * length prefix, answering ID 0x1234 for zone "fuzz.test.".  The messages
 * go through xfr_in_parse_msg() until it completes or rejects; the end of
 * the input is the primary closing.  A complete transfer is applied to a
 * fixed copy of serial 1 (IXFR) or taken whole (AXFR) and compiled the way
 * xfr_in.c compiles it; every outcome must be consistent: a rejection says
 * why, a result has exactly one SOA and only names in the zone.
 * Seeds (corpus/xfr_in/seed-*) are the transfers of tests/unit/test_xfr_in.c
 * and the bad ones of tests/integration/xfr_in_primary.py.
 */
#include <ldns/ldns.h>

#include "fuzz.h"
#include "log.h"
#include "xfr_in_msg.h"
#include "xfr_in_store.h"
#include "zone.h"

#define FZ "fuzz.test."

static const char *const copy_text[] = {
	"fuzz.test. 300 IN SOA ns.fuzz.test. h.fuzz.test. 1 100 20 300 60",
	"fuzz.test. 300 IN NS ns.fuzz.test.",
	"www.fuzz.test. 300 IN A 192.0.2.1",
	"old.fuzz.test. 300 IN A 192.0.2.9",
};

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	log_set_level(LOG_LVL_ERR);
	return 0;
}

static void check_result(const ldns_rr_list *l)
{
	ldns_rdf *apex = NULL;
	size_t soas = 0;
	FUZZ_ASSERT(ldns_str2rdf_dname(&apex, FZ) == LDNS_STATUS_OK);
	for (size_t i = 0; i < ldns_rr_list_rr_count(l); i++) {
		const ldns_rr *rr = ldns_rr_list_rr(l, i);
		const ldns_rdf *o = ldns_rr_owner(rr);
		FUZZ_ASSERT(ldns_dname_compare(o, apex) == 0 || ldns_dname_is_subdomain(o, apex));
		if (ldns_rr_get_type(rr) == LDNS_RR_TYPE_SOA)
			soas++;
	}
	FUZZ_ASSERT(soas >= 1);
	ldns_rdf_deep_free(apex);
	/* compiled as xfr_in.c does: the zone loader may still refuse it
	 * (two SOAs, a CNAME beside data), and must then say why */
	size_t len;
	char *text = xfr_store_text(l, &len);
	if (!text)
		return;
	char err[512] = "";
	struct zone *z = zone_load_text(FZ, text, FZ, err, sizeof(err));
	if (z)
		zone_unref(z);
	else
		FUZZ_ASSERT(err[0] != '\0');
	free(text);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const uint16_t qtypes[4] = {LDNS_RR_TYPE_SOA, LDNS_RR_TYPE_AXFR, LDNS_RR_TYPE_IXFR, LDNS_RR_TYPE_IXFR};
	struct fuzz_in in = {data, size};
	struct xfr_in_parse p;
	enum xfr_in_reject why = XFR_IN_OK;
	int r = 0;

	if (size > 1024 * 1024)
		return 0;
	unsigned set = fuzz_u8(&in);
	uint32_t serial = (uint32_t)fuzz_u16(&in) << 16;
	serial |= fuzz_u16(&in);
	int have = (set & 4) != 0;
	uint16_t qtype = qtypes[set & 3];
	if (xfr_in_parse_init(&p, FZ, 0x1234, qtype, have, have ? 1 : serial) != FWD_OK)
		return 0;
	while (r == 0 && in.n >= 2) {
		size_t mlen = fuzz_u16(&in);
		if (mlen > in.n) {
			why = xfr_in_parse_eof(&p, 1);
			r = -1;
			break;
		}
		r = xfr_in_parse_msg(&p, in.p, mlen, &why);
		in.p += mlen;
		in.n -= mlen;
	}
	if (r == 0) {
		why = xfr_in_parse_eof(&p, in.n != 0);
		FUZZ_ASSERT(why != XFR_IN_OK);
	} else if (r < 0) {
		FUZZ_ASSERT(why != XFR_IN_OK && p.why[0] != '\0');
	} else if (p.kind == XFR_IN_AXFR || p.kind == XFR_IN_IXFR) {
		FUZZ_ASSERT(p.done);
		ldns_rr_list *cur = ldns_rr_list_new(), *out = NULL;
		for (size_t i = 0; cur && have && i < sizeof(copy_text) / sizeof(copy_text[0]); i++) {
			ldns_rr *rr = NULL;
			if (ldns_rr_new_frm_str(&rr, copy_text[i], 300, NULL, NULL) == LDNS_STATUS_OK)
				ldns_rr_list_push_rr(cur, rr);
		}
		if (qtype != LDNS_RR_TYPE_SOA) {
			enum fwd_err rc = xfr_in_parse_apply(&p, have ? cur : NULL, &out, &why);
			if (rc == FWD_OK) {
				check_result(out);
				ldns_rr_list_deep_free(out);
			} else {
				FUZZ_ASSERT(why != XFR_IN_OK || rc == FWD_ENOMEM);
			}
		}
		ldns_rr_list_deep_free(cur);
	}
	xfr_in_parse_free(&p);
	return 0;
}
