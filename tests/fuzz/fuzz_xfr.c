/*
 * fuzz_xfr.c -- libFuzzer target for the transfer request path
 * (xfr/xfr_out.h): every input is a transfer request handed to
 * xfr_out_start() as if it came over TCP from an address allow-transfer:
 * admits (unsigned, and with a key), and over UDP; a transfer it starts is
 * read to its end with xfr_out_next().  The same input also goes through
 * xfr_sign_reply() as a signed query.  No network traffic.  Seeds:
 * tests/fuzz/corpus/xfr/ (requests t_xfr_out.sh sends: AXFR, IXFR with its
 * SOA, TSIG with a wrong MAC, an unknown key).
 */
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "snapshot.h"
#include "wire.h"
#include "xfr_out.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

static const char zone_text[] = "$TTL 300\n"
				"@ IN SOA ns.fuzz.test. host.fuzz.test. 7 3600 300 86400 60\n"
				"a IN A 10.0.0.1\n"
				"a IN AAAA fd00::1\n"
				"c IN CNAME a\n"
				"*.w IN A 10.0.0.2\n"
				"t IN TXT \"hello\" \"world\"\n"
				"deep.ent.x IN A 10.0.0.3\n";

static struct snapshot *fuzz_snap;

static void setup(void)
{
	char dir[] = "/tmp/plinkfwd-fuzz-xfr-XXXXXX";
	char zpath[256], cpath[256], kpath[256], err[512];
	if (!mkdtemp(dir))
		abort();
	snprintf(zpath, sizeof(zpath), "%s/fuzz.test.zone", dir);
	snprintf(cpath, sizeof(cpath), "%s/fuzz.conf", dir);
	snprintf(kpath, sizeof(kpath), "%s/k.key", dir);
	FILE *f = fopen(zpath, "w");
	fputs(zone_text, f);
	fclose(f);
	f = fopen(kpath, "w");
	fputs("c2VjcmV0LW9mLXRoZS1mdXp6LXRhcmdldC0xMjM0NTY=\n", f);
	fclose(f);
	f = fopen(cpath, "w");
	fprintf(f,
		"server:\n  listen: 127.0.0.1@53535\n"
		"zone: fuzz.test\n  file: %s\n  allow-transfer: 127.0.0.0/8\n  allow-transfer: ::1 key k.test\n"
		"key: k.test\n  secret-file: %s\n",
		zpath, kpath);
	fclose(f);
	fuzz_snap = snapshot_build(cpath, NULL, 0, err, sizeof(err));
	if (!fuzz_snap) {
		fprintf(stderr, "fuzz setup: %s\n", err);
		abort();
	}
	unlink(zpath);
	unlink(cpath);
	unlink(kpath);
	rmdir(dir);
	log_set_level(LOG_LVL_ERR);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	setup();
	return 0;
}

static void one(const uint8_t *data, size_t size, const struct sockaddr *from, int udp)
{
	static uint8_t out[WIRE_MAX_MSG];
	static struct xfr_log_limit ll;
	struct xfr_out *x = NULL;
	enum xfr_outcome oc;
	size_t n = 0;

	if (xfr_out_start(fuzz_snap, NULL, data, size, from, 1800000000, udp, &ll, out, sizeof(out), &n, &x, &oc) != FWD_OK)
		return;
	if (oc >= XFR_OUT_NOUTCOMES || n > sizeof(out))
		abort();
	if (x == NULL) {
		if (n < WIRE_HDR_LEN || !(out[2] & 0x80))
			abort(); /* a one-message answer is a response */
		return;
	}
	if (udp)
		abort(); /* UDP never streams */
	for (int i = 0; i < 1000; i++) {
		int last = 0;
		if (xfr_out_next(x, out, sizeof(out), &n, &last) != FWD_OK || n > sizeof(out))
			abort();
		if (last)
			break;
	}
	xfr_out_free(x);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sockaddr_in sin;
	struct sockaddr_in6 sin6;
	static uint8_t reply[WIRE_MAX_MSG];

	if (size > WIRE_MAX_MSG)
		return 0;
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(0x7f000001);
	memset(&sin6, 0, sizeof(sin6));
	sin6.sin6_family = AF_INET6;
	sin6.sin6_addr.s6_addr[15] = 1;
	one(data, size, (const struct sockaddr *)&sin, 0);
	one(data, size, (const struct sockaddr *)&sin6, 0);
	one(data, size, (const struct sockaddr *)&sin, 1);
	/* a signed query's answer: the reply here is a copy of the input with QR */
	if (size >= WIRE_HDR_LEN) {
		size_t n = size;
		int refused = 0;
		struct xfr_log_limit ll = {0, 0, 0};
		memcpy(reply, data, size);
		reply[2] |= 0x80;
		if (xfr_sign_reply(fuzz_snap, data, size, (const struct sockaddr *)&sin, 1800000000, &ll, reply,
				   sizeof(reply), &n, &refused) == FWD_OK &&
		    n > sizeof(reply))
			abort();
	}
	return 0;
}
