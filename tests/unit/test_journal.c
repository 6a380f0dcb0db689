/*
 * test_journal.c -- the IXFR journal (xfr/xfr_journal.h): the difference
 * between two versions of a zone, versions recorded as snapshots are
 * published, the chain from a client's serial to the served one, the size
 * bound dropping the oldest versions, and what is not journalled (a zone
 * nobody may transfer, a serial that went back).
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* memmem */
#endif

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"
#include "route.h"
#include "snapshot.h"
#include "tap.h"
#include "wire.h"
#include "xfr_journal.h"
#include "zone.h"

static char dir[] = "/tmp/test_journal.XXXXXX";

/* A snapshot of zone j.test. at serial with the given records; acl: with an
 * allow-transfer line; jsize: xfr-journal-size. */
static struct snapshot *snap_of(unsigned serial, const char *records, int acl, const char *jsize)
{
	char zp[300], cp[300], err[512];
	FILE *f;

	snprintf(zp, sizeof(zp), "%s/j.zone", dir);
	snprintf(cp, sizeof(cp), "%s/j.conf", dir);
	f = fopen(zp, "w");
	fprintf(f, "$ORIGIN j.test.\n$TTL 300\n@ IN SOA ns.j.test. h.j.test. %u 60 30 3600 30\n@ IN NS ns\n"
		   "ns IN A 10.0.0.53\n%s",
		serial, records);
	fclose(f);
	f = fopen(cp, "w");
	fprintf(f, "server:\n    listen: 127.0.0.1@5399\n    state-dir: %s/state\n    xfr-journal-size: %s\n"
		   "zone: j.test\n    file: %s\n%s",
		dir, jsize, zp, acl ? "    allow-transfer: 127.0.0.0/8\n" : "");
	fclose(f);
	struct snapshot *s = snapshot_build(cp, NULL, 0, err, sizeof(err));
	if (!s)
		printf("# %s\n", err);
	return s;
}

static const struct zone *zone_of(const struct snapshot *s) { return s->zones[0].zone; }

/* The IXFR answer from `from` as "owner type rdata-ish" count, or -1. */
static long ixfr_count(struct xfr_journal *j, const struct snapshot *s, uint32_t from)
{
	uint8_t *b = NULL;
	size_t len = 0, n = 0;
	if (xfr_journal_ixfr(j, zone_of(s), from, &b, &len, &n) != FWD_OK)
		return -1;
	free(b);
	return (long)n;
}

static void test_diff(void)
{
	struct snapshot *a = snap_of(1, "a IN A 10.0.0.1\nb IN A 10.0.0.2\nt IN TXT \"x\"\n", 1, "1m");
	struct snapshot *b = snap_of(2, "a IN A 10.0.0.11\nt IN TXT \"x\"\nc IN A 10.0.0.3\n", 1, "1m");
	uint8_t *del = NULL, *add = NULL;
	size_t dl, nd, al, na;

	ok(a && b, "two versions load");
	if (!a || !b)
		return;
	is_int(xfr_zone_diff(zone_of(a), zone_of(b), &del, &dl, &nd, &add, &al, &na), FWD_OK, "diff");
	is_int((int)nd, 2, "two records deleted (a's old address, b)");
	is_int((int)na, 2, "two added (a's new address, c)");
	ok(del && memmem(del, dl, "\x01" "b\x01j\x04test", 9) != NULL, "b is among the deleted, owner uncompressed");
	ok(add && memmem(add, al, "\x01" "c\x01j\x04test", 9) != NULL, "c is among the added");
	free(del);
	free(add);
	is_int(xfr_zone_diff(zone_of(a), zone_of(a), &del, &dl, &nd, &add, &al, &na), FWD_OK, "a zone against itself");
	ok(nd == 0 && na == 0, "no difference");
	free(del);
	free(add);
	snapshot_unref(a);
	snapshot_unref(b);
}

static void test_publish(void)
{
	struct xfr_journal *j = NULL;
	struct snapshot *s1 = snap_of(1, "a IN A 10.0.0.1\n", 1, "1m");
	struct snapshot *s2 = snap_of(2, "a IN A 10.0.0.2\n", 1, "1m");
	struct snapshot *s3 = snap_of(3, "a IN A 10.0.0.3\nb IN A 10.0.0.4\n", 1, "1m");

	is_int(xfr_journal_new(&j), FWD_OK, "journal");
	xfr_journal_publish(j, s1);
	is_int((int)ixfr_count(j, s1, 1), -1, "one version: nothing to send incrementally");
	xfr_journal_publish(j, s2);
	xfr_journal_publish(j, s3);
	/* from 2: SOA3, SOA2, -a2, SOA3, +a3, +b, SOA3 */
	is_int((int)ixfr_count(j, s3, 2), 7, "from 2: one step of 7 records");
	/* from 1: SOA3, [SOA1 -a1 SOA2 +a2], [SOA2 -a2 SOA3 +a3 +b], SOA3 */
	is_int((int)ixfr_count(j, s3, 1), 11, "from 1: two steps chained");
	is_int((int)ixfr_count(j, s3, 7), -1, "an unknown serial: the whole zone");
	is_int((int)ixfr_count(j, s2, 1), 6, "a worker still on serial 2 gets the steps up to 2");
	xfr_journal_publish(j, s3); /* the same version again: nothing recorded */
	is_int((int)ixfr_count(j, s3, 1), 11, "publishing the same version changes nothing");
	xfr_journal_publish(j, s1); /* the serial went back */
	is_int((int)ixfr_count(j, s1, 1), -1, "a serial that went back empties the journal");
	xfr_journal_free(j);
	snapshot_unref(s1);
	snapshot_unref(s2);
	snapshot_unref(s3);
}

static void test_bound(void)
{
	struct xfr_journal *j = NULL;
	struct snapshot *s[6];
	char rec[64];

	xfr_journal_new(&j);
	for (int i = 0; i < 6; i++) {
		snprintf(rec, sizeof(rec), "a IN A 10.0.0.%d\n", i + 1);
		s[i] = snap_of((unsigned)i + 1, rec, 1, "200");
		xfr_journal_publish(j, s[i]);
	}
	/* each step is two SOAs (about 45 bytes each) and two A records (21): ~130 bytes */
	is_int((int)ixfr_count(j, s[5], 5), 6, "the newest step is kept (SOA6 SOA5 -a SOA6 +a SOA6)");
	is_int((int)ixfr_count(j, s[5], 1), -1, "200 bytes: the oldest steps were dropped");
	xfr_journal_free(j);
	for (int i = 0; i < 6; i++)
		snapshot_unref(s[i]);

	xfr_journal_new(&j);
	struct snapshot *n1 = snap_of(1, "a IN A 10.0.0.1\n", 0, "1m"), *n2 = snap_of(2, "a IN A 10.0.0.2\n", 0, "1m");
	xfr_journal_publish(j, n1);
	xfr_journal_publish(j, n2);
	is_int((int)ixfr_count(j, n2, 1), -1, "a zone without allow-transfer has no journal");
	xfr_journal_free(j);
	snapshot_unref(n1);
	snapshot_unref(n2);
}

/* A restart: a new journal reads the saved versions back when they lead to
 * the serial served. */
static void test_persist(void)
{
	struct xfr_journal *j = NULL;
	char path[400];
	struct snapshot *s1 = snap_of(11, "a IN A 10.0.0.1\n", 1, "1m");
	struct snapshot *s2 = snap_of(12, "a IN A 10.0.0.2\n", 1, "1m");
	struct snapshot *s3 = snap_of(13, "a IN A 10.0.0.3\n", 1, "1m");

	xfr_journal_new(&j);
	xfr_journal_publish(j, s1);
	xfr_journal_publish(j, s2);
	xfr_journal_publish(j, s3);
	xfr_journal_free(j);
	snprintf(path, sizeof(path), "%s/state/xfr-journal/j.test.", dir);
	ok(access(path, R_OK) == 0, "saved in state-dir/xfr-journal/j.test.");
	j = NULL;
	xfr_journal_new(&j);
	xfr_journal_publish(j, s3);
	is_int((int)ixfr_count(j, s3, 11), 10, "after a restart: IXFR from 11 comes from the saved journal");
	xfr_journal_free(j);
	j = NULL;
	xfr_journal_new(&j);
	xfr_journal_publish(j, s2); /* served at 12, journal leads to 13 */
	is_int((int)ixfr_count(j, s2, 11), -1, "a saved journal that does not lead to the served serial is dropped");
	xfr_journal_free(j);
	snapshot_unref(s1);
	snapshot_unref(s2);
	snapshot_unref(s3);
}

int main(void)
{
	char cmd[300];

	if (mkdtemp(dir) == NULL)
		return 1;
	snprintf(cmd, sizeof(cmd), "%s/state", dir);
	if (mkdir(cmd, 0700) != 0)
		return 1;
	test_diff();
	test_publish();
	test_bound();
	test_persist();
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	if (system(cmd) != 0)
		printf("# could not remove %s\n", dir);
	return tap_done();
}
