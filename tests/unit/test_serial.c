/*
 * test_serial.c -- RFC 1982 serial arithmetic, the synced-zone serial rule
 * (xfr/serial.h), its table kept in the state directory
 * (xfr/xfr_serials.h), and zone_set_serial() (data/zone.h).
 */
#ifndef _POSIX_C_SOURCE
#define _POSIX_C_SOURCE 200809L
#endif

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "serial.h"
#include "tap.h"
#include "wire.h"
#include "xfr_serials.h"
#include "zone.h"

static void test_rfc1982(void)
{
	ok(serial_lt(1, 2), "1 < 2");
	ok(!serial_lt(2, 1), "not 2 < 1");
	ok(!serial_lt(5, 5), "not 5 < 5");
	ok(serial_lt(0xffffffffu, 0), "2^32-1 < 0 (wraps)");
	ok(serial_lt(0xfffffff0u, 5), "a serial just past the wrap is newer");
	ok(serial_lt(0xffffffffu, 1) && !serial_lt(1, 0xffffffffu),
	   "a secondary's copy 2^32-1, the primary's 1: the primary's is newer (transfer), not the reverse");
	ok(serial_lt(0, 0x7fffffffu), "0 < 2^31-1 (the largest step)");
	ok(!serial_lt(0, 0x80000000u) && !serial_lt(0x80000000u, 0), "2^31 apart: neither is newer");
	ok(serial_le(7, 7) && serial_le(7, 8) && !serial_le(8, 7), "serial_le");
}

static void test_next(void)
{
	is_int((int)serial_next(0, 0, 1, 1700000000u), 1700000000, "first version: the clock when newer than the source");
	is_int((int)serial_next(0, 0, 2000000000u, 1700000000u), 2000000000, "... the source when newer than the clock");
	is_int((int)serial_next(1700000000u, 1, 1, 1700000000u), 1700000001,
	       "same second, Azure's serial unchanged: prev + 1");
	is_int((int)serial_next(1700000000u, 1, 1, 1700000100u), 1700000100, "later: the clock");
	is_int((int)serial_next(1700000000u, 1, 1800000000u, 1700000100u), 1800000000, "a newer source serial wins");
	uint32_t wrap = serial_next(0xffffffffu, 1, 1, 5);
	ok(serial_lt(0xffffffffu, wrap), "past 2^32-1 the next serial is still newer (%u)", wrap);
	uint32_t far = serial_next(10, 1, 0x90000000u, 20);
	ok(far == 20, "a source more than 2^31 ahead is not taken (%u)", far);
	uint32_t prev = 1700000000u;
	int up = 1;
	for (int i = 0; i < 1000; i++) {
		uint32_t n = serial_next(prev, 1, 1, 1700000000u); /* a stuck clock, a stuck source */
		up &= serial_lt(prev, n);
		prev = n;
	}
	ok(up, "1000 changes in one second: every serial newer than the last");
}

static void test_table(void)
{
	char dir[] = "/tmp/test_serial.XXXXXX", path[300];
	struct xfr_serials *t = NULL;
	uint32_t s1 = 0, s2 = 0, s3 = 0, s4 = 0;

	if (mkdtemp(dir) == NULL) {
		ok(0, "mkdtemp");
		return;
	}
	is_int(xfr_serials_open(dir, &t), FWD_OK, "open an empty state directory");
	xfr_serials_assign(t, "a.test.", 0x1111, 1, 1700000000u, &s1);
	is_int((int)s1, 1700000000, "first version of a.test.");
	xfr_serials_assign(t, "a.test.", 0x1111, 1, 1700000500u, &s2);
	is_int((int)s2, (int)s1, "same content later: same serial");
	xfr_serials_assign(t, "a.test.", 0x2222, 1, 1700000000u, &s3);
	is_int((int)s3, (int)s1 + 1, "new content in the same second: serial + 1");
	xfr_serials_free(t);

	t = NULL;
	is_int(xfr_serials_open(dir, &t), FWD_OK, "reopen (a restart)");
	xfr_serials_assign(t, "a.test.", 0x2222, 1, 1600000000u, &s4);
	is_int((int)s4, (int)s3, "the content served before the restart keeps its serial");
	xfr_serials_assign(t, "a.test.", 0x3333, 1, 1600000000u, &s4);
	ok(serial_lt(s3, s4), "new content after a restart, clock set back: still newer (%u > %u)", s4, s3);
	xfr_serials_free(t);
	snprintf(path, sizeof(path), "%s/xfr-serials", dir);
	FILE *f = fopen(path, "a");
	if (f) {
		fputs("garbage line\n", f);
		fclose(f);
	}
	t = NULL;
	is_int(xfr_serials_open(dir, &t), FWD_OK, "a malformed line does not stop the load");
	xfr_serials_assign(t, "a.test.", 0x3333, 1, 1600000000u, &s1);
	is_int((int)s1, (int)s4, "... and the good lines are kept");
	xfr_serials_free(t);
	unlink(path);
	rmdir(dir);

	t = NULL;
	is_int(xfr_serials_open(NULL, &t), FWD_OK, "no state directory: memory only");
	xfr_serials_assign(t, "b.test.", 1, 1, 1700000000u, &s1);
	xfr_serials_assign(t, "b.test.", 2, 1, 1700000000u, &s2);
	ok(serial_lt(s1, s2), "still increases on change");
	xfr_serials_free(t);
}

static void test_zone_set_serial(void)
{
	char err[256];
	struct zone *z = zone_load_text("x.test.",
					"$ORIGIN x.test.\n@ 300 IN SOA ns.x.test. h.x.test. 1 3600 300 2419200 60\n"
					"@ 300 IN NS ns\nns 300 IN A 10.0.0.1\n",
					"test", err, sizeof(err));
	struct zone_rrset soa;

	ok(z != NULL, "zone loads (%s)", z ? "" : err);
	if (!z)
		return;
	zone_set_serial(z, 4000000000u);
	is_int((int)(zone_serial(z) == 4000000000u), 1, "zone_serial() says the new serial");
	ok(zone_soa_rrset(z, &soa) == FWD_OK, "the apex SOA");
	/* RDATA: ns.x.test. (11 bytes) h.x.test. (10 bytes), then the serial */
	const uint8_t *rd = soa.rrs + 12;
	ok(wire_get32(rd + 11 + 10) == 4000000000u, "the SOA record carries it");
	zone_unref(z);
}

int main(void)
{
	test_rfc1982();
	test_next();
	test_table();
	test_zone_set_serial();
	return tap_done();
}
