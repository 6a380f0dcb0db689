/*
 * fuzz_query.c -- libFuzzer target for the query path.
 *
 * Every input is handed to query_handle() as a UDP query and as a TCP query
 * against a snapshot with a local zone (wildcard, CNAME chain, many records)
 * and forwarding groups without servers, so the whole path from parsing to
 * answer building runs without any network traffic.  Built with clang by
 * `make fuzz`; tests/fuzz/replay_main.c replays the corpus under `make check`.
 */
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "client.h"
#include "clock.h"
#include "log.h"
#include "query.h"
#include "snapshot.h"
#include "wire.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

static const char zone_text[] =
	"$TTL 300\n"
	"@ IN SOA ns.fuzz.test. host.fuzz.test. 1 3600 300 86400 60\n"
	"@ IN NS ns.fuzz.test.\n"
	"a IN A 10.0.0.1\n"
	"a IN AAAA fd00::1\n"
	"c IN CNAME a\n"
	"d IN CNAME c\n"
	"out IN CNAME elsewhere.example.\n"
	"*.w IN A 10.0.0.2\n"
	"t IN TXT \"hello\" \"world\"\n"
	"deep.ent.x IN A 10.0.0.3\n";

/* The harness's state lives for the whole process: libFuzzer calls the
 * target millions of times and nothing here is per-input. */
static struct query_engine fuzz_engine;
static struct snapshot_pub fuzz_pub;
static struct event_base *fuzz_base;

static void setup(void)
{
	char dir[] = "/tmp/plinkfwd-fuzz-XXXXXX";
	char zpath[256], cpath[256], err[512];
	if (!mkdtemp(dir))
		abort();
	snprintf(zpath, sizeof(zpath), "%s/fuzz.test.zone", dir);
	snprintf(cpath, sizeof(cpath), "%s/fuzz.conf", dir);
	FILE *f = fopen(zpath, "w");
	fputs(zone_text, f);
	fclose(f);
	f = fopen(cpath, "w");
	fprintf(f, "server:\n  listen: 127.0.0.1@53535\n  allow: 0.0.0.0/0\n  allow: ::/0\n"
		   "zone: fuzz.test\n  file: %s\n  fallback: public\n"
		   "forward: fwd.test\n  to: default\n", zpath);
	fclose(f);
	struct snapshot *s = snapshot_build(cpath, NULL, 0, err, sizeof(err));
	if (!s) {
		fprintf(stderr, "fuzz setup: %s\n", err);
		abort();
	}
	unlink(zpath);
	unlink(cpath);
	rmdir(dir);
	log_set_level(LOG_LVL_ERR);
	if (snapshot_pub_init(&fuzz_pub) != FWD_OK)
		abort();
	snapshot_pub_publish(&fuzz_pub, s);
	fuzz_base = event_base_new();
	/* no listener, no send hook: every forward fails with "no server"
	 * before sending */
	if (!fuzz_base || query_engine_init(&fuzz_engine, fuzz_base, &fuzz_pub, &fwd_clock_monotonic, NULL, 16) != FWD_OK)
		abort();
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	setup();
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t out[WIRE_MAX_MSG];
	struct client cl;
	int fwd;
	struct sockaddr_in *sin = (struct sockaddr_in *)&cl.addr;

	if (size > WIRE_MAX_MSG)
		return 0;
	memset(&cl, 0, sizeof(cl));
	sin->sin_family = AF_INET;
	sin->sin_addr.s_addr = htonl(0x7f000001);
	cl.addrlen = sizeof(*sin);
	cl.transport = CLIENT_UDP;
	cl.fd = -1;
	size_t n = query_handle(&fuzz_engine, data, size, &cl, out, 4096, &fwd);
	if (n > 4096 || (n > 0 && n < WIRE_HDR_LEN))
		abort();
	if (n >= WIRE_HDR_LEN && !(wire_get16(out + 2) & WIRE_QR))
		abort(); /* every answer we send is a response */
	cl.transport = CLIENT_TCP;
	n = query_handle(&fuzz_engine, data, size, &cl, out, sizeof(out), &fwd);
	if (n > sizeof(out))
		abort();
	return 0;
}
